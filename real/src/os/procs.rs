//! Processes for `vrrp_track_process`: what a process is called (as keepalived 2.2.7's
//! `read_procs` / `check_process` read it), whether it matches a tracked process
//! (`check_params`), and how changes are seen: the kernel's process events connector
//! (`NETLINK_CONNECTOR`, group `CN_IDX_PROC`), as keepalived uses, where the kernel serves
//! it, else a scan of /proc at an interval.
//!
//! The connector answers only in the initial network namespace: elsewhere the subscription
//! is refused with ECONNREFUSED (measured on Linux 6.18; keepalived 2.2.7 then logs "Failed
//! to set/clear process event listen - errno 111" and counts no process at all).

use netlink_sys::{protocols::NETLINK_CONNECTOR, Socket, SocketAddr};
use std::collections::BTreeMap;
use std::io;
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use vrrp_engine::config::{ParamMatch, TrackProcessConfig};

/// How often /proc is scanned where the connector is refused: a change is seen at most this
/// late (keepalived's connector sees it at once). One scan reads every /proc/PID/stat (and
/// cmdline with `full_command`): measured 0.6 ms for the 86 processes of the test VM, so
/// under 1% of a core at this rate, and a delay well under the 1 s advert interval a change
/// acts on.
pub const SCAN_INTERVAL: Duration = Duration::from_millis(100);

/// What one process is called.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcName {
    /// The parent's pid.
    pub ppid: u32,
    /// `comm`, as in /proc/PID/stat (at most 15 bytes).
    pub comm: String,
    /// /proc/PID/cmdline: arguments each ended by a NUL (read only when some tracked
    /// process matches the command line).
    pub cmdline: Vec<u8>,
}

/// Reads pid's name: `None` for a zombie (keepalived does not count them: they do not run)
/// or a process gone meanwhile.
pub fn read_name(pid: u32, want_cmdline: bool) -> Option<ProcName> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let stat = String::from_utf8_lossy(&stat);
    // "PID (COMM) S PPID ...": comm may hold spaces and parentheses; the last ')' ends it.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    let mut rest = stat.get(close + 1..)?.split_ascii_whitespace();
    let state = rest.next()?;
    if state == "Z" {
        return None;
    }
    let ppid = rest.next()?.parse().ok()?;
    let cmdline = if want_cmdline {
        std::fs::read(format!("/proc/{pid}/cmdline")).ok()?
    } else {
        Vec::new()
    };
    Some(ProcName {
        ppid,
        comm,
        cmdline,
    })
}

/// Every process now (thread groups only: /proc lists no thread at its top level).
pub fn scan(want_cmdline: bool) -> BTreeMap<u32, ProcName> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return BTreeMap::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, read_name(pid, want_cmdline)?)))
        .collect()
}

/// Whether `p` matches `t` as keepalived 2.2.7 matches: the name exactly equal to `comm`,
/// or with `full_command` to the command line's first argument, then the parameters as
/// `param_match` says (`check_params`).
pub fn matches(t: &TrackProcessConfig, p: &ProcName) -> bool {
    if !t.full_command {
        return p.comm == t.process;
    }
    let mut args = p.cmdline.split(|&b| b == 0);
    if args.next() != Some(t.process.as_bytes()) {
        return false;
    }
    if t.param_match == ParamMatch::None {
        return true;
    }
    // The bytes after argv[0]'s NUL, as keepalived compares them: each parameter followed
    // by its NUL.
    let start = t.process.len() + 1;
    let have: &[u8] = p.cmdline.get(start..).unwrap_or(&[]);
    let mut want = Vec::new();
    for a in &t.params {
        want.extend_from_slice(a.as_bytes());
        want.push(0);
    }
    match t.param_match {
        ParamMatch::None => true,
        ParamMatch::Exact => have == want.as_slice(),
        ParamMatch::Partial => have.starts_with(&want),
        // The last parameter may go on: compare without its NUL.
        ParamMatch::Initial => {
            want.is_empty() || have.starts_with(&want[..want.len() - 1]) && have.len() >= want.len()
        }
    }
}

/// One process event of the connector (threads left out, as keepalived does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcEvent {
    /// `parent` forked `child`.
    Fork {
        /// The parent's pid.
        parent: u32,
        /// The child's pid.
        child: u32,
    },
    /// `pid` ran exec.
    Exec(u32),
    /// `pid` changed its `comm` (prctl PR_SET_NAME).
    Comm(u32),
    /// `pid` exited.
    Exit(u32),
}

/// `CN_IDX_PROC` / `CN_VAL_PROC` (linux/connector.h).
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// `PROC_CN_MCAST_LISTEN` (linux/cn_proc.h).
const PROC_CN_MCAST_LISTEN: u32 = 1;
/// `enum what` of `struct proc_event`.
const PROC_EVENT_FORK: u32 = 0x1;
const PROC_EVENT_EXEC: u32 = 0x2;
const PROC_EVENT_COMM: u32 = 0x200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;
/// nlmsghdr (16) + cn_msg (20): where `struct proc_event` starts; its data starts 16 later.
const EVENT_AT: usize = 36;
const DATA_AT: usize = EVENT_AT + 16;

/// The kernel's process events, subscribed.
pub struct ProcEvents {
    sock: AsyncFd<Socket>,
}

impl ProcEvents {
    /// Subscribes (keepalived's `nl_connect` and `set_proc_ev_listen`). Fails with
    /// ECONNREFUSED outside the initial network namespace.
    pub fn open() -> io::Result<ProcEvents> {
        let mut sock = Socket::new(NETLINK_CONNECTOR)?;
        sock.bind(&SocketAddr::new(0, CN_IDX_PROC))?;
        let mut msg = Vec::with_capacity(40);
        msg.extend_from_slice(&40u32.to_ne_bytes()); // nlmsg_len
        msg.extend_from_slice(&3u16.to_ne_bytes()); // NLMSG_DONE
        msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
        msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
        msg.extend_from_slice(&std::process::id().to_ne_bytes());
        msg.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        msg.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
        msg.extend_from_slice(&0u32.to_ne_bytes()); // ack
        msg.extend_from_slice(&4u16.to_ne_bytes()); // len
        msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
        msg.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
        sock.send(&msg, 0)?;
        sock.set_non_blocking(true)?;
        // SAFETY: the socket is owned by the AsyncFd from here on and is not closed elsewhere.
        let sock = unsafe { AsyncFd::register(sock) }.map_err(|e| e.into_parts().1)?;
        Ok(ProcEvents { sock })
    }

    /// The next events (at least one), waiting for them.
    pub async fn next(&self) -> io::Result<Vec<ProcEvent>> {
        loop {
            let mut guard = self.sock.readable().await?;
            let mut events = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let mut slice: &mut [u8] = &mut buf[..];
                match self.sock.get_ref().recv(&mut slice, 0) {
                    Ok(n) => events.extend(parse_event(&buf[..n.min(buf.len())])),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                        // Events were lost: the caller rescans.
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            guard.clear_ready();
            if !events.is_empty() {
                return Ok(events);
            }
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// One connector message (the kernel sends one event per datagram).
fn parse_event(b: &[u8]) -> Option<ProcEvent> {
    let what = u32_at(b, EVENT_AT)?;
    let d = |k: usize| u32_at(b, DATA_AT + 4 * k);
    // Each event's data starts (pid, tgid); fork's is (parent pid, tgid, child pid, tgid).
    let process = |pid: u32, tgid: u32| (pid == tgid).then_some(pid);
    match what {
        PROC_EVENT_FORK => {
            let child = process(d(2)?, d(3)?)?;
            Some(ProcEvent::Fork {
                parent: d(1)?,
                child,
            })
        }
        PROC_EVENT_EXEC => process(d(0)?, d(1)?).map(ProcEvent::Exec),
        PROC_EVENT_COMM => process(d(0)?, d(1)?).map(ProcEvent::Comm),
        PROC_EVENT_EXIT => process(d(0)?, d(1)?).map(ProcEvent::Exit),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(comm: &str, args: &[&str]) -> ProcName {
        let mut cmdline = Vec::new();
        for a in args {
            cmdline.extend_from_slice(a.as_bytes());
            cmdline.push(0);
        }
        ProcName {
            ppid: 1,
            comm: comm.into(),
            cmdline,
        }
    }

    fn cfg(process: &str, params: &[&str], pm: ParamMatch, full: bool) -> TrackProcessConfig {
        let mut t = TrackProcessConfig::new("t", process);
        t.params = params.iter().map(|s| s.to_string()).collect();
        t.param_match = pm;
        t.full_command = full;
        t
    }

    #[test]
    fn comm_is_matched_exactly() {
        let t = cfg("nginx", &[], ParamMatch::None, false);
        assert!(matches(&t, &named("nginx", &["/usr/sbin/nginx"])));
        assert!(!matches(&t, &named("nginx2", &["nginx"])));
        assert!(!matches(&t, &named("ngin", &["nginx"])));
    }

    #[test]
    fn the_command_line_with_parameters() {
        let p = named("x", &["/bin/sleep", "100", "extra"]);
        let full = cfg("/bin/sleep", &[], ParamMatch::None, true);
        assert!(matches(&full, &p));
        let exact = cfg("/bin/sleep", &["100", "extra"], ParamMatch::Exact, true);
        assert!(matches(&exact, &p));
        let exact_short = cfg("/bin/sleep", &["100"], ParamMatch::Exact, true);
        assert!(!matches(&exact_short, &p));
        let partial = cfg("/bin/sleep", &["100"], ParamMatch::Partial, true);
        assert!(matches(&partial, &p));
        let partial_cut = cfg("/bin/sleep", &["10"], ParamMatch::Partial, true);
        assert!(!matches(&partial_cut, &p));
        let initial = cfg("/bin/sleep", &["100", "ext"], ParamMatch::Initial, true);
        assert!(matches(&initial, &p));
        // `param_match` alone: no parameters at all.
        let none = cfg("/bin/sleep", &[], ParamMatch::Exact, true);
        assert!(!matches(&none, &p));
        assert!(matches(&none, &named("x", &["/bin/sleep"])));
    }

    /// The connector's events for a child we start, where the kernel serves them (root in
    /// the initial network namespace; elsewhere there is nothing to check).
    #[tokio::test]
    async fn events_of_a_child_are_parsed() {
        let Ok(ev) = ProcEvents::open() else {
            return;
        };
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !seen.contains(&ProcEvent::Exit(pid)) {
            let batch = tokio::time::timeout_at(deadline, ev.next())
                .await
                .expect("events in time")
                .expect("events");
            seen.extend(batch.into_iter().filter(|e| match e {
                ProcEvent::Fork { child, .. } => *child == pid,
                ProcEvent::Exec(p) | ProcEvent::Comm(p) | ProcEvent::Exit(p) => *p == pid,
            }));
        }
        let _ = child.wait();
        let me = std::process::id();
        assert!(
            seen.contains(&ProcEvent::Fork {
                parent: me,
                child: pid
            }),
            "{seen:?}"
        );
        assert!(seen.contains(&ProcEvent::Exec(pid)), "{seen:?}");
    }

    #[test]
    fn this_process_is_read() {
        let me = read_name(std::process::id(), true).expect("our own stat");
        assert!(!me.comm.is_empty());
        assert!(!me.cmdline.is_empty());
    }
}

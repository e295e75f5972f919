//! systemd's service notification protocol (`Type=notify` / `Type=notify-reload`).
//!
//! The protocol is the one `sd_notify(3)` documents: newline-separated `KEY=VALUE`
//! assignments in one datagram to the `AF_UNIX` socket named by `$NOTIFY_SOCKET` (a path,
//! or an abstract name written with a leading `@`). Without `$NOTIFY_SOCKET` every call is a
//! no-op. What the daemon sends:
//! - `READY=1` once the first configuration is applied: after the start-up sweep of stale
//!   VIPs, the interfaces reported and the protocol started (the first drain);
//! - `RELOADING=1` with `MONOTONIC_USEC=` (`CLOCK_MONOTONIC` in µs, which
//!   `Type=notify-reload` requires to match the reload to its request), then `READY=1`
//!   when the reload is done, also when the new configuration was refused;
//! - `STOPPING=1` when the shutdown starts;
//! - `STATUS=` a one-line summary ([`summary`]) whenever it changes;
//! - `WATCHDOG=1` at half of `$WATCHDOG_USEC`, from the event loop itself, so that a hung
//!   loop stops the pings and systemd restarts the daemon.
//!
//! The datagrams are sent non-blocking: a full socket queue drops a notification rather
//! than stall the protocol loop. `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` are
//! removed from the environment once read (as `sd_notify`'s `unset_environment`), so that
//! notify scripts do not inherit them.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;
use vrrp_engine::State;

/// The connection to systemd's notification socket, or nothing when not run by systemd.
#[derive(Debug, Default)]
pub struct Notifier {
    /// The unbound socket we send from and systemd's address.
    target: Option<(UnixDatagram, SocketAddr)>,
    /// Half of `$WATCHDOG_USEC` when a watchdog is asked of this process.
    watchdog: Option<Duration>,
    /// The last `STATUS=` sent, so that an unchanged summary is not sent again.
    last_status: Option<String>,
    /// A send already failed and was logged: further failures are logged at debug level.
    failed: bool,
    /// `STOPPING=1` was sent: the shutdown's own state changes do not replace its status.
    stopping: bool,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID`, then removes them from
    /// the environment. Call it before any thread starts (the environment is process-wide).
    pub fn from_env() -> Notifier {
        let socket = std::env::var_os("NOTIFY_SOCKET");
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        for k in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            std::env::remove_var(k);
        }
        let target = socket.and_then(|s| match open(&s) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(
                    "NOTIFY_SOCKET {}: {e}: no notifications",
                    s.to_string_lossy()
                );
                None
            }
        });
        let watchdog = match target {
            Some(_) => watchdog_period(usec.as_deref(), pid.as_deref(), std::process::id()),
            None => None,
        };
        Notifier {
            target,
            watchdog,
            last_status: None,
            failed: false,
            stopping: false,
        }
    }

    /// The interval between `WATCHDOG=1` pings, if systemd asked for them.
    pub fn watchdog_period(&self) -> Option<Duration> {
        self.watchdog
    }

    /// `READY=1`: the configuration is applied and the protocol runs.
    pub fn ready(&mut self) {
        self.send("READY=1");
    }

    /// `RELOADING=1` with `MONOTONIC_USEC`, `monotonic` being `CLOCK_MONOTONIC` now.
    pub fn reloading(&mut self, monotonic: Duration) {
        self.send(&format!(
            "RELOADING=1\nMONOTONIC_USEC={}",
            monotonic.as_micros()
        ));
    }

    /// `STOPPING=1`: the shutdown has started.
    pub fn stopping(&mut self) {
        self.stopping = true;
        self.send("STOPPING=1\nSTATUS=stopping");
    }

    /// `WATCHDOG=1`: the event loop is alive.
    pub fn watchdog(&mut self) {
        self.send("WATCHDOG=1");
    }

    /// `STATUS=line`, unless it is the one last sent.
    pub fn status(&mut self, line: String) {
        if self.target.is_none()
            || self.stopping
            || self.last_status.as_deref() == Some(line.as_str())
        {
            return;
        }
        self.send(&format!("STATUS={line}"));
        self.last_status = Some(line);
    }

    /// Sends one datagram; failures are logged, never fatal.
    fn send(&mut self, msg: &str) {
        let Some((sock, addr)) = &self.target else {
            return;
        };
        if let Err(e) = sock.send_to_addr(msg.as_bytes(), addr) {
            if self.failed {
                tracing::debug!("systemd notification {msg:?}: {e}");
            } else {
                tracing::warn!("systemd notification {msg:?}: {e}");
                self.failed = true;
            }
        }
    }
}

/// An unbound non-blocking datagram socket and the address `$NOTIFY_SOCKET` names.
fn open(name: &std::ffi::OsStr) -> std::io::Result<(UnixDatagram, SocketAddr)> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = name.as_bytes();
    let addr = match bytes.split_first() {
        Some((b'@', abs)) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(abs)?
        }
        Some((b'/', _)) => SocketAddr::from_pathname(std::path::Path::new(name))?,
        _ => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "neither a path nor an abstract name",
            ))
        }
    };
    let sock = UnixDatagram::unbound()?;
    sock.set_nonblocking(true)?;
    Ok((sock, addr))
}

/// Half of `$WATCHDOG_USEC` (systemd's advice in `sd_watchdog_enabled(3)`), if it is set, a
/// positive number, and `$WATCHDOG_PID` is unset or names `me`.
pub fn watchdog_period(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    if let Some(p) = pid {
        if p.trim().parse::<u32>().ok() != Some(me) {
            return None;
        }
    }
    let us: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    Some(Duration::from_micros(us / 2).max(Duration::from_millis(1)))
}

/// The one-line `STATUS=`: the number of instances and each one's state in configuration
/// order, e.g. `2 instances: VI_1 MASTER, VI_2 BACKUP`.
pub fn summary<'a>(instances: impl IntoIterator<Item = (&'a str, State)>) -> String {
    let each: Vec<String> = instances
        .into_iter()
        .map(|(name, state)| format!("{name} {}", state.as_str()))
        .collect();
    let n = each.len();
    let noun = if n == 1 { "instance" } else { "instances" };
    if n == 0 {
        format!("0 {noun}")
    } else {
        format!("{n} {noun}: {}", each.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_every_instance_in_order() {
        assert_eq!(
            summary([("VI_1", State::Master), ("VI_2", State::Backup)]),
            "2 instances: VI_1 MASTER, VI_2 BACKUP"
        );
        assert_eq!(summary([("VI_6", State::Fault)]), "1 instance: VI_6 FAULT");
        assert_eq!(
            summary([
                ("a", State::Initialize),
                ("b", State::Master),
                ("c", State::Master)
            ]),
            "3 instances: a INIT, b MASTER, c MASTER"
        );
        assert_eq!(summary([]), "0 instances");
    }

    #[test]
    fn watchdog_is_half_of_watchdog_usec_for_us_only() {
        let half = Some(Duration::from_secs(5));
        assert_eq!(watchdog_period(Some("10000000"), None, 7), half);
        assert_eq!(watchdog_period(Some("10000000"), Some("7"), 7), half);
        assert_eq!(watchdog_period(Some("10000000"), Some("8"), 7), None);
        assert_eq!(watchdog_period(None, None, 7), None);
        assert_eq!(watchdog_period(Some("0"), None, 7), None);
        assert_eq!(watchdog_period(Some("soon"), None, 7), None);
    }

    #[test]
    fn datagrams_reach_the_socket_and_status_is_not_repeated() {
        let dir = std::env::temp_dir().join(format!("vrrpd-sdnotify-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_nonblocking(true).unwrap();
        let mut n = Notifier {
            target: Some(open(path.as_os_str()).unwrap()),
            ..Notifier::default()
        };
        n.status("1 instance: VI_1 BACKUP".into());
        n.status("1 instance: VI_1 BACKUP".into());
        n.ready();
        n.reloading(Duration::from_micros(1_234_567));
        n.status("1 instance: VI_1 MASTER".into());
        n.stopping();
        n.status("1 instance: VI_1 INIT".into());
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while let Ok(k) = rx.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..k]).into_owned());
        }
        assert_eq!(
            got,
            [
                "STATUS=1 instance: VI_1 BACKUP",
                "READY=1",
                "RELOADING=1\nMONOTONIC_USEC=1234567",
                "STATUS=1 instance: VI_1 MASTER",
                "STOPPING=1\nSTATUS=stopping",
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_a_socket_nothing_happens() {
        let mut n = Notifier::default();
        n.ready();
        n.status("x".into());
        assert_eq!(n.watchdog_period(), None);
    }
}

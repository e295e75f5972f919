//! Logs operators can read (issue 13): the lines a daemon sends to syslog (`-S 3`, a real
//! `/dev/log`: a Unix datagram socket this test binds, bind-mounted over `/dev/log` in a
//! private mount namespace the daemon runs in), against keepalived 2.2.7's on the same
//! scenario; and the console (`-l`) with and without `-D`, also when stderr is the journal.

mod support;

use std::net::Ipv4Addr;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;
use vrrp_engine::wire::Auth;
use vrrp_engine::Version;
use vrrp_lab::Lab;

/// A syslog daemon of our own: every datagram received on `DIR/log.sock`, as text.
struct Syslog {
    path: PathBuf,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Syslog {
    fn bind(dir: &Path) -> Syslog {
        let path = dir.join("log.sock");
        let _ = std::fs::remove_file(&path);
        let sock = UnixDatagram::bind(&path).expect("bind the syslog socket");
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::downgrade(&lines);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            // Ends when the test drops its lines.
            while sink.strong_count() > 0 {
                if let Ok(n) = sock.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    if let Some(l) = sink.upgrade() {
                        l.lock().unwrap().push(text);
                    }
                }
            }
        });
        Syslog { path, lines }
    }

    fn lines(&self) -> Vec<Line> {
        let raw = self.lines.lock().unwrap().clone();
        raw.iter()
            .map(|l| Line::parse(l).unwrap_or_else(|| panic!("not an RFC 3164 line: {l:?}")))
            .collect()
    }

    /// Waits until some line's message contains `what`.
    fn wait_for(&self, what: &str, secs: u64) -> bool {
        wait_until(Duration::from_secs(secs), || {
            self.lines().iter().any(|l| l.msg.contains(what))
        })
    }

    fn dump(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

/// One RFC 3164 line as glibc's syslog(3) sends it: `<PRI>Mmm dd hh:mm:ss IDENT[PID]: MSG`.
#[derive(Clone, Debug)]
struct Line {
    pri: u8,
    ident: String,
    msg: String,
}

impl Line {
    fn parse(l: &str) -> Option<Line> {
        let (pri, rest) = l.strip_prefix('<')?.split_once('>')?;
        // "Dec  2 07:32:09": month, a day padded with a space, the time.
        let stamp = rest.get(..15)?;
        let b = stamp.as_bytes();
        let ok = b[3] == b' '
            && (b[4] == b' ' || b[4].is_ascii_digit())
            && b[5].is_ascii_digit()
            && b[6] == b' '
            && b[9] == b':'
            && b[12] == b':';
        if !ok {
            return None;
        }
        let (tag, msg) = rest.get(16..)?.split_once(": ")?;
        let (ident, pid) = tag.strip_suffix(']')?.split_once('[')?;
        pid.parse::<u32>().ok()?;
        Some(Line {
            pri: pri.parse().ok()?,
            ident: ident.to_string(),
            msg: msg.to_string(),
        })
    }
}

/// `prog ARGS` in host `i`'s namespace, inside a private mount namespace whose `/dev/log` is
/// `sock` (an overlay on `/dev` takes the bind mount; nothing changes outside).
fn with_dev_log(lab: &Lab, i: usize, dir: &Path, sock: &Path, prog: &str) -> Command {
    let (up, work) = (dir.join("dev-up"), dir.join("dev-work"));
    std::fs::create_dir_all(&up).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let script = format!(
        "mount --make-rprivate / && \
         mount -t overlay overlay -o lowerdir=/dev,upperdir='{}',workdir='{}' /dev && \
         touch /dev/log && mount --bind '{}' /dev/log && exec \"$@\"",
        up.display(),
        work.display(),
        sock.display()
    );
    let mut c = Command::new("unshare");
    c.args(["-m", "--", "sh", "-c", &script, "sh"]).args([
        "ip",
        "netns",
        "exec",
        &lab.hosts[i].ns,
        prog,
    ]);
    c
}

/// VRRPv3, 200 ms adverts: a lone node is Master within a second.
fn conf(router: &str, prio: u8, vip: &str, dir: &Path, script: bool) -> String {
    let (scripts, track) = if script {
        (
            format!(
                "vrrp_script chk {{\n    script \"/usr/bin/test -f {}\"\n    interval 1\n    \
                 weight -20\n}}\n",
                dir.join("ok").display()
            ),
            "    track_script {\n        chk\n    }\n",
        )
    } else {
        (String::new(), "")
    };
    let mut inst = Inst::vi1(prio, vip, track);
    inst.version = 3;
    inst.advert = "0.2";
    inst.text(router, "", &scripts)
}

/// Sends `n` VRRPv2 adverts for VRID 51 with TTL 64 (each discarded: "invalid TTL/HL"), then
/// `n` good ones for VRID 77, which nobody runs, from host `i`.
fn bad_ttl(lab: &Lab, i: usize, vip: Ipv4Addr, n: usize) {
    let src = lab.hosts[i].ip;
    let advert = |vrid| inject::advert(Version::V2, src, vrid, 50, 1, Auth::None, &[vip]);
    let datagrams: Vec<Vec<u8>> = std::iter::repeat_n(inject::datagram(src, 64, &advert(51)), n)
        .chain(std::iter::repeat_n(
            inject::datagram(src, 255, &advert(77)),
            n,
        ))
        .collect();
    let sent = inject::send_paced(lab, i, datagrams, Duration::ZERO);
    assert_eq!(sent, 2 * n, "every advert sent");
}

/// What one run of the syslog scenario saw.
struct SyslogRun {
    lines: Vec<Line>,
    dump: String,
    pid: u32,
    peer: String,
}

/// Host 0 runs the daemon under test with `-S 3` and a tracked script (weight -20) and
/// becomes Master; the script fails (priority 100 -> 80); a peer at 90 starts on host 1 and
/// takes over; SIGHUP; 20 adverts with a bad TTL; SIGTERM.
fn syslog_scenario(keepalived: bool) -> SyslogRun {
    let who = if keepalived {
        "keepalived"
    } else {
        "vrrpd-real"
    };
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir(&format!("logs-syslog-{who}"));
    let vip = lab.addr(100).to_string();
    let sys = Syslog::bind(&dir);
    std::fs::write(dir.join("ok"), "").unwrap();
    let path = dir.join("a.conf");
    std::fs::write(&path, conf("A", 100, &vip, &dir, true)).unwrap();
    let stderr = std::fs::File::create(dir.join("a.log")).unwrap();
    let mut cmd = with_dev_log(
        &lab,
        0,
        &dir,
        &sys.path,
        if keepalived { "keepalived" } else { BIN },
    );
    cmd.arg("-f")
        .arg(&path)
        .args(["-n", "-S", "3", "-p"])
        .arg(dir.join("a.pid"));
    if keepalived {
        cmd.args(["-P", "-r"])
            .arg(dir.join("a.vpid"))
            .arg("-c")
            .arg(dir.join("a.cpid"));
    } else {
        cmd.args(["--discard-log-interval", "1s"]);
    }
    cmd.stdout(Stdio::null()).stderr(stderr);
    let pid = lab.spawn(cmd).expect("spawn");
    let fail = |what: &str| panic!("{who}: {what}:\n{}\n{}", sys.dump(), log(&dir, "a"));
    if !sys.wait_for("(VI_1) Entering MASTER STATE", 10) {
        fail("never Master");
    }
    std::fs::remove_file(dir.join("ok")).unwrap();
    if !sys.wait_for("(VI_1) Changing effective priority from 100 to 80", 5) {
        fail("no priority change");
    }
    let peer = lab.hosts[1].ip.to_string();
    start_daemon_with(
        &lab,
        1,
        &dir,
        "b",
        &conf("B", 90, &vip, &dir, false),
        &["-G"],
    );
    // The second BACKUP line (the first one is the start-up's).
    let backups = || {
        sys.lines()
            .iter()
            .filter(|l| l.msg.starts_with("(VI_1) Entering BACKUP STATE"))
            .count()
    };
    if !wait_until(Duration::from_secs(5), || backups() >= 2) {
        fail("never Backup");
    }
    lab.signal(pid, libc::SIGHUP);
    if !sys.wait_for("Reloading", 5) {
        fail("no reload line");
    }
    // The reload is done before the packets come (keepalived reopens its sockets).
    std::thread::sleep(Duration::from_millis(500));
    bad_ttl(&lab, 1, lab.addr(100), 20);
    let discards = |lines: &[Line]| -> u64 {
        lines
            .iter()
            .filter(|l| l.msg.contains("(VI_1) invalid TTL/HL"))
            .map(|l| match l.msg.split_once(" (") {
                // Ours: "(N packets discarded in the last S s, reason ttl)".
                Some((_, n)) if !keepalived => n.split(' ').next().unwrap().parse().unwrap(),
                _ => 1,
            })
            .sum()
    };
    if !wait_until(Duration::from_secs(5), || discards(&sys.lines()) >= 20) {
        fail("the 20 bad packets were not all logged");
    }
    lab.signal(pid, libc::SIGTERM);
    SyslogRun {
        lines: sys.lines(),
        dump: sys.dump(),
        pid,
        peer,
    }
}

#[test]
fn syslog_lines_with_facility_identity_and_causes_as_keepalived() {
    assert_root();
    let (ka, us) = side_by_side(syslog_scenario);
    eprintln!("keepalived:\n{}\n\nvrrpd-real:\n{}", ka.dump, us.dump);
    // keepalived -S 3: every line local3 (19 << 3), informational: <158>.
    assert!(ka.lines.iter().all(|l| l.pri == 158), "{}", ka.dump);
    assert!(us.lines.iter().all(|l| l.pri >> 3 == 19), "{}", us.dump);
    // The VRRP events are keepalived's VRRP child's ("Keepalived_vrrp"), ours "vrrpd-real"
    // with the daemon's pid.
    let events = [
        "(VI_1) Entering BACKUP STATE (init)",
        "VRRP_Script(chk) succeeded",
        "(VI_1) Entering MASTER STATE",
        "VRRP_Script(chk) failed (exited with status 1)",
        "(VI_1) Changing effective priority from 100 to 80",
        "(VI_1) Entering BACKUP STATE",
        "Reloading",
        "(VI_1) invalid TTL/HL",
    ];
    for (run, ident) in [(&ka, "Keepalived_vrrp"), (&us, "vrrpd-real")] {
        for e in events {
            let l = run
                .lines
                .iter()
                .find(|l| l.msg.starts_with(e) && l.ident == ident)
                .unwrap_or_else(|| panic!("{ident}: no line {e:?}:\n{}", run.dump));
            assert_eq!(l.pri, 158, "{l:?}");
        }
    }
    assert!(us
        .lines
        .iter()
        .all(|l| l.ident == "vrrpd-real" && l.msg.len() < 1024));
    let ours = |start: &str| -> String {
        us.lines
            .iter()
            .find(|l| l.msg.starts_with(start))
            .map(|l| l.msg.clone())
            .unwrap_or_default()
    };
    // The cause at the end of keepalived's words.
    assert_eq!(
        ours("(VI_1) Entering MASTER STATE"),
        "(VI_1) Entering MASTER STATE (no advert within Master_Down_Interval; \
         BACKUP -> MASTER, priority 100)"
    );
    assert_eq!(
        ours("(VI_1) Entering BACKUP STATE ("),
        "(VI_1) Entering BACKUP STATE (init) (startup; INIT -> BACKUP, priority 100)"
    );
    let taken = format!(
        "(VI_1) Entering BACKUP STATE (advert from {} with higher priority 90, ours 80; \
         MASTER -> BACKUP, priority 80)",
        us.peer
    );
    assert!(us.lines.iter().any(|l| l.msg == taken), "{}", us.dump);
    // keepalived says which advert made it step down on a line of its own.
    let ka_taken = format!(
        "(VI_1) Master received advert from {} with higher priority 90, ours 80",
        ka.peer
    );
    assert!(ka.lines.iter().any(|l| l.msg == ka_taken), "{}", ka.dump);
    assert!(us.lines.iter().any(|l| l.msg == "Reload complete"));
    // 20 bad packets: keepalived logs 20 lines, we log a summary (one or two lines: the
    // first ones at once, the rest after the interval).
    let ttl = |r: &SyslogRun| {
        r.lines
            .iter()
            .filter(|l| l.msg.contains("(VI_1) invalid TTL/HL"))
            .count()
    };
    assert_eq!(ttl(&ka), 20, "{}", ka.dump);
    assert!((1..=2).contains(&ttl(&us)), "{}", us.dump);
    assert!(us
        .lines
        .iter()
        .any(|l| l.msg.starts_with("(VI_1) invalid TTL/HL (") && l.msg.ends_with("reason ttl)")));
    assert!(us
        .lines
        .iter()
        .any(|l| l.msg.starts_with("Stopped vrrpd-real")));
    // Adverts for a VRID nobody runs here: logged by neither without `log_unknown_vrids`.
    for r in [&ka, &us] {
        assert!(!r.dump.contains("Unknown VRID"), "{}", r.dump);
    }
    assert_ne!(us.pid, 0);
}

/// Host 0 runs the daemon alone with `-l` (and `-D` if `detail`) until Master, then SIGTERM;
/// returns its stderr. `journal`: stderr counts as the journal (`$JOURNAL_STREAM` names the
/// file), with syslog (`Some(dir of the socket)`) or without (`-G`).
fn console(keepalived: bool, detail: bool, journal: Option<bool>) -> String {
    let lab = Lab::new(1).expect("lab");
    let tag = format!(
        "logs-console-{}-{detail}-{}",
        if keepalived { "ka" } else { "us" },
        match journal {
            None => "tty",
            Some(false) => "journal",
            Some(true) => "journal-syslog",
        }
    );
    let dir = tmpdir(&tag);
    let vip = lab.addr(100).to_string();
    let path = dir.join("a.conf");
    std::fs::write(&path, conf("A", 100, &vip, &dir, false)).unwrap();
    let err_path = dir.join("a.log");
    let stderr = std::fs::File::create(&err_path).unwrap();
    let syslog = (journal == Some(true)).then(|| Syslog::bind(&dir));
    let prog = if keepalived { "keepalived" } else { BIN };
    let mut cmd = match &syslog {
        Some(s) => with_dev_log(&lab, 0, &dir, &s.path, prog),
        None => lab.command(0, prog),
    };
    cmd.arg("-f")
        .arg(&path)
        .args(["-n", "-l", "-p"])
        .arg(dir.join("a.pid"));
    if syslog.is_none() {
        cmd.arg("-G");
    }
    if detail {
        cmd.arg("-D");
    }
    if keepalived {
        cmd.args(["-P", "-r"])
            .arg(dir.join("a.vpid"))
            .arg("-c")
            .arg(dir.join("a.cpid"));
    }
    if journal.is_some() {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(&err_path).unwrap();
        cmd.env("JOURNAL_STREAM", format!("{}:{}", m.dev(), m.ino()));
    }
    cmd.stdout(Stdio::null()).stderr(stderr);
    let pid = lab.spawn(cmd).expect("spawn");
    let master = wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip));
    // Announcements go on for a moment after the VIP is added.
    std::thread::sleep(Duration::from_millis(300));
    lab.signal(pid, libc::SIGTERM);
    let text = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(master, "{tag}: never Master:\n{text}");
    if let Some(s) = &syslog {
        // The journal got every line from /dev/log already.
        assert!(
            s.lines()
                .iter()
                .any(|l| l.msg.starts_with("(VI_1) Entering MASTER STATE")),
            "{tag}: {}",
            s.dump()
        );
    }
    text
}

#[test]
fn console_lines_and_what_detail_adds() {
    assert_root();
    let runs: Vec<(bool, bool, Option<bool>)> = vec![
        (true, false, None),
        (true, true, None),
        (false, false, None),
        (false, true, None),
        (false, false, Some(false)),
        (false, false, Some(true)),
    ];
    let texts: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = runs
            .iter()
            .map(|&(k, d, j)| s.spawn(move || console(k, d, j)))
            .collect();
        hs.into_iter().map(|h| h.join().expect("run")).collect()
    });
    let lines = |t: &str| t.lines().map(String::from).collect::<Vec<_>>();
    // keepalived's console format: "Wed Dec  2 07:32:09 2026: MESSAGE" (strftime %c).
    let body = |l: &str| -> Option<String> {
        let b = l.as_bytes();
        let ok = l.len() > 26
            && b[3] == b' '
            && b[7] == b' '
            && b[13] == b':'
            && b[16] == b':'
            && b[19] == b' '
            && &l[24..26] == ": ";
        ok.then(|| l[26..].to_string())
    };
    let bodies = |t: &str| -> Vec<String> {
        lines(t)
            .iter()
            .map(|l| body(l).unwrap_or_else(|| panic!("not a console line: {l:?}\n{t}")))
            .collect()
    };
    let has = |t: &str, what: &str| bodies(t).iter().any(|b| b.starts_with(what));
    let (ka, ka_d, us, us_d) = (&texts[0], &texts[1], &texts[2], &texts[3]);
    for t in [ka, ka_d, us, us_d] {
        assert!(has(t, "(VI_1) Entering MASTER STATE"), "{t}");
    }
    // What -D adds, in both: the VIPs set and the gratuitous ARPs.
    assert!(has(ka_d, "(VI_1) setting VIPs.") && !has(ka, "(VI_1) setting VIPs."));
    assert!(has(ka_d, "Sending gratuitous ARP on eth0") && !has(ka, "Sending gratuitous ARP"));
    assert!(has(us_d, "(VI_1) setting VIP ") && !has(us, "(VI_1) setting VIP"));
    assert!(
        has(us_d, "(VI_1) Sending gratuitous ARP on eth0")
            && !has(us, "(VI_1) Sending gratuitous ARP"),
        "{us_d}\n---\n{us}"
    );
    // stderr is the journal, no syslog: "<6>" priorities, no time.
    let journal = &texts[4];
    assert!(
        lines(journal)
            .iter()
            .all(|l| l.starts_with('<') && l.as_bytes()[2] == b'>'),
        "{journal}"
    );
    assert!(
        lines(journal)
            .iter()
            .any(|l| l.starts_with("<6>(VI_1) Entering MASTER STATE")),
        "{journal}"
    );
    // stderr is the journal and syslog is on: the console stays quiet (no line twice).
    assert_eq!(texts[5], "", "{}", texts[5]);
}

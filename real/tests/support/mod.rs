//! Shared helpers of the namespace tests: root check, config files, daemons, captures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vrrp_lab::Lab;

pub mod chaos;
pub mod inject;
pub mod scrape;

/// The daemon binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_vrrpd-real");

/// Namespace tests need root: fail loudly rather than pass without running.
pub fn assert_root() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "this test builds network namespaces: run it as root (scripts/test.sh does)"
    );
}

/// A fresh directory for one test's files.
pub fn tmpdir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vrrpd-real-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmpdir");
    d
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A keepalived.conf with one IPv4 instance.
pub struct Inst<'a> {
    pub name: &'a str,
    pub vrid: u8,
    pub priority: u8,
    pub version: u8,
    pub advert: &'a str,
    pub auth: Option<&'a str>,
    pub vip: String,
    pub extra: &'a str,
}

impl<'a> Inst<'a> {
    /// VI_1, VRID 51, VRRPv2, 1 s adverts, no authentication.
    pub fn vi1(priority: u8, vip: &str, extra: &'a str) -> Inst<'a> {
        Inst {
            name: "VI_1",
            vrid: 51,
            priority,
            version: 2,
            advert: "1",
            auth: None,
            vip: vip.to_string(),
            extra,
        }
    }

    pub fn text(&self, router_id: &str, globals: &str, scripts: &str) -> String {
        let auth = match self.auth {
            Some(p) => format!(
                "    authentication {{\n        auth_type PASS\n        auth_pass {p}\n    }}\n"
            ),
            None => String::new(),
        };
        format!(
            "global_defs {{\n    router_id {router_id}\n{globals}}}\n{scripts}\
             vrrp_instance {} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {}\n    \
             priority {}\n    version {}\n    advert_int {}\n{auth}    virtual_ipaddress {{\n        {}\n    }}\n{}}}\n",
            self.name, self.vrid, self.priority, self.version, self.advert, self.vip, self.extra
        )
    }
}

/// Starts `vrrpd-real` on host `i` with config `conf`; logs, status and trace go to `dir`.
pub fn start_daemon(lab: &Lab, i: usize, dir: &Path, tag: &str, conf: &str) -> u32 {
    start_daemon_with(lab, i, dir, tag, conf, &[])
}

/// [`start_daemon`] with extra command-line arguments.
pub fn start_daemon_with(
    lab: &Lab,
    i: usize,
    dir: &Path,
    tag: &str,
    conf: &str,
    args: &[&str],
) -> u32 {
    let trace = dir.join(format!("{tag}.trace"));
    let trace = trace.to_str().expect("utf-8 path");
    let mut all = vec!["--trace", trace];
    all.extend_from_slice(args);
    spawn_daemon(lab, i, dir, tag, conf, &all)
}

/// [`start_daemon`] without `--trace` (a trace of a long run would only cost disk).
pub fn start_daemon_untraced(lab: &Lab, i: usize, dir: &Path, tag: &str, conf: &str) -> u32 {
    spawn_daemon(lab, i, dir, tag, conf, &[])
}

/// `vrrpd-real -f TAG.conf -n -l -D --status TAG.json -p TAG.pid ARGS` on host `i`, stderr
/// to `TAG.log`.
fn spawn_daemon(lab: &Lab, i: usize, dir: &Path, tag: &str, conf: &str, args: &[&str]) -> u32 {
    let path = dir.join(format!("{tag}.conf"));
    std::fs::write(&path, conf).expect("write conf");
    let log = std::fs::File::create(dir.join(format!("{tag}.log"))).expect("log");
    let mut cmd = lab.command(i, BIN);
    cmd.arg("-f")
        .arg(&path)
        .args(["-n", "-l", "-D", "--status"])
        .arg(dir.join(format!("{tag}.json")))
        .arg("-p")
        .arg(dir.join(format!("{tag}.pid")))
        .args(args)
        .stdout(Stdio::null())
        .stderr(log);
    lab.spawn(cmd).expect("spawn daemon")
}

/// Starts keepalived 2.2.7 on host `i` (its own pid files in `dir`).
pub fn start_keepalived(lab: &Lab, i: usize, dir: &Path, tag: &str, conf: &str) -> u32 {
    let path = dir.join(format!("{tag}.conf"));
    std::fs::write(&path, conf).expect("write conf");
    let log = std::fs::File::create(dir.join(format!("{tag}.log"))).expect("log");
    let mut cmd = lab.command(i, "keepalived");
    cmd.arg("-f")
        .arg(&path)
        .args(["-n", "-l", "-D", "--no-syslog", "-P", "-p"])
        .arg(dir.join(format!("{tag}.pid")))
        .arg("-r")
        .arg(dir.join(format!("{tag}.vrrp.pid")))
        .arg("-c")
        .arg(dir.join(format!("{tag}.chk.pid")))
        .stdout(Stdio::null())
        .stderr(log);
    lab.spawn(cmd).expect("spawn keepalived")
}

/// A dumpcap capture of VRRP on host `i`'s eth0.
pub struct Capture {
    pid: u32,
    pub file: PathBuf,
}

impl Capture {
    pub fn start(lab: &Lab, i: usize, dir: &Path, tag: &str) -> Capture {
        let file = dir.join(format!("{tag}.pcapng"));
        let pid = lab
            .capture(i, &file, "ip proto 112 or ip6 proto 112", &[])
            .expect("dumpcap");
        Capture { pid, file }
    }

    /// Stops the capture and decodes it.
    pub fn stop(self, lab: &Lab) -> Vec<Advert> {
        std::thread::sleep(Duration::from_millis(200));
        lab.signal(self.pid, libc::SIGINT);
        decode(&self.file)
    }
}

/// One VRRP packet as tshark decodes it.
#[derive(Clone, Debug)]
pub struct Advert {
    pub t: f64,
    pub src: String,
    pub vrid: u8,
    pub prio: u8,
    pub version: u8,
    /// `vrrp.checksum.status`: "1" is good.
    pub checksum_status: String,
    pub ttl: u8,
}

/// Decodes a capture with tshark.
pub fn decode(file: &Path) -> Vec<Advert> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args([
            "-Y",
            "vrrp",
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "frame.time_epoch",
            "-e",
            "ip.src",
            "-e",
            "vrrp.virt_rtr_id",
            "-e",
            "vrrp.prio",
            "-e",
            "vrrp.version",
            "-e",
            "vrrp.checksum.status",
            "-e",
            "ip.ttl",
        ])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            Some(Advert {
                t: f.first()?.parse().ok()?,
                src: f.get(1)?.to_string(),
                vrid: f.get(2)?.parse().ok()?,
                prio: f.get(3)?.parse().ok()?,
                version: f.get(4)?.parse().ok()?,
                checksum_status: f.get(5)?.to_string(),
                ttl: f.get(6)?.parse().unwrap_or(0),
            })
        })
        .collect()
}

/// Reads the status file (after asking the daemon for a fresh one with SIGUSR1).
pub fn status(lab: &Lab, pid: u32, dir: &Path, tag: &str) -> serde_json::Value {
    let path = dir.join(format!("{tag}.json"));
    let before = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    lab.signal(pid, libc::SIGUSR1);
    wait_until(Duration::from_secs(2), || {
        std::fs::metadata(&path).and_then(|m| m.modified()).ok() != before
    });
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// The log of a daemon, for assertion messages.
pub fn log(dir: &Path, tag: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{tag}.log"))).unwrap_or_default()
}

/// The JSON lines of a daemon's trace (`--trace DIR/TAG.trace`).
pub fn trace_lines(dir: &Path, tag: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(format!("{tag}.trace")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Starts keepalived 2.2.7 (`keepalived`) or vrrpd-real on host 0 with `conf` and waits until
/// it holds `vip` (Master alone on the LAN); returns its pid.
pub fn start_master(
    lab: &Lab,
    dir: &Path,
    tag: &str,
    conf: &str,
    keepalived: bool,
    vip: &str,
) -> u32 {
    let pid = if keepalived {
        start_keepalived(lab, 0, dir, tag, conf)
    } else {
        start_daemon(lab, 0, dir, tag, conf)
    };
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, vip)),
        "{tag}: never Master:\n{}",
        log(dir, tag)
    );
    pid
}

/// `ip -n NS ARGS`, which must succeed.
pub fn ns_ip(ns: &str, args: &[&str]) {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    vrrp_lab::ip(&all).unwrap_or_else(|e| panic!("{e}"));
}

/// Loads an nftables ruleset into namespace `ns` (`nft -f -`), which must succeed.
pub fn ns_nft(ns: &str, ruleset: &str) {
    use std::io::Write;
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nft (scripts/test.sh installs nftables)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(ruleset.as_bytes())
        .expect("nft stdin");
    let out = child.wait_with_output().expect("nft");
    assert!(
        out.status.success(),
        "nft {ruleset:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `scenario(true)` (keepalived) and `scenario(false)` (vrrpd-real) at the same time, each
/// on a LAN of its own, and returns (keepalived's, vrrpd-real's). For tests that compare what
/// the two did (counts, lines, offsets within a run), not their timing against each other:
/// it halves their time in a suite that runs one test at a time.
pub fn side_by_side<T: Send>(scenario: impl Fn(bool) -> T + Sync) -> (T, T) {
    std::thread::scope(|s| {
        let ka = s.spawn(|| scenario(true));
        let vr = s.spawn(|| scenario(false));
        let join = |h: std::thread::ScopedJoinHandle<'_, T>, who: &str| {
            h.join()
                .unwrap_or_else(|_| panic!("the {who} run failed (its panic is above)"))
        };
        (join(ka, "keepalived"), join(vr, "vrrpd-real"))
    })
}

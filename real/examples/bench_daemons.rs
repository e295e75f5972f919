//! `vrrpd-real` and keepalived side by side on namespace LANs, in one run (root only).
//!
//! Driven by `scripts/bench-daemons.sh`; see the README. Two measurements:
//!
//! 1. **Takeover gap after SIGKILL.** One LAN of five namespaces: a vrrpd-real Master
//!    (priority 200) and Backup (100) with VRID 10, a keepalived Master and Backup with VRID 20,
//!    and a capture host running dumpcap. Each trial SIGKILLs both Masters at the same moment,
//!    waits for both Backups to take over, then restarts the Masters (they preempt back). From
//!    the capture: gap = first advert of the Backup − last advert of the killed Master, and the
//!    overhead is gap − Master_Down_Interval (3 × interval + Skew_Time of priority 100).
//! 2. **CPU and RSS.** Two LANs at the same time, one per implementation (255 VRIDs do not fit
//!    twice on one LAN): a Master (priority 200) and a Backup (100) with N VRRPv3 instances
//!    on eth0. After every Master VIP is up and a settling pause, user + system ticks of each
//!    process (keepalived: the parent plus its VRRP child from `-r`) are read from
//!    `/proc/PID/stat` before and after the window; RSS is `VmRSS` at its end.
//!
//! The output is a Markdown section, printed and (with `--out FILE`) merged into FILE between
//! markers, other sections untouched. A run restricted with `--only gap|cpu` writes a section
//! of its own (`bench-daemons-gap`, `bench-daemons-cpu`), so the tail-latency run
//! (`--only gap --adverts v3-10ms --trials 30`) does not replace the full run's section.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use vrrp_lab::{sh, Lab};

/// The takeover cases: (name for `--adverts`, label, VRRP version, interval in s, advert_int).
const GAP_CASES: [(&str, &str, u8, f64, &str); 3] = [
    ("v2-1s", "VRRPv2, 1 s", 2, 1.0, "1"),
    ("v3-50ms", "VRRPv3, 50 ms", 3, 0.05, "0.05"),
    ("v3-10ms", "VRRPv3, 10 ms", 3, 0.01, "0.01"),
];

struct Args {
    trials: usize,
    cpu_secs: u64,
    vrrpd: PathBuf,
    keepalived: String,
    out: Option<PathBuf>,
    only: Option<String>,
    /// `--adverts`: the takeover cases to run (names of [`GAP_CASES`]).
    adverts: Vec<String>,
    command: String,
    keep_dir: bool,
}

fn parse_args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/examples/bench_daemons -> target/<profile>/vrrpd-real
    let default_vrrpd = exe
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("vrrpd-real"))
        .unwrap_or_else(|| PathBuf::from("vrrpd-real"));
    let mut a = Args {
        trials: 10,
        cpu_secs: 15,
        vrrpd: default_vrrpd,
        keepalived: "/usr/sbin/keepalived".into(),
        out: None,
        only: None,
        adverts: GAP_CASES.iter().map(|c| c.0.to_string()).collect(),
        command: std::env::var("BENCH_COMMAND").unwrap_or_else(|_| argv.join(" ")),
        keep_dir: false,
    };
    let mut it = argv.iter().skip(1);
    while let Some(x) = it.next() {
        let mut val = || it.next().cloned().unwrap_or_else(|| usage(x));
        match x.as_str() {
            "--trials" => a.trials = val().parse().unwrap_or_else(|_| usage("--trials")),
            "--cpu-secs" => a.cpu_secs = val().parse().unwrap_or_else(|_| usage("--cpu-secs")),
            "--vrrpd" => a.vrrpd = PathBuf::from(val()),
            "--keepalived" => a.keepalived = val(),
            "--out" => a.out = Some(PathBuf::from(val())),
            "--only" => a.only = Some(val()),
            "--adverts" => {
                a.adverts = val().split(',').map(str::to_string).collect();
                if a.adverts
                    .iter()
                    .any(|n| !GAP_CASES.iter().any(|c| c.0 == n))
                {
                    usage("--adverts")
                }
            }
            "--keep" => a.keep_dir = true,
            "--smoke" => {
                a.trials = 2;
                a.cpu_secs = 3;
            }
            _ => usage(x),
        }
    }
    a
}

fn usage(bad: &str) -> ! {
    eprintln!(
        "bench_daemons: bad argument {bad}\nusage: bench_daemons [--trials N] [--cpu-secs S] \
         [--smoke] [--only gap|cpu] [--adverts v2-1s,v3-50ms,v3-10ms] [--vrrpd PATH] [--keepalived PATH] [--out BENCHMARKS.md] [--keep]"
    );
    std::process::exit(2)
}

fn epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Imp {
    Real,
    Keepalived,
}

impl Imp {
    fn name(self) -> &'static str {
        match self {
            Imp::Real => "vrrpd-real",
            Imp::Keepalived => "keepalived 2.2.7",
        }
    }
}

/// A running daemon: the pid we spawned and, for keepalived, its VRRP child's pid file.
struct Daemon {
    pid: u32,
    vrrp_pid_file: Option<PathBuf>,
}

impl Daemon {
    fn pids(&self) -> Vec<u32> {
        let mut v = vec![self.pid];
        if let Some(c) = self.child() {
            v.push(c);
        }
        v
    }

    fn child(&self) -> Option<u32> {
        let f = self.vrrp_pid_file.as_ref()?;
        std::fs::read_to_string(f).ok()?.trim().parse().ok()
    }

    fn kill(&self, lab: &Lab) {
        if let Some(c) = self.child() {
            // SAFETY: kill(2) on keepalived's VRRP child, inside a namespace of ours.
            unsafe { libc::kill(c as i32, libc::SIGKILL) };
        }
        lab.signal(self.pid, libc::SIGKILL);
    }
}

fn start(
    args: &Args,
    lab: &Lab,
    host: usize,
    imp: Imp,
    dir: &Path,
    tag: &str,
    conf: &str,
) -> Daemon {
    let path = dir.join(format!("{tag}.conf"));
    std::fs::write(&path, conf).expect("write conf");
    let log = std::fs::File::create(dir.join(format!("{tag}.log"))).expect("log file");
    match imp {
        Imp::Real => {
            let mut cmd = lab.command(host, &args.vrrpd.to_string_lossy());
            cmd.arg("-f")
                .arg(&path)
                .args(["-n", "-l", "-p"])
                .arg(dir.join(format!("{tag}.pid")))
                .stdout(Stdio::null())
                .stderr(log);
            Daemon {
                pid: lab.spawn(cmd).expect("spawn vrrpd-real"),
                vrrp_pid_file: None,
            }
        }
        Imp::Keepalived => {
            let vp = dir.join(format!("{tag}.vrrp.pid"));
            let _ = std::fs::remove_file(&vp);
            let mut cmd = lab.command(host, &args.keepalived);
            cmd.arg("-f")
                .arg(&path)
                .args(["-n", "-l", "--no-syslog", "-P", "-p"])
                .arg(dir.join(format!("{tag}.pid")))
                .arg("-r")
                .arg(&vp)
                .arg("-c")
                .arg(dir.join(format!("{tag}.chk.pid")))
                .stdout(Stdio::null())
                .stderr(log);
            let d = Daemon {
                pid: lab.spawn(cmd).expect("spawn keepalived"),
                vrrp_pid_file: Some(vp),
            };
            wait_until(Duration::from_secs(5), || d.child().is_some());
            d
        }
    }
}

/// keepalived.conf text: `n` VRRPv`version` instances on eth0 with VRIDs `first..`.
fn config(router: &str, version: u8, advert: &str, prio: u8, vrids: &[(u8, String)]) -> String {
    let mut s = format!("global_defs {{\n    router_id {router}\n}}\n");
    for (vrid, vip) in vrids {
        let _ = write!(
            s,
            "vrrp_instance VI_{vrid} {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id {vrid}\n    priority {prio}\n    version {version}\n    \
             advert_int {advert}\n    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n"
        );
    }
    s
}

fn addrs(lab: &Lab, host: usize) -> Vec<String> {
    sh("ip", &["-n", &lab.hosts[host].ns, "-o", "addr", "show"])
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    let i = w.iter().position(|x| *x == "inet" || *x == "inet6")?;
                    Some(w.get(i + 1)?.split('/').next()?.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn has(lab: &Lab, host: usize, addr: &str) -> bool {
    addrs(lab, host).iter().any(|a| a == addr)
}

// ------------------------------------------------------------------------------------------
// Takeover gap

struct Cap {
    pid: u32,
    file: PathBuf,
}

fn capture(lab: &Lab, host: usize, dir: &Path, tag: &str) -> Cap {
    let file = dir.join(format!("{tag}.pcapng"));
    let pid = lab
        .capture(host, &file, "ip proto 112", &["-B", "16"])
        .expect("dumpcap");
    Cap { pid, file }
}

/// (time, source, vrid) of every VRRP packet of a capture.
fn decode(file: &Path) -> Vec<(f64, String, u8)> {
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
        ])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            Some((
                f.first()?.parse().ok()?,
                f.get(1)?.to_string(),
                f.get(2)?.parse().ok()?,
            ))
        })
        .collect()
}

struct GapRow {
    label: String,
    mdi: f64,
    /// Overheads (gap − MDI), seconds, per implementation.
    overhead: BTreeMap<&'static str, Vec<f64>>,
    failures: BTreeMap<&'static str, usize>,
}

fn gap_run(args: &Args, label: &str, version: u8, interval: f64, advert: &str) -> GapRow {
    let lab = Lab::new(5).expect("lab");
    let dir = tmpdir(&format!("gap-{version}-{advert}"));
    // hosts: 0 real Master, 1 real Backup, 2 keepalived Master, 3 keepalived Backup, 4 capture
    let pairs = [
        (Imp::Real, 0usize, 1usize, 10u8, lab.addr(100)),
        (Imp::Keepalived, 2, 3, 20, lab.addr(101)),
    ];
    let cap = capture(&lab, 4, &dir, "cap");
    let mut masters = Vec::new();
    for &(imp, m, b, vrid, vip) in &pairs {
        let vips = [(vrid, vip.to_string())];
        start(
            args,
            &lab,
            b,
            imp,
            &dir,
            &format!("{vrid}b"),
            &config("B", version, advert, 100, &vips),
        );
        masters.push(start(
            args,
            &lab,
            m,
            imp,
            &dir,
            &format!("{vrid}m0"),
            &config("M", version, advert, 200, &vips),
        ));
    }
    let mdi = 3.0 * interval + (256.0 - 100.0) / 256.0 * interval;
    let settle = Duration::from_secs_f64((interval * 4.0).max(1.0));
    let takeover_wait = Duration::from_secs_f64(interval * 8.0 + 5.0);
    let stable = |lab: &Lab| {
        pairs.iter().all(|&(_, m, b, _, vip)| {
            let v = vip.to_string();
            has(lab, m, &v) && !has(lab, b, &v)
        })
    };
    assert!(
        wait_until(takeover_wait * 2, || stable(&lab)),
        "Masters never settled; logs in {}",
        dir.display()
    );
    // (kill time, restart time) per trial
    let mut windows = Vec::new();
    let mut failures: BTreeMap<&'static str, usize> = BTreeMap::new();
    for trial in 0..args.trials {
        std::thread::sleep(settle);
        let t_kill = epoch();
        for d in &masters {
            d.kill(&lab);
        }
        // No `ip addr` polling (a process every 5 ms) while the Backups' timers run out: it
        // would compete with both daemons for the CPU at the moment being measured.
        std::thread::sleep(Duration::from_secs_f64(mdi + 0.05));
        let ok = wait_until(takeover_wait, || {
            pairs
                .iter()
                .all(|&(_, _, b, _, vip)| has(&lab, b, &vip.to_string()))
        });
        for &(imp, _, b, _, vip) in &pairs {
            if !has(&lab, b, &vip.to_string()) {
                *failures.entry(imp.name()).or_default() += 1;
            }
        }
        if !ok {
            eprintln!(
                "trial {trial}: a Backup did not take over; logs in {}",
                dir.display()
            );
        }
        // Let the new Masters advertise a little before the old ones come back.
        std::thread::sleep(Duration::from_secs_f64((interval * 3.0).max(0.3)));
        let t_restart = epoch();
        windows.push((t_kill, t_restart));
        masters.clear();
        for &(imp, m, _, vrid, vip) in &pairs {
            let vips = [(vrid, vip.to_string())];
            masters.push(start(
                args,
                &lab,
                m,
                imp,
                &dir,
                &format!("{vrid}m{}", trial + 1),
                &config("M", version, advert, 200, &vips),
            ));
        }
        if !wait_until(takeover_wait * 2, || stable(&lab)) {
            eprintln!(
                "trial {trial}: Masters did not preempt back; logs in {}",
                dir.display()
            );
        }
        eprintln!("  {label}: trial {} of {} done", trial + 1, args.trials);
    }
    std::thread::sleep(Duration::from_millis(300));
    lab.signal(cap.pid, libc::SIGINT);
    let pkts = decode(&cap.file);
    let mut overhead: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for &(imp, m, b, vrid, _) in &pairs {
        let ip_m = lab.hosts[m].ip.to_string();
        let ip_b = lab.hosts[b].ip.to_string();
        for &(t_kill, t_restart) in &windows {
            let last_m = pkts
                .iter()
                .filter(|p| {
                    p.2 == vrid
                        && p.1 == ip_m
                        && p.0 > t_kill - 10.0 * interval - 2.0
                        && p.0 < t_restart
                })
                .map(|p| p.0)
                .fold(f64::NAN, f64::max);
            let first_b = pkts
                .iter()
                .filter(|p| p.2 == vrid && p.1 == ip_b && p.0 > last_m && p.0 < t_restart + 1.0)
                .map(|p| p.0)
                .fold(f64::NAN, f64::min);
            if last_m.is_finite() && first_b.is_finite() {
                overhead
                    .entry(imp.name())
                    .or_default()
                    .push(first_b - last_m - mdi);
            } else {
                *failures.entry(imp.name()).or_default() += 1;
            }
        }
    }
    if !args.keep_dir {
        let _ = std::fs::remove_dir_all(&dir);
    }
    GapRow {
        label: label.to_string(),
        mdi,
        overhead,
        failures,
    }
}

// ------------------------------------------------------------------------------------------
// CPU and RSS

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime + stime of `pid`, in ticks.
fn ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" that closes comm: state is field 3, utime 14, stime 15.
    let rest = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(14) + get(15)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

struct CpuRow {
    label: String,
    /// (implementation, role) -> (CPU % of one core, RSS MiB, VIPs held at the end)
    cells: Vec<(Imp, &'static str, f64, f64, usize)>,
}

fn cpu_run(args: &Args, n: u8, advert: &str) -> CpuRow {
    let label = format!(
        "{n} instances x {} ms",
        (advert.parse::<f64>().unwrap_or(0.0) * 1000.0).round()
    );
    let imps = [Imp::Real, Imp::Keepalived];
    let labs: Vec<Lab> = imps.iter().map(|_| Lab::new(2).expect("lab")).collect();
    let dir = tmpdir(&format!("cpu-{n}-{advert}"));
    let vips: Vec<(u8, String)> = (1..=n).map(|v| (v, format!("198.18.1.{v}"))).collect();
    let mut daemons = Vec::new();
    for (k, &imp) in imps.iter().enumerate() {
        let b = start(
            args,
            &labs[k],
            1,
            imp,
            &dir,
            &format!("{k}b"),
            &config("B", 3, advert, 100, &vips),
        );
        let m = start(
            args,
            &labs[k],
            0,
            imp,
            &dir,
            &format!("{k}m"),
            &config("M", 3, advert, 200, &vips),
        );
        daemons.push((m, b));
    }
    let count = |lab: &Lab, host: usize| {
        addrs(lab, host)
            .iter()
            .filter(|a| a.starts_with("198.18.1."))
            .count()
    };
    let settled = wait_until(Duration::from_secs(60), || {
        labs.iter()
            .all(|l| count(l, 0) == usize::from(n) && count(l, 1) == 0)
    });
    if !settled {
        eprintln!(
            "{label}: not every Master VIP came up (logs in {})",
            dir.display()
        );
    }
    std::thread::sleep(Duration::from_secs(3));
    let roles = |k: usize| [("Master", &daemons[k].0), ("Backup", &daemons[k].1)];
    let mut before = Vec::new();
    for k in 0..imps.len() {
        for (_, d) in roles(k) {
            before.push(d.pids().iter().map(|&p| ticks(p)).sum::<u64>());
        }
    }
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(args.cpu_secs));
    let mut after = Vec::new();
    let mut rss = Vec::new();
    for k in 0..imps.len() {
        for (_, d) in roles(k) {
            after.push(d.pids().iter().map(|&p| ticks(p)).sum::<u64>());
            rss.push(d.pids().iter().map(|&p| rss_kib(p)).sum::<u64>());
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let mut cells = Vec::new();
    let mut i = 0;
    for (k, &imp) in imps.iter().enumerate() {
        for (h, (role, _)) in roles(k).into_iter().enumerate() {
            let cpu = (after[i] - before[i]) as f64 / clk_tck() / wall * 100.0;
            cells.push((imp, role, cpu, rss[i] as f64 / 1024.0, count(&labs[k], h)));
            i += 1;
        }
    }
    drop(labs);
    if !args.keep_dir {
        let _ = std::fs::remove_dir_all(&dir);
    }
    CpuRow { label, cells }
}

// ------------------------------------------------------------------------------------------

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bench-daemons-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmpdir");
    d
}

/// The `p`-th percentile by nearest rank (the smallest value with at least `p` % of the
/// values at or below it): p90 of 30 values is the 27th smallest.
fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0 * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("bench_daemons: needs root (network namespaces)");
        std::process::exit(1);
    }
    let args = parse_args();
    if !args.vrrpd.exists() {
        eprintln!(
            "bench_daemons: no vrrpd-real at {} (use --vrrpd)",
            args.vrrpd.display()
        );
        std::process::exit(1);
    }
    let started = epoch();
    let mut gaps = Vec::new();
    let mut cpus = Vec::new();
    if args.only.as_deref() != Some("cpu") {
        for (_, label, version, interval, advert) in GAP_CASES
            .into_iter()
            .filter(|c| args.adverts.iter().any(|n| n == c.0))
        {
            eprintln!("takeover gap: {label}");
            gaps.push(gap_run(&args, label, version, interval, advert));
        }
    }
    if args.only.as_deref() != Some("gap") {
        for (n, advert) in [(100u8, "0.1"), (255, "0.01")] {
            eprintln!("CPU/RSS: {n} instances, advert {advert} s");
            cpus.push(cpu_run(&args, n, advert));
        }
    }
    let ms = |x: f64| format!("{:.2}", x * 1000.0);
    let marker = match args.only.as_deref() {
        Some(o) => format!("bench-daemons-{o}"),
        None => "bench-daemons".to_string(),
    };
    let (begin, end) = (
        format!("<!-- {marker}:begin -->"),
        format!("<!-- {marker}:end -->"),
    );
    let title = match args.only.as_deref() {
        Some("gap") => ": takeover overhead",
        Some("cpu") => ": CPU and memory",
        _ => "",
    };
    let mut md = String::new();
    let _ = writeln!(md, "{begin}");
    let _ = writeln!(
        md,
        "## Daemons: vrrpd-real and keepalived side by side{title}\n"
    );
    let _ = writeln!(
        md,
        "Measured by `scripts/bench-daemons.sh` ({:.0} s) on: {}.\n\nCommand: `{}`\n",
        epoch() - started,
        vrrp_lab::bench::machine(),
        args.command
    );
    if !gaps.is_empty() {
        let _ = writeln!(
            md,
            "### Takeover gap after SIGKILL of the Master ({} trials each)\n\n\
             Both pairs on one LAN, killed at the same moment; times from a dumpcap capture on a \
             fifth namespace. Overhead = (first advert of the new Master − last advert of the killed \
             one) − Master_Down_Interval (3 × interval + Skew_Time of the Backup's priority 100). \
             The two implementations are killed in the same trial, so each trial's conditions are \
             the same for both. p90: nearest rank (the 27th of 30).\n",
            args.trials
        );
        let _ = writeln!(md, "| adverts | Master_Down_Interval (ms) | implementation | overhead median (ms) | overhead p90 (ms) | overhead max (ms) | overhead min (ms) | trials measured | failures |");
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
        for g in &gaps {
            for imp in [Imp::Real, Imp::Keepalived] {
                let v = g.overhead.get(imp.name()).cloned().unwrap_or_default();
                let max = v.iter().copied().fold(f64::NAN, f64::max);
                let min = v.iter().copied().fold(f64::NAN, f64::min);
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    g.label,
                    ms(g.mdi),
                    imp.name(),
                    ms(median(&v)),
                    ms(percentile(&v, 90.0)),
                    ms(max),
                    ms(min),
                    v.len(),
                    g.failures.get(imp.name()).copied().unwrap_or(0)
                );
            }
        }
        md.push('\n');
        let _ = writeln!(md, "Every trial's overhead (ms), sorted:\n");
        for g in &gaps {
            for imp in [Imp::Real, Imp::Keepalived] {
                let mut v = g.overhead.get(imp.name()).cloned().unwrap_or_default();
                v.sort_by(f64::total_cmp);
                let list: Vec<String> = v.iter().map(|&x| ms(x)).collect();
                let _ = writeln!(md, "- {}, {}: {}", g.label, imp.name(), list.join(", "));
            }
        }
        md.push('\n');
    }
    if !cpus.is_empty() {
        let _ = writeln!(
            md,
            "### CPU and memory, Master and Backup with many VRRPv3 instances on one interface ({} s window)\n\n\
             CPU = (user + system) ticks from `/proc/PID/stat` over the window, in % of one core; \
             keepalived counts its parent plus its VRRP child. RSS = `VmRSS` (sum of both for keepalived). \
             VIPs = VRRP VIPs the host held at the end (all on the Master, none on the Backup is the stable state). \
             The two implementations ran at the same time on two LANs.\n",
            args.cpu_secs
        );
        let _ = writeln!(md, "| load | implementation | Master CPU (%) | Backup CPU (%) | Master RSS (MiB) | Backup RSS (MiB) | VIPs Master / Backup |");
        let _ = writeln!(md, "|---|---|---|---|---|---|---|");
        for c in &cpus {
            for imp in [Imp::Real, Imp::Keepalived] {
                let get = |role: &str| c.cells.iter().find(|x| x.0 == imp && x.1 == role);
                let (Some(m), Some(b)) = (get("Master"), get("Backup")) else {
                    continue;
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} / {} |",
                    c.label,
                    imp.name(),
                    m.2,
                    b.2,
                    m.3,
                    b.3,
                    m.4,
                    b.4
                );
            }
            let get = |imp: Imp, role: &str| {
                c.cells
                    .iter()
                    .find(|x| x.0 == imp && x.1 == role)
                    .map(|x| x.2)
            };
            if let (Some(rm), Some(km), Some(rb), Some(kb)) = (
                get(Imp::Real, "Master"),
                get(Imp::Keepalived, "Master"),
                get(Imp::Real, "Backup"),
                get(Imp::Keepalived, "Backup"),
            ) {
                let _ = writeln!(
                    md,
                    "| {} | ratio vrrpd-real / keepalived | {:.2} | {:.2} | | | |",
                    c.label,
                    rm / km,
                    rb / kb
                );
            }
        }
        md.push('\n');
    }
    let _ = writeln!(md, "{end}");
    print!("{md}");
    if let Some(out) = &args.out {
        vrrp_lab::bench::merge_section(out, &begin, &end, &md).expect("write output");
        eprintln!("wrote {}", out.display());
    }
}

//! `sim lab FILE --daemon keepalived`: the experiment on the namespace LAN with keepalived
//! 2.2.7 as every node's daemon, so `sim compare` holds the simulator against the reference
//! implementation.
//!
//! The LAN, the configs (check scripts replaced by generated ones, notify commands removed)
//! and the network faults are those of the vrrpd-real lab ([`super`]). What differs:
//!
//! | action | how |
//! |---|---|
//! | start | `keepalived -n -l -D --no-syslog -P -f NODE.conf -p .. -r ..` spawned at the planned instant (no `--start-at`): its start is the instant of its first notify-FIFO line |
//! | `stop` | SIGTERM to the parent and to the VRRP child, as `pkill keepalived` (priority-0 advert, VIPs removed, `STOP` on the FIFO) |
//! | `kill` | SIGKILL to the VRRP child (pid file `-r`), then to the parent: killing only the parent would have the child shut down gracefully (its `PR_SET_PDEATHSIG` is SIGTERM) |
//! | `restart` | SIGTERM if running, then a new keepalived |
//! | `reload` | the file rewritten 200 ms ahead, SIGHUP at the instant |
//! | `priority` | refused: keepalived has no command that sets an instance's priority |
//!
//! keepalived writes no trace: [`super::derive`] builds one per node from its notify FIFO
//! (`vrrp_notify_fifo`, added to each config), a capture of its interface and `ip monitor
//! address` in its namespace; [`derive::NOTE`] says how each field is obtained.

use super::capture::{self, Capture, RealtimeOffset};
use super::derive::{self, AddrChange, NodeView, Notify, Observed};
use super::timing::{Measured, Timing};
use super::{fault_name, fault_nodes, since, Assessment, Done, Incarnation, LabRun, Runner};
use crate::experiment::model::{CheckBehaviour, Fault, Variant};
use crate::experiment::Experiment;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use vrrp_engine::io::FaultCause;
use vrrp_lab::clock;

/// The keepalived binary `--daemon keepalived` runs when it is on no other path.
pub const DEFAULT_BINARY: &str = "/usr/sbin/keepalived";

/// Adds to `a` what the lab cannot do with keepalived as the daemon.
pub fn assess(v: &Variant, a: &mut Assessment) {
    for (i, f) in v.timeline.iter().enumerate() {
        if matches!(f.fault, Fault::Priority { .. }) {
            a.unsupported.push((
                i,
                format!(
                    "priority at {:?}: keepalived has no command or signal that sets an \
                     instance's priority (vrrpd-real's --control socket has one)",
                    f.at
                ),
            ));
        }
    }
    for p in &v.nodes {
        if p.config.instances.iter().any(|i| i.use_vmac.is_some()) {
            a.fatal.push(format!(
                "node {}: use_vmac: the lab tells a node's own announcements from its peers' by \
                 the interface's MAC, which a VMAC shares; not supported with keepalived",
                p.name
            ));
        }
    }
    a.warnings.push(
        "keepalived writes no trace: each node's trace is derived from its notify FIFO, a \
         capture of its interface and `ip monitor address` (see derived-traces.txt)"
            .into(),
    );
}

/// Why the lab runs keepalived with `vrrp_rt_priority 50` and `vrrp_no_swap` (unless
/// `--wake-early 0` / `--no-lock-memory`), as it runs vrrpd-real with `--wake-early` and
/// `--lock-memory`: keepalived restarts its Adver_Timer from the instant its thread ran, so
/// every late wake-up lengthens that advert interval. Measured here on a loaded 2-vCPU VM
/// (load average 10), without them: a Master's adverts 1.0040 s apart instead of 1.0000 s, a
/// Backup's takeover 9.4 ms later than the simulation's after four intervals.
pub const TIMELY: &str = "vrrp_rt_priority 50, vrrp_no_swap";

/// A thread that reads lines from a source and stamps each with the lab clock.
struct Reader<T> {
    lines: Arc<Mutex<Vec<T>>>,
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Reader<T> {
    /// Reads `source` on a thread; each line's time is `CLOCK_MONOTONIC` seconds when read.
    fn new(
        source: impl std::io::Read + Send + 'static,
        parse: fn(f64, &str) -> Option<T>,
    ) -> Reader<T> {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let thread = std::thread::spawn(move || {
            // Stamped when read: under load a normal thread wakes milliseconds late (3 ms
            // measured at load average 8), so it reads with a real-time priority, below
            // keepalived's (`TIMELY`). Without one (not permitted), it reads as it can.
            let param = libc::sched_param { sched_priority: 40 };
            // SAFETY: sched_setscheduler(2) on the calling thread (pid 0) with a valid param.
            unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
            let mut r = BufReader::new(source);
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                let t = clock::monotonic().as_secs_f64();
                if line.trim() == END {
                    return;
                }
                if let (Some(x), Ok(mut v)) = (parse(t, &line), sink.lock()) {
                    v.push(x);
                }
                line.clear();
            }
        });
        Reader {
            lines,
            thread: Some(thread),
        }
    }

    fn len(&self) -> usize {
        self.lines.lock().map_or(0, |v| v.len())
    }

    fn take(&mut self) -> Vec<T> {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.lines
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// What `keepalived -t` says of scripts run without `enable_script_security`.
const SCRIPT_SECURITY: &str =
    "SECURITY VIOLATION - scripts are being executed but script_security not enabled.";

/// Written to a FIFO by the lab itself: its reader stops.
const END: &str = "END-OF-LAB";

/// One node's observers: its notify FIFO, `ip monitor address`, the capture.
struct Watch {
    fifo_path: PathBuf,
    /// The FIFO held open for writing (its reader sees no end of file between daemons).
    fifo_hold: std::fs::File,
    fifo: Reader<Notify>,
    monitor: Child,
    addrs: Reader<AddrChange>,
    capture: Capture,
    mac: [u8; 6],
}

/// A keepalived spawned, its start not yet seen.
struct Pending {
    node: usize,
    /// Its incarnation.
    k: usize,
    /// Its node's FIFO lines before it.
    before: usize,
    /// When it was spawned (lab clock).
    spawned: f64,
    planned: Duration,
}

struct Ka<'a, 'r> {
    r: &'r mut Runner<'a>,
    bin: PathBuf,
    watch: Vec<Watch>,
    spawns: Vec<Vec<f64>>,
    offset: RealtimeOffset,
}

/// Runs one variant with keepalived on the LAN `r` set up (see the module documentation).
pub(super) fn run(
    mut r: Runner<'_>,
    bin: &Path,
    exp: &Experiment,
    say: &mut dyn FnMut(&str),
) -> Result<LabRun, String> {
    let n = r.v.nodes.len();
    let mut k = Ka {
        r: &mut r,
        bin: bin.to_path_buf(),
        watch: Vec::new(),
        spawns: vec![Vec::new(); n],
        offset: RealtimeOffset::sample(),
    };
    let result = k.setup().and_then(|()| k.main(exp, say));
    for node in 0..n {
        k.r.stop(node, libc::SIGTERM);
    }
    k.r.nft = None;
    let observed = k.finish();
    result?;
    k.r.run
        .timings
        .sort_by(|a, b| a.planned.total_cmp(&b.planned));
    k.collect(exp.duration, observed);
    Ok(std::mem::take(&mut r.run))
}

impl Ka<'_, '_> {
    fn setup(&mut self) -> Result<(), String> {
        self.r.write_configs()?;
        for node in 0..self.r.v.nodes.len() {
            self.add_globals(node)?;
            self.check_config(node)?;
        }
        self.r.nft_init()?;
        // The same fault paths as for vrrpd-real: one `nft -i` for the run, link sockets.
        self.r.open_helpers()?;
        for node in 0..self.r.v.nodes.len() {
            let w = self.watch_node(node)?;
            self.watch.push(w);
        }
        // The lab clock's zero: the first start comes 300 ms after the observers are up.
        let first = self
            .r
            .v
            .nodes
            .iter()
            .map(|p| p.start)
            .min()
            .unwrap_or_default();
        self.r.zero = (clock::monotonic() + Duration::from_millis(300)).saturating_sub(first);
        Ok(())
    }

    fn name(&self, node: usize) -> String {
        self.r.v.nodes[node].name.clone()
    }

    fn fifo_path(&self, node: usize) -> PathBuf {
        self.r.work(&format!("{}.fifo", self.name(node)))
    }

    /// Adds to node `node`'s written config its `vrrp_notify_fifo` and, unless the lab runs
    /// the daemons as deployed, `vrrp_rt_priority` and `vrrp_no_swap` ([`TIMELY`]).
    fn add_globals(&self, node: usize) -> Result<(), String> {
        let path = self.r.work(&format!("{}.conf", self.name(node)));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut line = format!(
            "global_defs {{\n    vrrp_notify_fifo {}\n",
            self.fifo_path(node).display()
        );
        if !self.r.opts.wake_early.is_zero() {
            line.push_str("    vrrp_rt_priority 50\n");
        }
        if self.r.opts.lock_memory {
            line.push_str("    vrrp_no_swap\n");
        }
        let text = if text.contains("global_defs {\n") {
            text.replacen("global_defs {\n", &line, 1)
        } else {
            format!("{line}}}\n{text}")
        };
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `keepalived -t`: the printed config must be one keepalived 2.2.7 accepts.
    fn check_config(&self, node: usize) -> Result<(), String> {
        let conf = self.r.work(&format!("{}.conf", self.name(node)));
        let out = self
            .r
            .lab
            .command(node, &self.bin.display().to_string())
            .args(["-t", "-l", "--no-syslog", "-P", "-f"])
            .arg(&conf)
            .output()
            .map_err(|e| format!("{}: {e}", self.bin.display()))?;
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The generated check scripts run as root without enable_script_security (their
        // folder may be under /tmp, which that setting refuses): keepalived warns, and runs
        // them, as vrrpd-real does.
        let rest = said.replace(SCRIPT_SECURITY, "");
        if out.status.success() || rest.trim().is_empty() {
            return Ok(());
        }
        Err(format!(
            "keepalived -t refuses the config of {} ({}):\n{said}",
            self.name(node),
            conf.display(),
        ))
    }

    fn watch_node(&self, node: usize) -> Result<Watch, String> {
        let fifo_path = self.fifo_path(node);
        let _ = std::fs::remove_file(&fifo_path);
        let c =
            std::ffi::CString::new(fifo_path.display().to_string()).map_err(|e| e.to_string())?;
        // SAFETY: mkfifo(3) with a NUL-terminated path we own.
        if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
            return Err(format!(
                "mkfifo {}: {}",
                fifo_path.display(),
                std::io::Error::last_os_error()
            ));
        }
        // Read and write: the open does not wait for a writer, and the reader sees no end of
        // file when a daemon exits.
        let rw = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo_path)
            .map_err(|e| format!("{}: {e}", fifo_path.display()))?;
        let fifo_hold = rw.try_clone().map_err(|e| e.to_string())?;
        let fifo = Reader::new(rw, derive::parse_notify);
        let ns = &self.r.lab.hosts[node].ns;
        let mut monitor = Command::new("ip")
            .args(["-o", "-n", ns, "monitor", "address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("ip monitor: {e}"))?;
        let out = monitor.stdout.take().ok_or("ip monitor: no stdout")?;
        let addrs = Reader::new(out, derive::parse_monitor);
        let ifname = self.r.ifname[node].clone();
        let file = self.r.work(&format!("{}.pcap", self.name(node)));
        let capture = Capture::start(&self.r.lab, node, &ifname, &file)?;
        let mac = self.mac(node)?;
        Ok(Watch {
            fifo_path,
            fifo_hold,
            fifo,
            monitor,
            addrs,
            capture,
            mac,
        })
    }

    /// Node `node`'s interface MAC (`ip -j link`).
    fn mac(&self, node: usize) -> Result<[u8; 6], String> {
        let ns = &self.r.lab.hosts[node].ns;
        let out = vrrp_lab::sh(
            "ip",
            &["-j", "-n", ns, "link", "show", &self.r.ifname[node]],
        )?;
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("ip -j link: {e}"))?;
        let text = v[0]["address"].as_str().unwrap_or_default();
        let bytes: Vec<u8> = text
            .split(':')
            .filter_map(|b| u8::from_str_radix(b, 16).ok())
            .collect();
        bytes
            .try_into()
            .map_err(|_| format!("no MAC address for host {node}: {text:?}"))
    }

    /// Spawns keepalived on node `node` now; returns what [`Ka::await_start`] needs.
    fn spawn(&mut self, node: usize, planned: Duration) -> Result<Pending, String> {
        let name = self.name(node);
        let k = self.r.run.incarnations.len();
        let work = self.r.opts.work.clone();
        let file = move |s: &str| work.join(format!("{name}.{k}.{s}"));
        let log = std::fs::File::create(file("log")).map_err(|e| e.to_string())?;
        let mut cmd = self.r.lab.command(node, &self.bin.display().to_string());
        cmd.arg("-f")
            .arg(self.r.work(&format!("{}.conf", self.name(node))))
            .args(["-n", "-l", "-D", "--no-syslog", "-P", "-p"])
            .arg(file("pid"))
            .arg("-r")
            .arg(file("vrrp.pid"))
            .arg("-c")
            .arg(file("chk.pid"))
            .stdout(Stdio::null())
            .stderr(log);
        let before = self.watch[node].fifo.len();
        let spawned = since(self.r.zero);
        let pid = self.r.lab.spawn(cmd)?;
        self.spawns[node].push(spawned);
        self.r.running[node] = Some((pid, k));
        self.r.run.incarnations.push(Incarnation {
            node,
            raw: file("log"),
            planned,
            gone: None,
            restart: None,
        });
        Ok(Pending {
            node,
            k,
            before,
            spawned,
            planned,
        })
    }

    /// Waits for a spawned keepalived's first FIFO line: its start.
    fn await_start(&mut self, p: Pending) -> Result<(), String> {
        let Pending {
            node,
            k,
            before,
            spawned,
            planned,
        } = p;
        let work = self.r.opts.work.clone();
        let name = self.name(node);
        let file = move |s: &str| work.join(format!("{name}.{k}.{s}"));
        let end = clock::monotonic() + Duration::from_secs(10);
        while self.watch[node].fifo.len() == before {
            if clock::monotonic() > end {
                return Err(format!(
                    "keepalived of {} wrote nothing to its notify FIFO within 10 s; its log:\n{}",
                    self.name(node),
                    std::fs::read_to_string(file("log")).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let started = self.watch[node]
            .fifo
            .lines
            .lock()
            .ok()
            .and_then(|v| v.get(before).map(|l| l.t - self.r.zero.as_secs_f64()))
            .unwrap_or(spawned);
        self.r.run.incarnations[k].planned = Duration::from_secs_f64(started.max(0.0));
        self.r.run.timings.push(Timing {
            index: self.r.run.incarnations[k].restart,
            kind: "start".into(),
            nodes: self.name(node),
            planned: planned.as_secs_f64(),
            actual: Some(started),
            how: Measured::NotifyFifo,
        });
        let _ = writeln!(
            self.r.run.log,
            "{:>10.6} s  keepalived of {} spawned (planned {:.3} s); its first notify-FIFO \
             line (its start) {:.3} ms after the planned instant",
            spawned,
            self.name(node),
            planned.as_secs_f64(),
            (started - planned.as_secs_f64()) * 1e3
        );
        Ok(())
    }

    /// The pid of node `node`'s running VRRP child (keepalived's `-r` pid file).
    fn vrrp_child(&self, node: usize) -> Option<i32> {
        let (_, k) = self.r.running[node]?;
        let pidfile = self.r.work(&format!("{}.{k}.vrrp.pid", self.name(node)));
        std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
    }

    /// SIGKILL to node `node`'s VRRP child, then to keepalived's parent process.
    fn kill(&mut self, node: usize) {
        if let Some(pid) = self.vrrp_child(node) {
            // SAFETY: kill(2) on the VRRP child keepalived wrote in its pid file.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        self.r.stop(node, libc::SIGKILL);
    }

    /// SIGTERM as `pkill keepalived` sends it: to the parent, then to the VRRP child
    /// directly (relayed by the parent alone, it reaches the child 2-4 ms later here); waits
    /// for keepalived to exit.
    fn terminate(&mut self, node: usize) {
        let child = self.vrrp_child(node);
        if let Some((pid, _)) = self.r.running[node] {
            // SAFETY: kill(2) on keepalived's parent, which the lab spawned.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        if let Some(pid) = child {
            // SAFETY: kill(2) on the VRRP child keepalived wrote in its pid file.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        self.r.stop(node, libc::SIGTERM);
    }

    fn main(&mut self, exp: &Experiment, say: &mut dyn FnMut(&str)) -> Result<(), String> {
        let v = self.r.v;
        say(
            "lab: keepalived is spawned at each planned start (it has no --start-at); each \
             start is measured as its first notify-FIFO line",
        );
        enum Act {
            Start(usize),
            Fault(usize),
        }
        let mut plan: Vec<(Duration, Act)> = v
            .nodes
            .iter()
            .enumerate()
            .map(|(n, p)| (p.start, Act::Start(n)))
            .chain(
                v.timeline
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !self.r.opts.skip.contains(i))
                    .map(|(i, f)| (f.at, Act::Fault(i))),
            )
            .filter(|(at, _)| *at <= exp.duration)
            .collect();
        plan.sort_by_key(|(at, _)| *at);
        let names: Vec<String> = v.nodes.iter().map(|p| p.name.clone()).collect();
        let zero = self.r.zero;
        let mut pending: Option<(Duration, Vec<Pending>)> = None;
        for (at, act) in plan {
            if let Act::Fault(i) = act {
                if let Fault::Reload { node, config } = &v.timeline[i].fault {
                    clock::sleep_until(zero + at.saturating_sub(Duration::from_millis(200)));
                    self.r.configs[*node] = (**config).clone();
                    self.r.write_config(*node)?;
                    self.add_globals(*node)?;
                }
            }
            if pending.as_ref().is_some_and(|(t, _)| *t != at) {
                for p in pending.take().map(|(_, p)| p).unwrap_or_default() {
                    self.await_start(p)?;
                }
            }
            clock::sleep_until(zero + at);
            match act {
                // Starts at one instant are all spawned before any is waited for.
                Act::Start(n) => {
                    let p = self.spawn(n, at)?;
                    pending.get_or_insert((at, Vec::new())).1.push(p);
                }
                Act::Fault(i) => {
                    let f = &v.timeline[i].fault;
                    let t0 = since(zero);
                    let _ = writeln!(
                        self.r.run.log,
                        "{:>10.6} s  {} (planned {:.3} s)",
                        t0,
                        f.describe(&names),
                        at.as_secs_f64()
                    );
                    let (done_at, how) = match f {
                        Fault::Kill(n) => {
                            self.kill(*n);
                            (t0, Measured::Sigkill)
                        }
                        Fault::Stop(n) => {
                            self.terminate(*n);
                            (t0, Measured::Sigterm)
                        }
                        Fault::Restart(n) => {
                            self.terminate(*n);
                            let p = self.spawn(*n, at)?;
                            self.r.run.incarnations[p.k].restart = Some(i);
                            self.await_start(p)?;
                            (t0, Measured::Sigterm)
                        }
                        Fault::Priority { .. } => {
                            return Err("priority: not possible with keepalived".into())
                        }
                        _ => {
                            let (t, how, _) = self.r.fault(i, at, t0)?;
                            (t, how)
                        }
                    };
                    self.r.run.done.push(Done {
                        index: i,
                        planned: at.as_secs_f64(),
                        at: done_at,
                        how,
                        by: None,
                    });
                    let nodes: Vec<String> = fault_nodes(f).iter().map(|&n| self.name(n)).collect();
                    self.r.run.timings.push(Timing {
                        index: Some(i),
                        kind: fault_name(f).into(),
                        nodes: nodes.join(" "),
                        planned: at.as_secs_f64(),
                        actual: (how != Measured::Unknown).then_some(done_at),
                        how,
                    });
                }
            }
        }
        for p in pending.take().map(|(_, p)| p).unwrap_or_default() {
            self.await_start(p)?;
        }
        clock::sleep_until(zero + exp.duration);
        Ok(())
    }

    /// Stops the observers and returns what each saw.
    fn finish(&mut self) -> Vec<Observed> {
        let mut out = Vec::new();
        for w in &mut self.watch {
            w.capture.stop(&self.r.lab);
            let _ = w.monitor.kill();
            let _ = w.monitor.wait();
            let _ = writeln!(w.fifo_hold, "{END}");
            let zero = self.r.zero.as_secs_f64();
            let notify = w
                .fifo
                .take()
                .into_iter()
                .map(|n| Notify { t: n.t - zero, ..n })
                .collect();
            let addrs = w
                .addrs
                .take()
                .into_iter()
                .map(|a| AddrChange { t: a.t - zero, ..a })
                .collect();
            let _ = std::fs::remove_file(&w.fifo_path);
            let packets = match capture::read_pcap(&w.capture.file) {
                Ok(frames) => frames
                    .iter()
                    .filter_map(|f| {
                        let t = self.offset.monotonic(f.t) - self.r.zero.as_secs_f64();
                        capture::classify(&f.data).map(|p| (t, p))
                    })
                    .collect(),
                Err(e) => {
                    let _ = writeln!(self.r.run.log, "capture unreadable: {e}");
                    Vec::new()
                }
            };
            out.push(Observed {
                notify,
                addrs,
                packets,
                ..Default::default()
            });
        }
        out
    }

    /// Derives each node's trace, moves each start onto its first FIFO line, cuts at
    /// `duration`.
    fn collect(&mut self, duration: Duration, observed: Vec<Observed>) {
        let v = self.r.v;
        let end = duration.as_secs_f64();
        let mut traces = Vec::new();
        let mut refined = Vec::new();
        for (node, mut obs) in observed.into_iter().enumerate() {
            obs.spawns = self.spawns[node].clone();
            obs.faults = self.fault_causes(node);
            let mut configs = vec![&v.nodes[node].config];
            for f in &v.timeline {
                if let Fault::Reload { node: n, config } = &f.fault {
                    if *n == node {
                        configs.push(config);
                    }
                }
            }
            let view = NodeView {
                configs,
                mac: self.watch[node].mac,
            };
            let d = derive::derive(&v.nodes[node].name, &view, &obs);
            // Each start is its first state line (a takeover's is its first advert).
            let ks: Vec<usize> = (0..self.r.run.incarnations.len())
                .filter(|k| self.r.run.incarnations[*k].node == node)
                .collect();
            for (k, s) in ks.into_iter().zip(&d.starts) {
                if let Some(s) = s {
                    self.r.run.incarnations[k].planned = Duration::from_secs_f64(s.max(0.0));
                }
            }
            refined.extend(d.refined.iter().copied());
            let _ = writeln!(
                self.r.run.log,
                "derived trace of {}: {} FIFO lines, {} packets, {} address changes",
                v.nodes[node].name,
                obs.notify.len(),
                obs.packets.len(),
                obs.addrs.len()
            );
            traces.push(d.lines.into_iter().filter(|l| l.t <= end).collect());
        }
        if !refined.is_empty() {
            let ms: Vec<f64> = refined.iter().map(|x| x * 1e3).collect();
            let _ = writeln!(
                self.r.run.log,
                "transitions timed by a packet: {} (packet - FIFO read: {:.3} .. {:.3} ms)",
                ms.len(),
                ms.iter().copied().fold(f64::INFINITY, f64::min),
                ms.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            );
        }
        self.r.run.traces = traces;
    }

    /// Node `node`'s link_down and check_fail faults as carried out, with the FAULT cause
    /// each gives.
    fn fault_causes(&self, node: usize) -> Vec<(f64, FaultCause)> {
        self.r
            .run
            .done
            .iter()
            .filter_map(|d| match &self.r.v.timeline[d.index].fault {
                Fault::LinkDown(n) if *n == node => {
                    Some((d.at, FaultCause::InterfaceDown(self.r.ifname[node].clone())))
                }
                Fault::Check {
                    node: n,
                    script,
                    behaviour: CheckBehaviour::Fail,
                } if *n == node => Some((d.at, FaultCause::Script(script.clone()))),
                _ => None,
            })
            .collect()
    }
}

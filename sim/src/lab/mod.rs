//! `sim lab FILE`: an experiment carried out on a real LAN, in real time.
//!
//! One network namespace per node, joined by a bridge in its own namespace
//! ([`vrrp_lab::Lab`]), each with the node's address on `eth0` (the interface name of
//! its configuration, so configs run unchanged) and one `vrrpd-real` per node started with
//! `--trace` and `--status`. The fault timeline is carried out for real:
//!
//! | action | how |
//! |---|---|
//! | `stop` / `kill` | SIGTERM / SIGKILL to the node's daemon |
//! | `restart` | SIGTERM if running, then a new daemon |
//! | `partition`, `one_way_partition`, `heal`, `loss` | nftables rules on the bridge's ports (bridge namespace), one transaction on an `nft -i` kept running ([`shell`]) |
//! | `link_down` / `link_up` | `SIOCSIFFLAGS` on a socket opened in the node's namespace |
//! | `check_fail` / `check_pass` | a file the node's generated check script reads |
//! | `priority` | `priority INSTANCE N` on the daemon's `--control` socket |
//! | `reload` | the node's file rewritten, then SIGHUP |
//!
//! What a real LAN here cannot do is listed by [`assess`] before anything starts: added
//! latency (no netem in this kernel), `latency` faults, Gilbert-Elliott bursts and
//! `check_flap`. Such faults are refused, or skipped with a warning when asked.
//!
//! The lab's clock is `CLOCK_MONOTONIC` ([`vrrp_lab::clock`]) with its zero chosen before
//! anything starts; every daemon is started with `--start-at` its planned instant on that
//! clock (it sets up first, then waits), so each daemon's clock is the lab's, exactly, and
//! faults are carried out at their planned instants (the actual instant of each is measured:
//! [`timing`], `lab_faults.csv`). Node starts and faults are shifted by the seed's jitter as
//! the simulator shifts them. The lab and its daemons run under `SCHED_FIFO` ([`realtime`]). Each
//! daemon's trace is moved onto the lab's clock and fed through the [`Observer`] ([`replay`]), so
//! `runs.csv`, `events.csv` and the plots mean what they mean for `sim run`. The client's ARP
//! cache is modelled from the daemons' `announce` lines (no client namespace).
//!
//! With keepalived as every node's daemon instead (`sim lab --daemon keepalived`), see
//! [`keepalived_runner`].
//!
//! [`Observer`]: crate::observe::observer::Observer

pub mod as_run;
pub mod capture;
pub mod derive;
pub mod keepalived_runner;
pub mod realtime;
pub mod replay;
pub mod shell;
pub mod timing;

use crate::backend::net::Net;
use crate::backend::node_interfaces;
use crate::experiment::model::{self, CheckBehaviour, Fault, Variant};
use crate::experiment::Experiment;
use crate::observe::trace::{self, TraceEvent, TraceLine};
use shell::{LinkSwitch, Nft};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use timing::{Measured, Timing};
use vrrp_engine::keepalived;
use vrrp_lab::{clock, HostSpec, Lab};

/// What the lab cannot carry out for one variant.
#[derive(Clone, Debug, Default)]
pub struct Assessment {
    /// Unsupported timeline entries: (index in the variant's timeline, why).
    pub unsupported: Vec<(usize, String)>,
    /// Problems that prevent the run whatever the options.
    pub fatal: Vec<String>,
    /// Differences the run accepts, said out loud.
    pub warnings: Vec<String>,
}

/// Lists what a real LAN here cannot do for `variant`.
pub fn assess(exp: &Experiment, v: &Variant) -> Assessment {
    let mut a = Assessment::default();
    let net = &v.network;
    let lat = |l: &crate::experiment::schema::LatencySpec| format!("{l:?}");
    a.warnings.push(format!(
        "network latency {} is not reproduced: this kernel has no netem; the real LAN's latency \
         (veth + bridge, typically 20-100 us) applies",
        lat(&net.default.latency)
    ));
    for ((f, t), l) in &net.links {
        if l.latency != net.default.latency {
            a.warnings.push(format!(
                "link {} -> {}: latency {} not reproduced (no netem)",
                v.nodes[*f].name,
                v.nodes[*t].name,
                lat(&l.latency)
            ));
        }
    }
    if net.default.burst.is_some() || net.links.values().any(|l| l.burst.is_some()) {
        a.fatal.push(
            "burst loss (Gilbert-Elliott) cannot be reproduced with nftables here; remove \
             [network] burst"
                .into(),
        );
    }
    if exp.clients > 0 {
        a.warnings.push(
            "clients are modelled from the daemons' `announce` lines (gratuitous ARP / NA \
             reaches every client at once, without loss); there is no client namespace"
                .into(),
        );
    }
    for (i, f) in v.timeline.iter().enumerate() {
        let why = match &f.fault {
            Fault::Latency(_) => Some("latency: no netem in this kernel".to_string()),
            Fault::Burst(_) => Some(
                "burst: Gilbert-Elliott loss cannot be reproduced with nftables here".to_string(),
            ),
            Fault::RealServer { .. } => {
                Some("real_server: the lab has no real servers (LVS is not replayed)".to_string())
            }
            Fault::Process { .. } => Some(
                "process_stop / process_start: the lab starts and stops no processes (vrrpd-real \
                 counts this host's processes by name, the namespaces share them)"
                    .to_string(),
            ),
            Fault::Check {
                behaviour: CheckBehaviour::Flap { .. },
                ..
            } => {
                Some("check_flap: not carried out by the lab (use check_fail / check_pass)".into())
            }
            _ => None,
        };
        if let Some(w) = why {
            a.unsupported
                .push((i, format!("{} at {:?}: {w}", fault_name(&f.fault), f.at)));
        }
    }
    for p in &v.nodes {
        let ifs = node_interfaces(&p.config);
        if ifs.len() > 1 {
            a.fatal.push(format!(
                "node {}: its config names several interfaces ({}); the lab gives each node one",
                p.name,
                ifs.join(", ")
            ));
        }
        if !p.config.track_files.is_empty() {
            a.warnings.push(format!(
                "node {}: vrrp_track_file paths are used as written, on this host",
                p.name
            ));
        }
        if p.config.global.enable_script_security {
            a.warnings.push(format!(
                "node {}: enable_script_security may refuse the generated check scripts",
                p.name
            ));
        }
    }
    a
}

fn fault_name(f: &Fault) -> &'static str {
    match f {
        Fault::Stop(_) => "stop",
        Fault::Kill(_) => "kill",
        Fault::Restart(_) => "restart",
        Fault::Partition(_) => "partition",
        Fault::OneWay { .. } => "one_way_partition",
        Fault::Heal => "heal",
        Fault::Loss { .. } => "loss",
        Fault::Burst(_) => "burst",
        Fault::Latency(_) => "latency",
        Fault::LinkDown(_) => "link_down",
        Fault::LinkUp(_) => "link_up",
        Fault::Check { .. } => "check",
        Fault::Priority { .. } => "priority",
        Fault::Process { count: 0, .. } => "process_stop",
        Fault::Process { .. } => "process_start",
        Fault::Reload { .. } => "reload",
        Fault::RealServer { .. } => "real_server",
    }
}

/// How to run the lab.
#[derive(Clone, Debug)]
pub struct LabOptions {
    /// The `vrrpd-real` binary.
    pub daemon: PathBuf,
    /// Working folder of this variant (configs, check scripts, logs, raw traces).
    pub work: PathBuf,
    /// Timeline entries not to carry out (unsupported, skipped with a warning).
    pub skip: Vec<usize>,
    /// The daemons' `--wake-early` margin (zero: off).
    pub wake_early: Duration,
    /// Start the daemons with `--lock-memory`.
    pub lock_memory: bool,
    /// Carry out stop, restart, reload and priority with SIGTERM, SIGHUP and immediate
    /// control commands when their instant comes, instead of handing them ahead.
    pub signals: bool,
    /// Run this keepalived binary as every node's daemon instead of `daemon`
    /// ([`keepalived_runner`]).
    pub keepalived: Option<PathBuf>,
    /// Run the lab and its daemons under `SCHED_FIFO` ([`realtime`]).
    pub realtime: bool,
    /// The seed whose start and fault jitter the run uses (the simulator's run of it).
    pub seed: u64,
}

/// One daemon run (a start of a node).
#[derive(Clone, Debug)]
pub struct Incarnation {
    /// The node.
    pub node: usize,
    /// Its raw trace file.
    pub raw: PathBuf,
    /// When the lab meant it to start (lab clock): its clock's origin, since it starts with
    /// `--start-at` that instant.
    pub planned: Duration,
    /// When it exited (SIGTERM/SIGKILL or the end of the run), lab clock; `None`: still ran.
    pub gone: Option<(f64, bool)>,
    /// The timeline entry (a `restart`) that started it; `None`: a start from `[[nodes]]`.
    pub restart: Option<usize>,
}

/// A fault as carried out.
#[derive(Clone, Debug)]
pub struct Done {
    /// Index in the variant's timeline.
    pub index: usize,
    /// When it was planned (seconds).
    pub planned: f64,
    /// When it was carried out (lab clock, seconds): when the lab's own action took effect,
    /// or when it was handed over (to a daemon, by command or signal).
    pub at: f64,
    /// How `at` was measured; [`Measured::Unknown`] when the daemon carried it out, whose
    /// trace says when (`Runner::timings`).
    pub how: Measured,
    /// The daemon incarnation that carried it out, if one did.
    pub by: Option<usize>,
}

/// What a lab run produced.
#[derive(Clone, Debug, Default)]
pub struct LabRun {
    /// Every daemon start.
    pub incarnations: Vec<Incarnation>,
    /// Faults carried out.
    pub done: Vec<Done>,
    /// Per node: the merged trace on the lab clock.
    pub traces: Vec<Vec<TraceLine>>,
    /// Planned and actual instant of every start and fault carried out.
    pub timings: Vec<Timing>,
    /// Human-readable log of the run (actual timing).
    pub log: String,
}

struct Runner<'a> {
    v: &'a Variant,
    lab: Lab,
    opts: &'a LabOptions,
    /// Per node: the running daemon's pid and incarnation index.
    running: Vec<Option<(u32, usize)>>,
    run: LabRun,
    net: Net,
    /// Lab time 0 on `CLOCK_MONOTONIC`.
    zero: Duration,
    /// Timeline entries handed to a daemon ahead as `at` control commands.
    scheduled: std::collections::BTreeSet<usize>,
    ifname: Vec<String>,
    /// Per node: its configuration file as it stands (reloads replace it).
    configs: Vec<vrrp_engine::config::Config>,
    /// Per node: its planned first start (`start` shifted by `start_jitter` for the seed).
    starts: Vec<Duration>,
    /// Per timeline entry: its planned instant (`at` shifted by `jitter` for the seed).
    fault_at: Vec<Duration>,
    /// The bridge's `nft -i`, for partitions, heals and loss.
    nft: Option<Nft>,
    /// Per node: its interface's up/down switch.
    links: Vec<LinkSwitch>,
}

/// How long before its planned instant a daemon is spawned: it sets up (sockets, netlink,
/// the sweep of stale VIPs: 10-20 ms in a debug build, more on a busy machine), then waits
/// for the instant given with `--start-at`.
const SPAWN_LEAD: Duration = Duration::from_millis(500);

/// How long before its instant a fault is handed to the daemon as an `at` control command.
const SCHEDULE_AHEAD: Duration = Duration::from_millis(200);

/// Seconds of the lab clock now.
fn since(zero: Duration) -> f64 {
    let now = clock::monotonic();
    if now >= zero {
        (now - zero).as_secs_f64()
    } else {
        -(zero - now).as_secs_f64()
    }
}

/// Waits until the daemon writes its first trace line (its first event: it is running);
/// returns that line's engine time, which counts from the `--start-at` instant.
fn first_line(path: &Path, timeout: Duration) -> Option<f64> {
    let end = clock::monotonic() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Some(line) = text.lines().next().filter(|_| text.contains('\n')) {
                if let Ok(l) = trace::parse("raw", line) {
                    if let Some(t) = l.first() {
                        return Some(t.t);
                    }
                }
            }
        }
        if clock::monotonic() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs one variant on a real LAN; `duration` is the experiment's.
pub fn run_variant(
    exp: &Experiment,
    v: &Variant,
    opts: &LabOptions,
    say: &mut dyn FnMut(&str),
) -> Result<LabRun, String> {
    std::fs::create_dir_all(&opts.work)
        .map_err(|e| format!("cannot create {}: {e}", opts.work.display()))?;
    let specs: Vec<HostSpec> = v
        .nodes
        .iter()
        .map(|p| {
            let ifs = node_interfaces(&p.config);
            let ifname = ifs.first().cloned().unwrap_or_else(|| "eth0".into());
            HostSpec {
                ip: p.address,
                prefix_len: prefix_for(p),
                ipv6_link_local: Some(p.ipv6_link_local),
                ifname: (ifname != "eth0").then_some(ifname),
            }
        })
        .collect();
    let (starts, fault_at) = model::planned_instants(v, opts.seed);
    let lab = Lab::with_hosts(&specs)?;
    let ifname: Vec<String> = specs
        .iter()
        .map(|s| s.ifname.clone().unwrap_or_else(|| "eth0".into()))
        .collect();
    say(&format!(
        "lab: bridge namespace {}, hosts {}",
        lab.bridge_ns,
        v.nodes
            .iter()
            .zip(&lab.hosts)
            .map(|(p, h)| format!("{}={}({})", p.name, h.ns, h.ip))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let mut r = Runner {
        v,
        lab,
        opts,
        running: vec![None; v.nodes.len()],
        run: LabRun::default(),
        net: Net::new(v.network.clone(), v.nodes.len()),
        zero: Duration::ZERO,
        scheduled: Default::default(),
        ifname,
        configs: v.nodes.iter().map(|p| p.config.clone()).collect(),
        starts,
        fault_at,
        nft: None,
        links: Vec::new(),
    };
    if let Some(bin) = &opts.keepalived {
        return keepalived_runner::run(r, bin, exp, say);
    }
    r.write_configs()?;
    r.nft_init()?;
    if opts.realtime {
        if let Err(e) = realtime::enter() {
            say(&format!(
                "lab: warning: running without real-time scheduling: {e}"
            ));
        }
    }
    // Started after `realtime::enter`: on the lab's core, at its priority.
    let result = r.open_helpers().and_then(|_| r.main(exp, say));
    r.nft = None;
    // Stop whatever still runs, gracefully; the Lab's drop kills anything left.
    for n in 0..v.nodes.len() {
        r.stop(n, libc::SIGTERM);
        // A daemon removes its socket when it stops; a killed one leaves it.
        let _ = std::fs::remove_file(r.control_socket(n));
    }
    realtime::leave();
    result?;
    r.collect(exp.duration)?;
    Ok(r.run)
}

/// The node address's prefix: that of a VIP of the same /24-or-larger network, else 24.
fn prefix_for(p: &crate::experiment::model::NodePlan) -> u8 {
    let addr = u32::from(p.address);
    p.config
        .instances
        .iter()
        .flat_map(|i| i.vips.iter())
        .filter_map(|v| match v.addr {
            IpAddr::V4(a) if v.prefix_len < 32 && v.prefix_len > 0 => {
                let mask = u32::MAX << (32 - v.prefix_len);
                (u32::from(a) & mask == addr & mask).then_some(v.prefix_len)
            }
            _ => None,
        })
        .next()
        .unwrap_or(24)
}

impl Runner<'_> {
    fn work(&self, name: &str) -> PathBuf {
        self.opts.work.join(name)
    }

    fn check_flag(&self, node: usize, script: &str) -> PathBuf {
        self.work(&format!(
            "checks/{}-{}.fail",
            self.v.nodes[node].name,
            crate::report::plots::slug(script)
        ))
    }

    /// Writes each node's config and its check scripts ([`Runner::write_config`]).
    fn write_configs(&mut self) -> Result<(), String> {
        for n in 0..self.v.nodes.len() {
            for s in &self.configs[n].scripts {
                let _ = std::fs::remove_file(self.check_flag(n, &s.name));
            }
            self.write_config(n)?;
        }
        Ok(())
    }

    /// Writes node `n`'s current config (check scripts replaced by generated ones that fail
    /// while a flag file exists, notify commands removed) and its check scripts.
    fn write_config(&self, n: usize) -> Result<(), String> {
        let io = |p: &Path, e: std::io::Error| format!("cannot write {}: {e}", p.display());
        let checks = self.work("checks");
        std::fs::create_dir_all(&checks).map_err(|e| io(&checks, e))?;
        let p = &self.v.nodes[n];
        let mut cfg = self.configs[n].clone();
        for s in &mut cfg.scripts {
            let flag = self.check_flag(n, &s.name);
            let path = checks.join(format!(
                "{}-{}.sh",
                p.name,
                crate::report::plots::slug(&s.name)
            ));
            let body = format!(
                "#!/bin/sh\n# generated by sim lab: replaces {:?}\n# fails while {} exists\n[ ! -e '{}' ]\n",
                s.script,
                flag.display(),
                flag.display()
            );
            std::fs::write(&path, body).map_err(|e| io(&path, e))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| io(&path, e))?;
            s.script = path.display().to_string();
        }
        for i in &mut cfg.instances {
            i.notify = Default::default();
        }
        for g in &mut cfg.sync_groups {
            g.notify = Default::default();
        }
        let path = self.work(&format!("{}.conf", p.name));
        std::fs::write(&path, keepalived::print(&cfg)).map_err(|e| io(&path, e))
    }

    /// Node `n`'s control socket (`vrrpd-real --control`), in the temporary folder: a Unix
    /// socket path must stay under 108 bytes, which the work folder may not.
    fn control_socket(&self, n: usize) -> PathBuf {
        std::env::temp_dir().join(format!("simlab-{}-{n}.ctl", std::process::id()))
    }

    /// `priority INSTANCE N` for `instance`, or for each instance of node `n`'s current
    /// config.
    fn priority_commands(&self, n: usize, instance: Option<&str>, priority: u8) -> Vec<String> {
        let names: Vec<&str> = match instance {
            Some(i) => vec![i],
            None => self.configs[n]
                .instances
                .iter()
                .map(|i| i.name.as_str())
                .collect(),
        };
        names
            .iter()
            .map(|name| format!("priority {name} {priority}"))
            .collect()
    }

    /// Sends one command to node `n`'s daemon's control socket (nothing if it is not running).
    fn control(&self, n: usize, command: &str) -> Result<(), String> {
        if self.running[n].is_none() {
            return Ok(());
        }
        let sock = std::os::unix::net::UnixDatagram::unbound().map_err(|e| e.to_string())?;
        sock.send_to(command.as_bytes(), self.control_socket(n))
            .map_err(|e| format!("control socket of {}: {e}", self.v.nodes[n].name))?;
        Ok(())
    }

    fn nft_init(&self) -> Result<(), String> {
        let path = self.work("nft-init.nft");
        std::fs::write(
            &path,
            "table bridge simlab {\n  chain labfwd {\n    type filter hook forward priority 0; policy accept;\n  }\n}\n",
        )
        .map_err(|e| e.to_string())?;
        self.lab
            .bridge_exec("nft", &["-f", &path.display().to_string()])
            .map(|_| ())?;
        self.nft_apply()
    }

    /// Rewrites the bridge's rules from the network state (cuts and loss).
    fn nft_apply(&self) -> Result<(), String> {
        let path = self.work("nft-rules.nft");
        std::fs::write(&path, self.nft_rules()).map_err(|e| e.to_string())?;
        self.lab
            .bridge_exec("nft", &["-f", &path.display().to_string()])
            .map(|_| ())
    }

    /// The bridge's rules for the network state (cuts and loss), as one `nft` transaction.
    fn nft_rules(&self) -> String {
        let mut s = String::from("flush chain bridge simlab labfwd\n");
        for (a, b) in self.net.blocked() {
            let _ = writeln!(
                s,
                "add rule bridge simlab labfwd iifname \"p{a}\" oifname \"p{b}\" drop"
            );
        }
        let n = self.v.nodes.len();
        for a in 0..n {
            for b in 0..n {
                let loss = self.net.model().link(a, b).loss;
                if a != b && loss > 0.0 {
                    let k = (loss.clamp(0.0, 1.0) * 1_000_000.0).round() as u64;
                    let _ = writeln!(
                        s,
                        "add rule bridge simlab labfwd iifname \"p{a}\" oifname \"p{b}\" numgen random mod 1000000 < {k} drop"
                    );
                }
            }
        }
        s
    }

    /// Starts the helpers of the faults the lab carries out itself ([`shell`]).
    fn open_helpers(&mut self) -> Result<(), String> {
        let errors = self.work("nft-i.err");
        self.nft = Some(Nft::start(&self.lab.bridge_ns, "bridge simlab", &errors)?);
        self.links = (0..self.v.nodes.len())
            .map(|n| LinkSwitch::open(&self.lab.hosts[n].ns, &self.ifname[n]))
            .collect::<Result<_, _>>()?;
        Ok(())
    }

    fn start(&mut self, n: usize, planned: Duration) -> Result<PathBuf, String> {
        let name = &self.v.nodes[n].name;
        let k = self.run.incarnations.len();
        let raw = self.work(&format!("raw/{name}.{k}.jsonl"));
        std::fs::create_dir_all(self.work("raw")).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(self.work(&format!("{name}.{k}.log")))
            .map_err(|e| e.to_string())?;
        let mut cmd = self.lab.command(n, &self.opts.daemon.display().to_string());
        cmd.arg("-f")
            .arg(self.work(&format!("{name}.conf")))
            .args(["-n", "-l", "-D", "--status"])
            .arg(self.work(&format!("{name}.status.json")))
            .arg("--trace")
            .arg(&raw)
            .arg("-p")
            .arg(self.work(&format!("{name}.pid")))
            .arg("--control")
            .arg(self.control_socket(n))
            .arg("--start-at")
            .arg(clock::instant_arg(self.zero + planned));
        if self.opts.lock_memory {
            cmd.arg("--lock-memory");
        }
        if !self.opts.wake_early.is_zero() {
            cmd.arg("--wake-early")
                .arg(humantime::format_duration(self.opts.wake_early).to_string());
        }
        if self.opts.realtime {
            realtime::daemon(&mut cmd);
        }
        cmd.stdout(Stdio::null()).stderr(log);
        let pid = self.lab.spawn(cmd)?;
        self.running[n] = Some((pid, k));
        self.run.incarnations.push(Incarnation {
            node: n,
            raw: raw.clone(),
            planned,
            gone: None,
            restart: None,
        });
        Ok(raw)
    }

    /// Stops node `n`'s daemon with `sig`, or (`sig` 0) waits for it to stop on its own
    /// (a scheduled `stop`).
    fn stop(&mut self, n: usize, sig: i32) {
        if let Some((pid, k)) = self.running[n].take() {
            let at = since(self.zero);
            if sig == 0 {
                self.lab.wait(pid);
            } else {
                self.lab.signal(pid, sig);
            }
            let end = since(self.zero);
            self.run.incarnations[k].gone = Some((
                if sig == libc::SIGKILL { at } else { end },
                sig == libc::SIGKILL,
            ));
        }
    }

    fn daemon_log(&self, k: usize) -> String {
        let name = &self.v.nodes[self.run.incarnations[k].node].name;
        std::fs::read_to_string(self.work(&format!("{name}.{k}.log"))).unwrap_or_default()
    }

    fn main(&mut self, exp: &Experiment, say: &mut dyn FnMut(&str)) -> Result<(), String> {
        let v = self.v;
        // The lab clock: the earliest start is SPAWN_LEAD from now, and every daemon starts
        // at its planned instant on it (`--start-at`).
        let first = self.starts.iter().copied().min().unwrap_or_default();
        self.zero = (clock::monotonic() + SPAWN_LEAD).saturating_sub(first);
        say(&format!(
            "lab: every daemon is spawned up to {} ms early and starts at its planned instant \
             (--start-at)",
            SPAWN_LEAD.as_millis()
        ));
        let mut waits = Vec::new();
        for n in 0..v.nodes.len() {
            if self.starts[n] == first {
                self.start(n, first)?;
                waits.push(self.run.incarnations.len() - 1);
            }
        }
        for k in waits {
            self.check_started(k)?;
        }
        // The rest of the plan, in time order.
        enum Act {
            Start(usize),
            Fault(usize),
        }
        let mut plan: Vec<(Duration, Act)> = self
            .starts
            .iter()
            .enumerate()
            .filter(|(_, s)| **s != first)
            .map(|(n, s)| (*s, Act::Start(n)))
            .chain(
                self.fault_at
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !self.opts.skip.contains(i))
                    .map(|(i, at)| (*at, Act::Fault(i))),
            )
            .filter(|(at, _)| *at <= exp.duration)
            .collect();
        plan.sort_by_key(|(at, _)| *at);
        let names: Vec<String> = v.nodes.iter().map(|p| p.name.clone()).collect();
        let zero = self.zero;
        for (at, act) in plan {
            // A start is spawned early and waits for its instant (so is a restart of a node
            // that is not running); a restart of a running node stops it at the planned
            // instant, so its successor starts a few ms late (its first event says how late).
            // stop, restart, reload and priority are handed to the daemon ahead, to be carried
            // out by its timer at their instant (unless --signals).
            let spawns_early = match act {
                Act::Start(_) => true,
                Act::Fault(i) => {
                    matches!(&v.timeline[i].fault, Fault::Restart(n) if self.running[*n].is_none())
                }
            };
            let lead = if spawns_early {
                SPAWN_LEAD
            } else {
                SCHEDULE_AHEAD
            };
            clock::sleep_until(zero + at.saturating_sub(lead));
            if let Act::Fault(i) = act {
                self.prepare(i, at)?;
                if !spawns_early {
                    clock::sleep_until(zero + at);
                }
            }
            match act {
                Act::Start(n) => {
                    self.start(n, at)?;
                    self.check_started(self.run.incarnations.len() - 1)?;
                }
                Act::Fault(i) => {
                    let f = &v.timeline[i].fault;
                    let t0 = since(self.zero);
                    let how = if self.scheduled.contains(&i) {
                        ", carried out by the daemon's timer"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        self.run.log,
                        "{:>10.6} s  {} (planned {:.3} s{how})",
                        t0,
                        f.describe(&names),
                        at.as_secs_f64()
                    );
                    let (done_at, how, by) = self.fault(i, at, t0)?;
                    self.run.done.push(Done {
                        index: i,
                        planned: at.as_secs_f64(),
                        at: done_at,
                        how,
                        by,
                    });
                }
            }
        }
        clock::sleep_until(zero + exp.duration);
        Ok(())
    }

    /// Waits for incarnation `k`'s first event and logs it: its engine time counts from the
    /// planned instant, so a daemon that could not set up in time shows it here.
    fn check_started(&mut self, k: usize) -> Result<(), String> {
        let inc = &self.run.incarnations[k];
        let name = self.v.nodes[inc.node].name.clone();
        let wait = Duration::from_secs(10) + SPAWN_LEAD;
        let t = first_line(&inc.raw, wait).ok_or_else(|| {
            format!(
                "daemon of {name} wrote no trace line within {} s; its log:\n{}",
                wait.as_secs(),
                self.daemon_log(k)
            )
        })?;
        let _ = writeln!(
            self.run.log,
            "{:>10.6} s  daemon of {name} started (planned {:.3} s, first event {:+.3} ms after)",
            inc.planned.as_secs_f64(),
            inc.planned.as_secs_f64(),
            t * 1e3
        );
        Ok(())
    }

    /// Before fault `i`'s instant `at`: a reload's file is written, and a stop, restart,
    /// reload or priority change is handed to the running daemon as an `at` control command
    /// (engine time = lab time - its start), unless `--signals`.
    fn prepare(&mut self, i: usize, at: Duration) -> Result<(), String> {
        let f = self.v.timeline[i].fault.clone();
        if let Fault::Reload { node, config } = &f {
            self.configs[*node] = (**config).clone();
            self.write_config(*node)?;
        }
        if self.opts.signals {
            return Ok(());
        }
        let (n, commands) = match &f {
            Fault::Stop(n) | Fault::Restart(n) => (*n, vec!["stop".to_string()]),
            Fault::Reload { node, .. } => (*node, vec!["reload".to_string()]),
            Fault::Priority {
                node,
                instance,
                priority,
            } => (
                *node,
                self.priority_commands(*node, instance.as_deref(), *priority),
            ),
            _ => return Ok(()),
        };
        let Some((_, k)) = self.running[n] else {
            return Ok(());
        };
        let t = at.saturating_sub(self.run.incarnations[k].planned);
        for c in commands {
            self.control(n, &format!("at {} {c}", clock::instant_arg(t)))?;
        }
        self.scheduled.insert(i);
        Ok(())
    }

    /// Carries out fault `i` (planned at `at`; the lab reached it at `t0`): returns when it
    /// took effect on the lab clock and how that was measured, and the daemon incarnation
    /// that carries it out, if one does (its trace then says when).
    fn fault(
        &mut self,
        i: usize,
        at: Duration,
        t0: f64,
    ) -> Result<(f64, Measured, Option<usize>), String> {
        let f = self.v.timeline[i].fault.clone();
        let scheduled = self.scheduled.contains(&i);
        let sig = |s| if scheduled { 0 } else { s };
        let incarnation = |r: &Self, n: usize| r.running[n].map(|(_, k)| k);
        let by_daemon = |k: Option<usize>| (t0, Measured::Unknown, k);
        Ok(match &f {
            Fault::Stop(n) => {
                let k = incarnation(self, *n);
                self.stop(*n, sig(libc::SIGTERM));
                by_daemon(k)
            }
            Fault::Kill(n) => {
                let t = since(self.zero);
                self.stop(*n, libc::SIGKILL);
                (t, Measured::Sigkill, None)
            }
            Fault::Restart(n) => {
                let k = incarnation(self, *n);
                self.stop(*n, sig(libc::SIGTERM));
                self.start(*n, at)?;
                let started = self.run.incarnations.len() - 1;
                self.run.incarnations[started].restart = Some(i);
                self.check_started(started)?;
                by_daemon(k)
            }
            Fault::Partition(_) | Fault::OneWay { .. } | Fault::Heal | Fault::Loss { .. } => {
                self.net.apply(&f);
                let rules = self.nft_rules().lines().collect::<Vec<_>>().join("; ");
                let zero = self.zero;
                let nft = self.nft.as_mut().ok_or("no nft -i")?;
                (nft.apply(&rules, "labfwd", zero)?, Measured::NftDone, None)
            }
            Fault::LinkDown(n) | Fault::LinkUp(n) => {
                self.net.apply(&f);
                let up = matches!(f, Fault::LinkUp(_));
                (self.links[*n].set(up, self.zero)?, Measured::LinkSet, None)
            }
            Fault::Check {
                node,
                script,
                behaviour,
            } => {
                let flag = self.check_flag(*node, script);
                match behaviour {
                    CheckBehaviour::Fail => {
                        std::fs::write(&flag, "fail\n").map_err(|e| e.to_string())?
                    }
                    CheckBehaviour::Pass => {
                        let _ = std::fs::remove_file(&flag);
                    }
                    CheckBehaviour::Flap { .. } => {
                        return Err("check_flap is not supported by the lab".into())
                    }
                }
                (since(self.zero), Measured::FlagFile, None)
            }
            Fault::Process { .. } => {
                return Err("process_stop / process_start are not supported by the lab".into())
            }
            Fault::Priority { node, .. } | Fault::Reload { node, .. } if scheduled => {
                by_daemon(incarnation(self, *node))
            }
            Fault::Priority {
                node,
                instance,
                priority,
            } => {
                let k = incarnation(self, *node);
                for c in self.priority_commands(*node, instance.as_deref(), *priority) {
                    self.control(*node, &c)?;
                }
                by_daemon(k)
            }
            Fault::Reload { node, .. } => {
                // The file was written before the planned instant (`prepare`).
                let k = incarnation(self, *node);
                if let Some((pid, _)) = self.running[*node] {
                    self.lab.signal(pid, libc::SIGHUP);
                }
                by_daemon(k)
            }
            Fault::Latency(_) | Fault::Burst(_) | Fault::RealServer { .. } => {
                return Err(format!("{} is not supported by the lab", fault_name(&f)))
            }
        })
    }

    /// Reads the raw traces, reports how well the daemons' clocks agree ([`clock_check`]),
    /// moves the lines onto the lab clock and cuts them at `duration`.
    fn collect(&mut self, duration: Duration) -> Result<(), String> {
        let raws: Vec<Vec<TraceLine>> = self
            .run
            .incarnations
            .iter()
            .map(|inc| trace::read(&inc.raw))
            .collect::<Result<_, _>>()?;
        let names: Vec<String> = self.v.nodes.iter().map(|p| p.name.clone()).collect();
        let report = clock_check(&self.run.incarnations, &raws, &names);
        self.run.log.push_str(&report);
        self.run.timings = self.timings(&raws);
        let mut traces: Vec<Vec<TraceLine>> = vec![Vec::new(); self.v.nodes.len()];
        let end = duration.as_secs_f64();
        for (inc, lines) in self.run.incarnations.iter().zip(raws) {
            for mut l in lines {
                let t = ((inc.planned.as_secs_f64() + l.t) * 1e6).round() / 1e6;
                if t > end {
                    continue;
                }
                l.t = t;
                l.node = self.v.nodes[inc.node].name.clone();
                traces[inc.node].push(l);
            }
        }
        for t in &mut traces {
            t.sort_by(|a, b| a.t.total_cmp(&b.t));
        }
        self.run.traces = traces;
        Ok(())
    }
}

impl Runner<'_> {
    /// Planned and actual instant of every start and fault, from the lab's own measures and
    /// the daemons' raw traces (`raws`, one per incarnation, on each daemon's clock): a start's
    /// first event, a daemon's `control` line for what it carried out.
    fn timings(&self, raws: &[Vec<TraceLine>]) -> Vec<Timing> {
        let names = |nodes: &[usize]| {
            nodes
                .iter()
                .map(|n| self.v.nodes[*n].name.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut rows = Vec::new();
        for (inc, raw) in self.run.incarnations.iter().zip(raws) {
            let planned = inc.planned.as_secs_f64();
            rows.push(Timing {
                index: inc.restart,
                kind: "start".into(),
                nodes: names(&[inc.node]),
                planned,
                actual: raw.first().map(|l| planned + l.t),
                how: if raw.is_empty() {
                    Measured::Unknown
                } else {
                    Measured::FirstEvent
                },
            });
        }
        for d in &self.run.done {
            let f = &self.v.timeline[d.index].fault;
            let (actual, how) = match (d.how, d.by) {
                (Measured::Unknown, Some(k)) => {
                    let origin = self.run.incarnations[k].planned.as_secs_f64();
                    control_line(&raws[k], origin, d)
                }
                // A restart of a node that was not running is its new daemon's start.
                (Measured::Unknown, None) => self
                    .run
                    .incarnations
                    .iter()
                    .zip(raws)
                    .find(|(inc, _)| inc.restart == Some(d.index))
                    .and_then(|(inc, raw)| raw.first().map(|l| inc.planned.as_secs_f64() + l.t))
                    .map_or((None, Measured::Unknown), |t| {
                        (Some(t), Measured::FirstEvent)
                    }),
                (how, _) => (Some(d.at), how),
            };
            rows.push(Timing {
                index: Some(d.index),
                kind: fault_name(f).into(),
                nodes: names(&fault_nodes(f)),
                planned: d.planned,
                actual,
                how,
            });
        }
        rows.sort_by(|a, b| a.planned.total_cmp(&b.planned));
        rows
    }
}

/// When a daemon carried out fault `d` (its clock's zero at `origin` on the lab clock): its
/// `control` line for the scheduled instant, or the first it wrote for a signal or command
/// after the lab sent it.
fn control_line(raw: &[TraceLine], origin: f64, d: &Done) -> (Option<f64>, Measured) {
    let due = d.planned - origin;
    let found = raw.iter().find_map(|l| match &l.event {
        TraceEvent::Control {
            via, due: Some(x), ..
        } if via == "scheduled" && (x - due).abs() < 1e-6 => {
            Some((origin + l.t, Measured::DaemonTimer))
        }
        TraceEvent::Control { via, due: None, .. }
            if via != "scheduled" && origin + l.t >= d.at - 1e-3 =>
        {
            Some((origin + l.t, Measured::DaemonHandled))
        }
        _ => None,
    });
    match found {
        Some((t, how)) => (Some(t), how),
        None => (None, Measured::Unknown),
    }
}

/// The nodes a fault concerns (none: the whole LAN).
fn fault_nodes(f: &Fault) -> Vec<usize> {
    match f {
        Fault::Stop(n)
        | Fault::Kill(n)
        | Fault::Restart(n)
        | Fault::LinkDown(n)
        | Fault::LinkUp(n) => {
            vec![*n]
        }
        Fault::Check { node, .. }
        | Fault::Priority { node, .. }
        | Fault::Reload { node, .. }
        | Fault::Process { node, .. } => vec![*node],
        Fault::Partition(groups) => groups.iter().flatten().copied().collect(),
        Fault::OneWay { from, to } => from.iter().chain(to).copied().collect(),
        Fault::Loss {
            link: Some((a, b)), ..
        } => vec![*a, *b],
        _ => Vec::new(),
    }
}

/// The smallest (receive - send) time on the lab clock of the adverts `rx_inc` received from
/// `tx_inc`, and how many were matched (same bytes and source, nearest send within 0.5 s).
fn min_delay(
    tx: &[TraceLine],
    tx_origin: f64,
    rx: &[TraceLine],
    rx_origin: f64,
) -> Option<(f64, usize)> {
    let sent: Vec<(f64, &[u8], IpAddr)> = tx
        .iter()
        .filter_map(|l| match &l.event {
            TraceEvent::Tx { hex, src, .. } => Some((tx_origin + l.t, hex.as_slice(), *src)),
            _ => None,
        })
        .collect();
    let mut best: Option<(f64, usize)> = None;
    for r in rx {
        let TraceEvent::Rx { hex, src, .. } = &r.event else {
            continue;
        };
        let at = rx_origin + r.t;
        let m = sent
            .iter()
            .filter(|(_, h, s)| h == hex && s == src)
            .map(|(t, _, _)| at - t)
            .filter(|d| d.abs() < 0.5)
            .min_by(|a, b| a.abs().total_cmp(&b.abs()));
        if let Some(d) = m {
            best = Some(match best {
                Some((b, n)) => (b.min(d), n + 1),
                None => (d, 1),
            });
        }
    }
    best
}

/// A check of the shared clock: for each pair of daemons that exchanged adverts both ways,
/// the offset between their clocks that the smallest delays each way imply, NTP-style
/// (`(fwd - bwd) / 2`), and the one-way delay (`(fwd + bwd) / 2`). Every daemon starts at its
/// planned instant on `CLOCK_MONOTONIC`, so the offsets should be within the scheduler's
/// noise of zero; nothing is corrected, the report only shows it.
pub fn clock_check(incs: &[Incarnation], raws: &[Vec<TraceLine>], names: &[String]) -> String {
    let mut report = String::new();
    let name = |k: usize| names.get(incs[k].node).map_or("?", String::as_str);
    for a in 0..incs.len() {
        for b in a + 1..incs.len() {
            let (oa, ob) = (incs[a].planned.as_secs_f64(), incs[b].planned.as_secs_f64());
            let ab = min_delay(&raws[a], oa, &raws[b], ob);
            let ba = min_delay(&raws[b], ob, &raws[a], oa);
            if let (Some((x, n1)), Some((y, n2))) = (ab, ba) {
                let _ = writeln!(
                    report,
                    "clock check: daemons of {} and {}: offset {:+.3} ms, one-way delay {:.3} ms ({} adverts both ways)",
                    name(a),
                    name(b),
                    (x - y) / 2.0 * 1e3,
                    (x + y) / 2.0 * 1e3,
                    n1 + n2
                );
            }
        }
    }
    report
}

/// Writes the merged traces as `dir/<node>.jsonl`.
pub fn write_traces(dir: &Path, v: &Variant, run: &LabRun) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (p, lines) in v.nodes.iter().zip(&run.traces) {
        let mut s = String::new();
        for l in lines {
            let line = serde_json::to_string(l)
                .map_err(|e| format!("cannot write a trace line of {}: {e}", p.name))?;
            s.push_str(&line);
            s.push('\n');
        }
        let path = dir.join(format!("{}.jsonl", p.name));
        std::fs::write(&path, s).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// The variant's faults in words, at their instants for `seed` (jitter drawn as the
/// simulator draws it), with what the lab does about each.
pub fn describe_plan(v: &Variant, skip: &BTreeMap<usize, String>, seed: u64) -> String {
    let names: Vec<String> = v.nodes.iter().map(|p| p.name.clone()).collect();
    let (starts, fault_at) = model::planned_instants(v, seed);
    let mut s = String::new();
    for (p, at) in v.nodes.iter().zip(&starts) {
        if !at.is_zero() {
            let _ = writeln!(s, "  {:>9.6} s  start {}", at.as_secs_f64(), p.name);
        }
    }
    for (i, f) in v.timeline.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:>9.6} s  {}{}",
            fault_at[i].as_secs_f64(),
            f.fault.describe(&names),
            skip.get(&i)
                .map(|w| format!("  [SKIPPED: {w}]"))
                .unwrap_or_default()
        );
    }
    s
}

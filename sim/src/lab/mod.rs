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
//! | `partition`, `one_way_partition`, `heal`, `loss` | nftables rules on the bridge's ports (bridge namespace) |
//! | `link_down` / `link_up` | `ip link set ... down/up` in the node's namespace |
//! | `check_fail` / `check_pass` | a file the node's generated check script reads |
//! | `priority` | `priority INSTANCE N` on the daemon's `--control` socket |
//! | `reload` | the node's file rewritten, then SIGHUP |
//!
//! What a real LAN here cannot do is listed by [`assess`] before anything starts: added
//! latency (no netem in this kernel), `latency` faults, Gilbert-Elliott bursts and
//! `check_flap`. Such faults are refused, or skipped with a warning when asked.
//!
//! Each daemon's trace is moved onto the lab's clock (time 0 = the first daemon's start,
//! measured from its first trace line) and fed through the [`Observer`] ([`replay`]), so
//! `runs.csv`, `events.csv` and the plots mean what they mean for `sim run`. The client's ARP
//! cache is modelled from the daemons' `announce` lines (no client namespace).
//!
//! [`Observer`]: crate::observe::observer::Observer

pub mod replay;

use crate::backend::net::Net;
use crate::backend::node_interfaces;
use crate::experiment::model::{CheckBehaviour, Fault, Variant};
use crate::experiment::Experiment;
use crate::observe::trace::{self, TraceEvent, TraceLine};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant as Wall};
use vrrp_engine::keepalived;
use vrrp_lab::{HostSpec, Lab};

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
            Fault::RealServer { .. } => {
                Some("real_server: the lab has no real servers (LVS is not replayed)".to_string())
            }
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
        Fault::Latency(_) => "latency",
        Fault::LinkDown(_) => "link_down",
        Fault::LinkUp(_) => "link_up",
        Fault::Check { .. } => "check",
        Fault::Priority { .. } => "priority",
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
}

/// One daemon run (a start of a node).
#[derive(Clone, Debug)]
pub struct Incarnation {
    /// The node.
    pub node: usize,
    /// Its raw trace file.
    pub raw: PathBuf,
    /// When the lab meant it to start (lab clock).
    pub planned: Duration,
    /// Its clock's origin on the lab clock (from its first trace line).
    pub origin: f64,
    /// When it exited (SIGTERM/SIGKILL or the end of the run), lab clock; `None`: still ran.
    pub gone: Option<(f64, bool)>,
}

/// A fault as carried out.
#[derive(Clone, Debug)]
pub struct Done {
    /// Index in the variant's timeline.
    pub index: usize,
    /// When it was planned (seconds).
    pub planned: f64,
    /// When it was carried out (lab clock, seconds).
    pub at: f64,
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
    zero: Option<Wall>,
    lead: Duration,
    ifname: Vec<String>,
    /// Per node: its configuration file as it stands (reloads replace it).
    configs: Vec<vrrp_engine::config::Config>,
}

/// Seconds of the lab clock now.
fn since(zero: Option<Wall>) -> f64 {
    zero.map_or(0.0, |z| {
        let now = Wall::now();
        if now >= z {
            (now - z).as_secs_f64()
        } else {
            -(z - now).as_secs_f64()
        }
    })
}

/// Waits until the daemon writes its first trace line; returns the wall instant of its
/// clock's origin (the moment it was seen minus the line's `t`).
fn first_line_origin(path: &Path, timeout: Duration) -> Option<Wall> {
    let end = Wall::now() + timeout;
    loop {
        let seen = Wall::now();
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Some(line) = text.lines().next().filter(|_| text.contains('\n')) {
                if let Ok(l) = trace::parse("raw", line) {
                    if let Some(t) = l.first() {
                        return seen.checked_sub(Duration::from_secs_f64(t.t.max(0.0)));
                    }
                }
            }
        }
        if Wall::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_micros(200));
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
        zero: None,
        lead: Duration::ZERO,
        ifname,
        configs: v.nodes.iter().map(|p| p.config.clone()).collect(),
    };
    r.write_configs()?;
    r.nft_init()?;
    let result = r.main(exp, say);
    // Stop whatever still runs, gracefully; the Lab's drop kills anything left.
    for n in 0..v.nodes.len() {
        r.stop(n, libc::SIGTERM);
        // A daemon removes its socket when it stops; a killed one leaves it.
        let _ = std::fs::remove_file(r.control_socket(n));
    }
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

    /// Sends `priority INSTANCE N` to node `n`'s daemon for `instance`, or for every
    /// instance of its current config.
    fn set_priority(&self, n: usize, instance: Option<&str>, priority: u8) -> Result<(), String> {
        if self.running[n].is_none() {
            return Ok(());
        }
        let sock = std::os::unix::net::UnixDatagram::unbound().map_err(|e| e.to_string())?;
        let names: Vec<&str> = match instance {
            Some(i) => vec![i],
            None => self.configs[n]
                .instances
                .iter()
                .map(|i| i.name.as_str())
                .collect(),
        };
        for name in names {
            sock.send_to(
                format!("priority {name} {priority}").as_bytes(),
                self.control_socket(n),
            )
            .map_err(|e| format!("control socket of {}: {e}", self.v.nodes[n].name))?;
        }
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
        let path = self.work("nft-rules.nft");
        std::fs::write(&path, &s).map_err(|e| e.to_string())?;
        self.lab
            .bridge_exec("nft", &["-f", &path.display().to_string()])
            .map(|_| ())
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
            .stdout(Stdio::null())
            .stderr(log);
        let pid = self.lab.spawn(cmd)?;
        self.running[n] = Some((pid, k));
        self.run.incarnations.push(Incarnation {
            node: n,
            raw: raw.clone(),
            planned,
            origin: f64::NAN,
            gone: None,
        });
        Ok(raw)
    }

    fn stop(&mut self, n: usize, sig: i32) {
        if let Some((pid, k)) = self.running[n].take() {
            let at = since(self.zero);
            self.lab.signal(pid, sig);
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
        // Starts at the earliest start time define the lab clock: time 0 is the earliest
        // measured origin among them.
        let first = v.nodes.iter().map(|p| p.start).min().unwrap_or_default();
        let spawned = Wall::now();
        let mut waits = Vec::new();
        for (n, p) in v.nodes.iter().enumerate() {
            if p.start == first {
                let raw = self.start(n, first)?;
                waits.push((self.run.incarnations.len() - 1, raw));
            }
        }
        let mut origins = Vec::new();
        for (k, raw) in &waits {
            let o = first_line_origin(raw, Duration::from_secs(10)).ok_or_else(|| {
                format!(
                    "daemon of {} wrote no trace line within 10 s; its log:\n{}",
                    v.nodes[self.run.incarnations[*k].node].name,
                    self.daemon_log(*k)
                )
            })?;
            origins.push((*k, o));
        }
        let zero0 = origins.iter().map(|x| x.1).min().unwrap_or(spawned);
        // The lab clock: zero0 is `first` seconds of experiment time.
        let zero = zero0.checked_sub(first).unwrap_or(zero0);
        self.zero = Some(zero);
        let mut leads = Vec::new();
        for (k, o) in &origins {
            self.run.incarnations[*k].origin = (*o - zero).as_secs_f64();
            leads.push(o.saturating_duration_since(spawned));
        }
        leads.sort();
        self.lead = leads.get(leads.len() / 2).copied().unwrap_or_default();
        say(&format!(
            "lab: daemons take {:.1} ms from spawn to their clock's origin (median); later starts \
             are spawned that much early",
            self.lead.as_secs_f64() * 1e3
        ));
        // The rest of the plan, in time order.
        enum Act {
            Start(usize),
            Fault(usize),
        }
        let mut plan: Vec<(Duration, Act)> = v
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.start != first)
            .map(|(n, p)| (p.start, Act::Start(n)))
            .chain(
                v.timeline
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !self.opts.skip.contains(i))
                    .map(|(i, f)| (f.at, Act::Fault(i))),
            )
            .filter(|(at, _)| *at <= exp.duration)
            .collect();
        plan.sort_by_key(|(at, _)| *at);
        let names: Vec<String> = v.nodes.iter().map(|p| p.name.clone()).collect();
        for (at, act) in plan {
            let starts = matches!(act, Act::Start(_))
                || matches!(act, Act::Fault(i) if matches!(v.timeline[i].fault, Fault::Restart(_)));
            // A start is spawned early by the measured spawn delay (a restart's stop too).
            let target = zero + at.saturating_sub(if starts { self.lead } else { Duration::ZERO });
            let now = Wall::now();
            if target > now {
                std::thread::sleep(target - now);
            }
            match act {
                Act::Start(n) => self.start_measured(n, at)?,
                Act::Fault(i) => {
                    let f = &v.timeline[i].fault;
                    let t0 = since(self.zero);
                    let _ = writeln!(
                        self.run.log,
                        "{:>10.6} s  {} (planned {:.3} s)",
                        t0,
                        f.describe(&names),
                        at.as_secs_f64()
                    );
                    self.fault(i, at)?;
                    self.run.done.push(Done {
                        index: i,
                        planned: at.as_secs_f64(),
                        at: t0,
                    });
                }
            }
        }
        let end = zero + exp.duration;
        let now = Wall::now();
        if end > now {
            std::thread::sleep(end - now);
        }
        Ok(())
    }

    fn start_measured(&mut self, n: usize, planned: Duration) -> Result<(), String> {
        let raw = self.start(n, planned)?;
        let k = self.run.incarnations.len() - 1;
        let o = first_line_origin(&raw, Duration::from_secs(10)).ok_or_else(|| {
            format!(
                "daemon of {} wrote no trace line within 10 s; its log:\n{}",
                self.v.nodes[n].name,
                self.daemon_log(k)
            )
        })?;
        let zero = self.zero.unwrap_or(o);
        let origin = if o >= zero {
            (o - zero).as_secs_f64()
        } else {
            -(zero - o).as_secs_f64()
        };
        self.run.incarnations[k].origin = origin;
        let _ = writeln!(
            self.run.log,
            "{:>10.6} s  daemon of {} started (planned {:.3} s, {:+.3} ms)",
            origin,
            self.v.nodes[n].name,
            planned.as_secs_f64(),
            (origin - planned.as_secs_f64()) * 1e3
        );
        Ok(())
    }

    fn fault(&mut self, i: usize, at: Duration) -> Result<(), String> {
        let f = self.v.timeline[i].fault.clone();
        match &f {
            Fault::Stop(n) => self.stop(*n, libc::SIGTERM),
            Fault::Kill(n) => self.stop(*n, libc::SIGKILL),
            Fault::Restart(n) => {
                self.stop(*n, libc::SIGTERM);
                self.start_measured(*n, at)?;
            }
            Fault::Partition(_) | Fault::OneWay { .. } | Fault::Heal | Fault::Loss { .. } => {
                self.net.apply(&f);
                self.nft_apply()?;
            }
            Fault::LinkDown(n) | Fault::LinkUp(n) => {
                self.net.apply(&f);
                let state = if matches!(f, Fault::LinkUp(_)) {
                    "up"
                } else {
                    "down"
                };
                vrrp_lab::ip(&[
                    "-n",
                    &self.lab.hosts[*n].ns,
                    "link",
                    "set",
                    &self.ifname[*n],
                    state,
                ])?;
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
            }
            Fault::Priority {
                node,
                instance,
                priority,
            } => self.set_priority(*node, instance.as_deref(), *priority)?,
            Fault::Reload { node, config } => {
                self.configs[*node] = (**config).clone();
                self.write_config(*node)?;
                if let Some((pid, _)) = self.running[*node] {
                    self.lab.signal(pid, libc::SIGHUP);
                }
            }
            Fault::Latency(_) | Fault::RealServer { .. } => {
                return Err(format!("{} is not supported by the lab", fault_name(&f)))
            }
        }
        Ok(())
    }

    /// Reads the raw traces, synchronises the daemons' clocks from their adverts
    /// ([`sync_clocks`]), moves the lines onto the lab clock and cuts them at `duration`.
    fn collect(&mut self, duration: Duration) -> Result<(), String> {
        let raws: Vec<Vec<TraceLine>> = self
            .run
            .incarnations
            .iter()
            .map(|inc| trace::read(&inc.raw))
            .collect::<Result<_, _>>()?;
        let names: Vec<String> = self.v.nodes.iter().map(|p| p.name.clone()).collect();
        let report = sync_clocks(&mut self.run.incarnations, &raws, &names);
        self.run.log.push_str(&report);
        let mut traces: Vec<Vec<TraceLine>> = vec![Vec::new(); self.v.nodes.len()];
        let end = duration.as_secs_f64();
        for (inc, lines) in self.run.incarnations.iter().zip(raws) {
            for mut l in lines {
                let t = ((inc.origin + l.t) * 1e6).round() / 1e6;
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

/// Each daemon's clock origin is first estimated by polling for its first trace line, which
/// is late by the poller's wake-up delay (1-2 ms on a loaded machine). This corrects the
/// origins from the adverts the daemons exchanged, NTP-style: starting from the reference
/// daemon (the one that defines the lab's time 0), a daemon that exchanged adverts both ways
/// with an already corrected one gets the offset `(fwd - bwd) / 2`; one that only received (or
/// only sent) gets the offset that leaves a one-way delay of half the measured round trip
/// (100 us when no round trip was seen). Returns a report of the corrections.
pub fn sync_clocks(incs: &mut [Incarnation], raws: &[Vec<TraceLine>], names: &[String]) -> String {
    let n = incs.len();
    let mut report = String::new();
    if n == 0 {
        return report;
    }
    let mut fixed = vec![false; n];
    // The reference: the earliest origin (time 0 of the lab clock).
    let reference = (0..n)
        .min_by(|&a, &b| incs[a].origin.total_cmp(&incs[b].origin))
        .unwrap_or(0);
    fixed[reference] = true;
    // One-way delay: half the round trip of pairs that exchanged adverts both ways.
    let mut halves = Vec::new();
    for a in 0..n {
        for b in a + 1..n {
            let ab = min_delay(&raws[a], incs[a].origin, &raws[b], incs[b].origin);
            let ba = min_delay(&raws[b], incs[b].origin, &raws[a], incs[a].origin);
            if let (Some((x, _)), Some((y, _))) = (ab, ba) {
                halves.push((x + y) / 2.0);
            }
        }
    }
    halves.sort_by(f64::total_cmp);
    let d0 = halves
        .get(halves.len() / 2)
        .copied()
        .unwrap_or(100e-6)
        .max(0.0);
    loop {
        // The unfixed daemon with the most adverts exchanged with a fixed one.
        let mut best: Option<(usize, f64, usize, &'static str)> = None;
        for y in (0..n).filter(|&y| !fixed[y]) {
            for x in (0..n).filter(|&x| fixed[x]) {
                let xy = min_delay(&raws[x], incs[x].origin, &raws[y], incs[y].origin);
                let yx = min_delay(&raws[y], incs[y].origin, &raws[x], incs[x].origin);
                let (e, count, how) = match (xy, yx) {
                    (Some((m1, c1)), Some((m2, c2))) => ((m1 - m2) / 2.0, c1 + c2, "both ways"),
                    (Some((m1, c1)), None) => (m1 - d0, c1, "received"),
                    (None, Some((m2, c2))) => (d0 - m2, c2, "sent"),
                    (None, None) => continue,
                };
                if best.is_none_or(|b| count > b.2) {
                    best = Some((y, e, count, how));
                }
            }
        }
        let Some((y, e, count, how)) = best else {
            break;
        };
        incs[y].origin -= e;
        fixed[y] = true;
        let _ = writeln!(
            report,
            "clock sync: daemon of {} started at {:.6} s corrected by {:+.3} ms ({count} adverts {how}, one-way delay {:.3} ms)",
            names.get(incs[y].node).map_or("?", String::as_str),
            incs[y].origin,
            -e * 1e3,
            d0 * 1e3
        );
    }
    for (k, inc) in incs.iter().enumerate() {
        if !fixed[k] {
            let _ = writeln!(
                report,
                "clock sync: daemon of {} started at {:.6} s exchanged no advert with the others: origin as polled",
                names.get(inc.node).map_or("?", String::as_str),
                inc.origin
            );
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

/// The variant's faults in words, with what the lab does about each.
pub fn describe_plan(v: &Variant, skip: &BTreeMap<usize, String>) -> String {
    let names: Vec<String> = v.nodes.iter().map(|p| p.name.clone()).collect();
    let mut s = String::new();
    for (i, f) in v.timeline.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:>9.3} s  {}{}",
            f.at.as_secs_f64(),
            f.fault.describe(&names),
            skip.get(&i)
                .map(|w| format!("  [SKIPPED: {w}]"))
                .unwrap_or_default()
        );
    }
    s
}

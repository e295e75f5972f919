//! The turmoil backend: the same experiment as [`crate::backend::event_queue`], on turmoil 0.7.
//!
//! One turmoil host per node runs the daemon loop of `host.rs`; VRRP messages travel as UDP
//! payloads to 224.0.0.18 (or ff02::12) port 112 through turmoil's multicast. The outer loop
//! here calls `Sim::step()` once per 1 ms tick and, before each tick, does what is due within
//! it: starts, timeline faults (mapped onto turmoil's `crash` / `bounce` / `partition_oneway` /
//! `repair_oneway` / latency setters and the hosts' control channels), client announcements
//! and check edges. The [`Observer`] is the event queue's, shared through
//! `Rc<RefCell<...>>` (`shared.rs`).
//!
//! Time: turmoil's clock moves in 1 ms ticks, but every engine gets the exact time of what it
//! handles, as on the event queue: at tick `T` each host does everything whose exact time is in
//! `[T, T + 1 ms)` in time order (`host.rs`), and each datagram carries its sender's lag behind
//! the tick it left on, so the receiver knows its exact arrival. Fed the same inputs at the same
//! times, the engines do the same things at the same times on both backends, however many
//! elections a run holds; the shared observer sees each host's work at the tick it runs in
//! (the exact time rounded down to the ms), so its clock never goes back.
//!
//! Differences from the event queue, all from turmoil's model:
//! - The observer's times (events, metrics, trace) are the exact times rounded down to the
//!   1 ms tick.
//! - Faults, starts, announcements and check edges are carried out before the tick holding
//!   their time; daemons get the exact time (a stop, a restart, a priority change, a reload,
//!   a link change, a start), turmoil's own actions (a kill, a partition) and the observer's
//!   ground truth (a check edge, an announcement) take effect from the start of that tick.
//! - Latency comes from turmoil: a fixed latency is exact (in whole ms); a `{min, max}` range
//!   follows turmoil's exponential curve (truncated to whole ms), not the event queue's uniform
//!   draw; latency is symmetric per pair of nodes. Datagrams with no latency reach hosts that
//!   run earlier in the tick one tick late.
//! - Loss (independent and Gilbert-Elliott) is decided at send time from the run's seeded RNG
//!   with [`crate::backend::net::Net`], in the event queue's order within a host; turmoil's
//!   `fail_rate` is not used.
//! - A partition drops what is in flight on the cut links (turmoil), where the event queue
//!   delivers frames sent before the cut.

mod host;
mod shared;

use crate::backend::RunSpec;
use crate::experiment::model::{Fault, Variant};
use crate::experiment::schema::LatencySpec;
use crate::experiment::Experiment;
use crate::observe::metrics::{Recording, RunResult};
use crate::observe::observer::Observer;
use shared::{Control, Pending, Shared};
use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use vrrp_engine::{Family, Instant};

/// The tick: never below 1 ms (tokio's timer resolution).
pub const TICK: Duration = Duration::from_millis(1);

/// Wall-clock cost of one host for one tick, release build, used by [`estimate`]:
/// `scripts/bench-turmoil.sh` measured 1.72 us on seed-lab (2 shared cores, loaded).
pub const HOST_TICK_COST: Duration = Duration::from_nanos(2_000);

/// Why an experiment cannot run on turmoil, naming what the event queue models that turmoil
/// cannot; `Ok` if every variant can.
pub fn validate(exp: &Experiment) -> Result<(), String> {
    for v in &exp.variants {
        validate_variant(v).map_err(|e| format!("turmoil backend, variant {}: {e}", v.name))?;
    }
    Ok(())
}

fn run_family(v: &Variant) -> Result<Family, String> {
    let mut families: Vec<Family> = v
        .nodes
        .iter()
        .flat_map(|n| n.config.instances.iter().map(|i| i.family()))
        .collect();
    families.sort_by_key(|f| *f == Family::Ipv6);
    families.dedup();
    match families.as_slice() {
        [] | [Family::Ipv4] => Ok(Family::Ipv4),
        [Family::Ipv6] => Ok(Family::Ipv6),
        _ => Err(
            "IPv4 and IPv6 instances in one experiment: a turmoil simulation is IPv4 or \
                  IPv6 (one address per host); run each family as its own experiment"
                .into(),
        ),
    }
}

fn validate_variant(v: &Variant) -> Result<(), String> {
    let family = run_family(v)?;
    let hosts = host_addresses(v, family);
    for (i, a) in hosts.iter().enumerate() {
        if hosts[..i].contains(a) {
            return Err(format!(
                "two nodes share the address {a}: each turmoil host needs its own"
            ));
        }
    }
    for (n, plan) in v.nodes.iter().enumerate() {
        for inst in &plan.config.instances {
            if let Some(src) = inst.unicast_src {
                if src != hosts[n] {
                    return Err(format!(
                        "{} on {}: unicast_src_ip {src} is not the node's address {}; turmoil \
                         sends from the host's one address",
                        inst.name, plan.name, hosts[n]
                    ));
                }
            }
        }
    }
    let n = v.nodes.len();
    for a in 0..n {
        for b in a + 1..n {
            if v.network.link(a, b).latency != v.network.link(b, a).latency {
                return Err(format!(
                    "the latency of {} -> {} differs from {} -> {}: turmoil's latency is the \
                     same both ways",
                    v.nodes[a].name, v.nodes[b].name, v.nodes[b].name, v.nodes[a].name
                ));
            }
        }
    }
    Ok(())
}

fn host_addresses(v: &Variant, family: Family) -> Vec<IpAddr> {
    v.nodes
        .iter()
        .map(|p| match family {
            Family::Ipv4 => IpAddr::V4(p.address),
            Family::Ipv6 => IpAddr::V6(p.ipv6_link_local),
        })
        .collect()
}

/// Estimated wall time of `runs` runs of `exp` on turmoil with `threads` workers:
/// hosts x ticks x [`HOST_TICK_COST`] x runs / threads.
pub fn estimate(exp: &Experiment, runs: usize, threads: usize) -> Duration {
    let hosts = exp
        .variants
        .iter()
        .map(|v| v.nodes.len())
        .max()
        .unwrap_or(0);
    let ticks = exp.duration.as_millis().div_ceil(TICK.as_millis()) as f64;
    let per_run = hosts as f64 * ticks * HOST_TICK_COST.as_secs_f64();
    let waves = runs.div_ceil(threads.max(1)) as f64;
    Duration::from_secs_f64(per_run * waves)
}

fn ceil_ms(d: Duration) -> u64 {
    d.as_nanos().div_ceil(1_000_000) as u64
}

/// Run one variant with one seed on turmoil. Panics if [`validate`] refuses the experiment
/// (the runner checks it first) or a host fails.
pub fn run(spec: RunSpec<'_>) -> (RunResult, Option<Recording>) {
    if let Err(e) = validate_variant(spec.variant) {
        panic!("turmoil backend: {e}");
    }
    let mut r = Run::new(spec);
    r.main_loop();
    let end = Instant::from_offset(spec.experiment.duration);
    let Run { sim, shared, .. } = r;
    // The hosts' futures hold the other references: drop them with the simulation.
    drop(sim);
    let Ok(cell) = Rc::try_unwrap(shared) else {
        panic!("turmoil backend: shared state still borrowed at the end of the run");
    };
    cell.into_inner().obs.finish(end)
}

struct Run<'a> {
    spec: RunSpec<'a>,
    sim: turmoil::Sim<'a>,
    shared: Rc<RefCell<Shared>>,
    hosts: Vec<IpAddr>,
    tx: Vec<Option<UnboundedSender<(Instant, Control)>>>,
    /// Whether a host's software runs (not crashed, not stopped).
    running: Vec<bool>,
    /// (to, from) pairs currently cut in turmoil.
    cut: std::collections::BTreeSet<(usize, usize)>,
    crash_after_step: Vec<usize>,
}

/// Latency bounds for turmoil. A range always follows turmoil's own curve (min plus an
/// exponential, truncated to whole ms, capped at max), whatever `distribution` says.
fn latency_bounds(l: &LatencySpec) -> (Duration, Duration) {
    match l {
        LatencySpec::Fixed(d) => (d.0, d.0),
        LatencySpec::Range(r) => (r.min.0, r.max.0.max(r.min.0)),
    }
}

impl<'a> Run<'a> {
    fn new(spec: RunSpec<'a>) -> Self {
        let v = spec.variant;
        let exp = spec.experiment;
        let family = run_family(v).unwrap_or(Family::Ipv4);
        let hosts = host_addresses(v, family);
        let (min, max) = latency_bounds(&v.network.default.latency);
        let mut b = turmoil::Builder::new();
        b.tick_duration(TICK)
            .simulation_duration(exp.duration + Duration::from_secs(1))
            .rng_seed(spec.seed)
            .epoch(UNIX_EPOCH + Duration::from_secs(spec.seed))
            .ip_version(match family {
                Family::Ipv4 => turmoil::IpVersion::V4,
                Family::Ipv6 => turmoil::IpVersion::V6,
            })
            .min_message_latency(min)
            .max_message_latency(max)
            .udp_capacity(4096);
        let mut sim = b.build();
        let mut obs = Observer::new_owned(
            v.clone(),
            spec.seed,
            exp.clients as usize,
            exp.arp_reresolve_after,
            exp.duration,
            spec.record,
        );
        if spec.capture {
            obs.capture();
        }
        if spec.trace {
            obs.enable_trace();
        }
        let shared = Rc::new(RefCell::new(Shared::new(spec, family, hosts.clone(), obs)));
        let n = v.nodes.len();
        let mut tx = Vec::with_capacity(n);
        for (i, &addr) in hosts.iter().enumerate() {
            let (t, rx) = unbounded_channel();
            shared.borrow_mut().control[i] = Some(rx);
            tx.push(Some(t));
            let sh = shared.clone();
            sim.host(addr, move || host::daemon(sh.clone(), i));
        }
        let mut r = Run {
            spec,
            sim,
            shared,
            hosts,
            tx,
            running: vec![true; n],
            cut: Default::default(),
            crash_after_step: Vec::new(),
        };
        // Per-pair latency overrides (symmetric: validated).
        for a in 0..n {
            for b2 in a + 1..n {
                let l = &v.network.link(a, b2).latency;
                if *l != v.network.default.latency {
                    r.set_pair_latency(a, b2, l);
                }
            }
        }
        // Start and fault shifts, drawn as the event queue draws them (model::draw_shift).
        let (starts, faults): (Vec<Duration>, Vec<Duration>) = {
            let mut sh = r.shared.borrow_mut();
            let starts = v
                .nodes
                .iter()
                .map(|p| {
                    p.start + crate::experiment::model::draw_shift(&mut sh.rng, p.start_jitter)
                })
                .collect();
            let faults = v
                .timeline
                .iter()
                .map(|f| f.at + crate::experiment::model::draw_shift(&mut sh.rng, f.jitter))
                .collect();
            (starts, faults)
        };
        // Daemons start at their `start` time: the host is crashed until then.
        for (i, start) in starts.iter().enumerate() {
            if start.is_zero() {
                r.shared.borrow_mut().alive[i] = true;
            } else {
                r.sim.crash(r.hosts[i]);
                r.running[i] = false;
                r.tx[i] = None;
                r.shared.borrow_mut().control[i] = None;
            }
        }
        {
            let mut sh = r.shared.borrow_mut();
            for (i, start) in starts.iter().enumerate() {
                if !start.is_zero() {
                    sh.push(Instant::from_offset(*start), Pending::Start(i));
                }
            }
            for (i, at) in faults.iter().enumerate() {
                sh.push(Instant::from_offset(*at), Pending::Fault(i));
            }
        }
        r
    }

    fn set_pair_latency(&self, a: usize, b: usize, l: &LatencySpec) {
        let (min, max) = latency_bounds(l);
        self.sim.set_link_latency(self.hosts[a], self.hosts[b], min);
        if max > min {
            self.sim
                .set_link_max_message_latency(self.hosts[a], self.hosts[b], max);
        }
    }

    fn main_loop(&mut self) {
        let last = ceil_ms(self.spec.experiment.duration);
        for k in 0..=last {
            // Everything due within this tick is sent to the hosts before it runs, with its
            // exact time: each host does its tick's work in time order (`host.rs`).
            let now = Instant::from_millis(k);
            let end = now + TICK;
            loop {
                let item = {
                    let mut sh = self.shared.borrow_mut();
                    match sh.pending.first_key_value() {
                        Some((&(at, _), _)) if at < end => sh.pending.pop_first(),
                        _ => None,
                    }
                };
                let Some(((at, _), p)) = item else { break };
                self.handle(now, at.max(now), p);
            }
            if k % 1000 == 0 {
                self.shared.borrow_mut().expire_drops(now);
            }
            if let Err(e) = self.sim.step() {
                panic!(
                    "turmoil backend: variant {}, seed {}: a host failed at {now}: {e}",
                    self.spec.variant.name, self.spec.seed
                );
            }
            for n in std::mem::take(&mut self.crash_after_step) {
                self.sim.crash(self.hosts[n]);
            }
        }
    }

    /// (Re)start node `n`'s daemon at `at`: a fresh incarnation with a fresh control channel.
    fn start(&mut self, n: usize, at: Instant) {
        let (t, rx) = unbounded_channel();
        self.tx[n] = Some(t);
        {
            let mut sh = self.shared.borrow_mut();
            sh.control[n] = Some(rx);
            sh.start_at[n] = Some(at);
            sh.alive[n] = true;
        }
        self.running[n] = true;
        self.sim.bounce(self.hosts[n]);
    }

    /// Graceful stop at `at`: the daemon shuts down in this tick; the host is crashed after it.
    fn stop(&mut self, n: usize, at: Instant) {
        if !self.running[n] {
            return;
        }
        self.running[n] = false;
        self.shared.borrow_mut().alive[n] = false;
        self.send(n, at, Control::Stop);
        self.crash_after_step.push(n);
    }

    fn send(&mut self, n: usize, at: Instant, c: Control) {
        if let Some(t) = &self.tx[n] {
            let _ = t.send((at, c));
        }
    }

    /// Carry out `p`, due at `at`, before tick `now` (`now <= at < now + TICK`). The
    /// observer sees it at `now`; daemons get `at`.
    fn handle(&mut self, now: Instant, at: Instant, p: Pending) {
        match p {
            Pending::Start(n) => {
                if !self.running[n] {
                    self.start(n, at);
                }
            }
            Pending::Announce { client, node, addr } => {
                self.shared
                    .borrow_mut()
                    .obs
                    .client_announce(now, client, node, addr);
            }
            Pending::CheckEdge { node, script } => {
                let mut sh = self.shared.borrow_mut();
                // The observer sees the edge at the tick; the next one comes after this one.
                sh.obs.check_edge_for(now, node, &script);
                if let Some(next) = sh.obs.next_check_edge(node, &script, at) {
                    sh.push(next, Pending::CheckEdge { node, script });
                }
            }
            Pending::Fault(i) => {
                let fault = self.spec.variant.timeline[i].fault.clone();
                self.shared.borrow_mut().obs.fault(now, &fault);
                self.apply_fault(now, at, &fault);
                if fault.affects_network() {
                    let mut sh = self.shared.borrow_mut();
                    let healthy = sh.net.healthy();
                    sh.obs.network_health(now, healthy);
                }
            }
        }
    }

    fn apply_fault(&mut self, now: Instant, at: Instant, fault: &Fault) {
        match fault {
            Fault::Stop(n) => self.stop(*n, at),
            Fault::Kill(n) => {
                let n = *n;
                if self.running[n] {
                    self.sim.crash(self.hosts[n]);
                    self.running[n] = false;
                    self.tx[n] = None;
                    let mut sh = self.shared.borrow_mut();
                    let was_alive = std::mem::replace(&mut sh.alive[n], false);
                    if was_alive {
                        sh.obs.node_gone(now, n);
                    }
                }
            }
            Fault::Restart(n) => {
                let n = *n;
                if self.running[n] {
                    self.send(n, at, Control::Restart);
                } else {
                    self.start(n, at);
                }
            }
            Fault::LinkDown(n) | Fault::LinkUp(n) => {
                let n = *n;
                {
                    let mut sh = self.shared.borrow_mut();
                    sh.net.apply(fault);
                    let answering = sh.alive[n] && sh.net.link_up[n];
                    sh.obs.set_answering(now, n, answering);
                }
                self.sync_cuts();
                if self.running[n] {
                    self.send(n, at, Control::Interfaces);
                }
            }
            Fault::Check {
                node,
                script,
                behaviour,
            } => {
                let mut sh = self.shared.borrow_mut();
                sh.obs.set_check(now, *node, script, behaviour.clone());
                // The next edge after the fault's own time (the observer saw it at the tick).
                if let Some(next) = sh.obs.next_check_edge(*node, script, at) {
                    sh.push(
                        next,
                        Pending::CheckEdge {
                            node: *node,
                            script: script.clone(),
                        },
                    );
                }
            }
            Fault::Process {
                node,
                process,
                count,
            } => {
                if self.running[*node] {
                    self.send(
                        *node,
                        at,
                        Control::Process {
                            process: process.clone(),
                            count: *count,
                        },
                    );
                } else {
                    let mut sh = self.shared.borrow_mut();
                    crate::backend::set_process(&mut sh.obs, None, now, *node, process, *count);
                }
            }
            Fault::Priority {
                node,
                instance,
                priority,
            } => {
                if self.running[*node] {
                    self.send(
                        *node,
                        at,
                        Control::Priority {
                            instance: instance.clone(),
                            priority: *priority,
                        },
                    );
                }
            }
            Fault::Reload { node, config } => {
                {
                    let mut sh = self.shared.borrow_mut();
                    sh.configs[*node] = (**config).clone();
                    // A new instance may sit on an interface the old file did not name.
                    sh.interfaces[*node] = crate::backend::node_interfaces(config);
                }
                if self.running[*node] {
                    self.send(*node, at, Control::Reload(config.clone()));
                }
            }
            Fault::Latency(l) => {
                self.shared.borrow_mut().net.apply(fault);
                let n = self.hosts.len();
                for a in 0..n {
                    for b in a + 1..n {
                        self.set_pair_latency(a, b, l);
                    }
                }
            }
            Fault::Partition(_) | Fault::OneWay { .. } | Fault::Heal => {
                self.shared.borrow_mut().net.apply(fault);
                self.sync_cuts();
            }
            Fault::Loss { .. } | Fault::Burst(_) => self.shared.borrow_mut().net.apply(fault),
            // The observer's model changed it (Observer::fault).
            Fault::RealServer { .. } => {}
        }
    }

    /// Make turmoil's one-way partitions match the model's cuts and link states.
    fn sync_cuts(&mut self) {
        let n = self.hosts.len();
        for a in 0..n {
            for b in 0..n {
                if a == b {
                    continue;
                }
                let cut = !self.shared.borrow().net.reachable(a, b);
                let was = self.cut.contains(&(a, b));
                if cut && !was {
                    self.sim.partition_oneway(self.hosts[a], self.hosts[b]);
                    self.cut.insert((a, b));
                } else if !cut && was {
                    self.sim.repair_oneway(self.hosts[a], self.hosts[b]);
                    self.cut.remove(&(a, b));
                }
            }
        }
    }
}

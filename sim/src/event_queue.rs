//! The event-queue backend: a binary heap of (time, sequence, event); time jumps from one
//! event or engine deadline to the next. Each run owns a `ChaCha8Rng` seeded from the seed
//! alone, so variants of one seed share their random numbers as far as they behave alike.

use crate::experiment::Experiment;
use crate::metrics::{fmt_time, secs, EventRow, Recording, RunResult, Span, Violation, VridTrack};
use crate::model::{CheckBehaviour, Fault, Variant};
use crate::net::Net;
use crate::world::World;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;
use vrrp_engine::timing::{master_down_interval, normalize_interval};
use vrrp_engine::{
    CheckOutcome, Engine, Family, Input, Instant, InterfaceUpdate, Output, Reason, RxPacket, State,
};

/// What one run needs.
#[derive(Clone, Copy, Debug)]
pub struct RunSpec<'a> {
    /// The experiment.
    pub experiment: &'a Experiment,
    /// The variant.
    pub variant: &'a Variant,
    /// The seed.
    pub seed: u64,
    /// Keep the event log and spans (first seed of each variant).
    pub record: bool,
}

#[derive(Debug)]
enum Ev {
    Start(usize),
    Deliver {
        to: usize,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        payload: Rc<[u8]>,
    },
    Announce {
        client: usize,
        node: usize,
        addr: IpAddr,
    },
    Fault(usize),
    /// A flapping check's ground truth may change now.
    CheckEdge {
        node: usize,
        script: String,
    },
}

struct Item {
    at: Instant,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

struct Node {
    engine: Option<Engine>,
    /// State of each instance as last reported (Initialize while not running).
    states: Vec<State>,
    /// Last advert delivered per (family, VRID).
    last_rx: BTreeMap<(Family, u8), Instant>,
    interfaces: Vec<String>,
}

struct Sim<'a> {
    spec: RunSpec<'a>,
    now: Instant,
    end: Instant,
    seq: u64,
    heap: BinaryHeap<Reverse<Item>>,
    rng: ChaCha8Rng,
    net: Net,
    world: World,
    nodes: Vec<Node>,
    checks: BTreeMap<(usize, String), CheckBehaviour>,
    vrids: BTreeMap<(Family, u8), VridTrack>,
    healthy_since: Option<Instant>,
    mdi_max: Duration,
    grace: Duration,
    result: RunResult,
    rec: Option<Recording>,
    open_spans: Vec<(Instant, Option<State>)>,
}

/// Run one variant with one seed.
pub fn run(spec: RunSpec<'_>) -> (RunResult, Option<Recording>) {
    let v = spec.variant;
    let end = Instant::from_offset(spec.experiment.duration);
    let vips: Vec<IpAddr> = v
        .nodes
        .iter()
        .flat_map(|n| {
            n.config
                .instances
                .iter()
                .flat_map(|i| i.vips.iter().map(|a| a.addr))
        })
        .collect();
    let mdi_max = v
        .nodes
        .iter()
        .flat_map(|n| n.config.instances.iter())
        .map(|i| {
            master_down_interval(
                i.version,
                1,
                normalize_interval(i.version, i.advert_interval),
            )
        })
        .max()
        .unwrap_or_default();
    let nodes = v
        .nodes
        .iter()
        .map(|n| {
            let mut interfaces: Vec<String> = n
                .config
                .instances
                .iter()
                .flat_map(|i| {
                    std::iter::once(i.interface.clone())
                        .chain(i.track_interfaces.iter().map(|t| t.name.clone()))
                })
                .collect();
            interfaces.sort();
            interfaces.dedup();
            Node {
                engine: None,
                states: vec![State::Initialize; n.config.instances.len()],
                last_rx: BTreeMap::new(),
                interfaces,
            }
        })
        .collect();
    let rec = spec.record.then(|| Recording {
        nodes: v.nodes.iter().map(|n| n.name.clone()).collect(),
        duration: spec.experiment.duration,
        ..Recording::default()
    });
    let mut sim = Sim {
        spec,
        now: Instant::ZERO,
        end,
        seq: 0,
        heap: BinaryHeap::new(),
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
        net: Net::new(v.network.clone(), v.nodes.len()),
        world: World::new(
            vips,
            v.nodes.len(),
            spec.experiment.clients as usize,
            spec.experiment.arp_reresolve_after,
        ),
        nodes,
        checks: BTreeMap::new(),
        vrids: BTreeMap::new(),
        healthy_since: None,
        mdi_max,
        grace: v.network.max_latency() + Duration::from_millis(1),
        result: RunResult {
            variant: v.name.clone(),
            seed: spec.seed,
            ..RunResult::default()
        },
        rec,
        open_spans: vec![(Instant::ZERO, None); v.nodes.len()],
    };
    sim.healthy_since = sim.net.healthy().then_some(Instant::ZERO);
    for (n, plan) in v.nodes.iter().enumerate() {
        sim.push(Instant::from_offset(plan.start), Ev::Start(n));
    }
    for (i, f) in v.timeline.iter().enumerate() {
        sim.push(Instant::from_offset(f.at), Ev::Fault(i));
    }
    sim.main_loop();
    sim.finish()
}

impl Sim<'_> {
    fn push(&mut self, at: Instant, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse(Item {
            at,
            seq: self.seq,
            ev,
        }));
    }

    fn names(&self) -> Vec<String> {
        self.spec
            .variant
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .collect()
    }

    fn event(&mut self, node: Option<usize>, kind: &'static str, detail: String) {
        if let Some(rec) = &mut self.rec {
            let name = node
                .and_then(|n| self.spec.variant.nodes.get(n))
                .map_or("-".to_string(), |p| p.name.clone());
            rec.events.push(EventRow {
                time_s: fmt_time(self.now),
                node: name,
                kind,
                detail,
            });
        }
    }

    fn main_loop(&mut self) {
        loop {
            let timer = self
                .nodes
                .iter()
                .filter_map(|n| n.engine.as_ref().and_then(Engine::poll_timeout))
                .min();
            let event = self.heap.peek().map(|Reverse(i)| i.at);
            let next = match (timer, event) {
                (None, None) => break,
                (Some(t), None) => t,
                (None, Some(e)) => e,
                (Some(t), Some(e)) => t.min(e),
            };
            if next > self.end {
                break;
            }
            self.now = next.max(self.now);
            if event.is_some_and(|e| e <= next) {
                let Some(Reverse(item)) = self.heap.pop() else {
                    break;
                };
                self.handle_event(item.ev);
            } else {
                for n in 0..self.nodes.len() {
                    let due = self.nodes[n]
                        .engine
                        .as_ref()
                        .and_then(Engine::poll_timeout)
                        .is_some_and(|t| t <= self.now);
                    if due {
                        if let Some(e) = self.nodes[n].engine.as_mut() {
                            e.handle_timeout(self.now);
                        }
                        self.drain(n);
                    }
                }
            }
        }
        self.now = self.end;
    }

    fn handle_event(&mut self, ev: Ev) {
        match ev {
            Ev::Start(n) => self.start_node(n),
            Ev::Deliver {
                to,
                src,
                dst,
                ttl,
                payload,
            } => {
                let up = self.net.link_up.get(to).copied().unwrap_or(false);
                let node = &mut self.nodes[to];
                let (Some(engine), true) = (node.engine.as_mut(), up) else {
                    return;
                };
                if payload.len() >= 2 {
                    node.last_rx
                        .insert((Family::of(&src), payload[1]), self.now);
                }
                let iface = node.interfaces.first().cloned().unwrap_or_default();
                engine.handle(
                    self.now,
                    Input::Packet(RxPacket {
                        interface: &iface,
                        src,
                        dst,
                        ttl,
                        payload: &payload,
                    }),
                );
                self.drain(to);
            }
            Ev::Announce { client, node, addr } => {
                let before = self.world.arp_target();
                self.world.announce(self.now, client, node, addr);
                if client == 0 && before != self.world.arp_target() {
                    self.event(
                        Some(node),
                        "client_arp",
                        format!(
                            "client 0 now sends {addr} to {}",
                            self.spec.variant.nodes[node].name
                        ),
                    );
                }
                self.record_world();
            }
            Ev::CheckEdge { node, script } => self.check_truth_changed(node, &script),
            Ev::Fault(i) => {
                let fault = self.spec.variant.timeline[i].fault.clone();
                let names = self.names();
                self.event(None, "fault", fault.describe(&names));
                self.apply_fault(&fault);
                if fault.affects_network() {
                    self.healthy_since = if self.net.healthy() {
                        Some(self.healthy_since.unwrap_or(self.now))
                    } else {
                        None
                    };
                }
            }
        }
    }

    fn interface_updates(&self, n: usize) -> Vec<InterfaceUpdate> {
        let plan = &self.spec.variant.nodes[n];
        let up = self.net.link_up.get(n).copied().unwrap_or(false);
        self.nodes[n]
            .interfaces
            .iter()
            .map(|name| InterfaceUpdate {
                name: name.clone(),
                up,
                ipv4: Some(plan.address),
                ipv6_link_local: Some(plan.ipv6_link_local),
            })
            .collect()
    }

    fn start_node(&mut self, n: usize) {
        if self.nodes[n].engine.is_some() {
            return;
        }
        // A (re)started daemon first removes VIPs a dead predecessor left (vrrpd-real and
        // keepalived both do).
        self.world.clear_node(self.now, n);
        let config = self.spec.variant.nodes[n].config.clone();
        let engine = match Engine::new(config, self.now) {
            Ok(e) => e,
            Err(e) => {
                self.event(Some(n), "fault", format!("cannot start: {e}"));
                return;
            }
        };
        self.nodes[n].engine = Some(engine);
        self.event(Some(n), "start", "daemon started".into());
        let up = self.net.link_up.get(n).copied().unwrap_or(false);
        self.world.set_answering(self.now, n, up);
        for u in self.interface_updates(n) {
            if let Some(e) = self.nodes[n].engine.as_mut() {
                e.handle(self.now, Input::Interface(u));
            }
        }
        self.drain(n);
        self.record_world();
    }

    /// The node died: every Master instance stops being one, without a word.
    fn node_gone(&mut self, n: usize) {
        self.nodes[n].engine = None;
        let keys = self.instance_keys(n);
        for (i, key) in keys.into_iter().enumerate() {
            if self.nodes[n].states[i] == State::Master {
                self.master_left(key, n);
            }
            self.nodes[n].states[i] = State::Initialize;
        }
        self.span(n, None);
        self.world.set_answering(self.now, n, false);
        self.record_world();
    }

    fn instance_keys(&self, n: usize) -> Vec<(Family, u8)> {
        self.spec.variant.nodes[n]
            .config
            .instances
            .iter()
            .map(|i| (i.family(), i.vrid))
            .collect()
    }

    fn apply_fault(&mut self, fault: &Fault) {
        match fault {
            Fault::Stop(n) => {
                if let Some(e) = self.nodes[*n].engine.as_mut() {
                    e.handle(self.now, Input::Shutdown);
                    self.drain(*n);
                    self.node_gone(*n);
                }
            }
            Fault::Kill(n) => {
                if self.nodes[*n].engine.is_some() {
                    self.node_gone(*n);
                }
            }
            Fault::Restart(n) => {
                if let Some(e) = self.nodes[*n].engine.as_mut() {
                    e.handle(self.now, Input::Shutdown);
                    self.drain(*n);
                    self.node_gone(*n);
                }
                self.start_node(*n);
            }
            Fault::LinkDown(n) | Fault::LinkUp(n) => {
                self.net.apply(fault);
                let alive = self.nodes[*n].engine.is_some();
                let up = matches!(fault, Fault::LinkUp(_));
                self.world.set_answering(self.now, *n, alive && up);
                for u in self.interface_updates(*n) {
                    if let Some(e) = self.nodes[*n].engine.as_mut() {
                        e.handle(self.now, Input::Interface(u));
                    }
                }
                self.drain(*n);
                self.record_world();
            }
            Fault::Check {
                node,
                script,
                behaviour,
            } => {
                self.checks
                    .insert((*node, script.clone()), behaviour.clone());
                self.check_truth_changed(*node, script);
            }
            Fault::Priority {
                node,
                instance,
                priority,
            } => {
                let ids: Vec<_> = self.spec.variant.nodes[*node]
                    .config
                    .instances
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| instance.as_ref().is_none_or(|n| n == &i.name))
                    .map(|(k, _)| vrrp_engine::InstanceId(k as u32))
                    .collect();
                if let Some(e) = self.nodes[*node].engine.as_mut() {
                    for id in ids {
                        e.handle(
                            self.now,
                            Input::SetPriority {
                                instance: id,
                                priority: *priority,
                            },
                        );
                    }
                }
                self.drain(*node);
            }
            Fault::Partition(_)
            | Fault::OneWay { .. }
            | Fault::Heal
            | Fault::Loss { .. }
            | Fault::Latency(_) => self.net.apply(fault),
        }
    }

    /// Re-read a node's check ground truth for the world, and schedule the next flap edge.
    fn check_truth_changed(&mut self, node: usize, script: &str) {
        let unhealthy = self
            .checks
            .keys()
            .filter(|(n, _)| *n == node)
            .any(|(_, s)| self.check_outcome(node, s) == CheckOutcome::Fail);
        self.world.set_unhealthy(self.now, node, unhealthy);
        if let Some(CheckBehaviour::Flap {
            start,
            period,
            duty,
            jitter,
        }) = self.checks.get(&(node, script.to_string()))
        {
            if let Some(next) = next_flap_edge(
                self.spec.seed,
                node,
                script,
                self.now.offset(),
                *start,
                *period,
                *duty,
                *jitter,
            ) {
                self.push(
                    Instant::from_offset(next),
                    Ev::CheckEdge {
                        node,
                        script: script.to_string(),
                    },
                );
            }
        }
    }

    fn check_outcome(&self, node: usize, script: &str) -> CheckOutcome {
        let failing = match self.checks.get(&(node, script.to_string())) {
            None | Some(CheckBehaviour::Pass) => false,
            Some(CheckBehaviour::Fail) => true,
            Some(CheckBehaviour::Flap {
                start,
                period,
                duty,
                jitter,
            }) => flap_failing(
                self.spec.seed,
                node,
                script,
                self.now.offset(),
                *start,
                *period,
                *duty,
                *jitter,
            ),
        };
        if failing {
            CheckOutcome::Fail
        } else {
            CheckOutcome::Pass
        }
    }

    /// Process every output of node `n` until it is quiet, then check the invariants.
    fn drain(&mut self, n: usize) {
        let mut check_invariants = false;
        while let Some(out) = self.nodes[n].engine.as_mut().and_then(Engine::poll_output) {
            match out {
                Output::StateChanged(c) => {
                    check_invariants = true;
                    self.state_changed(
                        n,
                        c.instance.0 as usize,
                        c.from,
                        c.to,
                        &c.reason,
                        c.priority,
                    );
                }
                Output::Transmit(x) => {
                    self.result.adverts_sent += 1;
                    let payload: Rc<[u8]> = Rc::from(x.payload.as_slice());
                    for r in 0..self.nodes.len() {
                        if r == n || self.nodes[r].engine.is_none() {
                            continue;
                        }
                        let plan = &self.spec.variant.nodes[r];
                        let addressed = x.dst.is_multicast()
                            || x.dst == IpAddr::V4(plan.address)
                            || x.dst == IpAddr::V6(plan.ipv6_link_local);
                        if !addressed {
                            continue;
                        }
                        if let Some(delay) = self.net.transfer(n, r, &mut self.rng) {
                            let at = self.now + delay;
                            self.push(
                                at,
                                Ev::Deliver {
                                    to: r,
                                    src: x.src,
                                    dst: x.dst,
                                    ttl: x.ttl,
                                    payload: payload.clone(),
                                },
                            );
                        }
                    }
                }
                Output::AddVip { vip, .. } => {
                    self.world.add_vip(self.now, n, vip.addr);
                    self.event(Some(n), "vip_add", vip.addr.to_string());
                    self.record_world();
                }
                Output::RemoveVip { vip, .. } => {
                    self.world.remove_vip(self.now, n, vip.addr);
                    self.event(Some(n), "vip_del", vip.addr.to_string());
                    self.record_world();
                }
                Output::Announce { addr, .. } => {
                    self.event(Some(n), "garp", addr.to_string());
                    for client in 0..self.spec.experiment.clients as usize {
                        if let Some(delay) = self.net.to_clients(n, &mut self.rng) {
                            let at = self.now + delay;
                            self.push(
                                at,
                                Ev::Announce {
                                    client,
                                    node: n,
                                    addr,
                                },
                            );
                        }
                    }
                }
                Output::RunCheck { script, seq, .. } => {
                    check_invariants = true;
                    let name = self.spec.variant.nodes[n]
                        .config
                        .scripts
                        .get(script.0 as usize)
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    let outcome = self.check_outcome(n, &name);
                    if let Some(e) = self.nodes[n].engine.as_mut() {
                        e.handle(
                            self.now,
                            Input::CheckResult {
                                script,
                                seq,
                                outcome,
                            },
                        );
                    }
                }
            }
        }
        if check_invariants {
            self.check_node_invariants(n);
        }
    }

    fn state_changed(
        &mut self,
        n: usize,
        i: usize,
        from: State,
        to: State,
        reason: &Reason,
        priority: u8,
    ) {
        if let Some(s) = self.nodes[n].states.get_mut(i) {
            *s = to;
        }
        let key = self.instance_keys(n)[i];
        self.event(
            Some(n),
            "state",
            format!(
                "{} {} -> {} ({}) prio {priority}",
                self.spec.variant.nodes[n].config.instances[i].name,
                from.as_str(),
                to.as_str(),
                reason_text(reason)
            ),
        );
        if i == 0 {
            self.span(n, Some(to));
        }
        if from == State::Master && to != State::Master {
            self.master_left(key, n);
        }
        if to == State::Master {
            self.result.master_transitions += 1;
            if *reason == Reason::MasterDown {
                if let Some(&rx) = self.nodes[n].last_rx.get(&key) {
                    self.result
                        .takeover_after_last_advert
                        .push(secs(self.now - rx));
                }
            }
            let now = self.now;
            let t = self.vrids.entry(key).or_default();
            if t.last_master.is_some_and(|m| m != n) {
                self.result.master_changes += 1;
            }
            t.last_master = Some(n);
            if t.masters.is_empty() {
                if let Some(lost) = t.lost_at.take() {
                    self.result.failover_times.push(secs(now - lost));
                }
            }
            t.masters.insert(n, ());
            if t.masters.len() >= 2 && t.split_since.is_none() {
                t.split_since = Some(now);
            }
        }
    }

    fn master_left(&mut self, key: (Family, u8), n: usize) {
        let now = self.now;
        let t = self.vrids.entry(key).or_default();
        t.masters.remove(&n);
        if t.masters.is_empty() {
            t.lost_at = Some(now);
        }
        if t.masters.len() < 2 {
            if let Some(since) = t.split_since.take() {
                self.close_split(key, since);
            }
        }
    }

    fn close_split(&mut self, key: (Family, u8), since: Instant) {
        let d = self.now - since;
        self.result.split_brain += secs(d);
        // Invariant: at most one Master per VRID once the network has been healthy longer
        // than Master_Down_Interval. A preemption overlaps by at most one latency (grace).
        if let Some(h) = self.healthy_since {
            let from = since.max(h + self.mdi_max);
            if self.now > from + self.grace {
                self.violation(
                    "single-master",
                    format!(
                        "two Masters for VRID {} from {:.6} s to {:.6} s on a network healthy since {:.6} s",
                        key.1,
                        since.offset().as_secs_f64(),
                        self.now.offset().as_secs_f64(),
                        h.offset().as_secs_f64()
                    ),
                );
            }
        }
    }

    fn violation(&mut self, invariant: &'static str, detail: String) {
        self.result.violations.push(Violation {
            at: self.now.offset().as_secs_f64(),
            invariant,
            detail,
        });
    }

    fn check_node_invariants(&mut self, n: usize) {
        let Some(engine) = self.nodes[n].engine.as_ref() else {
            return;
        };
        let snap = engine.snapshot();
        let cfg = &self.spec.variant.nodes[n].config;
        let mut found = Vec::new();
        for (inst, s) in cfg.instances.iter().zip(&snap.instances) {
            // A VIP is installed exactly while its instance is Master.
            let installed = inst.vips.iter().all(|v| self.world_holds(n, v.addr));
            let master = s.state == State::Master;
            if !inst.vips.is_empty() && installed != master {
                found.push((
                    "vip-iff-master",
                    format!(
                        "{} on {} is {} but its VIPs are {}",
                        inst.name,
                        self.spec.variant.nodes[n].name,
                        s.state.as_str(),
                        if installed {
                            "installed"
                        } else {
                            "not installed"
                        }
                    ),
                ));
            }
            // FAULT exactly while a weight-0 tracked check fails (when nothing else faults it).
            if s.state == State::Initialize || !self.net.link_up.get(n).copied().unwrap_or(false) {
                continue;
            }
            let w0_bad = inst.track_scripts.iter().any(|t| {
                cfg.scripts
                    .iter()
                    .position(|sc| sc.name == t.name)
                    .is_some_and(|k| {
                        t.weight.unwrap_or(cfg.scripts[k].weight) == 0
                            && snap.scripts[k].status == vrrp_engine::tracking::CheckStatus::Bad
                    })
            });
            let other_fault = matches!(s.fault, Some(ref c) if !matches!(c, vrrp_engine::io::FaultCause::Script(_)));
            if !other_fault && w0_bad != (s.state == State::Fault) {
                found.push((
                    "fault-iff-check-fails",
                    format!(
                        "{} on {} is {} while its weight-0 checks are {}",
                        inst.name,
                        self.spec.variant.nodes[n].name,
                        s.state.as_str(),
                        if w0_bad { "failing" } else { "passing" }
                    ),
                ));
            }
        }
        for (inv, d) in found {
            self.violation(inv, d);
        }
    }

    fn world_holds(&self, n: usize, vip: IpAddr) -> bool {
        self.world.holds(n, vip)
    }

    fn span(&mut self, n: usize, state: Option<State>) {
        let now = self.now;
        if let Some(rec) = &mut self.rec {
            let (from, prev) = self.open_spans[n];
            if now > from {
                rec.spans.push(Span {
                    node: n,
                    from,
                    to: now,
                    state: prev,
                });
            }
            self.open_spans[n] = (now, state);
        }
    }

    fn record_world(&mut self) {
        if let Some(rec) = &mut self.rec {
            let owner = self.world.serving().first().copied();
            if rec.vip_owner.last().map(|x| x.1) != Some(owner) {
                rec.vip_owner.push((self.now, owner));
            }
            let arp = self.world.arp_target();
            if rec.arp_target.last().map(|x| x.1) != Some(arp) {
                rec.arp_target.push((self.now, arp));
            }
        }
    }

    fn finish(mut self) -> (RunResult, Option<Recording>) {
        self.world.advance(self.end);
        let open: Vec<((Family, u8), Instant)> = self
            .vrids
            .iter_mut()
            .filter_map(|(k, t)| t.split_since.take().map(|s| (*k, s)))
            .collect();
        for (k, since) in open {
            self.close_split(k, since);
        }
        for n in 0..self.nodes.len() {
            let state = self.open_spans[n].1;
            self.span(n, state);
        }
        self.result.downtime = secs(self.world.downtime);
        self.result.blackhole = secs(self.world.blackhole);
        self.result.unhealthy_served = secs(self.world.unhealthy_served);
        (self.result, self.rec)
    }
}

fn reason_text(r: &Reason) -> String {
    match r {
        Reason::Startup => "startup".into(),
        Reason::AddressOwner => "address owner".into(),
        Reason::MasterDown => "master down timer".into(),
        Reason::HigherPriority { from, priority } => {
            format!("higher priority {priority} from {from}")
        }
        Reason::Shutdown => "shutdown".into(),
        Reason::Fault { cause } => format!("fault: {cause:?}"),
        Reason::FaultCleared => "fault cleared".into(),
    }
}

/// splitmix64: a seed for each flap cycle, independent of the run's event order.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Whether a flapping check fails at `t`: cycle k covers [start + k period, ...); its failing
/// window starts a random shift in [0, jitter) into the cycle and lasts duty x period.
/// Start of the failing window of flap cycle `c`.
fn flap_window(
    seed: u64,
    node: usize,
    script: &str,
    c: u64,
    start: Duration,
    period: Duration,
    jitter: Duration,
) -> Duration {
    let name_hash = script.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let shift = if jitter.is_zero() {
        Duration::ZERO
    } else {
        let mut r =
            ChaCha8Rng::seed_from_u64(mix(seed ^ mix(node as u64 ^ mix(name_hash ^ mix(c)))));
        Duration::from_nanos(r.gen_range(0..jitter.as_nanos() as u64))
    };
    start + period * c as u32 + shift
}

/// The first flap window edge strictly after `t`.
#[allow(clippy::too_many_arguments)]
fn next_flap_edge(
    seed: u64,
    node: usize,
    script: &str,
    t: Duration,
    start: Duration,
    period: Duration,
    duty: f64,
    jitter: Duration,
) -> Option<Duration> {
    if period.is_zero() {
        return None;
    }
    let window = period.mul_f64(duty.clamp(0.0, 1.0));
    let k = if t < start {
        0
    } else {
        ((t - start).as_nanos() / period.as_nanos()) as u64
    };
    (k.saturating_sub(1)..=k + 1)
        .flat_map(|c| {
            let from = flap_window(seed, node, script, c, start, period, jitter);
            [from, from + window]
        })
        .filter(|&e| e > t)
        .min()
}

#[allow(clippy::too_many_arguments)]
fn flap_failing(
    seed: u64,
    node: usize,
    script: &str,
    t: Duration,
    start: Duration,
    period: Duration,
    duty: f64,
    jitter: Duration,
) -> bool {
    if t < start || period.is_zero() {
        return false;
    }
    let k = ((t - start).as_nanos() / period.as_nanos()) as u64;
    let window = period.mul_f64(duty.clamp(0.0, 1.0));
    // The window of cycle k-1 may reach into cycle k when shifted by jitter.
    (k.saturating_sub(1)..=k).any(|c| {
        let from = flap_window(seed, node, script, c, start, period, jitter);
        t >= from && t < from + window
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flap_without_jitter_follows_period_and_duty() {
        let s = Duration::from_secs;
        let f = |t| flap_failing(1, 0, "chk", s(t), s(10), s(30), 0.5, Duration::ZERO);
        assert!(!f(9));
        assert!(f(10) && f(24));
        assert!(!f(25) && !f(39));
        assert!(f(40));
    }
}

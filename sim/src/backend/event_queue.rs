//! The event-queue backend: a binary heap of (time, sequence, event); time jumps from one
//! event or engine deadline to the next. Each run owns a `ChaCha8Rng` seeded from the seed
//! alone, so variants of one seed share their random numbers as far as they behave alike.
//! What the run means (world, metrics, invariants) is the [`Observer`]'s.

use super::{node_interfaces, RunSpec, Wire};
use crate::backend::net::Net;
use crate::experiment::model::Fault;
use crate::observe::metrics::{Recording, RunResult};
use crate::observe::observer::Observer;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;
use std::rc::Rc;
use vrrp_engine::config::Config;
use vrrp_engine::lvs::{CheckerId, ProbeResult};
use vrrp_engine::{Engine, Input, Instant, InterfaceUpdate, RxPacket};

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
    /// A real-server probe ends: its result goes to the daemon incarnation that asked.
    ProbeDone {
        node: usize,
        incarnation: u64,
        checker: CheckerId,
        seq: u64,
        result: ProbeResult,
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

struct Sim<'a> {
    spec: RunSpec<'a>,
    now: Instant,
    end: Instant,
    seq: u64,
    heap: BinaryHeap<Reverse<Item>>,
    rng: ChaCha8Rng,
    net: Net,
    engines: Vec<Option<Engine>>,
    /// Each running engine's deadline, as last read after a drain.
    deadlines: Vec<Option<Instant>>,
    /// (deadline, node) each time a node's deadline changed, earliest first: the earliest timer
    /// without a scan of every node per event (that scan made the cost grow with nodes x
    /// events). An entry no longer in `deadlines` is stale and dropped when it comes up.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Per node: how many times its daemon started (probe results go to the one that asked).
    incarnation: Vec<u64>,
    /// Each node's configuration file as it stands (a reload replaces it; a restart reads it).
    configs: Vec<Config>,
    interfaces: Vec<Vec<String>>,
    obs: Observer<'a>,
}

/// Run one variant with one seed.
pub fn run(spec: RunSpec<'_>) -> (RunResult, Option<Recording>) {
    let v = spec.variant;
    let exp = spec.experiment;
    let mut sim = Sim {
        spec,
        now: Instant::ZERO,
        end: Instant::from_offset(exp.duration),
        seq: 0,
        heap: BinaryHeap::new(),
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
        net: Net::new(v.network.clone(), v.nodes.len()),
        engines: v.nodes.iter().map(|_| None).collect(),
        deadlines: vec![None; v.nodes.len()],
        timers: BinaryHeap::new(),
        incarnation: vec![0; v.nodes.len()],
        configs: v.nodes.iter().map(|n| n.config.clone()).collect(),
        interfaces: v.nodes.iter().map(|n| node_interfaces(&n.config)).collect(),
        obs: Observer::new(
            v,
            spec.seed,
            exp.clients as usize,
            exp.arp_reresolve_after,
            exp.duration,
            spec.record,
        ),
    };
    if spec.capture {
        sim.obs.capture();
    }
    if spec.trace {
        sim.obs.enable_trace();
    }
    for (n, plan) in v.nodes.iter().enumerate() {
        let shift = crate::experiment::model::draw_shift(&mut sim.rng, plan.start_jitter);
        sim.push(Instant::from_offset(plan.start + shift), Ev::Start(n));
    }
    for (i, f) in v.timeline.iter().enumerate() {
        let shift = crate::experiment::model::draw_shift(&mut sim.rng, f.jitter);
        sim.push(Instant::from_offset(f.at + shift), Ev::Fault(i));
    }
    sim.main_loop();
    let end = sim.end;
    sim.obs.finish(end)
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

    fn link_up(&self, n: usize) -> bool {
        self.net.link_up.get(n).copied().unwrap_or(false)
    }

    /// Re-read node `n`'s deadline after its engine changed (or went away), and queue it if
    /// it moved.
    fn refresh_timer(&mut self, n: usize) {
        let due = self.engines[n].as_ref().and_then(Engine::poll_timeout);
        let old = std::mem::replace(&mut self.deadlines[n], due);
        if let Some(t) = due.filter(|_| old != due) {
            self.timers.push(Reverse((t, n)));
        }
    }

    /// The earliest live deadline (stale entries on top are dropped).
    fn first_timer(&mut self) -> Option<Instant> {
        while let Some(&Reverse((t, n))) = self.timers.peek() {
            if self.deadlines[n] == Some(t) {
                return Some(t);
            }
            self.timers.pop();
        }
        None
    }

    fn main_loop(&mut self) {
        let mut due = Vec::new();
        loop {
            let timer = self.first_timer();
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
                // Every engine due now fires, in node order; firing one changes no other's
                // deadline (what it sends is queued), so the set is known up front.
                due.clear();
                while let Some(&Reverse((t, n))) = self.timers.peek() {
                    if t > self.now {
                        break;
                    }
                    self.timers.pop();
                    if self.deadlines[n] == Some(t) {
                        // Off the heap: the refresh below queues its next deadline.
                        self.deadlines[n] = None;
                        due.push(n);
                    }
                }
                due.sort_unstable();
                for &n in &due {
                    if let Some(e) = self.engines[n].as_mut() {
                        if e.poll_timeout().is_some_and(|t| t <= self.now) {
                            e.handle_timeout(self.now);
                            self.drain(n);
                        }
                    }
                    self.refresh_timer(n);
                }
            }
        }
        self.now = self.end;
    }

    fn handle_event(&mut self, ev: Ev) {
        let now = self.now;
        match ev {
            Ev::Start(n) => self.start_node(n),
            Ev::Deliver {
                to,
                src,
                dst,
                ttl,
                payload,
            } => {
                if !self.link_up(to) {
                    return;
                }
                let Some(engine) = self.engines[to].as_mut() else {
                    return;
                };
                self.obs.advert_delivered(now, to, src, &payload);
                let base = self.interfaces[to].first().map_or("", String::as_str);
                let iface = crate::backend::receiving_interface(engine, base, src, &payload);
                let p = RxPacket {
                    interface: &iface,
                    src,
                    dst,
                    ttl,
                    payload: &payload,
                };
                self.obs.packet_received(now, to, &p);
                engine.handle(now, Input::Packet(p));
                self.drain(to);
            }
            Ev::Announce { client, node, addr } => {
                self.obs.client_announce(now, client, node, addr)
            }
            Ev::CheckEdge { node, script } => {
                if let Some(next) = self.obs.check_edge_for(now, node, &script) {
                    self.push(next, Ev::CheckEdge { node, script });
                }
            }
            Ev::ProbeDone {
                node,
                incarnation,
                checker,
                seq,
                result,
            } => {
                if self.incarnation[node] != incarnation {
                    return;
                }
                let Some(engine) = self.engines[node].as_mut() else {
                    return;
                };
                engine.handle(
                    now,
                    Input::ProbeResult {
                        checker,
                        seq,
                        result,
                    },
                );
                self.drain(node);
            }
            Ev::Fault(i) => {
                let fault = self.spec.variant.timeline[i].fault.clone();
                self.obs.fault(now, &fault);
                self.apply_fault(&fault);
                if fault.affects_network() {
                    self.obs.network_health(now, self.net.healthy());
                }
            }
        }
    }

    fn interface_updates(&self, n: usize) -> Vec<InterfaceUpdate> {
        super::interface_updates(
            &self.spec.variant.nodes[n],
            &self.interfaces[n],
            self.link_up(n),
        )
    }

    fn feed_interfaces(&mut self, n: usize) {
        let updates = self.interface_updates(n);
        if let Some(e) = self.engines[n].as_mut() {
            for u in updates {
                e.handle(self.now, Input::Interface(u));
            }
        }
        self.drain(n);
    }

    fn start_node(&mut self, n: usize) {
        if self.engines[n].is_some() {
            return;
        }
        let config = self.configs[n].clone();
        let Some(e) = super::start_engine(&mut self.obs, self.now, n, config) else {
            return;
        };
        self.engines[n] = Some(e);
        self.incarnation[n] += 1;
        // A (re)started daemon first removes VIPs a dead predecessor left.
        self.obs.node_started(self.now, n, self.link_up(n));
        self.feed_interfaces(n);
    }

    fn stop_node(&mut self, n: usize) {
        if let Some(e) = self.engines[n].as_mut() {
            self.obs.node_stopping(self.now, n);
            e.handle(self.now, Input::Shutdown);
            self.drain(n);
            self.engines[n] = None;
            self.refresh_timer(n);
            self.obs.node_gone(self.now, n);
        }
    }

    fn apply_fault(&mut self, fault: &Fault) {
        let now = self.now;
        match fault {
            Fault::Stop(n) => self.stop_node(*n),
            Fault::Kill(n) => {
                if self.engines[*n].take().is_some() {
                    self.refresh_timer(*n);
                    self.obs.node_gone(now, *n);
                }
            }
            Fault::Restart(n) => {
                self.stop_node(*n);
                self.start_node(*n);
            }
            Fault::LinkDown(n) | Fault::LinkUp(n) => {
                self.net.apply(fault);
                let answering = self.engines[*n].is_some() && self.link_up(*n);
                self.obs.set_answering(now, *n, answering);
                self.feed_interfaces(*n);
            }
            Fault::Check {
                node,
                script,
                behaviour,
            } => {
                if let Some(next) = self.obs.set_check(now, *node, script, behaviour.clone()) {
                    self.push(
                        next,
                        Ev::CheckEdge {
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
                let e = self.engines[*node].as_mut();
                super::set_process(&mut self.obs, e, now, *node, process, *count);
                self.drain(*node);
            }
            Fault::Priority {
                node,
                instance,
                priority,
            } => {
                if let Some(e) = self.engines[*node].as_mut() {
                    for id in super::priority_targets(e, instance.as_deref()) {
                        e.handle(
                            now,
                            Input::SetPriority {
                                instance: id,
                                priority: *priority,
                            },
                        );
                    }
                }
                self.drain(*node);
            }
            Fault::Reload { node, config } => {
                self.configs[*node] = (**config).clone();
                // A new instance may sit on an interface the old file did not name.
                self.interfaces[*node] = super::node_interfaces(config);
                if let Some(e) = self.engines[*node].as_mut() {
                    super::reload_engine(&mut self.obs, e, now, *node, (**config).clone());
                }
                self.drain(*node);
                // Interfaces the new file names (feeding known ones again changes nothing).
                self.feed_interfaces(*node);
            }
            Fault::Partition(_)
            | Fault::OneWay { .. }
            | Fault::Heal
            | Fault::Loss { .. }
            | Fault::Burst(_)
            | Fault::Latency(_) => self.net.apply(fault),
            // The observer's model changed it (Observer::fault).
            Fault::RealServer { .. } => {}
        }
    }

    /// Process every output of node `n` until it is quiet ([`super::drain`]).
    fn drain(&mut self, n: usize) {
        // The engine is taken out while it drains: the wire (this `Sim`) reads the others.
        let Some(mut engine) = self.engines[n].take() else {
            return;
        };
        let (now, up) = (self.now, self.link_up(n));
        super::drain(self, &mut engine, now, n, up);
        self.engines[n] = Some(engine);
        self.refresh_timer(n);
    }
}

impl<'a> Wire<'a> for Sim<'a> {
    fn observer(&mut self) -> &mut Observer<'a> {
        &mut self.obs
    }

    fn probe_result(
        &mut self,
        at: Instant,
        n: usize,
        checker: CheckerId,
        seq: u64,
        result: ProbeResult,
    ) {
        let incarnation = self.incarnation[n];
        self.push(
            at,
            Ev::ProbeDone {
                node: n,
                incarnation,
                checker,
                seq,
                result,
            },
        );
    }

    fn announce(&mut self, now: Instant, n: usize, addr: IpAddr) {
        for client in 0..self.spec.experiment.clients as usize {
            if let Some(delay) = self.net.to_clients(n, &mut self.rng) {
                self.push(
                    now + delay,
                    Ev::Announce {
                        client,
                        node: n,
                        addr,
                    },
                );
            }
        }
    }

    fn transmit(&mut self, now: Instant, n: usize, x: vrrp_engine::Transmit) {
        let payload: Rc<[u8]> = Rc::from(x.payload.as_slice());
        for r in 0..self.engines.len() {
            if r == n || self.engines[r].is_none() {
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
                let at = now + delay;
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
}

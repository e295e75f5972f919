//! Everything a backend reports to, and nothing about how packets move: the world model
//! ([`World`]), the per-VRID bookkeeping behind the metrics, the invariants, and the recording
//! of the first seed. The event-queue backend and any other backend drive the same observer,
//! so their results are comparable by construction.

use crate::experiment::model::{CheckBehaviour, Fault, Variant};
use crate::observe::checks::CheckTable;
use crate::observe::invariants::{Invariants, Truth};
use crate::observe::lvs::Lvs;
use crate::observe::metrics::{
    fmt_time, secs, Captured, EventRow, Recording, RunResult, Span, TakeoverCause, Violation,
    VridTrack,
};
use crate::observe::trace::TraceSink;
use crate::observe::world::World;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;
use vrrp_engine::config::Config;
use vrrp_engine::io::{FaultCause, StateChange};
use vrrp_engine::tracking::CheckStatus;
use vrrp_engine::wire;
use vrrp_engine::{
    CheckOutcome, Engine, Family, InstanceId, Instant, Output, Reason, RxPacket, State,
};

/// The observer of one run.
pub struct Observer<'a> {
    variant: Cow<'a, Variant>,
    /// Per node: the configuration as its engine numbers it (instances in `InstanceId`
    /// order, scripts in `ScriptId` order, removed ones included), kept in step by
    /// [`Observer::sync_config`] after a start or a reload.
    configs: Vec<Config>,
    world: World,
    /// Per node, per instance: the state last reported.
    states: Vec<Vec<State>>,
    /// Per node: last advert delivered per (family, VRID), with its priority byte.
    last_rx: Vec<BTreeMap<(Family, u8), (Instant, u8)>>,
    vrids: BTreeMap<(Family, u8), VridTrack>,
    healthy_since: Option<Instant>,
    /// The invariants that need time: grace periods, the settled clock, engines' views.
    inv: Invariants,
    /// Ground truth of the health checks.
    pub checks: CheckTable,
    /// Ground truth of the tracked processes: (node, `vrrp_track_process` name) -> how many
    /// run, once a `process_stop` / `process_start` set it (before: the block's quorum).
    pub processes: BTreeMap<(usize, String), u32>,
    result: RunResult,
    /// Takeovers by timer waiting for their theory value: (node, instance, after priority 0).
    pending_theory: Vec<(usize, usize, bool)>,
    rec: Option<Recording>,
    open_spans: Vec<(Instant, Option<State>)>,
    /// Opt-in: every state change and transmitted payload (see [`Observer::capture`]).
    captured: Option<Vec<Captured>>,
    /// The JSONL trace, when enabled ([`Observer::enable_trace`]).
    trace: Option<TraceSink>,
    /// The LVS side: real servers, directors' tables, client requests, fault detection.
    lvs: Lvs,
    /// Per node, per instance id: its macvlan (`use_vmac`), kept by [`Observer::sync_config`].
    vmacs: Vec<BTreeMap<u32, vrrp_engine::vmac::Vmac>>,
    seed: u64,
}

impl<'a> Observer<'a> {
    /// An observer for `variant` run with `seed`; `record` keeps the event log and spans.
    pub fn new(
        variant: &'a Variant,
        seed: u64,
        clients: usize,
        arp_reresolve_after: Option<Duration>,
        duration: Duration,
        record: bool,
    ) -> Self {
        Self::build(
            Cow::Borrowed(variant),
            seed,
            clients,
            arp_reresolve_after,
            duration,
            record,
        )
    }

    /// The same as [`Observer::new`] for a variant the observer owns, so that it can live as
    /// long as it must (the turmoil backend's hosts need `'static` state).
    pub fn new_owned(
        variant: Variant,
        seed: u64,
        clients: usize,
        arp_reresolve_after: Option<Duration>,
        duration: Duration,
        record: bool,
    ) -> Observer<'static> {
        Observer::build(
            Cow::Owned(variant),
            seed,
            clients,
            arp_reresolve_after,
            duration,
            record,
        )
    }

    fn build(
        variant: Cow<'a, Variant>,
        seed: u64,
        clients: usize,
        arp_reresolve_after: Option<Duration>,
        duration: Duration,
        record: bool,
    ) -> Self {
        // Every configuration a node may run: its own and those the timeline reloads.
        let configs: Vec<&Config> = variant
            .nodes
            .iter()
            .map(|n| &n.config)
            .chain(variant.timeline.iter().filter_map(|f| match &f.fault {
                Fault::Reload { config, .. } => Some(&**config),
                _ => None,
            }))
            .collect();
        let vips: Vec<IpAddr> = configs
            .iter()
            .flat_map(|c| c.instances.iter())
            .flat_map(|i| i.vips.iter().map(|a| a.addr))
            .collect();
        let n = variant.nodes.len();
        let lossless = variant.network.lossless();
        let states = variant
            .nodes
            .iter()
            .map(|p| vec![State::Initialize; p.config.instances.len()])
            .collect();
        let result = RunResult {
            variant: variant.name.clone(),
            seed,
            ..RunResult::default()
        };
        let rec = record.then(|| Recording {
            nodes: variant.nodes.iter().map(|p| p.name.clone()).collect(),
            duration,
            ..Recording::default()
        });
        let lvs = Lvs::new(&variant, seed);
        let inv = Invariants::new(&variant, lossless);
        let mut world = World::new(vips, n, clients, arp_reresolve_after);
        for (vip, mac) in configs.iter().flat_map(|c| vmac_vips(c)) {
            world.set_vip_mac(vip, mac);
        }
        Observer {
            vmacs: vec![BTreeMap::new(); n],
            lvs,
            seed,
            configs: variant.nodes.iter().map(|p| p.config.clone()).collect(),
            variant,
            world,
            states,
            last_rx: vec![BTreeMap::new(); n],
            vrids: BTreeMap::new(),
            healthy_since: lossless.then_some(Instant::ZERO),
            inv,
            checks: CheckTable::new(seed),
            processes: BTreeMap::new(),
            result,
            rec,
            pending_theory: Vec::new(),
            open_spans: vec![(Instant::ZERO, None); n],
            captured: None,
            trace: None,
        }
    }

    /// Opt-in (tests): keep every state change and every transmitted payload, in the order
    /// reported, in [`Recording::captured`] (recorded runs only). Nothing else changes.
    pub fn capture(&mut self) {
        if self.captured.is_none() {
            self.captured = Some(Vec::new());
        }
    }

    /// Also write a JSONL trace (`docs/trace.md`); it ends up in the recording's `trace`.
    pub fn enable_trace(&mut self) {
        let names = self.variant.nodes.iter().map(|p| p.name.clone()).collect();
        self.trace = Some(TraceSink::new(names));
    }

    /// A packet reached node `to` (traced as `rx` when tracing).
    pub fn packet_received(&mut self, now: Instant, to: usize, p: &RxPacket<'_>) {
        if let Some(t) = &mut self.trace {
            t.rx(now, to, p);
        }
    }

    /// Add a row to events.csv (recorded runs only).
    pub fn event(&mut self, now: Instant, node: Option<usize>, kind: &'static str, detail: String) {
        if let Some(rec) = &mut self.rec {
            let name = node
                .and_then(|n| self.variant.nodes.get(n))
                .map_or("-".to_string(), |p| p.name.clone());
            rec.events.push(EventRow {
                time_s: fmt_time(now),
                node: name,
                kind,
                detail,
            });
        }
    }

    /// A timeline fault happens now (events.csv); a real server's state changes here, for
    /// every backend alike.
    pub fn fault(&mut self, now: Instant, fault: &crate::experiment::model::Fault) {
        self.lvs_catch_up(now);
        self.settled_catch_up(now);
        self.inv.event(now);
        if let Fault::Reload { node, config } = fault {
            // What the engine does not hand back in sync_config: group membership and the
            // tracked processes' blocks, for the settled checks.
            if let Some(c) = self.configs.get_mut(*node) {
                c.sync_groups = config.sync_groups.clone();
                c.track_processes = config.track_processes.clone();
            }
        }
        let names: Vec<String> = self.variant.nodes.iter().map(|n| n.name.clone()).collect();
        self.event(now, None, "fault", fault.describe(&names));
        if let Fault::RealServer { addr, state } = fault {
            self.lvs.set_state(now, *addr, *state);
        }
    }

    /// The settled checks due before `now` run on the world as it stands, before anything
    /// changes it ([`Invariants::due`]).
    fn settled_catch_up(&mut self, now: Instant) {
        let Some(at) = self.inv.due(now) else {
            return;
        };
        let names: Vec<String> = self.variant.nodes.iter().map(|p| p.name.clone()).collect();
        let truth = Truth {
            configs: &self.configs,
            checks: &self.checks,
            processes: &self.processes,
            names: &names,
        };
        for (inv, detail) in self.inv.settled_checks(at, &truth) {
            self.violation(at, inv, detail);
        }
    }

    /// Node `n`'s engine is quiet after a drain at `now` (every backend's drain ends here):
    /// the per-node invariants when `check` (a state changed, a check ran, VIPs moved), then
    /// the announcements of a takeover and the engine's view for the settled checks.
    pub fn after_drain(
        &mut self,
        now: Instant,
        n: usize,
        engine: &Engine,
        link_up: bool,
        check: bool,
    ) {
        self.settled_catch_up(now);
        if check {
            self.check_invariants(now, n, engine, link_up);
        }
        let name = &self.variant.nodes[n].name;
        let found = self.inv.after_drain(now, n, engine, &self.configs[n], name);
        for (inv, detail) in found {
            self.violation(now, inv, detail);
        }
    }

    /// Requests due before `now` go out through the world as it stands, before anything
    /// changes it.
    fn lvs_catch_up(&mut self, now: Instant) {
        if self.lvs.has_clients() {
            self.lvs.advance(now, &self.world);
        }
    }

    /// The seed of node `n`'s engine (its checkers' start-up spread): the run's seed mixed
    /// with the node's index, so every node spreads its own way.
    pub fn engine_seed(&self, n: usize) -> u64 {
        self.seed ^ (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// What a probe of node `n`'s checker for real server `owner` finds: how long it takes
    /// and its result ([`Lvs::probe`]).
    pub fn run_probe(
        &mut self,
        n: usize,
        owner: Option<std::net::SocketAddr>,
        probe: &vrrp_engine::lvs::Probe,
    ) -> (Duration, vrrp_engine::lvs::ProbeResult) {
        self.lvs.probe(n, owner, probe)
    }

    /// Node `n`'s IPVS table as its engine's changes built it.
    pub fn ipvs_table(&self, n: usize) -> Option<&vrrp_engine::lvs::IpvsTable> {
        self.lvs.table(n)
    }

    /// Node `n`'s engine was built or reconfigured: take its numbering of instances and
    /// scripts (a reload keeps the ids of kept instances and appends new ones).
    pub fn sync_config(&mut self, n: usize, engine: &Engine) {
        let cfg = &mut self.configs[n];
        cfg.instances = engine.instance_configs().cloned().collect();
        cfg.scripts = engine.script_configs().cloned().collect();
        cfg.global = engine.global_config().clone();
        self.states[n].resize(cfg.instances.len(), State::Initialize);
        self.inv.resize(n, cfg.instances.len());
        self.vmacs[n] = (0..cfg.instances.len() as u32)
            .filter_map(|id| Some((id, engine.vmac(InstanceId(id))?.clone())))
            .collect();
    }

    /// Node `n` sent a frame on `interface` for `instance`: if that is the instance's
    /// macvlan, the frame leaves with the virtual MAC and the switch learns `n`'s port.
    fn vmac_frame(&mut self, now: Instant, n: usize, instance: InstanceId, interface: &str) {
        let Some(v) = self.vmacs[n].get(&instance.0) else {
            return;
        };
        if v.name != interface || !self.world.answers(n) {
            return;
        }
        let mac = v.mac;
        if self.world.frame_from(now, n, mac) {
            let name = self.variant.nodes[n].name.clone();
            let text = format!(
                "switch: {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} now at {name}",
                mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
            );
            self.event(now, Some(n), "switch", text);
            self.record_world(now);
        }
    }

    /// A daemon started on `n` (after its predecessor's VIPs were cleaned up).
    pub fn node_started(&mut self, now: Instant, n: usize, link_up: bool) {
        self.lvs_catch_up(now);
        self.settled_catch_up(now);
        self.inv.node_started(now, n);
        self.lvs.node_started(now, n);
        self.world.clear_node(now, n);
        self.world.set_answering(now, n, link_up);
        self.event(now, Some(n), "start", "daemon started".into());
        self.record_world(now);
    }

    /// Node `n`'s daemon is about to stop gracefully: the real-server faults it follows end
    /// unmeasured (its shutdown empties its IPVS table, which is no detection).
    pub fn node_stopping(&mut self, now: Instant, n: usize) {
        self.lvs_catch_up(now);
        self.settled_catch_up(now);
        self.lvs.node_gone(n);
    }

    /// The daemon of `n` is gone (after a stop's outputs were reported, or a crash): every
    /// Master instance stops being one, without a word.
    pub fn node_gone(&mut self, now: Instant, n: usize) {
        self.lvs_catch_up(now);
        self.settled_catch_up(now);
        self.inv.node_gone(now, n);
        self.lvs.node_gone(n);
        let keys = self.instance_keys(n);
        for (i, key) in keys.into_iter().enumerate() {
            if self.states[n][i] == State::Master {
                self.master_left(now, key, n);
            }
            self.states[n][i] = State::Initialize;
        }
        self.span(now, n, None);
        self.world.set_answering(now, n, false);
        self.record_world(now);
    }

    /// `n` now answers (alive and link up) or not.
    pub fn set_answering(&mut self, now: Instant, n: usize, answering: bool) {
        self.lvs_catch_up(now);
        self.settled_catch_up(now);
        self.world.set_answering(now, n, answering);
        self.record_world(now);
    }

    /// The network's health changed (no cut, no loss or burst, every link up, the configured
    /// latency).
    pub fn network_health(&mut self, now: Instant, healthy: bool) {
        self.settled_catch_up(now);
        self.inv.set_health(now, healthy);
        if !healthy {
            // A split that outlived its grace while the network was healthy counts, even if
            // it goes on through the fault.
            let open: Vec<((Family, u8), Instant)> = self
                .vrids
                .iter()
                .filter_map(|(k, t)| t.split_since.map(|s| (*k, s)))
                .collect();
            for (k, since) in open {
                self.split_check(now, k, since);
            }
        }
        self.healthy_since = if healthy {
            Some(self.healthy_since.unwrap_or(now))
        } else {
            None
        };
    }

    /// A check's behaviour changes; returns when its truth may next change.
    pub fn set_check(
        &mut self,
        now: Instant,
        node: usize,
        script: &str,
        behaviour: CheckBehaviour,
    ) -> Option<Instant> {
        self.settled_catch_up(now);
        self.inv.event(now);
        let next = self.checks.set(node, script, behaviour, now.offset());
        self.check_edge(now, node);
        next.map(Instant::from_offset)
    }

    /// A check's truth may have changed; returns when it may next change.
    pub fn check_edge_for(&mut self, now: Instant, node: usize, script: &str) -> Option<Instant> {
        // A flap edge: the ground truth changes, which the engine follows within `rise` /
        // `fall` runs.
        self.settled_catch_up(now);
        self.inv.event(now);
        self.check_edge(now, node);
        self.next_check_edge(node, script, now)
    }

    /// The first edge of `script`'s ground truth on `node` strictly after `t`.
    pub fn next_check_edge(&self, node: usize, script: &str, t: Instant) -> Option<Instant> {
        self.checks
            .next_edge(node, script, t.offset())
            .map(Instant::from_offset)
    }

    fn check_edge(&mut self, now: Instant, node: usize) {
        let failing = self.checks.node_failing(node, now.offset());
        self.world.set_unhealthy(now, node, failing);
    }

    /// What the run check `script` (an engine `RunCheck`) of `node` returns at `now`.
    pub fn run_check(
        &self,
        now: Instant,
        node: usize,
        script: vrrp_engine::ScriptId,
    ) -> CheckOutcome {
        let name = self.configs[node]
            .scripts
            .get(script.0 as usize)
            .map_or("", |s| s.name.as_str());
        self.check_outcome(now, node, name)
    }

    /// What a check of `node` returns at `now`.
    pub fn check_outcome(&self, now: Instant, node: usize, script: &str) -> CheckOutcome {
        if self.checks.failing(node, script, now.offset()) {
            CheckOutcome::Fail
        } else {
            CheckOutcome::Pass
        }
    }

    /// An advert reached node `to`.
    pub fn advert_delivered(&mut self, now: Instant, to: usize, src: IpAddr, payload: &[u8]) {
        self.settled_catch_up(now);
        if let (Some(vrid), Some(prio), Some(rx)) = (
            wire::peek_vrid(payload),
            wire::peek_priority(payload),
            self.last_rx.get_mut(to),
        ) {
            rx.insert((Family::of(&src), vrid), (now, prio));
        }
    }

    /// A gratuitous ARP / NA reached a client.
    pub fn client_announce(&mut self, now: Instant, client: usize, node: usize, addr: IpAddr) {
        self.lvs_catch_up(now);
        self.settled_catch_up(now);
        let before = self.world.arp_target();
        self.world.announce(now, client, node, addr);
        if client == 0 && before != self.world.arp_target() {
            let name = self.variant.nodes[node].name.clone();
            self.event(
                now,
                Some(node),
                "client_arp",
                format!("client 0 now sends {addr} to {name}"),
            );
        }
        self.record_world(now);
    }

    /// One output of node `n`'s engine (packets are the backend's to move; they are counted).
    pub fn output(&mut self, now: Instant, n: usize, out: &Output) {
        self.lvs_catch_up(now);
        self.settled_catch_up(now);
        if let Some(c) = &mut self.captured {
            match out {
                Output::StateChanged(x) => c.push(Captured::State {
                    at: now,
                    node: n,
                    instance: x.instance.0,
                    from: x.from,
                    to: x.to,
                }),
                Output::Transmit(x) => c.push(Captured::Transmit {
                    at: now,
                    node: n,
                    payload: x.payload.clone(),
                }),
                _ => {}
            }
        }
        if let Some(t) = &mut self.trace {
            t.output(now, n, &self.configs[n], out);
        }
        match out {
            Output::StateChanged(c) => self.state_changed(now, n, c),
            Output::Transmit(x) => {
                self.result.adverts_sent += 1;
                self.vmac_frame(now, n, x.instance, &x.interface);
            }
            Output::AddVip { vip, .. } => {
                self.world.add_vip(now, n, vip.addr);
                self.event(now, Some(n), "vip_add", vip.addr.to_string());
                self.record_world(now);
            }
            Output::RemoveVip { vip, .. } => {
                self.world.remove_vip(now, n, vip.addr);
                self.event(now, Some(n), "vip_del", vip.addr.to_string());
                self.record_world(now);
            }
            Output::Announce {
                addr,
                instance,
                interface,
            } => {
                self.inv.announce(n, instance.0, *addr);
                self.event(now, Some(n), "garp", addr.to_string());
                self.vmac_frame(now, n, *instance, interface);
            }
            Output::Ipvs(c) => {
                self.lvs.ipvs(now, n, c);
                self.event(now, Some(n), "ipvs", ipvs_detail(c));
            }
            Output::RealServerChanged {
                service,
                real_server,
                alive,
                ..
            } => self.event(
                now,
                Some(n),
                "real_server",
                format!(
                    "{real_server} of {service} {}",
                    if *alive { "up" } else { "down" }
                ),
            ),
            Output::QuorumChanged { service, up, .. } => self.event(
                now,
                Some(n),
                "quorum",
                format!("{service} quorum {}", if *up { "up" } else { "down" }),
            ),
            Output::SyncGroupChanged(c) => self.event(
                now,
                Some(n),
                "sync_group",
                format!("{} {} -> {}", c.group, c.from.as_str(), c.state_word()),
            ),
            Output::Alert(a) => self.event(now, Some(n), "alert", a.subject.clone()),
            Output::AddRoute { route, .. } => {
                self.event(now, Some(n), "route_add", route.to_string())
            }
            Output::RemoveRoute { route, .. } => {
                self.event(now, Some(n), "route_del", route.to_string())
            }
            Output::AddRule { rule, .. } => self.event(now, Some(n), "rule_add", rule.to_string()),
            Output::RemoveRule { rule, .. } => {
                self.event(now, Some(n), "rule_del", rule.to_string())
            }
            Output::BlockVips { vips, .. } => self.event(now, Some(n), "vip_block", addrs(vips)),
            Output::UnblockVips { vips, .. } => {
                self.event(now, Some(n), "vip_unblock", addrs(vips))
            }
            Output::ScriptChanged(c) => self.event(
                now,
                Some(n),
                "script",
                format!(
                    "{} {} ({:?}{})",
                    c.name,
                    if c.good { "succeeded" } else { "failed" },
                    c.outcome,
                    if c.first { ", first result" } else { "" }
                ),
            ),
            Output::PriorityChanged(c) => {
                let name = self.configs[n]
                    .instances
                    .get(c.instance.0 as usize)
                    .map_or("?", |i| i.name.as_str());
                let detail = format!("{name} priority {} -> {}", c.from, c.to);
                self.event(now, Some(n), "priority", detail)
            }
            Output::RunCheck { .. } | Output::RunProbe { .. } => {}
        }
    }

    fn instance_keys(&self, n: usize) -> Vec<(Family, u8)> {
        self.configs[n]
            .instances
            .iter()
            .map(|i| (i.family(), i.vrid))
            .collect()
    }

    fn state_changed(&mut self, now: Instant, n: usize, c: &StateChange) {
        let StateChange {
            instance,
            from,
            to,
            ref reason,
            priority,
            ..
        } = *c;
        let i = instance.0 as usize;
        if let Some(s) = self.states[n].get_mut(i) {
            *s = to;
        }
        if let Some((inv, detail)) = self.inv.transition(now, n, instance.0, to) {
            let name = self.configs[n]
                .instances
                .get(i)
                .map_or("?", |c| c.name.as_str());
            let node = &self.variant.nodes[n].name;
            self.violation(now, inv, format!("{name} on {node}: {detail}"));
        }
        let Some(&key) = self.instance_keys(n).get(i) else {
            return;
        };
        let name = self.configs[n].instances[i].name.clone();
        self.event(
            now,
            Some(n),
            "state",
            format!(
                "{name} {} -> {} ({}) prio {priority}",
                from.as_str(),
                to.as_str(),
                reason
            ),
        );
        if i == 0 {
            self.span(now, n, Some(to));
        }
        if from == State::Master && to != State::Master {
            self.master_left(now, key, n);
        }
        if to == State::Master {
            self.result.master_transitions += 1;
            if *reason == Reason::MasterDown {
                if let Some(&(rx, prio)) = self.last_rx[n].get(&key) {
                    self.result.takeover_after_last_advert.push(secs(now - rx));
                    let preempts = self.configs[n].instances.get(i).is_some_and(|c| c.preempt);
                    self.result.takeover_cause.push(if prio == 0 {
                        TakeoverCause::PriorityZero
                    } else if prio < priority && preempts {
                        TakeoverCause::Preemption
                    } else {
                        TakeoverCause::MasterSilent
                    });
                    // The theory is filled in from the engine's snapshot right after this
                    // output (check_invariants), with the priority and learned interval the
                    // timer ran with.
                    self.pending_theory.push((n, i, prio == 0));
                }
            }
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
            if t.masters.len() >= 2 {
                self.result.split_brain_episodes += 1;
                if t.split_since.is_none() {
                    t.split_since = Some(now);
                    t.split_reported = false;
                }
            }
        }
    }

    fn master_left(&mut self, now: Instant, key: (Family, u8), n: usize) {
        let t = self.vrids.entry(key).or_default();
        t.masters.remove(&n);
        if t.masters.is_empty() {
            t.lost_at = Some(now);
        }
        if t.masters.len() < 2 {
            if let Some(since) = t.split_since.take() {
                self.close_split(now, key, since);
            }
        }
    }

    fn close_split(&mut self, now: Instant, key: (Family, u8), since: Instant) {
        let d = now - since;
        self.result.split_brain += secs(d);
        self.split_check(now, key, since);
    }

    /// Invariant `single-master`: at most one Master per VRID once the network has been
    /// healthy longer than the largest Master_Down_Interval (any two Masters then heard each
    /// other's adverts, RFC 5798 §6.4.3); a later overlap (a preemption, a race of equal
    /// timers) lasts one propagation delay ([`Bounds::split_grace`]). Checked when the split
    /// ends, when the network stops being healthy and at the end of the run; reported once per
    /// split, at the instant it outlived its grace.
    ///
    /// [`Bounds::split_grace`]: crate::observe::invariants::Bounds::split_grace
    fn split_check(&mut self, now: Instant, key: (Family, u8), since: Instant) {
        let Some(h) = self.healthy_since else {
            return;
        };
        if self.vrids.get(&key).is_none_or(|t| t.split_reported) {
            return;
        }
        let b = self.inv.bounds();
        let limit = since.max(h + b.master_down) + b.split_grace();
        if now > limit {
            let detail = format!(
                "two Masters for VRID {} from {:.6} s to {:.6} s on a network healthy since {:.6} s",
                key.1,
                since.offset().as_secs_f64(),
                now.offset().as_secs_f64(),
                h.offset().as_secs_f64()
            );
            if let Some(t) = self.vrids.get_mut(&key) {
                t.split_reported = true;
            }
            self.violation(limit, "single-master", detail);
        }
    }

    fn violation(&mut self, now: Instant, invariant: &'static str, detail: String) {
        self.result.violations.push(Violation {
            at: now.offset().as_secs_f64(),
            invariant,
            detail,
        });
    }

    /// Check the per-node invariants against `engine`'s snapshot.
    pub fn check_invariants(&mut self, now: Instant, n: usize, engine: &Engine, link_up: bool) {
        let snap = engine.snapshot();
        self.note_theory(n, &snap);
        let plan = &self.variant.nodes[n];
        let cfg = &self.configs[n];
        let mut found = Vec::new();
        for s in &snap.instances {
            let Some(inst) = cfg.instances.get(s.id.0 as usize) else {
                continue;
            };
            // A VIP is installed exactly while its instance is Master.
            let installed = inst.vips.iter().all(|v| self.world.holds(n, v.addr));
            if !inst.vips.is_empty() && installed != (s.state == State::Master) {
                let what = if installed {
                    "installed"
                } else {
                    "not installed"
                };
                found.push((
                    "vip-iff-master",
                    format!(
                        "{} on {} is {} but its VIPs are {what}",
                        inst.name,
                        plan.name,
                        s.state.as_str()
                    ),
                ));
            }
            // FAULT exactly while a weight-0 tracked check fails (when nothing else faults it);
            // in a sync group, while one fails for any member (keepalived's `vrrp_sync_fault`).
            if s.state == State::Initialize || !link_up {
                continue;
            }
            let group = s
                .sync_group
                .as_ref()
                .and_then(|g| cfg.sync_groups.iter().find(|c| &c.name == g));
            let w0_failing = |refs: &[vrrp_engine::config::TrackRef]| {
                refs.iter().any(|t| {
                    snap.scripts
                        .iter()
                        .find(|sc| sc.name == t.name)
                        .is_some_and(|sc| {
                            let weight = cfg.scripts.get(sc.id.0 as usize).map_or(0, |c| c.weight);
                            t.weight.unwrap_or(weight) == 0 && sc.status == CheckStatus::Bad
                        })
                })
            };
            let members: Vec<&vrrp_engine::snapshot::InstanceSnapshot> = match &s.sync_group {
                Some(g) => snap
                    .instances
                    .iter()
                    .filter(|m| m.sync_group.as_ref() == Some(g))
                    .collect(),
                None => vec![s],
            };
            let w0_bad = group.is_some_and(|g| w0_failing(&g.track_scripts))
                || members.iter().any(|m| {
                    cfg.instances
                        .get(m.id.0 as usize)
                        .is_some_and(|i| w0_failing(&i.track_scripts))
                });
            let other_fault = members
                .iter()
                .any(|m| matches!(m.fault, Some(ref c) if !matches!(c, FaultCause::Script(_))));
            if !other_fault && w0_bad != (s.state == State::Fault) {
                let checks = if w0_bad { "failing" } else { "passing" };
                found.push((
                    "fault-iff-check-fails",
                    format!(
                        "{} on {} is {} while its weight-0 checks are {checks}",
                        inst.name,
                        plan.name,
                        s.state.as_str()
                    ),
                ));
            }
        }
        for (inv, d) in found {
            self.violation(now, inv, d);
        }
    }

    /// The RFC's takeover time for the takeovers just seen on node `n`: Skew_Time after a
    /// priority-0 advert, else Master_Down_Interval, with the priority the timer ran with
    /// (the transition's) and Master_Adver_Interval as learned.
    fn note_theory(&mut self, n: usize, snap: &vrrp_engine::Snapshot) {
        let pending: Vec<_> = self
            .pending_theory
            .iter()
            .copied()
            .filter(|p| p.0 == n)
            .collect();
        self.pending_theory.retain(|p| p.0 != n);
        for (_, i, after_stop) in pending {
            let Some(s) = snap.instances.iter().find(|s| s.id.0 as usize == i) else {
                continue;
            };
            let skew = vrrp_engine::timing::skew_time(
                s.version,
                s.effective_priority,
                s.master_adver_interval,
            );
            let theory = if after_stop {
                skew
            } else {
                s.master_adver_interval * 3 + skew
            };
            self.result.takeover_theory.push(secs(theory));
        }
    }

    fn span(&mut self, now: Instant, n: usize, state: Option<State>) {
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

    fn record_world(&mut self, now: Instant) {
        if let Some(rec) = &mut self.rec {
            let owner = self.world.serving().first().copied();
            if rec.vip_owner.last().map(|x| x.1) != Some(owner) {
                rec.vip_owner.push((now, owner));
            }
            let arp = self.world.arp_target();
            if rec.arp_target.last().map(|x| x.1) != Some(arp) {
                rec.arp_target.push((now, arp));
            }
        }
    }

    /// Close the run at `end`.
    pub fn finish(mut self, end: Instant) -> (RunResult, Option<Recording>) {
        self.lvs_catch_up(end);
        self.settled_catch_up(end);
        let coverage = self.inv.finish(end);
        self.result.settled_checks = coverage.settled_checks;
        self.result.quiet_s = coverage.quiet.as_secs_f64();
        self.world.advance(end);
        let open: Vec<((Family, u8), Instant)> = self
            .vrids
            .iter_mut()
            .filter_map(|(k, t)| t.split_since.take().map(|s| (*k, s)))
            .collect();
        for (k, since) in open {
            self.close_split(end, k, since);
        }
        for n in 0..self.open_spans.len() {
            let state = self.open_spans[n].1;
            self.span(end, n, state);
        }
        self.result.simulated_s = end.offset().as_secs_f64();
        self.result.downtime = secs(self.world.downtime);
        self.result.blackhole = secs(self.world.blackhole);
        self.result.unhealthy_served = secs(self.world.unhealthy_served);
        self.result.lvs = self.lvs.finish(end, &self.world);
        if let Some(rec) = &mut self.rec {
            rec.trace = self.trace.take();
        }
        if let (Some(rec), Some(c)) = (&mut self.rec, self.captured) {
            rec.captured = c;
        }
        (self.result, self.rec)
    }
}

/// An IPVS change as events.csv shows it.
fn ipvs_detail(c: &vrrp_engine::lvs::IpvsChange) -> String {
    use vrrp_engine::lvs::IpvsChange;
    match c {
        IpvsChange::AddService(s) => format!("add service {} {}", s.key, s.scheduler),
        IpvsChange::EditService(s) => format!("edit service {} {}", s.key, s.scheduler),
        IpvsChange::RemoveService(k) => format!("remove service {k}"),
        IpvsChange::AddDest { service, dest } => {
            format!("add {} to {service} weight {}", dest.addr, dest.weight)
        }
        IpvsChange::EditDest { service, dest } => {
            format!("edit {} of {service} weight {}", dest.addr, dest.weight)
        }
        IpvsChange::RemoveDest { service, addr } => format!("remove {addr} from {service}"),
    }
}

/// The addresses of an Accept_Mode firewall change, space-separated (events' detail).
fn addrs(vips: &[vrrp_engine::io::BlockedVip]) -> String {
    let words: Vec<String> = vips.iter().map(|v| v.addr.to_string()).collect();
    words.join(" ")
}

/// The VIPs of `config` that sit on a macvlan (`use_vmac`: the instance's family, no other
/// `dev`), with the virtual MAC clients resolve them to.
fn vmac_vips(config: &Config) -> Vec<(IpAddr, [u8; 6])> {
    let plan = vrrp_engine::vmac::plan(&config.instances, config.global.strict);
    config
        .instances
        .iter()
        .zip(plan)
        .filter_map(|(i, v)| Some((i, v?)))
        .flat_map(|(i, v)| {
            i.vips
                .iter()
                .chain(&i.vips_excluded)
                .filter(move |a| {
                    Family::of(&a.addr) == v.family
                        && a.dev.as_deref().is_none_or(|d| d == i.interface)
                })
                .map(move |a| (a.addr, v.mac))
        })
        .collect()
}

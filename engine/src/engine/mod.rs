//! [`Engine`]: all virtual routers of one host behind one sans-IO API.
//!
//! The driver contract (what may be batched, time, the order of outputs) is written out in
//! the crate documentation ([`crate`]). What lives where:
//! - this file: the engine's state, inputs, timers due, outputs, snapshot;
//! - [`reconfigure`](self::reconfigure): a new configuration applied to a running engine
//!   (keepalived's reload);
//! - `routes`: a tracked `virtual_routes` route or `virtual_rules` rule deleted behind a
//!   Master's back (keepalived 2.2.7 `set_vrrp_backup`);
//! - `sync`: `vrrp_sync_group`s, members that change state together (keepalived 2.2.7);
//! - `timers`: the deadline heap; `demux`: (interface, family, VRID) -> instance;
//!   `validate`: what makes a configuration runnable.

mod demux;
mod reconfigure;
mod routes;
mod sync;
mod timers;
mod validate;

pub use reconfigure::ReconfigureSummary;
pub use validate::ConfigError;

use crate::config::{
    Config, GlobalConfig, InstanceConfig, ScriptConfig, TrackFileConfig, TrackProcessConfig,
};
use crate::counters::{DiscardCounters, DiscardReason};
use crate::instance::{Ctx, Instance};
use crate::io::{
    CheckOutcome, FaultCause, Input, InstanceId, Output, RxPacket, ScriptId, State, TrackFileId,
    TrackProcessId,
};
use crate::lvs::{IpvsTable, Lvs};
use crate::snapshot::{
    InstanceSnapshot, ProcessSnapshot, ScriptSnapshot, Snapshot, SyncGroupSnapshot,
};
use crate::time::Instant;
use crate::tracking::Tracker;
use crate::types::Family;
use crate::wire::{DecodeError, Packet};
use demux::Demux;
use std::collections::VecDeque;
use timers::{Deadlines, TimerKey};

/// The VRRP engine of one host: every instance, every tracked check, one timer structure.
#[derive(Clone, Debug)]
pub struct Engine {
    global: GlobalConfig,
    /// Every instance configured, indexed by [`InstanceId`]. Instances removed by a
    /// reconfiguration stay (retired, inert) so outputs already emitted for them can still be
    /// resolved; a later reconfiguration, with no output pending, may give a retired slot to a
    /// new instance of the same name.
    instances: Vec<Instance>,
    /// The live instances in configuration order.
    order: Vec<u32>,
    demux: Demux,
    tracker: Tracker,
    /// Which scripts some live instance tracks (only those run), by [`ScriptId`].
    tracked_scripts: Vec<bool>,
    out: VecDeque<Output>,
    deadlines: Deadlines,
    /// When `vrrp_startup_delay` ends.
    start_at: Instant,
    /// The start-up deadline on the heap, while instances wait for it.
    startup_armed: Option<Instant>,
    /// The latest time seen: an earlier `now` is taken as this one.
    now: Instant,
    stopped: bool,
    unmatched: DiscardCounters,
    /// Packets discarded (not as our own or for an inactive instance) or accepted with
    /// another address list, ever ([`Engine::anomalies`]).
    anomalies: u64,
    /// The check engine: virtual servers, real servers, checkers.
    lvs: Lvs,
    /// The IPVS table the changes polled so far build.
    ipvs: IpvsTable,
    /// The live `vrrp_sync_group`s with at least one member ([`sync`]).
    groups: Vec<sync::SyncGroup>,
    /// During [`Engine::start_and_retrack`]: the instances starting in it, by index.
    starting: Vec<bool>,
}

fn decode_reason(e: DecodeError) -> DiscardReason {
    match e {
        DecodeError::Truncated { .. } | DecodeError::Length { .. } => DiscardReason::Length,
        DecodeError::Version(_) => DiscardReason::Version,
        DecodeError::Type(_) => DiscardReason::Type,
        DecodeError::V2OverIpv6 | DecodeError::MixedFamilies => DiscardReason::Family,
    }
}

impl Engine {
    /// Build the engine for `config` at time `now`.
    ///
    /// Instances start (RFC 5798 §6.4.1 Startup event) once the driver has reported their
    /// interface with [`Input::Interface`], and not before `vrrp_startup_delay` has passed.
    /// Tracked checks are first run at `now`. Virtual servers are programmed at once (the
    /// IPVS changes are the first outputs) and their checkers start 1 s later plus a part of
    /// their `warmup` drawn from seed 0: see [`Engine::with_seed`].
    pub fn new(config: Config, now: Instant) -> Result<Engine, ConfigError> {
        Engine::with_seed(config, now, 0)
    }

    /// [`Engine::new`] with the seed of the checkers' start-up spread (keepalived draws it
    /// from `random()`; a daemon passes a random seed, the simulator its experiment's).
    pub fn with_seed(config: Config, now: Instant, seed: u64) -> Result<Engine, ConfigError> {
        validate::check_config(&config)?;
        let tracker = Tracker::new(&config);
        let lvs = Lvs::new(
            &config.global,
            &config.virtual_servers,
            &config.virtual_server_groups,
            now,
            seed,
        );
        let mut engine = Engine {
            start_at: now + config.global.startup_delay,
            global: config.global,
            instances: Vec::with_capacity(config.instances.len()),
            order: Vec::with_capacity(config.instances.len()),
            demux: Demux::default(),
            tracker,
            tracked_scripts: Vec::new(),
            out: VecDeque::new(),
            deadlines: Deadlines::default(),
            startup_armed: None,
            now,
            stopped: false,
            unmatched: DiscardCounters::default(),
            anomalies: 0,
            lvs,
            ipvs: IpvsTable::default(),
            groups: Vec::new(),
            starting: Vec::new(),
        };
        let vmacs = crate::vmac::plan(&config.instances, engine.global.strict);
        for (cfg, vmac) in config.instances.into_iter().zip(vmacs) {
            let id = engine.instances.len() as u32;
            let mut inst = Instance::new(InstanceId(id), cfg);
            inst.set_vmac(vmac);
            engine.instances.push(inst);
            engine.order.push(id);
        }
        engine.build_groups(config.sync_groups, &[]);
        engine.rebuild_demux();
        engine.retrack_scripts(now);
        engine.lvs.start(&mut engine.out);
        for c in 0..engine.lvs.checkers.len() {
            engine.rearm_checker(c);
        }
        engine.settle();
        Ok(engine)
    }

    /// Feed one input at time `now`. Drain [`Engine::poll_output`] afterwards.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        let now = self.advance(now);
        match input {
            Input::ProbeResult {
                checker,
                seq,
                result,
            } => {
                if !self.stopped && self.lvs.result(checker, seq, &result, now, &mut self.out) {
                    self.rearm_checker(checker.0 as usize);
                }
            }
            Input::Packet(rx) => self.handle_packet(now, &rx),
            Input::Interface(update) => {
                self.tracker.interfaces.insert(update.name.clone(), update);
                self.start_and_retrack(now);
            }
            Input::CheckResult {
                script,
                seq,
                outcome,
            } => self.handle_check_result(now, script, seq, outcome),
            Input::TrackFile { file, value } => {
                if let Some(f) = self.tracker.files.get_mut(file.0 as usize) {
                    f.1 = value;
                    self.start_and_retrack(now);
                }
            }
            Input::ProcessCount {
                process,
                count,
                change,
            } => {
                if let Some(p) = self.tracker.processes.get_mut(process.0 as usize) {
                    let before = p.delay_until;
                    let changed = p.update(count, change, now);
                    if let Some(at) = p.delay_until.filter(|&at| before != Some(at)) {
                        self.deadlines.push(at, TimerKey::Process(process.0));
                    }
                    if changed {
                        self.start_and_retrack(now);
                    }
                }
            }
            Input::LocalAddress { addr, present } => {
                let changed = if present {
                    self.tracker.missing_sources.remove(&addr)
                } else {
                    self.tracker.missing_sources.insert(addr)
                };
                if changed {
                    self.start_and_retrack(now);
                }
            }
            Input::SetPriority { instance, priority } => {
                if let Some(i) = self.live_mut(instance) {
                    i.base_priority = priority.max(1);
                    self.start_and_retrack(now);
                }
            }
            Input::RouteDeleted { instance, route } => {
                self.handle_deleted(now, instance, crate::instance::Gone::Route(route))
            }
            Input::RuleDeleted { instance, rule } => {
                self.handle_deleted(now, instance, crate::instance::Gone::Rule(rule))
            }
            Input::Shutdown => self.shutdown(now),
        }
        self.settle();
    }

    /// Time never goes backwards: an earlier `now` than one already seen is taken as that one.
    fn advance(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    fn live_mut(&mut self, id: InstanceId) -> Option<&mut Instance> {
        self.instances.get_mut(id.0 as usize).filter(|i| !i.retired)
    }

    /// Runs `f` on instance `n` with the context it needs (its cached source address, the
    /// output queue, `global_defs`).
    fn with_instance<R>(
        &mut self,
        n: usize,
        f: impl FnOnce(&mut Instance, &mut Ctx<'_>) -> R,
    ) -> R {
        let sync = sync::view(&self.instances, &self.groups, n, &self.starting);
        let inst = &mut self.instances[n];
        let mut ctx = Ctx {
            out: &mut self.out,
            global: &self.global,
            src: inst.src,
            sync,
        };
        f(inst, &mut ctx)
    }

    fn shutdown(&mut self, now: Instant) {
        self.stopped = true;
        for k in 0..self.order.len() {
            let n = self.order[k] as usize;
            self.with_instance(n, |i, ctx| i.shutdown(ctx, now));
            self.instances[n].armed = None;
        }
        self.stop_groups(now);
        for s in &mut self.tracker.scripts {
            s.next_run = None;
        }
        // The checker process's exit: virtual servers out of IPVS.
        self.lvs.shutdown(&mut self.out);
        self.startup_armed = None;
        self.deadlines.clear();
    }

    fn handle_packet(&mut self, now: Instant, rx: &RxPacket<'_>) {
        let family = Family::of(&rx.src);
        if Family::of(&rx.dst) != family {
            self.unmatched.count(DiscardReason::Family);
            self.anomalies += 1;
            return;
        }
        let table = self.demux.table(rx.interface, family);
        let pkt = match Packet::new_checked(rx.payload, family) {
            Ok(p) => p,
            Err(e) => {
                // Attribute what we can to the instance the VRID byte names.
                let reason = decode_reason(e);
                match crate::wire::peek_vrid(rx.payload).and_then(|v| Demux::lookup(table, v)) {
                    Some(n) => self.instances[n].discard(reason),
                    None => self.unmatched.count(reason),
                }
                self.anomalies += 1;
                return;
            }
        };
        let Some(n) = Demux::lookup(table, pkt.vrid()) else {
            // RFC 5798 §7.1: "MUST verify that the VRID is configured on the receiving
            // interface ... If the above check fails, the receiver MUST discard the packet".
            self.unmatched.count(DiscardReason::Vrid);
            self.anomalies += 1;
            return;
        };
        // The source address is cached on the instance (refreshed on every interface or
        // tracking change): the receive path does no map lookups.
        let prev = self.instances[n].state;
        self.anomalies += self.with_instance(n, |i, ctx| {
            i.receive(ctx, now, &pkt, rx.src, rx.dst, rx.ttl)
        });
        self.rearm_instance(n);
        self.sync_after(n, prev, now);
    }

    fn handle_check_result(
        &mut self,
        now: Instant,
        script: ScriptId,
        seq: u64,
        outcome: CheckOutcome,
    ) {
        let Some(s) = self.tracker.scripts.get_mut(script.0 as usize) else {
            return;
        };
        if s.in_flight != Some(seq) {
            return; // stale or unknown: a newer run supersedes it
        }
        if self.apply_script(script.0 as usize, outcome, now) {
            self.start_and_retrack(now);
        }
    }

    /// Applies one result to script `s`; its first result and a change of its result come
    /// out as [`Output::ScriptChanged`] (before what they cause). Returns whether the
    /// result changed.
    fn apply_script(&mut self, s: usize, outcome: CheckOutcome, now: Instant) -> bool {
        let script = &mut self.tracker.scripts[s];
        let first = script.last_outcome.is_none();
        // `finish` records the run (time, counts) for the snapshot, then applies it.
        let changed = script.finish(now, outcome);
        if changed || first {
            self.out
                .push_back(Output::ScriptChanged(crate::io::ScriptChange {
                    script: ScriptId(s as u32),
                    name: script.cfg.name.clone(),
                    good: script.status == crate::tracking::CheckStatus::Good,
                    outcome,
                    first,
                    at: now,
                }));
        }
        changed
    }

    /// Start instances that can start, then re-evaluate tracking for all (configuration
    /// order). O(instances): runs on interface, check-status and priority changes only.
    fn start_and_retrack(&mut self, now: Instant) {
        let mut pending = false;
        // Members of a sync group starting now count with their own fault from the outset
        // (keepalived starts every member at once: a group with a member down starts in FAULT).
        let can_start_any = !self.stopped && now >= self.start_at;
        if can_start_any && !self.groups.is_empty() {
            self.starting = vec![false; self.instances.len()];
            for k in 0..self.order.len() {
                let n = self.order[k] as usize;
                let i = &self.instances[n];
                if i.started || i.group.is_none() || !self.interfaces_known(n) {
                    continue;
                }
                let verdict = self.tracker.evaluate(&i.cfg, &i.tracks, i.base_priority);
                self.instances[n].fault = verdict.fault;
                self.starting[n] = true;
            }
        }
        for k in 0..self.order.len() {
            let n = self.order[k] as usize;
            let prev = self.instances[n].state;
            let verdict = self.tracker.evaluate(
                &self.instances[n].cfg,
                &self.instances[n].tracks,
                self.instances[n].base_priority,
            );
            // While this event is handled, the old address stays the source if there is no
            // new one: a Master whose last address went sends its priority-0 advert from it
            // before FAULT, as keepalived 2.2.7 does (`netlink_if_address_filter` calls
            // `down_instance` before it forgets the address), so the Backup takes over after
            // Skew_Time (RFC 3768 §6.4.2).
            let new_src = self.tracker.source_address(&self.instances[n].cfg);
            self.instances[n].src = new_src.or(self.instances[n].src);
            let known = self.interfaces_known(n);
            let can_start = !self.stopped && known && now >= self.start_at;
            pending |= self.with_instance(n, |inst, ctx| {
                if !inst.started {
                    if can_start {
                        inst.start(ctx, now, verdict);
                        return false;
                    }
                    inst.priority = verdict.priority;
                    inst.fault = verdict.fault;
                    return known;
                }
                if inst.state != State::Initialize {
                    inst.apply_verdict(ctx, now, verdict);
                }
                false
            }) && !self.stopped;
            self.instances[n].src = new_src;
            if let Some(s) = self.starting.get_mut(n) {
                *s = false;
            }
            self.rearm_instance(n);
            self.sync_after(n, prev, now);
        }
        self.starting.clear();
        // Instances that know their interface and wait for `vrrp_startup_delay` get one
        // deadline for all of them.
        if !pending || now >= self.start_at {
            self.startup_armed = None;
        } else if self.startup_armed.is_none() {
            self.startup_armed = Some(self.start_at);
            self.deadlines.push(self.start_at, TimerKey::Startup);
        }
    }

    /// Whether the driver has reported instance `n`'s interface and every interface it
    /// tracks: it starts only then, so its first state uses the real link states (a tracked
    /// interface not yet reported would count as down: a FAULT, or a lower priority, at
    /// start that keepalived, which reads every interface before starting, never shows).
    fn interfaces_known(&self, n: usize) -> bool {
        let i = &self.instances[n];
        let known = |name: &str| self.tracker.interfaces.contains_key(name);
        known(&i.cfg.interface) && i.tracks.interfaces.iter().all(|t| known(&t.name))
    }

    /// Puts an instance's earliest deadline on the heap if it changed.
    fn rearm_instance(&mut self, n: usize) {
        let inst = &mut self.instances[n];
        let next = if self.stopped || inst.retired {
            None
        } else {
            inst.next_deadline()
        };
        if next != inst.armed {
            let old = std::mem::replace(&mut inst.armed, next);
            self.deadlines
                .rearm(old, next, TimerKey::Instance(n as u32));
        }
    }

    /// Puts a checker's next probe on the heap.
    fn rearm_checker(&mut self, c: usize) {
        if let Some(at) = self.lvs.checkers[c].next {
            self.deadlines.push(at, TimerKey::Checker(c as u32));
        }
    }

    /// Schedules a script to run at `at` (or stops it with `None`).
    fn schedule_script(&mut self, s: usize, at: Option<Instant>) {
        let script = &mut self.tracker.scripts[s];
        if script.next_run != at {
            script.next_run = at;
            if let Some(at) = at {
                self.deadlines.push(at, TimerKey::Script(s as u32));
            }
        }
    }

    /// Recomputes which scripts live instances track; a newly tracked script runs at `now`,
    /// an untracked one stops.
    fn retrack_scripts(&mut self, now: Instant) {
        let mut tracked = vec![false; self.tracker.scripts.len()];
        for &n in &self.order {
            for t in &self.instances[n as usize].tracks.scripts {
                if let Some(&ScriptId(s)) = self.tracker.script_index.get(&t.name) {
                    tracked[s as usize] = true;
                }
            }
        }
        for (s, &on) in tracked.iter().enumerate() {
            let was = self.tracked_scripts.get(s).copied().unwrap_or(false);
            if on && (!was || self.tracker.scripts[s].next_run.is_none()) {
                self.schedule_script(s, Some(now));
            } else if !on {
                self.schedule_script(s, None);
            }
        }
        self.tracked_scripts = tracked;
    }

    /// Drops stale heap heads so [`Engine::poll_timeout`] can peek; rebuilds the heap when
    /// stale entries pile up (a Backup pushes a new Master_Down_Timer on every advert).
    fn settle(&mut self) {
        let instances = &self.instances;
        let scripts = &self.tracker.scripts;
        let processes = &self.tracker.processes;
        let checkers = &self.lvs.checkers;
        let startup = self.startup_armed;
        let live = |at: Instant, key: TimerKey| match key {
            TimerKey::Startup => startup == Some(at),
            TimerKey::Script(s) => scripts[s as usize].next_run == Some(at),
            TimerKey::Process(p) => processes[p as usize].delay_until == Some(at),
            TimerKey::Instance(n) => instances[n as usize].armed == Some(at),
            TimerKey::Checker(c) => checkers.get(c as usize).is_some_and(|k| k.next == Some(at)),
        };
        if self.deadlines.len()
            > 4 * (self.order.len() + scripts.len() + processes.len() + checkers.len()) + 64
        {
            self.deadlines.compact(live);
        }
        self.deadlines.settle(live);
    }

    /// Run every timer due at `now`, earliest first. Idempotent; late and spurious calls
    /// are harmless. Costs O(log n) per timer due, whatever the number of instances.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        if self.stopped {
            return;
        }
        while let Some((at, key)) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            match key {
                TimerKey::Startup => {
                    if self.startup_armed == Some(at) {
                        self.startup_armed = None;
                        self.start_and_retrack(now);
                    }
                }
                TimerKey::Script(s) => {
                    if self.tracker.scripts[s as usize].next_run == Some(at) {
                        self.run_script(s as usize, at, now);
                    }
                }
                TimerKey::Process(p) => {
                    let st = &mut self.tracker.processes[p as usize];
                    if st.delay_until == Some(at) && st.delay_over() {
                        self.start_and_retrack(now);
                    }
                }
                TimerKey::Instance(n) => {
                    let n = n as usize;
                    if self.instances[n].armed == Some(at) {
                        self.instances[n].armed = None;
                        let prev = self.instances[n].state;
                        self.with_instance(n, |i, ctx| i.on_timeout(ctx, now));
                        self.rearm_instance(n);
                        self.sync_after(n, prev, now);
                    }
                }
                TimerKey::Checker(c) => {
                    // A reload may have shortened the table: stale entries point past it.
                    let due = self.lvs.checkers.get(c as usize).map(|k| k.next);
                    if due == Some(Some(at)) {
                        self.lvs.fire(c as usize, now, &mut self.out);
                    }
                }
            }
        }
        self.settle();
    }

    /// A script's interval came round at `at`: ask the driver to run it, once for every
    /// instance that tracks it.
    fn run_script(&mut self, s: usize, at: Instant, now: Instant) {
        let script = &mut self.tracker.scripts[s];
        let interval = script
            .cfg
            .interval
            .max(core::time::Duration::from_millis(1));
        let mut next = at + interval;
        if next <= now {
            next = now + interval;
        }
        let timeout = script.cfg.effective_timeout();
        let mut timed_out = false;
        let mut run = true;
        if script.in_flight.is_some() {
            // keepalived skips a run while the previous one is still going; one that has
            // outlived its timeout without a result counts as timed out.
            let issued = script.issued_at.unwrap_or(now);
            if now.saturating_duration_since(issued) < timeout {
                run = false;
            } else {
                timed_out = true;
            }
        }
        let status_changed = timed_out && self.apply_script(s, CheckOutcome::Timeout, now);
        let script = &mut self.tracker.scripts[s];
        if run {
            script.last_seq += 1;
            script.in_flight = Some(script.last_seq);
            script.issued_at = Some(now);
            script.last_started = Some(now);
            self.out.push_back(Output::RunCheck {
                script: ScriptId(s as u32),
                seq: script.last_seq,
                timeout,
            });
        }
        self.schedule_script(s, Some(next));
        if status_changed {
            self.start_and_retrack(now);
        }
    }

    fn rebuild_demux(&mut self) {
        let instances = &self.instances;
        self.demux = Demux::build(self.order.iter().map(|&n| {
            let i = &instances[n as usize];
            (i.id, &*i.advert_iface, i.family, i.cfg.vrid)
        }));
    }

    /// The next output, in the engine's order (see the crate docs); `None` when drained.
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.out.is_empty() {
            // The common case (a Backup's advert has no output): no move of an `Output`.
            return None;
        }
        let out = self.out.pop_front();
        if let Some(Output::Ipvs(change)) = &out {
            self.ipvs.apply(change);
        }
        out
    }

    /// The IPVS table as the engine wants it once every change polled so far is carried
    /// out (what `ipvsadm -Ln` should show, counters aside).
    pub fn ipvs_table(&self) -> &IpvsTable {
        &self.ipvs
    }

    /// When [`Engine::handle_timeout`] must next be called; `None` when nothing is pending.
    /// O(1).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        self.deadlines.peek().map(|(at, _)| at)
    }

    /// Whether the deadline [`Engine::poll_timeout`] names is a Backup's Master_Down_Timer
    /// (RFC 5798 §6.4.2): the one wake-up that makes an instance Master if no advert comes
    /// first. A driver may wake early for it and wait for the deadline on the CPU, hiding
    /// its OS's wake-up latency from the takeover (vrrpd-real's `--takeover-wake-early`).
    /// O(1).
    pub fn poll_timeout_is_takeover(&self) -> bool {
        match self.deadlines.peek() {
            Some((at, TimerKey::Instance(n))) if !self.stopped => {
                let i = &self.instances[n as usize];
                i.state == State::Backup && i.master_down_timer == Some(at)
            }
            _ => false,
        }
    }

    /// Whether a received advert other than a priority-0 one may be handed in late, with its
    /// arrival time, without changing any decision: no instance is Master. A Backup's advert
    /// only restarts its Master_Down_Timer from that time or is discarded (RFC 5798 §6.4.2);
    /// an instance in Initialize or FAULT ignores it; a Master must hear a better advert at
    /// once (§6.4.3). Priority 0 stays urgent (Skew_Time may be shorter than the delay). A
    /// driver may then read its sockets on a timer instead of on every datagram. O(instances).
    pub fn rx_may_wait(&self) -> bool {
        !self.stopped
            && self
                .order
                .iter()
                .all(|&n| self.instances[n as usize].state != State::Master)
    }

    /// The id of the live instance called `name`.
    pub fn instance_id(&self, name: &str) -> Option<InstanceId> {
        self.order
            .iter()
            .map(|&n| &self.instances[n as usize])
            .find(|i| i.cfg.name == name)
            .map(|i| i.id)
    }

    /// The ids of the live instances, in configuration order.
    pub fn instance_ids(&self) -> impl Iterator<Item = InstanceId> + '_ {
        self.order.iter().map(|&n| InstanceId(n))
    }

    /// The receive and send counters of instance `id` (live or retired): cheaper than a
    /// [`Engine::snapshot`] for a driver that summarises discards as they happen.
    pub fn counters(&self, id: InstanceId) -> Option<&crate::counters::InstanceCounters> {
        self.instances.get(id.0 as usize).map(|i| &i.counters)
    }

    /// Packets that matched no instance (unknown interface or VRID, unparseable), per reason.
    pub fn unmatched(&self) -> &DiscardCounters {
        &self.unmatched
    }

    /// How many packets were discarded (other than our own looped adverts and adverts to an
    /// instance in Initialize or FAULT), or accepted with an address list other than ours,
    /// since the engine was built: a driver that summarises them reads the counters only
    /// when this moved (O(1) per received batch).
    pub fn anomalies(&self) -> u64 {
        self.anomalies
    }

    /// The id of the `vrrp_script` called `name`.
    pub fn script_id(&self, name: &str) -> Option<ScriptId> {
        self.tracker.script_index.get(name).copied()
    }

    /// The configuration of an instance. Also answers for an instance a reconfiguration
    /// removed, so outputs emitted for it can still be resolved.
    pub fn instance_config(&self, id: InstanceId) -> Option<&InstanceConfig> {
        self.instances.get(id.0 as usize).map(|i| &i.cfg)
    }

    /// Every instance's configuration in [`InstanceId`] order (id `k` is the `k`-th), those a
    /// reconfiguration removed included: what a driver needs to resolve any output's id.
    pub fn instance_configs(
        &self,
    ) -> impl ExactSizeIterator<Item = &InstanceConfig> + DoubleEndedIterator + '_ {
        self.instances.iter().map(|i| &i.cfg)
    }

    /// Every script's configuration in [`ScriptId`] order (removed ones included).
    pub fn script_configs(&self) -> impl Iterator<Item = &ScriptConfig> + '_ {
        self.tracker.scripts.iter().map(|s| &s.cfg)
    }

    /// The `vrrp_track_file`s in force with their ids (by name), for a driver that reads the
    /// files and reports their values with [`Input::TrackFile`].
    pub fn track_files(&self) -> impl Iterator<Item = (TrackFileId, &TrackFileConfig)> + '_ {
        self.tracker
            .file_index
            .values()
            .map(|&i| (TrackFileId(i as u32), &self.tracker.files[i].0))
    }

    /// The `vrrp_track_process`es in force with their ids (by name), for a driver that
    /// counts matching processes and reports them with [`Input::ProcessCount`].
    pub fn track_processes(
        &self,
    ) -> impl Iterator<Item = (TrackProcessId, &TrackProcessConfig)> + '_ {
        self.tracker
            .process_index
            .values()
            .map(|&i| (TrackProcessId(i as u32), &self.tracker.processes[i].cfg))
    }

    /// The configuration of a script (also of one a reconfiguration removed).
    pub fn script_config(&self, id: ScriptId) -> Option<&ScriptConfig> {
        self.tracker.scripts.get(id.0 as usize).map(|s| &s.cfg)
    }

    /// The virtual service and the real server a checker probes for (`None` for an id the
    /// engine never gave out). A driver that models real servers (the simulator) answers
    /// [`Output::RunProbe`] for this real server, whatever the probe's own target.
    pub fn checker_owner(
        &self,
        id: crate::lvs::CheckerId,
    ) -> Option<(crate::lvs::ServiceKey, core::net::SocketAddr)> {
        let c = self.lvs.checkers.get(id.0 as usize)?;
        let vs = self.lvs.servers.get(c.vs)?;
        let rs = vs.real_servers.get(c.rs)?;
        Some((vs.key(), rs.plan.dest.addr))
    }

    /// The `global_defs` in force.
    pub fn global_config(&self) -> &GlobalConfig {
        &self.global
    }

    /// The macvlan of an instance (`use_vmac`), also of one a reload removed.
    pub fn vmac(&self, id: InstanceId) -> Option<&crate::vmac::Vmac> {
        self.instances.get(id.0 as usize)?.vmac.as_ref()
    }

    /// The macvlans of the live instances, in configuration order: the driver creates them
    /// before it runs the engine (at start-up, and before [`Engine::reconfigure`] for the
    /// new ones) and removes them after the shutdown's outputs (after a reload's outputs
    /// for those no longer listed), as keepalived 2.2.7 does. See [`crate::vmac`].
    pub fn vmacs(&self) -> impl Iterator<Item = (InstanceId, &crate::vmac::Vmac)> + '_ {
        self.order.iter().filter_map(|&n| {
            let i = &self.instances[n as usize];
            i.vmac.as_ref().map(|v| (i.id, v))
        })
    }

    /// The interface a packet for `vrid` that reached `interface` is read on, for a driver
    /// that models the kernel (the simulator): the macvlan of the instance with that VRID on
    /// `interface`, when it has one without `vmac_xmit_base` (keepalived reads its adverts
    /// there), else `interface`.
    pub fn advert_interface<'s>(&'s self, interface: &'s str, family: Family, vrid: u8) -> &'s str {
        self.order
            .iter()
            .map(|&n| &self.instances[n as usize])
            .find(|i| &*i.iface == interface && i.family == family && i.cfg.vrid == vrid)
            .map_or(interface, |i| &i.advert_iface)
    }

    /// The current state of an instance.
    pub fn state(&self, id: InstanceId) -> Option<State> {
        self.instances.get(id.0 as usize).map(|i| i.state)
    }

    /// The effective priority of an instance (after tracking), without building a
    /// [`Snapshot`]: cheap enough for a driver to follow after every drain.
    pub fn effective_priority(&self, id: InstanceId) -> Option<u8> {
        self.instances.get(id.0 as usize).map(|i| i.priority)
    }

    /// What holds an instance in FAULT on its own, if anything (the snapshot's `fault`,
    /// without building a [`Snapshot`]).
    pub fn fault_cause(&self, id: InstanceId) -> Option<&FaultCause> {
        self.instances.get(id.0 as usize)?.fault.as_ref()
    }

    /// A view of every live instance (configuration order) and every configured check.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            instances: self
                .order
                .iter()
                .map(|&n| {
                    let i = &self.instances[n as usize];
                    InstanceSnapshot {
                        id: i.id,
                        name: i.cfg.name.clone(),
                        interface: i.cfg.interface.clone(),
                        family: i.family,
                        vrid: i.cfg.vrid,
                        version: i.cfg.version,
                        state: i.state,
                        base_priority: i.base_priority,
                        effective_priority: i.priority,
                        fault: i.fault.clone(),
                        sync_group: i.group.map(|g| self.groups[g as usize].cfg.name.clone()),
                        master_address: i.master_addr,
                        master_priority: i.master_priority,
                        advert_interval: i.adver_interval,
                        master_adver_interval: i.master_adver_interval,
                        master_down_interval: i.master_down_interval(),
                        vips_installed: i.vips_installed,
                        next_timer: i.next_deadline(),
                        preempt_until: i.preempt_until,
                        last_transition: i.last_transition,
                        last_takeover: i.last_takeover,
                        counters: i.counters,
                    }
                })
                .collect(),
            scripts: self
                .tracker
                .scripts
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.retired)
                .map(|(n, s)| ScriptSnapshot {
                    id: ScriptId(n as u32),
                    name: s.cfg.name.clone(),
                    status: s.status,
                    consecutive_pass: s.consecutive_pass,
                    consecutive_fail: s.consecutive_fail,
                    last_outcome: s.last_outcome,
                    running: s.in_flight.is_some(),
                    tracked: self.tracked_scripts[n],
                    last_started: s.last_started,
                    last_run: s.last_run,
                    results: s.results,
                })
                .collect(),
            unmatched: self.unmatched,
            virtual_servers: self.lvs.snapshot(),
            sync_groups: self
                .groups
                .iter()
                .map(|g| SyncGroupSnapshot {
                    name: g.cfg.name.clone(),
                    state: g.state,
                    members: g.members.iter().map(|&m| InstanceId(m)).collect(),
                })
                .collect(),
            processes: self
                .track_processes()
                .map(|(id, _)| {
                    let p = &self.tracker.processes[id.0 as usize];
                    ProcessSnapshot {
                        id,
                        name: p.cfg.name.clone(),
                        count: p.count,
                        have_quorum: p.have_quorum,
                        delay_until: p.delay_until,
                    }
                })
                .collect(),
        }
    }
}

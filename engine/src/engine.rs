//! [`Engine`]: all virtual routers of one host behind one sans-IO API.
//!
//! The contract, after quinn-proto and str0m: feed [`Engine::handle`] and
//! [`Engine::handle_timeout`] with the current time, then drain [`Engine::poll_output`] until
//! `None` and sleep until [`Engine::poll_timeout`]. Nothing here reads a clock or draws a
//! random number, and nothing iterates a hash map, so the same inputs at the same times give
//! the same outputs.

use crate::config::Config;
use crate::counters::{DiscardCounters, DiscardReason};
use crate::instance::{Ctx, Instance};
use crate::io::{CheckOutcome, Input, InstanceId, Output, RxPacket, ScriptId, State};
use crate::snapshot::{InstanceSnapshot, ScriptSnapshot, Snapshot};
use crate::time::Instant;
use crate::tracking::Tracker;
use crate::types::{Family, Version};
use crate::wire::{DecodeError, Packet};
use core::fmt;
use std::collections::{BTreeMap, VecDeque};

/// A configuration the engine cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The instance concerned, if any.
    pub instance: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.instance {
            Some(i) => write!(f, "vrrp_instance {i}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

const NO_INSTANCE: u32 = u32::MAX;

/// VRID -> instance tables of one interface, one per family.
#[derive(Clone, Debug)]
struct InterfaceSlots {
    name: String,
    v4: Box<[u32; 256]>,
    v6: Box<[u32; 256]>,
}

/// The VRRP engine of one host.
#[derive(Clone, Debug)]
pub struct Engine {
    global: crate::config::GlobalConfig,
    instances: Vec<Instance>,
    slots: Vec<InterfaceSlots>,
    tracker: Tracker,
    /// Which scripts some instance tracks (only those run).
    tracked_scripts: Vec<bool>,
    out: VecDeque<Output>,
    start_at: Instant,
    stopped: bool,
    unmatched: DiscardCounters,
    /// When each in-flight check was issued.
    check_issued: BTreeMap<u32, Instant>,
}

fn err(instance: &str, message: String) -> ConfigError {
    ConfigError {
        instance: Some(instance.to_string()),
        message,
    }
}

fn check_config(config: &Config) -> Result<(), ConfigError> {
    let mut seen = BTreeMap::new();
    for i in &config.instances {
        if i.vrid == 0 {
            return Err(err(
                &i.name,
                "virtual_router_id 0 is not valid (1..255)".into(),
            ));
        }
        let family = i.family();
        if i.vips.iter().any(|v| Family::of(&v.addr) != family) {
            return Err(err(&i.name, "virtual_ipaddress mixes IPv4 and IPv6".into()));
        }
        if i.version == Version::V2 && family == Family::Ipv6 {
            return Err(err(
                &i.name,
                "VRRPv2 is IPv4 only (RFC 3768); use version 3 for IPv6".into(),
            ));
        }
        if i.unicast_peers
            .iter()
            .chain(&i.unicast_src)
            .any(|a| Family::of(a) != family)
        {
            return Err(err(
                &i.name,
                "unicast addresses are not of the VIPs' family".into(),
            ));
        }
        if let Some(other) = seen.insert((i.interface.clone(), family, i.vrid), i.name.clone()) {
            return Err(err(
                &i.name,
                format!(
                    "virtual_router_id {} on {} is already used by vrrp_instance {other}",
                    i.vrid, i.interface
                ),
            ));
        }
        for t in &i.track_scripts {
            if !config.scripts.iter().any(|s| s.name == t.name) {
                return Err(err(
                    &i.name,
                    format!("track_script {} names no vrrp_script", t.name),
                ));
            }
        }
        for t in &i.track_files {
            if !config.track_files.iter().any(|f| f.name == t.name) {
                return Err(err(
                    &i.name,
                    format!("track_file {} names no vrrp_track_file", t.name),
                ));
            }
        }
    }
    Ok(())
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
    /// Tracked checks are first run at `now`.
    pub fn new(config: Config, now: Instant) -> Result<Engine, ConfigError> {
        check_config(&config)?;
        let tracker = Tracker::new(&config);
        let mut tracked_scripts = vec![false; config.scripts.len()];
        for i in &config.instances {
            for t in &i.track_scripts {
                if let Some(&ScriptId(s)) = tracker.script_index.get(&t.name) {
                    tracked_scripts[s as usize] = true;
                }
            }
        }
        let mut slots: Vec<InterfaceSlots> = Vec::new();
        let mut instances = Vec::with_capacity(config.instances.len());
        for (n, cfg) in config.instances.into_iter().enumerate() {
            let pos = match slots.iter().position(|s| s.name == cfg.interface) {
                Some(p) => p,
                None => {
                    slots.push(InterfaceSlots {
                        name: cfg.interface.clone(),
                        v4: Box::new([NO_INSTANCE; 256]),
                        v6: Box::new([NO_INSTANCE; 256]),
                    });
                    slots.len() - 1
                }
            };
            let table = match cfg.family() {
                Family::Ipv4 => &mut slots[pos].v4,
                Family::Ipv6 => &mut slots[pos].v6,
            };
            table[usize::from(cfg.vrid)] = n as u32;
            instances.push(Instance::new(InstanceId(n as u32), cfg));
        }
        let mut engine = Engine {
            start_at: now + config.global.startup_delay,
            global: config.global,
            instances,
            slots,
            tracker,
            tracked_scripts,
            out: VecDeque::new(),
            stopped: false,
            unmatched: DiscardCounters::default(),
            check_issued: BTreeMap::new(),
        };
        for (i, s) in engine.tracker.scripts.iter_mut().enumerate() {
            if engine.tracked_scripts[i] {
                s.next_run = Some(now);
            }
        }
        Ok(engine)
    }

    /// Feed one input at time `now`. Drain [`Engine::poll_output`] afterwards.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        match input {
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
            Input::SetPriority { instance, priority } => {
                if let Some(i) = self.instances.get_mut(instance.0 as usize) {
                    i.base_priority = priority.max(1);
                    self.start_and_retrack(now);
                }
            }
            Input::Shutdown => {
                self.stopped = true;
                for n in 0..self.instances.len() {
                    let src = self.tracker.source_address(&self.instances[n].cfg);
                    let mut ctx = Ctx {
                        out: &mut self.out,
                        global: &self.global,
                        src,
                    };
                    self.instances[n].shutdown(&mut ctx, now);
                }
                for s in &mut self.tracker.scripts {
                    s.next_run = None;
                }
            }
        }
    }

    fn handle_packet(&mut self, now: Instant, rx: &RxPacket<'_>) {
        let family = Family::of(&rx.src);
        if Family::of(&rx.dst) != family {
            self.unmatched.count(DiscardReason::Family);
            return;
        }
        let slot = self
            .slots
            .iter()
            .find(|s| s.name == rx.interface)
            .map(|s| match family {
                Family::Ipv4 => &s.v4,
                Family::Ipv6 => &s.v6,
            });
        let lookup = |vrid: u8| {
            slot.map(|t| t[usize::from(vrid)])
                .filter(|&n| n != NO_INSTANCE)
                .map(|n| n as usize)
        };
        let pkt = match Packet::new_checked(rx.payload, family) {
            Ok(p) => p,
            Err(e) => {
                // Attribute what we can to the instance the VRID byte names.
                let reason = decode_reason(e);
                match crate::wire::peek_vrid(rx.payload).and_then(lookup) {
                    Some(n) => self.instances[n].discard(reason),
                    None => self.unmatched.count(reason),
                }
                return;
            }
        };
        let Some(n) = lookup(pkt.vrid()) else {
            // RFC 5798 §7.1: "MUST verify that the VRID is configured on the receiving
            // interface ... If the above check fails, the receiver MUST discard the packet".
            self.unmatched.count(DiscardReason::Vrid);
            return;
        };
        // The source address is cached on the instance (refreshed on every interface or
        // tracking change): the receive path does no map lookups.
        let src = self.instances[n].src;
        let mut ctx = Ctx {
            out: &mut self.out,
            global: &self.global,
            src,
        };
        self.instances[n].receive(&mut ctx, now, &pkt, rx.src, rx.dst, rx.ttl);
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
        s.in_flight = None;
        self.check_issued.remove(&script.0);
        if s.apply(outcome) {
            self.start_and_retrack(now);
        }
    }

    /// Start instances that can start, then re-evaluate tracking for all.
    fn start_and_retrack(&mut self, now: Instant) {
        for n in 0..self.instances.len() {
            let verdict = self
                .tracker
                .evaluate(&self.instances[n].cfg, self.instances[n].base_priority);
            let src = self.tracker.source_address(&self.instances[n].cfg);
            let inst = &mut self.instances[n];
            inst.src = src;
            let mut ctx = Ctx {
                out: &mut self.out,
                global: &self.global,
                src,
            };
            if !inst.started {
                let known = self.tracker.interfaces.contains_key(&inst.cfg.interface);
                if !self.stopped && known && now >= self.start_at {
                    inst.start(&mut ctx, now, verdict);
                } else {
                    inst.priority = verdict.priority;
                    inst.fault = verdict.fault;
                }
            } else if inst.state != State::Initialize {
                inst.apply_verdict(&mut ctx, now, verdict);
            }
        }
    }

    /// Run every timer due at `now`. Idempotent; late and spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stopped {
            return;
        }
        // Checks due: ask the driver to run them.
        let mut status_changed = false;
        for (i, s) in self.tracker.scripts.iter_mut().enumerate() {
            let Some(at) = s.next_run.filter(|&at| at <= now) else {
                continue;
            };
            let interval = s.cfg.interval.max(core::time::Duration::from_millis(1));
            let mut next = at + interval;
            if next <= now {
                next = now + interval;
            }
            s.next_run = Some(next);
            if s.in_flight.is_some() {
                // keepalived skips a run while the previous one is still going; one that has
                // outlived its timeout without a result counts as timed out.
                let issued = self.check_issued.get(&(i as u32)).copied().unwrap_or(now);
                if now.saturating_duration_since(issued) < s.cfg.effective_timeout() {
                    continue;
                }
                s.in_flight = None;
                status_changed |= s.apply(CheckOutcome::Timeout);
            }
            s.last_seq += 1;
            s.in_flight = Some(s.last_seq);
            self.check_issued.insert(i as u32, now);
            self.out.push_back(Output::RunCheck {
                script: ScriptId(i as u32),
                seq: s.last_seq,
                timeout: s.cfg.effective_timeout(),
            });
        }
        if status_changed || self.instances.iter().any(|i| !i.started) {
            self.start_and_retrack(now);
        }
        for n in 0..self.instances.len() {
            if self.instances[n].next_deadline().is_none_or(|d| d > now) {
                continue;
            }
            let src = self.instances[n].src;
            let mut ctx = Ctx {
                out: &mut self.out,
                global: &self.global,
                src,
            };
            self.instances[n].on_timeout(&mut ctx, now);
        }
    }

    /// The next output, in causal order; `None` when drained.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Engine::handle_timeout`] must next be called; `None` when nothing is pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        let scripts = self.tracker.scripts.iter().filter_map(|s| s.next_run);
        let instances = self.instances.iter().filter_map(|i| i.next_deadline());
        let startup = self
            .instances
            .iter()
            .any(|i| !i.started && self.tracker.interfaces.contains_key(&i.cfg.interface))
            .then_some(self.start_at);
        scripts.chain(instances).chain(startup).min()
    }

    /// The id of the instance called `name`.
    pub fn instance_id(&self, name: &str) -> Option<InstanceId> {
        self.instances
            .iter()
            .find(|i| i.cfg.name == name)
            .map(|i| i.id)
    }

    /// The id of the `vrrp_script` called `name`.
    pub fn script_id(&self, name: &str) -> Option<ScriptId> {
        self.tracker.script_index.get(name).copied()
    }

    /// The configuration of an instance.
    pub fn instance_config(&self, id: InstanceId) -> Option<&crate::config::InstanceConfig> {
        self.instances.get(id.0 as usize).map(|i| &i.cfg)
    }

    /// The current state of an instance.
    pub fn state(&self, id: InstanceId) -> Option<State> {
        self.instances.get(id.0 as usize).map(|i| i.state)
    }

    /// A view of every instance and check.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            instances: self
                .instances
                .iter()
                .map(|i| InstanceSnapshot {
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
                    master_address: i.master_addr,
                    master_priority: i.master_priority,
                    advert_interval: i.adver_interval,
                    master_adver_interval: i.master_adver_interval,
                    master_down_interval: i.master_down_interval(),
                    vips_installed: i.vips_installed,
                    next_timer: i.next_deadline(),
                    preempt_until: i.preempt_until,
                    last_transition: i.last_transition,
                    counters: i.counters,
                })
                .collect(),
            scripts: self
                .tracker
                .scripts
                .iter()
                .enumerate()
                .map(|(n, s)| ScriptSnapshot {
                    id: ScriptId(n as u32),
                    name: s.cfg.name.clone(),
                    status: s.status,
                    consecutive_pass: s.consecutive_pass,
                    consecutive_fail: s.consecutive_fail,
                    last_outcome: s.last_outcome,
                    running: s.in_flight.is_some(),
                    tracked: self.tracked_scripts[n],
                })
                .collect(),
            unmatched: self.unmatched,
        }
    }
}

//! keepalived-style tracking: `vrrp_script` checks with rise/fall, tracked interfaces,
//! tracked files and tracked processes, and the effective priority or FAULT they give an
//! instance.
//!
//! Weight semantics (keepalived's, see `notes/keepalived-users.md` §4): weight 0 means FAULT
//! while failing; a positive weight is added while passing; a negative weight is added while
//! failing. The effective priority is clamped to 1..=254; an owner (255) stays 255.

use crate::config::{
    Config, InstanceConfig, ScriptConfig, SyncGroupConfig, TrackFileConfig, TrackProcessConfig,
    TrackProcessRef, TrackRef,
};
use crate::io::{CheckOutcome, FaultCause, InterfaceUpdate, ProcessChange, ScriptId};
use crate::snapshot::{ProbeRecord, ScriptResults};
use crate::time::Instant;
use crate::types::{Family, PRIORITY_OWNER};
use core::net::IpAddr;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Status of a check as rise/fall see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// No result yet: neither a positive nor a negative weight applies (keepalived 2.2.7
    /// `SCRIPT_INIT_STATE_INIT`); the first result decides, whatever `rise` and `fall`.
    Unknown,
    /// Passing (or not yet failed `fall` times).
    Good,
    /// Failing (until it passes `rise` times).
    Bad,
}

/// Runtime state of one `vrrp_script`.
#[derive(Clone, Debug)]
pub(crate) struct ScriptState {
    pub cfg: ScriptConfig,
    pub status: CheckStatus,
    pub consecutive_pass: u32,
    pub consecutive_fail: u32,
    /// Next scheduled run; `None` when no instance tracks it.
    pub next_run: Option<Instant>,
    /// Sequence number of the run in flight.
    pub in_flight: Option<u64>,
    /// When the run in flight was asked for.
    pub issued_at: Option<Instant>,
    /// Removed by a reconfiguration: kept so its id is never reused, never run.
    pub retired: bool,
    pub last_seq: u64,
    pub last_outcome: Option<CheckOutcome>,
    /// When the run in flight, or else the last one, was asked for.
    pub last_started: Option<Instant>,
    /// The last run that ended.
    pub last_run: Option<ProbeRecord>,
    /// Results since start.
    pub results: ScriptResults,
}

impl ScriptState {
    pub fn new(cfg: ScriptConfig) -> Self {
        // keepalived 2.2.7 starts every tracked script in `SCRIPT_INIT_STATE_INIT`: its
        // `alloc_track_script` resets the `SCRIPT_INIT_STATE_FAILED` of `init_fail`, so
        // `init_fail` has no effect there (docs/keepalived-differences.md).
        ScriptState {
            cfg,
            status: CheckStatus::Unknown,
            consecutive_pass: 0,
            consecutive_fail: 0,
            next_run: None,
            in_flight: None,
            issued_at: None,
            retired: false,
            last_seq: 0,
            last_outcome: None,
            last_started: None,
            last_run: None,
            results: ScriptResults::default(),
        }
    }

    /// The run in flight ended at `now` with `outcome` (also one the engine timed out): its
    /// time and count are recorded, then the result applies ([`ScriptState::apply`]).
    /// Returns whether the status changed.
    pub fn finish(&mut self, now: Instant, outcome: CheckOutcome) -> bool {
        let started = self.issued_at.take().unwrap_or(now);
        self.in_flight = None;
        self.last_run = Some(ProbeRecord {
            started,
            ended: now,
            passed: outcome == CheckOutcome::Pass,
        });
        let n = match outcome {
            CheckOutcome::Pass => &mut self.results.pass,
            CheckOutcome::Fail => &mut self.results.fail,
            CheckOutcome::Timeout => &mut self.results.timeout,
        };
        *n += 1;
        self.apply(outcome)
    }

    /// Apply one result; returns whether the status changed.
    pub fn apply(&mut self, outcome: CheckOutcome) -> bool {
        self.last_outcome = Some(outcome);
        let before = self.status;
        // keepalived 2.2.7 `vrrp_init_script` sets the first result to `rise - 1`, so one
        // pass is enough ("one success is enough"), and `vrrp_script_child_thread` takes the
        // first failure as a failure whatever `fall`.
        if self.status == CheckStatus::Unknown {
            self.status = match outcome {
                CheckOutcome::Pass => CheckStatus::Good,
                CheckOutcome::Fail | CheckOutcome::Timeout => CheckStatus::Bad,
            };
        }
        match outcome {
            CheckOutcome::Pass => {
                self.consecutive_pass = self.consecutive_pass.saturating_add(1);
                self.consecutive_fail = 0;
                if self.status == CheckStatus::Bad && self.consecutive_pass >= self.cfg.rise.max(1)
                {
                    self.status = CheckStatus::Good;
                }
            }
            CheckOutcome::Fail | CheckOutcome::Timeout => {
                self.consecutive_fail = self.consecutive_fail.saturating_add(1);
                self.consecutive_pass = 0;
                if self.status == CheckStatus::Good && self.consecutive_fail >= self.cfg.fall.max(1)
                {
                    self.status = CheckStatus::Bad;
                }
            }
        }
        before != self.status
    }
}

/// Runtime state of one `vrrp_track_process` (keepalived 2.2.7 `vrrp_tracked_process_t`).
#[derive(Clone, Debug)]
pub(crate) struct ProcessState {
    pub cfg: TrackProcessConfig,
    /// Matching processes as the driver last reported.
    pub count: u32,
    /// Whether the quorum counts as met (lags `count` while a delay runs).
    pub have_quorum: bool,
    /// A running `fork_delay` or `terminate_delay`: when it ends, `have_quorum` follows
    /// `count`.
    pub delay_until: Option<Instant>,
}

impl ProcessState {
    pub fn new(cfg: TrackProcessConfig) -> Self {
        ProcessState {
            have_quorum: cfg.in_quorum(0),
            cfg,
            count: 0,
            delay_until: None,
        }
    }

    /// A new count at `now`, keepalived 2.2.7's `check_process` / `check_process_fork` /
    /// `check_process_termination` folded into counts: a count back on the side of the
    /// current verdict cancels a running delay; a count that crosses the quorum's bounds
    /// changes the verdict at once, or after `fork_delay` when a fork crossed it (up into
    /// the quorum or past `quorum_max`) and after `terminate_delay` when an exit did. While
    /// a delay runs, further crossings the same way wait for it. Returns whether
    /// `have_quorum` changed now.
    pub fn update(&mut self, count: u32, change: ProcessChange, now: Instant) -> bool {
        self.count = count;
        let want = self.cfg.in_quorum(count);
        if want == self.have_quorum {
            self.delay_until = None;
            return false;
        }
        if self.delay_until.is_some() {
            return false;
        }
        let delay = match change {
            ProcessChange::Fork => self.cfg.fork_delay,
            ProcessChange::Exit => self.cfg.terminate_delay,
            ProcessChange::Other => core::time::Duration::ZERO,
        };
        if delay.is_zero() {
            self.have_quorum = want;
            return true;
        }
        self.delay_until = Some(now + delay);
        false
    }

    /// The delay ended: the verdict follows the count (`process_gained_quorum_timer_thread`,
    /// `process_lost_quorum_timer_thread`). Returns whether it changed.
    pub fn delay_over(&mut self) -> bool {
        self.delay_until = None;
        let want = self.cfg.in_quorum(self.count);
        let changed = want != self.have_quorum;
        self.have_quorum = want;
        changed
    }
}

/// One tracked process of an instance, weight and direction resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProcessTrack {
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
}

/// Everything tracked on one host: scripts, interfaces, files, processes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tracker {
    pub scripts: Vec<ScriptState>,
    pub script_index: BTreeMap<String, ScriptId>,
    pub files: Vec<(TrackFileConfig, i64)>,
    pub file_index: BTreeMap<String, usize>,
    /// Every `vrrp_track_process` ever configured, by id; removed ones stay (never
    /// reported again), so ids are never reused.
    pub processes: Vec<ProcessState>,
    pub process_index: BTreeMap<String, usize>,
    pub interfaces: BTreeMap<String, InterfaceUpdate>,
    /// Configured source addresses the driver reported absent from the host
    /// ([`crate::Input::LocalAddress`]).
    pub missing_sources: std::collections::BTreeSet<IpAddr>,
}

/// What one instance tracks, its sync group taken into account, every weight resolved
/// (`Some`): the lists [`Tracker::evaluate`] reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tracks {
    pub scripts: Vec<TrackRef>,
    pub interfaces: Vec<TrackRef>,
    pub files: Vec<TrackRef>,
    pub processes: Vec<ProcessTrack>,
}

/// A member's sync group as tracking sees it: its configuration and whether any member is
/// an address owner (priority 255).
#[derive(Clone, Copy, Debug)]
pub(crate) struct GroupTracking<'a> {
    pub cfg: &'a SyncGroupConfig,
    pub has_owner: bool,
}

impl Tracks {
    /// The tracked items of `cfg`, with keepalived 2.2.7's sync-group rules:
    /// - `vrrp_complete_instance`: unless the group sets `sync_group_tracking_weight`, a
    ///   member's own weighted scripts are dropped, its weighted interfaces count with weight
    ///   0 (FAULT while down), its files with the default weight 1 count with weight 0 and
    ///   those with another weight are dropped;
    /// - `sync_group_tracking_init`: the group's scripts, interfaces and files are tracked by
    ///   every member, with weight 0 if any member is an address owner; an item the member
    ///   already tracks takes the group's weight unless the member's own weight is 0.
    pub fn of(cfg: &InstanceConfig, group: Option<GroupTracking<'_>>, tracker: &Tracker) -> Tracks {
        let script_weight = |t: &TrackRef| {
            let own = tracker
                .script_index
                .get(&t.name)
                .and_then(|&ScriptId(i)| tracker.scripts.get(i as usize))
                .map_or(0, |s| s.cfg.weight);
            t.weight.unwrap_or(own)
        };
        let file_weight = |t: &TrackRef| {
            let own = tracker
                .file_index
                .get(&t.name)
                .and_then(|&i| tracker.files.get(i))
                .map_or(1, |f| f.0.weight);
            t.weight.unwrap_or(own)
        };
        let resolved = |t: &TrackRef, w: i32| TrackRef {
            name: t.name.clone(),
            weight: Some(w),
        };
        let process = |t: &TrackProcessRef| {
            let own = tracker
                .process_index
                .get(&t.name)
                .and_then(|&i| tracker.processes.get(i))
                .map(|p| (p.cfg.weight, p.cfg.reverse));
            let (w, r) = own.unwrap_or((0, false));
            ProcessTrack {
                name: t.name.clone(),
                weight: t.weight.unwrap_or(w),
                reverse: t.reverse.unwrap_or(r),
            }
        };
        let keep_weights = group.is_none_or(|g| g.cfg.tracking_weight);
        let mut tracks = Tracks::default();
        for t in &cfg.track_scripts {
            let w = script_weight(t);
            if keep_weights || w == 0 {
                tracks.scripts.push(resolved(t, w));
            }
        }
        for t in &cfg.track_interfaces {
            let w = t.weight.unwrap_or(0);
            tracks
                .interfaces
                .push(resolved(t, if keep_weights { w } else { 0 }));
        }
        for t in &cfg.track_files {
            let w = file_weight(t);
            match (keep_weights, w) {
                (true, _) | (false, 0) => tracks.files.push(resolved(t, w)),
                (false, 1) => tracks.files.push(resolved(t, 0)),
                (false, _) => {}
            }
        }
        // keepalived 2.2.7 `vrrp_complete_instance` leaves a member's own tracked processes
        // and their weights alone, whatever the group says.
        for t in &cfg.track_processes {
            if !tracks.processes.iter().any(|p| p.name == t.name) {
                tracks.processes.push(process(t));
            }
        }
        let Some(g) = group else {
            return tracks;
        };
        let merge = |list: &mut Vec<TrackRef>, t: &TrackRef, w: i32| {
            let w = if g.has_owner { 0 } else { w };
            match list.iter_mut().find(|o| o.name == t.name) {
                Some(o) if o.weight != Some(0) => o.weight = Some(w),
                Some(_) => {}
                None => list.push(resolved(t, w)),
            }
        };
        for t in &g.cfg.track_scripts {
            merge(&mut tracks.scripts, t, script_weight(t));
        }
        for t in &g.cfg.track_interfaces {
            merge(&mut tracks.interfaces, t, t.weight.unwrap_or(0));
        }
        for t in &g.cfg.track_files {
            merge(&mut tracks.files, t, file_weight(t));
        }
        // `add_vrrp_to_track_process`: as for the others, but the member keeps its own
        // direction when it already tracks the process.
        for t in &g.cfg.track_processes {
            let mut p = process(t);
            if g.has_owner {
                p.weight = 0;
            }
            match tracks.processes.iter_mut().find(|o| o.name == t.name) {
                Some(o) if o.weight != 0 => o.weight = p.weight,
                Some(_) => {}
                None => tracks.processes.push(p),
            }
        }
        tracks
    }
}

/// What tracking makes of an instance right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub fault: Option<FaultCause>,
    pub priority: u8,
}

impl Tracker {
    /// Takes a new configuration's scripts and files, matched by name (keepalived's reload):
    /// a kept script keeps its status, counters and any run in flight, with the new
    /// settings; a kept file keeps its value; new ones are appended (new ids); removed
    /// scripts are retired, so a late result for them is ignored.
    pub fn reconfigure(&mut self, config: &Config) {
        let mut kept = vec![false; self.scripts.len()];
        let mut script_index = BTreeMap::new();
        for cfg in &config.scripts {
            let id = match self.script_index.get(&cfg.name) {
                Some(&ScriptId(i)) => {
                    kept[i as usize] = true;
                    self.scripts[i as usize].cfg = cfg.clone();
                    ScriptId(i)
                }
                None => {
                    self.scripts.push(ScriptState::new(cfg.clone()));
                    ScriptId(self.scripts.len() as u32 - 1)
                }
            };
            script_index.insert(cfg.name.clone(), id);
        }
        for (s, kept) in self.scripts.iter_mut().zip(kept) {
            if !kept {
                s.retired = true;
                s.in_flight = None;
                s.issued_at = None;
                s.next_run = None;
            }
        }
        self.script_index = script_index;
        let mut file_index = BTreeMap::new();
        for f in &config.track_files {
            let i = match self.file_index.get(&f.name) {
                Some(&i) => {
                    self.files[i].0 = f.clone();
                    i
                }
                None => {
                    self.files.push((f.clone(), f.init_value.unwrap_or(0)));
                    self.files.len() - 1
                }
            };
            file_index.insert(f.name.clone(), i);
        }
        self.file_index = file_index;
        // keepalived re-reads /proc on reload and sets every quorum from the count it finds:
        // a kept process keeps its count (the driver scans again) with no delay running.
        let mut process_index = BTreeMap::new();
        for p in &config.track_processes {
            let i = match self.process_index.get(&p.name) {
                Some(&i) => {
                    let st = &mut self.processes[i];
                    st.cfg = p.clone();
                    st.delay_until = None;
                    st.have_quorum = st.cfg.in_quorum(st.count);
                    i
                }
                None => {
                    self.processes.push(ProcessState::new(p.clone()));
                    self.processes.len() - 1
                }
            };
            process_index.insert(p.name.clone(), i);
        }
        self.process_index = process_index;
    }

    pub fn new(config: &Config) -> Self {
        let scripts = config
            .scripts
            .iter()
            .cloned()
            .map(ScriptState::new)
            .collect();
        let script_index = config
            .scripts
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), ScriptId(i as u32)))
            .collect();
        let files = config
            .track_files
            .iter()
            .map(|f| (f.clone(), f.init_value.unwrap_or(0)))
            .collect();
        let file_index = config
            .track_files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect();
        let processes = config
            .track_processes
            .iter()
            .cloned()
            .map(ProcessState::new)
            .collect();
        let process_index = config
            .track_processes
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        Tracker {
            scripts,
            script_index,
            files,
            file_index,
            processes,
            process_index,
            interfaces: BTreeMap::new(),
            missing_sources: Default::default(),
        }
    }

    /// The address an instance sends from and breaks ties with.
    pub fn source_address(&self, cfg: &InstanceConfig) -> Option<IpAddr> {
        if let Some(src) = cfg.unicast_src {
            return Some(src);
        }
        let iface = self.interfaces.get(&cfg.interface)?;
        match cfg.family() {
            Family::Ipv4 => iface.ipv4.map(IpAddr::V4),
            Family::Ipv6 => iface.ipv6_link_local.map(IpAddr::V6),
        }
    }

    fn interface_up(&self, name: &str) -> bool {
        self.interfaces.get(name).is_some_and(|i| i.up)
    }

    /// Effective priority or FAULT of an instance with base priority `base` that tracks
    /// `tracks` (see [`Tracks::of`]).
    pub fn evaluate(&self, cfg: &InstanceConfig, tracks: &Tracks, base: u8) -> Verdict {
        let mut fault = None;
        let mut sum: i64 = 0;
        if !cfg.dont_track_primary && !self.interface_up(&cfg.interface) {
            fault = Some(FaultCause::InterfaceDown(cfg.interface.clone()));
        }
        if fault.is_none() && self.source_address(cfg).is_none() {
            fault = Some(FaultCause::NoSourceAddress(cfg.interface.clone()));
        }
        if let Some(src) = cfg.unicast_src.filter(|a| self.missing_sources.contains(a)) {
            // keepalived 2.2.7 `open_sockpool_socket`: binding to a source address the host
            // does not have fails, "entering FAULT state (src address not configured)".
            fault.get_or_insert(FaultCause::SourceNotLocal(src.to_string()));
        }
        for t in &tracks.scripts {
            let Some(&ScriptId(i)) = self.script_index.get(&t.name) else {
                continue;
            };
            let Some(s) = self.scripts.get(i as usize) else {
                continue;
            };
            let w = i64::from(t.weight.unwrap_or(s.cfg.weight));
            // A script with no result yet counts neither way (keepalived 2.2.7
            // `initialise_track_script_state`).
            let good = s.status == CheckStatus::Good;
            let bad = s.status == CheckStatus::Bad;
            if w == 0 && bad {
                fault.get_or_insert(FaultCause::Script(t.name.clone()));
            } else if (w > 0 && good) || (w < 0 && bad) {
                sum += w;
            }
        }
        for t in &tracks.interfaces {
            let w = i64::from(t.weight.unwrap_or(0));
            let down = !self.interface_up(&t.name);
            if w == 0 && down {
                fault.get_or_insert(FaultCause::TrackedInterface(t.name.clone()));
            } else if (w > 0 && !down) || (w < 0 && down) {
                sum += w;
            }
        }
        for t in &tracks.files {
            let Some((f, value)) = self
                .file_index
                .get(&t.name)
                .and_then(|&i| self.files.get(i))
            else {
                continue;
            };
            let w = i64::from(t.weight.unwrap_or(f.weight));
            if w == 0 {
                // keepalived: with weight 0 a non-zero value is a failure.
                if *value != 0 {
                    fault.get_or_insert(FaultCause::TrackedFile(t.name.clone()));
                }
            } else {
                let delta = value.saturating_mul(w);
                // keepalived: a contribution of -254 or below means FAULT.
                if delta <= -254 {
                    fault.get_or_insert(FaultCause::TrackedFile(t.name.clone()));
                } else {
                    sum = sum.saturating_add(delta);
                }
            }
        }
        // keepalived 2.2.7 `initialise_process_tracking_priorities` /
        // `process_update_track_process_status`: weight 0 means FAULT without the quorum
        // (with it, for `reverse`); a positive weight counts with the quorum, a negative
        // one without it, negated by `reverse`.
        for t in &tracks.processes {
            let Some(p) = self
                .process_index
                .get(&t.name)
                .and_then(|&i| self.processes.get(i))
            else {
                continue;
            };
            let w = i64::from(t.weight);
            let m = if t.reverse { -1 } else { 1 };
            if w == 0 {
                if p.have_quorum == t.reverse {
                    fault.get_or_insert(FaultCause::TrackedProcess(t.name.clone()));
                }
            } else if (w > 0) == p.have_quorum {
                sum += w * m;
            }
        }
        let priority = if base == PRIORITY_OWNER {
            PRIORITY_OWNER
        } else {
            (i64::from(base) + sum).clamp(1, 254) as u8
        };
        Verdict { fault, priority }
    }
}

//! keepalived-style tracking: `vrrp_script` checks with rise/fall, tracked interfaces and
//! tracked files, and the effective priority or FAULT they give an instance.
//!
//! Weight semantics (keepalived's, see `notes/keepalived-users.md` §4): weight 0 means FAULT
//! while failing; a positive weight is added while passing; a negative weight is added while
//! failing. The effective priority is clamped to 1..=254; an owner (255) stays 255.

use crate::config::{
    Config, InstanceConfig, ScriptConfig, SyncGroupConfig, TrackFileConfig, TrackRef,
};
use crate::io::{CheckOutcome, FaultCause, InterfaceUpdate, ScriptId};
use crate::time::Instant;
use crate::types::{Family, PRIORITY_OWNER};
use core::net::IpAddr;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Status of a check as rise/fall see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
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
}

impl ScriptState {
    pub fn new(cfg: ScriptConfig) -> Self {
        // keepalived: `init_fail` starts the script in the failed state; otherwise good.
        let status = if cfg.init_fail {
            CheckStatus::Bad
        } else {
            CheckStatus::Good
        };
        ScriptState {
            cfg,
            status,
            consecutive_pass: 0,
            consecutive_fail: 0,
            next_run: None,
            in_flight: None,
            issued_at: None,
            retired: false,
            last_seq: 0,
            last_outcome: None,
        }
    }

    /// Apply one result; returns whether the status changed.
    pub fn apply(&mut self, outcome: CheckOutcome) -> bool {
        self.last_outcome = Some(outcome);
        let before = self.status;
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

/// Everything tracked on one host: scripts, interfaces, files.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tracker {
    pub scripts: Vec<ScriptState>,
    pub script_index: BTreeMap<String, ScriptId>,
    pub files: Vec<(TrackFileConfig, i64)>,
    pub file_index: BTreeMap<String, usize>,
    pub interfaces: BTreeMap<String, InterfaceUpdate>,
}

/// What one instance tracks, its sync group taken into account, every weight resolved
/// (`Some`): the lists [`Tracker::evaluate`] reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tracks {
    pub scripts: Vec<TrackRef>,
    pub interfaces: Vec<TrackRef>,
    pub files: Vec<TrackRef>,
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
        Tracker {
            scripts,
            script_index,
            files,
            file_index,
            interfaces: BTreeMap::new(),
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
        for t in &tracks.scripts {
            let Some(&ScriptId(i)) = self.script_index.get(&t.name) else {
                continue;
            };
            let Some(s) = self.scripts.get(i as usize) else {
                continue;
            };
            let w = i64::from(t.weight.unwrap_or(s.cfg.weight));
            let bad = s.status == CheckStatus::Bad;
            if w == 0 && bad {
                fault.get_or_insert(FaultCause::Script(t.name.clone()));
            } else if (w > 0 && !bad) || (w < 0 && bad) {
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
        let priority = if base == PRIORITY_OWNER {
            PRIORITY_OWNER
        } else {
            (i64::from(base) + sum).clamp(1, 254) as u8
        };
        Verdict { fault, priority }
    }
}

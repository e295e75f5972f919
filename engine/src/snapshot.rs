//! A read-only view of the engine for status output, invariants and tests.

use crate::counters::{DiscardCounters, InstanceCounters};
use crate::io::{CheckOutcome, FaultCause, InstanceId, ScriptId, State};
use crate::time::Instant;
use crate::tracking::CheckStatus;
use crate::types::{Family, Version};
use core::net::IpAddr;
use core::time::Duration;
use serde::{Deserialize, Serialize};

/// The state of every instance and check at one instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Instances, in configuration order.
    pub instances: Vec<InstanceSnapshot>,
    /// Scripts, in configuration order.
    pub scripts: Vec<ScriptSnapshot>,
    /// Packets that matched no instance (unknown interface or VRID, unparseable), per reason.
    pub unmatched: DiscardCounters,
    /// Virtual servers (LVS), in configuration order.
    #[serde(default)]
    pub virtual_servers: Vec<VirtualServerSnapshot>,
    /// `vrrp_sync_group`s with at least one member, in configuration order.
    #[serde(default)]
    pub sync_groups: Vec<SyncGroupSnapshot>,
    /// `vrrp_track_process`es, by name.
    #[serde(default)]
    pub processes: Vec<ProcessSnapshot>,
}

/// One `vrrp_track_process`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSnapshot {
    /// Its id.
    pub id: crate::io::TrackProcessId,
    /// Block name.
    pub name: String,
    /// Matching processes as last reported.
    pub count: u32,
    /// Whether the quorum counts as met.
    pub have_quorum: bool,
    /// When a running `fork_delay` / `terminate_delay` ends.
    pub delay_until: Option<Instant>,
}

/// One `vrrp_sync_group`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupSnapshot {
    /// Block name.
    pub name: String,
    /// The group's state (INIT before a member starts).
    pub state: State,
    /// Its members, in the group's order.
    pub members: Vec<InstanceId>,
}

/// One virtual server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerSnapshot {
    /// Its IPVS service.
    pub service: crate::lvs::ServiceKey,
    /// Whether the live weight meets the quorum.
    pub quorum_up: bool,
    /// Whether the sorry server stands in.
    pub sorry_active: bool,
    /// Its real servers, in configuration order.
    pub real_servers: Vec<RealServerSnapshot>,
}

/// One real server of a virtual server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServerSnapshot {
    /// Address and port.
    pub addr: core::net::SocketAddr,
    /// In the pool (every checker passes).
    pub alive: bool,
    /// Effective weight (`misc_dynamic` moves it), before clamping to IPVS's range.
    pub weight: i64,
    /// Checkers that currently fail.
    pub failed_checkers: u32,
    /// Checkers, in configuration order: whether each is up.
    pub checkers_up: Vec<bool>,
    /// Checkers, in configuration order: verdict, last probe and counts.
    #[serde(default)]
    pub checkers: Vec<CheckerSnapshot>,
}

/// One health checker of a real server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerSnapshot {
    /// keepalived's keyword: `TCP_CHECK`, `HTTP_GET`, `SSL_GET` or `MISC_CHECK`.
    pub kind: String,
    /// Its verdict: up (it keeps its real server in the pool).
    pub up: bool,
    /// Whether any probe has given a verdict yet.
    pub has_run: bool,
    /// The last probe that ended: when, how long it took, whether it passed.
    pub last_probe: Option<ProbeRecord>,
    /// Probes that passed (each retry counts), since start; kept across a reload.
    pub probes_passed: u64,
    /// Probes that failed (each retry counts), since start; kept across a reload.
    pub probes_failed: u64,
}

/// One finished run of a check (a `vrrp_script`, a real-server probe), in engine time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// When it was started (asked of the driver).
    pub started: Instant,
    /// When its result came in.
    pub ended: Instant,
    /// Whether it passed (a real-server probe's own result, before `retry` counts it).
    pub passed: bool,
}

impl ProbeRecord {
    /// How long it ran: from the request to the result, as the engine saw them.
    pub fn duration(&self) -> Duration {
        self.ended - self.started
    }
}

/// The last takeover of an instance: its last BACKUP -> MASTER transition.
///
/// `since` is the last sign of another Master the Backup had: the last advert it accepted
/// (priority 0 included: a Master that stops or goes FAULT), or, if it accepted none while
/// Backup, the instant it entered BACKUP. So after a Master's crash the duration is about
/// Master_Down_Interval (RFC 5798 §6.4.2: from its last advert to the timer's end), after a
/// priority-0 advert about Skew_Time, and after a preemption (a lower-priority Master's
/// adverts heard until then) at most one of its advert intervals. A transition to MASTER from
/// INIT or FAULT (the address owner) is not a takeover and leaves it as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Takeover {
    /// The last sign of another Master (see above).
    pub since: Instant,
    /// When this instance became Master.
    pub at: Instant,
}

impl Takeover {
    /// From the last sign of the old Master to becoming Master.
    pub fn duration(&self) -> Duration {
        self.at - self.since
    }
}

/// One instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSnapshot {
    /// Its id.
    pub id: InstanceId,
    /// `vrrp_instance` name.
    pub name: String,
    /// Interface.
    pub interface: String,
    /// Address family.
    pub family: Family,
    /// VRID.
    pub vrid: u8,
    /// Protocol version.
    pub version: Version,
    /// Current state.
    pub state: State,
    /// Configured priority.
    pub base_priority: u8,
    /// Priority after tracking.
    pub effective_priority: u8,
    /// What holds it in FAULT on its own, if anything (a member of a sync group may be in
    /// FAULT because another member is).
    pub fault: Option<FaultCause>,
    /// The `vrrp_sync_group` it belongs to, if any.
    #[serde(default)]
    pub sync_group: Option<String>,
    /// The Master's address as last heard (ours while Master).
    pub master_address: Option<IpAddr>,
    /// The Master's priority as last heard.
    pub master_priority: Option<u8>,
    /// Advertisement_Interval (configured, as the wire carries it).
    pub advert_interval: Duration,
    /// Master_Adver_Interval (learned from the Master in v3).
    pub master_adver_interval: Duration,
    /// Master_Down_Interval with the current priority and learned interval.
    pub master_down_interval: Duration,
    /// Whether its VIPs are installed.
    pub vips_installed: bool,
    /// The next timer due.
    pub next_timer: Option<Instant>,
    /// Until when preempt_delay holds a preempting Backup back.
    pub preempt_until: Option<Instant>,
    /// When it last changed state.
    pub last_transition: Option<Instant>,
    /// Its last takeover (BACKUP -> MASTER), if any.
    #[serde(default)]
    pub last_takeover: Option<Takeover>,
    /// Packet counters.
    pub counters: InstanceCounters,
}

/// One `vrrp_script`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptSnapshot {
    /// Its id.
    pub id: ScriptId,
    /// Block name.
    pub name: String,
    /// Good or bad after rise/fall.
    pub status: CheckStatus,
    /// Consecutive passes.
    pub consecutive_pass: u32,
    /// Consecutive failures.
    pub consecutive_fail: u32,
    /// The last result.
    pub last_outcome: Option<CheckOutcome>,
    /// Whether a run is in flight.
    pub running: bool,
    /// Whether any instance tracks it (only those are run).
    pub tracked: bool,
    /// When the run in flight, or else the last run, was started.
    #[serde(default)]
    pub last_started: Option<Instant>,
    /// The last run that ended: when, how long, whether it passed.
    #[serde(default)]
    pub last_run: Option<ProbeRecord>,
    /// Results since start (kept across a reload for a script that stays).
    #[serde(default)]
    pub results: ScriptResults,
}

/// How many runs of a `vrrp_script` gave each result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptResults {
    /// Exit status 0.
    pub pass: u64,
    /// Any other exit status.
    pub fail: u64,
    /// Killed at its `timeout`, or found still running past it.
    pub timeout: u64,
}

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
}

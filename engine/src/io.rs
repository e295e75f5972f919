//! What goes into the engine ([`Input`]) and what comes out ([`Output`]).
//!
//! Outputs form one FIFO in the order the crate documentation sets out (within a transition
//! to Master: the advert, the state change, the VIPs, the announcements); drivers keep it.

use crate::alerts::Alert;
use crate::config::{VirtualAddress, VirtualRoute, VirtualRule};
use crate::lvs::{CheckerId, IpvsChange, Probe, ProbeResult, ServiceKey};
use crate::time::Instant;
use crate::types::Family;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::time::Duration;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Index of an instance in the configuration's `instances`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstanceId(pub u32);

/// Index of a script in the configuration's `scripts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ScriptId(pub u32);

/// Index of a tracked file in the configuration's `track_files`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TrackFileId(pub u32);

/// Index of a tracked process in the configuration's `track_processes` (kept across a
/// reload by name; see [`crate::Engine::track_processes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TrackProcessId(pub u32);

/// What changed a tracked process's count: it decides which delay applies (keepalived
/// 2.2.7 applies `fork_delay` only to forks and `terminate_delay` only to exits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessChange {
    /// A counted process forked a child, which counts too.
    Fork,
    /// A counted process exited.
    Exit,
    /// Anything else: the first scan, an exec, a change of name, a rescan.
    Other,
}

/// An input to the engine.
#[derive(Clone, Debug)]
pub enum Input<'a> {
    /// A VRRP packet was received.
    Packet(RxPacket<'a>),
    /// The current view of one interface: link state and the addresses VRRP sends from.
    Interface(InterfaceUpdate),
    /// A check the engine asked for with [`Output::RunCheck`] finished.
    CheckResult {
        /// Which script.
        script: ScriptId,
        /// The sequence number of the [`Output::RunCheck`] it answers; stale ones are ignored.
        seq: u64,
        /// How it went.
        outcome: CheckOutcome,
    },
    /// The integer content of a tracked file changed (keepalived's `vrrp_track_file`).
    TrackFile {
        /// Which file.
        file: TrackFileId,
        /// Its value.
        value: i64,
    },
    /// The number of running processes that match a `vrrp_track_process` changed (or is
    /// first known), as the driver sees it now. The engine applies `quorum` /
    /// `quorum_max`, `fork_delay` / `terminate_delay` and each instance's weight.
    ProcessCount {
        /// Which tracked process.
        process: TrackProcessId,
        /// How many match now.
        count: u32,
        /// What changed it.
        change: ProcessChange,
    },
    /// Whether an address is configured on this host (any interface): the driver reports
    /// each `unicast_src_ip` of the configuration at start-up, after a reload and when it
    /// comes or goes. One never reported counts as present. An instance whose source address
    /// is absent is in FAULT (keepalived 2.2.7 `open_sockpool_socket`: "src address not
    /// configured").
    LocalAddress {
        /// The address.
        addr: IpAddr,
        /// Whether some interface of the host has it.
        present: bool,
    },
    /// Change an instance's configured priority (the operator's "priority change").
    SetPriority {
        /// Which instance.
        instance: InstanceId,
        /// The new base priority, 1..=255 (0 is taken as 1).
        priority: u8,
    },
    /// A probe the engine asked for with [`Output::RunProbe`] finished.
    ProbeResult {
        /// Which checker.
        checker: CheckerId,
        /// The sequence number of the [`Output::RunProbe`] it answers; stale ones are ignored.
        seq: u64,
        /// What came of it.
        result: ProbeResult,
    },
    /// One of an instance's `virtual_routes`, installed by the driver for it, was deleted
    /// by someone else (an `RTM_DELROUTE` the driver did not cause). A tracked route (with a
    /// `dev`, without `no_track`) makes its Master leave for BACKUP as keepalived 2.2.7's
    /// `netlink_route_filter` / `set_vrrp_backup` do; anything else is ignored.
    RouteDeleted {
        /// The instance that installed it.
        instance: InstanceId,
        /// The route, as configured (the driver matched the kernel's message to it).
        route: VirtualRoute,
    },
    /// One of an instance's `virtual_rules` was deleted by someone else (`RTM_DELRULE`): as
    /// [`Input::RouteDeleted`], keepalived 2.2.7's `netlink_rule_filter` (without `no_track`).
    RuleDeleted {
        /// The instance that installed it.
        instance: InstanceId,
        /// The rule, as configured.
        rule: VirtualRule,
    },
    /// Stop every instance: a Master sends priority 0 and releases its VIPs (RFC 5798 §6.4.3).
    /// Virtual servers are taken out of IPVS as keepalived's checker process does on exit.
    Shutdown,
}

/// A received VRRP packet. The payload is the VRRP message without the IP header.
#[derive(Clone, Copy, Debug)]
pub struct RxPacket<'a> {
    /// The interface it arrived on.
    pub interface: &'a str,
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (the multicast group, or ours for unicast).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit as received.
    pub ttl: u8,
    /// The VRRP message.
    pub payload: &'a [u8],
}

/// The state of one interface as the driver sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceUpdate {
    /// Interface name, as in the configuration.
    pub name: String,
    /// Link (and admin) state up.
    pub up: bool,
    /// The primary IPv4 address: source of IPv4 adverts and the tie-break address.
    pub ipv4: Option<Ipv4Addr>,
    /// The IPv6 link-local address: source of IPv6 adverts (RFC 5798 §5.1.2.1).
    pub ipv6_link_local: Option<Ipv6Addr>,
}

/// The result of one check run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// Exit status 0.
    Pass,
    /// Any other exit status.
    Fail,
    /// Killed at its timeout: counts as a failure.
    Timeout,
}

/// VRRP state of an instance (RFC 5798 §6.4, plus keepalived's FAULT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    /// Not running: before start-up and after shutdown (RFC 5798 §6.4.1).
    Initialize,
    /// Monitoring the Master (RFC 5798 §6.4.2).
    Backup,
    /// Forwarding for the VIPs (RFC 5798 §6.4.3).
    Master,
    /// A tracked item with weight 0 is down, or the interface is: not taking part.
    Fault,
}

impl State {
    /// keepalived's upper-case name (`MASTER`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// Why a state changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reason {
    /// Start-up as Backup (RFC 5798 §6.4.1).
    Startup,
    /// Start-up of the address owner, priority 255, wanting MASTER (RFC 5798 §6.4.1; keepalived
    /// 2.2.7 `vrrp_init_state`: `state MASTER` or no `state`).
    AddressOwner,
    /// Master_Down_Timer fired (RFC 5798 §6.4.2).
    MasterDown,
    /// A Master heard a better Master (RFC 5798 §6.4.3).
    HigherPriority {
        /// The other router's address.
        from: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// Shutdown event (RFC 5798 §6.4.2 / §6.4.3).
    Shutdown,
    /// A reconfiguration removed the instance (shut down as on the Shutdown event).
    Removed,
    /// Entered FAULT.
    Fault {
        /// What failed.
        cause: FaultCause,
    },
    /// Left FAULT: everything tracked is back.
    FaultCleared,
    /// Moved by its `vrrp_sync_group`: another member changed state (keepalived 2.2.7
    /// `vrrp_sync_master` / `vrrp_sync_backup` / `vrrp_sync_fault`).
    SyncGroup {
        /// The group's name.
        group: String,
    },
    /// A Master's tracked `virtual_routes` route was deleted by someone else ([`Input::RouteDeleted`];
    /// keepalived 2.2.7 `netlink_route_filter`, `set_vrrp_backup`): Backup, back to Master
    /// after Skew_Time unless a better router takes over (the other Master members of its
    /// sync group leave the same way, with [`Reason::SyncGroup`]).
    RouteDeleted {
        /// The route, as keepalived writes it.
        route: String,
    },
    /// A Master's tracked `virtual_rules` rule was deleted by someone else
    /// ([`Input::RuleDeleted`]; keepalived 2.2.7 `netlink_rule_filter`).
    RuleDeleted {
        /// The rule, as keepalived writes it.
        rule: String,
    },
}

/// The reason in words (logs, the simulator's `events.csv`): `startup`, `address owner`,
/// `master down timer`, `higher priority N from ADDR`, `shutdown`, `removed by reload`, `fault: CAUSE` (the cause's
/// `Debug` form), `fault cleared`, `sync group NAME`, `route deleted: ROUTE`, `rule deleted: RULE`.
impl core::fmt::Display for Reason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Reason::Startup => f.write_str("startup"),
            Reason::AddressOwner => f.write_str("address owner"),
            Reason::MasterDown => f.write_str("master down timer"),
            Reason::HigherPriority { from, priority } => {
                write!(f, "higher priority {priority} from {from}")
            }
            Reason::Shutdown => f.write_str("shutdown"),
            Reason::Removed => f.write_str("removed by reload"),
            Reason::Fault { cause } => write!(f, "fault: {cause:?}"),
            Reason::FaultCleared => f.write_str("fault cleared"),
            Reason::SyncGroup { group } => write!(f, "sync group {group}"),
            Reason::RouteDeleted { route } => write!(f, "route deleted: {route}"),
            Reason::RuleDeleted { rule } => write!(f, "rule deleted: {rule}"),
        }
    }
}

/// What holds an instance in FAULT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum FaultCause {
    /// The instance's own interface is down.
    InterfaceDown(String),
    /// The interface has no address of the instance's family to send from.
    NoSourceAddress(String),
    /// The configured `unicast_src_ip` (here as text) is not an address of this host.
    SourceNotLocal(String),
    /// A weight-0 `track_script` is failing.
    Script(String),
    /// A weight-0 `track_interface` is down.
    TrackedInterface(String),
    /// A `track_file` reads a fault value.
    TrackedFile(String),
    /// A weight-0 `track_process` is out of its quorum (in it, with `reverse`).
    TrackedProcess(String),
}

/// A state change, for logs, traces and notify scripts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// Which instance.
    pub instance: InstanceId,
    /// Previous state.
    pub from: State,
    /// New state.
    pub to: State,
    /// Why.
    pub reason: Reason,
    /// Effective priority at the change (keepalived passes it to `notify`).
    pub priority: u8,
    /// When.
    pub at: Instant,
}

/// A `vrrp_script`'s result as rise / fall count it: its first result after it started
/// being tracked, or a change (keepalived 2.2.7 `vrrp_script_child_thread` logs both:
/// "VRRP_Script(chk) succeeded", "... failed", "... timed_out"). For logs and traces; every
/// instance tracking the script applies its own weight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptChange {
    /// Which script.
    pub script: ScriptId,
    /// Its name (`vrrp_script NAME`).
    pub name: String,
    /// Whether it now counts as succeeding.
    pub good: bool,
    /// The run that decided it.
    pub outcome: CheckOutcome,
    /// Whether this is the script's first result (not a change).
    pub first: bool,
    /// When.
    pub at: Instant,
}

/// An instance's effective priority changed while it runs: a tracked item's weight, or the
/// operator's priority (keepalived 2.2.7 `vrrp_set_effective_priority`: "(VI_1) Changing
/// effective priority from 100 to 80"). For logs and traces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityChange {
    /// Which instance.
    pub instance: InstanceId,
    /// The priority it had.
    pub from: u8,
    /// The priority it has now.
    pub to: u8,
    /// When.
    pub at: Instant,
}

/// A `vrrp_sync_group` changed state, for logs, traces and the group's notify scripts.
///
/// `to` is [`State::Initialize`] on shutdown (keepalived's `STOP`). The driver runs the
/// group's `notify_master` / `notify_backup` / `notify_fault` / `notify_stop`, then its
/// `notify` with the words `GROUP`, the name, the state and `0` appended (keepalived 2.2.7
/// `send_group_notifies`, `notify_script_exec`: "the prio will be indicated as zero for a
/// group"); [`crate::Engine::sync_group_config`] gives the commands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupChange {
    /// The group's name.
    pub group: String,
    /// Previous state ([`State::Initialize`] before the first member started).
    pub from: State,
    /// New state.
    pub to: State,
    /// When.
    pub at: Instant,
}

impl SyncGroupChange {
    /// keepalived's word for the new state: `MASTER`, `BACKUP`, `FAULT`, or `STOP` on
    /// shutdown.
    pub fn state_word(&self) -> &'static str {
        match self.to {
            State::Initialize => "STOP",
            s => s.as_str(),
        }
    }

    /// The notify commands to run for this change, in order, each as the configured command
    /// line and the words to append to it: the state's own script (`notify_master`, ...,
    /// `notify_stop`; nothing appended), then `notify` with `GROUP`, the group's name, the
    /// state and `0` appended (keepalived 2.2.7 `send_group_notifies`, `notify_script_exec`).
    pub fn notifies(&self, notify: &crate::config::NotifyConfig) -> Vec<(String, Vec<String>)> {
        let specific = match self.to {
            State::Master => &notify.master,
            State::Backup => &notify.backup,
            State::Fault => &notify.fault,
            State::Initialize => &notify.stop,
        };
        let mut out = Vec::new();
        if let Some(cmd) = specific {
            out.push((cmd.clone(), Vec::new()));
        }
        if let Some(cmd) = &notify.generic {
            let words = ["GROUP", &self.group, self.state_word(), "0"];
            out.push((cmd.clone(), words.iter().map(|w| w.to_string()).collect()));
        }
        out
    }
}

/// A packet to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transmit {
    /// The instance sending it.
    pub instance: InstanceId,
    /// Interface to send on.
    pub interface: Arc<str>,
    /// IP source address (the checksum of v3 depends on it).
    pub src: IpAddr,
    /// IP destination: the multicast group or a unicast peer.
    pub dst: IpAddr,
    /// TTL / hop limit: always 255 (RFC 5798 §5.1.1.3).
    pub ttl: u8,
    /// The VRRP message, checksum included.
    pub payload: Vec<u8>,
}

/// A VIP whose traffic [`Output::BlockVips`] drops.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BlockedVip {
    /// The interface it is installed on (an IPv6 link-local VIP is filtered on it only).
    pub interface: Arc<str>,
    /// The address.
    pub addr: IpAddr,
}

/// An output of the engine, drained with [`crate::Engine::poll_output`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Output {
    /// An instance changed state.
    StateChanged(StateChange),
    /// A `vrrp_sync_group` changed state: it follows its members' state changes.
    SyncGroupChanged(SyncGroupChange),
    /// A `vrrp_script`'s first result, or a change of its result: before the priority and
    /// state changes it causes.
    ScriptChanged(ScriptChange),
    /// An instance's effective priority changed (after the script, file or process change
    /// that moved it, before any state change it causes).
    PriorityChanged(PriorityChange),
    /// Send a VRRP packet.
    Transmit(Transmit),
    /// Install a virtual address (becoming Master).
    AddVip {
        /// The owning instance.
        instance: InstanceId,
        /// Interface to install it on (`dev`, else the instance's).
        interface: Arc<str>,
        /// The address with prefix and label.
        vip: VirtualAddress,
    },
    /// Remove a virtual address (leaving Master).
    RemoveVip {
        /// The owning instance.
        instance: InstanceId,
        /// Interface it is on.
        interface: Arc<str>,
        /// The address.
        vip: VirtualAddress,
    },
    /// Accept_Mode off (RFC 5798 §6.1; keepalived's `no_accept`, or `vrrp_strict`): from now
    /// on drop IP traffic to and from these VIPs, except neighbour discovery (keepalived
    /// 2.2.7 `vrrp_handle_accept_mode`, nftables set `vips`). Right before the VIPs are
    /// added on becoming Master; never for the address owner (priority 255).
    BlockVips {
        /// The owning instance.
        instance: InstanceId,
        /// The addresses, each with the interface it is installed on.
        vips: Vec<BlockedVip>,
    },
    /// Stop dropping traffic to and from these VIPs: right after they are removed on leaving
    /// Master, or when a reload turns Accept_Mode on or drops a VIP.
    UnblockVips {
        /// The owning instance.
        instance: InstanceId,
        /// The addresses, as blocked.
        vips: Vec<BlockedVip>,
    },
    /// Announce a VIP on the LAN: a gratuitous ARP (IPv4) or an unsolicited neighbour
    /// advertisement (IPv6), RFC 5798 §6.4.2 / §8.1.
    Announce {
        /// The owning instance.
        instance: InstanceId,
        /// Interface to send on.
        interface: Arc<str>,
        /// The address announced.
        addr: IpAddr,
    },
    /// Run a `vrrp_script` check and report it with [`Input::CheckResult`].
    RunCheck {
        /// Which script.
        script: ScriptId,
        /// Sequence number to echo back.
        seq: u64,
        /// Kill it and report [`CheckOutcome::Timeout`] if still running after this long.
        timeout: Duration,
    },
    /// Run one real-server probe and report it with [`Input::ProbeResult`].
    RunProbe {
        /// Which checker.
        checker: CheckerId,
        /// Sequence number to echo back.
        seq: u64,
        /// What to do.
        probe: Probe,
    },
    /// Change the IPVS table (carried out in order, like every output).
    Ipvs(IpvsChange),
    /// A real server joined (`alive`) or left its virtual server's pool: run its
    /// `notify_up` / `notify_down` script, if any.
    RealServerChanged {
        /// The virtual service.
        service: ServiceKey,
        /// The real server.
        real_server: SocketAddr,
        /// Whether it is now alive.
        alive: bool,
        /// The script to run (`notify_up` when alive, else `notify_down`).
        notify: Option<String>,
    },
    /// Send a mail (keepalived's `smtp_alert`): right after the state change that causes
    /// it. Only when mail is on for the instance and `notification_email` and `smtp_server`
    /// are configured ([`crate::alerts`]).
    Alert(Alert),
    /// A virtual server gained or lost its quorum: run `quorum_up` / `quorum_down`, if any.
    QuorumChanged {
        /// The virtual service.
        service: ServiceKey,
        /// Whether the quorum is now met.
        up: bool,
        /// The script to run.
        notify: Option<String>,
    },
    /// Install a `virtual_routes` route (becoming Master: after the VIPs, keepalived 2.2.7
    /// `vrrp_state_become_master`).
    AddRoute {
        /// The owning instance.
        instance: InstanceId,
        /// The route.
        route: VirtualRoute,
    },
    /// Remove a `virtual_routes` route (leaving Master: after the rules, before the VIPs,
    /// keepalived 2.2.7 `vrrp_restore_interface`).
    RemoveRoute {
        /// The owning instance.
        instance: InstanceId,
        /// The route.
        route: VirtualRoute,
    },
    /// Install a `virtual_rules` rule (becoming Master: after the routes).
    AddRule {
        /// The owning instance.
        instance: InstanceId,
        /// The rule.
        rule: VirtualRule,
    },
    /// Remove a `virtual_rules` rule (leaving Master: first, before the routes and VIPs).
    RemoveRule {
        /// The owning instance.
        instance: InstanceId,
        /// The rule.
        rule: VirtualRule,
    },
}

impl Output {
    /// The family of the address an announcement is for, if this is one.
    pub fn announce_family(&self) -> Option<Family> {
        match self {
            Output::Announce { addr, .. } => Some(Family::of(addr)),
            _ => None,
        }
    }
}

//! The typed configuration model the engine runs from.
//!
//! Defaults are keepalived's (priority 100, advert 1 s, version 2, preempt on, weight 0 on
//! checks, 5 gratuitous ARPs on becoming Master and 5 more after 5 s). The keepalived.conf
//! front end ([`crate::keepalived`]) produces this model; the simulator and tests may also
//! build it directly.

use crate::types::{Family, Version};
use crate::wire::ChecksumMode;
use core::net::IpAddr;
use core::time::Duration;
use serde::{Deserialize, Serialize};

mod lvs;
mod routes;
pub use lvs::*;
pub use routes::*;

/// A whole configuration: what one keepalived.conf describes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// `global_defs`.
    pub global: GlobalConfig,
    /// `vrrp_script` blocks, in file order.
    pub scripts: Vec<ScriptConfig>,
    /// `vrrp_track_file` blocks, in file order.
    pub track_files: Vec<TrackFileConfig>,
    /// `vrrp_track_process` blocks, in file order.
    #[serde(default)]
    pub track_processes: Vec<TrackProcessConfig>,
    /// `vrrp_instance` blocks, in file order.
    pub instances: Vec<InstanceConfig>,
    /// `vrrp_sync_group` blocks, in file order.
    pub sync_groups: Vec<SyncGroupConfig>,
    /// `virtual_server` blocks, in file order: the check engine's input ([`crate::lvs`]).
    pub virtual_servers: Vec<VirtualServerConfig>,
    /// `virtual_server_group` blocks, in file order.
    #[serde(default)]
    pub virtual_server_groups: Vec<VirtualServerGroupConfig>,
}

/// `global_defs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlobalConfig {
    /// `router_id`.
    pub router_id: Option<String>,
    /// `notification_email { ... }`.
    pub notification_email: Vec<String>,
    /// `notification_email_from`.
    pub notification_email_from: Option<String>,
    /// `smtp_server` (address or name, optional port kept verbatim).
    pub smtp_server: Option<String>,
    /// `smtp_connect_timeout` (keepalived default 30 s).
    pub smtp_connect_timeout: Duration,
    /// `smtp_helo_name` (keepalived default: the host's name, else `localhost`).
    #[serde(default)]
    pub smtp_helo_name: Option<String>,
    /// `smtp_alert [BOOL]`: default mail setting of instances, groups and checkers (unset:
    /// `None`).
    #[serde(default)]
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp [BOOL]`: default of VRRP instances and groups, before `smtp_alert`.
    #[serde(default)]
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker [BOOL]`: default of virtual and real servers, before `smtp_alert`.
    #[serde(default)]
    pub smtp_alert_checker: Option<bool>,
    /// `no_email_faults`: no mail for an instance or group entering FAULT.
    #[serde(default)]
    pub no_email_faults: bool,
    /// `no_checker_emails [BOOL]`: a checker mails only when its verdict moves its real
    /// server in or out of the pool.
    #[serde(default)]
    pub no_checker_emails: bool,
    /// `vrrp_skip_check_adv_addr`: do not compare a received advert's address list with ours.
    pub skip_check_adv_addr: bool,
    /// `vrrp_check_unicast_src`: every unicast instance checks advert sources
    /// ([`InstanceConfig::check_unicast_src`]).
    #[serde(default)]
    pub check_unicast_src: bool,
    /// `vrrp_garp_interval`: delay between gratuitous ARPs of one burst (default 0).
    pub garp_interval: Duration,
    /// `vrrp_gna_interval`: delay between unsolicited NAs of one burst (default 0).
    pub gna_interval: Duration,
    /// Default gratuitous ARP / NA behaviour for every instance.
    pub garp: GarpConfig,
    /// `enable_script_security`.
    pub enable_script_security: bool,
    /// `script_user USER [GROUP]`.
    pub script_user: Option<String>,
    /// `vrrp_version`: default version of every instance (2).
    pub vrrp_version: Version,
    /// `vrrp_strict`: RFC-strict mode.
    pub strict: bool,
    /// `vrrp_lower_prio_no_advert`: instances do not answer a lower-priority advert (the
    /// default of their `lower_prio_no_advert`).
    #[serde(default)]
    pub lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`: the default of instances' `higher_prio_send_advert`.
    #[serde(default)]
    pub higher_prio_send_advert: bool,
    /// `vrrp_startup_delay`: wait this long after start before running instances.
    pub startup_delay: Duration,
    /// `vrrp_no_swap`: the daemon locks its pages in memory as they are touched (nothing for
    /// the engine).
    pub no_swap: bool,
    /// `log_unknown_vrids`: the daemon logs adverts for VRIDs it does not run (keepalived
    /// 2.2.7 `vrrp_dispatcher_read`, one line per advert; ours a periodic summary). Off: such
    /// adverts are only counted (a shared LAN carries other routers' VRIDs).
    #[serde(default)]
    pub log_unknown_vrids: bool,
    /// `dynamic_interfaces`: interfaces the configuration names may be missing at start (they
    /// count as down until they appear); without it the daemon refuses to start, as
    /// keepalived 2.2.7 does ("Non-existent interface specified in configuration").
    #[serde(default)]
    pub dynamic_interfaces: bool,
    /// Where the daemon keeps the drop rules of Accept_Mode off (`nftables`,
    /// `nftables_priority`, `nftables_counters`, `nftables_ifindex`; `vrrp_iptables` read as
    /// `nftables`, as keepalived 2.2.7 built without iptables does). Nothing for the engine:
    /// keepalived 2.2.7 filters whenever an instance needs it, keyword or not.
    #[serde(default)]
    pub nftables: NftablesConfig,
}

/// keepalived's nftables settings for the VRRP side (2.2.7 `vrrp_nftables_handler` and
/// friends): the table holding the sets and chains that drop traffic to VIPs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftablesConfig {
    /// `nftables TABLE`: the table's name; `None` (no keyword, or `nftables` without a
    /// name) means the daemon's own default, `vrrpd` (keepalived's is `keepalived`).
    pub table: Option<String>,
    /// `nftables_priority`: the base chains' priority (default -1, just before `filter`).
    pub priority: i32,
    /// `nftables_counters`: a counter on each drop rule.
    pub counters: bool,
    /// `nftables_ifindex`: IPv6 link-local sets keyed by interface index rather than name
    /// (read; the daemon always keys them by name).
    pub ifindex: bool,
}

impl Default for NftablesConfig {
    fn default() -> Self {
        NftablesConfig {
            table: None,
            priority: -1,
            counters: false,
            ifindex: false,
        }
    }
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_helo_name: None,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            no_checker_emails: false,
            skip_check_adv_addr: false,
            check_unicast_src: false,
            garp_interval: Duration::ZERO,
            gna_interval: Duration::ZERO,
            garp: GarpConfig::default(),
            enable_script_security: false,
            script_user: None,
            vrrp_version: Version::V2,
            strict: false,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            startup_delay: Duration::ZERO,
            no_swap: false,
            log_unknown_vrids: false,
            dynamic_interfaces: false,
            nftables: NftablesConfig::default(),
        }
    }
}

/// Gratuitous ARP / unsolicited NA on becoming Master (keepalived's `garp_master_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GarpConfig {
    /// `garp_master_delay`: when the second burst follows the first (default 5 s; 0 = none).
    pub master_delay: Duration,
    /// `garp_master_repeat`: announcements per VIP in each burst (default 5).
    pub master_repeat: u32,
    /// `garp_master_refresh`: periodic re-announcement while Master (default off).
    pub master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`: announcements per VIP at each refresh (default 1).
    pub master_refresh_repeat: u32,
    /// `garp_lower_prio_repeat`: announcements per VIP when a Master hears a lower-priority
    /// advert (keepalived 2.2.7's default: the global `vrrp_garp_master_repeat`, 5; 0 with
    /// `vrrp_strict`).
    #[serde(default = "five")]
    pub lower_prio_repeat: u32,
    /// `garp_lower_prio_delay`: when the same burst follows again (default the global
    /// `vrrp_garp_master_delay`, 5 s; 0 = none, and 0 with `vrrp_strict`).
    #[serde(default = "five_secs")]
    pub lower_prio_delay: Duration,
}

fn five() -> u32 {
    5
}

fn five_secs() -> Duration {
    Duration::from_secs(5)
}

impl Default for GarpConfig {
    fn default() -> Self {
        GarpConfig {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: None,
            master_refresh_repeat: 1,
            lower_prio_repeat: 5,
            lower_prio_delay: Duration::from_secs(5),
        }
    }
}

/// A `vrrp_script`: a health check the engine schedules and the driver runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptConfig {
    /// The block's name, referenced by `track_script`.
    pub name: String,
    /// `script`: the command line, verbatim.
    pub script: String,
    /// `interval` between runs (default 1 s).
    pub interval: Duration,
    /// `timeout`: a run taking longer fails (default: the interval).
    pub timeout: Option<Duration>,
    /// `weight` (default 0: FAULT while failing; > 0 added while passing; < 0 added while failing).
    pub weight: i32,
    /// `rise`: consecutive passes that make a failed check good (default 1).
    pub rise: u32,
    /// `fall`: consecutive failures that make a good check fail (default 1).
    pub fall: u32,
    /// `user USER [GROUP]`: run as this user.
    pub user: Option<String>,
    /// `init_fail`: parsed and kept, without effect, as in keepalived 2.2.7 (whose
    /// `alloc_track_script` resets it); a script counts neither way until its first result.
    pub init_fail: bool,
}

impl ScriptConfig {
    /// A script with keepalived's defaults.
    pub fn new(name: impl Into<String>, script: impl Into<String>) -> Self {
        ScriptConfig {
            name: name.into(),
            script: script.into(),
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
        }
    }

    /// The effective timeout: `timeout`, or the interval when unset.
    pub fn effective_timeout(&self) -> Duration {
        self.timeout.unwrap_or(self.interval)
    }
}

/// A `vrrp_track_file`: a file whose integer content feeds the priority.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackFileConfig {
    /// The block's name, referenced by `track_file`.
    pub name: String,
    /// `file`: the path.
    pub path: String,
    /// `weight` (default 1): with 0, a non-zero value means FAULT; otherwise value x weight
    /// is added to the priority.
    pub weight: i32,
    /// `init_file [VALUE]`: create the file with this value if missing.
    pub init_value: Option<i64>,
}

/// How `vrrp_track_process` compares a process's parameters (keepalived 2.2.7
/// `check_params`); parameters are compared only with `full_command`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamMatch {
    /// No parameter check (no `param_match` and no parameters after `process NAME`).
    #[default]
    None,
    /// The parameters equal the given ones (`param_match` alone, or parameters given).
    Exact,
    /// The given parameters are the first ones, the last given one possibly cut short
    /// (`param_match initial`).
    Initial,
    /// The given parameters are the first ones (`param_match partial`).
    Partial,
}

/// A `vrrp_track_process`: the number of running processes that match feeds the priority
/// (keepalived 2.2.7 `track_process.c`, `vrrp_track.c`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackProcessConfig {
    /// The block's name, referenced by `track_process`.
    pub name: String,
    /// `process NAME [PARAM...]`: the name (`/proc/PID/stat`'s comm, or argv\[0\] with
    /// `full_command`).
    pub process: String,
    /// The parameters after the name on the `process` line.
    pub params: Vec<String>,
    /// `param_match [initial|partial]`.
    pub param_match: ParamMatch,
    /// `full_command` (also set by parameters or `param_match`): match the command line.
    pub full_command: bool,
    /// `weight N [reverse]` (default 0: FAULT while the quorum is not met).
    pub weight: i32,
    /// `reverse` after the weight: the weight applies the other way round.
    pub reverse: bool,
    /// `quorum N` (default 1): the fewest matching processes that are "up".
    pub quorum: u32,
    /// `quorum_max N` (default none): the most matching processes that are "up".
    pub quorum_max: Option<u32>,
    /// `fork_delay` (or `delay`): how long a quorum reached by a fork waits to count.
    pub fork_delay: core::time::Duration,
    /// `terminate_delay` (or `delay`): how long a quorum lost by an exit waits to count.
    pub terminate_delay: core::time::Duration,
}

impl TrackProcessConfig {
    /// A tracked process with keepalived's defaults.
    pub fn new(name: impl Into<String>, process: impl Into<String>) -> Self {
        TrackProcessConfig {
            name: name.into(),
            process: process.into(),
            params: Vec::new(),
            param_match: ParamMatch::None,
            full_command: false,
            weight: 0,
            reverse: false,
            quorum: 1,
            quorum_max: None,
            fork_delay: core::time::Duration::ZERO,
            terminate_delay: core::time::Duration::ZERO,
        }
    }

    /// Whether `count` matching processes make the quorum: `quorum..=quorum_max`.
    pub fn in_quorum(&self, count: u32) -> bool {
        count >= self.quorum && self.quorum_max.is_none_or(|m| count <= m)
    }
}

/// `state` in a `vrrp_instance`: the state an instance would like to start in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    /// `state BACKUP` (keepalived's default).
    #[default]
    Backup,
    /// `state MASTER`: as keepalived 2.x does (captured in the fixtures), this still starts as
    /// Backup unless the priority is 255; it mainly disables `nopreempt`.
    Master,
}

/// A virtual address: one line of `virtual_ipaddress`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VirtualAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (keepalived's default: /32 or /128).
    pub prefix_len: u8,
    /// `dev IFNAME`: the interface to install it on (default: the instance's).
    pub dev: Option<String>,
    /// `label LABEL` (IPv4 only).
    pub label: Option<String>,
    /// Any further options on the line (`brd`, `scope`, `no_track`, ...), verbatim.
    pub extra: Vec<String>,
}

impl VirtualAddress {
    /// A host address: /32 or /128, no device or label.
    pub fn host(addr: IpAddr) -> Self {
        let prefix_len = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        VirtualAddress {
            addr,
            prefix_len,
            dev: None,
            label: None,
            extra: Vec::new(),
        }
    }
}

/// A reference from an instance to a tracked item, with an optional weight override.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackRef {
    /// Name of the script, file or interface.
    pub name: String,
    /// `weight N` on the reference line: overrides the item's own weight.
    pub weight: Option<i32>,
}

impl TrackRef {
    /// A reference without a weight override.
    pub fn new(name: impl Into<String>) -> Self {
        TrackRef {
            name: name.into(),
            weight: None,
        }
    }
}

/// A `track_process` line of an instance or sync group: `NAME [weight N [reverse|noreverse]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackProcessRef {
    /// The `vrrp_track_process` name.
    pub name: String,
    /// `weight N`: overrides the block's weight.
    pub weight: Option<i32>,
    /// `reverse` / `noreverse` after the weight: overrides the block's.
    pub reverse: Option<bool>,
}

impl TrackProcessRef {
    /// A reference without overrides.
    pub fn new(name: impl Into<String>) -> Self {
        TrackProcessRef {
            name: name.into(),
            weight: None,
            reverse: None,
        }
    }
}

/// Notify commands of an instance (keepalived's `notify_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyConfig {
    /// `notify_master`.
    pub master: Option<String>,
    /// `notify_backup`.
    pub backup: Option<String>,
    /// `notify_fault`.
    pub fault: Option<String>,
    /// `notify_stop`.
    pub stop: Option<String>,
    /// `notify`: called with `INSTANCE name state priority` on every change.
    pub generic: Option<String>,
}

/// A `vrrp_instance`: one virtual router.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceConfig {
    /// The block's name.
    pub name: String,
    /// `state`.
    pub initial_state: InitialState,
    /// `interface`.
    pub interface: String,
    /// `use_vmac [NAME]`: `Some("")` for the default name.
    pub use_vmac: Option<String>,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// `virtual_router_id` (1..=255).
    pub vrid: u8,
    /// `priority` (1..=255; default 100).
    pub priority: u8,
    /// `advert_int` (default 1 s). v2 carries whole seconds; v3 centiseconds up to 40.95 s.
    pub advert_interval: Duration,
    /// `version` (default: `vrrp_version` of `global_defs`, else 2).
    pub version: Version,
    /// `authentication { auth_type PASS; auth_pass ... }` (v2 only).
    pub auth: Option<AuthConfig>,
    /// `virtual_ipaddress`.
    pub vips: Vec<VirtualAddress>,
    /// `virtual_ipaddress_excluded`: installed with the VIPs, not carried in adverts.
    pub vips_excluded: Vec<VirtualAddress>,
    /// `virtual_routes`: installed after the VIPs on becoming Master, removed before them
    /// on leaving.
    pub virtual_routes: Vec<VirtualRoute>,
    /// `virtual_rules`: installed after the routes on becoming Master, removed first on
    /// leaving.
    #[serde(default)]
    pub virtual_rules: Vec<VirtualRule>,
    /// `track_script`.
    pub track_scripts: Vec<TrackRef>,
    /// `track_interface`.
    pub track_interfaces: Vec<TrackRef>,
    /// `track_file`.
    pub track_files: Vec<TrackRef>,
    /// `track_process`.
    #[serde(default)]
    pub track_processes: Vec<TrackProcessRef>,
    /// `notify_*`.
    pub notify: NotifyConfig,
    /// `preempt` (default) / `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay` (0..=1000 s): how long a higher-priority Backup keeps accepting a
    /// lower-priority Master's adverts before preempting it.
    pub preempt_delay: Duration,
    /// `accept` / `no_accept`: RFC 5798 §6.1 Accept_Mode. Off, a Master that is not the
    /// address owner (priority 255) drops IP traffic to and from its VIPs
    /// ([`crate::Output::BlockVips`]). keepalived 2.2.7's default: on, off under
    /// `vrrp_strict` (unless priority 255); `accept` under `vrrp_strict` with VRRPv2 is reset
    /// to off.
    pub accept: bool,
    /// `unicast_src_ip` / `mcast_src_ip`: the source address of adverts, unicast or multicast
    /// (default: the interface's address).
    pub unicast_src: Option<IpAddr>,
    /// `unicast_peer { ... }`: send to each peer (and, with `check_unicast_src`, accept
    /// only from them).
    pub unicast_peers: Vec<IpAddr>,
    /// `check_unicast_src` (set too by a peer's `min_ttl` / `max_ttl`): a unicast advert
    /// from an address not in `unicast_peers`, or with a TTL outside the peer's range, is
    /// discarded (keepalived 2.2.7 `vrrp_check_packet`); off, any source is accepted.
    #[serde(default)]
    pub check_unicast_src: bool,
    /// `unicast_peer { ADDR min_ttl N max_ttl N }`: the TTL / hop-limit range accepted from
    /// a peer; peers not listed accept 0..=255.
    #[serde(default)]
    pub unicast_peer_ttl: Vec<PeerTtl>,
    /// `unicast_ttl`: the TTL (hop limit) unicast adverts are sent with (default 255).
    #[serde(default)]
    pub unicast_ttl: Option<u8>,
    /// Per-instance `garp_master_*` overrides of `global_defs`.
    pub garp: GarpConfig,
    /// `dont_track_primary`: the instance's own interface going down does not mean FAULT.
    pub dont_track_primary: bool,
    /// VRRPv3 over IPv4 checksum with or without the pseudo-header (interop switch).
    pub checksum_mode: ChecksumMode,
    /// RFC 9568 §6.4.3: a Master receiving a lower-priority advert sends one at once
    /// (keepalived's default); off to behave as RFC 5798.
    pub advert_on_lower_priority: bool,
    /// keepalived's `higher_prio_send_advert`: a Master hearing a higher priority sends one
    /// advert of its own before it steps down (default off; off under `vrrp_strict`).
    #[serde(default)]
    pub higher_prio_send_advert: bool,
    /// `smtp_alert [BOOL]`: mail on state changes (unset: `smtp_alert_vrrp`, then
    /// `smtp_alert` of `global_defs`, then off).
    #[serde(default)]
    pub smtp_alert: Option<bool>,
    /// `strict_mode [BOOL]` of the instance (unset: `vrrp_strict` of `global_defs`). The front
    /// end applies its effects to the other fields (keepalived 2.2.7 `vrrp_complete_instance`).
    #[serde(default)]
    pub strict_mode: Option<bool>,
    /// `skip_check_adv_addr`: do not compare a received advert's address list with ours
    /// (also on for every instance with `vrrp_skip_check_adv_addr`).
    #[serde(default)]
    pub skip_check_adv_addr: bool,
}

impl InstanceConfig {
    /// An instance with keepalived's defaults.
    pub fn new(name: impl Into<String>, interface: impl Into<String>, vrid: u8) -> Self {
        InstanceConfig {
            name: name.into(),
            initial_state: InitialState::Backup,
            interface: interface.into(),
            use_vmac: None,
            vmac_xmit_base: false,
            vrid,
            priority: 100,
            advert_interval: Duration::from_secs(1),
            version: Version::V2,
            auth: None,
            vips: Vec::new(),
            vips_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            track_scripts: Vec::new(),
            track_interfaces: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            notify: NotifyConfig::default(),
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept: true,
            unicast_src: None,
            unicast_peers: Vec::new(),
            check_unicast_src: false,
            unicast_peer_ttl: Vec::new(),
            unicast_ttl: None,
            garp: GarpConfig::default(),
            dont_track_primary: false,
            strict_mode: None,
            skip_check_adv_addr: false,
            checksum_mode: ChecksumMode::PseudoHeader,
            advert_on_lower_priority: true,
            higher_prio_send_advert: false,
            smtp_alert: None,
        }
    }

    /// The `preempt_delay` in force: none with `state MASTER` (keepalived 2.2.7
    /// `vrrp_complete_instance`: "preempt delay will not work with initial state MASTER -
    /// clearing").
    pub fn effective_preempt_delay(&self) -> Duration {
        match self.initial_state {
            InitialState::Master => Duration::ZERO,
            InitialState::Backup => self.preempt_delay,
        }
    }

    /// Address family: that of the first VIP, else of the unicast source, else of the first
    /// unicast peer, else IPv4.
    pub fn family(&self) -> Family {
        self.vips
            .first()
            .map(|v| Family::of(&v.addr))
            .or(self.unicast_src.as_ref().map(Family::of))
            .or(self.unicast_peers.first().map(Family::of))
            .unwrap_or(Family::Ipv4)
    }
}

/// The TTL range accepted from one unicast peer (`min_ttl`, `max_ttl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerTtl {
    /// The peer.
    pub addr: IpAddr,
    /// `min_ttl` (default 0).
    pub min: u8,
    /// `max_ttl` (default 255).
    pub max: u8,
}

/// VRRPv2 authentication configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE", tag = "type", content = "pass")]
pub enum AuthConfig {
    /// `auth_type PASS` with `auth_pass` (at most 8 bytes are carried).
    Pass(String),
    /// `auth_type AH`: parsed, not supported by the engine.
    Ah,
}

/// A `vrrp_sync_group`: instances that change state together (keepalived 2.2.7
/// `vrrp_sync.c`; see [`crate::Engine`] for the rules the engine applies).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncGroupConfig {
    /// The block's name.
    pub name: String,
    /// `group { ... }`: member instance names.
    pub instances: Vec<String>,
    /// `track_script` of the group: tracked by every member.
    pub track_scripts: Vec<TrackRef>,
    /// `track_interface` of the group: tracked by every member.
    #[serde(default)]
    pub track_interfaces: Vec<TrackRef>,
    /// `track_file` of the group: tracked by every member.
    #[serde(default)]
    pub track_files: Vec<TrackRef>,
    /// `track_process` of the group: tracked by every member.
    #[serde(default)]
    pub track_processes: Vec<TrackProcessRef>,
    /// `sync_group_tracking_weight` (or the deprecated `global_tracking`): members keep the
    /// weights of their own tracked scripts, interfaces and files (off: they are ignored).
    #[serde(default)]
    pub tracking_weight: bool,
    /// `notify_*` of the group.
    pub notify: NotifyConfig,
    /// `smtp_alert [BOOL]` of the group (unset: `smtp_alert_vrrp`, else `smtp_alert`, else
    /// off; keepalived 2.2.7 `vrrp_complete_init`).
    #[serde(default)]
    pub smtp_alert: Option<bool>,
}

impl SyncGroupConfig {
    /// A group of the named instances, with nothing tracked and no notify.
    pub fn new(name: impl Into<String>, instances: &[&str]) -> Self {
        SyncGroupConfig {
            name: name.into(),
            instances: instances.iter().map(|s| s.to_string()).collect(),
            track_scripts: Vec::new(),
            track_interfaces: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            tracking_weight: false,
            smtp_alert: None,
            notify: NotifyConfig::default(),
        }
    }
}

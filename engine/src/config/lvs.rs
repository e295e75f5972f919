//! `virtual_server`, `real_server` and checker blocks: kept verbatim (so a file can be dumped
//! as written) and typed (what the check engine runs). A typed field that is `None` is unset
//! in the file and inherits as keepalived 2.2.7 does (`check_data.c`,
//! `validate_check_config`): checker from real server, real server from virtual server, and
//! keepalived's defaults last ([`crate::lvs`] resolves them).

use crate::lvs::{Forwarding, HttpVersion, ServiceKey};
use core::net::{IpAddr, SocketAddr};
use core::time::Duration;
use serde::{Deserialize, Serialize};

/// Simple `keyword value...` lines of a block, verbatim and in order.
pub type OptionLines = Vec<(String, Vec<String>)>;

/// keepalived's default `delay_loop` (`KEEPALIVED_DEFAULT_DELAY`, 60 s).
pub const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
/// keepalived's default `connect_timeout` (5 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// keepalived's default scheduler (`IPVS_DEF_SCHED`).
pub const DEFAULT_SCHEDULER: &str = "wlc";
/// Persistence timeout when `persistence_timeout` has no value, or a port-0 service needs one
/// (`IPVS_SVC_PERSISTENT_TIMEOUT`, 360 s).
pub const DEFAULT_PERSISTENCE_TIMEOUT: u32 = 360;

/// A `virtual_server_group NAME { ... }` block: the services a `virtual_server group NAME`
/// programs, all with the same real servers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerGroupConfig {
    /// Its name.
    pub name: String,
    /// Its entries, verbatim (each line's words), for dumping.
    pub lines: Vec<Vec<String>>,
    /// Its entries, read.
    pub entries: Vec<GroupEntry>,
}

/// One entry of a `virtual_server_group`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum GroupEntry {
    /// `ADDR PORT`, `ADDR-LAST PORT` (the last byte or 16 bits range), `ADDR-ADDR PORT` or
    /// `ADDR/MASK PORT`: every address from `first` to `last`, on `port`.
    Range {
        /// First address.
        first: IpAddr,
        /// Last address (the same as `first` for one address).
        last: IpAddr,
        /// Port (0: every port, persistent services only).
        port: u16,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        /// The mark.
        mark: u32,
        /// Its family, if given.
        family: Option<crate::types::Family>,
    },
}

/// A `virtual_server` (LVS) block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerConfig {
    /// The words after `virtual_server` (address and port, or `fwmark N`, or `group NAME`).
    pub target: Vec<String>,
    /// Simple `keyword value...` lines of the block, verbatim, in order.
    pub options: OptionLines,
    /// `real_server` blocks.
    pub real_servers: Vec<RealServerConfig>,
    /// The IPVS service it programs; `None` for a `group` or a bad target.
    pub service: Option<ServiceKey>,
    /// `virtual_server group NAME`: the group whose services it programs.
    pub group: Option<String>,
    /// `protocol` (default UDP, as keepalived's; ignored for fwmark services).
    pub protocol: Option<crate::lvs::Protocol>,
    /// `lb_algo` / `lvs_sched` (default `wlc`).
    pub scheduler: Option<String>,
    /// `lb_kind` / `lvs_method` (default NAT).
    pub forwarding: Option<Forwarding>,
    /// `persistence_timeout` in seconds.
    pub persistence_timeout: Option<u32>,
    /// `persistence_granularity`: IPv4 netmask (host order) or IPv6 prefix length.
    pub persistence_granularity: Option<u32>,
    /// `persistence_engine`.
    pub persistence_engine: Option<String>,
    /// `IP_VS_SVC_F_*` flags from `ops`, `flag-1..3`, `sh-port`, `sh-fallback`, ...
    pub flags: u32,
    /// `delay_loop` (default 60 s).
    pub delay_loop: Option<Duration>,
    /// `connect_timeout` (default 5 s).
    pub connect_timeout: Option<Duration>,
    /// `retry`.
    pub retry: Option<u32>,
    /// `delay_before_retry`.
    pub delay_before_retry: Option<Duration>,
    /// `warmup`.
    pub warmup: Option<Duration>,
    /// `alpha`: real servers start failed until a check passes.
    pub alpha: bool,
    /// `omega`: run the down notifications at shutdown too.
    pub omega: bool,
    /// `inhibit_on_failure`: failed real servers stay with weight 0 instead of leaving.
    pub inhibit_on_failure: bool,
    /// `quorum` (default 1): the live weight the pool needs.
    pub quorum: u32,
    /// `hysteresis` (default 0).
    pub hysteresis: u32,
    /// `quorum_up` script.
    pub quorum_up: Option<String>,
    /// `quorum_down` script.
    pub quorum_down: Option<String>,
    /// `weight`: the default real-server weight (default 1).
    pub weight: u32,
    /// `sorry_server`, with `sorry_server_inhibit` and `sorry_server_lvs_method`.
    pub sorry_server: Option<SorryServerConfig>,
    /// `virtualhost`: `Host:` for HTTP checkers that set none.
    pub virtualhost: Option<String>,
    /// `ip_family inet|inet6`.
    pub family: Option<crate::types::Family>,
    /// `ha_suspend`: suspend checkers while the virtual address is not on this host.
    pub ha_suspend: bool,
    /// `smtp_alert [BOOL]`: mail on quorum changes (unset: `smtp_alert_checker`, then
    /// `smtp_alert` of `global_defs`, then off).
    #[serde(default)]
    pub smtp_alert: Option<bool>,
}

/// `sorry_server ADDR PORT` of a virtual server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SorryServerConfig {
    /// Its address and port (0: the virtual server's port).
    pub addr: SocketAddr,
    /// `sorry_server_inhibit`: always present, weight 0 while not needed.
    pub inhibit: bool,
    /// `sorry_server_lvs_method` (default the virtual server's).
    pub forwarding: Option<Forwarding>,
}

/// A `real_server` block inside a `virtual_server`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RealServerConfig {
    /// The words after `real_server` (address and port).
    pub target: Vec<String>,
    /// Simple `keyword value...` lines, verbatim, in order.
    pub options: OptionLines,
    /// Checker blocks (`TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `MISC_CHECK`, ...).
    pub checkers: Vec<CheckerConfig>,
    /// Its address and port (port 0: the virtual server's port); `None` if unreadable.
    pub addr: Option<SocketAddr>,
    /// `weight` (default the virtual server's `weight`).
    pub weight: Option<u32>,
    /// `lvs_method` (default the virtual server's).
    pub forwarding: Option<Forwarding>,
    /// `inhibit_on_failure` (default the virtual server's).
    pub inhibit_on_failure: Option<bool>,
    /// `alpha` (default the virtual server's).
    pub alpha: Option<bool>,
    /// `retry`.
    pub retry: Option<u32>,
    /// `delay_before_retry`.
    pub delay_before_retry: Option<Duration>,
    /// `warmup`.
    pub warmup: Option<Duration>,
    /// `connect_timeout`.
    pub connect_timeout: Option<Duration>,
    /// `delay_loop`.
    pub delay_loop: Option<Duration>,
    /// `notify_up` script.
    pub notify_up: Option<String>,
    /// `notify_down` script.
    pub notify_down: Option<String>,
    /// `uthreshold`.
    pub u_threshold: u32,
    /// `lthreshold`.
    pub l_threshold: u32,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `smtp_alert [BOOL]`: mail when its checkers take it up or down (unset:
    /// `smtp_alert_checker`, then `smtp_alert` of `global_defs`, then on, as keepalived 2.2.7
    /// keeps it for backward compatibility).
    #[serde(default)]
    pub smtp_alert: Option<bool>,
}

/// A checker block inside a `real_server`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckerConfig {
    /// `TCP_CHECK`, `HTTP_GET`, ...
    pub kind: String,
    /// Simple `keyword value...` lines, verbatim, in order.
    pub options: OptionLines,
    /// Nested blocks (`url { ... }`), each as its keyword and its lines.
    pub blocks: Vec<(String, OptionLines)>,
    /// What it checks; `None` for a checker the engine does not run (`DNS_CHECK`, ...) or
    /// one keepalived drops (an `HTTP_GET` without a `url`).
    pub check: Option<CheckKind>,
    /// `retry` (`nb_get_retry` in HTTP_GET / SSL_GET).
    pub retry: Option<u32>,
    /// `delay_before_retry`.
    pub delay_before_retry: Option<Duration>,
    /// `warmup`.
    pub warmup: Option<Duration>,
    /// `delay_loop`.
    pub delay_loop: Option<Duration>,
    /// `alpha`.
    pub alpha: Option<bool>,
    /// `connect_ip`.
    pub connect_ip: Option<IpAddr>,
    /// `connect_port`.
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `fwmark` (SO_MARK of the probe's socket).
    pub fwmark: Option<u32>,
    /// `connect_timeout`.
    pub connect_timeout: Option<Duration>,
}

/// The kind of a checker the engine runs, with its own settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CheckKind {
    /// `TCP_CHECK`.
    Tcp,
    /// `HTTP_GET` (`tls: false`) or `SSL_GET` (`tls: true`).
    Http(HttpCheckConfig),
    /// `MISC_CHECK`.
    Misc(MiscCheckConfig),
}

/// Settings of `HTTP_GET` / `SSL_GET`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpCheckConfig {
    /// `SSL_GET`.
    pub tls: bool,
    /// The `url { }` blocks, checked one after another.
    pub urls: Vec<UrlConfig>,
    /// `virtualhost` of the checker.
    pub virtualhost: Option<String>,
    /// `http_protocol` (default 1.0).
    pub version: HttpVersion,
    /// `enable_sni`.
    pub enable_sni: bool,
    /// `fast_recovery`: while not up and no failure known, check again at once.
    pub fast_recovery: bool,
}

/// One `url { }` of an HTTP checker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UrlConfig {
    /// `path`.
    pub path: String,
    /// `digest`: MD5 of the body.
    pub digest: Option<[u8; 16]>,
    /// `status_code` codes and ranges, inclusive (default 200-299).
    pub status_codes: Vec<(u16, u16)>,
    /// `virtualhost` of this URL.
    pub virtualhost: Option<String>,
}

impl UrlConfig {
    /// Whether `code` is one of the accepted status codes (keepalived: 100..=599 only).
    pub fn accepts(&self, code: u16) -> bool {
        (100..=599).contains(&code)
            && if self.status_codes.is_empty() {
                (200..=299).contains(&code)
            } else {
                self.status_codes
                    .iter()
                    .any(|&(lo, hi)| (lo..=hi).contains(&code))
            }
    }
}

/// Settings of `MISC_CHECK`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MiscCheckConfig {
    /// `misc_path`: the command line.
    pub path: String,
    /// `misc_timeout` (default the virtual server's `delay_loop`).
    pub timeout: Option<Duration>,
    /// `misc_dynamic`: exit status 2..=255 sets the weight to status - 2.
    pub dynamic: bool,
    /// `user USER [GROUP]`.
    pub user: Option<String>,
}

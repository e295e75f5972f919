//! The experiment file schema (TOML, serde). Every struct denies unknown fields, so a typo is
//! an error with its position, never silently ignored. `docs/experiments.md` documents it.

use super::duration::Dur;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use toml::Spanned;

/// A whole experiment file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// Name: the default output folder is `out/<name>/`.
    pub name: String,
    /// What the experiment shows.
    #[serde(default)]
    pub description: String,
    /// Simulated time of each run.
    pub duration: Spanned<Dur>,
    /// Runs per variant (seeds `seed_base .. seed_base + seeds`).
    #[serde(default = "one")]
    pub seeds: Spanned<u64>,
    /// First seed.
    #[serde(default)]
    pub seed_base: u64,
    /// `"event"` (the event queue, default) or `"turmoil"`.
    #[serde(default = "event_backend")]
    pub backend: Spanned<String>,
    /// The LAN.
    #[serde(default)]
    pub network: NetworkSpec,
    /// The clients whose view of the VIP is measured.
    #[serde(default)]
    pub clients: ClientSpec,
    /// The VRRP hosts.
    pub nodes: Vec<NodeSpec>,
    /// Real servers behind the nodes' `virtual_server`s: every `real_server` of a node's
    /// config is one (healthy, network latency); entries here set their latency and first
    /// state, or add servers the configs only reach through a variant.
    #[serde(default)]
    pub real_servers: Vec<RealServerSpec>,
    /// Clients sending requests to a virtual service (LVS experiments).
    #[serde(default)]
    pub lvs_clients: Option<LvsClientsSpec>,
    /// Faults and changes over time.
    #[serde(default)]
    pub timeline: Vec<Spanned<FaultSpec>>,
    /// Named alternatives compared by one run of the file.
    #[serde(default)]
    pub variants: Vec<VariantSpec>,
    /// What to write.
    #[serde(default)]
    pub outputs: OutputSpec,
}

fn event_backend() -> Spanned<String> {
    Spanned::new(0..0, "event".to_string())
}

fn zero_loss() -> Spanned<f64> {
    Spanned::new(0..0, 0.0)
}

fn one() -> Spanned<u64> {
    Spanned::new(0..0, 1)
}

/// One VRRP host.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Name used by the timeline and variants.
    pub name: Spanned<String>,
    /// IPv4 address of its interfaces (the VRRP source address and tie-breaker).
    pub address: Ipv4Addr,
    /// IPv6 link-local address (default fe80::<n+1>).
    #[serde(default)]
    pub ipv6_link_local: Option<Ipv6Addr>,
    /// keepalived.conf text, inline.
    #[serde(default)]
    pub config: Option<Spanned<String>>,
    /// keepalived.conf path, relative to the experiment file.
    #[serde(default)]
    pub config_file: Option<Spanned<String>>,
    /// When its daemon starts (default 0).
    #[serde(default)]
    pub start: Option<Dur>,
    /// Shift the start by a random amount in [0, start_jitter) per run.
    #[serde(default)]
    pub start_jitter: Option<Dur>,
}

/// Latency: a fixed `"1ms"`, or a range `{ min = "100us", max = "2ms" }` drawn uniformly, or
/// `{ min, max, distribution = "exponential" }`: min plus an exponential with mean
/// (max - min) / 5, capped at max (turmoil's latency curve).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum LatencySpec {
    /// Fixed one-way latency.
    Fixed(Dur),
    /// Drawn from a range.
    Range(LatencyRange),
}

/// A latency range and its distribution.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LatencyRange {
    /// Lower bound.
    pub min: Dur,
    /// Upper bound.
    pub max: Dur,
    /// `"uniform"` (default) or `"exponential"`.
    #[serde(default)]
    pub distribution: Distribution,
}

/// How latencies are drawn within a range.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    /// Uniform in [min, max].
    #[default]
    Uniform,
    /// min + Exp(mean = (max - min) / 5), capped at max.
    Exponential,
}

impl Default for LatencySpec {
    fn default() -> Self {
        LatencySpec::Fixed(Dur(std::time::Duration::from_micros(100)))
    }
}

/// Bursty loss: a two-state Gilbert-Elliott chain stepped once per packet and link.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BurstSpec {
    /// Probability of moving from Good to Bad at each packet.
    pub p_enter_bad: f64,
    /// Probability of moving from Bad to Good at each packet.
    pub p_leave_bad: f64,
    /// Loss probability while Good.
    #[serde(default)]
    pub loss_good: f64,
    /// Loss probability while Bad.
    #[serde(default = "one_f")]
    pub loss_bad: f64,
}

fn one_f() -> f64 {
    1.0
}

/// The LAN: defaults for every link plus per-link overrides.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// One-way latency of every link.
    #[serde(default)]
    pub latency: LatencySpec,
    /// Independent loss probability per packet and receiver.
    #[serde(default = "zero_loss")]
    pub loss: Spanned<f64>,
    /// Bursty loss on every link.
    #[serde(default)]
    pub burst: Option<BurstSpec>,
    /// Per-link overrides (directed: from -> to).
    #[serde(default)]
    pub links: Vec<LinkSpec>,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            latency: LatencySpec::default(),
            loss: zero_loss(),
            burst: None,
            links: Vec::new(),
        }
    }
}

/// A directed link override.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Sender.
    pub from: Spanned<String>,
    /// Receiver.
    pub to: Spanned<String>,
    /// Latency on this link.
    #[serde(default)]
    pub latency: Option<LatencySpec>,
    /// Loss on this link.
    #[serde(default)]
    pub loss: Option<Spanned<f64>>,
    /// Bursty loss on this link.
    #[serde(default)]
    pub burst: Option<BurstSpec>,
}

/// Clients on the LAN.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// How many (they all see the same gratuitous ARPs; more matter with per-client loss).
    #[serde(default = "one_u32")]
    pub count: u32,
    /// A client whose target stops answering re-resolves the VIP after this long (Linux
    /// neighbour unreachability detection). Default: never; only gratuitous ARP / NA move it.
    #[serde(default)]
    pub arp_reresolve_after: Option<Dur>,
}

impl Default for ClientSpec {
    fn default() -> Self {
        ClientSpec {
            count: 1,
            arp_reresolve_after: None,
        }
    }
}

fn one_u32() -> u32 {
    1
}

/// One real server: a model object answering the directors' probes and the clients'
/// requests according to its state.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealServerSpec {
    /// `ADDR:PORT`, as IPVS has it (e.g. `"192.168.1.101:80"`).
    pub address: Spanned<String>,
    /// One-way latency between a director and this server (default: the network's).
    #[serde(default)]
    pub latency: Option<LatencySpec>,
    /// State at time zero: `up` (default), `down`, `blackhole`, `slow`, `http_status`,
    /// `wrong_body`.
    #[serde(default)]
    pub state: Option<Spanned<String>>,
    /// `slow`: how much later than one round trip it answers.
    #[serde(default)]
    pub delay: Option<Dur>,
    /// `http_status`: the status code it answers with.
    #[serde(default)]
    pub status: Option<u16>,
    /// Exit status of a `MISC_CHECK` against it while it is up (default 0; 2..=255 gives
    /// weight status - 2 with `misc_dynamic`).
    #[serde(default)]
    pub misc_exit: Option<u8>,
}

/// Clients sending requests to a virtual service through the director.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LvsClientsSpec {
    /// Requests per second.
    pub rate: Spanned<f64>,
    /// `"poisson"` (default: exponential gaps, a random client each) or `"fixed"` (evenly
    /// spaced, clients in turn).
    #[serde(default)]
    pub arrivals: Option<Spanned<String>>,
    /// Distinct client addresses (persistence is per client address; default 100).
    #[serde(default)]
    pub sources: Option<Spanned<u32>>,
    /// The virtual service, `ADDR:PORT` (TCP); default: the first `virtual_server` of the
    /// nodes' configs.
    #[serde(default)]
    pub service: Option<Spanned<String>>,
    /// When the first request is sent (default 0).
    #[serde(default)]
    pub start: Option<Dur>,
}

/// One entry of the fault timeline.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultSpec {
    /// Graceful stop (SIGTERM): priority-0 adverts, VIPs released, daemon gone.
    Stop {
        /// When.
        at: Dur,
        /// Which node.
        node: String,
        /// Shift `at` by a random amount in [0, jitter) per run (e.g. a crash at a random
        /// phase of the advert interval).
        #[serde(default)]
        jitter: Dur,
    },
    /// Crash (SIGKILL / power loss): silent; VIPs stay on the dead host.
    Kill {
        /// When.
        at: Dur,
        /// Which node.
        node: String,
        /// Shift `at` by a random amount in [0, jitter) per run (e.g. a crash at a random
        /// phase of the advert interval).
        #[serde(default)]
        jitter: Dur,
    },
    /// Start the daemon again (a restart clears VIPs a dead predecessor left).
    Restart {
        /// When.
        at: Dur,
        /// Which node.
        node: String,
    },
    /// Cut the LAN between groups of nodes, both ways.
    Partition {
        /// When.
        at: Dur,
        /// Groups: nodes in different groups cannot reach each other.
        groups: Vec<Vec<String>>,
    },
    /// Drop packets from `from` to `to` only.
    OneWayPartition {
        /// When.
        at: Dur,
        /// Senders.
        from: Vec<String>,
        /// Receivers.
        to: Vec<String>,
    },
    /// Remove every partition.
    Heal {
        /// When.
        at: Dur,
    },
    /// Change the independent loss rate (all links, or one directed link).
    Loss {
        /// When.
        at: Dur,
        /// New rate.
        rate: f64,
        /// Sender of the link (all links if absent).
        #[serde(default)]
        from: Option<String>,
        /// Receiver of the link.
        #[serde(default)]
        to: Option<String>,
    },
    /// Start bursty loss on every link (a Gilbert-Elliott chain per directed link), or end
    /// it when `burst` is absent.
    Burst {
        /// When.
        at: Dur,
        /// The chain; absent: bursts end.
        #[serde(default)]
        burst: Option<BurstSpec>,
    },
    /// Change the latency of every link.
    Latency {
        /// When.
        at: Dur,
        /// New latency.
        latency: LatencySpec,
    },
    /// Take a node's interface down (FAULT unless dont_track_primary).
    LinkDown {
        /// When.
        at: Dur,
        /// Which node.
        node: String,
    },
    /// Bring it back up.
    LinkUp {
        /// When.
        at: Dur,
        /// Which node.
        node: String,
    },
    /// A check starts failing.
    CheckFail {
        /// When.
        at: Dur,
        /// Which node.
        node: String,
        /// The vrrp_script name.
        script: String,
    },
    /// A check starts passing.
    CheckPass {
        /// When.
        at: Dur,
        /// Which node.
        node: String,
        /// The vrrp_script name.
        script: String,
    },
    /// A check flaps: fails for `duty` of every `period`, each cycle shifted by up to `jitter`.
    CheckFlap {
        /// When it starts.
        at: Dur,
        /// Which node.
        node: String,
        /// The vrrp_script name.
        script: String,
        /// Cycle length.
        period: Dur,
        /// Failing fraction of each cycle (0..1).
        duty: f64,
        /// Random shift of each failing window, uniform in [0, jitter).
        #[serde(default)]
        jitter: Dur,
    },
    /// The tracked process stops on a node: no process matches it any more (`vrrp_track_process`
    /// name; its processes exit).
    ProcessStop {
        /// When.
        at: Dur,
        /// Which node.
        node: String,
        /// The vrrp_track_process name.
        process: String,
    },
    /// The tracked process runs again on a node: `count` processes match it (default 1).
    ProcessStart {
        /// When.
        at: Dur,
        /// Which node.
        node: String,
        /// The vrrp_track_process name.
        process: String,
        /// How many processes match from then on.
        #[serde(default = "one_u32")]
        count: u32,
    },
    /// Set a node's configured priority.
    Priority {
        /// When.
        at: Dur,
        /// Which node.
        node: String,
        /// Instance name (default: every instance of the node).
        #[serde(default)]
        instance: Option<String>,
        /// New priority.
        priority: u8,
    },
    /// Reload a node with new keepalived.conf text (SIGHUP after editing the file): the
    /// engine's reconfiguration, keepalived's reload semantics.
    Reload {
        /// When.
        at: Dur,
        /// Which node.
        node: String,
        /// The new configuration, inline.
        #[serde(default)]
        config: Option<String>,
        /// Or a file, relative to the experiment file.
        #[serde(default)]
        config_file: Option<String>,
    },
    /// A real server's state changes (the model behind every director's probes and the
    /// clients' requests).
    RealServer {
        /// When.
        at: Dur,
        /// Which real server, `ADDR:PORT`.
        address: String,
        /// `up`, `down` (refused), `blackhole` (no answer), `slow`, `http_status`,
        /// `wrong_body`.
        state: String,
        /// `slow`: how much later than one round trip it answers.
        #[serde(default)]
        delay: Option<Dur>,
        /// `http_status`: the status code it answers with.
        #[serde(default)]
        status: Option<u16>,
        /// Shift `at` by a random amount in [0, jitter) per run (a fault at a random phase
        /// of the checkers' cycle).
        #[serde(default)]
        jitter: Dur,
    },
}

impl FaultSpec {
    /// The random shift range of `at` (stop, kill and real_server only).
    pub fn jitter(&self) -> Dur {
        match self {
            FaultSpec::Stop { jitter, .. }
            | FaultSpec::Kill { jitter, .. }
            | FaultSpec::RealServer { jitter, .. } => *jitter,
            _ => Dur::default(),
        }
    }

    /// When it happens.
    pub fn at(&self) -> Dur {
        match self {
            FaultSpec::Stop { at, .. }
            | FaultSpec::Kill { at, .. }
            | FaultSpec::Restart { at, .. }
            | FaultSpec::Partition { at, .. }
            | FaultSpec::OneWayPartition { at, .. }
            | FaultSpec::Heal { at }
            | FaultSpec::Loss { at, .. }
            | FaultSpec::Latency { at, .. }
            | FaultSpec::Burst { at, .. }
            | FaultSpec::LinkDown { at, .. }
            | FaultSpec::LinkUp { at, .. }
            | FaultSpec::CheckFail { at, .. }
            | FaultSpec::CheckPass { at, .. }
            | FaultSpec::CheckFlap { at, .. }
            | FaultSpec::ProcessStop { at, .. }
            | FaultSpec::ProcessStart { at, .. }
            | FaultSpec::Priority { at, .. }
            | FaultSpec::Reload { at, .. }
            | FaultSpec::RealServer { at, .. } => *at,
        }
    }

    /// Every node name the entry refers to.
    pub fn node_names(&self) -> Vec<&str> {
        match self {
            FaultSpec::Stop { node, .. }
            | FaultSpec::Kill { node, .. }
            | FaultSpec::Restart { node, .. }
            | FaultSpec::LinkDown { node, .. }
            | FaultSpec::LinkUp { node, .. }
            | FaultSpec::CheckFail { node, .. }
            | FaultSpec::CheckPass { node, .. }
            | FaultSpec::CheckFlap { node, .. }
            | FaultSpec::ProcessStop { node, .. }
            | FaultSpec::ProcessStart { node, .. }
            | FaultSpec::Priority { node, .. }
            | FaultSpec::Reload { node, .. } => vec![node.as_str()],
            FaultSpec::Partition { groups, .. } => {
                groups.iter().flatten().map(String::as_str).collect()
            }
            FaultSpec::OneWayPartition { from, to, .. } => {
                from.iter().chain(to).map(String::as_str).collect()
            }
            FaultSpec::Loss { from, to, .. } => from.iter().chain(to).map(String::as_str).collect(),
            FaultSpec::Heal { .. }
            | FaultSpec::Latency { .. }
            | FaultSpec::Burst { .. }
            | FaultSpec::RealServer { .. } => Vec::new(),
        }
    }
}

/// A named alternative: edits of node configs, the network or the timeline.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    /// Name (a column of the CSV files).
    pub name: Spanned<String>,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Edits per node name. (Not spanned: toml cannot span a table that later headers
    /// extend, such as `[variants.nodes.a.scripts.x]`; errors point at the variant's name.)
    #[serde(default)]
    pub nodes: BTreeMap<String, NodeEdit>,
    /// Network edits.
    #[serde(default)]
    pub network: Option<NetworkEdit>,
    /// Extra timeline entries for this variant.
    #[serde(default)]
    pub timeline: Vec<Spanned<FaultSpec>>,
    /// keepalived.conf text with `virtual_server` blocks only: they replace the
    /// `virtual_server` blocks of every node that has any (checker settings compared across
    /// variants without repeating whole configs).
    #[serde(default)]
    pub virtual_servers: Option<Spanned<String>>,
    /// Position on the x axis of the sweep plots (`[outputs.sweep]`).
    #[serde(default)]
    pub x: Option<f64>,
    /// Which line of the sweep plots this variant belongs to.
    #[serde(default)]
    pub series: Option<String>,
}

/// Edits of a node's parsed configuration (applied to every instance, or to `instance`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeEdit {
    /// Restrict instance edits to this instance.
    #[serde(default)]
    pub instance: Option<String>,
    /// `priority`.
    #[serde(default)]
    pub priority: Option<u8>,
    /// `state`: `"MASTER"` or `"BACKUP"`.
    #[serde(default)]
    pub state: Option<String>,
    /// `nopreempt` (true) or preempt (false).
    #[serde(default)]
    pub nopreempt: Option<bool>,
    /// `preempt_delay`.
    #[serde(default)]
    pub preempt_delay: Option<Dur>,
    /// `advert_int`.
    #[serde(default)]
    pub advert_int: Option<Dur>,
    /// `version` (2 or 3).
    #[serde(default)]
    pub version: Option<u8>,
    /// `garp_master_refresh` (0s = off).
    #[serde(default)]
    pub garp_master_refresh: Option<Dur>,
    /// `garp_lower_prio_repeat`: announcements per VIP when a Master hears a lower priority
    /// (keepalived's default 5; 0 = none, as under `vrrp_strict`).
    #[serde(default)]
    pub garp_lower_prio_repeat: Option<u32>,
    /// RFC 9568 advert on receiving a lower priority (on by default).
    #[serde(default)]
    pub advert_on_lower_priority: Option<bool>,
    /// `use_vmac` (true: with the default name `vrrp.VRID`; false: without).
    #[serde(default)]
    pub use_vmac: Option<bool>,
    /// `vmac_xmit_base`.
    #[serde(default)]
    pub vmac_xmit_base: Option<bool>,
    /// Edits of `vrrp_script` blocks, by name.
    #[serde(default)]
    pub scripts: BTreeMap<String, ScriptEdit>,
    /// Replace the whole keepalived.conf text.
    #[serde(default)]
    pub config: Option<String>,
}

/// Edits of one `vrrp_script`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScriptEdit {
    /// `weight`.
    #[serde(default)]
    pub weight: Option<i32>,
    /// `rise`.
    #[serde(default)]
    pub rise: Option<u32>,
    /// `fall`.
    #[serde(default)]
    pub fall: Option<u32>,
    /// `interval`.
    #[serde(default)]
    pub interval: Option<Dur>,
}

/// Network edits of a variant.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkEdit {
    /// Latency of every link.
    #[serde(default)]
    pub latency: Option<LatencySpec>,
    /// Independent loss.
    #[serde(default)]
    pub loss: Option<f64>,
    /// Bursty loss.
    #[serde(default)]
    pub burst: Option<BurstSpec>,
}

/// Outputs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Output folder (default `out/<name>`; `--out` wins).
    #[serde(default)]
    pub dir: Option<String>,
    /// Write PNG plots.
    #[serde(default = "yes")]
    pub plots: bool,
    /// Write `events.csv` for the first seed of each variant.
    #[serde(default = "yes")]
    pub events: bool,
    /// Sweep plots: one line per variant `series`, variants placed at their `x`.
    #[serde(default)]
    pub sweep: Option<Spanned<SweepSpec>>,
}

/// Sweep plots over variants.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Label of the x axis, with its unit.
    pub x_label: String,
    /// Metrics to plot (names as in summary.csv), one PNG each.
    pub metrics: Vec<String>,
    /// Theory overlaid as a dashed line: `"takeover"` (the RFC takeover time of each run) or
    /// `"false_takeovers_per_hour"` ((3600 / A) (1 - p) p^3 for independent loss p).
    #[serde(default)]
    pub theory: Option<String>,
    /// Logarithmic x axis.
    #[serde(default)]
    pub log_x: bool,
    /// Logarithmic y axis.
    #[serde(default)]
    pub log_y: bool,
}

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec {
            dir: None,
            plots: true,
            events: true,
            sweep: None,
        }
    }
}

fn yes() -> bool {
    true
}

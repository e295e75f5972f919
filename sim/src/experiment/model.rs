//! The resolved, runnable form of an experiment variant: backend-independent.

use crate::experiment::schema::{BurstSpec, LatencySpec};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::time::Duration;
use vrrp_engine::config::Config;

/// One variant: nodes with their configs, the network and the timeline.
#[derive(Clone, Debug)]
pub struct Variant {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The nodes.
    pub nodes: Vec<NodePlan>,
    /// The network at time zero.
    pub network: NetworkModel,
    /// Faults, sorted by time (stable: file order at equal times).
    pub timeline: Vec<TimedFault>,
    /// Position on the sweep plots' x axis.
    pub x: Option<f64>,
    /// Line of the sweep plots.
    pub series: Option<String>,
    /// The real servers: every `real_server` of every config the variant may run, with the
    /// `[[real_servers]]` settings.
    pub real_servers: Vec<RealServerModel>,
    /// Clients sending requests to a virtual service, if any.
    pub lvs_clients: Option<LvsClients>,
}

/// What a real server does when probed or sent a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsState {
    /// Healthy: answers after one round trip (HTTP 200 with the expected body, MISC exit 0
    /// or its `misc_exit`).
    Up,
    /// Connection refused after one round trip (MISC: exit 1).
    Down,
    /// No answer: probes end at their timeout (MISC: killed at `misc_timeout`).
    Blackhole,
    /// Answers this much later than one round trip; past the probe's timeout it is a
    /// timeout.
    Slow(Duration),
    /// HTTP answers with this status (TCP still connects; MISC: exit 1).
    HttpStatus(u16),
    /// HTTP 200 with a body whose MD5 is not the configured `digest` (TCP still connects;
    /// MISC: exit 1).
    WrongBody,
}

impl RsState {
    /// The name used in experiment files and CSV files (`slow` and `http_status` without
    /// their value).
    pub fn name(&self) -> &'static str {
        match self {
            RsState::Up => "up",
            RsState::Down => "down",
            RsState::Blackhole => "blackhole",
            RsState::Slow(_) => "slow",
            RsState::HttpStatus(_) => "http_status",
            RsState::WrongBody => "wrong_body",
        }
    }

    /// The state with its value, e.g. `slow 4s`, `http_status 500`.
    pub fn describe(&self) -> String {
        match self {
            RsState::Slow(d) => format!("slow {}", humantime::format_duration(*d)),
            RsState::HttpStatus(c) => format!("http_status {c}"),
            s => s.name().to_string(),
        }
    }

    /// The state names an experiment file may use.
    pub const NAMES: [&'static str; 6] = [
        "up",
        "down",
        "blackhole",
        "slow",
        "http_status",
        "wrong_body",
    ];
}

/// One real server as the simulation models it.
#[derive(Clone, Debug, PartialEq)]
pub struct RealServerModel {
    /// Its address and port (as IPVS has it).
    pub addr: SocketAddr,
    /// One-way latency between a director and it (`None`: the network's default).
    pub latency: Option<LatencySpec>,
    /// State at time zero.
    pub state: RsState,
    /// MISC exit status while up.
    pub misc_exit: u8,
}

/// Requests clients send to a virtual service.
#[derive(Clone, Debug, PartialEq)]
pub struct LvsClients {
    /// Requests per second.
    pub rate: f64,
    /// Exponential gaps and a random client each (`true`), or even spacing and clients in turn.
    pub poisson: bool,
    /// Distinct client addresses.
    pub sources: u32,
    /// The virtual service (`None`: the first of the nodes' configs).
    pub service: Option<SocketAddr>,
    /// When the first request is sent.
    pub start: Duration,
}

/// A node: host facts and its parsed keepalived configuration.
#[derive(Clone, Debug)]
pub struct NodePlan {
    /// Name.
    pub name: String,
    /// IPv4 address of its interfaces.
    pub address: Ipv4Addr,
    /// IPv6 link-local address.
    pub ipv6_link_local: Ipv6Addr,
    /// MAC address (02:00:00:00:00:<n+1>).
    pub mac: [u8; 6],
    /// Its configuration.
    pub config: Config,
    /// When its daemon starts.
    pub start: Duration,
    /// The start is shifted by a random amount in [0, start_jitter) per run.
    pub start_jitter: Duration,
}

/// Latency and loss of every directed link.
#[derive(Clone, Debug)]
pub struct NetworkModel {
    /// Every link not listed in `links`.
    pub default: LinkModel,
    /// Per directed link (from, to).
    pub links: BTreeMap<(usize, usize), LinkModel>,
}

impl NetworkModel {
    /// The model of the link `from -> to`.
    pub fn link(&self, from: usize, to: usize) -> &LinkModel {
        self.links.get(&(from, to)).unwrap_or(&self.default)
    }

    /// Largest one-way latency any link can have.
    pub fn max_latency(&self) -> Duration {
        self.links
            .values()
            .chain(std::iter::once(&self.default))
            .map(|l| match &l.latency {
                LatencySpec::Fixed(d) => d.0,
                LatencySpec::Range(r) => r.max.0,
            })
            .max()
            .unwrap_or_default()
    }

    /// No loss anywhere.
    pub fn lossless(&self) -> bool {
        self.links
            .values()
            .chain(std::iter::once(&self.default))
            .all(|l| l.loss == 0.0 && l.burst.is_none())
    }
}

/// One directed link.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkModel {
    /// One-way latency.
    pub latency: LatencySpec,
    /// Independent loss probability.
    pub loss: f64,
    /// Bursty loss.
    pub burst: Option<BurstSpec>,
}

/// A fault at a time.
#[derive(Clone, Debug)]
pub struct TimedFault {
    /// When.
    pub at: Duration,
    /// `at` is shifted by a random amount in [0, jitter) per run.
    pub jitter: Duration,
    /// What.
    pub fault: Fault,
    /// Where it is written in the experiment file (byte range).
    pub span: Range<usize>,
}

/// What a check does over time.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckBehaviour {
    /// Passes.
    Pass,
    /// Fails.
    Fail,
    /// Fails for `duty` of each `period` from `start`, each window shifted by up to `jitter`.
    Flap {
        /// Start of the first cycle.
        start: Duration,
        /// Cycle length.
        period: Duration,
        /// Failing fraction.
        duty: f64,
        /// Random shift of each failing window.
        jitter: Duration,
    },
}

/// A fault, with node names resolved to indices.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Graceful stop.
    Stop(usize),
    /// Crash.
    Kill(usize),
    /// Start again.
    Restart(usize),
    /// Cut between groups, both ways.
    Partition(Vec<Vec<usize>>),
    /// Cut from -> to.
    OneWay {
        /// Senders.
        from: Vec<usize>,
        /// Receivers.
        to: Vec<usize>,
    },
    /// Remove every cut.
    Heal,
    /// New independent loss rate (all links, or one).
    Loss {
        /// Rate.
        rate: f64,
        /// One directed link, or all.
        link: Option<(usize, usize)>,
    },
    /// New bursty loss on every link (`None`: bursts end).
    Burst(Option<BurstSpec>),
    /// New latency on every link.
    Latency(LatencySpec),
    /// Interface down.
    LinkDown(usize),
    /// Interface up.
    LinkUp(usize),
    /// A check's behaviour changes.
    Check {
        /// Node.
        node: usize,
        /// vrrp_script name.
        script: String,
        /// New behaviour.
        behaviour: CheckBehaviour,
    },
    /// The number of running processes a `vrrp_track_process` matches changes on a node.
    Process {
        /// Node.
        node: usize,
        /// The `vrrp_track_process` name.
        process: String,
        /// How many run from now on.
        count: u32,
    },
    /// Configured priority change.
    Priority {
        /// Node.
        node: usize,
        /// Instance, or all.
        instance: Option<String>,
        /// New priority.
        priority: u8,
    },
    /// Reload with a new configuration.
    Reload {
        /// Node.
        node: usize,
        /// The configuration it reloads.
        config: Box<vrrp_engine::config::Config>,
    },
    /// A real server's state changes.
    RealServer {
        /// Its address.
        addr: SocketAddr,
        /// The new state.
        state: RsState,
    },
}

impl Fault {
    /// A short human description for events.csv.
    pub fn describe(&self, names: &[String]) -> String {
        let n = |i: &usize| names.get(*i).cloned().unwrap_or_default();
        let list = |v: &[usize]| v.iter().map(n).collect::<Vec<_>>().join("+");
        match self {
            Fault::Stop(i) => format!("stop {}", n(i)),
            Fault::Kill(i) => format!("kill {}", n(i)),
            Fault::Restart(i) => format!("restart {}", n(i)),
            Fault::Partition(g) => format!(
                "partition {}",
                g.iter().map(|g| list(g)).collect::<Vec<_>>().join(" | ")
            ),
            Fault::OneWay { from, to } => {
                format!("one-way partition {} -> {}", list(from), list(to))
            }
            Fault::Heal => "heal".into(),
            Fault::Loss { rate, link: None } => format!("loss {rate}"),
            Fault::Loss {
                rate,
                link: Some((f, t)),
            } => format!("loss {rate} on {} -> {}", n(f), n(t)),
            Fault::Burst(Some(b)) => format!(
                "burst p_enter_bad {} p_leave_bad {} loss_good {} loss_bad {}",
                b.p_enter_bad, b.p_leave_bad, b.loss_good, b.loss_bad
            ),
            Fault::Burst(None) => "burst off".into(),
            Fault::Latency(l) => format!("latency {l:?}"),
            Fault::LinkDown(i) => format!("link down {}", n(i)),
            Fault::LinkUp(i) => format!("link up {}", n(i)),
            Fault::Check {
                node,
                script,
                behaviour,
            } => format!("check {script} on {} {behaviour:?}", n(node)),
            Fault::Process {
                node,
                process,
                count,
            } => format!("process {process} on {}: {count} running", n(node)),
            Fault::Reload { node, .. } => format!("reload {}", n(node)),
            Fault::RealServer { addr, state } => {
                format!("real server {addr} {}", state.describe())
            }
            Fault::Priority {
                node,
                instance,
                priority,
            } => {
                format!(
                    "priority {priority} on {}{}",
                    n(node),
                    instance
                        .as_ref()
                        .map(|i| format!(" {i}"))
                        .unwrap_or_default()
                )
            }
        }
    }

    /// Whether it changes the network's health (for the split-brain invariant).
    pub fn affects_network(&self) -> bool {
        matches!(
            self,
            Fault::Partition(_)
                | Fault::OneWay { .. }
                | Fault::Heal
                | Fault::Loss { .. }
                | Fault::Burst(_)
                | Fault::Latency(_)
                | Fault::LinkDown(_)
                | Fault::LinkUp(_)
        )
    }
}

/// A uniform shift in [0, jitter) drawn from a run's RNG; no draw at all for zero jitter, so
/// files without jitter keep their random streams. Every backend draws the node start shifts
/// first (in node order), then the timeline's (in timeline order), before anything else.
pub fn draw_shift(rng: &mut rand_chacha::ChaCha8Rng, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        Duration::ZERO
    } else {
        Duration::from_nanos(crate::draw::below(rng, jitter.as_nanos() as u64))
    }
}

/// The instants a run of `v` with `seed` starts each node and carries out each timeline entry
/// at: `start` and `at` shifted as every backend shifts them ([`draw_shift`], node starts
/// first, then the timeline, from the run's RNG before anything else). `sim lab` uses them so
/// that its one run is the simulator's run of that seed.
pub fn planned_instants(v: &Variant, seed: u64) -> (Vec<Duration>, Vec<Duration>) {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let starts = v
        .nodes
        .iter()
        .map(|p| p.start + draw_shift(&mut rng, p.start_jitter))
        .collect();
    let faults = v
        .timeline
        .iter()
        .map(|f| f.at + draw_shift(&mut rng, f.jitter))
        .collect();
    (starts, faults)
}

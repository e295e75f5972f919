//! The fault kinds a swarm draws from, and the per-run feature subsets ("swarm testing",
//! Groce et al., ISSTA 2012: each run enables a random subset of the kinds, so that some runs
//! are free of the faults that would mask others, e.g. no restart to end a crash, no loss to
//! hide a partition's split brain).

use crate::draw;
use crate::experiment::model::Variant;
use rand_chacha::ChaCha8Rng;

/// One kind of fault episode (a fault and, usually, its end).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `stop` (SIGTERM), then `restart`.
    Stop,
    /// `kill` (crash), then `restart`.
    Kill,
    /// `restart` of a running daemon (stop and start at once).
    Restart,
    /// `partition` into two groups, then `heal`.
    Partition,
    /// `one_way_partition`, then `heal`.
    OneWay,
    /// `loss` on every link or one directed link, then the configured rate again.
    Loss,
    /// `burst` (Gilbert-Elliott loss) on every link, then the configured bursts again.
    Burst,
    /// `latency` on every link, then the configured latency again.
    Latency,
    /// `link_down`, then `link_up`.
    LinkFlap,
    /// `check_fail`, then `check_pass`.
    CheckFail,
    /// `check_flap`, then `check_pass`.
    CheckFlap,
    /// `process_stop`, then `process_start` with the quorum.
    Process,
    /// `priority` of one instance, then its configured priority again.
    Priority,
    /// `reload` with an edited (or the same, or one of the file's) configuration, then the
    /// node's own configuration again.
    Reload,
    /// `real_server` in a fault state, then `up`.
    RealServer,
}

impl Kind {
    /// Every kind, in the order reports list them.
    pub const ALL: [Kind; 15] = [
        Kind::Stop,
        Kind::Kill,
        Kind::Restart,
        Kind::Partition,
        Kind::OneWay,
        Kind::Loss,
        Kind::Burst,
        Kind::Latency,
        Kind::LinkFlap,
        Kind::CheckFail,
        Kind::CheckFlap,
        Kind::Process,
        Kind::Priority,
        Kind::Reload,
        Kind::RealServer,
    ];

    /// The name used by `--kinds` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Stop => "stop",
            Kind::Kill => "kill",
            Kind::Restart => "restart",
            Kind::Partition => "partition",
            Kind::OneWay => "one_way_partition",
            Kind::Loss => "loss",
            Kind::Burst => "burst",
            Kind::Latency => "latency",
            Kind::LinkFlap => "link_flap",
            Kind::CheckFail => "check_fail",
            Kind::CheckFlap => "check_flap",
            Kind::Process => "process",
            Kind::Priority => "priority",
            Kind::Reload => "reload",
            Kind::RealServer => "real_server",
        }
    }

    /// The kind called `name`.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the experiment has what this kind needs (two nodes to partition, a
    /// `vrrp_script` to fail, a tracked process, a real server).
    pub fn applies(self, v: &Variant) -> bool {
        let nodes = v.nodes.len();
        match self {
            Kind::Partition | Kind::OneWay => nodes >= 2,
            Kind::CheckFail | Kind::CheckFlap => {
                v.nodes.iter().any(|n| !n.config.scripts.is_empty())
            }
            Kind::Process => v.nodes.iter().any(|n| !n.config.track_processes.is_empty()),
            Kind::Priority | Kind::Reload => v.nodes.iter().any(|n| !n.config.instances.is_empty()),
            Kind::RealServer => !v.real_servers.is_empty(),
            _ => nodes >= 1,
        }
    }
}

/// A set of kinds (bit `k` = `Kind::ALL[k]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindSet(pub u32);

impl KindSet {
    /// Whether `k` is in the set.
    pub fn contains(self, k: Kind) -> bool {
        self.0 & (1 << k as u32) != 0
    }

    /// The set with `k` added.
    pub fn with(self, k: Kind) -> KindSet {
        KindSet(self.0 | (1 << k as u32))
    }

    /// The kinds in the set, in [`Kind::ALL`] order.
    pub fn kinds(self) -> Vec<Kind> {
        Kind::ALL
            .into_iter()
            .filter(|&k| self.contains(k))
            .collect()
    }

    /// The names, comma-separated.
    pub fn names(self) -> String {
        let v: Vec<&str> = self.kinds().into_iter().map(Kind::name).collect();
        v.join(",")
    }

    /// A swarm subset of `allowed`: each kind in with probability 1/2, never empty.
    pub fn draw(allowed: KindSet, rng: &mut ChaCha8Rng) -> KindSet {
        let kinds = allowed.kinds();
        if kinds.is_empty() {
            return KindSet::default();
        }
        let mut set = KindSet::default();
        for &k in &kinds {
            if draw::chance(rng, 0.5) {
                set = set.with(k);
            }
        }
        if set == KindSet::default() {
            set = set.with(kinds[draw::index(rng, kinds.len())]);
        }
        set
    }
}

//! The state the hosts and the outer `step()` loop share (the `Sim` is single-threaded, so an
//! `Rc<RefCell<Shared>>`): the observer, the network model behind loss decisions, the run's
//! RNG, which daemons are running, the control channels and the queue of things the outer loop
//! does at tick boundaries (client announcements, check edges, faults, starts).

use crate::backend::net::Net;
use crate::backend::{node_interfaces, RunSpec};
use crate::experiment::model::Variant;
use crate::observe::observer::Observer;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use vrrp_engine::config::Config;
use vrrp_engine::{Family, Instant};

/// What the timeline tells a running daemon.
#[derive(Debug)]
pub(super) enum Control {
    /// Graceful stop (SIGTERM): priority-0 adverts, VIPs released, then the loop ends.
    Stop,
    /// Stop as [`Control::Stop`], then start a fresh engine at the same instant, as the event
    /// queue restarts a running node (the host and its socket stay).
    Restart,
    /// The interfaces changed (link down / up): feed their state to the engine.
    Interfaces,
    /// New configured priority of one instance (by name) or of all.
    Priority {
        /// Instance name, or every instance.
        instance: Option<String>,
        /// The priority.
        priority: u8,
    },
    /// Reload with a new configuration (the engine's reconfiguration).
    Reload(Box<Config>),
    /// A tracked process's count changes (`process_stop` / `process_start`).
    Process {
        /// The `vrrp_track_process` name.
        process: String,
        /// How many run now.
        count: u32,
    },
}

/// Something the outer loop does before the tick holding its time (daemons get the time).
#[derive(Debug)]
pub(super) enum Pending {
    /// A node's daemon starts (its `start` time).
    Start(usize),
    /// A timeline fault (index into the variant's timeline).
    Fault(usize),
    /// A gratuitous ARP / NA reaches a client.
    Announce {
        /// Client.
        client: usize,
        /// Sender.
        node: usize,
        /// Announced address.
        addr: IpAddr,
    },
    /// A flapping check's ground truth may change.
    CheckEdge {
        /// Node.
        node: usize,
        /// Script name.
        script: String,
    },
}

/// Shared by every host and the outer loop.
pub(super) struct Shared {
    /// The variant (owned: host futures must be `'static`).
    pub variant: Variant,
    /// Each node's configuration file as it stands (a reload replaces it; a restart reads it).
    pub configs: Vec<Config>,
    /// The address family of the whole run (one turmoil address per host).
    pub family: Family,
    /// turmoil address per node.
    pub hosts: Vec<IpAddr>,
    /// Interface names per node.
    pub interfaces: Vec<Vec<String>>,
    /// Number of clients.
    pub clients: usize,
    /// The backend-independent observer.
    pub obs: Observer<'static>,
    /// Link state, partitions, loss and bursts: decides loss at send time.
    pub net: Net,
    /// The run's RNG (loss, announcement delays), drawn in host execution order.
    pub rng: ChaCha8Rng,
    /// Whether node `n`'s daemon runs (the event queue's `engines[n].is_some()`).
    pub alive: Vec<bool>,
    /// The control receiver of each node's next incarnation: each message with the exact
    /// time it happens at.
    pub control: Vec<Option<UnboundedReceiver<(Instant, Control)>>>,
    /// The exact time each node's next incarnation starts its engine at (else the tick).
    pub start_at: Vec<Option<Instant>>,
    /// The outer loop's queue, by (time, sequence).
    pub pending: BTreeMap<(Instant, u64), Pending>,
    seq: u64,
    /// Loss decided at send time, per (sender, receiver, payload): the latest arrival time of
    /// each lost copy. The receiver discards one matching datagram per entry.
    drops: BTreeMap<(usize, usize, Vec<u8>), VecDeque<Instant>>,
}

impl Shared {
    /// A fresh shared state for the run `spec`: one turmoil host per node at `hosts`, all of
    /// `family`, reporting to `obs`; the network model and the RNG (seeded from the seed
    /// alone) start afresh.
    pub fn new(
        spec: RunSpec<'_>,
        family: Family,
        hosts: Vec<IpAddr>,
        obs: Observer<'static>,
    ) -> Self {
        let variant = spec.variant.clone();
        let n = variant.nodes.len();
        Shared {
            configs: variant.nodes.iter().map(|p| p.config.clone()).collect(),
            interfaces: variant
                .nodes
                .iter()
                .map(|p| node_interfaces(&p.config))
                .collect(),
            clients: spec.experiment.clients as usize,
            net: Net::new(variant.network.clone(), n),
            rng: ChaCha8Rng::seed_from_u64(spec.seed),
            variant,
            family,
            hosts,
            obs,
            alive: vec![false; n],
            control: (0..n).map(|_| None).collect(),
            start_at: vec![None; n],
            pending: BTreeMap::new(),
            seq: 0,
            drops: BTreeMap::new(),
        }
    }

    /// Queue `p` for the outer loop at `at`.
    pub fn push(&mut self, at: Instant, p: Pending) {
        self.seq += 1;
        self.pending.insert((at, self.seq), p);
    }

    /// The node whose turmoil address is `ip`.
    pub fn node_of(&self, ip: IpAddr) -> Option<usize> {
        self.hosts.iter().position(|&h| h == ip)
    }

    /// The IP destination the sender used: its instance for this VRID sends unicast to us,
    /// else to the group (turmoil gives no destination address).
    pub fn destination(&self, sender: usize, receiver: usize, src: IpAddr, p: &[u8]) -> IpAddr {
        let family = Family::of(&src);
        let vrid = vrrp_engine::wire::peek_vrid(p).unwrap_or(0);
        let unicast = self.variant.nodes[sender]
            .config
            .instances
            .iter()
            .any(|i| i.vrid == vrid && i.family() == family && !i.unicast_peers.is_empty());
        let me = &self.variant.nodes[receiver];
        match (family, unicast) {
            (Family::Ipv4, true) => IpAddr::V4(me.address),
            (Family::Ipv6, true) => IpAddr::V6(me.ipv6_link_local),
            (Family::Ipv4, false) => IpAddr::V4(super::host::GROUP_V4),
            (Family::Ipv6, false) => IpAddr::V6(super::host::GROUP_V6),
        }
    }

    /// The copy of `payload` from `from` to `to` sent at `t` is lost.
    pub fn note_drop(&mut self, from: usize, to: usize, payload: &[u8], t: Instant) {
        // It would arrive within the largest latency, rounded up to the tick, plus a tick.
        let max = self.net.model().max_latency();
        let ms = max.as_nanos().div_ceil(1_000_000) as u64 + 2;
        self.drops
            .entry((from, to, payload.to_vec()))
            .or_default()
            .push_back(t + Duration::from_millis(ms));
    }

    /// Forget lost copies that can no longer arrive.
    pub fn expire_drops(&mut self, t: Instant) {
        self.drops.retain(|_, q| {
            q.retain(|&e| e >= t);
            !q.is_empty()
        });
    }

    /// Whether this datagram is one whose loss was decided when it was sent.
    pub fn take_drop(&mut self, from: usize, to: usize, payload: &[u8], t: Instant) -> bool {
        let key = (from, to, payload.to_vec());
        let Some(q) = self.drops.get_mut(&key) else {
            return false;
        };
        // Copies that never came (partitioned in flight, receiver crashed) expire.
        while q.front().is_some_and(|&e| e < t) {
            q.pop_front();
        }
        let hit = q.pop_front().is_some();
        if q.is_empty() {
            self.drops.remove(&key);
        }
        hit
    }
}

//! The LAN between nodes: per-link latency and loss draws, partitions, link state, and
//! Gilbert-Elliott bursts. Every draw comes from the run's seeded RNG, in event order.

use crate::draw;
use crate::experiment::model::{Fault, NetworkModel};
use crate::experiment::schema::{Distribution, LatencySpec};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Index used for "the clients" in per-link tables.
pub const CLIENTS: usize = usize::MAX;

/// Network state of one run.
#[derive(Clone, Debug)]
pub struct Net {
    model: NetworkModel,
    /// The model at time zero: latency faults are judged against it.
    base: NetworkModel,
    blocked: BTreeSet<(usize, usize)>,
    /// Interface state per node.
    pub link_up: Vec<bool>,
    ge_bad: BTreeMap<(usize, usize), bool>,
}

/// One draw of a latency: fixed, or from its range and distribution.
pub fn sample_latency(l: &LatencySpec, rng: &mut ChaCha8Rng) -> Duration {
    match l {
        LatencySpec::Fixed(d) => d.0,
        LatencySpec::Range(r) => {
            let (a, b) = (r.min.0.as_nanos() as u64, r.max.0.as_nanos() as u64);
            if a >= b {
                return r.min.0;
            }
            match r.distribution {
                Distribution::Uniform => Duration::from_nanos(draw::between(rng, a, b)),
                Distribution::Exponential => {
                    // Inverse transform: -ln(1 - u) x mean, mean = (max - min) / 5.
                    let u = draw::unit(rng);
                    let extra = -(1.0 - u).ln() * (b - a) as f64 / 5.0;
                    Duration::from_nanos(a + (extra as u64).min(b - a))
                }
            }
        }
    }
}

impl Net {
    /// A healthy LAN of `n` nodes with `model`.
    pub fn new(model: NetworkModel, n: usize) -> Self {
        Net {
            base: model.clone(),
            model,
            blocked: BTreeSet::new(),
            link_up: vec![true; n],
            ge_bad: BTreeMap::new(),
        }
    }

    /// The current model.
    pub fn model(&self) -> &NetworkModel {
        &self.model
    }

    /// Apply a network fault; others are ignored.
    pub fn apply(&mut self, fault: &Fault) {
        match fault {
            Fault::Partition(groups) => {
                for (gi, g) in groups.iter().enumerate() {
                    for (hi, h) in groups.iter().enumerate() {
                        if gi != hi {
                            for &a in g {
                                for &b in h {
                                    self.blocked.insert((a, b));
                                }
                            }
                        }
                    }
                }
            }
            Fault::OneWay { from, to } => {
                for &a in from {
                    for &b in to {
                        if a != b {
                            self.blocked.insert((a, b));
                        }
                    }
                }
            }
            Fault::Heal => self.blocked.clear(),
            Fault::Loss { rate, link: None } => {
                self.model.default.loss = *rate;
                for l in self.model.links.values_mut() {
                    l.loss = *rate;
                }
            }
            Fault::Loss {
                rate,
                link: Some(k),
            } => {
                let mut l = self.model.link(k.0, k.1).clone();
                l.loss = *rate;
                self.model.links.insert(*k, l);
            }
            Fault::Burst(b) => {
                self.model.default.burst = *b;
                for l in self.model.links.values_mut() {
                    l.burst = *b;
                }
                // A new chain starts in the Good state on every link.
                self.ge_bad.clear();
            }
            Fault::Latency(lat) => {
                self.model.default.latency = lat.clone();
                for l in self.model.links.values_mut() {
                    l.latency = lat.clone();
                }
            }
            Fault::LinkDown(n) => set(&mut self.link_up, *n, false),
            Fault::LinkUp(n) => set(&mut self.link_up, *n, true),
            _ => {}
        }
    }

    /// The directed (from, to) node pairs cut by partitions.
    pub fn blocked(&self) -> &BTreeSet<(usize, usize)> {
        &self.blocked
    }

    /// Whether nothing is cut or lossy, every link is up and every latency is the configured
    /// one (a `latency` fault makes the network unhealthy until a later one restores it).
    pub fn healthy(&self) -> bool {
        self.blocked.is_empty()
            && self.model.lossless()
            && self.link_up.iter().all(|&u| u)
            && self.model.default.latency == self.base.default.latency
            && self
                .model
                .links
                .iter()
                .all(|(&(a, b), l)| l.latency == self.base.link(a, b).latency)
    }

    /// Whether frames `from -> to` pass at all now: both interfaces up and no cut between
    /// them (loss aside).
    pub fn reachable(&self, from: usize, to: usize) -> bool {
        self.link_up.get(from).copied().unwrap_or(false)
            && self.link_up.get(to).copied().unwrap_or(false)
            && !self.blocked.contains(&(from, to))
    }

    /// The delay of a frame `from -> to`, or `None` if it is cut or lost.
    pub fn transfer(&mut self, from: usize, to: usize, rng: &mut ChaCha8Rng) -> Option<Duration> {
        if !self.link_up.get(from).copied().unwrap_or(false)
            || !self.link_up.get(to).copied().unwrap_or(false)
        {
            return None;
        }
        if self.blocked.contains(&(from, to)) {
            return None;
        }
        self.draw(from, to, rng)
    }

    /// The delay of a frame from node `from` to the clients (never partitioned), or `None`.
    pub fn to_clients(&mut self, from: usize, rng: &mut ChaCha8Rng) -> Option<Duration> {
        if !self.link_up.get(from).copied().unwrap_or(false) {
            return None;
        }
        self.draw(from, CLIENTS, rng)
    }

    fn draw(&mut self, from: usize, to: usize, rng: &mut ChaCha8Rng) -> Option<Duration> {
        let link = self.model.link(from, to).clone();
        let mut lost = link.loss > 0.0 && draw::unit(rng) < link.loss;
        if let Some(b) = link.burst {
            // One Gilbert-Elliott step per packet on this directed link.
            let bad = self.ge_bad.entry((from, to)).or_insert(false);
            let flip = draw::unit(rng);
            *bad = if *bad {
                flip >= b.p_leave_bad
            } else {
                flip < b.p_enter_bad
            };
            let p = if *bad { b.loss_bad } else { b.loss_good };
            lost |= p > 0.0 && draw::unit(rng) < p;
        }
        if lost {
            return None;
        }
        Some(sample_latency(&link.latency, rng))
    }
}

fn set(v: &mut [bool], i: usize, value: bool) {
    if let Some(x) = v.get_mut(i) {
        *x = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::duration::Dur;
    use crate::experiment::schema::LatencyRange;
    use rand::SeedableRng;

    fn mean_of(d: Distribution) -> f64 {
        let l = LatencySpec::Range(LatencyRange {
            min: Dur(Duration::from_millis(1)),
            max: Dur(Duration::from_millis(101)),
            distribution: d,
        });
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 20_000;
        let sum: f64 = (0..n)
            .map(|_| sample_latency(&l, &mut rng).as_secs_f64())
            .sum();
        sum / n as f64
    }

    #[test]
    fn latency_distributions_have_their_means() {
        // Uniform 1..101 ms: mean 51 ms. Exponential: 1 ms + 20 ms mean (capped at 101 ms).
        assert!((mean_of(Distribution::Uniform) - 0.051).abs() < 0.001);
        assert!((mean_of(Distribution::Exponential) - 0.021).abs() < 0.001);
    }
}

//! Ground truth of the simulated health checks: what a `vrrp_script` would return at a given
//! simulated time, and when that next changes (flap window edges), as pure functions of the
//! seed, so every backend sees the same windows.

use crate::draw;
use crate::experiment::model::CheckBehaviour;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::time::Duration;

/// The behaviour of every (node, script) that the timeline set; others pass.
#[derive(Clone, Debug, Default)]
pub struct CheckTable {
    seed: u64,
    behaviours: BTreeMap<(usize, String), CheckBehaviour>,
}

impl CheckTable {
    /// An empty table for a run with `seed`.
    pub fn new(seed: u64) -> Self {
        CheckTable {
            seed,
            behaviours: BTreeMap::new(),
        }
    }

    /// Set a behaviour; returns the next time the truth may change after `t`.
    pub fn set(
        &mut self,
        node: usize,
        script: &str,
        behaviour: CheckBehaviour,
        t: Duration,
    ) -> Option<Duration> {
        self.behaviours
            .insert((node, script.to_string()), behaviour);
        self.next_edge(node, script, t)
    }

    /// Whether the check fails at `t`.
    pub fn failing(&self, node: usize, script: &str, t: Duration) -> bool {
        match self.behaviours.get(&(node, script.to_string())) {
            None | Some(CheckBehaviour::Pass) => false,
            Some(CheckBehaviour::Fail) => true,
            Some(b @ CheckBehaviour::Flap { .. }) => {
                self.flap(node, script, b).is_some_and(|f| f.failing(t))
            }
        }
    }

    /// Whether any check of `node` fails at `t`.
    pub fn node_failing(&self, node: usize, t: Duration) -> bool {
        self.behaviours
            .keys()
            .filter(|(n, _)| *n == node)
            .any(|(_, s)| self.failing(node, s, t))
    }

    /// The first time after `t` the check's truth may change.
    pub fn next_edge(&self, node: usize, script: &str, t: Duration) -> Option<Duration> {
        match self.behaviours.get(&(node, script.to_string())) {
            Some(b) => self.flap(node, script, b)?.next_edge(t),
            None => None,
        }
    }

    /// The flap of a behaviour, if it is one.
    fn flap<'a>(&self, node: usize, script: &'a str, b: &CheckBehaviour) -> Option<Flap<'a>> {
        match *b {
            CheckBehaviour::Flap {
                start,
                period,
                duty,
                jitter,
            } => Some(Flap {
                seed: self.seed,
                node,
                script,
                start,
                period,
                window: period.mul_f64(duty.clamp(0.0, 1.0)),
                jitter,
            }),
            _ => None,
        }
    }
}

/// One flapping check: it fails for `window` of every `period` from `start`, each window
/// shifted by a random amount in [0, jitter) drawn from the seed, node, script and cycle.
struct Flap<'a> {
    seed: u64,
    node: usize,
    script: &'a str,
    start: Duration,
    period: Duration,
    window: Duration,
    jitter: Duration,
}

/// splitmix64: a seed for each flap cycle, independent of the run's event order.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Flap<'_> {
    /// Start of the failing window of cycle `c`: the cycle's start shifted by a random
    /// amount in [0, jitter).
    fn window_start(&self, c: u64) -> Duration {
        let name_hash = self.script.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let shift = if self.jitter.is_zero() {
            Duration::ZERO
        } else {
            let seed = mix(self.seed ^ mix(self.node as u64 ^ mix(name_hash ^ mix(c))));
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            Duration::from_nanos(draw::below(&mut r, self.jitter.as_nanos() as u64))
        };
        self.start + self.period * c as u32 + shift
    }

    /// The cycle `t` falls in (0 before the start).
    fn cycle(&self, t: Duration) -> u64 {
        if t < self.start || self.period.is_zero() {
            0
        } else {
            ((t - self.start).as_nanos() / self.period.as_nanos()) as u64
        }
    }

    /// Whether the check fails at `t`. The window of cycle k-1 may reach into cycle k when
    /// shifted by jitter.
    fn failing(&self, t: Duration) -> bool {
        if t < self.start || self.period.is_zero() {
            return false;
        }
        let k = self.cycle(t);
        (k.saturating_sub(1)..=k).any(|c| {
            let from = self.window_start(c);
            t >= from && t < from + self.window
        })
    }

    /// The first window edge strictly after `t`.
    fn next_edge(&self, t: Duration) -> Option<Duration> {
        if self.period.is_zero() {
            return None;
        }
        let k = self.cycle(t);
        (k.saturating_sub(1)..=k + 1)
            .flat_map(|c| {
                let from = self.window_start(c);
                [from, from + self.window]
            })
            .filter(|&e| e > t)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flap(seed: u64, start: u64, period: u64, duty: f64, jitter: Duration) -> CheckTable {
        let s = Duration::from_secs;
        let mut t = CheckTable::new(seed);
        let b = CheckBehaviour::Flap {
            start: s(start),
            period: s(period),
            duty,
            jitter,
        };
        t.set(0, "chk", b, Duration::ZERO);
        t
    }

    #[test]
    fn flap_without_jitter_follows_period_and_duty() {
        let s = Duration::from_secs;
        let t = flap(1, 10, 30, 0.5, Duration::ZERO);
        let f = |x| t.failing(0, "chk", s(x));
        assert!(!f(9));
        assert!(f(10) && f(24));
        assert!(!f(25) && !f(39));
        assert!(f(40));
        assert_eq!(t.next_edge(0, "chk", s(12)), Some(s(25)));
        assert_eq!(t.next_edge(0, "chk", s(25)), Some(s(40)));
    }

    #[test]
    fn jittered_windows_keep_their_length() {
        let s = Duration::from_secs;
        let t = flap(7, 0, 120, 0.25, s(20));
        let mut failing = Duration::ZERO;
        let step = Duration::from_millis(100);
        let mut x = s(0);
        while x < s(3600) {
            if t.failing(0, "chk", x) {
                failing += step;
            }
            x += step;
        }
        // 30 windows of 30 s, shifted but never overlapping (jitter < period - window).
        assert!((failing.as_secs_f64() - 900.0).abs() <= 30.0, "{failing:?}");
    }
}

//! Ground truth of the simulated health checks: what a `vrrp_script` would return at a given
//! simulated time, and when that next changes (flap window edges), as pure functions of the
//! seed, so every backend sees the same windows.

use crate::model::CheckBehaviour;
use rand::{Rng, SeedableRng};
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
            Some(CheckBehaviour::Flap {
                start,
                period,
                duty,
                jitter,
            }) => flap_failing(self.seed, node, script, t, *start, *period, *duty, *jitter),
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
            Some(CheckBehaviour::Flap {
                start,
                period,
                duty,
                jitter,
            }) => next_flap_edge(self.seed, node, script, t, *start, *period, *duty, *jitter),
            _ => None,
        }
    }
}

/// splitmix64: a seed for each flap cycle, independent of the run's event order.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Start of the failing window of flap cycle `c`: the cycle's start shifted by a random
/// amount in [0, jitter).
fn flap_window(
    seed: u64,
    node: usize,
    script: &str,
    c: u64,
    start: Duration,
    period: Duration,
    jitter: Duration,
) -> Duration {
    let name_hash = script.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let shift = if jitter.is_zero() {
        Duration::ZERO
    } else {
        let mut r =
            ChaCha8Rng::seed_from_u64(mix(seed ^ mix(node as u64 ^ mix(name_hash ^ mix(c)))));
        Duration::from_nanos(r.gen_range(0..jitter.as_nanos() as u64))
    };
    start + period * c as u32 + shift
}

#[allow(clippy::too_many_arguments)]
fn next_flap_edge(
    seed: u64,
    node: usize,
    script: &str,
    t: Duration,
    start: Duration,
    period: Duration,
    duty: f64,
    jitter: Duration,
) -> Option<Duration> {
    if period.is_zero() {
        return None;
    }
    let window = period.mul_f64(duty.clamp(0.0, 1.0));
    let k = if t < start {
        0
    } else {
        ((t - start).as_nanos() / period.as_nanos()) as u64
    };
    (k.saturating_sub(1)..=k + 1)
        .flat_map(|c| {
            let from = flap_window(seed, node, script, c, start, period, jitter);
            [from, from + window]
        })
        .filter(|&e| e > t)
        .min()
}

#[allow(clippy::too_many_arguments)]
fn flap_failing(
    seed: u64,
    node: usize,
    script: &str,
    t: Duration,
    start: Duration,
    period: Duration,
    duty: f64,
    jitter: Duration,
) -> bool {
    if t < start || period.is_zero() {
        return false;
    }
    let k = ((t - start).as_nanos() / period.as_nanos()) as u64;
    let window = period.mul_f64(duty.clamp(0.0, 1.0));
    // The window of cycle k-1 may reach into cycle k when shifted by jitter.
    (k.saturating_sub(1)..=k).any(|c| {
        let from = flap_window(seed, node, script, c, start, period, jitter);
        t >= from && t < from + window
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flap_without_jitter_follows_period_and_duty() {
        let s = Duration::from_secs;
        let f = |t| flap_failing(1, 0, "chk", s(t), s(10), s(30), 0.5, Duration::ZERO);
        assert!(!f(9));
        assert!(f(10) && f(24));
        assert!(!f(25) && !f(39));
        assert!(f(40));
        assert_eq!(
            next_flap_edge(1, 0, "chk", s(12), s(10), s(30), 0.5, Duration::ZERO),
            Some(s(25))
        );
        assert_eq!(
            next_flap_edge(1, 0, "chk", s(25), s(10), s(30), 0.5, Duration::ZERO),
            Some(s(40))
        );
    }

    #[test]
    fn jittered_windows_keep_their_length() {
        let s = Duration::from_secs;
        let mut failing = Duration::ZERO;
        let step = Duration::from_millis(100);
        let mut x = s(0);
        while x < s(3600) {
            if flap_failing(7, 1, "chk", x, s(0), s(120), 0.25, s(20)) {
                failing += step;
            }
            x += step;
        }
        // 30 windows of 30 s, shifted but never overlapping (jitter < period - window).
        assert!((failing.as_secs_f64() - 900.0).abs() <= 30.0, "{failing:?}");
    }
}

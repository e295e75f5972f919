//! Closed-form expectations the simulator is validated against: the false-takeover rate of
//! a Backup under loss, and the detection and recovery times of keepalived's LVS health
//! checkers ([`detection_bounds`], [`recovery_bounds`]), and when a real server with `alpha`
//! first enters the table after start-up ([`alpha_entry_bounds`]).

use crate::experiment::model::RsState;
use std::time::Duration;
use vrrp_engine::lvs::{CheckerClass, CheckerSettings};

/// Expected false takeovers per hour of a Backup under independent loss `p` of a Master's
/// adverts every `interval`: each advert received and followed by three lost ones lets the
/// Master_Down_Timer (3 x interval + Skew_Time < 4 x interval) run out, so the rate is
/// (3600 / interval) x (1 - p) x p^3.
pub fn false_takeovers_per_hour(interval: Duration, p: f64) -> f64 {
    let a = interval.as_secs_f64();
    if a <= 0.0 {
        return 0.0;
    }
    3600.0 / a * (1.0 - p) * p.powi(3)
}

/// What one probe of a checker makes of a real server in some state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeFate {
    /// The probe passes.
    Passes,
    /// The probe fails and takes this long (a refusal or an error page: one round trip; no
    /// answer: the probe's timeout).
    Fails(Duration),
    /// Some URLs pass and others fail: the timing depends on which URL is due (no formula).
    Mixed,
}

/// What the formula says about one fault and the checkers of one real server on one
/// director.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bounds {
    /// The time lies in `[min, max]`.
    Range(Duration, Duration),
    /// No checker fails on this fault: it is never detected.
    Never,
    /// No closed form (mixed URL verdicts, or a round trip that may or may not exceed the
    /// timeout).
    Unknown,
}

/// The engine never starts a MISC probe at the instant the previous one ended: the next
/// start is `max(start + delay, end + 1 µs)` (`Checker::finish`).
const MISC_GAP: Duration = Duration::from_micros(1);

/// How one probe of checker `c` fares against a real server in `state` with round trip
/// `rtt` (the simulator's model, `observe::lvs`): `down` refuses after one round trip
/// (MISC: exit 1); `blackhole` never answers (timeout; MISC: killed at `misc_timeout`);
/// `slow` answers `delay` after the round trip, a timeout past the probe's timeout;
/// `http_status` and `wrong_body` fail HTTP_GET when every URL rejects the status / has a
/// `digest`, never fail TCP_CHECK, and make a MISC script exit 1.
pub fn probe_fate(c: &CheckerSettings, state: RsState, rtt: Duration) -> ProbeFate {
    let timeout = c.timeout;
    let answer = |after: Duration| {
        if after > timeout {
            ProbeFate::Fails(timeout)
        } else {
            ProbeFate::Fails(after)
        }
    };
    let all_or_none = |failing: usize, total: usize| {
        if failing == 0 {
            ProbeFate::Passes
        } else if failing == total {
            answer(rtt)
        } else {
            ProbeFate::Mixed
        }
    };
    match state {
        RsState::Up => ProbeFate::Passes,
        RsState::Down => answer(rtt),
        RsState::Blackhole => ProbeFate::Fails(timeout),
        RsState::Slow(delay) => {
            if rtt + delay > timeout {
                ProbeFate::Fails(timeout)
            } else {
                ProbeFate::Passes
            }
        }
        RsState::HttpStatus(code) => match &c.class {
            CheckerClass::Tcp => ProbeFate::Passes,
            CheckerClass::Http { urls, .. } => {
                all_or_none(urls.iter().filter(|u| !u.accepts(code)).count(), urls.len())
            }
            CheckerClass::Misc { .. } => answer(rtt),
        },
        RsState::WrongBody => match &c.class {
            CheckerClass::Tcp => ProbeFate::Passes,
            CheckerClass::Http { urls, .. } => all_or_none(
                urls.iter().filter(|u| u.digest.is_some()).count(),
                urls.len(),
            ),
            CheckerClass::Misc { .. } => answer(rtt),
        },
    }
}

/// The failing-probe durations at the shortest and longest round trip, or what stands
/// instead.
fn fates(
    c: &CheckerSettings,
    state: RsState,
    rtt: (Duration, Duration),
) -> Result<(Duration, Duration), Bounds> {
    match (probe_fate(c, state, rtt.0), probe_fate(c, state, rtt.1)) {
        (ProbeFate::Fails(lo), ProbeFate::Fails(hi)) => Ok((lo, hi)),
        (ProbeFate::Passes, ProbeFate::Passes) => Err(Bounds::Never),
        _ => Err(Bounds::Unknown),
    }
}

/// Detection time of one checker: from the fault to the verdict that takes the real server
/// out of the table (RemoveDest, or weight 0 with `inhibit_on_failure`).
///
/// The model decides a probe's result from the server's state when the probe starts, and a
/// checker in its steady healthy cycle probes every `L` (= `delay_loop`). With `R` =
/// `retry`, `B` = `delay_before_retry`, `d` = the failing probe's duration and `d_ok` a
/// healthy probe's (one round trip):
///
/// - TCP_CHECK and HTTP_GET time the next probe from the END of the previous one. A fault
///   at `t` is first seen by the first probe starting at or after `t`, at `s`; the server
///   leaves after `R + 1` failing probes `B` apart, at `s + (R+1)·d + R·B`. The probe before
///   `s` started before `t` (it passed) and ended `d_ok` later, then `L` passed:
///   `0 <= s - t < d_ok + L`. So detection lies in `[(R+1)·d + R·B, L + d_ok + (R+1)·d +
///   R·B]`. (`tcp_epilog`: a failure with `retry_it < retry` waits `B`; HTTP's `epilog`
///   counts `retry_it > retry`, the same `R + 1` tries.)
/// - MISC_CHECK times the next start from the START of the previous one, but never at or
///   before its end: `next = max(start + delay, end + 1 µs)`. Retries are `g = max(B, d +
///   1 µs)` apart and the healthy cycle `max(L, d_ok + 1 µs)`: detection lies in
///   `[R·g + d, max(L, d_ok + 1 µs) + R·g + d]`.
///
/// Random round trips widen the band: the lower end uses the shortest round trip, the upper
/// end the longest.
pub fn checker_detection(c: &CheckerSettings, state: RsState, rtt: (Duration, Duration)) -> Bounds {
    let (d_lo, d_hi) = match fates(c, state, rtt) {
        Ok(d) => d,
        Err(b) => return b,
    };
    let (r, b, l) = (c.retry, c.delay_before_retry, c.delay_loop);
    match c.class {
        CheckerClass::Tcp | CheckerClass::Http { .. } => {
            Bounds::Range(d_lo * (r + 1) + b * r, l + rtt.1 + d_hi * (r + 1) + b * r)
        }
        CheckerClass::Misc { .. } => {
            let g = |d: Duration| b.max(d + MISC_GAP);
            Bounds::Range(
                g(d_lo) * r + d_lo,
                l.max(rtt.1 + MISC_GAP) + g(d_hi) * r + d_hi,
            )
        }
    }
}

/// Recovery time of one checker that failed on the fault: from the server's return (`up`)
/// to the verdict that puts it back in the table.
///
/// While down, every probe fails with duration `d` (the fault's), and the gaps are:
/// - TCP_CHECK: `B` inside a group of `R + 1` tries, `L` after it (the retry counter starts
///   over): the first probe starting at or after the return, at `s`, passes at `s + d_ok`,
///   and `0 <= s - t < d + max(B, L)`. Recovery in `[d_ok, d + max(B, L) + d_ok]`.
/// - HTTP_GET with `n` URLs: the failed URL is probed every `max(B, L)` after each end;
///   when it passes, every URL must pass again from the first, `L` apart (`epilog`'s
///   `failed_url` rule; `fast_recovery` makes those gaps 0): recovery in
///   `[d_ok + n·(G + d_ok), d + max(B, L) + d_ok + n·(G + d_ok)]` with `G = L` (0 with
///   `fast_recovery`): two passes `L` apart for one URL.
/// - MISC_CHECK: starts every `max(L, d + 1 µs)`; one pass brings it back: recovery in
///   `[d_ok, max(L, d + 1 µs) + d_ok]`.
pub fn checker_recovery(c: &CheckerSettings, state: RsState, rtt: (Duration, Duration)) -> Bounds {
    let (_, d_hi) = match fates(c, state, rtt) {
        Ok(d) => d,
        Err(b) => return b,
    };
    let (b, l) = (c.delay_before_retry, c.delay_loop);
    match &c.class {
        CheckerClass::Tcp => Bounds::Range(rtt.0, d_hi + b.max(l) + rtt.1),
        CheckerClass::Http {
            urls,
            fast_recovery,
        } => {
            let n = urls.len() as u32;
            let g = if *fast_recovery { Duration::ZERO } else { l };
            Bounds::Range(
                rtt.0 + (g + rtt.0) * n,
                d_hi + b.max(l) + rtt.1 + (g + rtt.1) * n,
            )
        }
        CheckerClass::Misc { .. } => Bounds::Range(rtt.0, l.max(d_hi + MISC_GAP) + rtt.1),
    }
}

/// Detection time of a real server with `checkers` (all its checkers on one director): it
/// leaves on the first checker that fails, so the band is the smallest lower end and the
/// smallest upper end of the checkers that fail ([`checker_detection`]).
pub fn detection_bounds(
    checkers: &[&CheckerSettings],
    state: RsState,
    rtt: (Duration, Duration),
) -> Bounds {
    combine(
        checkers.iter().map(|c| checker_detection(c, state, rtt)),
        Duration::min,
    )
}

/// Recovery time of a real server with `checkers`: it comes back when the last failed
/// checker passes, so the band is the largest lower end and the largest upper end of the
/// checkers that failed ([`checker_recovery`]).
pub fn recovery_bounds(
    checkers: &[&CheckerSettings],
    state: RsState,
    rtt: (Duration, Duration),
) -> Bounds {
    combine(
        checkers.iter().map(|c| checker_recovery(c, state, rtt)),
        Duration::max,
    )
}

/// keepalived's `BOOTSTRAP_DELAY`: the checkers start 1 s after the checker process
/// (`register_checkers_thread`).
const BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);

/// Start-up entry time of one `alpha` checker on a healthy real server: from the daemon's
/// start to the checker's first success, which an alpha checker needs before its server
/// counts as up (`alpha` starts it failed; without `alpha` it starts up and this is
/// `Never`).
///
/// The first probe starts `1 s + f·W` after the start (`W` = `warmup`, `f` in [0, 1]: the
/// random spread of `register_checkers_thread`). TCP_CHECK and MISC_CHECK are up at the end
/// of that probe; HTTP_GET with `n` URLs needs every URL to pass, `G` apart after each end
/// (`G = delay_loop`, 0 with `fast_recovery`): entry in `[1 s + n·d_ok + (n-1)·G, 1 s + W +
/// n·d_ok + (n-1)·G]`, the lower end with the shortest round trip, the upper with the
/// longest. Once up, faults follow [`checker_detection`] as without `alpha`.
pub fn alpha_entry(c: &CheckerSettings, rtt: (Duration, Duration)) -> Bounds {
    if !c.alpha {
        return Bounds::Never;
    }
    let (n, gap) = match &c.class {
        CheckerClass::Http {
            urls,
            fast_recovery,
        } => (
            urls.len().max(1) as u32,
            if *fast_recovery {
                Duration::ZERO
            } else {
                c.delay_loop
            },
        ),
        CheckerClass::Tcp | CheckerClass::Misc { .. } => (1, Duration::ZERO),
    };
    let pass = |d: Duration| d * n + gap * (n - 1);
    Bounds::Range(
        BOOTSTRAP_DELAY + pass(rtt.0),
        BOOTSTRAP_DELAY + c.warmup + pass(rtt.1),
    )
}

/// Start-up entry time of a real server with `checkers`: it enters when its last alpha
/// checker has passed once, so the band is the largest lower end and the largest upper end
/// ([`alpha_entry`]); `Never` without an alpha checker (it is in the table from the start).
pub fn alpha_entry_bounds(checkers: &[&CheckerSettings], rtt: (Duration, Duration)) -> Bounds {
    combine(checkers.iter().map(|c| alpha_entry(c, rtt)), Duration::max)
}

fn combine(all: impl Iterator<Item = Bounds>, pick: fn(Duration, Duration) -> Duration) -> Bounds {
    let mut out = Bounds::Never;
    for b in all {
        out = match (out, b) {
            (Bounds::Unknown, _) | (_, Bounds::Unknown) => Bounds::Unknown,
            (Bounds::Never, x) | (x, Bounds::Never) => x,
            (Bounds::Range(a0, a1), Bounds::Range(b0, b1)) => {
                Bounds::Range(pick(a0, b0), pick(a1, b1))
            }
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_notes_table() {
        // notes/keepalived-users.md: 10 % loss at 1 s is 78 per day.
        let per_day = false_takeovers_per_hour(Duration::from_secs(1), 0.10) * 24.0;
        assert!((per_day - 77.76).abs() < 0.01, "{per_day}");
    }

    fn tcp(retry: u32, dbr: u64, loop_s: u64, timeout: u64) -> CheckerSettings {
        CheckerSettings {
            service: vrrp_engine::lvs::ServiceKey::Addr {
                protocol: vrrp_engine::lvs::Protocol::Tcp,
                addr: "10.0.0.100:80".parse().unwrap(),
            },
            real_server: "10.0.1.1:80".parse().unwrap(),
            class: CheckerClass::Tcp,
            retry,
            delay_loop: Duration::from_secs(loop_s),
            delay_before_retry: Duration::from_secs(dbr),
            warmup: Duration::from_secs(loop_s),
            timeout: Duration::from_secs(timeout),
            alpha: false,
            inhibit: false,
        }
    }

    #[test]
    fn alpha_enters_after_the_first_pass() {
        let rtt = (Duration::from_millis(2), Duration::from_millis(4));
        let mut c = tcp(3, 3, 6, 3);
        assert_eq!(alpha_entry_bounds(&[&c], rtt), Bounds::Never);
        c.alpha = true;
        // 1 s + [0, warmup 6 s] + one round trip.
        assert_eq!(
            alpha_entry_bounds(&[&c], rtt),
            Bounds::Range(Duration::from_millis(1_002), Duration::from_millis(7_004))
        );
    }

    #[test]
    fn the_seeds_tcp_check_on_a_blackhole() {
        // delay_loop 6, connect_timeout 3, retry 3, delay_before_retry 3: 4 timeouts of 3 s
        // and 3 waits of 3 s = 21 s at least, plus up to one cycle (6 s + 2 ms round trip).
        let c = tcp(3, 3, 6, 3);
        let rtt = (Duration::from_millis(2), Duration::from_millis(2));
        assert_eq!(
            detection_bounds(&[&c], RsState::Blackhole, rtt),
            Bounds::Range(Duration::from_secs(21), Duration::from_millis(27_002))
        );
        assert_eq!(
            detection_bounds(&[&c], RsState::HttpStatus(500), rtt),
            Bounds::Never
        );
        // Back after one success: the last timeout (3 s) and a 6 s wait at most.
        assert_eq!(
            recovery_bounds(&[&c], RsState::Blackhole, rtt),
            Bounds::Range(Duration::from_millis(2), Duration::from_millis(9_002))
        );
    }
}

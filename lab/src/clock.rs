//! `CLOCK_MONOTONIC` as the lab's clock: the same clock in every network namespace (no time
//! namespace is created), so an instant handed to a daemon with `vrrpd-real --start-at` means
//! the same moment to the lab and to the daemon.

use std::time::Duration;

/// `CLOCK_MONOTONIC` now.
pub fn monotonic() -> Duration {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .expect("CLOCK_MONOTONIC always exists on Linux");
    Duration::new(ts.tv_sec() as u64, ts.tv_nsec() as u32)
}

/// Blocks until monotonic time `at`: a sleep to 2 ms before it, then a wait on the CPU (a
/// sleep alone wakes 0.3-2 ms late on a VM). Returns at once if `at` has passed.
pub fn sleep_until(at: Duration) {
    let spin = Duration::from_millis(2);
    let now = monotonic();
    if at > now + spin {
        std::thread::sleep(at - now - spin);
    }
    while monotonic() < at {
        std::hint::spin_loop();
    }
}

/// `at` written as `vrrpd-real --start-at` reads it: seconds, a dot, nine digits.
pub fn instant_arg(at: Duration) -> String {
    format!("{}.{:09}", at.as_secs(), at.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_until_returns_at_or_after_the_instant() {
        let at = monotonic() + Duration::from_millis(5);
        sleep_until(at);
        assert!(monotonic() >= at);
    }

    #[test]
    fn instant_arg_keeps_every_nanosecond() {
        assert_eq!(instant_arg(Duration::new(12, 5)), "12.000000005");
        assert_eq!(instant_arg(Duration::new(0, 999_999_999)), "0.999999999");
    }
}

//! The protocol's timer arithmetic, exact to the nanosecond.

use crate::types::Version;
use core::time::Duration;

/// Skew_Time for a router of `priority`.
///
/// - VRRPv2, RFC 3768 §6.1: `(256 - Priority) / 256` seconds, whatever the interval.
/// - VRRPv3, RFC 5798 §6.1 (RFC 9568 §6.1): `((256 - Priority) * Master_Adver_Interval) / 256`.
pub fn skew_time(version: Version, priority: u8, master_adver_interval: Duration) -> Duration {
    let factor = 256 - u64::from(priority);
    let base = match version {
        Version::V2 => Duration::from_secs(1),
        Version::V3 => master_adver_interval,
    };
    // On every received advert: u64 arithmetic (u128 only past 2^64 ns / 256, 2.3 years).
    match as_nanos_u64(base).and_then(|n| n.checked_mul(factor)) {
        Some(n) => Duration::from_nanos(n / 256),
        None => nanos(u128::from(factor) * base.as_nanos() / 256),
    }
}

/// `d` in nanoseconds, if that fits a u64 (584 years).
fn as_nanos_u64(d: Duration) -> Option<u64> {
    d.as_secs()
        .checked_mul(1_000_000_000)?
        .checked_add(u64::from(d.subsec_nanos()))
}

/// Master_Down_Interval: `3 * Master_Adver_Interval + Skew_Time` (RFC 5798 §6.1; RFC 3768 §6.1
/// with the configured Advertisement_Interval).
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval: Duration,
) -> Duration {
    master_adver_interval * 3 + skew_time(version, priority, master_adver_interval)
}

fn nanos(n: u128) -> Duration {
    Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
}

/// The interval as carried on the wire: whole seconds for v2 (RFC 3768 §5.3.7, 1..=255),
/// centiseconds for v3 (RFC 5798 §5.2.7, 1..=4095). Rounded to the nearest unit and clamped.
pub fn interval_to_wire(version: Version, interval: Duration) -> u16 {
    // u64 arithmetic (a u128 division is a library call): saturating is exact below the
    // clamp, which any interval that would saturate is far above.
    let micros = interval
        .as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from(interval.subsec_micros()));
    match version {
        Version::V2 => (micros.saturating_add(500_000) / 1_000_000).clamp(1, 255) as u16,
        Version::V3 => (micros.saturating_add(5_000) / 10_000).clamp(1, 4095) as u16,
    }
}

/// The duration a wire interval field stands for.
pub fn interval_from_wire(version: Version, field: u16) -> Duration {
    match version {
        Version::V2 => Duration::from_secs(u64::from(field)),
        Version::V3 => Duration::from_millis(u64::from(field) * 10),
    }
}

/// The configured interval as the protocol can carry it (what the timers then use).
pub fn normalize_interval(version: Version, interval: Duration) -> Duration {
    interval_from_wire(version, interval_to_wire(version, interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_prio_90_is_3_6484375_s() {
        let d = master_down_interval(Version::V2, 90, Duration::from_secs(1));
        assert_eq!(d, Duration::from_nanos(3_648_437_500));
        assert_eq!(
            skew_time(Version::V2, 90, Duration::from_secs(1)),
            Duration::from_nanos(648_437_500)
        );
    }

    #[test]
    fn v3_10ms_prio_100_is_36_09375_ms() {
        let d = master_down_interval(Version::V3, 100, Duration::from_millis(10));
        assert_eq!(d, Duration::from_nanos(36_093_750));
    }

    #[test]
    fn wire_intervals_round_and_clamp() {
        assert_eq!(interval_to_wire(Version::V2, Duration::from_millis(500)), 1);
        assert_eq!(
            interval_to_wire(Version::V2, Duration::from_secs(1000)),
            255
        );
        assert_eq!(
            interval_to_wire(Version::V3, Duration::from_millis(500)),
            50
        );
        assert_eq!(interval_to_wire(Version::V3, Duration::from_millis(1)), 1);
        assert_eq!(interval_to_wire(Version::V3, Duration::from_secs(50)), 4095);
        // Rounded to the nearest unit, half up, as before the u64 arithmetic.
        assert_eq!(
            interval_to_wire(Version::V2, Duration::from_micros(1_499_999)),
            1
        );
        assert_eq!(
            interval_to_wire(Version::V2, Duration::from_millis(1500)),
            2
        );
        assert_eq!(
            interval_to_wire(Version::V3, Duration::from_micros(14_999)),
            1
        );
        assert_eq!(
            interval_to_wire(Version::V3, Duration::from_micros(15_000)),
            2
        );
        assert_eq!(interval_to_wire(Version::V2, Duration::MAX), 255);
        assert_eq!(interval_to_wire(Version::V3, Duration::MAX), 4095);
        assert_eq!(interval_to_wire(Version::V3, Duration::ZERO), 1);
    }

    #[test]
    fn skew_time_is_exact_past_the_u64_fast_path() {
        // 2^64 ns / 255 and beyond take the u128 path; both give floor(factor * ns / 256).
        let big = Duration::from_secs(100_000_000);
        let want = 156u128 * big.as_nanos() / 256;
        assert_eq!(skew_time(Version::V3, 100, big).as_nanos(), want);
        let ms10 = Duration::from_millis(10);
        assert_eq!(
            skew_time(Version::V3, 1, ms10),
            Duration::from_nanos(9_960_937)
        );
        assert_eq!(
            skew_time(Version::V2, 255, ms10),
            Duration::from_nanos(3_906_250)
        );
    }
}

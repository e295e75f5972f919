//! The protocol's timer arithmetic, exact to the nanosecond.

use crate::types::Version;
use core::time::Duration;

/// Skew_Time for a router of `priority`.
///
/// - VRRPv2, RFC 3768 §6.1: `(256 - Priority) / 256` seconds, whatever the interval.
/// - VRRPv3, RFC 5798 §6.1 (RFC 9568 §6.1): `((256 - Priority) * Master_Adver_Interval) / 256`.
pub fn skew_time(version: Version, priority: u8, master_adver_interval: Duration) -> Duration {
    let factor = 256 - u128::from(priority);
    let base = match version {
        Version::V2 => Duration::from_secs(1),
        Version::V3 => master_adver_interval,
    };
    nanos(factor * base.as_nanos() / 256)
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
    match version {
        Version::V2 => ((interval.as_millis() + 500) / 1000).clamp(1, 255) as u16,
        Version::V3 => ((interval.as_micros() + 5_000) / 10_000).clamp(1, 4095) as u16,
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
    }
}

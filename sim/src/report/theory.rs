//! Closed-form expectations the simulator is validated against.

use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_notes_table() {
        // notes/keepalived-users.md: 10 % loss at 1 s is 78 per day.
        let per_day = false_takeovers_per_hour(Duration::from_secs(1), 0.10) * 24.0;
        assert!((per_day - 77.76).abs() < 0.01, "{per_day}");
    }
}

//! Tick positions and tick labels. Log axes are drawn as linear axes of log10 with ticks
//! placed here (1, 2, 5, 10, ...), not where a linear axis would put them: those repeat
//! once rounded ("3, 3, 2, 2, 1"). Labels are the shortest decimal of the value.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use std::ops::Range;

/// The most major ticks on one axis.
const MAX_TICKS: usize = 10;

/// Mantissas of major ticks per decade, densest first.
const MANTISSAS: [&[u32]; 5] = [
    &[1, 2, 3, 4, 5, 6, 7, 8, 9],
    &[1, 2, 3, 5],
    &[1, 2, 5],
    &[1, 3],
    &[1],
];

/// The exact decimal `m x 10^k` as the nearest f64 (`2e-2` is 0.02, not 2 x 0.01).
fn decimal(m: u32, k: i32) -> f64 {
    format!("{m}e{k}").parse().unwrap_or(f64::NAN)
}

/// `m x 10^k` for every mantissa and decade whose value lies in `lo..=hi`, every `step`
/// decades.
fn in_range(lo: f64, hi: f64, mantissas: &[u32], step: i32) -> Vec<f64> {
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mut out = Vec::new();
    for k in k0..=k1 {
        if k.rem_euclid(step) != 0 {
            continue;
        }
        for &m in mantissas {
            let v = decimal(m, k);
            if v >= lo * (1.0 - 1e-12) && v <= hi * (1.0 + 1e-12) {
                out.push(v);
            }
        }
    }
    out
}

/// Major ticks of a log axis over the values `lo..=hi` (both > 0): the densest of 1..9,
/// {1, 2, 3, 5}, {1, 2, 5}, {1, 3}, {1} per decade, then every 2nd, 5th, 10th... decade,
/// that gives at most ten; a range narrower than one such step gets linear ticks.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    for m in MANTISSAS {
        let t = in_range(lo, hi, m, 1);
        if t.len() <= MAX_TICKS {
            return if t.len() >= 2 {
                t
            } else {
                linear_ticks(lo, hi)
            };
        }
    }
    let mut step = 2;
    loop {
        let t = in_range(lo, hi, &[1], step);
        if t.len() <= MAX_TICKS {
            return t;
        }
        step = match step {
            2 => 5,
            s => s * 2,
        };
    }
}

/// Minor ticks of a log axis: 1..9 per decade when the axis spans few decades, else none.
pub fn log_minor_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) || (hi / lo).log10() > 5.0 {
        return Vec::new();
    }
    in_range(lo, hi, MANTISSAS[0], 1)
}

/// Evenly spaced ticks at a 1, 2 or 5 x 10^k step, at most about eight over `lo..=hi`.
pub fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    linear_ticks_from(lo, hi, 0.0)
}

/// Like [`linear_ticks`], but whole numbers only (counts).
pub fn integer_ticks(lo: f64, hi: f64) -> Vec<f64> {
    linear_ticks_from(lo, hi, 1.0)
}

/// Ticks at a 1, 2 or 5 x 10^k step no smaller than `min_step`.
fn linear_ticks_from(lo: f64, hi: f64, min_step: f64) -> Vec<f64> {
    if !(hi > lo && lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let raw = ((hi - lo) / 8.0).max(min_step);
    let k = raw.log10().floor() as i32;
    let m = [1, 2, 5, 10]
        .into_iter()
        .find(|&m| decimal(m, k) >= raw * (1.0 - 1e-9))
        .unwrap_or(10);
    let step = decimal(m, k);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .map(|i| linear_round(i as f64 * step, hi - lo))
        .collect()
}

/// Decimals that tell apart the ticks of a linear axis spanning `span`.
fn linear_decimals(span: f64) -> usize {
    if !(span > 0.0 && span.is_finite()) {
        return 6;
    }
    (4 - span.log10().floor() as i32).max(0) as usize
}

/// `v` rounded to the decimals that matter on an axis spanning `span`.
fn linear_round(v: f64, span: f64) -> f64 {
    format!("{v:.*}", linear_decimals(span))
        .parse()
        .unwrap_or(v)
}

/// The label of a value on a log axis (the value itself, not its log): the shortest
/// decimal of the value rounded to 6 significant digits; scientific below 0.001 and from
/// a million up ("1e-4", "2.5e-5").
pub fn value_label(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { v.to_string() };
    }
    let r: f64 = format!("{v:.5e}").parse().unwrap_or(v);
    if (1e-3..1e6).contains(&r.abs()) {
        format!("{r}")
    } else {
        format!("{r:e}")
    }
}

/// The label of a value on a linear axis spanning `span`: enough decimals to tell ticks
/// apart, trailing zeros dropped ("2", "0.25", not "2.0", "0.250").
pub fn linear_label(v: f64, span: f64) -> String {
    let s = format!("{v:.*}", linear_decimals(span));
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s.as_str()
    };
    match s {
        "-0" => "0".to_string(),
        s => s.to_string(),
    }
}

/// log10 when `log`, else the value itself (log axes are drawn as linear axes of log10).
pub fn axis(v: f64, log: bool) -> f64 {
    if log {
        v.max(1e-12).log10()
    } else {
        v
    }
}

/// The label of the tick at axis position `p` (log10 of the value on a log axis).
pub fn axis_label(p: f64, log: bool, span: f64) -> String {
    if log {
        value_label(10f64.powf(p))
    } else {
        linear_label(p, span)
    }
}

/// Major and minor tick positions of an axis over the positions `lo..hi` (log10 of the
/// values on a log axis).
pub fn axis_ticks(lo: f64, hi: f64, log: bool) -> (Vec<f64>, Vec<f64>) {
    if log {
        let (a, b) = (10f64.powf(lo), 10f64.powf(hi));
        let to_axis = |v: Vec<f64>| v.into_iter().map(f64::log10).collect();
        (to_axis(log_ticks(a, b)), to_axis(log_minor_ticks(a, b)))
    } else {
        (linear_ticks(lo, hi), Vec::new())
    }
}

/// A linear f64 axis with its ticks placed by [`axis_ticks`] (plotters' `with_key_points`
/// drops the f64 label formatting, so this binds both).
pub struct TickedAxis {
    inner: RangedCoordf64,
    major: Vec<f64>,
    minor: Vec<f64>,
}

impl TickedAxis {
    /// The axis over the positions `lo..hi` (log10 of the values when `log`).
    pub fn new(lo: f64, hi: f64, log: bool) -> Self {
        let (major, minor) = axis_ticks(lo, hi, log);
        TickedAxis {
            inner: (lo..hi).into(),
            major,
            minor,
        }
    }

    /// The axis over `lo..hi` with ticks at `major` only.
    pub fn at(lo: f64, hi: f64, major: Vec<f64>) -> Self {
        TickedAxis {
            inner: (lo..hi).into(),
            major,
            minor: Vec::new(),
        }
    }
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ticks: &[f64]) -> Vec<String> {
        ticks.iter().map(|&v| value_label(v)).collect()
    }

    fn distinct(l: &[String]) -> bool {
        let mut s = l.to_vec();
        s.sort();
        s.dedup();
        s.len() == l.len()
    }

    #[test]
    fn log_ticks_are_one_two_five_and_read_as_decimals() {
        // The range of the seed lab's takeover plot (0.4 .. 6 s).
        // The range of the seed lab's takeover plot (0.4 .. 6 s): was "3, 3, 2, 2, 1, 1e0".
        assert_eq!(labels(&log_ticks(0.4, 6.0)), ["0.5", "1", "2", "3", "5"]);
        assert_eq!(
            labels(&log_ticks(1e-4, 5.0)),
            ["1e-4", "3e-4", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1", "3"]
        );
        assert_eq!(
            labels(&log_ticks(0.05, 20.0)),
            ["0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "20"]
        );
        assert_eq!(
            labels(&log_ticks(1e-3, 1e4)),
            ["0.001", "0.01", "0.1", "1", "10", "100", "1000", "10000"]
        );
        assert_eq!(
            labels(&log_ticks(1e-6, 1e12)),
            ["1e-6", "1e-4", "0.01", "1", "100", "10000", "1e6", "1e8", "1e10", "1e12"]
        );
    }

    #[test]
    fn log_tick_labels_are_distinct_and_within_the_range_for_any_range() {
        let mut lo = 1e-7;
        while lo < 1e5 {
            for f in [1.05, 1.5, 2.5, 7.0, 30.0, 1e3, 1e6, 1e12] {
                let hi = lo * f;
                let t = log_ticks(lo, hi);
                assert!(
                    t.len() >= 2 && t.len() <= MAX_TICKS.max(6),
                    "{lo}..{hi}: {t:?}"
                );
                assert!(
                    t.iter().all(|&v| v >= lo * 0.999 && v <= hi * 1.001),
                    "{lo}..{hi}: {t:?}"
                );
                let l = labels(&t);
                assert!(distinct(&l), "{lo}..{hi}: {l:?}");
                let minor = log_minor_ticks(lo, hi);
                assert!(distinct(&labels(&minor)), "{lo}..{hi}: minor {minor:?}");
            }
            lo *= 1.37;
        }
    }

    #[test]
    fn value_labels_are_short_decimals() {
        for (v, s) in [
            (0.02, "0.02"),
            (2.0 * 0.01, "0.02"),
            (0.1 + 0.2, "0.3"),
            (3.0, "3"),
            (1e-4, "1e-4"),
            (2.5e-5, "2.5e-5"),
            (250_000.0, "250000"),
            (3.6, "3.6"),
            (1e7, "1e7"),
            (0.0, "0"),
        ] {
            assert_eq!(value_label(v), s, "{v}");
        }
    }

    #[test]
    fn linear_labels_of_plotters_ticks_are_distinct_and_trimmed() {
        for (lo, hi) in [
            (0.0, 1.0),
            (0.0, 1.1),
            (0.0, 66.0),
            (0.0, 990.0),
            (0.0, 0.0042),
            (0.0, 12.3),
            (1000.0, 1000.5),
            (-3.0, 4.0),
            (0.0, 2.2e-6),
        ] {
            let r: RangedCoordf64 = (lo..hi).into();
            for n in [5, 10, 20] {
                let l: Vec<String> = r
                    .key_points(n)
                    .iter()
                    .map(|&v| linear_label(v, hi - lo))
                    .collect();
                assert!(distinct(&l), "{lo}..{hi} ({n}): {l:?}");
                assert!(l.iter().all(|s| !s.ends_with(".0") && s != "-0"), "{l:?}");
            }
        }
        assert_eq!(linear_label(2.0, 60.0), "2");
        assert_eq!(linear_label(0.30000000000000004, 1.0), "0.3");
        assert_eq!(linear_label(-1e-17, 1.0), "0");
    }

    #[test]
    fn linear_ticks_step_by_one_two_or_five() {
        assert_eq!(linear_ticks(3.5, 3.7), [3.5, 3.55, 3.6, 3.65, 3.7]);
        assert_eq!(linear_ticks(0.0, 9.0), [0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(integer_ticks(0.0, 1.08), [0.0, 1.0]);
        assert_eq!(
            integer_ticks(0.0, 66.0),
            [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
        );
    }
}

//! CSV files and the stdout summary table.
//!
//! - `runs.csv`: one row per variant and seed.
//! - `summary.csv`: per variant and metric: mean, p50, p99, max over the runs.
//! - `events.csv`: the event log of the first seed of each variant.
//! - LVS runs: `lvs_detections.csv` (one row per real-server fault and director: detection
//!   and recovery time against the formula's band) and `lvs_clients.csv` (per run: requests,
//!   errors, unserved, sorry server); summary.csv adds the [`LVS_METRIC_NAMES`].
//!
//! Floats are printed with a fixed number of decimals so the bytes are reproducible.

use crate::observe::metrics::{Recording, RunResult};
use std::io::Write;
use std::path::Path;

fn f6(x: f64) -> String {
    format!("{x:.6}")
}

/// Arithmetic mean (0 for none).
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Largest value (0 for none).
pub fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

/// Nearest-rank percentile of `v` (`p` in 0..=100).
pub fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[rank.min(s.len()) - 1]
}

/// Names of the metrics in summary.csv, in order.
pub const METRIC_NAMES: [&str; 13] = [
    "master_changes",
    "failovers",
    "failover_max_s",
    "takeover_after_last_advert_max_s",
    "takeover_theory_s",
    "takeover_error_max_s",
    "downtime_s",
    "blackhole_s",
    "unhealthy_served_s",
    "split_brain_s",
    "split_brain_episodes",
    "false_takeovers_per_hour",
    "invariant_violations",
];

/// Names of the LVS metrics summary.csv adds for runs with a virtual server, in order.
pub const LVS_METRIC_NAMES: [&str; 8] = [
    "lvs_requests",
    "lvs_error_rate",
    "lvs_unserved_rate",
    "lvs_sorry_rate",
    "lvs_detection_mean_s",
    "lvs_detection_max_s",
    "lvs_undetected_faults",
    "lvs_outside_formula",
];

/// Whether `name` is a metric of summary.csv (VRRP or LVS).
pub fn is_metric(name: &str) -> bool {
    METRIC_NAMES.contains(&name) || LVS_METRIC_NAMES.contains(&name)
}

/// The value of the metric `name` of a run (`None` for an unknown name, or an LVS metric of
/// a run without LVS).
pub fn metric(r: &RunResult, name: &str) -> Option<f64> {
    metrics(r).into_iter().find(|m| m.0 == name).map(|m| m.1)
}

/// The per-run metrics summarised, in the order of [`METRIC_NAMES`], then for LVS runs
/// [`LVS_METRIC_NAMES`].
pub fn metrics(r: &RunResult) -> Vec<(&'static str, f64)> {
    let error = r
        .takeover_after_last_advert
        .iter()
        .zip(&r.takeover_theory)
        .map(|(m, t)| (m - t).abs())
        .fold(0.0, f64::max);
    let hours = r.simulated_s / 3600.0;
    let per_hour = if hours > 0.0 {
        r.split_brain_episodes as f64 / hours
    } else {
        0.0
    };
    let values = [
        r.master_changes as f64,
        r.failover_times.len() as f64,
        max(&r.failover_times),
        max(&r.takeover_after_last_advert),
        mean(&r.takeover_theory),
        error,
        r.downtime,
        r.blackhole,
        r.unhealthy_served,
        r.split_brain,
        r.split_brain_episodes as f64,
        per_hour,
        r.violations.len() as f64,
    ];
    let mut out: Vec<(&'static str, f64)> = METRIC_NAMES.into_iter().zip(values).collect();
    if let Some(l) = &r.lvs {
        let detections: Vec<f64> = l.faults.iter().filter_map(|f| f.detection).collect();
        // An alpha start-up has nothing to detect.
        let undetected = l
            .faults
            .iter()
            .filter(|f| f.detection.is_none() && f.kind != "alpha")
            .count();
        let outside = l
            .faults
            .iter()
            .flat_map(|f| [f.detection_within, f.recovery_within])
            .filter(|w| *w == Some(false))
            .count();
        let values = [
            l.requests as f64,
            l.error_rate(),
            l.unserved_rate(),
            l.sorry_rate(),
            mean(&detections),
            max(&detections),
            undetected as f64,
            outside as f64,
        ];
        out.extend(LVS_METRIC_NAMES.into_iter().zip(values));
    }
    out
}

/// Write `runs.csv`.
pub fn write_runs(path: &Path, results: &[RunResult]) -> csv::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "variant",
        "seed",
        "master_changes",
        "master_transitions",
        "failovers",
        "failover_mean_s",
        "failover_max_s",
        "takeover_after_last_advert_max_s",
        "downtime_s",
        "blackhole_s",
        "unhealthy_served_s",
        "split_brain_s",
        "adverts_sent",
        "invariant_violations",
    ])?;
    for r in results {
        w.write_record([
            r.variant.clone(),
            r.seed.to_string(),
            r.master_changes.to_string(),
            r.master_transitions.to_string(),
            r.failover_times.len().to_string(),
            f6(mean(&r.failover_times)),
            f6(max(&r.failover_times)),
            f6(max(&r.takeover_after_last_advert)),
            f6(r.downtime),
            f6(r.blackhole),
            f6(r.unhealthy_served),
            f6(r.split_brain),
            r.adverts_sent.to_string(),
            r.violations.len().to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Results grouped by variant, in first-seen order.
pub fn by_variant(results: &[RunResult]) -> Vec<(String, Vec<&RunResult>)> {
    let mut out: Vec<(String, Vec<&RunResult>)> = Vec::new();
    for r in results {
        match out.iter_mut().find(|(v, _)| v == &r.variant) {
            Some((_, rs)) => rs.push(r),
            None => out.push((r.variant.clone(), vec![r])),
        }
    }
    out
}

/// Write `summary.csv`.
pub fn write_summary(path: &Path, results: &[RunResult]) -> csv::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["variant", "metric", "runs", "mean", "p50", "p99", "max"])?;
    for (variant, rs) in by_variant(results) {
        let names: Vec<&str> = rs
            .first()
            .map(|r| metrics(r).into_iter().map(|m| m.0).collect())
            .unwrap_or_default();
        for name in &names {
            let vals: Vec<f64> = rs.iter().filter_map(|r| metric(r, name)).collect();
            w.write_record([
                variant.clone(),
                name.to_string(),
                vals.len().to_string(),
                f6(mean(&vals)),
                f6(percentile(&vals, 50.0)),
                f6(percentile(&vals, 99.0)),
                f6(max(&vals)),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

fn opt(x: Option<f64>) -> String {
    x.map(f6).unwrap_or_default()
}

/// Whether any run has an LVS side.
pub fn has_lvs(results: &[RunResult]) -> bool {
    results.iter().any(|r| r.lvs.is_some())
}

/// Write `lvs_detections.csv`: one row per real-server fault and director. `detection_s`
/// is empty when the table never lost the server before the fault ended; the formula's
/// columns are empty when no checker sees the fault (`never`) or no formula applies.
pub fn write_lvs_detections(path: &Path, results: &[RunResult]) -> csv::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "variant",
        "seed",
        "node",
        "service",
        "real_server",
        "checkers",
        "fault",
        "t_fault_s",
        "detected_at_s",
        "detection_s",
        "formula_min_s",
        "formula_max_s",
        "within_formula",
        "up_at_s",
        "recovered_at_s",
        "recovery_s",
        "recovery_min_s",
        "recovery_max_s",
        "recovery_within_formula",
    ])?;
    let yes_no = |b: Option<bool>| match b {
        Some(true) => "yes".to_string(),
        Some(false) => "no".to_string(),
        None => String::new(),
    };
    for r in results {
        let Some(l) = &r.lvs else { continue };
        for f in &l.faults {
            w.write_record([
                r.variant.clone(),
                r.seed.to_string(),
                f.node.clone(),
                f.service.clone(),
                f.real_server.clone(),
                f.checkers.clone(),
                f.fault.clone(),
                f6(f.t_fault),
                opt(f.detected_at),
                opt(f.detection),
                opt(f.detection_bounds.map(|b| b.0)),
                opt(f.detection_bounds.map(|b| b.1)),
                yes_no(f.detection_within),
                opt(f.up_at),
                opt(f.recovered_at),
                opt(f.recovery),
                opt(f.recovery_bounds.map(|b| b.0)),
                opt(f.recovery_bounds.map(|b| b.1)),
                yes_no(f.recovery_within),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Write `lvs_clients.csv`: per run, the requests and what became of them.
pub fn write_lvs_clients(path: &Path, results: &[RunResult]) -> csv::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "variant",
        "seed",
        "requests",
        "errors",
        "unserved",
        "sorry",
        "error_rate",
        "unserved_rate",
        "sorry_rate",
    ])?;
    for r in results {
        let Some(l) = &r.lvs else { continue };
        w.write_record([
            r.variant.clone(),
            r.seed.to_string(),
            l.requests.to_string(),
            l.errors.to_string(),
            l.unserved.to_string(),
            l.sorry.to_string(),
            f6(l.error_rate()),
            f6(l.unserved_rate()),
            f6(l.sorry_rate()),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The LVS table printed on stdout: per variant, detection times against the formula and
/// what clients saw.
pub fn print_lvs_table(out: &mut impl Write, results: &[RunResult]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<24} {:>7} {:>21} {:>10} {:>9} {:>11} {:>11} {:>10}",
        "variant",
        "faults",
        "detection (s)",
        "undetected",
        "outside",
        "error rate",
        "unserved",
        "sorry"
    )?;
    writeln!(
        out,
        "{:<24} {:>7} {:>21} {:>10} {:>9} {:>11} {:>11} {:>10}",
        "", "", "min / mean / max", "", "formula", "mean", "mean", "mean"
    )?;
    for (variant, rs) in by_variant(results) {
        let faults: Vec<_> = rs
            .iter()
            .filter_map(|r| r.lvs.as_ref())
            .flat_map(|l| l.faults.iter())
            .collect();
        if rs.iter().all(|r| r.lvs.is_none()) {
            continue;
        }
        let d: Vec<f64> = faults.iter().filter_map(|f| f.detection).collect();
        let lo = d.iter().copied().fold(f64::INFINITY, f64::min);
        let outside = faults
            .iter()
            .flat_map(|f| [f.detection_within, f.recovery_within])
            .filter(|w| *w == Some(false))
            .count();
        let undetected = faults.iter().filter(|f| f.detection.is_none()).count();
        let rate = |f: fn(&crate::observe::metrics::LvsResult) -> f64| {
            mean(
                &rs.iter()
                    .filter_map(|r| r.lvs.as_ref())
                    .map(f)
                    .collect::<Vec<_>>(),
            )
        };
        writeln!(
            out,
            "{:<24} {:>7} {:>21} {:>10} {:>9} {:>10.3}% {:>10.3}% {:>9.3}%",
            variant,
            faults.len(),
            if d.is_empty() {
                "-".to_string()
            } else {
                format!("{lo:.2} / {:.2} / {:.2}", mean(&d), max(&d))
            },
            undetected,
            outside,
            100.0 * rate(|l| l.error_rate()),
            100.0 * rate(|l| l.unserved_rate()),
            100.0 * rate(|l| l.sorry_rate()),
        )?;
    }
    Ok(())
}

/// Write `events.csv` with the recordings of every variant.
pub fn write_events(path: &Path, recordings: &[(String, Recording)]) -> csv::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["variant", "time_s", "node", "kind", "detail"])?;
    for (variant, rec) in recordings {
        for e in &rec.events {
            w.write_record([variant.as_str(), &e.time_s, &e.node, e.kind, &e.detail])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// The summary table printed on stdout.
pub fn print_table(out: &mut impl Write, results: &[RunResult]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<24} {:>5} {:>15} {:>17} {:>17} {:>13} {:>17} {:>11} {:>10}",
        "variant",
        "runs",
        "master changes",
        "failover max (s)",
        "downtime (s)",
        "blackhole (s)",
        "unhealthy srv (s)",
        "split (s)",
        "violations"
    )?;
    writeln!(
        out,
        "{:<24} {:>5} {:>15} {:>17} {:>17} {:>13} {:>17} {:>11} {:>10}",
        "", "", "mean / p99", "mean / p99", "mean / p99", "mean", "mean", "mean", "total"
    )?;
    for (variant, rs) in by_variant(results) {
        let col = |f: &dyn Fn(&RunResult) -> f64| rs.iter().map(|r| f(r)).collect::<Vec<f64>>();
        let mc = col(&|r| r.master_changes as f64);
        let fo = col(&|r| max(&r.failover_times));
        let dt = col(&|r| r.downtime);
        let bh = col(&|r| r.blackhole);
        let sb = col(&|r| r.split_brain);
        let uh = col(&|r| r.unhealthy_served);
        let viol: usize = rs.iter().map(|r| r.violations.len()).sum();
        writeln!(
            out,
            "{:<24} {:>5} {:>15} {:>17} {:>17} {:>13.3} {:>17.3} {:>11.3} {:>10}",
            variant,
            rs.len(),
            format!("{:.1} / {:.0}", mean(&mc), percentile(&mc, 99.0)),
            format!("{:.3} / {:.3}", mean(&fo), percentile(&fo, 99.0)),
            format!("{:.3} / {:.3}", mean(&dt), percentile(&dt, 99.0)),
            mean(&bh),
            mean(&uh),
            mean(&sb),
            viol
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}

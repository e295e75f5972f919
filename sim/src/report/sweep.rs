//! Sweep results: the runs of each variant reduced to one point per (series, x) for the
//! sweep plots, with the theory at that point.

use crate::experiment::model::Variant;
use crate::experiment::Experiment;
use crate::observe::metrics::RunResult;
use crate::report::output::{is_metric, max, mean, metric as metric_of};
use crate::report::plots::SweepPoint;
use crate::report::theory::false_takeovers_per_hour;
use vrrp_engine::timing::normalize_interval;

/// The theory of `name` for a variant and its runs, when it applies.
pub fn theory(name: &str, variant: &Variant, runs: &[&RunResult]) -> Option<f64> {
    match name {
        "takeover" => {
            let t: Vec<f64> = runs
                .iter()
                .flat_map(|r| r.takeover_theory.iter().copied())
                .collect();
            (!t.is_empty()).then(|| mean(&t))
        }
        "false_takeovers_per_hour" => {
            // Independent loss only: bursty loss is exactly where the formula stops holding.
            if variant.network.default.burst.is_some() || !variant.network.links.is_empty() {
                return None;
            }
            let i = variant.nodes.first()?.config.instances.first()?;
            Some(false_takeovers_per_hour(
                normalize_interval(i.version, i.advert_interval),
                variant.network.default.loss,
            ))
        }
        _ => None,
    }
}

/// One line per series (in first-seen order), points sorted by x, for `metric`.
pub fn series(
    exp: &Experiment,
    results: &[RunResult],
    metric: &str,
    theory_name: Option<&str>,
) -> Vec<(String, Vec<SweepPoint>)> {
    if !is_metric(metric) {
        return Vec::new();
    }
    let mut out: Vec<(String, Vec<SweepPoint>)> = Vec::new();
    for v in &exp.variants {
        let Some(x) = v.x else { continue };
        let runs: Vec<&RunResult> = results.iter().filter(|r| r.variant == v.name).collect();
        if runs.is_empty() {
            continue;
        }
        let values: Vec<f64> = runs.iter().filter_map(|r| metric_of(r, metric)).collect();
        if values.is_empty() {
            continue;
        }
        let point = SweepPoint {
            x,
            mean: mean(&values),
            min: values.iter().copied().fold(f64::MAX, f64::min),
            max: max(&values),
            theory: theory_name.and_then(|t| theory(t, v, &runs)),
        };
        let name = v.series.clone().unwrap_or_else(|| "all".to_string());
        match out.iter_mut().find(|(s, _)| *s == name) {
            Some((_, pts)) => pts.push(point),
            None => out.push((name, vec![point])),
        }
    }
    for (_, pts) in &mut out {
        pts.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    out
}

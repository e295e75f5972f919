//! The files of an output folder, written from the runs' results. `sim run` and `sim merge`
//! both write through here, so a merged sweep has the bytes of the unsharded one.
//!
//! - [`write_tables`]: `runs.csv`, `summary.csv`, and for LVS runs `lvs_detections.csv` and
//!   `lvs_clients.csv`.
//! - [`write_recorded`]: from the first seed's recording of each variant: `events.csv` and
//!   `timeline_<variant>.png`.
//! - [`write_whole_run_plots`]: the plots over every run: `takeover_vs_theory.png`,
//!   `sweep_<metric>.png`, the LVS plots and `distributions.png`.

use crate::experiment::Experiment;
use crate::observe::metrics::{Recording, RunResult};
use crate::report::{output, plots, sweep};
use std::path::Path;

fn plot_err(path: &Path) -> impl Fn(Box<dyn std::error::Error>) -> String + '_ {
    move |e| format!("plot {}: {e}", path.display())
}

fn csv_err(out: &Path) -> impl Fn(csv::Error) -> String + '_ {
    move |e| format!("cannot write to {}: {e}", out.display())
}

/// Write the CSV tables of `results` (in job order) into `out`.
pub fn write_tables(out: &Path, results: &[RunResult]) -> Result<(), String> {
    let io = csv_err(out);
    output::write_runs(&out.join("runs.csv"), results).map_err(&io)?;
    output::write_summary(&out.join("summary.csv"), results).map_err(&io)?;
    if output::has_lvs(results) {
        output::write_lvs_detections(&out.join("lvs_detections.csv"), results).map_err(&io)?;
        output::write_lvs_clients(&out.join("lvs_clients.csv"), results).map_err(&io)?;
    }
    Ok(())
}

/// The name of a variant's timeline plot.
pub fn timeline_name(variant: &str) -> String {
    format!("timeline_{}.png", plots::slug(variant))
}

/// Write `events.csv` (when the experiment asks for it) and, with `plots`, each variant's
/// timeline, from the recordings of the first seed of each variant.
pub fn write_recorded(
    out: &Path,
    exp: &Experiment,
    results: &[RunResult],
    recordings: &[(String, Recording)],
    plots: bool,
) -> Result<(), String> {
    if exp.events {
        output::write_events(&out.join("events.csv"), recordings).map_err(csv_err(out))?;
    }
    if plots {
        for (variant, rec) in recordings {
            let path = out.join(timeline_name(variant));
            let seed = results
                .iter()
                .find(|r| &r.variant == variant)
                .map_or(0, |r| r.seed);
            plots::timeline(&path, &format!("{}: {variant}, seed {seed}", exp.name), rec)
                .map_err(plot_err(&path))?;
        }
    }
    Ok(())
}

/// Write the plots drawn from every run of the sweep (`results` in job order).
pub fn write_whole_run_plots(
    out: &Path,
    exp: &Experiment,
    results: &[RunResult],
) -> Result<(), String> {
    if results.iter().any(|r| !r.takeover_theory.is_empty()) {
        let path = out.join("takeover_vs_theory.png");
        plots::takeover_vs_theory(
            &path,
            &format!("{}: takeover time, measured vs RFC", exp.name),
            results,
        )
        .map_err(plot_err(&path))?;
    }
    if let Some(sw) = &exp.sweep {
        for metric in &sw.metrics {
            let series = sweep::series(exp, results, metric, sw.theory.as_deref());
            let path = out.join(format!("sweep_{metric}.png"));
            plots::sweep(
                &path,
                &format!("{}: {metric}", exp.name),
                &sw.x_label,
                metric,
                &series,
                sw.log_x,
                sw.log_y,
            )
            .map_err(plot_err(&path))?;
        }
    }
    if output::has_lvs(results) {
        for (file, which, what) in [
            (
                "lvs_detection.png",
                plots::LvsTime::Detection,
                "detection time",
            ),
            (
                "lvs_recovery.png",
                plots::LvsTime::Recovery,
                "recovery time",
            ),
        ] {
            let path = out.join(file);
            plots::lvs_times(
                &path,
                &format!("{}: real-server {what}, measured vs formula", exp.name),
                results,
                which,
            )
            .map_err(plot_err(&path))?;
        }
        let path = out.join("lvs_errors.png");
        plots::lvs_errors(
            &path,
            &format!("{}: what the clients' requests met", exp.name),
            results,
        )
        .map_err(plot_err(&path))?;
    }
    let path = out.join("distributions.png");
    plots::distributions(
        &path,
        &format!(
            "{}: {} runs per variant",
            exp.name,
            exp.seeds.end - exp.seeds.start
        ),
        results,
    )
    .map_err(plot_err(&path))
}

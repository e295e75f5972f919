//! `sim run FILE`: load an experiment, run every variant and seed, write CSV files and plots,
//! print a summary table and any invariant violation with the command that replays it.

use crate::CliError;
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Instant as WallClock;
use vrrp_sim::backend::runner::{run_all, RunOptions};
use vrrp_sim::experiment;
use vrrp_sim::report::output;
use vrrp_sim::report::plots;

/// Arguments of `sim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// Output folder (default: the file's `outputs.dir`, else `out/<experiment name>/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replay one seed only (with --variant: one run). Written to `<out>/replay-<variant>-<seed>/`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run one variant only.
    #[arg(long)]
    pub variant: Option<String>,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Override the number of seeds per variant.
    #[arg(long)]
    pub seeds: Option<u64>,
    /// Skip the PNG plots.
    #[arg(long)]
    pub no_plots: bool,
    /// Simulator backend, overriding the file's `backend`: `event` or `turmoil`.
    #[arg(long, value_parser = ["event", "turmoil"])]
    pub backend: Option<String>,
    /// Write a JSONL trace (docs/trace.md) of the first seed of each variant:
    /// `DIR/<variant>/<node>.jsonl` (`t` = simulated seconds, `node` = the node's name).
    #[arg(long, value_name = "DIR")]
    pub trace: Option<PathBuf>,
}

/// Run `sim run`.
pub fn run(args: RunArgs) -> Result<(), CliError> {
    let mut exp = match experiment::load(&args.file) {
        Ok(e) => e,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            return Err(CliError(format!(
                "{} error(s) in {}",
                errors.len(),
                args.file.display()
            )));
        }
    };
    for w in &exp.warnings {
        eprintln!("{w}");
    }
    match args.backend.as_deref() {
        Some("turmoil") => exp.backend = experiment::Backend::Turmoil,
        Some(_) => exp.backend = experiment::Backend::Event,
        None => {}
    }
    if let Some(n) = args.seeds {
        if n == 0 {
            return Err(CliError("--seeds must be at least 1".into()));
        }
        exp.seeds = exp.seeds.start..exp.seeds.start.saturating_add(n);
    }
    let base: PathBuf = args
        .out
        .clone()
        .or_else(|| exp.out_dir.as_ref().map(PathBuf::from))
        .unwrap_or_else(|| Path::new("out").join(&exp.name));
    let out = match (args.seed, &args.variant) {
        (Some(s), Some(v)) => base.join(format!("replay-{}-{s}", plots::slug(v))),
        (Some(s), None) => base.join(format!("replay-{s}")),
        _ => base,
    };
    std::fs::create_dir_all(&out)
        .map_err(|e| CliError(format!("cannot create {}: {e}", out.display())))?;
    if exp.backend == experiment::Backend::Turmoil {
        notice_turmoil_cost(&exp, &args);
    }
    let started = WallClock::now();
    let opts = RunOptions {
        threads: args.threads,
        seed: args.seed,
        variant: args.variant.clone(),
        progress: true,
        trace: args.trace.is_some(),
    };
    let outcome = run_all(&exp, &opts).map_err(CliError)?;
    let wall = started.elapsed();
    let io = |e: csv::Error| CliError(format!("cannot write to {}: {e}", out.display()));
    output::write_runs(&out.join("runs.csv"), &outcome.results).map_err(io)?;
    output::write_summary(&out.join("summary.csv"), &outcome.results).map_err(io)?;
    if exp.events {
        output::write_events(&out.join("events.csv"), &outcome.recordings).map_err(io)?;
    }
    let lvs = output::has_lvs(&outcome.results);
    if lvs {
        output::write_lvs_detections(&out.join("lvs_detections.csv"), &outcome.results)
            .map_err(io)?;
        output::write_lvs_clients(&out.join("lvs_clients.csv"), &outcome.results).map_err(io)?;
    }
    if let Some(dir) = &args.trace {
        for (variant, rec) in &outcome.recordings {
            if let Some(t) = &rec.trace {
                let d = dir.join(plots::slug(variant));
                t.write_dir(&d)
                    .map_err(|e| CliError(format!("cannot write trace to {}: {e}", d.display())))?;
            }
        }
    }
    if exp.plots && !args.no_plots {
        for (variant, rec) in &outcome.recordings {
            let path = out.join(format!("timeline_{}.png", plots::slug(variant)));
            let seed = outcome
                .results
                .iter()
                .find(|r| &r.variant == variant)
                .map_or(0, |r| r.seed);
            plots::timeline(&path, &format!("{}: {variant}, seed {seed}", exp.name), rec)
                .map_err(|e| CliError(format!("plot {}: {e}", path.display())))?;
        }
        if outcome
            .results
            .iter()
            .any(|r| !r.takeover_theory.is_empty())
        {
            let path = out.join("takeover_vs_theory.png");
            plots::takeover_vs_theory(
                &path,
                &format!("{}: takeover time, measured vs RFC", exp.name),
                &outcome.results,
            )
            .map_err(|e| CliError(format!("plot {}: {e}", path.display())))?;
        }
        if let Some(sw) = &exp.sweep {
            for metric in &sw.metrics {
                let series = vrrp_sim::report::sweep::series(
                    &exp,
                    &outcome.results,
                    metric,
                    sw.theory.as_deref(),
                );
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
                .map_err(|e| CliError(format!("plot {}: {e}", path.display())))?;
            }
        }
        if lvs {
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
                    &outcome.results,
                    which,
                )
                .map_err(|e| CliError(format!("plot {}: {e}", path.display())))?;
            }
            let path = out.join("lvs_errors.png");
            plots::lvs_errors(
                &path,
                &format!("{}: what the clients' requests met", exp.name),
                &outcome.results,
            )
            .map_err(|e| CliError(format!("plot {}: {e}", path.display())))?;
        }
        let path = out.join("distributions.png");
        plots::distributions(
            &path,
            &format!(
                "{}: {} runs per variant",
                exp.name,
                exp.seeds.end - exp.seeds.start
            ),
            &outcome.results,
        )
        .map_err(|e| CliError(format!("plot {}: {e}", path.display())))?;
    }
    let mut stdout = std::io::stdout();
    println!("{} ({})", exp.name, exp.path.display());
    output::print_table(&mut stdout, &outcome.results).map_err(|e| CliError(e.to_string()))?;
    if lvs {
        println!();
        output::print_lvs_table(&mut stdout, &outcome.results)
            .map_err(|e| CliError(e.to_string()))?;
    }
    let simulated = exp.duration.as_secs_f64() * outcome.results.len() as f64;
    println!(
        "{} runs, {:.0} s simulated in {:.3} s wall ({:.0}x real time); results in {}",
        outcome.results.len(),
        simulated,
        wall.as_secs_f64(),
        simulated / wall.as_secs_f64().max(1e-9),
        out.display()
    );
    let violations: Vec<_> = outcome
        .results
        .iter()
        .flat_map(|r| r.violations.iter().map(move |v| (r, v)))
        .collect();
    for (r, v) in violations.iter().take(20) {
        eprintln!(
            "invariant violated: {} at t={:.6} s, variant {}, seed {}: {}\n  replay: sim run {} --seed {} --variant {}",
            v.invariant,
            v.at,
            r.variant,
            r.seed,
            v.detail,
            args.file.display(),
            r.seed,
            r.variant
        );
    }
    if !violations.is_empty() {
        return Err(CliError(format!(
            "{} invariant violation(s)",
            violations.len()
        )));
    }
    Ok(())
}

/// Before a long turmoil run, say how long it will take (turmoil steps every 1 ms tick).
fn notice_turmoil_cost(exp: &experiment::Experiment, args: &RunArgs) {
    let variants = match &args.variant {
        Some(_) => 1,
        None => exp.variants.len(),
    };
    let seeds = match args.seed {
        Some(_) => 1,
        None => (exp.seeds.end - exp.seeds.start) as usize,
    };
    let runs = variants * seeds;
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let est = vrrp_sim::backend::turmoil_backend::estimate(exp, runs, threads);
    if est.as_secs_f64() > 10.0 {
        eprintln!(
            "turmoil: about {} for {runs} run(s) of {} (1 ms tick, {threads} thread(s)); use backend = \"event\" for sweeps",
            human(est),
            human(exp.duration)
        );
    }
}

fn human(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

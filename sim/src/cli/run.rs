//! `sim run FILE`: load an experiment, run every variant and seed, write CSV files and plots,
//! print a summary table and any invariant violation with the command that replays it.

use crate::CliError;
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Instant as WallClock;
use vrrp_sim::backend::runner::{run_all, Outcome, RunOptions};
use vrrp_sim::experiment;
use vrrp_sim::report::{files, output, plots};
use vrrp_sim::shard::manifest::{self, Manifest, RunKey};
use vrrp_sim::shard::{Shard, ShardFlags};

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
    /// Run shard I of N (0-based): every N-th (variant, seed) job from the I-th, into
    /// `<out>/shard-I-of-N/` with what `sim merge` needs. A shard exits 0 despite invariant
    /// violations (it prints them); `sim merge` reports them and exits 1. Without this flag,
    /// JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm job array)
    /// choose the shard, and sim run says so.
    #[arg(long, value_name = "I/N", conflicts_with_all = ["shards", "no_shard", "seed"])]
    pub shard: Option<Shard>,
    /// Number of shards when the scheduler gives the index: required with JOB_COMPLETION_INDEX
    /// (the Job's completions); with SLURM_ARRAY_TASK_ID it defaults to SLURM_ARRAY_TASK_COUNT.
    #[arg(long, value_name = "N", conflicts_with_all = ["no_shard", "seed"])]
    pub shards: Option<u32>,
    /// Run every job even when JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID is set.
    #[arg(long)]
    pub no_shard: bool,
}

/// The experiment's fingerprints, taken before the command line changes it.
struct Identity {
    file_hash: String,
    resolved_hash: String,
}

/// The shard to run, from the flags or the scheduler's variables (said on stderr).
fn choose_shard(args: &RunArgs) -> Result<Option<Shard>, CliError> {
    if args.seed.is_some() {
        // A replay is one run: the scheduler's variables do not split it.
        return Ok(None);
    }
    let flags = ShardFlags {
        shard: args.shard,
        shards: args.shards,
        no_shard: args.no_shard,
    };
    let chosen = vrrp_sim::shard::select(flags, |k| std::env::var(k).ok()).map_err(CliError)?;
    Ok(chosen.map(|c| {
        if let Some(why) = &c.because {
            eprintln!(
                "sim run: running shard {} of the jobs ({why}); --no-shard runs them all",
                c.shard
            );
        }
        c.shard
    }))
}

/// A shard's files for `sim merge`: `results.jsonl`, then `shard.json`.
fn write_shard_files(
    out: &Path,
    exp: &experiment::Experiment,
    identity: &Identity,
    shard: Shard,
    outcome: &Outcome,
    variant: Option<&str>,
    plots: bool,
) -> Result<(), CliError> {
    manifest::write_results(out, &outcome.jobs, &outcome.results).map_err(CliError)?;
    let m = Manifest {
        format: manifest::FORMAT,
        shard: shard.index,
        shards: shard.count,
        runs: outcome.results.len(),
        recorded: outcome.recordings.iter().map(|(v, _)| v.clone()).collect(),
        run: RunKey {
            sim_version: env!("CARGO_PKG_VERSION").to_string(),
            experiment: exp.path.display().to_string(),
            experiment_hash: identity.file_hash.clone(),
            resolved_hash: identity.resolved_hash.clone(),
            jobs: outcome.total_jobs,
            seeds: [exp.seeds.start, exp.seeds.end],
            backend: match exp.backend {
                experiment::Backend::Event => "event",
                experiment::Backend::Turmoil => "turmoil",
            }
            .to_string(),
            variant: variant.map(str::to_string),
            plots,
        },
    };
    manifest::write_manifest(out, &m).map_err(CliError)
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
    let identity = Identity {
        file_hash: std::fs::read(&args.file)
            .map(|b| manifest::fnv1a64(&b))
            .map_err(|e| CliError(format!("cannot read {}: {e}", args.file.display())))?,
        resolved_hash: manifest::resolved_hash(&exp),
    };
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
    let shard = choose_shard(&args)?;
    let out = match (args.seed, &args.variant, shard) {
        (Some(s), Some(v), _) => base.join(format!("replay-{}-{s}", plots::slug(v))),
        (Some(s), None, _) => base.join(format!("replay-{s}")),
        (None, _, Some(sh)) => base.join(sh.dir_name()),
        _ => base.clone(),
    };
    std::fs::create_dir_all(&out)
        .map_err(|e| CliError(format!("cannot create {}: {e}", out.display())))?;
    if shard.is_some() {
        manifest::clear(&out).map_err(CliError)?;
    }
    if exp.backend == experiment::Backend::Turmoil {
        notice_turmoil_cost(&exp, &args, shard);
    }
    let started = WallClock::now();
    let opts = RunOptions {
        threads: args.threads,
        seed: args.seed,
        variant: args.variant.clone(),
        progress: true,
        trace: args.trace.is_some(),
        shard,
    };
    let outcome = run_all(&exp, &opts).map_err(CliError)?;
    let wall = started.elapsed();
    let draw = exp.plots && !args.no_plots;
    files::write_tables(&out, &outcome.results).map_err(CliError)?;
    files::write_recorded(&out, &exp, &outcome.results, &outcome.recordings, draw)
        .map_err(CliError)?;
    if let Some(dir) = &args.trace {
        for (variant, rec) in &outcome.recordings {
            if let Some(t) = &rec.trace {
                let d = dir.join(plots::slug(variant));
                t.write_dir(&d)
                    .map_err(|e| CliError(format!("cannot write trace to {}: {e}", d.display())))?;
            }
        }
    }
    match shard {
        // A shard's share would draw misleading whole-run plots: `sim merge` draws them.
        Some(s) => write_shard_files(
            &out,
            &exp,
            &identity,
            s,
            &outcome,
            args.variant.as_deref(),
            draw,
        )?,
        None if draw => {
            files::write_whole_run_plots(&out, &exp, &outcome.results).map_err(CliError)?
        }
        None => {}
    }
    print_tables(&exp, &outcome.results)?;
    let simulated = exp.duration.as_secs_f64() * outcome.results.len() as f64;
    println!(
        "{} runs, {:.0} s simulated in {:.3} s wall ({:.0}x real time); results in {}",
        outcome.results.len(),
        simulated,
        wall.as_secs_f64(),
        simulated / wall.as_secs_f64().max(1e-9),
        out.display()
    );
    if let Some(s) = shard {
        println!(
            "shard {s}: {} of {} runs; when all {} shards are done: sim merge {} {}",
            outcome.results.len(),
            outcome.total_jobs,
            s.count,
            base.display(),
            base.display()
        );
    }
    let violations = print_violations(&args.file, &outcome.results);
    if shard.is_some() && violations > 0 {
        // The sweep's verdict is the merge's: a failed shard would keep a scheduler from
        // merging (Slurm's afterok) or make it run the same runs again (Kubernetes).
        eprintln!(
            "{violations} invariant violation(s) in this shard; sim merge reports them all and exits 1"
        );
        return Ok(());
    }
    if violations > 0 {
        return Err(CliError(format!("{violations} invariant violation(s)")));
    }
    Ok(())
}

/// Print the summary table (and the LVS table) of `results` on stdout.
pub(crate) fn print_tables(
    exp: &experiment::Experiment,
    results: &[vrrp_sim::observe::metrics::RunResult],
) -> Result<(), CliError> {
    let mut stdout = std::io::stdout();
    println!("{} ({})", exp.name, exp.path.display());
    output::print_table(&mut stdout, results).map_err(|e| CliError(e.to_string()))?;
    if output::has_lvs(results) {
        println!();
        output::print_lvs_table(&mut stdout, results).map_err(|e| CliError(e.to_string()))?;
    }
    Ok(())
}

/// Print the first 20 invariant violations with the command that replays each; the count.
pub(crate) fn print_violations(
    file: &Path,
    results: &[vrrp_sim::observe::metrics::RunResult],
) -> usize {
    let violations: Vec<_> = results
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
            file.display(),
            r.seed,
            r.variant
        );
    }
    violations.len()
}

/// Before a long turmoil run, say how long it will take (turmoil steps every 1 ms tick).
fn notice_turmoil_cost(exp: &experiment::Experiment, args: &RunArgs, shard: Option<Shard>) {
    let variants = match &args.variant {
        Some(_) => 1,
        None => exp.variants.len(),
    };
    let seeds = match args.seed {
        Some(_) => 1,
        None => (exp.seeds.end - exp.seeds.start) as usize,
    };
    let mut runs = variants * seeds;
    if let Some(s) = shard {
        // Jobs j < runs with j % N == I.
        runs = (runs + s.count as usize - 1 - s.index as usize) / s.count as usize;
    }
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

//! `sim merge OUT DIR...`: the outputs of `sim run --shard I/N` put back together into the
//! files the unsharded run writes, byte for byte: the tables are recomputed from every run's
//! full result, the whole-run plots drawn again, each variant's events and timeline taken
//! from the shard that ran its first seed.

use crate::cli::run::{print_tables, print_violations};
use crate::CliError;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant as WallClock;
use vrrp_sim::experiment::{self, Backend};
use vrrp_sim::report::{files, output};
use vrrp_sim::shard::manifest;
use vrrp_sim::shard::merge;

/// Arguments of `sim merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Output folder for the merged run (created). The shards' `--out` folder is fine; a
    /// shard's own folder is refused.
    pub out: PathBuf,
    /// The shards' folders (`shard-I-of-N`), or the folder holding them (the shards' `--out`).
    /// Every shard of the run, once each.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The experiment file, when it is not where the shards read it (their shard.json names
    /// it). It must be the same file: its hash is checked.
    #[arg(long, value_name = "FILE")]
    pub experiment: Option<PathBuf>,
    /// Skip the PNG plots.
    #[arg(long)]
    pub no_plots: bool,
}

/// Run `sim merge`.
pub fn run(args: MergeArgs) -> Result<(), CliError> {
    let started = WallClock::now();
    let mut shards = merge::find(&args.dirs).map_err(CliError)?;
    merge::check(&mut shards).map_err(CliError)?;
    for s in &shards {
        if same_dir(&s.dir, &args.out) {
            return Err(CliError(format!(
                "{} would be overwritten: merge into another folder (e.g. the shards' --out)",
                s.name()
            )));
        }
    }
    let key = shards[0].manifest.run.clone();
    let file = args
        .experiment
        .clone()
        .unwrap_or_else(|| PathBuf::from(&key.experiment));
    let mut exp = load(&file)?;
    let bytes = std::fs::read(&file)
        .map_err(|e| CliError(format!("cannot read {}: {e}", file.display())))?;
    if manifest::fnv1a64(&bytes) != key.experiment_hash {
        return Err(CliError(format!(
            "{} is not the experiment file the shards ran (hash {}, theirs {}): pass theirs with --experiment FILE",
            file.display(),
            manifest::fnv1a64(&bytes),
            key.experiment_hash
        )));
    }
    if manifest::resolved_hash(&exp) != key.resolved_hash {
        return Err(CliError(format!(
            "{} is the shards' file, but a file it names (config_file) differs from the one they read",
            file.display()
        )));
    }
    // The shards' command line: the merged files must describe their runs.
    exp.seeds = key.seeds[0]..key.seeds[1];
    exp.backend = match key.backend.as_str() {
        "turmoil" => Backend::Turmoil,
        _ => Backend::Event,
    };
    let results = merge::results(&shards).map_err(CliError)?;
    let variants: Vec<String> = output::by_variant(&results)
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    let recorders = merge::recorders(&shards, &variants).map_err(CliError)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError(format!("cannot create {}: {e}", args.out.display())))?;
    files::write_tables(&args.out, &results).map_err(CliError)?;
    if exp.events {
        merge::write_events(&args.out, &variants, &recorders).map_err(CliError)?;
    }
    if key.plots && !args.no_plots {
        merge::copy_timelines(&args.out, &variants, &recorders).map_err(CliError)?;
        files::write_whole_run_plots(&args.out, &exp, &results).map_err(CliError)?;
    }
    print_tables(&exp, &results)?;
    println!(
        "{} shards, {} runs merged in {:.3} s wall; results in {}",
        shards.len(),
        results.len(),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    let violations = print_violations(&file, &results);
    if violations > 0 {
        return Err(CliError(format!("{violations} invariant violation(s)")));
    }
    Ok(())
}

fn load(file: &std::path::Path) -> Result<experiment::Experiment, CliError> {
    experiment::load(file).map_err(|errors| {
        for e in &errors {
            eprintln!("{e}");
        }
        CliError(format!(
            "{} error(s) in {} (the shards' experiment; --experiment FILE if it is elsewhere)",
            errors.len(),
            file.display()
        ))
    })
}

fn same_dir(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

//! Runs every (variant, seed) of an experiment across the cores. Each run is independent and
//! results are put back in (variant, seed) order, so the output does not depend on the
//! number of threads. With a shard ([`RunOptions::shard`]) only every N-th job runs, each
//! with its index in the whole job list, so `sim merge` can put shards back in that order.

use crate::backend::RunSpec;
use crate::experiment::{Backend, Experiment};
use crate::observe::metrics::{Recording, RunResult};
use crate::shard::Shard;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::io::IsTerminal;

/// What to run and how.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Worker threads (default: one per core).
    pub threads: Option<usize>,
    /// Only this seed.
    pub seed: Option<u64>,
    /// Only this variant.
    pub variant: Option<String>,
    /// Show a progress bar (only on a terminal).
    pub progress: bool,
    /// Keep the JSONL trace of the first seed of each variant (in its recording).
    pub trace: bool,
    /// Run only this shard's share of the jobs ([`Shard::owns`]).
    pub shard: Option<Shard>,
}

/// Every run's result, and the recording of the first seed of each variant.
#[derive(Debug, Default)]
pub struct Outcome {
    /// In (variant, seed) order.
    pub results: Vec<RunResult>,
    /// (variant name, recording), in variant order.
    pub recordings: Vec<(String, Recording)>,
    /// The index of each result's job in the whole run's job list (`sim merge` orders by it).
    pub jobs: Vec<usize>,
    /// Jobs in the whole run, all shards together.
    pub total_jobs: usize,
}

/// Run the experiment.
pub fn run_all(exp: &Experiment, opts: &RunOptions) -> Result<Outcome, String> {
    if exp.backend == Backend::Turmoil {
        crate::backend::turmoil_backend::validate(exp)?;
    }
    if let Some(v) = &opts.variant {
        if !exp.variants.iter().any(|x| &x.name == v) {
            let names: Vec<&str> = exp.variants.iter().map(|x| x.name.as_str()).collect();
            return Err(format!(
                "no variant {v:?} in {} (variants: {})",
                exp.path.display(),
                names.join(", ")
            ));
        }
    }
    let run = match exp.backend {
        Backend::Event => crate::backend::event_queue::run,
        // One turmoil `Sim` per run, built and dropped inside the worker thread (`!Send`).
        Backend::Turmoil => crate::backend::turmoil_backend::run,
    };
    let seeds: Vec<u64> = match opts.seed {
        Some(s) => vec![s],
        None => exp.seeds.clone().collect(),
    };
    let first = seeds.first().copied().unwrap_or(0);
    let all: Vec<(usize, u64)> = exp
        .variants
        .iter()
        .enumerate()
        .filter(|(_, v)| opts.variant.as_ref().is_none_or(|n| n == &v.name))
        .flat_map(|(i, _)| seeds.iter().map(move |&s| (i, s)))
        .collect();
    let total_jobs = all.len();
    // (job index, variant, seed): a shard keeps its share; the recorded run stays the first
    // seed of the whole run, so a job gives the same result in whichever shard runs it.
    let jobs: Vec<(usize, usize, u64)> = all
        .into_iter()
        .enumerate()
        .filter(|(j, _)| opts.shard.is_none_or(|s| s.owns(*j)))
        .map(|(j, (vi, seed))| (j, vi, seed))
        .collect();
    let bar = if opts.progress && std::io::stderr().is_terminal() && jobs.len() > 1 {
        let b = ProgressBar::new(jobs.len() as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} runs ({eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .build()
        .map_err(|e| e.to_string())?;
    let done: Vec<(RunResult, Option<Recording>)> = pool.install(|| {
        jobs.par_iter()
            .map(|&(_, vi, seed)| {
                let out = run(RunSpec {
                    experiment: exp,
                    variant: &exp.variants[vi],
                    seed,
                    record: seed == first,
                    capture: false,
                    trace: opts.trace && seed == first,
                });
                if let Some(b) = &bar {
                    b.inc(1);
                }
                out
            })
            .collect()
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut outcome = Outcome {
        jobs: jobs.iter().map(|j| j.0).collect(),
        total_jobs,
        ..Outcome::default()
    };
    for (r, rec) in done {
        if let Some(rec) = rec {
            outcome.recordings.push((r.variant.clone(), rec));
        }
        outcome.results.push(r);
    }
    Ok(outcome)
}

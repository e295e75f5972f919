//! `sim swarm`: swarm testing of an experiment's nodes and configurations. Each case draws a
//! random subset of fault kinds ([`kinds`]), a random schedule of episodes of those kinds
//! ([`generate`]), and runs it on the event queue with every invariant checked
//! ([`crate::observe::invariants`]); a failing case is shrunk ([`shrink`]) and written back as
//! an experiment file `sim run` replays ([`mod@write`]).
//!
//! Case `k` of swarm seed `S` is a pure function of the file, `S` and `k` (not of the number
//! of runs or threads): its run seed is [`case_seed`], its schedule comes from a ChaCha8 RNG
//! seeded from the run seed with a salt, and it uses the file's variant `k mod variants` (its
//! nodes, network, clients and real servers; the file's own timeline is not used, but its
//! reloads are among the configurations a swarm reload may load).

pub mod generate;
pub mod kinds;
pub mod shrink;
pub mod write;

use crate::backend::RunSpec;
use crate::experiment::model::Variant;
use crate::experiment::Experiment;
use crate::observe::metrics::{RunResult, Violation};
use kinds::{Kind, KindSet};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::time::Duration;

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Cases `0..runs` (unless `case`).
    pub runs: u64,
    /// The swarm seed.
    pub seed: u64,
    /// Simulated time of each case.
    pub duration: Duration,
    /// At most this many fault episodes per case.
    pub max_episodes: usize,
    /// Worker threads (default: one per core). Results do not depend on it.
    pub threads: Option<usize>,
    /// Only this case.
    pub case: Option<u64>,
    /// Only these kinds (default: every kind the experiment has what it needs for).
    pub kinds: Option<KindSet>,
}

/// One case: which variant, which seed, which kinds, which episodes.
#[derive(Clone, Debug)]
pub struct Case {
    /// Its number.
    pub number: u64,
    /// The file's variant it uses.
    pub variant: usize,
    /// Its run seed.
    pub seed: u64,
    /// The kinds it enabled.
    pub kinds: KindSet,
    /// How many episodes of each kind it drew, in [`Kind::ALL`] order.
    pub episodes: [u32; Kind::ALL.len()],
}

/// A case and what its run found.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The case.
    pub case: Case,
    /// Timeline entries it ran.
    pub faults: usize,
    /// Invariant violations, in the order found.
    pub violations: Vec<Violation>,
    /// Settled periods whose checks ran.
    pub settled_checks: u64,
    /// Simulated seconds the run was quiet (`no-change-when-settled` armed).
    pub quiet_s: f64,
}

/// splitmix64.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The run seed of case `k` of swarm seed `seed`: 63 bits, so that an experiment file's
/// `seed_base` (a TOML integer, signed 64-bit) can hold it.
pub fn case_seed(seed: u64, k: u64) -> u64 {
    mix(seed ^ mix(k)) >> 1
}

/// Salt of the schedule RNG ("swarm"), so the schedule's draws are not the run's.
const SCHEDULE_SALT: u64 = 0x7377_6172_6d00_0000;

/// Case `k`: its description and the variant it runs (the file's variant with the drawn
/// timeline).
pub fn build_case(exp: &Experiment, opts: &Options, k: u64) -> (Case, Variant) {
    let vi = (k % exp.variants.len().max(1) as u64) as usize;
    let base = &exp.variants[vi];
    let seed = case_seed(opts.seed, k);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ SCHEDULE_SALT);
    let applicable = Kind::ALL
        .into_iter()
        .filter(|&k| k.applies(base) && opts.kinds.is_none_or(|s| s.contains(k)))
        .fold(KindSet::default(), KindSet::with);
    let kinds = KindSet::draw(applicable, &mut rng);
    let shape = generate::Shape {
        duration: opts.duration,
        max_episodes: opts.max_episodes,
    };
    let schedule = generate::schedule(base, kinds, shape, &mut rng);
    let mut episodes = [0u32; Kind::ALL.len()];
    for k in &schedule.episodes {
        episodes[*k as usize] += 1;
    }
    let variant = Variant {
        name: format!("swarm-{k}"),
        description: String::new(),
        timeline: schedule.faults,
        ..base.clone()
    };
    (
        Case {
            number: k,
            variant: vi,
            seed,
            kinds,
            episodes,
        },
        variant,
    )
}

/// The experiment settings a case runs with (clients, ARP), lasting `duration`; its variants
/// are not used.
pub fn runner(exp: &Experiment, duration: Duration) -> Experiment {
    let mut e = exp.clone();
    e.variants.clear();
    e.duration = duration;
    e
}

/// Run `v` with `seed` on the event queue.
pub fn run_case(runner: &Experiment, v: &Variant, seed: u64) -> RunResult {
    crate::backend::event_queue::run(RunSpec {
        experiment: runner,
        variant: v,
        seed,
        record: false,
        capture: false,
        trace: false,
    })
    .0
}

/// Run every case (or `opts.case`), in parallel; results in case order.
pub fn run(
    exp: &Experiment,
    opts: &Options,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<CaseResult>, String> {
    if exp.variants.is_empty() {
        return Err("the experiment has no variant to run".into());
    }
    let cases: Vec<u64> = match opts.case {
        Some(k) => vec![k],
        None => (0..opts.runs).collect(),
    };
    let run_exp = runner(exp, opts.duration);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .build()
        .map_err(|e| e.to_string())?;
    Ok(pool.install(|| {
        cases
            .par_iter()
            .map(|&k| {
                let (case, v) = build_case(exp, opts, k);
                let r = run_case(&run_exp, &v, case.seed);
                tick();
                CaseResult {
                    faults: v.timeline.len(),
                    case,
                    violations: r.violations,
                    settled_checks: r.settled_checks,
                    quiet_s: r.quiet_s,
                }
            })
            .collect()
    }))
}

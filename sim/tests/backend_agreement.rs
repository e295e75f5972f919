//! The two backends agree on every experiment in `experiments/` when the network is a fixed
//! whole-millisecond latency without loss: per node the same state transitions
//! (instance, from, to) in the same order, the same advert bytes in the same order (one more
//! at the very end allowed), and every transition within one tick (1 ms) of the other
//! backend's, however many elections came before it: turmoil's engines get exact times, and
//! its observer sees each at the tick holding it. Seed 0; every variant of every experiment;
//! runs cut to [`MAX_DURATION`]; fault and start jitter set to zero (random times are not on
//! ticks).
//!
//! A second test perturbs turmoil's latency and checks that the comparison then fails.

use std::path::{Path, PathBuf};
use std::time::Duration;
use vrrp_engine::{Instant, State};
use vrrp_sim::backend::RunSpec;
use vrrp_sim::experiment::duration::Dur;
use vrrp_sim::experiment::model::{Fault, LinkModel, NetworkModel, Variant};
use vrrp_sim::experiment::schema::LatencySpec;
use vrrp_sim::experiment::{load, Experiment};
use vrrp_sim::observe::metrics::{Captured, Recording, RunResult};

/// Longest simulated run in this test.
const MAX_DURATION: Duration = Duration::from_secs(120);
/// The fixed latency both backends get.
const LATENCY: Duration = Duration::from_millis(1);
/// One turmoil tick.
const TOLERANCE: Duration = Duration::from_millis(1);

fn experiments() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("experiments/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

fn fixed(latency: Duration) -> NetworkModel {
    NetworkModel {
        default: LinkModel {
            latency: LatencySpec::Fixed(Dur(latency)),
            loss: 0.0,
            burst: None,
        },
        links: Default::default(),
    }
}

/// The variant on a fixed-latency lossless network (network faults of the timeline that
/// would change that are removed).
fn on_fixed_network(v: &Variant, latency: Duration) -> Variant {
    let mut v = v.clone();
    v.network = fixed(latency);
    v.timeline
        .retain(|f| !matches!(f.fault, Fault::Loss { .. } | Fault::Latency(_)));
    // Random fault and start times are not on turmoil's 1 ms ticks: the same scenario means
    // the same (tick-aligned) times.
    for f in &mut v.timeline {
        f.jitter = Duration::ZERO;
    }
    for n in &mut v.nodes {
        n.start_jitter = Duration::ZERO;
    }
    v
}

type Run = fn(RunSpec<'_>) -> (RunResult, Option<Recording>);

fn capture(exp: &Experiment, v: &Variant, run: Run) -> Vec<Captured> {
    let (_, rec) = run(RunSpec {
        experiment: exp,
        variant: v,
        seed: 0,
        record: true,
        capture: true,
        trace: false,
    });
    rec.expect("recorded run").captured
}

type Transition = (Instant, u32, State, State);

fn per_node(c: &[Captured], node: usize) -> (Vec<Transition>, Vec<&[u8]>) {
    let mut states = Vec::new();
    let mut adverts = Vec::new();
    for x in c {
        match x {
            Captured::State {
                at,
                node: n,
                instance,
                from,
                to,
            } if *n == node => states.push((*at, *instance, *from, *to)),
            Captured::Transmit {
                node: n, payload, ..
            } if *n == node => adverts.push(payload.as_slice()),
            _ => {}
        }
    }
    (states, adverts)
}

/// Compare the two captures; `Err` says where they first disagree.
fn compare(v: &Variant, eq: &[Captured], tm: &[Captured]) -> Result<usize, String> {
    let mut transitions = 0;
    // (event time, turmoil time, node, from, to) of every transition.
    let mut times = Vec::new();
    for (n, plan) in v.nodes.iter().enumerate() {
        let (se, ae) = per_node(eq, n);
        let (st, at) = per_node(tm, n);
        let strip = |s: &[Transition]| -> Vec<(u32, State, State)> {
            s.iter().map(|&(_, i, f, t)| (i, f, t)).collect()
        };
        if strip(&se) != strip(&st) {
            return Err(format!(
                "{}: transitions differ\n  event:   {se:?}\n  turmoil: {st:?}",
                plan.name
            ));
        }
        for (e, t) in se.iter().zip(&st) {
            times.push((e.0, t.0, plan.name.as_str(), e.2, e.3));
        }
        // The same adverts in the same order. At most one more on either side, at the very end:
        // timers on 1 ms ticks fire up to a tick late, so the run's end can fall after one more
        // periodic advert in one world than in the other.
        if ae.len().abs_diff(at.len()) > 1 {
            return Err(format!(
                "{}: {} adverts (event) vs {} (turmoil)",
                plan.name,
                ae.len(),
                at.len()
            ));
        }
        if let Some(k) = ae.iter().zip(&at).position(|(a, b)| a != b) {
            return Err(format!(
                "{}: advert {k} differs: {:02x?} (event) vs {:02x?} (turmoil)",
                plan.name, ae[k], at[k]
            ));
        }
        transitions += se.len();
    }
    // Time: every transition within one tick of the other backend's. Before turmoil's
    // engines got exact times, each fractional timer on a causal chain added up to a tick
    // (3.8 ms after 7 preemptions in nopreempt-flap's weight-20).
    times.sort_by_key(|x| x.0);
    let mut elections = 0u32;
    for &(e, t, name, from, to) in &times {
        let d = e.max(t) - e.min(t);
        if d >= TOLERANCE {
            return Err(format!(
                "{name}: {from:?} -> {to:?} at {e} (event) vs {t} (turmoil): {d:?} apart, \
                 not within {TOLERANCE:?}, after {elections} election(s)"
            ));
        }
        if to == State::Master {
            elections += 1;
        }
    }
    Ok(transitions)
}

#[test]
fn backends_agree_on_every_experiment_with_a_fixed_latency() {
    use rayon::prelude::*;
    let mut jobs = Vec::new();
    for path in experiments() {
        let mut exp = load(&path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        exp.duration = exp.duration.min(MAX_DURATION);
        for k in 0..exp.variants.len() {
            jobs.push((path.clone(), exp.clone(), k));
        }
    }
    let results: Vec<Result<usize, String>> = jobs
        .par_iter()
        .map(|(path, exp, k)| {
            let v = on_fixed_network(&exp.variants[*k], LATENCY);
            let eq = capture(exp, &v, vrrp_sim::backend::event_queue::run);
            let tm = capture(exp, &v, vrrp_sim::backend::turmoil_backend::run);
            compare(&v, &eq, &tm)
                .map_err(|e| format!("{}, variant {}: {e}", path.display(), v.name))
        })
        .collect();
    let mut checked = 0;
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok(n) => assert!(n > 0, "no transitions to compare"),
            Err(e) => failures.push(e),
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        checked >= 2 * experiments().len().min(2),
        "only {checked} variants checked"
    );
}

#[test]
fn a_perturbed_latency_is_caught() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/seed-lab.toml");
    let exp = load(&path).expect("seed-lab");
    let v = &exp.variants[0];
    let eq = capture(
        &exp,
        &on_fixed_network(v, LATENCY),
        vrrp_sim::backend::event_queue::run,
    );
    // 4 ms on turmoil instead of 1 ms: the Backup's takeover after the stop moves by 3 ms.
    let tm = capture(
        &exp,
        &on_fixed_network(v, LATENCY * 4),
        vrrp_sim::backend::turmoil_backend::run,
    );
    let err = compare(v, &eq, &tm).expect_err("a 3 ms shift must be caught");
    assert!(err.contains("apart"), "{err}");
}

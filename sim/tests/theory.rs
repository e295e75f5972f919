//! The simulator against theory: takeover times equal the RFC formulas, and false-takeover
//! rates under independent loss fall within a 99 % confidence interval of
//! (3600 / interval) (1 - p) p^3 per hour.

use std::path::Path;
use std::time::Duration;
use vrrp_sim::backend::runner::{run_all, RunOptions};
use vrrp_sim::experiment::{load, Experiment};
use vrrp_sim::report::sweep::theory;

fn experiment(name: &str) -> Experiment {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../experiments")
        .join(name);
    load(&path).unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

#[test]
fn every_takeover_equals_the_rfc_formula() {
    let mut exp = experiment("failover-vs-advert.toml");
    exp.seeds = 0..5;
    let out = run_all(&exp, &RunOptions::default()).unwrap();
    assert_eq!(out.results.len(), exp.variants.len() * 5);
    for r in &out.results {
        // One takeover per run (the fault), plus possibly a start-up race, each with its theory.
        assert!(
            !r.takeover_after_last_advert.is_empty(),
            "{} seed {}: no takeover",
            r.variant,
            r.seed
        );
        assert_eq!(r.takeover_after_last_advert.len(), r.takeover_theory.len());
        for (m, t) in r.takeover_after_last_advert.iter().zip(&r.takeover_theory) {
            assert!(
                (m - t).abs() < 1e-6,
                "{} seed {}: measured {m} s, RFC {t} s",
                r.variant,
                r.seed
            );
        }
    }
    // The graceful takeovers are Skew_Time: v2 prio 100 is 156/256 s.
    let stop = out
        .results
        .iter()
        .find(|r| r.variant == "v2-1-s-stop-prio100")
        .unwrap();
    assert!(
        stop.takeover_theory.contains(&0.609375),
        "{:?}",
        stop.takeover_theory
    );
}

#[test]
fn false_takeover_rates_match_theory_within_a_99_percent_interval() {
    let mut exp = experiment("loss-false-takeover.toml");
    exp.duration = Duration::from_secs(1200);
    exp.seeds = 0..8;
    let picked = ["10ms-iid-10pct", "10ms-iid-20pct", "100ms-iid-20pct"];
    exp.variants.retain(|v| picked.contains(&v.name.as_str()));
    assert_eq!(exp.variants.len(), picked.len());
    let out = run_all(&exp, &RunOptions::default()).unwrap();
    for v in &exp.variants {
        let runs: Vec<_> = out.results.iter().filter(|r| r.variant == v.name).collect();
        let per_hour = theory("false_takeovers_per_hour", v, &runs).unwrap();
        let hours = exp.duration.as_secs_f64() / 3600.0 * runs.len() as f64;
        let expected = per_hour * hours;
        let observed: u64 = runs.iter().map(|r| r.split_brain_episodes).sum();
        // Poisson count: 99 % two-sided interval, normal approximation (expected >= 100 here).
        assert!(
            expected >= 100.0,
            "{}: too few expected events ({expected}) for the test to mean anything",
            v.name
        );
        let half = 2.576 * expected.sqrt();
        assert!(
            (observed as f64 - expected).abs() <= half,
            "{}: observed {observed} false takeovers, theory {expected:.1} +- {half:.1}",
            v.name
        );
    }
}

#[test]
fn bursty_loss_at_the_same_mean_rate_is_far_above_the_formula() {
    // Where the formula stops holding: bursts of lost adverts make takeovers much likelier.
    let mut exp = experiment("loss-false-takeover.toml");
    exp.duration = Duration::from_secs(600);
    exp.seeds = 0..2;
    exp.variants.retain(|v| v.name == "100ms-bursty-5pct");
    let out = run_all(&exp, &RunOptions::default()).unwrap();
    let observed: u64 = out.results.iter().map(|r| r.split_brain_episodes).sum();
    let iid = vrrp_sim::report::theory::false_takeovers_per_hour(Duration::from_millis(100), 0.05)
        * 2.0
        * 600.0
        / 3600.0;
    assert!(
        observed as f64 > 10.0 * iid,
        "bursty {observed} vs i.i.d. theory {iid:.2}"
    );
}

//! Shared helpers of the simulator's integration tests.
#![allow(dead_code)]

pub mod lab;

use vrrp_engine::{Instant, State};
use vrrp_sim::backend::RunSpec;
use vrrp_sim::experiment::Experiment;
use vrrp_sim::observe::metrics::{Captured, Recording, RunResult};

/// A backend's run function (`event_queue::run`, `turmoil_backend::run`).
pub type Run = fn(RunSpec<'_>) -> (RunResult, Option<Recording>);

/// One state change of a captured run.
#[derive(Clone, Copy, Debug)]
pub struct Change {
    /// When.
    pub at: Instant,
    /// Node index.
    pub node: usize,
    /// Instance index.
    pub instance: u32,
    /// Previous state.
    pub from: State,
    /// New state.
    pub to: State,
}

/// Every state change of `exp`'s first variant, seed 0, on `run`, after checking that no
/// invariant was violated.
pub fn state_changes(exp: &Experiment, run: Run) -> Vec<Change> {
    let (r, rec) = run(RunSpec {
        experiment: exp,
        variant: &exp.variants[0],
        seed: 0,
        record: true,
        capture: true,
        trace: false,
    });
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    rec.expect("recorded run")
        .captured
        .iter()
        .filter_map(|c| match *c {
            Captured::State {
                at,
                node,
                instance,
                from,
                to,
            } => Some(Change {
                at,
                node,
                instance,
                from,
                to,
            }),
            Captured::Transmit { .. } => None,
        })
        .collect()
}

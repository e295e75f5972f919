//! experiments/sync-group.toml in both backends: the members of the sync group move
//! together, at the exact times keepalived 2.2.7's rules give (1 ms latency, VRRPv2, 1 s
//! adverts; priorities 150 and 100).

mod support;

use std::path::Path;
use support::{state_changes, Run};
use vrrp_engine::State;
use vrrp_sim::backend::{event_queue, turmoil_backend};
use vrrp_sim::experiment::{load, Experiment};

fn experiment() -> Experiment {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/sync-group.toml");
    load(&file).expect("valid experiment")
}

/// Every state change as (node, instance, new state, time in ns).
fn changes(run: Run) -> Vec<(usize, u32, State, u64)> {
    state_changes(&experiment(), run)
        .iter()
        .map(|c| (c.node, c.instance, c.to, c.at.offset().as_nanos() as u64))
        .collect()
}

const INSIDE: u32 = 0;
const OUTSIDE: u32 = 1;
const R1: usize = 0;
const R2: usize = 1;

/// The story, with the times of each step: r1 takes both at `a`; its uplink check fails at
/// 11 s (first run after 10.5 s) and both members go FAULT; r2 takes both at `b`; the check
/// passes at 21 s, both Backup; r1 takes both back at `c`, r2 hands both over at `d`.
fn story(a: u64, b: u64, c: u64, d: u64) -> Vec<(usize, u32, State, u64)> {
    use State::*;
    vec![
        (R1, INSIDE, Backup, 0),
        (R1, OUTSIDE, Backup, 0),
        (R2, INSIDE, Backup, 0),
        (R2, OUTSIDE, Backup, 0),
        // The inside member's timer fires first and waits for the outside one
        // (`vrrp_sync_can_goto_master`), which fires at the same instant and takes it along.
        (R1, OUTSIDE, Master, a),
        (R1, INSIDE, Master, a),
        (R1, OUTSIDE, Fault, 11_000_000_000),
        (R1, INSIDE, Fault, 11_000_000_000),
        (R2, OUTSIDE, Master, b),
        (R2, INSIDE, Master, b),
        (R1, OUTSIDE, Backup, 21_000_000_000),
        (R1, INSIDE, Backup, 21_000_000_000),
        (R1, OUTSIDE, Master, c),
        (R1, INSIDE, Master, c),
        (R2, OUTSIDE, Backup, d),
        (R2, INSIDE, Backup, d),
    ]
}

#[test]
fn the_event_queue_moves_both_members_at_the_rfc_times() {
    // Master_Down_Interval at 150: 3 + 106/256 s; Skew_Time at 100: 156/256 s.
    assert_eq!(
        changes(event_queue::run),
        story(
            3_414_062_500,
            11_000_000_000 + 1_000_000 + 609_375_000,
            21_000_000_000 + 3_414_062_500,
            21_000_000_000 + 3_414_062_500 + 1_000_000,
        )
    );
}

#[test]
fn turmoil_moves_both_members_at_the_same_times_to_the_tick() {
    // turmoil's engines get exact times; its observer sees each at the 1 ms tick holding it:
    // the event queue's times rounded down to the ms.
    let to_tick = |t: u64| t - t % 1_000_000;
    let expected: Vec<_> = changes(event_queue::run)
        .into_iter()
        .map(|(n, i, s, t)| (n, i, s, to_tick(t)))
        .collect();
    assert_eq!(changes(turmoil_backend::run), expected);
    assert_eq!(
        expected,
        story(
            3_414_000_000,
            11_610_000_000,
            24_414_000_000,
            24_415_000_000
        )
    );
}

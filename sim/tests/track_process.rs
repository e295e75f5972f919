//! experiments/track-process.toml in both backends: a tracked process stops on the Master,
//! which goes FAULT when its `terminate_delay` (2 s) ends and hands the VIP over; the process
//! starts again and the Master leaves FAULT at once and preempts (1 ms latency, VRRPv2, 1 s
//! adverts; priorities 150 and 100).

mod support;

use std::path::Path;
use support::{state_changes, Run};
use vrrp_engine::State;
use vrrp_sim::backend::{event_queue, turmoil_backend};
use vrrp_sim::experiment::{load, Experiment};

fn experiment() -> Experiment {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/track-process.toml");
    load(&file).expect("valid experiment")
}

/// Every state change as (node, new state, time in ns).
fn changes(run: Run) -> Vec<(usize, State, u64)> {
    state_changes(&experiment(), run)
        .iter()
        .map(|c| (c.node, c.to, c.at.offset().as_nanos() as u64))
        .collect()
}

const R1: usize = 0;
const R2: usize = 1;

/// r1 Master at `a`; FAULT at 12 s (10 s + terminate_delay); r2 Master at `b`; r1 Backup at
/// 20 s (the process is back), Master at `c`; r2 Backup at `d`.
fn story(a: u64, b: u64, c: u64, d: u64) -> Vec<(usize, State, u64)> {
    use State::*;
    vec![
        (R1, Backup, 0),
        (R2, Backup, 0),
        (R1, Master, a),
        (R1, Fault, 12_000_000_000),
        (R2, Master, b),
        (R1, Backup, 20_000_000_000),
        (R1, Master, c),
        (R2, Backup, d),
    ]
}

#[test]
fn the_event_queue_moves_the_vip_at_the_exact_times() {
    // Master_Down_Interval at 150: 3 + 106/256 s; Skew_Time at 100: 156/256 s.
    assert_eq!(
        changes(event_queue::run),
        story(
            3_414_062_500,
            12_000_000_000 + 1_000_000 + 609_375_000,
            20_000_000_000 + 3_414_062_500,
            20_000_000_000 + 3_414_062_500 + 1_000_000,
        )
    );
}

#[test]
fn turmoil_moves_it_at_the_same_times_to_the_tick() {
    // turmoil's engines get exact times; its observer sees each at the 1 ms tick holding it:
    // the event queue's times rounded down to the ms.
    let to_tick = |t: u64| t - t % 1_000_000;
    let expected: Vec<_> = changes(event_queue::run)
        .into_iter()
        .map(|(n, s, t)| (n, s, to_tick(t)))
        .collect();
    assert_eq!(changes(turmoil_backend::run), expected);
    assert_eq!(
        expected,
        story(
            3_414_000_000,
            12_610_000_000,
            23_414_000_000,
            23_415_000_000
        )
    );
}

//! experiments/vmac-split-brain.toml in both backends: with `use_vmac` the switch follows the
//! last sender of the virtual MAC (adverts included), so the Master's advert that ends the
//! split brain also brings the clients back; plain GARP without lower-priority announcements
//! (and `vmac_xmit_base`, whose adverts leave the base) leaves them on the node that stepped
//! back until they re-resolve (30 s). 1 ms latency, VRRPv2, 1 s adverts, priorities 100 / 90,
//! partition Master -> Backup from 20 s to 25 s.

use std::path::Path;
use vrrp_sim::backend::{event_queue, turmoil_backend, RunSpec};
use vrrp_sim::experiment::{load, Experiment};
use vrrp_sim::observe::metrics::{Recording, RunResult};

fn experiment() -> Experiment {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/vmac-split-brain.toml");
    load(&file).expect("valid experiment")
}

type Run = fn(RunSpec<'_>) -> (RunResult, Option<Recording>);
/// (variant, blackhole s, split brain s).
type Row = (String, f64, f64);
/// (time, node) of a `switch` event.
type Move = (String, String);

/// Each variant's (name, blackhole s, split brain s), and the `switch` events of `show`
/// as (time, node).
fn results(run: Run, show: &str) -> (Vec<Row>, Vec<Move>) {
    let exp = experiment();
    let mut out = Vec::new();
    let mut moves = Vec::new();
    for v in &exp.variants {
        let (r, rec) = run(RunSpec {
            experiment: &exp,
            variant: v,
            seed: 0,
            record: true,
            capture: false,
            trace: false,
        });
        assert!(r.violations.is_empty(), "{}: {:?}", v.name, r.violations);
        out.push((v.name.clone(), r.blackhole, r.split_brain));
        if v.name == show {
            moves = rec
                .unwrap()
                .events
                .iter()
                .filter(|e| e.kind == "switch")
                .map(|e| (e.time_s.clone(), e.node.clone()))
                .collect();
        }
    }
    (out, moves)
}

fn row(name: &str, blackhole: f64, split: f64) -> Row {
    (name.to_string(), blackhole, split)
}

fn at(t: &str, node: &str) -> Move {
    (t.to_string(), node.to_string())
}

#[test]
fn event_queue_vmac_clients_follow_the_last_sender() {
    let (rows, moves) = results(event_queue::run, "vmac-no-lower-prio");
    // Backup takes over at 19.610375 + 3 + 166/256 = 23.2588125 s; the Master hears its
    // advert 1 ms later and answers (RFC 9568), which restarts its own Adver_Timer; after the
    // heal the Backup hears the Master's 25.2598125 s advert at 25.2608125 s and steps back.
    let split = 2.002;
    assert_eq!(
        rows,
        [
            row("garp", 0.0, split),
            row("garp-no-lower-prio", 30.0, split),
            row("vmac", 0.0, split),
            row("vmac-no-lower-prio", 0.0, split),
            row("vmac-xmit-base-no-lower-prio", 30.0, split),
        ]
    );
    assert_eq!(
        moves,
        [
            at("3.609375", "master"),
            at("23.258813", "backup"),
            at("23.259812", "master"),
            at("24.258813", "backup"),
            at("24.259812", "master"),
            at("25.258813", "backup"),
            at("25.259812", "master"),
        ]
    );
}

#[test]
fn turmoil_agrees_to_the_tick() {
    // turmoil's engines get exact times; its observer sees each at the 1 ms tick holding it:
    // the switch moves at the event queue's times rounded down to the ms, and each duration
    // within a tick of the event queue's.
    let (rows, moves) = results(turmoil_backend::run, "vmac-no-lower-prio");
    let (event_rows, event_moves) = results(event_queue::run, "vmac-no-lower-prio");
    let to_tick = |t: &str| {
        let us: u64 = t.replace('.', "").parse().expect("a time in µs");
        let ms = us / 1000;
        format!("{}.{:03}000", ms / 1000, ms % 1000)
    };
    let expected: Vec<Move> = event_moves
        .iter()
        .map(|(t, node)| (to_tick(t), node.clone()))
        .collect();
    assert_eq!(moves, expected);
    assert_eq!(moves[1], at("23.258000", "backup"));
    assert_eq!(rows.len(), event_rows.len());
    for (t, e) in rows.iter().zip(&event_rows) {
        assert_eq!(t.0, e.0);
        assert!((t.1 - e.1).abs() <= 0.001, "{t:?} vs {e:?}");
        assert!((t.2 - e.2).abs() <= 0.001, "{t:?} vs {e:?}");
    }
}

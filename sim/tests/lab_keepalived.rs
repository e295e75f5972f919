//! The simulator against keepalived 2.2.7 itself (issue 15, item 6): experiments run on a
//! namespace LAN with keepalived as every node's daemon (`sim lab --daemon keepalived`, traces
//! derived from its notify FIFO and captures) and by the simulator as the lab carried them out
//! (`<out>/sim-as-run`: keepalived has no `--start-at`, so its measured starts and the faults'
//! actual instants), then compared with `sim compare`'s default alignment: same transitions,
//! same advert bytes, takeovers within 5 ms. The simulation of the planned experiment (`sim
//! run`) is compared too, for the record. Needs root and keepalived (`/usr/sbin/keepalived`).
//! Each lab run is shortened to under 20 s.

mod support;

use std::path::{Path, PathBuf};
use support::lab::*;

/// This file's scratch directories: `vrrp-labka-test-PID-NAME`.
const TMP: &str = "vrrp-labka-test";

/// Root and keepalived are required: fail loudly rather than pass without running.
fn require_root_and_keepalived() {
    require_root();
    assert!(
        Path::new("/usr/sbin/keepalived").is_file(),
        "needs keepalived 2.2.7 (/usr/sbin/keepalived)"
    );
}

/// An experiment of `experiments/` edited by `(from, to)` replacements (each must apply),
/// written into `dir`.
fn edited(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    write_short(dir, name, &with_edits(name, experiment(name), edits))
}

/// `sim run` (traced) into `d/sim` and `sim lab --daemon keepalived` into `d/lab`, one
/// variant (or all); returns the lab's output.
fn run_both(d: &Path, file: &Path, variant: Option<&str>) -> String {
    run_sim_and_lab(d, file, variant, &["--daemon", "keepalived"])
}

/// `sim compare A d/lab` with `args`; returns (agreed, report).
fn compare(a: &Path, d: &Path, args: &[&str]) -> (bool, String) {
    let out = sim()
        .arg("compare")
        .arg(a)
        .arg(d.join("lab"))
        .args(args)
        .output()
        .unwrap();
    let text = show(&out);
    eprintln!("sim compare {}:\n{text}", args.join(" "));
    (out.status.success(), text)
}

/// Takeovers held to 5 ms (default alignment), every transition's order checked.
const TAKEOVERS: &[&str] = &["--tolerance", "5ms", "--takeovers-only"];

/// The lab against the simulation as it was carried out (held), after the record: every
/// transition, and the planned simulation with each transition timed from its node's start.
fn compare_all(d: &Path) -> String {
    compare(&d.join("sim"), d, &["--takeovers-only", "--align", "start"]);
    compare(&d.join("lab/sim-as-run"), d, &[]);
    let (ok, text) = compare(&d.join("lab/sim-as-run"), d, TAKEOVERS);
    assert!(ok, "{text}");
    text
}

#[test]
fn seed_lab_with_keepalived_agrees_with_the_simulator() {
    require_root_and_keepalived();
    let d = tmp(TMP, "seed");
    // 20 s: the Master stopped at 8 s, restarted at 12 s.
    let file = edited(
        &d,
        "seed-lab",
        &[
            ("duration = \"60s\"", "duration = \"20s\""),
            ("seeds = 20", "seeds = 1"),
            ("at = \"20s\"", "at = \"8s\""),
            ("at = \"40s\"", "at = \"12s\""),
        ],
    );
    let lab = run_both(&d, &file, None);
    assert!(
        lab.contains("Traces of keepalived nodes are derived"),
        "{lab}"
    );
    let note = std::fs::read_to_string(d.join("lab/derived-traces.txt")).unwrap();
    assert!(note.contains("vrrp_notify_fifo"), "{note}");
    for f in ["runs.csv", "summary.csv", "events.csv"] {
        assert!(d.join("lab").join(f).is_file(), "{f} missing");
    }
    let text = compare_all(&d);
    // The Backup takes over on the Master's priority-0 advert, the restarted Master takes
    // the VIP back (start, takeover, stop, start, takeover).
    assert!(
        text.contains("backup       2  VI_1       BACKUP->MASTER"),
        "{text}"
    );
    assert!(
        text.contains("master       5  VI_1       BACKUP->MASTER"),
        "{text}"
    );
    // The adverts keepalived sent (captured) are the simulated engine's, byte for byte:
    // priority 100, then priority 0 at the stop, then 100 again.
    assert!(
        text.contains("adverts master VI_1: 3 distinct in A, 3 in B, common prefix 3: same"),
        "{text}"
    );
}

/// `experiment` edited by `edits`, each of `variants` run by the simulator and with
/// keepalived on the LAN: the Backup's takeover agrees.
fn backup_takeover_agrees(experiment: &str, variants: &[&str], edits: &[(&str, &str)]) {
    require_root_and_keepalived();
    for &variant in variants {
        let d = tmp(TMP, variant);
        let file = edited(&d, experiment, edits);
        run_both(&d, &file, Some(variant));
        let text = compare_all(&d);
        assert!(
            text.contains("backup       2  VI_1       BACKUP->MASTER"),
            "{variant}: {text}"
        );
    }
}

/// failover-vs-advert without its jitter (the lab carries out the fault at its `at`), 15 s,
/// two variants a namespace LAN times well: a VRRPv2 hard kill at 1 s adverts and a VRRPv3
/// graceful stop at 100 ms adverts.
#[test]
fn failover_vs_advert_with_keepalived_agrees_with_the_simulator() {
    backup_takeover_agrees(
        "failover-vs-advert",
        &["v2-1-s-kill-prio100", "v3-100-ms-stop-prio200"],
        &[
            ("duration = \"20s\"", "duration = \"15s\""),
            ("seeds = 20", "seeds = 1"),
            ("jitter = \"1s\"\n", ""),
            ("jitter = \"100ms\"\n", ""),
            ("jitter = \"10ms\"\n", ""),
        ],
    );
}

/// partition-blackhole, a 5 s partition both ways and one way (Master -> Backup), moved to
/// 8 s .. 13 s of a 17 s run, the Master's start jitter removed: the Backup takes over during
/// the partition.
#[test]
fn partition_blackhole_with_keepalived_agrees_with_the_simulator() {
    backup_takeover_agrees(
        "partition-blackhole",
        &["two-way-rfc9568-5s", "one-way-rfc9568-5s"],
        &[
            ("duration = \"90s\"", "duration = \"17s\""),
            ("seeds = 10", "seeds = 1"),
            ("start_jitter = \"5s\"\n", ""),
            ("at = \"20s\"", "at = \"8s\""),
            ("at = \"25s\"", "at = \"13s\""),
        ],
    );
}

/// What keepalived cannot do is refused before anything starts: a priority change (it has no
/// command for it), named with the fault.
#[test]
fn keepalived_lab_refuses_a_priority_fault_before_starting() {
    require_root_and_keepalived();
    let d = tmp(TMP, "refuse");
    let file = edited(
        &d,
        "seed-lab",
        &[(
            "# docker exec keepalived-master pkill keepalived",
            "[[timeline]]\nat = \"5s\"\naction = \"priority\"\nnode = \"backup\"\npriority = 200\n",
        )],
    );
    let out = sim()
        .arg("lab")
        .arg(&file)
        .args(["--daemon", "keepalived", "--out"])
        .arg(d.join("lab"))
        .output()
        .unwrap();
    let text = show(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("cannot be done here: priority at 5s: keepalived has no command"),
        "{text}"
    );
    assert!(!text.contains("lab: bridge namespace"), "{text}");
}

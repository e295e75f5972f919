//! `sim compare` on hand-written traces: agreement, a missing transition, a time beyond the
//! tolerance, different advert bytes; and `sim run --trace` compared with itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sim"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vrrp-compare-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn state(t: f64, from: &str, to: &str) -> String {
    format!(
        "{{\"t\":{t},\"node\":\"A\",\"kind\":\"state\",\"instance\":\"VI_1\",\"vrid\":51,\"from\":\"{from}\",\"to\":\"{to}\",\"reason\":{{\"kind\":\"startup\"}},\"priority\":100}}\n"
    )
}

fn tx(t: f64, hex: &str) -> String {
    format!(
        "{{\"t\":{t},\"node\":\"A\",\"kind\":\"tx\",\"instance\":\"VI_1\",\"interface\":\"eth0\",\"src\":\"10.0.0.1\",\"dst\":\"224.0.0.18\",\"ttl\":255,\"hex\":\"{hex}\"}}\n"
    )
}

const ADV: &str = "213364010101f81f0a0102647365637265743100";
const ADV0: &str = "213300010101f8820a0102647365637265743100";

/// A reference trace of node `a` with an offset of its clock.
fn reference(off: f64) -> String {
    [
        state(off, "INIT", "BACKUP"),
        state(off + 3.6, "BACKUP", "MASTER"),
        tx(off + 3.6, ADV),
        tx(off + 4.6, ADV),
        tx(off + 5.6, ADV),
        state(off + 8.0, "MASTER", "INIT"),
        tx(off + 8.0, ADV0),
    ]
    .concat()
}

fn write(dir: &Path, side: &str, text: &str) -> PathBuf {
    let d = dir.join(side);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("a.jsonl"), text).unwrap();
    d
}

fn compare(a: &Path, b: &Path) -> (Output, String) {
    let out = sim().arg("compare").arg(a).arg(b).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

#[test]
fn agreeing_traces_exit_0_and_print_the_alignment() {
    let d = tmp("agree");
    // B sent two more identical adverts.
    let b = [reference(0.0), tx(9.0, ADV0), tx(10.0, ADV0)].concat();
    let (out, text) = compare(&write(&d, "a", &reference(0.0)), &write(&d, "b", &b));
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("tolerance: 2.000 ms (held: every transition)"),
        "{text}"
    );
    assert!(text.contains("none: times as written"), "{text}");
    assert!(text.contains("AGREE"), "{text}");
}

#[test]
fn a_clock_offset_disagrees_by_default_and_agrees_aligned_on_the_first_transition() {
    let d = tmp("offset");
    // B started 1.234 s later on its own clock: a daemon started by hand.
    let (a, b) = (
        write(&d, "a", &reference(0.0)),
        write(&d, "b", &reference(1.234)),
    );
    let (out, text) = compare(&a, &b);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("B-A = 1234.000 ms"), "{text}");
    let out = sim()
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .args(["--align", "first"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("earliest state transition"), "{text}");
}

#[test]
fn a_missing_transition_exits_1() {
    let d = tmp("missing");
    let b = reference(0.0).replace(&state(8.0, "MASTER", "INIT"), "");
    let (out, text) = compare(&write(&d, "a", &reference(0.0)), &write(&d, "b", &b));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("transition #3 (VI_1 MASTER->INIT at 8.000000 s) is in A but missing in B"),
        "{text}"
    );
}

#[test]
fn a_time_beyond_the_tolerance_exits_1() {
    let d = tmp("late");
    let b = reference(0.0).replace(
        &state(3.6, "BACKUP", "MASTER"),
        &state(3.607, "BACKUP", "MASTER"),
    );
    let (out, text) = compare(&write(&d, "a", &reference(0.0)), &write(&d, "b", &b));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("TOO FAR"), "{text}");
    assert!(
        text.contains("B-A = 7.000 ms, beyond the tolerance of 2.000 ms"),
        "{text}"
    );
    // A wider tolerance accepts it.
    let out = sim()
        .arg("compare")
        .arg(d.join("a"))
        .arg(d.join("b"))
        .args(["--tolerance", "10ms"])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn different_advert_bytes_exit_1() {
    let d = tmp("bytes");
    let other = "213364010101f81f0a0102657365637265743100";
    let b = reference(0.0).replace(ADV, other);
    let (out, text) = compare(&write(&d, "a", &reference(0.0)), &write(&d, "b", &b));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "instance VI_1: distinct advert #1 differs: A {ADV} vs B {other}"
        )),
        "{text}"
    );
}

#[test]
fn sim_run_traces_are_deterministic_and_agree_with_themselves() {
    let d = tmp("runs");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/seed-lab.toml");
    for side in ["x", "y"] {
        let out = sim()
            .arg("run")
            .arg(&file)
            .arg("--out")
            .arg(d.join(side))
            .arg("--trace")
            .arg(d.join(side).join("trace"))
            .args(["--seeds", "1", "--no-plots"])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let p = |s: &str| d.join(s).join("trace/baseline/master.jsonl");
    let (x, y) = (
        std::fs::read(p("x")).unwrap(),
        std::fs::read(p("y")).unwrap(),
    );
    assert_eq!(x, y);
    let text = String::from_utf8(x).unwrap();
    assert!(text.contains("\"kind\":\"state\""));
    assert!(text.contains("\"node\":\"master\""));
    let (out, text) = compare(&d.join("x"), &d.join("y"));
    assert!(out.status.success(), "{text}");
}

#[test]
fn start_alignment_times_each_transition_from_its_daemons_latest_start() {
    // The node restarts at 10 s; in B its daemon took 6 ms longer to start, and everything
    // after is 6 ms late on the shared clock but on time from its own start.
    let d = tmp("restart");
    let restart = |late: f64| {
        [
            reference(0.0),
            state(10.0 + late, "INIT", "BACKUP"),
            state(13.6 + late, "BACKUP", "MASTER"),
        ]
        .concat()
    };
    let (a, b) = (
        write(&d, "a", &restart(0.0)),
        write(&d, "b", &restart(0.006)),
    );
    let run = |align: &str| {
        sim()
            .arg("compare")
            .arg(&a)
            .arg(&b)
            .args(["--align", align])
            .output()
            .unwrap()
    };
    let none = run("none");
    assert_eq!(
        none.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&none.stdout)
    );
    let start = run("start");
    let text = String::from_utf8_lossy(&start.stdout);
    assert!(start.status.success(), "{text}");
    assert!(text.contains("clock alignment: start"), "{text}");
}

#[test]
fn a_sim_run_output_without_traces_says_to_add_trace() {
    let d = tmp("untraced");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/seed-lab.toml");
    let out = sim()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(d.join("run"))
        .args(["--seeds", "1", "--no-plots"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (out, text) = compare(&d.join("run"), &d.join("run"));
    assert_eq!(out.status.code(), Some(1), "{text}");
    let trace = d.join("run").join("trace");
    assert!(
        text.contains("written without --trace")
            && text.contains(&format!("--trace {}", trace.display())),
        "{text}"
    );
    // A folder that is no `sim run` output gets the general hint.
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (out, text) = compare(&empty, &empty);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("no .jsonl trace files found") && !text.contains("without --trace"),
        "{text}"
    );
}

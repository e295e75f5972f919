//! The turmoil backend end to end: byte-identical CSV whatever the thread count, IPv6 over
//! ff02::12, the faults mapped onto turmoil (partition, link down, kill, restart) against the
//! event queue, the refusal of what turmoil cannot model, and the cost estimate.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{state_changes, Run};
use vrrp_sim::backend::{event_queue, turmoil_backend};
use vrrp_sim::experiment::{load, parse};

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vrrp-sim-tm-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn sim_run(file: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let o = Command::new(env!("CARGO_BIN_EXE_sim"))
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(out)
        .args(["--backend", "turmoil", "--no-plots"])
        .args(extra)
        .output()
        .expect("sim runs");
    assert!(
        o.status.success(),
        "sim run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn a_turmoil_run_is_reproducible_whatever_the_thread_count() {
    // seed-lab on a lossy, jittery LAN, so that the seeded random numbers matter.
    let text = std::fs::read_to_string(repo("experiments/seed-lab.toml"))
        .unwrap()
        .replace(
            "latency = { min = \"50us\", max = \"500us\" }",
            "latency = { min = \"1ms\", max = \"30ms\" }\nloss = 0.3",
        )
        .replace("duration = \"60s\"", "duration = \"45s\"");
    assert!(text.contains("loss = 0.3"));
    let dir = tmp("repro");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lossy-lab.toml");
    std::fs::write(&file, text).unwrap();
    let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
    sim_run(&file, &a, &["--threads", "1", "--seeds", "4"]);
    sim_run(&file, &b, &["--threads", "2", "--seeds", "4"]);
    sim_run(&file, &c, &["--threads", "2", "--seeds", "4"]);
    for f in ["runs.csv", "summary.csv", "events.csv"] {
        let x = std::fs::read(a.join(f)).unwrap();
        assert!(x.len() > 200, "{f} is too small to mean anything");
        assert_eq!(x, std::fs::read(b.join(f)).unwrap(), "{f}: 1 vs 2 threads");
        assert_eq!(x, std::fs::read(c.join(f)).unwrap(), "{f}: two runs");
    }
    // The seeds behave differently (the loss is drawn from each run's RNG).
    let runs = std::fs::read_to_string(a.join("runs.csv")).unwrap();
    let rows: Vec<&str> = runs
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap().1.split_once(',').unwrap().1)
        .collect();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter().any(|r| r != &rows[0]),
        "every seed gave the same row: {rows:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

const NODE: &str = r#"
[[nodes]]
name = "NAME"
address = "ADDR"
config = """
vrrp_instance VI_1 {
    state STATE
    interface eth0
    virtual_router_id 51
    priority PRIO
    version 3
    advert_int 1
    virtual_ipaddress {
        VIP
    }
}
"""
"#;

fn node(name: &str, addr: &str, state: &str, prio: u8, vip: &str) -> String {
    NODE.replace("NAME", name)
        .replace("ADDR", addr)
        .replace("STATE", state)
        .replace("PRIO", &prio.to_string())
        .replace("VIP", vip)
}

/// Transitions (node, from, to, µs) of one run on `run`.
fn transitions(text: &str, run: Run) -> Vec<(usize, String, String, u128)> {
    let exp = parse(Path::new("t.toml"), text).expect("valid experiment");
    state_changes(&exp, run)
        .iter()
        .map(|c| {
            (
                c.node,
                c.from.as_str().to_string(),
                c.to.as_str().to_string(),
                c.at.offset().as_micros(),
            )
        })
        .collect()
}

fn same_story(text: &str) -> Vec<(usize, String, String, u128)> {
    let e = transitions(text, event_queue::run);
    let t = transitions(text, turmoil_backend::run);
    let strip = |v: &[(usize, String, String, u128)]| -> Vec<(usize, String, String)> {
        v.iter().map(|x| (x.0, x.1.clone(), x.2.clone())).collect()
    };
    assert_eq!(strip(&e), strip(&t), "event {e:?}\nturmoil {t:?}");
    // Within one tick, whatever the number of elections (the rule of backend_agreement.rs:
    // engines get exact times on both backends; turmoil's observer sees them at their tick).
    for (x, y) in e.iter().zip(&t) {
        assert!(x.3.abs_diff(y.3) < 1000, "event {x:?} vs turmoil {y:?}");
    }
    t
}

#[test]
fn ipv6_adverts_travel_to_ff02_12_and_a_stop_hands_over() {
    let text = format!(
        "name = \"v6\"\nduration = \"12s\"\n[network]\nlatency = \"1ms\"\n{}{}\n[[timeline]]\nat = \"8s\"\naction = \"stop\"\nnode = \"a\"\n",
        node("a", "172.20.0.11", "MASTER", 200, "fd00::100/64"),
        node("b", "172.20.0.12", "BACKUP", 100, "fd00::100/64"),
    );
    let t = same_story(&text);
    // b takes over after a's priority-0 advert: Skew_Time = 156/256 s after it arrives.
    let last = t.last().unwrap();
    assert_eq!((last.0, last.2.as_str()), (1, "MASTER"), "{t:?}");
    assert!((8_600_000..=8_612_000).contains(&last.3), "{t:?}");
}

#[test]
fn partition_link_down_kill_and_restart_match_the_event_queue() {
    let mut text = format!(
        "name = \"faults\"\nduration = \"40s\"\n[network]\nlatency = \"1ms\"\n{}{}{}",
        node("a", "172.20.0.11", "MASTER", 200, "172.20.0.100/24"),
        node("b", "172.20.0.12", "BACKUP", 150, "172.20.0.100/24"),
        node("c", "172.20.0.13", "BACKUP", 100, "172.20.0.100/24"),
    );
    for (at, action, extra) in [
        ("5s", "partition", "groups = [[\"a\"], [\"b\", \"c\"]]"),
        ("10s", "heal", ""),
        ("15s", "link_down", "node = \"a\""),
        ("20s", "link_up", "node = \"a\""),
        ("25s", "kill", "node = \"a\""),
        ("32s", "restart", "node = \"a\""),
    ] {
        text += &format!("\n[[timeline]]\nat = \"{at}\"\naction = \"{action}\"\n{extra}\n");
    }
    let t = same_story(&text);
    // b became Master in the partition, under link down and after the kill.
    let b_master = t.iter().filter(|x| x.0 == 1 && x.2 == "MASTER").count();
    assert_eq!(b_master, 3, "{t:?}");
}

#[test]
fn what_turmoil_cannot_model_is_refused_by_name() {
    let text = format!(
        "name = \"mixed\"\nduration = \"5s\"\n{}{}",
        node("a", "172.20.0.11", "MASTER", 200, "fd00::100/64"),
        node("b", "172.20.0.12", "BACKUP", 100, "172.20.0.100/24"),
    );
    let exp = parse(Path::new("t.toml"), &text).expect("valid experiment");
    let err = turmoil_backend::validate(&exp).expect_err("mixed families");
    assert!(err.contains("IPv4 and IPv6"), "{err}");
}

#[test]
fn the_cost_estimate_flags_sweeps_not_single_runs() {
    let lab = load(&repo("experiments/seed-lab.toml")).unwrap();
    assert!(turmoil_backend::estimate(&lab, 1, 1).as_secs_f64() < 10.0);
    let flap = load(&repo("experiments/nopreempt-flap.toml")).unwrap();
    let sweep = turmoil_backend::estimate(&flap, 1000, 2).as_secs_f64();
    // 2 hosts x 3.6 M ticks x 500 waves of runs: hours, not seconds.
    assert!(sweep > 3600.0, "{sweep}");
}

//! `sim run` end to end: determinism across thread counts, positioned errors, invariants.

use std::path::{Path, PathBuf};
use std::process::Command;

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sim"))
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vrrp-sim-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run_to(dir: &Path, file: &Path, extra: &[&str]) -> std::process::Output {
    let out = sim()
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(dir)
        .args(extra)
        .output()
        .expect("sim runs");
    assert!(
        out.status.success(),
        "sim run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn same_file_and_seeds_give_byte_identical_csv_whatever_the_thread_count() {
    let file = repo("experiments/nopreempt-flap.toml");
    let (a, b, c) = (tmp("det-a"), tmp("det-b"), tmp("det-c"));
    run_to(
        &a,
        &file,
        &["--threads", "1", "--seeds", "12", "--no-plots"],
    );
    run_to(
        &b,
        &file,
        &["--threads", "2", "--seeds", "12", "--no-plots"],
    );
    run_to(
        &c,
        &file,
        &["--threads", "2", "--seeds", "12", "--no-plots"],
    );
    for f in ["runs.csv", "summary.csv", "events.csv"] {
        let x = std::fs::read(a.join(f)).unwrap();
        assert!(x.len() > 200, "{f} is too small to mean anything");
        assert_eq!(
            x,
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between 1 and 2 threads"
        );
        assert_eq!(
            x,
            std::fs::read(c.join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
    let runs = std::fs::read_to_string(a.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 5 * 12);
    for d in [a, b, c] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn lvs_csv_files_are_byte_identical_whatever_the_thread_count_and_plots_are_written() {
    let file = repo("experiments/lvs-checks.toml");
    let (a, b) = (tmp("lvs-a"), tmp("lvs-b"));
    run_to(&a, &file, &["--threads", "1", "--seeds", "2"]);
    run_to(&b, &file, &["--threads", "2", "--seeds", "2", "--no-plots"]);
    for f in [
        "lvs_detections.csv",
        "lvs_clients.csv",
        "summary.csv",
        "events.csv",
    ] {
        let x = std::fs::read(a.join(f)).unwrap();
        assert!(x.len() > 200, "{f} is too small to mean anything");
        assert_eq!(x, std::fs::read(b.join(f)).unwrap(), "{f} differs");
    }
    let det = std::fs::read_to_string(a.join("lvs_detections.csv")).unwrap();
    // 9 variants x 2 seeds x 10 faults x 2 directors, and seed-alpha's start-ups (2 real
    // servers x 2 directors x 2 seeds).
    assert_eq!(det.lines().count(), 1 + 9 * 2 * 10 * 2 + 2 * 2 * 2);
    assert!(
        !det.lines().any(|l| l.split(',').any(|c| c == "no")),
        "a time outside the formula:\n{det}"
    );
    for f in ["lvs_detection.png", "lvs_recovery.png", "lvs_errors.png"] {
        let bytes = std::fs::read(a.join(f)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{f}");
        assert!(bytes.len() > 20_000, "{f} looks empty");
    }
    for d in [a, b] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn replay_of_one_seed_and_variant_matches_its_row() {
    let file = repo("experiments/nopreempt-flap.toml");
    let all = tmp("replay-all");
    run_to(&all, &file, &["--seeds", "4", "--no-plots"]);
    let one = tmp("replay-one");
    run_to(
        &one,
        &file,
        &["--seed", "3", "--variant", "weight-20", "--no-plots"],
    );
    let row = |p: &Path| {
        std::fs::read_to_string(p.join("runs.csv"))
            .unwrap()
            .lines()
            .find(|l| l.starts_with("weight-20,3,"))
            .map(str::to_string)
    };
    let replayed = one.join("replay-weight-20-3");
    assert!(row(&all).is_some());
    assert_eq!(row(&all), row(&replayed));
    let _ = std::fs::remove_dir_all(all);
    let _ = std::fs::remove_dir_all(one);
}

#[test]
fn plots_are_written() {
    let dir = tmp("plots");
    run_to(&dir, &repo("experiments/seed-lab.toml"), &[]);
    for f in ["timeline_baseline.png", "distributions.png"] {
        let bytes = std::fs::read(dir.join(f)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{f}");
        assert!(bytes.len() > 10_000, "{f} looks empty");
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn error_of(toml: &str) -> String {
    let dir = tmp(&format!("err-{}", toml.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(&file, toml).unwrap();
    let out = sim()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(out.stderr)
        .unwrap()
        .replace(&file.display().to_string(), "FILE")
}

const NODE: &str = r#"
[[nodes]]
name = "a"
address = "10.0.0.1"
config = """
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.100
    }
}
"""
"#;

#[test]
fn unknown_field_is_an_error_with_its_position() {
    let e = error_of(&format!(
        "name = \"x\"\nduration = \"1s\"\nseedz = 3\n{NODE}"
    ));
    assert!(
        e.starts_with("FILE:3:1: error: unknown field `seedz`"),
        "{e}"
    );
}

#[test]
fn unknown_latency_key_is_an_error() {
    let e = error_of(&format!(
        "name = \"x\"\nduration = \"1s\"\n[network]\nlatency = {{ min = \"1ms\", max = \"2ms\", mean = \"1ms\" }}\n{NODE}"
    ));
    assert!(e.starts_with("FILE:4:11: error:"), "{e}");
}

#[test]
fn bad_duration_is_an_error_with_its_position() {
    let e = error_of(&format!("name = \"x\"\nduration = \"ten seconds\"\n{NODE}"));
    assert!(
        e.starts_with("FILE:2:12: error: bad duration \"ten seconds\""),
        "{e}"
    );
}

#[test]
fn unknown_node_in_the_timeline_suggests_one() {
    let e = error_of(&format!("name = \"x\"\nduration = \"1s\"\n{NODE}\n[[timeline]]\nat = \"1s\"\naction = \"kill\"\nnode = \"b\"\n"));
    assert!(e.contains("error: unknown node \"b\""), "{e}");
    let line: usize = e.split(':').nth(1).unwrap().parse().unwrap();
    assert_eq!(line, 17, "the [[timeline]] entry: {e}");
}

#[test]
fn inline_keepalived_errors_point_into_the_toml_file() {
    let bad = NODE.replace("virtual_router_id 51", "virtual_router_id 300");
    let e = error_of(&format!("name = \"x\"\nduration = \"1s\"\n{bad}"));
    // `config = """` is line 7, so the config's line 3 (the VRID) is line 10; the value 300
    // starts at column 23.
    assert!(e.starts_with("FILE:10:23: error:"), "{e}");
    assert!(e.contains("virtual_router_id"), "{e}");
}

#[test]
fn nopreempt_with_state_master_is_refused_in_a_variant() {
    let e = error_of(&format!(
        "name = \"x\"\nduration = \"1s\"\n{}\n[[variants]]\nname = \"v\"\n[variants.nodes.a]\nnopreempt = true\n",
        NODE.replace("interface eth0", "state MASTER\n    interface eth0")
    ));
    assert!(
        e.contains("nopreempt on VI_1 has no effect with state MASTER"),
        "{e}"
    );
}

#[test]
fn preempt_delay_with_state_master_is_refused_in_a_variant() {
    let e = error_of(&format!(
        "name = \"x\"\nduration = \"1s\"\n{}\n[[variants]]\nname = \"v\"\n[variants.nodes.a]\npreempt_delay = \"5s\"\n",
        NODE.replace("interface eth0", "state MASTER\n    interface eth0")
    ));
    assert!(
        e.contains("preempt_delay on VI_1 has no effect with state MASTER"),
        "{e}"
    );
}

#[test]
fn a_real_split_brain_on_a_healthy_lan_is_an_invariant_violation_with_a_replay_command() {
    // Unicast peers that do not list each other: both become Master on a healthy LAN
    // (keepalived users' pain #1). The invariant must catch it.
    let node = |name: &str, addr: &str, peer: &str, prio: u8| {
        format!(
            "[[nodes]]\nname = \"{name}\"\naddress = \"{addr}\"\nconfig = \"\"\"\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority {prio}\n    unicast_src_ip {addr}\n    unicast_peer {{\n        {peer}\n    }}\n    virtual_ipaddress {{\n        10.0.0.100\n    }}\n}}\n\"\"\"\n"
        )
    };
    let text = format!(
        "name = \"split\"\nduration = \"20s\"\n{}{}",
        node("a", "10.0.0.1", "10.0.0.9", 100),
        node("b", "10.0.0.2", "10.0.0.8", 90)
    );
    let dir = tmp("split");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("split.toml");
    std::fs::write(&file, text).unwrap();
    let out = sim()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--no-plots")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("invariant violated: single-master"), "{err}");
    assert!(
        err.contains(&format!(
            "replay: sim run {} --seed 0 --variant baseline",
            file.display()
        )),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn reload_experiment_shows_the_four_cases_with_exact_times() {
    let dir = tmp("reload");
    run_to(
        &dir,
        &repo("experiments/reload.toml"),
        &["--seeds", "1", "--no-plots"],
    );
    let events = std::fs::read_to_string(dir.join("events.csv")).unwrap();
    let rows = |variant: &str| -> Vec<String> {
        events
            .lines()
            .filter(|l| l.starts_with(&format!("{variant},")))
            .filter(|l| l.contains(",state,") || l.contains(",vip_del,"))
            .map(str::to_string)
            .collect()
    };
    let after = |variant: &str| -> Vec<String> {
        rows(variant)
            .into_iter()
            .filter(|l| l.split(',').nth(1).unwrap().parse::<f64>().unwrap() >= 15.0)
            .collect()
    };
    // Only global_defs change: nothing moves.
    assert_eq!(after("global-only"), Vec::<String>::new());
    // The Backup reloads with priority 200 at 15 s: BACKUP -> MASTER after its new
    // Master_Down_Interval, 3 + 56/256 s, with no INIT on the way.
    let raised = after("backup-priority-raised");
    assert!(
        raised[0].starts_with(
            "backup-priority-raised,18.218750,backup,state,VI_1 BACKUP -> MASTER (master down timer) prio 200"
        ),
        "{raised:?}"
    );
    assert!(!raised.iter().any(|l| l.contains("INIT")), "{raised:?}");
    // The Master loses VI_1: it releases the VIP at once and the Backup takes over after
    // Skew_Time, 156/256 s, plus the advert's latency.
    let removed = after("instance-removed");
    assert!(
        removed[0].starts_with("instance-removed,15.000000,master,vip_del,"),
        "{removed:?}"
    );
    assert!(
        removed[1].contains("VI_1 MASTER -> INIT (removed by reload)"),
        "{removed:?}"
    );
    let takeover: f64 = removed[2].split(',').nth(1).unwrap().parse().unwrap();
    assert!(
        removed[2].contains("backup,state,VI_1 BACKUP -> MASTER")
            && (takeover - 15.609375).abs() < 0.001,
        "{removed:?}"
    );
    // The Backup gains VI_2: it starts at the reload and is Master of VRID 52 one
    // Master_Down_Interval later; VI_1 does not move.
    let added = after("instance-added");
    assert_eq!(
        added,
        vec![
            "instance-added,15.000000,backup,state,VI_2 INIT -> BACKUP (startup) prio 100",
            "instance-added,18.609375,backup,state,VI_2 BACKUP -> MASTER (master down timer) prio 100",
        ]
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn reload_config_errors_point_into_the_toml_file() {
    let e = error_of(&format!(
        "name = \"x\"\nduration = \"1s\"\n{NODE}\n[[timeline]]\nat = \"1s\"\naction = \"reload\"\nnode = \"a\"\nconfig = \"\"\"\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 999\n}}\n\"\"\"\n"
    ));
    // `config = """` is line 21: the config's line 3 (the VRID) is line 24; the value 999
    // starts at column 23.
    assert!(e.starts_with("FILE:24:23: error:"), "{e}");
    assert!(e.contains("virtual_router_id"), "{e}");
    let e = error_of(&format!(
        "name = \"x\"\nduration = \"1s\"\n{NODE}\n[[timeline]]\nat = \"1s\"\naction = \"reload\"\nnode = \"a\"\n"
    ));
    assert!(e.contains("a reload needs config"), "{e}");
}

#[test]
fn a_reload_can_add_an_instance_on_a_new_interface_in_both_backends() {
    let toml = format!(
        "name = \"x\"\nduration = \"8s\"\nseeds = 1\n{NODE}\n[[timeline]]\nat = \"2s\"\naction = \"reload\"\nnode = \"a\"\nconfig = \"\"\"\n\
         vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {{\n        10.0.0.100\n    }}\n}}\n\
         vrrp_instance VI_2 {{\n    interface eth1\n    virtual_router_id 52\n    virtual_ipaddress {{\n        10.0.0.101\n    }}\n}}\n\"\"\"\n"
    );
    for backend in ["event", "turmoil"] {
        let dir = tmp(&format!("new-iface-{backend}"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("x.toml");
        std::fs::write(&file, &toml).unwrap();
        run_to(
            &dir.join("out"),
            &file,
            &["--no-plots", "--backend", backend],
        );
        let events = std::fs::read_to_string(dir.join("out/events.csv")).unwrap();
        assert!(
            events.contains("2.000000,a,state,VI_2 INIT -> BACKUP (startup)"),
            "{backend}: {events}"
        );
        assert!(
            events.contains("a,state,VI_2 BACKUP -> MASTER (master down timer)"),
            "{backend}: {events}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

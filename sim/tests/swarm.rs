//! `sim swarm` end to end: byte-identical output whatever the thread count, the shipped
//! experiments run clean, broken configurations are found, shrunk to the fewest faults and
//! nodes, and written as files `sim run` replays; exit statuses 0, 1 and 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sim"))
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vrrp-swarm-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn swarm(file: &Path, out: &Path, extra: &[&str]) -> Output {
    sim()
        .arg("swarm")
        .arg(file)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("sim runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A v2 node of VRID 51 on 10.0.0.0/24 with `auth_pass`, as an experiment's `[[nodes]]`.
fn node(name: &str, addr: &str, prio: u8, body: &str) -> String {
    format!(
        "[[nodes]]\nname = \"{name}\"\naddress = \"{addr}\"\nconfig = '''\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority {prio}\n    advert_int 1\n{body}    virtual_ipaddress {{\n        10.0.0.100/24\n    }}\n}}\n'''\n"
    )
}

#[test]
fn same_file_runs_and_seed_give_byte_identical_output_whatever_the_thread_count() {
    let file = repo("experiments/seed-lab.toml");
    let dir = tmp("det");
    let a = swarm(
        &file,
        &dir,
        &["--runs", "300", "--seed", "11", "--threads", "1"],
    );
    let b = swarm(
        &file,
        &dir,
        &["--runs", "300", "--seed", "11", "--threads", "2"],
    );
    let c = swarm(
        &file,
        &dir,
        &["--runs", "300", "--seed", "12", "--threads", "2"],
    );
    assert_eq!(a.status.code(), Some(0), "{}", text(&a.stderr));
    assert_eq!(text(&a.stdout), text(&b.stdout));
    assert_ne!(
        text(&a.stdout),
        text(&c.stdout),
        "another seed, other schedules"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_seed_lab_passes_a_few_hundred_schedules_of_every_fault_kind() {
    let dir = tmp("seedlab");
    let out = swarm(&repo("experiments/seed-lab.toml"), &dir, &["--runs", "400"]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}{}", text(&out.stderr));
    assert!(
        s.contains("cases with an invariant violation: 0 of 400"),
        "{s}"
    );
    // Every kind the seed lab has what it needs for was drawn (no tracked process, no
    // real server there).
    for k in [
        "stop",
        "kill",
        "restart",
        "partition",
        "one_way_partition",
        "loss",
        "burst",
        "latency",
        "link_flap",
        "check_fail",
        "check_flap",
        "priority",
        "reload",
    ] {
        assert!(
            s.lines().any(|l| l.split_whitespace().next() == Some(k)),
            "{k} missing from\n{s}"
        );
    }
    assert!(!s.contains("\nprocess "), "{s}");
    // The timed invariants had settled periods and quiet time to look at.
    assert!(s.contains("timed invariants: settled checks ran"), "{s}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The CI run: a few thousand one-minute schedules of the seed lab (well under 30 s).
#[test]
fn a_ci_run_of_five_thousand_schedules_of_the_seed_lab_is_clean() {
    let dir = tmp("ci");
    let out = swarm(
        &repo("experiments/seed-lab.toml"),
        &dir,
        &["--runs", "5000", "--seed", "2026"],
    );
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}{}", text(&out.stderr));
    assert!(
        s.contains("cases with an invariant violation: 0 of 5000"),
        "{s}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_shipped_experiment_runs_clean() {
    let dir = tmp("shipped");
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("experiments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for f in files {
        let out = swarm(&f, &dir, &["--runs", "100", "--seed", "5"]);
        let s = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {s}{}",
            f.display(),
            text(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_unicast_peer_typo_is_found_shrunk_and_replayed_by_sim_run() {
    // a's unicast_peer says 10.0.0.3 for 10.0.0.2: b never hears a and takes over too; a
    // hears b's lower priority and stays Master (keepalived 2.2.7 accepts unlisted sources
    // without check_unicast_src, so only a typo on the sending side splits the brain).
    let dir = tmp("typo");
    let file = dir.join("typo.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"typo\"\nduration = \"60s\"\n{}{}",
            node(
                "a",
                "10.0.0.1",
                100,
                "    unicast_src_ip 10.0.0.1\n    unicast_peer {\n        10.0.0.3\n    }\n"
            ),
            node(
                "b",
                "10.0.0.2",
                90,
                "    unicast_src_ip 10.0.0.2\n    unicast_peer {\n        10.0.0.1\n    }\n"
            )
        ),
    )
    .unwrap();
    let out = swarm(&file, &dir, &["--runs", "50"]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}{}", text(&out.stderr));
    assert!(s.contains("  single-master: "), "{s}");
    // The first failing case is shrunk to no fault at all: the configuration is the bug.
    assert!(s.contains("to 0 fault(s), 2 node(s)"), "{s}");
    let written = s
        .lines()
        .find_map(|l| l.strip_prefix("  written: "))
        .expect("a written file");
    assert!(
        s.contains("  checked: the file breaks single-master"),
        "{s}"
    );
    let toml = std::fs::read_to_string(written).unwrap();
    assert_eq!(toml.matches("[[nodes]]").count(), 2, "{toml}");
    assert!(!toml.contains("[[timeline]]"), "{toml}");
    // `sim run` of the written file finds it too, and says so the usual way.
    let run = sim()
        .arg("run")
        .arg(written)
        .arg("--out")
        .arg(dir.join("run"))
        .arg("--no-plots")
        .output()
        .unwrap();
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(err.contains("invariant violated: single-master"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_broken_reload_is_shrunk_to_that_reload_on_two_nodes() {
    // Three healthy nodes; the file's own timeline reloads b with a mistyped password, which
    // the swarm may load on b. The shrunk case keeps that one reload and two nodes.
    let dir = tmp("reload");
    let file = dir.join("reload.toml");
    let auth = |pass: &str| {
        format!("    authentication {{\n        auth_type PASS\n        auth_pass {pass}\n    }}\n")
    };
    let broken = node("b", "10.0.0.2", 90, &auth("secrte"));
    let broken_config = broken.split("'''").nth(1).unwrap();
    std::fs::write(
        &file,
        format!(
            "name = \"reload-typo\"\nduration = \"60s\"\n{}{}{}\n[[timeline]]\nat = \"30s\"\naction = \"reload\"\nnode = \"b\"\nconfig = '''{broken_config}'''\n",
            node("a", "10.0.0.1", 100, &auth("secret")),
            node("b", "10.0.0.2", 90, &auth("secret")),
            node("c", "10.0.0.3", 80, &auth("secret")),
        ),
    )
    .unwrap();
    let out = swarm(
        &file,
        &dir,
        &[
            "--runs",
            "300",
            "--kinds",
            "reload,stop,partition,loss",
            "--max-faults",
            "6",
        ],
    );
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}{}", text(&out.stderr));
    assert!(s.contains("  single-master: "), "{s}");
    assert!(s.contains("to 1 fault(s), 2 node(s)"), "{s}");
    assert!(
        s.contains("  checked: the file breaks single-master"),
        "{s}"
    );
    let written = s
        .lines()
        .find_map(|l| l.strip_prefix("  written: "))
        .expect("a written file");
    let toml = std::fs::read_to_string(written).unwrap();
    assert_eq!(toml.matches("[[timeline]]").count(), 1, "{toml}");
    assert!(toml.contains("action = \"reload\"\nnode = \"b\""), "{toml}");
    assert!(toml.contains("auth_pass secrte"), "{toml}");
    assert_eq!(toml.matches("[[nodes]]").count(), 2, "{toml}");
    // The replay command of a case runs that case alone and prints its schedule.
    let replay = s
        .lines()
        .find_map(|l| l.strip_prefix("  replay: sim swarm "))
        .expect("a replay command");
    let case: Vec<&str> = replay.split_whitespace().collect();
    let k = case[case.iter().position(|w| *w == "--case").unwrap() + 1];
    let one = swarm(
        &file,
        &dir,
        &[
            "--case",
            k,
            "--kinds",
            "reload,stop,partition,loss",
            "--max-faults",
            "6",
        ],
    );
    let s1 = text(&one.stdout);
    assert_eq!(one.status.code(), Some(1), "{s1}");
    assert!(s1.contains(&format!("case {k}: variant baseline")), "{s1}");
    assert!(s1.contains("reload b"), "{s1}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_input_exits_2_with_the_toml_position() {
    let dir = tmp("bad");
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "name = \"bad\"\nduration = \"60s\"\n[[nodes]]\nname = \"a\"\nadress = \"10.0.0.1\"\n",
    )
    .unwrap();
    let out = swarm(&file, &dir, &["--runs", "10"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:5:1: error:", file.display())),
        "{err}"
    );
    let out = swarm(
        &repo("experiments/seed-lab.toml"),
        &dir,
        &["--kinds", "meteor"],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown fault kind \"meteor\""), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

//! `sim run --shard I/N` and `sim merge`: shards merged give the unsharded run's files byte
//! for byte; a missing, duplicated or foreign shard is an error naming it; the scheduler's
//! variables (Kubernetes, Slurm) choose the shard when `--shard` is not given.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The variables `sim run` reads; every command starts without them.
const SCHEDULER_VARS: [&str; 5] = [
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_STEP",
];

fn sim(env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sim"));
    for v in SCHEDULER_VARS {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    c
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
}

/// A fresh scratch folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("vrrp-sim-shard-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn run(file: &Path, out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let o = sim(env)
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("sim runs");
    ok(o, "sim run")
}

fn merge(out: &Path, dirs: &[PathBuf]) -> Output {
    sim(&[])
        .arg("merge")
        .arg(out)
        .args(dirs)
        .output()
        .expect("sim runs")
}

/// The files directly in `dir` (not its shard folders), by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

fn assert_same_files(whole: &Path, merged: &Path) {
    let (a, b) = (files(whole), files(merged));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the merged folder has other files than the whole run's"
    );
    for (name, bytes) in &a {
        assert!(
            bytes == &b[name],
            "{name} differs between the whole run and the merge"
        );
    }
}

/// The first three variants of failover-vs-advert (one sweep series, three x): small, with
/// events, timelines, the takeover and sweep plots.
fn small_experiment(dir: &Scratch) -> PathBuf {
    let text = std::fs::read_to_string(repo("experiments/failover-vs-advert.toml")).unwrap();
    let parts: Vec<&str> = text.split("\n[[variants]]\n").collect();
    assert!(parts.len() > 4, "failover-vs-advert.toml changed shape");
    let path = dir.join("small.toml");
    std::fs::write(&path, parts[..4].join("\n[[variants]]\n")).unwrap();
    path
}

fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p).unwrap().lines().count()
}

#[test]
fn four_shards_merged_equal_the_whole_run_byte_for_byte() {
    let s = Scratch::new("four");
    let file = small_experiment(&s);
    let args = ["--seeds", "5", "--threads", "1"];
    run(&file, &s.join("whole"), &args, &[]);
    for i in 0..4 {
        let shard = format!("{i}/4");
        let mut a = args.to_vec();
        a.extend(["--shard", &shard]);
        run(&file, &s.join("sharded"), &a, &[]);
    }
    // 15 jobs, round robin: 4, 4, 4, 3; each shard really ran only its share.
    let shard_dir = |i: usize| s.join(&format!("sharded/shard-{i}-of-4"));
    let counts: Vec<usize> = (0..4)
        .map(|i| lines(&shard_dir(i).join("results.jsonl")))
        .collect();
    assert_eq!(counts, [4, 4, 4, 3]);
    assert_eq!(lines(&shard_dir(1).join("runs.csv")), 1 + 4);
    // Any order of the folders.
    let dirs: Vec<PathBuf> = [2, 0, 3, 1].into_iter().map(shard_dir).collect();
    ok(merge(&s.join("merged"), &dirs), "sim merge");
    let whole = files(&s.join("whole"));
    for f in [
        "runs.csv",
        "summary.csv",
        "events.csv",
        "takeover_vs_theory.png",
        "sweep_failover_max_s.png",
        "distributions.png",
    ] {
        assert!(whole.contains_key(f), "the whole run has no {f}");
    }
    assert_eq!(
        whole.keys().filter(|k| k.starts_with("timeline_")).count(),
        3
    );
    assert_eq!(lines(&s.join("whole/runs.csv")), 1 + 15);
    assert_same_files(&s.join("whole"), &s.join("merged"));
    // The folder holding the shards does as well as the shards' own folders.
    ok(
        merge(&s.join("merged-from-parent"), &[s.join("sharded")]),
        "sim merge",
    );
    assert_same_files(&s.join("whole"), &s.join("merged-from-parent"));
}

#[test]
fn lvs_shards_merged_equal_the_whole_run() {
    let s = Scratch::new("lvs");
    let file = repo("experiments/lvs-checks.toml");
    let args = ["--seeds", "3", "--variant", "tcp-both", "--threads", "1"];
    run(&file, &s.join("whole"), &args, &[]);
    for i in 0..2 {
        let shard = format!("{i}/2");
        let mut a = args.to_vec();
        a.extend(["--shard", &shard]);
        run(&file, &s.join("sharded"), &a, &[]);
    }
    ok(merge(&s.join("merged"), &[s.join("sharded")]), "sim merge");
    let whole = files(&s.join("whole"));
    for f in [
        "lvs_detections.csv",
        "lvs_clients.csv",
        "lvs_detection.png",
        "lvs_errors.png",
    ] {
        assert!(whole.contains_key(f), "the whole run has no {f}");
    }
    assert_same_files(&s.join("whole"), &s.join("merged"));
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn missing_duplicated_unfinished_and_foreign_shards_are_errors_naming_them() {
    let s = Scratch::new("errors");
    let file = small_experiment(&s);
    let args = ["--seeds", "2", "--no-plots", "--threads", "1"];
    for i in 0..3 {
        let shard = format!("{i}/3");
        let mut a = args.to_vec();
        a.extend(["--shard", &shard]);
        run(&file, &s.join("three"), &a, &[]);
    }
    let three = |i: usize| s.join(&format!("three/shard-{i}-of-3"));

    let o = merge(&s.join("m1"), &[three(0), three(2)]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("missing shard 1/3"),
        "missing: {}",
        stderr(&o)
    );
    assert!(
        !s.join("m1/runs.csv").exists(),
        "a failed merge wrote files"
    );

    let copy = s.join("copy-of-1");
    std::fs::create_dir_all(&copy).unwrap();
    for (name, bytes) in files(&three(1)) {
        std::fs::write(copy.join(name), bytes).unwrap();
    }
    let o = merge(&s.join("m2"), &[three(0), three(1), copy.clone(), three(2)]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("shard 1/3 given twice"), "duplicated: {e}");
    assert!(
        e.contains(&three(1).display().to_string()) && e.contains(&copy.display().to_string()),
        "duplicated: {e}"
    );

    // A shard that has not finished has no shard.json.
    std::fs::remove_file(three(2).join("shard.json")).unwrap();
    let o = merge(&s.join("m3"), &[s.join("three")]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("shard-2-of-3") && e.contains("not finished"),
        "unfinished: {e}"
    );

    // Another N.
    run(
        &file,
        &s.join("two"),
        &[&args[..], &["--shard", "1/2"]].concat(),
        &[],
    );
    let o = merge(
        &s.join("m4"),
        &[three(0), three(1), s.join("two/shard-1-of-2")],
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("shard 1/2") && e.contains("one of 2 shards"),
        "other N: {e}"
    );

    // Another experiment file (its duration edited).
    let other = s.join("other.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &other,
        text.replace("duration = \"20s\"", "duration = \"21s\""),
    )
    .unwrap();
    run(
        &other,
        &s.join("other"),
        &[&args[..], &["--shard", "1/3"]].concat(),
        &[],
    );
    let o = merge(&s.join("m5"), &[three(0), s.join("other/shard-1-of-3")]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("shard 1/3") && e.contains("experiment_hash"),
        "other file: {e}"
    );
}

#[test]
fn scheduler_variables_choose_the_shard_and_say_so() {
    let s = Scratch::new("env");
    let file = small_experiment(&s);
    let args = ["--seeds", "3", "--no-plots", "--threads", "1"];
    run(&file, &s.join("whole"), &args, &[]);

    // Slurm: index and count from the array.
    let o = run(
        &file,
        &s.join("sharded"),
        &args,
        &[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
        ],
    );
    let e = stderr(&o);
    assert!(
        e.contains("running shard 1/2") && e.contains("SLURM_ARRAY_TASK_ID=1"),
        "no notice: {e}"
    );
    // Kubernetes: the index from the Job, the count from --shards.
    let o = run(
        &file,
        &s.join("sharded"),
        &[&args[..], &["--shards", "2"]].concat(),
        &[("JOB_COMPLETION_INDEX", "0")],
    );
    assert!(stderr(&o).contains("JOB_COMPLETION_INDEX=0, --shards 2"));
    assert!(
        !s.join("sharded/runs.csv").exists(),
        "a shard wrote into the run's folder"
    );
    ok(merge(&s.join("merged"), &[s.join("sharded")]), "sim merge");
    assert_same_files(&s.join("whole"), &s.join("merged"));

    // An index without a count is an error that says what to add.
    let o = sim(&[("JOB_COMPLETION_INDEX", "1")])
        .arg("run")
        .arg(&file)
        .args(["--out", &s.join("x").display().to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--shards N"), "{}", stderr(&o));

    // --no-shard: the whole run, whatever the environment says.
    run(
        &file,
        &s.join("all"),
        &[&args[..], &["--no-shard"]].concat(),
        &[
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
        ],
    );
    assert_same_files(&s.join("whole"), &s.join("all"));
}

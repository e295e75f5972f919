//! Helpers of the namespace-LAN tests (`lab_compare.rs` with vrrpd-real, `lab_keepalived.rs`
//! with keepalived): the `sim` binary, scratch directories, shortened copies of the shipped
//! experiments, and one simulated plus one lab run of an experiment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `sim` binary under test.
pub fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sim"))
}

/// A fresh scratch directory `PREFIX-PID-NAME` under the temporary directory.
pub fn tmp(prefix: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("{prefix}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Namespace tests need root: fail loudly rather than pass without running.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "needs root for network namespaces"
    );
}

/// A command's stdout then stderr.
pub fn show(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The lab namespaces of this test process still present.
pub fn our_namespaces() -> usize {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let tag = format!("vr{}x", std::process::id());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(&tag))
        .count()
}

/// The text of the shipped experiment `experiments/NAME.toml`.
pub fn experiment(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../experiments/{name}.toml")),
    )
    .unwrap()
}

/// `text` (of experiment `name`) with `(from, to)` replacements, each of which must apply.
pub fn with_edits(name: &str, mut text: String, edits: &[(&str, &str)]) -> String {
    for (from, to) in edits {
        assert!(text.contains(from), "{name}: no {from:?}");
        text = text.replace(from, to);
    }
    text
}

/// Writes `text` as `dir/NAME-short.toml` and returns its path.
pub fn write_short(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}-short.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `sim run FILE` (traced) into `d/sim`, then `sim lab FILE LAB_ARGS` into `d/lab`, both for
/// one variant or all; returns the lab's output after checking both succeeded and the lab
/// left no namespace behind.
pub fn run_sim_and_lab(d: &Path, file: &Path, variant: Option<&str>, lab_args: &[&str]) -> String {
    let v: Vec<&str> = variant.map(|v| vec!["--variant", v]).unwrap_or_default();
    let out = sim()
        .arg("run")
        .arg(file)
        .args(&v)
        .arg("--out")
        .arg(d.join("sim"))
        .arg("--trace")
        .arg(d.join("sim/trace"))
        .arg("--no-plots")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let lab = sim()
        .arg("lab")
        .arg(file)
        .args(&v)
        .args(lab_args)
        .arg("--no-plots")
        .arg("--out")
        .arg(d.join("lab"))
        .output()
        .unwrap();
    let text = show(&lab);
    eprintln!("{text}");
    assert!(lab.status.success(), "{text}");
    assert_eq!(our_namespaces(), 0, "namespaces left behind");
    text
}

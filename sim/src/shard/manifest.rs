//! What a shard writes beside the usual outputs for `sim merge`: `shard.json` (which run and
//! which share; written last, so its presence means the shard finished) and `results.jsonl`
//! (every run's full result with its job index).

use crate::experiment::Experiment;
use crate::observe::metrics::RunResult;
use crate::shard::Shard;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// The manifest's file name in a shard's folder.
pub const MANIFEST: &str = "shard.json";
/// The per-run results' file name in a shard's folder.
pub const RESULTS: &str = "results.jsonl";
/// Version of the two files' layout.
pub const FORMAT: u32 = 1;

/// `shard.json`: one shard of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// This shard's index, below `shards`.
    pub shard: u32,
    /// Number of shards of the run.
    pub shards: u32,
    /// Runs in this shard (lines of `results.jsonl`).
    pub runs: usize,
    /// Variants whose first seed (the recorded run: events.csv rows, timeline plot) ran here.
    pub recorded: Vec<String>,
    /// The run: every shard of it has the same.
    pub run: RunKey,
}

/// What makes two shards parts of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunKey {
    /// Version of the `sim` that ran the shard.
    pub sim_version: String,
    /// The experiment file as given to `sim run`.
    pub experiment: String,
    /// FNV-1a 64 of the experiment file's bytes.
    pub experiment_hash: String,
    /// FNV-1a 64 of the resolved experiment (covers `config_file`s the file names).
    pub resolved_hash: String,
    /// Jobs of the whole run, all shards together.
    pub jobs: usize,
    /// Seeds run per variant: `[first, end)`.
    pub seeds: [u64; 2],
    /// `event` or `turmoil`.
    pub backend: String,
    /// `--variant`, when the run had one.
    pub variant: Option<String>,
    /// Whether the run draws plots.
    pub plots: bool,
}

/// FNV-1a 64 as 16 hex digits: a fingerprint to tell files apart, not a defence.
pub fn fnv1a64(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The fingerprint of a resolved experiment as loaded (before `--seeds` / `--backend`),
/// leaving out where it was read from and its warnings (which name that path).
pub fn resolved_hash(exp: &Experiment) -> String {
    let what = format!(
        "{:?}",
        (
            &exp.name,
            &exp.description,
            exp.duration,
            &exp.seeds,
            exp.backend,
            &exp.variants,
            exp.arp_reresolve_after,
            exp.clients,
            &exp.out_dir,
            exp.plots,
            exp.events,
            &exp.sweep,
        )
    );
    fnv1a64(what.as_bytes())
}

/// Write a file whole or not at all: to a temporary name, then renamed.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), String> {
    let tmp = path.with_extension("partial");
    let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let mut w = BufWriter::new(File::create(&tmp).map_err(err)?);
    write(&mut w).map_err(err)?;
    w.into_inner()
        .map_err(|e| err(e.into_error()))?
        .sync_all()
        .map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// One line of `results.jsonl`, as written.
#[derive(Serialize)]
struct JobLineOut<'a> {
    job: usize,
    result: &'a RunResult,
}

/// One line of `results.jsonl`, as read.
#[derive(Deserialize)]
struct JobLine {
    job: usize,
    result: RunResult,
}

/// Write `results.jsonl`: one JSON line per run (`job`: its index in the whole run).
pub fn write_results(dir: &Path, jobs: &[usize], results: &[RunResult]) -> Result<(), String> {
    write_atomically(&dir.join(RESULTS), |w| {
        for (&job, r) in jobs.iter().zip(results) {
            serde_json::to_writer(&mut *w, &JobLineOut { job, result: r })?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// Read `results.jsonl`: (job index, result) in file order.
pub fn read_results(dir: &Path) -> Result<Vec<(usize, RunResult)>, String> {
    let path = dir.join(RESULTS);
    let file = File::open(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let l: JobLine = serde_json::from_str(&line)
            .map_err(|e| format!("{} line {}: {e}", path.display(), n + 1))?;
        out.push((l.job, l.result));
    }
    Ok(out)
}

/// Remove a finished shard's manifest before running it again, so a run that stops half way
/// does not pass for finished.
pub fn clear(dir: &Path) -> Result<(), String> {
    match std::fs::remove_file(dir.join(MANIFEST)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!(
            "cannot remove {}: {e}",
            dir.join(MANIFEST).display()
        )),
        _ => Ok(()),
    }
}

/// Write `shard.json`, the last file of a shard.
pub fn write_manifest(dir: &Path, m: &Manifest) -> Result<(), String> {
    write_atomically(&dir.join(MANIFEST), |w| {
        serde_json::to_writer_pretty(&mut *w, m)?;
        w.write_all(b"\n")
    })
}

/// Read `shard.json`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let m: Manifest =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if m.format != FORMAT {
        return Err(format!(
            "{}: format {} (this sim reads format {FORMAT}): merge with the sim that ran the shards",
            path.display(),
            m.format
        ));
    }
    Shard::new(m.shard, m.shards).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(m)
}

/// The fields in which two runs' keys differ, as `name: a vs b`.
pub fn differences(a: &RunKey, b: &RunKey) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return vec!["(unreadable)".into()];
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{k}: {v} vs {}",
                b.get(k).unwrap_or(&serde_json::Value::Null)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::metrics::{LvsFault, LvsResult, Violation};

    /// Finite doubles spread over every exponent, from a xorshift generator.
    fn doubles(n: usize) -> Vec<f64> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut out = Vec::new();
        while out.len() < n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let d = f64::from_bits(x);
            if d.is_finite() {
                out.push(d);
            }
        }
        out
    }

    #[test]
    fn results_read_back_bit_for_bit() {
        let d = doubles(6000);
        let mut rows = Vec::new();
        for (i, c) in d.chunks(60).enumerate() {
            rows.push(RunResult {
                variant: format!("v,\"{i}\""),
                seed: u64::MAX - i as u64,
                failover_times: c[..20].to_vec(),
                takeover_after_last_advert: c[20..40].to_vec(),
                takeover_theory: c[40..50].to_vec(),
                downtime: c[50],
                split_brain: c[51],
                simulated_s: c[52],
                violations: vec![Violation {
                    at: c[53],
                    invariant: "single-master",
                    detail: "two Masters".into(),
                }],
                lvs: Some(LvsResult {
                    requests: 7,
                    faults: vec![LvsFault {
                        node: "d1".into(),
                        service: "TCP 10.0.0.100:80".into(),
                        real_server: "10.0.1.1:80".into(),
                        kind: "down",
                        fault: "down".into(),
                        checkers: "TCP_CHECK".into(),
                        t_fault: c[54],
                        detected_at: Some(c[55]),
                        detection: None,
                        detection_bounds: Some((c[56], c[57])),
                        detection_within: Some(true),
                        up_at: None,
                        recovered_at: Some(c[58]),
                        recovery: Some(c[59]),
                        recovery_bounds: None,
                        recovery_within: None,
                    }],
                    ..LvsResult::default()
                }),
                ..RunResult::default()
            });
        }
        let dir = std::env::temp_dir().join(format!("vrrp-sim-results-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let jobs: Vec<usize> = (0..rows.len()).map(|j| j * 3 + 1).collect();
        write_results(&dir, &jobs, &rows).unwrap();
        let back = read_results(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(back.len(), rows.len());
        for ((job, r), (want_job, want)) in back.iter().zip(jobs.iter().zip(&rows)) {
            assert_eq!(job, want_job);
            // PartialEq on f64 would let -0.0 pass for 0.0: compare the bits.
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&r.failover_times), bits(&want.failover_times));
            assert_eq!(bits(&r.takeover_theory), bits(&want.takeover_theory));
            assert_eq!(r, want);
        }
    }

    #[test]
    fn fnv_matches_the_reference_values() {
        // From the FNV specification's test vectors.
        assert_eq!(fnv1a64(b""), "cbf29ce484222325");
        assert_eq!(fnv1a64(b"a"), "af63dc4c8601ec8c");
        assert_eq!(fnv1a64(b"foobar"), "85944171f73967e8");
    }
}

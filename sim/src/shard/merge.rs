//! `sim merge`'s checks and gathering: the shard folders given must be every shard of one
//! run, once each; their runs go back in job order, and the recorded variants' events and
//! timelines are taken from the shard that ran each variant's first seed.

use crate::observe::metrics::RunResult;
use crate::report::files::timeline_name;
use crate::shard::manifest::{self, Manifest, MANIFEST};
use crate::shard::Shard;
use std::path::{Path, PathBuf};

/// One finished shard's folder and manifest.
#[derive(Clone, Debug)]
pub struct ShardOutput {
    /// The folder.
    pub dir: PathBuf,
    /// Its `shard.json`.
    pub manifest: Manifest,
}

impl ShardOutput {
    /// `shard I/N (DIR)`, for messages.
    pub fn name(&self) -> String {
        format!(
            "shard {}/{} ({})",
            self.manifest.shard,
            self.manifest.shards,
            self.dir.display()
        )
    }

    fn shard(&self) -> Shard {
        Shard {
            index: self.manifest.shard,
            count: self.manifest.shards,
        }
    }
}

/// The shards among `dirs`: each one a shard's folder (it has `shard.json`), or a folder
/// holding `shard-I-of-N` folders (the output folder the shards were given with `--out`).
pub fn find(dirs: &[PathBuf]) -> Result<Vec<ShardOutput>, String> {
    let mut out = Vec::new();
    for dir in dirs {
        if dir.join(MANIFEST).exists() {
            out.push(read(dir)?);
            continue;
        }
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut subs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("shard-"))
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        if subs.is_empty() {
            return Err(format!(
                "{}: not a shard's output (no {MANIFEST}) and no shard-I-of-N folders in it",
                dir.display()
            ));
        }
        subs.sort();
        for sub in subs {
            if !sub.join(MANIFEST).exists() {
                return Err(format!(
                    "{}: no {MANIFEST}: that shard has not finished (or it failed); run it again",
                    sub.display()
                ));
            }
            out.push(read(&sub)?);
        }
    }
    Ok(out)
}

fn read(dir: &Path) -> Result<ShardOutput, String> {
    Ok(ShardOutput {
        dir: dir.to_path_buf(),
        manifest: manifest::read_manifest(dir)?,
    })
}

/// Check that `shards` are every shard of one run, once each; sorts them by index.
pub fn check(shards: &mut [ShardOutput]) -> Result<(), String> {
    shards.sort_by_key(|s| s.manifest.shard);
    let Some(first) = shards.first().cloned() else {
        return Err("no shards given".into());
    };
    for s in &shards[1..] {
        if s.manifest.shards != first.manifest.shards {
            return Err(format!(
                "{} is one of {} shards, but {} is one of {}: merge the shards of one run",
                s.name(),
                s.manifest.shards,
                first.name(),
                first.manifest.shards
            ));
        }
        let diff = manifest::differences(&first.manifest.run, &s.manifest.run);
        if !diff.is_empty() {
            return Err(format!(
                "{} is not of the same run as {}: {}",
                s.name(),
                first.name(),
                diff.join("; ")
            ));
        }
    }
    for pair in shards.windows(2) {
        if pair[0].manifest.shard == pair[1].manifest.shard {
            return Err(format!(
                "shard {}/{} given twice: {} and {}",
                pair[0].manifest.shard,
                pair[0].manifest.shards,
                pair[0].dir.display(),
                pair[1].dir.display()
            ));
        }
    }
    let n = first.manifest.shards;
    let missing: Vec<String> = (0..n)
        .filter(|i| !shards.iter().any(|s| s.manifest.shard == *i))
        .map(|i| format!("shard {i}/{n} (shard-{i}-of-{n})"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing {}: {} of {n} shards given",
            missing.join(", "),
            shards.len()
        ));
    }
    Ok(())
}

/// Every run of the checked `shards`, in job order; each job exactly once.
pub fn results(shards: &[ShardOutput]) -> Result<Vec<RunResult>, String> {
    let mut all: Vec<(usize, RunResult)> = Vec::new();
    for s in shards {
        let rows = manifest::read_results(&s.dir)?;
        if rows.len() != s.manifest.runs {
            return Err(format!(
                "{}: {} has {} runs, {MANIFEST} says {}: its files are not of one run; run the shard again",
                s.name(),
                manifest::RESULTS,
                rows.len(),
                s.manifest.runs
            ));
        }
        if let Some((job, _)) = rows
            .iter()
            .find(|(job, _)| !s.shard().owns(*job) || *job >= s.manifest.run.jobs)
        {
            return Err(format!("{}: job {job} is not this shard's", s.name()));
        }
        all.extend(rows);
    }
    all.sort_by_key(|(job, _)| *job);
    let jobs = shards.first().map_or(0, |s| s.manifest.run.jobs);
    for (want, (job, _)) in all.iter().enumerate() {
        if *job != want {
            let n = shards.first().map_or(1, |s| s.manifest.shards as usize);
            return Err(format!(
                "job {want} is missing or given twice (shard {}/{n})",
                want % n
            ));
        }
    }
    if all.len() != jobs {
        return Err(format!("{} of {jobs} jobs found", all.len()));
    }
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

/// For each variant (in order), the shard that recorded its first seed.
pub fn recorders<'a>(
    shards: &'a [ShardOutput],
    variants: &[String],
) -> Result<Vec<&'a ShardOutput>, String> {
    variants
        .iter()
        .map(|v| {
            let mut having = shards.iter().filter(|s| s.manifest.recorded.contains(v));
            match (having.next(), having.next()) {
                (Some(s), None) => Ok(s),
                (None, _) => Err(format!(
                    "no shard recorded variant {v:?} (its first seed's events and timeline)"
                )),
                (Some(a), Some(b)) => Err(format!(
                    "variant {v:?} recorded by both {} and {}",
                    a.name(),
                    b.name()
                )),
            }
        })
        .collect()
}

/// Write `events.csv` into `out`: each variant's rows from its recorder's `events.csv`.
pub fn write_events(
    out: &Path,
    variants: &[String],
    recorders: &[&ShardOutput],
) -> Result<(), String> {
    let path = out.join("events.csv");
    let werr = |e: csv::Error| format!("cannot write {}: {e}", path.display());
    let mut w = csv::Writer::from_path(&path).map_err(werr)?;
    let mut header_written = false;
    for (variant, s) in variants.iter().zip(recorders) {
        let src = s.dir.join("events.csv");
        let rerr = |e: csv::Error| format!("{}: {}: {e}", s.name(), src.display());
        let mut r = csv::Reader::from_path(&src).map_err(rerr)?;
        if !header_written {
            w.write_record(r.headers().map_err(rerr)?).map_err(werr)?;
            header_written = true;
        }
        for row in r.records() {
            let row = row.map_err(rerr)?;
            if row.get(0) == Some(variant.as_str()) {
                w.write_record(&row).map_err(werr)?;
            }
        }
    }
    w.flush()
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Copy each variant's timeline plot into `out` from its recorder, in variant order (two
/// variants with one file name: the later wins, as in an unsharded run).
pub fn copy_timelines(
    out: &Path,
    variants: &[String],
    recorders: &[&ShardOutput],
) -> Result<(), String> {
    for (variant, s) in variants.iter().zip(recorders) {
        let name = timeline_name(variant);
        std::fs::copy(s.dir.join(&name), out.join(&name))
            .map_err(|e| format!("{}: cannot copy {name}: {e}", s.name()))?;
    }
    Ok(())
}

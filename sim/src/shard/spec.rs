//! Which share of the jobs a process runs: `--shard I/N`, or the index a scheduler gives
//! (`JOB_COMPLETION_INDEX`, `SLURM_ARRAY_TASK_ID`).

use std::fmt;
use std::str::FromStr;

/// Kubernetes Indexed Job: the pod's completion index (0..completions).
pub const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";
/// Slurm job array: this task's index.
pub const SLURM_INDEX: &str = "SLURM_ARRAY_TASK_ID";
/// Slurm job array: the number of tasks.
pub const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
/// Slurm job array: the lowest index (must be 0).
pub const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
/// Slurm job array: the step between indices (must be 1).
pub const SLURM_STEP: &str = "SLURM_ARRAY_TASK_STEP";

/// Shard `index` of `count`: it runs job `j` of the run's job list when `j % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index, below `count`.
    pub index: u32,
    /// Number of shards, at least 1.
    pub count: u32,
}

impl Shard {
    /// A shard, checked: `index < count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 {
            return Err("the number of shards must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is not below the number of shards {count} (shards are numbered 0..{count})"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether job `job` (its index in the whole run's job list) is this shard's.
    ///
    /// Round robin: the job list runs variant by variant, seed by seed, so every shard gets
    /// an equal share of each variant, however much the variants differ in cost.
    pub fn owns(&self, job: usize) -> bool {
        job % self.count as usize == self.index as usize
    }

    /// The shard's output folder name under the run's output folder: `shard-I-of-N`.
    pub fn dir_name(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected I/N, e.g. 0/4 (shard 0 of 4)"))?;
        let num = |x: &str| {
            x.trim()
                .parse::<u32>()
                .map_err(|_| format!("{s:?}: expected I/N with whole numbers, e.g. 0/4"))
        };
        Shard::new(num(i)?, num(n)?)
    }
}

/// A shard and why this process runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// The shard.
    pub shard: Shard,
    /// The environment variables that chose it (`None`: `--shard` did).
    pub because: Option<String>,
}

/// What the command line says about sharding.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShardFlags {
    /// `--shard I/N`.
    pub shard: Option<Shard>,
    /// `--shards N`: the count, when the index comes from the environment.
    pub shards: Option<u32>,
    /// `--no-shard`: ignore the scheduler's variables.
    pub no_shard: bool,
}

/// The shard to run, from the flags, else from the scheduler's variables (`env` reads one;
/// an empty value counts as unset). `None`: run every job.
///
/// - `--shard I/N` wins; `--no-shard` runs every job whatever the environment says.
/// - `JOB_COMPLETION_INDEX` (Kubernetes Indexed Job) gives I; N must be `--shards N` (a pod
///   is not told the Job's completions).
/// - `SLURM_ARRAY_TASK_ID` (Slurm job array) gives I; N is `--shards N`, else
///   `SLURM_ARRAY_TASK_COUNT`, and then the array must be `--array=0-(N-1)` (minimum 0,
///   step 1). With `--shards N` any array works (`--array=5 ... --shards 16` reruns shard 5).
pub fn select(
    flags: ShardFlags,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Selection>, String> {
    if flags.no_shard {
        return Ok(None);
    }
    if let Some(shard) = flags.shard {
        return Ok(Some(Selection {
            shard,
            because: None,
        }));
    }
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let count = flags.shards;
    match (var(K8S_INDEX), var(SLURM_INDEX)) {
        (Some(k), Some(s)) => Err(format!(
            "both {K8S_INDEX}={k} and {SLURM_INDEX}={s} are set: pass --shard I/N, or --no-shard to run every job"
        )),
        (None, None) => match count {
            Some(n) => Err(format!(
                "--shards {n} takes the shard index from {K8S_INDEX} (Kubernetes Indexed Job) or {SLURM_INDEX} (Slurm job array), and neither is set: pass --shard I/{n}"
            )),
            None => Ok(None),
        },
        (Some(i), None) => {
            let index = parse_var(K8S_INDEX, &i)?;
            let n = count.ok_or_else(|| {
                format!(
                    "{K8S_INDEX}={i} is set (a Kubernetes Indexed Job) but not the number of shards: pass --shards N (the Job's completions), or --no-shard to run every job"
                )
            })?;
            let shard = Shard::new(index, n)
                .map_err(|e| format!("{K8S_INDEX}={i} with --shards {n}: {e}"))?;
            Ok(Some(Selection {
                shard,
                because: Some(format!("{K8S_INDEX}={i}, --shards {n}")),
            }))
        }
        (None, Some(i)) => {
            let index = parse_var(SLURM_INDEX, &i)?;
            let (n, from) = match count {
                Some(n) => (n, format!("--shards {n}")),
                None => {
                    // The count is the array's: its indices must be exactly 0..N.
                    if let Some(min) = var(SLURM_MIN).filter(|m| m.trim() != "0") {
                        return Err(format!(
                            "{SLURM_INDEX}={i} with {SLURM_MIN}={min}: shards are numbered from 0; submit the array as --array=0-(N-1), or give --shards N"
                        ));
                    }
                    if let Some(step) = var(SLURM_STEP).filter(|s| s.trim() != "1") {
                        return Err(format!(
                            "{SLURM_INDEX}={i} with {SLURM_STEP}={step}: shards take every index; submit the array as --array=0-(N-1) without a step"
                        ));
                    }
                    let c = var(SLURM_COUNT).ok_or_else(|| {
                        format!(
                            "{SLURM_INDEX}={i} is set (a Slurm job array) but not {SLURM_COUNT}: pass --shards N, or --no-shard to run every job"
                        )
                    })?;
                    (parse_var(SLURM_COUNT, &c)?, format!("{SLURM_COUNT}={c}"))
                }
            };
            let shard =
                Shard::new(index, n).map_err(|e| format!("{SLURM_INDEX}={i} with {from}: {e}"))?;
            Ok(Some(Selection {
                shard,
                because: Some(format!("{SLURM_INDEX}={i}, {from}")),
            }))
        }
    }
}

fn parse_var(name: &str, value: &str) -> Result<u32, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{name}={value:?} is not a shard index (a whole number)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn flags(shard: Option<&str>, shards: Option<u32>) -> ShardFlags {
        ShardFlags {
            shard: shard.map(|s| s.parse().unwrap()),
            shards,
            no_shard: false,
        }
    }

    #[test]
    fn parses_i_of_n_and_refuses_the_rest() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["4/4", "0/0", "1", "a/4", "-1/4", "1/4/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn round_robin_gives_every_job_to_exactly_one_shard() {
        for n in 1..6 {
            for job in 0..50 {
                let owners = (0..n)
                    .filter(|&i| Shard::new(i, n).unwrap().owns(job))
                    .count();
                assert_eq!(owners, 1, "job {job} of {n} shards");
            }
        }
    }

    #[test]
    fn the_flag_wins_and_no_shard_ignores_the_environment() {
        let e = env(&[(SLURM_INDEX, "1"), (SLURM_COUNT, "3")]);
        let s = select(flags(Some("0/2"), None), &e).unwrap().unwrap();
        assert_eq!((s.shard.to_string(), s.because), ("0/2".into(), None));
        let none = ShardFlags {
            no_shard: true,
            ..ShardFlags::default()
        };
        assert_eq!(select(none, &e), Ok(None));
        assert_eq!(select(flags(None, None), env(&[])), Ok(None));
    }

    #[test]
    fn kubernetes_index_needs_the_count() {
        let e = env(&[(K8S_INDEX, "3")]);
        let err = select(flags(None, None), &e).unwrap_err();
        assert!(err.contains("--shards N"), "{err}");
        let s = select(flags(None, Some(4)), &e).unwrap().unwrap();
        assert_eq!(s.shard, Shard { index: 3, count: 4 });
        assert_eq!(
            s.because.as_deref(),
            Some("JOB_COMPLETION_INDEX=3, --shards 4")
        );
        assert!(select(flags(None, Some(3)), &e).is_err());
    }

    #[test]
    fn slurm_takes_the_count_from_the_array_and_refuses_other_numbering() {
        let s = select(
            flags(None, None),
            env(&[(SLURM_INDEX, "1"), (SLURM_COUNT, "2"), (SLURM_MIN, "0")]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.shard, Shard { index: 1, count: 2 });
        assert_eq!(
            s.because.as_deref(),
            Some("SLURM_ARRAY_TASK_ID=1, SLURM_ARRAY_TASK_COUNT=2")
        );
        let err = select(
            flags(None, None),
            env(&[(SLURM_INDEX, "1"), (SLURM_COUNT, "4"), (SLURM_MIN, "1")]),
        )
        .unwrap_err();
        assert!(err.contains("--array=0-(N-1)"), "{err}");
        let err = select(
            flags(None, None),
            env(&[(SLURM_INDEX, "2"), (SLURM_COUNT, "2"), (SLURM_STEP, "2")]),
        )
        .unwrap_err();
        assert!(err.contains(SLURM_STEP), "{err}");
        let err = select(flags(None, None), env(&[(SLURM_INDEX, "1")])).unwrap_err();
        assert!(err.contains(SLURM_COUNT), "{err}");
        // Shard 5 of 16 run again as an array of one element.
        let rerun = env(&[(SLURM_INDEX, "5"), (SLURM_COUNT, "1"), (SLURM_MIN, "5")]);
        let s = select(flags(None, Some(16)), rerun).unwrap().unwrap();
        assert_eq!(
            s.shard,
            Shard {
                index: 5,
                count: 16
            }
        );
    }

    #[test]
    fn ambiguous_or_lone_counts_are_errors() {
        let both = env(&[(SLURM_INDEX, "1"), (K8S_INDEX, "1")]);
        assert!(select(flags(None, Some(2)), both).is_err());
        let err = select(flags(None, Some(2)), env(&[])).unwrap_err();
        assert!(err.contains("--shard I/2"), "{err}");
        // An empty value is unset.
        assert_eq!(select(flags(None, None), env(&[(K8S_INDEX, "")])), Ok(None));
    }
}

//! Sweeps beyond one machine: `sim run FILE --shard I/N` runs a deterministic share of the
//! (variant, seed) jobs, and `sim merge OUT DIR...` puts the shards' runs back together into
//! the files an unsharded run writes, byte for byte.
//!
//! - [`spec`]: which share (`--shard I/N`, round robin over the job list), or the index a
//!   scheduler sets (`JOB_COMPLETION_INDEX`, `SLURM_ARRAY_TASK_ID`).
//! - [`manifest`]: what a shard writes beside its outputs: `shard.json` (which run, which
//!   share; written last) and `results.jsonl` (every run's full result with its job index).
//! - [`merge`]: the checks (one run, every shard once) and the gathering `sim merge` does.

pub mod manifest;
pub mod merge;
pub mod spec;

pub use spec::{select, Selection, Shard, ShardFlags};

//! The `sim` subcommands, one module each; every `run` parses nothing itself (clap did) and
//! returns `Result<(), CliError>`.
//!
//! - [`run`]: `sim run FILE`: every variant and seed (or one shard of them), CSV files, plots,
//!   the summary table.
//! - [`merge`]: `sim merge OUT DIR...`: shards of `sim run --shard I/N` put back together.
//! - [`lab`]: `sim lab FILE`: the experiment on a namespace LAN with `vrrpd-real`.
//! - [`compare`]: `sim compare A B`: two traces or output folders.
//! - [`packet`]: `sim packet decode|encode`: VRRP payloads as JSON and back.
//! - [`swarm`]: `sim swarm FILE`: random fault schedules, invariants, a shrunk failing case
//!   (it returns its own exit status: 0, 1 found something, 2 bad input).

pub mod compare;
pub mod lab;
pub mod merge;
pub mod packet;
pub mod run;
pub mod swarm;

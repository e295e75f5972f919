//! `vrrp-sim`: deterministic network simulation of VRRP failover experiments.
//!
//! What lives where, in the order a run flows (the `sim` binary's subcommands are in
//! `src/cli/`, one module each, on top of this library):
//!
//! - [`experiment`]: the TOML experiment files, their schema, variant edits, loading with
//!   positioned errors, and their resolution into runnable variants
//!   ([`experiment::model`]: nodes, network, timeline; backend-independent).
//! - [`draw`]: the random draws (ranges, chances, shuffles) on a run's seeded stream, fixed
//!   here so that upgrading rand does not move any output.
//! - [`backend`]: how packets move between the nodes' engines: the event-queue backend
//!   ([`backend::event_queue`], time jumps from event to event) and the turmoil backend
//!   ([`backend::turmoil_backend`], one turmoil host per node, 1 ms tick), the network model
//!   they share ([`backend::net`]: latency, loss, partitions, bursts), the one engine-output
//!   drain both use ([`backend::drain`]), and [`backend::runner`], which runs every variant
//!   and seed in parallel, deterministically.
//! - [`observe`]: what every backend reports to: the [`observe::observer::Observer`] (world,
//!   metrics, invariants, recording), the clients' view ([`observe::world`]), the health
//!   checks' ground truth ([`observe::checks`]), per-run results ([`observe::metrics`]) and
//!   JSONL traces ([`observe::trace`], `docs/trace.md`).
//! - [`report`]: what comes out: `runs.csv`, `summary.csv`, `events.csv` and the stdout table
//!   ([`report::output`]), PNG plots ([`report::plots`]), sweep points ([`report::sweep`]),
//!   closed-form expectations ([`report::theory`]), and `sim compare` ([`report::compare`]).
//! - [`lab`]: `sim lab`: an experiment on a real namespace LAN with `vrrpd-real` (or
//!   keepalived 2.2.7, its traces derived from captures), fed back through the observer.
//! - [`shard`]: `sim run --shard I/N` and `sim merge`: a sweep split over machines and put
//!   back together byte for byte.
//! - [`swarm`]: `sim swarm`: random fault schedules (swarm testing) over an experiment's nodes,
//!   every invariant checked, failing cases shrunk and written back as experiment files.

pub mod backend;
pub mod draw;
pub mod experiment;
pub mod lab;
pub mod observe;
pub mod report;
pub mod shard;
pub mod swarm;

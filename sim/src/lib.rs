//! `vrrp-sim`: deterministic network simulation of VRRP failover experiments.
//!
//! What lives where:
//! - [`experiment`]: the TOML experiment files, their schema, loading with positioned errors.
//! - [`model`]: the resolved variants (nodes, network, timeline), backend-independent.
//! - [`net`]: latency and loss draws, partitions, Gilbert-Elliott bursts.
//! - [`world`]: what clients see: VIP holders, clients' ARP caches, downtime and blackhole.
//! - [`checks`]: ground truth of the simulated health checks (flap windows).
//! - [`observer`]: what every backend reports to: world, metrics, invariants, recording.
//! - [`metrics`]: per-run results and the event log.
//! - [`event_queue`]: the event-queue backend (time jumps from event to event).
//! - [`turmoil_backend`]: the turmoil backend (one turmoil host per node, 1 ms tick).
//! - [`runner`]: runs every variant and seed in parallel, deterministically.
//! - [`sweep`]: sweep points (one per series and x) for the sweep plots.
//! - [`theory`]: closed-form expectations (false-takeover rate).
//! - [`lab`]: `sim lab`: an experiment on a real namespace LAN with `vrrpd-real`, fed back
//!   through the observer.
//! - [`compare`]: `sim compare`: two traces' transitions, advert bytes and timing.
//! - [`trace`]: JSONL traces (`docs/trace.md`) written by runs and read back.
//! - [`output`]: `runs.csv`, `summary.csv`, `events.csv`, the stdout table; [`plots`]: PNGs.

pub mod checks;
pub mod compare;
pub mod event_queue;
pub mod experiment;
pub mod lab;
pub mod metrics;
pub mod model;
pub mod net;
pub mod observer;
pub mod output;
pub mod plots;
pub mod runner;
pub mod sweep;
pub mod theory;
pub mod trace;
pub mod turmoil_backend;
pub mod world;

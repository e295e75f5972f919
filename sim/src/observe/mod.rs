//! What a run means, whatever moved the packets: every backend (and `sim lab`'s replay)
//! reports to one [`Observer`](observer::Observer).
//!
//! - [`observer`]: the observer: state per node and VRID, takeovers, split brain, the
//!   invariants (one Master per VRID on a healthy network, VIPs iff Master, FAULT iff a
//!   weight-0 check fails), the event log and the recording of the first seed.
//! - [`world`]: what clients see: VIP holders, clients' ARP caches, downtime and blackhole.
//! - [`checks`]: ground truth of the simulated health checks (flap windows).
//! - [`invariants`]: the invariants that need time (grace periods from the RFC timers, the
//!   "settled" clock, the engines' views) and their checks.
//! - [`lvs`]: the LVS side: real servers as model objects answering probes, the directors'
//!   IPVS tables, client requests through the scheduler, fault detection and recovery times.
//! - [`metrics`]: per-run results, the event log rows, the recording.
//! - [`trace`]: JSONL traces (`docs/trace.md`) written by traced runs and read back.

pub mod checks;
pub mod invariants;
pub mod lvs;
pub mod metrics;
pub mod observer;
pub mod trace;
pub mod world;

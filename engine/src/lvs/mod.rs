//! The check engine for LVS: keepalived's `virtual_server` / `real_server` health checkers
//! and the IPVS table they decide, sans-IO like the rest of the engine.
//!
//! The engine schedules every probe ([`crate::Output::RunProbe`]), takes each result with
//! its time ([`crate::Input::ProbeResult`]), applies keepalived 2.2.7's rules (retries,
//! `delay_before_retry`, alpha/omega, quorum and hysteresis, sorry server,
//! `inhibit_on_failure`, `misc_dynamic` weights) and emits the IPVS changes
//! ([`crate::Output::Ipvs`]) that follow.
//!
//! What lives where:
//! - [`ipvs`]: the table's types ([`IpvsService`], [`IpvsDest`], [`IpvsChange`],
//!   [`IpvsTable`]);
//! - [`probe`]: what a driver is asked to try and what it reports ([`Probe`],
//!   [`ProbeResult`]).

pub mod ipvs;
pub mod probe;

pub use ipvs::{Forwarding, IpvsChange, IpvsDest, IpvsService, IpvsTable, Protocol, ServiceKey};
pub use probe::{CheckerId, Connect, HttpVersion, Probe, ProbeResult};

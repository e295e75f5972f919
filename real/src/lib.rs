//! `vrrp-real`: the VRRP engine on real Linux interfaces.
//!
//! What lives where:
//! - [`daemon`]: the `vrrpd-real` daemon (sockets, netlink, ARP/NA, scripts, status, trace).
//!
//! The namespace LAN that the tests and `examples/bench_daemons.rs` run daemons on is the
//! `vrrp-lab` crate (`lab/`), a dev-dependency.

pub mod daemon;

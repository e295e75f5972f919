//! `vrrp-real`: the VRRP engine on real Linux interfaces.
//!
//! What lives where:
//! - [`daemon`]: the `vrrpd-real` daemon: one engine driven by an event loop, its outputs
//!   carried out on the OS, reload, the control socket, status and trace.
//! - [`os`]: the OS adapters (raw VRRP sockets, netlink, ARP/NA, the timer, scripts).
//!
//! The namespace LAN that the tests and `examples/bench_daemons.rs` run daemons on is the
//! `vrrp-lab` crate (`lab/`), a dev-dependency.

pub mod daemon;
pub mod os;

//! `vrrp-real`: the VRRP engine on real Linux interfaces.
//!
//! What lives where:
//! - [`daemon`]: the `vrrpd-real` daemon (sockets, netlink, ARP/NA, scripts, status, trace).
//! - [`lab`]: a throw-away namespace LAN for tests and the simulator's end-to-end runs.

pub mod daemon;
pub mod lab;

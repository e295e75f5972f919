//! `vrrp-real`: the VRRP engine on real Linux interfaces.
//!
//! What lives where:
//! - [`daemon`]: the `vrrpd-real` daemon: one engine driven by an event loop, its outputs
//!   carried out on the OS, reload, the control socket, status and trace.
//! - [`os`]: the OS adapters (raw VRRP sockets, netlink, ARP/NA, the timer, scripts).
//! - [`lab`]: a throw-away namespace LAN for tests and the simulator's end-to-end runs.

pub mod daemon;
pub mod lab;
pub mod os;

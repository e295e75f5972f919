//! `vrrp-engine`: a sans-IO, deterministic VRRP engine.
//!
//! Time comes in, outputs come out: no sockets, no clock, no OS randomness. The same inputs at
//! the same times give the same outputs, so the simulator and the real daemon run the very
//! same logic.
//!
//! What lives where:
//! - [`time`]: the engine's [`Instant`], an offset from an origin the driver picks.
//! - [`types`]: protocol constants, [`Version`] and [`Family`].
//! - [`wire`]: the packet codec (VRRPv2 RFC 3768, VRRPv3 RFC 5798 / RFC 9568), checksums.
//! - [`config`]: the typed configuration model, keepalived's defaults.
//! - [`keepalived`]: the keepalived.conf front end that produces [`config::Config`].
//! - [`Engine`] with its [`Input`] and [`Output`]: the state machines of all virtual routers
//!   of one host, health-check tracking and gratuitous ARP scheduling.
//! - [`trace`]: the JSONL trace schema (`docs/trace.md`) as one serde type, shared by the
//!   daemon and the simulator.

pub mod config;
pub mod keepalived;
pub mod time;
pub mod types;
pub mod wire;

pub use time::Instant;
pub use types::{Family, Version};

mod announce;
pub mod counters;
mod engine;
mod instance;
pub mod io;
pub mod snapshot;
pub mod timing;
pub mod trace;
pub mod tracking;

pub use engine::{ConfigError, Engine};
pub use io::{
    CheckOutcome, Input, InstanceId, InterfaceUpdate, Output, Reason, RxPacket, ScriptId, State,
    Transmit,
};
pub use snapshot::Snapshot;

//! `vrrp-engine`: a sans-IO, deterministic VRRP engine.
//!
//! Time comes in, outputs come out: no sockets, no clock, no OS randomness. The same inputs at
//! the same times give the same outputs, so the simulator and the real daemon run the very
//! same logic. One [`Engine`] serves every instance of a host: it owns the instance table,
//! the VRID demultiplexing, every timer, the shared script runs and reconfiguration.
//!
//! # The driver contract
//!
//! After quinn-proto's `Connection` and str0m's `Rtc`, a driver runs one loop:
//!
//! ```text
//! loop {
//!     engine.handle(now, input)            // a packet, an interface report, a check result, ...
//!       or engine.handle_timeout(now)      // the deadline from poll_timeout has come
//!       or engine.reconfigure(now, config) // SIGHUP
//!     while let Some(out) = engine.poll_output() { carry it out, in this order }
//!     sleep until engine.poll_timeout() or the next input
//! }
//! ```
//!
//! - **Drain after every mutation.** Each of [`Engine::handle`], [`Engine::handle_timeout`]
//!   and [`Engine::reconfigure`] is one mutation; its outputs join one FIFO. A driver may
//!   batch several inputs (e.g. every packet of one `recvmmsg`) before draining, since the
//!   FIFO keeps their outputs in input order, but it must drain before it sleeps and must
//!   read [`Engine::poll_timeout`] after draining: any mutation can move the next deadline.
//! - **Time never goes backwards.** `now` is the engine's [`Instant`], an offset from an
//!   origin the driver picks (the simulator: simulated time; the daemon: `CLOCK_MONOTONIC`
//!   since start). The engine keeps the latest `now` it was given; an earlier one is taken
//!   as that latest one, so a late or reordered call never moves a timer back or fires one
//!   twice. [`Engine::handle_timeout`] is idempotent and tolerates late and spurious calls:
//!   everything due at or before `now` runs, earliest first, and nothing else.
//! - **The order of outputs is decided here, once.** Drivers carry outputs out in the order
//!   polled and never reorder them (a driver may batch consecutive [`Output::Transmit`]s into
//!   one system call, since that keeps the order). Within one event:
//!   - becoming Master (RFC 5798 §6.4.1 / §6.4.2): the advert, then the state change, then
//!     each VIP added, each `virtual_routes` route, each `virtual_rules` rule, then the
//!     announcements (gratuitous ARP / unsolicited NA), as keepalived 2.2.7's
//!     `vrrp_state_master_tx` / `vrrp_state_become_master` do (the old Master hears the
//!     advert before the new one announces the VIPs);
//!   - leaving Master for Backup (RFC 5798 §6.4.3): each rule removed, each route, each VIP,
//!     then the state change (keepalived's `vrrp_restore_interface`);
//!   - shutdown, removal by reconfiguration, and FAULT of a Master: the priority-0 advert,
//!     rules, routes and VIPs removed, then the state change;
//!   - a reconfigured Master: rules, routes, then VIPs no longer configured removed; new
//!     VIPs, routes, then rules added; announcements; then its advert.
//!   - Accept_Mode off ([`Output::BlockVips`] / [`Output::UnblockVips`], keepalived's
//!     `no_accept`): the block comes right before a Master's VIPs are added, the unblock
//!     right after they are removed (a reconfigured Master: removals, unblock, block,
//!     additions).
//!
//!   - a `vrrp_sync_group` ([`Output::SyncGroupChanged`]): the member that moved on its own,
//!     then the members its group moves (group order), then the group's change, as
//!     keepalived 2.2.7's `vrrp_sync_master` / `vrrp_sync_backup` / `vrrp_sync_fault` do; on
//!     shutdown every instance's change comes before the groups'.
//!
//!   Instances are visited in configuration order when one event touches several (an
//!   interface report, a check result, reconfiguration); timers due at the same instant run
//!   start-up first, then scripts, then instances, then real-server checkers, each in id
//!   order. Notify scripts belong to the state change: a driver starts them when it carries
//!   out [`Output::StateChanged`], a group's when it carries out
//!   [`Output::SyncGroupChanged`] ([`SyncGroupChange::notifies`] lists them). A mail
//!   ([`Output::Alert`], keepalived's `smtp_alert`) follows its state change at once; a
//!   driver sends it without waiting for it.
//!   Virtual servers are programmed when the engine is built (their [`Output::Ipvs`]
//!   changes are the first outputs); IPVS changes are carried out in the order polled, and a
//!   real server's or a quorum's notify script belongs to its [`Output::RealServerChanged`]
//!   / [`Output::QuorumChanged`]. A checker's mail follows the changes its verdict causes
//!   (after the quorum's mail, as keepalived sends them).
//! - **Probes.** [`Output::RunProbe`] asks the driver to try one real-server probe (TCP
//!   connect, one HTTP GET, a script); the driver answers every one with
//!   [`Input::ProbeResult`] at the time the probe ended, echoing the sequence number. The
//!   driver reports facts (connected, refused, timed out, status and body digest, exit
//!   status); every verdict is the engine's ([`lvs`]).
//! - **Checks.** [`Output::RunCheck`] asks the driver to run a `vrrp_script` once, whatever
//!   the number of instances tracking it; the driver answers with [`Input::CheckResult`]
//!   echoing the sequence number (stale answers are ignored), and each instance applies its
//!   own weight. A script's first result and every change of its result come out as
//!   [`Output::ScriptChanged`], before the [`Output::PriorityChanged`] and the state changes
//!   it causes (keepalived 2.2.7 logs them in that order); both are for logs and traces.
//! - **Reconfiguration** follows keepalived's reload: see [`Engine::reconfigure`].
//! - **Cost.** A received advert is O(1) to find its instance (a VRID table per interface)
//!   and O(log n) to re-arm its timer; [`Engine::poll_timeout`] is O(1); a wake-up costs
//!   O(log n) per timer due. Interface reports, check-status changes and reconfiguration
//!   visit every instance.
//!
//! What lives where:
//! - [`time`]: the engine's [`Instant`], an offset from an origin the driver picks.
//! - [`types`]: protocol constants, [`Version`] and [`Family`].
//! - [`wire`]: the packet codec (VRRPv2 RFC 3768, VRRPv3 RFC 5798 / RFC 9568), checksums.
//! - [`config`]: the typed configuration model, keepalived's defaults.
//! - [`keepalived`]: the keepalived.conf front end that produces [`config::Config`].
//! - [`Engine`] with its [`Input`] and [`Output`] ([`io`]): the host's instances, timers
//!   (a deadline heap), demultiplexing and reconfiguration; the state machine of one
//!   virtual router, tracking ([`tracking`]), gratuitous ARP scheduling, discard
//!   [`counters`], RFC [`timing`] formulas, the read-only [`snapshot`].
//! - [`lvs`]: the check engine for keepalived's `virtual_server`s: checkers with keepalived
//!   2.2.7's rules, the IPVS table they decide ([`lvs::IpvsChange`]), probes
//!   ([`lvs::Probe`]).
//! - [`alerts`]: keepalived's SMTP alerts: when a state change mails, and what.
//! - [`vmac`]: keepalived's `use_vmac` / `vmac_xmit_base`: each instance's macvlan (name,
//!   RFC 5798 §7.3 virtual MAC, base) and the interfaces its adverts and VIPs use.
//! - [`trace`]: the JSONL trace schema (`docs/trace.md`) as one serde type, shared by the
//!   daemon and the simulator.

pub mod alerts;
pub mod config;
pub mod keepalived;
pub mod lvs;
pub mod time;
pub mod types;
pub mod vmac;
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

pub use alerts::Alert;
pub use engine::{ConfigError, Engine, ReconfigureSummary};
pub use io::{
    CheckOutcome, Input, InstanceId, InterfaceUpdate, Output, PriorityChange, Reason, RxPacket,
    ScriptChange, ScriptId, State, SyncGroupChange, Transmit,
};
pub use snapshot::Snapshot;

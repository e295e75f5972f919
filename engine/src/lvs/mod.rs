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
//!   [`ProbeResult`]);
//! - [`checker_settings`]: every checker with its settings resolved (inheritance and
//!   keepalived's defaults), for drivers and tools that reason about checker timing.

pub mod ipvs;
pub mod probe;

pub use ipvs::{Forwarding, IpvsChange, IpvsDest, IpvsService, IpvsTable, Protocol, ServiceKey};
pub use probe::{CheckerId, Connect, HttpVersion, Probe, ProbeResult};

mod checker;
mod plan;
mod pool;

use crate::config::{UrlConfig, VirtualServerConfig};
use crate::io::Output;
use crate::time::Instant;
use checker::Checker;
use core::net::SocketAddr;
use core::time::Duration;
use plan::CheckerKind;
use pool::VsState;
use std::collections::VecDeque;

/// What a checker does, with what its timing and verdicts depend on.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckerClass {
    /// `TCP_CHECK`: a connection; timed from the end of the probe.
    Tcp,
    /// `HTTP_GET` / `SSL_GET`: one GET per URL in turn; timed from the end of the probe.
    Http {
        /// The `url { }` blocks (path, digest, accepted status codes).
        urls: Vec<UrlConfig>,
        /// `fast_recovery`.
        fast_recovery: bool,
    },
    /// `MISC_CHECK`: a script; timed from its start.
    Misc {
        /// `misc_dynamic`.
        dynamic: bool,
    },
}

/// One checker the engine runs, every setting resolved as the engine resolves it
/// (checker, then real server, then virtual server, then keepalived's defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct CheckerSettings {
    /// The virtual service.
    pub service: ServiceKey,
    /// The real server it checks (its IPVS address).
    pub real_server: SocketAddr,
    /// What it does.
    pub class: CheckerClass,
    /// `retry` (default 1 for TCP and HTTP, 0 for MISC).
    pub retry: u32,
    /// `delay_loop` (default 60 s).
    pub delay_loop: Duration,
    /// `delay_before_retry` (default 1 s for TCP and MISC, 3 s for HTTP).
    pub delay_before_retry: Duration,
    /// `warmup` (default `delay_loop`).
    pub warmup: Duration,
    /// How long a probe may take: `connect_timeout` (default 5 s), or `misc_timeout`
    /// (default the virtual server's `delay_loop`) for MISC.
    pub timeout: Duration,
    /// `alpha`: the real server starts failed.
    pub alpha: bool,
    /// `inhibit_on_failure` of its real server: weight 0 instead of removal.
    pub inhibit: bool,
}

/// Every real server of `config` the engine would program, with its service, in the
/// engine's order (addresses completed as IPVS gets them; sorry servers not included).
pub fn real_servers(config: &[VirtualServerConfig]) -> Vec<(ServiceKey, SocketAddr)> {
    plan::plan(config)
        .iter()
        .flat_map(|vs| {
            vs.real_servers
                .iter()
                .map(|rs| (vs.service.key, rs.dest.addr))
        })
        .collect()
}

/// Every checker the engine would run for `config`, in the engine's order (virtual servers,
/// real servers, checkers as written; those keepalived drops left out).
pub fn checker_settings(config: &[VirtualServerConfig]) -> Vec<CheckerSettings> {
    let mut out = Vec::new();
    for vs in plan::plan(config) {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                let (class, timeout) = match &c.kind {
                    CheckerKind::Tcp(conn) => (CheckerClass::Tcp, conn.timeout),
                    CheckerKind::Http {
                        connect,
                        urls,
                        fast_recovery,
                        ..
                    } => (
                        CheckerClass::Http {
                            urls: urls.iter().map(|u| u.url.clone()).collect(),
                            fast_recovery: *fast_recovery,
                        },
                        connect.timeout,
                    ),
                    CheckerKind::Misc {
                        timeout, dynamic, ..
                    } => (CheckerClass::Misc { dynamic: *dynamic }, *timeout),
                };
                out.push(CheckerSettings {
                    service: vs.service.key,
                    real_server: rs.dest.addr,
                    class,
                    retry: c.retry,
                    delay_loop: c.delay_loop,
                    delay_before_retry: c.delay_before_retry,
                    warmup: c.warmup,
                    timeout,
                    alpha: c.alpha,
                    inhibit: rs.inhibit,
                });
            }
        }
    }
    out
}

/// A small deterministic generator (SplitMix64) for the start-up spread of checkers
/// (keepalived draws it from `random()`): the same seed gives the same schedule.
#[derive(Clone, Debug)]
struct SplitMix(u64);

impl SplitMix {
    fn next_fraction(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The check engine of one host: every virtual server, real server and checker.
#[derive(Clone, Debug)]
pub(crate) struct Lvs {
    pub servers: Vec<VsState>,
    pub checkers: Vec<Checker>,
}

impl Lvs {
    /// The check engine for `config` at `now`: checkers first probe after 1 s plus a random
    /// part of their `warmup` drawn from `seed`.
    pub fn new(config: &[VirtualServerConfig], now: Instant, seed: u64) -> Lvs {
        let mut rng = SplitMix(seed);
        let servers: Vec<VsState> = plan::plan(config).into_iter().map(VsState::new).collect();
        let mut checkers = Vec::new();
        for (v, vs) in servers.iter().enumerate() {
            for (r, rs) in vs.real_servers.iter().enumerate() {
                for c in &rs.plan.checkers {
                    let first = Checker::first_at(now, c.warmup, rng.next_fraction());
                    checkers.push(Checker::new(c.clone(), v, r, first));
                }
            }
        }
        Lvs { servers, checkers }
    }

    /// Programs every virtual server (keepalived's `init_services`).
    pub fn start(&mut self, out: &mut VecDeque<Output>) {
        for vs in &mut self.servers {
            vs.init(out);
        }
    }

    /// Starts checker `c`'s probe, due at `now`.
    pub fn fire(&mut self, c: usize, now: Instant, out: &mut VecDeque<Output>) {
        let ch = &mut self.checkers[c];
        let probe = ch.start(now);
        out.push_back(Output::RunProbe {
            checker: CheckerId(c as u32),
            seq: ch.seq,
            probe,
        });
    }

    /// A probe's result; stale or unknown ones are ignored (`false`).
    pub fn result(
        &mut self,
        id: CheckerId,
        seq: u64,
        result: &ProbeResult,
        now: Instant,
        out: &mut VecDeque<Output>,
    ) -> bool {
        let Some(ch) = self.checkers.get_mut(id.0 as usize) else {
            return false;
        };
        if !ch.in_flight || ch.seq != seq {
            return false;
        }
        let vs = &mut self.servers[ch.vs];
        ch.finish(now, result, vs, out);
        true
    }

    /// Takes every virtual server out of IPVS (keepalived's `clear_services` on exit) and
    /// stops the checkers.
    pub fn shutdown(&mut self, out: &mut VecDeque<Output>) {
        for vs in &mut self.servers {
            vs.clear(out);
        }
        for ch in &mut self.checkers {
            ch.next = None;
            ch.in_flight = false;
        }
    }
}

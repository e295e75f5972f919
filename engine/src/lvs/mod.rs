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

mod checker;
mod plan;
mod pool;

use crate::config::VirtualServerConfig;
use crate::io::Output;
use crate::time::Instant;
use checker::Checker;
use pool::VsState;
use std::collections::VecDeque;

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

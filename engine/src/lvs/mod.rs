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
//! - `plan`: the configuration resolved (keepalived's inheritance and defaults);
//! - `pool`: one virtual server at run time (alive real servers, weights, quorum, sorry
//!   server) and the IPVS commands, as keepalived's `ipwrapper.c` issues them;
//! - `checker`: one checker's schedule and verdicts (TCP, HTTP/SSL, MISC);
//! - this file: `Lvs`, every virtual server and checker of a host, start-up, results,
//!   reload and shutdown; [`checker_settings`]: every checker with its settings resolved
//!   (inheritance and keepalived's defaults), for drivers and tools that reason about
//!   checker timing.

pub mod ipvs;
pub mod probe;

pub use ipvs::{Forwarding, IpvsChange, IpvsDest, IpvsService, IpvsTable, Protocol, ServiceKey};
pub use probe::{CheckerId, Connect, HttpVersion, Probe, ProbeResult};

mod checker;
mod mail;
mod plan;
mod pool;

use crate::config::{GlobalConfig, UrlConfig, VirtualServerConfig, VirtualServerGroupConfig};
use crate::io::Output;
use crate::time::Instant;
use checker::Checker;
use core::net::SocketAddr;
use core::time::Duration;
use mail::MailCtx;
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

/// Whether `config` has a virtual server the engine will program, a `virtual_server group`
/// included: keepalived 2.2.7's `start_check` initialises IPVS (and stops with "IPVS: Can't
/// initialize ipvs" without it) when a virtual server is left after `validate_check_config`
/// has dropped those without real servers.
pub fn needs_ipvs(config: &crate::config::Config) -> bool {
    !plan::plan(
        &config.virtual_servers,
        &config.virtual_server_groups,
        &config.global,
    )
    .is_empty()
}

/// Every real server of `config` the engine would program, with its service, in the
/// engine's order (addresses completed as IPVS gets them; sorry servers not included).
/// A group's virtual server is named by its first service.
pub fn real_servers(config: &crate::config::Config) -> Vec<(ServiceKey, SocketAddr)> {
    plan::plan(
        &config.virtual_servers,
        &config.virtual_server_groups,
        &config.global,
    )
    .iter()
    .flat_map(|vs| {
        vs.real_servers
            .iter()
            .map(|rs| (vs.services[0].key, rs.dest.addr))
    })
    .collect()
}

/// Every checker the engine would run for `config`, in the engine's order (virtual servers,
/// real servers, checkers as written; those keepalived drops left out).
pub fn checker_settings(config: &crate::config::Config) -> Vec<CheckerSettings> {
    let mut out = Vec::new();
    for vs in plan::plan(
        &config.virtual_servers,
        &config.virtual_server_groups,
        &config.global,
    ) {
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
                    service: vs.services[0].key,
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
    rng: SplitMix,
    /// The last probe sequence number: unique across reloads, so a result for a checker a
    /// reload replaced is stale for its successor.
    last_seq: u64,
}

/// What a reload did to the virtual servers, by service (for logs).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LvsReload {
    /// Kept (state carried over).
    pub kept: Vec<ServiceKey>,
    /// No longer configured: taken out of IPVS.
    pub removed: Vec<ServiceKey>,
    /// New: programmed.
    pub added: Vec<ServiceKey>,
}

impl Lvs {
    /// The check engine for `config` at `now`: checkers first probe after 1 s plus a random
    /// part of their `warmup` drawn from `seed`. `global` holds the mail settings.
    pub fn new(
        global: &GlobalConfig,
        config: &[VirtualServerConfig],
        groups: &[VirtualServerGroupConfig],
        now: Instant,
        seed: u64,
    ) -> Lvs {
        let mut lvs = Lvs {
            servers: Vec::new(),
            checkers: Vec::new(),
            rng: SplitMix(seed),
            last_seq: 0,
        };
        let mail = MailCtx::of(global);
        lvs.servers = plan::plan(config, groups, global)
            .into_iter()
            .map(|p| VsState::new(p, false, mail))
            .collect();
        lvs.checkers = lvs.build_checkers(now, false);
        lvs
    }

    /// Every checker of the current servers, first probing 1 s plus a part of `warmup`
    /// from `now` (`register_checkers_thread`, also after a reload).
    fn build_checkers(&mut self, now: Instant, reload: bool) -> Vec<Checker> {
        let mut checkers = Vec::new();
        for (v, vs) in self.servers.iter().enumerate() {
            for (r, rs) in vs.real_servers.iter().enumerate() {
                for c in &rs.plan.checkers {
                    let first = Checker::first_at(now, c.warmup, self.rng.next_fraction());
                    checkers.push(Checker::new(c.clone(), v, r, first, reload));
                }
            }
        }
        checkers
    }

    /// Programs every virtual server (keepalived's `init_services`).
    pub fn start(&mut self, out: &mut VecDeque<Output>) {
        for vs in &mut self.servers {
            vs.init(false, out);
        }
    }

    /// keepalived's reload of the checker process (`clear_diff_services`,
    /// `migrate_checkers`, `init_services`, `register_checkers_thread`): virtual servers
    /// matched by service; see `VsState::take_over` for what carries over. Every checker
    /// starts again after the bootstrap delay.
    pub fn reconfigure(
        &mut self,
        global: &GlobalConfig,
        config: &[VirtualServerConfig],
        groups: &[VirtualServerGroupConfig],
        now: Instant,
        out: &mut VecDeque<Output>,
    ) -> LvsReload {
        let mut summary = LvsReload::default();
        let mut old_servers = core::mem::take(&mut self.servers);
        let old_checkers = core::mem::take(&mut self.checkers);
        let mail = MailCtx::of(global);
        self.servers = plan::plan(config, groups, global)
            .into_iter()
            .map(|p| VsState::new(p, true, mail))
            .collect();
        // Mails about the old servers go with the new `global_defs` (keepalived's
        // `smtp_alert` reads the global data in force), their own `smtp_alert` as it was.
        for old in &mut old_servers {
            old.mail = mail;
        }
        self.checkers = self.build_checkers(now, true);
        // For each new (vs, rs): the old (vs, rs) it continues.
        let mut continues: Vec<Vec<Option<(usize, usize)>>> = self
            .servers
            .iter()
            .map(|v| vec![None; v.real_servers.len()])
            .collect();
        for (ov, old) in old_servers.iter_mut().enumerate() {
            match self.servers.iter().position(|n| n.identity == old.identity) {
                None => {
                    summary.removed.push(old.key());
                    old.clear(false, out);
                }
                Some(nv) => {
                    summary.kept.push(old.key());
                    let map = self.servers[nv].take_over(old, out);
                    for (nr, or) in map.into_iter().enumerate() {
                        continues[nv][nr] = or.map(|or| (ov, or));
                    }
                }
            }
        }
        // migrate_checkers, real server by real server.
        for (nv, rss) in continues.iter().enumerate() {
            for (nr, from) in rss.iter().enumerate() {
                let Some((ov, or)) = *from else { continue };
                let old: Vec<&Checker> = old_checkers
                    .iter()
                    .filter(|c| c.vs == ov && c.rs == or)
                    .collect();
                let mine: Vec<usize> = (0..self.checkers.len())
                    .filter(|&c| self.checkers[c].vs == nv && self.checkers[c].rs == nr)
                    .collect();
                for &c in &mine {
                    if let Some(o) = old.iter().find(|o| o.same_kind(&self.checkers[c])) {
                        self.checkers[c].migrate(o);
                    }
                }
                let failed = mine
                    .iter()
                    .filter(|&&c| self.checkers[c].flags.has_run && !self.checkers[c].flags.is_up)
                    .count() as u32;
                let any_ran = mine.iter().any(|&c| self.checkers[c].flags.has_run);
                if failed > 0 || (!self.servers[nv].real_servers[nr].alive && !any_ran) {
                    for &c in &mine {
                        self.checkers[c].start_pessimistic();
                    }
                }
                let failed = mine
                    .iter()
                    .filter(|&&c| !self.checkers[c].flags.is_up)
                    .count() as u32;
                self.servers[nv].settle_migrated(nr, failed, out);
            }
        }
        for vs in &mut self.servers {
            if !vs.added {
                summary.added.push(vs.key());
            }
            vs.init(true, out);
        }
        summary
    }

    /// Starts checker `c`'s probe, due at `now`.
    pub fn fire(&mut self, c: usize, now: Instant, out: &mut VecDeque<Output>) {
        self.last_seq += 1;
        let seq = self.last_seq;
        let probe = self.checkers[c].start(now, seq);
        out.push_back(Output::RunProbe {
            checker: CheckerId(c as u32),
            seq,
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

    /// The state of every virtual server, for [`crate::Engine::snapshot`].
    pub fn snapshot(&self) -> Vec<crate::snapshot::VirtualServerSnapshot> {
        use crate::snapshot::{CheckerSnapshot, RealServerSnapshot, VirtualServerSnapshot};
        self.servers
            .iter()
            .enumerate()
            .map(|(v, vs)| VirtualServerSnapshot {
                service: vs.key(),
                quorum_up: vs.quorum_up,
                sorry_active: vs.sorry.as_ref().is_some_and(|s| s.alive),
                real_servers: vs
                    .real_servers
                    .iter()
                    .enumerate()
                    .map(|(r, rs)| RealServerSnapshot {
                        addr: rs.plan.dest.addr,
                        alive: rs.alive,
                        weight: rs.effective,
                        failed_checkers: rs.num_failed,
                        checkers_up: self
                            .checkers
                            .iter()
                            .filter(|c| c.vs == v && c.rs == r)
                            .map(|c| c.flags.is_up)
                            .collect(),
                        checkers: self
                            .checkers
                            .iter()
                            .filter(|c| c.vs == v && c.rs == r)
                            .map(|c| CheckerSnapshot {
                                kind: c.kind_name().to_string(),
                                up: c.flags.is_up,
                                has_run: c.flags.has_run,
                                last_probe: c.last_probe,
                                probes_passed: c.probes_passed,
                                probes_failed: c.probes_failed,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// Takes every virtual server out of IPVS (keepalived's `clear_services` on exit) and
    /// stops the checkers.
    pub fn shutdown(&mut self, out: &mut VecDeque<Output>) {
        for vs in &mut self.servers {
            vs.clear(true, out);
        }
        for ch in &mut self.checkers {
            ch.next = None;
            ch.in_flight = false;
        }
    }
}

//! The LVS side of a run, whatever backend moves the packets: real servers as model objects
//! (their state set by the timeline), each director's IPVS table (built from its engine's
//! changes), the answers to the directors' probes, the clients' requests through the
//! director's scheduler, and the detection and recovery time of every real-server fault.
//!
//! Modelling choices (`docs/experiments.md` says the same):
//! - A probe's result is decided from the real server's state when the probe starts, and
//!   reported when it ends: a healthy probe takes one round trip (two draws of the server's
//!   one-way latency), `down` refuses after one round trip, `blackhole` never answers (the
//!   probe ends at its timeout), `slow` answers `delay` after the round trip (a timeout past
//!   the probe's timeout), `http_status` answers HTTP with that status, `wrong_body` answers
//!   200 with a body whose MD5 differs from the URL's `digest`. A healthy HTTP server's body
//!   is the one the URL's `digest` was computed from (any body when the URL has none).
//!   TCP_CHECK connects to a server in `http_status` or `wrong_body` (its kernel still
//!   accepts). MISC_CHECK exits with the server's `misc_exit` (default 0) while it is up,
//!   1 in every fault state, and is killed at `misc_timeout` when the server does not answer.
//!   Probes do not see the LAN's faults (the real servers sit on their own network).
//! - Requests go to the virtual service's address: when it is a VIP, to the node the sending
//!   client's ARP entry points at (the world's view), else to the lowest-numbered answering
//!   node whose table has the service. The director picks a destination of weight above 0:
//!   `rr` in address order, every other scheduler as the kernel's `wrr` (weighted round
//!   robin; `wlc`, `lc`, `sh`, ... are approximated by it). A persistent service keeps a
//!   template per client address for `persistence_timeout` after its last request; as in the
//!   kernel with `expire_quiescent_template` 0 (its default), a template to a destination of
//!   weight 0 (`inhibit_on_failure`) is still used; one to a removed destination is not.
//! - A request is an error when its real server is in any fault state (`slow` included),
//!   unserved when no director answers or has no destination, and counted apart when the
//!   sorry server takes it.
//! - A real server whose checkers have `alpha` starts out of the table at each start of a
//!   director's daemon: that start is followed as a fault of kind `alpha` (nothing to
//!   detect: `up_at` is the start), its recovery the first entry into the table, against
//!   [`alpha_entry_bounds`]. A fault or a stop before the entry leaves it unmeasured.
//! - Random numbers: probe round trips and requests each draw from their own ChaCha8
//!   stream seeded from the run's seed, so adding LVS to an experiment leaves its other
//!   random draws as they were, and both backends draw the same requests.

use crate::backend::net::sample_latency;
use crate::draw;
use crate::experiment::model::{RsState, Variant};
use crate::experiment::schema::LatencySpec;
use crate::observe::metrics::{LvsFault, LvsResult};
use crate::observe::world::World;
use crate::report::theory::{alpha_entry_bounds, detection_bounds, recovery_bounds, Bounds};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use vrrp_engine::lvs::ipvs::SVC_F_PERSISTENT;
use vrrp_engine::lvs::{
    checker_settings, CheckerClass, CheckerSettings, IpvsChange, IpvsTable, Probe, ProbeResult,
    Protocol, ServiceKey,
};
use vrrp_engine::Instant;

/// The body digest a healthy server returns for a URL without `digest`.
const ANY_BODY_MD5: [u8; 16] = *b"simulated-body-0";
/// Length of every simulated body (keepalived fails an empty one).
const BODY_LEN: u64 = 2;
/// Stream of the probe round trips (mixed into the run's seed).
const PROBE_STREAM: u64 = 0x4C56_535F_5052_4F42;
/// Stream of the client requests.
const CLIENT_STREAM: u64 = 0x4C56_535F_434C_4E54;

/// One real server at run time.
#[derive(Clone, Debug)]
struct Server {
    addr: SocketAddr,
    latency: Option<LatencySpec>,
    state: RsState,
    misc_exit: u8,
}

/// The clients' request process.
#[derive(Clone, Debug)]
struct Clients {
    rate: f64,
    poisson: bool,
    sources: u32,
    service: ServiceKey,
    start: Instant,
    rng: ChaCha8Rng,
    next: Instant,
    k: u64,
}

impl Clients {
    /// The client of the request due now, and the next request's time.
    fn step(&mut self) -> (Instant, u32) {
        let t = self.next;
        let source = if self.poisson {
            draw::below_u32(&mut self.rng, self.sources)
        } else {
            (self.k % u64::from(self.sources)) as u32
        };
        self.k += 1;
        self.next = if self.poisson {
            let u = draw::unit(&mut self.rng);
            t + Duration::from_secs_f64(-(1.0 - u).ln() / self.rate)
        } else {
            // From the start, so rounding does not accumulate.
            self.start + Duration::from_secs_f64(self.k as f64 / self.rate)
        };
        (t, source)
    }
}

/// A director's scheduler state for one service.
#[derive(Clone, Debug, Default)]
struct Sched {
    /// rr: the destination picked last.
    last: Option<SocketAddr>,
    /// wrr: the list position (`None`: the list head) and the current weight.
    pos: Option<usize>,
    cw: i64,
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Sched {
    /// The destination of the next new connection among `dests` (address order, weights).
    fn pick(&mut self, scheduler: &str, dests: &[(SocketAddr, u32)]) -> Option<SocketAddr> {
        let live = || dests.iter().filter(|d| d.1 > 0);
        if scheduler == "rr" {
            // ip_vs_rr: the next destination after the last one, circularly, weight above 0.
            let pick = match self.last {
                Some(last) => live()
                    .find(|d| d.0 > last)
                    .or_else(|| live().next())
                    .map(|d| d.0),
                None => live().next().map(|d| d.0),
            };
            self.last = pick.or(self.last);
            return pick;
        }
        // ip_vs_wrr_schedule: walk the list; at its head lower the current weight by the
        // weights' gcd (back to the largest weight below 1); take a destination whose weight
        // reaches the current weight.
        let mw = live().map(|d| i64::from(d.1)).max()?;
        let di = live().fold(0, |g, d| gcd(i64::from(d.1), g)).max(1);
        if self.cw > mw || self.cw <= 0 {
            self.cw = mw;
        }
        if self.pos.is_some_and(|p| p >= dests.len()) {
            self.pos = None;
        }
        let n = dests.len();
        let bound = 2 * (n + 1) * (mw / di + 1) as usize + 2;
        for _ in 0..bound {
            match self.pos {
                None => {
                    self.pos = Some(0);
                    self.cw -= di;
                    if self.cw <= 0 {
                        self.cw = mw;
                    }
                }
                Some(i) => self.pos = (i + 1 < n).then_some(i + 1),
            }
            if let Some(i) = self.pos {
                if i64::from(dests[i].1) >= self.cw {
                    return Some(dests[i].0);
                }
            }
        }
        None
    }
}

/// One fault on one real server (or an `alpha` start-up, `state` `None`), followed on one
/// director.
#[derive(Clone, Debug)]
struct Record {
    node: usize,
    service: ServiceKey,
    rs: SocketAddr,
    state: Option<RsState>,
    checkers: String,
    t_fault: Instant,
    detected: Option<Instant>,
    detection: Bounds,
    up: Option<Instant>,
    recovered: Option<Instant>,
    recovery: Bounds,
    open: bool,
}

/// The LVS side of one run.
pub struct Lvs {
    /// Whether any configuration of the variant has a virtual server.
    active: bool,
    servers: Vec<Server>,
    default_latency: LatencySpec,
    /// Per node: its checkers, settings resolved.
    settings: Vec<Vec<CheckerSettings>>,
    names: Vec<String>,
    /// Per node: the IPVS table its engine's changes built (it outlives a crashed daemon,
    /// as the kernel's does).
    tables: Vec<IpvsTable>,
    /// Per node: its daemon runs.
    running: Vec<bool>,
    sched: BTreeMap<(usize, ServiceKey), Sched>,
    /// Persistence templates: (node, service, client) -> (destination, last use).
    templates: BTreeMap<(usize, ServiceKey, u32), (SocketAddr, Instant)>,
    probe_rng: ChaCha8Rng,
    clients: Option<Clients>,
    records: Vec<Record>,
    result: LvsResult,
}

impl Lvs {
    /// The LVS side of `variant` run with `seed`.
    pub fn new(variant: &Variant, seed: u64) -> Lvs {
        let settings: Vec<Vec<CheckerSettings>> = variant
            .nodes
            .iter()
            .map(|n| checker_settings(&n.config))
            .collect();
        let active = variant
            .nodes
            .iter()
            .any(|n| !n.config.virtual_servers.is_empty())
            || !variant.real_servers.is_empty();
        let first_service = variant
            .nodes
            .iter()
            .flat_map(|n| n.config.virtual_servers.iter())
            .find_map(|vs| vs.service);
        let clients = variant.lvs_clients.as_ref().and_then(|c| {
            let service = match c.service {
                Some(addr) => Some(ServiceKey::Addr {
                    protocol: Protocol::Tcp,
                    addr,
                }),
                None => first_service,
            }?;
            let start = Instant::from_offset(c.start);
            Some(Clients {
                rate: c.rate,
                poisson: c.poisson,
                sources: c.sources.max(1),
                service,
                start,
                rng: ChaCha8Rng::seed_from_u64(seed ^ CLIENT_STREAM),
                next: start,
                k: 0,
            })
        });
        let n = variant.nodes.len();
        Lvs {
            active,
            servers: variant
                .real_servers
                .iter()
                .map(|m| Server {
                    addr: m.addr,
                    latency: m.latency.clone(),
                    state: m.state,
                    misc_exit: m.misc_exit,
                })
                .collect(),
            default_latency: variant.network.default.latency.clone(),
            settings,
            names: variant.nodes.iter().map(|p| p.name.clone()).collect(),
            tables: vec![IpvsTable::default(); n],
            running: vec![false; n],
            sched: BTreeMap::new(),
            templates: BTreeMap::new(),
            probe_rng: ChaCha8Rng::seed_from_u64(seed ^ PROBE_STREAM),
            clients,
            records: Vec::new(),
            result: LvsResult::default(),
        }
    }

    /// Whether the run has an LVS side at all.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Whether requests are being sent (so every change of the world matters).
    pub fn has_clients(&self) -> bool {
        self.clients.is_some()
    }

    /// Node `n`'s IPVS table as its engine's changes built it.
    pub fn table(&self, n: usize) -> Option<&IpvsTable> {
        self.tables.get(n)
    }

    /// Node `n`'s daemon started at `now`: its real servers with `alpha` are followed until
    /// they enter its table.
    pub fn node_started(&mut self, now: Instant, n: usize) {
        let Some(r) = self.running.get_mut(n) else {
            return;
        };
        *r = true;
        let mut pairs: Vec<(ServiceKey, SocketAddr)> = self.settings[n]
            .iter()
            .filter(|c| c.alpha)
            .map(|c| (c.service, c.real_server))
            .collect();
        pairs.dedup();
        for (service, rs) in pairs {
            let healthy = self
                .server(rs)
                .is_none_or(|i| self.servers[i].state == RsState::Up);
            if !healthy || self.active_in(n, &service, rs) {
                continue;
            }
            let checkers: Vec<&CheckerSettings> = self.settings[n]
                .iter()
                .filter(|c| c.service == service && c.real_server == rs)
                .collect();
            let record = Record {
                node: n,
                service,
                rs,
                state: None,
                checkers: checker_names(&checkers),
                t_fault: now,
                detected: None,
                detection: Bounds::Never,
                up: Some(now),
                recovered: None,
                recovery: alpha_entry_bounds(&checkers, self.rtt_bounds(rs)),
                open: true,
            };
            self.records.push(record);
        }
    }

    /// Node `n`'s daemon is gone: faults it was following end unmeasured.
    pub fn node_gone(&mut self, n: usize) {
        if let Some(r) = self.running.get_mut(n) {
            *r = false;
        }
        for r in self.records.iter_mut().filter(|r| r.node == n && r.open) {
            r.open = false;
            if r.state.is_none() {
                r.recovery = Bounds::Unknown;
            }
        }
    }

    fn server(&self, addr: SocketAddr) -> Option<usize> {
        self.servers.iter().position(|s| s.addr == addr)
    }

    fn active_in(&self, n: usize, service: &ServiceKey, rs: SocketAddr) -> bool {
        self.tables[n]
            .services
            .get(service)
            .and_then(|(_, d)| d.get(&rs))
            .is_some_and(|d| d.weight > 0)
    }

    /// One IPVS change of node `n` at `now`: the table, then the faults it detects or ends.
    pub fn ipvs(&mut self, now: Instant, n: usize, change: &IpvsChange) {
        let Some(table) = self.tables.get_mut(n) else {
            return;
        };
        table.apply(change);
        for k in 0..self.records.len() {
            let r = &self.records[k];
            if r.node != n || !r.open {
                continue;
            }
            let active = self.active_in(n, &r.service, r.rs);
            let r = &mut self.records[k];
            if r.state.is_none() {
                // An alpha start-up: its entry.
                if active {
                    r.recovered = Some(now);
                    r.open = false;
                }
            } else if r.detected.is_none() {
                if !active {
                    r.detected = Some(now);
                }
            } else if r.up.is_some() && active {
                r.recovered = Some(now);
                r.open = false;
            }
        }
    }

    /// The round-trip range `(min, max)` of real server `addr`.
    fn rtt_bounds(&self, addr: SocketAddr) -> (Duration, Duration) {
        let l = self
            .server(addr)
            .and_then(|i| self.servers[i].latency.clone())
            .unwrap_or_else(|| self.default_latency.clone());
        match l {
            LatencySpec::Fixed(d) => (d.0 * 2, d.0 * 2),
            LatencySpec::Range(r) => (r.min.0 * 2, r.max.0.max(r.min.0) * 2),
        }
    }

    /// Real server `addr` enters `state` at `now` (a timeline fault).
    pub fn set_state(&mut self, now: Instant, addr: SocketAddr, state: RsState) {
        let Some(i) = self.server(addr) else {
            return;
        };
        let before = std::mem::replace(&mut self.servers[i].state, state);
        if before == RsState::Up && state != RsState::Up {
            // An alpha start-up not over yet: no longer the formula's case.
            for r in self.records.iter_mut() {
                if r.rs == addr && r.open && r.state.is_none() {
                    r.open = false;
                    r.recovery = Bounds::Unknown;
                }
            }
            let rtt = self.rtt_bounds(addr);
            for n in 0..self.tables.len() {
                if !self.running[n] {
                    continue;
                }
                let services: Vec<ServiceKey> = self.tables[n]
                    .services
                    .keys()
                    .copied()
                    .filter(|k| self.active_in(n, k, addr))
                    .collect();
                for service in services {
                    let checkers: Vec<&CheckerSettings> = self.settings[n]
                        .iter()
                        .filter(|c| c.service == service && c.real_server == addr)
                        .collect();
                    let record = Record {
                        node: n,
                        service,
                        rs: addr,
                        state: Some(state),
                        checkers: checker_names(&checkers),
                        t_fault: now,
                        detected: None,
                        detection: detection_bounds(&checkers, state, rtt),
                        up: None,
                        recovered: None,
                        recovery: recovery_bounds(&checkers, state, rtt),
                        open: true,
                    };
                    self.records.push(record);
                }
            }
        } else if before != RsState::Up && state == RsState::Up {
            for r in self
                .records
                .iter_mut()
                .filter(|r| r.rs == addr && r.open && r.state.is_some())
            {
                if r.detected.is_some() {
                    r.up = Some(now);
                } else {
                    // It ended before any director noticed.
                    r.open = false;
                }
            }
        }
    }

    /// What a probe of node `n`'s checker (for real server `owner`) finds: how long it
    /// takes and its result.
    pub fn probe(
        &mut self,
        n: usize,
        owner: Option<SocketAddr>,
        probe: &Probe,
    ) -> (Duration, ProbeResult) {
        let target = probe.target();
        let idx = target
            .and_then(|t| self.server(t))
            .or_else(|| {
                target.and_then(|t| self.servers.iter().position(|s| s.addr.ip() == t.ip()))
            })
            .or_else(|| owner.and_then(|o| self.server(o)));
        let (latency, state, misc_exit) = match idx {
            Some(i) => {
                let s = &self.servers[i];
                (
                    s.latency
                        .clone()
                        .unwrap_or_else(|| self.default_latency.clone()),
                    s.state,
                    s.misc_exit,
                )
            }
            None => (self.default_latency.clone(), RsState::Up, 0),
        };
        let rtt = sample_latency(&latency, &mut self.probe_rng)
            + sample_latency(&latency, &mut self.probe_rng);
        let (timeout, misc) = match probe {
            Probe::Tcp { connect } | Probe::Http { connect, .. } => (connect.timeout, false),
            Probe::Misc { timeout, .. } => (*timeout, true),
        };
        let no_answer = || {
            if misc {
                ProbeResult::Killed
            } else {
                ProbeResult::Timeout
            }
        };
        let expected = match probe {
            Probe::Http { path, .. } => self.expected_digest(n, owner, path),
            _ => None,
        };
        let http = |status: u16, md5: [u8; 16]| ProbeResult::Http {
            status,
            body_md5: md5,
            body_len: BODY_LEN,
        };
        let good_md5 = expected.unwrap_or(ANY_BODY_MD5);
        let healthy = || match probe {
            Probe::Tcp { .. } => ProbeResult::Connected,
            Probe::Http { .. } => http(200, good_md5),
            Probe::Misc { .. } => ProbeResult::Exit(misc_exit),
        };
        let failing = |tcp: ProbeResult, web: ProbeResult| match probe {
            Probe::Tcp { .. } => tcp,
            Probe::Http { .. } => web,
            Probe::Misc { .. } => ProbeResult::Exit(1),
        };
        let (after, result) = match state {
            RsState::Up => (rtt, healthy()),
            RsState::Down => (rtt, failing(ProbeResult::Refused, ProbeResult::Refused)),
            RsState::Blackhole => (timeout, no_answer()),
            RsState::Slow(d) => (rtt + d, healthy()),
            RsState::HttpStatus(code) => {
                (rtt, failing(ProbeResult::Connected, http(code, good_md5)))
            }
            RsState::WrongBody => {
                let mut wrong = good_md5;
                wrong[0] ^= 0xff;
                (rtt, failing(ProbeResult::Connected, http(200, wrong)))
            }
        };
        if after > timeout {
            (timeout, no_answer())
        } else {
            (after, result)
        }
    }

    /// The `digest` of the URL `path` of node `n`'s HTTP checker of `owner`.
    fn expected_digest(&self, n: usize, owner: Option<SocketAddr>, path: &str) -> Option<[u8; 16]> {
        self.settings.get(n)?.iter().find_map(|c| match &c.class {
            CheckerClass::Http { urls, .. } if Some(c.real_server) == owner => {
                urls.iter().find(|u| u.path == path).and_then(|u| u.digest)
            }
            _ => None,
        })
    }

    /// Sends every request due before `now` through the world as it stands (the world and
    /// the tables are constant between two calls).
    pub fn advance(&mut self, now: Instant, world: &World) {
        loop {
            let (t, source) = match self.clients.as_mut() {
                Some(c) if c.next < now => c.step(),
                _ => return,
            };
            self.request(t, source, world);
        }
    }

    /// The director of `service` for client `source`.
    fn director(&self, world: &World, service: &ServiceKey, source: u32) -> Option<usize> {
        if let ServiceKey::Addr { addr, .. } = service {
            if world.vips.binary_search(&addr.ip()).is_ok() {
                let n = world.target(source as usize % world.clients(), addr.ip())?;
                return world.answers(n).then_some(n);
            }
        }
        (0..self.tables.len())
            .find(|&n| world.answers(n) && self.tables[n].services.contains_key(service))
    }

    fn request(&mut self, t: Instant, source: u32, world: &World) {
        self.result.requests += 1;
        let Some(service) = self.clients.as_ref().map(|c| c.service) else {
            return;
        };
        let Some(n) = self.director(world, &service, source) else {
            self.result.unserved += 1;
            return;
        };
        let Lvs {
            tables,
            sched,
            templates,
            servers,
            result,
            ..
        } = self;
        let Some((svc, dests)) = tables[n].services.get(&service) else {
            result.unserved += 1;
            return;
        };
        let persistent = svc.flags & SVC_F_PERSISTENT != 0 && svc.timeout > 0;
        let key = (n, service, source);
        let mut dest = None;
        if persistent {
            if let Some(&(addr, last)) = templates.get(&key) {
                let valid = t < last + Duration::from_secs(u64::from(svc.timeout));
                if valid && dests.contains_key(&addr) {
                    dest = Some(addr);
                }
            }
        }
        if dest.is_none() {
            let list: Vec<(SocketAddr, u32)> = dests.values().map(|d| (d.addr, d.weight)).collect();
            dest = sched
                .entry((n, service))
                .or_default()
                .pick(&svc.scheduler, &list);
        }
        let Some(addr) = dest else {
            result.unserved += 1;
            return;
        };
        if persistent {
            templates.insert(key, (addr, t));
        }
        match servers.iter().find(|s| s.addr == addr) {
            Some(s) if s.state == RsState::Up => {}
            Some(_) => result.errors += 1,
            None => result.sorry += 1,
        }
    }

    /// The run's LVS results at `end` (requests sent up to `end`), or `None` without LVS.
    pub fn finish(mut self, end: Instant, world: &World) -> Option<LvsResult> {
        if !self.active {
            return None;
        }
        self.advance(end, world);
        let secs = |t: Instant| t.offset().as_secs_f64();
        let band = |b: Bounds| match b {
            Bounds::Range(lo, hi) => Some((lo.as_secs_f64(), hi.as_secs_f64())),
            _ => None,
        };
        let within = |b: Bounds, d: Option<Duration>| match (b, d) {
            (Bounds::Range(lo, hi), Some(d)) => Some(lo <= d && d <= hi),
            _ => None,
        };
        let mut result = self.result;
        for r in self.records {
            let detection = r.detected.map(|d| d - r.t_fault);
            let recovery = match (r.up, r.recovered) {
                (Some(u), Some(x)) => Some(x - u),
                _ => None,
            };
            result.faults.push(LvsFault {
                node: self.names[r.node].clone(),
                service: r.service.to_string(),
                real_server: r.rs.to_string(),
                kind: r.state.map_or("alpha", |s| s.name()),
                fault: r
                    .state
                    .map_or_else(|| "alpha start-up".to_string(), |s| s.describe()),
                checkers: r.checkers,
                t_fault: secs(r.t_fault),
                detected_at: r.detected.map(secs),
                detection: detection.map(|d| d.as_secs_f64()),
                detection_bounds: band(r.detection),
                detection_within: within(r.detection, detection),
                up_at: r.up.map(secs),
                recovered_at: r.recovered.map(secs),
                recovery: recovery.map(|d| d.as_secs_f64()),
                recovery_bounds: band(r.recovery),
                recovery_within: within(r.recovery, recovery),
            });
        }
        Some(result)
    }
}

/// The checker names of a real server (`TCP_CHECK`, `HTTP_GET+MISC_CHECK`, `none`).
fn checker_names(checkers: &[&CheckerSettings]) -> String {
    let names: Vec<&str> = checkers
        .iter()
        .map(|c| match c.class {
            CheckerClass::Tcp => "TCP_CHECK",
            CheckerClass::Http { .. } => "HTTP_GET",
            CheckerClass::Misc { .. } => "MISC_CHECK",
        })
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join("+")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn wrr_follows_the_weights_and_rr_skips_weight_zero() {
        let dests = [
            (a("10.0.1.1:80"), 3),
            (a("10.0.1.2:80"), 1),
            (a("10.0.1.3:80"), 0),
        ];
        let mut s = Sched::default();
        let picks: Vec<SocketAddr> = (0..8).filter_map(|_| s.pick("wrr", &dests)).collect();
        let first = picks.iter().filter(|p| **p == dests[0].0).count();
        assert_eq!(first, 6, "{picks:?}");
        assert!(!picks.contains(&dests[2].0));
        let mut s = Sched::default();
        let picks: Vec<SocketAddr> = (0..4).filter_map(|_| s.pick("rr", &dests)).collect();
        assert_eq!(picks, [dests[0].0, dests[1].0, dests[0].0, dests[1].0]);
        assert_eq!(Sched::default().pick("wrr", &[(dests[2].0, 0)]), None);
    }
}

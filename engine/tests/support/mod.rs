//! Test support: configs with keepalived's defaults and a zero-or-fixed-latency LAN that
//! wires engines together and records every output with its time.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use vrrp_engine::config::{Config, InstanceConfig, IpPrefix, VirtualAddress};
use vrrp_engine::wire::{self, Advert, Auth, ChecksumMode};
use vrrp_engine::{
    CheckOutcome, Engine, Input, Instant, InterfaceUpdate, Output, RxPacket, State, Version,
};

/// The LAN's VIP.
pub const VIP: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 100);

/// The IPv4 prefix `a/len`.
pub fn pfx(a: [u8; 4], len: u8) -> IpPrefix {
    IpPrefix {
        addr: IpAddr::V4(Ipv4Addr::from(a)),
        len,
    }
}

/// Host address of node `n` (172.20.0.11, .12, ...), as in the seed lab.
pub fn host_addr(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(172, 20, 0, 11 + n as u8)
}

/// One instance VI_1 on eth0, VRID 51, with one VIP, and no `state` line: keepalived
/// derives `state MASTER` for priority 255, BACKUP otherwise (`vrrp_complete_instance`).
pub fn instance(priority: u8, version: Version, interval: Duration) -> InstanceConfig {
    let mut i = InstanceConfig::new("VI_1", "eth0", 51);
    i.priority = priority;
    if priority == 255 {
        i.initial_state = vrrp_engine::config::InitialState::Master;
    }
    i.version = version;
    i.advert_interval = interval;
    i.vips.push(VirtualAddress::host(IpAddr::V4(VIP)));
    i
}

/// A config holding just `inst`.
pub fn config(inst: InstanceConfig) -> Config {
    Config {
        instances: vec![inst],
        ..Config::default()
    }
}

/// The interface report for node `n`.
pub fn eth0(n: usize, up: bool) -> InterfaceUpdate {
    InterfaceUpdate {
        name: "eth0".into(),
        up,
        ipv4: Some(host_addr(n)),
        ipv6_link_local: None,
    }
}

/// An engine for node `n` started at `now` with its interface up.
pub fn started(cfg: Config, n: usize, now: Instant) -> Engine {
    let mut e = Engine::new(cfg, now).expect("valid config");
    e.handle(now, Input::Interface(eth0(n, true)));
    e
}

/// Seconds as an Instant.
pub fn secs(s: f64) -> Instant {
    Instant::from_nanos((s * 1e9).round() as u64)
}

/// An advert as a peer at `src` would send it, with a correct checksum.
pub fn advert_bytes(
    version: Version,
    vrid: u8,
    priority: u8,
    interval: u16,
    src: Ipv4Addr,
    auth: Auth,
) -> Vec<u8> {
    Advert {
        version,
        vrid,
        priority,
        interval,
        auth,
        addrs: vec![IpAddr::V4(VIP)],
    }
    .emit(
        IpAddr::V4(src),
        IpAddr::V4(vrrp_engine::types::MULTICAST_V4),
        ChecksumMode::PseudoHeader,
    )
}

/// Deliver `payload` to `e` as a multicast advert from `src` with TTL 255.
pub fn deliver(e: &mut Engine, now: Instant, src: Ipv4Addr, payload: &[u8]) {
    e.handle(
        now,
        Input::Packet(RxPacket {
            interface: "eth0",
            src: IpAddr::V4(src),
            dst: IpAddr::V4(vrrp_engine::types::MULTICAST_V4),
            ttl: 255,
            payload,
        }),
    );
}

/// Drain every output.
pub fn drain(e: &mut Engine) -> Vec<Output> {
    std::iter::from_fn(|| e.poll_output()).collect()
}

/// Drive `e` alone (no peers) through its timers up to `until`, answering checks with
/// `check(now)`, and return the outputs with their times.
pub fn run_alone(
    e: &mut Engine,
    until: Instant,
    mut check: impl FnMut(Instant) -> CheckOutcome,
) -> Vec<(Instant, Output)> {
    let mut log = Vec::new();
    let mut now = Instant::ZERO;
    loop {
        // Check results produce outputs at the same instant: drain until quiet.
        while let Some(o) = e.poll_output() {
            if let Output::RunCheck { script, seq, .. } = &o {
                let (script, seq) = (*script, *seq);
                log.push((now, o));
                e.handle(
                    now,
                    Input::CheckResult {
                        script,
                        seq,
                        outcome: check(now),
                    },
                );
                continue;
            }
            log.push((now, o));
        }
        match e.poll_timeout() {
            Some(t) if t <= until => {
                now = t.max(now);
                e.handle_timeout(now);
            }
            _ => break,
        }
    }
    log
}

/// State changes in a log, as (time, to-state).
pub fn transitions(log: &[(Instant, Output)]) -> Vec<(Instant, State)> {
    log.iter()
        .filter_map(|(t, o)| match o {
            Output::StateChanged(c) => Some((*t, c.to)),
            _ => None,
        })
        .collect()
}

/// A LAN of engines, one per node, all on "eth0", with a fixed one-way latency.
pub struct Lan {
    /// The engines; `None` while a node is down.
    pub nodes: Vec<Option<Engine>>,
    /// Current time.
    pub now: Instant,
    /// One-way latency.
    pub latency: Duration,
    queue: BTreeMap<(Instant, u64), (usize, vrrp_engine::Transmit)>,
    seq: u64,
    /// Every output with its time and node.
    pub log: Vec<(Instant, usize, Output)>,
    /// The outcome of a check run by node `n` at a time (default: every check passes).
    pub check: Box<dyn FnMut(usize, vrrp_engine::ScriptId, Instant) -> CheckOutcome>,
}

impl Lan {
    /// A LAN of the given configs, all started at time zero.
    pub fn new(configs: Vec<Config>, latency: Duration) -> Lan {
        let nodes = configs
            .into_iter()
            .enumerate()
            .map(|(n, c)| Some(started(c, n, Instant::ZERO)))
            .collect();
        Lan {
            nodes,
            now: Instant::ZERO,
            latency,
            queue: BTreeMap::new(),
            seq: 0,
            log: Vec::new(),
            check: Box::new(|_, _, _| CheckOutcome::Pass),
        }
    }

    fn collect(&mut self, n: usize) {
        // A check result's outputs come at the same instant: drain until quiet.
        while self.collect_once(n) {}
    }

    fn collect_once(&mut self, n: usize) -> bool {
        let Some(e) = self.nodes[n].as_mut() else {
            return false;
        };
        let outs = drain(e);
        let any = !outs.is_empty();
        for o in outs {
            match &o {
                Output::Transmit(t) => {
                    self.seq += 1;
                    self.queue
                        .insert((self.now + self.latency, self.seq), (n, t.clone()));
                }
                Output::RunCheck { script, seq, .. } => {
                    let input = Input::CheckResult {
                        script: *script,
                        seq: *seq,
                        outcome: (self.check)(n, *script, self.now),
                    };
                    if let Some(e) = self.nodes[n].as_mut() {
                        e.handle(self.now, input);
                    }
                }
                _ => {}
            }
            self.log.push((self.now, n, o));
        }
        any
    }

    /// Run until `until`.
    pub fn run_until(&mut self, until: Instant) {
        for n in 0..self.nodes.len() {
            self.collect(n);
        }
        loop {
            let timers = self.nodes.iter().flatten().filter_map(|e| e.poll_timeout());
            let packets = self.queue.keys().next().map(|k| k.0);
            let Some(next) = timers.chain(packets).min() else {
                break;
            };
            if next > until {
                break;
            }
            self.now = next.max(self.now);
            while let Some(entry) = self.queue.first_entry() {
                if entry.key().0 > self.now {
                    break;
                }
                let (from, t) = entry.remove();
                for n in 0..self.nodes.len() {
                    if n == from {
                        continue; // multicast loop is off
                    }
                    let addressed = t.dst.is_multicast() || t.dst == IpAddr::V4(host_addr(n));
                    if let (true, Some(e)) = (addressed, self.nodes[n].as_mut()) {
                        e.handle(
                            self.now,
                            Input::Packet(RxPacket {
                                interface: "eth0",
                                src: t.src,
                                dst: t.dst,
                                ttl: t.ttl,
                                payload: &t.payload,
                            }),
                        );
                    }
                    self.collect(n);
                }
            }
            for n in 0..self.nodes.len() {
                if let Some(e) = self.nodes[n].as_mut() {
                    if e.poll_timeout().is_some_and(|t| t <= self.now) {
                        e.handle_timeout(self.now);
                    }
                }
                self.collect(n);
            }
        }
        self.now = until.max(self.now);
    }

    /// Crash node `n`: it vanishes without a word.
    pub fn kill(&mut self, n: usize) {
        self.nodes[n] = None;
    }

    /// Feed an input to node `n` now.
    pub fn input(&mut self, n: usize, input: Input<'_>) {
        if let Some(e) = self.nodes[n].as_mut() {
            e.handle(self.now, input);
        }
        self.collect(n);
    }

    /// Current state of node `n`'s first instance.
    pub fn state(&self, n: usize) -> Option<State> {
        self.nodes[n]
            .as_ref()
            .map(|e| e.snapshot().instances[0].state)
    }

    /// State changes of node `n` as (time, to-state).
    pub fn transitions(&self, n: usize) -> Vec<(Instant, State)> {
        self.log
            .iter()
            .filter(|(_, m, _)| *m == n)
            .filter_map(|(t, _, o)| match o {
                Output::StateChanged(c) => Some((*t, c.to)),
                _ => None,
            })
            .collect()
    }

    /// Times of adverts node `n` sent, with their priority byte.
    pub fn adverts(&self, n: usize) -> Vec<(Instant, u8)> {
        self.log
            .iter()
            .filter(|(_, m, _)| *m == n)
            .filter_map(|(t, _, o)| match o {
                Output::Transmit(x) => Some((*t, wire::peek_priority(&x.payload)?)),
                _ => None,
            })
            .collect()
    }
}

impl Lan {
    /// Reconfigure node `n` now (keepalived's reload) and collect its outputs.
    pub fn reconfigure(&mut self, n: usize, cfg: Config) -> vrrp_engine::ReconfigureSummary {
        let e = self.nodes[n].as_mut().expect("node is up");
        let summary = e.reconfigure(self.now, cfg).expect("valid config");
        self.collect(n);
        summary
    }

    /// Outputs of node `n` from `from` on (inclusive), with their times.
    pub fn outputs_since(&self, n: usize, from: Instant) -> Vec<(Instant, &Output)> {
        self.log
            .iter()
            .filter(|(t, m, _)| *m == n && *t >= from)
            .map(|(t, _, o)| (*t, o))
            .collect()
    }
}

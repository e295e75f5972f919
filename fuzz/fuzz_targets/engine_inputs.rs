//! The engine fed arbitrary configurations, input sequences and times (`arbitrary`-derived
//! [`Scenario`]s), driven as the driver contract says (drain after every mutation, wake at
//! `poll_timeout`), with the protocol's invariants checked after every drain:
//!
//! - nothing panics, and no arithmetic overflows (debug assertions are on);
//! - the driver hints agree with the states: `rx_may_wait` exactly while no instance is
//!   Master (and the engine runs), `poll_timeout_is_takeover` only with a Backup;
//! - time order: every state change is stamped with the engine's latest `now`, outputs never
//!   go back in time, and after `handle_timeout(now)` nothing is left due at or before `now`;
//! - every advert is a well-formed message of its instance (version, VRID, TTL 255, a
//!   checksum that verifies in the instance's mode);
//! - a Master always advertises: it sends an advert as it becomes Master, before the state
//!   change, and again at least every Advertisement_Interval while it stays Master
//!   (RFC 5798 §6.4.3);
//! - priority rules: the effective priority is 1..=254, 255 only for the address owner; a
//!   Master's adverts carry its effective priority (checked over a drain in which it did
//!   not change, since a change sends no advert); priority 0 is sent only by a Master on
//!   its way out; a Master that accepts an advert of a higher priority (or an equal one from
//!   a higher address) does not stay Master (RFC 5798 §6.4.3);
//! - VIPs follow the state: added only when not installed, removed only when installed, and
//!   after every drain a Master holds exactly its configured VIPs and anyone else none.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use vrrp_engine::config::{
    AuthConfig, Config, GlobalConfig, InitialState, InstanceConfig, IpPrefix, RuleAction,
    ScriptConfig, SyncGroupConfig, TrackFileConfig, TrackProcessConfig, TrackProcessRef, TrackRef,
    VirtualAddress, VirtualRoute, VirtualRule,
};
use vrrp_engine::io::{ProcessChange, TrackFileId, TrackProcessId};
use vrrp_engine::wire::{Advert, Auth, ChecksumMode, Packet};
use vrrp_engine::{
    CheckOutcome, Engine, Family, Input, InstanceId, Instant, InterfaceUpdate, Output, RxPacket,
    ScriptId, State, Version,
};

/// Timer wake-ups per run: past this the run ends (a scenario of 10 ms adverts over hours
/// would spend the fuzzer's time on repetition).
const MAX_WAKEUPS: usize = 20_000;

#[derive(Arbitrary, Debug)]
struct Scenario {
    global: GlobalSpec,
    scripts: Vec<ScriptSpec>,
    track_files: u8,
    processes: Vec<ProcessSpec>,
    instances: Vec<InstanceSpec>,
    groups: Vec<u8>,
    steps: Vec<Step>,
}

#[derive(Arbitrary, Debug, Clone)]
struct GlobalSpec {
    startup_delay_100ms: u8,
    lower_prio_no_advert: bool,
    higher_prio_send_advert: bool,
    skip_check_adv_addr: bool,
    garp_interval_ms: u8,
    garp_delay_s: u8,
    garp_repeat: u8,
    garp_refresh_s: Option<u8>,
}

#[derive(Arbitrary, Debug, Clone)]
struct ScriptSpec {
    interval_100ms: u8,
    weight: i16,
    rise: u8,
    fall: u8,
    init_fail: bool,
}

#[derive(Arbitrary, Debug, Clone)]
struct ProcessSpec {
    weight: i16,
    reverse: bool,
    quorum: u8,
    quorum_max: Option<u8>,
    fork_delay_100ms: u8,
    terminate_delay_100ms: u8,
}

#[derive(Arbitrary, Debug, Clone)]
struct InstanceSpec {
    eth1: bool,
    vrid: u8,
    v3: bool,
    ipv6: bool,
    priority: u8,
    interval: u8,
    preempt: bool,
    preempt_delay_100ms: u8,
    vips: u8,
    excluded: bool,
    peers: u8,
    pass: bool,
    no_pseudo_header: bool,
    track_scripts: Vec<(u8, Option<i16>)>,
    track_interface: Option<(bool, Option<i16>)>,
    track_file: Option<(u8, Option<i16>)>,
    track_process: Option<(u8, Option<i16>, Option<bool>)>,
    dont_track_primary: bool,
    advert_on_lower_priority: bool,
    higher_prio_send_advert: bool,
    accept: bool,
    state_master: bool,
    route: bool,
    rule: bool,
    use_vmac: bool,
    unicast_src: bool,
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// Let time pass, waking at every deadline as a driver does.
    Advance(u16),
    /// Let time pass in 100 ms units.
    AdvanceLong(u8),
    /// A driver that woke late: time jumps, then one `handle_timeout`.
    Late(u16),
    /// An input at a time earlier than the latest (taken as the latest).
    Backwards(u16),
    /// A well-formed advert aimed at an instance, some fields changed.
    Advert(AdvertSpec),
    /// Raw bytes as a VRRP payload.
    Raw {
        eth1: bool,
        from: u8,
        ipv6: bool,
        multicast: bool,
        ttl: u8,
        bytes: Vec<u8>,
    },
    Interface {
        eth1: bool,
        up: bool,
        ipv4: Option<u8>,
        ll: Option<u8>,
    },
    Check {
        script: u8,
        outcome: u8,
        stale: bool,
    },
    TrackFile {
        file: u8,
        value: i8,
    },
    Process {
        process: u8,
        count: u8,
        change: u8,
    },
    SetPriority {
        instance: u8,
        priority: u8,
    },
    RouteDeleted(u8),
    RuleDeleted(u8),
    /// keepalived's reload: the scenario's configuration with these instances changed.
    Reload(Vec<(u8, InstanceSpec)>),
    Shutdown,
}

#[derive(Arbitrary, Debug)]
struct AdvertSpec {
    instance: u8,
    from: u8,
    priority: u8,
    other_version: bool,
    vrid_delta: u8,
    interval: Option<u16>,
    wrong_auth: bool,
    wrong_addrs: bool,
    ttl: Option<u8>,
    bad_checksum: bool,
    other_interface: bool,
}

fn v4(net: u8, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, net, host)
}

fn ll(host: u8) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(host))
}

fn iface(eth1: bool) -> &'static str {
    if eth1 {
        "eth1"
    } else {
        "eth0"
    }
}

/// A LAN host other than us: 10.0.N.1..=8 / fe80::1..=8 (we are .100 / ::100 at first).
fn peer(ipv6: bool, eth1: bool, n: u8) -> IpAddr {
    let host = 1 + n % 8;
    if ipv6 {
        IpAddr::V6(ll(host))
    } else {
        IpAddr::V4(v4(u8::from(eth1), host))
    }
}

fn instance_config(k: usize, s: &InstanceSpec, scen: &Scenario) -> InstanceConfig {
    let name = format!("VI_{k}");
    let mut i = InstanceConfig::new(&name, iface(s.eth1), 1 + s.vrid % 4);
    i.version = if s.v3 || s.ipv6 {
        Version::V3
    } else {
        Version::V2
    };
    i.priority = s.priority.max(1);
    i.advert_interval = match (i.version, s.interval % 4) {
        (Version::V2, n) => Duration::from_secs(1 + u64::from(n % 2)),
        (Version::V3, 0) => Duration::from_millis(10),
        (Version::V3, 1) => Duration::from_millis(100),
        (Version::V3, 2) => Duration::from_millis(370),
        (Version::V3, _) => Duration::from_secs(1),
    };
    i.preempt = s.preempt;
    i.preempt_delay = Duration::from_millis(100 * u64::from(s.preempt_delay_100ms % 50));
    for v in 0..s.vips % 4 {
        let addr = if s.ipv6 {
            IpAddr::V6(Ipv6Addr::new(
                0xfd00,
                0,
                0,
                0,
                0,
                0,
                k as u16,
                u16::from(v) + 1,
            ))
        } else {
            IpAddr::V4(Ipv4Addr::new(10, 9, k as u8, v + 1))
        };
        i.vips.push(VirtualAddress::host(addr));
    }
    if s.excluded {
        let addr = if s.ipv6 {
            IpAddr::V6(Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, k as u16 + 1))
        } else {
            IpAddr::V4(Ipv4Addr::new(10, 8, 0, k as u8 + 1))
        };
        i.vips_excluded.push(VirtualAddress::host(addr));
    }
    for p in 0..s.peers % 3 {
        i.unicast_peers.push(peer(s.ipv6, s.eth1, p));
    }
    if s.unicast_src {
        i.unicast_src = Some(if s.ipv6 {
            IpAddr::V6(ll(100))
        } else {
            IpAddr::V4(v4(u8::from(s.eth1), 100))
        });
    }
    if s.pass && i.version == Version::V2 {
        i.auth = Some(AuthConfig::Pass("secret".into()));
    }
    if s.no_pseudo_header {
        i.checksum_mode = ChecksumMode::NoPseudoHeader;
    }
    for (n, w) in s.track_scripts.iter().take(3) {
        if !scen.scripts.is_empty() {
            let n = usize::from(*n) % scen.scripts.len().min(3);
            i.track_scripts.push(TrackRef {
                name: format!("chk_{n}"),
                weight: w.map(|w| i32::from(w % 300)),
            });
        }
    }
    if let Some((eth1, w)) = s.track_interface {
        i.track_interfaces.push(TrackRef {
            name: iface(eth1).into(),
            weight: w.map(|w| i32::from(w % 300)),
        });
    }
    if let Some((n, w)) = s.track_file {
        if !scen.track_files.is_multiple_of(3) {
            i.track_files.push(TrackRef {
                name: format!("file_{}", n % (scen.track_files % 3)),
                weight: w.map(|w| i32::from(w % 300)),
            });
        }
    }
    if let Some((n, w, reverse)) = s.track_process {
        if !scen.processes.is_empty() {
            i.track_processes.push(TrackProcessRef {
                name: format!("proc_{}", usize::from(n) % scen.processes.len().min(2)),
                weight: w.map(|w| i32::from(w % 300)),
                reverse,
            });
        }
    }
    i.dont_track_primary = s.dont_track_primary;
    i.advert_on_lower_priority = s.advert_on_lower_priority;
    i.higher_prio_send_advert = s.higher_prio_send_advert;
    i.accept = s.accept;
    if s.state_master {
        i.initial_state = InitialState::Master;
    }
    let family = if s.ipv6 { Family::Ipv6 } else { Family::Ipv4 };
    if s.route {
        let mut r = VirtualRoute::to(IpPrefix::any(family));
        r.dev = Some(iface(s.eth1).into());
        i.virtual_routes.push(r);
    }
    if s.rule {
        let mut r = VirtualRule::new(RuleAction::Table(100 + k as u32), 100 + k as u32);
        r.family = family;
        i.virtual_rules.push(r);
    }
    if s.use_vmac {
        i.use_vmac = Some(String::new());
    }
    i.garp.master_delay = Duration::from_secs(u64::from(scen.global.garp_delay_s % 8));
    i.garp.master_repeat = u32::from(scen.global.garp_repeat % 6);
    i.garp.master_refresh = scen
        .global
        .garp_refresh_s
        .map(|s| Duration::from_secs(1 + u64::from(s % 10)));
    i
}

fn config(scen: &Scenario, replaced: &[(u8, InstanceSpec)]) -> Config {
    let g = &scen.global;
    let global = GlobalConfig {
        startup_delay: Duration::from_millis(100 * u64::from(g.startup_delay_100ms % 30)),
        lower_prio_no_advert: g.lower_prio_no_advert,
        higher_prio_send_advert: g.higher_prio_send_advert,
        skip_check_adv_addr: g.skip_check_adv_addr,
        garp_interval: Duration::from_millis(u64::from(g.garp_interval_ms % 50)),
        ..GlobalConfig::default()
    };
    let scripts = scen
        .scripts
        .iter()
        .take(3)
        .enumerate()
        .map(|(n, s)| {
            let mut c = ScriptConfig::new(format!("chk_{n}"), "/bin/true");
            c.interval = Duration::from_millis(100 * u64::from(1 + s.interval_100ms % 30));
            c.weight = i32::from(s.weight % 300);
            c.rise = u32::from(1 + s.rise % 4);
            c.fall = u32::from(1 + s.fall % 4);
            c.init_fail = s.init_fail;
            c
        })
        .collect();
    let track_files = (0..scen.track_files % 3)
        .map(|n| TrackFileConfig {
            name: format!("file_{n}"),
            path: format!("/run/fuzz/{n}"),
            weight: 1 - i32::from(n),
            init_value: None,
        })
        .collect();
    let track_processes = scen
        .processes
        .iter()
        .take(2)
        .enumerate()
        .map(|(n, p)| {
            let mut c = TrackProcessConfig::new(format!("proc_{n}"), "nginx");
            c.weight = i32::from(p.weight % 300);
            c.reverse = p.reverse;
            c.quorum = u32::from(p.quorum % 4);
            c.quorum_max = p.quorum_max.map(|m| u32::from(m % 6));
            c.fork_delay = Duration::from_millis(100 * u64::from(p.fork_delay_100ms % 30));
            c.terminate_delay =
                Duration::from_millis(100 * u64::from(p.terminate_delay_100ms % 30));
            c
        })
        .collect();
    let mut specs: Vec<InstanceSpec> = scen.instances.iter().take(4).cloned().collect();
    for (k, s) in replaced {
        let k = usize::from(*k) % 5;
        if k < specs.len() {
            specs[k] = s.clone();
        } else if specs.len() < 4 {
            specs.push(s.clone());
        } else if !specs.is_empty() {
            specs.remove(usize::from(s.vrid) % specs.len());
        }
    }
    let instances: Vec<InstanceConfig> = specs
        .iter()
        .enumerate()
        .map(|(k, s)| instance_config(k, s, scen))
        .collect();
    let sync_groups = scen
        .groups
        .iter()
        .take(2)
        .enumerate()
        .filter_map(|(n, mask)| {
            let members: Vec<&str> = instances
                .iter()
                .enumerate()
                .filter(|(k, _)| mask & (1 << k) != 0)
                .map(|(_, i)| i.name.as_str())
                .collect();
            (!members.is_empty()).then(|| SyncGroupConfig::new(format!("G{n}"), &members))
        })
        .collect();
    Config {
        global,
        scripts,
        track_files,
        track_processes,
        instances,
        sync_groups,
        ..Config::default()
    }
}

/// What the harness knows of the engine, to check outputs against.
#[derive(Default)]
struct World {
    /// The harness's clock: inputs come at this time.
    clock: Instant,
    /// The latest `now` given to the engine (it knows no later time than this).
    now: Instant,
    /// The latest time stamp seen on an output.
    last_stamp: Instant,
    /// When each instance last sent a non-zero-priority advert.
    last_advert: BTreeMap<InstanceId, Instant>,
    /// The VIPs each instance has installed.
    vips: BTreeMap<InstanceId, BTreeSet<IpAddr>>,
    /// Each instance's effective priority at the last drain.
    priority: BTreeMap<InstanceId, u8>,
    /// The latest `RunCheck` sequence number of each script.
    checks: BTreeMap<ScriptId, u64>,
    /// Our addresses per interface, as last reported.
    ipv4: [Option<Ipv4Addr>; 2],
    ll: [Option<Ipv6Addr>; 2],
    wakeups: usize,
}

impl World {
    /// Drain the engine's outputs and check them, then the state they leave.
    fn drain(&mut self, e: &mut Engine) {
        let mut batch = Vec::new();
        while let Some(o) = e.poll_output() {
            batch.push(o);
        }
        for (k, o) in batch.iter().enumerate() {
            match o {
                Output::StateChanged(c) => {
                    assert_eq!(
                        c.at, self.now,
                        "state change stamped {} at {}",
                        c.at, self.now
                    );
                    assert!(c.at >= self.last_stamp, "outputs went back in time");
                    self.last_stamp = c.at;
                    assert_ne!(c.from, c.to, "a state change to the same state");
                    if c.to == State::Master {
                        // The advert goes first (RFC 5798 §6.4.2, keepalived 2.2.7
                        // `vrrp_state_master_tx`).
                        let advert_before = batch[..k].iter().any(|p| {
                            matches!(p, Output::Transmit(x) if x.instance == c.instance
                                && x.payload[2] != 0)
                        });
                        assert!(
                            advert_before,
                            "{:?} became Master without an advert",
                            c.instance
                        );
                    }
                }
                Output::SyncGroupChanged(g) => {
                    assert_eq!(
                        g.at, self.now,
                        "group change stamped {} at {}",
                        g.at, self.now
                    );
                }
                Output::Transmit(x) => {
                    let cfg = e
                        .instance_config(x.instance)
                        .expect("advert of a known instance");
                    assert_eq!(x.ttl, 255);
                    let family = cfg.family();
                    assert_eq!(Family::of(&x.src), family);
                    let p = Packet::new_checked(&x.payload[..], family).expect("advert decodes");
                    assert_eq!(p.version(), cfg.version);
                    assert_eq!(p.vrid(), cfg.vrid);
                    assert!(
                        p.verify_checksum(x.src, x.dst, cfg.checksum_mode),
                        "advert checksum"
                    );
                    if p.priority() == 0 {
                        // Priority 0: only a Master on its way out (RFC 5798 §6.4.3 Shutdown,
                        // keepalived's FAULT and route deletion).
                        let leaves = batch[k..].iter().any(|q| {
                            matches!(q, Output::StateChanged(c) if c.instance == x.instance
                                && c.from == State::Master)
                        });
                        assert!(leaves, "priority 0 sent by {:?} staying Master", x.instance);
                    } else {
                        self.last_advert.insert(x.instance, self.now);
                    }
                }
                Output::AddVip { instance, vip, .. } => {
                    let set = self.vips.entry(*instance).or_default();
                    assert!(set.insert(vip.addr), "{} added twice", vip.addr);
                }
                Output::RemoveVip { instance, vip, .. } => {
                    let set = self.vips.entry(*instance).or_default();
                    assert!(
                        set.remove(&vip.addr),
                        "{} removed but not installed",
                        vip.addr
                    );
                }
                Output::RunCheck { script, seq, .. } => {
                    self.checks.insert(*script, *seq);
                }
                _ => {}
            }
        }
        self.check_state(e, &batch);
    }

    /// Invariants of the state the engine is in after a drain.
    fn check_state(&mut self, e: &Engine, batch: &[Output]) {
        let snap = e.snapshot();
        for s in &snap.instances {
            assert!(s.effective_priority >= 1, "effective priority 0");
            // A stopped instance (INIT after Shutdown) keeps the priority it stopped with;
            // a priority change reaches it only when it runs.
            if s.effective_priority == 255 && s.state != State::Initialize {
                assert_eq!(s.base_priority, 255, "priority 255 for a non-owner");
            }
            let installed = self.vips.get(&s.id).cloned().unwrap_or_default();
            let cfg = e
                .instance_config(s.id)
                .expect("snapshot of a known instance");
            if s.state == State::Master {
                let last = self.last_advert.get(&s.id).copied();
                let ok = last.is_some_and(|t| self.now - t <= s.advert_interval);
                assert!(
                    ok,
                    "{} Master without an advert since {last:?} (now {}, interval {:?})",
                    s.name, self.now, s.advert_interval
                );
                let configured: BTreeSet<IpAddr> = cfg
                    .vips
                    .iter()
                    .chain(&cfg.vips_excluded)
                    .map(|v| v.addr)
                    .collect();
                assert_eq!(installed, configured, "{} Master with other VIPs", s.name);
                // A Master's adverts carry its effective priority. A change of priority sends
                // no advert (keepalived 2.2.7 `vrrp_set_effective_priority`: the next one
                // carries it), so a batch in which it changed may hold adverts of the old one.
                if self.priority.get(&s.id) == Some(&s.effective_priority) {
                    for o in batch {
                        if let Output::Transmit(x) = o {
                            if x.instance == s.id && x.payload[2] != 0 {
                                assert_eq!(
                                    x.payload[2], s.effective_priority,
                                    "{} advertises another priority",
                                    s.name
                                );
                            }
                        }
                    }
                }
            } else {
                assert!(installed.is_empty(), "{} {:?} holds VIPs", s.name, s.state);
            }
        }
        // The driver hints: received adverts may wait (vrrpd-real's receive coalescing)
        // exactly while no instance is Master, and a deadline named a takeover belongs to a
        // Backup (vrrpd-real wakes early for it).
        let master = snap.instances.iter().any(|s| s.state == State::Master);
        if master {
            assert!(!e.rx_may_wait(), "adverts may wait with a Master");
        } else if e.poll_timeout().is_some() {
            assert!(e.rx_may_wait(), "adverts held urgent without a Master");
        }
        if e.poll_timeout_is_takeover() {
            assert!(
                snap.instances.iter().any(|s| s.state == State::Backup),
                "a takeover deadline without a Backup"
            );
        }
        self.priority = snap
            .instances
            .iter()
            .map(|s| (s.id, s.effective_priority))
            .collect();
    }

    /// One `handle_timeout` at `at`, then the check that nothing due is left.
    fn wake(&mut self, e: &mut Engine, at: Instant) {
        self.now = self.now.max(at);
        self.clock = self.clock.max(at);
        self.wakeups += 1;
        e.handle_timeout(at);
        self.drain(e);
        if let Some(next) = e.poll_timeout() {
            assert!(
                next > self.now,
                "deadline {next} still due after waking at {}",
                self.now
            );
        }
    }

    /// Let time pass to `until`, waking at every deadline on the way.
    fn advance(&mut self, e: &mut Engine, until: Instant) {
        while let Some(next) = e.poll_timeout() {
            if next > until || self.wakeups >= MAX_WAKEUPS {
                break;
            }
            self.wake(e, next.max(self.clock));
        }
        self.clock = self.clock.max(until);
    }

    fn input(&mut self, e: &mut Engine, at: Instant, input: Input<'_>) {
        self.now = self.now.max(at);
        e.handle(at, input);
        self.drain(e);
    }
}

fn build_advert(
    e: &Engine,
    w: &World,
    a: &AdvertSpec,
) -> Option<(String, IpAddr, IpAddr, u8, Vec<u8>)> {
    let ids: Vec<InstanceId> = e.instance_ids().collect();
    let id = *ids.get(usize::from(a.instance) % ids.len().max(1))?;
    let cfg = e.instance_config(id)?;
    let family = cfg.family();
    let eth1 = cfg.interface == "eth1";
    let version = match (cfg.version, a.other_version) {
        (v, false) => v,
        (Version::V2, true) => Version::V3,
        (Version::V3, true) => Version::V2,
    };
    let wire_interval = match cfg.version {
        Version::V2 => cfg.advert_interval.as_secs() as u16,
        Version::V3 => (cfg.advert_interval.as_millis() / 10) as u16,
    };
    let auth = match (&cfg.auth, a.wrong_auth) {
        (Some(AuthConfig::Pass(p)), false) => Auth::pass(p),
        (Some(_), true) | (None, true) => Auth::pass("wrong"),
        _ => Auth::None,
    };
    let addrs = if a.wrong_addrs {
        Vec::new()
    } else {
        cfg.vips.iter().map(|v| v.addr).collect()
    };
    let advert = Advert {
        version,
        vrid: cfg
            .vrid
            .wrapping_add(if a.vrid_delta < 32 { a.vrid_delta } else { 0 }),
        priority: a.priority,
        interval: a.interval.unwrap_or(wire_interval),
        auth,
        addrs,
    };
    // From a peer, or (from == 0) from our own address.
    let ours: Option<IpAddr> = match family {
        Family::Ipv4 => w.ipv4[usize::from(eth1)].map(IpAddr::V4),
        Family::Ipv6 => w.ll[usize::from(eth1)].map(IpAddr::V6),
    };
    let src = match (a.from, ours) {
        (0, Some(o)) => o,
        _ if !cfg.unicast_peers.is_empty() => {
            cfg.unicast_peers[usize::from(a.from) % cfg.unicast_peers.len()]
        }
        _ => peer(family == Family::Ipv6, eth1, a.from),
    };
    let dst = if cfg.unicast_peers.is_empty() {
        family.multicast_group()
    } else {
        ours.unwrap_or(family.multicast_group())
    };
    let mut payload = advert.emit(src, dst, cfg.checksum_mode);
    if a.bad_checksum && payload.len() > 7 {
        payload[7] ^= 1;
    }
    let on = if a.other_interface {
        iface(!eth1)
    } else {
        iface(eth1)
    };
    Some((on.to_string(), src, dst, a.ttl.unwrap_or(255), payload))
}

fuzz_target!(|scen: Scenario| {
    if scen.instances.is_empty() {
        return;
    }
    let Ok(mut e) = Engine::new(config(&scen, &[]), Instant::ZERO) else {
        return;
    };
    let mut w = World::default();
    w.drain(&mut e);
    // Both interfaces come up with an address, as a daemon reports them at start-up.
    for eth1 in [false, true] {
        let n = usize::from(eth1);
        w.ipv4[n] = Some(v4(n as u8, 100));
        w.ll[n] = Some(ll(100));
        let update = InterfaceUpdate {
            name: iface(eth1).into(),
            up: true,
            ipv4: w.ipv4[n],
            ipv6_link_local: w.ll[n],
        };
        w.input(&mut e, Instant::ZERO, Input::Interface(update));
    }
    let mut skew = Duration::ZERO;
    for step in scen.steps.iter().take(200) {
        if w.wakeups >= MAX_WAKEUPS {
            break;
        }
        let now = w.clock;
        let at = Instant::from_offset(now.offset().saturating_sub(skew));
        skew = Duration::ZERO;
        match step {
            Step::Advance(ms) => w.advance(&mut e, now + Duration::from_millis(u64::from(*ms))),
            Step::AdvanceLong(n) => {
                w.advance(&mut e, now + Duration::from_millis(100 * u64::from(*n)))
            }
            Step::Late(ms) => {
                let at = now + Duration::from_millis(u64::from(*ms));
                w.wake(&mut e, at);
            }
            Step::Backwards(ms) => {
                // The next input comes stamped earlier than the latest time: the engine
                // takes it as its latest time, so nothing may be stamped earlier.
                skew = Duration::from_millis(u64::from(*ms));
                continue;
            }
            Step::Advert(a) => {
                let Some((on, src, dst, ttl, payload)) = build_advert(&e, &w, a) else {
                    continue;
                };
                let before = e.snapshot();
                let rx = RxPacket {
                    interface: &on,
                    src,
                    dst,
                    ttl,
                    payload: &payload,
                };
                w.input(&mut e, at, Input::Packet(rx));
                // A Master that accepted a better advert is no longer Master.
                let after = e.snapshot();
                for (b, a2) in before.instances.iter().zip(&after.instances) {
                    let accepted = a2.counters.adverts_accepted > b.counters.adverts_accepted;
                    if !accepted || b.state != State::Master {
                        continue;
                    }
                    let prio = payload[2];
                    let ours = b.master_address;
                    let higher = prio > b.effective_priority
                        || (prio == b.effective_priority
                            && ours.is_some_and(|o| Family::of(&o) == Family::of(&src) && src > o));
                    if prio != 0 && higher {
                        assert_ne!(
                            a2.state,
                            State::Master,
                            "{} kept Master after a better advert",
                            a2.name
                        );
                    }
                }
            }
            Step::Raw {
                eth1,
                from,
                ipv6,
                multicast,
                ttl,
                bytes,
            } => {
                let src = peer(*ipv6, *eth1, *from);
                let dst = match (*multicast, *ipv6) {
                    (true, true) => Family::Ipv6.multicast_group(),
                    (true, false) => Family::Ipv4.multicast_group(),
                    (false, true) => IpAddr::V6(ll(100)),
                    (false, false) => IpAddr::V4(v4(u8::from(*eth1), 100)),
                };
                let rx = RxPacket {
                    interface: iface(*eth1),
                    src,
                    dst,
                    ttl: *ttl,
                    payload: bytes,
                };
                w.input(&mut e, at, Input::Packet(rx));
            }
            Step::Interface {
                eth1,
                up,
                ipv4,
                ll: link_local,
            } => {
                let n = usize::from(*eth1);
                w.ipv4[n] = ipv4.map(|h| v4(n as u8, 100 + h % 4));
                w.ll[n] = link_local.map(|h| ll(100 + u8::from(h % 4 != 0)));
                let update = InterfaceUpdate {
                    name: iface(*eth1).into(),
                    up: *up,
                    ipv4: w.ipv4[n],
                    ipv6_link_local: w.ll[n],
                };
                w.input(&mut e, at, Input::Interface(update));
            }
            Step::Check {
                script,
                outcome,
                stale,
            } => {
                let id = ScriptId(u32::from(*script % 4));
                let seq = w.checks.get(&id).copied().unwrap_or(0);
                let seq = if *stale { seq.wrapping_sub(1) } else { seq };
                let outcome = match outcome % 3 {
                    0 => CheckOutcome::Pass,
                    1 => CheckOutcome::Fail,
                    _ => CheckOutcome::Timeout,
                };
                w.input(
                    &mut e,
                    at,
                    Input::CheckResult {
                        script: id,
                        seq,
                        outcome,
                    },
                );
            }
            Step::TrackFile { file, value } => {
                let input = Input::TrackFile {
                    file: TrackFileId(u32::from(*file % 4)),
                    value: i64::from(*value),
                };
                w.input(&mut e, at, input);
            }
            Step::Process {
                process,
                count,
                change,
            } => {
                let change = match change % 3 {
                    0 => ProcessChange::Fork,
                    1 => ProcessChange::Exit,
                    _ => ProcessChange::Other,
                };
                let input = Input::ProcessCount {
                    process: TrackProcessId(u32::from(*process % 3)),
                    count: u32::from(*count % 8),
                    change,
                };
                w.input(&mut e, at, input);
            }
            Step::SetPriority { instance, priority } => {
                let input = Input::SetPriority {
                    instance: InstanceId(u32::from(*instance % 6)),
                    priority: *priority,
                };
                w.input(&mut e, at, input);
            }
            Step::RouteDeleted(n) => {
                let id = InstanceId(u32::from(*n % 6));
                let Some(route) = e
                    .instance_config(id)
                    .and_then(|c| c.virtual_routes.first().cloned())
                else {
                    continue;
                };
                w.input(
                    &mut e,
                    at,
                    Input::RouteDeleted {
                        instance: id,
                        route,
                    },
                );
            }
            Step::RuleDeleted(n) => {
                let id = InstanceId(u32::from(*n % 6));
                let Some(rule) = e
                    .instance_config(id)
                    .and_then(|c| c.virtual_rules.first().cloned())
                else {
                    continue;
                };
                w.input(&mut e, at, Input::RuleDeleted { instance: id, rule });
            }
            Step::Reload(changes) => {
                let cfg = config(&scen, changes);
                // A refused file changes nothing, the engine's time included.
                if e.reconfigure(at, cfg).is_ok() {
                    w.now = w.now.max(at);
                    w.drain(&mut e);
                }
            }
            Step::Shutdown => w.input(&mut e, at, Input::Shutdown),
        }
    }
    // Run on a little so the last inputs' timers fire too.
    let end = w.clock + Duration::from_secs(5);
    w.advance(&mut e, end);
});

//! Unicast peers as keepalived 2.2.7 runs them: the source check only with
//! `check_unicast_src` (or a peer's TTL range), per-peer `min_ttl` / `max_ttl`, and
//! `unicast_ttl` on what is sent.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use support::*;
use vrrp_engine::config::{InstanceConfig, PeerTtl};
use vrrp_engine::wire::{Advert, Auth, ChecksumMode};
use vrrp_engine::{CheckOutcome, Engine, Input, Instant, Output, RxPacket, State, Version};

/// The peer the configuration lists.
const PEER: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 12);
/// A Master whose address is not in `unicast_peer` (a typo in the file).
const STRANGER: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 99);

/// A priority-90 v2 Backup of node 0 with `PEER` as its only unicast peer.
fn unicast_backup() -> InstanceConfig {
    let mut i = instance(90, Version::V2, Duration::from_secs(1));
    i.unicast_peers = vec![IpAddr::V4(PEER)];
    i
}

/// A priority-100 unicast advert from `src` to node 0 with `ttl`.
fn unicast_rx(e: &mut Engine, now: Instant, src: Ipv4Addr, ttl: u8) {
    let bytes = Advert {
        version: Version::V2,
        vrid: 51,
        priority: 100,
        interval: 1,
        auth: Auth::None,
        addrs: vec![IpAddr::V4(VIP)],
    }
    .emit(
        IpAddr::V4(src),
        IpAddr::V4(host_addr(0)),
        ChecksumMode::PseudoHeader,
    );
    e.handle(
        now,
        Input::Packet(RxPacket {
            interface: "eth0",
            src: IpAddr::V4(src),
            dst: IpAddr::V4(host_addr(0)),
            ttl,
            payload: &bytes,
        }),
    );
}

/// Runs `cfg` from 0 to 10 s with an advert from `src` (TTL `ttl`) every second from
/// 0.5 s; returns when it became Master, if it did.
fn takeover_time(cfg: InstanceConfig, src: Ipv4Addr, ttl: u8) -> (Option<Instant>, Engine) {
    let mut e = started(config(cfg), 0, Instant::ZERO);
    let mut log = run_alone(&mut e, secs(0.5), |_| CheckOutcome::Pass);
    for k in 0..10 {
        let t = secs(0.5 + k as f64);
        unicast_rx(&mut e, t, src, ttl);
        log.extend(std::iter::from_fn(|| e.poll_output()).map(|o| (t, o)));
        let next = secs(1.5 + k as f64 - 1e-9);
        while let Some(at) = e.poll_timeout().filter(|&at| at <= next) {
            e.handle_timeout(at);
            log.extend(std::iter::from_fn(|| e.poll_output()).map(|o| (at, o)));
        }
    }
    let master = transitions(&log)
        .into_iter()
        .find(|&(_, s)| s == State::Master)
        .map(|(t, _)| t);
    (master, e)
}

/// Master_Down_Interval of a priority-90 v2 Backup (RFC 3768 §6.1): 3 s + (256-90)/256 s.
fn mdi_90() -> Instant {
    Instant::ZERO + Duration::from_secs(3) + Duration::from_nanos(166 * 1_000_000_000 / 256)
}

#[test]
fn without_check_unicast_src_a_stranger_master_is_obeyed() {
    // keepalived 2.2.7 `vrrp_check_packet` checks the source only with check_unicast_src:
    // a Master missing from unicast_peer still holds the Backup.
    let (master, e) = takeover_time(unicast_backup(), STRANGER, 64);
    assert_eq!(master, None);
    let c = &e.snapshot().instances[0].counters;
    assert_eq!(c.adverts_accepted, 10);
    assert_eq!(c.discarded.peer, 0);
}

#[test]
fn with_check_unicast_src_a_stranger_is_discarded_and_the_backup_takes_over() {
    let mut cfg = unicast_backup();
    cfg.check_unicast_src = true;
    let (master, e) = takeover_time(cfg, STRANGER, 64);
    // RFC 3768 §6.4.2: Master_Down_Timer runs out from start-up, the adverts being dropped.
    assert_eq!(master, Some(mdi_90()));
    let c = &e.snapshot().instances[0].counters;
    assert_eq!(c.adverts_accepted, 0);
    // Adverts reach it until it is Master at 3.65 s (0.5, 1.5, 2.5, 3.5) and after; a
    // Master checks them the same way.
    assert_eq!(c.discarded.peer, 10);
}

#[test]
fn global_vrrp_check_unicast_src_applies_to_every_unicast_instance() {
    let mut cfg = config(unicast_backup());
    cfg.global.check_unicast_src = true;
    let mut e = started(cfg, 0, Instant::ZERO);
    unicast_rx(&mut e, secs(0.5), STRANGER, 64);
    let c = &e.snapshot().instances[0].counters;
    assert_eq!((c.adverts_accepted, c.discarded.peer), (0, 1));
}

#[test]
fn a_listed_peer_is_accepted_with_the_check_on() {
    let mut cfg = unicast_backup();
    cfg.check_unicast_src = true;
    let (master, e) = takeover_time(cfg, PEER, 64);
    assert_eq!(master, None);
    assert_eq!(e.snapshot().instances[0].counters.adverts_accepted, 10);
}

#[test]
fn a_peer_ttl_outside_its_range_is_discarded() {
    // `unicast_peer { 172.20.0.12 min_ttl 250 max_ttl 255 }`: one hop is enough to fail.
    let mut cfg = unicast_backup();
    cfg.check_unicast_src = true;
    cfg.unicast_peer_ttl = vec![PeerTtl {
        addr: IpAddr::V4(PEER),
        min: 250,
        max: 255,
    }];
    let (master, e) = takeover_time(cfg.clone(), PEER, 249);
    assert_eq!(master, Some(mdi_90()));
    assert_eq!(e.snapshot().instances[0].counters.discarded.ttl, 10);

    let (master, e) = takeover_time(cfg, PEER, 250);
    assert_eq!(master, None);
    assert_eq!(e.snapshot().instances[0].counters.discarded.ttl, 0);
}

#[test]
fn unicast_ttl_sets_the_ttl_of_unicast_adverts_only() {
    let sent_ttls = |cfg: InstanceConfig| {
        let mut i = cfg;
        // The address owner with `state MASTER`: Master, and advertising, at once.
        i.priority = 255;
        i.initial_state = vrrp_engine::config::InitialState::Master;
        let mut e = started(config(i), 0, Instant::ZERO);
        drain(&mut e)
            .into_iter()
            .filter_map(|o| match o {
                Output::Transmit(x) => Some((x.dst, x.ttl)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let mut uni = unicast_backup();
    uni.unicast_ttl = Some(10);
    assert_eq!(sent_ttls(uni.clone()), [(IpAddr::V4(PEER), 10)]);
    uni.unicast_ttl = None;
    assert_eq!(sent_ttls(uni), [(IpAddr::V4(PEER), 255)]);
    // RFC 3768 §5.1.1.3: multicast adverts keep TTL 255.
    let mut multi = instance(90, Version::V2, Duration::from_secs(1));
    multi.unicast_ttl = Some(10);
    assert_eq!(
        sent_ttls(multi),
        [(IpAddr::V4(vrrp_engine::types::MULTICAST_V4), 255)]
    );
}

#[test]
fn a_unicast_src_ip_the_host_lacks_means_fault_until_it_appears() {
    // keepalived 2.2.7 `open_sockpool_socket`: "entering FAULT state (src address not
    // configured)" when binding to unicast_src_ip fails.
    let src = IpAddr::V4(Ipv4Addr::new(172, 20, 0, 200));
    let mut cfg = unicast_backup();
    cfg.unicast_src = Some(src);
    let mut e = Engine::new(config(cfg), Instant::ZERO).unwrap();
    e.handle(
        Instant::ZERO,
        Input::LocalAddress {
            addr: src,
            present: false,
        },
    );
    e.handle(Instant::ZERO, Input::Interface(eth0(0, true)));
    let mut log: Vec<(Instant, Output)> = drain(&mut e)
        .into_iter()
        .map(|o| (Instant::ZERO, o))
        .collect();
    // The first state is FAULT, with that cause; no advert goes out.
    let first = log.iter().find_map(|(_, o)| match o {
        Output::StateChanged(c) => Some((c.to, c.reason.clone())),
        _ => None,
    });
    assert_eq!(
        first,
        Some((
            State::Fault,
            vrrp_engine::Reason::Fault {
                cause: vrrp_engine::io::FaultCause::SourceNotLocal(src.to_string())
            }
        ))
    );
    // The address is added at 5 s: Backup then, Master a Master_Down_Interval later.
    let t = secs(5.0);
    e.handle(
        t,
        Input::LocalAddress {
            addr: src,
            present: true,
        },
    );
    log.extend(drain(&mut e).into_iter().map(|o| (t, o)));
    while let Some(at) = e.poll_timeout().filter(|&at| at <= secs(10.0)) {
        e.handle_timeout(at);
        log.extend(drain(&mut e).into_iter().map(|o| (at, o)));
    }
    let mdi = mdi_90() - Instant::ZERO;
    assert_eq!(
        transitions(&log),
        [
            (Instant::ZERO, State::Fault),
            (t, State::Backup),
            (t + mdi, State::Master)
        ]
    );
    let sent: Vec<IpAddr> = log
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Transmit(x) => Some(x.src),
            _ => None,
        })
        .collect();
    assert!(!sent.is_empty() && sent.iter().all(|&s| s == src));
    assert!(log
        .iter()
        .filter(|(at, _)| *at < t + mdi)
        .all(|(_, o)| !matches!(o, Output::Transmit(_))));
}

//! RFC 5798 §7.1 receive checks: every bad packet is counted per reason and changes nothing.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use support::*;
use vrrp_engine::config::AuthConfig;
use vrrp_engine::counters::DiscardCounters;
use vrrp_engine::wire::{Auth, Packet};
use vrrp_engine::{Engine, Family, Input, Instant, RxPacket, State, Version};

const PEER: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 12);

/// A v2 Backup with PASS auth "123456", started at 0 and fed one good advert at 1 s.
fn backup() -> Engine {
    let mut i = instance(90, Version::V2, Duration::from_secs(1));
    i.auth = Some(AuthConfig::Pass("123456".into()));
    let mut e = started(config(i), 0, Instant::ZERO);
    deliver(&mut e, secs(1.0), PEER, &good());
    drain(&mut e);
    e
}

fn good() -> Vec<u8> {
    advert_bytes(Version::V2, 51, 100, 1, PEER, Auth::pass("123456"))
}

fn rx(e: &mut Engine, payload: &[u8], ttl: u8, src: IpAddr, dst: IpAddr, iface: &str) {
    e.handle(
        secs(2.0),
        Input::Packet(RxPacket {
            interface: iface,
            src,
            dst,
            ttl,
            payload,
        }),
    );
}

const GROUP: IpAddr = IpAddr::V4(vrrp_engine::types::MULTICAST_V4);

/// Feed one bad packet; check nothing happened but one count.
fn check(
    bad: impl FnOnce(&mut Engine),
    expect_instance: DiscardCounters,
    expect_unmatched: DiscardCounters,
) {
    let mut e = backup();
    let before = e.snapshot().instances[0].clone();
    bad(&mut e);
    assert!(drain(&mut e).is_empty());
    let s = e.snapshot();
    let after = &s.instances[0];
    assert_eq!(after.state, State::Backup);
    assert_eq!(
        after.next_timer, before.next_timer,
        "the bad packet must not reset the Master_Down_Timer"
    );
    assert_eq!(
        after.counters.adverts_accepted,
        before.counters.adverts_accepted
    );
    assert_eq!(after.counters.discarded, expect_instance);
    assert_eq!(s.unmatched, expect_unmatched);
}

fn one(f: impl FnOnce(&mut DiscardCounters)) -> DiscardCounters {
    let mut c = DiscardCounters::default();
    f(&mut c);
    c
}

#[test]
fn wrong_ttl_is_counted() {
    check(
        |e| rx(e, &good(), 254, IpAddr::V4(PEER), GROUP, "eth0"),
        one(|c| c.ttl = 1),
        DiscardCounters::default(),
    );
}

#[test]
fn bad_checksum_is_counted() {
    let mut b = good();
    // Priority changed, checksum not.
    let mut p = Packet::new_checked(&mut b[..], Family::Ipv4).unwrap();
    p.set_priority(p.priority() ^ 0x01);
    check(
        |e| rx(e, &b, 255, IpAddr::V4(PEER), GROUP, "eth0"),
        one(|c| c.checksum = 1),
        DiscardCounters::default(),
    );
}

#[test]
fn wrong_password_is_counted() {
    let b = advert_bytes(Version::V2, 51, 100, 1, PEER, Auth::pass("654321"));
    check(
        |e| rx(e, &b, 255, IpAddr::V4(PEER), GROUP, "eth0"),
        one(|c| c.auth = 1),
        DiscardCounters::default(),
    );
}

#[test]
fn missing_auth_is_counted() {
    let b = advert_bytes(Version::V2, 51, 100, 1, PEER, Auth::None);
    check(
        |e| rx(e, &b, 255, IpAddr::V4(PEER), GROUP, "eth0"),
        one(|c| c.auth = 1),
        DiscardCounters::default(),
    );
}

#[test]
fn v2_interval_mismatch_is_counted() {
    let b = advert_bytes(Version::V2, 51, 100, 2, PEER, Auth::pass("123456"));
    check(
        |e| rx(e, &b, 255, IpAddr::V4(PEER), GROUP, "eth0"),
        one(|c| c.interval = 1),
        DiscardCounters::default(),
    );
}

#[test]
fn version_mismatch_is_counted() {
    let b = advert_bytes(Version::V3, 51, 100, 100, PEER, Auth::None);
    check(
        |e| rx(e, &b, 255, IpAddr::V4(PEER), GROUP, "eth0"),
        one(|c| c.version = 1),
        DiscardCounters::default(),
    );
}

#[test]
fn short_packet_is_counted_on_the_instance_its_vrid_names() {
    let b = good();
    check(
        |e| rx(e, &b[..b.len() - 1], 255, IpAddr::V4(PEER), GROUP, "eth0"),
        one(|c| c.length = 1),
        DiscardCounters::default(),
    );
}

#[test]
fn garbage_with_unknown_vrid_is_counted_as_unmatched() {
    check(
        |e| rx(e, &[0x21, 7, 1], 255, IpAddr::V4(PEER), GROUP, "eth0"),
        DiscardCounters::default(),
        one(|c| c.length = 1),
    );
    check(
        |e| rx(e, &[], 255, IpAddr::V4(PEER), GROUP, "eth0"),
        DiscardCounters::default(),
        one(|c| c.length = 1),
    );
}

#[test]
fn unknown_vrid_and_unknown_interface_are_counted() {
    let b = advert_bytes(Version::V2, 52, 100, 1, PEER, Auth::pass("123456"));
    check(
        |e| rx(e, &b, 255, IpAddr::V4(PEER), GROUP, "eth0"),
        DiscardCounters::default(),
        one(|c| c.vrid = 1),
    );
    check(
        |e| rx(e, &good(), 255, IpAddr::V4(PEER), GROUP, "eth9"),
        DiscardCounters::default(),
        one(|c| c.vrid = 1),
    );
}

#[test]
fn unicast_advert_to_a_multicast_instance_is_counted() {
    check(
        |e| {
            rx(
                e,
                &good(),
                255,
                IpAddr::V4(PEER),
                IpAddr::V4(host_addr(1)),
                "eth0",
            )
        },
        one(|c| c.destination = 1),
        DiscardCounters::default(),
    );
}

#[test]
fn own_advert_looped_back_is_counted() {
    let me = host_addr(0);
    let b = advert_bytes(Version::V2, 51, 100, 1, me, Auth::pass("123456"));
    check(
        |e| rx(e, &b, 255, IpAddr::V4(me), GROUP, "eth0"),
        one(|c| c.own = 1),
        DiscardCounters::default(),
    );
}

#[test]
fn mixed_families_are_counted() {
    let v6: IpAddr = "ff02::12".parse().unwrap();
    check(
        |e| rx(e, &good(), 255, IpAddr::V4(PEER), v6, "eth0"),
        DiscardCounters::default(),
        one(|c| c.family = 1),
    );
}

/// A valid advert from `src` at `priority` whose address list is not ours.
fn other_address_list_from(src: Ipv4Addr, priority: u8) -> Vec<u8> {
    vrrp_engine::wire::Advert {
        version: Version::V2,
        vrid: 51,
        priority,
        interval: 1,
        auth: Auth::pass("123456"),
        addrs: vec![IpAddr::V4(Ipv4Addr::new(172, 20, 0, 200))],
    }
    .emit(
        IpAddr::V4(src),
        GROUP,
        vrrp_engine::wire::ChecksumMode::PseudoHeader,
    )
}

/// A valid advert from the peer whose address list is not ours.
fn other_address_list() -> Vec<u8> {
    other_address_list_from(PEER, 100)
}

/// RFC 3768 / RFC 5798 §7.1: a mismatched address list from a router that is not the
/// address owner MUST be dropped (another cluster reusing the VRID must not steer ours).
#[test]
fn address_list_mismatch_is_discarded() {
    let other = Ipv4Addr::new(172, 20, 0, 99);
    check(
        |e| {
            rx(
                e,
                &other_address_list_from(other, 110),
                255,
                IpAddr::V4(other),
                GROUP,
                "eth0",
            )
        },
        one(|c| c.address_list = 1),
        DiscardCounters::default(),
    );
}

/// The address owner's advert (priority 255) goes on being processed (RFC 5798 §7.1),
/// counted as a mismatch.
#[test]
fn the_address_owners_mismatched_advert_is_accepted_and_counted() {
    let mut e = backup();
    let b = other_address_list_from(PEER, 255);
    rx(&mut e, &b, 255, IpAddr::V4(PEER), GROUP, "eth0");
    let c = e.snapshot().instances[0].counters;
    assert_eq!(c.address_list_mismatch, 1);
    assert_eq!(c.discarded.address_list, 0);
    assert_eq!(c.adverts_accepted, 2);
}

/// The issue-16 case: a keepalived router of another cluster with the same VRID (VIP .200,
/// priority 110) must not make our Master step down.
#[test]
fn a_master_ignores_a_better_advert_for_other_addresses() {
    let i = instance(100, Version::V2, Duration::from_secs(1));
    let mut e = started(config(i), 0, Instant::ZERO);
    let mut now = Instant::ZERO;
    while e.snapshot().instances[0].state != State::Master {
        now = e.poll_timeout().expect("a Backup has a timer");
        e.handle_timeout(now);
        drain(&mut e);
    }
    let b = vrrp_engine::wire::Advert {
        version: Version::V2,
        vrid: 51,
        priority: 110,
        interval: 1,
        auth: Auth::None,
        addrs: vec![IpAddr::V4(Ipv4Addr::new(172, 20, 0, 200))],
    }
    .emit(
        IpAddr::V4(PEER),
        GROUP,
        vrrp_engine::wire::ChecksumMode::PseudoHeader,
    );
    deliver(&mut e, now, PEER, &b);
    assert!(drain(&mut e).is_empty());
    let s = &e.snapshot().instances[0];
    assert_eq!(s.state, State::Master);
    assert_eq!(s.counters.discarded.address_list, 1);
    // A matching advert at 110 still wins: the check is on the list, not the priority.
    deliver(
        &mut e,
        now,
        PEER,
        &advert_bytes(Version::V2, 51, 110, 1, PEER, Auth::None),
    );
    drain(&mut e);
    assert_eq!(e.snapshot().instances[0].state, State::Backup);
}

/// keepalived 2.2.7 `vrrp_state_backup`: `skip_check_adv_addr` spares only adverts from the
/// Master the Backup already follows; another sender's list is checked.
#[test]
fn an_instances_skip_check_adv_addr_spares_only_the_current_master() {
    let mut i = instance(90, Version::V2, Duration::from_secs(1));
    i.auth = Some(AuthConfig::Pass("123456".into()));
    i.skip_check_adv_addr = true;
    let mut e = started(config(i), 0, Instant::ZERO);
    // Nobody followed yet: checked, and dropped.
    rx(
        &mut e,
        &other_address_list(),
        255,
        IpAddr::V4(PEER),
        GROUP,
        "eth0",
    );
    let c = e.snapshot().instances[0].counters;
    assert_eq!((c.discarded.address_list, c.adverts_accepted), (1, 0));
    // Following PEER: its later adverts are not compared.
    deliver(&mut e, secs(1.0), PEER, &good());
    rx(
        &mut e,
        &other_address_list(),
        255,
        IpAddr::V4(PEER),
        GROUP,
        "eth0",
    );
    let c = e.snapshot().instances[0].counters;
    assert_eq!(c.address_list_mismatch, 0);
    assert_eq!((c.discarded.address_list, c.adverts_accepted), (1, 2));
    // Another sender is.
    let other = Ipv4Addr::new(172, 20, 0, 99);
    let b = other_address_list_from(other, 100);
    rx(&mut e, &b, 255, IpAddr::V4(other), GROUP, "eth0");
    let c = e.snapshot().instances[0].counters;
    assert_eq!((c.discarded.address_list, c.adverts_accepted), (2, 2));
}

/// RFC 5798 §5.2.5: a VRRPv3 advert lists at least one address.
#[test]
fn v3_advert_without_addresses_is_discarded() {
    let i = instance(90, Version::V3, Duration::from_secs(1));
    let mut e = started(config(i), 0, Instant::ZERO);
    let b = vrrp_engine::wire::Advert {
        version: Version::V3,
        vrid: 51,
        priority: 100,
        interval: 100,
        auth: Auth::None,
        addrs: vec![],
    }
    .emit(
        IpAddr::V4(PEER),
        GROUP,
        vrrp_engine::wire::ChecksumMode::PseudoHeader,
    );
    rx(&mut e, &b, 255, IpAddr::V4(PEER), GROUP, "eth0");
    let c = e.snapshot().instances[0].counters;
    assert_eq!((c.discarded.address_list, c.adverts_accepted), (1, 0));
}

#[test]
fn v3_zero_interval_is_counted() {
    let i = instance(90, Version::V3, Duration::from_secs(1));
    let mut e = started(config(i), 0, Instant::ZERO);
    let b = advert_bytes(Version::V3, 51, 100, 0, PEER, Auth::None);
    rx(&mut e, &b, 255, IpAddr::V4(PEER), GROUP, "eth0");
    assert_eq!(e.snapshot().instances[0].counters.discarded.interval, 1);
}

#[test]
fn a_flood_of_random_bytes_changes_no_state() {
    // A deterministic xorshift flood: nothing panics, no state changes, all counted.
    let mut e = backup();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut n = 0u64;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 48) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|k| (x >> (k % 8 * 8)) as u8 ^ k as u8)
            .collect();
        rx(
            &mut e,
            &bytes,
            (x >> 56) as u8,
            IpAddr::V4(PEER),
            GROUP,
            "eth0",
        );
        n += 1;
    }
    assert!(drain(&mut e).is_empty());
    let s = e.snapshot();
    assert_eq!(s.instances[0].state, State::Backup);
    assert_eq!(
        s.instances[0].counters.discarded.total()
            + s.unmatched.total()
            + s.instances[0].counters.adverts_accepted
            - 1,
        n
    );
}

#[test]
fn anomalies_count_bad_packets_not_good_adverts() {
    let mut e = backup();
    let peer = IpAddr::V4(PEER);
    assert_eq!(e.anomalies(), 0, "a good advert is no anomaly");
    rx(&mut e, &good(), 255, peer, GROUP, "eth0");
    assert_eq!(e.anomalies(), 0);
    rx(&mut e, &good(), 64, peer, GROUP, "eth0");
    assert_eq!(e.anomalies(), 1, "a wrong TTL");
    rx(&mut e, &[0x21, 51], 255, peer, GROUP, "eth0");
    assert_eq!(e.anomalies(), 2, "a short packet");
    let other = advert_bytes(Version::V2, 77, 100, 1, PEER, Auth::pass("123456"));
    rx(&mut e, &other, 255, peer, GROUP, "eth0");
    assert_eq!(e.anomalies(), 3, "an unknown VRID");
    assert_eq!(
        e.counters(e.instance_ids().next().unwrap())
            .unwrap()
            .discarded
            .ttl,
        1
    );
    assert_eq!(e.unmatched().vrid, 1);
}

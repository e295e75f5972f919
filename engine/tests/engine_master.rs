//! Master-side rules: higher and lower priority adverts, tie-break, shutdown, announcements,
//! unicast peers.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use support::*;
use vrrp_engine::config::GarpConfig;
use vrrp_engine::wire::{Advert, Auth, ChecksumMode, Packet};
use vrrp_engine::{CheckOutcome, Engine, Input, Instant, Output, Reason, RxPacket, State, Version};

/// Node 0 as Master of a prio-100 v2 instance at `t`.
fn master_at(mut inst: vrrp_engine::config::InstanceConfig) -> (Engine, Instant) {
    inst.priority = 100;
    let mut e = started(config(inst), 0, Instant::ZERO);
    let log = run_alone(&mut e, secs(4.0), |_| CheckOutcome::Pass);
    assert_eq!(transitions(&log).last().map(|x| x.1), Some(State::Master));
    (e, secs(4.0))
}

fn v2() -> vrrp_engine::config::InstanceConfig {
    instance(100, Version::V2, Duration::from_secs(1))
}

fn count_transmits(out: &[Output]) -> usize {
    out.iter()
        .filter(|o| matches!(o, Output::Transmit(_)))
        .count()
}

#[test]
fn master_steps_down_on_higher_priority_and_removes_vips() {
    let (mut e, t) = master_at(v2());
    let peer = host_addr(1);
    deliver(
        &mut e,
        t,
        peer,
        &advert_bytes(Version::V2, 51, 150, 1, peer, Auth::None),
    );
    let out = drain(&mut e);
    match &out[0] {
        Output::RemoveVip { vip, .. } => assert_eq!(vip.addr, IpAddr::V4(VIP)),
        o => panic!("expected RemoveVip first, got {o:?}"),
    }
    match &out[1] {
        Output::StateChanged(c) => {
            assert_eq!((c.from, c.to), (State::Master, State::Backup));
            assert_eq!(
                c.reason,
                Reason::HigherPriority {
                    from: IpAddr::V4(peer),
                    priority: 150
                }
            );
        }
        o => panic!("expected StateChanged, got {o:?}"),
    }
    assert!(!e.snapshot().instances[0].vips_installed);
}

#[test]
fn equal_priority_higher_address_wins_the_tie() {
    // We are 172.20.0.11; 172.20.0.12 is higher: step down (RFC 5798 §6.4.3).
    let (mut e, t) = master_at(v2());
    let higher = Ipv4Addr::new(172, 20, 0, 12);
    deliver(
        &mut e,
        t,
        higher,
        &advert_bytes(Version::V2, 51, 100, 1, higher, Auth::None),
    );
    assert_eq!(e.snapshot().instances[0].state, State::Backup);
}

#[test]
fn equal_priority_lower_address_loses_and_gets_an_advert() {
    let (mut e, t) = master_at(v2());
    let lower = Ipv4Addr::new(172, 20, 0, 5);
    deliver(
        &mut e,
        t,
        lower,
        &advert_bytes(Version::V2, 51, 100, 1, lower, Auth::None),
    );
    let out = drain(&mut e);
    assert_eq!(e.snapshot().instances[0].state, State::Master);
    assert_eq!(
        count_transmits(&out),
        1,
        "RFC 9568 advert on lower priority: {out:?}"
    );
}

#[test]
fn lower_priority_advert_answered_at_once_unless_switched_off() {
    let (mut e, t) = master_at(v2());
    let peer = host_addr(1);
    deliver(
        &mut e,
        t,
        peer,
        &advert_bytes(Version::V2, 51, 50, 1, peer, Auth::None),
    );
    assert_eq!(count_transmits(&drain(&mut e)), 1);
    // The Adver_Timer was reset: next advert one interval after the answer.
    assert_eq!(e.poll_timeout(), Some(t + Duration::from_secs(1)));

    let mut quiet = v2();
    quiet.advert_on_lower_priority = false;
    let (mut e, t) = master_at(quiet);
    deliver(
        &mut e,
        t,
        peer,
        &advert_bytes(Version::V2, 51, 50, 1, peer, Auth::None),
    );
    assert_eq!(count_transmits(&drain(&mut e)), 0);
}

#[test]
fn master_answers_priority_zero_with_an_advert() {
    let (mut e, t) = master_at(v2());
    let peer = host_addr(1);
    deliver(
        &mut e,
        t,
        peer,
        &advert_bytes(Version::V2, 51, 0, 1, peer, Auth::None),
    );
    let out = drain(&mut e);
    assert_eq!(count_transmits(&out), 1);
    assert_eq!(e.poll_timeout(), Some(t + Duration::from_secs(1)));
    assert_eq!(e.snapshot().instances[0].counters.priority_zero_received, 1);
}

#[test]
fn shutdown_sends_priority_zero_and_releases_vips() {
    let (mut e, t) = master_at(v2());
    e.handle(t, Input::Shutdown);
    let out = drain(&mut e);
    let Output::Transmit(x) = &out[0] else {
        panic!("{out:?}")
    };
    let p = Packet::new_checked(&x.payload[..], vrrp_engine::Family::Ipv4).unwrap();
    assert_eq!(p.priority(), 0);
    assert!(matches!(out[1], Output::RemoveVip { .. }));
    assert!(
        matches!(&out[2], Output::StateChanged(c) if c.to == State::Initialize && c.reason == Reason::Shutdown)
    );
    assert_eq!(e.poll_timeout(), None);
}

#[test]
fn becoming_master_announces_five_then_five_more_after_five_seconds() {
    let mut e = started(config(v2()), 0, Instant::ZERO);
    let log = run_alone(&mut e, secs(20.0), |_| CheckOutcome::Pass);
    let announces: Vec<Instant> = log
        .iter()
        .filter(|(_, o)| matches!(o, Output::Announce { .. }))
        .map(|(t, _)| *t)
        .collect();
    let became = Instant::from_nanos(3_609_375_000);
    let mut expected = vec![became; 5];
    expected.extend(vec![became + Duration::from_secs(5); 5]);
    assert_eq!(announces, expected);
    // Order at the transition, as keepalived: advert, state, VIP, announcements.
    let at: Vec<&Output> = log
        .iter()
        .filter(|(t, _)| *t == became)
        .map(|(_, o)| o)
        .collect();
    assert!(matches!(at[0], Output::Transmit(_)));
    assert!(matches!(at[1], Output::StateChanged(_)));
    assert!(matches!(at[2], Output::AddVip { .. }));
    assert!(matches!(at[3], Output::Announce { .. }));
}

#[test]
fn announcements_follow_garp_settings_interval_and_refresh() {
    let mut i = v2();
    i.garp = GarpConfig {
        master_delay: Duration::ZERO,
        master_repeat: 3,
        master_refresh: Some(Duration::from_secs(10)),
        master_refresh_repeat: 2,
        ..GarpConfig::default()
    };
    let mut c = config(i);
    c.global.garp_interval = Duration::from_millis(100);
    let mut e = started(c, 0, Instant::ZERO);
    let log = run_alone(&mut e, secs(25.0), |_| CheckOutcome::Pass);
    let announces: Vec<Instant> = log
        .iter()
        .filter(|(_, o)| matches!(o, Output::Announce { .. }))
        .map(|(t, _)| *t)
        .collect();
    let b = Instant::from_nanos(3_609_375_000);
    let ms = Duration::from_millis;
    let expected = vec![
        b,
        b + ms(100),
        b + ms(200),
        b + ms(10_000),
        b + ms(10_000),
        b + ms(20_000),
        b + ms(20_000),
    ];
    assert_eq!(announces, expected);
}

#[test]
fn unicast_master_sends_to_each_peer_and_backup_accepts_only_peers() {
    let mut i = v2();
    let peers = [host_addr(1), host_addr(2)];
    i.unicast_peers = peers.iter().map(|&p| IpAddr::V4(p)).collect();
    let (mut e, t) = master_at(i.clone());
    let out = run_alone(&mut e, t + Duration::from_secs(1), |_| CheckOutcome::Pass);
    let dsts: Vec<IpAddr> = out
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Transmit(x) => Some(x.dst),
            _ => None,
        })
        .collect();
    assert_eq!(
        &dsts[dsts.len() - 2..],
        &[IpAddr::V4(peers[0]), IpAddr::V4(peers[1])]
    );

    // With check_unicast_src, a Backup accepts a unicast advert from a peer, and not from a
    // stranger (keepalived 2.2.7 `vrrp_check_packet`; engine_unicast.rs has the rest).
    let mut b = i.clone();
    b.priority = 90;
    b.check_unicast_src = true;
    let mut e = started(config(b), 0, Instant::ZERO);
    let stranger = Ipv4Addr::new(172, 20, 0, 99);
    for (src, accepted) in [(peers[0], 1), (stranger, 1)] {
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
            secs(1.0),
            Input::Packet(RxPacket {
                interface: "eth0",
                src: IpAddr::V4(src),
                dst: IpAddr::V4(host_addr(0)),
                ttl: 64,
                payload: &bytes,
            }),
        );
        assert_eq!(
            e.snapshot().instances[0].counters.adverts_accepted,
            accepted
        );
    }
    assert_eq!(e.snapshot().instances[0].counters.discarded.peer, 1);
}

#[test]
fn v3_ipv4_checksum_mode_switch_changes_what_is_sent() {
    for mode in [ChecksumMode::PseudoHeader, ChecksumMode::NoPseudoHeader] {
        let mut i = instance(255, Version::V3, Duration::from_secs(1));
        i.checksum_mode = mode;
        let mut e = started(config(i), 0, Instant::ZERO);
        let out = drain(&mut e);
        let x = out
            .iter()
            .find_map(|o| {
                if let Output::Transmit(x) = o {
                    Some(x)
                } else {
                    None
                }
            })
            .unwrap();
        let p = Packet::new_checked(&x.payload[..], vrrp_engine::Family::Ipv4).unwrap();
        let other = match mode {
            ChecksumMode::PseudoHeader => ChecksumMode::NoPseudoHeader,
            ChecksumMode::NoPseudoHeader => ChecksumMode::PseudoHeader,
        };
        assert!(p.verify_checksum(x.src, x.dst, mode));
        assert!(!p.verify_checksum(x.src, x.dst, other));
    }
}

/// keepalived 2.2.7's `vrrp_state_master_rx`: a Master that hears a lower priority sends
/// `garp_lower_prio_repeat` announcements per VIP at once and again `garp_lower_prio_delay`
/// later (defaults: the global `vrrp_garp_master_repeat` 5 and `vrrp_garp_master_delay` 5 s),
/// none under `vrrp_strict`, which also keeps it from answering with an advert.
#[test]
fn lower_priority_heard_announces_the_vips_again() {
    let count = |out: &[Output]| {
        out.iter()
            .filter(|o| matches!(o, Output::Announce { .. }))
            .count()
    };
    let peer = host_addr(1);
    let (mut e, t) = master_at(v2());
    deliver(
        &mut e,
        t,
        peer,
        &advert_bytes(Version::V2, 51, 50, 1, peer, Auth::None),
    );
    let out = drain(&mut e);
    assert_eq!(count_transmits(&out), 1);
    assert_eq!(count(&out), 5, "five at once: {out:?}");
    assert!(
        matches!(out[0], Output::Transmit(_)),
        "the advert first, then the announcements"
    );
    let log = run_alone(&mut e, t + Duration::from_millis(5500), |_| {
        CheckOutcome::Pass
    });
    let later: Vec<Instant> = log
        .iter()
        .filter(|(_, o)| matches!(o, Output::Announce { .. }))
        .map(|(at, _)| *at)
        .filter(|&at| at > t)
        .collect();
    // The Master's own second burst (garp_master_delay after it took over at 3.609 s) is
    // also in the window; the lower-priority one is the five at exactly t + 5 s.
    let at = |x: Instant| later.iter().filter(|&&a| a == x).count();
    assert_eq!(
        at(t + Duration::from_secs(5)),
        5,
        "five more 5 s later: {later:?}"
    );
    assert_eq!(later.len(), 10, "{later:?}");

    // vrrp_strict, as the keepalived front end reads it: nothing of the kind.
    let text = "global_defs {\n  vrrp_strict\n}\nvrrp_instance VI_1 {\n  interface eth0\n  \
                virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    \
                172.20.0.100/24\n  }\n}\n";
    let strict = vrrp_engine::keepalived::parse_str("s.conf", text, &Default::default())
        .expect("valid")
        .config
        .instances
        .remove(0);
    assert_eq!(strict.garp.lower_prio_repeat, 0);
    assert!(!strict.advert_on_lower_priority);
    let (mut e, t) = master_at(strict);
    deliver(
        &mut e,
        t,
        peer,
        &advert_bytes(Version::V3, 51, 50, 1, peer, Auth::None),
    );
    let out = drain(&mut e);
    assert_eq!((count_transmits(&out), count(&out)), (0, 0), "{out:?}");
}

/// keepalived's `higher_prio_send_advert` (`vrrp_state_master_rx`): a Master hearing a
/// higher priority sends one advert of its own priority, then steps down; off by default.
#[test]
fn higher_priority_heard_sends_one_advert_before_stepping_down_when_asked() {
    let higher = host_addr(1);
    for (flag, adverts) in [(false, 0), (true, 1)] {
        let mut inst = v2();
        inst.higher_prio_send_advert = flag;
        let (mut e, t) = master_at(inst);
        deliver(
            &mut e,
            t,
            higher,
            &advert_bytes(Version::V2, 51, 200, 1, higher, Auth::None),
        );
        let out = drain(&mut e);
        assert_eq!(count_transmits(&out), adverts, "flag {flag}: {out:?}");
        if flag {
            match &out[0] {
                Output::Transmit(x) => {
                    assert_eq!(vrrp_engine::wire::peek_priority(&x.payload), Some(100))
                }
                other => panic!("the advert comes first: {other:?}"),
            }
        }
        assert_eq!(e.snapshot().instances[0].state, State::Backup);
    }
}

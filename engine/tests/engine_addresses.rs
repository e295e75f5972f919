//! Interface addresses and link states as keepalived 2.2.7 reacts to them: the last IPv4
//! address removed from a Master's interface, and the start-up with tracked interfaces.

mod support;

use std::net::IpAddr;
use std::time::Duration;
use support::*;
use vrrp_engine::config::TrackRef;
use vrrp_engine::io::FaultCause;
use vrrp_engine::{Engine, Input, Instant, InterfaceUpdate, Output, Reason, State, Version};

fn v2(priority: u8) -> vrrp_engine::config::InstanceConfig {
    instance(priority, Version::V2, Duration::from_secs(1))
}

/// Skew_Time of a priority-100 v2 Backup (RFC 3768 §6.1): (256-100)/256 s.
const SKEW_100: Duration = Duration::from_nanos(156 * 1_000_000_000 / 256);

#[test]
fn master_losing_its_last_address_sends_priority_zero_before_fault() {
    // keepalived 2.2.7 `netlink_if_address_filter`: the last address of the interface
    // deleted, `down_instance` (a Master's priority-0 advert, from the address just gone)
    // runs before the address is forgotten; the Backup takes over after Skew_Time
    // (RFC 3768 §6.4.2) instead of Master_Down_Interval.
    let latency = Duration::from_millis(1);
    let mut lan = Lan::new(vec![config(v2(150)), config(v2(100))], latency);
    lan.run_until(secs(6.0));
    assert_eq!(lan.state(0), Some(State::Master));
    assert_eq!(lan.state(1), Some(State::Backup));
    let t = secs(6.5);
    lan.run_until(t);
    lan.input(
        0,
        Input::Interface(InterfaceUpdate {
            ipv4: None,
            ..eth0(0, true)
        }),
    );
    let out = lan.outputs_since(0, t);
    let zero = out.iter().position(|(_, o)| {
        matches!(o, Output::Transmit(x)
            if x.src == IpAddr::V4(host_addr(0))
            && vrrp_engine::wire::peek_priority(&x.payload) == Some(0))
    });
    let fault = out.iter().position(|(_, o)| {
        matches!(o, Output::StateChanged(c) if c.to == State::Fault
            && c.reason == Reason::Fault { cause: FaultCause::NoSourceAddress("eth0".into()) })
    });
    assert!(
        zero.is_some() && zero < fault,
        "a priority-0 advert, then FAULT: {out:?}"
    );
    assert!(out.iter().all(|(at, _)| *at == t));
    lan.run_until(secs(10.0));
    let took_over = lan
        .transitions(1)
        .into_iter()
        .find(|&(at, s)| at > t && s == State::Master);
    assert_eq!(took_over, Some((t + latency + SKEW_100, State::Master)));
    // Nothing more from node 0 while it has no address.
    assert_eq!(lan.adverts(0).last().map(|a| a.0), Some(t));
}

/// An engine for node 0 tracking `eth1` with `weight`, given its interfaces one at a time
/// as the daemon reports them (eth0 first).
fn tracking(weight: Option<i32>) -> Engine {
    let mut i = v2(100);
    i.track_interfaces = vec![TrackRef {
        name: "eth1".into(),
        weight,
    }];
    Engine::new(config(i), Instant::ZERO).unwrap()
}

fn eth1_up() -> InterfaceUpdate {
    InterfaceUpdate {
        name: "eth1".into(),
        ipv4: None,
        ..eth0(0, true)
    }
}

#[test]
fn start_waits_for_every_tracked_interface_so_the_first_state_is_right() {
    for weight in [None, Some(-20)] {
        let mut e = tracking(weight);
        e.handle(Instant::ZERO, Input::Interface(eth0(0, true)));
        let early = drain(&mut e);
        assert!(
            !early.iter().any(|o| matches!(o, Output::StateChanged(_))),
            "started before eth1 was known: {early:?}"
        );
        let t = secs(0.002);
        e.handle(t, Input::Interface(eth1_up()));
        let changes: Vec<_> = drain(&mut e)
            .into_iter()
            .filter_map(|o| match o {
                Output::StateChanged(c) => Some((c.at, c.to, c.priority)),
                _ => None,
            })
            .collect();
        // keepalived 2.2.7 starts in BACKUP at full priority: no FAULT, no weight applied.
        assert_eq!(changes, [(t, State::Backup, 100)], "weight {weight:?}");
    }
}

#[test]
fn a_tracked_interface_reported_down_at_start_still_counts() {
    let mut e = tracking(None);
    e.handle(Instant::ZERO, Input::Interface(eth0(0, true)));
    e.handle(
        Instant::ZERO,
        Input::Interface(InterfaceUpdate {
            up: false,
            ..eth1_up()
        }),
    );
    let to: Vec<State> = drain(&mut e)
        .into_iter()
        .filter_map(|o| match o {
            Output::StateChanged(c) => Some(c.to),
            _ => None,
        })
        .collect();
    assert_eq!(to, [State::Fault]);
}

#[test]
fn a_master_whose_address_is_replaced_rides_through() {
    // keepalived 2.2.7 `netlink_if_address_filter`: the primary deleted while another address
    // remains, that one becomes the source; no state change (the daemon reports a promoted
    // or remaining secondary, never "none", while one is left).
    let mut lan = Lan::new(
        vec![config(v2(150)), config(v2(100))],
        Duration::from_millis(1),
    );
    lan.run_until(secs(6.0));
    let t = secs(6.5);
    lan.run_until(t);
    let new = std::net::Ipv4Addr::new(172, 20, 0, 60);
    lan.input(
        0,
        Input::Interface(InterfaceUpdate {
            ipv4: Some(new),
            ..eth0(0, true)
        }),
    );
    lan.run_until(secs(12.0));
    assert!(lan.transitions(0).iter().all(|&(at, _)| at < t));
    assert!(lan.transitions(1).iter().all(|&(at, _)| at < t));
    // RFC 3768 §6.4.3: the next advert at the Adver_Timer (Master since 3 + 106/256 s,
    // adverts on the second after it), from the new address.
    let sent: Vec<(Instant, IpAddr)> = lan
        .outputs_since(0, t)
        .into_iter()
        .filter_map(|(at, o)| match o {
            Output::Transmit(x) => Some((at, x.src)),
            _ => None,
        })
        .collect();
    let first = secs(6.0) + Duration::from_nanos(106 * 1_000_000_000 / 256);
    assert_eq!(
        sent.first(),
        Some(&(first + Duration::from_secs(1), IpAddr::V4(new)))
    );
    assert!(sent.iter().all(|&(_, s)| s == IpAddr::V4(new)));
}

#[test]
fn a_sync_groups_tracked_interface_is_waited_for_too() {
    let mut cfg = config(v2(100));
    let mut g = vrrp_engine::config::SyncGroupConfig::new("G", &["VI_1"]);
    g.track_interfaces = vec![TrackRef {
        name: "eth1".into(),
        weight: None,
    }];
    cfg.sync_groups.push(g);
    let mut e = Engine::new(cfg, Instant::ZERO).unwrap();
    e.handle(Instant::ZERO, Input::Interface(eth0(0, true)));
    assert!(!drain(&mut e)
        .iter()
        .any(|o| matches!(o, Output::StateChanged(_))));
    e.handle(Instant::ZERO, Input::Interface(eth1_up()));
    let to: Vec<State> = drain(&mut e)
        .into_iter()
        .filter_map(|o| match o {
            Output::StateChanged(c) => Some(c.to),
            _ => None,
        })
        .collect();
    assert_eq!(to, [State::Backup]);
}

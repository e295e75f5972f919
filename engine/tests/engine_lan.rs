//! Engines wired back to back on a simulated LAN: election, failover, preemption, and the
//! property that an election always ends with exactly one Master.

mod support;

use proptest::prelude::*;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;
use support::*;
use vrrp_engine::config::{Config, VirtualAddress};
use vrrp_engine::{Engine, Input, Instant, InterfaceUpdate, Output, RxPacket, State, Version};

fn pair(a: u8, b: u8, version: Version, interval: Duration) -> Vec<Config> {
    vec![
        config(instance(a, version, interval)),
        config(instance(b, version, interval)),
    ]
}

#[test]
fn seed_lab_master_and_backup_elect_kill_and_take_back() {
    // The seed's two nodes: MASTER prio 100 and BACKUP prio 90, v2, 1 s.
    let mut lan = Lan::new(
        pair(100, 90, Version::V2, Duration::from_secs(1)),
        Duration::ZERO,
    );
    lan.run_until(secs(10.0));
    assert_eq!(
        (lan.state(0), lan.state(1)),
        (Some(State::Master), Some(State::Backup))
    );
    // SIGKILL-like crash of the Master: silence.
    let last_advert = lan.adverts(0).last().unwrap().0;
    lan.kill(0);
    lan.run_until(secs(20.0));
    let takeover = lan.transitions(1).last().copied().unwrap();
    assert_eq!(
        takeover,
        (
            last_advert + Duration::from_nanos(3_648_437_500),
            State::Master
        )
    );
    // Restart: the old Master comes back as Backup, the running Master (90) hears nothing
    // better until the newcomer's timer runs out, then it preempts.
    lan.nodes[0] = Some(started(
        config(instance(100, Version::V2, Duration::from_secs(1))),
        0,
        lan.now,
    ));
    let back = lan.now;
    lan.run_until(secs(40.0));
    assert_eq!(lan.state(0), Some(State::Master));
    assert_eq!(lan.state(1), Some(State::Backup));
    assert_eq!(
        lan.transitions(0).last().unwrap().0,
        back + Duration::from_nanos(3_609_375_000)
    );
}

#[test]
fn graceful_stop_hands_over_after_skew_time() {
    let mut lan = Lan::new(
        pair(100, 90, Version::V2, Duration::from_secs(1)),
        Duration::ZERO,
    );
    lan.run_until(secs(10.0));
    let stop = lan.now;
    lan.input(0, Input::Shutdown);
    lan.run_until(secs(12.0));
    assert_eq!(
        lan.transitions(1).last().copied(),
        Some((stop + Duration::from_nanos(648_437_500), State::Master))
    );
}

#[test]
fn nopreempt_backup_keeps_the_vip_when_the_old_master_returns() {
    // keepalived users' setup: both nodes BACKUP with nopreempt on the higher one.
    let mut cfgs = pair(100, 90, Version::V2, Duration::from_secs(1));
    cfgs[0].instances[0].preempt = false;
    let mut lan = Lan::new(cfgs.clone(), Duration::ZERO);
    lan.run_until(secs(10.0));
    assert_eq!(lan.state(0), Some(State::Master));
    lan.kill(0);
    lan.run_until(secs(20.0));
    assert_eq!(lan.state(1), Some(State::Master));
    lan.nodes[0] = Some(started(cfgs[0].clone(), 0, lan.now));
    lan.run_until(secs(60.0));
    assert_eq!(
        (lan.state(0), lan.state(1)),
        (Some(State::Backup), Some(State::Master))
    );
}

#[test]
fn v3_fast_adverts_fail_over_within_master_down_interval() {
    let mut lan = Lan::new(
        pair(200, 100, Version::V3, Duration::from_millis(10)),
        Duration::from_micros(100),
    );
    lan.run_until(secs(1.0));
    let last_advert = lan.adverts(0).last().unwrap().0;
    lan.kill(0);
    lan.run_until(secs(2.0));
    // Received 100 us after it was sent; Master_Down_Interval 36.09375 ms after that.
    let expected = last_advert + Duration::from_micros(100) + Duration::from_nanos(36_093_750);
    assert_eq!(
        lan.transitions(1).last().copied(),
        Some((expected, State::Master))
    );
}

#[test]
fn runs_are_deterministic() {
    let run = || {
        let mut lan = Lan::new(
            pair(100, 100, Version::V3, Duration::from_millis(100)),
            Duration::from_micros(250),
        );
        lan.run_until(secs(5.0));
        lan.kill(1);
        lan.run_until(secs(10.0));
        format!("{:?}", lan.log)
    };
    let (a, b) = (run(), run());
    assert!(a.len() > 1000);
    assert_eq!(a, b);
}

#[test]
fn ipv6_v3_owner_sends_from_link_local_and_backup_accepts() {
    let vip: IpAddr = "fd77::100".parse().unwrap();
    let mk = |prio| {
        let mut i = vrrp_engine::config::InstanceConfig::new("V6", "eth0", 53);
        i.version = Version::V3;
        i.priority = prio;
        if prio == 255 {
            // No `state` line: keepalived derives MASTER for the owner.
            i.initial_state = vrrp_engine::config::InitialState::Master;
        }
        i.vips.push(VirtualAddress::host(vip));
        config(i)
    };
    let ll = |n: u16| Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n);
    let iface = |n| {
        Input::Interface(InterfaceUpdate {
            name: "eth0".into(),
            up: true,
            ipv4: None,
            ipv6_link_local: Some(ll(n)),
        })
    };
    let mut owner = Engine::new(mk(255), Instant::ZERO).unwrap();
    owner.handle(Instant::ZERO, iface(1));
    let out = drain(&mut owner);
    let x = out
        .iter()
        .find_map(|o| {
            if let Output::Transmit(x) = o {
                Some(x.clone())
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(
        (x.src, x.dst, x.ttl),
        (IpAddr::V6(ll(1)), "ff02::12".parse().unwrap(), 255)
    );
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Announce { addr, .. } if *addr == vip)));

    let mut backup = Engine::new(mk(100), Instant::ZERO).unwrap();
    backup.handle(Instant::ZERO, iface(2));
    backup.handle(
        secs(0.5),
        Input::Packet(RxPacket {
            interface: "eth0",
            src: x.src,
            dst: x.dst,
            ttl: 255,
            payload: &x.payload,
        }),
    );
    let s = &backup.snapshot().instances[0];
    assert_eq!(
        (s.counters.adverts_accepted, s.master_priority, s.state),
        (1, Some(255), State::Backup)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Two engines with random priorities, versions, intervals and latency always end with
    /// exactly one Master, and it is the right one: the higher priority. On a tie either may
    /// win: the higher address (node 1) wins only when both are Master at once; a Backup
    /// hearing an equal priority keeps waiting (RFC 5798 §6.4.2), so whichever was Master
    /// first stays.
    #[test]
    fn back_to_back_engines_elect_exactly_one_master(
        a in 1u8..=255,
        b in 1u8..=254,
        v3 in any::<bool>(),
        interval_cs in prop::sample::select(vec![1u16, 5, 10, 100]),
        latency_us in 0u64..2_000,
        start_b_ms in 0u64..3_000,
    ) {
        let (version, interval) = if v3 {
            (Version::V3, Duration::from_millis(10 * u64::from(interval_cs)))
        } else {
            (Version::V2, Duration::from_secs(1))
        };
        let cfgs = pair(a, b, version, interval);
        let mut lan = Lan::new(vec![cfgs[0].clone()], Duration::from_micros(latency_us));
        lan.nodes.push(None);
        lan.run_until(Instant::from_millis(start_b_ms));
        lan.nodes[1] = Some(started(cfgs[1].clone(), 1, lan.now));
        lan.run_until(lan.now + interval * 10 + Duration::from_secs(5));
        let masters = (0..2).filter(|&n| lan.state(n) == Some(State::Master)).count();
        prop_assert_eq!(masters, 1);
        if a != b {
            let winner = if a > b { 0 } else { 1 };
            prop_assert_eq!(lan.state(winner), Some(State::Master));
        }
    }
}

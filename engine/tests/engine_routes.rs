//! `virtual_routes` and `virtual_rules` with exact times and order: installed on becoming
//! Master after the VIPs (routes, then rules, then the announcements), removed on leaving it
//! before the VIPs (rules, then routes), on shutdown and FAULT after the priority-0 advert,
//! and a reload applies only the difference (keepalived 2.2.7 `vrrp_state_become_master`,
//! `vrrp_restore_interface`, `clear_diff_vrrp`, `restore_vrrp_state`).

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use support::*;
use vrrp_engine::config::{Config, RouteType, RuleAction, VirtualRoute, VirtualRule};
use vrrp_engine::{Input, Instant, Output, State, Version};

/// `192.0.2.0/24 via 172.20.0.1`.
fn via_route() -> VirtualRoute {
    let mut r = VirtualRoute::to(pfx([192, 0, 2, 0], 24));
    r.via = Some(IpAddr::V4(Ipv4Addr::new(172, 20, 0, 1)));
    r
}

/// `blackhole 198.51.100.0/24`.
fn blackhole() -> VirtualRoute {
    let mut r = VirtualRoute::to(pfx([198, 51, 100, 0], 24));
    r.kind = RouteType::Blackhole;
    r
}

/// `203.0.113.0/24 dev eth0 table 100`.
fn table_route() -> VirtualRoute {
    let mut r = VirtualRoute::to(pfx([203, 0, 113, 0], 24));
    r.dev = Some("eth0".into());
    r.table = 100;
    r
}

/// `from 172.20.0.100 table 100 preference 100`.
fn from_vip() -> VirtualRule {
    let mut r = VirtualRule::new(RuleAction::Table(100), 100);
    r.from = Some(pfx([172, 20, 0, 100], 32));
    r
}

/// `to 192.0.2.0/24 table 200 preference 200`.
fn to_net() -> VirtualRule {
    let mut r = VirtualRule::new(RuleAction::Table(200), 200);
    r.to = Some(pfx([192, 0, 2, 0], 24));
    r
}

fn node(priority: u8, routes: Vec<VirtualRoute>, rules: Vec<VirtualRule>) -> Config {
    let mut i = instance(priority, Version::V2, Duration::from_secs(1));
    i.virtual_routes = routes;
    i.virtual_rules = rules;
    config(i)
}

/// One word per output, for comparing sequences.
fn word(o: &Output) -> String {
    match o {
        Output::Transmit(x) => format!(
            "tx {}",
            vrrp_engine::wire::peek_priority(&x.payload).unwrap_or(0)
        ),
        Output::StateChanged(c) => format!("state {}", c.to.as_str()),
        Output::AddVip { vip, .. } => format!("add vip {}", vip.addr),
        Output::RemoveVip { vip, .. } => format!("del vip {}", vip.addr),
        Output::AddRoute { route, .. } => format!("add route {route}"),
        Output::RemoveRoute { route, .. } => format!("del route {route}"),
        Output::AddRule { rule, .. } => format!("add rule {rule}"),
        Output::RemoveRule { rule, .. } => format!("del rule {rule}"),
        Output::Announce { addr, .. } => format!("garp {addr}"),
        o => format!("{o:?}"),
    }
}

fn words<'a>(outs: impl IntoIterator<Item = &'a Output>) -> Vec<String> {
    outs.into_iter().map(word).collect()
}

/// Node 0 (150) and node 1 (100), both with the same routes and rules: node 0 becomes
/// Master at Master_Down_Interval = 3 + (256-150)/256 s and installs VIPs, routes, rules,
/// then announces; node 1 never installs any.
#[test]
fn master_installs_after_the_vips_and_before_the_announcements_backup_never() {
    let routes = vec![via_route(), blackhole()];
    let rules = vec![from_vip()];
    let mut lan = Lan::new(
        vec![
            node(150, routes.clone(), rules.clone()),
            node(100, routes, rules),
        ],
        Duration::ZERO,
    );
    lan.run_until(secs(10.0));
    let takeover = Instant::from_nanos(3_414_062_500);
    assert_eq!(
        lan.transitions(0),
        [(secs(0.0), State::Backup), (takeover, State::Master)]
    );
    let at: Vec<&Output> = lan
        .log
        .iter()
        .filter(|(t, n, _)| *n == 0 && *t == takeover)
        .map(|(_, _, o)| o)
        .collect();
    let mut expected: Vec<String> = [
        "tx 150",
        "state MASTER",
        "add vip 172.20.0.100",
        "add route 192.0.2.0/24 via 172.20.0.1",
        "add route blackhole 198.51.100.0/24",
        "add rule inet from 172.20.0.100/32 preference 100 table 100",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    expected.extend((0..5).map(|_| "garp 172.20.0.100".to_string()));
    assert_eq!(words(at), expected);
    // Installed once: nothing more while Master.
    let installs = lan
        .log
        .iter()
        .filter(|(_, _, o)| matches!(o, Output::AddRoute { .. } | Output::AddRule { .. }))
        .count();
    assert_eq!(installs, 3, "only node 0, only at the takeover");
}

/// Leaving Master for Backup (a higher priority heard): rules, routes, VIPs removed, then
/// the state change; no priority-0 advert.
#[test]
fn backup_on_higher_priority_removes_rules_then_routes_then_vips() {
    let mut e = started(
        node(
            100,
            vec![via_route(), blackhole()],
            vec![from_vip(), to_net()],
        ),
        0,
        Instant::ZERO,
    );
    let log = run_alone(&mut e, secs(4.0), |_| vrrp_engine::CheckOutcome::Pass);
    assert_eq!(
        transitions(&log).last(),
        Some(&(Instant::from_nanos(3_609_375_000), State::Master))
    );
    let peer = host_addr(1);
    deliver(
        &mut e,
        secs(4.5),
        peer,
        &advert_bytes(Version::V2, 51, 200, 1, peer, vrrp_engine::wire::Auth::None),
    );
    assert_eq!(
        words(&drain(&mut e)),
        [
            "del rule inet from 172.20.0.100/32 preference 100 table 100",
            "del rule inet to 192.0.2.0/24 preference 200 table 200",
            "del route 192.0.2.0/24 via 172.20.0.1",
            "del route blackhole 198.51.100.0/24",
            "del vip 172.20.0.100",
            "state BACKUP",
        ]
    );
}

/// Shutdown of a Master (and FAULT, the same hand-over): the priority-0 advert, rules,
/// routes, VIPs, then the state change. A Backup removes nothing.
#[test]
fn shutdown_and_fault_remove_after_the_priority_zero_advert() {
    let cfg = node(100, vec![table_route()], vec![from_vip()]);
    // Shutdown sends one priority-0 advert, a fault two (keepalived 2.2.7 `down_instance`).
    let expected = |state: &str| {
        let zeros = if state == "FAULT" { 2 } else { 1 };
        let mut words = vec!["tx 0".to_string(); zeros];
        words.extend([
            "del rule inet from 172.20.0.100/32 preference 100 table 100".into(),
            "del route 203.0.113.0/24 dev eth0 table 100".into(),
            "del vip 172.20.0.100".into(),
            format!("state {state}"),
        ]);
        words
    };

    let mut e = started(cfg.clone(), 0, Instant::ZERO);
    run_alone(&mut e, secs(4.0), |_| vrrp_engine::CheckOutcome::Pass);
    e.handle(secs(5.0), Input::Shutdown);
    assert_eq!(words(&drain(&mut e)), expected("INIT"));

    let mut e = started(cfg.clone(), 0, Instant::ZERO);
    run_alone(&mut e, secs(4.0), |_| vrrp_engine::CheckOutcome::Pass);
    e.handle(secs(5.0), Input::Interface(eth0(0, false)));
    assert_eq!(words(&drain(&mut e)), expected("FAULT"));

    // A Backup (before its Master_Down_Timer fires) has nothing to remove.
    let mut e = started(cfg, 0, Instant::ZERO);
    drain(&mut e);
    e.handle(secs(1.0), Input::Shutdown);
    assert_eq!(words(&drain(&mut e)), ["state INIT"]);
}

/// A reload of a Master applies only the difference, in keepalived's order: rules and routes
/// no longer configured are removed, new routes then new rules added, then the advert; kept
/// ones are not touched. A Backup's reload touches none.
#[test]
fn reload_applies_only_the_difference() {
    let mut lan = Lan::new(
        vec![
            node(150, vec![via_route(), blackhole()], vec![from_vip()]),
            node(100, vec![via_route(), blackhole()], vec![from_vip()]),
        ],
        Duration::ZERO,
    );
    lan.run_until(secs(10.2));
    assert_eq!(
        (lan.state(0), lan.state(1)),
        (Some(State::Master), Some(State::Backup))
    );

    let new = node(150, vec![blackhole(), table_route()], vec![to_net()]);
    let reload = lan.now;
    lan.reconfigure(0, new);
    let m: Vec<&Output> = lan
        .outputs_since(0, reload)
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(
        words(m),
        [
            "del rule inet from 172.20.0.100/32 preference 100 table 100",
            "del route 192.0.2.0/24 via 172.20.0.1",
            "add route 203.0.113.0/24 dev eth0 table 100",
            "add rule inet to 192.0.2.0/24 preference 200 table 200",
            "tx 150",
        ]
    );

    // The same file again: nothing but the advert.
    lan.run_until(secs(12.5));
    let reload = lan.now;
    lan.reconfigure(
        0,
        node(150, vec![blackhole(), table_route()], vec![to_net()]),
    );
    let m: Vec<&Output> = lan
        .outputs_since(0, reload)
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(words(m), ["tx 150"]);

    // The Backup's routes change: nothing is installed or removed.
    let reload = lan.now;
    lan.reconfigure(1, node(100, vec![table_route()], vec![]));
    let b = lan.outputs_since(1, reload);
    assert!(
        b.iter().all(|(_, o)| !matches!(
            o,
            Output::AddRoute { .. }
                | Output::RemoveRoute { .. }
                | Output::AddRule { .. }
                | Output::RemoveRule { .. }
        )),
        "{b:?}"
    );

    // The Master's instance removed by a reload: it hands over with priority 0 and removes
    // what it installed.
    lan.run_until(secs(13.7));
    let reload = lan.now;
    lan.reconfigure(0, Config::default());
    let m: Vec<&Output> = lan
        .outputs_since(0, reload)
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(
        words(m),
        [
            "tx 0",
            "del rule inet to 192.0.2.0/24 preference 200 table 200",
            "del route blackhole 198.51.100.0/24",
            "del route 203.0.113.0/24 dev eth0 table 100",
            "del vip 172.20.0.100",
            "state INIT",
        ]
    );
}

//! Tracked `virtual_routes` / `virtual_rules` with exact times: a Master whose route with a
//! `dev` (or rule) is deleted behind its back sends priority 0, removes the rest, goes
//! Backup with Master_Down_Timer = Skew_Time and so takes over again (installing the route
//! again) unless a better router comes first; `no_track`, a route without `dev`, a Backup
//! and an unknown line change nothing (keepalived 2.2.7 `netlink_route_filter`,
//! `netlink_rule_filter`, `set_vrrp_backup`).

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use support::*;
use vrrp_engine::config::{Config, RuleAction, VirtualRoute, VirtualRule};
use vrrp_engine::{Input, InstanceId, Instant, Output, Reason, State, Version};

/// `203.0.113.0/24 dev eth0 table 100`: tracked.
fn tracked() -> VirtualRoute {
    let mut r = VirtualRoute::to(pfx([203, 0, 113, 0], 24));
    r.dev = Some("eth0".into());
    r.table = 100;
    r
}

/// `198.51.100.0/24 dev eth0 no_track`.
fn untracked() -> VirtualRoute {
    let mut r = VirtualRoute::to(pfx([198, 51, 100, 0], 24));
    r.dev = Some("eth0".into());
    r.no_track = true;
    r
}

/// `192.0.2.0/24 via 172.20.0.1` without `no_track`: no `dev`, so not tracked.
fn no_dev() -> VirtualRoute {
    let mut r = VirtualRoute::to(pfx([192, 0, 2, 0], 24));
    r.via = Some(IpAddr::V4(Ipv4Addr::new(172, 20, 0, 1)));
    r
}

/// `from 172.20.0.100 table 100 preference 100`.
fn rule() -> VirtualRule {
    let mut r = VirtualRule::new(RuleAction::Table(100), 100);
    r.from = Some(pfx([172, 20, 0, 100], 32));
    r
}

fn node(priority: u8) -> Config {
    let mut i = instance(priority, Version::V2, Duration::from_secs(1));
    i.virtual_routes = vec![tracked(), untracked(), no_dev()];
    i.virtual_rules = vec![rule()];
    config(i)
}

fn word(o: &Output) -> String {
    match o {
        Output::Transmit(x) => format!(
            "tx {}",
            vrrp_engine::wire::peek_priority(&x.payload).unwrap_or(0)
        ),
        Output::StateChanged(c) => format!("state {} ({})", c.to.as_str(), c.reason),
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

fn words_at(lan: &Lan, n: usize, at: Instant) -> Vec<String> {
    lan.log
        .iter()
        .filter(|(t, m, _)| *m == n && *t == at)
        .map(|(_, _, o)| word(o))
        .collect()
}

const A: InstanceId = InstanceId(0);

/// Node 0 (150) Master, node 1 (100) Backup. The tracked route deleted at 10.5 s: node 0
/// sends priority 0, removes the rule and the routes still there (not the deleted one) and
/// the VIP, goes Backup; its Master_Down_Timer is Skew_Time (256-150)/256 = 0.4140625 s,
/// shorter than node 1's (0.609375 s after the priority 0), so node 0 is Master again at
/// 10.9140625 s and installs everything, the deleted route included; node 1 stays Backup.
#[test]
fn a_deleted_tracked_route_hands_over_with_priority_zero_and_comes_back_after_skew_time() {
    let mut lan = Lan::new(vec![node(150), node(100)], Duration::ZERO);
    lan.run_until(secs(10.5));
    assert_eq!(lan.state(0), Some(State::Master));
    lan.input(
        0,
        Input::RouteDeleted {
            instance: A,
            route: tracked(),
        },
    );
    assert_eq!(
        words_at(&lan, 0, secs(10.5)),
        [
            "tx 0",
            "del rule inet from 172.20.0.100/32 preference 100 table 100",
            "del route 198.51.100.0/24 dev eth0 no_track",
            "del route 192.0.2.0/24 via 172.20.0.1",
            "del vip 172.20.0.100",
            "state BACKUP (route deleted: 203.0.113.0/24 dev eth0 table 100)",
        ]
    );
    let reason = lan.log.iter().find_map(|(t, _, o)| match o {
        Output::StateChanged(c) if *t == secs(10.5) => Some(c.reason.clone()),
        _ => None,
    });
    assert_eq!(
        reason,
        Some(Reason::RouteDeleted {
            route: "203.0.113.0/24 dev eth0 table 100".into()
        })
    );
    lan.run_until(secs(15.0));
    let back = Instant::from_nanos(10_914_062_500);
    assert_eq!(
        lan.transitions(0),
        [
            (secs(0.0), State::Backup),
            (Instant::from_nanos(3_414_062_500), State::Master),
            (secs(10.5), State::Backup),
            (back, State::Master),
        ]
    );
    assert_eq!(lan.transitions(1), [(secs(0.0), State::Backup)]);
    let again = words_at(&lan, 0, back);
    assert_eq!(
        again[..7],
        [
            "tx 150",
            "state MASTER (master down timer)",
            "add vip 172.20.0.100",
            "add route 203.0.113.0/24 dev eth0 table 100",
            "add route 198.51.100.0/24 dev eth0 no_track",
            "add route 192.0.2.0/24 via 172.20.0.1",
            "add rule inet from 172.20.0.100/32 preference 100 table 100",
        ]
    );
}

/// A deleted rule: the same hand-over, the rule not removed again.
#[test]
fn a_deleted_rule_hands_over_the_same_way() {
    let mut lan = Lan::new(vec![node(150), node(100)], Duration::ZERO);
    lan.run_until(secs(10.5));
    lan.input(
        0,
        Input::RuleDeleted {
            instance: A,
            rule: rule(),
        },
    );
    assert_eq!(
        words_at(&lan, 0, secs(10.5)),
        [
            "tx 0",
            "del route 203.0.113.0/24 dev eth0 table 100",
            "del route 198.51.100.0/24 dev eth0 no_track",
            "del route 192.0.2.0/24 via 172.20.0.1",
            "del vip 172.20.0.100",
            "state BACKUP (rule deleted: inet from 172.20.0.100/32 preference 100 table 100)",
        ]
    );
    lan.run_until(secs(15.0));
    assert_eq!(
        lan.transitions(0).last(),
        Some(&(Instant::from_nanos(10_914_062_500), State::Master))
    );
}

/// Node 0 (100) Master, node 1 (150, `nopreempt`, started 5 s later) Backup. Node 0's
/// route deleted at 12 s: node 1's Skew_Time after the priority 0 (0.4140625 s) beats node
/// 0's own (0.609375 s), so node 1 is Master at 12.4140625 s and the VIP moves.
#[test]
fn a_higher_priority_backup_takes_over_first() {
    let mut b = node(150);
    b.instances[0].preempt = false;
    let mut lan = Lan::new(vec![node(100)], Duration::ZERO);
    lan.run_until(secs(5.0));
    assert_eq!(lan.state(0), Some(State::Master));
    lan.nodes.push(Some(started(b, 1, secs(5.0))));
    lan.run_until(secs(12.0));
    assert_eq!(
        (lan.state(0), lan.state(1)),
        (Some(State::Master), Some(State::Backup))
    );
    lan.input(
        0,
        Input::RouteDeleted {
            instance: A,
            route: tracked(),
        },
    );
    lan.run_until(secs(15.0));
    assert_eq!(
        lan.transitions(1).last(),
        Some(&(Instant::from_nanos(12_414_062_500), State::Master))
    );
    assert_eq!(lan.state(0), Some(State::Backup));
}

/// `no_track`, a route without `dev`, a line the instance does not have, and a Backup:
/// nothing happens.
#[test]
fn untracked_unknown_or_backup_deletions_change_nothing() {
    let mut lan = Lan::new(vec![node(150), node(100)], Duration::ZERO);
    lan.run_until(secs(10.5));
    let mut other = tracked();
    other.table = 101;
    for route in [untracked(), no_dev(), other] {
        lan.input(0, Input::RouteDeleted { instance: A, route });
    }
    let mut other = rule();
    other.priority = 101;
    lan.input(
        0,
        Input::RuleDeleted {
            instance: A,
            rule: other,
        },
    );
    // Node 1 is Backup: it has nothing installed to lose.
    lan.input(
        1,
        Input::RouteDeleted {
            instance: A,
            route: tracked(),
        },
    );
    assert_eq!(words_at(&lan, 0, secs(10.5)), Vec::<String>::new());
    assert_eq!(words_at(&lan, 1, secs(10.5)), Vec::<String>::new());
    lan.run_until(secs(15.0));
    assert_eq!(lan.transitions(0).len(), 2);
    assert_eq!(lan.transitions(1).len(), 1);
}

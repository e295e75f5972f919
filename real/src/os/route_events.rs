//! `RTM_DELROUTE` / `RTM_DELRULE` events matched to the routes and rules we installed, as
//! keepalived 2.2.7 matches them (`keepalived_netlink.c` `route_is_ours`, `compare_rule`):
//! a route by family, table, destination and its length, metric, TOS and (when it has a
//! `dev`) output interface; a rule by family, preference, action, table or goto target,
//! `not`, selectors, TOS and fwmark. Only messages carrying our protocol tag
//! ([`super::routes::ROUTE_PROTO`]) are considered.

use super::routes::{route_message, rule_message, ROUTE_PROTO};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::rule::{RuleAttribute, RuleFlags, RuleMessage};
use std::net::IpAddr;
use vrrp_engine::config::{VirtualRoute, VirtualRule};

/// What identifies a route in a deletion event.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RouteKey {
    family: u8,
    dst_len: u8,
    tos: u8,
    table: u32,
    metric: u32,
    dst: Option<RouteAddress>,
    oif: Option<u32>,
}

fn route_key(m: &RouteMessage) -> RouteKey {
    let h = &m.header;
    let mut k = RouteKey {
        family: u8::from(h.address_family),
        dst_len: h.destination_prefix_length,
        tos: h.tos,
        table: u32::from(h.table),
        metric: 0,
        dst: None,
        oif: None,
    };
    for a in &m.attributes {
        match a {
            RouteAttribute::Table(t) => k.table = *t,
            RouteAttribute::Priority(p) => k.metric = *p,
            RouteAttribute::Destination(d) => k.dst = Some(d.clone()),
            RouteAttribute::Oif(i) => k.oif = Some(*i),
            _ => {}
        }
    }
    // A default route comes without RTA_DST (keepalived compares it as the zero address).
    if k.dst_len == 0 {
        k.dst = None;
    }
    k
}

/// Whether `m` carries our protocol tag.
pub fn route_is_tagged(m: &RouteMessage) -> bool {
    u8::from(m.header.protocol) == ROUTE_PROTO
}

/// Whether the kernel's route message `m` is route `r` as we installed it on `oif` (the
/// index of its `dev`; without one the interface is not compared, as keepalived).
pub fn route_matches(m: &RouteMessage, r: &VirtualRoute, oif: Option<u32>) -> bool {
    let mut want = route_key(&route_message(r, oif, false));
    let got = route_key(m);
    if oif.is_none() {
        want.oif = got.oif;
    }
    want == got
}

/// What identifies a rule in a deletion event.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RuleKey {
    family: u8,
    priority: Option<u32>,
    action: u8,
    table: u32,
    goto: Option<u32>,
    invert: bool,
    src: Option<(u8, IpAddr)>,
    dst: Option<(u8, IpAddr)>,
    tos: u8,
    fwmark: Option<u32>,
    fwmask: Option<u32>,
}

fn rule_key(m: &RuleMessage) -> RuleKey {
    let h = &m.header;
    let mut k = RuleKey {
        family: u8::from(h.family),
        priority: None,
        action: u8::from(h.action),
        table: u32::from(h.table),
        goto: None,
        invert: h.flags.contains(RuleFlags::Invert),
        src: None,
        dst: None,
        tos: h.tos,
        fwmark: None,
        fwmask: None,
    };
    for a in &m.attributes {
        match a {
            RuleAttribute::Priority(p) => k.priority = Some(*p),
            RuleAttribute::Table(t) => k.table = *t,
            RuleAttribute::Goto(t) => k.goto = Some(*t),
            RuleAttribute::Source(a) => k.src = Some((h.src_len, *a)),
            RuleAttribute::Destination(a) => k.dst = Some((h.dst_len, *a)),
            RuleAttribute::FwMark(v) => k.fwmark = Some(*v),
            // The kernel reports a mark without a mask with the full mask (keepalived
            // `compare_rule` takes 0xffffffff as no mask).
            RuleAttribute::FwMask(v) if *v != u32::MAX => k.fwmask = Some(*v),
            _ => {}
        }
    }
    k
}

/// Whether `m` carries our protocol tag (a rule without `FRA_PROTOCOL` counts, as
/// keepalived's `netlink_rule_filter` takes it).
pub fn rule_is_tagged(m: &RuleMessage) -> bool {
    m.attributes
        .iter()
        .find_map(|a| match a {
            RuleAttribute::Protocol(p) => Some(u8::from(*p) == ROUTE_PROTO),
            _ => None,
        })
        .unwrap_or(true)
}

/// Whether the kernel's rule message `m` is rule `r` as we installed it.
pub fn rule_matches(m: &RuleMessage, r: &VirtualRule) -> bool {
    rule_key(&rule_message(r)) == rule_key(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp_engine::config::{IpPrefix, RuleAction};

    fn route() -> VirtualRoute {
        let mut r = VirtualRoute::to(IpPrefix {
            addr: "203.0.113.0".parse().unwrap(),
            len: 24,
        });
        r.dev = Some("eth0".into());
        r.table = 1000;
        r
    }

    #[test]
    fn a_route_matches_itself_on_its_interface_only() {
        let r = route();
        let m = route_message(&r, Some(4), false);
        assert!(route_is_tagged(&m));
        assert!(route_matches(&m, &r, Some(4)));
        assert!(!route_matches(&m, &r, Some(5)));
        let mut other = r.clone();
        other.metric = Some(7);
        assert!(!route_matches(&m, &other, Some(4)));
        other = r.clone();
        other.dst.len = 25;
        assert!(!route_matches(&m, &other, Some(4)));
    }

    #[test]
    fn a_rule_matches_itself_and_a_full_fwmask_is_no_mask() {
        let mut r = VirtualRule::new(RuleAction::Table(100), 100);
        r.fwmark = Some(3);
        let mut m = rule_message(&r);
        m.attributes.push(RuleAttribute::FwMask(u32::MAX));
        assert!(rule_is_tagged(&m));
        assert!(rule_matches(&m, &r));
        let mut other = r.clone();
        other.priority = 101;
        assert!(!rule_matches(&m, &other));
    }
}

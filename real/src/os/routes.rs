//! rtnetlink for `virtual_routes` and `virtual_rules`: the messages keepalived 2.2.7 sends
//! (`vrrp_iproute.c` `netlink_route`, `vrrp_iprule.c` `netlink_rule`), with our own protocol
//! tag instead of keepalived's, and the start-up sweep of what a crashed predecessor left.
//!
//! Every route we add carries `rtm_protocol` = [`ROUTE_PROTO`] and every rule
//! `FRA_PROTOCOL` = [`ROUTE_PROTO`] (unless the line sets `protocol` with `no_track`, as
//! keepalived allows: such a route or rule is not swept). keepalived tags its own with
//! `RTPROT_KEEPALIVED` (18); ours is a different number, so neither daemon ever sweeps or
//! deletes the other's. A delete carries the protocol too, and the kernel matches it, so
//! removing a route never takes someone else's route with the same destination.

use futures::{StreamExt, TryStreamExt};
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteProtocol, RouteScope,
    RouteType as NlRouteType,
};
use netlink_packet_route::rule::{
    RuleAction as NlRuleAction, RuleAttribute, RuleFlags, RuleMessage, RulePortRange, RuleUidRange,
};
use netlink_packet_route::{AddressFamily, IpProtocol, RouteNetlinkMessage};
use rtnetlink::{Handle, IpVersion};
use std::net::IpAddr;
use vrrp_engine::config::{RouteAddMode, RuleAction, VirtualRoute, VirtualRule};
use vrrp_engine::Family;

/// Our `rtm_protocol` on every route and `FRA_PROTOCOL` on every rule we add: 0x76 (118),
/// the same number as our addresses' `IFA_PROTO` ([`super::netlink::ADDR_PROTO`]); no
/// routing daemon registers it in `linux/rtnetlink.h` or iproute2's `rt_protos`.
pub const ROUTE_PROTO: u8 = super::netlink::ADDR_PROTO;

/// `RT_SCOPE_NOWHERE`: keepalived's scope on a route delete (matches any scope).
const SCOPE_NOWHERE: u8 = 255;

fn family(f: Family) -> AddressFamily {
    match f {
        Family::Ipv4 => AddressFamily::Inet,
        Family::Ipv6 => AddressFamily::Inet6,
    }
}

fn route_addr(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(v) => RouteAddress::Inet(v),
        IpAddr::V6(v) => RouteAddress::Inet6(v),
    }
}

/// The route message for `r` (keepalived's `netlink_route`): `oif` is the index of its
/// `dev`. For a delete the scope is `nowhere` unless one is configured.
pub fn route_message(r: &VirtualRoute, oif: Option<u32>, delete: bool) -> RouteMessage {
    let mut m = RouteMessage::default();
    let h = &mut m.header;
    h.address_family = family(r.family);
    h.destination_prefix_length = r.dst.len;
    h.tos = r.tos.unwrap_or(0);
    h.protocol = RouteProtocol::from(r.protocol.unwrap_or(ROUTE_PROTO));
    h.kind = NlRouteType::from(r.kind.number());
    let default_scope = if delete { SCOPE_NOWHERE } else { 0 };
    h.scope = RouteScope::from(r.scope.unwrap_or(default_scope));
    match u8::try_from(r.table) {
        Ok(t) => h.table = t,
        Err(_) => {
            h.table = 0;
            m.attributes.push(RouteAttribute::Table(r.table));
        }
    }
    if r.onlink {
        m.header.flags |= RouteFlags::Onlink;
    }
    m.attributes
        .push(RouteAttribute::Destination(route_addr(r.dst.addr)));
    if let Some(p) = r.from {
        m.header.source_prefix_length = p.len;
        m.attributes
            .push(RouteAttribute::Source(route_addr(p.addr)));
    }
    if let Some(a) = r.src {
        m.attributes.push(RouteAttribute::PrefSource(route_addr(a)));
    }
    if let Some(a) = r.via {
        m.attributes.push(RouteAttribute::Gateway(route_addr(a)));
    }
    if let Some(i) = oif {
        m.attributes.push(RouteAttribute::Oif(i));
    }
    if let Some(p) = r.metric {
        m.attributes.push(RouteAttribute::Priority(p));
    }
    m
}

/// The rule message for `r` (keepalived's `netlink_rule`).
pub fn rule_message(r: &VirtualRule) -> RuleMessage {
    let mut m = RuleMessage::default();
    let h = &mut m.header;
    h.family = family(r.family);
    h.tos = r.tos;
    if r.invert {
        h.flags |= RuleFlags::Invert;
    }
    h.action = match r.action {
        RuleAction::Table(_) | RuleAction::L3mdev => NlRuleAction::ToTable,
        RuleAction::Goto(_) => NlRuleAction::Goto,
        RuleAction::Nop => NlRuleAction::Nop,
        RuleAction::Blackhole => NlRuleAction::Blackhole,
        RuleAction::Unreachable => NlRuleAction::Unreachable,
        RuleAction::Prohibit => NlRuleAction::Prohibit,
    };
    let a = &mut m.attributes;
    match r.action {
        RuleAction::Table(t) => match u8::try_from(t) {
            Ok(t) => h.table = t,
            Err(_) => a.push(RuleAttribute::Table(t)),
        },
        RuleAction::Goto(t) => a.push(RuleAttribute::Goto(t)),
        RuleAction::L3mdev => a.push(RuleAttribute::L3MDev(true)),
        _ => {}
    }
    if let Some(p) = r.from {
        h.src_len = p.len;
        a.push(RuleAttribute::Source(p.addr));
    }
    if let Some(p) = r.to {
        h.dst_len = p.len;
        a.push(RuleAttribute::Destination(p.addr));
    }
    a.push(RuleAttribute::Priority(r.priority));
    if let Some(v) = r.fwmark {
        a.push(RuleAttribute::FwMark(v));
    }
    if let Some(v) = r.fwmask {
        a.push(RuleAttribute::FwMask(v));
    }
    if let Some(v) = r.suppress_prefixlength {
        a.push(RuleAttribute::SuppressPrefixLen(v));
    }
    if let Some(d) = &r.iif {
        a.push(RuleAttribute::Iifname(d.clone()));
    }
    if let Some(d) = &r.oif {
        a.push(RuleAttribute::Oifname(d.clone()));
    }
    if let Some(u) = r.uidrange {
        a.push(RuleAttribute::UidRange(RuleUidRange {
            start: u.start,
            end: u.end,
        }));
    }
    a.push(RuleAttribute::Protocol(RouteProtocol::from(
        r.protocol.unwrap_or(ROUTE_PROTO),
    )));
    if let Some(p) = r.ipproto {
        a.push(RuleAttribute::IpProtocol(IpProtocol::from(p)));
    }
    if let Some(p) = r.sport {
        a.push(RuleAttribute::SourcePortRange(RulePortRange {
            start: p.start,
            end: p.end,
        }));
    }
    if let Some(p) = r.dport {
        a.push(RuleAttribute::DestinationPortRange(RulePortRange {
            start: p.start,
            end: p.end,
        }));
    }
    m
}

/// Sends one request and waits for its acknowledgement.
async fn talk(
    handle: &Handle,
    msg: RouteNetlinkMessage,
    flags: u16,
) -> Result<(), rtnetlink::Error> {
    let mut req = NetlinkMessage::from(msg);
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    let mut resp = handle.clone().request(req)?;
    while let Some(m) = resp.next().await {
        if let NetlinkPayload::Error(e) = m.payload {
            if e.code.is_some() {
                return Err(rtnetlink::Error::NetlinkError(e));
            }
        }
    }
    Ok(())
}

/// Adds a route with keepalived's flags: `NLM_F_CREATE`, plus `NLM_F_EXCL` for `add` or
/// `NLM_F_APPEND` for `append` (`prepend`, the default, adds nothing).
pub async fn add_route(
    handle: &Handle,
    r: &VirtualRoute,
    oif: Option<u32>,
) -> Result<(), rtnetlink::Error> {
    let flags = NLM_F_CREATE
        | match r.mode {
            RouteAddMode::Prepend => 0,
            RouteAddMode::Add => NLM_F_EXCL,
            RouteAddMode::Append => NLM_F_APPEND,
        };
    let msg = RouteNetlinkMessage::NewRoute(route_message(r, oif, false));
    talk(handle, msg, flags).await
}

/// Removes a route we added (the kernel matches its protocol).
pub async fn del_route(
    handle: &Handle,
    r: &VirtualRoute,
    oif: Option<u32>,
) -> Result<(), rtnetlink::Error> {
    let msg = RouteNetlinkMessage::DelRoute(route_message(r, oif, true));
    talk(handle, msg, 0).await
}

/// Adds a rule (`NLM_F_CREATE | NLM_F_EXCL`, as keepalived).
pub async fn add_rule(handle: &Handle, r: &VirtualRule) -> Result<(), rtnetlink::Error> {
    let msg = RouteNetlinkMessage::NewRule(rule_message(r));
    talk(handle, msg, NLM_F_CREATE | NLM_F_EXCL).await
}

/// Removes a rule we added (the kernel matches its protocol).
pub async fn del_rule(handle: &Handle, r: &VirtualRule) -> Result<(), rtnetlink::Error> {
    let msg = RouteNetlinkMessage::DelRule(rule_message(r));
    talk(handle, msg, 0).await
}

/// The index of the interface named `name`, if it exists.
pub async fn link_index(handle: &Handle, name: &str) -> Option<u32> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(l)) => Some(l.header.index),
        _ => None,
    }
}

/// Removes every route (all tables, both families) and every rule carrying our protocol.
/// Returns how many routes and rules were removed.
pub async fn sweep_tagged(handle: &Handle) -> Result<(usize, usize), rtnetlink::Error> {
    let mut routes = 0;
    for f in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut q = RouteMessage::default();
        q.header.address_family = f;
        let all: Vec<RouteMessage> = handle.route().get(q).execute().try_collect().await?;
        for msg in all {
            if u8::from(msg.header.protocol) != ROUTE_PROTO {
                continue;
            }
            handle.route().del(msg).execute().await?;
            routes += 1;
        }
    }
    let mut rules = 0;
    for v in [IpVersion::V4, IpVersion::V6] {
        let all: Vec<RuleMessage> = handle.rule().get(v).execute().try_collect().await?;
        for msg in all {
            let ours = msg
                .attributes
                .iter()
                .any(|a| matches!(a, RuleAttribute::Protocol(p) if u8::from(*p) == ROUTE_PROTO));
            if ours {
                handle.rule().del(msg).execute().await?;
                rules += 1;
            }
        }
    }
    Ok((routes, rules))
}

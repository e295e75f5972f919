//! `virtual_routes` and `virtual_rules` read as keepalived 2.2.7 reads them (`alloc_route`,
//! `alloc_rule`): the values, the defaults, and every refusal with its position.

use core::net::IpAddr;
use vrrp_engine::config::{
    IpPrefix, PortRange, RouteAddMode, RouteType, RuleAction, UidRange, VirtualRoute, VirtualRule,
    TABLE_MAIN,
};
use vrrp_engine::keepalived::{self, Options};
use vrrp_engine::Family;

/// The routes block `routes` and the rules block `rules` in one instance (routes start on
/// line 5, rules on line 5 + the number of route lines + 2).
fn conf(routes: &[&str], rules: &[&str]) -> String {
    let block = |name: &str, lines: &[&str]| {
        let mut s = format!("    {name} {{\n");
        for l in lines {
            s += &format!("        {l}\n");
        }
        s + "    }\n"
    };
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n{}{}    \
         virtual_ipaddress {{\n        10.0.0.1\n    }}\n}}\n",
        block("virtual_routes", routes),
        block("virtual_rules", rules)
    )
}

fn findings(text: &str) -> Vec<String> {
    keepalived::analyze_str("t.conf", text, &Options::default())
        .findings
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn routes(lines: &[&str]) -> Vec<VirtualRoute> {
    let a = keepalived::analyze_str("t.conf", &conf(lines, &[]), &Options::default());
    a.config.instances[0].virtual_routes.clone()
}

fn rules(lines: &[&str]) -> Vec<VirtualRule> {
    let a = keepalived::analyze_str("t.conf", &conf(&[], lines), &Options::default());
    a.config.instances[0].virtual_rules.clone()
}

fn pfx(s: &str) -> IpPrefix {
    let (a, l) = s.split_once('/').unwrap();
    IpPrefix {
        addr: a.parse().unwrap(),
        len: l.parse().unwrap(),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn every_route_keyword_is_read() {
    let r = routes(&[
        "src 10.0.0.100 to 192.0.2.0/24 via 10.0.0.1 dev eth1 table 100 metric 5 scope link \
         protocol static tos 0x10 onlink append no_track",
    ]);
    let mut want = VirtualRoute::to(pfx("192.0.2.0/24"));
    want.src = Some(ip("10.0.0.100"));
    want.via = Some(ip("10.0.0.1"));
    want.dev = Some("eth1".into());
    want.table = 100;
    want.metric = Some(5);
    want.scope = Some(253);
    want.protocol = Some(4);
    want.tos = Some(16);
    want.onlink = true;
    want.mode = RouteAddMode::Append;
    want.no_track = true;
    assert_eq!(r, [want]);
}

#[test]
fn route_defaults_types_families_and_synonyms() {
    let r = routes(&[
        "198.51.100.0/24",
        "blackhole 198.51.100.0/25",
        "unreachable 2001:db8::/32",
        "throw default",
        "inet6 prohibit default table local",
        "203.0.113.7 gw 10.0.0.1 oif eth0 priority 7 add",
        "2001:db8:1::/48 from 2001:db8:2::/48 via inet6 fe80::1 preference 9 table main",
    ]);
    assert_eq!(r.len(), 7);
    // Defaults: unicast, main table, IPv4, no metric or scope, prepend; not tracked without
    // `dev` (keepalived 2.2.7 `alloc_route` sets `dont_track`).
    let mut want = VirtualRoute::to(pfx("198.51.100.0/24"));
    want.no_track = true;
    assert_eq!(r[0], want);
    assert!(!r[5].no_track, "a route with `dev` is tracked");
    assert_eq!(r[0].table, TABLE_MAIN);
    assert_eq!(
        (r[1].kind, r[1].dst),
        (RouteType::Blackhole, pfx("198.51.100.0/25"))
    );
    assert_eq!(
        (r[2].kind, r[2].family),
        (RouteType::Unreachable, Family::Ipv6)
    );
    assert_eq!((r[3].kind, r[3].dst), (RouteType::Throw, pfx("0.0.0.0/0")));
    assert_eq!(
        (r[4].kind, r[4].dst, r[4].table),
        (RouteType::Prohibit, pfx("::/0"), 255)
    );
    assert_eq!(r[5].dst, pfx("203.0.113.7/32"));
    assert_eq!(
        (r[5].via, r[5].dev.as_deref()),
        (Some(ip("10.0.0.1")), Some("eth0"))
    );
    assert_eq!((r[5].metric, r[5].mode), (Some(7), RouteAddMode::Add));
    assert_eq!(r[6].from, Some(pfx("2001:db8:2::/48")));
    assert_eq!((r[6].via, r[6].metric), (Some(ip("fe80::1")), Some(9)));
    // Written back in keepalived's syntax.
    let text: Vec<String> = r.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "198.51.100.0/24 no_track",
            "blackhole 198.51.100.0/25 no_track",
            "unreachable 2001:db8::/32 no_track",
            "throw 0.0.0.0/0 no_track",
            "prohibit ::/0 table 255 no_track",
            "203.0.113.7/32 via 10.0.0.1 dev eth0 metric 7 add",
            "2001:db8:1::/48 from 2001:db8:2::/48 via fe80::1 metric 9 no_track",
        ]
    );
}

#[test]
fn route_findings_have_their_position() {
    let t = conf(
        &[
            "192.0.2.0/24 table mytable",
            "192.0.2.0/24 metrik 5",
            "192.0.2.0/24 via 2001:db8::1",
            "from 10.0.0.0/8 192.0.2.0/24",
            "via 10.0.0.1",
            "192.0.2.0/33",
            "192.0.2.0/24 scope galaxy",
            "192.0.2.0/24 dev",
            "192.0.2.0/24 gw 10.0.0.1",
            "192.0.2.0/24 mtu lock 1400",
            "192.0.2.0/24 nexthop via 10.0.0.1",
            "192.0.2.0/24 protocol static",
        ],
        &[],
    );
    assert_eq!(
        findings(&t),
        [
            "t.conf:5:28: error: routing table `mytable` not found for route: vrrpd-real knows \
             table numbers and the names main, local, default (it does not read \
             /etc/iproute2/rt_tables); write the table's number",
            "t.conf:6:22: error: unknown route keyword `metrik`; did you mean `metric`?",
            "t.conf:7:26: error: a route cannot mix IPv4 and IPv6 (`2001:db8::1`)",
            "t.conf:8:14: error: route from address only supported with IPv6 (`10.0.0.0/8`)",
            "t.conf:9:9: error: a route must have a destination",
            "t.conf:10:9: error: prefix `/33` of `192.0.2.0/33` is not in 0..32",
            "t.conf:11:28: error: scope `galaxy` not found or invalid for route",
            "t.conf:12:22: error: `dev` in a route expects a value, got nothing",
            "t.conf:13:9: warning: cannot track route 192.0.2.0/24 with no interface \
             specified, not tracking (keepalived warns the same; add `dev` to track it or \
             `no_track` to silence this)",
            "t.conf:13:22: warning: `gw` for routes is deprecated; write `via` (keepalived reads \
             it as that)",
            "t.conf:14:9: warning: cannot track route 192.0.2.0/24 with no interface \
             specified, not tracking (keepalived warns the same; add `dev` to track it or \
             `no_track` to silence this)",
            "t.conf:14:22: warning: `mtu` in a route is not supported by vrrpd-real: ignored \
             (the route is installed without it)",
            "t.conf:15:22: warning: `nexthop` in a route is not supported by vrrpd-real: this \
             route is not installed",
            "t.conf:16:9: warning: cannot track route 192.0.2.0/24 with no interface \
             specified, not tracking (keepalived warns the same; add `dev` to track it or \
             `no_track` to silence this)",
            "t.conf:16:31: warning: a tracked route has its own protocol: `protocol` is reset \
             (keepalived: \"Route cannot be tracked if protocol is not RTPROT_KEEPALIVED\"); \
             add `no_track` to keep it",
        ]
    );
    // What was kept: the `gw`, `mtu` and `protocol` lines (protocol reset).
    let a = keepalived::analyze_str("t.conf", &t, &Options::default());
    let kept: Vec<String> = a.config.instances[0]
        .virtual_routes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        kept,
        [
            "192.0.2.0/24 via 10.0.0.1 no_track",
            "192.0.2.0/24 no_track",
            "192.0.2.0/24 no_track"
        ]
    );
}

#[test]
fn every_rule_keyword_is_read() {
    let r = rules(&[
        "not from 10.0.0.0/8 to 192.0.2.0/24 lookup 100 order 50 dsfield 8 fwmark 0x10/0xff \
         iif eth0 oif eth1 ipproto tcp sport 1000-2000 dport 80 uidrange 100-200 sup_pl 0 \
         protocol 99 no_track",
    ]);
    let mut want = VirtualRule::new(RuleAction::Table(100), 50);
    want.invert = true;
    want.from = Some(pfx("10.0.0.0/8"));
    want.to = Some(pfx("192.0.2.0/24"));
    want.tos = 8;
    want.fwmark = Some(16);
    want.fwmask = Some(255);
    want.iif = Some("eth0".into());
    want.oif = Some("eth1".into());
    want.ipproto = Some(6);
    want.sport = Some(PortRange {
        start: 1000,
        end: 2000,
    });
    want.dport = Some(PortRange { start: 80, end: 80 });
    want.uidrange = Some(UidRange {
        start: 100,
        end: 200,
    });
    want.suppress_prefixlength = Some(0);
    want.protocol = Some(99);
    want.no_track = true;
    assert_eq!(r, [want]);
}

#[test]
fn rule_actions_and_keepalived_s_default_preferences() {
    let t = conf(
        &[],
        &[
            "from 10.0.0.1 table 100",
            "inet6 from 2001:db8::/64 table 100",
            "to 10.0.0.0/8 preference 10 goto 20",
            "from all type blackhole",
            "iif eth0 unreachable priority 30",
            "fwmark 7 prohibit",
            "nop preference 5",
            "l3mdev preference 1000",
        ],
    );
    let a = keepalived::analyze_str("t.conf", &t, &Options::default());
    let r = &a.config.instances[0].virtual_rules;
    let got: Vec<(RuleAction, u32, Family)> =
        r.iter().map(|x| (x.action, x.priority, x.family)).collect();
    // keepalived numbers rules without a preference 16384, 16383, ... per family.
    assert_eq!(
        got,
        [
            (RuleAction::Table(100), 16384, Family::Ipv4),
            (RuleAction::Table(100), 16384, Family::Ipv6),
            (RuleAction::Goto(20), 10, Family::Ipv4),
            (RuleAction::Blackhole, 16383, Family::Ipv4),
            (RuleAction::Unreachable, 30, Family::Ipv4),
            (RuleAction::Prohibit, 16382, Family::Ipv4),
            (RuleAction::Nop, 5, Family::Ipv4),
            (RuleAction::L3mdev, 1000, Family::Ipv4),
        ]
    );
    assert_eq!(r[3].from, Some(pfx("0.0.0.0/0")));
    let warn = |line: u32, n: u32| {
        format!(
            "t.conf:{line}:9: warning: rule has no preference: set to {n} as keepalived does \
             (this is probably not what you want)"
        )
    };
    assert_eq!(
        findings(&t),
        [
            warn(7, 16384),
            warn(8, 16384),
            warn(10, 16383),
            warn(12, 16382)
        ]
    );
    assert_eq!(
        r[0].to_string(),
        "inet from 10.0.0.1/32 preference 16384 table 100"
    );
}

#[test]
fn rule_findings_have_their_position() {
    let t = conf(
        &[],
        &[
            "from 10.0.0.1 preference 1",
            "from 10.0.0.1 table 0 preference 1",
            "from 10.0.0.1 table 100 blackhole preference 1",
            "from 10.0.0.1 goto 20",
            "preference 30 goto 20",
            "from 10.0.0.1 to 2001:db8::/32 table 1 preference 1",
            "from 10.0.0.1 lookup 1 preference 1 frwmark 3",
            "from 10.0.0.1 local preference 1",
            "fwmark 0x1/zz table 1 preference 1",
            "sup_pl 3 blackhole preference 1",
            "realms 3 table 1 preference 1",
            "preference x table 1",
        ],
    );
    assert_eq!(
        findings(&t),
        [
            "t.conf:7:9: error: no action specified for rule (table, goto, nop, blackhole, \
             unreachable, prohibit or l3mdev)",
            "t.conf:8:29: error: table 0 is not valid for a rule",
            "t.conf:9:33: error: a rule takes one of \
             table/nop/goto/blackhole/prohibit/unreachable/l3mdev",
            "t.conf:10:9: error: invalid rule: goto target 20 given without a preference",
            "t.conf:11:9: error: invalid rule: preference 30 >= goto target 20",
            "t.conf:12:26: error: a rule cannot mix IPv4 and IPv6 (`2001:db8::/32`)",
            "t.conf:13:45: error: unknown rule keyword `frwmark`; did you mean `fwmark`?",
            "t.conf:14:23: error: invalid rule action `local`",
            "t.conf:15:16: error: invalid rule fwmark `0x1/zz`",
            "t.conf:16:9: error: suppressor/realm specified for non table action (keepalived \
             skips this rule)",
            "t.conf:17:9: warning: `realms` in a rule is not supported by vrrpd-real: this rule \
             is not installed",
            "t.conf:18:20: error: `preference` in a rule expects a number in 0..4294967295, \
             got `x`",
        ]
    );
}

#[test]
fn virtual_rules_and_routes_are_no_longer_reported_as_not_acted_on() {
    let t = conf(
        &["192.0.2.0/24 dev eth0"],
        &["from 10.0.0.1 table 1 preference 1"],
    );
    assert!(findings(&t).is_empty(), "{:?}", findings(&t));
}

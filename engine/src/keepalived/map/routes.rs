//! One line of `virtual_routes` or `virtual_rules`, read as keepalived 2.2.7 reads it
//! (`vrrp_iproute.c` `alloc_route`, `vrrp_iprule.c` `alloc_rule`): the same keywords in any
//! order, the same families, defaults and refusals. A line keepalived refuses is an error at
//! its word; options keepalived accepts that `vrrpd-real` does not carry out are warnings
//! (route metrics are ignored; a route or rule whose meaning they change is not installed).

use super::super::diag::Diags;
use super::super::parser::{Node, Word};
use super::super::suggest::suggest;
use crate::config::{
    parse_u32, protocol_number, scope_number, table_number, IpPrefix, PortRange, RouteAddMode,
    RouteType, RuleAction, UidRange, VirtualRoute, VirtualRule,
};
use crate::types::Family;
use core::net::IpAddr;

/// keepalived's `RTPROT_KEEPALIVED`: the protocol a tracked route or rule must carry.
const RTPROT_KEEPALIVED: u8 = 18;

/// Route metrics keepalived accepts with an optional `lock` before the value; ignored here.
const METRICS_LOCK: &[&str] = &[
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "cwnd",
    "ssthresh",
    "rto_min",
    "congctl",
];

/// Route options with one value that keepalived accepts and that are ignored here.
const METRICS: &[&str] = &[
    "hoplimit",
    "window",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "fastopen_no_cookie",
    "pref",
    "ttl-propagate",
    "expires",
];

/// Route keywords (keepalived 2.2.7 `alloc_route`), for did-you-mean.
const ROUTE_WORDS: &[&str] = &[
    "inet",
    "inet6",
    "src",
    "as",
    "via",
    "gw",
    "from",
    "tos",
    "dsfield",
    "table",
    "protocol",
    "scope",
    "metric",
    "priority",
    "preference",
    "dev",
    "oif",
    "onlink",
    "encap",
    "expires",
    "mtu",
    "hoplimit",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "pref",
    "ttl-propagate",
    "fastopen_no_cookie",
    "add",
    "prepend",
    "append",
    "or",
    "nexthop",
    "no_track",
    "vrf",
    "to",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
];

/// Rule keywords (keepalived 2.2.7 `alloc_rule`), for did-you-mean.
const RULE_WORDS: &[&str] = &[
    "inet",
    "inet6",
    "from",
    "to",
    "table",
    "lookup",
    "not",
    "preference",
    "order",
    "priority",
    "tos",
    "dsfield",
    "fwmark",
    "realms",
    "suppress_prefixlength",
    "sup_pl",
    "suppress_ifgroup",
    "sup_group",
    "dev",
    "iif",
    "oif",
    "tunnel-id",
    "uidrange",
    "l3mdev",
    "protocol",
    "ipproto",
    "sport",
    "dport",
    "no_track",
    "type",
    "goto",
    "nop",
    "blackhole",
    "unreachable",
    "prohibit",
];

/// "unknown KIND keyword `W`", with the closest keyword if one is near.
fn unknown(what: &str, w: &Word, known: &[&str]) -> String {
    match suggest(&w.text, known) {
        Some(s) => format!("unknown {what} keyword `{}`; did you mean `{s}`?", w.text),
        None => format!("unknown {what} keyword `{}`", w.text),
    }
}

/// The words of a line: its key, then its values.
fn words(line: &Node) -> Vec<&Word> {
    core::iter::once(&line.key).chain(&line.args).collect()
}

/// A destination or selector: `default` / `any` / `all` take the family of the line.
#[derive(Clone, Copy)]
enum Pfx {
    Any(Option<Family>),
    Is(IpPrefix),
}

impl Pfx {
    fn family(self) -> Option<Family> {
        match self {
            Pfx::Any(f) => f,
            Pfx::Is(p) => Some(p.family()),
        }
    }

    fn resolve(self, family: Family) -> IpPrefix {
        match self {
            Pfx::Any(_) => IpPrefix::any(family),
            Pfx::Is(p) => p,
        }
    }
}

/// keepalived's `parse_route`: `default` / `any` / `all`, the deprecated `default6`, or
/// `ADDR[/LEN]`.
fn prefix(d: &mut Diags, what: &str, w: &Word) -> Option<Pfx> {
    match w.text.as_str() {
        "default" | "any" | "all" => return Some(Pfx::Any(None)),
        "default6" => {
            d.warn(
                w.span,
                "`default6` is deprecated; write `inet6 default` (keepalived reads it as that)",
            );
            return Some(Pfx::Any(Some(Family::Ipv6)));
        }
        _ => {}
    }
    let (a, l) = match w.text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (w.text.as_str(), None),
    };
    let Ok(addr) = a.parse::<IpAddr>() else {
        d.error(
            w.span,
            format!("{what} expects ADDR[/PREFIX], got `{}`", w.text),
        );
        return None;
    };
    let max = match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let len = match l {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => {
                d.error(
                    w.span,
                    format!("prefix `/{l}` of `{}` is not in 0..{max}", w.text),
                );
                return None;
            }
        },
    };
    Some(Pfx::Is(IpPrefix { addr, len }))
}

/// Whether a word is meant as an address (so a bad one is reported as an address, not as
/// an unknown keyword).
fn looks_like_prefix(s: &str) -> bool {
    matches!(s, "default" | "any" | "all" | "default6")
        || s.contains('/')
        || s.parse::<IpAddr>().is_ok()
        || s.starts_with(|ch: char| ch.is_ascii_digit())
        || s.contains(':')
}

/// Reads the words of one line, keyword by keyword, with the errors keepalived reports.
struct Cursor<'a, 'd> {
    words: Vec<&'a Word>,
    i: usize,
    d: &'d mut Diags,
    family: Option<Family>,
    /// A refusal was reported: the line is dropped.
    bad: bool,
    /// What the line is, for messages (`route`, `rule`).
    what: &'static str,
}

impl<'a, 'd> Cursor<'a, 'd> {
    /// A cursor at the first word of `line`, a `what` (`route` or `rule`).
    fn new(line: &'a Node, d: &'d mut Diags, what: &'static str) -> Self {
        Cursor {
            words: words(line),
            i: 0,
            d,
            family: None,
            bad: false,
            what,
        }
    }

    /// A line's `protocol` as keepalived keeps it: only with `no_track` (a tracked line
    /// carries our tag, so that its deletion can be recognised), with keepalived's warning
    /// when a tracked line names another one (`word`).
    fn tracked_protocol(
        &mut self,
        no_track: bool,
        protocol: Option<u8>,
        word: Option<&Word>,
    ) -> Option<u8> {
        if no_track {
            return protocol;
        }
        if let Some(w) = word.filter(|_| protocol.is_some_and(|p| p != RTPROT_KEEPALIVED)) {
            let what = self.what;
            let title = if what == "route" { "Route" } else { "Rule" };
            self.d.warn(
                w.span,
                format!(
                    "a tracked {what} has its own protocol: `protocol` is reset (keepalived: \
                     \"{title} cannot be tracked if protocol is not RTPROT_KEEPALIVED\"); add \
                     `no_track` to keep it"
                ),
            );
        }
        None
    }

    /// The value after keyword `kw` (the cursor moves onto it).
    fn value(&mut self, kw: &Word) -> Option<&'a Word> {
        self.i += 1;
        let w = self.words.get(self.i).copied();
        if w.is_none() {
            self.d.error(
                kw.span,
                format!(
                    "`{}` in a {} expects a value, got nothing",
                    kw.text, self.what
                ),
            );
            self.bad = true;
        }
        w
    }

    /// Sets the line's family, refusing a mix (keepalived: "Cannot mix IPv4 and IPv6").
    fn family(&mut self, f: Option<Family>, at: &Word) {
        let Some(f) = f else { return };
        match self.family {
            None => self.family = Some(f),
            Some(g) if g == f => {}
            Some(_) => {
                self.d.error(
                    at.span,
                    format!("a {} cannot mix IPv4 and IPv6 (`{}`)", self.what, at.text),
                );
                self.bad = true;
            }
        }
    }

    fn error(&mut self, at: &Word, msg: String) {
        self.d.error(at.span, msg);
        self.bad = true;
    }

    /// An unsigned number (C's `strtoul` base 0) up to `max`.
    fn number(&mut self, kw: &Word, max: u32) -> Option<u32> {
        let w = self.value(kw)?;
        match parse_u32(&w.text).filter(|&n| n <= max) {
            Some(n) => Some(n),
            None => {
                let msg = format!(
                    "`{}` in a {} expects a number in 0..{max}, got `{}`",
                    kw.text, self.what, w.text
                );
                self.error(w, msg);
                None
            }
        }
    }

    /// A value looked up by `find` (a number or a name).
    fn named<T>(&mut self, kw: &Word, kind: &str, find: impl Fn(&str) -> Option<T>) -> Option<T> {
        let w = self.value(kw)?;
        let v = find(&w.text);
        if v.is_none() {
            let msg = format!("{kind} `{}` not found or invalid for {}", w.text, self.what);
            self.error(w, msg);
        }
        v
    }

    /// A routing table: a number or iproute2's standard name.
    fn table(&mut self, kw: &Word) -> Option<u32> {
        let w = self.value(kw)?;
        let v = table_number(&w.text);
        if v.is_none() {
            let msg = format!(
                "routing table `{}` not found for {}: vrrpd-real knows table numbers and the \
                 names main, local, default (it does not read /etc/iproute2/rt_tables); write \
                 the table's number",
                w.text, self.what
            );
            self.error(w, msg);
        }
        v
    }

    /// A TOS / dsfield value (a number; keepalived also reads names from rt_dsfield).
    fn tos(&mut self, kw: &Word) -> Option<u8> {
        self.named(kw, "TOS value", |s| {
            parse_u32(s).and_then(|n| u8::try_from(n).ok())
        })
    }

    /// A keyword keepalived accepts that is ignored here, with its values.
    fn ignored(&mut self, kw: &Word, lock: bool) {
        if lock && self.words.get(self.i + 1).is_some_and(|w| w.text == "lock") {
            self.i += 1;
        }
        if self.value(kw).is_some() {
            self.d.warn(
                kw.span,
                format!(
                    "`{}` in a {} is not supported by vrrpd-real: ignored (the {} is installed without it)",
                    kw.text, self.what, self.what
                ),
            );
        }
    }

    /// A keyword that changes what the line means and is not supported: the line is
    /// dropped with a warning (not an error: keepalived accepts it).
    fn unsupported(&mut self, kw: &Word) {
        self.d.warn(
            kw.span,
            format!(
                "`{}` in a {} is not supported by vrrpd-real: this {} is not installed",
                kw.text, self.what, self.what
            ),
        );
        self.bad = true;
        self.i = self.words.len();
    }
}

/// One `virtual_routes` line (keepalived 2.2.7 `alloc_route`). `None` when keepalived
/// refuses it (reported as an error) or it uses what `vrrpd-real` cannot install (a
/// warning).
pub(crate) fn route(line: &Node, d: &mut Diags) -> Option<VirtualRoute> {
    if line.key.text.is_empty() {
        return None;
    }
    let mut c = Cursor::new(line, d, "route");
    let mut dst: Option<Pfx> = None;
    let mut from: Option<Pfx> = None;
    let mut r = VirtualRoute::to(IpPrefix::any(Family::Ipv4));
    let mut protocol_word: Option<&Word> = None;
    while c.i < c.words.len() && !c.bad {
        let w = c.words[c.i];
        match w.text.as_str() {
            "inet" => c.family(Some(Family::Ipv4), w),
            "inet6" => c.family(Some(Family::Ipv6), w),
            "src" => {
                if let Some(v) = c.value(w) {
                    match v.text.parse::<IpAddr>() {
                        Ok(a) => {
                            c.family(Some(Family::of(&a)), v);
                            r.src = Some(a);
                        }
                        Err(_) => c.error(v, format!("invalid route src address `{}`", v.text)),
                    }
                }
            }
            "as" => {
                // keepalived: "\"as to\" for MPLS only - ignoring".
                if c.words.get(c.i + 1).is_some_and(|n| n.text == "to") {
                    c.i += 1;
                }
                if c.value(w).is_some() {
                    c.d.warn(
                        w.span,
                        "`as [to]` is for MPLS only: ignored, as keepalived does",
                    );
                }
            }
            "via" | "gw" => {
                if w.text == "gw" {
                    c.d.warn(
                        w.span,
                        "`gw` for routes is deprecated; write `via` (keepalived reads it as that)",
                    );
                }
                let Some(mut v) = c.value(w) else { break };
                if v.text == "inet" || v.text == "inet6" {
                    let f = if v.text == "inet" {
                        Family::Ipv4
                    } else {
                        Family::Ipv6
                    };
                    c.family(Some(f), v);
                    let Some(n) = c.value(v) else { break };
                    v = n;
                }
                match v.text.parse::<IpAddr>() {
                    Ok(a) => {
                        c.family(Some(Family::of(&a)), v);
                        r.via = Some(a);
                    }
                    Err(_) => c.error(v, format!("invalid route via address `{}`", v.text)),
                }
            }
            "from" => {
                if let Some(v) = c.value(w) {
                    if let Some(p) = prefix(c.d, "route `from`", v) {
                        if p.family() != Some(Family::Ipv6) {
                            c.error(
                                v,
                                format!(
                                    "route from address only supported with IPv6 (`{}`)",
                                    v.text
                                ),
                            );
                        } else {
                            c.family(p.family(), v);
                            from = Some(p);
                        }
                    } else {
                        c.bad = true;
                    }
                }
            }
            "tos" | "dsfield" => r.tos = c.tos(w).or(r.tos),
            "table" => r.table = c.table(w).unwrap_or(r.table),
            "protocol" => {
                protocol_word = c.words.get(c.i + 1).copied();
                r.protocol = c.named(w, "protocol", protocol_number).or(r.protocol);
            }
            "scope" => r.scope = c.named(w, "scope", scope_number).or(r.scope),
            "metric" | "priority" | "preference" => r.metric = c.number(w, u32::MAX).or(r.metric),
            "dev" | "oif" => r.dev = c.value(w).map(|v| v.text.clone()).or(r.dev.take()),
            "onlink" => r.onlink = true,
            "add" => r.mode = RouteAddMode::Add,
            "prepend" => r.mode = RouteAddMode::Prepend,
            "append" => r.mode = RouteAddMode::Append,
            "no_track" => r.no_track = true,
            k if METRICS_LOCK.contains(&k) => c.ignored(w, true),
            k if METRICS.contains(&k) => c.ignored(w, false),
            "realms" | "encap" | "nexthop" | "or" | "vrf" => c.unsupported(w),
            _ => {
                // keepalived: `[to] [TYPE] PREFIX` (the type cannot follow `to`).
                let mut v = w;
                if v.text == "to" {
                    let Some(n) = c.value(w) else { break };
                    v = n;
                } else if let Some(t) = RouteType::parse(&v.text) {
                    r.kind = t;
                    let Some(n) = c.value(w) else { break };
                    v = n;
                }
                if !looks_like_prefix(&v.text) {
                    c.error(v, unknown("route", v, ROUTE_WORDS));
                } else if let Some(p) = prefix(c.d, "a route destination", v) {
                    c.family(p.family(), v);
                    dst = Some(p);
                } else {
                    c.bad = true;
                }
            }
        }
        c.i += 1;
    }
    if c.bad {
        return None;
    }
    let Some(dst) = dst else {
        c.d.error(line.key.span, "a route must have a destination");
        return None;
    };
    r.protocol = c.tracked_protocol(r.no_track, r.protocol, protocol_word);
    let family = c.family.unwrap_or(Family::Ipv4);
    r.family = family;
    r.dst = dst.resolve(family);
    if !r.no_track && r.dev.is_none() {
        // keepalived 2.2.7 `alloc_route`: a deletion is matched by its interface, so a
        // route without one is not tracked (`dont_track` set, as `no_track` would).
        c.d.warn(
            line.key.span,
            format!(
                "cannot track route {} with no interface specified, not tracking (keepalived \
                 warns the same; add `dev` to track it or `no_track` to silence this)",
                r.dst
            ),
        );
        r.no_track = true;
    }
    r.from = from.map(|p| p.resolve(family));
    Some(r)
}

/// A rule line before its preference is known: keepalived gives one to a rule without it.
pub(crate) struct ParsedRule {
    /// The rule (preference 0 when not given).
    pub rule: VirtualRule,
    /// Whether `preference` was given.
    pub has_priority: bool,
}

/// `ipproto` names (keepalived looks them up with `getprotobyname`; the common ones here).
fn ip_protocol(word: &str) -> Option<u8> {
    let n = match word {
        "icmp" => 1,
        "igmp" => 2,
        "tcp" => 6,
        "udp" => 17,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-icmp" | "icmpv6" => 58,
        "sctp" => 132,
        // keepalived's `inet_proto_a2n` refuses numbers above INT8_MAX.
        _ => {
            return parse_u32(word)
                .filter(|&n| n <= 127)
                .and_then(|n| u8::try_from(n).ok())
        }
    };
    Some(n)
}

/// `N` or `N-M` (keepalived's `sscanf("%hu-%hu")`).
fn port_range(s: &str) -> Option<PortRange> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    Some(PortRange {
        start: a.parse().ok()?,
        end: b.parse().ok()?,
    })
}

/// One `virtual_rules` line (keepalived 2.2.7 `alloc_rule`). `None` when keepalived refuses
/// it (an error) or it uses what `vrrpd-real` cannot install (a warning).
pub(crate) fn rule(line: &Node, d: &mut Diags) -> Option<ParsedRule> {
    if line.key.text.is_empty() {
        return None;
    }
    let mut c = Cursor::new(line, d, "rule");
    let mut from: Option<Pfx> = None;
    let mut to: Option<Pfx> = None;
    let mut action: Option<RuleAction> = None;
    let mut table_option: Option<&Word> = None;
    let mut protocol_word: Option<&Word> = None;
    let mut r = VirtualRule::new(RuleAction::Nop, 0);
    let mut has_priority = false;
    while c.i < c.words.len() && !c.bad {
        let w = c.words[c.i];
        let mut set_action = |c: &mut Cursor<'_, '_>, a: RuleAction, at: &Word| {
            if action.is_some() {
                c.error(
                    at,
                    "a rule takes one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev"
                        .to_string(),
                );
            }
            action = Some(a);
        };
        match w.text.as_str() {
            "inet" => c.family(Some(Family::Ipv4), w),
            "inet6" => c.family(Some(Family::Ipv6), w),
            "from" | "to" => {
                if let Some(v) = c.value(w) {
                    match prefix(c.d, "a rule address", v) {
                        Some(p) => {
                            c.family(p.family(), v);
                            if w.text == "from" {
                                from = Some(p);
                            } else {
                                to = Some(p);
                            }
                        }
                        None => c.bad = true,
                    }
                }
            }
            "table" | "lookup" => {
                if let Some(t) = c.table(w) {
                    if t == 0 {
                        let v = c.words[c.i];
                        c.error(v, "table 0 is not valid for a rule".to_string());
                    } else {
                        set_action(&mut c, RuleAction::Table(t), w);
                    }
                }
            }
            "not" => r.invert = true,
            "preference" | "order" | "priority" => {
                if let Some(n) = c.number(w, u32::MAX) {
                    r.priority = n;
                    has_priority = true;
                }
            }
            "tos" | "dsfield" => r.tos = c.tos(w).unwrap_or(r.tos),
            "fwmark" => {
                if let Some(v) = c.value(w) {
                    let (m, k) = match v.text.split_once('/') {
                        Some((m, k)) => (m, Some(k)),
                        None => (v.text.as_str(), None),
                    };
                    match (parse_u32(m), k.map(parse_u32)) {
                        (Some(m), None) => r.fwmark = Some(m),
                        (Some(m), Some(Some(k))) => {
                            r.fwmark = Some(m);
                            r.fwmask = Some(k);
                        }
                        _ => c.error(v, format!("invalid rule fwmark `{}`", v.text)),
                    }
                }
            }
            "suppress_prefixlength" | "sup_pl" => {
                if let Some(n) = c.number(w, i32::MAX.unsigned_abs()) {
                    r.suppress_prefixlength = Some(n);
                    table_option = Some(w);
                }
            }
            "dev" | "iif" => r.iif = c.value(w).map(|v| v.text.clone()).or(r.iif.take()),
            "oif" => r.oif = c.value(w).map(|v| v.text.clone()).or(r.oif.take()),
            "uidrange" => {
                if let Some(v) = c.value(w) {
                    let range = v.text.split_once('-').and_then(|(a, b)| {
                        Some(UidRange {
                            start: a.parse().ok()?,
                            end: b.parse().ok()?,
                        })
                    });
                    match range {
                        Some(u) => r.uidrange = Some(u),
                        None => c.error(v, format!("invalid uidrange `{}`", v.text)),
                    }
                }
            }
            "l3mdev" => set_action(&mut c, RuleAction::L3mdev, w),
            "protocol" => {
                // keepalived reports a bad value and goes on without it.
                if let Some(v) = c.value(w) {
                    match parse_u32(&v.text).and_then(|n| u8::try_from(n).ok()) {
                        Some(p) => {
                            r.protocol = Some(p);
                            protocol_word = Some(v);
                        }
                        None => {
                            c.d.error(v.span, format!("invalid rule protocol `{}`", v.text))
                        }
                    }
                }
            }
            "ipproto" => {
                if let Some(v) = c.value(w) {
                    match ip_protocol(&v.text) {
                        Some(p) => r.ipproto = Some(p),
                        None => c.d.error(v.span, format!("invalid ipproto `{}`", v.text)),
                    }
                }
            }
            "sport" | "dport" => {
                if let Some(v) = c.value(w) {
                    match port_range(&v.text) {
                        Some(p) if w.text == "sport" => r.sport = Some(p),
                        Some(p) => r.dport = Some(p),
                        None => {
                            c.d.error(v.span, format!("invalid {} range `{}`", w.text, v.text))
                        }
                    }
                }
            }
            "no_track" => r.no_track = true,
            "realms" | "suppress_ifgroup" | "sup_group" | "tunnel-id" => c.unsupported(w),
            _ => {
                // keepalived: `[type] goto N | nop | blackhole | unreachable | prohibit`.
                let mut v = w;
                if v.text == "type" {
                    let Some(n) = c.value(w) else { break };
                    v = n;
                }
                match v.text.as_str() {
                    "goto" => {
                        if let Some(t) = c.number(v, u32::MAX) {
                            set_action(&mut c, RuleAction::Goto(t), v);
                        }
                    }
                    "nop" => set_action(&mut c, RuleAction::Nop, v),
                    other => match RouteType::parse(other) {
                        Some(RouteType::Blackhole) => set_action(&mut c, RuleAction::Blackhole, v),
                        Some(RouteType::Unreachable) => {
                            set_action(&mut c, RuleAction::Unreachable, v)
                        }
                        Some(RouteType::Prohibit) => set_action(&mut c, RuleAction::Prohibit, v),
                        Some(_) => c.error(v, format!("invalid rule action `{other}`")),
                        None => c.error(v, unknown("rule", v, RULE_WORDS)),
                    },
                }
            }
        }
        c.i += 1;
    }
    if c.bad {
        return None;
    }
    let Some(action) = action else {
        c.d.error(
            line.key.span,
            "no action specified for rule (table, goto, nop, blackhole, unreachable, prohibit \
             or l3mdev)",
        );
        return None;
    };
    if let RuleAction::Goto(target) = action {
        if !has_priority {
            c.d.error(
                line.key.span,
                format!("invalid rule: goto target {target} given without a preference"),
            );
            return None;
        }
        if r.priority >= target {
            c.d.error(
                line.key.span,
                format!(
                    "invalid rule: preference {} >= goto target {target}",
                    r.priority
                ),
            );
            return None;
        }
    }
    if let Some(w) = table_option.filter(|_| !matches!(action, RuleAction::Table(_))) {
        c.d.error(
            w.span,
            "suppressor/realm specified for non table action (keepalived skips this rule)",
        );
        return None;
    }
    r.protocol = c.tracked_protocol(r.no_track, r.protocol, protocol_word);
    let family = c.family.unwrap_or(Family::Ipv4);
    r.family = family;
    r.action = action;
    r.from = from.map(|p| p.resolve(family));
    r.to = to.map(|p| p.resolve(family));
    Some(ParsedRule {
        rule: r,
        has_priority,
    })
}

/// The preference keepalived 2.2.7 gives rules without one: 16384, then one less for each
/// such rule of the same family, in file order (`RULE_START_PRIORITY`,
/// `next_rule_priority_ipv4` / `_ipv6`), with its warning.
#[derive(Debug)]
pub(crate) struct RulePriorities {
    v4: u32,
    v6: u32,
}

impl Default for RulePriorities {
    fn default() -> Self {
        RulePriorities {
            v4: 16384,
            v6: 16384,
        }
    }
}

impl RulePriorities {
    /// Sets the preference of a rule read without one and warns as keepalived does.
    pub fn assign(&mut self, rule: &mut VirtualRule, at: &Word, d: &mut Diags) {
        let next = match rule.family {
            Family::Ipv4 => &mut self.v4,
            Family::Ipv6 => &mut self.v6,
        };
        rule.priority = *next;
        *next = next.saturating_sub(1);
        d.warn(
            at.span,
            format!(
                "rule has no preference: set to {} as keepalived does (this is probably not \
                 what you want)",
                rule.priority
            ),
        );
    }
}

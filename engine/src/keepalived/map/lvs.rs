//! `virtual_server` / `real_server` and their checkers: kept verbatim (keyword and values, so
//! a file can be dumped as written) and typed for the check engine, each value read as
//! keepalived 2.2.7's handler reads it (`check_parser.c`, `check_api.c` and each checker's
//! file) with bad values reported at their token. Every keyword is checked against the ones
//! keepalived installs for that block, with did-you-mean.

use super::super::diag::Diags;
use super::super::parser::{Node, Word};
use super::unknown;
use super::values::{int, ip_word, one, secs, switch, switch_or_keep, text};
use crate::config::{
    CheckKind, CheckerConfig, HttpCheckConfig, MiscCheckConfig, RealServerConfig,
    SorryServerConfig, UrlConfig, VirtualServerConfig, DEFAULT_PERSISTENCE_TIMEOUT,
};
use crate::lvs::ipvs::{SVC_F_ONEPACKET, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3};
use crate::lvs::{Forwarding, HttpVersion, Protocol, ServiceKey};
use crate::types::Family;
use core::net::{IpAddr, SocketAddr};

/// `virtual_server` keywords (keepalived 2.2.7 `init_check_keywords`).
const VS_KEYS: &[&str] = &[
    "ip_family",
    "retry",
    "delay_before_retry",
    "warmup",
    "connect_timeout",
    "delay_loop",
    "inhibit_on_failure",
    "lb_algo",
    "lvs_sched",
    "hashed",
    "ops",
    "flag-1",
    "flag-2",
    "flag-3",
    "sh-port",
    "sh-fallback",
    "mh-port",
    "mh-fallback",
    "lb_kind",
    "lvs_method",
    "persistence_engine",
    "persistence_timeout",
    "persistence_granularity",
    "protocol",
    "ha_suspend",
    "smtp_alert",
    "virtualhost",
    "snmp_name",
    "alpha",
    "omega",
    "quorum_up",
    "quorum_down",
    "quorum",
    "hysteresis",
    "weight",
    "sorry_server",
    "sorry_server_inhibit",
    "sorry_server_lvs_method",
    "real_server",
];

/// `real_server` keywords (its checker blocks come from [`CHECKERS`]).
const RS_KEYS: &[&str] = &[
    "weight",
    "lvs_method",
    "uthreshold",
    "lthreshold",
    "inhibit_on_failure",
    "notify_up",
    "notify_down",
    "alpha",
    "retry",
    "delay_before_retry",
    "warmup",
    "connect_timeout",
    "delay_loop",
    "smtp_alert",
    "virtualhost",
    "snmp_name",
];

/// Connection keywords of the checkers that connect (`install_checker_common_keywords(true)`).
const CONNECTION_KEYS: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "connect_timeout",
    "fwmark",
];

/// Keywords every checker but FILE_CHECK and BFD_CHECK takes.
const COMMON_KEYS: &[&str] = &[
    "retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "alpha",
    "log_all_failures",
];

/// `HTTP_GET` / `SSL_GET` keywords besides the common ones.
const HTTP_KEYS: &[&str] = &[
    "nb_get_retry",
    "virtualhost",
    "http_protocol",
    "enable_sni",
    "fast_recovery",
    "url",
];

/// Keywords of a `url { }` block of `HTTP_GET` / `SSL_GET`.
const URL_KEYS: &[&str] = &[
    "path",
    "digest",
    "status_code",
    "virtualhost",
    "regex",
    "regex_no_match",
    "regex_options",
    "regex_min_offset",
    "regex_max_offset",
    "regex_stack",
];

/// The keywords a checker block takes (nested blocks included: `url`, `host`).
fn checker_keys(kind: &str) -> Vec<&'static [&'static str]> {
    match kind {
        "TCP_CHECK" | "PING_CHECK" => vec![CONNECTION_KEYS, COMMON_KEYS],
        "HTTP_GET" | "SSL_GET" => vec![CONNECTION_KEYS, COMMON_KEYS, HTTP_KEYS],
        "MISC_CHECK" => vec![
            COMMON_KEYS,
            &["misc_path", "misc_timeout", "misc_dynamic", "user"],
        ],
        "SMTP_CHECK" => vec![CONNECTION_KEYS, COMMON_KEYS, &["helo_name", "host"]],
        "DNS_CHECK" => vec![CONNECTION_KEYS, COMMON_KEYS, &["type", "name"]],
        "UDP_CHECK" => vec![
            CONNECTION_KEYS,
            COMMON_KEYS,
            &[
                "payload",
                "require_reply",
                "min_reply_length",
                "max_reply_length",
            ],
        ],
        "FILE_CHECK" => vec![&["track_file", "weight"]],
        "BFD_CHECK" => vec![&["name", "alpha"]],
        _ => Vec::new(),
    }
}

/// Checker block keywords inside a `real_server`.
pub(crate) const CHECKERS: &[&str] = &[
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "MISC_CHECK",
    "DNS_CHECK",
    "SMTP_CHECK",
    "UDP_CHECK",
    "PING_CHECK",
    "FILE_CHECK",
    "BFD_CHECK",
];

/// The IPVS schedulers keepalived 2.2.7 accepts for `lb_algo` (`lvs_schedulers`).
const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos",
];

/// Longest timer keepalived's `read_timer` accepts for these keywords (`UINT_MAX` µs is
/// about 4295 s; delay_loop and friends accept more, but nobody checks hourly).
const MAX_TIMER_SECS: u64 = 4_294;

/// `persistence_timeout`'s upper bound (`LVS_MAX_TIMEOUT`, 31 days).
const MAX_PERSISTENCE: i64 = 86_400 * 31;

/// The largest IPVS weight (`IPVS_WEIGHT_LIMIT`).
const WEIGHT_LIMIT: i64 = 65_535;

fn line(node: &Node) -> (String, Vec<String>) {
    (
        node.key.text.clone(),
        node.args.iter().map(|w| w.text.clone()).collect(),
    )
}

fn words(node: &Node) -> Vec<String> {
    node.args.iter().map(|w| w.text.clone()).collect()
}

/// A nested block we have no place for: say so rather than drop it silently.
fn dropped(node: &Node, inside: &str, d: &mut Diags) {
    d.warn(
        node.key.span,
        format!("block `{}` inside {inside} is not kept", node.key.text),
    );
}

fn simple_lines(node: &Node, inside: &str, d: &mut Diags) -> OptionLinesOut {
    let mut out = Vec::new();
    for item in node.items() {
        if item.key.text.is_empty() {
            continue;
        }
        // keepalived applies a keyword's line and reads a block after it as lines of this
        // level; the typed mapping (`url_block`) takes the line's values, so the kept lines
        // hold it too, or `print` would lose what the model uses (FUZZING.md #12).
        if item.block.is_some() {
            dropped(item, inside, d);
        }
        out.push(line(item));
    }
    out
}

type OptionLinesOut = Vec<(String, Vec<String>)>;

/// `NAT`, `DR` or `TUN` (tunnel options after it are kept verbatim, not acted on).
fn forwarding(d: &mut Diags, node: &Node) -> Option<Forwarding> {
    let w = one_or_more(d, node, "NAT, DR or TUN")?;
    match w.text.as_str() {
        "NAT" => Some(Forwarding::Nat),
        "DR" => Some(Forwarding::Dr),
        "TUN" => Some(Forwarding::Tun),
        other => {
            d.error(
                w.span,
                format!(
                    "`{}` expects NAT, DR or TUN, got `{other}` (keepalived: unknown routing method)",
                    node.key.text
                ),
            );
            None
        }
    }
}

/// The first value of `node` (more are allowed, e.g. tunnel options).
fn one_or_more<'n>(d: &mut Diags, node: &'n Node, expected: &str) -> Option<&'n Word> {
    let w = node.args.first();
    if w.is_none() {
        d.error(
            node.key.span,
            format!("`{}` expects {expected}, got nothing", node.key.text),
        );
    }
    w
}

fn timer(d: &mut Diags, node: &Node) -> Option<core::time::Duration> {
    secs(d, node, MAX_TIMER_SECS)
}

fn u32_value(d: &mut Diags, node: &Node, lo: i64, hi: i64) -> Option<u32> {
    int(d, node, lo, hi).map(|v| v as u32)
}

/// `ADDR [PORT]` of a real or sorry server (port 0 when absent).
fn server_addr(d: &mut Diags, node: &Node) -> Option<SocketAddr> {
    let Some(first) = node.args.first() else {
        d.error(
            node.key.span,
            format!("`{}` expects an address and a port", node.key.text),
        );
        return None;
    };
    let ip = ip_word(d, &node.key.text, first)?;
    let port = match node.args.get(1) {
        Some(w) => super::values::int_word(d, &node.key.text, w, 0, 65_535)? as u16,
        None => 0,
    };
    Some(SocketAddr::new(ip, port))
}

/// Maps a `virtual_server ... { ... }` block.
pub(crate) fn map_virtual_server(node: &Node, d: &mut Diags) -> VirtualServerConfig {
    let mut vs = VirtualServerConfig {
        target: words(node),
        quorum: 1,
        weight: 1,
        ..VirtualServerConfig::default()
    };
    let mut protocol: Option<Protocol> = None;
    let mut sorry_inhibit = None;
    let mut sorry_forwarding = None;
    let mut sched_flags: Vec<&Node> = Vec::new();
    for item in node.items() {
        let k = item.key.text.as_str();
        match k {
            "" => continue,
            "real_server" => {
                if let Some(rs) = real_server(item, d) {
                    vs.real_servers.push(rs);
                }
                continue;
            }
            _ if item.block.is_some() => {
                dropped(item, "virtual_server", d);
                continue;
            }
            _ => {}
        }
        // Unknown keywords are kept verbatim (so `--dump` shows the file as written) after
        // the warning; keepalived ignores them.
        if !VS_KEYS.contains(&k) {
            unknown(d, item, "virtual_server", &[VS_KEYS]);
        }
        vs.options.push(line(item));
        match k {
            "ip_family" => match one(d, item, "inet or inet6").map(|w| (w.text.as_str(), w)) {
                Some(("inet", _)) => vs.family = Some(Family::Ipv4),
                Some(("inet6", _)) => vs.family = Some(Family::Ipv6),
                Some((other, w)) => d.error(
                    w.span,
                    format!("`ip_family` expects inet or inet6, got `{other}`"),
                ),
                None => {}
            },
            "retry" => vs.retry = u32_value(d, item, 1, u32::MAX as i64),
            "delay_before_retry" => vs.delay_before_retry = timer(d, item),
            "warmup" => vs.warmup = timer(d, item),
            "connect_timeout" => vs.connect_timeout = timer(d, item),
            "delay_loop" => vs.delay_loop = timer(d, item),
            "inhibit_on_failure" => vs.inhibit_on_failure = switch(d, item),
            "lb_algo" | "lvs_sched" => {
                if let Some(w) = one(d, item, "a scheduler name") {
                    if SCHEDULERS.contains(&w.text.as_str()) {
                        vs.scheduler = Some(w.text.clone());
                    } else {
                        // keepalived 2.2.7 `lbalgo_handler`: "Invalid lvs_scheduler - ignoring",
                        // and the default scheduler applies.
                        let hint = super::super::suggest::suggest(&w.text, SCHEDULERS)
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_default();
                        d.warn(
                            w.span,
                            format!(
                                "unknown scheduler `{}`: keepalived ignores it (\"Invalid \
                                 lvs_scheduler '{}' - ignoring\") and uses wlc; it knows {}{hint}",
                                w.text,
                                w.text,
                                SCHEDULERS.join(" ")
                            ),
                        );
                    }
                }
            }
            "ops" => vs.flags |= SVC_F_ONEPACKET,
            "flag-1" => vs.flags |= SVC_F_SCHED1,
            "flag-2" => vs.flags |= SVC_F_SCHED2,
            "flag-3" => vs.flags |= SVC_F_SCHED3,
            "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback" => sched_flags.push(item),
            "lb_kind" | "lvs_method" => vs.forwarding = forwarding(d, item),
            "persistence_engine" => vs.persistence_engine = text(d, item),
            "persistence_timeout" => {
                vs.persistence_timeout = if item.args.is_empty() {
                    Some(DEFAULT_PERSISTENCE_TIMEOUT)
                } else {
                    u32_value(d, item, 1, MAX_PERSISTENCE)
                }
            }
            "persistence_granularity" => {
                if let Some(w) = one(d, item, "a netmask or an IPv6 prefix length") {
                    match w.text.parse::<core::net::Ipv4Addr>() {
                        Ok(m) => vs.persistence_granularity = Some(u32::from(m)),
                        Err(_) => match w.text.parse::<u32>() {
                            Ok(p) if (1..=128).contains(&p) => vs.persistence_granularity = Some(p),
                            _ => d.error(
                                w.span,
                                format!(
                                    "`persistence_granularity` expects an IPv4 netmask or an \
                                     IPv6 prefix length 1..128, got `{}`",
                                    w.text
                                ),
                            ),
                        },
                    }
                    if vs.persistence_timeout.is_none() {
                        vs.persistence_timeout = Some(DEFAULT_PERSISTENCE_TIMEOUT);
                    }
                }
            }
            "protocol" => {
                if let Some(w) = one(d, item, "TCP, UDP or SCTP") {
                    match w.text.to_ascii_uppercase().as_str() {
                        "TCP" => protocol = Some(Protocol::Tcp),
                        "UDP" => protocol = Some(Protocol::Udp),
                        "SCTP" => protocol = Some(Protocol::Sctp),
                        _ => d.error(
                            w.span,
                            format!("`protocol` expects TCP, UDP or SCTP, got `{}`", w.text),
                        ),
                    }
                }
            }
            "ha_suspend" => {
                vs.ha_suspend = true;
                super::not_acted(d, item.key.span, "ha_suspend");
            }
            // keepalived 2.2.7 `vs_smtp_alert_handler`: a bad value keeps the setting.
            "smtp_alert" => vs.smtp_alert = switch_or_keep(d, item).or(vs.smtp_alert),
            "virtualhost" => vs.virtualhost = text(d, item),
            "alpha" => vs.alpha = true,
            "omega" => vs.omega = true,
            "quorum_up" => vs.quorum_up = text(d, item),
            "quorum_down" => vs.quorum_down = text(d, item),
            "quorum" => vs.quorum = u32_value(d, item, 1, u32::MAX as i64).unwrap_or(1),
            "hysteresis" => {
                if let Some(h) = u32_value(d, item, 0, u32::MAX as i64) {
                    vs.hysteresis = h
                }
            }
            "weight" => {
                if let Some(w) = u32_value(d, item, 1, WEIGHT_LIMIT) {
                    vs.weight = w
                }
            }
            "sorry_server" => {
                if let Some(addr) = server_addr(d, item) {
                    vs.sorry_server = Some(SorryServerConfig {
                        addr,
                        inhibit: false,
                        forwarding: None,
                    });
                }
            }
            "sorry_server_inhibit" => sorry_inhibit = Some(item),
            "sorry_server_lvs_method" => sorry_forwarding = forwarding(d, item).map(|f| (f, item)),
            _ => {}
        }
    }
    let sched = vs.scheduler.clone().unwrap_or_default();
    for item in sched_flags {
        let k = item.key.text.as_str();
        let (prefix, flag) = match k {
            "sh-port" | "mh-port" => (&k[..2], SVC_F_SCHED2),
            _ => (&k[..2], SVC_F_SCHED1),
        };
        if sched == prefix {
            vs.flags |= flag;
        } else {
            d.warn(
                item.key.span,
                format!("`{k}` only applies to the {prefix} scheduler: keepalived ignores it"),
            );
        }
    }
    match (&mut vs.sorry_server, sorry_inhibit, sorry_forwarding) {
        (Some(ss), inh, fwd) => {
            ss.inhibit = inh.is_some();
            ss.forwarding = fwd.map(|(f, _)| f);
        }
        (None, inh, fwd) => {
            for item in inh.into_iter().chain(fwd.map(|(_, n)| n)) {
                d.warn(
                    item.key.span,
                    format!(
                        "`{}` without a `sorry_server` before it: keepalived ignores it",
                        item.key.text
                    ),
                );
            }
        }
    }
    vs.protocol = protocol;
    if node.args.first().is_some_and(|w| w.text == "group") {
        match node.args.get(1) {
            Some(w) => vs.group = Some(w.text.clone()),
            None => d.error(
                node.key.span,
                "`virtual_server group` expects the name of a virtual_server_group",
            ),
        }
    }
    vs.service = service_key(node, &vs, protocol, d);
    vs
}

/// Maps a `virtual_server_group NAME { ... }` block: one entry a line (keepalived's
/// `alloc_vsg_entry`).
pub(crate) fn map_virtual_server_group(
    node: &Node,
    d: &mut Diags,
) -> Option<crate::config::VirtualServerGroupConfig> {
    let Some(name) = node.args.first() else {
        d.error(node.key.span, "`virtual_server_group` expects a name");
        return None;
    };
    let mut g = crate::config::VirtualServerGroupConfig {
        name: name.text.clone(),
        ..Default::default()
    };
    for item in node.items() {
        if item.key.text.is_empty() {
            continue;
        }
        let mut words = vec![item.key.text.clone()];
        words.extend(item.args.iter().map(|w| w.text.clone()));
        g.lines.push(words);
        if let Some(e) = group_entry(item, d) {
            g.entries.push(e);
        }
    }
    Some(g)
}

fn group_entry(item: &Node, d: &mut Diags) -> Option<crate::config::GroupEntry> {
    use crate::config::GroupEntry;
    let first = &item.key;
    if first.text == "fwmark" {
        let w = item.args.first().or_else(|| {
            d.error(first.span, "`fwmark` expects a mark");
            None
        })?;
        let mark = super::values::int_word(d, "fwmark", w, 0, u32::MAX as i64)? as u32;
        let family = match item.args.get(1).map(|w| (w.text.as_str(), w)) {
            None => None,
            Some(("inet", _)) => Some(Family::Ipv4),
            Some(("inet6", _)) => Some(Family::Ipv6),
            Some((other, w)) => {
                d.error(
                    w.span,
                    format!("fwmark family must be inet or inet6, got `{other}`"),
                );
                return None;
            }
        };
        return Some(GroupEntry::Fwmark { mark, family });
    }
    let port = match item.args.first() {
        Some(w) => super::values::int_word(d, "virtual_server_group", w, 0, 65_535)? as u16,
        None => 0,
    };
    let text = first.text.as_str();
    let first_span = first.span;
    let bad = |d: &mut Diags, why: &str| {
        d.error(
            first.span,
            format!("virtual_server_group entry `{text}`: {why}"),
        );
        None
    };
    let entry = range_entry(text, port, &bad, d)?;
    if let GroupEntry::Range { first, last, .. } = &entry {
        let count = match (first, last) {
            (IpAddr::V4(x), IpAddr::V4(y)) => u128::from(u32::from(*y) - u32::from(*x)),
            (IpAddr::V6(x), IpAddr::V6(y)) => u128::from(*y) - u128::from(*x),
            _ => 0,
        };
        if count >= MAX_GROUP_RANGE {
            d.error(
                first_span,
                format!(
                    "virtual_server_group entry `{text}` spans {} addresses: more than the \
                     {MAX_GROUP_RANGE} services vrrpd-real programs for one entry",
                    count + 1
                ),
            );
            return None;
        }
    }
    Some(entry)
}

/// The most addresses one group entry may span (each is one IPVS service).
const MAX_GROUP_RANGE: u128 = 65_536;

/// An address entry: `ADDR`, `ADDR/MASK`, `ADDR-LAST` or `ADDR-ADDR`.
fn range_entry(
    text: &str,
    port: u16,
    bad: &dyn Fn(&mut Diags, &str) -> Option<crate::config::GroupEntry>,
    d: &mut Diags,
) -> Option<crate::config::GroupEntry> {
    use crate::config::GroupEntry;
    if let Some((addr, mask)) = text.split_once('/') {
        let Ok(ip) = addr.parse::<IpAddr>() else {
            return bad(d, "not an address");
        };
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        let Ok(m) = mask.parse::<u32>() else {
            return bad(d, "not a netmask");
        };
        if m == 0 || m > bits {
            return bad(d, "invalid netmask");
        }
        let host_bits = bits - m;
        let (first_ip, last_ip) = match ip {
            IpAddr::V4(a) => {
                let v = u32::from(a);
                let hm = if host_bits == 32 {
                    u32::MAX
                } else {
                    (1u32 << host_bits) - 1
                };
                if v & hm != 0 {
                    return bad(d, "address mask bits not empty");
                }
                (ip, IpAddr::from((v | hm).to_be_bytes()))
            }
            IpAddr::V6(a) => {
                let v = u128::from(a);
                let hm = if host_bits == 128 {
                    u128::MAX
                } else {
                    (1u128 << host_bits) - 1
                };
                if v & hm != 0 {
                    return bad(d, "address mask bits not empty");
                }
                (ip, IpAddr::from((v | hm).to_be_bytes()))
            }
        };
        return Some(GroupEntry::Range {
            first: first_ip,
            last: last_ip,
            port,
        });
    }
    if let Some((a, end)) = text.split_once('-') {
        let Ok(ip) = a.parse::<IpAddr>() else {
            return bad(d, "not an address");
        };
        let last = if let Ok(e) = end.parse::<IpAddr>() {
            e
        } else {
            // The last byte (IPv4) or the last 16 bits (IPv6, hexadecimal).
            match ip {
                IpAddr::V4(v) => {
                    let Ok(b) = end.parse::<u8>() else {
                        return bad(d, "invalid range end");
                    };
                    let o = v.octets();
                    IpAddr::from([o[0], o[1], o[2], b])
                }
                IpAddr::V6(v) => {
                    let Ok(b) = u16::from_str_radix(end, 16) else {
                        return bad(d, "invalid range end");
                    };
                    let mut s = v.segments();
                    s[7] = b;
                    IpAddr::from(s)
                }
            }
        };
        let ordered = match (ip, last) {
            (IpAddr::V4(x), IpAddr::V4(y)) => u32::from(x) < u32::from(y),
            (IpAddr::V6(x), IpAddr::V6(y)) => u128::from(x) < u128::from(y),
            _ => return bad(d, "range address families do not match"),
        };
        if !ordered {
            return bad(d, "range end is not greater than its start");
        }
        return Some(GroupEntry::Range {
            first: ip,
            last,
            port,
        });
    }
    let Ok(ip) = text.parse::<IpAddr>() else {
        return bad(d, "not an address, a range or `fwmark`");
    };
    Some(GroupEntry::Range {
        first: ip,
        last: ip,
        port,
    })
}

/// The IPVS service of a virtual server, as keepalived derives it (`alloc_vs`,
/// `validate_check_config`).
fn service_key(
    node: &Node,
    vs: &VirtualServerConfig,
    protocol: Option<Protocol>,
    d: &mut Diags,
) -> Option<ServiceKey> {
    let first = node.args.first()?;
    match first.text.as_str() {
        "group" => None,
        "fwmark" => {
            let w = node.args.get(1)?;
            let mark = super::values::int_word(d, "fwmark", w, 1, u32::MAX as i64)? as u32;
            // keepalived: the family is ip_family, else the real servers', else IPv4.
            let family = vs.family.unwrap_or_else(|| {
                vs.real_servers
                    .iter()
                    .find_map(|r| r.addr.map(|a| Family::of(&a.ip())))
                    .unwrap_or(Family::Ipv4)
            });
            Some(ServiceKey::Fwmark { family, mark })
        }
        _ => {
            let ip: IpAddr = ip_word(d, "virtual_server", first)?;
            let port = match node.args.get(1) {
                Some(w) => super::values::int_word(d, "virtual_server", w, 0, 65_535)? as u16,
                None => 0,
            };
            // keepalived's default (warned by `lvs_check`).
            let protocol = protocol.unwrap_or(Protocol::Udp);
            Some(ServiceKey::Addr {
                protocol,
                addr: SocketAddr::new(ip, port),
            })
        }
    }
}

fn real_server(node: &Node, d: &mut Diags) -> Option<RealServerConfig> {
    let mut rs = RealServerConfig {
        target: words(node),
        addr: server_addr(d, node),
        ..RealServerConfig::default()
    };
    for item in node.items() {
        let k = item.key.text.as_str();
        if k.is_empty() {
            continue;
        }
        if CHECKERS.contains(&k) {
            rs.checkers.push(checker(item, d));
            continue;
        }
        if item.block.is_some() {
            dropped(item, "real_server", d);
            continue;
        }
        if !RS_KEYS.contains(&k) {
            unknown(d, item, "real_server", &[RS_KEYS, CHECKERS]);
        }
        rs.options.push(line(item));
        match k {
            "weight" => rs.weight = u32_value(d, item, 0, WEIGHT_LIMIT),
            "lvs_method" => rs.forwarding = forwarding(d, item),
            "uthreshold" => rs.u_threshold = u32_value(d, item, 0, u32::MAX as i64).unwrap_or(0),
            "lthreshold" => rs.l_threshold = u32_value(d, item, 0, u32::MAX as i64).unwrap_or(0),
            "inhibit_on_failure" => rs.inhibit_on_failure = Some(switch(d, item)),
            "notify_up" => rs.notify_up = text(d, item),
            "notify_down" => rs.notify_down = text(d, item),
            "alpha" => rs.alpha = Some(switch(d, item)),
            "retry" => rs.retry = u32_value(d, item, 0, u32::MAX as i64),
            "delay_before_retry" => rs.delay_before_retry = timer(d, item),
            "warmup" => rs.warmup = timer(d, item),
            "connect_timeout" => rs.connect_timeout = timer(d, item),
            "delay_loop" => rs.delay_loop = timer(d, item),
            "virtualhost" => rs.virtualhost = text(d, item),
            // keepalived 2.2.7 `rs_smtp_alert_handler`: a bad value keeps the setting.
            "smtp_alert" => rs.smtp_alert = switch_or_keep(d, item).or(rs.smtp_alert),
            _ => {}
        }
    }
    Some(rs)
}

fn checker(node: &Node, d: &mut Diags) -> CheckerConfig {
    let kind = node.key.text.clone();
    let keys = checker_keys(&kind);
    let http = matches!(kind.as_str(), "HTTP_GET" | "SSL_GET");
    let mut c = CheckerConfig {
        kind,
        ..CheckerConfig::default()
    };
    let mut http_cfg = HttpCheckConfig {
        tls: c.kind == "SSL_GET",
        urls: Vec::new(),
        virtualhost: None,
        version: HttpVersion::Http10,
        enable_sni: false,
        fast_recovery: false,
    };
    let mut misc = MiscCheckConfig {
        path: String::new(),
        timeout: None,
        dynamic: false,
        user: None,
    };
    for item in node.items() {
        let k = item.key.text.as_str();
        if k.is_empty() {
            continue;
        }
        if http && URL_KEYS.contains(&k) && !HTTP_KEYS.contains(&k) {
            // The seed's mistake: keepalived only reads these inside `url { }`.
            d.warn(
                item.key.span,
                format!(
                    "`{k}` belongs inside a `url {{ }}` block of {}; keepalived ignores it here",
                    c.kind
                ),
            );
        } else if k == "nb_get_retry" && !http {
            d.warn(
                item.key.span,
                format!(
                    "unknown keyword `nb_get_retry` in {}: keepalived takes this old name of \
                     `retry` only in HTTP_GET and SSL_GET; use `retry`",
                    c.kind
                ),
            );
        } else if !keys.iter().any(|set| set.contains(&k)) {
            unknown(d, item, &c.kind, &keys);
        } else if item.block.is_none() {
            checker_value(&mut c, &mut http_cfg, &mut misc, item, d);
        }
        if item.block.is_some() {
            if k == "url" {
                if let Some(url) = url_block(item, d) {
                    http_cfg.urls.push(url);
                }
            }
            c.blocks
                .push((item.key.text.clone(), simple_lines(item, &item.key.text, d)));
        } else {
            c.options.push(line(item));
        }
    }
    c.check = match c.kind.as_str() {
        "TCP_CHECK" => Some(CheckKind::Tcp),
        "HTTP_GET" | "SSL_GET" if http_cfg.urls.is_empty() => {
            d.warn(
                node.key.span,
                format!(
                    "{} has no `url {{ }}` block with a `path`: keepalived ignores this checker \
                     (\"HTTP/SSL_GET checker has no urls specified\")",
                    c.kind
                ),
            );
            None
        }
        "HTTP_GET" | "SSL_GET" => Some(CheckKind::Http(http_cfg)),
        "MISC_CHECK" if misc.path.is_empty() => {
            d.error(node.key.span, "MISC_CHECK has no `misc_path`");
            None
        }
        "MISC_CHECK" => Some(CheckKind::Misc(misc)),
        other => {
            d.warn(
                node.key.span,
                format!(
                    "{other} is parsed but not run by vrrpd-real: its real server counts as up"
                ),
            );
            None
        }
    };
    c
}

/// One keyword of a checker block.
fn checker_value(
    c: &mut CheckerConfig,
    http: &mut HttpCheckConfig,
    misc: &mut MiscCheckConfig,
    item: &Node,
    d: &mut Diags,
) {
    match item.key.text.as_str() {
        "connect_ip" => {
            if let Some(w) = one(d, item, "an IP address") {
                c.connect_ip = ip_word(d, "connect_ip", w);
            }
        }
        "connect_port" => c.connect_port = int(d, item, 1, 65_535).map(|v| v as u16),
        "bindto" => {
            if let Some(w) = one(d, item, "an IP address") {
                c.bindto = ip_word(d, "bindto", w);
            }
        }
        "bind_port" => c.bind_port = int(d, item, 1, 65_535).map(|v| v as u16),
        "bind_if" => c.bind_if = text(d, item),
        "connect_timeout" => c.connect_timeout = timer(d, item),
        "fwmark" => c.fwmark = u32_value(d, item, 0, u32::MAX as i64),
        "retry" | "nb_get_retry" => c.retry = u32_value(d, item, 0, u32::MAX as i64),
        "delay_before_retry" => c.delay_before_retry = timer(d, item),
        "warmup" => c.warmup = timer(d, item),
        "delay_loop" => c.delay_loop = timer(d, item),
        "alpha" => c.alpha = Some(switch(d, item)),
        "virtualhost" => http.virtualhost = text(d, item),
        "http_protocol" => {
            if let Some(w) = one(d, item, "1.0, 1.0C or 1.1") {
                match w.text.as_str() {
                    "1.0" => http.version = HttpVersion::Http10,
                    "1.0C" | "1.0c" => http.version = HttpVersion::Http10Close,
                    "1.1" => http.version = HttpVersion::Http11,
                    other => d.error(
                        w.span,
                        format!("`http_protocol` expects 1.0, 1.0C or 1.1, got `{other}`"),
                    ),
                }
            }
        }
        "enable_sni" => http.enable_sni = switch(d, item),
        "fast_recovery" => http.fast_recovery = switch(d, item),
        "misc_path" => misc.path = text(d, item).unwrap_or_default(),
        "misc_timeout" => misc.timeout = timer(d, item),
        "misc_dynamic" => misc.dynamic = switch(d, item),
        "user" => misc.user = text(d, item),
        _ => {}
    }
}

/// A `url { }` block: its keywords checked, its values read. `None` without a `path`
/// (keepalived drops such a URL).
fn url_block(node: &Node, d: &mut Diags) -> Option<UrlConfig> {
    let mut url = UrlConfig {
        path: String::new(),
        digest: None,
        status_codes: Vec::new(),
        virtualhost: None,
    };
    for item in node.items() {
        let k = item.key.text.as_str();
        if k.is_empty() {
            continue;
        }
        if !URL_KEYS.contains(&k) {
            unknown(d, item, "url", &[URL_KEYS]);
            continue;
        }
        match k {
            "path" => url.path = text(d, item).unwrap_or_default(),
            "digest" => {
                if let Some(w) = one(d, item, "32 hexadecimal digits (an MD5 digest)") {
                    match parse_digest(&w.text) {
                        Some(dg) => url.digest = Some(dg),
                        None => d.error(
                            w.span,
                            format!(
                                "`digest` expects 32 hexadecimal digits (an MD5 digest, as \
                                 genhash prints it), got `{}`",
                                w.text
                            ),
                        ),
                    }
                }
            }
            "status_code" => {
                for w in &item.args {
                    match parse_status(&w.text) {
                        Some(r) => url.status_codes.push(r),
                        None => d.error(
                            w.span,
                            format!(
                                "`status_code` expects codes or ranges within 100..599 \
                                 (`200`, `200-299`), got `{}`",
                                w.text
                            ),
                        ),
                    }
                }
            }
            "virtualhost" => url.virtualhost = text(d, item),
            _ => {}
        }
    }
    if url.path.is_empty() {
        d.warn(
            node.key.span,
            "`url` has no `path`: keepalived ignores it (\"HTTP/SSL_GET checker url has no path\")",
        );
        return None;
    }
    Some(url)
}

fn parse_digest(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn parse_status(s: &str) -> Option<(u16, u16)> {
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let v: u16 = s.parse().ok()?;
            (v, v)
        }
    };
    ((100..=599).contains(&lo) && (100..=599).contains(&hi) && lo <= hi).then_some((lo, hi))
}

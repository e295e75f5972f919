//! `virtual_server` / `real_server` and their checkers, kept generically (keyword and values
//! verbatim) so a full keepalived file loads and can be dumped; the engine does not act on
//! them yet. Every keyword is checked against the ones keepalived 2.2.7 installs for that
//! block (`check_parser.c`, `check_api.c` and each checker's file), with did-you-mean.

use super::super::diag::Diags;
use super::super::parser::Node;
use super::unknown;
use crate::config::{CheckerConfig, RealServerConfig, VirtualServerConfig};

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

type Options = Vec<(String, Vec<String>)>;

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

fn simple_lines(node: &Node, inside: &str, d: &mut Diags) -> Options {
    let mut out = Vec::new();
    for item in node.items() {
        if item.key.text.is_empty() {
            continue;
        }
        if item.block.is_some() {
            dropped(item, inside, d);
        } else {
            out.push(line(item));
        }
    }
    out
}

/// Maps a `virtual_server ... { ... }` block.
pub(crate) fn map_virtual_server(node: &Node, d: &mut Diags) -> VirtualServerConfig {
    let mut vs = VirtualServerConfig {
        target: words(node),
        options: Vec::new(),
        real_servers: Vec::new(),
    };
    for item in node.items() {
        match item.key.text.as_str() {
            "" => {}
            "real_server" => vs.real_servers.push(real_server(item, d)),
            _ if item.block.is_some() => dropped(item, "virtual_server", d),
            k => {
                // Unknown keywords are kept verbatim (so `--dump` shows the file as written)
                // after the warning; keepalived ignores them.
                if !VS_KEYS.contains(&k) {
                    unknown(d, item, "virtual_server", &[VS_KEYS]);
                }
                vs.options.push(line(item));
            }
        }
    }
    vs
}

fn real_server(node: &Node, d: &mut Diags) -> RealServerConfig {
    let mut rs = RealServerConfig {
        target: words(node),
        options: Vec::new(),
        checkers: Vec::new(),
    };
    for item in node.items() {
        let k = item.key.text.as_str();
        if k.is_empty() {
            continue;
        }
        if CHECKERS.contains(&k) {
            rs.checkers.push(checker(item, d));
        } else if item.block.is_some() {
            dropped(item, "real_server", d);
        } else {
            if !RS_KEYS.contains(&k) {
                unknown(d, item, "real_server", &[RS_KEYS, CHECKERS]);
            }
            rs.options.push(line(item));
        }
    }
    rs
}

fn checker(node: &Node, d: &mut Diags) -> CheckerConfig {
    let kind = node.key.text.clone();
    let keys = checker_keys(&kind);
    let http = matches!(kind.as_str(), "HTTP_GET" | "SSL_GET");
    let mut c = CheckerConfig {
        kind,
        options: Vec::new(),
        blocks: Vec::new(),
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
        }
        if item.block.is_some() {
            if k == "url" {
                check_url(item, d);
            }
            c.blocks
                .push((item.key.text.clone(), simple_lines(item, &item.key.text, d)));
        } else {
            c.options.push(line(item));
        }
    }
    if http && !c.blocks.iter().any(|(b, _)| b == "url") {
        d.warn(
            node.key.span,
            format!(
                "{} has no `url {{ }}` block: keepalived ignores this checker \
                 (\"HTTP/SSL_GET checker has no urls specified\")",
                c.kind
            ),
        );
    }
    c
}

/// Checks the keywords of a `url { }` block.
fn check_url(node: &Node, d: &mut Diags) {
    for item in node.items() {
        let k = item.key.text.as_str();
        if !k.is_empty() && !URL_KEYS.contains(&k) {
            unknown(d, item, "url", &[URL_KEYS]);
        }
    }
}

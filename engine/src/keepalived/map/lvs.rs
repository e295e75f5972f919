//! `virtual_server` / `real_server` and their checkers, kept generically (keyword and values
//! verbatim) so a full keepalived file loads and can be dumped; the engine does not act on
//! them.

use super::super::diag::Diags;
use super::super::parser::Node;
use crate::config::{CheckerConfig, RealServerConfig, VirtualServerConfig};

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
            _ => vs.options.push(line(item)),
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
            rs.options.push(line(item));
        }
    }
    rs
}

fn checker(node: &Node, d: &mut Diags) -> CheckerConfig {
    let mut c = CheckerConfig {
        kind: node.key.text.clone(),
        options: Vec::new(),
        blocks: Vec::new(),
    };
    for item in node.items() {
        if item.key.text.is_empty() {
            continue;
        }
        if item.block.is_some() {
            c.blocks
                .push((item.key.text.clone(), simple_lines(item, &item.key.text, d)));
        } else {
            c.options.push(line(item));
        }
    }
    c
}

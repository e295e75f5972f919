//! Checks of the `virtual_server` blocks once the whole file is read (groups may come after
//! the virtual servers using them): the warnings keepalived 2.2.7's `validate_check_config`
//! (`check_data.c`) prints when it fills in a default or corrects a value, each quoting
//! keepalived's words, at the `virtual_server` (or `real_server`) they are about.

use super::super::diag::{Diags, Span};
use super::super::parser::Node;
use crate::config::{Config, GroupEntry, VirtualServerConfig};
use crate::lvs::{Forwarding, ServiceKey};
use std::collections::BTreeMap;

/// Runs the checks on every `virtual_server` of the file.
pub(crate) fn check_virtual_servers(nodes: &[Node], cfg: &Config, d: &mut Diags) {
    let vs_nodes = nodes.iter().filter(|n| n.key.text == "virtual_server");
    let mut group_users: BTreeMap<&str, Span> = BTreeMap::new();
    for (node, vs) in vs_nodes.zip(&cfg.virtual_servers) {
        let group = match &vs.group {
            Some(g) => {
                let span = node.args.get(1).map_or(node.key.span, |w| w.span);
                let Some(group) = cfg.virtual_server_groups.iter().find(|x| &x.name == g) else {
                    d.error(span, format!("no virtual_server_group `{g}` in the file"));
                    continue;
                };
                // keepalived shares one group's services between the virtual servers using
                // it (per-protocol use counts on each entry); the engine programs each
                // virtual server's services on its own.
                match group_users.get(g.as_str()) {
                    Some(first) => d.warn(
                        span,
                        format!(
                            "virtual_server_group `{g}` is already used by the virtual_server \
                             at {}: a group shared by several virtual servers is parsed but \
                             not acted on by vrrpd-real yet",
                            d.pos(*first)
                        ),
                    ),
                    None => {
                        group_users.insert(g, span);
                    }
                }
                Some(group)
            }
            None if vs.service.is_none() => continue,
            None => None,
        };
        if !vs.real_servers.iter().any(|r| r.addr.is_some()) {
            d.warn(
                node.key.span,
                "virtual server has no real servers: keepalived ignores it (\"has no real \
                 servers - ignoring\")",
            );
            continue;
        }
        let (ranges, fwmarks) = match group {
            Some(g) => (
                g.entries
                    .iter()
                    .filter_map(|e| match e {
                        GroupEntry::Range { port, .. } => Some(*port),
                        GroupEntry::Fwmark { .. } => None,
                    })
                    .collect::<Vec<_>>(),
                g.entries
                    .iter()
                    .any(|e| matches!(e, GroupEntry::Fwmark { .. })),
            ),
            None => match vs.service {
                Some(ServiceKey::Addr { addr, .. }) => (vec![addr.port()], false),
                _ => (Vec::new(), true),
            },
        };
        protocol(node, vs, !ranges.is_empty(), d);
        if vs.scheduler.is_none() {
            d.warn(
                node.key.span,
                "virtual server has no `lb_algo`: keepalived uses wlc (\"no scheduler set, \
                 setting default 'wlc'\")",
            );
        }
        forwarding_default(node, vs, d);
        ports(node, vs, group.is_some(), &ranges, fwmarks, d);
    }
}

/// The first `keyword` line of a block.
fn item<'n>(node: &'n Node, keyword: &str) -> Option<&'n Node> {
    node.items().iter().find(|i| i.key.text == keyword)
}

/// Address services need a protocol (UDP when none); fwmark ones ignore it.
fn protocol(node: &Node, vs: &VirtualServerConfig, by_address: bool, d: &mut Diags) {
    match (by_address, vs.protocol.is_some()) {
        (true, false) => d.warn(
            node.key.span,
            "virtual server has no `protocol`: keepalived defaults to UDP (\"no protocol set - \
             defaulting to UDP\")",
        ),
        (false, true) => {
            let span = item(node, "protocol").map_or(node.key.span, |i| i.key.span);
            d.warn(
                span,
                "`protocol` of a fwmark virtual server: keepalived ignores it (\"protocol \
                 specified for fwmark - protocol will be ignored\")",
            );
        }
        _ => {}
    }
}

/// A real or sorry server without `lvs_method` under a virtual server without `lb_kind`:
/// keepalived says once that it sets NAT.
fn forwarding_default(node: &Node, vs: &VirtualServerConfig, d: &mut Diags) {
    if vs.forwarding.is_some() {
        return;
    }
    let mut seen = Vec::new();
    let rs_needs = vs.real_servers.iter().any(|r| {
        let Some(a) = r.addr else { return false };
        // keepalived drops a duplicated real server before this check.
        let dup = seen.contains(&a);
        seen.push(a);
        !dup && r.forwarding.is_none()
    });
    let sorry_needs = vs
        .sorry_server
        .as_ref()
        .is_some_and(|s| s.forwarding.is_none());
    if rs_needs || sorry_needs {
        d.warn(
            node.key.span,
            "virtual server has no `lb_kind`: keepalived uses NAT (\"no forwarding method set, \
             setting default NAT\")",
        );
    }
}

/// Outside NAT a real server takes the virtual server's port: keepalived's corrections
/// (fwmark: port cleared, or ignored in a group; address: port reset to the virtual one).
fn ports(
    node: &Node,
    vs: &VirtualServerConfig,
    in_group: bool,
    ranges: &[u16],
    fwmarks: bool,
    d: &mut Diags,
) {
    let default = vs.forwarding.unwrap_or(Forwarding::Nat);
    let rs_nodes = node.items().iter().filter(|i| i.key.text == "real_server");
    let mut servers: Vec<(Span, &str, u16, Forwarding)> = Vec::new();
    let mut seen = Vec::new();
    for (n, r) in rs_nodes.zip(&vs.real_servers) {
        let Some(a) = r.addr else { continue };
        if seen.contains(&a) {
            continue;
        }
        seen.push(a);
        servers.push((
            n.key.span,
            "real server",
            a.port(),
            r.forwarding.unwrap_or(default),
        ));
    }
    if let (Some(s), Some(n)) = (&vs.sorry_server, item(node, "sorry_server")) {
        servers.push((
            n.key.span,
            "sorry server",
            s.addr.port(),
            s.forwarding.unwrap_or(default),
        ));
    }
    for (span, what, port, fwd) in servers {
        if fwd == Forwarding::Nat || port == 0 {
            continue;
        }
        let quoted = match (in_group, fwmarks) {
            (false, true) => Some(("clears", "has port specified - clearing")),
            (true, true) => Some(("ignores", "has port specified - port will be ignored")),
            _ => None,
        };
        if let Some((does, q)) = quoted {
            d.warn(
                span,
                format!(
                    "{what} port {port} with a fwmark virtual server is not used outside \
                     NAT: keepalived {does} it (\"{q}\")"
                ),
            );
        }
        for &vport in ranges.iter().filter(|&&v| v != port) {
            let msg = match (in_group, what) {
                (false, _) => format!(
                    "{what} port {port} differs from the virtual server's {vport} outside NAT: \
                     keepalived uses {vport} (\"ports don't match - resetting\")"
                ),
                (true, "real server") => format!(
                    "{what} port {port} differs from the group entry's port {vport} outside \
                     NAT (keepalived: \"ports don't match\")"
                ),
                (true, _) => format!(
                    "{what} port {port} differs from the group entry's port {vport} outside \
                     NAT: keepalived ignores it (\"has port specified - port will be ignored\")"
                ),
            };
            d.warn(span, msg);
        }
    }
}

//! Typed mapping of the statement tree onto [`crate::config::Config`].
//!
//! One file per kind of top-level block; [`values`] has the typed value readers that turn a
//! bad value into a finding naming the expected type.

pub(crate) mod global;
pub(crate) mod instance;
pub(crate) mod lvs;
pub(crate) mod lvs_check;
pub(crate) mod routes;
pub(crate) mod sync;
pub(crate) mod track;
pub(crate) mod values;

use super::diag::{Diags, Span};
use super::parser::Node;
use super::suggest::suggest;
use crate::config::Config;

/// Positions the cross-block checks of [`super::validate`] need.
#[derive(Debug, Default)]
pub(crate) struct Meta {
    /// Per instance, parallel to `Config::instances`.
    pub instances: Vec<instance::InstanceMeta>,
    /// Per sync group, parallel to `Config::sync_groups`.
    pub sync_groups: Vec<sync::SyncMeta>,
}

/// Top-level keywords we map.
const TOP: &[&str] = &[
    "global_defs",
    "vrrp_script",
    "vrrp_track_file",
    "vrrp_track_process",
    "vrrp_instance",
    "vrrp_sync_group",
    "virtual_server",
    "virtual_server_group",
];

/// Top-level keywords keepalived knows that the engine skips.
const TOP_IGNORED: &[&str] = &[
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "garp_group",
    "bfd_instance",
    "linkbeat_interfaces",
    "net_namespace",
    "track_group",
];

/// Maps the whole tree. `global_defs` is read first because instance defaults come from it,
/// wherever it sits in the file.
pub(crate) fn map(nodes: &[Node], d: &mut Diags) -> (Config, Meta) {
    let mut cfg = Config::default();
    let mut meta = Meta::default();
    let mut rule_prios = routes::RulePriorities::default();
    for node in nodes.iter().filter(|n| n.key.text == "global_defs") {
        global::map_global(node, &mut cfg.global, d);
    }
    for node in nodes {
        match node.key.text.as_str() {
            "" | "global_defs" => {}
            "vrrp_script" => {
                if let Some(s) = track::map_script(node, d) {
                    cfg.scripts.push(s);
                }
            }
            "vrrp_track_file" => {
                if let Some(t) = track::map_track_file(node, d) {
                    cfg.track_files.push(t);
                }
            }
            "vrrp_track_process" => {
                if let Some(t) = track::map_track_process(node, d) {
                    cfg.track_processes.push(t);
                }
            }
            "vrrp_instance" => {
                // keepalived 2.2.7 `vrrp_handler`: a second block of the same name is skipped,
                // the first kept.
                if let Some(w) = node
                    .args
                    .first()
                    .filter(|w| cfg.instances.iter().any(|i| i.name == w.text))
                {
                    d.warn(w.span, format!("vrrp instance {} already defined", w.text));
                    continue;
                }
                let (mut inst, m) = instance::map_instance(node, &cfg.global, &mut rule_prios, d);
                let (name, defined) = (inst.name.clone(), &cfg.track_processes);
                track::resolve_process_refs(node, &name, defined, &mut inst.track_processes, d);
                cfg.instances.push(inst);
                meta.instances.push(m);
            }
            "vrrp_sync_group" => {
                let (mut g, m) = sync::map_sync_group(node, d);
                let (name, defined) = (g.name.clone(), &cfg.track_processes);
                track::resolve_process_refs(node, &name, defined, &mut g.track_processes, d);
                cfg.sync_groups.push(g);
                meta.sync_groups.push(m);
            }
            "virtual_server" => {
                cfg.virtual_servers.push(lvs::map_virtual_server(node, d));
            }
            "virtual_server_group" => {
                if let Some(g) = lvs::map_virtual_server_group(node, d) {
                    cfg.virtual_server_groups.push(g);
                }
            }
            k if TOP_IGNORED.contains(&k) => not_acted(d, node.key.span, k),
            _ => unknown(d, node, "the top level", &[TOP, TOP_IGNORED]),
        }
    }
    lvs_check::check_virtual_servers(nodes, &cfg, d);
    (cfg, meta)
}

/// Warns about a keyword that is not valid in `block`, suggesting the closest valid one.
pub(crate) fn unknown(d: &mut Diags, node: &Node, block: &str, known: &[&[&str]]) {
    let all: Vec<&str> = known.iter().flat_map(|k| k.iter().copied()).collect();
    let word = &node.key.text;
    let msg = match suggest(word, &all) {
        Some(s) => format!("unknown keyword `{word}` in {block}; did you mean `{s}`?"),
        None => format!("unknown keyword `{word}` in {block}"),
    };
    d.warn(node.key.span, msg);
}

/// Warns that a keyword is understood but has no effect in this engine yet.
pub(crate) fn not_acted(d: &mut Diags, span: Span, keyword: &str) {
    d.warn(
        span,
        format!("`{keyword}` is parsed but not acted on by vrrpd-real yet"),
    );
}

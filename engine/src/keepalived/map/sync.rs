//! `vrrp_sync_group`.

use super::super::diag::{Diags, Span};
use super::super::parser::Node;
use super::track::{block_name, track_process_ref, track_ref, FILE_WEIGHT, SCRIPT_WEIGHT};
use super::values::{switch_or_keep, text};
use super::{not_acted, unknown};
use crate::config::SyncGroupConfig;

/// Where a sync group's references are, for the cross-block checks.
#[derive(Debug, Clone, Default)]
pub(crate) struct SyncMeta {
    /// Each `group` member, parallel to `SyncGroupConfig::instances`.
    pub members: Vec<Span>,
    /// Each `track_script` entry, parallel to `SyncGroupConfig::track_scripts`.
    pub track_scripts: Vec<Span>,
}

const KNOWN: &[&str] = &[
    "group",
    "track_script",
    "track_interface",
    "track_file",
    "track_process",
    "sync_group_tracking_weight",
    "global_tracking",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "smtp_alert",
];

const IGNORED: &[&str] = &["track_bfd", "notify_priority_changes"];

/// Maps a `vrrp_sync_group NAME { ... }` block.
pub(crate) fn map_sync_group(node: &Node, d: &mut Diags) -> (SyncGroupConfig, SyncMeta) {
    let name = block_name(node, d)
        .map(|w| w.text.clone())
        .unwrap_or_default();
    let mut g = SyncGroupConfig::new(name, &[]);
    let mut meta = SyncMeta::default();
    for item in node.items() {
        let k = item.key.text.as_str();
        match k {
            "" => {}
            "group" => {
                for line in item.items() {
                    for w in core::iter::once(&line.key).chain(line.args.iter()) {
                        g.instances.push(w.text.clone());
                        meta.members.push(w.span);
                    }
                }
            }
            "track_script" => {
                for line in item.items() {
                    g.track_scripts.push(track_ref(line, SCRIPT_WEIGHT, d));
                    meta.track_scripts.push(line.key.span);
                }
            }
            "track_interface" => {
                for line in item.items() {
                    g.track_interfaces.push(track_ref(line, SCRIPT_WEIGHT, d));
                }
            }
            "track_file" => {
                for line in item.items() {
                    g.track_files.push(track_ref(line, FILE_WEIGHT, d));
                }
            }
            "track_process" => {
                for line in item.items() {
                    g.track_processes.extend(track_process_ref(line, d));
                }
            }
            "sync_group_tracking_weight" => g.tracking_weight = true,
            "global_tracking" => {
                // keepalived 2.2.7 `vrrp_gglobal_tracking_handler`: deprecated, and the same
                // as `sync_group_tracking_weight`.
                d.warn(
                    item.key.span,
                    format!(
                        "({}) global_tracking is deprecated; it acts as sync_group_tracking_weight. \
                         Use track_interface/track_script/track_file on the sync group",
                        g.name
                    ),
                );
                g.tracking_weight = true;
            }
            "notify_master" => g.notify.master = text(d, item).or(g.notify.master.take()),
            "notify_backup" => g.notify.backup = text(d, item).or(g.notify.backup.take()),
            "notify_fault" => g.notify.fault = text(d, item).or(g.notify.fault.take()),
            "notify_stop" => g.notify.stop = text(d, item).or(g.notify.stop.take()),
            "notify" => g.notify.generic = text(d, item).or(g.notify.generic.take()),
            "smtp_alert" => g.smtp_alert = switch_or_keep(d, item).or(g.smtp_alert),
            k if IGNORED.contains(&k) => not_acted(d, item.key.span, k),
            _ => unknown(d, item, "vrrp_sync_group", &[KNOWN, IGNORED]),
        }
    }
    (g, meta)
}

//! `global_defs`.

use super::super::diag::Diags;
use super::super::parser::Node;
use super::values::{flag, int, one, secs, switch, switch_or_keep, text};
use super::{not_acted, unknown};
use crate::config::{GarpConfig, GlobalConfig, NftablesConfig};
use crate::types::Version;
use core::time::Duration;

/// Largest number of seconds accepted for delays and timeouts (keepalived reads them as
/// unsigned 32-bit values).
pub(crate) const MAX_SECS: u64 = u32::MAX as u64;

const KNOWN: &[&str] = &[
    "router_id",
    "notification_email",
    "notification_email_from",
    "smtp_server",
    "smtp_connect_timeout",
    "smtp_helo_name",
    "smtp_alert",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "no_email_faults",
    "no_checker_emails",
    "vrrp_skip_check_adv_addr",
    "vrrp_check_unicast_src",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "enable_script_security",
    "script_user",
    "vrrp_version",
    "vrrp_strict",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "vrrp_startup_delay",
    "vrrp_no_swap",
    "log_unknown_vrids",
    "dynamic_interfaces",
    "nftables",
    "nftables_priority",
    "nftables_counters",
    "nftables_ifindex",
    "vrrp_iptables",
];

/// keepalived `global_defs` keywords the engine skips (warned as not acted on).
const IGNORED: &[&str] = &[
    "lvs_id",
    "lvs_timeouts",
    "lvs_sync_daemon",
    "lvs_flush",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_ipsets",
    "vrrp_priority",
    "checker_priority",
    "checker_no_swap",
    "notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "max_auto_priority",
    "min_auto_priority_delay",
    "default_interface",
    "enable_traps",
    "enable_snmp_vrrp",
    "enable_snmp_checker",
    "vrrp_rx_bufs_policy",
    "linkbeat_use_polling",
    "vrrp_min_garp",
    "vrrp_down_timer_adverts",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs",
    "process_names",
    "script_timeout_exit",
    "vrrp_dont_track_primary",
    "vrrp_track_process",
];

/// Maps one `global_defs` block into `g` (several blocks accumulate, as in keepalived).
pub(crate) fn map_global(node: &Node, g: &mut GlobalConfig, d: &mut Diags) {
    let (mut lower_repeat, mut lower_delay) = (false, false);
    for item in node.items() {
        let k = item.key.text.as_str();
        match k {
            "" => {}
            "vrrp_garp_lower_prio_repeat" | "vrrp_garp_lower_prio_delay" => {
                lower_repeat |= k.ends_with("repeat");
                lower_delay |= k.ends_with("delay");
                garp_keyword(item, k.trim_start_matches("vrrp_"), &mut g.garp, d);
            }
            // keepalived's handler takes no argument (`vrrp_no_swap_handler`).
            "vrrp_no_swap" => g.no_swap = true,
            // No argument either (`vrrp_log_unknown_vrids_handler`).
            "log_unknown_vrids" => g.log_unknown_vrids = true,
            // keepalived 2.2.7 `dynamic_interfaces_handler`: an optional `allow_if_changes`,
            // which only matters to its own interface bookkeeping.
            "dynamic_interfaces" => g.dynamic_interfaces = true,
            "vrrp_lower_prio_no_advert" => g.lower_prio_no_advert = switch(d, item),
            "vrrp_higher_prio_send_advert" => g.higher_prio_send_advert = switch(d, item),
            "router_id" => {
                if let Some(w) = one(d, item, "a name") {
                    g.router_id = Some(w.text.clone());
                }
            }
            "notification_email" => {
                for addr in item.items() {
                    g.notification_email.push(addr.key.text.clone());
                    for extra in &addr.args {
                        g.notification_email.push(extra.text.clone());
                    }
                }
                for extra in &item.args {
                    g.notification_email.push(extra.text.clone());
                }
            }
            "notification_email_from" => {
                if let Some(w) = one(d, item, "an e-mail address") {
                    g.notification_email_from = Some(w.text.clone());
                }
            }
            "smtp_server" => g.smtp_server = text(d, item).or(g.smtp_server.take()),
            "smtp_connect_timeout" => {
                // keepalived 2.2.7 `smtpto_handler`: 0..UINT_MAX/TIMER_HZ s, 0 taken as 1.
                if let Some(v) = secs(d, item, u64::from(u32::MAX) / 1_000_000) {
                    if v.is_zero() {
                        d.warn(
                            item.key.span,
                            "`smtp_connect_timeout` must be greater than 0, setting to 1",
                        );
                    }
                    g.smtp_connect_timeout = v.max(Duration::from_secs(1));
                }
            }
            // keepalived 2.2.7 `smtphelo_handler`: without a value, nothing.
            "smtp_helo_name" => {
                if let Some(w) = item.args.first() {
                    g.smtp_helo_name = Some(w.text.clone());
                }
            }
            "smtp_alert" => g.smtp_alert = switch_or_keep(d, item).or(g.smtp_alert),
            "smtp_alert_vrrp" => g.smtp_alert_vrrp = switch_or_keep(d, item).or(g.smtp_alert_vrrp),
            "smtp_alert_checker" => {
                g.smtp_alert_checker = switch_or_keep(d, item).or(g.smtp_alert_checker);
            }
            // keepalived 2.2.7 `no_checker_emails_handler`: alone true, a bad value ignored.
            "no_checker_emails" => {
                g.no_checker_emails = switch_or_keep(d, item).unwrap_or(g.no_checker_emails);
            }
            // keepalived 2.2.7 `no_email_faults_handler` takes no value.
            "no_email_faults" => g.no_email_faults = true,
            "vrrp_skip_check_adv_addr" => {
                flag(d, item);
                g.skip_check_adv_addr = true;
            }
            "vrrp_check_unicast_src" => {
                flag(d, item);
                g.check_unicast_src = true;
            }
            "vrrp_garp_interval" => {
                if let Some(v) = secs(d, item, MAX_SECS) {
                    g.garp_interval = v;
                }
            }
            "vrrp_gna_interval" => {
                if let Some(v) = secs(d, item, MAX_SECS) {
                    g.gna_interval = v;
                }
            }
            "vrrp_garp_master_delay"
            | "vrrp_garp_master_repeat"
            | "vrrp_garp_master_refresh"
            | "vrrp_garp_master_refresh_repeat" => {
                garp_keyword(item, k.trim_start_matches("vrrp_"), &mut g.garp, d);
            }
            "enable_script_security" => {
                flag(d, item);
                g.enable_script_security = true;
            }
            "script_user" => g.script_user = text(d, item).or(g.script_user.take()),
            "vrrp_version" => {
                if let Some(v) = version(d, item) {
                    g.vrrp_version = v;
                }
            }
            "vrrp_strict" => {
                flag(d, item);
                g.strict = true;
            }
            "vrrp_startup_delay" => {
                if let Some(v) = secs(d, item, MAX_SECS) {
                    g.startup_delay = v;
                }
            }
            "nftables" | "nftables_priority" | "nftables_counters" | "nftables_ifindex"
            | "vrrp_iptables" => nftables_keyword(item, k, &mut g.nftables, d),
            k if IGNORED.contains(&k) => not_acted(d, item.key.span, k),
            _ => unknown(d, item, "global_defs", &[KNOWN, IGNORED]),
        }
    }
    // keepalived 2.2.7 (`init_global_data`): unset lower-priority announcements default to
    // the global `vrrp_garp_master_repeat` / `vrrp_garp_master_delay`.
    if !lower_repeat {
        g.garp.lower_prio_repeat = g.garp.master_repeat;
    }
    if !lower_delay {
        g.garp.lower_prio_delay = g.garp.master_delay;
    }
}

/// One `garp_master_*` keyword (`name` without the `vrrp_` prefix) into `garp`; shared by
/// `global_defs` and `vrrp_instance`.
pub(crate) fn garp_keyword(item: &Node, name: &str, garp: &mut GarpConfig, d: &mut Diags) {
    let max = i64::from(u32::MAX);
    match name {
        "garp_master_delay" => {
            if let Some(v) = secs(d, item, MAX_SECS) {
                garp.master_delay = v;
            }
        }
        "garp_master_repeat" => {
            if let Some(v) = int(d, item, 0, max).and_then(|v| u32::try_from(v).ok()) {
                garp.master_repeat = v;
            }
        }
        "garp_master_refresh" => {
            if let Some(v) = secs(d, item, MAX_SECS) {
                // keepalived: 0 means no periodic refresh.
                garp.master_refresh = (!v.is_zero()).then_some(v);
            }
        }
        "garp_master_refresh_repeat" => {
            if let Some(v) = int(d, item, 0, max).and_then(|v| u32::try_from(v).ok()) {
                garp.master_refresh_repeat = v;
            }
        }
        "garp_lower_prio_delay" => {
            if let Some(v) = secs(d, item, MAX_SECS) {
                garp.lower_prio_delay = v;
            }
        }
        "garp_lower_prio_repeat" => {
            if let Some(v) =
                int(d, item, 0, i64::from(i32::MAX)).and_then(|v| u32::try_from(v).ok())
            {
                garp.lower_prio_repeat = v;
            }
        }
        _ => {}
    }
}

/// `2` or `3`.
pub(crate) fn version(d: &mut Diags, item: &Node) -> Option<Version> {
    let w = one(d, item, "2 or 3")?;
    match w.text.as_str() {
        "2" => Some(Version::V2),
        "3" => Some(Version::V3),
        other => {
            d.error(
                w.span,
                format!("`{}` expects 2 or 3, got `{other}`", item.key.text),
            );
            None
        }
    }
}

/// keepalived 2.2.7 names a table at most this long (`NFT_TABLE_MAXNAMELEN` - 1).
const NFT_TABLE_MAX: usize = 255;

/// keepalived 2.2.7's nftables keywords of `global_defs` (`vrrp_nftables_handler`,
/// `vrrp_nftables_priority_handler`, `nftables_counters_handler`,
/// `vrrp_nftables_ifindex_handler`; Debian's build has no iptables, so `vrrp_iptables_handler`
/// says so and uses nftables).
fn nftables_keyword(item: &Node, k: &str, nft: &mut NftablesConfig, d: &mut Diags) {
    match k {
        "nftables" => {
            if item.args.len() > 1 {
                d.warn(
                    item.args[1].span,
                    "`nftables` takes one table name: ignoring the rest",
                );
            }
            if nft.table.is_some() {
                d.warn(item.key.span, "nftables already specified - ignoring");
                return;
            }
            match item.args.first() {
                Some(w) if w.text.len() > NFT_TABLE_MAX => {
                    d.warn(w.span, "nftables table name too long - ignoring");
                    return;
                }
                Some(w) => nft.table = Some(w.text.clone()),
                // keepalived's default name is `keepalived`; the daemon's own is `vrrpd`.
                None => {}
            }
            // As keepalived: `nftables` resets a `nftables_priority` read before it.
            nft.priority = -1;
        }
        "nftables_priority" => {
            if let Some(v) = int(d, item, i32::MIN.into(), i32::MAX.into()) {
                nft.priority = v as i32;
            }
        }
        "nftables_counters" => {
            flag(d, item);
            nft.counters = true;
        }
        "nftables_ifindex" => {
            flag(d, item);
            nft.ifindex = true;
        }
        _ => {
            d.warn(
                item.key.span,
                "iptables not supported, using nftables instead (as keepalived 2.2.7 built \
                 without iptables): replace `vrrp_iptables` with `nftables`",
            );
            nft.priority = -1;
        }
    }
}

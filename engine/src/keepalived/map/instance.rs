//! `vrrp_instance`: the virtual router, with the checks that need the whole block (the
//! version is only known at its end, since keepalived allows `version` anywhere in it).

use super::super::diag::{Diags, Span};
use super::super::parser::{Node, Word};
use super::global::{garp_keyword, version, MAX_SECS};
use super::routes::{self, RulePriorities};
use super::track::{track_process_ref, track_ref, FILE_WEIGHT, SCRIPT_WEIGHT};
use super::values::{flag, int, ip, ip_word, one, secs, switch, switch_or_keep, text};
use super::{not_acted, unknown};
use crate::config::{
    AuthConfig, GlobalConfig, InitialState, InstanceConfig, PeerTtl, VirtualAddress,
};
use crate::types::{Family, Version, PRIORITY_OWNER};
use crate::wire::ChecksumMode;
use core::net::IpAddr;
use core::time::Duration;

/// Where the things the cross-instance checks point at are.
#[derive(Debug, Clone, Default)]
pub(crate) struct InstanceMeta {
    /// The instance's name (or its keyword when unnamed).
    pub name: Span,
    /// The `virtual_router_id` value.
    pub vrid: Option<Span>,
    /// Each `track_script` entry, parallel to `InstanceConfig::track_scripts`.
    pub track_scripts: Vec<Span>,
    /// Whether both `interface` and `virtual_router_id` were given.
    pub complete: bool,
}

const KNOWN: &[&str] = &[
    "state",
    "interface",
    "use_vmac",
    "vmac_xmit_base",
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "authentication",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "virtual_routes",
    "virtual_rules",
    "track_script",
    "track_interface",
    "track_file",
    "track_process",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "nopreempt",
    "preempt",
    "preempt_delay",
    "accept",
    "no_accept",
    "unicast_src_ip",
    "mcast_src_ip",
    "unicast_peer",
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "higher_prio_send_advert",
    "smtp_alert",
    "dont_track_primary",
    "lower_prio_no_advert",
    "v3_checksum_as_v2",
    "strict_mode",
    "skip_check_adv_addr",
    "check_unicast_src",
    "unicast_ttl",
];

/// keepalived instance keywords the engine skips (warned as not acted on).
/// `old_unicast_checksum` is here: it selects keepalived's pre-1.3.6 unicast checksum, not
/// the checksum without pseudo-header, so it does not map onto `checksum_mode`.
const IGNORED: &[&str] = &[
    "use_vmac_addr",
    "use_ipvlan",
    "native_ipv6",
    "track_src_ip",
    "track_bfd",
    "promote_secondaries",
    "lvs_sync_daemon_interface",
    "garp_extra_if",
    "debug",
    "notify_master_rx_lower_pri",
    "notify_priority_changes",
    "old_unicast_checksum",
    "down_timer_adverts",
    "kernel_rx_buf_size",
    "unicast_fault_no_peer",
    "vrf",
];

const AUTH_KEYS: &[&str] = &["auth_type", "auth_pass"];

/// keepalived carries at most 8 bytes of a PASS password.
const AUTH_PASS_MAX: usize = 8;

/// What the block said, before the end-of-block checks.
#[derive(Default)]
struct Seen<'n> {
    advert: Option<&'n Word>,
    version: Option<Version>,
    master: bool,
    nopreempt: Option<Span>,
    preempt_delay: Option<Span>,
    auth: Option<Span>,
    interface: bool,
    vrid_keyword: bool,
    accept_set: bool,
    accept_span: Option<Span>,
    lower_prio_garp: Option<Span>,
    lower_prio_advert: Option<Span>,
    higher_prio_advert: Option<Span>,
    vip_words: Vec<Span>,
    ah: Option<Span>,
    unicast_peer: Option<Span>,
    /// Each peer's address, parallel to `InstanceConfig::unicast_peers`.
    peer_words: Vec<Span>,
    unicast_ttl: Option<Span>,
    unicast_src: Option<Span>,
    state: Option<Span>,
    /// A `priority` line was read (keepalived derives it from `state` otherwise).
    priority: bool,
    vmac: Option<Span>,
}

/// Maps one `vrrp_instance NAME { ... }` block with `global_defs` defaults.
pub(crate) fn map_instance(
    node: &Node,
    global: &GlobalConfig,
    prios: &mut RulePriorities,
    d: &mut Diags,
) -> (InstanceConfig, InstanceMeta) {
    let name_word = node.args.first();
    let name = name_word.map(|w| w.text.clone()).unwrap_or_default();
    if name_word.is_none() {
        d.error(node.key.span, "`vrrp_instance` expects a name, got nothing");
    }
    if node.block.is_none() {
        d.error(node.key.span, "`vrrp_instance` expects a `{ ... }` block");
    }
    let mut meta = InstanceMeta {
        name: name_word.map_or(node.key.span, |w| w.span),
        ..InstanceMeta::default()
    };
    let mut inst = InstanceConfig::new(name.clone(), String::new(), 0);
    inst.garp = global.garp;
    inst.advert_on_lower_priority = !global.lower_prio_no_advert;
    inst.higher_prio_send_advert = global.higher_prio_send_advert;
    let mut seen = Seen::default();
    for item in node.items() {
        map_item(item, &mut inst, &mut meta, &mut seen, prios, d);
    }
    finish(&mut inst, &mut meta, &mut seen, global, d);
    (inst, meta)
}

fn map_item<'n>(
    item: &'n Node,
    inst: &mut InstanceConfig,
    meta: &mut InstanceMeta,
    seen: &mut Seen<'n>,
    prios: &mut RulePriorities,
    d: &mut Diags,
) {
    let k = item.key.text.as_str();
    match k {
        "" => {}
        "state" => {
            seen.state = Some(item.key.span);
            if let Some(w) = one(d, item, "MASTER or BACKUP") {
                match w.text.as_str() {
                    "MASTER" => {
                        inst.initial_state = InitialState::Master;
                        seen.master = true;
                    }
                    "BACKUP" => {
                        inst.initial_state = InitialState::Backup;
                        seen.master = false;
                    }
                    other => d.error(
                        w.span,
                        format!("`state` expects MASTER or BACKUP, got `{other}`"),
                    ),
                }
            }
        }
        "interface" => {
            if let Some(w) = one(d, item, "an interface name") {
                inst.interface = w.text.clone();
                seen.interface = true;
            }
        }
        "use_vmac" => {
            inst.use_vmac = Some(vmac_name(d, item));
            seen.vmac = Some(item.key.span);
        }
        "vmac_xmit_base" => {
            flag(d, item);
            inst.vmac_xmit_base = true;
        }
        "virtual_router_id" => {
            seen.vrid_keyword = true;
            if let Some(v) = int(d, item, 1, 255).and_then(|v| u8::try_from(v).ok()) {
                inst.vrid = v;
                meta.vrid = item.args.first().map(|w| w.span);
            }
        }
        "priority" => {
            seen.priority = true;
            if let Some(v) = int(d, item, 1, 255).and_then(|v| u8::try_from(v).ok()) {
                inst.priority = v;
            }
        }
        "advert_int" => {
            // Checked at the end of the block, when the version is known.
            if let Some(w) = one(d, item, "a number of seconds") {
                seen.advert = Some(w);
            }
        }
        "version" => seen.version = version(d, item).or(seen.version),
        "authentication" => auth(item, inst, seen, d),
        "virtual_ipaddress" => {
            for line in item.items() {
                if let Some(v) = vip(line, d) {
                    seen.vip_words.push(line.key.span);
                    inst.vips.push(v);
                }
            }
        }
        "virtual_ipaddress_excluded" => {
            for line in item.items() {
                if let Some(v) = vip(line, d) {
                    inst.vips_excluded.push(v);
                }
            }
        }
        "virtual_routes" => {
            inst.virtual_routes.extend(
                item.items()
                    .iter()
                    .filter_map(|line| routes::route(line, d)),
            );
        }
        "virtual_rules" => {
            for line in item.items() {
                if let Some(mut r) = routes::rule(line, d) {
                    if !r.has_priority {
                        prios.assign(&mut r.rule, &line.key, d);
                    }
                    inst.virtual_rules.push(r.rule);
                }
            }
        }
        "track_script" => {
            for line in item.items() {
                inst.track_scripts.push(track_ref(line, SCRIPT_WEIGHT, d));
                meta.track_scripts.push(line.key.span);
            }
        }
        "track_interface" => {
            for line in item.items() {
                inst.track_interfaces
                    .push(track_ref(line, SCRIPT_WEIGHT, d));
            }
        }
        "track_file" => {
            for line in item.items() {
                inst.track_files.push(track_ref(line, FILE_WEIGHT, d));
            }
        }
        "track_process" => {
            for line in item.items() {
                inst.track_processes.extend(track_process_ref(line, d));
            }
        }
        "notify_master" => inst.notify.master = text(d, item).or(inst.notify.master.take()),
        "notify_backup" => inst.notify.backup = text(d, item).or(inst.notify.backup.take()),
        "notify_fault" => inst.notify.fault = text(d, item).or(inst.notify.fault.take()),
        "notify_stop" => inst.notify.stop = text(d, item).or(inst.notify.stop.take()),
        "notify" => inst.notify.generic = text(d, item).or(inst.notify.generic.take()),
        "nopreempt" => {
            flag(d, item);
            inst.preempt = false;
            seen.nopreempt = Some(item.key.span);
        }
        "preempt" => {
            flag(d, item);
            inst.preempt = true;
            seen.nopreempt = None;
        }
        "preempt_delay" => {
            if let Some(v) = secs(d, item, 1000) {
                inst.preempt_delay = v;
                seen.preempt_delay = Some(item.key.span);
            }
        }
        "accept" => {
            flag(d, item);
            inst.accept = true;
            seen.accept_set = true;
            seen.accept_span = Some(item.key.span);
        }
        "no_accept" => {
            flag(d, item);
            inst.accept = false;
            seen.accept_set = true;
        }
        // keepalived 2.2.7 reads both into the instance's source address (`vrrp_srcip_handler`;
        // `unicast_src_ip` also marks the instance unicast-configured, which selects unicast
        // only with peers, as here).
        "unicast_src_ip" | "mcast_src_ip" => {
            if let Some(a) = ip(d, item) {
                inst.unicast_src = Some(a);
                seen.unicast_src = item.args.first().map(|w| w.span);
            }
        }
        "unicast_peer" => {
            seen.unicast_peer = Some(item.key.span);
            for line in item.items() {
                if let Some(a) = ip_word(d, "unicast_peer", &line.key) {
                    if let Some(ttl) = peer_ttl(line, a, d) {
                        // keepalived 2.2.7 `alloc_vrrp_unicast_peer`: a TTL option turns
                        // the source check on for the instance.
                        inst.check_unicast_src = true;
                        inst.unicast_peer_ttl.push(ttl);
                    }
                    inst.unicast_peers.push(a);
                    seen.peer_words.push(line.key.span);
                }
            }
        }
        "check_unicast_src" => {
            flag(d, item);
            inst.check_unicast_src = true;
        }
        "unicast_ttl" => {
            if let Some(v) = int(d, item, 0, 255).and_then(|v| u8::try_from(v).ok()) {
                inst.unicast_ttl = Some(v);
                seen.unicast_ttl = Some(item.key.span);
            }
        }
        "garp_master_delay"
        | "garp_master_repeat"
        | "garp_master_refresh"
        | "garp_master_refresh_repeat" => garp_keyword(item, k, &mut inst.garp, d),
        "garp_lower_prio_delay" | "garp_lower_prio_repeat" => {
            seen.lower_prio_garp = Some(item.key.span);
            garp_keyword(item, k, &mut inst.garp, d)
        }
        "dont_track_primary" => {
            flag(d, item);
            inst.dont_track_primary = true;
        }
        // keepalived 2.2.7 `vrrp_smtp_handler`: a bad value leaves the setting unchanged.
        "smtp_alert" => inst.smtp_alert = switch_or_keep(d, item).or(inst.smtp_alert),
        "strict_mode" => inst.strict_mode = switch_or_keep(d, item).or(inst.strict_mode),
        "skip_check_adv_addr" => {
            // keepalived 2.2.7 `vrrp_skip_check_adv_addr_handler` sets the flag for any valid
            // value, `false` included.
            if switch_or_keep(d, item) == Some(false) {
                d.warn(
                    item.key.span,
                    "keepalived 2.2.7 turns skip_check_adv_addr on even for `false`; so does this engine",
                );
            }
            inst.skip_check_adv_addr = true;
        }
        "higher_prio_send_advert" => {
            inst.higher_prio_send_advert = switch(d, item);
            seen.higher_prio_advert = Some(item.key.span);
        }
        "lower_prio_no_advert" => {
            // `lower_prio_no_advert [true|false]`: a Master does not answer a lower-priority
            // advert with one of its own.
            inst.advert_on_lower_priority = !switch(d, item);
            seen.lower_prio_advert = Some(item.key.span);
        }
        "v3_checksum_as_v2" => {
            // `v3_checksum_as_v2 [true|false]`: VRRPv3 over IPv4 checksummed without the
            // pseudo-header (interop with implementations that read RFC 5798 §5.2.8 so).
            inst.checksum_mode = if switch(d, item) {
                ChecksumMode::NoPseudoHeader
            } else {
                ChecksumMode::PseudoHeader
            };
        }
        k if IGNORED.contains(&k) => not_acted(d, item.key.span, k),
        _ => unknown(d, item, "vrrp_instance", &[KNOWN, IGNORED]),
    }
}

fn auth<'n>(item: &'n Node, inst: &mut InstanceConfig, seen: &mut Seen<'n>, d: &mut Diags) {
    let mut kind: Option<&Word> = None;
    let mut pass: Option<String> = None;
    for line in item.items() {
        match line.key.text.as_str() {
            "" => {}
            "auth_type" => {
                if let Some(w) = one(d, line, "PASS or AH") {
                    match w.text.as_str() {
                        "PASS" | "AH" => kind = Some(w),
                        other => d.error(
                            w.span,
                            format!("`auth_type` expects PASS or AH, got `{other}`"),
                        ),
                    }
                }
            }
            "auth_pass" => {
                if let Some(w) = one(d, line, "a password") {
                    pass = Some(truncate_pass(w, d));
                }
            }
            _ => unknown(d, line, "authentication", &[AUTH_KEYS]),
        }
    }
    seen.auth = Some(item.key.span);
    match (kind.map(|w| (w.text.as_str(), w.span)), pass) {
        (Some(("AH", span)), _) => {
            // Refused rather than ignored: peers using AH expect IPsec-AH headers we cannot
            // produce or check, so running anyway would end in two Masters.
            seen.ah = Some(span);
            inst.auth = Some(AuthConfig::Ah);
        }
        (_, Some(p)) => inst.auth = Some(AuthConfig::Pass(p)),
        (Some((_, span)), None) => {
            d.error(span, "`auth_type PASS` needs an `auth_pass`");
        }
        (None, None) => {}
    }
}

/// A peer line's `min_ttl N` / `max_ttl N` options (keepalived 2.2.7
/// `alloc_vrrp_unicast_peer`), `None` when it has none.
fn peer_ttl(line: &Node, addr: IpAddr, d: &mut Diags) -> Option<PeerTtl> {
    let mut ttl = PeerTtl {
        addr,
        min: 0,
        max: 255,
    };
    let mut any = false;
    let mut args = line.args.iter();
    while let Some(opt) = args.next() {
        let Some(val) = args.next() else {
            d.error(opt.span, format!("`{}` is missing a value", opt.text));
            break;
        };
        let Some(v) = super::values::int_word(d, &opt.text, val, 0, 255) else {
            continue;
        };
        let v = v as u8;
        match opt.text.as_str() {
            "min_ttl" => ttl.min = v,
            "max_ttl" => ttl.max = v,
            other => {
                d.error(opt.span, format!("unknown unicast_peer option {other}"));
                break;
            }
        }
        any = true;
    }
    if ttl.min > ttl.max {
        d.warn(
            line.key.span,
            format!(
                "min_ttl {} > max_ttl {} - all packets will be discarded",
                ttl.min, ttl.max
            ),
        );
    }
    any.then_some(ttl)
}

/// keepalived keeps only the first 8 bytes of a password; warn and keep what is used.
fn truncate_pass(w: &Word, d: &mut Diags) -> String {
    if w.text.len() <= AUTH_PASS_MAX {
        return w.text.clone();
    }
    let mut end = AUTH_PASS_MAX;
    while !w.text.is_char_boundary(end) {
        end -= 1;
    }
    let used = w.text.get(..end).unwrap_or_default().to_string();
    d.warn(
        w.span,
        format!(
            "`auth_pass` is longer than 8 characters; keepalived uses only the first 8: `{used}`"
        ),
    );
    used
}

/// One `virtual_ipaddress` line: `ADDR[/PREFIX] [dev IF] [label L] [other options...]`.
fn vip(line: &Node, d: &mut Diags) -> Option<VirtualAddress> {
    let word = &line.key;
    if word.text.is_empty() {
        return None;
    }
    let (addr_text, prefix_text) = match word.text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (word.text.as_str(), None),
    };
    let Ok(addr) = addr_text.parse::<IpAddr>() else {
        d.error(
            word.span,
            format!("virtual address expects ADDR[/PREFIX], got `{}`", word.text),
        );
        return None;
    };
    let mut v = VirtualAddress::host(addr);
    if let Some(p) = prefix_text {
        let max = v.prefix_len;
        match p.parse::<u8>() {
            Ok(n) if n <= max => v.prefix_len = n,
            _ => {
                d.error(
                    word.span,
                    format!("prefix `/{p}` of `{}` is not in 0..{max}", word.text),
                );
                return None;
            }
        }
    }
    let mut args = line.args.iter();
    while let Some(a) = args.next() {
        match a.text.as_str() {
            "dev" | "label" => {
                let Some(val) = args.next() else {
                    d.error(a.span, format!("`{}` expects a value, got nothing", a.text));
                    break;
                };
                if a.text == "dev" {
                    v.dev = Some(val.text.clone());
                } else {
                    v.label = Some(val.text.clone());
                }
            }
            _ => v.extra.push(a.text.clone()),
        }
    }
    Some(v)
}

/// The checks that need the whole block.
fn finish(
    inst: &mut InstanceConfig,
    meta: &mut InstanceMeta,
    seen: &mut Seen<'_>,
    global: &GlobalConfig,
    d: &mut Diags,
) {
    let name = inst.name.clone();
    if !seen.interface {
        d.error(
            meta.name,
            format!("vrrp_instance {name} has no `interface`"),
        );
    }
    // A bad value was already reported at the value; do not also call it missing.
    if meta.vrid.is_none() && !seen.vrid_keyword {
        d.error(
            meta.name,
            format!("vrrp_instance {name} has no `virtual_router_id`"),
        );
    }
    meta.complete = seen.interface && meta.vrid.is_some();
    inst.version = seen.version.unwrap_or(global.vrrp_version);
    // keepalived 2.2.7 `vrrp_complete_instance`: "If no priority has been set, derive it
    // from the initial state" (MASTER: 255), and "If no initial state has been set, derive
    // it from the priority" (255: MASTER).
    if !seen.priority && seen.master {
        inst.priority = PRIORITY_OWNER;
    }
    if seen.state.is_none() && inst.priority == PRIORITY_OWNER {
        inst.initial_state = InitialState::Master;
        seen.master = true;
    }

    // One family per address list: the first address decides.
    if let Some(first) = inst.vips.first() {
        let fam = Family::of(&first.addr);
        let first_addr = first.addr;
        for (v, span) in inst.vips.iter().zip(seen.vip_words.iter()) {
            if Family::of(&v.addr) != fam {
                d.error(
                    *span,
                    format!(
                        "virtual_ipaddress mixes address families: {} is {}, the first address {} is {}",
                        v.addr,
                        family_name(Family::of(&v.addr)),
                        first_addr,
                        family_name(fam)
                    ),
                );
            }
        }
        if fam == Family::Ipv6 && inst.version == Version::V2 {
            if let Some(span) = seen.vip_words.first() {
                d.warn(
                    *span,
                    format!(
                        "VRRPv2 is IPv4 only; vrrp_instance {name} uses version 3 for {first_addr}, as keepalived does"
                    ),
                );
            }
            inst.version = Version::V3;
        }
    }

    unicast_family(inst, seen, meta.name, d);

    if let Some(w) = seen.advert {
        if let Some(v) = advert(w, inst.version, d) {
            inst.advert_interval = v;
        }
    }

    if let Some(span) = seen.nopreempt {
        if seen.master {
            d.warn(
                span,
                "`nopreempt` is ignored with `state MASTER` (keepalived keeps preempting); use `state BACKUP`",
            );
            inst.preempt = true;
        } else if let Some(delay) = seen.preempt_delay {
            d.warn(
                delay,
                "`preempt_delay` is ignored with `nopreempt` (keepalived resets it to 0)",
            );
            inst.preempt_delay = Duration::ZERO;
        }
    }
    // keepalived 2.2.7 `vrrp_complete_instance` clears the delay of an instance that wants
    // MASTER (the engine ignores it too: `InstanceConfig::effective_preempt_delay`).
    // (after strict mode's "State MASTER must match being address owner").
    let strict = inst.strict_mode.unwrap_or(global.strict);
    let owner = inst.priority == PRIORITY_OWNER;
    let wants_master = if strict && seen.state.is_some() {
        owner
    } else {
        seen.master
    };
    if let Some(span) = seen
        .preempt_delay
        .filter(|_| wants_master && !inst.preempt_delay.is_zero())
    {
        d.warn(
            span,
            format!("({name}) Warning - preempt delay will not work with initial state MASTER - clearing"),
        );
        inst.preempt_delay = Duration::ZERO;
    }

    if let Some(span) = seen.ah {
        d.error(
            span,
            "`auth_type AH` is not supported by this engine (IPsec AH cannot be produced or checked)",
        );
    }
    if inst.version == Version::V3 {
        if let (Some(span), Some(_)) = (seen.auth, &inst.auth) {
            d.warn(
                span,
                "`authentication` is ignored with VRRPv3 (RFC 5798 has no authentication)",
            );
            inst.auth = None;
        }
    }

    // The instance's `strict_mode`, else `vrrp_strict` (keepalived 2.2.7
    // `vrrp_complete_instance`, which applies every rule below).
    let strict = inst.strict_mode.unwrap_or(global.strict);
    if inst.vips.is_empty() {
        if strict || inst.version == Version::V3 {
            d.error(
                meta.name,
                format!("({name}) No VIP specified; at least one is required"),
            );
        } else {
            d.warn(
                meta.name,
                format!("({name}) No VIP specified; at least one is sensible"),
            );
        }
    }
    if strict {
        strict_rules(inst, seen, d);
    }
    // keepalived 2.2.7 `vrrp_end_handler` and `vrrp_complete_instance`.
    if let Some(span) = seen.vmac {
        // The configuration keeps what the file says (so `--dump` round-trips);
        // `vmac::plan` applies both rules.
        if !inst.unicast_peers.is_empty() && !inst.vmac_xmit_base {
            d.warn(
                span,
                format!("({name}) unicast with use_vmac requires vmac_xmit_base - setting"),
            );
        } else if strict && inst.vmac_xmit_base {
            d.warn(
                span,
                format!("({name}) xmit_base is incompatible with strict mode - resetting"),
            );
        }
    }
    // Accept_Mode: unset, it is on for the address owner and otherwise off only in strict
    // mode; strict mode turns it off for VRRPv2 (RFC 3768 has none) unless the owner.
    let owner = inst.priority == PRIORITY_OWNER;
    if !seen.accept_set {
        inst.accept = owner || !strict;
    } else if inst.accept && !owner && strict && inst.version == Version::V2 {
        d.warn(
            seen.accept_span.unwrap_or(meta.name),
            "vrrp_strict: accept mode for VRRP version 2 does not comply with RFC 3768 - resetting",
        );
        inst.accept = false;
    }
    // Strict mode: no announcements on hearing a lower priority, and no advert in answer to
    // one.
    if strict {
        if let Some(span) = seen
            .lower_prio_garp
            .filter(|_| inst.garp.lower_prio_repeat != 0 || !inst.garp.lower_prio_delay.is_zero())
        {
            d.warn(
                span,
                "vrrp_strict: keepalived sets garp_lower_prio_repeat and garp_lower_prio_delay to 0",
            );
        }
        if let Some(span) = seen
            .lower_prio_advert
            .filter(|_| inst.advert_on_lower_priority)
        {
            d.warn(span, "vrrp_strict: keepalived sets lower_prio_no_advert");
        }
        if let Some(span) = seen
            .higher_prio_advert
            .filter(|_| inst.higher_prio_send_advert)
        {
            d.warn(
                span,
                "vrrp_strict: keepalived turns higher_prio_send_advert off",
            );
        }
        inst.garp.lower_prio_repeat = 0;
        inst.garp.lower_prio_delay = Duration::ZERO;
        inst.advert_on_lower_priority = false;
        inst.higher_prio_send_advert = false;
    }
}

/// keepalived 2.2.7 `alloc_vrrp_unicast_peer` and `vrrp_srcip_handler`: a peer or source
/// address of another family than the instance's is dropped with its error (the instance
/// runs without it); `vrrp_end_handler`: `unicast_ttl` without peers is reset.
fn unicast_family(inst: &mut InstanceConfig, seen: &Seen<'_>, name_span: Span, d: &mut Diags) {
    let name = inst.name.clone();
    if let Some(src) = inst.unicast_src.filter(|s| Family::of(s) != inst.family()) {
        d.warn(
            seen.unicast_src.unwrap_or(name_span),
            format!(
                "Configuration error: VRRP instance[{name}] and src address[{src}] MUST be of the same family !!! Skipping..."
            ),
        );
        inst.unicast_src = None;
    }
    let family = inst.family();
    let mut keep = Vec::new();
    for (p, span) in inst.unicast_peers.iter().zip(&seen.peer_words) {
        if Family::of(p) == family {
            keep.push(*p);
        } else {
            d.warn(
                *span,
                format!(
                    "Configuration error: VRRP instance[{name}] and unicast peer address[{p}] MUST be of the same family !!! Skipping..."
                ),
            );
        }
    }
    inst.unicast_peer_ttl.retain(|t| keep.contains(&t.addr));
    inst.unicast_peers = keep;
    if let Some(span) = seen.unicast_ttl.filter(|_| inst.unicast_peers.is_empty()) {
        d.warn(
            span,
            format!("({name}): Cannot use unicast_ttl without unicast peers - resetting"),
        );
        inst.unicast_ttl = None;
    }
}

/// keepalived 2.2.7's strict-mode corrections of `vrrp_complete_instance` (each logged there
/// as a configuration error, the instance kept except with unicast peers).
fn strict_rules(inst: &mut InstanceConfig, seen: &Seen<'_>, d: &mut Diags) {
    let name = inst.name.clone();
    let owner = inst.priority == PRIORITY_OWNER;
    if let Some(span) = seen.state.filter(|_| seen.master != owner) {
        d.warn(
            span,
            format!("({name}) State MASTER must match being address owner (strict mode)"),
        );
        inst.initial_state = if owner {
            InitialState::Master
        } else {
            InitialState::Backup
        };
    }
    if let (Some(span), Some(_)) = (seen.auth, &inst.auth) {
        d.warn(
            span,
            format!("({name}) Strict mode does not support authentication. Ignoring."),
        );
        inst.auth = None;
    }
    if let Some(span) = seen.unicast_peer {
        d.error(
            span,
            format!("({name}) Unicast peers are not supported in strict mode"),
        );
    }
    if let Some(span) = seen.preempt_delay.filter(|_| !inst.preempt_delay.is_zero()) {
        d.warn(
            span,
            format!("({name}) preempt_delay is incompatible with strict mode - resetting"),
        );
        inst.preempt_delay = Duration::ZERO;
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "IPv6",
    }
}

/// `advert_int` against what the version can carry: v2 whole seconds 1..255, v3
/// centiseconds 1..4095.
fn advert(w: &Word, version: Version, d: &mut Diags) -> Option<Duration> {
    let v = secs_checked(w, d)?;
    match version {
        Version::V2 => {
            if v.subsec_nanos() != 0 || v < Duration::from_secs(1) || v > Duration::from_secs(255) {
                d.error(
                    w.span,
                    format!(
                        "`advert_int` {} cannot be carried by VRRPv2: it needs a whole number of seconds in 1..255",
                        w.text
                    ),
                );
                return None;
            }
        }
        Version::V3 => {
            if v < Duration::from_millis(10) || v > Duration::from_millis(40_950) {
                d.error(
                    w.span,
                    format!(
                        "`advert_int` {} is outside VRRPv3's range 0.01..40.95 seconds",
                        w.text
                    ),
                );
                return None;
            }
            if v.as_nanos() % 10_000_000 != 0 {
                d.error(
                    w.span,
                    format!(
                        "`advert_int` {} is not a multiple of 10 ms, which VRRPv3 needs",
                        w.text
                    ),
                );
                return None;
            }
        }
    }
    Some(v)
}

fn secs_checked(w: &Word, d: &mut Diags) -> Option<Duration> {
    super::values::secs_word(d, "advert_int", w, MAX_SECS)
}

/// `use_vmac [NAME]`: the macvlan's name, `""` for keepalived's default (`vrrp.VRID`). As
/// keepalived 2.2.7's `vrrp_vmac_handler`, an invalid name is ignored with a warning; a MAC
/// address argument (keepalived 2.2.7's own MAC for the macvlan) is not supported: the
/// RFC 5798 virtual MAC is used.
fn vmac_name(d: &mut Diags, item: &Node) -> String {
    let mut name = String::new();
    for w in item.args.iter().take(2) {
        if w.text.contains(':') {
            d.warn(
                w.span,
                format!(
                    "a MAC address for use_vmac ({}) is not supported: the RFC 5798 virtual MAC 00:00:5e:00:01:VRID is used",
                    w.text
                ),
            );
        } else if !crate::vmac::valid_ifname(&w.text) {
            d.warn(
                w.span,
                format!(
                    "VMAC interface name '{}' too long or invalid characters - ignoring",
                    w.text
                ),
            );
        } else if name.is_empty() {
            name = w.text.clone();
        }
    }
    name
}

//! Checks across blocks: VRID collisions and references to scripts and instances.

use super::diag::{Diags, Span};
use super::map::Meta;
use crate::config::Config;
use crate::types::Family;
use std::collections::BTreeMap;

/// Runs the cross-block checks, reporting at the second of two clashing items.
pub(crate) fn validate(cfg: &Config, meta: &Meta, d: &mut Diags) {
    vrid_collisions(cfg, meta, d);
    script_refs(cfg, meta, d);
    sync_members(cfg, meta, d);
}

/// Two instances with one VRID on one interface and family would be one virtual router.
fn vrid_collisions(cfg: &Config, meta: &Meta, d: &mut Diags) {
    let mut seen: BTreeMap<(String, Family, u8), (String, Span)> = BTreeMap::new();
    for (inst, m) in cfg.instances.iter().zip(meta.instances.iter()) {
        let (Some(vrid_span), true) = (m.vrid, m.complete) else {
            continue;
        };
        let key = (inst.interface.clone(), inst.family(), inst.vrid);
        match seen.get(&key) {
            Some((first, first_span)) => {
                let fam = match key.1 {
                    Family::Ipv4 => "IPv4",
                    Family::Ipv6 => "IPv6",
                };
                let msg = format!(
                    "virtual_router_id {} is already used on {} ({fam}) by vrrp_instance {first} at {}",
                    inst.vrid,
                    inst.interface,
                    d.pos(*first_span)
                );
                d.error(vrid_span, msg);
            }
            None => {
                seen.insert(key, (inst.name.clone(), vrid_span));
            }
        }
    }
}

fn script_refs(cfg: &Config, meta: &Meta, d: &mut Diags) {
    let known = |name: &str| cfg.scripts.iter().any(|s| s.name == name);
    for (inst, m) in cfg.instances.iter().zip(meta.instances.iter()) {
        for (r, span) in inst.track_scripts.iter().zip(m.track_scripts.iter()) {
            if !known(&r.name) {
                d.error(
                    *span,
                    format!(
                        "track_script `{}` of vrrp_instance {} names no vrrp_script",
                        r.name, inst.name
                    ),
                );
            }
        }
    }
    for (g, m) in cfg.sync_groups.iter().zip(meta.sync_groups.iter()) {
        for (r, span) in g.track_scripts.iter().zip(m.track_scripts.iter()) {
            if !known(&r.name) {
                d.error(
                    *span,
                    format!(
                        "track_script `{}` of vrrp_sync_group {} names no vrrp_script",
                        r.name, g.name
                    ),
                );
            }
        }
    }
}

/// keepalived 2.2.7 `vrrp_sync_set_group`: a member that is not an instance, or is already in
/// another group, is ignored with a warning; a group left with no member is removed; a group
/// of one member is kept, with a warning. `vrrp_complete_instance`: without
/// `sync_group_tracking_weight`, the weights of a member's own tracked scripts, interfaces and
/// files are ignored, with a warning.
fn sync_members(cfg: &Config, meta: &Meta, d: &mut Diags) {
    let mut taken: BTreeMap<&str, &str> = BTreeMap::new();
    for (g, m) in cfg.sync_groups.iter().zip(meta.sync_groups.iter()) {
        let mut members = 0;
        for (name, span) in g.instances.iter().zip(m.members.iter()) {
            let Some(inst) = cfg.instances.iter().find(|i| &i.name == name) else {
                d.warn(
                    *span,
                    format!(
                        "vrrp_sync_group {} names `{name}`, which is no vrrp_instance",
                        g.name
                    ),
                );
                continue;
            };
            if let Some(first) = taken.get(name.as_str()) {
                d.warn(
                    *span,
                    format!(
                        "vrrp_instance {name} is already in vrrp_sync_group {first}: \
                         ignored in vrrp_sync_group {}",
                        g.name
                    ),
                );
                continue;
            }
            taken.insert(name, &g.name);
            members += 1;
            if !g.tracking_weight {
                let weighted = inst
                    .track_scripts
                    .iter()
                    .filter(|t| {
                        let own = cfg.scripts.iter().find(|s| s.name == t.name);
                        t.weight.or(own.map(|s| s.weight)).unwrap_or(0) != 0
                    })
                    .map(|t| format!("track_script {}", t.name))
                    .chain(
                        inst.track_interfaces
                            .iter()
                            .filter(|t| t.weight.unwrap_or(0) != 0)
                            .map(|t| format!("track_interface {}", t.name)),
                    )
                    .chain(
                        inst.track_files
                            .iter()
                            .filter(|t| {
                                let own = cfg.track_files.iter().find(|f| f.name == t.name);
                                t.weight.or(own.map(|f| f.weight)).unwrap_or(0) != 0
                            })
                            .map(|t| format!("track_file {}", t.name)),
                    );
                for what in weighted {
                    d.warn(
                        *span,
                        format!(
                            "vrrp_instance {name} is in vrrp_sync_group {}: the weight of its \
                             {what} is ignored (set sync_group_tracking_weight to keep it)",
                            g.name
                        ),
                    );
                }
            }
        }
        let span = m.members.first().copied();
        match (members, span) {
            (0, _) => {}
            (1, Some(span)) => d.warn(
                span,
                format!(
                    "vrrp_sync_group {} has only 1 virtual router - this probably isn't what you want",
                    g.name
                ),
            ),
            _ => {}
        }
    }
}

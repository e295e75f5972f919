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

/// keepalived ignores a sync-group member that is not an instance, with a warning.
fn sync_members(cfg: &Config, meta: &Meta, d: &mut Diags) {
    for (g, m) in cfg.sync_groups.iter().zip(meta.sync_groups.iter()) {
        for (name, span) in g.instances.iter().zip(m.members.iter()) {
            if !cfg.instances.iter().any(|i| &i.name == name) {
                d.warn(
                    *span,
                    format!(
                        "vrrp_sync_group {} names `{name}`, which is no vrrp_instance",
                        g.name
                    ),
                );
            }
        }
    }
}

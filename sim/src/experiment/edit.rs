//! Variant edits applied to a node's parsed configuration.

use super::schema::NodeEdit;
use vrrp_engine::config::{Config, InitialState};
use vrrp_engine::Version;

/// Apply `e` to `config`: instance edits to every instance, or to `e.instance` only.
pub(crate) fn apply(config: &mut Config, e: &NodeEdit) -> Result<(), String> {
    if let Some(name) = &e.instance {
        if !config.instances.iter().any(|i| &i.name == name) {
            let known: Vec<&str> = config.instances.iter().map(|i| i.name.as_str()).collect();
            return Err(format!(
                "no vrrp_instance {name:?} in this node's config (it has: {})",
                known.join(", ")
            ));
        }
    }
    for i in config
        .instances
        .iter_mut()
        .filter(|i| e.instance.as_ref().is_none_or(|n| n == &i.name))
    {
        if let Some(p) = e.priority {
            if p == 0 {
                return Err("priority must be 1..255".into());
            }
            i.priority = p;
        }
        if let Some(state) = &e.state {
            i.initial_state = match state.as_str() {
                "MASTER" => InitialState::Master,
                "BACKUP" => InitialState::Backup,
                other => {
                    return Err(format!(
                        "state {other:?}: expected \"MASTER\" or \"BACKUP\""
                    ))
                }
            };
        }
        if let Some(no) = e.nopreempt {
            // keepalived silently ignores nopreempt with state MASTER; we refuse to.
            if no && i.initial_state == InitialState::Master {
                return Err(format!(
                    "nopreempt on {} has no effect with state MASTER (keepalived ignores it); add state = \"BACKUP\"",
                    i.name
                ));
            }
            i.preempt = !no;
        }
        if let Some(d) = e.preempt_delay {
            // keepalived 2.2.7 clears it with state MASTER ("preempt delay will not work with
            // initial state MASTER - clearing"), and so does the engine; we refuse to.
            if !d.0.is_zero() && i.initial_state == InitialState::Master {
                return Err(format!(
                    "preempt_delay on {} has no effect with state MASTER (keepalived clears it); add state = \"BACKUP\"",
                    i.name
                ));
            }
            i.preempt_delay = d.0;
        }
        if let Some(d) = e.advert_int {
            i.advert_interval = d.0;
        }
        if let Some(v) = e.version {
            i.version = match v {
                2 => Version::V2,
                3 => Version::V3,
                _ => return Err(format!("version {v}: expected 2 or 3")),
            };
        }
        if let Some(d) = e.garp_master_refresh {
            i.garp.master_refresh = (!d.0.is_zero()).then_some(d.0);
        }
        if let Some(n) = e.garp_lower_prio_repeat {
            i.garp.lower_prio_repeat = n;
        }
        if let Some(b) = e.advert_on_lower_priority {
            i.advert_on_lower_priority = b;
        }
        if let Some(b) = e.use_vmac {
            i.use_vmac = b.then(String::new);
        }
        if let Some(b) = e.vmac_xmit_base {
            i.vmac_xmit_base = b;
        }
    }
    for (name, se) in &e.scripts {
        let Some(s) = config.scripts.iter_mut().find(|s| &s.name == name) else {
            return Err(format!("no vrrp_script {name:?} in this node's config"));
        };
        if let Some(w) = se.weight {
            s.weight = w;
        }
        if let Some(r) = se.rise {
            s.rise = r;
        }
        if let Some(f) = se.fall {
            s.fall = f;
        }
        if let Some(d) = se.interval {
            s.interval = d.0;
        }
    }
    Ok(())
}

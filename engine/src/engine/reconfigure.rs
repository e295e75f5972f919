//! [`Engine::reconfigure`]: a new configuration for a running engine (keepalived's reload).

use super::{sync, validate, Engine};
use crate::config::{Config, InstanceConfig};
use crate::instance::Instance;
use crate::io::InstanceId;
use crate::time::Instant;
use crate::types::{Family, PRIORITY_OWNER};
use core::net::IpAddr;
use serde::{Deserialize, Serialize};

/// What a reconfiguration did to each instance, by name (for logs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconfigureSummary {
    /// Same identity and the same settings: left alone (timers re-armed as keepalived does).
    pub unchanged: Vec<String>,
    /// Same identity, new settings applied in place, state kept.
    pub changed: Vec<String>,
    /// Removed and added under the same name: its identity changed, it restarted.
    pub restarted: Vec<String>,
    /// No longer configured: shut down.
    pub removed: Vec<String>,
    /// New: started.
    pub added: Vec<String>,
    /// What happened to the virtual servers (LVS).
    pub virtual_servers: crate::lvs::LvsReload,
}

/// What makes an instance the same one across a reload (keepalived's `vrrp_exist`); here
/// also `use_vmac` and `vmac_xmit_base`, which move its adverts and VIPs to other interfaces.
#[allow(clippy::type_complexity)]
fn identity(cfg: &InstanceConfig) -> (&str, Family, u8, bool, Option<IpAddr>, Option<&str>, bool) {
    let unicast = !cfg.unicast_peers.is_empty();
    (
        cfg.interface.as_str(),
        cfg.family(),
        cfg.vrid,
        unicast,
        cfg.unicast_src.filter(|_| unicast),
        cfg.use_vmac.as_deref(),
        cfg.vmac_xmit_base,
    )
}

impl Engine {
    /// Apply a new configuration at `now` (keepalived's reload, SIGHUP), with keepalived
    /// 2.2.7's semantics (`clear_diff_vrrp`, `restore_vrrp_state`, `clear_diff_script`,
    /// `vrrp_init_state`). On an error nothing changes. Drain [`Engine::poll_output`]
    /// afterwards, as after [`Engine::handle`].
    ///
    /// - An instance is the same across a reload when its interface, address family, VRID,
    ///   unicast-or-multicast mode and `unicast_src_ip` are (keepalived's `vrrp_exist`); its name
    ///   may change. It keeps its [`InstanceId`], state, VIPs and counters; every other setting
    ///   (priority, advert interval, VIP list, authentication, tracking, preempt, notify, ...)
    ///   applies in place: see below for what a Master and a Backup do. The reload itself
    ///   makes no transition and sends no priority-0 advert; a tracking verdict that changed
    ///   with the new settings (e.g. a new weight-0 script already failing) applies after it.
    /// - An instance whose identity changed (e.g. a new VRID or interface) is a removal plus an
    ///   addition: it restarts.
    /// - A removed instance shuts down as on SIGTERM (priority 0 and VIPs released if Master)
    ///   and goes to Initialize with [`Reason::Removed`](crate::Reason::Removed).
    /// - A new instance starts as at start-up (no `vrrp_startup_delay` again).
    /// - Scripts and tracked files are matched by name: a kept script keeps its status and a
    ///   run in flight; every tracked script runs again at once (keepalived queues every script
    ///   on reload). `global_defs` apply in place and touch no instance by themselves.
    ///
    /// - `vrrp_sync_group`s are matched by name and keep their state; membership and the
    ///   group's tracking follow the new file. Each group then takes the state of its
    ///   members (FAULT if one is down on its own, Master if all are Master, else Backup) and
    ///   brings them in line (keepalived 2.2.7 `vrrp_init_state`: a member that was Master in
    ///   a Backup group goes Backup, VIPs released, with Master_Down_Interval; keepalived
    ///   gives it one advert interval plus the minimal skew). A group whose state changed
    ///   notifies, except to Master (keepalived's reload notifies BACKUP and FAULT groups
    ///   only); a removed group notifies nothing and its members keep their state.
    ///
    /// The order of outputs: removed instances first (configuration order of the old file),
    /// then kept instances' VIP changes and adverts, then new instances; then the virtual
    /// servers' IPVS changes; then any state change tracking causes; then the check runs.
    ///
    /// Virtual servers follow keepalived's checker reload (`clear_diff_services`): one is kept
    /// when its service (address, port and protocol, or fwmark) is; a kept one is edited if
    /// its scheduler or persistence changed, keeps its real servers' state (in the pool or
    /// not, effective weight: a new configured `weight` of a kept real server does not apply,
    /// as in keepalived 2.2.7), removes the real servers no longer listed and adds the new
    /// ones. Checkers of kept real servers carry their up/down state over; every checker
    /// starts again 1 s (plus a part of `warmup`) after the reload.
    ///
    /// A kept Master removes the VIPs no longer configured, adds the new ones (announcing
    /// every VIP once more if any was added), then advertises at once with its new priority
    /// and restarts Adver_Timer (keepalived's `reload_master`); a kept Backup restarts
    /// Master_Down_Timer from `now` with the new priority and interval. Both take the
    /// configured interval as Master_Adver_Interval again, forget a running preempt_delay,
    /// and replace a priority set at run time ([`crate::Input::SetPriority`]) by the
    /// configured one.
    pub fn reconfigure(
        &mut self,
        now: Instant,
        config: Config,
    ) -> Result<ReconfigureSummary, validate::ConfigError> {
        validate::check_config(&config)?;
        let now = self.advance(now);
        let mut summary = ReconfigureSummary::default();
        // Slots of instances retired by an earlier reconfiguration: once no output naming
        // them is pending, one can hold a new instance of the same name, so a reload that
        // adds and removes an instance again and again does not grow the engine.
        let mut reusable: Vec<bool> = if self.out.is_empty() {
            let mut r = vec![true; self.instances.len()];
            for &n in &self.order {
                r[n as usize] = false;
            }
            r
        } else {
            vec![false; self.instances.len()]
        };

        // Match every new instance with a live one of the same identity.
        let mut matched: Vec<Option<usize>> = Vec::with_capacity(config.instances.len());
        let mut taken = vec![false; self.instances.len()];
        for cfg in &config.instances {
            let key = identity(cfg);
            let m = self
                .order
                .iter()
                .map(|&n| n as usize)
                .find(|&n| !taken[n] && identity(&self.instances[n].cfg) == key);
            if let Some(n) = m {
                taken[n] = true;
            }
            matched.push(m);
        }

        self.tracker.reconfigure(&config);

        // Sync groups over the new instances (tracking depends on them): which group each
        // new instance config joins, and whether that group has an address owner.
        let new_cfgs: Vec<&InstanceConfig> = config.instances.iter().collect();
        let (member_of, members) = sync::membership(&config.sync_groups, &new_cfgs);
        let owner: Vec<bool> = members
            .iter()
            .map(|m| m.iter().any(|&k| new_cfgs[k].priority == PRIORITY_OWNER))
            .collect();

        // Removed instances shut down first.
        for k in 0..self.order.len() {
            let n = self.order[k] as usize;
            if taken[n] {
                continue;
            }
            summary.removed.push(self.instances[n].cfg.name.clone());
            self.with_instance(n, |i, ctx| i.retire(ctx, now));
        }

        self.global = config.global;
        let mut order = Vec::with_capacity(config.instances.len());
        let mut vmacs = crate::vmac::plan(&config.instances, self.global.strict).into_iter();
        for (k, (cfg, m)) in config.instances.into_iter().zip(matched).enumerate() {
            let vmac = vmacs.next().flatten();
            match m {
                Some(n) => {
                    if self.instances[n].cfg == cfg {
                        summary.unchanged.push(cfg.name.clone());
                    } else {
                        summary.changed.push(cfg.name.clone());
                    }
                    let group =
                        member_of[k].map(|g| (&config.sync_groups[g as usize], owner[g as usize]));
                    let tracks = self.tracks_for(&cfg, group);
                    let priority = self
                        .tracker
                        .evaluate(&cfg, &tracks, cfg.priority.max(1))
                        .priority;
                    self.instances[n].src = self.tracker.source_address(&cfg);
                    self.instances[n].set_vmac(vmac);
                    self.with_instance(n, |i, ctx| i.reconfigure(ctx, now, cfg, priority));
                    order.push(n as u32);
                }
                None => {
                    summary.added.push(cfg.name.clone());
                    let slot = (0..reusable.len())
                        .find(|&n| reusable[n] && self.instances[n].cfg.name == cfg.name);
                    let id = slot.unwrap_or(self.instances.len()) as u32;
                    let mut inst = Instance::new(InstanceId(id), cfg);
                    inst.set_vmac(vmac);
                    match slot {
                        Some(n) => {
                            reusable[n] = false;
                            self.instances[n] = inst;
                        }
                        None => self.instances.push(inst),
                    }
                    order.push(id);
                }
            }
        }
        self.order = order;
        // Groups are matched by name and keep their state; tracks follow the new groups.
        let old_groups = core::mem::take(&mut self.groups);
        self.build_groups(config.sync_groups, &old_groups);
        self.rebuild_demux();
        for n in 0..self.instances.len() {
            self.rearm_instance(n);
        }
        summary.restarted = summary
            .removed
            .iter()
            .filter(|r| summary.added.contains(r))
            .cloned()
            .collect();
        summary.removed.retain(|r| !summary.restarted.contains(r));
        summary.added.retain(|a| !summary.restarted.contains(a));

        // The checker process's reload: virtual servers matched by service, state kept;
        // every checker starts again.
        summary.virtual_servers = self.lvs.reconfigure(
            &self.global,
            &config.virtual_servers,
            &config.virtual_server_groups,
            now,
            &mut self.out,
        );
        for c in 0..self.lvs.checkers.len() {
            self.rearm_checker(c);
        }

        // Groups settle on their members' states, new instances start, FAULT is
        // re-evaluated, then every tracked script runs.
        self.settle_groups(now);
        self.start_and_retrack(now);
        self.retrack_scripts(now);
        for s in 0..self.tracker.scripts.len() {
            if self.tracked_scripts[s] {
                self.schedule_script(s, Some(now));
            }
        }
        self.settle();
        Ok(summary)
    }
}

//! Tracked `virtual_routes` / `virtual_rules`: a Master whose route or rule is deleted
//! behind its back leaves for BACKUP (keepalived 2.2.7 `keepalived_netlink.c`
//! `netlink_route_filter` / `netlink_rule_filter`, `set_vrrp_backup`).
//!
//! - A route is tracked when it has a `dev` and no `no_track` (keepalived stops tracking a
//!   route without an interface, with a warning the front end repeats); a rule when it has
//!   no `no_track`.
//! - Only a Master reacts (keepalived checks the state for routes; a rule is installed only
//!   while Master, and the driver reports only deletions it did not cause).
//! - The Master sends priority 0, removes its other rules, routes and VIPs, goes Backup with
//!   Master_Down_Timer = Skew_Time, so it comes back (and installs the route again) after
//!   Skew_Time unless a router with a higher priority takes over first. Every other Master
//!   member of its sync group does the same; the group goes BACKUP without a notify
//!   (keepalived sets `sync->state` directly).

use super::Engine;
use crate::instance::Gone;
use crate::io::{InstanceId, Reason, State};
use crate::time::Instant;

impl Engine {
    /// A route or rule instance `id` installed was deleted by someone else.
    pub(super) fn handle_deleted(&mut self, now: Instant, id: InstanceId, gone: Gone) {
        if self.stopped {
            return;
        }
        let Some(inst) = self.live_mut(id) else {
            return;
        };
        if !inst.started || inst.state != State::Master {
            return;
        }
        let reason = match &gone {
            Gone::Route(r) => {
                if r.no_track || r.dev.is_none() || !inst.cfg.virtual_routes.contains(r) {
                    return;
                }
                Reason::RouteDeleted {
                    route: r.to_string(),
                }
            }
            Gone::Rule(r) => {
                if r.no_track || !inst.cfg.virtual_rules.contains(r) {
                    return;
                }
                Reason::RuleDeleted {
                    rule: r.to_string(),
                }
            }
        };
        let n = id.0 as usize;
        self.with_instance(n, |i, ctx| i.drop_to_backup(ctx, now, reason, Some(&gone)));
        self.rearm_instance(n);
        let Some(g) = self.instances[n].group.map(|g| g as usize) else {
            return;
        };
        let name = self.groups[g].cfg.name.clone();
        for k in 0..self.groups[g].members.len() {
            let m = self.groups[g].members[k] as usize;
            if m == n {
                continue;
            }
            let reason = Reason::SyncGroup {
                group: name.clone(),
            };
            self.with_instance(m, |i, ctx| i.drop_to_backup(ctx, now, reason, None));
            self.rearm_instance(m);
        }
        self.set_group_state_quiet(g, State::Backup, now, true);
    }
}

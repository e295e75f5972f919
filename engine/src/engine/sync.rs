//! `vrrp_sync_group`: members that change state together, with keepalived 2.2.7's rules
//! (`vrrp_sync.c`, the transition matrix `VRRP_TSM` of `vrrp_scheduler.c`, `down_instance` /
//! `try_up_instance`, `send_group_notifies` of `vrrp_notify.c`).
//!
//! - A member going Master (its Master_Down_Timer fired, or it is the owner) takes every
//!   other member to Master (`vrrp_sync_master`), but only when every other member wants to
//!   be Master too (`vrrp_sync_can_goto_master`): until then a member whose timer fires stays
//!   Backup, wanting Master, with its timer restarted at Master_Down_Interval. A Backup that
//!   accepts an advert no longer wants Master.
//! - A member leaving Master for Backup (it heard a higher priority) takes every other
//!   member to Backup (`vrrp_sync_backup`; no priority-0 advert for them).
//! - A member going to FAULT on its own takes every other member to FAULT
//!   (`vrrp_sync_fault`; a Master sends priority 0). The group stays in FAULT while any member
//!   is down on its own (`num_member_fault`); when the last one recovers it goes Backup and
//!   takes the others to Backup.
//! - The group changes state after its members, and each change is one
//!   [`Output::SyncGroupChanged`] (`send_group_notifies`); shutdown ends in `STOP`
//!   ([`State::Initialize`]) after the members' own stops (`notify_shutdown`).
//! - A member is in one group only (`vrrp_sync_set_group`: later groups ignore it); a group
//!   with no member is dropped; a group of one member is kept (keepalived warns "this
//!   probably isn't what you want"), so its notifies run and its member's own tracking
//!   weights are ignored like any member's.

use super::Engine;
use crate::alerts::{self, MailState};
use crate::config::{InstanceConfig, SyncGroupConfig};
use crate::instance::{Instance, SyncView};
use crate::io::{Output, State, SyncGroupChange};
use crate::time::Instant;
use crate::tracking::{GroupTracking, Tracks};
use crate::types::PRIORITY_OWNER;

/// One live sync group.
#[derive(Clone, Debug)]
pub(crate) struct SyncGroup {
    pub cfg: SyncGroupConfig,
    /// Member instances (engine indices), in the group's order.
    pub members: Vec<u32>,
    /// The group's state ([`State::Initialize`] until a member starts, and after shutdown).
    pub state: State,
    /// keepalived's `last_email_state` of the group ([`crate::alerts`]); a reload builds new
    /// groups, so it starts again.
    pub last_email: Option<MailState>,
}

/// For each instance config of `instances` (by position), the group it belongs to (index into
/// `groups`): keepalived 2.2.7 `vrrp_sync_set_group` (unknown names and instances already in
/// a group are ignored). Groups left without a member get no index.
pub(crate) fn membership(
    groups: &[SyncGroupConfig],
    instances: &[&InstanceConfig],
) -> (Vec<Option<u32>>, Vec<Vec<usize>>) {
    let mut member_of = vec![None; instances.len()];
    let mut members = vec![Vec::new(); groups.len()];
    for (g, cfg) in groups.iter().enumerate() {
        for name in &cfg.instances {
            if let Some(k) = instances.iter().position(|i| &i.name == name) {
                if member_of[k].is_none() {
                    member_of[k] = Some(g as u32);
                    members[g].push(k);
                }
            }
        }
    }
    (member_of, members)
}

impl Engine {
    /// The tracked items of instance config `cfg` in group `g` of `groups`.
    pub(super) fn tracks_for(
        &self,
        cfg: &InstanceConfig,
        group: Option<(&SyncGroupConfig, bool)>,
    ) -> Tracks {
        let group = group.map(|(cfg, has_owner)| GroupTracking { cfg, has_owner });
        Tracks::of(cfg, group, &self.tracker)
    }

    /// Sets up the groups of `configs` over the live instances (in `order`), keeping the
    /// state of a group of the same name in `old`; recomputes every live instance's tracks.
    pub(super) fn build_groups(&mut self, configs: Vec<SyncGroupConfig>, old: &[SyncGroup]) {
        let live: Vec<&InstanceConfig> = self
            .order
            .iter()
            .map(|&n| &self.instances[n as usize].cfg)
            .collect();
        let (member_of, members) = membership(&configs, &live);
        let mut index = vec![None; configs.len()];
        let mut groups = Vec::new();
        for (g, cfg) in configs.into_iter().enumerate() {
            if members[g].is_empty() {
                continue;
            }
            index[g] = Some(groups.len() as u32);
            let state = old
                .iter()
                .find(|o| o.cfg.name == cfg.name)
                .map_or(State::Initialize, |o| o.state);
            groups.push(SyncGroup {
                cfg,
                members: members[g].iter().map(|&k| self.order[k]).collect(),
                state,
                last_email: None,
            });
        }
        for inst in &mut self.instances {
            inst.group = None;
        }
        for (k, g) in member_of.iter().enumerate() {
            let n = self.order[k] as usize;
            self.instances[n].group = g.and_then(|g| index[g as usize]);
        }
        self.groups = groups;
        for k in 0..self.order.len() {
            let n = self.order[k] as usize;
            let tracks = self.tracks_of_instance(n);
            self.instances[n].tracks = tracks;
        }
    }

    /// The tracks of live instance `n` with its current group.
    pub(super) fn tracks_of_instance(&self, n: usize) -> Tracks {
        let inst = &self.instances[n];
        let group = inst.group.map(|g| {
            let g = &self.groups[g as usize];
            let has_owner = g
                .members
                .iter()
                .any(|&m| self.instances[m as usize].cfg.priority == PRIORITY_OWNER);
            (&g.cfg, has_owner)
        });
        self.tracks_for(&inst.cfg, group)
    }

    /// Member `n` went from `prev` to its current state: move its group along (keepalived's
    /// `VRRP_TSM_HANDLE` and the calls in `down_instance` / `try_up_instance`).
    pub(super) fn sync_after(&mut self, n: usize, prev: State, now: Instant) {
        let Some(g) = self.instances[n].group.map(|g| g as usize) else {
            return;
        };
        let cur = self.instances[n].state;
        if cur == prev {
            return;
        }
        let group = self.groups[g].state;
        let own_fault = self.instances[n].fault.is_some();
        let may_master = view(&self.instances, &self.groups, n, &[]).is_some_and(|v| v.may_master);
        match (prev, cur) {
            // TSM B->M, F->M: `vrrp_sync_master`.
            (_, State::Master) if group != State::Master && may_master => {
                self.sync_members(g, n, State::Master, now);
            }
            // TSM M->B: `vrrp_sync_backup`; F->B: `try_up_instance` calls it too.
            (State::Master | State::Fault, State::Backup) if group != State::Backup => {
                self.sync_members(g, n, State::Backup, now);
            }
            // The first member to start: `vrrp_init_state` notifies a BACKUP group.
            (State::Initialize, State::Backup) if group == State::Initialize => {
                self.set_group_state(g, State::Backup, now);
            }
            // `down_instance`: the first member down takes the group to FAULT.
            (_, State::Fault) if own_fault && group != State::Fault => {
                self.sync_members(g, n, State::Fault, now);
            }
            _ => {}
        }
    }

    /// Takes every member but `n` to `to`, in the group's order, then the group.
    fn sync_members(&mut self, g: usize, n: usize, to: State, now: Instant) {
        let name = self.groups[g].cfg.name.clone();
        for k in 0..self.groups[g].members.len() {
            let m = self.groups[g].members[k] as usize;
            if m == n {
                continue;
            }
            self.with_instance(m, |i, ctx| i.sync_to(ctx, now, to, &name));
            self.rearm_instance(m);
        }
        self.set_group_state(g, to, now);
    }

    /// The group's new state and its notify output.
    fn set_group_state(&mut self, g: usize, to: State, now: Instant) {
        self.set_group_state_quiet(g, to, now, false);
    }

    /// The group's new state, with its notify output unless `quiet`.
    pub(super) fn set_group_state_quiet(&mut self, g: usize, to: State, now: Instant, quiet: bool) {
        let group = &mut self.groups[g];
        let from = group.state;
        if from == to {
            return;
        }
        group.state = to;
        if quiet {
            return;
        }
        self.out
            .push_back(Output::SyncGroupChanged(SyncGroupChange {
                group: group.cfg.name.clone(),
                from,
                to,
                at: now,
            }));
        // `send_group_notifies` ends with `vrrp_sync_smtp_notifier`.
        let alert = alerts::group_alert(&self.global, &group.cfg, &mut group.last_email, to);
        self.out.extend(alert.map(Output::Alert));
    }

    /// Shutdown: every group that ran goes to `STOP` after its members (`notify_shutdown`).
    pub(super) fn stop_groups(&mut self, now: Instant) {
        for g in 0..self.groups.len() {
            if self.groups[g].state != State::Initialize {
                self.set_group_state(g, State::Initialize, now);
            }
        }
    }

    /// After a reload: each group's state from its members (FAULT if one is down on its own,
    /// Master if all are Master, else Backup), members brought in line (keepalived 2.2.7
    /// `vrrp_complete_init` and `vrrp_init_state`: a Master member of a Backup group goes
    /// Backup), and a notify when the state differs from that of the group of the same name
    /// before the reload (`set_previous_sync_group_states`), unless it is Master. A group not yet started is left
    /// to its members' start.
    pub(super) fn settle_groups(&mut self, now: Instant) {
        for g in 0..self.groups.len() {
            let members: Vec<usize> = self.groups[g]
                .members
                .iter()
                .map(|&m| m as usize)
                .filter(|&m| self.instances[m].started)
                .collect();
            if members.is_empty() {
                continue;
            }
            let inst = |m: usize| &self.instances[m];
            let to = if members.iter().any(|&m| inst(m).fault.is_some()) {
                State::Fault
            } else if members.iter().all(|&m| inst(m).state == State::Master) {
                State::Master
            } else {
                State::Backup
            };
            let name = self.groups[g].cfg.name.clone();
            for &m in &members {
                let state = self.instances[m].state;
                let bring = match to {
                    State::Fault => state != State::Fault,
                    State::Backup => state != State::Backup,
                    _ => false,
                };
                if bring {
                    self.with_instance(m, |i, ctx| i.sync_to(ctx, now, to, &name));
                    self.rearm_instance(m);
                }
            }
            // `vrrp_init_state` notifies FAULT and BACKUP groups only.
            self.set_group_state_quiet(g, to, now, to == State::Master);
        }
    }

    /// The configuration of the live `vrrp_sync_group` called `name` (what a driver needs to
    /// run the notifies of an [`Output::SyncGroupChanged`]).
    pub fn sync_group_config(&self, name: &str) -> Option<&SyncGroupConfig> {
        self.groups.iter().map(|g| &g.cfg).find(|g| g.name == name)
    }
}

/// What member `n` sees of its group; `starting` marks instances starting in this event
/// (their own fault already set), which count as started.
pub(super) fn view<'g>(
    instances: &[Instance],
    groups: &'g [SyncGroup],
    n: usize,
    starting: &[bool],
) -> Option<SyncView<'g>> {
    let g = &groups[instances[n].group? as usize];
    let others = g.members.iter().map(|&m| m as usize).filter(|&m| m != n);
    let up = |m: usize| instances[m].started || starting.get(m).copied().unwrap_or(false);
    Some(SyncView {
        name: &g.cfg.name,
        may_master: g.state == State::Master || others.clone().all(|m| instances[m].want_master),
        held_fault: others
            .filter(|&m| up(m))
            .any(|m| instances[m].fault.is_some()),
    })
}

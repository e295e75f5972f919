//! The state machine of one virtual router (RFC 5798 §6.4, RFC 3768 §6.4, RFC 9568 §6.4),
//! plus keepalived's FAULT state.

use crate::alerts::{self, MailState};
use crate::announce::AnnouncePlan;
use crate::config::{AuthConfig, GlobalConfig, InitialState, InstanceConfig, VirtualAddress};
use crate::counters::{DiscardReason, InstanceCounters};
use crate::io::{FaultCause, InstanceId, Output, Reason, State, StateChange, Transmit};
use crate::snapshot::Takeover;
use crate::time::Instant;
use crate::timing::{
    interval_from_wire, interval_to_wire, master_down_interval, normalize_interval, skew_time,
};
use crate::tracking::{Tracks, Verdict};
use crate::types::{Family, Version, PRIORITY_OWNER, PRIORITY_STOP, VRRP_TTL};
use crate::vmac::Vmac;
use crate::wire::{Advert, Auth, Packet, AUTH_AH, AUTH_NONE, AUTH_PASS};
use core::net::IpAddr;
use core::time::Duration;
use std::collections::VecDeque;
use std::sync::Arc;

mod accept;

/// What an instance needs from its host while handling one event.
pub(crate) struct Ctx<'a> {
    pub out: &'a mut VecDeque<Output>,
    pub global: &'a GlobalConfig,
    /// The address adverts are sent from and ties are broken with.
    pub src: Option<IpAddr>,
    /// The instance's sync group, if any, as its members see it.
    pub sync: Option<SyncView<'a>>,
}

/// What a member needs to know of its sync group (keepalived 2.2.7 `vrrp_sync.c`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SyncView<'a> {
    /// The group's name.
    pub name: &'a str,
    /// `vrrp_sync_can_goto_master`: the group is Master, or every other member wants to be.
    pub may_master: bool,
    /// Another member is down on its own (keepalived's `num_member_fault`): stay in FAULT.
    pub held_fault: bool,
}

/// A tracked route or rule deleted behind a Master's back ([`Instance::drop_to_backup`]).
#[derive(Clone, Debug)]
pub(crate) enum Gone {
    /// A `virtual_routes` line.
    Route(crate::config::VirtualRoute),
    /// A `virtual_rules` line.
    Rule(crate::config::VirtualRule),
}

/// One virtual router.
#[derive(Clone, Debug)]
pub(crate) struct Instance {
    pub id: InstanceId,
    pub cfg: InstanceConfig,
    pub iface: Arc<str>,
    /// Where adverts go and come ([`crate::vmac::Vmac::advert_interface`]; `iface`
    /// without `use_vmac`).
    pub advert_iface: Arc<str>,
    /// Its macvlan (`use_vmac`), from [`crate::vmac::plan`].
    pub vmac: Option<Vmac>,
    pub family: Family,
    /// The address adverts go from (cached from the tracker on every interface change).
    pub src: Option<IpAddr>,
    pub state: State,
    /// Whether start-up has happened (Initialize is also the state after shutdown).
    pub started: bool,
    /// Configured priority, changed by [`crate::Input::SetPriority`].
    pub base_priority: u8,
    /// Priority after tracking (RFC "Priority" in every formula).
    pub priority: u8,
    pub fault: Option<FaultCause>,
    /// Advertisement_Interval as the wire carries it.
    pub adver_interval: Duration,
    /// Master_Adver_Interval: learned from the Master in v3 (RFC 5798 §6.4.2).
    pub master_adver_interval: Duration,
    pub adver_timer: Option<Instant>,
    pub master_down_timer: Option<Instant>,
    /// keepalived's preempt_delay: lower-priority adverts are accepted until then.
    pub preempt_until: Option<Instant>,
    pub master_addr: Option<IpAddr>,
    pub master_priority: Option<u8>,
    pub announce: AnnouncePlan,
    pub counters: InstanceCounters,
    pub vips_installed: bool,
    pub last_transition: Option<Instant>,
    /// The last sign of another Master while Backup: its last advert accepted, or entering
    /// BACKUP ([`crate::snapshot::Takeover`]).
    pub master_heard: Option<Instant>,
    /// The last BACKUP -> MASTER transition.
    pub last_takeover: Option<Takeover>,
    /// The deadline this instance has on the engine's heap (entries that differ are stale).
    pub armed: Option<Instant>,
    /// Removed by a reconfiguration: inert, kept so outputs naming it resolve (its slot may
    /// go to a new instance of the same name at a later reconfiguration).
    pub retired: bool,
    /// What it tracks, its sync group taken into account.
    pub tracks: Tracks,
    /// Its sync group (index into the engine's groups), if any.
    pub group: Option<u32>,
    /// keepalived's `wantstate == MASTER`: it would be Master but for its sync group (its
    /// Master_Down_Timer fired), or is Master.
    pub want_master: bool,
    /// keepalived's `wantstate == MASTER` at start-up (`state MASTER`, or priority 255 with no
    /// `state`): an address owner with it becomes Master at once when it comes up, and
    /// loses it on its first fault or reload ([`Instance::owner_may_master`]).
    owner_wants_master: bool,
    /// keepalived's `last_email_state` ([`crate::alerts`]).
    last_email: Option<MailState>,
    expected_auth: Auth,
    /// Our VIPs, sorted, for the address-list check (RFC 5798 §7.1).
    vip_set: Vec<IpAddr>,
    /// The VIPs whose traffic is dropped now (Accept_Mode off, [`accept`]).
    blocked: Vec<crate::io::BlockedVip>,
    /// The last Master_Down_Interval computed and its inputs (version, priority,
    /// Master_Adver_Interval): a Backup needs it on every advert, and they rarely change.
    mdi_memo: ((Version, u8, Duration), Duration),
}

impl Instance {
    pub fn new(id: InstanceId, cfg: InstanceConfig) -> Self {
        let adver_interval = normalize_interval(cfg.version, cfg.advert_interval);
        let mut inst = Instance {
            id,
            iface: Arc::from(cfg.interface.as_str()),
            advert_iface: Arc::from(cfg.interface.as_str()),
            vmac: None,
            family: cfg.family(),
            src: None,
            state: State::Initialize,
            started: false,
            base_priority: cfg.priority.max(1),
            priority: cfg.priority.max(1),
            fault: None,
            adver_interval,
            master_adver_interval: adver_interval,
            mdi_memo: ((cfg.version, 0, Duration::ZERO), Duration::ZERO),
            adver_timer: None,
            master_down_timer: None,
            preempt_until: None,
            master_addr: None,
            master_priority: None,
            announce: AnnouncePlan::default(),
            counters: InstanceCounters::default(),
            vips_installed: false,
            last_transition: None,
            master_heard: None,
            last_takeover: None,
            armed: None,
            retired: false,
            tracks: Tracks::default(),
            group: None,
            want_master: false,
            owner_wants_master: false,
            last_email: None,
            expected_auth: Auth::None,
            vip_set: Vec::new(),
            blocked: Vec::new(),
            cfg,
        };
        inst.derive_from_config();
        inst
    }

    /// Recomputes what the instance derives from its configuration.
    fn derive_from_config(&mut self) {
        let cfg = &self.cfg;
        self.adver_interval = normalize_interval(cfg.version, cfg.advert_interval);
        self.expected_auth = match (&cfg.version, &cfg.auth) {
            (Version::V2, Some(AuthConfig::Pass(p))) => Auth::pass(p),
            (Version::V2, Some(AuthConfig::Ah)) => Auth::Other {
                kind: AUTH_AH,
                data: [0; 8],
            },
            _ => Auth::None,
        };
        self.vip_set = cfg.vips.iter().map(|v| v.addr).collect();
        self.vip_set.sort_unstable();
        self.iface = Arc::from(cfg.interface.as_str());
        self.family = cfg.family();
    }

    /// Sets the instance's macvlan (`use_vmac`): adverts then go and come on it (or on the
    /// base with `vmac_xmit_base`), and its VIPs go on it ([`Instance::vip_interface`]).
    pub fn set_vmac(&mut self, vmac: Option<Vmac>) {
        self.advert_iface = match &vmac {
            Some(v) => Arc::from(v.advert_interface()),
            None => self.iface.clone(),
        };
        self.vmac = vmac;
    }

    /// keepalived's reload of a running instance (2.2.7 `clear_diff_vrrp`,
    /// `restore_vrrp_state`, `vrrp_init_instance_sands`): the state is kept and the new
    /// settings apply in place. A Master removes the VIPs no longer configured, adds the new
    /// ones (announcing every VIP once more if any was added), then advertises at once with
    /// its new priority and restarts Adver_Timer; a Backup restarts Master_Down_Timer with the
    /// new priority and interval. Master_Adver_Interval goes back to the configured interval
    /// and a running preempt_delay is forgotten. A priority set at run time is replaced by
    /// the configured one.
    pub fn reconfigure(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        cfg: InstanceConfig,
        priority: u8,
    ) {
        let old_vips: Vec<VirtualAddress> = self.all_vips().cloned().collect();
        let old_routes = core::mem::take(&mut self.cfg.virtual_routes);
        let old_rules = core::mem::take(&mut self.cfg.virtual_rules);
        let old_vip_ifaces: Vec<Arc<str>> =
            old_vips.iter().map(|v| self.vip_interface(v)).collect();
        self.cfg = cfg;
        self.derive_from_config();
        // keepalived's reload builds a new instance: `last_email_state` starts again.
        self.last_email = None;
        self.base_priority = self.cfg.priority.max(1);
        self.priority = priority;
        self.master_adver_interval = self.adver_interval;
        self.preempt_until = None;
        // keepalived's reload sets wantstate to the state kept.
        self.want_master = self.state == State::Master;
        // keepalived 2.2.7 `vrrp_complete_init` on reload: wantstate is the state kept, but
        // for an instance in FAULT ("If we have detected a fault, don't override it"), which
        // keeps the configured one.
        self.owner_wants_master = match self.state {
            State::Master => true,
            State::Backup => false,
            State::Fault | State::Initialize => self.cfg.initial_state == InitialState::Master,
        };
        match self.state {
            State::Master => {
                // keepalived 2.2.7 `clear_diff_vrrp`: rules, routes, then VIPs no longer
                // configured are removed; `restore_vrrp_state` adds the new VIPs, routes,
                // then rules.
                for rule in old_rules
                    .iter()
                    .filter(|r| !self.cfg.virtual_rules.contains(r))
                {
                    ctx.out.push_back(Output::RemoveRule {
                        instance: self.id,
                        rule: rule.clone(),
                    });
                }
                for route in old_routes
                    .iter()
                    .filter(|r| !self.cfg.virtual_routes.contains(r))
                {
                    ctx.out.push_back(Output::RemoveRoute {
                        instance: self.id,
                        route: route.clone(),
                    });
                }
                for (vip, interface) in old_vips.iter().zip(old_vip_ifaces) {
                    if !self.all_vips().any(|v| v == vip) {
                        ctx.out.push_back(Output::RemoveVip {
                            instance: self.id,
                            interface,
                            vip: vip.clone(),
                        });
                    }
                }
                self.refilter(ctx);
                let added: Vec<VirtualAddress> = self
                    .all_vips()
                    .filter(|v| !old_vips.contains(v))
                    .cloned()
                    .collect();
                for vip in &added {
                    ctx.out.push_back(Output::AddVip {
                        instance: self.id,
                        interface: self.vip_interface(vip),
                        vip: vip.clone(),
                    });
                }
                for route in self
                    .cfg
                    .virtual_routes
                    .iter()
                    .filter(|r| !old_routes.contains(r))
                {
                    ctx.out.push_back(Output::AddRoute {
                        instance: self.id,
                        route: route.clone(),
                    });
                }
                for rule in self
                    .cfg
                    .virtual_rules
                    .iter()
                    .filter(|r| !old_rules.contains(r))
                {
                    ctx.out.push_back(Output::AddRule {
                        instance: self.id,
                        rule: rule.clone(),
                    });
                }
                if !added.is_empty() {
                    self.announce_rounds(ctx, self.cfg.garp.master_repeat);
                    self.announce.restart_refresh(now, &self.cfg.garp);
                }
                self.send_advert(ctx, self.priority);
                self.adver_timer = Some(now + self.adver_interval);
                self.master_priority = Some(self.priority);
            }
            State::Backup => {
                self.master_down_timer = Some(now + self.master_down_interval());
            }
            State::Initialize | State::Fault => {}
        }
    }

    /// A reconfiguration removed this instance: shut it down as on the Shutdown event (a
    /// Master sends priority 0 and releases its VIPs, as keepalived's `clear_diff_vrrp` does)
    /// and make it inert.
    pub fn retire(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        self.stop(ctx, now, Reason::Removed);
        self.started = true;
        self.retired = true;
        self.armed = None;
    }

    /// The VIPs and excluded VIPs, in configuration order.
    fn all_vips(&self) -> impl Iterator<Item = &VirtualAddress> {
        self.cfg.vips.iter().chain(&self.cfg.vips_excluded)
    }

    /// Skew_Time with the current priority and Master_Adver_Interval.
    pub fn skew_time(&self) -> Duration {
        skew_time(self.cfg.version, self.priority, self.master_adver_interval)
    }

    /// Master_Down_Interval with the current priority and Master_Adver_Interval.
    pub fn master_down_interval(&self) -> Duration {
        master_down_interval(self.cfg.version, self.priority, self.master_adver_interval)
    }

    /// [`Instance::master_down_interval`], remembered until its inputs change: the receive
    /// path's form (a Backup restarts Master_Down_Timer on every advert).
    fn master_down_interval_memo(&mut self) -> Duration {
        let key = (self.cfg.version, self.priority, self.master_adver_interval);
        if self.mdi_memo.0 != key {
            self.mdi_memo = (key, master_down_interval(key.0, key.1, key.2));
        }
        self.mdi_memo.1
    }

    /// The earliest pending timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.adver_timer,
            self.master_down_timer,
            self.announce.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn transition(&mut self, ctx: &mut Ctx<'_>, now: Instant, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.last_transition = Some(now);
        match (from, to) {
            (State::Backup, State::Master) => {
                self.last_takeover = Some(Takeover {
                    since: self.master_heard.unwrap_or(now),
                    at: now,
                })
            }
            // Entering BACKUP is where the wait for a Master's advert starts.
            (_, State::Backup) => self.master_heard = Some(now),
            _ => {}
        }
        let alert = alerts::instance_alert(
            ctx.global,
            &self.cfg,
            &mut self.last_email,
            from,
            to,
            &reason,
        );
        ctx.out.push_back(Output::StateChanged(StateChange {
            instance: self.id,
            from,
            to,
            reason,
            priority: self.priority,
            at: now,
        }));
        ctx.out.extend(alert.map(Output::Alert));
    }

    /// Send one advert with `priority` to the group or to every unicast peer.
    fn send_advert(&mut self, ctx: &mut Ctx<'_>, priority: u8) {
        let Some(src) = ctx.src else { return };
        let advert = Advert {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority,
            interval: interval_to_wire(self.cfg.version, self.adver_interval),
            auth: self.expected_auth.clone(),
            addrs: self.cfg.vips.iter().map(|v| v.addr).collect(),
        };
        let group = [self.family.multicast_group()];
        let (dsts, ttl): (&[IpAddr], u8) = if self.cfg.unicast_peers.is_empty() {
            (&group, VRRP_TTL)
        } else {
            // keepalived's `unicast_ttl` (its default for IPv4 is 255, RFC 5798 §5.1.1.3).
            (
                &self.cfg.unicast_peers,
                self.cfg.unicast_ttl.unwrap_or(VRRP_TTL),
            )
        };
        for &dst in dsts {
            let payload = advert.emit(src, dst, self.cfg.checksum_mode);
            self.counters.adverts_sent += 1;
            if priority == PRIORITY_STOP {
                self.counters.priority_zero_sent += 1;
            }
            ctx.out.push_back(Output::Transmit(Transmit {
                instance: self.id,
                interface: self.advert_iface.clone(),
                src,
                dst,
                ttl,
                payload,
            }));
        }
    }

    /// The interface a VIP goes on: its `dev`, else the instance's; with `use_vmac`, a VIP
    /// of the instance's family without `dev` (or with `dev` = the instance's interface) goes
    /// on the macvlan (keepalived 2.2.7 `vrrp_complete_instance`).
    fn vip_interface(&self, vip: &VirtualAddress) -> Arc<str> {
        let own = vip.dev.as_deref().is_none_or(|d| d == &*self.iface);
        match (&self.vmac, own) {
            (Some(v), true) if Family::of(&vip.addr) == self.family => Arc::from(v.name.as_str()),
            (_, true) => self.iface.clone(),
            (_, false) => Arc::from(vip.dev.as_deref().unwrap_or_default()),
        }
    }

    /// The VIPs, then the virtual routes, then the virtual rules (keepalived 2.2.7
    /// `vrrp_state_become_master`).
    fn install_vips(&mut self, ctx: &mut Ctx<'_>) {
        for vip in self.cfg.vips.iter().chain(&self.cfg.vips_excluded) {
            ctx.out.push_back(Output::AddVip {
                instance: self.id,
                interface: self.vip_interface(vip),
                vip: vip.clone(),
            });
        }
        for route in &self.cfg.virtual_routes {
            ctx.out.push_back(Output::AddRoute {
                instance: self.id,
                route: route.clone(),
            });
        }
        for rule in &self.cfg.virtual_rules {
            ctx.out.push_back(Output::AddRule {
                instance: self.id,
                rule: rule.clone(),
            });
        }
        self.vips_installed = true;
    }

    /// The virtual rules, then the virtual routes, then the VIPs (keepalived 2.2.7
    /// `vrrp_restore_interface`).
    fn remove_vips(&mut self, ctx: &mut Ctx<'_>) {
        self.remove_vips_but(ctx, None);
    }

    /// [`Instance::remove_vips`] but for a route or rule already gone (keepalived marks it
    /// not `set` before `set_vrrp_backup`, so it is not deleted again).
    fn remove_vips_but(&mut self, ctx: &mut Ctx<'_>, gone: Option<&Gone>) {
        if !self.vips_installed {
            return;
        }
        for rule in &self.cfg.virtual_rules {
            if matches!(gone, Some(Gone::Rule(r)) if r == rule) {
                continue;
            }
            ctx.out.push_back(Output::RemoveRule {
                instance: self.id,
                rule: rule.clone(),
            });
        }
        for route in &self.cfg.virtual_routes {
            if matches!(gone, Some(Gone::Route(r)) if r == route) {
                continue;
            }
            ctx.out.push_back(Output::RemoveRoute {
                instance: self.id,
                route: route.clone(),
            });
        }
        for vip in self.cfg.vips.iter().chain(&self.cfg.vips_excluded) {
            ctx.out.push_back(Output::RemoveVip {
                instance: self.id,
                interface: self.vip_interface(vip),
                vip: vip.clone(),
            });
        }
        self.vips_installed = false;
    }

    fn announce_rounds(&mut self, ctx: &mut Ctx<'_>, rounds: u32) {
        for _ in 0..rounds {
            for vip in self.cfg.vips.iter().chain(&self.cfg.vips_excluded) {
                ctx.out.push_back(Output::Announce {
                    instance: self.id,
                    interface: self.vip_interface(vip),
                    addr: vip.addr,
                });
            }
        }
    }

    fn announce_spacing(&self, global: &GlobalConfig) -> Duration {
        match self.family {
            Family::Ipv4 => global.garp_interval,
            Family::Ipv6 => global.gna_interval,
        }
    }

    /// RFC 5798 §6.4.1 (owner) and §6.4.2 (Master_Down_Timer fired): send an advert,
    /// announce the VIPs, set Adver_Timer, become Master.
    ///
    /// The advert goes first, then the state change, the VIPs and their announcements, as
    /// keepalived 2.2.7 does (`vrrp_state_master_tx`: "the old master needs to remove the VIPs
    /// before we send the gratuitous ARPs, so send the advert first").
    fn become_master(&mut self, ctx: &mut Ctx<'_>, now: Instant, reason: Reason) {
        self.send_advert(ctx, self.priority);
        self.transition(ctx, now, State::Master, reason);
        self.block_vips(ctx);
        self.install_vips(ctx);
        self.announce.start(now, &self.cfg.garp);
        let rounds = self
            .announce
            .take_due(now, &self.cfg.garp, self.announce_spacing(ctx.global));
        self.announce_rounds(ctx, rounds);
        self.adver_timer = Some(now + self.adver_interval);
        self.master_down_timer = None;
        self.preempt_until = None;
        self.master_addr = ctx.src;
        self.master_priority = Some(self.priority);
        self.counters.became_master += 1;
        self.want_master = true;
    }

    /// Stop being Master: release VIPs, stop announcing and advertising.
    fn leave_master(&mut self, ctx: &mut Ctx<'_>) {
        self.adver_timer = None;
        self.announce.stop();
        self.remove_vips(ctx);
        self.unblock_vips(ctx, &[]);
    }

    /// keepalived 2.2.7 `set_vrrp_backup`, when a tracked route or rule of a Master was
    /// deleted behind its back (`gone`; `None` for the other Master members of its sync
    /// group): a priority-0 advert, the rules, routes (but `gone`) and VIPs removed
    /// (`vrrp_state_leave_master(vrrp, true)`), Backup, and Master_Down_Timer set to
    /// Skew_Time "for a quick transition back to master": it takes over again after
    /// Skew_Time unless a Master's advert comes first, and installs everything again.
    pub fn drop_to_backup(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        reason: Reason,
        gone: Option<&Gone>,
    ) {
        if self.state != State::Master {
            return;
        }
        self.send_advert(ctx, PRIORITY_STOP);
        self.adver_timer = None;
        self.announce.stop();
        self.remove_vips_but(ctx, gone);
        self.unblock_vips(ctx, &[]);
        self.transition(ctx, now, State::Backup, reason);
        self.preempt_until = None;
        self.master_addr = None;
        self.master_priority = None;
        self.master_down_timer = Some(now + self.skew_time());
        self.want_master = false;
    }

    /// RFC 5798 §6.4.1 / §6.4.3: become Backup with Master_Down_Timer = Master_Down_Interval.
    fn become_backup(&mut self, ctx: &mut Ctx<'_>, now: Instant, reason: Reason) {
        if self.state == State::Master {
            self.leave_master(ctx);
        }
        self.transition(ctx, now, State::Backup, reason);
        self.master_down_timer = Some(now + self.master_down_interval());
        self.want_master = false;
    }

    /// keepalived's FAULT: a Master first hands over with priority 0 (as on shutdown) so a
    /// Backup takes over after Skew_Time rather than Master_Down_Interval.
    ///
    /// `adverts` priority-0 adverts go out back to back: keepalived 2.2.7 sends two on its
    /// own fault (`down_instance` calls `vrrp_state_leave_master(vrrp, true)`, which sends
    /// one for "Entering FAULT STATE" and `vrrp_restore_interface(advF)` another) and one
    /// when its sync group moves it (`vrrp_sync_fault`: `vrrp_state_leave_master(isync,
    /// false)`).
    fn enter_fault(&mut self, ctx: &mut Ctx<'_>, now: Instant, reason: Reason, adverts: u8) {
        if self.state == State::Master {
            for _ in 0..adverts {
                self.send_advert(ctx, PRIORITY_STOP);
            }
            self.leave_master(ctx);
        }
        self.master_down_timer = None;
        self.preempt_until = None;
        self.master_addr = None;
        self.master_priority = None;
        self.want_master = false;
        self.transition(ctx, now, State::Fault, reason);
    }

    /// Moved by its sync group to `to` (keepalived 2.2.7 `vrrp_sync.c`): to Master as on
    /// Master_Down_Timer (`vrrp_state_goto_master`); to Backup from Master without a
    /// priority-0 advert (`vrrp_state_leave_master(isync, false)`) or out of FAULT
    /// (`vrrp_state_leave_fault`); to FAULT as on its own fault (a Master sends priority 0).
    pub fn sync_to(&mut self, ctx: &mut Ctx<'_>, now: Instant, to: State, group: &str) {
        if self.state == to || !self.started || self.state == State::Initialize {
            return;
        }
        let reason = Reason::SyncGroup {
            group: group.to_string(),
        };
        match to {
            State::Master => {
                if self.state == State::Fault {
                    self.master_adver_interval = self.adver_interval;
                }
                self.become_master(ctx, now, reason);
            }
            State::Backup => {
                if self.state == State::Fault {
                    self.master_adver_interval = self.adver_interval;
                }
                self.become_backup(ctx, now, reason);
            }
            State::Fault => self.enter_fault(ctx, now, reason, 1),
            State::Initialize => {}
        }
    }

    /// Whether the owner rule (RFC 5798 §6.4.1: priority 255 becomes Master at once) applies.
    /// keepalived 2.2.7 applies it only to an owner that wants MASTER (`vrrp_init_state`,
    /// `try_up_instance`): `state BACKUP` at 255 waits Master_Down_Interval like any Backup,
    /// and so does an owner coming out of a fault it entered while running. Not in a sync
    /// group that cannot go Master (`vrrp_sync_can_goto_master`).
    fn owner_may_master(&self, ctx: &Ctx<'_>) -> bool {
        self.base_priority == PRIORITY_OWNER
            && self.owner_wants_master
            && ctx.sync.is_none_or(|g| g.may_master)
    }

    /// The start-up event (RFC 5798 §6.4.1): the owner becomes Master at once, any other
    /// router Backup. `state MASTER` below 255 starts as Backup too, as keepalived 2.2.7 does
    /// (the captured fixture shows its first advert one Master_Down_Interval after start).
    pub fn start(&mut self, ctx: &mut Ctx<'_>, now: Instant, verdict: Verdict) {
        self.started = true;
        self.owner_wants_master = self.cfg.initial_state == InitialState::Master;
        self.priority = verdict.priority;
        self.fault = verdict.fault.clone();
        self.master_adver_interval = self.adver_interval;
        if let Some(cause) = verdict.fault {
            self.enter_fault(ctx, now, Reason::Fault { cause }, 2);
        } else if let Some(g) = ctx.sync.filter(|g| g.held_fault) {
            // keepalived 2.2.7 `vrrp_complete_init`: "Set all sync group members to fault
            // state if sync group is in fault state".
            let group = g.name.to_string();
            self.enter_fault(ctx, now, Reason::SyncGroup { group }, 2);
        } else if self.owner_may_master(ctx) {
            self.become_master(ctx, now, Reason::AddressOwner);
        } else {
            self.become_backup(ctx, now, Reason::Startup);
        }
    }

    /// The shutdown event (RFC 5798 §6.4.2 / §6.4.3): a Master sends priority 0 and
    /// releases its VIPs; every state goes to Initialize.
    pub fn shutdown(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        self.stop(ctx, now, Reason::Shutdown);
    }

    /// Shutdown, or removal with `reason`.
    fn stop(&mut self, ctx: &mut Ctx<'_>, now: Instant, reason: Reason) {
        if self.state == State::Master {
            self.send_advert(ctx, PRIORITY_STOP);
            self.leave_master(ctx);
        }
        self.master_down_timer = None;
        self.preempt_until = None;
        if self.state != State::Initialize {
            self.transition(ctx, now, State::Initialize, reason);
        }
    }

    /// Set the effective priority, reporting a change. A Backup's running Master_Down_Timer
    /// moves with it: RFC 3768 §6.1 / RFC 5798 §6.1 define Skew_Time from the current
    /// priority, and keepalived 2.2.7 `vrrp_set_effective_priority` moves the timer by the
    /// change of Master_Down_Interval, so it fires as if started at the new priority.
    fn set_priority(&mut self, ctx: &mut Ctx<'_>, now: Instant, priority: u8) {
        if priority == self.priority {
            return;
        }
        ctx.out
            .push_back(Output::PriorityChanged(crate::io::PriorityChange {
                instance: self.id,
                from: self.priority,
                to: priority,
                at: now,
            }));
        let old_down = self.master_down_interval();
        self.priority = priority;
        if let (State::Backup, Some(at)) = (self.state, self.master_down_timer) {
            let new_down = self.master_down_interval();
            self.master_down_timer = Some(if new_down >= old_down {
                at + (new_down - old_down)
            } else {
                Instant::from_offset(at.offset().saturating_sub(old_down - new_down))
            });
        }
    }

    /// Apply a new tracking verdict: priority, and entering or leaving FAULT.
    pub fn apply_verdict(&mut self, ctx: &mut Ctx<'_>, now: Instant, verdict: Verdict) {
        self.set_priority(ctx, now, verdict.priority);
        self.fault = verdict.fault.clone();
        match (self.state, verdict.fault) {
            (State::Backup | State::Master, Some(cause)) => {
                // keepalived 2.2.7 `down_instance` sets wantstate to FAULT, so
                // `try_up_instance` later brings even an owner up as Backup.
                self.owner_wants_master = false;
                self.enter_fault(ctx, now, Reason::Fault { cause }, 2)
            }
            // keepalived 2.2.7 `try_up_instance`: a member stays down while another member
            // of its group is (`num_member_fault`).
            (State::Fault, None) if ctx.sync.is_some_and(|g| g.held_fault) => {}
            (State::Fault, None) => {
                self.master_adver_interval = self.adver_interval;
                if self.owner_may_master(ctx) {
                    self.become_master(ctx, now, Reason::FaultCleared);
                } else {
                    self.become_backup(ctx, now, Reason::FaultCleared);
                }
            }
            _ => {}
        }
    }

    /// Run every timer due at `now`.
    pub fn on_timeout(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        // Each pass handles one due timer; a bound guards against a zero interval.
        for _ in 0..64 {
            match self.state {
                State::Master => {
                    if let Some(at) = self.announce.next_deadline().filter(|&at| at <= now) {
                        let rounds = self.announce.take_due(
                            at.max(now),
                            &self.cfg.garp,
                            self.announce_spacing(ctx.global),
                        );
                        self.announce_rounds(ctx, rounds);
                        continue;
                    }
                    if let Some(at) = self.adver_timer.filter(|&at| at <= now) {
                        // RFC 5798 §6.4.3: Adver_Timer fired: send an advert, reset the timer.
                        // Rescheduled from the deadline, not from `now`, so a late driver
                        // does not make the Master drift.
                        self.send_advert(ctx, self.priority);
                        let next = at + self.adver_interval;
                        self.adver_timer = Some(if next > now {
                            next
                        } else {
                            now + self.adver_interval
                        });
                        continue;
                    }
                }
                State::Backup => {
                    if self.master_down_timer.is_some_and(|at| at <= now) {
                        if ctx.sync.is_some_and(|g| !g.may_master) {
                            // keepalived 2.2.7 `vrrp_sync_can_goto_master`: "Only sync to
                            // master if everyone wants to": stay Backup wanting Master, the
                            // timer restarted at Master_Down_Interval.
                            self.want_master = true;
                            self.master_down_timer = Some(now + self.master_down_interval());
                            continue;
                        }
                        // RFC 5798 §6.4.2: Master_Down_Timer fired.
                        self.become_master(ctx, now, Reason::MasterDown);
                        continue;
                    }
                }
                State::Initialize | State::Fault => {}
            }
            break;
        }
    }

    /// Count a discarded packet.
    pub fn discard(&mut self, reason: DiscardReason) {
        self.counters.discarded.count(reason);
    }

    /// A structurally valid advert for this instance arrived: RFC 5798 §7.1 checks, then the
    /// state's rules (§6.4.2 Backup, §6.4.3 Master). Returns the anomalies it counts: one for
    /// a discard (but not of our own looped advert or for an inactive instance), one for an
    /// owner's advert with another address list.
    pub fn receive(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        pkt: &Packet<&[u8]>,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
    ) -> u64 {
        let mismatches = self.counters.address_list_mismatch;
        let validated = self.validate(ctx, pkt, src, dst, ttl);
        let mut anomalies = self.counters.address_list_mismatch - mismatches;
        if let Err(reason) = validated {
            self.discard(reason);
            anomalies += u64::from(!matches!(
                reason,
                DiscardReason::Own | DiscardReason::Inactive
            ));
            return anomalies;
        }
        self.counters.adverts_accepted += 1;
        let prio = pkt.priority();
        if prio == PRIORITY_STOP {
            self.counters.priority_zero_received += 1;
        }
        match self.state {
            State::Backup => {
                // A sign of a Master, whatever its priority (a lower one's too: it still
                // holds the VIPs until it hears us).
                self.master_heard = Some(now);
                self.backup_receive(now, pkt, src)
            }
            State::Master => self.master_receive(ctx, now, pkt, src),
            State::Initialize | State::Fault => {}
        }
        anomalies
    }

    fn validate(
        &mut self,
        ctx: &Ctx<'_>,
        pkt: &Packet<&[u8]>,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
    ) -> Result<(), DiscardReason> {
        // keepalived ignores adverts in FAULT and INIT; so do we.
        if matches!(self.state, State::Initialize | State::Fault) {
            return Err(DiscardReason::Inactive);
        }
        let multicast = dst.is_multicast();
        if self.cfg.unicast_peers.is_empty() {
            if !multicast {
                return Err(DiscardReason::Destination);
            }
        } else {
            if multicast {
                return Err(DiscardReason::Destination);
            }
        }
        // RFC 5798 §7.1: the TTL / hop limit MUST be 255 (checked for multicast; unicast
        // adverts may cross routers, as keepalived allows).
        if multicast && ttl != VRRP_TTL {
            return Err(DiscardReason::Ttl);
        }
        // RFC 5798 §7.1: the version MUST be the one configured.
        if pkt.version() != self.cfg.version {
            return Err(DiscardReason::Version);
        }
        // RFC 5798 §7.1: the checksum MUST verify.
        if !pkt.verify_checksum(src, dst, self.cfg.checksum_mode) {
            return Err(DiscardReason::Checksum);
        }
        if ctx.src == Some(src) {
            return Err(DiscardReason::Own);
        }
        match self.cfg.version {
            Version::V2 => {
                // RFC 3768 §7.1: the authentication type and data MUST match ours.
                let ok = pkt.auth_type() == self.expected_auth.kind()
                    && match self.expected_auth.kind() {
                        AUTH_NONE => true,
                        AUTH_PASS => pkt.auth_data() == self.expected_auth.data(),
                        // AH is not verified by this engine (the front end warns).
                        _ => true,
                    };
                if !ok {
                    return Err(DiscardReason::Auth);
                }
                // RFC 3768 §7.1: the Adver Interval MUST equal ours, else discard.
                if pkt.interval() != interval_to_wire(Version::V2, self.adver_interval) {
                    return Err(DiscardReason::Interval);
                }
            }
            Version::V3 => {
                // An interval of 0 cannot drive a timer (RFC 5798 §5.2.7 range 1..4095 cs).
                if pkt.interval() == 0 {
                    return Err(DiscardReason::Interval);
                }
            }
        }
        // RFC 5798 §5.2.5: Count IPvX Addr is at least 1.
        if self.cfg.version == Version::V3 && pkt.count() == 0 {
            return Err(DiscardReason::AddressList);
        }
        // keepalived 2.2.7 (`vrrp_state_backup`): `skip_check_adv_addr` spares only a Backup's
        // adverts from the Master it already follows; a new sender is always checked.
        let skip = (ctx.global.skip_check_adv_addr || self.cfg.skip_check_adv_addr)
            && self.state == State::Backup
            && self.master_addr == Some(src);
        if !skip && !self.address_list_matches(pkt) {
            // RFC 3768 / RFC 5798 §7.1: "If the packet was not generated by the address owner
            // (Priority does not equal 255 (decimal)), the receiver MUST drop the packet,
            // otherwise continue processing." (keepalived drops the owner's too.)
            if pkt.priority() != PRIORITY_OWNER {
                return Err(DiscardReason::AddressList);
            }
            self.counters.address_list_mismatch += 1;
        }
        self.check_unicast_source(ctx, src, ttl)
    }

    /// keepalived 2.2.7 `vrrp_check_packet` ("check a unicast source address is in the
    /// unicast_peer list"): only with `check_unicast_src` (global or per instance, or a peer
    /// with `min_ttl` / `max_ttl`) is a unicast advert's source checked against the peers,
    /// then its TTL against the peer's range. Without it any source is accepted, so a typo
    /// in `unicast_peer` does not split the brain.
    fn check_unicast_source(
        &self,
        ctx: &Ctx<'_>,
        src: IpAddr,
        ttl: u8,
    ) -> Result<(), DiscardReason> {
        let check = ctx.global.check_unicast_src || self.cfg.check_unicast_src;
        if self.cfg.unicast_peers.is_empty() || !check {
            return Ok(());
        }
        if !self.cfg.unicast_peers.contains(&src) {
            return Err(DiscardReason::Peer);
        }
        let range = self.cfg.unicast_peer_ttl.iter().find(|p| p.addr == src);
        if range.is_some_and(|r| ttl < r.min || ttl > r.max) {
            return Err(DiscardReason::Ttl);
        }
        Ok(())
    }

    fn address_list_matches(&self, pkt: &Packet<&[u8]>) -> bool {
        usize::from(pkt.count()) == self.vip_set.len()
            && pkt.addrs().all(|a| self.vip_set.binary_search(&a).is_ok())
    }

    /// RFC 5798 §6.4.2 / RFC 3768 §6.4.2, with keepalived's preempt_delay.
    fn backup_receive(&mut self, now: Instant, pkt: &Packet<&[u8]>, src: IpAddr) {
        let prio = pkt.priority();
        if prio == PRIORITY_STOP {
            // "If the Priority in the ADVERTISEMENT is zero, then: Set the Master_Down_Timer
            // to Skew_Time."
            self.master_down_timer = Some(now + self.skew_time());
            self.master_addr = None;
            self.master_priority = Some(PRIORITY_STOP);
            return;
        }
        let delay_holds = !self.cfg.effective_preempt_delay().is_zero()
            && self.preempt_until.is_none_or(|until| until > now);
        // "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is greater than
        // or equal to the local Priority, then: ..." (keepalived: or preempt_delay still runs).
        if !self.cfg.preempt || prio >= self.priority || delay_holds {
            if self.cfg.version == Version::V3 {
                // "Set Master_Adver_Interval to Adver Interval contained in the ADVERTISEMENT;
                // Recompute the Skew_Time; Recompute the Master_Down_Interval."
                self.master_adver_interval = interval_from_wire(Version::V3, pkt.interval());
            }
            // "Reset the Master_Down_Timer to Master_Down_Interval."
            self.master_down_timer = Some(now + self.master_down_interval_memo());
            self.master_addr = Some(src);
            self.master_priority = Some(prio);
            // keepalived 2.2.7 `vrrp_state_backup`: "We might have been held in backup by a
            // sync group ... Now we have received a backup, we want to be in BACKUP state."
            self.want_master = false;
            if !self.cfg.effective_preempt_delay().is_zero() && self.cfg.preempt {
                if prio >= self.priority {
                    self.preempt_until = None;
                } else if self.preempt_until.is_none() {
                    self.preempt_until = Some(now + self.cfg.effective_preempt_delay());
                }
            }
        }
        // "Else: Discard the ADVERTISEMENT": a preempting Backup lets its timer run out.
    }

    /// RFC 5798 §6.4.3 / RFC 3768 §6.4.3, with RFC 9568's advert on a lower priority.
    fn master_receive(
        &mut self,
        ctx: &mut Ctx<'_>,
        now: Instant,
        pkt: &Packet<&[u8]>,
        src: IpAddr,
    ) {
        let prio = pkt.priority();
        if prio == PRIORITY_STOP {
            // "If the Priority in the ADVERTISEMENT is zero, then: Send an ADVERTISEMENT;
            // Reset the Adver_Timer to Advertisement_Interval."
            self.send_advert(ctx, self.priority);
            self.adver_timer = Some(now + self.adver_interval);
            return;
        }
        let ours = ctx.src;
        if prio == PRIORITY_OWNER && self.priority == PRIORITY_OWNER && ours != Some(src) {
            // keepalived 2.2.7 `vrrp_state_master_rx`: "CONFIGURATION ERROR: local instance and
            // a remote instance are both configured as address owner, please fix - reducing
            // local priority": it drops to 254 for good and so yields to the other owner,
            // whatever the addresses (RFC 5798 §6.4.3 would compare them).
            self.base_priority = PRIORITY_OWNER - 1;
            self.set_priority(ctx, now, PRIORITY_OWNER - 1);
        }
        let higher = prio > self.priority
            || (prio == self.priority
                && ours.is_some_and(|o| Family::of(&o) == Family::of(&src) && src > o));
        if higher {
            // keepalived's `higher_prio_send_advert`: one advert of ours before stepping down.
            if self.cfg.higher_prio_send_advert {
                self.send_advert(ctx, self.priority);
            }
            // "Cancel Adver_Timer; Set Master_Adver_Interval to Adver Interval contained in the
            // ADVERTISEMENT; Recompute Skew_Time and Master_Down_Interval; Set
            // Master_Down_Timer to Master_Down_Interval; Transition to the Backup state."
            if self.cfg.version == Version::V3 {
                self.master_adver_interval = interval_from_wire(Version::V3, pkt.interval());
            }
            self.become_backup(
                ctx,
                now,
                Reason::HigherPriority {
                    from: src,
                    priority: prio,
                },
            );
            self.master_addr = Some(src);
            self.master_priority = Some(prio);
        } else {
            if self.cfg.advert_on_lower_priority {
                // RFC 9568 §6.4.3 and keepalived's default: answer a lower-priority Master at
                // once so it steps down without waiting for our next Adver_Timer.
                self.send_advert(ctx, self.priority);
                self.adver_timer = Some(now + self.adver_interval);
            }
            // keepalived's `garp_lower_prio_repeat`: the other router may have announced our
            // VIPs; announce them again, now (rounds due at once) and after the delay.
            self.announce.lower_priority_heard(now, &self.cfg.garp);
            if self.announce.next_deadline().is_some_and(|at| at <= now) {
                let rounds =
                    self.announce
                        .take_due(now, &self.cfg.garp, self.announce_spacing(ctx.global));
                self.announce_rounds(ctx, rounds);
            }
        }
    }
}

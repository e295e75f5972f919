//! One virtual server at run time: which real servers are alive, their weights, the quorum
//! and the sorry server, and the IPVS commands that follow. Ported rule by rule from
//! keepalived 2.2.7's `ipwrapper.c` (`init_service_vs`, `perform_svr_state`,
//! `update_quorum_state`, `update_svr_wgt`, `update_svr_checker_state`, `clear_service_vs`)
//! and `ipvswrapper.c` (`ipvs_cmd`: how `inhibit_on_failure` turns a removal into weight 0),
//! so the engine issues the same changes in the same order.

use super::ipvs::{IpvsChange, IpvsDest, IpvsService, ServiceKey};
use super::mail::{self, MailCtx, QuorumNote};
use super::plan::{RsPlan, VsIdentity, VsPlan};
use crate::io::Output;
use std::collections::VecDeque;

/// The largest IPVS weight (`IPVS_WEIGHT_LIMIT`).
const WEIGHT_LIMIT: i64 = 65_535;

/// keepalived's `real_weight`: an effective weight clamped to what IPVS takes.
pub(crate) fn real_weight(effective: i64) -> u32 {
    effective.clamp(0, WEIGHT_LIMIT) as u32
}

/// A real server (or the sorry server) at run time.
#[derive(Clone, Debug)]
pub(crate) struct RsState {
    pub plan: RsPlan,
    /// In the pool (keepalived's `alive`).
    pub alive: bool,
    /// Present in the kernel's table (keepalived's `set`).
    pub set: bool,
    /// Checkers that currently fail.
    pub num_failed: u32,
    /// The configured weight (`iweight`).
    pub iweight: i64,
    /// The weight in force (`effective_weight`): `misc_dynamic` moves it.
    pub effective: i64,
    /// Kept across a reload: not re-added (keepalived's `reloaded`).
    pub reloaded: bool,
}

impl RsState {
    fn new(plan: RsPlan) -> RsState {
        let w = i64::from(plan.dest.weight);
        RsState {
            plan,
            alive: false,
            set: false,
            num_failed: 0,
            iweight: w,
            effective: w,
            reloaded: false,
        }
    }
}

/// Which server of a virtual server a command is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Real(usize),
    Sorry,
}

/// A checker's own up/down view (keepalived's `checker->is_up` / `has_run`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CheckerFlags {
    pub is_up: bool,
    pub has_run: bool,
    pub alpha: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Add,
    Del,
    Edit,
}

/// A virtual server at run time.
#[derive(Clone, Debug)]
pub(crate) struct VsState {
    pub identity: VsIdentity,
    /// Its services (more than one for a group), all with the same destinations.
    pub services: Vec<IpvsService>,
    /// Services of a kept group that a reload added: programmed with the kept real servers
    /// by `init` (keepalived's `sync_service_vsg`).
    pending: Vec<ServiceKey>,
    pub quorum: u32,
    pub hysteresis: u32,
    pub omega: bool,
    pub quorum_up_script: Option<String>,
    pub quorum_down_script: Option<String>,
    pub quorum_up: bool,
    pub real_servers: Vec<RsState>,
    pub sorry: Option<RsState>,
    /// The service is in the kernel's table.
    pub added: bool,
    /// Its `smtp_alert`, its name and protocol in mails, and the global mail settings.
    smtp_alert: bool,
    label: String,
    proto: &'static str,
    pub mail: MailCtx,
}

/// Whether two services differ in what `ipvs_cmd(IP_VS_SO_SET_EDIT)` changes.
fn service_settings_differ(a: &IpvsService, b: &IpvsService) -> bool {
    a.scheduler != b.scheduler
        || a.flags != b.flags
        || a.pe_name != b.pe_name
        || a.netmask != b.netmask
        || a.timeout != b.timeout
}

impl VsState {
    /// The virtual server of `plan`, not yet programmed. Checkers of alpha real servers
    /// start failed, as `validate_check_config` marks them.
    pub fn new(plan: VsPlan, reload: bool, mail: MailCtx) -> VsState {
        let mut real_servers: Vec<RsState> =
            plan.real_servers.into_iter().map(RsState::new).collect();
        if !reload {
            for rs in &mut real_servers {
                rs.num_failed = rs.plan.checkers.iter().filter(|c| c.alpha).count() as u32;
            }
        }
        VsState {
            identity: plan.identity,
            services: plan.services,
            pending: Vec::new(),
            quorum: plan.quorum,
            hysteresis: plan.hysteresis,
            omega: plan.omega,
            quorum_up_script: plan.quorum_up,
            quorum_down_script: plan.quorum_down,
            quorum_up: false,
            real_servers,
            sorry: plan.sorry.map(RsState::new),
            added: false,
            smtp_alert: plan.smtp_alert,
            label: plan.label,
            proto: plan.proto,
            mail,
        }
    }

    /// The (first) service's key: what logs and notifications name.
    pub fn key(&self) -> ServiceKey {
        self.services[0].key
    }

    fn server(&mut self, t: Target) -> &mut RsState {
        match t {
            Target::Real(i) => &mut self.real_servers[i],
            Target::Sorry => self.sorry.as_mut().expect("a sorry server"),
        }
    }

    fn sorry_alive(&self) -> bool {
        self.sorry.as_ref().is_some_and(|s| s.alive)
    }

    /// keepalived's `ipvs_cmd` for a destination: `inhibit_on_failure` turns a removal into
    /// weight 0 and a re-addition into an edit; `force` removes even an inhibited server
    /// (shutdown). For a group, the command goes to every service (`ipvs_group_cmd`).
    fn ipvs_cmd(&mut self, cmd: Cmd, t: Target, force: bool, out: &mut VecDeque<Output>) {
        let keys: Vec<ServiceKey> = self.services.iter().map(|s| s.key).collect();
        let rs = self.server(t);
        let inhibit = rs.plan.inhibit && !force;
        let mut weight = real_weight(rs.effective);
        let mut cmd = cmd;
        if cmd == Cmd::Del && inhibit {
            weight = 0;
            cmd = Cmd::Edit;
        } else if cmd == Cmd::Add && inhibit && rs.set {
            cmd = Cmd::Edit;
        } else if cmd == Cmd::Add && !rs.set {
            rs.set = true;
            if inhibit && rs.num_failed > 0 {
                weight = 0;
            }
        } else if cmd == Cmd::Del && rs.set {
            rs.set = false;
        }
        for key in keys {
            out.push_back(Output::Ipvs(dest_change(cmd, key, &rs.plan.dest, weight)));
        }
    }

    /// Programs the services a reload added to a kept group with the real servers in the
    /// table (keepalived's `ipvs_group_sync_entry`).
    fn sync_pending(&mut self, out: &mut VecDeque<Output>) {
        for key in core::mem::take(&mut self.pending) {
            if let Some(svc) = self.services.iter().find(|s| s.key == key) {
                out.push_back(Output::Ipvs(IpvsChange::AddService(svc.clone())));
            }
            let sorry = self.sorry.iter().filter(|s| s.set);
            for rs in self.real_servers.iter().filter(|r| r.set).chain(sorry) {
                let weight = if rs.alive || !rs.plan.inhibit {
                    real_weight(rs.effective)
                } else {
                    0
                };
                out.push_back(Output::Ipvs(dest_change(
                    Cmd::Add,
                    key,
                    &rs.plan.dest,
                    weight,
                )));
            }
        }
    }

    fn notify_rs(&self, t: Target, out: &mut VecDeque<Output>) {
        let rs = match t {
            Target::Real(i) => &self.real_servers[i],
            Target::Sorry => return,
        };
        out.push_back(Output::RealServerChanged {
            service: self.key(),
            real_server: rs.plan.dest.addr,
            alive: rs.alive,
            notify: if rs.alive {
                rs.plan.notify_up.clone()
            } else {
                rs.plan.notify_down.clone()
            },
        });
    }

    /// `do_vs_notifies`: the quorum script, then the mail (none at shutdown: `note` is
    /// `None`).
    fn notify_quorum(&self, note: Option<QuorumNote>, out: &mut VecDeque<Output>) {
        out.push_back(Output::QuorumChanged {
            service: self.key(),
            up: self.quorum_up,
            notify: if self.quorum_up {
                self.quorum_up_script.clone()
            } else {
                self.quorum_down_script.clone()
            },
        });
        if let Some(note) = note.filter(|_| self.smtp_alert && self.mail.configured) {
            let alert = mail::vs_alert(
                &self.label,
                self.quorum_up,
                self.quorum,
                self.hysteresis,
                note,
            );
            out.push_back(Output::Alert(alert));
        }
    }

    /// A checker's mail about real server `i` (after its verdict): sent when the server's
    /// `smtp_alert` is on and the verdict moved it in or out of the pool or
    /// `no_checker_emails` is off; the subject says whether it is alive now.
    pub fn checker_mail(&self, i: usize, was_alive: bool, body: &str, out: &mut VecDeque<Output>) {
        let rs = &self.real_servers[i];
        if rs.plan.smtp_alert
            && self.mail.configured
            && (was_alive != rs.alive || !self.mail.no_checker_emails)
        {
            self.rs_mail(i, rs.alive, body, out);
        }
    }

    fn rs_mail(&self, i: usize, up: bool, body: &str, out: &mut VecDeque<Output>) {
        let rs = mail::format_addr(&self.real_servers[i].plan.dest.addr, self.proto);
        out.push_back(Output::Alert(mail::rs_alert(&rs, &self.label, up, body)));
    }

    /// `weigh_live_realservers`.
    fn live_weight(&self) -> i64 {
        self.real_servers
            .iter()
            .filter(|r| r.alive)
            .map(|r| i64::from(real_weight(r.effective)))
            .sum()
    }

    /// `set_quorum_states`, before the first programming.
    fn set_quorum_state(&mut self) {
        self.quorum_up = self.live_weight() >= i64::from(self.quorum + self.hysteresis);
    }

    /// `init_service_vs` at start-up: the service, the real servers without failed checkers
    /// (and every inhibited one, at weight 0 if failed), the quorum, the inhibited sorry
    /// server.
    /// On a reload (`reload`), the quorum state came from the old virtual server, a kept
    /// service is not added again and kept real servers are left as they are.
    pub fn init(&mut self, reload: bool, out: &mut VecDeque<Output>) {
        if !reload {
            self.set_quorum_state();
        }
        if !self.added {
            for svc in &self.services {
                out.push_back(Output::Ipvs(IpvsChange::AddService(svc.clone())));
            }
            self.added = true;
        }
        for i in 0..self.real_servers.len() {
            let rs = &self.real_servers[i];
            if rs.reloaded {
                // "Do not re-add failed RS instantly on reload"
                continue;
            }
            if (rs.num_failed == 0 && !rs.alive) || (rs.plan.inhibit && !rs.set) {
                self.ipvs_cmd(Cmd::Add, Target::Real(i), false, out);
                let rs = &mut self.real_servers[i];
                if rs.num_failed == 0 {
                    rs.alive = true;
                }
            }
        }
        self.sync_pending(out);
        self.update_quorum(true, out);
        if let Some(ss) = &self.sorry {
            if ss.plan.inhibit && !ss.set {
                // Present at weight 0 until needed.
                self.server(Target::Sorry).num_failed = 1;
                self.ipvs_cmd(Cmd::Add, Target::Sorry, false, out);
                self.server(Target::Sorry).num_failed = 0;
            }
        }
    }

    /// `perform_quorum_state`: every alive real server into or out of the kernel's pool.
    fn move_alive(&mut self, add: bool, out: &mut VecDeque<Output>) {
        for i in 0..self.real_servers.len() {
            if self.real_servers[i].alive {
                let cmd = if add { Cmd::Add } else { Cmd::Del };
                self.ipvs_cmd(cmd, Target::Real(i), false, out);
            }
        }
    }

    /// `update_quorum_state`: gain or lose the quorum (with hysteresis), swapping the sorry
    /// server in or out.
    fn update_quorum(&mut self, init: bool, out: &mut VecDeque<Output>) {
        let sum = self.live_weight();
        let h = i64::from(self.hysteresis);
        let threshold = i64::from(self.quorum) + if self.quorum_up { -h } else { h };
        let note = Some(QuorumNote {
            init,
            threshold,
            weight_sum: sum,
        });
        if !self.quorum_up && sum >= threshold {
            self.quorum_up = true;
            if self.sorry_alive() {
                self.ipvs_cmd(Cmd::Del, Target::Sorry, false, out);
                self.server(Target::Sorry).alive = false;
                self.move_alive(true, out);
            }
            self.notify_quorum(note, out);
        } else if (self.quorum_up && (sum == 0 || sum < threshold))
            || (init && !self.quorum_up && self.sorry.is_some() && !self.sorry_alive())
        {
            self.quorum_up = false;
            if self.sorry.is_some() && !self.sorry_alive() {
                self.move_alive(false, out);
                self.ipvs_cmd(Cmd::Add, Target::Sorry, false, out);
                self.server(Target::Sorry).alive = true;
            }
            self.notify_quorum(note, out);
        }
    }

    /// `perform_svr_state`: a real server joins or leaves the pool.
    fn perform_state(&mut self, i: usize, alive: bool, out: &mut VecDeque<Output>) {
        if self.real_servers[i].alive == alive {
            return;
        }
        // Change the kernel only while the quorum holds or no sorry server stands in.
        if self.quorum_up || !self.sorry_alive() {
            let cmd = if alive { Cmd::Add } else { Cmd::Del };
            self.ipvs_cmd(cmd, Target::Real(i), false, out);
        }
        self.real_servers[i].alive = alive;
        self.notify_rs(Target::Real(i), out);
        self.update_quorum(false, out);
    }

    /// `update_svr_checker_state`: a checker's verdict on real server `i`. A server leaves
    /// the pool on its first failing checker and comes back when the last one passes.
    pub fn checker_verdict(
        &mut self,
        i: usize,
        flags: &mut CheckerFlags,
        alive: bool,
        out: &mut VecDeque<Output>,
    ) {
        if flags.is_up == alive {
            if !flags.has_run {
                if flags.alpha || !alive {
                    self.notify_rs(Target::Real(i), out);
                }
                flags.has_run = true;
            }
            return;
        }
        flags.has_run = true;
        let failed = self.real_servers[i].num_failed;
        if alive {
            if failed <= 1 {
                self.perform_state(i, true, out);
            }
        } else if failed == 0 {
            self.perform_state(i, false, out);
        }
        // set_checker_state
        flags.is_up = alive;
        let rs = &mut self.real_servers[i];
        if !alive {
            rs.num_failed += 1;
        } else if rs.num_failed > 0 {
            rs.num_failed -= 1;
        }
    }

    /// `update_svr_wgt`: a new effective weight for real server `i` (`misc_dynamic`).
    pub fn set_weight(&mut self, i: usize, weight: i64, out: &mut VecDeque<Output>) {
        let old = real_weight(self.real_servers[i].effective);
        self.real_servers[i].effective = weight;
        if real_weight(weight) != old {
            let rs = &self.real_servers[i];
            if rs.set && rs.alive && (self.quorum_up || !self.sorry_alive()) {
                self.ipvs_cmd(Cmd::Edit, Target::Real(i), false, out);
            }
            self.update_quorum(false, out);
        }
    }

    /// `clear_service_vs` (keepalived's default `lvs_flush_on_stop` off): the sorry server
    /// and every real server removed (inhibited ones too), then the service. At shutdown
    /// (`stopping`) the notifications go out only with `omega`; a virtual server removed by
    /// a reload always notifies.
    pub fn clear(&mut self, stopping: bool, out: &mut VecDeque<Output>) {
        if !self.added {
            return;
        }
        if self.sorry.as_ref().is_some_and(|s| s.set) {
            self.ipvs_cmd(Cmd::Del, Target::Sorry, true, out);
            self.server(Target::Sorry).alive = false;
        }
        for i in 0..self.real_servers.len() {
            self.clear_rs(i, stopping, out);
        }
        self.update_vs_notifies(stopping, out);
        for svc in &self.services {
            out.push_back(Output::Ipvs(IpvsChange::RemoveService(svc.key)));
        }
        self.added = false;
    }

    /// `clear_service_rs`: real server `i` out of the kernel (even if inhibited).
    fn clear_rs(&mut self, i: usize, stopping: bool, out: &mut VecDeque<Output>) {
        if !self.real_servers[i].set {
            return;
        }
        self.ipvs_cmd(Cmd::Del, Target::Real(i), true, out);
        if !self.real_servers[i].alive {
            return;
        }
        self.real_servers[i].alive = false;
        if !stopping || self.omega {
            self.notify_rs(Target::Real(i), out);
            // SMTP_MSG_RS_SHUT; the "=> Shutting down <=" one never leaves (module doc).
            if !stopping && self.real_servers[i].plan.smtp_alert && self.mail.configured {
                self.rs_mail(i, false, "=> Removing <=", out);
            }
        }
    }

    /// `update_vs_notifies`: the quorum is lost when stopping or when the live weight fell
    /// below the threshold; notified unless stopping without `omega`.
    fn update_vs_notifies(&mut self, stopping: bool, out: &mut VecDeque<Output>) {
        let threshold = i64::from(self.quorum) - i64::from(self.hysteresis);
        let sum = self.live_weight();
        if stopping || (self.quorum_up && (sum == 0 || sum < threshold)) {
            self.quorum_up = false;
            if !stopping || self.omega {
                let note = QuorumNote {
                    init: false,
                    threshold,
                    weight_sum: sum,
                };
                self.notify_quorum((!stopping).then_some(note), out);
            }
        }
    }

    /// keepalived's reload for a virtual server that stays (`clear_diff_services` with
    /// `clear_diff_rs` and `clear_diff_s_srv`): `self` is the new configuration, `old` the
    /// running one. The service is edited if its scheduler or persistence changed; real
    /// servers no longer listed are removed; kept ones keep their state (alive, in the
    /// table, effective weight: a new configured `weight` does not apply to them, as in
    /// keepalived 2.2.7) and are edited if their forwarding method changed; the sorry server
    /// is kept or removed. Returns, for each new real server, the old one it continues.
    pub fn take_over(
        &mut self,
        old: &mut VsState,
        out: &mut VecDeque<Output>,
    ) -> Vec<Option<usize>> {
        self.added = old.added;
        self.quorum_up = old.quorum_up;
        // clear_diff_vsg: services of the group no longer listed go; new ones come in init.
        for svc in &old.services {
            if !self.services.iter().any(|s| s.key == svc.key) {
                out.push_back(Output::Ipvs(IpvsChange::RemoveService(svc.key)));
            }
        }
        self.pending = self
            .services
            .iter()
            .filter(|s| !old.services.iter().any(|o| o.key == s.key))
            .map(|s| s.key)
            .collect();
        old.services
            .retain(|o| self.services.iter().any(|s| s.key == o.key));
        if service_settings_differ(&old.services[0], &self.services[0]) {
            for svc in self
                .services
                .iter()
                .filter(|s| !self.pending.contains(&s.key))
            {
                out.push_back(Output::Ipvs(IpvsChange::EditService(svc.clone())));
            }
        }
        let mut continues = vec![None; self.real_servers.len()];
        for oi in 0..old.real_servers.len() {
            let addr = old.real_servers[oi].plan.dest.addr;
            let Some(ni) = self
                .real_servers
                .iter()
                .position(|r| r.plan.dest.addr == addr)
            else {
                old.clear_rs(oi, false, out);
                continue;
            };
            continues[ni] = Some(oi);
            let o = &old.real_servers[oi];
            let n = &mut self.real_servers[ni];
            n.alive = o.alive;
            n.set = o.set;
            n.effective = o.effective;
            n.reloaded = true;
            if n.plan.dest.forwarding != o.plan.dest.forwarding {
                self.ipvs_cmd(Cmd::Edit, Target::Real(ni), false, out);
            }
        }
        old.update_vs_notifies(false, out);
        // clear_diff_s_srv
        if let Some(os) = &mut old.sorry {
            match &mut self.sorry {
                Some(ns) if ns.plan.dest.addr == os.plan.dest.addr => {
                    ns.alive = os.alive;
                    ns.set = os.set;
                    ns.effective = ns.iweight;
                    ns.reloaded = true;
                }
                _ => {
                    if os.plan.inhibit {
                        if !os.alive && os.set {
                            os.alive = true;
                        }
                        os.plan.inhibit = false;
                    }
                    if os.alive {
                        old.ipvs_cmd(Cmd::Del, Target::Sorry, false, out);
                    }
                }
            }
        }
        continues
    }

    /// The end of `migrate_checkers` for kept real server `i` once its checkers took over
    /// their old state: count the failing ones, put the server back if none fails, or out
    /// (to weight 0 when inhibited) if one does.
    pub fn settle_migrated(&mut self, i: usize, failed: u32, out: &mut VecDeque<Output>) {
        self.real_servers[i].num_failed = failed;
        let rs = &self.real_servers[i];
        if failed == 0 && !rs.alive {
            self.perform_state(i, true, out);
        } else if failed > 0 && rs.set != rs.plan.inhibit {
            let cmd = if rs.plan.inhibit { Cmd::Add } else { Cmd::Del };
            self.ipvs_cmd(cmd, Target::Real(i), false, out);
        }
    }
}

/// One destination command for one service: a non-NAT destination takes the service's port
/// (0 for a fwmark service), a NAT one keeps its own.
fn dest_change(cmd: Cmd, key: ServiceKey, dest: &IpvsDest, weight: u32) -> IpvsChange {
    let mut dest = IpvsDest {
        weight,
        ..dest.clone()
    };
    if dest.forwarding != super::Forwarding::Nat {
        dest.addr.set_port(match key {
            ServiceKey::Addr { addr, .. } => addr.port(),
            ServiceKey::Fwmark { .. } => 0,
        });
    }
    match cmd {
        Cmd::Add => IpvsChange::AddDest { service: key, dest },
        Cmd::Edit => IpvsChange::EditDest { service: key, dest },
        Cmd::Del => IpvsChange::RemoveDest {
            service: key,
            addr: dest.addr,
        },
    }
}

//! Each engine output carried out on the OS: adverts queued on their socket, VIPs through
//! netlink, gratuitous ARP / unsolicited NA, check runs, state changes with their log
//! line, notify scripts, status file and trace line, and mails ([`super::alerts`]).

use super::driver::{CheckDone, Daemon};
use super::status;
use crate::os::{garp, netlink, scripts};
use serde_json::{json, Value};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use vrrp_engine::io::StateChange;
use vrrp_engine::{CheckOutcome, Family, InstanceId, Output, Reason, ScriptId, State, Transmit};

impl Daemon {
    /// The name of an instance (also of one a reload removed).
    pub(super) fn name_of(&self, id: InstanceId) -> String {
        self.engine
            .instance_config(id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| format!("#{}", id.0))
    }

    /// The index of an interface that exists.
    fn ifindex(&self, name: &str) -> Option<u32> {
        self.ifaces.get(name).map(|i| i.index).filter(|&i| i != 0)
    }

    /// Queues an advert on the socket of its interface and family; sent by the next flush.
    /// Its trace line and `-DD` log line wait for the flush too ([`Daemon::log_sent`]):
    /// nothing is written before an advert leaves.
    pub(super) fn queue_advert(&mut self, tx: Transmit) {
        let family = Family::of(&tx.dst);
        let res = match self
            .socks
            .iter_mut()
            .find(|s| s.family == family && *s.ifname == *tx.interface)
        {
            Some(s) => s.sock.queue(
                &mut s.tx,
                tx.instance.0,
                tx.src,
                tx.dst,
                tx.ttl,
                &tx.payload,
            ),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no socket on this interface",
            )),
        };
        if let Err(e) = &res {
            let name = self.name_of(tx.instance);
            tracing::warn!("{name}: sending advert on {}: {e}", tx.interface);
        }
        if self.trace.enabled() || tracing::enabled!(tracing::Level::TRACE) {
            self.sent.push((tx, res.is_ok()));
        }
    }

    /// The trace and `-DD` log lines of the adverts just sent.
    pub(super) fn log_sent(&mut self) {
        let mut sent = std::mem::take(&mut self.sent);
        for (tx, queued) in sent.drain(..) {
            if queued && tracing::enabled!(tracing::Level::TRACE) {
                // One line per advert: -DD only (keepalived logs none).
                let name = self.name_of(tx.instance);
                tracing::trace!(
                    "({name}) advert {} -> {} prio {}",
                    tx.src,
                    tx.dst,
                    vrrp_engine::wire::peek_priority(&tx.payload).unwrap_or(0)
                );
            }
            self.trace_output(&Output::Transmit(tx));
        }
        // The buffer is kept for the next adverts.
        self.sent = sent;
    }

    /// The trace line of an output (no clock read when tracing is off). A state change is
    /// timed when the engine decided it, as the simulator times it; what the daemon does on
    /// the OS (a packet sent, a VIP added, an announcement, ...) when it is done.
    fn trace_output(&mut self, out: &Output) {
        if self.trace.enabled() {
            let at = match out {
                Output::StateChanged(c) => c.at,
                _ => self.now(),
            };
            let t = self.secs(at);
            self.trace.output(t, &self.engine, out);
        }
    }

    /// Carries out one output other than an advert.
    pub(super) async fn apply(&mut self, out: Output) {
        self.trace_output(&out);
        match out {
            Output::AddVip {
                instance,
                interface,
                vip,
            } => {
                let name = self.name_of(instance);
                let ifname = interface.to_string();
                match self.ifindex(&ifname) {
                    Some(idx) => match netlink::add_vip(&self.handle, idx, &vip).await {
                        // keepalived logs "(VI_1) setting VIPs." with -D only.
                        Ok(()) => tracing::debug!(
                            "({name}) setting VIP {}/{} on {ifname}",
                            vip.addr,
                            vip.prefix_len
                        ),
                        Err(e) => {
                            tracing::error!("{name}: adding VIP {} on {ifname}: {e}", vip.addr)
                        }
                    },
                    None => tracing::error!("{name}: VIP {}: no interface {ifname}", vip.addr),
                }
                self.held.insert((ifname, vip.addr), vip);
            }
            Output::RemoveVip {
                instance,
                interface,
                vip,
            } => {
                let name = self.name_of(instance);
                let ifname = interface.to_string();
                self.held.remove(&(ifname.clone(), vip.addr));
                if let Some(idx) = self.ifindex(&ifname) {
                    match netlink::del_vip(&self.handle, idx, &vip).await {
                        Ok(_) => {
                            tracing::debug!("({name}) removing VIP {} from {ifname}", vip.addr)
                        }
                        Err(e) => {
                            tracing::warn!("{name}: removing VIP {} from {ifname}: {e}", vip.addr)
                        }
                    }
                }
            }
            Output::Announce {
                instance,
                interface,
                addr,
            } => {
                let name = self.name_of(instance);
                self.announce(&name, &interface, addr);
            }
            Output::StateChanged(sc) => self.on_state(sc),
            Output::ScriptChanged(sc) => {
                let exit = self.script_exits.get(&sc.script).copied();
                tracing::info!("{}", super::log_lines::script_change(&sc, exit));
            }
            Output::PriorityChanged(pc) => {
                let name = self.name_of(pc.instance);
                let line = super::log_lines::priority_change(&name, pc.from, pc.to);
                tracing::info!("{line}");
            }
            Output::SyncGroupChanged(gc) => self.on_group_state(gc),
            Output::Alert(alert) => self.send_alert(alert),
            Output::BlockVips { instance, vips } => self.block_vips(instance, vips).await,
            Output::UnblockVips { instance, vips } => self.unblock_vips(instance, vips).await,
            Output::RunCheck {
                script,
                seq,
                timeout,
            } => {
                // The script's state gauge (running) shows in the next sample.
                self.touch_metrics();
                self.run_check(script, seq, timeout)
            }
            Output::Transmit(tx) => self.queue_advert(tx),
            Output::RunProbe {
                checker,
                seq,
                probe,
            } => self.run_probe(checker, seq, probe),
            Output::Ipvs(change) => self.apply_ipvs(&change),
            Output::RealServerChanged {
                service,
                real_server,
                alive,
                notify,
            } => {
                self.touch_metrics();
                self.on_real_server(service, real_server, alive, notify)
            }
            Output::QuorumChanged {
                service,
                up,
                notify,
            } => {
                self.touch_metrics();
                self.on_quorum(service, up, notify)
            }
            Output::AddRoute { instance, route } => self.add_route(instance, route).await,
            Output::RemoveRoute { instance, route } => self.remove_route(instance, route).await,
            Output::AddRule { instance, rule } => self.add_rule(instance, rule).await,
            Output::RemoveRule { instance, rule } => self.remove_rule(instance, rule).await,
        }
    }

    /// One gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `addr` on `ifname`.
    fn announce(&self, name: &str, ifname: &str, addr: IpAddr) {
        let info = self.ifaces.get(ifname);
        let frame = match (info.and_then(|i| i.mac), addr) {
            (Some(mac), IpAddr::V4(a)) => Some(garp::arp_frame(mac, a)),
            (Some(mac), IpAddr::V6(a)) => {
                Some(garp::na_frame(mac, a, garp::ipv6_forwarding(ifname)))
            }
            (None, _) => None,
        };
        match (frame, info) {
            (Some(f), Some(i)) => {
                if let Err(e) = self.announcer.send(i.index, &f) {
                    tracing::warn!("{name}: announcing {addr} on {ifname}: {e}");
                } else {
                    let what = if addr.is_ipv4() {
                        "gratuitous ARP"
                    } else {
                        "unsolicited NA"
                    };
                    tracing::debug!("({name}) Sending {what} on {ifname} for {addr}");
                }
            }
            _ => tracing::debug!("{name}: no MAC on {ifname}: {addr} not announced"),
        }
    }

    /// Runs a `vrrp_script` once (the engine asks once per interval, whatever the number of
    /// instances tracking it) and reports the outcome back.
    fn run_check(&mut self, script: ScriptId, seq: u64, timeout: Duration) {
        let Some(cfg) = self.engine.script_config(script) else {
            return;
        };
        let tx = self.check_tx.clone();
        let done = move |outcome, exit| {
            let _ = tx.send(CheckDone {
                script,
                seq,
                outcome,
                exit,
            });
        };
        let global = self.engine.global_config();
        let user_spec = cfg.user.as_deref().or(global.script_user.as_deref());
        let run_as = match scripts::resolve_user(user_spec) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("vrrp_script {}: {e}: counted as failing", cfg.name);
                done(CheckOutcome::Fail, scripts::ScriptExit::NotStarted);
                return;
            }
        };
        if global.enable_script_security {
            if let Some(why) = scripts::insecure_reason(&cfg.script) {
                tracing::error!(
                    "vrrp_script {}: refused by enable_script_security ({why}): counted as failing",
                    cfg.name
                );
                done(CheckOutcome::Fail, scripts::ScriptExit::NotStarted);
                return;
            }
        }
        let cmdline = cfg.script.clone();
        let name = cfg.name.clone();
        tokio::spawn(async move {
            let (outcome, exit) = scripts::run_check(&cmdline, run_as, timeout).await;
            tracing::trace!("vrrp_script {name}: {exit:?}");
            done(outcome, exit);
        });
    }

    /// A state change: log line, trace line, notify scripts (queued, run in order), status.
    fn on_state(&mut self, sc: StateChange) {
        let Some(cfg) = self.engine.instance_config(sc.instance) else {
            return;
        };
        let name = cfg.name.clone();
        if let Some(m) = &mut self.metrics {
            m.transition(sc.instance, sc.from, sc.to);
        }
        tracing::info!("{}", super::log_lines::state_change(&name, &sc));
        // keepalived 2.2.7 (`clear_diff_vrrp`): an instance a reload removed gets the FAULT
        // notifies unless it already was in FAULT (`notify_deleted` is not supported).
        let word = match (sc.to, &sc.reason) {
            (State::Initialize, Reason::Removed) if sc.from == State::Fault => None,
            (State::Initialize, Reason::Removed) => Some(State::Fault),
            (to, _) => Some(to),
        };
        let notify = &cfg.notify;
        let (specific, state_word) = match word {
            Some(State::Master) => (notify.master.clone(), "MASTER"),
            Some(State::Backup) => (notify.backup.clone(), "BACKUP"),
            Some(State::Fault) => (notify.fault.clone(), "FAULT"),
            Some(State::Initialize) => (notify.stop.clone(), "STOP"),
            None => (None, ""),
        };
        let generic = word.and(notify.generic.clone());
        let run_as = scripts::resolve_user(self.engine.global_config().script_user.as_deref())
            .ok()
            .flatten();
        if let Some(q) = &self.notify_tx {
            if let Some(cmd) = specific {
                let _ = q.send(scripts::Notify {
                    words: scripts::split_words(&cmd),
                    run_as,
                });
            }
            if let Some(cmd) = generic {
                let mut words = scripts::split_words(&cmd);
                words.extend([
                    "INSTANCE".to_string(),
                    name,
                    state_word.to_string(),
                    sc.priority.to_string(),
                ]);
                let _ = q.send(scripts::Notify { words, run_as });
            }
        }
        if self.opts.status_file.is_some() {
            self.write_status();
        }
        self.update_systemd_status();
    }

    /// systemd's `STATUS=` line, sent when it changed ([`super::systemd::summary`]).
    pub(super) fn update_systemd_status(&mut self) {
        let snap = self.engine.snapshot();
        let line =
            super::systemd::summary(snap.instances.iter().map(|i| (i.name.as_str(), i.state)));
        self.systemd.status(line);
    }

    /// A sync group's state change: log line, trace line, the group's notify scripts
    /// (queued after its members', as the engine orders them).
    fn on_group_state(&mut self, gc: vrrp_engine::SyncGroupChange) {
        // keepalived 2.2.7 (vrrp_sync.c): "VRRP_Group(G) Syncing instances to MASTER state".
        tracing::info!(
            "VRRP_Group({}) Syncing instances to {} state ({} -> {})",
            gc.group,
            gc.state_word(),
            gc.from.as_str(),
            gc.state_word()
        );
        let Some(cfg) = self.engine.sync_group_config(&gc.group) else {
            return;
        };
        let run_as = scripts::resolve_user(self.engine.global_config().script_user.as_deref())
            .ok()
            .flatten();
        if let Some(q) = &self.notify_tx {
            for (cmd, extra) in gc.notifies(&cfg.notify) {
                let mut words = scripts::split_words(&cmd);
                words.extend(extra);
                let _ = q.send(scripts::Notify { words, run_as });
            }
        }
    }

    /// The status JSON: the engine's snapshot plus what the daemon holds.
    fn status(&self) -> Value {
        let snap = self.engine.snapshot();
        let vips: Vec<Value> = self
            .held
            .iter()
            .map(|((i, a), v)| json!({"interface": i, "addr": a, "prefix_len": v.prefix_len}))
            .collect();
        json!({
            "node": self.node,
            "t": self.secs(self.now()),
            "pid": std::process::id(),
            "config": self.opts.file,
            "instances": snap.instances,
            "scripts": snap.scripts,
            "processes": snap.processes,
            "unmatched": snap.unmatched,
            "vips": vips,
            "virtual_servers": snap.virtual_servers,
        })
    }

    /// Writes the status JSON (SIGUSR1, and after every state change with `--status`).
    pub(super) fn write_status(&self) {
        let path = self
            .opts
            .status_file
            .clone()
            .unwrap_or_else(|| PathBuf::from("/tmp/vrrpd-real.json"));
        match status::write(&path, &self.status()) {
            Ok(()) => tracing::debug!("status written to {}", path.display()),
            Err(e) => tracing::warn!("cannot write status to {}: {e}", path.display()),
        }
    }
}

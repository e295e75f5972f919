//! Feeds a lab run (the daemons' traces on the lab clock, daemon starts and exits, faults as
//! carried out) through the [`Observer`], so a real run gets the metrics, events and plots of
//! a simulated one.
//!
//! Mapping: `state`, `tx`, `vip_add`, `vip_del` and `announce` lines become the engine outputs
//! they trace; `rx` lines are adverts delivered; every `announce` reaches every client at
//! once (the client ARP model; there is no client namespace). The outputs go through
//! [`report`](crate::backend::report), as the backends' do. Invariants are not checked: they
//! need the engine's snapshot, which a trace does not carry.
//!
//! [`Observer`]: crate::observe::observer::Observer

use super::LabRun;
use crate::backend::net::Net;
use crate::backend::Wire;
use crate::experiment::model::{Fault, Variant};
use crate::experiment::Experiment;
use crate::observe::metrics::{Recording, RunResult};
use crate::observe::observer::Observer;
use crate::observe::trace::{TraceEvent, TraceLine};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use vrrp_engine::config::Config;
use vrrp_engine::config::VirtualAddress;
use vrrp_engine::io::{StateChange, Transmit};
use vrrp_engine::{Engine, InstanceId, Instant, Output};

enum Ev<'a> {
    Fault(usize),
    Start(usize),
    Line(usize, &'a TraceLine),
    Gone(usize),
}

fn rank(e: &Ev<'_>) -> u8 {
    match e {
        Ev::Fault(_) => 0,
        Ev::Start(_) => 1,
        Ev::Line(..) => 2,
        Ev::Gone(_) => 3,
    }
}

fn at(t: f64) -> Instant {
    Instant::from_offset(Duration::from_secs_f64(t.max(0.0)))
}

/// The metrics and the recording of a lab run; `seed` only labels the row.
pub fn replay(exp: &Experiment, v: &Variant, run: &LabRun, seed: u64) -> (RunResult, Recording) {
    let mut obs = Observer::new(
        v,
        seed,
        exp.clients as usize,
        exp.arp_reresolve_after,
        exp.duration,
        true,
    );
    let end = exp.duration.as_secs_f64();
    let mut evs: Vec<(f64, Ev<'_>)> = Vec::new();
    for d in &run.done {
        evs.push((d.at, Ev::Fault(d.index)));
    }
    for (k, inc) in run.incarnations.iter().enumerate() {
        evs.push((inc.planned.as_secs_f64(), Ev::Start(k)));
        if let Some((t, _)) = inc.gone {
            evs.push((t, Ev::Gone(k)));
        }
    }
    for (n, lines) in run.traces.iter().enumerate() {
        for l in lines {
            evs.push((l.t, Ev::Line(n, l)));
        }
    }
    evs.retain(|(t, _)| *t <= end);
    evs.sort_by(|a, b| a.0.total_cmp(&b.0).then(rank(&a.1).cmp(&rank(&b.1))));
    let names: Vec<String> = v.nodes.iter().map(|p| p.name.clone()).collect();
    let mut net = Net::new(v.network.clone(), v.nodes.len());
    let mut alive = vec![false; v.nodes.len()];
    // Each node's file as it stands, and an engine that is never run but numbers its
    // instances as the daemon's did (a reload keeps kept instances' ids, appends new ones).
    let mut files: Vec<Config> = v.nodes.iter().map(|p| p.config.clone()).collect();
    let mut numbering: Vec<Option<Engine>> = v.nodes.iter().map(|_| None).collect();
    for (t, ev) in evs {
        let now = at(t);
        match ev {
            Ev::Fault(i) => {
                let f = &v.timeline[i].fault;
                obs.event(now, None, "fault", f.describe(&names));
                match f {
                    Fault::LinkDown(n) | Fault::LinkUp(n) => {
                        net.apply(f);
                        let up = net.link_up[*n];
                        obs.set_answering(now, *n, alive[*n] && up);
                    }
                    Fault::Check {
                        node,
                        script,
                        behaviour,
                    } => {
                        obs.set_check(now, *node, script, behaviour.clone());
                    }
                    Fault::Reload { node, config } => {
                        files[*node] = (**config).clone();
                        if let Some(e) = numbering[*node].as_mut() {
                            crate::backend::reload_engine(
                                &mut obs,
                                e,
                                now,
                                *node,
                                (**config).clone(),
                            );
                        }
                    }
                    _ => net.apply(f),
                }
                if f.affects_network() {
                    obs.network_health(now, net.healthy());
                }
            }
            Ev::Start(k) => {
                let n = run.incarnations[k].node;
                numbering[n] = crate::backend::start_engine(&mut obs, now, n, files[n].clone());
                alive[n] = true;
                obs.node_started(now, n, net.link_up[n]);
            }
            Ev::Gone(k) => {
                let n = run.incarnations[k].node;
                alive[n] = false;
                obs.node_gone(now, n);
            }
            Ev::Line(n, l) => line(&mut obs, numbering[n].as_ref(), exp, now, n, l),
        }
    }
    let (result, rec) = obs.finish(at(end));
    (result, rec.unwrap_or_default())
}

fn line(
    obs: &mut Observer<'_>,
    numbering: Option<&Engine>,
    exp: &Experiment,
    now: Instant,
    n: usize,
    l: &TraceLine,
) {
    // The latest instance of that name (a removed one keeps its id, a re-added one gets a
    // new one).
    let inst = |name: &str| {
        InstanceId(
            numbering
                .and_then(|e| e.instance_configs().rposition(|i| i.name == name))
                .unwrap_or(0) as u32,
        )
    };
    let vip = |addr: IpAddr, prefix_len: u8| VirtualAddress {
        addr,
        prefix_len,
        dev: None,
        label: None,
        extra: Vec::new(),
    };
    let out = match &l.event {
        TraceEvent::State {
            instance,
            from,
            to,
            reason,
            priority,
            ..
        } => Output::StateChanged(StateChange {
            instance: inst(instance),
            from: *from,
            to: *to,
            reason: reason.clone(),
            priority: *priority,
            at: now,
        }),
        TraceEvent::Tx {
            instance,
            interface,
            src,
            dst,
            ttl,
            hex,
        } => Output::Transmit(Transmit {
            instance: inst(instance),
            interface: Arc::from(interface.as_str()),
            src: *src,
            dst: *dst,
            ttl: *ttl,
            payload: hex.clone(),
        }),
        TraceEvent::VipAdd {
            instance,
            interface,
            addr,
            prefix_len,
        } => Output::AddVip {
            instance: inst(instance),
            interface: Arc::from(interface.as_str()),
            vip: vip(*addr, *prefix_len),
        },
        TraceEvent::VipDel {
            instance,
            interface,
            addr,
            prefix_len,
        } => Output::RemoveVip {
            instance: inst(instance),
            interface: Arc::from(interface.as_str()),
            vip: vip(*addr, *prefix_len),
        },
        TraceEvent::Announce {
            instance,
            interface,
            addr,
        } => Output::Announce {
            instance: inst(instance),
            interface: Arc::from(interface.as_str()),
            addr: *addr,
        },
        TraceEvent::SyncGroup { group, from, to } => {
            Output::SyncGroupChanged(vrrp_engine::SyncGroupChange {
                group: group.clone(),
                from: *from,
                to: *to,
                at: now,
            })
        }
        TraceEvent::Script {
            script,
            good,
            outcome,
            first,
        } => Output::ScriptChanged(vrrp_engine::ScriptChange {
            // The lab's events name the script; its id is not in the trace.
            script: vrrp_engine::ScriptId(0),
            name: script.clone(),
            good: *good,
            outcome: *outcome,
            first: *first,
            at: now,
        }),
        TraceEvent::Priority { instance, from, to } => {
            Output::PriorityChanged(vrrp_engine::PriorityChange {
                instance: inst(instance),
                from: *from,
                to: *to,
                at: now,
            })
        }
        TraceEvent::Rx { src, hex, .. } => {
            obs.advert_delivered(now, n, *src, hex);
            return;
        }
        TraceEvent::Ipvs { .. } | TraceEvent::RealServer { .. } | TraceEvent::Quorum { .. } => {
            return
        }
        // Faults are replayed from the lab's own record (`LabRun::done`).
        TraceEvent::Control { .. } => return,
        // The lab's model has no routing tables.
        TraceEvent::RouteAdd { .. }
        | TraceEvent::RouteDel { .. }
        | TraceEvent::RuleAdd { .. }
        | TraceEvent::RuleDel { .. } => return,
    };
    let mut wire = Replay {
        obs,
        clients: exp.clients as usize,
    };
    crate::backend::report(&mut wire, None, now, n, out);
}

/// The replay's wire: adverts were delivered for real (the `rx` lines say which), and every
/// announcement reaches every client at once.
struct Replay<'o, 'a> {
    obs: &'o mut Observer<'a>,
    clients: usize,
}

impl<'a> Wire<'a> for Replay<'_, 'a> {
    fn observer(&mut self) -> &mut Observer<'a> {
        self.obs
    }

    fn transmit(&mut self, _: Instant, _: usize, _: Transmit) {}

    /// The replay has no engine to answer (LVS lines are not replayed).
    fn probe_result(
        &mut self,
        _: Instant,
        _: usize,
        _: vrrp_engine::lvs::CheckerId,
        _: u64,
        _: vrrp_engine::lvs::ProbeResult,
    ) {
    }

    fn announce(&mut self, now: Instant, n: usize, addr: IpAddr) {
        for c in 0..self.clients {
            self.obs.client_announce(now, c, n, addr);
        }
    }
}

//! How packets move between the nodes' engines: two backends that drive one
//! [`Observer`] each, and what they share.
//!
//! - [`event_queue`]: the event-queue backend (time jumps from event to event).
//! - [`turmoil_backend`]: the turmoil backend (one turmoil host per node, 1 ms tick).
//! - [`net`]: latency and loss draws, partitions, Gilbert-Elliott bursts (both backends, and
//!   `sim lab` for link state).
//! - [`runner`]: runs every variant and seed in parallel, deterministically, on either backend.
//! - Here: [`RunSpec`] (what one run needs), [`node_interfaces`], and the engine-output drain
//!   ([`drain`], [`report`]): each output goes to the observer first, then packets and
//!   gratuitous ARPs go to the backend's [`Wire`], check runs are answered from the observer's
//!   ground truth, real-server probes are answered by the observer's model and handed to the
//!   backend to deliver when they end ([`Wire::probe_result`]), and the invariants are
//!   checked once the engine is quiet. `sim lab`'s replay
//!   feeds its trace lines through [`report`] as well.

pub mod event_queue;
pub mod net;
pub mod runner;
pub mod turmoil_backend;

use crate::experiment::model::{NodePlan, Variant};
use crate::experiment::Experiment;
use crate::observe::observer::Observer;
use std::net::IpAddr;
use vrrp_engine::config::Config;
use vrrp_engine::io::ProcessChange;
use vrrp_engine::lvs::{CheckerId, ProbeResult};
use vrrp_engine::{Engine, Input, Instant, InterfaceUpdate, Output, Transmit};

/// What one run needs.
#[derive(Clone, Copy, Debug)]
pub struct RunSpec<'a> {
    /// The experiment.
    pub experiment: &'a Experiment,
    /// The variant.
    pub variant: &'a Variant,
    /// The seed.
    pub seed: u64,
    /// Keep the event log and spans (first seed of each variant).
    pub record: bool,
    /// Also keep every state change and transmitted payload in the recording (tests; needs
    /// `record`).
    pub capture: bool,
    /// Also write the JSONL trace (`docs/trace.md`) into the recording (needs `record`).
    pub trace: bool,
}

/// The interfaces a node's config names: its instances' and the tracked ones (sync groups'
/// too: an instance starts once all it tracks are reported). The simulated LAN reaches all
/// of them.
pub fn node_interfaces(config: &vrrp_engine::config::Config) -> Vec<String> {
    let mut v: Vec<String> = config
        .instances
        .iter()
        .flat_map(|i| {
            std::iter::once(i.interface.clone())
                .chain(i.track_interfaces.iter().map(|t| t.name.clone()))
        })
        .chain(
            config
                .sync_groups
                .iter()
                .flat_map(|g| g.track_interfaces.iter().map(|t| t.name.clone())),
        )
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The interface a node reads an advert from `src` on, as its kernel would hand it over:
/// the macvlan of the instance with that VRID when it has `use_vmac` without
/// `vmac_xmit_base` (keepalived reads adverts there), else the node's interface `base`.
pub fn receiving_interface(engine: &Engine, base: &str, src: IpAddr, payload: &[u8]) -> String {
    match vrrp_engine::wire::peek_vrid(payload) {
        Some(vrid) => engine
            .advert_interface(base, vrrp_engine::Family::of(&src), vrid)
            .to_string(),
        None => base.to_string(),
    }
}

/// What a backend does with the engine outputs that leave the node (the observer has seen
/// them first; see [`report`]).
pub trait Wire<'a> {
    /// The run's observer.
    fn observer(&mut self) -> &mut Observer<'a>;
    /// The time the observer sees for something the engine does at `now`: `now` itself, or
    /// on turmoil the tick being run (engines there get exact times, the shared observer
    /// sees every host's work of one tick at that tick, so its clock never goes back).
    fn observed(&self, now: Instant) -> Instant {
        now
    }
    /// Node `n` sends `x` at `now`: put it on the network.
    fn transmit(&mut self, now: Instant, n: usize, x: Transmit);
    /// Node `n` sends a gratuitous ARP / unsolicited NA for `addr` at `now`: deliver it to
    /// the clients.
    fn announce(&mut self, now: Instant, n: usize, addr: IpAddr);
    /// A probe of node `n` ends at `at` with `result`: hand it to the engine of this
    /// daemon's incarnation then (as [`Input::ProbeResult`]), not to a later one.
    fn probe_result(
        &mut self,
        at: Instant,
        n: usize,
        checker: CheckerId,
        seq: u64,
        result: ProbeResult,
    );
}

/// Reports one output of node `n` to the observer, then carries it out: packets and
/// announcements through `wire`, a check run answered (when `engine` is given) from the
/// observer's ground truth, a probe answered by the observer's real-server model and
/// scheduled for its end. Returns whether the invariants need checking after the drain.
pub fn report<'a>(
    wire: &mut impl Wire<'a>,
    engine: Option<&mut Engine>,
    now: Instant,
    n: usize,
    out: Output,
) -> bool {
    let seen = wire.observed(now);
    wire.observer().output(seen, n, &out);
    match out {
        Output::StateChanged(_) | Output::SyncGroupChanged(_) => true,
        Output::Transmit(x) => {
            wire.transmit(now, n, x);
            false
        }
        Output::Announce { addr, .. } => {
            wire.announce(now, n, addr);
            false
        }
        Output::RunCheck { script, seq, .. } => {
            let outcome = wire.observer().run_check(seen, n, script);
            if let Some(e) = engine {
                e.handle(
                    now,
                    Input::CheckResult {
                        script,
                        seq,
                        outcome,
                    },
                );
            }
            true
        }
        Output::RunProbe {
            checker,
            seq,
            probe,
        } => {
            if let Some(e) = engine {
                let owner = e.checker_owner(checker).map(|(_, rs)| rs);
                let (after, result) = wire.observer().run_probe(n, owner, &probe);
                wire.probe_result(now + after, n, checker, seq, result);
            }
            false
        }
        // VIPs moved: `vip-iff-master` is checked after the drain.
        Output::AddVip { .. } | Output::RemoveVip { .. } => true,
        Output::Alert(_) => false,
        // Script results and priority changes: events for the observer, nothing to model.
        Output::ScriptChanged(_) | Output::PriorityChanged(_) => false,
        Output::Ipvs(_) | Output::RealServerChanged { .. } | Output::QuorumChanged { .. } => false,
        // Routes and rules are recorded by the observer; nothing on the simulated LAN
        // depends on them.
        Output::AddRoute { .. }
        | Output::RemoveRoute { .. }
        | Output::AddRule { .. }
        | Output::RemoveRule { .. } => false,
        // Accept_Mode off: recorded as events by the observer; clients reach the VIP as a
        // gateway (ARP is not filtered), which is what the world measures.
        Output::BlockVips { .. } | Output::UnblockVips { .. } => false,
    }
}

/// A node's daemon starts with `config` at `now`: its engine (seeded from the run's seed,
/// [`Observer::engine_seed`]), numbered for the observer; or `None` (reported as a fault
/// event) when the engine refuses the configuration.
pub fn start_engine(
    obs: &mut Observer<'_>,
    now: Instant,
    n: usize,
    config: Config,
) -> Option<Engine> {
    match Engine::with_seed(config, now, obs.engine_seed(n)) {
        Ok(mut e) => {
            obs.sync_config(n, &e);
            feed_processes(obs, &mut e, now, n);
            Some(e)
        }
        Err(e) => {
            obs.event(now, Some(n), "fault", format!("cannot start: {e}"));
            None
        }
    }
}

/// A `reload` fault on a running engine: the engine's reconfiguration, then the observer
/// takes the new numbering of instances and scripts. Drain afterwards.
pub fn reload_engine(
    obs: &mut Observer<'_>,
    engine: &mut Engine,
    now: Instant,
    n: usize,
    config: Config,
) {
    match engine.reconfigure(now, config) {
        Ok(_) => {
            obs.sync_config(n, engine);
            feed_processes(obs, engine, now, n);
        }
        Err(e) => obs.event(now, Some(n), "fault", format!("reload refused: {e}")),
    }
}

/// Node `n`'s tracked-process counts to its engine, as the daemon reports them at start
/// and after a reload (before the interfaces, so instances start with them): the count a
/// `process_stop` / `process_start` set, else the block's `quorum` (the node's services run).
pub fn feed_processes(obs: &Observer<'_>, engine: &mut Engine, now: Instant, n: usize) {
    let list: Vec<_> = engine
        .track_processes()
        .map(|(id, c)| (id, c.name.clone(), c.quorum))
        .collect();
    for (process, name, quorum) in list {
        let count = obs.processes.get(&(n, name)).copied().unwrap_or(quorum);
        engine.handle(
            now,
            Input::ProcessCount {
                process,
                count,
                change: ProcessChange::Other,
            },
        );
    }
}

/// A `process_stop` / `process_start` fault on node `n`: the model's count, then the running
/// engine's input (an exit when fewer run; a start is an exec, which keepalived counts at
/// once). Drain afterwards.
pub fn set_process(
    obs: &mut Observer<'_>,
    engine: Option<&mut Engine>,
    now: Instant,
    n: usize,
    name: &str,
    count: u32,
) {
    let before = obs.processes.insert((n, name.to_string()), count);
    let Some(engine) = engine else {
        return;
    };
    let Some((process, cfg)) = engine.track_processes().find(|(_, c)| c.name == name) else {
        obs.event(
            now,
            Some(n),
            "fault",
            format!("no vrrp_track_process {name} on this node"),
        );
        return;
    };
    let before = before.unwrap_or(cfg.quorum);
    let change = if count < before {
        ProcessChange::Exit
    } else {
        ProcessChange::Other
    };
    engine.handle(
        now,
        Input::ProcessCount {
            process,
            count,
            change,
        },
    );
}

/// What a node tells its engine about its interfaces: every one `names` lists, with the
/// node's addresses, up or down together.
pub fn interface_updates(plan: &NodePlan, names: &[String], up: bool) -> Vec<InterfaceUpdate> {
    names
        .iter()
        .map(|name| InterfaceUpdate {
            name: name.clone(),
            up,
            ipv4: Some(plan.address),
            ipv6_link_local: Some(plan.ipv6_link_local),
        })
        .collect()
}

/// The instances a `priority` fault names on a running engine: the one called `instance`,
/// or every live one. Ids come from the engine, so they stay right across reloads.
pub fn priority_targets(engine: &Engine, instance: Option<&str>) -> Vec<vrrp_engine::InstanceId> {
    match instance {
        Some(name) => engine.instance_id(name).into_iter().collect(),
        None => engine.instance_ids().collect(),
    }
}

/// Processes every output of node `n`'s `engine` until it is quiet ([`report`]), then hands
/// the quiet engine to the observer ([`Observer::after_drain`]: the per-node invariants if a
/// state changed, a check ran or VIPs moved, and the engine's view for the settled checks);
/// `link_up`: whether `n`'s link is up.
pub fn drain<'a>(
    wire: &mut impl Wire<'a>,
    engine: &mut Engine,
    now: Instant,
    n: usize,
    link_up: bool,
) {
    let mut check_invariants = false;
    while let Some(out) = engine.poll_output() {
        check_invariants |= report(wire, Some(engine), now, n, out);
    }
    let seen = wire.observed(now);
    wire.observer()
        .after_drain(seen, n, engine, link_up, check_invariants);
}

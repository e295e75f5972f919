//! The invariants that need time to become true, and their grace periods.
//!
//! A failover system is allowed to be wrong for a while after something happened: a Backup
//! needs Master_Down_Interval to notice a dead Master, a preemption overlaps two Masters for
//! one propagation delay, a check needs `fall` runs to fail. An invariant that ignores this
//! cries wolf; one that waits for ever finds nothing. [`Bounds`] derives every wait from the
//! RFC timers of the configurations a run may use (RFC 3768 / RFC 5798 §6.1, §6.4), and
//! `Invariants` keeps two clocks the checks below run on. Both need a **healthy** network
//! (no cut, no loss or burst, every link up, the configured latency); a change of health
//! restarts them.
//!
//! - **External events**: a timeline fault, a daemon start or exit, a health check's ground
//!   truth changing (a flap edge), the network's health changing. The run is **quiet** once
//!   none happened for [`Bounds::quiet`], the longest chain of consequences one event can
//!   have. While quiet: `no-change-when-settled` (no instance changes state: a transition
//!   with nothing to cause it is a false takeover or a flap).
//! - **Any change**: an external event, or one the engines report (an instance's state,
//!   effective priority or fault cause, read after every drain). The run is **settled** once
//!   none happened for [`Bounds::settle`], the longest single step of such a chain. Then,
//!   once per settled period, at its first instant: `highest-priority-wins` (per VRID, a
//!   running instance with the highest effective priority is Master, unless every such
//!   instance has `nopreempt`; and some instance is Master) and `fault-follows-truth` (an
//!   instance is FAULT exactly while the ground truth says a weight-0 tracked check or
//!   process fails: no stuck FAULT, no missed one).
//! - After every drain: `announce-on-takeover` (an instance that became Master announced every
//!   VIP in the same instant, RFC 5798 §6.4.2 "broadcast a gratuitous ARP request ... for
//!   each IP address associated with the virtual router"; keepalived's `garp_master_repeat`,
//!   unless set to 0).
//!
//! Members of a `vrrp_sync_group` are left out of `highest-priority-wins` and
//! `fault-follows-truth`: keepalived 2.2.7 moves them together ("only sync to master if
//! everyone wants to"), so a member may rightly stay Backup at the highest priority, and a
//! member is FAULT for another member's check; `fault-iff-check-fails` covers them. So are
//! instances with a `track_file` (the simulator models no file contents).

use crate::experiment::model::{Fault, Variant};
use crate::experiment::schema::LatencySpec;
use crate::observe::checks::CheckTable;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;
use vrrp_engine::config::Config;
use vrrp_engine::io::FaultCause;
use vrrp_engine::timing::{master_down_interval, normalize_interval};
use vrrp_engine::{Engine, Family, Instant, State};

/// Slack added to the settle time: on the turmoil backend latencies are whole ms, faults act
/// from the start of their 1 ms tick and the observer sees every time at its tick; on the
/// event queue it only makes the check later.
pub const SLACK: Duration = Duration::from_millis(5);

/// The grace periods of one run, from every configuration it may use (the nodes' and the
/// timeline's reloads) and every latency it may have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bounds {
    /// L: the largest one-way latency of any link, at any time of the run.
    pub latency: Duration,
    /// A: the largest Advertisement_Interval (as the wire carries it).
    pub advert: Duration,
    /// The largest Master_Down_Interval: `3 * A + Skew_Time` at priority 1 (RFC 5798 §6.1,
    /// RFC 3768 §6.1), so also for a Backup that learned the slowest Master's interval.
    pub master_down: Duration,
    /// P: the largest `preempt_delay`.
    pub preempt_delay: Duration,
    /// S: the longest a `vrrp_script` takes to follow its check: `(max(rise, fall) + 1)`
    /// runs of `interval` (the first run after a change comes within one interval).
    pub script: Duration,
    /// T: the longest `fork_delay` + `terminate_delay` of a `vrrp_track_process`.
    pub process: Duration,
    /// The largest `vrrp_startup_delay`.
    pub startup: Duration,
    /// Some instance does not answer a lower-priority advert (`lower_prio_no_advert`, RFC
    /// 5798's original §6.4.3 rather than RFC 9568's).
    pub silent_on_lower: bool,
}

impl Bounds {
    /// The bounds of `v`.
    pub fn of(v: &Variant) -> Bounds {
        let configs: Vec<&Config> = v
            .nodes
            .iter()
            .map(|n| &n.config)
            .chain(v.timeline.iter().filter_map(|f| match &f.fault {
                Fault::Reload { config, .. } => Some(&**config),
                _ => None,
            }))
            .collect();
        let mut b = Bounds {
            latency: v.network.max_latency(),
            ..Bounds::default()
        };
        for f in &v.timeline {
            if let Fault::Latency(l) = &f.fault {
                b.latency = b.latency.max(max_latency(l));
            }
        }
        for c in &configs {
            for i in &c.instances {
                let a = normalize_interval(i.version, i.advert_interval);
                b.advert = b.advert.max(a);
                b.master_down = b.master_down.max(master_down_interval(i.version, 1, a));
                b.preempt_delay = b.preempt_delay.max(i.preempt_delay);
                b.silent_on_lower |= !i.advert_on_lower_priority;
            }
            for s in &c.scripts {
                let runs = s.rise.max(s.fall).max(1) + 1;
                b.script = b.script.max(s.interval * runs);
            }
            for p in &c.track_processes {
                b.process = b.process.max(p.fork_delay + p.terminate_delay);
            }
            b.startup = b.startup.max(c.global.startup_delay);
        }
        b
    }

    /// How long two Masters of one VRID may overlap on a healthy network. A new Master sends
    /// its advert before it transitions (RFC 5798 §6.4.2), and a Master hearing a higher
    /// priority (or an equal one from a greater address) becomes Backup at once (§6.4.3):
    /// one propagation delay. But the new Master may have taken over on stale news (the
    /// other's priority rose after its last advert, while the timer ran): then the other,
    /// hearing a lower priority, answers at once (RFC 9568 §6.4.3, keepalived's default),
    /// two delays; or, with `lower_prio_no_advert` (RFC 5798 as first written), only at its
    /// next Adver_Timer: one advert interval and a delay. Plus 1 ms for turmoil's tick, which
    /// rounds deliveries up.
    pub fn split_grace(&self) -> Duration {
        let answer = if self.silent_on_lower {
            self.advert + self.latency
        } else {
            self.latency * 2
        };
        answer + Duration::from_millis(1)
    }

    /// How long after a disturbance the protocol must have reached its steady state on a
    /// healthy network: the longest single step of any chain of consequences, each step
    /// being itself a disturbance that restarts the clock.
    ///
    /// - A Backup that should take over (its Master died, or it preempts a lower priority):
    ///   its Master_Down_Timer was last reset by an advert it accepted, at most one advert
    ///   interval and one delay after the disturbance, or, with `preempt_delay`, while the
    ///   delay held: `A + L + P + Master_Down_Interval` (RFC 5798 §6.4.2; keepalived's
    ///   preempt_delay accepts lower-priority adverts until it ends).
    /// - A check's verdict: `S`. A tracked process: `T`. A daemon's instances: its
    ///   `vrrp_startup_delay`.
    pub fn settle(&self) -> Duration {
        self.election()
            .max(self.script)
            .max(self.process)
            .max(self.startup)
            + SLACK
    }

    /// One election step: a Backup's Master_Down_Timer, last reset at most one advert and
    /// one delay after the event (or while `preempt_delay` held): `A + L + P +
    /// Master_Down_Interval`.
    fn election(&self) -> Duration {
        self.advert + self.latency + self.preempt_delay + self.master_down
    }

    /// The longest chain of consequences of one external event on a healthy network: what
    /// triggers the protocol (a check's verdict after `S`, a tracked process after `T`, a
    /// daemon's `vrrp_startup_delay`), then two elections (the first Backup whose timer runs
    /// out may be preempted by a higher one that was still accepting adverts), then the end
    /// of a takeover on stale news ([`Bounds::split_grace`]). After that, nothing changes
    /// state until the next event.
    pub fn quiet(&self) -> Duration {
        self.script.max(self.process).max(self.startup)
            + self.election() * 2
            + self.split_grace()
            + SLACK
    }
}

/// The largest one-way delay a latency spec can draw.
fn max_latency(l: &LatencySpec) -> Duration {
    match l {
        LatencySpec::Fixed(d) => d.0,
        LatencySpec::Range(r) => r.max.0,
    }
}

/// How much a run's timed invariants looked at.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Coverage {
    /// Settled periods whose checks ran (`highest-priority-wins`, `fault-follows-truth`).
    pub settled_checks: u64,
    /// Time the run was quiet (`no-change-when-settled` armed).
    pub quiet: Duration,
}

/// One instance as its engine saw it after its last drain.
#[derive(Clone, Debug, PartialEq, Eq)]
struct View {
    state: State,
    priority: u8,
    fault: Option<FaultCause>,
}

impl Default for View {
    fn default() -> Self {
        View {
            state: State::Initialize,
            priority: 0,
            fault: None,
        }
    }
}

/// What the settled checks read besides the engines' views: each node's configuration as
/// its engine numbers it, and the ground truth of checks and tracked processes.
pub(crate) struct Truth<'a> {
    /// Per node: its configuration (instances in id order).
    pub configs: &'a [Config],
    /// The health checks' ground truth.
    pub checks: &'a CheckTable,
    /// The tracked processes' counts a fault set (others run `quorum` times).
    pub processes: &'a BTreeMap<(usize, String), u32>,
    /// Node names, for the messages.
    pub names: &'a [String],
}

/// The settled clock and the engines' views (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct Invariants {
    bounds: Bounds,
    settle: Duration,
    quiet: Duration,
    /// The last external event.
    quiet_since: Instant,
    /// `no-change-when-settled` was reported in the current quiet period.
    quiet_reported: bool,
    /// Coverage: how often the settled checks ran, how long the run was quiet.
    coverage: Coverage,
    /// Per node, per instance id.
    views: Vec<Vec<View>>,
    running: Vec<bool>,
    healthy: bool,
    since: Instant,
    /// The checks of the current settled period ran (at its first instant).
    checked: bool,
    /// A violation was found in the current settled period (one report per period).
    reported: bool,
    /// Set by the first drain: engines drive this run (not a lab replay's trace).
    driven: bool,
    /// Instances (node, id) that became Master in the drain under way.
    became_master: Vec<(usize, u32)>,
    /// Announcements (node, id, address) made in the drain under way, while one is pending.
    announced: Vec<(usize, u32, IpAddr)>,
}

impl Invariants {
    /// The invariants of `v` with `nodes` nodes; `healthy`: the network at time zero.
    pub fn new(v: &Variant, healthy: bool) -> Self {
        let bounds = Bounds::of(v);
        Invariants {
            settle: bounds.settle(),
            quiet: bounds.quiet(),
            quiet_since: Instant::ZERO,
            quiet_reported: false,
            coverage: Coverage::default(),
            bounds,
            views: v
                .nodes
                .iter()
                .map(|p| vec![View::default(); p.config.instances.len()])
                .collect(),
            running: vec![false; v.nodes.len()],
            healthy,
            since: Instant::ZERO,
            checked: false,
            reported: false,
            driven: false,
            became_master: Vec::new(),
            announced: Vec::new(),
        }
    }

    /// The run's grace periods.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// A change the engines reported: the settled checks wait for the next step.
    fn disturb(&mut self, now: Instant) {
        self.since = now;
        self.checked = false;
        self.reported = false;
    }

    /// An external event (a fault, a flap edge): both clocks restart.
    pub fn event(&mut self, now: Instant) {
        self.close_quiet(now);
        self.disturb(now);
        self.quiet_reported = false;
    }

    /// The quiet period (if any) ends at `now`: count its length; the quiet clock restarts.
    fn close_quiet(&mut self, now: Instant) {
        let from = self.quiet_since + self.quiet;
        if self.driven && self.healthy && now > from {
            self.coverage.quiet += now - from;
        }
        self.quiet_since = now;
    }

    /// The network's health as the backend computes it.
    pub fn set_health(&mut self, now: Instant, healthy: bool) {
        if healthy != self.healthy {
            self.close_quiet(now);
            self.healthy = healthy;
            self.event(now);
        }
    }

    /// The run ends at `end`: how much the timed invariants had to look at.
    pub fn finish(&mut self, end: Instant) -> Coverage {
        self.close_quiet(end);
        self.coverage
    }

    /// Node `n`'s daemon started.
    pub fn node_started(&mut self, now: Instant, n: usize) {
        if let Some(r) = self.running.get_mut(n) {
            *r = true;
        }
        self.event(now);
    }

    /// Node `n`'s daemon is gone: none of its instances runs.
    pub fn node_gone(&mut self, now: Instant, n: usize) {
        if let Some(r) = self.running.get_mut(n) {
            *r = false;
        }
        if let Some(v) = self.views.get_mut(n) {
            v.iter_mut().for_each(|x| *x = View::default());
        }
        self.event(now);
    }

    /// Node `n`'s engine numbers `len` instances (a reload appends).
    pub fn resize(&mut self, n: usize, len: usize) {
        if let Some(v) = self.views.get_mut(n) {
            v.resize(len, View::default());
        }
    }

    /// Whether the run is settled at `now` (healthy, nothing happened for the settle time).
    fn settled(&self, now: Instant) -> bool {
        self.driven && self.healthy && now > self.since + self.settle
    }

    /// The instant the settled checks are due, if they are due before `now` (strictly: a
    /// change at that very instant is still in time).
    pub fn due(&self, now: Instant) -> Option<Instant> {
        let at = self.since + self.settle;
        (!self.checked && self.settled(now)).then_some(at)
    }

    /// Instance `i` of node `n` changes state at `now`: a violation of
    /// `no-change-when-settled` when the run was quiet; the settled clock restarts either way.
    pub fn transition(
        &mut self,
        now: Instant,
        n: usize,
        i: u32,
        to: State,
    ) -> Option<(&'static str, String)> {
        let quiet = self.driven && self.healthy && now > self.quiet_since + self.quiet;
        let found = (quiet && !self.quiet_reported).then(|| {
            (
                "no-change-when-settled",
                format!(
                    "a transition to {} with nothing to cause it: no fault, start, check or \
                     network change for {:.6} s (longest chain of consequences {:.6} s) on a \
                     healthy network",
                    to.as_str(),
                    (now - self.quiet_since).as_secs_f64(),
                    self.quiet.as_secs_f64()
                ),
            )
        });
        if to == State::Master {
            self.became_master.push((n, i));
        }
        self.disturb(now);
        if found.is_some() {
            self.quiet_reported = true;
        }
        found
    }

    /// Node `n` announced `addr` for instance `i` (kept only while a takeover waits for its
    /// announcements).
    pub fn announce(&mut self, n: usize, i: u32, addr: IpAddr) {
        if !self.became_master.is_empty() {
            self.announced.push((n, i, addr));
        }
    }

    /// Node `n`'s engine is quiet after a drain at `now`: check `announce-on-takeover`, then
    /// read every instance's state, effective priority and fault cause (a change is a
    /// disturbance).
    pub fn after_drain(
        &mut self,
        now: Instant,
        n: usize,
        engine: &Engine,
        config: &Config,
        node_name: &str,
    ) -> Vec<(&'static str, String)> {
        self.driven = true;
        let mut found = Vec::new();
        for (node, i) in std::mem::take(&mut self.became_master) {
            let Some(inst) = config.instances.get(i as usize) else {
                continue;
            };
            let still = engine.state(vrrp_engine::InstanceId(i)) == Some(State::Master);
            if node != n || !still || inst.garp.master_repeat == 0 {
                continue;
            }
            let missing: Vec<String> = inst
                .vips
                .iter()
                .chain(&inst.vips_excluded)
                .filter(|v| !self.announced.contains(&(n, i, v.addr)))
                .map(|v| v.addr.to_string())
                .collect();
            if !missing.is_empty() {
                found.push((
                    "announce-on-takeover",
                    format!(
                        "{} on {node_name} became MASTER without announcing {} (garp_master_repeat {})",
                        inst.name,
                        missing.join(", "),
                        inst.garp.master_repeat
                    ),
                ));
            }
        }
        self.announced.clear();
        let mut changed = false;
        if let Some(views) = self.views.get_mut(n) {
            // Every id, removed instances too: a reload's removal leaves them in INIT.
            for (idx, v) in views.iter_mut().enumerate() {
                let id = vrrp_engine::InstanceId(idx as u32);
                let state = engine.state(id).unwrap_or(State::Initialize);
                let priority = engine.effective_priority(id).unwrap_or(0);
                let fault = engine.fault_cause(id);
                if v.state != state || v.priority != priority || v.fault.as_ref() != fault {
                    *v = View {
                        state,
                        priority,
                        fault: fault.cloned(),
                    };
                    changed = true;
                }
            }
        }
        if changed {
            self.disturb(now);
        }
        found
    }

    /// The checks of a settled period, as of `at` (its first instant); `truth` is what the
    /// world says. Marks the period checked.
    pub fn settled_checks(
        &mut self,
        at: Instant,
        truth: &Truth<'_>,
    ) -> Vec<(&'static str, String)> {
        self.checked = true;
        self.coverage.settled_checks += 1;
        let mut found = self.highest_priority_wins(truth);
        found.extend(self.fault_follows_truth(at, truth));
        if !found.is_empty() {
            self.reported = true;
        }
        found
    }

    /// Per VRID: some running instance is Master, and one with the highest effective
    /// priority is, unless every instance at that priority has `nopreempt` (RFC 5798
    /// §6.4.2: a Backup with Preempt_Mode False accepts any advert; with preempt, a higher
    /// priority lets its Master_Down_Timer run out and takes over; equal priorities do not
    /// preempt).
    fn highest_priority_wins(&self, truth: &Truth<'_>) -> Vec<(&'static str, String)> {
        struct Cand<'a> {
            node: usize,
            name: &'a str,
            state: State,
            priority: u8,
            preempt: bool,
        }
        let mut by_vrid: BTreeMap<(Family, u8), Vec<Cand<'_>>> = BTreeMap::new();
        let mut grouped: Vec<(Family, u8)> = Vec::new();
        for (n, views) in self.views.iter().enumerate() {
            if !self.running[n] {
                continue;
            }
            let Some(cfg) = truth.configs.get(n) else {
                continue;
            };
            for (i, v) in views.iter().enumerate() {
                if !matches!(v.state, State::Backup | State::Master) {
                    continue;
                }
                let Some(inst) = cfg.instances.get(i) else {
                    continue;
                };
                let key = (inst.family(), inst.vrid);
                if in_sync_group(cfg, &inst.name) {
                    grouped.push(key);
                }
                by_vrid.entry(key).or_default().push(Cand {
                    node: n,
                    name: &inst.name,
                    state: v.state,
                    priority: v.priority,
                    preempt: inst.preempt,
                });
            }
        }
        let mut found = Vec::new();
        for (key, cands) in &by_vrid {
            if grouped.contains(key) {
                continue;
            }
            let who = |c: &Cand<'_>| {
                format!(
                    "{} on {} (priority {})",
                    c.name, truth.names[c.node], c.priority
                )
            };
            let masters: Vec<&Cand<'_>> =
                cands.iter().filter(|c| c.state == State::Master).collect();
            if masters.is_empty() {
                let backups: Vec<String> = cands.iter().map(who).collect();
                found.push((
                    "highest-priority-wins",
                    format!(
                        "no Master for VRID {}: {} Backup",
                        key.1,
                        backups.join(", ")
                    ),
                ));
                continue;
            }
            let best = cands.iter().map(|c| c.priority).max().unwrap_or(0);
            if masters.iter().any(|m| m.priority == best) {
                continue;
            }
            if let Some(c) = cands.iter().find(|c| c.priority == best && c.preempt) {
                let ms: Vec<String> = masters.iter().map(|m| who(m)).collect();
                found.push((
                    "highest-priority-wins",
                    format!(
                        "VRID {}: {} is Master while {} with preempt is Backup",
                        key.1,
                        ms.join(", "),
                        who(c)
                    ),
                ));
            }
        }
        found
    }

    /// Every running instance outside a sync group is FAULT exactly while the ground truth
    /// says one of its weight-0 tracked scripts fails or one of its weight-0 tracked processes
    /// is out of its quorum (in it, with `reverse`). The network is healthy here, so no link
    /// is down.
    fn fault_follows_truth(&self, at: Instant, truth: &Truth<'_>) -> Vec<(&'static str, String)> {
        let mut found = Vec::new();
        for (n, views) in self.views.iter().enumerate() {
            if !self.running[n] {
                continue;
            }
            let Some(cfg) = truth.configs.get(n) else {
                continue;
            };
            for (i, v) in views.iter().enumerate() {
                if v.state == State::Initialize {
                    continue;
                }
                let Some(inst) = cfg.instances.get(i) else {
                    continue;
                };
                if in_sync_group(cfg, &inst.name) || !inst.track_files.is_empty() {
                    continue;
                }
                let expected = expected_fault(n, cfg, inst, at, truth);
                let actual = v.state == State::Fault;
                if expected.is_some() == actual {
                    continue;
                }
                let detail = match (&expected, &v.fault) {
                    (Some(why), _) => format!(
                        "{} on {} is {} although {why}",
                        inst.name,
                        truth.names[n],
                        v.state.as_str()
                    ),
                    (None, Some(cause)) => format!(
                        "{} on {} is FAULT ({cause:?}) although nothing faults it any more",
                        inst.name, truth.names[n]
                    ),
                    (None, None) => format!(
                        "{} on {} is FAULT although nothing faults it",
                        inst.name, truth.names[n]
                    ),
                };
                found.push(("fault-follows-truth", detail));
            }
        }
        found
    }
}

/// Whether instance `name` of `cfg` is a member of a `vrrp_sync_group`.
fn in_sync_group(cfg: &Config, name: &str) -> bool {
    cfg.sync_groups
        .iter()
        .any(|g| g.instances.iter().any(|m| m == name))
}

/// Why the ground truth says instance `inst` of node `n` should be FAULT at `at`, if it does.
fn expected_fault(
    n: usize,
    cfg: &Config,
    inst: &vrrp_engine::config::InstanceConfig,
    at: Instant,
    truth: &Truth<'_>,
) -> Option<String> {
    for t in &inst.track_scripts {
        let Some(s) = cfg.scripts.iter().find(|s| s.name == t.name) else {
            continue;
        };
        if t.weight.unwrap_or(s.weight) == 0 && truth.checks.failing(n, &t.name, at.offset()) {
            return Some(format!("its weight-0 check {} fails", t.name));
        }
    }
    for t in &inst.track_processes {
        let Some(p) = cfg.track_processes.iter().find(|p| p.name == t.name) else {
            continue;
        };
        let weight = t.weight.unwrap_or(p.weight);
        let reverse = t.reverse.unwrap_or(p.reverse);
        let count = truth
            .processes
            .get(&(n, t.name.clone()))
            .copied()
            .unwrap_or(p.quorum);
        if weight == 0 && p.in_quorum(count) == reverse {
            return Some(format!(
                "its weight-0 tracked process {} has {count} running (quorum {})",
                t.name, p.quorum
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::model::CheckBehaviour;
    use std::path::Path;

    /// Two nodes: `a` (priority 100) and `b` (priority 90), v2, 1 s adverts, latency up to
    /// 500 us, a `chk` script of weight `w` (interval 2 s, fall 2, rise 1) tracked by both.
    fn pair(w: i32, nopreempt_a: bool) -> Variant {
        let node = |name: &str, addr: &str, prio: u8, extra: &str| {
            format!(
                "[[nodes]]\nname = \"{name}\"\naddress = \"{addr}\"\nconfig = '''\nvrrp_script chk {{\n    script \"/bin/true\"\n    interval 2\n    weight {w}\n    fall 2\n    rise 1\n}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority {prio}\n{extra}    virtual_ipaddress {{\n        10.0.0.100/24\n    }}\n    track_script {{\n        chk\n    }}\n}}\n'''\n"
            )
        };
        let text = format!(
            "name = \"t\"\nduration = \"60s\"\n[network]\nlatency = {{ min = \"50us\", max = \"500us\" }}\n{}{}",
            node("a", "10.0.0.1", 100, if nopreempt_a { "    nopreempt\n" } else { "" }),
            node("b", "10.0.0.2", 90, "")
        );
        let exp = crate::experiment::parse(Path::new("t.toml"), &text).expect("valid");
        exp.variants[0].clone()
    }

    fn view(state: State, priority: u8, fault: Option<FaultCause>) -> View {
        View {
            state,
            priority,
            fault,
        }
    }

    fn running(v: &Variant) -> Invariants {
        let mut inv = Invariants::new(v, true);
        inv.running = vec![true; v.nodes.len()];
        inv.driven = true;
        inv
    }

    fn truth<'a>(
        configs: &'a [Config],
        checks: &'a CheckTable,
        processes: &'a BTreeMap<(usize, String), u32>,
        names: &'a [String],
    ) -> Truth<'a> {
        Truth {
            configs,
            checks,
            processes,
            names,
        }
    }

    #[test]
    fn bounds_follow_the_rfc_timers() {
        let b = Bounds::of(&pair(-5, false));
        let us = Duration::from_micros;
        assert_eq!(b.latency, us(500));
        assert_eq!(b.advert, Duration::from_secs(1));
        // 3 x 1 s + (256 - 1) / 256 s.
        assert_eq!(b.master_down, Duration::from_nanos(3_996_093_750));
        // (max(rise 1, fall 2) + 1) runs of 2 s.
        assert_eq!(b.script, Duration::from_secs(6));
        // RFC 9568 answer on a lower priority: two delays, plus turmoil's tick.
        assert_eq!(b.split_grace(), us(2_000));
        // max(1 s + 500 us + 3.99609375 s, 6 s) + 5 ms.
        assert_eq!(b.settle(), Duration::from_millis(6_005));
        // 6 s + 2 x 4.99659375 s + 2 ms + 5 ms.
        assert_eq!(b.quiet(), Duration::from_nanos(16_000_187_500));
    }

    #[test]
    fn a_lower_master_over_a_preempting_higher_backup_breaks_highest_priority_wins() {
        let v = pair(-5, false);
        let configs: Vec<Config> = v.nodes.iter().map(|n| n.config.clone()).collect();
        let names: Vec<String> = v.nodes.iter().map(|n| n.name.clone()).collect();
        let (checks, procs) = (CheckTable::new(0), BTreeMap::new());
        let t = truth(&configs, &checks, &procs, &names);
        let mut inv = running(&v);
        inv.views = vec![
            vec![view(State::Backup, 100, None)],
            vec![view(State::Master, 90, None)],
        ];
        let found = inv.highest_priority_wins(&t);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("VI_1 on b (priority 90) is Master while VI_1 on a (priority 100) with preempt is Backup"), "{found:?}");
        // The right Master, or the same at an equal priority: nothing.
        inv.views[1][0].priority = 100;
        assert!(inv.highest_priority_wins(&t).is_empty());
        inv.views = vec![
            vec![view(State::Master, 100, None)],
            vec![view(State::Backup, 90, None)],
        ];
        assert!(inv.highest_priority_wins(&t).is_empty());
        // Nobody is Master.
        inv.views[0][0].state = State::Backup;
        let found = inv.highest_priority_wins(&t);
        assert!(found[0].1.starts_with("no Master for VRID 51"), "{found:?}");
        // A node that is not running is no candidate.
        inv.running[0] = false;
        inv.views[1][0].state = State::Master;
        assert!(inv.highest_priority_wins(&t).is_empty());
    }

    #[test]
    fn nopreempt_lets_a_lower_master_keep_the_vip() {
        let v = pair(-5, true);
        let configs: Vec<Config> = v.nodes.iter().map(|n| n.config.clone()).collect();
        let names: Vec<String> = v.nodes.iter().map(|n| n.name.clone()).collect();
        let (checks, procs) = (CheckTable::new(0), BTreeMap::new());
        let mut inv = running(&v);
        inv.views = vec![
            vec![view(State::Backup, 100, None)],
            vec![view(State::Master, 90, None)],
        ];
        assert!(inv
            .highest_priority_wins(&truth(&configs, &checks, &procs, &names))
            .is_empty());
    }

    #[test]
    fn fault_follows_the_ground_truth_of_weight_0_checks() {
        let v = pair(0, false);
        let configs: Vec<Config> = v.nodes.iter().map(|n| n.config.clone()).collect();
        let names: Vec<String> = v.nodes.iter().map(|n| n.name.clone()).collect();
        let procs = BTreeMap::new();
        let at = Instant::from_offset(Duration::from_secs(30));
        let mut checks = CheckTable::new(0);
        let mut inv = running(&v);
        // Stuck: FAULT for a check that passes.
        inv.views = vec![
            vec![view(
                State::Fault,
                100,
                Some(FaultCause::Script("chk".into())),
            )],
            vec![view(State::Master, 90, None)],
        ];
        let found = inv.fault_follows_truth(at, &truth(&configs, &checks, &procs, &names));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("VI_1 on a is FAULT"), "{found:?}");
        // Right: FAULT while it fails.
        checks.set(0, "chk", CheckBehaviour::Fail, Duration::ZERO);
        assert!(inv
            .fault_follows_truth(at, &truth(&configs, &checks, &procs, &names))
            .is_empty());
        // Missed: Master while its weight-0 check fails.
        inv.views[0][0] = view(State::Master, 100, None);
        let found = inv.fault_follows_truth(at, &truth(&configs, &checks, &procs, &names));
        assert!(
            found[0]
                .1
                .contains("VI_1 on a is MASTER although its weight-0 check chk fails"),
            "{found:?}"
        );
    }

    #[test]
    fn a_transition_when_quiet_is_reported_once_per_quiet_period() {
        let v = pair(-5, false);
        let mut inv = running(&v);
        let quiet = inv.quiet;
        let t = |d: Duration| Instant::from_offset(d);
        // Within the chain of consequences of the start: nothing.
        assert!(inv.transition(t(quiet), 0, 0, State::Master).is_none());
        let late = quiet + Duration::from_secs(1);
        let found = inv.transition(t(late), 0, 0, State::Backup);
        assert_eq!(found.map(|f| f.0), Some("no-change-when-settled"));
        assert!(inv
            .transition(t(late + Duration::from_secs(1)), 0, 0, State::Master)
            .is_none());
        // An event starts a new period; an unhealthy network arms nothing.
        inv.event(t(late * 2));
        inv.set_health(t(late * 2), false);
        assert!(inv.transition(t(late * 4), 0, 0, State::Backup).is_none());
        inv.set_health(t(late * 4), true);
        assert!(inv
            .transition(t(late * 5 + quiet), 0, 0, State::Master)
            .is_some());
    }

    #[test]
    fn a_takeover_must_announce_every_vip_in_the_same_drain() {
        let v = pair(-5, false);
        let mut cfg = v.nodes[0].config.clone();
        // The owner wanting MASTER: Master at once.
        cfg.instances[0].priority = 255;
        cfg.instances[0].initial_state = vrrp_engine::config::InitialState::Master;
        let mut e = Engine::new(cfg.clone(), Instant::ZERO).expect("runs");
        e.handle(
            Instant::ZERO,
            vrrp_engine::Input::Interface(vrrp_engine::InterfaceUpdate {
                name: "eth0".into(),
                up: true,
                ipv4: Some("10.0.0.1".parse().unwrap()),
                ipv6_link_local: None,
            }),
        );
        while e.poll_output().is_some() {}
        assert_eq!(e.state(vrrp_engine::InstanceId(0)), Some(State::Master));
        let vip: IpAddr = "10.0.0.100".parse().unwrap();
        let mut inv = running(&v);
        inv.transition(Instant::ZERO, 0, 0, State::Master);
        inv.announce(0, 0, vip);
        assert!(inv.after_drain(Instant::ZERO, 0, &e, &cfg, "a").is_empty());
        inv.transition(Instant::ZERO, 0, 0, State::Master);
        let found = inv.after_drain(Instant::ZERO, 0, &e, &cfg, "a");
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].1,
            "VI_1 on a became MASTER without announcing 10.0.0.100 (garp_master_repeat 5)"
        );
    }
}

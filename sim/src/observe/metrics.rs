//! Per-run results, the event log of a recorded run, and the invariants checked on every run.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use vrrp_engine::{Instant, State};

/// What one run of one variant and seed measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Variant name.
    pub variant: String,
    /// Seed.
    pub seed: u64,
    /// Times the Master of a VRID changed to another node (the first election not counted).
    pub master_changes: u64,
    /// Transitions into MASTER, all nodes.
    pub master_transitions: u64,
    /// Gaps with no Master after having one (seconds), in order.
    pub failover_times: Vec<f64>,
    /// For takeovers by timer: time from the last advert the new Master received (seconds).
    pub takeover_after_last_advert: Vec<f64>,
    /// The RFC's value for each of those takeovers: Skew_Time after a priority-0 advert,
    /// else Master_Down_Interval (RFC 3768 / RFC 5798 §6.1, §6.4.2), for the new Master's
    /// priority and interval at the time.
    pub takeover_theory: Vec<f64>,
    /// What each of those takeovers answered (same order): a silent Master, a priority-0
    /// advert, or a preemption of a live lower-priority Master.
    pub takeover_cause: Vec<TakeoverCause>,
    /// Times a node became Master while another already was (false takeovers under loss,
    /// partitions; a preemption's brief overlap counts too).
    pub split_brain_episodes: u64,
    /// Time no node answered at a VIP (seconds, summed over VIPs).
    pub downtime: f64,
    /// Time clients pointed at a node not answering while another did (seconds).
    pub blackhole: f64,
    /// Time clients were served by a node whose health check was failing (seconds).
    pub unhealthy_served: f64,
    /// Time with two or more Masters for a VRID (seconds, summed over VRIDs).
    pub split_brain: f64,
    /// Adverts sent, all nodes.
    pub adverts_sent: u64,
    /// Simulated seconds of the run.
    pub simulated_s: f64,
    /// Invariant violations.
    pub violations: Vec<Violation>,
    /// Settled periods whose checks ran (`highest-priority-wins`, `fault-follows-truth`).
    pub settled_checks: u64,
    /// Simulated seconds the run was quiet (`no-change-when-settled` armed).
    pub quiet_s: f64,
    /// LVS: real-server faults and client requests (`None` when no node has a
    /// `virtual_server`).
    pub lvs: Option<LvsResult>,
}

/// Why a Backup's Master_Down_Timer ran out (RFC 5798 §6.4.2), told apart by the last
/// advert it had received: the timer measures different things in each case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TakeoverCause {
    /// The Master fell silent (crash, kill, partition, loss): Master_Down_Interval after
    /// its last advert.
    MasterSilent,
    /// The Master sent priority 0 (shutdown, stop): Skew_Time after that advert.
    PriorityZero,
    /// A preempting Backup ignored a live lower-priority Master's adverts (§6.4.2) and let
    /// its timer run out: the time since the last advert says nothing about the timer.
    Preemption,
}

/// What a run measured of the LVS side: client requests and every real-server fault.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LvsResult {
    /// Requests the clients sent.
    pub requests: u64,
    /// Requests that reached a real server in a fault state (not `up`).
    pub errors: u64,
    /// Requests no real server took: no director answering, no service, no destination.
    pub unserved: u64,
    /// Requests the sorry server took.
    pub sorry: u64,
    /// Every fault injected on a real server that a running director had in its table,
    /// once per such director, in time order.
    pub faults: Vec<LvsFault>,
}

impl LvsResult {
    /// Errors per request (0 without requests).
    pub fn error_rate(&self) -> f64 {
        ratio(self.errors, self.requests)
    }

    /// Unserved requests per request.
    pub fn unserved_rate(&self) -> f64 {
        ratio(self.unserved, self.requests)
    }

    /// Requests the sorry server took, per request.
    pub fn sorry_rate(&self) -> f64 {
        ratio(self.sorry, self.requests)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// One fault on one real server as one director's table showed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LvsFault {
    /// The director.
    pub node: String,
    /// The virtual service (`TCP 192.168.1.100:80`).
    pub service: String,
    /// The real server.
    pub real_server: String,
    /// The fault: `down`, `blackhole`, `slow`, `http_status`, `wrong_body`; or `alpha`: a
    /// director's start with `alpha` checkers (out of the table until they pass; `up_at` is
    /// the start, the recovery its first entry).
    #[serde(deserialize_with = "static_str")]
    pub kind: StaticName,
    /// The fault with its value (`slow 4s`, `http_status 500`).
    pub fault: String,
    /// The director's checkers of this real server (`TCP_CHECK`, `HTTP_GET+MISC_CHECK`).
    pub checkers: String,
    /// When the fault began (seconds).
    pub t_fault: f64,
    /// When the table lost it (RemoveDest, or weight 0), if it did before the fault ended.
    pub detected_at: Option<f64>,
    /// `detected_at - t_fault`.
    pub detection: Option<f64>,
    /// The formula's band for the detection time ([`crate::report::theory::detection_bounds`]);
    /// `None` when the checkers never see this fault or no formula applies.
    pub detection_bounds: Option<(f64, f64)>,
    /// Whether the detection lies in its band (`None` without either).
    pub detection_within: Option<bool>,
    /// When the server came back (`up`), after it had been detected.
    pub up_at: Option<f64>,
    /// When the table had it back (weight above 0).
    pub recovered_at: Option<f64>,
    /// `recovered_at - up_at`.
    pub recovery: Option<f64>,
    /// The formula's band for the recovery time ([`crate::report::theory::recovery_bounds`]).
    pub recovery_bounds: Option<(f64, f64)>,
    /// Whether the recovery lies in its band.
    pub recovery_within: Option<bool>,
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// Simulated time (seconds).
    pub at: f64,
    /// Which invariant.
    #[serde(deserialize_with = "static_str")]
    pub invariant: StaticName,
    /// Details.
    pub detail: String,
}

/// A name from a small fixed set (invariants, fault kinds). An alias, not `&'static str`
/// written out, because serde would otherwise borrow the field from the input it reads.
pub type StaticName = &'static str;

/// A name read back from `sim merge`'s `results.jsonl` as the `&'static str` the run had:
/// each distinct name is kept once for the process's life (a handful of invariant and fault
/// names).
fn static_str<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    use std::collections::BTreeSet;
    use std::sync::{Mutex, PoisonError};
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let s = String::deserialize(d)?;
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&known) = names.get(s.as_str()) {
        return Ok(known);
    }
    let leaked: &'static str = Box::leak(s.into_boxed_str());
    names.insert(leaked);
    Ok(leaked)
}

/// One row of events.csv.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventRow {
    /// Simulated time (seconds, 6 decimals).
    pub time_s: String,
    /// Node name, or `-`.
    pub node: String,
    /// `fault`, `state`, `vip_add`, `vip_del`, `garp`, `client_arp`, `vip_block`,
    /// `vip_unblock`, `switch` (a virtual MAC moved to a node's port), ...
    pub kind: &'static str,
    /// Details.
    pub detail: String,
}

/// A state span of one node's instance, for the timeline plot.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// Node index.
    pub node: usize,
    /// Start.
    pub from: Instant,
    /// End.
    pub to: Instant,
    /// State (`None`: daemon not running).
    pub state: Option<State>,
}

/// The detailed record of a run (first seed of each variant).
#[derive(Clone, Debug, Default)]
pub struct Recording {
    /// events.csv rows.
    pub events: Vec<EventRow>,
    /// Per node state spans of the first instance.
    pub spans: Vec<Span>,
    /// (time, node) where the first VIP is served, `None` = nobody.
    pub vip_owner: Vec<(Instant, Option<usize>)>,
    /// (time, node) where client 0's ARP entry for the first VIP points.
    pub arp_target: Vec<(Instant, Option<usize>)>,
    /// Node names.
    pub nodes: Vec<String>,
    /// Run length.
    pub duration: Duration,
    /// Opt-in capture (tests): state changes and transmitted payloads in report order.
    pub captured: Vec<Captured>,
    /// The JSONL trace, when the run was traced.
    pub trace: Option<crate::observe::trace::TraceSink>,
}

/// One captured output (see [`crate::observe::observer::Observer::capture`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Captured {
    /// An instance changed state.
    State {
        /// When.
        at: Instant,
        /// Node index.
        node: usize,
        /// Instance index.
        instance: u32,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
    },
    /// A node sent an advert.
    Transmit {
        /// When.
        at: Instant,
        /// Node index.
        node: usize,
        /// The VRRP message.
        payload: Vec<u8>,
    },
}

/// Per-VRID bookkeeping for master changes, failovers and split brain.
#[derive(Clone, Debug, Default)]
pub(crate) struct VridTrack {
    pub masters: BTreeMap<usize, ()>,
    pub last_master: Option<usize>,
    pub lost_at: Option<Instant>,
    pub split_since: Option<Instant>,
    /// The open split was reported as a `single-master` violation already.
    pub split_reported: bool,
}

/// Seconds as f64.
pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Time as the CSV prints it.
pub fn fmt_time(t: Instant) -> String {
    format!("{:.6}", t.offset().as_secs_f64())
}

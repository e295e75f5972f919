//! The words of the event log lines, in keepalived 2.2.7's wording where keepalived logs the
//! same event (so that rules written for its logs keep matching), with what we know more (the
//! cause, the transition, the priority) at the end of the same line. Presentation only: every
//! decision is the engine's output these lines describe. `docs/logs.md` lists them against
//! keepalived's.

use crate::os::scripts::ScriptExit;
use vrrp_engine::counters::{DiscardCounters, DiscardReason};
use vrrp_engine::io::{FaultCause, StateChange};
use vrrp_engine::{Reason, ScriptChange, State};

/// What put an instance in FAULT, in words.
pub fn fault_cause(c: &FaultCause) -> String {
    match c {
        FaultCause::InterfaceDown(i) => format!("interface {i} down"),
        FaultCause::NoSourceAddress(i) => format!("no address to send from on {i}"),
        // keepalived 2.2.7: "entering FAULT state (src address not configured)".
        FaultCause::SourceNotLocal(a) => format!("src address {a} not configured"),
        FaultCause::Script(s) => format!("script {s} failed"),
        FaultCause::TrackedInterface(i) => format!("tracked interface {i} down"),
        FaultCause::TrackedFile(f) => format!("tracked file {f} in fault"),
        FaultCause::TrackedProcess(p) => format!("tracked process {p} out of its quorum"),
    }
}

/// Why a state changed, in words (`ours` is the instance's priority at the change).
pub fn cause(r: &Reason, ours: u8) -> String {
    match r {
        Reason::Startup => "startup".into(),
        Reason::AddressOwner => "address owner".into(),
        Reason::MasterDown => "no advert within Master_Down_Interval".into(),
        Reason::HigherPriority { from, priority } if *priority == ours => {
            format!("advert from {from} with the same priority {priority} and a higher IP address")
        }
        Reason::HigherPriority { from, priority } => {
            format!("advert from {from} with higher priority {priority}, ours {ours}")
        }
        Reason::Shutdown => "shutdown".into(),
        Reason::Removed => "removed by reload".into(),
        Reason::Fault { cause } => fault_cause(cause),
        Reason::FaultCleared => "fault cleared".into(),
        Reason::SyncGroup { group } => format!("sync group {group}"),
        Reason::RouteDeleted { route } => format!("route deleted: {route}"),
        Reason::RuleDeleted { rule } => format!("rule deleted: {rule}"),
    }
}

/// A state change: keepalived's "(VI_1) Entering MASTER STATE" (vrrp.c
/// `vrrp_state_master_tx`, `vrrp_state_leave_master`; "(init)" at start-up as
/// vrrp_scheduler.c `vrrp_init_state`), then `(CAUSE; FROM -> TO, priority P)`. keepalived
/// logs no line when an instance stops; ours says "Stopped".
pub fn state_change(name: &str, sc: &StateChange) -> String {
    let head = match sc.to {
        State::Initialize => format!("({name}) Stopped"),
        to => {
            let init = if sc.from == State::Initialize && to != State::Master {
                " (init)"
            } else {
                ""
            };
            format!("({name}) Entering {} STATE{init}", to.as_str())
        }
    };
    format!(
        "{head} ({}; {} -> {}, priority {})",
        cause(&sc.reason, sc.priority),
        sc.from.as_str(),
        sc.to.as_str(),
        sc.priority
    )
}

/// A script's result: keepalived's "VRRP_Script(chk) succeeded" / "failed (exited with
/// status 1)" / "failed (due to signal 9)" / "timed_out" (vrrp_scheduler.c
/// `vrrp_script_child_thread`), from the run that decided it (`exit`, when the daemon still
/// knows it).
pub fn script_change(sc: &ScriptChange, exit: Option<ScriptExit>) -> String {
    let name = &sc.name;
    if sc.good {
        return format!("VRRP_Script({name}) succeeded");
    }
    match (sc.outcome, exit) {
        (vrrp_engine::CheckOutcome::Timeout, _) | (_, Some(ScriptExit::TimedOut)) => {
            format!("VRRP_Script({name}) timed_out")
        }
        (_, Some(ScriptExit::Exited(code))) => {
            format!("VRRP_Script({name}) failed (exited with status {code})")
        }
        (_, Some(ScriptExit::Signaled(sig))) => {
            format!("VRRP_Script({name}) failed (due to signal {sig})")
        }
        (_, Some(ScriptExit::NotStarted)) => {
            format!("VRRP_Script({name}) failed (could not be started)")
        }
        (_, None) => format!("VRRP_Script({name}) failed"),
    }
}

/// keepalived's "(VI_1) Changing effective priority from 100 to 80" (vrrp_track.c
/// `vrrp_set_effective_priority`).
pub fn priority_change(name: &str, from: u8, to: u8) -> String {
    format!("({name}) Changing effective priority from {from} to {to}")
}

/// The reasons a summary names, each with keepalived's words for one such packet
/// (vrrp.c `vrrp_check_packet`, vrrp_scheduler.c `vrrp_dispatcher_read`). Our own looped
/// adverts and adverts to an instance in FAULT are not anomalies: never summarised.
const SUMMARISED: [DiscardReason; 12] = [
    DiscardReason::Length,
    DiscardReason::Version,
    DiscardReason::Type,
    DiscardReason::Ttl,
    DiscardReason::Checksum,
    DiscardReason::Vrid,
    DiscardReason::Auth,
    DiscardReason::Interval,
    DiscardReason::Family,
    DiscardReason::Peer,
    DiscardReason::Destination,
    DiscardReason::AddressList,
];

/// How one instance's discards read (its version, whether it is unicast, its VRID).
#[derive(Clone, Copy, Debug)]
pub struct InstanceWords<'a> {
    /// The instance's name.
    pub name: &'a str,
    /// 2 or 3.
    pub version: u8,
    /// Unicast peers configured.
    pub unicast: bool,
    /// Its VRID.
    pub vrid: u8,
}

/// keepalived's words for one discarded packet of `reason` for instance `i` (`None`: an
/// unmatched packet).
fn discard_words(reason: DiscardReason, i: Option<InstanceWords<'_>>) -> String {
    let Some(i) = i else {
        return match reason {
            DiscardReason::Vrid => "Unknown VRID received. ignoring...".into(),
            r => format!("VRRP packet matching no instance discarded ({r})"),
        };
    };
    let n = i.name;
    match reason {
        DiscardReason::Length => format!("({n}) vrrp packet too short or too long"),
        DiscardReason::Version => format!("({n}) wrong version"),
        DiscardReason::Type => format!("({n}) Invalid packet type"),
        DiscardReason::Ttl => format!("({n}) invalid TTL/HL"),
        DiscardReason::Checksum => format!("({n}) Invalid VRRPv{} checksum", i.version),
        DiscardReason::Vrid => format!("({n}) Unknown VRID received. ignoring..."),
        DiscardReason::Auth => format!("({n}) received an invalid passwd or auth type"),
        DiscardReason::Interval => format!("({n}) advertisement interval mismatch"),
        DiscardReason::Family => format!("({n}) wrong address family"),
        DiscardReason::Peer => format!("({n}) unicast source address not a unicast peer"),
        DiscardReason::Destination if i.unicast => {
            format!("({n}) discarding multicast packet on unicast instance")
        }
        DiscardReason::Destination => {
            format!("({n}) discarding unicast packet on multicast instance")
        }
        DiscardReason::Own => format!("({n}) own advert"),
        DiscardReason::Inactive => format!("({n}) advert while inactive"),
        DiscardReason::AddressList => format!(
            "({n}) ip address associated with VRID {} not present in MASTER advert",
            i.vrid
        ),
    }
}

/// The summary lines of the discards between `before` and `now` (one per reason with any),
/// plus the address-list mismatches accepted from an address owner (`mismatch`: priority-255
/// adverts whose VIPs differ from ours), over `secs` seconds.
pub fn discard_summary(
    i: Option<InstanceWords<'_>>,
    before: &DiscardCounters,
    now: &DiscardCounters,
    mismatch: u64,
    secs: f64,
) -> Vec<String> {
    let tail = |n: u64, what: &str, why: &str| {
        let s = if n == 1 { "" } else { "s" };
        format!("({n} packet{s} {what} in the last {secs:.0} s{why})")
    };
    let mut out = Vec::new();
    for r in SUMMARISED {
        let n = now.get(r).saturating_sub(before.get(r));
        if n > 0 {
            out.push(format!(
                "{} {}",
                discard_words(r, i),
                tail(n, "discarded", &format!(", reason {r}"))
            ));
        }
    }
    if let (Some(i), true) = (i, mismatch > 0) {
        out.push(format!(
            "({}) ip address associated with VRID {} not present in the address owner's advert {}",
            i.name,
            i.vrid,
            tail(mismatch, "accepted", "")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp_engine::{CheckOutcome, InstanceId, Instant, ScriptId};

    fn sc(from: State, to: State, reason: Reason) -> StateChange {
        StateChange {
            instance: InstanceId(0),
            from,
            to,
            reason,
            priority: 100,
            at: Instant::ZERO,
        }
    }

    #[test]
    fn state_changes_start_with_keepalived_words() {
        assert_eq!(
            state_change(
                "VI_1",
                &sc(State::Initialize, State::Backup, Reason::Startup)
            ),
            "(VI_1) Entering BACKUP STATE (init) (startup; INIT -> BACKUP, priority 100)"
        );
        assert_eq!(
            state_change(
                "VI_1",
                &sc(State::Backup, State::Master, Reason::MasterDown)
            ),
            "(VI_1) Entering MASTER STATE (no advert within Master_Down_Interval; \
             BACKUP -> MASTER, priority 100)"
        );
        let higher = Reason::HigherPriority {
            from: "10.0.0.2".parse().unwrap(),
            priority: 150,
        };
        assert_eq!(
            state_change("VI_1", &sc(State::Master, State::Backup, higher)),
            "(VI_1) Entering BACKUP STATE (advert from 10.0.0.2 with higher priority 150, \
             ours 100; MASTER -> BACKUP, priority 100)"
        );
        let fault = Reason::Fault {
            cause: FaultCause::Script("chk".into()),
        };
        assert_eq!(
            state_change("VI_1", &sc(State::Master, State::Fault, fault)),
            "(VI_1) Entering FAULT STATE (script chk failed; MASTER -> FAULT, priority 100)"
        );
        assert_eq!(
            state_change(
                "VI_1",
                &sc(State::Master, State::Initialize, Reason::Shutdown)
            ),
            "(VI_1) Stopped (shutdown; MASTER -> INIT, priority 100)"
        );
    }

    #[test]
    fn script_lines_are_keepalived_lines() {
        let mut c = ScriptChange {
            script: ScriptId(0),
            name: "chk".into(),
            good: true,
            outcome: CheckOutcome::Pass,
            first: true,
            at: Instant::ZERO,
        };
        assert_eq!(script_change(&c, None), "VRRP_Script(chk) succeeded");
        c.good = false;
        c.outcome = CheckOutcome::Fail;
        assert_eq!(
            script_change(&c, Some(ScriptExit::Exited(1))),
            "VRRP_Script(chk) failed (exited with status 1)"
        );
        c.outcome = CheckOutcome::Timeout;
        assert_eq!(script_change(&c, None), "VRRP_Script(chk) timed_out");
    }

    #[test]
    fn summaries_count_each_reason_once() {
        let words = InstanceWords {
            name: "VI_1",
            version: 2,
            unicast: false,
            vrid: 51,
        };
        let before = DiscardCounters::default();
        let mut now = before;
        for _ in 0..20 {
            now.count(DiscardReason::Ttl);
        }
        now.count(DiscardReason::Checksum);
        now.count(DiscardReason::Own);
        assert_eq!(
            discard_summary(Some(words), &before, &now, 0, 10.0),
            [
                "(VI_1) invalid TTL/HL (20 packets discarded in the last 10 s, reason ttl)",
                "(VI_1) Invalid VRRPv2 checksum (1 packet discarded in the last 10 s, reason \
                 checksum)",
            ]
        );
        assert!(discard_summary(Some(words), &now, &now, 0, 10.0).is_empty());
    }
}

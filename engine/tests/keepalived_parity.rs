//! Behaviour matched to keepalived 2.2.7 where the RFCs leave room (issue 16). Exact times:
//! VRRPv2, 1 s adverts, Master_Down_Interval = 3 + (256 - priority)/256 s (RFC 3768 §6.1).

mod support;

use std::time::Duration;
use support::*;
use vrrp_engine::config::{ScriptConfig, TrackRef};
use vrrp_engine::{wire, CheckOutcome, Instant, Output, State, Version};

/// One instance at `prio` tracking script `chk` (every 2 s, `weight`, rise/fall 1).
fn with_script(prio: u8, weight: i32) -> vrrp_engine::config::Config {
    let mut i = instance(prio, Version::V2, Duration::from_secs(1));
    i.track_scripts.push(TrackRef::new("chk"));
    let mut c = config(i);
    let mut s = ScriptConfig::new("chk", "/bin/check");
    s.interval = Duration::from_secs(2);
    s.weight = weight;
    c.scripts.push(s);
    c
}

/// Master_Down_Interval of a VRRPv2 router at `prio` with 1 s adverts, in seconds.
fn mdi(prio: u8) -> f64 {
    3.0 + f64::from(256 - u16::from(prio)) / 256.0
}

/// A Master whose own check fails sends two priority-0 adverts back to back, then removes
/// its VIPs (keepalived 2.2.7 `down_instance` -> `vrrp_state_leave_master(vrrp, true)`:
/// one advert on "Entering FAULT STATE", one in `vrrp_restore_interface`).
#[test]
fn a_master_entering_fault_sends_two_priority_zero_adverts_then_removes_its_vips() {
    let mut e = started(with_script(100, 0), 0, Instant::ZERO);
    let fails_from_10 = |t: Instant| {
        if t >= secs(10.0) {
            CheckOutcome::Fail
        } else {
            CheckOutcome::Pass
        }
    };
    let log = run_alone(&mut e, secs(12.0), fails_from_10);
    assert_eq!(
        transitions(&log),
        vec![
            (Instant::ZERO, State::Backup),
            (secs(mdi(100)), State::Master),
            (secs(10.0), State::Fault),
        ]
    );
    let at_fault: Vec<&str> = log
        .iter()
        .filter(|(t, _)| *t == secs(10.0))
        .filter_map(|(_, o)| match o {
            Output::Transmit(x) => match wire::peek_priority(&x.payload) {
                Some(0) => Some("advert 0"),
                _ => Some("advert"),
            },
            Output::RemoveVip { .. } => Some("remove vip"),
            Output::StateChanged(_) => Some("state"),
            _ => None,
        })
        .collect();
    assert_eq!(
        at_fault,
        vec!["advert 0", "advert 0", "remove vip", "state"],
        "at 10 s"
    );
    let zeros_after = log
        .iter()
        .filter(|(t, o)| {
            *t > secs(10.0)
                && matches!(o, Output::Transmit(x) if wire::peek_priority(&x.payload) == Some(0))
        })
        .count();
    assert_eq!(zeros_after, 0, "nothing more once in FAULT");
}

/// Node `n` alone with `cfg`, checks answered by `check`, hearing one advert of a priority-200
/// Master at 1 s (its Master_Down_Timer restarts at its priority then); its transitions up
/// to `until` seconds.
fn heard_at_1s(
    cfg: vrrp_engine::config::Config,
    check: impl FnMut(Instant) -> CheckOutcome + Copy,
    until: f64,
) -> Vec<(Instant, State)> {
    let mut e = started(cfg, 0, Instant::ZERO);
    let mut log = run_alone(&mut e, secs(1.0), check);
    let master = host_addr(1);
    let bytes = advert_bytes(Version::V2, 51, 200, 1, master, wire::Auth::None);
    deliver(&mut e, secs(1.0), master, &bytes);
    log.extend(run_alone(&mut e, secs(until), check));
    transitions(&log)
}

/// A Backup whose priority rises while its Master_Down_Timer runs takes over at the
/// Skew_Time of the new priority (RFC 3768 §6.1; keepalived 2.2.7
/// `vrrp_set_effective_priority` moves the running timer by the change of
/// Master_Down_Interval).
#[test]
fn a_backup_whose_priority_rises_fires_at_the_new_skew_time() {
    // Weight +50: priority 100 after the failing check at 0 s, 150 once the check at 2 s
    // passes; the timer restarted at 1 s with priority 100.
    let passes_from_2 = |t: Instant| {
        if t >= secs(2.0) {
            CheckOutcome::Pass
        } else {
            CheckOutcome::Fail
        }
    };
    assert_eq!(
        heard_at_1s(with_script(100, 50), passes_from_2, 6.0),
        vec![
            (Instant::ZERO, State::Backup),
            (secs(1.0 + mdi(150)), State::Master)
        ],
        "1 s + 3.609375 s moved by -50/256 s at 2 s"
    );
}

/// The same when the priority falls: the timer moves later by the longer Skew_Time.
#[test]
fn a_backup_whose_priority_falls_fires_at_the_new_skew_time() {
    // Weight -50: priority 100 while passing, 50 once the check at 2 s fails.
    let fails_from_2 = |t: Instant| {
        if t >= secs(2.0) {
            CheckOutcome::Fail
        } else {
            CheckOutcome::Pass
        }
    };
    assert_eq!(
        heard_at_1s(with_script(100, -50), fails_from_2, 6.0),
        vec![
            (Instant::ZERO, State::Backup),
            (secs(1.0 + mdi(50)), State::Master)
        ],
    );
}

//! keepalived-style tracking: scripts with rise/fall and weights, interfaces, files, FAULT.

mod support;

use std::time::Duration;
use support::*;
use vrrp_engine::config::{ScriptConfig, TrackFileConfig, TrackRef};
use vrrp_engine::io::{FaultCause, TrackFileId};
use vrrp_engine::wire;
use vrrp_engine::{CheckOutcome, Engine, Input, Instant, InterfaceUpdate, Output, State, Version};

fn with_script(prio: u8, weight: i32, rise: u32, fall: u32) -> vrrp_engine::config::Config {
    let mut i = instance(prio, Version::V2, Duration::from_secs(1));
    i.track_scripts.push(TrackRef::new("chk_nginx"));
    let mut c = config(i);
    let mut s = ScriptConfig::new("chk_nginx", "/etc/keepalived/check_nginx.sh");
    s.interval = Duration::from_secs(2);
    s.weight = weight;
    s.rise = rise;
    s.fall = fall;
    c.scripts.push(s);
    c
}

fn prio(e: &Engine) -> u8 {
    e.snapshot().instances[0].effective_priority
}

#[test]
fn checks_are_requested_every_interval_with_their_timeout() {
    let mut e = started(with_script(100, -5, 1, 2), 0, Instant::ZERO);
    let log = run_alone(&mut e, secs(7.0), |_| CheckOutcome::Pass);
    let runs: Vec<(Instant, Duration)> = log
        .iter()
        .filter_map(|(t, o)| match o {
            Output::RunCheck { timeout, .. } => Some((*t, *timeout)),
            _ => None,
        })
        .collect();
    let two = Duration::from_secs(2);
    assert_eq!(
        runs,
        vec![
            (secs(0.0), two),
            (secs(2.0), two),
            (secs(4.0), two),
            (secs(6.0), two)
        ]
    );
}

#[test]
fn negative_weight_applies_after_fall_failures_and_lifts_after_rise_passes() {
    // The seed's chk_nginx: weight -5, fall 2, rise 1, interval 2 s.
    let mut e = started(with_script(100, -5, 1, 2), 0, Instant::ZERO);
    let fails_between = |t: Instant| {
        if t >= secs(3.0) && t < secs(9.0) {
            CheckOutcome::Fail
        } else {
            CheckOutcome::Pass
        }
    };
    run_alone(&mut e, secs(4.5), fails_between);
    assert_eq!(prio(&e), 100, "one failure is below fall 2");
    run_alone(&mut e, secs(6.5), fails_between);
    assert_eq!(
        prio(&e),
        95,
        "two failures: weight -5 applies (100 - 5, still above 90)"
    );
    run_alone(&mut e, secs(10.5), fails_between);
    assert_eq!(prio(&e), 100, "one pass meets rise 1");
}

#[test]
fn positive_weight_is_added_while_passing() {
    let mut e = started(with_script(100, 10, 1, 1), 0, Instant::ZERO);
    run_alone(&mut e, secs(1.0), |_| CheckOutcome::Pass);
    assert_eq!(prio(&e), 110);
    run_alone(&mut e, secs(3.0), |_| CheckOutcome::Fail);
    assert_eq!(prio(&e), 100);
}

#[test]
fn weight_override_on_the_track_reference_wins() {
    let mut c = with_script(100, -5, 1, 1);
    c.instances[0].track_scripts[0].weight = Some(-50);
    let mut e = started(c, 0, Instant::ZERO);
    run_alone(&mut e, secs(1.0), |_| CheckOutcome::Fail);
    assert_eq!(prio(&e), 50);
}

#[test]
fn effective_priority_is_clamped_and_owner_stays_255() {
    let mut e = started(with_script(250, 20, 1, 1), 0, Instant::ZERO);
    run_alone(&mut e, secs(1.0), |_| CheckOutcome::Pass);
    assert_eq!(prio(&e), 254);
    let mut e = started(with_script(10, -100, 1, 1), 0, Instant::ZERO);
    run_alone(&mut e, secs(1.0), |_| CheckOutcome::Fail);
    assert_eq!(prio(&e), 1);
    let mut e = started(with_script(255, -100, 1, 1), 0, Instant::ZERO);
    run_alone(&mut e, secs(1.0), |_| CheckOutcome::Fail);
    assert_eq!(prio(&e), 255);
}

#[test]
fn weight_zero_failure_means_fault_and_master_hands_over_with_priority_zero() {
    let mut e = started(with_script(100, 0, 2, 1), 0, Instant::ZERO);
    let pattern = |t: Instant| {
        if t >= secs(9.0) && t < secs(13.0) {
            CheckOutcome::Fail
        } else {
            CheckOutcome::Pass
        }
    };
    let log = run_alone(&mut e, secs(20.0), pattern);
    let tr = transitions(&log);
    // Master at 3.609375; fail at 10 s (fall 1) -> FAULT; passes at 14 and 16 (rise 2) -> BACKUP.
    assert_eq!(
        tr,
        vec![
            (Instant::ZERO, State::Backup),
            (Instant::from_nanos(3_609_375_000), State::Master),
            (secs(10.0), State::Fault),
            (secs(16.0), State::Backup),
            (
                secs(16.0) + Duration::from_nanos(3_609_375_000),
                State::Master
            ),
        ]
    );
    let at_fault: Vec<&Output> = log
        .iter()
        .filter(|(t, _)| *t == secs(10.0))
        .map(|(_, o)| o)
        .collect();
    let prio0 = at_fault
        .iter()
        .any(|o| matches!(o, Output::Transmit(x) if wire::peek_priority(&x.payload) == Some(0)));
    assert!(
        prio0,
        "a Master entering FAULT sends priority 0: {at_fault:?}"
    );
    assert!(at_fault
        .iter()
        .any(|o| matches!(o, Output::RemoveVip { .. })));
    match at_fault.iter().find_map(|o| {
        if let Output::StateChanged(c) = o {
            Some(c)
        } else {
            None
        }
    }) {
        Some(c) => assert_eq!(
            c.reason,
            vrrp_engine::Reason::Fault {
                cause: FaultCause::Script("chk_nginx".into())
            }
        ),
        None => panic!("no state change at 10 s"),
    }
}

/// `init_fail` has no effect, as in keepalived 2.2.7 (`alloc_track_script` resets it): the
/// instance starts as if the script had not reported (docs/keepalived-differences.md).
#[test]
fn init_fail_has_no_effect() {
    let mut c = with_script(100, 0, 1, 1);
    c.scripts[0].init_fail = true;
    let mut e = Engine::new(c, Instant::ZERO).unwrap();
    e.handle(Instant::ZERO, Input::Interface(eth0(0, true)));
    let first = drain(&mut e);
    let states: Vec<State> = first
        .iter()
        .filter_map(|o| match o {
            Output::StateChanged(c) => Some(c.to),
            _ => None,
        })
        .collect();
    assert_eq!(states, [State::Backup], "{first:?}");
}

#[test]
fn a_timeout_counts_as_a_failure() {
    let mut e = started(with_script(100, -30, 1, 1), 0, Instant::ZERO);
    run_alone(&mut e, secs(1.0), |_| CheckOutcome::Timeout);
    assert_eq!(prio(&e), 70);
}

#[test]
fn a_check_that_never_reports_times_out_at_the_next_run() {
    let mut e = started(with_script(100, -30, 1, 1), 0, Instant::ZERO);
    drain(&mut e);
    e.handle_timeout(Instant::ZERO);
    let first = drain(&mut e);
    assert!(matches!(first[0], Output::RunCheck { seq: 1, .. }));
    // No result: at 2 s (interval = timeout = 2 s) the run counts as timed out, a new one starts.
    e.handle_timeout(secs(2.0));
    let next = drain(&mut e);
    // The timeout is the script's first result (a failure), then the new run, then the
    // priority it costs.
    assert!(
        matches!(&next[0], Output::ScriptChanged(c) if !c.good
            && c.outcome == CheckOutcome::Timeout && c.first),
        "{next:?}"
    );
    assert!(
        matches!(next[1], Output::RunCheck { seq: 2, .. }),
        "{next:?}"
    );
    assert!(
        matches!(&next[2], Output::PriorityChanged(p) if (p.from, p.to) == (100, 70)),
        "{next:?}"
    );
    assert_eq!(prio(&e), 70);
    // A late answer to run 1 is ignored.
    let script = e.script_id("chk_nginx").unwrap();
    e.handle(
        secs(2.1),
        Input::CheckResult {
            script,
            seq: 1,
            outcome: CheckOutcome::Pass,
        },
    );
    assert_eq!(prio(&e), 70);
}

#[test]
fn own_interface_down_is_fault_unless_dont_track_primary() {
    let mut e = started(
        config(instance(100, Version::V2, Duration::from_secs(1))),
        0,
        Instant::ZERO,
    );
    e.handle(secs(1.0), Input::Interface(eth0(0, false)));
    assert_eq!(
        e.snapshot().instances[0].fault,
        Some(FaultCause::InterfaceDown("eth0".into()))
    );
    assert_eq!(e.snapshot().instances[0].state, State::Fault);
    e.handle(secs(2.0), Input::Interface(eth0(0, true)));
    assert_eq!(e.snapshot().instances[0].state, State::Backup);

    let mut i = instance(100, Version::V2, Duration::from_secs(1));
    i.dont_track_primary = true;
    let mut e = started(config(i), 0, Instant::ZERO);
    e.handle(secs(1.0), Input::Interface(eth0(0, false)));
    assert_eq!(e.snapshot().instances[0].state, State::Backup);
}

#[test]
fn no_source_address_is_fault() {
    let mut e = Engine::new(
        config(instance(100, Version::V2, Duration::from_secs(1))),
        Instant::ZERO,
    )
    .unwrap();
    e.handle(
        Instant::ZERO,
        Input::Interface(InterfaceUpdate {
            name: "eth0".into(),
            up: true,
            ipv4: None,
            ipv6_link_local: None,
        }),
    );
    assert_eq!(
        e.snapshot().instances[0].fault,
        Some(FaultCause::NoSourceAddress("eth0".into()))
    );
}

#[test]
fn tracked_interface_weights() {
    let mut i = instance(100, Version::V2, Duration::from_secs(1));
    i.track_interfaces.push(TrackRef {
        name: "eth1".into(),
        weight: Some(-20),
    });
    i.track_interfaces.push(TrackRef::new("eth2"));
    let mut e = started(config(i), 0, Instant::ZERO);
    let iface = |name: &str, up| {
        Input::Interface(InterfaceUpdate {
            name: name.into(),
            up,
            ipv4: None,
            ipv6_link_local: None,
        })
    };
    e.handle(secs(0.1), iface("eth1", true));
    e.handle(secs(0.1), iface("eth2", true));
    assert_eq!(
        (prio(&e), e.snapshot().instances[0].state),
        (100, State::Backup)
    );
    e.handle(secs(0.2), iface("eth1", false));
    assert_eq!(prio(&e), 80);
    e.handle(secs(0.3), iface("eth2", false));
    assert_eq!(
        e.snapshot().instances[0].fault,
        Some(FaultCause::TrackedInterface("eth2".into()))
    );
}

#[test]
fn tracked_file_value_times_weight() {
    let mut i = instance(100, Version::V2, Duration::from_secs(1));
    i.track_files.push(TrackRef::new("prio_file"));
    i.track_files.push(TrackRef {
        name: "kill_file".into(),
        weight: Some(0),
    });
    let mut c = config(i);
    c.track_files.push(TrackFileConfig {
        name: "prio_file".into(),
        path: "/tmp/p".into(),
        weight: 3,
        init_value: None,
    });
    c.track_files.push(TrackFileConfig {
        name: "kill_file".into(),
        path: "/tmp/k".into(),
        weight: 1,
        init_value: None,
    });
    let mut e = started(c, 0, Instant::ZERO);
    e.handle(
        secs(1.0),
        Input::TrackFile {
            file: TrackFileId(0),
            value: -10,
        },
    );
    assert_eq!(prio(&e), 70);
    e.handle(
        secs(1.0),
        Input::TrackFile {
            file: TrackFileId(1),
            value: 1,
        },
    );
    assert_eq!(
        e.snapshot().instances[0].fault,
        Some(FaultCause::TrackedFile("kill_file".into()))
    );
}

#[test]
fn set_priority_changes_the_base() {
    let mut e = started(
        config(instance(100, Version::V2, Duration::from_secs(1))),
        0,
        Instant::ZERO,
    );
    let id = e.instance_id("VI_1").unwrap();
    e.handle(
        secs(1.0),
        Input::SetPriority {
            instance: id,
            priority: 42,
        },
    );
    assert_eq!(prio(&e), 42);
}

#[test]
fn invalid_configs_are_refused_with_a_reason() {
    let mut c = config(instance(100, Version::V2, Duration::from_secs(1)));
    c.instances.push(c.instances[0].clone());
    c.instances[1].name = "VI_2".into();
    let e = Engine::new(c, Instant::ZERO).unwrap_err();
    assert_eq!(
        e.to_string(),
        "vrrp_instance VI_2: virtual_router_id 51 on eth0 is already used by vrrp_instance VI_1"
    );

    let mut c = config(instance(100, Version::V2, Duration::from_secs(1)));
    c.instances[0].track_scripts.push(TrackRef::new("nope"));
    assert_eq!(
        Engine::new(c, Instant::ZERO).unwrap_err().to_string(),
        "vrrp_instance VI_1: track_script nope names no vrrp_script"
    );
}

#[test]
fn a_scripts_first_result_and_each_change_come_out_before_the_priority_they_move() {
    // weight -5, fall 2, rise 1, interval 2 s: runs at 0, 2, 4, ... s.
    let mut e = started(with_script(100, -5, 1, 2), 0, Instant::ZERO);
    let fails_between = |t: Instant| {
        if t >= secs(3.0) && t < secs(7.0) {
            CheckOutcome::Fail
        } else {
            CheckOutcome::Pass
        }
    };
    let log = run_alone(&mut e, secs(9.0), fails_between);
    let told: Vec<(Instant, String)> = log
        .iter()
        .filter_map(|(t, o)| match o {
            Output::ScriptChanged(c) => Some((
                *t,
                format!(
                    "{} good={} {:?} first={}",
                    c.name, c.good, c.outcome, c.first
                ),
            )),
            Output::PriorityChanged(p) => Some((*t, format!("prio {} -> {}", p.from, p.to))),
            _ => None,
        })
        .collect();
    assert_eq!(
        told,
        vec![
            // keepalived logs the first result too ("VRRP_Script(chk) succeeded").
            (secs(0.0), "chk_nginx good=true Pass first=true".to_string()),
            // One failure (at 4 s) is below fall 2: nothing; the second (6 s) changes it.
            (
                secs(6.0),
                "chk_nginx good=false Fail first=false".to_string()
            ),
            (secs(6.0), "prio 100 -> 95".to_string()),
            (
                secs(8.0),
                "chk_nginx good=true Pass first=false".to_string()
            ),
            (secs(8.0), "prio 95 -> 100".to_string()),
        ]
    );
}

#[test]
fn the_operators_priority_is_a_priority_change() {
    let mut e = started(with_script(100, -5, 1, 1), 0, Instant::ZERO);
    drain(&mut e);
    let id = e.instance_ids().next().unwrap();
    e.handle(
        secs(1.0),
        Input::SetPriority {
            instance: id,
            priority: 150,
        },
    );
    let out = drain(&mut e);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::PriorityChanged(p) if (p.from, p.to) == (100, 150))),
        "{out:?}"
    );
}

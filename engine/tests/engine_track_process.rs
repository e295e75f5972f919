//! `vrrp_track_process`: counts reported by the driver, quorum / quorum_max, fork and
//! terminate delays, weights (with `reverse`), FAULT, sync groups and reload, as keepalived
//! 2.2.7 applies them (`track_process.c`, `vrrp_track.c`).

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use support::*;
use vrrp_engine::config::{
    Config, SyncGroupConfig, TrackProcessConfig, TrackProcessRef, VirtualAddress,
};
use vrrp_engine::io::{FaultCause, ProcessChange, TrackProcessId};
use vrrp_engine::{Engine, Input, Instant, Output, State, Version};

/// VI_1 (priority 100) tracking `nginx` with the given block and reference weight.
fn tracking(p: TrackProcessConfig, r: TrackProcessRef) -> Config {
    let mut i = instance(100, Version::V2, Duration::from_secs(1));
    i.track_processes.push(r);
    let mut c = config(i);
    c.track_processes.push(p);
    c
}

fn nginx() -> TrackProcessConfig {
    TrackProcessConfig::new("nginx", "nginx")
}

fn count(e: &mut Engine, at: f64, n: u32, change: ProcessChange) {
    e.handle(
        secs(at),
        Input::ProcessCount {
            process: TrackProcessId(0),
            count: n,
            change,
        },
    );
}

fn state(e: &Engine) -> State {
    e.snapshot().instances[0].state
}

/// In FAULT (an instance left alone may have become Master meanwhile).
fn faulted(e: &Engine) -> bool {
    state(e) == State::Fault
}

fn prio(e: &Engine) -> u8 {
    e.snapshot().instances[0].effective_priority
}

/// Engine with the count reported before the interface, as the daemon does (keepalived
/// reads /proc before it starts its instances).
fn started_with(c: Config, n: u32) -> Engine {
    let mut e = Engine::new(c, Instant::ZERO).unwrap();
    count(&mut e, 0.0, n, ProcessChange::Other);
    e.handle(Instant::ZERO, Input::Interface(eth0(0, true)));
    e
}

fn state_changes(e: &mut Engine) -> Vec<(State, State)> {
    drain(e)
        .into_iter()
        .filter_map(|o| match o {
            Output::StateChanged(c) => Some((c.from, c.to)),
            _ => None,
        })
        .collect()
}

#[test]
fn weight_0_is_fault_without_the_process_and_backup_with_it() {
    // Default weight 0 (keepalived's `alloc_vrrp_process` leaves it 0).
    let mut e = started_with(tracking(nginx(), TrackProcessRef::new("nginx")), 1);
    assert_eq!(state(&e), State::Backup);
    drain(&mut e);
    count(&mut e, 5.0, 0, ProcessChange::Exit);
    assert_eq!(state(&e), State::Fault);
    assert_eq!(
        e.snapshot().instances[0].fault,
        Some(FaultCause::TrackedProcess("nginx".into()))
    );
    assert_eq!(state_changes(&mut e), vec![(State::Backup, State::Fault)]);
    count(&mut e, 7.0, 1, ProcessChange::Other);
    assert_eq!(state(&e), State::Backup);
    let snap = e.snapshot().processes;
    assert_eq!((snap[0].count, snap[0].have_quorum), (1, true));
}

#[test]
fn an_instance_started_before_any_count_is_in_fault() {
    // Nothing reported: no process counts (keepalived in a network namespace, where the
    // proc connector refuses it, reads no /proc either and stays in FAULT).
    let e = started(
        tracking(nginx(), TrackProcessRef::new("nginx")),
        0,
        Instant::ZERO,
    );
    assert_eq!(state(&e), State::Fault);
}

#[test]
fn weights_and_reverse() {
    let neg = TrackProcessRef {
        weight: Some(-20),
        ..TrackProcessRef::new("nginx")
    };
    let mut e = started_with(tracking(nginx(), neg), 1);
    assert_eq!(prio(&e), 100);
    count(&mut e, 1.0, 0, ProcessChange::Exit);
    assert_eq!((prio(&e), state(&e)), (80, State::Backup));

    // The block's `weight 10 reverse`: minus 10 while the quorum holds.
    let mut p = nginx();
    p.weight = 10;
    p.reverse = true;
    let mut e = started_with(tracking(p.clone(), TrackProcessRef::new("nginx")), 1);
    assert_eq!(prio(&e), 90);
    count(&mut e, 1.0, 0, ProcessChange::Exit);
    assert_eq!(prio(&e), 100);

    // `noreverse` on the reference turns it back.
    let r = TrackProcessRef {
        weight: Some(10),
        reverse: Some(false),
        ..TrackProcessRef::new("nginx")
    };
    let e = started_with(tracking(p, r), 1);
    assert_eq!(prio(&e), 110);

    // `weight 0 reverse`: FAULT while the process runs.
    let r = TrackProcessRef {
        weight: Some(0),
        reverse: Some(true),
        ..TrackProcessRef::new("nginx")
    };
    let mut e = started_with(tracking(nginx(), r), 1);
    assert_eq!(state(&e), State::Fault);
    count(&mut e, 1.0, 0, ProcessChange::Exit);
    assert_eq!(state(&e), State::Backup);
}

#[test]
fn quorum_and_quorum_max() {
    let mut p = nginx();
    p.quorum = 2;
    p.quorum_max = Some(3);
    let mut e = started_with(tracking(p, TrackProcessRef::new("nginx")), 1);
    assert_eq!(state(&e), State::Fault);
    count(&mut e, 1.0, 2, ProcessChange::Other);
    assert_eq!(state(&e), State::Backup);
    count(&mut e, 2.0, 3, ProcessChange::Fork);
    assert_eq!(state(&e), State::Backup);
    count(&mut e, 3.0, 4, ProcessChange::Fork);
    assert_eq!(state(&e), State::Fault);

    // `quorum_max 0`: up only while no such process runs.
    let mut p = nginx();
    p.quorum = 0;
    p.quorum_max = Some(0);
    let mut e = started_with(tracking(p, TrackProcessRef::new("nginx")), 0);
    assert_eq!(state(&e), State::Backup);
    count(&mut e, 1.0, 1, ProcessChange::Other);
    assert_eq!(state(&e), State::Fault);
}

#[test]
fn terminate_delay_holds_the_quorum_and_a_return_cancels_it() {
    let mut p = nginx();
    p.terminate_delay = Duration::from_secs(2);
    p.fork_delay = Duration::from_millis(500);
    let mut e = started_with(tracking(p, TrackProcessRef::new("nginx")), 1);
    count(&mut e, 10.0, 0, ProcessChange::Exit);
    assert!(!faulted(&e));
    assert_eq!(e.snapshot().processes[0].delay_until, Some(secs(12.0)));
    // A new process at 11 s (exec, not fork): the delay is cancelled.
    count(&mut e, 11.0, 1, ProcessChange::Other);
    assert_eq!(e.snapshot().processes[0].delay_until, None);
    e.handle_timeout(secs(12.0));
    assert!(!faulted(&e));

    // Gone for good at 20 s: FAULT exactly at 22 s.
    count(&mut e, 20.0, 0, ProcessChange::Exit);
    e.handle_timeout(secs(21.999_999));
    assert!(!faulted(&e));
    e.handle_timeout(secs(22.0));
    assert!(faulted(&e));
    let changes: Vec<_> = drain(&mut e)
        .into_iter()
        .filter_map(|o| match o {
            Output::StateChanged(c) => Some((c.at, c.to)),
            _ => None,
        })
        .collect();
    assert_eq!(changes.last(), Some(&(secs(22.0), State::Fault)));

    // Back by an exec: at once (fork_delay is for forks only).
    count(&mut e, 30.0, 1, ProcessChange::Other);
    assert!(!faulted(&e));
    // Lost to a change of name (not an exit): at once.
    count(&mut e, 31.0, 0, ProcessChange::Other);
    assert!(faulted(&e));
    // Back by a fork: after fork_delay, at 40.5 s.
    count(&mut e, 40.0, 1, ProcessChange::Fork);
    assert!(faulted(&e));
    assert_eq!(e.poll_timeout().map(|t| t <= secs(40.5)), Some(true));
    e.handle_timeout(secs(40.5));
    assert!(!faulted(&e));
}

#[test]
fn a_fork_delay_is_cancelled_by_an_exit_before_it_ends() {
    let mut p = nginx();
    p.fork_delay = Duration::from_secs(1);
    let mut e = started_with(tracking(p, TrackProcessRef::new("nginx")), 0);
    assert!(faulted(&e));
    count(&mut e, 5.0, 1, ProcessChange::Fork);
    count(&mut e, 5.5, 0, ProcessChange::Exit);
    assert_eq!(e.snapshot().processes[0].delay_until, None);
    e.handle_timeout(secs(6.0));
    assert!(faulted(&e));
}

/// VI_1 and VI_2 in group G, which tracks `nginx` (weight 0).
fn grouped() -> Config {
    let one = instance(100, Version::V2, Duration::from_secs(1));
    let mut two = vrrp_engine::config::InstanceConfig::new("VI_2", "eth0", 52);
    two.vips.push(VirtualAddress::host(IpAddr::V4(Ipv4Addr::new(
        10, 0, 0, 100,
    ))));
    let mut c = config(one);
    c.instances.push(two);
    c.track_processes.push(nginx());
    let mut g = SyncGroupConfig::new("G", &["VI_1", "VI_2"]);
    g.track_processes.push(TrackProcessRef::new("nginx"));
    c.sync_groups.push(g);
    c
}

#[test]
fn a_sync_groups_process_faults_every_member() {
    let mut e = started_with(grouped(), 1);
    let states =
        |e: &Engine| -> Vec<State> { e.snapshot().instances.iter().map(|i| i.state).collect() };
    assert_eq!(states(&e), vec![State::Backup, State::Backup]);
    count(&mut e, 3.0, 0, ProcessChange::Exit);
    assert_eq!(states(&e), vec![State::Fault, State::Fault]);
    count(&mut e, 4.0, 1, ProcessChange::Other);
    assert_eq!(states(&e), vec![State::Backup, State::Backup]);
}

#[test]
fn a_members_own_weighted_process_counts_in_a_group() {
    // keepalived 2.2.7 drops a member's weighted scripts in a group without
    // sync_group_tracking_weight, but not its tracked processes.
    let mut c = grouped();
    c.sync_groups[0].track_processes.clear();
    c.instances[0].track_processes.push(TrackProcessRef {
        weight: Some(-30),
        ..TrackProcessRef::new("nginx")
    });
    let mut e = started_with(c, 0);
    assert_eq!(prio(&e), 70);
    count(&mut e, 1.0, 1, ProcessChange::Other);
    assert_eq!(prio(&e), 100);
}

#[test]
fn reload_keeps_the_count_and_applies_the_new_quorum() {
    let c = tracking(nginx(), TrackProcessRef::new("nginx"));
    let mut e = started_with(c.clone(), 1);
    let mut c2 = c;
    c2.track_processes[0].quorum = 2;
    e.reconfigure(secs(5.0), c2.clone()).unwrap();
    assert_eq!(state(&e), State::Fault);
    assert_eq!(e.snapshot().processes[0].count, 1);
    count(&mut e, 6.0, 2, ProcessChange::Other);
    assert_eq!(state(&e), State::Backup);
    // A new block gets a new id; the old one's id stays.
    let mut c3 = c2;
    c3.track_processes[0].name = "web".into();
    c3.instances[0].track_processes[0].name = "web".into();
    e.reconfigure(secs(7.0), c3).unwrap();
    let ids: Vec<_> = e
        .track_processes()
        .map(|(id, c)| (id, c.name.clone()))
        .collect();
    assert_eq!(ids, vec![(TrackProcessId(1), "web".to_string())]);
    assert_eq!(state(&e), State::Fault);
}

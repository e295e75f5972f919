//! `vrrp_sync_group`: members change state together, with keepalived 2.2.7's rules
//! (`vrrp_sync.c`, `vrrp_scheduler.c`, `vrrp_notify.c`). Exact times: VRRPv2, 1 s adverts,
//! Master_Down_Interval 3 + (256 - priority)/256 s, 1 ms one-way latency.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use support::*;
use vrrp_engine::config::{Config, ScriptConfig, SyncGroupConfig, TrackRef, VirtualAddress};
use vrrp_engine::{
    CheckOutcome, Engine, Input, Instant, InterfaceUpdate, Output, Reason, State, SyncGroupChange,
    Version,
};

/// A router's two sides: VI_1 (VRID 51) and VI_2 (VRID 52), 1 s adverts, priority `prio`,
/// script `chk` (weight 0, every 1 s) tracked by VI_1 alone, members of group G when
/// `grouped`.
fn router(prio: u8, grouped: bool) -> Config {
    let mut one = instance(prio, Version::V2, Duration::from_secs(1));
    one.track_scripts.push(TrackRef::new("chk"));
    let mut two = vrrp_engine::config::InstanceConfig::new("VI_2", "eth0", 52);
    two.priority = prio;
    two.vips.push(VirtualAddress::host(IpAddr::V4(Ipv4Addr::new(
        10, 0, 0, 100,
    ))));
    let mut c = config(one);
    c.instances.push(two);
    c.scripts.push(ScriptConfig::new("chk", "/bin/check"));
    if grouped {
        let mut g = SyncGroupConfig::new("G", &["VI_1", "VI_2"]);
        g.notify.fault = Some("/usr/local/bin/fault.sh".into());
        g.notify.generic = Some("/usr/local/bin/notify.sh x".into());
        c.sync_groups.push(g);
    }
    c
}

/// Node 0's check fails from 10 s to 20 s.
fn failing_on_node0(n: usize, _: vrrp_engine::ScriptId, t: Instant) -> CheckOutcome {
    if n == 0 && t >= secs(10.0) && t < secs(20.0) {
        CheckOutcome::Fail
    } else {
        CheckOutcome::Pass
    }
}

/// Every instance state change as (time, node, instance name, new state).
/// The state changes at or after `from` seconds.
fn changes_from(lan: &Lan, from: f64) -> Vec<(Instant, usize, &'static str, State)> {
    changes(lan)
        .into_iter()
        .filter(|(t, ..)| *t >= secs(from))
        .collect()
}

fn changes(lan: &Lan) -> Vec<(Instant, usize, &'static str, State)> {
    lan.log
        .iter()
        .filter_map(|(t, n, o)| match o {
            Output::StateChanged(c) => {
                let name = if c.instance.0 == 0 { "VI_1" } else { "VI_2" };
                Some((*t, *n, name, c.to))
            }
            _ => None,
        })
        .collect()
}

/// Every group change of node `n`.
fn group_changes(lan: &Lan, n: usize) -> Vec<(Instant, SyncGroupChange)> {
    lan.log
        .iter()
        .filter(|(_, m, _)| *m == n)
        .filter_map(|(t, _, o)| match o {
            Output::SyncGroupChanged(c) => Some((*t, c.clone())),
            _ => None,
        })
        .collect()
}

fn lan(a: Config, b: Config) -> Lan {
    let mut lan = Lan::new(vec![a, b], Duration::from_millis(1));
    lan.check = Box::new(failing_on_node0);
    lan
}

const MDI_150: f64 = 3.0 + 106.0 / 256.0;
const SKEW_100: f64 = 156.0 / 256.0;
const MDI_100: f64 = 3.0 + 156.0 / 256.0;
const LAT: f64 = 0.001;

#[test]
fn a_failing_check_on_one_member_moves_both_members_to_the_other_node_and_back() {
    let mut lan = lan(router(150, true), router(100, true));
    lan.run_until(secs(30.0));
    let t_a = MDI_150;
    // Node 0's VI_1 faults at 10 s (priority 0 sent), VI_2 follows; node 1 hears priority 0
    // 1 ms later and both its timers run Skew_Time: VI_1 fires first and waits (VI_2 does not
    // want Master yet), VI_2 fires at the same instant and takes VI_1 along.
    let t_b = 10.0 + LAT + SKEW_100;
    // At 20 s the check passes: both Backup; Master_Down_Interval later VI_1 waits, VI_2
    // takes over with it; node 1 hears VI_2's advert first and its group follows.
    let t_back = 20.0 + MDI_150;
    assert_eq!(
        changes(&lan),
        vec![
            (secs(0.0), 0, "VI_1", State::Backup),
            (secs(0.0), 0, "VI_2", State::Backup),
            (secs(0.0), 1, "VI_1", State::Backup),
            (secs(0.0), 1, "VI_2", State::Backup),
            (secs(t_a), 0, "VI_2", State::Master),
            (secs(t_a), 0, "VI_1", State::Master),
            (secs(10.0), 0, "VI_1", State::Fault),
            (secs(10.0), 0, "VI_2", State::Fault),
            (secs(t_b), 1, "VI_2", State::Master),
            (secs(t_b), 1, "VI_1", State::Master),
            (secs(20.0), 0, "VI_1", State::Backup),
            (secs(20.0), 0, "VI_2", State::Backup),
            (secs(t_back), 0, "VI_2", State::Master),
            (secs(t_back), 0, "VI_1", State::Master),
            (secs(t_back + LAT), 1, "VI_2", State::Backup),
            (secs(t_back + LAT), 1, "VI_1", State::Backup),
        ]
    );
    // The reasons: the member that moved on its own, then the one its group moved.
    let reasons: Vec<Reason> = lan
        .log
        .iter()
        .filter_map(|(t, n, o)| match o {
            Output::StateChanged(c) if *n == 0 && *t == secs(10.0) => Some(c.reason.clone()),
            _ => None,
        })
        .collect();
    assert!(matches!(reasons[0], Reason::Fault { .. }));
    assert_eq!(reasons[1], Reason::SyncGroup { group: "G".into() });
    // Both of node 0's members sent priority 0 on entering FAULT: two from VI_1, which
    // faulted on its own, one from VI_2, which its group moved (keepalived 2.2.7
    // `down_instance` versus `vrrp_sync_fault`).
    let zeros = lan
        .adverts(0)
        .into_iter()
        .filter(|&(t, p)| t == secs(10.0) && p == 0)
        .count();
    assert_eq!(zeros, 3);
}

#[test]
fn without_the_group_only_the_failing_instance_moves() {
    let mut lan = lan(router(150, false), router(100, false));
    lan.run_until(secs(15.0));
    let moved = changes_from(&lan, 10.0);
    assert_eq!(
        moved,
        vec![
            (secs(10.0), 0, "VI_1", State::Fault),
            (secs(10.0 + LAT + SKEW_100), 1, "VI_1", State::Master),
        ]
    );
}

#[test]
fn group_notifies_fire_once_per_group_transition_with_keepalived_arguments() {
    let mut lan = lan(router(150, true), router(100, true));
    lan.run_until(secs(30.0));
    let seen = |n| -> Vec<(Instant, State, State)> {
        group_changes(&lan, n)
            .into_iter()
            .map(|(t, c)| {
                assert_eq!(c.group, "G");
                assert_eq!(c.at, t);
                (t, c.from, c.to)
            })
            .collect()
    };
    let t_back = 20.0 + MDI_150;
    assert_eq!(
        seen(0),
        vec![
            (secs(0.0), State::Initialize, State::Backup),
            (secs(MDI_150), State::Backup, State::Master),
            (secs(10.0), State::Master, State::Fault),
            (secs(20.0), State::Fault, State::Backup),
            (secs(t_back), State::Backup, State::Master),
        ]
    );
    assert_eq!(
        seen(1),
        vec![
            (secs(0.0), State::Initialize, State::Backup),
            (secs(10.0 + LAT + SKEW_100), State::Backup, State::Master),
            (secs(t_back + LAT), State::Master, State::Backup),
        ]
    );
    // The group's change comes after its members' (keepalived's `vrrp_sync_fault` notifies
    // once every member has moved).
    let at10: Vec<&Output> = lan
        .log
        .iter()
        .filter(|(t, n, _)| *n == 0 && *t == secs(10.0))
        .map(|(_, _, o)| o)
        .filter(|o| matches!(o, Output::StateChanged(_) | Output::SyncGroupChanged(_)))
        .collect();
    assert!(matches!(at10[2], Output::SyncGroupChanged(_)));
    // keepalived's arguments: the state's own script as configured, then `notify` with
    // GROUP, the name, the state and priority 0.
    let e = lan.nodes[0].as_ref().unwrap();
    let notify = &e.sync_group_config("G").unwrap().notify;
    let fault = &group_changes(&lan, 0)[2].1;
    assert_eq!(
        fault.notifies(notify),
        vec![
            ("/usr/local/bin/fault.sh".to_string(), vec![]),
            (
                "/usr/local/bin/notify.sh x".to_string(),
                ["GROUP", "G", "FAULT", "0"].map(String::from).to_vec()
            ),
        ]
    );
    let master = &group_changes(&lan, 0)[1].1;
    assert_eq!(
        master.notifies(notify),
        vec![(
            "/usr/local/bin/notify.sh x".to_string(),
            ["GROUP", "G", "MASTER", "0"].map(String::from).to_vec()
        )]
    );
    // Shutdown: the members stop, then the group (STOP).
    lan.input(0, Input::Shutdown);
    let last: Vec<(Instant, SyncGroupChange)> = group_changes(&lan, 0);
    let stop = &last.last().unwrap().1;
    assert_eq!((stop.from, stop.to), (State::Master, State::Initialize));
    assert_eq!(stop.state_word(), "STOP");
    assert!(matches!(
        lan.log.last().unwrap().2,
        Output::SyncGroupChanged(_)
    ));
}

/// Drive one engine through its timers up to `until`, logging outputs with their times.
fn step(e: &mut Engine, now: &mut Instant, until: Instant, log: &mut Vec<(Instant, Output)>) {
    loop {
        while let Some(o) = e.poll_output() {
            log.push((*now, o));
        }
        match e.poll_timeout() {
            Some(t) if t <= until => {
                *now = t.max(*now);
                e.handle_timeout(*now);
            }
            _ => break,
        }
    }
    *now = until;
}

fn iface(name: &str, up: bool) -> Input<'static> {
    Input::Interface(InterfaceUpdate {
        name: name.into(),
        up,
        ipv4: None,
        ipv6_link_local: None,
    })
}

#[test]
fn fault_of_one_member_takes_the_group_to_fault_until_every_member_is_back() {
    // VI_1 tracks eth2, VI_2 tracks eth1 (weight 0): each member's own FAULT.
    let mut c = router(150, true);
    c.instances[0].track_scripts.clear();
    c.instances[0].track_interfaces.push(TrackRef::new("eth2"));
    c.instances[1].track_interfaces.push(TrackRef::new("eth1"));
    let mut e = Engine::new(c, Instant::ZERO).unwrap();
    e.handle(Instant::ZERO, iface("eth1", true));
    e.handle(Instant::ZERO, iface("eth2", true));
    e.handle(Instant::ZERO, Input::Interface(eth0(0, true)));
    let (mut now, mut log) = (Instant::ZERO, Vec::new());
    step(&mut e, &mut now, secs(5.0), &mut log);
    e.handle(now, iface("eth1", false)); // VI_2 down: the group goes to FAULT
    step(&mut e, &mut now, secs(6.0), &mut log);
    e.handle(now, iface("eth2", false)); // VI_1 down too: no change
    step(&mut e, &mut now, secs(7.0), &mut log);
    e.handle(now, iface("eth1", true)); // VI_2 back: VI_1 still down, still FAULT
    step(&mut e, &mut now, secs(9.0), &mut log);
    e.handle(now, iface("eth2", true)); // both back: BACKUP, then MASTER together
    step(&mut e, &mut now, secs(20.0), &mut log);
    let seen: Vec<(Instant, u32, State)> = log
        .iter()
        .filter_map(|(t, o)| match o {
            Output::StateChanged(c) => Some((*t, c.instance.0, c.to)),
            Output::SyncGroupChanged(c) => Some((*t, 99, c.to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            // The group is Backup once its first member is.
            (secs(0.0), 0, State::Backup),
            (secs(0.0), 99, State::Backup),
            (secs(0.0), 1, State::Backup),
            (secs(MDI_150), 1, State::Master),
            (secs(MDI_150), 0, State::Master),
            (secs(MDI_150), 99, State::Master),
            (secs(5.0), 1, State::Fault),
            (secs(5.0), 0, State::Fault),
            (secs(5.0), 99, State::Fault),
            (secs(9.0), 0, State::Backup),
            (secs(9.0), 1, State::Backup),
            (secs(9.0), 99, State::Backup),
            (secs(9.0 + MDI_150), 1, State::Master),
            (secs(9.0 + MDI_150), 0, State::Master),
            (secs(9.0 + MDI_150), 99, State::Master),
        ]
    );
    // VI_1 was moved by the group, then held down by its own interface.
    let snap = e.snapshot();
    assert_eq!(snap.instances[0].sync_group.as_deref(), Some("G"));
    assert_eq!(snap.sync_groups[0].state, State::Master);
}

#[test]
fn a_group_starts_in_fault_when_a_member_is_down_at_start() {
    let mut c = router(150, true);
    c.instances[1].track_interfaces.push(TrackRef::new("eth1"));
    let mut e = Engine::new(c, Instant::ZERO).unwrap();
    e.handle(Instant::ZERO, iface("eth1", false));
    e.handle(Instant::ZERO, Input::Interface(eth0(0, true)));
    let seen: Vec<(u32, State, Option<Reason>)> = drain(&mut e)
        .into_iter()
        .filter_map(|o| match o {
            Output::StateChanged(c) => Some((c.instance.0, c.to, Some(c.reason))),
            Output::SyncGroupChanged(c) => Some((99, c.to, None)),
            _ => None,
        })
        .collect();
    let g = Some(Reason::SyncGroup { group: "G".into() });
    assert_eq!(seen[0], (0, State::Fault, g));
    assert_eq!(seen[1].1, State::Fault);
    assert_eq!(seen[2], (99, State::Fault, None));
    assert_eq!(seen.len(), 3);
}

#[test]
fn a_one_member_group_moves_its_member_as_no_group_would() {
    // keepalived 2.2.7 keeps a one-member group (`vrrp_sync_set_group` warns "this probably
    // isn't what you want"): the member's transitions are those of an ungrouped instance,
    // and the group's notifies run too.
    let single = |prio, grouped: bool| {
        let mut c = router(prio, false);
        c.instances.truncate(1);
        if grouped {
            c.sync_groups.push(SyncGroupConfig::new("G", &["VI_1"]));
        }
        c
    };
    let mut plain = lan(single(150, false), single(100, false));
    plain.run_until(secs(30.0));
    let mut grouped = lan(single(150, true), single(100, true));
    grouped.run_until(secs(30.0));
    assert_eq!(changes(&plain), changes(&grouped));
    assert_eq!(changes(&plain).len(), 8);
    let groups: Vec<(Instant, State)> = group_changes(&grouped, 0)
        .into_iter()
        .map(|(t, c)| (t, c.to))
        .collect();
    let member: Vec<(Instant, State)> = changes(&grouped)
        .into_iter()
        .filter(|c| c.1 == 0)
        .map(|(t, _, _, s)| (t, s))
        .collect();
    assert_eq!(groups, member);
}

#[test]
fn group_track_script_weights_move_every_member() {
    // The group tracks `chk` with weight -60: node 0 falls from 150 to 90 below node 1's 100
    // on both members at 10 s. Node 1's Backups discard the lower adverts, so both timers run
    // out Master_Down_Interval after the last advert they accepted (9.414 s + 1 ms).
    let grouped = |prio| {
        let mut c = router(prio, true);
        c.instances[0].track_scripts.clear();
        let mut r = TrackRef::new("chk");
        r.weight = Some(-60);
        c.sync_groups[0].track_scripts.push(r);
        c
    };
    let mut lan = lan(grouped(150), grouped(100));
    lan.run_until(secs(15.0));
    let last_accepted = 9.0 + MDI_150 - 3.0 + LAT;
    let t_b = last_accepted + MDI_100;
    let moved = changes_from(&lan, 10.0);
    assert_eq!(
        moved,
        vec![
            (secs(t_b), 1, "VI_2", State::Master),
            (secs(t_b), 1, "VI_1", State::Master),
            (secs(t_b + LAT), 0, "VI_2", State::Backup),
            (secs(t_b + LAT), 0, "VI_1", State::Backup),
        ]
    );
    let snap = lan.nodes[0].as_ref().unwrap().snapshot();
    assert_eq!(snap.instances[0].effective_priority, 90);
    assert_eq!(snap.instances[1].effective_priority, 90);
}

#[test]
fn a_members_own_weights_count_only_with_sync_group_tracking_weight() {
    // keepalived 2.2.7 `vrrp_complete_instance`: a member's weighted script is dropped unless
    // the group sets `sync_group_tracking_weight` (or the deprecated `global_tracking`).
    let run = |tracking_weight: bool| {
        let mut c = router(150, true);
        c.instances[0].track_scripts[0].weight = Some(20);
        c.sync_groups[0].tracking_weight = tracking_weight;
        let mut e = started(c, 0, Instant::ZERO);
        run_alone(&mut e, secs(1.0), |_| CheckOutcome::Pass);
        let snap = e.snapshot();
        let tracked = snap.scripts[0].tracked;
        (snap.instances[0].effective_priority, tracked)
    };
    assert_eq!(run(false), (150, false));
    assert_eq!(run(true), (170, true));
}

#[test]
fn reload_adding_and_removing_a_group_keeps_the_members_states() {
    // Two ungrouped instances both Master; a reload puts them in a group: the group is Master
    // at once and nothing moves (keepalived notifies a reloaded group only in BACKUP or
    // FAULT). A reload removing it again changes nothing either.
    let mut lan = Lan::new(vec![router(150, false)], Duration::from_millis(1));
    lan.run_until(secs(5.0));
    let before = changes(&lan).len();
    lan.reconfigure(0, router(150, true));
    lan.run_until(secs(10.0));
    let snap = lan.nodes[0].as_ref().unwrap().snapshot();
    assert_eq!(snap.sync_groups[0].state, State::Master);
    assert_eq!(changes(&lan).len(), before);
    assert!(group_changes(&lan, 0).is_empty());
    lan.reconfigure(0, router(150, false));
    lan.run_until(secs(15.0));
    assert_eq!(changes(&lan).len(), before);
    assert!(lan.nodes[0]
        .as_ref()
        .unwrap()
        .snapshot()
        .sync_groups
        .is_empty());
}

#[test]
fn reload_into_a_group_with_a_backup_member_takes_the_master_to_backup() {
    // keepalived 2.2.7 `vrrp_init_state`: a member that was Master in a group that is Backup
    // enters BACKUP; the group notifies BACKUP.
    let mut lan = Lan::new(
        vec![router(150, false), router(100, false)],
        Duration::from_millis(1),
    );
    lan.run_until(secs(5.0));
    // Node 1 gets VI_2 at 200: it is Master of VI_2 only after the reload below.
    let mut b = router(100, false);
    b.instances[1].priority = 200;
    lan.reconfigure(1, b.clone());
    lan.run_until(secs(10.0));
    assert_eq!(
        lan.nodes[1].as_ref().unwrap().snapshot().instances[1].state,
        State::Master
    );
    let from = lan.now;
    let mut grouped = b;
    grouped
        .sync_groups
        .push(SyncGroupConfig::new("G", &["VI_1", "VI_2"]));
    lan.reconfigure(1, grouped);
    let out: Vec<(u32, State)> = lan
        .outputs_since(1, from)
        .into_iter()
        .filter_map(|(_, o)| match o {
            Output::StateChanged(c) => Some((c.instance.0, c.to)),
            Output::SyncGroupChanged(c) => Some((99, c.to)),
            _ => None,
        })
        .collect();
    assert_eq!(out, vec![(1, State::Backup), (99, State::Backup)]);
}

/// Mail for the group alone (its own `smtp_alert`; the instances' is off by default).
fn group_mailing(prio: u8) -> Config {
    let mut c = router(prio, true);
    c.global.notification_email = vec!["ops@example.com".into()];
    c.global.smtp_server = Some("127.0.0.1".into());
    c.sync_groups[0].smtp_alert = Some(true);
    c
}

#[test]
fn a_group_mails_each_of_its_transitions_right_after_its_notify() {
    let mut lan = lan(group_mailing(150), router(100, true));
    lan.run_until(secs(30.0));
    // (time, subject) of node 0's alerts, each right after its group change.
    let mut mails = Vec::new();
    for w in lan.log.windows(2) {
        if let (Output::SyncGroupChanged(c), (t, 0, Output::Alert(a))) = (&w[0].2, &w[1]) {
            assert_eq!(w[0].0, *t);
            assert!(a.subject.contains(c.state_word()), "{a:?} after {c:?}");
            mails.push((*t, a.subject.clone(), a.body.clone()));
        }
    }
    let all = |s: &str| format!("=> All VRRP group instances are now in {s} state <=");
    let m = |t: f64, s: &str| {
        (
            secs(t),
            format!("VRRP Group G - Entering {s} state"),
            all(s),
        )
    };
    assert_eq!(
        mails,
        vec![
            m(0.0, "BACKUP"),
            m(MDI_150, "MASTER"),
            m(10.0, "FAULT"),
            m(20.0, "BACKUP"),
            m(20.0 + MDI_150, "MASTER"),
        ]
    );
    // No other mail: node 1 has mail off, node 0's instances inherit nothing.
    let count = lan
        .log
        .iter()
        .filter(|(_, _, o)| matches!(o, Output::Alert(_)))
        .count();
    assert_eq!(count, 5);
}

#[test]
fn a_groups_mail_follows_smtp_alert_vrrp_and_no_email_faults() {
    let mut a = group_mailing(150);
    a.sync_groups[0].smtp_alert = None;
    a.global.smtp_alert_vrrp = Some(true);
    a.global.no_email_faults = true;
    // The instances inherit smtp_alert_vrrp too: turn theirs off to count the group's.
    for i in &mut a.instances {
        i.smtp_alert = Some(false);
    }
    let mut lan = lan(a, router(100, true));
    lan.run_until(secs(30.0));
    let subjects: Vec<String> = lan
        .log
        .iter()
        .filter_map(|(_, _, o)| match o {
            Output::Alert(a) => Some(a.subject.clone()),
            _ => None,
        })
        .collect();
    // FAULT is not mailed; BACKUP after it is (the last mail was MASTER).
    assert_eq!(
        subjects,
        [
            "VRRP Group G - Entering BACKUP state",
            "VRRP Group G - Entering MASTER state",
            "VRRP Group G - Entering BACKUP state",
            "VRRP Group G - Entering MASTER state",
        ]
    );
}

//! Behaviour matched to keepalived 2.2.7 where the RFCs leave room (issue 16). Exact times:
//! VRRPv2, 1 s adverts, Master_Down_Interval = 3 + (256 - priority)/256 s (RFC 3768 §6.1).

mod support;

use std::time::Duration;
use support::*;
use vrrp_engine::config::{InitialState, ScriptConfig, TrackRef};
use vrrp_engine::{wire, CheckOutcome, Input, Instant, InterfaceUpdate, Output, State, Version};

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

/// A check that fails before `t` seconds and passes from then on.
fn passes_from(t: f64) -> impl FnMut(Instant) -> CheckOutcome + Copy {
    move |now| {
        if now >= secs(t) {
            CheckOutcome::Pass
        } else {
            CheckOutcome::Fail
        }
    }
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

/// One-way latency of the LAN tests.
const LAT: f64 = 0.001;

/// A LAN of `cfgs`; node `n` joins at `joins[n]` seconds (its engine is created then).
fn lan_joining(cfgs: Vec<vrrp_engine::config::Config>, joins: &[f64], until: f64) -> Lan {
    let mut lan = Lan::new(Vec::new(), Duration::from_secs_f64(LAT));
    lan.nodes = cfgs.iter().map(|_| None).collect();
    let mut order: Vec<usize> = (0..cfgs.len()).collect();
    order.sort_by(|&a, &b| joins[a].total_cmp(&joins[b]));
    for n in order {
        lan.run_until(secs(joins[n]));
        lan.nodes[n] = Some(started(cfgs[n].clone(), n, secs(joins[n])));
    }
    lan.run_until(secs(until));
    lan
}

/// An instance at `prio` with `state` (`None`: no `state` line, keepalived derives it).
fn stated(prio: u8, state: Option<InitialState>) -> vrrp_engine::config::Config {
    let mut i = instance(prio, Version::V2, Duration::from_secs(1));
    i.initial_state = state.unwrap_or(if prio == 255 {
        InitialState::Master
    } else {
        InitialState::Backup
    });
    config(i)
}

/// keepalived 2.2.7 `vrrp_init_state` sends only an owner that wants MASTER to Master at
/// once; `state BACKUP` at priority 255 waits Master_Down_Interval like any Backup.
#[test]
fn an_owner_with_state_backup_waits_master_down_interval() {
    let lan = lan_joining(vec![stated(255, Some(InitialState::Backup))], &[0.0], 10.0);
    assert_eq!(
        lan.transitions(0),
        vec![(secs(0.0), State::Backup), (secs(mdi(255)), State::Master)]
    );
    let lan = lan_joining(vec![stated(255, None)], &[0.0], 10.0);
    assert_eq!(lan.transitions(0), vec![(secs(0.0), State::Master)]);
}

/// A second owner with `state BACKUP` joining a running owner hears its priority-255
/// adverts (>= its own: RFC 3768 §6.4.2) and stays Backup; the Master never hears it.
#[test]
fn a_second_owner_with_state_backup_joining_later_stays_backup() {
    let backup = || stated(255, Some(InitialState::Backup));
    let lan = lan_joining(vec![backup(), backup()], &[0.0, 10.0], 30.0);
    assert_eq!(
        lan.transitions(0),
        vec![(secs(0.0), State::Backup), (secs(mdi(255)), State::Master)]
    );
    assert_eq!(lan.transitions(1), vec![(secs(10.0), State::Backup)]);
}

/// Two owners that both want MASTER: the running one hears the newcomer's priority 255,
/// drops to 254 and yields, whatever the addresses (keepalived 2.2.7
/// `vrrp_state_master_rx`: "CONFIGURATION ERROR ... reducing local priority"). The
/// newcomer (node 0) has the lower address, so RFC 5798 §6.4.3's tie-break alone would
/// keep the running owner.
#[test]
fn a_running_owner_yields_to_a_second_owner_and_drops_to_254() {
    let lan = lan_joining(
        vec![stated(255, None), stated(255, None)],
        &[10.5, 0.0],
        30.0,
    );
    assert_eq!(
        lan.transitions(1),
        vec![
            (secs(0.0), State::Master),
            (secs(10.5 + LAT), State::Backup)
        ]
    );
    assert_eq!(lan.transitions(0), vec![(secs(10.5), State::Master)]);
    let running = lan.nodes[1].as_ref().unwrap().snapshot();
    assert_eq!(running.instances[0].effective_priority, 254);
}

/// An owner whose fault clears comes back as Backup and waits Master_Down_Interval
/// (keepalived 2.2.7: `down_instance` sets wantstate FAULT, so `try_up_instance` does not
/// take the owner's short cut).
#[test]
fn an_owner_out_of_a_fault_waits_master_down_interval() {
    let mut c = with_script(255, 0);
    c.instances[0].initial_state = InitialState::Master;
    let mut e = started(c, 0, Instant::ZERO);
    let fails_10_to_12 = |t: Instant| {
        if t >= secs(10.0) && t < secs(12.0) {
            CheckOutcome::Fail
        } else {
            CheckOutcome::Pass
        }
    };
    let log = run_alone(&mut e, secs(20.0), fails_10_to_12);
    assert_eq!(
        transitions(&log),
        vec![
            (Instant::ZERO, State::Master),
            (secs(10.0), State::Fault),
            (secs(12.0), State::Backup),
            (secs(12.0 + mdi(255)), State::Master),
        ]
    );
}

/// An owner that starts in FAULT (its tracked interface down) is Master as soon as it
/// comes up (keepalived 2.2.7 `try_up_instance` keeps wantstate MASTER until the first
/// fault while running).
#[test]
fn an_owner_starting_in_fault_is_master_once_up() {
    let mut i = instance(255, Version::V2, Duration::from_secs(1));
    i.track_interfaces.push(TrackRef::new("eth1"));
    let mut e = started(config(i), 0, Instant::ZERO);
    let eth1 = |up| {
        Input::Interface(InterfaceUpdate {
            name: "eth1".into(),
            up,
            ipv4: None,
            ipv6_link_local: None,
        })
    };
    e.handle(Instant::ZERO, eth1(false));
    let mut log = run_alone(&mut e, secs(1.0), |_| CheckOutcome::Pass);
    e.handle(secs(2.0), eth1(true));
    log.extend(drain(&mut e).into_iter().map(|o| (secs(2.0), o)));
    let states: Vec<State> = transitions(&log).into_iter().map(|(_, s)| s).collect();
    assert_eq!(states, [State::Fault, State::Master]);
    assert_eq!(e.snapshot().instances[0].state, State::Master);
}

/// A reload keeps an owner's wish for MASTER while it is in FAULT (keepalived 2.2.7
/// `vrrp_complete_init`: "If we have detected a fault, don't override it"), and it is Master
/// at once when it comes up.
#[test]
fn an_owner_reloaded_in_fault_is_master_once_up() {
    let cfg = |repeat| {
        let mut i = instance(255, Version::V2, Duration::from_secs(1));
        i.track_interfaces.push(TrackRef::new("eth1"));
        i.garp.master_repeat = repeat;
        config(i)
    };
    let mut e = started(cfg(5), 0, Instant::ZERO);
    // eth1 reported down (an instance starts once every interface it tracks is reported).
    let eth1 = |up| {
        Input::Interface(InterfaceUpdate {
            name: "eth1".into(),
            up,
            ipv4: None,
            ipv6_link_local: None,
        })
    };
    e.handle(Instant::ZERO, eth1(false));
    drain(&mut e);
    assert_eq!(e.snapshot().instances[0].state, State::Fault);
    e.reconfigure(secs(1.0), cfg(3)).expect("valid");
    drain(&mut e);
    e.handle(secs(2.0), eth1(true));
    drain(&mut e);
    assert_eq!(e.snapshot().instances[0].state, State::Master);
}

/// `state MASTER` with `preempt_delay`: keepalived 2.2.7 `vrrp_complete_instance` clears the
/// delay ("preempt delay will not work with initial state MASTER - clearing"), so a
/// higher-priority newcomer discards the running Master's adverts and takes over after its
/// own Master_Down_Interval.
#[test]
fn state_master_ignores_preempt_delay() {
    let mut newcomer = stated(150, Some(InitialState::Master));
    newcomer.instances[0].preempt_delay = Duration::from_secs(5);
    let lan = lan_joining(vec![stated(100, None), newcomer], &[0.0, 10.0], 30.0);
    let takeover = 10.0 + mdi(150);
    assert_eq!(
        lan.transitions(1),
        vec![(secs(10.0), State::Backup), (secs(takeover), State::Master)]
    );
    assert_eq!(
        lan.transitions(0),
        vec![
            (secs(0.0), State::Backup),
            (secs(mdi(100)), State::Master),
            (secs(takeover + LAT), State::Backup)
        ]
    );
}

/// The same with `state BACKUP`: the delay holds (5 s from the first lower-priority advert
/// heard, at 10.609375 s + latency), then the newcomer lets its timer run out.
#[test]
fn state_backup_keeps_preempt_delay() {
    let mut newcomer = stated(150, Some(InitialState::Backup));
    newcomer.instances[0].preempt_delay = Duration::from_secs(5);
    let lan = lan_joining(vec![stated(100, None), newcomer], &[0.0, 10.0], 30.0);
    let t = lan.transitions(1);
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t[1].0 > secs(15.0 + mdi(150) - 1.0), "{t:?}");
}

/// What happens to a lone engine in [`drive`] at a time.
enum Ev {
    /// An advert of a Master at 172.20.0.12 with this priority.
    Advert(u8),
    /// The result of the check run in flight.
    Answer(CheckOutcome),
}

/// Drive `e` alone up to `until` seconds: its timers, plus `events` (seconds, event) in
/// order; checks are answered only by [`Ev::Answer`]. Returns the outputs with their times.
fn drive(
    e: &mut vrrp_engine::Engine,
    until: f64,
    events: Vec<(f64, Ev)>,
) -> Vec<(Instant, Output)> {
    let mut log = Vec::new();
    let mut events = events.into_iter().peekable();
    let mut in_flight = None;
    let mut now = Instant::ZERO;
    loop {
        for o in drain(e) {
            if let Output::RunCheck { script, seq, .. } = &o {
                in_flight = Some((*script, *seq));
            }
            log.push((now, o));
        }
        let timer = e.poll_timeout();
        let event = events.peek().map(|(t, _)| secs(*t));
        let next = match (timer, event) {
            (Some(t), Some(v)) => t.min(v),
            (t, v) => match t.or(v) {
                Some(x) => x,
                None => break,
            },
        };
        if next > secs(until) {
            break;
        }
        now = next.max(now);
        if event == Some(next) {
            let (_, ev) = events.next().unwrap();
            match ev {
                Ev::Advert(p) => {
                    let master = host_addr(1);
                    let bytes = advert_bytes(Version::V2, 51, p, 1, master, wire::Auth::None);
                    deliver(e, now, master, &bytes);
                }
                Ev::Answer(outcome) => {
                    if let Some((script, seq)) = in_flight.take() {
                        e.handle(
                            now,
                            Input::CheckResult {
                                script,
                                seq,
                                outcome,
                            },
                        );
                    }
                }
            }
        } else {
            e.handle_timeout(now);
        }
    }
    log
}

/// A positive weight applies only once the script has passed (keepalived 2.2.7
/// `initialise_track_script_state` adds nothing for a script in its init state): a standby
/// whose first check is slow does not preempt a healthy Master at start-up.
#[test]
fn a_positive_weight_waits_for_the_first_pass() {
    // Priority 90 + 20 while passing; the first check (10 s timeout) answers at 6 s.
    let mut c = with_script(90, 20);
    c.scripts[0].interval = Duration::from_secs(10);
    let mut e = started(c, 0, Instant::ZERO);
    let mut events: Vec<(f64, Ev)> = (0..12).map(|k| (0.5 + k as f64, Ev::Advert(100))).collect();
    events.push((6.0, Ev::Answer(CheckOutcome::Pass)));
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let log = drive(&mut e, 12.0, events);
    // At 6 s the priority becomes 110: the adverts of priority 100 are discarded from 6.5 s,
    // and the timer restarted by the one at 5.5 s fires at the Skew_Time of 110.
    assert_eq!(
        transitions(&log),
        vec![
            (Instant::ZERO, State::Backup),
            (secs(5.5 + mdi(110)), State::Master)
        ]
    );
}

/// The first result decides whatever `rise` and `fall` (keepalived 2.2.7
/// `vrrp_init_script`: "one success is enough"; the first failure counts at once); after
/// that, `rise` and `fall` count as usual.
#[test]
fn the_first_result_decides_whatever_rise_and_fall() {
    let three = |weight| {
        let mut c = with_script(100, weight);
        c.scripts[0].rise = 3;
        c.scripts[0].fall = 3;
        c
    };
    let prio = |e: &vrrp_engine::Engine| e.snapshot().instances[0].effective_priority;
    // A pass at 0 s: +20 at once.
    let mut e = started(three(20), 0, Instant::ZERO);
    run_alone(&mut e, secs(0.5), |_| CheckOutcome::Pass);
    assert_eq!(prio(&e), 120);
    // A failure at 0 s: -30 at once; then passes at 2, 4, 6 s: rise 3 lifts it at 6 s.
    let mut e = started(three(-30), 0, Instant::ZERO);
    run_alone(&mut e, secs(4.5), passes_from(1.0));
    assert_eq!(prio(&e), 70, "two passes are below rise 3");
    run_alone(&mut e, secs(6.5), passes_from(1.0));
    assert_eq!(prio(&e), 100);
}

/// `init_fail` changes nothing (keepalived 2.2.7 `alloc_track_script` resets it): the first
/// pass counts at once even with rise 3.
#[test]
fn init_fail_does_not_delay_the_first_pass() {
    let mut c = with_script(100, 20);
    c.scripts[0].rise = 3;
    c.scripts[0].init_fail = true;
    let mut e = started(c, 0, Instant::ZERO);
    run_alone(&mut e, secs(0.5), |_| CheckOutcome::Pass);
    assert_eq!(e.snapshot().instances[0].effective_priority, 120);
}

/// VRRPv2 adverts with another Adver Int are discarded (RFC 3768 §7.1) and counted as
/// `interval`; unlike keepalived 2.2.7 (whose `dispatcher_read` restarts a Master's
/// Adver_Timer on every packet it reads, dropped or not), they do not silence our Master:
/// it keeps advertising every 2 s (docs/keepalived-differences.md).
#[test]
fn v2_adverts_with_another_interval_are_discarded_counted_and_never_silence_a_master() {
    let c = config(instance(100, Version::V2, Duration::from_secs(2)));
    let mut e = started(c, 0, Instant::ZERO);
    // A priority-200 router advertising every 1 s from 10.5 s on.
    let events: Vec<(f64, Ev)> = (0..10)
        .map(|k| (10.5 + k as f64, Ev::Advert(200)))
        .collect();
    let log = drive(&mut e, 20.0, events);
    // Master at 3 x 2 + 156/256 s, and never Backup.
    let master_at = 6.0 + 156.0 / 256.0;
    assert_eq!(
        transitions(&log),
        vec![
            (Instant::ZERO, State::Backup),
            (secs(master_at), State::Master)
        ]
    );
    let sent: Vec<Instant> = log
        .iter()
        .filter(|(_, o)| matches!(o, Output::Transmit(_)))
        .map(|(t, _)| *t)
        .collect();
    let expected: Vec<Instant> = (0..7).map(|k| secs(master_at + 2.0 * k as f64)).collect();
    assert_eq!(
        sent, expected,
        "an advert every 2 s, the discards notwithstanding"
    );
    let snap = e.snapshot();
    assert_eq!(snap.instances[0].counters.discarded.interval, 10);
    assert_eq!(snap.instances[0].counters.adverts_accepted, 0);
}

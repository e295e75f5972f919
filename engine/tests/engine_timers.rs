//! RFC timer rules through the public API, with explicit times.

mod support;

use std::time::Duration;
use support::*;
use vrrp_engine::wire::Auth;
use vrrp_engine::{CheckOutcome, Instant, State, Version};

const MASTER_ADDR: std::net::Ipv4Addr = std::net::Ipv4Addr::new(172, 20, 0, 11);

/// A Backup (node 1) hearing a prio-`master_prio` Master every `every` until `last`, then
/// silence. Returns its transitions.
fn backup_after_adverts(
    backup: vrrp_engine::config::InstanceConfig,
    master_prio: u8,
    wire_interval: u16,
    every: Duration,
    last: Instant,
    final_prio: u8,
) -> Vec<(Instant, State)> {
    let version = backup.version;
    let mut e = started(config(backup), 1, Instant::ZERO);
    let mut log = Vec::new();
    let mut t = Instant::ZERO;
    let normal = advert_bytes(
        version,
        51,
        master_prio,
        wire_interval,
        MASTER_ADDR,
        Auth::None,
    );
    while t <= last {
        // Run the engine's own timers up to t first.
        while let Some(d) = e.poll_timeout().filter(|&d| d < t) {
            e.handle_timeout(d);
            log.extend(drain(&mut e).into_iter().map(|o| (d, o)));
        }
        let bytes = if t == last {
            advert_bytes(
                version,
                51,
                final_prio,
                wire_interval,
                MASTER_ADDR,
                Auth::None,
            )
        } else {
            normal.clone()
        };
        deliver(&mut e, t, MASTER_ADDR, &bytes);
        log.extend(drain(&mut e).into_iter().map(|o| (t, o)));
        t += every;
    }
    log.extend(run_alone(&mut e, last + Duration::from_secs(60), |_| {
        CheckOutcome::Pass
    }));
    transitions(&log)
}

#[test]
fn v2_backup_prio_90_takes_over_3_6484375_s_after_last_advert() {
    let last = secs(10.0);
    let tr = backup_after_adverts(
        instance(90, Version::V2, Duration::from_secs(1)),
        100,
        1,
        Duration::from_secs(1),
        last,
        100,
    );
    assert_eq!(
        tr,
        vec![
            (Instant::ZERO, State::Backup),
            (last + Duration::from_nanos(3_648_437_500), State::Master)
        ]
    );
}

#[test]
fn v2_backup_prio_90_takes_over_skew_time_after_priority_zero() {
    let last = secs(10.0);
    let tr = backup_after_adverts(
        instance(90, Version::V2, Duration::from_secs(1)),
        100,
        1,
        Duration::from_secs(1),
        last,
        0,
    );
    assert_eq!(
        tr[1],
        (last + Duration::from_nanos(648_437_500), State::Master)
    );
}

#[test]
fn v3_10ms_prio_100_takes_over_in_36_09375_ms() {
    let last = secs(1.0);
    let tr = backup_after_adverts(
        instance(100, Version::V3, Duration::from_millis(10)),
        200,
        1,
        Duration::from_millis(10),
        last,
        200,
    );
    assert_eq!(
        tr[1],
        (last + Duration::from_nanos(36_093_750), State::Master)
    );
}

#[test]
fn v3_backup_learns_master_adver_interval() {
    // Configured 1 s, the Master advertises 50 cs: Master_Down_Interval = 3 x 0.5 s + 156 x
    // 0.5 s / 256 = 1.8046875 s (RFC 5798 §6.4.2 "Set Master_Adver_Interval").
    let last = secs(5.0);
    let tr = backup_after_adverts(
        instance(100, Version::V3, Duration::from_secs(1)),
        200,
        50,
        Duration::from_millis(500),
        last,
        200,
    );
    assert_eq!(
        tr[1],
        (last + Duration::from_nanos(1_804_687_500), State::Master)
    );
}

#[test]
fn learned_interval_shows_in_snapshot() {
    let mut e = started(
        config(instance(100, Version::V3, Duration::from_secs(1))),
        1,
        Instant::ZERO,
    );
    deliver(
        &mut e,
        secs(0.1),
        MASTER_ADDR,
        &advert_bytes(Version::V3, 51, 200, 50, MASTER_ADDR, Auth::None),
    );
    let s = &e.snapshot().instances[0];
    assert_eq!(s.master_adver_interval, Duration::from_millis(500));
    assert_eq!(s.master_down_interval, Duration::from_nanos(1_804_687_500));
    assert_eq!(s.master_address, Some(MASTER_ADDR.into()));
    assert_eq!(s.master_priority, Some(200));
}

#[test]
fn v2_backup_without_master_takes_over_after_master_down_interval_from_start() {
    let mut e = started(
        config(instance(100, Version::V2, Duration::from_secs(1))),
        1,
        Instant::ZERO,
    );
    let log = run_alone(&mut e, secs(10.0), |_| CheckOutcome::Pass);
    assert_eq!(
        transitions(&log),
        vec![
            (Instant::ZERO, State::Backup),
            (Instant::from_nanos(3_609_375_000), State::Master)
        ]
    );
}

#[test]
fn preempting_backup_ignores_lower_priority_and_takes_over_on_its_timer() {
    // Higher-priority Backup (100) hearing a 90 Master: the adverts are discarded, so its
    // start-up Master_Down_Timer runs out.
    let tr = backup_after_adverts(
        instance(100, Version::V2, Duration::from_secs(1)),
        90,
        1,
        Duration::from_secs(1),
        secs(30.0),
        90,
    );
    assert_eq!(tr[1], (Instant::from_nanos(3_609_375_000), State::Master));
}

#[test]
fn preempt_delay_holds_a_higher_priority_backup_for_its_delay() {
    let mut b = instance(100, Version::V2, Duration::from_secs(1));
    b.preempt_delay = Duration::from_secs(10);
    // First lower-priority advert at 0: preempt_until = 10 s. Adverts up to 9 s are taken,
    // the one at 10 s no more: takeover at 9 s + 3.609375 s.
    let tr = backup_after_adverts(b, 90, 1, Duration::from_secs(1), secs(30.0), 90);
    assert_eq!(tr[1], (Instant::from_nanos(12_609_375_000), State::Master));
}

#[test]
fn nopreempt_keeps_the_current_master() {
    let mut b = instance(100, Version::V2, Duration::from_secs(1));
    b.preempt = false;
    let tr = backup_after_adverts(b, 90, 1, Duration::from_secs(1), secs(60.0), 90);
    // Only after the adverts stop at 60 s does it take over.
    assert_eq!(
        tr[1],
        (
            secs(60.0) + Duration::from_nanos(3_609_375_000),
            State::Master
        )
    );
}

#[test]
fn master_sends_adverts_every_interval() {
    let mut e = started(
        config(instance(100, Version::V3, Duration::from_millis(100))),
        0,
        Instant::ZERO,
    );
    let log = run_alone(&mut e, secs(1.0), |_| CheckOutcome::Pass);
    let sends: Vec<Instant> = log
        .iter()
        .filter(|(_, o)| matches!(o, vrrp_engine::Output::Transmit(_)))
        .map(|(t, _)| *t)
        .collect();
    // Master at 360.9375 ms, then every 100 ms.
    let first = Instant::from_nanos(360_937_500);
    let expected: Vec<Instant> = (0..7)
        .map(|k| first + Duration::from_millis(100 * k))
        .collect();
    assert_eq!(sends, expected);
}

#[test]
fn priority_255_owner_becomes_master_at_once() {
    let mut e = started(
        config(instance(255, Version::V2, Duration::from_secs(1))),
        0,
        Instant::ZERO,
    );
    let log = run_alone(&mut e, secs(0.5), |_| CheckOutcome::Pass);
    assert_eq!(transitions(&log), vec![(Instant::ZERO, State::Master)]);
}

#[test]
fn startup_delay_postpones_start() {
    let mut c = config(instance(255, Version::V2, Duration::from_secs(1)));
    c.global.startup_delay = Duration::from_secs(5);
    let mut e = started(c, 0, Instant::ZERO);
    let log = run_alone(&mut e, secs(6.0), |_| CheckOutcome::Pass);
    assert_eq!(transitions(&log), vec![(secs(5.0), State::Master)]);
}

/// `poll_timeout_is_takeover` names exactly the Backup's Master_Down_Timer (initial, restarted
/// by an advert, or cut to Skew_Time by a priority-0 advert), never a Master's Adver_Timer.
#[test]
fn poll_timeout_is_takeover_only_for_a_backups_master_down_timer() {
    let version = Version::V3;
    let mut e = started(
        config(instance(100, version, Duration::from_millis(10))),
        1,
        Instant::ZERO,
    );
    drain(&mut e);
    assert_eq!(e.state(first_id(&e)), Some(State::Backup));
    assert!(e.poll_timeout_is_takeover(), "initial Master_Down_Timer");
    let t = secs(0.01);
    let advert = |prio| advert_bytes(version, 51, prio, 1, MASTER_ADDR, Auth::None);
    deliver(&mut e, t, MASTER_ADDR, &advert(200));
    drain(&mut e);
    assert!(e.poll_timeout_is_takeover(), "restarted by an advert");
    deliver(&mut e, secs(0.02), MASTER_ADDR, &advert(0));
    drain(&mut e);
    // RFC 5798 §6.4.2: priority 0 sets Master_Down_Timer to Skew_Time.
    let skew = Duration::from_nanos(10_000_000 * (256 - 100) / 256);
    assert_eq!(e.poll_timeout(), Some(secs(0.02) + skew));
    assert!(e.poll_timeout_is_takeover(), "Skew_Time after priority 0");
    let at = e.poll_timeout().unwrap();
    e.handle_timeout(at);
    drain(&mut e);
    assert_eq!(e.state(first_id(&e)), Some(State::Master));
    assert!(e.poll_timeout().is_some());
    assert!(!e.poll_timeout_is_takeover(), "a Master's Adver_Timer");
}

fn first_id(e: &vrrp_engine::Engine) -> vrrp_engine::InstanceId {
    e.instance_ids().next().expect("one instance")
}

/// `rx_may_wait`: true while no instance is Master (a Backup's adverts only restart its timer
/// from their arrival), false once one is.
#[test]
fn rx_may_wait_while_no_instance_is_master() {
    let mut e = started(
        config(instance(100, Version::V3, Duration::from_millis(10))),
        1,
        Instant::ZERO,
    );
    drain(&mut e);
    assert!(e.rx_may_wait(), "Backup");
    let at = e.poll_timeout().unwrap();
    e.handle_timeout(at);
    drain(&mut e);
    assert_eq!(e.state(first_id(&e)), Some(State::Master));
    assert!(!e.rx_may_wait(), "Master");
}

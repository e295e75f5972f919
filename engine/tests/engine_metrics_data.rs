//! What the snapshot gives a metrics exporter beyond the counters: the last takeover (engine
//! time, from the last sign of the old Master to becoming Master), each `vrrp_script`'s last
//! run and result counts, and each real-server checker's last probe and counts, kept across
//! a reload.

mod support;

use std::time::Duration;
use support::*;
use vrrp_engine::keepalived::{parse_str, Options};
use vrrp_engine::lvs::ProbeResult;
use vrrp_engine::snapshot::{ProbeRecord, ScriptResults, Takeover};
use vrrp_engine::timing::{master_down_interval, skew_time};
use vrrp_engine::wire::Auth;
use vrrp_engine::{CheckOutcome, Engine, Input, Instant, Output, State, Version};

/// VRRPv2, 1 s, priority 100: Master_Down_Interval 3.609375 s, Skew_Time 0.609375 s.
fn mdi() -> Duration {
    master_down_interval(Version::V2, 100, Duration::from_secs(1))
}

fn skew() -> Duration {
    skew_time(Version::V2, 100, Duration::from_secs(1))
}

/// A priority-100 Backup that hears a peer's adverts (priority `peer_prio`) at 0.5 s, 1.5 s,
/// ... up to `last` (seconds), running every timer due in between.
fn backup_hearing(peer_prio: u8, last: f64) -> Engine {
    let mut e = started(
        config(instance(100, Version::V2, Duration::from_secs(1))),
        0,
        Instant::ZERO,
    );
    let peer = host_addr(1);
    let mut t = 0.5;
    while t <= last + 1e-9 {
        run_timers(&mut e, secs(t));
        deliver(
            &mut e,
            secs(t),
            peer,
            &advert_bytes(Version::V2, 51, peer_prio, 1, peer, Auth::None),
        );
        drain(&mut e);
        t += 1.0;
    }
    e
}

/// Runs every timer due by `t`, each at its due time, and drops the outputs.
fn run_timers(e: &mut Engine, t: Instant) {
    while let Some(d) = e.poll_timeout().filter(|d| *d <= t) {
        e.handle_timeout(d);
        drain(e);
    }
}

fn takeover(e: &Engine) -> Option<Takeover> {
    e.snapshot().instances[0].last_takeover
}

fn state(e: &Engine) -> State {
    e.snapshot().instances[0].state
}

#[test]
fn takeover_after_a_crash_lasts_master_down_interval_from_the_last_advert() {
    let mut e = backup_hearing(150, 5.5);
    assert_eq!(state(&e), State::Backup);
    assert_eq!(takeover(&e), None, "no takeover while the Master speaks");
    // The Master dies after its advert at 5.5 s.
    run_timers(&mut e, secs(20.0));
    assert_eq!(state(&e), State::Master);
    let t = takeover(&e).expect("a takeover");
    assert_eq!(t.since, secs(5.5));
    assert_eq!(t.at, secs(5.5) + mdi());
    assert_eq!(t.duration(), mdi());
}

#[test]
fn takeover_after_priority_zero_lasts_skew_time_from_it() {
    let mut e = backup_hearing(150, 3.5);
    // The Master stops: priority 0 at 4.0 s.
    let peer = host_addr(1);
    deliver(
        &mut e,
        secs(4.0),
        peer,
        &advert_bytes(Version::V2, 51, 0, 1, peer, Auth::None),
    );
    run_timers(&mut e, secs(10.0));
    let t = takeover(&e).expect("a takeover");
    assert_eq!((t.since, t.duration()), (secs(4.0), skew()));
}

#[test]
fn a_preempting_backup_counts_from_the_lower_masters_last_advert() {
    // The lower Master (priority 50) speaks every second; the Backup (100, preempt) lets its
    // timer run out from entering BACKUP at 0 and takes over at Master_Down_Interval.
    let mut e = backup_hearing(50, 3.5);
    run_timers(&mut e, secs(10.0));
    let t = takeover(&e).expect("a takeover");
    assert_eq!(t.at, Instant::ZERO + mdi());
    assert_eq!(t.since, secs(3.5), "its last advert before 3.609 s");
    assert!(t.duration() < Duration::from_secs(1));
}

#[test]
fn alone_at_start_up_counts_from_entering_backup_and_the_owner_never_takes_over() {
    let mut e = started(
        config(instance(100, Version::V2, Duration::from_secs(1))),
        0,
        Instant::ZERO,
    );
    run_timers(&mut e, secs(10.0));
    let t = takeover(&e).expect("a takeover");
    assert_eq!((t.since, t.at), (Instant::ZERO, Instant::ZERO + mdi()));

    // The address owner goes INIT -> MASTER at once: not a takeover.
    let mut owner = started(
        config(instance(255, Version::V2, Duration::from_secs(1))),
        0,
        Instant::ZERO,
    );
    run_timers(&mut owner, secs(10.0));
    assert_eq!(state(&owner), State::Master);
    assert_eq!(takeover(&owner), None);
}

#[test]
fn a_later_takeover_replaces_the_first() {
    let mut e = started(
        config(instance(100, Version::V2, Duration::from_secs(1))),
        0,
        Instant::ZERO,
    );
    run_timers(&mut e, secs(5.0));
    let first = takeover(&e).expect("first");
    // A higher-priority Master at 6.0 s sends us back to BACKUP, then goes silent.
    let peer = host_addr(1);
    deliver(
        &mut e,
        secs(6.0),
        peer,
        &advert_bytes(Version::V2, 51, 200, 1, peer, Auth::None),
    );
    drain(&mut e);
    assert_eq!(state(&e), State::Backup);
    assert_eq!(takeover(&e), Some(first), "stepping down is not a takeover");
    run_timers(&mut e, secs(20.0));
    let t = takeover(&e).expect("second");
    assert_eq!((t.since, t.duration()), (secs(6.0), mdi()));
}

/// An instance tracking `chk` (interval 2 s, timeout 1 s).
fn with_script() -> vrrp_engine::config::Config {
    let mut c = config(instance(100, Version::V2, Duration::from_secs(1)));
    c.instances[0]
        .track_scripts
        .push(vrrp_engine::config::TrackRef::new("chk"));
    let mut s = vrrp_engine::config::ScriptConfig::new("chk", "/bin/true");
    s.interval = Duration::from_secs(2);
    s.timeout = Some(Duration::from_secs(1));
    c.scripts.push(s);
    c
}

/// The one `RunCheck` among `out`: (script, seq).
fn run_check(out: &[Output]) -> (vrrp_engine::ScriptId, u64) {
    let runs: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::RunCheck { script, seq, .. } => Some((*script, *seq)),
            _ => None,
        })
        .collect();
    assert_eq!(runs.len(), 1, "{out:?}");
    runs[0]
}

#[test]
fn a_script_records_its_last_run_and_counts_results() {
    let mut e = Engine::new(with_script(), Instant::ZERO).expect("config");
    let mut out = drain(&mut e);
    e.handle(Instant::ZERO, Input::Interface(eth0(0, true)));
    e.handle_timeout(Instant::ZERO);
    out.extend(drain(&mut e));
    let script = |e: &Engine| e.snapshot().scripts[0].clone();
    let (id, seq) = run_check(&out);
    assert!(script(&e).running);
    assert_eq!(script(&e).last_started, Some(Instant::ZERO));
    assert_eq!(script(&e).last_run, None);
    // It passes after 30 ms.
    e.handle(
        secs(0.030),
        Input::CheckResult {
            script: id,
            seq,
            outcome: CheckOutcome::Pass,
        },
    );
    let s = script(&e);
    assert!(!s.running);
    assert_eq!(
        s.last_run,
        Some(ProbeRecord {
            started: Instant::ZERO,
            ended: secs(0.030),
            passed: true
        })
    );
    assert_eq!(s.last_run.unwrap().duration(), Duration::from_millis(30));
    // The run at 2 s fails after 200 ms; the one at 4 s never answers and is found timed
    // out at 6 s (its timeout is 1 s).
    e.handle_timeout(secs(2.0));
    let (_, seq) = run_check(&drain(&mut e));
    e.handle(
        secs(2.2),
        Input::CheckResult {
            script: id,
            seq,
            outcome: CheckOutcome::Fail,
        },
    );
    e.handle_timeout(secs(4.0));
    drain(&mut e);
    assert_eq!(script(&e).last_started, Some(secs(4.0)));
    e.handle_timeout(secs(6.0));
    let s = script(&e);
    assert_eq!(
        s.results,
        ScriptResults {
            pass: 1,
            fail: 1,
            timeout: 1
        }
    );
    let last = s.last_run.unwrap();
    assert_eq!(
        (last.started, last.ended, last.passed),
        (secs(4.0), secs(6.0), false)
    );
    assert_eq!(s.last_started, Some(secs(6.0)), "the next run is under way");
    // A reload keeps the script, its record and its counts.
    e.reconfigure(secs(6.5), with_script()).expect("reload");
    assert_eq!(script(&e).results, s.results);
    assert_eq!(script(&e).last_run, s.last_run);
}

const LVS: &str = "virtual_server 10.0.0.100 80 {
  delay_loop 5
  protocol TCP
  real_server 10.0.1.1 80 {
    weight 3
    TCP_CHECK {
      warmup 0
      retry 0
    }
    MISC_CHECK {
      misc_path /bin/true
      warmup 0
    }
  }
}
";

/// Runs the checkers to `until`, answering each probe `took` later: TCP with `tcp`, MISC
/// with exit 0.
fn run_probes(e: &mut Engine, from: Instant, until: Instant, took: Duration, tcp: ProbeResult) {
    let mut pending: Vec<(Instant, vrrp_engine::lvs::CheckerId, u64, bool)> = Vec::new();
    let mut now = from;
    loop {
        while let Some(o) = e.poll_output() {
            if let Output::RunProbe {
                checker,
                seq,
                probe,
            } = o
            {
                let misc = matches!(probe, vrrp_engine::lvs::Probe::Misc { .. });
                pending.push((now + took, checker, seq, misc));
            }
        }
        pending.sort_by_key(|p| p.0);
        let next_probe = pending.first().map(|p| p.0);
        let next_timer = e.poll_timeout();
        match (next_probe, next_timer) {
            (Some(p), t) if t.is_none_or(|t| p <= t) && p <= until => {
                let (at, checker, seq, misc) = pending.remove(0);
                now = at;
                let result = if misc {
                    ProbeResult::Exit(0)
                } else {
                    tcp.clone()
                };
                e.handle(
                    at,
                    Input::ProbeResult {
                        checker,
                        seq,
                        result,
                    },
                );
            }
            (_, Some(t)) if t <= until => {
                now = t;
                e.handle_timeout(t);
            }
            _ => break,
        }
    }
}

#[test]
fn checkers_record_their_last_probe_and_counts_across_a_reload() {
    let load = || {
        parse_str("test.conf", LVS, &Options::default())
            .expect("config loads")
            .config
    };
    let mut e = Engine::with_seed(load(), Instant::ZERO, 7).expect("engine");
    // First probes at 1 s (warmup 0), answered 20 ms later; TCP is timed from the end of
    // its probe (1, 6.02, 11.04), MISC from its start (1, 6, 11).
    run_probes(
        &mut e,
        Instant::ZERO,
        secs(12.0),
        Duration::from_millis(20),
        ProbeResult::Connected,
    );
    let snap = e.snapshot();
    let rs = &snap.virtual_servers[0].real_servers[0];
    assert!(rs.alive);
    assert_eq!(rs.weight, 3);
    let kinds: Vec<&str> = rs.checkers.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["TCP_CHECK", "MISC_CHECK"]);
    let tcp = &rs.checkers[0];
    assert!(tcp.up && tcp.has_run);
    assert_eq!((tcp.probes_passed, tcp.probes_failed), (3, 0));
    assert_eq!(
        tcp.last_probe,
        Some(ProbeRecord {
            started: secs(11.04),
            ended: secs(11.06),
            passed: true
        })
    );
    assert_eq!(rs.checkers[1].probes_passed, 3);
    assert_eq!(rs.checkers[1].last_probe.unwrap().started, secs(11.0));

    // A reload keeps the real server: the counts and the record carry over, then the TCP
    // checker fails once (retry 0: down at once).
    e.reconfigure(secs(12.0), load()).expect("reload");
    let before = e.snapshot().virtual_servers[0].real_servers[0].checkers[0].clone();
    assert_eq!(
        (before.probes_passed, before.last_probe),
        (3, tcp.last_probe)
    );
    run_probes(
        &mut e,
        secs(12.0),
        secs(13.5),
        Duration::from_millis(20),
        ProbeResult::Refused,
    );
    let snap = e.snapshot();
    let rs = &snap.virtual_servers[0].real_servers[0];
    let tcp = &rs.checkers[0];
    assert!(!tcp.up && !rs.alive);
    assert_eq!((tcp.probes_passed, tcp.probes_failed), (3, 1));
    assert!(!tcp.last_probe.unwrap().passed);
    assert_eq!(rs.checkers_up, vec![false, true]);
}

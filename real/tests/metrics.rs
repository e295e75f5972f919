//! `--metrics`: `GET /metrics` scraped from inside the LAN's namespaces.
//! - while A is Master and B Backup, then after A stops and B takes over: state gauges,
//!   priorities, adverts counting up, transitions, and text that a Prometheus parser reads;
//! - the last takeover's duration against the capture of the same takeovers (a crash, then a
//!   priority-0 advert), with keepalived 2.2.7's takeovers in the same scenario for the gaps;
//! - counts across a reload (SIGHUP): kept and renamed instances keep theirs, a removed one's
//!   series go, a new one starts; a `vrrp_script`'s runs, last run time and duration.

mod support;

use prometheus_parse::Scrape;
use std::time::Duration;
use support::scrape::*;
use support::*;
use vrrp_lab::Lab;

/// The value of `metric` for instance VI_1 with every label in `labels`.
fn vi1(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut l = vec![("vrrp_instance", "VI_1")];
    l.extend_from_slice(labels);
    value(s, metric, &l)
}

fn state(s: &Scrape, st: &str) -> Option<f64> {
    vi1(s, "vrrp_instance_state", &[("state", st)])
}

#[test]
fn metrics_follow_master_and_backup() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("metrics");
    let vip = lab.addr(100).to_string();
    let a_addr = format!("{}:{PORT}", lab.hosts[0].ip);
    let b_addr = format!("{}:{PORT}", lab.hosts[1].ip);
    let conf = |r, p| Inst::vi1(p, &vip, "").text(r, "", "");
    let a = start_daemon_with(&lab, 0, &dir, "a", &conf("A", 150), &["--metrics", &a_addr]);
    let _b = start_daemon_with(&lab, 1, &dir, "b", &conf("B", 100), &["--metrics", &b_addr]);
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "A never became Master:\n{}",
        log(&dir, "a")
    );
    // The sample is published after the state change: poll until the scrape shows it.
    let mut first = None;
    assert!(
        wait_until(Duration::from_secs(5), || {
            first = scrape(&lab, 0).filter(|(_, s)| state(s, "MASTER") == Some(1.0));
            first.is_some()
        }),
        "A's scrape never showed MASTER=1:\n{:?}\n{}",
        fetch(&lab, 0),
        log(&dir, "a")
    );
    let (text, s) = first.unwrap();
    for st in ["INIT", "BACKUP", "FAULT"] {
        assert_eq!(state(&s, st), Some(0.0), "{st}:\n{text}");
    }
    let labels = [("interface", "eth0"), ("vrid", "51"), ("family", "inet")];
    assert_eq!(
        vi1(&s, "vrrp_instance_priority", &labels),
        Some(150.0),
        "{text}"
    );
    assert_eq!(
        vi1(&s, "vrrp_instance_effective_priority", &labels),
        Some(150.0)
    );
    assert_eq!(vi1(&s, "vrrp_instance_vips", &[]), Some(1.0), "{text}");
    assert_eq!(
        vi1(
            &s,
            "vrrp_instance_transitions_total",
            &[("from", "BACKUP"), ("to", "MASTER")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        vi1(&s, "vrrp_discards_total", &[("reason", "ttl")]),
        Some(0.0)
    );
    for ty in [
        "# TYPE vrrp_instance_state gauge",
        "# TYPE vrrp_adverts_sent counter",
        "# TYPE vrrp_adverts_received counter",
        "# TYPE vrrp_instance_transitions counter",
        "# TYPE vrrp_discards counter",
    ] {
        assert!(text.contains(ty), "{ty} missing:\n{text}");
    }
    // Adverts keep counting (1 s interval; samples at most 500 ms old).
    let sent = vi1(&s, "vrrp_adverts_sent_total", &[]).expect("adverts_sent");
    assert!(sent >= 1.0, "{text}");
    assert!(
        wait_until(Duration::from_secs(4), || scrape(&lab, 0)
            .and_then(|(_, s)| vi1(&s, "vrrp_adverts_sent_total", &[]))
            .is_some_and(|v| v > sent)),
        "adverts_sent_total did not move past {sent}"
    );
    // B is Backup, hears A's adverts, and shows priority 100.
    let (btext, bs) = scrape(&lab, 1).expect("B scrape");
    assert_eq!(state(&bs, "BACKUP"), Some(1.0), "{btext}");
    assert_eq!(state(&bs, "MASTER"), Some(0.0), "{btext}");
    assert_eq!(vi1(&bs, "vrrp_instance_priority", &[]), Some(100.0));
    assert!(
        wait_until(Duration::from_secs(4), || scrape(&lab, 1)
            .and_then(|(_, s)| vi1(&s, "vrrp_adverts_received_total", &[]))
            .is_some_and(|v| v >= 1.0)),
        "B counted no received advert"
    );
    // A stops (priority 0 advert): B takes over and its gauge moves to MASTER.
    lab.signal(a, libc::SIGTERM);
    assert!(
        wait_until(Duration::from_secs(6), || scrape(&lab, 1).is_some_and(
            |(_, s)| state(&s, "MASTER") == Some(1.0) && state(&s, "BACKUP") == Some(0.0)
        )),
        "B's gauge never showed MASTER:\n{:?}",
        fetch(&lab, 1)
    );
    let (btext, bs) = scrape(&lab, 1).expect("B scrape");
    assert_eq!(
        vi1(
            &bs,
            "vrrp_instance_transitions_total",
            &[("from", "BACKUP"), ("to", "MASTER")]
        ),
        Some(1.0),
        "{btext}"
    );
    assert_eq!(
        vi1(&bs, "vrrp_priority_zero_adverts_received_total", &[]),
        Some(1.0),
        "{btext}"
    );
}

/// Takeovers of one scenario: (capture gap, B's metric) for a crash of A, then for A's
/// priority-0 advert. The gap runs from A's last advert (its priority-0 one) to B's first.
struct Takeovers {
    crash: (f64, Option<f64>),
    stop: (f64, Option<f64>),
}

/// A (150) and B (100), VRRPv2 1 s, captured from C: A is killed, comes back and preempts,
/// then stops with SIGTERM. keepalived 2.2.7 (`keepalived`) or vrrpd-real with `--metrics`.
fn takeovers(keepalived: bool) -> Takeovers {
    let tag = if keepalived { "to-ka" } else { "to-vr" };
    let lab = Lab::new(3).expect("lab");
    let dir = tmpdir(tag);
    let vip = lab.addr(100).to_string();
    let start = |i: usize, name: &str, prio: u8| {
        let c = Inst::vi1(prio, &vip, "").text(name, "", "");
        if keepalived {
            start_keepalived(&lab, i, &dir, name, &c)
        } else {
            let addr = format!("{}:{PORT}", lab.hosts[i].ip);
            start_daemon_with(&lab, i, &dir, name, &c, &["--metrics", &addr])
        }
    };
    let cap = Capture::start(&lab, 2, &dir, "c");
    let a = start(0, "a", 150);
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "{tag}: A never Master:\n{}",
        log(&dir, "a")
    );
    let _b = start(1, "b", 100);
    // Set-up, not a measurement: B has started and heard A's adverts for a while.
    std::thread::sleep(Duration::from_secs(3));
    let metric = |want: f64| -> Option<f64> {
        if keepalived {
            return None;
        }
        // The sample may lag the takeover by one publication: poll for the new value.
        let mut v = None;
        wait_until(Duration::from_secs(3), || {
            v = scrape(&lab, 1)
                .and_then(|(_, s)| vi1(&s, "vrrp_instance_last_takeover_seconds", &[]));
            v.is_some_and(|v| (v - want).abs() < 0.5)
        });
        v
    };
    // 1. A crashes: B takes over after Master_Down_Interval (3.609 s). keepalived's VRRP
    // child first (killed with its parent it would get SIGTERM and send priority 0).
    if keepalived {
        let child = std::fs::read_to_string(dir.join("a.vrrp.pid")).expect("VRRP child pid");
        let child: i32 = child.trim().parse().expect("pid");
        // SAFETY: kill(2) on keepalived's VRRP child, inside a namespace of ours.
        unsafe { libc::kill(child, libc::SIGKILL) };
    }
    lab.signal(a, libc::SIGKILL);
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(1, &vip)),
        "{tag}: B never took over after the crash:\n{}",
        log(&dir, "b")
    );
    let crash_metric = metric(3.609);
    // 2. A comes back and preempts (3.414 s after it starts).
    let a = start(0, "a2", 150);
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)
            && !lab.has_addr(1, &vip)),
        "{tag}: A never preempted:\n{}",
        log(&dir, "a2")
    );
    std::thread::sleep(Duration::from_millis(1500));
    // 3. A stops: priority 0, B takes over after Skew_Time (0.609 s).
    lab.signal(a, libc::SIGTERM);
    assert!(
        wait_until(Duration::from_secs(5), || lab.has_addr(1, &vip)),
        "{tag}: B never took over after A's priority 0:\n{}",
        log(&dir, "b")
    );
    let stop_metric = metric(0.609);
    std::thread::sleep(Duration::from_millis(300));
    let pkts = cap.stop(&lab);
    let a_ip = lab.hosts[0].ip.to_string();
    let b_ip = lab.hosts[1].ip.to_string();
    // B's adverts start each takeover; the advert from A just before is its last.
    let b_firsts: Vec<usize> = (0..pkts.len())
        .filter(|&k| pkts[k].src == b_ip && (k == 0 || pkts[k - 1].src != b_ip))
        .collect();
    assert_eq!(b_firsts.len(), 2, "{tag}: two takeovers by B: {pkts:#?}");
    let gap = |k: usize| {
        let before = pkts[..k]
            .iter()
            .rev()
            .find(|p| p.src == a_ip)
            .expect("A's advert before");
        (pkts[k].t - before.t, before.prio)
    };
    let (crash, prio) = gap(b_firsts[0]);
    assert_eq!(prio, 150, "{tag}: the crash leaves an ordinary advert last");
    let (stop, prio) = gap(b_firsts[1]);
    assert_eq!(prio, 0, "{tag}: SIGTERM's last advert has priority 0");
    Takeovers {
        crash: (crash, crash_metric),
        stop: (stop, stop_metric),
    }
}

#[test]
fn last_takeover_seconds_match_the_capture() {
    assert_root();
    let (ka, vr) = side_by_side(takeovers);
    eprintln!(
        "takeover gaps in the capture (s): crash keepalived {:.4} vrrpd-real {:.4} (metric {:?}); \
         priority 0 keepalived {:.4} vrrpd-real {:.4} (metric {:?})",
        ka.crash.0, vr.crash.0, vr.crash.1, ka.stop.0, vr.stop.0, vr.stop.1
    );
    // The metric is engine time from A's advert (kernel receive time) to B's decision; the
    // capture's gap adds B's wake-up and send, so it is never shorter (capture stamps
    // agree to 0.1 ms) and longer by the daemon's latency only.
    for (what, (gap, metric)) in [("crash", vr.crash), ("priority 0", vr.stop)] {
        let metric = metric.unwrap_or_else(|| panic!("{what}: no last_takeover metric"));
        let late = gap - metric;
        assert!(
            (-0.0005..0.020).contains(&late),
            "{what}: metric {metric:.4} s, capture {gap:.4} s"
        );
    }
    // Master_Down_Interval and Skew_Time at priority 100, VRRPv2 1 s, as keepalived does.
    let (mdi, skew) = (3.0 + 156.0 / 256.0, 156.0 / 256.0);
    for (who, t) in [("keepalived", &ka), ("vrrpd-real", &vr)] {
        assert!(
            (t.crash.0 - mdi).abs() < 0.030,
            "{who}: crash takeover {:.4} s, not {mdi:.4}",
            t.crash.0
        );
        assert!(
            (t.stop.0 - skew).abs() < 0.030,
            "{who}: priority-0 takeover {:.4} s, not {skew:.4}",
            t.stop.0
        );
    }
}

/// A keepalived.conf for the reload test: VRRPv3 100 ms instances (name, VRID, priority), the
/// first tracking `chk` (a 200 ms script every second).
fn reload_conf(instances: &[(&str, u8, u8)], vip_base: &str) -> String {
    let mut s = String::from(
        "global_defs {\n    router_id R\n}\n\
         vrrp_script chk {\n    script \"/bin/sleep 0.2\"\n    interval 1\n    timeout 3\n}\n",
    );
    for (k, (name, vrid, prio)) in instances.iter().enumerate() {
        let track = if k == 0 {
            "    track_script {\n        chk\n    }\n"
        } else {
            ""
        };
        s += &format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id {vrid}\n    priority {prio}\n    version 3\n    advert_int 0.1\n\
             {track}    virtual_ipaddress {{\n        {vip_base}{vrid}\n    }}\n}}\n"
        );
    }
    s
}

#[test]
fn counts_survive_a_reload_and_scripts_report_their_runs() {
    assert_root();
    let lab = Lab::new(1).expect("lab");
    let dir = tmpdir("metrics-reload");
    let o = lab.subnet.octets();
    let vip_base = format!("{}.{}.{}.", o[0], o[1], o[2]);
    let addr = format!("{}:{PORT}", lab.hosts[0].ip);
    let before = reload_conf(
        &[("VI_1", 51, 100), ("VI_2", 52, 100), ("VI_3", 53, 100)],
        &vip_base,
    );
    let pid = start_daemon_with(&lab, 0, &dir, "r", &before, &["--metrics", &addr]);
    let inst = |s: &Scrape, name: &str, metric: &str, labels: &[(&str, &str)]| {
        let mut l = vec![("vrrp_instance", name)];
        l.extend_from_slice(labels);
        value(s, metric, &l)
    };
    let b2m = [("from", "BACKUP"), ("to", "MASTER")];
    // Every instance Master (alone), each with well over 10 adverts sent, two script runs.
    let mut s0 = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            s0 = scrape(&lab, 0).filter(|(_, s)| {
                ["VI_1", "VI_2", "VI_3"]
                    .iter()
                    .all(|n| inst(s, n, "vrrp_adverts_sent_total", &[]).is_some_and(|v| v >= 10.0))
                    && value(s, "vrrp_script_runs_total", &[("result", "pass")])
                        .is_some_and(|v| v >= 2.0)
            });
            s0.is_some()
        }),
        "no instance got going:\n{:?}\n{}",
        fetch(&lab, 0),
        log(&dir, "r")
    );
    let (text, s) = s0.unwrap();
    // The script: `sleep 0.2`, so its last run took 0.2 s and a bit; it started within the
    // last 1.1 s of wall-clock time (interval 1 s; the sample is at most 0.5 s old).
    let chk = [("script", "chk")];
    let took = value(&s, "vrrp_script_last_run_duration_seconds", &chk).expect("duration");
    assert!((0.2..0.5).contains(&took), "took {took}:\n{text}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = value(&s, "vrrp_script_last_run_timestamp_seconds", &chk).expect("stamp");
    assert!(
        (now - 1.7..now + 0.01).contains(&started),
        "last run at {started}, now {now}:\n{text}"
    );
    let idle = value(
        &s,
        "vrrp_script_state",
        &[("script", "chk"), ("state", "idle")],
    );
    let running = value(
        &s,
        "vrrp_script_state",
        &[("script", "chk"), ("state", "running")],
    );
    assert_eq!(idle.zip(running).map(|(a, b)| a + b), Some(1.0), "{text}");
    assert_eq!(value(&s, "vrrp_script_status", &chk), Some(1.0));
    // The state gauge sees a run under way: poll a few scrapes for running=1.
    assert!(
        wait_until(Duration::from_secs(5), || scrape(&lab, 0).is_some_and(
            |(_, s)| {
                value(
                    &s,
                    "vrrp_script_state",
                    &[("script", "chk"), ("state", "running")],
                ) == Some(1.0)
            }
        )),
        "the script was never seen running"
    );
    let sent = |s: &Scrape, n| inst(s, n, "vrrp_adverts_sent_total", &[]).unwrap_or(-1.0);
    let (sent1, sent2) = (sent(&s, "VI_1"), sent(&s, "VI_2"));
    let runs = value(&s, "vrrp_script_runs_total", &[("result", "pass")]).unwrap();

    // Reload: VI_1 gets priority 120, VI_2 is renamed VI_2b (same VRID: the same instance to
    // keepalived's vrrp_exist), VI_3 goes, VI_4 comes.
    let after = reload_conf(
        &[("VI_1", 51, 120), ("VI_2b", 52, 100), ("VI_4", 54, 100)],
        &vip_base,
    );
    std::fs::write(dir.join("r.conf"), after).expect("rewrite conf");
    lab.signal(pid, libc::SIGHUP);
    let mut s1 = None;
    assert!(
        wait_until(Duration::from_secs(5), || {
            s1 = scrape(&lab, 0).filter(|(_, s)| {
                inst(s, "VI_1", "vrrp_instance_priority", &[]) == Some(120.0)
                    && inst(s, "VI_4", "vrrp_instance_state", &[("state", "MASTER")]) == Some(1.0)
            });
            s1.is_some()
        }),
        "the reload never showed:\n{:?}\n{}",
        fetch(&lab, 0),
        log(&dir, "r")
    );
    let (text, s) = s1.unwrap();
    // Kept, and kept under a new name: counts go on from where they were.
    assert!(
        sent(&s, "VI_1") >= sent1,
        "VI_1 restarted its count:\n{text}"
    );
    assert!(
        sent(&s, "VI_2b") >= sent2,
        "VI_2b lost VI_2's count:\n{text}"
    );
    for n in ["VI_1", "VI_2b"] {
        assert_eq!(
            inst(&s, n, "vrrp_instance_transitions_total", &b2m),
            Some(1.0),
            "{n}:\n{text}"
        );
    }
    assert!(
        value(&s, "vrrp_script_runs_total", &[("result", "pass")]).unwrap() >= runs,
        "{text}"
    );
    // Gone, and new.
    assert!(
        !text.contains("vrrp_instance=\"VI_3\"") && !text.contains("vrrp_instance=\"VI_2\""),
        "{text}"
    );
    assert_eq!(
        inst(&s, "VI_4", "vrrp_instance_transitions_total", &b2m),
        Some(1.0)
    );
    assert!(sent(&s, "VI_4") < sent(&s, "VI_1"), "{text}");
    let takeover = inst(&s, "VI_4", "vrrp_instance_last_takeover_seconds", &[]);
    // Alone: Master_Down_Interval from entering BACKUP, 3 x 0.1 + (256 - 100)/256 x 0.1.
    assert!(
        takeover.is_some_and(|t| (t - 0.3609375).abs() < 1e-6),
        "{takeover:?}"
    );
}

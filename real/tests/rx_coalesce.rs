//! Receive coalescing on a namespace LAN: a Backup whose VRRP socket is read only every 5 s
//! (`--rx-coalesce 5s`, far beyond its Master_Down_Interval) neither takes over while its
//! Master advertises (adverts count from their kernel receive time and are read before the
//! Master_Down_Timer runs) nor waits for the window when the Master leaves with priority 0
//! (the doorbell wakes it: it takes over Skew_Time after that advert).

mod support;

use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

fn conf(prio: u8) -> String {
    Inst {
        version: 3,
        ..Inst::vi1(prio, "10.0.0.100/24", "")
    }
    .text(if prio > 100 { "A" } else { "B" }, "", "")
}

fn log(dir: &std::path::Path, tag: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{tag}.log"))).unwrap_or_default()
}

/// The trace's lines of `kind`, as (t, line).
fn lines(dir: &std::path::Path, tag: &str, kind: &str) -> Vec<(f64, serde_json::Value)> {
    let text = std::fs::read_to_string(dir.join(format!("{tag}.trace"))).expect("trace");
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == kind)
        .map(|v| (v["t"].as_f64().expect("t"), v))
        .collect()
}

#[test]
fn a_coalescing_backup_keeps_its_timing_and_the_doorbell_wakes_it_for_priority_zero() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("rx-coalesce");
    let a = start_daemon(&lab, 0, &dir, "a", &conf(200));
    start_daemon_with(&lab, 1, &dir, "b", &conf(100), &["--rx-coalesce", "5s"]);
    assert!(
        wait_until(Duration::from_secs(10), || lab.has_addr(0, "10.0.0.100")),
        "A never became Master:\n{}",
        log(&dir, "a")
    );
    // Eight adverts: B starts holding at the second and reads on its timer from then on.
    std::thread::sleep(Duration::from_secs(8));
    let b_log = log(&dir, "b");
    assert!(
        b_log.contains("receive coalescing on"),
        "B never coalesced:\n{b_log}"
    );
    let masters = |tag| {
        lines(&dir, tag, "state")
            .into_iter()
            .filter(|(_, v)| v["to"] == "MASTER")
            .count()
    };
    assert_eq!(masters("b"), 0, "B took over from a live Master:\n{b_log}");

    lab.signal(a, libc::SIGTERM);
    assert!(
        wait_until(Duration::from_secs(5), || lab.has_addr(1, "10.0.0.100")),
        "B did not take over:\n{}",
        log(&dir, "b")
    );
    // The priority-0 advert as B received it (hex: version/type, VRID, priority...).
    let rx = lines(&dir, "b", "rx");
    let (t_zero, _) = rx
        .iter()
        .find(|(_, v)| v["hex"].as_str().is_some_and(|h| &h[4..6] == "00"))
        .expect("B received A's priority-0 advert");
    let (t_tx, _) = lines(&dir, "b", "tx")
        .into_iter()
        .find(|(t, _)| t > t_zero)
        .expect("B advertised");
    // RFC 5798 §6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256.
    let skew = (256.0 - 100.0) / 256.0;
    let late = t_tx - t_zero - skew;
    // Without the doorbell B would read the advert at its next Master_Down wake-up, at least
    // 2 s later (adverts every 1 s, Master_Down_Interval 3.6 s); with it, on time.
    assert!(
        (-0.01..0.5).contains(&late),
        "B advertised {late:.3} s after priority 0 + Skew_Time:\n{}",
        log(&dir, "b")
    );
    assert_eq!(masters("b"), 1);
}

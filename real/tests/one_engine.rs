//! One engine per daemon, on a namespace LAN: a script tracked by three instances runs once
//! per interval; a SIGHUP that changes only `global_defs` moves nothing; a SIGHUP raising the
//! Backup's priority makes it take over without passing through INIT; the control socket
//! changes a priority at run time; a reloaded Master advertises at once, as keepalived does.

mod support;

use std::time::{Duration, Instant};
use support::*;
use vrrp_lab::Lab;

/// The priority of a traced advert.
fn tx_priority(line: &serde_json::Value) -> Option<u8> {
    let line: vrrp_engine::trace::TraceLine = serde_json::from_value(line.clone()).ok()?;
    match line.event {
        vrrp_engine::trace::TraceEvent::Tx { hex, .. } => vrrp_engine::wire::peek_priority(&hex),
        _ => None,
    }
}

fn one(router: &str, priority: u8, vip: &str, globals: &str) -> String {
    Inst::vi1(priority, vip, "").text(router, globals, "")
}

#[test]
fn a_script_tracked_by_three_instances_runs_once_per_interval() {
    assert_root();
    let lab = Lab::new(1).expect("lab");
    let dir = tmpdir("shared-script");
    let runs = dir.join("runs");
    let script = dir.join("chk.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho x >> {}\nexit 0\n", runs.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let scripts = format!(
        "vrrp_script chk {{\n    script \"{}\"\n    interval 1\n    weight -10\n}}\n",
        script.display()
    );
    let mut conf = String::new();
    for k in 0..3u8 {
        let text = Inst {
            name: &format!("VI_{k}"),
            vrid: 51 + k,
            priority: 100,
            version: 2,
            advert: "1",
            auth: None,
            vip: lab.addr(100 + k).to_string(),
            extra: "    track_script {\n        chk\n    }\n",
        }
        .text("A", "", if k == 0 { &scripts } else { "" });
        // Only the first text keeps global_defs and the script.
        let text = if k == 0 {
            text
        } else {
            text[text.find("vrrp_instance").unwrap()..].to_string()
        };
        conf.push_str(&text);
    }
    let start = Instant::now();
    let _a = start_daemon(&lab, 0, &dir, "a", &conf);
    assert!(
        wait_until(Duration::from_secs(3), || runs.exists()),
        "the script never ran:\n{}",
        log(&dir, "a")
    );
    std::thread::sleep(Duration::from_secs(6).saturating_sub(start.elapsed()));
    let n = std::fs::read_to_string(&runs).unwrap().lines().count();
    // keepalived runs a vrrp_script once per interval whatever the number of instances
    // tracking it: at 0, 1, ..., 6 s at most.
    assert!(
        (6..=7).contains(&n),
        "{n} runs in 6 s (three instances track one script with interval 1 s)\n{}",
        log(&dir, "a")
    );
}

/// A Master (150) on host 0 and a Backup (100) on host 1, settled.
fn pair(dir: &std::path::Path, lab: &Lab, vip: &str) -> (u32, u32) {
    let a = start_daemon(lab, 0, dir, "a", &one("A", 150, vip, ""));
    let b = start_daemon(lab, 1, dir, "b", &one("B", 100, vip, ""));
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, vip)),
        "A never became Master:\n{}",
        log(dir, "a")
    );
    std::thread::sleep(Duration::from_millis(1500));
    (a, b)
}

#[test]
fn a_global_only_reload_moves_nothing() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("global-reload");
    let vip = lab.addr(100).to_string();
    let (a, b) = pair(&dir, &lab, &vip);
    let (na, nb) = (trace_lines(&dir, "a").len(), trace_lines(&dir, "b").len());
    let globals = "    notification_email {\n        ops@example.com\n    }\n";
    std::fs::write(dir.join("a.conf"), one("A", 150, &vip, globals)).unwrap();
    std::fs::write(dir.join("b.conf"), one("B", 100, &vip, globals)).unwrap();
    lab.signal(a, libc::SIGHUP);
    lab.signal(b, libc::SIGHUP);
    // The VIP never leaves A while the reload settles.
    let end = Instant::now() + Duration::from_secs(4);
    while Instant::now() < end {
        assert!(
            lab.has_addr(0, &vip),
            "the VIP left A during a global-only reload"
        );
        assert!(
            !lab.has_addr(1, &vip),
            "B took the VIP during a global-only reload"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let new_a = &trace_lines(&dir, "a")[na..];
    let new_b = &trace_lines(&dir, "b")[nb..];
    assert!(
        log(&dir, "a").contains("reload: VI_1 unchanged"),
        "{}",
        log(&dir, "a")
    );
    for (tag, lines) in [("a", new_a), ("b", new_b)] {
        assert!(
            !lines.iter().any(|l| l["kind"] == "state"),
            "{tag} logged a transition on a global-only reload: {lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l["kind"] == "vip_del"),
            "{tag} removed a VIP on a global-only reload"
        );
        assert!(
            !lines
                .iter()
                .any(|l| l["kind"] == "tx" && tx_priority(l) == Some(0)),
            "{tag} sent a priority-0 advert on a global-only reload"
        );
    }
    assert!(
        new_a.iter().any(|l| l["kind"] == "tx"),
        "A stopped advertising"
    );
}

#[test]
fn a_reload_raising_the_backup_priority_takes_over_without_init() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("raise-reload");
    let vip = lab.addr(100).to_string();
    let (_a, b) = pair(&dir, &lab, &vip);
    let nb = trace_lines(&dir, "b").len();
    std::fs::write(dir.join("b.conf"), one("B", 200, &vip, "")).unwrap();
    lab.signal(b, libc::SIGHUP);
    // Master_Down_Interval at 200 is 3.22 s: B takes over once it has run out.
    assert!(
        wait_until(Duration::from_secs(6), || lab.has_addr(1, &vip)),
        "B did not take over after its priority was raised:\n{}",
        log(&dir, "b")
    );
    assert!(
        wait_until(Duration::from_secs(2), || !lab.has_addr(0, &vip)),
        "A kept the VIP"
    );
    let states: Vec<(String, String)> = trace_lines(&dir, "b")[nb..]
        .iter()
        .filter(|l| l["kind"] == "state")
        .map(|l| {
            (
                l["from"].as_str().unwrap_or("").to_string(),
                l["to"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![("BACKUP".to_string(), "MASTER".to_string())],
        "B should go straight from BACKUP to MASTER:\n{}",
        log(&dir, "b")
    );
}

#[test]
fn the_control_socket_sets_a_priority_at_run_time() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("control");
    let vip = lab.addr(100).to_string();
    let _a = start_daemon(&lab, 0, &dir, "a", &one("A", 150, &vip, ""));
    let sock = dir.join("b.ctl");
    let conf = dir.join("b.conf");
    std::fs::write(&conf, one("B", 100, &vip, "")).unwrap();
    let mut cmd = lab.command(1, BIN);
    cmd.arg("-f")
        .arg(&conf)
        .args(["-n", "-l", "--control"])
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("b.log")).unwrap());
    let _b = lab.spawn(cmd).expect("spawn");
    assert!(wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)));
    assert!(wait_until(Duration::from_secs(2), || sock.exists()));
    let send = |c: &str| {
        std::process::Command::new(BIN)
            .arg("--control-send")
            .arg(&sock)
            .arg(c)
            .output()
            .unwrap()
    };
    let bad = send("priority VI_9 120");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("no vrrp_instance VI_9"));
    let ok = send("priority VI_1 200");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout).trim(),
        "ok VI_1 priority 200"
    );
    assert!(
        wait_until(Duration::from_secs(6), || lab.has_addr(1, &vip)),
        "B did not take over after its priority was raised:\n{}",
        log(&dir, "b")
    );
}

/// keepalived 2.2.7 and vrrpd-real alike: a Master that reloads sends an advert at once
/// (`reload_master`), off its one-second schedule, and keeps advertising from there.
#[test]
fn a_reloaded_master_advertises_at_once_like_keepalived() {
    assert_root();
    for (tag, keepalived) in [("k", true), ("r", false)] {
        let lab = Lab::new(2).expect("lab");
        let dir = tmpdir(&format!("reload-advert-{tag}"));
        let vip = lab.addr(100).to_string();
        let conf = one("A", 150, &vip, "");
        let pid = start_master(&lab, &dir, tag, &conf, keepalived, &vip);
        let cap = Capture::start(&lab, 1, &dir, tag);
        let epoch = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64()
        };
        // Signal at several phases of the one-second schedule; a SIGHUP within 0.15 s of a
        // scheduled advert cannot tell "at once" from "on schedule" and is not judged.
        let mut hups = Vec::new();
        for wait_ms in [2300, 2450, 2600] {
            std::thread::sleep(Duration::from_millis(wait_ms));
            hups.push(epoch());
            lab.signal(pid, libc::SIGHUP);
        }
        std::thread::sleep(Duration::from_millis(2500));
        let adverts = cap.stop(&lab);
        let times: Vec<f64> = adverts.iter().map(|a| a.t).collect();
        let mut judged = 0;
        for &hup in &hups {
            let Some(&last) = times.iter().rfind(|&&t| t < hup) else {
                continue;
            };
            let phase = (hup - last).rem_euclid(1.0);
            if !(0.15..=0.85).contains(&phase) {
                continue;
            }
            judged += 1;
            let at_once = times.iter().any(|&t| {
                let off_grid = (t - last).rem_euclid(1.0);
                t >= hup && t - hup < 0.12 && (0.05..=0.95).contains(&off_grid)
            });
            assert!(
                at_once,
                "{tag}: no advert within 120 ms of the SIGHUP at phase {phase:.3} s \
                 (adverts {times:?}, SIGHUP {hup})\n{}",
                log(&dir, tag)
            );
        }
        assert!(
            judged >= 1,
            "{tag}: every SIGHUP fell near a scheduled advert"
        );
        assert!(adverts.iter().all(|a| a.prio == 150), "{tag}: {adverts:?}");
    }
}

//! `vrrp_script` checks in a namespace LAN: a failing check moves the VIP to the Backup and
//! back when it passes again; a hanging check is killed at its timeout and counts as failed.

mod support;

use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

#[test]
fn failing_check_moves_vip_and_hanging_check_is_killed() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("checks");
    let vip = lab.addr(100).to_string();
    let fail = dir.join("fail");
    let hang = dir.join("hang");
    let script = format!(
        "vrrp_script chk {{\n    script \"/bin/sh -c 'test -e {} && exit 1; test -e {} && exec sleep 30; exit 0'\"\n    \
         interval 1\n    timeout 1\n}}\n",
        fail.display(),
        hang.display()
    );
    let inst = |prio, track: &'static str| Inst {
        name: "VI_1",
        vrid: 7,
        priority: prio,
        version: 2,
        advert: "1",
        auth: None,
        vip: vip.clone(),
        extra: track,
    };
    let a = start_daemon(
        &lab,
        0,
        &dir,
        "a",
        &inst(100, "    track_script {\n        chk\n    }\n").text("A", "", &script),
    );
    let _b = start_daemon(&lab, 1, &dir, "b", &inst(90, "").text("B", "", ""));
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "A never became Master:\n{}",
        log(&dir, "a")
    );

    // Failing check: A goes to FAULT and B takes the VIP.
    std::fs::write(&fail, "").unwrap();
    assert!(
        wait_until(Duration::from_secs(7), || lab.has_addr(1, &vip)
            && !lab.has_addr(0, &vip)),
        "the VIP did not move on a failing check:\n{}\n{}",
        log(&dir, "a"),
        log(&dir, "b")
    );
    let st = status(&lab, a, &dir, "a");
    assert_eq!(st["instances"][0]["state"], "FAULT", "{st}");
    assert_eq!(st["scripts"][0]["last_outcome"], "fail", "{st}");

    // Passing again: A preempts back.
    std::fs::remove_file(&fail).unwrap();
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)
            && !lab.has_addr(1, &vip)),
        "A did not come back:\n{}",
        log(&dir, "a")
    );

    // Hanging check: killed at its 1 s timeout, counted as a failure.
    std::fs::write(&hang, "").unwrap();
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(1, &vip)
            && !lab.has_addr(0, &vip)),
        "the VIP did not move on a hanging check:\n{}",
        log(&dir, "a")
    );
    let st = status(&lab, a, &dir, "a");
    assert_eq!(st["instances"][0]["state"], "FAULT", "{st}");
    assert_eq!(st["scripts"][0]["last_outcome"], "timeout", "{st}");
    assert!(log(&dir, "a").contains("timed out"), "{}", log(&dir, "a"));
    // No `sleep 30` outlives its timeout: at most the one of the run in flight remains.
    std::thread::sleep(Duration::from_millis(300));
    let out = vrrp_lab::sh("ip", &["netns", "pids", &lab.hosts[0].ns]).unwrap();
    let sleeps = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .map(|c| c.starts_with("sleep"))
                .unwrap_or(false)
        })
        .count();
    assert!(sleeps <= 1, "{sleeps} hanging checks still running");
}

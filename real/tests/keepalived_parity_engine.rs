//! Engine rules matched to keepalived 2.2.7 in issue 16 (items 3, 5, 8), measured side by
//! side: each scenario runs once with keepalived and once with vrrpd-real, each on a
//! namespace LAN of its own, and what the wire shows must agree (the engine tests in
//! `engine/tests/keepalived_parity.rs` hold the exact times).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;
use vrrp_lab::Lab;

/// Starts keepalived or vrrpd-real on host `i`.
fn start(keepalived: bool, lab: &Lab, i: usize, dir: &Path, tag: &str, conf: &str) -> u32 {
    if keepalived {
        start_keepalived(lab, i, dir, tag, conf)
    } else {
        start_daemon(lab, i, dir, tag, conf)
    }
}

/// An executable shell script at `dir/name` with `body`.
fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn who(keepalived: bool) -> &'static str {
    if keepalived {
        "ka"
    } else {
        "vr"
    }
}

/// Item 8: a Master whose weight-0 script fails sends two priority-0 adverts back to back
/// (keepalived's `down_instance`: one in `vrrp_state_leave_master`, one in
/// `vrrp_restore_interface`). Returns the gaps (s) between its priority-0 adverts and their
/// count.
fn fault_adverts(keepalived: bool) -> (usize, f64) {
    let tag = who(keepalived);
    let lab = Lab::new(1).expect("lab");
    let dir = tmpdir(&format!("parity-fault-{tag}"));
    let flag = dir.join("down");
    let chk = script(&dir, "chk.sh", &format!("[ ! -e '{}' ]", flag.display()));
    let vip = lab.addr(100).to_string();
    let scripts = format!("vrrp_script chk {{\n    script \"{chk}\"\n    interval 1\n}}\n");
    let conf = Inst::vi1(
        100,
        &format!("{vip}/24"),
        "    track_script {\n        chk\n    }\n",
    )
    .text(tag, "", &scripts);
    start(keepalived, &lab, 0, &dir, tag, &conf);
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "{tag}: never Master:\n{}",
        log(&dir, tag)
    );
    let cap = Capture::start(&lab, 0, &dir, tag);
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&flag, "").unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || !lab.has_addr(0, &vip)),
        "{tag}: never left Master:\n{}",
        log(&dir, tag)
    );
    std::thread::sleep(Duration::from_secs(1));
    let zeros: Vec<f64> = cap
        .stop(&lab)
        .into_iter()
        .filter(|a| a.prio == 0)
        .map(|a| a.t)
        .collect();
    let spread = zeros.last().zip(zeros.first()).map_or(0.0, |(l, f)| l - f);
    (zeros.len(), spread)
}

#[test]
fn a_master_entering_fault_sends_two_priority_zero_adverts_as_keepalived() {
    assert_root();
    let (ka, vr) = side_by_side(fault_adverts);
    assert_eq!(ka.0, 2, "keepalived's priority-0 adverts: {ka:?}");
    assert_eq!(vr.0, ka.0, "vrrpd-real {vr:?}, keepalived {ka:?}");
    assert!(ka.1 < 0.05 && vr.1 < 0.05, "back to back: {ka:?} {vr:?}");
}

/// Item 5: priority 255 with `state BACKUP` waits Master_Down_Interval (3 + 1/256 s), and a
/// second such owner joining later stays Backup. Returns the time to Master of the first and
/// whether, 5 s after the second started, the first still holds the VIP and the second not.
fn owner_with_state_backup(keepalived: bool) -> (f64, bool) {
    let tag = who(keepalived);
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir(&format!("parity-owner-{tag}"));
    let vip = lab.addr(100).to_string();
    let conf =
        |n: usize| Inst::vi1(255, &format!("{vip}/24"), "").text(&format!("{tag}{n}"), "", "");
    let t0 = Instant::now();
    start(keepalived, &lab, 0, &dir, &format!("{tag}0"), &conf(0));
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "{tag}: never Master:\n{}",
        log(&dir, &format!("{tag}0"))
    );
    let to_master = t0.elapsed().as_secs_f64();
    start(keepalived, &lab, 1, &dir, &format!("{tag}1"), &conf(1));
    std::thread::sleep(Duration::from_secs(5));
    (to_master, lab.has_addr(0, &vip) && !lab.has_addr(1, &vip))
}

#[test]
fn an_owner_with_state_backup_waits_and_a_second_one_stays_backup_as_keepalived() {
    assert_root();
    let (ka, vr) = side_by_side(owner_with_state_backup);
    assert!(ka.0 > 2.5, "keepalived waited: {ka:?}");
    assert!(
        (vr.0 - ka.0).abs() < 0.5,
        "vrrpd-real {vr:?}, keepalived {ka:?}"
    );
    assert!(ka.1, "keepalived: the first owner keeps the VIP");
    assert!(vr.1, "vrrpd-real: the first owner keeps the VIP");
}

/// Item 3: a script with `rise 3` and `init_fail` that passes on its first run counts at once
/// (its `weight 20` is in the first advert as Master), since keepalived's
/// `alloc_track_script` resets `init_fail` and `vrrp_init_script` starts the result at
/// `rise - 1`. Returns the priorities of the first adverts.
fn first_pass_counts(keepalived: bool) -> Vec<u8> {
    let tag = who(keepalived);
    let lab = Lab::new(1).expect("lab");
    let dir = tmpdir(&format!("parity-rise-{tag}"));
    let chk = script(&dir, "chk.sh", "exit 0");
    let vip = lab.addr(100).to_string();
    let scripts = format!(
        "vrrp_script chk {{\n    script \"{chk}\"\n    interval 2\n    rise 3\n    fall 3\n    \
         weight 20\n    init_fail\n}}\n"
    );
    let conf = Inst::vi1(
        100,
        &format!("{vip}/24"),
        "    track_script {\n        chk\n    }\n",
    )
    .text(tag, "", &scripts);
    let cap = Capture::start(&lab, 0, &dir, tag);
    std::thread::sleep(Duration::from_millis(300));
    start(keepalived, &lab, 0, &dir, tag, &conf);
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "{tag}: never Master:\n{}",
        log(&dir, tag)
    );
    std::thread::sleep(Duration::from_millis(1500));
    cap.stop(&lab).into_iter().take(2).map(|a| a.prio).collect()
}

#[test]
fn a_first_pass_counts_whatever_rise_and_init_fail_as_keepalived() {
    assert_root();
    let (ka, vr) = side_by_side(first_pass_counts);
    assert_eq!(ka, [120, 120], "keepalived's first adverts");
    assert_eq!(vr, ka, "vrrpd-real's first adverts");
}

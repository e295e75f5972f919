//! `vrrp_track_process` on a namespace LAN.
//!
//! keepalived 2.2.7 follows processes with the kernel's process events connector, which
//! answers only in the initial network namespace: run with `ip netns exec`, as every test
//! here runs it, its subscription is refused ("Failed to set/clear process event listen -
//! errno 111 - Connection refused"), it then reads no /proc either, counts no process and
//! keeps a weight-0 instance in FAULT for good. The first test shows that, and that vrrpd-real
//! (which scans /proc there) becomes Master on the same node with the same file; the second
//! test checks what keepalived does where it can see
//! processes (`track_process.c`): killing the tracked process moves the VIP, starting it
//! again brings it back.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

/// A copy of `sleep` called `name` in `dir`: its comm is `name`.
fn fake_binary(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy("/bin/sleep", &path).expect("copy sleep");
    path
}

/// A process name of at most 15 bytes (comm's length) unique to this run and `tag`: the
/// namespaces share the host's process table, so every daemon sees every process.
fn unique_name(tag: &str) -> String {
    format!("fk{tag}{}", std::process::id() % 1_000_000)
}

/// Starts `bin` (a renamed sleep) on host `i`.
fn start_fake(lab: &Lab, i: usize, bin: &Path) -> u32 {
    let mut cmd = lab.command(i, bin.to_str().expect("utf-8 path"));
    cmd.arg("1000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    lab.spawn(cmd).expect("spawn fake process")
}

fn conf(router: &str, priority: u8, vip: &str, process: Option<&str>) -> String {
    let (block, extra) = match process {
        Some(p) => (
            format!("vrrp_track_process web {{\n    process {p}\n    weight 0\n}}\n"),
            "    track_process {\n        web\n    }\n",
        ),
        None => (String::new(), ""),
    };
    Inst::vi1(priority, vip, extra).text(router, "", &block)
}

#[test]
fn keepalived_tracks_no_process_in_a_network_namespace() {
    assert_root();
    let lab = Lab::new(1).expect("lab");
    let dir = tmpdir("track-process-ns");
    let name = unique_name("k");
    let fake = start_fake(&lab, 0, &fake_binary(&dir, &name));
    let vip = lab.addr(100).to_string();
    let text = conf("A", 150, &vip, Some(&name));
    let k = start_keepalived(&lab, 0, &dir, "k", &text);
    assert!(
        wait_until(Duration::from_secs(8), || log(&dir, "k").contains(
            "(VI_1) entering FAULT state (tracked process web quorum not achieved)"
        )),
        "keepalived did not report FAULT:\n{}",
        log(&dir, "k")
    );
    assert!(
        log(&dir, "k")
            .contains("Failed to set/clear process event listen - errno 111 - Connection refused"),
        "{}",
        log(&dir, "k")
    );
    // It stays in FAULT although the process runs: it never becomes Master (alone, it
    // would within Master_Down_Interval, 3.4 s).
    assert!(
        !wait_until(Duration::from_secs(5), || lab.has_addr(0, &vip)),
        "keepalived took the VIP:\n{}",
        log(&dir, "k")
    );
    // The difference: vrrpd-real, on the same node with the same file, scans /proc, counts
    // the process and becomes Master.
    lab.signal(k, libc::SIGTERM);
    let _r = start_daemon(&lab, 0, &dir, "r", &text);
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "vrrpd-real did not become Master:\n{}",
        log(&dir, "r")
    );
    assert!(log(&dir, "r").contains("scanning /proc every 100 ms"));
    lab.signal(fake, libc::SIGTERM);
}

#[test]
fn killing_the_tracked_process_moves_the_vip_and_starting_it_brings_it_back() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("track-process");
    let name = unique_name("r");
    let bin = fake_binary(&dir, &name);
    let fake = start_fake(&lab, 0, &bin);
    let vip = lab.addr(100).to_string();
    let a = start_daemon(&lab, 0, &dir, "a", &conf("A", 150, &vip, Some(&name)));
    let _b = start_daemon(&lab, 1, &dir, "b", &conf("B", 100, &vip, None));
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "A never became Master:\n{}",
        log(&dir, "a")
    );
    let s = status(&lab, a, &dir, "a");
    assert_eq!(s["processes"][0]["count"], 1, "{s}");
    // The process dies: A goes to FAULT, B takes over after its Master_Down_Interval.
    lab.signal(fake, libc::SIGTERM);
    assert!(
        wait_until(Duration::from_secs(2), || status(&lab, a, &dir, "a")
            ["instances"][0]["state"]
            == "FAULT"),
        "A did not go to FAULT:\n{}",
        log(&dir, "a")
    );
    assert_eq!(
        status(&lab, a, &dir, "a")["instances"][0]["fault"]["kind"],
        "tracked_process"
    );
    assert!(
        wait_until(Duration::from_secs(6), || lab.has_addr(1, &vip)
            && !lab.has_addr(0, &vip)),
        "B did not take over:\n{}",
        log(&dir, "b")
    );
    // It runs again: A leaves FAULT and preempts B.
    let _fake = start_fake(&lab, 0, &bin);
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)
            && !lab.has_addr(1, &vip)),
        "A did not take the VIP back:\n{}",
        log(&dir, "a")
    );
}

//! `vrrp_sync_group` on a namespace LAN: a router's inside and outside VIPs in one group; a
//! check failing on one member of the Master moves both VIPs to the other node, and they come
//! back together when it passes. The same configurations run first with keepalived 2.2.7 on
//! both nodes (the expectation), then with vrrpd-real; each node's instance and group notifies
//! (keepalived's `notify` arguments) must be the same lines as keepalived's.

mod support;

use std::path::Path;
use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

fn conf(
    router: &str,
    priority: u8,
    vip_in: &str,
    vip_out: &str,
    check: &Path,
    notify: &Path,
) -> String {
    let notify = notify.display();
    let inst = |name: &str, vrid: u8, vip: &str, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id {vrid}\n    priority {priority}\n    advert_int 1\n    \
             notify \"{notify}\"\n    \
             virtual_ipaddress {{\n        {vip}\n    }}\n{extra}}}\n"
        )
    };
    format!(
        "global_defs {{\n    router_id {router}\n}}\n\
         vrrp_script chk_uplink {{\n    script \"{}\"\n    interval 1\n    fall 1\n    rise 1\n}}\n\
         vrrp_sync_group G {{\n    group {{\n        VI_IN\n        VI_OUT\n    }}\n    \
         notify \"{notify}\"\n}}\n{}{}",
        check.display(),
        inst("VI_IN", 51, vip_in, ""),
        inst(
            "VI_OUT",
            52,
            vip_out,
            "    track_script {\n        chk_uplink\n    }\n"
        ),
    )
}

/// Runs the scenario with `start` (keepalived or vrrpd-real) on both nodes.
fn both_vips_move_together(
    what: &str,
    start: fn(&Lab, usize, &Path, &str, &str) -> u32,
) -> Notifies {
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir(&format!("sync-group-{what}"));
    let flag = dir.join("uplink-down");
    let check = dir.join("chk_uplink.sh");
    std::fs::write(
        &check,
        format!("#!/bin/sh\n[ ! -e '{}' ]\n", flag.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&check, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Node B's check always passes (its flag file never exists).
    let check_b = dir.join("chk_uplink_b.sh");
    std::fs::write(&check_b, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&check_b, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Each node's notify script appends its arguments to a log of its own.
    let notify = |tag: &str| {
        let path = dir.join(format!("notify-{tag}.sh"));
        let out = dir.join(format!("notify-{tag}.log"));
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho \"$@\" >> '{}'\n", out.display()),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    };
    let (notify_a, notify_b) = (notify("a"), notify("b"));
    let (vin, vout) = (lab.addr(100).to_string(), lab.addr(101).to_string());
    let holds = |i: usize| (lab.has_addr(i, &vin), lab.has_addr(i, &vout));
    let a = start(
        &lab,
        0,
        &dir,
        "a",
        &conf("A", 150, &vin, &vout, &check, &notify_a),
    );
    let b = start(
        &lab,
        1,
        &dir,
        "b",
        &conf("B", 100, &vin, &vout, &check_b, &notify_b),
    );
    assert!(
        wait_until(Duration::from_secs(10), || holds(0) == (true, true)),
        "{what}: A never held both VIPs:\n{}",
        log(&dir, "a")
    );
    assert_eq!(holds(1), (false, false), "{what}: B holds a VIP");
    // The outside check fails on A: VI_OUT goes to FAULT and takes VI_IN with it; B takes
    // both VIPs once its Master_Down_Timers run out.
    std::fs::write(&flag, "down\n").unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || holds(1) == (true, true)),
        "{what}: B did not take both VIPs:\nA:\n{}\nB:\n{}",
        log(&dir, "a"),
        log(&dir, "b")
    );
    assert_eq!(
        holds(0),
        (false, false),
        "{what}: A kept a VIP of the group:\n{}",
        log(&dir, "a")
    );
    // Never split: for 3 s both VIPs stay on B.
    for _ in 0..15 {
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(holds(1), (true, true), "{what}: the group split on B");
        assert_eq!(holds(0), (false, false), "{what}: the group split on A");
    }
    // The check passes again: A leaves FAULT and, with the higher priority, takes both back.
    std::fs::remove_file(&flag).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || holds(0) == (true, true)),
        "{what}: A did not take both VIPs back:\n{}",
        log(&dir, "a")
    );
    assert!(
        wait_until(Duration::from_secs(2), || holds(1) == (false, false)),
        "{what}: B kept a VIP:\n{}",
        log(&dir, "b")
    );
    // Every notify so far, sorted per node (keepalived forks each notify script at once, so
    // the order of lines in a log is a race); then the stops.
    std::thread::sleep(Duration::from_millis(500));
    let read = |tag: &str| {
        let text =
            std::fs::read_to_string(dir.join(format!("notify-{tag}.log"))).unwrap_or_default();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    let before = [read("a"), read("b")];
    lab.signal(a, libc::SIGTERM);
    let stopped = read("a");
    for name in [
        "INSTANCE VI_IN STOP 150",
        "INSTANCE VI_OUT STOP 150",
        "GROUP G STOP 0",
    ] {
        assert!(
            wait_until(Duration::from_secs(2), || read("a")
                .iter()
                .any(|l| l == name)),
            "{what}: no '{name}' notify on A at SIGTERM: {stopped:?}"
        );
    }
    lab.signal(b, libc::SIGTERM);
    before
}

/// The notify lines of one node's run: instance and group notifies for every change.
type Notifies = [Vec<String>; 2];

#[test]
fn a_failing_check_on_one_member_moves_both_vips_keepalived_and_vrrpd_real() {
    assert_root();
    let (theirs, ours): (Notifies, Notifies) = side_by_side(|keepalived| {
        if keepalived {
            both_vips_move_together("keepalived", start_keepalived)
        } else {
            both_vips_move_together("vrrpd-real", start_daemon)
        }
    });
    // The same instance and group notifies, as many times each, on both nodes.
    assert_eq!(
        ours, theirs,
        "notify lines (sorted) per node, vrrpd-real vs keepalived"
    );
}

//! Paths the other namespace tests do not take: unicast peers, notify scripts in the order of
//! the state changes, and VRRPv3 over IPv6 (link-local sources, ff02::12, unsolicited NA).

mod support;

use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

fn inst(vip: &str, prio: u8, version: u8, advert: &str, extra: &str) -> String {
    Inst {
        name: "VI_1",
        vrid: 51,
        priority: prio,
        version,
        advert,
        auth: None,
        vip: vip.to_string(),
        extra,
    }
    .text(if prio == 100 { "A" } else { "B" }, "", "")
    .replace(
        "    virtual_ipaddress {",
        &format!("{extra}    virtual_ipaddress {{"),
    )
    .replacen(extra, "", 1)
}

#[test]
fn unicast_peers_elect_one_master_and_fail_over() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("unicast");
    let vip = lab.addr(100).to_string();
    let (ip_a, ip_b) = (lab.hosts[0].ip.to_string(), lab.hosts[1].ip.to_string());
    let unicast = |me: &str, peer: &str| {
        format!("    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n")
    };
    let a = start_daemon(
        &lab,
        0,
        &dir,
        "a",
        &inst(&vip, 100, 3, "0.1", &unicast(&ip_a, &ip_b)),
    );
    let _b = start_daemon(
        &lab,
        1,
        &dir,
        "b",
        &inst(&vip, 90, 3, "0.1", &unicast(&ip_b, &ip_a)),
    );
    assert!(
        wait_until(Duration::from_secs(5), || lab.has_addr(0, &vip)),
        "A never became Master:\n{}",
        log(&dir, "a")
    );
    // If unicast adverts did not arrive, B would take the VIP too after 0.36 s.
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        !lab.has_addr(1, &vip),
        "B holds the VIP too: unicast adverts not received:\n{}",
        log(&dir, "b")
    );
    lab.signal(a, libc::SIGKILL);
    assert!(
        wait_until(Duration::from_secs(3), || lab.has_addr(1, &vip)),
        "B did not take over:\n{}",
        log(&dir, "b")
    );
}

#[test]
fn notify_scripts_run_in_the_order_of_the_state_changes() {
    assert_root();
    let lab = Lab::new(1).expect("lab");
    let dir = tmpdir("notify");
    let vip = lab.addr(100).to_string();
    let out = dir.join("notify.log");
    let script = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body} >> {}\n", out.display())).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        p.display().to_string()
    };
    let generic = script("notify.sh", "echo \"$@\"");
    let master = script("master.sh", "echo master-specific");
    let extra = format!("    notify \"{generic}\"\n    notify_master \"{master}\"\n");
    let a = start_daemon(&lab, 0, &dir, "a", &inst(&vip, 100, 3, "0.1", &extra));
    assert!(
        wait_until(Duration::from_secs(5), || lab.has_addr(0, &vip)),
        "never Master:\n{}",
        log(&dir, "a")
    );
    lab.signal(a, libc::SIGTERM);
    let want = [
        "INSTANCE VI_1 BACKUP 100",
        "master-specific",
        "INSTANCE VI_1 MASTER 100",
        "INSTANCE VI_1 STOP 100",
    ];
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    wait_until(Duration::from_secs(5), || {
        read().lines().count() >= want.len()
    });
    let got: Vec<String> = read().lines().map(str::to_string).collect();
    assert_eq!(got, want, "daemon log:\n{}", log(&dir, "a"));
}

#[test]
fn ipv6_instances_elect_and_fail_over() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("ipv6");
    let vip = "fd77::100";
    let a = start_daemon(&lab, 0, &dir, "a", &inst(vip, 100, 3, "0.1", ""));
    let _b = start_daemon(&lab, 1, &dir, "b", &inst(vip, 90, 3, "0.1", ""));
    // Link-local addresses come after duplicate address detection; the daemons wait for them.
    assert!(
        wait_until(Duration::from_secs(10), || lab.has_addr(0, vip)),
        "A never became Master:\n{}",
        log(&dir, "a")
    );
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        !lab.has_addr(1, vip),
        "B holds the VIP too: IPv6 adverts not received:\n{}",
        log(&dir, "b")
    );
    lab.signal(a, libc::SIGKILL);
    assert!(
        wait_until(Duration::from_secs(3), || lab.has_addr(1, vip)),
        "B did not take over:\n{}",
        log(&dir, "b")
    );
}

//! Interop with keepalived 2.2.7 on a namespace LAN, VRRPv2 (PASS auth) and VRRPv3 (IPv4):
//! keepalived Master / vrrpd-real Backup, keepalived killed, vrrpd-real takes over; then a
//! keepalived Backup joins, vrrpd-real is killed, keepalived takes over. tshark must mark
//! every advert `[correct]`.

mod support;

use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

fn kill_keepalived(lab: &Lab, pid: u32, dir: &std::path::Path, tag: &str) {
    if let Ok(p) = std::fs::read_to_string(dir.join(format!("{tag}.vrrp.pid"))) {
        if let Ok(p) = p.trim().parse::<i32>() {
            // SAFETY: kill(2) on keepalived's VRRP child inside our namespace.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
    lab.signal(pid, libc::SIGKILL);
}

fn interop(version: u8) {
    assert_root();
    let lab = Lab::new(3).expect("lab");
    let dir = tmpdir(&format!("interop-v{version}"));
    let vip = lab.addr(100).to_string();
    let auth = if version == 2 { Some("secret1") } else { None };
    let inst = |prio| Inst {
        name: "VI_1",
        vrid: 42,
        priority: prio,
        version,
        advert: "1",
        auth,
        vip: vip.clone(),
        extra: "",
    };
    let cap = Capture::start(&lab, 2, &dir, "cap");
    // keepalived Master, vrrpd-real Backup.
    let k = start_keepalived(&lab, 0, &dir, "k", &inst(100).text("K", "", ""));
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "keepalived never became Master:\n{}",
        log(&dir, "k")
    );
    let r = start_daemon(&lab, 1, &dir, "r", &inst(90).text("R", "", ""));
    std::thread::sleep(Duration::from_millis(4500));
    assert!(
        !lab.has_addr(1, &vip),
        "vrrpd-real took the VIP from a higher keepalived:\n{}",
        log(&dir, "r")
    );
    let st = status(&lab, r, &dir, "r");
    assert_eq!(st["instances"][0]["state"], "BACKUP", "{st}");
    assert!(
        st["instances"][0]["counters"]["adverts_accepted"]
            .as_u64()
            .unwrap_or(0)
            >= 3,
        "{st}"
    );
    kill_keepalived(&lab, k, &dir, "k");
    assert!(
        wait_until(Duration::from_secs(6), || lab.has_addr(1, &vip)),
        "vrrpd-real did not take over from keepalived:\n{}",
        log(&dir, "r")
    );
    // vrrpd-real Master, keepalived Backup.
    let k2 = start_keepalived(&lab, 0, &dir, "k2", &inst(80).text("K2", "", ""));
    std::thread::sleep(Duration::from_millis(4500));
    assert!(
        !lab.has_addr(0, &vip),
        "keepalived took the VIP from a higher vrrpd-real:\n{}",
        log(&dir, "k2")
    );
    assert!(lab.has_addr(1, &vip));
    lab.signal(r, libc::SIGKILL);
    assert!(
        wait_until(Duration::from_secs(6), || lab.has_addr(0, &vip)),
        "keepalived did not take over from vrrpd-real:\n{}",
        log(&dir, "k2")
    );
    std::thread::sleep(Duration::from_millis(300));
    let adv = cap.stop(&lab);
    kill_keepalived(&lab, k2, &dir, "k2");
    let ours: Vec<_> = adv
        .iter()
        .filter(|p| p.src == lab.hosts[1].ip.to_string())
        .collect();
    assert!(ours.len() >= 3, "too few adverts of ours: {adv:?}");
    for p in &adv {
        assert_eq!(p.version, version);
        assert_eq!(
            p.checksum_status, "1",
            "tshark: checksum not [correct]: {p:?}"
        );
        assert_eq!(p.ttl, 255, "{p:?}");
    }
    eprintln!(
        "v{version}: {} adverts checked, {} of them ours",
        adv.len(),
        ours.len()
    );
}

#[test]
fn interop_keepalived_v2_pass_auth() {
    interop(2);
}

#[test]
fn interop_keepalived_v3_ipv4() {
    interop(3);
}

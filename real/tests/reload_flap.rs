//! SIGHUP reload keeps an unchanged instance's state and VIP, and applies a priority change
//! in place (no restart, as keepalived); a link flap takes the Master to FAULT and its VIPs
//! come back after the link returns.

mod support;

use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

fn conf(router: &str, p1: u8, p2: u8, vip1: &str, vip2: &str) -> String {
    let i1 = Inst {
        name: "VI_1",
        vrid: 51,
        priority: p1,
        version: 2,
        advert: "1",
        auth: None,
        vip: vip1.to_string(),
        extra: "",
    };
    let i2 = Inst {
        name: "VI_2",
        vrid: 52,
        priority: p2,
        version: 3,
        advert: "1",
        auth: None,
        vip: vip2.to_string(),
        extra: "",
    };
    let t2 = i2.text(router, "", "");
    let t2 = &t2[t2.find("vrrp_instance").unwrap_or(0)..];
    format!("{}{}", i1.text(router, "", ""), t2)
}

#[test]
fn reload_keeps_unchanged_instance_and_link_flap_restores_vips() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("reload-flap");
    let (v1, v2) = (lab.addr(100).to_string(), lab.addr(101).to_string());
    let a = start_daemon(&lab, 0, &dir, "a", &conf("A", 100, 100, &v1, &v2));
    let _b = start_daemon(&lab, 1, &dir, "b", &conf("B", 90, 90, &v1, &v2));
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &v1)
            && lab.has_addr(0, &v2)),
        "A never became Master:\n{}",
        log(&dir, "a")
    );
    let before = status(&lab, a, &dir, "a");

    // Reload with VI_2 changed (priority 100 -> 95), VI_1 untouched.
    std::fs::write(dir.join("a.conf"), conf("A", 100, 95, &v1, &v2)).unwrap();
    let n_before = trace_lines(&dir, "a").len();
    lab.signal(a, libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(1500));
    let after = status(&lab, a, &dir, "a");
    assert_eq!(after["instances"][0]["name"], "VI_1");
    assert_eq!(after["instances"][0]["state"], "MASTER", "{after}");
    assert_eq!(
        after["instances"][0]["last_transition"], before["instances"][0]["last_transition"],
        "VI_1 was restarted by a reload that did not change it"
    );
    assert_eq!(after["instances"][1]["effective_priority"], 95, "{after}");
    let new_lines = &trace_lines(&dir, "a")[n_before..];
    assert!(
        !new_lines
            .iter()
            .any(|l| l["kind"] == "vip_del" && l["instance"] == "VI_1"),
        "VI_1's VIP was removed on reload"
    );
    assert!(
        !new_lines.iter().any(|l| l["kind"] == "state"),
        "a priority change restarted an instance: {new_lines:?}"
    );
    assert_eq!(after["instances"][1]["state"], "MASTER", "{after}");
    assert!(lab.has_addr(0, &v1) && lab.has_addr(0, &v2));

    // Link flap: FAULT, the Backup takes over; link back: VIPs return to A.
    let ns = lab.hosts[0].ns.clone();
    vrrp_lab::ip(&["-n", &ns, "link", "set", "eth0", "down"]).unwrap();
    assert!(
        wait_until(Duration::from_secs(6), || lab.has_addr(1, &v1)),
        "B did not take over during the flap"
    );
    let st = status(&lab, a, &dir, "a");
    assert_eq!(st["instances"][0]["state"], "FAULT", "{st}");
    vrrp_lab::ip(&["-n", &ns, "link", "set", "eth0", "up"]).unwrap();
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &v1)
            && lab.has_addr(0, &v2)),
        "VIPs did not return after the flap:\n{}",
        log(&dir, "a")
    );
}

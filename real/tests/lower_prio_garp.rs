//! A Master that hears a lower priority announces its VIPs again (keepalived 2.2.7's
//! `garp_lower_prio_repeat` / `garp_lower_prio_delay`, by default the global
//! `vrrp_garp_master_repeat` 5 and `vrrp_garp_master_delay` 5 s): measured for keepalived and
//! for vrrpd-real on the same namespace LAN with the same schedule.
//!
//! Host 0 is Master (200), host 1 Backup (100), host 2 captures ARP. After the Master's own
//! start-up announcements are over, host 1 stops hearing host 0 for 5 s (nftables on its
//! input), takes over and advertises; host 0 hears those lower-priority adverts and answers
//! each with gratuitous ARPs, then the partition heals and host 1 steps back. The count of
//! gratuitous ARPs host 0 sent must be keepalived's, within one advert's worth (the number of
//! adverts host 1 gets out before the heal depends on where its Master_Down_Timer falls).

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

/// Gratuitous ARPs for `vip` sent from `mac` in a capture.
fn garps(file: &std::path::Path, mac: &str, vip: &str) -> usize {
    garp_times(file, mac, vip).len()
}

/// The capture times (seconds) of the gratuitous ARPs for `vip` sent from `mac`.
fn garp_times(file: &std::path::Path, mac: &str, vip: &str) -> Vec<f64> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args([
            "-Y",
            "arp",
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "frame.time_epoch",
            "-e",
            "eth.src",
            "-e",
            "arp.src.proto_ipv4",
            "-e",
            "arp.dst.proto_ipv4",
        ])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (f.len() == 4 && f[1] == mac && f[2] == vip && f[3] == vip)
                .then(|| f[0].parse().ok())
                .flatten()
        })
        .collect()
}

fn mac_of(ns: &str) -> String {
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "link", "show", "eth0"])
        .output()
        .expect("ip link");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .expect("a MAC")
        .to_string()
}

/// One run with `global_defs` lines `globals`: returns the gratuitous ARPs the Master sent
/// during and after the partition.
fn run(keepalived: bool, globals: &str) -> usize {
    let tag = format!(
        "{}{}",
        if keepalived { "ka" } else { "vr" },
        if globals.is_empty() { "" } else { "s" }
    );
    let lab = Lab::new(3).expect("lab");
    let dir = tmpdir(&format!("lower-prio-{tag}"));
    let vip = lab.addr(100).to_string();
    let a = lab.hosts[0].clone();
    let start = |i: usize, prio: u8| {
        let conf =
            Inst::vi1(prio, &format!("{vip}/24"), "").text(&format!("{tag}{i}"), globals, "");
        let t = format!("{tag}{i}");
        if keepalived {
            start_keepalived(&lab, i, &dir, &t, &conf)
        } else {
            start_daemon(&lab, i, &dir, &t, &conf)
        }
    };
    start(0, 200);
    start(1, 100);
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "{tag}: host 0 never Master:\n{}",
        log(&dir, &format!("{tag}0"))
    );
    // The Master's own announcements: at once and garp_master_delay (5 s) later.
    std::thread::sleep(Duration::from_millis(6500));
    let file = dir.join("arp.pcapng");
    let cap = lab.capture(2, &file, "arp", &[]).expect("dumpcap");
    ns_nft(
        &lab.hosts[1].ns,
        &format!(
            "table inet oneway {{\n  chain input {{\n    type filter hook input priority 0;\n    \
             ip saddr {} ip protocol vrrp drop\n  }}\n}}\n",
            a.ip
        ),
    );
    std::thread::sleep(Duration::from_secs(5));
    ns_nft(&lab.hosts[1].ns, "delete table inet oneway");
    assert!(
        wait_until(Duration::from_secs(5), || !lab.has_addr(1, &vip)),
        "{tag}: host 1 kept the VIP after the heal"
    );
    // The delayed bursts come garp_lower_prio_delay (5 s) after the last advert heard.
    std::thread::sleep(Duration::from_secs(7));
    std::thread::sleep(Duration::from_millis(200));
    lab.signal(cap, libc::SIGINT);
    let n = garps(&file, &mac_of(&a.ns), &vip);
    println!("{tag}: host 0 sent {n} gratuitous ARPs for {vip}");
    n
}

#[test]
fn a_master_hearing_a_lower_priority_announces_as_keepalived_does() {
    assert_root();
    let (ka, vr) = side_by_side(|keepalived| run(keepalived, ""));
    println!("keepalived {ka}, vrrpd-real {vr}");
    assert!(
        ka >= 10 && ka / 10 * 10 == ka,
        "keepalived: {ka}: 5 at once and 5 later per lower-priority advert heard"
    );
    assert!(
        vr.abs_diff(ka) <= 10,
        "vrrpd-real sent {vr} gratuitous ARPs, keepalived {ka}"
    );
    assert_eq!(
        vr / 10 * 10,
        vr,
        "vrrpd-real: 10 per advert heard, got {vr}"
    );
}

/// `garp_master_refresh 2` with `garp_master_refresh_repeat 3` (and `garp_master_repeat 2`,
/// `garp_master_delay 0`): a lone Master's gratuitous ARPs over 7.5 s after its takeover, from
/// keepalived 2.2.7 and from vrrpd-real, as offsets from the first: the same bursts at the
/// same times (within 100 ms: each burst is timed by its daemon's own timer).
#[test]
fn garp_master_refresh_repeat_as_keepalived() {
    assert_root();
    let run = |keepalived: bool| -> Vec<f64> {
        let tag = if keepalived { "kr" } else { "vrr" };
        let lab = Lab::new(2).expect("lab");
        let dir = tmpdir(&format!("garp-refresh-{tag}"));
        let vip = lab.addr(100).to_string();
        let file = dir.join("arp.pcapng");
        let cap = lab.capture(1, &file, "arp", &[]).expect("dumpcap");
        let extra = "    garp_master_delay 0\n    garp_master_repeat 2\n    \
                     garp_master_refresh 2\n    garp_master_refresh_repeat 3\n";
        let conf = Inst::vi1(150, &format!("{vip}/24"), extra).text(tag, "", "");
        if keepalived {
            start_keepalived(&lab, 0, &dir, tag, &conf);
        } else {
            start_daemon(&lab, 0, &dir, tag, &conf);
        }
        assert!(
            wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
            "{tag}: never Master:\n{}",
            log(&dir, tag)
        );
        std::thread::sleep(Duration::from_millis(7500));
        lab.signal(cap, libc::SIGINT);
        let times = garp_times(&file, &mac_of(&lab.hosts[0].ns), &vip);
        let first = times.first().copied().unwrap_or_default();
        let offsets: Vec<f64> = times.iter().map(|t| t - first).collect();
        println!("{tag}: {offsets:.3?}");
        offsets
    };
    let (ka, vr) = side_by_side(run);
    // Two at the takeover, then three every 2 s.
    assert_eq!(ka.len(), 11, "keepalived: {ka:?}");
    assert_eq!(vr.len(), ka.len(), "vrrpd-real {vr:?}, keepalived {ka:?}");
    for (k, v) in ka.iter().zip(&vr) {
        assert!((k - v).abs() < 0.1, "vrrpd-real {vr:?}, keepalived {ka:?}");
    }
}

/// Under `vrrp_strict` keepalived sets `garp_lower_prio_repeat` to 0: the same partition
/// brings no gratuitous ARP from the Master, from keepalived or from vrrpd-real.
#[test]
fn a_strict_master_hearing_a_lower_priority_does_not_announce() {
    assert_root();
    let strict = "    vrrp_strict\n";
    let (ka, vr) = side_by_side(|keepalived| run(keepalived, strict));
    assert_eq!(ka, 0, "keepalived under vrrp_strict");
    assert_eq!(vr, 0, "vrrpd-real under vrrp_strict");
}

/// keepalived's `higher_prio_send_advert`: a Master (100) that hears a higher priority (a
/// Backup at 200 taking over) sends one advert of its own before stepping down, and none
/// without the option. Counted from a capture for keepalived and vrrpd-real alike.
#[test]
fn higher_prio_send_advert_as_keepalived() {
    assert_root();
    let run = |keepalived: bool, flag: bool| -> usize {
        let tag = format!("{}{}", if keepalived { "ka" } else { "vr" }, u8::from(flag));
        let lab = Lab::new(3).expect("lab");
        let dir = tmpdir(&format!("higher-prio-{tag}"));
        let vip = lab.addr(100).to_string();
        let extra = if flag {
            "    higher_prio_send_advert true\n"
        } else {
            ""
        };
        let start = |i: usize, prio: u8, extra: &str| {
            let t = format!("{tag}{i}");
            let conf = Inst::vi1(prio, &format!("{vip}/24"), extra).text(&t, "", "");
            if keepalived {
                start_keepalived(&lab, i, &dir, &t, &conf)
            } else {
                start_daemon(&lab, i, &dir, &t, &conf)
            }
        };
        let cap = Capture::start(&lab, 2, &dir, "cap");
        start(0, 100, extra);
        assert!(
            wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
            "{tag}: host 0 never Master"
        );
        start(1, 200, "");
        assert!(
            wait_until(Duration::from_secs(8), || lab.has_addr(1, &vip)),
            "{tag}: host 1 never took over"
        );
        std::thread::sleep(Duration::from_millis(1500));
        let adv = cap.stop(&lab);
        let (a, b) = (lab.hosts[0].ip.to_string(), lab.hosts[1].ip.to_string());
        let first_b = adv
            .iter()
            .filter(|p| p.src == b && p.prio == 200)
            .map(|p| p.t)
            .fold(f64::MAX, f64::min);
        let n = adv.iter().filter(|p| p.src == a && p.t > first_b).count();
        println!("{tag}: host 0 sent {n} adverts after hearing priority 200");
        n
    };
    for (flag, want) in [(true, 1), (false, 0)] {
        let (ka, vr) = side_by_side(|keepalived| run(keepalived, flag));
        assert_eq!(ka, want, "keepalived, higher_prio_send_advert {flag}");
        assert_eq!(vr, ka, "vrrpd-real, higher_prio_send_advert {flag}");
    }
}

//! `use_vmac` on a namespace LAN of three hosts (host 2 only listens): the macvlan
//! `vrrp.51` (mode private) carries `00:00:5e:00:01:33`, adverts and gratuitous ARPs leave
//! from that MAC (with `vmac_xmit_base`, adverts from the base's), the VIP sits on the
//! macvlan, and the macvlan is gone after SIGTERM. keepalived 2.2.7 runs each scenario first
//! (the expectation), then vrrpd-real. Interop: keepalived and vrrpd-real, both with
//! `use_vmac`, fail over both ways.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

const VMAC: &str = "00:00:5e:00:01:33";

/// `ip -d link show vrrp.51` in host `i`, or "" when there is none.
fn vmac_link(lab: &Lab, i: usize) -> String {
    vrrp_lab::sh(
        "ip",
        &["-n", &lab.hosts[i].ns, "-d", "link", "show", "vrrp.51"],
    )
    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    .unwrap_or_default()
}

/// Whether host `i` holds `vip` on `vrrp.51`.
fn vip_on_vmac(lab: &Lab, i: usize, vip: &str) -> bool {
    vrrp_lab::sh(
        "ip",
        &[
            "-n",
            &lab.hosts[i].ns,
            "-o",
            "addr",
            "show",
            "dev",
            "vrrp.51",
        ],
    )
    .map(|o| String::from_utf8_lossy(&o.stdout).contains(&format!(" {vip}/")))
    .unwrap_or(false)
}

/// (Ethernet source, what) of every VRRP advert and ARP in a capture.
fn frames(file: &Path) -> Vec<(String, String)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args([
            "-Y",
            "vrrp or arp",
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "eth.src",
            "-e",
            "_ws.col.Protocol",
        ])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (src, what) = l.split_once('|')?;
            Some((src.to_string(), what.to_string()))
        })
        .collect()
}

type Start = fn(&Lab, usize, &Path, &str, &str) -> u32;

/// Runs `start` as the only router on host 0 with `extra` in the instance; host 2 captures.
/// Returns the frames seen and the macvlan as `ip -d link` showed it while Master; asserts
/// that it is gone after SIGTERM.
fn run(
    lab: &Lab,
    dir: &Path,
    tag: &str,
    extra: &str,
    start: Start,
) -> (Vec<(String, String)>, String) {
    let vip = lab.addr(100).to_string();
    let file = dir.join(format!("{tag}.pcapng"));
    let cap = lab
        .capture(2, &file, "ip proto 112 or arp", &[])
        .expect("dumpcap");
    let pid = start(
        lab,
        0,
        dir,
        tag,
        &Inst::vi1(150, &vip, extra).text("A", "", ""),
    );
    assert!(
        wait_until(Duration::from_secs(8), || vip_on_vmac(lab, 0, &vip)),
        "{tag}: VIP never on vrrp.51:\n{}\n{}",
        vmac_link(lab, 0),
        log(dir, tag)
    );
    let link = vmac_link(lab, 0);
    // Two more adverts.
    std::thread::sleep(Duration::from_millis(2200));
    lab.signal(pid, libc::SIGTERM);
    assert!(
        wait_until(Duration::from_secs(5), || vmac_link(lab, 0).is_empty()),
        "{tag}: vrrp.51 still there after SIGTERM:\n{}",
        log(dir, tag)
    );
    std::thread::sleep(Duration::from_millis(300));
    lab.signal(cap, libc::SIGINT);
    (frames(&file), link)
}

fn check(tag: &str, frames: &[(String, String)], link: &str, advert_src: &str) {
    assert!(
        link.contains(&format!("link/ether {VMAC}")),
        "{tag}: {link}"
    );
    assert!(link.contains("macvlan mode private"), "{tag}: {link}");
    let adverts: Vec<&str> = frames
        .iter()
        .filter(|f| f.1 == "VRRP")
        .map(|f| f.0.as_str())
        .collect();
    let garps: Vec<&str> = frames
        .iter()
        .filter(|f| f.1 == "ARP")
        .map(|f| f.0.as_str())
        .collect();
    // The first advert as Master, two more, and priority 0 at SIGTERM.
    assert!(adverts.len() >= 3, "{tag}: {frames:?}");
    assert!(
        adverts.iter().all(|s| *s == advert_src),
        "{tag}: {frames:?}"
    );
    // keepalived's 5 on becoming Master (the next 5 come after 5 s).
    assert_eq!(garps, [VMAC; 5], "{tag}: {frames:?}");
}

/// The sysctl `net.ipv4.conf.eth0.NAME` on host 0.
fn base_sysctl(lab: &Lab, name: &str) -> String {
    vrrp_lab::sh(
        "ip",
        &[
            "netns",
            "exec",
            &lab.hosts[0].ns,
            "cat",
            &format!("/proc/sys/net/ipv4/conf/eth0/{name}"),
        ],
    )
    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    .unwrap_or_default()
}

#[test]
fn adverts_and_garps_leave_from_the_virtual_mac_as_with_keepalived() {
    assert_root();
    let extra = "    use_vmac\n";
    side_by_side(|keepalived| {
        let lab = Lab::new(3).expect("lab");
        if keepalived {
            let dir = tmpdir("vmac-k");
            let (k, klink) = run(&lab, &dir, "k", extra, start_keepalived);
            check("keepalived", &k, &klink, VMAC);
        } else {
            let dir = tmpdir("vmac-r");
            let (r, rlink) = run(&lab, &dir, "r", extra, start_daemon);
            check("vrrpd-real", &r, &rlink, VMAC);
            // vrrpd-real restores the base's sysctls it changed (keepalived 2.2.7 leaves
            // arp_ignore/arp_filter at 1: it restores the values its netlink reflector read
            // after setting them).
            for name in ["arp_ignore", "arp_filter"] {
                assert_eq!(
                    base_sysctl(&lab, name),
                    "0",
                    "vrrpd-real left {name} changed"
                );
            }
        }
    });
}

#[test]
fn xmit_base_sends_adverts_from_the_base_as_with_keepalived() {
    assert_root();
    let extra = "    use_vmac\n    vmac_xmit_base\n";
    side_by_side(|keepalived| {
        let lab = Lab::new(3).expect("lab");
        let base = vrrp_lab::sh(
            "ip",
            &["-n", &lab.hosts[0].ns, "-br", "link", "show", "eth0"],
        )
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .nth(2)
                .unwrap_or_default()
                .to_string()
        })
        .expect("eth0");
        let (what, tag, start): (&str, &str, Start) = if keepalived {
            ("keepalived", "k", start_keepalived)
        } else {
            ("vrrpd-real", "r", start_daemon)
        };
        let dir = tmpdir(&format!("vmac-xmit-base-{tag}"));
        let (frames, link) = run(&lab, &dir, tag, extra, start);
        check(what, &frames, &link, &base);
    });
}

/// Host 0 runs `high` (priority 150), host 1 `low` (100), both with `use_vmac`: the VIP is
/// on host 0's macvlan; SIGTERM to host 0 moves it to host 1's; host 0 started again takes it
/// back.
fn fail_over_and_back(lab: &Lab, dir: &Path, tag: &str, high: Start, low: Start) {
    let vip = lab.addr(100).to_string();
    let conf = |p| Inst::vi1(p, &vip, "    use_vmac\n").text("A", "", "");
    let h = high(lab, 0, dir, &format!("{tag}-h"), &conf(150));
    let l = low(lab, 1, dir, &format!("{tag}-l"), &conf(100));
    let logs = || {
        format!(
            "{}\n{}",
            log(dir, &format!("{tag}-h")),
            log(dir, &format!("{tag}-l"))
        )
    };
    assert!(
        wait_until(Duration::from_secs(10), || vip_on_vmac(lab, 0, &vip)),
        "{tag}: high never Master:\n{}",
        logs()
    );
    assert!(
        !vip_on_vmac(lab, 1, &vip),
        "{tag}: both Master:\n{}",
        logs()
    );
    lab.signal(h, libc::SIGTERM);
    assert!(
        wait_until(Duration::from_secs(5), || vip_on_vmac(lab, 1, &vip)),
        "{tag}: low never took over:\n{}",
        logs()
    );
    let h = high(lab, 0, dir, &format!("{tag}-h2"), &conf(150));
    assert!(
        wait_until(Duration::from_secs(10), || vip_on_vmac(lab, 0, &vip)
            && !vip_on_vmac(lab, 1, &vip)),
        "{tag}: high never took back:\n{}\n{}",
        logs(),
        log(dir, &format!("{tag}-h2"))
    );
    lab.signal(h, libc::SIGTERM);
    lab.signal(l, libc::SIGTERM);
}

#[test]
fn keepalived_and_vrrpd_real_with_use_vmac_fail_over_both_ways() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("vmac-interop");
    fail_over_and_back(&lab, &dir, "kr", start_keepalived, start_daemon);
    fail_over_and_back(&lab, &dir, "rk", start_daemon, start_keepalived);
}

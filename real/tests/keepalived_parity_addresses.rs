//! keepalived 2.2.7 parity on unicast peers, source addresses, interface addresses and
//! tracked interfaces at start (issue 16 items 4, 10, 12, 13, 14): each scenario runs once
//! with keepalived and once with vrrpd-real as the node under test, on LANs of their own at
//! the same time ([`side_by_side`]), the peer always keepalived; what a user sees is compared.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::*;
use vrrp_lab::Lab;

/// Starts the node under test on host `i`.
fn start(lab: &Lab, i: usize, dir: &Path, tag: &str, conf: &str, keepalived: bool) -> u32 {
    if keepalived {
        start_keepalived(lab, i, dir, tag, conf)
    } else {
        start_daemon(lab, i, dir, tag, conf)
    }
}

fn who(keepalived: bool) -> &'static str {
    if keepalived {
        "keepalived"
    } else {
        "vrrpd-real"
    }
}

/// Whether host `i` holds `vip` at some poll within `d`.
fn ever_holds(lab: &Lab, i: usize, vip: &str, d: Duration) -> bool {
    wait_until(d, || lab.has_addr(i, vip))
}

/// Whether host `i` lacks `vip` at some poll within `d`.
fn ever_lacks(lab: &Lab, i: usize, vip: &str, d: Duration) -> bool {
    wait_until(d, || !lab.has_addr(i, vip))
}

fn unicast(src: Option<std::net::Ipv4Addr>, peer: std::net::Ipv4Addr) -> String {
    let src = src.map_or(String::new(), |s| format!("    unicast_src_ip {s}\n"));
    format!("{src}    unicast_peer {{\n        {peer}\n    }}\n")
}

/// Item 10: the node under test lists a wrong address (a typo) in `unicast_peer`. keepalived
/// checks sources only with `check_unicast_src`, so it obeys the Master it hears and there
/// is one Master; returns whether the node under test took the VIP.
fn typo_in_unicast_peer(keepalived: bool) -> bool {
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir(&format!("kpa-typo-{}", who(keepalived)));
    let vip = lab.addr(100).to_string();
    let (h0, h1) = (lab.hosts[0].ip, lab.hosts[1].ip);
    let peer = Inst::vi1(150, &vip, &unicast(Some(h0), h1)).text("P", "", "");
    start_master(&lab, &dir, "peer", &peer, true, &vip);
    let conf = Inst::vi1(100, &vip, &unicast(None, lab.addr(99))).text("T", "", "");
    start(&lab, 1, &dir, "t", &conf, keepalived);
    // Master_Down_Interval is 3.6 s: well past it.
    ever_holds(&lab, 1, &vip, Duration::from_millis(5500))
}

#[test]
fn a_typo_in_unicast_peer_keeps_one_master_as_with_keepalived() {
    assert_root();
    let (k, r) = side_by_side(typo_in_unicast_peer);
    assert!(!k, "keepalived took the VIP: the premise is wrong");
    assert!(!r, "vrrpd-real took the VIP: split brain");
}

/// Item 12: `unicast_src_ip` names an address the host does not have. Returns (whether the
/// node took the VIP, its log).
fn missing_unicast_src(keepalived: bool) -> (bool, String) {
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir(&format!("kpa-src-{}", who(keepalived)));
    let vip = lab.addr(100).to_string();
    let conf =
        Inst::vi1(100, &vip, &unicast(Some(lab.addr(200)), lab.hosts[1].ip)).text("T", "", "");
    start(&lab, 0, &dir, "t", &conf, keepalived);
    let held = ever_holds(&lab, 0, &vip, Duration::from_millis(5000));
    (held, log(&dir, "t"))
}

#[test]
fn a_unicast_src_ip_the_host_lacks_means_fault_as_with_keepalived() {
    assert_root();
    let ((k_held, k_log), (r_held, r_log)) = side_by_side(missing_unicast_src);
    assert!(!k_held, "keepalived took the VIP: the premise is wrong");
    assert!(
        k_log.contains("entering FAULT state (src address not configured)"),
        "{k_log}"
    );
    assert!(!r_held, "vrrpd-real took the VIP:\n{r_log}");
    assert!(
        r_log.lines().any(|l| l.contains("Entering FAULT STATE")
            && l.contains("src address")
            && l.contains("not configured")),
        "{r_log}"
    );
}

/// Host 0 (the node under test, priority 150) Master, host 1 keepalived Backup (100), both
/// multicast; `prepare` runs on host 0's namespace before anything starts, `change` once
/// both run. Returns (the adverts host 1 saw, when `change` ran as seconds since the epoch,
/// host 0 ever lacked the VIP afterwards, host 1's takeover delay if it took the VIP).
fn address_change(
    keepalived: bool,
    name: &str,
    prepare: impl Fn(&Lab),
    change: impl Fn(&Lab),
) -> (Vec<Advert>, f64, bool, Option<Duration>) {
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir(&format!("kpa-{name}-{}", who(keepalived)));
    let vip = lab.addr(100).to_string();
    prepare(&lab);
    let conf = Inst::vi1(150, &vip, "").text("T", "", "");
    let tag = "t";
    if keepalived {
        start_master(&lab, &dir, tag, &conf, true, &vip);
    } else {
        start_master(&lab, &dir, tag, &conf, false, &vip);
    }
    start_keepalived(
        &lab,
        1,
        &dir,
        "peer",
        &Inst::vi1(100, &vip, "").text("P", "", ""),
    );
    std::thread::sleep(Duration::from_millis(1500));
    let cap = Capture::start(&lab, 1, &dir, "cap");
    std::thread::sleep(Duration::from_millis(300));
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let t0 = Instant::now();
    change(&lab);
    let took = wait_until(Duration::from_millis(4500), || lab.has_addr(1, &vip));
    let delay = took.then(|| t0.elapsed());
    let lost = !lab.has_addr(0, &vip) || ever_lacks(&lab, 0, &vip, Duration::from_millis(100));
    let adverts = cap.stop(&lab);
    (adverts, at, lost, delay)
}

fn del_primary(lab: &Lab) {
    let a = format!("{}/24", lab.hosts[0].ip);
    ns_ip(&lab.hosts[0].ns, &["addr", "del", &a, "dev", "eth0"]);
}

/// Item 14: the Master's only IPv4 address removed: keepalived sends priority 0 (from the
/// address just gone) before FAULT, so the Backup takes over after Skew_Time (0.61 s), not
/// Master_Down_Interval (3.6 s).
#[test]
fn the_last_address_removed_sends_priority_zero_as_with_keepalived() {
    assert_root();
    let run = |k: bool| address_change(k, "last", |_| {}, del_primary);
    let (k, r) = side_by_side(run);
    for (name, (adverts, at, _, delay)) in [("keepalived", &k), ("vrrpd-real", &r)] {
        let zero = adverts.iter().any(|a| a.prio == 0 && a.t >= at - 0.05);
        assert!(
            zero,
            "{name}: no priority-0 advert after the address went: {adverts:?}"
        );
        let delay = delay.unwrap_or_else(|| panic!("{name}: the Backup never took over"));
        assert!(
            delay < Duration::from_millis(1500),
            "{name}: takeover after {delay:?}, not Skew_Time"
        );
    }
}

/// Item 13: the primary address replaced with `promote_secondaries` (the secondary becomes
/// primary): keepalived rides through, the Master keeps its VIP and no Backup takes over.
#[test]
fn the_primary_address_replaced_is_ridden_through_as_with_keepalived() {
    assert_root();
    let prepare = |lab: &Lab| {
        let ns = &lab.hosts[0].ns;
        vrrp_lab::sh(
            "ip",
            &[
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv4.conf.eth0.promote_secondaries=1",
            ],
        )
        .expect("sysctl");
        let second = format!("{}/24", lab.addr(60));
        ns_ip(ns, &["addr", "add", &second, "dev", "eth0"]);
    };
    let run = |k: bool| address_change(k, "promote", prepare, del_primary);
    let (k, r) = side_by_side(run);
    for (name, (adverts, at, lost, delay)) in [("keepalived", &k), ("vrrpd-real", &r)] {
        assert!(!lost, "{name}: the Master lost its VIP");
        assert!(
            delay.is_none(),
            "{name}: the Backup took over after {delay:?}"
        );
        let zero = adverts.iter().any(|a| a.prio == 0 && a.t >= at - 0.05);
        assert!(!zero, "{name}: a priority-0 advert: {adverts:?}");
    }
}

/// Item 4: a tracked interface up for seconds before the start: keepalived starts in
/// BACKUP at full priority. Returns the notify lines of the first 4.5 s.
fn tracked_interface_at_start(keepalived: bool) -> Vec<String> {
    let lab = Lab::new(1).expect("lab");
    let dir = tmpdir(&format!("kpa-track-{}", who(keepalived)));
    let ns = &lab.hosts[0].ns;
    // A veth pair inside the namespace (the dummy module may be missing): carrier once
    // both ends are up.
    ns_ip(
        ns,
        &[
            "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
        ],
    );
    ns_ip(ns, &["link", "set", "eth1p", "up"]);
    ns_ip(ns, &["link", "set", "eth1", "up"]);
    std::thread::sleep(Duration::from_millis(500));
    let out = dir.join("notify.log");
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display()),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let vip = lab.addr(100).to_string();
    let extra = format!(
        "    track_interface {{\n        eth1\n    }}\n    notify \"{}\"\n",
        script.display()
    );
    start(
        &lab,
        0,
        &dir,
        "t",
        &Inst::vi1(100, &vip, &extra).text("T", "", ""),
        keepalived,
    );
    // Alone, it is Master after 3.6 s.
    ever_holds(&lab, 0, &vip, Duration::from_millis(4500));
    std::thread::sleep(Duration::from_millis(300));
    std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_tracked_interface_up_at_start_gives_no_fault_as_with_keepalived() {
    assert_root();
    let (k, r) = side_by_side(tracked_interface_at_start);
    let want = ["INSTANCE VI_1 BACKUP 100", "INSTANCE VI_1 MASTER 100"];
    assert_eq!(k, want, "keepalived");
    assert_eq!(r, want, "vrrpd-real");
}

/// Whether process `pid` (our child) has exited: gone or a zombie.
fn exited(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Item 15: a `track_interface` and a VIP's `dev` naming interfaces the host lacks (no
/// `dynamic_interfaces`). keepalived 2.2.7 warns for each (`alloc_track_if`,
/// `parse_ipaddress`), then stops: "Non-existent interface specified in configuration".
/// Returns (its exit status if it stopped within 3 s, whether it ever held the VIP, its log).
fn missing_interfaces(keepalived: bool) -> (Option<i32>, bool, String) {
    let lab = Lab::new(1).expect("lab");
    let dir = tmpdir(&format!("kpa-missing-{}", who(keepalived)));
    let vip = lab.addr(100).to_string();
    let extra = format!(
        "    track_interface {{\n        nosuch1\n    }}\n    virtual_ipaddress_excluded {{\n        {} dev nosuch2\n    }}\n",
        lab.addr(101)
    );
    let pid = start(
        &lab,
        0,
        &dir,
        "t",
        &Inst::vi1(100, &vip, &extra).text("T", "", ""),
        keepalived,
    );
    let stopped = wait_until(Duration::from_secs(3), || exited(pid));
    let held = lab.has_addr(0, &vip);
    let code = if stopped { lab.wait(pid) } else { None };
    (code, held, log(&dir, "t"))
}

#[test]
fn missing_interfaces_stop_the_start_as_with_keepalived() {
    assert_root();
    let (k, r) = side_by_side(missing_interfaces);
    for (name, (code, held, log)) in [("keepalived", k), ("vrrpd-real", r)] {
        assert!(
            code.is_some_and(|c| c != 0),
            "{name} did not stop ({code:?}):\n{log}"
        );
        assert!(!held, "{name} took the VIP:\n{log}");
        for words in [
            "(VI_1) tracked interface nosuch1 doesn't exist",
            "WARNING - interface nosuch2 for ip address",
            "Non-existent interface specified in configuration",
        ] {
            assert!(log.contains(words), "{name}: no `{words}`:\n{log}");
        }
    }
}

/// Item 11, sending: the node under test (host 0, Master alone) with `unicast_ttl 10`;
/// returns the TTLs of its adverts seen on host 1.
fn unicast_ttl_sent(keepalived: bool) -> Vec<u8> {
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir(&format!("kpa-ttl-{}", who(keepalived)));
    let vip = lab.addr(100).to_string();
    let extra = format!("{}    unicast_ttl 10\n", unicast(None, lab.hosts[1].ip));
    let cap = Capture::start(&lab, 1, &dir, "cap");
    start_master(
        &lab,
        &dir,
        "t",
        &Inst::vi1(150, &vip, &extra).text("T", "", ""),
        keepalived,
        &vip,
    );
    std::thread::sleep(Duration::from_millis(1500));
    let h0 = lab.hosts[0].ip.to_string();
    let mut ttls: Vec<u8> = cap
        .stop(&lab)
        .into_iter()
        .filter(|a| a.src == h0)
        .map(|a| a.ttl)
        .collect();
    ttls.dedup();
    ttls
}

#[test]
fn unicast_ttl_is_the_ttl_on_the_wire_as_with_keepalived() {
    assert_root();
    let (k, r) = side_by_side(unicast_ttl_sent);
    assert_eq!(k, [10], "keepalived");
    assert_eq!(r, [10], "vrrpd-real");
}

/// Item 11, receiving: the Master (host 0, keepalived) sends with `unicast_ttl 10`; the node
/// under test (host 1) accepts its peer only with TTL 250..255 (`min_ttl` / `max_ttl`, which
/// turn the source check on): it discards every advert and takes the VIP too. Returns
/// whether it did, and its log.
fn peer_ttl_range(keepalived: bool) -> (bool, String) {
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir(&format!("kpa-ttlrange-{}", who(keepalived)));
    let vip = lab.addr(100).to_string();
    let (h0, h1) = (lab.hosts[0].ip, lab.hosts[1].ip);
    let master = format!("{}    unicast_ttl 10\n", unicast(Some(h0), h1));
    start_master(
        &lab,
        &dir,
        "peer",
        &Inst::vi1(150, &vip, &master).text("P", "", ""),
        true,
        &vip,
    );
    let ranged = format!("    unicast_peer {{\n        {h0} min_ttl 250 max_ttl 255\n    }}\n");
    start(
        &lab,
        1,
        &dir,
        "t",
        &Inst::vi1(100, &vip, &ranged).text("T", "", ""),
        keepalived,
    );
    let took = ever_holds(&lab, 1, &vip, Duration::from_millis(5500));
    (took, log(&dir, "t"))
}

#[test]
fn a_peer_ttl_outside_min_max_ttl_is_discarded_as_with_keepalived() {
    assert_root();
    let ((k, k_log), (r, r_log)) = side_by_side(peer_ttl_range);
    assert!(k, "keepalived kept obeying the Master:\n{k_log}");
    assert!(
        k_log.contains("TTL/HL 10 not in range 250 - 255"),
        "{k_log}"
    );
    assert!(r, "vrrpd-real kept obeying the Master:\n{r_log}");
    assert!(r_log.contains("invalid TTL/HL"), "{r_log}");
}

/// Item 11 over IPv6: the node under test (host 0, Master alone) unicasting from fd00::1 to
/// fd00::2 with `unicast_ttl 10`; returns the hop limits of its adverts seen on host 1.
fn unicast_hop_limit_sent(keepalived: bool) -> Vec<u8> {
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir(&format!("kpa-hlim-{}", who(keepalived)));
    for (i, a) in ["fd00::1/64", "fd00::2/64"].into_iter().enumerate() {
        ns_ip(
            &lab.hosts[i].ns,
            &["addr", "add", a, "dev", "eth0", "nodad"],
        );
    }
    let vip = "fd77::100";
    let extra = "    unicast_src_ip fd00::1\n    unicast_peer {\n        fd00::2\n    }\n    unicast_ttl 10\n";
    let mut inst = Inst::vi1(150, vip, extra);
    inst.version = 3;
    let cap = Capture::start(&lab, 1, &dir, "cap");
    start_master(&lab, &dir, "t", &inst.text("T", "", ""), keepalived, vip);
    std::thread::sleep(Duration::from_millis(1500));
    let file = cap.file.clone();
    cap.stop(&lab);
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args([
            "-Y",
            "vrrp && ipv6.src == fd00::1",
            "-T",
            "fields",
            "-e",
            "ipv6.hlim",
        ])
        .output()
        .expect("tshark");
    let mut hl: Vec<u8> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    hl.dedup();
    hl
}

#[test]
fn unicast_ttl_is_the_ipv6_hop_limit_as_with_keepalived() {
    assert_root();
    let (k, r) = side_by_side(unicast_hop_limit_sent);
    assert_eq!(k, [10], "keepalived");
    assert_eq!(r, [10], "vrrpd-real");
}

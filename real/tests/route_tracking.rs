//! Tracked `virtual_routes` / `virtual_rules` on a namespace LAN of two nodes (A 150, B 100):
//! a route with a `dev` (or a rule) of the Master deleted by hand (`ip route del`, `ip rule
//! del`) makes it send priority 0 and go BACKUP with Master_Down_Timer = Skew_Time; its
//! Skew_Time (0.414 s) is shorter than B's (0.609 s), so A is Master again at once and
//! installs the route again, and B never takes over (keepalived 2.2.7
//! `netlink_route_filter`, `netlink_rule_filter`, `set_vrrp_backup`). A `no_track` route
//! deleted changes nothing. The same scenario runs first with keepalived 2.2.7, then with
//! vrrpd-real.

mod support;

use std::path::Path;
use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

/// A tracked route, a `no_track` one, and a rule from the VIP.
fn block(vip: &str) -> String {
    format!(
        "    virtual_routes {{\n        203.0.113.0/24 dev eth0 table 100\n        \
         198.51.100.0/24 dev eth0 no_track\n    }}\n    virtual_rules {{\n        \
         from {vip} table 100 preference 100\n    }}\n"
    )
}

fn out(ns: &str, args: &[&str]) -> String {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    vrrp_lab::sh("ip", &all)
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Whether host `i` has the tracked route, the `no_track` one and the rule.
fn held(lab: &Lab, i: usize, vip: &str) -> [bool; 3] {
    let ns = &lab.hosts[i].ns;
    let t100 = out(ns, &["route", "show", "table", "100"]);
    let main = out(ns, &["route", "show"]);
    let rules = out(ns, &["-4", "rule", "show"]);
    [
        t100.contains("203.0.113.0/24 dev eth0"),
        main.contains("198.51.100.0/24 dev eth0"),
        rules
            .lines()
            .any(|l| l.starts_with("100:") && l.contains(&format!("from {vip} lookup 100"))),
    ]
}

/// How many times the log says the instance entered `state` (keepalived's words or ours).
fn entered(dir: &Path, tag: &str, state: &str) -> usize {
    log(dir, tag)
        .lines()
        .filter(|l| {
            l.contains(&format!("Entering {state} STATE")) || l.contains(&format!("-> {state} ("))
        })
        .count()
}

/// Polls that A's Master count stays `n` and B never becomes Master for `d` (what "nothing
/// happens" means here), failing at once otherwise.
fn nothing_happens(dir: &Path, masters: usize, d: Duration) -> bool {
    !wait_until(d, || {
        entered(dir, "a", "MASTER") != masters || entered(dir, "b", "MASTER") != 0
    })
}

fn scenario(what: &str, start: fn(&Lab, usize, &Path, &str, &str) -> u32) {
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir(&format!("route-tracking-{what}"));
    let vip = lab.addr(100).to_string();
    let b = block(&vip);
    let _a = start(
        &lab,
        0,
        &dir,
        "a",
        &Inst::vi1(150, &vip, &b).text("A", "", ""),
    );
    let _b = start(
        &lab,
        1,
        &dir,
        "b",
        &Inst::vi1(100, &vip, &b).text("B", "", ""),
    );
    assert!(
        wait_until(Duration::from_secs(10), || held(&lab, 0, &vip) == [true; 3]),
        "{what}: A never held its routes and rule: {:?}\n{}",
        held(&lab, 0, &vip),
        log(&dir, "a")
    );
    assert_eq!(
        entered(&dir, "a", "MASTER"),
        1,
        "{what}:\n{}",
        log(&dir, "a")
    );
    let ns = lab.hosts[0].ns.clone();

    // The `no_track` route deleted: nothing happens.
    ns_ip(&ns, &["route", "del", "198.51.100.0/24", "dev", "eth0"]);
    assert!(
        nothing_happens(&dir, 1, Duration::from_secs(2)),
        "{what}: deleting a no_track route moved something:\n{}\n{}",
        log(&dir, "a"),
        log(&dir, "b")
    );
    assert!(lab.has_addr(0, &vip), "{what}: A lost the VIP");

    // The tracked route deleted: A goes BACKUP and is Master again (Skew_Time), the route
    // is back, B never Master.
    let backups = entered(&dir, "a", "BACKUP");
    ns_ip(
        &ns,
        &[
            "route",
            "del",
            "203.0.113.0/24",
            "dev",
            "eth0",
            "table",
            "100",
        ],
    );
    assert!(
        wait_until(Duration::from_secs(5), || entered(&dir, "a", "MASTER") == 2),
        "{what}: A did not leave and come back after its tracked route was deleted:\n{}",
        log(&dir, "a")
    );
    assert!(
        entered(&dir, "a", "BACKUP") > backups,
        "{what}:\n{}",
        log(&dir, "a")
    );
    assert!(
        wait_until(Duration::from_secs(5), || held(&lab, 0, &vip)[0]),
        "{what}: the tracked route was not installed again:\n{}",
        log(&dir, "a")
    );
    assert_eq!(
        entered(&dir, "b", "MASTER"),
        0,
        "{what}:\n{}",
        log(&dir, "b")
    );

    // The rule deleted: the same.
    ns_ip(&ns, &["rule", "del", "pref", "100"]);
    assert!(
        wait_until(Duration::from_secs(5), || entered(&dir, "a", "MASTER") == 3),
        "{what}: A did not leave and come back after its rule was deleted:\n{}",
        log(&dir, "a")
    );
    assert!(
        wait_until(Duration::from_secs(5), || held(&lab, 0, &vip)[2]),
        "{what}: the rule was not installed again:\n{}",
        log(&dir, "a")
    );
    assert_eq!(
        entered(&dir, "b", "MASTER"),
        0,
        "{what}:\n{}",
        log(&dir, "b")
    );
    eprintln!(
        "{what}: A entered BACKUP {} times, MASTER {} times",
        entered(&dir, "a", "BACKUP"),
        entered(&dir, "a", "MASTER")
    );
}

#[test]
fn a_deleted_tracked_route_or_rule_makes_the_master_hand_over_and_come_back() {
    assert_root();
    scenario("keepalived", start_keepalived);
    scenario("vrrpd-real", start_daemon);
}

//! `virtual_routes` and `virtual_rules` on a namespace LAN of two nodes: a gateway route, a
//! blackhole route, a route in table 100 and a rule `from VIP table 100` are on the Master
//! only, and move to the other node when the Master stops (SIGTERM removes them). The same
//! configurations run first with keepalived 2.2.7 on both nodes (the expectation), then with
//! vrrpd-real; keepalived tags its routes and rules `proto keepalived` (18), vrrpd-real
//! `proto 118` (0x76). Then a crash: vrrpd-real killed with SIGKILL leaves its routes and
//! rules; started again with a file without them, it sweeps them at start-up and leaves
//! keepalived's (proto 18) alone.

mod support;

use std::path::Path;
use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

/// The instance's `virtual_routes` and `virtual_rules` for a LAN whose VIP is `vip` and
/// whose gateway (no host needs to answer) is `gw`.
fn routes_block(vip: &str, gw: &str) -> String {
    format!(
        "    virtual_routes {{\n        192.0.2.0/24 via {gw}\n        blackhole 198.51.100.0/24\n        \
         203.0.113.0/24 dev eth0 table 100\n    }}\n    virtual_rules {{\n        \
         from {vip} table 100 preference 100\n    }}\n"
    )
}

/// Routes (every table) and IPv4 rules of host `i`, as `ip` prints them.
fn routing(lab: &Lab, i: usize) -> String {
    let ns = &lab.hosts[i].ns;
    let out = |args: &[&str]| {
        vrrp_lab::sh("ip", args)
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    out(&["-n", ns, "route", "show", "table", "all"]) + &out(&["-n", ns, "-4", "rule", "show"])
}

/// Which of the three routes and the rule host `i` has, tagged with protocol `proto`.
fn held(lab: &Lab, i: usize, vip: &str, gw: &str, proto: &str) -> [bool; 4] {
    let r = routing(lab, i);
    let has = |line: &str| r.lines().any(|l| l.contains(line) && l.contains(proto));
    [
        has(&format!("192.0.2.0/24 via {gw} dev eth0")),
        has("blackhole 198.51.100.0/24"),
        has("203.0.113.0/24 dev eth0 table 100"),
        r.lines().any(|l| {
            l.starts_with("100:")
                && l.contains(&format!("from {vip} lookup 100"))
                && l.contains(proto)
        }),
    ]
}

const ALL: [bool; 4] = [true; 4];
const NONE: [bool; 4] = [false; 4];

/// Runs the failover scenario with `start` (keepalived or vrrpd-real) on both nodes.
fn routes_follow_the_master(
    what: &str,
    proto: &str,
    start: fn(&Lab, usize, &Path, &str, &str) -> u32,
) {
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir(&format!("virtual-routes-{what}"));
    let vip = lab.addr(100).to_string();
    let gw = lab.addr(254).to_string();
    let block = routes_block(&vip, &gw);
    let a = start(
        &lab,
        0,
        &dir,
        "a",
        &Inst::vi1(150, &vip, &block).text("A", "", ""),
    );
    let _b = start(
        &lab,
        1,
        &dir,
        "b",
        &Inst::vi1(100, &vip, &block).text("B", "", ""),
    );
    assert!(
        wait_until(Duration::from_secs(10), || held(&lab, 0, &vip, &gw, proto)
            == ALL),
        "{what}: A (Master) never held its routes and rule: {:?}\n{}\n{}",
        held(&lab, 0, &vip, &gw, proto),
        routing(&lab, 0),
        log(&dir, "a")
    );
    assert!(lab.has_addr(0, &vip), "{what}: A holds no VIP");
    assert_eq!(
        held(&lab, 1, &vip, &gw, proto),
        NONE,
        "{what}: B (Backup) holds a route or rule:\n{}",
        routing(&lab, 1)
    );
    // The Master stops: its routes and rule go with it, B takes them over.
    lab.signal(a, libc::SIGTERM);
    assert!(
        wait_until(Duration::from_secs(10), || held(&lab, 1, &vip, &gw, proto)
            == ALL),
        "{what}: B never took the routes and rule over: {:?}\n{}\n{}",
        held(&lab, 1, &vip, &gw, proto),
        routing(&lab, 1),
        log(&dir, "b")
    );
    assert_eq!(
        held(&lab, 0, &vip, &gw, proto),
        NONE,
        "{what}: A kept a route or rule after SIGTERM:\n{}\n{}",
        routing(&lab, 0),
        log(&dir, "a")
    );
}

#[test]
fn routes_and_rules_are_on_the_master_only_and_move_on_failover() {
    assert_root();
    side_by_side(|keepalived| {
        if keepalived {
            routes_follow_the_master("keepalived", "proto keepalived", start_keepalived)
        } else {
            routes_follow_the_master("vrrpd-real", "proto 118", start_daemon)
        }
    });
}

#[test]
fn a_restart_after_a_crash_sweeps_our_routes_and_rules_only() {
    assert_root();
    let lab = Lab::new(1).expect("lab");
    let dir = tmpdir("virtual-routes-crash");
    let vip = lab.addr(100).to_string();
    let gw = lab.addr(254).to_string();
    let ns = lab.hosts[0].ns.clone();
    // keepalived's own (proto 18) must survive our sweep.
    ns_ip(
        &ns,
        &[
            "route",
            "add",
            "192.0.2.128/25",
            "dev",
            "eth0",
            "proto",
            "keepalived",
        ],
    );
    ns_ip(
        &ns,
        &[
            "rule",
            "add",
            "from",
            "192.0.2.1",
            "table",
            "101",
            "pref",
            "101",
            "proto",
            "keepalived",
        ],
    );
    let a = start_daemon(
        &lab,
        0,
        &dir,
        "a",
        &Inst::vi1(150, &vip, &routes_block(&vip, &gw)).text("A", "", ""),
    );
    assert!(
        wait_until(Duration::from_secs(10), || held(
            &lab,
            0,
            &vip,
            &gw,
            "proto 118"
        ) == ALL),
        "never held its routes and rule:\n{}\n{}",
        routing(&lab, 0),
        log(&dir, "a")
    );
    lab.signal(a, libc::SIGKILL);
    assert_eq!(
        held(&lab, 0, &vip, &gw, "proto 118"),
        ALL,
        "SIGKILL leaves them behind"
    );
    // Restarted with a file that has none: they are swept at start-up, before it is Master.
    let _a2 = start_daemon(
        &lab,
        0,
        &dir,
        "a2",
        &Inst::vi1(150, &vip, "").text("A", "", ""),
    );
    assert!(
        wait_until(Duration::from_secs(10), || held(
            &lab,
            0,
            &vip,
            &gw,
            "proto 118"
        ) == NONE),
        "the restart did not sweep them: {:?}\n{}\n{}",
        held(&lab, 0, &vip, &gw, "proto 118"),
        routing(&lab, 0),
        log(&dir, "a2")
    );
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "never Master after the restart:\n{}",
        log(&dir, "a2")
    );
    let r = routing(&lab, 0);
    assert!(
        r.contains("192.0.2.128/25 dev eth0 proto keepalived"),
        "keepalived's route was swept:\n{r}"
    );
    assert!(
        r.lines()
            .any(|l| l.starts_with("101:") && l.contains("proto keepalived")),
        "keepalived's rule was swept:\n{r}"
    );
    assert!(
        log(&dir, "a2").contains("removed 3 route(s) and 1 rule(s) left by a previous run"),
        "{}",
        log(&dir, "a2")
    );
}

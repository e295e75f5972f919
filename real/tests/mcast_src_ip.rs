//! `mcast_src_ip` on a namespace LAN: a Master's multicast adverts leave from the configured
//! address (here a secondary address of eth0), not the interface's primary one. keepalived
//! 2.2.7 runs the same configuration first (the expectation), then vrrpd-real.

mod support;

use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

/// Runs `start` on host 0 with `extra` in the instance; returns the sources of its adverts
/// seen on host 1.
fn advert_sources(
    lab: &Lab,
    dir: &std::path::Path,
    tag: &str,
    extra: &str,
    start: Start,
) -> Vec<String> {
    let vip = lab.addr(100).to_string();
    let cap = Capture::start(lab, 1, dir, &format!("{tag}-cap"));
    let pid = start(
        lab,
        0,
        dir,
        tag,
        &Inst::vi1(150, &vip, extra).text("A", "", ""),
    );
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "{tag}: never became Master:\n{}",
        log(dir, tag)
    );
    std::thread::sleep(Duration::from_millis(2500));
    let adverts = cap.stop(lab);
    lab.signal(pid, libc::SIGKILL);
    if let Ok(p) = std::fs::read_to_string(dir.join(format!("{tag}.vrrp.pid"))) {
        if let Ok(p) = p.trim().parse::<i32>() {
            // SAFETY: kill(2) on keepalived's VRRP child inside our namespace.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
    // A killed daemon leaves its VIP behind: remove it before the next run.
    let _ = vrrp_lab::ip(&[
        "-n",
        &lab.hosts[0].ns,
        "addr",
        "del",
        &format!("{vip}/32"),
        "dev",
        "eth0",
    ]);
    let mut srcs: Vec<String> = adverts.into_iter().map(|a| a.src).collect();
    srcs.dedup();
    srcs
}

/// One run on a LAN of its own, host 0 with a secondary address: (the sources of the
/// Master's adverts, the secondary, the primary).
fn run(tag: &str, with_option: bool, start: Start) -> (Vec<String>, String, String) {
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir(&format!("mcast-src-ip-{tag}"));
    let secondary = lab.addr(50).to_string();
    ns_ip(
        &lab.hosts[0].ns,
        &["addr", "add", &format!("{secondary}/24"), "dev", "eth0"],
    );
    let extra = if with_option {
        format!("    mcast_src_ip {secondary}\n")
    } else {
        String::new()
    };
    let srcs = advert_sources(&lab, &dir, tag, &extra, start);
    (srcs, secondary, lab.hosts[0].ip.to_string())
}

type Start = fn(&Lab, usize, &std::path::Path, &str, &str) -> u32;

#[test]
fn adverts_leave_from_mcast_src_ip_as_with_keepalived() {
    assert_root();
    // keepalived and vrrpd-real with the option, and vrrpd-real without it, at once.
    let (k, r, p) = std::thread::scope(|s| {
        let k = s.spawn(|| run("k", true, start_keepalived));
        let r = s.spawn(|| run("r", true, start_daemon));
        let p = s.spawn(|| run("p", false, start_daemon));
        let join = |h: std::thread::ScopedJoinHandle<'_, _>| h.join().expect("run failed");
        (join(k), join(r), join(p))
    });
    assert_eq!(k.0, std::slice::from_ref(&k.1), "keepalived");
    assert_eq!(r.0, std::slice::from_ref(&r.1), "vrrpd-real");
    // Without it, the primary address.
    assert_eq!(
        p.0,
        std::slice::from_ref(&p.2),
        "vrrpd-real without mcast_src_ip"
    );
}

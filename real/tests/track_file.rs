//! `vrrp_track_file` on a namespace LAN: `init_file` creates the file, a value written to it
//! moves the effective priority (weight x value) and so the VIP, at once (inotify), and a
//! removed file counts as 0, as keepalived 2.2.7 does.

mod support;

use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

fn conf(router: &str, priority: u8, vip: &str, tracked: Option<&std::path::Path>) -> String {
    let (block, extra) = match tracked {
        Some(p) => (
            format!(
                "vrrp_track_file tf {{\n    file \"{}\"\n    weight -60\n    init_file 0\n}}\n",
                p.display()
            ),
            "    track_file {\n        tf\n    }\n",
        ),
        None => (String::new(), ""),
    };
    Inst::vi1(priority, vip, extra).text(router, "", &block)
}

#[test]
fn a_tracked_file_moves_the_priority_and_the_vip() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("track-file");
    let file = dir.join("weight");
    let vip = lab.addr(100).to_string();
    let a = start_daemon(&lab, 0, &dir, "a", &conf("A", 150, &vip, Some(&file)));
    let _b = start_daemon(&lab, 1, &dir, "b", &conf("B", 100, &vip, None));
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "A never became Master:\n{}",
        log(&dir, "a")
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().trim(),
        "0",
        "init_file did not create the file"
    );
    // 1 x -60: A's priority falls to 90, below B's 100; B preempts once its
    // Master_Down_Timer runs out (3 s + Skew_Time).
    std::fs::write(&file, "1\n").unwrap();
    assert!(
        wait_until(Duration::from_secs(2), || status(&lab, a, &dir, "a")
            ["instances"][0]["effective_priority"]
            == 90),
        "the file's value did not reach the engine:\n{}",
        log(&dir, "a")
    );
    assert!(
        wait_until(Duration::from_secs(6), || lab.has_addr(1, &vip)),
        "B did not take over:\n{}",
        log(&dir, "b")
    );
    // Removing the file counts as 0: A is back at 150 and takes the VIP back.
    std::fs::remove_file(&file).unwrap();
    assert!(
        wait_until(Duration::from_secs(6), || lab.has_addr(0, &vip)),
        "A did not take the VIP back after the file was removed:\n{}",
        log(&dir, "a")
    );
    assert_eq!(
        status(&lab, a, &dir, "a")["instances"][0]["effective_priority"],
        150
    );
}

/// keepalived 2.2.7 and vrrpd-real alike: a Master tracking a file with weight -60 advertises
/// priority 150, then 90 once the file says 1, then 150 again once the file is removed.
#[test]
fn track_file_priorities_match_keepalived() {
    assert_root();
    side_by_side(|keepalived| {
        let tag = if keepalived { "k" } else { "r" };
        let lab = Lab::new(2).expect("lab");
        let dir = tmpdir(&format!("track-file-{tag}"));
        let file = dir.join("weight");
        let vip = lab.addr(100).to_string();
        let text = conf("A", 150, &vip, Some(&file));
        start_master(&lab, &dir, tag, &text, keepalived, &vip);
        let cap = Capture::start(&lab, 1, &dir, tag);
        std::thread::sleep(Duration::from_millis(1500));
        std::fs::write(&file, "1\n").unwrap();
        std::thread::sleep(Duration::from_millis(2500));
        std::fs::remove_file(&file).unwrap();
        std::thread::sleep(Duration::from_millis(2500));
        let prios: Vec<u8> = cap.stop(&lab).iter().map(|a| a.prio).collect();
        let mut runs: Vec<u8> = prios.clone();
        runs.dedup();
        assert_eq!(
            runs,
            vec![150, 90, 150],
            "{tag}: adverts {prios:?}\n{}",
            log(&dir, tag)
        );
    });
}

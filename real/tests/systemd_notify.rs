//! systemd's notification protocol (`Type=notify-reload`), with a datagram socket of the
//! test standing in for systemd: `READY=1` only once the start-up sweep is done and the
//! protocol runs, `STATUS=` summaries, `RELOADING=1` with `MONOTONIC_USEC` then `READY=1`
//! around SIGHUP, `STOPPING=1` on SIGTERM, and `WATCHDOG=1` at half of `WATCHDOG_USEC`.

mod support;

use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;
use vrrp_lab::Lab;

/// VI_1 priority 255 with no `state` (MASTER for the owner: Master at once, VIP .100),
/// VI_2 Backup (VIP .101), 1 s adverts.
fn conf(lab: &Lab, with_vi2: bool) -> String {
    let inst = |name: &str, vrid: u8, prio: u8, vip: String| {
        let state = if prio == 255 {
            ""
        } else {
            "    state BACKUP\n"
        };
        format!(
            "vrrp_instance {name} {{\n{state}    interface eth0\n    \
             virtual_router_id {vrid}\n    priority {prio}\n    advert_int 1\n    \
             virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
        )
    };
    let mut c = "global_defs {\n    router_id sd\n}\n".to_string();
    c += &inst("VI_1", 51, 255, lab.addr(100).to_string());
    if with_vi2 {
        c += &inst("VI_2", 52, 100, lab.addr(101).to_string());
    }
    c
}

/// Every datagram received so far, with its arrival time.
type Heard = Arc<Mutex<Vec<(Instant, String)>>>;

fn listen(sock: UnixDatagram) -> Heard {
    let heard: Heard = Arc::default();
    let h = heard.clone();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match sock.recv(&mut buf) {
                Ok(n) => h.lock().unwrap().push((
                    Instant::now(),
                    String::from_utf8_lossy(&buf[..n]).into_owned(),
                )),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return,
            }
        }
    });
    heard
}

/// The messages heard, watchdog pings left out.
fn messages(heard: &Heard) -> Vec<String> {
    heard
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| m.clone())
        .filter(|m| m != "WATCHDOG=1")
        .collect()
}

fn count(heard: &Heard, msg: &str) -> usize {
    heard
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, m)| m == msg)
        .count()
}

#[test]
fn notify_protocol_ready_status_reload_stop_watchdog() {
    assert_root();
    let lab = Lab::new(1).expect("lab");
    let dir = tmpdir("systemd_notify");
    let ns = lab.hosts[0].ns.clone();
    let (vip1, vip2) = (lab.addr(100).to_string(), lab.addr(101).to_string());
    // A stale VIP of the Backup instance: the start-up sweep removes it before READY.
    ns_ip(&ns, &["addr", "add", &format!("{vip2}/24"), "dev", "eth0"]);
    let sock_path = dir.join("notify");
    let heard = listen(UnixDatagram::bind(&sock_path).expect("bind notify socket"));
    let conf_path = dir.join("d.conf");
    std::fs::write(&conf_path, conf(&lab, true)).unwrap();
    let log = std::fs::File::create(dir.join("d.log")).unwrap();
    let mut cmd = lab.command(0, BIN);
    cmd.arg("-f")
        .arg(&conf_path)
        .args(["-n", "-l", "-D"])
        .env("NOTIFY_SOCKET", &sock_path)
        // A ping every 100 ms.
        .env("WATCHDOG_USEC", "200000")
        .stdout(Stdio::null())
        .stderr(log);
    let pid = lab.spawn(cmd).expect("spawn");

    // READY: by then the stale VIP is gone and the Master's VIP is up.
    assert!(
        wait_until(Duration::from_secs(15), || count(&heard, "READY=1") == 1),
        "no READY=1: {:?}\n{}",
        messages(&heard),
        log_of(&dir)
    );
    let ready_at = Instant::now();
    assert!(!lab.has_addr(0, &vip2), "READY before the sweep");
    assert!(lab.has_addr(0, &vip1), "READY before the protocol started");
    assert_eq!(
        messages(&heard),
        ["STATUS=2 instances: VI_1 MASTER, VI_2 BACKUP", "READY=1"]
    );

    // Watchdog pings at half of WATCHDOG_USEC: about 10 a second.
    let before = count(&heard, "WATCHDOG=1");
    std::thread::sleep(Duration::from_secs(2));
    let pings = count(&heard, "WATCHDOG=1") - before;
    assert!((10..=30).contains(&pings), "{pings} pings in 2 s");

    // SIGHUP with VI_2 removed: RELOADING with our monotonic time, the new status, READY.
    std::fs::write(&conf_path, conf(&lab, false)).unwrap();
    let t0 = vrrp_lab::clock::monotonic();
    lab.signal(pid, libc::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(15), || count(&heard, "READY=1") == 2),
        "no READY=1 after the reload: {:?}\n{}",
        messages(&heard),
        log_of(&dir)
    );
    let t1 = vrrp_lab::clock::monotonic();
    let m = messages(&heard);
    assert_eq!(m.len(), 5, "{m:?}");
    let usec: u128 = m[2]
        .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
        .unwrap_or_else(|| panic!("{m:?}"))
        .parse()
        .unwrap();
    assert!(
        (t0.as_micros()..=t1.as_micros()).contains(&usec),
        "MONOTONIC_USEC {usec} not within [{t0:?}, {t1:?}]"
    );
    assert_eq!(m[3..], ["STATUS=1 instance: VI_1 MASTER", "READY=1"]);

    // SIGTERM: STOPPING, and nothing after it but the exit.
    let pings_before_stop = count(&heard, "WATCHDOG=1");
    assert_eq!(lab.signal(pid, libc::SIGTERM), Some(0), "{}", log_of(&dir));
    let m = messages(&heard);
    assert_eq!(m[5..], ["STOPPING=1\nSTATUS=stopping"], "{m:?}");
    // Over the whole run, about one ping per 100 ms (counts, not timing).
    let ran = ready_at.elapsed().as_secs_f64();
    let total = count(&heard, "WATCHDOG=1");
    assert!(total >= pings_before_stop);
    assert!(
        total as f64 >= ran * 5.0 && total as f64 <= ran * 15.0 + 2.0,
        "{total} pings in {ran:.1} s"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_notify_socket_the_daemon_runs_as_before() {
    assert_root();
    let lab = Lab::new(1).expect("lab");
    let dir = tmpdir("systemd_notify_none");
    let pid = start_daemon(&lab, 0, &dir, "d", &conf(&lab, false));
    let vip = lab.addr(100).to_string();
    assert!(
        wait_until(Duration::from_secs(15), || lab.has_addr(0, &vip)),
        "{}",
        log(&dir, "d")
    );
    assert_eq!(lab.signal(pid, libc::SIGTERM), Some(0));
    assert!(!log(&dir, "d").contains("systemd notification"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn log_of(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("d.log")).unwrap_or_default()
}

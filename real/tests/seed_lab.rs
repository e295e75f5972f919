//! The seed lab (the tutorial's section 3) with network namespaces in place of containers:
//! the tutorial's two keepalived.conf files, unchanged but for the check script's path,
//! nginx serving "Master Server" and "Backup Server" on 172.20.0.11 and .12, and a client
//! fetching http://172.20.0.100/.
//!
//! `pkill keepalived` (SIGTERM) on the Master: the client gets "Backup Server" within a
//! second (Skew_Time of priority 90 is 0.648 s); restarting the Master's daemon: "Master
//! Server" again (preempt). A crash (SIGKILL) moves the client too, after
//! Master_Down_Interval.

mod support;

use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;
use vrrp_lab::{HostSpec, Lab};

const VIP: &str = "172.20.0.100";

fn start_nginx(lab: &Lab, i: usize, dir: &std::path::Path, body: &str) {
    let d = dir.join(format!("nginx{i}"));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {p}/cb;\n  proxy_temp_path {p}/px;\n  \
         fastcgi_temp_path {p}/fc;\n  uwsgi_temp_path {p}/uw;\n  scgi_temp_path {p}/sc;\n  \
         server {{ listen 80; location / {{ default_type text/html; return 200 \"<h1>{body}</h1>\\n\"; }} }}\n}}\n"
    );
    let path = d.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let mut cmd = lab.command(i, "nginx");
    cmd.arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    lab.spawn(cmd).expect("nginx");
}

fn curl(lab: &Lab) -> String {
    lab.command(2, "curl")
        .args(["-s", "--max-time", "0.25", &format!("http://{VIP}/")])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The tutorial's config for `role`, with its check script at `script`.
fn seed_config(role: &str, script: &std::path::Path) -> String {
    let path = format!(
        "{}/../engine/tests/fixtures/keepalived/seed_3_2_{role}.conf",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("seed config fixture");
    assert!(
        text.contains("/etc/keepalived/check_nginx.sh"),
        "{path} changed"
    );
    text.replace(
        "/etc/keepalived/check_nginx.sh",
        &script.display().to_string(),
    )
}

fn host(ip: [u8; 4]) -> HostSpec {
    HostSpec {
        ip: Ipv4Addr::from(ip),
        prefix_len: 24,
        ipv6_link_local: None,
        ifname: Some("eth0".into()),
    }
}

/// Seconds until the client sees `page`, polling; `None` after `timeout`.
fn time_to(lab: &Lab, page: &str, timeout: Duration) -> Option<f64> {
    let start = Instant::now();
    wait_until(timeout, || curl(lab) == format!("<h1>{page}</h1>"))
        .then(|| start.elapsed().as_secs_f64())
}

#[test]
fn seed_lab_stop_backup_takes_over_restart_master_takes_back() {
    assert_root();
    let lab = Lab::with_hosts(&[
        host([172, 20, 0, 11]),
        host([172, 20, 0, 12]),
        host([172, 20, 0, 13]),
    ])
    .expect("lab");
    let dir = tmpdir("seed-lab");
    // The tutorial's check_nginx.sh.
    let script = dir.join("check_nginx.sh");
    std::fs::write(
        &script,
        "#!/bin/bash\nif pgrep nginx > /dev/null; then\n    exit 0\nelse\n    exit 1\nfi\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    start_nginx(&lab, 0, &dir, "Master Server");
    start_nginx(&lab, 1, &dir, "Backup Server");
    let master_conf = seed_config("master", &script);
    let a = start_daemon(&lab, 0, &dir, "a", &master_conf);
    let _b = start_daemon(&lab, 1, &dir, "b", &seed_config("backup", &script));
    assert!(
        time_to(&lab, "Master Server", Duration::from_secs(10)).is_some(),
        "client never saw the Master:\n{}",
        log(&dir, "a")
    );

    // docker exec keepalived-master pkill keepalived
    lab.signal(a, libc::SIGTERM);
    let t = time_to(&lab, "Backup Server", Duration::from_secs(5));
    assert!(
        t.is_some_and(|t| t < 1.0),
        "client saw the Backup after {t:?} s (want < 1 s):\n{}",
        log(&dir, "b")
    );

    // docker restart keepalived-master: it comes back as Backup and preempts.
    let a2 = start_daemon(&lab, 0, &dir, "a2", &master_conf);
    assert!(
        time_to(&lab, "Master Server", Duration::from_secs(10)).is_some(),
        "client never saw the Master again:\n{}",
        log(&dir, "a2")
    );

    // A crash of the Master: the Backup takes over after Master_Down_Interval (3.65 s).
    lab.signal(a2, libc::SIGKILL);
    let t = time_to(&lab, "Backup Server", Duration::from_secs(10));
    assert!(
        t.is_some_and(|t| t > 2.0),
        "after SIGKILL the client saw the Backup after {t:?} s:\n{}",
        log(&dir, "b")
    );
}

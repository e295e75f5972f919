//! The seed lab with namespaces: nginx + vrrpd-real on two hosts serving "Master Server" and
//! "Backup Server", a client fetching http://VIP/; the Master's daemon is killed and the
//! client sees the Backup's page (gratuitous ARP moves the client's ARP entry).

mod support;

use std::process::Stdio;
use std::time::Duration;
use support::*;
use vrrp_real::lab::Lab;

fn start_nginx(lab: &Lab, i: usize, dir: &std::path::Path, body: &str) {
    let d = dir.join(format!("nginx{i}"));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {p}/cb;\n  proxy_temp_path {p}/px;\n  \
         fastcgi_temp_path {p}/fc;\n  uwsgi_temp_path {p}/uw;\n  scgi_temp_path {p}/sc;\n  \
         server {{ listen 80; location / {{ default_type text/plain; return 200 \"{body}\\n\"; }} }}\n}}\n"
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

fn curl(lab: &Lab, i: usize, vip: &str) -> String {
    lab.command(i, "curl")
        .args(["-s", "--max-time", "1", &format!("http://{vip}/")])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[test]
fn seed_lab_client_follows_the_vip() {
    if !can_run() {
        return;
    }
    let lab = Lab::new(3).expect("lab");
    let dir = tmpdir("seed-lab");
    let vip = lab.addr(100).to_string();
    let inst = |prio| Inst {
        name: "VI_1",
        vrid: 51,
        priority: prio,
        version: 2,
        advert: "1",
        auth: Some("secret1"),
        vip: vip.clone(),
        extra: "",
    };
    start_nginx(&lab, 0, &dir, "Master Server");
    start_nginx(&lab, 1, &dir, "Backup Server");
    let a = start_daemon(&lab, 0, &dir, "a", &inst(100).text("A", "", ""));
    let _b = start_daemon(&lab, 1, &dir, "b", &inst(90).text("B", "", ""));
    assert!(
        wait_until(Duration::from_secs(10), || curl(&lab, 2, &vip)
            == "Master Server"),
        "client never saw the Master:\n{}",
        log(&dir, "a")
    );
    lab.signal(a, libc::SIGKILL);
    assert!(
        wait_until(Duration::from_secs(10), || curl(&lab, 2, &vip)
            == "Backup Server"),
        "client never saw the Backup:\n{}",
        log(&dir, "b")
    );
}

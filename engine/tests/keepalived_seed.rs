//! The tutorial's configs (seed sections 2.x and 3.2) and the captured keepalived 2.2.7
//! config load with the values they state.

use core::net::IpAddr;
use core::time::Duration;
use std::path::Path;
use vrrp_engine::config::{AuthConfig, InitialState};
use vrrp_engine::keepalived::{self, FsLoader, Options, Severity};
use vrrp_engine::Version;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn load_ok(name: &str) -> keepalived::Loaded {
    let path = fixture(name);
    match keepalived::load(Path::new(&path), &FsLoader, &Options::default()) {
        Ok(l) => l,
        Err(f) => panic!("{name} failed:\n{f}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// Messages of the findings, with `line:col`.
fn msgs(findings: &[keepalived::Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| format!("{}:{}: {}: {}", f.line, f.col, f.severity, f.message))
        .collect()
}

#[test]
fn seed_3_2_master() {
    let l = load_ok("keepalived/seed_3_2_master.conf");
    assert!(l.findings.is_empty(), "{:?}", msgs(&l.findings));
    let c = &l.config;
    assert_eq!(c.scripts.len(), 1);
    let s = &c.scripts[0];
    assert_eq!(s.name, "chk_nginx");
    assert_eq!(s.script, "/etc/keepalived/check_nginx.sh");
    assert_eq!(s.interval, Duration::from_secs(2));
    assert_eq!(s.weight, -5);
    assert_eq!((s.fall, s.rise), (2, 1));
    let i = &c.instances[0];
    assert_eq!(i.name, "VI_1");
    assert_eq!(i.initial_state, InitialState::Master);
    assert_eq!(i.interface, "eth0");
    assert_eq!(i.vrid, 51);
    assert_eq!(i.priority, 100);
    assert_eq!(i.advert_interval, Duration::from_secs(1));
    assert_eq!(i.version, Version::V2);
    assert_eq!(i.auth, Some(AuthConfig::Pass("123456".into())));
    assert_eq!(i.vips.len(), 1);
    assert_eq!(i.vips[0].addr, ip("172.20.0.100"));
    assert_eq!(i.vips[0].prefix_len, 24);
    assert_eq!(i.vips[0].dev.as_deref(), Some("eth0"));
    assert_eq!(i.vips[0].label.as_deref(), Some("eth0:1"));
    assert_eq!(i.track_scripts.len(), 1);
    assert_eq!(i.track_scripts[0].name, "chk_nginx");
    assert!(i.preempt);
}

#[test]
fn seed_3_2_backup() {
    let l = load_ok("keepalived/seed_3_2_backup.conf");
    assert!(l.findings.is_empty(), "{:?}", msgs(&l.findings));
    let i = &l.config.instances[0];
    assert_eq!(i.initial_state, InitialState::Backup);
    assert_eq!(i.priority, 90);
    assert_eq!(i.vrid, 51);
    assert_eq!(i.vips[0].addr, ip("172.20.0.100"));
}

#[test]
fn seed_2_5_full_example() {
    let l = load_ok("keepalived/seed_2_5_full_example.conf");
    assert_eq!(
        msgs(&l.findings),
        ["29:5: warning: `nopreempt` is ignored with `state MASTER` (keepalived keeps preempting); use `state BACKUP`"]
    );
    let c = &l.config;
    assert_eq!(c.global.router_id.as_deref(), Some("nginx-ha"));
    let i = &c.instances[0];
    assert_eq!(i.name, "VI_NGINX");
    assert_eq!(i.vrid, 60);
    assert_eq!(i.auth, Some(AuthConfig::Pass("nginx123".into())));
    assert_eq!(i.vips[0].addr, ip("192.168.1.100"));
    assert_eq!(i.vips[0].prefix_len, 24);
    // keepalived ignores nopreempt with state MASTER: preempt stays on.
    assert!(i.preempt);
}

#[test]
fn seed_2_1_global_defs() {
    let l = load_ok("keepalived/seed_2_1_global_defs.conf");
    assert!(l.findings.is_empty(), "{:?}", msgs(&l.findings));
    let g = &l.config.global;
    assert_eq!(
        g.notification_email,
        ["admin@example.com", "ops@example.com"]
    );
    assert_eq!(
        g.notification_email_from.as_deref(),
        Some("keepalived@localhost")
    );
    assert_eq!(g.smtp_server.as_deref(), Some("127.0.0.1"));
    assert_eq!(g.smtp_connect_timeout, Duration::from_secs(30));
    assert_eq!(g.router_id.as_deref(), Some("LVS_DEVEL"));
    assert!(g.skip_check_adv_addr);
    assert_eq!(g.garp_interval, Duration::ZERO);
    assert_eq!(g.gna_interval, Duration::ZERO);
    assert!(g.enable_script_security);
}

#[test]
fn seed_2_2_vrrp_script() {
    let l = load_ok("keepalived/seed_2_2_vrrp_script.conf");
    let s = &l.config.scripts[0];
    assert_eq!(s.timeout, Some(Duration::from_secs(3)));
    assert_eq!(s.user.as_deref(), Some("root"));
    assert_eq!(s.effective_timeout(), Duration::from_secs(3));
}

#[test]
fn seed_2_3_vrrp_instance_values_and_findings() {
    let path = fixture("keepalived/seed_2_3_vrrp_instance.conf");
    let a = keepalived::analyze(Path::new(&path), &FsLoader, &Options::default());
    // The snippet tracks scripts it never defines: exactly those two are errors.
    assert_eq!(
        msgs(&a.findings),
        [
            "2:18: warning: ignoring extra values after `state MASTER`: `| BACKUP`",
            "31:9: error: track_script `chk_nginx` of vrrp_instance VI_1 names no vrrp_script",
            "32:9: error: track_script `chk_disk` of vrrp_instance VI_1 names no vrrp_script",
            "41:5: warning: `nopreempt` is ignored with `state MASTER` (keepalived keeps preempting); use `state BACKUP`",
            "42:5: warning: (VI_1) Warning - preempt delay will not work with initial state MASTER - clearing",
        ]
    );
    let i = &a.config.instances[0];
    assert_eq!(i.initial_state, InitialState::Master);
    assert_eq!(i.use_vmac.as_deref(), Some(""));
    assert!(i.vmac_xmit_base);
    assert_eq!(i.vrid, 51);
    assert_eq!(i.vips.len(), 2);
    assert_eq!(i.vips[1].addr, ip("10.0.0.100"));
    assert_eq!(i.vips[1].dev, None);
    // `src ... to ... via ... dev ...` read as keepalived 2.2.7's `alloc_route` reads it.
    let routes: Vec<String> = i.virtual_routes.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        routes,
        ["10.0.0.0/8 src 192.168.1.100 via 192.168.1.1 dev eth0"]
    );
    assert_eq!(
        i.notify.master.as_deref(),
        Some("/etc/keepalived/notify.sh master")
    );
    assert_eq!(
        i.notify.backup.as_deref(),
        Some("/etc/keepalived/notify.sh backup")
    );
    assert_eq!(
        i.notify.fault.as_deref(),
        Some("/etc/keepalived/notify.sh fault")
    );
    // keepalived clears preempt_delay with `state MASTER`.
    assert_eq!(i.preempt_delay, Duration::ZERO);
    assert!(i.preempt);
}

#[test]
fn seed_2_4_virtual_server() {
    let path = fixture("keepalived/seed_2_4_virtual_server.conf");
    let a = keepalived::analyze(Path::new(&path), &FsLoader, &Options::default());
    // keepalived 2.2.7 `-t` on the same block reports the placeholder `NAT|DR|TUN` (line 4,
    // "unknown [NAT|DR|TUN] routing method", NAT used instead), `nb_get_retry` (line 17),
    // `path`, `digest`, `status_code` (25-27) as unknown and drops the HTTP_GET for having no
    // url, then sets NAT ("no forwarding method set"). A bad value is an error here, as
    // everywhere in this front end.
    assert_eq!(
        msgs(&a.findings),
        [
            "1:1: warning: virtual server has no `lb_kind`: keepalived uses NAT (\"no forwarding method set, setting default NAT\")",
            "4:13: error: `lb_kind` expects NAT, DR or TUN, got `NAT|DR|TUN` (keepalived: unknown routing method)",
            "17:13: warning: unknown keyword `nb_get_retry` in TCP_CHECK: keepalived takes this old name of `retry` only in HTTP_GET and SSL_GET; use `retry`",
            "24:9: warning: HTTP_GET has no `url { }` block with a `path`: keepalived ignores this checker (\"HTTP/SSL_GET checker has no urls specified\")",
            "25:13: warning: `path` belongs inside a `url { }` block of HTTP_GET; keepalived ignores it here",
            "26:13: warning: `digest` belongs inside a `url { }` block of HTTP_GET; keepalived ignores it here",
            "27:13: warning: `status_code` belongs inside a `url { }` block of HTTP_GET; keepalived ignores it here",
        ]
    );
    let l = a;
    let vs = &l.config.virtual_servers[0];
    assert_eq!(vs.target, ["192.168.1.100", "80"]);
    assert_eq!(
        vs.options[0],
        ("delay_loop".to_string(), vec!["6".to_string()])
    );
    assert_eq!(
        vs.options[2],
        ("lb_kind".to_string(), vec!["NAT|DR|TUN".to_string()])
    );
    assert!(vs
        .options
        .iter()
        .any(|(k, v)| k == "sorry_server" && v == &["192.168.1.200", "80"]));
    assert_eq!(vs.real_servers.len(), 2);
    let rs = &vs.real_servers[0];
    assert_eq!(rs.target, ["192.168.1.101", "80"]);
    assert_eq!(rs.checkers[0].kind, "TCP_CHECK");
    assert_eq!(rs.checkers[0].options.len(), 4);
    let http = &vs.real_servers[1].checkers[0];
    assert_eq!(http.kind, "HTTP_GET");
    assert!(http
        .options
        .iter()
        .any(|(k, v)| k == "path" && v == &["/health"]));
    // Typed: what the check engine runs.
    assert_eq!(vs.delay_loop, Some(Duration::from_secs(6)));
    assert_eq!(vs.scheduler.as_deref(), Some("rr"));
    assert_eq!(
        vs.forwarding, None,
        "the placeholder is rejected; NAT by default"
    );
    assert_eq!(vs.persistence_timeout, Some(50));
    assert_eq!(
        vs.sorry_server.as_ref().map(|s| s.addr),
        Some("192.168.1.200:80".parse().unwrap())
    );
    assert_eq!(rs.inhibit_on_failure, Some(true));
    let tcp = &rs.checkers[0];
    assert_eq!(tcp.connect_port, Some(80));
    assert_eq!(tcp.connect_timeout, Some(Duration::from_secs(3)));
    assert_eq!(tcp.retry, None, "nb_get_retry is not read in TCP_CHECK");
    assert_eq!(tcp.delay_before_retry, Some(Duration::from_secs(3)));
    assert!(http.check.is_none(), "dropped: no url");
}

#[test]
fn captured_keepalived_2_2_7_config() {
    let l = load_ok("keepalived.conf");
    assert!(l.findings.is_empty(), "{:?}", msgs(&l.findings));
    let c = &l.config;
    assert_eq!(c.global.garp.master_repeat, 1);
    assert_eq!(c.instances.len(), 4);
    let v2 = &c.instances[0];
    assert_eq!((v2.vrid, v2.priority, v2.version), (51, 100, Version::V2));
    assert_eq!(v2.garp.master_repeat, 1, "instances inherit global garp");
    let v3 = &c.instances[1];
    assert_eq!(v3.version, Version::V3);
    assert_eq!(v3.advert_interval, Duration::from_millis(500));
    let v6 = &c.instances[2];
    assert_eq!(v6.vips[0].addr, ip("fe80::5:53"));
    assert_eq!(v6.vips[0].prefix_len, 128);
    assert_eq!(v6.vips[1].prefix_len, 64);
    let uni = &c.instances[3];
    assert_eq!(uni.unicast_src, Some(ip("10.77.0.11")));
    assert_eq!(uni.unicast_peers, [ip("10.77.0.12")]);
    assert!(!l.findings.iter().any(|f| f.severity == Severity::Error));
}

/// The defaults and corrections keepalived 2.2.7's `validate_check_config` reports, at the
/// virtual or real server they are about (real/tests/cli.rs compares them with keepalived's
/// own `-t` output on the same file).
#[test]
fn lvs_defaults_and_corrections_are_warned_where_they_apply() {
    let path = fixture("keepalived/lvs_defaults.conf");
    let a = keepalived::analyze(Path::new(&path), &FsLoader, &Options::default());
    let udp = "warning: virtual server has no `protocol`: keepalived defaults to UDP (\"no protocol set - defaulting to UDP\")";
    let wlc = "warning: virtual server has no `lb_algo`: keepalived uses wlc (\"no scheduler set, setting default 'wlc'\")";
    let nat = "warning: virtual server has no `lb_kind`: keepalived uses NAT (\"no forwarding method set, setting default NAT\")";
    let group_port = "warning: real server port 80 differs from the group entry's port 81 outside NAT (keepalived: \"ports don't match\")";
    assert_eq!(
        msgs(&a.findings),
        [
            format!("10:1: {udp}"),
            format!("10:1: {wlc}"),
            format!("10:1: {nat}"),
            "11:5: warning: `ha_suspend` is parsed but not acted on by vrrpd-real yet".into(),
            format!("17:1: {udp}"),
            format!("17:1: {wlc}"),
            "18:13: warning: unknown scheduler `bogus`: keepalived ignores it (\"Invalid lvs_scheduler 'bogus' - ignoring\") and uses wlc; it knows rr wrr lc wlc lblc sh mh dh fo ovf lblcr sed nq twos".into(),
            format!("20:5: {group_port}"),
            format!("25:22: warning: virtual_server_group `G` is already used by the virtual_server at {path}:17:22: a group shared by several virtual servers is parsed but not acted on by vrrpd-real yet"),
            format!("29:5: {group_port}"),
            "35:5: warning: `protocol` of a fwmark virtual server: keepalived ignores it (\"protocol specified for fwmark - protocol will be ignored\")".into(),
            "38:5: warning: sorry server port 80 with a fwmark virtual server is not used outside NAT: keepalived clears it (\"has port specified - clearing\")".into(),
            "39:5: warning: real server port 80 with a fwmark virtual server is not used outside NAT: keepalived clears it (\"has port specified - clearing\")".into(),
            "52:5: warning: real server port 80 with a fwmark virtual server is not used outside NAT: keepalived ignores it (\"has port specified - port will be ignored\")".into(),
            format!("57:1: {nat}"),
            "61:5: warning: real server port 8443 differs from the virtual server's 443 outside NAT: keepalived uses 443 (\"ports don't match - resetting\")".into(),
            "71:1: warning: virtual server has no real servers: keepalived ignores it (\"has no real servers - ignoring\")".into(),
        ]
    );
    // The unknown scheduler leaves the default; the file still loads.
    assert!(a.config.virtual_servers[1].scheduler.is_none());
}

//! The keepalived.conf front end on Accept_Mode and the nftables keywords, as keepalived
//! 2.2.7 reads them (`vrrp_complete_instance`, `vrrp_nftables_handler` and friends), checked
//! against keepalived 2.2.7 on a namespace LAN (docs/accept_mode.md).

use vrrp_engine::config::Config;
use vrrp_engine::keepalived::{self, Options};

fn load(global: &str, body: &str) -> (Config, Vec<String>) {
    let text = format!(
        "global_defs {{\n{global}}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n{body}    \
         virtual_ipaddress {{\n        10.0.0.1\n    }}\n}}\n"
    );
    let a = keepalived::analyze_str("t.conf", &text, &Options::default());
    (
        a.config,
        a.findings.iter().map(ToString::to_string).collect(),
    )
}

fn accept(global: &str, body: &str) -> bool {
    load(global, body).0.instances[0].accept
}

#[test]
fn accept_defaults_as_keepalived_2_2_7() {
    const STRICT: &str = "    vrrp_strict\n";
    // Without vrrp_strict: on, VRRPv2 and v3.
    assert!(accept("", ""));
    assert!(accept("", "    version 3\n"));
    // vrrp_strict: off, unless the address owner.
    assert!(!accept(STRICT, ""));
    assert!(!accept(STRICT, "    version 3\n"));
    assert!(accept(STRICT, "    priority 255\n"));
    // Explicit words win, except `accept` with VRRPv2 under vrrp_strict.
    assert!(!accept("", "    no_accept\n"));
    assert!(accept(STRICT, "    version 3\n    accept\n"));
    let (c, f) = load(STRICT, "    accept\n");
    assert!(!c.instances[0].accept);
    assert_eq!(
        f,
        ["t.conf:7:5: warning: vrrp_strict: accept mode for VRRP version 2 does not comply with RFC 3768 - resetting"]
    );
    assert!(accept(STRICT, "    priority 255\n    accept\n"));
}

#[test]
fn nftables_keywords_are_read_as_keepalived_reads_them() {
    let (c, f) = load("", "");
    assert_eq!(c.global.nftables.table, None);
    assert_eq!(c.global.nftables.priority, -1);
    assert!(f.is_empty(), "{f:?}");
    let (c, f) = load(
        "    nftables mytab\n    nftables_priority -50\n    nftables_counters\n    nftables_ifindex\n",
        "",
    );
    assert!(f.is_empty(), "{f:?}");
    let n = &c.global.nftables;
    assert_eq!(
        (n.table.as_deref(), n.priority, n.counters, n.ifindex),
        (Some("mytab"), -50, true, true)
    );
    // `nftables` resets a priority given before it; a second `nftables` is ignored.
    let (c, f) = load(
        "    nftables_priority 7\n    nftables a\n    nftables b\n",
        "",
    );
    assert_eq!(c.global.nftables.table.as_deref(), Some("a"));
    assert_eq!(c.global.nftables.priority, -1);
    assert_eq!(
        f,
        ["t.conf:4:5: warning: nftables already specified - ignoring"]
    );
    // keepalived 2.2.7 built without iptables (Debian's) uses nftables for vrrp_iptables.
    let (c, f) = load("    vrrp_iptables\n", "");
    assert_eq!(c.global.nftables.table, None);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].contains("iptables not supported, using nftables instead"),
        "{f:?}"
    );
    // Bad priority: an error at the value.
    let (_, f) = load("    nftables_priority x\n", "");
    assert!(f[0].starts_with("t.conf:2:23: error:"), "{f:?}");
}

#[test]
fn dump_round_trips_the_nftables_settings() {
    let (c, _) = load(
        "    nftables mytab\n    nftables_priority 5\n    nftables_counters\n",
        "    no_accept\n",
    );
    let text = keepalived::print(&c);
    let again = keepalived::parse_str("p.conf", &text, &Options::default())
        .expect("dump parses")
        .config;
    assert_eq!(again.global.nftables, c.global.nftables);
    assert!(!again.instances[0].accept);
}

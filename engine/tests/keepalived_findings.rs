//! Every finding the front end reports, with its exact text and position.

use core::time::Duration;
use vrrp_engine::config::AuthConfig;
use vrrp_engine::keepalived::{self, Options};

/// All findings of `text` (named `t.conf`) as displayed.
fn findings(text: &str) -> Vec<String> {
    keepalived::analyze_str("t.conf", text, &Options::default())
        .findings
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// A minimal valid instance with `body` added, and a VIP after the body unless it has one
/// (keepalived warns of an instance without one), so that the body's lines keep their
/// numbers.
fn inst(body: &str) -> String {
    let vip = if body.contains("virtual_ipaddress") {
        ""
    } else {
        "    virtual_ipaddress {\n        10.0.0.1\n    }\n"
    };
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n{body}\n{vip}}}\n"
    )
}

#[test]
fn valid_minimal_has_no_findings() {
    assert!(findings(&inst("")).is_empty());
    assert!(keepalived::parse_str("t.conf", &inst(""), &Options::default()).is_ok());
}

#[test]
fn vrid_out_of_range() {
    let t = "vrrp_instance A {\n interface eth0\n virtual_router_id 0\n}\n";
    assert_eq!(
        findings(t),
        [
            "t.conf:1:15: warning: (A) No VIP specified; at least one is sensible",
            "t.conf:3:20: error: `virtual_router_id` 0 is out of range 1..255"
        ]
    );
    let t = "vrrp_instance A {\n interface eth0\n virtual_router_id 256\n}\n";
    assert!(findings(t).contains(
        &"t.conf:3:20: error: `virtual_router_id` 256 is out of range 1..255".to_string()
    ));
}

#[test]
fn priority_out_of_range_and_not_a_number() {
    assert_eq!(
        findings(&inst("    priority 0")),
        ["t.conf:4:14: error: `priority` 0 is out of range 1..255"]
    );
    assert_eq!(
        findings(&inst("    priority 300")),
        ["t.conf:4:14: error: `priority` 300 is out of range 1..255"]
    );
    assert_eq!(
        findings(&inst("    priority abc")),
        ["t.conf:4:14: error: `priority` expects an integer in 1..255, got `abc`"]
    );
    assert_eq!(
        findings(&inst("    priority")),
        ["t.conf:4:5: error: `priority` expects an integer in 1..255, got nothing"]
    );
}

#[test]
fn duplicate_vrid_on_one_interface_and_family() {
    let t = format!("{}{}", inst(""), inst("").replace("VI_1", "VI_2"));
    assert_eq!(
        findings(&t),
        ["t.conf:11:23: error: virtual_router_id 51 is already used on eth0 (IPv4) by vrrp_instance VI_1 at t.conf:3:23"]
    );
    // Another interface, or another family, is another virtual router.
    let other_if = format!(
        "{}{}",
        inst(""),
        inst("").replace("VI_1", "VI_2").replace("eth0", "eth1")
    );
    assert!(findings(&other_if).is_empty());
    let v6 = inst("    version 3\n    virtual_ipaddress {\n        fd00::1\n    }")
        .replace("VI_1", "VI_6");
    assert!(findings(&format!("{}{v6}", inst(""))).is_empty());
}

#[test]
fn mixed_families_in_one_vip_list() {
    let t =
        inst("    version 3\n    virtual_ipaddress {\n        10.0.0.1\n        fd00::1/64\n    }");
    assert_eq!(
        findings(&t),
        ["t.conf:7:9: error: virtual_ipaddress mixes address families: fd00::1 is IPv6, the first address 10.0.0.1 is IPv4"]
    );
}

#[test]
fn ipv6_with_v2_switches_to_v3() {
    let t = inst("    virtual_ipaddress {\n        fd00::1\n    }");
    assert_eq!(
        findings(&t),
        ["t.conf:5:9: warning: VRRPv2 is IPv4 only; vrrp_instance VI_1 uses version 3 for fd00::1, as keepalived does"]
    );
    let a = keepalived::analyze_str("t.conf", &t, &Options::default());
    assert_eq!(a.config.instances[0].version, vrrp_engine::Version::V3);
}

#[test]
fn auth_pass_longer_than_8_is_truncated() {
    let t =
        inst("    authentication {\n        auth_type PASS\n        auth_pass 0123456789\n    }");
    assert_eq!(
        findings(&t),
        ["t.conf:6:19: warning: `auth_pass` is longer than 8 characters; keepalived uses only the first 8: `01234567`"]
    );
    let l = keepalived::parse_str("t.conf", &t, &Options::default()).expect("warnings only");
    assert_eq!(
        l.config.instances[0].auth,
        Some(AuthConfig::Pass("01234567".into()))
    );
    assert_eq!(l.findings.len(), 1);
}

#[test]
fn ah_is_refused() {
    let t = inst("    authentication {\n        auth_type AH\n        auth_pass secret\n    }");
    assert_eq!(
        findings(&t),
        ["t.conf:5:19: error: `auth_type AH` is not supported by this engine (IPsec AH cannot be produced or checked)"]
    );
}

#[test]
fn nopreempt_with_state_master() {
    let t = inst("    state MASTER\n    nopreempt");
    assert_eq!(
        findings(&t),
        ["t.conf:5:5: warning: `nopreempt` is ignored with `state MASTER` (keepalived keeps preempting); use `state BACKUP`"]
    );
    let l = keepalived::parse_str("t.conf", &t, &Options::default()).expect("warning only");
    assert!(l.config.instances[0].preempt);
    // With BACKUP it works.
    let b = keepalived::parse_str(
        "t.conf",
        &inst("    state BACKUP\n    nopreempt"),
        &Options::default(),
    )
    .expect("valid");
    assert!(!b.config.instances[0].preempt);
}

#[test]
fn preempt_delay_with_nopreempt_is_reset() {
    let t = inst("    nopreempt\n    preempt_delay 30");
    assert_eq!(
        findings(&t),
        ["t.conf:5:5: warning: `preempt_delay` is ignored with `nopreempt` (keepalived resets it to 0)"]
    );
}

#[test]
fn track_script_naming_no_vrrp_script() {
    let t = inst("    track_script {\n        chk_missing\n    }");
    assert_eq!(
        findings(&t),
        ["t.conf:5:9: error: track_script `chk_missing` of vrrp_instance VI_1 names no vrrp_script"]
    );
    let ok = format!("vrrp_script chk_missing {{\n    script true\n}}\n{t}");
    assert!(findings(&ok).is_empty());
}

#[test]
fn advert_int_v2() {
    assert_eq!(
        findings(&inst("    advert_int 0.5")),
        ["t.conf:4:16: error: `advert_int` 0.5 cannot be carried by VRRPv2: it needs a whole number of seconds in 1..255"]
    );
    assert_eq!(
        findings(&inst("    advert_int 256")),
        ["t.conf:4:16: error: `advert_int` 256 cannot be carried by VRRPv2: it needs a whole number of seconds in 1..255"]
    );
    assert!(findings(&inst("    advert_int 255")).is_empty());
}

#[test]
fn advert_int_v3_and_version_anywhere_in_block() {
    // `version` after `advert_int` still decides.
    let l = keepalived::parse_str(
        "t.conf",
        &inst("    advert_int 0.01\n    version 3"),
        &Options::default(),
    )
    .expect("valid v3");
    assert_eq!(
        l.config.instances[0].advert_interval,
        Duration::from_millis(10)
    );
    assert_eq!(
        findings(&inst("    version 3\n    advert_int 41")),
        ["t.conf:5:16: error: `advert_int` 41 is outside VRRPv3's range 0.01..40.95 seconds"]
    );
    assert_eq!(
        findings(&inst("    version 3\n    advert_int 0.005")),
        ["t.conf:5:16: error: `advert_int` 0.005 is outside VRRPv3's range 0.01..40.95 seconds"]
    );
    assert_eq!(
        findings(&inst("    version 3\n    advert_int 0.015")),
        ["t.conf:5:16: error: `advert_int` 0.015 is not a multiple of 10 ms, which VRRPv3 needs"]
    );
    assert_eq!(
        findings(&inst("    advert_int abc")),
        ["t.conf:4:16: error: `advert_int` expects a number of seconds, got `abc`"]
    );
    // global vrrp_version 3 is the default.
    let g = format!(
        "global_defs {{\n    vrrp_version 3\n}}\n{}",
        inst("    advert_int 0.5")
    );
    assert!(findings(&g).is_empty());
}

#[test]
fn preempt_delay_range() {
    assert_eq!(
        findings(&inst("    preempt_delay 1001")),
        ["t.conf:4:19: error: `preempt_delay` 1001 is out of range 0..1000"]
    );
    assert!(findings(&inst("    preempt_delay 1000")).is_empty());
}

#[test]
fn weight_ranges() {
    assert_eq!(
        findings("vrrp_script s {\n    script true\n    weight 254\n}\n"),
        ["t.conf:3:12: error: `weight` 254 is out of range -253..253"]
    );
    assert!(findings("vrrp_script s {\n    script true\n    weight -253\n}\n").is_empty());
    let t = format!(
        "vrrp_script s {{\n    script true\n}}\n{}",
        inst("    track_script {\n        s weight -300\n    }")
    );
    assert_eq!(
        findings(&t),
        ["t.conf:8:18: error: `weight` -300 is out of range -253..253"]
    );
    assert_eq!(
        findings("vrrp_track_file f {\n    file /tmp/x\n    weight 255\n}\n"),
        ["t.conf:3:12: error: `weight` 255 is out of range -254..254"]
    );
    assert_eq!(
        findings(&inst("    track_interface {\n        eth1 weight x\n    }")),
        ["t.conf:5:21: error: `weight` expects an integer in -253..253, got `x`"]
    );
}

#[test]
fn unknown_keywords_suggest() {
    assert_eq!(
        findings(&inst("    priorty 100")),
        ["t.conf:4:5: warning: unknown keyword `priorty` in vrrp_instance; did you mean `priority`?"]
    );
    assert_eq!(
        findings("vrrp_instanse X {\n}\n"),
        ["t.conf:1:1: warning: unknown keyword `vrrp_instanse` in the top level; did you mean `vrrp_instance`?"]
    );
    assert_eq!(
        findings("global_defs {\n    completely_unrelated_thing\n}\n"),
        ["t.conf:2:5: warning: unknown keyword `completely_unrelated_thing` in global_defs"]
    );
}

#[test]
fn missing_interface_and_vrid() {
    assert_eq!(
        findings("vrrp_instance VI_9 {\n    priority 100\n}\n"),
        [
            "t.conf:1:15: error: vrrp_instance VI_9 has no `interface`",
            "t.conf:1:15: error: vrrp_instance VI_9 has no `virtual_router_id`",
            "t.conf:1:15: warning: (VI_9) No VIP specified; at least one is sensible",
        ]
    );
}

#[test]
fn unbalanced_braces() {
    assert_eq!(
        findings("vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n"),
        [
            "t.conf:1:1: error: block `vrrp_instance` is never closed (missing `}`)",
            "t.conf:1:15: warning: (VI_1) No VIP specified; at least one is sensible"
        ]
    );
    assert_eq!(
        findings(&format!("{}}}\n", inst(""))),
        ["t.conf:9:1: error: `}` without a matching `{`"]
    );
    assert_eq!(
        findings("{\n}\n"),
        ["t.conf:1:1: error: `{` without a keyword before it"]
    );
}

#[test]
fn include_of_missing_file() {
    assert_eq!(
        findings("include missing.conf\n"),
        ["t.conf:1:9: error: cannot read included file `missing.conf`: No such file or directory"]
    );
    assert_eq!(
        findings("include conf.d/*.conf\n"),
        ["t.conf:1:9: warning: include `conf.d/*.conf` matches no file"]
    );
}

#[test]
fn unterminated_quote() {
    assert_eq!(
        findings("vrrp_script s {\n    script \"/bin/true\n}\n"),
        ["t.conf:2:12: error: unterminated quoted string"]
    );
}

#[test]
fn not_acted_on() {
    assert_eq!(
        findings(&inst("    old_unicast_checksum")),
        ["t.conf:4:5: warning: `old_unicast_checksum` is parsed but not acted on by vrrpd-real yet"]
    );
    let group = format!(
        "vrrp_sync_group G1 {{\n    group {{\n        VI_1\n    }}\n}}\n{}",
        inst("")
    );
    // Sync groups are acted on; keepalived 2.2.7 warns about a group of one member
    // (`vrrp_sync_set_group`).
    assert_eq!(
        findings(&group),
        ["t.conf:3:9: warning: vrrp_sync_group G1 has only 1 virtual router - this probably isn't what you want"]
    );
}

#[test]
fn mcast_src_ip_is_the_adverts_source_as_in_keepalived() {
    let a = keepalived::analyze_str(
        "t.conf",
        &inst("    mcast_src_ip 10.0.0.9"),
        &Options::default(),
    );
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    let cfg = a.config;
    assert_eq!(
        cfg.instances[0].unicast_src,
        Some("10.0.0.9".parse().unwrap())
    );
    assert!(cfg.instances[0].unicast_peers.is_empty());
}

#[test]
fn v3_checksum_as_v2_switches_the_checksum_mode() {
    use vrrp_engine::wire::ChecksumMode;
    let mode = |body: &str| {
        let a = keepalived::analyze_str(
            "t.conf",
            &inst(&format!("    version 3\n{body}")),
            &Options::default(),
        );
        (
            a.config.instances[0].checksum_mode,
            a.findings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(mode(""), (ChecksumMode::PseudoHeader, vec![]));
    assert_eq!(
        mode("    v3_checksum_as_v2"),
        (ChecksumMode::NoPseudoHeader, vec![])
    );
    assert_eq!(
        mode("    v3_checksum_as_v2 false"),
        (ChecksumMode::PseudoHeader, vec![])
    );
    assert_eq!(
        mode("    v3_checksum_as_v2 maybe").1,
        ["t.conf:5:23: error: `v3_checksum_as_v2` expects true or false, got `maybe`"]
    );
}

#[test]
fn strict_turns_warnings_into_errors() {
    let t = inst("    priorty 100");
    assert!(keepalived::parse_str("t.conf", &t, &Options::default()).is_ok());
    let err = keepalived::parse_str(
        "t.conf",
        &t,
        &Options {
            strict: true,
            ..Options::default()
        },
    )
    .expect_err("strict");
    assert_eq!(
        err.to_string(),
        "t.conf:4:5: error: unknown keyword `priorty` in vrrp_instance; did you mean `priority`?"
    );
}

#[test]
fn failure_returns_errors_and_warnings() {
    let t = inst("    priorty 100\n    priority 0");
    let err = keepalived::parse_str("t.conf", &t, &Options::default()).expect_err("invalid");
    assert_eq!(err.0.len(), 2);
    assert!(err.has_errors());
}

#[test]
fn syntax_variants() {
    // `{` on the next line, `}` followed by more, one-line blocks, comments with # and !.
    let t = "vrrp_script s\n{\n  script \"/bin/check arg\"  # comment\n}\nvrrp_instance V { ! c\n  interface eth0\n  virtual_router_id 7\n  track_script { s weight 10 }\n  virtual_ipaddress { 10.1.1.1/24 dev eth0 label eth0:1 brd 10.1.1.255 no_track }\n  auth_pass_dummy_is_not_here\n}\n";
    let a = keepalived::analyze_str("t.conf", t, &Options::default());
    assert_eq!(
        a.findings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["t.conf:10:3: warning: unknown keyword `auth_pass_dummy_is_not_here` in vrrp_instance"]
    );
    let c = &a.config;
    assert_eq!(c.scripts[0].script, "/bin/check arg");
    let i = &c.instances[0];
    assert_eq!(i.track_scripts[0].weight, Some(10));
    assert_eq!(i.vips[0].extra, ["brd", "10.1.1.255", "no_track"]);
    assert_eq!(i.vips[0].label.as_deref(), Some("eth0:1"));
}

#[test]
fn deep_nesting_is_bounded() {
    let t = format!("a {}\n{}", "x { ".repeat(100_000), "}".repeat(100_000));
    let f = findings(&t);
    assert!(
        f.contains(
            &"t.conf:1:261: error: blocks nested deeper than 64; the rest of this block is skipped"
                .to_string()
        ),
        "{:?}",
        f.iter().filter(|l| l.contains("error")).collect::<Vec<_>>()
    );
}

/// The seed's `virtual_server` (section 2.4) as written there: keepalived 2.2.7 reports
/// `nb_get_retry` in TCP_CHECK and `path`, `digest`, `status_code` directly in HTTP_GET as
/// unknown and drops the HTTP_GET for having no url; we say the same, and where they belong.
#[test]
fn lvs_keywords_are_checked_and_the_seed_http_get_is_explained() {
    let t = "virtual_server 192.168.1.100 80 {\n    delay_loop 6\n    lb_algo rr\n    lb_kind DR\n\
             \x20   persistance_timeout 50\n    real_server 192.168.1.101 80 {\n        weigth 1\n\
             \x20       TCP_CHECK {\n            connect_port 80\n            nb_get_retry 3\n\
             \x20           conect_timeout 3\n        }\n        HTTP_GET {\n            path /health\n\
             \x20           status_code 200\n        }\n        SSL_GET {\n            url {\n\
             \x20               path /\n                digets 0123\n            }\n        }\n    }\n}\n";
    assert_eq!(
        findings(t),
        [
            "t.conf:1:1: warning: virtual server has no `protocol`: keepalived defaults to UDP (\"no protocol set - defaulting to UDP\")",
            "t.conf:5:5: warning: unknown keyword `persistance_timeout` in virtual_server; did you mean `persistence_timeout`?",
            "t.conf:7:9: warning: unknown keyword `weigth` in real_server; did you mean `weight`?",
            "t.conf:10:13: warning: unknown keyword `nb_get_retry` in TCP_CHECK: keepalived takes this old name of `retry` only in HTTP_GET and SSL_GET; use `retry`",
            "t.conf:11:13: warning: unknown keyword `conect_timeout` in TCP_CHECK; did you mean `connect_timeout`?",
            "t.conf:13:9: warning: HTTP_GET has no `url { }` block with a `path`: keepalived ignores this checker (\"HTTP/SSL_GET checker has no urls specified\")",
            "t.conf:14:13: warning: `path` belongs inside a `url { }` block of HTTP_GET; keepalived ignores it here",
            "t.conf:15:13: warning: `status_code` belongs inside a `url { }` block of HTTP_GET; keepalived ignores it here",
            "t.conf:20:17: warning: unknown keyword `digets` in url; did you mean `digest`?",
        ]
    );
}

#[test]
fn an_instances_strict_mode_applies_keepalived_strict_rules_to_it_alone() {
    let body = "    strict_mode\n    state MASTER\n    priority 100\n    preempt_delay 10\n    \
                authentication {\n        auth_type PASS\n        auth_pass x\n    }";
    let two = inst("").replace("VI_1", "VI_2").replace(" 51", " 52");
    let t = format!("{}{two}", inst(body));
    assert_eq!(
        findings(&t),
        [
            "t.conf:5:5: warning: (VI_1) State MASTER must match being address owner (strict mode)",
            "t.conf:7:5: warning: (VI_1) preempt_delay is incompatible with strict mode - resetting",
            "t.conf:8:5: warning: (VI_1) Strict mode does not support authentication. Ignoring.",
        ]
    );
    let c = keepalived::parse_str("t.conf", &t, &Options::default()).expect("valid");
    let (one, two) = (&c.config.instances[0], &c.config.instances[1]);
    assert_eq!(one.strict_mode, Some(true));
    assert!(one.auth.is_none() && one.preempt_delay.is_zero());
    assert_eq!(one.initial_state, vrrp_engine::config::InitialState::Backup);
    // Strict: no Accept_Mode, no lower-priority announcements or adverts.
    assert!(!one.accept && !one.advert_on_lower_priority);
    assert_eq!(one.garp.lower_prio_repeat, 0);
    // The other instance keeps keepalived's non-strict defaults.
    assert!(two.accept && two.advert_on_lower_priority);
    assert_eq!(two.garp.lower_prio_repeat, 5);
    // `strict_mode false` in an instance under vrrp_strict turns it off for that instance.
    let off = format!(
        "global_defs {{\n    vrrp_strict\n}}\n{}",
        inst("    strict_mode false\n    unicast_peer {\n        10.0.0.2\n    }")
    );
    let c = keepalived::parse_str("t.conf", &off, &Options::default()).expect("valid");
    assert!(c.config.instances[0].accept);
    // Unicast peers are refused in strict mode, an instance without a VIP too.
    let peers = inst("    strict_mode\n    unicast_peer {\n        10.0.0.2\n    }");
    assert_eq!(
        findings(&peers),
        ["t.conf:5:5: error: (VI_1) Unicast peers are not supported in strict mode"]
    );
    let no_vip = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n strict_mode\n}\n";
    assert_eq!(
        findings(no_vip),
        ["t.conf:1:15: error: (V) No VIP specified; at least one is required"]
    );
}

#[test]
fn skip_check_adv_addr_is_on_for_any_value_as_in_keepalived() {
    let c = keepalived::parse_str(
        "t.conf",
        &inst("    skip_check_adv_addr"),
        &Options::default(),
    )
    .expect("valid");
    assert!(c.config.instances[0].skip_check_adv_addr);
    let t = inst("    skip_check_adv_addr false");
    assert_eq!(
        findings(&t),
        ["t.conf:4:5: warning: keepalived 2.2.7 turns skip_check_adv_addr on even for `false`; so does this engine"]
    );
    let c = keepalived::parse_str("t.conf", &t, &Options::default()).expect("valid");
    assert!(c.config.instances[0].skip_check_adv_addr);
}

#[test]
fn a_vrrpv3_instance_needs_a_vip() {
    let t = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n version 3\n}\n";
    assert_eq!(
        findings(t),
        ["t.conf:1:15: error: (V) No VIP specified; at least one is required"]
    );
}

#[test]
fn garp_interval_belongs_to_garp_group_not_to_an_instance() {
    // keepalived 2.2.7 knows `garp_interval` / `gna_interval` only in `garp_group` (and as
    // `vrrp_garp_interval` / `vrrp_gna_interval` in global_defs).
    let f = findings(&inst("    garp_interval 0.1"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].starts_with("t.conf:4:5: warning: unknown keyword `garp_interval` in vrrp_instance"),
        "{f:?}"
    );
}

#[test]
fn use_vmac_findings_as_keepalived() {
    assert!(findings(&inst("    use_vmac vrrp.51\n    vmac_xmit_base")).is_empty());
    assert_eq!(
        findings(&inst("    use_vmac name-longer-than-15")),
        ["t.conf:4:14: warning: VMAC interface name 'name-longer-than-15' too long or invalid characters - ignoring"]
    );
    assert_eq!(
        findings(&inst("    use_vmac 02:00:00:00:00:01")),
        ["t.conf:4:14: warning: a MAC address for use_vmac (02:00:00:00:00:01) is not supported: the RFC 5798 virtual MAC 00:00:5e:00:01:VRID is used"]
    );
    assert_eq!(
        findings(&inst(
            "    use_vmac\n    unicast_peer {\n        10.0.0.2\n    }"
        )),
        ["t.conf:4:5: warning: (VI_1) unicast with use_vmac requires vmac_xmit_base - setting"]
    );
}

#[test]
fn log_unknown_vrids_is_read_and_printed_back() {
    let text = format!("global_defs {{\n    log_unknown_vrids\n}}\n{}", inst(""));
    assert!(findings(&text).is_empty(), "{:?}", findings(&text));
    let cfg = keepalived::parse_str("t.conf", &text, &Options::default())
        .unwrap()
        .config;
    assert!(cfg.global.log_unknown_vrids);
    let printed = keepalived::print(&cfg);
    assert!(printed.contains("    log_unknown_vrids\n"), "{printed}");
    let back = keepalived::parse_str("t.conf", &printed, &Options::default())
        .unwrap()
        .config;
    assert_eq!(back, cfg);
    let off = keepalived::parse_str("t.conf", &inst(""), &Options::default())
        .unwrap()
        .config;
    assert!(!off.global.log_unknown_vrids);
}

/// Found by the `keepalived_conf` fuzz target (FUZZING.md): after a `$NAME` expansion,
/// findings had the columns of the expanded line, past the end of the file's line when the
/// value is longer than its name. A token from the value points at the `$`; what follows
/// keeps its own column.
#[test]
fn columns_after_a_definition_are_the_files() {
    let t = "$N=a_long_node_name\nglobal_defs {\n    router_id $N extra\n}\n\
             $W=x y\nglobal_defs {\n    router_id $W\n}\n";
    assert_eq!(
        findings(t),
        [
            "t.conf:3:18: warning: ignoring extra values after `router_id a_long_node_name`: `extra`",
            "t.conf:7:15: warning: ignoring extra values after `router_id x`: `y`",
        ]
    );
}

/// keepalived 2.2.7 `vrrp_complete_instance`: `state MASTER` clears `preempt_delay`, with
/// its words; `state BACKUP` keeps it.
#[test]
fn state_master_clears_preempt_delay_with_keepalived_words() {
    let t = inst("    state MASTER\n    priority 150\n    preempt_delay 5");
    assert_eq!(
        findings(&t),
        ["t.conf:6:5: warning: (VI_1) Warning - preempt delay will not work with initial state MASTER - clearing"]
    );
    let c = keepalived::parse_str("t.conf", &t, &Options::default()).expect("valid");
    assert!(c.config.instances[0].preempt_delay.is_zero());
    let t = inst("    state BACKUP\n    priority 150\n    preempt_delay 5");
    assert!(findings(&t).is_empty());
    let c = keepalived::parse_str("t.conf", &t, &Options::default()).expect("valid");
    assert_eq!(c.config.instances[0].preempt_delay, Duration::from_secs(5));
}

/// keepalived 2.2.7 `vrrp_complete_instance`: without `priority`, `state MASTER` means 255;
/// without `state`, priority 255 means MASTER (and its preempt_delay is cleared too).
#[test]
fn state_and_priority_are_derived_from_each_other() {
    use vrrp_engine::config::InitialState;
    let parse = |body: &str| {
        let c = keepalived::parse_str("t.conf", &inst(body), &Options::default()).expect("valid");
        c.config.instances[0].clone()
    };
    let i = parse("    state MASTER");
    assert_eq!((i.priority, i.initial_state), (255, InitialState::Master));
    let i = parse("    state BACKUP");
    assert_eq!((i.priority, i.initial_state), (100, InitialState::Backup));
    let i = parse("    priority 255");
    assert_eq!(i.initial_state, InitialState::Master);
    let i = parse("    priority 254");
    assert_eq!(i.initial_state, InitialState::Backup);
    let i = parse("    priority 255\n    state BACKUP");
    assert_eq!(i.initial_state, InitialState::Backup);
    assert_eq!(
        findings(&inst("    priority 255\n    preempt_delay 5")),
        ["t.conf:5:5: warning: (VI_1) Warning - preempt delay will not work with initial state MASTER - clearing"]
    );
}

/// `init_fail` is kept but has no effect, as in keepalived 2.2.7: the front end says so.
#[test]
fn init_fail_is_reported_as_without_effect() {
    let t = "vrrp_script chk {\n    script /bin/true\n    init_fail\n}\n";
    assert_eq!(
        findings(t),
        ["t.conf:3:5: warning: `init_fail` has no effect, as in keepalived 2.2.7 (its `track_script` resets it): a script counts neither as passing nor as failing until its first result, which decides whatever `rise` and `fall`"]
    );
}

#[test]
fn unicast_source_check_and_ttls_are_read_as_keepalived_reads_them() {
    use vrrp_engine::config::PeerTtl;
    let parse = |body: &str| keepalived::analyze_str("t.conf", &inst(body), &Options::default());
    let a = parse("    unicast_peer {\n        10.0.0.2\n        10.0.0.3 min_ttl 250 max_ttl 255\n    }\n    unicast_ttl 10");
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    let i = &a.config.instances[0];
    // keepalived 2.2.7 `alloc_vrrp_unicast_peer`: a TTL option turns the source check on.
    assert!(i.check_unicast_src);
    assert_eq!(
        i.unicast_peer_ttl,
        [PeerTtl {
            addr: "10.0.0.3".parse().unwrap(),
            min: 250,
            max: 255
        }]
    );
    assert_eq!(i.unicast_ttl, Some(10));
    let a = parse("    unicast_peer {\n        10.0.0.2\n    }\n    check_unicast_src");
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    assert!(a.config.instances[0].check_unicast_src);
    let a = parse("    unicast_peer {\n        10.0.0.2\n    }");
    assert!(!a.config.instances[0].check_unicast_src);
    let global = format!(
        "global_defs {{\n    vrrp_check_unicast_src\n}}\n{}",
        inst("")
    );
    let a = keepalived::analyze_str("t.conf", &global, &Options::default());
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    assert!(a.config.global.check_unicast_src);
    assert_eq!(
        findings(&inst(
            "    unicast_peer {\n        10.0.0.2 min_ttl 200 max_ttl 100\n    }"
        )),
        ["t.conf:5:9: warning: min_ttl 200 > max_ttl 100 - all packets will be discarded"]
    );
    assert_eq!(
        findings(&inst("    unicast_ttl 10")),
        ["t.conf:4:5: warning: (VI_1): Cannot use unicast_ttl without unicast peers - resetting"]
    );
}

#[test]
fn a_unicast_peer_of_the_other_family_is_dropped_with_keepalived_words() {
    let a = keepalived::analyze_str(
        "t.conf",
        &inst("    unicast_peer {\n        10.0.0.2\n        fe80::2\n    }"),
        &Options::default(),
    );
    let f: Vec<String> = a.findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        f,
        ["t.conf:6:9: warning: Configuration error: VRRP instance[VI_1] and unicast peer address[fe80::2] MUST be of the same family !!! Skipping..."]
    );
    assert_eq!(
        a.config.instances[0].unicast_peers,
        ["10.0.0.2".parse::<std::net::IpAddr>().unwrap()]
    );
    // What `-t` passes, the engine runs.
    assert!(vrrp_engine::Engine::new(a.config, vrrp_engine::Instant::ZERO).is_ok());
}

#[test]
fn a_second_instance_of_the_same_name_is_skipped_as_keepalived_does() {
    // keepalived 2.2.7 `vrrp_handler`: "vrrp instance VI_1 already defined", block skipped.
    let text = format!(
        "{}{}",
        inst(""),
        inst("").replace("virtual_router_id 51", "virtual_router_id 52")
    );
    let a = keepalived::analyze_str("t.conf", &text, &Options::default());
    let f: Vec<String> = a.findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        f,
        ["t.conf:9:15: warning: vrrp instance VI_1 already defined"]
    );
    assert_eq!(a.config.instances.len(), 1);
    assert_eq!(a.config.instances[0].vrid, 51);
}

/// Found by the `keepalived_conf` fuzz target (FUZZING.md #10): IPv6 VIPs with an IPv4
/// `unicast_src_ip` and peer passed the front end, and `Engine::new` refused the result ("unicast
/// addresses are not of the VIPs' family"): what `-t` passes must run.
#[test]
fn an_ipv4_unicast_source_for_ipv6_vips_is_not_passed_to_the_engine() {
    let a = keepalived::analyze_str(
        "t.conf",
        &inst(
            "    version 3\n    unicast_src_ip 10.77.0.11\n    unicast_peer {\n        10.77.0.12\n    }\n    virtual_ipaddress {\n        fd77::100/64\n    }",
        ),
        &Options::default(),
    );
    assert!(!a.findings.is_empty(), "the mismatch is reported");
    if !a.has_errors() {
        assert!(
            vrrp_engine::Engine::new(a.config, vrrp_engine::Instant::ZERO).is_ok(),
            "what the front end accepts, the engine runs"
        );
    }
}

//! Property tests: the front end never panics, and `print` then parse gives the same model.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::time::Duration;
use proptest::prelude::*;
use vrrp_engine::config::{
    AuthConfig, Config, GarpConfig, GlobalConfig, InitialState, InstanceConfig, IpPrefix,
    NftablesConfig, NotifyConfig, ParamMatch, PortRange, RouteAddMode, RouteType, RuleAction,
    ScriptConfig, SyncGroupConfig, TrackFileConfig, TrackProcessConfig, TrackProcessRef, TrackRef,
    UidRange, VirtualAddress, VirtualRoute, VirtualRule, VirtualServerConfig,
};
use vrrp_engine::keepalived::{self, Options};
use vrrp_engine::Family;
use vrrp_engine::Version;

const SOUP: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
    "virtual_server",
    "real_server",
    "TCP_CHECK",
    "url",
    "vrrp_track_file",
    "vrrp_track_process",
    "process",
    "quorum_max",
    "param_match",
    "track_process",
    "interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "state",
    "MASTER",
    "BACKUP",
    "nopreempt",
    "authentication",
    "auth_type",
    "auth_pass",
    "AH",
    "PASS",
    "virtual_ipaddress",
    "track_script",
    "track_interface",
    "track_file",
    "weight",
    "group",
    "unicast_peer",
    "include",
    "*.conf",
    "a.conf",
    "{",
    "}",
    "{",
    "}",
    "\"",
    "\"a b\"",
    "#",
    "!",
    "\n",
    "\n",
    "\n",
    "0",
    "1",
    "-300",
    "255",
    "256",
    "0.5",
    "0.015",
    "abc",
    "10.0.0.1/24",
    "fd00::1",
    "10.0.0.1/99",
    "dev",
    "label",
    "eth0",
    "preempt_delay",
    "garp_master_refresh",
    "init_file",
    "\u{3000}",
    "é",
    "script",
    "lower_prio_no_advert",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(SOUP), prop::bool::ANY), 0..120).prop_map(|v| {
        let mut s = String::new();
        for (w, glue) in v {
            s.push_str(w);
            if !glue {
                s.push(' ');
            }
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = keepalived::analyze_str("x.conf", &text, &Options::default());
    }

    #[test]
    fn never_panics_on_token_soup(text in soup()) {
        let a = keepalived::analyze_str("x.conf", &text, &Options::default());
        // Every finding has a real position.
        for f in &a.findings {
            prop_assert!(f.line >= 1 && f.col >= 1);
        }
    }
}

// ---- random valid configurations ----

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}"
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9/_.-]{1,12}( [a-zA-Z0-9/_.-]{1,12}){0,2}"
}

fn secs() -> impl Strategy<Value = Duration> {
    (0u64..100, 0u64..1000).prop_map(|(s, ms)| Duration::from_secs(s) + Duration::from_millis(ms))
}

fn garp() -> impl Strategy<Value = GarpConfig> {
    (
        secs(),
        0u32..10,
        prop::option::of((1u64..100).prop_map(Duration::from_secs)),
        0u32..10,
        secs(),
        0u32..10,
    )
        .prop_map(|(d, r, f, fr, ld, lr)| GarpConfig {
            master_delay: d,
            master_repeat: r,
            master_refresh: f,
            master_refresh_repeat: fr,
            lower_prio_delay: ld,
            lower_prio_repeat: lr,
        })
}

fn global() -> impl Strategy<Value = GlobalConfig> {
    (
        (
            prop::option::of(word()),
            prop::collection::vec("[a-z]{1,6}@[a-z]{1,6}\\.com", 0..3),
        ),
        (
            prop::option::of(word()),
            prop::option::of("10\\.0\\.0\\.[0-9]{1,2}( 25)?"),
        ),
        (secs(), any::<bool>(), secs(), secs(), garp()),
        (
            any::<bool>(),
            prop::option::of(text()),
            any::<bool>(),
            any::<bool>(),
            secs(),
        ),
    )
        .prop_map(
            |((rid, mails), (from, smtp), (to, skip, gi, gn, garp), (sec, su, v3, strict, sd))| {
                // `smtp_helo_name` keeps its first word.
                let helo = su
                    .as_ref()
                    .and_then(|s| s.split(' ').next().map(String::from));
                let alert_vrrp = rid.as_ref().map(|_| sec);
                let nft_table = rid.clone();
                GlobalConfig {
                    router_id: rid,
                    notification_email: mails,
                    notification_email_from: from,
                    smtp_server: smtp,
                    // keepalived takes 0 as 1 s.
                    smtp_connect_timeout: to.max(Duration::from_secs(1)),
                    skip_check_adv_addr: skip,
                    check_unicast_src: v3 && skip,
                    garp_interval: gi,
                    gna_interval: gn,
                    garp,
                    enable_script_security: sec,
                    script_user: su,
                    vrrp_version: if v3 { Version::V3 } else { Version::V2 },
                    strict,
                    // Derived from two draws: the strategy tuple is at proptest's size limit.
                    lower_prio_no_advert: sec != skip,
                    higher_prio_send_advert: sec && skip,
                    startup_delay: sd,
                    no_swap: v3 != strict,
                    log_unknown_vrids: v3 && sec,
                    dynamic_interfaces: v3 && !sec,
                    smtp_helo_name: helo,
                    smtp_alert: Some(strict),
                    smtp_alert_vrrp: alert_vrrp,
                    smtp_alert_checker: None,
                    no_email_faults: skip,
                    no_checker_emails: strict && skip,
                    nftables: NftablesConfig {
                        table: nft_table,
                        priority: if sec { -1 } else { 10 },
                        counters: skip,
                        ifindex: v3,
                    },
                }
            },
        )
}

fn script(i: usize) -> impl Strategy<Value = ScriptConfig> {
    (
        text(),
        secs(),
        prop::option::of(secs()),
        -253i32..=253,
        1u32..10,
        1u32..10,
        prop::option::of(text()),
        any::<bool>(),
    )
        .prop_map(
            move |(cmd, interval, timeout, weight, rise, fall, user, init_fail)| {
                let mut s = ScriptConfig::new(format!("chk_{i}"), cmd);
                s.interval = interval;
                s.timeout = timeout;
                s.weight = weight;
                s.rise = rise;
                s.fall = fall;
                s.user = user;
                s.init_fail = init_fail;
                s
            },
        )
}

fn track_file(i: usize) -> impl Strategy<Value = TrackFileConfig> {
    ("/[a-z]{1,8}", -254i32..=254, prop::option::of(any::<i64>())).prop_map(move |(p, w, v)| {
        TrackFileConfig {
            name: format!("tf_{i}"),
            path: p,
            weight: w,
            init_value: v,
        }
    })
}

fn track_process(i: usize) -> impl Strategy<Value = TrackProcessConfig> {
    (
        (
            "[a-z][a-z0-9/._-]{0,10}",
            prop::collection::vec("[a-z0-9-]{1,6}", 0..3),
            0u8..4,
            any::<bool>(),
        ),
        (
            -254i32..=254,
            any::<bool>(),
            1u32..100,
            prop::option::of(0u32..200),
        ),
        (0u64..=3_600_000_000, 0u64..=3_600_000_000),
    )
        .prop_map(
            move |((name, params, pm, full), (weight, reverse, q, qm), (fd, td))| {
                let mut t = TrackProcessConfig::new(format!("tp_{i}"), name);
                t.param_match = match pm {
                    0 if params.is_empty() => ParamMatch::None,
                    0 | 1 => ParamMatch::Exact,
                    2 => ParamMatch::Initial,
                    _ => ParamMatch::Partial,
                };
                t.full_command = full || t.param_match != ParamMatch::None;
                t.params = params;
                t.weight = weight;
                t.reverse = reverse;
                t.quorum = q;
                t.quorum_max = qm.map(|m| if m == 0 { 0 } else { m.max(q) });
                if t.quorum_max == Some(0) {
                    t.quorum = 0;
                }
                t.fork_delay = Duration::from_micros(fd);
                t.terminate_delay = Duration::from_micros(td);
                t
            },
        )
}

/// `track_process` lists over the given names (each at most once).
fn process_refs(names: Vec<String>) -> impl Strategy<Value = Vec<TrackProcessRef>> {
    let n = names.len();
    prop::sample::subsequence(names, 0..=n).prop_flat_map(|names| {
        let k = names.len();
        (
            Just(names),
            prop::collection::vec(
                (
                    prop::option::of(-254i32..=254),
                    prop::option::of(any::<bool>()),
                ),
                k,
            ),
        )
            .prop_map(|(names, ws)| {
                names
                    .into_iter()
                    .zip(ws)
                    .map(|(name, (weight, reverse))| TrackProcessRef {
                        name,
                        weight,
                        reverse: reverse.filter(|_| weight.is_some()),
                    })
                    .collect()
            })
    })
}

fn vip(v6: bool) -> impl Strategy<Value = VirtualAddress> {
    let addr = if v6 {
        any::<u128>()
            .prop_map(|x| IpAddr::V6(Ipv6Addr::from(x)))
            .boxed()
    } else {
        any::<u32>()
            .prop_map(|x| IpAddr::V4(Ipv4Addr::from(x)))
            .boxed()
    };
    let extra = prop::collection::vec(
        "[a-z]{1,5}".prop_filter("not dev/label", |w| w != "dev" && w != "label"),
        0..3,
    );
    (
        addr,
        0u8..=128,
        prop::option::of(word()),
        prop::option::of("[a-z0-9:]{1,8}"),
        extra,
    )
        .prop_map(move |(addr, p, dev, label, extra)| {
            let max = if v6 { 128 } else { 32 };
            VirtualAddress {
                addr,
                prefix_len: p % (max + 1),
                dev,
                label,
                extra,
            }
        })
}

fn addr(v6: bool) -> BoxedStrategy<IpAddr> {
    if v6 {
        any::<u128>()
            .prop_map(|n| IpAddr::V6(Ipv6Addr::from(n)))
            .boxed()
    } else {
        any::<u32>()
            .prop_map(|n| IpAddr::V4(Ipv4Addr::from(n)))
            .boxed()
    }
}

fn prefix(v6: bool) -> impl Strategy<Value = IpPrefix> {
    let max = if v6 { 128u8 } else { 32 };
    (addr(v6), 0..=max).prop_map(|(addr, len)| IpPrefix { addr, len })
}

fn route() -> impl Strategy<Value = VirtualRoute> {
    any::<bool>().prop_flat_map(|v6| {
        let head = (
            prefix(v6),
            prop::sample::select(RouteType::NAMES.iter().map(|(_, t)| *t).collect::<Vec<_>>()),
            prop::option::of(addr(v6)),
            prop::option::of(prefix(true)),
            prop::option::of(addr(v6)),
            prop::option::of(word()),
        );
        let tail = (
            any::<u32>(),
            prop::option::of(any::<u32>()),
            prop::option::of(any::<u8>()),
            prop::option::of(any::<u8>()),
            prop::option::of(any::<u8>()),
            any::<bool>(),
            prop::sample::select(vec![
                RouteAddMode::Prepend,
                RouteAddMode::Add,
                RouteAddMode::Append,
            ]),
            any::<bool>(),
        );
        (head, tail).prop_map(
            move |(
                (dst, kind, src, from, via, dev),
                (table, metric, scope, protocol, tos, onlink, mode, no_track),
            )| {
                VirtualRoute {
                    family: if v6 { Family::Ipv6 } else { Family::Ipv4 },
                    dst,
                    kind,
                    src,
                    from: from.filter(|_| v6),
                    via,
                    table,
                    metric,
                    scope,
                    // keepalived keeps a route's own protocol only with `no_track`.
                    protocol: protocol.filter(|_| no_track),
                    tos,
                    onlink,
                    mode,
                    // keepalived does not track a route without `dev` (as `no_track`).
                    no_track: no_track || dev.is_none(),
                    dev,
                }
            },
        )
    })
}

fn rule() -> impl Strategy<Value = VirtualRule> {
    any::<bool>().prop_flat_map(|v6| {
        let action = prop_oneof![
            (1u32..).prop_map(RuleAction::Table),
            (1u32..).prop_map(RuleAction::Goto),
            Just(RuleAction::Nop),
            Just(RuleAction::Blackhole),
            Just(RuleAction::Unreachable),
            Just(RuleAction::Prohibit),
            Just(RuleAction::L3mdev),
        ];
        let head = (
            prop::option::of(prefix(v6)),
            prop::option::of(prefix(v6)),
            action,
            any::<u32>(),
            any::<bool>(),
            any::<u8>(),
            prop::option::of((any::<u32>(), prop::option::of(any::<u32>()))),
            prop::option::of(word()),
            prop::option::of(word()),
        );
        let ports = (any::<u16>(), any::<u16>()).prop_map(|(start, end)| PortRange { start, end });
        let tail = (
            prop::option::of(0u8..=127),
            prop::option::of(ports.clone()),
            prop::option::of(ports),
            prop::option::of(
                (any::<u32>(), any::<u32>()).prop_map(|(start, end)| UidRange { start, end }),
            ),
            prop::option::of(0..=i32::MAX.unsigned_abs()),
            prop::option::of(any::<u8>()),
            any::<bool>(),
        );
        (head, tail).prop_map(
            move |(
                (from, to, action, priority, invert, tos, mark, iif, oif),
                (ipproto, sport, dport, uidrange, sup, protocol, no_track),
            )| {
                // keepalived: a goto needs a preference below its target.
                let priority = match action {
                    RuleAction::Goto(t) => priority % t,
                    _ => priority,
                };
                VirtualRule {
                    family: if v6 { Family::Ipv6 } else { Family::Ipv4 },
                    from,
                    to,
                    action,
                    priority,
                    invert,
                    tos,
                    fwmark: mark.map(|m| m.0),
                    fwmask: mark.and_then(|m| m.1),
                    iif,
                    oif,
                    ipproto,
                    sport,
                    dport,
                    uidrange,
                    // Only with a table action (keepalived skips the rule otherwise).
                    suppress_prefixlength: sup.filter(|_| matches!(action, RuleAction::Table(_))),
                    protocol: protocol.filter(|_| no_track),
                    no_track,
                }
            },
        )
    })
}

fn track_refs(names: Vec<String>, range: i32) -> impl Strategy<Value = Vec<TrackRef>> {
    let pick = if names.is_empty() {
        Just(String::new()).boxed()
    } else {
        prop::sample::select(names.clone()).boxed()
    };
    let n = if names.is_empty() { 0 } else { 3 };
    prop::collection::vec((pick, prop::option::of(-range..=range)), 0..=n).prop_map(|v| {
        v.into_iter()
            .map(|(name, weight)| TrackRef { name, weight })
            .collect()
    })
}

fn notify() -> impl Strategy<Value = NotifyConfig> {
    (
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(master, backup, fault, stop, generic)| NotifyConfig {
            master,
            backup,
            fault,
            stop,
            generic,
        })
}

fn instance(
    i: usize,
    scripts: Vec<String>,
    files: Vec<String>,
) -> impl Strategy<Value = InstanceConfig> {
    let head = (
        any::<bool>(),
        any::<bool>(),
        "eth[0-3]",
        prop::option::of(prop_oneof![Just(String::new()), word()]),
        any::<bool>(),
        1u8..=255,
        1u32..=4095,
        prop::option::of("[a-z0-9]{1,8}"),
    );
    (head, any::<bool>()).prop_flat_map(
        move |((v3, master, ifname, vmac, xmit, prio, adv, pass), v6)| {
            let v6 = v3 && v6;
            let body = (
                prop::collection::vec(vip(v6), 0..3),
                prop::collection::vec(vip(false), 0..2),
                (
                    prop::collection::vec(route(), 0..3),
                    prop::collection::vec(rule(), 0..3),
                ),
                track_refs(scripts.clone(), 253),
                track_refs(vec!["eth1".into(), "bond0".into()], 253),
                track_refs(files.clone(), 254),
                notify(),
            );
            let tail = (
                any::<bool>(),
                0u64..=1000,
                any::<bool>(),
                prop::option::of(any::<u32>()),
                prop::collection::vec(any::<u32>(), 0..3),
                garp(),
                any::<bool>(),
                any::<bool>(),
            );
            (body, tail).prop_map(
                move |(
                    (vips, excl, routes, ts, ti, tf, notify),
                    (preempt, delay, accept, src, peers, garp, dtp, lower),
                )| {
                    let mut c = InstanceConfig::new(
                        format!("VI_{i}"),
                        ifname.clone(),
                        u8::try_from(i + 1).unwrap_or(1),
                    );
                    c.initial_state = if master {
                        InitialState::Master
                    } else {
                        InitialState::Backup
                    };
                    c.use_vmac = vmac.clone();
                    c.vmac_xmit_base = xmit;
                    c.priority = prio;
                    c.version = if v3 { Version::V3 } else { Version::V2 };
                    c.advert_interval = if v3 {
                        Duration::from_millis(u64::from(adv) * 10)
                    } else {
                        Duration::from_secs(u64::from(adv % 255) + 1)
                    };
                    c.auth = if v3 {
                        None
                    } else {
                        pass.clone().map(AuthConfig::Pass)
                    };
                    c.vips = vips;
                    c.vips_excluded = excl;
                    (c.virtual_routes, c.virtual_rules) = routes;
                    c.track_scripts = ts;
                    c.track_interfaces = ti;
                    c.track_files = tf;
                    c.notify = notify;
                    // keepalived rules: MASTER keeps preempting; nopreempt resets preempt_delay.
                    c.preempt = preempt || master;
                    // ... and MASTER clears preempt_delay.
                    c.preempt_delay = if c.preempt && !master {
                        Duration::from_secs(delay)
                    } else {
                        Duration::ZERO
                    };
                    c.accept = accept;
                    let to_ip = |x: u32| {
                        if v6 {
                            IpAddr::V6(Ipv6Addr::from(u128::from(x) << 64 | 1))
                        } else {
                            IpAddr::V4(Ipv4Addr::from(x))
                        }
                    };
                    // keepalived requires a VIP with VRRPv3 or strict mode (and warns
                    // without one otherwise).
                    if c.vips.is_empty() {
                        c.vips.push(VirtualAddress::host(to_ip(0x0a09_0909)));
                    }
                    c.unicast_src = src.map(to_ip);
                    c.unicast_peers = peers.into_iter().map(to_ip).collect();
                    // Derived draws (the strategy tuple is at proptest's size limit): a TTL
                    // range on the first peer turns the source check on, as in keepalived.
                    c.check_unicast_src = !c.unicast_peers.is_empty() && dtp;
                    if let Some(&addr) = c.unicast_peers.first().filter(|_| lower && dtp) {
                        c.unicast_peer_ttl = vec![vrrp_engine::config::PeerTtl {
                            addr,
                            min: 64,
                            max: 255,
                        }];
                    }
                    if !c.unicast_peers.is_empty() && lower {
                        c.unicast_ttl = Some(10);
                    }
                    c.garp = garp;
                    c.dont_track_primary = dtp;
                    c.advert_on_lower_priority = lower;
                    c.higher_prio_send_advert = lower && dtp;
                    c.smtp_alert = dtp.then_some(lower);
                    // Both checksum modes, from two independent draws (the strategy tuple is
                    // at proptest's size limit).
                    c.checksum_mode = if dtp != lower {
                        vrrp_engine::wire::ChecksumMode::NoPseudoHeader
                    } else {
                        vrrp_engine::wire::ChecksumMode::PseudoHeader
                    };
                    c
                },
            )
        },
    )
}

/// A valid `virtual_server` block as text, from pools of keepalived lines; the model is what
/// the front end reads from it (typed values and verbatim lines), so print-then-parse must
/// give it back.
fn virtual_server() -> impl Strategy<Value = VirtualServerConfig> {
    const VS_LINES: &[&str] = &[
        "delay_loop 3",
        "lb_algo wrr",
        "lb_algo rr",
        "lb_kind DR",
        "lb_kind NAT",
        "persistence_timeout 50",
        "quorum 2",
        "hysteresis 1",
        "alpha",
        "omega",
        "inhibit_on_failure",
        "sorry_server 10.0.2.1 80",
        "virtualhost www.example.com",
        "weight 2",
        "retry 2",
        "delay_before_retry 2.5",
        "connect_timeout 3",
        "warmup 1",
        "quorum_up /bin/up",
    ];
    const RS_LINES: &[&str] = &[
        "weight 3",
        "inhibit_on_failure",
        "notify_up /bin/up",
        "notify_down \"/bin/down now\"",
        "retry 1",
        "delay_loop 2",
        "lvs_method DR",
    ];
    const CHECKERS: &[&str] = &[
        "TCP_CHECK {\n connect_timeout 2\n connect_port 8080\n retry 3\n }",
        "HTTP_GET {\n nb_get_retry 2\n url {\n path /\n status_code 200 301-302\n }\n }",
        "SSL_GET {\n url {\n path /x\n digest 9b3a0c85a887a256d6939da88e3d0b71\n }\n }",
        "MISC_CHECK {\n misc_path \"/bin/check a\"\n misc_dynamic\n }",
        "DNS_CHECK {\n type A\n }",
    ];
    let rs = (
        1u8..9,
        prop::sample::subsequence(RS_LINES, 0..3),
        prop::sample::subsequence(CHECKERS, 0..2),
    )
        .prop_map(|(n, lines, checks)| {
            format!(
                "real_server 10.0.1.{n} 80 {{\n{}\n{}\n}}",
                lines.join("\n"),
                checks.join("\n")
            )
        });
    (
        prop_oneof![
            (1u8..9).prop_map(|n| format!("10.0.0.{n} 80")),
            (1u32..99).prop_map(|n| format!("fwmark {n}")),
        ],
        prop::sample::subsequence(VS_LINES, 0..5),
        prop::collection::vec(rs, 0..3),
    )
        .prop_map(|(target, lines, rss)| {
            let text = format!(
                "virtual_server {target} {{\nprotocol TCP\n{}\n{}\n}}\n",
                lines.join("\n"),
                rss.join("\n")
            );
            let a = keepalived::analyze_str("vs.conf", &text, &Options::default());
            assert!(
                !a.findings
                    .iter()
                    .any(|f| f.severity == keepalived::Severity::Error),
                "{:?}\n{text}",
                a.findings
            );
            a.config.virtual_servers.into_iter().next().expect("one")
        })
}

fn config() -> impl Strategy<Value = Config> {
    (global(), 0usize..3, 0usize..2, 0usize..4, 0usize..3).prop_flat_map(|(g, ns, nf, ni, np)| {
        let scripts: Vec<_> = (0..ns).map(script).collect();
        let processes: Vec<_> = (0..np).map(track_process).collect();
        let pnames: Vec<String> = (0..np).map(|i| format!("tp_{i}")).collect();
        let process_lists = prop::collection::vec(process_refs(pnames), 6);
        let files: Vec<_> = (0..nf).map(track_file).collect();
        let snames: Vec<String> = (0..ns).map(|i| format!("chk_{i}")).collect();
        let fnames: Vec<String> = (0..nf).map(|i| format!("tf_{i}")).collect();
        let inames: Vec<String> = (0..ni).map(|i| format!("VI_{i}")).collect();
        let insts: Vec<_> = (0..ni)
            .map(|i| instance(i, snames.clone(), fnames.clone()))
            .collect();
        let groups = prop::collection::vec(
            (
                word(),
                prop::sample::subsequence(inames.clone(), 0..=ni),
                track_refs(snames.clone(), 253),
                track_refs(fnames.clone(), 254),
                any::<bool>(),
                notify(),
                prop::option::of(any::<bool>()),
            ),
            0..2,
        )
        .prop_map(|v| {
            v.into_iter()
                .map(
                    |(
                        name,
                        instances,
                        track_scripts,
                        track_files,
                        tracking_weight,
                        notify,
                        smtp,
                    )| {
                        SyncGroupConfig {
                            name,
                            instances,
                            track_scripts,
                            track_interfaces: Vec::new(),
                            track_files,
                            track_processes: Vec::new(),
                            tracking_weight,
                            notify,
                            smtp_alert: smtp,
                        }
                    },
                )
                .collect::<Vec<_>>()
        });
        (
            Just(g),
            scripts,
            files,
            insts,
            groups,
            prop::collection::vec(virtual_server(), 0..2),
            (processes, process_lists),
        )
            .prop_map(
                |(
                    global,
                    scripts,
                    track_files,
                    mut instances,
                    mut sync_groups,
                    virtual_servers,
                    (track_processes, mut lists),
                )| {
                    for i in &mut instances {
                        i.track_processes = lists.pop().unwrap_or_default();
                    }
                    for g in &mut sync_groups {
                        g.track_processes = lists.pop().unwrap_or_default();
                    }
                    // vrrp_strict: keepalived (and the front end) turns these off, and
                    // refuses unicast peers.
                    if global.strict {
                        for i in &mut instances {
                            i.unicast_peers.clear();
                            i.unicast_peer_ttl.clear();
                            i.unicast_ttl = None;
                            i.check_unicast_src = false;
                            i.auth = None;
                            i.preempt_delay = Duration::ZERO;
                            i.initial_state = if i.priority == 255 {
                                InitialState::Master
                            } else {
                                InitialState::Backup
                            };
                            // MASTER keeps preempting (nopreempt is cleared).
                            i.preempt |= i.initial_state == InitialState::Master;
                            if i.initial_state == InitialState::Master {
                                i.preempt_delay = Duration::ZERO;
                            }
                            // No Accept_Mode with VRRPv2 but for the owner.
                            if i.version == Version::V2 && i.priority != 255 {
                                i.accept = false;
                            }
                            i.garp.lower_prio_repeat = 0;
                            i.garp.lower_prio_delay = Duration::ZERO;
                            i.advert_on_lower_priority = false;
                            i.higher_prio_send_advert = false;
                            // `accept` is reset for VRRPv2 (RFC 3768 has no Accept_Mode).
                            if i.version == Version::V2 && i.priority != 255 {
                                i.accept = false;
                            }
                        }
                    }
                    Config {
                        global,
                        scripts,
                        track_files,
                        track_processes,
                        instances,
                        sync_groups,
                        virtual_servers,
                        virtual_server_groups: Vec::new(),
                    }
                },
            )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn print_then_parse_is_identity(cfg in config()) {
        let text = keepalived::print(&cfg);
        let a = keepalived::analyze_str("p.conf", &text, &Options::default());
        let errors: Vec<String> = a
            .findings
            .iter()
            .filter(|f| f.severity == keepalived::Severity::Error)
            .map(ToString::to_string)
            .collect();
        prop_assert!(errors.is_empty(), "{errors:?}\n{text}");
        prop_assert_eq!(&a.config, &cfg, "\n{}", text);
    }
}

/// Found by the `keepalived_conf` fuzz target (FUZZING.md): an unquoted word keeps a `"`
/// inside it (`backup"`), and a command's words are joined by one space, so a command can
/// hold a `"` and spaces, which no quoted word can: `print` wrote it as one quoted word,
/// which read back as an unterminated string.
#[test]
fn print_round_trips_a_command_with_a_quote_inside_a_word() {
    let text = "vrrp_sync_group G {\n    group {\n        VI_1\n    }\n    \
                notify_master \"/etc/keepalived/router.sh master \" /bin/x backup\"\n}\n\
                vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n}\n";
    let first = keepalived::analyze_str("k.conf", text, &Options::default());
    assert!(!first.has_errors(), "{:?}", first.findings);
    assert_eq!(
        first.config.sync_groups[0].notify.master.as_deref(),
        Some("/etc/keepalived/router.sh master  /bin/x backup\"")
    );
    let printed = keepalived::print(&first.config);
    let again = keepalived::analyze_str("p.conf", &printed, &Options::default());
    assert!(!again.has_errors(), "{:?}\n{printed}", again.findings);
    assert_eq!(again.config, first.config, "\n{printed}");
}

/// Found by the `keepalived_conf` fuzz target (FUZZING.md): a value that `print` writes first
/// on a line of its own (a list item) was read back by the preprocessor as a condition
/// (`@x`), a definition (`$A=1`) or an unsupported sequence (`~LST(a)`); quoting every such
/// word then broke a command holding a `"` (`script ~LSTc/check"x`).
#[test]
fn print_quotes_list_items_the_preprocessor_would_take() {
    // Not first on its line, such a word needs no quotes; a `"` in it could not be quoted.
    let text = "global_defs {\n    notification_email { ~LST(a) @x $A=1 }\n}\n\
                vrrp_script chk {\n    script ~LSTc/check\"x\n}\n";
    let first = keepalived::analyze_str("k.conf", text, &Options::default());
    assert!(!first.has_errors(), "{:?}", first.findings);
    assert_eq!(
        first.config.global.notification_email,
        ["~LST(a)", "@x", "$A=1"]
    );
    assert_eq!(first.config.scripts[0].script, "~LSTc/check\"x");
    let printed = keepalived::print(&first.config);
    let again = keepalived::analyze_str("p.conf", &printed, &Options::default());
    assert!(!again.has_errors(), "{:?}\n{printed}", again.findings);
    assert_eq!(again.config, first.config, "\n{printed}");
}

/// FUZZING.md #12: a `{` block after `status_code 200` inside `url { }`. keepalived applies
/// the keyword's line (and reads the block's lines as lines of `url`); the model took the code
/// but the kept lines `print` writes from dropped the whole keyword, so the printed text read
/// back without it.
#[test]
fn print_keeps_a_url_keyword_followed_by_a_block() {
    let text = "virtual_server 192.0.2.1 80 {\n    real_server 192.0.2.2 80 {\n        \
                HTTP_GET {\n            url {\n                path /health\n                \
                status_code 200 {\n                    stray 1\n                }\n            \
                }\n        }\n    }\n}\n";
    let first = keepalived::analyze_str("k.conf", text, &Options::default());
    assert!(!first.has_errors(), "{:?}", first.findings);
    assert!(
        first.findings.iter().any(|f| f
            .message
            .contains("block `status_code` inside url is not kept")),
        "{:?}",
        first.findings
    );
    let printed = keepalived::print(&first.config);
    assert!(printed.contains("status_code 200"), "{printed}");
    let again = keepalived::analyze_str("p.conf", &printed, &Options::default());
    assert!(!again.has_errors(), "{:?}\n{printed}", again.findings);
    assert_eq!(again.config, first.config, "\n{printed}");
}

/// keepalived 2.2.7 refuses 0 for `vrrp_garp_interval`, `vrrp_gna_interval` and
/// `vrrp_startup_delay` (`keepalived -t`: "number '0' outside range [0.000001, ...]"), though
/// 0 is their default: `print` leaves them out unless set, so `sim lab --daemon keepalived`
/// can hand keepalived the printed file.
#[test]
fn print_leaves_out_the_zero_delays_keepalived_refuses() {
    let text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n}\n";
    let cfg = keepalived::analyze_str("k.conf", text, &Options::default()).config;
    let printed = keepalived::print(&cfg);
    for key in [
        "vrrp_garp_interval",
        "vrrp_gna_interval",
        "vrrp_startup_delay",
    ] {
        assert!(!printed.contains(key), "{key} printed:\n{printed}");
    }
    let set = "global_defs {\n    vrrp_garp_interval 0.5\n    vrrp_startup_delay 2\n}\n";
    let cfg = keepalived::analyze_str("s.conf", &format!("{set}{text}"), &Options::default());
    let printed = keepalived::print(&cfg.config);
    assert!(printed.contains("vrrp_garp_interval 0.5"), "{printed}");
    assert!(printed.contains("vrrp_startup_delay 2"), "{printed}");
}

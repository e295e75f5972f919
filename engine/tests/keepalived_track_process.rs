//! `vrrp_track_process` and `track_process` read as keepalived 2.2.7's `vrrp_tprocess_*`
//! handlers and `alloc_track_process` read them, with every finding at FILE:LINE:COL.

use core::time::Duration;
use vrrp_engine::config::{ParamMatch, TrackProcessRef};
use vrrp_engine::keepalived::{self, Options};

fn analyze(text: &str) -> keepalived::Analysis {
    keepalived::analyze_str("t.conf", text, &Options::default())
}

fn findings(text: &str) -> Vec<String> {
    analyze(text)
        .findings
        .iter()
        .map(ToString::to_string)
        .collect()
}

const INST: &str = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        10.0.0.1\n    }\n";

#[test]
fn a_block_with_every_keyword() {
    let t = format!(
        "vrrp_track_process web {{\n    process nginx -g \"daemon off;\"\n    param_match partial\n    weight -20 reverse\n    quorum 2\n    quorum_max 4\n    fork_delay 0.5\n    terminate_delay 2\n}}\n{INST}    track_process {{\n        web weight 10 noreverse\n    }}\n}}\n"
    );
    let a = analyze(&t);
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    let p = &a.config.track_processes[0];
    assert_eq!(p.process, "nginx");
    assert_eq!(p.params, ["-g", "daemon off;"]);
    assert_eq!(p.param_match, ParamMatch::Partial);
    assert!(p.full_command);
    assert_eq!((p.weight, p.reverse), (-20, true));
    assert_eq!((p.quorum, p.quorum_max), (2, Some(4)));
    assert_eq!(p.fork_delay, Duration::from_millis(500));
    assert_eq!(p.terminate_delay, Duration::from_secs(2));
    assert_eq!(
        a.config.instances[0].track_processes,
        [TrackProcessRef {
            name: "web".into(),
            weight: Some(10),
            reverse: Some(false),
        }]
    );
}

#[test]
fn defaults_are_keepalived_s() {
    let t = "vrrp_track_process p {\n    process sleep\n    delay 1\n}\n";
    let a = analyze(t);
    let p = &a.config.track_processes[0];
    // `alloc_vrrp_process`: weight 0, quorum 1, no quorum_max; comm matched.
    assert_eq!(
        (p.weight, p.reverse, p.quorum, p.quorum_max),
        (0, false, 1, None)
    );
    assert_eq!((p.full_command, p.param_match), (false, ParamMatch::None));
    assert_eq!(
        (p.fork_delay, p.terminate_delay),
        (Duration::from_secs(1), Duration::from_secs(1))
    );
    // `quorum_max 0` sets the quorum to 0.
    let a = analyze("vrrp_track_process p {\n    process sleep\n    quorum_max 0\n}\n");
    assert_eq!(
        (
            a.config.track_processes[0].quorum,
            a.config.track_processes[0].quorum_max
        ),
        (0, Some(0))
    );
}

#[test]
fn bad_values_are_reported_where_they_are() {
    let t = "vrrp_track_process p {\n    weight 300\n    quorum 5\n    quorum_max 2\n    delay 0\n    param_match fuzzy\n    wait 1\n}\n";
    assert_eq!(
        findings(t),
        [
            "t.conf:1:20: error: track process 'p' process name not specified",
            "t.conf:2:12: error: `weight` 300 is out of range -254..254",
            "t.conf:4:5: error: quorum_max is less than quorum - ignoring",
            "t.conf:5:11: error: `delay` 0 is out of range 0.000001..3600",
            "t.conf:6:17: error: Invalid param_match type fuzzy - ignoring",
            "t.conf:7:5: warning: unknown keyword `wait` in vrrp_track_process",
        ]
    );
    assert!(analyze(t).config.track_processes.is_empty());
}

#[test]
fn references_to_unknown_or_repeated_processes_are_ignored() {
    let t = format!(
        "vrrp_track_process p {{\n    process sleep\n}}\n{INST}    track_process {{\n        p\n        p weight 5\n        q\n        p wait\n    }}\n}}\n"
    );
    assert_eq!(
        findings(&t),
        [
            "t.conf:12:9: error: (VI_1) duplicate track_process p - ignoring",
            "t.conf:13:9: error: (VI_1) track process q not found, ignoring...",
            "t.conf:14:11: error: unknown track process option wait - ignoring",
        ]
    );
    let a = analyze(&t);
    assert_eq!(
        a.config.instances[0].track_processes,
        [TrackProcessRef::new("p")]
    );
}

#[test]
fn no_longer_reported_as_not_acted_on() {
    let t = format!(
        "vrrp_track_process p {{\n    process sleep\n}}\n{INST}    track_process {{\n        p\n    }}\n}}\nvrrp_sync_group G {{\n    group {{\n        VI_1\n    }}\n    track_process {{\n        p weight 0\n    }}\n}}\n"
    );
    let f = findings(&t);
    assert!(f.iter().all(|f| !f.contains("not acted on")), "{f:?}");
    let a = analyze(&t);
    assert_eq!(a.config.sync_groups[0].track_processes[0].weight, Some(0));
}

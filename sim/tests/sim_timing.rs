//! The simulator against the RFC formulas, to the nanosecond, with zero latency.

use std::path::Path;
use vrrp_sim::backend::event_queue::run;
use vrrp_sim::backend::RunSpec;
use vrrp_sim::experiment::parse;

fn node(name: &str, addr: &str, state: &str, prio: u8, version: u8, advert: &str) -> String {
    format!(
        r#"
[[nodes]]
name = "{name}"
address = "{addr}"
config = """
vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id 51
    priority {prio}
    version {version}
    advert_int {advert}
    virtual_ipaddress {{
        172.20.0.100/24
    }}
}}
"""
"#
    )
}

/// Node a (Master, `prios.0`) and node b (Backup, `prios.1`); `fault` hits a at `at`.
fn experiment(
    prios: (u8, u8),
    version: u8,
    advert: &str,
    fault: &str,
    at: &str,
    duration: &str,
) -> String {
    format!(
        "name = \"t\"\nduration = \"{duration}\"\n[network]\nlatency = \"0s\"\n{}{}\n[[timeline]]\nat = \"{at}\"\naction = \"{fault}\"\nnode = \"a\"\n",
        node("a", "172.20.0.11", "MASTER", prios.0, version, advert),
        node("b", "172.20.0.12", "BACKUP", prios.1, version, advert)
    )
}

fn single(text: &str) -> vrrp_sim::observe::metrics::RunResult {
    let exp = parse(Path::new("t.toml"), text).expect("valid experiment");
    run(RunSpec {
        experiment: &exp,
        variant: &exp.variants[0],
        seed: 0,
        record: false,
        capture: false,
        trace: false,
    })
    .0
}

#[test]
fn v2_hard_kill_takeover_is_3_6484375_s_after_the_last_advert() {
    let r = single(&experiment((100, 90), 2, "1", "kill", "10.5s", "30s"));
    // a became Master at 3.609375 s and advertised every second: last advert at 9.609375 s.
    assert_eq!(r.takeover_after_last_advert, vec![3.6484375]);
    assert_eq!(r.failover_times, vec![9.609375 + 3.6484375 - 10.5]);
    assert_eq!(r.master_changes, 1);
}

#[test]
fn v2_graceful_stop_takeover_is_skew_time() {
    let r = single(&experiment((100, 90), 2, "1", "stop", "10.5s", "30s"));
    assert_eq!(r.takeover_after_last_advert, vec![0.6484375]);
    assert_eq!(r.failover_times, vec![0.6484375]);
}

#[test]
fn v3_10ms_hard_kill_takeover_is_36_09375_ms() {
    // Backup priority 100: Skew_Time = 156 x 10 ms / 256 = 6.09375 ms.
    let r = single(&experiment((200, 100), 3, "0.01", "kill", "1.0005s", "2s"));
    assert_eq!(r.takeover_after_last_advert.len(), 1);
    assert!(
        (r.takeover_after_last_advert[0] - 0.036_093_75).abs() < 1e-9,
        "{:?}",
        r.takeover_after_last_advert
    );
}

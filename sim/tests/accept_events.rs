//! Accept_Mode off in the simulator: the engine's firewall outputs appear in events.csv as
//! `vip_block` right before the Master's `vip_add` and `vip_unblock` right after its
//! `vip_del`, at the exact times (Master_Down_Interval at priority 100: 3 + 156/256 s).

use std::path::Path;
use vrrp_sim::backend::{event_queue, RunSpec};
use vrrp_sim::experiment::parse;

const EXP: &str = r#"
name = "accept"
duration = "10s"
[[nodes]]
name = "a"
address = "10.0.0.11"
config = """
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    ACCEPT
    virtual_ipaddress {
        10.0.0.100
    }
}
"""
[[timeline]]
at = "6s"
action = "stop"
node = "a"
"#;

/// (time, kind, detail) of the VIP and firewall rows of a one-node run.
fn rows(accept: &str) -> Vec<(String, &'static str, String)> {
    let exp = parse(Path::new("t.toml"), &EXP.replace("ACCEPT", accept)).expect("valid");
    let (_, rec) = event_queue::run(RunSpec {
        experiment: &exp,
        variant: &exp.variants[0],
        seed: 0,
        record: true,
        capture: false,
        trace: false,
    });
    rec.expect("recorded")
        .events
        .into_iter()
        .filter(|e| e.kind.starts_with("vip_"))
        .map(|e| (e.time_s, e.kind, e.detail))
        .collect()
}

fn row(t: &str, kind: &'static str) -> (String, &'static str, String) {
    (t.to_string(), kind, "10.0.0.100".to_string())
}

#[test]
fn no_accept_blocks_around_the_vips() {
    assert_eq!(
        rows("no_accept"),
        [
            row("3.609375", "vip_block"),
            row("3.609375", "vip_add"),
            row("6.000000", "vip_del"),
            row("6.000000", "vip_unblock"),
        ]
    );
    assert_eq!(
        rows("accept"),
        [row("3.609375", "vip_add"), row("6.000000", "vip_del")]
    );
}

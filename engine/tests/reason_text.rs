//! `Reason`'s `Display`: the words of the simulator's `events.csv` and the daemon's log.

use vrrp_engine::io::FaultCause;
use vrrp_engine::Reason;

#[test]
fn every_reason_in_words() {
    let cases = [
        (Reason::Startup, "startup"),
        (Reason::AddressOwner, "address owner"),
        (Reason::MasterDown, "master down timer"),
        (
            Reason::HigherPriority {
                from: "10.0.0.2".parse().unwrap(),
                priority: 120,
            },
            "higher priority 120 from 10.0.0.2",
        ),
        (Reason::Shutdown, "shutdown"),
        (
            Reason::Fault {
                cause: FaultCause::Script("chk_nginx".into()),
            },
            "fault: Script(\"chk_nginx\")",
        ),
        (
            Reason::Fault {
                cause: FaultCause::InterfaceDown("eth0".into()),
            },
            "fault: InterfaceDown(\"eth0\")",
        ),
        (Reason::FaultCleared, "fault cleared"),
        (
            Reason::RouteDeleted {
                route: "203.0.113.0/24 dev eth0".into(),
            },
            "route deleted: 203.0.113.0/24 dev eth0",
        ),
        (
            Reason::RuleDeleted {
                rule: "inet from 10.0.0.1/32 preference 100 table 100".into(),
            },
            "rule deleted: inet from 10.0.0.1/32 preference 100 table 100",
        ),
    ];
    for (r, text) in cases {
        assert_eq!(r.to_string(), text);
    }
}

//! The JSONL trace schema (`docs/trace.md`) as one type, written by `vrrpd-real --trace` and
//! by the simulator, and read back by `sim compare` and `sim lab`.
//!
//! One line is a [`TraceLine`]: `t`, `node`, and the [`TraceEvent`], whose variant gives the
//! line's `kind` and its fields. Serialized with `serde_json`, a line has its keys in the
//! order of `docs/trace.md` (`t`, `node`, `kind`, then the kind's fields); payloads are
//! lower-case hex strings, states are keepalived's names (`INIT`, `BACKUP`, `MASTER`,
//! `FAULT`), `reason` is the engine's [`Reason`] as JSON.
//!
//! The engine itself does not trace (it has no clock and no files); [`TraceEvent::of_output`]
//! maps an engine [`Output`] to its line for a driver that does.

use crate::config::InstanceConfig;
use crate::io::{CheckOutcome, InstanceId, Output, Reason, State};
use crate::lvs::{IpvsChange, ServiceKey};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// One line of a trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceLine {
    /// Seconds since the writer's time origin.
    pub t: f64,
    /// The node: `router_id` (daemon) or the experiment's node name (simulator). Readers
    /// accept a line without it (empty).
    #[serde(default)]
    pub node: String,
    /// What happened: `kind` and its fields.
    #[serde(flatten)]
    pub event: TraceEvent,
}

/// What one trace line records; the variant is the line's `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceEvent {
    /// An instance changed state.
    State {
        /// The instance's name.
        instance: String,
        /// Its VRID.
        vrid: u8,
        /// The state it left.
        #[serde(with = "state_name")]
        from: State,
        /// The state it entered.
        #[serde(with = "state_name")]
        to: State,
        /// Why.
        reason: Reason,
        /// Effective priority at the change.
        priority: u8,
    },
    /// An advert sent.
    Tx {
        /// The sending instance.
        instance: String,
        /// The interface it went out on.
        interface: String,
        /// IP source.
        src: IpAddr,
        /// IP destination.
        dst: IpAddr,
        /// TTL / hop limit.
        ttl: u8,
        /// The VRRP message, checksum included, without IP header.
        #[serde(with = "hex")]
        hex: Vec<u8>,
    },
    /// A packet read (also one the engine then discards).
    Rx {
        /// The interface it came in on.
        interface: String,
        /// IP source.
        src: IpAddr,
        /// IP destination.
        dst: IpAddr,
        /// TTL / hop limit as received.
        ttl: u8,
        /// The VRRP message as received, without IP header.
        #[serde(with = "hex")]
        hex: Vec<u8>,
    },
    /// A VIP installed.
    VipAdd {
        /// The instance.
        instance: String,
        /// The interface.
        interface: String,
        /// The address.
        addr: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
    },
    /// A VIP removed.
    VipDel {
        /// The instance.
        instance: String,
        /// The interface.
        interface: String,
        /// The address.
        addr: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
    },
    /// One gratuitous ARP (IPv4) or unsolicited NA (IPv6).
    Announce {
        /// The instance.
        instance: String,
        /// The interface.
        interface: String,
        /// The announced address.
        addr: IpAddr,
    },
    /// One change to the IPVS table.
    Ipvs {
        /// The change (`op` and its fields).
        change: IpvsChange,
    },
    /// A real server joined or left its virtual server's pool.
    RealServer {
        /// The virtual service.
        service: ServiceKey,
        /// The real server.
        real_server: SocketAddr,
        /// Whether it is now alive.
        alive: bool,
    },
    /// A virtual server gained or lost its quorum.
    Quorum {
        /// The virtual service.
        service: ServiceKey,
        /// Whether the quorum is now met.
        up: bool,
    },
    /// A `virtual_routes` route installed.
    RouteAdd {
        /// The instance.
        instance: String,
        /// The route in keepalived's syntax.
        route: String,
    },
    /// A `virtual_routes` route removed.
    RouteDel {
        /// The instance.
        instance: String,
        /// The route in keepalived's syntax.
        route: String,
    },
    /// A `virtual_rules` rule installed.
    RuleAdd {
        /// The instance.
        instance: String,
        /// The rule in keepalived's syntax.
        rule: String,
    },
    /// A `virtual_rules` rule removed.
    RuleDel {
        /// The instance.
        instance: String,
        /// The rule in keepalived's syntax.
        rule: String,
    },
    /// A `vrrp_script`'s first result, or a change of its result.
    Script {
        /// The script's name.
        script: String,
        /// Whether it now counts as succeeding.
        good: bool,
        /// The run that decided it.
        outcome: CheckOutcome,
        /// Whether this was its first result.
        first: bool,
    },
    /// An instance's effective priority changed.
    Priority {
        /// The instance.
        instance: String,
        /// The priority it had.
        from: u8,
        /// The priority it has now.
        to: u8,
    },
    /// An operator's action carried out by the daemon (the simulator writes none): a command
    /// on its control socket, at once or scheduled with `at`, or a signal. `t` is when the
    /// daemon carried it out.
    Control {
        /// The action: `stop`, `reload`, `priority INSTANCE N`.
        command: String,
        /// How it came: `control` (the socket, at once), `scheduled` (an `at` command),
        /// `SIGHUP`, `SIGTERM`, `SIGINT`.
        via: String,
        /// A scheduled action's instant (seconds on the trace's clock); `null` otherwise.
        due: Option<f64>,
    },
    /// A `vrrp_sync_group` changed state.
    SyncGroup {
        /// The group's name.
        group: String,
        /// Previous state.
        #[serde(with = "state_name")]
        from: State,
        /// New state.
        #[serde(with = "state_name")]
        to: State,
    },
}

impl TraceEvent {
    /// The line of an engine output (`None`: check and probe runs, mails and Accept_Mode's
    /// firewall changes are not traced); `instance` resolves
    /// an instance id to its configuration (an unknown id gives an empty name).
    pub fn of_output<'c>(
        instance: impl Fn(InstanceId) -> Option<&'c InstanceConfig>,
        out: &Output,
    ) -> Option<TraceEvent> {
        let inst = |id: u32| instance(InstanceId(id));
        let name = |id: u32| inst(id).map_or(String::new(), |i| i.name.clone());
        Some(match out {
            Output::StateChanged(c) => TraceEvent::State {
                instance: name(c.instance.0),
                vrid: inst(c.instance.0).map_or(0, |i| i.vrid),
                from: c.from,
                to: c.to,
                reason: c.reason.clone(),
                priority: c.priority,
            },
            Output::Transmit(x) => TraceEvent::Tx {
                instance: name(x.instance.0),
                interface: x.interface.to_string(),
                src: x.src,
                dst: x.dst,
                ttl: x.ttl,
                hex: x.payload.clone(),
            },
            Output::AddVip {
                instance,
                interface,
                vip,
            } => TraceEvent::VipAdd {
                instance: name(instance.0),
                interface: interface.to_string(),
                addr: vip.addr,
                prefix_len: vip.prefix_len,
            },
            Output::RemoveVip {
                instance,
                interface,
                vip,
            } => TraceEvent::VipDel {
                instance: name(instance.0),
                interface: interface.to_string(),
                addr: vip.addr,
                prefix_len: vip.prefix_len,
            },
            Output::Announce {
                instance,
                interface,
                addr,
            } => TraceEvent::Announce {
                instance: name(instance.0),
                interface: interface.to_string(),
                addr: *addr,
            },
            Output::Ipvs(change) => TraceEvent::Ipvs {
                change: change.clone(),
            },
            Output::RealServerChanged {
                service,
                real_server,
                alive,
                ..
            } => TraceEvent::RealServer {
                service: *service,
                real_server: *real_server,
                alive: *alive,
            },
            Output::QuorumChanged { service, up, .. } => TraceEvent::Quorum {
                service: *service,
                up: *up,
            },
            Output::SyncGroupChanged(c) => TraceEvent::SyncGroup {
                group: c.group.clone(),
                from: c.from,
                to: c.to,
            },
            Output::AddRoute { instance, route } => TraceEvent::RouteAdd {
                instance: name(instance.0),
                route: route.to_string(),
            },
            Output::RemoveRoute { instance, route } => TraceEvent::RouteDel {
                instance: name(instance.0),
                route: route.to_string(),
            },
            Output::AddRule { instance, rule } => TraceEvent::RuleAdd {
                instance: name(instance.0),
                rule: rule.to_string(),
            },
            Output::RemoveRule { instance, rule } => TraceEvent::RuleDel {
                instance: name(instance.0),
                rule: rule.to_string(),
            },
            Output::ScriptChanged(c) => TraceEvent::Script {
                script: c.name.clone(),
                good: c.good,
                outcome: c.outcome,
                first: c.first,
            },
            Output::PriorityChanged(c) => TraceEvent::Priority {
                instance: name(c.instance.0),
                from: c.from,
                to: c.to,
            },
            Output::RunCheck { .. } | Output::RunProbe { .. } | Output::Alert(_) => return None,
            // Accept_Mode's firewall changes: logged by the daemon, events in the simulator.
            Output::BlockVips { .. } | Output::UnblockVips { .. } => return None,
        })
    }

    /// The line's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            TraceEvent::State { .. } => "state",
            TraceEvent::Tx { .. } => "tx",
            TraceEvent::Rx { .. } => "rx",
            TraceEvent::VipAdd { .. } => "vip_add",
            TraceEvent::VipDel { .. } => "vip_del",
            TraceEvent::Announce { .. } => "announce",
            TraceEvent::Ipvs { .. } => "ipvs",
            TraceEvent::RealServer { .. } => "real_server",
            TraceEvent::Quorum { .. } => "quorum",
            TraceEvent::RouteAdd { .. } => "route_add",
            TraceEvent::RouteDel { .. } => "route_del",
            TraceEvent::RuleAdd { .. } => "rule_add",
            TraceEvent::RuleDel { .. } => "rule_del",
            TraceEvent::SyncGroup { .. } => "sync_group",
            TraceEvent::Script { .. } => "script",
            TraceEvent::Priority { .. } => "priority",
            TraceEvent::Control { .. } => "control",
        }
    }
}

/// [`State`] as keepalived's names (`INIT`, not the enum's own `INITIALIZE`).
mod state_name {
    use crate::io::State;
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &State, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<State, D::Error> {
        let s = String::deserialize(de)?;
        [
            State::Initialize,
            State::Backup,
            State::Master,
            State::Fault,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| {
            de::Error::custom(format!(
                "unknown state {s:?} (INIT, BACKUP, MASTER or FAULT)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of `docs/trace.md`, one line per kind (`rx`, `vip_del` and `control` added).
    const EXAMPLE: &str = r#"{"t":3.610349,"node":"A","kind":"state","instance":"VI_1","vrid":51,"from":"BACKUP","to":"MASTER","reason":{"kind":"master_down"},"priority":100}
{"t":3.610712,"node":"A","kind":"vip_add","instance":"VI_1","interface":"eth0","addr":"10.1.2.100","prefix_len":32}
{"t":3.610931,"node":"A","kind":"tx","instance":"VI_1","interface":"eth0","src":"10.1.2.1","dst":"224.0.0.18","ttl":255,"hex":"213364010101f81f0a0102647365637265743100"}
{"t":3.611004,"node":"A","kind":"announce","instance":"VI_1","interface":"eth0","addr":"10.1.2.100"}
{"t":4.5,"node":"A","kind":"rx","interface":"eth0","src":"fe80::2","dst":"ff02::12","ttl":255,"hex":"3133640100640000fe800000000000000000000000000001"}
{"t":9,"node":"A","kind":"state","instance":"VI_1","vrid":51,"from":"MASTER","to":"FAULT","reason":{"kind":"fault","cause":{"kind":"interface_down","name":"eth0"}},"priority":100}
{"t":9.25,"node":"A","kind":"vip_del","instance":"VI_1","interface":"eth0","addr":"10.1.2.100","prefix_len":32}
{"t":12.000061,"node":"A","kind":"control","command":"stop","via":"scheduled","due":12.0}
{"t":14.2,"node":"A","kind":"control","command":"reload","via":"SIGHUP","due":null}"#;

    #[test]
    fn docs_example_lines_round_trip() {
        for line in EXAMPLE.lines() {
            let a: TraceLine = serde_json::from_str(line).unwrap();
            let text = serde_json::to_string(&a).unwrap();
            let b: TraceLine = serde_json::from_str(&text).unwrap();
            assert_eq!(a, b, "{line}\n{text}");
            // Same fields, same values (key order aside; `9` reads back as `9.0`).
            let v1: serde_json::Value = serde_json::from_str(line).unwrap();
            let v2: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                v1.as_object().unwrap().keys().collect::<Vec<_>>().len(),
                v2.as_object().unwrap().len()
            );
            for (k, v) in v1.as_object().unwrap() {
                if k == "t" {
                    assert_eq!(v.as_f64(), v2[k].as_f64());
                } else {
                    assert_eq!(v, &v2[k], "{k} in {line}");
                }
            }
        }
    }

    #[test]
    fn written_keys_follow_the_schema_order() {
        let line = TraceLine {
            t: 1.5,
            node: "a".into(),
            event: TraceEvent::Tx {
                instance: "VI_1".into(),
                interface: "eth0".into(),
                src: "10.0.0.1".parse().unwrap(),
                dst: "224.0.0.18".parse().unwrap(),
                ttl: 255,
                hex: vec![0x21, 0xAB],
            },
        };
        assert_eq!(
            serde_json::to_string(&line).unwrap(),
            r#"{"t":1.5,"node":"a","kind":"tx","instance":"VI_1","interface":"eth0","src":"10.0.0.1","dst":"224.0.0.18","ttl":255,"hex":"21ab"}"#
        );
    }

    #[test]
    fn a_line_without_node_reads_and_a_bad_one_does_not() {
        let l: TraceLine = serde_json::from_str(
            r#"{"t":0,"kind":"announce","instance":"I","interface":"e","addr":"10.0.0.1"}"#,
        )
        .unwrap();
        assert_eq!(l.node, "");
        assert_eq!(l.event.kind(), "announce");
        for bad in [
            r#"{"t":0,"kind":"nonsense"}"#,
            r#"{"t":0,"kind":"tx","instance":"I","interface":"e","src":"10.0.0.1","dst":"224.0.0.18","ttl":255,"hex":"2g"}"#,
            r#"{"t":0,"kind":"state","instance":"I","vrid":1,"from":"INITIALIZE","to":"BACKUP","reason":{"kind":"startup"},"priority":100}"#,
        ] {
            assert!(serde_json::from_str::<TraceLine>(bad).is_err(), "{bad}");
        }
    }
}

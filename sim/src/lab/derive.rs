//! The trace of a node whose daemon is keepalived, derived from what the lab observed:
//! keepalived writes no trace. Inputs, all on the lab clock (seconds):
//!
//! - the lines keepalived writes to its `vrrp_notify_fifo` (`INSTANCE "VI_1" MASTER 100`,
//!   `GROUP "G" BACKUP 0`, `... MASTER_PRIORITY 95`), stamped by the lab's reader thread when
//!   it read them;
//! - the node's packets, captured on its interface ([`super::capture`]);
//! - the VIPs added and removed (`ip monitor address` in its namespace), stamped when read;
//! - the instants the lab spawned its daemon.
//!
//! What each trace field comes from is [`NOTE`].

use super::capture::Packet;
use crate::observe::trace::{TraceEvent, TraceLine};
use std::collections::BTreeMap;
use std::net::IpAddr;
use vrrp_engine::config::Config;
use vrrp_engine::io::{FaultCause, Reason, State};

/// How each field of a derived trace is obtained, for the run's note file and stdout.
pub const NOTE: &str = "\
Traces of keepalived nodes are derived (keepalived writes no trace):
- state lines: the sequence, the states and `priority` are keepalived's own, read from its
  vrrp_notify_fifo (a FIFO the lab reads on a thread and stamps with CLOCK_MONOTONIC when
  read). `t`: for a transition into MASTER, the capture instant of the first advert it sent
  (keepalived sends it before adding the VIPs and writing the FIFO line); for MASTER ->
  BACKUP, the capture instant of the better advert it received; for a Master's shutdown
  (STOP), the capture instant of its priority-0 advert; otherwise the instant the FIFO line
  was read (typically 0.05-1 ms after keepalived wrote it). A STOP line is a transition to
  INIT; a killed daemon writes none (as the simulator, which traces nothing when a node is
  killed). `reason` is inferred: startup (INIT -> BACKUP), address owner (INIT -> MASTER),
  master down timer (BACKUP -> MASTER), higher priority from the sender of that better
  advert (MASTER -> BACKUP), shutdown (STOP), fault cleared (FAULT -> ...), and for FAULT
  the latest link_down or check_fail of that node before it.
- tx / rx lines: every VRRP packet captured on the node's interface (dumpcap), sent (Ethernet
  source = the node's MAC) or received, with its exact bytes, IP source, destination and
  TTL; `t` is the capture timestamp (CLOCK_REALTIME, moved onto the lab's CLOCK_MONOTONIC by
  an offset sampled once). The instance is found by VRID and address family.
- announce lines: gratuitous ARPs and unsolicited neighbour advertisements the node sent, as
  captured.
- vip_add / vip_del lines: `ip monitor address` in the node's namespace, stamped when read;
  the instance is the one whose virtual_ipaddress holds the address.
- priority lines: keepalived's MASTER_PRIORITY / BACKUP_PRIORITY FIFO events; sync_group
  lines: its GROUP FIFO lines.
- Not derived: script lines (keepalived reports no check result), the route and rule lines.
- Each daemon start is the instant of its first FIFO line (keepalived has no --start-at:
  it is spawned at the planned instant and starts when it has read its configuration).";

/// One line keepalived wrote to its notify FIFO.
#[derive(Clone, Debug, PartialEq)]
pub struct Notify {
    /// When the lab read it.
    pub t: f64,
    /// `GROUP` (a sync group) rather than `INSTANCE`.
    pub group: bool,
    /// The instance's or group's name.
    pub name: String,
    /// `MASTER`, `BACKUP`, `FAULT`, `STOP`, `DELETED`, `MASTER_PRIORITY`, ...
    pub state: String,
    /// The effective priority (0 for a group).
    pub priority: u8,
}

/// Parses `INSTANCE "VI_1" MASTER 100` read at `t`.
pub fn parse_notify(t: f64, line: &str) -> Option<Notify> {
    let (kind, rest) = line.trim().split_once(' ')?;
    let rest = rest.strip_prefix('"')?;
    let (name, rest) = rest.split_once('"')?;
    let mut words = rest.split_whitespace();
    let state = words.next()?.to_string();
    let priority = words.next()?.parse().ok()?;
    Some(Notify {
        t,
        group: match kind {
            "GROUP" => true,
            "INSTANCE" => false,
            _ => return None,
        },
        name: name.to_string(),
        state,
        priority,
    })
}

/// An address added or removed in a node's namespace.
#[derive(Clone, Debug, PartialEq)]
pub struct AddrChange {
    /// When the lab read it.
    pub t: f64,
    /// Added (else removed).
    pub add: bool,
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
}

/// Parses one line of `ip -o monitor address` read at `t` (`[Deleted ]N: DEV inet A/P ...`).
pub fn parse_monitor(t: f64, line: &str) -> Option<AddrChange> {
    let add = !line.starts_with("Deleted");
    let mut words = line.split_whitespace();
    words.find(|w| *w == "inet" || *w == "inet6")?;
    let (a, p) = words.next()?.split_once('/')?;
    Some(AddrChange {
        t,
        add,
        addr: a.parse().ok()?,
        prefix_len: p.parse().ok()?,
    })
}

/// What the lab observed of one node.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Its notify FIFO lines.
    pub notify: Vec<Notify>,
    /// Its address changes.
    pub addrs: Vec<AddrChange>,
    /// Its captured packets, lab time.
    pub packets: Vec<(f64, Packet)>,
    /// When each of its daemons was spawned.
    pub spawns: Vec<f64>,
    /// Its link_down / check_fail faults: (lab time, the cause a FAULT after it has).
    pub faults: Vec<(f64, FaultCause)>,
}

/// The node as the derivation needs it.
#[derive(Clone, Debug)]
pub struct NodeView<'a> {
    /// Its configurations: the first, then each reload's.
    pub configs: Vec<&'a Config>,
    /// Its interface's MAC address.
    pub mac: [u8; 6],
}

/// A derived trace and what the derivation found.
#[derive(Clone, Debug, Default)]
pub struct Derived {
    /// The trace lines, in time order.
    pub lines: Vec<TraceLine>,
    /// Per spawn: when the daemon started (its first FIFO line), if it did.
    pub starts: Vec<Option<f64>>,
    /// Per transition whose time came from a packet: (packet time - FIFO read time), seconds.
    pub refined: Vec<f64>,
}

/// How far from a FIFO line the packet that times its transition may be.
const WINDOW: f64 = 0.05;

impl NodeView<'_> {
    /// The instance of VRID `vrid` for an address family, latest configuration first.
    fn instance_of(&self, vrid: u8, v6: bool) -> Option<(&str, &str)> {
        self.configs.iter().rev().find_map(|c| {
            c.instances
                .iter()
                .find(|i| i.vrid == vrid && i.vips.first().is_none_or(|a| a.addr.is_ipv6() == v6))
                .map(|i| (i.name.as_str(), i.interface.as_str()))
        })
    }

    fn vrid_of(&self, instance: &str) -> Option<u8> {
        self.configs
            .iter()
            .rev()
            .find_map(|c| c.instances.iter().find(|i| i.name == instance))
            .map(|i| i.vrid)
    }

    fn instance_holding(&self, addr: IpAddr) -> Option<(&str, &str)> {
        self.configs.iter().rev().find_map(|c| {
            c.instances
                .iter()
                .find(|i| {
                    i.vips
                        .iter()
                        .chain(&i.vips_excluded)
                        .any(|v| v.addr == addr)
                })
                .map(|i| (i.name.as_str(), i.interface.as_str()))
        })
    }
}

fn state_of(s: &str) -> Option<State> {
    Some(match s {
        "MASTER" => State::Master,
        "BACKUP" => State::Backup,
        "FAULT" => State::Fault,
        "STOP" | "DELETED" => State::Initialize,
        _ => return None,
    })
}

/// A VRRP packet's VRID and priority (`None` if too short).
fn vrid_prio(payload: &[u8]) -> Option<(u8, u8)> {
    Some((*payload.get(1)?, *payload.get(2)?))
}

/// Derives node `node`'s trace (named `name`) from what the lab observed.
pub fn derive(name: &str, node: &NodeView<'_>, obs: &Observed) -> Derived {
    let mut d = Derived::default();
    let push = |lines: &mut Vec<TraceLine>, t: f64, event: TraceEvent| {
        lines.push(TraceLine {
            t: (t * 1e6).round() / 1e6,
            node: name.to_string(),
            event,
        })
    };
    // Packets: tx, rx, announce.
    let mut sent = Vec::new(); // (t, vrid, prio) of adverts sent
    let mut heard = Vec::new(); // (t, vrid, prio, src) of adverts received
    for (t, p) in &obs.packets {
        let out = p.eth_src() == node.mac;
        match p {
            Packet::Vrrp {
                src,
                dst,
                ttl,
                payload,
                ..
            } => {
                let Some((vrid, prio)) = vrid_prio(payload) else {
                    continue;
                };
                let found = node.instance_of(vrid, src.is_ipv6());
                let interface = found.map(|(_, i)| i.to_string()).unwrap_or_default();
                if out {
                    sent.push((*t, vrid, prio));
                    push(
                        &mut d.lines,
                        *t,
                        TraceEvent::Tx {
                            instance: found.map(|(n, _)| n.to_string()).unwrap_or_default(),
                            interface,
                            src: *src,
                            dst: *dst,
                            ttl: *ttl,
                            hex: payload.clone(),
                        },
                    );
                } else {
                    heard.push((*t, vrid, prio, *src));
                    push(
                        &mut d.lines,
                        *t,
                        TraceEvent::Rx {
                            interface,
                            src: *src,
                            dst: *dst,
                            ttl: *ttl,
                            hex: payload.clone(),
                        },
                    );
                }
            }
            Packet::Announce { addr, .. } if out => {
                if let Some((instance, interface)) = node.instance_holding(*addr) {
                    push(
                        &mut d.lines,
                        *t,
                        TraceEvent::Announce {
                            instance: instance.to_string(),
                            interface: interface.to_string(),
                            addr: *addr,
                        },
                    );
                }
            }
            Packet::Announce { .. } => {}
        }
    }
    for a in &obs.addrs {
        let Some((instance, interface)) = node.instance_holding(a.addr) else {
            continue;
        };
        let (instance, interface) = (instance.to_string(), interface.to_string());
        let event = if a.add {
            TraceEvent::VipAdd {
                instance,
                interface,
                addr: a.addr,
                prefix_len: a.prefix_len,
            }
        } else {
            TraceEvent::VipDel {
                instance,
                interface,
                addr: a.addr,
                prefix_len: a.prefix_len,
            }
        };
        push(&mut d.lines, a.t, event);
    }
    // States, per daemon start.
    let mut states: BTreeMap<String, State> = BTreeMap::new();
    let mut prios: BTreeMap<String, u8> = BTreeMap::new();
    let mut groups: BTreeMap<String, State> = BTreeMap::new();
    d.starts = vec![None; obs.spawns.len()];
    let mut spawn = 0usize;
    for n in &obs.notify {
        while spawn < obs.spawns.len() && obs.spawns[spawn] <= n.t {
            spawn += 1;
            states.clear();
            groups.clear();
        }
        if spawn > 0 && d.starts[spawn - 1].is_none() {
            d.starts[spawn - 1] = Some(n.t);
        }
        if n.group {
            let Some(to) = state_of(&n.state) else {
                continue;
            };
            let from = groups
                .insert(n.name.clone(), to)
                .unwrap_or(State::Initialize);
            if from != to {
                push(
                    &mut d.lines,
                    n.t,
                    TraceEvent::SyncGroup {
                        group: n.name.clone(),
                        from,
                        to,
                    },
                );
            }
            continue;
        }
        let old_prio = prios.insert(n.name.clone(), n.priority);
        if n.state.ends_with("_PRIORITY") {
            if let Some(from) = old_prio.filter(|p| *p != n.priority) {
                push(
                    &mut d.lines,
                    n.t,
                    TraceEvent::Priority {
                        instance: n.name.clone(),
                        from,
                        to: n.priority,
                    },
                );
            }
            continue;
        }
        let Some(to) = state_of(&n.state) else {
            continue;
        };
        let from = states
            .insert(n.name.clone(), to)
            .unwrap_or(State::Initialize);
        if from == to {
            continue;
        }
        let vrid = node.vrid_of(&n.name).unwrap_or(0);
        let mut t = n.t;
        let mut refine = |found: Option<(f64, IpAddr, u8)>, t: &mut f64| {
            if let Some((x, _, _)) = found {
                d.refined.push(x - n.t);
                *t = x;
            }
            found
        };
        let unspecified = IpAddr::from([0, 0, 0, 0]);
        let reason = match (from, to) {
            (State::Initialize, State::Master) => Reason::AddressOwner,
            (State::Initialize, State::Fault) | (_, State::Fault) => Reason::Fault {
                cause: obs
                    .faults
                    .iter()
                    .rev()
                    .find(|(ft, _)| *ft <= n.t)
                    .map(|(_, c)| c.clone())
                    .unwrap_or(FaultCause::Script(String::new())),
            },
            (State::Initialize, _) => Reason::Startup,
            (State::Fault, _) => Reason::FaultCleared,
            (_, State::Initialize) => {
                if from == State::Master {
                    let mine = sent
                        .iter()
                        .filter(|(_, v, p)| *v == vrid && *p == 0)
                        .map(|(x, _, p)| (*x, unspecified, *p));
                    refine(nearest(mine, n.t), &mut t);
                }
                if n.state == "DELETED" {
                    Reason::Removed
                } else {
                    Reason::Shutdown
                }
            }
            (_, State::Master) => {
                let mine = sent
                    .iter()
                    .filter(|(x, v, p)| *v == vrid && *p > 0 && *x <= n.t)
                    .map(|(x, _, p)| (*x, unspecified, *p));
                // The first advert of the new Master: the latest sent before the FIFO line.
                let first = mine
                    .filter(|(x, _, _)| n.t - x <= WINDOW)
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                refine(first, &mut t);
                Reason::MasterDown
            }
            (State::Master, State::Backup) => {
                let better = heard
                    .iter()
                    .filter(|(_, v, p, _)| *v == vrid && *p >= n.priority)
                    .map(|(x, _, p, s)| (*x, *s, *p));
                match refine(nearest(better, n.t), &mut t) {
                    Some((_, from, priority)) => Reason::HigherPriority { from, priority },
                    None => Reason::HigherPriority {
                        from: unspecified,
                        priority: 0,
                    },
                }
            }
            _ => Reason::Startup,
        };
        if let Some(s) = d.starts.get_mut(spawn.wrapping_sub(1)) {
            if s.is_some_and(|s| s == n.t) {
                *s = Some(t);
            }
        }
        push(
            &mut d.lines,
            t,
            TraceEvent::State {
                instance: n.name.clone(),
                vrid,
                from,
                to,
                reason,
                priority: n.priority,
            },
        );
    }
    d.lines.sort_by(|a, b| a.t.total_cmp(&b.t));
    d
}

/// The packet (time, source, priority) nearest `t` within [`WINDOW`].
fn nearest(ts: impl Iterator<Item = (f64, IpAddr, u8)>, t: f64) -> Option<(f64, IpAddr, u8)> {
    ts.filter(|(x, _, _)| (x - t).abs() <= WINDOW)
        .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_and_monitor_lines_parse() {
        assert_eq!(
            parse_notify(1.5, "INSTANCE \"VI_1\" MASTER 100\n"),
            Some(Notify {
                t: 1.5,
                group: false,
                name: "VI_1".into(),
                state: "MASTER".into(),
                priority: 100
            })
        );
        assert_eq!(
            parse_notify(2.0, "GROUP \"G 1\" BACKUP 0").map(|n| (n.group, n.name)),
            Some((true, "G 1".into()))
        );
        assert_eq!(parse_notify(0.0, "garbage"), None);
        let del = parse_monitor(
            3.0,
            "Deleted 2: eth0    inet 172.20.0.100/24 scope global secondary eth0:1\\       valid_lft forever preferred_lft forever",
        )
        .unwrap();
        assert!(!del.add);
        assert_eq!(del.addr.to_string(), "172.20.0.100");
        assert_eq!(del.prefix_len, 24);
        let add = parse_monitor(4.0, "2: eth0    inet6 fe80::1/64 scope link").unwrap();
        assert!(add.add);
        assert_eq!(parse_monitor(5.0, "2: eth0 link/ether"), None);
    }

    fn config(text: &str) -> Config {
        vrrp_engine::keepalived::parse_str("t.conf", text, &Default::default())
            .unwrap()
            .config
    }

    fn advert(vrid: u8, prio: u8) -> Vec<u8> {
        vec![0x21, vrid, prio, 1, 0, 1, 0, 0, 172, 20, 0, 100]
    }

    fn vrrp(mac: u8, src: &str, vrid: u8, prio: u8) -> Packet {
        Packet::Vrrp {
            eth_src: [2, 0, 0, 0, 0, mac],
            src: src.parse().unwrap(),
            dst: "224.0.0.18".parse().unwrap(),
            ttl: 255,
            payload: advert(vrid, prio),
        }
    }

    /// A start, a takeover timed by its first advert, a step back timed by the better advert
    /// heard, a shutdown timed by the priority-0 advert; the second spawn starts from INIT.
    #[test]
    fn transitions_take_the_instant_of_the_packet_that_shows_them() {
        let c = config(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  172.20.0.100/24\n }\n}\n",
        );
        let node = NodeView {
            configs: vec![&c],
            mac: [2, 0, 0, 0, 0, 1],
        };
        let n = |t: f64, s: &str, p: u8| Notify {
            t,
            group: false,
            name: "VI_1".into(),
            state: s.into(),
            priority: p,
        };
        let obs = Observed {
            notify: vec![
                n(0.0105, "BACKUP", 100),
                n(3.6207, "MASTER", 100),
                n(5.0009, "BACKUP", 100),
                n(8.0013, "STOP", 100),
                n(9.02, "BACKUP", 100),
            ],
            packets: vec![
                (3.6201, vrrp(1, "172.20.0.11", 51, 100)),
                (4.6201, vrrp(1, "172.20.0.11", 51, 100)),
                (5.0002, vrrp(2, "172.20.0.12", 51, 200)),
                (6.9, vrrp(2, "172.20.0.12", 51, 200)),
            ],
            spawns: vec![0.0, 9.0],
            ..Default::default()
        };
        let d = derive("a", &node, &obs);
        let st: Vec<(f64, State, State)> = d
            .lines
            .iter()
            .filter_map(|l| match &l.event {
                TraceEvent::State { from, to, .. } => Some((l.t, *from, *to)),
                _ => None,
            })
            .collect();
        assert_eq!(
            st,
            vec![
                (0.0105, State::Initialize, State::Backup),
                (3.6201, State::Backup, State::Master),
                (5.0002, State::Master, State::Backup),
                (8.0013, State::Backup, State::Initialize),
                (9.02, State::Initialize, State::Backup),
            ]
        );
        assert_eq!(d.starts, vec![Some(0.0105), Some(9.02)]);
        let reason = d.lines.iter().find_map(|l| match &l.event {
            TraceEvent::State {
                to: State::Backup,
                from: State::Master,
                reason,
                ..
            } => Some(reason.clone()),
            _ => None,
        });
        assert_eq!(
            reason,
            Some(Reason::HigherPriority {
                from: "172.20.0.12".parse().unwrap(),
                priority: 200
            })
        );
        let (tx, rx) = d.lines.iter().fold((0, 0), |(t, r), l| match l.event {
            TraceEvent::Tx { .. } => (t + 1, r),
            TraceEvent::Rx { .. } => (t, r + 1),
            _ => (t, r),
        });
        assert_eq!((tx, rx), (2, 2));
    }
}

//! The IPVS table as the engine wants it: services, destinations and the changes that take
//! the kernel from one table to the next. The daemon applies them over generic netlink
//! (family `IPVS`), the simulator to its model of the director; both carry out the very same
//! list, in order.

use crate::types::Family;
use core::net::{IpAddr, SocketAddr};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Transport protocol of an address-based virtual service (`protocol TCP|UDP|SCTP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// IPPROTO_TCP (6).
    Tcp,
    /// IPPROTO_UDP (17): the kernel's default when none is given.
    Udp,
    /// IPPROTO_SCTP (132).
    Sctp,
}

impl Protocol {
    /// The IP protocol number IPVS uses.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    /// `TCP`, `UDP` or `SCTP`, as `ipvsadm -Ln` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// What identifies an IPVS virtual service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ServiceKey {
    /// `virtual_server ADDR PORT` with its `protocol`.
    Addr {
        /// TCP, UDP or SCTP.
        protocol: Protocol,
        /// Virtual address and port (port 0: every port, persistent services only).
        addr: SocketAddr,
    },
    /// `virtual_server fwmark N`: packets marked N by the firewall.
    Fwmark {
        /// Address family of the service.
        family: Family,
        /// The firewall mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// The service's address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(&addr.ip()),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    /// The netmask of a non-persistent service (and keepalived's default persistence
    /// granularity): 255.255.255.255 for IPv4, a 128-bit prefix for IPv6.
    pub fn full_netmask(&self) -> u32 {
        match self.family() {
            Family::Ipv4 => u32::MAX,
            Family::Ipv6 => 128,
        }
    }
}

impl core::fmt::Display for ServiceKey {
    /// `TCP 10.0.0.100:80` or `FWM 5`, as `ipvsadm -Ln` and keepalived's logs write it.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ServiceKey::Addr { protocol, addr } => write!(f, "{} {addr}", protocol.as_str()),
            ServiceKey::Fwmark { mark, .. } => write!(f, "FWM {mark}"),
        }
    }
}

/// Forwarding method of a destination (`lb_kind` / `lvs_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Forwarding {
    /// Masquerading (IP_VS_CONN_F_MASQ = 0): `lb_kind NAT`.
    Nat,
    /// Direct routing (IP_VS_CONN_F_DROUTE = 3): `lb_kind DR`.
    Dr,
    /// IP-in-IP tunnelling (IP_VS_CONN_F_TUNNEL = 2): `lb_kind TUN`.
    Tun,
}

impl Forwarding {
    /// The `conn_flags` value IPVS takes (`IP_VS_CONN_F_*`).
    pub fn conn_flags(self) -> u32 {
        match self {
            Forwarding::Nat => 0,
            Forwarding::Tun => 2,
            Forwarding::Dr => 3,
        }
    }

    /// `Masq`, `Route` or `Tunnel`, as `ipvsadm -Ln` prints it.
    pub fn ipvsadm_name(self) -> &'static str {
        match self {
            Forwarding::Nat => "Masq",
            Forwarding::Dr => "Route",
            Forwarding::Tun => "Tunnel",
        }
    }
}

/// Service flag: persistent (`IP_VS_SVC_F_PERSISTENT`).
pub const SVC_F_PERSISTENT: u32 = 0x0001;
/// Service flag: hashed entry (`IP_VS_SVC_F_HASHED`).
pub const SVC_F_HASHED: u32 = 0x0002;
/// Service flag: one-packet scheduling (`IP_VS_SVC_F_ONEPACKET`, `ops`).
pub const SVC_F_ONEPACKET: u32 = 0x0004;
/// Scheduler flag 1 (`flag-1`; `sh-fallback`, `mh-fallback`).
pub const SVC_F_SCHED1: u32 = 0x0008;
/// Scheduler flag 2 (`flag-2`; `sh-port`, `mh-port`).
pub const SVC_F_SCHED2: u32 = 0x0010;
/// Scheduler flag 3 (`flag-3`).
pub const SVC_F_SCHED3: u32 = 0x0020;

/// One IPVS virtual service as the engine wants it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvsService {
    /// What identifies it.
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wrr`, `wlc`, ...): keepalived's default is `wlc`.
    pub scheduler: String,
    /// `IP_VS_SVC_F_*` flags ([`SVC_F_PERSISTENT`], ...).
    pub flags: u32,
    /// Persistence timeout in seconds (0: not persistent).
    pub timeout: u32,
    /// Persistence granularity: an IPv4 netmask as a u32 in host order, or an IPv6 prefix
    /// length (keepalived's default: 255.255.255.255 / 128).
    pub netmask: u32,
    /// Persistence engine (`persistence_engine`, e.g. `sip`), if any.
    pub pe_name: Option<String>,
}

/// One IPVS destination (a real server or the sorry server) of a service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvsDest {
    /// Its address and port (port 0 for non-NAT destinations of a fwmark service).
    pub addr: SocketAddr,
    /// How packets reach it.
    pub forwarding: Forwarding,
    /// Scheduling weight, 0..=65535 (0: quiesced, as `inhibit_on_failure` leaves it).
    pub weight: u32,
    /// `uthreshold`: no new connections above this many (0: no limit).
    pub u_threshold: u32,
    /// `lthreshold`: new connections again below this many.
    pub l_threshold: u32,
}

/// One change to the IPVS table. The engine emits them in the order keepalived 2.2.7 issues
/// its `ipvs_cmd`s; carried out in that order they take the table to [`IpvsTable`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum IpvsChange {
    /// Add a virtual service.
    AddService(IpvsService),
    /// Change a service's scheduler, flags or persistence.
    EditService(IpvsService),
    /// Remove a service (with its destinations).
    RemoveService(ServiceKey),
    /// Add a destination to a service.
    AddDest {
        /// The service.
        service: ServiceKey,
        /// The destination.
        dest: IpvsDest,
    },
    /// Change a destination's weight, forwarding or thresholds.
    EditDest {
        /// The service.
        service: ServiceKey,
        /// The destination, as it should now be.
        dest: IpvsDest,
    },
    /// Remove a destination.
    RemoveDest {
        /// The service.
        service: ServiceKey,
        /// The destination's address.
        addr: SocketAddr,
    },
}

/// A whole IPVS table: services and their destinations, ordered for comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvsTable {
    /// Every service with its destinations by address (serialized as a list of
    /// `[service, [destination, ...]]`: JSON maps take only string keys).
    #[serde(with = "services_as_list")]
    pub services: BTreeMap<ServiceKey, (IpvsService, BTreeMap<SocketAddr, IpvsDest>)>,
}

/// [`IpvsTable::services`] as a list of `(service, destinations)`, keys taken from the values.
mod services_as_list {
    use super::{IpvsDest, IpvsService, ServiceKey};
    use core::net::SocketAddr;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    type Services = BTreeMap<ServiceKey, (IpvsService, BTreeMap<SocketAddr, IpvsDest>)>;

    pub fn serialize<S: Serializer>(services: &Services, s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<(&IpvsService, Vec<&IpvsDest>)> = services
            .values()
            .map(|(svc, dests)| (svc, dests.values().collect()))
            .collect();
        list.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Services, D::Error> {
        let list = Vec::<(IpvsService, Vec<IpvsDest>)>::deserialize(d)?;
        Ok(list
            .into_iter()
            .map(|(svc, dests)| {
                let dests = dests.into_iter().map(|d| (d.addr, d)).collect();
                (svc.key, (svc, dests))
            })
            .collect())
    }
}

impl IpvsTable {
    /// Applies one change, as the kernel would (a change that does not fit is ignored,
    /// like the kernel's error for it).
    pub fn apply(&mut self, change: &IpvsChange) {
        match change {
            IpvsChange::AddService(s) | IpvsChange::EditService(s) => {
                let entry = self
                    .services
                    .entry(s.key)
                    .or_insert_with(|| (s.clone(), BTreeMap::new()));
                entry.0 = s.clone();
            }
            IpvsChange::RemoveService(key) => {
                self.services.remove(key);
            }
            IpvsChange::AddDest { service, dest } | IpvsChange::EditDest { service, dest } => {
                if let Some((_, dests)) = self.services.get_mut(service) {
                    dests.insert(dest.addr, dest.clone());
                }
            }
            IpvsChange::RemoveDest { service, addr } => {
                if let Some((_, dests)) = self.services.get_mut(service) {
                    dests.remove(addr);
                }
            }
        }
    }

    /// The destinations of a service that take new connections (weight above 0).
    pub fn active(&self, service: &ServiceKey) -> Vec<&IpvsDest> {
        self.services
            .get(service)
            .map(|(_, d)| d.values().filter(|d| d.weight > 0).collect())
            .unwrap_or_default()
    }

    /// The table in `ipvsadm -Ln`'s layout (ipvsadm 1.31), without its header and counters:
    /// one `TCP  10.0.0.100:80 sh (sh-port) persistent 50 mask 255.255.255.0` line per
    /// service, then one `  -> 10.0.1.1:80 Masq 1` line per destination (the
    /// `ActiveConn InActConn` columns left out). Services come in ipvsadm's sort order (address
    /// services before fwmark services; then family, protocol, address, port), destinations in
    /// address order. Tests compare it with `ipvsadm -Ln` after collapsing runs of spaces.
    ///
    /// ipvsadm compares IPv4 addresses by subtracting them as C `int`s, which overflows for
    /// addresses more than 2^31 apart (10.x and 192.x, say): its order is then not an order,
    /// and this function keeps the plain one.
    pub fn to_ipvsadm_lines(&self) -> Vec<String> {
        let mut services: Vec<_> = self.services.iter().collect();
        services.sort_by_key(|(key, _)| ipvsadm_sort_key(key));
        let mut out = Vec::new();
        for (key, (svc, dests)) in services {
            let family = key.family();
            let mut line = match key {
                ServiceKey::Addr { protocol, addr } => {
                    format!("{} {} {}", protocol.as_str(), addr, svc.scheduler)
                }
                ServiceKey::Fwmark { family, mark } => {
                    let fam = if *family == Family::Ipv6 { " IPv6" } else { "" };
                    format!("FWM {mark}{fam} {}", svc.scheduler)
                }
            };
            if svc.flags & (SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3) != 0 {
                line.push_str(&format!(
                    " ({})",
                    sched_flag_names(&svc.scheduler, svc.flags)
                ));
            }
            if svc.flags & SVC_F_PERSISTENT != 0 {
                line.push_str(&format!(" persistent {}", svc.timeout));
                match family {
                    Family::Ipv4 if svc.netmask != u32::MAX => line.push_str(&format!(
                        " mask {}",
                        IpAddr::from(svc.netmask.to_be_bytes())
                    )),
                    Family::Ipv6 if svc.netmask != 128 => {
                        line.push_str(&format!(" mask {}", svc.netmask))
                    }
                    _ => {}
                }
                if let Some(pe) = &svc.pe_name {
                    line.push_str(&format!(" pe {pe}"));
                }
            }
            if svc.flags & SVC_F_ONEPACKET != 0 {
                line.push_str(" ops");
            }
            out.push(line);
            for d in dests.values() {
                out.push(format!(
                    "  -> {} {} {}",
                    d.addr,
                    d.forwarding.ipvsadm_name(),
                    d.weight
                ));
            }
        }
        out
    }
}

/// ipvsadm's service order (`ipvs_cmp_services` in libipvs): firewall mark (0 for address
/// services), address family (`AF_INET` before `AF_INET6`), protocol number (fwmark services
/// are TCP to the kernel), address, port.
fn ipvsadm_sort_key(key: &ServiceKey) -> (u32, u8, u8, u128, u16) {
    let fam = |f: Family| match f {
        Family::Ipv4 => 0,
        Family::Ipv6 => 1,
    };
    match key {
        ServiceKey::Addr { protocol, addr } => {
            let ip = match addr.ip() {
                IpAddr::V4(a) => u128::from(u32::from(a)),
                IpAddr::V6(a) => u128::from(a),
            };
            (
                0,
                fam(Family::of(&addr.ip())),
                protocol.number(),
                ip,
                addr.port(),
            )
        }
        ServiceKey::Fwmark { family, mark } => (*mark, fam(*family), Protocol::Tcp.number(), 0, 0),
    }
}

/// The scheduler flags as ipvsadm names them: `sh-fallback,sh-port` for `sh`,
/// `mh-fallback,mh-port` for `mh`, `flag-1,flag-2,flag-3` for the others.
fn sched_flag_names(scheduler: &str, flags: u32) -> String {
    let (one, two) = match scheduler {
        "sh" => ("sh-fallback", "sh-port"),
        "mh" => ("mh-fallback", "mh-port"),
        _ => ("flag-1", "flag-2"),
    };
    [
        (SVC_F_SCHED1, one),
        (SVC_F_SCHED2, two),
        (SVC_F_SCHED3, "flag-3"),
    ]
    .iter()
    .filter(|(bit, _)| flags & bit != 0)
    .map(|(_, name)| *name)
    .collect::<Vec<_>>()
    .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(key: ServiceKey, scheduler: &str) -> IpvsService {
        IpvsService {
            key,
            scheduler: scheduler.into(),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
            pe_name: None,
        }
    }

    fn tcp(addr: &str) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: addr.parse().unwrap(),
        }
    }

    #[test]
    fn table_json_round_trip() {
        let mut t = IpvsTable::default();
        let key = tcp("10.0.0.1:80");
        t.apply(&IpvsChange::AddService(svc(key, "rr")));
        t.apply(&IpvsChange::AddDest {
            service: key,
            dest: IpvsDest {
                addr: "10.0.1.1:80".parse().unwrap(),
                forwarding: Forwarding::Nat,
                weight: 2,
                u_threshold: 0,
                l_threshold: 0,
            },
        });
        t.apply(&IpvsChange::AddService(svc(
            ServiceKey::Fwmark {
                family: Family::Ipv6,
                mark: 3,
            },
            "wrr",
        )));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<IpvsTable>(&json).unwrap(), t);
    }

    #[test]
    fn ipvsadm_order_and_flags() {
        let mut t = IpvsTable::default();
        let udp = ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: "10.0.0.1:53".parse().unwrap(),
        };
        for s in [
            svc(
                ServiceKey::Fwmark {
                    family: Family::Ipv4,
                    mark: 5,
                },
                "rr",
            ),
            IpvsService {
                netmask: 128,
                ..svc(tcp("[2001:db8::1]:80"), "wlc")
            },
            svc(udp, "lc"),
            IpvsService {
                flags: SVC_F_PERSISTENT | SVC_F_SCHED1 | SVC_F_SCHED2,
                timeout: 50,
                netmask: 0xffff_ff00,
                ..svc(tcp("10.0.0.2:443"), "sh")
            },
            IpvsService {
                flags: SVC_F_SCHED3 | SVC_F_ONEPACKET,
                ..svc(tcp("10.0.0.1:80"), "wrr")
            },
        ] {
            t.apply(&IpvsChange::AddService(s));
        }
        assert_eq!(
            t.to_ipvsadm_lines(),
            vec![
                "TCP 10.0.0.1:80 wrr (flag-3) ops",
                "TCP 10.0.0.2:443 sh (sh-fallback,sh-port) persistent 50 mask 255.255.255.0",
                "UDP 10.0.0.1:53 lc",
                "TCP [2001:db8::1]:80 wlc",
                "FWM 5 rr",
            ]
        );
    }
}

//! From the configuration's `virtual_server` blocks to what the check engine runs: every
//! unset value inherited as keepalived 2.2.7's `validate_check_config` does (checker from
//! real server, real server from virtual server, then keepalived's defaults), ports and
//! forwarding methods completed, quorum and hysteresis capped.

use super::ipvs::{IpvsDest, IpvsService, ServiceKey, SVC_F_PERSISTENT};
use super::probe::{Connect, HttpVersion};
use super::{mail, Forwarding, Protocol};
use crate::config::{
    CheckKind, CheckerConfig, GlobalConfig, GroupEntry, RealServerConfig, UrlConfig,
    VirtualServerConfig, VirtualServerGroupConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DELAY_LOOP,
    DEFAULT_PERSISTENCE_TIMEOUT, DEFAULT_SCHEDULER,
};
use crate::types::Family;
use core::net::IpAddr;
use core::net::SocketAddr;
use core::time::Duration;

/// What makes a virtual server the same one across a reload (keepalived's `vs_iseq`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum VsIdentity {
    /// An address or fwmark service.
    Service(ServiceKey),
    /// `virtual_server group NAME`.
    Group(String),
}

/// A virtual server ready to run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct VsPlan {
    pub identity: VsIdentity,
    /// Its IPVS services: one, or one per address and fwmark of its group.
    pub services: Vec<IpvsService>,
    pub quorum: u32,
    pub hysteresis: u32,
    pub omega: bool,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    pub sorry: Option<RsPlan>,
    pub real_servers: Vec<RsPlan>,
    /// Its `smtp_alert` after inheritance ([`super::mail`]).
    pub smtp_alert: bool,
    /// How keepalived names it in mails (`format_vs`).
    pub label: String,
    /// Its protocol as keepalived prints it with a real server (`tcp`, `udp`, `sctp`, or
    /// `none` for fwmark services).
    pub proto: &'static str,
}

/// A real (or sorry) server ready to run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RsPlan {
    /// Its destination with the configured weight.
    pub dest: IpvsDest,
    pub inhibit: bool,
    pub alpha: bool,
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
    pub checkers: Vec<CheckerPlan>,
    /// Its `smtp_alert` after inheritance ([`super::mail`]).
    pub smtp_alert: bool,
}

/// A checker ready to run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CheckerPlan {
    pub kind: CheckerKind,
    pub retry: u32,
    pub delay_loop: Duration,
    pub delay_before_retry: Duration,
    pub warmup: Duration,
    pub alpha: bool,
}

/// One URL of an HTTP checker with the `Host:` value and the TLS server name in force for it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct UrlPlan {
    pub url: UrlConfig,
    pub host: String,
    pub sni: Option<String>,
}

/// What a checker does.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum CheckerKind {
    Tcp(Connect),
    Http {
        connect: Connect,
        tls: bool,
        urls: Vec<UrlPlan>,
        version: HttpVersion,
        fast_recovery: bool,
    },
    Misc {
        command: String,
        timeout: Duration,
        dynamic: bool,
        user: Option<String>,
    },
}

/// The plans of every virtual server keepalived would run (one without a service or a
/// group, or without real servers, is left out as keepalived leaves it out).
pub(crate) fn plan(
    servers: &[VirtualServerConfig],
    groups: &[VirtualServerGroupConfig],
    global: &GlobalConfig,
) -> Vec<VsPlan> {
    servers
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            // keepalived numbers the virtual servers of a group in the port of their
            // address (`link_vsg_to_vs`), which its mails print.
            let rank = v.group.as_ref().map_or(0, |g| {
                servers[..i]
                    .iter()
                    .filter(|o| o.group.as_ref() == Some(g))
                    .count() as u16
            });
            plan_vs(v, groups, global, rank)
        })
        .collect()
}

/// The service keys of a group, in keepalived's order (`ipvs_group_cmd`): every address of
/// every range (on its port, with the virtual server's protocol), then every fwmark.
fn group_keys(vs: &VirtualServerConfig, group: &VirtualServerGroupConfig) -> Vec<ServiceKey> {
    let protocol = vs.protocol.unwrap_or(Protocol::Udp);
    let rs_family = vs
        .real_servers
        .iter()
        .find_map(|r| r.addr.map(|a| Family::of(&a.ip())));
    let mut keys = Vec::new();
    for e in &group.entries {
        if let GroupEntry::Range { first, last, port } = *e {
            let addrs: Vec<IpAddr> = match (first, last) {
                (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a)..=u32::from(b))
                    .map(|v| IpAddr::from(v.to_be_bytes()))
                    .collect(),
                (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a)..=u128::from(b))
                    .map(|v| IpAddr::from(v.to_be_bytes()))
                    .collect(),
                _ => Vec::new(),
            };
            keys.extend(addrs.into_iter().map(|ip| ServiceKey::Addr {
                protocol,
                addr: SocketAddr::new(ip, port),
            }));
        }
    }
    for e in &group.entries {
        if let GroupEntry::Fwmark { mark, family } = *e {
            let family = family.or(vs.family).or(rs_family).unwrap_or(Family::Ipv4);
            keys.push(ServiceKey::Fwmark { family, mark });
        }
    }
    keys
}

fn plan_vs(
    vs: &VirtualServerConfig,
    groups: &[VirtualServerGroupConfig],
    global: &GlobalConfig,
    group_rank: u16,
) -> Option<VsPlan> {
    let (identity, keys) = match (&vs.group, vs.service) {
        (Some(g), _) => {
            let group = groups.iter().find(|x| &x.name == g)?;
            (VsIdentity::Group(g.clone()), group_keys(vs, group))
        }
        (None, Some(key)) => (VsIdentity::Service(key), vec![key]),
        (None, None) => return None,
    };
    let key = *keys.first()?;
    let forwarding = vs.forwarding.unwrap_or(Forwarding::Nat);
    let vport = match (&identity, key) {
        (VsIdentity::Service(_), ServiceKey::Addr { addr, .. }) => Some(addr.port()),
        _ => None,
    };
    let mut timeout = vs.persistence_timeout.unwrap_or(0);
    let zero_port = keys
        .iter()
        .any(|k| matches!(k, ServiceKey::Addr { addr, .. } if addr.port() == 0));
    if zero_port && timeout == 0 {
        // "zero port only valid for persistent services - setting"
        timeout = DEFAULT_PERSISTENCE_TIMEOUT;
    }
    let scheduler = vs
        .scheduler
        .clone()
        .unwrap_or_else(|| DEFAULT_SCHEDULER.to_string());
    let services = keys
        .iter()
        .map(|&key| {
            let full_mask = key.full_netmask();
            let mut flags = vs.flags;
            let mut netmask = full_mask;
            let mut pe_name = None;
            if timeout > 0 {
                flags |= SVC_F_PERSISTENT;
                netmask = vs.persistence_granularity.unwrap_or(full_mask);
                pe_name = vs.persistence_engine.clone();
            }
            IpvsService {
                key,
                scheduler: scheduler.clone(),
                flags,
                timeout,
                netmask,
                pe_name,
            }
        })
        .collect();
    let port_for = |addr: SocketAddr, fwd: Forwarding| -> SocketAddr {
        // NAT keeps its port (0: the virtual server's); DR/TUN use the virtual port, or 0 for
        // a fwmark service (validate_check_config's "ports don't match - resetting"); in a
        // group, each service's own port (see `pool`).
        if matches!(identity, VsIdentity::Group(_)) {
            // keepalived leaves a group's real servers as written (ports per service).
            return addr;
        }
        let port = match (fwd, vport) {
            (Forwarding::Nat, Some(vp)) if addr.port() == 0 => vp,
            (Forwarding::Nat, _) => addr.port(),
            (_, Some(vp)) => vp,
            (_, None) => 0,
        };
        SocketAddr::new(addr.ip(), port)
    };
    let mut real_servers: Vec<RsPlan> = Vec::new();
    for rs in &vs.real_servers {
        let Some(addr) = rs.addr else { continue };
        let fwd = rs.forwarding.unwrap_or(forwarding);
        let addr = port_for(addr, fwd);
        // "real server ... is duplicated - removing second rs"
        if real_servers.iter().any(|p| p.dest.addr == addr) {
            continue;
        }
        real_servers.push(plan_rs(vs, rs, addr, fwd, global));
    }
    if real_servers.is_empty() {
        // "Virtual server ... has no real servers - ignoring"
        return None;
    }
    let weight_sum: u64 = real_servers.iter().map(|r| u64::from(r.dest.weight)).sum();
    let quorum = (vs.quorum.max(1) as u64).min(weight_sum) as u32;
    let hysteresis = vs.hysteresis.min(quorum.saturating_sub(1));
    let sorry = vs.sorry_server.as_ref().map(|ss| {
        let fwd = ss.forwarding.unwrap_or(forwarding);
        RsPlan {
            dest: IpvsDest {
                addr: port_for(ss.addr, fwd),
                forwarding: fwd,
                weight: 1,
                u_threshold: 0,
                l_threshold: 0,
            },
            inhibit: ss.inhibit,
            alpha: false,
            notify_up: None,
            notify_down: None,
            checkers: Vec::new(),
            smtp_alert: false,
        }
    });
    // keepalived's `service_type`: the protocol of address services, 0 ("none") when the
    // service (or every entry of the group) is a fwmark.
    let proto = keys
        .iter()
        .find_map(|k| match k {
            ServiceKey::Addr { protocol, .. } => Some(protocol.as_str()),
            ServiceKey::Fwmark { .. } => None,
        })
        .map_or("none", |p| match p {
            "TCP" => "tcp",
            "UDP" => "udp",
            _ => "sctp",
        });
    Some(VsPlan {
        smtp_alert: mail::vs_smtp_alert(global, vs),
        label: mail::format_vs(&identity, group_rank),
        proto,
        identity,
        services,
        quorum,
        hysteresis,
        omega: vs.omega,
        quorum_up: vs.quorum_up.clone(),
        quorum_down: vs.quorum_down.clone(),
        sorry,
        real_servers,
    })
}

fn plan_rs(
    vs: &VirtualServerConfig,
    rs: &RealServerConfig,
    addr: SocketAddr,
    forwarding: Forwarding,
    global: &GlobalConfig,
) -> RsPlan {
    let alpha = rs.alpha.unwrap_or(vs.alpha);
    RsPlan {
        smtp_alert: mail::rs_smtp_alert(global, rs),
        dest: IpvsDest {
            addr,
            forwarding,
            weight: rs.weight.unwrap_or(vs.weight),
            u_threshold: rs.u_threshold,
            l_threshold: rs.l_threshold,
        },
        inhibit: rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure),
        alpha,
        notify_up: rs.notify_up.clone(),
        notify_down: rs.notify_down.clone(),
        checkers: rs
            .checkers
            .iter()
            .filter_map(|c| plan_checker(vs, rs, addr, alpha, c))
            .collect(),
    }
}

fn plan_checker(
    vs: &VirtualServerConfig,
    rs: &RealServerConfig,
    rs_addr: SocketAddr,
    rs_alpha: bool,
    c: &CheckerConfig,
) -> Option<CheckerPlan> {
    let check = c.check.as_ref()?;
    // Defaults of the checker kinds (queue_checker, http_get_handler, misc_check_handler).
    let (default_retry, default_dbr) = match check {
        CheckKind::Tcp => (1, Duration::from_secs(1)),
        CheckKind::Http(_) => (1, Duration::from_secs(3)),
        CheckKind::Misc(_) => (0, Duration::from_secs(1)),
    };
    let rs_retry = rs.retry.or(vs.retry);
    let rs_dbr = rs.delay_before_retry.or(vs.delay_before_retry);
    let rs_warmup = rs.warmup.or(vs.warmup);
    let vs_delay = vs.delay_loop.unwrap_or(DEFAULT_DELAY_LOOP);
    let delay_loop = c.delay_loop.or(rs.delay_loop).unwrap_or(vs_delay);
    let timeout = c
        .connect_timeout
        .or(rs.connect_timeout)
        .or(vs.connect_timeout)
        .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let connect = || {
        let mut dst = rs_addr;
        if let Some(ip) = c.connect_ip {
            dst.set_ip(ip);
        }
        if let Some(p) = c.connect_port {
            dst.set_port(p);
        }
        Connect {
            dst,
            bind: c
                .bindto
                .map(|ip| SocketAddr::new(ip, c.bind_port.unwrap_or(0))),
            bind_if: c.bind_if.clone(),
            fwmark: c.fwmark,
            timeout,
        }
    };
    let kind = match check {
        CheckKind::Tcp => CheckerKind::Tcp(connect()),
        CheckKind::Http(h) => {
            let conn = connect();
            let fallback = match conn.dst {
                SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
                SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
            };
            // `Host:` (check_http.c `http_request`): the URL's, the checker's, the real
            // server's, then the virtual server's virtualhost.
            let vhost = h
                .virtualhost
                .clone()
                .or_else(|| rs.virtualhost.clone())
                .or_else(|| vs.virtualhost.clone());
            // SNI (check_ssl.c `ssl_connect`, `enable_sni`): the same order without the real
            // server's.
            let sni_host = h.virtualhost.clone().or_else(|| vs.virtualhost.clone());
            let urls = h
                .urls
                .iter()
                .map(|u| UrlPlan {
                    url: u.clone(),
                    host: u
                        .virtualhost
                        .clone()
                        .or_else(|| vhost.clone())
                        .unwrap_or_else(|| fallback.clone()),
                    sni: h
                        .enable_sni
                        .then(|| u.virtualhost.clone().or_else(|| sni_host.clone()))
                        .flatten(),
                })
                .collect();
            CheckerKind::Http {
                connect: conn,
                tls: h.tls,
                urls,
                version: h.version,
                fast_recovery: h.fast_recovery,
            }
        }
        CheckKind::Misc(m) => CheckerKind::Misc {
            command: m.path.clone(),
            timeout: m.timeout.unwrap_or(vs_delay),
            dynamic: m.dynamic,
            user: m.user.clone(),
        },
    };
    Some(CheckerPlan {
        kind,
        retry: c.retry.or(rs_retry).unwrap_or(default_retry),
        delay_loop,
        delay_before_retry: c.delay_before_retry.or(rs_dbr).unwrap_or(default_dbr),
        warmup: c.warmup.or(rs_warmup).unwrap_or(delay_loop),
        alpha: c.alpha.unwrap_or(rs_alpha),
    })
}

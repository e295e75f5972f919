//! rtnetlink: the interface table (index, MAC, link state, primary IPv4, IPv6 link-local),
//! VIP installation and removal, the start-up sweep of addresses a dead predecessor left, and
//! the link/address event stream.
//!
//! Every VIP we add carries `IFA_PROTO` = [`ADDR_PROTO`], so a restart can find what a crashed
//! predecessor left even when the configuration no longer names it.

use futures::TryStreamExt;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressProtocol, CacheInfo,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State as OperState};
use rtnetlink::Handle;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use vrrp_engine::config::VirtualAddress;

/// Our `IFA_PROTO` tag on every VIP we install.
pub const ADDR_PROTO: u8 = 0x76;

/// What we know of one interface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfInfo {
    /// Name.
    pub name: String,
    /// Index.
    pub index: u32,
    /// Hardware address.
    pub mac: Option<[u8; 6]>,
    /// Operationally up.
    pub up: bool,
    /// Primary IPv4 address (VIPs and our tagged addresses excluded).
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 link-local address.
    pub ipv6_ll: Option<Ipv6Addr>,
}

/// Reads link state out of a link message: name, index, MAC, up.
pub fn link_info(msg: &LinkMessage) -> (String, u32, Option<[u8; 6]>, bool) {
    let mut name = String::new();
    let mut mac = None;
    let mut oper = None;
    for a in &msg.attributes {
        match a {
            LinkAttribute::IfName(n) => name = n.clone(),
            LinkAttribute::Address(m) if m.len() == 6 => {
                let mut b = [0u8; 6];
                b.copy_from_slice(m);
                mac = Some(b);
            }
            LinkAttribute::OperState(s) => oper = Some(*s),
            _ => {}
        }
    }
    let flags = msg.header.flags;
    let up = flags.contains(LinkFlags::Up)
        && match oper {
            Some(OperState::Up) => true,
            Some(OperState::Unknown) | None => flags.contains(LinkFlags::Running),
            _ => false,
        };
    (name, msg.header.index, mac, up)
}

fn addr_of(msg: &AddressMessage) -> Option<IpAddr> {
    let mut address = None;
    for a in &msg.attributes {
        match a {
            AddressAttribute::Local(ip) => return Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            _ => {}
        }
    }
    address
}

fn is_ours(msg: &AddressMessage) -> bool {
    msg.attributes.iter().any(
        |a| matches!(a, AddressAttribute::Protocol(AddressProtocol::Other(p)) if *p == ADDR_PROTO),
    )
}

/// Dumps one interface by name, with its addresses. `exclude` are addresses that are never
/// a source (the configured VIPs). `Ok(None)` when no such interface exists.
pub async fn query(
    handle: &Handle,
    name: &str,
    exclude: &[IpAddr],
) -> Result<Option<IfInfo>, rtnetlink::Error> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    let link = match links.try_next().await {
        Ok(Some(l)) => l,
        Ok(None) => return Ok(None),
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => return Ok(None),
        Err(e) => return Err(e),
    };
    let (name, index, mac, up) = link_info(&link);
    let mut info = IfInfo {
        name,
        index,
        mac,
        up,
        ..IfInfo::default()
    };
    let mut addrs = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute();
    // keepalived 2.2.7 keeps every address of an interface and, when the primary goes,
    // sends from another one still there (`netlink_if_address_filter`): a secondary is the
    // fallback, so a dump caught between the primary's deletion and the promotion of a
    // secondary (`promote_secondaries`) does not read as "no address" (FAULT).
    let mut secondary_v4 = None;
    while let Some(msg) = addrs.try_next().await? {
        if is_ours(&msg) {
            continue;
        }
        let Some(ip) = addr_of(&msg) else { continue };
        if exclude.contains(&ip) {
            continue;
        }
        match ip {
            IpAddr::V4(v4) => {
                let secondary = msg.header.flags.contains(AddressHeaderFlags::Secondary);
                if info.ipv4.is_none() && !secondary {
                    info.ipv4 = Some(v4);
                }
                if secondary {
                    secondary_v4.get_or_insert(v4);
                }
            }
            IpAddr::V6(v6) => {
                // A link-local address still in duplicate address detection cannot be a
                // source (the kernel refuses it with EINVAL): wait for the RTM_NEWADDR that
                // clears the flag. Until then the instance has no source address (FAULT).
                let unusable = msg
                    .header
                    .flags
                    .intersects(AddressHeaderFlags::Tentative | AddressHeaderFlags::Dadfailed);
                if info.ipv6_ll.is_none() && (v6.segments()[0] & 0xffc0) == 0xfe80 && !unusable {
                    info.ipv6_ll = Some(v6);
                }
            }
        }
    }
    info.ipv4 = info.ipv4.or(secondary_v4);
    Ok(Some(info))
}

/// Installs a VIP on interface `index` (idempotent: NLM_F_REPLACE), with its prefix, its label
/// (IPv4), `IFA_F_NODAD` and preferred lifetime 0 for IPv6 /128, and our `IFA_PROTO` tag.
pub async fn add_vip(
    handle: &Handle,
    index: u32,
    vip: &VirtualAddress,
) -> Result<(), rtnetlink::Error> {
    let mut req = handle
        .address()
        .add(index, vip.addr, vip.prefix_len)
        .replace();
    let msg = req.message_mut();
    match vip.addr {
        IpAddr::V4(_) => {
            if let Some(label) = &vip.label {
                msg.attributes.push(AddressAttribute::Label(label.clone()));
            }
        }
        IpAddr::V6(_) => {
            msg.header.flags |= AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
            if vip.prefix_len == 128 {
                let mut ci = CacheInfo::default();
                ci.ifa_preferred = 0;
                ci.ifa_valid = u32::MAX;
                msg.attributes.push(AddressAttribute::CacheInfo(ci));
            }
        }
    }
    msg.attributes
        .push(AddressAttribute::Protocol(AddressProtocol::Other(
            ADDR_PROTO,
        )));
    req.execute().await
}

/// Removes `addr` from interface `index`, whatever its prefix. Returns how many were removed.
pub async fn del_addr(
    handle: &Handle,
    index: u32,
    addr: IpAddr,
) -> Result<usize, rtnetlink::Error> {
    let found: Vec<AddressMessage> = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .set_address_filter(addr)
        .execute()
        .try_collect()
        .await?;
    let mut n = 0;
    for msg in found {
        handle.address().del(msg).execute().await?;
        n += 1;
    }
    Ok(n)
}

/// Removes a VIP we installed: one RTM_DELADDR naming it (IPv4 by its local address, so
/// any prefix matches; IPv6 by address and prefix length, which the kernel requires), with
/// no dump of the interface's addresses first. Only if that fails (the VIP is gone, or was
/// put back by hand with another prefix) does it fall back to [`del_addr`]. A Master
/// releasing N VIPs used to dump all N of them N times.
pub async fn del_vip(
    handle: &Handle,
    index: u32,
    vip: &VirtualAddress,
) -> Result<usize, rtnetlink::Error> {
    let mut msg = AddressMessage::default();
    msg.header.index = index;
    msg.header.prefix_len = vip.prefix_len;
    match vip.addr {
        IpAddr::V4(_) => {
            msg.header.family = netlink_packet_route::AddressFamily::Inet;
            msg.attributes.push(AddressAttribute::Local(vip.addr));
        }
        IpAddr::V6(_) => {
            msg.header.family = netlink_packet_route::AddressFamily::Inet6;
            msg.attributes.push(AddressAttribute::Address(vip.addr));
        }
    }
    match handle.address().del(msg).execute().await {
        Ok(()) => Ok(1),
        Err(_) => del_addr(handle, index, vip.addr).await,
    }
}

/// Removes every address carrying our tag, on any interface. Returns (ifindex, address)
/// of each one removed.
pub async fn sweep_tagged(handle: &Handle) -> Result<Vec<(u32, IpAddr)>, rtnetlink::Error> {
    let all: Vec<AddressMessage> = handle.address().get().execute().try_collect().await?;
    let mut removed = Vec::new();
    for msg in all {
        if !is_ours(&msg) {
            continue;
        }
        let idx = msg.header.index;
        let ip = addr_of(&msg);
        handle.address().del(msg).execute().await?;
        if let Some(ip) = ip {
            removed.push((idx, ip));
        }
    }
    Ok(removed)
}

/// Every address of the host, on any interface.
pub async fn host_addresses(
    handle: &Handle,
) -> Result<std::collections::BTreeSet<IpAddr>, rtnetlink::Error> {
    let all: Vec<AddressMessage> = handle.address().get().execute().try_collect().await?;
    Ok(all.iter().filter_map(addr_of).collect())
}

/// Interface indexes by name, for every link.
pub async fn all_links(handle: &Handle) -> Result<BTreeMap<String, u32>, rtnetlink::Error> {
    let links: Vec<LinkMessage> = handle.link().get().execute().try_collect().await?;
    Ok(links
        .iter()
        .map(|l| {
            let (name, idx, _, _) = link_info(l);
            (name, idx)
        })
        .collect())
}

/// An event of interest from the kernel: something changed on the interface with this index
/// (or this name, for link messages).
#[derive(Clone, Debug)]
pub enum Event {
    /// A link appeared or changed.
    Link {
        /// Index.
        index: u32,
        /// Name.
        name: String,
    },
    /// A link went away.
    LinkGone {
        /// Index.
        index: u32,
    },
    /// An address was added.
    AddrAdded {
        /// Interface index.
        index: u32,
        /// The address.
        addr: Option<IpAddr>,
    },
    /// An address was removed.
    AddrRemoved {
        /// Interface index.
        index: u32,
        /// The address.
        addr: Option<IpAddr>,
    },
}

/// Turns a multicast netlink message into an [`Event`].
pub fn classify(
    msg: rtnetlink::packet_core::NetlinkMessage<rtnetlink::packet_route::RouteNetlinkMessage>,
) -> Option<Event> {
    use rtnetlink::packet_core::NetlinkPayload;
    use rtnetlink::packet_route::RouteNetlinkMessage as M;
    let NetlinkPayload::InnerMessage(inner) = msg.payload else {
        return None;
    };
    match inner {
        M::NewLink(l) => {
            let (name, index, _, _) = link_info(&l);
            Some(Event::Link { index, name })
        }
        M::DelLink(l) => Some(Event::LinkGone {
            index: l.header.index,
        }),
        M::NewAddress(a) => Some(Event::AddrAdded {
            index: a.header.index,
            addr: addr_of(&a),
        }),
        M::DelAddress(a) => Some(Event::AddrRemoved {
            index: a.header.index,
            addr: addr_of(&a),
        }),
        _ => None,
    }
}

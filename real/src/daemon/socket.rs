//! Raw VRRP sockets (IP protocol 112), one per interface and family, keepalived's model.
//!
//! IPv4: `IP_HDRINCL` (we write the IPv4 header, so the source is the interface's primary
//! address the engine chose), TTL 255, TOS 0xc0, `IP_MULTICAST_ALL` off, group 224.0.0.18
//! joined by ifindex, `IP_MULTICAST_IF` by ifindex, multicast loop off, `SO_BINDTODEVICE`.
//! Raw IPv4 sockets deliver the IP header, so TTL, source and destination come from it.
//!
//! IPv6: group ff02::12 joined by ifindex, hop limit 255, TCLASS 0xc0, `IPV6_CHECKSUM` at
//! offset 6 (the kernel fills and verifies it), hop limit and destination read from the
//! `IPV6_HOPLIMIT` / `IPV6_PKTINFO` ancillary data.

use nix::sys::socket::{self as nsock, ControlMessageOwned, MsgFlags, SockaddrStorage};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use std::io::{self, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use tokio::io::unix::AsyncFd;
use vrrp_engine::Family;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: i32 = 112;
/// IPv4 VRRP multicast group.
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 VRRP multicast group.
pub const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// A packet read from a VRRP socket.
#[derive(Clone, Debug)]
pub struct Received {
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// TTL or hop limit.
    pub ttl: u8,
    /// The VRRP message (IP header stripped, trimmed to the IP length).
    pub payload: Vec<u8>,
}

/// One raw VRRP socket bound to one interface.
pub struct VrrpSocket {
    /// Interface name.
    pub ifname: String,
    /// Interface index.
    pub ifindex: u32,
    /// Address family.
    pub family: Family,
    fd: AsyncFd<Socket>,
}

fn setsockopt_int(sock: &Socket, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: a valid fd and a pointer to an int of the stated size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn set_multicast_if_index_v4(sock: &Socket, ifindex: u32) -> io::Result<()> {
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: ifindex as i32,
    };
    // SAFETY: a valid fd and a pointer to an ip_mreqn of the stated size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&mreqn as *const libc::ip_mreqn).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl VrrpSocket {
    /// Opens the socket of `family` on interface `ifname` (index `ifindex`). Must be called
    /// inside a tokio runtime.
    pub fn open(ifname: &str, ifindex: u32, family: Family) -> io::Result<VrrpSocket> {
        let domain = match family {
            Family::Ipv4 => Domain::IPV4,
            Family::Ipv6 => Domain::IPV6,
        };
        let sock = Socket::new(domain, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
        sock.set_nonblocking(true)?;
        sock.set_cloexec(true)?;
        sock.bind_device(Some(ifname.as_bytes()))?;
        match family {
            Family::Ipv4 => {
                sock.set_multicast_all_v4(false)?;
                sock.join_multicast_v4_n(&GROUP_V4, &InterfaceIndexOrAddress::Index(ifindex))?;
                set_multicast_if_index_v4(&sock, ifindex)?;
                sock.set_multicast_loop_v4(false)?;
                sock.set_multicast_ttl_v4(255)?;
                sock.set_tos_v4(0xc0)?;
                sock.set_header_included_v4(true)?;
            }
            Family::Ipv6 => {
                sock.set_multicast_all_v6(false)?;
                sock.join_multicast_v6(&GROUP_V6, ifindex)?;
                sock.set_multicast_if_v6(ifindex)?;
                sock.set_multicast_loop_v6(false)?;
                sock.set_multicast_hops_v6(255)?;
                sock.set_unicast_hops_v6(255)?;
                sock.set_tclass_v6(0xc0)?;
                sock.set_recv_hoplimit_v6(true)?;
                nsock::setsockopt(&sock, nsock::sockopt::Ipv6RecvPacketInfo, &true)
                    .map_err(io::Error::from)?;
                setsockopt_int(&sock, libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, 6)?;
            }
        }
        // SAFETY: the socket is owned by the AsyncFd from here on and is not closed elsewhere.
        let fd = unsafe { AsyncFd::register(sock) }.map_err(|e| e.into_parts().1)?;
        Ok(VrrpSocket {
            ifname: ifname.to_string(),
            ifindex,
            family,
            fd,
        })
    }

    /// Sends one VRRP message. IPv4 gets our own header (TTL `ttl`, TOS 0xc0, source `src`).
    pub fn send(&self, src: IpAddr, dst: IpAddr, ttl: u8, payload: &[u8]) -> io::Result<()> {
        let sock = self.fd.get_ref();
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let total = 20 + payload.len();
                let mut buf = Vec::with_capacity(total);
                buf.extend_from_slice(&[0x45, 0xc0]);
                buf.extend_from_slice(&(total as u16).to_be_bytes());
                buf.extend_from_slice(&[0, 0, 0, 0, ttl, IPPROTO_VRRP as u8, 0, 0]);
                buf.extend_from_slice(&s.octets());
                buf.extend_from_slice(&d.octets());
                let ck = inet_checksum(&buf);
                buf[10..12].copy_from_slice(&ck.to_be_bytes());
                buf.extend_from_slice(payload);
                let flags = if d.is_multicast() {
                    libc::MSG_DONTROUTE
                } else {
                    0
                };
                let addr = SockAddr::from(SocketAddrV4::new(d, 0));
                sock.send_to_with_flags(&buf, &addr, flags)?;
                Ok(())
            }
            (IpAddr::V6(_), IpAddr::V6(d)) => {
                let scope = if d.is_multicast() || is_link_local(&d) {
                    self.ifindex
                } else {
                    0
                };
                let addr = SockAddr::from(SocketAddrV6::new(d, 0, 0, scope));
                sock.send_to(payload, &addr)?;
                Ok(())
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "source and destination of different families",
            )),
        }
    }

    /// Waits for and reads the next packet. `Ok(None)` means a datagram that was not a
    /// well-formed IP packet (too short for its header); the caller skips it.
    pub async fn recv(&self) -> io::Result<Option<Received>> {
        loop {
            let mut guard = self.fd.readable().await?;
            let res = guard.try_io(|inner| match self.family {
                Family::Ipv4 => recv_v4(inner.get_ref()),
                Family::Ipv6 => recv_v6(inner.get_ref()),
            });
            match res {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn recv_v4(sock: &Socket) -> io::Result<Option<Received>> {
    let mut buf = [MaybeUninit::<u8>::uninit(); 65536];
    let (n, _) = sock.recv_from(&mut buf)?;
    // SAFETY: recv_from initialised the first n bytes.
    let data: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
    Ok(parse_ipv4(data))
}

/// Splits a raw IPv4 datagram into header fields and the VRRP payload (trimmed to the IP
/// total length). `None` if the IP header itself is malformed.
pub fn parse_ipv4(data: &[u8]) -> Option<Received> {
    if data.len() < 20 || data[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(data[0] & 0x0f) * 4;
    if ihl < 20 || data.len() < ihl {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([data[2], data[3]]));
    let end = if total >= ihl && total <= data.len() {
        total
    } else {
        data.len()
    };
    let src = Ipv4Addr::new(data[12], data[13], data[14], data[15]);
    let dst = Ipv4Addr::new(data[16], data[17], data[18], data[19]);
    Some(Received {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        ttl: data[8],
        payload: data[ihl..end].to_vec(),
    })
}

fn recv_v6(sock: &Socket) -> io::Result<Option<Received>> {
    let mut buf = vec![0u8; 65536];
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = nsock::recvmsg::<SockaddrStorage>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    let n = msg.bytes;
    let src = msg
        .address
        .and_then(|a| a.as_sockaddr_in6().map(|s| s.ip()));
    let mut dst = None;
    let mut hops = None;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            match c {
                ControlMessageOwned::Ipv6PacketInfo(pi) => {
                    dst = Some(Ipv6Addr::from(pi.ipi6_addr.s6_addr));
                }
                ControlMessageOwned::Ipv6HopLimit(h) => hops = Some(h),
                _ => {}
            }
        }
    }
    let (Some(src), Some(dst)) = (src, dst) else {
        return Ok(None);
    };
    buf.truncate(n);
    Ok(Some(Received {
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst),
        ttl: hops.map(|h| h.clamp(0, 255) as u8).unwrap_or(0),
        payload: buf,
    }))
}

//! Raw VRRP sockets (IP protocol 112), one per interface and family, keepalived's model.
//!
//! IPv4: `IP_HDRINCL` (we write the IPv4 header, so the source is the interface's primary
//! address the engine chose), TTL 255, TOS 0xc0, `IP_MULTICAST_ALL` off, group 224.0.0.18
//! joined by ifindex, `IP_MULTICAST_IF` by ifindex, multicast loop off, `SO_BINDTODEVICE`.
//! Raw IPv4 sockets deliver the IP header, so TTL, source and destination come from it.
//!
//! IPv6: group ff02::12 joined by ifindex, hop limit 255, TCLASS 0xc0, `IPV6_CHECKSUM` at
//! the VRRP checksum's offset (the kernel fills and verifies it), hop limit and destination
//! read from the `IPV6_HOPLIMIT` / `IPV6_PKTINFO` ancillary data.
//!
//! Both: `SO_TIMESTAMPNS`, so each packet read carries the time the kernel received it
//! (the engine times a packet by its arrival, not by when the daemon woke up to read it).

use nix::sys::socket as nsock;
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv4::{Ipv4Packet, MutableIpv4Packet};
use pnet_packet::Packet as _;
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use vrrp_engine::wire::checksum::{internet_checksum, CHECKSUM_OFFSET};
use vrrp_engine::Family;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: i32 = 112;
/// IPv4 VRRP multicast group.
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 VRRP multicast group.
pub const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// One raw VRRP socket bound to one interface.
pub struct VrrpSocket {
    /// Interface name.
    pub ifname: String,
    /// Interface index.
    pub ifindex: u32,
    /// Address family.
    pub family: Family,
    /// Registered with the reactor (every datagram wakes the daemon), or `None` while
    /// parked ([`VrrpSocket::park`]).
    polled: Option<AsyncFd<Socket>>,
    /// The socket while parked: out of the reactor, read by [`VrrpSocket::try_recv_batch`].
    parked: Option<Socket>,
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

/// A raw VRRP socket of `family` on interface `ifname` (index `ifindex`) with the receive
/// side set up: non-blocking, bound to the interface, the VRRP group joined there and no
/// other group's traffic (`IP_MULTICAST_ALL` off).
pub(crate) fn open_raw(ifname: &str, ifindex: u32, family: Family) -> io::Result<Socket> {
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
        }
        Family::Ipv6 => {
            sock.set_multicast_all_v6(false)?;
            sock.join_multicast_v6(&GROUP_V6, ifindex)?;
        }
    }
    Ok(sock)
}

impl VrrpSocket {
    /// Opens the socket of `family` on interface `ifname` (index `ifindex`). Must be called
    /// inside a tokio runtime.
    pub fn open(ifname: &str, ifindex: u32, family: Family) -> io::Result<VrrpSocket> {
        let sock = open_raw(ifname, ifindex, family)?;
        match family {
            Family::Ipv4 => {
                set_multicast_if_index_v4(&sock, ifindex)?;
                sock.set_multicast_loop_v4(false)?;
                sock.set_multicast_ttl_v4(255)?;
                sock.set_tos_v4(0xc0)?;
                sock.set_header_included_v4(true)?;
            }
            Family::Ipv6 => {
                sock.set_multicast_if_v6(ifindex)?;
                sock.set_multicast_loop_v6(false)?;
                sock.set_multicast_hops_v6(255)?;
                sock.set_unicast_hops_v6(255)?;
                sock.set_tclass_v6(0xc0)?;
                sock.set_recv_hoplimit_v6(true)?;
                nsock::setsockopt(&sock, nsock::sockopt::Ipv6RecvPacketInfo, &true)
                    .map_err(io::Error::from)?;
                let at = CHECKSUM_OFFSET as i32;
                setsockopt_int(&sock, libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, at)?;
            }
        }
        setsockopt_int(&sock, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
        let polled = register(sock).map_err(|(_, e)| e)?;
        Ok(VrrpSocket {
            ifname: ifname.to_string(),
            ifindex,
            family,
            polled: Some(polled),
            parked: None,
        })
    }

    /// The socket, registered or parked.
    fn sock(&self) -> &Socket {
        match (&self.polled, &self.parked) {
            (Some(fd), _) => fd.get_ref(),
            (None, Some(sock)) => sock,
            (None, None) => unreachable!("a VrrpSocket is always polled or parked"),
        }
    }

    /// Takes the socket out of the reactor (one `epoll_ctl`): datagrams queue without waking
    /// the daemon until [`VrrpSocket::unpark`]; the driver reads them on its timer. Receive
    /// coalescing of a host whose instances are all Backups ([`crate::os::doorbell`]).
    pub fn park(&mut self) {
        if let Some(fd) = self.polled.take() {
            self.parked = Some(fd.into_inner());
        }
    }

    /// Registers a parked socket with the reactor again (one `epoll_ctl`). On failure the
    /// socket stays parked and the error is returned.
    pub fn unpark(&mut self) -> io::Result<()> {
        if let Some(sock) = self.parked.take() {
            match register(sock) {
                Ok(fd) => self.polled = Some(fd),
                Err((sock, e)) => {
                    self.parked = Some(sock);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Whether the socket is parked ([`VrrpSocket::park`]).
    pub fn is_parked(&self) -> bool {
        self.polled.is_none()
    }
}

/// Registers `sock` with the reactor for readability only (a raw socket is always
/// writable: write interest would only add wake-ups); gives it back on failure.
pub(crate) fn register(sock: Socket) -> Result<AsyncFd<Socket>, (Socket, io::Error)> {
    // SAFETY: the socket is owned by the AsyncFd from here on and is not closed elsewhere.
    unsafe { AsyncFd::register_with_interest(sock, tokio::io::Interest::READABLE) }
        .map_err(|e| e.into_parts())
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

/// Length of the IPv4 header we write: no options.
const IPV4_HEADER_LEN: usize = 20;
/// The DSCP of TOS 0xc0 (CS6, network control), as keepalived sends; ECN zero.
const DSCP_CS6: u8 = 0xc0 >> 2;

/// Appends to `buf` the IPv4 header of a VRRP packet of `payload_len` bytes from `src` to
/// `dst`: 20 bytes, no options, TOS 0xc0, identification and fragment fields zero, TTL
/// `ttl`, protocol 112, header checksum filled in.
pub fn push_ipv4_header(
    buf: &mut Vec<u8>,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    payload_len: usize,
) {
    let start = buf.len();
    buf.resize(start + IPV4_HEADER_LEN, 0);
    if let Some(mut ip) = MutableIpv4Packet::new(&mut buf[start..]) {
        ip.set_version(4);
        ip.set_header_length((IPV4_HEADER_LEN / 4) as u8);
        ip.set_dscp(DSCP_CS6);
        ip.set_ecn(0);
        ip.set_total_length((IPV4_HEADER_LEN + payload_len) as u16);
        ip.set_identification(0);
        ip.set_flags(0);
        ip.set_fragment_offset(0);
        ip.set_ttl(ttl);
        ip.set_next_level_protocol(IpNextHeaderProtocols::Vrrp);
        ip.set_source(src);
        ip.set_destination(dst);
        ip.set_checksum(0);
        let ck = internet_checksum(ip.packet());
        ip.set_checksum(ck);
    }
}

/// Packets per `recvmmsg`/`sendmmsg` call.
pub const BATCH: usize = 64;
/// Bytes per receive slot: more than the largest VRRP packet (IPv4 header + 255 IPv6
/// addresses would not even fit an IPv4 instance; IPv6 tops out at 4 KiB + 8).
const RX_SLOT: usize = 4200;
/// Control-message bytes per slot (the receive time; IPv6 packet info and hop limit).
const RX_CMSG: usize = 128;

/// One packet of an [`RxBatch`]: header fields and where its VRRP payload lies.
#[derive(Clone, Copy, Debug)]
pub struct RxMeta {
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// TTL or hop limit.
    pub ttl: u8,
    /// When the kernel received it (`SO_TIMESTAMPNS`, `CLOCK_REALTIME` since the epoch).
    pub stamp: Option<Duration>,
    slot: usize,
    start: usize,
    end: usize,
}

/// Reusable receive buffers for one `recvmmsg` call: no allocation per packet.
pub struct RxBatch {
    bufs: Box<[[u8; RX_SLOT]]>,
    cmsg: Box<[[u8; RX_CMSG]]>,
    meta: Vec<RxMeta>,
}

impl Default for RxBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl RxBatch {
    /// Buffers for [`BATCH`] packets.
    pub fn new() -> RxBatch {
        RxBatch {
            bufs: vec![[0u8; RX_SLOT]; BATCH].into_boxed_slice(),
            cmsg: vec![[0u8; RX_CMSG]; BATCH].into_boxed_slice(),
            meta: Vec::with_capacity(BATCH),
        }
    }

    /// How many well-formed packets the last read produced.
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// Whether the last read produced no well-formed packet.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// Packet `i` of the last read: its header fields and VRRP payload.
    pub fn get(&self, i: usize) -> (RxMeta, &[u8]) {
        let m = self.meta[i];
        (m, &self.bufs[m.slot][m.start..m.end])
    }
}

/// Packets queued for one `sendmmsg` per flush; buffers are reused.
#[derive(Default)]
pub struct TxBatch {
    buf: Vec<u8>,
    items: Vec<TxItem>,
}

#[derive(Clone, Copy)]
struct TxItem {
    tag: u32,
    start: usize,
    end: usize,
    src: IpAddr,
    dst: IpAddr,
    /// IPv6 hop limit (IPv4 carries its TTL in the header we build).
    ttl: u8,
    flags: i32,
}

impl TxBatch {
    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl VrrpSocket {
    /// Raises the receive buffer so a burst of adverts from many instances (all sent in the
    /// same tick) is not dropped: `SO_RCVBUFFORCE` as root, else `SO_RCVBUF` within rmem_max.
    pub fn grow_receive_buffer(&self, bytes: i32) {
        let sock = self.sock();
        if setsockopt_int(sock, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes).is_err() {
            let _ = sock.set_recv_buffer_size(bytes as usize);
        }
    }

    /// Queues one VRRP message in `batch` (sent by [`VrrpSocket::flush`]); `tag` comes back
    /// with its error if sending fails. IPv4 gets our own header (see [`push_ipv4_header`]:
    /// TTL `ttl`, TOS 0xc0, source `src`), IPv6 an `IPV6_PKTINFO` naming the source.
    pub fn queue(
        &self,
        batch: &mut TxBatch,
        tag: u32,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        payload: &[u8],
    ) -> io::Result<()> {
        let start = batch.buf.len();
        let flags = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) if self.family == Family::Ipv4 => {
                push_ipv4_header(&mut batch.buf, s, d, ttl, payload.len());
                batch.buf.extend_from_slice(payload);
                if d.is_multicast() {
                    libc::MSG_DONTROUTE
                } else {
                    0
                }
            }
            (IpAddr::V6(_), IpAddr::V6(_)) if self.family == Family::Ipv6 => {
                batch.buf.extend_from_slice(payload);
                0
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "addresses not of the socket's family",
                ))
            }
        };
        batch.items.push(TxItem {
            tag,
            start,
            end: batch.buf.len(),
            src,
            dst,
            ttl,
            flags,
        });
        Ok(())
    }

    /// Sends everything queued in `batch` with as few `sendmmsg` calls as the flags allow,
    /// then empties it. `on_error(tag, error)` is called for each packet that failed.
    pub fn flush(&self, batch: &mut TxBatch, mut on_error: impl FnMut(u32, &io::Error)) {
        let fd = self.sock().as_raw_fd();
        let mut i = 0;
        while i < batch.items.len() {
            // One call: up to BATCH packets with the same flags.
            let flags = batch.items[i].flags;
            let mut n = 0;
            while n < BATCH && i + n < batch.items.len() && batch.items[i + n].flags == flags {
                n += 1;
            }
            // SAFETY: plain-old-data C structs; all-zero is a valid value for each.
            let mut addrs: [libc::sockaddr_in6; BATCH] = unsafe { std::mem::zeroed() };
            let mut iovs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
            let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
            // IPv6: an IPV6_PKTINFO per message so the source is the instance's link-local
            // address (RFC 5798 §5.1.2.1), not whatever the kernel picks (a VIP, say).
            // u64 elements keep the control buffers aligned for cmsghdr.
            let mut controls: [[u64; 8]; BATCH] = [[0; 8]; BATCH];
            for k in 0..n {
                let it = batch.items[i + k];
                let len = match it.dst {
                    IpAddr::V4(d) => {
                        let sin = libc::sockaddr_in {
                            sin_family: libc::AF_INET as libc::sa_family_t,
                            sin_port: 0,
                            sin_addr: libc::in_addr {
                                s_addr: u32::from_ne_bytes(d.octets()),
                            },
                            sin_zero: [0; 8],
                        };
                        // SAFETY: sockaddr_in fits in the sockaddr_in6 slot.
                        unsafe {
                            std::ptr::write((&mut addrs[k] as *mut libc::sockaddr_in6).cast(), sin)
                        };
                        std::mem::size_of::<libc::sockaddr_in>()
                    }
                    IpAddr::V6(d) => {
                        let scope = if d.is_multicast() || is_link_local(&d) {
                            self.ifindex
                        } else {
                            0
                        };
                        addrs[k].sin6_family = libc::AF_INET6 as libc::sa_family_t;
                        addrs[k].sin6_addr.s6_addr = d.octets();
                        addrs[k].sin6_scope_id = scope;
                        std::mem::size_of::<libc::sockaddr_in6>()
                    }
                };
                iovs[k].iov_base = batch.buf[it.start..].as_mut_ptr().cast();
                iovs[k].iov_len = it.end - it.start;
                msgs[k].msg_hdr.msg_name = (&mut addrs[k] as *mut libc::sockaddr_in6).cast();
                msgs[k].msg_hdr.msg_namelen = len as libc::socklen_t;
                msgs[k].msg_hdr.msg_iov = &mut iovs[k];
                msgs[k].msg_hdr.msg_iovlen = 1;
                if let IpAddr::V6(src) = it.src {
                    let info = libc::in6_pktinfo {
                        ipi6_addr: libc::in6_addr {
                            s6_addr: src.octets(),
                        },
                        ipi6_ifindex: self.ifindex,
                    };
                    let data_len = std::mem::size_of::<libc::in6_pktinfo>() as libc::c_uint;
                    let hop_len = std::mem::size_of::<libc::c_int>() as libc::c_uint;
                    // The socket's hop limit is 255; another one (`unicast_ttl`) goes with
                    // the packet, as keepalived 2.2.7 sends it (`vrrp_build_ancillary_data`).
                    let hops = (it.ttl != 255).then_some(libc::c_int::from(it.ttl));
                    let hdr = &mut msgs[k].msg_hdr;
                    hdr.msg_control = controls[k].as_mut_ptr().cast();
                    // SAFETY: CMSG_SPACE is arithmetic; 64 bytes hold an in6_pktinfo cmsg (32)
                    // and a hop-limit one (24).
                    hdr.msg_controllen = unsafe {
                        libc::CMSG_SPACE(data_len) + hops.map_or(0, |_| libc::CMSG_SPACE(hop_len))
                    } as _;
                    // SAFETY: msg_control points at a zeroed, aligned buffer of msg_controllen
                    // bytes, so CMSG_FIRSTHDR (and CMSG_NXTHDR when a second cmsg was counted
                    // in) is non-null and the data fits.
                    unsafe {
                        let c = libc::CMSG_FIRSTHDR(hdr);
                        (*c).cmsg_level = libc::IPPROTO_IPV6;
                        (*c).cmsg_type = libc::IPV6_PKTINFO;
                        (*c).cmsg_len = libc::CMSG_LEN(data_len) as _;
                        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), info);
                        if let Some(h) = hops {
                            let c = libc::CMSG_NXTHDR(hdr, c);
                            (*c).cmsg_level = libc::IPPROTO_IPV6;
                            (*c).cmsg_type = libc::IPV6_HOPLIMIT;
                            (*c).cmsg_len = libc::CMSG_LEN(hop_len) as _;
                            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), h);
                        }
                    }
                }
            }
            let mut done = 0;
            while done < n {
                // SAFETY: msgs[done..n] point at live buffers and addresses set up above.
                let rc = unsafe {
                    libc::sendmmsg(
                        fd,
                        msgs[done..].as_mut_ptr(),
                        (n - done) as libc::c_uint,
                        flags | libc::MSG_DONTWAIT,
                    )
                };
                if rc > 0 {
                    done += rc as usize;
                } else {
                    // The packet at `done` failed: report it and go on with the next.
                    let e = io::Error::last_os_error();
                    on_error(batch.items[i + done].tag, &e);
                    done += 1;
                }
            }
            i += n;
        }
        batch.items.clear();
        batch.buf.clear();
    }

    /// Reads up to [`BATCH`] packets with one `recvmmsg` into `batch` once the socket is
    /// readable. Malformed datagrams are skipped, so the batch may be empty.
    pub fn poll_recv_batch(
        &self,
        cx: &mut std::task::Context<'_>,
        batch: &mut RxBatch,
    ) -> std::task::Poll<io::Result<()>> {
        use std::task::Poll;
        let Some(fd) = &self.polled else {
            // Parked: read by the driver's timer, never woken by the reactor.
            return Poll::Pending;
        };
        loop {
            let mut guard = match fd.poll_read_ready(cx) {
                Poll::Ready(Ok(g)) => g,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match guard.try_io(|inner| recv_batch(inner.get_ref(), self.family, batch)) {
                Ok(Ok(read)) => {
                    if read < BATCH {
                        // The queue is drained: no second `recvmmsg` only to see EAGAIN. A
                        // datagram arriving from now on is a new edge of the (edge-triggered)
                        // epoll, which the reactor reports on its next wait.
                        guard.clear_ready();
                    }
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }

    /// Reads up to [`BATCH`] packets already queued, without waiting for the reactor to say
    /// the socket is readable; whether any datagram was read (malformed ones are skipped, so
    /// the batch may still be empty).
    pub fn try_recv_batch(&self, batch: &mut RxBatch) -> io::Result<bool> {
        match recv_batch(self.sock(), self.family, batch) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// One `recvmmsg` into `batch`; how many datagrams it read (malformed ones included).
fn recv_batch(sock: &Socket, family: Family, batch: &mut RxBatch) -> io::Result<usize> {
    batch.meta.clear();
    // SAFETY: plain-old-data C structs; all-zero is a valid value for each.
    let mut addrs: [libc::sockaddr_in6; BATCH] = unsafe { std::mem::zeroed() };
    let mut iovs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for k in 0..BATCH {
        iovs[k].iov_base = batch.bufs[k].as_mut_ptr().cast();
        iovs[k].iov_len = RX_SLOT;
        let h = &mut msgs[k].msg_hdr;
        h.msg_name = (&mut addrs[k] as *mut libc::sockaddr_in6).cast();
        h.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        h.msg_iov = &mut iovs[k];
        h.msg_iovlen = 1;
        h.msg_control = batch.cmsg[k].as_mut_ptr().cast();
        h.msg_controllen = RX_CMSG as _;
    }
    // SAFETY: every header points at live buffers of the stated sizes.
    let rc = unsafe {
        libc::recvmmsg(
            sock.as_raw_fd(),
            msgs.as_mut_ptr(),
            BATCH as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    for (k, m) in msgs.iter().enumerate().take(rc as usize) {
        let n = (m.msg_len as usize).min(RX_SLOT);
        if m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
            continue; // keepalived drops truncated packets too
        }
        let mut stamp = None;
        let mut dst6 = None;
        let mut hops = 0u8;
        // SAFETY: the kernel filled msg_control up to msg_controllen; the CMSG_* helpers stay
        // within it.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&m.msg_hdr);
            while !c.is_null() {
                let data = libc::CMSG_DATA(c);
                match ((*c).cmsg_level, (*c).cmsg_type) {
                    (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => {
                        let ts: libc::timespec = std::ptr::read_unaligned(data.cast());
                        stamp = Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
                    }
                    (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                        let pi: libc::in6_pktinfo = std::ptr::read_unaligned(data.cast());
                        dst6 = Some(Ipv6Addr::from(pi.ipi6_addr.s6_addr));
                    }
                    (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                        let h: libc::c_int = std::ptr::read_unaligned(data.cast());
                        hops = h.clamp(0, 255) as u8;
                    }
                    _ => {}
                }
                c = libc::CMSG_NXTHDR(&m.msg_hdr, c);
            }
        }
        match family {
            Family::Ipv4 => {
                if let Some((src, dst, ttl, start, end)) = ipv4_fields(&batch.bufs[k][..n]) {
                    batch.meta.push(RxMeta {
                        src: IpAddr::V4(src),
                        dst: IpAddr::V4(dst),
                        ttl,
                        stamp,
                        slot: k,
                        start,
                        end,
                    });
                }
            }
            Family::Ipv6 => {
                let src = Ipv6Addr::from(addrs[k].sin6_addr.s6_addr);
                let Some(dst) = dst6 else { continue };
                batch.meta.push(RxMeta {
                    src: IpAddr::V6(src),
                    dst: IpAddr::V6(dst),
                    ttl: hops,
                    stamp,
                    slot: k,
                    start: 0,
                    end: n,
                });
            }
        }
    }
    Ok(rc as usize)
}

/// The header fields of a raw IPv4 datagram and the range of its payload (trimmed to the IP
/// total length); `None` if the IP header itself is malformed.
fn ipv4_fields(data: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, u8, usize, usize)> {
    // `new` is `None` below the 20-byte minimum header.
    let ip = Ipv4Packet::new(data)?;
    if ip.get_version() != 4 {
        return None;
    }
    let ihl = usize::from(ip.get_header_length()) * 4;
    if ihl < IPV4_HEADER_LEN || data.len() < ihl {
        return None;
    }
    let total = usize::from(ip.get_total_length());
    let end = if total >= ihl && total <= data.len() {
        total
    } else {
        data.len()
    };
    Some((
        ip.get_source(),
        ip.get_destination(),
        ip.get_ttl(),
        ihl,
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_is_the_one_the_daemon_always_sent() {
        let mut buf = vec![0xaa];
        let (src, dst) = (Ipv4Addr::new(10, 77, 0, 11), Ipv4Addr::new(224, 0, 0, 18));
        push_ipv4_header(&mut buf, src, dst, 255, 20);
        // 45 c0, total 40, id/flags/offset 0, TTL 255, protocol 112, checksum, src, dst.
        let want = [
            0xaa, 0x45, 0xc0, 0x00, 0x28, 0, 0, 0, 0, 0xff, 0x70, 0xd0, 0x3b, 10, 77, 0, 11, 224,
            0, 0, 18,
        ];
        assert_eq!(buf, want);
        assert_eq!(internet_checksum(&buf[1..]), 0);
    }

    #[test]
    fn ipv4_fields_reads_what_push_ipv4_header_writes() {
        let (src, dst) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
        let mut buf = Vec::new();
        push_ipv4_header(&mut buf, src, dst, 7, 3);
        buf.extend_from_slice(&[1, 2, 3, 0xee]); // one byte past the total length
        assert_eq!(ipv4_fields(&buf), Some((src, dst, 7, 20, 23)));
        // A total length past the datagram: the payload runs to its end.
        buf[3] = 0xff;
        assert_eq!(ipv4_fields(&buf), Some((src, dst, 7, 20, 24)));
        // Options (IHL 6): the payload starts after them.
        buf[0] = 0x46;
        assert_eq!(ipv4_fields(&buf), Some((src, dst, 7, 24, 24)));
        // Not IPv4, IHL under 5 or past the data, too short: malformed.
        buf[0] = 0x65;
        assert_eq!(ipv4_fields(&buf), None);
        buf[0] = 0x44;
        assert_eq!(ipv4_fields(&buf), None);
        buf[0] = 0x4f;
        assert_eq!(ipv4_fields(&buf), None);
        assert_eq!(ipv4_fields(&buf[..19]), None);
    }
}

//! Hand-made VRRP packets sent from a raw socket (`IP_HDRINCL`) on a lab host's eth0: paced,
//! or as a flood as fast as one core sends.

use super::scrape::in_host;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};
use vrrp_engine::wire::{self, Auth, ChecksumMode};
use vrrp_engine::Version;
use vrrp_lab::Lab;
use vrrp_real::os::socket::push_ipv4_header;

/// The VRRP multicast group (RFC 5798 §5.1.1.2).
pub const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// An IPv4 datagram from `src` to [`GROUP`] with `ttl` carrying `payload`.
pub fn datagram(src: Ipv4Addr, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(20 + payload.len());
    push_ipv4_header(&mut b, src, GROUP, ttl, payload.len());
    b.extend_from_slice(payload);
    b
}

/// A well-formed advert from `src` (checksum right for its version: v3 with the
/// pseudo-header).
pub fn advert(
    version: Version,
    src: Ipv4Addr,
    vrid: u8,
    priority: u8,
    interval: u16,
    auth: Auth,
    addrs: &[Ipv4Addr],
) -> Vec<u8> {
    let a = wire::Advert {
        version,
        vrid,
        priority,
        interval,
        auth,
        addrs: addrs.iter().map(|&a| IpAddr::V4(a)).collect(),
    };
    a.emit(IpAddr::V4(src), IpAddr::V4(GROUP), ChecksumMode::default())
}

fn raw_socket() -> Socket {
    let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).expect("raw");
    s.bind_device(Some(b"eth0")).expect("bind eth0");
    s.set_header_included_v4(true).expect("IP_HDRINCL");
    // The sending host runs no daemon: no copy for it.
    s.set_multicast_loop_v4(false).expect("IP_MULTICAST_LOOP");
    s
}

/// Sends each datagram once from host `i`, `gap` apart; returns how many the kernel took.
pub fn send_paced(lab: &Lab, i: usize, datagrams: Vec<Vec<u8>>, gap: Duration) -> usize {
    in_host(lab, i, move || {
        let s = raw_socket();
        let to = SockAddr::from(SocketAddrV4::new(GROUP, 0));
        let mut sent = 0;
        for d in datagrams {
            sent += usize::from(s.send_to(&d, &to).is_ok());
            std::thread::sleep(gap);
        }
        sent
    })
    .join()
    .expect("paced sender")
}

/// Sends `datagrams` round-robin from host `i` as fast as one thread can, for `window` or
/// `max` datagrams, whichever ends first; returns (sent, how long it took, the sending
/// thread's CPU time). A datagram the kernel refuses (full queue) is not counted.
pub fn flood(
    lab: &Lab,
    i: usize,
    datagrams: Vec<Vec<u8>>,
    window: Duration,
    max: u64,
) -> (u64, Duration, Duration) {
    in_host(lab, i, move || {
        let s = raw_socket();
        s.set_nonblocking(true).expect("O_NONBLOCK");
        let to = SockAddr::from(SocketAddrV4::new(GROUP, 0));
        let start = Instant::now();
        let mut sent = 0u64;
        let mut tries = 0u64;
        'outer: loop {
            for d in &datagrams {
                sent += u64::from(s.send_to(d, &to).is_ok());
                tries += 1;
                if tries >= max || (tries.is_multiple_of(256) && start.elapsed() >= window) {
                    break 'outer;
                }
            }
        }
        let took = start.elapsed();
        // SAFETY: getrusage fills the struct it is given.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
        let cpu = Duration::new(ru.ru_utime.tv_sec as u64, ru.ru_utime.tv_usec as u32 * 1000)
            + Duration::new(ru.ru_stime.tv_sec as u64, ru.ru_stime.tv_usec as u32 * 1000);
        (sent, took, cpu)
    })
    .join()
    .expect("flooder")
}

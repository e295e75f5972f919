//! Crafted adverts: a VRRPv3 IPv4 advert built with the engine's codec (whatever its fields
//! say, e.g. Max Adver Int 0), sent to 224.0.0.18 from a host's namespace over a raw socket.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use vrrp_engine::wire::{ChecksumMode, Packet, HEADER_LEN, TYPE_ADVERTISEMENT};
use vrrp_engine::{Family, Version};

/// The VRRP group address (RFC 5798 §5.1.1.2).
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// What to put in a crafted advert.
pub struct Craft {
    /// VRID.
    pub vrid: u8,
    /// Priority.
    pub priority: u8,
    /// Max Adver Int, centiseconds.
    pub interval_cs: u16,
    /// The address list.
    pub addrs: Vec<Ipv4Addr>,
}

/// The VRRPv3 payload of `c` from `src`, with its checksum (pseudo-header, RFC 5798 §5.2.8).
pub fn payload(c: &Craft, src: Ipv4Addr) -> Vec<u8> {
    let mut buf = vec![0u8; HEADER_LEN + 4 * c.addrs.len()];
    let mut p = Packet::new_unchecked(&mut buf[..], Version::V3, Family::Ipv4);
    p.set_version(Version::V3);
    p.set_msg_type(TYPE_ADVERTISEMENT);
    p.set_vrid(c.vrid);
    p.set_priority(c.priority);
    p.set_count(c.addrs.len() as u8);
    p.set_interval(c.interval_cs);
    for (i, a) in c.addrs.iter().enumerate() {
        p.set_addr(i, IpAddr::V4(*a));
    }
    p.fill_checksum(
        IpAddr::V4(src),
        IpAddr::V4(GROUP),
        ChecksumMode::PseudoHeader,
    );
    buf
}

/// Sends `bytes` `count` times, `every` apart, from namespace `ns` (source `src`, TTL 255),
/// on a thread of its own; join it before the run ends.
pub fn send(
    ns: &str,
    src: Ipv4Addr,
    bytes: Vec<u8>,
    count: u32,
    every: std::time::Duration,
) -> std::thread::JoinHandle<()> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: setns(2) with a namespace file we just opened; it changes this thread only.
        let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns {path}: {}", std::io::Error::last_os_error());
        // SAFETY: socket(2); the descriptor is closed below.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, 112) };
        assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
        let set = |opt: libc::c_int, val: &[u8]| {
            // SAFETY: setsockopt(2) with a buffer of the given length.
            let r = unsafe {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_IP,
                    opt,
                    val.as_ptr().cast(),
                    val.len() as u32,
                )
            };
            assert_eq!(
                r,
                0,
                "setsockopt {opt}: {}",
                std::io::Error::last_os_error()
            );
        };
        set(libc::IP_MULTICAST_TTL, &255i32.to_ne_bytes());
        set(libc::IP_MULTICAST_IF, &src.octets());
        let to = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(GROUP.octets()),
            },
            sin_zero: [0; 8],
        };
        for i in 0..count {
            if i > 0 {
                std::thread::sleep(every);
            }
            // SAFETY: sendto(2) with our buffer and a sockaddr_in of its size.
            let n = unsafe {
                libc::sendto(
                    fd,
                    bytes.as_ptr().cast(),
                    bytes.len(),
                    0,
                    (&to as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as u32,
                )
            };
            assert!(n >= 0, "sendto: {}", std::io::Error::last_os_error());
        }
        // SAFETY: close(2) of the socket opened above.
        unsafe { libc::close(fd) };
    })
}

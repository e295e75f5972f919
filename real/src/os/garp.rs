//! Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6), built with
//! `pnet_packet` in keepalived's exact form and sent on `AF_PACKET` sockets that carry a
//! drop-all receive filter (they never queue anything) and are not promiscuous.
//!
//! ARP: Ethernet broadcast, ARP request, sha = our MAC, spa = tpa = VIP,
//! tha = ff:ff:ff:ff:ff:ff (42 bytes; the NIC pads). NA: to 33:33:00:00:00:01 / ff02::1 from
//! the VIP, hop limit 255, Override flag (Router too if the interface forwards), target = VIP,
//! Target Link-Layer Address option.

use pnet_base::MacAddr;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, NdpOption, NdpOptionTypes, NeighborAdvertFlags,
};
use pnet_packet::icmpv6::{Icmpv6Code, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;
use socket2::{Domain, Protocol, SockFilter, Socket, Type};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The gratuitous ARP frame for `vip` from `mac` (42 bytes).
pub fn arp_frame(mac: [u8; 6], vip: Ipv4Addr) -> Vec<u8> {
    let mut buf = vec![0u8; 42];
    let m = MacAddr::from(mac);
    {
        let Some(mut eth) = MutableEthernetPacket::new(&mut buf) else {
            return Vec::new();
        };
        eth.set_destination(MacAddr::broadcast());
        eth.set_source(m);
        eth.set_ethertype(EtherTypes::Arp);
    }
    if let Some(mut arp) = MutableArpPacket::new(&mut buf[14..]) {
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(ArpOperations::Request);
        arp.set_sender_hw_addr(m);
        arp.set_sender_proto_addr(vip);
        arp.set_target_hw_addr(MacAddr::broadcast());
        arp.set_target_proto_addr(vip);
    }
    buf
}

/// The unsolicited NA frame for `vip` from `mac` (86 bytes); `router` sets the Router flag.
pub fn na_frame(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> Vec<u8> {
    const ICMP_LEN: usize = 24 + 8;
    let mut buf = vec![0u8; 14 + 40 + ICMP_LEN];
    let m = MacAddr::from(mac);
    if let Some(mut eth) = MutableEthernetPacket::new(&mut buf) {
        eth.set_destination(MacAddr::new(0x33, 0x33, 0, 0, 0, 1));
        eth.set_source(m);
        eth.set_ethertype(EtherTypes::Ipv6);
    }
    if let Some(mut ip) = MutableIpv6Packet::new(&mut buf[14..54]) {
        ip.set_version(6);
        ip.set_payload_length(ICMP_LEN as u16);
        ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
        ip.set_hop_limit(255);
        ip.set_source(vip);
        ip.set_destination(ALL_NODES);
    }
    {
        let Some(mut na) = MutableNeighborAdvertPacket::new(&mut buf[54..]) else {
            return Vec::new();
        };
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_icmpv6_code(Icmpv6Code(0));
        let mut flags = NeighborAdvertFlags::Override;
        if router {
            flags |= NeighborAdvertFlags::Router;
        }
        na.set_flags(flags);
        na.set_target_addr(vip);
        na.set_options(&[NdpOption {
            option_type: NdpOptionTypes::TargetLLAddr,
            length: 1,
            data: mac.to_vec(),
        }]);
    }
    let ck = match Icmpv6Packet::new(&buf[54..]) {
        Some(p) => pnet_packet::icmpv6::checksum(&p, &vip, &ALL_NODES),
        None => 0,
    };
    buf[56..58].copy_from_slice(&ck.to_be_bytes());
    buf
}

/// The two AF_PACKET senders (ARP and IPv6), shared by all interfaces.
pub struct Announcer {
    arp: Option<Socket>,
    ipv6: Option<Socket>,
}

fn open_packet(ethertype: u16) -> io::Result<Socket> {
    let s = Socket::new(
        Domain::PACKET,
        Type::RAW,
        Some(Protocol::from(i32::from(ethertype.to_be()))),
    )?;
    s.set_cloexec(true)?;
    s.set_nonblocking(true)?;
    // BPF "ret #0": accept nothing, so this send-only socket never queues a frame.
    s.attach_filter(&[SockFilter::new(0x06, 0, 0, 0)])?;
    Ok(s)
}

impl Announcer {
    /// Opens both sockets (a failure leaves that family unable to announce, and is logged).
    pub fn open() -> Announcer {
        let arp = open_packet(ETH_P_ARP)
            .map_err(|e| tracing::error!("cannot open the ARP socket: {e}"))
            .ok();
        let ipv6 = open_packet(ETH_P_IPV6)
            .map_err(|e| tracing::error!("cannot open the NA socket: {e}"))
            .ok();
        Announcer { arp, ipv6 }
    }

    /// Sends a frame built by [`arp_frame`] or [`na_frame`] on interface `ifindex`.
    pub fn send(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        if frame.len() < 14 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "short frame"));
        }
        let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
        let sock = match ethertype {
            ETH_P_ARP => self.arp.as_ref(),
            _ => self.ipv6.as_ref(),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no packet socket"))?;
        // SAFETY: sockaddr_ll is plain old data; zeroed is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ethertype.to_be();
        sll.sll_ifindex = ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame[0..6]);
        // SAFETY: valid fd, buffer and sockaddr_ll of the stated sizes.
        let rc = unsafe {
            libc::sendto(
                sock.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// Whether IPv6 forwarding is on for `ifname` (the NA's Router flag).
pub fn ipv6_forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const MAC: [u8; 6] = [0xc2, 0xc5, 0xc3, 0x58, 0xc1, 0xfc];

    /// Byte for byte the gratuitous ARP of `engine/tests/fixtures/keepalived.pcap`.
    #[test]
    fn arp_frame_matches_keepalived_capture() {
        let want = unhex(
            "ffffffffffff c2c5c358c1fc 0806 0001 0800 06 04 0001 c2c5c358c1fc 0a4d0066 \
             ffffffffffff 0a4d0066",
        );
        assert_eq!(arp_frame(MAC, Ipv4Addr::new(10, 77, 0, 102)), want);
    }

    /// Byte for byte the unsolicited NA of `engine/tests/fixtures/keepalived.pcap`.
    #[test]
    fn na_frame_matches_keepalived_capture() {
        let want = unhex(
            "333300000001 c2c5c358c1fc 86dd 6000 0000 0020 3aff fe800000000000000000000000050053 \
             ff020000000000000000000000000001 8800 10d3 20000000 fe800000000000000000000000050053 \
             0201 c2c5c358c1fc",
        );
        let vip: Ipv6Addr = "fe80::5:53".parse().unwrap();
        assert_eq!(na_frame(MAC, vip, false), want);
    }

    #[test]
    fn arp_frame_is_keepalived_form() {
        let f = arp_frame([2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!(f.len(), 42);
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[20..22], &[0, 1]); // request
        assert_eq!(&f[28..32], &[10, 0, 0, 100]); // spa
        assert_eq!(&f[32..38], &[0xff; 6]); // tha
        assert_eq!(&f[38..42], &[10, 0, 0, 100]); // tpa
    }

    #[test]
    fn na_frame_is_keepalived_form() {
        let vip: Ipv6Addr = "fd00::100".parse().unwrap();
        let f = na_frame([2, 0, 0, 0, 0, 1], vip, false);
        assert_eq!(f.len(), 86);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(f[14 + 7], 255);
        assert_eq!(f[54], 136);
        assert_eq!(f[58], 0x20);
        assert_eq!(&f[78..80], &[2, 1]);
        let p = Icmpv6Packet::new(&f[54..]).unwrap();
        assert_eq!(
            pnet_packet::icmpv6::checksum(&p, &vip, &ALL_NODES),
            u16::from_be_bytes([f[56], f[57]])
        );
    }
}

//! The VRRP checksum: the Internet checksum (RFC 1071) over the VRRP message, with a
//! pseudo-header for VRRPv3 (RFC 5798 §5.2.8).

use super::field;
use crate::types::{Version, IP_PROTO_VRRP};
use core::net::IpAddr;
use serde::{Deserialize, Serialize};

/// Whether a VRRPv3-over-IPv4 checksum covers the IPv4 pseudo-header.
///
/// RFC 5798 §5.2.8 says it does, and keepalived does so by default; some old implementations
/// (and keepalived's "v3 checksum as v2" switch) leave it out. VRRPv2 never uses a
/// pseudo-header (RFC 3768 §5.3.8) and VRRPv3 over IPv6 always does, whatever this says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumMode {
    /// Include the pseudo-header (RFC 5798 §5.2.8; the default).
    #[default]
    PseudoHeader,
    /// Checksum the VRRP message alone, as VRRPv2 does.
    NoPseudoHeader,
}

/// One's-complement sum of `data` as big-endian 16-bit words, added to `acc`.
fn sum_words(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    acc
}

fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

fn pseudo_header_sum(src: IpAddr, dst: IpAddr, len: usize) -> u64 {
    match (src, dst) {
        // RFC 5798 §5.2.8 / RFC 768-style IPv4 pseudo-header: src, dst, zero, protocol, length.
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let acc = sum_words(sum_words(0, &s.octets()), &d.octets());
            acc + u64::from(IP_PROTO_VRRP) + len as u64
        }
        // RFC 8200 §8.1 pseudo-header: src, dst, 32-bit length, zeros, next header.
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let acc = sum_words(sum_words(0, &s.octets()), &d.octets());
            acc + (len as u64 >> 16) + (len as u64 & 0xffff) + u64::from(IP_PROTO_VRRP)
        }
        // Mixed families cannot be on one packet: `verify` and `Packet::new_checked_between`
        // reject them. `compute` stays total and sums no pseudo-header.
        _ => 0,
    }
}

/// Compute the checksum of a VRRP message, treating its checksum field as zero.
///
/// `packet` is the whole VRRP message (header, addresses, v2 authentication data).
pub fn compute(
    version: Version,
    src: IpAddr,
    dst: IpAddr,
    mode: ChecksumMode,
    packet: &[u8],
) -> u16 {
    let with_pseudo = match (version, src) {
        (Version::V2, _) => false,
        (Version::V3, IpAddr::V6(_)) => true,
        (Version::V3, IpAddr::V4(_)) => mode == ChecksumMode::PseudoHeader,
    };
    let mut acc = if with_pseudo {
        pseudo_header_sum(src, dst, packet.len())
    } else {
        0
    };
    // The checksum field counts as zero: sum what is before and after it.
    let end = packet.len().min(field::CHECKSUM.start);
    acc = sum_words(acc, &packet[..end]);
    if packet.len() > field::CHECKSUM.end {
        acc = sum_words(acc, &packet[field::CHECKSUM.end..]);
    }
    !fold(acc)
}

/// Whether the checksum stored in `packet` is right for these addresses and mode.
///
/// A packet shorter than the header never verifies, nor does one between addresses of
/// different families (no IP packet has those; the pseudo-header would be meaningless).
pub fn verify(
    version: Version,
    src: IpAddr,
    dst: IpAddr,
    mode: ChecksumMode,
    packet: &[u8],
) -> bool {
    if packet.len() < field::CHECKSUM.end || src.is_ipv4() != dst.is_ipv4() {
        return false;
    }
    let at = field::CHECKSUM.start;
    let stored = u16::from_be_bytes([packet[at], packet[at + 1]]);
    compute(version, src, dst, mode, packet) == stored
}

//! The Internet checksum (RFC 1071), the workspace's only implementation of it: the VRRP
//! checksum over the VRRP message, with a pseudo-header for VRRPv3 (RFC 5798 §5.2.8), and
//! [`internet_checksum`] for other headers (the daemon's IPv4 header).

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

/// Byte offset of the checksum field in the VRRP message, for a kernel that fills it in
/// (Linux's `IPV6_CHECKSUM` socket option).
pub const CHECKSUM_OFFSET: usize = field::CHECKSUM.start;

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

/// The Internet checksum of `data` (RFC 1071): the one's complement of the one's-complement
/// sum of its big-endian 16-bit words, an odd last byte padded with zero.
///
/// Writing it into a header whose checksum field was zero makes the header sum to `0xffff`
/// (for example the IPv4 header checksum, RFC 791).
pub fn internet_checksum(data: &[u8]) -> u16 {
    !fold(sum_words(0, data))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internet_checksum_of_rfc1071_and_ipv4_examples() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (so the checksum is 220d).
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        // An odd length pads the last byte with zero.
        assert_eq!(internet_checksum(&[0x12]), !0x1200);
        assert_eq!(internet_checksum(&[]), 0xffff);
        // A filled-in IPv4 header sums to 0xffff, so its checksum over itself is zero.
        let mut h = [
            0x45, 0xc0, 0x00, 0x28, 0, 0, 0, 0, 255, 112, 0, 0, 10, 77, 0, 11, 224, 0, 0, 18,
        ];
        let ck = internet_checksum(&h);
        h[10..12].copy_from_slice(&ck.to_be_bytes());
        assert_eq!(internet_checksum(&h), 0);
    }
}

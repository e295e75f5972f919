//! Zero-copy view over a VRRP message.

use super::{checksum, ChecksumMode, DecodeError, TYPE_ADVERTISEMENT};
use crate::types::{Family, Version};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Length of the fixed VRRP header (RFC 3768 §5.1, RFC 5798 §5.1).
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 authentication data that follows the addresses (RFC 3768 §5.1).
pub const V2_AUTH_LEN: usize = 8;

/// A checked view over a VRRP message of a known address family.
///
/// After [`Packet::new_checked`] every accessor is in bounds and the version and type are
/// known-good, so none of them can panic.
#[derive(Clone, Copy, Debug)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
    version: Version,
}

/// Expected length of a VRRP message with `count` addresses.
pub(crate) fn expected_len(version: Version, family: Family, count: usize) -> usize {
    let auth = match version {
        Version::V2 => V2_AUTH_LEN,
        Version::V3 => 0,
    };
    HEADER_LEN + count * family.addr_len() + auth
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Check `buffer` structurally (length, version, type, family) and wrap it.
    ///
    /// RFC 5798 §7.1: the receiver MUST verify the version, the complete length and the type.
    /// The checksum is checked separately with [`Packet::verify_checksum`], since the
    /// addresses it covers come from the IP header.
    pub fn new_checked(buffer: T, family: Family) -> Result<Self, DecodeError> {
        let bytes = buffer.as_ref();
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::Truncated { len: bytes.len() });
        }
        let version = match bytes[0] >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(DecodeError::Version(v)),
        };
        let kind = bytes[0] & 0x0f;
        if kind != TYPE_ADVERTISEMENT {
            return Err(DecodeError::Type(kind));
        }
        if version == Version::V2 && family == Family::Ipv6 {
            return Err(DecodeError::V2OverIpv6);
        }
        let expected = expected_len(version, family, usize::from(bytes[3]));
        if bytes.len() != expected {
            return Err(DecodeError::Length {
                expected,
                actual: bytes.len(),
            });
        }
        Ok(Packet {
            buffer,
            family,
            version,
        })
    }

    /// Check `buffer` as a message sent from `src` to `dst` (the IP header's addresses): their
    /// families must agree, else [`DecodeError::MixedFamilies`], and give the packet's family.
    /// Then as [`Packet::new_checked`].
    pub fn new_checked_between(buffer: T, src: IpAddr, dst: IpAddr) -> Result<Self, DecodeError> {
        let family = Family::of(&src);
        if Family::of(&dst) != family {
            return Err(DecodeError::MixedFamilies);
        }
        Self::new_checked(buffer, family)
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Protocol version (RFC 5798 §5.2.1).
    pub fn version(&self) -> Version {
        self.version
    }

    /// Address family of the addresses carried.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Virtual Router Identifier (RFC 5798 §5.2.3).
    pub fn vrid(&self) -> u8 {
        self.as_bytes()[1]
    }

    /// Sender's priority (RFC 5798 §5.2.4).
    pub fn priority(&self) -> u8 {
        self.as_bytes()[2]
    }

    /// Number of addresses carried (RFC 5798 §5.2.5).
    pub fn count(&self) -> u8 {
        self.as_bytes()[3]
    }

    /// The advertisement interval field: whole seconds for v2 (RFC 3768 §5.3.7), the 12-bit
    /// Max Adver Int in centiseconds for v3 (RFC 5798 §5.2.7).
    pub fn interval(&self) -> u16 {
        let b = self.as_bytes();
        match self.version {
            Version::V2 => u16::from(b[5]),
            Version::V3 => u16::from_be_bytes([b[4], b[5]]) & 0x0fff,
        }
    }

    /// VRRPv2 authentication type (RFC 3768 §5.3.6); 0 for v3, which has none.
    pub fn auth_type(&self) -> u8 {
        match self.version {
            Version::V2 => self.as_bytes()[4],
            Version::V3 => 0,
        }
    }

    /// VRRPv2 authentication data (8 bytes); empty for v3.
    pub fn auth_data(&self) -> &[u8] {
        let b = self.as_bytes();
        match self.version {
            Version::V2 => &b[b.len() - V2_AUTH_LEN..],
            Version::V3 => &[],
        }
    }

    /// The stored checksum (RFC 5798 §5.2.8).
    pub fn checksum(&self) -> u16 {
        let b = self.as_bytes();
        u16::from_be_bytes([b[6], b[7]])
    }

    /// The `i`th address, or `None` past the count.
    pub fn addr(&self, i: usize) -> Option<IpAddr> {
        if i >= usize::from(self.count()) {
            return None;
        }
        let len = self.family.addr_len();
        let start = HEADER_LEN + i * len;
        let raw = &self.as_bytes()[start..start + len];
        Some(match self.family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
            Family::Ipv6 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(raw);
                IpAddr::V6(Ipv6Addr::from(o))
            }
        })
    }

    /// All carried addresses, in packet order.
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        (0..usize::from(self.count())).filter_map(move |i| self.addr(i))
    }

    /// Whether the stored checksum is right for these IP addresses (RFC 5798 §7.1: "MUST
    /// verify the VRRP checksum"). Addresses of another family than the packet's never verify.
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr, mode: ChecksumMode) -> bool {
        Family::of(&src) == self.family
            && checksum::verify(self.version, src, dst, mode, self.as_bytes())
    }
}

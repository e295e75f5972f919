//! Zero-copy view over a VRRP message: read accessors on any buffer, setters on a mutable one.

use super::field::{self, Field};
use super::{checksum, ChecksumMode, DecodeError, TYPE_ADVERTISEMENT};
use crate::types::{Family, Version};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Length of the fixed VRRP header (RFC 3768 §5.1, RFC 5798 §5.1).
pub const HEADER_LEN: usize = field::ADDRS;
/// Length of the VRRPv2 authentication data that follows the addresses (RFC 3768 §5.1).
pub const V2_AUTH_LEN: usize = field::AUTH_DATA_LEN;

/// A view over a VRRP message of a known version and address family.
///
/// The version and family are part of the view: the version decides what bytes 4 and 5 mean
/// and whether authentication data follows the addresses, the family (from the IP header)
/// the size of an address.
///
/// After [`Packet::new_checked`] every accessor is in bounds and the version and type are
/// known-good, so none of them can panic. A view made with [`Packet::new_unchecked`], for
/// writing a message with the setters, has no such guarantee: an accessor or setter whose
/// field lies past the end of the buffer panics.
#[derive(Clone, Copy, Debug)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
    version: Version,
}

/// Expected length of a VRRP message with `count` addresses.
pub(crate) fn expected_len(version: Version, family: Family, count: usize) -> usize {
    match version {
        Version::V2 => field::AUTH_DATA(count, family).end,
        Version::V3 => field::ADDR(count, family).start,
    }
}

#[inline]
fn get_u16(bytes: &[u8], f: Field) -> u16 {
    u16::from_be_bytes([bytes[f.start], bytes[f.start + 1]])
}

#[inline]
fn set_u16(bytes: &mut [u8], f: Field, value: u16) {
    bytes[f].copy_from_slice(&value.to_be_bytes());
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap `buffer` as a message of `version` carrying `family` addresses, checking nothing
    /// (not even the version byte): the view for writing a message with the setters.
    #[inline]
    pub fn new_unchecked(buffer: T, version: Version, family: Family) -> Packet<T> {
        Packet {
            buffer,
            family,
            version,
        }
    }

    /// Check `buffer` structurally (length, version, type, family) and wrap it.
    ///
    /// RFC 5798 §7.1: the receiver MUST verify the version, the complete length and the type.
    /// The checksum is checked separately with [`Packet::verify_checksum`], since the
    /// addresses it covers come from the IP header.
    #[inline]
    pub fn new_checked(buffer: T, family: Family) -> Result<Self, DecodeError> {
        let bytes = buffer.as_ref();
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::Truncated { len: bytes.len() });
        }
        let version = match bytes[field::VERS_TYPE] >> field::VERSION_SHIFT {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(DecodeError::Version(v)),
        };
        let packet = Self::new_unchecked(buffer, version, family);
        let kind = packet.msg_type();
        if kind != TYPE_ADVERTISEMENT {
            return Err(DecodeError::Type(kind));
        }
        if version == Version::V2 && family == Family::Ipv6 {
            return Err(DecodeError::V2OverIpv6);
        }
        packet.check_len()?;
        Ok(packet)
    }

    /// Check `buffer` as a message sent from `src` to `dst` (the IP header's addresses): their
    /// families must agree, else [`DecodeError::MixedFamilies`], and give the packet's family.
    /// Then as [`Packet::new_checked`].
    #[inline]
    pub fn new_checked_between(buffer: T, src: IpAddr, dst: IpAddr) -> Result<Self, DecodeError> {
        let family = Family::of(&src);
        if Family::of(&dst) != family {
            return Err(DecodeError::MixedFamilies);
        }
        Self::new_checked(buffer, family)
    }

    /// Whether the buffer holds the fixed header and exactly the addresses (and, for v2, the
    /// authentication data) its count announces. [`Packet::new_checked`] calls this.
    #[inline]
    pub fn check_len(&self) -> Result<(), DecodeError> {
        let len = self.as_bytes().len();
        if len < HEADER_LEN {
            return Err(DecodeError::Truncated { len });
        }
        let expected = expected_len(self.version, self.family, usize::from(self.count()));
        if len != expected {
            return Err(DecodeError::Length {
                expected,
                actual: len,
            });
        }
        Ok(())
    }

    /// The underlying buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The underlying bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Protocol version (RFC 5798 §5.2.1): the checked version byte, or the one given to
    /// [`Packet::new_unchecked`] or [`Packet::set_version`].
    #[inline]
    pub fn version(&self) -> Version {
        self.version
    }

    /// Address family of the addresses carried.
    #[inline]
    pub fn family(&self) -> Family {
        self.family
    }

    /// The Type field (RFC 5798 §5.2.2); always ADVERTISEMENT (1) in a checked packet.
    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.as_bytes()[field::VERS_TYPE] & field::TYPE_MASK
    }

    /// Virtual Router Identifier (RFC 5798 §5.2.3).
    #[inline]
    pub fn vrid(&self) -> u8 {
        self.as_bytes()[field::VRID]
    }

    /// Sender's priority (RFC 5798 §5.2.4).
    #[inline]
    pub fn priority(&self) -> u8 {
        self.as_bytes()[field::PRIORITY]
    }

    /// Number of addresses carried (RFC 5798 §5.2.5).
    #[inline]
    pub fn count(&self) -> u8 {
        self.as_bytes()[field::COUNT]
    }

    /// The advertisement interval field: whole seconds for v2 (RFC 3768 §5.3.7), the 12-bit
    /// Max Adver Int in centiseconds for v3 (RFC 5798 §5.2.7).
    #[inline]
    pub fn interval(&self) -> u16 {
        let b = self.as_bytes();
        match self.version {
            Version::V2 => u16::from(b[field::ADVER_INT]),
            Version::V3 => get_u16(b, field::RSVD_MAX_ADVER_INT) & field::MAX_ADVER_INT_MASK,
        }
    }

    /// The 4 reserved bits before the v3 Max Adver Int (RFC 5798 §5.2.6: sent as zero,
    /// ignored on receipt); 0 for v2, which has none.
    #[inline]
    pub fn reserved(&self) -> u8 {
        match self.version {
            Version::V2 => 0,
            Version::V3 => {
                (get_u16(self.as_bytes(), field::RSVD_MAX_ADVER_INT) >> field::RSVD_SHIFT) as u8
            }
        }
    }

    /// VRRPv2 authentication type (RFC 3768 §5.3.6); 0 for v3, which has none.
    #[inline]
    pub fn auth_type(&self) -> u8 {
        match self.version {
            Version::V2 => self.as_bytes()[field::AUTH_TYPE],
            Version::V3 => 0,
        }
    }

    /// VRRPv2 authentication data (8 bytes after the addresses); empty for v3.
    #[inline]
    pub fn auth_data(&self) -> &[u8] {
        match self.version {
            Version::V2 => {
                &self.as_bytes()[field::AUTH_DATA(usize::from(self.count()), self.family)]
            }
            Version::V3 => &[],
        }
    }

    /// The stored checksum (RFC 5798 §5.2.8).
    #[inline]
    pub fn checksum(&self) -> u16 {
        get_u16(self.as_bytes(), field::CHECKSUM)
    }

    /// The `i`th address, or `None` past the count.
    #[inline]
    pub fn addr(&self, i: usize) -> Option<IpAddr> {
        if i >= usize::from(self.count()) {
            return None;
        }
        let raw = &self.as_bytes()[field::ADDR(i, self.family)];
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
    #[inline]
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        (0..usize::from(self.count())).filter_map(move |i| self.addr(i))
    }

    /// Whether the stored checksum is right for these IP addresses (RFC 5798 §7.1: "MUST
    /// verify the VRRP checksum"). Addresses of another family than the packet's never verify.
    #[inline]
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr, mode: ChecksumMode) -> bool {
        Family::of(&src) == self.family
            && checksum::verify(self.version, src, dst, mode, self.as_bytes())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// The underlying bytes, for writing.
    #[inline]
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Set the version nibble, keeping the type, and make the view one of `version`.
    #[inline]
    pub fn set_version(&mut self, version: Version) {
        let b = &mut self.buffer.as_mut()[field::VERS_TYPE];
        *b = (version.number() << field::VERSION_SHIFT) | (*b & field::TYPE_MASK);
        self.version = version;
    }

    /// Set the type nibble (the low 4 bits of `kind`), keeping the version.
    #[inline]
    pub fn set_msg_type(&mut self, kind: u8) {
        let b = &mut self.buffer.as_mut()[field::VERS_TYPE];
        *b = (*b & !field::TYPE_MASK) | (kind & field::TYPE_MASK);
    }

    /// Set the Virtual Router Identifier.
    #[inline]
    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    /// Set the priority.
    #[inline]
    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    /// Set the address count. It places the v2 authentication data and bounds
    /// [`Packet::addr`]; it does not resize the buffer.
    #[inline]
    pub fn set_count(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT] = count;
    }

    /// Set the interval, truncated to the field's width: v2 Adver Int saturates at 255 s, v3
    /// Max Adver Int keeps the low 12 bits. On v3 this also writes the 4 reserved bits that
    /// share its 16-bit word as zero, as a sender must (RFC 5798 §5.2.6); to send others, call
    /// [`Packet::set_reserved`] after it.
    #[inline]
    pub fn set_interval(&mut self, interval: u16) {
        let b = self.buffer.as_mut();
        match self.version {
            Version::V2 => b[field::ADVER_INT] = interval.min(255) as u8,
            Version::V3 => {
                let value = interval & field::MAX_ADVER_INT_MASK;
                set_u16(b, field::RSVD_MAX_ADVER_INT, value);
            }
        }
    }

    /// v3: set the 4 reserved bits (the low 4 of `reserved`) before Max Adver Int, keeping
    /// the interval. Does nothing on v2, which has no such field.
    #[inline]
    pub fn set_reserved(&mut self, reserved: u8) {
        if self.version == Version::V3 {
            let b = self.buffer.as_mut();
            let word = get_u16(b, field::RSVD_MAX_ADVER_INT) & field::MAX_ADVER_INT_MASK;
            let value = word | (u16::from(reserved & 0x0f) << field::RSVD_SHIFT);
            set_u16(b, field::RSVD_MAX_ADVER_INT, value);
        }
    }

    /// v2: set the authentication type. Does nothing on v3, which has no such field.
    #[inline]
    pub fn set_auth_type(&mut self, kind: u8) {
        if self.version == Version::V2 {
            self.buffer.as_mut()[field::AUTH_TYPE] = kind;
        }
    }

    /// v2: set the 8 authentication data bytes, placed after the number of addresses the
    /// count field gives (so set the count first). Does nothing on v3.
    #[inline]
    pub fn set_auth_data(&mut self, data: &[u8; 8]) {
        if self.version == Version::V2 {
            let at = field::AUTH_DATA(usize::from(self.count()), self.family);
            self.buffer.as_mut()[at].copy_from_slice(data);
        }
    }

    /// Set the `i`th address. An address of the other family than the view's is not
    /// written: a message carries addresses of one family.
    ///
    /// # Panics
    ///
    /// If the address lies past the end of the buffer.
    #[inline]
    pub fn set_addr(&mut self, i: usize, addr: IpAddr) {
        let b = self.buffer.as_mut();
        // The family is matched, not read from `self`, so each copy has a constant length.
        match (self.family, addr) {
            (Family::Ipv4, IpAddr::V4(a)) => {
                b[field::ADDR(i, Family::Ipv4)].copy_from_slice(&a.octets());
            }
            (Family::Ipv6, IpAddr::V6(a)) => {
                b[field::ADDR(i, Family::Ipv6)].copy_from_slice(&a.octets());
            }
            (Family::Ipv4, IpAddr::V6(_)) | (Family::Ipv6, IpAddr::V4(_)) => {}
        }
    }

    /// Set the checksum field to `checksum`.
    #[inline]
    pub fn set_checksum(&mut self, checksum: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, checksum);
    }

    /// Compute the checksum over the whole buffer for these IP addresses and store it
    /// (RFC 5798 §5.2.8, RFC 3768 §5.3.8; the field's old value does not matter).
    #[inline]
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr, mode: ChecksumMode) {
        let sum = checksum::compute(self.version, src, dst, mode, self.as_bytes());
        self.set_checksum(sum);
    }
}

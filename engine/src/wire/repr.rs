//! The owned, high-level form of an advertisement: parse from bytes, emit to bytes.

use super::packet::expected_len;
use super::{checksum, ChecksumMode, DecodeError, Packet, HEADER_LEN, TYPE_ADVERTISEMENT};
use super::{AUTH_NONE, AUTH_PASS};
use crate::types::{Family, Version};
use core::net::IpAddr;
use serde::{Deserialize, Serialize};

/// VRRPv2 authentication (RFC 3768 §5.3.6 and RFC 2338 §5.3.6, kept by keepalived).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "data")]
pub enum Auth {
    /// Type 0: no authentication; the 8 data bytes are zero.
    None,
    /// Type 1: a plain-text password, zero-padded to 8 bytes.
    Pass([u8; 8]),
    /// Any other type, kept verbatim.
    Other {
        /// The authentication type byte.
        kind: u8,
        /// The 8 authentication data bytes.
        data: [u8; 8],
    },
}

impl Auth {
    /// PASS authentication with `password`, truncated to 8 bytes as keepalived does.
    pub fn pass(password: &str) -> Auth {
        let mut data = [0u8; 8];
        let bytes = password.as_bytes();
        let n = bytes.len().min(8);
        data[..n].copy_from_slice(&bytes[..n]);
        Auth::Pass(data)
    }

    /// The type byte carried in the packet.
    pub fn kind(&self) -> u8 {
        match self {
            Auth::None => AUTH_NONE,
            Auth::Pass(_) => AUTH_PASS,
            Auth::Other { kind, .. } => *kind,
        }
    }

    /// The 8 data bytes carried in the packet.
    pub fn data(&self) -> [u8; 8] {
        match self {
            Auth::None => [0; 8],
            Auth::Pass(d) | Auth::Other { data: d, .. } => *d,
        }
    }

    fn from_wire(kind: u8, raw: &[u8]) -> Auth {
        let mut data = [0u8; 8];
        data.copy_from_slice(raw);
        match kind {
            AUTH_NONE => Auth::None,
            AUTH_PASS => Auth::Pass(data),
            kind => Auth::Other { kind, data },
        }
    }
}

/// A VRRP advertisement.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Advert {
    /// Protocol version.
    pub version: Version,
    /// Virtual Router Identifier, 1..=255 on the wire (0 is parsed but never valid).
    pub vrid: u8,
    /// Sender's priority: 0 = stopping, 255 = address owner.
    pub priority: u8,
    /// v2: Adver Int in whole seconds (8 bits); v3: Max Adver Int in centiseconds (12 bits).
    pub interval: u16,
    /// v2 authentication; always [`Auth::None`] for v3.
    pub auth: Auth,
    /// The virtual addresses, all of one family.
    pub addrs: Vec<IpAddr>,
}

impl Advert {
    /// Parse a VRRP message carried between addresses of `family`. The checksum is not
    /// checked here; see [`Packet::verify_checksum`].
    pub fn parse(bytes: &[u8], family: Family) -> Result<Advert, DecodeError> {
        let p = Packet::new_checked(bytes, family)?;
        Ok(Advert {
            version: p.version(),
            vrid: p.vrid(),
            priority: p.priority(),
            interval: p.interval(),
            auth: match p.version() {
                Version::V2 => Auth::from_wire(p.auth_type(), p.auth_data()),
                Version::V3 => Auth::None,
            },
            addrs: p.addrs().collect(),
        })
    }

    /// Address family of the carried addresses (IPv4 when there are none).
    pub fn family(&self) -> Family {
        self.addrs.first().map_or(Family::Ipv4, Family::of)
    }

    /// The addresses that are emitted: those of the first address's family, at most 255.
    fn wire_addrs(&self) -> impl Iterator<Item = &IpAddr> + '_ {
        let family = self.family();
        self.addrs
            .iter()
            .filter(move |a| Family::of(a) == family)
            .take(255)
    }

    /// Length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        expected_len(self.version, self.family(), self.wire_addrs().count())
    }

    /// Write the message into `buf` (exactly [`Advert::buffer_len`] bytes), checksum included.
    ///
    /// Fields that do not fit are truncated to their width: at most 255 addresses, an 8-bit
    /// v2 interval and a 12-bit v3 interval. Addresses of another family than the first are
    /// skipped. The engine never builds such adverts; this keeps emit total on any input.
    pub fn emit_into(&self, buf: &mut [u8], src: IpAddr, dst: IpAddr, mode: ChecksumMode) {
        let family = self.family();
        let count = self.wire_addrs().count();
        buf[0] = (self.version.number() << 4) | TYPE_ADVERTISEMENT;
        buf[1] = self.vrid;
        buf[2] = self.priority;
        buf[3] = count as u8;
        match self.version {
            Version::V2 => {
                buf[4] = self.auth.kind();
                buf[5] = self.interval.min(255) as u8;
            }
            Version::V3 => {
                // RFC 5798 §5.2.6: the 4 reserved bits are sent as zero.
                let v = (self.interval & 0x0fff).to_be_bytes();
                buf[4] = v[0];
                buf[5] = v[1];
            }
        }
        buf[6] = 0;
        buf[7] = 0;
        let mut at = HEADER_LEN;
        for a in self.wire_addrs() {
            match a {
                IpAddr::V4(v4) => buf[at..at + 4].copy_from_slice(&v4.octets()),
                IpAddr::V6(v6) => buf[at..at + 16].copy_from_slice(&v6.octets()),
            }
            at += family.addr_len();
        }
        if self.version == Version::V2 {
            buf[at..at + 8].copy_from_slice(&self.auth.data());
            at += 8;
        }
        let sum = checksum::compute(self.version, src, dst, mode, &buf[..at]);
        buf[6..8].copy_from_slice(&sum.to_be_bytes());
    }

    /// Emit the message as a new vector, checksum included.
    pub fn emit(&self, src: IpAddr, dst: IpAddr, mode: ChecksumMode) -> Vec<u8> {
        let mut buf = vec![0u8; self.buffer_len()];
        self.emit_into(&mut buf, src, dst, mode);
        buf
    }
}

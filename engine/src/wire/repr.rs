//! The owned, high-level form of an advertisement: parse from bytes, emit to bytes.

use super::packet::expected_len;
use super::{ChecksumMode, DecodeError, Packet, TYPE_ADVERTISEMENT};
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

    /// Write the message into `packet`, checksum included: the one packet writer, which
    /// [`Advert::emit_into`] and [`Advert::emit`] wrap.
    ///
    /// `packet` is a view (made with [`Packet::new_unchecked`]) over exactly
    /// [`Advert::buffer_len`] bytes whose family is [`Advert::family`]; its version is set to
    /// this advert's. Every byte is written, so the buffer may hold anything before.
    ///
    /// Fields that do not fit are truncated to their width: at most 255 addresses, an 8-bit
    /// v2 interval and a 12-bit v3 interval. Addresses of another family than the first are
    /// skipped. The engine never builds such adverts; this keeps emit total on any input.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`Advert::buffer_len`] (the wrappers never pass one).
    /// A view of another family than [`Advert::family`] gets no addresses written.
    // Inlined into its two wrappers, so the view (and its version) is a local there and the
    // setters' version checks fold away: a call here measured ~10% slower emit_into.
    #[inline(always)]
    pub fn emit_packet<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) {
        packet.set_version(self.version);
        packet.set_msg_type(TYPE_ADVERTISEMENT);
        packet.set_vrid(self.vrid);
        packet.set_priority(self.priority);
        let mut count = 0;
        for (i, &a) in self.wire_addrs().enumerate() {
            packet.set_addr(i, a);
            count += 1;
        }
        packet.set_count(count);
        if self.version == Version::V2 {
            packet.set_auth_type(self.auth.kind());
            packet.set_auth_data(&self.auth.data());
        }
        // v3: this also zeroes the reserved bits (RFC 5798 §5.2.6).
        packet.set_interval(self.interval);
        packet.fill_checksum(src, dst, mode);
    }

    /// Write the message into the first [`Advert::buffer_len`] bytes of `buf`, checksum
    /// included (through [`Advert::emit_packet`]); the rest of `buf` is left alone.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`Advert::buffer_len`].
    pub fn emit_into(&self, buf: &mut [u8], src: IpAddr, dst: IpAddr, mode: ChecksumMode) {
        let len = self.buffer_len();
        let mut packet = Packet::new_unchecked(&mut buf[..len], self.version, self.family());
        self.emit_packet(&mut packet, src, dst, mode);
    }

    /// Emit the message as a new vector, checksum included (through [`Advert::emit_packet`]).
    pub fn emit(&self, src: IpAddr, dst: IpAddr, mode: ChecksumMode) -> Vec<u8> {
        let mut buf = vec![0u8; self.buffer_len()];
        let mut packet = Packet::new_unchecked(&mut buf[..], self.version, self.family());
        self.emit_packet(&mut packet, src, dst, mode);
        buf
    }
}

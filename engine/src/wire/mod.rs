//! VRRP packet codec, in smoltcp's `wire` style.
//!
//! - [`Packet`]: a zero-copy typed view over a byte buffer. [`Packet::new_checked`] checks it
//!   once (length, version, type), after which no accessor can panic; the engine's receive
//!   path uses it without allocating. On a mutable buffer, [`Packet::new_unchecked`] and the
//!   `set_*` methods write a message field by field.
//! - [`Advert`]: the owned, high-level representation with [`Advert::parse`] and
//!   [`Advert::emit_packet`] (wrapped by [`Advert::emit_into`] and [`Advert::emit`]).
//! - [`checksum`]: the VRRP checksum, with the pseudo-header rules of each version and family,
//!   and the plain Internet checksum ([`checksum::internet_checksum`]) for other headers.
//!
//! The buffers here are the VRRP payload only, without the IP header. Field positions are
//! named once, in a private `field` module, after these figures.
//!
//! VRRPv2, RFC 3768 §5.1 (IPv4 only):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|  VERS_TYPE VRID PRIORITY COUNT
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Adver Int   |          Checksum             |  AUTH_TYPE ADVER_INT CHECKSUM
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         IP Address (1)                        |  ADDRS = ADDR(0)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                            .                                  |
//! |                            .                                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         IP Address (n)                        |  ADDR(n - 1)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Authentication Data (1)                   |  AUTH_DATA(n)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Authentication Data (2)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! VRRPv3, RFC 5798 §5.1 (unchanged in RFC 9568 §5.1); each address is 4 bytes over IPv4 and
//! 16 over IPv6, and there is no authentication data:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|  VERS_TYPE VRID PRIORITY COUNT
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |(rsvd) |     Max Adver Int     |          Checksum             |  RSVD_MAX_ADVER_INT CHECKSUM
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |  ADDRS = ADDR(0)
//! +                                                               +
//! |                       IPvX Address(es)                        |
//! +                                                               +
//! |                                                               |  ... ADDR(n - 1)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

pub mod checksum;
mod error;
mod field;
mod packet;
mod repr;

pub use checksum::ChecksumMode;
pub use error::DecodeError;
pub use packet::{Packet, HEADER_LEN, V2_AUTH_LEN};
pub use repr::{Advert, Auth};

/// The only VRRP packet type: ADVERTISEMENT (RFC 5798 §5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// VRRPv2 authentication types (RFC 3768 §5.3.6; 1 and 2 are deprecated but still seen).
pub const AUTH_NONE: u8 = 0;
/// VRRPv2 simple text password authentication (RFC 2338 §5.3.6.1, kept by keepalived).
pub const AUTH_PASS: u8 = 1;
/// VRRPv2 IP Authentication Header (RFC 2338 §5.3.6.2).
pub const AUTH_AH: u8 = 2;

/// The Virtual Rtr ID byte of `bytes`, whether or not they are a well-formed VRRP message
/// (`None` if too short to have one): to route a packet to its instance before checking it,
/// or to attribute the discard of one that fails [`Packet::new_checked`].
pub fn peek_vrid(bytes: &[u8]) -> Option<u8> {
    bytes.get(field::VRID).copied()
}

/// The Priority byte of `bytes`, whether or not they are a well-formed VRRP message (`None`
/// if too short to have one): for logs and observers that look at a payload in passing.
pub fn peek_priority(bytes: &[u8]) -> Option<u8> {
    bytes.get(field::PRIORITY).copied()
}

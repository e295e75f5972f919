//! VRRP packet codec, in smoltcp's `wire` style.
//!
//! - [`Packet`]: a zero-copy typed view over a byte buffer, checked once with
//!   [`Packet::new_checked`]; the engine's receive path uses it without allocating.
//! - [`Advert`]: the owned, high-level representation with [`Advert::parse`] and
//!   [`Advert::emit`].
//! - [`checksum`]: the VRRP checksum, with the pseudo-header rules of each version and family.
//!
//! Layouts: VRRPv2 RFC 3768 §5.1, VRRPv3 RFC 5798 §5.1 (unchanged in RFC 9568 §5.1).
//! The buffers here are the VRRP payload only, without the IP header.

pub mod checksum;
mod error;
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

//! Byte positions of the VRRP message fields, named after the figures in the [`wire`](super)
//! module documentation (RFC 3768 §5.1, RFC 5798 §5.1). Every accessor and setter of
//! [`Packet`](super::Packet) goes through these; nothing else in the workspace indexes a VRRP
//! message by hand.
#![allow(non_snake_case)]

use crate::types::Family;
use core::ops::Range;

/// A range of bytes within the message.
pub(crate) type Field = Range<usize>;

/// Version (high 4 bits) and Type (low 4 bits).
pub(crate) const VERS_TYPE: usize = 0;
/// Virtual Rtr ID.
pub(crate) const VRID: usize = 1;
/// Priority.
pub(crate) const PRIORITY: usize = 2;
/// Count IP Addrs (v2) / Count IPvX Addr (v3).
pub(crate) const COUNT: usize = 3;
/// VRRPv2 only: Auth Type.
pub(crate) const AUTH_TYPE: usize = 4;
/// VRRPv2 only: Adver Int, in whole seconds.
pub(crate) const ADVER_INT: usize = 5;
/// VRRPv3 only: 4 reserved bits, then the 12-bit Max Adver Int in centiseconds, big-endian.
pub(crate) const RSVD_MAX_ADVER_INT: Field = 4..6;
/// Checksum, big-endian.
pub(crate) const CHECKSUM: Field = 6..8;
/// Where the addresses start; also the length of the fixed header.
pub(crate) const ADDRS: usize = 8;

/// The version within [`VERS_TYPE`]: `byte >> VERSION_SHIFT`.
pub(crate) const VERSION_SHIFT: u8 = 4;
/// The type within [`VERS_TYPE`].
pub(crate) const TYPE_MASK: u8 = 0x0f;
/// The Max Adver Int within [`RSVD_MAX_ADVER_INT`].
pub(crate) const MAX_ADVER_INT_MASK: u16 = 0x0fff;
/// The reserved bits within [`RSVD_MAX_ADVER_INT`]: `word >> RSVD_SHIFT`.
pub(crate) const RSVD_SHIFT: u16 = 12;

/// Length of the VRRPv2 Authentication Data.
pub(crate) const AUTH_DATA_LEN: usize = 8;

/// The `i`th address of a message carrying `family` addresses.
#[inline]
pub(crate) const fn ADDR(i: usize, family: Family) -> Field {
    let start = ADDRS + i * family.addr_len();
    start..start + family.addr_len()
}

/// VRRPv2 only: the Authentication Data after `count` addresses of `family`.
#[inline]
pub(crate) const fn AUTH_DATA(count: usize, family: Family) -> Field {
    let start = ADDRS + count * family.addr_len();
    start..start + AUTH_DATA_LEN
}

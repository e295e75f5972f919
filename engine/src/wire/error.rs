//! Typed decode errors: every byte string either parses or yields one of these.

use core::fmt;

/// Why a byte string is not a well-formed VRRP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than the fixed 8-byte header.
    Truncated {
        /// Bytes received.
        len: usize,
    },
    /// The version nibble is neither 2 nor 3 (RFC 5798 §5.2.1).
    Version(u8),
    /// The type nibble is not ADVERTISEMENT (RFC 5798 §5.2.2).
    Type(u8),
    /// VRRPv2 carried over IPv6, which RFC 3768 does not define.
    V2OverIpv6,
    /// The length does not match the address count (RFC 5798 §7.1: "MUST verify that the
    /// received packet contains the complete VRRP packet (including fixed fields, IPvX
    /// address(es), ...)").
    Length {
        /// Length implied by the count field.
        expected: usize,
        /// Length received.
        actual: usize,
    },
    /// Source and destination addresses are of different families.
    MixedFamilies,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { len } => {
                write!(f, "truncated: {len} bytes, a VRRP header needs at least 8")
            }
            DecodeError::Version(v) => write!(f, "unsupported VRRP version {v} (expected 2 or 3)"),
            DecodeError::Type(t) => {
                write!(f, "unknown VRRP type {t} (only 1, ADVERTISEMENT, exists)")
            }
            DecodeError::V2OverIpv6 => write!(f, "VRRPv2 is not defined over IPv6 (RFC 3768)"),
            DecodeError::Length { expected, actual } => write!(
                f,
                "length mismatch: the address count implies {expected} bytes, got {actual}"
            ),
            DecodeError::MixedFamilies => {
                write!(
                    f,
                    "source and destination addresses are of different families"
                )
            }
        }
    }
}

impl std::error::Error for DecodeError {}

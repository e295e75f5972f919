//! Small protocol-level types shared by the codec, the config model and the state machine.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use serde::{Deserialize, Serialize};

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Version {
    /// VRRPv2, RFC 3768 (IPv4 only).
    #[serde(rename = "2")]
    V2,
    /// VRRPv3, RFC 5798 / RFC 9568 (IPv4 and IPv6).
    #[serde(rename = "3")]
    V3,
}

impl Version {
    /// The number carried in the packet's version nibble.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Address family of a virtual router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub const fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// Length in bytes of one address of this family.
    pub const fn addr_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    /// The VRRP multicast group: 224.0.0.18 (RFC 5798 §5.1.1.2) or ff02::12 (§5.1.2.2).
    pub const fn multicast_group(self) -> IpAddr {
        match self {
            Family::Ipv4 => IpAddr::V4(MULTICAST_V4),
            Family::Ipv6 => IpAddr::V6(MULTICAST_V6),
        }
    }
}

/// IANA protocol number of VRRP (RFC 5798 §5.1.1.4).
pub const IP_PROTO_VRRP: u8 = 112;
/// IPv4 VRRP multicast group (RFC 5798 §5.1.1.2).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 VRRP multicast group (RFC 5798 §5.1.2.2).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit every VRRP packet is sent with and must arrive with (RFC 5798 §5.1.1.3).
pub const VRRP_TTL: u8 = 255;
/// Priority of the address owner (RFC 5798 §5.2.4).
pub const PRIORITY_OWNER: u8 = 255;
/// Priority meaning "the Master stopped" (RFC 5798 §5.2.4).
pub const PRIORITY_STOP: u8 = 0;

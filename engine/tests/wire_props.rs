//! Property tests for the wire codec: decoding never panics on any bytes, emit-then-parse is
//! the identity on valid adverts, and parse-then-emit gives back any canonical packet whose
//! checksum verifies.

use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use vrrp_engine::wire::{checksum, Advert, Auth, ChecksumMode, Packet};
use vrrp_engine::{Family, Version};

fn any_v4() -> impl Strategy<Value = IpAddr> {
    any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a)))
}

fn any_v6() -> impl Strategy<Value = IpAddr> {
    any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a)))
}

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![any_v4(), any_v6()]
}

fn any_family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::Ipv4), Just(Family::Ipv6)]
}

fn any_mode() -> impl Strategy<Value = ChecksumMode> {
    prop_oneof![
        Just(ChecksumMode::PseudoHeader),
        Just(ChecksumMode::NoPseudoHeader)
    ]
}

/// A (src, dst) pair of one family.
fn addr_pair(family: Family) -> BoxedStrategy<(IpAddr, IpAddr)> {
    match family {
        Family::Ipv4 => (any_v4(), any_v4()).boxed(),
        Family::Ipv6 => (any_v6(), any_v6()).boxed(),
    }
}

/// Every [`Auth`] in its canonical form: what parsing gives back. `Other` with kind 0 or 1
/// would parse as `None` or `Pass`, so it is not a distinct value.
fn canonical_auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(Auth::Pass),
        (2u8..=255, any::<[u8; 8]>()).prop_map(|(kind, data)| Auth::Other { kind, data }),
    ]
}

/// A valid VRRPv2 advert: IPv4 only, 8-bit interval, any authentication.
fn v2_advert() -> impl Strategy<Value = Advert> {
    (
        any::<u8>(),
        any::<u8>(),
        0u16..=255,
        canonical_auth(),
        prop::collection::vec(any_v4(), 0..=255),
    )
        .prop_map(|(vrid, priority, interval, auth, addrs)| Advert {
            version: Version::V2,
            vrid,
            priority,
            interval,
            auth,
            addrs,
        })
}

/// A valid VRRPv3 advert of `family`: 12-bit interval, no authentication.
fn v3_advert(family: Family) -> impl Strategy<Value = Advert> {
    let addrs = match family {
        Family::Ipv4 => prop::collection::vec(any_v4(), 0..=255).boxed(),
        Family::Ipv6 => prop::collection::vec(any_v6(), 0..=255).boxed(),
    };
    (any::<u8>(), any::<u8>(), 0u16..=4095, addrs).prop_map(|(vrid, priority, interval, addrs)| {
        Advert {
            version: Version::V3,
            vrid,
            priority,
            interval,
            auth: Auth::None,
            addrs,
        }
    })
}

/// An advert with matching src and dst addresses.
fn advert_with_addrs() -> impl Strategy<Value = (Advert, IpAddr, IpAddr)> {
    prop_oneof![
        (v2_advert(), addr_pair(Family::Ipv4)),
        (v3_advert(Family::Ipv4), addr_pair(Family::Ipv4)),
        (v3_advert(Family::Ipv6), addr_pair(Family::Ipv6)),
    ]
    .prop_map(|(a, (s, d))| (a, s, d))
}

/// Exercise every decode entry point on `bytes`; the point is that none panics.
fn decode_everything(bytes: &[u8], src: IpAddr, dst: IpAddr, mode: ChecksumMode) {
    for family in [Family::Ipv4, Family::Ipv6] {
        if let Ok(p) = Packet::new_checked(bytes, family) {
            let _ = (p.vrid(), p.priority(), p.count(), p.interval());
            let _ = (p.auth_type(), p.auth_data(), p.checksum());
            assert_eq!(p.addrs().count(), usize::from(p.count()));
            assert!(p.addr(usize::from(p.count())).is_none());
            let _ = p.verify_checksum(src, dst, mode);
            let a = Advert::parse(bytes, family).expect("parse agrees with new_checked");
            assert_eq!(a.addrs.len(), usize::from(p.count()));
        } else {
            assert!(Advert::parse(bytes, family).is_err());
        }
    }
    let _ = Packet::new_checked_between(bytes, src, dst);
    for version in [Version::V2, Version::V3] {
        let _ = checksum::verify(version, src, dst, mode, bytes);
        let _ = checksum::compute(version, src, dst, mode, bytes);
    }
}

/// Bytes that look like a VRRP header (first byte 0x21 or 0x31, any count) with a length at
/// or near what the count implies, so the length check and the accessors behind it run.
fn header_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(0x21u8), Just(0x31u8)],
        any::<u8>(),
        any_family(),
        -3i32..=3,
    )
        .prop_flat_map(|(first, count, family, delta)| {
            let auth = if first == 0x21 { 8 } else { 0 };
            let expected = 8 + usize::from(count) * family.addr_len() + auth;
            let len = (expected as i32 + delta).max(0) as usize;
            prop::collection::vec(any::<u8>(), len).prop_map(move |mut v| {
                if !v.is_empty() {
                    v[0] = first;
                }
                if v.len() > 3 {
                    v[3] = count;
                }
                v
            })
        })
}

/// An independent RFC 1071 checksum with the pseudo-header of RFC 5798 §5.2.8, used to make
/// random packets verify without trusting the code under test.
fn reference_checksum(version: Version, src: IpAddr, dst: IpAddr, bytes: &[u8]) -> u16 {
    let mut words = Vec::new();
    match (version, src, dst) {
        (Version::V3, IpAddr::V4(s), IpAddr::V4(d)) => {
            words.extend_from_slice(&s.octets());
            words.extend_from_slice(&d.octets());
            words.extend_from_slice(&[0, 112]);
            words.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        }
        (Version::V3, IpAddr::V6(s), IpAddr::V6(d)) => {
            words.extend_from_slice(&s.octets());
            words.extend_from_slice(&d.octets());
            words.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            words.extend_from_slice(&[0, 0, 0, 112]);
        }
        _ => {}
    }
    words.extend_from_slice(&bytes[..6]);
    words.extend_from_slice(&[0, 0]);
    words.extend_from_slice(&bytes[8..]);
    if words.len() % 2 == 1 {
        words.push(0);
    }
    let mut sum: u32 = 0;
    for w in words.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Random well-formed packets whose checksum is right for the returned addresses, with the
/// reserved v3 bits and the v2 type-0 auth data zeroed unless `raw` is set.
fn verifying_packet() -> impl Strategy<Value = (Vec<u8>, IpAddr, IpAddr, bool)> {
    (
        prop_oneof![
            Just((Version::V2, Family::Ipv4)),
            Just((Version::V3, Family::Ipv4)),
            Just((Version::V3, Family::Ipv6)),
        ],
        any::<u8>(),
        prop_oneof![Just(0u8), Just(1), any::<u8>()],
        any::<bool>(),
    )
        .prop_flat_map(|((version, family), count, auth_type, raw)| {
            let auth = if version == Version::V2 { 8 } else { 0 };
            let len = 8 + usize::from(count) * family.addr_len() + auth;
            (
                prop::collection::vec(any::<u8>(), len),
                addr_pair(family),
                Just((version, count, auth_type, raw)),
            )
        })
        .prop_map(|(mut v, (src, dst), (version, count, auth_type, raw))| {
            v[0] = (version.number() << 4) | 1;
            v[3] = count;
            let n = v.len();
            match version {
                Version::V2 => {
                    v[4] = auth_type;
                    if auth_type == 0 && !raw {
                        v[n - 8..].fill(0);
                    }
                }
                Version::V3 => {
                    if !raw {
                        v[4] &= 0x0f;
                    }
                }
            }
            let sum = reference_checksum(version, src, dst, &v);
            v[6..8].copy_from_slice(&sum.to_be_bytes());
            (v, src, dst, raw)
        })
}

/// Whether `bytes` are in the form `emit` produces: reserved v3 bits zero, and v2 type-0
/// auth data zero (both are ignored on receipt: RFC 5798 §5.2.6, RFC 3768 §5.3.10).
fn is_canonical(bytes: &[u8]) -> bool {
    match bytes[0] >> 4 {
        3 => bytes[4] & 0xf0 == 0,
        _ => bytes[4] != 0 || bytes[bytes.len() - 8..].iter().all(|&b| b == 0),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        src in any_ip(),
        dst in any_ip(),
        mode in any_mode(),
    ) {
        decode_everything(&bytes, src, dst, mode);
    }

    #[test]
    fn decode_never_panics_on_header_like_bytes(
        bytes in header_like_bytes(),
        src in any_ip(),
        dst in any_ip(),
        mode in any_mode(),
    ) {
        decode_everything(&bytes, src, dst, mode);
        // With a valid first byte, only the length (or v2 over IPv6) can be wrong.
        for family in [Family::Ipv4, Family::Ipv6] {
            let auth = if bytes.first() == Some(&0x21) { 8 } else { 0 };
            let want = bytes.len() >= 8
                && !(auth == 8 && family == Family::Ipv6)
                && bytes.len() == 8 + usize::from(bytes[3]) * family.addr_len() + auth;
            prop_assert_eq!(Packet::new_checked(&bytes[..], family).is_ok(), want);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn emit_then_parse_is_the_identity(
        (advert, src, dst) in advert_with_addrs(),
        mode in any_mode(),
    ) {
        let bytes = advert.emit(src, dst, mode);
        prop_assert_eq!(bytes.len(), advert.buffer_len());
        // The src family, not advert.family(): an advert without addresses has none.
        let family = Family::of(&src);
        prop_assert!(advert.addrs.is_empty() || advert.family() == family);
        let parsed = Advert::parse(&bytes, family).expect("emitted bytes parse");
        prop_assert_eq!(&parsed, &advert);

        let p = Packet::new_checked_between(&bytes[..], src, dst).expect("checked");
        prop_assert!(p.verify_checksum(src, dst, mode));
        prop_assert_eq!(
            u16::from_be_bytes([bytes[6], bytes[7]]),
            reference_checksum(
                if advert.version == Version::V3 && mode == ChecksumMode::NoPseudoHeader
                    && family == Family::Ipv4 { Version::V2 } else { advert.version },
                src, dst, &bytes)
        );
        // The mode only matters for v3 over IPv4.
        let other = match mode {
            ChecksumMode::PseudoHeader => ChecksumMode::NoPseudoHeader,
            ChecksumMode::NoPseudoHeader => ChecksumMode::PseudoHeader,
        };
        let mode_matters = advert.version == Version::V3 && family == Family::Ipv4;
        if !mode_matters {
            prop_assert!(p.verify_checksum(src, dst, other));
        }
        // v3 over IPv4 without the pseudo-header is summed exactly as v2 would be.
        if mode_matters && mode == ChecksumMode::NoPseudoHeader {
            prop_assert!(checksum::verify(Version::V2, src, dst, mode, &bytes));
        }

        // emit_into a dirty, reused buffer gives the same bytes.
        let mut buf = vec![0xffu8; advert.buffer_len()];
        advert.emit_into(&mut buf, src, dst, mode);
        prop_assert_eq!(buf, bytes);
    }

    #[test]
    fn parse_then_emit_reproduces_verifying_bytes(
        (bytes, src, dst, _raw) in verifying_packet(),
    ) {
        let family = Family::of(&src);
        let p = Packet::new_checked(&bytes[..], family).expect("well-formed by construction");
        prop_assert!(p.verify_checksum(src, dst, ChecksumMode::PseudoHeader));
        let advert = Advert::parse(&bytes, family).unwrap();
        let out = advert.emit(src, dst, ChecksumMode::PseudoHeader);
        if is_canonical(&bytes) {
            prop_assert_eq!(out, bytes);
        } else {
            // Ignored fields are normalized: same advert, bytes differ only there.
            prop_assert_ne!(&out, &bytes);
            prop_assert_eq!(Advert::parse(&out, family).unwrap(), advert);
            prop_assert_eq!(out[8..out.len() - if bytes[0] >> 4 == 2 { 8 } else { 0 }].to_vec(),
                bytes[8..bytes.len() - if bytes[0] >> 4 == 2 { 8 } else { 0 }].to_vec());
        }
    }
}

/// Field values for the setters: (version, family), vrid, priority, interval within its
/// width, v3 reserved bits, v2 auth type and data, the addresses, the byte the buffer is
/// dirtied with first, and IP source and destination of the family.
#[allow(clippy::type_complexity)]
fn setter_fields() -> impl Strategy<
    Value = (
        (Version, Family),
        u8,
        u8,
        u16,
        u8,
        u8,
        [u8; 8],
        Vec<IpAddr>,
        u8,
        (IpAddr, IpAddr),
    ),
> {
    prop_oneof![
        Just((Version::V2, Family::Ipv4)),
        Just((Version::V3, Family::Ipv4)),
        Just((Version::V3, Family::Ipv6)),
    ]
    .prop_flat_map(|(version, family)| {
        let interval = match version {
            Version::V2 => 0u16..=255,
            Version::V3 => 0u16..=4095,
        };
        let addrs = match family {
            Family::Ipv4 => prop::collection::vec(any_v4(), 0..=40).boxed(),
            Family::Ipv6 => prop::collection::vec(any_v6(), 0..=40).boxed(),
        };
        (
            Just((version, family)),
            any::<u8>(),
            any::<u8>(),
            interval,
            0u8..=15,
            any::<u8>(),
            any::<[u8; 8]>(),
            addrs,
            any::<u8>(),
            addr_pair(family),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every setter's value reads back through its accessor, whatever the buffer held and in
    /// either order of version and type, which share a byte (a v3 interval clears the
    /// reserved bits, so those come after it); the result is a checked packet whose checksum
    /// verifies, and in canonical form it is exactly what `emit` writes.
    #[test]
    fn setters_round_trip_through_the_accessors(
        (
            (version, family), vrid, priority, interval, reserved, auth_type, auth_data, addrs,
            dirt, (src, dst),
        ) in setter_fields(),
        mode in any_mode(),
        reversed in any::<bool>(),
    ) {
        let auth = if version == Version::V2 { 8 } else { 0 };
        let len = 8 + addrs.len() * family.addr_len() + auth;
        let mut buf = vec![dirt; len];
        // Start from the other version, so set_version has something to change.
        let other = match version {
            Version::V2 => Version::V3,
            Version::V3 => Version::V2,
        };
        let mut p = Packet::new_unchecked(&mut buf[..], other, family);
        if reversed {
            p.set_msg_type(1);
            p.set_version(version);
        } else {
            p.set_version(version);
            p.set_msg_type(1);
        }
        p.set_interval(interval);
        p.set_reserved(reserved);
        p.set_vrid(vrid);
        p.set_priority(priority);
        p.set_count(addrs.len() as u8);
        for (i, &a) in addrs.iter().enumerate() {
            p.set_addr(i, a);
        }
        p.set_auth_type(auth_type);
        p.set_auth_data(&auth_data);
        p.fill_checksum(src, dst, mode);

        prop_assert_eq!(p.version(), version);
        prop_assert_eq!(p.msg_type(), 1);
        prop_assert_eq!(p.vrid(), vrid);
        prop_assert_eq!(p.priority(), priority);
        prop_assert_eq!(usize::from(p.count()), addrs.len());
        prop_assert_eq!(p.interval(), interval);
        prop_assert_eq!(p.addrs().collect::<Vec<_>>(), addrs.clone());
        match version {
            Version::V2 => {
                prop_assert_eq!(p.reserved(), 0);
                prop_assert_eq!(p.auth_type(), auth_type);
                prop_assert_eq!(p.auth_data(), &auth_data[..]);
            }
            Version::V3 => {
                prop_assert_eq!(p.reserved(), reserved);
                prop_assert_eq!(p.auth_type(), 0);
                prop_assert!(p.auth_data().is_empty());
            }
        }
        prop_assert!(p.verify_checksum(src, dst, mode));

        let q = Packet::new_checked(&buf[..], family).expect("setters give a checked packet");
        prop_assert_eq!(q.vrid(), vrid);
        prop_assert_eq!(q.interval(), interval);
        prop_assert!(q.verify_checksum(src, dst, mode));

        // Canonical bytes (see is_canonical) are exactly what emit writes.
        let advert = Advert::parse(&buf, family).unwrap();
        if is_canonical(&buf) {
            prop_assert_eq!(advert.emit(src, dst, mode), buf);
        }
    }

    /// The setters truncate out-of-range values as `emit` does: v2 interval saturates at
    /// 255, v3 keeps the low 12 bits, the reserved bits the low 4.
    #[test]
    fn setters_truncate_to_the_field_width(interval in any::<u16>(), reserved in any::<u8>()) {
        let mut v2 = [0u8; 16];
        let mut p = Packet::new_unchecked(&mut v2[..], Version::V2, Family::Ipv4);
        p.set_interval(interval);
        prop_assert_eq!(p.interval(), interval.min(255));
        let mut v3 = [0u8; 8];
        let mut p = Packet::new_unchecked(&mut v3[..], Version::V3, Family::Ipv4);
        p.set_interval(interval);
        p.set_reserved(reserved);
        prop_assert_eq!(p.interval(), interval & 0x0fff);
        prop_assert_eq!(p.reserved(), reserved & 0x0f);
        // The reserved bits keep the interval; a v3 interval writes them as zero.
        p.set_reserved(!reserved);
        prop_assert_eq!(p.interval(), interval & 0x0fff);
        p.set_interval(interval ^ 1);
        prop_assert_eq!(p.reserved(), 0);
    }
}

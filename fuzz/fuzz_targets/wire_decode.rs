//! The packet decoder (`vrrp_engine::wire`): any bytes, both families, both checksum modes.
//!
//! Input layout (so the seeds are real adverts, `fuzz/seeds.py`): byte 0 holds flags (bit 0:
//! IPv6, bit 1: VRRPv3-over-IPv4 checksum without the pseudo-header, bit 2: the destination
//! of the other family), bytes 1..17 the IP source, 17..33 the destination (an IPv4 address
//! is the first 4 bytes), the rest the VRRP message.
//!
//! Invariants:
//! - nothing panics: the checked view, every accessor, `Advert::parse`, the checksum;
//! - a parsed advert emitted again parses to the same advert and its checksum verifies;
//! - a message whose checksum verifies is emitted again byte for byte (but for what the RFCs
//!   say to ignore: v3's reserved bits, v2's authentication data without authentication):
//!   the decoder keeps every bit the encoder writes;
//! - the view and `Advert::parse` agree, and the checksum computed is the one that verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use vrrp_engine::wire::{checksum, Advert, ChecksumMode, Packet};
use vrrp_engine::{Family, Version};

fn addr(bytes: &[u8], v6: bool) -> IpAddr {
    if v6 {
        let mut o = [0u8; 16];
        o.copy_from_slice(&bytes[..16]);
        IpAddr::V6(Ipv6Addr::from(o))
    } else {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 33 {
        return;
    }
    let flags = data[0];
    let v6 = flags & 1 != 0;
    let mode = if flags & 2 != 0 {
        ChecksumMode::NoPseudoHeader
    } else {
        ChecksumMode::PseudoHeader
    };
    let src = addr(&data[1..17], v6);
    let dst = addr(&data[17..33], v6 ^ (flags & 4 != 0));
    let payload = &data[33..];

    let _ = vrrp_engine::wire::peek_vrid(payload);
    let _ = vrrp_engine::wire::peek_priority(payload);
    let _ = checksum::compute(Version::V2, src, dst, mode, payload);
    let _ = checksum::compute(Version::V3, src, dst, mode, payload);
    let _ = checksum::internet_checksum(payload);

    let family = Family::of(&src);
    let between = Packet::new_checked_between(payload, src, dst);
    if Family::of(&dst) != family {
        assert!(between.is_err(), "mixed families accepted");
    }
    for fam in [Family::Ipv4, Family::Ipv6] {
        let Ok(p) = Packet::new_checked(payload, fam) else {
            assert!(vrrp_engine::wire::Advert::parse(payload, fam).is_err());
            continue;
        };
        // Every accessor of a checked view is in bounds.
        let _ = (
            p.vrid(),
            p.priority(),
            p.count(),
            p.interval(),
            p.reserved(),
        );
        let _ = (p.auth_type(), p.auth_data(), p.checksum(), p.msg_type());
        let addrs: Vec<IpAddr> = p.addrs().collect();
        assert_eq!(addrs.len(), usize::from(p.count()));
        assert!(addrs.iter().all(|a| Family::of(a) == fam));
        assert!(p.addr(usize::from(p.count())).is_none());
        let verifies = p.verify_checksum(src, dst, mode);
        if Family::of(&src) == fam && Family::of(&dst) == fam {
            let computed = checksum::compute(p.version(), src, dst, mode, payload);
            assert_eq!(verifies, computed == p.checksum());
        } else {
            assert!(!verifies, "a checksum verified across families");
        }

        let advert = Advert::parse(payload, fam).expect("a checked view parses");
        assert_eq!(advert.version, p.version());
        assert_eq!(
            (advert.vrid, advert.priority, advert.interval),
            (p.vrid(), p.priority(), p.interval())
        );
        assert_eq!(advert.addrs, addrs);

        // Emit between addresses of the packet's family: parse again, same advert.
        if Family::of(&src) != fam || Family::of(&dst) != fam {
            continue;
        }
        let again = advert.emit(src, dst, mode);
        let back = Advert::parse(&again, fam).expect("an emitted advert parses");
        assert_eq!(back, advert, "emit then parse changed the advert");
        let q = Packet::new_checked(&again[..], fam).unwrap();
        assert!(q.verify_checksum(src, dst, mode), "emitted checksum fails");
        // RFC 3768 §5.3.6.1: with no authentication the data is "set to zero on transmission
        // and ignored on reception", so only such a message with zero data comes back whole.
        let ignored_auth = p.version() == Version::V2
            && p.auth_type() == vrrp_engine::wire::AUTH_NONE
            && p.auth_data().iter().any(|&b| b != 0);
        if verifies && p.reserved() == 0 && !ignored_auth {
            assert_eq!(
                &again[..],
                payload,
                "a valid advert is not emitted byte for byte"
            );
        }
        let mut buf = vec![0xa5u8; again.len() + 7];
        advert.emit_into(&mut buf, src, dst, mode);
        assert_eq!(&buf[..again.len()], &again[..]);
        assert!(buf[again.len()..].iter().all(|&b| b == 0xa5));
    }
});

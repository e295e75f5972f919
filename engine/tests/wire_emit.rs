//! The packet writer against bytes captured from the emitter before the wire module was
//! rewritten around `Packet` setters: edge cases the keepalived fixtures do not reach
//! (saturated and masked intervals, more than 255 addresses, addresses of a second family,
//! no addresses, mixed-family IP addresses, both checksum modes).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use vrrp_engine::wire::{Advert, Auth, ChecksumMode, Packet};
use vrrp_engine::Version;

fn v4(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a4d_0000 + i))
}

fn v6(i: u128) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(
        0xfd77_0000_0000_0000_0000_0000_0000_0000 + i * 0x1_0001,
    ))
}

/// (advert, src, dst, mode) for each case.
fn cases() -> Vec<(Advert, IpAddr, IpAddr, ChecksumMode)> {
    let src4 = v4(11);
    let grp4 = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    let src6: IpAddr = "fe80::c0c5:c3ff:fe58:c1fc".parse().unwrap();
    let grp6: IpAddr = "ff02::12".parse().unwrap();
    let a = |version, vrid, priority, interval, auth, addrs| Advert {
        version,
        vrid,
        priority,
        interval,
        auth,
        addrs,
    };
    let pseudo = ChecksumMode::PseudoHeader;
    let plain = ChecksumMode::NoPseudoHeader;
    vec![
        // v2: interval saturates at 255, an unknown auth type kept verbatim.
        (
            a(
                Version::V2,
                1,
                254,
                300,
                Auth::Other {
                    kind: 7,
                    data: *b"\x01\x02\x03\x04\x05\x06\x07\x08",
                },
                vec![v4(1), v4(2)],
            ),
            src4,
            grp4,
            pseudo,
        ),
        // v2 without addresses, PASS.
        (
            a(Version::V2, 255, 0, 1, Auth::pass("secret-long"), vec![]),
            src4,
            grp4,
            plain,
        ),
        // v2 carrying IPv6 addresses (not decodable, but emit is total).
        (
            a(Version::V2, 9, 100, 3, Auth::None, vec![v6(1)]),
            src6,
            grp6,
            pseudo,
        ),
        // v3 IPv4: the interval is masked to 12 bits, both modes.
        (
            a(Version::V3, 52, 200, 0x1234, Auth::None, vec![v4(102)]),
            src4,
            grp4,
            pseudo,
        ),
        (
            a(Version::V3, 52, 200, 0xffff, Auth::None, vec![v4(102)]),
            src4,
            grp4,
            plain,
        ),
        // v3 IPv4 with 300 addresses: 255 are sent.
        (
            a(
                Version::V3,
                7,
                150,
                100,
                Auth::None,
                (0..300).map(v4).collect(),
            ),
            src4,
            grp4,
            pseudo,
        ),
        // v3 IPv6 with an IPv4 address in the list: skipped.
        (
            a(
                Version::V3,
                53,
                150,
                100,
                Auth::None,
                vec![v6(1), v4(3), v6(2)],
            ),
            src6,
            grp6,
            pseudo,
        ),
        // v3 with no addresses over IPv6, and the auth of a v3 advert ignored.
        (
            a(Version::V3, 54, 1, 4095, Auth::pass("x"), vec![]),
            src6,
            grp6,
            pseudo,
        ),
        // Mixed-family IP addresses: no pseudo-header is summed.
        (
            a(Version::V3, 55, 100, 100, Auth::None, vec![v4(1)]),
            src4,
            grp6,
            pseudo,
        ),
    ]
}

/// What the emitter wrote before the rewrite, case by case. The 300-address case is given by
/// its header (checksum included) and length; its addresses are the first 255 of the list.
const OLD: [&str; 9] = [
    "2101fe0207ffb44b0a4d00010a4d00020102030405060708",
    "21ff0000010173477365637265742d6c",
    "2109640100037d78fd7700000000000000000000000100010000000000000000",
    "3134c80102340efc0a4d0066",
    "3134c8010fffec170a4d0066",
    "310796ff00648777",
    "313596020064fa24fd770000000000000000000000010001fd770000000000000000000000020002",
    "313601000fff7aa1",
    "31376401006460150a4d0001",
];

/// The old bytes of case `i` of `cases()`.
fn old_bytes(i: usize, advert: &Advert) -> Vec<u8> {
    let mut bytes = hex::decode(OLD[i]).unwrap();
    if i == 5 {
        for a in &advert.addrs[..255] {
            match a {
                IpAddr::V4(a) => bytes.extend_from_slice(&a.octets()),
                IpAddr::V6(_) => unreachable!("case 5 is IPv4"),
            }
        }
        assert_eq!(bytes.len(), 8 + 255 * 4);
    }
    bytes
}

#[test]
fn every_writer_gives_the_old_bytes() {
    for (i, (advert, src, dst, mode)) in cases().into_iter().enumerate() {
        let old = old_bytes(i, &advert);
        assert_eq!(advert.buffer_len(), old.len(), "case {i}");
        assert_eq!(advert.emit(src, dst, mode), old, "case {i}: emit");

        // emit_into a dirty buffer longer than the message: the tail is left alone.
        let mut buf = vec![0x5au8; old.len() + 3];
        advert.emit_into(&mut buf, src, dst, mode);
        assert_eq!(buf[..old.len()], old[..], "case {i}: emit_into");
        assert_eq!(buf[old.len()..], [0x5a; 3], "case {i}: emit_into tail");

        // emit_packet into a dirty view that starts as the other version.
        for dirt in [0x00, 0xff] {
            let mut buf = vec![dirt; old.len()];
            let other = match advert.version {
                Version::V2 => Version::V3,
                Version::V3 => Version::V2,
            };
            let mut p = Packet::new_unchecked(&mut buf[..], other, advert.family());
            advert.emit_packet(&mut p, src, dst, mode);
            assert_eq!(p.version(), advert.version);
            assert_eq!(buf, old, "case {i}: emit_packet over {dirt:#x}");
        }
    }
}

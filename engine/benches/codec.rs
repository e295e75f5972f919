//! Criterion benchmarks of the wire codec on the three packet shapes keepalived sends in the
//! fixtures: VRRPv2 with 2 VIPs and PASS, VRRPv3 IPv4 with 1 VIP, VRRPv3 IPv6 with 2 VIPs.
//!
//! Run: `cargo bench -p vrrp-engine --bench codec -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::net::IpAddr;
use vrrp_engine::wire::{Advert, Auth, ChecksumMode, Packet};
use vrrp_engine::{Family, Version};

struct Case {
    name: &'static str,
    advert: Advert,
    src: IpAddr,
    dst: IpAddr,
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "v2_ipv4_2vip_pass",
            advert: Advert {
                version: Version::V2,
                vrid: 51,
                priority: 100,
                interval: 1,
                auth: Auth::pass("123456"),
                addrs: vec![ip("10.77.0.100"), ip("10.77.0.101")],
            },
            src: ip("10.77.0.11"),
            dst: ip("224.0.0.18"),
        },
        Case {
            name: "v3_ipv4_1vip",
            advert: Advert {
                version: Version::V3,
                vrid: 52,
                priority: 200,
                interval: 50,
                auth: Auth::None,
                addrs: vec![ip("10.77.0.102")],
            },
            src: ip("10.77.0.11"),
            dst: ip("224.0.0.18"),
        },
        Case {
            name: "v3_ipv6_2vip",
            advert: Advert {
                version: Version::V3,
                vrid: 53,
                priority: 150,
                interval: 100,
                auth: Auth::None,
                addrs: vec![ip("fe80::5:53"), ip("fd77::100")],
            },
            src: ip("fe80::c0c5:c3ff:fe58:c1fc"),
            dst: ip("ff02::12"),
        },
    ]
}

fn bench_codec(c: &mut Criterion) {
    let mode = ChecksumMode::PseudoHeader;
    for case in cases() {
        let bytes = case.advert.emit(case.src, case.dst, mode);
        let family = Family::of(&case.src);
        // Guard: the benchmarked inputs are valid, so every path does its full work.
        assert!(Packet::new_checked(&bytes[..], family)
            .unwrap()
            .verify_checksum(case.src, case.dst, mode));

        let mut g = c.benchmark_group(case.name);
        g.bench_function("decode_checked_verify", |b| {
            b.iter(|| {
                let p = Packet::new_checked(black_box(&bytes[..]), family).unwrap();
                black_box(p.verify_checksum(black_box(case.src), black_box(case.dst), mode))
            })
        });
        g.bench_function("decode_advert_parse", |b| {
            b.iter(|| black_box(Advert::parse(black_box(&bytes), family).unwrap()))
        });
        g.bench_function("encode_emit_vec", |b| {
            b.iter(|| black_box(black_box(&case.advert).emit(case.src, case.dst, mode)))
        });
        let mut buf = vec![0u8; case.advert.buffer_len()];
        g.bench_function("encode_emit_into", |b| {
            b.iter(|| {
                black_box(&case.advert).emit_into(&mut buf, case.src, case.dst, mode);
                black_box(&buf);
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench_codec);
criterion_main!(benches);

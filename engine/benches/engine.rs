//! Criterion benchmarks of the engine's hot paths: a Backup handling one received advert,
//! the same plus `poll_timeout` at 1, 255 and 4,095 instances (the deadline heap), and a
//! Master's Adver_Timer firing (build, checksum and queue one advert).
//!
//! Run: `cargo bench -p vrrp-engine --bench engine`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use vrrp_engine::config::{AuthConfig, Config, InstanceConfig, VirtualAddress};
use vrrp_engine::types::MULTICAST_V4;
use vrrp_engine::wire::{Advert, Auth, ChecksumMode};
use vrrp_engine::{Engine, Input, Instant, InterfaceUpdate, RxPacket, Version};

const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// `instances` instances, 255 per interface (eth0, eth1, ...), VRIDs 1..=255 on each.
fn engine(version: Version, priority: u8, interval: Duration, instances: u16) -> Engine {
    let mut cfg = Config::default();
    for k in 0..instances {
        let n = (k % 255) as u8 + 1;
        let mut i = InstanceConfig::new(format!("VI_{k}"), format!("eth{}", k / 255), n);
        i.version = version;
        i.priority = priority;
        i.advert_interval = interval;
        if version == Version::V2 {
            i.auth = Some(AuthConfig::Pass("123456".into()));
        }
        i.vips
            .push(VirtualAddress::host(IpAddr::V4(Ipv4Addr::new(10, 0, 1, n))));
        cfg.instances.push(i);
    }
    let mut e = Engine::new(cfg, Instant::ZERO).expect("valid");
    for k in 0..instances.div_ceil(255) {
        e.handle(
            Instant::ZERO,
            Input::Interface(InterfaceUpdate {
                name: format!("eth{k}"),
                up: true,
                ipv4: Some(ME),
                ipv6_link_local: None,
            }),
        );
    }
    while e.poll_output().is_some() {}
    e
}

fn advert(version: Version, vrid: u8) -> Vec<u8> {
    let (interval, auth) = match version {
        Version::V2 => (1, Auth::pass("123456")),
        Version::V3 => (1, Auth::None),
    };
    Advert {
        version,
        vrid,
        priority: 200,
        interval,
        auth,
        addrs: vec![IpAddr::V4(Ipv4Addr::new(10, 0, 1, vrid))],
    }
    .emit(
        IpAddr::V4(PEER),
        IpAddr::V4(MULTICAST_V4),
        ChecksumMode::PseudoHeader,
    )
}

fn backup_receive(c: &mut Criterion) {
    for (name, version, interval, instances) in [
        (
            "backup_rx_advert/v2_1s_1inst",
            Version::V2,
            Duration::from_secs(1),
            1,
        ),
        (
            "backup_rx_advert/v3_10ms_1inst",
            Version::V3,
            Duration::from_millis(10),
            1,
        ),
        (
            "backup_rx_advert/v3_10ms_255inst",
            Version::V3,
            Duration::from_millis(10),
            255,
        ),
    ] {
        let mut e = engine(version, 100, interval, instances);
        let bytes = advert(version, 1);
        let mut now = Instant::ZERO;
        c.bench_function(name, |b| {
            b.iter(|| {
                now += Duration::from_micros(1);
                e.handle(
                    now,
                    Input::Packet(RxPacket {
                        interface: "eth0",
                        src: IpAddr::V4(PEER),
                        dst: IpAddr::V4(MULTICAST_V4),
                        ttl: 255,
                        payload: black_box(&bytes),
                    }),
                );
                black_box(e.poll_output())
            })
        });
    }
}

fn backup_receive_and_poll_timeout(c: &mut Criterion) {
    // What a driver does per packet: hand it over, drain, ask for the next deadline. The
    // advert moves one Backup's Master_Down_Timer; every other instance has a timer too.
    for instances in [1u16, 255, 4095] {
        let mut e = engine(Version::V3, 100, Duration::from_millis(10), instances);
        let bytes = advert(Version::V3, 1);
        let mut now = Instant::ZERO;
        c.bench_function(
            &format!("rx_advert_poll_timeout/v3_10ms_{instances}inst"),
            |b| {
                b.iter(|| {
                    now += Duration::from_micros(1);
                    e.handle(
                        now,
                        Input::Packet(RxPacket {
                            interface: "eth0",
                            src: IpAddr::V4(PEER),
                            dst: IpAddr::V4(MULTICAST_V4),
                            ttl: 255,
                            payload: black_box(&bytes),
                        }),
                    );
                    while let Some(o) = e.poll_output() {
                        black_box(o);
                    }
                    black_box(e.poll_timeout())
                })
            },
        );
    }
}

fn master_send(c: &mut Criterion) {
    // One owner instance: every handle_timeout at its deadline sends one advert.
    let mut e = engine(Version::V3, 255, Duration::from_millis(10), 1);
    c.bench_function("master_adver_timer/v3_10ms", |b| {
        b.iter(|| {
            let t = e.poll_timeout().expect("a Master always has a timer");
            e.handle_timeout(t);
            while let Some(o) = e.poll_output() {
                black_box(o);
            }
        })
    });
}

criterion_group!(
    benches,
    backup_receive,
    backup_receive_and_poll_timeout,
    master_send
);
criterion_main!(benches);

//! Bad packets on the wire (short, wrong TTL, bad checksum, wrong auth, unknown VRID, and a
//! bounded flood of garbage) from a raw socket on a third host: no state changes, each shows
//! in the status counters under its reason, and the daemon keeps running.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use support::*;
use vrrp_engine::wire::{self, Auth, ChecksumMode, Packet};
use vrrp_engine::{Family, Version};
use vrrp_lab::Lab;

/// A VRRPv2 advert with PASS auth and a 1 s interval, checksum computed.
fn advert(vrid: u8, prio: u8, vip: Ipv4Addr, pass: &[u8; 8]) -> Vec<u8> {
    let advert = wire::Advert {
        version: Version::V2,
        vrid,
        priority: prio,
        interval: 1,
        auth: Auth::Pass(*pass),
        addrs: vec![IpAddr::V4(vip)],
    };
    // A v2 checksum covers no pseudo-header: the addresses do not matter.
    let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    advert.emit(any, any, ChecksumMode::default())
}

#[test]
fn bad_packets_are_counted_and_change_nothing() {
    assert_root();
    let lab = Lab::new(3).expect("lab");
    let dir = tmpdir("bad-input");
    let vip = lab.addr(100);
    let inst = |prio| Inst {
        name: "VI_1",
        vrid: 51,
        priority: prio,
        version: 2,
        advert: "1",
        auth: Some("secret1"),
        vip: vip.to_string(),
        extra: "",
    };
    let a = start_daemon(&lab, 0, &dir, "a", &inst(100).text("A", "", ""));
    let b = start_daemon(&lab, 1, &dir, "b", &inst(90).text("B", "", ""));
    assert!(wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip.to_string())));
    std::thread::sleep(Duration::from_millis(1200));
    let before = status(&lab, a, &dir, "a");
    assert_eq!(before["instances"][0]["state"], "MASTER");

    let pass = *b"secret1\0";
    let src = lab.hosts[2].ip;
    // Each would make the Master step down (priority 254) if it got through.
    let good = advert(51, 254, vip, &pass);
    let mut bad_ck = good.clone();
    bad_ck[6] ^= 0x55;
    let mut pkts = vec![
        (255, vec![0x21, 51, 254]),                  // short
        (255, vec![0x21, 51, 254, 1, 1, 1, 0]),      // short
        (64, good.clone()),                          // wrong TTL
        (255, bad_ck),                               // bad checksum
        (255, advert(51, 254, vip, b"wrong\0\0\0")), // wrong auth
        (255, advert(77, 254, vip, &pass)),          // unknown VRID
    ];
    // A bounded flood of garbage: every length 0..64, VRID byte 51 or random.
    let mut x: u32 = 0x1234_5678;
    for n in 0..5000u32 {
        let len = (n % 64) as usize;
        let mut p = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            p.push(x as u8);
        }
        if len > 1 && n % 2 == 0 {
            // Garbage that names a configured VRID.
            Packet::new_unchecked(&mut p[..], Version::V2, Family::Ipv4).set_vrid(51);
        }
        pkts.push((255, p));
    }
    let datagrams = pkts
        .iter()
        .map(|(ttl, p)| inject::datagram(src, *ttl, p))
        .collect();
    // A full send buffer only drops one: the flood is best effort.
    inject::send_paced(&lab, 2, datagrams, Duration::ZERO);
    std::thread::sleep(Duration::from_millis(1500));

    let after = status(&lab, a, &dir, "a");
    let i = &after["instances"][0];
    assert_eq!(i["state"], "MASTER", "{after}");
    assert_eq!(
        i["last_transition"],
        before["instances"][0]["last_transition"]
    );
    assert_eq!(i["counters"]["became_master"], 1);
    let d = &i["counters"]["discarded"];
    for reason in ["length", "ttl", "checksum", "auth"] {
        assert!(
            d[reason].as_u64().unwrap_or(0) >= 1,
            "no {reason} discard: {after}"
        );
    }
    assert!(
        after["unmatched"]["vrid"].as_u64().unwrap_or(0) >= 1,
        "{after}"
    );
    assert!(lab.has_addr(0, &vip.to_string()));
    let sb = status(&lab, b, &dir, "b");
    assert_eq!(sb["instances"][0]["state"], "BACKUP", "{sb}");
    assert!(!lab.has_addr(1, &vip.to_string()));
    eprintln!("A discarded: {d}\nA unmatched: {}", after["unmatched"]);
    // Still alive and answering.
    assert_eq!(lab.signal(a, libc::SIGTERM), Some(0));
}

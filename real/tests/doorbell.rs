//! Receive coalescing's sockets on a real kernel, in a throw-away namespace's loopback: the
//! priority-0 doorbell's BPF filter (IPv4 with its header, IPv6 without) rings for priority
//! 0 only, and a parked VRRP socket still queues every advert for a timed read.

use std::future::poll_fn;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use vrrp_engine::wire::{Advert, Auth, ChecksumMode, Packet};
use vrrp_engine::{Family, Version};
use vrrp_lab::Netns;
use vrrp_real::os::doorbell::Doorbell;
use vrrp_real::os::socket::{RxBatch, TxBatch, VrrpSocket};

fn send(sock: &VrrpSocket, addr: IpAddr, priority: u8) {
    let payload = Advert {
        version: Version::V3,
        vrid: 7,
        priority,
        interval: 100,
        auth: Auth::None,
        addrs: vec![addr],
    }
    .emit(addr, addr, ChecksumMode::PseudoHeader);
    let mut batch = TxBatch::default();
    sock.queue(&mut batch, 0, addr, addr, 255, &payload)
        .expect("queue");
    sock.flush(&mut batch, |_, e| panic!("send: {e}"));
}

/// The priorities of the adverts queued on `sock`, read without waiting for readiness.
fn queued_priorities(sock: &VrrpSocket, family: Family) -> Vec<u8> {
    let mut batch = RxBatch::new();
    let mut out = Vec::new();
    while sock.try_recv_batch(&mut batch).expect("read") {
        for i in 0..batch.len() {
            let pkt = Packet::new_checked(batch.get(i).1, family).expect("a VRRP packet");
            out.push(pkt.priority());
        }
    }
    out
}

async fn rings_within(bell: &Doorbell, wait: Duration) -> bool {
    tokio::time::timeout(wait, poll_fn(|cx| bell.poll_rung(cx)))
        .await
        .map(|r| r.expect("doorbell read"))
        .is_ok()
}

fn check(family: Family, addr: IpAddr) {
    let ns = Netns::new().expect("namespace");
    ns.run(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            // SAFETY: a NUL-terminated interface name.
            let lo = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
            assert!(lo > 0);
            let mut sock = VrrpSocket::open("lo", lo, family).expect("VRRP socket");
            let bell = Doorbell::open("lo", lo, family).expect("doorbell");
            send(&sock, addr, 100);
            send(&sock, addr, 254);
            assert!(
                !rings_within(&bell, Duration::from_millis(200)).await,
                "{family:?}: rang for priorities 100 and 254"
            );
            assert_eq!(queued_priorities(&sock, family), vec![100, 254]);

            sock.park();
            assert!(sock.is_parked());
            send(&sock, addr, 200);
            send(&sock, addr, 0);
            assert!(
                rings_within(&bell, Duration::from_secs(2)).await,
                "{family:?}: no ring for priority 0"
            );
            // One ring per batch: the queue was emptied.
            assert!(!rings_within(&bell, Duration::from_millis(100)).await);
            // The parked socket kept both adverts, in order, for the timed read.
            assert_eq!(queued_priorities(&sock, family), vec![200, 0]);

            sock.unpark().expect("unpark");
            assert!(!sock.is_parked());
            send(&sock, addr, 50);
            let mut batch = RxBatch::new();
            tokio::time::timeout(
                Duration::from_secs(2),
                poll_fn(|cx| sock.poll_recv_batch(cx, &mut batch)),
            )
            .await
            .expect("readable again after unpark")
            .expect("read");
            assert_eq!(batch.len(), 1);
        })
    });
}

#[test]
fn ipv4_doorbell_rings_for_priority_zero_only() {
    check(Family::Ipv4, IpAddr::V4(Ipv4Addr::LOCALHOST));
}

#[test]
fn ipv6_doorbell_rings_for_priority_zero_only() {
    check(Family::Ipv6, IpAddr::V6(Ipv6Addr::LOCALHOST));
}

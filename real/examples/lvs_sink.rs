//! A cheap TCP real server for the LVS benchmark (`bench_lvs.rs`): accepts on every address
//! given (`ADDR:PORT ...`) and closes each connection at once, counting them; prints the count
//! every second on stderr. Forking servers (busybox httpd) cost more than the checkers they
//! serve inside the benchmark's emulated VM; this one costs one accept and one close.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn main() {
    let addrs: Vec<SocketAddr> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap_or_else(|e| panic!("{a}: {e}")))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let count = Arc::new(AtomicU64::new(0));
    rt.block_on(async move {
        for a in addrs {
            let l = tokio::net::TcpListener::bind(a)
                .await
                .unwrap_or_else(|e| panic!("bind {a}: {e}"));
            let count = count.clone();
            tokio::spawn(async move {
                loop {
                    if let Ok((s, _)) = l.accept().await {
                        drop(s);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        let mut last = 0;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = count.load(Ordering::Relaxed);
            eprintln!("accepted {} /s", now - last);
            last = now;
        }
    });
}

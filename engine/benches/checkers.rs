//! Criterion benchmark of the check engine: 100 virtual servers x 10 real servers with
//! `TCP_CHECK` and `delay_loop 1` (the daemon benchmark, engine side). One iteration
//! is one probe cycle: the next checker's timer fires (`handle_timeout`, one
//! `Output::RunProbe`) and its result comes back (`Input::ProbeResult`); every 7th result is
//! a refusal, so real servers also leave and rejoin the IPVS table (`Output::Ipvs`).
//!
//! Run: `cargo bench -p vrrp-engine --bench checkers`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::fmt::Write;
use std::hint::black_box;
use std::time::Duration;
use vrrp_engine::keepalived::{parse_str, Options};
use vrrp_engine::lvs::ProbeResult;
use vrrp_engine::{Engine, Input, Instant, Output};

/// keepalived.conf text with `vs` virtual servers of `rs` real servers each.
fn conf(vs: u32, rs: u32) -> String {
    let mut t = String::new();
    for v in 0..vs {
        let _ = write!(
            t,
            "virtual_server 10.1.{}.{} 80 {{\n delay_loop 1\n lb_algo wrr\n protocol TCP\n",
            v / 250,
            v % 250 + 1
        );
        for r in 0..rs {
            let _ = write!(
                t,
                " real_server 10.2.{v}.{} 80 {{\n  weight 1\n  TCP_CHECK {{\n   connect_timeout 1\n   retry 0\n  }}\n }}\n",
                r + 1
            );
        }
        t.push_str("}\n");
    }
    t
}

fn probe_cycle(c: &mut Criterion) {
    let cfg = parse_str("bench.conf", &conf(100, 10), &Options::default())
        .expect("valid")
        .config;
    let mut e = Engine::with_seed(cfg, Instant::ZERO, 1).expect("engine");
    while e.poll_output().is_some() {}
    let mut n: u64 = 0;
    c.bench_function("checkers/probe_cycle_100x10", |b| {
        b.iter(|| {
            let t = e.poll_timeout().expect("checkers always have a timer");
            e.handle_timeout(t);
            let mut asked = Vec::new();
            while let Some(o) = e.poll_output() {
                if let Output::RunProbe { checker, seq, .. } = o {
                    asked.push((checker, seq));
                } else {
                    black_box(o);
                }
            }
            for (checker, seq) in asked {
                n = (n + 1) % 7;
                let result = if n == 0 {
                    ProbeResult::Refused
                } else {
                    ProbeResult::Connected
                };
                e.handle(
                    t + Duration::from_micros(300),
                    Input::ProbeResult {
                        checker,
                        seq,
                        result,
                    },
                );
                while let Some(o) = e.poll_output() {
                    black_box(o);
                }
            }
        })
    });
}

criterion_group!(benches, probe_cycle);
criterion_main!(benches);

//! Parsing speed: a generated keepalived.conf with 1,000 `vrrp_instance` blocks.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use vrrp_engine::keepalived::{self, Options};

/// 1,000 instances over 4 interfaces (VRIDs 1..=250 each), with scripts, VIPs and auth.
fn generated() -> String {
    let mut s =
        String::from("global_defs {\n    router_id bench\n    vrrp_garp_master_repeat 2\n}\n");
    for i in 0..4 {
        s.push_str(&format!(
            "vrrp_script chk_{i} {{\n    script \"/usr/local/bin/check {i}\"\n    interval 2\n    weight -10\n    fall 2\n    rise 1\n}}\n"
        ));
    }
    for i in 0..1000u32 {
        let vrid = i % 250 + 1;
        let ifname = i / 250;
        s.push_str(&format!(
            "vrrp_instance VI_{i} {{\n    state BACKUP\n    interface eth{ifname}\n    virtual_router_id {vrid}\n    priority {p}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass pw{i}\n    }}\n    virtual_ipaddress {{\n        10.{a}.{b}.1/24 dev eth{ifname} label eth{ifname}:{vrid}\n        10.{a}.{b}.2/24\n    }}\n    track_script {{\n        chk_{c} weight -20\n    }}\n    notify_master \"/etc/keepalived/notify.sh master {i}\"\n    preempt_delay 5\n}}\n",
            p = 50 + i % 200,
            a = i / 256,
            b = i % 256,
            c = i % 4,
        ));
    }
    s
}

fn bench(c: &mut Criterion) {
    let text = generated();
    // Sanity: the generated file is valid, so the benchmark measures the full path.
    match keepalived::parse_str("bench.conf", &text, &Options::default()) {
        Ok(l) => assert_eq!(l.config.instances.len(), 1000),
        Err(f) => panic!("generated config invalid:\n{f}"),
    }
    c.bench_function("parse 1000 vrrp_instance", |b| {
        b.iter(|| keepalived::parse_str("bench.conf", black_box(&text), &Options::default()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

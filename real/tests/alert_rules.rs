//! The example alerting rules (deploy/prometheus/vrrpd-alerts.yml): promtool accepts them,
//! their unit tests (vrrpd-alerts.test.yml: each alert fires when it should and not before,
//! and stays quiet in the normal cases) pass, and every metric and label they read is one
//! the daemon exports (a sample rendered from a running engine).

use prometheus_parse::Scrape;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use vrrp_engine::config::{Config, InstanceConfig, VirtualAddress};
use vrrp_engine::{Engine, Input, Instant, InterfaceUpdate, State};
use vrrp_real::daemon::metrics::{render, Sample};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus")
}

/// `promtool ARGS` in the rules' folder; its output, or a panic with it.
fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir())
        .output()
        .expect("promtool (Debian package prometheus; scripts/test.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn promtool_checks_the_rules() {
    let text = promtool(&["check", "rules", "vrrpd-alerts.yml"]);
    assert!(text.contains("SUCCESS: 3 rules found"), "{text}");
}

#[test]
fn the_alerts_fire_when_they_should_and_only_then() {
    let text = promtool(&["test", "rules", "vrrpd-alerts.test.yml"]);
    assert!(text.contains("SUCCESS"), "{text}");
}

/// The metrics of an engine that started alone and took over (so every instance series,
/// the transitions included, exists).
fn scrape() -> (String, Scrape) {
    let mut inst = InstanceConfig::new("VI_1", "eth0", 51);
    inst.vips
        .push(VirtualAddress::host("192.0.2.100".parse().unwrap()));
    let config = Config {
        instances: vec![inst],
        ..Config::default()
    };
    let mut e = Engine::new(config, Instant::ZERO).expect("config");
    e.handle(
        Instant::ZERO,
        Input::Interface(InterfaceUpdate {
            name: "eth0".into(),
            up: true,
            ipv4: Some("192.0.2.1".parse().unwrap()),
            ipv6_link_local: None,
        }),
    );
    let mut transitions = BTreeMap::new();
    let until = Instant::ZERO + Duration::from_secs(10);
    loop {
        while let Some(o) = e.poll_output() {
            if let vrrp_engine::Output::StateChanged(c) = o {
                *transitions.entry((c.instance, c.from, c.to)).or_insert(0) += 1;
            }
        }
        match e.poll_timeout().filter(|t| *t <= until) {
            Some(t) => e.handle_timeout(t),
            None => break,
        }
    }
    let snapshot = e.snapshot();
    assert_eq!(snapshot.instances[0].state, State::Master);
    let sample = Sample {
        snapshot,
        transitions,
        vips: BTreeMap::new(),
        epoch: Duration::ZERO,
    };
    let text = render(&sample);
    let parsed = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses");
    (text, parsed)
}

/// The `vrrp_*` names and the `by (...)` labels in the rules' expressions.
fn used() -> (BTreeSet<String>, BTreeSet<String>) {
    let rules = std::fs::read_to_string(dir().join("vrrpd-alerts.yml")).expect("rules");
    let mut metrics = BTreeSet::new();
    let mut labels = BTreeSet::new();
    for line in rules.lines() {
        let Some(expr) = line.trim().strip_prefix("expr:") else {
            continue;
        };
        let mut rest = expr;
        while let Some(k) = rest.find("vrrp_") {
            let name: String = rest[k..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[k + name.len()..];
            // A label named vrrp_instance is not a metric.
            if name != "vrrp_instance" {
                metrics.insert(name);
            }
        }
        if let Some(by) = expr.split("by (").nth(1).and_then(|b| b.split(')').next()) {
            labels.extend(by.split(',').map(|l| l.trim().to_string()));
        }
    }
    (metrics, labels)
}

#[test]
fn the_rules_read_metrics_and_labels_the_daemon_exports() {
    let (text, s) = scrape();
    let (metrics, labels) = used();
    assert!(metrics.contains("vrrp_instance_state"), "{metrics:?}");
    for m in &metrics {
        let series: Vec<_> = s.samples.iter().filter(|x| &x.metric == m).collect();
        assert!(!series.is_empty(), "{m} is not exported:\n{text}");
        for l in &labels {
            // `job` and `instance` are the target labels Prometheus adds at scrape time.
            if l == "job" || l == "instance" {
                continue;
            }
            assert!(
                series.iter().all(|x| x.labels.get(l).is_some()),
                "{m} has no label {l}:\n{text}"
            );
        }
        // An exported `instance` label would clash with the target's.
        assert!(series.iter().all(|x| x.labels.get("instance").is_none()));
    }
}

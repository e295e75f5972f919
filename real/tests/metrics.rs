//! `--metrics`: `GET /metrics` scraped from inside the LAN's namespaces while A is Master and B
//! Backup, then after A stops and B takes over: state gauges, priorities, adverts counting up,
//! transitions, and text that a Prometheus parser reads.

mod support;

use prometheus_parse::{Scrape, Value};
use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

/// The body of `GET http://ADDR:9650/metrics` fetched inside host `i`'s namespace.
fn fetch(lab: &Lab, i: usize) -> Option<String> {
    let url = format!("http://{}:9650/metrics", lab.hosts[i].ip);
    let out = lab
        .command(i, "curl")
        .args(["-sf", "--max-time", "2", &url])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A scrape parsed with the Prometheus text parser.
fn scrape(lab: &Lab, i: usize) -> Option<(String, Scrape)> {
    let text = fetch(lab, i)?;
    let parsed = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses");
    Some((text, parsed))
}

/// The value of `metric` with every label in `labels` (and instance VI_1).
fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| {
            x.metric == metric
                && x.labels.get("instance") == Some("VI_1")
                && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v))
        })
        .map(|x| match x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

fn state(s: &Scrape, st: &str) -> Option<f64> {
    value(s, "vrrp_instance_state", &[("state", st)])
}

#[test]
fn metrics_follow_master_and_backup() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("metrics");
    let vip = lab.addr(100).to_string();
    let a_addr = format!("{}:9650", lab.hosts[0].ip);
    let b_addr = format!("{}:9650", lab.hosts[1].ip);
    let conf = |r, p| Inst::vi1(p, &vip, "").text(r, "", "");
    let a = start_daemon_with(&lab, 0, &dir, "a", &conf("A", 150), &["--metrics", &a_addr]);
    let _b = start_daemon_with(&lab, 1, &dir, "b", &conf("B", 100), &["--metrics", &b_addr]);
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "A never became Master:\n{}",
        log(&dir, "a")
    );
    // The sample is published after the state change: poll until the scrape shows it.
    let mut first = None;
    assert!(
        wait_until(Duration::from_secs(5), || {
            first = scrape(&lab, 0).filter(|(_, s)| state(s, "MASTER") == Some(1.0));
            first.is_some()
        }),
        "A's scrape never showed MASTER=1:\n{:?}\n{}",
        fetch(&lab, 0),
        log(&dir, "a")
    );
    let (text, s) = first.unwrap();
    for st in ["INIT", "BACKUP", "FAULT"] {
        assert_eq!(state(&s, st), Some(0.0), "{st}:\n{text}");
    }
    let labels = [("interface", "eth0"), ("vrid", "51"), ("family", "inet")];
    assert_eq!(
        value(&s, "vrrp_instance_priority", &labels),
        Some(150.0),
        "{text}"
    );
    assert_eq!(
        value(&s, "vrrp_instance_effective_priority", &labels),
        Some(150.0)
    );
    assert_eq!(value(&s, "vrrp_instance_vips", &[]), Some(1.0), "{text}");
    assert_eq!(
        value(
            &s,
            "vrrp_instance_transitions_total",
            &[("from", "BACKUP"), ("to", "MASTER")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&s, "vrrp_discards_total", &[("reason", "ttl")]),
        Some(0.0)
    );
    for ty in [
        "# TYPE vrrp_instance_state gauge",
        "# TYPE vrrp_adverts_sent counter",
        "# TYPE vrrp_adverts_received counter",
        "# TYPE vrrp_instance_transitions counter",
        "# TYPE vrrp_discards counter",
    ] {
        assert!(text.contains(ty), "{ty} missing:\n{text}");
    }
    // Adverts keep counting (1 s interval; samples at most 500 ms old).
    let sent = value(&s, "vrrp_adverts_sent_total", &[]).expect("adverts_sent");
    assert!(sent >= 1.0, "{text}");
    assert!(
        wait_until(Duration::from_secs(4), || scrape(&lab, 0)
            .and_then(|(_, s)| value(&s, "vrrp_adverts_sent_total", &[]))
            .is_some_and(|v| v > sent)),
        "adverts_sent_total did not move past {sent}"
    );
    // B is Backup, hears A's adverts, and shows priority 100.
    let (btext, bs) = scrape(&lab, 1).expect("B scrape");
    assert_eq!(state(&bs, "BACKUP"), Some(1.0), "{btext}");
    assert_eq!(state(&bs, "MASTER"), Some(0.0), "{btext}");
    assert_eq!(value(&bs, "vrrp_instance_priority", &[]), Some(100.0));
    assert!(
        wait_until(Duration::from_secs(4), || scrape(&lab, 1)
            .and_then(|(_, s)| value(&s, "vrrp_adverts_received_total", &[]))
            .is_some_and(|v| v >= 1.0)),
        "B counted no received advert"
    );
    // A stops (priority 0 advert): B takes over and its gauge moves to MASTER.
    lab.signal(a, libc::SIGTERM);
    assert!(
        wait_until(Duration::from_secs(6), || scrape(&lab, 1).is_some_and(
            |(_, s)| state(&s, "MASTER") == Some(1.0) && state(&s, "BACKUP") == Some(0.0)
        )),
        "B's gauge never showed MASTER:\n{:?}",
        fetch(&lab, 1)
    );
    let (btext, bs) = scrape(&lab, 1).expect("B scrape");
    assert_eq!(
        value(
            &bs,
            "vrrp_instance_transitions_total",
            &[("from", "BACKUP"), ("to", "MASTER")]
        ),
        Some(1.0),
        "{btext}"
    );
    assert_eq!(
        value(&bs, "vrrp_priority_zero_adverts_received_total", &[]),
        Some(1.0),
        "{btext}"
    );
}

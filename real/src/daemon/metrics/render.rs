//! A [`Sample`] as Prometheus text: the instance and script families here, the LVS ones in
//! [`super::lvs`]. Names and labels are listed in docs/metrics.md.

use super::Sample;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use vrrp_engine::counters::DiscardCounters;
use vrrp_engine::io::State;
use vrrp_engine::snapshot::InstanceSnapshot;
use vrrp_engine::tracking::CheckStatus;
use vrrp_engine::Family as AddrFamily;

/// Every state, in the order the gauges are written.
const STATES: [State; 4] = [
    State::Initialize,
    State::Backup,
    State::Master,
    State::Fault,
];

/// A label set: (name, value) pairs in order.
pub type Labels = Vec<(&'static str, String)>;

/// A gauge holding seconds (durations, timestamps).
pub type Seconds = Gauge<f64, AtomicU64>;

fn family_name(f: AddrFamily) -> &'static str {
    match f {
        AddrFamily::Ipv4 => "inet",
        AddrFamily::Ipv6 => "inet6",
    }
}

/// The labels of an instance's series. `vrrp_instance`, not `instance`: Prometheus gives
/// every scraped series its own `instance` label (the target), and a clash would rename ours
/// to `exported_instance`.
fn instance_labels(i: &InstanceSnapshot) -> Labels {
    vec![
        ("vrrp_instance", i.name.clone()),
        ("interface", i.interface.clone()),
        ("vrid", i.vrid.to_string()),
        ("family", family_name(i.family).to_string()),
    ]
}

/// `l` with one more label.
pub fn with(mut l: Labels, k: &'static str, v: impl Into<String>) -> Labels {
    l.push((k, v.into()));
    l
}

/// Each discard reason with its count.
fn discards(d: &DiscardCounters) -> [(&'static str, u64); 14] {
    [
        ("length", d.length),
        ("version", d.version),
        ("type", d.r#type),
        ("ttl", d.ttl),
        ("checksum", d.checksum),
        ("vrid", d.vrid),
        ("auth", d.auth),
        ("interval", d.interval),
        ("family", d.family),
        ("peer", d.peer),
        ("destination", d.destination),
        ("own", d.own),
        ("inactive", d.inactive),
        ("address_list", d.address_list),
    ]
}

/// Registers a family of gauges or counters under `name` and returns it for filling in.
pub fn fam<M>(reg: &mut Registry, name: &str, help: &str) -> Family<Labels, M>
where
    M: Default + prometheus_client::metrics::TypedMetric + std::fmt::Debug + Send + Sync + 'static,
    M: prometheus_client::encoding::EncodeMetric,
{
    let f = Family::<Labels, M>::default();
    reg.register(name, help, f.clone());
    f
}

/// [`fam`] for gauges in seconds: `name` gets the `_seconds` suffix (and OpenMetrics' `UNIT`).
pub fn secs(reg: &mut Registry, name: &str, help: &str) -> Family<Labels, Seconds> {
    let f = Family::<Labels, Seconds>::default();
    reg.register_with_unit(name, help, Unit::Seconds, f.clone());
    f
}

/// The Prometheus text exposition of a sample (counters get `_total` from the encoder).
pub fn render(s: &Sample) -> String {
    let mut reg = Registry::default();
    instances(&mut reg, s);
    scripts(&mut reg, s);
    super::lvs::register(&mut reg, s);
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &reg);
    out
}

/// The per-instance families, and the discards no instance took.
fn instances(reg: &mut Registry, s: &Sample) {
    let state = fam::<Gauge>(
        reg,
        "vrrp_instance_state",
        "1 for the instance's current state, 0 for the others",
    );
    let prio = fam::<Gauge>(reg, "vrrp_instance_priority", "Configured priority");
    let eff = fam::<Gauge>(
        reg,
        "vrrp_instance_effective_priority",
        "Priority after tracked scripts, interfaces, files and processes",
    );
    let master_prio = fam::<Gauge>(
        reg,
        "vrrp_instance_master_priority",
        "The Master's priority as last heard (ours while Master)",
    );
    let vips = fam::<Gauge>(reg, "vrrp_instance_vips", "Virtual addresses held");
    let takeover = secs(
        reg,
        "vrrp_instance_last_takeover",
        "Last BACKUP to MASTER change: from the old Master's last advert (priority 0 \
         included; else from entering BACKUP) to becoming Master, in engine time",
    );
    let trans = fam::<Counter>(
        reg,
        "vrrp_instance_transitions",
        "State changes, by from and to state",
    );
    let became_master = fam::<Counter>(
        reg,
        "vrrp_instance_became_master",
        "Times the instance became Master",
    );
    let sent = fam::<Counter>(
        reg,
        "vrrp_adverts_sent",
        "Adverts sent (each unicast copy counts)",
    );
    let rcvd = fam::<Counter>(
        reg,
        "vrrp_adverts_received",
        "Adverts received that passed every check",
    );
    let p0_sent = fam::<Counter>(
        reg,
        "vrrp_priority_zero_adverts_sent",
        "Priority-0 adverts sent",
    );
    let p0_rcvd = fam::<Counter>(
        reg,
        "vrrp_priority_zero_adverts_received",
        "Priority-0 adverts received",
    );
    let mismatch = fam::<Counter>(
        reg,
        "vrrp_address_list_mismatch",
        "Accepted adverts whose address list differs from ours",
    );
    let disc = fam::<Counter>(
        reg,
        "vrrp_discards",
        "Received packets discarded, by reason (instance labels empty: no instance matched)",
    );
    for i in &s.snapshot.instances {
        let l = instance_labels(i);
        for st in STATES {
            state
                .get_or_create(&with(l.clone(), "state", st.as_str()))
                .set((i.state == st) as i64);
        }
        prio.get_or_create(&l).set(i.base_priority.into());
        eff.get_or_create(&l).set(i.effective_priority.into());
        if let Some(p) = i.master_priority {
            master_prio.get_or_create(&l).set(p.into());
        }
        vips.get_or_create(&l)
            .set(s.vips.get(&i.id).copied().unwrap_or(0) as i64);
        if let Some(t) = i.last_takeover {
            takeover.get_or_create(&l).set(t.duration().as_secs_f64());
        }
        let c = &i.counters;
        sent.get_or_create(&l).inc_by(c.adverts_sent);
        rcvd.get_or_create(&l).inc_by(c.adverts_accepted);
        p0_sent.get_or_create(&l).inc_by(c.priority_zero_sent);
        p0_rcvd.get_or_create(&l).inc_by(c.priority_zero_received);
        mismatch.get_or_create(&l).inc_by(c.address_list_mismatch);
        became_master.get_or_create(&l).inc_by(c.became_master);
        for (reason, n) in discards(&c.discarded) {
            disc.get_or_create(&with(l.clone(), "reason", reason))
                .inc_by(n);
        }
    }
    for ((id, from, to), n) in &s.transitions {
        if let Some(i) = s.snapshot.instances.iter().find(|i| i.id == *id) {
            let l = with(instance_labels(i), "from", from.as_str());
            trans.get_or_create(&with(l, "to", to.as_str())).inc_by(*n);
        }
    }
    let none: Labels = ["vrrp_instance", "interface", "vrid", "family"]
        .into_iter()
        .map(|k| (k, String::new()))
        .collect();
    for (reason, n) in discards(&s.snapshot.unmatched) {
        disc.get_or_create(&with(none.clone(), "reason", reason))
            .inc_by(n);
    }
}

/// The `vrrp_script` families.
fn scripts(reg: &mut Registry, s: &Sample) {
    let status = fam::<Gauge>(
        reg,
        "vrrp_script_status",
        "vrrp_script result after rise/fall: 1 good, 0 bad",
    );
    let state = fam::<Gauge>(
        reg,
        "vrrp_script_state",
        "1 for the script's current state (idle or running), 0 for the other",
    );
    let last_run = secs(
        reg,
        "vrrp_script_last_run_timestamp",
        "When the script's run in flight, or else its last run, started (Unix time)",
    );
    let duration = secs(
        reg,
        "vrrp_script_last_run_duration",
        "How long the last finished run took (to its result, or to its timeout)",
    );
    let runs = fam::<Counter>(
        reg,
        "vrrp_script_runs",
        "Finished runs by result (pass: exit 0, fail, timeout)",
    );
    for sc in &s.snapshot.scripts {
        let l: Labels = vec![("script", sc.name.clone())];
        status
            .get_or_create(&l)
            .set((sc.status == CheckStatus::Good) as i64);
        for (name, on) in [("idle", !sc.running), ("running", sc.running)] {
            state
                .get_or_create(&with(l.clone(), "state", name))
                .set(on as i64);
        }
        if let Some(at) = sc.last_started {
            last_run.get_or_create(&l).set(s.wall(at));
        }
        if let Some(r) = sc.last_run {
            duration.get_or_create(&l).set(r.duration().as_secs_f64());
        }
        for (result, n) in [
            ("pass", sc.results.pass),
            ("fail", sc.results.fail),
            ("timeout", sc.results.timeout),
        ] {
            runs.get_or_create(&with(l.clone(), "result", result))
                .inc_by(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::Duration;
    use vrrp_engine::snapshot::Snapshot;

    #[test]
    fn an_empty_sample_has_only_the_unmatched_discards() {
        let s = Sample {
            snapshot: Snapshot {
                instances: vec![],
                scripts: vec![],
                unmatched: DiscardCounters::default(),
                virtual_servers: vec![],
                sync_groups: vec![],
                processes: vec![],
            },
            transitions: BTreeMap::new(),
            vips: BTreeMap::new(),
            epoch: Duration::ZERO,
        };
        let text = render(&s);
        // Families without series are left out by the encoder.
        assert!(!text.contains("vrrp_instance_state"), "{text}");
        assert!(text.contains("# TYPE vrrp_discards counter"), "{text}");
        assert_eq!(text.matches("vrrp_discards_total{").count(), 14, "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}

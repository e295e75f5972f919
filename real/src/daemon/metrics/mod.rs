//! `--metrics ADDR:PORT`: Prometheus metrics (`GET /metrics`, text exposition format).
//!
//! The engine loop never waits on a scrape: after a drain it publishes a [`Sample`] (the
//! engine's [`Snapshot`], the daemon's transition counts and the VIPs held) on a
//! `tokio::sync::watch` channel, on every state change and otherwise at most every
//! [`REFRESH`]; the HTTP task ([`crate::os::http`]) takes the latest sample and encodes it with
//! `prometheus-client` on its own time. Metric names and their keepalived-exporter
//! counterparts are in docs/metrics.md.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use vrrp_engine::counters::DiscardCounters;
use vrrp_engine::io::State;
use vrrp_engine::snapshot::{InstanceSnapshot, Snapshot};
use vrrp_engine::tracking::CheckStatus;
use vrrp_engine::{Family as AddrFamily, InstanceId};

/// How stale a published sample may get while no state changes (adverts keep counting).
pub const REFRESH: Duration = Duration::from_millis(500);

/// Every state, in the order the gauges are written.
const STATES: [State; 4] = [
    State::Initialize,
    State::Backup,
    State::Master,
    State::Fault,
];

/// What the HTTP task renders: one consistent view taken by the engine loop.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The engine's snapshot.
    pub snapshot: Snapshot,
    /// State changes so far, per instance and (from, to).
    pub transitions: BTreeMap<(InstanceId, State, State), u64>,
    /// VIPs held, per instance (configured VIPs while installed).
    pub vips: BTreeMap<InstanceId, u64>,
}

/// The daemon's side: transition counts and the channel it publishes on.
pub struct Metrics {
    tx: tokio::sync::watch::Sender<Option<Arc<Sample>>>,
    transitions: BTreeMap<(InstanceId, State, State), u64>,
    last: Option<std::time::Instant>,
    dirty: bool,
}

/// The HTTP task's side: the latest sample.
pub type Latest = tokio::sync::watch::Receiver<Option<Arc<Sample>>>;

impl Metrics {
    /// A publisher and the receiver the HTTP task reads.
    pub fn new() -> (Metrics, Latest) {
        let (tx, rx) = tokio::sync::watch::channel(None);
        let m = Metrics {
            tx,
            transitions: BTreeMap::new(),
            last: None,
            dirty: true,
        };
        (m, rx)
    }

    /// Counts one state change; the next [`Metrics::due`] is true at once.
    pub fn transition(&mut self, id: InstanceId, from: State, to: State) {
        *self.transitions.entry((id, from, to)).or_default() += 1;
        self.dirty = true;
    }

    /// Whether a sample should be published now (a state change, or [`REFRESH`] passed).
    pub fn due(&self) -> bool {
        self.dirty || self.last.is_none_or(|t| t.elapsed() >= REFRESH)
    }

    /// Publishes a sample (a cheap pointer swap; the scrape encodes it).
    pub fn publish(&mut self, snapshot: Snapshot, vips: BTreeMap<InstanceId, u64>) {
        let sample = Sample {
            snapshot,
            transitions: self.transitions.clone(),
            vips,
        };
        self.tx.send_replace(Some(Arc::new(sample)));
        self.last = Some(std::time::Instant::now());
        self.dirty = false;
    }
}

/// Binds `addr` (an error stops the start-up, as keepalived's bad options do) and starts the
/// HTTP thread serving the latest sample.
pub fn start(addr: std::net::SocketAddr) -> Result<Metrics, String> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| format!("metrics on {addr}: {e}"))?;
    let (m, latest) = Metrics::new();
    crate::os::http::serve(listener, move || {
        // Clone the pointer and let go of the channel before encoding.
        let sample = latest.borrow().clone();
        sample
            .map(|s| render(&s))
            .unwrap_or_else(|| "# EOF\n".into())
    })
    .map_err(|e| format!("metrics on {addr}: {e}"))?;
    tracing::info!("metrics on http://{addr}/metrics");
    Ok(m)
}

impl super::driver::Daemon {
    /// Publishes a metrics sample when one is due (after a state change, else every
    /// [`REFRESH`]); a pointer swap, never a wait on a scraper.
    pub(super) fn publish_metrics(&mut self) {
        if !self.metrics.as_ref().is_some_and(Metrics::due) {
            return;
        }
        let snapshot = self.engine.snapshot();
        let vips = snapshot
            .instances
            .iter()
            .map(|i| {
                let n = match (i.vips_installed, self.engine.instance_config(i.id)) {
                    (true, Some(c)) => c.vips.len() as u64,
                    _ => 0,
                };
                (i.id, n)
            })
            .collect();
        if let Some(m) = &mut self.metrics {
            m.publish(snapshot, vips);
        }
    }
}

/// A label set: (name, value) pairs in order.
type Labels = Vec<(&'static str, String)>;

fn family_name(f: AddrFamily) -> &'static str {
    match f {
        AddrFamily::Ipv4 => "inet",
        AddrFamily::Ipv6 => "inet6",
    }
}

fn instance_labels(i: &InstanceSnapshot) -> Labels {
    vec![
        ("instance", i.name.clone()),
        ("interface", i.interface.clone()),
        ("vrid", i.vrid.to_string()),
        ("family", family_name(i.family).to_string()),
    ]
}

fn with(mut l: Labels, k: &'static str, v: impl Into<String>) -> Labels {
    l.push((k, v.into()));
    l
}

/// Each discard reason with its count.
fn discards(d: &DiscardCounters) -> [(&'static str, u64); 13] {
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
    ]
}

/// Registers a family of gauges or counters under `name` and returns it for filling in.
fn fam<M>(reg: &mut Registry, name: &str, help: &str) -> Family<Labels, M>
where
    M: Default + prometheus_client::metrics::TypedMetric + std::fmt::Debug + Send + Sync + 'static,
    M: prometheus_client::encoding::EncodeMetric,
{
    let f = Family::<Labels, M>::default();
    reg.register(name, help, f.clone());
    f
}

/// The Prometheus text exposition of a sample (counters get `_total` from the encoder).
pub fn render(s: &Sample) -> String {
    let mut reg = Registry::default();
    let state = fam::<Gauge>(
        &mut reg,
        "vrrp_instance_state",
        "1 for the instance's current state, 0 for the others",
    );
    let prio = fam::<Gauge>(&mut reg, "vrrp_instance_priority", "Configured priority");
    let eff = fam::<Gauge>(
        &mut reg,
        "vrrp_instance_effective_priority",
        "Priority after tracked scripts, interfaces, files and processes",
    );
    let master_prio = fam::<Gauge>(
        &mut reg,
        "vrrp_instance_master_priority",
        "The Master's priority as last heard (ours while Master)",
    );
    let vips = fam::<Gauge>(&mut reg, "vrrp_instance_vips", "Virtual addresses held");
    let trans = fam::<Counter>(
        &mut reg,
        "vrrp_instance_transitions",
        "State changes, by from and to state",
    );
    let became_master = fam::<Counter>(
        &mut reg,
        "vrrp_instance_became_master",
        "Times the instance became Master",
    );
    let sent = fam::<Counter>(
        &mut reg,
        "vrrp_adverts_sent",
        "Adverts sent (each unicast copy counts)",
    );
    let rcvd = fam::<Counter>(
        &mut reg,
        "vrrp_adverts_received",
        "Adverts received that passed every check",
    );
    let p0_sent = fam::<Counter>(
        &mut reg,
        "vrrp_priority_zero_adverts_sent",
        "Priority-0 adverts sent",
    );
    let p0_rcvd = fam::<Counter>(
        &mut reg,
        "vrrp_priority_zero_adverts_received",
        "Priority-0 adverts received",
    );
    let mismatch = fam::<Counter>(
        &mut reg,
        "vrrp_address_list_mismatch",
        "Accepted adverts whose address list differs from ours",
    );
    let disc = fam::<Counter>(
        &mut reg,
        "vrrp_discards",
        "Received packets discarded, by reason (instance labels empty: no instance matched)",
    );
    let script = fam::<Gauge>(
        &mut reg,
        "vrrp_script_status",
        "vrrp_script result after rise/fall: 1 good, 0 bad",
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
    let none: Labels = ["instance", "interface", "vrid", "family"]
        .into_iter()
        .map(|k| (k, String::new()))
        .collect();
    for (reason, n) in discards(&s.snapshot.unmatched) {
        disc.get_or_create(&with(none.clone(), "reason", reason))
            .inc_by(n);
    }
    for sc in &s.snapshot.scripts {
        script
            .get_or_create(&vec![("script", sc.name.clone())])
            .set((sc.status == CheckStatus::Good) as i64);
    }
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &reg);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        let text = render(&s);
        // Families without series are left out by the encoder.
        assert!(!text.contains("vrrp_instance_state"), "{text}");
        assert!(text.contains("# TYPE vrrp_discards counter"), "{text}");
        assert_eq!(text.matches("vrrp_discards_total{").count(), 13, "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}

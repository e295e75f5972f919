//! `--metrics ADDR:PORT`: Prometheus metrics (`GET /metrics`, text exposition format).
//!
//! The engine loop never waits on a scrape: after a drain it publishes a [`Sample`] (the
//! engine's [`Snapshot`], the daemon's transition counts and the VIPs held) on a
//! `tokio::sync::watch` channel, on every state change, reload, script start and result, real
//! server or quorum change, and otherwise at most every [`REFRESH`]; the HTTP task ([`crate::os::http`]) takes the latest sample and encodes it with
//! `prometheus-client` on its own time. Metric names and their keepalived-exporter
//! counterparts are in docs/metrics.md.
//!
//! What lives where: this file publishes samples; [`mod@render`] turns one into text (instances
//! and scripts), [`lvs`] adds the virtual servers, real servers and checkers.
//!
//! Across a reload (SIGHUP) every count follows the engine's idea of the same instance
//! (keepalived's `vrrp_exist`: interface, family, VRID, unicast mode), as keepalived 2.2.7's
//! `restore_vrrp_state` copies `vrrp->stats`: the engine keeps an instance's counters and
//! [`InstanceId`], and the transition counts here are keyed by that id. A kept instance keeps
//! its counts (under its new name if renamed); a removed one's series go; a restarted one
//! (identity changed) starts from zero. Scripts (by name) and checkers of kept real servers
//! keep theirs too.

pub mod lvs;
pub mod render;

pub use render::render;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use vrrp_engine::io::State;
use vrrp_engine::snapshot::Snapshot;
use vrrp_engine::InstanceId;

/// How stale a published sample may get while no state changes (adverts keep counting).
pub const REFRESH: Duration = Duration::from_millis(500);

/// What the HTTP task renders: one consistent view taken by the engine loop.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The engine's snapshot.
    pub snapshot: Snapshot,
    /// State changes so far, per instance and (from, to).
    pub transitions: BTreeMap<(InstanceId, State, State), u64>,
    /// VIPs held, per instance (configured VIPs while installed).
    pub vips: BTreeMap<InstanceId, u64>,
    /// `CLOCK_REALTIME` (since the Unix epoch) at engine time zero: turns the snapshot's
    /// engine instants into the wall-clock timestamps Prometheus expects.
    pub epoch: Duration,
}

impl Sample {
    /// The wall-clock time of engine instant `at`, in seconds since the Unix epoch.
    pub fn wall(&self, at: vrrp_engine::Instant) -> f64 {
        (self.epoch + at.offset()).as_secs_f64()
    }
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

    /// Asks for a sample at the next chance (a reload, a script run, a real server's change).
    pub fn touch(&mut self) {
        self.dirty = true;
    }

    /// Whether a sample should be published now (a state change, or [`REFRESH`] passed).
    pub fn due(&self) -> bool {
        self.dirty || self.last.is_none_or(|t| t.elapsed() >= REFRESH)
    }

    /// Publishes a sample (a cheap pointer swap; the scrape encodes it).
    pub fn publish(
        &mut self,
        snapshot: Snapshot,
        vips: BTreeMap<InstanceId, u64>,
        epoch: Duration,
    ) {
        let sample = Sample {
            snapshot,
            transitions: self.transitions.clone(),
            vips,
            epoch,
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
    // The text of the last sample rendered: scrapes between two samples (at most every
    // REFRESH, or on an event) get the same bytes without encoding again.
    let cache: std::sync::Mutex<Option<(Arc<Sample>, bytes::Bytes)>> = Default::default();
    crate::os::http::serve(listener, move || {
        // Clone the pointer and let go of the channel before encoding.
        let Some(sample) = latest.borrow().clone() else {
            return bytes::Bytes::from_static(b"# EOF\n");
        };
        // Only the HTTP thread takes this lock: it is never contended.
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        match &*cache {
            Some((s, text)) if Arc::ptr_eq(s, &sample) => text.clone(),
            _ => {
                let text = bytes::Bytes::from(render(&sample));
                *cache = Some((sample, text.clone()));
                text
            }
        }
    })
    .map_err(|e| format!("metrics on {addr}: {e}"))?;
    tracing::info!("metrics on http://{addr}/metrics");
    Ok(m)
}

impl super::driver::Daemon {
    /// Asks for a sample after this drain: a script started or ended, a real server or a
    /// quorum changed (what a scraper would otherwise see up to [`REFRESH`] late).
    pub(super) fn touch_metrics(&mut self) {
        if let Some(m) = &mut self.metrics {
            m.touch();
        }
    }

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
        // Engine time zero on the wall clock: now, less the engine time elapsed since.
        let since_origin = crate::os::timer::monotonic().saturating_sub(self.origin);
        let epoch = crate::os::timer::realtime().saturating_sub(since_origin);
        if let Some(m) = &mut self.metrics {
            m.publish(snapshot, vips, epoch);
        }
    }
}

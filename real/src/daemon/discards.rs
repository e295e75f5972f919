//! Discarded packets summarised in the log (adverts for VRIDs we do not run only with
//! `log_unknown_vrids`, as keepalived): keepalived 2.2.7 logs one line per bad packet
//! ("(VI_1) invalid TTL/HL. Received 64 and expect 255" for each of a flood); we log the first
//! ones at once and then at most one line per instance and reason per interval
//! (`--discard-log-interval`, 10 s), with the count. Read from the engine's counters after
//! each batch of packets and on a timer; nothing here decides anything.

use super::log_lines::{discard_summary, InstanceWords};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use vrrp_engine::counters::DiscardCounters;
use vrrp_engine::{Engine, InstanceId};

/// The counters last summarised, and when the next summary may be.
#[derive(Debug)]
pub struct DiscardLog {
    interval: Duration,
    /// Per live instance: its discards and address-list mismatches at the last summary.
    seen: BTreeMap<InstanceId, (DiscardCounters, u64)>,
    unmatched: DiscardCounters,
    /// When the counts above were taken.
    since: Instant,
    /// No summary before this (the last one was less than `interval` ago).
    quiet_until: Option<Instant>,
    /// [`Engine::anomalies`] when the counters were last read.
    anomalies: u64,
}

impl DiscardLog {
    /// A summariser with nothing seen yet, at most one summary per `interval`.
    pub fn new(interval: Duration) -> DiscardLog {
        DiscardLog {
            interval,
            seen: BTreeMap::new(),
            unmatched: DiscardCounters::default(),
            since: Instant::now(),
            quiet_until: None,
            anomalies: 0,
        }
    }

    /// The summary interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The summary lines due now: the discards since the last summary, if the last one was
    /// at least an interval ago (none otherwise: they wait for the next call).
    pub fn check(&mut self, engine: &Engine, now: Instant) -> Vec<String> {
        // Nothing new (the common case, after every batch of good adverts): no scan.
        if engine.anomalies() == self.anomalies || self.quiet_until.is_some_and(|q| now < q) {
            return Vec::new();
        }
        self.anomalies = engine.anomalies();
        let secs = now.duration_since(self.since).as_secs_f64();
        let mut lines = Vec::new();
        let mut seen = BTreeMap::new();
        for id in engine.instance_ids() {
            let (Some(cfg), Some(c)) = (engine.instance_config(id), engine.counters(id)) else {
                continue;
            };
            let (before, mismatch) = self.seen.get(&id).copied().unwrap_or_default();
            let words = InstanceWords {
                name: &cfg.name,
                version: match cfg.version {
                    vrrp_engine::Version::V2 => 2,
                    vrrp_engine::Version::V3 => 3,
                },
                unicast: !cfg.unicast_peers.is_empty(),
                vrid: cfg.vrid,
            };
            lines.extend(discard_summary(
                Some(words),
                &before,
                &c.discarded,
                c.address_list_mismatch.saturating_sub(mismatch),
                secs,
            ));
            seen.insert(id, (c.discarded, c.address_list_mismatch));
        }
        let mut unmatched = *engine.unmatched();
        if !engine.global_config().log_unknown_vrids {
            // keepalived logs unknown VRIDs only with `log_unknown_vrids`: other routers'
            // VRIDs on a shared LAN are no anomaly.
            unmatched.vrid = self.unmatched.vrid;
        }
        lines.extend(discard_summary(None, &self.unmatched, &unmatched, 0, secs));
        self.seen = seen;
        self.unmatched = unmatched;
        if !lines.is_empty() {
            self.since = now;
            self.quiet_until = Some(now + self.interval);
        }
        lines
    }
}

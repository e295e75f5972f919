//! The simulation of a lab run as it was carried out: keepalived has no `--start-at`, so it
//! starts when it has read its configuration, 40-120 ms after the lab spawns it, and each
//! start's instant is measured ([`super::keepalived_runner`]). A simulation of the planned
//! experiment has every start at its planned instant, so the comparison would measure the
//! spawn latency. This module rewrites the variant with the starts (and restarts) at their
//! measured instants, every fault at the instant the lab carried it out, and no jitter, for
//! `sim lab` to simulate next to the lab run (`<out>/sim-as-run/`).

use super::LabRun;
use crate::experiment::model::{Fault, TimedFault, Variant};
use std::time::Duration;

/// `v` as the lab carried it out in `run`.
pub fn variant(v: &Variant, run: &LabRun) -> Variant {
    let mut out = v.clone();
    let secs = |t: f64| Duration::from_secs_f64(t.max(0.0));
    // Each node's first daemon: its measured start.
    for (n, p) in out.nodes.iter_mut().enumerate() {
        if let Some(inc) = run.incarnations.iter().find(|i| i.node == n) {
            p.start = inc.planned;
        }
        p.start_jitter = Duration::ZERO;
    }
    let mut timeline = Vec::new();
    for d in &run.done {
        let f = &v.timeline[d.index];
        let at = secs(d.at);
        match &f.fault {
            // A restart: the old daemon stops when the lab stopped it, the new one starts at
            // its measured start (the first daemon of that node started after the fault).
            Fault::Restart(n) => {
                let was_running = run.incarnations.iter().any(|i| {
                    i.node == *n && i.planned <= at && i.gone.is_some_and(|(g, _)| g >= d.at - 1e-3)
                });
                if was_running {
                    timeline.push(TimedFault {
                        at,
                        jitter: Duration::ZERO,
                        fault: Fault::Stop(*n),
                        span: f.span.clone(),
                    });
                }
                let start = run
                    .incarnations
                    .iter()
                    .filter(|i| i.node == *n && i.planned >= at)
                    .map(|i| i.planned)
                    .min()
                    .unwrap_or(at);
                timeline.push(TimedFault {
                    at: start,
                    jitter: Duration::ZERO,
                    fault: f.fault.clone(),
                    span: f.span.clone(),
                });
            }
            _ => timeline.push(TimedFault {
                at,
                jitter: Duration::ZERO,
                fault: f.fault.clone(),
                span: f.span.clone(),
            }),
        }
    }
    timeline.sort_by_key(|f| f.at);
    out.timeline = timeline;
    out
}

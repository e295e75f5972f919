//! The comparison of keepalived's run with vrrpd-real's, node by node, on what a user sees.
//! Times are taken from the node's latest start before the event, so the few milliseconds
//! between the two runs' starts do not count.

use crate::observe::{NodeObs, Run};
use crate::scenario::Scenario;
use std::collections::BTreeMap;

/// What is compared; a deviation names one of these.
pub const ASPECTS: &[&str] = &[
    // The notify lines (state and priority arguments), in order.
    "notify",
    // Each notify line's time from the node's start, within the tolerance.
    "notify_times",
    // The runs of adverts (periods as Master) and the priorities each advertised.
    "wire",
    // Each run's first and last advert from the node's start, within the tolerance.
    "wire_times",
    // Gratuitous ARPs sent, within the scenario's garp_tolerance.
    "garp",
    // Addresses held at the end.
    "vips",
    // Whether the daemon still runs at the end.
    "alive",
];

/// One difference between the runs.
#[derive(Debug)]
pub struct Diff {
    /// The node.
    pub node: String,
    /// One of [`ASPECTS`].
    pub what: &'static str,
    /// keepalived's and vrrpd-real's sides.
    pub detail: String,
}

/// Seconds from the node's latest start at or before `t`.
fn from_start(obs: &NodeObs, t: f64) -> f64 {
    let start = obs
        .starts
        .iter()
        .rev()
        .find(|s| **s <= t + 1e-3)
        .copied()
        .unwrap_or(0.0);
    t - start
}

/// Every difference between keepalived's observations `ka` and vrrpd-real's `vr`.
pub fn diffs(
    sc: &Scenario,
    ka: &BTreeMap<String, NodeObs>,
    vr: &BTreeMap<String, NodeObs>,
) -> Vec<Diff> {
    let mut out = Vec::new();
    for (node, k) in ka {
        let v = &vr[node];
        let mut push = |what: &'static str, detail: String| {
            out.push(Diff {
                node: node.clone(),
                what,
                detail,
            })
        };
        let lines = |o: &NodeObs| o.notify.iter().map(|(_, l)| l.clone()).collect::<Vec<_>>();
        if lines(k) != lines(v) {
            push(
                "notify",
                format!("keepalived {:?}\n    vrrpd-real {:?}", lines(k), lines(v)),
            );
        } else {
            let late = times_apart(
                k.notify.iter().map(|(t, _)| from_start(k, *t)),
                v.notify.iter().map(|(t, _)| from_start(v, *t)),
                sc.tolerance,
            );
            if let Some(d) = late {
                push("notify_times", format!("{d}\n    lines {:?}", lines(k)));
            }
        }
        let shape = |o: &NodeObs| {
            o.runs
                .iter()
                .map(|r| (r.prios.clone(), r.end.is_some()))
                .collect::<Vec<_>>()
        };
        if shape(k) != shape(v) {
            push(
                "wire",
                format!(
                    "keepalived {}\n    vrrpd-real {}",
                    show_runs(k),
                    show_runs(v)
                ),
            );
        } else {
            let edges = |o: &NodeObs| {
                o.runs
                    .iter()
                    .flat_map(|r| std::iter::once(r.start).chain(r.end))
                    .map(|t| from_start(o, t))
                    .collect::<Vec<_>>()
            };
            if let Some(d) = times_apart(edges(k).into_iter(), edges(v).into_iter(), sc.tolerance) {
                push(
                    "wire_times",
                    format!(
                        "{d}\n    keepalived {}\n    vrrpd-real {}",
                        show_runs(k),
                        show_runs(v)
                    ),
                );
            }
        }
        if k.garps.abs_diff(v.garps) > sc.garp_tolerance {
            push(
                "garp",
                format!("keepalived {}, vrrpd-real {}", k.garps, v.garps),
            );
        }
        if k.vips != v.vips {
            push(
                "vips",
                format!("keepalived {:?}, vrrpd-real {:?}", k.vips, v.vips),
            );
        }
        if k.alive != v.alive {
            push(
                "alive",
                format!("keepalived {}, vrrpd-real {}", k.alive, v.alive),
            );
        }
    }
    out
}

/// The first pair of times further apart than `tol`, described.
fn times_apart(
    k: impl Iterator<Item = f64>,
    v: impl Iterator<Item = f64>,
    tol: f64,
) -> Option<String> {
    k.zip(v)
        .enumerate()
        .find(|(_, (k, v))| (k - v).abs() > tol)
        .map(|(i, (k, v))| format!("event {i}: keepalived at {k:.3} s, vrrpd-real at {v:.3} s from the node's start (tolerance {tol} s)"))
}

/// Runs written for a message: `[start-end: prios]`, times from the node's start.
pub fn show_runs(o: &NodeObs) -> String {
    let one = |r: &Run| {
        let end = r
            .end
            .map_or("..".to_string(), |e| format!("{:.3}", from_start(o, e)));
        format!("[{:.3}-{end}: {:?}]", from_start(o, r.start), r.prios)
    };
    o.runs.iter().map(one).collect::<Vec<_>>().join(" ")
}

/// The node's notify states in order (the third argument).
pub fn states(o: &NodeObs) -> Vec<String> {
    o.notify
        .iter()
        .filter_map(|(_, l)| l.split_whitespace().nth(2).map(str::to_string))
        .collect()
}

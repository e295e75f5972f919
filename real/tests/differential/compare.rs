//! The comparison of keepalived's run with vrrpd-real's, node by node, on what a user sees.
//! Times are taken from the node's latest start before the event, so the few milliseconds
//! between the two runs' starts do not count; the tolerance grows by the largest difference,
//! over the nodes' starts, between the time one daemon and the other took to come up (from
//! exec to its first notify): start-up cost, which keepalived's two processes pay more of on
//! a loaded machine (0.03-0.4 s measured), not protocol behaviour. The largest over all
//! nodes, since a node's transitions follow the other nodes' timers too.

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

/// Which start of the node `t` follows (its index), and the seconds since it.
fn from_start(obs: &NodeObs, t: f64) -> (usize, f64) {
    let i = obs.starts.iter().rposition(|s| *s <= t + 1e-3).unwrap_or(0);
    (i, t - obs.starts.get(i).copied().unwrap_or(0.0))
}

/// Seconds from the node's `i`-th start to its first notify after it (0 without one).
fn ready_after(obs: &NodeObs, i: usize) -> f64 {
    let start = obs.starts.get(i).copied().unwrap_or(0.0);
    let next = obs.starts.get(i + 1).copied().unwrap_or(f64::INFINITY);
    obs.notify
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| *t >= start - 1e-3 && *t < next)
        .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.min(t))))
        .map_or(0.0, |t| t - start)
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
        let slack = startup_difference(ka, vr);
        let tol = sc.tolerance + slack;
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
                k,
                v,
                k.notify.iter().map(|(t, _)| *t),
                v.notify.iter().map(|(t, _)| *t),
                sc.notify_tolerance.max(sc.tolerance) + slack,
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
                    .collect::<Vec<_>>()
            };
            if let Some(d) = times_apart(k, v, edges(k).into_iter(), edges(v).into_iter(), tol) {
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

/// The largest difference, over the nodes' starts, between keepalived's and vrrpd-real's
/// time from exec to the first notify.
fn startup_difference(ka: &BTreeMap<String, NodeObs>, vr: &BTreeMap<String, NodeObs>) -> f64 {
    ka.iter()
        .flat_map(|(n, k)| {
            let v = &vr[n];
            (0..k.starts.len()).map(move |i| (ready_after(k, i) - ready_after(v, i)).abs())
        })
        .fold(0.0, f64::max)
}

/// The first pair of event times (`tk` in keepalived's run `k`, `tv` in vrrpd-real's `v`)
/// further apart, from the node's start, than `tol`; described.
fn times_apart(
    k: &NodeObs,
    v: &NodeObs,
    tk: impl Iterator<Item = f64>,
    tv: impl Iterator<Item = f64>,
    tol: f64,
) -> Option<String> {
    tk.zip(tv).enumerate().find_map(|(n, (tk, tv))| {
        let (rk, rv) = (from_start(k, tk).1, from_start(v, tv).1);
        ((rk - rv).abs() > tol).then(|| {
            format!(
                "event {n}: keepalived at {rk:.3} s, vrrpd-real at {rv:.3} s from the node's start \
                 (tolerance {tol:.3} s with the start-up difference)"
            )
        })
    })
}

/// Runs written for a message: `[start-end: prios]`, times from the node's start.
pub fn show_runs(o: &NodeObs) -> String {
    let one = |r: &Run| {
        let end = r
            .end
            .map_or("..".to_string(), |e| format!("{:.3}", from_start(o, e).1));
        format!("[{:.3}-{end}: {:?}]", from_start(o, r.start).1, r.prios)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        toml::from_str(
            "description = \"d\"\ncovers = \"c\"\nduration = 10.0\n[nodes.a]\nconfig = \"\"\n\
             [[timeline]]\nat = 0.0\nnode = \"a\"\ndo = \"start\"\n",
        )
        .expect("scenario")
    }

    fn obs(ready: f64, master: f64) -> BTreeMap<String, NodeObs> {
        let o = NodeObs {
            starts: vec![0.0],
            notify: vec![
                (ready, "INSTANCE VI_1 BACKUP 100".into()),
                (master, "INSTANCE VI_1 MASTER 100".into()),
            ],
            runs: vec![Run {
                start: master,
                end: None,
                prios: vec![100],
            }],
            garps: 5,
            vips: vec![".100".into()],
            alive: true,
        };
        BTreeMap::from([("a".to_string(), o)])
    }

    fn aspects(
        ka: &BTreeMap<String, NodeObs>,
        vr: &BTreeMap<String, NodeObs>,
    ) -> Vec<&'static str> {
        diffs(&scenario(), ka, vr).iter().map(|d| d.what).collect()
    }

    #[test]
    fn the_same_observations_agree_and_each_aspect_can_differ() {
        let ka = obs(0.05, 3.65);
        assert!(aspects(&ka, &ka).is_empty());
        // Taking over 0.4 s later with the same start-up time: the wire differs (0.3 s), the
        // notify lines not yet (0.6 s); 0.8 s later, both.
        assert_eq!(aspects(&ka, &obs(0.05, 4.05)), ["wire_times"]);
        assert_eq!(
            aspects(&ka, &obs(0.05, 4.45)),
            ["notify_times", "wire_times"]
        );
        let mut vr = obs(0.05, 3.65);
        let a = vr.get_mut("a").expect("a");
        a.notify[1].1 = "INSTANCE VI_1 MASTER 90".into();
        a.runs[0].prios = vec![90];
        a.garps = 10;
        a.vips.clear();
        a.alive = false;
        assert_eq!(
            aspects(&ka, &vr),
            ["notify", "wire", "garp", "vips", "alive"]
        );
    }

    #[test]
    fn a_slower_start_widens_the_tolerance_by_as_much() {
        // keepalived up 0.35 s after exec, vrrpd-real 0.05 s: everything it times is 0.3 s
        // later, which passes; 0.31 s more than that does not, on the wire.
        let vr = obs(0.05, 3.65);
        assert!(aspects(&obs(0.35, 3.95), &vr).is_empty());
        assert_eq!(aspects(&obs(0.35, 4.26), &vr), ["wire_times"]);
    }
}

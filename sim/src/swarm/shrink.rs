//! Shrinking a failing case: the fewest faults that still break the same invariant (delta
//! debugging, Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing Input",
//! TSE 2002, then one fault at a time until no single fault can go), then the fewest nodes,
//! then the shortest run. Every step re-runs the candidate with the case's seed and keeps it
//! only if it still fails, so what comes out fails by construction.

use crate::backend::RunSpec;
use crate::experiment::model::{Fault, TimedFault, Variant};
use crate::experiment::Experiment;
use crate::observe::metrics::Violation;
use std::time::Duration;

/// At most this many runs per shrink (each takes about a millisecond for a one-minute run).
const BUDGET: usize = 4000;

/// Runs candidates of one case: its experiment (clients, ARP), seed and target invariant.
pub struct Tester<'a> {
    exp: Experiment,
    seed: u64,
    target: &'a str,
    /// Runs so far.
    pub runs: usize,
}

impl<'a> Tester<'a> {
    /// A tester of `exp`'s settings (its variants are not used), with `seed`, for violations
    /// of `target`.
    pub fn new(exp: &Experiment, seed: u64, target: &'a str) -> Self {
        let mut exp = exp.clone();
        exp.variants.clear();
        Tester {
            exp,
            seed,
            target,
            runs: 0,
        }
    }

    /// The first violation of the target invariant when `v` runs for `duration`, if any.
    pub fn violation(&mut self, v: &Variant, duration: Duration) -> Option<Violation> {
        self.runs += 1;
        self.exp.duration = duration;
        let (r, _) = crate::backend::event_queue::run(RunSpec {
            experiment: &self.exp,
            variant: v,
            seed: self.seed,
            record: false,
            capture: false,
            trace: false,
        });
        r.violations
            .into_iter()
            .find(|x| x.invariant == self.target)
    }

    fn fails(&mut self, v: &Variant, duration: Duration) -> bool {
        self.runs < BUDGET && self.violation(v, duration).is_some()
    }
}

/// What shrinking kept.
pub struct Shrunk {
    /// The smallest failing variant found.
    pub variant: Variant,
    /// Its run length.
    pub duration: Duration,
    /// The violation it shows.
    pub violation: Violation,
}

/// Shrink the failing `v` (run for `duration`): faults, then nodes, then faults again, then
/// the run's length. `first` is the violation `v` showed.
pub fn shrink(t: &mut Tester<'_>, v: &Variant, duration: Duration, first: Violation) -> Shrunk {
    let mut best = v.clone();
    let faults = ddmin(v.timeline.clone(), |fs| {
        let c = with_timeline(&best, fs);
        t.fails(&c, duration)
    });
    best.timeline = faults;
    // Fewer nodes: the last first, so earlier indices stay valid while we go.
    for j in (0..best.nodes.len()).rev() {
        if best.nodes.len() <= 1 {
            break;
        }
        let c = without_node(&best, j);
        if t.fails(&c, duration) {
            best = c;
        }
    }
    // Removing a node can make another fault unnecessary.
    let mut i = 0;
    while i < best.timeline.len() {
        let mut fs = best.timeline.clone();
        fs.remove(i);
        let c = with_timeline(&best, &fs);
        if t.fails(&c, duration) {
            best = c;
        } else {
            i += 1;
        }
    }
    // The shortest run: up to the violation, rounded up to a whole second, plus one.
    let mut duration = duration;
    let mut violation = t.violation(&best, duration).unwrap_or(first);
    let cut = Duration::from_secs(violation.at.ceil() as u64 + 1);
    if cut < duration {
        let mut c = best.clone();
        c.timeline.retain(|f| f.at < cut);
        if let Some(x) = t.violation(&c, cut) {
            best = c;
            duration = cut;
            violation = x;
        }
    }
    Shrunk {
        variant: best,
        duration,
        violation,
    }
}

/// `v` with the timeline `fs`.
fn with_timeline(v: &Variant, fs: &[TimedFault]) -> Variant {
    let mut c = v.clone();
    c.timeline = fs.to_vec();
    c
}

/// A smallest sublist of `items` (order kept) that `test` accepts, 1-minimal when the
/// budget allows (ddmin). Tries the empty list first: a case may fail without any fault.
pub fn ddmin<T: Clone>(items: Vec<T>, mut test: impl FnMut(&[T]) -> bool) -> Vec<T> {
    if test(&[]) {
        return Vec::new();
    }
    let mut items = items;
    let mut n = 2usize;
    while items.len() >= 2 {
        let chunk = items.len().div_ceil(n);
        let parts: Vec<Vec<T>> = items.chunks(chunk).map(<[T]>::to_vec).collect();
        let mut reduced = false;
        for p in &parts {
            if test(p) {
                items = p.clone();
                n = 2;
                reduced = true;
                break;
            }
        }
        if !reduced && parts.len() > 2 {
            for k in 0..parts.len() {
                let rest: Vec<T> = parts
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != k)
                    .flat_map(|(_, p)| p.iter().cloned())
                    .collect();
                if test(&rest) {
                    items = rest;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if n >= items.len() {
                break;
            }
            n = (2 * n).min(items.len());
        }
    }
    items
}

/// `v` without node `j`: faults that only concern it go, partitions lose it, indices above
/// it move down.
pub fn without_node(v: &Variant, j: usize) -> Variant {
    let mut c = v.clone();
    c.nodes.remove(j);
    let m = |i: usize| if i > j { i - 1 } else { i };
    c.network.links = v
        .network
        .links
        .iter()
        .filter(|(&(a, b), _)| a != j && b != j)
        .map(|(&(a, b), l)| ((m(a), m(b)), l.clone()))
        .collect();
    c.timeline = v
        .timeline
        .iter()
        .filter_map(|f| {
            let fault = remap(&f.fault, j)?;
            Some(TimedFault { fault, ..f.clone() })
        })
        .collect();
    c
}

/// `f` once node `j` is gone, or `None` when nothing of it is left.
fn remap(f: &Fault, j: usize) -> Option<Fault> {
    let m = |i: usize| if i > j { i - 1 } else { i };
    let one = |i: usize| (i != j).then(|| m(i));
    let list =
        |l: &[usize]| -> Vec<usize> { l.iter().filter(|&&i| i != j).map(|&i| m(i)).collect() };
    Some(match f {
        Fault::Stop(i) => Fault::Stop(one(*i)?),
        Fault::Kill(i) => Fault::Kill(one(*i)?),
        Fault::Restart(i) => Fault::Restart(one(*i)?),
        Fault::LinkDown(i) => Fault::LinkDown(one(*i)?),
        Fault::LinkUp(i) => Fault::LinkUp(one(*i)?),
        Fault::Partition(groups) => {
            let g: Vec<Vec<usize>> = groups
                .iter()
                .map(|g| list(g))
                .filter(|g| !g.is_empty())
                .collect();
            if g.len() < 2 {
                return None;
            }
            Fault::Partition(g)
        }
        Fault::OneWay { from, to } => {
            let (from, to) = (list(from), list(to));
            if from.is_empty() || to.is_empty() {
                return None;
            }
            Fault::OneWay { from, to }
        }
        Fault::Loss {
            rate,
            link: Some((a, b)),
        } => Fault::Loss {
            rate: *rate,
            link: Some((one(*a)?, one(*b)?)),
        },
        Fault::Check {
            node,
            script,
            behaviour,
        } => Fault::Check {
            node: one(*node)?,
            script: script.clone(),
            behaviour: behaviour.clone(),
        },
        Fault::Process {
            node,
            process,
            count,
        } => Fault::Process {
            node: one(*node)?,
            process: process.clone(),
            count: *count,
        },
        Fault::Priority {
            node,
            instance,
            priority,
        } => Fault::Priority {
            node: one(*node)?,
            instance: instance.clone(),
            priority: *priority,
        },
        Fault::Reload { node, config } => Fault::Reload {
            node: one(*node)?,
            config: config.clone(),
        },
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddmin_finds_the_two_items_that_matter() {
        let items: Vec<u32> = (0..20).collect();
        let mut tests = 0;
        let got = ddmin(items, |s| {
            tests += 1;
            s.contains(&3) && s.contains(&17)
        });
        assert_eq!(got, vec![3, 17]);
        assert!(tests < 100, "{tests}");
    }

    #[test]
    fn ddmin_returns_nothing_when_nothing_is_needed() {
        assert!(ddmin(vec![1, 2, 3], |_| true).is_empty());
    }
}

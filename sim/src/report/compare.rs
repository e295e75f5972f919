//! `sim compare A B`: do two traces (`docs/trace.md`) tell the same story?
//!
//! Each side is a trace file, a trace folder (`<node>.jsonl` files, or `<variant>/<node>.jsonl`)
//! or an output folder holding a `trace/` folder. Nodes are named by their file names (the
//! `node` field is not used: the daemon writes its `router_id` there). Per variant and node:
//!
//! - **transitions**: the sequence of `state` lines, as (instance, from, to), must be the same;
//!   each pair's time difference, after aligning the clocks, must be within the tolerance;
//! - **advert bytes**: per instance, the `tx` payloads with consecutive repeats collapsed
//!   (A A A B B A becomes A B A); the common prefix of the two sequences must be equal, so a
//!   side that ran longer or sent more repeats does not disagree by that alone.
//!
//! Clock alignment ([`Align`]): by default none, the times as written. `sim run --trace` and
//! `sim lab` share one clock: the lab starts every daemon at its planned instant of the
//! simulated run (`vrrpd-real --start-at`) and moves each daemon's trace onto it, so any
//! alignment would only hide lateness that is really there. The other alignments are for
//! traces of daemons started by hand (`first`: each world's earliest transition is its zero;
//! `node`, `start`: per node).

use crate::observe::trace::{self, TraceEvent, TraceLine};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How the two clocks are aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Align {
    /// Each world's zero is its earliest `state` line over all nodes of the variant.
    FirstTransition,
    /// Each node's zero is its own first `state` line.
    PerNode,
    /// Each transition is timed from its node's latest daemon start (its last `INIT->` line),
    /// so a daemon that took a few ms longer to start does not shift what follows.
    Start,
    /// The `t` values as written (the default: `sim run` and `sim lab` share one clock).
    #[default]
    None,
}

impl Align {
    /// Parses `first`, `node` or `none`.
    pub fn parse(s: &str) -> Result<Align, String> {
        match s {
            "first" => Ok(Align::FirstTransition),
            "node" => Ok(Align::PerNode),
            "start" => Ok(Align::Start),
            "none" => Ok(Align::None),
            _ => Err(format!(
                "unknown alignment {s:?} (expected first, node, start or none)"
            )),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Align::FirstTransition => {
                "first: each world's time 0 is its earliest state transition (first daemon start)"
            }
            Align::PerNode => "node: each node's time 0 is its own first state transition",
            Align::Start => {
                "start: each transition is timed from its node's latest daemon start (INIT->...)"
            }
            Align::None => "none: times as written",
        }
    }
}

/// One world's traces: variant -> node -> lines (sorted by name).
pub type TraceSet = BTreeMap<String, BTreeMap<String, Vec<TraceLine>>>;

/// The name of the only variant when traces are not grouped by variant.
pub const NO_VARIANT: &str = "-";

fn jsonl_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    v.sort();
    Ok(v)
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_nodes(files: &[PathBuf]) -> Result<BTreeMap<String, Vec<TraceLine>>, String> {
    files
        .iter()
        .map(|f| Ok((stem(f), trace::read(f)?)))
        .collect()
}

/// Loads one side: a file, a trace folder or an output folder with a `trace/` folder.
pub fn load(path: &Path) -> Result<TraceSet, String> {
    let mut set = TraceSet::new();
    if path.is_file() {
        set.insert(NO_VARIANT.into(), read_nodes(&[path.to_path_buf()])?);
        return Ok(set);
    }
    if !path.is_dir() {
        return Err(format!("{}: no such file or folder", path.display()));
    }
    let dir = if path.join("trace").is_dir() {
        path.join("trace")
    } else {
        path.to_path_buf()
    };
    let files = jsonl_files(&dir)?;
    if !files.is_empty() {
        set.insert(NO_VARIANT.into(), read_nodes(&files)?);
        return Ok(set);
    }
    let mut subs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    subs.sort();
    for s in subs {
        let files = jsonl_files(&s)?;
        if !files.is_empty() {
            set.insert(stem(&s), read_nodes(&files)?);
        }
    }
    if set.is_empty() {
        return Err(no_traces(path, &dir));
    }
    Ok(set)
}

/// Why a folder without traces cannot be compared, and how to get traces.
fn no_traces(path: &Path, dir: &Path) -> String {
    if path.join("runs.csv").is_file() {
        // `sim run` writes traces only when asked, into the folder given.
        format!(
            "{}: no .jsonl trace files found: this `sim run` output was written without \
             --trace; run it again with `--trace {}` (e.g. `sim run FILE --out {} --trace {}`)",
            path.display(),
            path.join("trace").display(),
            path.display(),
            path.join("trace").display()
        )
    } else {
        format!(
            "{}: no .jsonl trace files found (looked for <node>.jsonl, <variant>/<node>.jsonl \
             and trace/); `sim run FILE --trace DIR` and `sim lab` write them",
            dir.display()
        )
    }
}

/// Options of a comparison.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Largest accepted time difference of a transition.
    pub tolerance: Duration,
    /// Clock alignment.
    pub align: Align,
    /// Hold only transitions into MASTER (takeovers) to the tolerance; the others' time
    /// differences are printed but do not make the traces disagree.
    pub takeovers_only: bool,
}

/// The result: a printable report and the verdict.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The table and notes, ready to print.
    pub text: String,
    /// Disagreements, one line each (empty: the traces agree).
    pub problems: Vec<String>,
}

impl Report {
    /// Whether the two sides agree.
    pub fn agree(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug)]
struct Transition {
    instance: String,
    from: String,
    to: String,
    t: f64,
}

/// A node's transitions in time order; those of different instances at the same instant in
/// instance-name order (one engine instant has no order a real LAN keeps: two adverts sent
/// together arrive microseconds apart, in either order), one instance's in their own order.
fn transitions(lines: &[TraceLine]) -> Vec<Transition> {
    let mut v: Vec<Transition> = lines
        .iter()
        .filter_map(|l| match &l.event {
            TraceEvent::State {
                instance, from, to, ..
            } => Some(Transition {
                instance: instance.clone(),
                from: from.as_str().to_string(),
                to: to.as_str().to_string(),
                t: l.t,
            }),
            _ => None,
        })
        .collect();
    // Stable: equal (t, instance) keep their order.
    v.sort_by(|a, b| {
        a.t.total_cmp(&b.t)
            .then_with(|| a.instance.cmp(&b.instance))
    });
    v
}

/// Per instance: the `tx` payloads (lower-case hex) with consecutive repeats collapsed.
fn adverts(lines: &[TraceLine]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in lines {
        let TraceEvent::Tx { instance, hex, .. } = &l.event else {
            continue;
        };
        let v = m.entry(instance.clone()).or_default();
        let hex = hex::encode(hex);
        if v.last() != Some(&hex) {
            v.push(hex);
        }
    }
    m
}

fn first_state(lines: &[TraceLine]) -> Option<f64> {
    lines
        .iter()
        .filter(|l| matches!(l.event, TraceEvent::State { .. }))
        .map(|l| l.t)
        .reduce(f64::min)
}

/// Compares two worlds; `names` labels the sides in the report.
pub fn compare(a: &TraceSet, b: &TraceSet, names: (&str, &str), opts: &Options) -> Report {
    let mut r = Report::default();
    let tol = opts.tolerance.as_secs_f64();
    let _ = writeln!(r.text, "A: {}\nB: {}", names.0, names.1);
    let _ = writeln!(
        r.text,
        "tolerance: {} ms{}; clock alignment: {}",
        fmt_ms(tol),
        if opts.takeovers_only {
            " (held: transitions into MASTER only)"
        } else {
            " (held: every transition)"
        },
        opts.align.describe()
    );
    // Variants: by name; one against one pairs whatever the names.
    let pairs: Vec<(String, &String, &String)> = if a.len() == 1 && b.len() == 1 {
        let (ka, kb) = (a.keys().next(), b.keys().next());
        match (ka, kb) {
            (Some(x), Some(y)) if x == y => vec![(x.clone(), x, y)],
            (Some(x), Some(y)) => vec![(format!("{x} / {y}"), x, y)],
            _ => Vec::new(),
        }
    } else {
        a.keys()
            .filter_map(|k| b.get_key_value(k).map(|(kb, _)| (k.clone(), k, kb)))
            .collect()
    };
    for k in a.keys().filter(|k| !b.contains_key(*k)) {
        if a.len() > 1 || b.len() > 1 {
            let _ = writeln!(r.text, "note: variant {k} only in A: not compared");
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        if a.len() > 1 || b.len() > 1 {
            let _ = writeln!(r.text, "note: variant {k} only in B: not compared");
        }
    }
    if pairs.is_empty() {
        r.problems
            .push("no variant in common: nothing compared".to_string());
    }
    for (label, ka, kb) in pairs {
        compare_variant(&mut r, &label, &a[ka], &b[kb], opts);
    }
    if r.agree() {
        let _ = writeln!(
            r.text,
            "AGREE: same transitions, same advert bytes, {} time differences within {} ms",
            if opts.takeovers_only {
                "takeover"
            } else {
                "all"
            },
            fmt_ms(tol)
        );
    } else {
        let _ = writeln!(r.text, "DISAGREE: {} problem(s):", r.problems.len());
        for p in &r.problems {
            let _ = writeln!(r.text, "  - {p}");
        }
    }
    r
}

fn fmt_ms(secs: f64) -> String {
    format!("{:.3}", secs * 1000.0)
}

fn compare_variant(
    r: &mut Report,
    label: &str,
    a: &BTreeMap<String, Vec<TraceLine>>,
    b: &BTreeMap<String, Vec<TraceLine>>,
    opts: &Options,
) {
    let tol = opts.tolerance.as_secs_f64();
    let _ = writeln!(r.text, "\nvariant {label}");
    let world_zero = |m: &BTreeMap<String, Vec<TraceLine>>| {
        m.values()
            .filter_map(|l| first_state(l))
            .reduce(f64::min)
            .unwrap_or(0.0)
    };
    let (za, zb) = (world_zero(a), world_zero(b));
    if opts.align == Align::FirstTransition {
        let _ = writeln!(
            r.text,
            "  time 0: A at t={za:.6} s, B at t={zb:.6} s (B - A offset {} ms)",
            fmt_ms(zb - za)
        );
    }
    // Nodes: by name; one against one pairs whatever the names.
    let pairs: Vec<(String, &String, &String)> = if a.len() == 1 && b.len() == 1 {
        match (a.keys().next(), b.keys().next()) {
            (Some(x), Some(y)) if x == y => vec![(x.clone(), x, y)],
            (Some(x), Some(y)) => vec![(format!("{x}/{y}"), x, y)],
            _ => Vec::new(),
        }
    } else {
        for k in a.keys().filter(|k| !b.contains_key(*k)) {
            r.problems
                .push(format!("{label}: node {k} has a trace in A only"));
        }
        for k in b.keys().filter(|k| !a.contains_key(*k)) {
            r.problems
                .push(format!("{label}: node {k} has a trace in B only"));
        }
        a.keys()
            .filter_map(|k| b.get_key_value(k).map(|(kb, _)| (k.clone(), k, kb)))
            .collect()
    };
    let _ = writeln!(
        r.text,
        "  {:<10} {:>3}  {:<10} {:<22} {:>12} {:>12} {:>10}  verdict",
        "node", "#", "instance", "transition", "A t (s)", "B t (s)", "B-A (ms)"
    );
    let mut maxdiff: f64 = 0.0;
    for (node, ka, kb) in &pairs {
        let (la, lb) = (&a[*ka], &b[*kb]);
        let (oa, ob) = match opts.align {
            Align::FirstTransition => (za, zb),
            Align::PerNode => (
                first_state(la).unwrap_or(0.0),
                first_state(lb).unwrap_or(0.0),
            ),
            Align::None | Align::Start => (0.0, 0.0),
        };
        let (ta, tb) = (transitions(la), transitions(lb));
        let (mut start_a, mut start_b) = (0.0, 0.0);
        for i in 0..ta.len().max(tb.len()) {
            let (x, y) = (ta.get(i), tb.get(i));
            if opts.align == Align::Start {
                if let Some(x) = x.filter(|x| x.from == "INIT") {
                    start_a = x.t;
                }
                if let Some(y) = y.filter(|y| y.from == "INIT") {
                    start_b = y.t;
                }
            }
            let (oa, ob) = (oa + start_a, ob + start_b);
            let what = |t: &Transition| format!("{} {}->{}", t.instance, t.from, t.to);
            match (x, y) {
                (Some(x), Some(y)) => {
                    let same = x.instance == y.instance && x.from == y.from && x.to == y.to;
                    let (ax, by) = (x.t - oa, y.t - ob);
                    let d = by - ax;
                    let verdict = if !same {
                        r.problems.push(format!(
                            "{label}: node {node} transition #{}: A has {} at {ax:.6} s, B has {} at {by:.6} s",
                            i + 1,
                            what(x),
                            what(y)
                        ));
                        "DIFFERENT"
                    } else if d.abs() > tol && opts.takeovers_only && x.to != "MASTER" {
                        "(not held)"
                    } else if d.abs() > tol {
                        r.problems.push(format!(
                            "{label}: node {node} transition #{} ({}): B-A = {} ms, beyond the tolerance of {} ms",
                            i + 1,
                            what(x),
                            fmt_ms(d),
                            fmt_ms(tol)
                        ));
                        "TOO FAR"
                    } else {
                        "ok"
                    };
                    if same {
                        maxdiff = maxdiff.max(d.abs());
                    }
                    let _ = writeln!(
                        r.text,
                        "  {:<10} {:>3}  {:<10} {:<22} {:>12.6} {:>12.6} {:>10}  {verdict}",
                        node,
                        i + 1,
                        x.instance,
                        if same {
                            format!("{}->{}", x.from, x.to)
                        } else {
                            format!("{}->{} | {}->{}", x.from, x.to, y.from, y.to)
                        },
                        ax,
                        by,
                        fmt_ms(d)
                    );
                }
                (Some(t), None) | (None, Some(t)) => {
                    let (side, other, off) = if x.is_some() {
                        ("A", "B", oa)
                    } else {
                        ("B", "A", ob)
                    };
                    r.problems.push(format!(
                        "{label}: node {node} transition #{} ({} at {:.6} s) is in {side} but missing in {other}",
                        i + 1,
                        what(t),
                        t.t - off
                    ));
                    let _ =
                        writeln!(
                        r.text,
                        "  {:<10} {:>3}  {:<10} {:<22} {:>12} {:>12} {:>10}  MISSING in {other}",
                        node,
                        i + 1,
                        t.instance,
                        format!("{}->{}", t.from, t.to),
                        if x.is_some() { format!("{:.6}", t.t - off) } else { "-".into() },
                        if y.is_some() { format!("{:.6}", t.t - off) } else { "-".into() },
                        "-"
                    );
                }
                (None, None) => {}
            }
        }
    }
    let _ = writeln!(
        r.text,
        "  largest time difference of matching transitions: {} ms",
        fmt_ms(maxdiff)
    );
    // Advert bytes.
    for (node, ka, kb) in &pairs {
        let (xa, xb) = (adverts(&a[*ka]), adverts(&b[*kb]));
        let mut instances: Vec<&String> = xa.keys().chain(xb.keys()).collect();
        instances.sort();
        instances.dedup();
        for inst in instances {
            let empty = Vec::new();
            let (pa, pb) = (
                xa.get(inst).unwrap_or(&empty),
                xb.get(inst).unwrap_or(&empty),
            );
            let common = pa.len().min(pb.len());
            let diff = (0..common).find(|&i| pa[i] != pb[i]);
            let verdict = match diff {
                Some(i) => {
                    r.problems.push(format!(
                        "{label}: node {node} instance {inst}: distinct advert #{} differs: A {} vs B {}",
                        i + 1,
                        pa[i],
                        pb[i]
                    ));
                    format!("DIFFERENT at #{}: A {} / B {}", i + 1, pa[i], pb[i])
                }
                None if pa.is_empty() != pb.is_empty() => {
                    let side = if pa.is_empty() { "A" } else { "B" };
                    r.problems.push(format!(
                        "{label}: node {node} instance {inst}: {side} sent no advert at all"
                    ));
                    format!("{side} sent none")
                }
                None => "same".into(),
            };
            let _ = writeln!(
                r.text,
                "  adverts {node} {inst}: {} distinct in A, {} in B, common prefix {common}: {verdict}",
                pa.len(),
                pb.len()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(node: &str, text: &str) -> TraceSet {
        let mut n = BTreeMap::new();
        n.insert(node.to_string(), trace::parse("x", text).unwrap());
        let mut s = TraceSet::new();
        s.insert(NO_VARIANT.into(), n);
        s
    }

    const OPTS: Options = Options {
        tolerance: Duration::from_millis(5),
        align: Align::FirstTransition,
        takeovers_only: false,
    };

    #[test]
    fn repeats_collapse_and_prefix_rule() {
        // Complete schema lines (docs/trace.md); only kind, instance, t and hex matter here.
        let st = |t: u32| {
            format!(
                "{{\"t\":{t},\"kind\":\"state\",\"instance\":\"I\",\"vrid\":1,\"from\":\"INIT\",\"to\":\"BACKUP\",\"reason\":{{\"kind\":\"startup\"}},\"priority\":100}}\n"
            )
        };
        let tx = |t: u32, hex: &str| {
            format!(
                "{{\"t\":{t},\"kind\":\"tx\",\"instance\":\"I\",\"interface\":\"e\",\"src\":\"10.0.0.1\",\"dst\":\"224.0.0.18\",\"ttl\":255,\"hex\":\"{hex}\"}}\n"
            )
        };
        let a = &[st(0), tx(1, "aa"), tx(2, "aa"), tx(3, "bb")].concat();
        let b = &[st(5), tx(6, "aa")].concat();
        let r = compare(&set("n", a), &set("n", b), ("a", "b"), &OPTS);
        assert!(r.agree(), "{}", r.text);
        let c = b.replace("\"aa\"", "\"ab\"");
        let r = compare(&set("n", a), &set("n", &c), ("a", "c"), &OPTS);
        assert!(!r.agree());
        assert!(r.problems[0].contains("differs"), "{:?}", r.problems);
    }

    #[test]
    fn instances_moving_at_one_instant_match_in_either_order() {
        let st = |t: f64, inst: &str, from: &str, to: &str| {
            format!(
                "{{\"t\":{t},\"kind\":\"state\",\"instance\":\"{inst}\",\"vrid\":1,\"from\":\"{from}\",\"to\":\"{to}\",\"reason\":{{\"kind\":\"startup\"}},\"priority\":100}}\n"
            )
        };
        let start = [
            st(0.0, "IN", "INIT", "BACKUP"),
            st(0.0, "OUT", "INIT", "BACKUP"),
        ]
        .concat();
        let a = [
            start.clone(),
            st(3.6, "OUT", "BACKUP", "MASTER"),
            st(3.6, "IN", "BACKUP", "MASTER"),
        ]
        .concat();
        let b = [
            start.clone(),
            st(3.601, "IN", "BACKUP", "MASTER"),
            st(3.601, "OUT", "BACKUP", "MASTER"),
        ]
        .concat();
        let r = compare(&set("n", &a), &set("n", &b), ("a", "b"), &OPTS);
        assert!(r.agree(), "{}", r.text);
        // One after the other (not one instant): the order counts.
        let c = [
            start,
            st(3.601, "OUT", "BACKUP", "MASTER"),
            st(3.602, "IN", "BACKUP", "MASTER"),
        ]
        .concat();
        let r = compare(&set("n", &a), &set("n", &c), ("a", "c"), &OPTS);
        assert!(!r.agree(), "{}", r.text);
    }
}

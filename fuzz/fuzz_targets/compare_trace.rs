//! The trace reader and the comparison of `sim compare` (`vrrp_sim::observe::trace::parse`,
//! `vrrp_sim::report::compare::compare`).
//!
//! Input: JSONL trace text (docs/trace.md; the seeds are traces of the shipped experiments).
//! Lines `#variant NAME` and `#node NAME` start another variant or node of the side being
//! read (a trace folder's `<variant>/<node>.jsonl`); a line `#B` starts the second side.
//!
//! Invariants: nothing panics; a world compared with itself agrees, for every clock
//! alignment, with and without `--takeovers-only`; the verdict does not depend on which
//! side is A.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use vrrp_sim::observe::trace;
use vrrp_sim::report::compare::{self, Align, Options, TraceSet, NO_VARIANT};

/// Reads one side; `None` when a file does not parse (the report would be the error).
fn side(text: &str) -> Option<TraceSet> {
    let mut set = TraceSet::new();
    let (mut variant, mut node) = (NO_VARIANT.to_string(), "n".to_string());
    let mut body = String::new();
    let mut flush = |v: &str, n: &str, body: &mut String| -> Option<()> {
        let lines = trace::parse(n, body).ok()?;
        set.entry(v.to_string())
            .or_default()
            .entry(n.to_string())
            .or_default()
            .extend(lines);
        body.clear();
        Some(())
    };
    for line in text.split_inclusive('\n') {
        if let Some(v) = line.strip_prefix("#variant ") {
            flush(&variant, &node, &mut body)?;
            variant = v.trim().to_string();
        } else if let Some(n) = line.strip_prefix("#node ") {
            flush(&variant, &node, &mut body)?;
            node = n.trim().to_string();
        } else {
            body.push_str(line);
        }
    }
    flush(&variant, &node, &mut body)?;
    Some(set)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a_text, b_text) = match text.split_once("\n#B\n") {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    };
    let a = side(a_text);
    let b = b_text.and_then(side);
    for align in [
        Align::FirstTransition,
        Align::PerNode,
        Align::Start,
        Align::None,
    ] {
        for takeovers_only in [false, true] {
            let opts = Options {
                tolerance: Duration::from_millis(5),
                align,
                takeovers_only,
            };
            if let Some(a) = &a {
                let r = compare::compare(a, a, ("A", "A"), &opts);
                assert!(!r.text.is_empty());
                // An empty world has nothing in common with itself: the one disagreement.
                if !a.is_empty() {
                    assert!(
                        r.agree(),
                        "a trace disagrees with itself ({align:?}): {:?}",
                        r.problems
                    );
                }
            }
            if let (Some(a), Some(b)) = (&a, &b) {
                let ab = compare::compare(a, b, ("A", "B"), &opts);
                let ba = compare::compare(b, a, ("B", "A"), &opts);
                assert_eq!(
                    ab.agree(),
                    ba.agree(),
                    "A vs B is not B vs A: {:?} / {:?}",
                    ab.problems,
                    ba.problems
                );
            }
        }
    }
});

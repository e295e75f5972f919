//! The differential suite (docs/differential.md): each scenario of `scenarios/` runs once with
//! keepalived 2.2.7 and once with vrrpd-real as the nodes under test, side by side on LANs
//! of their own, and the two runs must show a user the same thing (notify lines and their
//! times, adverts and priorities on the wire, gratuitous ARPs, VIPs at the end), save the
//! differences the scenario documents as deliberate.

#[path = "../support/mod.rs"]
mod support;

mod compare;
mod craft;
mod observe;
mod scenario;
mod world;

use std::collections::BTreeSet;
use world::Impl;

/// Runs scenario `name` in both worlds and fails on any undocumented difference, on a
/// documented one that did not occur, or when keepalived's run misses the scenario's point.
fn run_scenario(name: &str) {
    support::assert_root();
    let sc = scenario::load(name);
    let (ka, vr) = support::side_by_side(|keepalived| {
        world::run(
            name,
            &sc,
            if keepalived {
                Impl::Keepalived
            } else {
                Impl::VrrpdReal
            },
        )
    });
    let mut report = format!(
        "scenario {name} ({}): {}\n",
        sc.covers,
        sc.description.trim()
    );
    for (who, run) in [("keepalived", &ka), ("vrrpd-real", &vr)] {
        report += &format!("{who} (files in {}):\n", run.dir.display());
        for (n, o) in &run.nodes {
            report += &format!(
                "  {n}: starts {:.3?} notify {:?}\n      wire {} garps {} vips {:?} alive {}\n",
                o.starts,
                o.notify
                    .iter()
                    .map(|(t, l)| format!("{t:.3} {l}"))
                    .collect::<Vec<_>>(),
                compare::show_runs(o),
                o.garps,
                o.vips,
                o.alive
            );
        }
    }
    println!("{report}");
    let mut problems = Vec::new();
    for e in &sc.expect {
        let got = compare::states(&ka.nodes[&e.node]);
        if got != e.states {
            problems.push(format!(
                "keepalived's run does not show what the scenario is about: node {} states {got:?}, expected {:?}",
                e.node, e.states
            ));
        }
    }
    let diffs = compare::diffs(&sc, &ka.nodes, &vr.nodes);
    let mut used = BTreeSet::new();
    for d in &diffs {
        let known = sc
            .deviation
            .iter()
            .position(|x| x.node == d.node && x.what == d.what);
        match known {
            Some(i) => {
                used.insert(i);
                println!(
                    "documented deviation, node {} {}: {}\n    ({})",
                    d.node, d.what, d.detail, sc.deviation[i].doc
                );
            }
            None => problems.push(format!(
                "node {} differs in {}:\n    {}",
                d.node, d.what, d.detail
            )),
        }
    }
    for (i, x) in sc.deviation.iter().enumerate() {
        if !used.contains(&i) && !x.sometimes {
            problems.push(format!(
                "documented deviation not seen (node {} {}): update the scenario and {}",
                x.node, x.what, x.doc
            ));
        }
    }
    assert!(problems.is_empty(), "{report}\n{}", problems.join("\n"));
    for run in [&ka, &vr] {
        let _ = std::fs::remove_dir_all(&run.dir);
    }
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_scenario(stringify!($name));
            }
        )*
        /// The scenarios with a test above.
        const LISTED: &[&str] = &[$(stringify!($name)),*];
    };
}

scenarios!(
    advert_int_mismatch_v2,
    equal_priorities,
    fault_sends_two_priority_zero,
    foreign_address_list,
    garp_refresh,
    hanging_script,
    init_fail_first_pass,
    last_address_removed,
    nopreempt,
    partition_heal,
    positive_weight_before_first_result,
    preempt_delay_after_fault,
    preempt_delay_startup,
    preempt_delay_state_master,
    priority_255_backup,
    rise_fall,
    sigterm,
    skew_after_priority_rise,
    track_interface,
    tracked_interface_up_at_start,
    unicast_peer_typo,
    v3_interval_learning,
    v3_max_adver_int_zero,
    vip_deleted_by_hand,
);

/// Each file in `scenarios/` has its test, each test its file, and each file reads.
#[test]
fn every_scenario_file_has_a_test() {
    let files: BTreeSet<String> = std::fs::read_dir(scenario::dir())
        .expect("scenario folder")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "toml")
                .then(|| p.file_stem().map(|s| s.to_string_lossy().into_owned()))?
        })
        .collect();
    let listed: BTreeSet<String> = LISTED.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        files, listed,
        "add each scenario file to scenarios!(..) in main.rs"
    );
    for f in &files {
        scenario::load(f);
    }
}

/// Each documented deviation links to a heading of docs/keepalived-differences.md.
#[test]
fn deviations_link_to_entries_of_the_differences_document() {
    let doc_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/keepalived-differences.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap_or_default();
    let anchors: BTreeSet<String> = doc
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| anchor(l.trim_start_matches('#').trim()))
        .collect();
    for name in LISTED {
        for d in &scenario::load(name).deviation {
            let a = d.doc.split_once('#').map(|(_, a)| a).unwrap_or_default();
            assert!(
                anchors.contains(a),
                "{name}: {} is not a heading of {doc_path:?}",
                d.doc
            );
        }
    }
}

/// GitHub's anchor of a heading: lower case, spaces to dashes, other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

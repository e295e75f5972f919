//! Planned against actual instants of every daemon start and every fault the lab carried out
//! (`lab_faults.csv`), each with how its actual instant was measured, and the summary line
//! (the latest of them).

use std::fmt::Write as _;
use std::path::Path;

/// How an actual instant was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measured {
    /// The daemon's first trace line (its engine clock counts from the planned instant, so a
    /// daemon that could not set up in time shows its lateness there).
    FirstEvent,
    /// The daemon's `control` trace line: when its own timer carried out a scheduled action.
    DaemonTimer,
    /// The daemon's `control` trace line for a signal or an immediate control command: when
    /// the daemon handled it.
    DaemonHandled,
    /// `nft` exited: the bridge's new rules were in force by then.
    NftDone,
    /// `SIOCSIFFLAGS` returned: the link had changed by then.
    LinkSet,
    /// The check's flag file was written or removed (the daemon's next check run reads it).
    FlagFile,
    /// SIGKILL sent (the kernel kills at once).
    Sigkill,
    /// SIGTERM sent (keepalived: it has no control socket nor trace to say when it acted).
    Sigterm,
    /// keepalived's first notify-FIFO line after its spawn (it has no `--start-at`).
    NotifyFifo,
    /// Not measured: the daemon was not running, or its trace had no line for it.
    Unknown,
}

impl Measured {
    /// The CSV's words for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Measured::FirstEvent => "daemon trace: first event",
            Measured::DaemonTimer => "daemon trace: control line (its timer)",
            Measured::DaemonHandled => "daemon trace: control line (handled)",
            Measured::NftDone => "nft -i done (rules in force)",
            Measured::LinkSet => "SIOCSIFFLAGS returned (link changed)",
            Measured::FlagFile => "flag file written (read at the next check run)",
            Measured::Sigkill => "SIGKILL sent",
            Measured::Sigterm => "SIGTERM sent",
            Measured::NotifyFifo => "keepalived: first notify-FIFO line",
            Measured::Unknown => "not measured",
        }
    }
}

/// One start or fault: planned and actual instant on the lab clock.
#[derive(Clone, Debug)]
pub struct Timing {
    /// Index in the variant's timeline; `None` for a start from `[[nodes]]`.
    pub index: Option<usize>,
    /// `start`, or the fault's action (`stop`, `partition`, ...).
    pub kind: String,
    /// The node(s) it concerns, space-separated (empty: the whole LAN).
    pub nodes: String,
    /// Planned instant (seconds).
    pub planned: f64,
    /// Actual instant (seconds), if measured.
    pub actual: Option<f64>,
    /// How `actual` was measured.
    pub how: Measured,
}

impl Timing {
    /// How late it was, in ms (negative: early).
    pub fn late_ms(&self) -> Option<f64> {
        self.actual.map(|a| (a - self.planned) * 1e3)
    }
}

/// Writes `lab_faults.csv`: one row per start and fault of every variant.
pub fn write_csv(path: &Path, rows: &[(String, Vec<Timing>)]) -> Result<(), String> {
    let mut s = String::from("variant,index,kind,nodes,planned_s,actual_s,late_ms,measured\n");
    for (variant, timings) in rows {
        for t in timings {
            let _ = writeln!(
                s,
                "{},{},{},{},{:.6},{},{},{}",
                variant,
                t.index.map(|i| i.to_string()).unwrap_or_default(),
                t.kind,
                t.nodes,
                t.planned,
                t.actual.map(|a| format!("{a:.6}")).unwrap_or_default(),
                t.late_ms().map(|l| format!("{l:.3}")).unwrap_or_default(),
                t.how.as_str()
            );
        }
    }
    std::fs::write(path, s).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// One line: how many were measured and the latest of them, e.g. `lab timing: 5 starts and
/// faults measured, latest 0.412 ms late (restart master, planned 40.000 s)`.
pub fn summary(rows: &[(String, Vec<Timing>)]) -> String {
    let all: Vec<(&String, &Timing)> = rows
        .iter()
        .flat_map(|(v, ts)| ts.iter().map(move |t| (v, t)))
        .collect();
    let measured = all.iter().filter(|(_, t)| t.actual.is_some()).count();
    let unmeasured = all.len() - measured;
    let worst = all
        .iter()
        .filter_map(|(v, t)| t.late_ms().map(|l| (l, *v, *t)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let mut s = format!("lab timing: {measured} starts and faults measured");
    if unmeasured > 0 {
        let _ = write!(s, " ({unmeasured} not measured)");
    }
    if let Some((late, v, t)) = worst {
        let _ = write!(
            s,
            ", latest {late:.3} ms late ({} {}{}, planned {:.3} s{})",
            t.kind,
            t.nodes,
            if rows.len() > 1 {
                format!(" in {v}")
            } else {
                String::new()
            },
            t.planned,
            if t.how == Measured::FlagFile || t.how == Measured::Sigkill {
                String::new()
            } else {
                format!(", {}", t.how.as_str())
            }
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(kind: &str, planned: f64, actual: Option<f64>, how: Measured) -> Timing {
        Timing {
            index: Some(0),
            kind: kind.into(),
            nodes: "a".into(),
            planned,
            actual,
            how,
        }
    }

    #[test]
    fn summary_names_the_latest_and_counts_the_unmeasured() {
        let rows = vec![(
            "v".to_string(),
            vec![
                t("start", 0.0, Some(0.0), Measured::FirstEvent),
                t("partition", 20.0, Some(20.0015), Measured::NftDone),
                t("stop", 30.0, None, Measured::Unknown),
            ],
        )];
        let s = summary(&rows);
        assert!(
            s.contains("2 starts and faults measured (1 not measured)"),
            "{s}"
        );
        assert!(
            s.contains("latest 1.500 ms late (partition a, planned 20.000 s"),
            "{s}"
        );
    }
}

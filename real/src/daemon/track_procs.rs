//! `vrrp_track_process`: the daemon counts the running processes that match each tracked
//! process and reports every change of a count to the engine ([`Input::ProcessCount`]),
//! which applies quorum, delays and weights.
//!
//! As keepalived 2.2.7 (`init_track_processes`): subscribe to the process events connector
//! first, then read /proc once, so nothing is missed between; then follow fork, exec, comm
//! and exit events. Where the connector is refused (any network namespace but the initial
//! one, where keepalived counts nothing at all), /proc is scanned every
//! [`procs::SCAN_INTERVAL`] instead. The first counts reach the engine before the
//! interfaces, so instances start with them, as keepalived's do.

use super::driver::Daemon;
use crate::os::procs::{self, ProcEvent, ProcEvents, ProcName};
use std::collections::BTreeMap;
use vrrp_engine::config::TrackProcessConfig;
use vrrp_engine::io::{ProcessChange, TrackProcessId};
use vrrp_engine::Input;

/// How changes are seen.
enum Source {
    Events(ProcEvents),
    Scan(tokio::time::Interval),
}

/// The counted processes and where their changes come from.
pub struct ProcWatch {
    source: Source,
    /// The tracked processes in force: engine id and configuration.
    tracked: Vec<(TrackProcessId, TrackProcessConfig)>,
    /// Every process that matches something: which of `tracked` (by index) it matches.
    counted: BTreeMap<u32, Vec<bool>>,
    counts: Vec<u32>,
}

/// One change of one count, in the order seen.
type Step = (usize, u32, ProcessChange);

impl ProcWatch {
    fn want_cmdline(&self) -> bool {
        self.tracked.iter().any(|(_, t)| t.full_command)
    }

    /// Which tracked processes `p` matches.
    fn matching(&self, p: &ProcName) -> Vec<bool> {
        self.tracked
            .iter()
            .map(|(_, t)| procs::matches(t, p))
            .collect()
    }

    /// `pid` now matches `now` (all false: nothing); each count that moves is a step.
    fn set(&mut self, pid: u32, now: Vec<bool>, change: ProcessChange, steps: &mut Vec<Step>) {
        let before = self
            .counted
            .get(&pid)
            .cloned()
            .unwrap_or_else(|| vec![false; self.tracked.len()]);
        for (k, (&b, &n)) in before.iter().zip(&now).enumerate() {
            if b != n {
                let c = &mut self.counts[k];
                *c = if n { *c + 1 } else { c.saturating_sub(1) };
                steps.push((k, *c, change));
            }
        }
        if now.iter().any(|&m| m) {
            self.counted.insert(pid, now);
        } else {
            self.counted.remove(&pid);
        }
    }

    /// Counts every process afresh (start, reload); every count is a step.
    fn rescan(&mut self) -> Vec<Step> {
        let all = procs::scan(self.want_cmdline());
        self.counted.clear();
        self.counts = vec![0; self.tracked.len()];
        for (pid, p) in &all {
            let m = self.matching(p);
            for (c, &hit) in self.counts.iter_mut().zip(&m) {
                *c += u32::from(hit);
            }
            if m.iter().any(|&x| x) {
                self.counted.insert(*pid, m);
            }
        }
        (0..self.tracked.len())
            .map(|k| (k, self.counts[k], ProcessChange::Other))
            .collect()
    }

    /// A scan compared with what is counted: exits, then forks of counted processes and
    /// other new or renamed processes.
    fn diff_scan(&mut self) -> Vec<Step> {
        let all = procs::scan(self.want_cmdline());
        self.diff(&all)
    }

    /// [`ProcWatch::diff_scan`] against the processes `all`.
    fn diff(&mut self, all: &BTreeMap<u32, ProcName>) -> Vec<Step> {
        let mut steps = Vec::new();
        let gone: Vec<u32> = self
            .counted
            .keys()
            .filter(|p| !all.contains_key(p))
            .copied()
            .collect();
        let none = vec![false; self.tracked.len()];
        for pid in gone {
            self.set(pid, none.clone(), ProcessChange::Exit, &mut steps);
        }
        for (pid, p) in all {
            let m = self.matching(p);
            let before = self.counted.get(pid);
            if before == Some(&m) || (before.is_none() && !m.iter().any(|&x| x)) {
                continue;
            }
            // A new process whose parent is counted for the same tracked process forked
            // from it (keepalived's fork event); anything else is an exec or a rename.
            let parent = self.counted.get(&p.ppid).cloned();
            if before.is_none() {
                if let Some(par) = parent {
                    let forked: Vec<bool> = m.iter().zip(&par).map(|(&a, &b)| a && b).collect();
                    if forked.iter().any(|&x| x) {
                        self.set(*pid, forked, ProcessChange::Fork, &mut steps);
                    }
                }
            }
            self.set(*pid, m, ProcessChange::Other, &mut steps);
        }
        steps
    }

    /// Connector events, as keepalived's `check_process_fork`, `check_process`,
    /// `check_process_comm_change` and `check_process_termination` take them.
    fn apply_events(&mut self, events: Vec<ProcEvent>) -> Vec<Step> {
        let mut steps = Vec::new();
        let none = vec![false; self.tracked.len()];
        let want_cmdline = self.want_cmdline();
        for ev in events {
            match ev {
                ProcEvent::Fork { parent, child } => {
                    if self.counted.contains_key(&child) {
                        continue;
                    }
                    if let Some(par) = self.counted.get(&parent).cloned() {
                        self.set(child, par, ProcessChange::Fork, &mut steps);
                    }
                }
                ProcEvent::Exec(pid) => {
                    let m = procs::read_name(pid, want_cmdline)
                        .map_or_else(|| none.clone(), |p| self.matching(&p));
                    self.set(pid, m, ProcessChange::Other, &mut steps);
                }
                ProcEvent::Comm(pid) => {
                    // A new comm says nothing of the command line: those matches stay.
                    let Some(p) = procs::read_name(pid, false) else {
                        continue;
                    };
                    let before = self.counted.get(&pid).cloned().unwrap_or(none.clone());
                    let m: Vec<bool> = self
                        .tracked
                        .iter()
                        .zip(&before)
                        .map(|((_, t), &b)| {
                            if t.full_command {
                                b
                            } else {
                                p.comm == t.process
                            }
                        })
                        .collect();
                    self.set(pid, m, ProcessChange::Other, &mut steps);
                }
                ProcEvent::Exit(pid) => {
                    if self.counted.contains_key(&pid) {
                        self.set(pid, none.clone(), ProcessChange::Exit, &mut steps);
                    }
                }
            }
        }
        steps
    }

    /// The next batch of changes (waits for them).
    pub async fn next(&mut self) -> Vec<Step> {
        loop {
            let steps = match &mut self.source {
                Source::Events(ev) => match ev.next().await {
                    Ok(events) => self.apply_events(events),
                    Err(e) => {
                        // Lost events (ENOBUFS): count again, as keepalived's
                        // `reinitialise_track_processes` does.
                        tracing::warn!("process events: {e}: reading /proc again");
                        self.diff_scan()
                    }
                },
                Source::Scan(tick) => {
                    tick.tick().await;
                    self.diff_scan()
                }
            };
            if !steps.is_empty() {
                return steps;
            }
        }
    }
}

impl Daemon {
    /// At start and after a reload: take the tracked processes in force, count them, and
    /// report every count. The connector is opened once, at the first call.
    pub(super) fn setup_track_procs(&mut self) {
        let tracked: Vec<(TrackProcessId, TrackProcessConfig)> = self
            .engine
            .track_processes()
            .map(|(id, c)| (id, c.clone()))
            .collect();
        if tracked.is_empty() {
            self.proc_watch = None;
            return;
        }
        let mut watch = match self.proc_watch.take() {
            Some(w) => w,
            None => {
                let source = match ProcEvents::open() {
                    Ok(ev) => {
                        tracing::info!("vrrp_track_process: following process events");
                        Source::Events(ev)
                    }
                    Err(e) => {
                        tracing::info!(
                            "vrrp_track_process: process events unavailable ({e}; keepalived \
                             2.2.7 tracks no process here): scanning /proc every {} ms",
                            procs::SCAN_INTERVAL.as_millis()
                        );
                        let mut tick = tokio::time::interval(procs::SCAN_INTERVAL);
                        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        Source::Scan(tick)
                    }
                };
                ProcWatch {
                    source,
                    tracked: Vec::new(),
                    counted: BTreeMap::new(),
                    counts: Vec::new(),
                }
            }
        };
        watch.tracked = tracked;
        let steps = watch.rescan();
        self.proc_watch = Some(watch);
        self.report_steps(steps);
    }

    /// Hands each change of a count to the engine, timed when it was seen.
    pub(super) fn report_steps(&mut self, steps: Vec<Step>) {
        let Some(w) = &self.proc_watch else {
            return;
        };
        let named: Vec<(TrackProcessId, String, u32, ProcessChange)> = steps
            .into_iter()
            .map(|(k, count, change)| (w.tracked[k].0, w.tracked[k].1.name.clone(), count, change))
            .collect();
        for (process, name, count, change) in named {
            tracing::info!("vrrp_track_process {name}: {count} running ({change:?})");
            let now = self.timers_then_now();
            self.engine.handle(
                now,
                Input::ProcessCount {
                    process,
                    count,
                    change,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(ppid: u32, comm: &str) -> ProcName {
        ProcName {
            ppid,
            comm: comm.into(),
            cmdline: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_scan_tells_forks_exits_and_renames_apart() {
        let mut w = ProcWatch {
            source: Source::Scan(tokio::time::interval(procs::SCAN_INTERVAL)),
            tracked: vec![(TrackProcessId(0), TrackProcessConfig::new("web", "nginx"))],
            counted: BTreeMap::new(),
            counts: vec![0],
        };
        let mut all = BTreeMap::from([(1, proc(0, "init")), (10, proc(1, "nginx"))]);
        // Started by something not counted: an exec.
        assert_eq!(w.diff(&all), vec![(0, 1, ProcessChange::Other)]);
        // The counted nginx forks a worker.
        all.insert(11, proc(10, "nginx"));
        assert_eq!(w.diff(&all), vec![(0, 2, ProcessChange::Fork)]);
        // Nothing changed: nothing reported.
        assert_eq!(w.diff(&all), vec![]);
        // The worker renames itself; the master exits.
        all.insert(11, proc(10, "worker"));
        all.remove(&10);
        assert_eq!(
            w.diff(&all),
            vec![(0, 1, ProcessChange::Exit), (0, 0, ProcessChange::Other)]
        );
    }
}

//! One health checker at run time: when it probes next, what one result means, and the
//! retry bookkeeping, rule by rule from keepalived 2.2.7:
//! - `TCP_CHECK` (`tcp_epilog`): a failure is retried `retry` times, `delay_before_retry`
//!   apart; the last failing try takes the server down; one success brings it back. The next
//!   probe is timed from the end of this one.
//! - `HTTP_GET` / `SSL_GET` (`epilog`, `timeout_epilog`): each `url` in turn; a failing URL
//!   is retried until `retry_it > retry`; once down, the failed URL is probed every
//!   `max(delay_before_retry, delay_loop)` and, when it passes, every URL must pass again
//!   (`delay_loop` apart) before the server is up; `fast_recovery` skips the waits while no
//!   failure is known. Timed from the end of the probe.
//! - `MISC_CHECK` (`misc_check_child_thread`): exit 0 is up, with `misc_dynamic` 2..=255 is
//!   up with weight status - 2, anything else (or a kill at `misc_timeout`) is a failure,
//!   retried `retry` times. Timed from the start of the script.
//!
//! At start-up a checker begins after 1 s plus a random part of `warmup`
//! (`register_checkers_thread`), and its retry counter starts exhausted, so the very first
//! failure counts (`validate_check_config`).

use super::plan::{CheckerKind, CheckerPlan};
use super::pool::{CheckerFlags, VsState};
use super::probe::{Probe, ProbeResult};
use crate::io::Output;
use crate::snapshot::ProbeRecord;
use crate::time::Instant;
use core::time::Duration;
use std::collections::VecDeque;

/// keepalived's `BOOTSTRAP_DELAY`: checkers start 1 s after the checker process.
pub(crate) const BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);

/// A checker at run time.
#[derive(Clone, Debug)]
pub(crate) struct Checker {
    pub plan: CheckerPlan,
    /// Index of its virtual server, and of its real server there.
    pub vs: usize,
    pub rs: usize,
    pub flags: CheckerFlags,
    retry_it: u32,
    /// HTTP: the URL being checked (`None`: past the last one).
    url_it: Option<usize>,
    /// HTTP: the URL that failed, while the server is down because of it.
    failed_url: Option<usize>,
    /// MISC: the exit status last acted on, and the weight it added.
    last_exit: u8,
    cur_weight: i64,
    /// When the probe in flight started.
    started: Instant,
    /// Sequence number of the probe in flight (results for others are stale).
    pub seq: u64,
    pub in_flight: bool,
    /// When the next probe is due, if one is scheduled.
    pub next: Option<Instant>,
    /// The last probe that ended, and the counts of passes and failures (for metrics).
    pub last_probe: Option<ProbeRecord>,
    pub probes_passed: u64,
    pub probes_failed: u64,
}

impl Checker {
    /// A checker of real server `rs` of virtual server `vs`, first probing at `first`. At
    /// start-up an alpha checker starts failed and the first failure counts at once; after a
    /// reload a checker starts up with fresh retries until [`Checker::migrate`] says
    /// otherwise (`validate_check_config` with `reload`).
    pub fn new(plan: CheckerPlan, vs: usize, rs: usize, first: Instant, reload: bool) -> Checker {
        let plan_alpha = plan.alpha;
        let alpha = plan_alpha && !reload;
        Checker {
            retry_it: if reload { 0 } else { plan.retry },
            plan,
            vs,
            rs,
            flags: CheckerFlags {
                is_up: !alpha,
                has_run: false,
                alpha: plan_alpha,
            },
            url_it: Some(0),
            failed_url: None,
            last_exit: 0,
            cur_weight: 0,
            started: first,
            seq: 0,
            in_flight: false,
            next: Some(first),
            last_probe: None,
            probes_passed: 0,
            probes_failed: 0,
        }
    }

    /// The first probe's time: 1 s, plus `warmup` scaled by `fraction` in [0, 1].
    pub fn first_at(now: Instant, warmup: Duration, fraction: f64) -> Instant {
        now + BOOTSTRAP_DELAY + warmup.mul_f64(fraction)
    }

    /// Takes over the state of the checker it replaces on a reload (`migrate_checkers`):
    /// up or down, whether it has run, and the retries already spent (capped so one more
    /// failure still counts).
    pub fn migrate(&mut self, old: &Checker) {
        if old.flags.has_run {
            self.flags.is_up = old.flags.is_up;
        }
        self.flags.has_run = old.flags.has_run;
        if old.retry_it > 0 && self.plan.retry > 0 {
            self.retry_it = old.retry_it.min(self.plan.retry - 1);
        }
        // The record of its probes carries over too (counters do not reset on a reload).
        self.last_probe = old.last_probe;
        self.probes_passed = old.probes_passed;
        self.probes_failed = old.probes_failed;
    }

    /// keepalived's keyword for the checker.
    pub fn kind_name(&self) -> &'static str {
        match &self.plan.kind {
            CheckerKind::Tcp(_) => "TCP_CHECK",
            CheckerKind::Http { tls: false, .. } => "HTTP_GET",
            CheckerKind::Http { tls: true, .. } => "SSL_GET",
            CheckerKind::Misc { .. } => "MISC_CHECK",
        }
    }

    /// Whether one probe's result passes, before `retry` counts it: a connection; the URL's
    /// status and digest; exit 0 (or 2..=255 with `misc_dynamic`). A probe that could not
    /// run is `None` (a MISC script that cannot exec counts as exit 0, as in keepalived).
    fn passes(&self, r: &ProbeResult) -> Option<bool> {
        match (&self.plan.kind, r) {
            (CheckerKind::Misc { .. }, ProbeResult::NotRun) => Some(true),
            (_, ProbeResult::NotRun) => None,
            (CheckerKind::Tcp(_), r) => Some(matches!(r, ProbeResult::Connected)),
            (CheckerKind::Http { urls, .. }, r) => Some(self.http_ok(urls, r)),
            (CheckerKind::Misc { dynamic, .. }, ProbeResult::Exit(status)) => {
                Some(*status == 0 || (*dynamic && *status >= 2))
            }
            (CheckerKind::Misc { .. }, _) => Some(false),
        }
    }

    /// Whether an HTTP result passes the URL being checked.
    fn http_ok(&self, urls: &[super::plan::UrlPlan], r: &ProbeResult) -> bool {
        let url = &urls[self.url_it.unwrap_or(0).min(urls.len() - 1)].url;
        match r {
            ProbeResult::Http {
                status, body_md5, ..
            } => url.accepts(*status) && url.digest.is_none_or(|d| d == *body_md5),
            _ => false,
        }
    }

    /// A checker of a kept real server that no old checker continues, when another of the
    /// server's checkers fails (or none has run and the server is out): alpha ones start
    /// failed, and one failure is enough.
    pub fn start_pessimistic(&mut self) {
        if !self.flags.has_run {
            if self.flags.alpha {
                self.flags.is_up = false;
            }
            self.retry_it = self.plan.retry;
        }
    }

    /// The kind of probe, to match a checker across a reload (keepalived's `compare`).
    pub fn same_kind(&self, other: &Checker) -> bool {
        self.plan.kind == other.plan.kind
    }

    /// Starts the due probe at `now` under sequence number `seq`: what to ask the driver.
    pub fn start(&mut self, now: Instant, seq: u64) -> Probe {
        self.seq = seq;
        self.in_flight = true;
        self.next = None;
        self.started = now;
        match &self.plan.kind {
            CheckerKind::Tcp(c) => Probe::Tcp { connect: c.clone() },
            CheckerKind::Http {
                connect,
                tls,
                urls,
                version,
                ..
            } => {
                let u = &urls[self.url_it.unwrap_or(0).min(urls.len() - 1)];
                Probe::Http {
                    connect: connect.clone(),
                    tls: *tls,
                    sni: u.sni.clone(),
                    path: u.url.path.clone(),
                    host: u.host.clone(),
                    version: *version,
                }
            }
            CheckerKind::Misc {
                command,
                timeout,
                user,
                ..
            } => Probe::Misc {
                command: command.clone(),
                timeout: *timeout,
                user: user.clone(),
            },
        }
    }

    /// Takes the result of the probe in flight at `now`: the verdicts go to `vs`, and the
    /// next probe is scheduled.
    pub fn finish(
        &mut self,
        now: Instant,
        result: &ProbeResult,
        vs: &mut VsState,
        out: &mut VecDeque<Output>,
    ) {
        self.in_flight = false;
        if let Some(passed) = self.passes(result) {
            self.last_probe = Some(ProbeRecord {
                started: self.started,
                ended: now,
                passed,
            });
            if passed {
                self.probes_passed += 1;
            } else {
                self.probes_failed += 1;
            }
        }
        if *result == ProbeResult::NotRun {
            if let CheckerKind::Misc { .. } = self.plan.kind {
                // keepalived's script child that cannot exec exits 0: a pass.
                let delay = self.misc(&ProbeResult::Exit(0), vs, out);
                self.next = Some((self.started + delay).max(now + Duration::from_micros(1)));
            } else {
                // "bind failed. Rescheduling": no verdict, no retry, delay_loop later.
                self.next = Some(now + self.plan.delay_loop);
            }
            return;
        }
        let next = match &self.plan.kind {
            CheckerKind::Tcp(_) => now + self.tcp(result, vs, out),
            CheckerKind::Http { .. } => now + self.http(result, vs, out),
            CheckerKind::Misc { .. } => {
                let delay = self.misc(result, vs, out);
                // Timed from the script's start; at least 1 µs from now.
                (self.started + delay).max(now + Duration::from_micros(1))
            }
        };
        self.next = Some(next);
    }

    fn verdict(&mut self, vs: &mut VsState, alive: bool, out: &mut VecDeque<Output>) {
        vs.checker_verdict(self.rs, &mut self.flags, alive, out);
    }

    /// A TCP or HTTP verdict and its mail, sent only if the checker itself changed
    /// (keepalived's `checker_was_up`): `body` is the mail's text.
    fn verdict_mailed(
        &mut self,
        vs: &mut VsState,
        alive: bool,
        body: &str,
        out: &mut VecDeque<Output>,
    ) {
        let checker_was_up = self.flags.is_up;
        let rs_was_alive = vs.real_servers[self.rs].alive;
        self.verdict(vs, alive, out);
        if checker_was_up != alive {
            vs.checker_mail(self.rs, rs_was_alive, body, out);
        }
    }

    /// `tcp_epilog`.
    fn tcp(&mut self, r: &ProbeResult, vs: &mut VsState, out: &mut VecDeque<Output>) -> Duration {
        let ok = matches!(r, ProbeResult::Connected);
        let p = &self.plan;
        let delay;
        if ok || self.retry_it >= p.retry {
            delay = p.delay_loop;
            self.retry_it = 0;
            let f = self.flags;
            if ok && (!f.is_up || !f.has_run) {
                self.verdict_mailed(vs, true, "=> TCP CHECK succeed on service <=", out);
            } else if !ok && (f.is_up || !f.has_run) {
                self.verdict_mailed(vs, false, "=> TCP CHECK failed on service <=", out);
            }
        } else {
            delay = p.delay_before_retry;
            self.retry_it += 1;
        }
        self.flags.has_run = true;
        delay
    }

    /// `http_handle_response` / `timeout_epilog` / `epilog`.
    fn http(&mut self, r: &ProbeResult, vs: &mut VsState, out: &mut VecDeque<Output>) -> Duration {
        let CheckerKind::Http {
            urls,
            fast_recovery,
            ..
        } = &self.plan.kind
        else {
            unreachable!("an HTTP checker")
        };
        let n_urls = urls.len();
        let fast_recovery = *fast_recovery;
        let ok = self.http_ok(urls, r);
        #[derive(PartialEq)]
        enum Method {
            New,
            Retry,
            Failed,
        }
        let method = if ok {
            Method::New
        } else if self.flags.is_up || !self.flags.has_run {
            self.flags.has_run = true;
            Method::Retry
        } else {
            Method::Failed
        };
        match method {
            Method::New => {
                self.url_it = self.url_it.map(|u| u + 1).filter(|&u| u < n_urls);
                self.retry_it = 0;
            }
            Method::Retry => self.retry_it += 1,
            Method::Failed => {}
        }
        if method == Method::New && self.url_it.is_none() && self.failed_url.is_none() {
            // Every URL passed.
            if !self.flags.is_up || !self.flags.has_run {
                self.verdict_mailed(vs, true, "=> CHECK succeed on service <=", out);
                self.flags.has_run = true;
            }
            self.url_it = Some(0);
            self.retry_it = 0;
        } else if method == Method::Retry && self.retry_it > self.plan.retry {
            if self.flags.is_up || !self.flags.has_run {
                let body = "=> CHECK failed on service : HTTP request failed <=";
                self.verdict_mailed(vs, false, body, out);
            }
            self.failed_url = self.url_it;
        } else if method == Method::New && self.failed_url.is_some() {
            // The failed URL passes again: check them all from the first.
            self.failed_url = None;
            self.url_it = Some(0);
            self.retry_it = 0;
        }
        let p = &self.plan;
        let delay = if method == Method::New {
            if !self.flags.has_run {
                self.retry_it = p.retry;
            }
            p.delay_loop
        } else if self.failed_url.is_some() {
            p.delay_before_retry.max(p.delay_loop)
        } else {
            p.delay_before_retry
        };
        if fast_recovery
            && (!self.flags.has_run || (!self.flags.is_up && self.failed_url.is_none()))
        {
            return Duration::ZERO;
        }
        delay
    }

    /// `misc_check_child_thread`.
    fn misc(&mut self, r: &ProbeResult, vs: &mut VsState, out: &mut VecDeque<Output>) -> Duration {
        let CheckerKind::Misc { dynamic, .. } = &self.plan.kind else {
            unreachable!("a MISC checker")
        };
        let dynamic = *dynamic;
        let f = self.flags;
        let mut verdict = None;
        match r {
            ProbeResult::Exit(status) if *status == 0 || (dynamic && *status >= 2) => {
                if *status != self.last_exit {
                    let rs = &vs.real_servers[self.rs];
                    let mut eff = rs.effective - self.cur_weight;
                    self.cur_weight = if *status > 0 {
                        i64::from(*status) - 2 - rs.iweight
                    } else {
                        0
                    };
                    eff += self.cur_weight;
                    vs.set_weight(self.rs, eff, out);
                    self.last_exit = *status;
                }
                if !f.is_up || !f.has_run {
                    verdict = Some(true);
                }
                self.retry_it = 0;
            }
            _ if f.is_up || !f.has_run => {
                if self.retry_it < self.plan.retry {
                    self.retry_it += 1;
                } else {
                    self.retry_it = 0;
                    if let ProbeResult::Exit(status) = r {
                        vs.real_servers[self.rs].effective -= self.cur_weight;
                        self.cur_weight = 0;
                        self.last_exit = *status;
                    }
                    verdict = Some(false);
                }
            }
            _ => {}
        }
        if let Some(alive) = verdict {
            let rs_was_alive = vs.real_servers[self.rs].alive;
            self.verdict(vs, alive, out);
            if !alive {
                self.cur_weight = 0;
            }
            // Mailed whether or not the checker changed (no `checker_was_up` here), so
            // also on the first result after start.
            let how = match r {
                _ if alive => "succeeded",
                ProbeResult::Killed => "timed out",
                _ => "failed",
            };
            let body = format!("=> MISC CHECK {how} on service <=");
            vs.checker_mail(self.rs, rs_was_alive, &body, out);
        }
        self.flags.has_run = true;
        if self.retry_it > 0 {
            self.plan.delay_before_retry
        } else {
            self.plan.delay_loop
        }
    }
}

//! Scheduling of gratuitous ARPs / unsolicited NAs while Master.
//!
//! keepalived's defaults: `garp_master_repeat` (5) announcements per VIP on becoming Master,
//! the same again `garp_master_delay` (5 s) later, optionally `garp_master_refresh_repeat`
//! every `garp_master_refresh`; and `garp_lower_prio_repeat` (5) at once and again
//! `garp_lower_prio_delay` (5 s) later each time a lower-priority advert is heard. Announcements of one burst are spaced by `vrrp_garp_interval`
//! (IPv4) or `vrrp_gna_interval` (IPv6), default 0: all at once.

use crate::config::GarpConfig;
use crate::time::Instant;
use core::time::Duration;

/// One burst: `rounds` rounds of one announcement per VIP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Burst {
    at: Instant,
    rounds: u32,
}

/// The pending announcements of one instance.
#[derive(Clone, Debug, Default)]
pub(crate) struct AnnouncePlan {
    bursts: Vec<Burst>,
    refresh_at: Option<Instant>,
}

impl AnnouncePlan {
    /// Plan the announcements of a new Master at `now`.
    pub fn start(&mut self, now: Instant, garp: &GarpConfig) {
        self.bursts.clear();
        if garp.master_repeat > 0 {
            self.bursts.push(Burst {
                at: now,
                rounds: garp.master_repeat,
            });
            if garp.master_delay > Duration::ZERO {
                self.bursts.push(Burst {
                    at: now + garp.master_delay,
                    rounds: garp.master_repeat,
                });
            }
        }
        self.refresh_at = garp
            .master_refresh
            .filter(|d| !d.is_zero())
            .map(|d| now + d);
    }

    /// A Master heard a lower-priority advert at `now` (keepalived's `vrrp_state_master_rx`):
    /// `garp_lower_prio_repeat` rounds at once and again `garp_lower_prio_delay` later, so
    /// that hosts the other router's announcements moved come back.
    pub fn lower_priority_heard(&mut self, now: Instant, garp: &GarpConfig) {
        if garp.lower_prio_repeat == 0 {
            return;
        }
        self.bursts.push(Burst {
            at: now,
            rounds: garp.lower_prio_repeat,
        });
        if garp.lower_prio_delay > Duration::ZERO {
            self.bursts.push(Burst {
                at: now + garp.lower_prio_delay,
                rounds: garp.lower_prio_repeat,
            });
        }
    }

    /// Restart the refresh period from `now` (a reload that added VIPs announced them all).
    pub fn restart_refresh(&mut self, now: Instant, garp: &GarpConfig) {
        self.refresh_at = garp
            .master_refresh
            .filter(|d| !d.is_zero())
            .map(|d| now + d);
    }

    /// Forget everything (leaving Master).
    pub fn stop(&mut self) {
        self.bursts.clear();
        self.refresh_at = None;
    }

    /// When something is next due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.bursts
            .iter()
            .map(|b| b.at)
            .chain(self.refresh_at)
            .min()
    }

    /// Rounds due at `now` (each round = one announcement per VIP), rescheduling what remains.
    pub fn take_due(&mut self, now: Instant, garp: &GarpConfig, spacing: Duration) -> u32 {
        let mut rounds = 0;
        let mut remaining = Vec::with_capacity(self.bursts.len());
        for b in self.bursts.drain(..) {
            if b.at > now {
                remaining.push(b);
            } else if spacing.is_zero() {
                rounds += b.rounds;
            } else {
                rounds += 1;
                if b.rounds > 1 {
                    remaining.push(Burst {
                        at: b.at + spacing,
                        rounds: b.rounds - 1,
                    });
                }
            }
        }
        self.bursts = remaining;
        if let (Some(at), Some(every)) = (self.refresh_at, garp.master_refresh) {
            if at <= now {
                rounds += garp.master_refresh_repeat.max(1);
                let mut next = at + every;
                if next <= now {
                    next = now + every;
                }
                self.refresh_at = Some(next);
            }
        }
        rounds
    }
}

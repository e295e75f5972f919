//! Receive coalescing: while no instance is Master ([`vrrp_engine::Engine::rx_may_wait`])
//! and adverts come in faster than one per window (`--rx-coalesce`), the VRRP sockets are
//! parked out of the reactor and read on the timer once per window, every advert with its
//! kernel receive time; a priority-0 advert rings the doorbell ([`crate::os::doorbell`]) and
//! is read at once. Nothing the engine decides moves: a Backup's advert counts from its
//! arrival time, queued adverts are read before any timer runs, and a Master's are never
//! held. What moves is when the daemon runs: a Backup of 255 instances at 10 ms woke about
//! 12,000 times a second, once per one or two adverts (BENCHMARKS.md).
//!
//! The hold starts when a socket wakes the daemon less than a window after the last socket
//! wake-up, goes on while each timed read finds adverts, and ends when one finds none, when
//! an instance becomes Master, or when a doorbell fails.

use super::driver::Daemon;
use crate::os::doorbell::Doorbell;
use crate::os::timer;

impl Daemon {
    /// After a VRRP socket woke the loop: starts a hold if wake-ups come faster than the
    /// window and no adverts are urgent.
    pub(super) fn rx_hold_after_wake(&mut self) {
        let now = timer::monotonic();
        let window = self.opts.rx_coalesce;
        let fast = now.saturating_sub(self.last_rx_wake) < window;
        self.last_rx_wake = now;
        if fast && self.rx_hold.is_none() && self.engine.rx_may_wait() {
            self.start_rx_hold(now + window);
        }
    }

    /// After a timer wake-up that read `read` queued adverts: a hold whose window has ended
    /// goes on for another window if adverts were waiting, and ends if none were.
    pub(super) fn rx_hold_after_timer(&mut self, read: usize) {
        let Some(until) = self.rx_hold else { return };
        let now = timer::monotonic();
        if now < until {
            return;
        }
        if read > 0 && self.engine.rx_may_wait() {
            self.rx_hold = Some(now + self.opts.rx_coalesce);
        } else {
            self.end_rx_hold();
        }
    }

    /// Before the loop waits: ends the hold as soon as an instance is Master (its adverts
    /// are urgent again).
    pub(super) fn keep_or_end_rx_hold(&mut self) {
        if self.rx_hold.is_some() && !self.engine.rx_may_wait() {
            self.end_rx_hold();
        }
    }

    /// Parks every VRRP socket until `until`, with its doorbell listening. Without a
    /// doorbell (it could not be opened) there is no hold.
    fn start_rx_hold(&mut self, until: std::time::Duration) {
        for s in &mut self.socks {
            if s.bell.is_none() {
                match Doorbell::open(&s.ifname, s.sock.ifindex, s.family) {
                    Ok(bell) => s.bell = Some(bell),
                    Err(e) => {
                        tracing::warn!(
                            "cannot open the {:?} doorbell on {}: {e}; receive coalescing off",
                            s.family,
                            s.ifname
                        );
                        self.opts.rx_coalesce = std::time::Duration::ZERO;
                        return;
                    }
                }
            }
        }
        for s in &mut self.socks {
            s.sock.park();
        }
        self.rx_hold = Some(until);
        tracing::debug!(
            "receive coalescing on: no instance is Master, VRRP sockets read every {:?}",
            self.opts.rx_coalesce
        );
    }

    /// Puts every parked VRRP socket back in the reactor (which reports at once any datagram
    /// queued meanwhile).
    pub(super) fn end_rx_hold(&mut self) {
        self.rx_hold = None;
        tracing::debug!("receive coalescing off");
        for s in &mut self.socks {
            if let Err(e) = s.sock.unpark() {
                // Still parked: read on the next timer wake-up only. Keep trying each turn.
                tracing::error!("cannot watch the VRRP socket on {} again: {e}", s.ifname);
                self.rx_hold = Some(timer::monotonic() + self.opts.rx_coalesce.max(MIN_RETRY));
            }
        }
    }
}

/// How soon to retry putting a socket back in the reactor after a failure.
const MIN_RETRY: std::time::Duration = std::time::Duration::from_millis(1);

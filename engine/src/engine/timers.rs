//! The engine's deadline structure: one min-heap of (deadline, timer) for every instance,
//! script and the start-up delay, so [`crate::Engine::poll_timeout`] is O(1) and a wake-up
//! costs O(log n) per timer that is due, whatever the number of instances.
//!
//! Entries are never removed in place: re-arming pushes a new entry and the old one goes
//! stale. An entry is live only while its owner still holds that exact deadline (the
//! engine's `armed` bookkeeping); stale heads are dropped after every mutation, and the heap
//! is rebuilt when stale entries outnumber live ones, so its size stays O(live timers).

use crate::time::Instant;
use core::cmp::Reverse;
use std::collections::BinaryHeap;

/// What a deadline belongs to. At equal deadlines the start-up runs first, then scripts (in
/// id order), then process delays, then instances (in id order): the order a scan in configuration order gave;
/// real-server checkers come last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerKey {
    /// `vrrp_startup_delay` has passed: start the instances that wait for it.
    Startup,
    /// A `vrrp_script` is due to run.
    Script(u32),
    /// A `vrrp_track_process`'s `fork_delay` or `terminate_delay` ends.
    Process(u32),
    /// An instance's earliest timer (Adver_Timer, Master_Down_Timer, announcements).
    Instance(u32),
    /// A real-server checker's next probe.
    Checker(u32),
}

/// A min-heap of deadlines with lazy deletion.
#[derive(Clone, Debug, Default)]
pub(crate) struct Deadlines {
    heap: BinaryHeap<Reverse<(Instant, TimerKey)>>,
}

impl Deadlines {
    /// Adds a deadline; whatever the key held before goes stale.
    pub fn push(&mut self, at: Instant, key: TimerKey) {
        self.heap.push(Reverse((at, key)));
    }

    /// Moves `key` from deadline `old` to `new` (`None`: no deadline). When `old` is the
    /// earliest entry, as it is for the Backup whose Master_Down_Timer an advert just
    /// restarted, the head is replaced in place (one sift-down) rather than a push now and
    /// a pop of the stale head later.
    pub fn rearm(&mut self, old: Option<Instant>, new: Option<Instant>, key: TimerKey) {
        if let Some(old) = old {
            if let Some(mut top) = self.heap.peek_mut() {
                if top.0 == (old, key) {
                    match new {
                        Some(at) => top.0 .0 = at,
                        None => {
                            std::collections::binary_heap::PeekMut::pop(top);
                        }
                    }
                    return;
                }
            }
        }
        if let Some(at) = new {
            self.push(at, key);
        }
    }

    /// The earliest entry, live or stale.
    pub fn peek(&self) -> Option<(Instant, TimerKey)> {
        self.heap.peek().map(|Reverse(e)| *e)
    }

    /// Removes the earliest entry.
    pub fn pop(&mut self) -> Option<(Instant, TimerKey)> {
        self.heap.pop().map(|Reverse(e)| e)
    }

    /// Drops stale entries from the top until the earliest one is live.
    pub fn settle(&mut self, live: impl Fn(Instant, TimerKey) -> bool) {
        while let Some((at, key)) = self.peek() {
            if live(at, key) {
                break;
            }
            self.heap.pop();
        }
    }

    /// Number of entries, stale ones included.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Keeps only the live entries (O(n); called when stale ones pile up).
    pub fn compact(&mut self, live: impl Fn(Instant, TimerKey) -> bool) {
        self.heap.retain(|Reverse((at, key))| live(*at, *key));
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.heap.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    fn ms(m: u64) -> Instant {
        Instant::from_offset(Duration::from_millis(m))
    }

    #[test]
    fn rearming_the_head_replaces_it_in_place() {
        let mut d = Deadlines::default();
        d.push(ms(10), TimerKey::Instance(0));
        d.push(ms(20), TimerKey::Instance(1));
        // Instance 0 holds the head: moved later, no second entry.
        d.rearm(Some(ms(10)), Some(ms(30)), TimerKey::Instance(0));
        assert_eq!(d.len(), 2);
        assert_eq!(d.peek(), Some((ms(20), TimerKey::Instance(1))));
        // Not the head: a new entry, the old one left stale.
        d.rearm(Some(ms(30)), Some(ms(40)), TimerKey::Instance(0));
        assert_eq!(d.len(), 3);
        // The head disarmed: removed.
        d.rearm(Some(ms(20)), None, TimerKey::Instance(1));
        assert_eq!(d.pop(), Some((ms(30), TimerKey::Instance(0))));
        assert_eq!(d.pop(), Some((ms(40), TimerKey::Instance(0))));
        assert_eq!(d.pop(), None);
        // Nothing armed before: a plain push.
        d.rearm(None, Some(ms(5)), TimerKey::Script(0));
        assert_eq!(d.peek(), Some((ms(5), TimerKey::Script(0))));
    }
}

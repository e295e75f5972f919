//! The daemon's one timer: a `timerfd` on `CLOCK_MONOTONIC`, armed at the absolute time the
//! engines ask for ([`vrrp_engine::Engine::poll_timeout`]) with nanosecond resolution.
//! (tokio's timer wheel rounds deadlines up to the next millisecond, which alone costs a
//! takeover about 1 ms on average.) Engine time is `monotonic() − origin`, so the deadline
//! the engine names and the one the kernel fires at are the same clock.
//!
//! A driver that wants a deadline met on time arms the timer a margin before it and waits
//! out the rest with [`spin_until`]: waking a vCPU that has been idle takes the hypervisor
//! 0.3-2 ms, which this hides at the price of up to the margin in CPU.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;
use tokio::io::unix::AsyncFd;

/// `CLOCK_MONOTONIC` now.
pub fn monotonic() -> Duration {
    read_clock(nix::time::ClockId::CLOCK_MONOTONIC)
}

/// `CLOCK_REALTIME` now (the clock of the kernel's receive timestamps).
pub fn realtime() -> Duration {
    read_clock(nix::time::ClockId::CLOCK_REALTIME)
}

fn read_clock(id: nix::time::ClockId) -> Duration {
    // Both clocks always exist on Linux; a zero would only make times read as "now".
    let ts = nix::time::clock_gettime(id).unwrap_or(nix::sys::time::TimeSpec::new(0, 0));
    Duration::new(ts.tv_sec() as u64, ts.tv_nsec() as u32)
}

/// A time in seconds written `SECONDS[.FRACTION]` (up to nanoseconds), exactly: a
/// `CLOCK_MONOTONIC` instant (`--start-at`) or an engine time (`at` control commands).
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(secs) || !(frac.is_empty() || digits(frac) && frac.len() <= 9) {
        return Err(format!(
            "{text:?} is not a time in seconds (digits, then up to 9 after a dot)"
        ));
    }
    let secs: u64 = secs.parse().map_err(|e| format!("{text:?}: {e}"))?;
    let nanos: u32 = format!("{frac:0<9}").parse().unwrap_or(0);
    Ok(Duration::new(secs, nanos))
}

/// Waits on the CPU until monotonic time `at` (at once if it has passed).
pub fn spin_until(at: Duration) {
    while monotonic() < at {
        std::hint::spin_loop();
    }
}

/// A one-shot absolute monotonic timer registered with tokio.
pub struct Timer {
    fd: AsyncFd<OwnedFd>,
    armed: Option<Duration>,
}

impl Timer {
    /// Creates a disarmed timer. Must be called inside a tokio runtime.
    pub fn new() -> io::Result<Timer> {
        // SAFETY: timerfd_create has no memory preconditions.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the fd is owned by the AsyncFd from here on and is not closed elsewhere.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(|e| e.into_parts().1)?;
        Ok(Timer { fd, armed: None })
    }

    /// Fires at monotonic time `at` or before it (at once if it has passed). A no-op, with
    /// no system call, when already armed for that time or an earlier one, and for `None`:
    /// the caller re-arms after every wake-up, so an early wake-up costs one wasted turn
    /// while re-arming costs a `timerfd_settime`. A Backup's deadline moves later with
    /// every advert: it re-arms about once per Master_Down_Interval rather than once per
    /// batch of adverts read, and is never woken late.
    pub fn arm(&mut self, at: Option<Duration>) {
        let Some(t) = at else { return };
        if self.armed.is_some_and(|armed| t >= armed) {
            return;
        }
        // An all-zero it_value would disarm: never ask for time zero.
        let value = libc::timespec {
            tv_sec: t.as_secs() as libc::time_t,
            tv_nsec: libc::c_long::from(t.subsec_nanos().max(1)),
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: a valid timerfd and itimerspec.
        let rc = unsafe {
            libc::timerfd_settime(
                self.fd.get_ref().as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc == 0 {
            self.armed = Some(t);
        } else {
            tracing::error!("timerfd_settime: {}", io::Error::last_os_error());
            self.armed = None;
        }
    }

    /// Waits until the timer fires, then marks it disarmed.
    pub async fn wait(&mut self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let res = guard.try_io(|inner| {
                let mut buf = [0u8; 8];
                // SAFETY: reading 8 bytes into an 8-byte buffer.
                let n =
                    unsafe { libc::read(inner.get_ref().as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
            if let Ok(r) = res {
                self.armed = None;
                return r;
            }
        }
    }
}

//! The daemon's one timer: a `timerfd` on `CLOCK_MONOTONIC`, armed at the absolute time the
//! engines ask for ([`vrrp_engine::Engine::poll_timeout`]) with nanosecond resolution.
//! (tokio's timer wheel rounds deadlines up to the next millisecond, which alone costs a
//! takeover about 1 ms on average.) Engine time is `monotonic() − origin`, so the deadline
//! the engine names and the one the kernel fires at are the same clock.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;
use tokio::io::unix::AsyncFd;

/// `CLOCK_MONOTONIC` now.
pub fn monotonic() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
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

    /// Fires at monotonic time `at` (at once if it has passed); `None` disarms. A no-op when
    /// already armed for the same time.
    pub fn arm(&mut self, at: Option<Duration>) {
        if at == self.armed {
            return;
        }
        let value = match at {
            // An all-zero it_value would disarm: never ask for time zero.
            Some(t) => libc::timespec {
                tv_sec: t.as_secs() as libc::time_t,
                tv_nsec: libc::c_long::from(t.subsec_nanos().max(1)),
            },
            None => libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
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
            self.armed = at;
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

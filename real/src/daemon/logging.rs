//! Where log lines go: the console (`-l`), syslog (`-S FACILITY`, off with `-G`), and the
//! journal under systemd; how much is logged (`-D`).
//!
//! As keepalived 2.2.7 (`lib/logger.c` `vlog_message`, `core/main.c`):
//! - syslog is on unless `-G` / `--no-syslog`: RFC 3164 datagrams to `/dev/log`
//!   (`<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE`, local time, the day padded with a space, as
//!   glibc's `syslog(3)` writes them), facility `daemon` unless `-S 0..7` / `local0..7` /
//!   `user` / `daemon`. The identity is `vrrpd-real` (`--syslog-ident` to change it, e.g. to
//!   keepalived's `Keepalived_vrrp` for rules that match it). A missing socket is tried again
//!   at most once a second; a full one drops the line (counted, and said once it drains):
//!   the event loop never waits for a syslog daemon.
//! - `-l` writes to stderr, only in the foreground (`-n`), as keepalived's
//!   `"%c: MESSAGE"` lines (`Wed Dec  2 07:32:09 2026: ...`); warnings and errors carry
//!   `WARNING: ` / `ERROR: ` after the time.
//! - `-D` adds the detail lines keepalived adds with `-D` (VIPs set and removed, gratuitous
//!   ARPs, priority-0 adverts, each advert sent, ...: our `debug!` events); `-DD` adds
//!   `trace!` events and the libraries' own debug lines (otherwise only their warnings).
//!   keepalived sends its `-D` lines at `LOG_INFO`, so do we (a default `*.info` syslog rule
//!   keeps them); `-DD` lines go at `LOG_DEBUG`.
//! - Under systemd, when stderr is the journal (`$JOURNAL_STREAM` names it): with syslog on,
//!   `-l` writes nothing (the journal already gets every line through `/dev/log`, with its
//!   facility and identity; the unit's `-n -l` would otherwise store each line twice); with
//!   `-G`, `-l` lines go without the time (the journal stamps them) and with the
//!   `sd-daemon(3)` `<N>` prefix, so the journal keeps each line's priority.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The syslog socket glibc's `syslog(3)` (and so keepalived) writes to.
pub const DEV_LOG: &str = "/dev/log";

/// A syslog facility code (RFC 3164 §4.1.1: the facility number, before `<< 3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facility(pub u8);

impl Facility {
    /// `LOG_DAEMON`, keepalived's default.
    pub const DAEMON: Facility = Facility(3);
    /// `LOG_USER`.
    pub const USER: Facility = Facility(1);
    /// `LOG_LOCAL0`; `LOG_LOCALn` is `LOCAL0 + n`.
    pub const LOCAL0: Facility = Facility(16);

    /// keepalived's `-S` / `--log-facility` argument: `0`..`7` or `local0`..`local7` (the
    /// local facilities), `daemon` or `user`. keepalived prints "Invalid log facility" and
    /// goes on with `daemon` on anything else; we refuse it.
    pub fn parse(s: &str) -> Result<Facility, String> {
        let local = s.strip_prefix("local").unwrap_or(s);
        match (local.parse::<u8>(), s) {
            (Ok(n @ 0..=7), _) => Ok(Facility(Facility::LOCAL0.0 + n)),
            (_, "daemon") => Ok(Facility::DAEMON),
            (_, "user") => Ok(Facility::USER),
            _ => Err(format!(
                "invalid log facility '{s}': 0-7, local0-local7, daemon or user"
            )),
        }
    }
}

impl Default for Facility {
    fn default() -> Facility {
        Facility::DAEMON
    }
}

/// How the daemon logs ([`init`]).
#[derive(Clone, Debug)]
pub struct LogOptions {
    /// `-l`: to stderr (only in the foreground, as keepalived).
    pub console: bool,
    /// `-D` given this many times: 1 adds the detail lines, 2 and more the trace lines.
    pub detail: u8,
    /// Off with `-G` / `--no-syslog`.
    pub syslog: bool,
    /// `-S`: the syslog facility.
    pub facility: Facility,
    /// The syslog identity (`--syslog-ident`; default `vrrpd-real`).
    pub ident: String,
    /// The syslog socket (`/dev/log`).
    pub socket: PathBuf,
}

impl Default for LogOptions {
    fn default() -> LogOptions {
        LogOptions {
            console: false,
            detail: 0,
            syslog: true,
            facility: Facility::DAEMON,
            ident: "vrrpd-real".into(),
            socket: PathBuf::from(DEV_LOG),
        }
    }
}

/// The most detailed level `-D` given `detail` times lets through.
pub fn max_level(detail: u8) -> Level {
    match detail {
        0 => Level::INFO,
        1 => Level::DEBUG,
        _ => Level::TRACE,
    }
}

/// The syslog severity of a line at `level` (RFC 3164 §4.1.1): keepalived's `-D` lines are
/// `LOG_INFO`, so `debug!` maps there too.
pub fn severity(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO | Level::DEBUG => 6,
        Level::TRACE => 7,
    }
}

/// Installs the global subscriber. `foreground` is `-n`: without it the console is closed
/// (keepalived writes `-l` lines only with `-n` too). Returns whether the console shows the
/// lines (a caller prints start-up errors on stderr itself otherwise).
pub fn init(opts: &LogOptions, foreground: bool) -> bool {
    let journal = stderr_is_journal();
    let console = match (opts.console && foreground, journal, opts.syslog) {
        (false, _, _) => None,
        // Every line already reaches the journal through /dev/log.
        (true, true, true) => None,
        (true, true, false) => Some(Console { journal: true }),
        (true, false, _) => Some(Console { journal: false }),
    };
    let shows = console.is_some();
    let syslog = opts.syslog.then(|| Syslog::new(opts));
    // Our own lines as `-D` asks; the libraries' (netlink, TLS, HTTP) only when they warn,
    // unless `-DD`.
    let max = max_level(opts.detail);
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(if opts.detail >= 2 { max } else { Level::WARN })
        .with_target("vrrp_real", max)
        .with_target("vrrp_engine", max);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(console)
        .with(syslog)
        .try_init();
    shows
}

/// Whether stderr is the journal's stream (systemd sets `JOURNAL_STREAM=DEV:INODE` for a
/// unit whose stderr goes to the journal; `systemd.exec(5)`).
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(v) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = v.split_once(':') else {
        return false;
    };
    let fd = std::io::stderr();
    let Ok(meta) = std::os::fd::AsFd::as_fd(&fd)
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
    else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

/// An event's text: its message, then any other fields as ` name=value`.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

fn text(event: &Event<'_>) -> String {
    let mut t = Text::default();
    event.record(&mut t);
    t.0
}

/// The local time through `strftime(3)` (the C locale: Rust never calls `setlocale`).
fn local_time(format: &std::ffi::CStr) -> String {
    // SAFETY: time(NULL), localtime_r into a zeroed tm, strftime into a buffer of the given
    // size: each writes only what it is given.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return String::new();
        }
        let mut buf = [0u8; 64];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), format.as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// `-l`: stderr.
struct Console {
    /// stderr is the journal: `<N>` priority prefixes, no time.
    journal: bool,
}

impl<S: Subscriber> Layer<S> for Console {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let level = event.metadata().level();
        let tag = match *level {
            Level::ERROR => "ERROR: ",
            Level::WARN => "WARNING: ",
            _ => "",
        };
        let line = if self.journal {
            format!("<{}>{tag}{}\n", severity(level), text(event))
        } else {
            format!("{}: {tag}{}\n", local_time(c"%c"), text(event))
        };
        // One write per line, so lines of several threads never interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// One RFC 3164 line as glibc's `syslog(3)` sends it to `/dev/log`: no host name (the
/// local daemon adds it), the day padded with a space (RFC 3164 §4.1.2).
pub fn rfc3164(
    facility: Facility,
    severity: u8,
    stamp: &str,
    ident: &str,
    pid: u32,
    msg: &str,
) -> String {
    format!(
        "<{}>{stamp} {ident}[{pid}]: {msg}",
        facility.0 * 8 + severity
    )
}

/// The syslog target.
struct Syslog {
    facility: Facility,
    ident: String,
    path: PathBuf,
    conn: Mutex<Conn>,
    /// Lines dropped because the socket was full, not yet reported.
    dropped: AtomicU64,
}

/// The connected socket, or when it was last tried.
struct Conn {
    sock: Option<UnixDatagram>,
    tried: Option<std::time::Instant>,
}

impl Syslog {
    fn new(opts: &LogOptions) -> Syslog {
        Syslog {
            facility: opts.facility,
            ident: opts.ident.clone(),
            path: opts.socket.clone(),
            conn: Mutex::new(Conn {
                sock: None,
                tried: None,
            }),
            dropped: AtomicU64::new(0),
        }
    }

    /// Sends one line; never blocks.
    fn send(&self, severity: u8, msg: &str) {
        let Ok(mut conn) = self.conn.lock() else {
            return;
        };
        if conn.sock.is_none() {
            let now = std::time::Instant::now();
            if conn
                .tried
                .is_some_and(|t| now.duration_since(t) < std::time::Duration::from_secs(1))
            {
                return;
            }
            conn.tried = Some(now);
            conn.sock = UnixDatagram::unbound()
                .and_then(|s| {
                    s.connect(&self.path)?;
                    s.set_nonblocking(true)?;
                    Ok(s)
                })
                .ok();
        }
        let Some(sock) = &conn.sock else {
            return;
        };
        let stamp = local_time(c"%b %e %T");
        // The pid is read each time: it changes when the daemon detaches.
        let pid = std::process::id();
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let note = format!("{dropped} log lines dropped: the syslog socket was full");
            let line = rfc3164(self.facility, 4, &stamp, &self.ident, pid, &note);
            if sock.send(line.as_bytes()).is_err() {
                self.dropped.fetch_add(dropped, Ordering::Relaxed);
            }
        }
        let line = rfc3164(self.facility, severity, &stamp, &self.ident, pid, msg);
        match sock.send(line.as_bytes()) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The syslog daemon went away (restarted): connect again next time.
            Err(_) => conn.sock = None,
        }
    }
}

impl<S: Subscriber> Layer<S> for Syslog {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        self.send(severity(event.metadata().level()), &text(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities_as_keepalived_reads_them() {
        assert_eq!(Facility::parse("3"), Ok(Facility(19)));
        assert_eq!(Facility::parse("local3"), Ok(Facility(19)));
        assert_eq!(Facility::parse("0"), Ok(Facility(16)));
        assert_eq!(Facility::parse("local7"), Ok(Facility(23)));
        assert_eq!(Facility::parse("daemon"), Ok(Facility(3)));
        assert_eq!(Facility::parse("user"), Ok(Facility(1)));
        for bad in ["8", "local8", "kern", "", "local"] {
            assert!(Facility::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lines_are_rfc3164_as_glibc_sends_them() {
        // local3.info: 19 * 8 + 6 = 158, as keepalived -S 3 sends "(VI_1) Entering MASTER STATE".
        let l = rfc3164(
            Facility::parse("3").unwrap(),
            severity(&Level::INFO),
            "Dec  2 07:32:09",
            "vrrpd-real",
            42,
            "(VI_1) Entering MASTER STATE",
        );
        assert_eq!(
            l,
            "<158>Dec  2 07:32:09 vrrpd-real[42]: (VI_1) Entering MASTER STATE"
        );
        assert_eq!(severity(&Level::DEBUG), 6);
        assert_eq!(severity(&Level::WARN), 4);
    }
}

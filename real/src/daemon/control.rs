//! `--control SOCKET`: run-time commands on a Unix datagram socket, one per datagram, each
//! answered with one datagram (`ok ...` or `error ...`) when the sender has an address.
//!
//! keepalived has no run-time priority change and no scheduled actions; these are ours, so
//! that an operator (and `sim lab`, for its faults) can act on a daemon precisely:
//!
//! - `priority INSTANCE N`: set the configured priority of `INSTANCE` to `N` (1..=255), as
//!   [`vrrp_engine::Input::SetPriority`]; tracking still applies on top. A reload puts the
//!   configured priority back.
//! - `reload`: what SIGHUP does.
//! - `stop`: what SIGTERM does (the daemon shuts down and exits).
//! - `at SECONDS COMMAND`: one of the above, carried out at that engine time (seconds since
//!   the daemon's time origin, up to nanoseconds) by the daemon's own timer, so it happens
//!   at that instant rather than when a signal or a datagram wakes an idle process (2-6 ms
//!   late on a VM, measured). Answered `ok` when scheduled; logged when carried out.
//!
//! `vrrpd-real --control-send SOCKET 'priority VI_1 150'` sends one command and prints the
//! answer.

use super::driver::Daemon;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::UnixDatagram;
use vrrp_engine::{Input, Instant};

/// The bound control socket (removed when dropped).
pub struct Control {
    sock: UnixDatagram,
    path: PathBuf,
}

/// One command received, with where to answer.
pub struct Command {
    text: String,
    from: Option<PathBuf>,
}

impl Control {
    /// Binds `path`, replacing a stale socket file left by a previous run.
    pub fn bind(path: &Path) -> io::Result<Control> {
        if path.exists() {
            std::fs::remove_file(path)?;
        }
        Ok(Control {
            sock: UnixDatagram::bind(path)?,
            path: path.to_path_buf(),
        })
    }

    /// The next command.
    pub async fn recv(&self) -> Option<Command> {
        let mut buf = [0u8; 512];
        match self.sock.recv_from(&mut buf).await {
            Ok((n, from)) => Some(Command {
                text: String::from_utf8_lossy(&buf[..n]).trim().to_string(),
                from: from.as_pathname().map(Path::to_path_buf),
            }),
            Err(e) => {
                tracing::warn!("control socket: {e}");
                None
            }
        }
    }

    fn answer(&self, to: &Option<PathBuf>, text: &str) {
        if let Some(p) = to {
            if let Err(e) = self.sock.try_send_to(text.as_bytes(), p) {
                tracing::debug!("control answer to {}: {e}", p.display());
            }
        }
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a control command does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `priority INSTANCE N`.
    Priority {
        /// The instance's name.
        instance: String,
        /// Its new configured priority (1..=255).
        priority: u8,
    },
    /// `reload`: as SIGHUP.
    Reload,
    /// `stop`: as SIGTERM.
    Stop,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Priority { instance, priority } => write!(f, "priority {instance} {priority}"),
            Action::Reload => f.write_str("reload"),
            Action::Stop => f.write_str("stop"),
        }
    }
}

/// Parses `[at SECONDS] priority INSTANCE N | reload | stop`: the engine time it is for, if
/// any, and the action.
pub fn parse(text: &str) -> Result<(Option<Instant>, Action), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let (at, rest) = match words.as_slice() {
        ["at", t, rest @ ..] => {
            let at = crate::os::timer::parse_seconds(t)?;
            (Some(Instant::from_offset(at)), rest)
        }
        rest => (None, rest),
    };
    let action = match rest {
        ["priority", name, n] => match n.parse::<u8>() {
            Ok(p) if p >= 1 => Action::Priority {
                instance: name.to_string(),
                priority: p,
            },
            _ => return Err(format!("priority must be 1..255, not {n}")),
        },
        ["reload"] => Action::Reload,
        ["stop"] => Action::Stop,
        _ => {
            return Err(format!(
            "unknown command {text:?} (expected: [at SECONDS] priority INSTANCE N | reload | stop)"
        ))
        }
    };
    Ok((at, action))
}

impl Daemon {
    /// Carries out one control command (or schedules it); returns the instant the daemon
    /// stops at, for a `stop`.
    pub(super) async fn on_command(&mut self, cmd: Option<Command>) -> Option<Instant> {
        let cmd = cmd?;
        let (answer, stop) = match parse(&cmd.text) {
            Ok((Some(at), action)) => {
                let answer = format!("ok at {:.9}: {action}", self.secs(at));
                tracing::info!("control: {action} scheduled at {:.6} s", self.secs(at));
                // Stable: actions for the same instant keep their order of arrival.
                let pos = self.scheduled.partition_point(|(t, _)| *t <= at);
                self.scheduled.insert(pos, (at, action));
                (answer, None)
            }
            Ok((None, action)) => {
                self.trace_control(&action.to_string(), "control", None);
                let now = self.timers_then_now();
                self.carry_out(now, action).await
            }
            Err(e) => {
                tracing::warn!("control: {e}");
                (format!("error: {e}"), None)
            }
        };
        if let Some(c) = &self.control {
            c.answer(&cmd.from, &answer);
        }
        stop
    }

    /// Carries out the scheduled actions due by `now`, each at its instant after the engine
    /// timers due before it; returns the instant the daemon stops at, for a `stop` (the rest
    /// stay scheduled).
    pub(super) async fn run_scheduled(&mut self, now: Instant) -> Option<Instant> {
        while self.scheduled.first().is_some_and(|(at, _)| *at <= now) {
            let (at, action) = self.scheduled.remove(0);
            self.trace_control(&action.to_string(), "scheduled", Some(at));
            self.run_timers_until(at);
            if let (_, Some(stop)) = self.carry_out(at, action).await {
                return Some(stop);
            }
        }
        None
    }

    /// Traces a control action as the daemon carries it out: `t` is now (not `due`), so the
    /// trace shows how late a scheduled action ran (`sim lab` reports it).
    pub(super) fn trace_control(&mut self, command: &str, via: &str, due: Option<Instant>) {
        let t = self.secs(self.now());
        let due = due.map(|d| self.secs(d));
        self.trace.event(
            t,
            vrrp_engine::trace::TraceEvent::Control {
                command: command.to_string(),
                via: via.to_string(),
                due,
            },
        );
    }

    /// Carries out one action at engine time `at` (an error is logged); returns the answer
    /// and, for a `stop`, `at` (then [`Daemon::shutdown`] runs at it).
    async fn carry_out(&mut self, at: Instant, action: Action) -> (String, Option<Instant>) {
        match action {
            Action::Priority { instance, priority } => match self.engine.instance_id(&instance) {
                Some(id) => {
                    self.engine.handle(
                        at,
                        Input::SetPriority {
                            instance: id,
                            priority,
                        },
                    );
                    tracing::info!(
                        "control at {:.6} s: {instance} priority set to {priority}",
                        self.secs(at)
                    );
                    (format!("ok {instance} priority {priority}"), None)
                }
                None => {
                    tracing::warn!("control: no vrrp_instance {instance}");
                    (format!("error: no vrrp_instance {instance}"), None)
                }
            },
            Action::Reload => {
                self.reload(at, "control command").await;
                ("ok reload".into(), None)
            }
            Action::Stop => ("ok stop".into(), Some(at)),
        }
    }
}

/// Sends one command to a daemon's control socket and returns its answer.
pub fn send(socket: &Path, command: &str) -> io::Result<String> {
    let reply = std::env::temp_dir().join(format!("vrrpd-real-ctl-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&reply);
    let sock = std::os::unix::net::UnixDatagram::bind(&reply)?;
    let result = (|| {
        sock.set_read_timeout(Some(Duration::from_secs(3)))?;
        sock.send_to(command.as_bytes(), socket)?;
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    })();
    let _ = std::fs::remove_file(&reply);
    result
}

#[cfg(test)]
mod tests {
    use super::{parse, Action};
    use vrrp_engine::Instant;

    #[test]
    fn commands_parse_or_say_why_not() {
        let prio = |p| Action::Priority {
            instance: "VI_1".into(),
            priority: p,
        };
        assert_eq!(parse("priority VI_1 150"), Ok((None, prio(150))));
        assert!(parse("priority VI_1 0").is_err());
        assert!(parse("priority VI_1 256").is_err());
        assert!(parse("prio VI_1 5")
            .unwrap_err()
            .contains("unknown command"));
        assert_eq!(parse("reload"), Ok((None, Action::Reload)));
        assert_eq!(parse("stop"), Ok((None, Action::Stop)));
        let at = Instant::from_offset(std::time::Duration::new(8, 500_000_001));
        assert_eq!(parse("at 8.500000001 stop"), Ok((Some(at), Action::Stop)));
        assert_eq!(
            parse("at 4 priority VI_1 200"),
            Ok((
                Some(Instant::from_offset(std::time::Duration::from_secs(4))),
                prio(200)
            ))
        );
        assert!(parse("at soon stop").is_err());
        assert!(parse("at 4").unwrap_err().contains("unknown command"));
    }
}

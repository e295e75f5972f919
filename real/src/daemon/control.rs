//! `--control SOCKET`: run-time commands on a Unix datagram socket, one per datagram, each
//! answered with one datagram (`ok ...` or `error ...`) when the sender has an address.
//!
//! keepalived has no run-time priority change; this is ours, so that an operator (and
//! `sim lab`, for its `priority` faults) can move an instance's priority without a reload:
//!
//! - `priority INSTANCE N`: set the configured priority of `INSTANCE` to `N` (1..=255), as
//!   [`vrrp_engine::Input::SetPriority`]; tracking still applies on top. A reload puts the
//!   configured priority back.
//!
//! `vrrpd-real --control-send SOCKET 'priority VI_1 150'` sends one command and prints the
//! answer.

use super::driver::Daemon;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::UnixDatagram;
use vrrp_engine::Input;

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

/// Parses `priority INSTANCE N`.
fn parse_priority(text: &str) -> Result<(&str, u8), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["priority", name, n] => match n.parse::<u8>() {
            Ok(p) if p >= 1 => Ok((name, p)),
            _ => Err(format!("priority must be 1..255, not {n}")),
        },
        _ => Err(format!(
            "unknown command {text:?} (expected: priority INSTANCE N)"
        )),
    }
}

impl Daemon {
    /// Carries out one control command.
    pub(super) fn on_command(&mut self, cmd: Option<Command>) {
        let Some(cmd) = cmd else { return };
        let answer = match parse_priority(&cmd.text) {
            Ok((name, priority)) => match self.engine.instance_id(name) {
                Some(instance) => {
                    let now = self.now();
                    self.engine
                        .handle(now, Input::SetPriority { instance, priority });
                    tracing::info!("control: {name} priority set to {priority}");
                    format!("ok {name} priority {priority}")
                }
                None => format!("error: no vrrp_instance {name}"),
            },
            Err(e) => format!("error: {e}"),
        };
        if answer.starts_with("error") {
            tracing::warn!("control: {}", &answer[7..]);
        }
        if let Some(c) = &self.control {
            c.answer(&cmd.from, &answer);
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
    use super::parse_priority;

    #[test]
    fn priority_commands_parse_or_say_why_not() {
        assert_eq!(parse_priority("priority VI_1 150"), Ok(("VI_1", 150)));
        assert!(parse_priority("priority VI_1 0").is_err());
        assert!(parse_priority("priority VI_1 256").is_err());
        assert!(parse_priority("prio VI_1 5")
            .unwrap_err()
            .contains("unknown command"));
    }
}

//! A helper command spawned ahead of its fault's instant, waiting for its input on a pipe
//! (`nft -f /dev/stdin`, `ip -batch -`): at the instant the lab writes the input and closes
//! the pipe, so the fault costs a parse and a netlink request, not a fork, an exec and a
//! `setns` (several ms here, more on a loaded machine).

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;
use vrrp_lab::clock;

/// A spawned command waiting for its input.
pub struct Armed {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    what: String,
}

/// When a fired command took its input and when it had done its work (lab seconds).
#[derive(Clone, Copy, Debug)]
pub struct Fired {
    /// The input was written and the pipe closed.
    pub written: f64,
    /// The command exited successfully: its change is in force.
    pub done: f64,
}

impl Armed {
    /// Spawns `cmd` with its standard input on a pipe; `what` names it in errors.
    pub fn spawn(mut cmd: Command, what: &str) -> Result<Armed, String> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        let stdin = child.stdin.take();
        Ok(Armed {
            child: Some(child),
            stdin,
            what: what.to_string(),
        })
    }

    /// Writes `input`, closes the pipe and waits for the command to finish; `zero` is the
    /// lab clock's zero on `CLOCK_MONOTONIC`.
    pub fn fire(mut self, input: &str, zero: Duration) -> Result<Fired, String> {
        let mut stdin = self.stdin.take().ok_or("no pipe")?;
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| format!("{}: {e}", self.what))?;
        drop(stdin);
        let written = secs(zero);
        let out = self
            .child
            .take()
            .ok_or("already fired")?
            .wait_with_output()
            .map_err(|e| format!("{}: {e}", self.what))?;
        let done = secs(zero);
        if !out.status.success() {
            return Err(format!(
                "{} failed: {}\ninput:\n{input}",
                self.what,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(Fired { written, done })
    }
}

impl Drop for Armed {
    /// An armed command never fired (the run failed) is killed.
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn secs(zero: Duration) -> f64 {
    let now = clock::monotonic();
    if now >= zero {
        (now - zero).as_secs_f64()
    } else {
        -(zero - now).as_secs_f64()
    }
}

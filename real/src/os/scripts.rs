//! Processes: `vrrp_script` checks and `MISC_CHECK` probes (one way to run a script with a
//! timeout: [`run_script`], which stops the whole process group as keepalived does), notify
//! scripts (one queue, run one after another in the order of the state changes), the
//! script user and `enable_script_security`.
//!
//! Command lines are split into words as keepalived does (no shell): double or single quotes
//! group words, nothing else is interpreted.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Pid, User};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;
use tokio::sync::mpsc;
use vrrp_engine::CheckOutcome;

/// Who scripts run as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunAs {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// Splits a command line into words (quotes group, backslash escapes the next character).
pub fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Resolves `script_user USER [GROUP]` (or a script's own `user`): `None` means root.
pub fn resolve_user(spec: Option<&str>) -> Result<Option<RunAs>, String> {
    let Some(spec) = spec else { return Ok(None) };
    let words = split_words(spec);
    let Some(name) = words.first() else {
        return Ok(None);
    };
    let user = User::from_name(name)
        .map_err(|e| format!("cannot look up user {name}: {e}"))?
        .ok_or_else(|| format!("no user {name}"))?;
    let mut gid = user.gid.as_raw();
    if let Some(g) = words.get(1) {
        let group = nix::unistd::Group::from_name(g)
            .map_err(|e| format!("cannot look up group {g}: {e}"))?
            .ok_or_else(|| format!("no group {g}"))?;
        gid = group.gid.as_raw();
    }
    Ok(Some(RunAs {
        uid: user.uid.as_raw(),
        gid,
    }))
}

/// Finds the executable a command's first word names (absolute, or searched in `PATH`).
fn resolve_program(word: &str) -> Option<PathBuf> {
    if word.contains('/') {
        return Some(PathBuf::from(word));
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':')
        .map(|d| Path::new(d).join(word))
        .find(|p| p.is_file())
}

/// `enable_script_security`: why a non-root user could modify this program (the file or
/// any directory above it is owned by a non-root user or writable by group/other), if so.
pub fn insecure_reason(cmdline: &str) -> Option<String> {
    let words = split_words(cmdline);
    let first = words.first()?;
    let Some(prog) = resolve_program(first) else {
        return Some(format!("{first} not found"));
    };
    let prog = std::fs::canonicalize(&prog).unwrap_or(prog);
    let mut p: Option<&Path> = Some(prog.as_path());
    while let Some(cur) = p {
        let Ok(md) = std::fs::metadata(cur) else {
            return Some(format!("cannot stat {}", cur.display()));
        };
        let mode = md.mode();
        if md.uid() != 0 {
            return Some(format!("{} is owned by uid {}", cur.display(), md.uid()));
        }
        let sticky_dir = md.is_dir() && mode & 0o1000 != 0;
        if !sticky_dir && (mode & 0o002 != 0 || (mode & 0o020 != 0 && md.gid() != 0)) {
            return Some(format!("{} is writable by a non-root user", cur.display()));
        }
        p = cur.parent();
    }
    None
}

fn command(words: &[String], run_as: Option<RunAs>) -> Option<Command> {
    let (prog, args) = words.split_first()?;
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(r) = run_as {
        cmd.uid(r.uid).gid(r.gid);
    }
    Some(cmd)
}

/// How one script run ended ([`run_script`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptExit {
    /// It exited with this status (also after our SIGTERM, if it caught it and exited).
    Exited(u8),
    /// It was still running at its timeout and died of the SIGTERM or SIGKILL we sent.
    TimedOut,
    /// It died of a signal we did not send.
    Signaled(i32),
    /// It could not be started (empty command line, no such program, fork or exec failed).
    NotStarted,
}

/// keepalived's grace between the SIGTERM at a script's timeout and the SIGKILL
/// (`misc_check_child_thread`, `vrrp_script_child_thread`).
const TERM_GRACE: Duration = Duration::from_secs(2);
/// keepalived's wait between further SIGKILLs of a script that will not die.
const KILL_AGAIN: Duration = Duration::from_secs(10);

/// Runs a command line (words split as keepalived does, no shell) in its own process group,
/// as `run_as`. Still running after `timeout`, its process group gets SIGTERM, then SIGKILL
/// 2 s later (and again every 10 s), and when it dies of our SIGTERM the rest of its group
/// gets SIGKILL: keepalived's script child state machine.
pub async fn run_script(cmdline: &str, run_as: Option<RunAs>, timeout: Duration) -> ScriptExit {
    use std::os::unix::process::ExitStatusExt;
    #[derive(PartialEq)]
    enum State {
        Running,
        Terminating,
        Killing,
    }
    let words = split_words(cmdline);
    let Some(mut cmd) = command(&words, run_as) else {
        return ScriptExit::NotStarted;
    };
    // fork/exec on a thread of the blocking pool: a fork costs milliseconds (more from a
    // large or debug-built process), which must not delay the protocol loop's adverts,
    // packets and signals.
    let mut child = match tokio::task::spawn_blocking(move || cmd.spawn()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::warn!("script {cmdline:?} could not start: {e}");
            return ScriptExit::NotStarted;
        }
        Err(e) => {
            tracing::warn!("script {cmdline:?} could not start: {e}");
            return ScriptExit::NotStarted;
        }
    };
    let Some(pid) = child.id().map(|p| Pid::from_raw(p as i32)) else {
        return ScriptExit::NotStarted;
    };
    let mut state = State::Running;
    let mut wait = timeout;
    loop {
        match tokio::time::timeout(wait, child.wait()).await {
            Ok(Ok(status)) => {
                if let Some(code) = status.code() {
                    return ScriptExit::Exited(code as u8);
                }
                let sig = status.signal().unwrap_or(0);
                let ours = match state {
                    State::Running => false,
                    State::Terminating => sig == libc::SIGTERM,
                    State::Killing => sig == libc::SIGTERM || sig == libc::SIGKILL,
                };
                if state == State::Terminating && sig == libc::SIGTERM {
                    // What it started may have outlived it.
                    let _ = killpg(pid, Signal::SIGKILL);
                }
                return if ours {
                    ScriptExit::TimedOut
                } else {
                    ScriptExit::Signaled(sig)
                };
            }
            Ok(Err(e)) => {
                tracing::warn!("script {cmdline:?}: waiting for it failed: {e}");
                let _ = killpg(pid, Signal::SIGKILL);
                return ScriptExit::NotStarted;
            }
            Err(_) => {
                let sig;
                (state, sig, wait) = match state {
                    State::Running => (State::Terminating, Signal::SIGTERM, TERM_GRACE),
                    State::Terminating | State::Killing => {
                        (State::Killing, Signal::SIGKILL, KILL_AGAIN)
                    }
                };
                tracing::debug!("script {cmdline:?} still running: {sig} to its group");
                let _ = killpg(pid, sig);
            }
        }
    }
}

/// Runs one check: exit 0 is a pass; still running after `timeout`, it is stopped as
/// [`run_script`] does and the result is a timeout. Returns the outcome and how the script
/// ended (for the log line of a result change).
pub async fn run_check(
    cmdline: &str,
    run_as: Option<RunAs>,
    timeout: Duration,
) -> (CheckOutcome, ScriptExit) {
    let exit = run_script(cmdline, run_as, timeout).await;
    let outcome = match exit {
        ScriptExit::Exited(0) => CheckOutcome::Pass,
        ScriptExit::Exited(_) | ScriptExit::Signaled(_) | ScriptExit::NotStarted => {
            CheckOutcome::Fail
        }
        ScriptExit::TimedOut => {
            tracing::warn!(
                "check {cmdline:?} timed out after {:.3}s: killed",
                timeout.as_secs_f64()
            );
            CheckOutcome::Timeout
        }
    };
    (outcome, exit)
}

/// One notify command to run.
#[derive(Clone, Debug)]
pub struct Notify {
    /// Command line words, arguments appended.
    pub words: Vec<String>,
    /// Who runs it.
    pub run_as: Option<RunAs>,
}

/// Starts the notify queue: commands run one at a time, in the order sent.
pub fn notify_queue() -> (mpsc::UnboundedSender<Notify>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Notify>();
    let task = tokio::spawn(async move {
        while let Some(n) = rx.recv().await {
            let Some(mut cmd) = command(&n.words, n.run_as) else {
                continue;
            };
            cmd.kill_on_drop(false);
            match cmd.status().await {
                Ok(s) if s.success() => {}
                Ok(s) => tracing::warn!("notify {:?} exited with {s}", n.words),
                Err(e) => tracing::warn!("notify {:?} could not start: {e}", n.words),
            }
        }
    });
    (tx, task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_keepalived() {
        assert_eq!(
            split_words(r#"/bin/sh -c "exit 1"  x"#),
            vec!["/bin/sh", "-c", "exit 1", "x"]
        );
        assert_eq!(split_words("  "), Vec::<String>::new());
        assert_eq!(split_words("a ''"), vec!["a", ""]);
    }

    #[test]
    fn script_security_refuses_what_others_could_modify() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("vrrpd-real-secure-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = dir.join("check.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let line = format!("{} arg", script.display());
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let verdict = insecure_reason(&line);
        if root {
            // Root-owned, 0755, in a root-owned 0755 dir under the sticky /tmp: acceptable.
            assert_eq!(verdict, None);
        } else {
            assert!(verdict.is_some_and(|r| r.contains("owned by uid")));
        }
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o757)).unwrap();
        let verdict = insecure_reason(&line).unwrap_or_default();
        assert!(
            verdict.contains("writable by a non-root user") || !root,
            "{verdict}"
        );
        // A program that is not there is refused too (nothing to vouch for).
        assert_eq!(
            insecure_reason("/no/such/program").as_deref(),
            Some("cannot stat /no/such/program")
        );
        assert_eq!(
            insecure_reason("no-such-program-anywhere").as_deref(),
            Some("no-such-program-anywhere not found")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

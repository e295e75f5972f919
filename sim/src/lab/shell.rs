//! Helpers that carry out the lab's own faults at their instant without starting a process
//! then (a fork, an exec and a `setns` cost several ms here, more on a loaded machine):
//!
//! - [`Nft`]: one `nft -i` in the bridge's namespace for the whole run, fed one transaction
//!   per fault; a `list chain` after it says when it is done (the rules are in force from
//!   the transaction's commit, a little before);
//! - [`LinkSwitch`]: a socket opened inside a node's namespace, on which `SIOCSIFFLAGS` sets
//!   its interface up or down, synchronously.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;
use vrrp_lab::clock;

/// A running `nft -i` fed transactions on its standard input.
pub struct Nft {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// Its standard error, to say why a transaction failed.
    errors: std::path::PathBuf,
    table: String,
}

impl Nft {
    /// Starts `nft -i` in namespace `ns`; `table` (`bridge simlab`) and `chain` name what
    /// [`Nft::apply`] lists to learn it is done; its errors go to `errors`.
    pub fn start(ns: &str, table: &str, errors: &std::path::Path) -> Result<Nft, String> {
        let err = std::fs::File::create(errors)
            .map_err(|e| format!("cannot create {}: {e}", errors.display()))?;
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "nft", "-i"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start nft -i: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().ok_or("nft -i: no stdout")?);
        Ok(Nft {
            child,
            stdin,
            stdout,
            errors: errors.to_path_buf(),
            table: table.to_string(),
        })
    }

    /// Runs `commands` (one transaction: `;`-separated, no newline) and waits until `nft`
    /// has done it; returns when that was on the lab clock (`zero` on `CLOCK_MONOTONIC`).
    pub fn apply(&mut self, commands: &str, chain: &str, zero: Duration) -> Result<f64, String> {
        let before = std::fs::metadata(&self.errors).map_or(0, |m| m.len());
        let stdin = self.stdin.as_mut().ok_or("nft -i has stopped")?;
        let text = format!("{commands}\nlist chain {} {chain}\n", self.table);
        stdin
            .write_all(text.as_bytes())
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("nft -i: {e}"))?;
        // The listing ends with the table's closing brace, alone on its line.
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .stdout
                .read_line(&mut line)
                .map_err(|e| format!("nft -i: {e}"))?;
            if n == 0 {
                return Err(format!(
                    "nft -i exited: {}",
                    std::fs::read_to_string(&self.errors).unwrap_or_default()
                ));
            }
            if line.trim_end() == "}" {
                break;
            }
        }
        let done = secs(zero);
        let errors = std::fs::read_to_string(&self.errors).unwrap_or_default();
        if errors.len() as u64 > before {
            return Err(format!(
                "nft refused {commands:?}: {}",
                &errors[before as usize..]
            ));
        }
        Ok(done)
    }
}

impl Drop for Nft {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sets one interface of a namespace up or down with `SIOCSIFFLAGS` on a socket opened in
/// that namespace.
pub struct LinkSwitch {
    sock: OwnedFd,
    ifname: String,
}

impl LinkSwitch {
    /// Opens the socket in network namespace `ns` (`/run/netns/NS`), from a thread that
    /// enters it and ends (the lab's own thread stays where it is).
    pub fn open(ns: &str, ifname: &str) -> Result<LinkSwitch, String> {
        let path = format!("/run/netns/{ns}");
        let sock = std::thread::spawn(move || -> Result<OwnedFd, String> {
            let f = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
            // SAFETY: setns on this thread with a namespace fd we hold open.
            if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
            }
            // SAFETY: socket(2) has no memory preconditions.
            let fd =
                unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
            if fd < 0 {
                return Err(format!("socket: {}", std::io::Error::last_os_error()));
            }
            // SAFETY: a fresh fd that nothing else owns.
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        })
        .join()
        .map_err(|_| "the namespace thread panicked".to_string())??;
        if ifname.len() >= libc::IFNAMSIZ {
            return Err(format!("interface name {ifname:?} is too long"));
        }
        Ok(LinkSwitch {
            sock,
            ifname: ifname.to_string(),
        })
    }

    /// Sets the interface up or down; returns when that was done on the lab clock.
    pub fn set(&self, up: bool, zero: Duration) -> Result<f64, String> {
        // SAFETY: ifreq is plain old data; all-zero is valid.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (d, s) in req.ifr_name.iter_mut().zip(self.ifname.bytes()) {
            *d = s as libc::c_char;
        }
        let fd = self.sock.as_raw_fd();
        // SAFETY: SIOCGIFFLAGS / SIOCSIFFLAGS with a valid ifreq on our socket.
        unsafe {
            if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) != 0 {
                return Err(format!(
                    "SIOCGIFFLAGS {}: {}",
                    self.ifname,
                    std::io::Error::last_os_error()
                ));
            }
            let flags = req.ifr_ifru.ifru_flags;
            let up_flag = libc::IFF_UP as libc::c_short;
            req.ifr_ifru.ifru_flags = if up {
                flags | up_flag
            } else {
                flags & !up_flag
            };
            if libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) != 0 {
                return Err(format!(
                    "SIOCSIFFLAGS {}: {}",
                    self.ifname,
                    std::io::Error::last_os_error()
                ));
            }
        }
        Ok(secs(zero))
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

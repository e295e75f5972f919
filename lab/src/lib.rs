//! `vrrp-lab`: a throw-away LAN of network namespaces, for `vrrpd-real`'s tests, the daemon
//! benchmark (`real/examples/bench_daemons.rs`) and the simulator's end-to-end runs
//! (`sim lab`).
//!
//! It knows nothing of VRRP: it builds namespaces, links and addresses with `ip`, starts and
//! signals processes inside them, and cleans up. The daemon itself is the `vrrpd-real` binary
//! of `real/`; its users start it by path (`sim lab` looks next to its own executable), so this
//! crate and `sim` do not depend on `vrrp-real`.
//!
//! What lives where:
//! - [`Lab`]: the LAN. [`Lab::new`] builds N host namespaces and one bridge namespace holding
//!   `br0`; each host gets `eth0`, one end of a veth pair whose other end is a port of `br0`,
//!   with address `10.X.Y.(i+1)/24` from a subnet unique to the run ([`Lab::with_hosts`]: given
//!   addresses, interface name and link-local instead). Nothing is created in the root
//!   namespace: the veth pair is created inside the bridge namespace and its peer moved.
//!   Dropping the [`Lab`] (also while a test panics) kills every process started through it
//!   and deletes the namespaces; namespaces a killed run could not delete (its `Drop` never
//!   ran) are deleted by the next [`Lab`] or [`Netns`] once their pid is gone.
//! - [`Host`], [`HostSpec`]: one host of a LAN, and the addresses asked for one.
//! - [`Netns`]: one namespace with only `lo`, for a test whose servers and clients all live
//!   on its loopback; [`Netns::run`] runs a closure on a thread inside it.
//! - [`ip`], [`sh`]: run `ip` or any program to completion, stderr as the error.
//! - [`clock`]: `CLOCK_MONOTONIC`, the clock the lab and the daemons it starts share.
//! - [`vm`]: a throw-away QEMU VM running a bash script as root of its own kernel (Debian's
//!   cloud kernel, which has IPVS and netem, unlike this machine's), for the IPVS tests.

use std::net::Ipv4Addr;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

pub mod bench;
pub mod clock;
pub mod vm;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One host of the lab.
#[derive(Clone, Debug)]
pub struct Host {
    /// Its namespace name.
    pub ns: String,
    /// Its IPv4 address on `eth0`.
    pub ip: Ipv4Addr,
}

/// A host's addresses for [`Lab::with_hosts`].
#[derive(Clone, Debug)]
pub struct HostSpec {
    /// IPv4 address of its interface.
    pub ip: Ipv4Addr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// A fixed IPv6 link-local address (else the kernel's MAC-derived one).
    pub ipv6_link_local: Option<std::net::Ipv6Addr>,
    /// The interface's name inside the namespace (default `eth0`).
    pub ifname: Option<String>,
}

/// A namespace LAN; see the module documentation.
pub struct Lab {
    /// The hosts, in order.
    pub hosts: Vec<Host>,
    /// The bridge namespace.
    pub bridge_ns: String,
    /// The run's /24: `10.X.Y.0`.
    pub subnet: Ipv4Addr,
    children: Mutex<Vec<Child>>,
}

/// Runs `ip ARGS`, returning an error with its stderr when it fails.
pub fn ip(args: &[&str]) -> Result<(), String> {
    sh("ip", args).map(|_| ())
}

/// Runs a program to completion; `Err` with its stderr when it exits non-zero.
pub fn sh(prog: &str, args: &[&str]) -> Result<Output, String> {
    let out = Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| format!("{prog}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{prog} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Lab {
    /// Builds a LAN of `n` hosts (at most 200). The names carry the pid and a counter.
    pub fn new(n: usize) -> Result<Lab, String> {
        Lab::build(n, None)
    }

    /// Builds a LAN with one host per spec, with the given addresses (instead of the run's
    /// `10.X.Y.0/24`): for a simulated experiment replayed on a real LAN, whose nodes have
    /// fixed addresses. Names are per run as with [`Lab::new`].
    pub fn with_hosts(specs: &[HostSpec]) -> Result<Lab, String> {
        Lab::build(specs.len(), Some(specs))
    }

    fn build(n: usize, specs: Option<&[HostSpec]>) -> Result<Lab, String> {
        sweep_orphans();
        let c = COUNTER.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let tag = format!("vr{pid}x{c}");
        let subnet = Ipv4Addr::new(
            10,
            100 + (pid % 100) as u8,
            ((pid / 100 * 7 + c) % 250) as u8,
            0,
        );
        let mut lab = Lab {
            hosts: Vec::new(),
            bridge_ns: format!("{tag}br"),
            subnet,
            children: Mutex::new(Vec::new()),
        };
        let b = lab.bridge_ns.clone();
        ip(&["netns", "add", &b])?;
        ip(&[
            "-n",
            &b,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ])?;
        ip(&["-n", &b, "link", "set", "br0", "up"])?;
        for i in 0..n.min(200) {
            let ns = format!("{tag}h{i}");
            ip(&["netns", "add", &ns])?;
            let o = subnet.octets();
            let spec = specs.and_then(|s| s.get(i));
            let (addr, prefix) = match spec {
                Some(s) => (s.ip, s.prefix_len),
                None => (Ipv4Addr::new(o[0], o[1], o[2], (i + 1) as u8), 24),
            };
            lab.hosts.push(Host {
                ns: ns.clone(),
                ip: addr,
            });
            let port = format!("p{i}");
            ip(&[
                "-n", &b, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &ns,
            ])?;
            ip(&["-n", &b, "link", "set", &port, "master", "br0", "up"])?;
            for (k, v) in [
                ("net.ipv6.conf.all.accept_dad", "0"),
                ("net.ipv6.conf.default.accept_dad", "0"),
            ] {
                sh(
                    "ip",
                    &["netns", "exec", &ns, "sysctl", "-qw", &format!("{k}={v}")],
                )?;
            }
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            if let Some(name) = spec.and_then(|s| s.ifname.as_deref()) {
                ip(&["-n", &ns, "link", "set", "eth0", "name", name])?;
            }
            let dev = spec.and_then(|s| s.ifname.clone()).unwrap_or("eth0".into());
            if let Some(ll) = spec.and_then(|s| s.ipv6_link_local) {
                // A fixed link-local instead of the MAC-derived one.
                ip(&["-n", &ns, "link", "set", &dev, "addrgenmode", "none"])?;
                ip(&["-n", &ns, "addr", "add", &format!("{ll}/64"), "dev", &dev])?;
            }
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/{prefix}"),
                "dev",
                &dev,
            ])?;
            ip(&["-n", &ns, "link", "set", &dev, "up"])?;
        }
        Ok(lab)
    }

    /// Runs `prog ARGS` inside the bridge namespace (e.g. `nft` rules on `br0`'s ports
    /// `p0`, `p1`, ...: port `pI` leads to host `I`).
    pub fn bridge_exec(&self, prog: &str, args: &[&str]) -> Result<Output, String> {
        let mut all = vec!["netns", "exec", &self.bridge_ns, prog];
        all.extend_from_slice(args);
        sh("ip", &all)
    }

    /// A command that runs `prog` inside host `i`'s namespace.
    pub fn command(&self, i: usize, prog: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.hosts[i].ns, prog]);
        c
    }

    /// Starts `cmd` (built with [`Lab::command`]); the lab kills it on drop. Returns its pid.
    pub fn spawn(&self, mut cmd: Command) -> Result<u32, String> {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let pid = child.id();
        self.children.lock().map_err(|e| e.to_string())?.push(child);
        Ok(pid)
    }

    /// Starts `dumpcap` on host `i`'s eth0 writing `file` (capture filter `filter`, plus
    /// `extra` options), and waits until it says it is capturing (dumpcap's messages go to
    /// `file` with `.err` appended). Returns its pid; stop it with SIGINT.
    pub fn capture(
        &self,
        i: usize,
        file: &std::path::Path,
        filter: &str,
        extra: &[&str],
    ) -> Result<u32, String> {
        let errf = file.with_extension("err");
        let err = std::fs::File::create(&errf).map_err(|e| e.to_string())?;
        let mut cmd = self.command(i, "dumpcap");
        cmd.args(["-i", "eth0", "-q"])
            .args(extra)
            .args(["-f", filter, "-w"])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(err);
        let pid = self.spawn(cmd)?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let said = std::fs::read_to_string(&errf).unwrap_or_default();
            if said.contains("Capturing on") {
                return Ok(pid);
            }
            if std::time::Instant::now() > deadline {
                return Err(format!("dumpcap did not start: {said:?}"));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Sends `sig` to a process started with [`Lab::spawn`] and, for SIGKILL/SIGTERM,
    /// waits for it to exit; returns its exit status code if it exited.
    pub fn signal(&self, pid: u32, sig: i32) -> Option<i32> {
        // SAFETY: kill(2) on a pid we started and have not reaped.
        unsafe { libc::kill(pid as i32, sig) };
        if sig != libc::SIGKILL && sig != libc::SIGTERM && sig != libc::SIGINT {
            return None;
        }
        self.wait(pid)
    }

    /// Waits for a process started with [`Lab::spawn`] to exit (one told to stop some other
    /// way); returns its exit status code if it exited.
    pub fn wait(&self, pid: u32) -> Option<i32> {
        let mut children = self.children.lock().ok()?;
        let pos = children.iter().position(|c| c.id() == pid)?;
        let mut child = children.remove(pos);
        let status = child.wait().ok()?;
        status.code()
    }

    /// Whether host `i` has `addr` on any interface (`ip -n NS addr`).
    pub fn has_addr(&self, i: usize, addr: &str) -> bool {
        sh("ip", &["-n", &self.hosts[i].ns, "-o", "addr", "show"])
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .any(|w| w.split('/').next() == Some(addr))
            })
            .unwrap_or(false)
    }

    /// `10.X.Y.last`.
    pub fn addr(&self, last: u8) -> Ipv4Addr {
        let o = self.subnet.octets();
        Ipv4Addr::new(o[0], o[1], o[2], last)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Ok(mut children) = self.children.lock() {
            for c in children.iter_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        for h in &self.hosts {
            // Anything started behind our back in the namespace goes too.
            if let Ok(o) = sh("ip", &["netns", "pids", &h.ns]) {
                for p in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    if let Ok(p) = p.parse::<i32>() {
                        // SAFETY: kill(2); the pid is inside our own namespace.
                        unsafe { libc::kill(p, libc::SIGKILL) };
                    }
                }
            }
            let _ = ip(&["netns", "del", &h.ns]);
        }
        let _ = ip(&["netns", "del", &self.bridge_ns]);
    }
}

/// Deletes the namespaces an earlier run of this crate left behind because its process was
/// killed before its `Drop` ran (SIGKILL, a test harness's timeout): ours are named
/// `vr<pid>x...` ([`Lab`]) or `vn<pid>x...` ([`Netns`]), and one whose pid no longer exists
/// is an orphan. Processes still inside are killed first. Namespaces of live processes,
/// and any other name, are left alone.
fn sweep_orphans() {
    let Ok(dir) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("vr")
            .or_else(|| name.strip_prefix("vn"))
            .and_then(|rest| rest.split_once('x'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if let Ok(o) = sh("ip", &["netns", "pids", &name]) {
            for p in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                if let Ok(p) = p.parse::<i32>() {
                    // SAFETY: kill(2) with a pid read from the orphaned namespace.
                    unsafe { libc::kill(p, libc::SIGKILL) };
                }
            }
        }
        let _ = ip(&["netns", "del", &name]);
    }
}

/// One throw-away network namespace holding only `lo` (up): for tests that run servers and
/// clients on its loopback. Named after the pid and a counter; dropping it (also while a test
/// panics) kills every process inside and deletes it.
pub struct Netns {
    /// Its name (`ip netns` / `/run/netns/NAME`).
    pub name: String,
}

impl Netns {
    /// Creates the namespace and brings its `lo` up.
    pub fn new() -> Result<Netns, String> {
        sweep_orphans();
        let c = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("vn{}x{c}", std::process::id());
        ip(&["netns", "add", &name])?;
        // From here on, dropping it cleans up.
        let ns = Netns { name };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Runs `prog ARGS` inside the namespace to completion (`ip netns exec`).
    pub fn exec(&self, prog: &str, args: &[&str]) -> Result<Output, String> {
        let mut all = vec!["netns", "exec", &self.name, prog];
        all.extend_from_slice(args);
        sh("ip", &all)
    }

    /// Runs `f` on a new thread that has entered the namespace, and returns what it returns
    /// (a panic in `f` goes on in the caller). The sockets `f` opens, and the processes it
    /// starts, live in the namespace.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        use std::os::fd::AsRawFd;
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|scope| {
            let inside = scope.spawn(|| {
                let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                // SAFETY: setns(2) with a namespace file we just opened; it only changes
                // this thread's network namespace.
                let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(r, 0, "setns {path}: {}", std::io::Error::last_os_error());
                f()
            });
            inside
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(o) = sh("ip", &["netns", "pids", &self.name]) {
            for p in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                if let Ok(p) = p.parse::<i32>() {
                    // SAFETY: kill(2); the pid is inside our own namespace.
                    unsafe { libc::kill(p, libc::SIGKILL) };
                }
            }
        }
        let _ = ip(&["netns", "del", &self.name]);
    }
}

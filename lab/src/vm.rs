//! A throw-away QEMU VM for tests that need kernel features this machine's kernel lacks
//! (IPVS, netem): [`run`] boots Debian's cloud kernel with a hand-made initramfs, runs a bash
//! script as the guest's test, and returns its exit status and stdout.
//!
//! What lives where:
//! - [`run`], [`VmSpec`], [`VmRun`], [`VmError`] (this file): the API. [`run`] builds the
//!   initramfs (three concatenated `newc` archives: the cached modules layer, the base layer
//!   of host tools, the run's layer), starts QEMU (`-accel tcg -cpu max -M pc`: KVM does not
//!   work on this host) with the kernel console on the first UART (a file, the
//!   [`VmRun::console`]) and the test's stdout on the second (QEMU's stdout, a pipe), and
//!   reads the exit status from the marker the guest's `/init` prints last. QEMU is killed
//!   when the deadline passes, when [`run`] returns or unwinds, and when the thread that
//!   started it dies (`PR_SET_PDEATHSIG`): no QEMU is ever left behind.
//! - [`kernel`] (`vm/kernel.rs`): the guest kernel, `linux-image-cloud-amd64`'s dependency,
//!   downloaded and prepared once into [`cache_dir`] (`/var/cache/vrrp-ipvs-vm/<kver>`, or
//!   `$VRRP_VM_CACHE`) under a lock, with the module layer ([`MODULES`]).
//! - `vm/cpio.rs`: the `newc` archive writer.
//! - `vm/init.sh`: the guest's `/init` (mounts, modules, `lo` up, markers, `poweroff -f`).
//! - `vm/prelude.sh` ([`PRELUDE`]): bash helpers every test script can call (`vm_ns`,
//!   `vm_veth`, `vm_httpd`, `vm_wait_port`, `vm_http_get`, ...), listed at its top.
//!
//! The guest: busybox (its applets in `/bin`, `/sbin`, `/usr/bin`, `/usr/sbin` except where a
//! real tool is), bash, `ip`, `tc`, `genl`, `ss`, `ipvsadm`, `keepalived`, `kmod` (as
//! `modprobe`, ...), each with the libraries `ldd` lists; [`VmSpec::binaries`] land in
//! `/usr/local/bin`, [`VmSpec::files`] at their paths, the script at `/etc/vm/test.sh`; it runs
//! in `/root` with stdin from `/dev/null` and its stderr on the console. `/proc`, `/sys`, `/dev`,
//! `/tmp`, `/run` (= `/var/run`) are mounted; `/etc` has `passwd` and `group` for root and
//! nobody. The modules of [`BOOT_MODULES`] are loaded at boot, the other [`MODULES`] on
//! demand. The binaries go in without their debug information (`strip --strip-debug`).
//!
//! Costs, measured on the 2-core build machine: first use 3-5.5 s (a 27 MB download; the
//! cache keeps 54 MB); a run's initramfs (about 40 MB, most of it keepalived's libraries)
//! takes 0.1-0.2 s to build, so it is not cached; boot to the test 2.3-4 s (5.5 s under a
//! heavy load); QEMU uses a full core meanwhile.
//!
//! Environment: `VRRP_VM_CACHE` (the kernel cache), `VRRP_VM_KEEP=1` (keep the run's folder
//! in `/tmp`, with the initramfs and the console log, and print its path), `VRRP_VM_APPEND`
//! (more kernel parameters, e.g. `loglevel=8 initcall_debug`), `VRRP_VM_QEMU` (another QEMU
//! binary).

mod cpio;
mod kernel;

pub use kernel::{cache_dir, kernel, Kernel, BOOT_MODULES, DEFAULT_CACHE, KERNEL_PACKAGE, MODULES};

use cpio::{Cpio, Source};
use kernel::run_cmd;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The bash helpers sourced before every test script (see the list at its top).
pub const PRELUDE: &str = include_str!("vm/prelude.sh");

/// The guest's `/init`.
const INIT: &str = include_str!("vm/init.sh");

/// What `/init` runs with bash: the prelude, then the test.
const MAIN: &str = ". /etc/vm/prelude.sh\n. /etc/vm/test.sh\n";

const START: &str = "@@VRRP-VM-START@@";
const EXIT: &str = "\n@@VRRP-VM-EXIT ";

/// Host tools put into every guest: (name, guest folder).
const TOOLS: &[(&str, &str)] = &[
    ("bash", "bin"),
    ("ip", "usr/sbin"),
    ("tc", "usr/sbin"),
    ("genl", "usr/sbin"),
    ("ss", "usr/sbin"),
    ("ipvsadm", "usr/sbin"),
    ("keepalived", "usr/sbin"),
    ("kmod", "usr/bin"),
];

/// The names `kmod` answers to, linked into `/usr/sbin`.
const KMOD_NAMES: &[&str] = &["modprobe", "insmod", "rmmod", "lsmod", "modinfo", "depmod"];

/// What to run in the VM.
#[derive(Clone, Debug)]
pub struct VmSpec {
    /// Host executables to copy to the guest's `/usr/local/bin/<file name>`, with their libraries.
    pub binaries: Vec<PathBuf>,
    /// Files to create in the guest: (absolute guest path, contents); mode 0755 if the
    /// contents start with `#!`, else 0644.
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// The test: a bash script, run after [`PRELUDE`]; its exit status is [`VmRun::status`].
    pub script: String,
    /// Wall-clock limit from QEMU's start, boot included (QEMU is killed after it); the
    /// kernel's first-use download and the initramfs come before and are not counted.
    pub timeout: Duration,
    /// The guest's memory, at least (raised to 3 × the initramfs + 96 MB when that is more).
    pub memory_mb: u32,
}

impl Default for VmSpec {
    fn default() -> Self {
        VmSpec {
            binaries: Vec::new(),
            files: Vec::new(),
            script: String::new(),
            timeout: Duration::from_secs(60),
            memory_mb: 256,
        }
    }
}

impl VmSpec {
    /// A spec running `script`, with the defaults (60 s, 256 MB, nothing else copied in).
    pub fn new(script: impl Into<String>) -> VmSpec {
        VmSpec {
            script: script.into(),
            ..VmSpec::default()
        }
    }
}

/// The outcome of a run whose guest reported the test's exit status.
#[derive(Clone, Debug)]
pub struct VmRun {
    /// The test script's exit status.
    pub status: i32,
    /// What the test printed on stdout.
    pub stdout: String,
    /// The last lines of the console: kernel messages, `/init`'s and the test's stderr.
    pub console_tail: String,
    /// The whole console.
    pub console: String,
    /// The guest kernel's release.
    pub kernel: String,
    /// Time spent before QEMU started: kernel (first use: download) and initramfs.
    pub prepare: Duration,
    /// From QEMU's start to the guest's start marker, just before the test runs.
    pub boot_time: Duration,
    /// The whole [`run`] call.
    pub total: Duration,
}

impl VmRun {
    /// A report for assertion messages: status, timings, stdout and the console's tail.
    pub fn report(&self) -> String {
        format!(
            "VM test exited {} (kernel {}, prepare {:?}, boot {:?}, total {:?})\n\
             --- stdout ---\n{}\n--- console (tail) ---\n{}",
            self.status,
            self.kernel,
            self.prepare,
            self.boot_time,
            self.total,
            self.stdout,
            self.console_tail
        )
    }
}

/// Why a VM run did not produce a test status.
#[derive(Clone, Debug)]
pub enum VmError {
    /// No guest kernel: the package could not be resolved, downloaded or prepared.
    NoKernel(String),
    /// QEMU (`qemu-system-x86_64`) is not installed or could not be started.
    QemuMissing(String),
    /// The initramfs could not be built (a host tool or library missing, ...).
    Initramfs(String),
    /// QEMU stopped without the guest reporting the test's status.
    BootFailed {
        /// What went wrong, as far as the host can tell.
        reason: String,
        /// The guest's stdout so far.
        stdout: String,
        /// The last lines of the console.
        console_tail: String,
        /// QEMU's own stderr.
        qemu_stderr: String,
    },
    /// The deadline passed; QEMU was killed.
    TimedOut {
        /// The spec's timeout.
        after: Duration,
        /// Whether the guest had reached its start marker.
        booted: bool,
        /// The guest's stdout so far.
        stdout: String,
        /// The last lines of the console.
        console_tail: String,
    },
    /// A host-side I/O error (temporary folder, ...).
    Io(String),
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmError::NoKernel(e) => write!(f, "VM: no guest kernel: {e}"),
            VmError::QemuMissing(e) => write!(
                f,
                "VM: cannot start qemu-system-x86_64 ({e}); install qemu-system-x86 (scripts/test.sh does)"
            ),
            VmError::Initramfs(e) => write!(f, "VM: cannot build the initramfs: {e}"),
            VmError::BootFailed {
                reason,
                stdout,
                console_tail,
                qemu_stderr,
            } => write!(
                f,
                "VM: no test status from the guest: {reason}\n--- stdout ---\n{stdout}\n\
                 --- console (tail) ---\n{console_tail}\n--- qemu stderr ---\n{qemu_stderr}"
            ),
            VmError::TimedOut {
                after,
                booted,
                stdout,
                console_tail,
            } => write!(
                f,
                "VM: timed out after {after:?} ({}); QEMU killed\n--- stdout ---\n{stdout}\n\
                 --- console (tail) ---\n{console_tail}",
                if *booted {
                    "the test was running"
                } else {
                    "the guest never reached its test"
                }
            ),
            VmError::Io(e) => write!(f, "VM: {e}"),
        }
    }
}

impl std::error::Error for VmError {}

/// Boots the VM, runs `spec.script` and returns its status and output; see the module
/// documentation. A failing script is an `Ok` with a non-zero [`VmRun::status`]; `Err` means
/// there was no status to report.
pub fn run(spec: &VmSpec) -> Result<VmRun, VmError> {
    let t0 = Instant::now();
    let k = kernel()?;
    let dir = RunDir::new()?;
    let initrd = dir.0.join("initrd.cpio");
    let initrd_size = build_initrd(&k, spec, &initrd, &dir.0)?;
    let prepare = t0.elapsed();
    // The unpacked initramfs lives in the guest's rootfs, limited to half its memory, while
    // the archive still takes its own room.
    let memory_mb = spec
        .memory_mb
        .max((3 * initrd_size / (1 << 20)) as u32 + 96);

    let console = dir.0.join("console.log");
    let qemu_err = dir.0.join("qemu.stderr");
    let mut cmd = qemu_command(&k, memory_mb, &initrd, &console);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(
        std::fs::File::create(&qemu_err).map_err(|e| VmError::Io(format!("qemu.stderr: {e}")))?,
    );
    // SAFETY: prctl(2) only, between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| VmError::QemuMissing(format!("{}: {e}", qemu_binary())))?;
    let mut qemu = Qemu(child);
    let mut out = qemu
        .0
        .stdout
        .take()
        .ok_or_else(|| VmError::Io("no qemu stdout".into()))?;

    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = started + spec.timeout;
    let mut stdout = Vec::new();
    let mut boot_time = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => {
                stdout.extend_from_slice(&chunk);
                if boot_time.is_none() && find(&stdout, START.as_bytes()).is_some() {
                    boot_time = Some(started.elapsed());
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                qemu.kill();
                dir.keep_if_asked();
                let _ = reader.join();
                while let Ok(chunk) = rx.try_recv() {
                    stdout.extend_from_slice(&chunk);
                }
                return Err(VmError::TimedOut {
                    after: spec.timeout,
                    booted: boot_time.is_some(),
                    stdout: test_stdout(&stdout).0,
                    console_tail: tail(&read_lossy(&console), 60),
                });
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = reader.join();
    let exit = qemu.wait();
    let console_text = read_lossy(&console);
    let (text, status) = test_stdout(&stdout);
    dir.keep_if_asked();
    // The kernel goes on when the initramfs does not fit, with files missing or cut short.
    if let Some(line) = console_text
        .lines()
        .find(|l| l.contains("Initramfs unpacking failed"))
    {
        return Err(VmError::BootFailed {
            reason: format!(
                "the initramfs ({} MB) was not unpacked whole in {memory_mb} MB: {}",
                initrd_size >> 20,
                line.trim()
            ),
            stdout: text,
            console_tail: tail(&console_text, 60),
            qemu_stderr: read_lossy(&qemu_err),
        });
    }
    match (boot_time, status) {
        (Some(boot_time), Some(status)) => Ok(VmRun {
            status,
            stdout: text,
            console_tail: tail(&console_text, 60),
            console: console_text,
            kernel: k.version.clone(),
            prepare,
            boot_time,
            total: t0.elapsed(),
        }),
        _ => Err(VmError::BootFailed {
            reason: format!(
                "QEMU exited ({exit}) {}",
                if boot_time.is_some() {
                    "after the test started but without its exit marker"
                } else {
                    "before the guest's start marker"
                }
            ),
            stdout: text,
            console_tail: tail(&console_text, 60),
            qemu_stderr: read_lossy(&qemu_err),
        }),
    }
}

/// The QEMU binary: `$VRRP_VM_QEMU`, else `qemu-system-x86_64`.
fn qemu_binary() -> String {
    std::env::var("VRRP_VM_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into())
}

/// QEMU's arguments that do not depend on the run.
#[rustfmt::skip]
const QEMU_ARGS: &[&str] = &[
    "-accel", "tcg,tb-size=64", "-cpu", "max", "-M", "pc", "-smp", "1",
    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
    "-chardev", "stdio,id=out,signal=off",
    "-device", "isa-serial,chardev=out,iobase=0x2f8,irq=3",
];

fn qemu_command(k: &Kernel, memory_mb: u32, initrd: &Path, console: &Path) -> Command {
    let mut c = Command::new(qemu_binary());
    c.args(QEMU_ARGS)
        .args(["-m", &memory_mb.to_string()])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-kernel")
        .arg(&k.image)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(kernel_cmdline());
    c
}

/// The guest kernel's command line, plus `$VRRP_VM_APPEND` (e.g. `loglevel=7` to debug a boot).
fn kernel_cmdline() -> String {
    let mut line = String::from("console=ttyS0 panic=-1 quiet loglevel=3");
    if let Ok(extra) = std::env::var("VRRP_VM_APPEND") {
        line.push(' ');
        line.push_str(&extra);
    }
    line
}

/// The test's stdout (between the markers) and its status, if the exit marker came.
fn test_stdout(raw: &[u8]) -> (String, Option<i32>) {
    let after_start = match find(raw, START.as_bytes()) {
        Some(i) => {
            let rest = &raw[i + START.len()..];
            rest.strip_prefix(b"\n").unwrap_or(rest)
        }
        None => raw,
    };
    match rfind(after_start, EXIT.as_bytes()) {
        Some(i) => {
            let status = std::str::from_utf8(&after_start[i + EXIT.len()..])
                .ok()
                .and_then(|s| s.split("@@").next())
                .and_then(|s| s.trim().parse().ok());
            (
                String::from_utf8_lossy(&after_start[..i]).into_owned(),
                status,
            )
        }
        None => (String::from_utf8_lossy(after_start).into_owned(), None),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn read_lossy(p: &Path) -> String {
    std::fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// The last `n` lines of `s`.
fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// QEMU, killed (and reaped) on drop.
struct Qemu(Child);

impl Qemu {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    fn wait(&mut self) -> String {
        match self.0.wait() {
            Ok(s) => s.to_string(),
            Err(e) => e.to_string(),
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.kill();
        }
    }
}

/// The run's temporary folder, removed on drop unless `VRRP_VM_KEEP` is set.
struct RunDir(PathBuf);

static RUNS: AtomicU32 = AtomicU32::new(0);

impl RunDir {
    fn new() -> Result<RunDir, VmError> {
        let p = std::env::temp_dir().join(format!(
            "vrrp-vm-{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).map_err(|e| VmError::Io(format!("{}: {e}", p.display())))?;
        Ok(RunDir(p))
    }

    fn keep(&self) -> bool {
        std::env::var_os("VRRP_VM_KEEP").is_some_and(|v| !v.is_empty() && v != "0")
    }

    fn keep_if_asked(&self) {
        if self.keep() {
            eprintln!("VRRP_VM_KEEP: run folder kept: {}", self.0.display());
        }
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.keep() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A host executable by name: `$PATH` first, then the usual folders (a test's `$PATH` may
/// lack the sbin ones).
fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .filter(|d| !d.is_empty())
        .chain([
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found
}

/// The libraries `ldd` lists for `exe`, the dynamic loader included (none if static).
fn libraries(exe: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("ldd")
        .arg(exe)
        .output()
        .map_err(|e| format!("ldd: {e}"))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if text.contains("not a dynamic executable") || text.contains("statically linked") {
        return Ok(Vec::new());
    }
    if !out.status.success() {
        return Err(format!("ldd {}: {}", exe.display(), text.trim()));
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.contains("not found") {
            return Err(format!("ldd {}: {line}", exe.display()));
        }
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.trim(),
            None => line,
        };
        let path = path.split(" (").next().unwrap_or("").trim();
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    Ok(libs)
}

/// Puts host executable `exe` at guest path `guest`, with its libraries at their host paths.
fn add_executable(c: &mut Cpio, exe: &Path, guest: &str) -> Result<(), String> {
    c.file(guest, 0o755, Source::Host(exe.to_path_buf()));
    for lib in libraries(exe)? {
        let g = lib.to_string_lossy().into_owned();
        if !c.contains(&g) {
            c.file(&g, 0o755, Source::Host(lib));
        }
    }
    Ok(())
}

/// The base layer: busybox and its applets, the host tools, `/init`, `/etc`.
fn base_layer(k: &Kernel) -> Result<Cpio, String> {
    let mut c = Cpio::default();
    for d in [
        "proc",
        "sys",
        "dev",
        "tmp",
        "run",
        "root",
        "mnt",
        "var/tmp",
        "var/lib",
        "etc/keepalived",
    ] {
        c.dir(d);
    }
    c.symlink("var/run", "../run");
    c.chardev("dev/console", 0o600, 5, 1);
    c.chardev("dev/null", 0o666, 1, 3);

    let busybox = find_tool("busybox")
        .ok_or("busybox not found on the host (apt-get install busybox-static)")?;
    add_executable(&mut c, &busybox, "bin/busybox")?;
    let mut real: Vec<&str> = TOOLS.iter().map(|(n, _)| *n).collect();
    real.extend(KMOD_NAMES);
    for (name, dir) in TOOLS {
        let host = find_tool(name).ok_or_else(|| {
            format!("{name} not found on the host (scripts/test.sh installs what the VM needs)")
        })?;
        add_executable(&mut c, &host, &format!("{dir}/{name}"))?;
    }
    c.symlink("usr/bin/bash", "/bin/bash");
    // Not in /sbin: until /init points the kernel at /usr/sbin/modprobe, the kernel's own
    // requests (crypto self-tests during boot: a second under TCG) fail at once.
    for n in KMOD_NAMES {
        c.symlink(&format!("usr/sbin/{n}"), "/usr/bin/kmod");
    }
    let list = run_cmd(Command::new(&busybox).arg("--list-full"))?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let name = applet.rsplit('/').next().unwrap_or(applet);
        if !applet.contains('/') || name == "busybox" || real.contains(&name) || c.contains(applet)
        {
            continue;
        }
        c.symlink(applet, "/bin/busybox");
    }

    c.file("init", 0o755, Source::Bytes(INIT.as_bytes().to_vec()));
    c.file(
        "etc/vm/prelude.sh",
        0o644,
        Source::Bytes(PRELUDE.as_bytes().to_vec()),
    );
    c.file(
        "etc/vm/main.sh",
        0o644,
        Source::Bytes(MAIN.as_bytes().to_vec()),
    );
    let boot: Vec<&str> = BOOT_MODULES
        .iter()
        .copied()
        .filter(|m| k.modules.iter().any(|x| x == m))
        .collect();
    c.file(
        "etc/vm/boot-modules",
        0o644,
        Source::Bytes(format!("{}\n", boot.join(" ")).into_bytes()),
    );
    let etc: &[(&str, &str)] = &[
        ("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
        ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        ("etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\nservices: files\nprotocols: files\n"),
        ("etc/hosts", "127.0.0.1 localhost vm\n::1 localhost\n"),
        ("etc/hostname", "vm\n"),
    ];
    for (p, text) in etc {
        c.file(p, 0o644, Source::Bytes(text.as_bytes().to_vec()));
    }
    // The loader's cache: libraries found through it (outside the default folders) are at
    // the same paths in the guest.
    for p in ["/etc/protocols", "/etc/services", "/etc/ld.so.cache"] {
        if Path::new(p).is_file() {
            c.file(p, 0o644, Source::Host(PathBuf::from(p)));
        }
    }
    Ok(c)
}

/// The run's layer: the spec's binaries (without their debug information: a debug build of
/// the daemon is 80 MB, too much for the guest's memory; `strip --strip-debug` keeps the
/// symbols, for backtraces), files and script. `scratch`: a folder for the stripped copies.
fn run_layer(spec: &VmSpec, scratch: &Path) -> Result<Cpio, String> {
    let mut c = Cpio::default();
    for b in &spec.binaries {
        let name = b
            .file_name()
            .ok_or_else(|| format!("{}: no file name", b.display()))?
            .to_string_lossy()
            .into_owned();
        if !b.is_file() {
            return Err(format!("binary {} does not exist", b.display()));
        }
        let guest = format!("usr/local/bin/{name}");
        add_executable(&mut c, b, &guest)?;
        let stripped = scratch.join(format!("{name}.stripped"));
        let ok = Command::new("strip")
            .args(["--strip-debug", "-o"])
            .arg(&stripped)
            .arg(b)
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            c.file(&guest, 0o755, Source::Host(stripped));
        }
    }
    for (p, data) in &spec.files {
        if !p.is_absolute() {
            return Err(format!(
                "guest file {}: the path must be absolute",
                p.display()
            ));
        }
        let mode = if data.starts_with(b"#!") {
            0o755
        } else {
            0o644
        };
        c.file(&p.to_string_lossy(), mode, Source::Bytes(data.clone()));
    }
    c.file(
        "etc/vm/test.sh",
        0o644,
        Source::Bytes(spec.script.as_bytes().to_vec()),
    );
    Ok(c)
}

/// Writes the initramfs: modules layer (cached with the kernel), base layer, run layer.
fn build_initrd(k: &Kernel, spec: &VmSpec, path: &Path, scratch: &Path) -> Result<u64, VmError> {
    let err = |e: String| VmError::Initramfs(e);
    let f = std::fs::File::create(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
    let mut w = std::io::BufWriter::new(f);
    let mods = std::fs::read(&k.modules_cpio)
        .map_err(|e| err(format!("{}: {e}", k.modules_cpio.display())))?;
    w.write_all(&mods).map_err(|e| err(e.to_string()))?;
    base_layer(k)
        .map_err(err)?
        .write_to(&mut w)
        .map_err(|e| err(format!("base layer: {e}")))?;
    run_layer(spec, scratch)
        .map_err(err)?
        .write_to(&mut w)
        .map_err(|e| err(format!("run layer: {e}")))?;
    w.flush().map_err(|e| err(e.to_string()))?;
    let f = w.into_inner().map_err(|e| err(e.to_string()))?;
    Ok(f.metadata().map_err(|e| err(e.to_string()))?.len())
}

/// `ipvsadm -Ln` output as comparable lines: the three header lines dropped, runs of spaces
/// collapsed, destination lines cut after the weight (`  -> 10.0.1.1:80 Masq 1`: the
/// connection counters go) and indented by two spaces, as
/// `vrrp_engine::lvs::IpvsTable::to_ipvsadm_lines` writes them.
pub fn ipvsadm_lines<S: AsRef<str>>(lines: &[S]) -> Vec<String> {
    lines
        .iter()
        .map(AsRef::as_ref)
        .filter(|l| {
            !l.starts_with("IP Virtual Server")
                && !l.starts_with("Prot LocalAddress")
                && !l.trim_start().starts_with("-> RemoteAddress")
        })
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.first() == Some(&"->") {
                format!("  {}", w[..4.min(w.len())].join(" "))
            } else {
                w.join(" ")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_frame_the_stdout() {
        let raw = b"junk@@VRRP-VM-START@@\nhello\nworld\n\n@@VRRP-VM-EXIT 3@@\n";
        assert_eq!(test_stdout(raw), ("hello\nworld\n".to_string(), Some(3)));
        let cut = b"@@VRRP-VM-START@@\nhello\n";
        assert_eq!(test_stdout(cut), ("hello\n".to_string(), None));
    }

    #[test]
    fn ldd_lists_the_loader() {
        let libs = libraries(Path::new("/bin/sh")).unwrap();
        assert!(
            libs.iter()
                .any(|l| l.to_string_lossy().contains("ld-linux")),
            "{libs:?}"
        );
    }
}

//! The guest kernel: Debian's `linux-image-cloud-amd64`, prepared once into a cache folder.
//!
//! [`kernel`] resolves the package the meta-package depends on (`apt-cache depends`), and if
//! `CACHE/<kver>` does not exist yet, prepares it under an exclusive `flock` on `CACHE/.lock`
//! in a temporary folder that is renamed into place when complete (so two test processes can
//! race for it safely, and an interrupted preparation leaves no half-made kernel behind):
//! `apt-get download` + `dpkg-deb -x` (nothing is installed), `depmod`, the plain `vmlinux`
//! pulled out of the bzImage (booting it via its PVH note saves about 0.5 s per boot; the
//! bzImage itself is kept instead when that fails), and `modules.cpio`, an initramfs layer
//! with the closure of [`MODULES`] and its own `depmod` files.

use super::cpio::Cpio;
use super::VmError;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The meta-package whose dependency names the kernel to use.
pub const KERNEL_PACKAGE: &str = "linux-image-cloud-amd64";

/// The default cache folder (overridden by the environment variable `VRRP_VM_CACHE`).
pub const DEFAULT_CACHE: &str = "/var/cache/vrrp-ipvs-vm";

/// Modules put into the guest (those the kernel has; their dependencies come along).
pub const MODULES: &[&str] = &[
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_wlc",
    "ip_vs_lc",
    "ip_vs_sh",
    "ip_vs_dh",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_fo",
    "ip_vs_ovf",
    "ip_vs_mh",
    "ip_vs_twos",
    "ip_vs_ftp",
    "xt_ipvs",
    "nf_conntrack",
    "nf_conntrack_netlink",
    "veth",
    "dummy",
    "bridge",
    "macvlan",
    "8021q",
    "ifb",
    "sch_netem",
    "sch_tbf",
    "sch_htb",
    "sch_prio",
    "sch_ingress",
    "cls_u32",
    "cls_matchall",
    "act_mirred",
    "act_gact",
];

/// Modules the guest's `/init` loads at boot (the others load on demand: the kernel calls
/// the guest's `/sbin/modprobe`).
pub const BOOT_MODULES: &[&str] = &["ip_vs", "ip_vs_rr", "ip_vs_wrr", "veth", "sch_netem"];

/// A prepared guest kernel.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// Its release, e.g. `6.1.0-57-cloud-amd64`.
    pub version: String,
    /// Its cache folder, `CACHE/<version>`.
    pub dir: PathBuf,
    /// What QEMU boots: `vmlinux` (plain ELF), or `vmlinuz` when extraction failed.
    pub image: PathBuf,
    /// The initramfs layer holding the modules under `lib/modules/<version>`.
    pub modules_cpio: PathBuf,
    /// The names of [`MODULES`] this kernel has (as modules or built in).
    pub modules: Vec<String>,
    /// How long this process spent preparing it (`None`: it was already in the cache).
    pub prepared_in: Option<Duration>,
}

/// The cache folder: `$VRRP_VM_CACHE`, else [`DEFAULT_CACHE`].
pub fn cache_dir() -> PathBuf {
    std::env::var_os("VRRP_VM_CACHE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CACHE))
}

/// The guest kernel, prepared on first use (see the module documentation); memoised per process.
pub fn kernel() -> Result<Kernel, VmError> {
    static KERNEL: OnceLock<Result<Kernel, VmError>> = OnceLock::new();
    let k = KERNEL.get_or_init(|| {
        let start = Instant::now();
        let (k, prepared) = prepare(&cache_dir())?;
        Ok(Kernel {
            prepared_in: prepared.then(|| start.elapsed()),
            ..k
        })
    });
    k.clone()
}

/// Runs a command; `Err` with what it printed when it fails.
pub(crate) fn run_cmd(cmd: &mut Command) -> Result<std::process::Output, String> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| format!("{shown}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{shown} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        ))
    }
}

/// `linux-image-6.1.0-57-cloud-amd64`, from `apt-cache depends linux-image-cloud-amd64`.
///
/// `apt-cache` takes 0.7 s here (no binary package cache), so the answer is kept in
/// `CACHE/resolved`, with a fingerprint of `/var/lib/apt/lists` (newest modification time,
/// number of entries): it is asked again only after an `apt-get update`.
fn resolve_package(cache: &Path) -> Result<String, String> {
    let memo = cache.join("resolved");
    let fp = lists_fingerprint();
    if let (Some(fp), Ok(text)) = (&fp, std::fs::read_to_string(&memo)) {
        if let Some((seen, pkg)) = text.trim().split_once(' ') {
            if seen == fp && !pkg.is_empty() {
                return Ok(pkg.to_string());
            }
        }
    }
    let out = run_cmd(Command::new("apt-cache").args(["depends", KERNEL_PACKAGE]))?;
    let pkg = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(|d| d.trim().trim_start_matches('<').trim_end_matches('>'))
        .find(|d| d.starts_with("linux-image-") && *d != KERNEL_PACKAGE)
        .map(str::to_string)
        .ok_or_else(|| format!("apt-cache depends {KERNEL_PACKAGE}: no linux-image dependency"))?;
    if let Some(fp) = fp {
        // Best effort: written aside then renamed, so a reader never sees half of it.
        let tmp = cache.join(format!(".resolved-{}", std::process::id()));
        if std::fs::create_dir_all(cache).is_ok()
            && std::fs::write(&tmp, format!("{fp} {pkg}\n")).is_ok()
        {
            let _ = std::fs::rename(&tmp, &memo);
        }
    }
    Ok(pkg)
}

/// `<newest mtime in ns>-<entries>` of `/var/lib/apt/lists`, or `None` if unreadable.
fn lists_fingerprint() -> Option<String> {
    let dir = Path::new("/var/lib/apt/lists");
    let mtime = |m: &std::fs::Metadata| {
        m.modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos())
    };
    let mut newest = mtime(&std::fs::metadata(dir).ok()?);
    let mut n = 0;
    for e in std::fs::read_dir(dir).ok()? {
        let m = e.ok()?.metadata().ok()?;
        newest = newest.max(mtime(&m));
        n += 1;
    }
    Some(format!("{newest}-{n}"))
}

/// The kernel in `cache`, preparing it if needed; the flag says whether this call did.
fn prepare(cache: &Path) -> Result<(Kernel, bool), VmError> {
    let pkg = match resolve_package(cache) {
        Ok(p) => p,
        Err(e) => {
            // No apt lists (offline machine, cleaned image): any kernel already prepared will do.
            return newest_cached(cache).map(|k| (k, false)).ok_or_else(|| {
                VmError::NoKernel(format!("{e}; and nothing in {}", cache.display()))
            });
        }
    };
    let kver = pkg.trim_start_matches("linux-image-").to_string();
    let dir = cache.join(&kver);
    if let Some(k) = load(&dir) {
        return Ok((k, false));
    }
    std::fs::create_dir_all(cache)
        .map_err(|e| VmError::NoKernel(format!("cannot create {}: {e}", cache.display())))?;
    let _lock = Flock::exclusive(&cache.join(".lock"))
        .map_err(|e| VmError::NoKernel(format!("lock in {}: {e}", cache.display())))?;
    // Another process may have prepared it while we waited for the lock.
    if let Some(k) = load(&dir) {
        return Ok((k, false));
    }
    // A folder left incomplete (files deleted by hand) is made again.
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| {
            VmError::NoKernel(format!("removing incomplete {}: {e}", dir.display()))
        })?;
    }
    let tmp = cache.join(format!(".tmp-{kver}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let res = build(&pkg, &kver, &tmp).and_then(|()| {
        std::fs::rename(tmp.join("out"), &dir)
            .map_err(|e| format!("rename into {}: {e}", dir.display()))
    });
    let _ = std::fs::remove_dir_all(&tmp);
    res.map_err(|e| VmError::NoKernel(format!("preparing {pkg} in {}: {e}", cache.display())))?;
    load(&dir)
        .map(|k| (k, true))
        .ok_or_else(|| VmError::NoKernel(format!("{} incomplete after preparation", dir.display())))
}

/// A complete cache entry, if `dir` is one.
fn load(dir: &Path) -> Option<Kernel> {
    let version = dir.file_name()?.to_str()?.to_string();
    let image = ["vmlinux", "vmlinuz"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())?;
    let modules_cpio = dir.join("modules.cpio");
    let modules = std::fs::read_to_string(dir.join("modules.list")).ok()?;
    modules_cpio.is_file().then(|| Kernel {
        version,
        dir: dir.to_path_buf(),
        image,
        modules_cpio,
        modules: modules.split_whitespace().map(str::to_string).collect(),
        prepared_in: None,
    })
}

fn newest_cached(cache: &Path) -> Option<Kernel> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cache)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    dirs.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    dirs.iter().rev().find_map(|d| load(d))
}

/// Downloads and prepares the kernel into `tmp/out`.
fn build(pkg: &str, kver: &str, tmp: &Path) -> Result<(), String> {
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
    let out = tmp.join("out");
    std::fs::create_dir_all(&out).map_err(|e| io("mkdir", e))?;
    run_cmd(
        Command::new("apt-get")
            .args(["download", "-q", "-o", "APT::Sandbox::User=root", pkg])
            .current_dir(tmp),
    )?;
    let deb = std::fs::read_dir(tmp)
        .map_err(|e| io("readdir", e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or("apt-get download left no .deb")?;
    let root = tmp.join("root");
    run_cmd(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    let _ = std::fs::remove_file(&deb);
    let moddir = root.join("lib/modules").join(kver);
    if !moddir.is_dir() {
        return Err(format!("{} has no lib/modules/{kver}", deb.display()));
    }
    run_cmd(Command::new("depmod").arg("-b").arg(&root).arg(kver))
        .map_err(|e| format!("{e} (is kmod installed?)"))?;

    // The module closure, from modules.dep.
    let dep =
        std::fs::read_to_string(moddir.join("modules.dep")).map_err(|e| io("modules.dep", e))?;
    let builtin = std::fs::read_to_string(moddir.join("modules.builtin")).unwrap_or_default();
    let deps = parse_modules_dep(&dep);
    let builtin: BTreeSet<String> = builtin.lines().map(module_name).collect();
    let mut files = BTreeSet::new();
    let mut present = Vec::new();
    for m in MODULES {
        if let Some((path, ds)) = deps.get(*m) {
            files.insert(path.clone());
            files.extend(ds.iter().cloned());
            present.push(m.to_string());
        } else if builtin.contains(*m) {
            present.push(m.to_string());
        }
    }
    let sub = tmp.join("sub");
    let subdir = sub.join("lib/modules").join(kver);
    let extra = [
        "modules.builtin",
        "modules.builtin.modinfo",
        "modules.order",
    ];
    for f in files.iter().map(String::as_str).chain(extra) {
        let from = moddir.join(f);
        if !from.exists() {
            continue;
        }
        let to = subdir.join(f);
        std::fs::create_dir_all(to.parent().unwrap_or(&subdir)).map_err(|e| io("mkdir", e))?;
        std::fs::copy(&from, &to).map_err(|e| io(&from.display().to_string(), e))?;
    }
    run_cmd(Command::new("depmod").arg("-b").arg(&sub).arg(kver))?;
    let mut cpio = Cpio::default();
    cpio.tree(&sub.join("lib"), "lib")
        .map_err(|e| io("modules layer", e))?;
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(out.join("modules.cpio")).map_err(|e| io("modules.cpio", e))?,
    );
    cpio.write_to(&mut w).map_err(|e| io("modules.cpio", e))?;
    std::io::Write::flush(&mut w).map_err(|e| io("modules.cpio", e))?;
    std::fs::write(out.join("modules.list"), present.join("\n") + "\n")
        .map_err(|e| io("modules.list", e))?;

    // The kernel image: the plain vmlinux if it can be pulled out, else the bzImage.
    let bz = root.join("boot").join(format!("vmlinuz-{kver}"));
    let bzimage = std::fs::read(&bz).map_err(|e| io(&bz.display().to_string(), e))?;
    let config = root.join("boot").join(format!("config-{kver}"));
    let _ = std::fs::copy(&config, out.join("config"));
    match extract_vmlinux(&bzimage, tmp) {
        Ok(elf) => std::fs::write(out.join("vmlinux"), elf).map_err(|e| io("vmlinux", e))?,
        Err(why) => {
            std::fs::write(out.join("vmlinux.failed"), &why)
                .map_err(|e| io("vmlinux.failed", e))?;
            std::fs::write(out.join("vmlinuz"), &bzimage).map_err(|e| io("vmlinuz", e))?;
        }
    }
    Ok(())
}

/// The module name of a `modules.dep`/`modules.builtin` path: `kernel/net/x/ip_vs-y.ko.xz` → `ip_vs_y`.
fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split(".ko").next().unwrap_or(file);
    stem.replace('-', "_")
}

/// `name → (path, dependency paths)` from a `modules.dep`.
fn parse_modules_dep(text: &str) -> BTreeMap<String, (String, Vec<String>)> {
    text.lines()
        .filter_map(|l| {
            let (path, deps) = l.split_once(':')?;
            Some((
                module_name(path),
                (
                    path.to_string(),
                    deps.split_whitespace().map(str::to_string).collect(),
                ),
            ))
        })
        .collect()
}

/// The plain ELF kernel inside a bzImage whose payload is lz4-compressed (Debian's): the
/// setup header gives `setup_sects` (0x1f1), `payload_offset` (0x248) and `payload_length`
/// (0x24c); the payload is an lz4 legacy stream followed by the 4-byte uncompressed size.
pub(crate) fn extract_vmlinux(bz: &[u8], tmp: &Path) -> Result<Vec<u8>, String> {
    let u32_at = |o: usize| -> Result<u32, String> {
        bz.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| format!("bzImage too short for offset {o:#x}"))
    };
    if bz.get(0x202..0x206) != Some(b"HdrS") {
        return Err("no HdrS setup header".into());
    }
    let setup_sects = match bz[0x1f1] {
        0 => 4,
        n => n as usize,
    };
    let (off, len) = (u32_at(0x248)? as usize, u32_at(0x24c)? as usize);
    let start = (setup_sects + 1) * 512 + off;
    let payload = bz.get(start..start + len).ok_or_else(|| {
        format!(
            "payload {start}+{len} outside the {}-byte bzImage",
            bz.len()
        )
    })?;
    if payload.len() < 8 || payload[..4] != [0x02, 0x21, 0x4c, 0x18] {
        return Err(format!(
            "payload is not lz4 legacy (starts {:02x?})",
            &payload[..payload.len().min(4)]
        ));
    }
    let (stream, size) = payload.split_at(payload.len() - 4);
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
    let src = tmp.join("payload.lz4");
    let dst = tmp.join("vmlinux.elf");
    std::fs::write(&src, stream).map_err(|e| format!("payload.lz4: {e}"))?;
    run_cmd(
        Command::new("lz4")
            .args(["-d", "-f", "-q"])
            .arg(&src)
            .arg(&dst),
    )
    .map_err(|e| format!("{e} (is lz4 installed?)"))?;
    let elf = std::fs::read(&dst).map_err(|e| format!("vmlinux.elf: {e}"))?;
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(&dst);
    if !elf.starts_with(b"\x7fELF") || elf.len() != size {
        return Err(format!(
            "decompressed {} bytes (expected {size}), ELF magic {}",
            elf.len(),
            elf.starts_with(b"\x7fELF")
        ));
    }
    Ok(elf)
}

/// An exclusive `flock(2)` held until dropped.
struct Flock(std::fs::File);

impl Flock {
    fn exclusive(path: &Path) -> std::io::Result<Flock> {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        loop {
            // SAFETY: flock(2) on a descriptor we own.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Flock(f));
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Drop for Flock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: flock(2) on a descriptor we own.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_and_deps() {
        assert_eq!(
            module_name("kernel/net/netfilter/ipvs/ip_vs_rr.ko"),
            "ip_vs_rr"
        );
        assert_eq!(module_name("kernel/drivers/net/foo-bar.ko.xz"), "foo_bar");
        let d = parse_modules_dep(
            "kernel/a/ip_vs_rr.ko: kernel/a/ip_vs.ko kernel/b/nf_conntrack.ko\nkernel/a/ip_vs.ko: kernel/b/nf_conntrack.ko\n",
        );
        assert_eq!(d["ip_vs_rr"].1.len(), 2);
        assert_eq!(d["ip_vs"].0, "kernel/a/ip_vs.ko");
    }

    #[test]
    fn extraction_rejects_what_is_not_a_bzimage() {
        let tmp = std::env::temp_dir();
        assert!(extract_vmlinux(&[0u8; 4096], &tmp)
            .unwrap_err()
            .contains("HdrS"));
    }
}

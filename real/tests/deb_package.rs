//! The Debian package (issue 13, item 4): `cargo deb -p vrrp-real` gives `vrrpd-real`, with
//! the daemon in /usr/sbin, the systemd unit, the man page and the example configuration as a
//! conffile; installed in a clean Debian 12 root, its example passes `vrrpd-real -t`.
//!
//! The package is made from the real metadata (`real/Cargo.toml`) around the binary this
//! test run already built (`cargo deb --no-build --strip --fast`, the debug binary staged as
//! `target/release/vrrpd-real` of a target folder of its own): a release build would cost
//! minutes on the CI machine for the same package layout. The root is a `debootstrap
//! --variant=minbase bookworm` (plus man-db and init-system-helpers, so that `man` finds the
//! page and a unit enabled by mistake would show up), made once into a cache folder
//! (`/var/cache/vrrp-tests/`, or `$VRRP_DEBIAN_ROOT_CACHE`) under a lock and never written
//! again: each step runs in a mount namespace of its own (`unshare`) with the cache as the
//! lower layer of an overlay and /proc mounted, so every mount goes when the step ends,
//! whatever happens, and in an empty network namespace, so nothing in it can reach a LAN.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The Debian release the package is made for (this machine's).
const SUITE: &str = "bookworm";
/// Packages added to minbase in the cached root.
const INCLUDE: &str = "man-db,init-system-helpers";
/// Default cache folder of the prepared root.
const DEFAULT_CACHE: &str = "/var/cache/vrrp-tests";
/// Name of the prepared root in the cache (changes with what it holds).
const ROOT_NAME: &str = "debian-bookworm-minbase-man-db-init-system-helpers";

fn assert_root() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "this test mounts overlays and runs chroot: run it as root (scripts/test.sh does)"
    );
}

/// Runs `cmd`, panicking with its output unless it succeeds.
fn run_ok(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("{shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A per-run folder, removed on drop (pass or fail).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("vrrp-deb-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The package, made by cargo-deb from `real/Cargo.toml` around this run's binary.
fn build_package(dir: &Path) -> PathBuf {
    let release = dir.join("target/release");
    std::fs::create_dir_all(&release).expect("staging folder");
    std::fs::copy(env!("CARGO_BIN_EXE_vrrpd-real"), release.join("vrrpd-real"))
        .expect("stage the binary");
    let deb = dir.join("vrrpd-real.deb");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let start = Instant::now();
    let out = Command::new(env!("CARGO"))
        .current_dir(&workspace)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .args([
            "deb",
            "-p",
            "vrrp-real",
            "--no-build",
            "--no-dbgsym",
            "--strip",
        ])
        .args(["--fast", "--output"])
        .arg(&deb)
        .output()
        .expect("runs cargo");
    assert!(
        out.status.success(),
        "cargo deb failed ({}); is cargo-deb installed (cargo install cargo-deb --locked, as \
         scripts/test.sh does)?\n{}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    eprintln!(
        "cargo deb --no-build: {:.1} s",
        start.elapsed().as_secs_f64()
    );
    deb
}

/// The `dpkg-deb -c` listing as (mode, path) pairs, paths without the leading `.`.
fn listing(deb: &Path) -> Vec<(String, String)> {
    let out = run_ok(Command::new("dpkg-deb").arg("-c").arg(deb));
    text(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mode = l.split_whitespace().next()?.to_string();
            let path = l
                .split_whitespace()
                .nth(5)?
                .trim_start_matches('.')
                .to_string();
            Some((mode, path))
        })
        .collect()
}

/// A control file of the package (`conffiles`, `postinst`, ...), empty when absent.
fn control_file(deb: &Path, name: &str) -> String {
    let out = Command::new("dpkg-deb")
        .arg("-I")
        .arg(deb)
        .arg(name)
        .output()
        .expect("runs dpkg-deb");
    text(&out.stdout)
}

/// The mirror this machine's apt uses for the suite's `main`, if it says (deb822 or
/// one-line sources); debootstrap's default otherwise.
fn host_mirror() -> Option<String> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        files.extend(dir.flatten().map(|e| e.path()));
    }
    for f in files {
        let Ok(body) = std::fs::read_to_string(&f) else {
            continue;
        };
        if f.extension().is_some_and(|e| e == "sources") {
            for stanza in body.split("\n\n") {
                let field = |name: &str| {
                    stanza
                        .lines()
                        .find_map(|l| l.strip_prefix(name).map(str::trim).map(str::to_string))
                };
                let suites = field("Suites:").unwrap_or_default();
                let comps = field("Components:").unwrap_or_default();
                if suites.split_whitespace().any(|s| s == SUITE)
                    && comps.split_whitespace().any(|c| c == "main")
                {
                    if let Some(uri) = field("URIs:") {
                        return uri.split_whitespace().next().map(str::to_string);
                    }
                }
            }
        } else if f.extension().is_some_and(|e| e == "list") {
            for line in body.lines() {
                let w: Vec<&str> = line.split_whitespace().collect();
                // deb [options] URI SUITE COMPONENTS...
                let w: Vec<&str> = w.into_iter().filter(|x| !x.starts_with('[')).collect();
                if w.len() >= 4 && w[0] == "deb" && w[2] == SUITE && w[3..].contains(&"main") {
                    return Some(w[1].to_string());
                }
            }
        }
    }
    None
}

/// The prepared Debian root (made on first use under an exclusive lock, into a temporary
/// folder renamed into place when complete), and how long preparing it took this time.
fn debian_root() -> (PathBuf, Option<Duration>) {
    let cache = std::env::var_os("VRRP_DEBIAN_ROOT_CACHE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CACHE));
    let root = cache.join(ROOT_NAME);
    let complete = |r: &Path| r.join("usr/bin/dpkg").is_file() && r.join("usr/bin/man").is_file();
    if complete(&root) {
        return (root, None);
    }
    std::fs::create_dir_all(&cache).expect("cache folder");
    let lock = std::fs::File::create(cache.join(".lock")).expect("lock file");
    let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .expect("lock the cache");
    if complete(&root) {
        return (root, None);
    }
    // Under the lock, a `.tmp-` folder is what an interrupted preparation left.
    if let Ok(entries) = std::fs::read_dir(&cache) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(".tmp-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let start = Instant::now();
    let tmp = cache.join(format!(".tmp-{ROOT_NAME}-{}", std::process::id()));
    // In a mount namespace of its own: the /proc and /sys it mounts in the new root go with
    // it, even if it is killed half-way.
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "debootstrap"])
        .args(["--variant=minbase", &format!("--include={INCLUDE}"), SUITE])
        .arg(&tmp);
    if let Some(mirror) = host_mirror() {
        cmd.arg(mirror);
    }
    let out = cmd
        .output()
        .expect("runs debootstrap (apt-get install debootstrap)");
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&tmp);
        panic!(
            "{cmd:?}: {}\n{}{}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    if root.exists() {
        std::fs::remove_dir_all(&root).expect("remove an incomplete root");
    }
    std::fs::rename(&tmp, &root).expect("rename the root into place");
    (root, Some(start.elapsed()))
}

/// One step in the root: a private mount namespace (and an empty network and pid
/// namespace) mounts the overlay (`lower` read-only, changes in `dir/upper`, kept across
/// steps) and /proc, then chroots into it. Every mount dies with the step.
fn in_root(lower: &Path, dir: &Path, args: &[&str]) -> Output {
    for d in ["upper", "work", "root"] {
        std::fs::create_dir_all(dir.join(d)).expect("overlay folders");
    }
    let script = r#"set -e
mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/root"
mount -t proc proc "$2/root/proc"
root=$2/root
shift 2
exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$root" "$@""#;
    Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--net",
            "--pid",
            "--fork",
        ])
        .args(["sh", "-c", script, "sh"])
        .arg(lower)
        .arg(dir)
        .args(args)
        .output()
        .expect("runs unshare")
}

fn in_root_ok(lower: &Path, dir: &Path, args: &[&str]) -> Output {
    let out = in_root(lower, dir, args);
    assert!(
        out.status.success(),
        "in the Debian root: {args:?}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

#[test]
fn package_holds_daemon_unit_man_page_and_example_conffile_and_installs_on_debian_12() {
    assert_root();
    let tmp = TempDir::new("pkg");
    let deb = build_package(&tmp.0);

    // What the package holds.
    let files = listing(&deb);
    let mode_of = |path: &str| {
        files
            .iter()
            .find(|(_, p)| p == path)
            .map(|(m, _)| m.clone())
            .unwrap_or_else(|| panic!("{path} not in the package: {files:#?}"))
    };
    assert_eq!(mode_of("/usr/sbin/vrrpd-real"), "-rwxr-xr-x");
    assert_eq!(
        mode_of("/usr/lib/systemd/system/vrrpd-real.service"),
        "-rw-r--r--"
    );
    assert_eq!(mode_of("/usr/share/man/man8/vrrpd-real.8.gz"), "-rw-r--r--");
    assert_eq!(mode_of("/etc/vrrpd/keepalived.conf"), "-rw-r--r--");
    for doc in [
        "copyright",
        "README.md",
        "metrics.md",
        "keepalived-differences.md",
    ] {
        mode_of(&format!("/usr/share/doc/vrrpd-real/{doc}"));
    }
    assert!(
        !files.iter().any(|(_, p)| p.starts_with("/usr/bin/")),
        "a daemon belongs in /usr/sbin: {files:#?}"
    );
    let field = |name: &str| {
        text(&run_ok(Command::new("dpkg-deb").arg("-f").arg(&deb).arg(name)).stdout)
            .trim()
            .to_string()
    };
    assert_eq!(field("Package"), "vrrpd-real");
    // Debian's changelog names the version being packaged in its top entry.
    let changelog =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/debian/changelog"))
            .expect("real/debian/changelog");
    let top = changelog.lines().next().unwrap_or_default();
    assert!(
        top.starts_with(&format!("vrrpd-real ({}) ", field("Version"))),
        "real/debian/changelog's top entry `{top}` is not the package's version {}: add one",
        field("Version")
    );
    mode_of("/usr/share/doc/vrrpd-real/changelog.Debian.gz");
    assert_eq!(field("Section"), "net");
    assert!(field("Depends").contains("libc6"), "{}", field("Depends"));
    assert_eq!(
        control_file(&deb, "conffiles").trim(),
        "/etc/vrrpd/keepalived.conf"
    );
    // Installing neither enables nor starts the service (the example would put an address
    // on the LAN); an upgrade restarts a running one; removal stops it.
    let postinst = control_file(&deb, "postinst");
    assert!(postinst.contains("try-restart"), "{postinst}");
    assert!(!postinst.contains("deb-systemd-invoke start"), "{postinst}");
    assert!(!postinst.contains("_dh_action=start"), "{postinst}");
    let prerm = control_file(&deb, "prerm");
    assert!(prerm.contains("deb-systemd-invoke stop"), "{prerm}");

    // The unit, the binary and the conffile agree on their paths.
    let x = tmp.0.join("x");
    run_ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    let unit =
        std::fs::read_to_string(x.join("usr/lib/systemd/system/vrrpd-real.service")).expect("unit");
    assert!(
        unit.contains("\nExecStart=/usr/sbin/vrrpd-real -f /etc/vrrpd/keepalived.conf"),
        "{unit}"
    );
    assert!(unit.contains("\nDocumentation=man:vrrpd-real(8)"), "{unit}");
    // The man page is the current one: the CLI's own output, gzipped.
    let page = run_ok(
        Command::new("gzip")
            .arg("-dc")
            .arg(x.join("usr/share/man/man8/vrrpd-real.8.gz")),
    );
    let generated = run_ok(Command::new(env!("CARGO_BIN_EXE_vrrpd-real")).arg("--man-page"));
    assert!(
        page.stdout == generated.stdout,
        "stale man page in the package"
    );

    // Installed in a clean Debian 12.
    let (lower, prepared) = debian_root();
    match prepared {
        Some(d) => eprintln!(
            "debootstrap (first run, now cached in {}): {:.1} s",
            lower.display(),
            d.as_secs_f64()
        ),
        None => eprintln!("Debian root from the cache: {}", lower.display()),
    }
    let start = Instant::now();
    let ov = tmp.0.join("ov");
    std::fs::create_dir_all(ov.join("upper/tmp")).expect("upper/tmp");
    // The upper layer's folder hides the lower one's mode: keep /tmp's.
    std::fs::set_permissions(ov.join("upper/tmp"), PermissionsExt::from_mode(0o1777))
        .expect("chmod upper/tmp");
    std::fs::copy(&deb, ov.join("upper/tmp/vrrpd-real.deb")).expect("deb into the root");
    in_root_ok(&lower, &ov, &["dpkg", "-i", "/tmp/vrrpd-real.deb"]);
    let status = in_root_ok(
        &lower,
        &ov,
        &[
            "dpkg-query",
            "-W",
            "-f=${Status} ${Conffiles}",
            "vrrpd-real",
        ],
    );
    let status = text(&status.stdout);
    assert!(status.starts_with("install ok installed"), "{status}");
    assert!(status.contains("/etc/vrrpd/keepalived.conf"), "{status}");
    // Not enabled: deb-systemd-helper (init-system-helpers is in the root) made no link.
    assert!(
        !ov.join("upper/etc/systemd/system/multi-user.target.wants/vrrpd-real.service")
            .exists(),
        "the package enabled the unit on install"
    );

    // The example configuration passes the configuration test, silently (no warning).
    let t = in_root(
        &lower,
        &ov,
        &["vrrpd-real", "-t", "-f", "/etc/vrrpd/keepalived.conf"],
    );
    assert_eq!(
        t.status.code(),
        Some(0),
        "vrrpd-real -t on the example: {}",
        text(&t.stderr)
    );
    assert!(t.stderr.is_empty(), "findings: {}", text(&t.stderr));
    // The unit's own pre-start check is the same command.
    assert!(unit.contains("\nExecStartPre=/usr/sbin/vrrpd-real -t -f /etc/vrrpd/keepalived.conf\n"));

    // man finds the page in section 8 and renders it.
    let w = in_root_ok(&lower, &ov, &["man", "-w", "vrrpd-real"]);
    assert_eq!(
        text(&w.stdout).trim(),
        "/usr/share/man/man8/vrrpd-real.8.gz"
    );
    let shown = in_root_ok(
        &lower,
        &ov,
        &["env", "MANWIDTH=80", "man", "8", "vrrpd-real"],
    );
    let shown = text(&shown.stdout);
    for s in ["SYNOPSIS", "OPTIONS", "FILES", "SEE ALSO", "--config-test"] {
        assert!(shown.contains(s), "`man 8 vrrpd-real` lacks {s}:\n{shown}");
    }

    // Removal keeps the configuration (a conffile), purge removes it.
    in_root_ok(&lower, &ov, &["dpkg", "-r", "vrrpd-real"]);
    in_root_ok(&lower, &ov, &["test", "-f", "/etc/vrrpd/keepalived.conf"]);
    in_root_ok(&lower, &ov, &["test", "!", "-e", "/usr/sbin/vrrpd-real"]);
    in_root_ok(&lower, &ov, &["dpkg", "-P", "vrrpd-real"]);
    in_root_ok(
        &lower,
        &ov,
        &["test", "!", "-e", "/etc/vrrpd/keepalived.conf"],
    );
    eprintln!(
        "install, -t, man, remove, purge in the root: {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

//! The daemon: one [`vrrp_engine::Engine`] for every instance of a keepalived.conf, on real
//! interfaces.
//!
//! The daemon is a driver and nothing more: every protocol and tracking decision is the
//! engine's. It feeds the engine packets, interface reports, check results, reloads (SIGHUP
//! becomes [`vrrp_engine::Engine::reconfigure`]) and priority commands, each with the
//! monotonic time; sleeps on one `timerfd` until [`vrrp_engine::Engine::poll_timeout`]; and
//! carries out the outputs in the engine's order. Consecutive adverts go out in one
//! `sendmmsg`, which keeps that order.
//!
//! What lives where:
//! - this file: start-up (logging, configuration, capabilities, detaching, pid file);
//! - [`driver`]: the event loop and the drain of engine outputs; [`coalesce`]: receive
//!   coalescing (VRRP sockets read on a timer while no instance is Master);
//! - [`apply`]: each output carried out on the OS (adverts, VIPs, ARP/NA, checks, state
//!   changes with their logs, notify scripts, status and trace);
//! - [`lvs`]: the check engine's outputs (probes, IPVS changes, real-server and quorum
//!   notifications);
//! - [`interfaces`]: interface reports, sockets per interface, netlink events, the start-up
//!   sweep of stale VIPs;
//! - [`routes`]: `virtual_routes` / `virtual_rules` installed and removed, and the start-up
//!   sweep of those a crashed predecessor left;
//! - [`alerts`]: keepalived's SMTP alerts, each mail sent off the protocol loop;
//! - [`accept`]: Accept_Mode off, the VIPs' drop rules in our nftables table;
//! - [`reload`]: SIGHUP and shutdown;
//! - [`logging`]: the console, syslog and the journal, `-D`; [`log_lines`]: the words of
//!   the event lines (keepalived's where it logs the same event); [`discards`]: discarded
//!   packets summarised;
//! - [`control`]: the `--control` socket (run-time priority);
//! - [`vmac`]: keepalived's `use_vmac` macvlans (created, swept, removed; sysctls);
//! - [`track_files`]: `vrrp_track_file` values read and watched;
//! - [`track_procs`]: `vrrp_track_process` counts (process events connector or /proc scan);
//! - [`metrics`]: `--metrics`, Prometheus metrics served off the engine's thread;
//! - [`status`]: the status JSON; [`trace`]: the JSONL trace;
//! - [`systemd`]: systemd's `sd_notify` protocol (ready, reloading, stopping, status, watchdog);
//! - the OS adapters themselves are in [`crate::os`].

pub mod accept;
pub mod alerts;
pub mod apply;
pub mod coalesce;
pub mod control;
pub mod discards;
pub mod driver;
pub mod host_check;
pub mod interfaces;
pub mod log_lines;
pub mod logging;
pub mod lvs;
pub mod metrics;
pub mod reload;
pub mod routes;
pub mod status;
pub mod systemd;
pub mod trace;
pub mod track_files;
pub mod track_procs;
pub mod vmac;

use driver::Daemon;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use vrrp_engine::keepalived::{self, FsLoader};

/// How the daemon was asked to run (keepalived's flags plus ours).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-f`: the configuration file.
    pub file: PathBuf,
    /// `-n`: stay in the foreground (otherwise detach).
    pub foreground: bool,
    /// `-l`, `-D`, `-S`, `-G`: where the log goes and how detailed ([`logging`]).
    pub log: logging::LogOptions,
    /// `--discard-log-interval`: at most one discard summary per instance and reason this
    /// often ([`discards`]).
    pub discard_log_interval: Duration,
    /// `-p`: pid file.
    pub pid_file: Option<PathBuf>,
    /// `--status FILE`: where the status JSON goes (on SIGUSR1 and after each state change).
    pub status_file: Option<PathBuf>,
    /// `--metrics ADDR:PORT`: where Prometheus metrics are served ([`metrics`]).
    pub metrics: Option<std::net::SocketAddr>,
    /// `--trace FILE`: JSONL trace.
    pub trace_file: Option<PathBuf>,
    /// Treat configuration warnings as errors.
    pub strict: bool,
    /// `-i`: the configuration id for `@ID` lines (default: [`config_id`]).
    pub config_id: Option<String>,
    /// `--control SOCKET`: a Unix datagram socket for run-time commands ([`control`]).
    pub control_socket: Option<PathBuf>,
    /// `-P`: VRRP only (virtual servers left out).
    pub vrrp_only: bool,
    /// `-C`: health checkers only (VRRP instances left out).
    pub check_only: bool,
    /// `--wake-early`: how long before each deadline the timer wakes to wait on the CPU.
    pub wake_early: Duration,
    /// `--takeover-wake-early`: the same, before a Backup's Master_Down_Timer only.
    pub takeover_wake_early: Duration,
    /// `--rx-coalesce`: the window over which a host with no Master reads its VRRP sockets
    /// on a timer rather than per datagram (zero: off).
    pub rx_coalesce: Duration,
    /// `--start-at`: the `CLOCK_MONOTONIC` instant that is engine time zero.
    pub start_at: Option<Duration>,
    /// `--lock-memory`: every page locked and populated before the protocol starts.
    pub lock_memory: bool,
}

/// The configuration id: `-i ID` if given, else the host name up to its first dot
/// (keepalived 2.2.7's default).
pub fn config_id(given: Option<&str>) -> String {
    given.map(String::from).unwrap_or_else(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .map(|h| h.split('.').next().unwrap_or_default().to_string())
            .unwrap_or_default()
    })
}

/// The part of `config` this run carries out (`-P` / `-C`).
pub fn select(
    mut config: vrrp_engine::config::Config,
    opts: &Options,
) -> vrrp_engine::config::Config {
    if opts.vrrp_only {
        config.virtual_servers.clear();
    }
    if opts.check_only {
        config.instances.clear();
        config.sync_groups.clear();
    }
    config
}

const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;

/// Locks the process in memory: `--lock-memory` every page now and later, populated at once
/// (so a first takeover never waits on page faults: measured here at 5-10 ms for a debug
/// build's first takeover after idle seconds, 0.2 ms locked); `vrrp_no_swap` as keepalived
/// does it (`set_process_dont_swap`: `MCL_ONFAULT`, pages locked as they are first touched).
fn lock_memory(prefault: bool, no_swap: bool) {
    let flags = if prefault {
        libc::MCL_CURRENT | libc::MCL_FUTURE
    } else if no_swap {
        libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT
    } else {
        return;
    };
    // SAFETY: mlockall takes flags only.
    if unsafe { libc::mlockall(flags) } == -1 {
        tracing::info!(
            "Unable to lock process in memory - {}",
            std::io::Error::last_os_error()
        );
    } else {
        tracing::debug!("process locked in memory");
    }
}

/// The capabilities among CAP_NET_RAW and CAP_NET_ADMIN that the process lacks (effective set).
pub fn missing_capabilities() -> Vec<&'static str> {
    let eff = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0);
    let mut missing = Vec::new();
    if eff & (1 << CAP_NET_RAW) == 0 {
        missing.push("CAP_NET_RAW");
    }
    if eff & (1 << CAP_NET_ADMIN) == 0 {
        missing.push("CAP_NET_ADMIN");
    }
    missing
}

/// Runs the daemon until SIGTERM/SIGINT; the exit code is the process's.
pub fn run(opts: Options) -> ExitCode {
    // Logging first, so that configuration errors reach syslog too (as keepalived's do);
    // when the console does not show the lines, start-up errors also go to stderr.
    let console = logging::init(&opts.log, opts.foreground);
    let say = |error: bool, line: &str| {
        if error {
            tracing::error!("{line}");
        } else {
            tracing::warn!("{line}");
        }
        if !console {
            eprintln!("{line}");
        }
    };
    tracing::info!(
        "Starting vrrpd-real {} (keepalived 2.2.7 configuration)",
        env!("CARGO_PKG_VERSION")
    );
    let kopts = keepalived::Options {
        strict: opts.strict,
        config_id: Some(config_id(opts.config_id.as_deref())),
    };
    let config = match keepalived::load(&opts.file, &FsLoader, &kopts) {
        Ok(l) => {
            for f in &l.findings {
                say(false, &f.to_string());
            }
            select(l.config, &opts)
        }
        Err(findings) => {
            for f in &findings.0 {
                say(true, &f.to_string());
            }
            say(true, "Stopped: the configuration has errors");
            return ExitCode::from(1);
        }
    };
    let missing = missing_capabilities();
    if !missing.is_empty() {
        say(
            true,
            &format!(
                "vrrpd-real: missing capabilities: {} (raw VRRP and packet sockets need \
                 CAP_NET_RAW, addresses need CAP_NET_ADMIN)",
                missing.join(", ")
            ),
        );
        return ExitCode::from(1);
    }
    if !opts.foreground {
        if let Err(e) = nix::unistd::daemon(false, opts.log.console) {
            say(true, &format!("vrrpd-real: cannot detach: {e}"));
            return ExitCode::from(1);
        }
    }
    if let Some(p) = &opts.pid_file {
        if let Err(e) = std::fs::write(p, format!("{}\n", std::process::id())) {
            tracing::error!("cannot write pid file {}: {e}", p.display());
            return ExitCode::from(1);
        }
    }
    lock_memory(opts.lock_memory, config.global.no_swap);
    // Before the runtime starts any thread: reading it clears the environment variables.
    let sd = systemd::Notifier::from_env();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let pid_file = opts.pid_file.clone();
    let code = rt.block_on(async move {
        match Daemon::start(config, opts, sd).await {
            Ok(mut d) => d.run().await,
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::from(1)
            }
        }
    });
    if let Some(p) = &pid_file {
        let _ = std::fs::remove_file(p);
    }
    code
}

//! Argument parsing and the `-t` configuration test.

use clap::{CommandFactory, Parser};
use std::path::PathBuf;
use std::process::ExitCode;
use vrrp_engine::keepalived::{self, FsLoader, Options};

/// Command line, with keepalived's flag names where they exist.
#[derive(Debug, Parser)]
#[command(
    name = "vrrpd-real",
    version,
    about = "VRRP daemon (keepalived-compatible configuration)"
)]
pub struct Args {
    /// Check the configuration file and exit (0: valid, 1: invalid), like `keepalived -t`.
    #[arg(short = 't', long = "config-test")]
    pub config_test: bool,
    /// The configuration file.
    #[arg(
        short = 'f',
        long = "use-file",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    pub file: PathBuf,
    /// With `-t`: print the effective configuration (defaults filled in) as JSON on stdout.
    #[arg(long, requires = "config_test")]
    pub dump: bool,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Configuration id for `@ID` lines (keepalived's `-i`; default: the host name up to its
    /// first dot).
    #[arg(short = 'i', long = "config-id")]
    pub config_id: Option<String>,
    /// Stay in the foreground (keepalived's `-n`).
    #[arg(short = 'n', long = "dont-fork")]
    pub foreground: bool,
    /// Log to the console too, in the foreground (keepalived's `-l`).
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed log (keepalived's `-D`): VIPs, announcements, adverts; twice for more.
    #[arg(short = 'D', long = "log-detail", action = clap::ArgAction::Count)]
    pub detailed: u8,
    /// Syslog facility (keepalived's `-S`): 0-7 or local0-local7, daemon (default) or user.
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY",
          value_parser = vrrp_real::daemon::logging::Facility::parse)]
    pub log_facility: Option<vrrp_real::daemon::logging::Facility>,
    /// Do not log to syslog (keepalived's `-G`).
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// The syslog identity (default `vrrpd-real`; keepalived's VRRP process logs as
    /// `Keepalived_vrrp`).
    #[arg(
        long = "syslog-ident",
        value_name = "IDENT",
        default_value = "vrrpd-real"
    )]
    pub syslog_ident: String,
    /// Discarded packets are logged as a summary per instance and reason at most this
    /// often (the first ones at once).
    #[arg(long = "discard-log-interval", value_name = "DURATION", default_value = "10s",
          value_parser = humantime::parse_duration)]
    pub discard_log_interval: std::time::Duration,
    /// Pid file (keepalived's `-p`).
    #[arg(short = 'p', long = "pid")]
    pub pid_file: Option<PathBuf>,
    /// Run the VRRP half only: virtual servers are not programmed (keepalived's `-P`).
    #[arg(short = 'P', long = "vrrp", conflicts_with = "check_only")]
    pub vrrp_only: bool,
    /// Run the health checkers (LVS) only: no VRRP instance (keepalived's `-C`).
    #[arg(short = 'C', long = "check")]
    pub check_only: bool,
    /// Write the status JSON here on SIGUSR1 and after every state change.
    #[arg(long = "status")]
    pub status_file: Option<PathBuf>,
    /// Serve Prometheus metrics (`GET /metrics`) on this address and port (docs/metrics.md).
    #[arg(long = "metrics", value_name = "ADDR:PORT")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Write a JSONL trace of states, packets and VIPs here (schema: docs/trace.md).
    #[arg(long = "trace")]
    pub trace_file: Option<PathBuf>,
    /// Listen for run-time commands (`priority INSTANCE N`) on this Unix datagram socket.
    #[arg(long = "control")]
    pub control_socket: Option<PathBuf>,
    /// Wake this long before each protocol deadline and wait for it on the CPU (e.g. `3ms`):
    /// removes the kernel's and the hypervisor's wake-up latency (0.3-2 ms on a VM after a
    /// second idle) from adverts and takeovers, for up to this much CPU per deadline. Off by
    /// default, as in keepalived; `sim lab` turns it on to measure the engine, not the VM.
    #[arg(long = "wake-early", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub wake_early: Option<std::time::Duration>,
    /// Wake this long before a Backup's Master_Down_Timer only (the deadline of a takeover)
    /// and wait for it on the CPU: takeovers no longer wait for the vCPU's wake-up, for up
    /// to this much CPU per takeover (a Backup that hears its Master never reaches the
    /// deadline). `0` turns it off (keepalived's behaviour).
    #[arg(
        long = "takeover-wake-early",
        value_name = "DURATION",
        default_value = "2ms",
        value_parser = humantime::parse_duration
    )]
    pub takeover_wake_early: std::time::Duration,
    /// While no instance is Master and adverts arrive faster than one per this window, read
    /// the VRRP sockets once per window instead of waking for every datagram (each advert
    /// still counts from its kernel receive time; a priority-0 advert wakes the daemon at
    /// once through a filtered socket). Cuts a busy Backup's CPU; `0` turns it off (one
    /// wake-up per datagram, keepalived's behaviour).
    #[arg(
        long = "rx-coalesce",
        value_name = "DURATION",
        default_value = "2ms",
        value_parser = humantime::parse_duration
    )]
    pub rx_coalesce: std::time::Duration,
    /// Start the protocol at this `CLOCK_MONOTONIC` instant (`SECONDS[.FRACTION]`, as
    /// `/proc/uptime` counts on most machines): set up first, then wait for it, so that
    /// engine time zero is exactly this instant. `sim lab` starts every daemon this way, so
    /// its clock and the daemons' are one. An instant already past is taken as the origin
    /// all the same (the first events then show how late the daemon started).
    #[arg(long = "start-at", value_name = "INSTANT", value_parser = vrrp_real::os::timer::parse_seconds)]
    pub start_at: Option<std::time::Duration>,
    /// Lock every page of the daemon in memory, populated before the protocol starts
    /// (`mlockall(MCL_CURRENT | MCL_FUTURE)`): a page fault on a first takeover costs
    /// milliseconds on a VM that pages out idle memory. keepalived's `vrrp_no_swap` (also
    /// read) locks pages only as they are first touched.
    #[arg(long = "lock-memory")]
    pub lock_memory: bool,
    /// Send one command (e.g. `priority VI_1 150`) to a running daemon's `--control` socket,
    /// print its answer and exit.
    #[arg(long = "control-send", num_args = 2, value_names = ["SOCKET", "COMMAND"])]
    pub control_send: Option<Vec<String>>,
    /// Test aid: carry out IPVS changes (JSON lines of the engine's `IpvsChange`, `-` for
    /// stdin) over generic netlink, then print the kernel's table as `ipvsadm -Ln` lines.
    #[arg(long = "ipvs-apply", hide = true, value_name = "FILE")]
    pub ipvs_apply: Option<PathBuf>,
    /// Test aid, with `--ipvs-apply`: flush the IPVS table first.
    #[arg(long = "ipvs-flush", hide = true, requires = "ipvs_apply")]
    pub ipvs_flush: bool,
    /// Test aid, with `--ipvs-apply`: print the table as the engine's `IpvsTable` JSON.
    #[arg(long = "ipvs-json", hide = true, requires = "ipvs_apply")]
    pub ipvs_json: bool,
    /// Print the manual page, vrrpd-real(8), as roff (the Debian package's copy is this).
    #[arg(long = "man-page", hide = true)]
    pub man_page: bool,
}

/// Runs the command line; the exit code is the process's.
pub fn run() -> ExitCode {
    let args = Args::parse();
    if args.man_page {
        print!("{}", crate::man::render(Args::command()));
        return ExitCode::SUCCESS;
    }
    if let Some([socket, command]) = args.control_send.as_deref() {
        return match vrrp_real::daemon::control::send(socket.as_ref(), command) {
            Ok(answer) => {
                println!("{answer}");
                if answer.starts_with("ok") {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                eprintln!("vrrpd-real: control socket {socket}: {e}");
                ExitCode::from(1)
            }
        };
    }
    if let Some(file) = &args.ipvs_apply {
        return ipvs_apply(file, args.ipvs_flush, args.ipvs_json);
    }
    if !args.config_test {
        return vrrp_real::daemon::run(vrrp_real::daemon::Options {
            file: args.file,
            foreground: args.foreground,
            log: vrrp_real::daemon::logging::LogOptions {
                console: args.log_console,
                detail: args.detailed,
                syslog: !args.no_syslog,
                facility: args.log_facility.unwrap_or_default(),
                ident: args.syslog_ident.clone(),
                ..Default::default()
            },
            discard_log_interval: args.discard_log_interval,
            pid_file: args.pid_file,
            status_file: args.status_file,
            trace_file: args.trace_file,
            metrics: args.metrics,
            strict: args.strict,
            config_id: args.config_id.clone(),
            control_socket: args.control_socket,
            vrrp_only: args.vrrp_only,
            check_only: args.check_only,
            wake_early: args.wake_early.unwrap_or_default(),
            takeover_wake_early: args.takeover_wake_early,
            rx_coalesce: args.rx_coalesce,
            start_at: args.start_at,
            lock_memory: args.lock_memory,
        });
    }
    config_test(&args)
}

fn config_test(args: &Args) -> ExitCode {
    let opts = Options {
        strict: args.strict,
        config_id: Some(vrrp_real::daemon::config_id(args.config_id.as_deref())),
    };
    match keepalived::load(&args.file, &FsLoader, &opts) {
        Ok(loaded) => {
            for f in &loaded.findings {
                eprintln!("{f}");
            }
            // The daemon's own checks before it touches the host: what `-t` passes, the
            // daemon runs.
            if let Err(e) = vrrp_real::daemon::host_check::startup_check(&loaded.config) {
                eprintln!("{}: error: {e}", args.file.display());
                return ExitCode::from(1);
            }
            if args.dump {
                match serde_json::to_string_pretty(&loaded.config) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("vrrpd-real: cannot write the configuration as JSON: {e}");
                        return ExitCode::from(1);
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(findings) => {
            for f in &findings.0 {
                eprintln!("{f}");
            }
            ExitCode::from(1)
        }
    }
}

/// `--ipvs-apply FILE`: each change's result on stderr (`ok ...` / `error ...`), then the
/// kernel's table on stdout (`ipvsadm -Ln` lines, or JSON); exit 0 when every change went through, 1 when one failed, 2 when
/// IPVS cannot be used at all.
fn ipvs_apply(file: &std::path::Path, flush: bool, json: bool) -> ExitCode {
    use std::io::BufRead;
    use vrrp_real::os::ipvs::{apply_lines, Ipvs};
    let input: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(file) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                eprintln!("vrrpd-real: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        }
    };
    let mut ipvs = match Ipvs::open() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("vrrpd-real: {e}");
            return ExitCode::from(2);
        }
    };
    if flush {
        if let Err(e) = ipvs.flush() {
            eprintln!("vrrpd-real: {e}");
            return ExitCode::from(2);
        }
    }
    let report = match apply_lines(&mut ipvs, input) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vrrpd-real: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    for r in &report.results {
        eprintln!("{r}");
    }
    match ipvs.table() {
        Ok(table) if json => match serde_json::to_string(&table) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("vrrpd-real: the table as JSON: {e}");
                return ExitCode::from(2);
            }
        },
        Ok(table) => {
            for line in table.to_ipvsadm_lines() {
                println!("{line}");
            }
        }
        Err(e) => {
            eprintln!("vrrpd-real: {e}");
            return ExitCode::from(2);
        }
    }
    if report.failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

//! Argument parsing and the `-t` configuration test.

use clap::Parser;
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
    /// Stay in the foreground (keepalived's `-n`).
    #[arg(short = 'n', long = "dont-fork")]
    pub foreground: bool,
    /// Log to the console (keepalived's `-l`).
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed log (keepalived's `-D`).
    #[arg(short = 'D', long = "log-detail")]
    pub detailed: bool,
    /// Pid file (keepalived's `-p`).
    #[arg(short = 'p', long = "pid")]
    pub pid_file: Option<PathBuf>,
    /// Write the status JSON here on SIGUSR1 and after every state change.
    #[arg(long = "status")]
    pub status_file: Option<PathBuf>,
    /// Write a JSONL trace of states, packets and VIPs here (schema: docs/trace.md).
    #[arg(long = "trace")]
    pub trace_file: Option<PathBuf>,
    /// Listen for run-time commands (`priority INSTANCE N`) on this Unix datagram socket.
    #[arg(long = "control")]
    pub control_socket: Option<PathBuf>,
    /// Send one command (e.g. `priority VI_1 150`) to a running daemon's `--control` socket,
    /// print its answer and exit.
    #[arg(long = "control-send", num_args = 2, value_names = ["SOCKET", "COMMAND"])]
    pub control_send: Option<Vec<String>>,
}

/// Runs the command line; the exit code is the process's.
pub fn run() -> ExitCode {
    let args = Args::parse();
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
    if !args.config_test {
        return vrrp_real::daemon::run(vrrp_real::daemon::Options {
            file: args.file,
            foreground: args.foreground,
            log_console: args.log_console,
            detailed: args.detailed,
            pid_file: args.pid_file,
            status_file: args.status_file,
            trace_file: args.trace_file,
            strict: args.strict,
            control_socket: args.control_socket,
        });
    }
    config_test(&args)
}

fn config_test(args: &Args) -> ExitCode {
    let opts = Options {
        strict: args.strict,
    };
    match keepalived::load(&args.file, &FsLoader, &opts) {
        Ok(loaded) => {
            for f in &loaded.findings {
                eprintln!("{f}");
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

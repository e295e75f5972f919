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
}

/// Runs the command line; the exit code is the process's.
pub fn run() -> ExitCode {
    let args = Args::parse();
    if !args.config_test {
        eprintln!(
            "vrrpd-real: running the daemon is not implemented yet; use -t to check a configuration"
        );
        return ExitCode::from(2);
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

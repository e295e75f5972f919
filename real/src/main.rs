//! `vrrpd-real`: the production daemon's command line.
//!
//! `vrrpd-real -t -f FILE [--dump] [--strict]` checks a configuration, as `keepalived -t`;
//! `vrrpd-real -f FILE -n -l -D -S FACILITY -p PIDFILE [--status FILE] [--trace FILE]` runs the
//! daemon ([`vrrp_real::daemon`]; its logs: `docs/logs.md`).

mod cli;
mod man;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}

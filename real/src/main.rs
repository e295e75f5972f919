//! `vrrpd-real`: the production daemon's command line.
//!
//! For now only keepalived's configuration test works: `vrrpd-real -t -f FILE [--dump]
//! [--strict]`. Running the daemon is a later issue and says so instead of pretending.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}

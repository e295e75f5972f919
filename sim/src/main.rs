//! `sim`: the simulator's command line.
//!
//! Each subcommand group lives in its own module of [`cli`] and returns `Result<(), CliError>`; this file
//! only parses the arguments and turns an error into one `error: ...` line on stderr and exit
//! status 1. Add new subcommands as variants of [`Command`].

mod cli;

use clap::{Parser, Subcommand};
use std::fmt;
use std::process::ExitCode;

/// Deterministic VRRP simulator and packet tools.
#[derive(Debug, Parser)]
#[command(name = "sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The top-level subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Decode and encode VRRP packets (the VRRP payload, without the IP header).
    #[command(subcommand)]
    Packet(cli::packet::PacketCommand),
    /// Run an experiment file: every variant and seed (or one shard of them, `--shard I/N`);
    /// CSV files, plots and a summary.
    Run(cli::run::RunArgs),
    /// Merge the outputs of `sim run --shard I/N` into the files the unsharded run writes:
    /// runs.csv, summary.csv, events.csv and plots, byte for byte.
    Merge(cli::merge::MergeArgs),
    /// Compare two traces (or trace/output folders): transitions, advert bytes, timing.
    Compare(cli::compare::CompareArgs),
    /// Run an experiment on a real LAN (namespaces, vrrpd-real), in real time; one seed.
    Lab(cli::lab::LabArgs),
    /// Swarm testing: random fault schedules over an experiment's nodes, invariants checked,
    /// a failing case shrunk into an experiment file. Exit 0: nothing found, 1: found, 2: bad input.
    Swarm(cli::swarm::SwarmArgs),
}

/// A user-facing failure: printed as one `error: ...` line, exit status 1.
#[derive(Debug)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the message carried.
        f.write_str(&self.0.replace(['\n', '\r'], " "))
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Packet(cmd) => cli::packet::run(cmd),
        Command::Run(args) => cli::run::run(args),
        Command::Merge(args) => cli::merge::run(args),
        Command::Compare(args) => cli::compare::run(args),
        Command::Lab(args) => cli::lab::run(args),
        // Its own exit status: 1 means "found a violation", 2 bad input.
        Command::Swarm(args) => return cli::swarm::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

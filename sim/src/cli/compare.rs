//! `sim compare A B`: compare two traces (files, trace folders or output folders) of the
//! simulator and/or the real daemon; prints a table, exits 1 when they disagree.

use crate::CliError;
use clap::Args;
use std::path::PathBuf;
use vrrp_sim::report::compare::{self, Align, Options};

/// Arguments of `sim compare`.
#[derive(Debug, Args)]
#[command(after_help = "\
What is compared, per variant and per node (nodes are matched by file name, <node>.jsonl):
  transitions  the sequence of `state` lines as (instance, from, to) must be identical, and
               each pair's time difference (after aligning the clocks) within --tolerance;
  advert bytes per instance, the `tx` hex payloads with consecutive repeats collapsed
               (A A A B A -> A B A); the common prefix of the two sequences must be equal,
               so a side that ran longer or sent more (identical) adverts does not count
               as a difference, but a side that sent none at all does.
A and B may each be a .jsonl file, a trace folder (<node>.jsonl, or <variant>/<node>.jsonl),
or an output folder of `sim run --trace OUT/trace` / `sim lab` holding a trace/ folder.
Exit status: 0 when they agree, 1 when they disagree (or cannot be read).")]
pub struct CompareArgs {
    /// First trace (file or folder).
    pub a: PathBuf,
    /// Second trace (file or folder).
    pub b: PathBuf,
    /// Largest accepted time difference of a transition, e.g. `2ms`, `500us`.
    #[arg(long, default_value = "2ms")]
    pub tolerance: String,
    /// Clock alignment: `none` (times as written: `sim run --trace` and `sim lab` share one
    /// clock, every lab daemon starting at its planned instant), `first` (each world's time 0
    /// is its earliest state transition), `node` (each node's own first transition) or
    /// `start` (each transition timed from its node's latest daemon start): the last three
    /// for traces of daemons started by hand.
    #[arg(long, default_value = "none")]
    pub align: String,
    /// Hold only takeovers (transitions into MASTER) to the tolerance; other transitions
    /// must still match in order, and their time differences are printed.
    #[arg(long)]
    pub takeovers_only: bool,
}

/// Run `sim compare`.
pub fn run(args: CompareArgs) -> Result<(), CliError> {
    let tolerance = humantime::parse_duration(&args.tolerance)
        .map_err(|e| CliError(format!("--tolerance {:?}: {e}", args.tolerance)))?;
    let align = Align::parse(&args.align).map_err(CliError)?;
    let a = compare::load(&args.a).map_err(CliError)?;
    let b = compare::load(&args.b).map_err(CliError)?;
    let report = compare::compare(
        &a,
        &b,
        (&args.a.display().to_string(), &args.b.display().to_string()),
        &Options {
            tolerance,
            align,
            takeovers_only: args.takeovers_only,
        },
    );
    print!("{}", report.text);
    if report.agree() {
        Ok(())
    } else {
        Err(CliError(format!(
            "the traces disagree ({} problem(s)); first: {}",
            report.problems.len(),
            report.problems[0]
        )))
    }
}

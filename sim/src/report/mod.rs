//! What comes out of runs: files, plots, tables, and the comparison of traces.
//!
//! - [`output`]: `runs.csv`, `summary.csv`, `events.csv` and the stdout table.
//! - [`files`]: an output folder's files from the runs' results (`sim run`, `sim merge`).
//! - [`plots`]: the PNG plots.
//! - [`sweep`]: sweep points (one per series and x) for the sweep plots.
//! - [`theory`]: closed-form expectations (false-takeover rate).
//! - [`compare`]: `sim compare`: two traces' transitions, advert bytes and timing.

pub mod compare;
pub mod files;
pub mod output;
pub mod plots;
pub mod sweep;
pub mod theory;

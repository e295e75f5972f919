//! PNG plots with plotters (pure-Rust text through ab_glyph and a bundled DejaVu Sans, so no
//! system font library is needed):
//! - `timeline_<variant>.png`: per node, its state over time; below, which node serves the VIP
//!   and where client 0's ARP entry points (first seed of the variant).
//! - `distributions.png`: master changes and client-visible outage per run, per variant
//!   (variants down the side, so long names never overlap).
//! - `takeover_vs_theory.png`: every takeover by timer against the RFC's time, by cause.
//! - `sweep_<metric>.png`: a metric over the sweep's x, one line per series.
//! - LVS runs: `lvs_detection.png` and `lvs_recovery.png` (every real-server fault's time
//!   against the formula's band, per fault kind, variant and real server) and
//!   `lvs_errors.png` (the clients' requests that failed, per variant).

mod distributions;
mod lvs;
mod style;
mod sweep;
mod takeover;
pub mod ticks;
mod timeline;

pub use distributions::{distributions, label_column, LabelColumn};
pub use lvs::{lvs_errors, lvs_times, LvsTime};
pub use style::text_size;
pub use sweep::{sweep, SweepPoint};
pub use takeover::takeover_vs_theory;
pub use timeline::timeline;

/// A file-name-safe form of a variant name.
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

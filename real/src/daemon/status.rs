//! Status JSON (`SIGUSR1`, `--status FILE`): the engine's snapshot (every instance, the
//! scripts, the tracked processes, the per-reason counters of packets no instance took) and the VIPs we hold.

use serde_json::{json, Value};
use std::path::Path;

/// Writes `status` to `path` atomically (a temporary file renamed over it).
pub fn write(path: &Path, status: &Value) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_string_pretty(status).unwrap_or_else(|_| json!({}).to_string());
    std::fs::write(&tmp, text + "\n")?;
    std::fs::rename(&tmp, path)
}

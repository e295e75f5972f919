//! Status JSON (`SIGUSR1`, `--status FILE`): every instance's engine snapshot, the scripts,
//! the per-reason counters of packets no instance took, and the VIPs we hold.

use serde_json::{json, Value};
use std::path::Path;

/// Adds the numbers of `b` into `a`, field by field (two counter objects of the same shape).
pub fn add_counters(a: &mut Value, b: &Value) {
    match (a, b) {
        (Value::Object(am), Value::Object(bm)) => {
            for (k, bv) in bm {
                match am.get_mut(k) {
                    Some(av) => add_counters(av, bv),
                    None => {
                        am.insert(k.clone(), bv.clone());
                    }
                }
            }
        }
        (Value::Number(an), Value::Number(bn)) => {
            let sum = an.as_u64().unwrap_or(0) + bn.as_u64().unwrap_or(0);
            *an = sum.into();
        }
        _ => {}
    }
}

/// Writes `status` to `path` atomically (a temporary file renamed over it).
pub fn write(path: &Path, status: &Value) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_string_pretty(status).unwrap_or_else(|_| json!({}).to_string());
    std::fs::write(&tmp, text + "\n")?;
    std::fs::rename(&tmp, path)
}

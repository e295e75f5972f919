//! `--trace FILE`: one JSON object per line (schema in `docs/trace.md`, shared with the
//! simulator): `t` (seconds since start), `node`, `kind`, and the fields of that kind.

use serde_json::{json, Map, Value};
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// The JSONL trace writer. Each line is flushed at once, so a crash loses nothing.
pub struct Trace {
    out: Option<File>,
    node: String,
}

impl Trace {
    /// A writer to `path` (truncated), or one that writes nothing.
    pub fn open(path: Option<&Path>, node: &str) -> io::Result<Trace> {
        let out = match path {
            Some(p) => Some(File::create(p)?),
            None => None,
        };
        Ok(Trace {
            out,
            node: node.to_string(),
        })
    }

    /// Whether a file is being written.
    pub fn enabled(&self) -> bool {
        self.out.is_some()
    }

    /// Writes one event: `fields` must be a JSON object; `t`, `node` and `kind` are added.
    pub fn event(&mut self, t: f64, kind: &str, fields: Value) {
        let Some(out) = self.out.as_mut() else { return };
        let mut obj = Map::new();
        obj.insert("t".into(), json!(t));
        obj.insert("node".into(), json!(self.node));
        obj.insert("kind".into(), json!(kind));
        if let Value::Object(m) = fields {
            obj.extend(m);
        }
        let line = Value::Object(obj).to_string();
        if let Err(e) = writeln!(out, "{line}") {
            tracing::warn!("trace write failed, tracing stops: {e}");
            self.out = None;
        }
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

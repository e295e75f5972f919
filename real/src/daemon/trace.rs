//! `--trace FILE`: one JSON object per line (schema in `docs/trace.md`, shared with the
//! simulator): the engine's [`TraceLine`], with `t` (seconds since start), `node`, `kind`, and
//! the fields of that kind.

use crate::os::socket::RxMeta;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use vrrp_engine::trace::{TraceEvent, TraceLine};
use vrrp_engine::{Engine, Output};

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

    /// Writes one event at `t` seconds; `node` is added.
    pub fn event(&mut self, t: f64, event: TraceEvent) {
        let Some(out) = self.out.as_mut() else { return };
        let line = TraceLine {
            t,
            node: self.node.clone(),
            event,
        };
        // One write per line: a reader polling the file never sees half of one.
        let written = serde_json::to_vec(&line)
            .map_err(io::Error::from)
            .and_then(|mut line| {
                line.push(b'\n');
                out.write_all(&line)
            });
        if let Err(e) = written {
            tracing::warn!("trace write failed, tracing stops: {e}");
            self.out = None;
        }
    }
}

impl Trace {
    /// An engine output (check runs are not traced); names come from `engine`.
    pub fn output(&mut self, t: f64, engine: &Engine, out: &Output) {
        if !self.enabled() {
            return;
        }
        if let Some(event) = TraceEvent::of_output(|id| engine.instance_config(id), out) {
            self.event(t, event);
        }
    }

    /// A packet read from a socket (traced before the engine sees it, discarded or not).
    pub fn rx(&mut self, t: f64, interface: &str, m: &RxMeta, payload: &[u8]) {
        if !self.enabled() {
            return;
        }
        self.event(
            t,
            TraceEvent::Rx {
                interface: interface.to_string(),
                src: m.src,
                dst: m.dst,
                ttl: m.ttl,
                hex: payload.to_vec(),
            },
        );
    }
}

//! JSONL traces in the schema of `docs/trace.md`, shared with `vrrpd-real --trace`: the lines
//! are the engine's [`TraceLine`] ([`vrrp_engine::trace`]).
//!
//! - [`TraceSink`]: what a simulated run writes, one line buffer per node. The [`Observer`]
//!   feeds it (engine outputs and received packets) when a run is traced; `sim run --trace DIR`
//!   writes `DIR/<variant>/<node>.jsonl`. `t` is simulated seconds since the run started, `node`
//!   is the experiment's node name.
//! - [`parse`] and [`read`]: a trace file parsed back (for `sim compare` and `sim lab`).
//!
//! Lines are built with `serde_json` from the typed line, so the bytes only depend on the run.
//!
//! [`Observer`]: crate::observe::observer::Observer

use std::io;
use std::path::Path;
use vrrp_engine::config::Config;
use vrrp_engine::{Instant, Output, RxPacket};

pub use vrrp_engine::trace::{TraceEvent, TraceLine};

/// The trace of one run being written: per node, its JSONL text.
#[derive(Clone, Debug, Default)]
pub struct TraceSink {
    /// Node names, in node order.
    pub nodes: Vec<String>,
    /// Per node: the JSONL text so far.
    pub text: Vec<String>,
}

impl TraceSink {
    /// An empty trace of the nodes `nodes`.
    pub fn new(nodes: Vec<String>) -> Self {
        let text = vec![String::new(); nodes.len()];
        TraceSink { nodes, text }
    }

    /// Appends one line of node `n`.
    pub fn line(&mut self, now: Instant, n: usize, event: TraceEvent) {
        let (Some(name), Some(text)) = (self.nodes.get(n), self.text.get_mut(n)) else {
            return;
        };
        let line = TraceLine {
            t: now.offset().as_secs_f64(),
            node: name.clone(),
            event,
        };
        // A trace line has no map with non-string keys: serialization cannot fail.
        if let Ok(s) = serde_json::to_string(&line) {
            text.push_str(&s);
            text.push('\n');
        }
    }

    /// Traces one engine output of node `n` whose configuration is `config` (like the daemon:
    /// `state`, `tx`, `vip_add`, `vip_del`, `announce`; check runs are not traced).
    pub fn output(&mut self, now: Instant, n: usize, config: &Config, out: &Output) {
        if let Some(event) = TraceEvent::of_output(|id| config.instances.get(id.0 as usize), out) {
            self.line(now, n, event);
        }
    }

    /// Traces a packet node `n` received.
    pub fn rx(&mut self, now: Instant, n: usize, p: &RxPacket<'_>) {
        self.line(
            now,
            n,
            TraceEvent::Rx {
                interface: p.interface.to_string(),
                src: p.src,
                dst: p.dst,
                ttl: p.ttl,
                hex: p.payload.to_vec(),
            },
        );
    }

    /// Writes `dir/<node>.jsonl` for every node (creating `dir`).
    pub fn write_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, text) in self.nodes.iter().zip(&self.text) {
            std::fs::write(dir.join(format!("{name}.jsonl")), text)?;
        }
        Ok(())
    }
}

/// Parses JSONL trace text; `name` is used in error messages (`name:LINE: ...`).
pub fn parse(name: &str, text: &str) -> Result<Vec<TraceLine>, String> {
    let mut lines = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let line: TraceLine = serde_json::from_str(l)
            .map_err(|e| format!("{name}:{}: not a trace line: {e}", i + 1))?;
        lines.push(line);
    }
    Ok(lines)
}

/// Reads and parses one trace file.
pub fn read(path: &Path) -> Result<Vec<TraceLine>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&path.display().to_string(), &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let mut s = TraceSink::new(vec!["a".into()]);
        s.line(
            Instant::from_offset(std::time::Duration::from_millis(1500)),
            0,
            TraceEvent::Announce {
                instance: "VI_1".into(),
                interface: "eth0".into(),
                addr: "10.0.0.1".parse().unwrap(),
            },
        );
        assert_eq!(
            s.text[0],
            "{\"t\":1.5,\"node\":\"a\",\"kind\":\"announce\",\"instance\":\"VI_1\",\"interface\":\"eth0\",\"addr\":\"10.0.0.1\"}\n"
        );
        let back = parse("x", &s.text[0]).unwrap();
        assert_eq!(back[0].t, 1.5);
        assert!(
            matches!(&back[0].event, TraceEvent::Announce { addr, .. } if addr.to_string() == "10.0.0.1")
        );
    }
}

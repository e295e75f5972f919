//! JSONL traces in the schema of `docs/trace.md`, shared with `vrrpd-real --trace`.
//!
//! - [`TraceSink`]: what a simulated run writes, one line buffer per node. The [`Observer`]
//!   feeds it (engine outputs and received packets) when a run is traced; `sim run --trace DIR`
//!   writes `DIR/<variant>/<node>.jsonl`. `t` is simulated seconds since the run started, `node`
//!   is the experiment's node name.
//! - [`TraceLine`] and [`read`]: a trace file parsed back (for `sim compare` and `sim lab`).
//!
//! Lines are built with `serde_json` (keys sorted, like the daemon's), so the bytes only depend
//! on the run.
//!
//! [`Observer`]: crate::observe::observer::Observer

use serde_json::{json, Map, Value};
use std::io;
use std::net::IpAddr;
use std::path::Path;
use vrrp_engine::config::Config;
use vrrp_engine::{Instant, Output};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

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

    /// Appends one line of node `n`: `fields` (a JSON object) plus `t`, `node` and `kind`.
    pub fn line(&mut self, now: Instant, n: usize, kind: &str, fields: Value) {
        let (Some(name), Some(text)) = (self.nodes.get(n), self.text.get_mut(n)) else {
            return;
        };
        let mut obj = Map::new();
        obj.insert("t".into(), json!(now.offset().as_secs_f64()));
        obj.insert("node".into(), json!(name));
        obj.insert("kind".into(), json!(kind));
        if let Value::Object(m) = fields {
            obj.extend(m);
        }
        text.push_str(&Value::Object(obj).to_string());
        text.push('\n');
    }

    /// Traces one engine output of node `n` whose configuration is `config` (like the daemon:
    /// `state`, `tx`, `vip_add`, `vip_del`, `announce`; check runs are not traced).
    pub fn output(&mut self, now: Instant, n: usize, config: &Config, out: &Output) {
        let inst = |id: u32| config.instances.get(id as usize);
        let name = |id: u32| inst(id).map_or(String::new(), |i| i.name.clone());
        match out {
            Output::StateChanged(c) => {
                let vrid = inst(c.instance.0).map_or(0, |i| i.vrid);
                self.line(
                    now,
                    n,
                    "state",
                    json!({"instance": name(c.instance.0), "vrid": vrid,
                           "from": c.from.as_str(), "to": c.to.as_str(),
                           "reason": c.reason, "priority": c.priority}),
                );
            }
            Output::Transmit(x) => self.line(
                now,
                n,
                "tx",
                json!({"instance": name(x.instance.0), "interface": &*x.interface,
                       "src": x.src, "dst": x.dst, "ttl": x.ttl, "hex": hex(&x.payload)}),
            ),
            Output::AddVip {
                instance,
                interface,
                vip,
            } => self.line(
                now,
                n,
                "vip_add",
                json!({"instance": name(instance.0), "interface": &**interface,
                       "addr": vip.addr, "prefix_len": vip.prefix_len}),
            ),
            Output::RemoveVip {
                instance,
                interface,
                vip,
            } => self.line(
                now,
                n,
                "vip_del",
                json!({"instance": name(instance.0), "interface": &**interface,
                       "addr": vip.addr, "prefix_len": vip.prefix_len}),
            ),
            Output::Announce {
                instance,
                interface,
                addr,
            } => self.line(
                now,
                n,
                "announce",
                json!({"instance": name(instance.0), "interface": &**interface, "addr": addr}),
            ),
            Output::RunCheck { .. } => {}
        }
    }

    /// Traces a packet node `n` received on `interface`.
    #[allow(clippy::too_many_arguments)]
    pub fn rx(
        &mut self,
        now: Instant,
        n: usize,
        interface: &str,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        payload: &[u8],
    ) {
        self.line(
            now,
            n,
            "rx",
            json!({"interface": interface, "src": src, "dst": dst, "ttl": ttl,
                   "hex": hex(payload)}),
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

/// One parsed trace line.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceLine {
    /// `t`: seconds.
    pub t: f64,
    /// `node`.
    pub node: String,
    /// `kind`.
    pub kind: String,
    /// The whole object (every field, `t`, `node` and `kind` included).
    pub fields: Value,
}

impl TraceLine {
    /// A string field, or "".
    pub fn str(&self, key: &str) -> &str {
        self.fields.get(key).and_then(Value::as_str).unwrap_or("")
    }
}

/// Parses JSONL trace text; `name` is used in error messages (`name:LINE: ...`).
pub fn parse(name: &str, text: &str) -> Result<Vec<TraceLine>, String> {
    let mut lines = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(l).map_err(|e| format!("{name}:{}: not JSON: {e}", i + 1))?;
        let t = v
            .get("t")
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("{name}:{}: no number `t`", i + 1))?;
        let kind = v
            .get("kind")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{name}:{}: no string `kind`", i + 1))?
            .to_string();
        let node = v
            .get("node")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        lines.push(TraceLine {
            t,
            node,
            kind,
            fields: v,
        });
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
            "announce",
            json!({"instance": "VI_1", "interface": "eth0", "addr": "10.0.0.1"}),
        );
        assert_eq!(
            s.text[0],
            "{\"addr\":\"10.0.0.1\",\"instance\":\"VI_1\",\"interface\":\"eth0\",\"kind\":\"announce\",\"node\":\"a\",\"t\":1.5}\n"
        );
        let back = parse("x", &s.text[0]).unwrap();
        assert_eq!(back[0].t, 1.5);
        assert_eq!(back[0].str("addr"), "10.0.0.1");
    }
}

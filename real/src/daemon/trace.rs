//! `--trace FILE`: one JSON object per line (schema in `docs/trace.md`, shared with the
//! simulator): `t` (seconds since start), `node`, `kind`, and the fields of that kind.

use serde_json::{json, Map, Value};
use std::fs::File;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;
use vrrp_engine::config::VirtualAddress;
use vrrp_engine::io::StateChange;
use vrrp_engine::Transmit;

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
    fn event(&mut self, t: f64, kind: &str, fields: Value) {
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

impl Trace {
    /// A packet read from a socket (traced before the engine sees it, discarded or not).
    pub fn rx(
        &mut self,
        t: f64,
        interface: &str,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        payload: &[u8],
    ) {
        self.event(
            t,
            "rx",
            json!({"interface": interface, "src": src, "dst": dst, "ttl": ttl,
                   "hex": hex(payload)}),
        );
    }

    /// An advert handed to a socket.
    pub fn tx(&mut self, t: f64, instance: &str, tx: &Transmit) {
        self.event(
            t,
            "tx",
            json!({"instance": instance, "interface": &*tx.interface, "src": tx.src,
                   "dst": tx.dst, "ttl": tx.ttl, "hex": hex(&tx.payload)}),
        );
    }

    /// A state change.
    pub fn state(&mut self, t: f64, instance: &str, vrid: u8, sc: &StateChange) {
        self.event(
            t,
            "state",
            json!({"instance": instance, "vrid": vrid, "from": sc.from.as_str(),
                   "to": sc.to.as_str(), "reason": sc.reason, "priority": sc.priority}),
        );
    }

    /// A VIP added (`added`) or removed.
    pub fn vip(
        &mut self,
        t: f64,
        added: bool,
        instance: &str,
        interface: &str,
        vip: &VirtualAddress,
    ) {
        self.event(
            t,
            if added { "vip_add" } else { "vip_del" },
            json!({"instance": instance, "interface": interface, "addr": vip.addr,
                   "prefix_len": vip.prefix_len}),
        );
    }

    /// One gratuitous ARP or unsolicited NA.
    pub fn announce(&mut self, t: f64, instance: &str, interface: &str, addr: IpAddr) {
        self.event(
            t,
            "announce",
            json!({"instance": instance, "interface": interface, "addr": addr}),
        );
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

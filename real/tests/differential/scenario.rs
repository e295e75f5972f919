//! A scenario file (`scenarios/NAME.toml`): nodes with their keepalived.conf, a timeline of
//! actions, the tolerance of the comparison and the documented deviations. The format is
//! described in docs/differential.md.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One scenario, as read from its file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows, in a sentence or two.
    pub description: String,
    /// The issue item or behaviour it covers (for the report).
    pub covers: String,
    /// Seconds from the first action to the end of the run.
    pub duration: f64,
    /// The advert interval in seconds: adverts further apart than 1.5 intervals end a run
    /// of adverts on the wire.
    #[serde(default = "one")]
    pub advert_int: f64,
    /// How far apart (seconds) the same transition may be in the two runs.
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// The same for notify lines: a notify script's own start (fork, exec of perl) varies
    /// by up to 0.4 s on a loaded machine, while the wire gives transitions exactly.
    #[serde(default = "default_notify_tolerance")]
    pub notify_tolerance: f64,
    /// How many gratuitous ARPs a node may send more or fewer in one run than in the other.
    #[serde(default)]
    pub garp_tolerance: usize,
    /// The nodes by name.
    pub nodes: BTreeMap<String, Node>,
    /// Actions, in time order.
    pub timeline: Vec<Action>,
    /// What keepalived's run must show: keeps a scenario honest (a scenario whose nodes never
    /// reach the state it is about compares nothing).
    #[serde(default)]
    pub expect: Vec<Expect>,
    /// Differences the comparison accepts, each with its reason.
    #[serde(default)]
    pub deviation: Vec<Deviation>,
}

fn one() -> f64 {
    1.0
}

fn default_tolerance() -> f64 {
    0.3
}

fn default_notify_tolerance() -> f64 {
    0.6
}

/// One node of the LAN.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Under test (keepalived in one run, vrrpd-real in the other), or a peer (keepalived
    /// in both runs).
    #[serde(default = "yes")]
    pub test: bool,
    /// keepalived.conf text with placeholders (see [`expand`]).
    pub config: String,
    /// Initial results of this node's check scripts (`{check:NAME}`): "0", "1", "hang".
    #[serde(default)]
    pub checks: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// One action of the timeline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Seconds from the start of the run.
    pub at: f64,
    /// The node it acts on.
    pub node: String,
    /// What it does.
    #[serde(rename = "do")]
    pub what: Do,
    /// `check`: the script's name.
    pub name: Option<String>,
    /// `check`: the new result ("0", "1", "hang").
    pub value: Option<String>,
    /// `ip`: the arguments of `ip -n NODE ...`, with placeholders.
    pub args: Option<String>,
    /// `partition`: the nodes whose VRRP packets this node stops hearing.
    #[serde(default)]
    pub from: Vec<String>,
    /// `send`: the crafted VRRPv3 advert's VRID.
    pub vrid: Option<u8>,
    /// `send`: its priority.
    pub priority: Option<u8>,
    /// `send`: its Max Adver Int in centiseconds (0 is out of RFC 5798's range).
    pub interval_cs: Option<u16>,
    /// `send`: its address list, with placeholders.
    #[serde(default)]
    pub addrs: Vec<String>,
    /// `send`: how many times (default 1).
    pub count: Option<u32>,
    /// `send`: seconds between two (default 1).
    pub every: Option<f64>,
}

/// The kinds of action.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Do {
    /// Starts the node's daemon.
    Start,
    /// SIGTERM.
    Stop,
    /// SIGKILL (keepalived's VRRP child too).
    Kill,
    /// Sets the result of one of the node's check scripts.
    Check,
    /// Runs `ip` in the node's namespace (link down/up, address changes).
    Ip,
    /// The node stops hearing VRRP from `from` (nftables in its namespace).
    Partition,
    /// Removes the node's partition.
    Heal,
    /// Sends a crafted VRRPv3 advert from the node (which need not run a daemon).
    Send,
}

/// A state sequence keepalived's run must show for a node.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The node.
    pub node: String,
    /// Its notify states in order (third argument of `notify`).
    pub states: Vec<String>,
}

/// A difference the scenario accepts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    /// The node it is seen on.
    pub node: String,
    /// What differs: one of [`crate::compare::ASPECTS`].
    pub what: String,
    /// Why: the RFC section or keepalived bug.
    pub reason: String,
    /// Its entry: `docs/keepalived-differences.md#ANCHOR`.
    pub doc: String,
    /// Whether keepalived shows it only in some runs (its behaviour depends on the phase of
    /// two nodes' adverts): then a run without it passes too.
    #[serde(default)]
    pub sometimes: bool,
}

/// The scenario folder.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential/scenarios")
}

/// Reads and checks `scenarios/NAME.toml`.
pub fn load(name: &str) -> Scenario {
    let path = dir().join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let s: Scenario = toml::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    s.check().unwrap_or_else(|e| panic!("{path:?}: {e}"));
    s
}

impl Scenario {
    /// Names in the timeline, expectations and deviations are nodes; actions carry their
    /// arguments; deviations name an aspect and an entry of the differences document.
    fn check(&self) -> Result<(), String> {
        let known = |n: &str| {
            self.nodes
                .contains_key(n)
                .then_some(())
                .ok_or(format!("unknown node {n:?}"))
        };
        let mut last = 0.0;
        for a in &self.timeline {
            known(&a.node)?;
            a.from.iter().try_for_each(|n| known(n))?;
            if a.at < last || a.at > self.duration {
                return Err(format!("action at {} out of order or after the end", a.at));
            }
            last = a.at;
            let ok = match a.what {
                Do::Check => a.name.is_some() && a.value.is_some(),
                Do::Ip => a.args.is_some(),
                Do::Partition => !a.from.is_empty(),
                Do::Send => a.vrid.is_some() && a.priority.is_some() && a.interval_cs.is_some(),
                _ => true,
            };
            if !ok {
                return Err(format!(
                    "action at {}: {:?} misses its arguments",
                    a.at, a.what
                ));
            }
        }
        for e in &self.expect {
            known(&e.node)?;
        }
        for d in &self.deviation {
            known(&d.node)?;
            if !crate::compare::ASPECTS.contains(&d.what.as_str()) {
                return Err(format!(
                    "deviation {:?}: not one of {:?}",
                    d.what,
                    crate::compare::ASPECTS
                ));
            }
            if !d.doc.starts_with("docs/keepalived-differences.md#") || d.reason.is_empty() {
                return Err(format!("deviation {:?}: needs a reason and a docs/keepalived-differences.md#ANCHOR link", d.what));
            }
        }
        Ok(())
    }
}

/// What the placeholders of a node's configuration stand for in one run.
pub struct Env<'a> {
    /// Each node's address.
    pub ips: &'a BTreeMap<String, String>,
    /// `10.X.Y.` of the run.
    pub prefix: String,
    /// This node's notify script.
    pub notify: String,
    /// This node's check scripts by name.
    pub checks: &'a BTreeMap<String, String>,
}

/// Replaces `{ip:NODE}`, `{addr:N}` (`10.X.Y.N` of the run), `{notify}` and `{check:NAME}`;
/// other braces (keepalived's blocks) are left alone. An unknown placeholder is an error.
pub fn expand(text: &str, env: &Env) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let key = after
            .find('}')
            .map(|close| &after[..close])
            .filter(|k| !k.is_empty() && !k.contains(char::is_whitespace));
        let Some(key) = key else {
            out.push('{');
            rest = after;
            continue;
        };
        let value = match key.split_once(':') {
            None if key == "notify" => env.notify.clone(),
            Some(("ip", n)) => env
                .ips
                .get(n)
                .cloned()
                .ok_or(format!("{{{key}}}: no such node"))?,
            Some(("addr", n)) => {
                let n: u8 = n.parse().map_err(|_| format!("{{{key}}}: not 0..255"))?;
                format!("{}{n}", env.prefix)
            }
            Some(("check", n)) => env.checks.get(n).cloned().ok_or(format!(
                "{{{key}}}: the node has no such check (add it to `checks`)"
            ))?,
            _ => return Err(format!("unknown placeholder {{{key}}}")),
        };
        out.push_str(&value);
        rest = &after[key.len() + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_expand_and_blocks_stay() {
        let ips = BTreeMap::from([("a".to_string(), "10.1.2.1".to_string())]);
        let checks = BTreeMap::from([("chk".to_string(), "/t/a.chk.sh".to_string())]);
        let env = Env {
            ips: &ips,
            prefix: "10.1.2.".into(),
            notify: "/t/a.notify".into(),
            checks: &checks,
        };
        let got = expand("x {\n  {ip:a} {addr:100}/24 {notify} {check:chk}\n}", &env).unwrap();
        assert_eq!(
            got,
            "x {\n  10.1.2.1 10.1.2.100/24 /t/a.notify /t/a.chk.sh\n}"
        );
        assert!(expand("{ip:z}", &env).is_err());
        assert!(expand("{vip}", &env).is_err());
    }
}

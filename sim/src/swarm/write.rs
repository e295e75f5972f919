//! A swarm case written back as an experiment file that `sim run` loads and replays: one
//! seed (the case's), the case's nodes (configurations printed back by the keepalived front
//! end's printer, which parses to the same configuration), network, clients, real servers
//! and fault timeline with exact times.

use crate::experiment::duration::Dur;
use crate::experiment::model::{CheckBehaviour, Fault, LinkModel, RsState, Variant};
use crate::experiment::schema::{BurstSpec, Distribution, LatencySpec};
use crate::experiment::Experiment;
use std::fmt::Write as _;
use std::time::Duration;

/// What the header of a written case says.
pub struct Header<'a> {
    /// The experiment's name for the file's `name` (`<name>-swarm-<case>`).
    pub name: String,
    /// Comment lines (without `# `).
    pub comments: Vec<String>,
    /// The case's description.
    pub description: &'a str,
}

/// The experiment file text of `v` run for `duration` with `seed`, with `exp`'s clients.
pub fn experiment_text(
    exp: &Experiment,
    v: &Variant,
    seed: u64,
    duration: Duration,
    h: &Header<'_>,
) -> String {
    let names: Vec<&str> = v.nodes.iter().map(|n| n.name.as_str()).collect();
    let mut w = String::new();
    for c in &h.comments {
        let _ = writeln!(w, "# {c}");
    }
    let _ = writeln!(w, "name = {}", q(&h.name));
    let _ = writeln!(w, "description = {}", q(h.description));
    let _ = writeln!(w, "duration = {}", dur(duration));
    let _ = writeln!(w, "seeds = 1");
    let _ = writeln!(w, "seed_base = {seed}");
    let _ = writeln!(w, "backend = \"event\"");
    let _ = writeln!(w, "\n[network]");
    link_fields(&mut w, &v.network.default);
    for (&(a, b), l) in &v.network.links {
        let _ = writeln!(w, "\n[[network.links]]");
        let _ = writeln!(w, "from = {}", q(names[a]));
        let _ = writeln!(w, "to = {}", q(names[b]));
        link_fields(&mut w, l);
    }
    let _ = writeln!(w, "\n[clients]\ncount = {}", exp.clients);
    if let Some(d) = exp.arp_reresolve_after {
        let _ = writeln!(w, "arp_reresolve_after = {}", dur(d));
    }
    for n in &v.nodes {
        let _ = writeln!(w, "\n[[nodes]]");
        let _ = writeln!(w, "name = {}", q(&n.name));
        let _ = writeln!(w, "address = {}", q(&n.address.to_string()));
        let _ = writeln!(w, "ipv6_link_local = {}", q(&n.ipv6_link_local.to_string()));
        if !n.start.is_zero() {
            let _ = writeln!(w, "start = {}", dur(n.start));
        }
        if !n.start_jitter.is_zero() {
            let _ = writeln!(w, "start_jitter = {}", dur(n.start_jitter));
        }
        let _ = writeln!(w, "config = {}", config_text(&n.config));
    }
    for r in &v.real_servers {
        let _ = writeln!(w, "\n[[real_servers]]");
        let _ = writeln!(w, "address = {}", q(&r.addr.to_string()));
        if let Some(l) = &r.latency {
            let _ = writeln!(w, "latency = {}", latency(l));
        }
        rs_state(&mut w, r.state);
        let _ = writeln!(w, "misc_exit = {}", r.misc_exit);
    }
    if let Some(c) = &v.lvs_clients {
        let _ = writeln!(w, "\n[lvs_clients]");
        let _ = writeln!(w, "rate = {:?}", c.rate);
        let _ = writeln!(
            w,
            "arrivals = {}",
            q(if c.poisson { "poisson" } else { "fixed" })
        );
        let _ = writeln!(w, "sources = {}", c.sources);
        if let Some(s) = c.service {
            let _ = writeln!(w, "service = {}", q(&s.to_string()));
        }
        let _ = writeln!(w, "start = {}", dur(c.start));
    }
    for f in &v.timeline {
        let _ = writeln!(w, "\n[[timeline]]");
        let _ = writeln!(w, "at = {}", dur(f.at));
        fault(&mut w, &f.fault, &names);
    }
    w
}

/// `latency`, `loss` and `burst` of a link.
fn link_fields(w: &mut String, l: &LinkModel) {
    let _ = writeln!(w, "latency = {}", latency(&l.latency));
    let _ = writeln!(w, "loss = {:?}", l.loss);
    if let Some(b) = &l.burst {
        let _ = writeln!(w, "burst = {}", burst(b));
    }
}

/// One timeline entry's fields after `at`.
fn fault(w: &mut String, f: &Fault, names: &[&str]) {
    let node = |i: &usize| q(names.get(*i).copied().unwrap_or("?"));
    let list = |v: &[usize]| {
        let items: Vec<String> = v.iter().map(node).collect();
        format!("[{}]", items.join(", "))
    };
    let mut line = |k: &str, v: String| {
        let _ = writeln!(w, "{k} = {v}");
    };
    match f {
        Fault::Stop(n) => {
            line("action", q("stop"));
            line("node", node(n));
        }
        Fault::Kill(n) => {
            line("action", q("kill"));
            line("node", node(n));
        }
        Fault::Restart(n) => {
            line("action", q("restart"));
            line("node", node(n));
        }
        Fault::LinkDown(n) => {
            line("action", q("link_down"));
            line("node", node(n));
        }
        Fault::LinkUp(n) => {
            line("action", q("link_up"));
            line("node", node(n));
        }
        Fault::Partition(groups) => {
            line("action", q("partition"));
            let g: Vec<String> = groups.iter().map(|g| list(g)).collect();
            line("groups", format!("[{}]", g.join(", ")));
        }
        Fault::OneWay { from, to } => {
            line("action", q("one_way_partition"));
            line("from", list(from));
            line("to", list(to));
        }
        Fault::Heal => line("action", q("heal")),
        Fault::Loss { rate, link } => {
            line("action", q("loss"));
            line("rate", format!("{rate:?}"));
            if let Some((a, b)) = link {
                line("from", node(a));
                line("to", node(b));
            }
        }
        Fault::Burst(b) => {
            line("action", q("burst"));
            if let Some(b) = b {
                line("burst", burst(b));
            }
        }
        Fault::Latency(l) => {
            line("action", q("latency"));
            line("latency", latency(l));
        }
        Fault::Check {
            node: n,
            script,
            behaviour,
        } => {
            let action = match behaviour {
                CheckBehaviour::Pass => "check_pass",
                CheckBehaviour::Fail => "check_fail",
                CheckBehaviour::Flap { .. } => "check_flap",
            };
            line("action", q(action));
            line("node", node(n));
            line("script", q(script));
            if let CheckBehaviour::Flap {
                period,
                duty,
                jitter,
                ..
            } = behaviour
            {
                line("period", dur(*period));
                line("duty", format!("{duty:?}"));
                line("jitter", dur(*jitter));
            }
        }
        Fault::Process {
            node: n,
            process,
            count,
        } => {
            line(
                "action",
                q(if *count == 0 {
                    "process_stop"
                } else {
                    "process_start"
                }),
            );
            line("node", node(n));
            line("process", q(process));
            if *count > 0 {
                line("count", count.to_string());
            }
        }
        Fault::Priority {
            node: n,
            instance,
            priority,
        } => {
            line("action", q("priority"));
            line("node", node(n));
            if let Some(i) = instance {
                line("instance", q(i));
            }
            line("priority", priority.to_string());
        }
        Fault::Reload { node: n, config } => {
            line("action", q("reload"));
            line("node", node(n));
            line("config", config_text(config));
        }
        Fault::RealServer { addr, state } => {
            line("action", q("real_server"));
            line("address", q(&addr.to_string()));
            rs_state(w, *state);
        }
    }
}

/// `state` and its `delay` / `status`.
fn rs_state(w: &mut String, s: RsState) {
    let _ = writeln!(w, "state = {}", q(s.name()));
    match s {
        RsState::Slow(d) => {
            let _ = writeln!(w, "delay = {}", dur(d));
        }
        RsState::HttpStatus(c) => {
            let _ = writeln!(w, "status = {c}");
        }
        _ => {}
    }
}

/// A keepalived.conf as a TOML string: printed back from the parsed configuration, in a
/// multi-line literal string when it can be.
fn config_text(c: &vrrp_engine::config::Config) -> String {
    let text = vrrp_engine::keepalived::print(c);
    if text.contains("'''") {
        q(&text)
    } else {
        format!("'''\n{text}'''")
    }
}

/// An inline burst table.
fn burst(b: &BurstSpec) -> String {
    format!(
        "{{ p_enter_bad = {:?}, p_leave_bad = {:?}, loss_good = {:?}, loss_bad = {:?} }}",
        b.p_enter_bad, b.p_leave_bad, b.loss_good, b.loss_bad
    )
}

/// A latency: a duration string, or an inline range table.
fn latency(l: &LatencySpec) -> String {
    match l {
        LatencySpec::Fixed(d) => dur(d.0),
        LatencySpec::Range(r) => {
            let dist = match r.distribution {
                Distribution::Uniform => "uniform",
                Distribution::Exponential => "exponential",
            };
            format!(
                "{{ min = {}, max = {}, distribution = {} }}",
                dur(r.min.0),
                dur(r.max.0),
                q(dist)
            )
        }
    }
}

/// A duration string with units (humantime, to the nanosecond).
fn dur(d: Duration) -> String {
    q(&Dur(d).to_string())
}

/// A TOML basic string.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

//! One run of a scenario on a LAN of its own: keepalived 2.2.7 or vrrpd-real as the nodes
//! under test (peers are keepalived in both), the timeline carried out at its times, and what
//! a user sees recorded: notify lines, the wire, VIPs at the end.

use crate::craft;
use crate::observe::{self, NodeObs, Stamp};
use crate::scenario::{expand, Do, Env, Scenario};
use crate::support::{ns_nft, start_keepalived, tmpdir};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vrrp_lab::{clock, Lab};

/// Which implementation runs the nodes under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// keepalived 2.2.7, the reference.
    Keepalived,
    /// vrrpd-real.
    VrrpdReal,
}

impl Impl {
    /// Short name, for files and messages.
    pub fn tag(self) -> &'static str {
        match self {
            Impl::Keepalived => "ka",
            Impl::VrrpdReal => "vr",
        }
    }
}

/// What one run showed, node by node, and where its files are.
pub struct RunObs {
    /// Per node.
    pub nodes: BTreeMap<String, NodeObs>,
    /// The run's folder (configs, logs, notify lines, capture).
    pub dir: PathBuf,
}

/// A node's running daemon: its pid and keepalived's VRRP child pid file.
struct Running {
    pid: u32,
    vrrp_pid_file: Option<PathBuf>,
}

/// Runs `sc` once with `imp` as the nodes under test.
pub fn run(name: &str, sc: &Scenario, imp: Impl) -> RunObs {
    let names: Vec<&String> = sc.nodes.keys().collect();
    let lab = Lab::new(names.len()).expect("lab");
    let dir = tmpdir(&format!("diff-{name}-{}", imp.tag()));
    let index: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let ips: BTreeMap<String, String> = names
        .iter()
        .map(|n| ((*n).clone(), lab.hosts[index[n.as_str()]].ip.to_string()))
        .collect();
    let o = lab.subnet.octets();
    let prefix = format!("{}.{}.{}.", o[0], o[1], o[2]);
    // An interface for track_interface, up from the start: a veth pair inside the host
    // (this kernel has no dummy links); `ip link set trk0 down` takes it down.
    for h in &lab.hosts {
        let ip = |args: &[&str]| crate::support::ns_ip(&h.ns, args);
        ip(&[
            "link", "add", "trk0", "type", "veth", "peer", "name", "trk0p",
        ]);
        ip(&["link", "set", "trk0p", "up"]);
        ip(&["link", "set", "trk0", "up"]);
    }
    let mut configs = BTreeMap::new();
    for (n, node) in &sc.nodes {
        let mut checks = BTreeMap::new();
        for (check, initial) in &node.checks {
            let result = dir.join(format!("{n}.{check}.result"));
            std::fs::write(&result, initial).expect("check result");
            checks.insert(check.clone(), write_check(&dir, n, check, &result));
        }
        let env = Env {
            ips: &ips,
            prefix: prefix.clone(),
            notify: write_notify(&dir, n),
            checks: &checks,
        };
        let text = expand(&node.config, &env).unwrap_or_else(|e| panic!("node {n}: {e}"));
        let text = if text.contains("global_defs") {
            text
        } else {
            format!("global_defs {{\n    router_id {n}\n}}\n{text}")
        };
        configs.insert(n.clone(), text);
    }
    let macs: Vec<String> = lab.hosts.iter().map(|h| observe::mac_of(&h.ns)).collect();
    let cap_file = dir.join("wire.pcapng");
    let cap = start_capture(&lab, &cap_file);
    let stamp = Stamp::now();
    let mut running: BTreeMap<&str, Running> = BTreeMap::new();
    let mut starts: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut senders = Vec::new();
    for a in &sc.timeline {
        clock::sleep_until(stamp.mono + Duration::from_secs_f64(a.at));
        let i = index[a.node.as_str()];
        let ns = &lab.hosts[i].ns;
        let node = a.node.as_str();
        match a.what {
            Do::Start => {
                if let Some(old) = running.remove(node) {
                    lab.wait(old.pid);
                }
                let tag = format!("{node}{}", starts.get(node).map_or(0, Vec::len));
                let keepalived = imp == Impl::Keepalived || !sc.nodes[node].test;
                starts
                    .entry(node)
                    .or_default()
                    .push(stamp.since(clock::monotonic()));
                let conf = &configs[node];
                let r = if keepalived {
                    Running {
                        pid: start_keepalived(&lab, i, &dir, &tag, conf),
                        vrrp_pid_file: Some(dir.join(format!("{tag}.vrrp.pid"))),
                    }
                } else {
                    Running {
                        pid: start_vrrpd_real(&lab, i, &dir, &tag, conf),
                        vrrp_pid_file: None,
                    }
                };
                running.insert(node, r);
            }
            Do::Stop => signal(running.get(node), libc::SIGTERM),
            Do::Kill => signal(running.get(node), libc::SIGKILL),
            Do::Check => {
                let result = dir.join(format!(
                    "{node}.{}.result",
                    a.name.as_deref().unwrap_or_default()
                ));
                std::fs::write(result, a.value.as_deref().unwrap_or_default())
                    .expect("check result");
            }
            Do::Ip => {
                let env = Env {
                    ips: &ips,
                    prefix: prefix.clone(),
                    notify: String::new(),
                    checks: &BTreeMap::new(),
                };
                let args = expand(a.args.as_deref().unwrap_or_default(), &env).expect("ip args");
                let args: Vec<&str> = args.split_whitespace().collect();
                crate::support::ns_ip(ns, &args);
            }
            Do::Partition => {
                let rules: String = a
                    .from
                    .iter()
                    .map(|f| format!("    ip saddr {} ip protocol vrrp drop\n", ips[f]))
                    .collect();
                ns_nft(
                    ns,
                    &format!(
                        "table inet diffpart {{\n  chain input {{\n    type filter hook input priority 0;\n{rules}  }}\n}}\n"
                    ),
                );
            }
            Do::Heal => ns_nft(ns, "delete table inet diffpart"),
            Do::Send => {
                let env = Env {
                    ips: &ips,
                    prefix: prefix.clone(),
                    notify: String::new(),
                    checks: &BTreeMap::new(),
                };
                let addrs = a
                    .addrs
                    .iter()
                    .map(|x| {
                        expand(x, &env)
                            .expect("addrs")
                            .parse()
                            .expect("an IPv4 address")
                    })
                    .collect();
                let c = craft::Craft {
                    vrid: a.vrid.unwrap_or_default(),
                    priority: a.priority.unwrap_or_default(),
                    interval_cs: a.interval_cs.unwrap_or_default(),
                    addrs,
                };
                let src = lab.hosts[i].ip;
                let every = Duration::from_secs_f64(a.every.unwrap_or(1.0));
                let bytes = craft::payload(&c, src);
                senders.push(craft::send(ns, src, bytes, a.count.unwrap_or(1), every));
            }
        }
    }
    for s in senders {
        s.join().expect("crafted adverts sent");
    }
    clock::sleep_until(stamp.mono + Duration::from_secs_f64(sc.duration));
    // The VIPs and liveness at the end, before the capture's wind-down.
    let mut nodes = BTreeMap::new();
    for (n, &i) in &index {
        let alive = running.get(n).is_some_and(|r| is_running(r.pid));
        nodes.insert(
            n.to_string(),
            NodeObs {
                starts: starts.get(n).cloned().unwrap_or_default(),
                notify: observe::notify_lines(&dir.join(format!("{n}.notify.log")), &stamp),
                runs: Vec::new(),
                garps: 0,
                vips: observe::vips(&lab.hosts[i].ns, &prefix, &lab.hosts[i].ip.to_string()),
                alive,
            },
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    lab.signal(cap, libc::SIGINT);
    let frames = observe::decode(&cap_file);
    for (n, &i) in &index {
        let mine: Vec<&observe::Frame> = frames
            .iter()
            .filter(|f| f.port == format!("p{i}") && f.eth_src == macs[i])
            // What came after the end (while the run winds down) does not count.
            .filter(|f| f.t - stamp.wall <= sc.duration)
            .collect();
        let obs = nodes.get_mut(*n).expect("node");
        obs.runs = observe::advert_runs(&mine, &stamp, sc.advert_int, sc.duration);
        obs.garps = observe::garps(&mine, &lab.hosts[i].ip.to_string());
    }
    RunObs { nodes, dir }
}

/// Starts vrrpd-real on host `i`: this build's, or the binary `$DIFF_VRRPD_REAL` names (to
/// run the suite against another branch's build without rebuilding this one).
fn start_vrrpd_real(lab: &Lab, i: usize, dir: &Path, tag: &str, conf: &str) -> u32 {
    let bin = std::env::var("DIFF_VRRPD_REAL")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or(crate::support::BIN.to_string());
    let path = dir.join(format!("{tag}.conf"));
    std::fs::write(&path, conf).expect("write conf");
    let log = std::fs::File::create(dir.join(format!("{tag}.log"))).expect("log");
    let mut cmd = lab.command(i, &bin);
    cmd.arg("-f")
        .arg(&path)
        .args(["-n", "-l", "-D", "-p"])
        .arg(dir.join(format!("{tag}.pid")))
        .stdout(std::process::Stdio::null())
        .stderr(log);
    lab.spawn(cmd).expect("spawn vrrpd-real")
}

/// Sends `sig` to a node's daemon (and to keepalived's VRRP child for SIGKILL, which would
/// otherwise shut down gracefully when its parent dies).
fn signal(r: Option<&Running>, sig: i32) {
    let Some(r) = r else { return };
    if sig == libc::SIGKILL {
        if let Some(p) = r
            .vrrp_pid_file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            // SAFETY: kill(2) on keepalived's VRRP child, inside the run's namespace.
            unsafe { libc::kill(p, sig) };
        }
    }
    // SAFETY: kill(2) on a process this run started.
    unsafe { libc::kill(r.pid as i32, sig) };
}

/// Whether `pid` runs (exists and is not a zombie).
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// dumpcap in the bridge namespace on every host's port: VRRP and ARP as each host sent them
/// (ingress on its port), unicast included.
fn start_capture(lab: &Lab, file: &Path) -> u32 {
    let errf = file.with_extension("err");
    let err = std::fs::File::create(&errf).expect("capture err file");
    let mut cmd = std::process::Command::new("ip");
    cmd.args(["netns", "exec", &lab.bridge_ns, "dumpcap", "-q"]);
    for i in 0..lab.hosts.len() {
        cmd.args(["-i", &format!("p{i}")]);
    }
    cmd.args(["-f", "ip proto 112 or arp", "-w"])
        .arg(file)
        .stdout(std::process::Stdio::null())
        .stderr(err);
    let pid = lab.spawn(cmd).expect("dumpcap");
    let ok = crate::support::wait_until(Duration::from_secs(10), || {
        std::fs::read_to_string(&errf)
            .unwrap_or_default()
            .contains("Capturing on")
    });
    assert!(
        ok,
        "dumpcap did not start: {}",
        std::fs::read_to_string(&errf).unwrap_or_default()
    );
    pid
}

fn write_exec(path: &Path, text: &str) -> String {
    std::fs::write(path, text).expect("script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

/// A notify script appending `CLOCK_MONOTONIC PID ARGS` to `NODE.notify.log` (perl: one
/// process, a few ms, and the clock the lab reads). Both daemons exec the script directly,
/// so its pid tells the order they started notifies in, which the stamps (taken once perl
/// runs) may not on a loaded machine.
fn write_notify(dir: &Path, node: &str) -> String {
    let log = dir.join(format!("{node}.notify.log"));
    write_exec(
        &dir.join(format!("{node}.notify")),
        &format!(
            "#!/usr/bin/perl\nuse Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);\n\
             my $t = clock_gettime(CLOCK_MONOTONIC);\nopen(my $f, '>>', '{}') or die;\n\
             printf $f \"%.6f %d %s\\n\", $t, $$, join(' ', @ARGV);\n",
            log.display()
        ),
    )
}

/// A check script whose result is the content of `result`: a number is its exit status
/// ("0" passes, "1" fails), "hang" never returns (until the daemon's timeout kills it), and
/// anything else runs as shell (`sleep 4; exit 1`: a slow failure).
fn write_check(dir: &Path, node: &str, check: &str, result: &Path) -> String {
    write_exec(
        &dir.join(format!("{node}.{check}.sh")),
        &format!(
            "#!/bin/sh\nr=$(cat {})\ncase \"$r\" in\n  [0-9]*) exit \"$r\" ;;\n  \
             hang) exec sleep 3600 ;;\n  *) eval \"$r\" ;;\nesac\n",
            result.display()
        ),
    )
}

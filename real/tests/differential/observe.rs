//! What a user sees of one node in one run: notify lines, its adverts and gratuitous ARPs on
//! the wire, the VIPs it holds at the end. Times are seconds from the run's first action.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The run's start on both clocks: CLOCK_MONOTONIC (notify lines) and the wall clock
/// (capture timestamps).
pub struct Stamp {
    /// CLOCK_MONOTONIC at the start.
    pub mono: Duration,
    /// Wall clock at the start, seconds since the epoch.
    pub wall: f64,
}

impl Stamp {
    /// Now.
    pub fn now() -> Stamp {
        let mono = vrrp_lab::clock::monotonic();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs_f64();
        Stamp { mono, wall }
    }

    /// Seconds from the start to monotonic instant `t`.
    pub fn since(&self, t: Duration) -> f64 {
        t.as_secs_f64() - self.mono.as_secs_f64()
    }
}

/// One node's observations.
#[derive(Clone, Debug)]
pub struct NodeObs {
    /// When the node's daemon was started, each time.
    pub starts: Vec<f64>,
    /// Notify lines: time and arguments (`INSTANCE VI_1 MASTER 100`).
    pub notify: Vec<(f64, String)>,
    /// Its runs of adverts on the wire.
    pub runs: Vec<Run>,
    /// Gratuitous ARPs it sent for addresses other than its own.
    pub garps: usize,
    /// Addresses of the run's subnet it holds at the end besides its own, as `.N`.
    pub vips: Vec<String>,
    /// Whether its daemon still runs at the end.
    pub alive: bool,
}

/// Adverts sent back to back (no gap over 1.5 advert intervals): a period as Master.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The first advert.
    pub start: f64,
    /// The last advert, or `None` if the run lasts to the end of the capture.
    pub end: Option<f64>,
    /// The priorities advertised, consecutive repeats folded except 0 (each priority-0
    /// advert counts: a Master leaving sends one or two).
    pub prios: Vec<u8>,
}

/// One captured frame, as it entered the bridge.
#[derive(Debug)]
pub struct Frame {
    /// Capture time, seconds since the epoch.
    pub t: f64,
    /// The bridge port it came in on (`pI` leads to host I).
    pub port: String,
    /// Its source MAC.
    pub eth_src: String,
    prio: Option<u8>,
    arp: Option<(String, String)>,
}

/// The MAC of `eth0` in namespace `ns`.
pub fn mac_of(ns: &str) -> String {
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "link", "show", "eth0"])
        .output()
        .expect("ip link");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .expect("a MAC")
        .to_string()
}

/// Decodes the capture: VRRP adverts and ARP frames, with the port they came in on.
pub fn decode(file: &Path) -> Vec<Frame> {
    let fields = [
        "frame.time_epoch",
        "frame.interface_name",
        "eth.src",
        "vrrp.prio",
        "arp.src.proto_ipv4",
        "arp.dst.proto_ipv4",
        "arp.opcode",
    ];
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(file)
        .args(["-Y", "vrrp or arp", "-T", "fields", "-E", "separator=|"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            let (t, port, eth, prio, asrc, adst, op) = (
                f.first()?,
                f.get(1)?,
                f.get(2)?,
                f.get(3)?,
                f.get(4)?,
                f.get(5)?,
                f.get(6)?,
            );
            Some(Frame {
                t: t.parse().ok()?,
                port: port.to_string(),
                eth_src: eth.to_string(),
                prio: prio.parse().ok(),
                // Requests only: a reply for a VIP comes from the kernel, not the daemon.
                arp: (*op == "1").then(|| (asrc.to_string(), adst.to_string())),
            })
        })
        .collect()
}

/// A node's adverts grouped into runs; `end` is when the capture stopped (seconds), to tell
/// a run still going from one that ended.
pub fn advert_runs(frames: &[&Frame], stamp: &Stamp, advert_int: f64, end: f64) -> Vec<Run> {
    let gap = 1.5 * advert_int;
    let mut runs: Vec<Run> = Vec::new();
    let mut last = f64::NEG_INFINITY;
    for f in frames {
        let Some(prio) = f.prio else { continue };
        let t = f.t - stamp.wall;
        match runs.last_mut() {
            Some(r) if t - last <= gap => {
                if prio == 0 || r.prios.last() != Some(&prio) {
                    r.prios.push(prio);
                }
            }
            _ => {
                if let Some(r) = runs.last_mut() {
                    r.end = Some(last);
                }
                runs.push(Run {
                    start: t,
                    end: None,
                    prios: vec![prio],
                });
            }
        }
        last = t;
    }
    // A Master still in office sent its last advert at most one interval (and a little
    // jitter) before the end.
    if let Some(r) = runs.last_mut() {
        if end - last > 1.2 * advert_int {
            r.end = Some(last);
        }
    }
    runs
}

/// Gratuitous ARP requests (sender address = target address) for addresses other than `own`.
pub fn garps(frames: &[&Frame], own: &str) -> usize {
    frames
        .iter()
        .filter(|f| matches!(&f.arp, Some((s, d)) if s == d && s != own))
        .count()
}

/// Notify lines `MONOTONIC PID ARGS`, as (seconds from the start, ARGS), in the order the
/// daemon started them: by pid, counted from the first stamped line's pid modulo
/// `pid_max` (pids wrap at 32768 here).
pub fn notify_lines(file: &Path, stamp: &Stamp) -> Vec<(f64, String)> {
    let pid_max: i64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(32768);
    let mut lines: Vec<(f64, i64, String)> = std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (t, rest) = l.split_once(' ')?;
            let (pid, args) = rest.split_once(' ')?;
            let t: f64 = t.parse().ok()?;
            Some((
                t - stamp.mono.as_secs_f64(),
                pid.parse().ok()?,
                args.to_string(),
            ))
        })
        .collect();
    let first = lines
        .iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(0, |l| l.1);
    lines.sort_by_key(|l| (l.1 - first + pid_max / 2).rem_euclid(pid_max));
    lines.into_iter().map(|(t, _, a)| (t, a)).collect()
}

/// The IPv4 addresses in `prefix` (`10.X.Y.`) a namespace holds besides `own`, as `.N`.
pub fn vips(ns: &str, prefix: &str, own: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "-4", "addr", "show"])
        .output()
        .expect("ip addr");
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|w| w.contains('/'))
        .filter_map(|w| w.split('/').next())
        .filter(|a| *a != own)
        .filter_map(|a| a.strip_prefix(prefix).map(|n| format!(".{n}")))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advert(t: f64, prio: u8) -> Frame {
        Frame {
            t,
            port: "p0".into(),
            eth_src: "m".into(),
            prio: Some(prio),
            arp: None,
        }
    }

    #[test]
    fn adverts_group_into_runs_with_each_priority_zero_kept() {
        // Times exact in binary, so the runs compare exactly.
        let stamp = Stamp {
            mono: Duration::ZERO,
            wall: 0.0,
        };
        let frames: Vec<Frame> = [(3.5, 100), (4.5, 100), (5.5, 90), (5.75, 0), (6.0, 0)]
            .into_iter()
            .chain([(8.0, 100), (9.0, 100)])
            .map(|(t, p)| advert(t, p))
            .collect();
        let refs: Vec<&Frame> = frames.iter().collect();
        let run = |start, end, prios: &[u8]| Run {
            start,
            end,
            prios: prios.to_vec(),
        };
        assert_eq!(
            advert_runs(&refs, &stamp, 1.0, 10.0),
            [
                run(3.5, Some(6.0), &[100, 90, 0, 0]),
                run(8.0, None, &[100])
            ]
        );
        // The same second run, more than 1.2 intervals before the end: it ended.
        assert_eq!(advert_runs(&refs, &stamp, 1.0, 10.25)[1].end, Some(9.0));
    }

    #[test]
    fn only_gratuitous_requests_for_other_addresses_count() {
        let arp = |s: &str, d: &str| Frame {
            t: 0.0,
            port: "p0".into(),
            eth_src: "m".into(),
            prio: None,
            arp: Some((s.into(), d.into())),
        };
        let frames = [
            arp("10.0.0.100", "10.0.0.100"),
            arp("10.0.0.1", "10.0.0.1"),
            arp("10.0.0.1", "10.0.0.2"),
        ];
        let refs: Vec<&Frame> = frames.iter().collect();
        assert_eq!(garps(&refs, "10.0.0.1"), 1);
    }
}

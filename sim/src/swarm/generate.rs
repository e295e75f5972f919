//! Random fault schedules for one swarm case: episodes of the enabled kinds at random times,
//! each a fault and (mostly) its end, on the nodes, scripts, processes and real servers the
//! experiment has. Every draw comes from the case's own RNG, so a case is a pure function of
//! the file, the swarm seed and the case number.

use super::kinds::{Kind, KindSet};
use crate::draw;
use crate::experiment::duration::Dur;
use crate::experiment::model::{CheckBehaviour, Fault, RsState, TimedFault, Variant};
use crate::experiment::schema::{BurstSpec, Distribution, LatencyRange, LatencySpec};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;
use vrrp_engine::config::Config;
use vrrp_engine::timing::normalize_interval;

/// What a schedule may contain.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Simulated time of the run: faults fall in [0, duration).
    pub duration: Duration,
    /// At most this many episodes (at least one).
    pub max_episodes: usize,
}

/// Probability that an episode never ends (a crash nobody restarts, a cut nobody heals).
const P_PERMANENT: f64 = 0.15;

/// A drawn schedule.
#[derive(Clone, Debug, Default)]
pub struct Schedule {
    /// The timeline, sorted by time (stable).
    pub faults: Vec<TimedFault>,
    /// The kind of each episode drawn, in draw order.
    pub episodes: Vec<Kind>,
}

/// A schedule of episodes of the `kinds` for the nodes of `base`.
pub fn schedule(base: &Variant, kinds: KindSet, shape: Shape, rng: &mut ChaCha8Rng) -> Schedule {
    let enabled = kinds.kinds();
    let mut out: Vec<TimedFault> = Vec::new();
    let mut drawn = Vec::new();
    if enabled.is_empty() || shape.duration.is_zero() {
        return Schedule::default();
    }
    let episodes = draw::between(rng, 1, shape.max_episodes.max(1) as u64) as usize;
    for _ in 0..episodes {
        let kind = enabled[draw::index(rng, enabled.len())];
        drawn.push(kind);
        let at = uniform_time(rng, shape.duration);
        let length = episode_length(rng, shape.duration);
        let end = (!draw::chance(rng, P_PERMANENT)).then_some(at + length);
        for (t, fault) in episode(base, kind, at, end, rng) {
            if t < shape.duration {
                out.push(TimedFault {
                    at: t,
                    jitter: Duration::ZERO,
                    fault,
                    span: 0..0,
                });
            }
        }
    }
    out.sort_by_key(|f| f.at);
    Schedule {
        faults: out,
        episodes: drawn,
    }
}

/// A time in [0, d), to the microsecond.
fn uniform_time(rng: &mut ChaCha8Rng, d: Duration) -> Duration {
    let us = d.as_micros().max(1) as u64;
    Duration::from_micros(draw::below(rng, us))
}

/// How long an episode lasts: log-uniform from 10 ms to the run's length, so blips shorter
/// than a Master_Down_Interval are as common as long outages.
fn episode_length(rng: &mut ChaCha8Rng, d: Duration) -> Duration {
    let lo = 0.01f64.ln();
    let hi = d.as_secs_f64().max(0.02).ln();
    let s = draw::uniform(rng, lo, hi).exp();
    Duration::from_micros((s * 1e6) as u64)
}

/// A value of `choices`.
fn pick<T: Copy>(rng: &mut ChaCha8Rng, choices: &[T]) -> T {
    choices[draw::index(rng, choices.len())]
}

/// A node index among those `ok` accepts, if any.
fn node_where(base: &Variant, rng: &mut ChaCha8Rng, ok: impl Fn(&Config) -> bool) -> Option<usize> {
    let nodes: Vec<usize> = (0..base.nodes.len())
        .filter(|&i| ok(&base.nodes[i].config))
        .collect();
    draw::choose(rng, &nodes).copied()
}

/// The faults of one episode of `kind` starting at `at`, ending at `end` if given.
fn episode(
    base: &Variant,
    kind: Kind,
    at: Duration,
    end: Option<Duration>,
    rng: &mut ChaCha8Rng,
) -> Vec<(Duration, Fault)> {
    let n = base.nodes.len();
    let mut v = Vec::new();
    let then = |v: &mut Vec<(Duration, Fault)>, f: Fault| {
        if let Some(e) = end {
            v.push((e, f));
        }
    };
    match kind {
        Kind::Stop | Kind::Kill => {
            let node = draw::index(rng, n);
            v.push((
                at,
                if kind == Kind::Stop {
                    Fault::Stop(node)
                } else {
                    Fault::Kill(node)
                },
            ));
            then(&mut v, Fault::Restart(node));
        }
        Kind::Restart => v.push((at, Fault::Restart(draw::index(rng, n)))),
        Kind::Partition => {
            let mut order: Vec<usize> = (0..n).collect();
            draw::shuffle(rng, &mut order);
            let cut = draw::between(rng, 1, n as u64 - 1) as usize;
            let (a, b) = order.split_at(cut);
            v.push((at, Fault::Partition(vec![sorted(a), sorted(b)])));
            then(&mut v, Fault::Heal);
        }
        Kind::OneWay => {
            let mut order: Vec<usize> = (0..n).collect();
            draw::shuffle(rng, &mut order);
            let cut = draw::between(rng, 1, n as u64 - 1) as usize;
            let (a, b) = order.split_at(cut);
            v.push((
                at,
                Fault::OneWay {
                    from: sorted(a),
                    to: sorted(b),
                },
            ));
            then(&mut v, Fault::Heal);
        }
        Kind::Loss => {
            let rate = pick(rng, &[0.01, 0.1, 0.3, 0.5, 0.8, 1.0]);
            let link = (n >= 2 && draw::chance(rng, 0.5)).then(|| {
                let from = draw::index(rng, n);
                let to = (from + draw::between(rng, 1, n as u64 - 1) as usize) % n;
                (from, to)
            });
            let restore = match link {
                Some((f, t)) => base.network.link(f, t).loss,
                None => base.network.default.loss,
            };
            v.push((at, Fault::Loss { rate, link }));
            then(
                &mut v,
                Fault::Loss {
                    rate: restore,
                    link,
                },
            );
        }
        Kind::Burst => {
            let b = BurstSpec {
                p_enter_bad: pick(rng, &[0.01, 0.05, 0.2]),
                p_leave_bad: pick(rng, &[0.1, 0.3, 0.6]),
                loss_good: 0.0,
                loss_bad: pick(rng, &[0.5, 1.0]),
            };
            v.push((at, Fault::Burst(Some(b))));
            then(&mut v, Fault::Burst(base.network.default.burst));
        }
        Kind::Latency => {
            // Up to twice the shortest advert interval: slow links that still deliver.
            let a_min = base
                .nodes
                .iter()
                .flat_map(|p| p.config.instances.iter())
                .map(|i| normalize_interval(i.version, i.advert_interval))
                .min()
                .unwrap_or(Duration::from_secs(1));
            let lo = 0.001f64.ln();
            let hi = (2.0 * a_min.as_secs_f64()).max(0.002).ln();
            let max = Duration::from_micros((draw::uniform(rng, lo, hi).exp() * 1e6) as u64);
            let spec = if draw::chance(rng, 0.5) {
                LatencySpec::Fixed(Dur(max))
            } else {
                LatencySpec::Range(LatencyRange {
                    min: Dur(max / 10),
                    max: Dur(max),
                    distribution: Distribution::Uniform,
                })
            };
            v.push((at, Fault::Latency(spec)));
            then(&mut v, Fault::Latency(base.network.default.latency.clone()));
        }
        Kind::LinkFlap => {
            let node = draw::index(rng, n);
            v.push((at, Fault::LinkDown(node)));
            then(&mut v, Fault::LinkUp(node));
        }
        Kind::CheckFail | Kind::CheckFlap => {
            let Some(node) = node_where(base, rng, |c| !c.scripts.is_empty()) else {
                return v;
            };
            let scripts = &base.nodes[node].config.scripts;
            let s = &scripts[draw::index(rng, scripts.len())];
            let behaviour = if kind == Kind::CheckFail {
                CheckBehaviour::Fail
            } else {
                let period = s
                    .interval
                    .max(Duration::from_millis(10))
                    .mul_f64(draw::uniform(rng, 1.0, 20.0));
                CheckBehaviour::Flap {
                    start: at,
                    period,
                    duty: draw::uniform(rng, 0.1, 0.9),
                    jitter: period.mul_f64(draw::uniform(rng, 0.0, 0.5)),
                }
            };
            v.push((
                at,
                Fault::Check {
                    node,
                    script: s.name.clone(),
                    behaviour,
                },
            ));
            then(
                &mut v,
                Fault::Check {
                    node,
                    script: s.name.clone(),
                    behaviour: CheckBehaviour::Pass,
                },
            );
        }
        Kind::Process => {
            let Some(node) = node_where(base, rng, |c| !c.track_processes.is_empty()) else {
                return v;
            };
            let procs = &base.nodes[node].config.track_processes;
            let p = &procs[draw::index(rng, procs.len())];
            v.push((
                at,
                Fault::Process {
                    node,
                    process: p.name.clone(),
                    count: 0,
                },
            ));
            then(
                &mut v,
                Fault::Process {
                    node,
                    process: p.name.clone(),
                    count: p.quorum.max(1),
                },
            );
        }
        Kind::Priority => {
            let Some(node) = node_where(base, rng, |c| !c.instances.is_empty()) else {
                return v;
            };
            let insts = &base.nodes[node].config.instances;
            let inst = &insts[draw::index(rng, insts.len())];
            v.push((
                at,
                Fault::Priority {
                    node,
                    instance: Some(inst.name.clone()),
                    priority: draw::byte_between(rng, 1, 254),
                },
            ));
            then(
                &mut v,
                Fault::Priority {
                    node,
                    instance: Some(inst.name.clone()),
                    priority: inst.priority.max(1),
                },
            );
        }
        Kind::Reload => {
            let Some(node) = node_where(base, rng, |c| !c.instances.is_empty()) else {
                return v;
            };
            let own = &base.nodes[node].config;
            let config = reload_config(base, node, own, rng);
            v.push((
                at,
                Fault::Reload {
                    node,
                    config: Box::new(config),
                },
            ));
            then(
                &mut v,
                Fault::Reload {
                    node,
                    config: Box::new(own.clone()),
                },
            );
        }
        Kind::RealServer => {
            let rs = &base.real_servers[draw::index(rng, base.real_servers.len())];
            let state = match draw::below_u32(rng, 5) {
                0 => RsState::Down,
                1 => RsState::Blackhole,
                2 => RsState::Slow(Duration::from_millis(draw::between(rng, 100, 9_999))),
                3 => RsState::HttpStatus(500),
                _ => RsState::WrongBody,
            };
            v.push((
                at,
                Fault::RealServer {
                    addr: rs.addr,
                    state,
                },
            ));
            then(
                &mut v,
                Fault::RealServer {
                    addr: rs.addr,
                    state: RsState::Up,
                },
            );
        }
    }
    v
}

/// What a swarm reload loads on `node`: its own file again (a no-op reload), one of the
/// experiment's own reloads of that node, or its file with one instance's priority changed
/// (when the engine accepts it).
fn reload_config(base: &Variant, node: usize, own: &Config, rng: &mut ChaCha8Rng) -> Config {
    let files: Vec<&Config> = base
        .timeline
        .iter()
        .filter_map(|f| match &f.fault {
            Fault::Reload { node: m, config } if *m == node => Some(&**config),
            _ => None,
        })
        .collect();
    match draw::below_u32(rng, 3) {
        0 if !files.is_empty() => files[draw::index(rng, files.len())].clone(),
        1 => {
            let mut c = own.clone();
            let i = draw::index(rng, c.instances.len());
            c.instances[i].priority = draw::byte_between(rng, 1, 254);
            if vrrp_engine::Engine::new(c.clone(), vrrp_engine::Instant::ZERO).is_ok() {
                c
            } else {
                own.clone()
            }
        }
        _ => own.clone(),
    }
}

fn sorted(v: &[usize]) -> Vec<usize> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v
}

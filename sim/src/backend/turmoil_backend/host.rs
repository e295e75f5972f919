//! One turmoil host = one node's daemon: the same loop shape as the real daemon's, a
//! `tokio::select!` with `biased;` over the control channel (faults the timeline sends), the
//! UDP socket (VRRP payloads on 224.0.0.18 / ff02::12 port 112) and `sleep_until` the tick of
//! the engine's deadline. Engine time is exact: the tick (`turmoil::sim_elapsed()`, global and
//! continuous across restarts) tells which 1 ms the host runs, the engine gets the exact time of
//! each thing within it ([`daemon`]).
//!
//! Everything a node reports goes to the shared [`Observer`](crate::observe::observer::Observer) at
//! once, from inside the host, and the invariants are checked after each drain, as the event
//! queue does.
//!
//! Real-server probes: the observer's model answers each at once with its duration; the
//! daemon keeps the answers of its own incarnation in a queue and hands each to its engine
//! at the probe's end (the loop sleeps until the tick of the earlier of the engine's deadline
//! and the next answer). A crashed or restarted incarnation's answers die with it.

use super::shared::{Control, Pending, Shared};
use crate::backend::Wire;
use crate::observe::observer::Observer;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;
use turmoil::net::UdpSocket;
use vrrp_engine::lvs::{CheckerId, ProbeResult};
use vrrp_engine::{Engine, Family, Input, Instant, RxPacket, Transmit};

/// Probe answers waiting for their time: (end, sequence) -> (checker, probe seq, result).
type ProbeQueue = BTreeMap<(Instant, u64), (CheckerId, u64, ProbeResult)>;

/// The VRRP "port": IP protocol 112, carried here as a UDP port.
pub(super) const PORT: u16 = 112;
/// The IPv4 VRRP group (RFC 5798 §5.1.1.2).
pub(super) const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 VRRP group (RFC 5798 §5.1.2.2).
pub(super) const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit every VRRP packet carries (RFC 5798 §5.1.1.3); turmoil has no IP header.
const TTL: u8 = 255;

/// The tick being run: simulated time since the run started, the same on every host, a whole
/// number of ticks.
pub(super) fn now() -> vrrp_engine::Instant {
    vrrp_engine::Instant::from_offset(turmoil::sim_elapsed().unwrap_or_default())
}

/// The sender's lag behind the tick it sends on, carried in front of each VRRP payload: the
/// receiver's engine gets the exact arrival time (its tick plus the lag).
const LAG_LEN: usize = 4;

/// Something a host does within the tick being run, at its exact time.
enum Due {
    Control,
    Datagram,
    Probe,
    Timer,
}

/// The daemon of node `n`: one incarnation, from (re)start to crash.
///
/// Time: the engine gets the exact time of everything, as on the event queue; tokio's clock
/// only says which tick runs. At tick `T` the daemon does, in time order, everything whose
/// exact time lies in `[T, T + TICK)`: control messages (faults the outer loop sends at the
/// tick at or before their time), datagrams delivered at this tick (each carries its
/// sender's lag behind its own tick, so its exact arrival is this tick plus that lag: a fixed
/// latency is kept exactly), real-server answers and the engine's timers. Ties go control,
/// datagrams, probes, timers, as the event queue's heap events precede its timers. The loop
/// then sleeps until the tick holding its next deadline.
pub(super) async fn daemon(shared: Rc<RefCell<Shared>>, n: usize) -> turmoil::Result {
    let Some(mut control) = shared.borrow_mut().control[n].take() else {
        return Err(format!("node {n}: started without a control channel").into());
    };
    let family = shared.borrow().family;
    let sock = match family {
        Family::Ipv4 => {
            let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, PORT)).await?;
            s.join_multicast_v4(GROUP_V4, Ipv4Addr::UNSPECIFIED)?;
            s.set_multicast_loop_v4(false)?;
            s
        }
        Family::Ipv6 => {
            let s = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, PORT)).await?;
            s.join_multicast_v6(&GROUP_V6, 0)?;
            s.set_multicast_loop_v6(false)?;
            s
        }
    };
    let tick = now();
    let t = shared.borrow_mut().start_at[n]
        .take()
        .unwrap_or(tick)
        .max(tick);
    let Some(mut d) = Daemon::start(&shared, n, sock, tick, t) else {
        std::future::pending::<()>().await;
        return Ok(());
    };
    let mut buf = vec![0u8; 65_536];
    // Control messages and datagrams received, not yet handled (their exact times).
    let mut controls: VecDeque<(Instant, Control)> = VecDeque::new();
    let mut inbox: VecDeque<(Instant, SocketAddr, Vec<u8>)> = VecDeque::new();
    'run: loop {
        let sleep = d.next_due().map(|due| {
            // Wake at the tick holding the deadline (tokio would round it up to the next).
            let wake = floor_tick(due).max(now());
            tokio::time::Instant::now() + (wake - now())
        });
        let sleep = async move {
            match sleep {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            c = control.recv() => match c {
                Some(c) => controls.push_back(c),
                None => controls.push_back((now(), Control::Stop)),
            },
            r = d.sock.recv_from(&mut buf) => {
                let (len, from) = r?;
                inbox.push_back(arrival(now(), from, &buf[..len]));
            }
            _ = sleep => {}
        }
        let tick = now();
        let end = tick + super::TICK;
        while let Ok(c) = control.try_recv() {
            controls.push_back(c);
        }
        while let Ok((len, from)) = d.sock.try_recv_from(&mut buf) {
            inbox.push_back(arrival(tick, from, &buf[..len]));
        }
        // Datagrams of one tick come in turmoil's order (by link), not by sending time.
        inbox.make_contiguous().sort_by_key(|x| x.0);
        loop {
            let candidates = [
                (controls.front().map(|c| c.0), Due::Control),
                (inbox.front().map(|x| x.0), Due::Datagram),
                (d.probes.first_key_value().map(|(k, _)| k.0), Due::Probe),
                (d.engine.poll_timeout(), Due::Timer),
            ];
            // The earliest; on a tie the first in that list.
            let Some((at, what)) = candidates
                .into_iter()
                .filter_map(|(at, what)| Some((at?, what)))
                .min_by_key(|(at, _)| *at)
            else {
                break;
            };
            if at >= end {
                break;
            }
            // Never back in time (a datagram with no latency, a late start) nor before the
            // tick (what is sent now leaves on it).
            let t = at.max(d.last).max(tick);
            d.last = t;
            let mut sh = shared.borrow_mut();
            match what {
                Due::Control => {
                    let Some((_, c)) = controls.pop_front() else {
                        break;
                    };
                    match c {
                        Control::Stop => {
                            d.stop(&mut sh, tick, t);
                            break 'run;
                        }
                        Control::Restart => {
                            d.stop(&mut sh, tick, t);
                            drop(sh);
                            let restarted = Daemon::start(&shared, n, d.sock, tick, t);
                            let Some(next) = restarted else {
                                // The file is refused: no daemon runs until the next start.
                                break 'run;
                            };
                            d = next;
                        }
                        c => d.control(&mut sh, tick, t, c),
                    }
                }
                Due::Datagram => {
                    let Some((_, from, p)) = inbox.pop_front() else {
                        break;
                    };
                    d.receive(&mut sh, tick, t, from, &p);
                }
                Due::Probe => {
                    let Some(((_, _), (checker, seq, result))) = d.probes.pop_first() else {
                        break;
                    };
                    d.engine.handle(
                        t,
                        Input::ProbeResult {
                            checker,
                            seq,
                            result,
                        },
                    );
                    d.drain(&mut sh, tick, t);
                }
                Due::Timer => {
                    d.engine.handle_timeout(t);
                    d.drain(&mut sh, tick, t);
                }
            }
        }
    }
    // Stopped: the process is gone; the timeline crashes the host after this tick.
    std::future::pending::<()>().await;
    Ok(())
}

/// The start of the tick holding `t`.
fn floor_tick(t: Instant) -> Instant {
    let tick = super::TICK.as_nanos();
    let ns = t.offset().as_nanos();
    Instant::from_offset(Duration::from_nanos((ns - ns % tick) as u64))
}

/// A datagram received at tick `tick`: its exact arrival (the tick plus the sender's lag) and
/// the VRRP payload without the lag.
fn arrival(tick: Instant, from: SocketAddr, p: &[u8]) -> (Instant, SocketAddr, Vec<u8>) {
    let (lag, payload) = match p.split_first_chunk::<LAG_LEN>() {
        Some((lag, rest)) => (u32::from_be_bytes(*lag), rest),
        None => (0, p),
    };
    let at = tick + Duration::from_nanos(u64::from(lag));
    (at, from, payload.to_vec())
}

struct Daemon {
    n: usize,
    engine: Engine,
    sock: UdpSocket,
    /// This incarnation's probe answers, by the time each probe ends.
    probes: ProbeQueue,
    probe_seq: u64,
    /// The latest time handed to the engine.
    last: Instant,
}

impl Daemon {
    /// A fresh engine for node `n` at exact time `t` (in tick `tick`), reported to the
    /// observer; `None` (the node idles) when the engine refuses the configuration.
    fn start(
        shared: &RefCell<Shared>,
        n: usize,
        sock: UdpSocket,
        tick: Instant,
        t: Instant,
    ) -> Option<Daemon> {
        let mut sh = shared.borrow_mut();
        let config = sh.configs[n].clone();
        let engine = crate::backend::start_engine(&mut sh.obs, t, n, config);
        sh.alive[n] &= engine.is_some();
        let mut d = Daemon {
            n,
            engine: engine?,
            sock,
            probes: ProbeQueue::new(),
            probe_seq: 0,
            last: t,
        };
        // A (re)started daemon first removes VIPs a dead predecessor left.
        let up = sh.net.link_up[n];
        sh.obs.node_started(tick, n, up);
        d.feed_interfaces(&mut sh, tick, t);
        Some(d)
    }

    /// The earliest of the engine's deadline and the next probe answer.
    fn next_due(&self) -> Option<Instant> {
        let probe = self.probes.first_key_value().map(|(k, _)| k.0);
        match (self.engine.poll_timeout(), probe) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Graceful stop at `t`: priority-0 adverts, VIPs released.
    fn stop(&mut self, sh: &mut Shared, tick: Instant, t: Instant) {
        sh.obs.node_stopping(tick, self.n);
        self.engine.handle(t, Input::Shutdown);
        self.drain(sh, tick, t);
        sh.obs.node_gone(tick, self.n);
    }

    /// A control message other than a stop or restart, at `t`.
    fn control(&mut self, sh: &mut Shared, tick: Instant, t: Instant, c: Control) {
        let n = self.n;
        match c {
            Control::Stop | Control::Restart => {}
            Control::Interfaces => self.feed_interfaces(sh, tick, t),
            Control::Priority { instance, priority } => {
                let ids = crate::backend::priority_targets(&self.engine, instance.as_deref());
                for instance in ids {
                    self.engine
                        .handle(t, Input::SetPriority { instance, priority });
                }
                self.drain(sh, tick, t);
            }
            Control::Process { process, count } => {
                crate::backend::set_process(
                    &mut sh.obs,
                    Some(&mut self.engine),
                    t,
                    n,
                    &process,
                    count,
                );
                self.drain(sh, tick, t);
            }
            Control::Reload(config) => {
                crate::backend::reload_engine(&mut sh.obs, &mut self.engine, t, n, *config);
                self.drain(sh, tick, t);
                // Interfaces the new file names (feeding known ones again changes nothing).
                self.feed_interfaces(sh, tick, t);
            }
        }
    }

    fn feed_interfaces(&mut self, sh: &mut Shared, tick: Instant, t: Instant) {
        let updates = crate::backend::interface_updates(
            &sh.variant.nodes[self.n],
            &sh.interfaces[self.n],
            sh.net.link_up[self.n],
        );
        for u in updates {
            self.engine.handle(t, Input::Interface(u));
        }
        self.drain(sh, tick, t);
    }

    /// A datagram from `from` arrives at `t`.
    fn receive(&mut self, sh: &mut Shared, tick: Instant, t: Instant, from: SocketAddr, p: &[u8]) {
        let n = self.n;
        if !sh.net.link_up[n] {
            return;
        }
        let Some(m) = sh.node_of(from.ip()) else {
            return;
        };
        if sh.take_drop(m, n, p, t) {
            return;
        }
        let dst = sh.destination(m, n, from.ip(), p);
        sh.obs.advert_delivered(tick, n, from.ip(), p);
        let base = sh.interfaces[n].first().cloned().unwrap_or_default();
        let iface = crate::backend::receiving_interface(&self.engine, &base, from.ip(), p);
        let p = RxPacket {
            interface: &iface,
            src: from.ip(),
            dst,
            ttl: TTL,
            payload: p,
        };
        sh.obs.packet_received(tick, n, &p);
        self.engine.handle(t, Input::Packet(p));
        self.drain(sh, tick, t);
    }

    /// Process every output of the engine at `t` (in tick `tick`) until it is quiet
    /// ([`crate::backend::drain`]).
    fn drain(&mut self, sh: &mut Shared, tick: Instant, t: Instant) {
        let up = sh.net.link_up[self.n];
        let mut wire = HostWire {
            tick,
            sh,
            sock: &self.sock,
            probes: &mut self.probes,
            probe_seq: &mut self.probe_seq,
        };
        crate::backend::drain(&mut wire, &mut self.engine, t, self.n, up);
    }
}

/// The wire of one host: the tick being run, the shared state, the host's socket and its
/// probe queue.
struct HostWire<'h> {
    tick: Instant,
    sh: &'h mut Shared,
    sock: &'h UdpSocket,
    probes: &'h mut ProbeQueue,
    probe_seq: &'h mut u64,
}

impl Wire<'static> for HostWire<'_> {
    fn observer(&mut self) -> &mut Observer<'static> {
        &mut self.sh.obs
    }

    fn observed(&self, _: Instant) -> Instant {
        self.tick
    }

    fn probe_result(
        &mut self,
        at: Instant,
        _: usize,
        checker: CheckerId,
        seq: u64,
        result: ProbeResult,
    ) {
        *self.probe_seq += 1;
        self.probes
            .insert((at, *self.probe_seq), (checker, seq, result));
    }

    fn announce(&mut self, t: vrrp_engine::Instant, n: usize, addr: IpAddr) {
        let sh = &mut *self.sh;
        for client in 0..sh.clients {
            let Shared { net, rng, .. } = &mut *sh;
            if let Some(delay) = net.to_clients(n, rng) {
                sh.push(
                    t + delay,
                    Pending::Announce {
                        client,
                        node: n,
                        addr,
                    },
                );
            }
        }
    }

    /// Decide loss per receiver now (the run's RNG, in the event queue's order), then put the
    /// VRRP message on turmoil's network once: to the group, or to the unicast peer.
    fn transmit(&mut self, t: vrrp_engine::Instant, n: usize, x: Transmit) {
        let sh = &mut *self.sh;
        for r in 0..sh.alive.len() {
            if r == n || !sh.alive[r] {
                continue;
            }
            let plan = &sh.variant.nodes[r];
            let addressed = x.dst.is_multicast()
                || x.dst == IpAddr::V4(plan.address)
                || x.dst == IpAddr::V6(plan.ipv6_link_local);
            if !addressed {
                continue;
            }
            let reachable = sh.net.reachable(n, r);
            let Shared { net, rng, .. } = &mut *sh;
            if net.transfer(n, r, rng).is_none() && reachable {
                sh.note_drop(n, r, &x.payload, t);
            }
        }
        let dst = match x.dst {
            IpAddr::V4(a) if a.is_multicast() => SocketAddr::from((GROUP_V4, PORT)),
            IpAddr::V6(a) if a.is_multicast() => SocketAddr::from((GROUP_V6, PORT)),
            a => SocketAddr::new(a, PORT),
        };
        // The lag behind the tick, then the payload.
        let lag = (t - self.tick).as_nanos();
        debug_assert!(
            lag < super::TICK.as_nanos(),
            "sending outside the tick being run"
        );
        let mut datagram = Vec::with_capacity(LAG_LEN + x.payload.len());
        datagram.extend_from_slice(&(lag as u32).to_be_bytes());
        datagram.extend_from_slice(&x.payload);
        // turmoil refuses unicast to an address no host has; a real LAN would just lose it.
        let _ = self.sock.try_send_to(&datagram, dst);
    }
}

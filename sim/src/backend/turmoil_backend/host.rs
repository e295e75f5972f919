//! One turmoil host = one node's daemon: the same loop shape as the real daemon's, a
//! `tokio::select!` with `biased;` over the control channel (faults the timeline sends), the
//! UDP socket (VRRP payloads on 224.0.0.18 / ff02::12 port 112) and `sleep_until` the engine's
//! deadline. Engine time is `turmoil::sim_elapsed()`: global and continuous across restarts.
//!
//! Everything a node reports goes to the shared [`Observer`](crate::observe::observer::Observer) at
//! once, from inside the host, and the invariants are checked after each drain, as the event
//! queue does.
//!
//! Real-server probes: the observer's model answers each at once with its duration; the
//! daemon keeps the answers of its own incarnation in a queue and hands each to its engine
//! at the first tick at or after the probe's end (the loop sleeps until the earlier of the
//! engine's deadline and the next answer). A crashed incarnation's answers die with it.

use super::shared::{Control, Pending, Shared};
use crate::backend::Wire;
use crate::observe::observer::Observer;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
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

/// The engine's clock: simulated time since the run started, the same on every host.
pub(super) fn now() -> vrrp_engine::Instant {
    vrrp_engine::Instant::from_offset(turmoil::sim_elapsed().unwrap_or_default())
}

/// The daemon of node `n`: one incarnation, from (re)start to crash.
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
    let t = now();
    let started = {
        let mut sh = shared.borrow_mut();
        let config = sh.configs[n].clone();
        let e = crate::backend::start_engine(&mut sh.obs, t, n, config);
        sh.alive[n] &= e.is_some();
        e
    };
    let Some(engine) = started else {
        std::future::pending::<()>().await;
        return Ok(());
    };
    let mut d = Daemon {
        n,
        engine,
        sock,
        probes: ProbeQueue::new(),
        probe_seq: 0,
    };
    {
        let mut sh = shared.borrow_mut();
        // A (re)started daemon first removes VIPs a dead predecessor left.
        let up = sh.net.link_up[n];
        sh.obs.node_started(t, n, up);
        d.feed_interfaces(&mut sh, t);
    }
    let mut buf = vec![0u8; 65_536];
    loop {
        let due = match (d.engine.poll_timeout(), d.probes.first_key_value()) {
            (Some(a), Some((&(b, _), _))) => Some(a.min(b)),
            (a, b) => a.or(b.map(|(&(t, _), _)| t)),
        };
        let sleep = match due {
            Some(deadline) => {
                let wait = deadline - now();
                Some(tokio::time::Instant::now() + wait)
            }
            None => None,
        };
        let sleep = async move {
            match sleep {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        // Control first: the event queue handles a fault before any delivery or timer of the
        // same instant (faults are queued first); then packets; then the engine's timer.
        tokio::select! {
            biased;
            c = control.recv() => {
                let t = now();
                let mut sh = shared.borrow_mut();
                match c {
                    Some(Control::Stop) | None => {
                        sh.obs.node_stopping(t, n);
                        d.engine.handle(t, Input::Shutdown);
                        d.drain(&mut sh, t);
                        sh.obs.node_gone(t, n);
                        break;
                    }
                    Some(Control::Interfaces) => d.feed_interfaces(&mut sh, t),
                    Some(Control::Priority { instance, priority }) => {
                        let ids = crate::backend::priority_targets(&d.engine, instance.as_deref());
                        for instance in ids {
                            d.engine.handle(t, Input::SetPriority { instance, priority });
                        }
                        d.drain(&mut sh, t);
                    }
                    Some(Control::Process { process, count }) => {
                        crate::backend::set_process(
                            &mut sh.obs,
                            Some(&mut d.engine),
                            t,
                            n,
                            &process,
                            count,
                        );
                        d.drain(&mut sh, t);
                    }
                    Some(Control::Reload(config)) => {
                        crate::backend::reload_engine(&mut sh.obs, &mut d.engine, t, n, *config);
                        d.drain(&mut sh, t);
                        // Interfaces the new file names (feeding known ones again changes nothing).
                        d.feed_interfaces(&mut sh, t);
                    }
                }
            }
            r = d.sock.recv_from(&mut buf) => {
                let (len, from) = r?;
                let t = now();
                let mut sh = shared.borrow_mut();
                d.receive(&mut sh, t, from, &buf[..len]);
            }
            _ = sleep => {
                let t = now();
                let mut sh = shared.borrow_mut();
                // Probes that ended first, in the order they end, then the engine's timers.
                while let Some(entry) = d.probes.first_entry() {
                    if entry.key().0 > t {
                        break;
                    }
                    let (checker, seq, result) = entry.remove();
                    d.engine.handle(t, Input::ProbeResult { checker, seq, result });
                    d.drain(&mut sh, t);
                }
                d.engine.handle_timeout(t);
                d.drain(&mut sh, t);
            }
        }
    }
    // Stopped: the process is gone; the timeline crashes the host after this tick.
    drop(d);
    std::future::pending::<()>().await;
    Ok(())
}

struct Daemon {
    n: usize,
    engine: Engine,
    sock: UdpSocket,
    /// This incarnation's probe answers, by the time each probe ends.
    probes: ProbeQueue,
    probe_seq: u64,
}

impl Daemon {
    fn feed_interfaces(&mut self, sh: &mut Shared, t: vrrp_engine::Instant) {
        let updates = crate::backend::interface_updates(
            &sh.variant.nodes[self.n],
            &sh.interfaces[self.n],
            sh.net.link_up[self.n],
        );
        for u in updates {
            self.engine.handle(t, Input::Interface(u));
        }
        self.drain(sh, t);
    }

    /// A datagram arrived from `from`.
    fn receive(&mut self, sh: &mut Shared, t: vrrp_engine::Instant, from: SocketAddr, p: &[u8]) {
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
        sh.obs.advert_delivered(t, n, from.ip(), p);
        let base = sh.interfaces[n].first().cloned().unwrap_or_default();
        let iface = crate::backend::receiving_interface(&self.engine, &base, from.ip(), p);
        let p = RxPacket {
            interface: &iface,
            src: from.ip(),
            dst,
            ttl: TTL,
            payload: p,
        };
        sh.obs.packet_received(t, n, &p);
        self.engine.handle(t, Input::Packet(p));
        self.drain(sh, t);
    }

    /// Process every output until the engine is quiet ([`crate::backend::drain`]).
    fn drain(&mut self, sh: &mut Shared, t: vrrp_engine::Instant) {
        let up = sh.net.link_up[self.n];
        let mut wire = HostWire {
            sh,
            sock: &self.sock,
            probes: &mut self.probes,
            probe_seq: &mut self.probe_seq,
        };
        crate::backend::drain(&mut wire, &mut self.engine, t, self.n, up);
    }
}

/// The wire of one host: the shared state, the host's socket and its probe queue.
struct HostWire<'h> {
    sh: &'h mut Shared,
    sock: &'h UdpSocket,
    probes: &'h mut ProbeQueue,
    probe_seq: &'h mut u64,
}

impl Wire<'static> for HostWire<'_> {
    fn observer(&mut self) -> &mut Observer<'static> {
        &mut self.sh.obs
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
        // turmoil refuses unicast to an address no host has; a real LAN would just lose it.
        let _ = self.sock.try_send_to(&x.payload, dst);
    }
}

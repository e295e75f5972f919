//! What clients experience: which node holds each VIP, where each client's ARP cache points,
//! and the time integrals users feel: downtime (no node answering at the VIP) and blackhole
//! time (someone answers, but the client's ARP entry points at a node that does not).
//!
//! The world is piecewise constant between events, so the integrals are exact: each change
//! first calls [`World::advance`] to account for the time since the previous one.
//! Client ARP entries change only on gratuitous ARP / NA (and on first resolution), unless
//! `arp_reresolve_after` models Linux re-resolving an unreachable neighbour.
//!
//! A VIP of a `use_vmac` instance is different: clients' ARP entries hold its virtual MAC
//! and never change; the switch sends frames for that MAC to the port it last saw a frame
//! from it on ([`World::frame_from`]: the adverts of a Master without `vmac_xmit_base`, the
//! gratuitous ARPs / NAs, the answer to a client's ARP request). So clients follow whichever
//! node sent last, and are blackholed while that node does not hold the VIP.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;
use vrrp_engine::Instant;

/// The LAN as clients see it.
#[derive(Clone, Debug)]
pub struct World {
    /// Every VIP of the experiment, sorted.
    pub vips: Vec<IpAddr>,
    /// Per VIP: the nodes that have it installed (dead ones included: a crash leaves it).
    holders: Vec<BTreeSet<usize>>,
    /// Per node: alive and link up, so it answers for what it holds.
    answering: Vec<bool>,
    /// Per client, per VIP: the node its ARP entry points at.
    arp: Vec<Vec<Option<usize>>>,
    /// Per client, per VIP: since when its entry points at a node that does not answer.
    wrong_since: Vec<Vec<Option<Instant>>>,
    reresolve_after: Option<Duration>,
    last: Instant,
    /// Time with no node answering at a VIP, summed over VIPs.
    pub downtime: Duration,
    /// Time clients spend pointed at a non-answering node while another answers, averaged over
    /// clients, summed over VIPs.
    pub blackhole: Duration,
    /// Per node: a health check of it is failing (ground truth, not rise/fall).
    unhealthy: Vec<bool>,
    /// Time clients are served by a node whose health check fails, averaged over clients.
    pub unhealthy_served: Duration,
    /// Per VIP: served at least once (downtime counts from then: start-up is not an outage).
    served_once: Vec<bool>,
    /// Per VIP: the virtual MAC clients' ARP entries hold for it (`use_vmac`), if any.
    vip_mac: Vec<Option<[u8; 6]>>,
    /// The switch's MAC table for virtual MACs: the node whose port last sent a frame from it.
    mac_port: BTreeMap<[u8; 6], usize>,
    /// Per VIP with a virtual MAC: since when the node at its port does not answer for it.
    vmac_wrong_since: Vec<Option<Instant>>,
}

impl World {
    /// A world of `nodes` nodes, all down, and `clients` clients with empty ARP caches.
    pub fn new(
        mut vips: Vec<IpAddr>,
        nodes: usize,
        clients: usize,
        reresolve_after: Option<Duration>,
    ) -> Self {
        vips.sort();
        vips.dedup();
        let n = vips.len();
        World {
            holders: vec![BTreeSet::new(); n],
            answering: vec![false; nodes],
            arp: vec![vec![None; n]; clients.max(1)],
            wrong_since: vec![vec![None; n]; clients.max(1)],
            reresolve_after,
            last: Instant::ZERO,
            downtime: Duration::ZERO,
            blackhole: Duration::ZERO,
            unhealthy: vec![false; nodes],
            unhealthy_served: Duration::ZERO,
            served_once: vec![false; n],
            vip_mac: vec![None; n],
            mac_port: BTreeMap::new(),
            vmac_wrong_since: vec![None; n],
            vips,
        }
    }

    fn index(&self, vip: &IpAddr) -> Option<usize> {
        self.vips.binary_search(vip).ok()
    }

    /// Whether `node` answers for VIP number `v`.
    fn serves(&self, node: usize, v: usize) -> bool {
        self.answering.get(node).copied().unwrap_or(false) && self.holders[v].contains(&node)
    }

    /// The node a client resolving VIP `v` now would reach (lowest index answering).
    fn resolve(&self, v: usize) -> Option<usize> {
        self.holders[v]
            .iter()
            .copied()
            .find(|&n| self.answering.get(n).copied().unwrap_or(false))
    }

    /// Account for the time up to `now`.
    pub fn advance(&mut self, now: Instant) {
        if now <= self.last {
            return;
        }
        let clients = self.arp.len() as u32;
        for v in 0..self.vips.len() {
            let dt = now - self.last;
            if self.resolve(v).is_none() {
                if self.served_once[v] {
                    self.downtime += dt;
                }
                continue;
            }
            self.served_once[v] = true;
            if let Some(mac) = self.vip_mac[v] {
                self.advance_vmac(v, mac, now);
                continue;
            }
            for c in 0..self.arp.len() {
                let target = match self.arp[c][v] {
                    None => {
                        // First contact: an ARP request, answered by a holder.
                        self.arp[c][v] = self.resolve(v);
                        continue;
                    }
                    Some(t) => t,
                };
                if self.serves(target, v) {
                    self.wrong_since[c][v] = None;
                    if self.unhealthy.get(target).copied().unwrap_or(false) {
                        self.unhealthy_served += dt / clients;
                    }
                    continue;
                }
                let since = *self.wrong_since[c][v].get_or_insert(self.last);
                let mut end = now;
                if let Some(after) = self.reresolve_after {
                    let fix = since + after;
                    if fix < now {
                        end = fix.max(self.last);
                        self.arp[c][v] = self.resolve(v);
                        self.wrong_since[c][v] = None;
                    }
                }
                self.blackhole += (end - self.last) / clients;
            }
        }
        self.last = now;
    }

    /// [`World::advance`] for VIP `v` (served now by someone) behind virtual MAC `mac`: every
    /// client sends to the node at the switch port of `mac`.
    fn advance_vmac(&mut self, v: usize, mac: [u8; 6], now: Instant) {
        let dt = now - self.last;
        let Some(&target) = self.mac_port.get(&mac) else {
            // First contact: a client's ARP request, answered by a holder from its macvlan,
            // which teaches the switch its port.
            if let Some(n) = self.resolve(v) {
                self.mac_port.insert(mac, n);
            }
            return;
        };
        if self.serves(target, v) {
            self.vmac_wrong_since[v] = None;
            if self.unhealthy.get(target).copied().unwrap_or(false) {
                self.unhealthy_served += dt;
            }
            return;
        }
        let since = *self.vmac_wrong_since[v].get_or_insert(self.last);
        let mut end = now;
        if let Some(after) = self.reresolve_after {
            // Clients re-resolve; a holder's ARP reply leaves its macvlan and moves the MAC.
            let fix = since + after;
            if fix < now {
                end = fix.max(self.last);
                if let Some(n) = self.resolve(v) {
                    self.mac_port.insert(mac, n);
                }
                self.vmac_wrong_since[v] = None;
            }
        }
        // Every client is pointed at the same port: the average is the VIP's time.
        self.blackhole += end - self.last;
    }

    /// Clients resolve `vip` to the virtual MAC `mac` (its instance has `use_vmac`).
    pub fn set_vip_mac(&mut self, vip: IpAddr, mac: [u8; 6]) {
        if let Some(v) = self.index(&vip) {
            self.vip_mac[v] = Some(mac);
        }
    }

    /// `node` sent a frame from `mac` (an advert or announcement leaving its macvlan): the
    /// switch now sends frames for `mac` to its port. Returns whether the port changed.
    pub fn frame_from(&mut self, now: Instant, node: usize, mac: [u8; 6]) -> bool {
        self.advance(now);
        let before = self.mac_port.insert(mac, node);
        if before != Some(node) {
            for v in 0..self.vips.len() {
                if self.vip_mac[v] == Some(mac) {
                    self.vmac_wrong_since[v] = None;
                }
            }
        }
        before != Some(node)
    }

    /// `node` installed `vip`.
    pub fn add_vip(&mut self, now: Instant, node: usize, vip: IpAddr) {
        self.advance(now);
        if let Some(v) = self.index(&vip) {
            self.holders[v].insert(node);
        }
    }

    /// `node` removed `vip`.
    pub fn remove_vip(&mut self, now: Instant, node: usize, vip: IpAddr) {
        self.advance(now);
        if let Some(v) = self.index(&vip) {
            self.holders[v].remove(&node);
        }
    }

    /// Every VIP `node` holds is gone (a restart cleans what a crash left).
    pub fn clear_node(&mut self, now: Instant, node: usize) {
        self.advance(now);
        for h in &mut self.holders {
            h.remove(&node);
        }
    }

    /// `node` starts or stops answering (alive and link up).
    pub fn set_answering(&mut self, now: Instant, node: usize, answering: bool) {
        self.advance(now);
        if let Some(a) = self.answering.get_mut(node) {
            *a = answering;
        }
    }

    /// Whether `node`'s health checks are failing (ground truth).
    pub fn set_unhealthy(&mut self, now: Instant, node: usize, unhealthy: bool) {
        self.advance(now);
        if let Some(u) = self.unhealthy.get_mut(node) {
            *u = unhealthy;
        }
    }

    /// A gratuitous ARP / unsolicited NA for `vip` from `node` reached client `client`.
    pub fn announce(&mut self, now: Instant, client: usize, node: usize, vip: IpAddr) {
        self.advance(now);
        if self.index(&vip).is_some_and(|v| self.vip_mac[v].is_some()) {
            // The entry already holds the virtual MAC; the switch moved when it was sent.
            return;
        }
        if let (Some(v), Some(row)) = (self.index(&vip), self.arp.get_mut(client)) {
            row[v] = Some(node);
            self.wrong_since[client][v] = None;
        }
    }

    /// The node client `client` sends packets for `vip` to now: its ARP entry, or on first
    /// contact the node a resolution would reach; `None` when neither exists or `vip` is not
    /// a VIP of the experiment.
    pub fn target(&self, client: usize, vip: IpAddr) -> Option<usize> {
        let v = self.index(&vip)?;
        if let Some(mac) = self.vip_mac[v] {
            return self.mac_port.get(&mac).copied().or_else(|| self.resolve(v));
        }
        let row = self.arp.get(client % self.arp.len())?;
        row[v].or_else(|| self.resolve(v))
    }

    /// Whether `node` is alive with its link up (it answers for what it holds).
    pub fn answers(&self, node: usize) -> bool {
        self.answering.get(node).copied().unwrap_or(false)
    }

    /// The number of clients.
    pub fn clients(&self) -> usize {
        self.arp.len()
    }

    /// Whether `node` has `vip` installed.
    pub fn holds(&self, node: usize, vip: IpAddr) -> bool {
        self.index(&vip)
            .is_some_and(|v| self.holders[v].contains(&node))
    }

    /// Where client 0's entry for the first VIP points (for plots).
    pub fn arp_target(&self) -> Option<usize> {
        if let Some(Some(mac)) = self.vip_mac.first() {
            return self.mac_port.get(mac).copied();
        }
        self.arp.first().and_then(|r| r.first().copied().flatten())
    }

    /// The nodes answering for the first VIP (for plots).
    pub fn serving(&self) -> Vec<usize> {
        if self.vips.is_empty() {
            return Vec::new();
        }
        self.holders[0]
            .iter()
            .copied()
            .filter(|&n| self.serves(n, 0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> Instant {
        Instant::from_millis(x)
    }

    #[test]
    fn downtime_and_blackhole_integrate_exactly() {
        let vip: IpAddr = "10.0.0.100".parse().unwrap();
        let mut w = World::new(vec![vip], 2, 1, None);
        w.set_answering(ms(0), 0, true);
        w.set_answering(ms(0), 1, true);
        // No holder for the first 100 ms: start-up, not downtime.
        w.add_vip(ms(100), 0, vip);
        w.advance(ms(150)); // client resolves to node 0
                            // Node 0 dies holding the VIP (crash): downtime until node 1 installs it.
        w.set_answering(ms(200), 0, false);
        w.add_vip(ms(500), 1, vip);
        // Client still points at node 0 until the GARP arrives 20 ms later: blackhole.
        w.announce(ms(520), 0, 1, vip);
        w.advance(ms(1000));
        assert_eq!(w.downtime, Duration::from_millis(300));
        assert_eq!(w.blackhole, Duration::from_millis(20));
    }

    #[test]
    fn with_a_virtual_mac_clients_follow_the_last_sender() {
        let vip: IpAddr = "10.0.0.100".parse().unwrap();
        let mac = [0, 0, 0x5e, 0, 1, 51];
        let mut w = World::new(vec![vip], 2, 3, None);
        w.set_vip_mac(vip, mac);
        w.set_answering(ms(0), 0, true);
        w.set_answering(ms(0), 1, true);
        // Node 0 Master: its advert, then its VIP.
        w.frame_from(ms(100), 0, mac);
        w.add_vip(ms(100), 0, vip);
        // Split brain from 1000 ms: node 1 takes over (advert, VIP, GARP); node 0 goes on
        // sending adverts each second. Both hold the VIP: no blackhole whoever sent last.
        w.frame_from(ms(1000), 1, mac);
        w.add_vip(ms(1000), 1, vip);
        w.announce(ms(1010), 2, 1, vip); // a GARP changes no ARP entry
        w.frame_from(ms(1100), 0, mac);
        assert_eq!(w.target(2, vip), Some(0));
        // Node 0 steps back at 3000 ms (it heard node 1): clients keep going to node 0's
        // port, where nobody answers, until node 1's next advert at 3400 ms.
        w.frame_from(ms(2000), 1, mac);
        w.frame_from(ms(2100), 0, mac);
        w.remove_vip(ms(3000), 0, vip);
        w.frame_from(ms(3400), 1, mac);
        w.advance(ms(5000));
        assert_eq!(w.blackhole, Duration::from_millis(400));
        assert_eq!(w.downtime, Duration::ZERO);
        assert_eq!(w.target(0, vip), Some(1));
        assert_eq!(w.arp_target(), Some(1));
    }

    #[test]
    fn reresolution_ends_a_blackhole() {
        let vip: IpAddr = "10.0.0.100".parse().unwrap();
        let mut w = World::new(vec![vip], 2, 1, Some(Duration::from_millis(50)));
        w.set_answering(ms(0), 0, true);
        w.set_answering(ms(0), 1, true);
        w.add_vip(ms(0), 0, vip);
        w.advance(ms(10));
        w.remove_vip(ms(100), 0, vip);
        w.add_vip(ms(100), 1, vip);
        w.advance(ms(1000));
        assert_eq!(w.blackhole, Duration::from_millis(50));
        assert_eq!(w.arp_target(), Some(1));
    }
}

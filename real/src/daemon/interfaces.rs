//! Interfaces: what the engine is told about them (link, addresses), the VRRP sockets each
//! one needs, netlink events, and the start-up sweep of VIPs a previous run left.

use super::driver::{Daemon, SockEntry};
use crate::os::netlink::{self, IfInfo};
use crate::os::socket::{TxBatch, VrrpSocket};
use std::collections::BTreeSet;
use std::net::IpAddr;
use vrrp_engine::config::{Config, VirtualAddress};
use vrrp_engine::{Input, InterfaceUpdate};

/// Every VIP address (and excluded VIP) of a configuration.
pub fn vip_addrs(config: &Config) -> impl Iterator<Item = IpAddr> + '_ {
    config
        .instances
        .iter()
        .flat_map(|i| i.vips.iter().chain(&i.vips_excluded))
        .map(|v| v.addr)
}

/// What the engine is told about an interface.
fn update_of(info: &IfInfo) -> InterfaceUpdate {
    InterfaceUpdate {
        name: info.name.clone(),
        up: info.up && info.index != 0,
        ipv4: info.ipv4,
        ipv6_link_local: info.ipv6_ll,
    }
}

impl Daemon {
    /// Interfaces the configuration needs: instance interfaces, VIP devices, tracked ones.
    pub(super) fn interface_names(&self) -> BTreeSet<String> {
        let mut s = BTreeSet::new();
        for i in &self.config.instances {
            s.insert(i.interface.clone());
            for v in i.vips.iter().chain(&i.vips_excluded) {
                if let Some(d) = &v.dev {
                    s.insert(d.clone());
                }
            }
            for t in &i.track_interfaces {
                s.insert(t.name.clone());
            }
        }
        // A sync group's tracked interfaces are its members' too: they start once every one
        // is reported.
        for g in &self.config.sync_groups {
            s.extend(g.track_interfaces.iter().map(|t| t.name.clone()));
        }
        s.extend(self.vmacs.live.keys().cloned());
        s
    }

    /// Start-up cleanup: every configured VIP, then every address carrying our tag (a
    /// crashed predecessor leaves them).
    pub(super) async fn sweep(&mut self) {
        let links = netlink::all_links(&self.handle).await.unwrap_or_default();
        for i in &self.config.instances {
            for v in i.vips.iter().chain(&i.vips_excluded) {
                let dev = v.dev.as_deref().unwrap_or(&i.interface);
                let Some(&idx) = links.get(dev) else { continue };
                match netlink::del_addr(&self.handle, idx, v.addr).await {
                    Ok(n) if n > 0 => {
                        tracing::info!("start-up: removed stale VIP {} from {dev}", v.addr)
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("start-up: removing {} from {dev}: {e}", v.addr),
                }
            }
        }
        match netlink::sweep_tagged(&self.handle).await {
            Ok(list) => {
                for (idx, ip) in list {
                    let name = links
                        .iter()
                        .find(|(_, &i)| i == idx)
                        .map(|(n, _)| n.as_str())
                        .unwrap_or("?");
                    tracing::info!(
                        "start-up: removed address {ip} on {name} left by a previous run"
                    );
                }
            }
            Err(e) => tracing::warn!("start-up: sweeping tagged addresses: {e}"),
        }
        self.sweep_routes().await;
    }

    /// Re-reads one interface; on a change, tells the engine, opens missing sockets and
    /// re-installs the VIPs we hold there once the link is up.
    pub(super) async fn refresh(&mut self, name: &str) {
        let exclude: Vec<IpAddr> = self.vip_set.iter().copied().collect();
        let info = match netlink::query(&self.handle, name, &exclude).await {
            Ok(Some(i)) => i,
            Ok(None) => IfInfo {
                name: name.to_string(),
                ..IfInfo::default()
            },
            Err(e) => {
                tracing::warn!("interface {name}: {e}");
                return;
            }
        };
        let old = self.ifaces.get(name).cloned();
        if old.as_ref() == Some(&info) {
            return;
        }
        match &old {
            None if info.index == 0 => {
                tracing::warn!("interface {name} does not exist: its instances stay in FAULT")
            }
            // keepalived 2.2.7 logs addresses with -D only ("Assigned address 10.0.0.1 for
            // interface eth0") and a link change always (keepalived_netlink.c: "Netlink
            // reports eth0 down").
            None => tracing::debug!(
                "interface {name}: index {} {} ipv4 {:?} ipv6 {:?}",
                info.index,
                if info.up { "up" } else { "down" },
                info.ipv4,
                info.ipv6_ll
            ),
            Some(o) if o.up != info.up => {
                tracing::info!(
                    "Netlink reports {name} {}",
                    if info.up { "up" } else { "down" }
                )
            }
            Some(_) => tracing::debug!(
                "interface {name}: addresses now ipv4 {:?} ipv6 {:?}",
                info.ipv4,
                info.ipv6_ll
            ),
        }
        let came_up = info.up && !old.as_ref().is_some_and(|o| o.up);
        self.ifaces.insert(name.to_string(), info.clone());
        if info.index != 0 {
            self.ensure_sockets(name, info.index);
        }
        let now = self.timers_then_now();
        self.engine.handle(now, Input::Interface(update_of(&info)));
        if came_up {
            self.restore_vips(name).await;
        }
    }

    /// Tells the engine whether each configured `unicast_src_ip` is an address of this host
    /// (keepalived 2.2.7 goes FAULT when it cannot bind to it: "src address not
    /// configured").
    pub(super) async fn check_sources(&mut self) {
        let wanted = self.config.instances.iter().filter_map(|i| i.unicast_src);
        self.check_sources_of(wanted.collect()).await;
    }

    /// [`Daemon::check_sources`] for the addresses `wanted` (a new configuration's, before
    /// the engine takes it, so that a new instance starts in FAULT rather than BACKUP).
    pub(super) async fn check_sources_of(&mut self, wanted: BTreeSet<IpAddr>) {
        if wanted.is_empty() {
            return;
        }
        let have = match netlink::host_addresses(&self.handle).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("reading the host's addresses: {e}");
                return;
            }
        };
        for addr in wanted {
            let present = have.contains(&addr);
            if self.sources_present.insert(addr, present) != Some(present) && !present {
                tracing::warn!("src address {addr} is not configured on this host");
            }
            let now = self.timers_then_now();
            self.engine
                .handle(now, Input::LocalAddress { addr, present });
        }
    }

    /// Whether `addr` is some instance's `unicast_src_ip`.
    fn is_source(&self, addr: Option<IpAddr>) -> bool {
        addr.is_some_and(|a| {
            self.config
                .instances
                .iter()
                .any(|i| i.unicast_src == Some(a))
        })
    }

    /// After a reload: sockets for interfaces already known, a first read of new ones.
    pub(super) async fn refresh_all(&mut self) {
        for name in self.interface_names() {
            match self.ifaces.get(&name).map(|i| i.index) {
                Some(index) if index != 0 => self.ensure_sockets(&name, index),
                _ => self.refresh(&name).await,
            }
        }
    }

    /// Opens the VRRP sockets (one per family in use) on an interface, or reopens them if
    /// its index changed.
    fn ensure_sockets(&mut self, name: &str, index: u32) {
        // With `use_vmac`, adverts go and come on the macvlan (keepalived's sockets are
        // there), unless `vmac_xmit_base`.
        for family in self.advert_families(name) {
            let pos = self
                .socks
                .iter()
                .position(|s| s.ifname == name && s.family == family);
            if pos.is_some_and(|p| self.socks[p].sock.ifindex == index) {
                continue;
            }
            match VrrpSocket::open(name, index, family) {
                Ok(sock) => {
                    // Room for bursts: every instance of a host advertises in the same tick.
                    sock.grow_receive_buffer(4 << 20);
                    let entry = SockEntry {
                        ifname: name.to_string(),
                        family,
                        sock,
                        tx: TxBatch::default(),
                        bell: None,
                    };
                    match pos {
                        Some(p) => self.socks[p] = entry,
                        None => self.socks.push(entry),
                    }
                    tracing::debug!("opened the {family:?} VRRP socket on {name}");
                }
                Err(e) => tracing::error!("cannot open the {family:?} VRRP socket on {name}: {e}"),
            }
        }
    }

    /// Re-adds the VIPs we hold on an interface whose link came back (a link going down
    /// drops IPv6 addresses).
    async fn restore_vips(&mut self, ifname: &str) {
        let list: Vec<VirtualAddress> = self
            .held
            .iter()
            .filter(|((i, _), _)| i == ifname)
            .map(|(_, v)| v.clone())
            .collect();
        let Some(idx) = self.ifaces.get(ifname).map(|i| i.index) else {
            return;
        };
        for v in list {
            match netlink::add_vip(&self.handle, idx, &v).await {
                Ok(()) => tracing::info!("re-installed VIP {} on {ifname}", v.addr),
                Err(e) => tracing::warn!("re-installing VIP {} on {ifname}: {e}", v.addr),
            }
        }
    }

    /// A link, address, route or rule event from netlink.
    pub(super) async fn on_netlink(
        &mut self,
        msg: rtnetlink::packet_core::NetlinkMessage<rtnetlink::packet_route::RouteNetlinkMessage>,
    ) {
        if self.on_route_event(&msg) {
            return;
        }
        let Some(ev) = netlink::classify(msg) else {
            return;
        };
        if let netlink::Event::AddrAdded { addr, .. } | netlink::Event::AddrRemoved { addr, .. } =
            &ev
        {
            if self.is_source(*addr) {
                self.check_sources().await;
            }
        }
        let name_of = |d: &Daemon, idx: u32| {
            d.ifaces
                .values()
                .find(|i| i.index == idx)
                .map(|i| i.name.clone())
        };
        match ev {
            netlink::Event::Link { name, .. } => {
                if self.interface_names().contains(&name) {
                    self.refresh(&name).await;
                }
            }
            netlink::Event::LinkGone { index } => {
                if let Some(n) = name_of(self, index) {
                    self.refresh(&n).await;
                }
            }
            // Our own VIP changes (hundreds at once when many instances change state) cannot
            // change what `refresh` reads (VIPs are excluded from it): skip the dump.
            netlink::Event::AddrAdded { addr: Some(a), .. } if self.vip_set.contains(&a) => {}
            netlink::Event::AddrAdded { index, .. } => {
                if let Some(n) = name_of(self, index) {
                    self.refresh(&n).await;
                }
            }
            netlink::Event::AddrRemoved { index, addr } => {
                let Some(n) = name_of(self, index) else {
                    return;
                };
                if !addr.is_some_and(|a| self.vip_set.contains(&a)) {
                    self.refresh(&n).await;
                }
                let up = self.ifaces.get(&n).is_some_and(|i| i.up);
                if let Some(a) = addr {
                    if let Some(v) = self.held.get(&(n.clone(), a)).cloned() {
                        if up {
                            tracing::info!(
                                "VIP {a} was removed from {n} behind our back: re-adding"
                            );
                            if let Err(e) = netlink::add_vip(&self.handle, index, &v).await {
                                tracing::warn!("re-adding VIP {a} on {n}: {e}");
                            }
                        }
                    }
                }
            }
        }
    }
}

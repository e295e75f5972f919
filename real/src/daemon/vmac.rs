//! keepalived's `use_vmac`: the macvlans of [`vrrp_engine::Engine::vmacs`] created at start-up
//! and for instances a reload adds, kept up in every state, removed at shutdown and for
//! instances a reload removes (keepalived 2.2.7 `netlink_link_add_vmac`,
//! `netlink_link_del_vmac`); the sysctls keepalived sets for them, restored on exit; the
//! nftables rules that keep IGMP / MLD reports off the virtual MAC; and the start-up sweep of
//! macvlans a dead predecessor left.

use super::driver::Daemon;
use crate::os::netlink::{self, IfInfo};
use crate::os::vmac::{self as os, Link};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;
use vrrp_engine::config::{Config, VirtualAddress};
use vrrp_engine::vmac::Vmac;
use vrrp_engine::Family;

/// The macvlans we run and the sysctls we changed.
#[derive(Debug, Default)]
pub struct Vmacs {
    /// The macvlans we created, by name.
    pub live: BTreeMap<String, Vmac>,
    /// Sysctls we changed, with their value before and the base interface they were set
    /// for (`None`: the namespace-wide `rp_filter` ones).
    saved: Vec<(PathBuf, u32, Option<String>)>,
    /// Our nftables tables are loaded.
    nft: bool,
}

impl Vmacs {
    /// Sets a sysctl, remembering its value before (once) for [`Vmacs::restore`].
    fn set_saved(&mut self, path: PathBuf, value: u32, owner: Option<&str>) {
        let Some(before) = os::read_sysctl(&path) else {
            tracing::warn!("cannot read {}", path.display());
            return;
        };
        if before == value {
            return;
        }
        if !self.saved.iter().any(|(p, _, _)| *p == path) {
            self.saved
                .push((path.clone(), before, owner.map(String::from)));
        }
        match os::write_sysctl(&path, value) {
            Ok(()) => tracing::debug!("{} = {value} (was {before})", path.display()),
            Err(e) => tracing::warn!("setting {} to {value}: {e}", path.display()),
        }
    }

    /// Puts back the sysctls set for `owner` (`None`: every one), newest first.
    fn restore(&mut self, owner: Option<&str>) {
        let mut keep = Vec::new();
        for (path, before, o) in self.saved.drain(..).rev() {
            if owner.is_some() && o.as_deref() != owner {
                keep.push((path, before, o));
                continue;
            }
            match os::write_sysctl(&path, before) {
                Ok(()) => tracing::debug!("{} restored to {before}", path.display()),
                Err(e) => tracing::warn!("restoring {} to {before}: {e}", path.display()),
            }
        }
        keep.reverse();
        self.saved = keep;
    }

    /// keepalived's `clear_rp_filter`: a macvlan needs `rp_filter` 0, which only works with
    /// `all.rp_filter` 0; so `default` and every interface below `all`'s value are raised to
    /// it first (their behaviour does not change), then `all` is set to 0. Once.
    fn clear_rp_filter(&mut self) {
        let all = os::sysctl_path("ipv4", "all", "rp_filter");
        let Some(v) = os::read_sysctl(&all).filter(|&v| v != 0) else {
            return;
        };
        for iface in os::ipv4_conf_interfaces() {
            let p = os::sysctl_path("ipv4", &iface, "rp_filter");
            if os::read_sysctl(&p).is_some_and(|x| x < v) {
                self.set_saved(p, v, None);
            }
        }
        tracing::info!("NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from {v} to 0");
        self.set_saved(all, 0, None);
    }
}

/// Sets a sysctl of a macvlan (it goes away with the macvlan: nothing to restore).
fn set(family: &str, iface: &str, name: &str, value: u32) {
    let p = os::sysctl_path(family, iface, name);
    if let Err(e) = os::write_sysctl(&p, value) {
        tracing::warn!("setting {} to {value}: {e}", p.display());
    }
}

impl Daemon {
    /// The families whose adverts go and come on `ifname`: instances on it without
    /// `use_vmac` or with `vmac_xmit_base`, and the macvlans whose adverts use it.
    pub(super) fn advert_families(&self, ifname: &str) -> BTreeSet<Family> {
        let plan = vrrp_engine::vmac::plan(&self.config.instances, self.config.global.strict);
        let mut s: BTreeSet<Family> = self
            .config
            .instances
            .iter()
            .zip(&plan)
            .filter(|(i, v)| match v {
                Some(v) => v.advert_interface() == ifname,
                None => i.interface == ifname,
            })
            .map(|(i, _)| i.family())
            .collect();
        s.extend(
            self.vmacs
                .live
                .values()
                .filter(|v| v.advert_interface() == ifname)
                .map(|v| v.family),
        );
        s
    }

    /// Start-up: removes the macvlans a previous run left (one with a name we are about to
    /// create, or a `vrrp*` one carrying an RFC 5798 virtual MAC), then creates the engine's.
    pub(super) async fn vmac_startup(&mut self) {
        let wanted: Vec<Vmac> = self.engine.vmacs().map(|(_, v)| v.clone()).collect();
        let links = match os::links(&self.handle).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("start-up: listing links: {e}");
                return;
            }
        };
        for l in &links {
            let planned = wanted.iter().any(|v| v.name == l.name);
            let ours_by_look =
                l.name.starts_with("vrrp") && l.mac.is_some_and(|m| os::is_virtual_mac(&m));
            if l.macvlan.is_some() && (planned || ours_by_look) {
                match os::delete(&self.handle, l.index).await {
                    Ok(()) => tracing::info!(
                        "start-up: removed macvlan {} left by a previous run",
                        l.name
                    ),
                    Err(e) => tracing::warn!("start-up: removing macvlan {}: {e}", l.name),
                }
            }
        }
        self.create_vmacs(&wanted).await;
    }

    /// Creates the macvlans of `wanted` that are not live yet, then loads the nftables rules.
    pub(super) async fn create_vmacs(&mut self, wanted: &[Vmac]) {
        let todo: Vec<&Vmac> = wanted
            .iter()
            .filter(|v| self.vmacs.live.get(&v.name) != Some(v))
            .collect();
        if todo.is_empty() {
            return;
        }
        let links = os::links(&self.handle).await.unwrap_or_default();
        for v in todo {
            if let Some(old) = self.vmacs.live.get(&v.name).cloned() {
                // Same name, other base or MAC (a reload): replace it.
                self.remove_vmac(&old).await;
            }
            self.create_vmac(v, &links).await;
        }
        self.load_nft();
    }

    async fn create_vmac(&mut self, v: &Vmac, links: &[Link]) {
        let Some(base) = links.iter().find(|l| l.name == v.base) else {
            tracing::error!("VMAC {}: base interface {} does not exist", v.name, v.base);
            return;
        };
        if let Some(l) = links.iter().find(|l| l.name == v.name) {
            if l.macvlan.is_none() {
                tracing::error!(
                    "VMAC {}: an interface of that name exists and is not a macvlan: not created",
                    v.name
                );
                return;
            }
        }
        if let Err(e) = os::create(&self.handle, &v.name, base.index, v.mac).await {
            tracing::error!("Unable to create VMAC interface {}: {e}", v.name);
            return;
        }
        let Ok(Some(info)) = netlink::query(&self.handle, &v.name, &[]).await else {
            tracing::error!("VMAC {}: created but not found", v.name);
            return;
        };
        // No EUI-64 link-local from the virtual MAC (RFC 5798 §7.4; keepalived sets
        // IN6_ADDR_GEN_MODE_NONE on every macvlan it makes).
        set("ipv6", &v.name, "addr_gen_mode", 1);
        match v.family {
            Family::Ipv4 => {
                // keepalived 2.2.7 `set_interface_parameters` and `link_set_ipv6`.
                self.vmacs.clear_rp_filter();
                set("ipv4", &v.name, "arp_ignore", 1);
                set("ipv4", &v.name, "accept_local", 1);
                set("ipv4", &v.name, "rp_filter", 0);
                set("ipv4", &v.name, "promote_secondaries", 1);
                set("ipv6", &v.name, "disable_ipv6", 1);
                for name in ["arp_ignore", "arp_filter"] {
                    let p = os::sysctl_path("ipv4", &v.base, name);
                    self.vmacs.set_saved(p, 1, Some(&v.base));
                }
            }
            Family::Ipv6 => set("ipv6", &v.name, "disable_ipv6", 0),
        }
        if let Err(e) = os::set_up(&self.handle, info.index).await {
            tracing::error!("VMAC {}: cannot bring it up: {e}", v.name);
        }
        if v.family == Family::Ipv6 && !v.xmit_base {
            self.add_link_local(v, info.index).await;
        }
        tracing::info!(
            "Success creating VMAC interface {} on {} with {}",
            v.name,
            v.base,
            mac_text(&v.mac)
        );
        self.vmacs.live.insert(v.name.clone(), v.clone());
    }

    /// keepalived's `set_link_local_address`: the base interface's link-local address on the
    /// macvlan too, so IPv6 adverts leave it from that address with the virtual MAC.
    async fn add_link_local(&mut self, v: &Vmac, index: u32) {
        let base = netlink::query(&self.handle, &v.base, &[]).await;
        let Ok(Some(IfInfo {
            ipv6_ll: Some(ll), ..
        })) = base
        else {
            tracing::warn!(
                "VMAC {}: {} has no link-local address to copy",
                v.name,
                v.base
            );
            return;
        };
        let mut addr = VirtualAddress::host(IpAddr::V6(ll));
        addr.prefix_len = 64;
        if let Err(e) = netlink::add_vip(&self.handle, index, &addr).await {
            tracing::warn!("adding link-local address {ll} to {}: {e}", v.name);
        }
    }

    /// Deletes one of our macvlans, its sockets, and the base's sysctls once no macvlan of
    /// ours is on it.
    async fn remove_vmac(&mut self, v: &Vmac) {
        self.vmacs.live.remove(&v.name);
        self.socks.retain(|s| s.ifname != v.name);
        let index = match self.ifaces.remove(&v.name) {
            Some(i) if i.index != 0 => Some(i.index),
            _ => netlink::query(&self.handle, &v.name, &[])
                .await
                .ok()
                .flatten()
                .map(|i| i.index),
        };
        if let Some(index) = index {
            match os::delete(&self.handle, index).await {
                Ok(()) => tracing::info!("Success removing VMAC interface {}", v.name),
                Err(e) => tracing::warn!("Error removing VMAC interface {}: {e}", v.name),
            }
        }
        if !self.vmacs.live.values().any(|o| o.base == v.base) {
            self.vmacs.restore(Some(&v.base));
        }
    }

    /// After a reload's outputs: the macvlans of instances no longer configured go.
    pub(super) async fn remove_stale_vmacs(&mut self) {
        let wanted: Vec<Vmac> = self.engine.vmacs().map(|(_, v)| v.clone()).collect();
        let stale: Vec<Vmac> = self
            .vmacs
            .live
            .values()
            .filter(|v| !wanted.contains(v))
            .cloned()
            .collect();
        if stale.is_empty() {
            return;
        }
        for v in &stale {
            self.remove_vmac(v).await;
        }
        self.load_nft();
    }

    /// Shutdown, after the engine's outputs (priority 0 sent from the macvlans): every
    /// macvlan, our nftables tables and every sysctl we changed.
    pub(super) async fn vmac_shutdown(&mut self) {
        let all: Vec<Vmac> = self.vmacs.live.values().cloned().collect();
        for v in &all {
            self.remove_vmac(v).await;
        }
        if self.vmacs.nft {
            self.load_nft();
        }
        self.vmacs.restore(None);
    }

    /// Loads our nftables tables for the live macvlans (deletes them when there are none).
    fn load_nft(&mut self) {
        let list: Vec<(String, String, bool)> = self
            .vmacs
            .live
            .values()
            .map(|v| (v.name.clone(), v.base.clone(), v.family == Family::Ipv6))
            .collect();
        match os::nft_load(&os::nft_ruleset(&list)) {
            Ok(()) => self.vmacs.nft = !list.is_empty(),
            Err(e) => tracing::warn!(
                "{e}: IGMP/MLD reports will leave the VMAC interfaces with the virtual MAC"
            ),
        }
    }
}

/// A MAC as `00:00:5e:00:01:33`.
pub fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The macvlans a new configuration wants (for a reload, before the engine takes it).
pub fn planned(config: &Config) -> Vec<Vmac> {
    vrrp_engine::vmac::plan(&config.instances, config.global.strict)
        .into_iter()
        .flatten()
        .collect()
}

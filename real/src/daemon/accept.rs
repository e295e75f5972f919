//! Accept_Mode off carried out: the engine's [`vrrp_engine::Output::BlockVips`] and
//! [`vrrp_engine::Output::UnblockVips`] become elements of our nftables sets
//! ([`crate::os::nft`]), as keepalived 2.2.7 does it (`vrrp_firewall.c`, `vrrp_nftables.c`).
//!
//! As keepalived: a family's table is created when its first address is blocked (nothing
//! exists while every instance is Backup), it keeps its chains when the sets empty, and it is
//! deleted on exit. Unlike keepalived, which deletes a leftover table only when it first
//! creates its own, a table of our name that a crashed run left is deleted at start-up, so it
//! never drops traffic to VIPs the new run does not block. Errors are logged, never fatal:
//! without `nft` the VIPs are served as with `accept`.

use super::driver::Daemon;
use crate::os::nft::{self, Fam, Settings};
use nftables::batch::Batch;
use std::collections::BTreeSet;
use std::net::IpAddr;
use vrrp_engine::config::{Config, NftablesConfig};
use vrrp_engine::io::BlockedVip;
use vrrp_engine::InstanceId;

/// What the daemon keeps of its nftables tables.
#[derive(Debug)]
pub struct Firewall {
    settings: Settings,
    /// Per family: our table exists (created by this run).
    ready: [bool; 2],
    /// The addresses in our sets, with their interface.
    blocked: BTreeSet<(String, IpAddr)>,
}

/// The nftables settings a configuration asks for.
fn settings(n: &NftablesConfig) -> Settings {
    Settings {
        table: n
            .table
            .clone()
            .unwrap_or_else(|| nft::DEFAULT_TABLE.to_string()),
        priority: n.priority,
        counters: n.counters,
    }
}

/// Whether an instance of `config` may block (Accept_Mode off, not the address owner).
fn any_blocking(config: &Config) -> bool {
    config
        .instances
        .iter()
        .any(|i| !i.accept && i.priority != vrrp_engine::types::PRIORITY_OWNER)
}

impl Firewall {
    /// Nothing created yet.
    pub fn new(config: &Config) -> Firewall {
        Firewall {
            settings: settings(&config.global.nftables),
            ready: [false; 2],
            blocked: BTreeSet::new(),
        }
    }
}

impl Daemon {
    /// Start-up: deletes the tables of our name a previous run left (after a crash).
    /// Not with `-C` (no instance): the VRRP process of the same namespace owns it.
    pub(super) async fn sweep_firewall(&mut self) {
        if self.config.instances.is_empty() {
            return;
        }
        let name = self.firewall.settings.table.clone();
        match nft::existing(&name).await {
            Ok(fams) if fams.is_empty() => {}
            Ok(fams) => {
                let mut b = Batch::new();
                for f in &fams {
                    tracing::info!("Deleting old {} {name} table", f.word());
                    nft::delete(&mut b, *f, &name);
                }
                if let Err(e) = nft::apply(b).await {
                    tracing::error!("nftables: deleting the old {name} table: {e}");
                }
            }
            // Only worth a warning when an instance would need it.
            Err(e) if any_blocking(&self.config) => tracing::warn!(
                "nftables: {e}: no_accept instances cannot drop traffic to their VIPs \
                 (scripts/test.sh installs nftables)"
            ),
            Err(e) => tracing::debug!("nftables: {e}"),
        }
    }

    /// Blocks `vips` of `instance` (before they are added): creates the family's table
    /// first if needed, in the same transaction.
    pub(super) async fn block_vips(&mut self, instance: InstanceId, vips: Vec<BlockedVip>) {
        let name = self.engine_name(instance);
        let vips: Vec<(String, IpAddr)> = vips
            .into_iter()
            .map(|v| (v.interface.to_string(), v.addr))
            .collect();
        if let Err(e) = self.firewall_change(&vips, true).await {
            tracing::error!("{name}: setting firewall drop rule: {e}");
            return;
        }
        tracing::info!("{name}: setting firewall drop rule for {}", addrs(&vips));
    }

    /// Unblocks `vips` of `instance` (after they are removed).
    pub(super) async fn unblock_vips(&mut self, instance: InstanceId, vips: Vec<BlockedVip>) {
        let name = self.engine_name(instance);
        let vips: Vec<(String, IpAddr)> = vips
            .into_iter()
            .map(|v| (v.interface.to_string(), v.addr))
            .collect();
        if let Err(e) = self.firewall_change(&vips, false).await {
            tracing::error!("{name}: removing firewall drop rule: {e}");
            return;
        }
        tracing::info!("{name}: removing firewall drop rule for {}", addrs(&vips));
    }

    /// One transaction adding or deleting set elements (creating tables when adding).
    async fn firewall_change(
        &mut self,
        vips: &[(String, IpAddr)],
        add: bool,
    ) -> Result<(), String> {
        let fw = &mut self.firewall;
        // Only what changes: an element added twice or deleted when absent fails the batch.
        let vips: Vec<(String, IpAddr)> = vips
            .iter()
            .filter(|v| fw.blocked.contains(v) != add)
            .cloned()
            .collect();
        let mut b = Batch::new();
        let mut created = Vec::new();
        let mut any = false;
        for fam in [Fam::V4, Fam::V6] {
            if !vips.iter().any(|(_, a)| Fam::of(a) == fam) {
                continue;
            }
            if !fw.ready[fam as usize] {
                if !add {
                    continue;
                }
                nft::create(&mut b, fam, &fw.settings);
                created.push(fam);
            }
            nft::elements(&mut b, fam, &fw.settings, &vips, add);
            any = true;
        }
        if !any {
            return Ok(());
        }
        nft::apply(b).await?;
        for fam in created {
            fw.ready[fam as usize] = true;
        }
        for v in vips {
            if add {
                fw.blocked.insert(v);
            } else {
                fw.blocked.remove(&v);
            }
        }
        Ok(())
    }

    /// A reload with other nftables settings: the old tables go, and what is blocked is
    /// blocked again in the new ones.
    pub(super) async fn firewall_reconfigure(&mut self, config: &Config) {
        let new = settings(&config.global.nftables);
        if new == self.firewall.settings {
            return;
        }
        self.remove_tables().await;
        self.firewall.settings = new;
        let blocked: Vec<(String, IpAddr)> = std::mem::take(&mut self.firewall.blocked)
            .into_iter()
            .collect();
        if !blocked.is_empty() {
            if let Err(e) = self.firewall_change(&blocked, true).await {
                tracing::error!("reload: setting firewall drop rules in the new table: {e}");
            }
        }
    }

    /// Exit: our tables are deleted (with whatever their sets still hold).
    pub(super) async fn remove_tables(&mut self) {
        let name = self.firewall.settings.table.clone();
        let mut b = Batch::new();
        let mut any = false;
        for fam in [Fam::V4, Fam::V6] {
            if std::mem::take(&mut self.firewall.ready[fam as usize]) {
                nft::delete(&mut b, fam, &name);
                any = true;
            }
        }
        if !any {
            return;
        }
        if let Err(e) = nft::apply(b).await {
            tracing::error!("nftables: deleting the {name} table: {e}");
        }
    }

    /// The name of an instance, for logs.
    fn engine_name(&self, id: InstanceId) -> String {
        self.engine
            .instance_config(id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| format!("#{}", id.0))
    }
}

/// The addresses, space-separated, for logs.
fn addrs(vips: &[(String, IpAddr)]) -> String {
    let w: Vec<String> = vips.iter().map(|(_, a)| a.to_string()).collect();
    w.join(" ")
}

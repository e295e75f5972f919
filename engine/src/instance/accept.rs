//! Accept_Mode (RFC 5798 §6.1) as keepalived 2.2.7 carries it out: with `no_accept` (the
//! default under `vrrp_strict`) a Master that is not the address owner drops IP traffic to
//! and from its VIPs and eVIPs, neighbour discovery excepted.
//!
//! keepalived 2.2.7 (`vrrp_handle_accept_mode`, `vrrp_state_become_master`,
//! `vrrp_restore_interface`): the addresses join the firewall set right before the VIPs are
//! added on becoming Master, and leave it right after the VIPs are removed on leaving Master
//! (Backup, FAULT, shutdown); nothing is filtered while Backup, when the VIPs are not
//! installed. A reload of a Master (`clear_diff_vrrp_vip`, `restore_vrrp_state`) unblocks the
//! VIPs it drops and blocks the ones it adds; turning Accept_Mode on or off unblocks or
//! blocks them all.

use super::{Ctx, Instance};
use crate::io::{BlockedVip, Output};
use crate::types::PRIORITY_OWNER;

impl Instance {
    /// The VIPs a Master of this configuration blocks: none with Accept_Mode on or for the
    /// address owner (keepalived's `vrrp_handle_accept_mode` returns for priority 255).
    fn vips_to_block(&self) -> Vec<BlockedVip> {
        if self.cfg.accept || self.base_priority == PRIORITY_OWNER {
            return Vec::new();
        }
        let mut out: Vec<BlockedVip> = Vec::new();
        for v in self.all_vips() {
            let b = BlockedVip {
                interface: self.vip_interface(v),
                addr: v.addr,
            };
            if !out.contains(&b) {
                out.push(b);
            }
        }
        out
    }

    /// Blocks the VIPs to block that are not blocked yet (before they are added).
    pub(super) fn block_vips(&mut self, ctx: &mut Ctx<'_>) {
        let new: Vec<BlockedVip> = self
            .vips_to_block()
            .into_iter()
            .filter(|b| !self.blocked.contains(b))
            .collect();
        if new.is_empty() {
            return;
        }
        self.blocked.extend(new.iter().cloned());
        ctx.out.push_back(Output::BlockVips {
            instance: self.id,
            vips: new,
        });
    }

    /// Unblocks every blocked VIP not in `keep` (after the VIPs are removed).
    pub(super) fn unblock_vips(&mut self, ctx: &mut Ctx<'_>, keep: &[BlockedVip]) {
        let (kept, gone): (Vec<BlockedVip>, Vec<BlockedVip>) = std::mem::take(&mut self.blocked)
            .into_iter()
            .partition(|b| keep.contains(b));
        self.blocked = kept;
        if !gone.is_empty() {
            ctx.out.push_back(Output::UnblockVips {
                instance: self.id,
                vips: gone,
            });
        }
    }

    /// A reconfigured Master: after the removed VIPs, unblock what the new configuration
    /// does not block, then block what it newly does (before the added VIPs).
    pub(super) fn refilter(&mut self, ctx: &mut Ctx<'_>) {
        let want = self.vips_to_block();
        self.unblock_vips(ctx, &want);
        self.block_vips(ctx);
    }
}

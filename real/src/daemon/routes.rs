//! `virtual_routes` and `virtual_rules` carried out (the engine's [`Output::AddRoute`],
//! [`Output::RemoveRoute`], [`Output::AddRule`], [`Output::RemoveRule`]), and the start-up
//! sweep of the routes and rules a crashed predecessor left. Every failure is logged and the
//! daemon goes on, as keepalived does.
//!
//! [`Output::AddRoute`]: vrrp_engine::Output::AddRoute
//! [`Output::RemoveRoute`]: vrrp_engine::Output::RemoveRoute
//! [`Output::AddRule`]: vrrp_engine::Output::AddRule
//! [`Output::RemoveRule`]: vrrp_engine::Output::RemoveRule

use super::driver::Daemon;
use crate::os::routes;
use vrrp_engine::config::{VirtualRoute, VirtualRule};
use vrrp_engine::InstanceId;

impl Daemon {
    /// The index of a route's `dev`, looked up now (it need not be an instance interface).
    async fn route_oif(&self, name: &str, route: &VirtualRoute) -> Result<Option<u32>, ()> {
        let Some(dev) = &route.dev else {
            return Ok(None);
        };
        match routes::link_index(&self.handle, dev).await {
            Some(i) => Ok(Some(i)),
            None => {
                tracing::error!("{name}: route {route}: no interface {dev}");
                Err(())
            }
        }
    }

    /// Installs one virtual route.
    pub(super) async fn add_route(&mut self, instance: InstanceId, route: VirtualRoute) {
        let name = self.name_of(instance);
        let Ok(oif) = self.route_oif(&name, &route).await else {
            return;
        };
        match routes::add_route(&self.handle, &route, oif).await {
            Ok(()) => tracing::info!("{name}: added route {route}"),
            Err(e) => tracing::error!("{name}: adding route {route}: {e}"),
        }
    }

    /// Removes one virtual route.
    pub(super) async fn remove_route(&mut self, instance: InstanceId, route: VirtualRoute) {
        let name = self.name_of(instance);
        // A vanished `dev` took its routes with it; delete by the rest of the key.
        let oif = self.route_oif(&name, &route).await.unwrap_or(None);
        match routes::del_route(&self.handle, &route, oif).await {
            Ok(()) => tracing::info!("{name}: removed route {route}"),
            Err(e) => tracing::warn!("{name}: removing route {route}: {e}"),
        }
    }

    /// Installs one virtual rule.
    pub(super) async fn add_rule(&mut self, instance: InstanceId, rule: VirtualRule) {
        let name = self.name_of(instance);
        match routes::add_rule(&self.handle, &rule).await {
            Ok(()) => tracing::info!("{name}: added rule {rule}"),
            Err(e) => tracing::error!("{name}: adding rule {rule}: {e}"),
        }
    }

    /// Removes one virtual rule.
    pub(super) async fn remove_rule(&mut self, instance: InstanceId, rule: VirtualRule) {
        let name = self.name_of(instance);
        match routes::del_rule(&self.handle, &rule).await {
            Ok(()) => tracing::info!("{name}: removed rule {rule}"),
            Err(e) => tracing::warn!("{name}: removing rule {rule}: {e}"),
        }
    }

    /// Start-up: removes every route and rule carrying our protocol (a crashed predecessor
    /// leaves them; keepalived's own, tagged 18, are left alone).
    pub(super) async fn sweep_routes(&mut self) {
        match routes::sweep_tagged(&self.handle).await {
            Ok((0, 0)) => {}
            Ok((r, u)) => tracing::info!(
                "start-up: removed {r} route(s) and {u} rule(s) left by a previous run"
            ),
            Err(e) => tracing::warn!("start-up: sweeping our routes and rules: {e}"),
        }
    }
}

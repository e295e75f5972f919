//! `virtual_routes` and `virtual_rules` carried out (the engine's [`Output::AddRoute`],
//! [`Output::RemoveRoute`], [`Output::AddRule`], [`Output::RemoveRule`]), and the start-up
//! sweep of the routes and rules a crashed predecessor left. Every failure is logged and the
//! daemon goes on, as keepalived does.
//!
//! Deletions behind our back: every route and rule we installed is remembered
//! ([`Installed`]); an `RTM_DELROUTE` / `RTM_DELRULE` carrying our protocol that matches one
//! ([`crate::os::route_events`]) and that we did not cause is reported to the engine
//! ([`Input::RouteDeleted`] / [`Input::RuleDeleted`]), which decides (keepalived 2.2.7
//! `netlink_route_filter` / `netlink_rule_filter`). Our own deletions come back as events
//! too: each one we made is expected once and skipped, so a route removed and added again
//! in one drain (a reload) is not taken as deleted when the first event arrives.
//!
//! [`Output::AddRoute`]: vrrp_engine::Output::AddRoute
//! [`Output::RemoveRoute`]: vrrp_engine::Output::RemoveRoute
//! [`Output::AddRule`]: vrrp_engine::Output::AddRule
//! [`Output::RemoveRule`]: vrrp_engine::Output::RemoveRule

use super::driver::Daemon;
use crate::os::{route_events, routes};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use vrrp_engine::config::{VirtualRoute, VirtualRule};
use vrrp_engine::{Input, InstanceId};

/// The routes and rules we installed, and our own deletions not yet seen as events.
#[derive(Debug, Default)]
pub struct Installed {
    /// Installed routes: owner, route, index of its `dev`.
    routes: Vec<(InstanceId, VirtualRoute, Option<u32>)>,
    /// Installed rules: owner, rule.
    rules: Vec<(InstanceId, VirtualRule)>,
    /// Routes we deleted whose `RTM_DELROUTE` has not come back yet.
    own_route_dels: Vec<(VirtualRoute, Option<u32>)>,
    /// Rules we deleted whose `RTM_DELRULE` has not come back yet.
    own_rule_dels: Vec<VirtualRule>,
}

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
            Ok(()) => {
                tracing::info!("{name}: added route {route}");
                self.installed.routes.push((instance, route, oif));
            }
            Err(e) => tracing::error!("{name}: adding route {route}: {e}"),
        }
    }

    /// Removes one virtual route.
    pub(super) async fn remove_route(&mut self, instance: InstanceId, route: VirtualRoute) {
        let name = self.name_of(instance);
        // A vanished `dev` took its routes with it; delete by the rest of the key.
        let oif = self.route_oif(&name, &route).await.unwrap_or(None);
        let i = &mut self.installed;
        i.routes
            .retain(|(n, r, _)| !(*n == instance && *r == route));
        match routes::del_route(&self.handle, &route, oif).await {
            Ok(()) => {
                tracing::info!("{name}: removed route {route}");
                self.installed.own_route_dels.push((route, oif));
            }
            Err(e) => tracing::warn!("{name}: removing route {route}: {e}"),
        }
    }

    /// Installs one virtual rule.
    pub(super) async fn add_rule(&mut self, instance: InstanceId, rule: VirtualRule) {
        let name = self.name_of(instance);
        match routes::add_rule(&self.handle, &rule).await {
            Ok(()) => {
                tracing::info!("{name}: added rule {rule}");
                self.installed.rules.push((instance, rule));
            }
            Err(e) => tracing::error!("{name}: adding rule {rule}: {e}"),
        }
    }

    /// Removes one virtual rule.
    pub(super) async fn remove_rule(&mut self, instance: InstanceId, rule: VirtualRule) {
        let name = self.name_of(instance);
        self.installed
            .rules
            .retain(|(n, r)| !(*n == instance && *r == rule));
        match routes::del_rule(&self.handle, &rule).await {
            Ok(()) => {
                tracing::info!("{name}: removed rule {rule}");
                self.installed.own_rule_dels.push(rule);
            }
            Err(e) => tracing::warn!("{name}: removing rule {rule}: {e}"),
        }
    }

    /// A route or rule deletion from netlink: ours, not caused by us, reported to the
    /// engine. Returns whether `msg` was a route or rule message (nothing else to do).
    pub(super) fn on_route_event(&mut self, msg: &NetlinkMessage<RouteNetlinkMessage>) -> bool {
        let NetlinkPayload::InnerMessage(inner) = &msg.payload else {
            return false;
        };
        let input = match inner {
            RouteNetlinkMessage::NewRoute(_) | RouteNetlinkMessage::NewRule(_) => return true,
            RouteNetlinkMessage::DelRoute(m) => {
                if !route_events::route_is_tagged(m) {
                    return true;
                }
                let i = &mut self.installed;
                let own = |(r, oif): &(VirtualRoute, Option<u32>)| {
                    route_events::route_matches(m, r, *oif)
                };
                if let Some(k) = i.own_route_dels.iter().position(own) {
                    i.own_route_dels.remove(k);
                    return true;
                }
                let found = |(_, r, oif): &(InstanceId, VirtualRoute, Option<u32>)| {
                    route_events::route_matches(m, r, *oif)
                };
                let Some(k) = i.routes.iter().position(found) else {
                    return true;
                };
                let (instance, route, _) = i.routes.remove(k);
                tracing::info!("{}: route {route} was deleted", self.name_of(instance));
                Input::RouteDeleted { instance, route }
            }
            RouteNetlinkMessage::DelRule(m) => {
                if !route_events::rule_is_tagged(m) {
                    return true;
                }
                let i = &mut self.installed;
                if let Some(k) = i
                    .own_rule_dels
                    .iter()
                    .position(|r| route_events::rule_matches(m, r))
                {
                    i.own_rule_dels.remove(k);
                    return true;
                }
                let Some(k) = i
                    .rules
                    .iter()
                    .position(|(_, r)| route_events::rule_matches(m, r))
                else {
                    return true;
                };
                let (instance, rule) = i.rules.remove(k);
                tracing::info!("{}: rule {rule} was deleted", self.name_of(instance));
                Input::RuleDeleted { instance, rule }
            }
            _ => return false,
        };
        let now = self.timers_then_now();
        self.engine.handle(now, input);
        true
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

//! What keepalived 2.2.7 checks against the host when it reads its configuration, which
//! `vrrpd-real -t` cannot (it may run elsewhere): every interface the configuration names
//! (an instance's `interface`, a `track_interface`, a VIP's `dev`) must exist, unless
//! `dynamic_interfaces` is set. keepalived warns for each (`vrrp_int_handler`,
//! `alloc_track_if`, `parse_ipaddress`) and then stops ("Non-existent interface specified in
//! configuration", `start_vrrp`). Our own macvlans (`use_vmac`) count as existing: they are
//! created later.

use std::collections::BTreeMap;
use vrrp_engine::config::Config;

/// keepalived 2.2.7's closing line when an interface is missing.
pub const NON_EXISTENT: &str = "Non-existent interface specified in configuration";

/// One warning, in keepalived's words, per reference to an interface missing from `links`
/// (name -> index), in configuration order; empty with `dynamic_interfaces`.
pub fn missing_interfaces(config: &Config, links: &BTreeMap<String, u32>) -> Vec<String> {
    if config.global.dynamic_interfaces {
        return Vec::new();
    }
    let ours: Vec<String> = super::vmac::planned(config)
        .into_iter()
        .map(|v| v.name)
        .collect();
    let missing = |name: &str| !links.contains_key(name) && !ours.iter().any(|o| o == name);
    let mut out = Vec::new();
    for i in &config.instances {
        if missing(&i.interface) {
            out.push(format!(
                "WARNING - interface {} for vrrp_instance {} doesn't exist",
                i.interface, i.name
            ));
        }
        for t in i.track_interfaces.iter().filter(|t| missing(&t.name)) {
            out.push(format!(
                "({}) tracked interface {} doesn't exist",
                i.name, t.name
            ));
        }
        for v in i.vips.iter().chain(&i.vips_excluded) {
            if let Some(d) = v.dev.as_deref().filter(|d| missing(d)) {
                out.push(format!(
                    "WARNING - interface {d} for ip address {} doesn't exist",
                    v.addr
                ));
            }
        }
    }
    for g in &config.sync_groups {
        for t in g.track_interfaces.iter().filter(|t| missing(&t.name)) {
            out.push(format!(
                "({}) tracked interface {} doesn't exist",
                g.name, t.name
            ));
        }
    }
    out
}

/// The checks the daemon makes on a configuration before it touches the host (the engine's,
/// [`vrrp_engine::Engine::new`]): `vrrpd-real -t` runs them too, so a file `-t` passes is
/// never refused at start for a reason `-t` could see.
pub fn startup_check(config: &Config) -> Result<(), String> {
    vrrp_engine::Engine::new(config.clone(), vrrp_engine::Instant::ZERO)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

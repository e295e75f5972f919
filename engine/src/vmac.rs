//! keepalived's `use_vmac [NAME]` and `vmac_xmit_base`: each instance with `use_vmac` owns a
//! macvlan (mode private) on its interface whose MAC is the RFC 5798 §7.3 virtual router MAC,
//! `00:00:5e:00:01:VRID` (IPv4) or `00:00:5e:00:02:VRID` (IPv6).
//!
//! What the engine decides here, as keepalived 2.2.7 does (`vrrp_complete_instance`,
//! `create_vmac_name`, `netlink_link_add_vmac`, `vrrp_create_sockpool`, measured on a
//! namespace LAN, see `docs/vmac.md`):
//! - the macvlan's name: the configured one, else `vrrp.VRID`; a name an earlier instance
//!   already uses gives way to `vrrp1.VRID`, `vrrp2.VRID`, ... (IPv6 tries `vrrp6.VRID` first);
//! - adverts are sent and received on the macvlan, so they leave with the virtual MAC; with
//!   `vmac_xmit_base` on the base interface instead (its own MAC);
//! - VIPs of the instance's family without `dev` (or with `dev` = the instance's interface)
//!   go on the macvlan, so gratuitous ARPs / NAs leave it with the virtual MAC, with or
//!   without `vmac_xmit_base`.
//!
//! The macvlan is not tied to the VRRP state: keepalived creates it at start-up (and for an
//! instance a reload adds), keeps it up in every state and deletes it at shutdown (and for an
//! instance a reload removes). So the driver creates the macvlans of [`crate::Engine::vmacs`]
//! before it runs the engine and removes them after the shutdown's outputs; no [`crate::Output`]
//! carries them.

use crate::config::InstanceConfig;
use crate::types::Family;
use serde::{Deserialize, Serialize};

/// The longest interface name Linux takes (`IFNAMSIZ` - 1).
pub const IFNAME_MAX: usize = 15;

/// One instance's macvlan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vmac {
    /// The macvlan's name.
    pub name: String,
    /// The interface it sits on (the instance's `interface`).
    pub base: String,
    /// Its MAC: the virtual router MAC (RFC 5798 §7.3).
    pub mac: [u8; 6],
    /// The instance's family (IPv4 macvlans get keepalived's ARP sysctls, IPv6 ones a
    /// link-local address).
    pub family: Family,
    /// `vmac_xmit_base`: adverts go and come on the base interface.
    pub xmit_base: bool,
}

impl Vmac {
    /// The interface adverts are sent and received on: the macvlan, or the base with
    /// `vmac_xmit_base` (keepalived's `vrrp_create_sockpool`).
    pub fn advert_interface(&self) -> &str {
        if self.xmit_base {
            &self.base
        } else {
            &self.name
        }
    }
}

/// The virtual router MAC of RFC 5798 §7.3: `00-00-5E-00-01-{VRID}` for IPv4,
/// `00-00-5E-00-02-{VRID}` for IPv6.
pub fn virtual_mac(family: Family, vrid: u8) -> [u8; 6] {
    let kind = match family {
        Family::Ipv4 => 0x01,
        Family::Ipv6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, kind, vrid]
}

/// Whether `name` is a name Linux takes for an interface (keepalived's `dev_name_valid`).
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= IFNAME_MAX
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
}

/// The macvlan of each instance (`None` without `use_vmac`), in configuration order. A
/// configured name is kept unless it is invalid or an earlier instance uses it (keepalived
/// warns and ignores it then); otherwise keepalived's `create_vmac_name` picks the first free
/// name of `vrrp.VRID`, then `vrrpN.VRID` with N = 1, 2, ... (IPv6: N = 6 first, then 1, 2,
/// ... skipping 6).
/// `vmac_xmit_base` is set by unicast peers and reset by strict mode (the instance's
/// `strict_mode`, else `vrrp_strict`; unicast wins), as
/// keepalived's `vrrp_end_handler` and `vrrp_complete_instance` do.
pub fn plan(instances: &[InstanceConfig], strict: bool) -> Vec<Option<Vmac>> {
    let mut taken: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(instances.len());
    for cfg in instances {
        let Some(wanted) = &cfg.use_vmac else {
            out.push(None);
            continue;
        };
        let family = cfg.family();
        let name = if valid_ifname(wanted) && !taken.contains(wanted) {
            wanted.clone()
        } else {
            default_name(cfg.vrid, family, &taken)
        };
        taken.push(name.clone());
        out.push(Some(Vmac {
            name,
            base: cfg.interface.clone(),
            mac: virtual_mac(family, cfg.vrid),
            family,
            xmit_base: !cfg.unicast_peers.is_empty()
                || (cfg.vmac_xmit_base && !cfg.strict_mode.unwrap_or(strict)),
        }));
    }
    out
}

/// keepalived's `create_vmac_name` with the `vrrp` prefix.
fn default_name(vrid: u8, family: Family, taken: &[String]) -> String {
    let mut name = format!("vrrp.{vrid}");
    let mut num: u32 = 0;
    while taken.contains(&name) {
        num = match (family, num) {
            (Family::Ipv6, 0) => 6,
            (Family::Ipv6, 6) => 1,
            (Family::Ipv6, n) if n + 1 == 6 => 7,
            (_, n) => n + 1,
        };
        name = format!("vrrp{num}.{vrid}");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(iface: &str, vrid: u8, vip: &str, vmac: Option<&str>) -> InstanceConfig {
        let mut c = InstanceConfig::new("VI", iface, vrid);
        c.vips
            .push(crate::config::VirtualAddress::host(vip.parse().unwrap()));
        c.use_vmac = vmac.map(String::from);
        c
    }

    #[test]
    fn rfc5798_virtual_macs() {
        assert_eq!(virtual_mac(Family::Ipv4, 51), [0, 0, 0x5e, 0, 1, 0x33]);
        assert_eq!(virtual_mac(Family::Ipv6, 255), [0, 0, 0x5e, 0, 2, 0xff]);
    }

    #[test]
    fn default_names_follow_create_vmac_name() {
        let p = plan(
            &[
                inst("eth0", 51, "10.0.0.1", Some("")),
                inst("eth0", 51, "fd00::1", Some("")),
                inst("eth1", 51, "fd00::2", Some("")),
                inst("eth1", 51, "10.0.1.1", Some("")),
                inst("eth0", 52, "10.0.0.2", None),
                inst("eth0", 53, "10.0.0.3", Some("mine")),
                inst("eth0", 54, "10.0.0.4", Some("mine")),
                inst("eth0", 55, "10.0.0.5", Some("far-too-long-name")),
            ],
            false,
        );
        let names: Vec<Option<&str>> = p
            .iter()
            .map(|v| v.as_ref().map(|v| v.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                Some("vrrp.51"),
                Some("vrrp6.51"),
                Some("vrrp1.51"),
                Some("vrrp2.51"),
                None,
                Some("mine"),
                Some("vrrp.54"),
                Some("vrrp.55"),
            ]
        );
        let v6 = p[1].as_ref().unwrap();
        assert_eq!(v6.mac, [0, 0, 0x5e, 0, 2, 51]);
        assert_eq!(v6.advert_interface(), "vrrp6.51");
    }

    #[test]
    fn xmit_base_and_unicast_send_on_the_base() {
        let mut a = inst("eth0", 51, "10.0.0.1", Some(""));
        a.vmac_xmit_base = true;
        let mut b = inst("eth0", 52, "10.0.0.2", Some(""));
        b.unicast_peers.push("10.0.0.9".parse().unwrap());
        let p = plan(&[a.clone(), b], false);
        assert!(!plan(&[a], true)[0].as_ref().unwrap().xmit_base);
        assert_eq!(p[0].as_ref().unwrap().advert_interface(), "eth0");
        assert_eq!(p[1].as_ref().unwrap().advert_interface(), "eth0");
    }
}

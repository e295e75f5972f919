//! The OS side of keepalived's `use_vmac`: macvlans over rtnetlink, the sysctls keepalived
//! 2.2.7 sets for them (`vrrp_if_config.c`), and the nftables rules that keep IGMP / MLD
//! reports off the virtual MAC (`vrrp_nftables.c`). No protocol logic: what to create is the
//! engine's ([`vrrp_engine::vmac`]).

use futures::TryStreamExt;
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, LinkAttribute, LinkInfo, LinkMessage, MacVlanMode,
};
use rtnetlink::{Handle, LinkMacVlan, LinkUnspec};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A link as the macvlan sweep needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Index.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Hardware address.
    pub mac: Option<[u8; 6]>,
    /// A macvlan, with its mode.
    pub macvlan: Option<MacVlanMode>,
}

fn link_of(msg: &LinkMessage) -> Link {
    let (name, index, mac, _) = super::netlink::link_info(msg);
    let mut kind_macvlan = false;
    let mut mode = None;
    for a in &msg.attributes {
        if let LinkAttribute::LinkInfo(infos) = a {
            for i in infos {
                match i {
                    LinkInfo::Kind(InfoKind::MacVlan) => kind_macvlan = true,
                    LinkInfo::Data(InfoData::MacVlan(d)) => {
                        for x in d {
                            if let InfoMacVlan::Mode(m) = x {
                                mode = Some(*m);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Link {
        index,
        name,
        mac,
        macvlan: kind_macvlan.then_some(mode.unwrap_or(MacVlanMode::Other(0))),
    }
}

/// Every link of the namespace.
pub async fn links(handle: &Handle) -> Result<Vec<Link>, rtnetlink::Error> {
    let all: Vec<LinkMessage> = handle.link().get().execute().try_collect().await?;
    Ok(all.iter().map(link_of).collect())
}

/// Whether `mac` is an RFC 5798 §7.3 virtual router MAC (`00:00:5e:00:01:XX` / `:02:XX`).
pub fn is_virtual_mac(mac: &[u8; 6]) -> bool {
    mac[..4] == [0, 0, 0x5e, 0] && (mac[4] == 1 || mac[4] == 2)
}

/// Creates macvlan `name` on `base` in private mode with `mac`, down (keepalived's
/// `netlink_link_add_vmac`: the sysctls are set before it comes up).
pub async fn create(
    handle: &Handle,
    name: &str,
    base: u32,
    mac: [u8; 6],
) -> Result<(), rtnetlink::Error> {
    let msg = LinkMacVlan::new(name, base, MacVlanMode::Private)
        .address(mac.to_vec())
        .build();
    handle.link().add(msg).execute().await
}

/// Brings link `index` up.
pub async fn set_up(handle: &Handle, index: u32) -> Result<(), rtnetlink::Error> {
    let msg = LinkUnspec::new_with_index(index).up().build();
    handle.link().set(msg).execute().await
}

/// Deletes link `index`.
pub async fn delete(handle: &Handle, index: u32) -> Result<(), rtnetlink::Error> {
    handle.link().del(index).execute().await
}

/// The file of a sysctl: `net/ipv4/conf/IFACE/NAME` (an interface name may hold dots, so
/// the `/proc` path is used rather than `sysctl`'s dotted name).
pub fn sysctl_path(family: &str, iface: &str, name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/sys/net/{family}/conf/{iface}/{name}"))
}

/// Reads an integer sysctl.
pub fn read_sysctl(path: &std::path::Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Writes an integer sysctl.
pub fn write_sysctl(path: &std::path::Path, value: u32) -> std::io::Result<()> {
    std::fs::write(path, format!("{value}\n"))
}

/// The interfaces that have IPv4 settings (`/proc/sys/net/ipv4/conf/*`, `all` left out).
pub fn ipv4_conf_interfaces() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/proc/sys/net/ipv4/conf")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n != "all")
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Our nftables table (one per family), distinct from every other table.
pub const NFT_TABLE: &str = "vrrpd_real_vmac";

/// The ruleset that replaces our tables: IGMP (IPv4) and MLDv2 reports (IPv6) leaving a
/// macvlan are duplicated to its base interface and dropped, and IPv6 router solicitations
/// from it dropped, as keepalived 2.2.7 does with nftables (`setup_rule_move_igmp`,
/// `setup_rule_drop_router_solicit`): the multicast group must be joined on the macvlan to
/// read adverts there, but a report from the virtual MAC would move the switch's entry for
/// it to a Backup. `vmacs` are (macvlan, base, IPv6). Empty: the tables are deleted.
pub fn nft_ruleset(vmacs: &[(String, String, bool)]) -> String {
    let mut s = String::new();
    for (family, v6) in [("ip", false), ("ip6", true)] {
        // Creating then deleting makes the delete succeed whether or not the table exists.
        s.push_str(&format!(
            "table {family} {NFT_TABLE}\ndelete table {family} {NFT_TABLE}\n"
        ));
        let mine: Vec<&(String, String, bool)> = vmacs.iter().filter(|v| v.2 == v6).collect();
        if mine.is_empty() {
            continue;
        }
        s.push_str(&format!(
            "table {family} {NFT_TABLE} {{\n  chain out {{\n    type filter hook output priority filter - 1; policy accept;\n"
        ));
        for (name, base, _) in mine {
            if v6 {
                s.push_str(&format!(
                    "    oifname \"{name}\" icmpv6 type mld2-listener-report dup to ip6 daddr device \"{base}\" drop\n    oifname \"{name}\" icmpv6 type nd-router-solicit drop\n"
                ));
            } else {
                s.push_str(&format!(
                    "    oifname \"{name}\" ip protocol igmp dup to ip daddr device \"{base}\" drop\n"
                ));
            }
        }
        s.push_str("  }\n}\n");
    }
    s
}

/// Loads a ruleset with `nft -f -`.
pub fn nft_load(ruleset: &str) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(ruleset.as_bytes())
            .map_err(|e| format!("nft: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_macs_are_recognised() {
        assert!(is_virtual_mac(&[0, 0, 0x5e, 0, 1, 0x33]));
        assert!(is_virtual_mac(&[0, 0, 0x5e, 0, 2, 1]));
        assert!(!is_virtual_mac(&[0, 0, 0x5e, 0, 3, 1]));
        assert!(!is_virtual_mac(&[2, 0, 0x5e, 0, 1, 1]));
    }

    #[test]
    fn ruleset_moves_reports_to_the_base() {
        let r = nft_ruleset(&[("vrrp.51".into(), "eth0".into(), false)]);
        assert!(
            r.contains("oifname \"vrrp.51\" ip protocol igmp dup to ip daddr device \"eth0\" drop")
        );
        assert!(!r.contains("table ip6 vrrpd_real_vmac {"));
        let empty = nft_ruleset(&[]);
        assert_eq!(empty.matches("delete table").count(), 2);
        assert!(!empty.contains('{'));
    }
}

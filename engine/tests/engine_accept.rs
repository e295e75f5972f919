//! Accept_Mode (RFC 5798 §6.1) as keepalived 2.2.7 carries it out (`vrrp_handle_accept_mode`
//! in `vrrp_state_become_master` and `vrrp_restore_interface`): with `no_accept`, a Master
//! that is not the address owner blocks its VIPs right before adding them and unblocks them
//! right after removing them; nothing is blocked while Backup, with `accept`, or at priority
//! 255. Exact times: Master_Down_Interval of priority 100 at 1 s is 3 + 156/256 s.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use support::*;
use vrrp_engine::config::{Config, InstanceConfig, VirtualAddress};
use vrrp_engine::wire::Auth;
use vrrp_engine::{CheckOutcome, Engine, Input, Instant, Output, Version};

const MASTER_AT: f64 = 3.609375;
const VIP2: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 101);

/// VI_1, priority `prio`, VRRPv3 at 1 s, with `accept` as given.
fn vi1(prio: u8, accept: bool) -> InstanceConfig {
    let mut i = instance(prio, Version::V3, Duration::from_secs(1));
    i.accept = accept;
    i
}

/// An output in a few words: `tx P`, `state S`, `block A..`, `unblock A..`, `add A`,
/// `del A`, `garp A`.
fn word(o: &Output) -> Option<String> {
    let list = |v: &[vrrp_engine::io::BlockedVip]| {
        v.iter()
            .map(|b| format!("{}@{}", b.addr, b.interface))
            .collect::<Vec<_>>()
            .join(",")
    };
    Some(match o {
        Output::Transmit(t) => format!(
            "tx {}",
            vrrp_engine::wire::peek_priority(&t.payload).unwrap_or(0)
        ),
        Output::StateChanged(c) => format!("state {}", c.to.as_str()),
        Output::BlockVips { vips, .. } => format!("block {}", list(vips)),
        Output::UnblockVips { vips, .. } => format!("unblock {}", list(vips)),
        Output::AddVip { vip, .. } => format!("add {}", vip.addr),
        Output::RemoveVip { vip, .. } => format!("del {}", vip.addr),
        Output::Announce { addr, .. } => format!("garp {addr}"),
        _ => return None,
    })
}

fn words(outs: &[Output]) -> Vec<String> {
    outs.iter().filter_map(word).collect()
}

/// The timed outputs of `log` that concern the firewall.
fn filter_log(log: &[(Instant, Output)]) -> Vec<(Instant, String)> {
    log.iter()
        .filter(|(_, o)| matches!(o, Output::BlockVips { .. } | Output::UnblockVips { .. }))
        .filter_map(|(t, o)| word(o).map(|w| (*t, w)))
        .collect()
}

/// `cfg` alone until `until`.
fn alone(cfg: Config, until: f64) -> (Engine, Vec<(Instant, Output)>) {
    let mut e = started(cfg, 0, Instant::ZERO);
    let log = run_alone(&mut e, secs(until), |_| CheckOutcome::Pass);
    (e, log)
}

#[test]
fn no_accept_blocks_right_before_the_vips_are_added_and_not_while_backup() {
    let (_, log) = alone(config(vi1(100, false)), 5.0);
    assert_eq!(
        filter_log(&log),
        [(secs(MASTER_AT), "block 172.20.0.100@eth0".to_string())]
    );
    let at_master: Vec<Output> = log
        .iter()
        .filter(|(t, _)| *t == secs(MASTER_AT))
        .map(|(_, o)| o.clone())
        .collect();
    assert_eq!(
        words(&at_master)[..5],
        [
            "tx 100",
            "state MASTER",
            "block 172.20.0.100@eth0",
            "add 172.20.0.100",
            "garp 172.20.0.100"
        ]
    );
}

#[test]
fn accept_and_the_address_owner_block_nothing() {
    let (_, log) = alone(config(vi1(100, true)), 5.0);
    assert!(filter_log(&log).is_empty());
    // keepalived: `vrrp_handle_accept_mode` returns for priority 255, `no_accept` or not.
    let (_, log) = alone(config(vi1(255, false)), 5.0);
    assert_eq!(transitions(&log)[0].1, vrrp_engine::State::Master);
    assert!(filter_log(&log).is_empty());
}

#[test]
fn leaving_master_unblocks_right_after_the_vips_are_removed() {
    let (mut e, _) = alone(config(vi1(100, false)), 5.0);
    // A higher-priority Master's advert at 5.5 s: back to Backup.
    let adv = advert_bytes(Version::V3, 51, 200, 100, host_addr(1), Auth::None);
    deliver(&mut e, secs(5.5), host_addr(1), &adv);
    assert_eq!(
        words(&drain(&mut e)),
        [
            "del 172.20.0.100",
            "unblock 172.20.0.100@eth0",
            "state BACKUP"
        ]
    );
}

#[test]
fn shutdown_and_fault_unblock_after_the_priority_zero_advert_and_the_removal() {
    let (mut e, _) = alone(config(vi1(100, false)), 5.0);
    e.handle(secs(5.5), Input::Shutdown);
    assert_eq!(
        words(&drain(&mut e)),
        [
            "tx 0",
            "del 172.20.0.100",
            "unblock 172.20.0.100@eth0",
            "state INIT"
        ]
    );
    let (mut e, _) = alone(config(vi1(100, false)), 5.0);
    e.handle(secs(5.5), Input::Interface(eth0(0, false)));
    assert_eq!(
        words(&drain(&mut e)),
        // Two priority-0 adverts on its own fault, as keepalived 2.2.7 `down_instance`.
        [
            "tx 0",
            "tx 0",
            "del 172.20.0.100",
            "unblock 172.20.0.100@eth0",
            "state FAULT"
        ]
    );
}

#[test]
fn excluded_vips_and_other_devices_are_blocked_too_and_each_address_once() {
    let mut i = vi1(100, false);
    let mut on_eth1 = VirtualAddress::host(IpAddr::V4(VIP2));
    on_eth1.dev = Some("eth1".into());
    i.vips_excluded.push(on_eth1);
    // The same address twice is blocked once.
    i.vips.push(VirtualAddress::host(IpAddr::V4(VIP)));
    let (_, log) = alone(config(i), 5.0);
    assert_eq!(
        filter_log(&log),
        [(
            secs(MASTER_AT),
            "block 172.20.0.100@eth0,172.20.0.101@eth1".to_string()
        )]
    );
}

#[test]
fn a_reload_of_a_master_follows_accept_and_the_vip_list() {
    let mut lan = Lan::new(vec![config(vi1(100, false))], Duration::ZERO);
    lan.run_until(secs(5.0));
    // Accept_Mode turned on: everything unblocked, no VIP moves.
    let t = secs(5.0);
    lan.reconfigure(0, config(vi1(100, true)));
    let since = |lan: &Lan, from| -> Vec<String> {
        lan.outputs_since(0, from)
            .into_iter()
            .filter_map(|(_, o)| word(o))
            .collect()
    };
    assert_eq!(
        since(&lan, t),
        ["unblock 172.20.0.100@eth0", "tx 100"],
        "accept on"
    );
    // And off again: blocked at once, the VIP stays.
    lan.run_until(secs(5.5));
    lan.reconfigure(0, config(vi1(100, false)));
    assert_eq!(
        since(&lan, secs(5.5)),
        ["block 172.20.0.100@eth0", "tx 100"],
        "accept off"
    );
    // A VIP replaced: the old one removed then unblocked, the new one blocked then added.
    lan.run_until(secs(5.8));
    let mut i = vi1(100, false);
    i.vips = vec![VirtualAddress::host(IpAddr::V4(VIP2))];
    lan.reconfigure(0, config(i));
    let got = since(&lan, secs(5.8));
    assert_eq!(
        got[..4],
        [
            "del 172.20.0.100",
            "unblock 172.20.0.100@eth0",
            "block 172.20.0.101@eth0",
            "add 172.20.0.101"
        ],
        "{got:?}"
    );
}

#[test]
fn a_backup_reload_blocks_nothing() {
    let mut lan = Lan::new(vec![config(vi1(100, true))], Duration::ZERO);
    lan.run_until(secs(1.0));
    lan.reconfigure(0, config(vi1(100, false)));
    lan.run_until(secs(3.0));
    assert!(lan
        .outputs_since(0, Instant::ZERO)
        .iter()
        .all(|(_, o)| word(o).is_none_or(|w| !w.contains("block"))));
    // It blocks when it becomes Master (Master_Down_Interval after the reload restarted it).
    lan.run_until(secs(6.0));
    let blocks: Vec<(Instant, String)> = lan
        .outputs_since(0, Instant::ZERO)
        .into_iter()
        .filter_map(|(t, o)| word(o).filter(|w| w.starts_with("block")).map(|w| (t, w)))
        .collect();
    assert_eq!(
        blocks,
        [(secs(1.0 + MASTER_AT), "block 172.20.0.100@eth0".to_string())]
    );
}

//! `use_vmac` / `vmac_xmit_base` (keepalived 2.2.7, measured on a namespace LAN: see
//! docs/vmac.md): which interface each advert, VIP and announcement goes to, and where
//! adverts are read.

mod support;

use std::net::IpAddr;
use std::time::Duration;
use support::*;
use vrrp_engine::config::{InstanceConfig, VirtualAddress};
use vrrp_engine::wire::Auth;
use vrrp_engine::{CheckOutcome, Input, Instant, Output, RxPacket, State, Version};

fn vmac_instance(xmit_base: bool) -> InstanceConfig {
    let mut i = instance(100, Version::V2, Duration::from_secs(1));
    i.use_vmac = Some(String::new());
    i.vmac_xmit_base = xmit_base;
    i
}

/// (time, kind, interface) of every advert, VIP and announcement in a log.
fn where_(log: &[(Instant, Output)]) -> Vec<(Instant, &'static str, String)> {
    log.iter()
        .filter_map(|(t, o)| match o {
            Output::Transmit(x) => Some((*t, "tx", x.interface.to_string())),
            Output::AddVip { interface, .. } => Some((*t, "add", interface.to_string())),
            Output::RemoveVip { interface, .. } => Some((*t, "del", interface.to_string())),
            Output::Announce { interface, .. } => Some((*t, "garp", interface.to_string())),
            _ => None,
        })
        .collect()
}

#[test]
fn adverts_vips_and_garps_go_on_the_macvlan() {
    let mut e = started(config(vmac_instance(false)), 0, Instant::ZERO);
    let log = run_alone(&mut e, secs(4.7), |_| CheckOutcome::Pass);
    // Master_Down_Interval = 3 + (256 - 100) / 256 = 3.609375 s.
    let t = secs(3.609375);
    assert_eq!(
        transitions(&log),
        [(Instant::ZERO, State::Backup), (t, State::Master)]
    );
    let v = |t, k, i: &str| (t, k, i.to_string());
    let mut want = vec![v(t, "tx", "vrrp.51"), v(t, "add", "vrrp.51")];
    want.extend((0..5).map(|_| v(t, "garp", "vrrp.51")));
    want.push(v(secs(4.609375), "tx", "vrrp.51"));
    assert_eq!(where_(&log), want);
    let vmacs: Vec<_> = e.vmacs().map(|(_, v)| v.clone()).collect();
    assert_eq!(vmacs.len(), 1);
    assert_eq!(vmacs[0].name, "vrrp.51");
    assert_eq!(vmacs[0].base, "eth0");
    assert_eq!(vmacs[0].mac, [0, 0, 0x5e, 0, 1, 0x33]);

    // SIGTERM: priority 0 from the macvlan, VIP removed from it.
    e.handle(secs(5.0), Input::Shutdown);
    let out: Vec<_> = drain(&mut e).into_iter().map(|o| (secs(5.0), o)).collect();
    assert_eq!(
        where_(&out),
        [
            v(secs(5.0), "tx", "vrrp.51"),
            v(secs(5.0), "del", "vrrp.51")
        ]
    );
}

#[test]
fn xmit_base_sends_adverts_on_the_base_and_garps_on_the_macvlan() {
    let mut e = started(config(vmac_instance(true)), 0, Instant::ZERO);
    let log = run_alone(&mut e, secs(4.7), |_| CheckOutcome::Pass);
    let t = secs(3.609375);
    let v = |t, k, i: &str| (t, k, i.to_string());
    let mut want = vec![v(t, "tx", "eth0"), v(t, "add", "vrrp.51")];
    want.extend((0..5).map(|_| v(t, "garp", "vrrp.51")));
    want.push(v(secs(4.609375), "tx", "eth0"));
    assert_eq!(where_(&log), want);
    assert_eq!(
        e.advert_interface("eth0", vrrp_engine::Family::Ipv4, 51),
        "eth0"
    );
}

fn on(e: &mut vrrp_engine::Engine, now: Instant, interface: &str, prio: u8) {
    let peer = host_addr(1);
    let payload = advert_bytes(Version::V2, 51, prio, 1, peer, Auth::None);
    e.handle(
        now,
        Input::Packet(RxPacket {
            interface,
            src: IpAddr::V4(peer),
            dst: IpAddr::V4(vrrp_engine::types::MULTICAST_V4),
            ttl: 255,
            payload: &payload,
        }),
    );
}

#[test]
fn adverts_are_read_on_the_macvlan_not_the_base() {
    let mut e = started(config(vmac_instance(false)), 0, Instant::ZERO);
    assert_eq!(
        e.advert_interface("eth0", vrrp_engine::Family::Ipv4, 51),
        "vrrp.51"
    );
    // A Master at 150 heard on the macvlan every second: no takeover at 3.609375 s.
    for k in 0..5u64 {
        let now = Instant::from_millis(500 + 1000 * k);
        e.handle_timeout(now);
        on(&mut e, now, "vrrp.51", 150);
    }
    e.handle_timeout(secs(5.0));
    assert_eq!(e.snapshot().instances[0].state, State::Backup);
    // The same adverts read on the base are not this instance's (keepalived's socket is on
    // the macvlan): Master_Down_Timer (armed at 4.5 s) runs out at 8.109375 s.
    for k in 5..9u64 {
        on(&mut e, Instant::from_millis(500 + 1000 * k), "eth0", 150);
    }
    let log = run_alone(&mut e, secs(8.2), |_| CheckOutcome::Pass);
    let t = transitions(&log);
    assert_eq!(t.last(), Some(&(secs(8.109375), State::Master)));
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(e.snapshot().unmatched.total(), 4);
}

#[test]
fn vips_with_another_dev_or_family_stay_off_the_macvlan() {
    let mut i = vmac_instance(false);
    let mut other = VirtualAddress::host("172.20.1.100".parse().unwrap());
    other.dev = Some("eth1".into());
    i.vips.push(other);
    let mut own = VirtualAddress::host("172.20.0.101".parse().unwrap());
    own.dev = Some("eth0".into());
    i.vips.push(own);
    i.vips_excluded
        .push(VirtualAddress::host("fd00::100".parse().unwrap()));
    let mut e = started(config(i), 0, Instant::ZERO);
    let log = run_alone(&mut e, secs(3.7), |_| CheckOutcome::Pass);
    let adds: Vec<String> = where_(&log)
        .into_iter()
        .filter(|w| w.1 == "add")
        .map(|w| w.2)
        .collect();
    assert_eq!(adds, ["vrrp.51", "eth1", "vrrp.51", "eth0"]);
}

#[test]
fn a_reload_that_turns_use_vmac_on_restarts_the_instance() {
    let plain = instance(100, Version::V2, Duration::from_secs(1));
    let mut e = started(config(plain), 0, Instant::ZERO);
    run_alone(&mut e, secs(4.0), |_| CheckOutcome::Pass);
    assert!(e.vmacs().next().is_none());
    let s = e
        .reconfigure(secs(4.0), config(vmac_instance(false)))
        .unwrap();
    assert_eq!(s.restarted, ["VI_1"]);
    let out: Vec<_> = drain(&mut e).into_iter().map(|o| (secs(4.0), o)).collect();
    // The old instance hands over from eth0; the new one starts as Backup.
    let v = |k, i: &str| (secs(4.0), k, i.to_string());
    assert_eq!(where_(&out), [v("tx", "eth0"), v("del", "eth0")]);
    assert_eq!(
        e.vmacs().map(|(_, v)| v.name.as_str()).collect::<Vec<_>>(),
        ["vrrp.51"]
    );
}

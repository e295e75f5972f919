//! The IPVS generic netlink client (`vrrp_real::os::ipvs`) against a real kernel: a QEMU VM
//! (`vrrp_lab::vm`) boots Debian's kernel, where `vrrpd-real --ipvs-apply` carries out a list
//! of the engine's `IpvsChange`s. After each phase the test compares three views of the table:
//! - the engine's model (`IpvsTable::apply` of the same changes),
//! - the client's own readback (`Ipvs::table()`, printed as `IpvsTable` JSON),
//! - `ipvsadm -Ln` (parsed here: header and connection counters dropped, runs of spaces
//!   collapsed), against `IpvsTable::to_ipvsadm_lines()` of the model.
//!
//! It also checks the kernel's refusals (EEXIST, ESRCH, ENOENT) come back with their errno,
//! that `--ipvs-flush` empties the table, and the message when the kernel has no IPVS.
//! If the VM cannot boot, the test fails with the harness's reason.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use vrrp_engine::lvs::ipvs::{SVC_F_PERSISTENT, SVC_F_SCHED2};
use vrrp_engine::lvs::{
    Forwarding, IpvsChange, IpvsDest, IpvsService, IpvsTable, Protocol, ServiceKey,
};
use vrrp_engine::Family;
use vrrp_lab::vm::{self, VmSpec};

const BIN: &str = env!("CARGO_BIN_EXE_vrrpd-real");

fn tcp(addr: &str) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: addr.parse().unwrap(),
    }
}

fn svc(key: ServiceKey, scheduler: &str) -> IpvsService {
    let netmask = key.full_netmask();
    IpvsService {
        key,
        scheduler: scheduler.into(),
        flags: 0,
        timeout: 0,
        netmask,
        pe_name: None,
    }
}

fn dest(addr: &str, forwarding: Forwarding, weight: u32) -> IpvsDest {
    IpvsDest {
        addr: addr.parse().unwrap(),
        forwarding,
        weight,
        u_threshold: 0,
        l_threshold: 0,
    }
}

fn add(service: ServiceKey, d: IpvsDest) -> IpvsChange {
    IpvsChange::AddDest { service, dest: d }
}

/// Phase 1: the services and their destinations.
fn phase1() -> Vec<IpvsChange> {
    let nat = tcp("10.0.0.100:80");
    let dr = tcp("10.0.0.101:443");
    let fwm = ServiceKey::Fwmark {
        family: Family::Ipv4,
        mark: 5,
    };
    let udp = ServiceKey::Addr {
        protocol: Protocol::Udp,
        addr: "10.0.0.100:53".parse().unwrap(),
    };
    let v6 = tcp("[2001:db8::100]:80");
    let fwm6 = ServiceKey::Fwmark {
        family: Family::Ipv6,
        mark: 6,
    };
    vec![
        // TCP NAT, wrr, two real servers of weights 1 and 3 (one with thresholds).
        IpvsChange::AddService(svc(nat, "wrr")),
        add(
            nat,
            IpvsDest {
                u_threshold: 100,
                l_threshold: 10,
                ..dest("10.0.1.1:80", Forwarding::Nat, 1)
            },
        ),
        add(nat, dest("10.0.1.2:8080", Forwarding::Nat, 3)),
        // Persistent TCP DR, sh with sh-port, persistence_timeout 50, granularity /24.
        IpvsChange::AddService(IpvsService {
            flags: SVC_F_PERSISTENT | SVC_F_SCHED2,
            timeout: 50,
            netmask: u32::from(Ipv4Addr::new(255, 255, 255, 0)),
            ..svc(dr, "sh")
        }),
        add(dr, dest("10.0.2.1:443", Forwarding::Dr, 1)),
        add(dr, dest("10.0.2.2:443", Forwarding::Dr, 2)),
        // fwmark 5, rr, a DR and a TUN real server.
        IpvsChange::AddService(svc(fwm, "rr")),
        add(fwm, dest("10.0.3.1:0", Forwarding::Dr, 1)),
        add(fwm, dest("10.0.3.2:0", Forwarding::Tun, 1)),
        // UDP, lc, one server.
        IpvsChange::AddService(svc(udp, "lc")),
        add(udp, dest("10.0.1.1:53", Forwarding::Nat, 1)),
        // IPv6: persistent wlc with a /64 granularity; an IPv6 fwmark service.
        IpvsChange::AddService(IpvsService {
            flags: SVC_F_PERSISTENT,
            timeout: 300,
            netmask: 64,
            ..svc(v6, "wlc")
        }),
        add(v6, dest("[2001:db8::1]:80", Forwarding::Nat, 5)),
        add(v6, dest("[2001:db8::2]:8080", Forwarding::Nat, 0)),
        IpvsChange::AddService(svc(fwm6, "wrr")),
        add(fwm6, dest("[2001:db8::3]:0", Forwarding::Dr, 2)),
    ]
}

/// Phase 2: edits and removals.
fn phase2() -> Vec<IpvsChange> {
    let nat = tcp("10.0.0.100:80");
    let v6 = tcp("[2001:db8::100]:80");
    vec![
        IpvsChange::EditDest {
            service: nat,
            dest: dest("10.0.1.1:80", Forwarding::Nat, 4),
        },
        IpvsChange::RemoveDest {
            service: nat,
            addr: "10.0.1.2:8080".parse().unwrap(),
        },
        IpvsChange::RemoveService(ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: "10.0.0.100:53".parse().unwrap(),
        }),
        IpvsChange::EditService(IpvsService {
            flags: SVC_F_PERSISTENT,
            timeout: 600,
            netmask: 48,
            ..svc(v6, "sh")
        }),
        IpvsChange::EditDest {
            service: v6,
            dest: dest("[2001:db8::2]:8080", Forwarding::Nat, 7),
        },
    ]
}

/// Changes the kernel must refuse, one line each, with the errno we expect.
fn refused() -> Vec<(IpvsChange, &'static str)> {
    let nat = tcp("10.0.0.100:80");
    let missing = tcp("10.9.9.9:80");
    vec![
        (IpvsChange::AddService(svc(nat, "wrr")), "EEXIST"),
        (IpvsChange::RemoveService(missing), "ESRCH"),
        (
            add(missing, dest("10.0.1.1:80", Forwarding::Nat, 1)),
            "ESRCH",
        ),
        (add(nat, dest("10.0.1.1:80", Forwarding::Nat, 1)), "EEXIST"),
        (
            IpvsChange::RemoveDest {
                service: nat,
                addr: "10.0.7.7:80".parse().unwrap(),
            },
            "ENOENT",
        ),
        (
            IpvsChange::AddService(svc(tcp("10.0.0.200:80"), "nosuchsched")),
            "ENOENT",
        ),
    ]
}

fn jsonl(changes: &[IpvsChange]) -> Vec<u8> {
    changes
        .iter()
        .map(|c| serde_json::to_string(c).unwrap() + "\n")
        .collect::<String>()
        .into_bytes()
}

const SCRIPT: &str = r#"
sec() { echo "@@ $1"; }
# Without IPVS: the client says so. The boot loaded ip_vs: take it out, and stop the kernel
# from loading it again on the family lookup (genetlink asks modprobe for
# net-pf-16-proto-16-family-IPVS).
sec autoload; rmmod ip_vs_wrr ip_vs_rr ip_vs && vrrpd-real --ipvs-apply - </dev/null 2>&1
echo "status $?"; grep -c '^ip_vs ' /proc/modules
sec noipvs
old_modprobe=$(cat /proc/sys/kernel/modprobe)
rmmod ip_vs && echo /bin/false >/proc/sys/kernel/modprobe && [ ! -e /proc/net/ip_vs ] || exit 1
vrrpd-real --ipvs-apply - </dev/null 2>&1; echo "status $?"
echo "$old_modprobe" >/proc/sys/kernel/modprobe
modprobe -a ip_vs ip_vs_rr ip_vs_wrr || exit 1
for p in 1 2; do
    sec apply$p; vrrpd-real --ipvs-json --ipvs-apply /root/phase$p.jsonl 2>/tmp/err$p >/tmp/out$p
    echo "status $?"; cat /tmp/err$p
    sec readback$p; cat /tmp/out$p
    sec lines$p; vrrpd-real --ipvs-apply - </dev/null 2>&1
    sec ipvsadm$p; ipvsadm -Ln
done
sec refused; vrrpd-real --ipvs-apply /root/refused.jsonl 2>&1 >/dev/null; echo "status $?"
sec ipvsadm3; ipvsadm -Ln
sec flush; vrrpd-real --ipvs-flush --ipvs-apply - </dev/null 2>&1; echo "status $?"
sec ipvsadm4; ipvsadm -Ln
# A table ipvsadm made, read by the client.
ipvsadm -A -t 10.0.0.50:80 -s rr -p 30 -M 255.255.0.0 &&
ipvsadm -a -t 10.0.0.50:80 -r 10.0.5.1 -g -w 2 -x 50 -y 5 &&
ipvsadm -A -u [2001:db8::50]:53 -s wlc &&
ipvsadm -a -u [2001:db8::50]:53 -r [2001:db8::5]:5353 -m -w 1 &&
ipvsadm -A -f 9 -6 -s wrr -p 20 -M 64 || exit 1
sec foreign; vrrpd-real --ipvs-json --ipvs-apply - </dev/null
sec end
"#;

/// The guest's output by section (`@@ name` lines).
fn sections(stdout: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cur = String::new();
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix("@@ ") {
            cur = name.trim().to_owned();
            out.entry(cur.clone()).or_default();
        } else if !cur.is_empty() {
            out.entry(cur.clone()).or_default().push(line.to_owned());
        }
    }
    out
}

/// Lines with their runs of spaces collapsed (destination lines keep their two-space indent).
fn normalise(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let w = l.split_whitespace().collect::<Vec<_>>().join(" ");
            if l.starts_with("  ->") {
                format!("  {w}")
            } else {
                w
            }
        })
        .collect()
}

#[test]
fn ipvs_client_in_a_vm_matches_the_model_and_ipvsadm() {
    let t0 = Instant::now();
    let spec = VmSpec {
        binaries: vec![PathBuf::from(BIN)],
        files: vec![
            (PathBuf::from("/root/phase1.jsonl"), jsonl(&phase1())),
            (PathBuf::from("/root/phase2.jsonl"), jsonl(&phase2())),
            (
                PathBuf::from("/root/refused.jsonl"),
                jsonl(&refused().into_iter().map(|(c, _)| c).collect::<Vec<_>>()),
            ),
        ],
        script: SCRIPT.into(),
        timeout: Duration::from_secs(120),
        // The debug vrrpd-real is ~90 MB: with 256 MB the kernel reports "Initramfs unpacking
        // failed: write error" (the initramfs is unpacked into RAM).
        memory_mb: 512,
    };
    let run = match vm::run(&spec) {
        Ok(r) => r,
        Err(e) => panic!("the IPVS VM did not run: {e}"),
    };
    let report = run.report();
    assert_eq!(run.status, 0, "{report}");
    let s = sections(&run.stdout);
    assert!(s.contains_key("end"), "the script did not finish\n{report}");

    // The family lookup loads ip_vs when it is missing; with module loading off, the client
    // says the kernel has no IPVS.
    assert_eq!(s["autoload"], ["status 0", "1"], "{report}");
    assert_eq!(
        s["noipvs"],
        [
            "vrrpd-real: kernel has no IPVS (no generic netlink family IPVS): modprobe ip_vs",
            "status 2"
        ],
        "{report}"
    );

    let mut model = IpvsTable::default();
    for (p, changes) in [(1, phase1()), (2, phase2())] {
        for c in &changes {
            model.apply(c);
        }
        let apply = &s[&format!("apply{p}")];
        assert_eq!(apply[0], "status 0", "phase {p}: {apply:?}\n{report}");
        assert_eq!(apply.len(), 1 + changes.len(), "phase {p}: {apply:?}");
        assert!(
            apply[1..].iter().all(|l| l.starts_with("ok ")),
            "phase {p}: {apply:?}"
        );

        // The client's readback is the model, field for field.
        let json = s[&format!("readback{p}")].join("\n");
        let readback: IpvsTable = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("phase {p}: readback {json:?}: {e}\n{report}"));
        assert_eq!(readback, model, "phase {p}: readback vs model\n{report}");

        // ipvsadm -Ln is the model's to_ipvsadm_lines(), and so is the client's rendering.
        let want = normalise(&model.to_ipvsadm_lines());
        let ipvsadm = vm::ipvsadm_lines(&s[&format!("ipvsadm{p}")]);
        assert_eq!(ipvsadm, want, "phase {p}: ipvsadm -Ln vs model\n{report}");
        assert_eq!(
            normalise(&s[&format!("lines{p}")]),
            want,
            "phase {p}: client's lines vs model\n{report}"
        );
    }

    // Refusals, each with its errno; the table is unchanged.
    let refusals = &s["refused"];
    let expected = refused();
    assert_eq!(refusals.len(), expected.len() + 1, "{refusals:?}");
    for (line, (change, errno)) in refusals.iter().zip(&expected) {
        assert!(
            line.starts_with("error IPVS ") && line.contains(&format!(": {errno} (")),
            "{change:?}: want {errno}, got {line:?}"
        );
    }
    assert_eq!(refusals.last().unwrap(), "status 1");
    assert_eq!(
        vm::ipvsadm_lines(&s["ipvsadm3"]),
        normalise(&model.to_ipvsadm_lines())
    );

    // Flush.
    assert_eq!(s["flush"], vec!["status 0".to_owned()], "{report}");
    assert!(vm::ipvsadm_lines(&s["ipvsadm4"]).is_empty(), "{report}");

    // A table ipvsadm made, as the client reads it.
    let foreign: IpvsTable = serde_json::from_str(&s["foreign"].join("\n"))
        .unwrap_or_else(|e| panic!("foreign table: {e}\n{report}"));
    let mut want = IpvsTable::default();
    let t = tcp("10.0.0.50:80");
    let u6 = ServiceKey::Addr {
        protocol: Protocol::Udp,
        addr: "[2001:db8::50]:53".parse().unwrap(),
    };
    for c in [
        IpvsChange::AddService(IpvsService {
            flags: SVC_F_PERSISTENT,
            timeout: 30,
            netmask: 0xffff_0000,
            ..svc(t, "rr")
        }),
        add(
            t,
            IpvsDest {
                u_threshold: 50,
                l_threshold: 5,
                ..dest("10.0.5.1:80", Forwarding::Dr, 2)
            },
        ),
        IpvsChange::AddService(svc(u6, "wlc")),
        add(u6, dest("[2001:db8::5]:5353", Forwarding::Nat, 1)),
        IpvsChange::AddService(IpvsService {
            flags: SVC_F_PERSISTENT,
            timeout: 20,
            netmask: 64,
            ..svc(
                ServiceKey::Fwmark {
                    family: Family::Ipv6,
                    mark: 9,
                },
                "wrr",
            )
        }),
    ] {
        want.apply(&c);
    }
    assert_eq!(foreign, want, "{report}");

    eprintln!(
        "VM test: boot {:?}, VM total {:?}, test wall time {:?}, kernel {}",
        run.boot_time,
        run.total,
        t0.elapsed(),
        run.kernel
    );
}

//! Tests of the QEMU VM harness (`vrrp_lab::vm`): IPVS inside the guest, and keepalived 2.2.7
//! (the reference) programming it from a `virtual_server` with TCP_CHECKs.
//!
//! They need root, QEMU and the packages `scripts/test.sh` installs; when the VM cannot boot
//! they fail with the reason (they never skip).

use std::time::Instant;
use vrrp_lab::vm::{self, VmRun, VmSpec};

/// Runs `spec`, panicking with the harness's reason when there is no test status.
fn run(name: &str, spec: &VmSpec) -> VmRun {
    let r = vm::run(spec).unwrap_or_else(|e| panic!("{name}: {e}"));
    println!(
        "{name}: kernel {}, prepare {:?}, boot {:?}, total {:?}",
        r.kernel, r.prepare, r.boot_time, r.total
    );
    r
}

#[test]
fn guest_has_ipvs() {
    let spec = VmSpec::new(
        r#"
        set -e
        cat /proc/uptime
        uname -r
        test -e /proc/net/ip_vs
        ipvsadm -Ln
        ipvsadm -A -t 10.9.9.9:80 -s rr
        ipvsadm -a -t 10.9.9.9:80 -r 10.9.9.10:80 -m -w 2
        ipvsadm -Ln
        "#,
    );
    let r = run("guest_has_ipvs", &spec);
    assert_eq!(r.status, 0, "{}", r.report());
    assert!(
        r.stdout.contains("IP Virtual Server version"),
        "{}",
        r.report()
    );
    assert!(
        r.stdout.contains("TCP  10.9.9.9:80 rr") && r.stdout.contains("10.9.9.10:80"),
        "{}",
        r.report()
    );
}

#[test]
fn binaries_files_stdout_stderr_and_status() {
    let spec = VmSpec {
        binaries: vec!["/usr/bin/stat".into()],
        files: vec![
            (
                "/opt/hello.sh".into(),
                b"#!/bin/sh\necho hello from a file\n".to_vec(),
            ),
            ("/opt/data.txt".into(), b"data".to_vec()),
        ],
        ..VmSpec::new(
            "command -v stat; stat -c '%a %s' /opt/data.txt /opt/hello.sh; /opt/hello.sh; \
             echo to-stderr >&2; exit 7",
        )
    };
    let r = run("binaries_files_stdout_stderr_and_status", &spec);
    assert_eq!(r.status, 7, "{}", r.report());
    assert_eq!(
        r.stdout,
        "/usr/local/bin/stat\n644 4\n755 33\nhello from a file\n",
        "{}",
        r.report()
    );
    assert!(r.console.contains("to-stderr"), "{}", r.report());
}

/// keepalived 2.2.7's configuration: one NAT virtual server, wrr, two real servers with
/// TCP_CHECKs. `alpha`: the real servers start down, so they reach the IPVS table only once
/// their check has passed.
const KEEPALIVED_CONF: &str = "\
global_defs {
    router_id vm_director
}
virtual_server 10.0.0.100 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    alpha
    real_server 10.0.1.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            warmup 0
        }
    }
    real_server 10.0.1.12 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
            warmup 0
        }
    }
}
";

/// Client 10.0.0.2 -- director (10.0.0.1, VIP 10.0.0.100; 10.0.1.1) -- bridge -- rs1 10.0.1.11,
/// rs2 10.0.1.12, each with a busybox httpd answering its name.
const KEEPALIVED_SCRIPT: &str = r#"
set -e
vm_ns client director rs1 rs2
vm_veth client eth0 10.0.0.2/24 director eth0 10.0.0.1/24
ip -n director addr add 10.0.0.100/32 dev eth0
vm_lan rsnet
vm_join director eth1 10.0.1.1/24 rsnet
vm_join rs1 eth0 10.0.1.11/24 rsnet
vm_join rs2 eth0 10.0.1.12/24 rsnet
for ns in rs1 rs2; do ip -n $ns route add default via 10.0.1.1; done
ip -n client route add default via 10.0.0.1
vm_forward director
vm_httpd rs1 10.0.1.11 80 rs1
vm_httpd rs2 10.0.1.12 80 rs2
echo "setup done at $(cut -d' ' -f1 /proc/uptime)"

trap 'echo "--- keepalived log" >&2; cat /tmp/keepalived.log >&2' EXIT
echo "keepalived starts at $(cut -d' ' -f1 /proc/uptime)"
vm_in director keepalived -C -n -l -D -f /etc/keepalived/keepalived.conf >/tmp/keepalived.log 2>&1 &
both_up() { [ "$(vm_ipvs director | grep -c -- '->.*Masq')" -eq 2 ]; }
vm_wait 10 both_up
echo "both real servers at $(cut -d' ' -f1 /proc/uptime)"
echo "=== ipvsadm"
vm_ipvs director
echo "=== end"
for i in 1 2 3 4 5 6 7 8; do
    echo "reply $i: $(vm_http_get client 10.0.0.100 80)"
done
echo "=== connections"
vm_in director ipvsadm -Lnc
echo "done at $(cut -d' ' -f1 /proc/uptime)"
"#;

#[test]
fn keepalived_programs_ipvs_in_the_guest() {
    let t = Instant::now();
    let spec = VmSpec {
        files: vec![(
            "/etc/keepalived/keepalived.conf".into(),
            KEEPALIVED_CONF.as_bytes().to_vec(),
        )],
        ..VmSpec::new(KEEPALIVED_SCRIPT)
    };
    let r = run("keepalived_programs_ipvs", &spec);
    println!("{}", r.stdout);
    assert_eq!(r.status, 0, "{}", r.report());

    // The table keepalived programmed, as ipvsadm -Ln showed it.
    let table: Vec<&str> = r
        .stdout
        .lines()
        .skip_while(|l| *l != "=== ipvsadm")
        .skip(1)
        .take_while(|l| *l != "=== end")
        .collect();
    let services: Vec<&str> = table
        .iter()
        .copied()
        .filter(|l| l.starts_with("TCP") || l.starts_with("UDP") || l.starts_with("FWM"))
        .collect();
    assert_eq!(services, ["TCP  10.0.0.100:80 wrr"], "{}", r.report());
    let mut reals: Vec<(String, String, u32)> = table
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 6 && f[0] == "->" && f[1] != "RemoteAddress:Port").then(|| {
                (
                    f[1].to_string(),
                    f[2].to_string(),
                    f[3].parse().unwrap_or(u32::MAX),
                )
            })
        })
        .collect();
    reals.sort();
    assert_eq!(
        reals,
        [
            ("10.0.1.11:80".to_string(), "Masq".to_string(), 1),
            ("10.0.1.12:80".to_string(), "Masq".to_string(), 3)
        ],
        "{}",
        r.report()
    );

    // Eight new connections through the VIP: wrr with weights 1 and 3 sends 2 and 6.
    let replies: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("reply "))
        .filter_map(|l| l.split_once(": ").map(|(_, body)| body))
        .collect();
    assert_eq!(replies.len(), 8, "{}", r.report());
    let count = |who: &str| replies.iter().filter(|b| **b == who).count();
    assert_eq!((count("rs1"), count("rs2")), (2, 6), "{}", r.report());
    println!("keepalived_programs_ipvs: wall {:?}", t.elapsed());
}

/// The QEMU processes of this test process still alive (their command line names our run
/// folders, `vrrp-vm-<pid>-<n>`).
fn our_qemus() -> Vec<String> {
    let tag = format!("vrrp-vm-{}-", std::process::id());
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("qemu") && c.contains(&tag))
        .collect()
}

#[test]
fn a_hung_test_times_out_and_qemu_is_killed() {
    let timeout = std::time::Duration::from_secs(8);
    let spec = VmSpec {
        timeout,
        ..VmSpec::new("echo started; sleep 600")
    };
    let t = Instant::now();
    let runner = std::thread::spawn(move || vm::run(&spec));
    // The probe must see the QEMU while it runs, or its "none left" below proves nothing.
    let mut seen = false;
    while !runner.is_finished() && !seen {
        seen = !our_qemus().is_empty();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(seen, "our_qemus() never saw the running QEMU");
    match runner.join().expect("vm::run panicked") {
        Err(vm::VmError::TimedOut { booted, stdout, .. }) => {
            // Under a very heavy load the boot itself may take the 8 s: the timeout is
            // what is tested, the test's output only when it ran.
            println!("a_hung_test_times_out: booted before the timeout: {booted}");
            if booted {
                assert_eq!(stdout, "started\n");
            }
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let took = t.elapsed();
    println!("a_hung_test_times_out: wall {took:?}");
    assert!(
        took >= timeout && took < timeout + std::time::Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(our_qemus(), Vec::<String>::new());
}

#[test]
fn a_guest_dying_mid_test_is_an_error_with_the_console() {
    // Power off at once, without /init's exit marker.
    let spec = VmSpec::new("echo before; echo o >/proc/sysrq-trigger; sleep 10");
    match vm::run(&spec) {
        Err(e @ vm::VmError::BootFailed { .. }) => {
            let text = e.to_string();
            assert!(text.contains("without its exit marker"), "{text}");
            assert!(text.contains("before"), "{text}");
            assert!(
                text.contains("Power down") || text.contains("sysrq"),
                "{text}"
            );
        }
        other => panic!("expected BootFailed, got {other:?}"),
    }
}

//! Accept_Mode on a namespace LAN (RFC 5798 §6.1; keepalived's `accept` / `no_accept`):
//! host 0 is Master alone, host 1 a client that pings the VIP and connects to a TCP
//! listener of host 0. keepalived 2.2.7 runs each configuration first (the expectation),
//! then vrrpd-real:
//! - `no_accept` (VRRPv3): the VIP is installed, yet neither ping nor TCP to it is answered
//!   (keepalived: nftables table `keepalived`; ours: `vrrpd`), while host 0's own address
//!   answers both;
//! - the default (`accept`): both answered, and no table is created.
//!
//! For vrrpd-real also: a `vrrpd` table a crashed run left is deleted at start-up (before
//! the instance is Master), no table exists while Backup, the table is gone after SIGTERM,
//! and a table of another name in the namespace is left exactly as it was.

mod support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use vrrp_lab::Lab;

const PORT: u16 = 8080;

/// Runs `f` on a thread inside namespace `ns`.
fn in_ns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: setns(2) with a namespace file just opened; it changes this thread only.
        let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
}

/// A TCP listener on every address of host 0, accepting until dropped.
struct Listener(Arc<AtomicBool>);

impl Listener {
    fn start(ns: &str) -> Listener {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        in_ns(ns, move || {
            let l = TcpListener::bind(("0.0.0.0", PORT)).expect("bind");
            l.set_nonblocking(true).expect("nonblocking");
            let _ = tx.send(());
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.write_all(b"hello\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("listener up");
        Listener(stop)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Whether a TCP connection from host 1 to `addr` gets the listener's greeting (1 s).
fn tcp_answers(lab: &Lab, addr: Ipv4Addr) -> bool {
    in_ns(&lab.hosts[1].ns, move || {
        let sa = SocketAddr::new(IpAddr::V4(addr), PORT);
        let Ok(mut c) = TcpStream::connect_timeout(&sa, Duration::from_secs(1)) else {
            return false;
        };
        let _ = c.set_read_timeout(Some(Duration::from_secs(1)));
        let mut buf = [0u8; 6];
        c.read_exact(&mut buf).is_ok() && &buf == b"hello\n"
    })
    .join()
    .expect("tcp thread")
}

/// The Internet checksum.
fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Whether an ICMP echo from host 1 to `addr` is answered (two tries, 500 ms each).
fn ping_answers(lab: &Lab, addr: Ipv4Addr) -> bool {
    in_ns(&lab.hosts[1].ns, move || {
        use socket2::{Domain, Protocol, Socket, Type};
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).expect("raw icmp");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let to = SocketAddr::new(IpAddr::V4(addr), 0).into();
        for seq in 0..2u16 {
            let mut pkt = vec![8, 0, 0, 0, 0x56, 0x52, (seq >> 8) as u8, seq as u8];
            pkt.extend_from_slice(b"accept-mode-test");
            let c = checksum(&pkt);
            pkt[2..4].copy_from_slice(&c.to_be_bytes());
            s.send_to(&pkt, &to).expect("send echo");
            let end = Instant::now() + Duration::from_millis(500);
            while Instant::now() < end {
                let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
                let Ok((n, from)) = s.recv_from(&mut buf) else {
                    continue;
                };
                // SAFETY: recv_from initialised the first n bytes.
                let b: Vec<u8> = buf[..n]
                    .iter()
                    .map(|x| unsafe { x.assume_init() })
                    .collect();
                let ihl = usize::from(b[0] & 0x0f) * 4;
                let from_vip = from.as_socket().map(|a| a.ip()) == Some(IpAddr::V4(addr));
                if from_vip
                    && b.len() >= ihl + 8
                    && b[ihl] == 0
                    && b[ihl + 4..ihl + 6] == [0x56, 0x52]
                {
                    return true;
                }
            }
        }
        false
    })
    .join()
    .expect("ping thread")
}

/// `nft ARGS` in host 0's namespace; its stdout.
fn nft(lab: &Lab, args: &[&str]) -> String {
    let mut all = vec!["netns", "exec", &lab.hosts[0].ns, "nft"];
    all.extend_from_slice(args);
    vrrp_lab::sh("ip", &all)
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The (family, name) of every table in host 0's namespace.
fn tables(lab: &Lab) -> Vec<String> {
    nft(lab, &["list", "tables"])
        .lines()
        .filter_map(|l| l.strip_prefix("table "))
        .map(String::from)
        .collect()
}

/// What the client sees of a Master.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    vip_ping: bool,
    vip_tcp: bool,
    host_ping: bool,
    host_tcp: bool,
    /// The tables host 0 has while Master.
    tables: Vec<String>,
}

/// Starts `keepalived` (or vrrpd-real) on host 0 with VI_1 (`extra` in the instance),
/// waits for it to be Master, probes from host 1, stops it with SIGTERM and returns what was
/// seen, after checking that the daemon's table is gone.
fn run(lab: &Lab, dir: &std::path::Path, tag: &str, extra: &str, keepalived: bool) -> Seen {
    let vip = lab.addr(100);
    let mut inst = Inst::vi1(100, &vip.to_string(), extra);
    inst.version = 3;
    let conf = inst.text(tag, "", "");
    let pid = start_master(lab, dir, tag, &conf, keepalived, &vip.to_string());
    let ours = if keepalived {
        "ip keepalived"
    } else {
        "ip vrrpd"
    };
    // Blocked before the VIP was added: probe at once.
    let seen = Seen {
        vip_ping: ping_answers(lab, vip),
        vip_tcp: tcp_answers(lab, vip),
        host_ping: ping_answers(lab, lab.hosts[0].ip),
        host_tcp: tcp_answers(lab, lab.hosts[0].ip),
        tables: tables(lab),
    };
    lab.signal(pid, libc::SIGTERM);
    assert!(
        wait_until(Duration::from_secs(5), || !lab
            .has_addr(0, &vip.to_string())),
        "{tag}: VIP still there after SIGTERM"
    );
    assert!(
        wait_until(Duration::from_secs(5), || !tables(lab)
            .iter()
            .any(|t| t == ours)),
        "{tag}: {ours} still there after SIGTERM: {:?}\n{}",
        tables(lab),
        log(dir, tag)
    );
    seen
}

const OTHER: &str = "table inet other {
    set s {
        type ipv4_addr
        elements = { 192.0.2.1 }
    }
    chain c {
        type filter hook input priority 0; policy accept;
        ip saddr @s counter drop
    }
}
";

#[test]
fn no_accept_drops_traffic_to_the_vip_as_keepalived_does() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("accept-mode");
    ns_nft(&lab.hosts[0].ns, OTHER);
    let other_before = nft(&lab, &["list", "table", "inet", "other"]);
    let _l = Listener::start(&lab.hosts[0].ns);

    // Expectation: keepalived 2.2.7.
    let k = run(&lab, &dir, "k-noaccept", "    no_accept\n", true);
    assert_eq!(
        (k.vip_ping, k.vip_tcp, k.host_ping, k.host_tcp),
        (false, false, true, true),
        "keepalived no_accept: {k:?}\n{}",
        log(&dir, "k-noaccept")
    );
    assert!(k.tables.contains(&"ip keepalived".to_string()), "{k:?}");
    let k = run(&lab, &dir, "k-accept", "", true);
    assert_eq!(
        (k.vip_ping, k.vip_tcp, k.host_ping, k.host_tcp),
        (true, true, true, true),
        "keepalived accept: {k:?}"
    );
    assert_eq!(k.tables, ["inet other"], "keepalived accept: no table");

    // vrrpd-real, with a table of its name that a crashed run left, which drops the VIP.
    let vip = lab.addr(100).to_string();
    ns_nft(
        &lab.hosts[0].ns,
        &format!(
            "table ip vrrpd {{\n  chain in {{\n    type filter hook input priority -1; policy accept;\n    ip daddr {vip} drop\n  }}\n}}\n"
        ),
    );
    let r = run(&lab, &dir, "r-accept", "", false);
    assert_eq!(
        (r.vip_ping, r.vip_tcp, r.host_ping, r.host_tcp),
        (true, true, true, true),
        "vrrpd-real accept (old table swept at start-up): {r:?}\n{}",
        log(&dir, "r-accept")
    );
    assert_eq!(r.tables, ["inet other"], "vrrpd-real accept: no table");

    // no_accept: nothing while Backup, the table while Master.
    let conf = {
        let mut inst = Inst::vi1(100, &vip, "    no_accept\n");
        inst.version = 3;
        inst.text("r-backup", "", "")
    };
    let pid = start_daemon(&lab, 0, &dir, "r-backup", &conf);
    assert!(
        wait_until(Duration::from_secs(3), || log(&dir, "r-backup")
            .contains("INIT -> BACKUP")),
        "never Backup:\n{}",
        log(&dir, "r-backup")
    );
    let t = tables(&lab);
    assert!(
        !lab.has_addr(0, &vip),
        "still Backup while the tables were listed"
    );
    assert_eq!(t, ["inet other"], "no table while Backup");
    lab.signal(pid, libc::SIGTERM);
    let r = run(&lab, &dir, "r-noaccept", "    no_accept\n", false);
    assert_eq!(
        (r.vip_ping, r.vip_tcp, r.host_ping, r.host_tcp),
        (false, false, true, true),
        "vrrpd-real no_accept: {r:?}\n{}",
        log(&dir, "r-noaccept")
    );
    assert!(r.tables.contains(&"ip vrrpd".to_string()), "{r:?}");

    // The other table is untouched by both.
    assert_eq!(nft(&lab, &["list", "table", "inet", "other"]), other_before);
    assert_eq!(tables(&lab), ["inet other"]);
}

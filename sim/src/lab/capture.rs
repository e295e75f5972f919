//! Packet captures of a lab host: `dumpcap` on the host's interface writing classic pcap, read
//! back here without tshark, so every VRRP payload keeps its exact bytes (`sim lab --daemon
//! keepalived` derives its `tx`, `rx` and `announce` trace lines from them).
//!
//! Timestamps in a pcap file are the kernel's `CLOCK_REALTIME` at capture;
//! [`RealtimeOffset`] moves them onto the lab's `CLOCK_MONOTONIC`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use vrrp_lab::{clock, Lab};

/// IP protocol number of VRRP.
const VRRP_PROTO: u8 = 112;

/// A running `dumpcap` on one host.
pub struct Capture {
    pid: u32,
    /// The pcap file it writes.
    pub file: PathBuf,
}

impl Capture {
    /// Starts `dumpcap -P` on host `n`'s interface `ifname`, capturing VRRP, ARP and ICMPv6, and
    /// waits until it says it captures (its messages go to `file` with `.err` appended).
    pub fn start(lab: &Lab, n: usize, ifname: &str, file: &Path) -> Result<Capture, String> {
        let errf = file.with_extension("err");
        let err = std::fs::File::create(&errf).map_err(|e| format!("{}: {e}", errf.display()))?;
        let mut cmd = lab.command(n, "dumpcap");
        cmd.args(["-i", ifname, "-q", "-P", "-f"])
            .arg("ip proto 112 or ip6 proto 112 or arp or icmp6")
            .arg("-w")
            .arg(file)
            .stdout(Stdio::null())
            .stderr(err);
        let pid = lab.spawn(cmd)?;
        let end = clock::monotonic() + Duration::from_secs(10);
        loop {
            let said = std::fs::read_to_string(&errf).unwrap_or_default();
            if said.contains("Capturing on") {
                return Ok(Capture {
                    pid,
                    file: file.to_path_buf(),
                });
            }
            if clock::monotonic() > end {
                lab.signal(pid, libc::SIGKILL);
                return Err(format!("dumpcap did not start on host {n}: {said:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the capture (SIGINT: dumpcap writes what it holds and exits).
    pub fn stop(&self, lab: &Lab) {
        lab.signal(self.pid, libc::SIGINT);
    }
}

/// `CLOCK_REALTIME - CLOCK_MONOTONIC`, sampled once: a capture timestamp minus it is an
/// instant on the monotonic clock (valid while nobody steps the wall clock during the run).
#[derive(Clone, Copy, Debug)]
pub struct RealtimeOffset(pub f64);

impl RealtimeOffset {
    /// Samples both clocks several times and keeps the pair read closest together.
    pub fn sample() -> RealtimeOffset {
        let real = || {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: clock_gettime writes the timespec we own.
            unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
            ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
        };
        let mut best: Option<(f64, f64)> = None;
        for _ in 0..20 {
            let a = clock::monotonic().as_secs_f64();
            let r = real();
            let b = clock::monotonic().as_secs_f64();
            let width = b - a;
            let off = r - (a + b) / 2.0;
            if best.is_none_or(|(w, _)| width < w) {
                best = Some((width, off));
            }
        }
        RealtimeOffset(best.map_or(0.0, |(_, o)| o))
    }

    /// The monotonic instant (seconds) of realtime `t`.
    pub fn monotonic(self, t: f64) -> f64 {
        t - self.0
    }
}

/// One captured frame: its realtime timestamp (seconds) and bytes.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Capture instant, `CLOCK_REALTIME` seconds.
    pub t: f64,
    /// The Ethernet frame.
    pub data: Vec<u8>,
}

/// Reads a classic pcap file (microsecond or nanosecond, either byte order). A record cut
/// short at the end (the capture stopped while writing) ends the list.
pub fn read_pcap(path: &Path) -> Result<Vec<Frame>, String> {
    let b = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_pcap(&b).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses classic pcap bytes ([`read_pcap`]).
pub fn parse_pcap(b: &[u8]) -> Result<Vec<Frame>, String> {
    if b.len() < 24 {
        return Err("not a pcap file (shorter than its header)".into());
    }
    let magic = [b[0], b[1], b[2], b[3]];
    let (le, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        _ => return Err(format!("not a classic pcap file (magic {magic:02x?})")),
    };
    let u32at = |i: usize| {
        let w = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    let linktype = u32at(20);
    if linktype != 1 {
        return Err(format!("link type {linktype}, expected Ethernet (1)"));
    }
    let mut frames = Vec::new();
    let mut i = 24;
    while i + 16 <= b.len() {
        let (sec, frac, incl) = (u32at(i), u32at(i + 4), u32at(i + 8) as usize);
        let start = i + 16;
        let Some(data) = b.get(start..start + incl) else {
            break;
        };
        let scale = if nanos { 1e-9 } else { 1e-6 };
        frames.push(Frame {
            t: sec as f64 + frac as f64 * scale,
            data: data.to_vec(),
        });
        i = start + incl;
    }
    Ok(frames)
}

/// What a frame is, for the trace.
#[derive(Clone, Debug, PartialEq)]
pub enum Packet {
    /// A VRRP message (IPv4 or IPv6).
    Vrrp {
        /// Ethernet source.
        eth_src: [u8; 6],
        /// IP source.
        src: IpAddr,
        /// IP destination.
        dst: IpAddr,
        /// TTL / hop limit.
        ttl: u8,
        /// The VRRP message, without IP header.
        payload: Vec<u8>,
    },
    /// A gratuitous ARP (sender address = target address) or an unsolicited neighbour
    /// advertisement: an announcement of `addr`.
    Announce {
        /// Ethernet source.
        eth_src: [u8; 6],
        /// The announced address.
        addr: IpAddr,
    },
}

impl Packet {
    /// The Ethernet source.
    pub fn eth_src(&self) -> [u8; 6] {
        match self {
            Packet::Vrrp { eth_src, .. } | Packet::Announce { eth_src, .. } => *eth_src,
        }
    }
}

/// Classifies an Ethernet frame; `None` for anything but VRRP, gratuitous ARP and
/// neighbour advertisements.
pub fn classify(f: &[u8]) -> Option<Packet> {
    let eth_src: [u8; 6] = f.get(6..12)?.try_into().ok()?;
    let mut ethertype = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
    let mut p = 14;
    if ethertype == 0x8100 {
        ethertype = u16::from_be_bytes([*f.get(16)?, *f.get(17)?]);
        p = 18;
    }
    let body = f.get(p..)?;
    match ethertype {
        0x0800 => {
            let ihl = usize::from(body.first()? & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*body.get(2)?, *body.get(3)?]));
            if *body.get(9)? != VRRP_PROTO || ihl < 20 || total < ihl {
                return None;
            }
            let ip4 = |i: usize| -> Option<IpAddr> {
                let o: [u8; 4] = body.get(i..i + 4)?.try_into().ok()?;
                Some(IpAddr::V4(Ipv4Addr::from(o)))
            };
            Some(Packet::Vrrp {
                eth_src,
                src: ip4(12)?,
                dst: ip4(16)?,
                ttl: *body.get(8)?,
                payload: body.get(ihl..total)?.to_vec(),
            })
        }
        0x86dd => {
            let len = usize::from(u16::from_be_bytes([*body.get(4)?, *body.get(5)?]));
            let next = *body.get(6)?;
            let ip6 = |i: usize| -> Option<Ipv6Addr> {
                let o: [u8; 16] = body.get(i..i + 16)?.try_into().ok()?;
                Some(Ipv6Addr::from(o))
            };
            let payload = body.get(40..40 + len)?;
            match next {
                VRRP_PROTO => Some(Packet::Vrrp {
                    eth_src,
                    src: IpAddr::V6(ip6(8)?),
                    dst: IpAddr::V6(ip6(24)?),
                    ttl: *body.get(7)?,
                    payload: payload.to_vec(),
                }),
                // ICMPv6 type 136: neighbour advertisement, target at offset 8.
                58 if payload.first() == Some(&136) => {
                    let t: [u8; 16] = payload.get(8..24)?.try_into().ok()?;
                    Some(Packet::Announce {
                        eth_src,
                        addr: IpAddr::V6(Ipv6Addr::from(t)),
                    })
                }
                _ => None,
            }
        }
        0x0806 => {
            // Ethernet/IPv4 ARP: sender protocol address at 14, target at 24.
            let spa: [u8; 4] = body.get(14..18)?.try_into().ok()?;
            let tpa: [u8; 4] = body.get(24..28)?.try_into().ok()?;
            (spa == tpa).then(|| Packet::Announce {
                eth_src,
                addr: IpAddr::V4(Ipv4Addr::from(spa)),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(ethertype: u16, body: &[u8]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(body);
        f
    }

    #[test]
    fn an_ipv4_vrrp_frame_keeps_its_payload_ttl_and_addresses() {
        let payload = [0x21, 51, 100, 1, 0, 1, 0xaa, 0xbb, 172, 20, 0, 100];
        let mut ip = vec![
            0x45,
            0xc0,
            0,
            (20 + payload.len()) as u8,
            0,
            0,
            0,
            0,
            255,
            112,
        ];
        ip.extend_from_slice(&[0, 0, 172, 20, 0, 11, 224, 0, 0, 18]);
        ip.extend_from_slice(&payload);
        ip.extend_from_slice(&[0; 6]); // Ethernet padding after the IP packet
        let p = classify(&eth(0x0800, &ip)).unwrap();
        assert_eq!(
            p,
            Packet::Vrrp {
                eth_src: [2, 0, 0, 0, 0, 1],
                src: "172.20.0.11".parse().unwrap(),
                dst: "224.0.0.18".parse().unwrap(),
                ttl: 255,
                payload: payload.to_vec(),
            }
        );
    }

    #[test]
    fn a_gratuitous_arp_is_an_announcement_and_a_plain_request_is_not() {
        let arp = |spa: [u8; 4], tpa: [u8; 4]| {
            let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1];
            a.extend_from_slice(&spa);
            a.extend_from_slice(&[0; 6]);
            a.extend_from_slice(&tpa);
            eth(0x0806, &a)
        };
        assert_eq!(
            classify(&arp([172, 20, 0, 100], [172, 20, 0, 100])),
            Some(Packet::Announce {
                eth_src: [2, 0, 0, 0, 0, 1],
                addr: "172.20.0.100".parse().unwrap()
            })
        );
        assert_eq!(classify(&arp([172, 20, 0, 11], [172, 20, 0, 12])), None);
    }

    #[test]
    fn pcap_records_are_read_in_both_resolutions_and_a_cut_record_ends_the_list() {
        let mut b = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&65535u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        for (sec, us, data) in [(10u32, 250_000u32, vec![1u8, 2, 3]), (11, 5, vec![4])] {
            b.extend_from_slice(&sec.to_le_bytes());
            b.extend_from_slice(&us.to_le_bytes());
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(&data);
        }
        let full = parse_pcap(&b).unwrap();
        assert_eq!(full.len(), 2);
        assert_eq!(full[0].t, 10.25);
        assert_eq!(full[1].data, vec![4]);
        let cut = parse_pcap(&b[..b.len() - 1]).unwrap();
        assert_eq!(cut.len(), 1);
        let mut ns = b.clone();
        ns[..4].copy_from_slice(&[0x4d, 0x3c, 0xb2, 0xa1]);
        assert!((parse_pcap(&ns).unwrap()[0].t - 10.00025).abs() < 1e-9);
    }
}

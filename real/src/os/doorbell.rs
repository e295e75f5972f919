//! Receive coalescing for Backups: the priority-0 doorbell.
//!
//! A host whose instances are all Backups needs no advert promptly but one: a Backup's advert
//! only restarts its Master_Down_Timer from the advert's arrival time (RFC 5798 §6.4.2), which
//! the kernel stamps (`SO_TIMESTAMPNS`), and the driver reads queued adverts before it runs a
//! timer. The exception is priority 0 (a Master leaving): the Backup must take over after
//! Skew_Time, which can be shorter than any coalescing window. So while its VRRP sockets are
//! parked ([`super::socket::VrrpSocket::park`]) the daemon listens on a doorbell: a second
//! raw VRRP socket per interface and family whose classic BPF filter keeps only datagrams
//! with priority 0. The doorbell's datagrams are only a wake-up; the advert itself is read
//! from the VRRP socket, in order with the others.
//!
//! Why: a Backup of 255 instances at 10 ms woke for every one or two adverts (about 12,000
//! wake-ups a second), and half its CPU was the wake-up itself (`perf`, BENCHMARKS.md).

use socket2::{SockFilter, Socket};
use std::io;
use std::mem::MaybeUninit;
use std::task::{Context, Poll};
use tokio::io::unix::AsyncFd;
use vrrp_engine::Family;

/// Offset of the priority in the VRRP header (RFC 5798 §5.1, RFC 3768 §5.1).
const PRIORITY_OFFSET: u32 = 2;

/// `BPF_STMT` / `BPF_JUMP` opcodes as `u16` (libc gives them as `u32`).
const fn op(code: u32) -> u16 {
    code as u16
}

/// The filter: accept (whole) datagrams whose VRRP priority byte is 0, drop the rest. Raw
/// IPv4 sockets see the IP header first (its length from the IHL, `BPF_MSH`); raw IPv6
/// sockets see the VRRP header first.
fn priority_zero_filter(family: Family) -> Vec<SockFilter> {
    use libc::{
        BPF_ABS, BPF_B, BPF_IND, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_LDX, BPF_MSH, BPF_RET,
    };
    let load = match family {
        // X = 4 * (P[0] & 0xf): the IPv4 header's length; A = P[X + 2].
        Family::Ipv4 => vec![
            SockFilter::new(op(BPF_LDX | BPF_B | BPF_MSH), 0, 0, 0),
            SockFilter::new(op(BPF_LD | BPF_B | BPF_IND), 0, 0, PRIORITY_OFFSET),
        ],
        Family::Ipv6 => vec![SockFilter::new(
            op(BPF_LD | BPF_B | BPF_ABS),
            0,
            0,
            PRIORITY_OFFSET,
        )],
    };
    let mut prog = load;
    prog.extend([
        // A == 0: the next instruction (accept), else skip it (drop).
        SockFilter::new(op(BPF_JMP | BPF_JEQ | BPF_K), 0, 1, 0),
        SockFilter::new(op(BPF_RET | BPF_K), 0, 0, u32::MAX),
        SockFilter::new(op(BPF_RET | BPF_K), 0, 0, 0),
    ]);
    prog
}

/// A raw VRRP socket that only priority-0 datagrams reach.
pub struct Doorbell {
    fd: AsyncFd<Socket>,
}

impl Doorbell {
    /// Opens the doorbell of `family` on interface `ifname` (index `ifindex`). Must be
    /// called inside a tokio runtime.
    pub fn open(ifname: &str, ifindex: u32, family: Family) -> io::Result<Doorbell> {
        let sock = super::socket::open_raw(ifname, ifindex, family)?;
        sock.attach_filter(&priority_zero_filter(family))?;
        // Whatever arrived between the socket's creation and the filter: not ours to keep.
        drain(&sock)?;
        let fd = super::socket::register(sock).map_err(|(_, e)| e)?;
        Ok(Doorbell { fd })
    }

    /// Ready once a priority-0 datagram has arrived since the last ring; empties the queue.
    pub fn poll_rung(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut guard = match self.fd.poll_read_ready(cx) {
                Poll::Ready(Ok(g)) => g,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            let rung = drain(guard.get_inner())?;
            guard.clear_ready();
            if rung {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

/// Reads (and drops) every queued datagram; whether there was one.
fn drain(sock: &Socket) -> io::Result<bool> {
    let mut buf = [MaybeUninit::<u8>::uninit(); 64];
    let mut any = false;
    loop {
        match sock.recv(&mut buf) {
            Ok(_) => any = true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(any),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

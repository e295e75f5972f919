//! Probes: what the engine asks a driver to try against a real server
//! ([`crate::Output::RunProbe`]) and what the driver reports back
//! ([`crate::Input::ProbeResult`]). The driver only performs the I/O; every verdict (status
//! code lists, digests, `misc_dynamic` weights, retries) is the engine's.

use core::net::{IpAddr, SocketAddr};
use core::time::Duration;
use serde::{Deserialize, Serialize};

/// Index of a checker in the engine's checker table (stable across reloads for a checker
/// that is kept; never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CheckerId(pub u32);

/// Connection options of a checker (keepalived's `conn_opts_t`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connect {
    /// Where to connect (`connect_ip`/`connect_port`, default the real server's).
    pub dst: SocketAddr,
    /// Source address (`bindto`) and port (`bind_port`), if set.
    pub bind: Option<SocketAddr>,
    /// Interface to bind to (`bind_if`), if set.
    pub bind_if: Option<String>,
    /// `SO_MARK` for the probe's socket (`fwmark`), if set.
    pub fwmark: Option<u32>,
    /// Time allowed for the connection and for each step after it (`connect_timeout`).
    pub timeout: Duration,
}

/// HTTP version and connection header of an HTTP probe (`http_protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpVersion {
    /// `GET ... HTTP/1.0` (keepalived's default).
    Http10,
    /// `HTTP/1.0` with `Connection: close` (`http_protocol 1.0C`).
    Http10Close,
    /// `HTTP/1.1` with `Connection: close` (`http_protocol 1.1`).
    Http11,
}

/// One probe to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Probe {
    /// `TCP_CHECK`: open a TCP connection and close it.
    Tcp {
        /// Where and how.
        connect: Connect,
    },
    /// `HTTP_GET` / `SSL_GET`: one GET of one `url { }`, the whole body read.
    Http {
        /// Where and how.
        connect: Connect,
        /// TLS (`SSL_GET`, rustls in the daemon; the server certificate is not verified,
        /// as keepalived does not without `ssl { ca }`).
        tls: bool,
        /// Server name to send in the TLS handshake (`enable_sni`), if any.
        sni: Option<String>,
        /// The request path.
        path: String,
        /// `Host:` header value: the `virtualhost` in force, else `ADDR:PORT`
        /// (`[ADDR]:PORT` for IPv6).
        host: String,
        /// Version and `Connection: close`.
        version: HttpVersion,
    },
    /// `MISC_CHECK`: run a command; its exit status is the verdict.
    Misc {
        /// The command line (`misc_path`), run as keepalived runs scripts.
        command: String,
        /// Kill it (SIGTERM, then SIGKILL) after this long (`misc_timeout`, default the
        /// virtual server's `delay_loop`).
        timeout: Duration,
        /// `user USER [GROUP]` to run as, if set.
        user: Option<String>,
    },
}

impl Probe {
    /// Where the probe goes: the connection's destination, or `None` for a script.
    pub fn target(&self) -> Option<SocketAddr> {
        match self {
            Probe::Tcp { connect } | Probe::Http { connect, .. } => Some(connect.dst),
            Probe::Misc { .. } => None,
        }
    }

    /// The source address the probe binds to, if any.
    pub fn source(&self) -> Option<IpAddr> {
        match self {
            Probe::Tcp { connect } | Probe::Http { connect, .. } => connect.bind.map(|b| b.ip()),
            Probe::Misc { .. } => None,
        }
    }
}

/// What came of one probe, as the driver saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ProbeResult {
    /// TCP: the connection was established (then closed).
    Connected,
    /// The connection failed: refused (RST), unreachable, reset, or any error `connect`
    /// reported other than a timeout.
    Refused,
    /// No answer within the timeout (connection, TLS handshake, request or a read).
    Timeout,
    /// HTTP: a response was read to the end of the stream, as keepalived reads it (raw bytes
    /// to EOF; the header ends at the first empty line, CRLF CRLF).
    Http {
        /// The status code as keepalived reads it: the three digits between the first two
        /// spaces of the status line (0 if they are not there: keepalived then fails).
        status: u16,
        /// MD5 of the body as sent (a chunked body is not decoded), of its first
        /// `Content-Length` bytes if the header says so: what `genhash` prints.
        body_md5: [u8; 16],
        /// Body length in bytes: everything after the header up to EOF (0 is a success for
        /// keepalived if the status and digest are).
        body_len: u64,
    },
    /// HTTP: no response: the stream ended or broke before the end of the header (or the
    /// header exceeded keepalived's 4095-byte buffer), a plain read error (reset) came before
    /// EOF, or TLS failed (handshake, write). keepalived counts these as failures.
    Broken,
    /// MISC: the command exited with this status.
    Exit(u8),
    /// MISC: the command was still running at its timeout and died of the SIGTERM or SIGKILL
    /// sent then.
    Killed,
    /// MISC: the command died of a signal we did not send.
    Signaled,
    /// The probe could not be attempted: for a connection, the socket, `fwmark`, `bind_if` or
    /// the bind failed, or `connect` failed at once with an error other than refused,
    /// unreachable, down, reset, aborted or timed out (a blackhole route's EINVAL, a
    /// firewall's EPERM): keepalived logs "bind failed. Rescheduling" and tries again after
    /// `delay_loop`, with no verdict and no retry counted. For a script: it could not be
    /// started or its user could not be resolved (keepalived's child then exits 0).
    NotRun,
}

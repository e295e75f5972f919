//! Real-server probes: the I/O behind the engine's [`vrrp_engine::Output::RunProbe`]
//! (`TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `MISC_CHECK`), reported back as a [`ProbeResult`].
//! Every verdict is the engine's; this module reports what happened, the way keepalived
//! 2.2.7's checkers see it:
//!
//! - Connections (`check_tcp.c`, `layer4.c`): a non-blocking socket with `SO_MARK`
//!   (`fwmark`), `SO_BINDTODEVICE` (`bind_if`) and the bind address set before `connect`,
//!   then at most `connect_timeout` for the connection. An error when setting up the socket,
//!   or an immediate `connect` error outside keepalived's list (refused, unreachable, down,
//!   reset, aborted, timed out), is [`ProbeResult::NotRun`]: keepalived reschedules those
//!   without a verdict.
//! - HTTP (`check_http.c`, `lib/html.c`): not an HTTP client but keepalived's byte-level
//!   reading, so that digests match `genhash`'s: the request keepalived builds, then raw
//!   reads to EOF (`connect_timeout` for each read); the header ends at the first CRLF CRLF
//!   within 4095 bytes, the status is the three digits between the first two spaces, the
//!   MD5 covers the body bytes as sent (a chunked body is hashed with its chunk lines),
//!   capped at the first `Content-Length:` found. A plain read error is a failure.
//! - TLS (`check_ssl.c`): rustls with the `ring` provider; the certificate is not verified
//!   and sessions are not resumed (one full handshake per probe, as keepalived does); SNI
//!   only when the engine gives a name. The handshake shares the connection's deadline; once
//!   the socket is readable after the request, all the reads share one deadline of
//!   `connect_timeout`; any TLS read error ends the stream like EOF, as `ssl_read_thread`
//!   does.
//! - Scripts (`check_misc.c`): [`scripts::run_script`], the same runner as `vrrp_script`.

use super::scripts::{self, RunAs, ScriptExit};
use md5::{Digest, Md5};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_rustls::TlsConnector;
use vrrp_engine::lvs::{Connect, HttpVersion, Probe, ProbeResult};

/// keepalived's `MAX_BUFFER_LENGTH` less the byte it keeps for a terminating NUL: the
/// response header must end within this many bytes.
const MAX_HEADER: usize = 4095;
/// keepalived's `GET_BUFFER_LENGTH` less its NUL: a longer request is cut there.
const MAX_REQUEST: usize = 2047;

/// Runs one probe; `script_user` is who a `MISC_CHECK` without its own `user` runs as
/// (`None`: root).
pub async fn run(probe: &Probe, script_user: Option<RunAs>) -> ProbeResult {
    match probe {
        Probe::Tcp { connect: c } => match connect(c).await {
            // Connected: closed at once.
            Ok(_) => ProbeResult::Connected,
            Err(r) => r,
        },
        Probe::Http {
            connect: c,
            tls,
            sni,
            path,
            host,
            version,
        } => {
            let req = request(path, host, *version);
            http(c, *tls, sni.as_deref(), &req).await
        }
        Probe::Misc {
            command,
            timeout,
            user,
        } => misc(command, *timeout, user.as_deref(), script_user).await,
    }
}

/// The request keepalived's `http_request_thread` sends.
fn request(path: &str, host: &str, version: HttpVersion) -> Vec<u8> {
    let (minor, close) = match version {
        HttpVersion::Http10 => (0, false),
        HttpVersion::Http10Close => (0, true),
        HttpVersion::Http11 => (1, true),
    };
    let close = if close { "Connection: close\r\n" } else { "" };
    let mut req = format!(
        "GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: {host}\r\n\r\n"
    )
    .into_bytes();
    // keepalived formats it with snprintf into a fixed buffer.
    req.truncate(MAX_REQUEST);
    req
}

/// The socket as keepalived's `socket_bind_connect` prepares it.
fn socket(c: &Connect) -> io::Result<Socket> {
    let s = Socket::new(
        Domain::for_address(c.dst),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    s.set_nonblocking(true)?;
    if let Some(mark) = c.fwmark.filter(|&m| m != 0) {
        s.set_mark(mark)?;
    }
    if let Some(dev) = &c.bind_if {
        s.bind_device(Some(dev.as_bytes()))?;
    }
    if let Some(b) = c.bind {
        s.bind(&b.into())?;
    }
    Ok(s)
}

/// An immediate `connect` error: a failed connection if keepalived counts it as one
/// (`connect_fail`), else the probe did not run (`connect_error`).
fn immediate(e: &io::Error) -> ProbeResult {
    match e.raw_os_error() {
        Some(
            libc::ENETUNREACH
            | libc::EHOSTUNREACH
            | libc::ECONNREFUSED
            | libc::EHOSTDOWN
            | libc::ENETDOWN
            | libc::ECONNRESET
            | libc::ECONNABORTED
            | libc::ETIMEDOUT,
        ) => ProbeResult::Refused,
        _ => ProbeResult::NotRun,
    }
}

/// Connects within `c.timeout`; the deadline is returned for the TLS handshake, which
/// shares it.
async fn connect(c: &Connect) -> Result<(TcpStream, Instant), ProbeResult> {
    let deadline = Instant::now() + c.timeout;
    let sock = socket(c).map_err(|e| {
        tracing::warn!("probe socket to {}: {e}: not run", c.dst);
        ProbeResult::NotRun
    })?;
    match sock.connect(&c.dst.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => {
            let r = immediate(&e);
            if r == ProbeResult::NotRun {
                tracing::warn!("probe connect to {}: {e}: not run", c.dst);
            } else {
                tracing::debug!("probe connect to {}: {e}", c.dst);
            }
            return Err(r);
        }
    }
    let stream = TcpStream::from_std(sock.into()).map_err(|e| {
        tracing::warn!("probe socket to {}: {e}: not run", c.dst);
        ProbeResult::NotRun
    })?;
    loop {
        match timeout_at(deadline, stream.writable()).await {
            Err(_) => return Err(ProbeResult::Timeout),
            Ok(Err(e)) => {
                tracing::debug!("probe connect to {}: {e}", c.dst);
                return Err(ProbeResult::Refused);
            }
            Ok(Ok(())) => {}
        }
        // keepalived's `socket_state`: SO_ERROR decides.
        match stream.take_error() {
            Ok(None) => {}
            Ok(Some(e)) | Err(e) => {
                tracing::debug!("probe connect to {}: {e}", c.dst);
                return Err(if e.raw_os_error() == Some(libc::ETIMEDOUT) {
                    ProbeResult::Timeout
                } else {
                    ProbeResult::Refused
                });
            }
        }
        match stream.peer_addr() {
            Ok(_) => return Ok((stream, deadline)),
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {
                // Woken early: still connecting.
                let _ = stream.try_io(Interest::WRITABLE, || {
                    Err::<(), _>(io::ErrorKind::WouldBlock.into())
                });
            }
            Err(e) => {
                tracing::debug!("probe connect to {}: {e}", c.dst);
                return Err(ProbeResult::Refused);
            }
        }
    }
}

/// `HTTP_GET` / `SSL_GET` of one URL: connect, (handshake,) send `req`, read to EOF.
async fn http(c: &Connect, tls: bool, sni: Option<&str>, req: &[u8]) -> ProbeResult {
    let (tcp, deadline) = match connect(c).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !tls {
        return exchange(tcp, req, c.timeout).await;
    }
    let name = server_name(sni, c.dst.ip());
    match timeout_at(deadline, tls_connector().connect(name, tcp)).await {
        Err(_) => ProbeResult::Timeout,
        Ok(Err(e)) => {
            tracing::debug!("probe TLS handshake with {}: {e}", c.dst);
            ProbeResult::Broken
        }
        Ok(Ok(s)) => exchange(s, req, c.timeout).await,
    }
}

/// A connection to send a request on: plain TCP, or TLS over it.
trait Transport: AsyncRead + AsyncWrite + Unpin {
    /// Whether it is TLS.
    const TLS: bool;
    /// The TCP connection underneath.
    fn tcp(&self) -> &TcpStream;
}

impl Transport for TcpStream {
    const TLS: bool = false;
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Transport for tokio_rustls::client::TlsStream<TcpStream> {
    const TLS: bool = true;
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// Sends the request and reads the response as keepalived does (see the module doc).
async fn exchange<S: Transport>(mut s: S, req: &[u8], step: Duration) -> ProbeResult {
    let sent = timeout(step, async {
        s.write_all(req).await?;
        s.flush().await
    })
    .await;
    match sent {
        Err(_) => return ProbeResult::Timeout,
        Ok(Err(e)) => {
            tracing::debug!("probe request: {e}");
            return ProbeResult::Broken;
        }
        Ok(Ok(())) => {}
    }
    // `http_response_thread`: the socket must become readable within the timeout. Over TLS
    // every read after that shares one deadline (`ssl_read_thread` rearms with what is left;
    // a TLS 1.3 session ticket is enough to start it); plain reads get the whole timeout each.
    if timeout(step, s.tcp().readable()).await.is_err() {
        return ProbeResult::Timeout;
    }
    let tls_deadline = S::TLS.then(|| Instant::now() + step);
    let mut reply = Reply::default();
    let mut buf = vec![0u8; MAX_HEADER];
    loop {
        let room = if reply.extracted {
            buf.len()
        } else {
            MAX_HEADER - reply.head.len()
        };
        if room == 0 {
            // keepalived's buffer is full without the end of the header: its next read
            // asks for 0 bytes, gets 0 and takes it for EOF.
            return reply.finish();
        }
        let limit = tls_deadline.unwrap_or_else(|| Instant::now() + step);
        let n = match timeout_at(limit, s.read(&mut buf[..room])).await {
            Err(_) => return ProbeResult::Timeout,
            Ok(Ok(n)) => n,
            // `ssl_read_thread` ends the stream on any TLS error.
            Ok(Err(e)) if S::TLS => {
                tracing::debug!("probe TLS read: {e}: end of stream");
                0
            }
            Ok(Err(e)) => {
                tracing::debug!("probe read: {e}");
                return ProbeResult::Broken;
            }
        };
        if n == 0 {
            return reply.finish();
        }
        reply.feed(&buf[..n]);
    }
}

/// A response being read (keepalived's `request_t` and `http_process_response`).
#[derive(Default)]
struct Reply {
    /// The bytes read until the end of the header was found (with the first body bytes).
    head: Vec<u8>,
    /// Whether the end of the header was found.
    extracted: bool,
    status: u16,
    content_len: Option<u64>,
    md5: Md5,
    body_len: u64,
}

impl Reply {
    fn feed(&mut self, data: &[u8]) {
        if self.extracted {
            self.body(data);
            return;
        }
        self.head.extend_from_slice(data);
        if let Some(end) = header_end(&self.head) {
            self.extracted = true;
            self.status = status_code(&self.head);
            self.content_len = content_length(&self.head);
            let head = std::mem::take(&mut self.head);
            self.body(&head[end..]);
        }
    }

    fn body(&mut self, data: &[u8]) {
        let hashed = match self.content_len {
            None => data.len(),
            Some(cl) => (cl.saturating_sub(self.body_len)).min(data.len() as u64) as usize,
        };
        self.md5.update(&data[..hashed]);
        self.body_len += data.len() as u64;
    }

    fn finish(self) -> ProbeResult {
        if !self.extracted {
            // keepalived: "Read, no data received".
            return ProbeResult::Broken;
        }
        ProbeResult::Http {
            status: self.status,
            body_md5: self.md5.finalize().into(),
            body_len: self.body_len,
        }
    }
}

/// Where the body starts: after the first CRLF CRLF (`extract_html`).
fn header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// `extract_status_code`: the three characters after the first space, followed by a space,
/// as a number; 0 otherwise.
fn status_code(buf: &[u8]) -> u16 {
    let Some(sp) = buf.iter().position(|&b| b == b' ' || b == b'\r') else {
        return 0;
    };
    if buf[sp] != b' ' {
        return 0;
    }
    let code = &buf[sp + 1..];
    if code.len() <= 3 || code[0] == b' ' || code[3] != b' ' {
        return 0;
    }
    let digits = match code[0] {
        b'+' => &code[1..3],
        _ => &code[..3],
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return 0;
    }
    digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'))
}

/// `extract_content_length`: the number after the first `Content-Length:` (matched exactly,
/// searched up to the first NUL, as `strstr` does), if a line end follows it.
fn content_length(buf: &[u8]) -> Option<u64> {
    const TAG: &[u8] = b"Content-Length:";
    let hay = &buf[..buf.iter().position(|&b| b == 0).unwrap_or(buf.len())];
    let at = hay.windows(TAG.len()).position(|w| w == TAG)? + TAG.len();
    // strtoul: leading white space, an optional sign, digits; with no digits it stops
    // where it started.
    let rest = &hay[at..];
    let ws = rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .count();
    let signed = usize::from(rest.get(ws) == Some(&b'+'));
    let ndigits = rest[ws + signed..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let (value, end) = if ndigits == 0 {
        (0, 0)
    } else {
        let digits = &rest[ws + signed..ws + signed + ndigits];
        let value = digits.iter().try_fold(0u64, |n, d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        });
        // On overflow strtoul gives ULONG_MAX: keepalived's "no length".
        (value?, ws + signed + ndigits)
    };
    match rest.get(end) {
        None | Some(b'\r' | b'\n') => Some(value),
        _ => None,
    }
}

/// The name to send as SNI, if any (rustls sends none for an address).
fn server_name(sni: Option<&str>, ip: IpAddr) -> ServerName<'static> {
    match sni.map(|n| ServerName::try_from(n.to_owned())) {
        Some(Ok(name @ ServerName::DnsName(_))) => name,
        Some(_) => {
            tracing::debug!("probe SNI {sni:?} is not a DNS name: none sent");
            ServerName::IpAddress(ip.into())
        }
        None => ServerName::IpAddress(ip.into()),
    }
}

/// The one TLS client configuration of every `SSL_GET`.
fn tls_connector() -> TlsConnector {
    static CONNECTOR: OnceLock<TlsConnector> = OnceLock::new();
    CONNECTOR
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let schemes = provider
                .signature_verification_algorithms
                .supported_schemes();
            let mut config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("the ring provider supports TLS 1.2 and 1.3")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(schemes)))
                .with_no_client_auth();
            config.resumption = rustls::client::Resumption::disabled();
            TlsConnector::from(Arc::new(config))
        })
        .clone()
}

/// keepalived's `SSL_GET` verifies nothing (`SSL_VERIFY_NONE`): any certificate, and no
/// signature check either, since nothing is trusted that it would protect.
#[derive(Debug)]
struct AnyCertificate(Vec<SignatureScheme>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.clone()
    }
}

/// `MISC_CHECK`: the script's own `user`, else `script_user`.
async fn misc(
    command: &str,
    limit: Duration,
    user: Option<&str>,
    script_user: Option<RunAs>,
) -> ProbeResult {
    let run_as = match user {
        None => script_user,
        Some(u) => match scripts::resolve_user(Some(u)) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("MISC_CHECK {command:?}: {e}: not run");
                return ProbeResult::NotRun;
            }
        },
    };
    match scripts::run_script(command, run_as, limit).await {
        ScriptExit::Exited(code) => ProbeResult::Exit(code),
        ScriptExit::TimedOut => ProbeResult::Killed,
        ScriptExit::Signaled(_) => ProbeResult::Signaled,
        ScriptExit::NotStarted => ProbeResult::NotRun,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_keepalived_s() {
        assert_eq!(
            request("/a?b", "10.0.0.1:80", HttpVersion::Http10),
            b"GET /a?b HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.1:80\r\n\r\n"
        );
        assert_eq!(
            request("/", "www", HttpVersion::Http10Close),
            b"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www\r\n\r\n"
        );
        assert_eq!(
            request("/", "[::1]:8080", HttpVersion::Http11),
            b"GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [::1]:8080\r\n\r\n"
        );
        assert_eq!(
            request(&"x".repeat(3000), "h", HttpVersion::Http10).len(),
            MAX_REQUEST
        );
    }

    #[test]
    fn status_code_as_extract_status_code() {
        assert_eq!(status_code(b"HTTP/1.1 200 OK\r\n"), 200);
        assert_eq!(status_code(b"HTTP/1.0 503 \r\n"), 503);
        // No reason phrase: keepalived finds no space after the code.
        assert_eq!(status_code(b"HTTP/1.1 200\r\n\r\n"), 0);
        assert_eq!(status_code(b"HTTP/1.1  200 OK\r\n"), 0);
        assert_eq!(status_code(b"HTTP/1.1 2x0 OK\r\n"), 0);
        assert_eq!(status_code(b"HTTP/1.1\r\n 200 OK"), 0);
        assert_eq!(status_code(b"garbage"), 0);
        assert_eq!(status_code(b"ICY 200 OK\r\n"), 200);
    }

    #[test]
    fn content_length_as_extract_content_length() {
        assert_eq!(
            content_length(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n"),
            Some(12)
        );
        assert_eq!(
            content_length(b"HTTP/1.1 200 OK\r\nContent-Length:7\n"),
            Some(7)
        );
        // Case matters to strstr.
        assert_eq!(
            content_length(b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n"),
            None
        );
        assert_eq!(content_length(b"Content-Length: 12x\r\n"), None);
        assert_eq!(content_length(b"Content-Length: x\r\n"), None);
        // No digits and a line end right after the colon: strtoul's 0.
        assert_eq!(content_length(b"Content-Length:\r\n"), Some(0));
        // Not past a NUL.
        assert_eq!(content_length(b"X\0Content-Length: 3\r\n"), None);
        assert_eq!(
            content_length(b"Content-Length: 99999999999999999999999\r\n"),
            None
        );
    }

    #[test]
    fn reply_hashes_the_body_as_sent_up_to_content_length() {
        let mut r = Reply::default();
        r.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab");
        r.feed(b"cdef");
        let ProbeResult::Http {
            status,
            body_md5,
            body_len,
        } = r.finish()
        else {
            panic!("no reply")
        };
        assert_eq!((status, body_len), (200, 6));
        assert_eq!(body_md5, <[u8; 16]>::from(Md5::digest(b"abc")));

        let mut r = Reply::default();
        r.feed(b"HTTP/1.1 200 OK\r\n");
        assert_eq!(r.finish(), ProbeResult::Broken);
    }
}

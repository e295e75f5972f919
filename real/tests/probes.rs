//! Real-server probes (`vrrp_real::os::probes`) against real servers: each test that opens
//! a connection builds its own network namespace (only `lo`), runs the servers and the
//! probes on its 127.0.0.1 from a thread inside it, and deletes it at the end (also when the
//! test fails). Nothing is sent anywhere else; no address or link is added outside it.
//!
//! Digests are compared with keepalived's own `genhash` run in the same namespace, requests
//! with the bytes `genhash` sends. Needs root, `genhash` (keepalived) and nginx, `nft`.

mod support;

use md5::{Digest, Md5};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{assert_root, tmpdir};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vrrp_engine::lvs::{Connect, HttpVersion, Probe, ProbeResult};
use vrrp_lab::Netns;
use vrrp_real::os::probes;
use vrrp_real::os::scripts::RunAs;

/// Runs `body` on a current-thread runtime inside a fresh namespace; `body` gets its name.
fn in_netns<T: Send, F: Future<Output = T>>(body: impl FnOnce(String) -> F + Send) -> T {
    assert_root();
    let ns = Netns::new().expect("namespace");
    let name = ns.name.clone();
    ns.run(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(body(name))
    })
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn connect(port: u16, timeout_ms: u64) -> Connect {
    Connect {
        dst: loopback(port),
        bind: None,
        bind_if: None,
        fwmark: None,
        timeout: Duration::from_millis(timeout_ms),
    }
}

fn tcp(c: Connect) -> Probe {
    Probe::Tcp { connect: c }
}

fn get(port: u16, path: &str, version: HttpVersion) -> Probe {
    Probe::Http {
        connect: connect(port, 1000),
        tls: false,
        sni: None,
        path: path.into(),
        host: format!("127.0.0.1:{port}"),
        version,
    }
}

fn with_host(mut p: Probe, vhost: &str) -> Probe {
    if let Probe::Http { host, .. } = &mut p {
        *host = vhost.into();
    }
    p
}

fn with_tls(mut p: Probe, name: Option<&str>) -> Probe {
    if let Probe::Http { tls, sni, .. } = &mut p {
        *tls = true;
        *sni = name.map(Into::into);
    }
    p
}

fn with_timeout(mut p: Probe, ms: u64) -> Probe {
    if let Probe::Http { connect, .. } | Probe::Tcp { connect } = &mut p {
        connect.timeout = Duration::from_millis(ms);
    }
    p
}

fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// `genhash ARGS` inside namespace `ns` (`ip netns exec`): the digest it prints, or its
/// stderr.
async fn genhash(ns: &str, args: &[&str]) -> Result<String, String> {
    let out = tokio::process::Command::new("ip")
        .args(["netns", "exec", ns, "genhash", "-t", "3"])
        .args(args)
        .output()
        .await
        .map_err(|e| format!("genhash: {e} (it ships with keepalived)"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() && stdout.len() == 32 {
        Ok(stdout)
    } else {
        Err(format!(
            "genhash {args:?}: {} {stdout:?} {:?}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The digest our probe computed, as `genhash` prints it; panics on anything else.
fn digest_of(r: &ProbeResult) -> String {
    match r {
        ProbeResult::Http { body_md5, .. } => hex(body_md5),
        other => panic!("no HTTP reply: {other:?}"),
    }
}

// ---- a tiny HTTP(S) server -------------------------------------------------------------

/// One request the server read.
#[derive(Clone, Debug)]
struct Seen {
    /// The request bytes up to the end of its header.
    raw: Vec<u8>,
    /// The TLS server name the client sent, if any.
    sni: Option<String>,
}

impl Seen {
    fn host(&self) -> Option<String> {
        String::from_utf8_lossy(&self.raw)
            .lines()
            .find_map(|l| l.strip_prefix("Host: ").map(str::to_string))
    }

    fn path(&self) -> String {
        let text = String::from_utf8_lossy(&self.raw).to_string();
        text.split(' ').nth(1).unwrap_or_default().to_string()
    }
}

/// What the server does with a request.
enum Answer {
    /// Write these bytes and close (TLS: with close_notify).
    Reply(Vec<u8>),
    /// TLS: write these bytes and close the TCP connection without close_notify.
    ReplyNoCloseNotify(Vec<u8>),
    /// Write these bytes, then neither write nor close.
    ReplyThenHold(Vec<u8>),
    /// Write the pieces with a pause before each, then close.
    Trickle(Vec<Vec<u8>>, Duration),
    /// Write these bytes, then reset the connection.
    ReplyThenReset(Vec<u8>),
    /// Close without a word.
    Close,
    /// Never answer.
    Hold,
}

type Handler = Arc<dyn Fn(&Seen) -> Answer + Send + Sync>;

fn http_reply(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status}\r\n{headers}\r\n").into_bytes();
    r.extend_from_slice(body);
    r
}

/// A response with `Content-Length`.
fn ok(body: &[u8]) -> Answer {
    Answer::Reply(http_reply(
        "200 OK",
        &format!("Content-Length: {}\r\n", body.len()),
        body,
    ))
}

struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Starts serving on 127.0.0.1 (a TLS server if `tls` is given).
    async fn start(tls: Option<Arc<rustls::ServerConfig>>, handler: Handler) -> Server {
        Server::start_at(loopback(0), tls, handler).await
    }

    /// Starts serving on `addr`.
    async fn start_at(
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: Handler,
    ) -> Server {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (handler, log, tls) = (handler.clone(), log.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => {
                            let mut tcp = tcp;
                            let ending = serve(&mut tcp, None, &handler, &log).await;
                            finish_tcp(tcp, ending).await;
                        }
                        Some(config) => {
                            let acceptor = tokio_rustls::LazyConfigAcceptor::new(
                                rustls::server::Acceptor::default(),
                                tcp,
                            );
                            let Ok(start) = acceptor.await else { return };
                            let sni = start.client_hello().server_name().map(str::to_string);
                            let Ok(mut s) = start.into_stream(config).await else {
                                return;
                            };
                            match serve(&mut s, sni, &handler, &log).await {
                                Ending::Close => {
                                    let _ = s.shutdown().await;
                                }
                                ending => finish_tcp(s.into_inner().0, ending).await,
                            }
                        }
                    }
                });
            }
        });
        Server { port, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn last(&self) -> Seen {
        self.seen().last().cloned().expect("no request seen")
    }
}

/// How a connection ends after the answer.
enum Ending {
    Close,
    RawClose,
    Reset,
    Hold,
}

/// Reads one request header and answers it.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    sni: Option<String>,
    handler: &Handler,
    log: &Mutex<Vec<Seen>>,
) -> Ending {
    let mut raw = Vec::new();
    let mut buf = [0u8; 2048];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") && raw.len() < 65536 {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let seen = Seen { raw, sni };
    let answer = handler(&seen);
    log.lock().unwrap().push(seen);
    let (bytes, ending): (Vec<Vec<u8>>, Ending) = match answer {
        Answer::Reply(b) => (vec![b], Ending::Close),
        Answer::ReplyNoCloseNotify(b) => (vec![b], Ending::RawClose),
        Answer::ReplyThenReset(b) => (vec![b], Ending::Reset),
        Answer::ReplyThenHold(b) => (vec![b], Ending::Hold),
        Answer::Close => (vec![], Ending::Close),
        Answer::Hold => (vec![], Ending::Hold),
        Answer::Trickle(pieces, pause) => {
            for p in pieces {
                tokio::time::sleep(pause).await;
                let _ = s.write_all(&p).await;
                let _ = s.flush().await;
            }
            (vec![], Ending::Close)
        }
    };
    for b in bytes {
        let _ = s.write_all(&b).await;
    }
    let _ = s.flush().await;
    ending
}

async fn finish_tcp(mut tcp: TcpStream, ending: Ending) {
    match ending {
        Ending::Close | Ending::RawClose => {
            let _ = tcp.shutdown().await;
        }
        Ending::Reset => {
            // Let the data go out first, then a RST instead of a FIN.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO));
        }
        Ending::Hold => tokio::time::sleep(Duration::from_secs(60)).await,
    }
}

/// A TLS server configuration with a fresh self-signed certificate for `localhost`.
fn self_signed() -> Arc<rustls::ServerConfig> {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .expect("server config");
    Arc::new(config)
}

// ---- TCP_CHECK --------------------------------------------------------------------------

#[test]
fn tcp_connected_refused_timeout_not_run() {
    in_netns(|ns| async move {
        let listener = TcpListener::bind(loopback(0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(
            probes::run(&tcp(connect(port, 500)), None).await,
            ProbeResult::Connected
        );

        // A closed port: RST.
        let closed = {
            let l = TcpListener::bind(loopback(0)).await.unwrap();
            l.local_addr().unwrap().port()
        };
        assert_eq!(
            probes::run(&tcp(connect(closed, 500)), None).await,
            ProbeResult::Refused
        );

        // A listener whose accept queue is full drops SYNs: no answer.
        let full =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        full.bind(&loopback(0).into()).unwrap();
        full.listen(0).unwrap();
        let full_port = full.local_addr().unwrap().as_socket().unwrap().port();
        let _queued = TcpStream::connect(loopback(full_port)).await.unwrap();
        let t0 = Instant::now();
        assert_eq!(
            probes::run(&tcp(connect(full_port, 300)), None).await,
            ProbeResult::Timeout
        );
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_secs(2),
            "{took:?}"
        );

        // Unreachable route (EHOSTUNREACH at connect): a failed connection. A blackhole
        // route (EINVAL) is not one of keepalived's connection failures: not run.
        support::ns_ip(&ns, &["route", "add", "unreachable", "192.0.2.0/24"]);
        support::ns_ip(&ns, &["route", "add", "blackhole", "198.51.100.0/24"]);
        let mut c = connect(80, 500);
        c.dst = "192.0.2.1:80".parse().unwrap();
        assert_eq!(
            probes::run(&tcp(c.clone()), None).await,
            ProbeResult::Refused
        );
        c.dst = "198.51.100.1:80".parse().unwrap();
        assert_eq!(probes::run(&tcp(c), None).await, ProbeResult::NotRun);
        drop(listener);
    });
}

#[test]
fn tcp_bind_bind_if_and_fwmark_apply() {
    in_netns(|ns| async move {
        let listener = TcpListener::bind(loopback(0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let peers = Arc::new(Mutex::new(Vec::new()));
        let p = peers.clone();
        tokio::spawn(async move {
            while let Ok((_, peer)) = listener.accept().await {
                p.lock().unwrap().push(peer);
            }
        });
        let last_peer =
            |peers: &Arc<Mutex<Vec<SocketAddr>>>| *peers.lock().unwrap().last().unwrap();

        // bindto / bind_port.
        let mut c = connect(port, 500);
        c.bind = Some("127.0.0.2:0".parse().unwrap());
        assert_eq!(
            probes::run(&tcp(c.clone()), None).await,
            ProbeResult::Connected
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(last_peer(&peers).ip().to_string(), "127.0.0.2");
        c.bind = Some("127.0.0.3:40123".parse().unwrap());
        assert_eq!(
            probes::run(&tcp(c.clone()), None).await,
            ProbeResult::Connected
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(last_peer(&peers), "127.0.0.3:40123".parse().unwrap());
        // An address this host does not have: the bind fails, keepalived reschedules.
        c.bind = Some("192.0.2.9:0".parse().unwrap());
        assert_eq!(probes::run(&tcp(c), None).await, ProbeResult::NotRun);

        // bind_if.
        let mut c = connect(port, 500);
        c.bind_if = Some("lo".into());
        assert_eq!(
            probes::run(&tcp(c.clone()), None).await,
            ProbeResult::Connected
        );
        c.bind_if = Some("nosuchdev0".into());
        assert_eq!(probes::run(&tcp(c), None).await, ProbeResult::NotRun);

        // fwmark: a rule of this namespace rejects marked SYNs to the port.
        support::ns_nft(
            &ns,
            &format!(
                "table inet probes {{\n  chain out {{\n    type filter hook output priority 0;\n    \
                 meta mark 42 tcp dport {port} reject with tcp reset\n  }}\n}}\n"
            ),
        );
        let mut c = connect(port, 500);
        assert_eq!(
            probes::run(&tcp(c.clone()), None).await,
            ProbeResult::Connected
        );
        c.fwmark = Some(42);
        assert_eq!(
            probes::run(&tcp(c.clone()), None).await,
            ProbeResult::Refused
        );
        c.fwmark = Some(43);
        assert_eq!(probes::run(&tcp(c), None).await, ProbeResult::Connected);
    });
}

// ---- HTTP_GET ---------------------------------------------------------------------------

/// A body larger than one read.
fn big_body() -> Vec<u8> {
    (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

const CHUNKED: &[u8] = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";

fn answers(seen: &Seen) -> Answer {
    match seen.path().as_str() {
        "/ok" => ok(&big_body()),
        "/error" => Answer::Reply(http_reply(
            "500 Internal Server Error",
            "Content-Length: 5\r\n",
            b"oops\n",
        )),
        "/chunked" => Answer::Reply(http_reply(
            "200 OK",
            "Transfer-Encoding: chunked\r\n",
            CHUNKED,
        )),
        // More bytes than Content-Length says: the digest stops at the length.
        "/extra" => Answer::Reply(http_reply(
            "200 OK",
            "Content-Length: 5\r\n",
            b"12345trailing",
        )),
        "/empty" => ok(b""),
        "/no-reason" => Answer::Reply(b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok".to_vec()),
        _ => Answer::Reply(http_reply("404 Not Found", "Content-Length: 0\r\n", b"")),
    }
}

#[test]
fn http_status_and_digest_match_genhash() {
    in_netns(|ns| async move {
        let server = Server::start(None, Arc::new(answers)).await;
        let port = server.port;
        let p = port.to_string();
        // (path, version, status, body as hashed, whether genhash must print the same digest)
        let cases: [(&str, HttpVersion, u16, Vec<u8>, bool); 7] = [
            ("/ok", HttpVersion::Http10, 200, big_body(), true),
            ("/error", HttpVersion::Http10, 500, b"oops\n".to_vec(), true),
            // A chunked body is hashed as sent, chunk lines and all, as genhash does: a
            // digest of the decoded body would never match a configured one.
            ("/chunked", HttpVersion::Http11, 200, CHUNKED.to_vec(), true),
            // More bytes than Content-Length says: the digest stops at the length.
            ("/extra", HttpVersion::Http10, 200, b"12345".to_vec(), true),
            // An empty body is a reply (MD5 of nothing), not a failure.
            ("/empty", HttpVersion::Http10, 200, Vec::new(), true),
            // keepalived wants a space after the code: no reason phrase, no status.
            ("/no-reason", HttpVersion::Http10, 0, b"ok".to_vec(), false),
            ("/nothing-here", HttpVersion::Http10, 404, Vec::new(), false),
        ];
        for (path, version, status, body, compare) in cases {
            let r = probes::run(&get(port, path, version), None).await;
            assert_eq!(
                r,
                ProbeResult::Http {
                    status,
                    body_md5: md5(&body),
                    body_len: if path == "/extra" {
                        13
                    } else {
                        body.len() as u64
                    }
                },
                "{path}"
            );
            if compare {
                assert_eq!(
                    digest_of(&r),
                    genhash(&ns, &["-s", "127.0.0.1", "-p", &p, "-u", path])
                        .await
                        .unwrap(),
                    "{path}"
                );
            }
        }
    });
}

#[test]
fn http_request_is_byte_for_byte_genhash_s() {
    in_netns(|ns| async move {
        let server = Server::start(None, Arc::new(answers)).await;
        let port = server.port;
        let p = port.to_string();
        for (version, flag) in [
            (HttpVersion::Http10, "1.0"),
            (HttpVersion::Http10Close, "1.0c"),
            (HttpVersion::Http11, "1.1"),
        ] {
            genhash(&ns, &["-s", "127.0.0.1", "-p", &p, "-u", "/ok", "-P", flag])
                .await
                .unwrap();
            let theirs = server.last().raw;
            probes::run(&get(port, "/ok", version), None).await;
            let ours = server.last().raw;
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "{version:?}"
            );
            // With a virtual host.
            genhash(
                &ns,
                &[
                    "-s",
                    "127.0.0.1",
                    "-p",
                    &p,
                    "-u",
                    "/ok",
                    "-P",
                    flag,
                    "-V",
                    "www.example",
                ],
            )
            .await
            .unwrap();
            let theirs = server.last().raw;
            probes::run(&with_host(get(port, "/ok", version), "www.example"), None).await;
            assert_eq!(
                String::from_utf8_lossy(&server.last().raw),
                String::from_utf8_lossy(&theirs),
                "{version:?} with virtualhost"
            );
        }
        assert!(server
            .last()
            .raw
            .starts_with(b"GET /ok HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example\r\n\r\n"));
    });
}

#[test]
fn tcp_and_http_over_ipv6() {
    in_netns(|ns| async move {
        let server = Server::start_at("[::1]:0".parse().unwrap(), None, Arc::new(answers)).await;
        let port = server.port;
        let mut c = connect(port, 500);
        c.dst = SocketAddr::new("::1".parse().unwrap(), port);
        assert_eq!(
            probes::run(&tcp(c.clone()), None).await,
            ProbeResult::Connected
        );
        c.bind = Some("[::1]:0".parse().unwrap());
        let probe = Probe::Http {
            connect: c,
            tls: false,
            sni: None,
            path: "/ok".into(),
            host: format!("[::1]:{port}"),
            version: HttpVersion::Http11,
        };
        let r = probes::run(&probe, None).await;
        let ours = server.last().raw;
        let theirs = genhash(
            &ns,
            &[
                "-s",
                "::1",
                "-p",
                &port.to_string(),
                "-u",
                "/ok",
                "-P",
                "1.1",
            ],
        )
        .await
        .unwrap();
        assert_eq!(digest_of(&r), theirs);
        assert_eq!(hex(&md5(&big_body())), theirs);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&server.last().raw)
        );
    });
}

#[test]
fn http_virtual_host_picks_the_site() {
    in_netns(|ns| async move {
        let server = Server::start(
            None,
            Arc::new(|seen: &Seen| match seen.host().as_deref() {
                Some("a.example") => ok(b"site A\n"),
                Some("b.example") => ok(b"site B, a longer page\n"),
                _ => Answer::Reply(http_reply(
                    "421 Misdirected Request",
                    "Content-Length: 0\r\n",
                    b"",
                )),
            }),
        )
        .await;
        let port = server.port;
        let p = port.to_string();
        for (vhost, body) in [
            ("a.example", &b"site A\n"[..]),
            ("b.example", b"site B, a longer page\n"),
        ] {
            let r = probes::run(&with_host(get(port, "/", HttpVersion::Http10), vhost), None).await;
            assert_eq!(
                r,
                ProbeResult::Http {
                    status: 200,
                    body_md5: md5(body),
                    body_len: body.len() as u64
                }
            );
            assert_eq!(
                digest_of(&r),
                genhash(&ns, &["-s", "127.0.0.1", "-p", &p, "-u", "/", "-V", vhost])
                    .await
                    .unwrap()
            );
        }
        let r = probes::run(&get(port, "/", HttpVersion::Http10), None).await;
        assert!(matches!(r, ProbeResult::Http { status: 421, .. }), "{r:?}");
    });
}

#[test]
fn http_timeouts_and_broken_replies() {
    in_netns(|_ns| async move {
        let server = Server::start(
            None,
            Arc::new(|seen: &Seen| match seen.path().as_str() {
                "/silent" => Answer::Hold,
                "/half" => Answer::ReplyThenHold(b"HTTP/1.1 200 OK\r\n".to_vec()),
                // Five pieces 150 ms apart: longer than the timeout in all, shorter for each.
                "/slow" => Answer::Trickle(
                    vec![
                        b"HTTP/1.0 200 OK\r\n".to_vec(),
                        b"\r\n".to_vec(),
                        b"a".to_vec(),
                        b"b".to_vec(),
                        b"c".to_vec(),
                    ],
                    Duration::from_millis(150),
                ),
                "/close" => Answer::Close,
                "/reset" => Answer::ReplyThenReset(http_reply("200 OK", "", b"partial body")),
                "/huge-header" => {
                    let mut r = b"HTTP/1.1 200 OK\r\n".to_vec();
                    r.extend(
                        std::iter::repeat_n(b"X-Filler: 0123456789\r\n".to_vec(), 200).flatten(),
                    );
                    r.extend_from_slice(b"\r\nbody");
                    Answer::Reply(r)
                }
                _ => ok(b"fine"),
            }),
        )
        .await;
        let port = server.port;
        let probe = |path: &str| with_timeout(get(port, path, HttpVersion::Http10), 400);

        let t0 = Instant::now();
        assert_eq!(
            probes::run(&probe("/silent"), None).await,
            ProbeResult::Timeout
        );
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        assert_eq!(
            probes::run(&probe("/half"), None).await,
            ProbeResult::Timeout
        );
        // The timeout runs again with every read: a slow but steady reply is read.
        assert_eq!(
            probes::run(&probe("/slow"), None).await,
            ProbeResult::Http {
                status: 200,
                body_md5: md5(b"abc"),
                body_len: 3
            }
        );
        assert_eq!(
            probes::run(&probe("/close"), None).await,
            ProbeResult::Broken
        );
        assert_eq!(
            probes::run(&probe("/reset"), None).await,
            ProbeResult::Broken
        );
        assert_eq!(
            probes::run(&probe("/huge-header"), None).await,
            ProbeResult::Broken
        );
        assert!(matches!(
            probes::run(&probe("/"), None).await,
            ProbeResult::Http { status: 200, .. }
        ));

        // Nobody listening.
        let closed = {
            let l = TcpListener::bind(loopback(0)).await.unwrap();
            l.local_addr().unwrap().port()
        };
        let r = probes::run(&get(closed, "/", HttpVersion::Http10), None).await;
        assert_eq!(r, ProbeResult::Refused);
    });
}

// ---- SSL_GET ----------------------------------------------------------------------------

#[test]
fn https_self_signed_with_and_without_sni() {
    in_netns(|ns| async move {
        let server = Server::start(
            Some(self_signed()),
            Arc::new(|seen: &Seen| match seen.path().as_str() {
                "/no-close-notify" => Answer::ReplyNoCloseNotify(http_reply(
                    "200 OK",
                    "Content-Length: 4\r\n",
                    b"bare",
                )),
                "/down" => Answer::Reply(http_reply("503 Service Unavailable", "", b"later")),
                "/slow" => Answer::Trickle(
                    vec![
                        b"HTTP/1.0 200 OK\r\n".to_vec(),
                        b"\r\n".to_vec(),
                        b"a".to_vec(),
                        b"b".to_vec(),
                        b"c".to_vec(),
                    ],
                    Duration::from_millis(150),
                ),
                _ => ok(&big_body()),
            }),
        )
        .await;
        let port = server.port;
        let p = port.to_string();

        // No SNI unless asked for.
        let r = probes::run(&with_tls(get(port, "/", HttpVersion::Http10), None), None).await;
        assert_eq!(
            r,
            ProbeResult::Http {
                status: 200,
                body_md5: md5(&big_body()),
                body_len: big_body().len() as u64
            }
        );
        assert_eq!(server.last().sni, None);
        assert_eq!(
            digest_of(&r),
            genhash(&ns, &["-S", "-s", "127.0.0.1", "-p", &p, "-u", "/"])
                .await
                .unwrap()
        );
        assert_eq!(server.last().sni, None);

        let probe = with_host(get(port, "/", HttpVersion::Http11), "www.example");
        let r = probes::run(&with_tls(probe, Some("www.example")), None).await;
        assert_eq!(server.last().sni.as_deref(), Some("www.example"));
        assert_eq!(server.last().host().as_deref(), Some("www.example"));
        assert_eq!(
            digest_of(&r),
            genhash(
                &ns,
                &[
                    "-S",
                    "-I",
                    "-V",
                    "www.example",
                    "-s",
                    "127.0.0.1",
                    "-p",
                    &p,
                    "-u",
                    "/",
                    "-P",
                    "1.1"
                ]
            )
            .await
            .unwrap()
        );
        assert_eq!(server.last().sni.as_deref(), Some("www.example"));

        // An end without close_notify ends the stream as EOF does (`ssl_read_thread`).
        let r = probes::run(
            &with_tls(get(port, "/no-close-notify", HttpVersion::Http10), None),
            None,
        )
        .await;
        assert_eq!(
            r,
            ProbeResult::Http {
                status: 200,
                body_md5: md5(b"bare"),
                body_len: 4
            }
        );
        let r = probes::run(
            &with_tls(get(port, "/down", HttpVersion::Http10), None),
            None,
        )
        .await;
        assert_eq!(
            r,
            ProbeResult::Http {
                status: 503,
                body_md5: md5(b"later"),
                body_len: 5
            }
        );

        // Over TLS the reads share one deadline: a reply that trickles in over longer than
        // the timeout times out (read plainly, each read has its own: see
        // `http_timeouts_and_broken_replies`).
        let slow = with_timeout(with_tls(get(port, "/slow", HttpVersion::Http10), None), 400);
        let t0 = Instant::now();
        assert_eq!(probes::run(&slow, None).await, ProbeResult::Timeout);
        assert!(
            t0.elapsed() < Duration::from_millis(900),
            "{:?}",
            t0.elapsed()
        );
        let slow = with_timeout(
            with_tls(get(port, "/slow", HttpVersion::Http10), None),
            1500,
        );
        assert_eq!(
            probes::run(&slow, None).await,
            ProbeResult::Http {
                status: 200,
                body_md5: md5(b"abc"),
                body_len: 3
            }
        );
    });
}

#[test]
fn https_handshake_timeout_and_failure() {
    in_netns(|_ns| async move {
        // Accepts and never says a word: the handshake times out.
        let mute = TcpListener::bind(loopback(0)).await.unwrap();
        let mute_port = mute.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = mute.accept().await {
                held.push(s);
            }
        });
        let t0 = Instant::now();
        let probe = with_timeout(
            with_tls(get(mute_port, "/", HttpVersion::Http10), None),
            400,
        );
        assert_eq!(probes::run(&probe, None).await, ProbeResult::Timeout);
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());

        // A plain HTTP server answering the ClientHello with text: a TLS error.
        let plain = TcpListener::bind(loopback(0)).await.unwrap();
        let plain_port = plain.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = plain.accept().await {
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
                let _ = s.shutdown().await;
            }
        });
        let probe = with_tls(get(plain_port, "/", HttpVersion::Http10), None);
        assert_eq!(probes::run(&probe, None).await, ProbeResult::Broken);
    });
}

// ---- nginx ------------------------------------------------------------------------------

#[test]
fn nginx_pages_match_genhash() {
    let dir = tmpdir("probes-nginx");
    let www = dir.join("www");
    let site = dir.join("site");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::create_dir_all(&site).unwrap();
    let index: Vec<u8> = (0..50_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(www.join("index.html"), &index).unwrap();
    std::fs::write(site.join("index.html"), b"the other site\n").unwrap();
    let d = dir.display();
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             server {{ listen 127.0.0.1:8080 default_server; root {d}/www;\n    \
             location = /fail {{ return 500 \"down\\n\"; }} }}\n  \
             server {{ listen 127.0.0.1:8080; server_name site.example; root {d}/site; }}\n}}\n"
        ),
    )
    .unwrap();
    let errlog = dir.join("error.log");
    in_netns(|ns| async move {
        let mut nginx = tokio::process::Command::new("nginx")
            .arg("-c")
            .arg(&conf)
            .kill_on_drop(true)
            .spawn()
            .expect("nginx (scripts/test.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(loopback(8080)).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {:?}",
                std::fs::read_to_string(&errlog)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for version in [
            HttpVersion::Http10,
            HttpVersion::Http10Close,
            HttpVersion::Http11,
        ] {
            let r = probes::run(&get(8080, "/index.html", version), None).await;
            assert_eq!(
                r,
                ProbeResult::Http {
                    status: 200,
                    body_md5: md5(&index),
                    body_len: index.len() as u64
                },
                "{version:?}"
            );
        }
        let r = probes::run(&get(8080, "/index.html", HttpVersion::Http10), None).await;
        assert_eq!(
            digest_of(&r),
            genhash(&ns, &["-s", "127.0.0.1", "-p", "8080", "-u", "/index.html"])
                .await
                .unwrap()
        );

        let r = probes::run(&get(8080, "/fail", HttpVersion::Http11), None).await;
        assert_eq!(
            r,
            ProbeResult::Http {
                status: 500,
                body_md5: md5(b"down\n"),
                body_len: 5
            }
        );
        let r = probes::run(&get(8080, "/missing", HttpVersion::Http10), None).await;
        assert!(matches!(r, ProbeResult::Http { status: 404, .. }), "{r:?}");

        let r = probes::run(
            &with_host(get(8080, "/", HttpVersion::Http11), "site.example"),
            None,
        )
        .await;
        assert_eq!(
            r,
            ProbeResult::Http {
                status: 200,
                body_md5: md5(b"the other site\n"),
                body_len: 15
            }
        );
        assert_eq!(
            digest_of(&r),
            genhash(
                &ns,
                &[
                    "-s",
                    "127.0.0.1",
                    "-p",
                    "8080",
                    "-u",
                    "/",
                    "-V",
                    "site.example",
                    "-P",
                    "1.1"
                ]
            )
            .await
            .unwrap()
        );
        let _ = nginx.kill().await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- MISC_CHECK -------------------------------------------------------------------------

fn misc(command: &str, timeout_ms: u64, user: Option<&str>) -> Probe {
    Probe::Misc {
        command: command.into(),
        timeout: Duration::from_millis(timeout_ms),
        user: user.map(Into::into),
    }
}

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn misc_exit_status_and_signals() {
    block_on(async {
        for code in [0u8, 1, 7] {
            let r = probes::run(
                &misc(&format!("/bin/sh -c 'exit {code}'"), 5000, None),
                None,
            )
            .await;
            assert_eq!(r, ProbeResult::Exit(code));
        }
        // Died of a signal of its own.
        let r = probes::run(&misc("/bin/sh -c 'kill -USR1 $$'", 5000, None), None).await;
        assert_eq!(r, ProbeResult::Signaled);
        // Cannot be started.
        let r = probes::run(&misc("/no/such/script arg", 5000, None), None).await;
        assert_eq!(r, ProbeResult::NotRun);
    });
}

#[test]
fn misc_killed_at_its_timeout_with_its_group() {
    let dir = tmpdir("probes-misc");
    block_on(async {
        // SIGTERM at the timeout.
        let t0 = Instant::now();
        assert_eq!(
            probes::run(&misc("/bin/sleep 30", 300, None), None).await,
            ProbeResult::Killed
        );
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_millis(1500),
            "{took:?}"
        );

        // Deaf to SIGTERM: SIGKILL 2 s later; what it started in the background, deaf too,
        // goes with it.
        let pidfile = dir.join("bg.pid");
        let cmd = format!(
            "/bin/sh -c 'trap \"\" TERM; sleep 30 & echo $! > {}; wait'",
            pidfile.display()
        );
        let t0 = Instant::now();
        assert_eq!(
            probes::run(&misc(&cmd, 300, None), None).await,
            ProbeResult::Killed
        );
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(2250) && took < Duration::from_secs(4),
            "{took:?}"
        );
        let bg: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            support::wait_until(Duration::from_secs(2), || !alive(bg)),
            "background sleep {bg} survived"
        );

        // Dies of our SIGTERM, its background child ignores it: SIGKILL for the group.
        let cmd = format!(
            "/bin/sh -c '(trap \"\" TERM; exec sleep 30) & echo $! > {}; wait'",
            pidfile.display()
        );
        assert_eq!(
            probes::run(&misc(&cmd, 300, None), None).await,
            ProbeResult::Killed
        );
        let bg: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            support::wait_until(Duration::from_secs(2), || !alive(bg)),
            "background sleep {bg} survived"
        );

        // Catches the SIGTERM and exits 0: that is its status (keepalived takes it so).
        let r = probes::run(
            &misc(
                "/bin/sh -c 'trap \"exit 0\" TERM; sleep 30 & wait'",
                300,
                None,
            ),
            None,
        )
        .await;
        assert_eq!(r, ProbeResult::Exit(0));
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn misc_runs_as_its_user() {
    assert_root();
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody");
    let check = format!("/bin/sh -c 'test $(id -u) = {}'", nobody.uid.as_raw());
    block_on(async {
        assert_eq!(
            probes::run(&misc(&check, 5000, Some("nobody")), None).await,
            ProbeResult::Exit(0)
        );
        let run_as = RunAs {
            uid: nobody.uid.as_raw(),
            gid: nobody.gid.as_raw(),
        };
        assert_eq!(
            probes::run(&misc(&check, 5000, None), Some(run_as)).await,
            ProbeResult::Exit(0)
        );
        assert_eq!(
            probes::run(&misc(&check, 5000, None), None).await,
            ProbeResult::Exit(1)
        );
        assert_eq!(
            probes::run(&misc(&check, 5000, Some("no-such-user-here")), None).await,
            ProbeResult::NotRun
        );
    });
}

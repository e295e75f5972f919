//! The check engine with exact times: every checker rule of keepalived 2.2.7 (TCP_CHECK,
//! HTTP_GET, SSL_GET, MISC_CHECK; delay_loop, retry / nb_get_retry, delay_before_retry,
//! warmup, alpha / omega, inhibit_on_failure, quorum / hysteresis, sorry_server (+ inhibit),
//! notify_up / notify_down, misc_dynamic, virtualhost, enable_sni) and the IPVS changes that
//! follow. The expected sequences were derived from keepalived's source (check_tcp.c
//! `tcp_epilog`, check_http.c `epilog`, check_ssl.c `ssl_connect`, check_misc.c
//! `misc_check_child_thread`, ipwrapper.c).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;
use vrrp_engine::keepalived::{parse_str, Options};
use vrrp_engine::lvs::{
    CheckerId, Forwarding, IpvsChange, IpvsDest, IpvsTable, Probe, ProbeResult, ServiceKey,
};
use vrrp_engine::{Engine, Input, Instant, Output};

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// An engine on a keepalived file with only virtual servers, and the outputs seen so far.
struct Bench {
    engine: Engine,
    /// Outputs not yet looked at (probes are answered by the test).
    out: VecDeque<Output>,
    /// The IPVS table the changes so far build.
    table: IpvsTable,
    /// Probes asked and not answered: (checker, seq, probe, when asked).
    pending: Vec<(CheckerId, u64, Probe, Instant)>,
    now: Instant,
}

impl Bench {
    fn new(conf: &str) -> Bench {
        let loaded = parse_str("test.conf", conf, &Options::default()).expect("config loads");
        let engine = Engine::with_seed(loaded.config, at(0), 7).expect("engine");
        let mut b = Bench {
            engine,
            out: VecDeque::new(),
            table: IpvsTable::default(),
            pending: Vec::new(),
            now: at(0),
        };
        b.drain();
        b
    }

    fn drain(&mut self) {
        while let Some(o) = self.engine.poll_output() {
            match &o {
                Output::Ipvs(c) => self.table.apply(c),
                Output::RunProbe {
                    checker,
                    seq,
                    probe,
                } => self.pending.push((*checker, *seq, probe.clone(), self.now)),
                _ => {}
            }
            self.out.push_back(o);
        }
    }

    /// Runs timers up to `t`.
    fn run_until(&mut self, t: Instant) {
        while let Some(d) = self.engine.poll_timeout() {
            if d > t {
                break;
            }
            self.now = d;
            self.engine.handle_timeout(d);
            self.drain();
        }
        self.now = t;
    }

    /// The one pending probe: its time and what it asks.
    fn probe_at(&mut self, t: Instant) -> Probe {
        self.run_until(t);
        assert_eq!(self.pending.len(), 1, "one probe pending at {t}");
        let (_, _, p, when) = self.pending[0].clone();
        assert_eq!(when, t, "probe time");
        p
    }

    /// Answers the pending probe at `t`.
    fn answer(&mut self, t: Instant, result: ProbeResult) {
        self.run_until(t);
        let (checker, seq, _, _) = self.pending.remove(0);
        self.engine.handle(
            t,
            Input::ProbeResult {
                checker,
                seq,
                result,
            },
        );
        self.drain();
    }

    /// Expects a probe exactly at `t` and answers it `d` later.
    fn probe(&mut self, t: Instant, d: Duration, result: ProbeResult) {
        self.probe_at(t);
        self.answer(t + d, result);
    }

    /// The IPVS changes and notifications seen since the last call, as short strings.
    fn events(&mut self) -> Vec<String> {
        let mut v = Vec::new();
        while let Some(o) = self.out.pop_front() {
            match o {
                Output::Ipvs(c) => v.push(change(&c)),
                Output::RealServerChanged {
                    real_server,
                    alive,
                    notify,
                    ..
                } => v.push(format!(
                    "rs {real_server} {}{}",
                    if alive { "up" } else { "down" },
                    notify.map(|n| format!(" [{n}]")).unwrap_or_default()
                )),
                Output::QuorumChanged { up, notify, .. } => v.push(format!(
                    "quorum {}{}",
                    if up { "up" } else { "down" },
                    notify.map(|n| format!(" [{n}]")).unwrap_or_default()
                )),
                _ => {}
            }
        }
        v
    }

    /// The weights of the table's only service (checking the engine's own view agrees).
    fn weights(&self) -> Vec<(SocketAddr, u32)> {
        assert_eq!(self.engine.ipvs_table(), &self.table);
        let (_, (_, dests)) = self.table.services.iter().next().expect("a service");
        dests.values().map(|d| (d.addr, d.weight)).collect()
    }
}

fn change(c: &IpvsChange) -> String {
    match c {
        IpvsChange::AddService(s) => format!("add service {}", s.key),
        IpvsChange::EditService(s) => format!("edit service {}", s.key),
        IpvsChange::RemoveService(k) => format!("remove service {k}"),
        IpvsChange::AddDest { dest, .. } => format!("add {} w{}", dest.addr, dest.weight),
        IpvsChange::EditDest { dest, .. } => format!("edit {} w{}", dest.addr, dest.weight),
        IpvsChange::RemoveDest { addr, .. } => format!("remove {addr}"),
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

const MS: Duration = Duration::from_millis(1);

fn one_tcp(extra_vs: &str, extra_rs: &str, check: &str) -> String {
    format!(
        "virtual_server 10.0.0.100 80 {{
  delay_loop 5
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  {extra_vs}
  real_server 10.0.1.1 80 {{
    weight 2
    {extra_rs}
    TCP_CHECK {{
      connect_timeout 3
      warmup 0
      {check}
    }}
  }}
}}
"
    )
}

#[test]
fn start_up_programs_the_service_then_probes_after_one_second() {
    let mut b = Bench::new(&one_tcp("", "", ""));
    assert_eq!(
        b.events(),
        s(&[
            "add service TCP 10.0.0.100:80",
            "add 10.0.1.1:80 w2",
            "quorum up",
        ])
    );
    let p = b.probe_at(at(1000));
    assert_eq!(
        p,
        Probe::Tcp {
            connect: vrrp_engine::lvs::Connect {
                dst: sa("10.0.1.1:80"),
                bind: None,
                bind_if: None,
                fwmark: None,
                timeout: Duration::from_secs(3),
            }
        }
    );
    assert_eq!(
        b.table.to_ipvsadm_lines(),
        s(&["TCP 10.0.0.100:80 wrr", "  -> 10.0.1.1:80 Masq 2"])
    );
}

#[test]
fn tcp_check_retries_then_takes_the_server_out_and_one_success_brings_it_back() {
    // retry 2, delay_before_retry 1: three failures in a row, 1 s apart (timed from the end
    // of each probe), take it out; the next probe comes delay_loop later.
    let mut b = Bench::new(&one_tcp("", "", "retry 2\ndelay_before_retry 1"));
    b.events();
    b.probe(at(1000), MS, ProbeResult::Connected);
    // Up already: nothing happens, next probe delay_loop after the end of this one.
    b.probe(at(6001), MS, ProbeResult::Refused);
    b.probe(at(7002), MS, ProbeResult::Timeout);
    assert!(b.events().is_empty(), "still retrying");
    b.probe(at(8003), MS, ProbeResult::Refused);
    // keepalived's order: the removal, the notification, then the quorum
    // (`perform_svr_state` calls `update_quorum_state` last).
    assert_eq!(
        b.events(),
        s(&["remove 10.0.1.1:80", "rs 10.0.1.1:80 down", "quorum down"])
    );
    b.probe(at(13004), MS, ProbeResult::Connected);
    assert_eq!(
        b.events(),
        s(&["add 10.0.1.1:80 w2", "rs 10.0.1.1:80 up", "quorum up"])
    );
    b.probe_at(at(18005));
}

#[test]
fn the_first_failure_counts_at_once_whatever_the_retries() {
    // validate_check_config starts retry_it at retry: one failure is enough initially.
    let mut b = Bench::new(&one_tcp("", "", "retry 3"));
    b.events();
    b.probe(at(1000), MS, ProbeResult::Refused);
    assert_eq!(
        b.events(),
        s(&["remove 10.0.1.1:80", "rs 10.0.1.1:80 down", "quorum down"])
    );
    // Down: tcp_epilog retries regardless of the state, so a down server is probed
    // delay_loop later, then `retry` times delay_before_retry apart, and so on.
    b.probe(at(6001), MS, ProbeResult::Refused);
    b.probe(at(7002), MS, ProbeResult::Refused);
    b.probe(at(8003), MS, ProbeResult::Refused);
    b.probe(at(9004), MS, ProbeResult::Refused);
    b.probe(at(14005), MS, ProbeResult::Refused);
    assert!(b.events().is_empty());
}

#[test]
fn a_success_during_retries_resets_them() {
    let mut b = Bench::new(&one_tcp("", "", "retry 1\ndelay_before_retry 2"));
    b.events();
    b.probe(at(1000), MS, ProbeResult::Connected);
    b.probe(at(6001), MS, ProbeResult::Refused);
    b.probe(at(8002), MS, ProbeResult::Connected);
    b.probe(at(13003), MS, ProbeResult::Refused);
    b.probe(at(15004), MS, ProbeResult::Refused);
    assert_eq!(
        b.events(),
        s(&["remove 10.0.1.1:80", "rs 10.0.1.1:80 down", "quorum down"])
    );
}

#[test]
fn inherited_timers_and_keepalived_defaults() {
    // Checker values come from the real server, then the virtual server; TCP_CHECK's own
    // defaults are retry 1 and delay_before_retry 1 s; connect_timeout defaults to 5 s.
    let conf = "virtual_server 10.0.0.100 80 {
  delay_loop 7
  protocol TCP
  connect_timeout 4
  real_server 10.0.1.1 80 {
    delay_before_retry 2
    TCP_CHECK {
      warmup 0
    }
  }
  real_server 10.0.1.2 {
    connect_timeout 9
    TCP_CHECK {
      warmup 0
      connect_port 8080
      connect_ip 10.0.9.9
      bindto 10.0.0.1
    }
  }
}
";
    let mut b = Bench::new(conf);
    assert_eq!(
        b.events(),
        s(&[
            "add service UDP 10.0.0.100:80",
            "add 10.0.1.1:80 w1",
            "add 10.0.1.2:80 w1",
            "quorum up"
        ])
        .into_iter()
        .map(|x| x.replace("UDP", "TCP"))
        .collect::<Vec<_>>()
    );
    b.run_until(at(1000));
    let probes: Vec<Probe> = b.pending.iter().map(|p| p.2.clone()).collect();
    let timeouts: Vec<(SocketAddr, Duration, Option<SocketAddr>)> = probes
        .iter()
        .map(|p| match p {
            Probe::Tcp { connect } => (connect.dst, connect.timeout, connect.bind),
            _ => panic!("tcp"),
        })
        .collect();
    assert_eq!(
        timeouts,
        vec![
            (sa("10.0.1.1:80"), Duration::from_secs(4), None),
            (
                sa("10.0.9.9:8080"),
                Duration::from_secs(9),
                Some(sa("10.0.0.1:0"))
            ),
        ]
    );
    // First server: up, then a failure retried once after 2 s (its delay_before_retry).
    b.answer(at(1000), ProbeResult::Connected);
    b.answer(at(1000), ProbeResult::Connected);
    b.run_until(at(8000));
    assert_eq!(
        b.pending.len(),
        2,
        "both probed again delay_loop (7 s) later"
    );
    b.answer(at(8000), ProbeResult::Refused);
    b.answer(at(8000), ProbeResult::Refused);
    b.run_until(at(9000));
    assert_eq!(
        b.pending.len(),
        1,
        "the second retries after TCP_CHECK's 1 s"
    );
    b.answer(at(9000), ProbeResult::Refused);
    b.run_until(at(10000));
    assert_eq!(
        b.pending.len(),
        1,
        "the first retries after its real server's 2 s"
    );
}

#[test]
fn warmup_spreads_the_first_probes_deterministically() {
    let conf = "virtual_server 10.0.0.100 80 {
  delay_loop 10
  protocol TCP
  real_server 10.0.1.1 80 {
    TCP_CHECK {
    }
  }
  real_server 10.0.1.2 80 {
    TCP_CHECK {
    }
  }
  real_server 10.0.1.3 80 {
    TCP_CHECK {
      warmup 2
    }
  }
}
";
    let firsts = |seed: u64| {
        let loaded = parse_str("t.conf", conf, &Options::default()).unwrap();
        let mut e = Engine::with_seed(loaded.config, at(0), seed).unwrap();
        while e.poll_output().is_some() {}
        let mut times = Vec::new();
        while let Some(t) = e.poll_timeout() {
            e.handle_timeout(t);
            while let Some(o) = e.poll_output() {
                if let Output::RunProbe { checker, .. } = o {
                    times.push((checker.0, t));
                }
            }
            if times.len() == 3 {
                break;
            }
        }
        times.sort();
        times
    };
    let a = firsts(1);
    assert_eq!(a, firsts(1), "same seed, same schedule");
    assert_ne!(a, firsts(2), "another seed spreads differently");
    for (c, t) in &a {
        // warmup defaults to delay_loop: 1 s + [0, 10 s]; the third has warmup 2.
        let hi = if *c == 2 { 3000 } else { 11000 };
        assert!(*t >= at(1000) && *t <= at(hi), "checker {c} at {t}");
    }
}

fn http_conf(check: &str) -> String {
    format!(
        "virtual_server 10.0.0.100 80 {{
  delay_loop 6
  protocol TCP
  virtualhost www.example.com
  real_server 10.0.1.1 80 {{
    HTTP_GET {{
      warmup 0
      {check}
    }}
  }}
}}
"
    )
}

fn http(status: u16, md5: [u8; 16]) -> ProbeResult {
    ProbeResult::Http {
        status,
        body_md5: md5,
        body_len: 10,
    }
}

const DIGEST: [u8; 16] = [
    0x9b, 0x3a, 0x0c, 0x85, 0xa8, 0x87, 0xa2, 0x56, 0xd6, 0x93, 0x9d, 0xa8, 0x8e, 0x3d, 0x0b, 0x71,
];

#[test]
fn http_get_status_codes_digest_and_virtualhost() {
    let mut b = Bench::new(&http_conf(
        "nb_get_retry 1
      delay_before_retry 2
      url {
        path /health
        status_code 200 301-302
      }
      url {
        path /index.html
        digest 9b3a0c85a887a256d6939da88e3d0b71
        virtualhost other.example
      }",
    ));
    b.events();
    let p = b.probe_at(at(1000));
    match p {
        Probe::Http { path, host, .. } => {
            assert_eq!(path, "/health");
            assert_eq!(host, "www.example.com", "the virtual server's virtualhost");
        }
        _ => panic!("http"),
    }
    // 302 is in the list; the next URL comes delay_loop later.
    b.answer(at(1010), http(302, [0; 16]));
    match b.probe_at(at(7010)) {
        Probe::Http { path, host, .. } => {
            assert_eq!(path, "/index.html");
            assert_eq!(host, "other.example", "the URL's own virtualhost");
        }
        _ => panic!("http"),
    }
    b.answer(at(7020), http(200, DIGEST));
    assert!(b.events().is_empty(), "up all along");
    // The round starts again at the first URL.
    b.probe(at(13020), 10 * MS, http(200, [0; 16]));
    // A wrong digest is a failure, retried after delay_before_retry (2 s)...
    b.probe(at(19030), 10 * MS, http(200, [0; 16]));
    b.probe(at(21040), 10 * MS, http(200, DIGEST));
    assert!(
        b.events().is_empty(),
        "one failure is within nb_get_retry 1"
    );
    // ... a status outside the list likewise; the second failure in a row (retry_it 2 >
    // retry 1) takes the server out.
    b.probe(at(27050), 10 * MS, http(500, [0; 16]));
    b.probe(at(29060), 10 * MS, ProbeResult::Timeout);
    assert_eq!(
        b.events(),
        s(&["remove 10.0.1.1:80", "rs 10.0.1.1:80 down", "quorum down"])
    );
    // Down: the failed URL is probed every max(delay_before_retry, delay_loop) = 6 s; when
    // it passes, every URL must pass again from the first, delay_loop apart.
    b.probe(at(35070), 10 * MS, ProbeResult::Refused);
    b.probe(at(41080), 10 * MS, http(200, [0; 16]));
    match b.probe_at(at(47090)) {
        Probe::Http { path, .. } => assert_eq!(path, "/health", "from the first URL"),
        _ => panic!("http"),
    }
    b.answer(at(47100), http(200, [0; 16]));
    assert!(b.events().is_empty(), "not up before every URL passed");
    b.probe(at(53100), 10 * MS, http(200, DIGEST));
    assert_eq!(
        b.events(),
        s(&["add 10.0.1.1:80 w1", "rs 10.0.1.1:80 up", "quorum up"])
    );
}

#[test]
fn http_get_single_url_recovery_takes_two_passes_and_fast_recovery_skips_the_wait() {
    let slow = &http_conf("retry 0\nurl {\npath /\n}");
    let mut b = Bench::new(slow);
    b.events();
    b.probe(at(1000), MS, ProbeResult::Refused);
    assert_eq!(b.events().len(), 3, "down at the first failure");
    b.probe(at(7001), MS, http(200, [0; 16]));
    assert!(
        b.events().is_empty(),
        "the failed URL passes: all URLs again"
    );
    b.probe(at(13002), MS, http(200, [0; 16]));
    assert_eq!(b.events().len(), 3, "up after the second pass");

    let mut b = Bench::new(&http_conf("retry 0\nfast_recovery\nurl {\npath /\n}"));
    b.events();
    b.probe(at(1000), MS, ProbeResult::Refused);
    assert_eq!(b.events().len(), 3);
    // The failed URL is still probed max(dbr, delay_loop) later...
    b.probe(at(7001), MS, http(200, [0; 16]));
    // ... but with no failure known the full pass follows at once.
    b.probe(at(7002), MS, http(200, [0; 16]));
    assert_eq!(b.events().len(), 3, "up");
}

fn ssl_conf(vs_extra: &str, rs_extra: &str, check: &str) -> String {
    format!(
        "virtual_server 10.0.0.100 443 {{
  delay_loop 6
  protocol TCP
  {vs_extra}
  real_server 10.0.1.1 443 {{
    {rs_extra}
    SSL_GET {{
      warmup 0
      connect_timeout 2
      {check}
    }}
  }}
}}
"
    )
}

/// The TLS fields of an HTTP probe: (tls, sni, host, path).
fn tls_of(p: &Probe) -> (bool, Option<String>, String, String) {
    match p {
        Probe::Http {
            tls,
            sni,
            host,
            path,
            ..
        } => (*tls, sni.clone(), host.clone(), path.clone()),
        other => panic!("not an HTTP probe: {other:?}"),
    }
}

/// SSL_GET is HTTP_GET over TLS with the same timing (check_ssl.c shares check_http.c's
/// `epilog`): a TLS failure (`Broken`) or a timeout counts as a failed try, retried after
/// `delay_before_retry`; the probe asks for TLS with `connect_timeout`.
#[test]
fn ssl_get_probes_over_tls_with_http_get_timing() {
    let mut b = Bench::new(&ssl_conf(
        "",
        "",
        "retry 1\ndelay_before_retry 3\nurl {\npath /health\nstatus_code 200\n}",
    ));
    b.events();
    let p = b.probe_at(at(1000));
    assert_eq!(
        tls_of(&p),
        (true, None, "10.0.1.1:443".into(), "/health".into()),
        "no enable_sni: no server name; Host: is ADDR:PORT"
    );
    match &p {
        Probe::Http { connect, .. } => {
            assert_eq!(connect.dst, sa("10.0.1.1:443"));
            assert_eq!(connect.timeout, Duration::from_secs(2));
        }
        _ => unreachable!(),
    }
    b.answer(at(1020), http(200, [0; 16]));
    // A failed handshake: one failure, within retry 1; retried 3 s after its end.
    b.probe(at(7020), 5 * MS, ProbeResult::Broken);
    assert!(b.events().is_empty(), "one failure is within retry 1");
    b.probe(at(10025), 2000 * MS, ProbeResult::Timeout);
    assert_eq!(
        b.events(),
        s(&["remove 10.0.1.1:443", "rs 10.0.1.1:443 down", "quorum down"])
    );
    // Down: probed every max(delay_before_retry, delay_loop) = 6 s; one URL passes twice.
    b.probe(at(18025), 10 * MS, http(200, [0; 16]));
    assert!(b.events().is_empty());
    b.probe(at(24035), 10 * MS, http(200, [0; 16]));
    assert_eq!(
        b.events(),
        s(&["add 10.0.1.1:443 w1", "rs 10.0.1.1:443 up", "quorum up"])
    );
    b.probe_at(at(30045));
}

/// One case of the SNI test: virtual server, real server and checker lines, and per URL the
/// expected server name and `Host:`.
type SniCase = (
    &'static str,
    &'static str,
    &'static str,
    [(Option<&'static str>, &'static str); 2],
);

/// `enable_sni` sends as the TLS server name the URL's `virtualhost`, else the checker's,
/// else the virtual server's (check_ssl.c `ssl_connect`), skipping the real server's one,
/// which `Host:` does use (check_http.c `http_request`); no virtualhost at all: no name.
#[test]
fn enable_sni_takes_the_server_name_from_the_virtualhost_in_force() {
    let urls = "url {\npath /a\n}\nurl {\npath /b\nvirtualhost url.example\n}";
    // (vs lines, rs lines, checker lines, per URL: (SNI, Host:)).
    let cases: [SniCase; 5] = [
        (
            "virtualhost vs.example",
            "",
            "enable_sni",
            [
                (Some("vs.example"), "vs.example"),
                (Some("url.example"), "url.example"),
            ],
        ),
        (
            "virtualhost vs.example",
            "",
            "enable_sni\nvirtualhost chk.example",
            [
                (Some("chk.example"), "chk.example"),
                (Some("url.example"), "url.example"),
            ],
        ),
        (
            "virtualhost vs.example",
            "virtualhost rs.example",
            "enable_sni",
            [
                (Some("vs.example"), "rs.example"),
                (Some("url.example"), "url.example"),
            ],
        ),
        (
            "",
            "virtualhost rs.example",
            "enable_sni",
            [(None, "rs.example"), (Some("url.example"), "url.example")],
        ),
        (
            "virtualhost vs.example",
            "",
            "",
            [(None, "vs.example"), (None, "url.example")],
        ),
    ];
    for (vs, rs, check, want) in cases {
        let mut b = Bench::new(&ssl_conf(vs, rs, &format!("{check}\n{urls}")));
        b.events();
        // URL /a at 1 s, /b delay_loop after the end of the first.
        let first = b.probe_at(at(1000));
        b.answer(at(1010), http(200, [0; 16]));
        let second = b.probe_at(at(7010));
        for (p, (sni, host)) in [first, second].iter().zip(want) {
            let (tls, got_sni, got_host, _) = tls_of(p);
            assert!(tls);
            assert_eq!(
                (got_sni.as_deref(), got_host.as_str()),
                (sni, host),
                "{vs:?} {rs:?} {check:?}"
            );
        }
    }
}

fn misc_conf(check: &str) -> String {
    format!(
        "virtual_server 10.0.0.100 80 {{
  delay_loop 5
  protocol TCP
  lb_algo wrr
  real_server 10.0.1.1 80 {{
    weight 3
    MISC_CHECK {{
      warmup 0
      misc_path \"/usr/local/bin/check web1\"
      {check}
    }}
  }}
  real_server 10.0.1.2 80 {{
    weight 3
  }}
}}
"
    )
}

#[test]
fn misc_check_dynamic_weights_and_timing_from_the_start() {
    let mut b = Bench::new(&misc_conf("misc_dynamic\nmisc_timeout 2"));
    b.events();
    match b.probe_at(at(1000)) {
        Probe::Misc {
            command, timeout, ..
        } => {
            assert_eq!(command, "/usr/local/bin/check web1");
            assert_eq!(timeout, Duration::from_secs(2));
        }
        _ => panic!("misc"),
    }
    // Exit 12: weight 10. The next run is delay_loop after the start, not the end.
    b.answer(at(1500), ProbeResult::Exit(12));
    assert_eq!(b.events(), s(&["edit 10.0.1.1:80 w10"]));
    b.probe(at(6000), 300 * MS, ProbeResult::Exit(12));
    assert!(b.events().is_empty(), "same status, no change");
    // Exit 0 with misc_dynamic: back to the configured weight.
    b.probe(at(11000), MS, ProbeResult::Exit(0));
    assert_eq!(b.events(), s(&["edit 10.0.1.1:80 w3"]));
    // Exit 1 fails (misc's default retry is 0): out at once.
    b.probe(at(16000), MS, ProbeResult::Exit(1));
    assert_eq!(
        b.events(),
        s(&["remove 10.0.1.1:80", "rs 10.0.1.1:80 down"])
    );
    // Exit 2: up with weight 0.
    b.probe(at(21000), MS, ProbeResult::Exit(2));
    assert_eq!(b.events(), s(&["add 10.0.1.1:80 w0", "rs 10.0.1.1:80 up"]));
    assert_eq!(
        b.weights(),
        vec![(sa("10.0.1.1:80"), 0), (sa("10.0.1.2:80"), 3)]
    );
}

#[test]
fn misc_check_retries_and_kills() {
    let mut b = Bench::new(&misc_conf("retry 1\ndelay_before_retry 2"));
    b.events();
    b.probe(at(1000), MS, ProbeResult::Exit(0));
    b.probe(at(6000), MS, ProbeResult::Killed);
    // Retry delay_before_retry after the start.
    b.probe(at(8000), MS, ProbeResult::Exit(3));
    assert_eq!(
        b.events(),
        s(&["remove 10.0.1.1:80", "rs 10.0.1.1:80 down"])
    );
    // Without misc_dynamic, exit 3 is a failure like any non-zero status.
    b.probe(at(13000), MS, ProbeResult::Exit(0));
    assert_eq!(b.events(), s(&["add 10.0.1.1:80 w3", "rs 10.0.1.1:80 up"]));
}

#[test]
fn inhibit_on_failure_keeps_the_server_at_weight_zero() {
    let mut b = Bench::new(&one_tcp("", "inhibit_on_failure", "retry 0"));
    b.events();
    b.probe(at(1000), MS, ProbeResult::Refused);
    assert_eq!(
        b.events(),
        s(&["edit 10.0.1.1:80 w0", "rs 10.0.1.1:80 down", "quorum down"])
    );
    assert_eq!(b.weights(), vec![(sa("10.0.1.1:80"), 0)]);
    b.probe(at(6001), MS, ProbeResult::Connected);
    assert_eq!(
        b.events(),
        s(&["edit 10.0.1.1:80 w2", "rs 10.0.1.1:80 up", "quorum up"])
    );
}

#[test]
fn notify_up_and_down_scripts_ride_on_the_change() {
    let mut b = Bench::new(&one_tcp(
        "",
        "notify_up \"/bin/up web1\"\nnotify_down /bin/down",
        "retry 0",
    ));
    b.events();
    b.probe(at(1000), MS, ProbeResult::Refused);
    b.probe(at(6001), MS, ProbeResult::Connected);
    assert_eq!(
        b.events(),
        s(&[
            "remove 10.0.1.1:80",
            "rs 10.0.1.1:80 down [/bin/down]",
            "quorum down",
            "add 10.0.1.1:80 w2",
            "rs 10.0.1.1:80 up [/bin/up web1]",
            "quorum up",
        ])
    );
}

fn pool_conf(vs_extra: &str) -> String {
    let rs = |n: u8| {
        format!(
            "  real_server 10.0.1.{n} 80 {{\n    weight 1\n    TCP_CHECK {{\n      warmup 0\n      retry 0\n    }}\n  }}\n"
        )
    };
    format!(
        "virtual_server 10.0.0.100 80 {{
  delay_loop 5
  protocol TCP
  {vs_extra}
{}{}{}}}
",
        rs(1),
        rs(2),
        rs(3)
    )
}

/// Answers all pending probes at `t` with the given results, in checker order.
fn answer_all(b: &mut Bench, t: Instant, results: &[ProbeResult]) {
    b.run_until(t);
    assert_eq!(b.pending.len(), results.len());
    for r in results {
        b.answer(t, r.clone());
    }
}

#[test]
fn quorum_with_hysteresis_and_the_sorry_server() {
    // quorum 2, hysteresis 1: lost below 2 - 1 = 1 (i.e. at 0), regained at 2 + 1 = 3.
    let mut b = Bench::new(&pool_conf(
        "quorum 2\nhysteresis 1\nsorry_server 10.0.2.1 8080\nquorum_up /bin/qup\nquorum_down /bin/qdown",
    ));
    assert_eq!(
        b.events(),
        s(&[
            "add service TCP 10.0.0.100:80",
            "add 10.0.1.1:80 w1",
            "add 10.0.1.2:80 w1",
            "add 10.0.1.3:80 w1",
            "quorum up [/bin/qup]",
        ])
    );
    use ProbeResult::{Connected as C, Refused as R};
    answer_all(&mut b, at(1000), &[R, R, C]);
    assert_eq!(
        b.events(),
        s(&[
            "remove 10.0.1.1:80",
            "rs 10.0.1.1:80 down",
            "remove 10.0.1.2:80",
            "rs 10.0.1.2:80 down",
        ]),
        "live weight 1 is not below 2 - 1: the quorum holds"
    );
    answer_all(&mut b, at(6000), &[R, R, R]);
    assert_eq!(
        b.events(),
        s(&[
            "remove 10.0.1.3:80",
            "rs 10.0.1.3:80 down",
            "add 10.0.2.1:8080 w1",
            "quorum down [/bin/qdown]",
        ])
    );
    // Two come back: 2 < 2 + 1, still down; the sorry server stays and the kernel's pool is
    // left alone while it stands in.
    answer_all(&mut b, at(11000), &[C, C, R]);
    assert_eq!(b.events(), s(&["rs 10.0.1.1:80 up", "rs 10.0.1.2:80 up"]));
    assert_eq!(b.weights(), vec![(sa("10.0.2.1:8080"), 1)]);
    // The third: quorum regained, sorry server out, alive servers back in.
    answer_all(&mut b, at(16000), &[C, C, C]);
    assert_eq!(
        b.events(),
        s(&[
            "rs 10.0.1.3:80 up",
            "remove 10.0.2.1:8080",
            "add 10.0.1.1:80 w1",
            "add 10.0.1.2:80 w1",
            "add 10.0.1.3:80 w1",
            "quorum up [/bin/qup]",
        ])
    );
}

#[test]
fn sorry_server_inhibit_is_always_there_at_weight_zero_when_unused() {
    let mut b = Bench::new(&pool_conf(
        "sorry_server 10.0.2.1 8080\nsorry_server_inhibit\ninhibit_on_failure",
    ));
    assert_eq!(
        b.events(),
        s(&[
            "add service TCP 10.0.0.100:80",
            "add 10.0.1.1:80 w1",
            "add 10.0.1.2:80 w1",
            "add 10.0.1.3:80 w1",
            "quorum up",
            "add 10.0.2.1:8080 w0",
        ])
    );
    use ProbeResult::{Connected as C, Refused as R};
    answer_all(&mut b, at(1000), &[R, R, R]);
    let ev = b.events();
    assert_eq!(ev.last().map(String::as_str), Some("quorum down"), "{ev:?}");
    assert_eq!(
        b.weights(),
        vec![
            (sa("10.0.1.1:80"), 0),
            (sa("10.0.1.2:80"), 0),
            (sa("10.0.1.3:80"), 0),
            (sa("10.0.2.1:8080"), 1),
        ]
    );
    answer_all(&mut b, at(6000), &[C, R, R]);
    let snap = b.engine.snapshot();
    let vs = &snap.virtual_servers[0];
    assert!(vs.quorum_up && !vs.sorry_active);
    assert_eq!(
        vs.real_servers
            .iter()
            .map(|r| (r.alive, r.failed_checkers, r.checkers_up.clone()))
            .collect::<Vec<_>>(),
        vec![
            (true, 0, vec![true]),
            (false, 1, vec![false]),
            (false, 1, vec![false])
        ]
    );
    assert_eq!(
        b.weights(),
        vec![
            (sa("10.0.1.1:80"), 1),
            (sa("10.0.1.2:80"), 0),
            (sa("10.0.1.3:80"), 0),
            (sa("10.0.2.1:8080"), 0),
        ]
    );
}

#[test]
fn alpha_starts_failed_with_the_sorry_server_in() {
    let mut b = Bench::new(&pool_conf("alpha\nsorry_server 10.0.2.1 8080"));
    assert_eq!(
        b.events(),
        s(&[
            "add service TCP 10.0.0.100:80",
            "add 10.0.2.1:8080 w1",
            "quorum down",
        ])
    );
    use ProbeResult::{Connected as C, Refused as R};
    answer_all(&mut b, at(1000), &[R, C, R]);
    assert_eq!(
        b.events(),
        s(&[
            "rs 10.0.1.1:80 down",
            "rs 10.0.1.2:80 up",
            "remove 10.0.2.1:8080",
            "add 10.0.1.2:80 w1",
            "quorum up",
            "rs 10.0.1.3:80 down",
        ]),
        "alpha: a first failure notifies; the first success (notified first, as \
         perform_svr_state does) brings the quorum, which swaps the sorry server out"
    );
}

#[test]
fn shutdown_removes_everything_and_omega_notifies() {
    let mut b = Bench::new(&pool_conf("omega\ninhibit_on_failure"));
    b.events();
    use ProbeResult::{Connected as C, Refused as R};
    answer_all(&mut b, at(1000), &[R, C, C]);
    b.events();
    b.engine.handle(at(2000), Input::Shutdown);
    b.drain();
    assert_eq!(
        b.events(),
        s(&[
            "remove 10.0.1.1:80",
            "remove 10.0.1.2:80",
            "rs 10.0.1.2:80 down",
            "remove 10.0.1.3:80",
            "rs 10.0.1.3:80 down",
            "quorum down",
            "remove service TCP 10.0.0.100:80",
        ])
    );
    assert!(b.table.services.is_empty());
    assert_eq!(b.engine.poll_timeout(), None);
    // Without omega: the same removals, no notifications.
    let mut b = Bench::new(&pool_conf(""));
    b.events();
    b.engine.handle(at(500), Input::Shutdown);
    b.drain();
    assert_eq!(
        b.events(),
        s(&[
            "remove 10.0.1.1:80",
            "remove 10.0.1.2:80",
            "remove 10.0.1.3:80",
            "remove service TCP 10.0.0.100:80",
        ])
    );
}

#[test]
fn stale_and_unknown_results_are_ignored() {
    let mut b = Bench::new(&one_tcp("", "", "retry 0"));
    b.events();
    b.run_until(at(1000));
    let (checker, seq, _, _) = b.pending[0].clone();
    for (c, q) in [(checker, seq + 1), (CheckerId(99), seq)] {
        b.engine.handle(
            at(1001),
            Input::ProbeResult {
                checker: c,
                seq: q,
                result: ProbeResult::Refused,
            },
        );
    }
    b.drain();
    assert!(b.events().is_empty());
    b.answer(at(1002), ProbeResult::Connected);
    // The same answer twice: the second is stale.
    b.engine.handle(
        at(1003),
        Input::ProbeResult {
            checker,
            seq,
            result: ProbeResult::Refused,
        },
    );
    b.drain();
    assert!(b.events().is_empty());
    b.probe_at(at(6002));
}

#[test]
fn service_forms_fwmark_persistence_and_dr_ports() {
    let conf = "virtual_server fwmark 5 {
  delay_loop 5
  lb_algo sh
  sh-port
  lb_kind DR
  persistence_timeout 50
  persistence_granularity 255.255.255.0
  real_server 10.0.1.1 80 {
    weight 4
  }
  real_server 10.0.1.2 80 {
    lvs_method NAT
  }
}
virtual_server 10.0.0.100 443 {
  protocol TCP
  lb_kind DR
  real_server 10.0.1.1 8443 {
  }
}
";
    let b = Bench::new(conf);
    let (svc, dests) = &b.table.services[&ServiceKey::Fwmark {
        family: vrrp_engine::Family::Ipv4,
        mark: 5,
    }];
    assert_eq!(svc.timeout, 50);
    assert_eq!(svc.netmask, 0xffff_ff00);
    assert_eq!(svc.scheduler, "sh");
    let d: Vec<&IpvsDest> = dests.values().collect();
    assert_eq!(
        d[0].addr,
        sa("10.0.1.1:0"),
        "DR to a fwmark service: port 0"
    );
    assert_eq!(d[0].forwarding, Forwarding::Dr);
    assert_eq!(d[1].addr, sa("10.0.1.2:80"), "NAT keeps its port");
    let lines = b.table.to_ipvsadm_lines();
    assert!(
        lines.contains(&"  -> 10.0.1.1:443 Route 1".to_string()),
        "DR takes the virtual port: {lines:?}"
    );
}

impl Bench {
    /// keepalived's reload with `conf` at `t`.
    fn reload(&mut self, t: Instant, conf: &str) -> vrrp_engine::ReconfigureSummary {
        self.run_until(t);
        let loaded = parse_str("test.conf", conf, &Options::default()).expect("config loads");
        let s = self.engine.reconfigure(t, loaded.config).expect("reload");
        self.drain();
        s
    }
}

#[test]
fn reload_keeps_state_and_restarts_the_checkers() {
    let conf = pool_conf("");
    let mut b = Bench::new(&conf);
    b.events();
    use ProbeResult::{Connected as C, Refused as R};
    answer_all(&mut b, at(1000), &[R, C, C]);
    b.events();
    // The same file: nothing changes in IPVS, the down server stays out.
    let s = b.reload(at(2500), &conf);
    assert_eq!(s.virtual_servers.kept.len(), 1);
    assert!(b.events().is_empty());
    assert_eq!(
        b.weights(),
        vec![(sa("10.0.1.2:80"), 1), (sa("10.0.1.3:80"), 1)]
    );
    // Every checker starts again 1 s after the reload (warmup 0), not at 6 s.
    b.run_until(at(3499));
    assert!(b.pending.is_empty());
    answer_all(&mut b, at(3500), &[R, C, C]);
    assert!(
        b.events().is_empty(),
        "the failed server was still known down"
    );
    answer_all(&mut b, at(8500), &[C, C, C]);
    assert_eq!(b.events(), s_(&["add 10.0.1.1:80 w1", "rs 10.0.1.1:80 up"]));
}

fn s_(v: &[&str]) -> Vec<String> {
    s(v)
}

#[test]
fn reload_adds_removes_and_edits() {
    let mut b = Bench::new(&pool_conf(""));
    b.events();
    let new = "virtual_server 10.0.0.100 80 {
  delay_loop 5
  protocol TCP
  lb_algo rr
  real_server 10.0.1.1 80 {
    weight 1
    TCP_CHECK {
      warmup 0
      retry 0
    }
  }
  real_server 10.0.1.4 80 {
    weight 5
  }
}
virtual_server 10.0.0.200 443 {
  protocol TCP
  real_server 10.0.1.9 443 {
  }
}
";
    let s = b.reload(at(500), new);
    assert_eq!(s.virtual_servers.kept.len(), 1);
    assert_eq!(s.virtual_servers.added.len(), 1);
    assert_eq!(
        b.events(),
        s_(&[
            "edit service TCP 10.0.0.100:80",
            "remove 10.0.1.2:80",
            "rs 10.0.1.2:80 down",
            "remove 10.0.1.3:80",
            "rs 10.0.1.3:80 down",
            "add 10.0.1.4:80 w5",
            "add service TCP 10.0.0.200:443",
            "add 10.0.1.9:443 w1",
            "quorum up",
        ])
    );
    assert_eq!(
        b.table.to_ipvsadm_lines(),
        s_(&[
            "TCP 10.0.0.100:80 rr",
            "  -> 10.0.1.1:80 Masq 1",
            "  -> 10.0.1.4:80 Masq 5",
            "TCP 10.0.0.200:443 wlc",
            "  -> 10.0.1.9:443 Masq 1",
        ])
    );
    // Removing a virtual server takes it out with its real servers.
    let s = b.reload(at(900), &pool_conf(""));
    assert_eq!(s.virtual_servers.removed.len(), 1);
    let ev = b.events();
    assert!(
        ev.contains(&"remove service TCP 10.0.0.200:443".to_string()),
        "{ev:?}"
    );
    assert_eq!(b.table.services.len(), 1);
}

#[test]
fn a_result_from_before_a_reload_is_stale() {
    let conf = one_tcp("", "", "retry 0");
    let mut b = Bench::new(&conf);
    b.events();
    b.run_until(at(1000));
    let (checker, seq, _, _) = b.pending.remove(0);
    b.reload(at(1200), &conf);
    b.engine.handle(
        at(1300),
        Input::ProbeResult {
            checker,
            seq,
            result: ProbeResult::Refused,
        },
    );
    b.drain();
    assert!(
        b.events().is_empty(),
        "the probe belonged to the replaced checker"
    );
    b.probe_at(at(2200));
}

#[test]
fn a_probe_that_could_not_run_reschedules_without_a_verdict() {
    let mut b = Bench::new(&one_tcp("", "", "retry 0"));
    b.events();
    b.probe(at(1000), MS, ProbeResult::NotRun);
    b.probe(at(6001), MS, ProbeResult::NotRun);
    assert!(
        b.events().is_empty(),
        "neither up nor down: nothing was tried"
    );
    b.probe(at(11002), MS, ProbeResult::Refused);
    assert_eq!(
        b.events(),
        s(&["remove 10.0.1.1:80", "rs 10.0.1.1:80 down", "quorum down"]),
        "the first real failure still counts at once"
    );
    // A MISC_CHECK whose script cannot start passes (keepalived's child exits 0).
    let mut b = Bench::new(&misc_conf(""));
    b.events();
    b.probe(at(1000), MS, ProbeResult::NotRun);
    assert!(b.events().is_empty());
    b.probe_at(at(6000));
}

fn group_conf(entries: &str) -> String {
    format!(
        "virtual_server_group web {{
{entries}
}}
virtual_server group web {{
  delay_loop 5
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 10.0.1.1 80 {{
    TCP_CHECK {{
      warmup 0
      retry 0
    }}
  }}
  real_server 10.0.1.2 8080 {{
    lvs_method NAT
  }}
}}
"
    )
}

#[test]
fn a_group_programs_every_address_and_fwmark_with_the_same_servers() {
    let mut b = Bench::new(&group_conf(
        "  10.0.0.10-11 80\n  10.0.0.20 443\n  fwmark 7",
    ));
    assert_eq!(
        b.table.to_ipvsadm_lines(),
        s(&[
            "TCP 10.0.0.10:80 rr",
            "  -> 10.0.1.1:80 Route 1",
            "  -> 10.0.1.2:8080 Masq 1",
            "TCP 10.0.0.11:80 rr",
            "  -> 10.0.1.1:80 Route 1",
            "  -> 10.0.1.2:8080 Masq 1",
            "TCP 10.0.0.20:443 rr",
            "  -> 10.0.1.1:443 Route 1",
            "  -> 10.0.1.2:8080 Masq 1",
            "FWM 7 rr",
            "  -> 10.0.1.1:0 Route 1",
            "  -> 10.0.1.2:8080 Masq 1",
        ]),
        "DR takes each service's port (0 for the fwmark), NAT keeps its own"
    );
    b.events();
    // One checker for the real server, whatever the number of services: down everywhere.
    b.probe(at(1000), MS, ProbeResult::Refused);
    assert_eq!(
        b.events(),
        s(&[
            "remove 10.0.1.1:80",
            "remove 10.0.1.1:80",
            "remove 10.0.1.1:443",
            "remove 10.0.1.1:0",
            "rs 10.0.1.1:80 down",
        ])
    );
    // A reload that drops an entry and adds one: the old service goes, the new one comes
    // with the servers in the table.
    let s2 = b.reload(
        at(2000),
        &group_conf("  10.0.0.10-11 80\n  fwmark 7\n  10.0.0.30 80"),
    );
    assert_eq!(s2.virtual_servers.kept.len(), 1);
    assert_eq!(
        b.events(),
        s(&[
            "remove service TCP 10.0.0.20:443",
            "add service TCP 10.0.0.30:80",
            "add 10.0.1.2:8080 w1",
        ])
    );
    b.engine.handle(at(3000), Input::Shutdown);
    b.drain();
    assert!(b.table.services.is_empty(), "{:?}", b.table);
}

#[test]
fn group_entries_are_checked() {
    let bad = |entries: &str| -> Vec<String> {
        match parse_str("g.conf", &group_conf(entries), &Options::default()) {
            Ok(_) => Vec::new(),
            // The errors (a group left with only its fwmark also gets keepalived's
            // warning about the virtual server's `protocol`).
            Err(f) => {
                f.0.iter()
                    .map(|x| x.to_string())
                    .filter(|x| x.contains(": error: "))
                    .collect()
            }
        }
    };
    assert_eq!(
        bad("  10.0.0.9-3 80"),
        ["g.conf:2:3: error: virtual_server_group entry `10.0.0.9-3`: range end is not greater than its start"]
    );
    assert_eq!(
        bad("  10.0.0.1/24 80"),
        ["g.conf:2:3: error: virtual_server_group entry `10.0.0.1/24`: address mask bits not empty"]
    );
    assert_eq!(
        bad("  10.0.0.0/8 80"),
        ["g.conf:2:3: error: virtual_server_group entry `10.0.0.0/8` spans 16777216 addresses: more than the 65536 services vrrpd-real programs for one entry"]
    );
    assert!(bad("  10.0.0.0/30 80\n  fwmark 3 inet6").is_empty());
    let unknown = parse_str(
        "g.conf",
        "virtual_server group nope {\n  protocol TCP\n  real_server 10.0.1.1 80 {\n  }\n}\n",
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(
        unknown.0[0].to_string(),
        "g.conf:1:22: error: no virtual_server_group `nope` in the file"
    );
}

#[test]
fn checker_settings_resolve_inheritance_and_defaults() {
    use vrrp_engine::lvs::{checker_settings, real_servers, CheckerClass};
    let conf = "virtual_server 10.0.0.100 80 {
  delay_loop 6
  lb_kind DR
  protocol TCP
  retry 2
  real_server 10.0.1.1 8080 {
    inhibit_on_failure
    TCP_CHECK {
      connect_timeout 3
    }
  }
  real_server 10.0.1.2 80 {
    HTTP_GET {
      url {
        path /health
      }
      retry 0
    }
    MISC_CHECK {
      misc_path /bin/true
    }
  }
}
";
    let loaded = parse_str("test.conf", conf, &Options::default()).expect("config loads");
    let vs = &loaded.config;
    let c = checker_settings(vs);
    assert_eq!(c.len(), 3);
    // DR: the real server's port becomes the virtual port.
    assert_eq!(c[0].real_server, sa("10.0.1.1:80"));
    assert_eq!(c[0].class, CheckerClass::Tcp);
    assert_eq!(
        (
            c[0].retry,
            c[0].delay_before_retry,
            c[0].timeout,
            c[0].inhibit
        ),
        (2, Duration::from_secs(1), Duration::from_secs(3), true)
    );
    assert_eq!(c[0].delay_loop, Duration::from_secs(6));
    assert_eq!(c[0].warmup, Duration::from_secs(6));
    // HTTP: its own retry, HTTP's default delay_before_retry, the default connect_timeout.
    assert!(matches!(&c[1].class, CheckerClass::Http { urls, .. } if urls.len() == 1));
    assert_eq!(
        (c[1].retry, c[1].delay_before_retry, c[1].timeout),
        (0, Duration::from_secs(3), Duration::from_secs(5))
    );
    // MISC: the virtual server's retry, misc_timeout = delay_loop.
    assert_eq!(c[2].class, CheckerClass::Misc { dynamic: false });
    assert_eq!((c[2].retry, c[2].timeout), (2, Duration::from_secs(6)));
    assert_eq!(
        real_servers(vs)
            .into_iter()
            .map(|r| r.1)
            .collect::<Vec<_>>(),
        [sa("10.0.1.1:80"), sa("10.0.1.2:80")]
    );
}

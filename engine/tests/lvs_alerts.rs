//! The checker process's SMTP alerts with exact times: which verdicts and quorum changes
//! mail, with keepalived 2.2.7's subjects and bodies, and where each mail comes among the
//! IPVS changes and notifications (check_tcp.c `tcp_epilog`, check_http.c `epilog`,
//! check_misc.c `misc_check_child_thread`, ipwrapper.c `do_vs_notifies` and
//! `clear_service_rs`, core/smtp.c `smtp_alert` and check_data.c `format_vs` / `format_rs`;
//! inheritance from check_data.c `validate_check_config`).

use std::collections::VecDeque;
use std::time::Duration;
use vrrp_engine::keepalived::{parse_str, Options};
use vrrp_engine::lvs::{CheckerId, IpvsChange, ProbeResult};
use vrrp_engine::{Engine, Input, Instant, Output};

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

const MS: Duration = Duration::from_millis(1);

/// Mail on: recipients and a server, as keepalived needs before it sends anything.
const MAIL: &str = "global_defs {
  router_id lb1
  notification_email { ops@example.com }
  smtp_server 192.0.2.25
";

/// An engine on a keepalived file, the outputs seen so far and the probes not answered.
struct Bench {
    engine: Engine,
    out: VecDeque<Output>,
    pending: Vec<(CheckerId, u64, Instant)>,
}

impl Bench {
    fn new(conf: &str) -> Bench {
        let loaded = parse_str("test.conf", conf, &Options::default()).expect("config loads");
        let engine = Engine::with_seed(loaded.config, at(0), 7).expect("engine");
        let mut b = Bench {
            engine,
            out: VecDeque::new(),
            pending: Vec::new(),
        };
        b.drain(at(0));
        b
    }

    fn drain(&mut self, now: Instant) {
        while let Some(o) = self.engine.poll_output() {
            if let Output::RunProbe { checker, seq, .. } = &o {
                self.pending.push((*checker, *seq, now));
            }
            self.out.push_back(o);
        }
    }

    fn run_until(&mut self, t: Instant) {
        while let Some(d) = self.engine.poll_timeout() {
            if d > t {
                break;
            }
            self.engine.handle_timeout(d);
            self.drain(d);
        }
    }

    /// Expects checker `c`'s probe exactly at `t` and answers it `d` later.
    fn probe_of(&mut self, c: u32, t: Instant, d: Duration, result: ProbeResult) {
        self.run_until(t);
        let i = self
            .pending
            .iter()
            .position(|p| p.0 == CheckerId(c))
            .unwrap_or_else(|| panic!("no probe of checker {c} pending at {t}"));
        let (checker, seq, when) = self.pending.remove(i);
        assert_eq!(when, t, "probe time of checker {c}");
        self.run_until(t + d);
        self.engine.handle(
            t + d,
            Input::ProbeResult {
                checker,
                seq,
                result,
            },
        );
        self.drain(t + d);
    }

    /// The only checker's probe.
    fn probe(&mut self, t: Instant, d: Duration, result: ProbeResult) {
        self.probe_of(0, t, d, result);
    }

    /// IPVS destination changes, notifications and mails since the last call.
    fn events(&mut self) -> Vec<String> {
        let mut v = Vec::new();
        while let Some(o) = self.out.pop_front() {
            match o {
                Output::Ipvs(IpvsChange::AddDest { dest, .. }) => {
                    v.push(format!("add {} w{}", dest.addr, dest.weight))
                }
                Output::Ipvs(IpvsChange::EditDest { dest, .. }) => {
                    v.push(format!("edit {} w{}", dest.addr, dest.weight))
                }
                Output::Ipvs(IpvsChange::RemoveDest { addr, .. }) => {
                    v.push(format!("remove {addr}"))
                }
                Output::RealServerChanged {
                    real_server, alive, ..
                } => v.push(format!(
                    "rs {real_server} {}",
                    if alive { "up" } else { "down" }
                )),
                Output::QuorumChanged { up, .. } => {
                    v.push(format!("quorum {}", if up { "up" } else { "down" }))
                }
                Output::Alert(a) => v.push(format!("mail {} | {}", a.subject_with("lb1"), a.body)),
                _ => {}
            }
        }
        v
    }

    /// Only the mails since the last call.
    fn mails(&mut self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter(|e| e.starts_with("mail "))
            .collect()
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// One TCP_CHECK real server (weight 2) on 10.0.0.100:80, warmup 0, delay_loop 5, retry 1.
fn one_tcp(global: &str, vs: &str, rs: &str, check: &str) -> String {
    format!(
        "{global}
}}
virtual_server 10.0.0.100 80 {{
  delay_loop 5
  lb_kind NAT
  protocol TCP
  {vs}
  real_server 10.0.1.1 80 {{
    weight 2
    {rs}
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

const RS_DOWN: &str = "mail [lb1] Realserver [10.0.1.1]:tcp:80 of virtual server \
                       [10.0.0.100]:tcp:80 - DOWN | => TCP CHECK failed on service <=";
const RS_UP: &str = "mail [lb1] Realserver [10.0.1.1]:tcp:80 of virtual server \
                     [10.0.0.100]:tcp:80 - UP | => TCP CHECK succeed on service <=";

#[test]
fn tcp_check_mails_down_after_the_retries_and_up_after_the_quorum_mail() {
    let mut b = Bench::new(&one_tcp(MAIL, "smtp_alert", "", ""));
    // At start: the quorum is gained once the real server is in (`init_service_vs`).
    assert_eq!(
        b.events(),
        s(&[
            "add 10.0.1.1:80 w2",
            "quorum up",
            "mail [lb1] Virtualserver [10.0.0.100]:tcp:80 - UP \
             | => Starting with quorum up 1+0=1 <= 2 <=",
        ])
    );
    // The first success changes nothing: no mail (`checker_was_up`).
    b.probe(at(1000), 10 * MS, ProbeResult::Connected);
    assert_eq!(b.events(), s(&[]));
    // A refusal is retried once, 1 s later; the second takes the server out.
    b.probe(at(6010), 5 * MS, ProbeResult::Refused);
    assert_eq!(b.events(), s(&[]));
    b.probe(at(7015), 5 * MS, ProbeResult::Refused);
    assert_eq!(
        b.events(),
        s(&[
            "remove 10.0.1.1:80",
            "rs 10.0.1.1:80 down",
            "quorum down",
            "mail [lb1] Virtualserver [10.0.0.100]:tcp:80 - DOWN \
             | => Lost quorum 1+0=1 <= 0 <=",
            RS_DOWN,
        ])
    );
    // Still failing (retried as before): nothing more.
    b.probe(at(12020), 5 * MS, ProbeResult::Refused);
    b.probe(at(13025), 5 * MS, ProbeResult::Refused);
    assert_eq!(b.events(), s(&[]));
    // Back.
    b.probe(at(18030), 5 * MS, ProbeResult::Connected);
    assert_eq!(
        b.events(),
        s(&[
            "add 10.0.1.1:80 w2",
            "rs 10.0.1.1:80 up",
            "quorum up",
            "mail [lb1] Virtualserver [10.0.0.100]:tcp:80 - UP \
             | => Gained quorum 1+0=1 <= 2 <=",
            RS_UP,
        ])
    );
}

#[test]
fn real_servers_mail_by_default_virtual_servers_do_not() {
    let down = |global: &str, vs: &str, rs: &str| {
        let mut b = Bench::new(&one_tcp(global, vs, rs, "retry 0"));
        b.probe(at(1000), MS, ProbeResult::Refused);
        b.mails()
    };
    // keepalived 2.2.7: a real server's smtp_alert defaults to on, a virtual server's off.
    assert_eq!(down(MAIL, "", ""), s(&[RS_DOWN]));
    // No mail without recipients and a server.
    assert_eq!(down("global_defs {", "smtp_alert", "smtp_alert"), s(&[]));
    // The real server's own setting, then smtp_alert_checker, then smtp_alert.
    assert_eq!(down(MAIL, "", "smtp_alert false"), s(&[]));
    let checker_off = format!("{MAIL} smtp_alert_checker false");
    assert_eq!(down(&checker_off, "", ""), s(&[]));
    assert_eq!(down(&checker_off, "", "smtp_alert on"), s(&[RS_DOWN]));
    let all_off = format!("{MAIL} smtp_alert false");
    assert_eq!(down(&all_off, "", ""), s(&[]));
    let checker_on = format!("{MAIL} smtp_alert false\n smtp_alert_checker");
    assert_eq!(
        down(&checker_on, "", "").len(),
        3,
        "VS at start, then VS and RS"
    );
    // smtp_alert_vrrp is for VRRP instances only.
    let vrrp_off = format!("{MAIL} smtp_alert_vrrp false");
    assert_eq!(down(&vrrp_off, "", ""), s(&[RS_DOWN]));
}

#[test]
fn alpha_mails_the_first_success_and_not_the_first_failure() {
    // alpha: the server starts out; its first success brings it in (the checker was down).
    let mut b = Bench::new(&one_tcp(MAIL, "", "", "alpha"));
    assert_eq!(b.events(), s(&[]));
    b.probe(at(1000), MS, ProbeResult::Connected);
    assert_eq!(
        b.events(),
        s(&[
            "add 10.0.1.1:80 w2",
            "rs 10.0.1.1:80 up",
            "quorum up",
            RS_UP
        ])
    );
    // alpha, first result a failure: notified (`update_svr_checker_state`), not mailed.
    let mut b = Bench::new(&one_tcp(MAIL, "", "", "alpha"));
    b.probe(at(1000), MS, ProbeResult::Refused);
    assert_eq!(b.events(), s(&["rs 10.0.1.1:80 down"]));
}

#[test]
fn no_checker_emails_keeps_only_mails_that_move_the_server() {
    // Two checkers on one server: the second failure leaves it out, as it already is.
    let conf = |global: &str| {
        format!(
            "{global}
}}
virtual_server 10.0.0.100 80 {{
  delay_loop 5
  protocol TCP
  real_server 10.0.1.1 80 {{
    TCP_CHECK {{
      warmup 0
      retry 0
    }}
    TCP_CHECK {{
      warmup 0
      retry 0
      connect_port 8080
    }}
  }}
}}
"
        )
    };
    let down = "mail [lb1] Realserver [10.0.1.1]:tcp:80 of virtual server \
                [10.0.0.100]:tcp:80 - DOWN | => TCP CHECK failed on service <=";
    let up = "mail [lb1] Realserver [10.0.1.1]:tcp:80 of virtual server \
              [10.0.0.100]:tcp:80 - UP | => TCP CHECK succeed on service <=";
    let run = |global: &str| {
        let mut b = Bench::new(&conf(global));
        b.probe_of(0, at(1000), MS, ProbeResult::Refused);
        let first = b.mails();
        b.probe_of(1, at(1000), 2 * MS, ProbeResult::Refused);
        let second = b.mails();
        b.probe_of(0, at(6001), MS, ProbeResult::Connected);
        let third = b.mails();
        b.probe_of(1, at(6002), MS, ProbeResult::Connected);
        (first, second, third, b.mails())
    };
    // Every checker change mails, with the server's state (still DOWN after the first
    // recovery: the other checker fails).
    assert_eq!(
        run(MAIL),
        (
            s(&[down]),
            s(&[down]),
            s(&[up.replace("- UP", "- DOWN").as_str()]),
            s(&[up])
        )
    );
    let quiet = format!("{MAIL} no_checker_emails");
    assert_eq!(run(&quiet), (s(&[down]), s(&[]), s(&[]), s(&[up])));
    let loud = format!("{MAIL} no_checker_emails false");
    assert_eq!(run(&loud).1, s(&[down]));
}

#[test]
fn http_get_mails_keepalived_bodies() {
    let conf = format!(
        "{MAIL}
}}
virtual_server 10.0.0.100 80 {{
  delay_loop 5
  protocol TCP
  real_server 10.0.1.1 80 {{
    HTTP_GET {{
      url {{
        path /
        status_code 200
      }}
      warmup 0
      retry 0
      delay_before_retry 2
    }}
  }}
}}
"
    );
    let mut b = Bench::new(&conf);
    let ok = ProbeResult::Http {
        status: 200,
        body_md5: [0; 16],
        body_len: 0,
    };
    b.probe(at(1000), MS, ok.clone());
    assert_eq!(b.mails(), s(&[]));
    b.probe(at(6001), MS, ProbeResult::Timeout);
    assert_eq!(
        b.events(),
        s(&[
            "remove 10.0.1.1:80",
            "rs 10.0.1.1:80 down",
            "quorum down",
            "mail [lb1] Realserver [10.0.1.1]:tcp:80 of virtual server [10.0.0.100]:tcp:80 \
             - DOWN | => CHECK failed on service : HTTP request failed <=",
        ])
    );
    // The failed URL again after max(delay_before_retry, delay_loop), then every URL.
    b.probe(at(11002), MS, ok.clone());
    assert_eq!(b.mails(), s(&[]));
    b.probe(at(16003), MS, ok);
    assert_eq!(
        b.mails(),
        s(&[
            "mail [lb1] Realserver [10.0.1.1]:tcp:80 of virtual server [10.0.0.100]:tcp:80 \
             - UP | => CHECK succeed on service <="
        ])
    );
}

#[test]
fn misc_check_mails_its_first_result_and_says_how_the_script_ended() {
    let conf = format!(
        "{MAIL}
}}
virtual_server 10.0.0.100 80 {{
  delay_loop 5
  protocol TCP
  real_server 10.0.1.1 80 {{
    MISC_CHECK {{
      misc_path /bin/true
      misc_timeout 2
      warmup 0
      retry 1
    }}
  }}
}}
"
    );
    let subject = |st: &str| {
        format!(
            "mail [lb1] Realserver [10.0.1.1]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - {st}"
        )
    };
    let mut b = Bench::new(&conf);
    // The first success mails though nothing changed (no `checker_was_up` in check_misc.c).
    b.probe(at(1000), 20 * MS, ProbeResult::Exit(0));
    assert_eq!(
        b.mails(),
        s(&[&format!(
            "{} | => MISC CHECK succeeded on service <=",
            subject("UP")
        )])
    );
    // Later successes do not. Timed from the script's start.
    b.probe(at(6000), 20 * MS, ProbeResult::Exit(0));
    assert_eq!(b.mails(), s(&[]));
    // Killed at misc_timeout: retried once, then "timed out".
    b.probe(at(11000), 500 * MS, ProbeResult::Killed);
    assert_eq!(b.mails(), s(&[]));
    b.probe(at(12000), 500 * MS, ProbeResult::Killed);
    assert_eq!(
        b.events(),
        s(&[
            "remove 10.0.1.1:80",
            "rs 10.0.1.1:80 down",
            "quorum down",
            &format!(
                "{} | => MISC CHECK timed out on service <=",
                subject("DOWN")
            ),
        ])
    );
    b.probe(at(17000), 20 * MS, ProbeResult::Exit(0));
    assert_eq!(
        b.mails(),
        s(&[&format!(
            "{} | => MISC CHECK succeeded on service <=",
            subject("UP")
        )])
    );
    // A non-zero exit: "failed" (the exit code is only logged).
    b.probe(at(22000), 20 * MS, ProbeResult::Exit(3));
    b.probe(at(23000), 20 * MS, ProbeResult::Exit(3));
    assert_eq!(
        b.mails(),
        s(&[&format!(
            "{} | => MISC CHECK failed on service <=",
            subject("DOWN")
        )])
    );
}

#[test]
fn addresses_are_printed_as_keepalived_prints_them() {
    let first_mail = |vs_head: &str, rs: &str, proto: &str| {
        let conf = format!(
            "{MAIL}
}}
virtual_server_group grp {{
  10.0.0.110 80
}}
virtual_server_group marks {{
  fwmark 7
}}
virtual_server {vs_head} {{
  delay_loop 5
  lb_kind DR
  {proto}
  real_server {rs} {{
    TCP_CHECK {{
      warmup 0
      retry 0
      connect_port 80
    }}
  }}
}}
"
        );
        let mut b = Bench::new(&conf);
        b.probe(at(1000), MS, ProbeResult::Refused);
        let m = b.mails();
        assert_eq!(m.len(), 1, "{vs_head}: {m:?}");
        m[0].trim_start_matches("mail [lb1] Realserver ")
            .trim_end_matches(" - DOWN | => TCP CHECK failed on service <=")
            .to_string()
    };
    // IPv6 in brackets; no protocol is UDP; DR takes the virtual port.
    assert_eq!(
        first_mail("2001:db8::100 443", "2001:db8::1 8443", ""),
        "[2001:db8::1]:udp:443 of virtual server [2001:db8::100]:udp:443"
    );
    assert_eq!(
        first_mail("10.0.0.100 5060", "10.0.1.1 5060", "protocol SCTP"),
        "[10.0.1.1]:sctp:5060 of virtual server [10.0.0.100]:sctp:5060"
    );
    // A fwmark service has no protocol ("none", even if one is given) and DR port 0.
    assert_eq!(
        first_mail("fwmark 5", "10.0.1.1 80", "protocol TCP"),
        "[10.0.1.1]:none:0 of virtual server FWM 5"
    );
    // A group: its name and the virtual server's rank among the group's users.
    assert_eq!(
        first_mail("group grp", "10.0.1.1 80", "protocol TCP"),
        "[10.0.1.1]:tcp:80 of virtual server [grp]:0"
    );
    assert_eq!(
        first_mail("group marks", "10.0.1.1 80", ""),
        "[10.0.1.1]:none:80 of virtual server [marks]:0"
    );
}

#[test]
fn a_reload_that_removes_a_real_server_mails_removing_and_shutdown_mails_nothing() {
    let conf = |second: bool| {
        format!(
            "{MAIL}
}}
virtual_server 10.0.0.100 80 {{
  delay_loop 5
  protocol TCP
  omega
  smtp_alert
  real_server 10.0.1.1 80 {{
    TCP_CHECK {{
      warmup 0
    }}
  }}
{}
}}
",
            if second {
                "real_server 10.0.1.2 80 {\n TCP_CHECK {\n warmup 0\n }\n }"
            } else {
                ""
            }
        )
    };
    let mut b = Bench::new(&conf(true));
    b.events();
    let loaded = parse_str("test.conf", &conf(false), &Options::default()).expect("loads");
    b.engine
        .reconfigure(at(500), loaded.config)
        .expect("reload");
    b.drain(at(500));
    assert_eq!(
        b.events(),
        s(&[
            "remove 10.0.1.2:80",
            "rs 10.0.1.2:80 down",
            "mail [lb1] Realserver [10.0.1.2]:tcp:80 of virtual server [10.0.0.100]:tcp:80 \
             - DOWN | => Removing <=",
        ])
    );
    // At SIGTERM keepalived queues "=> Shutting down <=" mails (omega), but its scheduler
    // closes them before they leave: the notifications only.
    b.engine.handle(at(600), Input::Shutdown);
    b.drain(at(600));
    assert_eq!(
        b.events(),
        s(&["remove 10.0.1.1:80", "rs 10.0.1.1:80 down", "quorum down"])
    );
}

//! The check engine with exact times: every checker rule of keepalived 2.2.7 (TCP_CHECK,
//! HTTP_GET, MISC_CHECK; delay_loop, retry / nb_get_retry, delay_before_retry, warmup,
//! alpha / omega, inhibit_on_failure, quorum / hysteresis, sorry_server (+ inhibit),
//! notify_up / notify_down, misc_dynamic, virtualhost) and the IPVS changes that follow.
//! The expected sequences were derived from keepalived's source (check_tcp.c `tcp_epilog`,
//! check_http.c `epilog`, check_misc.c `misc_check_child_thread`, ipwrapper.c).

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

    /// The weights of the table's only service.
    fn weights(&self) -> Vec<(SocketAddr, u32)> {
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

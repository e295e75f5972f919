//! The LVS families: per virtual server, real server and checker (`virtual_server` blocks,
//! keepalived's checker process). Labels: `virtual_server` as `ipvsadm -Ln` writes the
//! service (`TCP 10.0.0.100:80`, `FWM 5`), `real_server` (`10.0.1.12:80`), and for a checker
//! its position among its real server's checkers (`checker`, from 0) and keepalived's keyword
//! (`kind`: `TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `MISC_CHECK`).

use super::render::{fam, secs, with, Labels};
use super::Sample;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Registers and fills the LVS families (none when no virtual server is configured: the
/// encoder leaves out families without series).
pub fn register(reg: &mut Registry, s: &Sample) {
    let vs_up = fam::<Gauge>(
        reg,
        "vrrp_lvs_virtual_server_up",
        "1 while the live weight of the virtual server meets its quorum",
    );
    let sorry = fam::<Gauge>(
        reg,
        "vrrp_lvs_virtual_server_sorry_server_active",
        "1 while the sorry server stands in",
    );
    let rs_up = fam::<Gauge>(
        reg,
        "vrrp_lvs_real_server_up",
        "1 while the real server is in the pool (every checker passes)",
    );
    let weight = fam::<Gauge>(
        reg,
        "vrrp_lvs_real_server_weight",
        "Effective weight (misc_dynamic moves it), before clamping to IPVS's range",
    );
    let failed = fam::<Gauge>(
        reg,
        "vrrp_lvs_real_server_failed_checkers",
        "Checkers of the real server that currently fail",
    );
    let ck_up = fam::<Gauge>(
        reg,
        "vrrp_lvs_checker_up",
        "The checker's verdict after retries: 1 up, 0 down",
    );
    let last = secs(
        reg,
        "vrrp_lvs_checker_last_check_timestamp",
        "When the checker's last probe ended (Unix time)",
    );
    let took = secs(
        reg,
        "vrrp_lvs_checker_last_check_duration",
        "How long the checker's last probe took",
    );
    let probes = fam::<Counter>(
        reg,
        "vrrp_lvs_checker_probes",
        "Probes by result (each retry counts), before retries decide the verdict",
    );
    for vs in &s.snapshot.virtual_servers {
        let l: Labels = vec![("virtual_server", vs.service.to_string())];
        vs_up.get_or_create(&l).set(vs.quorum_up as i64);
        sorry.get_or_create(&l).set(vs.sorry_active as i64);
        for rs in &vs.real_servers {
            let l = with(l.clone(), "real_server", rs.addr.to_string());
            rs_up.get_or_create(&l).set(rs.alive as i64);
            weight.get_or_create(&l).set(rs.weight);
            failed.get_or_create(&l).set(rs.failed_checkers.into());
            for (n, c) in rs.checkers.iter().enumerate() {
                let l = with(with(l.clone(), "checker", n.to_string()), "kind", &c.kind);
                ck_up.get_or_create(&l).set(c.up as i64);
                if let Some(p) = c.last_probe {
                    last.get_or_create(&l).set(s.wall(p.ended));
                    took.get_or_create(&l).set(p.duration().as_secs_f64());
                }
                for (result, n) in [("pass", c.probes_passed), ("fail", c.probes_failed)] {
                    probes
                        .get_or_create(&with(l.clone(), "result", result))
                        .inc_by(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{render, Sample};
    use prometheus_parse::{Scrape, Value};
    use std::collections::BTreeMap;
    use std::time::Duration;
    use vrrp_engine::keepalived::{parse_str, Options};
    use vrrp_engine::lvs::{Probe, ProbeResult};
    use vrrp_engine::{Engine, Input, Instant, Output};

    const CONF: &str = "virtual_server 10.0.0.100 80 {
  delay_loop 5
  protocol TCP
  quorum 2
  sorry_server 10.0.2.1 8080
  real_server 10.0.1.1 80 {
    weight 3
    TCP_CHECK {
      warmup 0
      retry 0
    }
    MISC_CHECK {
      misc_path /bin/true
      warmup 0
    }
  }
  real_server 10.0.1.2 80 {
    weight 2
    HTTP_GET {
      url {
        path /
        status_code 200
      }
      warmup 0
      retry 0
    }
  }
}
";

    /// The engine after the first probes at 1 s: TCP connects in 20 ms, the script exits 0
    /// in 150 ms, HTTP answers 500 in 40 ms.
    fn engine() -> Engine {
        let config = parse_str("t.conf", CONF, &Options::default())
            .expect("config")
            .config;
        let mut e = Engine::with_seed(config, Instant::ZERO, 1).expect("engine");
        let mut asked = Vec::new();
        let t = Instant::from_millis(1000);
        while let Some(d) = e.poll_timeout().filter(|d| *d <= t) {
            e.handle_timeout(d);
            while let Some(o) = e.poll_output() {
                if let Output::RunProbe {
                    checker,
                    seq,
                    probe,
                } = o
                {
                    asked.push((checker, seq, probe));
                }
            }
        }
        assert_eq!(asked.len(), 3, "{asked:?}");
        let mut answers: Vec<_> = asked
            .into_iter()
            .map(|(checker, seq, probe)| {
                let (ms, result) = match probe {
                    Probe::Tcp { .. } => (20, ProbeResult::Connected),
                    Probe::Misc { .. } => (150, ProbeResult::Exit(0)),
                    Probe::Http { .. } => (
                        40,
                        ProbeResult::Http {
                            status: 500,
                            body_md5: [0; 16],
                            body_len: 0,
                        },
                    ),
                };
                (ms, checker, seq, result)
            })
            .collect();
        // Engine time never goes back: answers in the order they come.
        answers.sort_by_key(|a| a.0);
        for (ms, checker, seq, result) in answers {
            e.handle(
                t + Duration::from_millis(ms),
                Input::ProbeResult {
                    checker,
                    seq,
                    result,
                },
            );
        }
        while e.poll_output().is_some() {}
        e
    }

    fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
        s.samples
            .iter()
            .find(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
            .map(|x| match x.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    }

    #[test]
    fn virtual_real_servers_and_checkers_are_exported() {
        let sample = Sample {
            snapshot: engine().snapshot(),
            transitions: BTreeMap::new(),
            vips: BTreeMap::new(),
            epoch: Duration::from_secs(1_700_000_000),
        };
        let text = render(&sample);
        let s = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses");
        let vs = ("virtual_server", "TCP 10.0.0.100:80");
        let rs1 = [vs, ("real_server", "10.0.1.1:80")];
        let rs2 = [vs, ("real_server", "10.0.1.2:80")];
        // 10.0.1.2 fails its HTTP check (status 500); 10.0.1.1's weight 3 meets quorum 2.
        assert_eq!(
            value(&s, "vrrp_lvs_virtual_server_up", &[vs]),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            value(&s, "vrrp_lvs_virtual_server_sorry_server_active", &[vs]),
            Some(0.0)
        );
        assert_eq!(value(&s, "vrrp_lvs_real_server_up", &rs1), Some(1.0));
        assert_eq!(value(&s, "vrrp_lvs_real_server_up", &rs2), Some(0.0));
        assert_eq!(value(&s, "vrrp_lvs_real_server_weight", &rs1), Some(3.0));
        assert_eq!(
            value(&s, "vrrp_lvs_real_server_failed_checkers", &rs2),
            Some(1.0)
        );
        let tcp = [rs1[0], rs1[1], ("checker", "0"), ("kind", "TCP_CHECK")];
        let misc = [rs1[0], rs1[1], ("checker", "1"), ("kind", "MISC_CHECK")];
        let http = [rs2[0], rs2[1], ("checker", "0"), ("kind", "HTTP_GET")];
        assert_eq!(value(&s, "vrrp_lvs_checker_up", &tcp), Some(1.0), "{text}");
        assert_eq!(value(&s, "vrrp_lvs_checker_up", &http), Some(0.0));
        // Wall clock: the epoch plus the engine time the probe ended.
        assert_eq!(
            value(&s, "vrrp_lvs_checker_last_check_timestamp_seconds", &misc),
            Some(1_700_000_001.15)
        );
        let took = value(&s, "vrrp_lvs_checker_last_check_duration_seconds", &http);
        assert!((took.unwrap() - 0.040).abs() < 1e-9, "{took:?}");
        let count = |l: &[(&str, &str)], r| {
            let mut l = l.to_vec();
            l.push(("result", r));
            value(&s, "vrrp_lvs_checker_probes_total", &l)
        };
        assert_eq!(count(&tcp, "pass"), Some(1.0));
        assert_eq!(count(&http, "fail"), Some(1.0));
        assert_eq!(count(&http, "pass"), Some(0.0));
        for ty in [
            "# TYPE vrrp_lvs_checker_probes counter",
            "# UNIT vrrp_lvs_checker_last_check_duration_seconds seconds",
        ] {
            assert!(text.contains(ty), "{ty} missing:\n{text}");
        }
    }
}

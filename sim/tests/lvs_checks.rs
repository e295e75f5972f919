//! LVS checkers in the simulator: real servers as model objects with faults, detection and
//! recovery times to the microsecond against hand-derived values and against the formula
//! (`report::theory`), inhibit_on_failure as weight 0, the clients' requests, determinism in
//! both backends, and the schema's positioned errors.

use std::path::Path;
use std::time::Duration;
use vrrp_sim::backend::runner::{run_all, RunOptions};
use vrrp_sim::backend::RunSpec;
use vrrp_sim::experiment::{load, parse, Experiment};
use vrrp_sim::observe::metrics::{LvsFault, LvsResult, Recording, RunResult};

type Run = fn(RunSpec<'_>) -> (RunResult, Option<Recording>);
const EVENT: Run = vrrp_sim::backend::event_queue::run;
const TURMOIL: Run = vrrp_sim::backend::turmoil_backend::run;

/// One director (no VRRP) with two real servers checked by `check`; 1 ms latency (a 2 ms
/// round trip), `delay_loop 5`; `timeline` in TOML.
fn director(check: &str, extra_rs: &str, timeline: &str) -> String {
    format!(
        r#"
name = "t"
duration = "60s"
[network]
latency = "1ms"
[lvs_clients]
rate = 100
arrivals = "fixed"
sources = 10
start = "5s"
[[nodes]]
name = "lvs"
address = "10.0.0.11"
config = """
virtual_server 10.0.0.100 80 {{
    delay_loop 5
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.1.1 80 {{
        weight 1
        {extra_rs}
        {check}
    }}
    real_server 10.0.1.2 80 {{
        weight 1
        {check}
    }}
}}
"""
{timeline}
"#
    )
}

/// A fault on 10.0.1.1 at 12 s, back up at 30 s.
fn fault_at_12(state: &str) -> String {
    format!(
        r#"
[[timeline]]
at = "12s"
action = "real_server"
address = "10.0.1.1:80"
{state}
[[timeline]]
at = "30s"
action = "real_server"
address = "10.0.1.1:80"
state = "up"
"#
    )
}

const TCP: &str = "TCP_CHECK {
            connect_timeout 3
            retry 1
            delay_before_retry 1
            warmup 0
        }";

const HTTP: &str = "HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 3
            retry 1
            delay_before_retry 1
            warmup 0
        }";

const MISC: &str = "MISC_CHECK {
            misc_path \"/bin/check 10.0.1.x\"
            misc_timeout 3
            warmup 0
        }";

fn exp(text: &str) -> Experiment {
    parse(Path::new("t.toml"), text).unwrap_or_else(|e| panic!("{e:?}"))
}

fn run_with(run: Run, e: &Experiment, seed: u64, trace: bool) -> (RunResult, Option<Recording>) {
    run(RunSpec {
        experiment: e,
        variant: &e.variants[0],
        seed,
        record: true,
        capture: false,
        trace,
    })
}

fn lvs(r: &RunResult) -> &LvsResult {
    r.lvs.as_ref().expect("an LVS run")
}

/// The one fault of a run.
fn only_fault(r: &RunResult) -> &LvsFault {
    let f = &lvs(r).faults;
    assert_eq!(f.len(), 1, "{f:#?}");
    &f[0]
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

fn assert_on_formula(f: &LvsFault) {
    assert_eq!(f.detection_within, Some(true), "{f:#?}");
    assert_eq!(f.recovery_within, Some(true), "{f:#?}");
}

#[test]
fn tcp_refused_detection_and_recovery_to_the_microsecond() {
    // Probes at 1.000, 6.002, 11.004, 16.006 (each 2 ms, the next 5 s after the end). The
    // server refuses from 12 s: 16.006 fails at 16.008, the retry 1 s later fails at 17.010:
    // out of the table 5.010 s after the fault. Formula: [2 x 2 ms + 1 s, 5 s + 2 ms +
    // 2 x 2 ms + 1 s] = [1.004, 6.006].
    let e = exp(&director(TCP, "", &fault_at_12("state = \"down\"")));
    let (r, _) = run_with(EVENT, &e, 1, false);
    let f = only_fault(&r);
    assert_eq!((f.kind, f.checkers.as_str()), ("down", "TCP_CHECK"));
    assert!(close(f.detection, 5.010), "{f:#?}");
    assert_eq!(f.detection_bounds, Some((1.004, 6.006)));
    // Down: 22.010 fails, 1 s retry at 23.012 fails, 28.014, 29.016 fail; 34.018 (after the
    // return at 30 s) passes at 34.020: 4.020 s. Formula [2 ms, 2 ms + max(1, 5) + 2 ms].
    assert!(close(f.recovery, 4.020), "{f:#?}");
    assert_eq!(f.recovery_bounds, Some((0.002, 5.004)));
    assert_on_formula(f);
}

#[test]
fn tcp_blackhole_times_out_at_connect_timeout() {
    // 16.006 times out at 19.006, the retry at 20.006 at 23.006: 11.006 s after the fault.
    // Formula: [2 x 3 + 1, 5 + 0.002 + 2 x 3 + 1] = [7, 12.002].
    let e = exp(&director(TCP, "", &fault_at_12("state = \"blackhole\"")));
    let (r, _) = run_with(EVENT, &e, 1, false);
    let f = only_fault(&r);
    assert!(close(f.detection, 11.006), "{f:#?}");
    assert_eq!(f.detection_bounds, Some((7.0, 12.002)));
    assert_on_formula(f);
}

#[test]
fn http_500_is_detected_like_a_refusal_and_tcp_never_sees_it() {
    let fault = fault_at_12("state = \"http_status\"\nstatus = 500");
    let e = exp(&director(HTTP, "", &fault));
    let (r, _) = run_with(EVENT, &e, 1, false);
    let f = only_fault(&r);
    assert_eq!(f.checkers, "HTTP_GET");
    assert!(close(f.detection, 5.010), "{f:#?}");
    // Back: the URL passes once, then every URL again delay_loop later (two passes).
    assert_eq!(f.recovery_bounds, Some((5.004, 10.006)));
    assert_on_formula(f);
    // TCP_CHECK connects to a server answering 500: never out of the table, every request
    // sent to it during the fault is an error.
    let e = exp(&director(TCP, "", &fault));
    let (r, _) = run_with(EVENT, &e, 1, false);
    let f = only_fault(&r);
    assert_eq!(f.detection, None);
    assert_eq!(f.detection_bounds, None);
    // 100 requests/s, rr over two servers: half of the 18 s of fault.
    assert_eq!(lvs(&r).errors, 900);
}

#[test]
fn misc_check_is_timed_from_the_start_of_the_script() {
    // Starts at 1, 6, 11, 16: the 16 s run exits 1 at 16.002 (retry 0): 4.002 s.
    // Formula: [0.002, max(5, 0.002) + 0.002] = [0.002, 5.002].
    let e = exp(&director(MISC, "", &fault_at_12("state = \"down\"")));
    let (r, _) = run_with(EVENT, &e, 1, false);
    let f = only_fault(&r);
    assert_eq!(f.checkers, "MISC_CHECK");
    assert!(close(f.detection, 4.002), "{f:#?}");
    assert_eq!(f.detection_bounds, Some((0.002, 5.002)));
    assert_on_formula(f);
    // A blackhole: the script is killed at misc_timeout (3 s).
    let e = exp(&director(MISC, "", &fault_at_12("state = \"blackhole\"")));
    let (r, _) = run_with(EVENT, &e, 1, false);
    let f = only_fault(&r);
    assert!(close(f.detection, 7.0), "{f:#?}");
    assert_on_formula(f);
}

#[test]
fn inhibit_on_failure_shows_as_weight_0_not_removal() {
    let e = exp(&director(
        TCP,
        "inhibit_on_failure",
        &fault_at_12("state = \"down\""),
    ));
    let (r, rec) = run_with(EVENT, &e, 1, false);
    let f = only_fault(&r);
    assert!(close(f.detection, 5.010), "{f:#?}");
    assert!(close(f.recovery, 4.020), "{f:#?}");
    let ipvs: Vec<String> = rec
        .expect("recorded")
        .events
        .iter()
        .filter(|e| e.kind == "ipvs")
        .map(|e| format!("{} {}", e.time_s, e.detail))
        .collect();
    assert!(
        ipvs.contains(&"17.010000 edit 10.0.1.1:80 of TCP 10.0.0.100:80 weight 0".to_string()),
        "{ipvs:#?}"
    );
    assert!(
        ipvs.contains(&"34.020000 edit 10.0.1.1:80 of TCP 10.0.0.100:80 weight 1".to_string()),
        "{ipvs:#?}"
    );
    assert!(
        !ipvs.iter().any(|l| l.contains("remove 10.0.1.1:80")),
        "{ipvs:#?}"
    );
}

#[test]
fn clients_hit_the_dead_server_until_it_leaves_the_table() {
    // No persistence, rr: every other request goes to 10.0.1.1 until 17.010 s (5.010 s of
    // fault: 501 requests, half of them), then none until it is back at 34.020 s.
    let e = exp(&director(TCP, "", &fault_at_12("state = \"down\"")));
    let (r, _) = run_with(EVENT, &e, 1, false);
    let l = lvs(&r);
    assert_eq!(l.requests, 5500);
    assert_eq!(l.unserved, 0);
    assert!((250..=251).contains(&l.errors), "{l:#?}");
}

#[test]
fn the_experiment_s_detections_sit_on_the_formula() {
    let mut e = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/lvs-checks.toml"))
        .expect("lvs-checks.toml loads");
    e.seeds = 0..3;
    let out = run_all(&e, &RunOptions::default()).unwrap();
    assert_eq!(out.results.len(), e.variants.len() * 3);
    let mut measured = 0;
    for r in &out.results {
        let l = lvs(r);
        assert!(
            l.requests > 30_000,
            "{}: {} requests",
            r.variant,
            l.requests
        );
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        // Ten faults, each followed by both directors; with alpha, each director's start-up
        // too, for both real servers, each entry measured against its formula.
        let alpha: Vec<_> = l.faults.iter().filter(|f| f.kind == "alpha").collect();
        assert_eq!(
            l.faults.len() - alpha.len(),
            20,
            "{} seed {}",
            r.variant,
            r.seed
        );
        if r.variant == "seed-alpha" {
            assert_eq!(alpha.len(), 4, "{alpha:#?}");
            for f in &alpha {
                assert!(
                    f.recovery.is_some() && f.recovery_bounds.is_some(),
                    "{f:#?}"
                );
                assert_eq!(f.recovery_within, Some(true), "{f:#?}");
                // 1 s + [0, 6 s] + round trips below a millisecond.
                let x = f.recovery.unwrap();
                assert!((1.0..7.01).contains(&x), "{f:#?}");
            }
        } else {
            assert!(alpha.is_empty(), "{}: {alpha:#?}", r.variant);
        }
        for f in &l.faults {
            if f.detection_bounds.is_some() && f.detection.is_some() {
                measured += 1;
            }
            assert_ne!(
                f.detection_within,
                Some(false),
                "{} seed {}: {f:#?}",
                r.variant,
                r.seed
            );
            assert_ne!(
                f.recovery_within,
                Some(false),
                "{} seed {}: {f:#?}",
                r.variant,
                r.seed
            );
            // A fault the formula calls detectable is detected, and the other way round.
            assert_eq!(
                f.detection.is_some(),
                f.detection_bounds.is_some(),
                "{} seed {}: {f:#?}",
                r.variant,
                r.seed
            );
        }
    }
    assert!(measured > 300, "{measured} detections measured");
    // The seed's TCP_CHECK never sees an HTTP 500 on .101; HTTP_GET without digest never
    // sees a wrong body on .102; with a digest it does.
    let seed0 = |v: &str| {
        out.results
            .iter()
            .find(|r| r.variant == v && r.seed == 0)
            .unwrap()
    };
    let find = |r: &RunResult, rs: &str, kind: &str| -> Vec<Option<f64>> {
        lvs(r)
            .faults
            .iter()
            .filter(|f| f.real_server == rs && f.kind == kind)
            .map(|f| f.detection)
            .collect()
    };
    assert_eq!(
        find(seed0("seed"), "192.168.1.101:80", "http_status"),
        [None, None]
    );
    assert_eq!(
        find(seed0("seed"), "192.168.1.102:80", "wrong_body"),
        [None, None]
    );
    assert!(
        find(seed0("http-both-digest"), "192.168.1.102:80", "wrong_body")
            .iter()
            .all(Option::is_some)
    );
    // Persistence + inhibit_on_failure keeps clients on the dead server: more errors than
    // without inhibit; the quorum variant sends them to the sorry server instead.
    let errors = |v: &str| lvs(seed0(v)).error_rate();
    assert!(
        errors("seed") > errors("seed-no-inhibit"),
        "{} {}",
        errors("seed"),
        errors("seed-no-inhibit")
    );
    assert!(lvs(seed0("quorum-sorry")).sorry > 0);
}

#[test]
fn same_seed_same_results_and_trace_in_both_backends() {
    let text = director(HTTP, "", &fault_at_12("state = \"blackhole\""))
        .replace(
            "latency = \"1ms\"",
            "latency = { min = \"100us\", max = \"2ms\" }",
        )
        .replace("arrivals = \"fixed\"", "arrivals = \"poisson\"");
    let e = exp(&text);
    for run in [EVENT, TURMOIL] {
        let (a, ra) = run_with(run, &e, 7, true);
        let (b, rb) = run_with(run, &e, 7, true);
        assert_eq!(a, b);
        let trace = |r: Option<Recording>| r.and_then(|r| r.trace).expect("traced").text;
        let (ta, tb) = (trace(ra), trace(rb));
        assert!(ta[0].contains("\"ipvs\""), "{}", ta[0]);
        assert_eq!(ta, tb);
        let (c, _) = run_with(run, &e, 8, false);
        assert_ne!(
            lvs(&a),
            lvs(&c),
            "another seed draws other round trips and requests"
        );
    }
}

#[test]
fn turmoil_detections_sit_on_the_formula_within_its_ticks() {
    // turmoil's engines get exact times, its observer sees them at their 1 ms tick: the
    // bands of the checker's steps still hold (4 steps from the fault to the verdict here, 8
    // to the return, each allowed a tick).
    for (check, state) in [(TCP, "state = \"down\""), (HTTP, "state = \"blackhole\"")] {
        let e = exp(&director(check, "", &fault_at_12(state)));
        let (r, _) = run_with(TURMOIL, &e, 1, false);
        let f = only_fault(&r);
        let (lo, hi) = f.detection_bounds.unwrap();
        let d = f.detection.unwrap();
        let tick = Duration::from_millis(1).as_secs_f64();
        assert!(d >= lo && d <= hi + 4.0 * tick, "{f:#?}");
        let (lo, hi) = f.recovery_bounds.unwrap();
        let x = f.recovery.unwrap();
        assert!(x >= lo && x <= hi + 8.0 * tick, "{f:#?}");
    }
}

fn error_of(text: &str) -> String {
    match parse(Path::new("bad.toml"), text) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn bad_real_server_entries_are_errors_with_their_position() {
    let text = director(TCP, "", &fault_at_12("state = \"dwon\""));
    let line = text.lines().position(|l| l.contains("\"dwon\"")).unwrap() + 1;
    assert_eq!(
        error_of(&text),
        format!(
            "bad.toml:{line}:9: error: unknown real-server state \"dwon\" (did you mean \"down\"?): expected one of up, down, blackhole, slow, http_status, wrong_body"
        )
    );
    let text = director(TCP, "", &fault_at_12("state = \"slow\""));
    assert!(
        error_of(&text).contains("state \"slow\" needs a positive `delay`"),
        "{}",
        error_of(&text)
    );
    let text = director(
        TCP,
        "",
        "[[timeline]]\nat = \"1s\"\naction = \"real_server\"\naddress = \"10.0.1.9:80\"\nstate = \"down\"\n",
    );
    assert!(
        error_of(&text).contains("no real server 10.0.1.9:80 in variant \"baseline\" (real servers: 10.0.1.1:80, 10.0.1.2:80)"),
        "{}",
        error_of(&text)
    );
    let text = director(
        TCP,
        "",
        "[[real_servers]]\naddress = \"10.0.1.1:80\"\nlatnecy = \"1ms\"\n",
    );
    let e = error_of(&text);
    assert!(e.contains("unknown field `latnecy`"), "{e}");
    assert!(e.starts_with("bad.toml:"), "{e}");
}

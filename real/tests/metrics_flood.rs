//! A flood of scrapes moves no advert (issue 13). A Master with 20 VRRPv3 instances (100 ms)
//! and a Backup; the Master's adverts are captured on its own interface while 8 clients in
//! the Master's namespace scrape `/metrics` at 60 requests a second each (keep-alive
//! connections of 50 requests; bounded in rate, time and count), one second in two for 16 s: the quiet seconds
//! between the flooded ones are the baseline, under the same background load of the machine.
//! Neither node changes state, no advert is missing, and the flooded seconds' intervals stay
//! within a tolerance set from the quiet ones. Both distributions are printed.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::scrape::*;
use support::*;
use vrrp_lab::Lab;

/// One window, quiet or flooded.
const WINDOW: Duration = Duration::from_secs(1);
/// Windows in all, quiet and flooded in turn (quiet first).
const WINDOWS: usize = 16;
/// Concurrent scrapers.
const CLIENTS: usize = 8;
/// Requests per second per client, at most: 8 x 60 = 480 scrapes a second, 7000 times what
/// two Prometheus servers scraping every 15 s ask. (Unpaced, the clients' own CPU time and
/// the kernel's loopback copies of 60 kB answers saturate this 2-core machine: that measures
/// the load generator, not the daemon.)
const RATE: f64 = 60.0;
/// Requests per keep-alive connection before it is closed and another opened.
const PER_CONNECTION: usize = 50;
/// At most this many requests in all (the flood is bounded by count as well as by time).
const MAX_REQUESTS: u64 = 200_000;
/// Instances on each node (VRRPv3, 100 ms): a scrape renders all of them.
const INSTANCES: usize = 20;

fn epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// One HTTP/1.1 `GET /metrics` on `conn`; whether a 200 with a full body came back.
fn get(conn: &mut BufReader<TcpStream>) -> std::io::Result<bool> {
    conn.get_mut()
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: vrrpd\r\n\r\n")?;
    let mut status = String::new();
    conn.read_line(&mut status)?;
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line)? == 0 {
            return Ok(false);
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; len];
    conn.read_exact(&mut body)?;
    Ok(status.starts_with("HTTP/1.1 200") && body.ends_with(b"# EOF\n"))
}

/// Scrapes `addr` while `on`, until `stop` or the count bound; returns (ok, failed) requests.
fn scraper(
    addr: SocketAddr,
    on: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    total: Arc<AtomicU64>,
) -> (u64, u64) {
    let (mut ok, mut bad) = (0, 0);
    let period = Duration::from_secs_f64(1.0 / RATE);
    let mut next = std::time::Instant::now();
    'outer: while !stop.load(Ordering::Relaxed) {
        if !on.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(2));
            next = std::time::Instant::now();
            continue;
        }
        let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
            bad += 1;
            continue;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut conn = BufReader::new(s);
        for _ in 0..PER_CONNECTION {
            if stop.load(Ordering::Relaxed) || total.fetch_add(1, Ordering::Relaxed) >= MAX_REQUESTS
            {
                break 'outer;
            }
            if !on.load(Ordering::Relaxed) {
                continue 'outer;
            }
            next += period;
            if let Some(wait) = next.checked_duration_since(std::time::Instant::now()) {
                std::thread::sleep(wait);
            }
            match get(&mut conn) {
                Ok(true) => ok += 1,
                _ => {
                    bad += 1;
                    continue 'outer;
                }
            }
        }
    }
    (ok, bad)
}

/// Quantiles of |interval - 100 ms| in ms over every instance's intervals, their count, and
/// the shortest and longest interval.
struct Dist {
    n: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    min_iv: f64,
    max_iv: f64,
}

/// The distribution of `iv` (intervals in ms).
fn dist(iv: &[f64]) -> Dist {
    let mut dev: Vec<f64> = iv.iter().map(|i| (i - 100.0).abs()).collect();
    dev.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| dev[((dev.len() - 1) as f64 * p).round() as usize];
    Dist {
        n: iv.len(),
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        max: q(1.0),
        min_iv: iv.iter().copied().fold(f64::MAX, f64::min),
        max_iv: iv.iter().copied().fold(0.0, f64::max),
    }
}

fn transitions(lab: &Lab, i: usize) -> Vec<(String, String, f64)> {
    let (_, s) = scrape(lab, i).expect("scrape");
    let mut t: Vec<_> = s
        .samples
        .iter()
        .filter(|x| x.metric == "vrrp_instance_transitions_total")
        .map(|x| {
            let v = match x.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => -1.0,
            };
            let l = |k| x.labels.get(k).unwrap_or("").to_string();
            (l("from"), l("to"), v)
        })
        .collect();
    // The encoder's order of series is not fixed.
    t.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    t
}

/// A keepalived.conf with `INSTANCES` VRRPv3 100 ms instances VI_1.. (VRIDs 1..), each with
/// one VIP `NET.(100 + k)`.
fn conf(router: &str, prio: u8, net: &str) -> String {
    let mut s = format!("global_defs {{\n    router_id {router}\n}}\n");
    for k in 1..=INSTANCES {
        s += &format!(
            "vrrp_instance VI_{k} {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id {k}\n    priority {prio}\n    version 3\n    advert_int 0.1\n    \
             virtual_ipaddress {{\n        {net}.{}\n    }}\n}}\n",
            100 + k
        );
    }
    s
}

#[test]
fn a_flood_of_scrapes_moves_no_advert() {
    assert_root();
    let lab = Lab::new(2).expect("lab");
    let dir = tmpdir("metrics-flood");
    let o = lab.subnet.octets();
    let net = format!("{}.{}.{}", o[0], o[1], o[2]);
    let addr = |i: usize| format!("{}:{PORT}", lab.hosts[i].ip);
    let _a = start_daemon_with(
        &lab,
        0,
        &dir,
        "a",
        &conf("A", 150, &net),
        &["--metrics", &addr(0)],
    );
    let last_vip = format!("{net}.{}", 100 + INSTANCES);
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &last_vip)),
        "A never became Master:\n{}",
        log(&dir, "a")
    );
    let _b = start_daemon_with(
        &lab,
        1,
        &dir,
        "b",
        &conf("B", 100, &net),
        &["--metrics", &addr(1)],
    );
    // B is Backup on every instance once it has heard A on each.
    let settled = |s: &prometheus_parse::Scrape| {
        (1..=INSTANCES).all(|k| {
            let name = format!("VI_{k}");
            value(
                s,
                "vrrp_instance_state",
                &[("vrrp_instance", &name), ("state", "BACKUP")],
            ) == Some(1.0)
                && value(
                    s,
                    "vrrp_adverts_received_total",
                    &[("vrrp_instance", &name)],
                )
                .is_some_and(|v| v >= 5.0)
        })
    };
    assert!(
        wait_until(Duration::from_secs(8), || scrape(&lab, 1)
            .is_some_and(|(_, s)| settled(&s))),
        "B never settled as Backup:\n{}",
        log(&dir, "b")
    );
    let (ta, tb) = (transitions(&lab, 0), transitions(&lab, 1));
    // The Master's own interface: the capture stamps each advert as it leaves.
    let cap = Capture::start(&lab, 0, &dir, "c");

    // Windows: quiet, flooded, quiet, ... (window k starts at bounds[k]).
    let on = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let target: SocketAddr = addr(0).parse().unwrap();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (on, stop, total) = (on.clone(), stop.clone(), total.clone());
            in_host(&lab, 0, move || scraper(target, on, stop, total))
        })
        .collect();
    let mut bounds = Vec::new();
    for k in 0..WINDOWS {
        bounds.push(epoch());
        on.store(k % 2 == 1, Ordering::Relaxed);
        std::thread::sleep(WINDOW);
    }
    on.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    bounds.push(epoch());
    let (mut ok, mut bad) = (0, 0);
    for c in clients {
        let (o, b) = c.join().expect("scraper");
        ok += o;
        bad += b;
    }
    let file = cap.file.clone();
    cap.stop(&lab);
    let pkts = decode(&file);
    let (body, parsed) = scrape(&lab, 0).expect("A scrape");

    let a_ip = lab.hosts[0].ip.to_string();
    let (t0, t_end) = (bounds[0], bounds[WINDOWS]);
    let window = |t: f64| bounds.windows(2).position(|w| w[0] <= t && t < w[1]);
    // Each instance's intervals whose two adverts fall in one window, by kind of window.
    let (mut quiet_iv, mut flood_iv) = (Vec::new(), Vec::new());
    let mut counts = Vec::new();
    for k in 1..=INSTANCES {
        let times: Vec<f64> = pkts
            .iter()
            .filter(|p| p.src == a_ip && p.vrid as usize == k && p.prio == 150)
            .filter(|p| p.t >= t0 && p.t < t_end)
            .map(|p| p.t)
            .collect();
        counts.push(times.len());
        for w in times.windows(2) {
            match (window(w[0]), window(w[1])) {
                (Some(a), Some(b)) if a == b && a % 2 == 0 => quiet_iv.push((w[1] - w[0]) * 1e3),
                (Some(a), Some(b)) if a == b => flood_iv.push((w[1] - w[0]) * 1e3),
                _ => {}
            }
        }
    }
    let (quiet, flood) = (dist(&quiet_iv), dist(&flood_iv));
    let show = |name: &str, d: &Dist| {
        eprintln!(
            "{name}: {} intervals, |interval - 100 ms| p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} \
             ms, max {:.3} ms (intervals {:.3}..{:.3} ms)",
            d.n, d.p50, d.p90, d.p99, d.max, d.min_iv, d.max_iv
        );
    };
    show("quiet", &quiet);
    show("flood", &flood);
    let secs = WINDOW.as_secs_f64() * (WINDOWS / 2) as f64;
    eprintln!(
        "flood: {ok} scrapes answered ({:.0}/s, {} series in {} bytes each), {bad} failed, {CLIENTS} \
         clients, {:.0} s flooded",
        ok as f64 / secs,
        parsed.samples.len(),
        body.len(),
        secs
    );

    // Nobody moved: the same transitions on both nodes, B holds no VIP, and B sent nothing.
    assert_eq!(transitions(&lab, 0), ta, "A changed state");
    assert_eq!(transitions(&lab, 1), tb, "B changed state");
    assert!(!lab.has_addr(1, &last_vip));
    assert!(pkts.iter().all(|p| p.src == a_ip), "adverts from B");
    // No advert missing or doubled: 100 ms adverts over the whole run, per instance, give or
    // take one at each end.
    let want = (t_end - t0) * 10.0;
    for (k, n) in counts.iter().enumerate() {
        assert!(
            (*n as f64 - want).abs() <= 2.0,
            "VI_{}: {n} adverts in {:.3} s",
            k + 1,
            t_end - t0
        );
    }
    // The tolerance comes from the quiet windows: the median may move by 1 ms more than
    // there, the 90th percentile to twice the quiet one plus 5 ms (this shared 2-core
    // machine's background load moves single adverts by up to 10 ms in quiet windows too).
    // That is far below what an engine blocked by scrapes shows: rendering each scrape on
    // the engine's own thread moved the median by 20 ms and the 90th percentile by 40-70 ms
    // in this test (docs/metrics.md), and a Backup here gives up after 261 ms without an
    // advert (Master_Down_Interval - Advertisement_Interval).
    let p50 = quiet.p50 + 1.0;
    let p90 = 2.0 * quiet.p90 + 5.0;
    assert!(
        flood.p50 <= p50 && flood.p90 <= p90,
        "the flood moved adverts: p50 {:.3} ms (tolerance {p50:.3}), p90 {:.3} ms (tolerance \
         {p90:.3})",
        flood.p50,
        flood.p90
    );
    // Thousands of scrapes were served while that held.
    assert!(ok >= 3000, "only {ok} scrapes answered ({bad} failed)");
}

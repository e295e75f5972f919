//! keepalived's SMTP alerts on a namespace LAN: a real SMTP server (Python's `smtpd`) on
//! host 2 receives the mails of host 0's transitions (Backup at start, Master alone, Backup
//! when host 1 with priority 200 preempts; nothing at SIGTERM, where keepalived's "Stopping"
//! mail never leaves), from keepalived 2.2.7 and from vrrpd-real with the same
//! configuration: same HELO, envelope, headers and bodies. And with
//! an SMTP server that drops SYNs, the Master's adverts keep their 1 s spacing while the
//! mails time out.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::*;
use vrrp_lab::Lab;

/// An SMTP sink: one JSON line per HELO and per message.
const SINK: &str = r#"
import asyncore, json, sys, warnings
warnings.simplefilter("ignore")
import smtpd
out = sys.argv[3]
def log(x):
    with open(out, "a") as f:
        f.write(json.dumps(x) + "\n")
class Chan(smtpd.SMTPChannel):
    def smtp_HELO(self, arg):
        log({"helo": arg})
        super().smtp_HELO(arg)
    def smtp_EHLO(self, arg):
        log({"ehlo": arg})
        super().smtp_EHLO(arg)
class Sink(smtpd.SMTPServer):
    channel_class = Chan
    def process_message(self, peer, mailfrom, rcpttos, data, **kw):
        log({"from": mailfrom, "to": rcpttos, "data": data})
Sink((sys.argv[1], int(sys.argv[2])), None, decode_data=True)
open(out + ".ready", "w").close()
asyncore.loop()
"#;

/// Starts the sink on host `i`, port 2525, writing `dir/NAME.jsonl`.
fn start_sink(lab: &Lab, i: usize, dir: &Path, name: &str) -> std::path::PathBuf {
    let script = dir.join("sink.py");
    std::fs::write(&script, SINK).expect("sink script");
    let out = dir.join(format!("{name}.jsonl"));
    let mut cmd = lab.command(i, "python3");
    cmd.arg(&script)
        .arg(lab.hosts[i].ip.to_string())
        .arg("2525")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.err"))).expect("err"));
    lab.spawn(cmd).expect("python3");
    let ready = out.with_extension("jsonl.ready");
    assert!(
        wait_until(Duration::from_secs(10), || ready.exists()),
        "the SMTP sink did not start: {}",
        std::fs::read_to_string(dir.join(format!("{name}.err"))).unwrap_or_default()
    );
    out
}

fn lines(file: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// `global_defs` lines for mail through `server` (router_id, HELO name and sender left to
/// their defaults where `helo_from` is false).
fn mail_globals(server: &str, timeout: u32) -> String {
    format!(
        "    notification_email {{\n        ops@example.com\n        root\n    }}\n    \
         smtp_server {server} 2525\n    smtp_connect_timeout {timeout}\n    smtp_alert\n"
    )
}

/// One mail as the sink saw it: (HELO, envelope from, envelope to, data without the Date
/// line, the Date line).
type Seen = (String, String, Vec<String>, String, String);

/// The configuration of a host: (priority, VIPs, `global_defs` lines) to the file's text.
type Conf = fn(u8, [&str; 2], &str) -> String;

/// VI_1 alone, mail from `global_defs`.
fn single(prio: u8, vips: [&str; 2], globals: &str) -> String {
    Inst::vi1(prio, &format!("{}/24", vips[0]), "").text("lab", globals, "")
}

/// Host 0 through Backup, Master, Backup (preempted by host 1), stop; the sink's mails.
/// Host 0 gets `global_defs` mail lines; host 1 none.
fn run(keepalived: bool, conf: Conf) -> Vec<Seen> {
    let tag = if keepalived { "ka" } else { "vr" };
    let lab = Lab::new(3).expect("lab");
    let dir = tmpdir(&format!("smtp-{tag}"));
    let vip = lab.addr(100).to_string();
    let vip2 = lab.addr(101).to_string();
    let sink = start_sink(&lab, 2, &dir, "mails");
    let server = lab.hosts[2].ip.to_string();
    let start = |i: usize, prio: u8, globals: &str| {
        let t = format!("{tag}{i}");
        let conf = conf(prio, [&vip, &vip2], globals);
        if keepalived {
            start_keepalived(&lab, i, &dir, &t, &conf)
        } else {
            start_daemon(&lab, i, &dir, &t, &conf)
        }
    };
    let p0 = start(0, 100, &mail_globals(&server, 5));
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(0, &vip)),
        "{tag}: host 0 never Master:\n{}",
        log(&dir, &format!("{tag}0"))
    );
    start(1, 200, "");
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr(1, &vip)
            && !lab.has_addr(0, &vip)),
        "{tag}: host 1 never took over"
    );
    std::thread::sleep(Duration::from_millis(500));
    lab.signal(p0, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(500));
    let all = lines(&sink);
    let mut helo = String::new();
    let mut mails = Vec::new();
    for l in &all {
        if let Some(h) = l["helo"].as_str().or(l["ehlo"].as_str()) {
            helo = format!(
                "{} {h}",
                if l["helo"].is_string() {
                    "HELO"
                } else {
                    "EHLO"
                }
            );
        } else {
            let data = l["data"].as_str().unwrap_or_default();
            let (date, rest): (Vec<&str>, Vec<&str>) =
                data.split('\n').partition(|x| x.starts_with("Date: "));
            mails.push((
                helo.clone(),
                l["from"].as_str().unwrap_or_default().to_string(),
                l["to"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| x.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
                rest.join("\n"),
                date.join(""),
            ));
        }
    }
    for m in &mails {
        println!("{tag}: {m:?}");
    }
    mails
}

fn subject(data: &str) -> &str {
    data.lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
}

#[test]
fn one_mail_per_transition_as_keepalived_sends_it() {
    assert_root();
    let (ka, vr) = side_by_side(|keepalived| run(keepalived, single));
    let subjects =
        |m: &[Seen]| -> Vec<String> { m.iter().map(|x| subject(&x.3).to_string()).collect() };
    let want = [
        "[lab] VRRP Instance VI_1 - Entering BACKUP state",
        "[lab] VRRP Instance VI_1 - Entering MASTER state",
        "[lab] VRRP Instance VI_1 - Entering BACKUP state",
    ];
    assert_eq!(subjects(&ka), want, "keepalived 2.2.7's mails");
    assert_eq!(subjects(&vr), want, "vrrpd-real's mails");
    for (k, v) in ka.iter().zip(&vr) {
        // HELO name, envelope, headers other than Date, body: the same.
        assert_eq!((&k.0, &k.1, &k.2, &k.3), (&v.0, &v.1, &v.2, &v.3));
        // "Date: Mon, 01 Mar 2021 09:44:08 +0000"
        for d in [&k.4, &v.4] {
            assert_eq!(d.len(), 37, "{d}");
            assert_eq!(&d[9..11], ", ", "{d}");
        }
    }
    let m = &vr[1].3;
    assert!(m.contains("\nX-Mailer: Keepalived\nTo: ops@example.com, root\n\n=> VRRP Instance is now owning VRRP VIPs <=\n"), "{m}");
}

/// VI_1 and VI_2 in sync group G, which mails (its own `smtp_alert`); the instances do not
/// (`smtp_alert false` overrides the global `smtp_alert`).
fn grouped(prio: u8, vips: [&str; 2], globals: &str) -> String {
    let off = "    smtp_alert false\n";
    let one = Inst::vi1(prio, &format!("{}/24", vips[0]), off).text("lab", globals, "");
    let mut two = Inst::vi1(prio, &format!("{}/24", vips[1]), off);
    two.name = "VI_2";
    two.vrid = 52;
    format!(
        "{one}{}vrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_2\n    }}\n    \
         smtp_alert\n}}\n",
        two.text("lab", "", "")
            .split_once("vrrp_instance")
            .map(|(_, i)| format!("vrrp_instance{i}"))
            .unwrap_or_default()
    )
}

#[test]
fn a_sync_group_mails_its_transitions_as_keepalived_does() {
    assert_root();
    let (ka, vr) = side_by_side(|keepalived| run(keepalived, grouped));
    let subjects =
        |m: &[Seen]| -> Vec<String> { m.iter().map(|x| subject(&x.3).to_string()).collect() };
    let want = [
        "[lab] VRRP Group G - Entering BACKUP state",
        "[lab] VRRP Group G - Entering MASTER state",
        "[lab] VRRP Group G - Entering BACKUP state",
    ];
    assert_eq!(subjects(&ka), want, "keepalived 2.2.7's mails");
    assert_eq!(subjects(&vr), want, "vrrpd-real's mails");
    for (k, v) in ka.iter().zip(&vr) {
        assert_eq!((&k.0, &k.1, &k.2, &k.3), (&v.0, &v.1, &v.2, &v.3));
    }
    let m = &vr[1].3;
    assert!(
        m.contains("\n\n=> All VRRP group instances are now in MASTER state <=\n"),
        "{m}"
    );
}

#[test]
fn a_dead_smtp_server_never_delays_an_advert() {
    assert_root();
    let lab = Lab::new(3).expect("lab");
    let dir = tmpdir("smtp-dead");
    let vip = lab.addr(100).to_string();
    let server = lab.hosts[2].ip.to_string();
    // Host 2 drops every SYN to the SMTP port: connects hang until smtp_connect_timeout.
    ns_nft(
        &lab.hosts[2].ns,
        "table inet smtp {\n  chain input {\n    type filter hook input priority 0;\n    \
         tcp dport 2525 drop\n  }\n}\n",
    );
    let conf = Inst::vi1(100, &format!("{vip}/24"), "").text("lab", &mail_globals(&server, 4), "");
    let pid = start_daemon(&lab, 0, &dir, "dead", &conf);
    // Backup at 0 and Master at 3.6 s: each mail hangs 4 s while the Master advertises.
    std::thread::sleep(Duration::from_secs(12));
    let trace = trace_lines(&dir, "dead");
    // The engine's schedule: an advert at the Master transition, then one every second.
    let master_at = trace
        .iter()
        .find(|l| l["kind"] == "state" && l["to"] == "MASTER")
        .and_then(|l| l["t"].as_f64())
        .expect("a Master transition");
    let tx: Vec<f64> = trace
        .iter()
        .filter(|l| l["kind"] == "tx")
        .filter_map(|l| l["t"].as_f64())
        .collect();
    let late: Vec<f64> = tx
        .iter()
        .enumerate()
        .map(|(k, t)| t - (master_at + k as f64))
        .collect();
    let worst = late.iter().copied().fold(0.0, f64::max);
    println!(
        "Master at {master_at:.6} s, {} adverts, each sent this late (ms): {:?}",
        tx.len(),
        late.iter()
            .map(|l| format!("{:.3}", l * 1e3))
            .collect::<Vec<_>>()
    );
    assert!(
        tx.len() >= 8,
        "too few adverts: {tx:?}\n{}",
        log(&dir, "dead")
    );
    assert!(
        late.iter().all(|l| *l > -0.001),
        "an advert went early: {late:?}"
    );
    // A mail awaited in the loop would hold an advert for seconds (the 4 s connect timeout).
    // The bound sits far below that and above this machine's own noise: without mail the
    // same run measured 0.5-10 ms, and a first takeover of the debug build (cold pages,
    // no --lock-memory) up to 25 ms on a shared 2-core VM.
    assert!(
        worst < 0.100,
        "an advert was {:.3} ms late while mails hung",
        worst * 1e3
    );
    let text = log(&dir, "dead");
    let timeouts = text
        .matches(&format!(
            "Timeout opening connection to remote SMTP server [{server}]:2525."
        ))
        .count();
    assert_eq!(timeouts, 2, "both mails time out:\n{text}");
    // The shutdown does not wait for mails.
    let t0 = std::time::Instant::now();
    lab.signal(pid, libc::SIGTERM);
    let took = t0.elapsed();
    println!("shutdown took {took:?}");
    assert!(took < Duration::from_secs(1), "shutdown took {took:?}");
}

//! `vrrpd-real -t`: exit codes, finding lines and the `--dump` JSON.

use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vrrpd-real"))
}

fn fixture(name: &str) -> String {
    format!(
        "{}/../engine/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Writes `text` to a fresh temp file named after the test.
fn temp_conf(test: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vrrpd-real-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, text).expect("write");
    path
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn stderr_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn valid_file_exits_0_silently() {
    let o = run(&["-t", "-f", &fixture("keepalived.conf")]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn warnings_are_printed_but_exit_0() {
    let f = fixture("keepalived/seed_2_5_full_example.conf");
    let o = run(&["-t", "-f", &f]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stderr_lines(&o),
        [format!("{f}:29:5: warning: `nopreempt` is ignored with `state MASTER` (keepalived keeps preempting); use `state BACKUP`")]
    );
}

#[test]
fn strict_fails_on_warnings() {
    let f = fixture("keepalived/seed_2_5_full_example.conf");
    let o = run(&["-t", "--strict", "-f", &f]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr_lines(&o),
        [format!("{f}:29:5: error: `nopreempt` is ignored with `state MASTER` (keepalived keeps preempting); use `state BACKUP`")]
    );
}

#[test]
fn invalid_file_exits_1_with_every_finding() {
    let p = temp_conf(
        "invalid",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority abc\n    priorty 100\n    \
         virtual_ipaddress {\n        10.0.0.1\n    }\n}\n",
    );
    let o = run(&["-t", "-f", p.to_str().expect("utf8 path")]);
    if let Some(dir) = p.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
    let f = p.display();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr_lines(&o),
        [
            format!("{f}:4:14: error: `priority` expects an integer in 1..255, got `abc`"),
            format!("{f}:5:5: warning: unknown keyword `priorty` in vrrp_instance; did you mean `priority`?"),
        ]
    );
}

#[test]
fn missing_file_exits_1() {
    let o = run(&["-t", "-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(o.status.code(), Some(1));
    let lines = stderr_lines(&o);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with(
            "/nonexistent/keepalived.conf:1:1: error: cannot read `/nonexistent/keepalived.conf`: "
        ),
        "{lines:?}"
    );
}

#[test]
fn dump_prints_effective_config_as_json() {
    let o = run(&[
        "-t",
        "--dump",
        "-f",
        &fixture("keepalived/seed_3_2_master.conf"),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let inst = &v["instances"][0];
    assert_eq!(inst["name"], "VI_1");
    assert_eq!(inst["vrid"], 51);
    assert_eq!(inst["priority"], 100);
    assert_eq!(inst["initial_state"], "MASTER");
    assert_eq!(inst["version"], "2");
    assert_eq!(inst["auth"]["type"], "PASS");
    assert_eq!(inst["auth"]["pass"], "123456");
    assert_eq!(inst["vips"][0]["addr"], "172.20.0.100");
    assert_eq!(inst["vips"][0]["prefix_len"], 24);
    // Defaults filled in.
    assert_eq!(inst["garp"]["master_repeat"], 5);
    assert_eq!(inst["advert_interval"]["secs"], 1);
    assert_eq!(v["global"]["smtp_connect_timeout"]["secs"], 30);
    assert_eq!(v["scripts"][0]["weight"], -5);
}

#[test]
fn without_t_a_bad_file_stops_the_daemon_before_any_network_action() {
    // Never start the daemon on a real file here: it would act on this namespace's links.
    let o = run(&["-n", "-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!o.stderr.is_empty());
}

#[test]
fn default_file_is_keepalived_s() {
    let o = run(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("/etc/keepalived/keepalived.conf"));
}

/// Every keyword keepalived 2.2.7's `-t` calls unknown inside `virtual_server`, `real_server`
/// and the checkers (the seed's block, and one with typos), `vrrpd-real -t` reports on the
/// same line; and both say when an HTTP_GET is dropped for having no `url { }`.
#[test]
fn lvs_findings_agree_with_keepalived_config_test() {
    let typos = temp_conf(
        "lvs-typos",
        "virtual_server 10.0.0.1 80 {\n    delay_loop 6\n    lb_algo rr\n    persistance_timeout 50\n\
         \x20   real_server 10.0.0.2 80 {\n        weigth 1\n        TCP_CHECK {\n            conect_timeout 3\n\
         \x20       }\n        HTTP_GET {\n            url {\n                path /\n                digets 00\n\
         \x20           }\n            retry 3\n        }\n    }\n}\n",
    );
    for file in [
        fixture("keepalived/seed_2_4_virtual_server.conf"),
        typos.display().to_string(),
    ] {
        let k = Command::new("keepalived")
            .args(["-t", "-l", "-n", "-f", &file])
            .output()
            .expect("keepalived is installed (scripts/test.sh installs it)");
        let k_text =
            String::from_utf8_lossy(&k.stderr).to_string() + &String::from_utf8_lossy(&k.stdout);
        let ours = stderr_lines(&run(&["-t", "-f", &file]));
        // "(FILE: Line N) Unknown keyword 'X'"
        let unknown: Vec<(String, String)> = k_text
            .lines()
            .filter_map(|l| {
                let (pos, rest) = l.split_once(") Unknown keyword '")?;
                let line = pos.rsplit("Line ").next()?.to_string();
                Some((line, rest.trim_end_matches('\'').to_string()))
            })
            .collect();
        assert!(
            !unknown.is_empty(),
            "{file}: keepalived found nothing: {k_text}"
        );
        for (line, word) in &unknown {
            assert!(
                ours.iter()
                    .any(|o| o.starts_with(&format!("{file}:{line}:"))
                        && o.contains(&format!("`{word}`"))),
                "{file}: keepalived: line {line} unknown {word:?}; vrrpd-real:\n{}",
                ours.join("\n")
            );
        }
        assert_eq!(
            k_text.contains("has no urls specified"),
            ours.iter().any(|o| o.contains("has no `url { }` block")),
            "{file}:\nkeepalived: {k_text}\nvrrpd-real: {}",
            ours.join("\n")
        );
    }
}

/// The defaults and corrections keepalived 2.2.7's `-t` reports once the file is read
/// (`validate_check_config`: no protocol, scheduler or forwarding method set, ports of
/// fwmark, DR and group real servers, no real servers; `lbalgo_handler`'s unknown
/// scheduler), `vrrpd-real -t` reports as many times each, quoting keepalived's words; and
/// it says `ha_suspend` and a group shared by two virtual servers are not acted on.
#[test]
fn lvs_defaults_and_corrections_agree_with_keepalived_config_test() {
    let file = fixture("keepalived/lvs_defaults.conf");
    let k = Command::new("keepalived")
        .args(["-t", "-l", "-n", "-f", &file])
        .output()
        .expect("keepalived is installed (scripts/test.sh installs it)");
    let k_text =
        String::from_utf8_lossy(&k.stderr).to_string() + &String::from_utf8_lossy(&k.stdout);
    let o = run(&["-t", "-f", &file]);
    assert_eq!(o.status.code(), Some(0), "warnings only");
    let ours = stderr_lines(&o);
    for phrase in [
        "Invalid lvs_scheduler 'bogus' - ignoring",
        "no protocol set - defaulting to UDP",
        "no scheduler set, setting default 'wlc'",
        "no forwarding method set, setting default NAT",
        "ports don't match",
        "ports don't match - resetting",
        "has port specified - clearing",
        "has port specified - port will be ignored",
        "protocol specified for fwmark - protocol will be ignored",
        "has no real servers - ignoring",
    ] {
        let theirs = k_text.lines().filter(|l| l.contains(phrase)).count();
        let mine = ours.iter().filter(|l| l.contains(phrase)).count();
        assert!(theirs > 0, "keepalived never says {phrase:?}:\n{k_text}");
        assert_eq!(
            mine,
            theirs,
            "{phrase:?}\nkeepalived:\n{k_text}\nvrrpd-real:\n{}",
            ours.join("\n")
        );
    }
    for ours_only in [
        ":11:5: warning: `ha_suspend` is parsed but not acted on by vrrpd-real yet",
        ":25:22: warning: virtual_server_group `G` is already used by the virtual_server at",
    ] {
        assert!(
            ours.iter().any(|l| l.contains(ours_only)),
            "{ours_only:?}: {}",
            ours.join("\n")
        );
    }
    // Every line is a warning at a position of the file.
    assert!(
        ours.iter().all(|l| l.starts_with(&format!("{file}:"))),
        "{ours:?}"
    );
}

/// A file with a virtual server on a kernel without IPVS (this machine's): keepalived 2.2.7
/// stops altogether ("IPVS: Can't initialize ipvs", its checker process exits FATAL and takes
/// the VRRP half with it, exit 1), and so does vrrpd-real, before sending anything; also when
/// the only virtual server is a `virtual_server group`. `-P` (VRRP only) leaves the virtual
/// servers out. Both run in a namespace of their own with only `lo`, and are stopped after 3 s
/// if still running.
#[test]
fn virtual_servers_without_ipvs_stop_the_daemon_as_keepalived_does() {
    let rs =
        "  real_server 10.9.0.2 80 {\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n}\n";
    let addr = temp_conf(
        "no-ipvs",
        &format!("virtual_server 10.9.0.100 80 {{\n  delay_loop 2\n  protocol TCP\n{rs}"),
    );
    let group = temp_conf(
        "no-ipvs-group",
        &format!(
            "virtual_server_group G {{\n  10.9.0.100 80\n}}\n\
             virtual_server group G {{\n  delay_loop 2\n  protocol TCP\n{rs}"
        ),
    );
    let ns = vrrp_lab::Netns::new().expect("a namespace");
    let pid_dir = std::env::temp_dir().join(format!("vrrpd-real-cli-{}-pids", std::process::id()));
    std::fs::create_dir_all(&pid_dir).expect("pid dir");
    let pid = |n: &str| pid_dir.join(n).display().to_string();
    // Any exit status is an answer here (Netns::exec wants success).
    let exec = |args: &[&str]| {
        Command::new("ip")
            .args(["netns", "exec", &ns.name, "timeout"])
            .args(args)
            .output()
            .expect("ip netns exec runs")
    };
    let bin = env!("CARGO_BIN_EXE_vrrpd-real");
    for conf in [&addr, &group] {
        let conf = conf.display().to_string();
        let ka = exec(&[
            "3",
            "keepalived",
            "-n",
            "-l",
            "-f",
            &conf,
            "-p",
            &pid("ka"),
            "-c",
            &pid("kc"),
            "-r",
            &pid("kr"),
        ]);
        let ka_text =
            String::from_utf8_lossy(&ka.stdout).to_string() + &String::from_utf8_lossy(&ka.stderr);
        assert_eq!(ka.status.code(), Some(1), "keepalived {conf}: {ka_text}");
        assert!(ka_text.contains("IPVS: Can't initialize ipvs"), "{ka_text}");

        let us = exec(&["3", bin, "-n", "-l", "-f", &conf]);
        let us_text = String::from_utf8_lossy(&us.stderr);
        assert_eq!(us.status.code(), Some(1), "vrrpd-real {conf}: {us_text}");
        assert!(
            us_text.contains("IPVS: Can't initialize ipvs: kernel has no IPVS"),
            "{us_text}"
        );
    }
    // -P: VRRP only, nothing to program: it runs until stopped (timeout's 124).
    let p = exec(&[
        "2",
        bin,
        "-P",
        "-n",
        "-l",
        "-f",
        &addr.display().to_string(),
    ]);
    assert_eq!(
        p.status.code(),
        Some(124),
        "{}",
        String::from_utf8_lossy(&p.stderr)
    );
}

/// keepalived's own sample of conditional configuration (`doc/samples/
/// keepalived.conf.conditional_conf` of keepalived 2.2.7): with `-i high` and `-i low` both
/// keepalived and vrrpd-real accept it, and vrrpd-real's `--dump` has that id's values;
/// `$NAME` definitions are expanded where keepalived expands them.
#[test]
fn conditional_configuration_as_keepalived_reads_it() {
    let file = fixture("keepalived/keepalived.conf.conditional_conf");
    for (id, prio, script) in [
        ("high", 170, "/etc/keepalived/scripts/check_high_VI_0.sh"),
        ("low", 85, "/etc/keepalived/scripts/check_low_VI_0.sh"),
    ] {
        let k = Command::new("keepalived")
            .args(["-t", "-l", "-n", "-i", id, "-f", &file])
            .output()
            .expect("keepalived runs");
        assert_eq!(k.status.code(), Some(0), "keepalived -t -i {id}");
        let o = run(&["-t", "--dump", "-i", id, "-f", &file]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        assert_eq!(v["instances"][0]["priority"], prio, "-i {id}");
        assert_eq!(v["scripts"][0]["script"], script, "-i {id}");
        // The `@high net_namespace high` line is read (and reported) only with -i high,
        // at its own column.
        let net_ns = stderr_lines(&o)
            .iter()
            .any(|l| l.contains(":3:7: warning: `net_namespace`"));
        assert_eq!(net_ns, id == "high", "{:?}", stderr_lines(&o));
    }
    // Without -i the id is the host name: neither @high nor @low lines apply, so the
    // vrrp_script has no `script`, which both refuse.
    let k = Command::new("keepalived")
        .args(["-t", "-l", "-n", "-f", &file])
        .output()
        .expect("keepalived runs");
    assert_ne!(k.status.code(), Some(0), "keepalived -t without -i");
    let o = run(&["-t", "-f", &file]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr_lines(&o)
            .iter()
            .any(|l| l.contains("vrrp_script check_VI_0 has no `script`")),
        "{:?}",
        stderr_lines(&o)
    );

    let defs = temp_conf(
        "defs",
        "$PRIO=150\n$VIP=10.1.1.1/24\nvrrp_instance VI_1 {\n    interface eth0\n    \
         virtual_router_id 7\n    priority $PRIO\n    virtual_ipaddress {\n        ${VIP}\n    }\n}\n",
    );
    let defs = defs.display().to_string();
    let k = Command::new("keepalived")
        .args(["-t", "-l", "-n", "-f", &defs])
        .output()
        .expect("keepalived runs");
    assert_eq!(k.status.code(), Some(0));
    let o = run(&["-t", "--dump", "-f", &defs]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["instances"][0]["priority"], 150);
    assert_eq!(v["instances"][0]["vips"][0]["addr"], "10.1.1.1");
}

#[test]
fn timing_flags_are_checked_before_anything_runs() {
    let f = fixture("keepalived.conf");
    for (flag, value) in [
        ("--start-at", "12.5s"),
        ("--start-at", "1.1234567891"),
        ("--wake-early", "soon"),
        ("--takeover-wake-early", "fast"),
    ] {
        let o = run(&["-t", "-f", &f, flag, value]);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(flag) && err.contains(value), "{err}");
    }
    let o = run(&[
        "-t",
        "-f",
        &f,
        "--start-at",
        "12.000000001",
        "--wake-early",
        "3ms",
        "--takeover-wake-early",
        "0",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Issue 16: three files in one folder that each hold only `include *.conf` (keepalived
/// 2.2.7 loops forever on it): `-t` ends, exit 1, with the cycle named at its file:line:col.
#[test]
fn include_cycles_end_with_the_cycle_named() {
    let conf = temp_conf("include-fan", "include *.conf\n");
    let dir = conf.parent().expect("a folder").to_path_buf();
    for f in ["b.conf", "c.conf"] {
        std::fs::write(dir.join(f), "include *.conf\n").expect("write");
    }
    let o = run(&["-t", "-f", conf.to_str().expect("utf-8")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(o.status.code(), Some(1));
    let lines = stderr_lines(&o);
    let d = dir.display();
    let cycle = format!(
        "{d}/c.conf:1:9: error: include loop: {d}/keepalived.conf -> {d}/b.conf -> {d}/c.conf -> \
         {d}/keepalived.conf: `{d}/keepalived.conf` is not read again"
    );
    assert!(lines.contains(&cycle), "{lines:#?}");
}

/// `-t` never passes a file the daemon then refuses: for each file, `-t`'s exit status
/// agrees with what the daemon does before it touches the host (the front end, then
/// [`vrrp_real::daemon::host_check::startup_check`]). The corpus: every fixture, and the
/// cases of issue 16 item 15.
#[test]
fn t_passes_exactly_what_the_daemon_starts() {
    use vrrp_engine::keepalived::{self, FsLoader, Options};
    let body = |extra: &str, vips: &str| {
        format!(
            "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n{extra}    virtual_ipaddress {{\n{vips}    }}\n}}\n"
        )
    };
    let vip = "        10.0.0.1\n";
    let cases = [
        (
            "v6peer",
            body(
                "    unicast_peer {\n        fe80::2\n        10.0.0.2\n    }\n",
                vip,
            ),
        ),
        ("v6src", body("    unicast_src_ip fe80::1\n", vip)),
        ("noiface", body("", vip).replace("    interface eth0\n", "")),
        ("dup", format!("{}{}", body("", vip), body("", vip))),
        (
            "missing_devs",
            body(
                "    track_interface {\n        nosuch\n    }\n",
                "        10.0.0.1 dev nosuch\n",
            ),
        ),
        ("novip", body("", "")),
        ("v3novip", body("    version 3\n", "")),
        ("mixed", body("", "        10.0.0.1\n        fe80::5\n")),
    ];
    let mut files: Vec<PathBuf> = cases
        .iter()
        .map(|(name, text)| temp_conf(&format!("tstart-{name}"), text))
        .collect();
    for dir in ["", "keepalived"] {
        let d = PathBuf::from(fixture(dir));
        for e in std::fs::read_dir(&d).expect("fixtures").flatten() {
            if e.path().extension().is_some_and(|x| x == "conf") {
                files.push(e.path());
            }
        }
    }
    assert!(files.len() > cases.len(), "no fixtures found");
    for f in &files {
        let t = run(&["-t", "-f", f.to_str().expect("utf-8 path")]);
        let daemon = keepalived::load(f, &FsLoader, &Options::default())
            .map_err(|e| format!("{e:?}"))
            .and_then(|l| vrrp_real::daemon::host_check::startup_check(&l.config));
        assert_eq!(
            t.status.success(),
            daemon.is_ok(),
            "{}: -t says {:?}, the daemon's checks {daemon:?}",
            f.display(),
            stderr_lines(&t)
        );
    }
    // The cases of item 15 as keepalived 2.2.7 treats them.
    let t = |k: usize| {
        let o = run(&["-t", "-f", files[k].to_str().expect("utf-8 path")]);
        (o.status.success(), stderr_lines(&o).join("\n"))
    };
    let (ok, out) = t(0);
    assert!(
        ok && out
            .contains("unicast peer address[fe80::2] MUST be of the same family !!! Skipping..."),
        "{out}"
    );
    let (ok, out) = t(2);
    assert!(
        !ok && out.contains(":1:15: error: vrrp_instance VI_1 has no `interface`"),
        "{out}"
    );
    let (ok, out) = t(3);
    assert!(
        ok && out.contains(":8:15: warning: vrrp instance VI_1 already defined"),
        "{out}"
    );
}

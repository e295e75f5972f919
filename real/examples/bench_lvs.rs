//! `vrrpd-real -C` and keepalived 2.2.7 `-C` side by side in one QEMU VM (`vrrp_lab::vm`:
//! this machine's kernel has no IPVS): 100 virtual servers x 10 real servers, `TCP_CHECK`,
//! `delay_loop 1`, so about 1,000 probes a second each. Driven by `scripts/bench-lvs.sh`.
//!
//! In the guest: a director namespace running the daemon, a real-server namespace with ten
//! addresses served by `lvs_sink` (accept and close, counted). For each daemon in turn: start,
//! wait until the 1,000 destinations are in IPVS, settle, then read the user + system ticks of
//! every process in the director's namespace before and after a window (keepalived: its
//! parent and checker child; vrrpd-real: one process), `VmRSS` and `VmHWM` summed at the end,
//! and the sink's accepted connections per second over the window (both must do the same
//! work). The guest is emulated (TCG), so absolute figures are slow; the ratio is the result.
//!
//! Usage: `bench_lvs --vrrpd PATH --sink PATH [--window SECS] [--out FILE]`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;
use vrrp_lab::vm::{self, VmSpec};

const BEGIN: &str = "<!-- bench-lvs:begin -->";
const END: &str = "<!-- bench-lvs:end -->";

/// 100 virtual servers (10.0.2.1-100:80) of the same ten real servers.
fn conf() -> String {
    let mut t = String::new();
    for v in 1..=100 {
        let _ = writeln!(
            t,
            "virtual_server 10.0.2.{v} 80 {{\n  delay_loop 1\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP"
        );
        for r in 11..=20 {
            let _ = writeln!(
                t,
                "  real_server 10.0.1.{r} 80 {{\n    weight 1\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}"
            );
        }
        t.push_str("}\n");
    }
    t
}

fn script(window: u64) -> String {
    format!(
        r#"
set -u
vm_ns dir rs
vm_veth dir d0 10.0.1.1/24 rs r0 ""
for r in $(seq 11 20); do ip -n rs addr add 10.0.1.$r/24 dev r0; done
addrs=""
for r in $(seq 11 20); do addrs="$addrs 10.0.1.$r:80"; done
ip netns exec rs /usr/local/bin/lvs_sink $addrs 2>/tmp/sink.log &
vm_wait_port dir 10.0.1.20 80 10
CLK=$(getconf CLK_TCK 2>/dev/null || echo 100)
ticks() {{ local t=0 p f; for p in $(ip netns pids dir); do f=($(cat /proc/$p/stat 2>/dev/null)); t=$((t + ${{f[13]:-0}} + ${{f[14]:-0}})); done; echo $t; }}
kb() {{ local t=0 p v; for p in $(ip netns pids dir); do v=$(awk -v k="$1:" '$1 == k {{ print $2 }}' /proc/$p/status 2>/dev/null); t=$((t + ${{v:-0}})); done; echo $t; }}
bench() {{
    local name=$1
    shift
    ip netns exec dir "$@" >/tmp/$name.log 2>&1 &
    local pid=$!
    vm_wait 60 bash -c '[ "$(ip netns exec dir ipvsadm -Ln | grep -c "^  -> [0-9]")" -ge 1000 ]' || {{ tail -20 /tmp/$name.log; exit 1; }}
    sleep 5
    local lines0=$(wc -l < /tmp/sink.log) t0=$(ticks) w0=$EPOCHREALTIME
    sleep {window}
    local t1=$(ticks) w1=$EPOCHREALTIME rss=$(kb VmRSS) hwm=$(kb VmHWM) procs=$(ip netns pids dir | wc -l)
    local conns=$(tail -n +$((lines0 + 1)) /tmp/sink.log | head -n {window} | awk '{{ s += $2; n++ }} END {{ if (n) printf "%.0f", s / n }}')
    echo "@@ RESULT $name $((t1 - t0)) $CLK $w0 $w1 $rss $hwm $procs ${{conns:-0}}"
    kill -TERM $pid
    wait $pid
    echo "@@ LEFT $name $(ip netns exec dir ipvsadm -Ln | grep -c '^  -> [0-9]' || true)"
}}
bench keepalived keepalived -C -n -l -f /etc/lvs.conf -p /run/ka.pid -c /run/ka-c.pid
bench vrrpd-real /usr/local/bin/vrrpd-real -C -n -l -f /etc/lvs.conf
echo "@@ DONE"
"#
    )
}

struct Row {
    name: String,
    cpu_pct: f64,
    rss_kb: u64,
    hwm_kb: u64,
    procs: u64,
    conns: u64,
    left: String,
}

fn main() {
    let mut vrrpd = PathBuf::from("target/release/vrrpd-real");
    let mut sink = PathBuf::from("target/release/examples/lvs_sink");
    let mut window = 30u64;
    let mut out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--vrrpd" => vrrpd = PathBuf::from(val()),
            "--sink" => sink = PathBuf::from(val()),
            "--window" => window = val().parse().expect("--window SECS"),
            "--out" => out = Some(PathBuf::from(val())),
            other => panic!("unknown argument {other}"),
        }
    }
    let spec = VmSpec {
        binaries: vec![vrrpd, sink],
        files: vec![(PathBuf::from("/etc/lvs.conf"), conf().into_bytes())],
        script: script(window),
        timeout: Duration::from_secs(180 + 2 * window),
        memory_mb: 512,
    };
    let run = vm::run(&spec).unwrap_or_else(|e| panic!("the VM did not run: {e}"));
    assert!(
        run.status == 0 && run.stdout.contains("@@ DONE"),
        "{}",
        run.report()
    );
    let mut rows: Vec<Row> = Vec::new();
    for line in run.stdout.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["@@", "RESULT", name, ticks, clk, w0, w1, rss, hwm, procs, conns] => {
                let secs = w1.parse::<f64>().unwrap() - w0.parse::<f64>().unwrap();
                let cpu = ticks.parse::<f64>().unwrap() / clk.parse::<f64>().unwrap();
                rows.push(Row {
                    name: name.to_string(),
                    cpu_pct: 100.0 * cpu / secs,
                    rss_kb: rss.parse().unwrap(),
                    hwm_kb: hwm.parse().unwrap(),
                    procs: procs.parse().unwrap(),
                    conns: conns.parse().unwrap(),
                    left: String::new(),
                });
            }
            ["@@", "LEFT", name, n] => {
                if let Some(r) = rows.iter_mut().find(|r| r.name == *name) {
                    r.left = n.to_string();
                }
            }
            _ => {}
        }
    }
    assert_eq!(rows.len(), 2, "{}", run.report());
    let mut md = String::new();
    let _ = writeln!(md, "{BEGIN}");
    let _ = writeln!(
        md,
        "### LVS checkers: 100 virtual servers x 10 real servers, `delay_loop 1`\n"
    );
    let _ = writeln!(
        md,
        "Measured by `scripts/bench-lvs.sh` on: {}; guest: Debian kernel {} under QEMU TCG \
         (emulated, one vCPU, 512 MB), boot {:.1} s, whole run {:.0} s.\n",
        vrrp_lab::bench::machine(),
        run.kernel,
        run.boot_time.as_secs_f64(),
        run.total.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "Command: `scripts/bench-lvs.sh{}`. Each daemon runs `-C` (checkers only) on the same \
         file in the same guest, one after the other; {window} s window after the 1,000 \
         destinations are in IPVS and 5 s of settling. CPU: user + system ticks of every \
         process in the director's namespace over the window; RSS and peak (VmHWM) summed over \
         them at its end; probes/s: connections the real servers accepted per second.\n",
        std::env::var("BENCH_ARGS")
            .map(|a| if a.is_empty() { a } else { format!(" {a}") })
            .unwrap_or_default()
    );
    let _ = writeln!(
        md,
        "| daemon | processes | CPU % of one vCPU | probes/s | CPU per probe (µs) | RSS (KiB) | peak RSS (KiB) | destinations left after SIGTERM |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    let per_probe = |r: &Row| r.cpu_pct / 100.0 / r.conns.max(1) as f64 * 1e6;
    for r in &rows {
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} | {} | {:.0} | {} | {} | {} |",
            r.name,
            r.procs,
            r.cpu_pct,
            r.conns,
            per_probe(r),
            r.rss_kb,
            r.hwm_kb,
            r.left
        );
    }
    let (k, u) = (&rows[0], &rows[1]);
    let _ = writeln!(
        md,
        "\nvrrpd-real / keepalived: CPU {:.2}x, CPU per probe {:.2}x, RSS {:.2}x. The guest's one \
         vCPU is shared with the real servers and the kernel, so neither daemon reaches the \
         nominal 1,000 probes/s; CPU per probe is the comparable figure.",
        u.cpu_pct / k.cpu_pct,
        per_probe(u) / per_probe(k),
        u.rss_kb as f64 / k.rss_kb as f64
    );
    let _ = writeln!(md, "{END}");
    print!("{md}");
    if let Some(out) = out {
        vrrp_lab::bench::merge_section(&out, BEGIN, END, &md).expect("write output");
        eprintln!("wrote {}", out.display());
    }
}

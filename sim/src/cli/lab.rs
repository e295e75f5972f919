//! `sim lab FILE`: run an experiment on a real LAN of network namespaces with one
//! `vrrpd-real` per node, in real time; write the same CSV files and plots as `sim run`, and
//! the daemons' traces on the lab clock. Says what it cannot do before it starts.

use crate::CliError;
use clap::Args;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vrrp_sim::experiment;
use vrrp_sim::lab::{self, LabOptions};
use vrrp_sim::report::{output, plots};

/// Arguments of `sim lab`.
#[derive(Debug, Args)]
#[command(after_help = "\
Runs as root. Each node gets a network namespace joined to a bridge (in its own namespace),
its experiment address on its configured interface, and a vrrpd-real started with --trace and
--status. stop = SIGTERM, kill = SIGKILL, restart = SIGTERM + start; partitions, one-way
partitions and loss = nftables rules on the bridge ports (one transaction on an `nft -i` kept
running); link_down/up = SIOCSIFFLAGS in the node's namespace; check_fail /
check_pass = a file read by a generated check script that replaces each vrrp_script's script;
priority = a command on the daemon's --control socket; reload = the file rewritten + SIGHUP.
stop, restart, reload and priority are handed to the daemon 200 ms ahead and carried out by its
own timer at their instant (see --signals). Every daemon starts at its planned instant
(--start-at). Starts and faults use the first seed's start_jitter and jitter, as `sim run`
draws them. The lab and its daemons run under SCHED_FIFO (--no-realtime). Every start's and
fault's planned and actual
instant, and how it was measured, is written to <out>/lab_faults.csv (a daemon's start: its
first trace event; stop, restart, reload, priority: the daemon's `control` trace line; nft:
when nft -i had done it; links: when SIOCSIFFLAGS returned; kill: SIGKILL sent; checks: the
flag file written); the run prints the latest of them.
Not possible here: added latency (no netem), latency faults, burst loss, check_flap. One seed
(the first). Clients are modelled from the daemons' announce lines.

--daemon keepalived runs keepalived 2.2.7 as every node's daemon instead (found on PATH, else
/usr/sbin/keepalived), spawned at each planned start (it has no --start-at: its start is
measured, as its first notify-FIFO line); stop = SIGTERM to its parent and VRRP child (as
pkill keepalived), kill = SIGKILL to both, reload = SIGHUP, priority faults are refused
(keepalived has no way to set a priority at run time). OUT/sim-as-run/ holds the simulation of
the run as carried out (measured starts, faults at their actual instants): `sim compare
OUT/sim-as-run OUT` holds keepalived against it.
keepalived writes no trace: each node's trace is derived from its notify FIFO, a capture of
its interface and `ip monitor address`; derived-traces.txt in the output folder says how each
field is obtained. It runs with vrrp_rt_priority 50 (unless --wake-early 0) and vrrp_no_swap
(unless --no-lock-memory); --signals does not apply to it.")]
pub struct LabArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// Output folder (default: `out/<experiment name>-lab/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Trace folder (default: `<out>/trace`): `<variant>/<node>.jsonl`, lab clock.
    #[arg(long, value_name = "DIR")]
    pub trace: Option<PathBuf>,
    /// Run one variant only.
    #[arg(long)]
    pub variant: Option<String>,
    /// Refuse experiments whose total real time (duration x variants) exceeds this.
    #[arg(long, default_value = "5m")]
    pub max_duration: String,
    /// Run without the faults the lab cannot carry out (each is named), instead of refusing.
    #[arg(long)]
    pub skip_unsupported: bool,
    /// Every node's daemon: `vrrpd-real` (default: the one next to this `sim` binary),
    /// `keepalived` (keepalived 2.2.7 on PATH, else /usr/sbin/keepalived), or the path of
    /// either binary (one whose file name starts with `keepalived` is run as keepalived).
    #[arg(long, value_name = "vrrpd-real|keepalived|PATH")]
    pub daemon: Option<PathBuf>,
    /// Skip the PNG plots.
    #[arg(long)]
    pub no_plots: bool,
    /// The daemons' `--wake-early` margin: each wakes this long before its deadlines and
    /// waits on the CPU, so the comparison with `sim run` measures the engine's timing, not
    /// the 0.3-2 ms a VM takes to wake an idle vCPU. `0` runs them as deployed (off).
    #[arg(long, default_value = "3ms", value_parser = humantime::parse_duration)]
    pub wake_early: std::time::Duration,
    /// Run the daemons without `--lock-memory`. By default every page of each daemon is
    /// locked and populated before it starts: measured here, the first takeover of a debug
    /// build after idle seconds waits 5-10 ms on page faults (this VM pages out idle
    /// memory), 0.2 ms locked.
    #[arg(long)]
    pub no_lock_memory: bool,
    /// Carry out stop, restart, reload and priority as an operator does, with SIGTERM, SIGHUP
    /// and a control command when their instant comes. By default they are handed to the
    /// daemon 200 ms ahead (`at T stop|reload|priority` on its control socket) and carried
    /// out by its own timer at the instant: a signal wakes an idle daemon 2-6 ms late on a
    /// VM, which the comparison with `sim run` would otherwise measure.
    #[arg(long)]
    pub signals: bool,
    /// Run the lab and its daemons under the ordinary scheduler. By default they run under
    /// SCHED_FIFO (keepalived's vrrp_rt_priority does as much): measured here, with other
    /// work on both cores, a daemon's advert left 1.8-2.3 ms after its timer's instant
    /// without it.
    #[arg(long)]
    pub no_realtime: bool,
}

/// Run `sim lab`.
pub fn run(args: LabArgs) -> Result<(), CliError> {
    let exp = experiment::load(&args.file).map_err(|errors| {
        for e in &errors {
            eprintln!("{e}");
        }
        CliError(format!(
            "{} error(s) in {}",
            errors.len(),
            args.file.display()
        ))
    })?;
    let max = humantime::parse_duration(&args.max_duration)
        .map_err(|e| CliError(format!("--max-duration {:?}: {e}", args.max_duration)))?;
    let variants: Vec<_> = exp
        .variants
        .iter()
        .filter(|v| args.variant.as_ref().is_none_or(|n| n == &v.name))
        .collect();
    if variants.is_empty() {
        return Err(CliError(format!(
            "no variant {:?} in {}",
            args.variant.unwrap_or_default(),
            args.file.display()
        )));
    }
    let total = exp.duration * variants.len() as u32;
    if total > max {
        return Err(CliError(format!(
            "the lab runs in real time: {} variant(s) x {} = {} is longer than --max-duration {} \
             (raise --max-duration, pick one --variant, or shorten `duration`)",
            variants.len(),
            humantime::format_duration(exp.duration),
            humantime::format_duration(total),
            humantime::format_duration(max)
        )));
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(CliError(
            "sim lab needs root (network namespaces, nftables)".into(),
        ));
    }
    let keepalived = keepalived_binary(args.daemon.as_deref())?;
    let daemon = match args.daemon.clone() {
        _ if keepalived.is_some() => PathBuf::from("vrrpd-real"),
        Some(d) if d != Path::new("vrrpd-real") => d,
        _ => std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("vrrpd-real")))
            .filter(|p| p.is_file())
            .ok_or_else(|| {
                CliError("no vrrpd-real next to this binary: build it or pass --daemon".into())
            })?,
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(format!("{}-lab", exp.name)));
    let trace_dir = args.trace.clone().unwrap_or_else(|| out.join("trace"));
    // Say everything the lab cannot do before starting anything.
    let mut plans = Vec::new();
    let mut refused = Vec::new();
    for v in &variants {
        let mut a = lab::assess(&exp, v);
        if keepalived.is_some() {
            lab::keepalived_runner::assess(v, &mut a);
        }
        for w in &a.warnings {
            eprintln!("warning: [{}] {w}", v.name);
        }
        for f in &a.fatal {
            refused.push(format!("[{}] {f}", v.name));
        }
        let skip: BTreeMap<usize, String> = a.unsupported.iter().cloned().collect();
        for w in skip.values() {
            if args.skip_unsupported {
                eprintln!("warning: [{}] skipped, cannot be done here: {w}", v.name);
            } else {
                refused.push(format!("[{}] cannot be done here: {w}", v.name));
            }
        }
        plans.push((v, skip));
    }
    if !refused.is_empty() {
        for r in &refused {
            eprintln!("refused: {r}");
        }
        return Err(CliError(format!(
            "{} fault(s) or setting(s) the lab cannot carry out{}",
            refused.len(),
            if args.skip_unsupported {
                ""
            } else {
                " (--skip-unsupported runs without the unsupported faults)"
            }
        )));
    }
    eprintln!("note: invariants are not checked in the lab (they need the engine's snapshot); invariant_violations is 0 by construction");
    std::fs::create_dir_all(&out)
        .map_err(|e| CliError(format!("cannot create {}: {e}", out.display())))?;
    if let Some(k) = &keepalived {
        println!("daemon: {} on every node", k.display());
        if !args.wake_early.is_zero() || !args.no_lock_memory {
            eprintln!(
                "note: keepalived runs with{}{} in global_defs (a late wake-up lengthens its \
                 advert interval: the comparison would measure the VM's scheduler); \
                 --wake-early 0 --no-lock-memory runs it as deployed",
                if args.wake_early.is_zero() {
                    ""
                } else {
                    " vrrp_rt_priority 50"
                },
                if args.no_lock_memory {
                    ""
                } else {
                    " vrrp_no_swap"
                }
            );
        }
        println!("{}", lab::derive::NOTE);
        let note = out.join("derived-traces.txt");
        std::fs::write(&note, format!("{}\n", lab::derive::NOTE))
            .map_err(|e| CliError(format!("cannot write {}: {e}", note.display())))?;
    } else if !args.wake_early.is_zero() || !args.no_lock_memory {
        eprintln!(
            "note: the daemons run with{}{} (the VM's wake-up and page-fault latencies hidden, \
             so the comparison with `sim run` measures the engine); --wake-early 0 \
             --no-lock-memory runs them as deployed",
            if args.wake_early.is_zero() {
                String::new()
            } else {
                format!(
                    " --wake-early {}",
                    humantime::format_duration(args.wake_early)
                )
            },
            if args.no_lock_memory {
                ""
            } else {
                " --lock-memory"
            }
        );
    }
    let seed = exp.seeds.start;
    let mut results = Vec::new();
    let mut recordings = Vec::new();
    let mut timings = Vec::new();
    for (v, skip) in plans {
        println!(
            "variant {}: {} of real time, timeline:\n{}",
            v.name,
            humantime::format_duration(exp.duration),
            lab::describe_plan(v, &skip, seed)
        );
        let opts = LabOptions {
            daemon: daemon.clone(),
            work: out.join("lab").join(plots::slug(&v.name)),
            skip: skip.keys().copied().collect(),
            wake_early: args.wake_early,
            signals: args.signals,
            lock_memory: !args.no_lock_memory,
            keepalived: keepalived.clone(),
            realtime: !args.no_realtime,
            seed,
        };
        let run = lab::run_variant(&exp, v, &opts, &mut |s| println!("{s}"))
            .map_err(|e| CliError(format!("variant {}: {e}", v.name)))?;
        print!("{}", run.log);
        lab::write_traces(&trace_dir.join(plots::slug(&v.name)), v, &run).map_err(CliError)?;
        if keepalived.is_some() {
            simulate_as_run(&exp, v, &run, seed, &out)?;
        }
        timings.push((v.name.clone(), run.timings.clone()));
        let (r, rec) = lab::replay::replay(&exp, v, &run, seed);
        results.push(r);
        recordings.push((v.name.clone(), rec));
    }
    let io = |e: csv::Error| CliError(format!("cannot write to {}: {e}", out.display()));
    lab::timing::write_csv(&out.join("lab_faults.csv"), &timings).map_err(CliError)?;
    println!("{}", lab::timing::summary(&timings));
    output::write_runs(&out.join("runs.csv"), &results).map_err(io)?;
    output::write_summary(&out.join("summary.csv"), &results).map_err(io)?;
    if exp.events {
        output::write_events(&out.join("events.csv"), &recordings).map_err(io)?;
    }
    if exp.plots && !args.no_plots {
        for (variant, rec) in &recordings {
            let path = out.join(format!("timeline_{}.png", plots::slug(variant)));
            plots::timeline(&path, &format!("{} (lab): {variant}", exp.name), rec)
                .map_err(|e| CliError(format!("plot {}: {e}", path.display())))?;
        }
        let path = out.join("distributions.png");
        plots::distributions(
            &path,
            &format!("{} (lab): 1 run per variant", exp.name),
            &results,
        )
        .map_err(|e| CliError(format!("plot {}: {e}", path.display())))?;
    }
    println!("{} (lab, {})", exp.name, exp.path.display());
    output::print_table(&mut std::io::stdout(), &results).map_err(|e| CliError(e.to_string()))?;
    println!(
        "results in {}, traces in {}",
        out.display(),
        trace_dir.display()
    );
    Ok(())
}

/// The keepalived binary `--daemon` names (`keepalived`, or a path whose file name starts with
/// `keepalived`), or `None` for vrrpd-real.
fn keepalived_binary(daemon: Option<&Path>) -> Result<Option<PathBuf>, CliError> {
    let Some(d) = daemon else {
        return Ok(None);
    };
    if d == Path::new("keepalived") {
        let on_path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("keepalived"))
                .find(|p| p.is_file())
        });
        let found = on_path
            .or_else(|| Some(PathBuf::from(lab::keepalived_runner::DEFAULT_BINARY)))
            .filter(|p| p.is_file())
            .ok_or_else(|| {
                CliError(format!(
                    "--daemon keepalived: no keepalived on PATH nor at {} (Debian: apt-get \
                     install keepalived)",
                    lab::keepalived_runner::DEFAULT_BINARY
                ))
            })?;
        return Ok(Some(found));
    }
    let named = d
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("keepalived"));
    Ok(named.then(|| d.to_path_buf()))
}

/// Simulates variant `v` as the lab carried it out ([`lab::as_run`]) and writes its trace to
/// `<out>/sim-as-run/trace/<variant>/`.
fn simulate_as_run(
    exp: &experiment::Experiment,
    v: &vrrp_sim::experiment::model::Variant,
    run: &lab::LabRun,
    seed: u64,
    out: &Path,
) -> Result<(), CliError> {
    let mut as_run = exp.clone();
    as_run.variants = vec![lab::as_run::variant(v, run)];
    let opts = vrrp_sim::backend::runner::RunOptions {
        seed: Some(seed),
        trace: true,
        ..Default::default()
    };
    let outcome = vrrp_sim::backend::runner::run_all(&as_run, &opts).map_err(CliError)?;
    let dir = out
        .join("sim-as-run")
        .join("trace")
        .join(plots::slug(&v.name));
    for (_, rec) in &outcome.recordings {
        if let Some(t) = &rec.trace {
            t.write_dir(&dir)
                .map_err(|e| CliError(format!("cannot write {}: {e}", dir.display())))?;
        }
    }
    println!(
        "simulated as carried out (measured starts, faults at their actual instants): {}",
        dir.display()
    );
    Ok(())
}

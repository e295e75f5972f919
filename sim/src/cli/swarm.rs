//! `sim swarm FILE`: random fault schedules over an experiment's nodes, every invariant
//! checked; the first failing case is shrunk and written back as an experiment file that
//! `sim run` replays. Exit status: 0 when nothing is found, 1 when something is, 2 for bad
//! input. Everything on stdout is a function of the arguments (byte-identical runs); timing
//! and progress go to stderr.

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant as WallClock};
use vrrp_sim::experiment::{self, Experiment};
use vrrp_sim::swarm::kinds::{Kind, KindSet};
use vrrp_sim::swarm::{self, shrink, write, CaseResult, Options};

/// Arguments of `sim swarm`.
#[derive(Debug, Args)]
pub struct SwarmArgs {
    /// The experiment file (TOML): its nodes, configurations, network and clients.
    pub file: PathBuf,
    /// Number of cases (random schedules).
    #[arg(long, default_value_t = 1000)]
    pub runs: u64,
    /// Swarm seed: case K of seed S is the same whatever --runs and --threads say.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run only case K (its schedule is printed).
    #[arg(long, value_name = "K")]
    pub case: Option<u64>,
    /// Simulated time of each case.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub duration: Duration,
    /// At most this many fault episodes per case (a fault and its end).
    #[arg(long, default_value_t = 8)]
    pub max_faults: usize,
    /// Only these fault kinds (comma-separated): stop, kill, restart, partition,
    /// one_way_partition, loss, burst, latency, link_flap, check_fail, check_flap, process,
    /// priority, reload, real_server.
    #[arg(long, value_delimiter = ',')]
    pub kinds: Vec<String>,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Folder for the shrunk case (default: `out/<experiment name>/swarm/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| format!("bad duration {s:?}: {e}"))?;
    if d.is_zero() {
        return Err("the duration must be positive".into());
    }
    Ok(d)
}

/// Run `sim swarm`.
pub fn run(args: SwarmArgs) -> ExitCode {
    match swarm_main(&args) {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(e) => {
            for line in e.lines() {
                eprintln!("{line}");
            }
            ExitCode::from(2)
        }
    }
}

/// Whether a violation was found; `Err` for bad input.
fn swarm_main(args: &SwarmArgs) -> Result<bool, String> {
    let exp = match experiment::load(&args.file) {
        Ok(e) => e,
        Err(errors) => {
            let mut msg: Vec<String> = errors.iter().map(ToString::to_string).collect();
            msg.push(format!(
                "error: {} error(s) in {}",
                errors.len(),
                args.file.display()
            ));
            return Err(msg.join("\n"));
        }
    };
    for w in &exp.warnings {
        eprintln!("{w}");
    }
    let kinds = if args.kinds.is_empty() {
        None
    } else {
        let mut set = KindSet::default();
        for name in &args.kinds {
            let k = Kind::from_name(name.trim()).ok_or_else(|| {
                let all: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "error: unknown fault kind {name:?} (kinds: {})",
                    all.join(", ")
                )
            })?;
            set = set.with(k);
        }
        Some(set)
    };
    if args.runs == 0 && args.case.is_none() {
        return Err("error: --runs must be at least 1".into());
    }
    if args.max_faults == 0 {
        return Err("error: --max-faults must be at least 1".into());
    }
    let opts = Options {
        runs: args.runs,
        seed: args.seed,
        duration: args.duration,
        max_episodes: args.max_faults,
        threads: args.threads,
        case: args.case,
        kinds,
    };
    let total = args.case.map_or(args.runs, |_| 1);
    let bar = (std::io::stderr().is_terminal() && total > 1).then(|| {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} cases ({eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    let tick = || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let started = WallClock::now();
    let results = swarm::run(&exp, &opts, &tick).map_err(|e| format!("error: {e}"))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let wall = started.elapsed().as_secs_f64();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "swarm {} ({}): {} of {}, seed {}, up to {} fault episode(s) each",
        exp.name,
        args.file.display(),
        match args.case {
            Some(k) => format!("case {k}"),
            None => format!("{} case(s)", args.runs),
        },
        humantime::format_duration(args.duration),
        args.seed,
        args.max_faults
    );
    coverage(&mut out, &results);
    let checks: u64 = results.iter().map(|r| r.settled_checks).sum();
    let checked_cases = results.iter().filter(|r| r.settled_checks > 0).count();
    let quiet: f64 = results.iter().map(|r| r.quiet_s).sum();
    let simulated = args.duration.as_secs_f64() * results.len() as f64;
    let _ = writeln!(
        out,
        "timed invariants: settled checks ran {checks} time(s) in {checked_cases} case(s); quiet for {quiet:.0} s of {simulated:.0} s simulated ({:.1} %)",
        100.0 * quiet / simulated.max(1e-9)
    );
    if let Some(k) = args.case {
        describe_case(&mut out, &exp, &opts, k);
    }
    let failing: Vec<&CaseResult> = results
        .iter()
        .filter(|r| !r.violations.is_empty())
        .collect();
    let _ = writeln!(
        out,
        "cases with an invariant violation: {} of {}",
        failing.len(),
        results.len()
    );
    let mut by_inv: std::collections::BTreeMap<&str, (usize, u64)> = Default::default();
    for r in &failing {
        let mut seen: Vec<&str> = Vec::new();
        for v in &r.violations {
            if !seen.contains(&v.invariant) {
                seen.push(v.invariant);
                let e = by_inv.entry(v.invariant).or_insert((0, r.case.number));
                e.0 += 1;
            }
        }
    }
    for (inv, (n, first)) in &by_inv {
        let _ = writeln!(out, "  {inv}: {n} case(s), first case {first}");
    }
    for r in failing.iter().take(10) {
        let v = &r.violations[0];
        let _ = writeln!(
            out,
            "case {} (variant {}, run seed {}, kinds {}, {} fault(s)): {} at t={:.6} s: {}\n  replay: {}",
            r.case.number,
            exp.variants[r.case.variant].name,
            r.case.seed,
            r.case.kinds.names(),
            r.faults,
            v.invariant,
            v.at,
            v.detail,
            replay_command(args, r.case.number)
        );
    }
    print!("{out}");
    eprintln!(
        "{} case(s), {simulated:.0} s simulated in {wall:.3} s wall ({:.0} cases/s, {:.0}x real time)",
        results.len(),
        results.len() as f64 / wall.max(1e-9),
        simulated / wall.max(1e-9)
    );
    let Some(first) = failing.first() else {
        return Ok(false);
    };
    let text = shrink_and_write(args, &exp, &opts, first)?;
    print!("{text}");
    Ok(true)
}

/// Per kind: in how many cases it was enabled and how many episodes were drawn.
fn coverage(out: &mut String, results: &[CaseResult]) {
    let _ = writeln!(out, "{:<20} {:>8} {:>9}", "fault kind", "cases", "episodes");
    for k in Kind::ALL {
        let cases = results.iter().filter(|r| r.case.kinds.contains(k)).count();
        let episodes: u64 = results
            .iter()
            .map(|r| u64::from(r.case.episodes[k as usize]))
            .sum();
        if cases > 0 {
            let _ = writeln!(out, "{:<20} {cases:>8} {episodes:>9}", k.name());
        }
    }
}

/// Case `k`'s schedule, one line per fault.
fn describe_case(out: &mut String, exp: &Experiment, opts: &Options, k: u64) {
    let (case, v) = swarm::build_case(exp, opts, k);
    let names: Vec<String> = v.nodes.iter().map(|n| n.name.clone()).collect();
    let _ = writeln!(
        out,
        "case {k}: variant {}, run seed {}, kinds {}",
        exp.variants[case.variant].name,
        case.seed,
        case.kinds.names()
    );
    for f in &v.timeline {
        let _ = writeln!(
            out,
            "  {:>12.6} s  {}",
            f.at.as_secs_f64(),
            f.fault.describe(&names)
        );
    }
}

/// The command that runs case `k` again, with the options that shape it.
fn replay_command(args: &SwarmArgs, k: u64) -> String {
    let mut c = format!(
        "sim swarm {} --seed {} --case {k}",
        args.file.display(),
        args.seed
    );
    if args.duration != Duration::from_secs(60) {
        let _ = write!(
            c,
            " --duration {}",
            humantime::format_duration(args.duration)
        );
    }
    if args.max_faults != 8 {
        let _ = write!(c, " --max-faults {}", args.max_faults);
    }
    if !args.kinds.is_empty() {
        let _ = write!(c, " --kinds {}", args.kinds.join(","));
    }
    c
}

/// Shrink the failing case, write it, check that `sim run` of the file replays it; the
/// report.
fn shrink_and_write(
    args: &SwarmArgs,
    exp: &Experiment,
    opts: &Options,
    failing: &CaseResult,
) -> Result<String, String> {
    let mut out = String::new();
    let k = failing.case.number;
    let (case, v) = swarm::build_case(exp, opts, k);
    let first = failing.violations[0].clone();
    let target = first.invariant;
    let mut t = shrink::Tester::new(exp, case.seed, target);
    let s = shrink::shrink(&mut t, &v, opts.duration, first);
    let names: Vec<String> = s.variant.nodes.iter().map(|n| n.name.clone()).collect();
    let _ = writeln!(
        out,
        "shrunk case {k} ({} fault(s), {} node(s), {}) to {} fault(s), {} node(s), {} in {} run(s): {} at t={:.6} s: {}",
        v.timeline.len(),
        v.nodes.len(),
        humantime::format_duration(opts.duration),
        s.variant.timeline.len(),
        s.variant.nodes.len(),
        humantime::format_duration(s.duration),
        t.runs,
        s.violation.invariant,
        s.violation.at,
        s.violation.detail
    );
    for f in &s.variant.timeline {
        let _ = writeln!(
            out,
            "  {:>12.6} s  {}",
            f.at.as_secs_f64(),
            f.fault.describe(&names)
        );
    }
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&exp.name).join("swarm"));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("error: cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("case-{k}.toml"));
    let header = write::Header {
        name: format!("{}-swarm-case-{k}", exp.name),
        comments: vec![
            format!(
                "Written by `{}` (shrunk from {} fault(s) on {} node(s)).",
                replay_command(args, k),
                v.timeline.len(),
                v.nodes.len()
            ),
            format!(
                "It breaks `{}` at t={:.6} s: {}",
                s.violation.invariant,
                s.violation.at,
                s.violation.detail.replace('\n', " ")
            ),
            format!("Replay: sim run {}", path.display()),
        ],
        description: "a failing swarm case, shrunk",
    };
    let text = write::experiment_text(exp, &s.variant, case.seed, s.duration, &header);
    std::fs::write(&path, &text)
        .map_err(|e| format!("error: cannot write {}: {e}", path.display()))?;
    let _ = writeln!(out, "  written: {}", path.display());
    let _ = writeln!(out, "  replay: sim run {}", path.display());
    // The file must replay what was shrunk: load it as `sim run` does and run its one seed.
    match replays(&path, target) {
        Ok(Some(at)) => {
            let _ = writeln!(out, "  checked: the file breaks {target} at t={at:.6} s");
        }
        Ok(None) => {
            let _ = writeln!(
                out,
                "  warning: the written file does not break {target} (the configuration did not print back exactly?)"
            );
        }
        Err(e) => {
            let _ = writeln!(out, "  warning: the written file does not load: {e}");
        }
    }
    Ok(out)
}

/// The time of the first violation of `target` in a `sim run` of `path`'s first variant and
/// seed.
fn replays(path: &Path, target: &str) -> Result<Option<f64>, String> {
    let e = experiment::load(path).map_err(|errs| {
        errs.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let (r, _) = vrrp_sim::backend::event_queue::run(vrrp_sim::backend::RunSpec {
        experiment: &e,
        variant: &e.variants[0],
        seed: e.seeds.start,
        record: false,
        capture: false,
        trace: false,
    });
    Ok(r.violations
        .iter()
        .find(|v| v.invariant == target)
        .map(|v| v.at))
}

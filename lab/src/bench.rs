//! What the benchmark drivers share: a line describing the machine, and merging a Markdown
//! section into BENCHMARKS.md between its markers (other sections kept).

use std::path::Path;
use std::process::Command;

/// `nproc`, CPU model, kernel and load average now, as one Markdown line.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "?".into());
    let run = |p: &str, a: &[&str]| {
        Command::new(p)
            .args(a)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "`nproc` {}, CPU {model}, kernel {}, load average at the end {}",
        run("nproc", &[]),
        run("uname", &["-r"]),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// Replaces the text between `begin` and `end` (markers included) in the file at `path` by
/// `section` (which carries the markers), or appends it if the markers are not there.
pub fn merge_section(path: &Path, begin: &str, end: &str, section: &str) -> std::io::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n\n".into());
    let new = match (old.find(begin), old.find(end)) {
        (Some(b), Some(e)) if e > b => {
            format!(
                "{}{}{}",
                &old[..b],
                section.trim_end(),
                &old[e + end.len()..]
            )
        }
        _ => format!("{}\n{section}", old.trim_end()),
    };
    std::fs::write(path, new)
}

//! Every shipped experiment's plots, rendered from a short run (1 seed): each expected PNG
//! is written, is a PNG of a sane size, and the variant rows of `distributions.png` have
//! room for their names. Tick labels and label layout are unit-tested in
//! `sim/src/report/plots/` (`ticks.rs`, `distributions.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;
use vrrp_sim::report::plots;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
}

/// Width and height from a PNG's IHDR chunk, or `None` when it is not a PNG.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    Some((be(16), be(20)))
}

/// The values of one column of a CSV file with a header line (no quoted commas).
fn column(path: &Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let Some(i) = header.iter().position(|h| *h == name) else {
        return Vec::new();
    };
    lines
        .map(|l| l.split(',').nth(i).unwrap_or("").to_string())
        .collect()
}

#[test]
fn every_shipped_experiment_renders_its_plots() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("experiments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "experiments/ holds {}", files.len());
    let root = std::env::temp_dir().join(format!("vrrp-sim-plots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for file in &files {
        let exp = vrrp_sim::experiment::load(file).unwrap_or_else(|e| panic!("{file:?}: {e:?}"));
        let out = root.join(&exp.name);
        let run = Command::new(env!("CARGO_BIN_EXE_sim"))
            .arg("run")
            .arg(file)
            .args(["--seeds", "1", "--threads", "2", "--out"])
            .arg(&out)
            .output()
            .expect("sim runs");
        assert!(
            run.status.success(),
            "{}: {}",
            exp.name,
            String::from_utf8_lossy(&run.stderr)
        );
        let mut expected: Vec<String> = vec!["distributions.png".into()];
        expected.extend(
            exp.variants
                .iter()
                .map(|v| format!("timeline_{}.png", plots::slug(&v.name))),
        );
        let took_over = column(&out.join("runs.csv"), "takeover_after_last_advert_max_s")
            .iter()
            .any(|v| v.parse::<f64>().unwrap_or(0.0) > 0.0);
        if took_over {
            expected.push("takeover_vs_theory.png".into());
        }
        if let Some(sw) = &exp.sweep {
            expected.extend(sw.metrics.iter().map(|m| format!("sweep_{m}.png")));
        }
        if out.join("lvs_clients.csv").exists() {
            expected.extend(
                ["lvs_detection.png", "lvs_recovery.png", "lvs_errors.png"].map(String::from),
            );
        }
        let written: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".png"))
            .collect();
        for f in &expected {
            assert!(
                written.contains(f),
                "{}: {f} missing ({written:?})",
                exp.name
            );
            let bytes = std::fs::read(out.join(f)).unwrap();
            let (w, h) = png_size(&bytes).unwrap_or_else(|| panic!("{}: {f} is no PNG", exp.name));
            assert!(
                (600..=4000).contains(&w) && (150..=6000).contains(&h) && bytes.len() > 5_000,
                "{}: {f} is {w}x{h}, {} bytes",
                exp.name,
                bytes.len()
            );
        }
        for f in &written {
            assert!(expected.contains(f), "{}: unexpected {f}", exp.name);
        }
        // One row per variant, each at least as high as its name.
        let names: Vec<String> = exp.variants.iter().map(|v| v.name.clone()).collect();
        let column = plots::label_column(&names, 14);
        assert_eq!(column.collision(), None, "{}", exp.name);
        let (_, h) = png_size(&std::fs::read(out.join("distributions.png")).unwrap()).unwrap();
        assert!(
            h as usize >= column.pitch as usize * names.len(),
            "{}: distributions.png is {h} px high for {} variants",
            exp.name,
            names.len()
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}

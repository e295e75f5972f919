//! The keepalived.conf front end: preprocessing (`@ID`, `$NAME`), lexer, parser, `include`
//! on an in-memory file set, mapping and validation, then `print` (`--dump`).
//!
//! Input: keepalived.conf text (so the seeds are the fixtures as they are). A line
//! `#@file NAME` starts another file of the set, `NAME` relative to /etc/keepalived (the main
//! file is /etc/keepalived/keepalived.conf); for keepalived it is a comment. The set is read
//! with the configuration id `node1` (`@node1` lines kept, `@^node1` dropped).
//!
//! Invariants:
//! - nothing panics, whatever the bytes (lossily made UTF-8, as `FsLoader` would refuse);
//! - every finding names a file of the set (or one an `include` asked for) and a line and
//!   column that exist there (line 0 / column 0 only for a whole-file finding);
//! - a configuration read without errors runs: `Engine::new` accepts it;
//! - `print` round-trips: the printed text reads back without errors to the same model.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::path::Path;
use vrrp_engine::keepalived::{self, MemLoader, Options, Severity};

const MAIN: &str = "/etc/keepalived/keepalived.conf";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut name = MAIN.to_string();
    let mut body = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("#@file ") {
            files.insert(std::mem::take(&mut name), std::mem::take(&mut body));
            name = format!("/etc/keepalived/{}", rest.trim());
        } else {
            body.push_str(line);
        }
    }
    files.insert(name, body);
    let mut loader = MemLoader::new();
    for (n, t) in &files {
        loader.insert(n, t.as_str());
    }
    let opts = Options {
        strict: false,
        config_id: Some("node1".into()),
    };
    let analysis = keepalived::analyze(Path::new(MAIN), &loader, &opts);
    for f in &analysis.findings {
        // A finding in a file of the set points into it; other files are named by the
        // include that asked for them (a missing file) and have no text to point into.
        if let Some(t) = files.get(&f.file) {
            let lines = t.split('\n').count() as u32;
            assert!(
                f.line <= lines.max(1),
                "{}:{}:{} past the end ({lines} lines)",
                f.file,
                f.line,
                f.col
            );
            if f.line > 0 {
                let l = t.split('\n').nth(f.line as usize - 1).unwrap_or("");
                let width = l.chars().count() as u32 + 1;
                assert!(
                    f.col <= width,
                    "{}:{}:{} past the end of the line ({width})",
                    f.file,
                    f.line,
                    f.col
                );
            }
        }
    }
    if analysis.has_errors() {
        return;
    }
    let config = analysis.config;
    if let Err(e) = vrrp_engine::Engine::new(config.clone(), vrrp_engine::Instant::ZERO) {
        panic!("the front end accepted a configuration the engine refuses: {e}");
    }
    let printed = keepalived::print(&config);
    // A name beginning with `@`, `$`, `~SEQ` or `~LST` and holding a `"` cannot begin a line
    // in keepalived's syntax (no quoting holds a `"`, and the preprocessor takes the line):
    // `print` can only write it as it is (FUZZING.md, limits).
    let unwritable = printed.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with(['@', '$']) || l.starts_with("~SEQ") || l.starts_with("~LST")
    });
    if unwritable {
        return;
    }
    let again = keepalived::analyze_str("printed.conf", &printed, &Options::default());
    let errors: Vec<_> = again
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(
        errors.is_empty(),
        "printed config has errors: {errors:?}\n{printed}"
    );
    assert_eq!(
        again.config, config,
        "print does not round-trip:\n{printed}"
    );
});

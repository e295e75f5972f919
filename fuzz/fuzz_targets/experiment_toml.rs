//! The experiment loader of `sim run` (`vrrp_sim::experiment::parse`): TOML, the schema,
//! variants and their edits, faults, sweeps, and the inline keepalived.conf of each node.
//!
//! Input: experiment TOML text (the seeds are the shipped experiments), named
//! `/nonexistent/fuzz.toml` in errors; inputs naming a `config_file` are skipped.
//!
//! Invariants: nothing panics; an error names the file and a line and column inside it; a
//! loaded experiment has at least one variant, and every variant's nodes have a
//! configuration the engine accepts (`Engine::new`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

const NAME: &str = "/nonexistent/fuzz.toml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A `config_file` reads the real filesystem (`/dev/stdin`, `../dev/zero` would block or
    // never end): the loader's own business is the text, so such inputs are left out.
    if text.contains("config_file") {
        return;
    }
    match vrrp_sim::experiment::parse(Path::new(NAME), text) {
        Ok(exp) => {
            assert!(!exp.variants.is_empty(), "an experiment without variants");
            for v in &exp.variants {
                for n in &v.nodes {
                    if let Err(e) =
                        vrrp_engine::Engine::new(n.config.clone(), vrrp_engine::Instant::ZERO)
                    {
                        panic!(
                            "variant {} node {}: loaded but cannot run: {e}",
                            v.name, n.name
                        );
                    }
                }
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "an error list without errors");
            let lines = text.split('\n').count();
            for e in &errors {
                assert!(e.line <= lines, "{e:?} past the end ({lines} lines)");
            }
        }
    }
});

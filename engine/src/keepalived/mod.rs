//! keepalived.conf front end: reads keepalived's configuration syntax into
//! [`crate::config::Config`], with `FILE:LINE:COL` findings for everything wrong or ignored.
//!
//! What lives where:
//! - `preprocess.rs`: keepalived's conditional configuration (`@ID` lines, `$NAME`
//!   definitions), line for line before lexing.
//! - `lexer.rs`: words, braces and quoted strings with positions (line and column, 1-based).
//! - `diag.rs`: positions and the collector of findings.
//! - `glob.rs`: the wildcard matcher both loaders share.
//! - `loader.rs`: the [`Loader`] trait ([`MemLoader`], [`FsLoader`]) and `include` expansion
//!   (globs relative to the including file, sorted).
//! - `parser.rs`: the token stream into a tree of statements and `{ }` blocks.
//! - `map/`: the typed mapping, one file per kind of block; `map/values.rs` reads typed
//!   values and names the expected type when one does not parse.
//! - `validate.rs`: checks across blocks (VRID collisions, script references).
//! - `finding.rs`: [`Finding`], [`Severity`], [`Findings`].
//! - `suggest.rs`: "did you mean" for unknown keywords.
//! - `print.rs`: [`print()`], a [`Config`] back to keepalived.conf text.
//!
//! Entry points: [`load`] (a file through a [`Loader`]), [`parse_str`] (text in memory),
//! [`analyze`] (best-effort config plus all findings, never fails) and [`print()`].

mod diag;
mod finding;
mod glob;
mod lexer;
mod loader;
mod map;
mod parser;
mod preprocess;
mod print;
mod suggest;
mod validate;

pub use finding::{Finding, Findings, Severity};
pub use loader::{FsLoader, Loader, MemLoader};
pub use print::print;
pub use suggest::{edit_distance, suggest};

use crate::config::Config;
use diag::Diags;
use std::path::Path;

/// How to load.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Treat every warning as an error (unknown keywords, ignored options, ...).
    pub strict: bool,
    /// The configuration id of keepalived's `-i` (`@ID` lines): the daemon passes the host
    /// name up to its first dot when none is given, as keepalived does; `None` keeps no
    /// `@ID` line (and every `@^ID` line).
    pub config_id: Option<String>,
}

/// A configuration that loaded, with the warnings found on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The effective configuration, defaults filled in.
    pub config: Config,
    /// Warnings (there are no errors in a `Loaded`).
    pub findings: Vec<Finding>,
}

/// The outcome of [`analyze`]: the configuration as far as it could be read, and every
/// finding. The configuration is only trustworthy when no finding is an error.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    /// Best-effort configuration (bad values keep their defaults).
    pub config: Config,
    /// Errors and warnings in the order they were found.
    pub findings: Vec<Finding>,
}

impl Analysis {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// `Ok` with the warnings when there is no error, else `Err` with all findings.
    pub fn into_result(self) -> Result<Loaded, Findings> {
        if self.has_errors() {
            Err(Findings(self.findings))
        } else {
            Ok(Loaded {
                config: self.config,
                findings: self.findings,
            })
        }
    }
}

/// Reads `path` (and its includes) through `loader`, maps and validates it; never fails,
/// never panics.
pub fn analyze(path: &Path, loader: &dyn Loader, opts: &Options) -> Analysis {
    let mut d = Diags::default();
    let mut conditions = preprocess::Conditions::new(opts.config_id.clone());
    let config = match loader::load_tokens(
        path,
        path.display().to_string(),
        loader,
        &mut conditions,
        &mut d,
    ) {
        Some(tokens) => {
            let tree = parser::parse(tokens, &mut d);
            let (config, meta) = map::map(&tree, &mut d);
            validate::validate(&config, &meta, &mut d);
            config
        }
        None => Config::default(),
    };
    Analysis {
        config,
        findings: d.into_findings(opts.strict),
    }
}

/// Loads a keepalived.conf: `Ok` (with warnings) when it has no error, else every finding.
pub fn load(path: &Path, loader: &dyn Loader, opts: &Options) -> Result<Loaded, Findings> {
    analyze(path, loader, opts).into_result()
}

/// Loads keepalived.conf text held in memory; `name` is the file name used in findings
/// (includes are resolved relative to it and find nothing, since only this text exists).
pub fn parse_str(name: &str, text: &str, opts: &Options) -> Result<Loaded, Findings> {
    analyze_str(name, text, opts).into_result()
}

/// [`analyze`] for text held in memory.
pub fn analyze_str(name: &str, text: &str, opts: &Options) -> Analysis {
    let loader = MemLoader::new().with(name, text);
    analyze(Path::new(name), &loader, opts)
}

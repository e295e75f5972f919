//! File access for the front end: the [`Loader`] trait, an in-memory and a filesystem
//! implementation, and the expansion of `include` into one token stream.

use super::diag::{Diags, Span};
use super::glob;
use super::lexer::{lex, Tok, Token};
use super::preprocess::Conditions;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// How the front end reads files: everything it touches goes through this, so parsing stays
/// pure and testable.
pub trait Loader {
    /// The whole text of a file, or a one-line reason it cannot be read.
    fn read(&self, path: &Path) -> Result<String, String>;
    /// The files matching a wildcard pattern (any order; the caller sorts them).
    fn glob(&self, pattern: &Path) -> Result<Vec<PathBuf>, String>;
}

/// Files held in memory (for the simulator's inline configs and for tests).
#[derive(Clone, Debug, Default)]
pub struct MemLoader {
    files: BTreeMap<PathBuf, String>,
}

impl MemLoader {
    /// An empty set of files.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file; builder style.
    pub fn with(mut self, path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        self.insert(path, text);
        self
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: impl Into<PathBuf>, text: impl Into<String>) {
        self.files.insert(normalize(&path.into()), text.into());
    }
}

impl Loader for MemLoader {
    fn read(&self, path: &Path) -> Result<String, String> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| "No such file or directory".to_string())
    }

    fn glob(&self, pattern: &Path) -> Result<Vec<PathBuf>, String> {
        let pat: Vec<String> = components(&normalize(pattern));
        Ok(self
            .files
            .keys()
            .filter(|p| {
                let comps = components(p);
                comps.len() == pat.len()
                    && comps
                        .iter()
                        .zip(pat.iter())
                        .all(|(n, p)| glob::matches(p, n))
            })
            .cloned()
            .collect())
    }
}

/// The real filesystem (std::fs), with the same wildcard rules as [`MemLoader`].
#[derive(Clone, Copy, Debug, Default)]
pub struct FsLoader;

impl Loader for FsLoader {
    fn read(&self, path: &Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }

    fn glob(&self, pattern: &Path) -> Result<Vec<PathBuf>, String> {
        // Walk component by component, listing a directory only where a wildcard sits.
        let mut current: Vec<PathBuf> = vec![PathBuf::new()];
        for comp in pattern.components() {
            let mut next = Vec::new();
            match comp {
                Component::Normal(part) => {
                    let part = part.to_string_lossy();
                    for base in &current {
                        if glob::has_magic(&part) {
                            let dir = if base.as_os_str().is_empty() {
                                PathBuf::from(".")
                            } else {
                                base.clone()
                            };
                            let Ok(entries) = std::fs::read_dir(&dir) else {
                                continue;
                            };
                            for entry in entries.flatten() {
                                let name = entry.file_name().to_string_lossy().into_owned();
                                if glob::matches(&part, &name) {
                                    next.push(base.join(name));
                                }
                            }
                        } else {
                            next.push(base.join(part.as_ref()));
                        }
                    }
                }
                other => {
                    for base in &current {
                        next.push(base.join(other.as_os_str()));
                    }
                }
            }
            current = next;
        }
        Ok(current.into_iter().filter(|p| p.is_file()).collect())
    }
}

/// Removes `.` and resolves `..` lexically, so in-memory paths compare equal.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn components(path: &Path) -> Vec<String> {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect()
}

/// How deep includes may nest before we assume a loop.
const MAX_INCLUDE_DEPTH: usize = 16;

/// How many files one load may read: includes of includes multiply (a file that includes
/// the next one twice, sixteen deep, reads the last 65,536 times), so past this the rest
/// are refused rather than taking minutes. keepalived 2.2.7 has no such bound.
const MAX_FILES_READ: usize = 4096;

/// How many bytes one load may read, over every file (the same reason: a wide fan-out of
/// large files).
const MAX_BYTES_READ: usize = 64 << 20;

/// Include loops named one by one; past this a load says how many more it found (a folder
/// of files that each `include *.conf` has a loop at every file of every level).
const MAX_LOOPS_LISTED: usize = 8;

/// Reads `path` and everything it includes into one token stream.
pub(crate) fn load_tokens(
    path: &Path,
    display: String,
    loader: &dyn Loader,
    conditions: &mut Conditions,
    diags: &mut Diags,
) -> Option<Vec<Token>> {
    let text = match loader.read(path) {
        Ok(t) => t,
        Err(e) => {
            let file = diags.add_file(display.clone());
            diags.error(
                Span {
                    file,
                    line: 1,
                    col: 1,
                },
                format!("cannot read `{display}`: {e}"),
            );
            return None;
        }
    };
    let file = diags.add_file(display.clone());
    let mut out = Vec::new();
    let mut cx = Cx {
        loader,
        conditions,
        diags,
        stack: vec![(normalize(path), display)],
        files_read: 1,
        bytes_read: text.len(),
        over_limit: false,
        too_deep: false,
        loops: 0,
        first_loop: None,
    };
    expand(path, file, &text, &mut cx, 0, &mut out);
    if cx.loops > MAX_LOOPS_LISTED {
        let more = cx.loops - MAX_LOOPS_LISTED;
        let span = cx.first_loop.expect("a loop was found");
        cx.diags.error(
            span,
            format!(
                "{more} more include loops not listed (each file on its include path is read once)"
            ),
        );
    }
    Some(out)
}

/// What every file of one load shares.
struct Cx<'a> {
    loader: &'a dyn Loader,
    conditions: &'a mut Conditions,
    diags: &'a mut Diags,
    /// The files being expanded, outermost first (normalized, and as named in findings):
    /// one of them included again is an include loop.
    stack: Vec<(PathBuf, String)>,
    /// Files read so far, against [`MAX_FILES_READ`].
    files_read: usize,
    /// Bytes read so far, against [`MAX_BYTES_READ`].
    bytes_read: usize,
    /// A bound was reached (said once; nothing more is read).
    over_limit: bool,
    /// The depth limit was reached (said once).
    too_deep: bool,
    /// Include loops found, the first [`MAX_LOOPS_LISTED`] named.
    loops: usize,
    /// Where the first loop was found (the summary of the others points there).
    first_loop: Option<Span>,
}

fn expand(path: &Path, file: u32, text: &str, cx: &mut Cx<'_>, depth: usize, out: &mut Vec<Token>) {
    let dir = path
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let (text, columns) = cx.conditions.apply(file, text, &dir, cx.diags);
    let diags = &mut *cx.diags;
    let tokens = lex(file, &text, &columns, diags);
    let mut iter = tokens.into_iter().peekable();
    let mut prev_line: Option<u32> = None;
    while let Some(tok) = iter.next() {
        let first_on_line = prev_line != Some(tok.span.line);
        prev_line = Some(tok.span.line);
        let is_include = first_on_line
            && matches!(&tok.tok, Tok::Word { text, quoted: false } if text == "include");
        if !is_include {
            out.push(tok);
            continue;
        }
        // The rest of the line are the patterns.
        let mut patterns = Vec::new();
        while let Some(next) = iter.next_if(|t| t.span.line == tok.span.line) {
            patterns.push(next);
        }
        if patterns.is_empty() {
            cx.diags
                .error(tok.span, "`include` expects a file name or pattern");
        }
        for pat in patterns {
            let Tok::Word { text: pattern, .. } = &pat.tok else {
                cx.diags
                    .error(pat.span, "`include` expects a file name or pattern");
                continue;
            };
            include_one(path, pattern, pat.span, cx, depth, out);
        }
    }
}

fn include_one(
    from: &Path,
    pattern: &str,
    span: Span,
    cx: &mut Cx<'_>,
    depth: usize,
    out: &mut Vec<Token>,
) {
    let loader = cx.loader;
    if depth >= MAX_INCLUDE_DEPTH {
        // Said once: in a fan-out every path reaches the limit.
        if !cx.too_deep {
            cx.too_deep = true;
            cx.diags.error(
                span,
                format!("includes nested deeper than {MAX_INCLUDE_DEPTH} (include loop?)"),
            );
        }
        return;
    }
    let dir = from.parent().unwrap_or_else(|| Path::new(""));
    let full = dir.join(pattern);
    let mut files = if glob::has_magic(pattern) {
        match loader.glob(&full) {
            Ok(f) => f,
            Err(e) => {
                cx.diags.error(span, format!("include `{pattern}`: {e}"));
                return;
            }
        }
    } else {
        vec![full]
    };
    if files.is_empty() {
        cx.diags
            .warn(span, format!("include `{pattern}` matches no file"));
        return;
    }
    // Sorted so the result never depends on directory order.
    files.sort();
    for f in files {
        let display = f.display().to_string();
        let key = normalize(&f);
        if let Some(at) = cx.stack.iter().position(|(k, _)| *k == key) {
            cx.loops += 1;
            cx.first_loop.get_or_insert(span);
            if cx.loops <= MAX_LOOPS_LISTED {
                // The cycle, from the file's first expansion to this include of it again.
                let chain: Vec<&str> = cx.stack[at..].iter().map(|(_, d)| d.as_str()).collect();
                cx.diags.error(
                    span,
                    format!(
                        "include loop: {} -> {display}: `{display}` is not read again",
                        chain.join(" -> ")
                    ),
                );
            }
            continue;
        }
        if cx.over_limit {
            continue;
        }
        if cx.files_read >= MAX_FILES_READ {
            cx.over_limit = true;
            cx.diags.error(
                span,
                format!(
                    "more than {MAX_FILES_READ} files read (includes of includes): \
                     `{display}` and the rest are not"
                ),
            );
            continue;
        }
        cx.files_read += 1;
        match loader.read(&f) {
            Ok(text) if cx.bytes_read + text.len() > MAX_BYTES_READ => {
                cx.over_limit = true;
                cx.diags.error(
                    span,
                    format!(
                        "more than {} MiB read (includes of includes): `{display}` and the \
                         rest are not",
                        MAX_BYTES_READ >> 20
                    ),
                );
            }
            Ok(text) => {
                cx.bytes_read += text.len();
                let file = cx.diags.add_file(display.clone());
                cx.stack.push((key, display));
                expand(&f, file, &text, cx, depth + 1, out);
                cx.stack.pop();
            }
            Err(e) => cx
                .diags
                .error(span, format!("cannot read included file `{display}`: {e}")),
        }
    }
}

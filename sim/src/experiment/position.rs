//! Positions in the experiment file: byte offsets to `LINE:COL`, TOML errors, and keepalived
//! findings of inline configs mapped back into the TOML file.

use core::fmt;
use std::ops::Range;

/// An error in an experiment file, displayed as `FILE:LINE:COL: error: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExperimentError {
    /// File name.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column in characters (0 when unknown).
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

impl ExperimentError {
    /// An error at a position.
    pub fn new(file: String, line: usize, col: usize, message: impl Into<String>) -> Self {
        ExperimentError {
            file,
            line,
            col,
            message: message.into(),
        }
    }
}

impl fmt::Display for ExperimentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: error: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: error: {}",
                self.file, self.line, self.col, self.message
            )
        }
    }
}

impl std::error::Error for ExperimentError {}

/// The experiment text with its name, for turning offsets into positions.
pub(crate) struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    pub fn new(name: String, text: &str) -> Self {
        Source {
            name,
            text: text.to_string(),
        }
    }

    /// 1-based (line, column) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self
            .text
            .get(line_start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        (line, col)
    }

    /// An error at the start of `span` (no position for an empty span at 0).
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> ExperimentError {
        if span == (0..0) {
            return ExperimentError::new(self.name.clone(), 0, 0, message);
        }
        let (line, col) = self.position(span.start);
        ExperimentError::new(self.name.clone(), line, col, message)
    }

    /// A TOML syntax or schema error, with its position.
    pub fn toml_error(&self, e: &toml::de::Error) -> ExperimentError {
        let message = e.message().trim().replace('\n', " ");
        match e.span() {
            Some(span) => self.error(span.start..span.end.max(span.start + 1), message),
            None => ExperimentError::new(self.name.clone(), 0, 0, message),
        }
    }

    /// Where `line:col` of a string value at `span` falls in this file. Handles basic and
    /// literal strings, single-line and multi-line (whose first newline TOML trims).
    pub fn inline_position(&self, span: Range<usize>, line: usize, col: usize) -> (usize, usize) {
        let raw = self.text.get(span.clone()).unwrap_or("");
        let mut start = span.start;
        if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            start += 3;
            let rest = &raw[3..];
            if rest.starts_with("\r\n") {
                start += 2;
            } else if rest.starts_with('\n') {
                start += 1;
            }
        } else if raw.starts_with('"') || raw.starts_with('\'') {
            start += 1;
        }
        let (l0, c0) = self.position(start);
        if line <= 1 {
            (l0, c0 + col.saturating_sub(1))
        } else {
            (l0 + line - 1, col)
        }
    }
}

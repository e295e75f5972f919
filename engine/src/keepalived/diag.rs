//! Positions and the collector of findings used while loading.

use super::finding::{Finding, Severity};

/// Where a token starts: index into the file table, 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct Span {
    /// Index into [`Diags::files`].
    pub file: u32,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (characters).
    pub col: u32,
}

/// The file table and the findings gathered so far, in the order they were found.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    /// Names of the files read, indexed by [`Span::file`].
    pub files: Vec<String>,
    /// Findings without their file names resolved.
    pub list: Vec<(Severity, Span, String)>,
}

impl Diags {
    /// Registers a file name and returns its index.
    pub fn add_file(&mut self, name: String) -> u32 {
        self.files.push(name);
        u32::try_from(self.files.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    /// Records an error.
    pub fn error(&mut self, span: Span, msg: impl Into<String>) {
        self.list.push((Severity::Error, span, msg.into()));
    }

    /// Records a warning.
    pub fn warn(&mut self, span: Span, msg: impl Into<String>) {
        self.list.push((Severity::Warning, span, msg.into()));
    }

    /// `FILE:LINE:COL` of a span, for messages that point elsewhere.
    pub fn pos(&self, span: Span) -> String {
        format!("{}:{}:{}", self.file_name(span.file), span.line, span.col)
    }

    fn file_name(&self, file: u32) -> &str {
        usize::try_from(file)
            .ok()
            .and_then(|i| self.files.get(i))
            .map_or("<unknown>", String::as_str)
    }

    /// The findings with file names, sorted by position, warnings turned into errors when
    /// `strict`.
    pub fn into_findings(self, strict: bool) -> Vec<Finding> {
        let mut list = self.list.clone();
        // Stable sort: file order of reading, then position; ties keep discovery order.
        list.sort_by_key(|(_, span, _)| *span);
        let mut out = Vec::with_capacity(list.len());
        for (severity, span, message) in &list {
            let severity = if strict { Severity::Error } else { *severity };
            out.push(Finding {
                severity,
                file: self.file_name(span.file).to_string(),
                line: span.line,
                col: span.col,
                message: message.clone(),
            });
        }
        out
    }
}

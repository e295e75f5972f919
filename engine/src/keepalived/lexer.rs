//! Lexer: one file's text into words and braces, each with its line and column.
//!
//! keepalived's syntax is line-oriented: a line holds a keyword and its values; `{` and `}`
//! are tokens of their own even when glued to a word; `#` or `!` at the start of a word
//! begins a comment up to the end of the line (inside a word they are kept, so passwords such
//! as `abc!1` survive); `"..."` is one word with its spaces kept.

use super::diag::{Diags, Span};

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A word; `quoted` words are never braces, comments or `include`.
    Word {
        /// The text, without quotes.
        text: String,
        /// Whether it was written in double quotes.
        quoted: bool,
    },
    /// `{`.
    Open,
    /// `}`.
    Close,
}

/// A token and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    /// The token.
    pub tok: Tok,
    /// Its first character.
    pub span: Span,
}

/// Splits `text` (file number `file`) into tokens; problems go to `diags`. `columns` says
/// which column of the file each character of each line came from (the preprocessor's
/// expansions); a character it does not cover keeps its own.
pub(crate) fn lex(file: u32, text: &str, columns: &[Vec<u32>], diags: &mut Diags) -> Vec<Token> {
    let mut out = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let line_no = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        let cols = columns.get(idx).map_or(&[][..], Vec::as_slice);
        lex_line(file, line_no, line, cols, &mut out, diags);
    }
    out
}

fn lex_line(
    file: u32,
    line_no: u32,
    line: &str,
    cols: &[u32],
    out: &mut Vec<Token>,
    diags: &mut Diags,
) {
    let mut chars = line.chars().peekable();
    let mut col: u32 = 0;
    let span = |col: u32| Span {
        file,
        line: line_no,
        col: cols.get(col as usize - 1).copied().unwrap_or(col),
    };
    while let Some(c) = chars.next() {
        col = col.saturating_add(1);
        if c.is_whitespace() {
            continue;
        }
        match c {
            '#' | '!' => return,
            '{' => out.push(Token {
                tok: Tok::Open,
                span: span(col),
            }),
            '}' => out.push(Token {
                tok: Tok::Close,
                span: span(col),
            }),
            '"' => {
                let start = col;
                let mut text = String::new();
                let mut closed = false;
                for q in chars.by_ref() {
                    col = col.saturating_add(1);
                    if q == '"' {
                        closed = true;
                        break;
                    }
                    text.push(q);
                }
                if !closed {
                    diags.error(span(start), "unterminated quoted string");
                }
                out.push(Token {
                    tok: Tok::Word { text, quoted: true },
                    span: span(start),
                });
            }
            _ => {
                let start = col;
                let mut text = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || n == '{' || n == '}' {
                        break;
                    }
                    text.push(n);
                    chars.next();
                    col = col.saturating_add(1);
                }
                out.push(Token {
                    tok: Tok::Word {
                        text,
                        quoted: false,
                    },
                    span: span(start),
                });
            }
        }
    }
}

//! keepalived's conditional configuration, applied line by line before lexing (keepalived
//! 2.2.7's `read_line` in `lib/parser.c`):
//! - `@ID rest` keeps `rest` only when the configuration id (`-i ID`, by default the host
//!   name up to its first dot) is `ID`; `@^ID rest` only when it is not;
//! - `$NAME=value` defines `NAME` for the lines that follow (in this file and the files it
//!   includes); `$NAME` and `${NAME}` are replaced by the value, `${_INSTANCE}` by the
//!   configuration id and `${_PWD}` by the folder of the file being read;
//! - multi-line definitions (a value ending with `\`), definitions with parameters, and
//!   `~SEQ` / `~LST` are reported as not supported.
//!
//! Lines keep their numbers: a dropped line or a definition becomes empty, and an `@ID`
//! prefix becomes spaces, so positions in the rest of the line stay those of the file.

use super::diag::{Diags, Span};
use std::collections::BTreeMap;

/// How many substitutions one line may go through (definitions may use definitions).
const MAX_EXPANSIONS: usize = 64;

/// The state that carries from line to line and into included files.
#[derive(Clone, Debug, Default)]
pub(crate) struct Conditions {
    /// The configuration id, if any.
    pub config_id: Option<String>,
    /// `$NAME=value` definitions seen so far.
    defs: BTreeMap<String, String>,
}

/// Where each character of each preprocessed line came from: its 1-based column in the
/// file's line (a `$NAME`'s value points at the `$`), so findings keep the file's columns.
pub(crate) type Columns = Vec<Vec<u32>>;

impl Conditions {
    /// Conditions for configuration id `config_id`.
    pub fn new(config_id: Option<String>) -> Conditions {
        Conditions {
            config_id,
            defs: BTreeMap::new(),
        }
    }

    /// The text of `file` (whose folder is `dir`) with conditions applied, line for line,
    /// and where each of its characters came from ([`Columns`]).
    pub fn apply(&mut self, file: u32, text: &str, dir: &str, d: &mut Diags) -> (String, Columns) {
        let mut out = String::with_capacity(text.len());
        let mut columns = Vec::new();
        for (n, raw) in text.split('\n').enumerate() {
            if n > 0 {
                out.push('\n');
            }
            let span = |col: usize| Span {
                file,
                line: n as u32 + 1,
                col: col as u32 + 1,
            };
            let (line, cols) = self.line(raw, dir, &span, d);
            out.push_str(&line);
            columns.push(cols);
        }
        (out, columns)
    }

    fn line(
        &mut self,
        raw: &str,
        dir: &str,
        span: &dyn Fn(usize) -> Span,
        d: &mut Diags,
    ) -> (String, Vec<u32>) {
        let mut line = raw.to_string();
        let mut cols: Vec<u32> = (1..=raw.chars().count() as u32).collect();
        for _ in 0..MAX_EXPANSIONS {
            // `ws` slices (bytes); columns count characters, as the lexer does.
            let ws = line.len() - line.trim_start().len();
            let ws_col = line[..ws].chars().count();
            let body = &line[ws..];
            if let Some(cond) = body.strip_prefix('@') {
                let (rev, id_and_rest) = match cond.strip_prefix('^') {
                    Some(r) => (true, r),
                    None => (false, cond),
                };
                let Some(end) = id_and_rest.find([' ', '\t']) else {
                    return (String::new(), Vec::new());
                };
                let id = &id_and_rest[..end];
                let matches = self.config_id.as_deref() == Some(id);
                if matches == rev {
                    return (String::new(), Vec::new());
                }
                // Keep the columns: the prefix becomes spaces, one per character.
                let prefix = body.len() - id_and_rest.len() + end;
                let pad = ws_col + body[..prefix].chars().count();
                line = format!("{}{}", " ".repeat(pad), &body[prefix..]);
                continue;
            }
            if body.starts_with('$') {
                if let Some((name, value)) = definition(body) {
                    if value.ends_with('\\') {
                        d.error(
                            span(ws_col),
                            format!(
                                "multi-line definition `${name}` (a value ending with `\\`) is \
                                 not supported by vrrpd-real"
                            ),
                        );
                    } else {
                        self.defs.insert(name.to_string(), value.to_string());
                    }
                    return (String::new(), Vec::new());
                }
            }
            if body.starts_with("~SEQ") || body.starts_with("~LST") {
                d.error(
                    span(ws_col),
                    format!("`{}` is not supported by vrrpd-real", &body[..4]),
                );
                return (String::new(), Vec::new());
            }
            match self.substitute(&line, dir) {
                Some((next, from, to, len)) => {
                    // The value's characters all point at the `$` they replace.
                    let at = cols.get(from).copied().unwrap_or(1);
                    cols.splice(from..to.min(cols.len()), core::iter::repeat_n(at, len));
                    line = next;
                }
                None => return (line, cols),
            }
        }
        d.error(
            span(0),
            format!("definitions expand more than {MAX_EXPANSIONS} times on this line (a loop?)"),
        );
        (String::new(), Vec::new())
    }

    /// The line with its first known `$NAME` / `${NAME}` replaced, or `None` if it has none;
    /// with the replaced characters (`from..to`) and the number of characters put there.
    fn substitute(&self, line: &str, dir: &str) -> Option<(String, usize, usize, usize)> {
        let bytes = line.as_bytes();
        let mut i = 0;
        while let Some(off) = line[i..].find('$') {
            let at = i + off;
            let (name_start, braces) = if bytes.get(at + 1) == Some(&b'{') {
                (at + 2, true)
            } else {
                (at + 1, false)
            };
            let name_len = line[name_start..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            let name = &line[name_start..name_start + name_len];
            let end = name_start + name_len + usize::from(braces);
            let closed = !braces || bytes.get(name_start + name_len) == Some(&b'}');
            let starts_well = name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
            if closed && starts_well {
                let value = match name {
                    "_INSTANCE" => self.config_id.clone(),
                    "_PWD" => Some(dir.to_string()),
                    _ => self.defs.get(name).cloned(),
                };
                if let Some(v) = value {
                    let from = line[..at].chars().count();
                    let to = from + line[at..end].chars().count();
                    let text = format!("{}{v}{}", &line[..at], &line[end..]);
                    return Some((text, from, to, v.chars().count()));
                }
            }
            i = at + 1;
        }
        None
    }
}

/// `$NAME=value` (spaces allowed around `=`): the name and the value, leading spaces
/// trimmed.
fn definition(body: &str) -> Option<(&str, &str)> {
    let rest = body.strip_prefix('$')?;
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let name = &rest[..name_len];
    if !name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
    {
        return None;
    }
    let after = rest[name_len..].trim_start_matches([' ', '\t']);
    let value = after.strip_prefix('=')?;
    Some((name, value.trim_start_matches([' ', '\t']).trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: Option<&str>, text: &str) -> (String, Vec<String>) {
        let mut d = Diags::default();
        let f = d.add_file("t.conf".into());
        let mut c = Conditions::new(id.map(String::from));
        let (out, _) = c.apply(f, text, "/etc/keepalived", &mut d);
        let findings = d
            .into_findings(false)
            .iter()
            .map(|x| x.to_string())
            .collect();
        (out, findings)
    }

    #[test]
    fn conditional_lines_keep_their_positions() {
        let text = "@high priority 170\n@low\tpriority 85\n@^high weight 2\n  @high  x y\n@nothing";
        assert_eq!(
            run(Some("high"), text).0,
            "      priority 170\n\n\n         x y\n"
        );
        assert_eq!(
            run(Some("low"), text).0,
            "\n    \tpriority 85\n       weight 2\n\n"
        );
        assert_eq!(run(None, text).0, "\n\n       weight 2\n\n");
    }

    /// Found by the `keepalived_conf` fuzz target (FUZZING.md): a kept `@ID` line whose id
    /// or indentation holds multi-byte characters moved what follows by their bytes, so its
    /// findings pointed past the end of the line.
    #[test]
    fn columns_after_a_condition_count_characters() {
        let (out, _) = run(Some("é"), "@é x\n\u{3000}@^b\u{e9} y");
        assert_eq!(out, "   x\n      y");
        let (_, f) = run(None, "\u{3000}~SEQ(i, 1, 3)");
        assert_eq!(
            f,
            ["t.conf:1:2: error: `~SEQ` is not supported by vrrpd-real"]
        );
    }

    #[test]
    fn definitions_are_replaced_later() {
        let text = "$PRIO=150\n$IF = eth${N}\n$N=1\npriority $PRIO\ninterface $IF\n\
                    script ${_PWD}/chk.sh ${_INSTANCE}\nkeep $UNKNOWN $\n@$ID x";
        let (out, f) = run(Some("a"), &format!("$ID=a\n{text}"));
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(
            out,
            "\n\n\n\npriority 150\ninterface eth1\nscript /etc/keepalived/chk.sh a\n\
             keep $UNKNOWN $\n"
        );
    }

    #[test]
    fn unsupported_forms_are_errors() {
        let (_, f) = run(None, "$M=a \\\n~SEQ(i, 1, 3)\n$A=$A$A\n$A");
        assert_eq!(
            f,
            [
                "t.conf:1:1: error: multi-line definition `$M` (a value ending with `\\`) is not supported by vrrpd-real",
                "t.conf:2:1: error: `~SEQ` is not supported by vrrpd-real",
                "t.conf:4:1: error: definitions expand more than 64 times on this line (a loop?)",
            ]
        );
    }
}

//! Typed readers for keyword values. Each reports a bad value at the value's own token and
//! names the type it expected.

use super::super::diag::Diags;
use super::super::parser::{Node, Word};
use core::net::IpAddr;
use core::time::Duration;

/// The single value of `node`; a missing value is an error, extra values a warning.
pub(crate) fn one<'n>(d: &mut Diags, node: &'n Node, expected: &str) -> Option<&'n Word> {
    let Some((first, rest)) = node.args.split_first() else {
        d.error(
            node.key.span,
            format!("`{}` expects {expected}, got nothing", node.key.text),
        );
        return None;
    };
    if let Some(extra) = rest.first() {
        let words: Vec<&str> = rest.iter().map(|w| w.text.as_str()).collect();
        d.warn(
            extra.span,
            format!(
                "ignoring extra values after `{} {}`: `{}`",
                node.key.text,
                first.text,
                words.join(" ")
            ),
        );
    }
    Some(first)
}

/// A keyword that takes no value; extra values are a warning.
pub(crate) fn flag(d: &mut Diags, node: &Node) {
    if let Some(extra) = node.args.first() {
        let words: Vec<&str> = node.args.iter().map(|w| w.text.as_str()).collect();
        d.warn(
            extra.span,
            format!(
                "ignoring extra values after `{}`: `{}`",
                node.key.text,
                words.join(" ")
            ),
        );
    }
}

/// A switch with an optional `true|false` (also `on|off`, `yes|no`); alone it means true.
/// Anything else is an error naming the keyword, and counts as false.
pub(crate) fn switch(d: &mut Diags, node: &Node) -> bool {
    match node.args.first().map(|w| w.text.as_str()) {
        None | Some("true") | Some("on") | Some("yes") => true,
        Some("false") | Some("off") | Some("no") => false,
        Some(other) => {
            if let Some(w) = node.args.first() {
                d.error(
                    w.span,
                    format!("`{}` expects true or false, got `{other}`", node.key.text),
                );
            }
            false
        }
    }
}

/// keepalived's `check_true_false` switch (`true|on|yes`, `false|off|no`, alone true) for
/// keywords whose handler ignores a bad value: an error, and `None` (the setting is
/// unchanged).
pub(crate) fn switch_or_keep(d: &mut Diags, node: &Node) -> Option<bool> {
    match node.args.first().map(|w| w.text.as_str()) {
        None | Some("true") | Some("on") | Some("yes") => Some(true),
        Some("false") | Some("off") | Some("no") => Some(false),
        Some(other) => {
            if let Some(w) = node.args.first() {
                d.error(
                    w.span,
                    format!(
                        "`{}` expects true or false, got `{other}`: ignored",
                        node.key.text
                    ),
                );
            }
            None
        }
    }
}

/// All values joined by one space (commands, user names); missing is an error.
pub(crate) fn text(d: &mut Diags, node: &Node) -> Option<String> {
    if node.args.is_empty() {
        d.error(
            node.key.span,
            format!("`{}` expects a value, got nothing", node.key.text),
        );
        return None;
    }
    let words: Vec<&str> = node.args.iter().map(|w| w.text.as_str()).collect();
    Some(words.join(" "))
}

/// An integer in `lo..=hi` read from `word`, reported under `keyword`.
pub(crate) fn int_word(d: &mut Diags, keyword: &str, word: &Word, lo: i64, hi: i64) -> Option<i64> {
    match word.text.parse::<i64>() {
        Ok(v) if (lo..=hi).contains(&v) => Some(v),
        Ok(v) => {
            d.error(
                word.span,
                format!("`{keyword}` {v} is out of range {lo}..{hi}"),
            );
            None
        }
        Err(_) => {
            d.error(
                word.span,
                format!(
                    "`{keyword}` expects an integer in {lo}..{hi}, got `{}`",
                    word.text
                ),
            );
            None
        }
    }
}

/// The single integer value of `node` in `lo..=hi`.
pub(crate) fn int(d: &mut Diags, node: &Node, lo: i64, hi: i64) -> Option<i64> {
    let word = one(d, node, &format!("an integer in {lo}..{hi}"))?;
    int_word(d, &node.key.text, word, lo, hi)
}

/// Parses decimal seconds (`1`, `0.5`, `0.01`) exactly, to the nanosecond.
pub(crate) fn parse_secs(s: &str) -> Option<Duration> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = |x: &str| x.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || !digits(frac) || frac.len() > 9 {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos: u32 = 0;
    let mut scale: u32 = 100_000_000;
    for c in frac.chars() {
        nanos = nanos.checked_add(c.to_digit(10)?.checked_mul(scale)?)?;
        scale /= 10;
    }
    Some(Duration::new(secs, nanos))
}

/// The single value of `node` as seconds, at most `max_secs`.
pub(crate) fn secs(d: &mut Diags, node: &Node, max_secs: u64) -> Option<Duration> {
    let word = one(d, node, "a number of seconds")?;
    secs_word(d, &node.key.text, word, max_secs)
}

/// `word` as seconds (reported under `keyword`), at most `max_secs`.
pub(crate) fn secs_word(
    d: &mut Diags,
    keyword: &str,
    word: &Word,
    max_secs: u64,
) -> Option<Duration> {
    match parse_secs(&word.text) {
        Some(v) if v <= Duration::from_secs(max_secs) => Some(v),
        Some(_) => {
            d.error(
                word.span,
                format!("`{keyword}` {} is out of range 0..{max_secs}", word.text),
            );
            None
        }
        None => {
            d.error(
                word.span,
                format!(
                    "`{keyword}` expects a number of seconds, got `{}`",
                    word.text
                ),
            );
            None
        }
    }
}

/// The single value of `node` as an IP address.
pub(crate) fn ip(d: &mut Diags, node: &Node) -> Option<IpAddr> {
    let word = one(d, node, "an IP address")?;
    ip_word(d, &node.key.text, word)
}

/// `word` as an IP address, reported under `keyword`.
pub(crate) fn ip_word(d: &mut Diags, keyword: &str, word: &Word) -> Option<IpAddr> {
    match word.text.parse::<IpAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            d.error(
                word.span,
                format!("`{keyword}` expects an IP address, got `{}`", word.text),
            );
            None
        }
    }
}

/// Formats a duration as keepalived writes seconds: `1`, `0.5`, `0.01`.
pub(crate) fn fmt_secs(v: Duration) -> String {
    let nanos = v.subsec_nanos();
    if nanos == 0 {
        return v.as_secs().to_string();
    }
    let frac = format!("{nanos:09}");
    format!("{}.{}", v.as_secs(), frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_secs("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_secs("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_secs("0.01"), Some(Duration::from_millis(10)));
        assert_eq!(parse_secs(".5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_secs("1."), Some(Duration::from_secs(1)));
        assert_eq!(parse_secs("."), None);
        assert_eq!(parse_secs("-1"), None);
        assert_eq!(parse_secs("1e3"), None);
        assert_eq!(parse_secs("99999999999999999999999"), None);
        assert_eq!(fmt_secs(Duration::from_millis(10)), "0.01");
        assert_eq!(fmt_secs(Duration::from_secs(3)), "3");
    }
}

//! A small shell-style wildcard matcher (`*`, `?`, `[abc]`, `[a-z]`, `[!a]`) for `include`.
//!
//! Both loaders use it, so the in-memory and the filesystem loader agree on what a pattern
//! matches. Matching is per path component: `*` never crosses a `/`.

/// Whether a path component contains wildcard characters.
pub fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Whether `name` (one path component) matches `pattern` (one component).
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Hidden files are not matched by a leading wildcard, as with glob(3).
    if n.first() == Some(&'.') && p.first() != Some(&'.') {
        return false;
    }
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> bool {
    // Iterative matcher with backtracking to the last `*`: linear-ish, no recursion depth.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let pc = p.get(pi).copied();
        let nc = n.get(ni).copied();
        match pc {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => {
                pi += 1;
                ni += 1;
                continue;
            }
            Some('[') => match class(p.get(pi..).unwrap_or(&[]), nc) {
                Some((true, len)) => {
                    pi += len;
                    ni += 1;
                    continue;
                }
                Some((false, _)) => {}
                None => {
                    // An unclosed `[` is a literal character.
                    if nc == Some('[') {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
            },
            Some(c) if Some(c) == nc => {
                pi += 1;
                ni += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p.get(pi..).unwrap_or(&[]).iter().all(|&c| c == '*')
}

/// Matches a `[...]` class at the start of `p` against `c`: (matched, pattern length), or
/// `None` when the class is not closed (then `[` is literal).
fn class(p: &[char], c: Option<char>) -> Option<(bool, usize)> {
    let c = c?;
    let mut i = 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let cur = *p.get(i)?;
        if cur == ']' && !first {
            return Some((found != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            let end = *p.get(i + 2)?;
            if cur <= c && c <= end {
                found = true;
            }
            i += 3;
        } else {
            if cur == c {
                found = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("*.conf", "a.conf"));
        assert!(!matches("*.conf", "a.cfg"));
        assert!(!matches("*.conf", ".hidden.conf"));
        assert!(matches("a?c", "abc"));
        assert!(matches("[ab]*", "b1"));
        assert!(!matches("[!ab]*", "b1"));
        assert!(matches("x[0-9].c", "x5.c"));
        assert!(matches("[", "["));
        assert!(matches("*a*b", "xxaxxb"));
        assert!(!matches("*a*b", "xxaxxc"));
    }
}

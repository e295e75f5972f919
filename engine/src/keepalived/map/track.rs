//! `vrrp_script` and `vrrp_track_file` blocks, and the `weight N [reverse]` syntax they share
//! with the tracking lists of an instance.

use super::super::diag::Diags;
use super::super::parser::{Node, Word};
use super::global::MAX_SECS;
use super::values::{flag, int, int_word, one, secs, text};
use super::{not_acted, unknown};
use crate::config::{ScriptConfig, TrackFileConfig, TrackRef};

/// Range of `weight` for scripts and interfaces (keepalived's man page: -253..253).
pub(crate) const SCRIPT_WEIGHT: (i64, i64) = (-253, 253);
/// Range of `weight` for tracked files (keepalived's man page: -254..254).
pub(crate) const FILE_WEIGHT: (i64, i64) = (-254, 254);

const SCRIPT_KEYS: &[&str] = &[
    "script",
    "interval",
    "timeout",
    "weight",
    "fall",
    "rise",
    "user",
    "init_fail",
];
const FILE_KEYS: &[&str] = &["file", "weight", "init_file"];

/// The block's name (first value) and a check that a block follows.
pub(crate) fn block_name<'n>(node: &'n Node, d: &mut Diags) -> Option<&'n Word> {
    let name = node.args.first();
    if name.is_none() {
        d.error(
            node.key.span,
            format!("`{}` expects a name, got nothing", node.key.text),
        );
    }
    if node.block.is_none() {
        d.error(
            node.key.span,
            format!("`{}` expects a `{{ ... }}` block", node.key.text),
        );
    }
    name
}

/// Reads `weight N [reverse]` from `args` (starting at the `weight` word).
fn weight_args(d: &mut Diags, key: &Word, args: &[Word], range: (i64, i64)) -> Option<i32> {
    let Some(value) = args.first() else {
        d.error(
            key.span,
            format!(
                "`weight` expects an integer in {}..{}, got nothing",
                range.0, range.1
            ),
        );
        return None;
    };
    if let Some(extra) = args.get(1) {
        if extra.text == "reverse" {
            not_acted(d, extra.span, "reverse");
        } else {
            d.warn(
                extra.span,
                format!("ignoring extra values after `weight {}`", value.text),
            );
        }
    }
    int_word(d, "weight", value, range.0, range.1).and_then(|v| i32::try_from(v).ok())
}

/// Maps a `vrrp_script NAME { ... }` block.
pub(crate) fn map_script(node: &Node, d: &mut Diags) -> Option<ScriptConfig> {
    let name = block_name(node, d)?;
    let mut s = ScriptConfig::new(name.text.clone(), String::new());
    let mut has_script = false;
    for item in node.items() {
        match item.key.text.as_str() {
            "" => {}
            "script" => {
                if let Some(t) = text(d, item) {
                    s.script = t;
                    has_script = true;
                }
            }
            "interval" => {
                if let Some(v) = secs(d, item, MAX_SECS) {
                    s.interval = v;
                }
            }
            "timeout" => {
                if let Some(v) = secs(d, item, MAX_SECS) {
                    s.timeout = Some(v);
                }
            }
            "weight" => {
                if let Some(v) = weight_args(d, &item.key, &item.args, SCRIPT_WEIGHT) {
                    s.weight = v;
                }
            }
            "fall" => {
                if let Some(v) = int(d, item, 1, i64::from(u32::MAX)) {
                    s.fall = u32::try_from(v).unwrap_or(1);
                }
            }
            "rise" => {
                if let Some(v) = int(d, item, 1, i64::from(u32::MAX)) {
                    s.rise = u32::try_from(v).unwrap_or(1);
                }
            }
            "user" => s.user = text(d, item).or(s.user.take()),
            "init_fail" => {
                flag(d, item);
                s.init_fail = true;
            }
            _ => unknown(d, item, "vrrp_script", &[SCRIPT_KEYS]),
        }
    }
    if !has_script {
        d.error(
            name.span,
            format!("vrrp_script {} has no `script`", name.text),
        );
    }
    Some(s)
}

/// Maps a `vrrp_track_file NAME { ... }` block.
pub(crate) fn map_track_file(node: &Node, d: &mut Diags) -> Option<TrackFileConfig> {
    let name = block_name(node, d)?;
    let mut t = TrackFileConfig {
        name: name.text.clone(),
        path: String::new(),
        weight: 1,
        init_value: None,
    };
    let mut has_file = false;
    for item in node.items() {
        match item.key.text.as_str() {
            "" => {}
            "file" => {
                if let Some(w) = one(d, item, "a file path") {
                    t.path = w.text.clone();
                    has_file = true;
                }
            }
            "weight" => {
                if let Some(v) = weight_args(d, &item.key, &item.args, FILE_WEIGHT) {
                    t.weight = v;
                }
            }
            "init_file" => {
                // `init_file [VALUE] [overwrite]`: the value defaults to 0.
                let mut value = Some(0);
                for w in &item.args {
                    if w.text == "overwrite" {
                        not_acted(d, w.span, "overwrite");
                    } else {
                        value = int_word(d, "init_file", w, i64::MIN, i64::MAX);
                    }
                }
                if value.is_some() {
                    t.init_value = value;
                }
            }
            _ => unknown(d, item, "vrrp_track_file", &[FILE_KEYS]),
        }
    }
    if !has_file {
        d.error(
            name.span,
            format!("vrrp_track_file {} has no `file`", name.text),
        );
    }
    Some(t)
}

/// One line of a `track_script` / `track_interface` / `track_file` list: `NAME [weight N]`.
pub(crate) fn track_ref(item: &Node, range: (i64, i64), d: &mut Diags) -> TrackRef {
    let mut r = TrackRef::new(item.key.text.clone());
    match item.args.split_first() {
        Some((w, rest)) if w.text == "weight" => {
            r.weight = weight_args(d, w, rest, range);
        }
        Some((w, _)) => d.warn(
            w.span,
            format!(
                "ignoring `{}` after `{}`: expected `weight N`",
                w.text, item.key.text
            ),
        ),
        None => {}
    }
    r
}

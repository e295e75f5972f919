//! `vrrp_script`, `vrrp_track_file` and `vrrp_track_process` blocks, and the
//! `weight N [reverse]` syntax they share with the tracking lists of an instance.

use super::super::diag::Diags;
use super::super::parser::{Node, Word};
use super::global::MAX_SECS;
use super::values::{flag, int, int_word, one, secs, secs_word, text};
use super::{not_acted, unknown};
use crate::config::{
    ParamMatch, ScriptConfig, TrackFileConfig, TrackProcessConfig, TrackProcessRef, TrackRef,
};

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
const PROCESS_KEYS: &[&str] = &[
    "process",
    "param_match",
    "weight",
    "quorum",
    "quorum_max",
    "delay",
    "terminate_delay",
    "fork_delay",
    "full_command",
];
/// Range of `weight` for tracked processes (keepalived 2.2.7 `vrrp_tprocess_weight_handler`).
pub(crate) const PROCESS_WEIGHT: (i64, i64) = (-254, 254);

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
                d.warn(
                    item.key.span,
                    "`init_fail` has no effect, as in keepalived 2.2.7 (its `track_script` resets it): a script counts neither as passing nor as failing until its first result, which decides whatever `rise` and `fall`",
                );
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

/// Maps a `vrrp_track_process NAME { ... }` block as keepalived 2.2.7's `vrrp_tprocess_*`
/// handlers read it (a block without `process` is dropped, with an error).
pub(crate) fn map_track_process(node: &Node, d: &mut Diags) -> Option<TrackProcessConfig> {
    let name = block_name(node, d)?;
    let mut t = TrackProcessConfig::new(name.text.clone(), String::new());
    let mut has_process = false;
    let mut weight_set = false;
    for item in node.items() {
        match item.key.text.as_str() {
            "" => {}
            "process" => {
                let Some((first, params)) = item.args.split_first() else {
                    d.error(
                        item.key.span,
                        "`process` expects a process name, got nothing",
                    );
                    continue;
                };
                if has_process {
                    d.error(
                        first.span,
                        format!(
                            "Process already set for track process {} - ignoring {}",
                            t.name, first.text
                        ),
                    );
                    continue;
                }
                has_process = true;
                t.process = first.text.clone();
                if !params.is_empty() {
                    t.params = params.iter().map(|w| w.text.clone()).collect();
                    if t.param_match == ParamMatch::None {
                        t.param_match = ParamMatch::Exact;
                    }
                    t.full_command = true;
                }
            }
            "param_match" => match item.args.first().map(|w| w.text.as_str()) {
                None => {
                    t.param_match = ParamMatch::Exact;
                    t.full_command = true;
                }
                Some("initial") => {
                    t.param_match = ParamMatch::Initial;
                    t.full_command = true;
                }
                Some("partial") => {
                    t.param_match = ParamMatch::Partial;
                    t.full_command = true;
                }
                Some(other) => d.error(
                    item.args[0].span,
                    format!("Invalid param_match type {other} - ignoring"),
                ),
            },
            "weight" => {
                // keepalived: a second non-zero weight is refused.
                if weight_set && t.weight != 0 {
                    d.error(
                        item.key.span,
                        format!("Weight already set for track process {} - ignoring", t.name),
                    );
                    continue;
                }
                let Some(value) = item.args.first() else {
                    d.error(
                        item.key.span,
                        format!(
                            "No weight specified for track process {} - ignoring",
                            t.name
                        ),
                    );
                    continue;
                };
                let Some(w) = int_word(d, "weight", value, PROCESS_WEIGHT.0, PROCESS_WEIGHT.1)
                else {
                    continue;
                };
                match item.args.get(1) {
                    Some(r) if r.text == "reverse" => t.reverse = true,
                    Some(r) => d.error(
                        r.span,
                        format!(
                            "vrrp_track_process {} unknown weight option {}",
                            t.name, r.text
                        ),
                    ),
                    None => {}
                }
                t.weight = w as i32;
                weight_set = true;
            }
            "quorum" => {
                let Some(q) = int(d, item, 1, 65535) else {
                    continue;
                };
                let q = q as u32;
                if t.quorum_max.is_some_and(|m| q > m) {
                    d.error(
                        item.key.span,
                        "Quorum is greater than quorum_max - ignoring",
                    );
                    continue;
                }
                t.quorum = q;
            }
            "quorum_max" => {
                let Some(m) = int(d, item, 0, 65535) else {
                    continue;
                };
                let m = m as u32;
                // keepalived allows quorum_max 0 (and then quorum 0) if quorum is not set.
                if (m != 0 || t.quorum > 1) && m < t.quorum {
                    d.error(item.key.span, "quorum_max is less than quorum - ignoring");
                    continue;
                }
                t.quorum_max = Some(m);
                if m == 0 {
                    t.quorum = 0;
                } else if t.quorum == 0 {
                    t.quorum = 1;
                }
            }
            k @ ("delay" | "terminate_delay" | "fork_delay") => {
                let Some(v) = process_delay(d, item) else {
                    continue;
                };
                if k != "fork_delay" {
                    t.terminate_delay = v;
                }
                if k != "terminate_delay" {
                    t.fork_delay = v;
                }
            }
            "full_command" => {
                flag(d, item);
                t.full_command = true;
            }
            _ => unknown(d, item, "vrrp_track_process", &[PROCESS_KEYS]),
        }
    }
    if !has_process {
        d.error(
            name.span,
            format!("track process '{}' process name not specified", t.name),
        );
        return None;
    }
    Some(t)
}

/// A `delay` / `fork_delay` / `terminate_delay` value: 0.000001..3600 s, kept to the
/// microsecond as keepalived's timers are.
fn process_delay(d: &mut Diags, item: &Node) -> Option<core::time::Duration> {
    let word = one(d, item, "a number of seconds")?;
    let v = secs_word(d, &item.key.text, word, 3600)?;
    let v = core::time::Duration::from_micros(v.as_micros() as u64);
    if v.is_zero() {
        d.error(
            word.span,
            format!(
                "`{}` {} is out of range 0.000001..3600",
                item.key.text, word.text
            ),
        );
        return None;
    }
    Some(v)
}

/// One line of a `track_process` list: `NAME [weight N [reverse|noreverse]]` (keepalived
/// 2.2.7 `alloc_track_process`). `None` when keepalived ignores the line.
pub(crate) fn track_process_ref(item: &Node, d: &mut Diags) -> Option<TrackProcessRef> {
    let mut r = TrackProcessRef::new(item.key.text.clone());
    let Some((w, rest)) = item.args.split_first() else {
        return Some(r);
    };
    if w.text != "weight" {
        d.error(
            w.span,
            format!("unknown track process option {} - ignoring", w.text),
        );
        return None;
    }
    let Some(value) = rest.first() else {
        d.error(
            w.span,
            format!(
                "weight without value specified for track process {} - ignoring",
                item.key.text
            ),
        );
        return None;
    };
    r.weight = int_word(d, "weight", value, PROCESS_WEIGHT.0, PROCESS_WEIGHT.1).map(|v| v as i32);
    if r.weight.is_none() {
        // The block's weight and direction stay (the finding above is an error).
        return Some(r);
    }
    match rest.get(1) {
        Some(x) if x.text == "reverse" => r.reverse = Some(true),
        Some(x) if x.text == "noreverse" => r.reverse = Some(false),
        Some(x) => d.warn(
            x.span,
            format!(
                "unknown track_process {} weight option {} - ignoring",
                item.key.text, x.text
            ),
        ),
        None => {}
    }
    Some(r)
}

/// keepalived 2.2.7 resolves a `track_process` line while it reads it (`alloc_track_process`):
/// a name no `vrrp_track_process` above defines, or one already listed, is ignored with a
/// finding. `block` is the instance or group node, `defined` the blocks read so far.
pub(crate) fn resolve_process_refs(
    block: &Node,
    owner: &str,
    defined: &[TrackProcessConfig],
    list: &mut Vec<TrackProcessRef>,
    d: &mut Diags,
) {
    let mut kept: Vec<TrackProcessRef> = Vec::new();
    let lines = block
        .items()
        .iter()
        .filter(|i| i.key.text == "track_process")
        .flat_map(|i| i.items())
        .filter(|l| !l.key.text.is_empty());
    let mut refs = list.drain(..);
    for line in lines {
        let name = &line.key.text;
        // Lines `track_process_ref` dropped have no entry in `list`.
        let Some(r) = refs.as_slice().first().filter(|r| &r.name == name).cloned() else {
            continue;
        };
        refs.next();
        if !defined.iter().any(|p| &p.name == name) {
            d.error(
                line.key.span,
                format!("({owner}) track process {name} not found, ignoring..."),
            );
        } else if kept.iter().any(|k| &k.name == name) {
            d.error(
                line.key.span,
                format!("({owner}) duplicate track_process {name} - ignoring"),
            );
        } else {
            kept.push(r);
        }
    }
    drop(refs);
    *list = kept;
}

//! Writes a [`Config`] back as keepalived.conf text; parsing the result gives the same
//! [`Config`]. Every value is written explicitly (per-instance `garp_master_*`, `version`,
//! `accept`), so no default of `global_defs` can leak into an instance on the way back.

use super::map::values::fmt_secs;
use crate::config::{
    AuthConfig, Config, GarpConfig, InitialState, InstanceConfig, NotifyConfig, OptionLines,
    ParamMatch, TrackProcessConfig, TrackProcessRef, TrackRef, VirtualAddress,
};
use core::fmt::Write as _;

/// The configuration as keepalived.conf text.
pub fn print(config: &Config) -> String {
    let mut w = Writer::default();
    global(&mut w, config);
    for s in &config.scripts {
        w.open(&["vrrp_script", &s.name]);
        w.line(&["script", &s.script]);
        w.line(&["interval", &fmt_secs(s.interval)]);
        if let Some(t) = s.timeout {
            w.line(&["timeout", &fmt_secs(t)]);
        }
        w.line(&["weight", &s.weight.to_string()]);
        w.line(&["fall", &s.fall.to_string()]);
        w.line(&["rise", &s.rise.to_string()]);
        if let Some(u) = &s.user {
            w.line(&["user", u]);
        }
        if s.init_fail {
            w.line(&["init_fail"]);
        }
        w.close();
    }
    for t in &config.track_files {
        w.open(&["vrrp_track_file", &t.name]);
        w.line(&["file", &t.path]);
        w.line(&["weight", &t.weight.to_string()]);
        if let Some(v) = t.init_value {
            w.line(&["init_file", &v.to_string()]);
        }
        w.close();
    }
    for t in &config.track_processes {
        track_process(&mut w, t);
    }
    for i in &config.instances {
        instance(&mut w, i);
    }
    for g in &config.sync_groups {
        w.open(&["vrrp_sync_group", &g.name]);
        w.open(&["group"]);
        for m in &g.instances {
            w.line(&[m]);
        }
        w.close();
        tracks(&mut w, "track_script", &g.track_scripts);
        tracks(&mut w, "track_interface", &g.track_interfaces);
        tracks(&mut w, "track_file", &g.track_files);
        process_tracks(&mut w, &g.track_processes);
        if g.tracking_weight {
            w.line(&["sync_group_tracking_weight"]);
        }
        notify(&mut w, &g.notify);
        if let Some(v) = g.smtp_alert {
            w.line(&["smtp_alert", bool_word(v)]);
        }
        w.close();
    }
    for g in &config.virtual_server_groups {
        w.open(&["virtual_server_group", &g.name]);
        for line in &g.lines {
            let words: Vec<&str> = line.iter().map(String::as_str).collect();
            w.line(&words);
        }
        w.close();
    }
    for vs in &config.virtual_servers {
        let mut head = vec!["virtual_server"];
        head.extend(vs.target.iter().map(String::as_str));
        w.open(&head);
        options(&mut w, &vs.options);
        for rs in &vs.real_servers {
            let mut head = vec!["real_server"];
            head.extend(rs.target.iter().map(String::as_str));
            w.open(&head);
            options(&mut w, &rs.options);
            for c in &rs.checkers {
                w.open(&[&c.kind]);
                options(&mut w, &c.options);
                for (name, lines) in &c.blocks {
                    w.open(&[name]);
                    options(&mut w, lines);
                    w.close();
                }
                w.close();
            }
            w.close();
        }
        w.close();
    }
    w.out
}

fn global(w: &mut Writer, config: &Config) {
    let g = &config.global;
    w.open(&["global_defs"]);
    if let Some(r) = &g.router_id {
        w.line(&["router_id", r]);
    }
    if !g.notification_email.is_empty() {
        w.open(&["notification_email"]);
        for e in &g.notification_email {
            w.line(&[e]);
        }
        w.close();
    }
    if let Some(f) = &g.notification_email_from {
        w.line(&["notification_email_from", f]);
    }
    if let Some(s) = &g.smtp_server {
        w.line(&["smtp_server", s]);
    }
    w.line(&["smtp_connect_timeout", &fmt_secs(g.smtp_connect_timeout)]);
    if let Some(h) = &g.smtp_helo_name {
        w.line(&["smtp_helo_name", h]);
    }
    for (key, v) in [
        ("smtp_alert", g.smtp_alert),
        ("smtp_alert_vrrp", g.smtp_alert_vrrp),
        ("smtp_alert_checker", g.smtp_alert_checker),
    ] {
        if let Some(v) = v {
            w.line(&[key, bool_word(v)]);
        }
    }
    if g.no_email_faults {
        w.line(&["no_email_faults"]);
    }
    if g.no_checker_emails {
        w.line(&["no_checker_emails"]);
    }
    if g.skip_check_adv_addr {
        w.line(&["vrrp_skip_check_adv_addr"]);
    }
    if g.check_unicast_src {
        w.line(&["vrrp_check_unicast_src"]);
    }
    // keepalived 2.2.7 refuses 0 for these three (its readers' ranges start above 0), though
    // 0 is their default: written only when set, so keepalived itself reads the file.
    if !g.garp_interval.is_zero() {
        w.line(&["vrrp_garp_interval", &fmt_secs(g.garp_interval)]);
    }
    if !g.gna_interval.is_zero() {
        w.line(&["vrrp_gna_interval", &fmt_secs(g.gna_interval)]);
    }
    garp(w, "vrrp_", &g.garp);
    if g.enable_script_security {
        w.line(&["enable_script_security"]);
    }
    if let Some(u) = &g.script_user {
        w.line(&["script_user", u]);
    }
    w.line(&["vrrp_version", &g.vrrp_version.number().to_string()]);
    w.line(&[
        "vrrp_lower_prio_no_advert",
        if g.lower_prio_no_advert {
            "true"
        } else {
            "false"
        },
    ]);
    w.line(&[
        "vrrp_higher_prio_send_advert",
        if g.higher_prio_send_advert {
            "true"
        } else {
            "false"
        },
    ]);
    if g.strict {
        w.line(&["vrrp_strict"]);
    }
    if !g.startup_delay.is_zero() {
        w.line(&["vrrp_startup_delay", &fmt_secs(g.startup_delay)]);
    }
    if g.no_swap {
        w.line(&["vrrp_no_swap"]);
    }
    if g.log_unknown_vrids {
        w.line(&["log_unknown_vrids"]);
    }
    if g.dynamic_interfaces {
        w.line(&["dynamic_interfaces"]);
    }
    nftables(w, &g.nftables);
    w.close();
}

/// `nftables` first: keepalived's `nftables` resets a priority read before it.
fn nftables(w: &mut Writer, n: &crate::config::NftablesConfig) {
    if let Some(t) = &n.table {
        w.line(&["nftables", t]);
    }
    if n.priority != -1 {
        w.line(&["nftables_priority", &n.priority.to_string()]);
    }
    if n.counters {
        w.line(&["nftables_counters"]);
    }
    if n.ifindex {
        w.line(&["nftables_ifindex"]);
    }
}

fn garp(w: &mut Writer, prefix: &str, g: &GarpConfig) {
    let refresh = g.master_refresh.map_or_else(|| "0".to_string(), fmt_secs);
    w.line(&[
        &format!("{prefix}garp_master_delay"),
        &fmt_secs(g.master_delay),
    ]);
    w.line(&[
        &format!("{prefix}garp_master_repeat"),
        &g.master_repeat.to_string(),
    ]);
    w.line(&[&format!("{prefix}garp_master_refresh"), &refresh]);
    w.line(&[
        &format!("{prefix}garp_master_refresh_repeat"),
        &g.master_refresh_repeat.to_string(),
    ]);
    w.line(&[
        &format!("{prefix}garp_lower_prio_delay"),
        &fmt_secs(g.lower_prio_delay),
    ]);
    w.line(&[
        &format!("{prefix}garp_lower_prio_repeat"),
        &g.lower_prio_repeat.to_string(),
    ]);
}

/// A block of lines written by their `Display` (routes and rules: keepalived's syntax, one
/// word per value).
fn lines<T: core::fmt::Display>(w: &mut Writer, keyword: &str, list: &[T]) {
    if list.is_empty() {
        return;
    }
    w.open(&[keyword]);
    for item in list {
        let text = item.to_string();
        let words: Vec<&str> = text.split(' ').collect();
        w.line(&words);
    }
    w.close();
}

fn instance(w: &mut Writer, i: &InstanceConfig) {
    w.open(&["vrrp_instance", &i.name]);
    let state = match i.initial_state {
        InitialState::Master => "MASTER",
        InitialState::Backup => "BACKUP",
    };
    w.line(&["state", state]);
    w.line(&["interface", &i.interface]);
    match i.use_vmac.as_deref() {
        Some("") => w.line(&["use_vmac"]),
        Some(name) => w.line(&["use_vmac", name]),
        None => {}
    }
    if i.vmac_xmit_base {
        w.line(&["vmac_xmit_base"]);
    }
    w.line(&["virtual_router_id", &i.vrid.to_string()]);
    w.line(&["priority", &i.priority.to_string()]);
    w.line(&["advert_int", &fmt_secs(i.advert_interval)]);
    w.line(&["version", &i.version.number().to_string()]);
    match &i.auth {
        Some(AuthConfig::Pass(p)) => {
            w.open(&["authentication"]);
            w.line(&["auth_type", "PASS"]);
            w.line(&["auth_pass", p]);
            w.close();
        }
        Some(AuthConfig::Ah) => {
            w.open(&["authentication"]);
            w.line(&["auth_type", "AH"]);
            w.close();
        }
        None => {}
    }
    vips(w, "virtual_ipaddress", &i.vips);
    vips(w, "virtual_ipaddress_excluded", &i.vips_excluded);
    lines(w, "virtual_routes", &i.virtual_routes);
    lines(w, "virtual_rules", &i.virtual_rules);
    tracks(w, "track_script", &i.track_scripts);
    tracks(w, "track_interface", &i.track_interfaces);
    tracks(w, "track_file", &i.track_files);
    process_tracks(w, &i.track_processes);
    notify(w, &i.notify);
    w.line(&[if i.preempt { "preempt" } else { "nopreempt" }]);
    w.line(&["preempt_delay", &fmt_secs(i.preempt_delay)]);
    w.line(&[if i.accept { "accept" } else { "no_accept" }]);
    if let Some(src) = i.unicast_src {
        w.line(&["unicast_src_ip", &src.to_string()]);
    }
    if !i.unicast_peers.is_empty() {
        w.open(&["unicast_peer"]);
        for p in &i.unicast_peers {
            let addr = p.to_string();
            match i.unicast_peer_ttl.iter().find(|t| t.addr == *p) {
                Some(t) => w.line(&[
                    &addr,
                    "min_ttl",
                    &t.min.to_string(),
                    "max_ttl",
                    &t.max.to_string(),
                ]),
                None => w.line(&[&addr]),
            }
        }
        w.close();
    }
    if i.check_unicast_src {
        w.line(&["check_unicast_src"]);
    }
    if let Some(ttl) = i.unicast_ttl {
        w.line(&["unicast_ttl", &ttl.to_string()]);
    }
    garp(w, "", &i.garp);
    if i.dont_track_primary {
        w.line(&["dont_track_primary"]);
    }
    let no_advert = if i.advert_on_lower_priority {
        "false"
    } else {
        "true"
    };
    w.line(&["lower_prio_no_advert", no_advert]);
    w.line(&[
        "higher_prio_send_advert",
        if i.higher_prio_send_advert {
            "true"
        } else {
            "false"
        },
    ]);
    if i.checksum_mode == crate::wire::ChecksumMode::NoPseudoHeader {
        w.line(&["v3_checksum_as_v2"]);
    }
    if let Some(v) = i.strict_mode {
        w.line(&["strict_mode", bool_word(v)]);
    }
    if i.skip_check_adv_addr {
        w.line(&["skip_check_adv_addr"]);
    }
    if let Some(v) = i.smtp_alert {
        w.line(&["smtp_alert", bool_word(v)]);
    }
    w.close();
}

fn bool_word(v: bool) -> &'static str {
    if v {
        "true"
    } else {
        "false"
    }
}

fn vips(w: &mut Writer, keyword: &str, list: &[VirtualAddress]) {
    if list.is_empty() {
        return;
    }
    w.open(&[keyword]);
    for v in list {
        let addr = format!("{}/{}", v.addr, v.prefix_len);
        let mut words: Vec<&str> = vec![&addr];
        if let Some(dev) = &v.dev {
            words.extend(["dev", dev.as_str()]);
        }
        if let Some(label) = &v.label {
            words.extend(["label", label.as_str()]);
        }
        words.extend(v.extra.iter().map(String::as_str));
        w.line(&words);
    }
    w.close();
}

fn tracks(w: &mut Writer, keyword: &str, list: &[TrackRef]) {
    if list.is_empty() {
        return;
    }
    w.open(&[keyword]);
    for r in list {
        match r.weight {
            Some(n) => w.line(&[&r.name, "weight", &n.to_string()]),
            None => w.line(&[&r.name]),
        }
    }
    w.close();
}

/// A `vrrp_track_process` block: `quorum` before `quorum_max` (keepalived checks each
/// against the other as it reads them), `quorum` left out when `quorum_max 0` sets it to 0.
fn track_process(w: &mut Writer, t: &TrackProcessConfig) {
    w.open(&["vrrp_track_process", &t.name]);
    let mut line = vec!["process", t.process.as_str()];
    line.extend(t.params.iter().map(String::as_str));
    w.line(&line);
    match t.param_match {
        ParamMatch::None => {}
        ParamMatch::Exact => w.line(&["param_match"]),
        ParamMatch::Initial => w.line(&["param_match", "initial"]),
        ParamMatch::Partial => w.line(&["param_match", "partial"]),
    }
    if t.full_command {
        w.line(&["full_command"]);
    }
    let weight = t.weight.to_string();
    if t.reverse {
        w.line(&["weight", &weight, "reverse"]);
    } else {
        w.line(&["weight", &weight]);
    }
    if t.quorum >= 1 {
        w.line(&["quorum", &t.quorum.to_string()]);
    }
    if let Some(m) = t.quorum_max {
        w.line(&["quorum_max", &m.to_string()]);
    }
    if !t.fork_delay.is_zero() {
        w.line(&["fork_delay", &fmt_secs(t.fork_delay)]);
    }
    if !t.terminate_delay.is_zero() {
        w.line(&["terminate_delay", &fmt_secs(t.terminate_delay)]);
    }
    w.close();
}

fn process_tracks(w: &mut Writer, list: &[TrackProcessRef]) {
    if list.is_empty() {
        return;
    }
    w.open(&["track_process"]);
    for r in list {
        let weight = r.weight.map(|n| n.to_string());
        let mut line = vec![r.name.as_str()];
        // keepalived reads `reverse` only after a weight; a reference without one takes
        // the block's weight, and so needs none written to keep `reverse`.
        if let Some(n) = &weight {
            line.extend(["weight", n.as_str()]);
            match r.reverse {
                Some(true) => line.push("reverse"),
                Some(false) => line.push("noreverse"),
                None => {}
            }
        }
        w.line(&line);
    }
    w.close();
}

fn notify(w: &mut Writer, n: &NotifyConfig) {
    let all = [
        ("notify_master", &n.master),
        ("notify_backup", &n.backup),
        ("notify_fault", &n.fault),
        ("notify_stop", &n.stop),
        ("notify", &n.generic),
    ];
    for (k, v) in all {
        if let Some(cmd) = v {
            w.line(&[k, cmd]);
        }
    }
}

fn options(w: &mut Writer, lines: &OptionLines) {
    for (k, vals) in lines {
        let mut words = vec![k.as_str()];
        words.extend(vals.iter().map(String::as_str));
        w.line(&words);
    }
}

/// Indented output; words that the lexer would split or misread are quoted.
#[derive(Default)]
struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn line(&mut self, words: &[&str]) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        for (n, word) in words.iter().enumerate() {
            if n > 0 {
                self.out.push(' ');
            }
            if needs_quotes(word, n == 0) && word.contains('"') {
                // No quoting holds a `"` (the lexer has no escapes): such a value can only
                // be a command read as several words joined by one space (an unquoted word
                // such as `b"` keeps its quote), so write it back as those words.
                for (k, part) in word.split(' ').enumerate() {
                    if k > 0 {
                        self.out.push(' ');
                    }
                    self.word(part, n == 0 && k == 0);
                }
            } else {
                self.word(word, n == 0);
            }
        }
        self.out.push('\n');
    }

    /// One word, quoted as it needs; `first` on its line.
    fn word(&mut self, word: &str, first: bool) {
        if needs_quotes(word, first) && !word.contains('"') {
            let _ = write!(self.out, "\"{word}\"");
        } else {
            // Unquoted: a word with a `"` cannot be quoted (no escapes). Read back, it is
            // one word unless it starts with `"`; first on a line with a preprocessor
            // prefix it cannot be written at all (nor in keepalived's syntax).
            self.out.push_str(word);
        }
    }

    fn open(&mut self, words: &[&str]) {
        // The brace itself must not be quoted: write the words, then the brace.
        self.line(words);
        self.out.pop();
        self.out.push_str(" {\n");
        self.depth += 1;
    }

    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        self.out.push_str("}\n");
    }
}

/// Whether a word must be quoted to come back as one and the same word: the lexer would
/// split or misread it, or, first on its line, the preprocessor would take it for a
/// condition (`@ID`), a definition (`$NAME=`) or a sequence (`~SEQ`, `~LST`).
fn needs_quotes(word: &str, first: bool) -> bool {
    word.is_empty()
        || word == "include"
        || word.starts_with(['#', '!', '"'])
        || (first && (word.starts_with(['@', '$']) || word.starts_with("~SEQ")))
        || (first && word.starts_with("~LST"))
        || word.contains(|c: char| c.is_whitespace() || c == '{' || c == '}')
}

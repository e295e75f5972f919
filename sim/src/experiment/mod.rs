//! Experiment files: the TOML schema ([`schema`]), durations ([`duration`]), and their
//! resolution into runnable [`Variant`]s: node configs parsed by the keepalived.conf front
//! end, variant edits applied, node names turned into indices, the timeline sorted.
//!
//! Every error carries `FILE:LINE:COL` (the TOML position, or the keepalived.conf position
//! mapped back into the TOML file for inline configs).

pub mod duration;
mod edit;
pub mod model;
mod position;
pub mod schema;

use model::{
    Fault, LinkModel, LvsClients, NetworkModel, NodePlan, RealServerModel, RsState, TimedFault,
    Variant,
};
pub use position::ExperimentError;
use position::Source;
use schema::{ExperimentFile, FaultSpec, LatencySpec};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vrrp_engine::keepalived::{self, FsLoader, Options, Severity};

/// Which simulator backend runs the experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The event queue: time jumps from event to event.
    Event,
    /// turmoil hosts, one per node, on a 1 ms tick ([`crate::backend::turmoil_backend`]).
    Turmoil,
}

/// A loaded, validated experiment.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: String,
    /// The file it came from.
    pub path: PathBuf,
    /// Simulated time per run.
    pub duration: Duration,
    /// Seeds of each variant.
    pub seeds: Range<u64>,
    /// Backend.
    pub backend: Backend,
    /// Resolved variants, in file order (one named "baseline" when the file has none).
    pub variants: Vec<Variant>,
    /// Clients re-resolve a dead target after this long (None: only GARP moves them).
    pub arp_reresolve_after: Option<Duration>,
    /// Number of clients.
    pub clients: u32,
    /// Output folder from the file.
    pub out_dir: Option<String>,
    /// Write plots.
    pub plots: bool,
    /// Write events.csv.
    pub events: bool,
    /// Warnings from the node configs (keepalived front end), already formatted.
    pub warnings: Vec<String>,
    /// Sweep plots.
    pub sweep: Option<schema::SweepSpec>,
}

/// Load and validate an experiment file.
pub fn load(path: &Path) -> Result<Experiment, Vec<ExperimentError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ExperimentError::new(
            path.display().to_string(),
            0,
            0,
            format!("cannot read: {e}"),
        )]
    })?;
    parse(path, &text)
}

/// Parse experiment text; `path` names it in errors and anchors relative `config_file`s.
pub fn parse(path: &Path, text: &str) -> Result<Experiment, Vec<ExperimentError>> {
    let src = Source::new(path.display().to_string(), text);
    let file: ExperimentFile = toml::from_str(text).map_err(|e| vec![src.toml_error(&e)])?;
    Resolver {
        src: &src,
        dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        errors: Vec::new(),
        warnings: Vec::new(),
    }
    .resolve(file, path)
}

struct Resolver<'a> {
    src: &'a Source,
    dir: PathBuf,
    errors: Vec<ExperimentError>,
    warnings: Vec<String>,
}

impl Resolver<'_> {
    fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors.push(self.src.error(span, message));
    }

    fn resolve(
        mut self,
        file: ExperimentFile,
        path: &Path,
    ) -> Result<Experiment, Vec<ExperimentError>> {
        let backend = match file.backend.get_ref().as_str() {
            "" | "event" => Backend::Event,
            "turmoil" => Backend::Turmoil,
            other => {
                self.err(
                    file.backend.span(),
                    format!("unknown backend {other:?}: expected \"event\" or \"turmoil\""),
                );
                Backend::Event
            }
        };
        if file.duration.get_ref().0.is_zero() {
            self.err(file.duration.span(), "duration must be positive");
        }
        if *file.seeds.get_ref() == 0 {
            self.err(file.seeds.span(), "seeds must be at least 1");
        }
        let names: BTreeMap<String, usize> = file
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.get_ref().clone(), i))
            .collect();
        if file.nodes.is_empty() {
            self.err(0..0, "an experiment needs at least one [[nodes]] entry");
        }
        for (i, n) in file.nodes.iter().enumerate() {
            if names.get(n.name.get_ref()) != Some(&i) {
                self.err(
                    n.name.span(),
                    format!("node name {:?} is used twice", n.name.get_ref()),
                );
            }
        }
        // Parse each node's keepalived.conf once.
        let mut base_nodes = Vec::new();
        for (i, n) in file.nodes.iter().enumerate() {
            let config = self.node_config(n, None);
            base_nodes.push(NodePlan {
                name: n.name.get_ref().clone(),
                address: n.address,
                ipv6_link_local: n.ipv6_link_local.unwrap_or_else(|| {
                    std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i as u16 + 1)
                }),
                mac: [0x02, 0, 0, 0, 0, i as u8 + 1],
                config: config.unwrap_or_default(),
                start: n.start.map(|d| d.0).unwrap_or_default(),
                start_jitter: n.start_jitter.map(|d| d.0).unwrap_or_default(),
            });
        }
        let base_network = self.network(&file.network, &names);
        let base_timeline = self.timeline(&file.timeline, &names);
        let explicit_rs = self.real_servers(&file.real_servers);
        let lvs_clients = file.lvs_clients.as_ref().map(|c| self.lvs_clients(c));
        let mut variants = Vec::new();
        if file.variants.is_empty() {
            variants.push(Variant {
                name: "baseline".into(),
                description: String::new(),
                nodes: base_nodes.clone(),
                network: base_network.clone(),
                timeline: base_timeline.clone(),
                x: None,
                series: None,
                real_servers: Vec::new(),
                lvs_clients: lvs_clients.clone(),
            });
        }
        let mut seen = BTreeMap::new();
        for v in &file.variants {
            let name = v.name.get_ref().clone();
            if seen.insert(name.clone(), ()).is_some() {
                self.err(
                    v.name.span(),
                    format!("variant name {name:?} is used twice"),
                );
            }
            if name.is_empty() || name.contains(['/', ',', '"', '\n']) {
                self.err(
                    v.name.span(),
                    "variant names must be non-empty and contain no '/', ',', '\"' or newline",
                );
            }
            let mut nodes = base_nodes.clone();
            if let Some(text) = &v.virtual_servers {
                self.replace_virtual_servers(&mut nodes, &name, text);
            }
            for (node, e) in &v.nodes {
                let Some(&i) = names.get(node) else {
                    self.err(
                        v.name.span(),
                        format!(
                            "variant {name:?} edits unknown node {node:?}{}",
                            did_you_mean(node, &names)
                        ),
                    );
                    continue;
                };
                if let Some(text) = &e.config {
                    if let Some(c) = self.config_text(&format!("variant-{name}-{node}.conf"), text)
                    {
                        nodes[i].config = c;
                    }
                }
                if let Err(msg) = edit::apply(&mut nodes[i].config, e) {
                    self.err(
                        v.name.span(),
                        format!("variant {name:?}, node {node:?}: {msg}"),
                    );
                }
            }
            let mut network = base_network.clone();
            if let Some(ne) = &v.network {
                if let Some(l) = &ne.latency {
                    network.default.latency = l.clone();
                }
                if let Some(p) = ne.loss {
                    network.default.loss = p;
                }
                if let Some(b) = ne.burst {
                    network.default.burst = Some(b);
                }
            }
            let mut timeline = base_timeline.clone();
            timeline.extend(self.timeline(&v.timeline, &names));
            timeline.sort_by_key(|f| f.at);
            variants.push(Variant {
                name,
                description: v.description.clone(),
                nodes,
                network,
                timeline,
                x: v.x,
                series: v.series.clone(),
                real_servers: Vec::new(),
                lvs_clients: lvs_clients.clone(),
            });
        }
        for v in &mut variants {
            v.real_servers = variant_real_servers(v, &explicit_rs);
        }
        self.check_lvs(&variants, file.lvs_clients.as_ref());
        if let Some(sw) = &file.outputs.sweep {
            let spec = sw.get_ref();
            for m in &spec.metrics {
                if !crate::report::output::is_metric(m) {
                    self.err(
                        sw.span(),
                        format!(
                            "unknown sweep metric {m:?} (metrics: {}, {})",
                            crate::report::output::METRIC_NAMES.join(", "),
                            crate::report::output::LVS_METRIC_NAMES.join(", ")
                        ),
                    );
                }
            }
            if let Some(t) = &spec.theory {
                if !["takeover", "false_takeovers_per_hour"].contains(&t.as_str()) {
                    self.err(sw.span(), format!("unknown theory {t:?}: expected \"takeover\" or \"false_takeovers_per_hour\""));
                }
            }
            if variants.iter().any(|v| v.x.is_none()) {
                self.err(sw.span(), "a sweep needs `x` on every variant");
            }
        }
        let seeds = *file.seeds.get_ref();
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        Ok(Experiment {
            name: file.name,
            description: file.description,
            path: path.to_path_buf(),
            duration: file.duration.get_ref().0,
            seeds: file.seed_base..file.seed_base.saturating_add(seeds),
            backend,
            variants,
            arp_reresolve_after: file.clients.arp_reresolve_after.map(|d| d.0),
            clients: file.clients.count.max(1),
            out_dir: file.outputs.dir,
            plots: file.outputs.plots,
            events: file.outputs.events,
            sweep: file.outputs.sweep.map(|s| s.into_inner()),
            warnings: self.warnings,
        })
    }

    /// The `[[real_servers]]` entries.
    fn real_servers(&mut self, specs: &[schema::RealServerSpec]) -> Vec<RealServerModel> {
        let mut out: Vec<RealServerModel> = Vec::new();
        for r in specs {
            let Some(addr) = self.socket_addr(r.address.get_ref(), r.address.span()) else {
                continue;
            };
            if out.iter().any(|m| m.addr == addr) {
                self.err(
                    r.address.span(),
                    format!("real server {addr} is listed twice"),
                );
                continue;
            }
            if let Some(l) = &r.latency {
                self.check_latency(l, r.address.span());
            }
            let state = match &r.state {
                Some(s) => self.rs_state(s.get_ref(), r.delay, r.status, s.span()),
                None => self.rs_state("up", r.delay, r.status, r.address.span()),
            };
            out.push(RealServerModel {
                addr,
                latency: r.latency.clone(),
                state: state.unwrap_or(RsState::Up),
                misc_exit: r.misc_exit.unwrap_or(0),
            });
        }
        out
    }

    /// `[lvs_clients]`.
    fn lvs_clients(&mut self, c: &schema::LvsClientsSpec) -> LvsClients {
        let rate = *c.rate.get_ref();
        if !(rate > 0.0 && rate.is_finite()) {
            self.err(
                c.rate.span(),
                format!("rate {rate} must be a positive number of requests per second"),
            );
        }
        let poisson = match &c.arrivals {
            None => true,
            Some(a) => match a.get_ref().as_str() {
                "poisson" => true,
                "fixed" => false,
                other => {
                    self.err(
                        a.span(),
                        format!("unknown arrivals {other:?}: expected \"poisson\" or \"fixed\""),
                    );
                    true
                }
            },
        };
        let sources = match &c.sources {
            None => 100,
            Some(n) => {
                if *n.get_ref() == 0 {
                    self.err(n.span(), "sources must be at least 1");
                }
                (*n.get_ref()).max(1)
            }
        };
        let service = c
            .service
            .as_ref()
            .and_then(|s| self.socket_addr(s.get_ref(), s.span()));
        LvsClients {
            rate: if rate > 0.0 && rate.is_finite() {
                rate
            } else {
                1.0
            },
            poisson,
            sources,
            service,
            start: c.start.map(|d| d.0).unwrap_or_default(),
        }
    }

    /// `ADDR:PORT` at `span`.
    fn socket_addr(&mut self, text: &str, span: Range<usize>) -> Option<SocketAddr> {
        match text.trim().parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.err(
                    span,
                    format!("{text:?} is not ADDR:PORT (e.g. \"192.168.1.101:80\" or \"[2001:db8::1]:80\")"),
                );
                None
            }
        }
    }

    /// A real-server state by name with its `delay` / `status`; errors at `span`.
    fn rs_state(
        &mut self,
        name: &str,
        delay: Option<duration::Dur>,
        status: Option<u16>,
        span: Range<usize>,
    ) -> Option<RsState> {
        let state = match name {
            "up" => RsState::Up,
            "down" => RsState::Down,
            "blackhole" => RsState::Blackhole,
            "wrong_body" => RsState::WrongBody,
            "slow" => match delay {
                Some(d) if !d.0.is_zero() => RsState::Slow(d.0),
                _ => {
                    self.err(
                        span,
                        "state \"slow\" needs a positive `delay` (e.g. delay = \"4s\")",
                    );
                    return None;
                }
            },
            "http_status" => match status {
                Some(c) if (100..=599).contains(&c) => RsState::HttpStatus(c),
                Some(c) => {
                    self.err(
                        span,
                        format!("status {c} is not an HTTP status code (100..=599)"),
                    );
                    return None;
                }
                None => {
                    self.err(
                        span,
                        "state \"http_status\" needs `status` (e.g. status = 500)",
                    );
                    return None;
                }
            },
            other => {
                let hint = match keepalived::suggest(other, &RsState::NAMES) {
                    Some(s) => format!(" (did you mean {s:?}?)"),
                    None => String::new(),
                };
                self.err(
                    span,
                    format!(
                        "unknown real-server state {other:?}{hint}: expected one of {}",
                        RsState::NAMES.join(", ")
                    ),
                );
                return None;
            }
        };
        if delay.is_some() && !matches!(state, RsState::Slow(_)) {
            self.err(span.clone(), "`delay` only goes with state \"slow\"");
        }
        if status.is_some() && !matches!(state, RsState::HttpStatus(_)) {
            self.err(span, "`status` only goes with state \"http_status\"");
        }
        Some(state)
    }

    /// A variant's `virtual_servers` text replaces the `virtual_server` blocks of every node
    /// that has any.
    fn replace_virtual_servers(
        &mut self,
        nodes: &mut [NodePlan],
        variant: &str,
        text: &toml::Spanned<String>,
    ) {
        let Some(parsed) = self.inline_config(text.get_ref(), text.span()) else {
            return;
        };
        if !parsed.instances.is_empty() || !parsed.scripts.is_empty() {
            self.err(
                text.span(),
                format!("variant {variant:?}: `virtual_servers` takes virtual_server blocks only (replace a whole config with [variants.nodes.NAME] config)"),
            );
            return;
        }
        let mut replaced = false;
        for n in nodes.iter_mut() {
            if !n.config.virtual_servers.is_empty() {
                n.config.virtual_servers = parsed.virtual_servers.clone();
                replaced = true;
            }
        }
        if !replaced {
            self.err(
                text.span(),
                format!("variant {variant:?}: no node has a virtual_server block to replace"),
            );
        }
    }

    /// Real-server faults name known real servers; the clients' service exists.
    fn check_lvs(&mut self, variants: &[Variant], clients: Option<&schema::LvsClientsSpec>) {
        let mut reported = Vec::new();
        for v in variants {
            for f in &v.timeline {
                let Fault::RealServer { addr, .. } = &f.fault else {
                    continue;
                };
                if v.real_servers.iter().any(|m| m.addr == *addr) || reported.contains(&f.span) {
                    continue;
                }
                reported.push(f.span.clone());
                let known: Vec<String> =
                    v.real_servers.iter().map(|m| m.addr.to_string()).collect();
                let span = self
                    .value_span(f.span.clone(), "address")
                    .unwrap_or(f.span.clone());
                self.err(
                    span,
                    format!(
                        "no real server {addr} in variant {:?} (real servers: {})",
                        v.name,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                );
            }
        }
        if let Some(c) = clients {
            let Some(s) = &c.service else { return };
            let Ok(addr) = s.get_ref().trim().parse::<SocketAddr>() else {
                return;
            };
            let found = variants.iter().any(|v| {
                v.nodes.iter().any(|n| {
                    n.config.virtual_servers.iter().any(|vs| {
                        matches!(vs.service, Some(vrrp_engine::lvs::ServiceKey::Addr { addr: a, .. }) if a == addr)
                    })
                })
            });
            if !found {
                self.err(s.span(), format!("no node has a virtual_server {addr}"));
            }
        }
    }

    fn node_config(
        &mut self,
        n: &schema::NodeSpec,
        _: Option<()>,
    ) -> Option<vrrp_engine::config::Config> {
        match (&n.config, &n.config_file) {
            (Some(text), None) => self.inline_config(text.get_ref(), text.span()),
            (None, Some(file)) => {
                let p = self.dir.join(file.get_ref());
                let analysis = keepalived::analyze(&p, &FsLoader, &Options::default());
                self.absorb(analysis)
            }
            (Some(_), Some(f)) => {
                self.err(f.span(), "give either config or config_file, not both");
                None
            }
            (None, None) => {
                self.err(
                    n.name.span(),
                    format!(
                        "node {:?} needs config (inline keepalived.conf) or config_file",
                        n.name.get_ref()
                    ),
                );
                None
            }
        }
    }

    /// Parse inline keepalived.conf text whose TOML string value sits at `span`; findings are
    /// mapped to positions in the TOML file.
    fn inline_config(
        &mut self,
        text: &str,
        span: Range<usize>,
    ) -> Option<vrrp_engine::config::Config> {
        let mut analysis = keepalived::analyze_str("inline.conf", text, &Options::default());
        for f in &mut analysis.findings {
            let (line, col) =
                self.src
                    .inline_position(span.clone(), f.line as usize, f.col as usize);
            f.file = self.src.name.clone();
            f.line = u32::try_from(line).unwrap_or(u32::MAX);
            f.col = u32::try_from(col).unwrap_or(u32::MAX);
        }
        self.absorb(analysis)
    }

    /// The configuration of a `reload` entry at `span`: inline text (findings mapped into the
    /// TOML file) or a file; it must be one the engine can run.
    fn reload_config(
        &mut self,
        text: Option<&str>,
        file: Option<&str>,
        span: Range<usize>,
    ) -> Option<vrrp_engine::config::Config> {
        let config = match (text, file) {
            (Some(text), None) => {
                let value = self
                    .value_span(span.clone(), "config")
                    .unwrap_or(span.clone());
                self.inline_config(text, value)
            }
            (None, Some(file)) => {
                let p = self.dir.join(file);
                let analysis = keepalived::analyze(&p, &FsLoader, &Options::default());
                self.absorb(analysis)
            }
            _ => {
                self.err(
                    span,
                    "a reload needs config (inline keepalived.conf) or config_file, not both",
                );
                return None;
            }
        }?;
        if let Err(e) = vrrp_engine::Engine::new(config.clone(), vrrp_engine::Instant::ZERO) {
            self.err(span, format!("the reloaded configuration cannot run: {e}"));
            return None;
        }
        Some(config)
    }

    /// Where the value of `key = ...` starts inside the table at `span` (inline fault entries
    /// cannot carry a spanned string through serde's tagged enums, so it is found in the text).
    fn value_span(&self, span: Range<usize>, key: &str) -> Option<Range<usize>> {
        let span = self.table_extent(span);
        let text = self.src.text.get(span.clone())?;
        let mut from = 0;
        while let Some(k) = text[from..].find(key) {
            let at = from + k;
            let before_ok = at == 0 || {
                let c = text.as_bytes()[at - 1];
                !(c.is_ascii_alphanumeric() || c == b'_')
            };
            let rest = &text[at + key.len()..];
            let trimmed = rest.trim_start_matches([' ', '\t']);
            if before_ok && trimmed.starts_with('=') {
                let value = trimmed[1..].trim_start_matches([' ', '\t']);
                let start = span.start + text.len() - value.len();
                return Some(start..span.end);
            }
            from = at + key.len();
        }
        None
    }

    /// The text of the table at `span`: toml 1 spans an `[[array]]` table by its header
    /// alone, so a header's table runs on to the next header (or the end of the file).
    fn table_extent(&self, span: Range<usize>) -> Range<usize> {
        let text = &self.src.text;
        if !text.get(span.clone()).is_some_and(|t| t.starts_with('[')) {
            return span;
        }
        let end = text[span.end..]
            .find("\n[")
            .map_or(text.len(), |i| span.end + i + 1);
        span.start..end
    }

    /// Parse replacement keepalived.conf text of a variant; findings name `label`.
    fn config_text(&mut self, label: &str, text: &str) -> Option<vrrp_engine::config::Config> {
        let analysis = keepalived::analyze_str(label, text, &Options::default());
        self.absorb(analysis)
    }

    /// Keep a keepalived analysis' findings (errors stop the experiment, warnings are shown
    /// as they are); the config when there was no error.
    fn absorb(&mut self, analysis: keepalived::Analysis) -> Option<vrrp_engine::config::Config> {
        let mut ok = true;
        for f in analysis.findings {
            match f.severity {
                Severity::Error => {
                    ok = false;
                    self.errors.push(ExperimentError::new(
                        f.file,
                        f.line as usize,
                        f.col as usize,
                        f.message,
                    ));
                }
                Severity::Warning => self.warnings.push(f.to_string()),
            }
        }
        ok.then_some(analysis.config)
    }

    fn node_index(
        &mut self,
        names: &BTreeMap<String, usize>,
        name: &str,
        span: Range<usize>,
    ) -> Option<usize> {
        let found = names.get(name).copied();
        if found.is_none() {
            self.err(
                span,
                format!("unknown node {name:?}{}", did_you_mean(name, names)),
            );
        }
        found
    }

    fn network(
        &mut self,
        spec: &schema::NetworkSpec,
        names: &BTreeMap<String, usize>,
    ) -> NetworkModel {
        let loss = *spec.loss.get_ref();
        if !(0.0..=1.0).contains(&loss) {
            self.err(
                spec.loss.span(),
                format!("loss {loss} is not a probability in 0..1"),
            );
        }
        self.check_latency(&spec.latency, 0..0);
        let default = LinkModel {
            latency: spec.latency.clone(),
            loss,
            burst: spec.burst,
        };
        let mut links = BTreeMap::new();
        for l in &spec.links {
            let from = self.node_index(names, l.from.get_ref(), l.from.span());
            let to = self.node_index(names, l.to.get_ref(), l.to.span());
            let mut m = default.clone();
            if let Some(lat) = &l.latency {
                m.latency = lat.clone();
            }
            if let Some(p) = &l.loss {
                if !(0.0..=1.0).contains(p.get_ref()) {
                    self.err(
                        p.span(),
                        format!("loss {} is not a probability in 0..1", p.get_ref()),
                    );
                }
                m.loss = *p.get_ref();
            }
            if l.burst.is_some() {
                m.burst = l.burst;
            }
            if let (Some(f), Some(t)) = (from, to) {
                links.insert((f, t), m);
            }
        }
        NetworkModel { default, links }
    }

    /// A Gilbert-Elliott chain's numbers are probabilities.
    fn check_burst(&mut self, b: &schema::BurstSpec, span: Range<usize>) {
        for (name, p) in [
            ("p_enter_bad", b.p_enter_bad),
            ("p_leave_bad", b.p_leave_bad),
            ("loss_good", b.loss_good),
            ("loss_bad", b.loss_bad),
        ] {
            if !(0.0..=1.0).contains(&p) {
                self.err(
                    span.clone(),
                    format!("burst {name} {p} is not a probability in 0..1"),
                );
            }
        }
    }

    fn check_latency(&mut self, l: &LatencySpec, span: Range<usize>) {
        if let LatencySpec::Range(r) = l {
            if r.min > r.max {
                self.err(
                    span,
                    format!("latency min {} is above max {}", r.min, r.max),
                );
            }
        }
    }

    fn timeline(
        &mut self,
        entries: &[toml::Spanned<FaultSpec>],
        names: &BTreeMap<String, usize>,
    ) -> Vec<TimedFault> {
        let mut out = Vec::new();
        for e in entries {
            let span = e.span();
            let f = e.get_ref();
            let idx = |r: &mut Self, n: &str| r.node_index(names, n, span.clone());
            let fault = match f {
                FaultSpec::Stop { node, .. } => idx(&mut *self, node).map(Fault::Stop),
                FaultSpec::Kill { node, .. } => idx(&mut *self, node).map(Fault::Kill),
                FaultSpec::Restart { node, .. } => idx(&mut *self, node).map(Fault::Restart),
                FaultSpec::LinkDown { node, .. } => idx(&mut *self, node).map(Fault::LinkDown),
                FaultSpec::LinkUp { node, .. } => idx(&mut *self, node).map(Fault::LinkUp),
                FaultSpec::Partition { groups, .. } => {
                    let g: Vec<Vec<usize>> = groups
                        .iter()
                        .map(|g| g.iter().filter_map(|n| idx(&mut *self, n)).collect())
                        .collect();
                    Some(Fault::Partition(g))
                }
                FaultSpec::OneWayPartition { from, to, .. } => {
                    let from = from.iter().filter_map(|n| idx(&mut *self, n)).collect();
                    let to = to.iter().filter_map(|n| idx(&mut *self, n)).collect();
                    Some(Fault::OneWay { from, to })
                }
                FaultSpec::Heal { .. } => Some(Fault::Heal),
                FaultSpec::Loss { rate, from, to, .. } => {
                    if !(0.0..=1.0).contains(rate) {
                        self.err(
                            span.clone(),
                            format!("loss {rate} is not a probability in 0..1"),
                        );
                    }
                    let link = match (from, to) {
                        (Some(f), Some(t)) => match (idx(&mut *self, f), idx(&mut *self, t)) {
                            (Some(f), Some(t)) => Some((f, t)),
                            _ => None,
                        },
                        (None, None) => None,
                        _ => {
                            self.err(
                                span.clone(),
                                "give both from and to for a per-link loss, or neither",
                            );
                            None
                        }
                    };
                    Some(Fault::Loss { rate: *rate, link })
                }
                FaultSpec::Burst { burst, .. } => {
                    if let Some(b) = burst {
                        self.check_burst(b, span.clone());
                    }
                    Some(Fault::Burst(*burst))
                }
                FaultSpec::Latency { latency, .. } => {
                    self.check_latency(latency, span.clone());
                    Some(Fault::Latency(latency.clone()))
                }
                FaultSpec::CheckFail { node, script, .. } => {
                    idx(&mut *self, node).map(|n| Fault::Check {
                        node: n,
                        script: script.clone(),
                        behaviour: model::CheckBehaviour::Fail,
                    })
                }
                FaultSpec::ProcessStop { node, process, .. } => {
                    idx(&mut *self, node).map(|n| Fault::Process {
                        node: n,
                        process: process.clone(),
                        count: 0,
                    })
                }
                FaultSpec::ProcessStart {
                    node,
                    process,
                    count,
                    ..
                } => idx(&mut *self, node).map(|n| Fault::Process {
                    node: n,
                    process: process.clone(),
                    count: *count,
                }),
                FaultSpec::CheckPass { node, script, .. } => {
                    idx(&mut *self, node).map(|n| Fault::Check {
                        node: n,
                        script: script.clone(),
                        behaviour: model::CheckBehaviour::Pass,
                    })
                }
                FaultSpec::CheckFlap {
                    node,
                    script,
                    period,
                    duty,
                    jitter,
                    at,
                } => {
                    if !(0.0..=1.0).contains(duty) {
                        self.err(
                            span.clone(),
                            format!("duty {duty} is not a fraction in 0..1"),
                        );
                    }
                    if period.0.is_zero() {
                        self.err(span.clone(), "period must be positive");
                    }
                    idx(&mut *self, node).map(|n| Fault::Check {
                        node: n,
                        script: script.clone(),
                        behaviour: model::CheckBehaviour::Flap {
                            start: at.0,
                            period: period.0,
                            duty: *duty,
                            jitter: jitter.0,
                        },
                    })
                }
                FaultSpec::Reload {
                    node,
                    config,
                    config_file,
                    ..
                } => {
                    let n = idx(&mut *self, node);
                    let cfg =
                        self.reload_config(config.as_deref(), config_file.as_deref(), span.clone());
                    match (n, cfg) {
                        (Some(node), Some(config)) => Some(Fault::Reload {
                            node,
                            config: Box::new(config),
                        }),
                        _ => None,
                    }
                }
                FaultSpec::RealServer {
                    address,
                    state,
                    delay,
                    status,
                    ..
                } => {
                    let addr_span = self
                        .value_span(span.clone(), "address")
                        .unwrap_or(span.clone());
                    let state_span = self
                        .value_span(span.clone(), "state")
                        .unwrap_or(span.clone());
                    let addr = self.socket_addr(address, addr_span);
                    let state = self.rs_state(state, *delay, *status, state_span);
                    match (addr, state) {
                        (Some(addr), Some(state)) => Some(Fault::RealServer { addr, state }),
                        _ => None,
                    }
                }
                FaultSpec::Priority {
                    node,
                    instance,
                    priority,
                    ..
                } => {
                    if *priority == 0 {
                        self.err(span.clone(), "priority must be 1..255");
                    }
                    idx(&mut *self, node).map(|n| Fault::Priority {
                        node: n,
                        instance: instance.clone(),
                        priority: *priority,
                    })
                }
            };
            if let Some(fault) = fault {
                out.push(TimedFault {
                    at: f.at().0,
                    jitter: f.jitter().0,
                    fault,
                    span,
                });
            }
        }
        out.sort_by_key(|f| f.at);
        out
    }
}

/// The real servers of a variant: the `[[real_servers]]` entries, then every real server of
/// every configuration its nodes may run (start-up and reloads) not listed there, healthy
/// with the network's latency.
fn variant_real_servers(v: &Variant, explicit: &[RealServerModel]) -> Vec<RealServerModel> {
    let mut out = explicit.to_vec();
    let configs = v
        .nodes
        .iter()
        .map(|n| &n.config)
        .chain(v.timeline.iter().filter_map(|f| match &f.fault {
            Fault::Reload { config, .. } => Some(&**config),
            _ => None,
        }));
    for c in configs {
        for (_, addr) in vrrp_engine::lvs::real_servers(c) {
            if !out.iter().any(|m| m.addr == addr) {
                out.push(RealServerModel {
                    addr,
                    latency: None,
                    state: RsState::Up,
                    misc_exit: 0,
                });
            }
        }
    }
    out
}

/// ", did you mean "x"?" when a known name is close.
fn did_you_mean(name: &str, names: &BTreeMap<String, usize>) -> String {
    let known: Vec<&str> = names.keys().map(String::as_str).collect();
    match keepalived::suggest(name, &known) {
        Some(s) => format!(" (did you mean {s:?}?)"),
        None => format!(
            " (nodes: {})",
            names.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    }
}

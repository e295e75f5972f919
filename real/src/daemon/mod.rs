//! The daemon: runs the VRRP instances of a keepalived.conf on real interfaces.
//!
//! One [`Engine`] per `vrrp_instance` (a "unit"), so that a reload (SIGHUP) keeps every
//! instance whose configuration did not change, with its state and VIPs, while changed and
//! removed instances shut down (priority-0 advert, VIPs released) and new ones start. The
//! engine has no reload input (no way to remove or replace one instance and keep the others),
//! so per-instance engines are how this driver keeps reload semantics. They cost nothing per
//! event beyond what one engine would: the event loop never scans every unit. It keeps
//! - one timer (a `timerfd`, [`timer`]) armed at the earliest unit deadline, taken from a
//!   min-heap of (deadline, unit) with stale entries skipped, so a wake-up runs only the
//!   units that are due;
//! - per socket a VRID -> unit table, so a packet reaches its unit in O(1);
//! - a list of the units touched since the last drain; only those are drained and have their
//!   `poll_timeout` re-read;
//! - one raw socket per interface and family, read with `recvmmsg` and written with
//!   `sendmmsg` (every advert of one wake-up in one call), with reused buffers.
//!
//! Adverts go out before the state-change logs, notify scripts, netlink VIP changes and
//! ARP/NA of the same wake-up (which keep the engine's order among themselves).
//! Packets no unit takes go to an instance-less engine, which counts them per reason.
//!
//! What lives where:
//! - this file: start-up (capabilities, pid file, sweep of stale VIPs), the event loop, the
//!   handling of engine outputs, reload, shutdown;
//! - [`socket`]: raw VRRP sockets; [`netlink`]: interfaces, VIPs, events; [`garp`]: ARP/NA;
//! - [`scripts`]: checks and notify scripts; [`status`]: the status JSON; [`trace`]: JSONL.

pub mod garp;
pub mod netlink;
pub mod scripts;
pub mod socket;
pub mod status;
pub mod timer;
pub mod trace;

use futures::StreamExt;
use serde_json::{json, Value};
use socket::VrrpSocket;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use vrrp_engine::config::{Config, VirtualAddress};
use vrrp_engine::io::StateChange;
use vrrp_engine::keepalived::{self, FsLoader};
use vrrp_engine::{
    CheckOutcome, Engine, Family, Input, Instant, InterfaceUpdate, Output, RxPacket, ScriptId,
    State,
};

/// How the daemon was asked to run (keepalived's flags plus ours).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-f`: the configuration file.
    pub file: PathBuf,
    /// `-n`: stay in the foreground (otherwise detach).
    pub foreground: bool,
    /// `-l`: log to the console (stderr). Logs always go to stderr; without `-n` it is closed.
    pub log_console: bool,
    /// `-D`: detailed (debug) log.
    pub detailed: bool,
    /// `-p`: pid file.
    pub pid_file: Option<PathBuf>,
    /// `--status FILE`: where the status JSON goes (on SIGUSR1 and after each state change).
    pub status_file: Option<PathBuf>,
    /// `--trace FILE`: JSONL trace.
    pub trace_file: Option<PathBuf>,
    /// Treat configuration warnings as errors.
    pub strict: bool,
}

const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;

/// The capabilities among CAP_NET_RAW and CAP_NET_ADMIN that the process lacks (effective set).
pub fn missing_capabilities() -> Vec<&'static str> {
    let eff = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0);
    let mut missing = Vec::new();
    if eff & (1 << CAP_NET_RAW) == 0 {
        missing.push("CAP_NET_RAW");
    }
    if eff & (1 << CAP_NET_ADMIN) == 0 {
        missing.push("CAP_NET_ADMIN");
    }
    missing
}

/// Runs the daemon until SIGTERM/SIGINT; the exit code is the process's.
pub fn run(opts: Options) -> ExitCode {
    let kopts = keepalived::Options {
        strict: opts.strict,
    };
    let config = match keepalived::load(&opts.file, &FsLoader, &kopts) {
        Ok(l) => {
            for f in &l.findings {
                eprintln!("{f}");
            }
            l.config
        }
        Err(findings) => {
            for f in &findings.0 {
                eprintln!("{f}");
            }
            return ExitCode::from(1);
        }
    };
    let missing = missing_capabilities();
    if !missing.is_empty() {
        eprintln!(
            "vrrpd-real: missing capabilities: {} (raw VRRP and packet sockets need CAP_NET_RAW, \
             addresses need CAP_NET_ADMIN)",
            missing.join(", ")
        );
        return ExitCode::from(1);
    }
    if !opts.foreground {
        if let Err(e) = nix::unistd::daemon(false, opts.log_console) {
            eprintln!("vrrpd-real: cannot detach: {e}");
            return ExitCode::from(1);
        }
    }
    let level = if opts.detailed {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    if let Some(p) = &opts.pid_file {
        if let Err(e) = std::fs::write(p, format!("{}\n", std::process::id())) {
            tracing::error!("cannot write pid file {}: {e}", p.display());
            return ExitCode::from(1);
        }
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let pid_file = opts.pid_file.clone();
    let code = rt.block_on(async move {
        match Daemon::start(config, opts).await {
            Ok(mut d) => d.run().await,
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::from(1)
            }
        }
    });
    if let Some(p) = &pid_file {
        let _ = std::fs::remove_file(p);
    }
    code
}

/// One instance and its own engine.
struct Unit {
    /// Unique id, so check results of a replaced unit are recognised as stale.
    id: u64,
    /// The instance's configuration alone (with its scripts and files): the reload key.
    config: Config,
    engine: Engine,
    /// The deadline last pushed on the heap for this unit (the heap may hold stale ones).
    armed: Option<Instant>,
    /// In [`Daemon::dirty`]: has outputs to drain and a deadline to re-read.
    dirty: bool,
}

impl Unit {
    fn instance(&self) -> &vrrp_engine::config::InstanceConfig {
        &self.config.instances[0]
    }
}

/// No unit for this VRID in a socket's table.
const NO_UNIT: u32 = u32::MAX;

/// One raw VRRP socket with its VRID -> unit table and its send queue.
struct SockEntry {
    ifname: String,
    family: Family,
    sock: VrrpSocket,
    table: Box<[u32; 256]>,
    tx: socket::TxBatch,
}

/// A finished check.
struct CheckDone {
    unit: u64,
    script: ScriptId,
    seq: u64,
    outcome: CheckOutcome,
}

struct Daemon {
    opts: Options,
    /// `CLOCK_MONOTONIC` at start: engine time zero.
    origin: Duration,
    node: String,
    handle: rtnetlink::Handle,
    global: vrrp_engine::config::GlobalConfig,
    units: Vec<Unit>,
    next_unit: u64,
    catchall: Engine,
    ifaces: BTreeMap<String, netlink::IfInfo>,
    socks: Vec<SockEntry>,
    rxbuf: socket::RxBatch,
    timer: timer::Timer,
    /// (deadline, unit index), earliest first; entries that no longer match the unit's
    /// `armed` are stale and skipped.
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Every VIP address of every unit.
    vip_set: BTreeSet<IpAddr>,
    /// Units touched since the last drain.
    dirty: Vec<usize>,
    /// VIP changes and announcements of the current drain, done after the adverts are sent.
    slow: Vec<(usize, Output)>,
    check_tx: mpsc::UnboundedSender<CheckDone>,
    check_rx: mpsc::UnboundedReceiver<CheckDone>,
    notify_tx: Option<mpsc::UnboundedSender<scripts::Notify>>,
    notify_task: Option<tokio::task::JoinHandle<()>>,
    nl_events: futures::channel::mpsc::UnboundedReceiver<(
        rtnetlink::packet_core::NetlinkMessage<rtnetlink::packet_route::RouteNetlinkMessage>,
        rtnetlink::sys::SocketAddr,
    )>,
    announcer: garp::Announcer,
    trace: trace::Trace,
    /// VIPs we installed: (interface, address) -> the VIP.
    held: BTreeMap<(String, IpAddr), VirtualAddress>,
}

/// Splits a whole configuration into one configuration per instance, each with only the
/// scripts and files it tracks.
fn split(config: &Config) -> Vec<Config> {
    config
        .instances
        .iter()
        .map(|i| Config {
            global: config.global.clone(),
            scripts: config
                .scripts
                .iter()
                .filter(|s| i.track_scripts.iter().any(|t| t.name == s.name))
                .cloned()
                .collect(),
            track_files: config
                .track_files
                .iter()
                .filter(|f| i.track_files.iter().any(|t| t.name == f.name))
                .cloned()
                .collect(),
            instances: vec![i.clone()],
            sync_groups: Vec::new(),
            virtual_servers: Vec::new(),
        })
        .collect()
}

/// Interfaces a configuration needs to know: instance interfaces, VIP devices, tracked ones.
fn interfaces_of(config: &Config) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for i in &config.instances {
        s.insert(i.interface.clone());
        for v in i.vips.iter().chain(&i.vips_excluded) {
            if let Some(d) = &v.dev {
                s.insert(d.clone());
            }
        }
        for t in &i.track_interfaces {
            s.insert(t.name.clone());
        }
    }
    s
}

fn vip_addrs(config: &Config) -> Vec<IpAddr> {
    config
        .instances
        .iter()
        .flat_map(|i| i.vips.iter().chain(&i.vips_excluded))
        .map(|v| v.addr)
        .collect()
}

fn reason_text(r: &vrrp_engine::Reason) -> String {
    serde_json::to_value(r)
        .ok()
        .map(|v| match v.get("kind").and_then(Value::as_str) {
            Some(k) => {
                let mut extra: Vec<String> = v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(key, _)| key.as_str() != "kind")
                    .map(|(key, val)| format!("{key}={val}"))
                    .collect();
                extra.sort();
                if extra.is_empty() {
                    k.to_string()
                } else {
                    format!("{k} {}", extra.join(" "))
                }
            }
            None => v.to_string(),
        })
        .unwrap_or_default()
}

impl Daemon {
    async fn start(config: Config, opts: Options) -> Result<Daemon, String> {
        let origin = timer::monotonic();
        let (conn, handle, _) = rtnetlink::new_connection().map_err(|e| format!("netlink: {e}"))?;
        tokio::spawn(conn);
        use rtnetlink::MulticastGroup as G;
        let (ev_conn, _ev_handle, nl_events) =
            rtnetlink::new_multicast_connection(&[G::Link, G::Ipv4Ifaddr, G::Ipv6Ifaddr])
                .map_err(|e| format!("netlink events: {e}"))?;
        tokio::spawn(ev_conn);
        let node = config.global.router_id.clone().unwrap_or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "vrrpd-real".into())
        });
        let trace = trace::Trace::open(opts.trace_file.as_deref(), &node)
            .map_err(|e| format!("cannot open trace file: {e}"))?;
        let timer = timer::Timer::new().map_err(|e| format!("timerfd: {e}"))?;
        let (check_tx, check_rx) = mpsc::unbounded_channel();
        let (notify_tx, notify_task) = scripts::notify_queue();
        let catchall = Engine::new(
            Config {
                global: config.global.clone(),
                ..Config::default()
            },
            Instant::ZERO,
        )
        .map_err(|e| e.to_string())?;
        let mut d = Daemon {
            opts,
            origin,
            node,
            handle,
            global: config.global.clone(),
            units: Vec::new(),
            next_unit: 0,
            catchall,
            ifaces: BTreeMap::new(),
            socks: Vec::new(),
            rxbuf: socket::RxBatch::new(),
            timer,
            heap: BinaryHeap::new(),
            dirty: Vec::new(),
            vip_set: BTreeSet::new(),
            slow: Vec::new(),
            check_tx,
            check_rx,
            notify_tx: Some(notify_tx),
            notify_task: Some(notify_task),
            nl_events,
            announcer: garp::Announcer::open(),
            trace,
            held: BTreeMap::new(),
        };
        tracing::info!(
            "vrrpd-real {} starting: {} ({} instances), node {}",
            env!("CARGO_PKG_VERSION"),
            d.opts.file.display(),
            config.instances.len(),
            d.node
        );
        d.sweep(&config).await;
        let now = d.now();
        for sub in split(&config) {
            d.add_unit(sub, now)?;
        }
        d.reindex();
        d.refresh_all(&config).await;
        Ok(d)
    }

    fn now(&self) -> Instant {
        Instant::from_offset(timer::monotonic().saturating_sub(self.origin))
    }

    fn mark_dirty(&mut self, unit: usize) {
        if let Some(u) = self.units.get_mut(unit) {
            if !u.dirty {
                u.dirty = true;
                self.dirty.push(unit);
            }
        }
    }

    fn mark_all_dirty(&mut self) {
        for n in 0..self.units.len() {
            self.mark_dirty(n);
        }
    }

    /// After the set of units or sockets changed: rebuild the VRID tables and the deadline
    /// heap (unit indices moved), and mark every unit for draining.
    fn reindex(&mut self) {
        for s in &mut self.socks {
            s.table.fill(NO_UNIT);
        }
        for (n, u) in self.units.iter().enumerate() {
            let i = u.instance();
            if let Some(s) = self
                .socks
                .iter_mut()
                .find(|s| s.ifname == i.interface && s.family == i.family())
            {
                s.table[usize::from(i.vrid)] = n as u32;
            }
        }
        self.vip_set = self.all_vip_addrs().into_iter().collect();
        self.heap.clear();
        for u in &mut self.units {
            u.armed = None;
            u.dirty = false;
        }
        self.dirty.clear();
        self.mark_all_dirty();
    }

    fn secs(&self, at: Instant) -> f64 {
        at.offset().as_secs_f64()
    }

    /// Start-up cleanup: every configured VIP, then every address carrying our tag.
    async fn sweep(&mut self, config: &Config) {
        let links = netlink::all_links(&self.handle).await.unwrap_or_default();
        for i in &config.instances {
            for v in i.vips.iter().chain(&i.vips_excluded) {
                let dev = v.dev.as_deref().unwrap_or(&i.interface);
                let Some(&idx) = links.get(dev) else { continue };
                match netlink::del_addr(&self.handle, idx, v.addr).await {
                    Ok(n) if n > 0 => {
                        tracing::info!("start-up: removed stale VIP {} from {dev}", v.addr)
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("start-up: removing {} from {dev}: {e}", v.addr),
                }
            }
        }
        match netlink::sweep_tagged(&self.handle).await {
            Ok(list) => {
                for (idx, ip) in list {
                    let name = links
                        .iter()
                        .find(|(_, &i)| i == idx)
                        .map(|(n, _)| n.as_str())
                        .unwrap_or("?");
                    tracing::info!(
                        "start-up: removed address {ip} on {name} left by a previous run"
                    );
                }
            }
            Err(e) => tracing::warn!("start-up: sweeping tagged addresses: {e}"),
        }
    }

    fn add_unit(&mut self, config: Config, now: Instant) -> Result<(), String> {
        let engine = Engine::new(config.clone(), now).map_err(|e| e.to_string())?;
        let id = self.next_unit;
        self.next_unit += 1;
        let mut unit = Unit {
            id,
            config,
            engine,
            armed: None,
            dirty: false,
        };
        for info in self.ifaces.values() {
            unit.engine.handle(now, Input::Interface(update_of(info)));
        }
        self.units.push(unit);
        Ok(())
    }

    fn all_interfaces(&self) -> BTreeSet<String> {
        let mut s = BTreeSet::new();
        for u in &self.units {
            s.extend(interfaces_of(&u.config));
        }
        s
    }

    fn all_vip_addrs(&self) -> Vec<IpAddr> {
        self.units
            .iter()
            .flat_map(|u| vip_addrs(&u.config))
            .collect()
    }

    async fn refresh_all(&mut self, _config: &Config) {
        for name in self.all_interfaces() {
            self.refresh(&name).await;
        }
    }

    /// Re-reads one interface; on a change, tells every engine, opens missing sockets and
    /// re-installs the VIPs we hold there once the link is up.
    async fn refresh(&mut self, name: &str) {
        let exclude = self.all_vip_addrs();
        let info = match netlink::query(&self.handle, name, &exclude).await {
            Ok(Some(i)) => i,
            Ok(None) => netlink::IfInfo {
                name: name.to_string(),
                ..netlink::IfInfo::default()
            },
            Err(e) => {
                tracing::warn!("interface {name}: {e}");
                return;
            }
        };
        let old = self.ifaces.get(name).cloned();
        if old.as_ref() == Some(&info) {
            return;
        }
        match &old {
            None if info.index == 0 => {
                tracing::warn!("interface {name} does not exist: its instances stay in FAULT")
            }
            None => tracing::info!(
                "interface {name}: index {} {} ipv4 {:?} ipv6 {:?}",
                info.index,
                if info.up { "up" } else { "down" },
                info.ipv4,
                info.ipv6_ll
            ),
            Some(o) if o.up != info.up => {
                tracing::info!(
                    "interface {name}: link {}",
                    if info.up { "up" } else { "down" }
                )
            }
            Some(_) => tracing::info!(
                "interface {name}: addresses now ipv4 {:?} ipv6 {:?}",
                info.ipv4,
                info.ipv6_ll
            ),
        }
        let came_up = info.up && !old.as_ref().is_some_and(|o| o.up);
        self.ifaces.insert(name.to_string(), info.clone());
        if info.index != 0 {
            self.ensure_sockets(name, info.index);
        }
        let now = self.now();
        let upd = update_of(&info);
        for u in &mut self.units {
            u.engine.handle(now, Input::Interface(upd.clone()));
        }
        self.mark_all_dirty();
        if came_up {
            self.restore_vips(name).await;
        }
    }

    fn ensure_sockets(&mut self, name: &str, index: u32) {
        let mut families = BTreeSet::new();
        for u in &self.units {
            let i = u.instance();
            if i.interface == name {
                families.insert(match i.family() {
                    Family::Ipv4 => 0u8,
                    Family::Ipv6 => 1u8,
                });
            }
        }
        for f in families {
            let family = if f == 0 { Family::Ipv4 } else { Family::Ipv6 };
            let pos = self
                .socks
                .iter()
                .position(|s| s.ifname == name && s.family == family);
            if pos.is_some_and(|p| self.socks[p].sock.ifindex == index) {
                continue;
            }
            match VrrpSocket::open(name, index, family) {
                Ok(sock) => {
                    // Room for bursts: every instance of a host advertises in the same tick.
                    sock.grow_receive_buffer(4 << 20);
                    let entry = SockEntry {
                        ifname: name.to_string(),
                        family,
                        sock,
                        table: Box::new([NO_UNIT; 256]),
                        tx: socket::TxBatch::default(),
                    };
                    match pos {
                        Some(p) => self.socks[p] = entry,
                        None => self.socks.push(entry),
                    }
                    self.reindex();
                    tracing::debug!("opened the {family:?} VRRP socket on {name}");
                }
                Err(e) => tracing::error!("cannot open the {family:?} VRRP socket on {name}: {e}"),
            }
        }
    }

    async fn restore_vips(&mut self, ifname: &str) {
        let list: Vec<VirtualAddress> = self
            .held
            .iter()
            .filter(|((i, _), _)| i == ifname)
            .map(|(_, v)| v.clone())
            .collect();
        let Some(idx) = self.ifaces.get(ifname).map(|i| i.index) else {
            return;
        };
        for v in list {
            match netlink::add_vip(&self.handle, idx, &v).await {
                Ok(()) => tracing::info!("re-installed VIP {} on {ifname}", v.addr),
                Err(e) => tracing::warn!("re-installing VIP {} on {ifname}: {e}", v.addr),
            }
        }
    }

    async fn run(&mut self) -> ExitCode {
        let sig = |k| signal(k).map_err(|e| tracing::error!("signal handler: {e}"));
        let (Ok(mut term), Ok(mut int), Ok(mut hup), Ok(mut usr1)) = (
            sig(SignalKind::terminate()),
            sig(SignalKind::interrupt()),
            sig(SignalKind::hangup()),
            sig(SignalKind::user_defined1()),
        ) else {
            return ExitCode::from(1);
        };
        // The timer is a timerfd with nanosecond resolution: ask the kernel for little slack.
        // SAFETY: prctl(PR_SET_TIMERSLACK) takes a plain integer.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0) };
        loop {
            self.drain().await;
            let next = self.next_deadline();
            self.timer.arm(next.map(|d| self.origin + d.offset()));
            let socks = &self.socks;
            let rxbuf = &mut self.rxbuf;
            let readable = std::future::poll_fn(|cx| {
                for (n, s) in socks.iter().enumerate() {
                    if let std::task::Poll::Ready(r) = s.sock.poll_recv_batch(cx, rxbuf) {
                        return std::task::Poll::Ready((n, r));
                    }
                }
                std::task::Poll::Pending
            });
            tokio::select! {
                biased;
                _ = term.recv() => break,
                _ = int.recv() => break,
                r = self.timer.wait() => {
                    if let Err(e) = r {
                        tracing::warn!("timer: {e}");
                    }
                    self.on_timer();
                }
                (n, r) = readable => match r {
                    Ok(()) => self.on_packets(n),
                    Err(e) => {
                        tracing::warn!("receive on {}: {e}", self.socks[n].ifname);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(c) = self.check_rx.recv() => {
                    let now = self.now();
                    if let Some(n) = self.units.iter().position(|u| u.id == c.unit) {
                        self.units[n].engine.handle(now, Input::CheckResult { script: c.script, seq: c.seq, outcome: c.outcome });
                        self.mark_dirty(n);
                    }
                }
                Some((msg, _)) = self.nl_events.next() => self.on_netlink(msg).await,
                _ = hup.recv() => self.reload().await,
                _ = usr1.recv() => self.write_status(),
            }
        }
        self.shutdown().await;
        ExitCode::SUCCESS
    }

    /// The earliest deadline of any unit (stale heap entries are dropped on the way).
    fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, n))) = self.heap.peek() {
            if self.units.get(n).is_some_and(|u| u.armed == Some(at)) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Runs the timers of the units that are due, and only those.
    fn on_timer(&mut self) {
        let now = self.now();
        while let Some(&Reverse((at, n))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            if self.units.get(n).is_some_and(|u| u.armed == Some(at)) {
                self.units[n].armed = None;
                self.units[n].engine.handle_timeout(now);
                self.mark_dirty(n);
            }
        }
    }

    /// Hands the packets of the last batch read on socket `s` to their units.
    fn on_packets(&mut self, s: usize) {
        let at = self.now();
        for k in 0..self.rxbuf.len() {
            let (m, payload) = self.rxbuf.get(k);
            let entry = &self.socks[s];
            if self.trace.enabled() {
                let t = self.secs(at);
                self.trace.event(
                    t,
                    "rx",
                    json!({"interface": entry.ifname, "src": m.src, "dst": m.dst, "ttl": m.ttl,
                           "hex": trace::hex(payload)}),
                );
            }
            let input = Input::Packet(RxPacket {
                interface: &entry.ifname,
                src: m.src,
                dst: m.dst,
                ttl: m.ttl,
                payload,
            });
            let unit = vrrp_engine::wire::peek_vrid(payload)
                .map(|vrid| entry.table[usize::from(vrid)])
                .filter(|&u| u != NO_UNIT)
                .map(|u| u as usize);
            match unit {
                Some(n) => {
                    self.units[n].engine.handle(at, input);
                    if !self.units[n].dirty {
                        self.units[n].dirty = true;
                        self.dirty.push(n);
                    }
                }
                None => {
                    tracing::debug!(
                        "packet from {} on {} matches no instance",
                        m.src,
                        entry.ifname
                    );
                    self.catchall.handle(at, input)
                }
            }
        }
    }

    async fn on_netlink(
        &mut self,
        msg: rtnetlink::packet_core::NetlinkMessage<rtnetlink::packet_route::RouteNetlinkMessage>,
    ) {
        let Some(ev) = netlink::classify(msg) else {
            return;
        };
        let name_of = |d: &Daemon, idx: u32| {
            d.ifaces
                .values()
                .find(|i| i.index == idx)
                .map(|i| i.name.clone())
        };
        match ev {
            netlink::Event::Link { name, .. } => {
                if self.all_interfaces().contains(&name) {
                    self.refresh(&name).await;
                }
            }
            netlink::Event::LinkGone { index } => {
                if let Some(n) = name_of(self, index) {
                    self.refresh(&n).await;
                }
            }
            // Our own VIP changes (hundreds at once when many instances change state) cannot
            // change what `refresh` reads (VIPs are excluded from it): skip the dump.
            netlink::Event::AddrAdded { addr: Some(a), .. } if self.vip_set.contains(&a) => {}
            netlink::Event::AddrAdded { index, .. } => {
                if let Some(n) = name_of(self, index) {
                    self.refresh(&n).await;
                }
            }
            netlink::Event::AddrRemoved { index, addr } => {
                let Some(n) = name_of(self, index) else {
                    return;
                };
                if !addr.is_some_and(|a| self.vip_set.contains(&a)) {
                    self.refresh(&n).await;
                }
                let up = self.ifaces.get(&n).is_some_and(|i| i.up);
                if let Some(a) = addr {
                    if let Some(v) = self.held.get(&(n.clone(), a)).cloned() {
                        if up {
                            tracing::info!(
                                "VIP {a} was removed from {n} behind our back: re-adding"
                            );
                            if let Err(e) = netlink::add_vip(&self.handle, index, &v).await {
                                tracing::warn!("re-adding VIP {a} on {n}: {e}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// Drains the touched engines: adverts are queued and sent with one `sendmmsg` per
    /// socket, checks started; then state changes (logs, notify scripts), VIP changes and
    /// announcements are done in the engine's order; then the units' deadlines are re-read.
    async fn drain(&mut self) {
        while self.catchall.poll_output().is_some() {}
        let mut i = 0;
        while i < self.dirty.len() {
            let n = self.dirty[i];
            while let Some(out) = self.units[n].engine.poll_output() {
                self.stage(n, out);
            }
            i += 1;
        }
        for s in &mut self.socks {
            if s.tx.is_empty() {
                continue;
            }
            let units = &self.units;
            let ifname = &s.ifname;
            s.sock.flush(&mut s.tx, |tag, e| {
                let name = units
                    .get(tag as usize)
                    .map(|u| u.instance().name.as_str())
                    .unwrap_or("?");
                tracing::warn!("{name}: sending advert on {ifname}: {e}");
            });
        }
        if !self.slow.is_empty() {
            for (n, out) in std::mem::take(&mut self.slow) {
                self.apply(n, out).await;
            }
        }
        for k in 0..self.dirty.len() {
            let n = self.dirty[k];
            let u = &mut self.units[n];
            u.dirty = false;
            let next = u.engine.poll_timeout();
            if next != u.armed {
                u.armed = next;
                if let Some(at) = next {
                    self.heap.push(Reverse((at, n)));
                }
            }
        }
        self.dirty.clear();
        // Stale entries pile up while Backups keep pushing their Master_Down_Timer: compact.
        if self.heap.len() > 4 * self.units.len() + 64 {
            let units = &self.units;
            self.heap
                .retain(|&Reverse((at, n))| units.get(n).is_some_and(|u| u.armed == Some(at)));
        }
    }

    /// The fast part of applying one output: adverts are queued on their socket and checks
    /// started; the rest (state-change logs and notifies, VIPs, ARP/NA) waits in `slow`, in
    /// order, for after the sends.
    fn stage(&mut self, unit: usize, out: Output) {
        match out {
            Output::Transmit(tx) => {
                let family = Family::of(&tx.dst);
                let res = match self
                    .socks
                    .iter_mut()
                    .find(|s| s.family == family && *s.ifname == *tx.interface)
                {
                    Some(s) => {
                        s.sock
                            .queue(&mut s.tx, unit as u32, tx.src, tx.dst, tx.ttl, &tx.payload)
                    }
                    None => Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no socket on this interface",
                    )),
                };
                let name = &self.units[unit].instance().name;
                match res {
                    Ok(()) => tracing::debug!(
                        "{name}: advert {} -> {} prio {}",
                        tx.src,
                        tx.dst,
                        vrrp_engine::wire::peek_priority(&tx.payload).unwrap_or(0)
                    ),
                    Err(e) => tracing::warn!("{name}: sending advert on {}: {e}", tx.interface),
                }
                if self.trace.enabled() {
                    let t = self.secs(self.now());
                    let name = name.clone();
                    self.trace.event(
                        t,
                        "tx",
                        json!({"instance": name, "interface": &*tx.interface, "src": tx.src,
                               "dst": tx.dst, "ttl": tx.ttl, "hex": trace::hex(&tx.payload)}),
                    );
                }
            }
            Output::RunCheck {
                script,
                seq,
                timeout,
            } => self.run_check(unit, script, seq, timeout),
            other => self.slow.push((unit, other)),
        }
    }

    /// Applies a state change, a VIP change or an announcement (after the adverts of the
    /// same drain).
    async fn apply(&mut self, unit: usize, out: Output) {
        let now = self.now();
        let t = self.secs(now);
        let name = self.units[unit].instance().name.clone();
        match out {
            Output::AddVip { interface, vip, .. } => {
                let ifname = interface.to_string();
                match self
                    .ifaces
                    .get(&ifname)
                    .map(|i| i.index)
                    .filter(|&i| i != 0)
                {
                    Some(idx) => match netlink::add_vip(&self.handle, idx, &vip).await {
                        Ok(()) => tracing::info!(
                            "{name}: added VIP {}/{} on {ifname}",
                            vip.addr,
                            vip.prefix_len
                        ),
                        Err(e) => {
                            tracing::error!("{name}: adding VIP {} on {ifname}: {e}", vip.addr)
                        }
                    },
                    None => tracing::error!("{name}: VIP {}: no interface {ifname}", vip.addr),
                }
                self.trace.event(
                    t,
                    "vip_add",
                    json!({"instance": name, "interface": ifname, "addr": vip.addr,
                           "prefix_len": vip.prefix_len}),
                );
                self.held.insert((ifname, vip.addr), vip);
            }
            Output::RemoveVip { interface, vip, .. } => {
                let ifname = interface.to_string();
                self.held.remove(&(ifname.clone(), vip.addr));
                if let Some(idx) = self
                    .ifaces
                    .get(&ifname)
                    .map(|i| i.index)
                    .filter(|&i| i != 0)
                {
                    match netlink::del_addr(&self.handle, idx, vip.addr).await {
                        Ok(_) => tracing::info!("{name}: removed VIP {} from {ifname}", vip.addr),
                        Err(e) => {
                            tracing::warn!("{name}: removing VIP {} from {ifname}: {e}", vip.addr)
                        }
                    }
                }
                self.trace.event(
                    t,
                    "vip_del",
                    json!({"instance": name, "interface": ifname, "addr": vip.addr,
                           "prefix_len": vip.prefix_len}),
                );
            }
            Output::Announce {
                interface, addr, ..
            } => {
                let ifname = interface.to_string();
                let info = self.ifaces.get(&ifname);
                let frame = match (info.and_then(|i| i.mac), addr) {
                    (Some(mac), IpAddr::V4(a)) => Some(garp::arp_frame(mac, a)),
                    (Some(mac), IpAddr::V6(a)) => {
                        Some(garp::na_frame(mac, a, garp::ipv6_forwarding(&ifname)))
                    }
                    (None, _) => None,
                };
                match (frame, info) {
                    (Some(f), Some(i)) => {
                        if let Err(e) = self.announcer.send(i.index, &f) {
                            tracing::warn!("{name}: announcing {addr} on {ifname}: {e}");
                        } else {
                            tracing::debug!("{name}: announced {addr} on {ifname}");
                        }
                    }
                    _ => tracing::debug!("{name}: no MAC on {ifname}: {addr} not announced"),
                }
                self.trace.event(
                    t,
                    "announce",
                    json!({"instance": name, "interface": ifname, "addr": addr}),
                );
            }
            Output::StateChanged(sc) => self.on_state(unit, &name, sc, t),
            // Handled by `stage`.
            Output::Transmit(_) | Output::RunCheck { .. } => {}
        }
    }

    fn run_check(&mut self, unit: usize, script: ScriptId, seq: u64, timeout: Duration) {
        let u = &self.units[unit];
        let Some(cfg) = u.config.scripts.get(script.0 as usize) else {
            return;
        };
        let tx = self.check_tx.clone();
        let unit_id = u.id;
        let done = move |outcome| {
            let _ = tx.send(CheckDone {
                unit: unit_id,
                script,
                seq,
                outcome,
            });
        };
        let user_spec = cfg.user.as_deref().or(self.global.script_user.as_deref());
        let run_as = match scripts::resolve_user(user_spec) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("vrrp_script {}: {e}: counted as failing", cfg.name);
                done(CheckOutcome::Fail);
                return;
            }
        };
        if self.global.enable_script_security {
            if let Some(why) = scripts::insecure_reason(&cfg.script) {
                tracing::error!(
                    "vrrp_script {}: refused by enable_script_security ({why}): counted as failing",
                    cfg.name
                );
                done(CheckOutcome::Fail);
                return;
            }
        }
        let cmdline = cfg.script.clone();
        let name = cfg.name.clone();
        tokio::spawn(async move {
            let outcome = scripts::run_check(&cmdline, run_as, timeout).await;
            tracing::debug!("vrrp_script {name}: {outcome:?}");
            done(outcome);
        });
    }

    fn on_state(&mut self, unit: usize, name: &str, sc: StateChange, t: f64) {
        let reason = reason_text(&sc.reason);
        tracing::info!(
            "{name}: {} -> {} ({reason}), priority {}",
            sc.from.as_str(),
            sc.to.as_str(),
            sc.priority
        );
        self.trace.event(
            t,
            "state",
            json!({"instance": name, "vrid": self.units[unit].instance().vrid,
                   "from": sc.from.as_str(), "to": sc.to.as_str(),
                   "reason": sc.reason, "priority": sc.priority}),
        );
        let notify = &self.units[unit].instance().notify;
        let specific = match sc.to {
            State::Master => notify.master.clone(),
            State::Backup => notify.backup.clone(),
            State::Fault => notify.fault.clone(),
            State::Initialize => notify.stop.clone(),
        };
        let generic = notify.generic.clone();
        let run_as = scripts::resolve_user(self.global.script_user.as_deref())
            .ok()
            .flatten();
        let state_word = match sc.to {
            State::Initialize => "STOP",
            s => s.as_str(),
        };
        if let Some(q) = &self.notify_tx {
            if let Some(cmd) = specific {
                let _ = q.send(scripts::Notify {
                    words: scripts::split_words(&cmd),
                    run_as,
                });
            }
            if let Some(cmd) = generic {
                let mut words = scripts::split_words(&cmd);
                words.extend([
                    "INSTANCE".to_string(),
                    name.to_string(),
                    state_word.to_string(),
                    sc.priority.to_string(),
                ]);
                let _ = q.send(scripts::Notify { words, run_as });
            }
        }
        if self.opts.status_file.is_some() {
            self.write_status();
        }
    }

    fn status(&self) -> Value {
        let mut instances = Vec::new();
        let mut scripts: Vec<Value> = Vec::new();
        let mut unmatched =
            serde_json::to_value(self.catchall.snapshot().unmatched).unwrap_or(Value::Null);
        for u in &self.units {
            let snap = u.engine.snapshot();
            for i in &snap.instances {
                instances.push(serde_json::to_value(i).unwrap_or(Value::Null));
            }
            for s in &snap.scripts {
                if !scripts.iter().any(|v| v["name"] == json!(s.name)) {
                    scripts.push(serde_json::to_value(s).unwrap_or(Value::Null));
                }
            }
            if let Ok(v) = serde_json::to_value(snap.unmatched) {
                status::add_counters(&mut unmatched, &v);
            }
        }
        let vips: Vec<Value> = self
            .held
            .iter()
            .map(|((i, a), v)| json!({"interface": i, "addr": a, "prefix_len": v.prefix_len}))
            .collect();
        json!({
            "node": self.node,
            "t": self.secs(self.now()),
            "pid": std::process::id(),
            "config": self.opts.file,
            "instances": instances,
            "scripts": scripts,
            "unmatched": unmatched,
            "vips": vips,
        })
    }

    fn write_status(&self) {
        let path = self
            .opts
            .status_file
            .clone()
            .unwrap_or_else(|| PathBuf::from("/tmp/vrrpd-real.json"));
        match status::write(&path, &self.status()) {
            Ok(()) => tracing::debug!("status written to {}", path.display()),
            Err(e) => tracing::warn!("cannot write status to {}: {e}", path.display()),
        }
    }

    async fn reload(&mut self) {
        tracing::info!("SIGHUP: reloading {}", self.opts.file.display());
        let kopts = keepalived::Options {
            strict: self.opts.strict,
        };
        let config = match keepalived::load(&self.opts.file, &FsLoader, &kopts) {
            Ok(l) => l.config,
            Err(f) => {
                for x in &f.0 {
                    tracing::error!("reload: {x}");
                }
                tracing::error!("reload: configuration has errors, keeping the running one");
                return;
            }
        };
        let now = self.now();
        let mut wanted = split(&config);
        let mut kept = Vec::new();
        let old = std::mem::take(&mut self.units);
        let mut stopping = Vec::new();
        for u in old {
            if let Some(p) = wanted.iter().position(|c| *c == u.config) {
                wanted.remove(p);
                tracing::info!("reload: {} unchanged, keeps its state", u.instance().name);
                kept.push(u);
            } else {
                tracing::info!(
                    "reload: {} changed or removed: stopping it",
                    u.instance().name
                );
                stopping.push(u);
            }
        }
        // Stop the old ones first (priority 0, VIPs released), then start the new ones.
        self.units = stopping;
        self.reindex();
        for u in &mut self.units {
            u.engine.handle(now, Input::Shutdown);
        }
        self.drain().await;
        self.units = kept;
        self.global = config.global.clone();
        for c in wanted {
            tracing::info!("reload: starting {}", c.instances[0].name);
            if let Err(e) = self.add_unit(c, now) {
                tracing::error!("reload: {e}");
            }
        }
        self.reindex();
        let names = self.all_interfaces();
        for n in names {
            let known = self.ifaces.get(&n).cloned();
            match known {
                Some(info) if info.index != 0 => self.ensure_sockets(&n, info.index),
                _ => self.refresh(&n).await,
            }
        }
    }

    async fn shutdown(&mut self) {
        tracing::info!("shutting down: releasing every instance");
        let now = self.now();
        for u in &mut self.units {
            u.engine.handle(now, Input::Shutdown);
        }
        self.mark_all_dirty();
        self.drain().await;
        let left: Vec<(String, IpAddr)> = self.held.keys().cloned().collect();
        for (ifname, a) in left {
            if let Some(i) = self.ifaces.get(&ifname) {
                let _ = netlink::del_addr(&self.handle, i.index, a).await;
            }
        }
        self.notify_tx = None;
        if let Some(task) = self.notify_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        tracing::info!("stopped");
    }
}

fn update_of(info: &netlink::IfInfo) -> InterfaceUpdate {
    InterfaceUpdate {
        name: info.name.clone(),
        up: info.up && info.index != 0,
        ipv4: info.ipv4,
        ipv6_link_local: info.ipv6_ll,
    }
}

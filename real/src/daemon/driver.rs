//! The event loop: one engine, one timer, one drain.
//!
//! Every wake-up is one or more engine mutations (a batch of received packets, the timer, a
//! check result, a netlink event, SIGHUP, a control command), then one drain of the engine's
//! outputs in its order, then the timer re-armed at [`Engine::poll_timeout`] (unless it is
//! already armed earlier: see [`timer::Timer::arm`]).

use super::control::Control;
use super::trace::Trace;
use super::Options;
use crate::os::files::FileWatch;
use crate::os::netlink::IfInfo;
use crate::os::socket::{RxBatch, TxBatch, VrrpSocket};
use crate::os::{garp, scripts, timer};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use vrrp_engine::config::{Config, VirtualAddress};
use vrrp_engine::{CheckOutcome, Engine, Family, Input, Instant, Output, RxPacket, ScriptId};

/// Lateness past which timers are taken as missed rather than late: see
/// [`Daemon::run_timers_until`]. Well above a late wake-up on a busy VM (0.1-20 ms measured),
/// well below a freeze anyone would notice.
const STALL: Duration = Duration::from_millis(50);

/// One raw VRRP socket and its queue of adverts to send.
pub(super) struct SockEntry {
    pub ifname: String,
    pub family: Family,
    pub sock: VrrpSocket,
    pub tx: TxBatch,
    /// Its priority-0 doorbell, opened the first time the socket is parked.
    pub bell: Option<crate::os::doorbell::Doorbell>,
}

/// A finished check, reported back to the engine.
pub(super) struct CheckDone {
    pub script: ScriptId,
    pub seq: u64,
    pub outcome: CheckOutcome,
    /// How the script ended, for the log line of a result change.
    pub exit: scripts::ScriptExit,
}

/// Netlink multicast messages (links and addresses).
pub(super) type NetlinkEvents = futures::channel::mpsc::UnboundedReceiver<(
    rtnetlink::packet_core::NetlinkMessage<rtnetlink::packet_route::RouteNetlinkMessage>,
    rtnetlink::sys::SocketAddr,
)>;

/// The daemon's state: the engine and the OS resources that carry out its outputs.
pub(super) struct Daemon {
    pub opts: Options,
    /// `CLOCK_MONOTONIC` when the protocol starts (after set-up and the sweep): engine time
    /// zero.
    pub origin: Duration,
    pub node: String,
    pub handle: rtnetlink::Handle,
    pub engine: Engine,
    /// The configuration the engine runs (for interface names and VIP devices).
    pub config: Config,
    pub ifaces: BTreeMap<String, IfInfo>,
    pub socks: Vec<SockEntry>,
    pub rxbuf: RxBatch,
    pub timer: timer::Timer,
    /// The deadline the timer was armed a margin before, with that margin
    /// ([`Daemon::arm_timer`]).
    pub spin_to: Option<(Duration, Duration)>,
    /// Receive coalescing ([`super::coalesce`]): the `CLOCK_MONOTONIC` instant until which the
    /// VRRP sockets are parked and read on the timer.
    pub rx_hold: Option<Duration>,
    /// When the last VRRP socket wake-up came (`CLOCK_MONOTONIC`).
    pub last_rx_wake: Duration,
    /// Every configured VIP address: our own address events need no interface re-read.
    pub vip_set: BTreeSet<IpAddr>,
    pub check_tx: mpsc::UnboundedSender<CheckDone>,
    pub check_rx: mpsc::UnboundedReceiver<CheckDone>,
    /// Finished real-server probes.
    pub probe_tx: mpsc::UnboundedSender<super::lvs::ProbeDone>,
    pub probe_rx: mpsc::UnboundedReceiver<super::lvs::ProbeDone>,
    /// IPVS over generic netlink, when virtual servers are configured.
    pub ipvs: Option<crate::os::ipvs::Ipvs>,
    /// A fatal error (IPVS gone at a reload): shut down and exit 1.
    pub fatal: bool,
    pub notify_tx: Option<mpsc::UnboundedSender<scripts::Notify>>,
    pub notify_task: Option<tokio::task::JoinHandle<()>>,
    pub nl_events: NetlinkEvents,
    pub announcer: garp::Announcer,
    pub trace: Trace,
    pub control: Option<Control>,
    /// VIPs we installed: (interface, address) -> the VIP.
    pub held: BTreeMap<(String, IpAddr), VirtualAddress>,
    /// Control commands scheduled with `at`, in time order.
    pub scheduled: Vec<(Instant, super::control::Action)>,
    /// inotify on the folders of tracked files (`None` if inotify is unavailable).
    pub file_watch: Option<FileWatch>,
    /// Mails under way ([`super::alerts`]).
    pub mails: tokio::task::JoinSet<()>,
    /// The tracked files: engine id, name, absolute path.
    pub tracked_files: Vec<(vrrp_engine::io::TrackFileId, String, std::path::PathBuf)>,
    /// Accept_Mode's nftables tables ([`super::accept`]).
    pub firewall: super::accept::Firewall,
    /// Our `use_vmac` macvlans ([`super::vmac`]).
    pub vmacs: super::vmac::Vmacs,
    /// The tracked processes' counts and their source (`None` when none is tracked).
    pub proc_watch: Option<super::track_procs::ProcWatch>,
    /// The virtual routes and rules we installed ([`super::routes`]).
    pub installed: super::routes::Installed,
    /// systemd's notification socket ([`super::systemd`]).
    pub systemd: super::systemd::Notifier,
    /// `--metrics`: samples published for the HTTP thread ([`super::metrics`]).
    pub metrics: Option<super::metrics::Metrics>,
    /// Discarded packets summarised in the log ([`super::discards`]).
    pub discards: super::discards::DiscardLog,
    /// How each script's last run ended (the log line of a result change says it).
    pub script_exits: BTreeMap<ScriptId, scripts::ScriptExit>,
    /// Each `unicast_src_ip` as last reported to the engine: on the host or not.
    pub sources_present: BTreeMap<std::net::IpAddr, bool>,
    /// Adverts queued or just sent whose trace and log lines are written after the flush
    /// (only with `--trace` or `-DD`), and whether each was queued.
    pub sent: Vec<(vrrp_engine::Transmit, bool)>,
}

impl Daemon {
    /// Opens netlink, the timer, the trace and the control socket, removes VIPs a previous
    /// run left, builds the engine and reports every interface to it.
    pub async fn start(
        config: Config,
        opts: Options,
        systemd: super::systemd::Notifier,
    ) -> Result<Daemon, String> {
        let origin = timer::monotonic();
        let opts_interval = opts.discard_log_interval;
        let (conn, handle, _) = rtnetlink::new_connection().map_err(|e| format!("netlink: {e}"))?;
        tokio::spawn(conn);
        let links = crate::os::netlink::all_links(&handle)
            .await
            .map_err(|e| format!("netlink: {e}"))?;
        let missing = super::host_check::missing_interfaces(&config, &links);
        for m in &missing {
            tracing::warn!("{m}");
        }
        if !missing.is_empty() {
            return Err(super::host_check::NON_EXISTENT.to_string());
        }
        use rtnetlink::MulticastGroup as G;
        let (ev_conn, _ev_handle, nl_events) =
            // Routes and rules: deletions of ours behind our back ([`super::routes`]).
            rtnetlink::new_multicast_connection(&[
                G::Link,
                G::Ipv4Ifaddr,
                G::Ipv6Ifaddr,
                G::Ipv4Route,
                G::Ipv6Route,
                G::Ipv4Rule,
                G::Ipv6Rule,
            ])
                .map_err(|e| format!("netlink events: {e}"))?;
        tokio::spawn(ev_conn);
        let node = config.global.router_id.clone().unwrap_or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "vrrpd-real".into())
        });
        let trace = Trace::open(opts.trace_file.as_deref(), &node)
            .map_err(|e| format!("cannot open trace file: {e}"))?;
        let control = match &opts.control_socket {
            Some(p) => {
                Some(Control::bind(p).map_err(|e| format!("control socket {}: {e}", p.display()))?)
            }
            None => None,
        };
        let timer = timer::Timer::new().map_err(|e| format!("timerfd: {e}"))?;
        let (check_tx, check_rx) = mpsc::unbounded_channel();
        let (probe_tx, probe_rx) = mpsc::unbounded_channel();
        let ipvs = super::lvs::open_ipvs(&config)?;
        let metrics = match opts.metrics {
            Some(addr) => Some(super::metrics::start(addr)?),
            None => None,
        };
        let (notify_tx, notify_task) = scripts::notify_queue();
        // keepalived spreads its checkers' first runs with random(); so do we.
        let seed = super::lvs::random_seed();
        let engine =
            Engine::with_seed(config.clone(), Instant::ZERO, seed).map_err(|e| e.to_string())?;
        let mut d = Daemon {
            opts,
            origin,
            node,
            handle,
            engine,
            vip_set: super::interfaces::vip_addrs(&config).collect(),
            firewall: super::accept::Firewall::new(&config),
            config,
            ifaces: BTreeMap::new(),
            socks: Vec::new(),
            rxbuf: RxBatch::new(),
            timer,
            spin_to: None,
            rx_hold: None,
            last_rx_wake: Duration::ZERO,
            check_tx,
            check_rx,
            probe_tx,
            probe_rx,
            ipvs,
            fatal: false,
            notify_tx: Some(notify_tx),
            notify_task: Some(notify_task),
            nl_events,
            announcer: garp::Announcer::open(),
            trace,
            control,
            held: BTreeMap::new(),
            file_watch: FileWatch::new()
                .map_err(|e| tracing::warn!("inotify: {e}: tracked files are read only at start"))
                .ok(),
            tracked_files: Vec::new(),
            proc_watch: None,
            mails: tokio::task::JoinSet::new(),
            scheduled: Vec::new(),
            vmacs: Default::default(),
            installed: Default::default(),
            systemd,
            metrics,
            discards: super::discards::DiscardLog::new(opts_interval),
            script_exits: BTreeMap::new(),
            sources_present: BTreeMap::new(),
            sent: Vec::new(),
        };
        tracing::info!(
            "Configuration file {}: {} instances, {} virtual servers, node {}",
            d.opts.file.display(),
            d.config.instances.len(),
            d.config.virtual_servers.len(),
            d.node
        );
        d.sweep().await;
        d.sweep_firewall().await;
        d.vmac_startup().await;
        // Engine time zero is when the daemon starts running the protocol: now, after the
        // set-up and the sweep of stale VIPs above (milliseconds that the simulator's model
        // of a daemon start does not have), or the `--start-at` instant.
        d.origin = d.opts.start_at.unwrap_or_else(timer::monotonic);
        // File values first, so instances start with the priority they give. Inputs before
        // the origin are at engine time zero (`now` saturates).
        d.setup_track_files();
        d.setup_track_procs();
        d.check_sources().await;
        for name in d.interface_names() {
            d.refresh(&name).await;
        }
        if let Some(at) = d.opts.start_at {
            let now = timer::monotonic();
            if at >= now {
                d.timer.arm(Some(at.saturating_sub(d.opts.wake_early)));
                if let Err(e) = d.timer.wait().await {
                    tracing::warn!("timer: {e}");
                }
                timer::spin_until(at);
            } else {
                tracing::warn!(
                    "--start-at was {:.3} ms ago when the set-up ended: starting late",
                    (now - at).as_secs_f64() * 1e3
                );
            }
        }
        Ok(d)
    }

    /// Engine time now: `CLOCK_MONOTONIC` since start.
    pub fn now(&self) -> Instant {
        Instant::from_offset(timer::monotonic().saturating_sub(self.origin))
    }

    /// Seconds since start, for traces.
    pub fn secs(&self, at: Instant) -> f64 {
        at.offset().as_secs_f64()
    }

    /// Runs until SIGTERM or SIGINT, then shuts down.
    pub async fn run(&mut self) -> ExitCode {
        let sig = |k| signal(k).map_err(|e| tracing::error!("signal handler: {e}"));
        let (Ok(mut term), Ok(mut int), Ok(mut hup), Ok(mut usr1)) = (
            sig(SignalKind::terminate()),
            sig(SignalKind::interrupt()),
            sig(SignalKind::hangup()),
            sig(SignalKind::user_defined1()),
        ) else {
            return ExitCode::from(1);
        };
        // The instant a `stop` control command named; otherwise the shutdown is now.
        let mut stop_at = None;
        // The timer is a timerfd with nanosecond resolution: ask the kernel for little slack.
        // SAFETY: prctl(PR_SET_TIMERSLACK) takes a plain integer.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0) };
        // The first drain starts the protocol (every instance's first state change): the
        // configuration is applied, tell systemd.
        self.drain().await;
        self.update_systemd_status();
        self.systemd.ready();
        tracing::info!("Startup complete");
        // Pings from the loop itself: a loop stuck anywhere stops them.
        let mut watchdog = self.systemd.watchdog_period().map(|p| {
            let mut i = tokio::time::interval(p);
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            i
        });
        // Discards held back by the summary interval are logged when it ends.
        let mut discard_tick = tokio::time::interval(self.discards.interval());
        discard_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            self.drain().await;
            self.publish_metrics();
            self.keep_or_end_rx_hold();
            self.arm_timer();
            let socks = &self.socks;
            let rxbuf = &mut self.rxbuf;
            let readable = std::future::poll_fn(|cx| {
                for (n, s) in socks.iter().enumerate() {
                    if let std::task::Poll::Ready(r) = s.sock.poll_recv_batch(cx, rxbuf) {
                        return std::task::Poll::Ready((n, false, r));
                    }
                    // Parked sockets (receive coalescing): only their doorbell wakes us.
                    if let Some(bell) = s.bell.as_ref().filter(|_| s.sock.is_parked()) {
                        if let std::task::Poll::Ready(r) = bell.poll_rung(cx) {
                            return std::task::Poll::Ready((n, true, r));
                        }
                    }
                }
                std::task::Poll::Pending
            });
            let control = self.control.as_ref();
            let command = async {
                match control {
                    Some(c) => c.recv().await,
                    None => std::future::pending().await,
                }
            };
            let watch = self.file_watch.as_ref();
            let file_events = async {
                match watch {
                    Some(w) => w.next().await,
                    None => std::future::pending().await,
                }
            };
            let procw = self.proc_watch.as_mut();
            let proc_steps = async {
                match procw {
                    Some(w) => w.next().await,
                    None => std::future::pending().await,
                }
            };
            let ping = async {
                match watchdog.as_mut() {
                    Some(i) => i.tick().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = term.recv() => {
                    self.trace_control("stop", "SIGTERM", None);
                    break;
                }
                _ = int.recv() => {
                    self.trace_control("stop", "SIGINT", None);
                    break;
                }
                r = self.timer.wait() => {
                    if let Err(e) = r {
                        tracing::warn!("timer: {e}");
                    }
                    self.wait_out_margin();
                    let read = self.read_queued();
                    let now = self.now();
                    stop_at = self.run_scheduled(now).await;
                    if stop_at.is_some() {
                        break;
                    }
                    self.run_timers_until(now);
                    self.rx_hold_after_timer(read);
                }
                (n, bell, r) = readable => match r {
                    Ok(()) if bell => {
                        // A priority-0 advert among the queued ones: read them all now.
                        self.read_queued();
                        let now = self.now();
                        self.run_timers_until(now);
                    }
                    Ok(()) => {
                        self.on_packets(n);
                        self.log_discards();
                        self.rx_hold_after_wake();
                    }
                    Err(e) if bell => {
                        tracing::warn!("doorbell on {}: {e}", self.socks[n].ifname);
                        self.end_rx_hold();
                        self.socks[n].bell = None;
                    }
                    Err(e) => {
                        tracing::warn!("receive on {}: {e}", self.socks[n].ifname);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(c) = self.check_rx.recv() => {
                    let now = self.timers_then_now();
                    self.script_exits.insert(c.script, c.exit);
                    self.engine.handle(now, Input::CheckResult {
                        script: c.script,
                        seq: c.seq,
                        outcome: c.outcome,
                    });
                    self.touch_metrics();
                }
                Some(p) = self.probe_rx.recv() => {
                    let now = self.timers_then_now();
                    self.engine.handle(now, Input::ProbeResult {
                        checker: p.checker,
                        seq: p.seq,
                        result: p.result,
                    });
                }
                Some((msg, _)) = self.nl_events.next() => self.on_netlink(msg).await,
                _ = hup.recv() => {
                    self.trace_control("reload", "SIGHUP", None);
                    let now = self.timers_then_now();
                    self.reload(now, "SIGHUP").await;
                }
                _ = usr1.recv() => self.write_status(),
                cmd = command => {
                    stop_at = self.on_command(cmd).await;
                    if stop_at.is_some() {
                        break;
                    }
                }
                evs = file_events => self.on_file_events(evs),
                steps = proc_steps => self.report_steps(steps),
                _ = ping => self.systemd.watchdog(),
                _ = discard_tick.tick() => self.log_discards(),
            }
            if self.fatal {
                break;
            }
        }
        let at = match stop_at {
            Some(at) => at,
            None => self.timers_then_now(),
        };
        self.shutdown(at).await;
        if self.fatal {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }

    /// Arms the timer for the next deadline (the engine's or a scheduled command's), a
    /// margin before it when the deadline is to be met on time: `--wake-early` before every
    /// deadline, `--takeover-wake-early` before a Backup's Master_Down_Timer
    /// ([`Engine::poll_timeout_is_takeover`]). Waking a vCPU idle since the last advert
    /// takes the hypervisor 0.3-2 ms: measured, that lateness is the whole tail of the
    /// takeover overhead (BENCHMARKS.md, "Tail latency and cost").
    fn arm_timer(&mut self) {
        let engine = self.engine.poll_timeout();
        let next = match (engine, self.scheduled.first()) {
            (Some(e), Some((s, _))) => e.min(*s),
            (e, s) => match e.or(s.map(|s| s.0)) {
                Some(next) => next,
                None => {
                    self.spin_to = None;
                    self.timer.arm(self.rx_hold);
                    return;
                }
            },
        };
        let takeover = engine == Some(next) && self.engine.poll_timeout_is_takeover();
        let margin = if takeover {
            self.opts.wake_early.max(self.opts.takeover_wake_early)
        } else {
            self.opts.wake_early
        };
        let at = self.origin + next.offset();
        self.spin_to = (!margin.is_zero()).then_some((at, margin));
        let fire = at.saturating_sub(margin);
        self.timer
            .arm(Some(self.rx_hold.map_or(fire, |h| h.min(fire))));
    }

    /// After a timer wake-up: waits on the CPU for the deadline [`Daemon::arm_timer`] woke
    /// early for, when it is within its margin. (A wake-up for a deadline since moved later,
    /// as a Backup's is by every advert, waits for nothing: the loop re-arms.)
    fn wait_out_margin(&mut self) {
        if let Some((at, margin)) = self.spin_to.take() {
            if at.saturating_sub(timer::monotonic()) <= margin {
                timer::spin_until(at);
            }
        }
    }

    /// Runs every engine timer due by `t`, each at its own due time: the engine's timeline
    /// follows its deadlines, not the instants the kernel and the scheduler wake us (0.1-2 ms
    /// late on a VM after a second idle), so that lateness neither moves a decision's time
    /// nor carries into the next advert or Master_Down deadline. (Packets still leave when
    /// they leave: the trace times a `tx` when it is sent.) Called before every other input,
    /// as the engine's contract asks: timers due before an input run before it.
    ///
    /// A deadline more than [`STALL`] past is not lateness but a process that did not run
    /// (frozen by SIGSTOP, a paused VM, starved): everything overdue then runs once, at `t`,
    /// and re-arms from there, as keepalived 2.2.7's timers do (`vrrp_init_instance_sands`
    /// re-arms from `time_now`). Run at their own due times, a Master frozen for 1 s at 100 ms
    /// adverts sent the 10 adverts it missed in one burst on waking.
    pub(super) fn run_timers_until(&mut self, t: Instant) {
        let mut last = None;
        while let Some(due) = self.engine.poll_timeout().filter(|d| *d <= t) {
            if last == Some(due) {
                // A timer re-armed for the instant just run: the next loop turn runs it.
                break;
            }
            if t.saturating_duration_since(due) > STALL {
                self.engine.handle_timeout(t);
                break;
            }
            self.engine.handle_timeout(due);
            last = Some(due);
        }
    }

    /// Hands the engine the packets already queued on the VRRP sockets, each at its arrival
    /// time, before the timers that woke us run: a packet that arrived before a deadline
    /// counts before it. A Backup frozen (SIGSTOP, a paused VM) wakes with its Master's
    /// adverts queued and its Master_Down timer overdue; it must read them rather than take
    /// over (keepalived 2.2.7's read thread, woken by both, reads first). Only what arrived
    /// before we woke: a flood arriving meanwhile cannot hold the timers back (each packet
    /// runs the timers due before it anyway). Returns how many adverts it handed in: receive
    /// coalescing reads the sockets this way, on the timer ([`super::coalesce`]).
    fn read_queued(&mut self) -> usize {
        // A cap beyond any receive buffer's worth of adverts, in case stamps are missing.
        const MAX_BATCHES: usize = 1024;
        let woke = timer::realtime();
        let mut read = 0;
        for n in 0..self.socks.len() {
            for _ in 0..MAX_BATCHES {
                match self.socks[n].sock.try_recv_batch(&mut self.rxbuf) {
                    Ok(true) => {
                        let caught_up = (0..self.rxbuf.len())
                            .any(|k| self.rxbuf.get(k).0.stamp.is_none_or(|s| s >= woke));
                        read += self.rxbuf.len();
                        self.on_packets(n);
                        if caught_up {
                            break;
                        }
                    }
                    _ => break,
                }
            }
        }
        self.log_discards();
        read
    }

    /// The discard summary lines due now ([`super::discards`]).
    fn log_discards(&mut self) {
        for line in self.discards.check(&self.engine, std::time::Instant::now()) {
            tracing::info!("{line}");
        }
    }

    /// Engine time now, after running the timers due by now: for an input that happens now.
    pub(super) fn timers_then_now(&mut self) -> Instant {
        let now = self.now();
        self.run_timers_until(now);
        now
    }

    /// Engine time of a packet the kernel received at `stamp` (`CLOCK_REALTIME`), given the
    /// engine time `now` and `CLOCK_REALTIME` now: its age subtracted from now. Without a
    /// stamp, or if the realtime clock was stepped since, the packet is taken as arriving now.
    fn arrival(now: Instant, real_now: Duration, stamp: Option<Duration>) -> Instant {
        match stamp {
            Some(s) if s <= real_now => {
                Instant::from_offset(now.offset().saturating_sub(real_now - s))
            }
            _ => now,
        }
    }

    /// Hands every packet of the last batch read on socket `s` to the engine, each at its
    /// arrival time, after the timers due before it.
    fn on_packets(&mut self, s: usize) {
        let now = self.now();
        let real_now = timer::realtime();
        for k in 0..self.rxbuf.len() {
            let at = Self::arrival(now, real_now, self.rxbuf.get(k).0.stamp);
            self.run_timers_until(at);
            let entry = &self.socks[s];
            let (m, payload) = self.rxbuf.get(k);
            self.trace.rx(self.secs(at), &entry.ifname, &m, payload);
            self.engine.handle(
                at,
                Input::Packet(RxPacket {
                    interface: &entry.ifname,
                    src: m.src,
                    dst: m.dst,
                    ttl: m.ttl,
                    payload,
                }),
            );
        }
    }

    /// Carries out every engine output in the engine's order. Consecutive adverts are queued
    /// per socket and sent with one `sendmmsg` each before any other output is carried out,
    /// so batching never reorders.
    pub async fn drain(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::Transmit(tx) => self.queue_advert(tx),
                other => {
                    self.flush_adverts();
                    self.apply(other).await;
                }
            }
        }
        self.flush_adverts();
    }

    /// Sends every queued advert, then writes their trace and log lines.
    fn flush_adverts(&mut self) {
        self.send_queued();
        if !self.sent.is_empty() {
            self.log_sent();
        }
    }

    /// One `sendmmsg` per socket with adverts queued.
    fn send_queued(&mut self) {
        for s in &mut self.socks {
            if s.tx.is_empty() {
                continue;
            }
            let engine = &self.engine;
            let ifname = &s.ifname;
            s.sock.flush(&mut s.tx, |tag, e| {
                let name = engine
                    .instance_config(vrrp_engine::InstanceId(tag))
                    .map(|c| c.name.as_str())
                    .unwrap_or("?");
                tracing::warn!("{name}: sending advert on {ifname}: {e}");
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Daemon;
    use std::time::Duration;
    use vrrp_engine::Instant;

    #[test]
    fn a_packet_is_timed_by_its_kernel_stamp() {
        let now = Instant::from_offset(Duration::from_millis(5000));
        let real = Duration::from_secs(1_700_000_000);
        let ms = |m| Instant::from_offset(Duration::from_millis(m));
        // Received 3 ms before the read: 3 ms before now.
        let stamp = Some(real - Duration::from_millis(3));
        assert_eq!(Daemon::arrival(now, real, stamp), ms(4997));
        // No stamp, or a realtime clock stepped back since: now.
        assert_eq!(Daemon::arrival(now, real, None), now);
        let future = Some(real + Duration::from_millis(1));
        assert_eq!(Daemon::arrival(now, real, future), now);
        // Older than the origin: time zero.
        let old = Some(real - Duration::from_secs(60));
        assert_eq!(Daemon::arrival(now, real, old), Instant::ZERO);
    }
}

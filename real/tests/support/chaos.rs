//! Chaos helpers: a seeded RNG whose seed is printed (replay with `CHAOS_SEED`), a cluster of
//! `vrrpd-real` (VRRPv3, 100 ms adverts) on a namespace LAN that can be killed, frozen, cut
//! off and restarted, the "exactly one Master, no stale VIP" check, and `/proc` figures.

use super::*;
use std::time::Instant as StdInstant;

/// Scheduling slack allowed on top of a Master_Down_Interval before the LAN must have exactly
/// one Master: a debug build on a 2-core machine shared by four tests, plus the 5-20 ms it
/// takes to poll three namespaces' addresses.
pub const SLACK: Duration = Duration::from_millis(300);

/// How long the single Master must stay alone once found (three 100 ms adverts).
const STEADY: Duration = Duration::from_millis(300);

/// A splitmix64 generator: small, deterministic, seeded per run.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `CHAOS_SEED` if set, else from the clock; prints the seed and how to
    /// replay it.
    pub fn for_test(test: &str) -> Rng {
        let seed = std::env::var("CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("{test}: CHAOS_SEED={seed} (replay: CHAOS_SEED={seed} cargo nextest run -p vrrp-real -E 'test({test})')");
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Shuffles `items` (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }

    /// A duration in `lo_ms..hi_ms` milliseconds.
    pub fn millis(&mut self, lo_ms: u64, hi_ms: u64) -> Duration {
        Duration::from_millis(lo_ms + self.below(hi_ms - lo_ms))
    }
}

/// Master_Down_Interval of a Backup of priority `prio` at `adv` adverts (RFC 5798 §6.1:
/// 3 x Master_Adver_Interval + Skew_Time, Skew_Time = ((256 - Priority) x
/// Master_Adver_Interval) / 256; RFC 3768's v2 formula is the same at 1 s).
pub fn mdi(prio: u8, adv: Duration) -> Duration {
    3 * adv + adv * (256 - prio as u32) / 256
}

/// The protocol settings of a [`Cluster`]'s instance.
#[derive(Clone, Copy, Debug)]
pub struct Proto {
    /// VRRP version, 2 or 3.
    pub version: u8,
    /// Advertisement interval.
    pub advert: Duration,
    /// VRRPv2 PASS authentication.
    pub auth: Option<&'static str>,
}

impl Proto {
    /// VRRPv3, 100 ms adverts: the chaos default, short Master_Down_Intervals.
    pub const V3_100MS: Proto = Proto {
        version: 3,
        advert: Duration::from_millis(100),
        auth: None,
    };
}

/// File descriptors, resident memory and CPU time of a process, from `/proc`.
#[derive(Clone, Copy, Debug)]
pub struct ProcFigures {
    /// Entries in `/proc/PID/fd`.
    pub fds: usize,
    /// `VmRSS` of `/proc/PID/status`, KiB.
    pub rss_kib: u64,
    /// utime + stime of `/proc/PID/stat`, clock ticks.
    pub cpu_ticks: u64,
}

/// Reads [`ProcFigures`] of `pid`.
pub fn proc_figures(pid: u32) -> ProcFigures {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or_else(|e| panic!("/proc/{pid}/fd: {e}"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name in parentheses: state is field 3, utime 14, stime 15.
    let rest: Vec<&str> = stat[stat.rfind(')').expect("stat") + 1..]
        .split_whitespace()
        .collect();
    let field = |n: usize| rest[n - 3].parse::<u64>().expect("stat field");
    ProcFigures {
        fds,
        rss_kib,
        cpu_ticks: field(14) + field(15),
    }
}

/// Clock ticks per second (`/proc/PID/stat` CPU times).
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as u64 }
}

/// Whether `/proc/net/fib_trie` text has a `host LOCAL` route for `addr` (an address of the
/// namespace on an interface that is up): the leaf line `|-- ADDR` is followed by its routes.
pub fn local_in_fib_trie(trie: &str, addr: &str) -> bool {
    let mut leaf = "";
    for line in trie.lines() {
        let l = line.trim_start();
        if let Some(a) = l.strip_prefix("|-- ") {
            leaf = a.trim();
        } else if l.starts_with("+--") {
            leaf = "";
        } else if leaf == addr && l.contains("host LOCAL") {
            return true;
        }
    }
    false
}

/// One daemon of a [`Cluster`].
pub struct Node {
    /// Its priority.
    pub prio: u8,
    /// The current run's tag (files `DIR/TAG.*`), `nI` then `nIrK` after restarts.
    pub tag: String,
    /// Its pid, `None` while killed.
    pub pid: Option<u32>,
    /// Frozen with SIGSTOP.
    pub stopped: bool,
    /// Its eth0 is down.
    pub link_down: bool,
    runs: u32,
}

impl Node {
    /// Whether it can be Master now (running, not frozen, link up).
    pub fn eligible(&self) -> bool {
        self.pid.is_some() && !self.stopped && !self.link_down
    }
}

/// `vrrpd-real` on hosts `0..nodes.len()` of a LAN (more hosts for injectors and captures),
/// one VRRPv3 instance (VRID 51, 100 ms adverts, one VIP).
pub struct Cluster {
    /// The LAN.
    pub lab: Lab,
    /// Configs, logs, status and traces.
    pub dir: PathBuf,
    /// The VIP.
    pub vip: String,
    /// The daemons, host `i` for node `i`.
    pub nodes: Vec<Node>,
    /// Version, interval, authentication.
    pub proto: Proto,
    /// Whether the daemons write a `--trace` (every packet, synchronously: off for floods,
    /// as deployed daemons run).
    pub traced: bool,
}

impl Cluster {
    /// Starts one daemon per priority (plus `spare` hosts with none; VRRPv3 at 100 ms) and
    /// waits for the highest to be the only Master.
    pub fn start(test: &str, prios: &[u8], spare: usize) -> Cluster {
        Cluster::start_with(test, prios, spare, Proto::V3_100MS)
    }

    /// [`Cluster::start`] with other protocol settings.
    pub fn start_with(test: &str, prios: &[u8], spare: usize, proto: Proto) -> Cluster {
        Cluster::start_opts(test, prios, spare, proto, true)
    }

    /// [`Cluster::start_with`], the daemons writing a trace or not.
    pub fn start_opts(
        test: &str,
        prios: &[u8],
        spare: usize,
        proto: Proto,
        traced: bool,
    ) -> Cluster {
        assert_root();
        let lab = Lab::new(prios.len() + spare).expect("lab");
        let dir = tmpdir(test);
        let vip = lab.addr(100).to_string();
        let mut c = Cluster {
            lab,
            dir,
            vip,
            nodes: Vec::new(),
            proto,
            traced,
        };
        for (i, &prio) in prios.iter().enumerate() {
            c.nodes.push(Node {
                prio,
                tag: format!("n{i}"),
                pid: None,
                stopped: false,
                link_down: false,
                runs: 0,
            });
            c.spawn(i);
        }
        let start = StdInstant::now();
        let best = c.expected();
        // Startup: every daemon in Backup, then the best one after its Master_Down_Interval.
        c.converge(start, c.bound() + Duration::from_secs(2), "startup");
        assert_eq!(c.expected(), best);
        c
    }

    /// The configuration of node `i`.
    pub fn conf(&self, i: usize) -> String {
        self.conf_with(i, self.nodes[i].prio, "")
    }

    /// The configuration of node `i` with another priority and `more` after the instance.
    pub fn conf_with(&self, i: usize, prio: u8, more: &str) -> String {
        let advert = format!("{}", self.proto.advert.as_secs_f64());
        let inst = Inst {
            name: "VI_1",
            vrid: 51,
            priority: prio,
            version: self.proto.version,
            advert: &advert,
            auth: self.proto.auth,
            vip: self.vip.clone(),
            extra: "",
        };
        format!("{}{more}", inst.text(&format!("N{i}"), "", ""))
    }

    fn spawn(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        n.tag = if n.runs == 0 {
            format!("n{i}")
        } else {
            format!("n{i}r{}", n.runs)
        };
        n.runs += 1;
        let tag = n.tag.clone();
        let conf = self.conf(i);
        self.nodes[i].pid = Some(if self.traced {
            start_daemon(&self.lab, i, &self.dir, &tag, &conf)
        } else {
            start_daemon_untraced(&self.lab, i, &self.dir, &tag, &conf)
        });
        self.nodes[i].stopped = false;
    }

    /// Node `i`'s pid (it must be running).
    pub fn pid(&self, i: usize) -> u32 {
        self.nodes[i].pid.expect("node is running")
    }

    /// Node `i`'s status JSON, fresh (SIGUSR1).
    pub fn status(&self, i: usize) -> serde_json::Value {
        status(&self.lab, self.pid(i), &self.dir, &self.nodes[i].tag)
    }

    /// How many times node `i`'s instance became Master.
    pub fn became_master(&self, i: usize) -> u64 {
        let st = self.status(i);
        st["instances"][0]["counters"]["became_master"]
            .as_u64()
            .unwrap_or_else(|| panic!("no became_master: {st}"))
    }

    /// The node that should be Master: the highest priority among the eligible.
    pub fn expected(&self) -> Option<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].eligible())
            .max_by_key(|&i| self.nodes[i].prio)
    }

    /// SIGKILL node `i` (its VIP stays in its namespace: nobody is left to remove it).
    pub fn kill(&mut self, i: usize) {
        let pid = self.nodes[i].pid.take().expect("running");
        if self.nodes[i].stopped {
            self.lab.signal(pid, libc::SIGCONT);
        }
        self.lab.signal(pid, libc::SIGKILL);
        self.nodes[i].stopped = false;
    }

    /// Restarts killed node `i` and returns when it logged "Startup complete" (its stale VIP
    /// removed, in Backup).
    pub fn restart(&mut self, i: usize) -> StdInstant {
        assert!(self.nodes[i].pid.is_none(), "node {i} is running");
        self.spawn(i);
        let tag = self.nodes[i].tag.clone();
        assert!(
            wait_until(Duration::from_secs(10), || log(&self.dir, &tag)
                .contains("Startup complete")),
            "{tag} did not start:\n{}",
            log(&self.dir, &tag)
        );
        // A crashed daemon leaves its VIP behind; the next one removes it before starting
        // (unless it has already become Master again by the time we look).
        assert!(
            !self.holds(i) || self.status(i)["instances"][0]["state"] == "MASTER",
            "{tag} kept the VIP its crashed predecessor left\n{}",
            self.logs()
        );
        StdInstant::now()
    }

    /// SIGSTOP (`freeze`) or SIGCONT node `i`.
    pub fn freeze(&mut self, i: usize, freeze: bool) {
        let sig = if freeze { libc::SIGSTOP } else { libc::SIGCONT };
        self.lab.signal(self.pid(i), sig);
        self.nodes[i].stopped = freeze;
    }

    /// `ip link set eth0 up|down` in node `i`'s namespace.
    pub fn link(&mut self, i: usize, up: bool) {
        let ns = self.lab.hosts[i].ns.clone();
        ns_ip(
            &ns,
            &["link", "set", "eth0", if up { "up" } else { "down" }],
        );
        self.nodes[i].link_down = !up;
    }

    /// The nodes whose namespace holds the VIP, among the running and unfrozen (a killed or
    /// frozen daemon cannot remove its VIP: that is the fault, not a stale VIP of ours).
    pub fn holders(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].pid.is_some() && !self.nodes[i].stopped)
            .filter(|&i| self.holds(i))
            .collect()
    }

    /// Whether node `i`'s namespace has the VIP. With its link up, read from the local
    /// routes the kernel keeps for every address (`/proc/PID/net/fib_trie` of its daemon):
    /// a file read, where `ip addr` is a process (tens of ms on a busy machine, which the
    /// recovery times would measure). With its link down the kernel drops those routes but
    /// keeps the address: ask `ip addr`.
    pub fn holds(&self, i: usize) -> bool {
        let pid = self.nodes[i].pid.filter(|_| !self.nodes[i].link_down);
        let trie =
            pid.and_then(|p| std::fs::read_to_string(format!("/proc/{p}/net/fib_trie")).ok());
        match trie {
            Some(t) => local_in_fib_trie(&t, &self.vip),
            None => self.lab.has_addr(i, &self.vip),
        }
    }

    /// Every log, for failure messages.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("--- {}:\n{}", n.tag, log(&self.dir, &n.tag)))
            .collect()
    }

    /// Waits until the expected Master is the only holder of the VIP, checks it was within
    /// `bound` of `since` and that it stays alone for three advert intervals, and that every
    /// running daemon's status agrees (one MASTER, the others BACKUP or FAULT with the link
    /// down). Returns the time from `since` to the single Master.
    pub fn converge(&self, since: StdInstant, bound: Duration, what: &str) -> Duration {
        let want = self.expected().map(|i| vec![i]).unwrap_or_default();
        let mut last = Vec::new();
        let found = wait_until(bound + Duration::from_secs(3), || {
            last = self.holders();
            last == want
        });
        let took = since.elapsed();
        assert!(
            found,
            "{what}: VIP held by {last:?}, want {want:?}\n{}",
            self.logs()
        );
        assert!(
            took <= bound,
            "{what}: one Master after {took:?}, bound {bound:?}\n{}",
            self.logs()
        );
        let end = StdInstant::now() + STEADY;
        while StdInstant::now() < end {
            let h = self.holders();
            assert_eq!(
                h,
                want,
                "{what}: the single Master did not last\n{}",
                self.logs()
            );
        }
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(pid) = n.pid.filter(|_| !n.stopped) else {
                continue;
            };
            let st = status(&self.lab, pid, &self.dir, &n.tag);
            let state = st["instances"][0]["state"]
                .as_str()
                .unwrap_or("?")
                .to_string();
            let ok = match (want.contains(&i), n.link_down) {
                (true, _) => state == "MASTER",
                (false, false) => state == "BACKUP",
                (false, true) => state == "FAULT",
            };
            assert!(ok, "{what}: {} is {state}\n{st}\n{}", n.tag, self.logs());
        }
        took
    }

    /// The bound for one Master after a fault or a recovery: the expected Master's
    /// Master_Down_Interval plus [`SLACK`].
    pub fn bound(&self) -> Duration {
        self.expected()
            .map(|i| mdi(self.nodes[i].prio, self.proto.advert))
            .unwrap_or_default()
            + SLACK
    }
}

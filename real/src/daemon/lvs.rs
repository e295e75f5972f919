//! The check engine's outputs carried out: probes run as tokio tasks and reported back with
//! their end time, IPVS changes applied over generic netlink in the engine's order, and the
//! real-server and quorum notifications (log line, `notify_up` / `notify_down` /
//! `quorum_up` / `quorum_down` scripts through the notify queue).
//!
//! As keepalived 2.2.7, a configuration with virtual servers needs IPVS: without it the
//! daemon does not start ("IPVS: Can't initialize ipvs"; keepalived's checker process exits
//! with a fatal error and takes the whole daemon down). `-P` / `--vrrp` runs without them.

use super::driver::Daemon;
use crate::os::ipvs::Ipvs;
use crate::os::{probes, scripts};
use std::net::SocketAddr;
use vrrp_engine::config::Config;
use vrrp_engine::lvs::{CheckerId, IpvsChange, Probe, ProbeResult, ServiceKey};

/// A finished probe, reported back to the engine.
pub(super) struct ProbeDone {
    pub checker: CheckerId,
    pub seq: u64,
    pub result: ProbeResult,
}

/// Opens IPVS if `config` has a virtual server the engine will program (an address, a
/// fwmark or a `group`).
pub(super) fn open_ipvs(config: &Config) -> Result<Option<Ipvs>, String> {
    if !vrrp_engine::lvs::needs_ipvs(config) {
        return Ok(None);
    }
    Ipvs::open()
        .map(Some)
        .map_err(|e| format!("IPVS: Can't initialize ipvs: {e}"))
}

/// `ADDR:PORT` of a real server with the service's protocol, as keepalived's logs write it
/// (`[10.0.1.1]:tcp:80`).
fn fmt_rs(service: &ServiceKey, rs: SocketAddr) -> String {
    let proto = match service {
        ServiceKey::Addr { protocol, .. } => protocol.as_str().to_ascii_lowercase(),
        ServiceKey::Fwmark { .. } => "fwm".to_string(),
    };
    format!("[{}]:{proto}:{}", rs.ip(), rs.port())
}

impl Daemon {
    /// Runs one probe in the background; its result comes back through `probe_rx`.
    pub(super) fn run_probe(&mut self, checker: CheckerId, seq: u64, probe: Probe) {
        let tx = self.probe_tx.clone();
        // Only a script needs the script user: no user-database lookup per connection probe.
        let user = match probe {
            Probe::Misc { .. } => {
                scripts::resolve_user(self.engine.global_config().script_user.as_deref())
                    .ok()
                    .flatten()
            }
            _ => None,
        };
        tokio::spawn(async move {
            let result = probes::run(&probe, user).await;
            tracing::debug!("probe {:?} {probe:?}: {result:?}", checker);
            let _ = tx.send(ProbeDone {
                checker,
                seq,
                result,
            });
        });
    }

    /// Applies one IPVS change (logged; a kernel refusal is logged and the daemon goes on,
    /// as keepalived does).
    pub(super) fn apply_ipvs(&mut self, change: &IpvsChange) {
        let what = match change {
            IpvsChange::AddService(s) => format!("adding VS {} ({})", s.key, s.scheduler),
            IpvsChange::EditService(s) => format!("editing VS {} ({})", s.key, s.scheduler),
            IpvsChange::RemoveService(k) => format!("removing VS {k}"),
            IpvsChange::AddDest { service, dest } => format!(
                "adding service {} to VS {service}, weight {}",
                fmt_rs(service, dest.addr),
                dest.weight
            ),
            IpvsChange::EditDest { service, dest } => format!(
                "setting service {} of VS {service} to weight {}",
                fmt_rs(service, dest.addr),
                dest.weight
            ),
            IpvsChange::RemoveDest { service, addr } => {
                format!(
                    "removing service {} from VS {service}",
                    fmt_rs(service, *addr)
                )
            }
        };
        match &mut self.ipvs {
            Some(ipvs) => match ipvs.apply(change) {
                Ok(()) => tracing::info!("IPVS: {what}"),
                Err(e) => tracing::error!("IPVS: {what}: {e}"),
            },
            None => tracing::error!("IPVS: {what}: IPVS is not open"),
        }
    }

    /// A real server joined or left its pool: log and its notify script.
    pub(super) fn on_real_server(
        &mut self,
        service: ServiceKey,
        rs: SocketAddr,
        alive: bool,
        notify: Option<String>,
    ) {
        tracing::info!(
            "{} service {} {} VS {service}",
            if alive { "Added" } else { "Removed" },
            fmt_rs(&service, rs),
            if alive { "to" } else { "from" },
        );
        self.queue_notify(notify);
    }

    /// A virtual server gained or lost its quorum: log and its notify script.
    pub(super) fn on_quorum(&mut self, service: ServiceKey, up: bool, notify: Option<String>) {
        tracing::info!(
            "{} quorum for VS {service}",
            if up { "Gained" } else { "Lost" }
        );
        self.queue_notify(notify);
    }

    /// A checker notify script (keepalived runs them with the script user, no arguments
    /// added).
    fn queue_notify(&mut self, cmd: Option<String>) {
        let (Some(cmd), Some(q)) = (cmd, &self.notify_tx) else {
            return;
        };
        let run_as = scripts::resolve_user(self.engine.global_config().script_user.as_deref())
            .ok()
            .flatten();
        let _ = q.send(scripts::Notify {
            words: scripts::split_words(&cmd),
            run_as,
        });
    }
}

/// A seed from the kernel's random pool (for the checkers' start-up spread), logged so a
/// run can be replayed in the simulator; 0 if the pool cannot be read.
pub(super) fn random_seed() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    let seed = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map(|()| u64::from_le_bytes(b))
        .unwrap_or(0);
    tracing::debug!("checker seed {seed}");
    seed
}

//! SIGHUP (the engine's reconfiguration, keepalived's reload) and SIGTERM (shutdown).

use super::driver::Daemon;
use crate::os::netlink;
use std::net::IpAddr;
use std::time::Duration;
use vrrp_engine::keepalived::{self, FsLoader};
use vrrp_engine::{Input, Instant};

impl Daemon {
    /// Re-reads the configuration and hands it to the engine: unchanged instances keep their
    /// state and VIPs, changed ones apply in place, removed ones hand over, new ones start
    /// (see [`vrrp_engine::Engine::reconfigure`]). A configuration with errors is refused
    /// and the running one kept.
    ///
    /// `now` is when the reload happens (the signal's arrival, or the instant a scheduled
    /// `reload` command named): reading and checking the file takes milliseconds (more in a
    /// debug build) that timers restarted by the reload must not inherit.
    ///
    /// systemd hears `RELOADING=1` before and `READY=1` after, whatever the outcome.
    pub(super) async fn reload(&mut self, now: Instant, why: &str) {
        self.systemd.reloading(crate::os::timer::monotonic());
        // keepalived 2.2.7 logs "Reloading ..." (parent) and "Reloading" (VRRP child).
        tracing::info!("Reloading ({why})");
        if self.reload_config(now).await {
            tracing::info!("Reload complete");
        } else {
            tracing::error!("Reload failed: the running configuration is kept");
        }
        // Renamed or re-prioritised instances show at the next scrape.
        self.touch_metrics();
        self.update_systemd_status();
        self.systemd.ready();
    }

    /// [`Daemon::reload`] without the notifications; whether the new file was applied.
    async fn reload_config(&mut self, now: Instant) -> bool {
        tracing::info!(
            "Configuration file {} (reload at {:.6} s)",
            self.opts.file.display(),
            self.secs(now)
        );
        let kopts = keepalived::Options {
            strict: self.opts.strict,
            config_id: Some(super::config_id(self.opts.config_id.as_deref())),
        };
        let config = match keepalived::load(&self.opts.file, &FsLoader, &kopts) {
            Ok(l) => {
                for f in &l.findings {
                    tracing::warn!("reload: {f}");
                }
                super::select(l.config, &self.opts)
            }
            Err(f) => {
                for x in &f.0 {
                    tracing::error!("reload: {x}");
                }
                tracing::error!("reload: configuration has errors, keeping the running one");
                return false;
            }
        };
        // keepalived 2.2.7 stops altogether here; the running configuration is kept instead
        // (docs/keepalived-differences.md).
        let missing = match netlink::all_links(&self.handle).await {
            Ok(links) => super::host_check::missing_interfaces(&config, &links),
            Err(e) => {
                tracing::warn!("reload: reading the interfaces: {e}");
                Vec::new()
            }
        };
        if !missing.is_empty() {
            for m in &missing {
                tracing::error!("reload: {m}");
            }
            tracing::error!(
                "reload: {}, keeping the running one",
                super::host_check::NON_EXISTENT
            );
            return false;
        }
        if self.ipvs.is_none() {
            match super::lvs::open_ipvs(&config) {
                Ok(ipvs) => self.ipvs = ipvs,
                Err(e) => {
                    // keepalived's checker process exits with a fatal error here, and the
                    // whole daemon with it.
                    tracing::error!("reload: {e}: stopping");
                    self.fatal = true;
                    return false;
                }
            }
        }
        // New macvlans (and their sockets) first: a new instance may send at once.
        let wanted = super::vmac::planned(&config);
        self.create_vmacs(&wanted).await;
        for v in &wanted {
            if self.vmacs.live.contains_key(&v.name) && !self.ifaces.contains_key(&v.name) {
                self.refresh(&v.name).await;
            }
        }
        let sources = config.instances.iter().filter_map(|i| i.unicast_src);
        self.check_sources_of(sources.collect()).await;
        match self.engine.reconfigure(now, config.clone()) {
            Ok(s) => {
                for (names, what) in [
                    (&s.unchanged, "unchanged, keeps its state"),
                    (&s.changed, "changed, applied in place, keeps its state"),
                    (
                        &s.restarted,
                        "identity changed (interface, VRID, family or unicast): restarted",
                    ),
                    (&s.removed, "removed: stopped"),
                    (&s.added, "new: started"),
                ] {
                    for n in names {
                        tracing::info!("reload: {n} {what}");
                    }
                }
                let v = &s.virtual_servers;
                for (keys, what) in [
                    (&v.kept, "kept, keeps its real servers' state"),
                    (&v.removed, "removed"),
                    (&v.added, "new"),
                ] {
                    for k in keys {
                        tracing::info!("reload: virtual server {k} {what}");
                    }
                }
            }
            Err(e) => {
                tracing::error!("reload: {e}; keeping the running configuration");
                return false;
            }
        }
        self.firewall_reconfigure(&config).await;
        // Removed instances have sent priority 0 from their macvlans: now they can go.
        self.drain().await;
        self.remove_stale_vmacs().await;
        self.vip_set = super::interfaces::vip_addrs(&config)
            .chain(self.held.keys().map(|(_, a)| *a))
            .collect();
        self.config = config;
        self.setup_track_files();
        self.setup_track_procs();
        self.refresh_all().await;
        true
    }

    /// Every instance shuts down at `now` (a Master sends priority 0 and releases its VIPs),
    /// the outputs are carried out, anything still held is removed, notifies finish.
    pub(super) async fn shutdown(&mut self, now: Instant) {
        self.systemd.stopping();
        // keepalived 2.2.7: "Stopping", then "Stopped Keepalived v2.2.7".
        tracing::info!(
            "Stopping (at {:.6} s: releasing every instance)",
            self.secs(now)
        );
        self.engine.handle(now, Input::Shutdown);
        self.drain().await;
        let left: Vec<(String, IpAddr)> = self.held.keys().cloned().collect();
        for (ifname, a) in left {
            if let Some(i) = self.ifaces.get(&ifname) {
                let _ = netlink::del_addr(&self.handle, i.index, a).await;
            }
        }
        self.remove_tables().await;
        self.vmac_shutdown().await;
        self.notify_tx = None;
        if let Some(task) = self.notify_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        self.drop_mails();
        tracing::info!("Stopped vrrpd-real {}", env!("CARGO_PKG_VERSION"));
    }
}

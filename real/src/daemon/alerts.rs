//! Mails: each [`vrrp_engine::Output::Alert`] sent in a task of its own, so that a slow or
//! dead SMTP server never holds up adverts or timers. Failures are logged.
//!
//! The settings are keepalived 2.2.7's (core/global_data.c `init_global_data`,
//! core/global_parser.c `smtpserver_handler`): `smtp_server ADDR [PORT]` (port 25), an
//! address or a name resolved when the mail goes; `router_id`, the `HELO` name and
//! `notification_email_from` default to the host's canonical name (`localhost` for `HELO`
//! and `[unknown]` for the router id when it cannot be had) and `USER@NAME`.

use super::driver::Daemon;
use crate::os::smtp::{self, Mail};
use std::time::Duration;
use vrrp_engine::config::GlobalConfig;
use vrrp_engine::Alert;

/// keepalived's `unknown_name`.
const UNKNOWN_NAME: &str = "[unknown]";

/// What a mail task needs from `global_defs`.
struct Settings {
    server: String,
    timeout: Duration,
    router_id: Option<String>,
    helo: Option<String>,
    from: Option<String>,
    to: Vec<String>,
}

impl Settings {
    fn of(g: &GlobalConfig) -> Option<Settings> {
        Some(Settings {
            server: g.smtp_server.clone()?,
            timeout: g.smtp_connect_timeout,
            router_id: g.router_id.clone(),
            helo: g.smtp_helo_name.clone(),
            from: g.notification_email_from.clone(),
            to: g.notification_email.clone(),
        })
    }

    /// The mail, with names looked up and the server resolved (blocking look-ups run on
    /// tokio's blocking pool).
    async fn mail(self, alert: Alert) -> Result<Mail, String> {
        let server = resolve(&self.server).await?;
        let need_name = self.router_id.is_none() || self.helo.is_none() || self.from.is_none();
        let local = if need_name {
            tokio::task::spawn_blocking(smtp::local_name)
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        let router_id = self
            .router_id
            .or_else(|| local.clone())
            .unwrap_or_else(|| UNKNOWN_NAME.into());
        // `helo_cmd`: "localhost" when there is no name at all.
        let helo = self
            .helo
            .or_else(|| local.clone())
            .unwrap_or_else(|| "localhost".into());
        // `set_default_email_from`: USER@NAME; without either, keepalived prints a NULL.
        let user = nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map(|u| u.name);
        let from = self.from.unwrap_or_else(|| match (user, &local) {
            (Some(u), Some(l)) => format!("{u}@{l}"),
            _ => "(null)".into(),
        });
        Ok(Mail {
            server,
            timeout: self.timeout,
            helo,
            from,
            to: self.to,
            subject: alert.subject_with(&router_id),
            body: alert.body,
        })
    }
}

/// `smtp_server`'s value, `ADDR [PORT]`: an address, else a name (`smtpserver_handler`).
async fn resolve(spec: &str) -> Result<std::net::SocketAddr, String> {
    let mut words = spec.split_whitespace();
    let host = words.next().unwrap_or_default();
    let port_str = words.next().unwrap_or("25");
    let bad = || format!("Invalid smtp server {host} {port_str}");
    let port: u16 = port_str.parse().map_err(|_| bad())?;
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok((ip, port).into());
    }
    tokio::net::lookup_host((host, port))
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(bad)
}

impl Daemon {
    /// Sends `alert` in a task of its own.
    pub(super) fn send_alert(&mut self, alert: Alert) {
        while self.mails.try_join_next().is_some() {}
        let Some(settings) = Settings::of(self.engine.global_config()) else {
            return;
        };
        tracing::info!("mail: {}", alert.subject);
        self.mails.spawn(async move {
            let sent = match settings.mail(alert).await {
                Ok(mail) => smtp::send(&mail).await,
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                tracing::warn!("{e}");
            }
        });
    }

    /// At shutdown: drops the mails still under way, as keepalived 2.2.7 does (once shutting
    /// down, its scheduler closes every SMTP connection: lib/scheduler.c `process_threads`).
    pub(super) fn drop_mails(&mut self) {
        while self.mails.try_join_next().is_some() {}
        if !self.mails.is_empty() {
            tracing::info!("{} mail(s) not sent: shutting down", self.mails.len());
            self.mails.abort_all();
        }
    }
}

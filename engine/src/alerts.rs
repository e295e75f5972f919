//! keepalived's SMTP alerts: whether a state change sends a mail, and its subject and body.
//!
//! The engine decides; the driver sends ([`crate::Output::Alert`], right after the
//! [`crate::Output::StateChanged`] that causes it). The rules are keepalived 2.2.7's:
//! `vrrp_smtp_notifier` and `vrrp_sync_smtp_notifier` (vrrp/vrrp_notify.c) for when,
//! `smtp_alert` (core/smtp.c) for the text and for "no mail without `notification_email` and
//! `smtp_server`", and `vrrp_complete_instance` / `vrrp_complete_init` (vrrp/vrrp.c) for the
//! instance's and the sync group's setting's inheritance.
//! The checkers' mails are decided in `lvs::mail`, with the same [`Alert`].

use crate::config::{GlobalConfig, InstanceConfig, SyncGroupConfig};
use crate::io::{Reason, State};
use serde::{Deserialize, Serialize};

/// keepalived's subject buffer (core/smtp.h `MAX_HEADERS_LENGTH`), terminating NUL included.
const MAX_HEADERS_LENGTH: usize = 256;

/// One mail to send to every `notification_email` through `smtp_server`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The subject after keepalived's `[router_id] ` prefix, e.g. `VRRP Instance VI_1 -
    /// Entering MASTER state` (the engine does not know the default router id: the host's
    /// name); see [`Alert::subject_with`].
    pub subject: String,
    /// The body, e.g. `=> VRRP Instance is now owning VRRP VIPs <=`.
    pub body: String,
}

impl Alert {
    /// The whole subject as keepalived writes it: `[ROUTER_ID] SUBJECT`, cut to 255 bytes
    /// (its `MAX_HEADERS_LENGTH` buffer).
    pub fn subject_with(&self, router_id: &str) -> String {
        let mut s = format!("[{router_id}] {}", self.subject);
        let mut end = s.len().min(MAX_HEADERS_LENGTH - 1);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s
    }
}

/// The states keepalived mails about (its `last_email_state` holds one of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MailState {
    Master,
    Backup,
    Fault,
}

/// Whether an instance mails at all: its `smtp_alert`, else `smtp_alert_vrrp`, else
/// `smtp_alert`, else off (keepalived 2.2.7 `vrrp_complete_instance`).
pub fn instance_smtp_alert(global: &GlobalConfig, cfg: &InstanceConfig) -> bool {
    vrrp_smtp_alert(global, cfg.smtp_alert)
}

/// Whether a sync group mails: the same inheritance as an instance's (keepalived 2.2.7
/// `vrrp_complete_init`).
pub fn group_smtp_alert(global: &GlobalConfig, cfg: &SyncGroupConfig) -> bool {
    vrrp_smtp_alert(global, cfg.smtp_alert)
}

/// An instance's or group's own setting, else `smtp_alert_vrrp`, else `smtp_alert`, else off.
fn vrrp_smtp_alert(global: &GlobalConfig, own: Option<bool>) -> bool {
    own.or(global.smtp_alert_vrrp)
        .or(global.smtp_alert)
        .unwrap_or(false)
}

/// Whether the driver has somewhere to send mail: keepalived's `smtp_alert` returns at once
/// without a `notification_email` or an `smtp_server`.
pub fn mail_configured(global: &GlobalConfig) -> bool {
    !global.notification_email.is_empty() && global.smtp_server.is_some()
}

/// The alert of an instance's change from `from` to `to`, if any; `last` is its
/// `last_email_state`, updated as keepalived updates it.
pub(crate) fn instance_alert(
    global: &GlobalConfig,
    cfg: &InstanceConfig,
    last: &mut Option<MailState>,
    from: State,
    to: State,
    reason: &Reason,
) -> Option<Alert> {
    let state = match (to, reason) {
        (State::Master, _) => MailState::Master,
        (State::Backup, _) => MailState::Backup,
        (State::Fault, _) => MailState::Fault,
        // `clear_diff_vrrp`: an instance a reload removed notifies as DELETED, sent as FAULT
        // without `notify_deleted` (not supported here), and nothing if it was in FAULT.
        (State::Initialize, Reason::Removed) if from == State::Fault => return None,
        (State::Initialize, Reason::Removed) => MailState::Fault,
        // `notify_shutdown` asks for a "Stopping" mail, but 2.2.7 never sends it: once
        // shutting down, its scheduler closes every fd thread but the timer's and signals'
        // (lib/scheduler.c `process_threads`), so the SMTP connect is dropped before HELO
        // (seen on the namespace LAN: real/tests/smtp_alerts.rs).
        (State::Initialize, _) => return None,
    };
    // `vrrp_smtp_notifier`.
    if !should_mail(global, instance_smtp_alert(global, cfg), last, state) {
        return None;
    }
    let (what, body) = match state {
        MailState::Master => (
            "Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        ),
        MailState::Backup => (
            "Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        MailState::Fault => (
            "Entering FAULT state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
    };
    Some(Alert {
        subject: format!("VRRP Instance {} - {what}", cfg.name),
        body: body.to_string(),
    })
}

/// The alert of sync group `cfg` entering `to`, if any; `last` is the group's
/// `last_email_state` (keepalived 2.2.7 `vrrp_sync_smtp_notifier`). A group's `STOP` sends
/// nothing, as an instance's: 2.2.7 drops the connection at shutdown ([`instance_alert`]).
pub(crate) fn group_alert(
    global: &GlobalConfig,
    cfg: &SyncGroupConfig,
    last: &mut Option<MailState>,
    to: State,
) -> Option<Alert> {
    let state = match to {
        State::Master => MailState::Master,
        State::Backup => MailState::Backup,
        State::Fault => MailState::Fault,
        State::Initialize => return None,
    };
    if !should_mail(global, group_smtp_alert(global, cfg), last, state) {
        return None;
    }
    let (what, body) = match state {
        MailState::Master => (
            "Entering MASTER state",
            "=> All VRRP group instances are now in MASTER state <=",
        ),
        MailState::Backup => (
            "Entering BACKUP state",
            "=> All VRRP group instances are now in BACKUP state <=",
        ),
        MailState::Fault => (
            "Entering FAULT state",
            "=> All VRRP group instances are now in FAULT state <=",
        ),
    };
    Some(Alert {
        subject: format!("VRRP Group {} - {what}", cfg.name),
        body: body.to_string(),
    })
}

/// keepalived's notifier test: mail on, not a fault under `no_email_faults`, not the state of
/// the last mail; `last` is updated even when no mail can go out (no `notification_email` or
/// `smtp_server`: `smtp_alert` returns, the notifier still records the state).
fn should_mail(
    global: &GlobalConfig,
    on: bool,
    last: &mut Option<MailState>,
    state: MailState,
) -> bool {
    if !on || (global.no_email_faults && state == MailState::Fault) || *last == Some(state) {
        return false;
    }
    *last = Some(state);
    mail_configured(global)
}

//! keepalived's SMTP alerts of the checker process: which verdicts and quorum changes send a
//! mail, and its subject and body, as keepalived 2.2.7 writes them.
//!
//! - A checker's verdict (`tcp_epilog`, http `epilog`, `misc_check_child_thread`) mails
//!   `Realserver RS of virtual server VS - UP|DOWN` (core/smtp.c `smtp_alert` with
//!   `SMTP_MSG_RS`, the state being the real server's `alive` after the verdict) when its
//!   real server's `smtp_alert` is on and either the server moved in or out of the pool or
//!   `no_checker_emails` is off. TCP and HTTP mail only when the checker itself changed
//!   (`checker_was_up`); MISC also on its first result after start.
//! - A quorum change (ipwrapper.c `do_vs_notifies`) mails `Virtualserver VS - UP|DOWN`
//!   when the virtual server's `smtp_alert` is on.
//! - A real server a reload removes (`clear_service_rs`) mails `... - DOWN` with
//!   `=> Removing <=` (`SMTP_MSG_RS_SHUT`).
//! - Nothing at shutdown: keepalived queues "=> Shutting down <=" mails (with `omega`), but
//!   its scheduler closes every SMTP connection once terminating (lib/scheduler.c
//!   `process_threads`), as for the VRRP mails ([`crate::alerts`]).
//!
//! Inheritance (check_data.c `validate_check_config`): a virtual server's `smtp_alert`, else
//! `smtp_alert_checker`, else `smtp_alert`, else off; a real server's the same but on at the
//! end ("to maintain backwards compatibility").

use super::ipvs::ServiceKey;
use super::plan::VsIdentity;
use crate::alerts::{mail_configured, Alert};
use crate::config::{GlobalConfig, RealServerConfig, VirtualServerConfig};
use core::net::SocketAddr;

/// keepalived's buffer for a virtual server's message (`do_vs_notifies`: `char message[80]`).
const VS_MESSAGE_MAX: usize = 79;

/// What every mail decision of a virtual server needs from `global_defs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MailCtx {
    /// `notification_email` and `smtp_server` are set: mails can go.
    pub configured: bool,
    /// `no_checker_emails`.
    pub no_checker_emails: bool,
}

impl MailCtx {
    /// The settings of `global`.
    pub fn of(global: &GlobalConfig) -> MailCtx {
        MailCtx {
            configured: mail_configured(global),
            no_checker_emails: global.no_checker_emails,
        }
    }
}

/// A virtual server's `smtp_alert` after inheritance.
pub(crate) fn vs_smtp_alert(global: &GlobalConfig, vs: &VirtualServerConfig) -> bool {
    vs.smtp_alert
        .or(global.smtp_alert_checker)
        .or(global.smtp_alert)
        .unwrap_or(false)
}

/// A real server's `smtp_alert` after inheritance (on when nothing says otherwise).
pub(crate) fn rs_smtp_alert(global: &GlobalConfig, rs: &RealServerConfig) -> bool {
    rs.smtp_alert
        .or(global.smtp_alert_checker)
        .or(global.smtp_alert)
        .unwrap_or(true)
}

/// keepalived's `format_vs`: `[GROUP]:N` (N: the virtual server's rank among those of its
/// group), `FWM MARK`, or `[ADDR]:PROTO:PORT`.
pub(crate) fn format_vs(identity: &VsIdentity, group_rank: u16) -> String {
    match identity {
        VsIdentity::Group(name) => format!("[{name}]:{group_rank}"),
        VsIdentity::Service(ServiceKey::Fwmark { mark, .. }) => format!("FWM {mark}"),
        VsIdentity::Service(ServiceKey::Addr { protocol, addr }) => {
            format_addr(addr, &protocol.as_str().to_ascii_lowercase())
        }
    }
}

/// keepalived's `inet_sockaddrtotrio`: `[ADDR]:PROTO:PORT`, IPv4 or IPv6 alike; `proto` is
/// the virtual server's (`none` for a fwmark service).
pub(crate) fn format_addr(addr: &SocketAddr, proto: &str) -> String {
    format!("[{}]:{proto}:{}", addr.ip(), addr.port())
}

/// The mail of a real server's change: `Realserver RS of virtual server VS - UP|DOWN`.
pub(crate) fn rs_alert(rs: &str, vs: &str, up: bool, body: &str) -> Alert {
    Alert {
        subject: format!(
            "Realserver {rs} of virtual server {vs} - {}",
            if up { "UP" } else { "DOWN" }
        ),
        body: body.to_string(),
    }
}

/// What moved a virtual server's quorum, for its mail's body (`do_vs_notifies`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuorumNote {
    /// At start-up or after a reload (`update_quorum_state` with `init`).
    pub init: bool,
    /// The threshold compared with.
    pub threshold: i64,
    /// The live weight.
    pub weight_sum: i64,
}

/// The mail of a quorum change: `Virtualserver VS - UP|DOWN` with keepalived's message,
/// e.g. `=> Gained quorum 1+0=1 <= 2 <=`.
pub(crate) fn vs_alert(vs: &str, up: bool, quorum: u32, hysteresis: u32, n: QuorumNote) -> Alert {
    let what = match (up, n.init) {
        (true, true) => "Starting with quorum up",
        (true, false) => "Gained quorum",
        (false, true) => "Starting with quorum down",
        (false, false) => "Lost quorum",
    };
    let mut body = format!(
        "=> {what} {quorum}+{hysteresis}={} <= {} <=",
        n.threshold, n.weight_sum
    );
    body.truncate(VS_MESSAGE_MAX);
    Alert {
        subject: format!("Virtualserver {vs} - {}", if up { "UP" } else { "DOWN" }),
        body,
    }
}

//! keepalived's SMTP alerts (2.2.7 vrrp/vrrp_notify.c `vrrp_smtp_notifier`, core/smtp.c
//! `smtp_alert`): one [`Output::Alert`] right after each state change that mails, with
//! keepalived's subject and body, at the change's exact time.

mod support;

use std::time::Duration;
use support::*;
use vrrp_engine::config::{Config, InstanceConfig};
use vrrp_engine::{Alert, CheckOutcome, Engine, Input, Instant, Output, State, Version};

const MASTER: (&str, &str) = (
    "VRRP Instance VI_1 - Entering MASTER state",
    "=> VRRP Instance is now owning VRRP VIPs <=",
);
const BACKUP: (&str, &str) = (
    "VRRP Instance VI_1 - Entering BACKUP state",
    "=> VRRP Instance is no longer owning VRRP VIPs <=",
);
const FAULT: (&str, &str) = (
    "VRRP Instance VI_1 - Entering FAULT state",
    "=> VRRP Instance is no longer owning VRRP VIPs <=",
);

/// VI_1, priority 100, v2, 1 s.
fn vi1() -> InstanceConfig {
    instance(100, Version::V2, Duration::from_secs(1))
}

/// `inst` with mail configured and `smtp_alert` on in `global_defs`.
fn mailing(inst: InstanceConfig) -> Config {
    let mut c = config(inst);
    c.global.notification_email = vec!["ops@example.com".into()];
    c.global.smtp_server = Some("127.0.0.1".into());
    c.global.smtp_alert = Some(true);
    c
}

/// Every alert of `log` with its time, as (time, subject, body).
fn alerts(log: &[(Instant, Output)]) -> Vec<(Instant, &str, &str)> {
    log.iter()
        .filter_map(|(t, o)| match o {
            Output::Alert(Alert { subject, body }) => Some((*t, subject.as_str(), body.as_str())),
            _ => None,
        })
        .collect()
}

fn alerts_of(out: &[Output]) -> Vec<(&str, &str)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Alert(a) => Some((a.subject.as_str(), a.body.as_str())),
            _ => None,
        })
        .collect()
}

/// Runs `cfg` alone for 5 s (Backup at 0, Master at 3.609375 s) and returns its alerts.
fn alone(cfg: Config) -> Vec<(Instant, String, String)> {
    let mut e = started(cfg, 0, Instant::ZERO);
    let log = run_alone(&mut e, secs(5.0), |_| CheckOutcome::Pass);
    alerts(&log)
        .into_iter()
        .map(|(t, s, b)| (t, s.to_string(), b.to_string()))
        .collect()
}

fn owned(t: Instant, (s, b): (&str, &str)) -> (Instant, String, String) {
    (t, s.to_string(), b.to_string())
}

/// Master_Down_Interval of priority 100 at 1 s (RFC 3768): 3 + 156/256 s.
const MASTER_AT: f64 = 3.609375;

#[test]
fn each_transition_mails_right_after_its_state_change() {
    let mut e = started(mailing(vi1()), 0, Instant::ZERO);
    let log = run_alone(&mut e, secs(5.0), |_| CheckOutcome::Pass);
    assert_eq!(
        alerts(&log),
        [
            (Instant::ZERO, BACKUP.0, BACKUP.1),
            (secs(MASTER_AT), MASTER.0, MASTER.1)
        ]
    );
    // In the FIFO: advert, state change, alert, then the VIPs and announcements.
    let at_master: Vec<&Output> = log
        .iter()
        .filter(|(t, _)| *t == secs(MASTER_AT))
        .map(|(_, o)| o)
        .collect();
    assert!(matches!(at_master[0], Output::Transmit(_)));
    assert!(matches!(at_master[1], Output::StateChanged(c) if c.to == State::Master));
    assert!(matches!(at_master[2], Output::Alert(_)));
    assert!(matches!(at_master[3], Output::AddVip { .. }));
    // The whole subject carries the router id in brackets.
    let Output::Alert(a) = at_master[2] else {
        unreachable!()
    };
    assert_eq!(
        a.subject_with("lb1"),
        "[lb1] VRRP Instance VI_1 - Entering MASTER state"
    );
    // Shutdown: keepalived 2.2.7 asks for "Stopping" but its shutting-down scheduler drops
    // the connection before HELO: no mail.
    e.handle(secs(6.0), Input::Shutdown);
    let out = drain(&mut e);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::StateChanged(c) if c.to == State::Initialize)));
    assert_eq!(alerts_of(&out), []);
}

#[test]
fn a_higher_priority_master_sends_the_backup_mail() {
    let mut e = started(mailing(vi1()), 0, Instant::ZERO);
    run_alone(&mut e, secs(4.0), |_| CheckOutcome::Pass);
    let peer = host_addr(1);
    deliver(
        &mut e,
        secs(4.5),
        peer,
        &advert_bytes(Version::V2, 51, 150, 1, peer, vrrp_engine::wire::Auth::None),
    );
    assert_eq!(alerts_of(&drain(&mut e)), [BACKUP]);
}

#[test]
fn no_mail_when_off_or_nowhere_to_send() {
    // smtp_alert unset everywhere: keepalived 2.2.7's default is off.
    let mut c = mailing(vi1());
    c.global.smtp_alert = None;
    assert_eq!(alone(c), []);
    // No notification_email.
    let mut c = mailing(vi1());
    c.global.notification_email.clear();
    assert_eq!(alone(c), []);
    // No smtp_server.
    let mut c = mailing(vi1());
    c.global.smtp_server = None;
    assert_eq!(alone(c), []);
    // smtp_alert false.
    let mut c = mailing(vi1());
    c.global.smtp_alert = Some(false);
    assert_eq!(alone(c), []);
}

#[test]
fn the_instance_setting_inherits_smtp_alert_vrrp_then_smtp_alert() {
    let both = vec![owned(Instant::ZERO, BACKUP), owned(secs(MASTER_AT), MASTER)];
    let case = |inst: Option<bool>, vrrp: Option<bool>, global: Option<bool>| {
        let mut i = vi1();
        i.smtp_alert = inst;
        let mut c = mailing(i);
        c.global.smtp_alert_vrrp = vrrp;
        c.global.smtp_alert = global;
        alone(c)
    };
    // The instance's own setting wins.
    assert_eq!(case(Some(true), Some(false), Some(false)), both);
    assert_eq!(case(Some(false), Some(true), Some(true)), []);
    // Unset: smtp_alert_vrrp before smtp_alert.
    assert_eq!(case(None, Some(true), Some(false)), both);
    assert_eq!(case(None, Some(false), Some(true)), []);
    // Then smtp_alert; then off.
    assert_eq!(case(None, None, Some(true)), both);
    assert_eq!(case(None, None, None), []);
    // smtp_alert_checker is for virtual and real servers only.
    let mut c = mailing(vi1());
    c.global.smtp_alert = None;
    c.global.smtp_alert_checker = Some(true);
    assert_eq!(alone(c), []);
}

/// A Master (at 4 s) whose interface goes down at 5 s and up at 6 s; the alerts after 4 s.
fn master_fault_and_back(cfg: Config) -> Vec<(&'static str, &'static str)> {
    let mut e = started(cfg, 0, Instant::ZERO);
    run_alone(&mut e, secs(4.0), |_| CheckOutcome::Pass);
    let mut seen = Vec::new();
    let mut step = |e: &mut Engine, t: f64, up: bool| {
        e.handle(secs(t), Input::Interface(eth0(0, up)));
        for (s, _) in alerts_of(&drain(e)) {
            seen.push(
                [MASTER, BACKUP, FAULT]
                    .into_iter()
                    .find(|x| x.0 == s)
                    .unwrap(),
            );
        }
    };
    step(&mut e, 5.0, false);
    step(&mut e, 6.0, true);
    seen
}

#[test]
fn fault_mails_unless_no_email_faults() {
    assert_eq!(master_fault_and_back(mailing(vi1())), [FAULT, BACKUP]);
    let mut c = mailing(vi1());
    c.global.no_email_faults = true;
    assert_eq!(master_fault_and_back(c), [BACKUP]);
}

#[test]
fn no_email_faults_keeps_the_last_mailed_state() {
    // keepalived's `last_email_state`: a Backup that goes to FAULT (not mailed) and back to
    // Backup sends nothing: the last mail already said BACKUP.
    let mut c = mailing(vi1());
    c.global.no_email_faults = true;
    let mut e = started(c.clone(), 0, Instant::ZERO);
    assert_eq!(alerts_of(&drain(&mut e)), [BACKUP]);
    e.handle(secs(1.0), Input::Interface(eth0(0, false)));
    e.handle(secs(2.0), Input::Interface(eth0(0, true)));
    let out = drain(&mut e);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::StateChanged(c) if c.to == State::Backup)));
    assert_eq!(alerts_of(&out), []);
    // A reload builds the instance anew (`last_email_state` = INIT): the same round mails.
    e.handle(secs(3.0), Input::Interface(eth0(0, false)));
    e.reconfigure(secs(3.5), c).expect("valid");
    e.handle(secs(4.0), Input::Interface(eth0(0, true)));
    assert_eq!(alerts_of(&drain(&mut e)), [BACKUP]);
}

#[test]
fn an_instance_removed_by_a_reload_mails_fault_unless_it_was_in_fault() {
    // `clear_diff_vrrp`: DELETED, notified as FAULT without `notify_deleted`.
    let mut e = started(mailing(vi1()), 0, Instant::ZERO);
    run_alone(&mut e, secs(4.0), |_| CheckOutcome::Pass);
    let mut empty = mailing(vi1());
    empty.instances.clear();
    e.reconfigure(secs(4.5), empty.clone()).expect("valid");
    assert_eq!(alerts_of(&drain(&mut e)), [FAULT]);
    // Already in FAULT: nothing.
    let mut e = started(mailing(vi1()), 0, Instant::ZERO);
    e.handle(secs(1.0), Input::Interface(eth0(0, false)));
    assert_eq!(alerts_of(&drain(&mut e)), [BACKUP, FAULT]);
    e.reconfigure(secs(2.0), empty).expect("valid");
    assert_eq!(alerts_of(&drain(&mut e)), []);
}

#[test]
fn the_keepalived_front_end_reads_the_keywords() {
    let text = "global_defs {\n  router_id lb1\n  notification_email {\n    ops@example.com\n  \
                }\n  notification_email_from vrrp@lb1\n  smtp_server 10.0.0.25 2525\n  \
                smtp_helo_name lb1.example.com\n  smtp_connect_timeout 0\n  smtp_alert_vrrp\n  \
                smtp_alert off\n  no_email_faults\n}\nvrrp_instance VI_1 {\n  interface eth0\n  \
                virtual_router_id 51\n  smtp_alert false\n  virtual_ipaddress {\n    \
                172.20.0.100/24\n  }\n}\n";
    let l = vrrp_engine::keepalived::parse_str("a.conf", text, &Default::default()).expect("valid");
    let g = &l.config.global;
    assert_eq!(g.smtp_server.as_deref(), Some("10.0.0.25 2525"));
    assert_eq!(g.smtp_helo_name.as_deref(), Some("lb1.example.com"));
    // keepalived: 0 is taken as 1 s, with a warning.
    assert_eq!(g.smtp_connect_timeout, Duration::from_secs(1));
    assert_eq!(
        (g.smtp_alert_vrrp, g.smtp_alert, g.no_email_faults),
        (Some(true), Some(false), true)
    );
    assert_eq!(l.config.instances[0].smtp_alert, Some(false));
    let msgs: Vec<String> = l.findings.iter().map(|f| f.to_string()).collect();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].contains("smtp_connect_timeout"), "{msgs:?}");
}

//! The manual page, vrrpd-real(8), generated from the command line's own clap definition.
//!
//! `vrrpd-real --man-page` (hidden) prints it. NAME, SYNOPSIS, OPTIONS and VERSION come from
//! clap (`clap_mangen`), so they follow every flag added to `cli.rs`; the prose sections an
//! operator needs (DESCRIPTION, SIGNALS, EXIT STATUS, FILES, SEE ALSO) are written here. The
//! Debian package ships `real/debian/vrrpd-real.8`, which `real/tests/man_page.rs` holds
//! equal to this output (regenerate it with `cargo run -p vrrp-real -- --man-page >
//! real/debian/vrrpd-real.8`).

use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;

/// Section 8: system administration commands and daemons.
const SECTION: &str = "8";

/// The page as roff source.
pub fn render(cmd: clap::Command) -> String {
    let version = cmd.get_version().unwrap_or_default().to_string();
    let man = Man::new(cmd);
    // roff's preamble (the apostrophe string) once, then the title: clap_mangen's own `.TH`
    // drops an empty date argument, which shifts the footer's fields.
    let mut page = Roff::new().render();
    page.push_str(&format!(
        ".TH VRRPD-REAL {SECTION} \"\" \"vrrpd-real {version}\" \"System Administration\"\n"
    ));
    let mut add = |render: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = render(&mut out);
        page.push_str(&without_preamble(&String::from_utf8_lossy(&out)));
    };
    add(&|w| man.render_name_section(w));
    add(&|w| man.render_synopsis_section(w));
    add(&|w| description().to_writer(w));
    add(&|w| man.render_options_section(w));
    add(&|w| trailer().to_writer(w));
    add(&|w| man.render_version_section(w));
    page
}

/// `text` without roff's apostrophe preamble, which every rendering starts with.
fn without_preamble(text: &str) -> String {
    let preamble = Roff::new().render();
    text.strip_prefix(preamble.as_str())
        .unwrap_or(text)
        .to_string()
}

/// A paragraph of alternating roman and bold runs.
fn para(roff: &mut Roff, parts: impl Into<Vec<Inline>>) {
    roff.control("PP", []);
    roff.text(parts);
}

/// A tagged paragraph: `tag` in bold, then its text.
fn tagged(roff: &mut Roff, tag: &str, text: &str) {
    roff.control("TP", []);
    roff.text([bold(tag)]);
    roff.text([roman(text)]);
}

fn description() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["DESCRIPTION"]);
    para(
        &mut r,
        [
            bold("vrrpd-real"),
            roman(
                " runs the VRRP instances of a keepalived configuration file on real Linux \
                 interfaces: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798), virtual IP addresses, \
                 gratuitous ARP and unsolicited neighbour advertisements, ",
            ),
            bold("vrrp_script"),
            roman(", "),
            bold("track_interface"),
            roman(", "),
            bold("vrrp_sync_group"),
            roman(", notify scripts, "),
            bold("virtual_routes"),
            roman(", "),
            bold("use_vmac"),
            roman(" and the "),
            bold("virtual_server"),
            roman(" health checkers on IPVS. It reads the file as "),
            bold("keepalived"),
            roman(
                " 2.2.7 reads it and keeps its defaults, so an existing keepalived.conf can be \
                 used as it is; keywords it does not act on are reported by ",
            ),
            bold("-t"),
            roman("."),
        ],
    );
    para(
        &mut r,
        [
            roman("The flags "),
            bold("-f"),
            roman(", "),
            bold("-t"),
            roman(", "),
            bold("-n"),
            roman(", "),
            bold("-l"),
            roman(", "),
            bold("-D"),
            roman(", "),
            bold("-p"),
            roman(", "),
            bold("-i"),
            roman(", "),
            bold("-P"),
            roman(" and "),
            bold("-C"),
            roman(" are keepalived's and mean the same; "),
            bold("--status"),
            roman(", "),
            bold("--metrics"),
            roman(", "),
            bold("--trace"),
            roman(" and "),
            bold("--control"),
            roman(" have no keepalived equivalent."),
        ],
    );
    para(
        &mut r,
        [
            roman("Check a file before using it: "),
            bold("vrrpd-real -t -f /etc/vrrpd/keepalived.conf"),
            roman(
                " prints every finding as FILE:LINE:COL and exits 0 when the file can be run. \
                 Under systemd the packaged unit runs ",
            ),
            bold("vrrpd-real -f /etc/vrrpd/keepalived.conf -n -l"),
            roman(" as a notify service (READY=1 once the instances run)."),
        ],
    );
    r
}

fn trailer() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["SIGNALS"]);
    tagged(
        &mut r,
        "SIGHUP",
        "Reload the configuration as keepalived does: unchanged instances keep their state and \
         addresses, changed ones apply the new settings, removed ones hand over with priority 0, \
         new ones start. A file with errors keeps the running configuration.",
    );
    tagged(
        &mut r,
        "SIGTERM, SIGINT",
        "Stop: a Master sends an advertisement with priority 0 (so a Backup takes over at \
         once) and removes its virtual addresses, routes and rules.",
    );
    tagged(
        &mut r,
        "SIGUSR1",
        "Write the status JSON (states, priorities, checks) to the --status file \
         (default /tmp/vrrpd-real.json).",
    );
    r.control("SH", ["EXIT STATUS"]);
    tagged(
        &mut r,
        "0",
        "The configuration is valid (-t), or the daemon stopped on a signal.",
    );
    tagged(
        &mut r,
        "1",
        "The configuration has errors, the daemon could not start (missing capability, \
         unreadable file), or a fatal error stopped it.",
    );
    r.control("SH", ["FILES"]);
    tagged(
        &mut r,
        "/etc/vrrpd/keepalived.conf",
        "The configuration the packaged systemd unit runs; the package installs a commented \
         example there (a conffile: upgrades keep local changes).",
    );
    tagged(
        &mut r,
        "/etc/keepalived/keepalived.conf",
        "The file read when -f is not given, as keepalived does.",
    );
    tagged(
        &mut r,
        "/usr/lib/systemd/system/vrrpd-real.service",
        "The systemd unit. It is not enabled on installation: edit the configuration, then \
         systemctl enable --now vrrpd-real.",
    );
    tagged(
        &mut r,
        "/usr/share/doc/vrrpd-real/",
        "README.md (features, the systemd unit, differences from keepalived) and the pages on \
         metrics, Accept_Mode, use_vmac and the trace format.",
    );
    r.control("SH", ["SEE ALSO"]);
    r.text([
        bold("keepalived"),
        roman("(8), "),
        bold("keepalived.conf"),
        roman("(5), "),
        bold("systemd.service"),
        roman("(5), "),
        bold("systemctl"),
        roman("(1); RFC 3768, RFC 5798; "),
        italic("/usr/share/doc/vrrpd-real/README.md"),
        roman("."),
    ]);
    r
}

//! The manual page the Debian package ships (`real/debian/vrrpd-real.8`) is the one the
//! command line generates (`vrrpd-real --man-page`, from the clap definition itself), so a
//! new or changed flag cannot leave a stale page in the package.

use std::process::Command;

const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/debian/vrrpd-real.8");

fn generated() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vrrpd-real"))
        .arg("--man-page")
        .output()
        .expect("runs vrrpd-real");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("roff is UTF-8")
}

#[test]
fn packaged_man_page_is_the_generated_one() {
    let checked_in = std::fs::read_to_string(CHECKED_IN).expect("real/debian/vrrpd-real.8");
    assert!(
        checked_in == generated(),
        "real/debian/vrrpd-real.8 differs from `vrrpd-real --man-page`; regenerate it:\n    \
         cargo run -p vrrp-real -- --man-page > real/debian/vrrpd-real.8"
    );
}

#[test]
fn man_page_is_section_8_with_every_visible_flag_and_the_operator_sections() {
    let page = generated();
    assert!(
        page.contains("\n.TH VRRPD-REAL 8 \"\" \"vrrpd-real "),
        "title line: {page}"
    );
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "SIGNALS",
        "\"EXIT STATUS\"",
        "FILES",
        "\"SEE ALSO\"",
    ] {
        assert!(page.contains(&format!("\n.SH {section}\n")), "no {section}");
    }
    // keepalived's flags, as clap_mangen writes them (`\-` is roff's minus sign).
    for flag in [
        "\\-t\\fR, \\fB\\-\\-config\\-test",
        "\\-f\\fR, \\fB\\-\\-use\\-file",
        "\\-n\\fR, \\fB\\-\\-dont\\-fork",
        "\\-l\\fR, \\fB\\-\\-log\\-console",
        "\\-D\\fR, \\fB\\-\\-log\\-detail",
        "\\-p\\fR, \\fB\\-\\-pid",
        "\\-P\\fR, \\fB\\-\\-vrrp",
        "\\-C\\fR, \\fB\\-\\-check",
        "\\-\\-metrics",
    ] {
        assert!(page.contains(flag), "no {flag} in:\n{page}");
    }
    // Test aids stay out of the page.
    assert!(!page.contains("ipvs\\-apply"), "{page}");
    assert!(!page.contains("man\\-page"), "{page}");
    assert!(page.contains("/etc/vrrpd/keepalived.conf"));
}

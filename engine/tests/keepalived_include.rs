//! `include` with globs, relative to the including file, in sorted order: in memory and on a
//! real filesystem.

use std::path::Path;
use vrrp_engine::keepalived::{self, FsLoader, MemLoader, Options};

fn instance(name: &str, vrid: u8) -> String {
    format!("vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n}}\n")
}

fn names(c: &vrrp_engine::config::Config) -> Vec<String> {
    c.instances.iter().map(|i| i.name.clone()).collect()
}

#[test]
fn in_memory_glob_sorted_and_relative() {
    // Inserted out of order: the result must follow the sorted file names.
    let loader = MemLoader::new()
        .with(
            "/etc/k/keepalived.conf",
            "global_defs {\n    router_id r1\n}\ninclude conf.d/*.conf\ninclude other/x.conf\n",
        )
        .with("/etc/k/conf.d/20-b.conf", instance("B", 2))
        .with("/etc/k/conf.d/10-a.conf", instance("A", 1))
        .with("/etc/k/conf.d/notes.txt", "garbage {")
        .with("/etc/k/other/x.conf", "include ../extra/3?-c.conf\n")
        .with("/etc/k/extra/30-c.conf", instance("C", 3));
    let l = keepalived::load(
        Path::new("/etc/k/keepalived.conf"),
        &loader,
        &Options::default(),
    )
    .expect("loads");
    assert_eq!(names(&l.config), ["A", "B", "C"]);
    assert_eq!(l.config.global.router_id.as_deref(), Some("r1"));
}

#[test]
fn findings_name_the_included_file() {
    let loader = MemLoader::new()
        .with("main.conf", "include sub/*.conf\n")
        .with(
            "sub/a.conf",
            "vrrp_instance A {\n    interface eth0\n    virtual_router_id 300\n}\n",
        );
    let err = keepalived::load(Path::new("main.conf"), &loader, &Options::default())
        .expect_err("bad vrid");
    let lines: Vec<String> = err.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "sub/a.conf:1:15: warning: (A) No VIP specified; at least one is sensible",
            "sub/a.conf:3:23: error: `virtual_router_id` 300 is out of range 1..255"
        ]
    );
}

#[test]
fn include_inside_a_block() {
    let loader = MemLoader::new()
        .with("main.conf", "vrrp_instance A {\n    include body.conf\n}\n")
        .with("body.conf", "interface eth0\nvirtual_router_id 9\n");
    let l = keepalived::load(Path::new("main.conf"), &loader, &Options::default()).expect("ok");
    assert_eq!(l.config.instances[0].vrid, 9);
}

#[test]
fn include_loop_is_reported_not_followed_forever() {
    let loader = MemLoader::new().with("a.conf", "include a.conf\n");
    let err =
        keepalived::load(Path::new("a.conf"), &loader, &Options::default()).expect_err("loop");
    assert!(err.0[0].message.contains("include loop"), "{err}");
}

#[test]
fn missing_top_file() {
    let err = keepalived::load(
        Path::new("nope.conf"),
        &MemLoader::new(),
        &Options::default(),
    )
    .expect_err("missing");
    assert_eq!(
        err.to_string(),
        "nope.conf:1:1: error: cannot read `nope.conf`: No such file or directory"
    );
}

#[test]
fn real_directory_glob() {
    let dir = std::env::temp_dir().join(format!("vrrp-include-test-{}", std::process::id()));
    let confd = dir.join("conf.d");
    std::fs::create_dir_all(&confd).expect("temp dir");
    std::fs::write(dir.join("keepalived.conf"), "include conf.d/*.conf\n").expect("write");
    std::fs::write(confd.join("b.conf"), instance("B", 2)).expect("write");
    std::fs::write(confd.join("a.conf"), instance("A", 1)).expect("write");
    std::fs::write(confd.join(".hidden.conf"), "broken {").expect("write");
    let res = keepalived::load(&dir.join("keepalived.conf"), &FsLoader, &Options::default());
    let _ = std::fs::remove_dir_all(&dir);
    let l = res.expect("loads");
    assert_eq!(names(&l.config), ["A", "B"]);
}

/// Found by the `keepalived_conf` fuzz target (FUZZING.md): a file that includes itself
/// twice was read 2^16 times (11 s) before the depth limit stopped it; three times would take
/// hours. A file on the include stack is not read again.
#[test]
fn a_file_including_itself_is_read_once() {
    let loader = MemLoader::new().with("a.conf", "include a.conf\ninclude a.conf\n");
    let err =
        keepalived::load(Path::new("a.conf"), &loader, &Options::default()).expect_err("loop");
    let lines: Vec<String> = err.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "a.conf:1:9: error: include loop: a.conf -> a.conf: `a.conf` is not read again",
            "a.conf:2:9: error: include loop: a.conf -> a.conf: `a.conf` is not read again",
        ]
    );
}

/// Includes of includes multiply without a loop (each file includes the next twice): the
/// number of files read in one load is bounded.
#[test]
fn files_read_in_one_load_are_bounded() {
    let mut loader = MemLoader::new();
    for n in 0..12 {
        loader.insert(
            format!("f{n}.conf"),
            format!("include f{0}.conf\ninclude f{0}.conf\n", n + 1),
        );
    }
    loader.insert("f12.conf", "");
    let a = keepalived::analyze(Path::new("f0.conf"), &loader, &Options::default());
    let errors: Vec<&str> = a.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(!errors.is_empty(), "8191 files to read without a word");
    assert_eq!(errors.len(), 1, "said once: {errors:?}");
    assert!(
        errors[0].starts_with("more than 4096 files read (includes of includes): `f"),
        "{errors:?}"
    );
}

/// Issue 16: a cycle through two files is named, with where it closes.
#[test]
fn a_cycle_through_two_files_is_named() {
    let loader = MemLoader::new()
        .with("main.conf", "include a.conf\n")
        .with("a.conf", "include b.conf\n")
        .with("b.conf", "\ninclude a.conf\n");
    let err =
        keepalived::load(Path::new("main.conf"), &loader, &Options::default()).expect_err("loop");
    let lines: Vec<String> = err.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        ["b.conf:2:9: error: include loop: a.conf -> b.conf -> a.conf: `a.conf` is not read again"]
    );
}

/// Issue 16: three files in one folder, each only `include *.conf` (keepalived 2.2.7 loops
/// forever; an earlier vrrpd-real grew to 18 GB). Every file is read once per include path
/// and every loop named, on disk through the real glob.
#[test]
fn three_files_each_including_the_folder_end() {
    let dir = std::env::temp_dir().join(format!("vrrp-include-fan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for f in ["a.conf", "b.conf", "c.conf"] {
        std::fs::write(dir.join(f), "include *.conf\n").expect("write");
    }
    let a = keepalived::analyze(&dir.join("a.conf"), &FsLoader, &Options::default());
    let _ = std::fs::remove_dir_all(&dir);
    let errors: Vec<&str> = a.findings.iter().map(|f| f.message.as_str()).collect();
    // Include paths without a repeat: a, ab, abc, ac, acb; each file includes all three, so 15
    // includes, 4 of them read and 11 loops: 8 named, then the count of the others.
    let named = errors
        .iter()
        .filter(|m| m.starts_with("include loop: "))
        .count();
    assert_eq!(named, 8, "{errors:?}");
    // The three-file cycle is named in full, folder and all.
    let d = dir.display();
    let cycle = format!(
        "include loop: {d}/a.conf -> {d}/b.conf -> {d}/c.conf -> {d}/a.conf: \
         `{d}/a.conf` is not read again"
    );
    assert!(errors.contains(&cycle.as_str()), "{errors:?}");
    assert!(
        errors.contains(
            &"3 more include loops not listed (each file on its include path is read once)"
        ),
        "{errors:?}"
    );
    assert_eq!(errors.len(), 9, "{errors:?}");
}

/// A folder of 30 files that each include the folder: the number of files read is bounded
/// (without the bound, 30!/... paths), and the findings stay few.
#[test]
fn a_huge_fan_out_is_bounded() {
    let mut loader = MemLoader::new();
    for n in 0..30 {
        loader.insert(format!("f{n:02}.conf"), "include f*.conf\n");
    }
    let a = keepalived::analyze(Path::new("f00.conf"), &loader, &Options::default());
    let errors: Vec<&str> = a.findings.iter().map(|f| f.message.as_str()).collect();
    // 8 loops named, their summary, the file bound and the depth bound, each said once.
    assert_eq!(errors.len(), 11, "{errors:?}");
    for once in [
        "more than 4096 files read",
        "includes nested deeper than 16",
    ] {
        assert_eq!(
            errors.iter().filter(|m| m.starts_with(once)).count(),
            1,
            "{once}: {errors:?}"
        );
    }
    assert_eq!(
        errors
            .iter()
            .filter(|m| m.ends_with(
                "more include loops not listed (each file on its include path is read once)"
            ))
            .count(),
        1,
        "{errors:?}"
    );
}

/// The byte bound: a fan-out of large files stops at 64 MiB read.
#[test]
fn bytes_read_in_one_load_are_bounded() {
    let big = format!("# {}\n", "x".repeat(1 << 20));
    let mut loader = MemLoader::new().with("main.conf", "include part*.conf\ninclude part*.conf\n");
    for n in 0..40 {
        loader.insert(format!("part{n:02}.conf"), big.clone());
    }
    let a = keepalived::analyze(Path::new("main.conf"), &loader, &Options::default());
    let errors: Vec<&str> = a.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        errors,
        ["more than 64 MiB read (includes of includes): `part23.conf` and the rest are not"]
    );
}

//! End-to-end tests of `sim packet decode` / `sim packet encode`, run as a process on the
//! keepalived 2.2.7 captures in `engine/tests/fixtures/`.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use vrrp_engine::wire::{self, Packet};
use vrrp_engine::Family;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../engine/tests/fixtures/keepalived-adverts.jsonl"
);

fn fixture() -> Vec<Value> {
    let text = std::fs::read_to_string(FIXTURE).expect("fixture readable");
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 22);
    lines
}

fn sim(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sim runs");
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "sim failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn decode(hex: &str, src: &str, dst: &str, extra: &[&str]) -> Value {
    let mut args = vec!["packet", "decode", hex, "--src", src, "--dst", dst];
    args.extend_from_slice(extra);
    serde_json::from_str(&stdout(&sim(&args, None))).expect("decode prints JSON")
}

fn line_decode(l: &Value) -> Value {
    decode(
        l["vrrp_hex"].as_str().unwrap(),
        l["ip_src"].as_str().unwrap(),
        l["ip_dst"].as_str().unwrap(),
        &[],
    )
}

/// Exit status 1, nothing on stdout, exactly one stderr line starting `error: `.
fn assert_one_line_error(o: &Output, contains: &str) {
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(o.stdout.is_empty(), "{o:?}");
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "one stderr line: {err:?}");
    assert!(err.ends_with('\n'));
    assert!(err.starts_with("error: "), "{err:?}");
    assert!(err.contains(contains), "{err:?} lacks {contains:?}");
}

#[test]
fn decode_gives_the_fixture_fields() {
    for l in fixture() {
        let d = line_decode(&l);
        for key in [
            "version", "type", "vrid", "priority", "count", "addrs", "checksum",
        ] {
            assert_eq!(d[key], l[key], "{key} of frame {}", l["frame"]);
        }
        let family = if l["family"] == 4 { "ipv4" } else { "ipv6" };
        assert_eq!(d["family"], family);
        assert_eq!(d["src"], l["ip_src"]);
        assert_eq!(d["dst"], l["ip_dst"]);
        assert_eq!(d["checksum_valid"], true, "frame {}", l["frame"]);
        assert!(d.get("checksum_expected").is_none());
        if l["version"] == 2 {
            for key in ["adver_int_s", "auth_type", "auth_data"] {
                assert_eq!(d[key], l[key], "{key} of frame {}", l["frame"]);
            }
            assert_eq!(d["auth_pass"], "123456");
            assert!(d.get("max_adver_int_cs").is_none());
        } else {
            assert_eq!(d["max_adver_int_cs"], l["max_adver_int_cs"]);
            assert_eq!(
                d["max_adver_int_ms"].as_u64().unwrap(),
                l["max_adver_int_cs"].as_u64().unwrap() * 10
            );
            assert!(d.get("auth_type").is_none() && d.get("adver_int_s").is_none());
        }
    }
}

#[test]
fn decode_reports_a_corrupted_checksum() {
    for l in fixture() {
        let hex = l["vrrp_hex"].as_str().unwrap();
        let (src, dst) = (
            l["ip_src"].as_str().unwrap().parse().unwrap(),
            l["ip_dst"].as_str().unwrap().parse().unwrap(),
        );
        let mut bytes = hex::decode(hex).unwrap();
        // Corrupt the checksum field: the expected one is the capture's.
        let mut p = Packet::new_checked_between(&mut bytes[..], src, dst).unwrap();
        p.set_checksum(p.checksum() ^ 0x01);
        let d = decode(
            &hex::encode(&bytes),
            l["ip_src"].as_str().unwrap(),
            l["ip_dst"].as_str().unwrap(),
            &[],
        );
        assert_eq!(d["checksum_valid"], false);
        assert_eq!(d["checksum_expected"], l["checksum"]);
        // Corrupt the priority instead: still decodes, with the new priority.
        let mut bytes = hex::decode(hex).unwrap();
        let mut p = Packet::new_checked_between(&mut bytes[..], src, dst).unwrap();
        p.set_priority(p.priority() ^ 0x40);
        let d = decode(
            &hex::encode(&bytes),
            l["ip_src"].as_str().unwrap(),
            l["ip_dst"].as_str().unwrap(),
            &[],
        );
        assert_eq!(d["checksum_valid"], false);
        assert_eq!(
            d["priority"].as_u64().unwrap(),
            u64::from(wire::peek_priority(&bytes).unwrap())
        );
        assert_ne!(d["checksum_expected"], l["checksum"]);
    }
}

#[test]
fn decode_of_a_v3_packet_with_the_wrong_source_fails_the_checksum() {
    let d = decode("3134c801003210fe0a4d0066", "10.77.0.12", "224.0.0.18", &[]);
    assert_eq!(d["checksum_valid"], false);
    // keepalived sums with the pseudo-header; without it the capture does not verify.
    let d = decode(
        "3134c801003210fe0a4d0066",
        "10.77.0.11",
        "224.0.0.18",
        &["--no-pseudo-header"],
    );
    assert_eq!(d["checksum_valid"], false);
    assert_eq!(d["checksum_mode"], "no_pseudo_header");
}

#[test]
fn bad_input_exits_1_with_one_error_line() {
    let v3 = "3134c801003210fe0a4d0066";
    let (s4, d4, d6) = ("10.77.0.11", "224.0.0.18", "ff02::12");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["zz34c801003210fe0a4d0066", s4, d4], "invalid hex"),
        (vec!["3134c801003210fe0a4d006", s4, d4], "invalid hex"),
        (
            vec!["3134c801003210fe0a4d00", s4, d4],
            "error: length mismatch: the address count implies 12 bytes, got 11",
        ),
        (vec!["3134c801", s4, d4], "truncated: 4 bytes"),
        (vec!["", s4, d4], "truncated: 0 bytes"),
        (vec![v3, s4, d6], "different families"),
        (vec![v3, "fe80::1", d4], "different families"),
        (vec![v3, "10.77.0.300", d4], "bad IP address"),
        (vec!["4134c801003210fe0a4d0066", s4, d4], "version 4"),
        (
            vec![
                "213364020101cac90a4d00640a4d00653132333435360000",
                "fe80::1",
                d6,
            ],
            "not defined over IPv6",
        ),
    ];
    for (args, msg) in cases {
        let o = sim(
            &[
                "packet", "decode", args[0], "--src", args[1], "--dst", args[2],
            ],
            None,
        );
        assert_one_line_error(&o, msg);
    }
}

#[test]
fn encode_of_decode_is_the_identity_on_every_fixture_line() {
    for l in fixture() {
        let hex = l["vrrp_hex"].as_str().unwrap();
        let d = line_decode(&l);
        let text = d.to_string();
        // JSON on stdin, as an argument, and without src/dst but with the flags.
        let via_stdin = stdout(&sim(&["packet", "encode"], Some(&text)));
        assert_eq!(via_stdin.trim_end(), hex, "frame {}", l["frame"]);
        let via_dash = stdout(&sim(&["packet", "encode", "-"], Some(&text)));
        assert_eq!(via_dash.trim_end(), hex);
        let via_arg = stdout(&sim(&["packet", "encode", &text], None));
        assert_eq!(via_arg.trim_end(), hex);

        let mut bare = d.clone();
        let obj = bare.as_object_mut().unwrap();
        for key in ["src", "dst", "count", "checksum", "checksum_valid", "type"] {
            obj.remove(key);
        }
        let via_flags = stdout(&sim(
            &[
                "packet",
                "encode",
                &bare.to_string(),
                "--src",
                l["ip_src"].as_str().unwrap(),
                "--dst",
                l["ip_dst"].as_str().unwrap(),
            ],
            None,
        ));
        assert_eq!(via_flags.trim_end(), hex, "frame {}", l["frame"]);
    }
}

#[test]
fn encode_recomputes_a_given_checksum_and_round_trips_other_modes() {
    // A wrong checksum in the JSON is ignored.
    let mut d = decode("3134c801003210fe0a4d0066", "10.77.0.11", "224.0.0.18", &[]);
    d["checksum"] = "0000".into();
    d["checksum_valid"] = false.into();
    let out = stdout(&sim(&["packet", "encode", &d.to_string()], None));
    assert_eq!(out.trim_end(), "3134c801003210fe0a4d0066");

    // v3 IPv4 without pseudo-header: encode, decode, encode again.
    let mut bare = d.clone();
    bare.as_object_mut().unwrap().remove("checksum_mode");
    let plain = stdout(&sim(
        &["packet", "encode", &bare.to_string(), "--no-pseudo-header"],
        None,
    ));
    let plain = plain.trim_end();
    assert_ne!(plain, "3134c801003210fe0a4d0066");
    let d2 = decode(plain, "10.77.0.11", "224.0.0.18", &["--no-pseudo-header"]);
    assert_eq!(d2["checksum_valid"], true);
    let again = stdout(&sim(&["packet", "encode", &d2.to_string()], None));
    assert_eq!(again.trim_end(), plain);

    // Non-canonical bytes (reserved bits, v2 type-0 auth data) round trip too.
    let v3_reserved = {
        let mut b = hex::decode("3134c801003210fe0a4d0066").unwrap();
        Packet::new_checked(&mut b[..], Family::Ipv4)
            .unwrap()
            .set_reserved(0xa);
        hex::encode(b)
    };
    let v2_auth0 = {
        let mut b = hex::decode("213364020101cac90a4d00640a4d00653132333435360000").unwrap();
        Packet::new_checked(&mut b[..], Family::Ipv4)
            .unwrap()
            .set_auth_type(0);
        hex::encode(b)
    };
    for hex in [v3_reserved, v2_auth0] {
        let d = decode(&hex, "10.77.0.11", "224.0.0.18", &[]);
        assert_eq!(
            d["checksum_valid"], false,
            "the byte changed under the checksum"
        );
        let out = stdout(&sim(&["packet", "encode", &d.to_string()], None));
        let fixed = decode(out.trim_end(), "10.77.0.11", "224.0.0.18", &[]);
        assert_eq!(fixed["checksum_valid"], true);
        assert_eq!(out.trim_end()[..12], hex[..12]);
        assert_eq!(out.trim_end()[16..], hex[16..]);
    }
}

#[test]
fn encode_rejects_inconsistent_json_with_one_error_line() {
    let d = decode("3134c801003210fe0a4d0066", "10.77.0.11", "224.0.0.18", &[]);
    let with = |key: &str, v: Value| {
        let mut x = d.clone();
        x[key] = v;
        x.to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        (with("count", 2.into()), "count 2 does not match"),
        (with("colour", "red".into()), "unknown field `colour`"),
        (with("dst", "ff02::12".into()), "different families"),
        (with("max_adver_int_ms", 510.into()), "disagree"),
        (
            with("max_adver_int_ms", 40960.into()).replace("\"max_adver_int_cs\":50,", ""),
            "12 bits",
        ),
        (with("auth_type", 1.into()), "no authentication"),
        (with("type", 2.into()), "type 2"),
        (with("version", 4.into()), "version 4"),
        (with("addrs", serde_json::json!(["fd00::1"])), "one family"),
        ("{not json".to_owned(), "bad packet JSON"),
    ];
    for (json, msg) in cases {
        let o = sim(&["packet", "encode", &json], None);
        assert_one_line_error(&o, msg);
    }
    // No src anywhere.
    let mut bare = d.clone();
    bare.as_object_mut().unwrap().remove("src");
    let o = sim(&["packet", "encode"], Some(&bare.to_string()));
    assert_one_line_error(&o, "no src address");
}

use vrrp_engine::wire::*;
use vrrp_engine::Family;
#[test]
fn quick() {
    let s = std::fs::read_to_string("tests/fixtures/keepalived-adverts.jsonl").unwrap();
    for l in s.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let b = hex::decode(v["vrrp_hex"].as_str().unwrap()).unwrap();
        let src: std::net::IpAddr = v["ip_src"].as_str().unwrap().parse().unwrap();
        let dst: std::net::IpAddr = v["ip_dst"].as_str().unwrap().parse().unwrap();
        let a = Advert::parse(&b, Family::of(&src)).unwrap();
        let p = Packet::new_checked(&b[..], Family::of(&src)).unwrap();
        assert!(
            p.verify_checksum(src, dst, ChecksumMode::PseudoHeader),
            "{l}"
        );
        assert_eq!(a.emit(src, dst, ChecksumMode::PseudoHeader), b);
    }
}

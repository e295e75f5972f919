//! `sim packet`: decode a VRRP payload to JSON and encode that JSON back to bytes.
//!
//! The JSON has one shape both ways ([`PacketJson`]), so `decode` output fed to `encode`
//! gives the same hex. The codec is the engine's ([`vrrp_engine::wire`]); this module only
//! maps between its types and JSON and checks what a user may get wrong.

use crate::CliError;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::net::IpAddr;
use vrrp_engine::wire::{checksum, Advert, Auth, ChecksumMode, DecodeError, Packet, AUTH_PASS};
use vrrp_engine::{Family, Version};

/// `sim packet ...` subcommands.
#[derive(Debug, Subcommand)]
pub enum PacketCommand {
    /// Decode a VRRP payload (hex, without the IP header) and print it as pretty JSON.
    ///
    /// The checksum is checked against --src/--dst; a wrong one is reported
    /// (`checksum_valid: false`, `checksum_expected`), not an error.
    Decode {
        /// The VRRP payload as hex digits (whitespace is ignored).
        hex: String,
        /// Source address of the IP header (the checksum of VRRPv3 depends on it).
        #[arg(long, value_name = "IP")]
        src: String,
        /// Destination address of the IP header.
        #[arg(long, value_name = "IP")]
        dst: String,
        /// VRRPv3 over IPv4: checksum without the IPv4 pseudo-header, as VRRPv2 does
        /// (keepalived's "v3 checksum as v2"). No effect on VRRPv2 or IPv6.
        #[arg(long)]
        no_pseudo_header: bool,
    },
    /// Encode packet JSON (the shape `decode` prints) and print the payload as hex.
    ///
    /// Required: version, vrid, priority, addrs, the interval (v2: adver_int_s; v3:
    /// max_adver_int_cs or max_adver_int_ms) and src/dst (fields or flags). Optional, and
    /// checked when present: type (must be 1), count (must match addrs), family,
    /// max_adver_int_ms, reserved (v3, 0..=15), checksum_mode (v3 over IPv4),
    /// auth_type/auth_data/auth_pass (v2 only; auth_pass alone means PASS). A src/dst given
    /// both as a flag and a field must agree. checksum, checksum_valid and checksum_expected
    /// are accepted but IGNORED: the checksum is always recomputed. Unknown fields are an
    /// error.
    Encode {
        /// The JSON, or `-` (the default) to read it from stdin.
        json: Option<String>,
        /// Source address, if the JSON has no `src`.
        #[arg(long, value_name = "IP")]
        src: Option<String>,
        /// Destination address, if the JSON has no `dst`.
        #[arg(long, value_name = "IP")]
        dst: Option<String>,
        /// VRRPv3 over IPv4: checksum without the pseudo-header (same as
        /// `"checksum_mode": "no_pseudo_header"`).
        #[arg(long)]
        no_pseudo_header: bool,
    },
}

/// A VRRP packet as JSON: what `decode` prints and `encode` reads.
///
/// Fields are printed in this order; `None` fields are left out.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacketJson {
    /// 2 or 3.
    pub version: u8,
    /// Always 1, ADVERTISEMENT.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<u8>,
    /// Virtual Router Identifier.
    pub vrid: u8,
    /// Sender's priority.
    pub priority: u8,
    /// Number of addresses (computed; checked when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u8>,
    /// VRRPv2 advertisement interval, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adver_int_s: Option<u8>,
    /// VRRPv3 Max Adver Int, centiseconds (12 bits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_adver_int_cs: Option<u16>,
    /// VRRPv3 Max Adver Int in milliseconds, for humans (a multiple of 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_adver_int_ms: Option<u32>,
    /// VRRPv3: the 4 reserved bits before Max Adver Int, shown only when not zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved: Option<u8>,
    /// VRRPv2 authentication type (0 none, 1 PASS, 2 AH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<u8>,
    /// VRRPv2 authentication data, 8 bytes as 16 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_data: Option<String>,
    /// VRRPv2 PASS password as text, when it is printable ASCII.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_pass: Option<String>,
    /// The virtual addresses.
    pub addrs: Vec<IpAddr>,
    /// The checksum, 4 hex digits (ignored by `encode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// Whether the checksum verifies for src/dst (ignored by `encode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_valid: Option<bool>,
    /// The right checksum, when `checksum` is wrong (ignored by `encode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_expected: Option<String>,
    /// VRRPv3 over IPv4 only: `pseudo_header` (RFC 5798, the default) or `no_pseudo_header`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_mode: Option<ChecksumMode>,
    /// `ipv4` or `ipv6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// Source address of the IP header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    /// Destination address of the IP header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<IpAddr>,
}

/// Run one `sim packet` subcommand.
pub fn run(cmd: PacketCommand) -> Result<(), CliError> {
    match cmd {
        PacketCommand::Decode {
            hex,
            src,
            dst,
            no_pseudo_header,
        } => {
            let json = decode(&hex, &src, &dst, mode_of(no_pseudo_header))?;
            let text = serde_json::to_string_pretty(&json)?;
            println!("{text}");
        }
        PacketCommand::Encode {
            json,
            src,
            dst,
            no_pseudo_header,
        } => {
            let text = match json.as_deref() {
                None | Some("-") => {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .map_err(|e| CliError(format!("reading stdin: {e}")))?;
                    s
                }
                Some(s) => s.to_owned(),
            };
            let parsed: PacketJson = serde_json::from_str(&text)
                .map_err(|e| CliError(format!("bad packet JSON: {e}")))?;
            let src = src.as_deref().map(parse_ip).transpose()?;
            let dst = dst.as_deref().map(parse_ip).transpose()?;
            let bytes = encode(&parsed, src, dst, no_pseudo_header)?;
            println!("{}", hex::encode(bytes));
        }
    }
    Ok(())
}

fn mode_of(no_pseudo_header: bool) -> ChecksumMode {
    if no_pseudo_header {
        ChecksumMode::NoPseudoHeader
    } else {
        ChecksumMode::PseudoHeader
    }
}

fn parse_ip(s: &str) -> Result<IpAddr, CliError> {
    s.trim()
        .parse()
        .map_err(|_| CliError(format!("bad IP address {s:?}")))
}

/// The PASS password as text: printable ASCII up to the first NUL, zeros after it.
fn printable_password(data: &[u8]) -> Option<String> {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (text, pad) = data.split_at(end);
    if pad.iter().all(|&b| b == 0) && text.iter().all(|b| (0x20..=0x7e).contains(b)) {
        Some(String::from_utf8_lossy(text).into_owned())
    } else {
        None
    }
}

/// Decode `hex` sent from `src` to `dst`.
pub fn decode(hex: &str, src: &str, dst: &str, mode: ChecksumMode) -> Result<PacketJson, CliError> {
    let src = parse_ip(src)?;
    let dst = parse_ip(dst)?;
    let digits: String = hex.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = hex::decode(&digits).map_err(|e| CliError(format!("invalid hex: {e}")))?;
    let p = Packet::new_checked_between(&bytes[..], src, dst)?;
    let valid = p.verify_checksum(src, dst, mode);
    let mut out = PacketJson {
        version: p.version().number(),
        kind: Some(p.msg_type()),
        vrid: p.vrid(),
        priority: p.priority(),
        count: Some(p.count()),
        addrs: p.addrs().collect(),
        checksum: Some(format!("{:04x}", p.checksum())),
        checksum_valid: Some(valid),
        family: Some(p.family()),
        src: Some(src),
        dst: Some(dst),
        ..PacketJson::default()
    };
    if !valid {
        let expected = checksum::compute(p.version(), src, dst, mode, &bytes);
        out.checksum_expected = Some(format!("{expected:04x}"));
    }
    match p.version() {
        Version::V2 => {
            // A v2 interval is the 8-bit Adver Int.
            out.adver_int_s = u8::try_from(p.interval()).ok();
            out.auth_type = Some(p.auth_type());
            out.auth_data = Some(hex::encode(p.auth_data()));
            if p.auth_type() == AUTH_PASS {
                out.auth_pass = printable_password(p.auth_data());
            }
        }
        Version::V3 => {
            out.max_adver_int_cs = Some(p.interval());
            out.max_adver_int_ms = Some(u32::from(p.interval()) * 10);
            let reserved = p.reserved();
            if reserved != 0 {
                out.reserved = Some(reserved);
            }
            if p.family() == Family::Ipv4 {
                out.checksum_mode = Some(mode);
            }
        }
    }
    Ok(out)
}

/// One of a flag and a JSON field; both given must agree.
fn pick_addr(name: &str, flag: Option<IpAddr>, field: Option<IpAddr>) -> Result<IpAddr, CliError> {
    match (flag, field) {
        (Some(a), Some(b)) if a != b => Err(CliError(format!(
            "--{name} {a} disagrees with \"{name}\": \"{b}\" in the JSON"
        ))),
        (Some(a), _) | (None, Some(a)) => Ok(a),
        (None, None) => Err(CliError(format!(
            "no {name} address: give --{name} or a \"{name}\" field"
        ))),
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, CliError> {
    Err(CliError(msg.into()))
}

/// Encode `j`; `src`/`dst` and `no_pseudo_header` come from the flags.
pub fn encode(
    j: &PacketJson,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    no_pseudo_header: bool,
) -> Result<Vec<u8>, CliError> {
    let src = pick_addr("src", src, j.src)?;
    let dst = pick_addr("dst", dst, j.dst)?;
    let family = Family::of(&src);
    if Family::of(&dst) != family {
        return Err(DecodeError::MixedFamilies.into());
    }
    if let Some(f) = j.family {
        if f != family {
            return err(format!(
                "family {f:?} does not match the src/dst addresses ({family:?})"
            ));
        }
    }
    if let Some(a) = j.addrs.iter().find(|a| Family::of(a) != family) {
        return err(format!(
            "address {a} is not of the src/dst family ({family:?}); one family per packet"
        ));
    }
    if j.addrs.len() > 255 {
        return err(format!("{} addresses, at most 255 fit", j.addrs.len()));
    }
    if let Some(c) = j.count {
        if usize::from(c) != j.addrs.len() {
            return err(format!(
                "count {c} does not match the {} addresses given",
                j.addrs.len()
            ));
        }
    }
    if let Some(t) = j.kind {
        if t != 1 {
            return err(format!("type {t}: only 1 (ADVERTISEMENT) exists"));
        }
    }
    let mode = match (j.checksum_mode, no_pseudo_header) {
        (Some(ChecksumMode::PseudoHeader), true) => {
            return err("--no-pseudo-header contradicts \"checksum_mode\": \"pseudo_header\"")
        }
        (_, true) => ChecksumMode::NoPseudoHeader,
        (m, false) => m.unwrap_or_default(),
    };
    let (version, interval, auth) = match j.version {
        2 => {
            if family == Family::Ipv6 {
                return Err(DecodeError::V2OverIpv6.into());
            }
            if j.max_adver_int_cs.is_some() || j.max_adver_int_ms.is_some() {
                return err("VRRPv2 has adver_int_s, not max_adver_int_cs/max_adver_int_ms");
            }
            if j.reserved.is_some() {
                return err("VRRPv2 has no reserved bits (that byte is auth_type)");
            }
            let Some(interval) = j.adver_int_s else {
                return err("VRRPv2 needs adver_int_s");
            };
            (Version::V2, u16::from(interval), v2_auth(j)?)
        }
        3 => {
            if j.adver_int_s.is_some() {
                return err("VRRPv3 has max_adver_int_cs, not adver_int_s");
            }
            if j.auth_type.is_some() || j.auth_data.is_some() || j.auth_pass.is_some() {
                return err("VRRPv3 has no authentication (auth_type, auth_data, auth_pass)");
            }
            let from_ms = match j.max_adver_int_ms {
                Some(ms) if ms % 10 != 0 => {
                    return err(format!(
                        "max_adver_int_ms {ms} is not a whole number of centiseconds"
                    ))
                }
                Some(ms) => Some(ms / 10),
                None => None,
            };
            let cs = match (j.max_adver_int_cs, from_ms) {
                (Some(cs), Some(ms_cs)) if u32::from(cs) != ms_cs => {
                    return err(format!(
                        "max_adver_int_cs {cs} and max_adver_int_ms {} disagree",
                        ms_cs * 10
                    ))
                }
                (Some(cs), _) => u32::from(cs),
                (None, Some(ms_cs)) => ms_cs,
                (None, None) => return err("VRRPv3 needs max_adver_int_cs or max_adver_int_ms"),
            };
            if cs > 4095 {
                return err(format!(
                    "max_adver_int_cs {cs} does not fit in 12 bits (at most 4095)"
                ));
            }
            (Version::V3, cs as u16, Auth::None)
        }
        v => return err(format!("version {v}: only 2 and 3 exist")),
    };
    let advert = Advert {
        version,
        vrid: j.vrid,
        priority: j.priority,
        interval,
        auth,
        addrs: j.addrs.clone(),
    };
    let mut bytes = advert.emit(src, dst, mode);
    if let Some(r) = j.reserved.filter(|&r| r != 0) {
        if r > 0x0f {
            return err(format!("reserved {r} does not fit in 4 bits"));
        }
        let mut p = Packet::new_unchecked(&mut bytes[..], version, advert.family());
        p.set_reserved(r);
        p.fill_checksum(src, dst, mode);
    }
    Ok(bytes)
}

/// The VRRPv2 authentication from auth_type, auth_data and auth_pass.
fn v2_auth(j: &PacketJson) -> Result<Auth, CliError> {
    let from_pass = match &j.auth_pass {
        Some(p) if p.len() > 8 => {
            return err(format!("auth_pass {p:?} is longer than 8 bytes"));
        }
        Some(p) => {
            let mut d = [0u8; 8];
            d[..p.len()].copy_from_slice(p.as_bytes());
            Some(d)
        }
        None => None,
    };
    let from_data = match &j.auth_data {
        Some(h) => {
            let v = hex::decode(h).map_err(|e| CliError(format!("auth_data: invalid hex: {e}")))?;
            let d: [u8; 8] = v.try_into().map_err(|v: Vec<u8>| {
                CliError(format!("auth_data has {} bytes, VRRPv2 carries 8", v.len()))
            })?;
            Some(d)
        }
        None => None,
    };
    let data = match (from_pass, from_data) {
        (Some(p), Some(d)) if p != d => {
            return err("auth_pass and auth_data disagree");
        }
        (Some(d), _) | (None, Some(d)) => d,
        (None, None) => [0; 8],
    };
    let kind = match (j.auth_type, from_pass) {
        (Some(t), Some(_)) if t != AUTH_PASS => {
            return err(format!("auth_pass given with auth_type {t} (PASS is 1)"));
        }
        (Some(t), _) => t,
        (None, Some(_)) => AUTH_PASS,
        (None, None) => 0,
    };
    Ok(match kind {
        0 if data == [0; 8] => Auth::None,
        AUTH_PASS => Auth::Pass(data),
        // Type 0 with data is kept verbatim, so any decoded packet encodes back.
        kind => Auth::Other { kind, data },
    })
}

//! `virtual_routes` and `virtual_rules` of a `vrrp_instance`: routes and policy rules a
//! Master installs and removes with its VIPs (keepalived 2.2.7 `vrrp_iproute.c`
//! `alloc_route`, `vrrp_iprule.c` `alloc_rule`; `vrrp.c` `vrrp_state_become_master`,
//! `vrrp_restore_interface`).
//!
//! Each [`VirtualRoute`] / [`VirtualRule`] is what the line means once read: the family is
//! resolved, the table a number, a rule's preference always set (keepalived gives a rule
//! without one 16384, 16383, ... per family in file order). Their [`Display`](core::fmt::Display)
//! writes the line back in keepalived's syntax, which reads back to the same value.

use crate::types::Family;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use serde::{Deserialize, Serialize};

/// `RT_TABLE_MAIN`: the table of a route without `table`.
pub const TABLE_MAIN: u32 = 254;

/// An address and a prefix length (`ADDR/LEN`; `default`, `any` and `all` are length 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IpPrefix {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub len: u8,
}

impl IpPrefix {
    /// The whole address space of `family` (`default`).
    pub fn any(family: Family) -> Self {
        let addr = match family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        IpPrefix { addr, len: 0 }
    }

    /// The family of the address.
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }
}

/// `ADDR/LEN` (`0.0.0.0/0` for `default`), which reads back to the same prefix.
impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// A route's type (`rtm_type`): the word before the destination, `unicast` when absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteType {
    /// `unicast` (RTN_UNICAST, 1).
    #[default]
    Unicast,
    /// `local` (RTN_LOCAL, 2).
    Local,
    /// `broadcast` / `brd` (RTN_BROADCAST, 3).
    Broadcast,
    /// `anycast` (RTN_ANYCAST, 4).
    Anycast,
    /// `multicast` (RTN_MULTICAST, 5).
    Multicast,
    /// `blackhole` (RTN_BLACKHOLE, 6): silently dropped.
    Blackhole,
    /// `unreachable` (RTN_UNREACHABLE, 7): ICMP host unreachable.
    Unreachable,
    /// `prohibit` (RTN_PROHIBIT, 8): ICMP administratively prohibited.
    Prohibit,
    /// `throw` (RTN_THROW, 9): go on with the next policy rule.
    Throw,
    /// `nat` (RTN_NAT, 10).
    Nat,
    /// `xresolve` (RTN_XRESOLVE, 11).
    Xresolve,
}

impl RouteType {
    /// Every named type with its keyword, as keepalived's `rtntypes` table.
    pub const NAMES: &'static [(&'static str, RouteType)] = &[
        ("unicast", RouteType::Unicast),
        ("local", RouteType::Local),
        ("broadcast", RouteType::Broadcast),
        ("brd", RouteType::Broadcast),
        ("anycast", RouteType::Anycast),
        ("multicast", RouteType::Multicast),
        ("blackhole", RouteType::Blackhole),
        ("unreachable", RouteType::Unreachable),
        ("prohibit", RouteType::Prohibit),
        ("throw", RouteType::Throw),
        ("nat", RouteType::Nat),
        ("xresolve", RouteType::Xresolve),
    ];

    /// The kernel's `RTN_*` number.
    pub fn number(self) -> u8 {
        match self {
            RouteType::Unicast => 1,
            RouteType::Local => 2,
            RouteType::Broadcast => 3,
            RouteType::Anycast => 4,
            RouteType::Multicast => 5,
            RouteType::Blackhole => 6,
            RouteType::Unreachable => 7,
            RouteType::Prohibit => 8,
            RouteType::Throw => 9,
            RouteType::Nat => 10,
            RouteType::Xresolve => 11,
        }
    }

    /// The type of a keyword or `RTN_*` number, as keepalived's `find_rttables_rtntype`.
    pub fn parse(word: &str) -> Option<RouteType> {
        if let Some((_, t)) = Self::NAMES.iter().find(|(n, _)| *n == word) {
            return Some(*t);
        }
        let n = parse_u32(word)?;
        Self::NAMES
            .iter()
            .map(|(_, t)| *t)
            .find(|t| u32::from(t.number()) == n)
    }

    /// The keyword.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("unicast", |(n, _)| n)
    }
}

/// How a route is added when one with the same key exists (keepalived 2.2.7 `add`,
/// `prepend`, `append`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteAddMode {
    /// `prepend` (keepalived's default): `NLM_F_CREATE` alone; the kernel puts it first.
    #[default]
    Prepend,
    /// `add`: `NLM_F_EXCL`, fails if the route exists (iproute2's `ip route add`).
    Add,
    /// `append`: `NLM_F_APPEND`, after the existing ones.
    Append,
}

/// One line of `virtual_routes`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VirtualRoute {
    /// The family: given by `inet`/`inet6` or the addresses, IPv4 when nothing says.
    pub family: Family,
    /// `[to] [TYPE] PREFIX`: the destination.
    pub dst: IpPrefix,
    /// The route's type (`blackhole`, `unreachable`, ...; default `unicast`).
    #[serde(default)]
    pub kind: RouteType,
    /// `src ADDR`: the preferred source address (`RTA_PREFSRC`).
    pub src: Option<IpAddr>,
    /// `from PREFIX`: the source prefix (IPv6 only, `RTA_SRC`).
    pub from: Option<IpPrefix>,
    /// `via ADDR` (or the deprecated `gw`): the gateway.
    pub via: Option<IpAddr>,
    /// `dev IFNAME` (or `oif`): the output interface.
    pub dev: Option<String>,
    /// `table N|NAME` (default `main`, 254).
    pub table: u32,
    /// `metric` / `priority` / `preference N` (`RTA_PRIORITY`).
    pub metric: Option<u32>,
    /// `scope N|NAME` (default global, 0).
    pub scope: Option<u8>,
    /// `protocol N|NAME`: kept only with `no_track`, as keepalived (a tracked route has
    /// its own protocol). Unset: the daemon's own tag.
    pub protocol: Option<u8>,
    /// `tos` / `dsfield N` (IPv4).
    pub tos: Option<u8>,
    /// `onlink`: the gateway is on the link even if no prefix says so.
    pub onlink: bool,
    /// `add` / `prepend` / `append`.
    #[serde(default)]
    pub mode: RouteAddMode,
    /// `no_track`: the route is not tracked. A tracked route (with a `dev`) deleted by
    /// someone else makes its Master leave for BACKUP ([`crate::Input::RouteDeleted`];
    /// keepalived 2.2.7 `netlink_route_filter`, `set_vrrp_backup`). The front end sets it on
    /// a route without `dev`, as keepalived does (with its warning). Also keeps a
    /// `protocol` of the line.
    pub no_track: bool,
}

impl VirtualRoute {
    /// A unicast route to `dst` in the main table.
    pub fn to(dst: IpPrefix) -> Self {
        VirtualRoute {
            family: dst.family(),
            dst,
            kind: RouteType::Unicast,
            src: None,
            from: None,
            via: None,
            dev: None,
            table: TABLE_MAIN,
            metric: None,
            scope: None,
            protocol: None,
            tos: None,
            onlink: false,
            mode: RouteAddMode::Prepend,
            no_track: false,
        }
    }
}

/// The line in keepalived's syntax: `[TYPE] PREFIX [src A] [from P] [via A] [dev D]
/// [table T] [metric M] [scope S] [protocol P] [tos T] [onlink] [add|append] [no_track]`.
impl fmt::Display for VirtualRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != RouteType::Unicast {
            write!(f, "{} ", self.kind.name())?;
        }
        write!(f, "{}", self.dst)?;
        if let Some(a) = self.src {
            write!(f, " src {a}")?;
        }
        if let Some(p) = self.from {
            write!(f, " from {p}")?;
        }
        if let Some(a) = self.via {
            write!(f, " via {a}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if self.table != TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if let Some(s) = self.scope {
            write!(f, " scope {s}")?;
        }
        if let Some(p) = self.protocol {
            write!(f, " protocol {p}")?;
        }
        if let Some(t) = self.tos {
            write!(f, " tos {t}")?;
        }
        if self.onlink {
            f.write_str(" onlink")?;
        }
        match self.mode {
            RouteAddMode::Prepend => {}
            RouteAddMode::Add => f.write_str(" add")?,
            RouteAddMode::Append => f.write_str(" append")?,
        }
        if self.no_track {
            f.write_str(" no_track")?;
        }
        Ok(())
    }
}

/// What a rule does when it matches (`fib_rule_hdr.action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum RuleAction {
    /// `table` / `lookup N|NAME` (FR_ACT_TO_TBL).
    Table(u32),
    /// `goto PREF` (FR_ACT_GOTO): jump to the rule with that preference.
    Goto(u32),
    /// `nop` (FR_ACT_NOP).
    Nop,
    /// `blackhole` (FR_ACT_BLACKHOLE).
    Blackhole,
    /// `unreachable` (FR_ACT_UNREACHABLE).
    Unreachable,
    /// `prohibit` (FR_ACT_PROHIBIT).
    Prohibit,
    /// `l3mdev` (FR_ACT_TO_TBL with `FRA_L3MDEV`): the table of the VRF device.
    L3mdev,
}

/// An inclusive port range (`sport` / `dport N[-M]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port.
    pub end: u16,
}

/// An inclusive uid range (`uidrange N-M`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UidRange {
    /// First uid.
    pub start: u32,
    /// Last uid.
    pub end: u32,
}

/// One line of `virtual_rules`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VirtualRule {
    /// The family: given by `inet`/`inet6` or the addresses, IPv4 when nothing says.
    pub family: Family,
    /// `from PREFIX`.
    pub from: Option<IpPrefix>,
    /// `to PREFIX`.
    pub to: Option<IpPrefix>,
    /// The action.
    pub action: RuleAction,
    /// `preference` / `order` / `priority N`; keepalived 2.2.7 gives a rule without one
    /// 16384, 16383, ... per family, in file order, with a warning.
    pub priority: u32,
    /// `not`: the selector is inverted.
    pub invert: bool,
    /// `tos` / `dsfield N` (0: any).
    pub tos: u8,
    /// `fwmark N[/MASK]`: the mark.
    pub fwmark: Option<u32>,
    /// The `/MASK` of `fwmark`.
    pub fwmask: Option<u32>,
    /// `iif` / `dev IFNAME`.
    pub iif: Option<String>,
    /// `oif IFNAME`.
    pub oif: Option<String>,
    /// `ipproto N|NAME`.
    pub ipproto: Option<u8>,
    /// `sport N[-M]`.
    pub sport: Option<PortRange>,
    /// `dport N[-M]`.
    pub dport: Option<PortRange>,
    /// `uidrange N-M`.
    pub uidrange: Option<UidRange>,
    /// `suppress_prefixlength` / `sup_pl N` (with a table action).
    pub suppress_prefixlength: Option<u32>,
    /// `protocol N`: kept only with `no_track`, as keepalived (a tracked rule has its own
    /// protocol). Unset: the daemon's own tag.
    pub protocol: Option<u8>,
    /// `no_track`: the rule is not tracked. A tracked rule deleted by someone else makes
    /// its Master leave for BACKUP ([`crate::Input::RuleDeleted`]; keepalived 2.2.7
    /// `netlink_rule_filter`). Also keeps a `protocol` of the line.
    pub no_track: bool,
}

impl VirtualRule {
    /// A rule with only an action and a preference, IPv4.
    pub fn new(action: RuleAction, priority: u32) -> Self {
        VirtualRule {
            family: Family::Ipv4,
            from: None,
            to: None,
            action,
            priority,
            invert: false,
            tos: 0,
            fwmark: None,
            fwmask: None,
            iif: None,
            oif: None,
            ipproto: None,
            sport: None,
            dport: None,
            uidrange: None,
            suppress_prefixlength: None,
            protocol: None,
            no_track: false,
        }
    }
}

/// The line in keepalived's syntax: `[inet6] [not] [from P] [to P] [preference N] ...
/// ACTION [no_track]`.
impl fmt::Display for VirtualRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The family word first: a rule may name no address at all.
        f.write_str(match self.family {
            Family::Ipv4 => "inet",
            Family::Ipv6 => "inet6",
        })?;
        if self.invert {
            f.write_str(" not")?;
        }
        if let Some(p) = &self.from {
            write!(f, " from {p}")?;
        }
        if let Some(p) = &self.to {
            write!(f, " to {p}")?;
        }
        write!(f, " preference {}", self.priority)?;
        if self.tos != 0 {
            write!(f, " tos {}", self.tos)?;
        }
        match (self.fwmark, self.fwmask) {
            (Some(m), Some(k)) => write!(f, " fwmark {m:#x}/{k:#x}")?,
            (Some(m), None) => write!(f, " fwmark {m:#x}")?,
            _ => {}
        }
        if let Some(d) = &self.iif {
            write!(f, " iif {d}")?;
        }
        if let Some(d) = &self.oif {
            write!(f, " oif {d}")?;
        }
        if let Some(p) = self.ipproto {
            write!(f, " ipproto {p}")?;
        }
        if let Some(r) = self.sport {
            write!(f, " sport {}-{}", r.start, r.end)?;
        }
        if let Some(r) = self.dport {
            write!(f, " dport {}-{}", r.start, r.end)?;
        }
        if let Some(r) = self.uidrange {
            write!(f, " uidrange {}-{}", r.start, r.end)?;
        }
        if let Some(n) = self.suppress_prefixlength {
            write!(f, " suppress_prefixlength {n}")?;
        }
        if let Some(p) = self.protocol {
            write!(f, " protocol {p}")?;
        }
        match self.action {
            RuleAction::Table(t) => write!(f, " table {t}")?,
            RuleAction::Goto(t) => write!(f, " goto {t}")?,
            RuleAction::Nop => f.write_str(" nop")?,
            RuleAction::Blackhole => f.write_str(" blackhole")?,
            RuleAction::Unreachable => f.write_str(" unreachable")?,
            RuleAction::Prohibit => f.write_str(" prohibit")?,
            RuleAction::L3mdev => f.write_str(" l3mdev")?,
        }
        if self.no_track {
            f.write_str(" no_track")?;
        }
        Ok(())
    }
}

/// A number as C's `strtoul(s, &end, 0)` reads a whole word: decimal, `0x` hex or `0`
/// octal; no sign.
pub fn parse_u32(s: &str) -> Option<u32> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u32::from_str_radix(h, 16).ok();
    }
    if s.len() > 1 && s.starts_with('0') {
        return u32::from_str_radix(&s[1..], 8).ok();
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A routing table by number or by iproute2's standard name (`default` 253, `main` 254,
/// `local` 255, `unspec` 0). keepalived also reads `/etc/iproute2/rt_tables`; that file is
/// not read here (`None` for any other name).
pub fn table_number(word: &str) -> Option<u32> {
    match word {
        "unspec" => Some(0),
        "default" => Some(253),
        "main" => Some(TABLE_MAIN),
        "local" => Some(255),
        _ => parse_u32(word),
    }
}

/// A route scope by number or name (keepalived's `rtscope_default`: `global` 0, `site`
/// 200, `link` 253, `host` 254, `nowhere` 255; `universe` as iproute2).
pub fn scope_number(word: &str) -> Option<u8> {
    match word {
        "global" | "universe" => Some(0),
        "site" => Some(200),
        "link" => Some(253),
        "host" => Some(254),
        "nowhere" => Some(255),
        _ => parse_u32(word).and_then(|n| u8::try_from(n).ok()),
    }
}

/// A route protocol by number or name (keepalived's `rtprot_default`, plus `keepalived`
/// 18 as iproute2's `rt_protos` names it).
pub fn protocol_number(word: &str) -> Option<u8> {
    let n = match word {
        "none" | "unspec" => 0,
        "redirect" => 1,
        "kernel" => 2,
        "boot" => 3,
        "static" => 4,
        "gated" => 8,
        "ra" => 9,
        "mrt" => 10,
        "zebra" => 11,
        "bird" => 12,
        "dnrouted" => 13,
        "xorp" => 14,
        "ntk" => 15,
        "dhcp" => 16,
        "keepalived" => 18,
        "babel" => 42,
        _ => return parse_u32(word).and_then(|n| u8::try_from(n).ok()),
    };
    Some(n)
}

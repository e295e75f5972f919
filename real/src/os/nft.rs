//! nftables for Accept_Mode off: one table of our own per family, with the sets and base
//! chains keepalived 2.2.7 builds (`vrrp_nftables.c`), driven through `nft -j` by the
//! `nftables` crate. Nothing here touches another table.
//!
//! The layout, as `nft list ruleset` shows keepalived's (default priority -1, that is
//! `filter - 1`):
//!
//! ```text
//! table ip vrrpd {
//!     set vips { type ipv4_addr }
//!     chain in  { type filter hook input  priority -1; policy accept; ip daddr @vips drop }
//!     chain out { type filter hook output priority -1; policy accept; ip saddr @vips drop }
//! }
//! table ip6 vrrpd {
//!     set vips { type ipv6_addr }
//!     set vips_link_local_name { type ipv6_addr . ifname }
//!     chain in  { ...; icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept;
//!                 ip6 daddr . iifname @vips_link_local_name drop; ip6 daddr @vips drop }
//!     chain out { ...; icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept;
//!                 ip6 saddr . oifname @vips_link_local_name drop; ip6 saddr @vips drop }
//! }
//! ```
//!
//! keepalived keys link-local VIPs by interface index unless `dont_track_primary` (then by
//! name, set `vips_link_local_name`) and jumps to separate link-local chains; we always key
//! them by name in the base chains, which drops the same packets.

use nftables::batch::Batch;
use nftables::expr::{Expression, Meta, MetaKey, NamedExpression, Payload, PayloadField, SetItem};
use nftables::schema::{
    Chain, Element, NfListObject, NfObject, Rule, Set, SetType, SetTypeValue, Table,
};
use nftables::stmt::{Counter, Match, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};
use std::borrow::Cow;
use std::net::IpAddr;

/// Where the rules go (`global_defs`' `nftables`, `nftables_priority`, `nftables_counters`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The table's name, in both families.
    pub table: String,
    /// The base chains' priority.
    pub priority: i32,
    /// A counter on each drop rule.
    pub counters: bool,
}

/// The daemon's own table name when `nftables` names none (keepalived's is `keepalived`; a
/// name of our own lets both run in one namespace).
pub const DEFAULT_TABLE: &str = "vrrpd";

/// The two families we filter, as indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fam {
    /// `table ip`.
    V4 = 0,
    /// `table ip6`.
    V6 = 1,
}

impl Fam {
    /// The family of an address.
    pub fn of(a: &IpAddr) -> Fam {
        match a {
            IpAddr::V4(_) => Fam::V4,
            IpAddr::V6(_) => Fam::V6,
        }
    }

    fn nf(self) -> NfFamily {
        match self {
            Fam::V4 => NfFamily::IP,
            Fam::V6 => NfFamily::IP6,
        }
    }

    /// `ip` or `ip6`, for logs.
    pub fn word(self) -> &'static str {
        match self {
            Fam::V4 => "ip",
            Fam::V6 => "ip6",
        }
    }
}

const VIPS: &str = "vips";
const VIPS_LL: &str = "vips_link_local_name";

fn s(x: &str) -> Cow<'static, str> {
    Cow::Owned(x.to_string())
}

fn table(fam: Fam, name: &str) -> NfListObject<'static> {
    NfListObject::Table(Table {
        family: fam.nf(),
        name: s(name),
        handle: None,
    })
}

fn payload(protocol: &str, field: &str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: s(protocol),
            field: s(field),
        },
    )))
}

fn meta(key: MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(Meta { key }))
}

fn matches(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match {
        left,
        right,
        op: Operator::EQ,
    })
}

fn rule(
    fam: Fam,
    st: &Settings,
    chain: &str,
    expr: Vec<Statement<'static>>,
) -> NfListObject<'static> {
    NfListObject::Rule(Rule {
        family: fam.nf(),
        table: s(&st.table),
        chain: s(chain),
        expr: Cow::Owned(expr),
        ..Rule::default()
    })
}

fn set(
    fam: Fam,
    st: &Settings,
    name: &str,
    set_type: SetTypeValue<'static>,
) -> NfListObject<'static> {
    NfListObject::Set(Box::new(Set {
        family: fam.nf(),
        table: s(&st.table),
        name: s(name),
        set_type,
        ..Set::default()
    }))
}

/// A drop rule: `MATCH [counter] drop`.
fn drop_rule(fam: Fam, st: &Settings, chain: &str, m: Statement<'static>) -> NfListObject<'static> {
    let mut expr = vec![m];
    if st.counters {
        expr.push(Statement::Counter(Counter::Anonymous(None)));
    }
    expr.push(Statement::Drop(None));
    rule(fam, st, chain, expr)
}

/// Adds to `b` the commands that (re)create our table of `fam` from scratch: an existing
/// one (left by a crashed run) is deleted in the same transaction.
pub fn create(b: &mut Batch<'static>, fam: Fam, st: &Settings) {
    b.add(table(fam, &st.table));
    b.delete(table(fam, &st.table));
    b.add(table(fam, &st.table));
    for (name, hook) in [("in", NfHook::Input), ("out", NfHook::Output)] {
        b.add(NfListObject::Chain(Chain {
            family: fam.nf(),
            table: s(&st.table),
            name: s(name),
            _type: Some(NfChainType::Filter),
            hook: Some(hook),
            prio: Some(st.priority),
            policy: Some(NfChainPolicy::Accept),
            ..Chain::default()
        }));
    }
    let (proto, addr_type) = match fam {
        Fam::V4 => ("ip", SetType::Ipv4Addr),
        Fam::V6 => ("ip6", SetType::Ipv6Addr),
    };
    b.add(set(fam, st, VIPS, SetTypeValue::Single(addr_type)));
    if fam == Fam::V6 {
        b.add(set(
            fam,
            st,
            VIPS_LL,
            SetTypeValue::Concatenated(Cow::Owned(vec![SetType::Ipv6Addr, SetType::Ifname])),
        ));
        // Neighbour discovery goes through (keepalived's `neighbor-discovery` set).
        let nd = Expression::Named(NamedExpression::Set(vec![
            SetItem::Element(Expression::String(s("nd-neighbor-solicit"))),
            SetItem::Element(Expression::String(s("nd-neighbor-advert"))),
        ]));
        for chain in ["in", "out"] {
            b.add(rule(
                fam,
                st,
                chain,
                vec![
                    matches(payload("icmpv6", "type"), nd.clone()),
                    Statement::Accept(None),
                ],
            ));
        }
        for (chain, field, iface) in [
            ("in", "daddr", MetaKey::Iifname),
            ("out", "saddr", MetaKey::Oifname),
        ] {
            let key = Expression::Named(NamedExpression::Concat(vec![
                payload(proto, field),
                meta(iface),
            ]));
            let m = matches(key, Expression::String(s(&format!("@{VIPS_LL}"))));
            b.add(drop_rule(fam, st, chain, m));
        }
    }
    for (chain, field) in [("in", "daddr"), ("out", "saddr")] {
        let m = matches(
            payload(proto, field),
            Expression::String(s(&format!("@{VIPS}"))),
        );
        b.add(drop_rule(fam, st, chain, m));
    }
}

/// Adds to `b` the command that adds (`add`) or deletes the addresses of `fam` among
/// `vips` (each with the interface it is on) to or from the sets.
pub fn elements(
    b: &mut Batch<'static>,
    fam: Fam,
    st: &Settings,
    vips: &[(String, IpAddr)],
    add: bool,
) {
    let (mut plain, mut ll) = (Vec::new(), Vec::new());
    for (ifname, a) in vips.iter().filter(|(_, a)| Fam::of(a) == fam) {
        match a {
            IpAddr::V6(v6) if v6.is_unicast_link_local() => {
                ll.push(Expression::Named(NamedExpression::Concat(vec![
                    Expression::String(s(&a.to_string())),
                    Expression::String(s(ifname)),
                ])))
            }
            _ => plain.push(Expression::String(s(&a.to_string()))),
        }
    }
    for (name, elem) in [(VIPS, plain), (VIPS_LL, ll)] {
        if elem.is_empty() {
            continue;
        }
        let e = NfListObject::Element(Element {
            family: fam.nf(),
            table: s(&st.table),
            name: s(name),
            elem: Cow::Owned(elem),
        });
        if add {
            b.add(e);
        } else {
            b.delete(e);
        }
    }
}

/// Adds to `b` the deletion of our table of `fam`.
pub fn delete(b: &mut Batch<'static>, fam: Fam, table_name: &str) {
    b.delete(table(fam, table_name));
}

/// Runs a batch as one `nft -j -f -` transaction (all or nothing).
pub async fn apply(b: Batch<'static>) -> Result<(), String> {
    let nft = b.to_nftables();
    nftables::helper::apply_ruleset_async(&nft)
        .await
        .map_err(describe)
}

/// The families in which a table named `name` exists (`nft -j list tables`).
pub async fn existing(name: &str) -> Result<Vec<Fam>, String> {
    let list = nftables::helper::get_current_ruleset_with_args_async(
        nftables::helper::DEFAULT_NFT,
        ["list", "tables"],
    )
    .await
    .map_err(describe)?;
    let mut out = Vec::new();
    for o in list.objects.iter() {
        if let NfObject::ListObject(NfListObject::Table(t)) = o {
            let fam = match t.family {
                NfFamily::IP => Fam::V4,
                NfFamily::IP6 => Fam::V6,
                _ => continue,
            };
            if t.name == name && !out.contains(&fam) {
                out.push(fam);
            }
        }
    }
    Ok(out)
}

/// An `nft` failure in one line, with what `nft` said.
fn describe(e: nftables::helper::NftablesError) -> String {
    match e {
        nftables::helper::NftablesError::NftFailed { stderr, .. } => {
            format!("nft: {}", stderr.trim().replace('\n', " | "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(b: Batch<'static>) -> String {
        serde_json::to_string(&b.to_nftables()).expect("json")
    }

    #[test]
    fn elements_go_to_their_family_and_set() {
        let st = Settings {
            table: "t".into(),
            priority: -1,
            counters: false,
        };
        let v: Vec<(String, IpAddr)> = ["fe80::52", "fd00::100", "10.0.0.1"]
            .iter()
            .map(|a| ("eth0".to_string(), a.parse().expect("addr")))
            .collect();
        let mut b = Batch::new();
        elements(&mut b, Fam::V4, &st, &v, true);
        assert_eq!(
            json(b),
            r#"{"nftables":[{"add":{"element":{"family":"ip","table":"t","name":"vips","elem":["10.0.0.1"]}}}]}"#
        );
        let mut b = Batch::new();
        elements(&mut b, Fam::V6, &st, &v, false);
        assert_eq!(
            json(b),
            r#"{"nftables":[{"delete":{"element":{"family":"ip6","table":"t","name":"vips","elem":["fd00::100"]}}},{"delete":{"element":{"family":"ip6","table":"t","name":"vips_link_local_name","elem":[{"concat":["fe80::52","eth0"]}]}}}]}"#
        );
    }

    #[test]
    fn counters_go_before_each_drop() {
        let st = Settings {
            table: "t".into(),
            priority: -50,
            counters: true,
        };
        let mut b = Batch::new();
        create(&mut b, Fam::V4, &st);
        let j = json(b);
        assert!(j.contains(r#""prio":-50"#), "{j}");
        assert_eq!(
            j.matches(r#"{"counter":null},{"drop":null}"#).count(),
            2,
            "{j}"
        );
    }
}

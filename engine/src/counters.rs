//! Per-reason counters of discarded packets (RFC 5798 §7.1 checks; RFC 6527 statistics).

use serde::{Deserialize, Serialize};

/// Why a received packet was discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscardReason {
    /// Shorter than the header, or a length that does not match the address count.
    Length,
    /// Unknown version, or not the instance's version.
    Version,
    /// Not an ADVERTISEMENT.
    Type,
    /// TTL / hop limit not 255 on a multicast advert, or a unicast peer's outside its range.
    Ttl,
    /// Checksum does not verify.
    Checksum,
    /// No instance with this VRID on this interface and family.
    Vrid,
    /// VRRPv2 authentication type or data differs from ours.
    Auth,
    /// VRRPv2 interval differs from ours, or a v3 interval of 0.
    Interval,
    /// Address families of source and destination differ, or v2 over IPv6.
    Family,
    /// Unicast instance with `check_unicast_src`: the source is not a configured peer.
    Peer,
    /// Sent to multicast for a unicast instance, or to unicast for a multicast one.
    Destination,
    /// Our own advert looped back.
    Own,
    /// The instance is in Initialize or FAULT and takes no adverts.
    Inactive,
    /// The address list differs from the instance's VIPs and the sender is not the address
    /// owner (priority 255), or a VRRPv3 advert lists no address (RFC 3768 / RFC 5798 §7.1).
    AddressList,
}

impl DiscardReason {
    /// The reason's name: its serde name and its [`DiscardCounters`] field (`ttl`, `auth`,
    /// `type`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DiscardReason::Length => "length",
            DiscardReason::Version => "version",
            DiscardReason::Type => "type",
            DiscardReason::Ttl => "ttl",
            DiscardReason::Checksum => "checksum",
            DiscardReason::Vrid => "vrid",
            DiscardReason::Auth => "auth",
            DiscardReason::Interval => "interval",
            DiscardReason::Family => "family",
            DiscardReason::Peer => "peer",
            DiscardReason::Destination => "destination",
            DiscardReason::Own => "own",
            DiscardReason::Inactive => "inactive",
            DiscardReason::AddressList => "address_list",
        }
    }
}

/// [`DiscardReason::as_str`].
impl core::fmt::Display for DiscardReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counts of discarded packets, one per [`DiscardReason`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscardCounters {
    /// See [`DiscardReason::Length`].
    pub length: u64,
    /// See [`DiscardReason::Version`].
    pub version: u64,
    /// See [`DiscardReason::Type`].
    pub r#type: u64,
    /// See [`DiscardReason::Ttl`].
    pub ttl: u64,
    /// See [`DiscardReason::Checksum`].
    pub checksum: u64,
    /// See [`DiscardReason::Vrid`].
    pub vrid: u64,
    /// See [`DiscardReason::Auth`].
    pub auth: u64,
    /// See [`DiscardReason::Interval`].
    pub interval: u64,
    /// See [`DiscardReason::Family`].
    pub family: u64,
    /// See [`DiscardReason::Peer`].
    pub peer: u64,
    /// See [`DiscardReason::Destination`].
    pub destination: u64,
    /// See [`DiscardReason::Own`].
    pub own: u64,
    /// See [`DiscardReason::Inactive`].
    pub inactive: u64,
    /// See [`DiscardReason::AddressList`].
    #[serde(default)]
    pub address_list: u64,
}

impl DiscardCounters {
    /// Count one discard.
    pub fn count(&mut self, reason: DiscardReason) {
        let c = match reason {
            DiscardReason::Length => &mut self.length,
            DiscardReason::Version => &mut self.version,
            DiscardReason::Type => &mut self.r#type,
            DiscardReason::Ttl => &mut self.ttl,
            DiscardReason::Checksum => &mut self.checksum,
            DiscardReason::Vrid => &mut self.vrid,
            DiscardReason::Auth => &mut self.auth,
            DiscardReason::Interval => &mut self.interval,
            DiscardReason::Family => &mut self.family,
            DiscardReason::Peer => &mut self.peer,
            DiscardReason::Destination => &mut self.destination,
            DiscardReason::Own => &mut self.own,
            DiscardReason::Inactive => &mut self.inactive,
            DiscardReason::AddressList => &mut self.address_list,
        };
        *c = c.saturating_add(1);
    }

    /// The count of one reason.
    pub fn get(&self, reason: DiscardReason) -> u64 {
        match reason {
            DiscardReason::Length => self.length,
            DiscardReason::Version => self.version,
            DiscardReason::Type => self.r#type,
            DiscardReason::Ttl => self.ttl,
            DiscardReason::Checksum => self.checksum,
            DiscardReason::Vrid => self.vrid,
            DiscardReason::Auth => self.auth,
            DiscardReason::Interval => self.interval,
            DiscardReason::Family => self.family,
            DiscardReason::Peer => self.peer,
            DiscardReason::Destination => self.destination,
            DiscardReason::Own => self.own,
            DiscardReason::Inactive => self.inactive,
            DiscardReason::AddressList => self.address_list,
        }
    }

    /// Add another set of counters to these (e.g. summing several engines or instances).
    pub fn add(&mut self, o: &DiscardCounters) {
        self.length += o.length;
        self.version += o.version;
        self.r#type += o.r#type;
        self.ttl += o.ttl;
        self.checksum += o.checksum;
        self.vrid += o.vrid;
        self.auth += o.auth;
        self.interval += o.interval;
        self.family += o.family;
        self.peer += o.peer;
        self.destination += o.destination;
        self.own += o.own;
        self.inactive += o.inactive;
        self.address_list += o.address_list;
    }

    /// Total discards.
    pub fn total(&self) -> u64 {
        [
            self.length,
            self.version,
            self.r#type,
            self.ttl,
            self.checksum,
            self.vrid,
            self.auth,
            self.interval,
            self.family,
            self.peer,
            self.destination,
            self.own,
            self.inactive,
            self.address_list,
        ]
        .iter()
        .sum()
    }
}

/// Receive and send statistics of one instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceCounters {
    /// Adverts that passed every check.
    pub adverts_accepted: u64,
    /// Adverts sent (each unicast copy counts).
    pub adverts_sent: u64,
    /// Priority-0 adverts received (RFC 6527 `vrrpv3StatisticsPriorityZeroPktsRcvd`).
    pub priority_zero_received: u64,
    /// Priority-0 adverts sent.
    pub priority_zero_sent: u64,
    /// Accepted adverts whose address list differs from ours: only the address owner's
    /// (priority 255) are accepted so (RFC 3768 / RFC 5798 §7.1); the others are discarded
    /// as [`DiscardReason::AddressList`].
    pub address_list_mismatch: u64,
    /// Times this instance became Master.
    pub became_master: u64,
    /// Discarded adverts, per reason.
    pub discarded: DiscardCounters,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_sums_every_reason() {
        let mut a = DiscardCounters::default();
        a.count(DiscardReason::Ttl);
        let mut b = DiscardCounters::default();
        for r in [
            DiscardReason::Ttl,
            DiscardReason::Auth,
            DiscardReason::Inactive,
        ] {
            b.count(r);
        }
        a.add(&b);
        assert_eq!((a.ttl, a.auth, a.inactive, a.total()), (2, 1, 1, 4));
    }

    #[test]
    fn display_is_the_serde_name_and_the_counter_field() {
        use DiscardReason::*;
        let all = [
            Length,
            Version,
            Type,
            Ttl,
            Checksum,
            Vrid,
            Auth,
            Interval,
            Family,
            Peer,
            Destination,
            Own,
            Inactive,
        ];
        for r in all {
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(json.as_str(), Some(r.to_string().as_str()));
            let mut c = DiscardCounters::default();
            c.count(r);
            let counters = serde_json::to_value(c).unwrap();
            assert_eq!(counters[r.as_str()], 1, "{r}");
            assert_eq!((c.get(r), c.total()), (1, 1), "{r}");
        }
    }
}

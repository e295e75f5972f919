//! Receive-path demultiplexing: (interface, family, VRID) -> instance in O(1), so a packet
//! reaches its instance without a scan (RFC 5798 §7.1: the VRID must be configured on the
//! receiving interface).

use crate::io::InstanceId;
use crate::types::Family;

const NONE: u32 = u32::MAX;

/// VRID -> instance tables of one interface, one per family.
#[derive(Clone, Debug)]
struct InterfaceSlots {
    name: String,
    v4: Box<[u32; 256]>,
    v6: Box<[u32; 256]>,
}

/// The VRID tables of every interface an instance runs on.
#[derive(Clone, Debug, Default)]
pub(crate) struct Demux {
    interfaces: Vec<InterfaceSlots>,
}

impl Demux {
    /// Tables for `instances` (id, interface, family, VRID); later entries win on a clash,
    /// which configuration checks rule out.
    pub fn build<'a>(instances: impl Iterator<Item = (InstanceId, &'a str, Family, u8)>) -> Self {
        let mut d = Demux::default();
        for (id, iface, family, vrid) in instances {
            let pos = match d.interfaces.iter().position(|s| s.name == iface) {
                Some(p) => p,
                None => {
                    d.interfaces.push(InterfaceSlots {
                        name: iface.to_string(),
                        v4: Box::new([NONE; 256]),
                        v6: Box::new([NONE; 256]),
                    });
                    d.interfaces.len() - 1
                }
            };
            let table = match family {
                Family::Ipv4 => &mut d.interfaces[pos].v4,
                Family::Ipv6 => &mut d.interfaces[pos].v6,
            };
            table[usize::from(vrid)] = id.0;
        }
        d
    }

    /// The VRID table of one interface and family, if any instance runs there.
    pub fn table(&self, interface: &str, family: Family) -> Option<&[u32; 256]> {
        self.interfaces
            .iter()
            .find(|s| s.name == interface)
            .map(|s| match family {
                Family::Ipv4 => &*s.v4,
                Family::Ipv6 => &*s.v6,
            })
    }

    /// The instance of `vrid` in a table from [`Demux::table`].
    pub fn lookup(table: Option<&[u32; 256]>, vrid: u8) -> Option<usize> {
        table
            .map(|t| t[usize::from(vrid)])
            .filter(|&n| n != NONE)
            .map(|n| n as usize)
    }
}

//! Which NIC a flow-log blob belongs to. Each blob of the storage layout
//! holds one NIC's hour (`.../macAddress=<MAC>/PT1H.json`); its tuples name
//! the MAC and have the NIC's address at the NIC's end.

use super::FlowLogFile;
use crate::sessions::Direction;
use rustc_hash::FxHashMap;
use std::net::IpAddr;

/// The NIC of a flow-log blob. Each blob of the storage layout holds one
/// NIC's hour (`.../macAddress=<MAC>/PT1H.json`); its tuples name the MAC
/// and have the NIC's address at the NIC's end: the destination of inbound
/// tuples, the source of outbound ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nic {
    /// The NIC's address.
    pub addr: IpAddr,
    /// Its MAC, upper-case hex without separators.
    pub mac: String,
}

/// The NIC a flow-log file belongs to: the MAC its tuples name most and the
/// address at the NIC's end (destination of inbound tuples, source of
/// outbound ones) of at least 95% of them.
pub fn nic_of_tuples(file: &FlowLogFile) -> Option<Nic> {
    let mut addrs: FxHashMap<IpAddr, usize> = FxHashMap::default();
    let mut macs: FxHashMap<&str, usize> = FxHashMap::default();
    let mut n = 0usize;
    for (b, t) in file.tuples() {
        n += 1;
        let local = match t.direction {
            Direction::Inbound => t.dst,
            Direction::Outbound => t.src,
        };
        *addrs.entry(local).or_default() += 1;
        let m = b.mac(t);
        if !m.is_empty() {
            *macs.entry(m).or_default() += 1;
        }
    }
    let (addr, k) = addrs
        .into_iter()
        .max_by_key(|(a, k)| (*k, std::cmp::Reverse(*a)))?;
    let mac = macs
        .into_iter()
        .max_by_key(|(m, k)| (*k, std::cmp::Reverse(*m)))
        .map(|(m, _)| m.to_ascii_uppercase())
        .or_else(|| crate::ingest::blob_mac(&file.path))?;
    (k * 100 >= n * 95).then_some(Nic { addr, mac })
}

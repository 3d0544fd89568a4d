//! Which NIC a flow-log blob belongs to. Each blob of the storage layout
//! holds one NIC's hour (`.../macAddress=<MAC>/PT1H.json`); its tuples name
//! the MAC and have the NIC's address at the NIC's end.

use super::FlowLogFile;
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
    let mut addrs: FxHashMap<IpAddr, u64> = FxHashMap::default();
    let mut macs: FxHashMap<&str, u64> = FxHashMap::default();
    let mut n = 0u64;
    for b in &file.batches {
        for &(local, rule, k) in &b.locals {
            n += k;
            *addrs.entry(local).or_default() += k;
            let m = b.rule(rule).map_or("", |e| b.str(e.mac));
            if !m.is_empty() {
                *macs.entry(m).or_default() += k;
            }
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

/// The addresses whose NICs logged a flow-log file's tuples (the local end
/// of each: the destination of inbound tuples, the source of outbound
/// ones), sorted and unique: one per blob in the storage layout; every NIC
/// of a subnet or VNET in a blob that gathers them. Every tuple read
/// counts, whether the pre-filters kept it or not.
pub fn logged_hosts(file: &FlowLogFile) -> Vec<IpAddr> {
    let mut hosts: Vec<IpAddr> = file
        .batches
        .iter()
        .flat_map(|b| b.locals.iter().map(|l| l.0))
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    // Kept in the input's report for the whole run: a few addresses, not
    // the room of every batch's entries.
    hosts.shrink_to_fit();
    hosts
}

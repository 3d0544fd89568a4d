//! How to parse ([`ParseOptions`]) and the pre-filter in the form the IPv4
//! fast path tests (`FastFilter`).

use super::tuple;
use crate::aib::{FlowClass, classify_flow};
use crate::sessions::Filter;
use rustc_hash::FxHashSet;
use std::net::IpAddr;
use std::sync::Arc;

/// How to parse.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Files at least this large are split into chunks parsed in parallel.
    pub parallel_min_bytes: usize,
    /// Target bytes per chunk.
    pub chunk_bytes: usize,
    /// At least this many records per chunk (each chunk re-reads the record
    /// before it for the duplicate window, so this bounds that overhead).
    pub min_chunk_records: usize,
    /// Drop repeated records and tuples (default). Off, every tuple of
    /// every complete record is kept, as when counting what a file holds.
    pub dedupe: bool,
    /// Keep only the tuples this accepts (default: all). Applied as each
    /// tuple is decoded, before the duplicate window and before it is
    /// stored: a run that shows one port stores and stitches only that
    /// port's tuples. Every tuple is still decoded, so bad ones are still
    /// reported. Only the host and port conditions apply to tuples (a
    /// session's tuples share its ends, so it keeps or drops whole
    /// sessions, never parts of one).
    pub filter: Option<Filter>,
    /// Keep only the tuples an AIB diagnosis can use (the AIB-relevant
    /// scan's pre-filter); applied like `filter`, after it.
    pub aib: Option<AibKeep>,
}

/// The AIB-relevant scan's test on a tuple: its anchors (command port,
/// SSH/WinRM between VNet addresses: [`classify_flow`]) and the egress and
/// DNS that `egress_of`'s hosts open.
#[derive(Debug, Clone)]
pub struct AibKeep {
    /// The health probe's source address.
    pub probe: IpAddr,
    /// Hosts whose egress and DNS are kept.
    pub egress_of: Arc<FxHashSet<IpAddr>>,
    /// When given, anchors are kept only with an end among these hosts (a
    /// second look keeps AIB's hosts' anchors, not a jump box's sweep).
    pub anchors_of: Option<Arc<FxHashSet<IpAddr>>>,
}

impl AibKeep {
    /// Whether a tuple of this protocol number, initiator, responder and
    /// destination port is kept.
    #[inline]
    pub fn keeps(&self, proto: u8, src: IpAddr, dst: IpAddr, dport: u16) -> bool {
        match classify_flow(proto, src, dst, dport, self.probe) {
            Some(FlowClass::ProxyAnchor | FlowClass::BuildAnchor) => self
                .anchors_of
                .as_ref()
                .is_none_or(|h| h.contains(&src) || h.contains(&dst)),
            Some(FlowClass::Egress) => self.egress_of.contains(&src),
            None => false,
        }
    }
}

/// [`Filter`] for the IPv4 fast path: addresses as integers.
#[derive(Debug, Default)]
pub(super) struct FastFilter {
    active: bool,
    /// IPv4 hosts as big-endian integers (IPv6 hosts never match a fast
    /// tuple, which is IPv4).
    hosts: Vec<u32>,
    any_host: bool,
    ports: Vec<u16>,
}

impl FastFilter {
    pub(super) fn of(f: Option<&Filter>) -> FastFilter {
        let Some(f) = f.filter(|f| !f.all_ends()) else {
            return FastFilter::default();
        };
        FastFilter {
            active: true,
            hosts: f
                .hosts
                .iter()
                .filter_map(|h| match h {
                    IpAddr::V4(a) => Some(u32::from(*a)),
                    IpAddr::V6(_) => None,
                })
                .collect(),
            any_host: f.hosts.is_empty(),
            ports: f.ports.clone(),
        }
    }

    #[inline(always)]
    pub(super) fn accepts(&self, f: &tuple::Fields) -> bool {
        !self.active
            || ((self.any_host || self.hosts.iter().any(|&h| h == f.src || h == f.dst))
                && (self.ports.is_empty()
                    || self.ports.iter().any(|&p| p == f.sport || p == f.dport)))
    }
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            parallel_min_bytes: 2 << 20,
            chunk_bytes: 1 << 20,
            min_chunk_records: 8,
            dedupe: true,
            filter: None,
            aib: None,
        }
    }
}

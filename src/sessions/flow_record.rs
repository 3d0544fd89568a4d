//! The compact record of a flow-log session, and the sessions built from
//! such records.

use super::model::{FlowInfo, OrderKey, Proto, Session, Side};
use super::state::ConnState;
use crate::decode::FiveTuple;
use rayon::prelude::*;
use std::net::IpAddr;
use std::sync::Arc;

/// A finished flow-log session in compact form (about a third of a
/// [`Session`]): what the flow-log stage produces per stitched flow. A
/// [`Session`] is built from it only once, in its final place, when the
/// table is finished: building, concatenating, sorting and coalescing
/// millions of full sessions (moving 300 bytes each time) cost most of a
/// flow-log run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRecord {
    /// First tuple, ns since the epoch.
    pub first_ts: i64,
    /// Last tuple, ns since the epoch.
    pub last_ts: i64,
    /// Packets originator → responder.
    pub orig_pkts: u64,
    /// IP bytes originator → responder.
    pub orig_ip_bytes: u64,
    /// Packets responder → originator.
    pub resp_pkts: u64,
    /// IP bytes responder → originator.
    pub resp_ip_bytes: u64,
    /// Originator (the tuple's source).
    pub orig_h: IpAddr,
    /// Responder.
    pub resp_h: IpAddr,
    /// Originator port.
    pub orig_p: u16,
    /// Responder port.
    pub resp_p: u16,
    /// IP protocol number.
    pub ip_proto: u8,
    /// Timestamp precision in decimal digits.
    pub ts_digits: u8,
    /// Zeek's `conn_state`, as the flow-log stage decided it.
    pub state: ConnState,
    /// Index into the table's flow details (see
    /// [`SessionTable::from_flow_records`]).
    pub info: u32,
    /// The input that logged it.
    pub input: u32,
}

impl FlowRecord {
    /// The full session (its details `infos[info]`).
    pub fn session(&self, infos: &[Arc<FlowInfo>]) -> Session {
        let five = FiveTuple {
            proto: self.ip_proto,
            src: self.orig_h,
            dst: self.resp_h,
            sport: self.orig_p,
            dport: self.resp_p,
        };
        let mut s = Session::new(&five, self.first_ts, self.ts_digits, self.input);
        s.last_ts = self.last_ts;
        s.orig = Side {
            pkts: self.orig_pkts,
            bytes: 0,
            ip_bytes: self.orig_ip_bytes,
        };
        s.resp = Side {
            pkts: self.resp_pkts,
            bytes: 0,
            ip_bytes: self.resp_ip_bytes,
        };
        s.state = self.state;
        s.flow = infos.get(self.info as usize).cloned();
        s
    }

    pub(super) fn order_key(&self) -> OrderKey {
        (
            self.first_ts,
            Proto::from_number(self.ip_proto),
            self.orig_h,
            self.orig_p,
            self.resp_h,
            self.resp_p,
            self.input,
            self.last_ts,
        )
    }
}

/// Flow records of one table and the flow details they index.
#[derive(Debug, Default)]
pub(super) struct FlowChunk {
    pub(super) records: Vec<FlowRecord>,
    pub(super) infos: Vec<Arc<FlowInfo>>,
}

/// What [`Flows::par_iter_ids`] gives for a position past the records
/// (none: the positions are counted from the records).
static NO_RECORD: FlowRecord = FlowRecord {
    first_ts: 0,
    last_ts: 0,
    orig_pkts: 0,
    orig_ip_bytes: 0,
    resp_pkts: 0,
    resp_ip_bytes: 0,
    orig_h: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    resp_h: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    orig_p: 0,
    resp_p: 0,
    ip_proto: 0,
    ts_digits: 0,
    state: ConnState::OTH,
    info: 0,
    input: 0,
};

/// The id of the record at position `k` of all records in chunk order,
/// given the chunks' [`Flows::starts`].
pub(super) fn id_at(starts: &[usize], k: usize) -> u64 {
    let c = starts.partition_point(|&s| s <= k).saturating_sub(1);
    let i = k - starts.get(c).copied().unwrap_or(0);
    (c as u64) << 32 | i as u64
}

/// Records marked by [`Flows::par_marks`]: a bit for each, by position in
/// chunk order.
#[derive(Debug)]
pub(super) struct Marks {
    bits: Vec<u64>,
    /// The chunks' [`Flows::starts`], to find a record's position.
    starts: Vec<usize>,
}

impl Marks {
    /// Whether the record [`Flows::par_iter_ids`] named `id` is marked.
    pub(super) fn has(&self, id: u64) -> bool {
        let Some(&start) = self.starts.get((id >> 32) as usize) else {
            return false;
        };
        let k = start.saturating_add(id as u32 as usize);
        self.bits
            .get(k / 64)
            .is_some_and(|w| w >> (k % 64) & 1 != 0)
    }
}

/// The chunk a thread walking positions in order is in: [`id_at`]'s
/// search (a third of the cost of visiting a record) runs once a chunk.
#[derive(Debug, Default)]
struct Cursor {
    chunk: u64,
    /// The chunk's positions.
    start: usize,
    end: usize,
}

impl Cursor {
    /// The id of position `k` of `n` records in chunks starting at
    /// `starts`.
    fn id(&mut self, starts: &[usize], n: usize, k: usize) -> u64 {
        if !(self.start..self.end).contains(&k) {
            let id = id_at(starts, k);
            let c = (id >> 32) as usize;
            self.chunk = id >> 32;
            self.start = starts.get(c).copied().unwrap_or(0);
            self.end = starts.get(c + 1).copied().unwrap_or(n);
        }
        self.chunk << 32 | (k - self.start) as u64
    }
}

/// The flow records of a table, in chunks (one an input).
#[derive(Debug, Default)]
pub(super) struct Flows {
    chunks: Vec<FlowChunk>,
}

impl Flows {
    pub(super) fn new(chunks: Vec<FlowChunk>) -> Self {
        Flows { chunks }
    }

    /// The record [`Flows::par_iter_ids`] named `id`, and the details it
    /// indexes.
    pub(super) fn get(&self, id: u64) -> Option<(&FlowRecord, &[Arc<FlowInfo>])> {
        let chunk = self.chunks.get((id >> 32) as usize)?;
        let r = chunk.records.get(id as u32 as usize)?;
        Some((r, &chunk.infos))
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &FlowRecord> {
        self.chunks.iter().flat_map(|c| c.records.iter())
    }

    /// Where each chunk's records start when all are counted in chunk
    /// order (the positions [`Flows::par_iter_ids`] goes through).
    pub(super) fn starts(&self) -> Vec<usize> {
        let mut n = 0;
        self.chunks
            .iter()
            .map(|c| {
                let s = n;
                n += c.records.len();
                s
            })
            .collect()
    }

    /// How many records there are.
    pub(super) fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.records.len()).sum()
    }

    /// Every record, in chunk order, with its id: its chunk (high 32 bits)
    /// and its index in the chunk (below 2^31 chunks of 2^32 records each).
    /// An indexed parallel iterator: a caller collects it straight into its
    /// place (each thread walks its positions in order and searches the
    /// chunks' starts only when it leaves a chunk).
    pub(super) fn par_iter_ids(
        &self,
    ) -> impl IndexedParallelIterator<Item = (u64, &FlowRecord)> + '_ {
        let starts = self.starts();
        let n = self.len();
        (0..n)
            .into_par_iter()
            .with_min_len(1 << 14)
            .map_init(Cursor::default, move |cur, k| {
                let id = cur.id(&starts, n, k);
                (id, self.get(id).map_or(&NO_RECORD, |(r, _)| r))
            })
    }

    /// The records for which `f` holds (with the details they index),
    /// found in parallel, each thread reading its records straight through.
    pub(super) fn par_marks(
        &self,
        f: impl Fn(&FlowRecord, &[Arc<FlowInfo>]) -> bool + Sync,
    ) -> Marks {
        let starts = self.starts();
        let n = self.len();
        let bits = (0..n.div_ceil(64))
            .into_par_iter()
            .with_min_len(1 << 8)
            .map_init(Cursor::default, |cur, w| {
                let mut bits = 0u64;
                for k in w * 64..n.min(w * 64 + 64) {
                    if self
                        .get(cur.id(&starts, n, k))
                        .is_some_and(|(r, infos)| f(r, infos))
                    {
                        bits |= 1 << (k % 64);
                    }
                }
                bits
            })
            .collect();
        Marks { bits, starts }
    }

    /// Every flow detail the records index.
    pub(super) fn infos(&self) -> impl Iterator<Item = &Arc<FlowInfo>> {
        self.chunks.iter().flat_map(|c| c.infos.iter())
    }
}

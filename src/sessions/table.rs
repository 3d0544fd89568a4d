//! Building sessions from packets: the table of one input (or shard), its
//! open flows, and how each packet is applied to its session.

use super::flow_record::FlowChunk;
use super::index::{self, FlowIndex};
use super::key::{FlowKey, starts_flipped};
use super::model::{IcmpNote, NO_TRACK, Proto, Session};
use super::state::ConnState;
use super::tcp::TcpTrack;
use crate::decode::{FiveTuple, IcmpError, PacketSummary, tcp_flags};
use rayon::prelude::*;
use serde::Serialize;
use std::net::IpAddr;

/// Idle time after which a TCP session ends (Zeek's tcp_inactivity_timeout).
pub const TCP_INACTIVITY_NS: i64 = 300 * 1_000_000_000;
/// Idle time after which a UDP or ICMP session ends (Zeek: 1 min).
pub const UDP_INACTIVITY_NS: i64 = 60 * 1_000_000_000;
/// After a close, packets within this delay still belong to the closed
/// session (Zeek's tcp_close_delay).
pub const TCP_CLOSE_DELAY_NS: i64 = 5 * 1_000_000_000;

/// Per-input counts of what happened to packets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PacketStats {
    /// Frames read from the file.
    pub read: u64,
    /// Frames decoded into a summary.
    pub decoded: u64,
    /// ICMP errors linked to the session they name.
    pub icmp_linked: u64,
}

/// Packets [`SessionTable::add_batch`] looks up together: enough loads in
/// flight to hide most of their latency, few enough to stay in cache.
pub const BATCH: usize = 16;

/// The sessions of one input (or shard), and the flows still open.
#[derive(Debug, Default)]
pub struct SessionTable {
    pub(super) sessions: Vec<Session>,
    /// Settled sessions of the tables concatenated into this one, one run a
    /// table, each in the order its sessions were made.
    pub(super) runs: Vec<Vec<Session>>,
    /// TCP state machines of unsettled sessions, by [`Session::track`].
    pub(super) tracks: Vec<TcpTrack>,
    /// Slots of `tracks` free for reuse.
    pub(super) free_tracks: Vec<u32>,
    /// Open flows: their session and TCP state (the state's index is kept
    /// here too, so both loads start at once instead of one after the other:
    /// on captures of many flows each is a cache miss).
    pub(super) active: FlowIndex,
    /// Flow-log sessions, compact until [`SessionTable::finish`], one chunk
    /// per table concatenated (never copied into one vector).
    pub(super) flows: Vec<FlowChunk>,
}

impl Session {
    /// Whether the address/port pair is the originator side.
    fn is_orig(&self, src: IpAddr, sport: u16) -> bool {
        self.orig_h == src && self.orig_p == sport
    }

    /// Swap originator and responder (Zeek's flip), marking the history.
    fn flip(&mut self) {
        std::mem::swap(&mut self.orig_h, &mut self.resp_h);
        std::mem::swap(&mut self.orig_p, &mut self.resp_p);
        std::mem::swap(&mut self.orig, &mut self.resp);
        std::mem::swap(&mut self.udp_orig, &mut self.udp_resp);
    }

    /// Apply one packet; `tcp` is the session's TCP state (for TCP).
    fn apply(&mut self, tcp: Option<&mut TcpTrack>, p: &PacketSummary) {
        let is_orig = self.is_orig(p.tuple.src, p.tuple.sport);
        // Zeek stops the clock once both sides have closed: the last ACK of
        // a FIN exchange does not lengthen the connection.
        if !tcp
            .as_ref()
            .is_some_and(|t| t.orig.did_close && t.resp.did_close)
        {
            self.last_ts = self.last_ts.max(p.ts_ns);
        }
        self.first_ts = self.first_ts.min(p.ts_ns);
        match (self.proto, tcp) {
            (Proto::Tcp, Some(tcp)) => {
                let eff = tcp.packet(
                    &mut self.history,
                    is_orig,
                    p.flags,
                    p.seq,
                    p.ack,
                    p.payload_len,
                );
                if eff.syn_retransmit {
                    self.syn_retransmits += 1;
                }
                let side = if is_orig {
                    &mut self.orig
                } else {
                    &mut self.resp
                };
                side.pkts += 1;
                side.ip_bytes += u64::from(p.ip_len);
                if eff.flipped {
                    self.flip();
                }
            }
            _ => {
                let side = if is_orig {
                    &mut self.orig
                } else {
                    &mut self.resp
                };
                side.pkts += 1;
                side.bytes += u64::from(p.payload_len);
                side.ip_bytes += u64::from(p.ip_len);
                if is_orig {
                    if !self.udp_orig {
                        self.history.push(b'D');
                    }
                    self.udp_orig = true;
                } else {
                    if !self.udp_resp {
                        self.history.push(b'd');
                    }
                    self.udp_resp = true;
                }
            }
        }
    }

    /// Compute the final state and byte counts (once; `tracks` are the TCP
    /// state machines of the table the session is in).
    pub(super) fn settle(&mut self, tracks: &[TcpTrack]) {
        if std::mem::replace(&mut self.settled, true) {
            return;
        }
        let track = std::mem::replace(&mut self.track, NO_TRACK);
        let empty = TcpTrack::default();
        match self.proto {
            Proto::Tcp if self.flow.is_none() => {
                let tcp = tracks.get(track as usize).unwrap_or(&empty);
                self.orig.bytes = tcp.orig.size();
                self.resp.bytes = tcp.resp.size();
                self.state = tcp.conn_state(&self.history);
            }
            Proto::Udp if self.flow.is_none() => {
                self.state = match (self.udp_orig, self.udp_resp) {
                    (true, true) => ConnState::SF,
                    (true, false) => ConnState::S0,
                    (false, true) => ConnState::SHR,
                    (false, false) => ConnState::OTH,
                };
            }
            _ if self.flow.is_none() => self.state = ConnState::OTH,
            _ => {}
        }
    }
}

impl SessionTable {
    /// An empty table.
    pub fn new() -> Self {
        SessionTable::default()
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
            + self.runs.iter().map(Vec::len).sum::<usize>()
            + self.flows.iter().map(|c| c.records.len()).sum::<usize>()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Add a finished session (used by the flow-log stage).
    pub fn push(&mut self, s: Session) {
        self.sessions.push(s);
    }

    /// The table's runs of settled sessions: those of the tables
    /// concatenated into it, then its own, settled (which drops the TCP
    /// state machines).
    pub(super) fn into_runs(self) -> Vec<Vec<Session>> {
        let mut runs = self.runs;
        let mut v = self.sessions;
        let tracks = self.tracks;
        v.par_iter_mut().for_each(|s| s.settle(&tracks));
        if !v.is_empty() {
            runs.push(v);
        }
        runs
    }

    /// A TCP state slot for a new session.
    fn new_track(&mut self) -> u32 {
        match self.free_tracks.pop() {
            Some(i) => {
                if let Some(t) = self.tracks.get_mut(i as usize) {
                    *t = TcpTrack::default();
                }
                i
            }
            None => {
                self.tracks.push(TcpTrack::default());
                (self.tracks.len() - 1) as u32
            }
        }
    }

    /// Settle session `i`, which no packet can reach any more, and free its
    /// TCP state.
    fn retire(&mut self, i: usize) {
        if let Some(s) = self.sessions.get_mut(i) {
            let track = s.track;
            s.settle(&self.tracks);
            if track != NO_TRACK {
                self.free_tracks.push(track);
            }
        }
    }

    /// Feed packets seen by `input`, in order: the same as
    /// [`SessionTable::add_packet`] for each, but the flows' entries and
    /// sessions are first looked up for the whole batch. Those loads do not
    /// depend on each other, so the processor overlaps their cache misses;
    /// packet by packet, each lookup waited for the one before (on captures
    /// of many flows the misses were most of the table's time; this took a
    /// tenth off reading the small-packet benchmark capture). Returns how many
    /// packets were ICMP errors linked to their session.
    pub fn add_batch(&mut self, batch: &[PacketSummary], input: u32) -> u64 {
        let mut keys = [(FlowKey::default(), 0u64); BATCH];
        let mut linked = 0;
        for chunk in batch.chunks(BATCH) {
            // Prefetch every flow's index slot, then (once they are likely
            // in) every session and TCP state the slots name, then apply the
            // packets: the misses of a round overlap instead of coming one
            // after another.
            for (k, p) in keys.iter_mut().zip(chunk) {
                let key = FlowKey::of(&p.tuple);
                *k = (key, FlowIndex::hash(&key));
                self.active.prefetch(k.1);
            }
            for (_, h) in keys.iter().take(chunk.len()) {
                // The first entry with the flow's hash, its key unchecked:
                // only a hint of what to fetch.
                if let Some((i, t)) = self.active.get(*h, |_| true) {
                    if let Some(s) = self.sessions.get(i as usize) {
                        index::prefetch(s);
                    }
                    if let Some(tr) = self.tracks.get(t as usize) {
                        index::prefetch(tr);
                    }
                }
            }
            for (p, (key, h)) in chunk.iter().zip(&keys) {
                if self.add_keyed(p, key, *h, input) {
                    linked += 1;
                }
            }
        }
        linked
    }

    /// Feed one packet seen by `input`. Returns true when the packet was an
    /// ICMP error linked to the session it names.
    pub fn add_packet(&mut self, p: &PacketSummary, input: u32) -> bool {
        let key = FlowKey::of(&p.tuple);
        self.add_keyed(p, &key, FlowIndex::hash(&key), input)
    }

    /// [`SessionTable::add_packet`] with the packet's flow key and its hash.
    fn add_keyed(&mut self, p: &PacketSummary, key: &FlowKey, h: u64, input: u32) -> bool {
        if let Some(err) = p.icmp_error
            && let Some(about) = err.about
            && self.link_icmp(&about, &err, p.ts_ns)
        {
            return true;
        }
        let old = self.active.get(h, |i| is_flow(&self.sessions, i, key));
        let (idx, track) = match old {
            Some((i, t)) if self.continues(i as usize, t, p) => (i as usize, t),
            _ => {
                if let Some((i, _)) = old {
                    self.retire(i as usize);
                }
                let mut s = Session::new(&p.tuple, p.ts_ns, p.ts_digits, input);
                if s.proto == Proto::Tcp {
                    s.track = self.new_track();
                }
                if starts_flipped(p) {
                    s.flip();
                    s.history.push(b'^');
                }
                let i = self.sessions.len();
                let t = s.track;
                self.sessions.push(s);
                let sessions = &self.sessions;
                self.active
                    .set(h, i as u32, t, |j| is_flow(sessions, j, key));
                (i, t)
            }
        };
        if let Some(s) = self.sessions.get_mut(idx) {
            s.ts_digits = s.ts_digits.max(p.ts_digits);
            let tcp = self.tracks.get_mut(track as usize);
            s.apply(tcp, p);
        }
        false
    }

    /// Whether packet `p` belongs to the open session `i` with TCP state
    /// `track` (or starts a new one: idle timeout, or port reuse after a
    /// close).
    fn continues(&self, i: usize, track: u32, p: &PacketSummary) -> bool {
        let tcp = self.tracks.get(track as usize);
        let Some(s) = self.sessions.get(i) else {
            return false;
        };
        let idle = p.ts_ns.saturating_sub(s.last_ts);
        let timeout = if s.proto == Proto::Tcp {
            TCP_INACTIVITY_NS
        } else {
            UDP_INACTIVITY_NS
        };
        if idle >= timeout {
            return false;
        }
        if s.proto == Proto::Tcp && tcp.is_some_and(TcpTrack::terminated) {
            let pure_syn = p.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN;
            if pure_syn || idle >= TCP_CLOSE_DELAY_NS {
                return false;
            }
        }
        true
    }

    /// Link ICMP error `p` to the open session of the flow it names, as
    /// [`SessionTable::add_packet`] would, but make no session of it when
    /// there is none. Returns whether it was linked. (A capture split by
    /// flow tries the link in the shard of the flow named, at the error's
    /// place in the file, and makes the error's own session elsewhere.)
    pub fn link_error(&mut self, p: &PacketSummary) -> bool {
        match p.icmp_error {
            Some(err) => err
                .about
                .is_some_and(|about| self.link_icmp(&about, &err, p.ts_ns)),
            None => false,
        }
    }

    fn link_icmp(&mut self, about: &FiveTuple, err: &IcmpError, ts_ns: i64) -> bool {
        let key = FlowKey::of(about);
        let Some((i, _)) = self
            .active
            .get(FlowIndex::hash(&key), |i| is_flow(&self.sessions, i, &key))
        else {
            return false;
        };
        let Some(s) = self.sessions.get_mut(i as usize) else {
            return false;
        };
        if s.icmp_error.is_none() {
            s.icmp_error = Some(IcmpNote {
                icmp_type: err.icmp_type,
                code: err.code,
                from: err.reporter,
                ts_ns,
                v6: err.v6,
            });
        }
        s.last_ts = s.last_ts.max(ts_ns);
        true
    }
}

/// Whether session `i` of `sessions` is of flow `key` (the check behind
/// every [`FlowIndex`] lookup, whose entries hold only a hash).
#[inline]
fn is_flow(sessions: &[Session], i: u32, key: &FlowKey) -> bool {
    sessions.get(i as usize).is_some_and(|s| s.key() == *key)
}

//! Building sessions from packets: the table of one input (or shard), its
//! open flows, and how each packet is applied to its session.

use super::flow_record::{FlowChunk, FlowRecord};
use super::index::{self, FlowIndex};
use super::key::{FlowKey, starts_flipped};
use super::model::{FlowInfo, IcmpNote, Proto, Session};
use super::state::ConnState;
use super::tcp::TcpTrack;
use crate::decode::{FiveTuple, IcmpError, PacketSummary, tcp_flags};
use rayon::prelude::*;
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;

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

/// [`SessionTable::tracking`] of an open session without TCP state (and the
/// TCP state of such a session in the open-flow index).
const NO_TRACK: u32 = u32::MAX;
/// [`SessionTable::tracking`] of a settled session (final state and counts).
const SETTLED: u32 = u32::MAX - 1;

/// The sessions of one input (or shard), and the flows still open.
#[derive(Debug, Default)]
pub struct SessionTable {
    pub(super) sessions: Vec<Session>,
    /// What a session of `sessions` still needs to settle, by its index:
    /// its TCP state machines in `tracks`, [`NO_TRACK`] (an open session of
    /// another protocol) or [`SETTLED`]. Kept beside the sessions, not in
    /// them: finished sessions, which are sorted and moved, need not carry
    /// it, and the packet path reads the TCP state's index from the
    /// open-flow index.
    pub(super) tracking: Vec<u32>,
    /// Settled sessions of the tables concatenated into this one, one run a
    /// table, each in the order its sessions were made.
    pub(super) runs: Vec<Vec<Session>>,
    /// TCP state machines of unsettled sessions (see `tracking`).
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
                    !p.payload_cut,
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
                let (side, letter) = if is_orig {
                    (&mut self.orig, b'D')
                } else {
                    (&mut self.resp, b'd')
                };
                // A side's first packet is a history letter (counts of
                // sessions without TCP state change only here).
                if side.pkts == 0 {
                    self.history.push(letter);
                }
                side.pkts += 1;
                side.bytes += u64::from(p.payload_len);
                side.ip_bytes += u64::from(p.ip_len);
                if self.proto == Proto::Udp && ntp_flips(self, is_orig, p) {
                    // Zeek's NTP analyzer flips the connection in the middle
                    // of the packet (`proc_ntp_message`) and its UDP
                    // bookkeeping does not follow: the counters and the
                    // `D`/`d` already written keep their labels, so only
                    // the endpoints swap (`ntp-misordered-ntp`: `D^`, S0).
                    std::mem::swap(&mut self.orig_h, &mut self.resp_h);
                    std::mem::swap(&mut self.orig_p, &mut self.resp_p);
                    self.history.push(b'^');
                }
            }
        }
    }

    /// Compute the final state and byte counts, once, when no packet can
    /// reach the session any more; `tcp` is its TCP state (for TCP).
    fn settle(&mut self, tcp: Option<&TcpTrack>) {
        let empty = TcpTrack::default();
        match self.proto {
            Proto::Tcp if self.flow.is_none() => {
                let tcp = tcp.unwrap_or(&empty);
                self.orig.bytes = tcp.orig.size();
                self.resp.bytes = tcp.resp.size();
                self.missed = tcp.orig.gap.missed.saturating_add(tcp.resp.gap.missed);
                self.payload_cut = tcp.payload_cut;
                self.state = tcp.conn_state(&self.history);
            }
            Proto::Udp if self.flow.is_none() => {
                self.state = match (self.orig.pkts > 0, self.resp.pkts > 0) {
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

/// Zeek's `dns_session_timeout` (10 s): the DNS analyzer's timer checks a
/// UDP DNS connection every 10 s from its start.
const DNS_SESSION_TIMEOUT_NS: i64 = 10 * 1_000_000_000;

/// When Zeek removes a UDP connection with the DNS analyzer (responder port
/// 53, 137, 5353 or 5355) whose first packet was at `first` and last at
/// `last`: the first of its timer's checks (`first` + 10 s, + 20 s, ...)
/// that finds at least 9 s of silence (`DNS_Analyzer::ExpireTimer`), not
/// after UDP's 60 s. A later packet starts a new connection.
fn dns_expiry(first: i64, last: i64) -> i64 {
    let due = last.saturating_add(DNS_SESSION_TIMEOUT_NS - 1_000_000_000);
    let k = (due.saturating_sub(first) + DNS_SESSION_TIMEOUT_NS - 1)
        .div_euclid(DNS_SESSION_TIMEOUT_NS)
        .max(1);
    first.saturating_add(k.saturating_mul(DNS_SESSION_TIMEOUT_NS))
}

/// Whether NTP packet `p` flips its session, as Zeek's NTP analyzer does
/// (attached to UDP connections whose responder port is 123): a server's
/// message (mode 4) from the originator, or a client's (mode 3) from the
/// responder, once per connection (never after a flip, `^`).
fn ntp_flips(s: &Session, is_orig: bool, p: &PacketSummary) -> bool {
    if s.resp_p != 123 || p.payload_len == 0 || s.history.as_str().contains('^') {
        return false;
    }
    match p.udp_first_byte & 0x07 {
        4 => is_orig,
        3 => !is_orig,
        _ => false,
    }
}

impl SessionTable {
    /// An empty table.
    pub fn new() -> Self {
        SessionTable::default()
    }

    /// A table of already finished sessions, e.g. from flow logs.
    pub fn from_sessions(sessions: Vec<Session>) -> SessionTable {
        SessionTable {
            tracking: vec![SETTLED; sessions.len()],
            sessions,
            ..SessionTable::default()
        }
    }

    /// A table of flow-log sessions in compact form; `infos` holds the flow
    /// details their [`FlowRecord::info`] index (shared by many).
    pub fn from_flow_records(flows: Vec<FlowRecord>, infos: Vec<Arc<FlowInfo>>) -> SessionTable {
        SessionTable {
            flows: vec![FlowChunk {
                records: flows,
                infos,
            }],
            ..SessionTable::default()
        }
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

    /// Add a finished session: its state and counts are final, the table
    /// does not settle it (`builds` gathers the sessions it keeps of each
    /// file this way).
    pub fn push(&mut self, s: Session) {
        self.sessions.push(s);
        self.tracking.push(SETTLED);
    }

    /// The table's runs of settled sessions: those of the tables
    /// concatenated into it, then its own, settled (which drops the TCP
    /// state machines).
    pub(super) fn into_runs(self) -> Vec<Vec<Session>> {
        let mut runs = self.runs;
        let mut v = self.sessions;
        let tracks = self.tracks;
        v.par_iter_mut()
            .zip(self.tracking.par_iter())
            .for_each(|(s, &t)| {
                if t != SETTLED {
                    s.settle(tracks.get(t as usize));
                }
            });
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
        if let (Some(s), Some(t)) = (self.sessions.get_mut(i), self.tracking.get_mut(i)) {
            let track = std::mem::replace(t, SETTLED);
            if track == SETTLED {
                return;
            }
            s.settle(self.tracks.get(track as usize));
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
                let t = if s.proto == Proto::Tcp {
                    self.new_track()
                } else {
                    NO_TRACK
                };
                if starts_flipped(p) {
                    s.flip();
                    s.history.push(b'^');
                }
                let i = self.sessions.len();
                self.sessions.push(s);
                self.tracking.push(t);
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
        if s.proto == Proto::Udp
            && matches!(s.resp_p, 53 | 137 | 5353 | 5355)
            && p.ts_ns >= dns_expiry(s.first_ts, s.last_ts)
        {
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

#[cfg(test)]
mod tests {
    use super::super::model::SeenBy;
    use super::*;
    use crate::decode::tcp_flags::{ACK, FIN, SYN};
    use crate::decode::{FiveTuple, proto};

    const S: i64 = 1_000_000_000;

    fn pkt(
        ip_proto: u8,
        from_client: bool,
        ts_ns: i64,
        flags: u8,
        seq: u32,
        ack: u32,
    ) -> PacketSummary {
        let (c, s): (IpAddr, IpAddr) = ("10.0.0.4".parse().unwrap(), "10.0.1.5".parse().unwrap());
        // A server port for the protocol (SSH; DNS for UDP, where 22 is none).
        let server = if ip_proto == proto::UDP { 53 } else { 22 };
        let (src, dst, sport, dport) = if from_client {
            (c, s, 40000, server)
        } else {
            (s, c, server, 40000)
        };
        PacketSummary {
            ts_ns,
            ts_digits: 6,
            tuple: FiveTuple {
                proto: ip_proto,
                src,
                dst,
                sport,
                dport,
            },
            flags,
            seq,
            ack,
            payload_len: 0,
            ip_len: 40,
            udp_first_byte: 0,
            payload_cut: false,
            icmp_error: None,
        }
    }

    /// A session retired on port reuse keeps the state it settled with,
    /// though the next session of the flow takes over its TCP state slot.
    #[test]
    fn a_retired_session_keeps_its_state_when_its_tcp_slot_is_reused() {
        let mut t = SessionTable::new();
        let tcp = |c, ts, f, seq, ack| pkt(proto::TCP, c, ts, f, seq, ack);
        for p in [
            tcp(true, 0, SYN, 100, 0),
            tcp(false, 1, SYN | ACK, 500, 101),
            tcp(true, 2, ACK, 101, 501),
            tcp(true, 3, FIN | ACK, 101, 501),
            tcp(false, 4, FIN | ACK, 501, 102),
            tcp(true, 5, ACK, 102, 502),
            // The port again, after the close delay: a new session, which
            // gets the first one's (freed) TCP state slot.
            tcp(true, 20 * S, SYN, 9000, 0),
        ] {
            t.add_packet(&p, 0);
        }
        assert_eq!(t.tracks.len(), 1, "the slot is reused");
        let v = t.finish();
        let states: Vec<_> = v
            .iter()
            .map(|s| (s.state, s.history.as_str().to_string()))
            .collect();
        assert_eq!(
            states,
            [
                (ConnState::SF, "ShAFf".to_string()),
                (ConnState::S0, "S".to_string())
            ]
        );
    }

    /// Sessions without TCP state settle from their counts, whether retired
    /// (idle timeout) or open at the end.
    #[test]
    fn udp_sessions_settle_from_their_counts() {
        let mut t = SessionTable::new();
        let udp = |c, ts| pkt(proto::UDP, c, ts, 0, 0, 0);
        for p in [
            udp(true, 0),
            udp(false, S),
            udp(true, 2 * S),
            udp(false, 2 * S + UDP_INACTIVITY_NS),
        ] {
            t.add_packet(&p, 0);
        }
        let v = t.finish();
        let got: Vec<_> = v
            .iter()
            .map(|s| {
                (
                    s.state,
                    s.history.as_str().to_string(),
                    s.orig.pkts,
                    s.resp.pkts,
                )
            })
            .collect();
        // The second session starts with the server's packet: flipped, so
        // that the client is still the originator.
        assert_eq!(
            got,
            [
                (ConnState::SF, "Dd".to_string(), 2, 1),
                (ConnState::SHR, "^d".to_string(), 0, 1)
            ]
        );
    }

    /// A pushed session is finished: the table does not settle it again
    /// (a coalesced session's state need not follow from its counts).
    #[test]
    fn pushed_sessions_are_not_settled_again() {
        let mut s = Session::new(&pkt(proto::UDP, true, 0, 0, 0, 0).tuple, 0, 6, 3);
        s.orig.pkts = 2;
        s.resp.pkts = 1;
        s.state = ConnState::S0;
        let mut t = SessionTable::new();
        t.push(s);
        let v = t.finish();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].state, ConnState::S0);
        assert_eq!(v[0].seen_by, SeenBy::one(3));
    }

    /// UDP orientation by Zeek's UDP server ports: a DHCP reply from 67 to a
    /// unicast client's 68 is the client's connection (flipped, `^d`), one
    /// to the limited broadcast is not flipped (issue 20).
    #[test]
    fn dhcp_reply_is_the_clients_unless_broadcast() {
        let server: IpAddr = "128.2.6.152".parse().unwrap();
        for (dst, want) in [("128.2.6.189", "^d"), ("255.255.255.255", "D")] {
            let mut p = pkt(proto::UDP, false, 0, 0, 0, 0);
            p.tuple = FiveTuple {
                proto: proto::UDP,
                src: server,
                dst: dst.parse().unwrap(),
                sport: 67,
                dport: 68,
            };
            let mut t = SessionTable::new();
            t.add_packet(&p, 0);
            let v = t.finish();
            assert_eq!(v[0].history.as_str(), want, "{dst}");
            assert_eq!(v[0].resp_p, if want == "D" { 68 } else { 67 }, "{dst}");
        }
    }

    /// A UDP DNS connection ends at the first 10 s check from its start
    /// that finds 9 s of silence (`tunnels-Teredo`: queries at 0.0–0.2 s
    /// and 15.9–16.2 s are two connections), other UDP after 60 s.
    #[test]
    fn dns_over_udp_expires_by_zeeks_dns_timer() {
        assert_eq!(dns_expiry(0, S / 5), 10 * S);
        assert_eq!(dns_expiry(0, 3 * S / 2), 20 * S);
        assert_eq!(dns_expiry(0, 15 * S), 30 * S);
        let mut t = SessionTable::new();
        for ts in [0, S / 5, 16 * S, 16 * S + S / 5] {
            t.add_packet(&pkt(proto::UDP, true, ts, 0, 0, 0), 0);
        }
        assert_eq!(t.finish().len(), 2);
    }

    /// Symmetric NTP (123 ↔ 123) whose server reply is seen before the
    /// request: Zeek's NTP analyzer flips at the reply (mode 4 from the
    /// originator) and keeps its counters' labels: `D^`, S0, the client
    /// the originator (`ntp-misordered-ntp`). A request first is not flipped.
    #[test]
    fn ntp_reply_before_request_flips_like_zeek() {
        let (client, server): (IpAddr, IpAddr) = (
            "192.168.1.95".parse().unwrap(),
            "17.253.4.253".parse().unwrap(),
        );
        let ntp = |from_server: bool, ts: i64| {
            let mut p = pkt(proto::UDP, true, ts, 0, 0, 0);
            let (src, dst) = if from_server {
                (server, client)
            } else {
                (client, server)
            };
            p.tuple = FiveTuple {
                proto: proto::UDP,
                src,
                dst,
                sport: 123,
                dport: 123,
            };
            p.payload_len = 48;
            p.udp_first_byte = if from_server { 0x24 } else { 0x23 };
            p
        };
        for (first_server, want) in [
            (true, ("D^", ConnState::S0, 2, 0)),
            (false, ("Dd", ConnState::SF, 1, 1)),
        ] {
            let mut t = SessionTable::new();
            t.add_packet(&ntp(first_server, 0), 0);
            t.add_packet(&ntp(!first_server, S), 0);
            let v = t.finish();
            assert_eq!(v.len(), 1);
            let s = &v[0];
            assert_eq!(
                (s.history.as_str(), s.state, s.orig.pkts, s.resp.pkts),
                want
            );
            assert_eq!(s.orig_h, client, "the client is the originator");
        }
    }
}

//! Sessions: bidirectional TCP / UDP / ICMP conversations rebuilt from packets
//! (and, through the flow-log stage, from flow tuples), with Zeek's
//! `conn_state` and `history`.
//!
//! A [`SessionTable`] holds the sessions of one input (or one shard of one
//! input). Tables merge by concatenation ([`SessionTable::merge`], associative
//! and commutative); [`SessionTable::finish`] then coalesces the views of one
//! connection seen at several capture points into one session listing every
//! input that saw it, and sorts, so the result does not depend on thread count
//! or input order.

mod endpoint;
mod filter;
mod index;
mod state;
mod tcp;

pub use endpoint::Endpoint;
pub use filter::Filter;
pub use state::{ConnState, History};

use crate::decode::{FiveTuple, IcmpError, PacketSummary, proto, tcp_flags};
use index::FlowIndex;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;
use tcp::TcpTrack;

/// Idle time after which a TCP session ends (Zeek's tcp_inactivity_timeout).
pub const TCP_INACTIVITY_NS: i64 = 300 * 1_000_000_000;
/// Idle time after which a UDP or ICMP session ends (Zeek: 1 min).
pub const UDP_INACTIVITY_NS: i64 = 60 * 1_000_000_000;
/// After a close, packets within this delay still belong to the closed
/// session (Zeek's tcp_close_delay).
pub const TCP_CLOSE_DELAY_NS: i64 = 5 * 1_000_000_000;
/// Views of one connection from different capture points are one session
/// when their times overlap within this tolerance (clocks of different VMs
/// are not perfectly in step).
pub const COALESCE_SKEW_NS: i64 = 2 * 1_000_000_000;

/// The transport protocol of a session, as named in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (IPv4).
    Icmp,
    /// ICMPv6.
    Icmpv6,
    /// Anything else.
    Other,
}

impl Proto {
    /// From an IP protocol number.
    pub fn from_number(n: u8) -> Proto {
        match n {
            proto::TCP => Proto::Tcp,
            proto::UDP => Proto::Udp,
            proto::ICMP => Proto::Icmp,
            proto::ICMPV6 => Proto::Icmpv6,
            _ => Proto::Other,
        }
    }

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Icmpv6 => "icmpv6",
            Proto::Other => "other",
        }
    }
}

/// Packet and byte counts of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Side {
    /// Packets sent.
    pub pkts: u64,
    /// Payload bytes (TCP: sequence space covered, as Zeek counts it; UDP and
    /// ICMP: payload lengths).
    pub bytes: u64,
    /// IP bytes (headers included), as the IP headers declare them.
    pub ip_bytes: u64,
}

/// Set of inputs (by index into the run's input list) that saw a session.
/// Inline for the first 64 inputs; allocation only beyond that (boxed, so
/// the common case costs a session 16 bytes, not 32).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenBy {
    low: u64,
    // Boxed on purpose: 8 bytes on every session instead of a 24-byte
    // `Vec` that is empty unless a run has more than 64 inputs.
    #[allow(clippy::box_collection)]
    high: Option<Box<Vec<u32>>>,
}

impl SeenBy {
    /// A set holding one input.
    pub fn one(input: u32) -> Self {
        let mut s = SeenBy::default();
        s.insert(input);
        s
    }

    /// Add an input.
    pub fn insert(&mut self, input: u32) {
        if input < 64 {
            self.low |= 1 << input;
        } else {
            let high = self.high.get_or_insert_with(Box::default);
            if let Err(at) = high.binary_search(&input) {
                high.insert(at, input);
            }
        }
    }

    /// Add every input of another set.
    pub fn union(&mut self, other: &SeenBy) {
        self.low |= other.low;
        for &i in other.high_slice() {
            self.insert(i);
        }
    }

    /// Whether the sets share an input.
    pub fn intersects(&self, other: &SeenBy) -> bool {
        self.low & other.low != 0
            || self
                .high_slice()
                .iter()
                .any(|i| other.high_slice().binary_search(i).is_ok())
    }

    /// Whether the set holds an input.
    fn contains(&self, input: u32) -> bool {
        if input < 64 {
            self.low & (1 << input) != 0
        } else {
            self.high_slice().binary_search(&input).is_ok()
        }
    }

    fn high_slice(&self) -> &[u32] {
        self.high.as_deref().map(Vec::as_slice).unwrap_or_default()
    }

    /// The inputs, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        let mut low = self.low;
        std::iter::from_fn(move || {
            (low != 0).then(|| {
                let i = low.trailing_zeros();
                low &= low - 1;
                i
            })
        })
        .chain(self.high_slice().iter().copied())
    }

    /// The smallest input index.
    pub fn first(&self) -> u32 {
        if self.low != 0 {
            return self.low.trailing_zeros();
        }
        self.high_slice().first().copied().unwrap_or(u32::MAX)
    }
}

/// An ICMP error linked to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IcmpNote {
    /// ICMP type.
    #[serde(rename = "type")]
    pub icmp_type: u8,
    /// ICMP code.
    pub code: u8,
    /// Who sent it.
    pub from: IpAddr,
    /// When it was first seen (ns since the epoch).
    #[serde(skip)]
    pub ts_ns: i64,
    /// Whether it is ICMPv6.
    #[serde(skip)]
    pub v6: bool,
}

impl IcmpNote {
    /// A short description: "port unreachable from 10.0.0.5".
    pub fn describe(&self) -> String {
        let what = match (self.v6, self.icmp_type, self.code) {
            (false, 3, 0) | (true, 1, 3) => "host unreachable",
            (false, 3, 1) => "host unreachable",
            (false, 3, 2) => "protocol unreachable",
            (false, 3, 3) | (true, 1, 4) => "port unreachable",
            (false, 3, 9 | 10 | 13) | (true, 1, 1) => "administratively prohibited",
            (false, 3, _) | (true, 1, _) => "destination unreachable",
            (false, 11, _) | (true, 3, _) => "time exceeded",
            (true, 2, _) => "packet too big",
            _ => "ICMP error",
        };
        format!("{what} from {}", self.from)
    }
}

/// What a flow log says about a session (empty for capture sessions). Filled
/// by the flow-log stage. Text fields are shared (`Arc<str>`): millions of
/// flow-log sessions name a handful of rules, NSGs and notes, and a `String`
/// each cost a third of the run time in allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlowInfo {
    /// `allow` or `deny`.
    pub decision: Option<&'static str>,
    /// The NSG / AVNM rule that decided.
    pub rule: Option<Arc<str>>,
    /// `inbound` or `outbound`, as the logging NSG saw it.
    pub direction: Option<&'static str>,
    /// Flow states seen (`B`, `C`, `E`, `D`), in order.
    pub flow_state: Option<Arc<str>>,
    /// NSG or flow-log target resource id.
    pub nsg: Option<Arc<str>>,
    /// VNet flow logs: the resource the flow log is enabled on (VNet, subnet
    /// or NIC); `nsg` then holds the ACL that decided.
    pub target: Option<Arc<str>>,
    /// A note for the reader (e.g. why counters are missing).
    pub note: Option<Arc<str>>,
}

/// One bidirectional conversation.
#[derive(Debug, Clone)]
pub struct Session {
    /// Transport protocol.
    pub proto: Proto,
    /// Originator address.
    pub orig_h: IpAddr,
    /// Originator port (ICMP: type).
    pub orig_p: u16,
    /// Responder address.
    pub resp_h: IpAddr,
    /// Responder port (ICMP: code or counterpart type).
    pub resp_p: u16,
    /// First packet, ns since the epoch.
    pub first_ts: i64,
    /// Last packet, ns since the epoch.
    pub last_ts: i64,
    /// Timestamp precision in decimal digits (finest of the inputs).
    pub ts_digits: u8,
    /// Originator → responder counts.
    pub orig: Side,
    /// Responder → originator counts.
    pub resp: Side,
    /// Zeek's `conn_state` (final once the table is finished).
    pub state: ConnState,
    /// Zeek's history letters.
    pub history: History,
    /// SYNs the originator sent again while unanswered.
    pub syn_retransmits: u32,
    /// Linked ICMP error, if any.
    pub icmp_error: Option<IcmpNote>,
    /// Inputs that saw the session.
    pub seen_by: SeenBy,
    /// Flow-log details, for sessions that come from flow logs.
    pub flow: Option<Arc<FlowInfo>>,
    ip_proto: u8,
    /// Index of the TCP state machines in the table's tracks while packets
    /// may still arrive ([`NO_TRACK`] once settled, and for other
    /// protocols). Kept apart: finished sessions, which are sorted and
    /// moved, need not carry them.
    track: u32,
    /// Whether the session is settled (state and byte counts final).
    settled: bool,
    udp_orig: bool,
    udp_resp: bool,
}

/// [`Session::track`] of a session without TCP state.
const NO_TRACK: u32 = u32::MAX;

impl Session {
    /// A new, empty session for a flow in the given direction.
    pub fn new(t: &FiveTuple, ts_ns: i64, ts_digits: u8, input: u32) -> Self {
        Session {
            proto: Proto::from_number(t.proto),
            orig_h: t.src,
            orig_p: t.sport,
            resp_h: t.dst,
            resp_p: t.dport,
            first_ts: ts_ns,
            last_ts: ts_ns,
            ts_digits,
            orig: Side::default(),
            resp: Side::default(),
            state: ConnState::OTH,
            history: History::new(),
            syn_retransmits: 0,
            icmp_error: None,
            seen_by: SeenBy::one(input),
            flow: None,
            ip_proto: t.proto,
            track: NO_TRACK,
            settled: false,
            udp_orig: false,
            udp_resp: false,
        }
    }

    /// An empty session that only holds a place while sessions move.
    fn placeholder() -> Self {
        let unspecified = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        let t = FiveTuple {
            proto: 0,
            src: unspecified,
            dst: unspecified,
            sport: 0,
            dport: 0,
        };
        Session::new(&t, 0, 0, 0)
    }

    /// The IP protocol number (`proto` names the common ones only).
    pub fn ip_proto(&self) -> u8 {
        self.ip_proto
    }

    /// The session's flow key.
    pub fn key(&self) -> FlowKey {
        FlowKey::between(
            self.ip_proto,
            self.orig_h,
            self.orig_p,
            self.resp_h,
            self.resp_p,
        )
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        // Saturating: timestamps come from the file, and a pcapng clock offset
        // can put one packet of a session at either end of the i64 range.
        self.last_ts.saturating_sub(self.first_ts) as f64 / 1e9
    }

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
    fn settle(&mut self, tracks: &[TcpTrack]) {
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

    /// Whether the session saw no answer at all from the responder.
    pub fn unanswered(&self) -> bool {
        self.resp.pkts == 0
    }
}

/// Canonical key of a flow: the lower endpoint first, so both directions of
/// a conversation share it. Addresses are kept as 128-bit numbers (IPv4 in
/// the low bits, with a family flag) because comparing and hashing `IpAddr`
/// enums was a tenth of the per-packet time on small packets; as two `u64`
/// words (high first, so they order as the number does) rather than a
/// `u128`, whose 16-byte alignment padded the open-flow map's entries from
/// 48 to 64 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    a: [u64; 2],
    b: [u64; 2],
    a_port: u16,
    b_port: u16,
    proto: u8,
    v6: bool,
}

#[inline]
fn addr_bits(ip: IpAddr) -> [u64; 2] {
    let n = match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    [(n >> 64) as u64, n as u64]
}

impl FlowKey {
    /// The key of a five-tuple (direction-independent).
    #[inline]
    pub fn of(t: &FiveTuple) -> Self {
        let x = (addr_bits(t.src), t.sport);
        let y = (addr_bits(t.dst), t.dport);
        let ((a, a_port), (b, b_port)) = if x <= y { (x, y) } else { (y, x) };
        FlowKey {
            a,
            b,
            a_port,
            b_port,
            proto: t.proto,
            v6: t.src.is_ipv6(),
        }
    }

    /// The key of the flow between two endpoints.
    pub fn between(proto: u8, a: IpAddr, a_port: u16, b: IpAddr, b_port: u16) -> Self {
        FlowKey::of(&FiveTuple {
            proto,
            src: a,
            dst: b,
            sport: a_port,
            dport: b_port,
        })
    }
}

/// The shard (of `n`) of the flow of five-tuple `t`, for sharding flows
/// across threads: the same for both directions and stable across runs. It
/// hashes the XOR of the two endpoints, which needs no canonical order:
/// every thread of the scan scheme pays it for every frame.
#[inline]
pub fn shard(t: &FiveTuple, n: usize) -> usize {
    let [a0, a1] = addr_bits(t.src);
    let [b0, b1] = addr_bits(t.dst);
    let mix = (a0 ^ b0)
        ^ (a1 ^ b1).rotate_left(32)
        ^ u64::from(t.sport ^ t.dport) << 8
        ^ u64::from(t.proto);
    let h = mix.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((h >> 32) % n.max(1) as u64) as usize
}

/// Ports that identify a server when a capture starts mid-stream: Zeek flips
/// such connections so the server is the responder. Zeek derives the set
/// from its analyzers; aibnet lists the services it meets in AIB builds and
/// the common well-known ones, and treats every port below 1024 as one.
pub fn likely_server_port(port: u16) -> bool {
    port < 1024
        || matches!(
            port,
            1080 | 1433
                | 1521
                | 1688
                | 1723
                | 1812
                | 1813
                | 2049
                | 3128
                | 3306
                | 3389
                | 5060
                | 5061
                | 5353
                | 5355
                | 5432
                | 5671
                | 5672
                | 5985
                | 5986
                | 6379
                | 6443
                | 8000
                | 8008
                | 8080
                | 8088
                | 8118
                | 8443
                | 8888
                | 9000
                | 9092
                | 9200
                | 11211
                | 27017
                | 60000
                | 60001
        )
}

/// Whether a new flow should start with its roles flipped (Zeek's
/// `WantConnection`): a TCP flow first seen without a pure SYN, or a UDP flow,
/// whose source port looks like a server's and destination port does not.
fn starts_flipped(p: &PacketSummary) -> bool {
    let (sp, dp) = (p.tuple.sport, p.tuple.dport);
    match p.tuple.proto {
        proto::TCP => {
            let syn = p.flags & tcp_flags::SYN != 0;
            let ack = p.flags & tcp_flags::ACK != 0;
            if syn && !ack {
                return false;
            }
            if !likely_server_port(sp) {
                return false;
            }
            if likely_server_port(dp) {
                !syn && sp < dp
            } else {
                true
            }
        }
        proto::UDP => likely_server_port(sp) && !likely_server_port(dp),
        _ => false,
    }
}

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
    /// The full session.
    fn session(&self, infos: &[Arc<FlowInfo>]) -> Session {
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
        // As finished tables hold them (a flow-log session has nothing to
        // settle but the mark).
        s.settle(&[]);
        s
    }

    fn key(&self) -> FlowKey {
        FlowKey::between(
            self.ip_proto,
            self.orig_h,
            self.orig_p,
            self.resp_h,
            self.resp_p,
        )
    }

    fn order_key(&self) -> OrderKey {
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
    sessions: Vec<Session>,
    /// Settled sessions of the tables concatenated into this one, one run a
    /// table, each in the order its sessions were made.
    runs: Vec<Vec<Session>>,
    /// TCP state machines of unsettled sessions, by [`Session::track`].
    tracks: Vec<TcpTrack>,
    /// Slots of `tracks` free for reuse.
    free_tracks: Vec<u32>,
    /// Open flows: their session and TCP state (the state's index is kept
    /// here too, so both loads start at once instead of one after the other:
    /// on captures of many flows each is a cache miss).
    active: FlowIndex,
    /// Flow-log sessions, compact until [`SessionTable::finish`], one chunk
    /// per table concatenated (never copied into one vector).
    flows: Vec<FlowChunk>,
}

/// Flow records of one table and the flow details they index.
#[derive(Debug, Default)]
struct FlowChunk {
    records: Vec<FlowRecord>,
    infos: Vec<Arc<FlowInfo>>,
}

/// The flow records of a table, numbered across its chunks.
struct Flows<'a> {
    chunks: &'a [FlowChunk],
    /// Number of the first record of each chunk.
    starts: Vec<usize>,
}

impl<'a> Flows<'a> {
    fn new(chunks: &'a [FlowChunk]) -> Self {
        let mut n = 0;
        let starts = chunks
            .iter()
            .map(|c| {
                let s = n;
                n += c.records.len();
                s
            })
            .collect();
        Flows { chunks, starts }
    }

    /// Record `i` and the details it indexes.
    fn get(&self, i: usize) -> Option<(&'a FlowRecord, &'a [Arc<FlowInfo>])> {
        let c = self.starts.partition_point(|&s| s <= i).checked_sub(1)?;
        let chunk = self.chunks.get(c)?;
        let r = chunk.records.get(i - self.starts.get(c)?)?;
        Some((r, &chunk.infos))
    }

    fn iter(&self) -> impl Iterator<Item = &'a FlowRecord> + 'a {
        self.chunks.iter().flat_map(|c| c.records.iter())
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

    /// The sessions as read, settled but neither sorted nor coalesced. For
    /// a caller that keeps a few of an input's sessions and finishes only
    /// those, in a table of its own (`builds` reduces every file this way).
    pub fn into_sessions(mut self) -> Vec<Session> {
        let chunks = std::mem::take(&mut self.flows);
        let mut v = append_runs(self.into_runs());
        for c in &chunks {
            v.reserve(c.records.len());
            v.extend(c.records.iter().map(|f| f.session(&c.infos)));
        }
        v
    }

    /// The table's runs of settled sessions: those of the tables
    /// concatenated into it, then its own, settled (which drops the TCP
    /// state machines).
    fn into_runs(self) -> Vec<Vec<Session>> {
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

    /// Append another table's sessions (associative and commutative up to
    /// the order [`SessionTable::finish`] restores).
    pub fn merge(self, other: SessionTable) -> SessionTable {
        SessionTable::concat(vec![self, other])
    }

    /// Settle every session's state, coalesce the views of one connection
    /// from several inputs, and sort. The result depends only on the
    /// multiset of sessions, not on how tables were split or merged.
    pub fn finish(mut self) -> Vec<Session> {
        let chunks = std::mem::take(&mut self.flows);
        if chunks.iter().all(|c| c.records.is_empty()) {
            return self.finish_sessions();
        }
        finish_with_flows(join_runs(self.into_runs()).0, &Flows::new(&chunks))
    }

    /// [`SessionTable::finish`] for full sessions only (captures).
    fn finish_sessions(self) -> Vec<Session> {
        let (mut v, merged) = join_runs(self.into_runs());
        // Usually already in order: a capture's sessions are made in the
        // order of their first packets, and runs in order were merged. A
        // stable sort would leave such a vector as it is.
        if !merged && !order_ties(&mut v) {
            // Sort small keys (with the index, so the order is that of a
            // stable sort by `order_key`), then move the sessions into place
            // and coalesce, both in place: sorting the 300-byte sessions
            // themselves, and copying them into new vectors, dominated time
            // and memory on the millions of sessions of a day of flow logs.
            let mut keys: Vec<(OrderKey, usize)> = v
                .iter()
                .enumerate()
                .map(|(i, s)| (order_key(s), i))
                .collect();
            keys.par_sort_unstable();
            let perm: Vec<usize> = keys.into_iter().map(|(_, i)| i).collect();
            permute(&mut v, &perm);
        }
        // Views of one connection from several inputs are merged; sessions
        // that all come from one input have nothing to merge (two sessions
        // of one input never coalesce), and the hash map over every session
        // would be a third of this function's time.
        let one_input = v.first().map(|s| s.seen_by.clone());
        if let Some(only) = one_input
            && v.par_iter().all(|s| s.seen_by == only)
            && only.iter().nth(1).is_none()
        {
            return v;
        }
        coalesce(v)
    }

    /// Concatenate many tables: their sessions are settled (TCP state is
    /// per table) and kept as runs, one a table, joined by
    /// [`SessionTable::finish`]. Joining there, not here, means the shards
    /// of a capture are joined after the capture is unmapped: the join
    /// holds two copies of a shard's sessions for a while, and the mapped
    /// file beside them made the run's peak memory.
    pub fn concat(tables: Vec<SessionTable>) -> SessionTable {
        let mut flows = Vec::new();
        let mut runs: Vec<Vec<Session>> = Vec::with_capacity(tables.len());
        for mut t in tables {
            flows.extend(
                std::mem::take(&mut t.flows)
                    .into_iter()
                    .filter(|c| !c.records.is_empty()),
            );
            runs.extend(t.into_runs());
        }
        SessionTable {
            runs,
            flows,
            ..SessionTable::default()
        }
    }

    /// A table of already finished sessions, e.g. from flow logs.
    pub fn from_sessions(sessions: Vec<Session>) -> SessionTable {
        SessionTable {
            sessions,
            runs: Vec::new(),
            tracks: Vec::new(),
            free_tracks: Vec::new(),
            active: FlowIndex::default(),
            flows: Vec::new(),
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
}

/// An item of a table being finished: a full session (`sessions[i]`) or a
/// flow record (`flows[i]`, marked by [`FLOW_BIT`]).
const FLOW_BIT: u32 = 1 << 31;

/// [`SessionTable::finish`] when there are flow records: sort small keys of
/// both kinds, then walk them in order, building each session in its final
/// place and coalescing as [`coalesce`] does. Same result as building every
/// session first and finishing those (a property test checks it), with one
/// construction per session instead of several moves.
fn finish_with_flows(mut sessions: Vec<Session>, flows: &Flows<'_>) -> Vec<Session> {
    let order = sorted_items(&sessions, flows);
    let mut out: Vec<Session> = Vec::with_capacity(order.len());
    let mut open = OpenGroups::default();
    for id in order {
        let flow = if id & FLOW_BIT != 0 {
            flows.get((id & !FLOW_BIT) as usize)
        } else {
            None
        };
        let (key, first_ts) = match (flow, sessions.get(id as usize)) {
            (Some((f, _)), _) => (f.key(), f.first_ts),
            (None, Some(s)) if id & FLOW_BIT == 0 => (s.key(), s.first_ts),
            _ => continue,
        };
        let joins = open.get(&key, &out).filter(|&i| {
            out.get(i).is_some_and(|g| {
                let disjoint = match (flow, sessions.get(id as usize)) {
                    (Some((f, _)), _) => !g.seen_by.contains(f.input),
                    (None, Some(s)) => !g.seen_by.intersects(&s.seen_by),
                    (None, None) => false,
                };
                disjoint && first_ts <= g.last_ts.saturating_add(COALESCE_SKEW_NS)
            })
        });
        let s = match flow {
            Some((f, infos)) => f.session(infos),
            None => match sessions.get_mut(id as usize) {
                Some(slot) => std::mem::replace(slot, Session::placeholder()),
                None => continue,
            },
        };
        match joins.and_then(|i| out.get_mut(i)) {
            Some(g) => combine(g, s),
            None => {
                open.insert(key, out.len(), &out);
                out.push(s);
            }
        }
    }
    out
}

/// The items of a table in finished order: by [`order_key`], ties in
/// table order (full sessions before flow records; one input is never
/// both). Compact keys when every address is IPv4.
fn sorted_items(sessions: &[Session], flows: &Flows<'_>) -> Vec<u32> {
    let v4 = sessions
        .iter()
        .all(|s| s.orig_h.is_ipv4() && s.resp_h.is_ipv4())
        && flows
            .iter()
            .all(|f| f.orig_h.is_ipv4() && f.resp_h.is_ipv4());
    let ids = (0..sessions.len() as u32).chain((0u32..).map(|i| i | FLOW_BIT));
    let keys = sessions
        .iter()
        .map(order_key)
        .chain(flows.iter().map(FlowRecord::order_key));
    if v4 {
        let mut keys: Vec<(V4Key, u32)> = keys.map(|k| V4Key::of(&k)).zip(ids).collect();
        keys.par_sort_unstable();
        keys.into_iter().map(|(_, id)| id).collect()
    } else {
        let mut keys: Vec<(OrderKey, u32)> = keys.zip(ids).collect();
        keys.par_sort_unstable();
        keys.into_iter().map(|(_, id)| id).collect()
    }
}

/// An [`OrderKey`] of IPv4 sessions packed into integers that sort the
/// same way (24 bytes instead of 64: the sort moves them many times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct V4Key {
    first_ts: i64,
    /// Protocol, originator address and port.
    orig: u64,
    /// Responder address and port.
    resp: u64,
    input: u32,
    last_ts: i64,
}

impl V4Key {
    fn of(k: &OrderKey) -> V4Key {
        let bits = |a: IpAddr| match a {
            IpAddr::V4(a) => u64::from(u32::from(a)),
            IpAddr::V6(_) => 0,
        };
        V4Key {
            first_ts: k.0,
            orig: (k.1 as u64) << 48 | bits(k.2) << 16 | u64::from(k.3),
            resp: bits(k.4) << 16 | u64::from(k.5),
            input: k.6,
            last_ts: k.7,
        }
    }
}

/// Open coalescing groups by flow key, keyed by the key's 64-bit hash
/// (16-byte entries instead of 56: millions of flow-log sessions are each
/// looked up once); the rare different key with the same hash goes to a
/// second map.
#[derive(Default)]
struct OpenGroups {
    by_hash: FxHashMap<u64, usize>,
    collided: FxHashMap<FlowKey, usize>,
}

impl OpenGroups {
    fn hash(key: &FlowKey) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one(key)
    }

    fn get(&self, key: &FlowKey, out: &[Session]) -> Option<usize> {
        let i = *self.by_hash.get(&Self::hash(key))?;
        if out.get(i).is_some_and(|g| g.key() == *key) {
            Some(i)
        } else {
            self.collided.get(key).copied()
        }
    }

    fn insert(&mut self, key: FlowKey, i: usize, out: &[Session]) {
        use std::collections::hash_map::Entry;
        match self.by_hash.entry(Self::hash(&key)) {
            Entry::Vacant(e) => {
                e.insert(i);
            }
            Entry::Occupied(mut e) => {
                if out.get(*e.get()).is_some_and(|g| g.key() == key) {
                    e.insert(i);
                } else {
                    self.collided.insert(key, i);
                }
            }
        }
    }
}

type OrderKey = (i64, Proto, IpAddr, u16, IpAddr, u16, u32, i64);

/// The order of finished sessions: by first time, then endpoints, then
/// the first input that saw them.
fn order_key(a: &Session) -> OrderKey {
    (
        a.first_ts,
        a.proto,
        a.orig_h,
        a.orig_p,
        a.resp_h,
        a.resp_p,
        a.seen_by.first(),
        a.last_ts,
    )
}

/// Merge sessions of the same connection seen by different inputs whose
/// times overlap (within [`COALESCE_SKEW_NS`]). Input must be sorted.
fn coalesce(mut v: Vec<Session>) -> Vec<Session> {
    // Open groups by flow key: index into the kept prefix `v[..w]`.
    let mut open: FxHashMap<FlowKey, usize> = FxHashMap::default();
    let mut w = 0;
    for r in 0..v.len() {
        let Some(s) = v.get(r) else { break };
        let key = s.key();
        let joins = open.get(&key).copied().filter(|&i| {
            v.get(i).is_some_and(|g| {
                !g.seen_by.intersects(&s.seen_by)
                    && s.first_ts <= g.last_ts.saturating_add(COALESCE_SKEW_NS)
            })
        });
        match joins {
            Some(i) => {
                if let Some(slot) = v.get_mut(r) {
                    let s = std::mem::replace(slot, Session::placeholder());
                    if let Some(g) = v.get_mut(i) {
                        combine(g, s);
                    }
                }
            }
            None => {
                v.swap(w, r);
                open.insert(key, w);
                w += 1;
            }
        }
    }
    v.truncate(w);
    v
}

/// Put sessions that are in order of first time into [`order_key`] order,
/// by sorting each group with one first time (sessions made in the order of
/// their first packets are in order but for packets that share a
/// timestamp). False, and the order unchanged, when the first times are
/// not in order. Afterwards `v` is what a stable sort by `order_key` gives.
fn order_ties(v: &mut [Session]) -> bool {
    let by_time = v.par_windows(2).all(|w| match w {
        [a, b] => a.first_ts <= b.first_ts,
        _ => true,
    });
    if by_time {
        v.par_chunk_by_mut(|a, b| a.first_ts == b.first_ts)
            .for_each(|same| same.sort_by_key(order_key));
    }
    by_time
}

/// Whether session `i` of `sessions` is of flow `key` (the check behind
/// every [`FlowIndex`] lookup, whose entries hold only a hash).
#[inline]
fn is_flow(sessions: &[Session], i: u32, key: &FlowKey) -> bool {
    sessions.get(i as usize).is_some_and(|s| s.key() == *key)
}

/// Runs in one vector, and whether it is in [`order_key`] order. When every
/// run is in order of first time — the shards of one capture, and captures
/// read whole, usually are — ties are put in order (see [`order_ties`]) and
/// the runs merged: streaming through them once cost a third of sorting and
/// permuting their concatenation (0.4 s for 1.7 M sessions, the
/// permutation's random moves most of it). Otherwise they are appended.
/// Merging pairs moves every session once per round, so beyond
/// [`MERGE_RUNS`] runs (many inputs) the sort is cheaper.
fn join_runs(mut runs: Vec<Vec<Session>>) -> (Vec<Session>, bool) {
    if (2..=MERGE_RUNS).contains(&runs.len()) && runs.par_iter_mut().all(|r| order_ties(r)) {
        (merge_runs(runs), true)
    } else {
        (append_runs(runs), false)
    }
}

/// The most runs [`join_runs`] merges (two rounds).
const MERGE_RUNS: usize = 4;

/// Runs one after another in one vector: the first run's vector grows in
/// place (a large one is remapped, not copied); only the others move.
fn append_runs(runs: Vec<Vec<Session>>) -> Vec<Session> {
    let total: usize = runs.iter().map(Vec::len).sum();
    let mut runs = runs.into_iter();
    let mut out = runs.next().unwrap_or_default();
    out.reserve(total - out.len());
    for r in runs {
        out.extend(r);
    }
    out
}

/// Merge runs sorted by [`order_key`] into one sorted vector, in the order
/// a stable sort of their concatenation gives (among equal keys, the earlier
/// run's first). Pairs of neighbouring runs are merged, in parallel, until
/// one is left.
fn merge_runs(mut runs: Vec<Vec<Session>>) -> Vec<Session> {
    while runs.len() > 1 {
        runs = runs
            .into_par_iter()
            .chunks(2)
            .map(|pair| {
                let mut pair = pair.into_iter();
                let a = pair.next().unwrap_or_default();
                match pair.next() {
                    Some(b) => merge_two(a, b),
                    None => a,
                }
            })
            .collect();
    }
    runs.pop().unwrap_or_default()
}

/// Merge sorted run `b` into sorted run `a`. `a`'s vector grows in place
/// (a large one is remapped, not copied) and is filled from the back, where
/// the larger of the two runs' last sessions goes: the place written is
/// never one of `a`'s sessions still to be merged, so each session moves
/// once and the memory is walked in order.
fn merge_two(mut a: Vec<Session>, mut b: Vec<Session>) -> Vec<Session> {
    let mut left = a.len();
    let total = left + b.len();
    // Placeholders for `b`'s sessions, written by all threads: the fresh
    // memory's page faults were half of a serial merge's time.
    a.reserve_exact(total - left);
    a.par_extend(rayon::iter::repeat_n(Session::placeholder(), total - left));
    for k in (0..total).rev() {
        let a_last = left.checked_sub(1).and_then(|i| a.get(i).map(|s| (i, s)));
        match (a_last, b.last()) {
            // Ties go to `b`, which is later in a stable order.
            (Some((i, x)), Some(y)) if later(x, y) => {
                a.swap(i, k);
                left = i;
            }
            (_, Some(_)) => {
                if let (Some(y), Some(slot)) = (b.pop(), a.get_mut(k)) {
                    *slot = y;
                }
            }
            // `b` is used up; the rest of `a` is already in place.
            (_, None) => break,
        }
    }
    a
}

/// Whether `x` goes after `y` in [`order_key`] order (first times tell
/// most sessions apart, without building the whole keys).
#[inline]
fn later(x: &Session, y: &Session) -> bool {
    match x.first_ts.cmp(&y.first_ts) {
        std::cmp::Ordering::Equal => order_key(x) > order_key(y),
        o => o.is_gt(),
    }
}

/// Put `v[perm[j]]` at position `j`, in place, following the permutation's
/// cycles (each session moves about once; no second vector).
fn permute<T>(v: &mut [T], perm: &[usize]) {
    let mut done = vec![false; v.len()];
    for start in 0..v.len() {
        if done.get(start).copied().unwrap_or(true) {
            continue;
        }
        let mut j = start;
        loop {
            if let Some(d) = done.get_mut(j) {
                *d = true;
            }
            let Some(&k) = perm.get(j) else { break };
            if k == start || k >= v.len() {
                break;
            }
            v.swap(j, k);
            j = k;
        }
    }
}

/// Fold view `s` of a connection into `g`. The view with more packets (then
/// the earlier input) speaks for state and history; counts take the larger
/// view of each direction, since both capture points saw the same packets.
fn combine(g: &mut Session, s: Session) {
    let g_pk = g.orig.pkts + g.resp.pkts;
    let s_pk = s.orig.pkts + s.resp.pkts;
    let s_leads = s_pk > g_pk || (s_pk == g_pk && s.seen_by.first() < g.seen_by.first());
    let mut seen = g.seen_by.clone();
    seen.union(&s.seen_by);
    let first = g.first_ts.min(s.first_ts);
    let last = g.last_ts.max(s.last_ts);
    let orig = max_side(g.orig, s.orig);
    let resp = max_side(g.resp, s.resp);
    let syn_rx = g.syn_retransmits.max(s.syn_retransmits);
    let icmp = g.icmp_error.or(s.icmp_error);
    let digits = g.ts_digits.max(s.ts_digits);
    // A deny logged by one NSG (the build VM's) explains the flow better
    // than the allow logged by another (the proxy's outbound).
    let flow = match (g.flow.take(), s.flow.clone()) {
        (Some(a), Some(b)) if b.decision == Some("deny") && a.decision != Some("deny") => Some(b),
        (a, b) => a.or(b),
    };
    if s_leads {
        *g = s;
    }
    g.seen_by = seen;
    g.first_ts = first;
    g.last_ts = last;
    g.orig = orig;
    g.resp = resp;
    g.syn_retransmits = syn_rx;
    g.icmp_error = icmp;
    g.ts_digits = digits;
    g.flow = flow;
}

fn max_side(a: Side, b: Side) -> Side {
    Side {
        pkts: a.pkts.max(b.pkts),
        bytes: a.bytes.max(b.bytes),
        ip_bytes: a.ip_bytes.max(b.ip_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Flow records of few hosts and ports, so that views of one
    /// connection from several inputs (both directions, overlapping times)
    /// are common; IPv6 sometimes, to take the general sort.
    fn flow_record(v6: bool) -> impl Strategy<Value = FlowRecord> {
        (
            (0i64..40, 0i64..6, 0u64..4, 0u64..4),
            (0u8..3, 0u8..3, prop::sample::select(vec![22u16, 443, 5986])),
            (0u32..3, 0u32..70, any::<bool>()),
        )
            .prop_map(move |((t, d, op, rp), (a, b, port), (info, input, flip))| {
                let host = |i: u8| -> IpAddr {
                    if v6 && i == 2 {
                        IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1))
                    } else {
                        IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, i))
                    }
                };
                let (mut oh, mut op_, mut rh, mut rp_) = (host(a), 40000, host(b), port);
                if flip {
                    std::mem::swap(&mut oh, &mut rh);
                    std::mem::swap(&mut op_, &mut rp_);
                }
                FlowRecord {
                    first_ts: t * 1_000_000_000,
                    last_ts: (t + d) * 1_000_000_000,
                    orig_pkts: op,
                    orig_ip_bytes: op * 60,
                    resp_pkts: rp,
                    resp_ip_bytes: rp * 60,
                    orig_h: oh,
                    resp_h: rh,
                    orig_p: op_,
                    resp_p: rp_,
                    ip_proto: 6,
                    ts_digits: (input % 2) as u8 * 3,
                    state: if rp > 0 { ConnState::SF } else { ConnState::S0 },
                    info,
                    input,
                }
            })
    }

    fn infos() -> Vec<Arc<FlowInfo>> {
        ["allow", "deny", "allow"]
            .iter()
            .enumerate()
            .map(|(i, d)| {
                Arc::new(FlowInfo {
                    decision: Some(d),
                    rule: Some(format!("rule{i}").into()),
                    ..FlowInfo::default()
                })
            })
            .collect()
    }

    proptest! {
        /// Finishing compact flow records (in several tables) gives what
        /// building every session first and finishing those gave.
        #[test]
        fn flow_records_finish_like_sessions(
            v6 in any::<bool>(),
            a in prop::collection::vec(flow_record(false), 0..60),
            b in prop::collection::vec(flow_record(true), 0..60),
        ) {
            let b: Vec<FlowRecord> = b
                .into_iter()
                .map(|r| {
                    let v4 = |a: IpAddr| if a.is_ipv6() { IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)) } else { a };
                    if v6 { r } else { FlowRecord { orig_h: v4(r.orig_h), resp_h: v4(r.resp_h), ..r } }
                })
                .collect();
            let tables = || {
                SessionTable::concat(vec![
                    SessionTable::from_flow_records(a.clone(), infos()),
                    SessionTable::new(),
                    SessionTable::from_flow_records(b.clone(), infos()),
                ])
            };
            let compact = tables().finish();
            let full = SessionTable::from_sessions(tables().into_sessions()).finish_sessions();
            prop_assert_eq!(format!("{compact:?}"), format!("{full:?}"));
        }

        /// Seen-by sets behave as sets of integers.
        #[test]
        fn seen_by_is_a_set(a in prop::collection::vec(0u32..200, 0..20), b in prop::collection::vec(0u32..200, 0..20)) {
            let set = |v: &[u32]| {
                let mut s = SeenBy::default();
                for &i in v {
                    s.insert(i);
                }
                s
            };
            let (sa, sb) = (set(&a), set(&b));
            let mut want: Vec<u32> = a.clone();
            want.sort_unstable();
            want.dedup();
            prop_assert_eq!(sa.iter().collect::<Vec<_>>(), want.clone());
            prop_assert_eq!(sa.first(), want.first().copied().unwrap_or(u32::MAX));
            prop_assert_eq!(sa.intersects(&sb), a.iter().any(|i| b.contains(i)));
            let mut u = sa.clone();
            u.union(&sb);
            let mut both: Vec<u32> = a.iter().chain(&b).copied().collect();
            both.sort_unstable();
            both.dedup();
            prop_assert_eq!(u.iter().collect::<Vec<_>>(), both.clone());
            prop_assert_eq!(u, set(&both));
        }

        /// Merging sorted runs gives the stable sort of their
        /// concatenation, ties (equal keys) included: the earlier run's
        /// session first.
        #[test]
        fn merge_runs_is_a_stable_sort(
            runs in prop::collection::vec(prop::collection::vec(flow_record(false), 0..40), 0..6),
        ) {
            let infos = infos();
            let mut id = 0;
            let runs: Vec<Vec<Session>> = runs
                .iter()
                .map(|run| {
                    let mut v: Vec<Session> = run
                        .iter()
                        .map(|r| {
                            // Few distinct keys, so that runs share some.
                            let ts = r.first_ts % 3_000_000_000;
                            let r = FlowRecord { first_ts: ts, last_ts: ts, input: r.input % 2, ..*r };
                            // A tag outside the order key, to see which session went where.
                            let mut s = r.session(&infos);
                            s.syn_retransmits = id;
                            id += 1;
                            s
                        })
                        .collect();
                    v.sort_by_key(order_key);
                    v
                })
                .collect();
            let mut want: Vec<Session> = runs.concat();
            want.sort_by_key(order_key);
            let got = merge_runs(runs);
            let tags = |v: &[Session]| v.iter().map(|s| s.syn_retransmits).collect::<Vec<_>>();
            prop_assert_eq!(tags(&got), tags(&want));
            prop_assert!(got.windows(2).all(|w| order_key(&w[0]) <= order_key(&w[1])));
        }

        /// Finishing gives the same whether the sessions come as one table
        /// or as several (merged up to `MERGE_RUNS` runs, sorted beyond).
        #[test]
        fn finish_is_the_same_for_any_number_of_runs(
            runs in prop::collection::vec(prop::collection::vec(flow_record(false), 0..30), 1..8),
        ) {
            let infos = infos();
            let runs: Vec<Vec<Session>> = runs
                .iter()
                .enumerate()
                .map(|(k, run)| {
                    let mut v: Vec<Session> = run
                        .iter()
                        .map(|r| FlowRecord { input: k as u32, ..*r }.session(&infos))
                        .collect();
                    v.sort_by_key(|s| s.first_ts);
                    v
                })
                .collect();
            let one = SessionTable::from_sessions(runs.concat()).finish();
            let many = SessionTable::concat(runs.into_iter().map(SessionTable::from_sessions).collect()).finish();
            prop_assert_eq!(format!("{one:?}"), format!("{many:?}"));
        }

        /// Sessions in order of first time are put in the order a stable
        /// sort gives; others are left as they are.
        #[test]
        fn order_ties_is_a_stable_sort(
            run in prop::collection::vec(flow_record(false), 0..60),
            by_time in any::<bool>(),
        ) {
            let infos = infos();
            let mut v: Vec<Session> = run
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    // Few first times, so that many sessions share one.
                    let ts = r.first_ts % 4_000_000_000;
                    let mut s = FlowRecord { first_ts: ts, last_ts: ts + 1, ..*r }.session(&infos);
                    s.syn_retransmits = i as u32;
                    s
                })
                .collect();
            if by_time {
                v.sort_by_key(|s| s.first_ts);
            }
            let tags = |v: &[Session]| v.iter().map(|s| s.syn_retransmits).collect::<Vec<_>>();
            let before = tags(&v);
            let mut want = v.clone();
            want.sort_by_key(order_key);
            let sorted_by_time = v.windows(2).all(|w| w[0].first_ts <= w[1].first_ts);
            prop_assert_eq!(order_ties(&mut v), sorted_by_time);
            if sorted_by_time {
                prop_assert_eq!(tags(&v), tags(&want));
            } else {
                prop_assert_eq!(tags(&v), before);
            }
        }

        /// In-place permutation equals gathering into a new vector.
        #[test]
        fn permute_matches_gather(v in prop::collection::vec(any::<u32>(), 0..200), seed in any::<u64>()) {
            let mut perm: Vec<usize> = (0..v.len()).collect();
            // A deterministic shuffle from the seed.
            let mut x = seed | 1;
            for i in (1..perm.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                perm.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let gathered: Vec<u32> = perm.iter().map(|&i| v[i]).collect();
            let mut inplace = v.clone();
            permute(&mut inplace, &perm);
            prop_assert_eq!(inplace, gathered);
        }
    }
}

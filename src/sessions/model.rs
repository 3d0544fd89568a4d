//! The session record: what a conversation is once rebuilt (endpoints,
//! times, counts, Zeek's state and history, the inputs that saw it, and
//! what a flow log says of it).

use super::key::FlowKey;
use super::state::{ConnState, History};
use crate::decode::{FiveTuple, proto};
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;

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
/// Inline for the first 63 inputs, and for a set of one input of any
/// number; allocation only for a set holding two inputs and one of them
/// beyond 62 (rare: views of one connection coalesced). A flow-log run of
/// 500 blobs has most of its millions of sessions seen by one input above
/// 62; each allocated its set, two allocations a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenBy {
    /// Bits of inputs 0–62; or, with [`SINGLE`] set, the one input in the
    /// low 32 bits (`high` is then `None`). The form is canonical: a set of
    /// one input above 62 is always single.
    low: u64,
    // Boxed on purpose: 8 bytes on every session instead of a 24-byte
    // `Vec` that is empty unless a run has more than 63 inputs.
    #[allow(clippy::box_collection)]
    high: Option<Box<Vec<u32>>>,
}

/// The flag of [`SeenBy::low`] holding one input's number.
const SINGLE: u64 = 1 << 63;

/// Inputs below this are bits of [`SeenBy::low`].
const INLINE: u32 = 63;

impl SeenBy {
    /// A set holding one input.
    pub fn one(input: u32) -> Self {
        let mut s = SeenBy::default();
        s.insert(input);
        s
    }

    /// The input of a single set.
    fn single(&self) -> Option<u32> {
        (self.low & SINGLE != 0).then_some(self.low as u32)
    }

    /// The bits of inputs 0–62.
    fn bits(&self) -> u64 {
        if self.low & SINGLE != 0 { 0 } else { self.low }
    }

    /// Add an input.
    pub fn insert(&mut self, input: u32) {
        if let Some(only) = self.single() {
            if only == input {
                return;
            }
            // Two inputs: the general form.
            self.low = 0;
            self.insert_general(only);
        } else if input >= INLINE && self.low == 0 && self.high.is_none() {
            self.low = SINGLE | u64::from(input);
            return;
        }
        self.insert_general(input);
    }

    fn insert_general(&mut self, input: u32) {
        if input < INLINE {
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
        if self.single().is_none() && other.single().is_none() {
            self.low |= other.low;
            for &i in other.high_slice() {
                self.insert_general(i);
            }
        } else {
            for i in other.iter() {
                self.insert(i);
            }
        }
    }

    /// Whether the sets share an input.
    pub fn intersects(&self, other: &SeenBy) -> bool {
        if let Some(i) = self.single() {
            return other.contains(i);
        }
        if let Some(i) = other.single() {
            return self.contains(i);
        }
        self.low & other.low != 0
            || self
                .high_slice()
                .iter()
                .any(|i| other.high_slice().binary_search(i).is_ok())
    }

    /// Whether the set holds an input.
    pub(super) fn contains(&self, input: u32) -> bool {
        if let Some(only) = self.single() {
            only == input
        } else if input < INLINE {
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
        let mut low = self.bits();
        std::iter::from_fn(move || {
            (low != 0).then(|| {
                let i = low.trailing_zeros();
                low &= low - 1;
                i
            })
        })
        .chain(self.single())
        .chain(self.high_slice().iter().copied())
    }

    /// The smallest input index.
    pub fn first(&self) -> u32 {
        if let Some(only) = self.single() {
            return only;
        }
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

/// Whether the NSG (or AVNM admin rule) let a flow through, as a flow log
/// records it. NSG logs have a field for it (`A`/`D`); VNet logs write a deny
/// as flow state `D`. Named `allow` / `deny` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// `A`, or any VNet state other than `D`.
    Allow,
    /// `D` (NSG decision field or VNet flow state).
    Deny,
}

impl Decision {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Direction of a flow relative to the NIC where a flow log recorded it
/// ([Traffic Analytics schema](https://learn.microsoft.com/azure/network-watcher/traffic-analytics-schema)):
/// inbound tuples have the VM as destination, outbound ones as source. Named
/// `inbound` / `outbound` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// `I`
    Inbound,
    /// `O`
    Outbound,
}

/// What a flow log says about a session (empty for capture sessions). Filled
/// by the flow-log stage. Text fields are shared (`Arc<str>`): millions of
/// flow-log sessions name a handful of rules, NSGs and notes, and a `String`
/// each cost a third of the run time in allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlowInfo {
    /// Whether the flow was let through.
    pub decision: Option<Decision>,
    /// The NSG / AVNM rule that decided.
    pub rule: Option<Arc<str>>,
    /// The flow's direction, as the logging NSG saw it.
    pub direction: Option<Direction>,
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
    /// The IP protocol number ([`Session::ip_proto`]).
    pub(super) ip_proto: u8,
    /// TCP: some payload was cut by the capture's snap length, so the
    /// session's gaps (`missed`) may come from that, not from lost packets.
    pub payload_cut: bool,
    /// TCP: bytes of both directions the capture did not show although the
    /// peer acknowledged them (content gaps, counted per direction: Zeek's
    /// `missed_bytes`; which direction lost data is in the history, `G` or
    /// `g`); 0 otherwise.
    pub missed: u64,
}

impl Session {
    /// How this session matters to an AIB build (`None`: of no use to a
    /// diagnosis): the classification of its flow by initiator, responder,
    /// protocol and destination port ([`crate::aib::classify_flow`]).
    pub fn aib_class(&self, probe: IpAddr) -> Option<crate::aib::FlowClass> {
        crate::aib::classify_flow(
            self.ip_proto(),
            self.orig_h,
            self.resp_h,
            self.resp_p,
            probe,
        )
    }

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
            payload_cut: false,
            missed: 0,
        }
    }

    /// Bytes the capture missed in both directions (Zeek's `missed_bytes`).
    pub fn missed_bytes(&self) -> u64 {
        self.missed
    }

    /// Packets, bytes and IP bytes of the originator, then of the
    /// responder: the order every output lists them in.
    pub fn counts(&self) -> [u64; 6] {
        [
            self.orig.pkts,
            self.orig.bytes,
            self.orig.ip_bytes,
            self.resp.pkts,
            self.resp.bytes,
            self.resp.ip_bytes,
        ]
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
        seconds_between(self.first_ts, self.last_ts)
    }

    /// Whether the session saw no answer at all from the responder.
    pub fn unanswered(&self) -> bool {
        self.resp.pkts == 0
    }
}

/// The seconds from `first_ts` to `last_ts` (ns since the epoch): a
/// session's duration. Saturating: timestamps come from the file, and a
/// pcapng clock offset can put one packet of a session at either end of
/// the i64 range.
pub fn seconds_between(first_ts: i64, last_ts: i64) -> f64 {
    last_ts.saturating_sub(first_ts) as f64 / 1e9
}

/// The key of [`order_key`].
pub(super) type OrderKey = (i64, Proto, IpAddr, u16, IpAddr, u16, u32, i64);

/// The order of finished sessions: by first time, then endpoints, then
/// the first input that saw them.
pub(super) fn order_key(a: &Session) -> OrderKey {
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

/// An empty session: no packets, no input, between unspecified addresses.
/// What a place holds while the sessions of a table being finished are moved
/// out of it one by one.
impl Default for Session {
    fn default() -> Self {
        let unspecified = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        let t = FiveTuple {
            proto: 0,
            src: unspecified,
            dst: unspecified,
            sport: 0,
            dport: 0,
        };
        Session {
            seen_by: SeenBy::default(),
            ..Session::new(&t, 0, 0, 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
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
            for i in [0u32, 62, 63, 64, 150] {
                prop_assert_eq!(sa.contains(i), a.contains(&i));
            }
            let mut u = sa.clone();
            u.union(&sb);
            let mut both: Vec<u32> = a.iter().chain(&b).copied().collect();
            both.sort_unstable();
            both.dedup();
            prop_assert_eq!(u.iter().collect::<Vec<_>>(), both.clone());
            prop_assert_eq!(u, set(&both));
        }
    }
}

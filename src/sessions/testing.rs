//! Generators shared by the tests of the session modules, and sessions
//! built by hand for the tests of the modules that read them ([`Build`]).

use super::flow_record::FlowRecord;
use super::model::{Decision, FlowInfo, Session};
use super::state::ConnState;
use proptest::prelude::*;
use std::net::IpAddr;
use std::sync::Arc;

/// Flow records of few hosts and ports, so that views of one
/// connection from several inputs (both directions, overlapping times)
/// are common; IPv6 sometimes, to take the general sort.
pub(super) fn flow_record(v6: bool) -> impl Strategy<Value = FlowRecord> {
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

pub(super) fn infos() -> Vec<Arc<FlowInfo>> {
    [Decision::Allow, Decision::Deny, Decision::Allow]
        .into_iter()
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

/// 2024-08-19T18:00:00Z, in seconds: where the time of a hand-built
/// session is counted from ([`Build::at`]).
pub(crate) const T0_S: i64 = 1_724_090_400;

const NS: i64 = 1_000_000_000;

/// A session built by hand, for the tests of the modules that read
/// sessions (topology, hops, findings, diagnose): a new session has no
/// packets, state `OTH`, no history, and was seen by input 0 at [`T0_S`];
/// each method sets one thing. [`Build::established`], [`Build::unanswered`]
/// and [`Build::refused`] are the three shapes most tests need.
///
/// ```ignore
/// tcp("10.0.0.4:50000", "10.0.0.5:60001").unanswered().syn_retransmits(6).at(30).build()
/// ```
#[derive(Debug, Clone)]
pub(crate) struct Build(Session);

fn endpoint(s: &str) -> std::net::SocketAddr {
    s.parse()
        .unwrap_or_else(|e| panic!("{s:?} is not an address:port: {e}"))
}

fn new(proto: u8, orig: &str, resp: &str) -> Build {
    let (o, r) = (endpoint(orig), endpoint(resp));
    let t = crate::decode::FiveTuple {
        proto,
        src: o.ip(),
        dst: r.ip(),
        sport: o.port(),
        dport: r.port(),
    };
    Build(Session::new(&t, T0_S * NS, 6, 0))
}

/// A TCP session from `orig` to `resp` (`10.0.0.4:50000`, `[fd00::1]:22`).
pub(crate) fn tcp(orig: &str, resp: &str) -> Build {
    new(crate::decode::proto::TCP, orig, resp)
}

/// A UDP session.
pub(crate) fn udp(orig: &str, resp: &str) -> Build {
    new(crate::decode::proto::UDP, orig, resp)
}

impl Build {
    /// Zeek's `conn_state`.
    pub(crate) fn state(mut self, state: ConnState) -> Self {
        self.0.state = state;
        self
    }

    /// Zeek's history letters.
    pub(crate) fn history(mut self, h: &str) -> Self {
        self.0.history = super::History::new();
        for c in h.bytes() {
            self.0.history.push(c);
        }
        self
    }

    /// Packets each way.
    pub(crate) fn pkts(mut self, orig: u64, resp: u64) -> Self {
        self.0.orig.pkts = orig;
        self.0.resp.pkts = resp;
        self
    }

    /// Bytes the capture missed (content gaps).
    pub(crate) fn missed(mut self, bytes: u64) -> Self {
        self.0.missed = bytes;
        self
    }

    /// IP bytes each way (flow logs count them, headers included).
    pub(crate) fn ip_bytes(mut self, orig: u64, resp: u64) -> Self {
        self.0.orig.ip_bytes = orig;
        self.0.resp.ip_bytes = resp;
        self
    }

    /// A completed connection with data both ways (`SF`, `ShADadFf`).
    pub(crate) fn established(self) -> Self {
        self.state(ConnState::SF).history("ShADadFf").pkts(6, 5)
    }

    /// A SYN nobody answered (`S0`, `S`).
    pub(crate) fn unanswered(self) -> Self {
        self.state(ConnState::S0).history("S").pkts(1, 0)
    }

    /// A SYN answered by a RST (`REJ`, `Sr`).
    pub(crate) fn refused(self) -> Self {
        self.state(ConnState::REJ).history("Sr").pkts(1, 1)
    }

    /// First packet `secs` after [`T0_S`]; the last one as long after it as
    /// before.
    pub(crate) fn at(self, secs: i64) -> Self {
        self.at_ms(secs * 1000)
    }

    /// First packet `ms` milliseconds after [`T0_S`].
    pub(crate) fn at_ms(mut self, ms: i64) -> Self {
        let d = self.0.last_ts - self.0.first_ts;
        self.0.first_ts = T0_S * NS + ms * 1_000_000;
        self.0.last_ts = self.0.first_ts + d;
        self
    }

    /// Last packet `secs` after the first.
    pub(crate) fn lasting(mut self, secs: i64) -> Self {
        self.0.last_ts = self.0.first_ts + secs * NS;
        self
    }

    /// SYNs sent again while unanswered.
    pub(crate) fn syn_retransmits(mut self, n: u32) -> Self {
        self.0.syn_retransmits = n;
        self
    }

    /// An ICMP error (IPv4 type and code) sent by `from` about the session.
    pub(crate) fn icmp_error(mut self, from: &str, icmp_type: u8, code: u8) -> Self {
        self.0.icmp_error = Some(super::IcmpNote {
            icmp_type,
            code,
            from: from
                .parse()
                .unwrap_or_else(|e| panic!("{from:?} is not an address: {e}")),
            ts_ns: self.0.first_ts,
            v6: false,
        });
        self
    }

    /// The inputs (indices) that saw it, instead of input 0.
    pub(crate) fn seen_by(mut self, inputs: &[u32]) -> Self {
        self.0.seen_by = super::SeenBy::default();
        for &i in inputs {
            self.0.seen_by.insert(i);
        }
        self
    }

    fn flow_info(mut self, f: impl FnOnce(&mut FlowInfo)) -> Self {
        let mut info = self.0.flow.as_deref().cloned().unwrap_or_default();
        f(&mut info);
        self.0.flow = Some(Arc::new(info));
        self
    }

    /// From a flow log that allowed it, with these flow states (`B`, `BE`,
    /// `BCE`); the counters are the session's [`Build::pkts`] and
    /// [`Build::ip_bytes`].
    pub(crate) fn flow_allow(self, states: &str) -> Self {
        let states: Arc<str> = states.into();
        self.flow_info(|f| {
            f.decision = Some(Decision::Allow);
            f.flow_state = Some(states);
        })
    }

    /// From a flow log whose NSG denied it by `rule` (a denied attempt:
    /// `S0`, one packet out, nothing back).
    pub(crate) fn flow_deny(self, rule: &str) -> Self {
        let rule: Arc<str> = rule.into();
        self.state(ConnState::S0)
            .history("")
            .pkts(1, 0)
            .flow_info(|f| {
                f.decision = Some(Decision::Deny);
                f.rule = Some(rule);
                f.flow_state = Some("B".into());
            })
    }

    /// The NSG (resource id) of the flow log that logged it.
    pub(crate) fn nsg(self, id: &str) -> Self {
        let id: Arc<str> = id.into();
        self.flow_info(|f| f.nsg = Some(id))
    }

    /// The session.
    pub(crate) fn build(self) -> Session {
        self.0
    }
}

impl From<Build> for Session {
    fn from(b: Build) -> Session {
        b.0
    }
}

/// The sessions of hand-built ones, in the order the table's finish sorts
/// them (first time, then endpoints), as diagnosis reads them.
pub(crate) fn sessions(v: impl IntoIterator<Item = Build>) -> Vec<Session> {
    let mut v: Vec<Session> = v.into_iter().map(Build::build).collect();
    v.sort_by_key(super::model::order_key);
    v
}

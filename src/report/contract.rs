//! The JSON contract's views of sessions and inputs (`schema_version` 1:
//! fields are added, never renamed): what `sessions`, `diagnose` and
//! `builds` write for a session or an input, shared by the pretty JSON
//! document, the hand-written NDJSON lines and the other outputs.

use crate::ingest::InputReport;
use crate::sessions::{ConnState, FlowInfo, IcmpNote, Session};
use crate::time::{Timestamp, rfc3339};
use serde::Serialize;
use std::net::IpAddr;

/// A session as the JSON contract names it.
#[derive(Serialize)]
pub struct SessionJson<'a> {
    proto: &'static str,
    orig_h: IpAddr,
    orig_p: u16,
    resp_h: IpAddr,
    resp_p: u16,
    first_ts: Timestamp,
    last_ts: Timestamp,
    duration_s: f64,
    state: ConnState,
    history: &'a str,
    orig_pkts: u64,
    orig_bytes: u64,
    orig_ip_bytes: u64,
    resp_pkts: u64,
    resp_bytes: u64,
    resp_ip_bytes: u64,
    syn_retransmits: u32,
    missed_bytes: u64,
    icmp_error: Option<IcmpJson>,
    seen_by: SeenByJson<'a>,
    #[serde(flatten)]
    flow: Option<&'a FlowInfo>,
}

#[derive(Serialize)]
struct IcmpJson {
    #[serde(rename = "type")]
    icmp_type: u8,
    code: u8,
    from: IpAddr,
    description: String,
}

impl IcmpJson {
    fn of(n: &IcmpNote) -> Self {
        IcmpJson {
            icmp_type: n.icmp_type,
            code: n.code,
            from: n.from,
            description: n.describe(),
        }
    }
}

impl<'a> SessionJson<'a> {
    /// View a session for JSON, naming inputs by path.
    pub fn of(s: &'a Session, inputs: &'a [InputReport]) -> Self {
        SessionJson {
            proto: s.proto.as_str(),
            orig_h: s.orig_h,
            orig_p: s.orig_p,
            resp_h: s.resp_h,
            resp_p: s.resp_p,
            first_ts: Timestamp::new(s.first_ts, s.ts_digits),
            last_ts: Timestamp::new(s.last_ts, s.ts_digits),
            duration_s: round6(s.duration_s()),
            state: s.state,
            history: s.history.as_str(),
            orig_pkts: s.orig.pkts,
            orig_bytes: s.orig.bytes,
            orig_ip_bytes: s.orig.ip_bytes,
            resp_pkts: s.resp.pkts,
            resp_bytes: s.resp.bytes,
            resp_ip_bytes: s.resp.ip_bytes,
            syn_retransmits: s.syn_retransmits,
            missed_bytes: s.missed_bytes(),
            icmp_error: s.icmp_error.as_ref().map(IcmpJson::of),
            seen_by: SeenByJson { s, inputs },
            flow: s.flow.as_deref(),
        }
    }
}

/// The paths of the inputs that saw a session, serialized as a list without
/// collecting them first.
struct SeenByJson<'a> {
    s: &'a Session,
    inputs: &'a [InputReport],
}

impl Serialize for SeenByJson<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_seq(
            self.s
                .seen_by
                .iter()
                .filter_map(|i| self.inputs.get(i as usize).map(|r| r.path.as_str())),
        )
    }
}

/// Seconds rounded to microseconds, as durations are written.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Paths of the inputs that saw a session.
pub fn seen_by<'a>(s: &Session, inputs: &'a [InputReport]) -> Vec<&'a str> {
    s.seen_by
        .iter()
        .filter_map(|i| inputs.get(i as usize).map(|r| r.path.as_str()))
        .collect()
}

/// An input as the JSON contract names it.
#[derive(Serialize)]
pub struct InputJson<'a> {
    path: &'a str,
    format: &'static str,
    gzip: bool,
    packets: u64,
    decoded: u64,
    used: u64,
    first_ts: Option<String>,
    last_ts: Option<String>,
    not_decoded: &'a std::collections::BTreeMap<&'static str, u64>,
    error: Option<&'a str>,
}

impl<'a> InputJson<'a> {
    /// View an input report for JSON.
    pub fn of(r: &'a InputReport) -> Self {
        InputJson {
            path: &r.path,
            format: r.format.as_str(),
            gzip: r.gzip,
            packets: r.packets,
            decoded: r.decoded,
            used: r.used,
            first_ts: r.first_ts.map(|t| rfc3339(t, r.ts_digits)),
            last_ts: r.last_ts.map(|t| rfc3339(t, r.ts_digits)),
            not_decoded: &r.not_decoded,
            error: r.error.as_deref(),
        }
    }
}

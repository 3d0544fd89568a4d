//! A session as one line of NDJSON, written by hand: byte for byte what
//! serde_json writes for [`SessionJson`] (a test compares the two on every
//! session of the lab captures and reference traces), without serde_json's
//! escaping scan of each of the twenty keys and values, which was a third of
//! the time of `sessions --format ndjson` on many small sessions. Keys,
//! protocols, states, histories, addresses and timestamps never need
//! escaping; input paths are escaped once per run, and a flow log's
//! details (rule, NSG, note: free text) once per run per distinct details,
//! which millions of flow-log sessions share. Sessions with an ICMP error (rare)
//! go through serde_json.

use super::buffer::TextBuf;
use super::contract::SessionJson;
use crate::ingest::InputReport;
use crate::sessions::{
    ConnState, FlowInfo, FlowRecord, Head as SessionHead, Proto, Session, seconds_between,
};
use crate::time::TimestampCache;
use rustc_hash::FxHashMap;
use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;

/// Writes sessions of one run as NDJSON lines.
pub struct LineWriter<'a> {
    inputs: &'a [InputReport],
    /// Each input's path as a JSON string.
    paths: Vec<Vec<u8>>,
    /// The flow-log details of the sessions to write, rendered once each
    /// (by the address of their shared `Arc<FlowInfo>`, alive as long as
    /// the sessions) as `,"decision":…,"note":…`: the flattened fields after
    /// `seen_by`. Rendered once for the whole run, not once per writing
    /// task: with 64 tasks each escaping every distinct details, the
    /// escaping was a tenth of `sessions`' instructions on flow logs.
    flows: FxHashMap<usize, Vec<u8>>,
}

impl<'a> LineWriter<'a> {
    /// A writer for sessions whose `seen_by` indexes `inputs` and whose
    /// flow details are among `infos`.
    pub fn new<'s>(
        inputs: &'a [InputReport],
        infos: impl IntoIterator<Item = &'s Arc<FlowInfo>>,
    ) -> std::io::Result<Self> {
        let paths = inputs
            .iter()
            .map(|r| super::json::to_vec(&r.path))
            .collect::<Result<_, _>>()?;
        let mut flows = FxHashMap::default();
        for info in infos {
            if let std::collections::hash_map::Entry::Vacant(e) = flows.entry(info_key(info)) {
                e.insert(flow_fields(info)?);
            }
        }
        Ok(LineWriter {
            inputs,
            paths,
            flows,
        })
    }

    /// Append session `s` and a newline to `buf`. `times` keeps the last
    /// seconds formatted, for the next sessions written with it.
    pub fn write(
        &self,
        buf: &mut TextBuf,
        times: &mut LineTimes,
        s: &Session,
    ) -> std::io::Result<()> {
        if s.icmp_error.is_some() {
            return self.whole(buf, s);
        }
        self.line(buf, times, &Line::of(s), |buf| self.whole(buf, s))
    }

    /// [`LineWriter::write`] of the session that flow record `r` (its
    /// details among `infos`) is alone, the same bytes, written straight
    /// from the record.
    pub fn write_record(
        &self,
        buf: &mut TextBuf,
        times: &mut LineTimes,
        r: &FlowRecord,
        infos: &[Arc<FlowInfo>],
    ) -> std::io::Result<()> {
        self.line(buf, times, &Line::of_record(r, infos), |buf| {
            self.whole(buf, &r.session(infos))
        })
    }

    /// A session's line as serde_json writes it, for what the hand-written
    /// line leaves to it.
    fn whole(&self, buf: &mut TextBuf, s: &Session) -> std::io::Result<()> {
        super::json::to_writer(&mut *buf, &SessionJson::of(s, self.inputs))?;
        buf.extend(b"\n");
        Ok(())
    }

    /// Append line `l`; `whole` writes it instead when a piece is one
    /// serde_json writes differently.
    fn line(
        &self,
        buf: &mut TextBuf,
        times: &mut LineTimes,
        l: &Line<'_>,
        whole: impl FnOnce(&mut TextBuf) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        // The fields before `seen_by` (about 420 bytes) are written into
        // the buffer's room in fixed-size copies, which the compiler
        // inlines: appended piece by piece, each of the 30 pieces was a
        // call to `memcpy`.
        let mut head = Head::new(buf.room(HEAD_ROOM));
        head.lit(b"{\"proto\":\"");
        head.text(l.proto.as_str().as_bytes());
        head.lit(b"\",\"orig_h\":\"");
        head.addr(l.head.orig.0);
        head.lit(b"\",\"orig_p\":");
        head.uint(u64::from(l.head.orig.1));
        head.lit(b",\"resp_h\":\"");
        head.addr(l.head.resp.0);
        head.lit(b"\",\"resp_p\":");
        head.uint(u64::from(l.head.resp.1));
        head.lit(b",\"first_ts\":\"");
        let first = times.first.format(l.head.first_ts, l.ts_digits);
        let (t, len) = first.padded();
        head.wide(t, len);
        head.lit(b"\",\"last_ts\":\"");
        let last = times.last.format(l.head.last_ts, l.ts_digits);
        let (t, len) = last.padded();
        head.wide(t, len);
        head.lit(b"\",\"duration_s\":");
        head.duration(seconds_between(l.head.first_ts, l.head.last_ts));
        head.lit(b",\"state\":\"");
        head.text(l.state.as_str().as_bytes());
        head.lit(b"\",\"history\":\"");
        head.text(l.history.as_bytes());
        for ((key, len), v) in COUNT_KEYS.iter().zip(l.counts) {
            head.wide(key, *len);
            head.uint(v);
        }
        match head.done().map(<[u8]>::len) {
            Some(n) => buf.commit(n),
            // A duration serde_json writes with an exponent: the whole
            // line as serde_json writes it.
            None => return whole(buf),
        }
        buf.extend(b",\"icmp_error\":null,\"seen_by\":[");
        let mut first = true;
        for p in l
            .head
            .seen_by
            .iter()
            .filter_map(|i| self.paths.get(i as usize))
        {
            if !first {
                buf.extend(b",");
            }
            first = false;
            buf.extend(p);
        }
        buf.extend(b"]");
        if let Some(info) = l.head.flow {
            match self.flows.get(&info_key(info)) {
                Some(fields) => buf.extend(fields),
                // A session the writer was not made for: rendered here.
                None => buf.extend(&flow_fields(info)?),
            }
        }
        buf.extend(b"}\n");
        Ok(())
    }
}

/// What a line without an ICMP error says, read from a built session or
/// straight from a flow record.
struct Line<'a> {
    /// Ends, times, inputs and flow details.
    head: SessionHead<'a>,
    proto: Proto,
    ts_digits: u8,
    state: ConnState,
    history: &'a str,
    /// The six counts ([`Session::counts`]), SYN retransmissions and
    /// missed bytes, in the line's order.
    counts: [u64; 8],
}

impl<'a> Line<'a> {
    fn of(s: &'a Session) -> Self {
        let [a, b, c, d, e, f] = s.counts();
        Line {
            head: SessionHead::of(s),
            proto: s.proto,
            ts_digits: s.ts_digits,
            state: s.state,
            history: s.history.as_str(),
            counts: [
                a,
                b,
                c,
                d,
                e,
                f,
                u64::from(s.syn_retransmits),
                s.missed_bytes(),
            ],
        }
    }

    /// The line of [`FlowRecord::session`], without building it: a flow
    /// record's session has no history, no payload bytes (flow logs count
    /// IP bytes), no SYN retransmissions or missed bytes.
    fn of_record(r: &FlowRecord, infos: &'a [Arc<FlowInfo>]) -> Self {
        Line {
            head: SessionHead::of_record(r, infos),
            proto: Proto::from_number(r.ip_proto),
            ts_digits: r.ts_digits,
            state: r.state,
            history: "",
            counts: [
                r.orig_pkts,
                0,
                r.orig_ip_bytes,
                r.resp_pkts,
                0,
                r.resp_ip_bytes,
                0,
                0,
            ],
        }
    }
}

/// What identifies a flow detail shared by many sessions: its address
/// (the details of a run are shared `Arc`s, alive as long as its
/// sessions).
fn info_key(info: &FlowInfo) -> usize {
    std::ptr::from_ref(info) as usize
}

/// The last second formatted for each of a session's times, kept from one
/// line to the next: sessions come in order of first time, so consecutive
/// ones mostly share both seconds.
#[derive(Debug, Default, Clone)]
pub struct LineTimes {
    first: TimestampCache,
    last: TimestampCache,
}

/// The JSON fields of `info` as they follow `seen_by` in a line:
/// serde_json's own object for the details, braces cut (the same bytes the
/// flattened fields of `SessionJson` give).
fn flow_fields(info: &FlowInfo) -> std::io::Result<Vec<u8>> {
    let mut obj = super::json::to_vec(info)?;
    obj.pop();
    if let Some(open) = obj.first_mut() {
        *open = b',';
    }
    Ok(obj)
}

/// The keys before each count of a line (the first one closes `history`),
/// padded to one size: copied whole, then cut to their length.
const COUNT_KEYS: [([u8; 20], usize); 8] = [
    padded(b"\",\"orig_pkts\":"),
    padded(b",\"orig_bytes\":"),
    padded(b",\"orig_ip_bytes\":"),
    padded(b",\"resp_pkts\":"),
    padded(b",\"resp_bytes\":"),
    padded(b",\"resp_ip_bytes\":"),
    padded(b",\"syn_retransmits\":"),
    padded(b",\"missed_bytes\":"),
];

/// `s` at the start of 20 bytes, and its length. Built at compile time: a
/// key too long is a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const fn padded(s: &[u8]) -> ([u8; 20], usize) {
    let mut out = [0u8; 20];
    let mut i = 0;
    while i < s.len() {
        out[i] = s[i];
        i += 1;
    }
    (out, s.len())
}

/// The start of a line, written straight into the output's room: every
/// piece is written by a copy of a size known when compiling (a literal,
/// a timestamp's padded 30 bytes, an address's 16) or digit by digit, so
/// none is a call to `memcpy`. [`HEAD_ROOM`] holds the longest head (two
/// IPv6 addresses, 20-digit counts, a 30-letter history: under 600 bytes);
/// a piece that would not fit marks the head spoilt instead of being cut.
struct Head<'b> {
    buf: &'b mut [u8],
    len: usize,
    spoilt: bool,
}

/// The room a line's head is written into.
const HEAD_ROOM: usize = 1024;

impl<'b> Head<'b> {
    fn new(buf: &'b mut [u8]) -> Self {
        Head {
            buf,
            len: 0,
            spoilt: false,
        }
    }

    /// The room for `n` more bytes, or `None` (and spoilt).
    fn room(&mut self, n: usize) -> Option<&mut [u8]> {
        let room = self.buf.get_mut(self.len..self.len + n);
        self.spoilt |= room.is_none();
        room
    }

    /// A literal.
    #[inline(always)]
    fn lit<const N: usize>(&mut self, s: &[u8; N]) {
        if let Some(d) = self.room(N) {
            d.copy_from_slice(s);
            self.len += N;
        }
    }

    /// The first `len` bytes of `padded`, copied whole.
    #[inline(always)]
    fn wide<const N: usize>(&mut self, padded: &[u8; N], len: usize) {
        if let Some(d) = self.room(N) {
            d.copy_from_slice(padded);
            self.len += len.min(N);
        }
    }

    /// A short text of any length.
    fn text(&mut self, s: &[u8]) {
        if let Some(d) = self.room(s.len()) {
            d.copy_from_slice(s);
            self.len += s.len();
        }
    }

    /// An integer in decimal, written from its last digit.
    #[inline(always)]
    fn uint(&mut self, v: u64) {
        let digits = v.checked_ilog10().map_or(1, |l| l as usize + 1);
        if let Some(d) = self.room(digits) {
            let mut v = v;
            for b in d.iter_mut().rev() {
                *b = b'0' + (v % 10) as u8;
                v /= 10;
            }
            self.len += digits;
        }
    }

    /// An address as std (and serde) print it.
    fn addr(&mut self, a: IpAddr) {
        match a {
            IpAddr::V4(v4) => {
                let (text, len) = v4_text(v4);
                self.wide(&text, len);
            }
            IpAddr::V6(v6) => {
                let mut text = [0u8; 48];
                let mut w = &mut text[..];
                let room = w.len();
                if write!(w, "{v6}").is_ok() {
                    let len = room - w.len();
                    self.wide(&text, len);
                } else {
                    self.spoilt = true;
                }
            }
        }
    }

    /// A duration rounded to microseconds, as serde_json prints the `f64`
    /// (`round6`): plain decimals from 10 µs to 10^9 s are exactly its
    /// shortest digits (see the test), written here without its float
    /// formatting; outside that range serde_json's own text (with an
    /// exponent).
    fn duration(&mut self, secs: f64) {
        let micros = (secs * 1e6).round();
        if !((micros == 0.0 && micros.is_sign_positive()) || (10.0..1e15).contains(&micros)) {
            match serde_json::to_vec(&(micros / 1e6)) {
                Ok(v) => self.text(&v),
                Err(_) => self.spoilt = true,
            }
            return;
        }
        let m = micros as u64;
        self.uint(m / 1_000_000);
        let frac = m % 1_000_000;
        if frac == 0 {
            self.lit(b".0");
            return;
        }
        // Six digits, trailing zeros dropped.
        let mut digits = *b".000000";
        let mut v = frac;
        for d in digits.iter_mut().skip(1).rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
        let mut keep = digits.len();
        while keep > 2 && digits.get(keep - 1) == Some(&b'0') {
            keep -= 1;
        }
        self.wide(&digits, keep);
    }

    /// The text written, unless a piece did not fit.
    fn done(&self) -> Option<&[u8]> {
        if self.spoilt {
            return None;
        }
        self.buf.get(..self.len)
    }
}

/// Each octet's decimal digits followed by a dot, and how many digits.
// Built at compile time: an index out of range is a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const OCTETS: [([u8; 4], usize); 256] = {
    let mut t = [([0u8; 4], 0usize); 256];
    let mut o = 0;
    while o < 256 {
        let (h, te, u) = ((o / 100) as u8, (o / 10 % 10) as u8, (o % 10) as u8);
        t[o] = if o >= 100 {
            ([b'0' + h, b'0' + te, b'0' + u, b'.'], 3)
        } else if o >= 10 {
            ([b'0' + te, b'0' + u, b'.', 0], 2)
        } else {
            ([b'0' + u, b'.', 0, 0], 1)
        };
        o += 1;
    }
    t
};

/// An IPv4 address as std prints it, in a 16-byte buffer, and its length:
/// four table entries of four bytes each, on the stack, the last dot left
/// out (a tenth of the NDJSON writer's time went to formatting the two
/// addresses digit by digit).
fn v4_text(a: std::net::Ipv4Addr) -> ([u8; 16], usize) {
    let mut text = [0u8; 16];
    let mut n = 0;
    for o in a.octets() {
        let (digits, len) = OCTETS.get(usize::from(o)).copied().unwrap_or_default();
        if let Some(t) = text.get_mut(n..n + 4) {
            t.copy_from_slice(&digits);
        }
        n += len + 1;
    }
    (text, n - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyze_paths;
    use std::path::PathBuf;

    /// What serde_json writes for the session: the contract's reference.
    fn serde_line(s: &Session, inputs: &[InputReport]) -> Vec<u8> {
        let mut v = serde_json::to_vec(&SessionJson::of(s, inputs)).unwrap_or_default();
        v.push(b'\n');
        v
    }

    fn check(sessions: &[Session], inputs: &[InputReport]) -> usize {
        let lines = LineWriter::new(inputs, sessions.iter().filter_map(|s| s.flow.as_ref()))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut buf = TextBuf::default();
        let mut times = LineTimes::default();
        for s in sessions {
            buf.clear();
            lines
                .write(&mut buf, &mut times, s)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                String::from_utf8_lossy(buf.as_slice()),
                String::from_utf8_lossy(&serde_line(s, inputs))
            );
        }
        sessions.len()
    }

    /// Every session of the lab captures, the adversarial corpus and the
    /// reference traces (IPv4 and IPv6, every state, flow-log details, extreme
    /// timestamps and precisions) comes out as serde_json writes it.
    #[test]
    fn lines_match_serde_json_on_real_captures() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let paths = [root.join("captures"), root.join("tests/data/traces")];
        assert!(paths.iter().all(|p| p.is_dir()), "{paths:?}");
        let a = analyze_paths(&paths, &Default::default());
        let n = check(&a.sessions, &a.inputs);
        assert!(n > 1000, "only {n} sessions");
        assert!(a.sessions.iter().any(|s| s.orig_h.is_ipv6()));
        assert!(a.sessions.iter().any(|s| s.flow.is_some()));
    }

    /// The line of a session that is one flow record, written straight
    /// from the record, is the line of the session built from it, on the
    /// real flow-log samples and the busy-VNET blobs (NSG v1 and v2, VNet
    /// flow logs, denies, notes): `sessions` writes them so.
    #[test]
    fn records_write_the_lines_of_their_sessions() {
        use crate::analyze::analyze_paths_finished;
        use crate::sessions::{SessionList, Visited};
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let paths = [
            root.join("tests/data/flowlogs/samples"),
            root.join("tests/data/busy-vnet"),
        ];
        assert!(paths.iter().all(|p| p.is_dir()), "{paths:?}");
        let (a, list) = analyze_paths_finished(&paths, &Default::default());
        let lines = LineWriter::new(&a.inputs, list.flow_infos()).unwrap_or_else(|e| panic!("{e}"));
        let (mut records, mut built) = (0, 0);
        let mut times = (LineTimes::default(), LineTimes::default());
        list.visit_compact(0..list.len(), &mut |_, v| {
            let mut buf = TextBuf::default();
            let want = match v {
                Visited::Record(r, infos) => {
                    records += 1;
                    lines
                        .write_record(&mut buf, &mut times.0, r, infos)
                        .unwrap_or_else(|e| panic!("{e}"));
                    let mut want = TextBuf::default();
                    lines
                        .write(&mut want, &mut times.1, &r.session(infos))
                        .unwrap_or_else(|e| panic!("{e}"));
                    want.as_slice().to_vec()
                }
                Visited::Built(s) => {
                    built += 1;
                    lines
                        .write(&mut buf, &mut times.0, s)
                        .unwrap_or_else(|e| panic!("{e}"));
                    serde_line(s, &a.inputs)
                }
            };
            assert_eq!(
                String::from_utf8_lossy(buf.as_slice()),
                String::from_utf8_lossy(&want)
            );
            assert_eq!(
                String::from_utf8_lossy(buf.as_slice()),
                String::from_utf8_lossy(&serde_line(&v.session(), &a.inputs))
            );
        });
        assert!(records > 10_000, "{records} records");
        assert!(built > 0, "no coalesced or joined session");
    }

    /// Records at the edges (IPv6, any protocol, extreme times and
    /// precisions whose durations serde_json writes with an exponent,
    /// counts near the top, details out of range) write their sessions'
    /// serde_json lines.
    #[test]
    fn extreme_records_write_the_lines_of_their_sessions() {
        use crate::sessions::{ConnState, Decision};
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/flowlogs/samples");
        let inputs = analyze_paths(
            &[
                dir.join("nsg-v2_docs-overview-sample_2records.json"),
                dir.join("vnet-v4_docs-overview-sample_1record.json"),
            ],
            &Default::default(),
        )
        .inputs;
        assert_eq!(inputs.len(), 2);
        let infos = vec![Arc::new(FlowInfo {
            decision: Some(Decision::Deny),
            note: Some("a \"quoted\" note\n".into()),
            ..FlowInfo::default()
        })];
        let lines = LineWriter::new(&inputs, &infos).unwrap_or_else(|e| panic!("{e}"));
        let mut times = LineTimes::default();
        let mut n = 0;
        for (first, last) in [
            (0, 0),
            (i64::MIN, i64::MAX),
            (-5, 3),
            (1, 1_000_000_000_000_000_000),
            (1_724_090_400_123_456_789, 1_724_090_400_123_456_789 + 7),
        ] {
            for (proto, orig_h, resp_h) in [
                (6u8, "10.0.0.1", "255.255.255.255"),
                (17, "::", "fd00::1"),
                (58, "fe80::1", "::ffff:1.2.3.4"),
                (250, "0.0.0.0", "1.1.1.1"),
            ] {
                for (digits, info, input) in [(0u8, 0u32, 0u32), (3, 1, 1), (9, u32::MAX, 5)] {
                    let r = FlowRecord {
                        first_ts: first,
                        last_ts: last,
                        orig_pkts: u64::MAX,
                        orig_ip_bytes: 1,
                        resp_pkts: 0,
                        resp_ip_bytes: u64::MAX - 1,
                        orig_h: orig_h.parse().unwrap_or_else(|e| panic!("{e}")),
                        resp_h: resp_h.parse().unwrap_or_else(|e| panic!("{e}")),
                        orig_p: 0,
                        resp_p: 65535,
                        ip_proto: proto,
                        ts_digits: digits,
                        state: ConnState::RSTOS0,
                        info,
                        input,
                    };
                    let mut buf = TextBuf::default();
                    lines
                        .write_record(&mut buf, &mut times, &r, &infos)
                        .unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(
                        String::from_utf8_lossy(buf.as_slice()),
                        String::from_utf8_lossy(&serde_line(&r.session(&infos), &inputs)),
                        "{r:?}"
                    );
                    n += 1;
                }
            }
        }
        assert_eq!(n, 60);
    }

    /// Durations come out as serde_json prints the rounded `f64`: every
    /// microsecond count up to 1.1 s, then a spread up to and past 10^9 s,
    /// and negative ones.
    #[test]
    fn durations_match_serde_json() {
        let mut micros: Vec<i64> = (0..1_100_000).collect();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            micros.push((x % 2_000_000_000_000_000) as i64 >> (x % 40));
        }
        micros.extend([
            -1,
            -9,
            -10,
            -123_456,
            999_999_999_999_999,
            1_000_000_000_000_000,
        ]);
        for m in micros {
            for ns in [m * 1000, m * 1000 + 499, m * 1000 - 500] {
                let secs = ns as f64 / 1e9;
                let mut room = [0u8; HEAD_ROOM];
                let mut head = Head::new(&mut room);
                head.duration(secs);
                let want = serde_json::to_string(&super::super::contract::round6(secs))
                    .unwrap_or_default();
                assert_eq!(
                    String::from_utf8_lossy(head.done().unwrap()),
                    want,
                    "{ns} ns"
                );
            }
        }
    }

    /// Paths that need escaping, and sessions seen by several inputs.
    #[test]
    fn escaped_paths_and_several_inputs() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("captures/healthy-linux");
        let a = analyze_paths(
            &[dir.join("buildvm.pcap"), dir.join("proxy.pcap")],
            &Default::default(),
        );
        let mut inputs = a.inputs.clone();
        for (i, r) in inputs.iter_mut().enumerate() {
            r.path = format!("dir \"{i}\"\\caf\u{e9}\t\u{1}.pcap");
        }
        let mut sessions = a.sessions.clone();
        for s in &mut sessions {
            for i in 0..inputs.len() as u32 {
                s.seen_by.insert(i);
            }
        }
        assert!(
            sessions
                .iter()
                .any(|s| s.flow.is_none() && s.icmp_error.is_none())
        );
        assert!(check(&sessions, &inputs) > 0);
    }

    /// Every octet value in every position, as std prints the address.
    #[test]
    fn ipv4_addresses_as_std_prints_them() {
        for o in 0..=255u8 {
            for a in [
                std::net::Ipv4Addr::new(o, 0, 255, 9),
                std::net::Ipv4Addr::new(10, o, 100, 99),
                std::net::Ipv4Addr::new(255, 1, o, 10),
                std::net::Ipv4Addr::new(1, 250, 37, o),
                std::net::Ipv4Addr::new(o, o, o, o),
            ] {
                let mut room = [0u8; HEAD_ROOM];
                let mut head = Head::new(&mut room);
                head.addr(IpAddr::V4(a));
                assert_eq!(String::from_utf8_lossy(head.done().unwrap()), a.to_string());
            }
        }
    }
}

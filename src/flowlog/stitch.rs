//! Flow tuples → [`Session`]s, and the flow-log reader the pipeline driver
//! ([`crate::analyze`]) calls for inputs detected as flow logs.
//!
//! Stitching, per file, per observer (the ACL — NSG resource id or VNet
//! `aclID` — and the NIC MAC) and per directed 5-tuple (the tuple's source is
//! the initiator), in input order:
//!
//! * `B` opens a session; `C` adds to the open one; `E` adds and closes it (a
//!   `C` or `E` with no open session opens one that began before the log).
//!   Counters are deltas since the previous tuple, so a session's counts are
//!   their sum; bytes include headers, so they go to `ip_bytes`.
//! * A denied tuple (NSG decision `D`, VNet state `D`) is a denied attempt:
//!   decision `deny`, the denying rule; repeats within
//!   [`DENY_REPEAT_MS`] are the same attempt.
//! * NSG version 1 tuples (no state, no counters) are observations of a flow:
//!   repeats within [`IDLE_MS`] are the same session.
//! * A gap longer than [`IDLE_MS`], or a change of decision, starts a new
//!   session.
//!
//! `conn_state` in Zeek's terms: a deny is `S0` (attempt, no reply); a flow
//! with counters is `SF` once it ended with packets both ways, `S1` while
//! still open, `S0` when nothing came back (`E,1,74,0,0`: one SYN out, no
//! answer), `REJ` when only a bare RST-sized packet came back
//! (`E,1,74,1,54`); a flow without counters (Begin only, version 1) is `OTH`. A
//! Begin-only inbound flow allowed by a custom NSG rule is *not* a failure:
//! NSG flow logs track such flows statelessly and never log their counters
//! or end; the session's note says so.
//!
//! The same connection logged by two NSGs (subnet and NIC, or both VMs) in
//! two files becomes one session seen by both: [`SessionTable::finish`]
//! coalesces views from different inputs.

use super::{
    Decision, Direction, Dropped, FlowLogError, FlowLogFile, FlowState, FlowTuple, IssueKind,
    RecordKind, parse,
};
use crate::analyze::{InputReport, Scope, Skipped};
use crate::decode::FiveTuple;
use crate::ingest::Input;
use crate::sessions::{ConnState, FlowInfo, Session, SessionTable, Side};
use rustc_hash::FxHashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// A gap between two tuples of one flow longer than this starts a new
/// session. Open flows get a `C` every 5 minutes, so twice that.
pub const IDLE_MS: i64 = 10 * 60 * 1000;

/// Denied tuples of one 5-tuple closer than this are one attempt (SYN
/// retransmissions reuse the source port).
pub const DENY_REPEAT_MS: i64 = 60 * 1000;

/// The [`crate::analyze::OtherReader`] for flow logs: parse, report, stitch.
pub fn read_input(
    input: &Input,
    idx: u32,
    scope: &Scope,
    report: &mut InputReport,
    skipped: &mut Vec<Skipped>,
) -> Option<SessionTable> {
    match parse(input.path.as_str(), &input.bytes) {
        Ok(file) => {
            fill_report(&file, report, skipped);
            let (table, used) = sessions_in_scope(&file, idx, scope);
            report.used = used;
            Some(table)
        }
        Err(e) => {
            let offset = match &e {
                FlowLogError::NotJson { offset, .. } => Some(*offset),
                FlowLogError::Io { .. } => None,
            };
            report.error = Some(e.to_string());
            skipped.push(Skipped {
                path: input.path.clone(),
                offset,
                reason: match &e {
                    FlowLogError::NotJson { .. } => {
                        "not a flow log: expected a JSON object or array".to_string()
                    }
                    FlowLogError::Io { source, .. } => source.to_string(),
                },
            });
            None
        }
    }
}

/// Counts and issues of a parsed file into the driver's report.
pub fn fill_report(file: &FlowLogFile, report: &mut InputReport, skipped: &mut Vec<Skipped>) {
    let s = file.stats;
    report.packets = s.tuples_read;
    report.decoded = file.tuple_count() as u64;
    let mut digits = 0u8;
    let (mut first, mut last) = (None::<i64>, None::<i64>);
    for b in &file.batches {
        for r in &b.records {
            if matches!(r.kind, RecordKind::Vnet { .. }) {
                digits = 3;
            }
        }
        for t in &b.tuples {
            let ns = t.ts_ms.saturating_mul(1_000_000);
            first = Some(first.map_or(ns, |f| f.min(ns)));
            last = Some(last.map_or(ns, |l| l.max(ns)));
        }
    }
    report.first_ts = first;
    report.last_ts = last;
    report.ts_digits = digits;
    for (k, v) in [
        ("duplicate tuple", s.tuples_duplicate),
        ("bad tuple", s.tuples_skipped),
    ] {
        if v > 0 {
            report.not_decoded.insert(k, v);
        }
    }
    for i in &file.issues {
        if i.kind.dropped() == Dropped::Nothing && !matches!(i.kind, IssueKind::Unclosed) {
            continue;
        }
        if matches!(
            i.kind,
            IssueKind::Truncated { .. } | IssueKind::Unexpected { .. }
        ) {
            report.error = Some(i.to_string());
        }
        let reason = match i.record {
            Some(r) => format!("record {r}: {}", i.kind),
            None => i.kind.to_string(),
        };
        skipped.push(Skipped {
            path: file.path.to_string(),
            offset: Some(i.offset),
            reason,
        });
    }
    if s.issues_dropped > 0 {
        skipped.push(Skipped {
            path: file.path.to_string(),
            offset: None,
            reason: format!("{} more issues not listed", s.issues_dropped),
        });
    }
}

/// Who logged a tuple: ACL (NSG id / `aclID`) and MAC, as an index into a
/// per-file table of distinct pairs.
type Observer = u32;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    observer: Observer,
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
}

/// A session being built.
struct Acc {
    key: Key,
    first_ms: i64,
    last_ms: i64,
    counters: Option<super::Counters>,
    /// States in order of first appearance (`B`, `C`, `E`, `D`).
    states: [u8; 4],
    n_states: u8,
    ended: bool,
    decision: Decision,
    direction: Direction,
    denies: u32,
    /// Batch and tuple the rule / resource come from.
    batch: u32,
    rule: super::RuleRef,
    record: u32,
    v1: bool,
    ms_precision: bool,
}

impl Acc {
    fn new(key: Key, t: &FlowTuple, batch: u32, ms: bool) -> Acc {
        Acc {
            key,
            first_ms: t.ts_ms,
            last_ms: t.ts_ms,
            counters: None,
            states: [0; 4],
            n_states: 0,
            ended: false,
            decision: t.decision,
            direction: t.direction,
            denies: 0,
            batch,
            rule: t.rule,
            record: t.record,
            v1: t.state.is_none(),
            ms_precision: ms,
        }
    }

    fn add(&mut self, t: &FlowTuple) {
        self.first_ms = self.first_ms.min(t.ts_ms);
        self.last_ms = self.last_ms.max(t.ts_ms);
        if let Some(c) = t.counters {
            self.counters = Some(self.counters.unwrap_or_default().saturating_add(c));
        }
        if let Some(s) = t.state {
            let l = s.letter() as u8;
            let n = usize::from(self.n_states);
            if !self.states.get(..n).is_some_and(|v| v.contains(&l))
                && let Some(slot) = self.states.get_mut(n)
            {
                *slot = l;
                self.n_states += 1;
            }
            if s == FlowState::End {
                self.ended = true;
            }
        }
        if t.decision == Decision::Deny {
            self.denies += 1;
        }
    }

    /// Whether tuple `t` continues this session.
    fn continues(&self, t: &FlowTuple) -> bool {
        if t.decision != self.decision || t.ts_ms.saturating_sub(self.last_ms) > IDLE_MS {
            return false;
        }
        if self.decision == Decision::Deny {
            return t.ts_ms.saturating_sub(self.last_ms) <= DENY_REPEAT_MS;
        }
        match t.state {
            None => true,
            Some(FlowState::Begin) => !self.ended && !self.has(b'C') && !self.has(b'E'),
            Some(_) => !self.ended,
        }
    }

    fn has(&self, l: u8) -> bool {
        self.states
            .get(..usize::from(self.n_states))
            .is_some_and(|v| v.contains(&l))
    }
}

/// Stitch a file's tuples into sessions seen by input `input`.
pub fn sessions(file: &FlowLogFile, input: u32) -> SessionTable {
    sessions_in_scope(file, input, &Scope::default()).0
}

/// Stitch the tuples of a file that `scope` admits into sessions seen by
/// input `input`; also returns how many tuples were used.
pub fn sessions_in_scope(file: &FlowLogFile, input: u32, scope: &Scope) -> (SessionTable, u64) {
    let everything = scope.is_everything();
    let mut used = 0u64;
    // Observers: distinct (ACL, MAC) over all batches.
    let mut observers: FxHashMap<(&str, &str), Observer> = FxHashMap::default();
    let obs_of: Vec<Vec<Observer>> = file
        .batches
        .iter()
        .map(|b| {
            b.rules
                .iter()
                .map(|r| {
                    let n = observers.len() as Observer;
                    *observers.entry((b.str(r.acl), b.str(r.mac))).or_insert(n)
                })
                .collect()
        })
        .collect();
    let mut accs: Vec<Acc> = Vec::new();
    let mut open: FxHashMap<Key, u32> = FxHashMap::default();
    for (bi, b) in file.batches.iter().enumerate() {
        let obs = obs_of.get(bi).map(Vec::as_slice).unwrap_or_default();
        let ms = b
            .records
            .iter()
            .any(|r| matches!(r.kind, RecordKind::Vnet { .. }));
        for t in &b.tuples {
            if !everything && !scope.admits(t.src, t.sport, t.dst, t.dport) {
                continue;
            }
            used += 1;
            let key = Key {
                observer: obs.get(t.rule.0 as usize).copied().unwrap_or(u32::MAX),
                proto: t.proto.0,
                src: t.src,
                dst: t.dst,
                sport: t.sport,
                dport: t.dport,
            };
            let cur = open
                .get(&key)
                .copied()
                .filter(|&i| accs.get(i as usize).is_some_and(|a| a.continues(t)));
            let i = match cur {
                Some(i) => i,
                None => {
                    let i = accs.len() as u32;
                    accs.push(Acc::new(key, t, bi as u32, ms));
                    open.insert(key, i);
                    i
                }
            };
            if let Some(a) = accs.get_mut(i as usize) {
                a.add(t);
            }
        }
    }
    // Text shared by many sessions: one allocation per distinct string.
    let mut shared = Shared::default();
    let mut out = Vec::with_capacity(accs.len());
    for a in accs {
        let Some(b) = file.batches.get(a.batch as usize) else {
            continue;
        };
        let (rule, acl) = shared.rule(b, a.batch, a.rule);
        let rec = b.records.get(a.record as usize);
        let vnet = rec.is_some_and(|r| matches!(r.kind, RecordKind::Vnet { .. }));
        let target = match rec {
            Some(r) if vnet => shared.text(b.str(r.resource)),
            _ => None,
        };
        out.push(to_session(&a, rule, acl, target, vnet, input, &mut shared));
    }
    (SessionTable::from_sessions(out), used)
}

/// Rule name and ACL of one rule entry.
type RuleTexts = (Option<Arc<str>>, Option<Arc<str>>);

/// Interned `Arc<str>`s for the strings sessions share, and whole
/// [`FlowInfo`]s: thousands of sessions carry the same rule, NSG, states and
/// note, so they share one `Arc<FlowInfo>` instead of a box each.
#[derive(Default)]
struct Shared {
    texts: FxHashMap<Box<str>, Arc<str>>,
    rules: FxHashMap<(u32, u32), RuleTexts>,
    infos: FxHashMap<InfoKey, Arc<FlowInfo>>,
}

/// A [`FlowInfo`] by the addresses of its interned texts (equal texts are
/// the same `Arc`, so the addresses identify the content).
type InfoKey = (bool, bool, [usize; 5]);

impl Shared {
    /// The shared copy of `info`.
    fn info(&mut self, info: FlowInfo) -> Arc<FlowInfo> {
        let ptr = |a: &Option<Arc<str>>| {
            a.as_ref()
                .map_or(0, |a| Arc::as_ptr(a) as *const u8 as usize)
        };
        let key = (
            info.decision == Some("deny"),
            info.direction == Some("inbound"),
            [
                ptr(&info.rule),
                ptr(&info.flow_state),
                ptr(&info.nsg),
                ptr(&info.target),
                ptr(&info.note),
            ],
        );
        self.infos
            .entry(key)
            .or_insert_with(|| Arc::new(info))
            .clone()
    }

    /// `None` for an empty string.
    fn text(&mut self, s: &str) -> Option<Arc<str>> {
        if s.is_empty() {
            return None;
        }
        if let Some(a) = self.texts.get(s) {
            return Some(a.clone());
        }
        let a: Arc<str> = Arc::from(s);
        self.texts.insert(s.into(), a.clone());
        Some(a)
    }

    /// Rule name and ACL of a batch's rule entry.
    fn rule(&mut self, b: &super::FlowLogBatch, batch: u32, r: super::RuleRef) -> RuleTexts {
        if let Some(v) = self.rules.get(&(batch, r.0)) {
            return v.clone();
        }
        let e = b.rule(r);
        let v = (
            self.text(e.map_or("", |e| b.str(e.rule))),
            self.text(e.map_or("", |e| b.str(e.acl))),
        );
        self.rules.insert((batch, r.0), v.clone());
        v
    }
}

#[allow(clippy::too_many_arguments)] // the parts of one session, assembled once
fn to_session(
    a: &Acc,
    rule: Option<Arc<str>>,
    acl: Option<Arc<str>>,
    target: Option<Arc<str>>,
    vnet: bool,
    input: u32,
    shared: &mut Shared,
) -> Session {
    let k = &a.key;
    let five = FiveTuple {
        proto: k.proto,
        src: k.src,
        dst: k.dst,
        sport: k.sport,
        dport: k.dport,
    };
    let ns = |ms: i64| ms.saturating_mul(1_000_000);
    let mut s = Session::new(
        &five,
        ns(a.first_ms),
        if a.ms_precision { 3 } else { 0 },
        input,
    );
    s.last_ts = ns(a.last_ms);
    let c = a.counters.unwrap_or_default();
    s.orig = Side {
        pkts: c.pkts_src_to_dst,
        bytes: 0,
        ip_bytes: c.bytes_src_to_dst,
    };
    s.resp = Side {
        pkts: c.pkts_dst_to_src,
        bytes: 0,
        ip_bytes: c.bytes_dst_to_src,
    };
    let denied = a.decision == Decision::Deny;
    let has_counters = a.counters.is_some();
    s.state = if denied {
        ConnState::S0
    } else if !has_counters {
        ConnState::OTH
    } else if refused(k.proto, k.src, c) {
        ConnState::REJ
    } else if c.pkts_dst_to_src > 0 {
        if a.ended {
            ConnState::SF
        } else {
            ConnState::S1
        }
    } else if c.pkts_src_to_dst > 0 {
        ConnState::S0
    } else {
        ConnState::OTH
    };
    let letters = a.states.get(..usize::from(a.n_states)).unwrap_or_default();
    let flow_state = shared.text(std::str::from_utf8(letters).unwrap_or(""));
    let rule_name = rule.as_deref().unwrap_or("");
    let note = note(a, rule_name, vnet, has_counters, c).and_then(|n| shared.text(&n));
    let decision = if denied { "deny" } else { "allow" };
    let direction = match a.direction {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    };
    s.flow = Some(shared.info(FlowInfo {
        decision: Some(decision),
        rule,
        direction: Some(direction),
        flow_state,
        // The NSG that decided: the record's NSG for NSG logs; for VNet logs
        // the ACL (an NSG resource id, or a GUID for AVNM / older data).
        nsg: acl,
        target,
        note,
    }));
    s
}

/// A TCP flow refused by the responder: the originator sent only its
/// SYN(s) and got back as many bare packets the size of a RST (`E,1,74,1,54`;
/// a SYN-ACK carries options and is larger, and an established connection
/// needs a third packet from the originator). The same test as
/// `hops::outcome` applies to flow-log sessions.
fn refused(proto: u8, src: IpAddr, c: super::Counters) -> bool {
    let bare = if src.is_ipv4() { 60 } else { 80 };
    proto == 6
        && c.pkts_dst_to_src > 0
        && c.pkts_src_to_dst <= 2
        && c.pkts_dst_to_src <= c.pkts_src_to_dst
        && c.bytes_dst_to_src <= c.pkts_dst_to_src * bare
}

fn note(
    a: &Acc,
    rule: &str,
    vnet: bool,
    has_counters: bool,
    c: super::Counters,
) -> Option<std::borrow::Cow<'static, str>> {
    if a.decision == Decision::Deny {
        return (a.denies > 1).then(|| format!("denied {} times", a.denies).into());
    }
    if a.v1 {
        return Some("NSG flow log version 1: observations without flow state or counters".into());
    }
    if !has_counters {
        let custom_inbound =
            !vnet && a.direction == Direction::Inbound && !rule.starts_with("DefaultRule_");
        return Some(if custom_inbound {
            "Begin only, no counters: NSG flow logs track inbound flows allowed by a custom \
             rule statelessly and never log their counters or end (by design); not a failure"
                .into()
        } else {
            "Begin only, no counters yet: the flow was still open when the log ends".into()
        });
    }
    if refused(a.key.proto, a.key.src, c) {
        return Some(
            "refused: only the SYN went out and a bare packet the size of a RST came back \
             (End counts like 1,74,1,54)"
                .into(),
        );
    }
    if c.pkts_dst_to_src == 0 && c.pkts_src_to_dst > 0 {
        return Some(
            "no reply packets (End counts packets out, none back): an unanswered connection attempt"
                .into(),
        );
    }
    if !a.has(b'B') {
        return Some("began before the log".into());
    }
    None
}

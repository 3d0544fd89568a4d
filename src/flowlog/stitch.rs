//! Flow tuples → [`Session`]s, and the flow-log reader the pipeline driver
//! ([`crate::analyze`]) calls for inputs detected as flow logs.
//!
//! Stitching, per file, per observer (the ACL — NSG resource id or VNet
//! `aclID` — and the NIC MAC) and per directed 5-tuple (the tuple's source is
//! the initiator), in input order:
//!
//! * `B` opens a session; `C` adds to the open one; `E` adds and closes it (a
//!   `C` or `E` with no open session opens one that began before the log).
//!   Azure rolls long-lived flows over: an `E` and a `B` in the same
//!   millisecond, the `E` first, are one flow going on, and so is a `C` or
//!   `E` after the `E` (its rollover `B` unlogged or a duplicate).
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
    ParseOptions, RecordKind, parse_with,
};
use crate::ingest::Input;
use crate::ingest::{InputReport, Skipped};
use crate::sessions::Filter;
use crate::sessions::{ConnState, FlowInfo, FlowRecord, SessionTable};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::net::IpAddr;
use std::sync::Arc;

/// A gap between two tuples of one flow longer than this starts a new
/// session. Open flows get a `C` every 5 minutes, so twice that.
pub const IDLE_MS: i64 = 10 * 60 * 1000;

/// Denied tuples of one 5-tuple closer than this are one attempt (SYN
/// retransmissions reuse the source port).
pub const DENY_REPEAT_MS: i64 = 60 * 1000;

/// Read one flow-log input for the driver: parse, report, stitch.
/// Tuples that `filter`'s hosts and ports do not admit are dropped as they
/// are decoded (never stored, de-duplicated or stitched): a session's
/// tuples share its ends, so this drops exactly the sessions the filter
/// would hide.
pub fn read_input(
    input: &Input,
    idx: u32,
    filter: &Filter,
    report: &mut InputReport,
    skipped: &mut Vec<Skipped>,
) -> Option<SessionTable> {
    let opts = ParseOptions {
        filter: (!filter.all_ends()).then(|| filter.ends_only()),
        ..ParseOptions::default()
    };
    match parse_with(input.path.as_str(), &input.bytes, &opts) {
        Ok(file) => {
            fill_report(&file, report, skipped);
            Some(sessions(&file, idx))
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
    // Tuples the pre-filter dropped were decoded, just not used.
    report.decoded = file.tuple_count() as u64 + s.tuples_filtered;
    report.used = file.tuple_count() as u64;
    report.logged_hosts = super::logged_hosts(file);
    let mut digits = 0u8;
    for b in &file.batches {
        for r in &b.records {
            if matches!(r.kind, RecordKind::Vnet { .. }) {
                digits = 3;
            }
        }
    }
    // Over every tuple decoded, kept by the pre-filter or not: the input's
    // time span does not depend on what is shown.
    report.first_ts = s.ts_range.map(|(a, _)| a.saturating_mul(1_000_000));
    report.last_ts = s.ts_range.map(|(_, b)| b.saturating_mul(1_000_000));
    report.ts_digits = digits;
    // Reasons in snake_case, as captures' (`decode::SkipReason::as_str`).
    for (k, v) in [
        ("duplicate_tuple", s.tuples_duplicate),
        ("bad_tuple", s.tuples_skipped),
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

/// The stitching key: observer and directed 5-tuple, addresses as integers
/// (hashing and comparing two `IpAddr` enums cost more than the rest of
/// the tuple's stitching).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    /// Source address: high and low 64 bits (IPv4: low only).
    src: [u64; 2],
    dst: [u64; 2],
    /// Observer (high 32 bits), source port, destination port.
    obs_ports: u64,
    proto: u8,
    v6: bool,
}

impl Key {
    fn of(t: &FlowTuple, observer: Observer) -> Key {
        let bits = |a: IpAddr| match a {
            IpAddr::V4(a) => [0, u64::from(u32::from(a))],
            IpAddr::V6(a) => {
                let b = u128::from(a);
                [(b >> 64) as u64, b as u64]
            }
        };
        Key {
            src: bits(t.src),
            dst: bits(t.dst),
            obs_ports: u64::from(observer) << 32 | u64::from(t.sport) << 16 | u64::from(t.dport),
            proto: t.proto.0,
            v6: t.src.is_ipv6(),
        }
    }

    fn addr(&self, [hi, lo]: [u64; 2]) -> IpAddr {
        if self.v6 {
            IpAddr::V6((u128::from(hi) << 64 | u128::from(lo)).into())
        } else {
            IpAddr::V4(u32::try_from(lo).unwrap_or(0).into())
        }
    }

    fn hash(&self) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one(self)
    }

    fn src(&self) -> IpAddr {
        self.addr(self.src)
    }

    fn dst(&self) -> IpAddr {
        self.addr(self.dst)
    }

    fn sport(&self) -> u16 {
        (self.obs_ports >> 16) as u16
    }

    fn dport(&self) -> u16 {
        self.obs_ports as u16
    }
}

/// A thread's scratch for stitching files, kept from one to the next:
/// fresh for each file, the accumulators' pages were faulted in for every
/// file (writing them into new memory was most of the stitching's time);
/// reused, they stay in the cache. The records made from them are the
/// only new memory a file takes.
#[derive(Default)]
struct Scratch {
    accs: Vec<Acc>,
    open: FxHashMap<u64, u32>,
}

/// The most accumulators a thread keeps room for between files (about
/// 35 MB): a file with more (a VNet's busiest hour) gets room of its own,
/// freed after it.
const SCRATCH_KEPT: usize = 1 << 18;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// A session being built.
struct Acc {
    key: Key,
    first_ms: i64,
    last_ms: i64,
    counters: Option<super::Counters>,
    /// States in order of first appearance (`B`, `C`, `E`, `D`), per
    /// rollover (see [`next_state`]).
    states: [u8; STATES],
    n_states: u8,
    ended: bool,
    decision: Decision,
    direction: Direction,
    v1: bool,
    denies: u32,
    /// Batch and tuple the rule / resource come from.
    batch: u32,
    rule: super::RuleRef,
    record: u32,
}

impl Acc {
    fn new(key: Key, t: &FlowTuple, batch: u32) -> Acc {
        Acc {
            key,
            first_ms: t.ts_ms,
            last_ms: t.ts_ms,
            counters: None,
            states: [0; STATES],
            n_states: 0,
            ended: false,
            decision: t.decision,
            direction: t.direction,
            v1: t.state.is_none(),
            denies: 0,
            batch,
            rule: t.rule,
            record: t.record,
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
            if next_state(self.states.get(..n).unwrap_or_default(), l) {
                if let Some(slot) = self.states.get_mut(n) {
                    *slot = l;
                    self.n_states += 1;
                } else if l == b'E'
                    && let Some(last) = self.states.last_mut()
                {
                    // Full (many rollovers): still end with the `E`.
                    *last = l;
                }
            }
            // A `B` after the `E` is a rollover: the flow goes on.
            self.ended = s == FlowState::End || (self.ended && s != FlowState::Begin);
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
            Some(FlowState::Begin) => {
                (!self.ended && !self.has(b'C') && !self.has(b'E')) || self.rolls_over(t)
            }
            // After an `E`, a `C` or `E` of the same 5-tuple within the idle
            // gap is the flow going on after a rollover whose `B` was not
            // logged or was dropped as a byte-identical duplicate of the
            // flow's first (the sumologic subnet sample: B, E, B, E of one
            // connection, the two `B`s equal): a new flow would begin with
            // its own `B`.
            Some(_) => true,
        }
    }

    /// Whether Begin tuple `t` is this ended flow rolling over: Azure ends a
    /// long-lived flow (NTP, HTTPS) and begins it again in the same
    /// millisecond, the `E` listed first. One flow, not two sessions
    /// (issue 20; the sumologic NIC and subnet samples have such pairs).
    fn rolls_over(&self, t: &FlowTuple) -> bool {
        self.ended && t.ts_ms == self.last_ms
    }

    fn has(&self, l: u8) -> bool {
        self.states
            .get(..usize::from(self.n_states))
            .is_some_and(|v| v.contains(&l))
    }
}

/// Room for a session's flow-state letters: `BCE` and two rollovers.
const STATES: usize = 8;

/// Whether flow-state letter `l` is added to a session's `letters`: a letter
/// is listed once, in order of first appearance, since the last rollover (a
/// `B` after an `E`, which starts the list again). So the letters start
/// with `B` exactly when the flow began in the log, and end with `E` exactly
/// when it ended (`EB`: began before the log, rolled over, still open).
/// Stitching and the join of continuations across blobs list them alike.
pub(super) fn next_state(letters: &[u8], l: u8) -> bool {
    if l == b'B' && letters.last() == Some(&b'E') {
        return true;
    }
    let since = letters
        .windows(2)
        .rposition(|w| w == b"EB")
        .map_or(0, |i| i + 1);
    !letters.get(since..).is_some_and(|v| v.contains(&l))
}

/// Per batch: whether its records are VNet (millisecond times) and, for
/// each of its records, the target text (VNet) and whether it is VNet.
struct BatchTexts {
    ms: bool,
    rules: Vec<RuleTexts>,
    records: Vec<(bool, Option<Arc<str>>)>,
}

/// Stitch a file's tuples into sessions seen by input `input`.
pub fn sessions(file: &FlowLogFile, input: u32) -> SessionTable {
    sessions_in_scope(file, input, &Filter::default()).0
}

/// Stitch the tuples of a file whose ends `filter` admits into sessions
/// seen by input `input`; also returns how many tuples were used.
pub fn sessions_in_scope(file: &FlowLogFile, input: u32, filter: &Filter) -> (SessionTable, u64) {
    let everything = filter.all_ends();
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
    let n_tuples = file.tuple_count();
    // The sessions being built, and the open session of each key by the
    // key's hash (16-byte entries instead of 56: the table is probed once
    // per tuple and outgrows the caches; the session's own key tells a
    // hash collision, whose key then lives in `collided`). Both are this
    // thread's scratch, kept from file to file.
    let Scratch { mut accs, mut open } = SCRATCH.with(RefCell::take);
    accs.clear();
    open.clear();
    accs.reserve(n_tuples / 2);
    open.reserve(n_tuples / 2);
    let mut collided: FxHashMap<Key, u32> = FxHashMap::default();
    for (bi, b) in file.batches.iter().enumerate() {
        let obs = obs_of.get(bi).map(Vec::as_slice).unwrap_or_default();
        for t in &b.tuples {
            if !everything && !filter.admits_ends(t.src, t.sport, t.dst, t.dport) {
                continue;
            }
            used += 1;
            let key = Key::of(t, obs.get(t.rule.0 as usize).copied().unwrap_or(u32::MAX));
            let next = accs.len() as u32;
            let i = match open.entry(key.hash()) {
                Entry::Vacant(e) => *e.insert(next),
                Entry::Occupied(mut e) => {
                    let cur = *e.get();
                    match accs.get(cur as usize) {
                        Some(a) if a.key == key => {
                            if a.continues(t) {
                                cur
                            } else {
                                e.insert(next);
                                next
                            }
                        }
                        _ => {
                            let slot = collided.entry(key).or_insert(next);
                            if *slot != next
                                && !accs.get(*slot as usize).is_some_and(|a| a.continues(t))
                            {
                                *slot = next;
                            }
                            *slot
                        }
                    }
                }
            };
            if i == next {
                accs.push(Acc::new(key, t, bi as u32));
            }
            if let Some(a) = accs.get_mut(i as usize) {
                a.add(t);
            }
        }
    }
    drop(collided);
    // Text shared by many sessions: one allocation per distinct string,
    // one `FlowInfo` per distinct combination.
    let mut shared = Shared::default();
    let texts: Vec<BatchTexts> = file
        .batches
        .iter()
        .map(|b| BatchTexts {
            ms: b
                .records
                .iter()
                .any(|r| matches!(r.kind, RecordKind::Vnet { .. })),
            rules: b
                .rules
                .iter()
                .map(|e| (shared.sym(b, e.rule), shared.sym(b, e.acl)))
                .collect(),
            records: b
                .records
                .iter()
                .map(|r| {
                    let vnet = matches!(r.kind, RecordKind::Vnet { .. });
                    (
                        vnet,
                        if vnet {
                            shared.sym(b, r.resource)
                        } else {
                            None
                        },
                    )
                })
                .collect(),
        })
        .collect();
    let out: Vec<FlowRecord> = accs
        .iter()
        .map(|a| {
            // The texts are borrowed: cloned only into a new `FlowInfo`
            // (counting references, three a record, cost more than the
            // rest of the record).
            let bt = texts.get(a.batch as usize);
            let (rule, acl) = bt
                .and_then(|bt| bt.rules.get(a.rule.0 as usize))
                .map_or((None, None), |(r, l)| (r.as_ref(), l.as_ref()));
            let (vnet, target) = bt
                .and_then(|bt| bt.records.get(a.record as usize))
                .map_or((false, None), |(v, t)| (*v, t.as_ref()));
            let ms = bt.is_some_and(|bt| bt.ms);
            to_record(a, [rule, acl, target], vnet, ms, input, &mut shared)
        })
        .collect();
    if accs.capacity() <= SCRATCH_KEPT {
        SCRATCH.with(|s| s.replace(Scratch { accs, open }));
    }
    (SessionTable::from_flow_records(out, shared.infos), used)
}

/// Rule name and ACL of one rule entry.
type RuleTexts = (Option<Arc<str>>, Option<Arc<str>>);

/// Interned `Arc<str>`s for the strings sessions share, and whole
/// [`FlowInfo`]s: thousands of sessions carry the same rule, NSG, states and
/// note, so they share one `Arc<FlowInfo>` instead of a box each.
#[derive(Default)]
struct Shared {
    /// Texts by their hash (kept once, in the `Arc`); a different text
    /// with the same hash goes to `collided`.
    texts: FxHashMap<u64, Arc<str>>,
    collided: FxHashMap<Arc<str>, Arc<str>>,
    /// Index into `infos` by what decides a [`FlowInfo`].
    info_ix: FxHashMap<InfoKey, u32>,
    infos: Vec<Arc<FlowInfo>>,
}

/// What decides a session's [`FlowInfo`]: the addresses of its interned
/// texts (equal texts are the same `Arc`, so the addresses identify the
/// content), its flow states, decision, direction and note.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct InfoKey {
    texts: [usize; 3],
    states: [u8; STATES],
    deny: bool,
    inbound: bool,
    note: Note,
}

impl Shared {
    /// The shared copy of a text, `None` for an empty one; `make` gives
    /// an `Arc` for a text not seen yet (the batch's own, when there is
    /// one: no copy of a name is made, however long).
    fn intern(&mut self, s: &str, make: impl FnOnce() -> Arc<str>) -> Option<Arc<str>> {
        use std::hash::BuildHasher;
        if s.is_empty() {
            return None;
        }
        match self.texts.entry(rustc_hash::FxBuildHasher.hash_one(s)) {
            Entry::Vacant(e) => Some(e.insert(make()).clone()),
            Entry::Occupied(e) if **e.get() == *s => Some(e.get().clone()),
            Entry::Occupied(_) => Some(
                self.collided
                    .entry(Arc::from(s))
                    .or_insert_with(make)
                    .clone(),
            ),
        }
    }

    /// A generated text (flow states, notes).
    fn text(&mut self, s: &str) -> Option<Arc<str>> {
        self.intern(s, || Arc::from(s))
    }

    /// A batch's string.
    fn sym(&mut self, b: &super::FlowLogBatch, sym: super::Sym) -> Option<Arc<str>> {
        let a = b.strings.get(sym.0 as usize)?;
        self.intern(a, || a.clone())
    }
}

fn to_record(
    a: &Acc,
    [rule, acl, target]: [Option<&Arc<str>>; 3],
    vnet: bool,
    ms_precision: bool,
    input: u32,
    shared: &mut Shared,
) -> FlowRecord {
    let k = &a.key;
    let src = k.src();
    let ns = |ms: i64| ms.saturating_mul(1_000_000);
    let c = a.counters.unwrap_or_default();
    let denied = a.decision == Decision::Deny;
    let has_counters = a.counters.is_some();
    let state = if denied {
        ConnState::S0
    } else if !has_counters {
        ConnState::OTH
    } else {
        counted_state(k.proto, src, c, a.ended)
    };
    let rule_name = rule.map_or("", |r| &**r);
    let note = note(a, rule_name, vnet, has_counters, c);
    let ptr = |a: Option<&Arc<str>>| a.map_or(0, |a| Arc::as_ptr(a) as *const u8 as usize);
    let key = InfoKey {
        texts: [ptr(rule), ptr(acl), ptr(target)],
        states: a.states,
        deny: denied,
        inbound: a.direction == Direction::Inbound,
        note,
    };
    let info = match shared.info_ix.get(&key) {
        Some(&i) => i,
        None => {
            let letters = a.states.get(..usize::from(a.n_states)).unwrap_or_default();
            let flow_state = shared.text(std::str::from_utf8(letters).unwrap_or(""));
            let note = note.text().and_then(|n| shared.text(&n));
            let info = FlowInfo {
                decision: Some(a.decision),
                rule: rule.cloned(),
                direction: Some(a.direction),
                flow_state,
                // The NSG that decided: the record's NSG for NSG logs; for
                // VNet logs the ACL (an NSG resource id, or a GUID for AVNM
                // / older data).
                nsg: acl.cloned(),
                target: target.cloned(),
                note,
            };
            let i = u32::try_from(shared.infos.len()).unwrap_or(u32::MAX);
            shared.infos.push(Arc::new(info));
            shared.info_ix.insert(key, i);
            i
        }
    };
    FlowRecord {
        first_ts: ns(a.first_ms),
        last_ts: ns(a.last_ms),
        orig_pkts: c.pkts_src_to_dst,
        orig_ip_bytes: c.bytes_src_to_dst,
        resp_pkts: c.pkts_dst_to_src,
        resp_ip_bytes: c.bytes_dst_to_src,
        orig_h: src,
        resp_h: k.dst(),
        orig_p: k.sport(),
        resp_p: k.dport(),
        ip_proto: k.proto,
        ts_digits: if ms_precision { 3 } else { 0 },
        state,
        info,
        input,
    }
}

/// The `conn_state` of an allowed flow with counters (`c`, summed over its
/// tuples) that has ended or not.
pub(super) fn counted_state(proto: u8, src: IpAddr, c: super::Counters, ended: bool) -> ConnState {
    if refused(proto, src, c) {
        ConnState::REJ
    } else if c.pkts_dst_to_src > 0 {
        if ended { ConnState::SF } else { ConnState::S1 }
    } else if c.pkts_src_to_dst > 0 {
        ConnState::S0
    } else {
        ConnState::OTH
    }
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

/// The note a session carries, as a small value (the text is built once
/// per distinct note, not per session).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Note {
    None,
    Denied(u32),
    V1,
    BeginCustomInbound,
    BeginOpen,
    Refused,
    Unanswered,
    BeganBefore,
}

impl Note {
    pub(super) fn text(self) -> Option<std::borrow::Cow<'static, str>> {
        Some(match self {
            Note::None => return None,
            Note::Denied(n) => format!("denied {n} times").into(),
            Note::V1 => "NSG flow log version 1: observations without flow state or counters".into(),
            Note::BeginCustomInbound => {
                "Begin only, no counters: NSG flow logs track inbound flows allowed by a custom \
                 rule statelessly and never log their counters or end (by design); not a failure"
                    .into()
            }
            Note::BeginOpen => {
                "Begin only, no counters yet: the flow was still open when the log ends".into()
            }
            Note::Refused => "refused: only the SYN went out and a bare packet the size of a RST came back \
                 (End counts like 1,74,1,54)"
                .into(),
            Note::Unanswered => "no reply packets (End counts packets out, none back): an unanswered connection attempt"
                .into(),
            Note::BeganBefore => "began before the log".into(),
        })
    }
}

fn note(a: &Acc, rule: &str, vnet: bool, has_counters: bool, c: super::Counters) -> Note {
    if a.decision == Decision::Deny {
        return if a.denies > 1 {
            Note::Denied(a.denies)
        } else {
            Note::None
        };
    }
    if a.v1 {
        return Note::V1;
    }
    if !has_counters {
        let custom_inbound =
            !vnet && a.direction == Direction::Inbound && !rule.starts_with("DefaultRule_");
        return if custom_inbound {
            Note::BeginCustomInbound
        } else {
            Note::BeginOpen
        };
    }
    counted_note(a.key.proto, a.key.src(), c, a.states.first() == Some(&b'B'))
}

/// The note of an allowed flow with counters (`c`, summed over its tuples)
/// whose tuples include a `B` or not.
pub(super) fn counted_note(proto: u8, src: IpAddr, c: super::Counters, began: bool) -> Note {
    if refused(proto, src, c) {
        return Note::Refused;
    }
    if c.pkts_dst_to_src == 0 && c.pkts_src_to_dst > 0 {
        return Note::Unanswered;
    }
    if !began {
        return Note::BeganBefore;
    }
    Note::None
}

//! Finishing tables: settled sessions joined in order, the views of one
//! connection from several inputs coalesced, compact flow-log records
//! built in their final place.

use super::flow_record::{FlowRecord, Flows};
use super::key::FlowKey;
use super::model::{Decision, OrderKey, Session, Side, order_key};
use super::runs::{append_runs, join_runs, order_ties, permute};
use super::table::SessionTable;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::net::IpAddr;

/// Views of one connection from different capture points are one session
/// when their times overlap within this tolerance (clocks of different VMs
/// are not perfectly in step).
pub const COALESCE_SKEW_NS: i64 = 2 * 1_000_000_000;

impl SessionTable {
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
    let mut later = false;
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
        let mut s = match flow {
            Some((f, infos)) => f.session(infos),
            None => match sessions.get_mut(id as usize) {
                Some(slot) => std::mem::take(slot),
                None => continue,
            },
        };
        match joins.and_then(|i| out.get_mut(i)) {
            Some(g) => later |= combine(g, &mut s),
            None => {
                open.insert(key, out.len(), &out);
                out.push(s);
            }
        }
    }
    in_order(out, later)
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

/// Merge sessions of the same connection seen by different inputs whose
/// times overlap (within [`COALESCE_SKEW_NS`]). Input must be sorted.
fn coalesce(mut v: Vec<Session>) -> Vec<Session> {
    // Open groups by flow key: index into the kept prefix `v[..w]`.
    let mut open: FxHashMap<FlowKey, usize> = FxHashMap::default();
    let mut w = 0;
    let mut later = false;
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
            // `g` is in the kept prefix, before `s`; `s`'s place keeps the
            // view that lost and is dropped with the tail.
            Some(i) => {
                if let Some((kept, rest)) = v.split_at_mut_checked(r)
                    && let (Some(g), Some(s)) = (kept.get_mut(i), rest.first_mut())
                {
                    later |= combine(g, s);
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
    in_order(v, later)
}

/// `v` in [`order_key`] order again (a stable sort) when a combined
/// session's first time moved later; as it is otherwise.
fn in_order(mut v: Vec<Session>, moved: bool) -> Vec<Session> {
    if moved {
        v.sort_by_cached_key(order_key);
    }
    v
}

/// Whether a session (or a combined one) has a capture's view: a history,
/// which flow-log sessions never have.
fn has_capture_view(s: &Session) -> bool {
    !s.history.as_str().is_empty()
}

/// Fold view `s` of a connection into `g`. A capture's view leads over a
/// flow log's (issue 20: the capture's history, state and microsecond
/// times, with the flow log's decision and rule added); between views of
/// one kind, the one with more packets (then the earlier input) speaks for
/// state and history. Counts take the larger view of each direction, since
/// both points saw the same packets; the missed bytes (and whether the
/// snap length cut payloads) stay the leading view's, as its gap letters
/// do. `s` is left holding what remains of
/// the view that did not lead, to be dropped. Returns whether `g`'s first
/// time moved later (a capture's time replacing a flow log's whole
/// second), which can put it out of order.
fn combine(g: &mut Session, s: &mut Session) -> bool {
    let g_pk = g.orig.pkts + g.resp.pkts;
    let s_pk = s.orig.pkts + s.resp.pkts;
    let (g_cap, s_cap) = (has_capture_view(g), has_capture_view(s));
    let s_leads = if g_cap != s_cap {
        s_cap
    } else {
        s_pk > g_pk || (s_pk == g_pk && s.seen_by.first() < g.seen_by.first())
    };
    let mut seen = g.seen_by.clone();
    seen.union(&s.seen_by);
    let before = g.first_ts;
    // Times: a capture's alone when only one view is a capture's (a flow
    // log's are whole seconds or milliseconds, and aggregated).
    let (first, last, digits) = match (g_cap, s_cap) {
        (true, false) => (g.first_ts, g.last_ts, g.ts_digits),
        (false, true) => (s.first_ts, s.last_ts, s.ts_digits),
        _ => (
            g.first_ts.min(s.first_ts),
            g.last_ts.max(s.last_ts),
            g.ts_digits.max(s.ts_digits),
        ),
    };
    let orig = max_side(g.orig, s.orig);
    let resp = max_side(g.resp, s.resp);
    let syn_rx = g.syn_retransmits.max(s.syn_retransmits);
    let icmp = g.icmp_error.or(s.icmp_error);
    // A deny logged by one NSG (the build VM's) explains the flow better
    // than the allow logged by another (the proxy's outbound).
    let flow = match (g.flow.take(), s.flow.take()) {
        (Some(a), Some(b))
            if b.decision == Some(Decision::Deny) && a.decision != Some(Decision::Deny) =>
        {
            Some(b)
        }
        (a, b) => a.or(b),
    };
    if s_leads {
        std::mem::swap(g, s);
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
    first > before
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
    use super::super::flow_record::FlowRecord;
    use super::super::model::{FlowInfo, SeenBy};
    use super::super::state::ConnState;
    use super::super::testing::{flow_record, infos};
    use super::*;
    use crate::decode::FiveTuple;
    use proptest::prelude::*;
    use std::sync::Arc;

    const S: i64 = 1_000_000_000;

    /// A session of flow 10.0.0.4:port → 10.0.1.5:22 seen by `input`.
    fn view(input: u32, port: u16, first_s: i64, last_s: i64, pkts: (u64, u64)) -> Session {
        let t = FiveTuple {
            proto: 6,
            src: "10.0.0.4".parse().unwrap(),
            dst: "10.0.1.5".parse().unwrap(),
            sport: port,
            dport: 22,
        };
        let mut s = Session::new(&t, first_s * S, 6, input);
        s.last_ts = last_s * S;
        s.orig.pkts = pkts.0;
        s.resp.pkts = pkts.1;
        s
    }

    fn flow(decision: Decision) -> Option<Arc<FlowInfo>> {
        Some(Arc::new(FlowInfo {
            decision: Some(decision),
            ..FlowInfo::default()
        }))
    }

    /// Two views of one connection become one session: the view with more
    /// packets speaks for the state, counts and times are the widest, a
    /// deny explains the flow better than an allow; the session of another
    /// flow between them stays, in its order.
    #[test]
    fn coalesce_folds_views_of_one_connection() {
        let mut a = view(0, 40000, 0, 5, (2, 0));
        a.state = ConnState::S0;
        a.flow = flow(Decision::Allow);
        let other = view(0, 40001, 0, 1, (1, 0));
        let mut b = view(1, 40000, 1, 4, (1, 2));
        b.state = ConnState::SF;
        b.flow = flow(Decision::Deny);
        let v = coalesce(vec![a, other, b]);
        let got: Vec<_> = v
            .iter()
            .map(|s| {
                (
                    s.orig_p,
                    s.state,
                    s.seen_by.iter().collect::<Vec<_>>(),
                    (s.first_ts / S, s.last_ts / S),
                    (s.orig.pkts, s.resp.pkts),
                    s.flow.as_ref().and_then(|f| f.decision),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    40000,
                    ConnState::SF,
                    vec![0, 1],
                    (0, 5),
                    (2, 2),
                    Some(Decision::Deny)
                ),
                (40001, ConnState::OTH, vec![0], (0, 1), (1, 0), None),
            ]
        );
        // Views of one input never coalesce.
        let v = coalesce(vec![
            view(0, 40000, 0, 5, (1, 0)),
            view(0, 40000, 1, 2, (1, 0)),
        ]);
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].seen_by, SeenBy::one(0));
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

        /// A capture's sessions (with a history or without) and flow
        /// records in one table finish as the same sessions all built first:
        /// the groups planned without building them are `coalesce`'s.
        #[test]
        fn captures_and_flow_records_finish_like_sessions(
            a in prop::collection::vec(flow_record(false), 0..60),
            c in prop::collection::vec((flow_record(false), any::<bool>(), 0i64..999_999), 0..40),
        ) {
            let infos = infos();
            let mut capture: Vec<Session> = c
                .iter()
                .map(|(r, seen, us)| {
                    let mut s = FlowRecord { input: 200, ..*r }.session(&infos);
                    s.flow = None;
                    if *seen {
                        s.history.set(b"ShAD");
                        s.first_ts += us * 1000;
                        s.last_ts += us * 1000;
                        s.ts_digits = 6;
                    }
                    s
                })
                .collect();
            capture.sort_by_key(order_key);
            let tables = || {
                SessionTable::concat(vec![
                    SessionTable::from_sessions(capture.clone()),
                    SessionTable::from_flow_records(a.clone(), infos.clone()),
                ])
            };
            let compact = tables().finish();
            let full = SessionTable::from_sessions(tables().into_sessions()).finish_sessions();
            prop_assert_eq!(format!("{compact:?}"), format!("{full:?}"));
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
    }
}

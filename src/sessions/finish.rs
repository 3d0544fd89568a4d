//! Finishing tables: settled sessions joined in order, the views of one
//! connection from several inputs coalesced; for compact flow-log records,
//! the plan (the order and the coalescing groups) a
//! [`Finished`](super::Finished) list builds its sessions from.

use super::flow_record::{FlowRecord, Flows};
use super::index::prefetch;
use super::key::FlowKey;
use super::model::{Decision, OrderKey, SeenBy, Session, Side, order_key};
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

    /// [`SessionTable::finish`] for full sessions only (captures).
    pub(super) fn finish_sessions(self) -> Vec<Session> {
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

/// An item of a table being finished: a full session (`sessions[i]`), or a
/// flow record marked by [`FLOW_BIT`] and named by its place in the flows
/// ([`Flows::par_iter_ids`]: a chunk and an index, no search to find it).
type ItemId = u64;

/// The mark of a flow record's [`ItemId`].
const FLOW_BIT: ItemId = 1 << 63;

/// How many groups ahead a thread building sessions fetches records.
pub(super) const PREFETCH_AHEAD: usize = 8;

/// The coalescing groups of a table with flow records, in finished order:
/// the same result as building every session and [`coalesce`]-ing them
/// (property tests check it), without building one. Only views of one
/// connection coalesce, and on a day of flow logs most connections have
/// one view: items are sorted by a hash of their connection (16 bytes an
/// item, not the 48 of the whole key), and only the few runs of equal
/// hashes are sorted by connection and walked for groups, as [`coalesce`]
/// walks them. Every item that opens a group then becomes a group, put in
/// finished order by that item; [`build_group`] makes each group's
/// session. (Sorting every item by connection and walking them all, the
/// plan before, was half of the finish; a hash map of open groups in
/// time order, before that, missed the cache on every record.)
pub(super) fn plan(sessions: &[Session], flows: &Flows) -> Plan {
    let v4 = sessions
        .iter()
        .all(|s| s.orig_h.is_ipv4() && s.resp_h.is_ipv4())
        && flows
            .iter()
            .all(|f| f.orig_h.is_ipv4() && f.resp_h.is_ipv4());
    if v4 {
        plan_items::<V4Item>(sessions, flows)
    } else {
        plan_items::<(FlowKey, OrderKey)>(sessions, flows)
    }
}

/// The sort key of an item being finished: its connection first (both
/// directions alike), then its [`OrderKey`].
trait ItemKey: Ord + Copy + Send + Sync {
    /// Its place in the finished order.
    type Order: Ord + Copy + Send + Sync;
    fn new(ip_proto: u8, k: &OrderKey) -> Self;
    fn same_conn(&self, other: &Self) -> bool;
    /// A hash of the connection: equal for items of one connection.
    fn conn_hash(&self) -> u64;
    fn first_ts(&self) -> i64;
    fn last_ts(&self) -> i64;
    fn input(&self) -> u32;
    fn order(&self) -> Self::Order;
}

/// Any item: the flow key and the order key as they are.
impl ItemKey for (FlowKey, OrderKey) {
    type Order = OrderKey;
    fn new(ip_proto: u8, k: &OrderKey) -> Self {
        (FlowKey::between(ip_proto, k.2, k.3, k.4, k.5), *k)
    }
    fn same_conn(&self, other: &Self) -> bool {
        self.0 == other.0
    }
    fn conn_hash(&self) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one(self.0)
    }
    fn first_ts(&self) -> i64 {
        self.1.0
    }
    fn last_ts(&self) -> i64 {
        self.1.7
    }
    fn input(&self) -> u32 {
        self.1.6
    }
    fn order(&self) -> OrderKey {
        self.1
    }
}

/// An IPv4 item packed into integers that sort the same way (40 bytes
/// instead of 104: the sort moves them many times). Within a connection the
/// protocol and the two endpoints are fixed, so its [`OrderKey`] reduces to
/// the first time, which endpoint is the originator, the input and the last
/// time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct V4Item {
    /// IP protocol number (bits 48–55) and the lower endpoint (address,
    /// port).
    lo: u64,
    /// The higher endpoint.
    hi: u64,
    first_ts: i64,
    /// 1 << 32 when the originator is the higher endpoint; the input.
    flipped_input: u64,
    last_ts: i64,
}

/// Address and port as 48 bits that order as the pair does.
fn v4_endpoint(a: IpAddr, port: u16) -> u64 {
    let bits = match a {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(_) => 0,
    };
    bits << 16 | u64::from(port)
}

const ENDPOINT_BITS: u64 = (1 << 48) - 1;

impl ItemKey for V4Item {
    type Order = V4Key;
    fn new(ip_proto: u8, k: &OrderKey) -> Self {
        let (o, r) = (v4_endpoint(k.2, k.3), v4_endpoint(k.4, k.5));
        let (lo, hi, flipped) = if o <= r { (o, r, 0) } else { (r, o, 1) };
        V4Item {
            lo: u64::from(ip_proto) << 48 | lo,
            hi,
            first_ts: k.0,
            flipped_input: flipped << 32 | u64::from(k.6),
            last_ts: k.7,
        }
    }
    fn same_conn(&self, other: &Self) -> bool {
        (self.lo, self.hi) == (other.lo, other.hi)
    }
    fn conn_hash(&self) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one((self.lo, self.hi))
    }
    fn first_ts(&self) -> i64 {
        self.first_ts
    }
    fn last_ts(&self) -> i64 {
        self.last_ts
    }
    fn input(&self) -> u32 {
        self.flipped_input as u32
    }
    fn order(&self) -> V4Key {
        let lo = self.lo & ENDPOINT_BITS;
        let (o, r) = if self.flipped_input >> 32 == 0 {
            (lo, self.hi)
        } else {
            (self.hi, lo)
        };
        let proto = super::model::Proto::from_number((self.lo >> 48) as u8);
        V4Key {
            first_ts: self.first_ts,
            orig: (proto as u64) << 48 | o,
            resp: r,
            input: self.input(),
            last_ts: self.last_ts,
        }
    }
}

/// An [`OrderKey`] of IPv4 sessions packed into integers that sort the
/// same way.
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

/// A coalescing group: its first item `id` and the others, `rest_len` ids
/// from `rest_start` in the plan's list of later members.
#[derive(Debug, Clone, Copy)]
pub(super) struct Group {
    id: ItemId,
    rest_start: u32,
    rest_len: u32,
}

impl Group {
    /// The flow record that is the whole group, if it is one.
    pub(super) fn single_flow(&self) -> Option<ItemId> {
        (self.rest_len == 0 && self.id & FLOW_BIT != 0).then_some(self.id & !FLOW_BIT)
    }
}

/// The coalescing groups of a table, in finished order, and the items that
/// join a group after its first (most groups have none).
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub(super) groups: Vec<Group>,
    pub(super) rest: Vec<ItemId>,
}

/// What decides whether the next view of a connection joins its open
/// group: the inputs that saw the group, its last time and whether it has
/// a capture's view (as [`combine`] leaves them).
struct Open {
    seen: SeenBy,
    last_ts: i64,
    capture: bool,
}

fn plan_items<K: ItemKey>(sessions: &[Session], flows: &Flows) -> Plan {
    plan_by_hash(sessions, flows, K::conn_hash)
}

/// What the plan knows of an item's place once runs are walked: it opens
/// a group alone ([`OPENS`]), opens one with later members (then its
/// members are in `Runs::rest_of`), or joins an earlier item's group.
type Mark = u8;
const OPENS: Mark = 0;
const OPENS_WITH_REST: Mark = 1;
const JOINS: Mark = 2;

/// [`plan_items`] with the connection hash given (tests give one that
/// puts every item in one run: the plan must not change).
fn plan_by_hash<K: ItemKey>(sessions: &[Session], flows: &Flows, conn_hash: fn(&K) -> u64) -> Plan {
    let n_sessions = sessions.len();
    let session_key = |s: &Session| K::new(s.ip_proto, &order_key(s));
    let flow_key = |f: &FlowRecord| K::new(f.ip_proto, &f.order_key());
    // Every item's connection hash and position. (Each item's key is made
    // again for the groups below rather than kept: 48 bytes an item, held
    // through both sorts, were the finish's peak memory.)
    let mut hashes: Vec<(u64, u64)> =
        each_item(sessions, flows, |pos, _, k: K| (conn_hash(&k), pos as u64));
    hashes.par_sort_unstable();
    // The runs of equal hashes, each sorted by connection and walked.
    let starts = flows.starts();
    let id_of = |pos: u64| -> ItemId {
        let pos = pos as usize;
        match pos.checked_sub(n_sessions) {
            None => pos as ItemId,
            Some(k) => super::flow_record::id_at(&starts, k) | FLOW_BIT,
        }
    };
    let key_of = |id: ItemId| -> Option<K> {
        if id & FLOW_BIT != 0 {
            flows.get(id & !FLOW_BIT).map(|(f, _)| flow_key(f))
        } else {
            sessions.get(id as usize).map(session_key)
        }
    };
    let mut runs = Runs {
        marks: vec![OPENS; hashes.len()],
        rest_of: FxHashMap::default(),
        rest: Vec::new(),
    };
    let mut run: Vec<(K, ItemId, u64)> = Vec::new();
    for same in hashes.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
        run.clear();
        run.extend(same.iter().filter_map(|&(_, pos)| {
            let id = id_of(pos);
            key_of(id).map(|k| (k, id, pos))
        }));
        run.sort_unstable_by_key(|&(k, id, _)| (k, id));
        runs.walk(&run, sessions);
    }
    drop(hashes);
    // Every item once more, in place: those that open a group, with their
    // place in the finished order; those that join one are cut after the
    // sort (they are few, and cutting them first would cost the in-place
    // collection).
    let Runs {
        marks,
        rest_of,
        rest,
    } = runs;
    let mut groups: Vec<(K::Order, Group)> = each_item(sessions, flows, |pos, id, k: K| {
        let (rest_start, rest_len) = match marks.get(pos).copied().unwrap_or(OPENS) {
            OPENS_WITH_REST => rest_of.get(&(pos as u64)).copied().unwrap_or_default(),
            JOINS => (0, JOINED),
            _ => (0, 0),
        };
        let g = Group {
            id,
            rest_start,
            rest_len,
        };
        (k.order(), g)
    });
    // The finished order: by first item, ties in table order.
    groups.par_sort_unstable_by(|(a, x), (b, y)| (a, x.id).cmp(&(b, y.id)));
    Plan {
        groups: groups
            .into_iter()
            .filter(|(_, g)| g.rest_len != JOINED)
            .map(|(_, g)| g)
            .collect(),
        rest,
    }
}

/// The `rest_len` that marks an item joining an earlier item's group in
/// the list being sorted: it is cut, not a group.
const JOINED: u32 = u32::MAX;

/// `f` of every item of a table being finished (its position, id and
/// key): sessions first, then the records in chunk order, the records in
/// parallel, straight into place.
fn each_item<K: ItemKey, T: Send>(
    sessions: &[Session],
    flows: &Flows,
    f: impl Fn(usize, ItemId, K) -> T + Sync + Send,
) -> Vec<T> {
    let mut v: Vec<T> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| f(i, i as ItemId, K::new(s.ip_proto, &order_key(s))))
        .collect();
    let n = sessions.len();
    v.par_extend(
        flows
            .par_iter_ids()
            .enumerate()
            .map(|(k, (id, r))| f(n + k, id | FLOW_BIT, K::new(r.ip_proto, &r.order_key()))),
    );
    v
}

/// The outcome of walking the runs of items with equal connection hashes.
struct Runs {
    /// Each item's [`Mark`], by position.
    marks: Vec<Mark>,
    /// The later members of the groups that have some: where they start in
    /// `rest`, and how many, by the position of the group's first item.
    rest_of: FxHashMap<u64, (u32, u32)>,
    /// Later members, group by group.
    rest: Vec<ItemId>,
}

impl Runs {
    /// Walk one run (items with their ids and positions, sorted by
    /// connection, then in finished order) as [`coalesce`] walks a
    /// connection's views in time order: a view joins its connection's
    /// open group when no input saw both and it starts before the group's
    /// end (within [`COALESCE_SKEW_NS`]), else it opens a group.
    fn walk<K: ItemKey>(&mut self, run: &[(K, ItemId, u64)], sessions: &[Session]) {
        let mut open: Option<(Open, u64)> = None;
        let mut prev: Option<&K> = None;
        for (k, id, pos) in run {
            let (seen, capture) = if id & FLOW_BIT != 0 {
                (SeenBy::one(k.input()), false)
            } else {
                match sessions.get(*id as usize) {
                    Some(s) => (s.seen_by.clone(), has_capture_view(s)),
                    None => continue,
                }
            };
            let same_conn = prev.is_some_and(|p| p.same_conn(k));
            prev = Some(k);
            match &mut open {
                Some((g, head))
                    if same_conn
                        && !g.seen.intersects(&seen)
                        && k.first_ts() <= g.last_ts.saturating_add(COALESCE_SKEW_NS) =>
                {
                    g.last_ts = match (g.capture, capture) {
                        (true, false) => g.last_ts,
                        (false, true) => k.last_ts(),
                        _ => g.last_ts.max(k.last_ts()),
                    };
                    g.capture |= capture;
                    g.seen.union(&seen);
                    let at = self.rest.len() as u32;
                    self.rest.push(*id);
                    self.rest_of.entry(*head).or_insert((at, 0)).1 += 1;
                    if let Some(m) = self.marks.get_mut(*head as usize) {
                        *m = OPENS_WITH_REST;
                    }
                    if let Some(m) = self.marks.get_mut(*pos as usize) {
                        *m = JOINS;
                    }
                }
                _ => {
                    let g = Open {
                        seen,
                        last_ts: k.last_ts(),
                        capture,
                    };
                    open = Some((g, *pos));
                }
            }
        }
    }
}

/// The view of a table's item `id`, built.
fn view(id: ItemId, sessions: &[Session], flows: &Flows) -> Option<Session> {
    if id & FLOW_BIT != 0 {
        flows.get(id & !FLOW_BIT).map(|(f, infos)| f.session(infos))
    } else {
        sessions.get(id as usize).cloned()
    }
}

/// Start loading the record group `g` opens: groups are in time order,
/// their records wherever their input put them, so a thread building
/// groups in order fetches one a few groups ahead, and its cache miss
/// overlaps the work on the groups between.
pub(super) fn prefetch_group(g: &Group, flows: &Flows) {
    if g.id & FLOW_BIT != 0
        && let Some((f, _)) = flows.get(g.id & !FLOW_BIT)
    {
        prefetch(f);
    }
}

/// The session of group `g` of a plan (whose later members are in `rest`),
/// and whether its first time moved later than its first view's (see
/// [`combine`]).
pub(super) fn build_group(
    g: &Group,
    rest: &[ItemId],
    sessions: &[Session],
    flows: &Flows,
) -> (Session, bool) {
    let mut first = view(g.id, sessions, flows).unwrap_or_default();
    let others = rest
        .get(g.rest_start as usize..(g.rest_start + g.rest_len) as usize)
        .unwrap_or_default();
    let mut later = false;
    for mut s in others.iter().filter_map(|&id| view(id, sessions, flows)) {
        later |= combine(&mut first, &mut s);
    }
    (first, later)
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
pub(super) fn in_order(mut v: Vec<Session>, moved: bool) -> Vec<Session> {
    if moved {
        v.sort_by_cached_key(order_key);
    }
    v
}

/// Whether a session (or a combined one) has a capture's view: a history,
/// which flow-log sessions never have.
pub(super) fn has_capture_view(s: &Session) -> bool {
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

        /// A plan made with a hash under which every connection collides
        /// (all items in one run, sorted and walked whole) builds the same
        /// sessions as the plan of the real hash: only the cost of a
        /// collision differs. Captures' sessions are among the items.
        #[test]
        fn colliding_hashes_plan_the_same_sessions(
            a in prop::collection::vec(flow_record(false), 0..60),
            b in prop::collection::vec(flow_record(false), 0..60),
            c in prop::collection::vec((flow_record(false), any::<bool>()), 0..20),
        ) {
            let infos = infos();
            let mut capture: Vec<Session> = c
                .iter()
                .map(|(r, seen)| {
                    let mut s = FlowRecord { input: 200, ..*r }.session(&infos);
                    s.flow = None;
                    if *seen {
                        s.history.set(b"ShAD");
                    }
                    s
                })
                .collect();
            capture.sort_by_key(order_key);
            let table = SessionTable::concat(vec![
                SessionTable::from_sessions(capture),
                SessionTable::from_flow_records(a, infos.clone()),
                SessionTable::from_flow_records(b, infos),
            ]);
            let mut table = table;
            let flows = Flows::new(std::mem::take(&mut table.flows));
            let sessions = join_runs(table.into_runs()).0;
            let built = |p: &Plan| -> String {
                let v: Vec<Session> = p
                    .groups
                    .iter()
                    .map(|g| build_group(g, &p.rest, &sessions, &flows).0)
                    .collect();
                format!("{v:?}")
            };
            let real = built(&plan(&sessions, &flows));
            prop_assert_eq!(&real, &built(&plan_by_hash::<V4Item>(&sessions, &flows, |_| 0)));
            prop_assert_eq!(
                &real,
                &built(&plan_by_hash::<(FlowKey, OrderKey)>(&sessions, &flows, |_| 7))
            );
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

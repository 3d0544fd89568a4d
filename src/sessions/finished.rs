//! The finished list of a run's sessions, built as it is read.
//!
//! A day of flow logs finishes into millions of sessions. Building them all
//! into one vector before anything reads them wrote ~160 bytes a session
//! into fresh memory (a page fault every 25 sessions) only for a writer to
//! read each one once and drop it: on `sessions` over 2.65 M one-tuple flows
//! that vector was 430 MB and its building 0.4 s of the run's 1.8. A
//! [`Finished`] list keeps the plan instead (the compact flow records, which
//! views coalesce and the order, [`SessionTable::finished`]) and builds each
//! session on the stack when it is visited, in parallel ranges. Callers that
//! want the vector take [`Finished::into_vec`], which builds it in parallel
//! as [`SessionTable::finish`] always did. Changes after the plan (joined
//! continuations of flow logs, `flowlog::join_continuations`) are kept
//! beside it: the few sessions changed, and the positions removed.

use super::filter::Filter;
use super::finish::{
    Group, PREFETCH_AHEAD, Plan, build_group, has_capture_view, in_order, plan, prefetch_group,
};
use super::flow_record::{FlowRecord, Flows};
use super::key::FlowKey;
use super::model::{FlowInfo, SeenBy, Session};
use super::runs::join_runs;
use super::table::SessionTable;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::Arc;

impl SessionTable {
    /// Settle every session's state, coalesce the views of one connection
    /// from several inputs, and sort. The result depends only on the
    /// multiset of sessions, not on how tables were split or merged.
    pub fn finish(self) -> Vec<Session> {
        self.finished().into_vec()
    }

    /// [`SessionTable::finish`], the sessions of flow records built only
    /// as they are read (see [`Finished`]): what is decided here is the
    /// order and which views coalesce.
    pub fn finished(mut self) -> Finished {
        let chunks = std::mem::take(&mut self.flows);
        if chunks.iter().all(|c| c.records.is_empty()) {
            return Finished::from(self.finish_sessions());
        }
        let sessions = join_runs(self.into_runs()).0;
        let flows = Flows::new(chunks);
        let plan = plan(&sessions, &flows);
        Finished::planned(sessions, flows, plan)
    }
}

/// Sessions visited per parallel task by [`Finished::par_count`] and
/// [`Finished::par_filter_map_heads`].
const TASK: usize = 4096;

/// A run's sessions in finished order (sorted by first time, views of one
/// connection coalesced), each built when it is read. Positions are fixed
/// from the plan on: a removed session leaves its position empty.
#[derive(Debug, Default)]
pub struct Finished {
    /// Full sessions: the list itself when `plan` is `None`, else the items
    /// the plan names besides flow records.
    sessions: Vec<Session>,
    /// Compact flow records the plan names.
    flows: Flows,
    /// The coalescing groups in finished order, one a position; `None`
    /// when `sessions` is the finished list.
    plan: Option<Plan>,
    /// Sessions changed after the plan, by position (planned lists only:
    /// a built list is changed in place).
    changed: FxHashMap<u32, Session>,
    /// Removed positions, sorted.
    gone: Vec<u32>,
}

impl From<Vec<Session>> for Finished {
    /// A list already built and in finished order.
    fn from(sessions: Vec<Session>) -> Self {
        Finished {
            sessions,
            ..Finished::default()
        }
    }
}

impl Finished {
    /// The list of a plan over `sessions` and `flows`. A combined session's
    /// first time moves later only when a capture's view replaces a flow
    /// log's, and the list must then be sorted again: with a capture's
    /// view among the sessions (captures beside flow logs, small runs) the
    /// list is built at once.
    pub(super) fn planned(sessions: Vec<Session>, flows: Flows, plan: Plan) -> Self {
        if sessions.iter().any(has_capture_view) {
            let f = Finished {
                sessions,
                flows,
                ..Finished::default()
            };
            let (v, later) = f.build_all(&plan);
            return Finished::from(in_order(v, later));
        }
        Finished {
            sessions,
            flows,
            plan: Some(plan),
            ..Finished::default()
        }
    }

    /// Positions, removed ones included.
    pub fn len(&self) -> usize {
        match &self.plan {
            Some(p) => p.groups.len(),
            None => self.sessions.len(),
        }
    }

    /// Whether there are no positions at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sessions, removed ones not counted.
    pub fn count(&self) -> usize {
        self.len() - self.gone.len()
    }

    fn is_gone(&self, i: usize) -> bool {
        u32::try_from(i).is_ok_and(|i| self.gone.binary_search(&i).is_ok())
    }

    /// The session changed at position `i` after the plan, if any (no
    /// lookup at all while nothing has changed, the usual case).
    fn changed_at(&self, i: usize) -> Option<&Session> {
        if self.changed.is_empty() {
            return None;
        }
        self.changed.get(&u32::try_from(i).ok()?)
    }

    /// The session at position `i`; `None` when removed or out of range.
    pub fn get(&self, i: usize) -> Option<Cow<'_, Session>> {
        if self.is_gone(i) {
            return None;
        }
        let Some(plan) = &self.plan else {
            return self.sessions.get(i).map(Cow::Borrowed);
        };
        if let Some(s) = self.changed_at(i) {
            return Some(Cow::Borrowed(s));
        }
        let g = plan.groups.get(i)?;
        Some(Cow::Owned(
            build_group(g, &plan.rest, &self.sessions, &self.flows).0,
        ))
    }

    /// Put `s` at position `i` (a session changed after finishing).
    pub fn set(&mut self, i: usize, s: Session) {
        let Ok(k) = u32::try_from(i) else { return };
        if i >= self.len() {
            return;
        }
        match self.plan {
            Some(_) => {
                self.changed.insert(k, s);
            }
            None => {
                if let Some(slot) = self.sessions.get_mut(i) {
                    *slot = s;
                }
            }
        }
    }

    /// Remove the session at position `i`.
    pub fn remove(&mut self, i: usize) {
        let Ok(k) = u32::try_from(i) else { return };
        if i >= self.len() {
            return;
        }
        if let Err(at) = self.gone.binary_search(&k) {
            self.gone.insert(at, k);
        }
        self.changed.remove(&k);
    }

    /// Each position of `range` not removed, in order, with what it holds:
    /// a session built already or a group to build. A thread walks its
    /// groups in time order, their records wherever their input put them:
    /// it fetches the record of a group a few ahead, so that its cache miss
    /// overlaps the work on the groups between.
    fn walk<'s>(
        &'s self,
        range: Range<usize>,
        fetch_ahead: bool,
        mut f: impl FnMut(usize, Slot<'s>),
    ) {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        let from = self.gone.partition_point(|&g| (g as usize) < start);
        let mut gone = self.gone.get(from..).unwrap_or_default().iter().peekable();
        for i in start..end {
            if let Some(ahead) = self
                .plan
                .as_ref()
                .filter(|_| fetch_ahead)
                .and_then(|p| p.groups.get(i + PREFETCH_AHEAD))
            {
                prefetch_group(ahead, &self.flows);
            }
            if gone.next_if(|&&g| g as usize == i).is_some() {
                continue;
            }
            let slot = match (&self.plan, self.changed_at(i)) {
                (None, _) => self.sessions.get(i).map(Slot::Built),
                (Some(_), Some(s)) => Some(Slot::Built(s)),
                (Some(plan), None) => plan.groups.get(i).map(Slot::Planned),
            };
            if let Some(slot) = slot {
                f(i, slot);
            }
        }
    }

    /// Call `f` with each session in positions `range`, in order, and its
    /// position. Built sessions live on the stack only during the call.
    pub fn visit(&self, range: Range<usize>, f: &mut dyn FnMut(usize, &Session)) {
        self.walk(range, true, |i, slot| match slot {
            Slot::Built(s) => f(i, s),
            Slot::Planned(g) => f(i, &self.build(g)),
        });
    }

    /// The session of a planned group.
    fn build(&self, g: &Group) -> Session {
        let rest = self
            .plan
            .as_ref()
            .map(|p| p.rest.as_slice())
            .unwrap_or_default();
        build_group(g, rest, &self.sessions, &self.flows).0
    }

    /// How many sessions `f` admits, counted in parallel (as
    /// [`SessionList::visit_compact`] gives them: a one-record session is
    /// not built to be counted).
    pub fn par_count(&self, f: impl Fn(Visited<'_>) -> bool + Sync) -> usize {
        (0..self.len().div_ceil(TASK))
            .into_par_iter()
            .map(|t| {
                let mut n = 0;
                self.visit_compact(t * TASK..(t + 1) * TASK, &mut |_, v| n += usize::from(f(v)));
                n
            })
            .sum()
    }

    /// `f` of every session's [`Head`], in parallel: the positions and
    /// values where it gave one, in order. A session of one flow record is
    /// not built for it. `f` is a function of the head alone: it may be
    /// called twice on one.
    pub fn par_filter_map_heads<T: Send>(
        &self,
        f: impl Fn(&Head<'_>) -> Option<T> + Sync,
    ) -> Vec<(usize, T)> {
        // Records `f` takes, found first in the records' own order (read
        // straight through, in parallel): the walk in finished order then
        // reads only their records, not every record at random (the join
        // of flow-log blobs takes a few sessions of millions, and reading
        // them all was a tenth of `sessions`).
        let taken = self
            .flows
            .par_marks(|r, infos| f(&Head::of_record(r, infos)).is_some());
        self.par_collect(|range, out| {
            self.walk(range, false, |i, slot| {
                let v = match slot {
                    Slot::Built(s) => f(&Head::of(s)),
                    Slot::Planned(g) => match g.single_flow() {
                        Some(id) if !taken.has(id) => None,
                        _ => match single_record(g, &self.flows) {
                            Some(h) => f(&h),
                            None => f(&Head::of(&self.build(g))),
                        },
                    },
                };
                if let Some(v) = v {
                    out.push((i, v));
                }
            })
        })
    }

    /// What `each` pushes for every range of [`TASK`] positions, in
    /// parallel, in order.
    fn par_collect<T: Send>(
        &self,
        each: impl Fn(Range<usize>, &mut Vec<(usize, T)>) + Sync,
    ) -> Vec<(usize, T)> {
        let tasks = self.len().div_ceil(TASK);
        let parts: Vec<Vec<(usize, T)>> = (0..tasks)
            .into_par_iter()
            .map(|t| {
                let mut out = Vec::new();
                each(t * TASK..(t + 1) * TASK, &mut out);
                out
            })
            .collect();
        parts.into_iter().flatten().collect()
    }

    /// Every flow detail a session of the list can carry (some more than
    /// once): for writers that render each detail once.
    pub fn flow_infos(&self) -> impl Iterator<Item = &Arc<FlowInfo>> {
        let planned = self.plan.is_some();
        self.sessions
            .iter()
            .chain(self.changed.values())
            .filter_map(|s| s.flow.as_ref())
            .chain(self.flows.infos().filter(move |_| planned))
    }

    /// The whole list as one vector, built in parallel.
    pub fn into_vec(self) -> Vec<Session> {
        let Some(plan) = &self.plan else {
            return drop_gone(self.sessions, &self.gone);
        };
        // A planned list has no capture's view (see `planned`): no
        // session's first time moved, and the order stands.
        let (v, _) = self.build_all(plan);
        drop_gone(v, &self.gone)
    }

    /// Every position's session of `plan` (removed ones too) in a new
    /// vector, and whether a first time moved later.
    fn build_all(&self, plan: &Plan) -> (Vec<Session>, bool) {
        let later = std::sync::atomic::AtomicBool::new(false);
        let v: Vec<Session> = plan
            .groups
            .par_iter()
            .enumerate()
            .map(|(i, g)| {
                if let Some(ahead) = plan.groups.get(i + PREFETCH_AHEAD) {
                    prefetch_group(ahead, &self.flows);
                }
                if let Some(s) = self.changed_at(i) {
                    return s.clone();
                }
                let (s, moved) = build_group(g, &plan.rest, &self.sessions, &self.flows);
                if moved {
                    later.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                s
            })
            .collect();
        (v, later.into_inner())
    }
}

/// Sessions in finished order, visited by position: a list built already
/// (`Vec<Session>`) or a [`Finished`] one. What writers read.
pub trait SessionList: Sync {
    /// Positions (a [`Finished`] list's removed ones included).
    fn len(&self) -> usize;

    /// Whether there are no positions.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Call `f` with each session in positions `range`, in order, and its
    /// position.
    fn visit(&self, range: Range<usize>, f: &mut dyn FnMut(usize, &Session));

    /// Every flow detail a session of the list can carry (some more than
    /// once): for writers that render each detail once.
    fn flow_infos(&self) -> Box<dyn Iterator<Item = &Arc<FlowInfo>> + '_>;

    /// [`SessionList::visit`], except that a session that is one flow
    /// record as it is may come as that record, not built: for a writer
    /// that renders records straight (building each of millions of
    /// sessions, and counting references to its shared details from two
    /// threads at once, was a tenth of `sessions`' NDJSON).
    fn visit_compact(&self, range: Range<usize>, f: &mut dyn FnMut(usize, Visited<'_>)) {
        self.visit(range, &mut |i, s| f(i, Visited::Built(s)));
    }
}

/// A session as [`SessionList::visit_compact`] gives it.
#[derive(Debug, Clone, Copy)]
pub enum Visited<'a> {
    /// Built.
    Built(&'a Session),
    /// One flow record, its details among the infos.
    Record(&'a FlowRecord, &'a [Arc<FlowInfo>]),
}

impl<'a> Visited<'a> {
    /// Whether filter `f` admits the session (a record's not built).
    pub fn admitted_by(&self, f: &Filter) -> bool {
        match *self {
            Visited::Built(s) => f.admits(s),
            Visited::Record(r, _) => f.admits_record(r),
        }
    }

    /// The session, built if it is a record.
    pub fn session(&self) -> Cow<'a, Session> {
        match *self {
            Visited::Built(s) => Cow::Borrowed(s),
            Visited::Record(r, infos) => Cow::Owned(r.session(infos)),
        }
    }
}

impl SessionList for Vec<Session> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn visit(&self, range: Range<usize>, f: &mut dyn FnMut(usize, &Session)) {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        for (i, s) in self.get(start..end).unwrap_or_default().iter().enumerate() {
            f(start + i, s);
        }
    }

    fn flow_infos(&self) -> Box<dyn Iterator<Item = &Arc<FlowInfo>> + '_> {
        Box::new(self.iter().filter_map(|s| s.flow.as_ref()))
    }
}

impl SessionList for Finished {
    fn len(&self) -> usize {
        Finished::len(self)
    }

    fn visit(&self, range: Range<usize>, f: &mut dyn FnMut(usize, &Session)) {
        Finished::visit(self, range, f);
    }

    fn flow_infos(&self) -> Box<dyn Iterator<Item = &Arc<FlowInfo>> + '_> {
        Box::new(Finished::flow_infos(self))
    }

    fn visit_compact(&self, range: Range<usize>, f: &mut dyn FnMut(usize, Visited<'_>)) {
        self.walk(range, true, |i, slot| match slot {
            Slot::Built(s) => f(i, Visited::Built(s)),
            Slot::Planned(g) => match g.single_flow().and_then(|id| self.flows.get(id)) {
                Some((r, infos)) => f(i, Visited::Record(r, infos)),
                None => f(i, Visited::Built(&self.build(g))),
            },
        });
    }
}

/// What a position of a [`Finished`] list holds.
enum Slot<'s> {
    /// A session built already.
    Built(&'s Session),
    /// A coalescing group of the plan, to build.
    Planned(&'s Group),
}

/// What places a session in time and names who logged it and which
/// connection it is: read from a session of one flow record without
/// building the session.
#[derive(Debug)]
pub struct Head<'a> {
    /// IP protocol number.
    pub ip_proto: u8,
    /// Originator address and port.
    pub orig: (IpAddr, u16),
    /// Responder address and port.
    pub resp: (IpAddr, u16),
    /// First time, ns since the epoch.
    pub first_ts: i64,
    /// Last time.
    pub last_ts: i64,
    /// The inputs that saw it.
    pub seen_by: Cow<'a, SeenBy>,
    /// Its flow-log details.
    pub flow: Option<&'a FlowInfo>,
}

impl<'a> Head<'a> {
    /// The head of a built session.
    pub fn of(s: &'a Session) -> Head<'a> {
        Head {
            ip_proto: s.ip_proto(),
            orig: (s.orig_h, s.orig_p),
            resp: (s.resp_h, s.resp_p),
            first_ts: s.first_ts,
            last_ts: s.last_ts,
            seen_by: Cow::Borrowed(&s.seen_by),
            flow: s.flow.as_deref(),
        }
    }

    /// The head of the session that record `r` (its details among
    /// `infos`) is alone ([`FlowRecord::session`]).
    pub fn of_record(r: &FlowRecord, infos: &'a [Arc<FlowInfo>]) -> Head<'a> {
        Head {
            ip_proto: r.ip_proto,
            orig: (r.orig_h, r.orig_p),
            resp: (r.resp_h, r.resp_p),
            first_ts: r.first_ts,
            last_ts: r.last_ts,
            seen_by: Cow::Owned(SeenBy::one(r.input)),
            flow: infos.get(r.info as usize).map(|i| &**i),
        }
    }

    /// The session's connection ([`Session::key`]).
    pub fn key(&self) -> FlowKey {
        let (a, a_port) = self.orig;
        let (b, b_port) = self.resp;
        FlowKey::between(self.ip_proto, a, a_port, b, b_port)
    }
}

/// The head of group `g` when its session is one flow record as it is.
fn single_record<'f>(g: &Group, flows: &'f Flows) -> Option<Head<'f>> {
    let (r, infos) = g.single_flow().and_then(|id| flows.get(id))?;
    Some(Head::of_record(r, infos))
}

/// `v` without the positions in `gone` (sorted).
fn drop_gone(mut v: Vec<Session>, gone: &[u32]) -> Vec<Session> {
    if gone.is_empty() {
        return v;
    }
    let mut next = gone.iter().peekable();
    let mut i = 0usize;
    v.retain(|_| {
        let removed = next.next_if(|&&g| g as usize == i).is_some();
        i += 1;
        !removed
    });
    v
}

#[cfg(test)]
mod tests {
    use super::super::flow_record::FlowRecord;
    use super::super::testing::{flow_record, infos};
    use super::*;
    use proptest::prelude::*;

    /// What a head says, comparable.
    fn head_text(h: &Head<'_>) -> String {
        format!(
            "{:?} {} {} {:?} {:?}",
            h.key(),
            h.first_ts,
            h.last_ts,
            h.seen_by,
            h.flow
        )
    }

    fn read_all(f: &Finished) -> Vec<String> {
        let mut v = Vec::new();
        f.visit(0..f.len(), &mut |_, s| v.push(format!("{s:?}")));
        v
    }

    proptest! {
        /// A list read position by position, each session built as it is
        /// read, is the vector built at once; each head is its session's;
        /// sessions changed and removed after the plan read as if changed
        /// and removed in the vector, in every way of reading the list.
        #[test]
        fn a_finished_list_reads_as_its_vector(
            a in prop::collection::vec(flow_record(false), 0..60),
            b in prop::collection::vec(flow_record(true), 0..60),
            changes in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 0..8),
        ) {
            let tables = || {
                SessionTable::concat(vec![
                    SessionTable::from_flow_records(a.clone(), infos()),
                    SessionTable::from_flow_records(
                        b.iter().map(|r| FlowRecord { input: 7, ..*r }).collect(),
                        infos(),
                    ),
                ])
            };
            let mut lazy = tables().finished();
            let mut built = Finished::from(tables().finish());
            let mut want: Vec<Option<Session>> = tables().finish().into_iter().map(Some).collect();
            prop_assert_eq!(lazy.len(), want.len());
            for (index, remove) in changes {
                if want.is_empty() {
                    break;
                }
                let i = index.index(want.len());
                if remove {
                    lazy.remove(i);
                    built.remove(i);
                    want[i] = None;
                } else if let Some(mut s) = lazy.get(i).map(Cow::into_owned) {
                    s.last_ts += 1;
                    s.orig.pkts += 1;
                    lazy.set(i, s.clone());
                    built.set(i, s.clone());
                    want[i] = Some(s);
                }
            }
            let want_text: Vec<String> = want.iter().flatten().map(|s| format!("{s:?}")).collect();
            for f in [&lazy, &built] {
                prop_assert_eq!(f.count(), want_text.len());
                prop_assert_eq!(&read_all(f), &want_text);
                let by_get: Vec<String> =
                    (0..f.len()).filter_map(|i| f.get(i)).map(|s| format!("{s:?}")).collect();
                prop_assert_eq!(&by_get, &want_text);
                let heads: Vec<String> = f.par_filter_map_heads(|h| Some(head_text(h)))
                    .into_iter()
                    .map(|(_, h)| h)
                    .collect();
                let want_heads: Vec<String> =
                    want.iter().flatten().map(|s| head_text(&Head::of(s))).collect();
                prop_assert_eq!(heads, want_heads);
                // A head `f` takes only some of (those of even seconds, not
                // changed: a change adds a nanosecond), as the join takes.
                let some = |h: &Head<'_>| h.first_ts / 1_000_000_000 % 2 == 0 && h.last_ts % 2 == 0;
                let taken: Vec<(usize, String)> =
                    f.par_filter_map_heads(|h| some(h).then(|| head_text(h)));
                let want_taken: Vec<(usize, String)> = want
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| s.as_ref().map(|s| (i, Head::of(s))))
                    .filter(|(_, h)| some(h))
                    .map(|(i, h)| (i, head_text(&h)))
                    .collect();
                prop_assert_eq!(taken, want_taken);
                let even = |s: &Session| s.orig.pkts % 2 == 0;
                prop_assert_eq!(f.par_count(|_| true), want_text.len());
                prop_assert_eq!(
                    f.par_count(|v| even(&v.session())),
                    want.iter().flatten().filter(|s| even(s)).count()
                );
            }
            for f in [lazy, built] {
                let v: Vec<String> = f.into_vec().iter().map(|s| format!("{s:?}")).collect();
                prop_assert_eq!(&v, &want_text);
            }
        }
    }
}

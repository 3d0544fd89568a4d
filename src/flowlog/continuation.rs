//! Connections that outlive their blob. Flow logs are written one blob per
//! hour (and NIC), and a connection open across the hour is logged in both:
//! `B` and `C`s in the first, `C`s and the `E` in the next (`C` comes every 5
//! minutes). Stitching is per file, since files are read in parallel, so
//! each blob gives a session of its own: one still open when its log ends,
//! one that began before its log. [`join_continuations`] joins them once
//! every input's sessions are finished: a build's SSH session of several
//! hours is one session again, not one per hour (each an "attempt", and a
//! quiet hour's part with no reply packets would look blocked).

use super::stitch::{IDLE_MS, counted_note, counted_state, next_state};
use super::tuple::Counters;
use crate::ingest::InputReport;
use crate::sessions::{Decision, Finished, FlowInfo, FlowKey, Head, Session, SessionTable};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// A run's table finished ([`SessionTable::finished`]), its flows open
/// across blobs joined ([`join_continuations`]): the sessions every
/// command reads, built as they are read.
pub fn finish_run(table: SessionTable, inputs: &[InputReport]) -> Finished {
    let mut f = crate::phase::timed("join, sort, coalesce", || table.finished());
    crate::phase::timed("join flows across blobs", || {
        join_continuations(&mut f, inputs)
    });
    f
}

/// Join each flow-log session that began before its log to the session of
/// the same connection that was still open at the end of an earlier log:
/// same endpoints, allowed, seen by other inputs, and starting after it
/// within [`IDLE_MS`]. Counters are deltas, so the joined session's are the
/// sums; its flow states, state and note are those of the whole. Sessions
/// from captures, denied flows and version 1 logs (no flow state) are left
/// as they are. The list stays in finished order: a joined session keeps
/// its place and the continuation's is removed. Returns how many sessions
/// were joined into others. (A connection whose 5-tuple is reused within
/// [`IDLE_MS`] of an open-ended session of another blob could be joined to
/// it; flow logs give no way to tell.)
pub fn join_continuations(v: &mut Finished, inputs: &[InputReport]) -> usize {
    // The sessions that lack a beginning or an end near an end of their
    // log, found in parallel: a day of flow logs has millions of sessions,
    // a third without an `E` (inbound flows NSG logs statelessly, flows
    // still open), and few of them at the end of their blob. The serial
    // walk below reads only those.
    let ends: Vec<(usize, (FlowKey, Ends))> =
        v.par_filter_map_heads(|h| Ends::of(h, inputs).map(|e| (h.key(), e)));
    if !ends.iter().any(|(_, (_, e))| e.began_before) {
        return 0;
    }
    // Sessions still open at the end of their log, by flow key.
    let mut open: FxHashMap<FlowKey, usize> = FxHashMap::default();
    let mut joined = 0;
    for (r, (key, e)) in ends {
        let extended = match open.get(&key) {
            Some(&i) if e.began_before => match (v.get(i), v.get(r)) {
                (Some(g), Some(s)) if continues(&g, &s) => {
                    let mut g = g.into_owned();
                    extend(&mut g, &s);
                    Some((i, g))
                }
                _ => None,
            },
            _ => None,
        };
        match extended {
            Some((i, g)) => {
                if !Ends::of(&Head::of(&g), inputs).is_some_and(|e| e.open_at_end) {
                    open.remove(&key);
                }
                v.set(i, g);
                v.remove(r);
                joined += 1;
            }
            None if e.open_at_end => {
                open.insert(key, r);
            }
            None => {}
        }
    }
    joined
}

/// Whether an allowed flow-log session lacks its beginning or its end.
struct Ends {
    /// Its flow states do not start with `B` (a `C` or `E`, or the `E` of a
    /// rollover, first).
    began_before: bool,
    /// Its flow states do not end with `E`.
    open_at_end: bool,
}

impl Ends {
    /// `None` for a session with both ends (or not from a flow log, denied,
    /// or without flow states). A missing end counts only near that end of
    /// a log that saw the session (`inputs` by `seen_by`): an open flow is
    /// logged every 5 minutes, so the session of a blob that continues in
    /// the next ends within [`IDLE_MS`] of the blob's last tuple, and the
    /// continuation starts as near its blob's first.
    fn of(s: &Head<'_>, inputs: &[InputReport]) -> Option<Ends> {
        let f = s.flow?;
        if f.decision != Some(Decision::Allow) {
            return None;
        }
        let states = f.flow_state.as_deref().filter(|t| !t.is_empty())?;
        let idle = IDLE_MS.saturating_mul(1_000_000);
        let near = |edge: fn(&InputReport) -> Option<i64>, ts: i64| {
            s.seen_by.iter().any(|i| {
                inputs
                    .get(i as usize)
                    .and_then(edge)
                    .is_some_and(|t| ts.abs_diff(t) <= idle.unsigned_abs())
            })
        };
        let e = Ends {
            began_before: !states.starts_with('B') && near(|r| r.first_ts, s.first_ts),
            open_at_end: !states.ends_with('E') && near(|r| r.last_ts, s.last_ts),
        };
        (e.began_before || e.open_at_end).then_some(e)
    }
}

/// Whether `s` continues `g`: later than it (views of one time are joined
/// by coalescing), within the flow-log idle gap, and from other inputs.
fn continues(g: &Session, s: &Session) -> bool {
    let gap = s.first_ts.saturating_sub(g.last_ts);
    gap > 0 && gap <= IDLE_MS.saturating_mul(1_000_000) && !g.seen_by.intersects(&s.seen_by)
}

/// Add the continuation `s` to `g`.
fn extend(g: &mut Session, s: &Session) {
    for (a, b) in [(&mut g.orig, &s.orig), (&mut g.resp, &s.resp)] {
        a.pkts = a.pkts.saturating_add(b.pkts);
        a.bytes = a.bytes.saturating_add(b.bytes);
        a.ip_bytes = a.ip_bytes.saturating_add(b.ip_bytes);
    }
    g.last_ts = g.last_ts.max(s.last_ts);
    g.ts_digits = g.ts_digits.max(s.ts_digits);
    g.seen_by.union(&s.seen_by);
    let Some(info) = g.flow.as_deref() else {
        return;
    };
    // Flow states in order of first appearance, as stitching lists them.
    let mut states = info.flow_state.as_deref().unwrap_or("").to_string();
    for c in s
        .flow
        .as_deref()
        .and_then(|f| f.flow_state.as_deref())
        .unwrap_or("")
        .chars()
    {
        if c.is_ascii() && next_state(states.as_bytes(), c as u8) {
            states.push(c);
        }
    }
    let c = Counters {
        pkts_src_to_dst: g.orig.pkts,
        bytes_src_to_dst: g.orig.ip_bytes,
        pkts_dst_to_src: g.resp.pkts,
        bytes_dst_to_src: g.resp.ip_bytes,
    };
    g.state = counted_state(g.ip_proto(), g.orig_h, c, states.ends_with('E'));
    let note = counted_note(g.ip_proto(), g.orig_h, c, states.starts_with('B'))
        .text()
        .map(|t| Arc::from(t.as_ref()));
    g.flow = Some(Arc::new(FlowInfo {
        flow_state: Some(Arc::from(states)),
        note,
        ..info.clone()
    }));
}

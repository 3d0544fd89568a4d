//! Joining sorted runs of sessions: the settled sessions of the tables
//! concatenated into one, each run in order of first time, merged instead
//! of sorted.

use super::model::{Session, order_key};
use rayon::prelude::*;

/// Put sessions that are in order of first time into [`order_key`] order,
/// by sorting each group with one first time (sessions made in the order of
/// their first packets are in order but for packets that share a
/// timestamp). False, and the order unchanged, when the first times are
/// not in order. Afterwards `v` is what a stable sort by `order_key` gives.
pub(super) fn order_ties(v: &mut [Session]) -> bool {
    let by_time = v.par_windows(2).all(|w| match w {
        [a, b] => a.first_ts <= b.first_ts,
        _ => true,
    });
    if by_time {
        v.par_chunk_by_mut(|a, b| a.first_ts == b.first_ts)
            .for_each(|same| same.sort_by_key(order_key));
    }
    by_time
}

/// Runs in one vector, and whether it is in [`order_key`] order. When every
/// run is in order of first time — the shards of one capture, and captures
/// read whole, usually are — ties are put in order (see [`order_ties`]) and
/// the runs merged: streaming through them once cost a third of sorting and
/// permuting their concatenation (0.4 s for 1.7 M sessions, the
/// permutation's random moves most of it). Otherwise they are appended.
/// Merging pairs moves every session once per round, so beyond
/// [`MERGE_RUNS`] runs (many inputs) the sort is cheaper.
pub(super) fn join_runs(mut runs: Vec<Vec<Session>>) -> (Vec<Session>, bool) {
    if (2..=MERGE_RUNS).contains(&runs.len()) && runs.par_iter_mut().all(|r| order_ties(r)) {
        (merge_runs(runs), true)
    } else {
        (append_runs(runs), false)
    }
}

/// The most runs [`join_runs`] merges (two rounds).
const MERGE_RUNS: usize = 4;

/// Runs one after another in one vector: the first run's vector grows in
/// place (a large one is remapped, not copied); only the others move.
pub(super) fn append_runs(runs: Vec<Vec<Session>>) -> Vec<Session> {
    let total: usize = runs.iter().map(Vec::len).sum();
    let mut runs = runs.into_iter();
    let mut out = runs.next().unwrap_or_default();
    out.reserve(total - out.len());
    for r in runs {
        out.extend(r);
    }
    out
}

/// Merge runs sorted by [`order_key`] into one sorted vector, in the order
/// a stable sort of their concatenation gives (among equal keys, the earlier
/// run's first). Pairs of neighbouring runs are merged, in parallel, until
/// one is left.
pub(super) fn merge_runs(mut runs: Vec<Vec<Session>>) -> Vec<Session> {
    while runs.len() > 1 {
        runs = runs
            .into_par_iter()
            .chunks(2)
            .map(|pair| {
                let mut pair = pair.into_iter();
                let a = pair.next().unwrap_or_default();
                match pair.next() {
                    Some(b) => merge_two(a, b),
                    None => a,
                }
            })
            .collect();
    }
    runs.pop().unwrap_or_default()
}

/// Merge sorted run `b` into sorted run `a`. `a`'s vector grows in place
/// (a large one is remapped, not copied) and is filled from the back, where
/// the larger of the two runs' last sessions goes: the place written is
/// never one of `a`'s sessions still to be merged, so each session moves
/// once and the memory is walked in order.
fn merge_two(mut a: Vec<Session>, mut b: Vec<Session>) -> Vec<Session> {
    let mut left = a.len();
    let total = left + b.len();
    // Empty sessions in the places of `b`'s, written by all threads: the fresh
    // memory's page faults were half of a serial merge's time.
    a.reserve_exact(total - left);
    a.par_extend(rayon::iter::repeat_n(Session::default(), total - left));
    for k in (0..total).rev() {
        let a_last = left.checked_sub(1).and_then(|i| a.get(i).map(|s| (i, s)));
        match (a_last, b.last()) {
            // Ties go to `b`, which is later in a stable order.
            (Some((i, x)), Some(y)) if later(x, y) => {
                a.swap(i, k);
                left = i;
            }
            (_, Some(_)) => {
                if let (Some(y), Some(slot)) = (b.pop(), a.get_mut(k)) {
                    *slot = y;
                }
            }
            // `b` is used up; the rest of `a` is already in place.
            (_, None) => break,
        }
    }
    a
}

/// Whether `x` goes after `y` in [`order_key`] order (first times tell
/// most sessions apart, without building the whole keys).
#[inline]
fn later(x: &Session, y: &Session) -> bool {
    match x.first_ts.cmp(&y.first_ts) {
        std::cmp::Ordering::Equal => order_key(x) > order_key(y),
        o => o.is_gt(),
    }
}

/// Put `v[perm[j]]` at position `j`, in place, following the permutation's
/// cycles (each session moves about once; no second vector).
pub(super) fn permute<T>(v: &mut [T], perm: &[usize]) {
    let mut done = vec![false; v.len()];
    for start in 0..v.len() {
        if done.get(start).copied().unwrap_or(true) {
            continue;
        }
        let mut j = start;
        loop {
            if let Some(d) = done.get_mut(j) {
                *d = true;
            }
            let Some(&k) = perm.get(j) else { break };
            if k == start || k >= v.len() {
                break;
            }
            v.swap(j, k);
            j = k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::flow_record::FlowRecord;
    use super::super::testing::{flow_record, infos};
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Merging sorted runs gives the stable sort of their
        /// concatenation, ties (equal keys) included: the earlier run's
        /// session first.
        #[test]
        fn merge_runs_is_a_stable_sort(
            runs in prop::collection::vec(prop::collection::vec(flow_record(false), 0..40), 0..6),
        ) {
            let infos = infos();
            let mut id = 0;
            let runs: Vec<Vec<Session>> = runs
                .iter()
                .map(|run| {
                    let mut v: Vec<Session> = run
                        .iter()
                        .map(|r| {
                            // Few distinct keys, so that runs share some.
                            let ts = r.first_ts % 3_000_000_000;
                            let r = FlowRecord { first_ts: ts, last_ts: ts, input: r.input % 2, ..*r };
                            // A tag outside the order key, to see which session went where.
                            let mut s = r.session(&infos);
                            s.syn_retransmits = id;
                            id += 1;
                            s
                        })
                        .collect();
                    v.sort_by_key(order_key);
                    v
                })
                .collect();
            let mut want: Vec<Session> = runs.concat();
            want.sort_by_key(order_key);
            let got = merge_runs(runs);
            let tags = |v: &[Session]| v.iter().map(|s| s.syn_retransmits).collect::<Vec<_>>();
            prop_assert_eq!(tags(&got), tags(&want));
            prop_assert!(got.windows(2).all(|w| order_key(&w[0]) <= order_key(&w[1])));
        }

        /// Sessions in order of first time are put in the order a stable
        /// sort gives; others are left as they are.
        #[test]
        fn order_ties_is_a_stable_sort(
            run in prop::collection::vec(flow_record(false), 0..60),
            by_time in any::<bool>(),
        ) {
            let infos = infos();
            let mut v: Vec<Session> = run
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    // Few first times, so that many sessions share one.
                    let ts = r.first_ts % 4_000_000_000;
                    let mut s = FlowRecord { first_ts: ts, last_ts: ts + 1, ..*r }.session(&infos);
                    s.syn_retransmits = i as u32;
                    s
                })
                .collect();
            if by_time {
                v.sort_by_key(|s| s.first_ts);
            }
            let tags = |v: &[Session]| v.iter().map(|s| s.syn_retransmits).collect::<Vec<_>>();
            let before = tags(&v);
            let mut want = v.clone();
            want.sort_by_key(order_key);
            let sorted_by_time = v.windows(2).all(|w| w[0].first_ts <= w[1].first_ts);
            prop_assert_eq!(order_ties(&mut v), sorted_by_time);
            if sorted_by_time {
                prop_assert_eq!(tags(&v), tags(&want));
            } else {
                prop_assert_eq!(tags(&v), before);
            }
        }

        /// In-place permutation equals gathering into a new vector.
        #[test]
        fn permute_matches_gather(v in prop::collection::vec(any::<u32>(), 0..200), seed in any::<u64>()) {
            let mut perm: Vec<usize> = (0..v.len()).collect();
            // A deterministic shuffle from the seed.
            let mut x = seed | 1;
            for i in (1..perm.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                perm.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let gathered: Vec<u32> = perm.iter().map(|&i| v[i]).collect();
            let mut inplace = v.clone();
            permute(&mut inplace, &perm);
            prop_assert_eq!(inplace, gathered);
        }
    }
}

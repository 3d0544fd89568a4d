//! Duplicates: records identical byte for byte, and the fingerprints by
//! which the per-chunk window finds identical tuples.

use super::tuple::{self, Counters, Decision, Direction, Encryption, FlowProto, FlowState};
use super::{FlowTuple, RuleRef, scan};
use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;

/// Drop records identical (byte for byte) to an earlier one. Returns the
/// records kept and, for each one dropped, the position of its original in
/// the kept list.
pub(super) fn dedupe_records(bytes: &[u8], spans: &[scan::Span]) -> (Vec<scan::Span>, Vec<usize>) {
    let hasher = FxBuildHasher;
    let slice = |s: &scan::Span| bytes.get(s.start..s.end).unwrap_or_default();
    let hashes: Vec<u64> = if spans.len() > 64 {
        spans
            .par_iter()
            .map(|s| hasher.hash_one(slice(s)))
            .collect()
    } else {
        spans.iter().map(|s| hasher.hash_one(slice(s))).collect()
    };
    let mut seen: FxHashMap<u64, usize> = FxHashMap::default();
    let mut out = Vec::with_capacity(spans.len());
    let mut dup_of = Vec::new();
    for (span, h) in spans.iter().zip(hashes) {
        if let Some(&first) = seen.get(&h) {
            if out.get(first).map(slice) == Some(slice(span)) {
                dup_of.push(first);
                continue;
            }
        } else {
            seen.insert(h, out.len());
        }
        out.push(*span);
    }
    (out, dup_of)
}

/// Equal in every field but the record they came from.
pub(super) fn same(a: &FlowTuple, b: &FlowTuple) -> bool {
    FlowTuple { record: 0, ..*a } == FlowTuple { record: 0, ..*b }
}

/// A 64-bit hash of every field but `record` (a few multiplies; the derived
/// `Hash` walks the enums field by field and was twice as slow).
pub(super) fn fingerprint(t: &FlowTuple) -> u64 {
    fn ip(a: IpAddr) -> u128 {
        match a {
            IpAddr::V4(v) => u128::from(u32::from(v)) | (1 << 127),
            IpAddr::V6(v) => u128::from(v),
        }
    }
    hash_parts(
        t.ts_ms,
        ip(t.src),
        ip(t.dst),
        small_fields(
            t.sport,
            t.dport,
            t.proto,
            t.direction,
            t.decision,
            t.state,
            t.encryption,
        ),
        t.rule,
        t.counters,
    )
}

/// [`fingerprint`] of the tuple `f` will become (IPv4 by construction).
#[inline(always)]
pub(super) fn fingerprint_fields(f: &tuple::Fields, rule: RuleRef) -> u64 {
    hash_parts(
        f.ts_ms,
        u128::from(f.src) | (1 << 127),
        u128::from(f.dst) | (1 << 127),
        small_fields(
            f.sport,
            f.dport,
            f.proto,
            f.direction,
            f.decision,
            f.state,
            f.encryption,
        ),
        rule,
        f.counters,
    )
}

#[inline(always)]
fn small_fields(
    sport: u16,
    dport: u16,
    proto: FlowProto,
    direction: Direction,
    decision: Decision,
    state: Option<FlowState>,
    encryption: Option<Encryption>,
) -> u64 {
    u64::from(sport)
        | u64::from(dport) << 16
        | u64::from(proto.0) << 32
        | (direction as u64) << 40
        | (decision as u64) << 42
        | state.map_or(7, |s| s as u64) << 44
        | encryption.map_or(15, |e| e as u64) << 48
}

#[inline(always)]
fn hash_parts(
    ts: i64,
    src: u128,
    dst: u128,
    small: u64,
    rule: RuleRef,
    c: Option<Counters>,
) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write_u64(ts as u64);
    h.write_u128(src);
    h.write_u128(dst);
    h.write_u64(small);
    h.write_u32(rule.0);
    match c {
        Some(c) => {
            h.write_u64(c.pkts_src_to_dst);
            h.write_u64(c.bytes_src_to_dst);
            h.write_u64(c.pkts_dst_to_src);
            h.write_u64(c.bytes_dst_to_src);
        }
        None => h.write_u8(0xff),
    }
    h.finish()
}

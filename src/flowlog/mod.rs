//! Flow logs: Azure NSG flow logs (version 1 and 2, category
//! `NetworkSecurityGroupFlowEvent`) and VNet flow logs (category
//! `FlowLogFlowEvent`, `flowLogVersion` 4) → [`FlowLogFile`]: batches of
//! decoded [`FlowTuple`]s, each [`FlowLogBatch`] with the string tables its
//! tuples index, plus the file's statistics and the [`FlowLogIssue`]s met
//! on the way.
//!
//! Input: the bytes of one file (already gunzipped), as a blob
//! `{"records":[…]}`, a top-level array, or bare record object(s) (JSON Lines
//! too), with or without a UTF-8 BOM, in any key order. The family (NSG or
//! VNet) and version are decided per record by its content (`category`,
//! `properties` vs `flowRecords`, `Version`), never by the file name or the
//! tuple's field count.
//!
//! How (see `FORMATS.md` for the format):
//! 1. `scan` finds each record's byte span (string- and depth-aware, no
//!    parsing); a blob cut mid-append keeps every complete record and the
//!    cut is reported at its byte offset.
//! 2. Identical records (same bytes) are dropped.
//! 3. Records are parsed with serde_json into borrowed structs
//!    (`schema`) and their tuples with `nom` ([`mod@tuple`]) into `Copy`
//!    values, without allocating per tuple. Large files are split into
//!    chunks of records parsed in parallel (rayon); each chunk becomes one
//!    [`FlowLogBatch`], in input order. (Merging the chunks into one table
//!    meant a sequential pass that copied every tuple and cost a tenth of
//!    the run time; batches are never copied.)
//! 4. Identical tuples (same fields, rule, ACL and MAC) are dropped,
//!    keeping the first, within a record and between consecutive records.
//!    A tuple's time lies in the minute before its record's `time`, so a
//!    repeat can only be in the same or the neighbouring record; identical
//!    records anywhere in the file were dropped whole in step 2. A chunk
//!    re-reads the record before it to fill its window. (A window of two
//!    small hash tables stays in cache; a file-wide table of millions of
//!    tuples did not, and cost a fifth of the run time.)
//!
//! Invariants: never panics on any input; allocates in proportion to what
//! it actually read, never to a length the input claims; a problem in one
//! record or tuple never loses the others; nothing is decoded in a layout
//! it is not in (an NSG v2 tuple in a VNet record is reported, not read).

mod continuation;
mod error;
mod scan;
mod schema;
pub mod stitch;
pub mod tuple;

pub use continuation::join_continuations;
pub use error::{Dropped, FlowLogError, FlowLogIssue, IssueKind, TupleLoc};
pub use stitch::{read_input, sessions, sessions_in_scope};
pub use tuple::{
    Counters, Decision, Direction, Encryption, FlowProto, FlowState, FlowTuple, RuleRef,
    TupleError, TupleLayout, parse_tuple, parse_tuple_bytes,
};

use crate::sessions::Filter;
use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashMap};
use schema::{Bytes, RawRecord, Str};
use serde::Serialize;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

/// Index into [`FlowLogBatch::strings`]; `Sym(0)` is the empty string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub struct Sym(pub u32);

/// Which rule, ACL and NIC logged a tuple (interned once per file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct RuleEntry {
    /// Rule name: `DefaultRule_DenyAllInBound`, `UserRule_SSH`, AVNM names
    /// with a GUID suffix, `PlatformRule`, `unspecified` ...
    pub rule: Sym,
    /// NSG: the record's `resourceId` (the NSG). VNet: the flow's `aclID`
    /// (an NSG resource id, a GUID, all-zero for `PlatformRule`, or
    /// `unspecified`).
    pub acl: Sym,
    /// NIC MAC (12 hex digits): NSG `flows[].mac`, VNet record `macAddress`.
    pub mac: Sym,
}

/// Family and version of a record, as decided from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "family")]
pub enum RecordKind {
    /// NSG flow log `Version` 1 (8-field tuples).
    NsgV1,
    /// NSG flow log `Version` 2 (13-field tuples).
    NsgV2,
    /// NSG flow log without `Version` (tuples read as 8 or 13 fields).
    Nsg,
    /// VNet flow log with its `flowLogVersion` (0 when missing).
    Vnet {
        /// `flowLogVersion`.
        version: u32,
    },
}

/// One record that was used (one minute of one NSG/NIC, usually).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RecordInfo {
    /// Index of the element in `records` (or of the bare record).
    pub index: u32,
    /// Byte offset of the record's `{` in the input.
    pub offset: u64,
    /// The record's `time` in UNIX milliseconds.
    pub time_ms: Option<i64>,
    /// Family and version.
    pub kind: RecordKind,
    /// NSG: `resourceId` (the NSG). VNet: `targetResourceID` (VNet, subnet
    /// or NIC).
    pub resource: Sym,
    /// VNet: `flowLogResourceID`; NSG: empty.
    pub flow_log: Sym,
    /// `macAddress` (empty when absent, as in 2017 NSG data).
    pub mac: Sym,
}

/// Counts for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct FlowLogStats {
    /// Input length in bytes.
    pub bytes: u64,
    /// Complete elements found in `records` (or bare records).
    pub records: u64,
    /// Records dropped because an identical one came before.
    pub records_duplicate: u64,
    /// Records skipped because of an issue.
    pub records_skipped: u64,
    /// Tuple strings in all complete records (duplicates included).
    pub tuples_read: u64,
    /// Tuples dropped because an identical one came before (those of
    /// duplicate records included). Kept = read − duplicate − skipped.
    pub tuples_duplicate: u64,
    /// Tuples skipped because of an issue (in used or skipped records).
    pub tuples_skipped: u64,
    /// Tuples dropped by the pre-filter ([`ParseOptions::filter`]), before
    /// the duplicate check (so duplicates are counted among the tuples
    /// kept only). Kept = read − duplicate − skipped − filtered.
    pub tuples_filtered: u64,
    /// Earliest and latest time (UNIX ms) of the tuples decoded from
    /// records in use, whether the pre-filter kept them or not.
    pub ts_range: Option<(i64, i64)>,
    /// Issues beyond [`MAX_ISSUES`], counted but not kept.
    pub issues_dropped: u64,
}

/// At most this many issues are kept per file; the rest are counted.
pub const MAX_ISSUES: usize = 200;

/// Tuples of consecutive records of one file with the string tables they
/// index: what one parallel chunk produces. Small files are one batch.
#[derive(Debug, Clone, Default)]
pub struct FlowLogBatch {
    /// Interned strings; [`Sym`] indexes here; `strings[0]` is `""`.
    /// Shared (`Arc`), so sessions name rules and NSGs with these very
    /// strings: a record with one huge string holds it once besides the
    /// input.
    pub strings: Vec<Arc<str>>,
    /// Rule / ACL / MAC combinations; [`RuleRef`] indexes here.
    pub rules: Vec<RuleEntry>,
    /// Records used, in input order; [`FlowTuple::record`] indexes here.
    pub records: Vec<RecordInfo>,
    /// Decoded, de-duplicated tuples in input order.
    pub tuples: Vec<FlowTuple>,
}

impl FlowLogBatch {
    /// The text of a symbol (`""` for an unknown one).
    pub fn str(&self, s: Sym) -> &str {
        self.strings.get(s.0 as usize).map_or("", |b| b)
    }

    /// A rule entry.
    pub fn rule(&self, r: RuleRef) -> Option<&RuleEntry> {
        self.rules.get(r.0 as usize)
    }

    /// The rule name of a tuple.
    pub fn rule_name(&self, t: &FlowTuple) -> &str {
        self.rule(t.rule).map_or("", |e| self.str(e.rule))
    }

    /// The ACL of a tuple: NSG resource id (NSG logs) or `aclID` (VNet).
    pub fn acl(&self, t: &FlowTuple) -> &str {
        self.rule(t.rule).map_or("", |e| self.str(e.acl))
    }

    /// The MAC of a tuple.
    pub fn mac(&self, t: &FlowTuple) -> &str {
        self.rule(t.rule).map_or("", |e| self.str(e.mac))
    }

    /// The record a tuple came from.
    pub fn record(&self, t: &FlowTuple) -> Option<&RecordInfo> {
        self.records.get(t.record as usize)
    }

    /// The resource that logged a tuple: the NSG (NSG logs) or the flow
    /// log's target VNet, subnet or NIC (VNet logs).
    pub fn resource(&self, t: &FlowTuple) -> &str {
        self.record(t).map_or("", |r| self.str(r.resource))
    }
}

/// One flow-log file, decoded.
#[derive(Debug, Clone, Default)]
pub struct FlowLogFile {
    /// The file as named by the caller.
    pub path: Arc<str>,
    /// The decoded tuples, in input order, in one batch per parallel chunk.
    pub batches: Vec<FlowLogBatch>,
    /// Counts.
    pub stats: FlowLogStats,
    /// Problems met, in input order (at most [`MAX_ISSUES`]).
    pub issues: Vec<FlowLogIssue>,
}

impl FlowLogFile {
    /// Every tuple with the batch that holds its strings, in input order.
    pub fn tuples(&self) -> impl Iterator<Item = (&FlowLogBatch, &FlowTuple)> {
        self.batches
            .iter()
            .flat_map(|b| b.tuples.iter().map(move |t| (b, t)))
    }

    /// Number of tuples kept.
    pub fn tuple_count(&self) -> usize {
        self.batches.iter().map(|b| b.tuples.len()).sum()
    }

    /// Every record used, in input order.
    pub fn records(&self) -> impl Iterator<Item = (&FlowLogBatch, &RecordInfo)> {
        self.batches
            .iter()
            .flat_map(|b| b.records.iter().map(move |r| (b, r)))
    }

    /// Whether the input was cut short (records after the cut are missing).
    pub fn truncated(&self) -> bool {
        self.issues
            .iter()
            .any(|i| matches!(i.kind, IssueKind::Truncated { .. }))
    }
}

/// How to parse.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Files at least this large are split into chunks parsed in parallel.
    pub parallel_min_bytes: usize,
    /// Target bytes per chunk.
    pub chunk_bytes: usize,
    /// At least this many records per chunk (each chunk re-reads the record
    /// before it for the duplicate window, so this bounds that overhead).
    pub min_chunk_records: usize,
    /// Drop repeated records and tuples (default). Off, every tuple of
    /// every complete record is kept, as when counting what a file holds.
    pub dedupe: bool,
    /// Keep only the tuples this accepts (default: all). Applied as each
    /// tuple is decoded, before the duplicate window and before it is
    /// stored: a run that shows one port stores and stitches only that
    /// port's tuples. Every tuple is still decoded, so bad ones are still
    /// reported. Only the host and port conditions apply to tuples (a
    /// session's tuples share its ends, so it keeps or drops whole
    /// sessions, never parts of one).
    pub filter: Option<Filter>,
}

/// [`Filter`] for the IPv4 fast path: addresses as integers.
#[derive(Debug, Default)]
struct FastFilter {
    active: bool,
    /// IPv4 hosts as big-endian integers (IPv6 hosts never match a fast
    /// tuple, which is IPv4).
    hosts: Vec<u32>,
    any_host: bool,
    ports: Vec<u16>,
}

impl FastFilter {
    fn of(f: Option<&Filter>) -> FastFilter {
        let Some(f) = f.filter(|f| !f.all_ends()) else {
            return FastFilter::default();
        };
        FastFilter {
            active: true,
            hosts: f
                .hosts
                .iter()
                .filter_map(|h| match h {
                    IpAddr::V4(a) => Some(u32::from(*a)),
                    IpAddr::V6(_) => None,
                })
                .collect(),
            any_host: f.hosts.is_empty(),
            ports: f.ports.clone(),
        }
    }

    #[inline(always)]
    fn accepts(&self, f: &tuple::Fields) -> bool {
        !self.active
            || ((self.any_host || self.hosts.iter().any(|&h| h == f.src || h == f.dst))
                && (self.ports.is_empty()
                    || self.ports.iter().any(|&p| p == f.sport || p == f.dport)))
    }
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            parallel_min_bytes: 2 << 20,
            chunk_bytes: 1 << 20,
            min_chunk_records: 8,
            dedupe: true,
            filter: None,
        }
    }
}

/// Parse one flow-log file from its bytes with default options.
///
/// # Errors
/// [`FlowLogError::NotJson`] when the input is not a JSON object or array.
/// Everything else (bad records, bad tuples, truncation) is reported in
/// [`FlowLogFile::issues`] and the rest of the file is used.
pub fn parse(path: impl Into<Arc<str>>, bytes: &[u8]) -> Result<FlowLogFile, FlowLogError> {
    parse_with(path, bytes, &ParseOptions::default())
}

/// Read and parse one file (uncompressed; gzip and directories are
/// [`ingest`](crate)'s job).
///
/// # Errors
/// [`FlowLogError::Io`] if it cannot be read, else as [`parse`].
pub fn parse_file(path: &Path) -> Result<FlowLogFile, FlowLogError> {
    let name: Arc<str> = path.to_string_lossy().into();
    let bytes = std::fs::read(path).map_err(|source| FlowLogError::Io {
        path: name.clone(),
        source,
    })?;
    parse(name, &bytes)
}

/// Parse many files in parallel (rayon), results in input order.
pub fn parse_many<P: AsRef<[u8]> + Sync>(
    inputs: &[(Arc<str>, P)],
) -> Vec<Result<FlowLogFile, FlowLogError>> {
    inputs
        .par_iter()
        .map(|(p, b)| parse(p.clone(), b.as_ref()))
        .collect()
}

/// Parse one flow-log file from its bytes.
///
/// # Errors
/// As [`parse`].
pub fn parse_with(
    path: impl Into<Arc<str>>,
    bytes: &[u8],
    opts: &ParseOptions,
) -> Result<FlowLogFile, FlowLogError> {
    let path: Arc<str> = path.into();
    let scanned = scan::scan(bytes).map_err(|e| FlowLogError::NotJson {
        path: path.clone(),
        offset: e.offset as u64,
    })?;
    let mut stats = FlowLogStats {
        bytes: bytes.len() as u64,
        records: scanned.spans.len() as u64,
        ..FlowLogStats::default()
    };
    let mut issues = Vec::new();
    for si in &scanned.issues {
        let (offset, record, kind) = match *si {
            scan::ScanIssue::NotAnObject { index, offset } => {
                stats.records = stats.records.saturating_add(1);
                stats.records_skipped = stats.records_skipped.saturating_add(1);
                (offset, Some(index), IssueKind::NotAnObject)
            }
            scan::ScanIssue::Truncated { index, offset } => (
                offset,
                Some(index),
                IssueKind::Truncated {
                    kept: u32::try_from(scanned.spans.len()).unwrap_or(u32::MAX),
                    len: bytes.len() as u64,
                },
            ),
            scan::ScanIssue::Unclosed { offset } => (offset, None, IssueKind::Unclosed),
            scan::ScanIssue::Unexpected { offset, expected } => {
                (offset, None, IssueKind::Unexpected { expected })
            }
        };
        issues.push(Issue {
            offset: offset as u64,
            record,
            kind,
        });
    }

    let (spans, dup_of) = if opts.dedupe {
        dedupe_records(bytes, &scanned.spans)
    } else {
        (scanned.spans, Vec::new())
    };

    let partials: Vec<Partial> = if bytes.len() >= opts.parallel_min_bytes && spans.len() > 1 {
        let avg = (bytes.len() / spans.len()).max(1);
        let per_chunk = (opts.chunk_bytes / avg).max(opts.min_chunk_records).max(1);
        spans
            .par_chunks(per_chunk)
            .enumerate()
            .map(|(k, chunk)| {
                let warm = (k * per_chunk).checked_sub(1).and_then(|i| spans.get(i));
                Partial::parse(bytes, chunk, warm.copied(), opts)
            })
            .collect()
    } else {
        vec![Partial::parse(bytes, &spans, None, opts)]
    };

    // Duplicate records count as read and as duplicates, tuples included.
    let per_span: Vec<u64> = partials
        .iter()
        .flat_map(|p| p.span_tuples.iter().copied())
        .collect();
    stats.records_duplicate = dup_of.len() as u64;
    for &orig in &dup_of {
        let n = per_span.get(orig).copied().unwrap_or(0);
        stats.tuples_read += n;
        stats.tuples_duplicate += n;
    }
    Ok(finish(path, partials, stats, issues))
}

/// An issue before the path is attached.
#[derive(Debug)]
struct Issue {
    offset: u64,
    record: Option<u32>,
    kind: IssueKind,
}

/// Drop records identical (byte for byte) to an earlier one. Returns the
/// records kept and, for each one dropped, the position of its original in
/// the kept list.
fn dedupe_records(bytes: &[u8], spans: &[scan::Span]) -> (Vec<scan::Span>, Vec<usize>) {
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

/// The records of one chunk, with their own string tables.
#[derive(Default)]
struct Partial {
    strings: Vec<Arc<str>>,
    /// Symbol by the string's hash (the string itself is kept once, in
    /// `strings`); a different string with the same hash goes to
    /// `string_collided`.
    string_ix: FxHashMap<u64, Sym>,
    string_collided: FxHashMap<Arc<str>, Sym>,
    rules: Vec<RuleEntry>,
    rule_ix: FxHashMap<RuleEntry, RuleRef>,
    records: Vec<RecordInfo>,
    tuples: Vec<FlowTuple>,
    issues: Vec<Issue>,
    records_skipped: u64,
    tuples_read: u64,
    tuples_skipped: u64,
    tuples_duplicate: u64,
    tuples_filtered: u64,
    ts_range: Option<(i64, i64)>,
    /// The pre-filter, and whether it is active.
    filter: FastFilter,
    full_filter: Option<Filter>,
    /// Tuple strings per span of the chunk (for duplicate-record counts).
    span_tuples: Vec<u64>,
    /// Duplicate window: fingerprint → index (see [`Partial::windowed`])
    /// of the tuples of the current and of the previous record.
    window_cur: FxHashMap<u64, u64>,
    window_prev: FxHashMap<u64, u64>,
    /// Tuples of the warm-up record (the one before the chunk).
    warm: Vec<FlowTuple>,
    /// Reading the warm-up record.
    warming: bool,
    /// Whether to drop repeated tuples at all.
    dedupe: bool,
}

/// Window indices with this bit set point into `Partial::warm`.
const WARM: u64 = 1 << 63;

enum Family {
    Nsg(TupleLayout, RecordKind),
    Vnet(u32),
}

impl Partial {
    /// Parse a chunk; `warm` is the record before it, read only to fill the
    /// duplicate window.
    fn parse(
        bytes: &[u8],
        spans: &[scan::Span],
        warm: Option<scan::Span>,
        opts: &ParseOptions,
    ) -> Partial {
        let full_filter = opts
            .filter
            .as_ref()
            .map(Filter::ends_only)
            .filter(|f| !f.all_ends());
        let mut p = Partial {
            strings: vec!["".into()],
            dedupe: opts.dedupe,
            filter: FastFilter::of(full_filter.as_ref()),
            full_filter,
            ..Partial::default()
        };
        p.string_ix.insert(FxBuildHasher.hash_one(""), Sym(0));
        p.window_cur.reserve(1024);
        p.window_prev.reserve(1024);
        // Tuples take at least ~40 input bytes each; reserving for one per 64
        // bytes actually present avoids most regrowth copies.
        let input: usize = spans.iter().map(|s| s.end.saturating_sub(s.start)).sum();
        p.tuples.reserve(input / 64);
        if let Some(w) = warm {
            p.warm_up(bytes, w);
        }
        for span in spans {
            let before = p.tuples_read;
            p.record(bytes, *span);
            p.span_tuples.push(p.tuples_read - before);
        }
        p
    }

    /// Read a record for its tuples' fingerprints only, then forget all
    /// else about it (its counts and issues belong to the previous chunk).
    fn warm_up(&mut self, bytes: &[u8], span: scan::Span) {
        let (issues, records) = (self.issues.len(), self.records.len());
        let (rs, tr, ts, td, tf, range) = (
            self.records_skipped,
            self.tuples_read,
            self.tuples_skipped,
            self.tuples_duplicate,
            self.tuples_filtered,
            self.ts_range,
        );
        self.warming = true;
        self.record(bytes, span);
        self.warming = false;
        self.issues.truncate(issues);
        self.records.truncate(records);
        (
            self.records_skipped,
            self.tuples_read,
            self.tuples_skipped,
            self.tuples_duplicate,
            self.tuples_filtered,
            self.ts_range,
        ) = (rs, tr, ts, td, tf, range);
    }

    /// The tuple a window index points to.
    fn windowed(&self, ix: u64) -> Option<&FlowTuple> {
        if ix & WARM != 0 {
            self.warm.get(usize::try_from(ix & !WARM).ok()?)
        } else {
            self.tuples.get(usize::try_from(ix).ok()?)
        }
    }

    /// Keep the tuple unless the current or the previous record
    /// already has it. Checked as each tuple is parsed, while it is still
    /// in registers; `make` builds it (only for a hit or to store it).
    #[inline(always)]
    fn push_unique(&mut self, fp: u64, make: impl Fn() -> FlowTuple) {
        if !self.dedupe {
            if !self.warming {
                self.tuples.push(make());
            }
            return;
        }
        let seen = |m: &FxHashMap<u64, u64>| {
            m.get(&fp)
                .copied()
                .filter(|&ix| self.windowed(ix).is_some_and(|o| same(o, &make())))
        };
        if seen(&self.window_cur).is_some() {
            self.tuples_duplicate += 1;
            return;
        }
        if let Some(ix) = seen(&self.window_prev) {
            self.tuples_duplicate += 1;
            // The current record has it too, kept or not: the next record's
            // window must see it (as a parallel chunk's warm-up, which reads
            // the record before it in full, does).
            self.window_cur.insert(fp, ix);
            return;
        }
        let ix = if self.warming {
            self.warm.push(make());
            (self.warm.len() as u64 - 1) | WARM
        } else {
            self.tuples.push(make());
            self.tuples.len() as u64 - 1
        };
        self.window_cur.insert(fp, ix);
    }

    #[inline(always)]
    fn saw_time(&mut self, ms: i64) {
        self.ts_range = Some(match self.ts_range {
            Some((a, b)) => (a.min(ms), b.max(ms)),
            None => (ms, ms),
        });
    }

    fn intern(&mut self, s: &str) -> Sym {
        use std::collections::hash_map::Entry;
        let next = Sym(u32::try_from(self.strings.len()).unwrap_or(u32::MAX));
        match self.string_ix.entry(FxBuildHasher.hash_one(s)) {
            Entry::Occupied(e) => {
                let sym = *e.get();
                if self.strings.get(sym.0 as usize).is_some_and(|t| **t == *s) {
                    return sym;
                }
                if let Some(&sym) = self.string_collided.get(s) {
                    return sym;
                }
                let a: Arc<str> = Arc::from(s);
                self.strings.push(a.clone());
                self.string_collided.insert(a, next);
            }
            Entry::Vacant(e) => {
                e.insert(next);
                self.strings.push(Arc::from(s));
            }
        }
        next
    }

    fn intern_opt(&mut self, s: Option<&Str<'_>>) -> Sym {
        s.map_or(Sym(0), |s| self.intern(s.as_str()))
    }

    fn rule_ref(&mut self, e: RuleEntry) -> RuleRef {
        if let Some(&r) = self.rule_ix.get(&e) {
            return r;
        }
        let r = RuleRef(u32::try_from(self.rules.len()).unwrap_or(u32::MAX));
        self.rules.push(e);
        self.rule_ix.insert(e, r);
        r
    }

    fn issue(&mut self, offset: u64, record: u32, kind: IssueKind) {
        self.issues.push(Issue {
            offset,
            record: Some(record),
            kind,
        });
    }

    fn skip_record(&mut self, offset: u64, record: u32, kind: IssueKind) {
        self.records_skipped += 1;
        self.issue(offset, record, kind);
    }

    /// Decide what a record is; `None` when it is skipped (issue pushed).
    fn family(&mut self, raw: &RawRecord<'_>, offset: u64, index: u32) -> Option<Family> {
        if let Some(nested) = &raw.records {
            self.skip_record(
                offset,
                index,
                IssueKind::NestedRecords {
                    nested: nested.len(),
                },
            );
            return None;
        }
        let category = raw.category.as_ref().map(Str::as_str);
        let (nsg, vnet) = (raw.properties.is_some(), raw.flow_records.is_some());
        let is_nsg = match (category, nsg, vnet) {
            (_, false, false) => {
                self.skip_record(offset, index, IssueKind::NoFlows);
                return None;
            }
            (Some("NetworkSecurityGroupFlowEvent") | None, true, false) => true,
            (Some("FlowLogFlowEvent") | None, false, true) => false,
            (Some(c), ..) if c != "NetworkSecurityGroupFlowEvent" && c != "FlowLogFlowEvent" => {
                self.skip_record(offset, index, IssueKind::UnknownCategory(c.to_owned()));
                return None;
            }
            (c, nsg, _) => {
                let shape = match (nsg, vnet) {
                    (true, true) => "both NSG `properties` and VNet `flowRecords`",
                    (true, false) => "NSG `properties`",
                    _ => "VNet `flowRecords`",
                };
                let category = c.unwrap_or("(none)").to_owned();
                self.skip_record(
                    offset,
                    index,
                    IssueKind::CategoryMismatch { category, shape },
                );
                return None;
            }
        };
        if is_nsg {
            let version = raw.properties.as_ref().and_then(|p| p.version);
            match version {
                Some(1) => Some(Family::Nsg(TupleLayout::NsgV1, RecordKind::NsgV1)),
                Some(2) => Some(Family::Nsg(TupleLayout::NsgV2, RecordKind::NsgV2)),
                None => Some(Family::Nsg(TupleLayout::NsgAny, RecordKind::Nsg)),
                Some(v) => {
                    self.skip_record(offset, index, IssueKind::UnsupportedNsgVersion(v));
                    None
                }
            }
        } else {
            let v = raw.flow_log_version.unwrap_or(0);
            if v != 4 {
                self.issue(offset, index, IssueKind::UnknownVnetVersion(v));
            }
            Some(Family::Vnet(u32::try_from(v).unwrap_or(u32::MAX)))
        }
    }

    fn record(&mut self, bytes: &[u8], span: scan::Span) {
        // The duplicate window holds the tuples of this record and the one
        // just before it, used or not: a record that is skipped empties it.
        // (A parallel chunk warms its window with the record just before it,
        // whatever that record is; so must the sequential reading.)
        std::mem::swap(&mut self.window_prev, &mut self.window_cur);
        self.window_cur.clear();
        let Some(rec) = bytes.get(span.start..span.end) else {
            return;
        };
        let offset = span.start as u64;
        let raw: RawRecord<'_> = match serde_json::from_slice(rec) {
            Ok(r) => r,
            Err(e) => {
                let at = offset + json_error_offset(rec, &e);
                self.skip_record(at, span.index, IssueKind::Json(e.to_string()));
                return;
            }
        };
        let Some(family) = self.family(&raw, offset, span.index) else {
            self.count_skipped_tuples(&raw);
            return;
        };
        let time_ms = match &raw.time {
            Some(t) => {
                let ms = crate::time::parse_ms(t.as_str());
                if ms.is_none() {
                    self.issue(offset, span.index, IssueKind::BadTime(cut(t.as_str(), 60)));
                }
                ms
            }
            None => {
                self.issue(offset, span.index, IssueKind::BadTime(String::new()));
                None
            }
        };
        let mac = self.intern_opt(raw.mac_address.as_ref());
        let record_no = u32::try_from(self.records.len()).unwrap_or(u32::MAX);
        // A VNet record in the NSG layout: its tuples are still read, to
        // report what is wrong with them too, but none is kept.
        let keep = !(matches!(family, Family::Vnet(_))
            && raw.target_resource_id.is_none()
            && raw.flow_log_resource_id.is_none()
            && raw.resource_id.is_some());
        if !keep {
            self.skip_record(offset, span.index, IssueKind::VnetWithResourceId);
        }
        let mut ctx = TupleCtx {
            bytes,
            record_offset: offset,
            index: span.index,
            record_no,
            keep,
        };
        let (kind, resource, flow_log) = match family {
            Family::Nsg(layout, kind) => {
                let resource = self.intern_opt(raw.resource_id.as_ref());
                for (i, rf) in raw
                    .properties
                    .iter()
                    .flat_map(|p| p.flows.iter())
                    .enumerate()
                {
                    let rule = self.intern_opt(rf.rule.as_ref());
                    for (j, mf) in rf.flows.iter().enumerate() {
                        let mac = self.intern_opt(mf.mac.as_ref());
                        let r = self.rule_ref(RuleEntry {
                            rule,
                            acl: resource,
                            mac,
                        });
                        self.tuples(&mut ctx, &mf.flow_tuples, layout, r, false, i, j);
                    }
                }
                (kind, resource, Sym(0))
            }
            Family::Vnet(version) => {
                let resource = self.intern_opt(raw.target_resource_id.as_ref());
                let flow_log = self.intern_opt(raw.flow_log_resource_id.as_ref());
                for (i, af) in raw
                    .flow_records
                    .iter()
                    .flat_map(|f| f.flows.iter())
                    .enumerate()
                {
                    let acl = self.intern_opt(af.acl_id.as_ref());
                    for (j, g) in af.flow_groups.iter().enumerate() {
                        let rule = self.intern_opt(g.rule.as_ref());
                        let r = self.rule_ref(RuleEntry { rule, acl, mac });
                        self.tuples(&mut ctx, &g.flow_tuples, TupleLayout::Vnet, r, true, i, j);
                    }
                }
                (RecordKind::Vnet { version }, resource, flow_log)
            }
        };
        if ctx.keep {
            self.records.push(RecordInfo {
                index: span.index,
                offset,
                time_ms,
                kind,
                resource,
                flow_log,
                mac,
            });
        }
    }

    fn count_skipped_tuples(&mut self, raw: &RawRecord<'_>) {
        let nsg = raw
            .properties
            .iter()
            .flat_map(|p| &p.flows)
            .flat_map(|f| &f.flows)
            .map(|m| m.flow_tuples.len());
        let vnet = raw
            .flow_records
            .iter()
            .flat_map(|r| &r.flows)
            .flat_map(|f| &f.flow_groups)
            .map(|g| g.flow_tuples.len());
        let n = nsg.chain(vnet).sum::<usize>() as u64;
        self.tuples_read += n;
        self.tuples_skipped += n;
    }

    #[allow(clippy::too_many_arguments)] // one call site per family; a struct would only rename them
    fn tuples(
        &mut self,
        ctx: &mut TupleCtx<'_>,
        list: &[Bytes<'_>],
        layout: TupleLayout,
        rule: RuleRef,
        vnet: bool,
        flow: usize,
        group: usize,
    ) {
        self.tuples_read += list.len() as u64;
        self.tuples.reserve(list.len());
        for (k, s) in list.iter().enumerate() {
            if let Some(f) = tuple::fast_fields(&s.0, layout) {
                if !ctx.keep {
                    self.tuples_skipped += 1;
                    continue;
                }
                self.saw_time(f.ts_ms);
                if !self.filter.accepts(&f) {
                    self.tuples_filtered += 1;
                } else {
                    let fp = fingerprint_fields(&f, rule);
                    self.push_unique(fp, || f.tuple(rule, ctx.record_no));
                }
                continue;
            }
            let parsed = parse_tuple_bytes(&s.0, layout);
            if let Ok(t) = &parsed
                && ctx.keep
            {
                self.saw_time(t.ts_ms);
            }
            match parsed {
                Ok(t)
                    if ctx.keep
                        && self
                            .full_filter
                            .as_ref()
                            .is_some_and(|f| !f.admits_ends(t.src, t.sport, t.dst, t.dport)) =>
                {
                    self.tuples_filtered += 1;
                }
                Ok(mut t) if ctx.keep => {
                    t.rule = rule;
                    t.record = ctx.record_no;
                    self.push_unique(fingerprint(&t), || t);
                }
                Ok(_) => self.tuples_skipped += 1,
                Err(error) => {
                    self.tuples_skipped += 1;
                    let loc = TupleLoc {
                        vnet,
                        flow: u32::try_from(flow).unwrap_or(u32::MAX),
                        group: u32::try_from(group).unwrap_or(u32::MAX),
                        tuple: u32::try_from(k).unwrap_or(u32::MAX),
                    };
                    let offset = offset_in(ctx.bytes, &s.0).unwrap_or(ctx.record_offset);
                    let text = cut(&String::from_utf8_lossy(&s.0), 160);
                    self.issue(offset, ctx.index, IssueKind::Tuple { loc, text, error });
                }
            }
        }
    }
}

struct TupleCtx<'b> {
    bytes: &'b [u8],
    record_offset: u64,
    index: u32,
    record_no: u32,
    keep: bool,
}

/// Byte offset of a borrowed string inside the input (the tuple's first
/// character), by address arithmetic on the two slices.
fn offset_in(bytes: &[u8], s: &[u8]) -> Option<u64> {
    let base = bytes.as_ptr() as usize;
    let p = s.as_ptr() as usize;
    (p >= base && p < base + bytes.len()).then(|| (p - base) as u64)
}

/// Byte offset of a serde_json error within `rec` (from its line/column).
fn json_error_offset(rec: &[u8], e: &serde_json::Error) -> u64 {
    let mut line_start = 0usize;
    for _ in 1..e.line() {
        match rec
            .get(line_start..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
        {
            Some(p) => line_start += p + 1,
            None => break,
        }
    }
    (line_start + e.column().saturating_sub(1)).min(rec.len()) as u64
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or_default()),
        None => s.to_owned(),
    }
}

/// Turn the chunks into batches and attach the path to the issues.
fn finish(
    path: Arc<str>,
    partials: Vec<Partial>,
    mut stats: FlowLogStats,
    mut issues: Vec<Issue>,
) -> FlowLogFile {
    let mut batches = Vec::with_capacity(partials.len());
    for mut p in partials {
        stats.records_skipped += p.records_skipped;
        stats.tuples_read += p.tuples_read;
        stats.tuples_skipped += p.tuples_skipped;
        stats.tuples_duplicate += p.tuples_duplicate;
        stats.tuples_filtered += p.tuples_filtered;
        stats.ts_range = match (stats.ts_range, p.ts_range) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, y) => x.or(y),
        };
        issues.append(&mut p.issues);
        if !p.records.is_empty() {
            batches.push(FlowLogBatch {
                strings: p.strings,
                rules: p.rules,
                records: p.records,
                tuples: p.tuples,
            });
        }
    }
    issues.sort_by_key(|i| i.offset);
    if issues.len() > MAX_ISSUES {
        stats.issues_dropped = (issues.len() - MAX_ISSUES) as u64;
        issues.truncate(MAX_ISSUES);
    }
    let issues = issues
        .into_iter()
        .map(|i| FlowLogIssue {
            path: path.clone(),
            offset: i.offset,
            record: i.record,
            kind: i.kind,
        })
        .collect();
    FlowLogFile {
        path,
        batches,
        stats,
        issues,
    }
}

/// Equal in every field but the record they came from.
fn same(a: &FlowTuple, b: &FlowTuple) -> bool {
    FlowTuple { record: 0, ..*a } == FlowTuple { record: 0, ..*b }
}

/// A 64-bit hash of every field but `record` (a few multiplies; the derived
/// `Hash` walks the enums field by field and was twice as slow).
fn fingerprint(t: &FlowTuple) -> u64 {
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
fn fingerprint_fields(f: &tuple::Fields, rule: RuleRef) -> u64 {
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

//! The per-chunk parser: reads consecutive records one by one (decides each
//! record's family, decodes its tuples with the fast parser and falls back
//! to the checked one, applies the pre-filter, drops repeats within the
//! two-record window) into the chunk's own string tables, tuples, counts
//! and issues.

use super::dedupe::{fingerprint, fingerprint_fields, same};
use super::error::Issue;
use super::intern::Tables;
use super::options::FastFilter;
use super::schema::{RawRecord, Str, TupleGroup};
use super::tuple::{self, TupleLayout, parse_tuple_bytes};
use super::{
    FlowLogStats, FlowTuple, IssueKind, ParseOptions, RecordInfo, RecordKind, RuleEntry, RuleRef,
    Sym, TupleLoc, scan,
};
use crate::sessions::{Direction, Filter};
use rustc_hash::FxHashMap;
use std::net::{IpAddr, Ipv4Addr};

/// The records of one chunk, with their own string tables.
#[derive(Default)]
pub(super) struct Partial {
    /// Strings and rule entries the records and tuples refer to.
    pub tables: Tables,
    /// Records used, in input order.
    pub records: Vec<RecordInfo>,
    /// Tuples kept, in input order.
    pub tuples: Vec<FlowTuple>,
    /// Issues, in input order.
    pub issues: Vec<Issue>,
    /// The chunk's share of the file's counts (records skipped, tuples
    /// read, skipped, duplicate and filtered, the time range).
    pub counts: FlowLogStats,
    /// Tuple strings per span of the chunk (for duplicate-record counts).
    pub span_tuples: Vec<u64>,
    /// The pre-filter, and whether it is active.
    filter: FastFilter,
    full_filter: Option<Filter>,
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
    /// The AIB-relevant scan's pre-filter.
    aib: Option<super::AibKeep>,
    /// NIC ends of the tuples read, in runs (see `FlowLogBatch::locals`).
    pub locals: Vec<(IpAddr, RuleRef, u64)>,
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
    pub fn parse(
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
            dedupe: opts.dedupe,
            aib: opts.aib.clone(),
            filter: FastFilter::of(full_filter.as_ref()),
            full_filter,
            ..Partial::default()
        };
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
            let before = p.counts.tuples_read;
            p.record(bytes, *span);
            p.span_tuples.push(p.counts.tuples_read - before);
        }
        p
    }

    /// Read a record for its tuples' fingerprints only, then forget all
    /// else about it (its counts and issues belong to the previous chunk).
    fn warm_up(&mut self, bytes: &[u8], span: scan::Span) {
        let (issues, records, counts) = (self.issues.len(), self.records.len(), self.counts);
        let locals = self.locals.len();
        self.warming = true;
        self.record(bytes, span);
        self.warming = false;
        self.issues.truncate(issues);
        self.records.truncate(records);
        self.locals.truncate(locals);
        self.counts = counts;
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
            self.counts.tuples_duplicate += 1;
            return;
        }
        if let Some(ix) = seen(&self.window_prev) {
            self.counts.tuples_duplicate += 1;
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

    fn issue(&mut self, offset: u64, record: u32, kind: IssueKind) {
        self.issues.push(Issue {
            offset,
            record: Some(record),
            kind,
        });
    }

    fn skip_record(&mut self, offset: u64, record: u32, kind: IssueKind) {
        self.counts.records_skipped += 1;
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
            // Counted as read and skipped, whatever their family.
            let n = raw.groups().map(|g| g.tuples.len()).sum::<usize>() as u64;
            self.counts.tuples_read += n;
            self.counts.tuples_skipped += n;
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
        let mac = self.tables.intern_opt(raw.mac_address.as_ref());
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
        let (kind, layout, resource, flow_log) = match family {
            Family::Nsg(layout, kind) => {
                let resource = self.tables.intern_opt(raw.resource_id.as_ref());
                (kind, layout, resource, Sym(0))
            }
            Family::Vnet(version) => {
                let resource = self.tables.intern_opt(raw.target_resource_id.as_ref());
                let flow_log = self.tables.intern_opt(raw.flow_log_resource_id.as_ref());
                (
                    RecordKind::Vnet { version },
                    TupleLayout::Vnet,
                    resource,
                    flow_log,
                )
            }
        };
        let ctx = TupleCtx {
            bytes,
            record_offset: offset,
            index: span.index,
            record_no,
            keep,
            layout,
        };
        // The family decided above has the record's only tuple lists.
        for g in raw.groups() {
            // NSG: the NSG (the record's resource) and the group's MAC;
            // VNet: the group's ACL and the record's MAC.
            let entry = if g.vnet {
                RuleEntry {
                    acl: self.tables.intern_opt(g.acl),
                    rule: self.tables.intern_opt(g.rule),
                    mac,
                }
            } else {
                RuleEntry {
                    rule: self.tables.intern_opt(g.rule),
                    acl: resource,
                    mac: self.tables.intern_opt(g.mac),
                }
            };
            let rule = self.tables.rule_ref(entry);
            self.tuples(&ctx, &g, rule);
        }
        if keep {
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

    /// Note a tuple's NIC end (the destination of an inbound tuple, the
    /// source of an outbound one), extending the current run.
    #[inline(always)]
    fn saw_local(&mut self, direction: Direction, src: IpAddr, dst: IpAddr, rule: RuleRef) {
        let local = match direction {
            Direction::Inbound => dst,
            Direction::Outbound => src,
        };
        match self.locals.last_mut() {
            Some((a, r, n)) if *a == local && *r == rule => *n += 1,
            _ => self.locals.push((local, rule, 1)),
        }
    }

    fn tuples(&mut self, ctx: &TupleCtx<'_>, g: &TupleGroup<'_, '_>, rule: RuleRef) {
        // Copied into locals: read through `ctx` in the loop, they cost the
        // fast path register spills (about 1% of a VNet run's instructions).
        let (layout, keep, record_no) = (ctx.layout, ctx.keep, ctx.record_no);
        self.counts.tuples_read += g.tuples.len() as u64;
        self.tuples.reserve(g.tuples.len());
        for (k, s) in g.tuples.iter().enumerate() {
            if let Some(f) = tuple::fast_fields(&s.0, layout) {
                if !keep {
                    self.counts.tuples_skipped += 1;
                    continue;
                }
                self.counts.saw_time(f.ts_ms);
                let (src, dst) = (
                    IpAddr::V4(Ipv4Addr::from(f.src)),
                    IpAddr::V4(Ipv4Addr::from(f.dst)),
                );
                self.saw_local(f.direction, src, dst, rule);
                if !self.filter.accepts(&f)
                    || self
                        .aib
                        .as_ref()
                        .is_some_and(|k| !k.keeps(f.proto.0, src, dst, f.dport))
                {
                    self.counts.tuples_filtered += 1;
                } else {
                    let fp = fingerprint_fields(&f, rule);
                    self.push_unique(fp, || f.tuple(rule, record_no));
                }
                continue;
            }
            let parsed = parse_tuple_bytes(&s.0, layout);
            if let Ok(t) = &parsed
                && keep
            {
                self.counts.saw_time(t.ts_ms);
                self.saw_local(t.direction, t.src, t.dst, rule);
            }
            match parsed {
                Ok(t)
                    if keep
                        && (self
                            .full_filter
                            .as_ref()
                            .is_some_and(|f| !f.admits_ends(t.src, t.sport, t.dst, t.dport))
                            || self
                                .aib
                                .as_ref()
                                .is_some_and(|k| !k.keeps(t.proto.0, t.src, t.dst, t.dport))) =>
                {
                    self.counts.tuples_filtered += 1;
                }
                Ok(mut t) if keep => {
                    t.rule = rule;
                    t.record = record_no;
                    self.push_unique(fingerprint(&t), || t);
                }
                Ok(_) => self.counts.tuples_skipped += 1,
                Err(error) => {
                    self.counts.tuples_skipped += 1;
                    let loc = TupleLoc {
                        vnet: g.vnet,
                        flow: u32::try_from(g.flow).unwrap_or(u32::MAX),
                        group: u32::try_from(g.group).unwrap_or(u32::MAX),
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

/// What the tuples of one record share.
struct TupleCtx<'b> {
    /// The whole input (to locate a bad tuple in it).
    bytes: &'b [u8],
    record_offset: u64,
    /// The record's index in the input.
    index: u32,
    /// Its index in the chunk's records.
    record_no: u32,
    /// Whether its tuples are kept (else they are read and counted only).
    keep: bool,
    layout: TupleLayout,
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

//! What a parsed file is: [`FlowLogFile`] of [`FlowLogBatch`]es, each with
//! its string tables ([`Sym`]), rule entries and the [`RecordInfo`]s its
//! tuples index.

use super::{FlowLogIssue, FlowLogStats, FlowTuple, IssueKind, RuleRef};
use serde::Serialize;
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
    /// The NIC end of every tuple read from a used record, kept or not by
    /// the pre-filters (the destination of inbound tuples, the source of
    /// outbound ones), with the rule entry that names its MAC, in runs:
    /// (address, rule entry, tuples). Which NIC a blob belongs to and which
    /// hosts it logs come from here ([`crate::flowlog::nic_of_tuples`]).
    pub locals: Vec<(std::net::IpAddr, RuleRef, u64)>,
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
    /// Problems met, in input order (at most [`MAX_ISSUES`](super::MAX_ISSUES)).
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

//! What can be wrong with a flow-log file: per-record and per-tuple
//! [`FlowLogIssue`]s (data: the file is still used) and the fatal
//! [`FlowLogError`] (nothing in the file could be used).

use super::tuple::TupleError;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// Which tuple of a record an issue is about, in the record's own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TupleLoc {
    /// `true` for VNet (`flowRecords.flows[i].flowGroups[j]`), `false` for
    /// NSG (`properties.flows[i].flows[j]`).
    pub vnet: bool,
    /// Index into the outer `flows`.
    pub flow: u32,
    /// Index into `flowGroups` (VNet) or the inner `flows` (NSG).
    pub group: u32,
    /// Index into `flowTuples`.
    pub tuple: u32,
}

impl fmt::Display for TupleLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.vnet {
            write!(
                f,
                "flowRecords.flows[{}].flowGroups[{}].flowTuples[{}]",
                self.flow, self.group, self.tuple
            )
        } else {
            write!(
                f,
                "properties.flows[{}].flows[{}].flowTuples[{}]",
                self.flow, self.group, self.tuple
            )
        }
    }
}

/// What an issue made aibnet drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dropped {
    /// Nothing: a note.
    Nothing,
    /// One tuple.
    Tuple,
    /// One record (all its tuples).
    Record,
    /// Everything from this offset on.
    Rest,
}

/// An issue before the path is attached.
#[derive(Debug)]
pub(crate) struct Issue {
    /// Byte offset in the input.
    pub offset: u64,
    /// Index of the record, if it is about one.
    pub record: Option<u32>,
    /// What is wrong.
    pub kind: IssueKind,
}

/// What is wrong, in words a support engineer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueKind {
    /// An element of `records` that is not an object.
    #[error("element is not a JSON object; skipped")]
    NotAnObject,
    /// The input stops inside a record.
    #[error(
        "input ends inside this record (input is {len} bytes): truncated, e.g. downloaded while \
         still being appended; the {kept} complete record(s) before it are used"
    )]
    Truncated {
        /// Complete records before the cut.
        kept: u32,
        /// Input length.
        len: u64,
    },
    /// All records are complete but the closing `]}` is missing.
    #[error("input ends after the last record without the closing brackets; no record lost")]
    Unclosed,
    /// A byte the scanner cannot place; the rest of the input is not read.
    #[error("expected {expected}; the rest of the input is not read")]
    Unexpected {
        /// What was expected there.
        expected: &'static str,
    },
    /// The record is not valid JSON (or a field has the wrong JSON type).
    #[error("invalid record JSON: {0}; record skipped")]
    Json(String),
    /// `records[i]` is itself a `{"records":[…]}` blob.
    #[error(
        "element is itself a {{\"records\":[…]}} blob ({nested} nested records, a copy-paste error \
         as in Microsoft's NSG version 1 sample): record skipped, its contents not decoded"
    )]
    NestedRecords {
        /// Number of nested records.
        nested: usize,
    },
    /// Neither `properties.flows` (NSG) nor `flowRecords.flows` (VNet).
    #[error("neither NSG `properties` nor VNet `flowRecords`: not a flow-log record; skipped")]
    NoFlows,
    /// A category this version does not know.
    #[error(
        "unknown category `{0}` (expected NetworkSecurityGroupFlowEvent or FlowLogFlowEvent); record skipped"
    )]
    UnknownCategory(String),
    /// `category` and the record's shape disagree.
    #[error("category `{category}` but the record has {shape}; record skipped")]
    CategoryMismatch {
        /// The category given.
        category: String,
        /// What the record holds instead.
        shape: &'static str,
    },
    /// A VNet record laid out like an NSG one (an error in Microsoft's VNet tutorial).
    #[error(
        "FlowLogFlowEvent record with the NSG key `resourceId` and no `targetResourceID` or \
         `flowLogResourceID` (the record layout of an error in Microsoft's VNet flow-log tutorial): \
         record skipped"
    )]
    VnetWithResourceId,
    /// NSG `properties.Version` other than 1 or 2.
    #[error("NSG flow-log version {0} is not supported (1 and 2 are); record skipped")]
    UnsupportedNsgVersion(u64),
    /// VNet `flowLogVersion` other than 4: decoded with the version 4 layout.
    #[error("VNet flowLogVersion {0} (4 expected); tuples read with the version 4 layout")]
    UnknownVnetVersion(u64),
    /// `time` missing or not RFC 3339.
    #[error("record time `{0}` is not an RFC 3339 UTC time; record used without it")]
    BadTime(String),
    /// A tuple that could not be decoded.
    #[error("{loc} `{text}`: {error}; tuple skipped")]
    Tuple {
        /// Where in the record.
        loc: TupleLoc,
        /// The tuple text (cut at 160 characters).
        text: String,
        /// What is wrong.
        error: TupleError,
    },
}

impl IssueKind {
    /// What the issue made aibnet drop.
    pub fn dropped(&self) -> Dropped {
        match self {
            IssueKind::Unclosed | IssueKind::UnknownVnetVersion(_) | IssueKind::BadTime(_) => {
                Dropped::Nothing
            }
            IssueKind::Tuple { .. } => Dropped::Tuple,
            IssueKind::Truncated { .. } | IssueKind::Unexpected { .. } => Dropped::Rest,
            IssueKind::NotAnObject
            | IssueKind::Json(_)
            | IssueKind::NestedRecords { .. }
            | IssueKind::NoFlows
            | IssueKind::UnknownCategory(_)
            | IssueKind::CategoryMismatch { .. }
            | IssueKind::VnetWithResourceId
            | IssueKind::UnsupportedNsgVersion(_) => Dropped::Record,
        }
    }
}

/// Something wrong in a flow-log file that did not stop the rest of it
/// from being used: which file, where, which record, what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: byte {offset}: {}{kind}", record.map(|r| format!("record {r}: ")).unwrap_or_default())]
pub struct FlowLogIssue {
    /// The file (as named by the caller).
    pub path: Arc<str>,
    /// Byte offset in the (decompressed) input.
    pub offset: u64,
    /// Index of the element of `records` (or of the bare record), if one.
    pub record: Option<u32>,
    /// What is wrong.
    pub kind: IssueKind,
}

/// Nothing in the input could be read as a flow log.
#[derive(Debug, thiserror::Error)]
pub enum FlowLogError {
    /// Neither a JSON object nor an array.
    #[error("{path}: byte {offset}: not a flow log: expected a JSON object `{{` or array `[`")]
    NotJson {
        /// The file.
        path: Arc<str>,
        /// Where the first non-space byte is.
        offset: u64,
    },
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: Arc<str>,
        /// The I/O error.
        source: std::io::Error,
    },
}

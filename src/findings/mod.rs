//! Findings: one diagnosis each, with the hop it concerns, the evidence, the
//! likely cause and the fix, and the rules that make them from hop reports.
//!
//! The vocabulary a finding is written in (hops, statuses, severities, ids)
//! is [`crate::aib`]'s, shared with `check` and `explain`.

pub mod rules;

use crate::aib::{FindingId, Hop, Severity};
use serde::{Deserialize, Serialize};

/// One diagnosis: what is wrong, where, the evidence, why, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id.
    pub id: FindingId,
    /// How bad it is.
    pub severity: Severity,
    /// The hop it concerns.
    pub hop: Hop,
    /// One line saying what is wrong.
    pub title: String,
    /// The evidence, one fact a line: counts, first/last time, addresses and
    /// ports, example sessions with the file that saw them, NSG rules.
    pub evidence: Vec<String>,
    /// The likely cause.
    pub cause: String,
    /// The fix, in words and with the `az` command where one exists.
    pub fix: String,
}

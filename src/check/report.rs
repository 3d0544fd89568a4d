//! The result of `check`: flows, hops, findings, inputs; and its renderings.

use super::InputRecord;
use super::eval::StepVerdict;
use super::flows::FlowRow;
use crate::aib::TopologyKind;
use crate::aib::{Hop, HopStatus, Severity};
use crate::findings::Finding;
use crate::ingest::Skipped;
use serde::Serialize;

/// The JSON schema version (shared with `diagnose`).
pub const SCHEMA_VERSION: u32 = 1;

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckVerdict {
    /// Every required flow is allowed and no configuration error was found.
    Ok,
    /// A required flow is denied or a configuration finding is an error.
    Blocked,
    /// Nothing is known to be broken, but some required flows could not be decided.
    Unknown,
}

/// One hop (and port) of the path, summarised over its flow rows.
#[derive(Debug, Clone, Serialize)]
pub struct HopRow {
    /// The hop.
    pub hop: Hop,
    /// The destination port.
    pub port: u16,
    /// `ok` (allowed), `blocked` (denied), `not_observed` (undecided).
    pub status: HopStatus,
    /// allow / deny / unknown over every step of its flows.
    pub verdict: StepVerdict,
    /// The NSG (or route table) of the first denying or undecided step.
    pub nsg: Option<String>,
    /// Its rule.
    pub rule: Option<String>,
    /// Its priority.
    pub priority: Option<u32>,
    /// Whether the hop's flows are required.
    pub required: bool,
}

/// Everything `check` found. Serialises to the documented JSON.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The overall verdict.
    pub verdict: CheckVerdict,
    /// The topology evaluated.
    pub topology: TopologyKind,
    /// The OS evaluated (`null`: both).
    pub os: Option<crate::aib::Os>,
    /// One row per required flow and step (NSG, route table, outbound path) on its way.
    pub flows: Vec<FlowRow>,
    /// Findings, errors first.
    pub findings: Vec<Finding>,
    /// One row per hop and port.
    pub hops: Vec<HopRow>,
    /// What was read.
    pub inputs: Vec<InputRecord>,
    /// What could not be read, and why. Serialised as `{path, reason}`:
    /// configuration files are read whole, so there is no offset to give.
    #[serde(serialize_with = "skipped_json")]
    pub skipped: Vec<Skipped>,
    /// Assumptions and gaps.
    pub notes: Vec<String>,
}

/// The JSON shape of a skipped configuration input (the check contract
/// predates the crate's [`Skipped`] and has no `offset`).
#[derive(Serialize)]
struct SkippedJson<'a> {
    path: &'a str,
    reason: &'a str,
}

fn skipped_json<S: serde::Serializer>(skipped: &[Skipped], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(skipped.iter().map(|k| SkippedJson {
        path: &k.path,
        reason: &k.reason,
    }))
}

impl CheckReport {
    /// Summarise the rows into hops.
    pub(crate) fn hops_of(rows: &[FlowRow]) -> Vec<HopRow> {
        let mut hops: Vec<HopRow> = Vec::new();
        for r in rows {
            let existing = hops.iter().position(|h| h.hop == r.hop && h.port == r.port);
            let at = match existing {
                Some(at) => at,
                None => {
                    hops.push(HopRow {
                        hop: r.hop,
                        port: r.port,
                        status: HopStatus::Ok,
                        verdict: StepVerdict::Allow,
                        nsg: None,
                        rule: None,
                        priority: None,
                        required: r.required,
                    });
                    hops.len() - 1
                }
            };
            let Some(h) = hops.get_mut(at) else {
                continue;
            };
            h.required |= r.required;
            let before = h.verdict;
            h.verdict = h.verdict.then(r.verdict);
            if h.verdict != before || (r.verdict == StepVerdict::Deny && h.rule.is_none()) {
                h.nsg = r.nsg.clone();
                h.rule = r.rule.clone();
                h.priority = r.priority;
            }
            h.status = match h.verdict {
                StepVerdict::Allow => HopStatus::Ok,
                StepVerdict::Deny => HopStatus::Blocked,
                StepVerdict::Unknown => HopStatus::NotObserved,
            };
        }
        hops
    }

    /// The step that denies `hop` (optionally on `port`), if the configuration
    /// blocks it: the NSG, rule and priority that explain a hop `diagnose` saw
    /// blocked in traffic.
    pub fn blocking_rule(&self, hop: Hop, port: Option<u16>) -> Option<&FlowRow> {
        self.flows.iter().find(|r| {
            r.hop == hop && port.is_none_or(|p| p == r.port) && r.verdict == StepVerdict::Deny
        })
    }

    /// The finding that explains a blocked `hop` (the rule and its fix), if any.
    pub fn finding_for(&self, hop: Hop) -> Option<&Finding> {
        self.findings
            .iter()
            .find(|f| f.hop == hop && f.severity == Severity::Error)
    }

    /// The process exit code: 1 when a required flow is denied or a finding is
    /// an error.
    pub fn is_blocked(&self) -> bool {
        self.verdict == CheckVerdict::Blocked
    }
}

//! The `diagnose` driver: sessions → topology → hops → findings → verdict.

use crate::analyze::Analysis;
use crate::findings::rules::{FixNames, findings};
use crate::findings::{Finding, HopStatus, Severity};
use crate::hops::{HopReport, hops};
use crate::topology::{Hints, Topology, infer};
use serde::Serialize;

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every observed hop works.
    Healthy,
    /// At least one warning or error.
    Broken,
    /// Not enough evidence to tell.
    Inconclusive,
}

impl Verdict {
    /// Name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Broken => "broken",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// A diagnosed build.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    /// The answer.
    pub verdict: Verdict,
    /// Roles and topology.
    pub topology: Topology,
    /// Every hop with its status.
    pub hops: Vec<HopReport>,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    /// The most severe finding's severity.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// The first broken hop along the path, if any.
    pub fn first_broken_hop(&self) -> Option<&HopReport> {
        self.hops.iter().find(|h| h.status.is_failure())
    }
}

/// Diagnose the sessions of an analysis.
pub fn diagnose(a: &Analysis, hints: &Hints, names: FixNames) -> Diagnosis {
    let topology = infer(&a.sessions, &a.inputs, hints);
    let paths: Vec<String> = a.inputs.iter().map(|i| i.path.clone()).collect();
    let hops = hops(&a.sessions, &topology, &paths);
    let findings = findings(&a.sessions, &paths, &topology, &hops, names);
    let verdict = if findings.iter().any(|f| f.severity >= Severity::Warning) {
        Verdict::Broken
    } else if hops.iter().any(|h| h.status == HopStatus::Ok) {
        Verdict::Healthy
    } else {
        Verdict::Inconclusive
    };
    Diagnosis {
        verdict,
        topology,
        hops,
        findings,
    }
}

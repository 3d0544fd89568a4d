//! The `diagnose` driver: sessions → topology → hops → findings → verdict.

use crate::aib::{FindingId, HopStatus, Severity, Verdict};
use crate::analyze::Analysis;
use crate::findings::Finding;
use crate::findings::rules::{FixNames, findings};
use crate::hops::{HopReport, hops};
use crate::ingest::Format;
use crate::topology::{Hints, Topology, infer};

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

    /// The broken hop the diagnosis is about: the hop of the most severe
    /// finding (findings are sorted by severity, then path order), else the
    /// first failing hop along the path.
    pub fn first_broken_hop(&self) -> Option<&HopReport> {
        self.findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .find_map(|f| {
                self.hops
                    .iter()
                    .find(|h| h.hop == f.hop && h.status.is_failure())
            })
            .or_else(|| self.hops.iter().find(|h| h.status.is_failure()))
    }
}

/// The verdict from findings and hops: broken on any warning or error
/// (except "no AIB traffic", which proves nothing), healthy when a hop of the
/// command path was seen working, inconclusive otherwise.
fn verdict_of(findings: &[Finding], hops: &[HopReport]) -> Verdict {
    let problem = findings
        .iter()
        .any(|f| f.severity >= Severity::Warning && f.id != FindingId::NoAibTraffic);
    if problem {
        Verdict::Broken
    } else if hops
        .iter()
        .any(|h| h.status == HopStatus::Ok && h.hop.carries_commands())
    {
        // Healthy needs the command path seen working, not just the probe
        // or the build VM's egress.
        Verdict::Healthy
    } else {
        Verdict::Inconclusive
    }
}

/// Diagnose the sessions of an analysis.
pub fn diagnose(a: &Analysis, hints: &Hints, names: FixNames) -> Diagnosis {
    let topology = infer(&a.sessions, &a.inputs, hints);
    let paths: Vec<String> = a.inputs.iter().map(|i| i.path.clone()).collect();
    let hops = hops(&a.sessions, &topology, &paths);
    let mut findings = findings(&a.sessions, &paths, &topology, &hops, names);
    let traffic_inputs = a
        .inputs
        .iter()
        .filter(|i| matches!(i.format, Format::Pcap | Format::Pcapng | Format::FlowLog))
        .count();
    if traffic_inputs == 0 {
        // Configuration only: the absence of traffic says nothing.
        findings.retain(|f| f.id != FindingId::NoAibTraffic);
    }
    let verdict = verdict_of(&findings, &hops);
    Diagnosis {
        verdict,
        topology,
        hops,
        findings,
    }
}

/// Join configuration evidence (`check`) to a traffic diagnosis: a hop seen
/// failing in traffic is explained by the rule that blocks it (and gets that
/// rule's exact fix); a rule that would block a hop the traffic did not show
/// still gives a finding; configuration-only findings (subnet policies,
/// region, size) are added as they are.
pub fn join_config(d: &mut Diagnosis, report: &crate::check::CheckReport) {
    use crate::aib::Hop;
    let mut added = Vec::new();
    for f in d
        .findings
        .iter_mut()
        .filter(|f| f.severity >= Severity::Warning)
    {
        let port = d
            .hops
            .iter()
            .find(|h| h.hop == f.hop)
            .and_then(|h| h.port.first().copied());
        if let Some(row) = report
            .blocking_rule(f.hop, port)
            .or_else(|| report.blocking_rule(f.hop, None))
        {
            f.evidence.push(format!(
                "configuration: {} rule {} (priority {}) denies {} → {} {}/{}",
                row.nsg.as_deref().unwrap_or("?"),
                row.rule.as_deref().unwrap_or("?"),
                row.priority.map_or("?".to_string(), |p| p.to_string()),
                row.src,
                row.dst,
                row.proto.as_str(),
                row.port
            ));
            if let Some(cf) = report.finding_for(f.hop) {
                f.fix = cf.fix.clone();
            }
        }
    }
    for cf in &report.findings {
        if cf.severity < Severity::Warning {
            continue;
        }
        let traffic_has_it = d
            .findings
            .iter()
            .any(|f| f.hop == cf.hop && f.severity >= Severity::Warning);
        let hop_ok_in_traffic = d
            .hops
            .iter()
            .any(|h| h.hop == cf.hop && h.status == HopStatus::Ok);
        if traffic_has_it {
            continue;
        }
        let mut f = cf.clone();
        if hop_ok_in_traffic && cf.hop != Hop::Deployment {
            // The traffic shows the hop working: the rule may have changed
            // since, or apply to other addresses. Say so, softer.
            f.severity = Severity::Warning;
            f.evidence
                .push("but the traffic evidence shows this hop working".to_string());
        } else {
            f.evidence
                .push("from the configuration only: no traffic evidence of this hop".to_string());
        }
        added.push(f);
    }
    d.findings.extend(added);
    d.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.hop.cmp(&b.hop))
            .then(a.id.cmp(&b.id))
    });
    d.verdict = verdict_of(&d.findings, &d.hops);
    if d.verdict == Verdict::Broken {
        d.findings.retain(|f| f.id != FindingId::Healthy);
    }
}

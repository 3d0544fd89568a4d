//! The `diagnose` driver: sessions → topology → hops → findings → verdict,
//! with the configuration (`check`) joined when the evidence holds some.
//!
//! `diagnose`, `explain --evidence` and `builds` all diagnose through
//! [`diagnose`] with [`Options`]: configuration JSON among the inputs (or
//! named with `--config`) is found by [`configuration`], evaluated with the
//! roles the traffic shows, and joined by [`join_config`].

use crate::aib::{FindingId, HopStatus, Severity, Verdict};
use crate::analyze::Analysis;
use crate::check::Config;
use crate::findings::Finding;
use crate::findings::rules::{FixNames, findings};
use crate::hops::{HopReport, hops};
use crate::ingest::{Format, InputReport, Skipped};
use crate::topology::{Hints, Topology, infer};

#[cfg(test)]
mod tests;

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

/// What a diagnosis is told besides the sessions.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// What the user knows of the build (`--proxy`, `--os` ...).
    pub hints: Hints,
    /// Names for the `az` commands of fixes.
    pub names: FixNames,
    /// The configuration to join (see [`configuration`]), if any.
    pub config: Option<Config>,
}

/// Diagnose the sessions of an analysis, joining the configuration when
/// there is one: it is evaluated for the proxy, build VM and OS the traffic
/// shows.
pub fn diagnose(a: &Analysis, opts: &Options) -> Diagnosis {
    let mut d = diagnose_traffic(a, &opts.hints, opts.names.clone());
    if let Some(cfg) = opts.config.as_ref().filter(|c| !c.is_empty()) {
        let mut cfg = cfg.clone();
        cfg.options = crate::check::Options {
            proxy_ip: first_v4(&d.topology.roles.proxy),
            build_vm_ip: first_v4(&d.topology.roles.build_vm),
            os: d.topology.os,
        };
        join_config(&mut d, &crate::check::evaluate(&cfg));
    }
    d
}

fn first_v4(v: &[std::net::IpAddr]) -> Option<std::net::Ipv4Addr> {
    v.iter().find_map(|ip| match ip {
        std::net::IpAddr::V4(a) => Some(*a),
        std::net::IpAddr::V6(_) => None,
    })
}

/// The configuration of a run: the JSON inputs of a run that are
/// configuration (image template, NSGs, subnet, VNET, route table) and the
/// files named in `extra` (`--config`). JSON inputs that are configuration
/// are no longer reported as skipped; configuration files that cannot be
/// read are. `None` when there is no configuration at all.
pub fn configuration(
    inputs: &mut [InputReport],
    skipped: &mut Vec<Skipped>,
    extra: &[std::path::PathBuf],
) -> Option<Config> {
    let json_inputs: Vec<String> = inputs
        .iter()
        .filter(|i| i.format == Format::Json)
        .map(|i| i.path.clone())
        .collect();
    let mut paths = extra.to_vec();
    paths.extend(json_inputs.iter().map(std::path::PathBuf::from));
    if paths.is_empty() {
        return None;
    }
    let cfg = Config::load_paths(&paths);
    let failed = |path: &str| cfg.skipped.iter().any(|k| k.path == path);
    // Named with --config and unreadable: say so with the other skips.
    for sk in cfg
        .skipped
        .iter()
        .filter(|k| !json_inputs.contains(&k.path))
    {
        skipped.push(Skipped {
            path: sk.path.clone(),
            offset: None,
            reason: format!("configuration: {}", sk.reason),
        });
    }
    if cfg.is_empty() {
        return None;
    }
    // JSON inputs that were configuration are not "skipped" any more.
    skipped.retain(|s| !json_inputs.contains(&s.path) || failed(&s.path));
    for i in inputs
        .iter_mut()
        .filter(|i| json_inputs.contains(&i.path) && !failed(&i.path))
    {
        i.error = None;
    }
    Some(cfg)
}

/// Diagnose the traffic of an analysis alone.
fn diagnose_traffic(a: &Analysis, hints: &Hints, names: FixNames) -> Diagnosis {
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

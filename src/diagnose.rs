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
use crate::findings::rules::{FixNames, findings_of_read};
use crate::hops::{HopReport, hops};
use crate::ingest::{Format, InputReport, Skipped};
use crate::sessions::{SeenBy, Session};
use crate::topology::{Hints, Topology, infer};
use rayon::prelude::*;

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
    /// When the evidence holds several builds: the diagnosis of each, most
    /// severe first (this diagnosis is of the first). Empty otherwise.
    pub builds: Vec<Diagnosis>,
    /// First and last time (ns since the epoch) of the sessions diagnosed.
    pub span: Option<(i64, i64)>,
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
    let problem = findings.iter().any(|f| {
        f.severity >= Severity::Warning
            && !matches!(
                f.id,
                FindingId::NoAibTraffic | FindingId::CaptureLostPackets
            )
    });
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
    // The scan's sweepers are never proxies: roles learn them as hints (the
    // scan left their SSH/WinRM sessions out, so roles cannot count them).
    let with_sweepers;
    let opts = if a.sweepers.is_empty() && a.noise.is_empty() {
        opts
    } else {
        let mut o = opts.clone();
        o.hints
            .sweepers
            .extend(a.sweepers.iter().chain(&a.noise).copied());
        with_sweepers = o;
        &with_sweepers
    };
    let d = diagnose_one(a, opts);
    // The user chose the build: diagnose that one.
    if !opts.hints.proxy.is_empty() || !opts.hints.build_vm.is_empty() {
        return d;
    }
    let groups = build_groups(&a.sessions, &d.topology, opts);
    if groups.len() < 2 {
        return d;
    }
    // Several builds: each diagnosed on its own sessions, never one merged
    // verdict.
    // Each session goes to the builds of its ends, in one pass.
    let mut group_of: rustc_hash::FxHashMap<std::net::IpAddr, usize> =
        rustc_hash::FxHashMap::default();
    for (g, addrs) in groups.iter().enumerate() {
        for a in addrs {
            group_of.insert(*a, g);
        }
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    for (i, s) in a.sessions.iter().enumerate() {
        let go = group_of.get(&s.orig_h).copied();
        let gr = group_of.get(&s.resp_h).copied();
        for g in [go, gr.filter(|g| Some(*g) != go)].into_iter().flatten() {
            if let Some(m) = members.get_mut(g) {
                m.push(i);
            }
        }
    }
    let mut each: Vec<Diagnosis> = members
        .par_iter()
        .map(|idx| diagnose_one(&subset(&a.sessions, &a.inputs, idx), opts))
        .collect();
    each.sort_by(|x, y| {
        let rank = |d: &Diagnosis| (std::cmp::Reverse(d.worst()), d.verdict != Verdict::Broken);
        rank(x)
            .cmp(&rank(y))
            .then_with(|| x.topology.roles.proxy.cmp(&y.topology.roles.proxy))
            .then_with(|| x.topology.roles.build_vm.cmp(&y.topology.roles.build_vm))
    });
    let Some(first) = each.first() else {
        return d;
    };
    let mut top = first.clone();
    top.findings.push(several_builds(&each));
    top.builds = each;
    top
}

/// The builds in the evidence: groups of addresses (proxy or ACI and the
/// build VMs it opens 22/5986 to), one per build. Two proxies are two
/// builds (AIB gives every build its own).
fn build_groups(
    sessions: &[Session],
    t: &Topology,
    opts: &Options,
) -> Vec<std::collections::BTreeSet<std::net::IpAddr>> {
    use crate::aib::FlowClass;
    use std::collections::{BTreeMap, BTreeSet};
    let roles = &t.roles;
    let probe = opts.hints.probe_ip.unwrap_or(crate::aib::AZURE_HOST_IP);
    let clients: BTreeSet<std::net::IpAddr> =
        roles.proxy.iter().chain(&roles.aci).copied().collect();
    let vms: BTreeSet<std::net::IpAddr> = roles.build_vm.iter().copied().collect();
    // Union-find over the role addresses, by BuildAnchor sessions. An
    // address in both roles is one node (noise can make a host both open
    // and receive SSH): twice, its client half stayed a group of its own,
    // a "build" with no session.
    let nodes: Vec<std::net::IpAddr> = clients.union(&vms).copied().collect();
    let at: BTreeMap<std::net::IpAddr, usize> =
        nodes.iter().enumerate().map(|(i, a)| (*a, i)).collect();
    let mut uf = crate::topology::runs::UnionFind::new(nodes.len());
    for s in sessions
        .iter()
        .filter(|s| s.aib_class(probe) == Some(FlowClass::BuildAnchor))
    {
        if !clients.contains(&s.orig_h) || !vms.contains(&s.resp_h) {
            continue;
        }
        if let (Some(&a), Some(&b)) = (at.get(&s.orig_h), at.get(&s.resp_h)) {
            uf.union(a, b);
        }
    }
    let mut groups: BTreeMap<usize, BTreeSet<std::net::IpAddr>> = BTreeMap::new();
    for (i, a) in nodes.iter().enumerate() {
        groups.entry(uf.find(i)).or_default().insert(*a);
    }
    // A group is a build when it has its proxy or ACI (a build VM given by
    // --build-vm with no client in the evidence is not a build of its own).
    groups
        .into_values()
        .filter(|g| g.iter().any(|a| clients.contains(a)))
        .collect()
}

/// The note that the evidence holds several builds.
fn several_builds(each: &[Diagnosis]) -> Finding {
    use crate::aib::Hop;
    let name = |d: &Diagnosis| {
        let r = &d.topology.roles;
        let list = |v: &[std::net::IpAddr]| {
            if v.is_empty() {
                "?".to_string()
            } else {
                v.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let client = if r.proxy.is_empty() {
            format!("ACI {}", list(&r.aci))
        } else {
            format!("proxy {}", list(&r.proxy))
        };
        let broken = d
            .first_broken_hop()
            .map(|h| format!(" at {}", h.hop.as_str()))
            .unwrap_or_default();
        format!(
            "{client} → build VM {}: {}{broken}",
            list(&r.build_vm),
            d.verdict.as_str()
        )
    };
    Finding {
        id: FindingId::SeveralBuilds,
        severity: Severity::Info,
        hop: Hop::Deployment,
        title: format!(
            "{} AIB builds in the evidence, each diagnosed on its own; this report is of the first",
            each.len()
        ),
        evidence: {
            // The most severe first; a long list ends with a count (the
            // JSON's `builds` has them all).
            const SHOWN: usize = 20;
            let mut lines: Vec<String> = each.iter().take(SHOWN).map(name).collect();
            if each.len() > SHOWN {
                lines.push(format!("and {} more", each.len() - SHOWN));
            }
            lines
        },
        cause: "Several image builds ran at once (pipelines build in parallel), each with its own proxy (or ACI) and build VM.".to_string(),
        fix: "Each build is diagnosed in `builds` of the JSON; pass --proxy or --build-vm to report on another one.".to_string(),
    }
}

/// The sessions at `idx` (indices into `all`) as an analysis of their own,
/// with the inputs that saw them (`seen_by` renumbered).
pub fn subset(all: &[Session], inputs: &[InputReport], idx: &[usize]) -> Analysis {
    let mut used: Vec<u32> = idx
        .iter()
        .filter_map(|&i| all.get(i))
        .flat_map(|s| s.seen_by.iter())
        .collect();
    used.sort_unstable();
    used.dedup();
    let sub_inputs: Vec<InputReport> = used
        .iter()
        .filter_map(|&i| inputs.get(i as usize).cloned())
        .collect();
    let sessions: Vec<Session> = idx
        .iter()
        .filter_map(|&i| all.get(i))
        .map(|s| {
            let mut s = s.clone();
            let mut seen = SeenBy::default();
            for i in s.seen_by.iter() {
                if let Ok(k) = used.binary_search(&i) {
                    seen.insert(k as u32);
                }
            }
            s.seen_by = seen;
            s
        })
        .collect();
    Analysis {
        inputs: sub_inputs,
        sessions,
        skipped: Vec::new(),
        sweepers: Vec::new(),
        noise: Vec::new(),
    }
}

/// Diagnose one build: the traffic, then the configuration joined.
fn diagnose_one(a: &Analysis, opts: &Options) -> Diagnosis {
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
    let mut topology = infer(&a.sessions, &a.inputs, hints);
    // The hosts a scan left out: why they are no proxies.
    topology
        .evidence
        .extend(crate::topology::roles::noise_line(&mut a.noise.clone()));
    topology
        .evidence
        .extend(crate::topology::roles::sweepers_line(
            &mut a.sweepers.clone(),
        ));
    let paths: Vec<String> = a.inputs.iter().map(|i| i.path.clone()).collect();
    let hops = hops(&a.sessions, &topology, &paths);
    // What was read, in packets and flow tuples: a scan keeps only the
    // AIB-relevant sessions, so their number says nothing of the evidence.
    let mut findings = findings_of_read(&a.sessions, a.packets(), &paths, &topology, &hops, names);
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
        builds: Vec::new(),
        span: a
            .sessions
            .iter()
            .map(|s| (s.first_ts, s.last_ts))
            .reduce(|(a, b), (c, d)| (a.min(c), b.max(d))),
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

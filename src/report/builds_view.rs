//! The words of a `builds` report that every human format shares (table,
//! Markdown, HTML): a run's row and the summary lines. Apart from
//! `report::builds`, which dispatches the formats, so that the HTML writer
//! can use them without importing its dispatcher.

use crate::aib::{TopologyKind, kind_name, os_name};
use crate::builds::{Builds, Run};
use crate::time::rfc3339;
use std::net::IpAddr;

/// The cells of one run's row: start, end, OS, topology, proxy, build VM,
/// verdict, first broken hop, finding.
pub fn row(r: &Run) -> [String; 9] {
    let d = &r.diagnosis;
    let start = rfc3339(r.start, 0);
    let end = rfc3339(r.end, 0);
    // The end's date only when it differs from the start's.
    let end = match (start.get(..10), end.get(..10), end.get(11..)) {
        (Some(a), Some(b), Some(time)) if a == b => time.to_string(),
        _ => end,
    };
    let addr = |a: Option<IpAddr>| a.map_or_else(|| "-".to_string(), |a| a.to_string());
    let client = if d.topology.kind == Some(TopologyKind::Isolated) {
        d.topology
            .roles
            .aci
            .first()
            .map_or_else(|| "-".to_string(), |a| format!("ACI {a}"))
    } else {
        addr(r.proxy())
    };
    let hop = d
        .first_broken_hop()
        .map_or_else(|| "-".to_string(), |h| format!("{} ({})", h.hop, h.status));
    // Every failing finding (most severe first), else the first one.
    let mut ids: Vec<&str> = Vec::new();
    for id in r.failing_ids() {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let finding = if ids.is_empty() {
        d.findings
            .first()
            .map_or("-", |f| f.id.as_str())
            .to_string()
    } else {
        ids.join(", ")
    };
    [
        start,
        end,
        os_name(d.topology.os).to_string(),
        kind_name(d.topology.kind).to_string(),
        client,
        addr(r.build_vm()),
        d.verdict.as_str().to_string(),
        hop,
        finding,
    ]
}

/// The column names of [`row`].
pub const HEADER: [&str; 9] = [
    "start",
    "end",
    "os",
    "topology",
    "proxy / ACI",
    "build VM",
    "verdict",
    "first broken hop",
    "finding",
];

/// The summary lines (shared by the table and Markdown).
pub fn summary_lines(b: &Builds) -> Vec<String> {
    let s = b.summary();
    let verdicts = s
        .by_verdict
        .iter()
        .map(|(v, n)| format!("{n} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut by_finding: Vec<(&String, &usize)> = s.by_finding.iter().collect();
    by_finding.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let failures = if by_finding.is_empty() {
        "none".to_string()
    } else {
        by_finding
            .iter()
            .map(|(id, n)| format!("{id} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let range = match (s.first_ts, s.last_ts) {
        (Some(a), Some(z)) => format!("{} to {}", rfc3339(a, 0), rfc3339(z, 0)),
        _ => "no timestamps read".to_string(),
    };
    let mut lines = vec![
        format!("Runs: {} ({verdicts})", s.runs),
        format!("Failures by finding: {failures}"),
        format!(
            "Time range covered: {range}, {} file(s){}",
            b.inputs.len(),
            if b.outside_window > 0 {
                format!(", {} outside --since/--until", b.outside_window)
            } else {
                String::new()
            }
        ),
    ];
    if b.since.is_some() || b.until.is_some() {
        lines.push(format!(
            "Window: {} to {}",
            b.since.map_or("-".to_string(), |t| rfc3339(t, 0)),
            b.until.map_or("-".to_string(), |t| rfc3339(t, 0))
        ));
    }
    lines
}

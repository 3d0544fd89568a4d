//! Rendering of `aibnet diagnose`: path diagram, hop and findings tables,
//! verdict; Markdown for tickets; the JSON contract.

use super::contract::InputJson;
use super::diagram::{diagram, diagram_fitted, status_color, verdict_line};
use super::escape::{md_block, md_code, md_text, terminal};
use super::fix::{FixPart, parts};
use super::wrap::wrap;
use super::{OutputFormat, Render, RenderError, SCHEMA_VERSION, Style, fitted_table, keep_whole};
use crate::aib::Severity;
use crate::aib::{FindingId, Verdict, kind_name, os_name};
use crate::analyze::Analysis;
use crate::diagnose::Diagnosis;
use crate::findings::Finding;
use crate::hops::HopReport;
use crate::ingest::{Format, Skipped};
use crate::topology::Roles;
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct TopologyJson<'a> {
    kind: &'static str,
    os: &'static str,
    roles: &'a Roles,
    evidence: &'a [String],
}

/// The `diagnose` JSON document (schema_version 1).
#[derive(Serialize)]
pub struct DiagnoseDoc<'a> {
    schema_version: u32,
    verdict: Verdict,
    topology: TopologyJson<'a>,
    hops: &'a [HopReport],
    findings: &'a [Finding],
    inputs: Vec<InputJson<'a>>,
    skipped: &'a [Skipped],
    /// Present when the evidence holds several builds: each diagnosed on
    /// its own (the document's top level is the first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    builds: Vec<BuildJson<'a>>,
}

/// One of several builds in the evidence, diagnosed on its own sessions.
#[derive(Serialize)]
pub struct BuildJson<'a> {
    start: Option<String>,
    end: Option<String>,
    proxy: Option<std::net::IpAddr>,
    build_vm: Option<std::net::IpAddr>,
    verdict: Verdict,
    first_broken_hop: Option<crate::aib::Hop>,
    topology: TopologyJson<'a>,
    hops: &'a [HopReport],
    findings: &'a [Finding],
}

impl<'a> BuildJson<'a> {
    fn of(d: &'a Diagnosis) -> Self {
        let t = |ns: i64| crate::time::rfc3339(ns, 3);
        BuildJson {
            start: d.span.map(|(a, _)| t(a)),
            end: d.span.map(|(_, b)| t(b)),
            proxy: d.topology.roles.proxy.first().copied(),
            build_vm: d.topology.roles.build_vm.first().copied(),
            verdict: d.verdict,
            first_broken_hop: d.first_broken_hop().map(|h| h.hop),
            topology: TopologyJson::of(d),
            hops: &d.hops,
            findings: &d.findings,
        }
    }
}

impl<'a> TopologyJson<'a> {
    fn of(d: &'a Diagnosis) -> Self {
        TopologyJson {
            kind: kind_name(d.topology.kind),
            os: os_name(d.topology.os),
            roles: &d.topology.roles,
            evidence: &d.topology.evidence,
        }
    }
}

impl<'a> DiagnoseDoc<'a> {
    /// Build the document.
    pub fn new(d: &'a Diagnosis, a: &'a Analysis) -> Self {
        DiagnoseDoc {
            schema_version: SCHEMA_VERSION,
            verdict: d.verdict,
            topology: TopologyJson::of(d),
            hops: &d.hops,
            findings: &d.findings,
            inputs: a.inputs.iter().map(InputJson::of).collect(),
            skipped: &a.skipped,
            builds: d.builds.iter().map(BuildJson::of).collect(),
        }
    }
}

/// A diagnosis and the run it was made from: what `aibnet diagnose` writes.
pub struct DiagnoseReport<'a> {
    /// The diagnosis.
    pub diagnosis: &'a Diagnosis,
    /// The inputs, sessions and skipped inputs behind it.
    pub analysis: &'a Analysis,
}

impl Render for DiagnoseReport<'_> {
    fn render(
        &self,
        format: OutputFormat,
        style: &Style,
        w: &mut dyn Write,
    ) -> Result<(), RenderError> {
        let (d, a) = (self.diagnosis, self.analysis);
        match format {
            OutputFormat::Json => write_json(w, d, a)?,
            OutputFormat::Ndjson => write_ndjson(w, d)?,
            OutputFormat::Table => write_table(w, d, a, style)?,
            OutputFormat::Markdown => write_markdown(w, d, a)?,
            OutputFormat::Junit => super::junit::write_diagnose(w, d, a)?,
            OutputFormat::Html => super::html::write_diagnose(w, d, a)?,
        }
        Ok(())
    }
}

/// The JSON document.
fn write_json(w: &mut dyn Write, d: &Diagnosis, a: &Analysis) -> std::io::Result<()> {
    super::json::write_document(w, &DiagnoseDoc::new(d, a))
}

/// One line per hop and per finding (NDJSON), tagged by `type`.
fn write_ndjson(w: &mut dyn Write, d: &Diagnosis) -> std::io::Result<()> {
    for h in &d.hops {
        super::json::write_tagged_line(w, "hop", h)?;
    }
    for f in &d.findings {
        super::json::write_tagged_line(w, "finding", f)?;
    }
    for b in &d.builds {
        super::json::write_tagged_line(w, "build", &BuildJson::of(b))?;
    }
    Ok(())
}

fn sev_paint(s: Severity, style: &Style) -> String {
    let code = match s {
        Severity::Error => "1;31",
        Severity::Warning => "33",
        Severity::Info => "36",
    };
    style.paint(s.as_str(), code)
}

/// The inputs that could observe a hop, counted for a table cell: `2
/// captures, 4 flow logs` (the full list is in the JSON and HTML).
fn observed_count(observed_by: &[String], a: &Analysis) -> String {
    if observed_by.is_empty() {
        return "-".to_string();
    }
    let is_flowlog = |p: &String| {
        a.inputs
            .iter()
            .find(|i| &i.path == p)
            .is_some_and(|i| i.format == Format::FlowLog)
    };
    let logs = observed_by.iter().filter(|p| is_flowlog(p)).count();
    let captures = observed_by.len() - logs;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match (captures, logs) {
        (c, 0) => plural(c, "capture", "captures"),
        (0, l) => plural(l, "flow log", "flow logs"),
        (c, l) => format!(
            "{}, {}",
            plural(c, "capture", "captures"),
            plural(l, "flow log", "flow logs")
        ),
    }
}

/// The terminal report, fitting [`Style::columns`]: the tables wrap their
/// cells, prose wraps at spaces with a hanging indent, and fix commands
/// stand whole on lines of their own (so that they paste).
fn write_table(
    w: &mut dyn Write,
    d: &Diagnosis,
    a: &Analysis,
    style: &Style,
) -> std::io::Result<()> {
    let width = usize::from(style.columns());
    writeln!(
        w,
        "AIB build path ({} topology, {})",
        kind_name(d.topology.kind),
        os_name(d.topology.os)
    )?;
    write!(w, "{}", diagram_fitted(d, style, width))?;
    writeln!(w)?;
    let mut t = fitted_table(style);
    // Answered out of tried says what failed; the inputs are counted.
    t.set_header(["hop", "port", "status", "ok/tries", "SYN rx", "seen by"]);
    for h in &d.hops {
        t.add_row([
            h.hop.label().to_string(),
            h.ports_text().replace(',', ", "),
            style.paint(h.status.as_str(), status_color(h.status)),
            format!("{}/{}", h.attempts - h.failed, h.attempts),
            h.syn_retransmits.to_string(),
            observed_count(&h.observed_by, a),
        ]);
    }
    keep_whole(&mut t, &[2, 3, 4]);
    writeln!(w, "{t}")?;
    if !d.findings.is_empty() {
        let mut ft = fitted_table(style);
        ft.set_header(["severity", "finding", "hop", "title"]);
        for f in &d.findings {
            ft.add_row([
                sev_paint(f.severity, style),
                f.id.to_string(),
                f.hop.label().to_string(),
                terminal(&f.title).into_owned(),
            ]);
        }
        keep_whole(&mut ft, &[0, 1]);
        writeln!(w, "\n{ft}")?;
        const INDENT: &str = "            ";
        for f in d
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning || f.id != FindingId::Healthy)
        {
            let head = format!(
                "{} [{}] {}",
                sev_paint(f.severity, style),
                f.id,
                terminal(&f.title)
            );
            writeln!(w, "\n{}", wrap(&head, width, "", "  "))?;
            for e in &f.evidence {
                writeln!(w, "{}", wrap(&terminal(e), width, "  evidence: ", INDENT))?;
            }
            writeln!(
                w,
                "{}",
                wrap(&terminal(&f.cause), width, "  cause:    ", INDENT)
            )?;
            let mut first = "  fix:      ";
            for part in parts(&f.fix) {
                match part {
                    FixPart::Text(t) => {
                        writeln!(w, "{}", wrap(&terminal(&t), width, first, INDENT))?
                    }
                    FixPart::Command(c) => {
                        if first != INDENT {
                            writeln!(w, "{}", first.trim_end())?;
                        }
                        for line in c.lines() {
                            writeln!(w, "{INDENT}  {}", terminal(line))?;
                        }
                    }
                }
                first = INDENT;
            }
        }
    }
    if !d.topology.evidence.is_empty() {
        writeln!(w, "\nRoles:")?;
        for e in &d.topology.evidence {
            writeln!(w, "{}", wrap(&terminal(e), width, "  - ", "    "))?;
        }
    }
    if !a.skipped.is_empty() {
        writeln!(w, "\nNot analysed:")?;
        for s in &a.skipped {
            writeln!(
                w,
                "{}",
                wrap(&terminal(&s.to_string()), width, "  - ", "    ")
            )?;
        }
    }
    writeln!(w, "\n{}", wrap(&verdict_line(d, style), width, "", "  "))
}

/// Markdown for a support ticket.
fn write_markdown(w: &mut dyn Write, d: &Diagnosis, a: &Analysis) -> std::io::Result<()> {
    writeln!(w, "## aibnet diagnosis: {}\n", d.verdict.as_str())?;
    writeln!(w, "{}\n", verdict_line(d, &Style::plain()))?;
    writeln!(w, "```text\n{}```\n", diagram(d, &Style::plain()))?;
    writeln!(
        w,
        "| hop | port | status | attempts | ok | failed | SYN retransmits |"
    )?;
    writeln!(w, "|---|---|---|---|---|---|---|")?;
    for h in &d.hops {
        writeln!(
            w,
            "| {} | {} | **{}** | {} | {} | {} | {} |",
            h.hop.as_str(),
            h.ports_text(),
            h.status,
            h.attempts,
            h.attempts - h.failed,
            h.failed,
            h.syn_retransmits
        )?;
    }
    for f in &d.findings {
        writeln!(
            w,
            "\n### {} `{}` — {}\n",
            f.severity,
            f.id,
            md_text(&f.title)
        )?;
        writeln!(w, "Hop: `{}`\n\nEvidence:\n", f.hop)?;
        for e in &f.evidence {
            writeln!(w, "- {}", md_text(e))?;
        }
        writeln!(
            w,
            "\nLikely cause: {}\n\nFix:\n\n{}",
            md_text(&f.cause),
            md_block(&f.fix, "")
        )?;
    }
    writeln!(w, "\n### Inputs\n")?;
    for i in &a.inputs {
        writeln!(
            w,
            "- {} ({}, {} packets/tuples){}",
            md_code(&i.path),
            i.format.as_str(),
            i.packets,
            i.error
                .as_ref()
                .map(|e| format!(" — {}", md_text(e)))
                .unwrap_or_default()
        )?;
    }
    for s in &a.skipped {
        writeln!(w, "- not analysed: {}", md_text(&s.to_string()))?;
    }
    Ok(())
}

//! Rendering of `aibnet builds`: one row per run and a summary; the JSON and
//! NDJSON contracts; Markdown for a ticket. JUnit is in [`super::junit`].

use super::builds_view::{HEADER, row, summary_lines};
use super::contract::InputJson;
use super::escape::{md_code, md_text, terminal};
use super::wrap::wrap;
use super::{OutputFormat, Render, RenderError, SCHEMA_VERSION, Style, fitted_table, keep_whole};
use crate::builds::{Builds, Run, Summary};
use crate::ingest::Skipped;
use crate::time::rfc3339;

use crate::aib::{FindingId, Verdict, kind_name, os_name};
use crate::aib::{Hop, Severity};
use crate::findings::Finding;
use crate::hops::HopReport;
use crate::topology::Roles;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;

/// Digits of the run times in reports (milliseconds: flow logs' precision).
const TS_DIGITS: u8 = 3;

/// One run as the JSON contract names it.
#[derive(Serialize)]
pub struct RunJson<'a> {
    id: &'a str,
    start: String,
    end: String,
    duration_s: f64,
    os: &'static str,
    topology: &'static str,
    proxy: Option<IpAddr>,
    build_vm: Option<IpAddr>,
    verdict: Verdict,
    first_broken_hop: Option<Hop>,
    finding_ids: Vec<FindingId>,
    roles: &'a Roles,
    hops: &'a [HopReport],
    findings: &'a [Finding],
    sessions: usize,
    inputs: &'a [String],
    nsgs: &'a [String],
    macs: &'a [String],
}

impl<'a> RunJson<'a> {
    /// View a run for JSON.
    pub fn of(r: &'a Run) -> Self {
        let d = &r.diagnosis;
        let mut ids: Vec<FindingId> = Vec::new();
        for f in &d.findings {
            if !ids.contains(&f.id) {
                ids.push(f.id);
            }
        }
        RunJson {
            id: &r.id,
            start: rfc3339(r.start, TS_DIGITS),
            end: rfc3339(r.end, TS_DIGITS),
            duration_s: ((r.end - r.start) as f64 / 1e6).round() / 1e3,
            os: os_name(d.topology.os),
            topology: kind_name(d.topology.kind),
            proxy: r.proxy(),
            build_vm: r.build_vm(),
            verdict: d.verdict,
            first_broken_hop: d.first_broken_hop().map(|h| h.hop),
            finding_ids: ids,
            roles: &d.topology.roles,
            hops: &d.hops,
            findings: &d.findings,
            sessions: r.sessions,
            inputs: &r.inputs,
            nsgs: &r.nsgs,
            macs: &r.macs,
        }
    }
}

/// The summary as the JSON contract names it.
#[derive(Serialize)]
pub struct SummaryJson {
    runs: usize,
    by_verdict: BTreeMap<&'static str, usize>,
    by_finding: BTreeMap<String, usize>,
    first: Option<String>,
    last: Option<String>,
    since: Option<String>,
    until: Option<String>,
    files: usize,
    files_outside_window: usize,
    skipped: usize,
    packets: u64,
    sessions_kept: usize,
    not_builds: usize,
}

impl SummaryJson {
    /// Build from the runs.
    pub fn of(b: &Builds) -> Self {
        let s: Summary = b.summary();
        SummaryJson {
            runs: s.runs,
            by_verdict: s.by_verdict,
            by_finding: s.by_finding,
            first: s.first_ts.map(|t| rfc3339(t, TS_DIGITS)),
            last: s.last_ts.map(|t| rfc3339(t, TS_DIGITS)),
            since: b.since.map(|t| rfc3339(t, TS_DIGITS)),
            until: b.until.map(|t| rfc3339(t, TS_DIGITS)),
            files: b.inputs.len(),
            files_outside_window: b.outside_window,
            skipped: b.skipped.len(),
            packets: b.packets(),
            sessions_kept: b.sessions_kept,
            not_builds: b.not_builds,
        }
    }
}

/// The `builds` JSON document (schema_version 1).
#[derive(Serialize)]
pub struct BuildsDoc<'a> {
    schema_version: u32,
    runs: Vec<RunJson<'a>>,
    summary: SummaryJson,
    inputs: Vec<InputJson<'a>>,
    skipped: &'a [Skipped],
}

impl<'a> BuildsDoc<'a> {
    /// Build the document.
    pub fn new(b: &'a Builds) -> Self {
        BuildsDoc {
            schema_version: SCHEMA_VERSION,
            runs: b.runs.iter().map(RunJson::of).collect(),
            summary: SummaryJson::of(b),
            inputs: b.inputs.iter().map(InputJson::of).collect(),
            skipped: &b.skipped,
        }
    }
}

impl Render for Builds {
    fn render(
        &self,
        format: OutputFormat,
        style: &Style,
        w: &mut dyn Write,
    ) -> Result<(), RenderError> {
        match format {
            OutputFormat::Json => write_json(w, self)?,
            OutputFormat::Ndjson => write_ndjson(w, self)?,
            OutputFormat::Table => write_table(w, self, style)?,
            OutputFormat::Markdown => write_markdown(w, self)?,
            OutputFormat::Junit => super::junit::write_builds(w, self)?,
            OutputFormat::Html => super::html::write_builds(w, self)?,
        }
        Ok(())
    }
}

/// The JSON document.
fn write_json(w: &mut dyn Write, b: &Builds) -> std::io::Result<()> {
    super::json::write_document(w, &BuildsDoc::new(b))
}

/// One line per run, per skipped input and the summary last, each tagged
/// by `type` (`run`, `skipped`, `summary`).
fn write_ndjson(w: &mut dyn Write, b: &Builds) -> std::io::Result<()> {
    for r in &b.runs {
        super::json::write_tagged_line(w, "run", &RunJson::of(r))?;
    }
    for s in &b.skipped {
        super::json::write_tagged_line(w, "skipped", s)?;
    }
    super::json::write_tagged_line(w, "summary", &SummaryJson::of(b))
}

fn verdict_code(v: Verdict) -> &'static str {
    match v {
        Verdict::Healthy => "32",
        Verdict::Broken => "1;31",
        Verdict::Inconclusive => "33",
    }
}

/// Below this many columns the runs are listed one below the other, not
/// as a table: five columns of times, addresses and finding ids cannot be
/// narrower without splitting the ids.
const TABLE_MIN_WIDTH: u16 = 100;

/// The findings of a row for a terminal: the most severe, and how many
/// more (every one is in the JSON, Markdown and HTML).
fn finding_count(cell: &str) -> String {
    let mut ids = cell.split(", ");
    let first = ids.next().unwrap_or("-");
    match ids.count() {
        0 => first.to_string(),
        n => format!("{first} (+{n} more)"),
    }
}

/// The terminal report, fitting [`Style::columns`]: a table of the runs
/// (cells wrapped, findings counted) on a wide terminal, one short block
/// per run on a narrow one; then the summary.
fn write_table(w: &mut dyn Write, b: &Builds, style: &Style) -> std::io::Result<()> {
    let width = style.columns();
    if b.runs.is_empty() {
        writeln!(
            w,
            "{}",
            wrap(
                "No Image Builder run found (no proxy port 60000/60001 or SSH/WinRM 22/5986 between VNet addresses).",
                usize::from(width),
                "",
                ""
            )
        )?;
    } else if width >= TABLE_MIN_WIDTH {
        let mut t = fitted_table(style);
        t.set_header([
            "start (UTC)",
            "build",
            "verdict",
            "first broken hop",
            "finding",
        ]);
        for r in &b.runs {
            let [start, end, os, topo, client, vm, verdict, hop, finding] = row(r);
            t.add_row([
                format!("{start}\nto {end}"),
                format!("{os} {topo}\n{client}\n→ {vm}"),
                style.paint(&verdict, verdict_code(r.diagnosis.verdict)),
                hop,
                finding_count(&finding),
            ]);
        }
        keep_whole(&mut t, &[0, 2]);
        writeln!(w, "{t}")?;
    } else {
        let width = usize::from(width);
        for (k, r) in b.runs.iter().enumerate() {
            let [start, end, os, topo, client, vm, verdict, hop, finding] = row(r);
            if k > 0 {
                writeln!(w)?;
            }
            let head = format!(
                "{start} to {end} · {os} {topo} · {}",
                style.paint(&verdict.to_uppercase(), verdict_code(r.diagnosis.verdict))
            );
            writeln!(w, "{}", wrap(&head, width, "", "  "))?;
            let lines = [
                format!("proxy / ACI {client} → build VM {vm}"),
                format!("first broken hop: {hop}"),
                format!("finding: {}", finding_count(&finding)),
            ];
            for l in lines {
                writeln!(w, "{}", wrap(&l, width, "  ", "    "))?;
            }
        }
    }
    writeln!(w)?;
    let width = usize::from(width);
    for l in summary_lines(b) {
        writeln!(w, "{}", wrap(&l, width, "", "  "))?;
    }
    for s in &b.skipped {
        writeln!(
            w,
            "{}",
            wrap(&terminal(&s.to_string()), width, "not analysed: ", "  ")
        )?;
    }
    Ok(())
}

/// Markdown for a ticket: the table, the summary, and the failing findings
/// of each broken run with their fix.
fn write_markdown(w: &mut dyn Write, b: &Builds) -> std::io::Result<()> {
    writeln!(w, "## aibnet builds: {} run(s)\n", b.runs.len())?;
    writeln!(w, "| run | {} |", HEADER.join(" | "))?;
    writeln!(w, "|---{}|", "|---".repeat(HEADER.len()))?;
    for r in &b.runs {
        let cells: Vec<String> = row(r).iter().map(|c| md_text(c).into_owned()).collect();
        writeln!(w, "| `{}` | {} |", r.id, cells.join(" | "))?;
    }
    writeln!(w)?;
    for l in summary_lines(b) {
        writeln!(w, "- {l}")?;
    }
    for r in b
        .runs
        .iter()
        .filter(|r| r.diagnosis.verdict == Verdict::Broken)
    {
        writeln!(w, "\n### `{}`\n", r.id)?;
        for f in r
            .diagnosis
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
        {
            writeln!(
                w,
                "- **{}** `{}` ({}): {}\n  - fix: {}",
                f.severity,
                f.id,
                f.hop,
                md_text(&f.title),
                md_code(&f.fix)
            )?;
        }
    }
    if !b.skipped.is_empty() {
        writeln!(w, "\n### Not analysed\n")?;
        for s in &b.skipped {
            writeln!(w, "- {}", md_text(&s.to_string()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::finding_count;

    #[test]
    fn findings_are_counted_for_the_terminal() {
        assert_eq!(finding_count("healthy"), "healthy");
        assert_eq!(
            finding_count("probe_blocked, dns_failing, build_vm_egress_blocked"),
            "probe_blocked (+2 more)"
        );
    }
}

//! Rendering of `aibnet check`: the flows, hops and findings of the
//! configuration, as tables, Markdown or the JSON contract. Names from the
//! configuration (NSGs, rules, resource ids, file names) are escaped for the
//! format as they are written.

use super::escape::{md_block, md_text, terminal};
use super::{OutputFormat, Render, RenderError, Style};
use crate::aib::Severity;
use crate::check::{CheckReport, CheckVerdict, StepVerdict};
use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
use std::io::Write;

impl Render for CheckReport {
    fn render(
        &self,
        format: OutputFormat,
        style: &Style,
        w: &mut dyn Write,
    ) -> Result<(), RenderError> {
        super::write_report_formats(
            self,
            format,
            w,
            "check (table, json, markdown)",
            || table(self, style),
            || markdown(self),
        )
    }
}

/// Text tables (comfy-table).
fn table(r: &CheckReport, style: &Style) -> String {
    let color = style.color;
    let mut out = String::new();
    out.push_str(&format!(
        "aibnet check: {} ({} topology, {})\n\n",
        verdict_text(r.verdict),
        r.topology.as_str(),
        r.os.map_or("Linux and Windows ports", |o| {
            if o == crate::aib::Os::Linux {
                "Linux"
            } else {
                "Windows"
            }
        })
    ));
    if r.flows.is_empty() {
        out.push_str("No flows to evaluate.\n");
    } else {
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        t.set_header([
            "hop",
            "flow",
            "src → dst",
            "proto/port",
            "at",
            "verdict",
            "NSG",
            "rule",
            "prio",
        ]);
        for row in &r.flows {
            let verdict = Cell::new(row.verdict.as_str());
            let verdict = if color {
                verdict.fg(match row.verdict {
                    StepVerdict::Allow => Color::Green,
                    StepVerdict::Deny => Color::Red,
                    StepVerdict::Unknown => Color::Yellow,
                })
            } else {
                verdict
            };
            t.add_row(vec![
                Cell::new(row.hop.label()),
                Cell::new(terminal(&row.flow)),
                Cell::new(terminal(&format!("{} → {}", row.src, row.dst))),
                Cell::new(format!("{}/{}", row.proto.as_str(), row.port)),
                Cell::new(match row.direction {
                    Some(d) => format!(
                        "{} {}",
                        row.at.label(),
                        if d == crate::check::Direction::Inbound {
                            "in"
                        } else {
                            "out"
                        }
                    ),
                    None => row.at.label().to_string(),
                }),
                verdict,
                Cell::new(terminal(row.nsg.as_deref().unwrap_or("-"))),
                Cell::new(terminal(row.rule.as_deref().unwrap_or("-"))),
                Cell::new(row.priority.map_or("-".to_string(), |p| p.to_string())),
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }
    out.push('\n');
    if r.findings.is_empty() {
        out.push_str("No findings.\n");
    }
    for (i, f) in r.findings.iter().enumerate() {
        let sev = f.severity.as_str().to_ascii_uppercase();
        let sev = if color {
            let code = match f.severity {
                Severity::Error => "31",
                Severity::Warning => "33",
                Severity::Info => "36",
            };
            format!("\x1b[1;{code}m{sev}\x1b[0m")
        } else {
            sev
        };
        out.push_str(&format!(
            "{}. {sev} [{}] {} — {}\n",
            i + 1,
            f.id,
            f.hop,
            terminal(&f.title)
        ));
        for e in &f.evidence {
            out.push_str(&format!("   - {}\n", terminal(e)));
        }
        out.push_str(&format!("   cause: {}\n", terminal(&f.cause)));
        out.push_str(&indent_block("   fix: ", &terminal_lines(&f.fix)));
        out.push('\n');
    }
    let notes: Vec<String> = r.notes.iter().map(|n| terminal(n).into_owned()).collect();
    push_list(&mut out, "Notes", &notes);
    let inputs: Vec<String> = r
        .inputs
        .iter()
        .map(|i| terminal(&format!("{}: {}", i.path, i.what)).into_owned())
        .collect();
    push_list(&mut out, "Inputs", &inputs);
    let skipped: Vec<String> = r
        .skipped
        .iter()
        .map(|s| terminal(&format!("{}: {}", s.path, s.reason)).into_owned())
        .collect();
    push_list(&mut out, "Skipped", &skipped);
    out
}

/// Markdown: a table, then findings as a list.
fn markdown(r: &CheckReport) -> String {
    let mut out = format!(
        "## aibnet check: {}\n\nTopology: {}, OS: {}\n\n",
        verdict_text(r.verdict),
        r.topology.as_str(),
        r.os.map_or("unknown (both checked)", |o| o.as_str())
    );
    out.push_str(
        "| hop | flow | src → dst | proto/port | at | verdict | NSG | rule | priority |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for row in &r.flows {
        out.push_str(&format!(
            "| {} | {} | {} | {}/{} | {}{} | **{}** | {} | {} | {} |\n",
            row.hop.label(),
            md_text(&row.flow),
            md_text(&format!("{} → {}", row.src, row.dst)),
            row.proto.as_str(),
            row.port,
            row.at.label(),
            row.direction
                .map(|d| format!(" {}", d.as_str()))
                .unwrap_or_default(),
            row.verdict.as_str(),
            md_text(row.nsg.as_deref().unwrap_or("-")),
            md_text(row.rule.as_deref().unwrap_or("-")),
            row.priority.map_or("-".to_string(), |p| p.to_string())
        ));
    }
    out.push_str("\n### Findings\n\n");
    if r.findings.is_empty() {
        out.push_str("None.\n");
    }
    for f in &r.findings {
        out.push_str(&format!(
            "- **{}** `{}` ({}): {}\n",
            f.severity,
            f.id,
            f.hop,
            md_text(&f.title)
        ));
        for e in &f.evidence {
            out.push_str(&format!("  - {}\n", md_text(e)));
        }
        out.push_str(&format!("  - cause: {}\n", md_text(&f.cause)));
        out.push_str(&format!(
            "  - fix:\n\n{}\n",
            indent_all("    ", &md_block(&f.fix, ""))
        ));
    }
    if !r.notes.is_empty() {
        out.push_str("\n### Notes\n\n");
        for n in &r.notes {
            out.push_str(&format!("- {}\n", md_text(n)));
        }
    }
    if !r.skipped.is_empty() {
        out.push_str("\n### Skipped inputs\n\n");
        for s in &r.skipped {
            out.push_str(&format!("- {}: {}\n", md_text(&s.path), md_text(&s.reason)));
        }
    }
    out
}

fn verdict_text(v: CheckVerdict) -> &'static str {
    match v {
        CheckVerdict::Ok => "every required flow is allowed",
        CheckVerdict::Blocked => "BLOCKED",
        CheckVerdict::Unknown => "nothing blocked, but some flows could not be decided",
    }
}

/// [`terminal`] line by line (a fix may hold several lines).
fn terminal_lines(s: &str) -> String {
    s.lines().map(terminal).collect::<Vec<_>>().join("\n")
}

fn indent_block(first: &str, text: &str) -> String {
    let pad = " ".repeat(first.chars().count());
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        out.push_str(if i == 0 { first } else { &pad });
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn indent_all(pad: &str, text: &str) -> String {
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn push_list(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    out.push_str(&format!("{title}:\n"));
    for i in items {
        out.push_str(&format!("  - {i}\n"));
    }
}

//! The result of `check`: flows, hops, findings, inputs; and its renderings.

use super::InputRecord;
use super::eval::StepVerdict;
use super::flows::FlowRow;
use crate::aib::TopologyKind;
use crate::aib::{Hop, HopStatus, Severity};
use crate::findings::Finding;
use crate::ingest::Skipped;
use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
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
    /// an error, 0 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.verdict == CheckVerdict::Blocked)
    }

    /// Render as pretty JSON.
    pub fn to_json(&self) -> String {
        crate::report::json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// Render as text tables (comfy-table). `color` adds ANSI colours.
    pub fn to_table(&self, color: bool) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "aibnet check: {} ({} topology, {})\n\n",
            verdict_text(self.verdict),
            self.topology.as_str(),
            self.os.map_or("Linux and Windows ports", |o| {
                if o == crate::aib::Os::Linux {
                    "Linux"
                } else {
                    "Windows"
                }
            })
        ));
        if self.flows.is_empty() {
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
            for r in &self.flows {
                let verdict = Cell::new(r.verdict.as_str());
                let verdict = if color {
                    verdict.fg(match r.verdict {
                        StepVerdict::Allow => Color::Green,
                        StepVerdict::Deny => Color::Red,
                        StepVerdict::Unknown => Color::Yellow,
                    })
                } else {
                    verdict
                };
                t.add_row(vec![
                    Cell::new(r.hop.label()),
                    Cell::new(&r.flow),
                    Cell::new(format!("{} → {}", r.src, r.dst)),
                    Cell::new(format!("{}/{}", r.proto.as_str(), r.port)),
                    Cell::new(match r.direction {
                        Some(d) => format!(
                            "{} {}",
                            r.at.label(),
                            if d == super::model::Direction::Inbound {
                                "in"
                            } else {
                                "out"
                            }
                        ),
                        None => r.at.label().to_string(),
                    }),
                    verdict,
                    Cell::new(r.nsg.as_deref().unwrap_or("-")),
                    Cell::new(r.rule.as_deref().unwrap_or("-")),
                    Cell::new(r.priority.map_or("-".to_string(), |p| p.to_string())),
                ]);
            }
            out.push_str(&t.to_string());
            out.push('\n');
        }
        out.push('\n');
        if self.findings.is_empty() {
            out.push_str("No findings.\n");
        }
        for (i, f) in self.findings.iter().enumerate() {
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
                f.title
            ));
            for e in &f.evidence {
                out.push_str(&format!("   - {e}\n"));
            }
            out.push_str(&format!("   cause: {}\n", f.cause));
            out.push_str(&indent_block("   fix: ", &f.fix));
            out.push('\n');
        }
        push_list(&mut out, "Notes", &self.notes);
        let inputs: Vec<String> = self
            .inputs
            .iter()
            .map(|i| format!("{}: {}", i.path, i.what))
            .collect();
        push_list(&mut out, "Inputs", &inputs);
        let skipped: Vec<String> = self
            .skipped
            .iter()
            .map(|s| format!("{}: {}", s.path, s.reason))
            .collect();
        push_list(&mut out, "Skipped", &skipped);
        out
    }

    /// Render as Markdown (a table, then findings as a list).
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "## aibnet check: {}\n\nTopology: {}, OS: {}\n\n",
            verdict_text(self.verdict),
            self.topology.as_str(),
            self.os.map_or("unknown (both checked)", |o| o.as_str())
        );
        out.push_str(
            "| hop | flow | src → dst | proto/port | at | verdict | NSG | rule | priority |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|---|---|\n");
        for r in &self.flows {
            out.push_str(&format!(
                "| {} | {} | {} → {} | {}/{} | {}{} | **{}** | {} | {} | {} |\n",
                r.hop.label(),
                md(&r.flow),
                r.src,
                r.dst,
                r.proto.as_str(),
                r.port,
                r.at.label(),
                r.direction
                    .map(|d| format!(" {}", d.as_str()))
                    .unwrap_or_default(),
                r.verdict.as_str(),
                md(r.nsg.as_deref().unwrap_or("-")),
                md(r.rule.as_deref().unwrap_or("-")),
                r.priority.map_or("-".to_string(), |p| p.to_string())
            ));
        }
        out.push_str("\n### Findings\n\n");
        if self.findings.is_empty() {
            out.push_str("None.\n");
        }
        for f in &self.findings {
            out.push_str(&format!(
                "- **{}** `{}` ({}): {}\n",
                f.severity,
                f.id,
                f.hop,
                md(&f.title)
            ));
            for e in &f.evidence {
                out.push_str(&format!("  - {}\n", md(e)));
            }
            out.push_str(&format!("  - cause: {}\n", md(&f.cause)));
            out.push_str(&format!(
                "  - fix:\n\n    ```\n{}\n    ```\n",
                indent_all("    ", &f.fix)
            ));
        }
        if !self.notes.is_empty() {
            out.push_str("\n### Notes\n\n");
            for n in &self.notes {
                out.push_str(&format!("- {}\n", md(n)));
            }
        }
        if !self.skipped.is_empty() {
            out.push_str("\n### Skipped inputs\n\n");
            for s in &self.skipped {
                out.push_str(&format!("- {}: {}\n", md(&s.path), md(&s.reason)));
            }
        }
        out
    }
}

fn verdict_text(v: CheckVerdict) -> &'static str {
    match v {
        CheckVerdict::Ok => "every required flow is allowed",
        CheckVerdict::Blocked => "BLOCKED",
        CheckVerdict::Unknown => "nothing blocked, but some flows could not be decided",
    }
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
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

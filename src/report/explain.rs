//! Rendering of `aibnet explain`: the matched failure classes, their fix and
//! the collection plan, as a terminal report, Markdown or the JSON contract.
//!
//! Commands are printed on their own lines, outside any table border, so they
//! can be copied as they are. Everything read out of the error text (quoted
//! lines, names, addresses) is escaped for the format as it is written.

use super::escape::{md_block, md_code, md_text, terminal};
use super::{OutputFormat, Render, RenderError, Style};
use crate::explain::{ConfirmationVerdict, Explanation, Match};
use comfy_table::{
    Attribute, Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED,
};
use std::fmt::Write;

impl Render for Explanation {
    fn render(
        &self,
        format: OutputFormat,
        style: &Style,
        w: &mut dyn std::io::Write,
    ) -> Result<(), RenderError> {
        super::write_report_formats(
            self,
            format,
            w,
            "explain (table, json, markdown)",
            || table(self, style),
            || markdown(self),
        )
    }
}

/// A class's row of the failure table, `—` for the classes outside it.
fn reference(r: Option<&str>) -> &str {
    r.unwrap_or("—")
}

fn pct(c: f64) -> String {
    format!("{:.0}%", c * 100.0)
}

fn extracted_line(m: &Match) -> Vec<String> {
    let x = &m.extracted;
    let os = x.os.map(|o| match &x.os_basis {
        Some(b) => format!("{} ({b})", o.as_str()),
        None => o.as_str().to_string(),
    });
    let time = match (x.first_seen, x.last_seen) {
        (Some(a), Some(b)) if a != b => Some(format!("{a} – {b}")),
        (Some(a), _) | (None, Some(a)) => Some(a.to_string()),
        _ => None,
    };
    let destinations =
        (!x.egress_destinations.is_empty()).then(|| x.egress_destinations.join(", "));
    [
        ("build VM", x.build_vm_ip.clone()),
        ("private endpoint", x.private_endpoint_ip.clone()),
        ("port", x.port.map(|p| p.to_string())),
        ("error", x.dial_error.clone()),
        ("OS", os),
        ("topology", x.topology.map(|t| t.as_str().to_string())),
        ("template", x.template.clone()),
        ("resource group", x.resource_group.clone()),
        ("staging group", x.staging_resource_group.clone()),
        ("VNET", x.vnet.clone()),
        ("subnet", x.subnet.clone()),
        ("NSG", x.nsg.clone()),
        ("NSG rule", x.nsg_rule.clone()),
        ("region", x.location.clone()),
        ("log storage account", x.storage_account.clone()),
        ("operation", x.operation_id.clone()),
        ("destinations", destinations),
        ("time", time),
    ]
    .into_iter()
    .filter_map(|(label, v)| v.map(|v| format!("{label} {v}")))
    .collect()
}

/// The terminal report.
fn table(e: &Explanation, style: &Style) -> String {
    let color = style.color;
    let paint = |s: &str, code: &str| style.paint(s, code);
    let mut out = String::new();
    if !e.confirmation.is_empty() {
        let _ = writeln!(out, "Evidence check:");
        for l in confirmation_lines(e) {
            let _ = writeln!(out, "  {}", terminal(&l));
        }
        out.push('\n');
    }
    if let Some(best) = e.matches.first() {
        let _ = writeln!(
            out,
            "{} {} failure class{} recognised; best: {} {} ({})\n",
            paint("aibnet explain:", "1"),
            e.matches.len(),
            if e.matches.len() == 1 { "" } else { "es" },
            reference(best.reference),
            paint(best.class.as_str(), "1;36"),
            pct(best.confidence)
        );
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        if color {
            t.enforce_styling();
        } else {
            t.force_no_tty();
        }
        let head = |s: &str| Cell::new(s).add_attribute(Attribute::Bold);
        t.set_header(vec![
            head("#"),
            head("ref"),
            head("class"),
            head("hop"),
            head("confidence"),
            head("finding ids"),
        ]);
        for (i, m) in e.matches.iter().enumerate() {
            let conf = Cell::new(pct(m.confidence)).fg(if m.confidence >= 0.7 {
                Color::Green
            } else if m.confidence >= 0.4 {
                Color::Yellow
            } else {
                Color::Red
            });
            t.add_row(vec![
                Cell::new(i + 1),
                Cell::new(reference(m.reference)),
                Cell::new(m.class.as_str()).fg(Color::Cyan),
                Cell::new(m.hop.map_or("—", |h| h.as_str())),
                conf,
                Cell::new(if m.finding_ids.is_empty() {
                    "— (no traffic finding)".to_string()
                } else {
                    m.finding_ids
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }),
            ]);
        }
        let _ = writeln!(out, "{t}\n");
        let extracted = extracted_line(best);
        if !extracted.is_empty() {
            let _ = writeln!(
                out,
                "{} {}\n",
                paint("Extracted:", "1"),
                terminal(&extracted.join(" · "))
            );
        }
        for (i, m) in e.matches.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}. {} {} — {} ({}, hop {})",
                i + 1,
                reference(m.reference),
                paint(m.class.as_str(), "1;36"),
                m.title,
                pct(m.confidence),
                m.hop.map_or("—", |h| h.as_str())
            );
            let _ = writeln!(out, "   Why: {}", terminal(&m.explanation));
            for ev in &m.evidence {
                let at = ev
                    .line
                    .map(|l| format!("line {l}"))
                    .unwrap_or_else(|| "input".to_string());
                let _ = writeln!(out, "   Seen ({at}, {}): {}", ev.signal, terminal(&ev.text));
            }
            let fix: Vec<_> = m.fix.lines().map(terminal).collect();
            let _ = writeln!(out, "   Fix: {}", fix.join("\n   "));
            let _ = writeln!(out, "   The evidence will show: {}\n", m.signature);
        }
    } else {
        let _ = writeln!(
            out,
            "{} {}\n",
            paint("aibnet explain:", "1"),
            paint(
                "not recognised: no AIB or Packer error pattern of the failure table (F1–F22) matched.",
                "1;33"
            )
        );
        if e.closest.is_empty() {
            let _ = writeln!(
                out,
                "Nothing in the text resembles the known failure texts.\n"
            );
        } else {
            let _ = writeln!(
                out,
                "Closest classes (shared wording only, not a diagnosis):"
            );
            for c in &e.closest {
                let _ = writeln!(
                    out,
                    "  {} {} — {}: {}",
                    reference(c.reference), c.class, c.title, c.why
                );
            }
            let _ = writeln!(out);
        }
    }

    if !e.collect.is_empty() {
        let window = e
            .window
            .as_ref()
            .map(|w| format!(" for {} – {} ({})", w.from, w.to, w.basis))
            .unwrap_or_default();
        let _ = writeln!(out, "{}{window}:", paint("Collect the evidence", "1"));
        for (i, s) in e.collect.iter().enumerate() {
            let _ = writeln!(out, "{:>3}. {}", i + 1, terminal(&s.purpose));
            let _ = writeln!(out, "     {}", paint(&terminal(&s.command), "32"));
        }
        let _ = writeln!(out);
    }
    if !e.placeholders.is_empty() {
        let _ = writeln!(out, "{}", paint("Fill in:", "1"));
        for p in &e.placeholders {
            let _ = writeln!(out, "  {}  {}", paint(&p.name, "33"), terminal(&p.how));
        }
        let _ = writeln!(out);
    }
    if !e.notes.is_empty() {
        let _ = writeln!(out, "{}", paint("Notes:", "1"));
        for n in &e.notes {
            let _ = writeln!(out, "  - {}", terminal(n));
        }
    }
    out
}

/// The confirmation section (`--evidence`), as plain lines.
fn confirmation_lines(e: &Explanation) -> Vec<String> {
    e.confirmation
        .iter()
        .map(|c| {
            let v = match c.verdict {
                ConfirmationVerdict::Confirms => "CONFIRMS",
                ConfirmationVerdict::PointsElsewhere => "POINTS ELSEWHERE",
                ConfirmationVerdict::CannotTell => "CANNOT TELL",
            };
            format!("{}: evidence {v} — {}", c.class.as_str(), c.reason)
        })
        .collect()
}

/// A Markdown report for a support ticket.
fn markdown(e: &Explanation) -> String {
    let mut out = String::from("## aibnet explain\n\n");
    if !e.confirmation.is_empty() {
        out.push_str("### Evidence check\n\n");
        for l in confirmation_lines(e) {
            let _ = writeln!(out, "- {}", md_text(&l));
        }
        out.push('\n');
    }
    if e.matches.is_empty() {
        out.push_str(
            "**Not recognised**: no AIB or Packer error pattern of the failure table (F1–F22) matched.\n\n",
        );
        if !e.closest.is_empty() {
            out.push_str("Closest classes (shared wording only, not a diagnosis):\n\n");
            for c in &e.closest {
                let _ = writeln!(
                    out,
                    "- **{}** `{}` — {}: {}",
                    reference(c.reference), c.class, c.title, c.why
                );
            }
            out.push('\n');
        }
    } else {
        out.push_str(
            "| # | ref | class | hop | confidence | finding ids |\n|---|---|---|---|---|---|\n",
        );
        for (i, m) in e.matches.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | {} | {} |",
                i + 1,
                reference(m.reference),
                m.class,
                m.hop.map_or("—", |h| h.as_str()),
                pct(m.confidence),
                m.finding_ids
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        out.push('\n');
        if let Some(best) = e.matches.first() {
            let x = extracted_line(best);
            if !x.is_empty() {
                let _ = writeln!(out, "**Extracted:** {}\n", md_text(&x.join(" · ")));
            }
        }
        for (i, m) in e.matches.iter().enumerate() {
            let _ = writeln!(
                out,
                "### {}. {} — {} ({})\n",
                i + 1,
                reference(m.reference),
                m.title,
                pct(m.confidence)
            );
            let _ = writeln!(out, "{}\n", md_text(&m.explanation));
            if !m.evidence.is_empty() {
                let seen: Vec<&str> = m.evidence.iter().map(|ev| ev.text.as_str()).collect();
                let _ = writeln!(out, "Seen:\n\n{}\n", md_block(&seen.join("\n"), "text"));
            }
            let mut prose = Vec::new();
            let mut code = Vec::new();
            for line in m.fix.lines() {
                let l = line.trim();
                if l.starts_with("az ") {
                    code.push(l);
                } else {
                    prose.push(l);
                }
            }
            let _ = writeln!(out, "**Fix:** {}\n", md_text(&prose.join(" ")));
            if !code.is_empty() {
                let _ = writeln!(out, "{}\n", md_block(&code.join("\n"), "bash"));
            }
            let _ = writeln!(
                out,
                "**The evidence will show:** {}\n",
                md_text(m.signature)
            );
        }
    }
    if !e.collect.is_empty() {
        out.push_str("### Collect the evidence\n\n");
        if let Some(w) = &e.window {
            let _ = writeln!(
                out,
                "Window: {} – {} ({}).\n",
                w.from,
                w.to,
                md_text(&w.basis)
            );
        }
        for (i, s) in e.collect.iter().enumerate() {
            let block = md_block(&s.command, "bash").replace('\n', "\n   ");
            let _ = writeln!(out, "{}. {}\n\n   {block}\n", i + 1, md_text(&s.purpose));
        }
    }
    if !e.placeholders.is_empty() {
        out.push_str("### Fill in\n\n");
        for p in &e.placeholders {
            let _ = writeln!(out, "- {}: {}", md_code(&p.name), md_text(&p.how));
        }
        out.push('\n');
    }
    if !e.notes.is_empty() {
        out.push_str("### Notes\n\n");
        for n in &e.notes {
            let _ = writeln!(out, "- {}", md_text(n));
        }
    }
    out
}

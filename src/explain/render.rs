//! Render an [`Explanation`] as a terminal report, Markdown or JSON.
//!
//! Commands are printed on their own lines, outside any table border, so they
//! can be copied as they are.

use super::{Explanation, Match};
use comfy_table::{
    Attribute, Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED,
};
use std::fmt::Write;

/// The JSON contract (pretty-printed, with a final newline).
pub fn json(e: &Explanation) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    let mut s = crate::report::json::to_string_pretty(e).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

fn pct(c: f64) -> String {
    format!("{:.0}%", c * 100.0)
}

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
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

/// The terminal report. `color` adds ANSI styling (the caller decides: a TTY
/// and no `NO_COLOR`).
pub fn table(e: &Explanation, color: bool) -> String {
    let mut out = String::new();
    if !e.confirmation.is_empty() {
        let _ = writeln!(out, "Evidence check:");
        for l in confirmation_lines(e) {
            let _ = writeln!(out, "  {l}");
        }
        out.push('\n');
    }
    if let Some(best) = e.matches.first() {
        let _ = writeln!(
            out,
            "{} {} failure class{} recognised; best: {} {} ({})\n",
            paint("aibnet explain:", "1", color),
            e.matches.len(),
            if e.matches.len() == 1 { "" } else { "es" },
            best.reference,
            paint(best.class.as_str(), "1;36", color),
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
                Cell::new(m.reference),
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
                paint("Extracted:", "1", color),
                extracted.join(" · ")
            );
        }
        for (i, m) in e.matches.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}. {} {} — {} ({}, hop {})",
                i + 1,
                m.reference,
                paint(m.class.as_str(), "1;36", color),
                m.title,
                pct(m.confidence),
                m.hop.map_or("—", |h| h.as_str())
            );
            let _ = writeln!(out, "   Why: {}", m.explanation);
            for ev in &m.evidence {
                let at = ev
                    .line
                    .map(|l| format!("line {l}"))
                    .unwrap_or_else(|| "input".to_string());
                let _ = writeln!(out, "   Seen ({at}, {}): {}", ev.signal, ev.text);
            }
            let _ = writeln!(out, "   Fix: {}", m.fix.replace('\n', "\n   "));
            let _ = writeln!(out, "   The evidence will show: {}\n", m.signature);
        }
    } else {
        let _ = writeln!(
            out,
            "{} {}\n",
            paint("aibnet explain:", "1", color),
            paint(
                "not recognised: no AIB or Packer error pattern of the failure table (F1–F22) matched.",
                "1;33",
                color
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
                    c.reference, c.class, c.title, c.why
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
        let _ = writeln!(
            out,
            "{}{window}:",
            paint("Collect the evidence", "1", color)
        );
        for (i, s) in e.collect.iter().enumerate() {
            let _ = writeln!(out, "{:>3}. {}", i + 1, s.purpose);
            let _ = writeln!(out, "     {}", paint(&s.command, "32", color));
        }
        let _ = writeln!(out);
    }
    if !e.placeholders.is_empty() {
        let _ = writeln!(out, "{}", paint("Fill in:", "1", color));
        for p in &e.placeholders {
            let _ = writeln!(out, "  {}  {}", paint(&p.name, "33", color), p.how);
        }
        let _ = writeln!(out);
    }
    if !e.notes.is_empty() {
        let _ = writeln!(out, "{}", paint("Notes:", "1", color));
        for n in &e.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The confirmation section (`--evidence`), as plain lines.
fn confirmation_lines(e: &Explanation) -> Vec<String> {
    e.confirmation
        .iter()
        .map(|c| {
            let v = match c.verdict {
                super::confirm::ConfirmationVerdict::Confirms => "CONFIRMS",
                super::confirm::ConfirmationVerdict::PointsElsewhere => "POINTS ELSEWHERE",
                super::confirm::ConfirmationVerdict::CannotTell => "CANNOT TELL",
            };
            format!("{}: evidence {v} — {}", c.class.as_str(), c.reason)
        })
        .collect()
}

/// A Markdown report for a support ticket.
pub fn markdown(e: &Explanation) -> String {
    let mut out = String::from("## aibnet explain\n\n");
    if !e.confirmation.is_empty() {
        out.push_str("### Evidence check\n\n");
        for l in confirmation_lines(e) {
            let _ = writeln!(out, "- {}", md_escape(&l));
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
                    c.reference, c.class, c.title, c.why
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
                m.reference,
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
                let _ = writeln!(out, "**Extracted:** {}\n", md_escape(&x.join(" · ")));
            }
        }
        for (i, m) in e.matches.iter().enumerate() {
            let _ = writeln!(
                out,
                "### {}. {} — {} ({})\n",
                i + 1,
                m.reference,
                m.title,
                pct(m.confidence)
            );
            let _ = writeln!(out, "{}\n", m.explanation);
            if !m.evidence.is_empty() {
                out.push_str("Seen:\n\n```text\n");
                for ev in &m.evidence {
                    let _ = writeln!(out, "{}", ev.text);
                }
                out.push_str("```\n\n");
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
            let _ = writeln!(out, "**Fix:** {}\n", prose.join(" "));
            if !code.is_empty() {
                let _ = writeln!(out, "```bash\n{}\n```\n", code.join("\n"));
            }
            let _ = writeln!(out, "**The evidence will show:** {}\n", m.signature);
        }
    }
    if !e.collect.is_empty() {
        out.push_str("### Collect the evidence\n\n");
        if let Some(w) = &e.window {
            let _ = writeln!(out, "Window: {} – {} ({}).\n", w.from, w.to, w.basis);
        }
        for (i, s) in e.collect.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}. {}\n\n   ```bash\n   {}\n   ```\n",
                i + 1,
                s.purpose,
                s.command
            );
        }
    }
    if !e.placeholders.is_empty() {
        out.push_str("### Fill in\n\n");
        for p in &e.placeholders {
            let _ = writeln!(out, "- `{}`: {}", p.name, p.how);
        }
        out.push('\n');
    }
    if !e.notes.is_empty() {
        out.push_str("### Notes\n\n");
        for n in &e.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out
}

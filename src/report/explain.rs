//! Rendering of `aibnet explain`: the matched failure classes, their fix and
//! the collection plan, as a terminal report, Markdown or the JSON contract.
//!
//! Commands are printed on their own lines, outside any table border, so they
//! can be copied as they are. Everything read out of the error text (quoted
//! lines, names, addresses) is escaped for the format as it is written.

use super::escape::{md_block, md_code, md_text, terminal};
use super::{OutputFormat, Render, RenderError, Style};
use crate::aib::BuildOutcome;
use crate::explain::{ConfirmationVerdict, Event, EventKind, Explanation, Match, ReadAs};
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

/// `F1 ` before a class of the failure table, nothing before the others.
fn ref_prefix(r: Option<&str>) -> String {
    r.map(|r| format!("{r} ")).unwrap_or_default()
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

/// What a whole-build input was read as, in words.
fn read_as(r: ReadAs) -> &'static str {
    match r {
        ReadAs::CustomizationLog => "customization.log",
        ReadAs::PackerLog => "Packer log (run outside AIB)",
        ReadAs::RunStatus => "az image builder show (lastRunStatus)",
        ReadAs::Subnet => "subnet JSON",
    }
}

/// One line about a whole build: what was read, how it ended, whether the
/// network is to blame.
fn build_line(e: &Explanation) -> Option<String> {
    let what = e.read_as?;
    let dialect = e
        .dialect
        .map(|d| format!(" ({})", d.as_str()))
        .unwrap_or_default();
    let outcome = e
        .outcome
        .map(|o| format!(" · outcome {o}"))
        .unwrap_or_default();
    let network = match (e.network, e.matches.is_empty()) {
        (_, true) => String::new(),
        (Some(true), _) => " · network: yes — a network class".to_string(),
        (Some(false), _) => " · network: no — not a network failure".to_string(),
        (None, _) => String::new(),
    };
    Some(format!("{}{dialect}{outcome}{network}", read_as(what)))
}

/// The point of failure as plain lines (escaped by the caller).
fn failure_lines(e: &Explanation) -> Vec<String> {
    let Some(f) = &e.point_of_failure else {
        return Vec::new();
    };
    let time = f.time.map(|t| format!(", {t}")).unwrap_or_default();
    let mut out = vec![
        format!(
            "Point of failure (line {}{time}, {}): {}",
            f.line,
            f.rule.as_str(),
            f.reason
        ),
        format!("  {}", f.text),
    ];
    for c in &f.cause_lines {
        out.push(format!("  because (line {}): {}", c.line, c.text));
    }
    out
}

/// One timeline event, in words.
fn event_text(ev: &Event) -> String {
    let comm = ev.communicator.map(|c| c.label()).unwrap_or("communicator");
    let mut t = match ev.event {
        EventKind::BuildStart => "build start".to_string(),
        EventKind::CommunicatorWait => match &ev.timeout {
            Some(to) => format!("waiting for {comm} (timeout {to})"),
            None => format!("waiting for {comm}"),
        },
        EventKind::CommunicatorRetries => {
            let kind = ev.kind.map_or("?", |k| k.as_str());
            let n = ev.count.unwrap_or(0);
            let until = ev
                .last_line
                .filter(|l| *l != ev.line)
                .map(|l| format!(" until line {l}"))
                .unwrap_or_default();
            let transient = if ev.transient == Some(true) {
                " — transient, before the connection: not a finding"
            } else {
                ""
            };
            format!(
                "{n} failed attempt{} ({kind}){until}{transient}",
                if n == 1 { "" } else { "s" }
            )
        }
        EventKind::CommunicatorConnected => match ev.after_s {
            Some(s) => format!("{comm} connected after {s} s"),
            None => format!("{comm} connected"),
        },
        EventKind::CommunicatorTimeout => format!("timeout waiting for {comm}"),
        EventKind::CustomizerStart => {
            let what = ev
                .script
                .as_deref()
                .or(ev.target.as_deref())
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            format!(
                "{} starts{what}",
                ev.customizer.as_deref().unwrap_or("customizer")
            )
        }
        EventKind::CustomizerEnd => format!(
            "{} ends, exit {}",
            ev.customizer.as_deref().unwrap_or("customizer"),
            ev.exit_code.map_or("?".to_string(), |c| c.to_string())
        ),
        EventKind::RestartBegin => "restart begins".to_string(),
        EventKind::RestartEnd => "restart done".to_string(),
        EventKind::Capture => ev.what.clone().unwrap_or_else(|| "capture".to_string()),
        EventKind::Cancellation => {
            let sig = ev
                .signal
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            let after = ev
                .elapsed_since_first_line
                .as_deref()
                .map(|a| format!(", {a} after the first line"))
                .unwrap_or_default();
            format!("cancellation{sig}{after}")
        }
        EventKind::BuildEnd => {
            let outcome = ev.outcome.map_or("ended", |o| o.as_str());
            match &ev.error {
                Some(err) => format!("build {outcome}: {err}"),
                None => format!("build {outcome}"),
            }
        }
        EventKind::Failure => "point of failure".to_string(),
    };
    if let Some(d) = &ev.detail {
        t.push_str(" — ");
        t.push_str(d);
    }
    t
}

/// The timeline as rows: line, time, event.
fn timeline_rows(e: &Explanation) -> Vec<(usize, String, String)> {
    e.timeline
        .iter()
        .flatten()
        .map(|ev| {
            (
                ev.line,
                ev.time.map(|t| t.to_string()).unwrap_or_default(),
                event_text(ev),
            )
        })
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
    // What was read and where it failed come first: the rest explains it.
    let mut build_block = String::new();
    if let Some(line) = build_line(e) {
        let _ = writeln!(build_block, "{} {}", paint("Build:", "1"), terminal(&line));
        for l in failure_lines(e) {
            let _ = writeln!(build_block, "{}", terminal(&l));
        }
        build_block.push('\n');
    }
    if let Some(best) = e.matches.first() {
        let _ = writeln!(
            out,
            "{} {} failure class{} recognised; best: {}{} ({})\n",
            paint("aibnet explain:", "1"),
            e.matches.len(),
            if e.matches.len() == 1 { "" } else { "es" },
            ref_prefix(best.reference),
            paint(best.class.as_str(), "1;36"),
            pct(best.confidence)
        );
        out.push_str(&build_block);
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
                "{}. {}{} — {} ({}, hop {})",
                i + 1,
                ref_prefix(m.reference),
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
    } else if e.outcome == Some(BuildOutcome::Succeeded) {
        let _ = writeln!(
            out,
            "{} {}\n",
            paint("aibnet explain:", "1"),
            paint("the build succeeded: nothing to explain.", "1;32")
        );
        out.push_str(&build_block);
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
        out.push_str(&build_block);
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
                    reference(c.reference),
                    c.class,
                    c.title,
                    c.why
                );
            }
            let _ = writeln!(out);
        }
    }

    let rows = timeline_rows(e);
    if !rows.is_empty() {
        let _ = writeln!(out, "{}", paint("Timeline:", "1"));
        for (line, time, text) in rows {
            let _ = writeln!(out, "  {line:>6}  {time:<20}  {}", terminal(&text));
        }
        out.push('\n');
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
    if let Some(line) = build_line(e) {
        let _ = writeln!(out, "### Build\n\n{}\n", md_text(&line));
        if let Some(f) = &e.point_of_failure {
            let time = f.time.map(|t| format!(", {t}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "**Point of failure** (line {}{time}, `{}`): {}\n",
                f.line,
                f.rule.as_str(),
                md_text(&f.reason)
            );
            let mut quoted = vec![f.text.as_str()];
            quoted.extend(f.cause_lines.iter().map(|c| c.text.as_str()));
            let _ = writeln!(out, "{}\n", md_block(&quoted.join("\n"), "text"));
            if !f.cause_lines.is_empty() {
                let lines: Vec<String> = f.cause_lines.iter().map(|c| c.line.to_string()).collect();
                let _ = writeln!(out, "Cause lines: {}.\n", lines.join(", "));
            }
        }
    }
    if e.matches.is_empty() && e.outcome == Some(BuildOutcome::Succeeded) {
        out.push_str("**The build succeeded**: nothing to explain.\n\n");
    } else if e.matches.is_empty() {
        out.push_str(
            "**Not recognised**: no AIB or Packer error pattern of the failure table (F1–F22) matched.\n\n",
        );
        if !e.closest.is_empty() {
            out.push_str("Closest classes (shared wording only, not a diagnosis):\n\n");
            for c in &e.closest {
                let _ = writeln!(
                    out,
                    "- **{}** `{}` — {}: {}",
                    reference(c.reference),
                    c.class,
                    c.title,
                    c.why
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
                m.reference.unwrap_or(m.class.as_str()),
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
    let rows = timeline_rows(e);
    if !rows.is_empty() {
        out.push_str("### Timeline\n\n| line | time | event |\n|---:|---|---|\n");
        for (line, time, text) in rows {
            let _ = writeln!(out, "| {line} | {time} | {} |", md_text(&text));
        }
        out.push('\n');
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

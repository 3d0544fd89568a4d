//! `--format html`: one self-contained page for a ticket, a mail or a CI
//! artifact (`diagnose`, `builds`). Inline CSS and SVG, no script, nothing
//! loaded from anywhere (a Content-Security-Policy says so too), readable
//! offline and printable on A4.
//!
//! What it shows: a verdict banner; the path diagram ([`diagram`]) with
//! each hop's status in words, symbol, colour and line dash and its counts;
//! the timeline ([`timeline`]), one lane per hop, each session a bar; the
//! findings with their evidence, cause and the fix commands in blocks that
//! copy whole; the roles with their evidence; the sessions of the AIB hops;
//! the inputs and what was not analysed. `builds` writes the runs table,
//! each run linking to its own section with the same pictures.
//!
//! Every string that comes from the evidence (rule, NSG and file names,
//! addresses, quoted log lines, notes) goes through [`esc`]
//! ([`crate::report::escape::html`]) as it is written, in text and in
//! attributes alike.

mod diagram;
mod page;
mod timeline;

use self::page::{Page, Tone, esc, tagged};
use crate::aib::{Severity, Verdict, kind_name, os_name};
use crate::analyze::Analysis;
use crate::builds::Builds;
use crate::diagnose::Diagnosis;
use crate::findings::Finding;
use crate::hops::{Outcome, outcome};

use crate::ingest::{InputReport, Skipped};
use crate::report::fix::{FixPart, parts};
use crate::sessions::Session;
use crate::time::rfc3339;
use std::fmt::Write as _;
use std::io::Write;

/// At most this many sessions of one hop are listed (the JSON and
/// `aibnet sessions` have them all).
const SESSION_ROWS: usize = 100;

/// Write the `diagnose` page.
pub(crate) fn write_diagnose(
    w: &mut dyn Write,
    d: &Diagnosis,
    a: &Analysis,
) -> std::io::Result<()> {
    let mut p = Page::new(&format!("aibnet diagnosis: {}", d.verdict.as_str()));
    p.push("<h1>aibnet diagnosis: why can't Image Builder reach its build VM?</h1>\n");
    banner(&mut p, d, &run_facts(a));
    p.push(
        "<nav><a href=\"#path\">Path</a><a href=\"#timeline\">Timeline</a><a href=\"#hops\">Hops</a>\
         <a href=\"#findings\">Findings</a><a href=\"#roles\">Roles</a><a href=\"#sessions\">Sessions</a>\
         <a href=\"#inputs\">Inputs</a></nav>\n",
    );
    let paths: Vec<&str> = a.inputs.iter().map(|i| i.path.as_str()).collect();
    diagnosis_sections(&mut p, d, &a.sessions, &paths, "d", 2, true);
    p.push("<section id=\"inputs\"><h2>Inputs</h2>\n");
    inputs_table(&mut p, &a.inputs);
    skipped_list(&mut p, &a.skipped);
    p.push("</section>\n");
    w.write_all(p.finish().as_bytes())
}

/// What was read, for the banner.
fn run_facts(a: &Analysis) -> String {
    format!(
        "{} input{}, {} packets/tuples, {} sessions, {} not analysed",
        a.inputs.len(),
        if a.inputs.len() == 1 { "" } else { "s" },
        a.packets(),
        a.sessions.len(),
        a.skipped.len()
    )
}

/// The verdict banner of a diagnosis.
fn banner(p: &mut Page, d: &Diagnosis, facts: &str) {
    let tone = Tone::of_verdict(d.verdict);
    let problems = d
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .count();
    let broken = d.first_broken_hop().map_or_else(String::new, |h| {
        format!(
            " — first broken hop <b>{}</b> ({})",
            esc(h.hop.label()),
            esc(h.status.as_str())
        )
    });
    let _ = writeln!(
        p.out,
        "<div class=\"banner {}\"><span class=\"word st {}\">{} {}</span>{broken}<br>\
         <span class=\"small\">{problems} problem{} · {} build · {} topology · {}</span></div>",
        tone.class(),
        tone.class(),
        tone.symbol(),
        esc(&d.verdict.as_str().to_uppercase()),
        if problems == 1 { "" } else { "s" },
        os_name(d.topology.os),
        kind_name(d.topology.kind),
        esc(facts)
    );
}

/// The sections of one diagnosis: path, timeline, hops, findings, roles and
/// (with `sessions_open`, else folded) the hop sessions. `prefix` keeps
/// element ids unique in a page of several diagnoses; `level` is the
/// heading level of the sections.
fn diagnosis_sections(
    p: &mut Page,
    d: &Diagnosis,
    sessions: &[Session],
    inputs: &[&str],
    prefix: &str,
    level: u8,
    sessions_open: bool,
) {
    let h = |id: &str, title: &str| {
        if prefix == "d" {
            format!("<section id=\"{id}\"><h{level}>{title}</h{level}>\n")
        } else {
            format!("<section><h{level}>{title}</h{level}>\n")
        }
    };
    p.push(&h("path", "Build path"));
    let _ = writeln!(
        p.out,
        "<figure>{}<figcaption>Each arrow is a hop, in the tone of its status: solid blue ✓ worked, \
         long vermillion dashes ✗ failed, short orange dashes ! partly failed, grey dots ? not seen \
         by any input. Counts: answered/attempts and the port.</figcaption></figure>",
        diagram::svg(d, &format!("{prefix}-path"))
    );
    if let Some(st) = d.hops.iter().find_map(|h| {
        h.stitching
            .filter(|_| h.hop == crate::aib::Hop::ProxyToBuildVm)
    }) {
        let _ = writeln!(
            p.out,
            "<p>Stitched at the proxy: {} command session(s) arrived, {} forwarded to the build VM, {} answered.</p>",
            st.commands, st.forwarded, st.answered
        );
    }
    p.push("</section>\n");
    p.push(&h("timeline", "Timeline"));
    match timeline::svg(d, sessions, &format!("{prefix}-time")) {
        Some((svg, caption)) => {
            let _ = writeln!(
                p.out,
                "<figure>{svg}<figcaption>{}</figcaption></figure>",
                esc(&caption)
            );
        }
        None => p.push("<p class=\"muted\">No session of an AIB hop to draw.</p>\n"),
    }
    p.push("</section>\n");
    p.push(&h("hops", "Hops"));
    hops_table(p, d);
    p.push("</section>\n");
    p.push(&h("findings", "Findings"));
    for f in &d.findings {
        finding(p, f, level + 1);
    }
    if d.findings.is_empty() {
        p.push("<p class=\"muted\">No finding.</p>\n");
    }
    p.push("</section>\n");
    p.push(&h("roles", "Roles"));
    roles(p, d);
    p.push("</section>\n");
    p.push(&h("sessions", "Sessions of the AIB hops"));
    let total: usize = d.hops.iter().map(|h| h.sessions.len()).sum();
    if total == 0 {
        p.push("<p class=\"muted\">None.</p>\n");
    } else if sessions_open {
        hop_sessions(p, d, sessions, inputs, level + 1);
    } else {
        let _ = writeln!(p.out, "<details><summary>{total} session(s)</summary>");
        hop_sessions(p, d, sessions, inputs, level + 1);
        p.push("</details>\n");
    }
    p.push("</section>\n");
}

/// The hop table: status, counts, the inputs that could see it (in full).
fn hops_table(p: &mut Page, d: &Diagnosis) {
    p.push(
        "<table><thead><tr><th>hop</th><th class=\"n\">port</th><th>status</th><th class=\"n\">attempts</th>\
         <th class=\"n\">ok</th><th class=\"n\">failed</th><th>failures</th><th class=\"n\">SYN rx</th>\
         <th>observed by</th></tr></thead><tbody>\n",
    );
    for h in &d.hops {
        let tone = Tone::of_status(h.status);
        let mut detail = Vec::new();
        for (n, what) in [
            (h.blocked, "blocked"),
            (h.rejected, "rejected"),
            (h.interrupted, "interrupted"),
        ] {
            if n > 0 {
                detail.push(format!("{n} {what}"));
            }
        }
        // Every input, by its short name; the full path in its tooltip.
        let observed = h
            .observed_by
            .iter()
            .map(|o| {
                format!(
                    "<code title=\"{}\">{}</code>",
                    esc(o),
                    esc(&crate::ingest::short_path(o))
                )
            })
            .collect::<Vec<_>>()
            .join("<br>");
        let note = h
            .note
            .as_deref()
            .map(|n| format!("<br><span class=\"small muted\">{}</span>", esc(n)))
            .unwrap_or_default();
        let _ = writeln!(
            p.out,
            "<tr><td>{}{note}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"small\">{}</td></tr>",
            esc(h.hop.label()),
            esc(&h.ports_text()),
            tagged(tone, &h.status.as_str().replace('_', " ")),
            h.attempts,
            h.attempts - h.failed,
            h.failed,
            esc(&detail.join(", ")),
            h.syn_retransmits,
            if observed.is_empty() {
                "<span class=\"muted\">no input could see it</span>".to_string()
            } else {
                observed
            }
        );
    }
    p.push("</tbody></table>\n");
}

/// One finding: severity, id, title, hop, evidence, cause, and the fix with
/// its commands in blocks that select whole.
fn finding(p: &mut Page, f: &Finding, level: u8) {
    let tone = if f.id == crate::aib::FindingId::Healthy {
        Tone::Ok
    } else {
        Tone::of_severity(f.severity)
    };
    let _ = writeln!(
        p.out,
        "<article class=\"finding {}\"><h{level}>{} <code>{}</code> {}</h{level}>\
         <div><span class=\"label\">Hop:</span> {}</div>",
        tone.class(),
        tagged(tone, f.severity.as_str()),
        esc(f.id.as_str()),
        esc(&f.title),
        esc(f.hop.label())
    );
    if !f.evidence.is_empty() {
        p.push("<div class=\"label\">Evidence</div><ul>");
        for e in &f.evidence {
            let _ = write!(p.out, "<li>{}</li>", esc(e));
        }
        p.push("</ul>\n");
    }
    let _ = writeln!(
        p.out,
        "<div><span class=\"label\">Likely cause:</span> {}</div>",
        esc(&f.cause)
    );
    p.push("<div class=\"label\">Fix</div>\n");
    for part in parts(&f.fix) {
        match part {
            FixPart::Text(t) => {
                let _ = writeln!(p.out, "<p>{}</p>", esc(&t));
            }
            FixPart::Command(c) => {
                let _ = writeln!(p.out, "<pre class=\"cmd\"><code>{}</code></pre>", esc(&c));
            }
        }
    }
    p.push("</article>\n");
}

/// The roles with their addresses, and the evidence that made them.
fn roles(p: &mut Page, d: &Diagnosis) {
    let r = &d.topology.roles;
    p.push("<table><thead><tr><th>role</th><th>addresses</th></tr></thead><tbody>\n");
    for (name, addrs) in [
        ("proxy VM", &r.proxy),
        ("build VM", &r.build_vm),
        ("health probe", &r.probe),
        ("Private Link NAT", &r.private_link_nat),
        ("ACI", &r.aci),
    ] {
        let list = addrs
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            p.out,
            "<tr><td>{name}</td><td class=\"mono\">{}</td></tr>",
            if list.is_empty() {
                "<span class=\"muted\">none seen</span>".to_string()
            } else {
                esc(&list).into_owned()
            }
        );
    }
    p.push("</tbody></table>\n");
    if !d.topology.evidence.is_empty() {
        p.push("<div class=\"label\">Evidence</div><ul>");
        for e in &d.topology.evidence {
            let _ = write!(p.out, "<li>{}</li>", esc(e));
        }
        p.push("</ul>\n");
    }
}

/// What became of a session as the report shows it: the hop's outcome
/// ([`outcome`]), except that a flow-log view without counters (`Unknown`)
/// that a capture saw answered is answered (the capture's packets are the
/// better evidence; the hop counts both as established).
pub(super) fn shown_outcome(s: &Session) -> Outcome {
    match outcome(s) {
        Outcome::Unknown if s.resp.pkts > 0 => Outcome::Ok,
        o => o,
    }
}

/// What became of a session, in words and tone.
fn outcome_cell(o: Outcome) -> String {
    let (tone, word) = match o {
        Outcome::Ok => (Tone::Ok, "answered"),
        Outcome::Blocked => (Tone::Bad, "no answer"),
        Outcome::Rejected => (Tone::Bad, "refused"),
        Outcome::Interrupted => (Tone::Bad, "cut mid-way"),
        Outcome::Unknown => (Tone::None, "no counters"),
    };
    tagged(tone, word)
}

/// A table per hop of its sessions (the first [`SESSION_ROWS`]): times
/// of day (the dates are in the timeline's caption and the tooltips), names
/// of NSGs and inputs shortened with the full text in the tooltip.
fn hop_sessions(p: &mut Page, d: &Diagnosis, sessions: &[Session], inputs: &[&str], level: u8) {
    for h in d.hops.iter().filter(|h| !h.sessions.is_empty()) {
        let _ = writeln!(
            p.out,
            "<h{level}>{} — {} session(s)</h{level}>",
            esc(h.hop.label()),
            h.sessions.len()
        );
        p.push(
            "<table class=\"small\"><thead><tr><th>first packet, duration</th>\
             <th>session</th><th>state, history</th><th>outcome</th><th class=\"n\">SYN rx</th>\
             <th class=\"n\">packets out/back</th><th>flow log</th><th>seen by</th></tr></thead><tbody>\n",
        );
        for s in h
            .sessions
            .iter()
            .take(SESSION_ROWS)
            .filter_map(|&i| sessions.get(i))
        {
            let flow = s.flow.as_ref().map_or_else(String::new, |f| {
                let mut t = f
                    .decision
                    .map_or_else(String::new, |d| esc(d.as_str()).into_owned());
                if let Some(r) = &f.rule {
                    let _ = write!(t, " by {}", esc(r));
                }
                if let Some(n) = &f.nsg {
                    let id = crate::resource_id::ResourceId::parse(n);
                    let _ = write!(
                        t,
                        " in <span title=\"{}\">{}</span>",
                        esc(n),
                        esc(id.name().unwrap_or(n))
                    );
                }
                t
            });
            let seen: Vec<&str> = s
                .seen_by
                .iter()
                .filter_map(|k| inputs.get(k as usize).copied())
                .collect();
            let seen = format!(
                "<span title=\"{}\">{}</span>",
                esc(&seen.join("\n")),
                esc(&seen_summary(&seen))
            );
            let first = rfc3339(s.first_ts, 3);
            let (from, to) = endpoints(s);
            let _ = writeln!(
                p.out,
                "<tr><td class=\"mono nw\" title=\"{}\">{}<br>{:.3} s</td>\
                 <td class=\"mono\">{} <span class=\"nw\">{from}</span> → <span class=\"nw\">{to}</span></td>\
                 <td class=\"mono nw\">{}<br>{}</td><td>{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}/{}</td><td>{flow}</td><td>{seen}</td></tr>",
                esc(&first),
                esc(first.get(11..23).unwrap_or(&first)),
                (s.last_ts - s.first_ts) as f64 / 1e9,
                s.proto.as_str(),
                s.state.as_str(),
                esc(s.history.as_str()),
                outcome_cell(shown_outcome(s)),
                s.syn_retransmits,
                s.orig.pkts,
                s.resp.pkts,
            );
        }
        p.push("</tbody></table>\n");
        if h.sessions.len() > SESSION_ROWS {
            let _ = writeln!(
                p.out,
                "<p class=\"small muted\">… and {} more: <code>aibnet sessions</code> and the JSON list them all.</p>",
                h.sessions.len() - SESSION_ROWS
            );
        }
    }
}

/// A session's two ends, `10.1.0.4:60908` and `10.1.0.6:22`.
fn endpoints(s: &Session) -> (String, String) {
    (
        format!("{}:{}", s.orig_h, s.orig_p),
        format!("{}:{}", s.resp_h, s.resp_p),
    )
}

/// The inputs that saw a session, short: capture files by name, flow-log
/// blobs counted (`proxy.pcap, segment.pcap, 2 flow-log blobs`).
fn seen_summary(paths: &[&str]) -> String {
    let short = crate::ingest::short_paths(paths.iter().copied());
    // Captures by their file name alone: the directory is the same for a
    // run's capture points, and the tooltip has the full paths.
    short
        .split(", ")
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every input with what was read from it.
fn inputs_table(p: &mut Page, inputs: &[InputReport]) {
    if inputs.is_empty() {
        p.push("<p class=\"muted\">No input could be opened.</p>\n");
        return;
    }
    p.push(
        "<table class=\"small\"><thead><tr><th>input</th><th>format</th><th class=\"n\">packets/tuples</th>\
         <th class=\"n\">decoded</th><th>first</th><th>last</th><th>stopped early</th></tr></thead><tbody>\n",
    );
    for i in inputs {
        let ts = |t: Option<i64>| t.map_or_else(String::new, |t| rfc3339(t, 3));
        let _ = writeln!(
            p.out,
            "<tr><td class=\"path\"><code>{}</code></td><td>{}{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
            esc(&i.path),
            i.format.as_str(),
            if i.gzip { "+gz" } else { "" },
            i.packets,
            i.decoded,
            ts(i.first_ts),
            ts(i.last_ts),
            esc(i.error.as_deref().unwrap_or(""))
        );
    }
    p.push("</tbody></table>\n");
}

/// What could not be analysed, with the reason and byte offset.
fn skipped_list(p: &mut Page, skipped: &[Skipped]) {
    if skipped.is_empty() {
        return;
    }
    p.push("<h3>Not analysed</h3><ul class=\"small path\">");
    for s in skipped {
        let at = s
            .offset
            .map_or_else(String::new, |o| format!(" at byte offset {o}"));
        let _ = write!(
            p.out,
            "<li><code>{}</code>{at}: {}</li>",
            esc(&s.path),
            esc(&s.reason)
        );
    }
    p.push("</ul>\n");
}

/// Write the `builds` page: the summary, the runs table (each run links to
/// its section) and a section per run with its own pictures.
pub(crate) fn write_builds(w: &mut dyn Write, b: &Builds) -> std::io::Result<()> {
    let s = b.summary();
    let count = |v: Verdict| s.by_verdict.get(v.as_str()).copied().unwrap_or(0);
    let (tone, word, line) = if b.runs.is_empty() {
        (
            Tone::None,
            "NO RUN",
            "No Image Builder run found (no proxy port 60000/60001 or SSH/WinRM 22/5986 between VNet addresses).".to_string(),
        )
    } else if count(Verdict::Broken) > 0 {
        (
            Tone::Bad,
            "BROKEN",
            format!("{} of {} runs broken", count(Verdict::Broken), s.runs),
        )
    } else if count(Verdict::Inconclusive) > 0 {
        (
            Tone::Warn,
            "INCONCLUSIVE",
            format!(
                "{} of {} runs inconclusive, none broken",
                count(Verdict::Inconclusive),
                s.runs
            ),
        )
    } else {
        (Tone::Ok, "HEALTHY", format!("all {} runs healthy", s.runs))
    };
    let mut p = Page::new(&format!("aibnet builds: {} run(s)", b.runs.len()));
    p.push("<h1>aibnet builds: every Image Builder run, diagnosed</h1>\n");
    let _ = writeln!(
        p.out,
        "<div class=\"banner {c}\"><span class=\"word st {c}\">{} {word}</span> — {}</div>",
        tone.symbol(),
        esc(&line),
        c = tone.class()
    );
    p.push("<ul>");
    for l in super::builds_view::summary_lines(b) {
        let _ = write!(p.out, "<li>{}</li>", esc(&l));
    }
    p.push("</ul>\n");
    if !b.runs.is_empty() {
        p.push(
            "<h2 id=\"runs\">Runs</h2>\n<table class=\"small\"><thead><tr><th>run</th><th>start (UTC)</th>\
             <th>build</th><th>proxy / ACI → build VM</th><th>verdict</th><th>first broken hop</th>\
             <th>findings</th></tr></thead><tbody>\n",
        );
        for r in &b.runs {
            let [start, end, os, topo, client, vm, verdict, hop, finding] =
                super::builds_view::row(r);
            let _ = writeln!(
                p.out,
                "<tr><td><a href=\"#{}\"><code>{}</code></a></td><td class=\"mono\">{}<br>to {}</td>\
                 <td>{} {}</td><td class=\"mono\">{}<br>→ {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&run_anchor(&r.id)),
                esc(&r.id),
                esc(&start),
                esc(&end),
                esc(&os),
                esc(&topo),
                esc(&client),
                esc(&vm),
                tagged(Tone::of_verdict(r.diagnosis.verdict), &verdict),
                esc(&hop),
                esc(&finding).replace(", ", ",<br>")
            );
        }
        p.push("</tbody></table>\n");
    }
    for (k, r) in b.runs.iter().enumerate() {
        let d = &r.diagnosis;
        let _ = writeln!(
            p.out,
            "<section id=\"{}\"><h2>Run <code>{}</code> {}</h2>\
             <p class=\"small\">{} to {} · {} session(s) · <a href=\"#runs\">back to the runs</a></p>",
            esc(&run_anchor(&r.id)),
            esc(&r.id),
            tagged(Tone::of_verdict(d.verdict), d.verdict.as_str()),
            esc(&rfc3339(r.start, 3)),
            esc(&rfc3339(r.end, 3)),
            r.sessions
        );
        banner(&mut p, d, &format!("{} input(s)", r.inputs.len()));
        let inputs: Vec<&str> = r.inputs.iter().map(String::as_str).collect();
        diagnosis_sections(
            &mut p,
            d,
            &r.session_detail,
            &inputs,
            &format!("r{k}"),
            3,
            false,
        );
        p.push("<section><h3>Inputs with traffic of this run</h3><ul class=\"small\">");
        for i in &r.inputs {
            let _ = write!(p.out, "<li><code>{}</code></li>", esc(i));
        }
        p.push("</ul>");
        if !r.nsgs.is_empty() {
            p.push("<div class=\"label\">NSGs and flow-log targets</div><ul class=\"small\">");
            for n in &r.nsgs {
                let _ = write!(p.out, "<li><code>{}</code></li>", esc(n));
            }
            p.push("</ul>");
        }
        p.push("</section></section>\n");
    }
    p.push("<section><h2>Inputs</h2>\n");
    inputs_table(&mut p, &b.inputs);
    skipped_list(&mut p, &b.skipped);
    p.push("</section>\n");
    w.write_all(p.finish().as_bytes())
}

/// The element id of a run's section.
fn run_anchor(id: &str) -> String {
    format!("run-{id}")
}

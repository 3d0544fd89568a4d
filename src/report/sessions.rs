//! Rendering of `aibnet sessions`: the sessions a filter admits, as the
//! JSON document, NDJSON lines, a table or Markdown.

use super::contract::{InputJson, SessionJson, seen_by};
use super::escape::{md_text, terminal};
use super::{OutputFormat, Render, RenderError, SCHEMA_VERSION, Style, new_table};
use crate::analyze::Analysis;
use crate::ingest::{InputReport, Skipped, short_paths};
use crate::sessions::{Endpoint, Filter, Session};
use crate::time::rfc3339;
use serde::Serialize;
use std::io::Write;

/// The sessions of an analysis that a filter admits: what `aibnet
/// sessions` writes.
pub struct SessionsReport<'a> {
    /// The run.
    pub analysis: &'a Analysis,
    /// Which sessions to show.
    pub filter: &'a Filter,
}

impl Render for SessionsReport<'_> {
    fn render(
        &self,
        format: OutputFormat,
        style: &Style,
        w: &mut dyn Write,
    ) -> Result<(), RenderError> {
        let (a, f) = (self.analysis, self.filter);
        match format {
            OutputFormat::Json => write_json(w, a, f)?,
            OutputFormat::Ndjson => write_ndjson(w, a, f)?,
            OutputFormat::Table => write_table(w, a, f, style)?,
            OutputFormat::Markdown => write_markdown(w, a, f)?,
            OutputFormat::Junit | OutputFormat::Html => {
                return Err(RenderError::Unsupported {
                    format,
                    what: "sessions (JUnit and HTML are for diagnose and builds)",
                });
            }
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct SessionsDoc<'a> {
    schema_version: u32,
    inputs: Vec<InputJson<'a>>,
    sessions: [(); 0],
    skipped: &'a [Skipped],
}

/// Sessions rendered per task when rendering in parallel, and tasks per
/// window (the rendered text of one window is all that is held at once).
const RENDER_CHUNK: usize = 2048;
const RENDER_WINDOW: usize = 64;

/// Render the sessions `f` accepts on the rayon pool, `render` writing one
/// session into a buffer, and write the buffers in session order. Returns
/// how many were written.
fn write_rendered<S: Default + Clone + Send>(
    w: &mut dyn Write,
    a: &Analysis,
    f: &Filter,
    render: impl Fn(&mut Vec<u8>, &mut S, usize, &Session) -> std::io::Result<()> + Sync,
) -> std::io::Result<usize> {
    use rayon::prelude::*;
    let shown: Vec<&Session> = a.sessions.iter().filter(|s| f.admits(s)).collect();
    // Buffers are reused from window to window: fresh ones cost a page fault
    // per 4 KiB of output, and the threads' faults queue on one lock. Each
    // task also keeps a state of `render`'s own (scratch space, caches).
    let mut bufs: Vec<(Vec<u8>, S)> = vec![Default::default(); RENDER_WINDOW];
    for (wi, window) in shown.chunks(RENDER_CHUNK * RENDER_WINDOW).enumerate() {
        let base = wi * RENDER_CHUNK * RENDER_WINDOW;
        bufs.par_iter_mut()
            .zip(window.par_chunks(RENDER_CHUNK))
            .enumerate()
            .try_for_each(|(ci, ((buf, scratch), chunk))| {
                buf.clear();
                for (k, s) in chunk.iter().enumerate() {
                    render(buf, scratch, base + ci * RENDER_CHUNK + k, s)?;
                }
                Ok::<(), std::io::Error>(())
            })?;
        for (b, _) in bufs.iter().take(window.len().div_ceil(RENDER_CHUNK)) {
            w.write_all(b)?;
        }
    }
    Ok(shown.len())
}

/// The JSON document (serde_json's pretty layout; the sessions are
/// rendered in parallel and spliced into the document).
fn write_json(w: &mut dyn Write, a: &Analysis, f: &Filter) -> std::io::Result<()> {
    let doc = SessionsDoc {
        schema_version: SCHEMA_VERSION,
        inputs: a.inputs.iter().map(InputJson::of).collect(),
        sessions: [],
        skipped: &a.skipped,
    };
    let text = super::json::to_vec_pretty(&doc)?;
    // JSON strings hold no raw newline, so this marker is structural.
    const EMPTY: &[u8] = b"\n  \"sessions\": []";
    let at = text
        .windows(EMPTY.len())
        .position(|x| x == EMPTY)
        .ok_or_else(|| std::io::Error::other("sessions marker missing"))?;
    let (head, tail) = text.split_at(at + EMPTY.len() - 1);
    w.write_all(head)?;
    let shown = write_rendered(w, a, f, |buf, scratch: &mut Vec<u8>, i, s| {
        buf.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
        scratch.clear();
        super::json::to_writer_pretty(&mut *scratch, &SessionJson::of(s, &a.inputs))?;
        // Indent the session's own lines two levels deeper.
        let mut rest = scratch.as_slice();
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let (line, after) = rest.split_at(nl + 1);
            buf.extend_from_slice(line);
            buf.extend_from_slice(b"    ");
            rest = after;
        }
        buf.extend_from_slice(rest);
        Ok(())
    })?;
    if shown > 0 {
        w.write_all(b"\n  ")?;
    }
    w.write_all(tail)?;
    writeln!(w)
}

/// One JSON object per session per line.
fn write_ndjson(w: &mut dyn Write, a: &Analysis, f: &Filter) -> std::io::Result<()> {
    let lines =
        super::ndjson::LineWriter::new(&a.inputs, a.sessions.iter().filter(|s| f.admits(s)))?;
    write_rendered(w, a, f, |buf, times, _, s| lines.write(buf, times, s))?;
    Ok(())
}

const HEADERS: [&str; 12] = [
    "proto",
    "originator",
    "responder",
    "state",
    "history",
    "first",
    "duration",
    "orig pkts/bytes",
    "resp pkts/bytes",
    "SYN rx",
    "notes",
    "seen by",
];

fn row(s: &Session, inputs: &[InputReport]) -> [String; 12] {
    let mut notes = Vec::new();
    if let Some(e) = &s.icmp_error {
        notes.push(e.describe());
    }
    if let Some(fl) = &s.flow {
        if let Some(d) = fl.decision {
            notes.push(match &fl.rule {
                Some(r) => format!("{d} by {r}"),
                None => d.to_string(),
            });
        }
        if let Some(n) = &fl.note {
            notes.push(n.to_string());
        }
    }
    [
        s.proto.as_str().to_string(),
        Endpoint(s.orig_h, s.orig_p).to_string(),
        Endpoint(s.resp_h, s.resp_p).to_string(),
        s.state.to_string(),
        s.history.as_str().to_string(),
        rfc3339(s.first_ts, s.ts_digits.min(6)),
        format!("{:.3}s", s.duration_s()),
        format!("{}/{}", s.orig.pkts, shown_bytes(s, &s.orig)),
        format!("{}/{}", s.resp.pkts, shown_bytes(s, &s.resp)),
        if s.syn_retransmits > 0 {
            s.syn_retransmits.to_string()
        } else {
            String::new()
        },
        notes.join("; "),
        short_paths(seen_by(s, inputs)),
    ]
}

/// The bytes a table shows for one direction: payload bytes (Zeek's
/// `orig_bytes`) for captured sessions; for flow-log sessions, which count
/// only whole packets, the logged bytes, headers included (`orig_ip_bytes`).
fn shown_bytes(s: &Session, side: &crate::sessions::Side) -> u64 {
    if s.flow.is_some() {
        side.ip_bytes
    } else {
        side.bytes
    }
}

/// An aligned table.
fn write_table(w: &mut dyn Write, a: &Analysis, f: &Filter, style: &Style) -> std::io::Result<()> {
    let mut t = new_table(style);
    t.set_header(HEADERS);
    for s in a.sessions.iter().filter(|s| f.admits(s)) {
        t.add_row(row(s, &a.inputs).map(|c| terminal(&c).into_owned()));
    }
    writeln!(w, "{t}")
}

/// A Markdown table.
fn write_markdown(w: &mut dyn Write, a: &Analysis, f: &Filter) -> std::io::Result<()> {
    writeln!(w, "| {} |", HEADERS.join(" | "))?;
    writeln!(w, "|{}", "---|".repeat(HEADERS.len()))?;
    for s in a.sessions.iter().filter(|s| f.admits(s)) {
        let cells: Vec<String> = row(s, &a.inputs)
            .iter()
            .map(|c| md_text(c).into_owned())
            .collect();
        writeln!(w, "| {} |", cells.join(" | "))?;
    }
    write_md_skipped(w, &a.skipped)
}

/// The inputs not analysed, as a Markdown list.
pub fn write_md_skipped(w: &mut dyn Write, skipped: &[Skipped]) -> std::io::Result<()> {
    if !skipped.is_empty() {
        writeln!(w, "\n**Not analysed:**\n")?;
        for s in skipped {
            writeln!(w, "- {}", md_text(&s.to_string()))?;
        }
    }
    Ok(())
}

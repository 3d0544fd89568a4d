//! Rendering of `aibnet sessions`: the sessions a filter admits, as the
//! JSON document, NDJSON lines, a table or Markdown.

use super::buffer::TextBuf;
use super::contract::{InputJson, SessionJson, seen_by};
use super::escape::{md_text, terminal};
use super::{OutputFormat, Render, RenderError, SCHEMA_VERSION, Style, new_table};
use crate::analyze::Analysis;
use crate::ingest::{InputReport, Skipped, short_paths};
use crate::sessions::{Endpoint, Filter, Session, SessionList, Visited};
use crate::time::rfc3339;
use serde::Serialize;
use std::io::Write;

/// The sessions of a run that a filter admits: what `aibnet sessions`
/// writes.
pub struct SessionsReport<'a> {
    /// The run: its inputs and what was skipped (its sessions are
    /// `sessions`).
    pub analysis: &'a Analysis,
    /// The run's sessions ([`Analysis::sessions`], or a
    /// [`crate::sessions::Finished`] list that builds them as they are
    /// written).
    pub sessions: &'a dyn SessionList,
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
        let (a, v, f) = (self.analysis, self.sessions, self.filter);
        match format {
            OutputFormat::Json => write_json(w, a, v, f)?,
            OutputFormat::Ndjson => write_ndjson(w, a, v, f)?,
            OutputFormat::Table => write_table(w, a, v, f, style)?,
            OutputFormat::Markdown => write_markdown(w, a, v, f)?,
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
/// window (the rendered text of one window is all that is held at once:
/// ~8 MB of NDJSON of flow-log sessions, which stays in the last-level
/// cache until it is written; 2048 × 64 held 127 MB and was no faster).
const RENDER_CHUNK: usize = 512;
const RENDER_WINDOW: usize = 16;

/// Render the sessions filter `f` admits on the rayon pool, `render` writing one
/// session into a buffer, and write the buffers in session order, the
/// first `lead` bytes of the output left out (a separator `render` writes
/// before every session but the first needs). Returns how many were
/// written.
fn write_rendered<S: Default + Clone + Send>(
    w: &mut dyn Write,
    v: &dyn SessionList,
    f: &Filter,
    mut lead: usize,
    render: impl Fn(&mut TextBuf, &mut S, Visited<'_>) -> std::io::Result<()> + Sync,
) -> std::io::Result<usize> {
    use rayon::prelude::*;
    // Buffers are reused from window to window: fresh ones cost a page fault
    // per 4 KiB of output, and the threads' faults queue on one lock. Each
    // task also keeps a state of `render`'s own (scratch space, caches).
    let mut bufs: Vec<(TextBuf, S)> = vec![Default::default(); RENDER_WINDOW];
    let mut shown = 0;
    // Sessions that are one flow record come as the record (see
    // `SessionList::visit_compact`), filtered and written without being
    // built.
    for window in (0..v.len()).step_by(RENDER_CHUNK * RENDER_WINDOW) {
        let counts: Vec<usize> = bufs
            .par_iter_mut()
            .enumerate()
            .map(|(ci, (buf, scratch))| {
                buf.clear();
                let start = window + ci * RENDER_CHUNK;
                let mut n = 0;
                let mut err = None;
                v.visit_compact(start..start + RENDER_CHUNK, &mut |_, s| {
                    if err.is_none() && s.admitted_by(f) {
                        n += 1;
                        err = render(buf, scratch, s).err();
                    }
                });
                err.map_or(Ok(n), Err)
            })
            .collect::<std::io::Result<_>>()?;
        shown += counts.iter().sum::<usize>();
        for (b, _) in &bufs {
            let b = b.as_slice();
            let skip = lead.min(b.len());
            lead -= skip;
            w.write_all(b.get(skip..).unwrap_or_default())?;
        }
    }
    Ok(shown)
}

/// The JSON document (serde_json's pretty layout; the sessions are
/// rendered in parallel and spliced into the document).
fn write_json(
    w: &mut dyn Write,
    a: &Analysis,
    v: &dyn SessionList,
    f: &Filter,
) -> std::io::Result<()> {
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
    // Every session comes after a comma, the first one's left out.
    let shown = write_rendered(w, v, f, 1, |buf, scratch: &mut Vec<u8>, s| {
        buf.extend(b",\n    ");
        scratch.clear();
        super::json::to_writer_pretty(&mut *scratch, &SessionJson::of(&s.session(), &a.inputs))?;
        // Indent the session's own lines two levels deeper.
        let mut rest = scratch.as_slice();
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let (line, after) = rest.split_at(nl + 1);
            buf.extend(line);
            buf.extend(b"    ");
            rest = after;
        }
        buf.extend(rest);
        Ok(())
    })?;
    if shown > 0 {
        w.write_all(b"\n  ")?;
    }
    w.write_all(tail)?;
    writeln!(w)
}

/// One JSON object per session per line.
fn write_ndjson(
    w: &mut dyn Write,
    a: &Analysis,
    v: &dyn SessionList,
    f: &Filter,
) -> std::io::Result<()> {
    let lines = super::ndjson::LineWriter::new(&a.inputs, v.flow_infos())?;
    write_rendered(w, v, f, 0, |buf, times, s| match s {
        Visited::Built(s) => lines.write(buf, times, s),
        Visited::Record(r, infos) => lines.write_record(buf, times, r, infos),
    })?;
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

/// The rows of the sessions filter `f` admits, cells as `cell` escapes them.
fn rows(
    a: &Analysis,
    v: &dyn SessionList,
    f: &Filter,
    cell: fn(&str) -> std::borrow::Cow<'_, str>,
) -> Vec<[String; 12]> {
    let mut rows = Vec::new();
    v.visit(0..v.len(), &mut |_, s| {
        if f.admits(s) {
            rows.push(row(s, &a.inputs).map(|c| cell(&c).into_owned()));
        }
    });
    rows
}

/// An aligned table.
fn write_table(
    w: &mut dyn Write,
    a: &Analysis,
    v: &dyn SessionList,
    f: &Filter,
    style: &Style,
) -> std::io::Result<()> {
    let mut t = new_table(style);
    t.set_header(HEADERS);
    t.add_rows(rows(a, v, f, terminal));
    writeln!(w, "{t}")
}

/// A Markdown table.
fn write_markdown(
    w: &mut dyn Write,
    a: &Analysis,
    v: &dyn SessionList,
    f: &Filter,
) -> std::io::Result<()> {
    writeln!(w, "| {} |", HEADERS.join(" | "))?;
    writeln!(w, "|{}", "---|".repeat(HEADERS.len()))?;
    for cells in rows(a, v, f, md_text) {
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

//! Rendering of `aibnet sessions`.

use super::{SCHEMA_VERSION, md_cell, new_table};
use crate::analyze::Analysis;
use crate::ingest::{InputReport, Skipped};
use crate::sessions::{ConnState, Filter, FlowInfo, IcmpNote, Session};
use crate::time::{Timestamp, rfc3339};
use serde::Serialize;
use std::io::Write;
use std::net::IpAddr;

/// A session as the JSON contract names it.
#[derive(Serialize)]
pub struct SessionJson<'a> {
    proto: &'static str,
    orig_h: IpAddr,
    orig_p: u16,
    resp_h: IpAddr,
    resp_p: u16,
    first_ts: Timestamp,
    last_ts: Timestamp,
    duration_s: f64,
    state: ConnState,
    history: &'a str,
    orig_pkts: u64,
    orig_bytes: u64,
    orig_ip_bytes: u64,
    resp_pkts: u64,
    resp_bytes: u64,
    resp_ip_bytes: u64,
    syn_retransmits: u32,
    icmp_error: Option<IcmpJson>,
    seen_by: SeenByJson<'a>,
    #[serde(flatten)]
    flow: Option<&'a FlowInfo>,
}

#[derive(Serialize)]
struct IcmpJson {
    #[serde(rename = "type")]
    icmp_type: u8,
    code: u8,
    from: IpAddr,
    description: String,
}

impl IcmpJson {
    fn of(n: &IcmpNote) -> Self {
        IcmpJson {
            icmp_type: n.icmp_type,
            code: n.code,
            from: n.from,
            description: n.describe(),
        }
    }
}

impl<'a> SessionJson<'a> {
    /// View a session for JSON, naming inputs by path.
    pub fn of(s: &'a Session, inputs: &'a [InputReport]) -> Self {
        SessionJson {
            proto: s.proto.as_str(),
            orig_h: s.orig_h,
            orig_p: s.orig_p,
            resp_h: s.resp_h,
            resp_p: s.resp_p,
            first_ts: Timestamp::new(s.first_ts, s.ts_digits),
            last_ts: Timestamp::new(s.last_ts, s.ts_digits),
            duration_s: round6(s.duration_s()),
            state: s.state,
            history: s.history.as_str(),
            orig_pkts: s.orig.pkts,
            orig_bytes: s.orig.bytes,
            orig_ip_bytes: s.orig.ip_bytes,
            resp_pkts: s.resp.pkts,
            resp_bytes: s.resp.bytes,
            resp_ip_bytes: s.resp.ip_bytes,
            syn_retransmits: s.syn_retransmits,
            icmp_error: s.icmp_error.as_ref().map(IcmpJson::of),
            seen_by: SeenByJson { s, inputs },
            flow: s.flow.as_deref(),
        }
    }
}

/// The paths of the inputs that saw a session, serialized as a list without
/// collecting them first.
struct SeenByJson<'a> {
    s: &'a Session,
    inputs: &'a [InputReport],
}

impl Serialize for SeenByJson<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_seq(
            self.s
                .seen_by
                .iter()
                .filter_map(|i| self.inputs.get(i as usize).map(|r| r.path.as_str())),
        )
    }
}

pub(super) fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Paths of the inputs that saw a session.
pub fn seen_by<'a>(s: &Session, inputs: &'a [InputReport]) -> Vec<&'a str> {
    s.seen_by
        .iter()
        .filter_map(|i| inputs.get(i as usize).map(|r| r.path.as_str()))
        .collect()
}

/// An input as the JSON contract names it.
#[derive(Serialize)]
pub struct InputJson<'a> {
    path: &'a str,
    format: &'static str,
    gzip: bool,
    packets: u64,
    decoded: u64,
    used: u64,
    first_ts: Option<String>,
    last_ts: Option<String>,
    not_decoded: &'a std::collections::BTreeMap<&'static str, u64>,
    error: Option<&'a str>,
}

impl<'a> InputJson<'a> {
    /// View an input report for JSON.
    pub fn of(r: &'a InputReport) -> Self {
        InputJson {
            path: &r.path,
            format: r.format.as_str(),
            gzip: r.gzip,
            packets: r.packets,
            decoded: r.decoded,
            used: r.used,
            first_ts: r.first_ts.map(|t| rfc3339(t, r.ts_digits)),
            last_ts: r.last_ts.map(|t| rfc3339(t, r.ts_digits)),
            not_decoded: &r.not_decoded,
            error: r.error.as_deref(),
        }
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

/// Write the JSON document (serde_json's pretty layout; the sessions are
/// rendered in parallel and spliced into the document).
pub fn write_json(w: &mut dyn Write, a: &Analysis, f: &Filter) -> std::io::Result<()> {
    let doc = SessionsDoc {
        schema_version: SCHEMA_VERSION,
        inputs: a.inputs.iter().map(InputJson::of).collect(),
        sessions: [],
        skipped: &a.skipped,
    };
    let text = serde_json::to_vec_pretty(&doc)?;
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
        serde_json::to_writer_pretty(&mut *scratch, &SessionJson::of(s, &a.inputs))?;
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

/// Write one JSON object per session per line.
pub fn write_ndjson(w: &mut dyn Write, a: &Analysis, f: &Filter) -> std::io::Result<()> {
    let lines = super::ndjson::LineWriter::new(&a.inputs)?;
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
        endpoint(s.orig_h, s.orig_p),
        endpoint(s.resp_h, s.resp_p),
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

/// `10.0.0.4:22`, `[fe80::1]:22`.
pub fn endpoint(h: IpAddr, p: u16) -> String {
    match h {
        IpAddr::V4(a) => format!("{a}:{p}"),
        IpAddr::V6(a) => format!("[{a}]:{p}"),
    }
}

/// A short name for an input, enough to tell capture points apart: the last
/// two path components of a capture; for a flow-log blob in the storage
/// layout, the NSG (or flow log) name, the hour and the NIC's MAC.
pub fn short_path(p: &str) -> String {
    if let Some(label) = flowlog_label(p) {
        return label;
    }
    let parts: Vec<&str> = p.rsplitn(3, '/').collect();
    match parts.as_slice() {
        [file, dir, _] => format!("{dir}/{file}"),
        _ => p.to_string(),
    }
}

/// `AIB-BUILD-SUBNET-NSG 2026-11-27T04 mac 000D3A6EA404` for
/// `.../NETWORKSECURITYGROUPS/AIB-BUILD-SUBNET-NSG/y=2026/m=11/d=27/h=04/m=00/macAddress=000D3A6EA404/PT1H.json`.
fn flowlog_label(p: &str) -> Option<String> {
    let parts: Vec<&str> = p.split('/').collect();
    let after = |key: &str| {
        parts
            .iter()
            .position(|x| x.eq_ignore_ascii_case(key))
            .and_then(|i| parts.get(i + 1))
            .copied()
    };
    let value = |prefix: &str| parts.iter().find_map(|x| x.strip_prefix(prefix));
    let mac = value("macAddress=")?;
    let name = after("NETWORKSECURITYGROUPS")
        .or_else(|| after("FLOWLOGS"))
        .unwrap_or("flowlog");
    let hour = match (value("y="), value("m="), value("d="), value("h=")) {
        (Some(y), Some(m), Some(d), Some(h)) => format!(" {y}-{m}-{d}T{h}"),
        _ => String::new(),
    };
    Some(format!("{name}{hour} mac {mac}"))
}

/// Short names of several inputs for a table cell: captures by name,
/// flow-log blobs counted (`proxy.pcap, segment.pcap, 4 flow-log blobs`).
pub fn short_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> String {
    let mut v: Vec<String> = Vec::new();
    let mut blobs = 0;
    for p in paths {
        if flowlog_label(p).is_some() {
            blobs += 1;
            continue;
        }
        let s = short_path(p);
        if !v.contains(&s) {
            v.push(s);
        }
    }
    match blobs {
        0 => {}
        1 => v.push("1 flow-log blob".to_string()),
        n => v.push(format!("{n} flow-log blobs")),
    }
    v.join(", ")
}

/// Write an aligned table.
pub fn write_table(
    w: &mut dyn Write,
    a: &Analysis,
    f: &Filter,
    color: bool,
) -> std::io::Result<()> {
    let mut t = new_table(color);
    t.set_header(HEADERS);
    for s in a.sessions.iter().filter(|s| f.admits(s)) {
        t.add_row(row(s, &a.inputs));
    }
    writeln!(w, "{t}")
}

/// Write a Markdown table.
pub fn write_markdown(w: &mut dyn Write, a: &Analysis, f: &Filter) -> std::io::Result<()> {
    writeln!(w, "| {} |", HEADERS.join(" | "))?;
    writeln!(w, "|{}", "---|".repeat(HEADERS.len()))?;
    for s in a.sessions.iter().filter(|s| f.admits(s)) {
        let cells: Vec<String> = row(s, &a.inputs).iter().map(|c| md_cell(c)).collect();
        writeln!(w, "| {} |", cells.join(" | "))?;
    }
    if !a.skipped.is_empty() {
        writeln!(w, "\n**Not analysed:**\n")?;
        for s in &a.skipped {
            writeln!(w, "- {s}")?;
        }
    }
    Ok(())
}

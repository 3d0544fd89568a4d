//! The pipeline driver: inputs → sessions, in parallel at the edges.
//!
//! Across files, each input gets its own [`SessionTable`] on a rayon worker
//! and the tables merge (associative, so the result does not depend on the
//! order or the thread count); flow-log connections open across hourly blobs
//! are joined after the merge. Inside one large capture, flows are split
//! across threads by [`capture_read`]'s schemes. Run options come in as one
//! value, [`Options`]: nothing here reads the environment.

mod capture_keep;
mod capture_read;
pub mod scan;

use crate::capture::{CaptureError, PacketIter};
use crate::flowlog;
use crate::ingest::{self, Format, Input, InputReport, Limits, Skipped, Source};
use crate::sessions::{Filter, Finished, Session, SessionTable};
use rayon::prelude::*;
use std::path::PathBuf;

/// Captures smaller than this are read by one thread.
pub const PARALLEL_MIN_BYTES: usize = 32 << 20;

/// Everything the session stage produced for a run.
#[derive(Debug, Default)]
pub struct Analysis {
    /// One entry per input that could be opened.
    pub inputs: Vec<InputReport>,
    /// All sessions, coalesced across inputs, sorted by first time.
    pub sessions: Vec<Session>,
    /// What could not be read.
    pub skipped: Vec<Skipped>,
    /// SSH/WinRM clients a scan left out as sweepers of the subnet (the
    /// most hosts they opened 22/5986 to in an hour), for the roles'
    /// evidence: their sessions are not among `sessions`.
    pub sweepers: Vec<(std::net::IpAddr, usize)>,
    /// Hosts receiving the command port that a scan left out because they
    /// sweep SSH/WinRM too (noise on the AIB ports, not proxies), with the
    /// most hosts they reached in an hour.
    pub noise: Vec<(std::net::IpAddr, usize)>,
}

impl Analysis {
    /// Total frames / tuples read over all inputs.
    pub fn packets(&self) -> u64 {
        self.inputs.iter().map(|i| i.packets).sum()
    }

    /// Whether anything at all could be analysed.
    pub fn anything_read(&self) -> bool {
        self.inputs
            .iter()
            .any(|i| i.packets > 0 || (i.error.is_none() && i.format != Format::Unknown))
    }
}

/// How one large capture is split across threads. The default, [`IntraFile::Scan`],
/// won on both benchmark captures (benches/RESULTS.md); the others stay for
/// measuring that again (`AIBNET_INTRA_FILE=sequential|buffered|scan`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IntraFile {
    /// Every thread walks all frames and keeps the flows of its own shard
    /// (flow-key hash): no buffers and no hand-over between threads; each
    /// frame is framed and decoded once per thread.
    #[default]
    Scan,
    /// Chunks decoded in parallel into per-shard buffers, then each shard
    /// applies its buffers in file order (the first scheme).
    Buffered,
    /// One thread reads the whole file.
    Sequential,
}

/// How a run reads its inputs: what it keeps, how it splits work, and what
/// it may hold in memory. Readers drop flows the filter's host and port
/// conditions reject before they build sessions of them.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// What to keep (the readers apply its host and port conditions).
    pub filter: Filter,
    /// How one large capture is split across threads.
    pub intra_file: IntraFile,
    /// Split a capture across threads even under [`PARALLEL_MIN_BYTES`], so
    /// that tests and fuzzing can compare the schemes on small inputs.
    pub split_small: bool,
    /// Bounds on what loading one input may hold in memory.
    pub limits: Limits,
    /// How storage locations are downloaded (concurrency, cache).
    pub remote: ingest::blob::RemoteOptions,
    /// The time window storage locations are listed for (a scan has its
    /// own, [`scan::ScanOptions::since`] and `until`, and sets this one).
    pub window: ingest::blob::Window,
    /// Which flow logs are read (`--nsg`, `--mac`, `--vnet`, `--subnet`).
    pub select: ingest::Selection,
}

/// Run the pipeline over the user's paths (files, directories walked
/// recursively, `-` for stdin).
pub fn analyze_paths(paths: &[PathBuf], opts: &Options) -> Analysis {
    let (mut a, sessions) = analyze_paths_finished(paths, opts);
    a.sessions = crate::phase::timed("build sessions", || sessions.into_vec());
    a
}

/// [`analyze_paths`], the sessions left as a [`Finished`] list that builds
/// each one as it is read (the analysis' own `sessions` empty): for a
/// writer that reads them once, in order (`aibnet sessions`), millions of
/// sessions are never held at once.
pub fn analyze_paths_finished(paths: &[PathBuf], opts: &Options) -> (Analysis, Finished) {
    let discovery = ingest::Discovery {
        window: opts.window,
        remote: opts.remote.clone(),
        limits: opts.limits,
        select: opts.select.clone(),
    };
    let (mut sources, errors) = ingest::discover_with(paths, &discovery);
    // Inputs are numbered in path order, so the output does not depend on
    // the order the paths were named in.
    sources.sort();
    let (mut a, sessions) = analyze_sources_finished(&sources, opts);
    a.skipped.splice(
        0..0,
        errors.into_iter().map(|e| Skipped {
            path: e.path,
            offset: None,
            reason: e.reason,
        }),
    );
    (a, sessions)
}

/// Run the pipeline over already-discovered sources.
pub fn analyze_sources(sources: &[Source], opts: &Options) -> Analysis {
    let (mut a, sessions) = analyze_sources_finished(sources, opts);
    a.sessions = crate::phase::timed("build sessions", || sessions.into_vec());
    a
}

/// [`analyze_sources`], the sessions left to build as they are read.
fn analyze_sources_finished(sources: &[Source], opts: &Options) -> (Analysis, Finished) {
    let per_input: Vec<(InputReport, SessionTable, Vec<Skipped>)> =
        crate::phase::timed("read", || {
            sources
                .par_iter()
                .enumerate()
                .map(|(idx, src)| match ingest::load(src, &opts.limits) {
                    Ok(input) => analyze_input(&input, idx as u32, opts),
                    Err(e) => {
                        // Keep a report for it too: sessions name their inputs by
                        // position, so every source must have one.
                        let mut report = InputReport::new(e.path.clone(), Format::Unknown, false);
                        report.error = Some(e.reason.clone());
                        let skip = Skipped {
                            path: e.path,
                            offset: None,
                            reason: e.reason,
                        };
                        (report, SessionTable::new(), vec![skip])
                    }
                })
                .collect()
        });
    assemble_finished(per_input)
}

/// One input held in memory (a blob another program read), analysed as
/// [`analyze_paths`] analyses a file: the same sessions and report.
pub fn analyze_bytes(path: String, raw: Vec<u8>, opts: &Options) -> Analysis {
    let input = ingest::from_bytes(path, raw, &opts.limits);
    assemble(vec![analyze_input(&input, 0, opts)])
}

/// The inputs' reports and tables, in input order, as one analysis.
fn assemble(per_input: Vec<(InputReport, SessionTable, Vec<Skipped>)>) -> Analysis {
    let (mut analysis, sessions) = assemble_finished(per_input);
    analysis.sessions = crate::phase::timed("build sessions", || sessions.into_vec());
    analysis
}

/// [`assemble`], the sessions left to build as they are read (the
/// analysis' own `sessions` empty).
fn assemble_finished(
    per_input: Vec<(InputReport, SessionTable, Vec<Skipped>)>,
) -> (Analysis, Finished) {
    let mut analysis = Analysis::default();
    let mut tables = Vec::with_capacity(per_input.len());
    for (report, table, skipped) in per_input {
        analysis.inputs.push(report);
        analysis.skipped.extend(skipped);
        tables.push(table);
    }
    let merged = crate::phase::timed("concat inputs", || SessionTable::concat(tables));
    let sessions = flowlog::finish_run(merged, &analysis.inputs);
    (analysis, sessions)
}

/// Analyse one loaded input as input number `idx` of the run.
pub fn analyze_input(
    input: &Input,
    idx: u32,
    opts: &Options,
) -> (InputReport, SessionTable, Vec<Skipped>) {
    analyze_input_keeping(input, idx, opts, None)
}

/// [`analyze_input`], a capture's TCP/UDP flows tested by `keep` before
/// they become sessions (see [`capture_read::FlowTest`]): the others are
/// counted, never stored.
pub(crate) fn analyze_input_keeping(
    input: &Input,
    idx: u32,
    opts: &Options,
    keep: capture_read::FlowTest<'_>,
) -> (InputReport, SessionTable, Vec<Skipped>) {
    let (mut report, mut skipped) = input.start_report();
    let table = match input.format {
        Format::Pcap | Format::Pcapng => match PacketIter::new(&input.bytes, input.format) {
            Ok(iter) => {
                let parallel = (opts.split_small || input.bytes.len() >= PARALLEL_MIN_BYTES)
                    && rayon::current_num_threads() > 1;
                let (table, err) =
                    capture_read::read(iter, idx, opts.intra_file, parallel, keep, &mut report);
                if let Some(e) = err {
                    report.error = Some(e.to_string());
                    skipped.push(capture_skip(input, e));
                }
                table
            }
            Err(e) => {
                report.error = Some(e.to_string());
                skipped.push(capture_skip(input, e));
                SessionTable::new()
            }
        },
        Format::FlowLog => flowlog::read_input(input, idx, &opts.filter, &mut report, &mut skipped)
            .unwrap_or_default(),
        Format::Json | Format::Unknown => {
            let (reason, offset) = not_evidence_reason(input);
            if reason != ingest::not_evidence::JSON {
                // Started like JSON but is not (a log whose lines start with
                // `[`): not "json" in the input's accounting either.
                report.format = Format::Unknown;
            }
            report.error = Some(reason.clone());
            skipped.push(Skipped {
                path: input.path.clone(),
                offset: Some(offset),
                reason,
            });
            SessionTable::new()
        }
    };
    (report, table, skipped)
}

/// Why an input that is neither a capture nor a flow log is skipped, and
/// the byte offset that shows it: says what it is. Content that starts like
/// JSON but does not parse (a log whose lines start with `[`) is text, not
/// "JSON"; JSON that ends before it closes is reported as cut short, where
/// it ends (a flow log downloaded as its first bytes were written has not
/// yet shown what it is, and must not be summed up as notes).
fn not_evidence_reason(input: &Input) -> (String, u64) {
    let bytes: &[u8] = &input.bytes;
    if bytes.is_empty() {
        return ("empty file".to_string(), 0);
    }
    if input.format == Format::Json {
        // JSON whether or not its strings are valid UTF-8 (a configuration
        // file with a stray byte is still configuration).
        match serde_json::from_str::<serde::de::IgnoredAny>(&String::from_utf8_lossy(bytes)) {
            Ok(_) => return (ingest::not_evidence::JSON.to_string(), 0),
            Err(e) if e.is_eof() => {
                return (
                    format!(
                        "JSON cut short: the input ends ({} bytes) before its value closes, \
                         so it does not show whether it is a flow log (truncated, e.g. \
                         downloaded while still being written?)",
                        bytes.len()
                    ),
                    bytes.len() as u64,
                );
            }
            Err(_) => {}
        }
    }
    if looks_like_text(bytes) {
        let text = if input.gzip {
            ingest::not_evidence::GZIP_TEXT
        } else {
            ingest::not_evidence::TEXT
        };
        return (text.to_string(), 0);
    }
    (
        "not a packet capture or flow log (unknown format)".to_string(),
        0,
    )
}

/// Whether the start of `bytes` is text, in UTF-8 or a legacy 8-bit
/// encoding: no NUL or other control byte but tab, newline, carriage return
/// and form feed (captures and other binary data have them within bytes).
fn looks_like_text(bytes: &[u8]) -> bool {
    let head = bytes.get(..TEXT_SNIFF_LEN).unwrap_or(bytes);
    !head
        .iter()
        .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)) || b == 0x7f)
}

/// How much of an input [`looks_like_text`] reads.
const TEXT_SNIFF_LEN: usize = 64 * 1024;

/// A capture fault as a skip. Offsets of gzip-compressed inputs count
/// decompressed bytes, which the reason says.
fn capture_skip(input: &Input, e: CaptureError) -> Skipped {
    let mut reason = e.reason;
    if input.gzip {
        reason.push_str(" (offset into the decompressed data)");
    }
    Skipped {
        path: input.path.clone(),
        offset: Some(e.offset),
        reason,
    }
}

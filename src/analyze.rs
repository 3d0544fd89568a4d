//! The pipeline driver: inputs → sessions, in parallel at the edges.
//!
//! Across files, each input gets its own [`SessionTable`] on a rayon worker
//! and the tables merge. Inside one large capture, frames are cut into
//! chunks at record boundaries and processed in windows: the chunks of a
//! window are decoded in parallel into per-shard buffers (shard = hash of the
//! flow key), then every shard applies its packets, in file order, to its own
//! table. A flow lives in one shard, so no merge of half-sessions is needed
//! and the result is the same for any thread count.

use crate::capture::{self, CaptureError, PacketIter};
use crate::decode::{self, PacketSummary, SkipReason};
use crate::ingest::{self, Format, Input, Source};
use crate::sessions::{self, PacketStats, Session, SessionTable};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

/// Captures smaller than this are read by one thread.
pub const PARALLEL_MIN_BYTES: usize = 32 << 20;
/// Bytes per chunk of a large capture.
const CHUNK_BYTES: usize = 4 << 20;

/// What happened to one input.
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    /// Path as given (or found); `-` for stdin.
    pub path: String,
    /// Detected format.
    pub format: Format,
    /// Whether it was gzip-compressed.
    pub gzip: bool,
    /// Frames (or flow tuples) read.
    pub packets: u64,
    /// Frames (or tuples) turned into session updates.
    pub decoded: u64,
    /// Of those, the ones that went into sessions: all decoded frames of a
    /// capture; the flow-log tuples a `--host`/`--port` filter admitted.
    pub used: u64,
    /// First timestamp (ns since the epoch), if any packet was read.
    #[serde(skip)]
    pub first_ts: Option<i64>,
    /// Last timestamp (ns since the epoch).
    #[serde(skip)]
    pub last_ts: Option<i64>,
    /// Timestamp precision of the input, in decimal digits.
    #[serde(skip)]
    pub ts_digits: u8,
    /// Frames not used, by reason.
    pub not_decoded: BTreeMap<&'static str, u64>,
    /// Why reading stopped early (with the byte offset), if it did.
    pub error: Option<String>,
}

impl InputReport {
    /// A report for an input nothing has been read from yet.
    pub fn new(path: String, format: Format, gzip: bool) -> Self {
        InputReport {
            path,
            format,
            gzip,
            packets: 0,
            decoded: 0,
            used: 0,
            first_ts: None,
            last_ts: None,
            ts_digits: 6,
            not_decoded: BTreeMap::new(),
            error: None,
        }
    }
}

/// Something that could not be read: a whole input or its tail.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The input.
    pub path: String,
    /// Byte offset of the fault, when it has one.
    pub offset: Option<u64>,
    /// What was wrong.
    pub reason: String,
}

impl std::fmt::Display for Skipped {
    /// `path at byte N: reason`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{} at byte offset {o}: {}", self.path, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

/// Everything the session stage produced for a run.
#[derive(Debug, Default)]
pub struct Analysis {
    /// One entry per input that could be opened.
    pub inputs: Vec<InputReport>,
    /// All sessions, coalesced across inputs, sorted by first time.
    pub sessions: Vec<Session>,
    /// What could not be read.
    pub skipped: Vec<Skipped>,
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

impl IntraFile {
    /// The scheme named by `AIBNET_INTRA_FILE`, or the default.
    pub fn from_env() -> Self {
        match std::env::var("AIBNET_INTRA_FILE").as_deref() {
            Ok("buffered") => IntraFile::Buffered,
            Ok("sequential") => IntraFile::Sequential,
            _ => IntraFile::Scan,
        }
    }
}

/// What the caller will look at, and how work is split. Readers drop flows
/// that no host/port filter admits before they build sessions of them.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only flows with one of these addresses at either end (empty: all).
    pub hosts: Vec<IpAddr>,
    /// Only flows with one of these ports at either end (empty: all).
    pub ports: Vec<u16>,
    /// How one large capture is split across threads.
    pub intra_file: IntraFile,
    /// Split a capture across threads even under [`PARALLEL_MIN_BYTES`], so
    /// that tests and fuzzing can compare the schemes on small inputs.
    pub split_small: bool,
}

impl Scope {
    /// Everything, split the default way (or as `AIBNET_INTRA_FILE` says).
    pub fn all() -> Self {
        Scope {
            intra_file: IntraFile::from_env(),
            ..Scope::default()
        }
    }

    /// Whether a flow between these endpoints can pass the host and port
    /// filters. A flow-log session has exactly its tuples' endpoints, so
    /// dropping tuples that fail this is the same as filtering sessions
    /// afterwards. Captures are not pre-filtered: an ICMP error is linked to
    /// the session it names, which may fail the filter while the error's own
    /// endpoints pass it.
    #[inline]
    pub fn admits(&self, a: IpAddr, a_port: u16, b: IpAddr, b_port: u16) -> bool {
        (self.hosts.is_empty() || self.hosts.iter().any(|h| *h == a || *h == b))
            && (self.ports.is_empty() || self.ports.iter().any(|p| *p == a_port || *p == b_port))
    }

    /// Whether no host or port filter is set.
    pub fn is_everything(&self) -> bool {
        self.hosts.is_empty() && self.ports.is_empty()
    }
}

/// A stage that turns a non-capture input into sessions (flow logs). Lets the
/// flow-log stage plug into the driver without the driver knowing its types.
pub type OtherReader =
    fn(&Input, u32, &Scope, &mut InputReport, &mut Vec<Skipped>) -> Option<SessionTable>;

/// Run the pipeline over the user's paths.
pub fn analyze_paths(paths: &[PathBuf]) -> Analysis {
    analyze_paths_with(paths, &Scope::all())
}

/// Run the pipeline over the user's paths, keeping what `scope` admits.
pub fn analyze_paths_with(paths: &[PathBuf], scope: &Scope) -> Analysis {
    let (mut sources, errors) = ingest::discover(paths);
    // Inputs are numbered in path order, so the output does not depend on
    // the order the paths were named in.
    sources.sort();
    let mut a = analyze_sources_with(&sources, scope);
    a.skipped.splice(
        0..0,
        errors.into_iter().map(|e| Skipped {
            path: e.path,
            offset: None,
            reason: e.reason,
        }),
    );
    a
}

/// Run the pipeline over already-discovered sources.
pub fn analyze_sources(sources: &[Source]) -> Analysis {
    analyze_sources_with(sources, &Scope::all())
}

/// Run the pipeline over already-discovered sources, keeping what `scope`
/// admits.
pub fn analyze_sources_with(sources: &[Source], scope: &Scope) -> Analysis {
    let per_input: Vec<(Option<InputReport>, SessionTable, Vec<Skipped>)> =
        crate::phase::timed("read", || {
            sources
                .par_iter()
                .enumerate()
                .map(|(idx, src)| match ingest::load(src) {
                    Ok(input) => {
                        let (report, table, skipped) =
                            analyze_input_with(&input, idx as u32, scope);
                        (Some(report), table, skipped)
                    }
                    Err(e) => {
                        // Keep a report for it too: sessions name their inputs by
                        // position, so every source must have one.
                        let mut report = InputReport::new(e.path.clone(), Format::Unknown, false);
                        report.error = Some(e.reason.clone());
                        (
                            Some(report),
                            SessionTable::new(),
                            vec![Skipped {
                                path: e.path,
                                offset: None,
                                reason: e.reason,
                            }],
                        )
                    }
                })
                .collect()
        });
    let mut analysis = Analysis::default();
    let mut tables = Vec::with_capacity(per_input.len());
    for (report, table, skipped) in per_input {
        analysis.inputs.extend(report);
        analysis.skipped.extend(skipped);
        tables.push(table);
    }
    let merged = crate::phase::timed("concat inputs", || SessionTable::concat(tables));
    analysis.sessions = crate::phase::timed("join, sort, coalesce", || merged.finish());
    crate::phase::timed("join flows across blobs", || {
        crate::flowlog::join_continuations(&mut analysis.sessions, &analysis.inputs)
    });
    analysis
}

/// Analyse one loaded input as input number `idx` of the run.
pub fn analyze_input(input: &Input, idx: u32) -> (InputReport, SessionTable, Vec<Skipped>) {
    analyze_input_with(input, idx, &Scope::all())
}

/// Analyse one loaded input as input number `idx` of the run, keeping what
/// `scope` admits.
pub fn analyze_input_with(
    input: &Input,
    idx: u32,
    scope: &Scope,
) -> (InputReport, SessionTable, Vec<Skipped>) {
    let mut report = InputReport::new(input.path.clone(), input.format, input.gzip);
    let mut skipped = Vec::new();
    if let Some(w) = &input.warning {
        skipped.push(Skipped {
            path: input.path.clone(),
            offset: None,
            reason: w.clone(),
        });
    }
    let table = match input.format {
        Format::Pcap | Format::Pcapng => match PacketIter::new(&input.bytes, input.format) {
            Ok(iter) => {
                let parallel = (scope.split_small || input.bytes.len() >= PARALLEL_MIN_BYTES)
                    && rayon::current_num_threads() > 1;
                let (table, err) = match scope.intra_file {
                    IntraFile::Scan if parallel => read_scan(iter, idx, &mut report),
                    IntraFile::Buffered if parallel => read_buffered(iter, idx, &mut report),
                    _ => read_sequential(iter, idx, &mut report),
                };
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
        Format::FlowLog => match flowlog_reader() {
            Some(reader) => {
                reader(input, idx, scope, &mut report, &mut skipped).unwrap_or_default()
            }
            None => {
                let reason = "flow logs are not supported by this build".to_string();
                report.error = Some(reason.clone());
                skipped.push(Skipped {
                    path: input.path.clone(),
                    offset: None,
                    reason,
                });
                SessionTable::new()
            }
        },
        Format::Json | Format::Unknown => {
            let reason = if input.bytes.is_empty() {
                "empty file".to_string()
            } else if input.format == Format::Json {
                "JSON that is neither a flow log nor a capture (configuration files go to `aibnet check`)".to_string()
            } else {
                "not a packet capture or flow log (unknown format)".to_string()
            };
            report.error = Some(reason.clone());
            skipped.push(Skipped {
                path: input.path.clone(),
                offset: Some(0),
                reason,
            });
            SessionTable::new()
        }
    };
    (report, table, skipped)
}

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

/// The flow-log stage's entry point.
fn flowlog_reader() -> Option<OtherReader> {
    Some(crate::flowlog::read_input)
}

/// Per-chunk (or per-file) counters, merged into the input's report.
#[derive(Default)]
struct Counts {
    stats: PacketStats,
    first: Option<i64>,
    last: Option<i64>,
    digits: u8,
    skips: BTreeMap<SkipReason, u64>,
}

impl Counts {
    #[inline]
    fn frame(&mut self, p: &capture::RawPacket<'_>) {
        self.stats.read += 1;
        self.first = Some(self.first.map_or(p.ts_ns, |f| f.min(p.ts_ns)));
        self.last = Some(self.last.map_or(p.ts_ns, |l| l.max(p.ts_ns)));
        self.digits = self.digits.max(p.ts_digits);
    }

    fn add(&mut self, o: Counts) {
        self.stats.read += o.stats.read;
        self.stats.decoded += o.stats.decoded;
        self.stats.icmp_linked += o.stats.icmp_linked;
        self.first = match (self.first, o.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = match (self.last, o.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.digits = self.digits.max(o.digits);
        for (k, v) in o.skips {
            *self.skips.entry(k).or_default() += v;
        }
    }

    fn into_report(self, r: &mut InputReport) {
        r.packets = self.stats.read;
        r.decoded = self.stats.decoded;
        r.used = self.stats.decoded;
        r.first_ts = self.first;
        r.last_ts = self.last;
        r.ts_digits = self.digits.max(1);
        for (k, v) in self.skips {
            r.not_decoded.insert(k.as_str(), v);
        }
    }
}

fn read_sequential(
    iter: PacketIter<'_>,
    idx: u32,
    report: &mut InputReport,
) -> (SessionTable, Option<CaptureError>) {
    let mut table = SessionTable::new();
    let mut c = Counts::default();
    let mut err = None;
    let mut batch = Batch::new();
    for item in iter {
        match item {
            Ok(p) => {
                c.frame(&p);
                match decode::decode(&p) {
                    Ok(s) => {
                        c.stats.decoded += 1;
                        batch.push(&mut table, s, idx, &mut c);
                    }
                    Err(r) => *c.skips.entry(r).or_default() += 1,
                }
            }
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    batch.flush(&mut table, idx, &mut c);
    c.into_report(report);
    (table, err)
}

/// Decoded packets on their way to a session table, handed over
/// [`Batch::SIZE`] at a time (see [`SessionTable::add_batch`]).
struct Batch(Vec<PacketSummary>);

impl Batch {
    const SIZE: usize = crate::sessions::BATCH;

    fn new() -> Self {
        Batch(Vec::with_capacity(Batch::SIZE))
    }

    #[inline]
    fn push(&mut self, table: &mut SessionTable, p: PacketSummary, idx: u32, c: &mut Counts) {
        self.0.push(p);
        if self.0.len() >= Batch::SIZE {
            self.flush(table, idx, c);
        }
    }

    fn flush(&mut self, table: &mut SessionTable, idx: u32, c: &mut Counts) {
        c.stats.icmp_linked += table.add_batch(&self.0, idx);
        self.0.clear();
    }
}

/// Where a decoded packet goes when a capture is split by flow.
enum Route {
    /// Not ICMP: the shard of its flow.
    Flow(usize),
    /// ICMP: kept, in file order, for the ICMP pass ([`IcmpPass`]); an
    /// error about a TCP or UDP flow is first tried, at its place in the
    /// file, against that flow's sessions in the flow's shard (`link`).
    Icmp { link: Option<usize> },
}

fn route(s: &PacketSummary, shards: usize) -> Route {
    if !matches!(s.tuple.proto, decode::proto::ICMP | decode::proto::ICMPV6) {
        return Route::Flow(sessions::shard(&s.tuple, shards));
    }
    Route::Icmp {
        link: flow_named(s).map(|about| sessions::shard(&about, shards)),
    }
}

/// The TCP or UDP flow an ICMP error names.
fn flow_named(s: &PacketSummary) -> Option<decode::FiveTuple> {
    s.icmp_error
        .and_then(|e| e.about)
        .filter(|a| matches!(a.proto, decode::proto::TCP | decode::proto::UDP))
}

/// The ICMP of a capture split by flow, applied after the shards, in file
/// order, to a table of its own. Sharding ICMP by its own flow would break
/// the reader's results: an ICMP error that names no open session becomes
/// a session of its own (reporter → host, type, code), and errors of one
/// such session name flows of different shards; errors may also name ICMP
/// flows. So every ICMP packet is applied in one place, in order, and only
/// the links to TCP/UDP sessions are made in their shards, at the error's
/// place in the file (a link moves the session's last time, which decides
/// whether a later packet continues it). Holds one summary per ICMP packet
/// of the capture.
#[derive(Default)]
struct IcmpPass {
    /// Every ICMP packet with its place in the file.
    packets: Vec<(u64, PacketSummary)>,
    /// The places of the errors linked in their flow's shard.
    linked: Vec<u64>,
}

impl IcmpPass {
    fn absorb(&mut self, o: IcmpPass) {
        self.packets.extend(o.packets);
        self.linked.extend(o.linked);
    }

    /// The ICMP sessions: a table of their own, so that like every shard's
    /// its sessions are made in the order of their first packets (the runs
    /// join without a sort). Counts the errors linked, here or in their
    /// flow's shard.
    fn table(mut self, idx: u32, c: &mut Counts) -> SessionTable {
        self.packets.sort_unstable_by_key(|(at, _)| *at);
        self.linked.sort_unstable();
        let mut table = SessionTable::new();
        for (at, p) in &self.packets {
            let linked = if flow_named(p).is_none() {
                table.add_packet(p, idx)
            } else if self.linked.binary_search(at).is_ok() {
                true
            } else {
                // Tried in its flow's shard and not linked: its own
                // session, without trying again here.
                let mut own = *p;
                if let Some(e) = own.icmp_error.as_mut() {
                    e.about = None;
                }
                table.add_packet(&own, idx)
            };
            c.stats.icmp_linked += u64::from(linked);
        }
        table
    }
}

/// The scan scheme: one thread per shard, each walking every frame and
/// keeping the packets whose flow hashes to its shard. Framing and decoding
/// are done once per thread, which costs less than handing decoded packets
/// between threads (the buffers' copies and page faults were a third of the
/// buffered scheme's time on small packets).
fn read_scan(
    first: PacketIter<'_>,
    idx: u32,
    report: &mut InputReport,
) -> (SessionTable, Option<CaptureError>) {
    let shards = rayon::current_num_threads().max(1);
    let per_shard: Vec<(SessionTable, Counts, Option<CaptureError>, IcmpPass)> = (0..shards)
        .into_par_iter()
        .map(|shard| {
            // Shard 0 also counts what is not per flow: frames, times and
            // frames that did not decode (every thread sees all of them).
            let lead = shard == 0;
            let mut table = SessionTable::new();
            let mut c = Counts::default();
            let mut err = None;
            let mut batch = Batch::new();
            let mut icmp = IcmpPass::default();
            for (at, item) in (0u64..).zip(first.clone()) {
                match item {
                    Ok(p) => {
                        if lead {
                            c.frame(&p);
                        }
                        // A plain TCP/UDP frame's flow is read without
                        // decoding it: only its own thread decodes it (and
                        // counts it if it does not decode). Other frames are
                        // decoded by every thread, and counted by the first.
                        let owner = decode::plain_flow(&p).map(|t| sessions::shard(&t, shards));
                        if owner.is_some_and(|o| o != shard) {
                            continue;
                        }
                        match decode::decode(&p) {
                            Ok(s) => match route(&s, shards) {
                                Route::Flow(o) if owner.is_some() || o == shard => {
                                    c.stats.decoded += 1;
                                    batch.push(&mut table, s, idx, &mut c);
                                }
                                Route::Flow(_) => {}
                                Route::Icmp { link } => {
                                    if link == Some(shard) {
                                        // The packets before it first.
                                        batch.flush(&mut table, idx, &mut c);
                                        if table.link_error(&s) {
                                            icmp.linked.push(at);
                                        }
                                    }
                                    if lead {
                                        c.stats.decoded += 1;
                                        icmp.packets.push((at, s));
                                    }
                                }
                            },
                            Err(r) if lead || owner.is_some() => {
                                *c.skips.entry(r).or_default() += 1
                            }
                            Err(_) => {}
                        }
                    }
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            batch.flush(&mut table, idx, &mut c);
            (table, c, err, icmp)
        })
        .collect();
    let mut total = Counts::default();
    let mut tables = Vec::with_capacity(shards);
    let mut err = None;
    let mut icmp = IcmpPass::default();
    for (table, c, e, i) in per_shard {
        total.add(c);
        // Every thread stops at the same fault.
        if err.is_none() {
            err = e;
        }
        icmp.absorb(i);
        tables.push(table);
    }
    tables.push(icmp.table(idx, &mut total));
    total.into_report(report);
    let table = crate::phase::timed("settle shards", || SessionTable::concat(tables));
    (table, err)
}

/// What the buffered scheme hands a shard, in file order.
enum Item {
    /// A packet of one of the shard's flows.
    Packet(PacketSummary),
    /// An ICMP error (at this place in the file) to link to one of the
    /// shard's flows: see [`IcmpPass`].
    Link(u64, PacketSummary),
}

/// One chunk decoded by the buffered scheme: per-shard buffers, its ICMP,
/// its counts and the fault that ended it.
type ChunkRead = (Vec<Vec<Item>>, IcmpPass, Counts, Option<CaptureError>);

/// The buffered scheme: see [`IntraFile::Buffered`].
fn read_buffered(
    first: PacketIter<'_>,
    idx: u32,
    report: &mut InputReport,
) -> (SessionTable, Option<CaptureError>) {
    let shards = rayon::current_num_threads().max(1);
    let chunks = capture::chunk_starts(first, CHUNK_BYTES);
    let mut tables: Vec<SessionTable> = (0..shards).map(|_| SessionTable::new()).collect();
    let mut total = Counts::default();
    let mut err = None;
    let mut icmp = IcmpPass::default();
    // A window of a few chunks per thread bounds the buffered summaries.
    let window = shards * 4;
    for (w, win) in (0u64..).zip(chunks.chunks(window)) {
        // Decode the window's chunks in parallel, each into per-shard
        // buffers. A packet's place in the file: its chunk's number, then
        // its place in the chunk.
        let decoded: Vec<ChunkRead> = win
            .par_iter()
            .enumerate()
            .map(|(k, chunk)| {
                let base = (w * window as u64 + k as u64) << 32;
                let mut bufs: Vec<Vec<Item>> = (0..shards).map(|_| Vec::new()).collect();
                let mut icmp = IcmpPass::default();
                let mut c = Counts::default();
                let mut e = None;
                let mut it = chunk.iter.clone();
                let mut at = base;
                while it.position() < chunk.end {
                    match it.next() {
                        Some(Ok(p)) => {
                            c.frame(&p);
                            match decode::decode(&p) {
                                Ok(s) => {
                                    c.stats.decoded += 1;
                                    match route(&s, shards) {
                                        Route::Flow(o) => {
                                            if let Some(b) = bufs.get_mut(o) {
                                                b.push(Item::Packet(s));
                                            }
                                        }
                                        Route::Icmp { link } => {
                                            if let Some(b) = link.and_then(|l| bufs.get_mut(l)) {
                                                b.push(Item::Link(at, s));
                                            }
                                            icmp.packets.push((at, s));
                                        }
                                    }
                                }
                                Err(r) => *c.skips.entry(r).or_default() += 1,
                            }
                            at += 1;
                        }
                        Some(Err(x)) => {
                            e = Some(x);
                            break;
                        }
                        None => break,
                    }
                }
                (bufs, icmp, c, e)
            })
            .collect();
        // Transpose: for every shard, its buffers in chunk (= file) order.
        let mut per_shard: Vec<Vec<Vec<Item>>> = (0..shards).map(|_| Vec::new()).collect();
        for (bufs, i, c, e) in decoded {
            total.add(c);
            icmp.absorb(i);
            if err.is_none() {
                err = e;
            }
            for (s, b) in bufs.into_iter().enumerate() {
                if let Some(v) = per_shard.get_mut(s) {
                    v.push(b);
                }
            }
        }
        let applied: Vec<(Counts, Vec<u64>)> = tables
            .par_iter_mut()
            .zip(per_shard.into_par_iter())
            .map(|(table, bufs)| {
                let mut c = Counts::default();
                let mut linked = Vec::new();
                let mut batch = Batch::new();
                for item in bufs.into_iter().flatten() {
                    match item {
                        Item::Packet(s) => batch.push(table, s, idx, &mut c),
                        Item::Link(at, s) => {
                            // The packets before it first.
                            batch.flush(table, idx, &mut c);
                            if table.link_error(&s) {
                                linked.push(at);
                            }
                        }
                    }
                }
                batch.flush(table, idx, &mut c);
                (c, linked)
            })
            .collect();
        for (c, linked) in applied {
            total.stats.icmp_linked += c.stats.icmp_linked;
            icmp.linked.extend(linked);
        }
        if err.is_some() {
            break;
        }
    }
    tables.push(icmp.table(idx, &mut total));
    total.into_report(report);
    let table = SessionTable::concat(tables);
    (table, err)
}

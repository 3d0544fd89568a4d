//! Reading a capture's frames into sessions, split across threads by flow.
//!
//! Three schemes give identical sessions (tested, and fuzzed by the `shards`
//! target): [`IntraFile::Scan`] (the default: every thread walks all frames
//! and keeps its own shard's flows), [`IntraFile::Buffered`] (chunks decoded
//! in parallel into per-shard buffers) and [`IntraFile::Sequential`]. A flow
//! lives in one shard, so no half-sessions need reconciling; ICMP is applied
//! after the shards, in file order ([`IcmpPass`]). Measurements and why the
//! default won: README Design, benches/RESULTS.md.

use super::IntraFile;
use crate::capture::{self, CaptureError, PacketIter};
use crate::decode::{self, PacketSummary, SkipReason};
use crate::ingest::InputReport;
use crate::sessions::{self, PacketStats, SessionTable};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Bytes per chunk of a large capture (buffered scheme).
const CHUNK_BYTES: usize = 4 << 20;

/// Which TCP/UDP flows get a session: a test on a packet's flow that gives
/// the same answer for both directions of a connection (so a connection is
/// kept whole or not at all), or `None` for every flow. ICMP is never
/// tested: an error about a flow not kept becomes a session of its own, as
/// an error about a flow the capture did not see does.
pub(crate) type FlowTest<'a> = Option<&'a (dyn Fn(&decode::FiveTuple) -> bool + Sync)>;

/// Whether a decoded TCP/UDP packet's flow passes `keep`.
#[inline]
fn kept(keep: FlowTest<'_>, s: &PacketSummary) -> bool {
    keep.is_none_or(|k| {
        !matches!(s.tuple.proto, decode::proto::TCP | decode::proto::UDP) || k(&s.tuple)
    })
}

/// Read a capture's frames into one session table with the given scheme
/// (`parallel`: whether to split across the pool's threads at all). Fills
/// the input's counts; returns the fault that stopped reading, if any.
pub(super) fn read(
    iter: PacketIter<'_>,
    idx: u32,
    scheme: IntraFile,
    parallel: bool,
    keep: FlowTest<'_>,
    report: &mut InputReport,
) -> (SessionTable, Option<CaptureError>) {
    match scheme {
        IntraFile::Scan if parallel => read_scan(iter, idx, keep, report),
        IntraFile::Buffered if parallel => read_buffered(iter, idx, keep, report),
        _ => read_sequential(iter, idx, keep, report),
    }
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
    keep: FlowTest<'_>,
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
                        if kept(keep, &s) {
                            batch.push(&mut table, s, idx, &mut c);
                        }
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
    keep: FlowTest<'_>,
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
                                    if kept(keep, &s) {
                                        batch.push(&mut table, s, idx, &mut c);
                                    }
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
    keep: FlowTest<'_>,
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
                                        Route::Flow(_) if !kept(keep, &s) => {}
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

//! The fuzz targets' bodies, shared with the regression tests
//! (`tests/captures/hostile.rs` includes this file), so a crash input replays through
//! exactly the code and assertions that found it. Depends only on `aibnet`.

#![allow(dead_code)]

use aibnet::analyze::{Analysis, IntraFile, Options, analyze_input};
use aibnet::capture::{PacketIter, RawPacket, chunk_starts, linktype};
use aibnet::check::{Config, evaluate};
use aibnet::decode::decode;
use aibnet::diagnose::{Diagnosis, diagnose, join_config};
use aibnet::explain::{Context, explain};
use aibnet::flowlog::{self, ParseOptions, TupleLayout, parse_tuple_bytes};
use aibnet::ingest::InputReport;
use aibnet::ingest::{Bytes, Format, Input, detect};
use aibnet::report::{OutputFormat, Render, Style};
use aibnet::sessions::SessionTable;
use std::path::Path;

/// Frame the input as pcap and as pcapng and check the framing invariants.
fn frame(data: &[u8], format: Format) {
    let Ok(iter) = PacketIter::new(data, format) else {
        return;
    };
    let mut n = 0u64;
    let mut last_pos = iter.position();
    let mut it = iter.clone();
    while let Some(item) = it.next() {
        match item {
            Ok(p) => {
                assert!(p.offset < data.len() as u64);
                assert!(p.data.len() <= data.len());
                n += 1;
            }
            Err(e) => {
                assert!(e.offset <= data.len() as u64);
                assert!(it.next().is_none(), "an error ends the iteration");
                break;
            }
        }
        // Every record moves the reader forward: no block can loop.
        assert!(it.position() > last_pos, "reader did not advance");
        last_pos = it.position();
    }
    // Chunking for the parallel path sees the same frames.
    let chunks = chunk_starts(iter, 64);
    let mut m = 0u64;
    for c in chunks {
        let mut it = c.iter.clone();
        while it.position() < c.end {
            match it.next() {
                Some(Ok(_)) => m += 1,
                _ => break,
            }
        }
    }
    assert_eq!(n, m, "chunked framing read a different number of frames");
}

/// Target `capture`: the capture reader, pcap and pcapng, every link type,
/// then the whole capture → decode → sessions driver and the JSON report.
pub fn capture(data: &[u8]) {
    frame(data, Format::Pcap);
    frame(data, Format::Pcapng);
    let input = Input {
        path: "fuzz".into(),
        bytes: Bytes::Owned(data.to_vec()),
        format: detect(data),
        gzip: false,
        warning: None,
    };
    let (report, table, skipped) = analyze_input(&input, 0, &Default::default());
    let not_decoded: u64 = report.not_decoded.values().sum();
    assert_eq!(report.packets, report.decoded + not_decoded);
    let a = Analysis {
        inputs: vec![report],
        sessions: table.finish(),
        skipped,
        sweepers: Vec::new(),
        noise: Vec::new(),
    };
    let mut out = std::io::sink();
    aibnet::report::SessionsReport {
        analysis: &a,
        sessions: &a.sessions,
        filter: &aibnet::sessions::Filter::default(),
    }
    .render(
        aibnet::report::OutputFormat::Json,
        &aibnet::report::Style::plain(),
        &mut out,
    )
    .expect("JSON to a sink");
}

const LINKTYPES: [u16; 12] = [
    linktype::NULL,
    linktype::ETHERNET,
    linktype::RAW_BSD,
    linktype::RAW_OPENBSD,
    linktype::RAW,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::IPV4,
    linktype::IPV6,
    linktype::LINUX_SLL2,
    // Not decoded: must be counted, not crash.
    105,
    0xffff,
];

/// Target `decode_sessions`: a link-type selector byte, then frames (2-byte
/// little-endian length, a time-step byte, the bytes). Every frame is
/// decoded and fed to one of two session tables (two capture points); the
/// merged table is finished and every sessions and diagnose report rendered.
///
/// The length's top bit says how to read the step: clear, the step byte is
/// whole seconds (0 and 1 are huge leaps forward and back); set, it is
/// milliseconds from 0, so frames can share a timestamp (the ties the
/// sorted-run join orders) or come closer than the session timers
/// (retransmissions, SYN retries). Frames are at most 16 KiB (`-max_len`),
/// so the bit costs no length the fuzzer can use.
pub fn decode_sessions(data: &[u8]) {
    let Some((lt, frames)) = frames(data) else {
        return;
    };
    let mut table = SessionTable::new();
    let mut other = SessionTable::new();
    let mut n = 0u32;
    for (ts, frame) in frames {
        let pkt = RawPacket {
            ts_ns: ts,
            ts_digits: 6,
            linktype: lt,
            orig_len: frame.len() as u32,
            data: frame,
            offset: 0,
        };
        if let Ok(s) = decode(&pkt) {
            if n % 2 == 0 {
                table.add_packet(&s, 0);
            } else {
                other.add_packet(&s, 1);
            }
        }
        n += 1;
    }
    let sessions = table.merge(other).finish();
    for s in &sessions {
        assert!(s.first_ts <= s.last_ts);
    }
    let input = |path: &str| InputReport {
        path: path.into(),
        format: Format::Pcap,
        gzip: false,
        packets: u64::from(n),
        decoded: 0,
        used: 0,
        first_ts: None,
        last_ts: None,
        ts_digits: 9,
        not_decoded: Default::default(),
        error: None,
        logged_hosts: Vec::new(),
    };
    let a = Analysis {
        inputs: vec![input("a"), input("b")],
        sessions,
        skipped: Vec::new(),
        sweepers: Vec::new(),
        noise: Vec::new(),
    };
    // The reports' text is not checked, only that rendering never fails or
    // panics: a sink spares growing a buffer of seven reports per input
    // (a third of this target's time under ASan).
    let mut out = std::io::sink();
    let f = aibnet::sessions::Filter::default();
    aibnet::report::SessionsReport {
        analysis: &a,
        sessions: &a.sessions,
        filter: &f,
    }
    .render(
        aibnet::report::OutputFormat::Json,
        &aibnet::report::Style::plain(),
        &mut out,
    )
    .expect("to a sink");
    aibnet::report::SessionsReport {
        analysis: &a,
        sessions: &a.sessions,
        filter: &f,
    }
    .render(
        aibnet::report::OutputFormat::Ndjson,
        &aibnet::report::Style::plain(),
        &mut out,
    )
    .expect("to a sink");
    aibnet::report::SessionsReport {
        analysis: &a,
        sessions: &a.sessions,
        filter: &f,
    }
    .render(
        aibnet::report::OutputFormat::Table,
        &aibnet::report::Style::plain(),
        &mut out,
    )
    .expect("to a sink");
    aibnet::report::SessionsReport {
        analysis: &a,
        sessions: &a.sessions,
        filter: &f,
    }
    .render(
        aibnet::report::OutputFormat::Markdown,
        &aibnet::report::Style::plain(),
        &mut out,
    )
    .expect("to a sink");
    diagnose_and_render(&a);
}

/// Diagnose the sessions and render the diagnosis every way, as
/// `aibnet diagnose` does.
fn diagnose_and_render(a: &Analysis) {
    render_diagnosis(&diagnose(a, &Default::default()), a);
}

fn render_diagnosis(d: &Diagnosis, a: &Analysis) {
    render_all(
        &aibnet::report::DiagnoseReport {
            diagnosis: d,
            analysis: a,
            sum_up_not_evidence: Some(&[]),
        },
        &[
            OutputFormat::Json,
            OutputFormat::Ndjson,
            OutputFormat::Table,
            OutputFormat::Markdown,
            OutputFormat::Html,
        ],
    );
}

/// The link type and the timed frames of a `decode_sessions` input.
fn frames(data: &[u8]) -> Option<(u16, impl Iterator<Item = (i64, &[u8])>)> {
    let (&sel, mut rest) = data.split_first()?;
    let lt = LINKTYPES[usize::from(sel) % LINKTYPES.len()];
    let mut ts: i64 = 1_700_000_000_000_000_000;
    let frames = std::iter::from_fn(move || {
        let (&[lo, hi, step], tail) = rest.split_first_chunk::<3>()?;
        let word = u16::from_le_bytes([lo, hi]);
        // Time steps: ties and milliseconds, seconds up to idle timeouts,
        // and huge leaps both ways.
        ts = match (word & 0x8000 != 0, step) {
            (true, d) => ts.saturating_add(i64::from(d) * 1_000_000),
            (false, 0) => ts.saturating_add(i64::MAX / 2),
            (false, 1) => ts.saturating_sub(i64::MAX / 2),
            (false, d) => ts.saturating_add(i64::from(d) * 1_000_000_000),
        };
        let (frame, tail) = tail.split_at(usize::from(word & 0x7fff).min(tail.len()));
        rest = tail;
        Some((ts, frame))
    });
    Some((lt, frames))
}

/// Three threads, so that shards hold different numbers of flows (the
/// machine may have two cores, or one).
static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();

/// Target `shards`: the frames of a `decode_sessions` input written as a
/// classic pcap (nanosecond timestamps, the input's link type), read by the
/// sequential reader and by both parallel schemes forced onto it in three
/// threads (`Options::split_small`). The JSON report (every session, every
/// count of the input) must be the same byte for byte: sharding by flow,
/// ICMP errors routed to the shard of the session they name, and the
/// settling of shards must not show.
pub fn shards(data: &[u8]) {
    let Some((lt, frames)) = frames(data) else {
        return;
    };
    let mut pcap = Vec::with_capacity(24 + data.len() * 6);
    pcap.extend(0xa1b2_3c4d_u32.to_le_bytes());
    pcap.extend(2u16.to_le_bytes());
    pcap.extend(4u16.to_le_bytes());
    pcap.extend([0; 8]);
    pcap.extend(65_535u32.to_le_bytes());
    pcap.extend(u32::from(lt).to_le_bytes());
    for (ts, frame) in frames {
        // Times outside the format's range wrap: the readers only need to
        // read the same file.
        pcap.extend((ts.div_euclid(1_000_000_000) as u32).to_le_bytes());
        pcap.extend((ts.rem_euclid(1_000_000_000) as u32).to_le_bytes());
        pcap.extend((frame.len() as u32).to_le_bytes());
        pcap.extend((frame.len() as u32).to_le_bytes());
        pcap.extend(frame);
    }
    let input = Input {
        path: "fuzz".into(),
        bytes: Bytes::Owned(pcap),
        format: Format::Pcap,
        gzip: false,
        warning: None,
    };
    let json = |scope: &Options| {
        let (report, table, skipped) = analyze_input(&input, 0, scope);
        let a = Analysis {
            inputs: vec![report],
            sessions: table.finish(),
            skipped,
            sweepers: Vec::new(),
            noise: Vec::new(),
        };
        let mut out = Vec::new();
        aibnet::report::SessionsReport {
            analysis: &a,
            sessions: &a.sessions,
            filter: &aibnet::sessions::Filter::default(),
        }
        .render(
            aibnet::report::OutputFormat::Json,
            &aibnet::report::Style::plain(),
            &mut out,
        )
        .expect("JSON to memory");
        out
    };
    let sequential = json(&Options {
        intra_file: IntraFile::Sequential,
        ..Options::default()
    });
    let pool = POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("a pool of three threads")
    });
    for scheme in [IntraFile::Scan, IntraFile::Buffered] {
        let split = pool.install(|| {
            json(&Options {
                intra_file: scheme,
                split_small: true,
                ..Options::default()
            })
        });
        assert!(
            split == sequential,
            "{scheme:?} reads another result than the sequential reader:\n{}\n{}",
            String::from_utf8_lossy(&split),
            String::from_utf8_lossy(&sequential)
        );
    }
}

/// Target `check_json`: the configuration readers (template, NSG, subnet,
/// VNET, route table through `check::read_json`) and the offline evaluation
/// of whatever they recognise.
/// The evaluation is then joined to an empty diagnosis, as `aibnet
/// diagnose` joins configuration given without traffic.
pub fn check_json(data: &[u8]) {
    // NUL bytes (never in JSON text) split the input into files, so that a
    // template, subnet, VNET, NSGs and route tables meet in one evaluation
    // (its flows and findings need them together).
    let mut cfg = Config::default();
    for (i, file) in data.split(|&b| b == 0).take(8).enumerate() {
        let _ = cfg.add_file(Path::new(&format!("fuzz{i}.json")), file);
    }
    let r = evaluate(&cfg);
    render_all(
        &r,
        &[
            OutputFormat::Json,
            OutputFormat::Table,
            OutputFormat::Markdown,
        ],
    );
    let _ = r.is_blocked();
    // `aibnet diagnose` given configuration and no traffic: the check's
    // findings joined to a diagnosis that saw nothing, and rendered.
    let a = Analysis::default();
    let mut d = diagnose(&a, &Default::default());
    join_config(&mut d, &r);
    render_diagnosis(&d, &a);
}

/// Target `explain_text`: explain's text parser (log text, escaped strings,
/// `az … show` JSON) through extraction, ranking, the plan and every
/// renderer.
pub fn explain_text(data: &[u8]) {
    let e = explain(data, &Context::default());
    render_all(
        &e,
        &[
            OutputFormat::Json,
            OutputFormat::Table,
            OutputFormat::Markdown,
        ],
    );
}

/// Render a document in each format (to a sink), coloured and plain.
fn render_all(doc: &dyn Render, formats: &[OutputFormat]) {
    for f in formats {
        for style in [
            Style::plain(),
            Style {
                color: true,
                ..Style::plain()
            },
        ] {
            doc.render(*f, &style, &mut std::io::sink())
                .expect("every listed format renders");
        }
    }
}

/// Target `flowlog`: the flow-log reader, sequential and chunked in parallel
/// (which must agree), its accounting, the sessions stitched from it, and
/// the whole driver with the sessions reports and the diagnosis (topology
/// from flow logs alone, hops judged by flow states and denies, findings
/// naming the denying rule and NSG).
pub fn flowlog(data: &[u8]) {
    let seq = flowlog::parse_with(
        "fuzz",
        data,
        &ParseOptions {
            parallel_min_bytes: usize::MAX,
            ..ParseOptions::default()
        },
    );
    let par = flowlog::parse_with(
        "fuzz",
        data,
        &ParseOptions {
            parallel_min_bytes: 0,
            chunk_bytes: 64,
            min_chunk_records: 1,
            dedupe: true,
            filter: None,
            aib: None,
        },
    );
    match (seq, par) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.stats, b.stats, "sequential and chunked parse disagree");
            assert_eq!(a.tuple_count(), b.tuple_count());
            let s = a.stats;
            assert_eq!(
                s.tuples_read,
                a.tuple_count() as u64 + s.tuples_duplicate + s.tuples_skipped,
                "kept = read - duplicate - skipped"
            );
            let _ = flowlog::sessions(&a, 0).finish();
        }
        (Err(_), Err(_)) => {}
        _ => panic!("sequential and chunked parse disagree on whether this is JSON"),
    }
    // A NUL byte (never in JSON text) splits the input into two blobs, e.g.
    // consecutive hours, so that sessions can continue from one to the
    // other and be joined.
    let blobs = match data.iter().position(|&b| b == 0) {
        Some(i) => {
            let (a, b) = data.split_at(i);
            vec![a, b.get(1..).unwrap_or_default()]
        }
        None => vec![data],
    };
    let mut inputs = Vec::new();
    let mut tables = Vec::new();
    let mut skipped = Vec::new();
    for (i, blob) in blobs.into_iter().enumerate() {
        let input = Input {
            path: format!("fuzz{i}.json"),
            bytes: Bytes::Owned(blob.to_vec()),
            format: Format::FlowLog,
            gzip: false,
            warning: None,
        };
        let (report, table, s) = analyze_input(&input, i as u32, &Default::default());
        let not_decoded: u64 = report.not_decoded.values().sum();
        assert_eq!(report.packets, report.decoded + not_decoded);
        inputs.push(report);
        tables.push(table);
        skipped.extend(s);
    }
    // The sessions built as they are read, as the `sessions` command reads
    // them, and then joined and built into one vector as the others do.
    let mut finished = SessionTable::concat(tables).finished();
    let mut sessions = Vec::new();
    finished.visit(0..finished.len(), &mut |_, s| sessions.push(s.clone()));
    // Joining parts of one connection keeps every packet (counters add up,
    // short of saturating) and the finished order.
    let total = |v: &[aibnet::sessions::Session]| -> (u128, u128, bool) {
        let sum =
            |f: fn(&aibnet::sessions::Session) -> u64| v.iter().map(|s| u128::from(f(s))).sum();
        let saturated = v
            .iter()
            .any(|s| s.orig.pkts == u64::MAX || s.resp.pkts == u64::MAX);
        (sum(|s| s.orig.pkts), sum(|s| s.resp.pkts), saturated)
    };
    let (n, before) = (sessions.len(), total(&sessions));
    let joined = flowlog::join_continuations(&mut finished, &inputs);
    assert_eq!(finished.count() + joined, n);
    let sessions = finished.into_vec();
    let after = total(&sessions);
    assert_eq!(sessions.len() + joined, n);
    assert!(
        after.2 || (after.0, after.1) == (before.0, before.1),
        "join lost packets"
    );
    assert!(sessions.windows(2).all(|w| w[0].first_ts <= w[1].first_ts));
    let a = Analysis {
        inputs,
        sessions,
        skipped,
        sweepers: Vec::new(),
        noise: Vec::new(),
    };
    let mut out = std::io::sink();
    aibnet::report::SessionsReport {
        analysis: &a,
        sessions: &a.sessions,
        filter: &aibnet::sessions::Filter::default(),
    }
    .render(
        aibnet::report::OutputFormat::Json,
        &aibnet::report::Style::plain(),
        &mut out,
    )
    .expect("JSON to a sink");
    aibnet::report::SessionsReport {
        analysis: &a,
        sessions: &a.sessions,
        filter: &aibnet::sessions::Filter::default(),
    }
    .render(
        aibnet::report::OutputFormat::Table,
        &aibnet::report::Style::plain(),
        &mut out,
    )
    .expect("to a sink");
    diagnose_and_render(&a);
}

/// Target `flow_tuple`: the tuple grammar, every layout.
pub fn flow_tuple(data: &[u8]) {
    for layout in [
        TupleLayout::NsgV1,
        TupleLayout::NsgV2,
        TupleLayout::NsgAny,
        TupleLayout::Vnet,
    ] {
        let _ = parse_tuple_bytes(data, layout);
    }
}

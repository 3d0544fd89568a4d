//! Regression tests for the fixes that hostile input called for (issue 7),
//! one per fix, named after the module fixed. The adversarial corpus itself
//! is exercised by `hostile.rs`.

use crate::common::bytes::*;

/// capture: the pcapng interface table is shared between the iterator
/// clones the parallel reader makes at chunk boundaries, not copied: 100 000
/// interface blocks and a chunk per record used to copy 3.2 MB per chunk.
#[test]
fn capture_pcapng_interface_table_is_shared_between_chunks() {
    let mut f = shb();
    for _ in 0..100_000 {
        f.extend(idb(1, 65535, &[]));
    }
    for i in 0..20_000u32 {
        f.extend(epb(i, u64::from(i), &[0; 14]));
    }
    // Copying the 100 000-entry interface table into each of the 20 000
    // chunks would not end in any reasonable time; sharing it is instant.
    let it = aibnet::capture::PacketIter::new(&f, aibnet::ingest::Format::Pcapng).unwrap();
    let chunks = aibnet::capture::chunk_starts(it, 1);
    assert!(chunks.len() > 20_000, "{}", chunks.len());
}

/// sessions: a session whose packets sit at both ends of the i64 time range
/// (pcapng if_tsoffset) has a duration, not an overflow.
#[test]
fn sessions_duration_saturates_at_extreme_timestamps() {
    let syn = tcp4([192, 0, 2, 1], 40_000, [192, 0, 2, 2], 22, SYN, 1, 0, b"");
    let ack = tcp4(
        [192, 0, 2, 2],
        22,
        [192, 0, 2, 1],
        40_000,
        SYN | ACK,
        9,
        2,
        b"",
    );
    let mut t = aibnet::sessions::SessionTable::new();
    for (ts, frame) in [(i64::MAX, &syn), (i64::MIN, &ack)] {
        let p = aibnet::capture::RawPacket {
            ts_ns: ts,
            ts_digits: 9,
            linktype: 1,
            orig_len: frame.len() as u32,
            data: frame,
            offset: 0,
        };
        t.add_packet(&aibnet::decode::decode(&p).unwrap(), 0);
    }
    let s = t.finish();
    assert_eq!(s.len(), 1);
    assert!(s[0].duration_s() > 9e9, "{}", s[0].duration_s());
}

/// check: a configuration file over MAX_CONFIG_BYTES (a crafted 1 GB
/// string) is refused before it is read.
#[test]
fn check_a_config_file_too_large_is_refused_before_reading() {
    // One JSON string just over the configuration-file bound (the same path
    // a 1 GB string would take, without writing 1 GB).
    let max = aibnet::check::MAX_CONFIG_BYTES as usize;
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("big-string.json");
    let mut s = Vec::with_capacity(max + 16);
    s.extend_from_slice(b"{\"name\":\"");
    s.resize(max + 1, b'a');
    s.extend_from_slice(b"\"}");
    std::fs::write(&p, &s).unwrap();
    let cfg = aibnet::check::Config::load_paths(std::slice::from_ref(&p));
    assert_eq!(cfg.skipped.len(), 1);
    assert!(
        cfg.skipped[0].reason.contains("larger than"),
        "{:?}",
        cfg.skipped
    );
}

/// flowlog: the duplicate window is the same whether a file is parsed in one
/// piece or in parallel chunks. A chunk warms its window with the record just
/// before it; when that record was skipped (broken), the sequential reading
/// still compared with the record before the broken one, and the two counted
/// (and kept) different tuples. Found by the `flowlog` fuzz target.
#[test]
fn flowlog_chunked_and_sequential_parses_agree_around_a_skipped_record() {
    use aibnet::flowlog::{ParseOptions, parse_with};
    let rec = |minute: u32, tuple: &str| {
        format!(
            "{{\"time\":\"2024-08-19T18:{minute:02}:06Z\",\"category\":\"NetworkSecurityGroupFlowEvent\",\"resourceId\":\"/NSG\",\"properties\":{{\"Version\":2,\"flows\":[{{\"rule\":\"R\",\"flows\":[{{\"mac\":\"AA\",\"flowTuples\":[\"{tuple}\"]}}]}}]}}}}"
        )
    };
    let t = "1724090346,192.0.2.1,192.0.2.2,40300,22,T,I,D,B,,,,";
    let broken = "{\"time\":\"2024-08-19T18:01:06Z\",\"category\":\"NetworkSecurityGroupFlowEvent\",\"properties\":{\"Version\":\"two\"}}";
    let doc = format!("{{\"records\":[{},{broken},{}]}}", rec(0, t), rec(2, t));
    let seq = parse_with(
        "t.json",
        doc.as_bytes(),
        &ParseOptions {
            parallel_min_bytes: usize::MAX,
            ..ParseOptions::default()
        },
    )
    .unwrap();
    let par = parse_with(
        "t.json",
        doc.as_bytes(),
        &ParseOptions {
            parallel_min_bytes: 0,
            chunk_bytes: 64,
            min_chunk_records: 1,
            dedupe: true,
            filter: None,
            aib: None,
        },
    )
    .unwrap();
    assert_eq!(seq.stats, par.stats);
    assert_eq!(seq.stats.records_skipped, 1, "{:?}", seq.stats);
    assert_eq!(seq.tuple_count(), par.tuple_count());
    assert_eq!(seq.tuple_count(), 2);
}

/// flowlog: a tuple repeated in three consecutive records is one tuple,
/// parsed in one piece or in chunks. The sequential reading did not put a
/// dropped repeat into the current record's window, so the third copy was
/// kept; a chunk starting at the third record, warmed with the second, dropped
/// it. Found by the `flowlog` fuzz target.
#[test]
fn flowlog_a_tuple_repeated_in_three_records_is_one_tuple_either_way() {
    use aibnet::flowlog::{ParseOptions, parse_with};
    let rec = |minute: u32| {
        format!(
            "{{\"time\":\"2024-08-19T18:{minute:02}:06Z\",\"category\":\"NetworkSecurityGroupFlowEvent\",\"resourceId\":\"/NSG\",\"properties\":{{\"Version\":2,\"flows\":[{{\"rule\":\"R\",\"flows\":[{{\"mac\":\"AA\",\"flowTuples\":[\"1724090346,192.0.2.1,192.0.2.2,40400,22,T,I,D,B,,,,\",\"1724090{minute:03},192.0.2.1,192.0.2.2,40401,22,T,I,D,B,,,,\"]}}]}}]}}}}"
        )
    };
    let doc = format!("{{\"records\":[{},{},{}]}}", rec(0), rec(1), rec(2));
    let parse = |parallel_min_bytes| {
        parse_with(
            "t.json",
            doc.as_bytes(),
            &ParseOptions {
                parallel_min_bytes,
                chunk_bytes: 64,
                min_chunk_records: 1,
                dedupe: true,
                filter: None,
                aib: None,
            },
        )
        .unwrap()
    };
    let (seq, par) = (parse(usize::MAX), parse(0));
    assert_eq!(seq.stats, par.stats);
    assert_eq!(seq.stats.tuples_duplicate, 2, "{:?}", seq.stats);
    assert_eq!(seq.tuple_count(), 4);
}

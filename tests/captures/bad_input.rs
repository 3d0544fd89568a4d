//! Bad input: corrupt, truncated, oversized, compressed and non-capture
//! files. Each gives a clear error naming the path and byte offset, the
//! packets before the fault are kept, other inputs are still analysed, and
//! the exit code is 0 when anything was analysed, 2 when nothing could be.
//!
//! These run the built binary, as a user would.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::common::{self, Run, trace};

/// `aibnet sessions --format json PATH...`, parsed.
fn sessions_json(paths: &[&Path]) -> (serde_json::Value, Run) {
    let head = ["sessions", "--format", "json"].map(OsStr::new);
    let run = common::run(head.into_iter().chain(paths.iter().map(|p| p.as_os_str())));
    (run.json(), run)
}

/// The `skipped` entries as (path, offset, reason).
fn skipped(v: &serde_json::Value) -> Vec<(String, Option<u64>, String)> {
    v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["offset"].as_u64(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn packets(v: &serde_json::Value) -> u64 {
    v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["packets"].as_u64().unwrap())
        .sum()
}

/// Sessions without `seen_by` (which names paths).
fn sessions_only(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.as_object_mut().unwrap().remove("seen_by");
            s
        })
        .collect()
}

/// Offsets of the records of a little-endian microsecond pcap.
fn pcap_record_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut at = 24;
    let mut out = Vec::new();
    while at + 16 <= bytes.len() {
        out.push(at);
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    assert_eq!(at, bytes.len());
    out
}

#[test]
fn pcap_parser_err_eof_is_not_a_capture() {
    // A bare pcapng packet block without a section header (pcap-parser
    // issue #13): nothing to frame it by.
    let p = trace("pcap-parser-assets/err-eof.bin");
    let (v, run) = sessions_json(&[&p]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let s = skipped(&v);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, p.display().to_string());
    assert_eq!(s[0].1, Some(0));
    assert!(s[0].2.contains("not a packet capture"), "{}", s[0].2);
    assert!(
        run.stderr
            .contains(&format!("skipped {} at byte offset 0", p.display())),
        "{}",
        run.stderr
    );
}

#[test]
fn pcap_parser_err_buffertoosmall_is_read_in_full() {
    // An error only for a streaming reader with a 1 KiB buffer (pcap-parser
    // issue #29): aibnet maps the file and reads all 27 packets.
    let (v, run) = sessions_json(&[&trace("pcap-parser-assets/err-buffertoosmall.pcapng")]);
    assert_eq!(run.code, 0);
    assert_eq!(packets(&v), 27);
    assert!(skipped(&v).is_empty());
}

#[test]
fn pcap_parser_modified_format_is_read() {
    // Kuznetzov's modified pcap: 8 more bytes per record header.
    let (v, run) = sessions_json(&[&trace("pcap-parser-assets/modified-format.pcap")]);
    assert_eq!(run.code, 0);
    assert_eq!(packets(&v), 1);
    assert_eq!(v["inputs"][0]["format"], "pcap");
}

#[test]
fn truncated_pcap_keeps_the_packets_before_the_cut() {
    let full = std::fs::read(trace("zeek-ssh-basic/ssh.pcap")).unwrap();
    let records = pcap_record_offsets(&full);
    let dir = tempfile::tempdir().unwrap();
    // In the file header, in a record header, in packet data, near the end.
    let mut cuts = vec![10, 24 + 7, records[3] + 16 + 20, full.len() - 1];
    cuts.extend([full.len() / 3, full.len() / 2, 2 * full.len() / 3]);
    for cut in cuts {
        let path = dir.path().join(format!("cut-{cut}.pcap"));
        std::fs::write(&path, &full[..cut]).unwrap();
        let (v, run) = sessions_json(&[&path]);
        let s = skipped(&v);
        assert_eq!(s.len(), 1, "cut at {cut}: {s:?}");
        assert_eq!(s[0].0, path.display().to_string());
        let whole = records
            .iter()
            .filter(|&&r| r < cut)
            .count()
            .saturating_sub(1);
        if cut < 24 {
            assert_eq!(s[0].1, Some(0));
            assert!(s[0].2.contains("file header truncated"), "{}", s[0].2);
            assert_eq!(run.code, 2, "nothing could be read");
            continue;
        }
        // The fault is at the record the cut falls in; every record before
        // it was read.
        let last = *records.iter().rev().find(|&&r| r < cut).unwrap();
        assert_eq!(s[0].1, Some(last as u64), "cut at {cut}");
        assert!(
            s[0].2.contains("truncated") && s[0].2.contains("file cut short"),
            "{}",
            s[0].2
        );
        assert_eq!(packets(&v), whole as u64, "cut at {cut}");
        // Exit 0 only if some packet was read.
        assert_eq!(run.code, if whole > 0 { 0 } else { 2 }, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("skipped {} at byte offset {last}", path.display())),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn truncated_pcapng_keeps_the_packets_before_the_cut() {
    let full = std::fs::read(trace("pcap-parser-assets/wireshark_samples-test.pcapng")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut last_packets = 0;
    for (i, cut) in [8, 100, full.len() / 4, full.len() / 2, full.len() - 3]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("cut-{i}.pcapng"));
        std::fs::write(&path, &full[..cut]).unwrap();
        let (v, run) = sessions_json(&[&path]);
        let s = skipped(&v);
        assert_eq!(s.len(), 1, "cut at {cut}: {s:?}");
        let offset = s[0].1.unwrap() as usize;
        assert!(offset < cut, "fault at {offset}, cut at {cut}");
        assert!(s[0].2.contains("file cut short"), "{}", s[0].2);
        // More of the file, more packets.
        let n = packets(&v);
        assert!(n >= last_packets, "{n} < {last_packets}");
        last_packets = n;
        assert_eq!(run.code, if n > 0 { 0 } else { 2 }, "{}", run.stderr);
    }
    assert!(last_packets > 5800, "{last_packets}");
}

/// A little-endian microsecond pcap with one Ethernet/IPv4/UDP frame per
/// `(caplen, data length)`; `snaplen` in the file header.
fn pcap_with(snaplen: u32, records: &[(u32, usize)]) -> Vec<u8> {
    let mut v = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    v.extend_from_slice(&snaplen.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes());
    for (i, &(caplen, len)) in records.iter().enumerate() {
        v.extend_from_slice(&(1_700_000_000 + i as u32).to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&caplen.to_le_bytes());
        v.extend_from_slice(&caplen.to_le_bytes());
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0]);
        frame.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0, 53, 0, 8, 0, 0]);
        frame.resize(len, 0);
        v.extend_from_slice(&frame);
    }
    v
}

#[test]
fn captured_length_beyond_the_snapshot_length_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snaplen.pcap");
    // Two good 60-byte frames, then a record claiming 100 bytes in a file
    // whose snapshot length is 64.
    std::fs::write(
        &path,
        pcap_with(64, &[(60, 60), (60, 60), (100, 100), (60, 60)]),
    )
    .unwrap();
    let (v, run) = sessions_json(&[&path]);
    let s = skipped(&v);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].1, Some(24 + 2 * (16 + 60)));
    assert!(
        s[0].2
            .contains("captured length 100 exceeds the file's snapshot length 64"),
        "{}",
        s[0].2
    );
    assert_eq!(packets(&v), 2);
    assert_eq!(v["sessions"][0]["orig_pkts"], 2);
    assert_eq!(run.code, 0);
}

#[test]
fn captured_length_beyond_256_kib_is_an_error_without_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.pcap");
    // Snapshot length 0 ("unlimited"); a record header claiming 3 GB (the
    // data is not there: nothing may be allocated from the claim), and one
    // claiming 256 KiB + 1 with the data present.
    let mut f = pcap_with(0, &[(60, 60)]);
    let mut bad = f.clone();
    bad.extend_from_slice(&pcap_with(0, &[(3_000_000_000, 60)])[24..24 + 16]);
    std::fs::write(&path, &bad).unwrap();
    let (v, run) = sessions_json(&[&path]);
    let s = skipped(&v);
    assert_eq!(s[0].1, Some(24 + 16 + 60));
    assert!(
        s[0].2.contains("captured length 3000000000 exceeds 262144"),
        "{}",
        s[0].2
    );
    assert_eq!((packets(&v), run.code), (1, 0));

    f.extend_from_slice(&pcap_with(0, &[(256 * 1024 + 1, 256 * 1024 + 1)])[24..]);
    std::fs::write(&path, &f).unwrap();
    let (v, _) = sessions_json(&[&path]);
    assert!(
        skipped(&v)[0]
            .2
            .contains("captured length 262145 exceeds 262144")
    );
    assert_eq!(packets(&v), 1);
}

#[test]
fn corrupt_pcapng_blocks_are_reported_at_their_offset() {
    let full = std::fs::read(trace(
        "zeek-pcapng-multi-interface/pcapng-multi-interface.pcapng",
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Find the first Enhanced Packet Block and break its trailing length.
    let mut at = 0;
    let epb = loop {
        let t = u32::from_le_bytes(full[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(full[at + 4..at + 8].try_into().unwrap()) as usize;
        if t == 6 {
            break (at, len);
        }
        at += len;
    };
    let mut bad = full.clone();
    bad[epb.0 + epb.1 - 4] ^= 0x40;
    let path = dir.path().join("trailer.pcapng");
    std::fs::write(&path, &bad).unwrap();
    let (v, run) = sessions_json(&[&path]);
    let s = skipped(&v);
    assert_eq!(s[0].1, Some(epb.0 as u64));
    assert!(
        s[0].2.contains("does not match its trailing copy"),
        "{}",
        s[0].2
    );
    // The fault comes before the first packet: nothing was analysed.
    assert_eq!(packets(&v), 0);
    assert_eq!(run.code, 2);

    // A packet block naming an interface that was never described.
    let mut bad = full.clone();
    bad[epb.0 + 8] = 9;
    std::fs::write(&path, &bad).unwrap();
    let (v, _) = sessions_json(&[&path]);
    assert!(
        skipped(&v)[0]
            .2
            .contains("interface 9, which was never described")
    );

    // A block length far beyond the end of the file.
    let mut bad = full.clone();
    bad[epb.0 + 4..epb.0 + 8].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    std::fs::write(&path, &bad).unwrap();
    let (v, _) = sessions_json(&[&path]);
    let s = skipped(&v);
    assert_eq!(s[0].1, Some(epb.0 as u64));
    assert!(
        s[0].2.contains("runs past the end of the file"),
        "{}",
        s[0].2
    );
}

#[test]
fn not_a_capture_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "the build VM did not answer on 22\n").unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let (v, run) = sessions_json(&[&text, &empty]);
    assert_eq!(run.code, 2, "nothing could be read");
    let s = skipped(&v);
    assert_eq!(s.len(), 2);
    assert!(s.iter().any(|x| x.0 == text.display().to_string()
        && x.1 == Some(0)
        && x.2.contains("not a packet capture")));
    assert!(
        s.iter()
            .any(|x| x.0 == empty.display().to_string() && x.2 == "empty file")
    );
    assert!(run.stderr.contains("2 skipped"), "{}", run.stderr);
}

/// Files found by walking a folder that are not evidence say what they
/// are (issue 20): a gzip-compressed log whose lines start with `[` is
/// text, not "JSON"; configuration JSON is JSON; binary junk is unknown.
/// The plainly-not-evidence ones found by walking are the ones a terminal
/// sums up in one line (JSON lists them all).
#[test]
fn walked_files_that_are_not_evidence_say_what_they_are() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    std::fs::create_dir(&lab).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        b"[1733550000.1] NEW tcp src=10.1.0.4 dst=10.1.0.5 dport=22\n[1733550000.2] DESTROY\n",
    )
    .unwrap();
    std::fs::write(lab.join("conntrack-events.txt.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(
        lab.join("client.log"),
        "2026-12-07 04:00:01 ssh: connect to 10.1.0.5 port 22: timed out\n",
    )
    .unwrap();
    std::fs::write(
        lab.join("recording.json"),
        r#"{"scenario": "dropped", "captures": []}"#,
    )
    .unwrap();
    std::fs::write(lab.join("junk.bin"), [0u8, 1, 2, 3, 0xff, 0xfe, 0, 0]).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let named = elsewhere.path().join("notes.txt");
    std::fs::write(&named, "named on the command line\n").unwrap();
    let a = aibnet::analyze::analyze_paths(
        &[dir.path().to_path_buf(), named.clone()],
        &Default::default(),
    );
    let reason = |name: &str| {
        a.skipped
            .iter()
            .find(|s| s.path.ends_with(name))
            .map(|s| s.reason.as_str())
            .unwrap()
    };
    assert_eq!(
        reason("conntrack-events.txt.gz"),
        "gzip-compressed text (a log or notes), not a packet capture or flow log"
    );
    assert_eq!(
        reason("client.log"),
        "text (a log or notes), not a packet capture or flow log"
    );
    assert!(reason("recording.json").starts_with("JSON that is neither"));
    assert_eq!(
        reason("junk.bin"),
        "not a packet capture or flow log (unknown format)"
    );
    // The named text file is listed although plainly not evidence; the
    // walked ones are set aside, the junk is listed.
    let (listed, aside) =
        aibnet::ingest::Skipped::set_aside(&a.skipped, &[dir.path().to_path_buf(), named.clone()]);
    let names = |v: &[&aibnet::ingest::Skipped]| {
        let mut n: Vec<String> = v
            .iter()
            .map(|s| {
                Path::new(&s.path)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(&listed), ["junk.bin", "notes.txt"]);
    assert_eq!(
        names(&aside),
        ["client.log", "conntrack-events.txt.gz", "recording.json"]
    );
    // What `diagnose` prints on a terminal: the walked ones summed up in
    // one line, the others listed by path and reason; with `--verbose` or
    // without a terminal (`None`), every one.
    let d = aibnet::diagnose::diagnose(&a, &Default::default());
    let render = |sum_up: Option<&[PathBuf]>| {
        let mut out = Vec::new();
        aibnet::report::Render::render(
            &aibnet::report::DiagnoseReport {
                diagnosis: &d,
                analysis: &a,
                sum_up_not_evidence: sum_up,
            },
            aibnet::report::OutputFormat::Table,
            &aibnet::report::Style::plain(),
            &mut out,
        )
        .unwrap();
        // Wrapped to the terminal's width: compared word by word.
        String::from_utf8(out)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let named_paths = [dir.path().to_path_buf(), named.clone()];
    let terminal = render(Some(&named_paths));
    assert!(
        terminal.contains(
            "3 files found in folders not analysed: plainly not evidence (logs, text, notes, \
             other JSON); --verbose lists them, JSON output always does"
        ),
        "{terminal}"
    );
    assert!(
        terminal.contains(
            "junk.bin at byte offset 0: not a packet capture or flow log (unknown format)"
        ),
        "{terminal}"
    );
    assert!(terminal.contains(
        "notes.txt at byte offset 0: text (a log or notes), not a packet capture or flow log"
    ));
    for walked in ["client.log", "conntrack-events.txt.gz", "recording.json"] {
        assert!(!terminal.contains(walked), "{walked}: {terminal}");
    }
    let verbose = render(None);
    assert!(!verbose.contains("found in folders not analysed"));
    for (name, reason) in [
        (
            "client.log",
            "text (a log or notes), not a packet capture or flow log",
        ),
        (
            "conntrack-events.txt.gz",
            "gzip-compressed text (a log or notes), not a packet capture or flow log",
        ),
        (
            "recording.json",
            "JSON that is neither a flow log nor a capture",
        ),
    ] {
        assert!(
            verbose.contains(&format!("{name} at byte offset 0: {reason}")),
            "{name}: {verbose}"
        );
    }
    assert!(aibnet::ingest::not_evidence::summary(1).starts_with("1 file found in folders"));

    // Without a terminal (here) every one is listed on stderr.
    let (v, run) = sessions_json(&[dir.path()]);
    assert_eq!(skipped(&v).len(), 4);
    assert_eq!(
        run.stderr.matches("aibnet: skipped ").count(),
        4,
        "{}",
        run.stderr
    );
}

#[test]
fn missing_path_is_reported_and_the_rest_analysed() {
    let missing = PathBuf::from("/nonexistent/aibnet/capture.pcap");
    let good = trace("tcpdump-ssh/ssh.pcap");
    let (v, run) = sessions_json(&[&missing, &good]);
    assert_eq!(run.code, 0);
    let s = skipped(&v);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, missing.display().to_string());
    assert!(s[0].2.contains("No such file"), "{}", s[0].2);
    assert_eq!(packets(&v), 54);
    let (_, run) = sessions_json(&[&missing]);
    assert_eq!(run.code, 2);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_compressed_captures_are_read_and_truncated_streams_keep_their_prefix() {
    let plain = trace("zeek-ssh-basic/ssh.pcap");
    let raw = std::fs::read(&plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("ssh.pcap.gz");
    std::fs::write(&gz, gzip(&raw)).unwrap();
    let (a, _) = sessions_json(&[&plain]);
    let (b, run) = sessions_json(&[&gz]);
    assert_eq!(run.code, 0);
    assert_eq!(b["inputs"][0]["gzip"], true);
    assert_eq!(b["inputs"][0]["format"], "pcap");
    assert_eq!(sessions_only(&a), sessions_only(&b));

    // Detected by content, not name: a gzipped pcapng called .txt.
    let ng = std::fs::read(trace("pcap-parser-assets/test001-le.pcapng")).unwrap();
    let txt = dir.path().join("capture.txt");
    std::fs::write(&txt, gzip(&ng)).unwrap();
    let (v, _) = sessions_json(&[&txt]);
    assert_eq!(
        (v["inputs"][0]["format"].as_str(), packets(&v)),
        (Some("pcapng"), 4)
    );

    // Cut the compressed stream in half: what was decompressed is read, the
    // gzip fault and the framing fault (in decompressed bytes) are reported.
    let whole = gzip(&raw);
    let cut = dir.path().join("cut.pcap.gz");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let (v, run) = sessions_json(&[&cut]);
    assert_eq!(run.code, 0);
    let s = skipped(&v);
    assert!(
        s.iter().any(|x| x.2.contains("gzip stream broken after")),
        "{s:?}"
    );
    assert!(
        s.iter()
            .any(|x| x.1.is_some() && x.2.contains("offset into the decompressed data")),
        "{s:?}"
    );
    let n = packets(&v);
    assert!(n > 100 && n < 1797, "{n}");
}

#[test]
fn a_good_file_beside_a_bad_one_is_fully_analysed() {
    let good = trace("zeek-ssh-basic/ssh.pcap");
    let bad = trace("pcap-parser-assets/err-eof.bin");
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    let raw = std::fs::read(trace("zeek-rxmit-history/wikipedia.pcap")).unwrap();
    std::fs::write(&cut, &raw[..raw.len() / 2]).unwrap();

    let (alone, run) = sessions_json(&[&good]);
    assert_eq!(run.code, 0);
    for other in [&bad, &cut] {
        let (both, run) = sessions_json(&[other, &good]);
        assert_eq!(run.code, 0);
        assert_eq!(skipped(&both).len(), 1);
        // Every session of the good file, unchanged (the cut file's
        // sessions are other connections).
        let b = sessions_only(&both);
        for s in sessions_only(&alone) {
            assert!(b.contains(&s), "{s}");
        }
        let from_good = both["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["seen_by"][0] == good.display().to_string())
            .count();
        assert_eq!(from_good, alone["sessions"].as_array().unwrap().len());
    }
}

#[test]
fn stdin_garbage_and_stdin_capture() {
    let run = |input: &[u8]| -> (serde_json::Value, i32) {
        let run = common::run_stdin(["sessions", "--format", "json", "-"], input);
        (run.json(), run.code)
    };
    let (v, code) = run(b"\x00\x01garbage");
    assert_eq!(code, 2);
    assert_eq!(skipped(&v)[0].0, "-");
    let raw = std::fs::read(trace("tcpdump-ssh/ssh.pcap")).unwrap();
    let (v, code) = run(&gzip(&raw));
    assert_eq!((code, packets(&v)), (0, 54));
    assert_eq!(v["sessions"][0]["seen_by"][0], "-");
}

/// A flow log cut short before it shows what it is (its first bytes,
/// downloaded while Azure was still writing them) is not summed up with
/// the notes of a walked folder: it is listed, cut short where it ends.
#[test]
fn json_cut_short_is_listed_where_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let blob = dir.path().join("PT1H.json");
    std::fs::write(&blob, "{\"records\": [").unwrap();
    std::fs::write(dir.path().join("notes.json"), "{\"a\": 1}").unwrap();
    let a = aibnet::analyze::analyze_paths(&[dir.path().to_path_buf()], &Default::default());
    let cut = a
        .skipped
        .iter()
        .find(|s| s.path.ends_with("PT1H.json"))
        .unwrap();
    assert_eq!(cut.offset, Some(13));
    assert!(
        cut.reason
            .starts_with("JSON cut short: the input ends (13 bytes)"),
        "{}",
        cut.reason
    );
    let (listed, aside) =
        aibnet::ingest::Skipped::set_aside(&a.skipped, &[dir.path().to_path_buf()]);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].path.ends_with("PT1H.json"));
    assert!(aside.iter().all(|s| s.path.ends_with("notes.json")) && aside.len() == 1);
}

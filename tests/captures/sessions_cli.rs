//! `aibnet sessions` as a user runs it: output formats and the JSON
//! contract, filters, stdin, directory walking, and output that does not
//! depend on thread count or argument order.

use serde::Deserialize;
use std::path::Path;

use crate::common::{self, Run, trace};

fn args(head: &[&str], paths: &[&Path]) -> Vec<std::ffi::OsString> {
    head.iter()
        .map(|s| s.into())
        .chain(paths.iter().map(|p| p.as_os_str().to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------
// The JSON contract (schema_version 1). Unknown fields fail the test: a field
// added to the output must be added here (and to tests/TRACES.md) on purpose.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    schema_version: u32,
    inputs: Vec<InputJ>,
    sessions: Vec<SessionJ>,
    skipped: Vec<SkippedJ>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputJ {
    path: String,
    format: String,
    gzip: bool,
    packets: u64,
    decoded: u64,
    used: u64,
    first_ts: Option<String>,
    last_ts: Option<String>,
    not_decoded: std::collections::BTreeMap<String, u64>,
    error: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct SessionJ {
    proto: String,
    orig_h: String,
    orig_p: u16,
    resp_h: String,
    resp_p: u16,
    first_ts: String,
    last_ts: String,
    duration_s: f64,
    state: String,
    history: String,
    orig_pkts: u64,
    orig_bytes: u64,
    orig_ip_bytes: u64,
    resp_pkts: u64,
    resp_bytes: u64,
    resp_ip_bytes: u64,
    syn_retransmits: u32,
    missed_bytes: u64,
    icmp_error: Option<IcmpJ>,
    seen_by: Vec<String>,
    // Flow-log sessions only (absent for captures).
    decision: Option<String>,
    rule: Option<String>,
    direction: Option<String>,
    flow_state: Option<String>,
    nsg: Option<String>,
    note: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct IcmpJ {
    #[serde(rename = "type")]
    icmp_type: u8,
    code: u8,
    from: String,
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkippedJ {
    path: String,
    offset: Option<u64>,
    reason: String,
}

fn json(paths: &[&Path], extra: &[&str]) -> (Doc, Run) {
    let mut head = vec!["sessions", "--format", "json"];
    head.extend(extra);
    let run = common::run(args(&head, paths));
    let doc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", run.stdout, run.stderr));
    (doc, run)
}

/// RFC 3339, UTC, with `digits` fractional digits.
fn assert_rfc3339(ts: &str, digits: usize) {
    let b = ts.as_bytes();
    assert!(
        ts.ends_with('Z') && b[4] == b'-' && b[10] == b'T' && b[13] == b':',
        "{ts}"
    );
    let frac = ts[19..ts.len() - 1].trim_start_matches('.');
    assert_eq!(frac.len(), digits, "{ts}");
}

#[test]
fn json_follows_the_contract() {
    let ssh = trace("zeek-ssh-basic/ssh.pcap");
    let nano = trace("tcpdump-nano/tcp-handshake-nano.pcap");
    let (doc, run) = json(&[&ssh, &nano], &[]);
    assert_eq!(run.code, 0);
    assert_eq!(doc.schema_version, 1);
    assert_eq!(doc.inputs.len(), 2);
    assert!(doc.skipped.is_empty());
    // Inputs are listed in path order.
    assert!(doc.inputs[0].path.ends_with("tcp-handshake-nano.pcap"));
    let i = &doc.inputs[1];
    assert_eq!(
        (i.format.as_str(), i.gzip, i.packets),
        ("pcap", false, 1797)
    );
    assert_eq!(i.decoded, 1797);
    // Every decoded frame of a capture goes into a session.
    assert_eq!(i.used, 1797);
    assert!(i.not_decoded.is_empty() && i.error.is_none());
    assert_rfc3339(i.first_ts.as_deref().unwrap(), 6);
    assert_eq!(i.last_ts.as_deref(), Some("2015-01-12T05:45:28.379372Z"));
    // The nanosecond capture keeps 9 digits, in its input and its session.
    assert_rfc3339(doc.inputs[0].first_ts.as_deref().unwrap(), 9);
    assert_eq!(doc.sessions.len(), 26);
    for s in &doc.sessions {
        let digits = if s.seen_by[0].ends_with("nano.pcap") {
            9
        } else {
            6
        };
        assert_rfc3339(&s.first_ts, digits);
        assert_rfc3339(&s.last_ts, digits);
        assert!(["tcp", "udp", "icmp", "icmpv6", "other"].contains(&s.proto.as_str()));
        assert!(s.duration_s >= 0.0);
        assert!(s.orig_ip_bytes >= s.orig_bytes || s.proto == "tcp");
        assert_eq!(s.seen_by.len(), 1);
        assert!(s.decision.is_none() && s.rule.is_none() && s.note.is_none());
        assert!(s.direction.is_none() && s.flow_state.is_none() && s.nsg.is_none());
    }
    // Sorted by first timestamp.
    let ts: Vec<&str> = doc.sessions.iter().map(|s| s.first_ts.as_str()).collect();
    let mut sorted = ts.clone();
    sorted.sort();
    assert_eq!(ts, sorted);
    // The RSTR session of the Zeek baseline, in contract field names.
    let rstr = doc.sessions.iter().find(|s| s.state == "RSTR").unwrap();
    assert_eq!(
        (
            rstr.orig_h.as_str(),
            rstr.orig_p,
            rstr.resp_p,
            rstr.history.as_str()
        ),
        ("192.168.2.1", 55179, 2200, "ShADadFr")
    );
    assert_eq!(
        (
            rstr.orig_pkts,
            rstr.orig_bytes,
            rstr.resp_pkts,
            rstr.resp_bytes
        ),
        (37, 2757, 29, 1721)
    );
}

#[test]
fn json_icmp_error_and_skipped_entries() {
    // A capture with a linked ICMP error is built in traces.rs; here
    // the unlinked one shows the ICMP session fields, and a bad input the
    // skipped entry.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pcap");
    std::fs::write(&bad, b"\xd4\xc3\xb2\xa1 not really").unwrap();
    let icmp = trace("zeek-icmp-unreach/icmp-destunreach-udp.pcap");
    let (doc, run) = json(&[&icmp, &bad], &[]);
    assert_eq!(run.code, 0);
    assert_eq!(doc.sessions.len(), 1);
    let s = &doc.sessions[0];
    assert_eq!((s.proto.as_str(), s.orig_p, s.resp_p), ("icmp", 3, 3));
    assert_eq!(doc.skipped.len(), 1);
    let k = &doc.skipped[0];
    assert_eq!(k.path, bad.display().to_string());
    assert_eq!(k.offset, Some(0));
    assert!(k.reason.contains("file header truncated"), "{}", k.reason);
    let bad_input = doc.inputs.iter().find(|i| i.path == k.path).unwrap();
    assert!(
        bad_input
            .error
            .as_deref()
            .unwrap()
            .contains("byte offset 0")
    );
}

#[test]
fn ndjson_is_the_json_sessions_one_per_line() {
    let p = trace("zeek-rxmit-history/wikipedia.pcap");
    let (doc, _) = json(&[&p], &[]);
    let run = common::run(args(&["sessions", "--format", "ndjson"], &[&p]));
    assert_eq!(run.code, 0);
    let lines: Vec<SessionJ> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, doc.sessions);
    assert_eq!(lines.len(), 34);
}

#[test]
fn markdown_and_table() {
    let p = trace("zeek-pop3-rej/pop3.pcap");
    let md = common::run(args(&["sessions", "--format", "markdown"], &[&p]));
    assert_eq!(md.code, 0);
    let lines: Vec<&str> = md.stdout.lines().collect();
    assert!(lines[0].starts_with("| proto | originator | responder | state | history |"));
    assert!(lines[1].starts_with("|---|"));
    assert_eq!(lines.len(), 2 + 11);
    assert_eq!(
        lines.iter().filter(|l| l.contains("| REJ | Sr |")).count(),
        6
    );
    assert!(lines[2].contains("| 192.168.0.4:26242 | 212.227.15.188:110 |"));

    let table = common::run(args(&["sessions", "--format", "table"], &[&p]));
    assert_eq!(table.code, 0);
    assert!(table.stdout.contains("originator") && table.stdout.contains("history"));
    assert_eq!(table.stdout.matches(" REJ ").count(), 6);
    assert_eq!(table.stdout.matches(" ShAdDafF ").count(), 5);
    assert!(!table.stdout.contains('\u{1b}'), "no colour on a pipe");
    // One summary line on stderr.
    assert!(
        table
            .stderr
            .contains("1 input, 125 packets/tuples, 11 sessions (11 shown), 0 skipped"),
        "{}",
        table.stderr
    );
}

#[test]
fn filters() {
    let p = trace("zeek-ssh-basic/ssh.pcap");
    let (all, _) = json(&[&p], &[]);
    let (by_state, run) = json(&[&p], &["--state", "rstr,S0"]);
    assert!(
        run.stderr.contains("25 sessions (3 shown)"),
        "{}",
        run.stderr
    );
    assert!(
        by_state
            .sessions
            .iter()
            .all(|s| s.state == "RSTR" || s.state == "S0")
    );
    assert_eq!(by_state.sessions.len(), 3);

    let (by_port, _) = json(&[&p], &["--port", "2200", "--port", "8118"]);
    assert_eq!(
        by_port
            .sessions
            .iter()
            .map(|s| s.resp_p)
            .collect::<Vec<_>>(),
        [2200, 8118]
    );

    let (by_host, _) = json(&[&p], &["--host", "192.168.1.31"]);
    let want = all
        .sessions
        .iter()
        .filter(|s| s.orig_h == "192.168.1.31" || s.resp_h == "192.168.1.31")
        .count();
    assert_eq!(by_host.sessions.len(), want);
    assert_eq!(want, 5);

    // Filters combine: host and port and state.
    let (both, _) = json(
        &[&p],
        &["--host", "192.168.1.31", "--port", "22", "--state", "SF"],
    );
    assert_eq!(both.sessions.len(), 2);
    // Inputs and skips are never filtered.
    assert_eq!(both.inputs.len(), 1);

    let bad = common::run(args(&["sessions", "--state", "SYN"], &[&p]));
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("unknown state \"SYN\""),
        "{}",
        bad.stderr
    );
    let bad = common::run(args(&["sessions", "--host", "not-an-ip"], &[&p]));
    assert_eq!(bad.code, 2);
}

#[test]
fn stdin_dash() {
    let p = trace("zeek-ssh-basic/ssh.pcap");
    let (from_file, _) = json(&[&p], &[]);
    let bytes = std::fs::read(&p).unwrap();
    let out = common::run_stdin(["sessions", "--format", "json", "-"], &bytes);
    assert_eq!(out.code, 0);
    let doc: Doc = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc.inputs[0].path, "-");
    assert_eq!(doc.sessions.len(), from_file.sessions.len());
    for (a, b) in doc.sessions.iter().zip(&from_file.sessions) {
        assert_eq!(a.seen_by, ["-"]);
        assert_eq!(
            (&a.history, a.orig_pkts, a.resp_bytes),
            (&b.history, b.orig_pkts, b.resp_bytes)
        );
    }
}

#[test]
fn directories_are_walked() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("vm1/2024");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::copy(trace("zeek-pop3-rej/pop3.pcap"), sub.join("a.cap")).unwrap();
    std::fs::copy(
        trace("zeek-pcapng-multi-interface/pcapng-multi-interface.pcapng"),
        dir.path().join("b"),
    )
    .unwrap();
    // Hidden files are not evidence; other files are reported, not read.
    std::fs::write(dir.path().join(".swp"), b"x").unwrap();
    std::fs::write(dir.path().join("README"), b"notes").unwrap();
    let (doc, run) = json(&[dir.path()], &[]);
    assert_eq!(run.code, 0);
    let paths: Vec<&str> = doc.inputs.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(paths[0].ends_with("/README"));
    assert!(paths[1].ends_with("/b"));
    assert!(paths[2].ends_with("/vm1/2024/a.cap"));
    assert_eq!(doc.sessions.len(), 11 + 3);
    assert_eq!(doc.skipped.len(), 1);
}

/// A capture of `copies` interleaved replays of `src` (classic pcap,
/// Ethernet, IPv4): copy k has the second octet of both addresses set to k
/// and starts k × 7 ms later. Records are merged by time.
fn replayed(src: &Path, copies: u32) -> Vec<u8> {
    let raw = std::fs::read(src).unwrap();
    let mut recs: Vec<(u64, u32, &[u8])> = Vec::new();
    let mut at = 24;
    while at + 16 <= raw.len() {
        let secs = u32::from_le_bytes(raw[at..at + 4].try_into().unwrap());
        let usec = u32::from_le_bytes(raw[at + 4..at + 8].try_into().unwrap());
        let caplen = u32::from_le_bytes(raw[at + 8..at + 12].try_into().unwrap()) as usize;
        recs.push((
            u64::from(secs) * 1_000_000 + u64::from(usec),
            0,
            &raw[at..at + 16 + caplen],
        ));
        at += 16 + caplen;
    }
    let mut all: Vec<(u64, u32, &[u8])> = Vec::new();
    for k in 0..copies {
        all.extend(
            recs.iter()
                .map(|&(t, _, r)| (t + u64::from(k) * 7_000, k, r)),
        );
    }
    all.sort_by_key(|&(t, k, _)| (t, k));
    let mut out = raw[..24].to_vec();
    for (t, k, r) in all {
        let mut r = r.to_vec();
        r[0..4].copy_from_slice(&((t / 1_000_000) as u32).to_le_bytes());
        r[4..8].copy_from_slice(&((t % 1_000_000) as u32).to_le_bytes());
        if r.len() >= 16 + 34 && r[16 + 12..16 + 14] == [0x08, 0x00] {
            r[16 + 14 + 12 + 1] = k as u8;
            r[16 + 14 + 16 + 1] = k as u8;
        }
        out.extend_from_slice(&r);
    }
    out
}

#[test]
fn output_does_not_depend_on_threads_or_argument_order() {
    // Over 32 MiB, so that with more than one thread the capture is cut into
    // chunks and its flows sharded across threads.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pcap");
    std::fs::write(&big, replayed(&trace("zeek-ssh-basic/ssh.pcap"), 27)).unwrap();
    assert!(std::fs::metadata(&big).unwrap().len() > aibnet::analyze::PARALLEL_MIN_BYTES as u64);
    let small = trace("zeek-rxmit-history/wikipedia.pcap");
    let other = trace("zeek-pop3-rej/pop3.pcap");
    let run = |j: &str, paths: &[&Path]| {
        let r = common::run(args(&["sessions", "--format", "ndjson", "-j", j], paths));
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    let one = run("1", &[&big, &small, &other]);
    assert_eq!(one.lines().count(), 27 * 25 + 34 + 11);
    assert_eq!(one, run("2", &[&big, &small, &other]));
    assert_eq!(one, run("3", &[&other, &small, &big]));
    assert_eq!(one, run("2", &[&other, &big, &small]));
    for f in ["json", "markdown", "table"] {
        let a = common::run(args(
            &["sessions", "--format", f, "-j", "1"],
            &[&small, &other],
        ));
        let b = common::run(args(
            &["sessions", "--format", f, "-j", "2"],
            &[&other, &small],
        ));
        assert_eq!(a.stdout, b.stdout, "{f}");
    }
    // Each replay is its own set of 25 sessions, identical to the original.
    let orig = run("1", &[&trace("zeek-ssh-basic/ssh.pcap")]);
    let states = |s: &str| {
        let mut v: Vec<String> = s
            .lines()
            .map(|l| {
                let j: SessionJ = serde_json::from_str(l).unwrap();
                format!("{} {} {} {}", j.state, j.history, j.orig_pkts, j.resp_bytes)
            })
            .collect();
        v.sort();
        v
    };
    let mut want: Vec<String> = (0..27).flat_map(|_| states(&orig)).collect();
    want.sort();
    let big_only = run("2", &[&big]);
    assert_eq!(states(&big_only), want);
}

#[test]
fn exit_codes_and_usage_errors() {
    assert_eq!(common::run(["sessions"]).code, 2, "a path is required");
    assert_eq!(common::run(["sessions", "-j", "0", "x"]).code, 2);
    assert_eq!(common::run(["frobnicate"]).code, 2);
    let p = trace("tcpdump-ssh/ssh.pcap");
    assert_eq!(
        common::run(args(&["sessions", "--format", "json"], &[&p])).code,
        0
    );
    let help = common::run(["sessions", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--format"));
}

/// `missed_bytes` (issue 20): Zeek's content gaps of both directions, in
/// JSON and NDJSON alike — the server's 2902 unseen bytes of
/// `tcp/miss_end_data.pcap` (Zeek's baseline: `ShADafgF`, 2902), the gap of
/// `ftp/bigtransfer.pcap` across 32-bit sequence wraps, 0 without gaps.
#[test]
fn missed_bytes_are_zeeks_content_gaps() {
    let zeek = common::data("zeek");
    let miss = zeek.join("tcp-miss_end_data/miss_end_data.pcap");
    let (doc, _) = json(&[&miss], &[]);
    let s: Vec<(&str, u64)> = doc
        .sessions
        .iter()
        .map(|s| (s.history.as_str(), s.missed_bytes))
        .collect();
    assert_eq!(s, [("ShADafgF", 2902)]);
    let big = zeek.join("ftp-bigtransfer/bigtransfer.pcap");
    let (doc, _) = json(&[&big], &["--port", "37150"]);
    let s: Vec<(&str, u64)> = doc
        .sessions
        .iter()
        .map(|s| (s.history.as_str(), s.missed_bytes))
        .collect();
    assert_eq!(s, [("ShAdgfFa", 5_416_642_848)]);
    let run = common::run(args(&["sessions", "--format", "ndjson"], &[&miss]));
    assert!(
        run.stdout
            .contains(r#""syn_retransmits":0,"missed_bytes":2902,"#),
        "{}",
        run.stdout
    );
    let (doc, _) = json(&[&trace("zeek-ssh-basic/ssh.pcap")], &[]);
    assert!(doc.sessions.iter().all(|s| s.missed_bytes == 0));
}

//! Hostile and broken input (issue 7): the adversarial corpus of
//! `captures/bad/` (see its README for the bounds), larger adversarial inputs
//! generated in a temporary directory, the fuzzers' crash regressions, and
//! the accounting of `--stats`.
//!
//! Every bad input must give a clear error or a counted skip, within bounded
//! time and memory, and must not change what the other inputs of the run
//! give.

mod corpus;

use crate::common::bytes::*;
use crate::common::{BIN, Run, aibnet, captures, finish, repo, run_stdin};
use aibnet::analyze::{Analysis, analyze_paths};
use aibnet::sessions::Session;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bad_dir() -> PathBuf {
    captures("bad")
}

/// What a session looks like, without which inputs saw it (input numbers
/// change when other files join the run).
type View = (
    String,
    String,
    u16,
    String,
    u16,
    i64,
    i64,
    String,
    String,
    (u64, u64, u64),
    (u64, u64, u64),
);

fn view(s: &Session) -> View {
    (
        s.proto.as_str().to_string(),
        s.orig_h.to_string(),
        s.orig_p,
        s.resp_h.to_string(),
        s.resp_p,
        s.first_ts,
        s.last_ts,
        s.state.as_str().to_string(),
        s.history.as_str().to_string(),
        (s.orig.pkts, s.orig.bytes, s.orig.ip_bytes),
        (s.resp.pkts, s.resp.bytes, s.resp.ip_bytes),
    )
}

fn views(a: &Analysis) -> Vec<View> {
    a.sessions.iter().map(view).collect()
}

/// Every reason recorded for a path: the input's error and its skips.
fn reasons(a: &Analysis, path: &str) -> String {
    let mut r: Vec<String> = a
        .inputs
        .iter()
        .filter(|i| i.path == path)
        .filter_map(|i| i.error.clone())
        .collect();
    r.extend(
        a.skipped
            .iter()
            .filter(|s| s.path == path)
            .map(|s| s.reason.clone()),
    );
    r.join(" | ")
}

// Time is not asserted here (the machines are shared and noisy): a reader
// that loops, or blows up quadratically, shows as a test that does not end,
// which CI's time limit catches. The README states the measured bounds.

#[test]
fn committed_corpus_is_current() {
    let dir = bad_dir();
    let write = std::env::var_os("AIBNET_WRITE_BAD").is_some();
    let mut all = corpus::files();
    all.push(corpus::BadFile {
        name: "good-beside.pcap",
        bytes: corpus::good(),
        expect: corpus::Expect {
            read: 0,
            decoded: 0,
            reason: None,
        },
    });
    for f in all {
        let p = dir.join(f.name);
        if write {
            std::fs::write(&p, &f.bytes).unwrap();
        }
        let on_disk = std::fs::read(&p)
            .unwrap_or_else(|e| panic!("{}: {e} (AIBNET_WRITE_BAD=1 writes it)", p.display()));
        assert!(
            on_disk == f.bytes,
            "{} differs from its generator (AIBNET_WRITE_BAD=1 rewrites it)",
            f.name
        );
        assert!(
            on_disk.len() <= 128 << 10,
            "{} is too big to commit",
            f.name
        );
    }
}

#[test]
fn each_bad_file_gives_its_error_or_counted_skips() {
    let dir = bad_dir();
    for f in corpus::files() {
        let p = dir.join(f.name);
        let a = analyze_paths(std::slice::from_ref(&p), &Default::default());
        let path = p.display().to_string();
        let input = a.inputs.iter().find(|i| i.path == path);
        let (read, decoded) = input.map_or((0, 0), |i| (i.packets, i.decoded));
        assert_eq!(
            (read, decoded),
            (f.expect.read, f.expect.decoded),
            "{}: read/decoded",
            f.name
        );
        if let Some(i) = input {
            let not: u64 = i.not_decoded.values().sum();
            assert_eq!(i.packets, i.decoded + not, "{}: accounting", f.name);
        }
        let why = reasons(&a, &path);
        match f.expect.reason {
            Some(r) => assert!(why.contains(r), "{}: wanted {r:?} in {why:?}", f.name),
            None => assert!(why.is_empty(), "{}: no error expected, got {why:?}", f.name),
        }
        // Every report renders, whatever the timestamps and counts.
        let mut out = Vec::new();
        let report = aibnet::report::SessionsReport {
            analysis: &a,
            sessions: &a.sessions,
            filter: &Default::default(),
        };
        for format in [
            aibnet::report::OutputFormat::Json,
            aibnet::report::OutputFormat::Table,
        ] {
            use aibnet::report::Render;
            report
                .render(format, &aibnet::report::Style::plain(), &mut out)
                .unwrap();
        }
    }
}

#[test]
fn a_good_file_beside_each_bad_one_gives_the_same_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.pcap");
    std::fs::write(&good, corpus::good()).unwrap();
    let alone = views(&analyze_paths(
        std::slice::from_ref(&good),
        &Default::default(),
    ));
    assert_eq!(alone.len(), 2, "{alone:?}");
    for f in corpus::files() {
        let bad = bad_dir().join(f.name);
        let both = analyze_paths(&[bad.clone(), good.clone()], &Default::default());
        let from_good: Vec<View> = views(&both)
            .into_iter()
            .filter(|v| v.1.starts_with("10.") || v.3.starts_with("10."))
            .collect();
        assert_eq!(from_good, alone, "beside {}", f.name);
        let g = both
            .inputs
            .iter()
            .find(|i| i.path == good.display().to_string());
        assert_eq!(g.map(|i| i.packets), Some(10), "beside {}", f.name);
    }
    // And all of them at once, in a directory.
    let all = analyze_paths(&[bad_dir()], &Default::default());
    let from_good: Vec<View> = views(&all)
        .into_iter()
        .filter(|v| v.1.starts_with("10.") || v.3.starts_with("10."))
        .collect();
    assert_eq!(from_good, alone);
}

#[test]
fn the_cli_reads_the_whole_corpus_and_exits_0() {
    let out = finish(
        aibnet()
            .args(["sessions", "--format", "json"])
            .arg(bad_dir()),
    );
    let stderr = &out.stderr;
    assert_eq!(out.code, 0, "{stderr}");
    let v = out.json();
    let skipped = v["skipped"].as_array().unwrap();
    for f in corpus::files() {
        if f.expect.reason.is_some() {
            assert!(
                skipped
                    .iter()
                    .any(|s| s["path"].as_str().unwrap().ends_with(f.name)),
                "{} not in skipped: {stderr}",
                f.name
            );
        }
    }
}

/// A big-endian pcapng section applies its interface's nanosecond
/// resolution and one-hour `if_tsoffset`; a simple packet block keeps the
/// interface's snapshot length of its frame and the frame's own length.
#[test]
fn pcapng_interface_options_apply_in_both_byte_orders() {
    let a = analyze_paths(
        &[bad_dir().join("pcapng-big-endian-tsoffset.pcapng")],
        &Default::default(),
    );
    assert_eq!(a.sessions.len(), 1);
    assert_eq!(a.sessions[0].first_ts, 1_700_003_600_000_000_000);
    assert_eq!(a.inputs[0].ts_digits, 9);
    let a = analyze_paths(
        &[bad_dir().join("pcapng-simple-packet-blocks.pcapng")],
        &Default::default(),
    );
    let s = &a.sessions[0];
    // 60 bytes captured of a 74-byte frame: the UDP length still says 32.
    assert_eq!((s.resp_p, s.orig.pkts, s.orig.bytes), (53, 1, 32));
    assert_eq!(a.skipped[0].offset, Some(140));
}

// ---------------------------------------------------------------------------
// Generated inputs (too large to commit).

#[test]
fn pcapng_with_100_000_interface_blocks_reads() {
    // (The cost of chunking such a file is checked in hostile_regressions.)
    let mut f = shb();
    for _ in 0..100_000 {
        f.extend(idb(1, 65535, &[]));
    }
    for i in 0..2_000u32 {
        f.extend(epb(
            i * 50,
            1_700_000_000_000_000 + u64::from(i),
            &tcp4(
                [192, 0, 2, 1],
                40_000 + (i % 50) as u16,
                [192, 0, 2, 2],
                22,
                SYN,
                1,
                0,
                b"",
            ),
        ));
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("many-idb.pcapng");
    std::fs::write(&p, &f).unwrap();
    let a = analyze_paths(&[p], &Default::default());
    assert_eq!(a.inputs[0].packets, 2_000);
    assert_eq!(a.inputs[0].decoded, 2_000);
    assert!(a.skipped.is_empty(), "{:?}", a.skipped);
}

#[test]
fn frames_at_and_over_the_frame_limit() {
    use aibnet::capture::MAX_FRAME_LEN;
    let max = MAX_FRAME_LEN as usize;
    let at = tcp4(
        [192, 0, 2, 1],
        40_060,
        [192, 0, 2, 2],
        22,
        ACK,
        1,
        1,
        &vec![0; max - 54],
    );
    let over = vec![0u8; max + 1];
    let mut f = pcap_header(false, u32::MAX, 1);
    f.extend(pcap_record(1_700_000_000, 0, &at));
    f.extend(pcap_record(1_700_000_000, 1, &over));
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("limit.pcap");
    std::fs::write(&p, &f).unwrap();
    let a = analyze_paths(std::slice::from_ref(&p), &Default::default());
    assert_eq!(a.inputs[0].packets, 1);
    assert!(
        reasons(&a, &p.display().to_string()).contains("exceeds 262144"),
        "{:?}",
        a.skipped
    );
}

/// A multi-member gzip stream: one member of `member_mib` MiB of zeros after
/// a pcap header, repeated `copies` times (the same few KB each).
fn bomb(member_mib: usize, copies: usize) -> Vec<u8> {
    let mut head = pcap_header(false, 65535, 1);
    head.resize(member_mib << 20, 0);
    let first = gzip(&head);
    let zeros = gzip(&vec![0; member_mib << 20]);
    let mut v = first;
    for _ in 1..copies {
        v.extend_from_slice(&zeros);
    }
    v
}

#[test]
fn a_gzip_bomb_is_cut_at_the_limit_fast() {
    // 64 MiB × 64 = 4 GiB of output from about 4 MB.
    let b = bomb(64, 64);
    assert!(b.len() < 8 << 20, "{}", b.len());
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bomb.pcap.gz");
    std::fs::write(&p, &b).unwrap();

    let src = aibnet::ingest::Source::File(p.clone());
    let input = aibnet::ingest::load(&src, &aibnet::ingest::Limits::max_gunzip(32 << 20)).unwrap();
    assert_eq!(input.bytes.len(), 32 << 20);
    assert!(
        input
            .warning
            .as_deref()
            .unwrap_or("")
            .contains("expands beyond 33554432 bytes"),
        "{:?}",
        input.warning
    );

    // The CLI with a small limit, under a 1 GiB address-space limit: a reader
    // that decompressed the whole bomb would fail to allocate.
    let out = finish(
        Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 1048576 && exec \"$@\"")
            .arg("sh")
            .arg(BIN)
            .args([
                "sessions",
                "--format",
                "json",
                "--threads",
                "1",
                "--max-gunzip",
                "48M",
            ])
            .arg(&p),
    );
    let stderr = &out.stderr;
    assert_eq!(out.code, 0, "{stderr}");
    assert!(stderr.contains("expands beyond 50331648 bytes"), "{stderr}");
    let v = out.json();
    // Every 16-byte run of zeros after the header is an empty record.
    assert_eq!(v["inputs"][0]["packets"], ((48u64 << 20) - 24) / 16);
}

#[test]
fn json_nested_100_000_deep_is_reported_cleanly() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let flow = format!(
        "{{\"records\":[{{\"category\":\"NetworkSecurityGroupFlowEvent\",\"properties\":{{\"flows\":{}{}}}}}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("deep.json");
    std::fs::write(&p, &deep).unwrap();
    let q = tmp.path().join("deep-flowlog.json");
    std::fs::write(&q, &flow).unwrap();

    // The configuration reader: serde_json's recursion limit, as an error.
    let e = aibnet::check::read_json(&p, deep.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("recursion limit"), "{e}");
    let e = aibnet::check::read_json(&q, flow.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("recursion limit"), "{e}");

    // explain falls back to reading it as text.
    let x = aibnet::explain::explain(deep.as_bytes(), &Default::default());
    assert!(!x.recognised);

    // sessions: skipped with a reason, the run goes on.
    let good = tmp.path().join("good.pcap");
    std::fs::write(&good, corpus::good()).unwrap();
    let a = analyze_paths(&[p.clone(), q.clone(), good], &Default::default());
    assert!(!reasons(&a, &p.display().to_string()).is_empty());
    assert!(!reasons(&a, &q.display().to_string()).is_empty());
    assert_eq!(a.sessions.len(), 2);
}

#[test]
fn a_symlink_loop_is_walked_once() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/good.pcap"), corpus::good()).unwrap();
    std::os::unix::fs::symlink(&d, d.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(d.join("sub/loop"), d.join("self")).unwrap();
    let a = analyze_paths(&[d], &Default::default());
    assert_eq!(a.inputs.len(), 1, "{:?}", a.inputs);
    assert_eq!(a.sessions.len(), 2);
    assert!(
        a.skipped.iter().any(|s| s.reason.contains("symlink loop")),
        "{:?}",
        a.skipped
    );
}

#[test]
fn dangling_links_fifos_and_odd_names_are_skipped_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("good.pcap"), corpus::good()).unwrap();
    std::os::unix::fs::symlink(d.join("missing.pcap"), d.join("dangling.pcap")).unwrap();
    let fifo = d.join("fifo.pcap");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    // A file name that is not UTF-8.
    use std::os::unix::ffi::OsStrExt;
    let odd = d.join(std::ffi::OsStr::from_bytes(b"caf\xe9.pcap"));
    std::fs::write(&odd, corpus::good()).unwrap();
    let a = analyze_paths(&[d.to_path_buf()], &Default::default());
    assert!(
        a.skipped.iter().any(|s| s.path.ends_with("dangling.pcap")),
        "{:?}",
        a.skipped
    );
    if made {
        assert!(
            a.skipped
                .iter()
                .any(|s| s.path.ends_with("fifo.pcap") && s.reason.contains("not a regular file")),
            "{:?}",
            a.skipped
        );
    }
    assert_eq!(a.inputs.len(), 2, "{:?}", a.inputs);
    assert!(a.inputs.iter().any(|i| i.path.contains("caf")));
}

#[test]
fn an_unreadable_file_is_skipped_with_a_reason() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("locked.pcap");
    std::fs::write(&p, corpus::good()).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root (as CI runs) reads mode-000 files anyway: then the file is simply
    // read, which is also right. Only a non-root run sees the refusal.
    if std::fs::read(&p).is_ok() {
        eprintln!("running as root: mode 000 does not stop reading; checked it reads");
        let a = analyze_paths(std::slice::from_ref(&p), &Default::default());
        assert_eq!(a.inputs.len(), 1);
        return;
    }
    let a = analyze_paths(std::slice::from_ref(&p), &Default::default());
    assert!(a.inputs.is_empty());
    assert!(
        a.skipped[0].reason.contains("ermission denied"),
        "{:?}",
        a.skipped
    );
}

// ---------------------------------------------------------------------------
// Fuzzer crash regressions: every file under fuzz/regressions/TARGET/ replays
// through that target's body (fuzz/harness.rs, assertions included).

#[path = "../../fuzz/harness.rs"]
mod harness;

fn regressions(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = repo().join("fuzz/regressions").join(target);
    let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .map(|p| {
                    let b = std::fs::read(&p).unwrap();
                    (p, b)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn fuzz_regressions_replay() {
    type Target = (&'static str, fn(&[u8]));
    let targets: [Target; 7] = [
        ("capture", harness::capture),
        ("flowlog", harness::flowlog),
        ("flow_tuple", harness::flow_tuple),
        ("decode_sessions", harness::decode_sessions),
        ("shards", harness::shards),
        ("check_json", harness::check_json),
        ("explain_text", harness::explain_text),
    ];
    for (name, run) in targets {
        for (p, data) in regressions(name) {
            eprintln!("replaying {}", p.display());
            run(&data);
        }
    }
    // The committed corpus goes through the capture target too.
    for f in corpus::files() {
        harness::capture(&f.bytes);
    }
}

// ---------------------------------------------------------------------------
// Accounting: `--stats` and the JSON say, per input, what was read, decoded,
// used and not decoded by reason, and the numbers add up.

#[test]
fn stats_add_up_for_every_input() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.pcap");
    std::fs::write(&good, corpus::good()).unwrap();
    let runs: [&[&str]; 2] = [
        &["sessions", "--format", "json", "--stats"],
        &[
            "diagnose",
            "--format",
            "json",
            "--stats",
            "--fail-on",
            "never",
        ],
    ];
    for args in runs {
        let out = finish(aibnet().args(args).arg(bad_dir()).arg(&good));
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        // `diagnose` stitches only the AIB-relevant flow-log tuples.
        check_stats(&out.stdout, &out.stderr, args[0] == "sessions");
    }
}

fn check_stats(stdout: &str, stderr: &str, all_used: bool) {
    let v: serde_json::Value = serde_json::from_str(stdout).unwrap();
    let inputs = v["inputs"].as_array().unwrap();
    assert!(inputs.len() > 10, "{stderr}");
    let mut table_rows = 0;
    for i in inputs {
        let path = i["path"].as_str().unwrap();
        let read = i["packets"].as_u64().unwrap();
        let decoded = i["decoded"].as_u64().unwrap();
        let not_decoded = i["not_decoded"].as_object().unwrap();
        let not: u64 = not_decoded.values().map(|n| n.as_u64().unwrap()).sum();
        // One spelling for every reason, capture or flow log.
        for k in not_decoded.keys() {
            assert!(
                !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{path}: reason {k:?} is not snake_case"
            );
        }
        if path.ends_with("flowlog-12-and-14-fields.json") {
            assert_eq!(
                serde_json::Value::Object(not_decoded.clone()),
                serde_json::json!({"bad_tuple": 2}),
                "{path}"
            );
        }
        // Frames read = decoded + not decoded, whether or not reading
        // stopped early (a frame that could not be framed is not read).
        assert_eq!(read, decoded + not, "{path}");
        // The --stats line for this input carries the same numbers.
        let line = stderr
            .lines()
            .find(|l| l.starts_with("aibnet: stats: ") && l.contains(path))
            .unwrap_or_else(|| panic!("no stats line for {path}: {stderr}"));
        let cols: Vec<&str> = line
            .trim_start_matches("aibnet: stats: ")
            .trim_start_matches(path)
            .split_whitespace()
            .collect();
        assert_eq!(cols[1], read.to_string(), "{line}");
        assert_eq!(cols[2], decoded.to_string(), "{line}");
        // Every decoded frame is used (becomes a session update), but for
        // the flow-log tuples a diagnosis has no use for.
        let used = i["used"].as_u64().unwrap();
        assert_eq!(cols[3], used.to_string(), "{line}");
        let flowlog = i["format"] == "flowlog";
        if all_used || !flowlog {
            assert_eq!(used, decoded, "{line}");
        } else {
            assert!(used <= decoded, "{line}");
        }
        table_rows += 1;
    }
    assert_eq!(table_rows, inputs.len());
    let total = stderr
        .lines()
        .find(|l| l.contains("stats: total ("))
        .unwrap_or_else(|| panic!("no total: {stderr}"));
    let sum: u64 = inputs.iter().map(|i| i["packets"].as_u64().unwrap()).sum();
    assert!(total.contains(&sum.to_string()), "{total}");
}

#[test]
fn a_flow_log_record_with_one_huge_string_is_read() {
    // A 64 MiB resourceId (the 1 GB case scaled down: the reader borrows
    // from the input and keeps the string once, shared by the sessions, so
    // memory grows linearly, about 2× the string in all; the README states
    // the measured bound).
    let n = 64 << 20;
    let mut doc = Vec::with_capacity(n + 512);
    doc.extend_from_slice(b"{\"records\":[{\"time\":\"2024-08-19T18:00:06Z\",\"category\":\"NetworkSecurityGroupFlowEvent\",\"resourceId\":\"");
    doc.resize(doc.len() + n, b'A');
    doc.extend_from_slice(b"\",\"properties\":{\"Version\":2,\"flows\":[{\"rule\":\"R\",\"flows\":[{\"mac\":\"AA\",\"flowTuples\":[\"1724090346,192.0.2.1,192.0.2.2,40200,22,T,I,D,B,,,,\"]}]}]}}]}");
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("huge-string.json");
    std::fs::write(&p, &doc).unwrap();
    drop(doc);
    let a = analyze_paths(&[p], &Default::default());
    assert_eq!(a.inputs[0].packets, 1);
    assert_eq!(a.inputs[0].decoded, 1);
}

#[test]
fn an_endless_stdin_stops_at_the_bound() {
    use std::io::Write;
    use std::process::Stdio;
    // A pcap header and then more zeros than the bound: a stream that does
    // not end (`cat /dev/zero |`) stops at the bound in the same way.
    let mut child = aibnet()
        .args(["sessions", "--format", "json", "--max-gunzip", "1M", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&pcap_header(false, 65535, 1));
        let zeros = vec![0u8; 1 << 16];
        // 8 MiB, or until aibnet stops reading (a broken pipe).
        for _ in 0..128 {
            if stdin.write_all(&zeros).is_err() {
                break;
            }
        }
    });
    let out = Run::from(child.wait_with_output().unwrap());
    writer.join().unwrap();
    let stderr = &out.stderr;
    assert_eq!(out.code, 0, "{stderr}");
    assert!(stderr.contains("longer than 1048576 bytes"), "{stderr}");
    let v = out.json();
    assert_eq!(v["inputs"][0]["packets"], ((1u64 << 20) - 24) / 16);
}

#[test]
fn explain_reads_the_tail_of_a_huge_or_endless_input() {
    let error = std::fs::read(captures("errors/f1-linux-bastion.customization.log")).unwrap();
    let mut text = Vec::new();
    while text.len() < 4 << 20 {
        text.extend_from_slice(b"==> azure-arm: some unrelated build output line\n");
    }
    text.extend_from_slice(&error);
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("customization.log");
    std::fs::write(&p, &text).unwrap();

    // A file.
    let out = finish(
        aibnet()
            .args(["explain", "--format", "json", "--max-input", "64K"])
            .arg(&p),
    );
    let stderr = &out.stderr;
    assert!(stderr.contains("explaining its last 65536"), "{stderr}");
    assert_eq!(out.json()["recognised"], true, "{stderr}");

    // stdin.
    let out = run_stdin(
        ["explain", "--format", "json", "--max-input", "64K", "-"],
        &text,
    );
    let stderr = &out.stderr;
    assert!(stderr.contains("stdin is longer than 65536"), "{stderr}");
    assert_eq!(out.json()["recognised"], true, "{stderr}");
}

/// A rule name that would clear the screen, retitle the terminal, ring the
/// bell, reorder text, break a Markdown table, open a code span and run a
/// script, written into a real flow log (the lab's proxy → build VM deny),
/// in an NSG whose name and a blob path are hostile too.
const HOSTILE_RULE: &str =
    "UserRule_Deny\u{1b}[2J\u{1b}]0;pwned\u{7}|x`y`<script>alert(1)</script>\u{202e}\u{9b}31m";
const HOSTILE_NSG: &str = "NSG\u{1b}[31m|<b>`n`";

/// The lab's NSG v2 blobs of `proxy-to-buildvm-dropped` with the deny rule
/// and the NSG renamed, under a directory whose name is hostile too.
fn hostile_flowlogs(dir: &Path) -> PathBuf {
    let src = captures("proxy-to-buildvm-dropped/flowlogs/nsg-v2");
    let out = dir.join("evil\u{1b}]0;t\u{7}|`d`<i>");
    let rule = serde_json::to_string(HOSTILE_RULE).unwrap();
    let nsg = serde_json::to_string(HOSTILE_NSG).unwrap();
    let mut n = 0;
    for (k, f) in walk(&src).into_iter().enumerate() {
        let text = std::fs::read_to_string(&f).unwrap();
        let text = text
            .replace("\"UserRule_Deny-All-Any-Any\"", &rule)
            .replace(
                "NETWORKSECURITYGROUPS/AIB-BUILD-SUBNET-NSG\"",
                &format!("NETWORKSECURITYGROUPS/{}", &nsg[1..]),
            );
        let dest = out.join(format!("blob{k}\u{1b}[0m.json"));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(&dest, text).unwrap();
        n += 1;
    }
    assert!(n >= 2, "the scenario's NSG blobs");
    out
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v.sort();
    v
}

/// Whether a string of the document holds `text` (as read back: escapes
/// undone).
fn holds_text(v: &serde_json::Value, text: &str) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains(text),
        serde_json::Value::Array(a) => a.iter().any(|x| holds_text(x, text)),
        serde_json::Value::Object(o) => o.values().any(|x| holds_text(x, text)),
        _ => false,
    }
}

/// Markdown with its fenced blocks and code spans taken out: what a
/// renderer reads as markup.
fn outside_code(md: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<usize> = None;
    for line in md.lines() {
        // Fences may be indented (code blocks inside list items).
        let line = line.trim_start();
        let ticks = line.chars().take_while(|&c| c == '`').count();
        match fence {
            Some(n) if ticks >= n && line.trim_matches('`').is_empty() => fence = None,
            Some(_) => {}
            None if ticks >= 3 => fence = Some(ticks),
            None => {
                // Drop code spans: a run of N backticks up to the next run of N.
                let b: Vec<char> = line.chars().collect();
                let mut i = 0;
                while i < b.len() {
                    if b[i] == '`' {
                        let n = b[i..].iter().take_while(|&&c| c == '`').count();
                        let mut j = i + n;
                        let mut closed = None;
                        while j < b.len() {
                            let m = b[j..].iter().take_while(|&&c| c == '`').count();
                            if m == n {
                                closed = Some(j + m);
                                break;
                            }
                            j += m.max(1);
                        }
                        match closed {
                            Some(end) => i = end,
                            None => {
                                out.extend(&b[i..i + n]);
                                i += n;
                            }
                        }
                    } else {
                        out.push(b[i]);
                        i += 1;
                    }
                }
                out.push('\n');
            }
        }
    }
    out
}

/// What no text output may send: C0 controls but line feed, DEL, C1
/// controls, bidirectional overrides.
fn sends_controls(out: &str) -> Option<char> {
    out.chars().find(|&c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

/// The elements an HTML report is made of: any other tag in a report
/// would have come from the evidence.
const HTML_TAGS: &[&str] = &[
    "!DOCTYPE",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "h1",
    "h2",
    "h3",
    "h4",
    "div",
    "span",
    "b",
    "br",
    "nav",
    "a",
    "section",
    "figure",
    "figcaption",
    "svg",
    "defs",
    "marker",
    "pattern",
    "path",
    "rect",
    "line",
    "text",
    "g",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "article",
    "ul",
    "li",
    "p",
    "code",
    "pre",
    "details",
    "summary",
    "footer",
];

/// An HTML report holds only our own markup: every tag is one of ours, no
/// element runs script or loads anything, and the hostile rule is there as
/// escaped text. Returns whether the rule was seen.
fn check_html(ctx: &str, html: &str) -> bool {
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        let tail = &rest[at + 1..];
        let name: String = tail
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        assert!(
            HTML_TAGS.contains(&name.as_str()),
            "{ctx}: a <{name}> that is not ours: {}",
            tail.chars().take(80).collect::<String>()
        );
        rest = tail;
    }
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script",
        "javascript:",
        " src=",
        "@import",
        "<iframe",
        "<object",
    ] {
        assert!(!lower.contains(bad), "{ctx}: holds {bad:?}");
    }
    // Event handler attributes (onload=, onerror= …) and links or
    // references out of the page.
    for (i, _) in lower.match_indices(" on") {
        let attr: String = lower[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        assert!(
            !lower[i + 1 + attr.len()..].starts_with('='),
            "{ctx}: an event attribute {attr}="
        );
    }
    for (i, _) in lower.match_indices("href=\"") {
        assert!(
            lower[i + 6..].starts_with('#'),
            "{ctx}: a link out of the page"
        );
    }
    for (i, _) in lower.match_indices("url(") {
        assert!(
            lower[i + 4..].starts_with('#'),
            "{ctx}: a url() out of the page"
        );
    }
    assert!(
        html.contains("default-src 'none'"),
        "{ctx}: the page forbids loads and scripts"
    );
    let seen = html.contains("UserRule_Deny\\x1b[2J\\x1b]0;pwned\\x07|x`y`&lt;script&gt;alert(1)&lt;/script&gt;\\u{202e}\\u{9b}31m");
    if html.contains("UserRule_Deny") {
        assert!(seen, "{ctx}: the rule as escaped text:\n{html}");
    }
    seen
}

/// Every format of `sessions`, `diagnose` and `builds` on hostile names:
/// text formats show the control characters and never send them, Markdown
/// escapes its punctuation and HTML, HTML holds only our markup with the
/// names as escaped text, JSON carries the names exactly, JUnit is
/// well-formed XML.
#[test]
fn hostile_names_are_text_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let logs = hostile_flowlogs(dir.path());
    let mut seen_rule_in = Vec::new();
    for (cmd, formats) in [
        ("sessions", &["table", "json", "ndjson", "markdown"][..]),
        (
            "diagnose",
            &["table", "json", "ndjson", "markdown", "junit", "html"][..],
        ),
        (
            "builds",
            &["table", "json", "ndjson", "markdown", "junit", "html"][..],
        ),
    ] {
        for format in formats {
            let out = finish(aibnet().arg(cmd).arg(&logs).args(["--format", format]));
            let ctx = format!("{cmd} --format {format}");
            assert!(out.code < 2, "{ctx}: {}", out.stderr);
            let (stdout, stderr) = (out.stdout, out.stderr);
            for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
                if let Some(c) = sends_controls(text) {
                    panic!("{ctx}: {name} sends {c:?}:\n{text}");
                }
            }
            match *format {
                "json" | "ndjson" => {
                    // The names, byte for byte, in the contract.
                    let docs: Vec<serde_json::Value> = if *format == "json" {
                        vec![serde_json::from_str(&stdout).unwrap()]
                    } else {
                        stdout
                            .lines()
                            .map(|l| serde_json::from_str(l).unwrap())
                            .collect()
                    };
                    if docs.iter().any(|d| holds_text(d, HOSTILE_RULE)) {
                        seen_rule_in.push(ctx.clone());
                    }
                    // The NSG's name reaches the fix command as one quoted word.
                    if cmd == "diagnose" && *format == "json" {
                        let quoted = format!("--nsg-name '{HOSTILE_NSG}'");
                        assert!(
                            docs.iter().any(|d| holds_text(d, &quoted)),
                            "{ctx}: {stdout}"
                        );
                    }
                }
                "markdown" => {
                    // HTML only ever inside code, where Markdown shows it as text.
                    let prose = outside_code(&stdout);
                    assert!(!prose.contains('<'), "{ctx}:\n{prose}");
                    if stdout.contains("UserRule_Deny") {
                        assert!(
                            stdout.contains("\\|x\\`y\\`&lt;script&gt;"),
                            "{ctx}:\n{stdout}"
                        );
                    }
                }
                "html" => {
                    if check_html(&ctx, &stdout) {
                        seen_rule_in.push(ctx.clone());
                    }
                }
                "junit" => {
                    let doc = roxmltree::Document::parse(&stdout)
                        .unwrap_or_else(|e| panic!("{ctx}: not well-formed XML: {e}\n{stdout}"));
                    assert!(doc.root_element().has_tag_name("testsuites"), "{ctx}");
                    assert!(
                        !doc.descendants().any(|n| n.has_tag_name("script")),
                        "{ctx}"
                    );
                }
                _ => {
                    if stdout.contains("UserRule_Deny") {
                        assert!(
                            stdout.contains("\\x1b[2J\\x1b]0;pwned\\x07"),
                            "{ctx}:\n{stdout}"
                        );
                    }
                }
            }
        }
    }
    // The deny names the hostile rule in each JSON document (the evidence
    // reached every format, so the checks above were not vacuous).
    for want in [
        "sessions --format json",
        "diagnose --format json",
        "builds --format json",
        "diagnose --format html",
        "builds --format html",
    ] {
        assert!(
            seen_rule_in.iter().any(|s| s == want),
            "{want}: {seen_rule_in:?}"
        );
    }
}

/// `check` and `explain` on hostile names: an NSG rule named to clear the
/// screen and inject HTML, and an error text quoting escape sequences and
/// markup. No text format sends a control character, Markdown holds HTML
/// only inside code, JSON reads back the exact names.
#[test]
fn hostile_names_in_check_and_explain_are_text() {
    let dir = tempfile::tempdir().unwrap();
    let config = repo().join("captures/config");
    let nsg = std::fs::read_to_string(config.join("nsg-denyall-quickstart.json"))
        .unwrap()
        .replace(
            "\"DenyAll-Inbound\"",
            &serde_json::to_string(HOSTILE_RULE).unwrap(),
        );
    assert!(nsg.contains("pwned"), "the fixture names the deny rule");
    let nsg_path = dir.path().join("nsg.json");
    std::fs::write(&nsg_path, nsg).unwrap();
    let text = "==> azure-arm: Error connecting to bastion: dial tcp 10.1.0.4:60001: i/o timeout \
                \u{1b}]0;owned\u{7}<script>alert(1)</script>|`x` in NSG nsg-\u{1b}[2Jaib";
    let check_args = |format: &str| -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec!["check".into()];
        for f in ["template-linux.json", "subnet-build.json", "vnet.json"] {
            v.push(config.join(f).into());
        }
        v.push(nsg_path.clone().into());
        v.extend(["--format".into(), format.into()]);
        v
    };
    for format in ["table", "json", "markdown"] {
        let runs = [
            ("check", finish(aibnet().args(check_args(format)))),
            (
                "explain",
                finish(aibnet().args(["explain", text, "--format", format])),
            ),
        ];
        for (cmd, run) in runs {
            let ctx = format!("{cmd} --format {format}");
            for (name, out) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
                if let Some(c) = sends_controls(out) {
                    panic!("{ctx}: {name} sends {c:?}:\n{out}");
                }
            }
            match format {
                "json" => {
                    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
                    let want = if cmd == "check" {
                        HOSTILE_RULE
                    } else {
                        "<script>"
                    };
                    assert!(holds_text(&doc, want), "{ctx}: {}", run.stdout);
                }
                "markdown" => {
                    let prose = outside_code(&run.stdout);
                    assert!(!prose.contains('<'), "{ctx}:\n{prose}");
                }
                _ => {}
            }
        }
    }
}

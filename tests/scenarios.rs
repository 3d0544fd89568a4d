//! Golden tests: `aibnet diagnose` on every recorded lab scenario in
//! `captures/`, on all capture points together and on each one alone,
//! against the scenario's hand-written `expected.json` (verdict, broken hop
//! and its status, every hop's status, the finding ids).

mod common;

use common::{aibnet, finish, repo, run_at_root};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("captures"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    v.sort();
    v
}

fn diagnose(paths: &[PathBuf]) -> Value {
    let out = finish(
        aibnet()
            .args(["diagnose", "--format", "json", "--fail-on", "never"])
            .args(paths),
    );
    assert_eq!(out.code, 0, "{paths:?}: {}", out.stderr);
    out.json()
}

/// The ids a reader acts on: warnings and errors, or the healthy verdict.
fn finding_ids(d: &Value) -> BTreeSet<String> {
    let all = d["findings"].as_array().unwrap();
    let mut ids: BTreeSet<String> = all
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    if ids.is_empty() {
        ids = all
            .iter()
            .filter(|f| f["id"] == "healthy")
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect();
    }
    ids
}

fn hop_status(d: &Value, hop: &str) -> String {
    d["hops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hop"] == hop)
        .map_or("absent".into(), |h| h["status"].as_str().unwrap().into())
}

/// Compare one diagnosis with one expectation; return the differences.
fn compare(label: &str, got: &Value, exp: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    if got["verdict"] != exp["verdict"] {
        diffs.push(format!(
            "{label}: verdict {} != expected {}",
            got["verdict"], exp["verdict"]
        ));
    }
    let want: BTreeSet<String> = exp["finding_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let have = finding_ids(got);
    if have != want {
        diffs.push(format!("{label}: findings {have:?} != expected {want:?}"));
    }
    for (hop, status) in exp["hops"].as_object().unwrap() {
        let s = hop_status(got, hop);
        if s != status.as_str().unwrap() {
            diffs.push(format!("{label}: hop {hop} {s} != expected {status}"));
        }
    }
    if let Some(bh) = exp["broken_hop"].as_str() {
        let first = got["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["severity"] == "error")
            .map(|f| f["hop"].clone());
        if first.as_ref().and_then(|v| v.as_str()) != Some(bh) {
            diffs.push(format!(
                "{label}: first error's hop {first:?} != expected broken hop {bh}"
            ));
        }
        let st = hop_status(got, bh);
        if st != exp["status"].as_str().unwrap() {
            diffs.push(format!(
                "{label}: broken hop status {st} != expected {}",
                exp["status"]
            ));
        }
    }
    diffs
}

#[test]
fn every_scenario_and_capture_point_is_diagnosed_as_expected() {
    let all = scenarios();
    assert!(
        all.len() >= 13,
        "expected the recorded scenarios in captures/, found {}",
        all.len()
    );
    let mut diffs = Vec::new();
    let mut checked = 0;
    for dir in &all {
        let exp: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        // All packet capture points together.
        let mut pcaps: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .collect();
        pcaps.sort();
        diffs.extend(compare(
            &format!("{name} (all captures)"),
            &diagnose(&pcaps),
            &exp,
        ));
        checked += 1;
        // Each capture point alone (packet captures and flow-log trees).
        for (point, pexp) in exp["per_capture_point"].as_object().unwrap() {
            let path = dir.join(point);
            if !path.exists() {
                diffs.push(format!(
                    "{name}: capture point {point} listed in expected.json is missing"
                ));
                continue;
            }
            diffs.extend(compare(
                &format!("{name}/{point}"),
                &diagnose(&[path]),
                pexp,
            ));
            checked += 1;
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {checked} diagnoses differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// CI re-records one scenario with the lab script (`.ci/run`) and checks the
/// fresh recording here: `AIBNET_RERECORDED=DIR cargo test --test scenarios -- --ignored`.
#[test]
#[ignore = "needs a fresh lab recording: run by .ci/run after captures/lab/record.sh"]
fn a_fresh_lab_recording_is_diagnosed_as_expected() {
    let dir = PathBuf::from(
        std::env::var("AIBNET_RERECORDED").expect("AIBNET_RERECORDED=<recorded scenario dir>"),
    );
    let exp: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    pcaps.sort();
    assert!(!pcaps.is_empty(), "no pcap recorded in {}", dir.display());
    let mut diffs = compare("fresh recording (all captures)", &diagnose(&pcaps), &exp);
    let flowlogs = dir.join("flowlogs");
    diffs.extend(compare(
        "fresh recording (flow logs)",
        &diagnose(&[flowlogs]),
        &exp,
    ));
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// The Markdown report as a reader sees it, for a broken and a healthy
/// scenario, against a snapshot reviewed line by line (path diagram, hop
/// table, each finding's evidence, cause and fix, the inputs and what was not
/// analysed). Markdown is not a contract like JSON: a deliberate change to
/// it updates the snapshot after review (`INSTA_UPDATE=always cargo test
/// --test scenarios`, then read the diff).
fn markdown_report(scenario: &str, code: i32) -> String {
    report("markdown", scenario, code)
}

/// `aibnet diagnose --format FORMAT captures/SCENARIO/`, run at the
/// repository's root, exiting with `code`.
fn report(format: &str, scenario: &str, code: i32) -> String {
    let out = run_at_root([
        "diagnose",
        "--format",
        format,
        &format!("captures/{scenario}/"),
    ]);
    assert_eq!(out.code, code, "{}", out.stderr);
    out.stdout
}

#[test]
fn broken_scenario_markdown_report() {
    insta::assert_snapshot!(
        "diagnose_markdown_proxy_to_buildvm_dropped",
        markdown_report("proxy-to-buildvm-dropped", 1)
    );
}

#[test]
fn healthy_scenario_markdown_report() {
    insta::assert_snapshot!(
        "diagnose_markdown_healthy_windows",
        markdown_report("healthy-windows", 0)
    );
}

/// The HTML report as a reader's browser gets it, for a broken proxy build
/// and a healthy isolated one, against a reviewed snapshot: the banner, the
/// path diagram and timeline (SVG), hops, findings with their fix commands,
/// roles, sessions and inputs. Like Markdown it is not a contract; a
/// deliberate change updates the snapshot after review. How the page looks
/// is checked in Chromium (`tests/reports/chromium.rs`).
fn html_report(scenario: &str, code: i32) -> String {
    report("html", scenario, code)
}

#[test]
fn broken_scenario_html_report() {
    insta::assert_snapshot!(
        "diagnose_html_proxy_to_buildvm_dropped",
        html_report("proxy-to-buildvm-dropped", 1)
    );
}

#[test]
fn healthy_isolated_scenario_html_report() {
    insta::assert_snapshot!(
        "diagnose_html_isolated_healthy",
        html_report("isolated-healthy", 0)
    );
}

/// Every line of `diagnose --format table` fits the terminal, on every
/// scenario at 80 and 120 columns (`COLUMNS`), but the fix commands, which
/// stand whole on lines of their own so that they paste; at 120 the path
/// diagram keeps its one-line chain, at 80 it is one hop a line.
#[test]
fn diagnose_tables_fit_80_and_120_columns() {
    for dir in scenarios() {
        for width in [80usize, 120] {
            let out = finish(
                aibnet()
                    .current_dir(repo())
                    .env("COLUMNS", width.to_string())
                    .args(["diagnose", "--format", "table"])
                    .arg(&dir),
            );
            assert!(out.code < 2, "{}", out.stderr);
            let mut commands = 0;
            for line in out.stdout.lines() {
                let t = line.trim_start();
                if line.starts_with("              ")
                    && (t.starts_with("az ") || t.starts_with("# "))
                {
                    commands += 1;
                    continue;
                }
                assert!(
                    line.chars().count() <= width,
                    "{} at {width}: {} columns:\n{line}\n\n{}",
                    dir.display(),
                    line.chars().count(),
                    out.stdout
                );
            }
            // The commands that were exempt are the fixes' `az` lines.
            let has_fix_command =
                out.stdout.contains("  az network") || out.stdout.contains("  az image");
            assert_eq!(commands > 0, has_fix_command, "{}", out.stdout);
            assert!(out.stdout.contains("Verdict:"), "{}", out.stdout);
            if out.stdout.contains("(proxy topology") {
                let chain = out
                    .stdout
                    .lines()
                    .any(|l| l.contains("──▶ proxy ") && l.contains("──▶ build VM"));
                assert_eq!(chain, width == 120, "{width}:\n{}", out.stdout);
            }
        }
    }
}

/// A lab capture with data segments of one TCP direction taken out, as a
/// capture that could not keep up loses them: the frames numbered in
/// `remove` (counting from one) among the IPv4 TCP segments with payload to
/// `dport` (Ethernet, classic pcap) are dropped. Returns the copy and the
/// payload bytes taken out.
fn lossy_copy(src: &str, dport: u16, remove: &[usize], dir: &std::path::Path) -> (PathBuf, u64) {
    let (mut out, recs) = pcap_records(&repo().join(src));
    let (mut nth, mut dropped, mut bytes) = (0, 0, 0u64);
    for rec in &recs {
        let f = &rec[16..];
        let payload = if f.len() > 34 && f[12..14] == [0x08, 0x00] && f[23] == 6 {
            let ihl = usize::from(f[14] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
            let t = &f[14 + ihl..];
            let doff = usize::from(t[12] >> 4) * 4;
            if u16::from_be_bytes([t[2], t[3]]) == dport {
                total.saturating_sub(ihl + doff)
            } else {
                0
            }
        } else {
            0
        };
        if payload > 0 {
            nth += 1;
        }
        if payload > 0 && remove.contains(&nth) {
            dropped += 1;
            bytes += payload as u64;
        } else {
            out.extend_from_slice(rec);
        }
    }
    assert_eq!(dropped, remove.len(), "{src}: segments to :{dport}");
    let path = dir.join(std::path::Path::new(src).file_name().unwrap());
    std::fs::write(&path, out).unwrap();
    (path, bytes)
}

/// The records of a little-endian Ethernet pcap, after its 24-byte header.
fn pcap_records(src: &std::path::Path) -> (Vec<u8>, Vec<Vec<u8>>) {
    let b = std::fs::read(src).unwrap();
    assert_eq!(
        &b[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "{src:?}: little-endian pcap"
    );
    assert_eq!(
        u32::from_le_bytes(b[20..24].try_into().unwrap()),
        1,
        "{src:?}: Ethernet"
    );
    let (mut at, mut recs) = (24, Vec::new());
    while at + 16 <= b.len() {
        let caplen = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        recs.push(b[at..at + 16 + caplen].to_vec());
        at += 16 + caplen;
    }
    (b[..24].to_vec(), recs)
}

/// A real capture relabelled as one of a build's hosts saw it and merged
/// into that host's lab capture `into`: every IPv4 address and TCP port of
/// `src` in `addrs`/`ports` replaced (checksums are not recomputed: aibnet,
/// like Zeek with `-C`, does not check them) and its times shifted so that
/// its first packet is at `first` (Unix seconds). Its packets, sizes,
/// sequence numbers and losses stay as recorded.
fn relabelled_into(
    src: &str,
    addrs: &[([u8; 4], [u8; 4])],
    ports: &[(u16, u16)],
    first: u32,
    into: &str,
    to: &std::path::Path,
) -> PathBuf {
    let (_, recs) = pcap_records(&repo().join(src));
    let (header, mut out) = pcap_records(&repo().join(into));
    let mut shift = None;
    for mut rec in recs {
        let ts = u32::from_le_bytes(rec[..4].try_into().unwrap());
        let shift = *shift.get_or_insert(first.wrapping_sub(ts));
        rec[..4].copy_from_slice(&ts.wrapping_add(shift).to_le_bytes());
        let f = &mut rec[16..];
        if f.len() > 34 && f[12..14] == [0x08, 0x00] {
            for off in [26, 30] {
                if let Some((_, new)) = addrs.iter().find(|(old, _)| f[off..off + 4] == *old) {
                    f[off..off + 4].copy_from_slice(new);
                }
            }
            let ihl = usize::from(f[14] & 0x0f) * 4;
            if f[23] == 6 && f.len() >= 14 + ihl + 4 {
                for off in [14 + ihl, 16 + ihl] {
                    let port = u16::from_be_bytes([f[off], f[off + 1]]);
                    if let Some((_, new)) = ports.iter().find(|(old, _)| *old == port) {
                        f[off..off + 2].copy_from_slice(&new.to_be_bytes());
                    }
                }
            }
        }
        out.push(rec);
    }
    // In time order, as one capture writes them.
    out.sort_by_key(|r| {
        (
            u32::from_le_bytes(r[..4].try_into().unwrap()),
            u32::from_le_bytes(r[4..8].try_into().unwrap()),
        )
    });
    let mut bytes = header;
    out.iter().for_each(|r| bytes.extend_from_slice(r));
    std::fs::write(to, bytes).unwrap();
    to.to_path_buf()
}

/// Issue 20 item 3 on real loss: Zeek's `tcp/miss_end_data` trace, whose
/// capture point never recorded the server's 2 902-byte HTTP response that
/// the client acknowledged (Zeek: `ShADafgF`, missed_bytes 2902), merged
/// into the healthy Linux lab build's build-VM capture as a download from
/// the mirror. `diagnose` names the capture point, the hop, the session, the
/// bytes, the cause and the fix, and keeps the verdict healthy. A real
/// capture whose payloads the snap length cut (`retransmit-fast009`, 54-byte
/// frames: gaps everywhere, Zeek's `ShADaGdgtR`) is not a loss.
#[test]
fn a_capture_with_real_loss_is_named_with_its_hop_cause_and_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = repo().join("captures/healthy-linux");
    // The lab build with `src` in its build-VM capture: the diagnosis.
    let with_download = |src: &str, port: u16, name: &str| {
        std::fs::create_dir_all(tmp.path().join(name)).unwrap();
        let buildvm = relabelled_into(
            src,
            &[
                ([192, 168, 122, 230], [10, 1, 0, 6]),
                ([10, 0, 88, 85], [10, 1, 0, 6]),
                ([77, 238, 160, 184], [52, 147, 219, 192]),
                ([192, 168, 0, 27], [52, 147, 219, 192]),
            ],
            &[(port, 35200)],
            // 2026-11-27T04:33:55Z: during the build, after the build VM's
            // first download from the mirror.
            1_795_754_035,
            "captures/healthy-linux/buildvm.pcap",
            &tmp.path().join(name).join("buildvm.pcap"),
        );
        let mut inputs: Vec<PathBuf> = ["proxy.pcap", "segment.pcap", "flowlogs"]
            .iter()
            .map(|n| lab.join(n))
            .collect();
        inputs.push(buildvm);
        let d = diagnose(&inputs);
        assert_eq!(d["verdict"], "healthy", "{d:#}");
        d
    };
    let d = with_download(
        "tests/data/zeek/tcp-miss_end_data/miss_end_data.pcap",
        60648,
        "lost",
    );
    let f = finding(&d, "capture_lost_packets").expect("capture_lost_packets");
    assert_eq!(
        (&f["severity"], &f["hop"]),
        (&"info".into(), &"build_vm_egress".into()),
        "{f:#}"
    );
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("lost/buildvm.pcap dropped packets"),
        "{f:#}"
    );
    let ev = evidence(f);
    assert_eq!(ev.len(), 2, "{ev:#?}");
    assert!(
        ev[0].ends_with(
            "lost/buildvm.pcap: 1 TCP session(s) with data acknowledged but never captured, 2902 byte(s) missed"
        ),
        "{ev:#?}"
    );
    // Zeek's history of the trace: the server's (responder's) data lost.
    assert!(
        ev[1].contains("10.1.0.6:35200 → 52.147.219.192:80 SF history ShADafgF")
            && ev[1].ends_with(", 2902 byte(s) missed"),
        "{ev:#?}"
    );
    assert!(
        f["cause"]
            .as_str()
            .unwrap()
            .contains("the peer acknowledged data this capture never recorded"),
        "{f:#}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("Confirm an unanswered hop with a second capture point"),
        "{f:#}"
    );

    // Payloads cut by the snap length: gaps, not losses.
    let d = with_download(
        "tests/data/traces/zeek-rxmit-history/retransmit-fast009.pcap",
        50368,
        "cut",
    );
    assert!(finding(&d, "capture_lost_packets").is_none(), "{d:#}");
}

/// A finding's evidence lines.
fn evidence(f: &Value) -> Vec<&str> {
    f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect()
}

fn finding<'a>(d: &'a Value, id: &str) -> Option<&'a Value> {
    d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
}

/// Issue 20: a capture point that dropped packets is said so, with the
/// sessions and bytes it missed — as information beside a healthy build,
/// as a warning when a hop's "no answer" rests on that capture alone. A
/// snap length that cuts payloads (`healthy-linux-long`, 96 bytes) is not
/// a loss.
#[test]
fn a_capture_that_dropped_packets_is_said_so() {
    let tmp = tempfile::tempdir().unwrap();
    let (p, _) = lossy_copy("captures/healthy-linux/proxy.pcap", 22, &[], tmp.path());
    let clean = diagnose(&[p]);
    assert!(finding(&clean, "capture_lost_packets").is_none());
    // The proxy's capture of a healthy build, two of the proxy's SSH
    // segments to the build VM missing (the build VM acknowledged them).
    let (p, lost) = lossy_copy("captures/healthy-linux/proxy.pcap", 22, &[3, 4], tmp.path());
    let d = diagnose(&[p]);
    assert_eq!(d["verdict"], "healthy", "{d:#}");
    let f = finding(&d, "capture_lost_packets").expect("capture_lost_packets");
    assert_eq!(
        (&f["severity"], &f["hop"]),
        (&"info".into(), &"proxy_to_build_vm".into())
    );
    let ev = evidence(f);
    assert_eq!(ev.len(), 2, "{ev:#?}");
    assert!(
        ev[0].ends_with(&format!(
            "proxy.pcap: 1 TCP session(s) with data acknowledged but never captured, {lost} byte(s) missed"
        )),
        "{ev:#?}"
    );
    // The gap is the originator's (the proxy's) data: `G`.
    assert!(
        ev[1].contains("→ 10.1.0.6:22 SF history ShAdDaGFf")
            && ev[1].ends_with(&format!(", {lost} byte(s) missed")),
        "{ev:#?}"
    );

    // The proxy's capture of a build whose proxy → build VM SSH is dropped,
    // a command session's segment lost: the unanswered SYNs to the build VM
    // rest on a capture that loses packets.
    let (p, _) = lossy_copy(
        "captures/proxy-to-buildvm-dropped/proxy.pcap",
        60001,
        &[2],
        tmp.path(),
    );
    let d = diagnose(&[p]);
    let f = finding(&d, "capture_lost_packets").expect("capture_lost_packets");
    assert_eq!(
        (&f["severity"], &f["hop"]),
        (&"warning".into(), &"proxy_to_build_vm".into()),
        "{f:#}"
    );
    assert_eq!(d["verdict"], "broken");
    assert!(finding(&d, "proxy_to_build_vm_blocked").is_some());

    // Snap length 96: every payload cut, gaps everywhere, no loss.
    let d = diagnose(&[repo().join("captures/healthy-linux-long/proxy.pcap")]);
    assert!(finding(&d, "capture_lost_packets").is_none());
}

/// A reader that stops early (`aibnet diagnose … | head`, in a CI step with
/// `set -o pipefail`) does not turn a broken verdict into a pass: with its
/// standard output closed before a byte is written, `diagnose` still exits
/// with the verdict's code, and says nothing on stderr about the pipe.
#[test]
fn a_closed_pipe_keeps_the_verdicts_exit_code() {
    for (scenario, code) in [("proxy-to-buildvm-dropped", 1), ("healthy-windows", 0)] {
        for format in ["json", "table", "markdown"] {
            let mut child = aibnet()
                .current_dir(repo())
                .args([
                    "diagnose",
                    "--format",
                    format,
                    &format!("captures/{scenario}/"),
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            // Closed before the first write: every write fails (EPIPE).
            drop(child.stdout.take());
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(code),
                "{scenario} {format}: {stderr}"
            );
            assert!(!stderr.contains("error"), "{scenario} {format}: {stderr}");
        }
    }
}

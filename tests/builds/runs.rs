//! `aibnet builds`: a tree of captures holding many AIB runs at reused
//! addresses is split into its runs, each diagnosed as `diagnose` would; the
//! output formats keep their contracts (JSON, NDJSON, JUnit against the
//! schema) and exit codes; unreadable files are reported everywhere.

use super::support::*;
use aibnet::aib::Severity;
use aibnet::analyze::analyze_paths;
use aibnet::builds::{Builds, NoProgress, Options, Run, builds_paths};
use aibnet::diagnose::diagnose;
fn parse_rfc3339(s: &str) -> Option<i64> {
    aibnet::time::parse(s).ok()
}
use std::path::{Path, PathBuf};

use crate::common::{self, run, trace};

const H: f64 = 3600.0;

fn day(d: i64) -> f64 {
    (DAY0 + d * 86_400) as f64
}

/// One expected run.
struct Want {
    start: f64,
    os: &'static str,
    topology: &'static str,
    verdict: &'static str,
    first_broken_hop: Option<&'static str>,
    failing: &'static [&'static str],
}

fn want(
    start: f64,
    os: &'static str,
    topology: &'static str,
    verdict: &'static str,
    first_broken_hop: Option<&'static str>,
    failing: &'static [&'static str],
) -> Want {
    Want {
        start,
        os,
        topology,
        verdict,
        first_broken_hop,
        failing,
    }
}

/// Ten builds over four days on the same subnet (the proxy, build VM and
/// ACI addresses of every run are the same), some files holding several
/// runs, plus unrelated traffic; also one file that is not a capture.
fn tree(dir: &Path) -> Vec<Want> {
    let mut p = Pcap::new();
    proxy_build(&mut p, day(0) + 10.0 * H, 300.0, false, Fault::None);
    noise(&mut p, day(0) + 9.0 * H, 3.0 * H);
    p.write(&dir.join("day0/segment-morning.pcap"));

    let mut p = Pcap::new();
    proxy_build(
        &mut p,
        day(0) + 16.0 * H,
        240.0,
        false,
        Fault::ProxyToBuildBlocked,
    );
    noise(&mut p, day(0) + 16.0 * H, 600.0);
    p.write(&dir.join("day0/segment-afternoon.pcap"));

    let mut p = Pcap::new();
    proxy_build(&mut p, day(1) + 9.0 * H, 300.0, false, Fault::EgressBlocked);
    proxy_build(&mut p, day(1) + 15.0 * H, 300.0, true, Fault::None);
    noise(&mut p, day(1) + 8.0 * H, 600.0);
    p.write(&dir.join("day1/segment.pcap"));

    let mut p = Pcap::new();
    proxy_build(&mut p, day(2) + 8.0 * H, 200.0, false, Fault::ProbeBlocked);
    isolated_build(&mut p, day(2) + 12.0 * H, 200.0, true);
    proxy_build(&mut p, day(2) + 18.0 * H, 300.0, false, Fault::DnsBlocked);
    p.write(&dir.join("day2/segment.pcap"));

    let mut p = Pcap::new();
    proxy_build(
        &mut p,
        day(3) + 10.0 * H,
        200.0,
        false,
        Fault::BuildPortRejected,
    );
    proxy_build(&mut p, day(3) + 14.0 * H, 200.0, false, Fault::AlbBlocked);
    isolated_build(&mut p, day(3) + 20.0 * H, 200.0, false);
    p.write(&dir.join("day3/segment.pcap"));

    std::fs::write(dir.join("day3/notes.txt"), "not a capture\n").unwrap();

    vec![
        want(day(0) + 10.0 * H, "linux", "proxy", "healthy", None, &[]),
        want(
            day(0) + 16.0 * H,
            "linux",
            "proxy",
            "broken",
            Some("proxy_to_build_vm"),
            &["proxy_to_build_vm_blocked"],
        ),
        want(
            day(1) + 9.0 * H,
            "linux",
            "proxy",
            "broken",
            Some("build_vm_egress"),
            &["build_vm_egress_blocked"],
        ),
        want(day(1) + 15.0 * H, "windows", "proxy", "healthy", None, &[]),
        want(
            day(2) + 8.0 * H,
            "linux",
            "proxy",
            "broken",
            Some("probe_to_proxy"),
            &["probe_blocked"],
        ),
        want(
            day(2) + 12.0 * H,
            "linux",
            "isolated",
            "broken",
            Some("aci_to_build_vm"),
            &["aci_to_build_vm_blocked"],
        ),
        want(
            day(2) + 18.0 * H,
            "linux",
            "proxy",
            "broken",
            Some("build_vm_dns"),
            &["dns_failing"],
        ),
        want(
            day(3) + 10.0 * H,
            "linux",
            "proxy",
            "broken",
            Some("proxy_to_build_vm"),
            &["build_vm_port_rejected"],
        ),
        want(
            day(3) + 14.0 * H,
            "linux",
            "proxy",
            "broken",
            Some("alb_to_proxy"),
            &["alb_to_proxy_blocked"],
        ),
        want(day(3) + 20.0 * H, "linux", "isolated", "healthy", None, &[]),
    ]
}

fn run_builds(paths: &[PathBuf], opts: &Options) -> Builds {
    builds_paths(paths, opts, &NoProgress)
}

fn failing(r: &Run) -> Vec<&str> {
    let mut v: Vec<&str> = r.failing_ids().collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn check_run(r: &Run, w: &Want) {
    let d = &r.diagnosis;
    let ctx = format!("run {} (want start {})", r.id, w.start);
    assert!(
        (r.start as f64 / 1e9 - w.start).abs() < 1.0,
        "{ctx}: starts at {}",
        r.start
    );
    assert_eq!(aibnet::aib::os_name(d.topology.os), w.os, "{ctx}: os");
    assert_eq!(
        aibnet::aib::kind_name(d.topology.kind),
        w.topology,
        "{ctx}: topology"
    );
    assert_eq!(d.verdict.as_str(), w.verdict, "{ctx}: verdict");
    assert_eq!(
        d.first_broken_hop().map(|h| h.hop.as_str()),
        w.first_broken_hop,
        "{ctx}: first broken hop"
    );
    assert_eq!(failing(r), w.failing, "{ctx}: failing findings");
    if w.topology == "proxy" {
        assert_eq!(
            r.proxy().map(|a| a.to_string()).as_deref(),
            Some(PROXY),
            "{ctx}"
        );
    }
    // A build the load balancer never forwards to shows no build VM.
    if !matches!(w.first_broken_hop, Some("probe_to_proxy" | "alb_to_proxy")) {
        assert_eq!(
            r.build_vm().map(|a| a.to_string()).as_deref(),
            Some(BUILD),
            "{ctx}"
        );
    }
}

#[test]
fn finds_every_run_at_reused_addresses_and_diagnoses_each() {
    let dir = tempfile::tempdir().unwrap();
    let wants = tree(dir.path());
    let b = run_builds(&[dir.path().to_path_buf()], &Options::default());
    let got: Vec<(String, &str)> = b
        .runs
        .iter()
        .map(|r| (r.id.clone(), r.diagnosis.verdict.as_str()))
        .collect();
    assert_eq!(b.runs.len(), wants.len(), "runs found: {got:#?}");
    for (r, w) in b.runs.iter().zip(&wants) {
        check_run(r, w);
    }
    // The file that is not a capture is reported with its reason, and the
    // rest is still covered.
    assert!(
        b.skipped
            .iter()
            .any(|s| s.path.ends_with("notes.txt") && s.reason.contains("not a packet capture")),
        "{:?}",
        b.skipped
    );
    let s = b.summary();
    assert_eq!(s.runs, 10);
    assert_eq!(s.by_verdict.get("healthy"), Some(&3));
    assert_eq!(s.by_verdict.get("broken"), Some(&7));
    assert_eq!(s.by_finding.get("probe_blocked"), Some(&1));
    assert_eq!(s.by_finding.values().sum::<usize>(), 7);
    // Unrelated traffic (other VMs, Internet scans of SSH) is no run and
    // is dropped early.
    let all = analyze_paths(&[dir.path().to_path_buf()], &Default::default())
        .sessions
        .len();
    assert!(
        b.sessions_kept * 2 < all,
        "{} of {all} kept",
        b.sessions_kept
    );
    assert_eq!(
        b.sessions_kept,
        b.runs.iter().map(|r| r.sessions).sum::<usize>()
    );
}

#[test]
fn each_run_gets_the_diagnosis_diagnose_gives_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    // One build per file, so `diagnose` on the file sees that build alone.
    let cases: Vec<(&str, Fault, bool)> = vec![
        ("healthy", Fault::None, false),
        ("blocked", Fault::ProxyToBuildBlocked, false),
        ("rejected", Fault::BuildPortRejected, false),
        ("egress", Fault::EgressBlocked, true),
        ("dns", Fault::DnsBlocked, false),
        ("alb", Fault::AlbBlocked, true),
        ("probe", Fault::ProbeBlocked, false),
    ];
    for (k, (name, fault, windows)) in cases.iter().enumerate() {
        let mut p = Pcap::new();
        proxy_build(&mut p, day(k as i64) + 12.0 * H, 240.0, *windows, *fault);
        noise(&mut p, day(k as i64) + 11.9 * H, 900.0);
        p.write(&dir.path().join(format!("{name}.pcap")));
    }
    let b = run_builds(&[dir.path().to_path_buf()], &Options::default());
    assert_eq!(b.runs.len(), cases.len());
    for (r, (name, _, _)) in b.runs.iter().zip(&cases) {
        let path = dir.path().join(format!("{name}.pcap"));
        let a = analyze_paths(&[path], &Default::default());
        let d = diagnose(&a, &Default::default());
        assert_eq!(r.diagnosis.verdict, d.verdict, "{name}");
        let hops = |x: &aibnet::diagnose::Diagnosis| -> Vec<(String, String, usize, usize)> {
            x.hops
                .iter()
                .map(|h| {
                    (
                        h.hop.to_string(),
                        h.status.to_string(),
                        h.attempts,
                        h.failed,
                    )
                })
                .collect()
        };
        assert_eq!(hops(&r.diagnosis), hops(&d), "{name}");
        let mut want: Vec<&str> = d
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .map(|f| f.id.as_str())
            .collect();
        want.sort_unstable();
        assert_eq!(failing(r), want, "{name}");
        assert_eq!(r.diagnosis.topology.roles, d.topology.roles, "{name}");
    }
}

#[test]
fn since_and_until_restrict_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let wants = tree(dir.path());
    let opts = Options {
        since: parse_rfc3339("2024-08-20T00:00:00Z"),
        until: parse_rfc3339("2024-08-21T23:59:59Z"),
        ..Options::default()
    };
    let b = run_builds(&[dir.path().to_path_buf()], &opts);
    let inside: Vec<&Want> = wants
        .iter()
        .filter(|w| w.start >= day(1) && w.start < day(3))
        .collect();
    assert_eq!(b.runs.len(), inside.len());
    for (r, w) in b.runs.iter().zip(inside) {
        check_run(r, w);
    }
    let s = b.summary();
    assert!(s.first_ts.unwrap() >= opts.since.unwrap());
    assert!(s.last_ts.unwrap() <= opts.until.unwrap());
}

#[test]
fn a_shorter_gap_splits_a_run_with_a_quiet_stretch() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pcap::new();
    // Isolated: no probes fill the silence between two bursts of SSH.
    isolated_build(&mut p, day(0), 100.0, false);
    isolated_build(&mut p, day(0) + 1500.0, 100.0, false);
    p.write(&dir.path().join("iso.pcap"));
    let paths = [dir.path().to_path_buf()];
    assert_eq!(run_builds(&paths, &Options::default()).runs.len(), 2);
    let wide = Options {
        gap_ns: 30 * 60 * 1_000_000_000,
        ..Options::default()
    };
    assert_eq!(run_builds(&paths, &wide).runs.len(), 1);
}

/// Real captures (Zeek's public SSH trace in `tests/data/traces`,
/// SSH between hosts of one subnet over two weeks): copies shifted by 30
/// and 60 days hold the same runs, at the same addresses, shifted.
#[test]
fn real_captures_shifted_in_time_are_separate_runs() {
    let src = trace("zeek-ssh-basic/ssh.pcap");
    let dir = tempfile::tempdir().unwrap();
    const MONTH: i64 = 30 * 86_400;
    let one = run_builds(std::slice::from_ref(&src), &Options::default());
    assert!(one.runs.len() >= 3, "{}", one.runs.len());
    for k in 0..3 {
        assert!(shift_pcap(
            &src,
            &dir.path().join(format!("ssh-{k}.pcap")),
            k * MONTH
        ));
    }
    let b = run_builds(&[dir.path().to_path_buf()], &Options::default());
    assert_eq!(b.runs.len(), 3 * one.runs.len());
    for (k, chunk) in b.runs.chunks(one.runs.len()).enumerate() {
        for (r, o) in chunk.iter().zip(&one.runs) {
            assert_eq!(r.start - o.start, k as i64 * MONTH * 1_000_000_000);
            assert_eq!(r.end - o.end, k as i64 * MONTH * 1_000_000_000);
            assert_eq!(r.diagnosis.verdict, o.diagnosis.verdict);
            assert_eq!(r.diagnosis.topology.roles, o.diagnosis.topology.roles);
            assert_eq!(r.sessions, o.sessions);
            assert_eq!(r.inputs.len(), 1);
            assert!(r.inputs[0].ends_with(&format!("ssh-{k}.pcap")));
        }
    }
}

// ---------------------------------------------------------------- the CLI

#[test]
fn json_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let d = dir.path().to_str().unwrap();
    let common::Run {
        code,
        stdout: out,
        stderr: err,
    } = run(["builds", "--format", "json", d]);
    assert_eq!(code, 1, "broken runs exit 1: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema_version"], 1);
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 10);
    for r in runs {
        for k in [
            "start",
            "end",
            "os",
            "topology",
            "proxy",
            "build_vm",
            "verdict",
            "first_broken_hop",
            "finding_ids",
            "hops",
        ] {
            assert!(r.get(k).is_some(), "run lacks {k}: {r}");
        }
        assert!(r["finding_ids"].is_array() && r["hops"].is_array());
        assert!(parse_rfc3339(r["start"].as_str().unwrap()).is_some());
    }
    assert_eq!(runs[1]["first_broken_hop"], "proxy_to_build_vm");
    assert_eq!(runs[1]["proxy"], PROXY);
    assert_eq!(runs[1]["build_vm"], BUILD);
    assert_eq!(runs[0]["first_broken_hop"], serde_json::Value::Null);
    let s = &v["summary"];
    assert_eq!(s["runs"], 10);
    assert_eq!(s["by_verdict"]["broken"], 7);
    assert_eq!(s["by_finding"]["dns_failing"], 1);
    assert!(v["inputs"].as_array().unwrap().len() >= 5);
    let skipped = v["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s["path"].as_str().unwrap().ends_with("notes.txt")
                && !s["reason"].as_str().unwrap().is_empty())
    );
}

#[test]
fn ndjson_has_a_line_per_run_per_unreadable_file_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let common::Run {
        code, stdout: out, ..
    } = run(["builds", "--format", "ndjson", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kind = |t: &str| lines.iter().filter(|l| l["type"] == t).count();
    assert_eq!(kind("run"), 10);
    assert_eq!(kind("skipped"), 1);
    assert_eq!(kind("summary"), 1);
    assert_eq!(lines.last().unwrap()["type"], "summary");
}

#[test]
fn table_and_markdown_show_every_run_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let d = dir.path().to_str().unwrap();
    let common::Run { stdout: table, .. } = run(["builds", "--format", "table", d]);
    assert!(table.contains("2024-08-21T08:00:00Z"), "{table}");
    assert!(table.contains("probe_to_proxy (blocked)"), "{table}");
    assert!(
        table.contains("Runs: 10 (7 broken, 3 healthy, 0 inconclusive)"),
        "{table}"
    );
    assert!(table.contains("Failures by finding:"), "{table}");
    assert!(table.contains("Time range covered: 2024-08-19"), "{table}");
    assert!(
        table.contains("not analysed:") && table.contains("notes.txt"),
        "{table}"
    );
    let common::Run { stdout: md, .. } = run(["builds", "--format", "markdown", d]);
    assert!(md.contains("| `aib-20240821-080000-10-1-0-4` |"), "{md}");
    assert!(md.contains("`aci_to_build_vm_blocked`"), "{md}");
    assert!(md.contains("### Not analysed"), "{md}");
}

/// The terminal report fits 80 and 120 columns (`COLUMNS`): a table of
/// five wrapped columns with the findings counted at 120, a short block per
/// run at 80; every run is there either way, and the full finding lists stay
/// in the other formats.
#[test]
fn builds_tables_fit_80_and_120_columns() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let d = dir.path().to_str().unwrap();
    for width in [80usize, 120] {
        let out = common::finish(
            common::aibnet()
                .env("COLUMNS", width.to_string())
                .args(["builds", "--format", "table", d]),
        );
        let table = out.stdout;
        for line in table.lines() {
            assert!(
                line.chars().count() <= width,
                "{width}: {} columns:\n{line}\n\n{table}",
                line.chars().count()
            );
        }
        assert_eq!(table.contains("start (UTC)"), width == 120, "{table}");
        for start in ["2024-08-19T10:00:00Z", "2024-08-21T08:00:00Z"] {
            assert!(table.contains(start), "{width}: {start}\n{table}");
        }
        assert!(
            table.contains("proxy_to_build_vm (blocked)"),
            "{width}:\n{table}"
        );
    }
}

/// `builds --format html`: the runs table links every run to its section,
/// and each section has its own path diagram and timeline (the sessions are
/// kept for this format only).
#[test]
fn html_links_every_run_to_its_section_with_its_pictures() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let d = dir.path().to_str().unwrap();
    let html = run(["builds", "--format", "html", d]).stdout;
    let json = run(["builds", "--format", "json", d]).json();
    let ids: Vec<&str> = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 10);
    for id in &ids {
        assert!(html.contains(&format!("<a href=\"#run-{id}\">")), "{id}");
        assert!(html.contains(&format!("<section id=\"run-{id}\">")), "{id}");
    }
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert_eq!(html.matches("Build path: ").count(), ids.len());
    assert_eq!(
        html.matches("Sessions of each hop over time").count(),
        ids.len(),
        "a timeline per run"
    );
}

fn check_junit_doc(doc: &str) -> super::support::Element {
    let root = check_junit(doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
    xmllint(doc);
    root
}

#[test]
fn junit_has_a_test_case_per_hop_per_run_and_passes_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let common::Run {
        code, stdout: out, ..
    } = run(["builds", "--format", "junit", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let root = check_junit_doc(&out);
    let suites = root.all("testsuite");
    // Ten runs and the suite of unreadable inputs.
    assert_eq!(suites.len(), 11);
    let blocked = suites[1];
    assert_eq!(blocked.attr("name"), Some("aib-20240819-160000-10-1-0-6"));
    let cases = blocked.all("testcase");
    assert_eq!(cases.len(), 6, "one test case per hop");
    assert!(
        cases
            .iter()
            .all(|c| c.attr("classname") == blocked.attr("name"))
    );
    let hop = cases
        .iter()
        .find(|c| c.attr("name") == Some("proxy_to_build_vm"))
        .unwrap();
    let failure = hop.all("failure")[0];
    assert!(
        failure
            .attr("message")
            .unwrap()
            .contains("cannot reach the build VM")
    );
    assert_eq!(failure.attr("type"), Some("proxy_to_build_vm_blocked"));
    assert!(failure.text.contains("evidence:") && failure.text.contains("fix: "));
    assert!(failure.text.contains("az network nsg rule create"));
    // Hops nobody saw are skipped, not passed.
    let dns = suites[6]
        .all("testcase")
        .into_iter()
        .find(|c| c.attr("name") == Some("build_vm_egress"))
        .unwrap();
    assert!(!dns.all("skipped").is_empty() || dns.children.is_empty());
    // An isolated build has no proxy hops: skipped, not passed.
    let iso = suites[5].all("testcase");
    assert_eq!(iso.len(), 6);
    let probe = iso
        .iter()
        .find(|c| c.attr("name") == Some("probe_to_proxy"))
        .unwrap();
    assert_eq!(probe.all("skipped").len(), 1);
    let inputs = suites[10];
    assert_eq!(inputs.attr("name"), Some("aibnet inputs"));
    assert_eq!(inputs.attr("errors"), Some("1"));
    let e = inputs.all("testcase")[0].all("error")[0];
    assert!(e.attr("message").unwrap().contains("not a packet capture"));
}

#[test]
fn junit_from_diagnose_passes_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pcap::new();
    proxy_build(&mut p, day(0), 200.0, false, Fault::DnsBlocked);
    let cap = dir.path().join("dns.pcap");
    p.write(&cap);
    let bad = dir.path().join("bad.pcap");
    std::fs::write(&bad, b"\xd4\xc3\xb2\xa1 short").unwrap();
    let common::Run {
        code, stdout: out, ..
    } = run([
        "diagnose",
        "--format",
        "junit",
        cap.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let root = check_junit_doc(&out);
    let suites = root.all("testsuite");
    assert_eq!(suites.len(), 2);
    let cases = suites[0].all("testcase");
    assert!(
        cases
            .iter()
            .all(|c| c.attr("classname") == Some("aibnet.diagnose"))
    );
    let dns = cases
        .iter()
        .find(|c| c.attr("name") == Some("build_vm_dns"))
        .unwrap();
    assert_eq!(dns.all("failure")[0].attr("type"), Some("dns_failing"));
    assert!(
        suites[1].all("testcase")[0]
            .attr("name")
            .unwrap()
            .ends_with("bad.pcap")
    );
}

#[test]
fn junit_of_nothing_still_has_a_test() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pcap::new();
    noise(&mut p, day(0), 300.0);
    p.write(&dir.path().join("noise.pcap"));
    let common::Run {
        code, stdout: out, ..
    } = run(["builds", "--format", "junit", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    let root = check_junit_doc(&out);
    assert_eq!(root.attr("tests"), Some("1"));
}

#[test]
fn exit_codes_follow_diagnose() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pcap::new();
    proxy_build(&mut p, day(0), 200.0, false, Fault::None);
    proxy_build(&mut p, day(0) + 6.0 * H, 200.0, true, Fault::None);
    let healthy = dir.path().join("healthy.pcap");
    p.write(&healthy);
    let common::Run {
        code, stderr: err, ..
    } = run(["builds", "--format", "json", healthy.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 runs"), "{err}");

    let mut p = Pcap::new();
    proxy_build(&mut p, day(0), 200.0, false, Fault::EgressBlocked);
    let broken = dir.path().join("broken.pcap");
    p.write(&broken);
    let b = broken.to_str().unwrap();
    assert_eq!(run(["builds", "--format", "json", b]).code, 1);
    assert_eq!(
        run(["builds", "--format", "json", "--fail-on", "never", b]).code,
        0
    );

    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"junk").unwrap();
    let common::Run {
        code, stdout: out, ..
    } = run(["builds", "--format", "json", junk.to_str().unwrap()]);
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["skipped"][0]["path"], junk.to_str().unwrap());

    let common::Run {
        code, stderr: err, ..
    } = run(["builds", "--since", "yesterday", b]);
    assert_eq!(code, 2);
    assert!(err.contains("RFC 3339"), "{err}");
}

/// One NSG flow-log (version 2) blob of a NIC's hour: one record per
/// (rule, tuples) group.
fn nsg_blob(root: &Path, mac: &str, hour_s: i64, groups: &[(&str, Vec<String>)]) {
    let when = aibnet::time::rfc3339(hour_s * 1_000_000_000, 0);
    let dir = root.join(format!(
        "resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG/y={}/m={}/d={}/h={}/m=00/macAddress={mac}",
        &when[0..4],
        &when[5..7],
        &when[8..10],
        &when[11..13]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let flows: Vec<serde_json::Value> = groups
        .iter()
        .map(|(rule, tuples)| serde_json::json!({"rule": rule, "flows": [{"mac": mac, "flowTuples": tuples}]}))
        .collect();
    let doc = serde_json::json!({"records": [{
        "time": aibnet::time::rfc3339((hour_s + 3599) * 1_000_000_000, 7),
        "macAddress": mac,
        "category": "NetworkSecurityGroupFlowEvent",
        "resourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG",
        "operationName": "NetworkSecurityGroupFlowEvents",
        "properties": {"Version": 2, "flows": flows}
    }]});
    std::fs::write(dir.join("PT1H.json"), doc.to_string()).unwrap();
}

/// A long isolated build whose SSH session the NSG allows by a custom rule:
/// NSG flow logs show it once, as a `B` in the first hour, never again. The
/// build VM's egress denied in the second hour is still the build's.
#[test]
fn a_build_vms_quiet_hours_in_flow_logs_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let h0 = DAY0 + 10 * 3600;
    let h1 = h0 + 3600;
    let t = |s: i64, rest: &str| format!("{s},{rest}");
    nsg_blob(
        dir.path(),
        "000D3A0000B6",
        h0,
        &[
            (
                "UserRule_AllowAciSsh",
                vec![t(h0 + 600, "10.1.1.4,10.1.0.6,40000,22,T,I,A,B,,,,")],
            ),
            (
                "DefaultRule_AllowVnetOutBound",
                vec![
                    t(h0 + 620, "10.1.0.6,10.1.2.4,40001,53,U,O,A,B,,,,"),
                    t(h0 + 620, "10.1.0.6,10.1.2.4,40001,53,U,O,A,E,1,74,1,130"),
                ],
            ),
            (
                "DefaultRule_AllowInternetOutBound",
                vec![
                    t(h0 + 630, "10.1.0.6,52.147.219.192,40002,443,T,O,A,B,,,,"),
                    t(
                        h0 + 640,
                        "10.1.0.6,52.147.219.192,40002,443,T,O,A,E,40,3000,90,120000",
                    ),
                ],
            ),
        ],
    );
    nsg_blob(
        dir.path(),
        "000D3A0000B6",
        h1,
        &[(
            "UserRule_DenyInternetOutBound",
            (0..3)
                .map(|k| {
                    t(
                        h1 + 600 + k * 60,
                        &format!("10.1.0.6,52.147.219.192,{},443,T,O,D,B,,,,", 41000 + k),
                    )
                })
                .collect(),
        )],
    );
    // Another VM's denied egress in the same hour belongs to no build.
    nsg_blob(
        dir.path(),
        "000D3A0000C7",
        h1,
        &[(
            "UserRule_DenyInternetOutBound",
            vec![t(h1 + 700, "10.1.0.9,52.147.219.192,42000,443,T,O,D,B,,,,")],
        )],
    );
    let b = run_builds(&[dir.path().to_path_buf()], &Options::default());
    assert_eq!(
        b.runs.len(),
        1,
        "{:#?}",
        b.runs.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
    let r = &b.runs[0];
    assert_eq!(
        r.diagnosis.topology.kind,
        Some(aibnet::aib::TopologyKind::Isolated)
    );
    assert_eq!(failing(r), vec!["build_vm_egress_blocked"]);
    assert_eq!(
        r.inputs.len(),
        2,
        "both hours of the build VM, not the other VM"
    );
    assert_eq!(r.macs, vec!["000D3A0000B6".to_string()]);
}

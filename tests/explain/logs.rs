//! `aibnet explain` on whole build logs (issue 22, issue 20 item 6): every
//! fixture of `captures/errors/logs/` against `expectations.json` — the
//! class, `network`, the point of failure's line and time, the cause lines,
//! the alternatives and the timeline's events — end to end as a user runs
//! it; the log read with its template JSON; and hostile input.

use std::io::Write as _;

use aibnet::explain::{Context, explain};
use serde_json::Value;

use crate::common::{self, Run, captures};

fn logs(name: &str) -> String {
    captures(&format!("errors/logs/{name}"))
        .display()
        .to_string()
}

fn explain_cli(args: &[&str]) -> Run {
    common::run(["explain"].iter().chain(args))
}

fn expectations() -> Vec<Value> {
    let text = std::fs::read_to_string(logs("expectations.json")).expect("expectations.json");
    let v: Value = serde_json::from_str(&text).expect("expectations.json is JSON");
    v["files"].as_array().expect("files").clone()
}

/// The class name in an expectation's alternative (`F2 health_probe_blocked`,
/// `F4 aci_to_build_vm_blocked (a REJECT rule …)`, `source_image_defect`).
fn alternative_class(alt: &str) -> &str {
    alt.split_whitespace()
        .find(|w| w.contains('_'))
        .unwrap_or(alt)
}

/// Whether a line of a fixture carries its own time (aib-old's `PACKER OUT`
/// and continuation lines inherit one, which SPEC.md §1.1 takes from the
/// line above; the fixtures' own clock may differ by seconds).
fn has_own_time(line: &str) -> bool {
    let after = line.split_once("] PACKER ").map_or(line, |(_, r)| r);
    after.as_bytes().first().is_some_and(u8::is_ascii_digit)
}

fn secs(t: &str) -> i64 {
    aibnet::time::Utc::parse(t).expect("a time").0
}

#[test]
fn every_fixture_gives_the_expected_answer() {
    let files = expectations();
    assert_eq!(files.len(), 37, "expectations.json lists every fixture");
    let mut checked_timelines = 0;
    for f in &files {
        let name = f["file"].as_str().expect("file");
        let exp = &f["expected"];
        let path = logs(name);
        let out = explain_cli(&[&path, "--format", "json"]);
        let v = out.json();
        let best = v["matches"].get(0);

        // The class, and the exit code a pipeline reads.
        let class = best.map(|m| m["class"].clone()).unwrap_or(Value::Null);
        assert_eq!(class, exp["class"], "{name}: class");
        let explained = !exp["class"].is_null() || exp["outcome"] == "succeeded";
        assert_eq!(out.code, if explained { 0 } else { 1 }, "{name}: exit code");
        assert_eq!(v["recognised"], explained, "{name}: recognised");

        // `network`: in the JSON of a whole build, and for every input in
        // the library.
        let lib = explain(&std::fs::read(&path).expect("fixture"), &Context::default());
        let lib_network = lib.matches.first().is_some_and(|m| m.class.network());
        assert_eq!(Value::Bool(lib_network), exp["network"], "{name}: network");
        if let Some(n) = v.get("network") {
            assert_eq!(n, &exp["network"], "{name}: JSON network");
            // Network evidence only for a network class.
            let collect = v["collect"].as_array().expect("collect");
            let asks_traffic = collect.iter().any(|s| {
                let c = s["command"].as_str().unwrap_or_default();
                c.contains("packet-capture") || c.contains("insights-logs-")
            });
            if exp["network"] == false {
                assert!(
                    !asks_traffic,
                    "{name}: network evidence for a non-network class"
                );
            }
        }
        if let Some(d) = f["dialect"].as_str() {
            assert_eq!(v["dialect"], d, "{name}: dialect");
        }
        // How the build ended, for every whole build (a pasted text has none).
        let whole_build = [
            "customization.log",
            "packer log (run directly)",
            "az image builder show",
        ]
        .contains(&f["kind"].as_str().unwrap_or_default());
        if whole_build {
            assert_eq!(v["outcome"], exp["outcome"], "{name}: outcome");
        }

        // The point of failure: its line, its time, the lines that show why.
        let pof = &f["point_of_failure"];
        if pof.is_null() {
            assert!(
                v.get("point_of_failure").is_none(),
                "{name}: no point of failure"
            );
        } else {
            let want = pof["line"].as_u64().expect("line");
            let got = v["point_of_failure"]["line"]
                .as_u64()
                .or_else(|| best.and_then(|m| m["evidence"][0]["line"].as_u64()));
            assert_eq!(got, Some(want), "{name}: point of failure line");
            if let Some(t) = pof["time"].as_str() {
                let got = v["point_of_failure"]["time"].as_str().expect("a time");
                let raw = pof["text"].as_str().unwrap_or_default();
                if has_own_time(raw) {
                    assert_eq!(got, t, "{name}: point of failure time");
                } else {
                    assert!((secs(got) - secs(t)).abs() <= 60, "{name}: {got} vs {t}");
                }
            }
            let causes: Vec<u64> = v["point_of_failure"]["cause_lines"]
                .as_array()
                .map(|c| c.iter().filter_map(|l| l["line"].as_u64()).collect())
                .unwrap_or_default();
            for c in f["cause_lines"].as_array().expect("cause_lines") {
                let l = c["line"].as_u64().expect("line");
                assert!(
                    causes.contains(&l),
                    "{name}: cause line {l} not in {causes:?}"
                );
            }
        }

        // The alternatives are listed after the best match.
        for alt in exp["alternatives"].as_array().into_iter().flatten() {
            let want = alternative_class(alt.as_str().expect("alternative"));
            let listed = v["matches"]
                .as_array()
                .expect("matches")
                .iter()
                .skip(1)
                .any(|m| m["class"] == want);
            assert!(listed, "{name}: alternative {want} not listed");
        }

        // The values the expectation names; a log's with its companion
        // template JSON, which knows the template's settings.
        let companions: Vec<String> = f["companions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str())
            .map(logs)
            .collect();
        let with_companions = if !companions.is_empty() && f["kind"] == "customization.log" {
            let mut args: Vec<&str> = vec![&path];
            args.extend(companions.iter().map(String::as_str));
            args.extend(["--format", "json"]);
            let w = explain_cli(&args).json();
            assert_eq!(
                w["matches"][0]["class"], exp["class"],
                "{name} with its companions"
            );
            w
        } else {
            v.clone()
        };
        let detail = &with_companions["point_of_failure"]["detail"];
        for key in [
            "kind",
            "exit_code",
            "http_status",
            "build_timeout_minutes",
            "storage_account",
            "code",
            "url",
        ] {
            if let Some(want) = exp["detail"].get(key)
                && !want.is_null()
            {
                assert_eq!(&detail[key], want, "{name}: detail {key}");
            }
        }

        // Every event of the timeline, at its line, with its facts.
        let timeline = v["timeline"].as_array().cloned().unwrap_or_default();
        for want in f["timeline"].as_array().expect("timeline") {
            let line = &want["line"];
            let event = &want["event"];
            let got = timeline
                .iter()
                .find(|e| &e["line"] == line && &e["event"] == event)
                .unwrap_or_else(|| panic!("{name}: no {event} at line {line}"));
            for key in [
                "communicator",
                "kind",
                "count",
                "last_line",
                "exit_code",
                "type",
                "outcome",
                "signal",
                "target",
                "script",
                "elapsed_since_first_line",
            ] {
                if let Some(w) = want.get(key) {
                    assert_eq!(&got[key], w, "{name}: {event} at {line}: {key}");
                }
            }
            checked_timelines += 1;
        }
    }
    assert!(
        checked_timelines >= 200,
        "{checked_timelines} timeline events checked"
    );
}

#[test]
fn the_same_f15_lines_read_in_order() {
    // A cancellation first, then the lost session: the timeout's
    // consequence. The lost session first: the guest firewall.
    let timeout = explain_cli(&[
        &logs("timeout-linux-download.customization.log"),
        "--format",
        "json",
    ])
    .json();
    let f15 = explain_cli(&[
        &logs("net-f15-guest-firewall.customization.log"),
        "--format",
        "json",
    ])
    .json();
    for v in [&timeout, &f15] {
        assert!(
            v["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["event"] == "build_end"),
            "{v}"
        );
    }
    assert_eq!(timeout["matches"][0]["class"], "build_timeout");
    assert_eq!(timeout["network"], false);
    assert_eq!(timeout["point_of_failure"]["rule"], "cancellation");
    assert!(
        !timeout["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["class"] == "build_session_interrupted")
    );
    assert_eq!(f15["matches"][0]["class"], "build_session_interrupted");
    assert_eq!(f15["network"], true);
    assert_eq!(f15["point_of_failure"]["rule"], "session_lost");
}

#[test]
fn the_template_json_gives_the_timeout_and_the_names() {
    let alone = explain_cli(&[
        &logs("timeout-windows-script.customization.log"),
        "--format",
        "json",
    ])
    .json();
    let d = &alone["point_of_failure"]["detail"];
    assert!(d.get("build_timeout_minutes").is_none());
    assert_eq!(alone["matches"][0]["confidence"], 0.6);
    assert!(
        alone["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("buildTimeoutInMinutes")),
        "the setting is asked for"
    );
    assert_eq!(d["elapsed"], "1 hour 57 minutes since the log's first line");

    let both = explain_cli(&[
        &logs("timeout-windows-script.customization.log"),
        &logs("timeout-windows-script.az-image-builder-show.json"),
        "--format",
        "json",
    ])
    .json();
    assert_eq!(both["matches"][0]["class"], "build_timeout");
    assert_eq!(both["matches"][0]["confidence"], 0.9);
    let d = &both["point_of_failure"]["detail"];
    assert_eq!(d["build_timeout_minutes"], 120);
    // The template's names of its customizers, by rank.
    assert_eq!(d["customizer"], "PowerShell: install model runtime");
    assert!(
        both["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["customizer"] == "PowerShell: refresh winget sources")
    );
    // The point of failure is still the log's.
    assert_eq!(both["point_of_failure"]["line"], 208);
}

#[test]
fn a_failure_after_a_successful_build_is_the_run_status() {
    let v = explain_cli(&[
        &logs("success-windows.customization.log"),
        &logs("identity-gallery-distribute.az-image-builder-show.json"),
        "--format",
        "json",
    ])
    .json();
    assert_eq!(v["outcome"], "succeeded");
    assert_eq!(v["matches"][0]["class"], "identity_not_authorized");
    assert_eq!(v["network"], false);
    assert_eq!(v["point_of_failure"]["rule"], "run_status");
    assert_eq!(
        v["point_of_failure"]["detail"]["phase"],
        "distribution (after a successful Packer build)"
    );
}

#[test]
fn successes_are_not_findings_in_any_format() {
    for name in [
        "success-windows.customization.log",
        "success-linux-proxy.customization.log",
        "winrm-transients-then-success.customization.log",
    ] {
        let v = explain_cli(&[&logs(name), "--format", "json"]).json();
        assert_eq!(v["recognised"], true, "{name}");
        assert_eq!(v["matches"], serde_json::json!([]), "{name}");
        assert_eq!(
            v["collect"],
            serde_json::json!([]),
            "{name}: nothing to collect"
        );
        let retries: Vec<&Value> = v["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "communicator_retries")
            .collect();
        assert!(
            !retries.is_empty() && retries.iter().all(|e| e["transient"] == true),
            "{name}"
        );
        for format in ["table", "markdown"] {
            let out = explain_cli(&[&logs(name), "--format", format]);
            assert_eq!(out.code, 0, "{name} {format}");
            assert!(out.stdout.contains("succeeded"), "{name} {format}");
            assert!(
                out.stdout.contains("transient"),
                "{name} {format}: {}",
                out.stdout
            );
        }
    }
}

#[test]
fn every_format_shows_the_point_of_failure_and_the_timeline() {
    let path = logs("powershell-parse-error.customization.log");
    let table = explain_cli(&[&path]);
    assert_eq!(table.code, 0);
    for want in [
        "network: no — not a network failure",
        "Point of failure (line 173",
        "because (line 175)",
        "Timeline:",
        "ends, exit 1",
    ] {
        assert!(
            table.stdout.contains(want),
            "table lacks {want:?}:\n{}",
            table.stdout
        );
    }
    let md = explain_cli(&[&path, "--format", "markdown"]);
    for want in [
        "### Build",
        "**Point of failure** (line 173",
        "### Timeline",
        "| 173 |",
    ] {
        assert!(
            md.stdout.contains(want),
            "markdown lacks {want:?}:\n{}",
            md.stdout
        );
    }
    let v = explain_cli(&[&path, "--format", "json"]).json();
    assert_eq!(v["read_as"], "customization_log");
    assert_eq!(v["matches"][0]["network"], false);
    assert_eq!(
        v["point_of_failure"]["detail"]["kind"],
        "powershell_parse_error"
    );
    assert_eq!(
        v["point_of_failure"]["detail"]["error"]
            .as_str()
            .map(|e| e.contains("Missing closing ')'")),
        Some(true)
    );
}

#[test]
fn stdin_gives_the_same_answer_as_the_file() {
    let path = logs("bash-script-failure.customization.log");
    let bytes = std::fs::read(&path).unwrap();
    let from_file = explain_cli(&[&path, "--format", "json"]).json();
    let from_stdin = common::run_stdin(["explain", "-", "--format", "json"], &bytes).json();
    assert_eq!(from_file, from_stdin);
}

#[test]
fn reviewed_reports_of_whole_logs() {
    let table = |name: &str| {
        let out = common::run_at_root(["explain", &format!("captures/errors/logs/{name}")]);
        out.stdout
    };
    let markdown = |name: &str| {
        let out = common::run_at_root([
            "explain",
            &format!("captures/errors/logs/{name}"),
            "--format",
            "markdown",
        ]);
        out.stdout
    };
    insta::assert_snapshot!(
        "explain_table_timeout_windows_script",
        table("timeout-windows-script.customization.log")
    );
    insta::assert_snapshot!(
        "explain_table_success_windows",
        table("success-windows.customization.log")
    );
    insta::assert_snapshot!(
        "explain_markdown_download_404",
        markdown("download-404-windows.customization.log")
    );
    insta::assert_snapshot!(
        "explain_markdown_net_f1_windows",
        markdown("net-f1-windows-proxy-timeout.customization.log")
    );
}

// ---- hostile input -------------------------------------------------------------

fn temp_file(name: &str, bytes: &[u8]) -> tempfile::TempPath {
    let mut f = tempfile::Builder::new()
        .prefix(name)
        .tempfile()
        .expect("temp file");
    f.write_all(bytes).expect("write");
    f.into_temp_path()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    common::bytes::gzip(bytes)
}

#[test]
fn gzip_logs_read_as_the_plain_ones_and_a_cut_one_is_said() {
    let plain = std::fs::read(logs("download-403-expired-sas.customization.log")).unwrap();
    let gz = gzip(&plain);
    let file = temp_file("log.gz", &gz);
    let a = explain_cli(&[
        &logs("download-403-expired-sas.customization.log"),
        "--format",
        "json",
    ])
    .json();
    let b = explain_cli(&[file.to_str().unwrap(), "--format", "json"]).json();
    assert_eq!(a, b);

    // Cut in the middle: what was read is explained, and stderr says so.
    let cut = temp_file("cut.gz", gz.get(..gz.len() / 2).unwrap());
    let out = explain_cli(&[cut.to_str().unwrap(), "--format", "json"]);
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("gzip stream broken or cut"),
        "{}",
        out.stderr
    );
    let v = out.json();
    assert_eq!(v["read_as"], "customization_log");
    assert_eq!(v["outcome"], "incomplete");

    // Only the gzip header: nothing to read is an error, not a panic.
    let header = temp_file("header.gz", gz.get(..10).unwrap());
    let out = explain_cli(&[header.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("gzip"), "{}", out.stderr);
}

#[test]
fn binary_input_is_refused_with_a_reason() {
    let pcap = std::fs::read(captures("proxy-to-buildvm-dropped/proxy.pcap")).expect("a capture");
    let file = temp_file("capture.log", &pcap);
    let out = explain_cli(&[file.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("is binary") && out.stderr.contains("aibnet diagnose"),
        "{}",
        out.stderr
    );
    let out = common::run_stdin(["explain", "-"], &[0u8, 1, 2, 3, 0xff, 0xfe, 0, 0]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("stdin is binary"), "{}", out.stderr);
}

#[test]
fn non_utf8_and_huge_lines_are_read() {
    // A log written in Windows-1252 (é as 0xe9) is text, not binary.
    let mut log = std::fs::read(logs("bash-script-failure.customization.log")).unwrap();
    log.extend_from_slice(b"[7df94d38-918a-4564-b7b3-252f64e8278d] PACKER caf\xe9 cr\xe8me\n");
    let file = temp_file("latin1.log", &log);
    let v = explain_cli(&[file.to_str().unwrap(), "--format", "json"]).json();
    assert_eq!(v["matches"][0]["class"], "customizer_failed");
    assert_eq!(v["point_of_failure"]["line"], 165);

    // A 20 MB line before the failure: the tail is read, the quote is cut,
    // the line numbers of the tail are the tail's.
    let mut huge =
        b"[7df94d38-918a-4564-b7b3-252f64e8278d] PACKER 2026/03/03 07:18:49 ui: ==> azure-arm: "
            .to_vec();
    huge.extend(std::iter::repeat_n(b'A', 20 << 20));
    huge.push(b'\n');
    huge.extend_from_slice(&std::fs::read(logs("bash-script-failure.customization.log")).unwrap());
    let file = temp_file("huge.log", &huge);
    let out = explain_cli(&[
        file.to_str().unwrap(),
        "--format",
        "json",
        "--max-input",
        "32M",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["point_of_failure"]["line"], 166);
    let out = explain_cli(&[file.to_str().unwrap(), "--format", "json"]);
    assert!(out.stderr.contains("longer than"), "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["matches"][0]["class"], "customizer_failed");
    for e in v["timeline"].as_array().unwrap() {
        assert!(
            e.to_string().len() < 2000,
            "an event quotes the huge line: {}",
            e.to_string().len()
        );
    }
}

#[test]
fn hostile_logs_never_panic() {
    let op = "[6af6cd56-d75e-4c8c-abf1-a7ed2d393ae6] PACKER";
    let mut inputs: Vec<String> = vec![
        format!("{op} 2026/01/12 13:05:46 ui: ==> azure-arm: ERROR:"),
        format!("{op} 2026/01/12 13:05:46 ui: ==> azure-arm: ERROR: ->"),
        format!("{op} 2026/01/12 13:05:46 ui: Build '' errored after : "),
        format!("{op} 2026/01/12 13:05:46 ui: Build 'x' finished"),
        format!("{op} 2026/01/12 13:05:46 packer-plugin-azure plugin: [INFO] command '' exited with code: 99999999999999999999"),
        format!("{op} 2026/01/12 13:05:46 ui: ==> azure-arm: Uploading  => \n{op} 2026/01/12 13:05:46 closing"),
        format!("{op} 9999/99/99 99:99:99 ui: ==> azure-arm: Timeout waiting for WinRM."),
        format!("{op} 2026/01/12 13:05:46 ui error: Cancelling build after receiving \n{op} 1970/01/01 00:00:00 Cancelling builder after context cancellation"),
        format!("{op} 2026/01/12 13:05:46 ui: ==> azure-arm: Waiting for SSH to become available...\n").repeat(20_000),
        format!("{op} ==> azure-arm: Provisioning with powershell script: \n").repeat(1000),
        format!("{op} 2026/01/12 13:05:46 ui: ==> azure-arm: Provisioning with shell script: /tmp/x\n{op} 2026/01/12 13:05:46 packer-plugin-azure plugin: [ERROR] Remote command exited with '': \n"),
        "2025/11/18 09:12:05 [INFO] Packer version: \u{202e}1.0\u{1b}[2J".to_string(),
        "{\"lastRunStatus\": {\"message\": \"\", \"runState\": \"\"}}".to_string(),
        "{\"lastRunStatus\": {\"message\": \"Timeout waiting for microservice to complete\", \"startTime\": \"9999-99-99\", \"endTime\": \"1970-01-01T00:00:00Z\"}, \"buildTimeoutInMinutes\": 18446744073709551615}".to_string(),
        "{\"privateLinkServiceNetworkPolicies\": \"Enabled\"}".to_string(),
    ];
    inputs.push(format!(
        "{op} 2026/01/12 13:05:46 ui: ==> azure-arm: At {} char:1",
        "x".repeat(100_000)
    ));
    for raw in &inputs {
        let e = explain(raw.as_bytes(), &Context::default());
        use aibnet::report::{OutputFormat, Render, Style};
        for format in [
            OutputFormat::Table,
            OutputFormat::Markdown,
            OutputFormat::Json,
        ] {
            e.render(
                format,
                &Style {
                    color: true,
                    ..Style::plain()
                },
                &mut std::io::sink(),
            )
            .expect("renders");
        }
    }
    // Several inputs, in any mix.
    let e = aibnet::explain::explain_inputs(
        &[
            inputs[0].as_bytes(),
            b"{\"lastRunStatus\": {\"runState\": \"Failed\"}}",
            b"\xff\xfe",
        ],
        &Context::default(),
    );
    assert_eq!(e.schema_version, 1);
}

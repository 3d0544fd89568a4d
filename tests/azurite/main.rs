//! Storage locations against a real Azure Storage emulator (Azurite): the
//! lab's flow logs uploaded in the real blob layout, read back through
//! every credential kind, pruned by the window, cached, and failing
//! clearly. Skipped with a notice when `azurite-blob` is not installed
//! (`AIBNET_AZURITE=1` makes that a failure, for CI).

#[path = "../common/mod.rs"]
mod common;
mod support;

use common::{Run, aibnet, captures, finish, repo};
use support::{ACCOUNT, Azurite, KEY};

/// The NSG flow logs' container.
const NSG: &str = "insights-logs-networksecuritygroupflowevent";

/// `aibnet ARGS` from the repository's root with only the given `AZURE*`
/// variables (the caller's are removed).
fn run_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = aibnet();
    c.current_dir(repo());
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE") {
            c.env_remove(k);
        }
    }
    c.envs(env.iter().copied());
    finish(c.args(args))
}

/// Output with the inputs' locations replaced by `BASE`.
fn normalized(out: &str, bases: &[&str]) -> String {
    bases
        .iter()
        .fold(out.to_string(), |s, b| s.replace(b, "BASE"))
}

fn lab_scenarios() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(captures(""))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("flowlogs").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    assert!(v.len() >= 10, "{v:?}");
    v
}

/// The storage line of stderr.
fn storage_line(r: &Run) -> &str {
    r.stderr
        .lines()
        .find(|l| l.starts_with("aibnet: storage:"))
        .unwrap_or_else(|| panic!("no storage line:\n{}", r.stderr))
}

fn count(line: &str, what: &str) -> u64 {
    let at = line
        .find(what)
        .unwrap_or_else(|| panic!("{what:?} in {line}"));
    line[..at]
        .trim_end()
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("count before {what:?} in {line}"))
}

#[test]
fn lab_scenarios_read_from_storage_equal_the_local_run() {
    let Some(az) = Azurite::start() else { return };
    for s in lab_scenarios() {
        az.create_container(&s);
        let n = az.put_tree(&s, &captures(&format!("{s}/flowlogs")), |rel| {
            rel.to_string()
        });
        assert!(n > 0);
        let local = format!("captures/{s}/flowlogs");
        let url = az.url(&s);
        for cmd in ["diagnose", "builds"] {
            let want = run_env(&[cmd, "--format", "json", &local], &[]);
            let got = run_env(&[cmd, "--format", "json", &url], &[]);
            assert_eq!(got.code, want.code, "{s} {cmd}: {}", got.stderr);
            assert_eq!(
                normalized(&got.stdout, &[&url]),
                normalized(&want.stdout, &[&local]),
                "{s} {cmd}"
            );
            let line = storage_line(&got);
            assert_eq!(count(line, "blobs listed"), n as u64, "{line}");
            assert_eq!(count(line, "failed"), 0, "{line}");
        }
    }
}

/// The NSG flow logs of a scenario in the real container, plus the same
/// blobs in other days, months and years (never to be listed for a window
/// of the scenario's hour).
fn nsg_with_other_days(az: &Azurite, scenario: &str) -> (usize, usize) {
    az.create_container(NSG);
    let dir = captures(&format!("{scenario}/flowlogs/nsg-v2"));
    let real = az.put_tree(NSG, &dir, |rel| rel.to_string());
    let mut other = 0;
    for (from, to) in [
        ("/d=27/h=04/", "/d=20/h=04/"),
        ("/d=27/h=04/", "/d=27/h=10/"),
        ("/m=11/d=27/", "/m=10/d=27/"),
        ("y=2026/", "y=2025/"),
    ] {
        other += az.put_tree(NSG, &dir, |rel| rel.replace(from, to));
    }
    (real, other)
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn a_window_lists_and_downloads_only_its_hours() {
    let Some(az) = Azurite::start() else { return };
    let s = "proxy-to-buildvm-dropped";
    let (real, other) = nsg_with_other_days(&az, s);
    let window = [
        "--since",
        "2026-11-27T04:00:00Z",
        "--until",
        "2026-11-27T04:59:59Z",
    ];
    let local = format!("captures/{s}/flowlogs/nsg-v2");
    let url = az.url(NSG);
    let args = |p: &str| {
        let mut v = vec!["builds", "--format", "json"];
        v.extend(window);
        v.push(p);
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let (local_args, url_args) = (args(&local), args(&url));
    let strs = |v: &[String]| -> Vec<String> { v.to_vec() };
    let log_before = az.debug_log().len();
    let want = run_env(&refs(&strs(&local_args)), &[]);
    let got = run_env(&refs(&strs(&url_args)), &[]);
    assert_eq!(got.code, want.code, "{}", got.stderr);
    assert_eq!(
        normalized(&got.stdout, &[&url]),
        normalized(&want.stdout, &[&local])
    );
    let line = storage_line(&got);
    assert_eq!(count(line, "blobs listed"), real as u64, "{line}");
    assert_eq!(count(line, "downloaded"), real as u64, "{line}");
    // The build VM's blob is read again by the scan's second pass.
    assert!(count(line, "read again") <= real as u64, "{line}");
    assert!(count(line, "time folders skipped") >= 3, "{line}");
    // Azurite saw no request under another day, month or year: neither a
    // listing nor a download (the URLs of the requests, in its debug log;
    // `/` is `%2F` in a listing's prefix).
    let log = &az.debug_log()[log_before..];
    let requests: Vec<String> = log
        .lines()
        .filter_map(|l| {
            l.split_once("RequestURL=")
                .map(|(_, u)| u.replace("%2F", "/").replace("%3D", "="))
        })
        .collect();
    assert!(
        requests.iter().any(|u| u.contains("d=27/h=04")),
        "{requests:#?}"
    );
    for outside in ["d=20", "h=10", "m=10", "y=2025"] {
        assert!(
            !requests.iter().any(|u| u.contains(outside)),
            "{outside} was requested: {requests:#?}"
        );
    }
    assert_eq!(
        requests.iter().filter(|u| u.contains("comp=list")).count() as u64,
        count(line, "list requests"),
        "{requests:#?}"
    );
    // Without a window, everything is listed.
    let all = run_env(&["builds", "--format", "json", &url], &[]);
    assert_eq!(
        count(storage_line(&all), "blobs listed"),
        (real + other) as u64
    );
}

#[test]
fn a_sas_reads_and_never_shows() {
    let Some(az) = Azurite::start() else { return };
    let s = "alb-to-proxy-dropped";
    az.create_container(s);
    az.put_tree(s, &captures(&format!("{s}/flowlogs")), |rel| {
        rel.to_string()
    });
    let local = format!("captures/{s}/flowlogs");
    let url = az.url(s);
    let sas = az.sas("rl");
    let with_sas = format!("{url}?{sas}");
    let want = run_env(&["diagnose", "--format", "json", &local], &[]);
    let got = run_env(&["diagnose", "--format", "json", &with_sas], &[]);
    assert_eq!(got.code, want.code, "{}", got.stderr);
    assert_eq!(
        normalized(&got.stdout, &[&url]),
        normalized(&want.stdout, &[&local])
    );
    let mut outputs = vec![got];
    for fmt in ["markdown", "table", "ndjson", "junit"] {
        outputs.push(run_env(&["diagnose", "--format", fmt, &with_sas], &[]));
    }
    outputs.push(run_env(&["builds", "--format", "markdown", &with_sas], &[]));
    outputs.push(run_env(&["sessions", "--format", "json", &with_sas], &[]));
    // The SAS from the environment.
    let env = run_env(
        &["diagnose", "--format", "json", &url],
        &[("AZURE_STORAGE_SAS_TOKEN", sas.as_str())],
    );
    assert_eq!(
        normalized(&env.stdout, &[&url]),
        normalized(&want.stdout, &[&local])
    );
    outputs.push(env);
    // Listing allowed, reading not: every blob is skipped, named, and the
    // SAS is still nowhere.
    let list_only = run_env(
        &[
            "diagnose",
            "--format",
            "json",
            &format!("{url}?{}", az.sas("l")),
        ],
        &[],
    );
    assert_eq!(list_only.code, 2, "{}", list_only.stderr);
    let skipped = list_only.json()["skipped"].as_array().unwrap().clone();
    assert!(!skipped.is_empty());
    for sk in &skipped {
        let p = sk["path"].as_str().unwrap();
        assert!(p.starts_with(&url) && p.ends_with("PT1H.json"), "{p}");
        let r = sk["reason"].as_str().unwrap();
        assert!(
            r.contains("403") && r.contains(p) && r.contains("SAS (in the URL)"),
            "{r}"
        );
    }
    outputs.push(list_only);
    for o in &outputs {
        for text in [&o.stdout, &o.stderr] {
            assert!(
                !text.contains("sig="),
                "a SAS signature in the output:\n{text}"
            );
            assert!(
                !text.contains("se=2099"),
                "the SAS's query in the output:\n{text}"
            );
        }
    }
}

#[test]
fn an_account_key_reads_and_a_wrong_one_is_a_clear_403() {
    let Some(az) = Azurite::start() else { return };
    let s = "healthy-linux";
    az.create_container(s);
    az.put_tree(s, &captures(&format!("{s}/flowlogs")), |rel| {
        rel.to_string()
    });
    let url = az.url(s);
    let ok = run_env(
        &["diagnose", "--format", "json", &url],
        &[("AZURE_STORAGE_ACCOUNT_KEY", KEY)],
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(!ok.json()["inputs"].as_array().unwrap().is_empty());
    let conn = format!(
        "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={}",
        az.endpoint()
    );
    let by_conn = run_env(
        &["diagnose", "--format", "json", &url],
        &[("AZURE_STORAGE_CONNECTION_STRING", &conn)],
    );
    assert_eq!(by_conn.stdout, ok.stdout);

    let wrong = "d3JvbmcgYWNjb3VudCBrZXkgZm9yIHRoZSB0ZXN0cyBvZiBhaWJuZXQgc3RvcmFnZQ==";
    let bad = run_env(
        &["diagnose", "--format", "json", &url],
        &[("AZURE_STORAGE_ACCOUNT_KEY", wrong)],
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let reason = bad.json()["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("403")
            && reason.contains("AZURE_STORAGE_ACCOUNT_KEY")
            && reason.contains(s),
        "{reason}"
    );
    assert!(!bad.stderr.contains(wrong) && !bad.stdout.contains(wrong));
}

#[test]
fn a_missing_container_is_a_clear_error() {
    let Some(az) = Azurite::start() else { return };
    let r = run_env(
        &["diagnose", "--format", "json", &az.url("no-such-container")],
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let reason = r.json()["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("container no-such-container not found") && reason.contains("404"),
        "{reason}"
    );
}

#[test]
fn a_second_run_with_the_cache_downloads_nothing() {
    let Some(az) = Azurite::start() else { return };
    let s = "dns-blocked";
    az.create_container(s);
    let n = az.put_tree(s, &captures(&format!("{s}/flowlogs")), |rel| {
        rel.to_string()
    }) as u64;
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("blobs");
    let url = az.url(s);
    let args = [
        "builds",
        "--format",
        "json",
        "--cache",
        dir.to_str().unwrap(),
        &url,
    ];
    let first = run_env(&args, &[]);
    assert_eq!(
        count(storage_line(&first), "downloaded"),
        n,
        "{}",
        first.stderr
    );
    let second = run_env(&args, &[]);
    let line = storage_line(&second);
    assert_eq!(count(line, "downloaded"), 0, "{line}");
    assert_eq!(count(line, "from the cache"), n, "{line}");
    assert_eq!(
        count(line, "read again"),
        count(storage_line(&first), "read again"),
        "{line}"
    );
    assert_eq!(second.stdout, first.stdout);
    let entries = support::files(&dir);
    assert_eq!(
        entries.len() as u64,
        n,
        "one entry per blob, no temporary file"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert!(entries.iter().all(|e| mode(e) == 0o600));
    }
    // A blob that changes gets a new ETag: read again, not served stale.
    let changed = support::files(&captures(&format!("{s}/flowlogs")))[0].clone();
    let rel = changed
        .strip_prefix(captures(&format!("{s}/flowlogs")))
        .unwrap()
        .to_string_lossy()
        .into_owned();
    az.put(s, &rel, std::fs::read(&changed).unwrap());
    let third = run_env(&args, &[]);
    assert_eq!(
        count(storage_line(&third), "downloaded"),
        1,
        "{}",
        third.stderr
    );
}

#[test]
fn captures_are_read_from_a_container() {
    let Some(az) = Azurite::start() else { return };
    let s = "egress-blocked";
    az.create_container("captures");
    let mut local = Vec::new();
    for f in ["proxy.pcap", "buildvm.pcap", "segment.pcap"] {
        let p = captures(&format!("{s}/{f}"));
        if p.exists() {
            az.put("captures", &format!("{s}/{f}"), std::fs::read(&p).unwrap());
            local.push(format!("captures/{s}/{f}"));
        }
    }
    assert!(!local.is_empty());
    let mut args = vec!["diagnose", "--format", "json"];
    args.extend(local.iter().map(String::as_str));
    let want = run_env(&args, &[]);
    let url = az.url(&format!("captures/{s}"));
    let got = run_env(&["diagnose", "--format", "json", &url], &[]);
    assert_eq!(got.code, want.code, "{}", got.stderr);
    assert_eq!(
        normalized(&got.stdout, &[&az.url("captures")]),
        normalized(&want.stdout, &["captures"])
    );
    // One blob named by its full path.
    let one = run_env(
        &["sessions", "--format", "json", &format!("{url}/proxy.pcap")],
        &[],
    );
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert_eq!(one.json()["inputs"].as_array().unwrap().len(), 1);
}

#[test]
fn az_urls_reach_the_emulator_from_the_environment() {
    let Some(az) = Azurite::start() else { return };
    let s = "winrm-blocked";
    az.create_container(s);
    az.put_tree(s, &captures(&format!("{s}/flowlogs")), |rel| {
        rel.to_string()
    });
    let base = format!("http://127.0.0.1:{}", az.port);
    let got = run_env(
        &["diagnose", "--format", "json", &format!("az://{s}")],
        &[
            ("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT),
            ("AZURE_STORAGE_USE_EMULATOR", "true"),
            ("AZURITE_BLOB_STORAGE_URL", &base),
        ],
    );
    let local = format!("captures/{s}/flowlogs");
    let want = run_env(&["diagnose", "--format", "json", &local], &[]);
    assert_eq!(got.code, want.code, "{}", got.stderr);
    assert_eq!(
        normalized(&got.stdout, &[&format!("az://{s}")]),
        normalized(&want.stdout, &[&local])
    );
}

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

/// A run over a storage location equals the same over the local copy
/// (exit code, and output with the locations' bases replaced).
fn assert_same(got: &Run, url: &str, want: &Run, local: &str) {
    assert_eq!(got.code, want.code, "{}", got.stderr);
    assert_eq!(
        normalized(&got.stdout, &[url]),
        normalized(&want.stdout, &[local])
    );
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

/// The VNet flow logs' container.
const VNET_CONTAINER: &str = "insights-logs-flowlogflowevent";

/// Copies of a flow-log tree in other hours, days, months and years than
/// the lab's (2026-11-27 04:00), each outside an hour's window.
const OTHER_TIMES: [(&str, &str); 4] = [
    ("/d=27/h=04/", "/d=20/h=04/"),
    ("/d=27/h=04/", "/d=27/h=10/"),
    ("/m=11/d=27/", "/m=10/d=27/"),
    ("y=2026/", "y=2025/"),
];

#[test]
fn lab_scenarios_read_from_storage_equal_the_local_run() {
    let window = [
        "--since",
        "2026-11-27T04:00:00Z",
        "--until",
        "2026-11-27T04:59:59Z",
    ];
    for s in lab_scenarios() {
        // One emulator per scenario: each holds its flow logs in the real
        // containers and layout, as Azure writes them.
        let Some(az) = Azurite::start() else { return };
        // The local run reads the window's blobs as downloaded to disk
        // (`az storage blob download-batch`: a folder per container).
        let disk = tempfile::tempdir().unwrap();
        let (mut local, mut urls, mut real) = (Vec::new(), Vec::new(), 0);
        for (family, container) in [("nsg-v2", NSG), ("vnet", VNET_CONTAINER)] {
            let dir = captures(&format!("{s}/flowlogs/{family}"));
            if !dir.is_dir() {
                continue;
            }
            az.create_container(container);
            real += az.put_tree(container, &dir, |rel| rel.to_string());
            for (from, to) in OTHER_TIMES {
                az.put_tree(container, &dir, |rel| rel.replace(from, to));
            }
            for f in common::files(&dir) {
                let to = disk
                    .path()
                    .join(container)
                    .join(f.strip_prefix(&dir).unwrap());
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(&f, &to).unwrap();
            }
            local.push(disk.path().join(container).to_string_lossy().into_owned());
            urls.push(az.url(container));
        }
        assert!(real > 0, "{s}");
        for cmd in ["diagnose", "builds"] {
            let args = |paths: &[String]| -> Vec<String> {
                let mut v: Vec<String> = [cmd, "--format", "json"]
                    .into_iter()
                    .chain(window)
                    .map(String::from)
                    .collect();
                v.extend(paths.iter().cloned());
                v
            };
            let want = run_env(&refs(&args(&local)), &[]);
            let got = run_env(&refs(&args(&urls)), &[]);
            assert_eq!(got.code, want.code, "{s} {cmd}: {}", got.stderr);
            assert_eq!(
                normalized(&got.stdout, &[&az.endpoint()]),
                normalized(&want.stdout, &[disk.path().to_str().unwrap()]),
                "{s} {cmd}"
            );
            let line = storage_line(&got);
            assert_eq!(count(line, "blobs listed"), real as u64, "{s}: {line}");
            assert_eq!(count(line, "downloaded"), real as u64, "{s}: {line}");
            assert_eq!(count(line, "failed"), 0, "{s}: {line}");
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
    for (from, to) in OTHER_TIMES {
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
    assert_same(&got, &url, &want, &local);
    let line = storage_line(&got);
    assert_eq!(count(line, "blobs listed"), real as u64, "{line}");
    assert_eq!(count(line, "downloaded"), real as u64, "{line}");
    // The build VM's blob is read again by the scan's second pass.
    assert!(count(line, "read again") <= real as u64, "{line}");
    assert!(count(line, "time folders skipped") >= 3, "{line}");
    // Azurite saw no request under another day, month or year: neither a
    // listing nor a download (the URLs of the requests, in its debug log;
    // `/` is `%2F` in a listing's prefix).
    let requests = requests_since(&az, log_before);
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
    let n = az.put_tree(s, &captures(&format!("{s}/flowlogs")), |rel| {
        rel.to_string()
    });
    let local = format!("captures/{s}/flowlogs");
    let url = az.url(s);
    let sas = az.sas("rl");
    let with_sas = format!("{url}?{sas}");
    let want = run_env(&["diagnose", "--format", "json", &local], &[]);
    let got = run_env(&["diagnose", "--format", "json", &with_sas], &[]);
    assert_same(&got, &url, &want, &local);
    let mut outputs = vec![got];
    for fmt in ["markdown", "table", "ndjson", "junit"] {
        outputs.push(run_env(&["diagnose", "--format", fmt, &with_sas], &[]));
    }
    outputs.push(run_env(&["builds", "--format", "markdown", &with_sas], &[]));
    outputs.push(run_env(&["sessions", "--format", "json", &with_sas], &[]));
    // Per-input accounting names every blob.
    let stats = run_env(
        &[
            "diagnose",
            "--format",
            "json",
            "--stats",
            "--verbose",
            &with_sas,
        ],
        &[],
    );
    assert!(
        stats.stderr.contains(&format!("{url}/")),
        "{}",
        stats.stderr
    );
    outputs.push(stats);
    for cmd in ["diagnose", "builds"] {
        let html = run_env(&[cmd, "--format", "html", &with_sas], &[]);
        assert!(html.stdout.contains(&url), "{cmd}: the blobs are named");
        outputs.push(html);
    }
    // explain's evidence, from storage.
    for fmt in ["json", "markdown"] {
        let explained = run_env(
            &[
                "explain",
                "--format",
                fmt,
                "Timeout waiting for SSH.",
                "--evidence",
                &with_sas,
            ],
            &[],
        );
        // The evidence was read from storage.
        assert!(
            explained.stdout.contains("alb_to_proxy"),
            "{}",
            explained.stdout
        );
        outputs.push(explained);
    }
    // The cache's file names.
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().join("c");
    let cached = run_env(
        &[
            "diagnose",
            "--format",
            "json",
            "--cache",
            cache_dir.to_str().unwrap(),
            &with_sas,
        ],
        &[],
    );
    assert_eq!(cached.code, want.code, "{}", cached.stderr);
    let names = common::files(&cache_dir);
    assert!(!names.is_empty());
    for n in &names {
        let n = n.to_string_lossy();
        assert!(!n.contains("sig") && !n.contains("2099"), "{n}");
    }
    outputs.push(cached);
    // The progress bar, on a terminal (util-linux `script` gives the run
    // one): it names no blob, let alone a SAS.
    #[cfg(unix)]
    if std::path::Path::new("/usr/bin/script").exists() {
        let bin = env!("CARGO_BIN_EXE_aibnet");
        let cmd = format!("{bin} diagnose --format json --concurrency 1 '{with_sas}' > /dev/null");
        let tty = std::process::Command::new("/usr/bin/script")
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(repo())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&tty.stdout).into_owned();
        assert!(
            text.contains(&format!("/{n} files")),
            "the bar was drawn:\n{text}"
        );
        outputs.push(Run {
            code: tty.status.code().unwrap_or(-1),
            stdout: text,
            stderr: String::from_utf8_lossy(&tty.stderr).into_owned(),
        });
    }
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
            && reason.contains("an account key (AZURE_STORAGE_ACCOUNT_KEY)")
            && reason.contains(&url),
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
    // Every blob's bytes once (the second pass reads the cache).
    let bytes: u64 = common::files(&captures(&format!("{s}/flowlogs")))
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert!(bytes > 1024);
    assert!(
        storage_line(&first).contains(&format!(
            "{n} downloaded ({:.1} KiB)",
            bytes as f64 / 1024.0
        )),
        "{bytes} bytes: {}",
        first.stderr
    );
    let second = run_env(&args, &[]);
    let line = storage_line(&second);
    assert!(line.contains("0 downloaded (0 B)"), "{line}");
    assert_eq!(count(line, "from the cache"), n, "{line}");
    assert_eq!(
        count(line, "read again"),
        count(storage_line(&first), "read again"),
        "{line}"
    );
    assert_eq!(second.stdout, first.stdout);
    let entries = common::files(&dir);
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
    let changed = common::files(&captures(&format!("{s}/flowlogs")))[0].clone();
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
    // Network Watcher's layout: `.cap` blobs per VM and day.
    const CONTAINER: &str = "network-watcher-logs";
    let vm_folder = |vm: &str| {
        format!(
            "subscriptions/8f2a5c1e-3b7d-4e90-a6c4-2d9e7b1f0a35/resourcegroups/it_aib-rg/providers/microsoft.compute/virtualmachines/aib-{vm}/2026/11/27"
        )
    };
    az.create_container(CONTAINER);
    // The local run reads the same blobs downloaded to disk.
    let disk = tempfile::tempdir().unwrap();
    let mut blobs = Vec::new();
    for vm in ["buildvm", "proxy", "segment"] {
        let p = captures(&format!("{s}/{vm}.pcap"));
        if p.exists() {
            let name = format!("{}/packetcapture_04_36_59_000.cap", vm_folder(vm));
            az.put(CONTAINER, &name, std::fs::read(&p).unwrap());
            let to = disk.path().join(CONTAINER).join(&name);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&p, &to).unwrap();
            blobs.push(az.url(&format!("{CONTAINER}/{name}")));
        }
    }
    assert!(blobs.len() >= 2, "{blobs:?}");
    let folder = format!(
        "{CONTAINER}/subscriptions/8f2a5c1e-3b7d-4e90-a6c4-2d9e7b1f0a35/resourcegroups/it_aib-rg/"
    );
    let local = disk.path().join(&folder);
    let want = run_env(
        &["diagnose", "--format", "json", local.to_str().unwrap()],
        &[],
    );
    let got = run_env(&["diagnose", "--format", "json", &az.url(&folder)], &[]);
    assert_eq!(got.code, want.code, "{}", got.stderr);
    assert_eq!(
        normalized(&got.stdout, &[&az.endpoint()]),
        normalized(&want.stdout, &[disk.path().to_str().unwrap()])
    );
    // The VMs' captures are told apart in the evidence.
    assert!(
        got.stdout.contains(
            "aib-buildvm/packetcapture_04_36_59_000.cap, aib-segment/packetcapture_04_36_59_000.cap"
        ),
        "{}",
        got.stdout
    );
    let line = storage_line(&got);
    assert_eq!(count(line, "downloaded"), blobs.len() as u64, "{line}");
    // One blob named by its full path.
    let one = run_env(&["sessions", "--format", "json", &blobs[0]], &[]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert_eq!(one.json()["inputs"].as_array().unwrap().len(), 1);
    assert_eq!(one.json()["inputs"][0]["format"], "pcap");
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

/// Requests Azurite logged since `from` (its debug log's length then), as
/// URLs with `/` and `=` unescaped.
fn requests_since(az: &Azurite, from: usize) -> Vec<String> {
    az.debug_log()
        .get(from..)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.split_once("RequestURL=")
                .map(|(_, u)| u.replace("%2F", "/").replace("%3D", "="))
        })
        .collect()
}

#[test]
fn nsg_mac_vnet_and_subnet_prune_the_listing() {
    let Some(az) = Azurite::start() else { return };
    let s = "proxy-to-buildvm-dropped";
    let lab = captures(&format!("{s}/flowlogs"));
    const VNET: &str = VNET_CONTAINER;
    az.create_container(NSG);
    az.create_container(VNET);
    let nsg_real = az.put_tree(NSG, &lab.join("nsg-v2"), |rel| rel.to_string());
    az.put_tree(NSG, &lab.join("nsg-v2"), |rel| {
        rel.replace("/AIB-BUILD-SUBNET-NSG/", "/OTHER-NSG/")
    });
    let vnet_real = az.put_tree(VNET, &lab.join("vnet"), |rel| rel.to_string());
    // Another VNET's flow log: its target is only in its records.
    for f in common::files(&lab.join("vnet")) {
        let rel = f
            .strip_prefix(lab.join("vnet"))
            .unwrap()
            .to_string_lossy()
            .replace("/AIB-BUILD-SUBNET-AIB-VNET-RG-FLOWLOG/", "/HUB-FLOWLOG/");
        let text = std::fs::read_to_string(&f)
            .unwrap()
            .replace("virtualNetworks/aib-vnet/", "virtualNetworks/hub-vnet/");
        az.put(VNET, &rel, text.into_bytes());
    }
    let local_nsg = format!("captures/{s}/flowlogs/nsg-v2");
    let local_vnet = format!("captures/{s}/flowlogs/vnet");

    // --nsg: the other NSG's folder is never listed or read.
    let url = az.url(NSG);
    let from = az.debug_log().len();
    let got = run_env(
        &[
            "builds",
            "--format",
            "json",
            "--nsg",
            "AIB-BUILD-SUBNET-NSG",
            &url,
        ],
        &[],
    );
    let want = run_env(&["builds", "--format", "json", &local_nsg], &[]);
    assert_same(&got, &url, &want, &local_nsg);
    let line = storage_line(&got);
    assert_eq!(count(line, "blobs listed"), nsg_real as u64, "{line}");
    assert_eq!(count(line, "downloaded"), nsg_real as u64, "{line}");
    assert!(count(line, "folders or blobs left out") >= 1, "{line}");
    let requests = requests_since(&az, from);
    assert!(
        !requests.iter().any(|u| u.contains("OTHER-NSG")),
        "{requests:#?}"
    );
    assert!(
        requests.iter().any(|u| u.contains("AIB-BUILD-SUBNET-NSG")),
        "{requests:#?}"
    );

    // --mac with a window: one NIC's blob of that hour, the other NIC's
    // never downloaded.
    let from = az.debug_log().len();
    let one = run_env(
        &[
            "sessions",
            "--format",
            "json",
            "--nsg",
            "aib-build-subnet-nsg",
            "--mac",
            "000D3A6EA404",
            "--since",
            "2026-11-27T04:00:00Z",
            "--until",
            "2026-11-27T04:59:59Z",
            &url,
        ],
        &[],
    );
    assert_eq!(one.code, 0, "{}", one.stderr);
    let line = storage_line(&one);
    assert_eq!(count(line, "blobs listed"), 1, "{line}");
    assert_eq!(count(line, "downloaded"), 1, "{line}");
    let requests = requests_since(&az, from);
    assert!(
        !requests
            .iter()
            .any(|u| u.contains("000D3A6EA406") || u.contains("OTHER-NSG")),
        "{requests:#?}"
    );
    let local_one = run_env(
        &[
            "sessions",
            "--format",
            "json",
            "--mac",
            "000D3A6EA404",
            &local_nsg,
        ],
        &[],
    );
    assert_eq!(
        normalized(&one.stdout, &[&url]),
        normalized(&local_one.stdout, &[&local_nsg])
    );

    // --vnet: the hub's flow log is read once, at its first blob's start
    // (a ranged read), and nothing under it is listed or downloaded.
    let url = az.url(VNET);
    let from = az.debug_log().len();
    let got = run_env(
        &["diagnose", "--format", "json", "--vnet", "aib-vnet", &url],
        &[],
    );
    let want = run_env(&["diagnose", "--format", "json", &local_vnet], &[]);
    assert_same(&got, &url, &want, &local_vnet);
    let line = storage_line(&got);
    assert_eq!(count(line, "blobs listed"), vnet_real as u64, "{line}");
    assert_eq!(count(line, "downloaded"), vnet_real as u64, "{line}");
    assert_eq!(
        count(line, "blob starts read for their flow log's target"),
        2,
        "{line}"
    );
    let requests = requests_since(&az, from);
    let hub: Vec<&String> = requests
        .iter()
        .filter(|u| u.contains("HUB-FLOWLOG"))
        .collect();
    assert_eq!(
        hub.len(),
        2,
        "one page of listing and one ranged read: {hub:#?}"
    );
    // --subnet (its full id: the hub's flow log logs a subnet of the same
    // name): the same blobs, the hub's never downloaded.
    let subnet = "/subscriptions/8f2a5c1e-3b7d-4e90-a6c4-2d9e7b1f0a35/resourceGroups/aib-vnet-rg/providers/Microsoft.Network/virtualNetworks/aib-vnet/subnets/aib-build-subnet";
    let from = az.debug_log().len();
    let got = run_env(
        &["diagnose", "--format", "json", "--subnet", subnet, &url],
        &[],
    );
    assert_same(&got, &url, &want, &local_vnet);
    let line = storage_line(&got);
    assert_eq!(count(line, "downloaded"), vnet_real as u64, "{line}");
    let requests = requests_since(&az, from);
    assert_eq!(
        requests
            .iter()
            .filter(|u| u.contains("HUB-FLOWLOG"))
            .count(),
        2,
        "one page of listing and one ranged read: {requests:#?}"
    );
    // By name, the hub's subnet of that name is kept too.
    let by_name = run_env(
        &[
            "diagnose",
            "--format",
            "json",
            "--subnet",
            "aib-build-subnet",
            &url,
        ],
        &[],
    );
    assert_eq!(
        count(storage_line(&by_name), "downloaded"),
        2 * vnet_real as u64,
        "{}",
        by_name.stderr
    );
    // Another VNET: no VNet flow log is downloaded.
    let none = run_env(
        &["diagnose", "--format", "json", "--vnet", "spoke", &url],
        &[],
    );
    assert_eq!(none.code, 2, "{}", none.stderr);
    let reason = none.json()["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("--vnet spoke"), "{reason}");
}

/// The scenario's flow logs uploaded to container `s`, and the relative
/// path of the first blob of `family` (`nsg-v2`, `vnet`).
fn upload_scenario(az: &Azurite, s: &str, family: &str) -> (usize, String) {
    az.create_container(s);
    let dir = captures(&format!("{s}/flowlogs"));
    let n = az.put_tree(s, &dir, |rel| rel.to_string());
    let first = common::files(&dir.join(family))[0]
        .strip_prefix(&dir)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    (n, first)
}

#[test]
fn a_blob_changed_since_listed_or_while_read_is_read_whole_as_of_its_newer_etag() {
    let Some(az) = Azurite::start() else { return };
    let s = "proxy-to-buildvm-dropped";
    // A VNet flow log's blob of two records, listed as of its first one.
    let (_, blob) = upload_scenario(&az, s, "vnet");
    let full = std::fs::read(captures(&format!("{s}/flowlogs/{blob}"))).unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&full).unwrap();
    let records = doc["records"].as_array_mut().unwrap();
    assert!(records.len() > 1);
    records.truncate(1);
    let local = format!("captures/{s}/flowlogs");
    let want = run_env(&["diagnose", "--format", "json", &local], &[]);
    // The rest of the hour is appended before its download (the first
    // download asked for the listed ETag with If-Match and was refused:
    // 412), or while it is read (the connection cut after 100 bytes, the
    // resumption at the old ETag refused): either way it is read again.
    for (fault, cache, requests) in [
        (support::Fault::ChangeFirst, false, 2),
        (support::Fault::CutAndChange, false, 3),
        (support::Fault::CutAndChange, true, 3),
    ] {
        az.put(s, &blob, serde_json::to_vec(&doc).unwrap());
        let proxy = support::FaultProxy::start(&az, s, &blob, fault, full.clone());
        let url = proxy.url(s);
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["diagnose", "--format", "json"];
        if cache {
            args.extend(["--cache", dir.path().to_str().unwrap()]);
        }
        args.push(&url);
        let got = run_env(&args, &[]);
        // The whole blob is read, as of its newer ETag.
        assert_same(&got, &url, &want, &local);
        let line = storage_line(&got);
        assert_eq!(count(line, "blobs changed since listed"), 1, "{line}");
        assert_eq!(count(line, "failed"), 0, "{line}");
        assert!(proxy.count(&blob) >= requests, "{:#?}", proxy.seen);
        if cache {
            // Every entry is a whole blob of the hour (the one that changed
            // as of its newer ETag); nothing cut is kept.
            let blobs: Vec<Vec<u8>> = common::files(&captures(&format!("{s}/flowlogs")))
                .iter()
                .map(|f| std::fs::read(f).unwrap())
                .collect();
            let entries = common::files(dir.path());
            assert_eq!(entries.len(), blobs.len(), "{entries:?}");
            for e in &entries {
                assert!(blobs.contains(&std::fs::read(e).unwrap()), "{e:?}");
            }
        }
    }
}

/// The reason a run's `skipped` gives for the blob whose path ends with
/// `blob`.
fn skipped_reason(got: &Run, blob: &str) -> String {
    let json = got.json();
    let sk = json["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["path"].as_str().unwrap().ends_with(blob))
        .unwrap_or_else(|| panic!("{json:#}\n{}", got.stderr))
        .clone();
    sk["reason"].as_str().unwrap().to_string()
}

#[cfg(unix)]
#[test]
fn an_interrupted_download_leaves_no_cache_entry() {
    interrupted_in_a_download("-INT");
}

#[cfg(unix)]
#[test]
fn a_killed_download_leaves_no_cache_entry() {
    interrupted_in_a_download("-KILL");
}

/// A run with `--cache` sent `signal` (`kill` option) while a blob's
/// download stalls half-way: every cache entry is a whole blob, and the
/// next run downloads only the missing ones and removes the leftover.
#[cfg(unix)]
fn interrupted_in_a_download(signal: &str) {
    let Some(az) = Azurite::start() else { return };
    let s = "healthy-linux";
    let (n, blob) = upload_scenario(&az, s, "nsg-v2");
    let proxy = support::FaultProxy::start(&az, s, &blob, support::Fault::Stall, Vec::new());
    let url = proxy.url(s);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let args = [
        "builds",
        "--format",
        "json",
        "--cache",
        dir.to_str().unwrap(),
        &url,
    ];
    let mut cmd = common::aibnet();
    // The stall outlasts the wait below (a timeout would end it: the
    // retry is served whole).
    cmd.current_dir(repo())
        .args(args)
        .args(["--storage-timeout", "10m"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE") {
            cmd.env_remove(k);
        }
    }
    // A shell that started this suite in the background (`cmd &`) left
    // SIGINT ignored, and an ignored signal stays ignored across exec: give
    // the run the default action a terminal's Ctrl-C meets.
    // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    // The stalled blob's temporary file holds its first bytes: Ctrl-C now
    // (waiting up to two minutes on a loaded machine).
    let partial = (0..1200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::fs::read_dir(&dir).is_ok_and(|rd| {
            rd.flatten().any(|e| {
                e.file_name().to_string_lossy().starts_with(".tmp-")
                    && e.metadata().is_ok_and(|m| m.len() > 0)
            })
        })
    });
    assert!(partial, "no partial download appeared");
    let killed = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(!status.success(), "interrupted");
    // Every entry is a whole blob; the stalled one has none.
    let blobs: Vec<Vec<u8>> = common::files(&captures(&format!("{s}/flowlogs")))
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    let stalled = std::fs::read(captures(&format!("{s}/flowlogs/{blob}"))).unwrap();
    let mut entries = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with(".tmp-") {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap();
        assert!(
            blobs.contains(&bytes),
            "{} is not a whole blob",
            e.path().display()
        );
        assert_ne!(bytes, stalled);
        entries += 1;
    }
    // The next run downloads only what is missing, and clears the leftover.
    let again = run_env(&args, &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let line = storage_line(&again);
    assert_eq!(count(line, "from the cache"), entries as u64, "{line}");
    assert_eq!(count(line, "downloaded") as usize, n - entries, "{line}");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), n, "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with(".tmp-")), "{names:?}");
}

#[test]
fn a_large_capture_without_cache_streams_to_a_temporary_file() {
    let Some(az) = Azurite::start() else { return };
    // A capture over 32 MiB: the lab's proxy capture, its packets repeated.
    let pcap = std::fs::read(captures("healthy-linux/proxy.pcap")).unwrap();
    let (head, packets) = pcap.split_at(24);
    let mut big = head.to_vec();
    while big.len() < 40 << 20 {
        big.extend_from_slice(packets);
    }
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("big.pcap");
    std::fs::write(&local, &big).unwrap();
    az.create_container("captures");
    az.put("captures", "big.pcap", big);
    let url = az.url("captures/big.pcap");
    let downloads = tmp.path().join("tmp");
    std::fs::create_dir(&downloads).unwrap();
    let tmpdir = downloads.to_str().unwrap();
    // --max-gunzip bounds what is held in memory: a blob held whole would
    // be refused; streamed to a file it is read as the local copy is.
    let args =
        |p: &str| ["sessions", "--format", "json", "--max-gunzip", "1M", p].map(String::from);
    let want = run_env(&refs(&args(local.to_str().unwrap())), &[]);
    let got = run_env(&refs(&args(&url)), &[("TMPDIR", tmpdir)]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(
        normalized(&got.stdout, &[&url]),
        normalized(&want.stdout, &[local.to_str().unwrap()])
    );
    let line = storage_line(&got);
    assert_eq!(count(line, "downloaded"), 1, "{line}");
    assert!(line.contains("1 downloaded (40.0 MiB)"), "{line}");
    // Nothing is left behind.
    let left: Vec<_> = common::files(&downloads);
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn throttling_server_errors_and_timeouts_are_retried_then_skipped_by_name() {
    use support::Fault;
    let Some(az) = Azurite::start() else { return };
    let s = "dns-blocked";
    let (_, blob) = upload_scenario(&az, s, "nsg-v2");
    let local = format!("captures/{s}/flowlogs");
    let want = run_env(&["diagnose", "--format", "json", &local], &[]);
    // (a fault that passes, the same for ever, the run's flags, what the
    // skipped blob's reason says, the fewest requests for it when it fails)
    let cases = [
        (
            Fault::Busy(2),
            Fault::Busy(usize::MAX),
            "--storage-timeout=60s",
            "503 (busy, throttling) through every retry",
            // object_store's 5 retries.
            6,
        ),
        (
            Fault::ServerError(2),
            Fault::ServerError(usize::MAX),
            "--storage-timeout=60s",
            "500 (server error) through every retry",
            6,
        ),
        // No answer at all: the request times out (after the flag's time,
        // not the proxy's two minutes) and is retried.
        (
            Fault::Hang(1),
            Fault::Hang(usize::MAX),
            "--storage-timeout=2s",
            "no answer within --storage-timeout through every retry",
            2,
        ),
    ];
    for (passing, failing, timeout, why, tries) in cases {
        // Refused, then served: the run equals the local one and says it
        // retried.
        let proxy = support::FaultProxy::start(&az, s, &blob, passing, Vec::new());
        let url = proxy.url(s);
        let got = run_env(&["diagnose", "--format", "json", timeout, &url], &[]);
        assert_same(&got, &url, &want, &local);
        let line = storage_line(&got);
        let refused = match passing {
            Fault::Busy(n) | Fault::ServerError(n) | Fault::Hang(n) => n,
            _ => unreachable!(),
        };
        assert!(
            count(line, "requests retried") >= refused as u64,
            "{passing:?}: {line}"
        );
        assert_eq!(count(line, "failed"), 0, "{passing:?}: {line}");
        assert!(proxy.count(&blob) > refused, "{:#?}", proxy.seen);
        drop(proxy);

        // Refused through every retry: that blob is skipped, named, and
        // the rest is analysed.
        let proxy = support::FaultProxy::start(&az, s, &blob, failing, Vec::new());
        let url = proxy.url(s);
        let got = run_env(&["diagnose", "--format", "json", timeout, &url], &[]);
        let reason = skipped_reason(&got, &blob);
        assert!(
            reason.contains(&format!("blob {url}/{blob}")) && reason.contains(why),
            "{failing:?}: {reason}"
        );
        assert!(
            got.json()["inputs"].as_array().unwrap().len() > 1,
            "the other blobs are read"
        );
        assert!(count(storage_line(&got), "failed") >= 1, "{}", got.stderr);
        assert!(proxy.count(&blob) >= tries, "{:#?}", proxy.seen);
    }
}

#[test]
fn a_blob_gone_since_listed_is_a_404_naming_it() {
    let Some(az) = Azurite::start() else { return };
    let s = "healthy-linux";
    let (n, blob) = upload_scenario(&az, s, "nsg-v2");
    let proxy = support::FaultProxy::start(&az, s, &blob, support::Fault::Gone, Vec::new());
    let url = proxy.url(s);
    let got = run_env(&["diagnose", "--format", "json", &url], &[]);
    let json = got.json();
    let skipped = json["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:#?}");
    let path = skipped[0]["path"].as_str().unwrap();
    assert_eq!(path, format!("{url}/{blob}"));
    let reason = skipped[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("not found (404)") && reason.contains(path),
        "{reason}"
    );
    // The rest is analysed.
    let read: Vec<&serde_json::Value> = json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["path"] != path && i["error"].is_null())
        .collect();
    assert_eq!(read.len(), n - 1, "{json:#}");
    let line = storage_line(&got);
    assert_eq!(count(line, "failed"), 1, "{line}");
}

#[test]
fn downloads_run_in_parallel_up_to_the_concurrency() {
    let Some(az) = Azurite::start() else { return };
    let s = "proxy-to-buildvm-dropped";
    let (real, other) = nsg_with_other_days(&az, s);
    let n = (real + other) as u64;
    // Every download held 150 ms by the proxy: how many are in flight at
    // once is what the client allows.
    let proxy = support::FaultProxy::start(
        &az,
        NSG,
        "PT1H.json",
        support::Fault::Delay(150),
        Vec::new(),
    );
    let url = proxy.url(NSG);
    let mut outputs = Vec::new();
    for (concurrency, low, high) in [("1", 1, 1), ("3", 2, 3), ("16", 4, 16)] {
        proxy.peak.store(0, std::sync::atomic::Ordering::SeqCst);
        let got = run_env(
            &[
                "builds",
                "--format",
                "json",
                "--concurrency",
                concurrency,
                &url,
            ],
            &[],
        );
        assert_eq!(count(storage_line(&got), "downloaded"), n, "{}", got.stderr);
        assert_eq!(count(storage_line(&got), "failed"), 0, "{}", got.stderr);
        let peak = proxy.peak.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            (low..=high).contains(&peak),
            "--concurrency {concurrency}: {peak} downloads in flight at once"
        );
        outputs.push((got.code, got.stdout));
    }
    // The same result at any concurrency.
    assert!(outputs.windows(2).all(|w| w[0] == w[1]));
}

/// The fake `az` of the Azure CLI credential: prints a token as
/// `az account get-access-token --output json` does, and notes its call.
#[cfg(unix)]
fn fake_az(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let az = dir.join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nprintf '%s' '{{\"accessToken\":\"{}\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"subscription\":\"x\",\"tenant\":\"t\",\"tokenType\":\"Bearer\"}}'\n",
            dir.join("az-calls").display(),
            support::FAKE_TOKEN
        ),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[test]
fn entra_credentials_fetch_a_token_and_are_named() {
    let Some(az) = Azurite::start() else { return };
    let s = "healthy-linux";
    upload_scenario(&az, s, "nsg-v2");
    let tokens = support::TokenServer::start();
    let authority = format!("http://127.0.0.1:{}", tokens.port);
    let bin = tempfile::tempdir().unwrap();
    fake_az(bin.path());
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let federated = bin.path().join("federated-token");
    std::fs::write(&federated, "federated.jwt.assertion").unwrap();
    let imds = format!("{authority}/metadata/identity/oauth2/token");
    // (the credential as named, its environment, the token request it makes)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "a service principal",
            vec![
                ("AZURE_CLIENT_ID", "app-id"),
                ("AZURE_TENANT_ID", "tenant-id"),
                ("AZURE_CLIENT_SECRET", "app-secret"),
                ("AZURE_AUTHORITY_HOST", &authority),
            ],
            "POST /tenant-id/oauth2/v2.0/token",
        ),
        (
            "workload identity",
            vec![
                ("AZURE_CLIENT_ID", "app-id"),
                ("AZURE_TENANT_ID", "tenant-id"),
                ("AZURE_FEDERATED_TOKEN_FILE", federated.to_str().unwrap()),
                ("AZURE_AUTHORITY_HOST", &authority),
            ],
            "client_assertion=federated.jwt.assertion",
        ),
        (
            "the Azure CLI's login",
            vec![("AZURE_USE_AZURE_CLI", "true"), ("PATH", &path)],
            "",
        ),
        (
            "the machine's managed identity",
            vec![("AZURE_MSI_ENDPOINT", &imds)],
            "GET /metadata/identity/oauth2/token",
        ),
    ];
    for (name, env, token_request) in cases {
        // Azurite takes no Entra ID token over HTTP: the proxy answers as
        // Azure does to a token without a data role on the account (403).
        let proxy = support::FaultProxy::start(&az, s, "none", support::Fault::Deny, Vec::new());
        // The emulator's account name would choose its key before the
        // managed identity: another account, as a real one would be.
        let url = format!("http://127.0.0.1:{}/stacct/{s}", proxy.port);
        let before = tokens.requests().len();
        let got = run_env(&["diagnose", "--format", "json", &url], &env);
        // The token was fetched the credential's way...
        let new: Vec<String> = tokens.requests()[before..].to_vec();
        if token_request.is_empty() {
            assert!(new.is_empty(), "{name}: {new:#?}");
            let calls = std::fs::read_to_string(bin.path().join("az-calls")).unwrap();
            assert!(
                calls.contains("account get-access-token --output json --scope https://storage.azure.com/.default"),
                "{calls}"
            );
        } else {
            assert_eq!(new.len(), 1, "{name}: {new:#?}");
            assert!(new[0].contains(token_request), "{name}: {new:#?}");
        }
        // ...and sent with the storage request...
        let heads = proxy.heads.lock().unwrap().clone();
        assert!(!heads.is_empty());
        for h in &heads {
            assert!(
                h.to_ascii_lowercase()
                    .contains(&format!("authorization: bearer {}", support::FAKE_TOKEN)),
                "{name}: {h}"
            );
        }
        // ...and the refusal names the location and the credential.
        assert_eq!(got.code, 2, "{name}: {}", got.stderr);
        let reason = got.json()["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            reason.contains("access denied (403)")
                && reason.contains(&url)
                && reason.contains(&format!("with {name}")),
            "{name}: {reason}"
        );
        for secret in ["app-secret", "federated.jwt.assertion", support::FAKE_TOKEN] {
            assert!(
                !got.stdout.contains(secret) && !got.stderr.contains(secret),
                "{name}: {secret} shown"
            );
        }
    }
    // No token at all (no `az` on PATH): said so, not as a refusal.
    let url = az.url(s);
    let got = run_env(
        &["diagnose", "--format", "json", &url],
        &[("AZURE_USE_AZURE_CLI", "true"), ("PATH", "/nonexistent")],
    );
    assert_eq!(got.code, 2, "{}", got.stderr);
    let reason = got.json()["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    // The emulator's port may hold "403" itself: look past the host.
    let host = url.split('/').nth(2).unwrap_or_default();
    assert!(
        reason.contains("could not get a token with the Azure CLI's login")
            && reason.contains("az account get-access-token")
            && !reason.replace(host, "").contains("403"),
        "{reason}"
    );
}

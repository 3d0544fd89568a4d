//! `aibnet check` as a user runs it: exit codes, formats, skipped inputs.

use crate::common::{Run, aibnet, config_fixture, finish, run_at_root};

/// `aibnet check ARGS FIXTURES...` (fixtures of `captures/config/`).
fn check(args: &[&str], files: &[&str]) -> Run {
    finish(
        aibnet()
            .arg("check")
            .args(args)
            .args(files.iter().map(|f| config_fixture(f))),
    )
}

const QUICKSTART: [&str; 4] = [
    "template-linux.json",
    "subnet-build.json",
    "vnet.json",
    "nsg-denyall-quickstart.json",
];

#[test]
fn table_shows_the_blocking_rule_and_fix_and_exits_1() {
    let o = check(&[], &QUICKSTART);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let out = &o.stdout;
    assert!(
        out.starts_with("aibnet check: BLOCKED (proxy topology, Linux)"),
        "{out}"
    );
    // The flow table: ALB → proxy denied by DenyAll-Inbound, priority 1000.
    let alb = out
        .lines()
        .find(|l| l.contains("Private Link NAT → proxy VM :60001"))
        .expect("ALB row");
    assert!(
        alb.contains("deny") && alb.contains("DenyAll-Inbound") && alb.contains("1000"),
        "{alb}"
    );
    let probe = out
        .lines()
        .find(|l| l.contains("168.63.129.16 → proxy VM :60001"))
        .expect("probe row");
    assert!(
        probe.contains("allow")
            && probe.contains("AzureImageBuilderNsgRule")
            && probe.contains("400"),
        "{probe}"
    );
    assert!(
        out.contains("ERROR [nsg_rule_blocks_hop] alb_to_proxy"),
        "{out}"
    );
    assert!(
        out.contains(
            "az network nsg rule create --resource-group aib-net-rg --nsg-name aib-build-nsg"
        ),
        "{out}"
    );
    // Not a terminal: no colours.
    assert!(!out.contains('\x1b'), "ANSI escapes in piped output");
}

/// The whole table report of the quickstart scene (deny-all at 1000 with the
/// quickstart's AzureLoadBalancer rule), against a reviewed snapshot: every
/// flow row, both findings with their evidence, cause and `az` fix, and the
/// inputs. The table is not a contract: a deliberate change updates the
/// snapshot after review (`INSTA_UPDATE=always`, then read the diff).
#[test]
fn table_report_of_the_quickstart_scene() {
    let out = run_at_root(
        ["check", "--format", "table"]
            .into_iter()
            .map(String::from)
            .chain(QUICKSTART.map(|f| format!("captures/config/{f}"))),
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!("check_table_quickstart", out.stdout);
}

#[test]
fn json_has_the_documented_shape() {
    let o = check(&["--format", "json"], &QUICKSTART);
    assert_eq!(o.code, 1);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("JSON");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["verdict"], "blocked");
    let flows = v["flows"].as_array().unwrap();
    // probe, ALB, proxy→build (out + in), egress 80 + 443, DNS, proxy egress (advisory)
    assert_eq!(flows.len(), 8, "{flows:#?}");
    for key in [
        "hop", "src", "dst", "proto", "port", "verdict", "nsg", "rule", "priority",
    ] {
        assert!(
            flows.iter().all(|f| f.get(key).is_some()),
            "every flow row has {key}"
        );
    }
    let alb = flows.iter().find(|f| f["hop"] == "alb_to_proxy").unwrap();
    assert_eq!(
        (
            &alb["verdict"],
            &alb["nsg"],
            &alb["rule"],
            &alb["priority"],
            &alb["port"],
            &alb["proto"]
        ),
        (
            &serde_json::json!("deny"),
            &serde_json::json!("aib-build-nsg"),
            &serde_json::json!("DenyAll-Inbound"),
            &serde_json::json!(1000),
            &serde_json::json!(60001),
            &serde_json::json!("Tcp")
        )
    );
    let hop = v["hops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hop"] == "alb_to_proxy")
        .unwrap();
    assert_eq!(
        (&hop["status"], &hop["port"]),
        (&serde_json::json!("blocked"), &serde_json::json!(60001))
    );
    let f = v["findings"].as_array().unwrap();
    assert!(f.iter().any(|f| f["id"] == "nsg_rule_blocks_hop"
        && f["severity"] == "error"
        && f["hop"] == "alb_to_proxy"));
    assert_eq!(v["inputs"].as_array().unwrap().len(), 4);
    assert_eq!(v["skipped"].as_array().unwrap().len(), 0);
}

#[test]
fn healthy_configuration_exits_0() {
    let o = check(
        &["--format", "markdown"],
        &[
            "template-linux.json",
            "subnet-build.json",
            "vnet.json",
            "nsg-default-only.json",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    let out = &o.stdout;
    assert!(
        out.contains("## aibnet check: every required flow is allowed"),
        "{out}"
    );
    assert!(out.contains("| hop | flow |"));
    assert!(out.contains("### Findings\n\nNone."), "{out}");
}

#[test]
fn flags_choose_addresses_and_os() {
    let files = [
        "template-linux.json",
        "subnet-build.json",
        "vnet.json",
        "nsg-partial-prefix.json",
    ];
    assert_eq!(check(&[], &files).code, 0, "undecided is not a failure");
    let low = check(&["--proxy", "10.20.1.4", "--format", "json"], &files);
    assert_eq!(low.code, 1);
    let high = check(
        &["--proxy", "10.20.1.200", "--build-vm", "10.20.1.201"],
        &files,
    );
    assert_eq!(high.code, 0);
    let win = check(&["--os", "windows", "--format", "json"], &files);
    let v: serde_json::Value = serde_json::from_str(&win.stdout).unwrap();
    assert_eq!(v["os"], "windows");
    assert!(
        v["flows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["port"] == 5986)
    );
}

#[test]
fn directory_of_mixed_inputs_with_junk() {
    let dir = tempfile::tempdir().unwrap();
    for f in QUICKSTART {
        std::fs::copy(config_fixture(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(dir.path().join("notes.json"), b"{\"hello\": \"world\"}").unwrap();
    std::fs::write(dir.path().join("broken.json"), b"{\"securityRules\": [").unwrap();
    let o = finish(aibnet().args(["check", "--format", "json"]).arg(dir.path()));
    assert_eq!(o.code, 1, "{}", o.stderr);
    let err = &o.stderr;
    assert!(
        err.contains("skipped") && err.contains("notes.json"),
        "{err}"
    );
    assert!(
        err.contains("broken.json") && err.contains("not JSON"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["skipped"].as_array().unwrap().len(), 2);
    assert_eq!(v["inputs"].as_array().unwrap().len(), 4);
}

#[test]
fn no_usable_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, b"[1, 2, 3]").unwrap();
    let o = finish(aibnet().arg("check").arg(&junk));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("no usable input"), "{}", o.stderr);
    assert!(o.stdout.is_empty());
    let missing = finish(aibnet().args(["check", "/nonexistent/x.json"]));
    assert_eq!(missing.code, 2);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["check"],
        vec!["check", "--os", "beos", "x.json"],
        vec!["check", "--proxy", "10.0.0.999", "x.json"],
    ] {
        let o = finish(aibnet().args(&args));
        assert_eq!(o.code, 2, "{args:?}");
    }
}

#[test]
fn a_storage_url_is_refused_by_name_without_its_sas() {
    let url = "https://acct.blob.core.windows.net/config/nsg.json?sv=2022&sp=rl&sig=SECRET%3D";
    let mut files: Vec<String> = QUICKSTART
        .iter()
        .map(|f| config_fixture(f).to_string_lossy().into_owned())
        .collect();
    files.push(url.to_string());
    let o = finish(aibnet().args(["check", "--format", "json"]).args(&files));
    // The local configuration is still evaluated.
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "skipped https://acct.blob.core.windows.net/config/nsg.json?[redacted]: check reads local JSON files only"
        ),
        "{}",
        o.stderr
    );
    for text in [&o.stdout, &o.stderr] {
        assert!(!text.contains("SECRET"), "{text}");
    }
}

//! `aibnet explain` end to end: the fixture logs under `captures/errors/`
//! (texts in real log noise), the collection plan filled from the text and
//! the flags, the output formats and the exit codes.

use serde_json::Value;

use crate::common::{self, Run, captures, error_fixture, repo, run_at_root};

fn fixture(name: &str) -> String {
    error_fixture(name).display().to_string()
}

/// `aibnet explain ARGS...`.
fn explain(args: &[&str]) -> Run {
    common::run(["explain"].iter().chain(args))
}

/// `aibnet explain ARGS...` with `input` on standard input.
fn explain_stdin(args: &[&str], input: &[u8]) -> Run {
    common::run_stdin(["explain"].iter().chain(args), input)
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = explain(&all);
    (out.code, out.json())
}

fn commands(v: &Value) -> Vec<String> {
    v["collect"]
        .as_array()
        .expect("collect")
        .iter()
        .map(|s| s["command"].as_str().expect("command").to_string())
        .collect()
}

// ---- fixtures: texts in log noise -------------------------------------------

#[test]
fn windows_proxy_log_in_noise() {
    let (code, v) = json(&[&fixture("f1-windows-proxyconnect.customization.log")]);
    assert_eq!(code, 0);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["recognised"], true);
    let m = &v["matches"][0];
    assert_eq!(m["class"], "proxy_command_channel_blocked");
    assert_eq!(m["ref"], "F1");
    assert_eq!(m["hop"], "alb_to_proxy");
    assert_eq!(m["finding_ids"][0], "alb_to_proxy_blocked");
    assert_eq!(v["matches"][1]["class"], "health_probe_blocked");
    let x = &m["extracted"];
    assert_eq!(x["build_vm_ip"], "10.40.8.5");
    assert_eq!(x["private_endpoint_ip"], "10.241.17.4");
    assert_eq!(x["port"], 60000);
    assert_eq!(x["os"], "windows");
    assert_eq!(x["build_vm_nic"], "pkrnik3q8zt1m4x");
    assert_eq!(x["template"], "win2022-golden");
    assert_eq!(x["resource_group"], "rg-images");
    assert_eq!(x["location"], "northeurope");
    assert_eq!(x["operation_id"], "3f2c9a71-5d4e-4b8a-9e61-0c7d2b4a1f90");
    assert_eq!(x["first_seen"], "2024-05-14T09:58:02Z");
    assert_eq!(x["last_seen"], "2024-05-14T10:31:40Z");
    // The excerpt is read as a build: the timeout is the point of failure,
    // the last proxyconnect attempt its cause, each cited by its line.
    assert_eq!(v["point_of_failure"]["line"], 16);
    assert_eq!(v["point_of_failure"]["rule"], "communicator_timeout");
    assert_eq!(v["network"], true);
    let ev = &m["evidence"];
    assert_eq!(ev[0]["line"], 16);
    assert_eq!(ev[0]["signal"], "point_of_failure");
    assert_eq!(ev[1]["line"], 15);
    assert!(ev[1]["text"].as_str().unwrap().contains("proxyconnect tcp"));
    assert_eq!(m["occurrences"].as_u64().map(|n| n >= 3), Some(true));

    let cmds = commands(&v);
    // Flow-log hours 09 and 10 of that day, for both containers.
    for h in ["h=09", "h=10"] {
        assert!(
            cmds.iter().any(
                |c| c.contains("insights-logs-networksecuritygroupflowevent")
                    && c.contains(&format!("/y=2024/m=05/d=14/{h}/*'"))
            ),
            "{h}: {cmds:#?}"
        );
        assert!(
            cmds.iter()
                .any(|c| c.contains("insights-logs-flowlogflowevent")
                    && c.contains(&format!("'flowLogResourceID=/*/y=2024/m=05/d=14/{h}/*'")))
        );
    }
    assert!(
        !cmds
            .iter()
            .any(|c| c.contains("h=08") || c.contains("h=11"))
    );
    // Capture on the proxy VM with the AIB ports; the build VM is not suspected.
    assert!(cmds.iter().any(|c| c.contains("packet-capture create")
        && c.contains("--vm <PROXY_VM_NAME>")
        && c.contains(r#""localPort":"60000-60001""#)
        && c.contains(r#""remotePort":"22;5986""#)));
    assert!(cmds.iter().any(|c| {
        c.contains("az image builder show --resource-group rg-images --name win2022-golden")
    }));
    assert!(cmds.iter().any(|c| c.contains("az network nic list-effective-nsg --resource-group IT_rg-images_win2022-golden_8d1e4c2a-77b0-4f3e-a1c5-9b2d6e0f4a13 --name <PROXY_VM_NIC>")));
    let placeholders: Vec<&str> = v["placeholders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(placeholders.contains(&"<PROXY_VM_NIC>"));
    assert!(!placeholders.contains(&"<TEMPLATE_NAME>"));
}

#[test]
fn linux_bastion_log_in_noise() {
    let (code, v) = json(&[&fixture("f1-linux-bastion.customization.log")]);
    assert_eq!(code, 0);
    assert_eq!(v["matches"][0]["class"], "proxy_command_channel_blocked");
    assert_eq!(v["matches"][0]["extracted"]["port"], 60001);
    assert_eq!(v["matches"][0]["extracted"]["os"], "linux");
}

#[test]
fn other_fixtures_rank_their_class_first() {
    for (file, class, hop) in [
        (
            "f3-windows-context-deadline.customization.log",
            "proxy_to_build_vm_blocked",
            "proxy_to_build_vm",
        ),
        (
            "f4-isolated-direct-ssh.customization.log",
            "aci_to_build_vm_blocked",
            "aci_to_build_vm",
        ),
        (
            "f15-session-interrupted.customization.log",
            "build_session_interrupted",
            "proxy_to_build_vm",
        ),
        (
            "f10-policy.customization.log",
            "azure_policy_denied",
            "deployment",
        ),
        (
            "f6-pls-arm-error.json",
            "pls_network_policies_enabled",
            "deployment",
        ),
    ] {
        let (code, v) = json(&[&fixture(file)]);
        assert_eq!(code, 0, "{file}");
        assert_eq!(v["matches"][0]["class"], class, "{file}");
        assert_eq!(v["matches"][0]["hop"], hop, "{file}");
    }
}

#[test]
fn apt_log_suspects_the_build_vm_egress_and_dns() {
    let (_, v) = json(&[&fixture("f14-apt-dns.customization.log")]);
    let top: Vec<&str> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|m| m["class"].as_str().unwrap())
        .collect();
    assert!(
        top.contains(&"build_vm_dns_failing") && top.contains(&"build_vm_egress_blocked"),
        "{top:?}"
    );
    let x = &v["matches"][0]["extracted"];
    assert_eq!(
        x["egress_destinations"],
        serde_json::json!(["azure.archive.ubuntu.com:80", "packages.microsoft.com:443"])
    );
    let cmds = commands(&v);
    // Build VM capture with egress ports, and its effective routes; no proxy capture.
    assert!(
        cmds.iter()
            .any(|c| c.contains("--name aib-build")
                && c.contains(r#""remotePort":"53;80;443;1688""#))
    );
    assert!(
        cmds.iter()
            .any(|c| c.contains("show-effective-route-table"))
    );
    assert!(!cmds.iter().any(|c| c.contains("--name aib-proxy")));
}

#[test]
fn policy_failure_gets_no_traffic_evidence() {
    let (_, v) = json(&[&fixture("f10-policy.customization.log")]);
    assert_eq!(v["matches"][0]["finding_ids"], serde_json::json!([]));
    let cmds = commands(&v);
    assert!(cmds.iter().any(|c| c.starts_with("az policy state list")));
    assert!(
        !cmds
            .iter()
            .any(|c| c.contains("download-batch") || c.contains("packet-capture"))
    );
}

#[test]
fn az_show_json_fills_the_plan() {
    let (code, v) = json(&[&fixture("f13-az-image-builder-show.json")]);
    assert_eq!(code, 0);
    let m = &v["matches"][0];
    assert_eq!(m["class"], "packer_build_failed");
    assert_eq!(m["hop"], Value::Null);
    // A run status: the message is the point of failure, cited by its line
    // in the document.
    assert_eq!(v["read_as"], "run_status");
    assert_eq!(v["outcome"], "failed");
    assert_eq!(v["network"], false);
    let pof_line = v["point_of_failure"]["line"].as_u64().expect("line");
    let doc = std::fs::read_to_string(fixture("f13-az-image-builder-show.json")).expect("fixture");
    assert!(
        doc.lines()
            .nth(pof_line as usize - 1)
            .is_some_and(|l| l.contains("\"message\""))
    );
    assert_eq!(m["evidence"][0]["line"], pof_line);
    let x = &m["extracted"];
    assert_eq!(x["template"], "ubuntu2204-base");
    assert_eq!(x["resource_group"], "rg-golden");
    assert_eq!(x["vnet"], "vnet-spoke-aib");
    assert_eq!(x["subnet"], "snet-build");
    assert_eq!(
        x["staging_resource_group"],
        "IT_rg-golden_ubuntu2204-base_3c2b1a09-8f7e-4d6c-b5a4-93827160a5b4"
    );
    assert_eq!(x["time_source"], "lastRunStatus");
    assert_eq!(v["window"]["from"], "2024-10-07T08:07:03Z");
    let cmds = commands(&v);
    assert!(cmds.iter().any(|c| c == "az storage blob download --account-name q8w7e6r5t4y3u2i1 --container-name packerlogs --name 3c2b1a09-8f7e-4d6c-b5a4-93827160a5b4/customization.log --file ./aib-evidence/customization.log --auth-mode login --subscription 6c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"), "{cmds:#?}");
    assert!(
        cmds.iter()
            .any(|c| c == "aibnet explain ./aib-evidence/customization.log")
    );
    assert!(cmds.iter().any(|c| c.contains("az network vnet subnet show --resource-group rg-network --vnet-name vnet-spoke-aib --name snet-build")));
}

// ---- flags fill the plan ------------------------------------------------------

#[test]
fn flags_fill_names_and_hours() {
    let (code, v) = json(&[
        "Error connecting to bastion: dial tcp 10.241.0.5:60001: i/o timeout",
        "--nsg",
        "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/sec-rg/providers/Microsoft.Network/networkSecurityGroups/nsg-aib",
        "--storage-account",
        "stflowlogs01",
        "--container",
        "insights-logs-networksecuritygroupflowevent",
        "--at",
        "2024-12-31T23:30:00+01:00",
        "--resource-group",
        "rg-img",
        "--template",
        "tpl",
        "--location",
        "westeurope",
    ]);
    assert_eq!(code, 0);
    assert_eq!(v["window"]["from"], "2024-12-31T21:30:00Z");
    assert_eq!(v["window"]["to"], "2024-12-31T22:35:00Z");
    let cmds = commands(&v);
    let batches: Vec<&String> = cmds
        .iter()
        .filter(|c| c.contains("download-batch") && c.contains("insights-logs"))
        .collect();
    assert_eq!(batches.len(), 2, "{batches:#?}");
    for (c, h) in batches.iter().zip(["21", "22"]) {
        assert_eq!(
            **c,
            format!(
                "az storage blob download-batch --account-name stflowlogs01 --source insights-logs-networksecuritygroupflowevent --destination ./aib-evidence/flowlogs --pattern 'resourceId=/SUBSCRIPTIONS/0B1F6471-1BF0-4DDA-AEC3-CB9272F09590/RESOURCEGROUPS/SEC-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG-AIB/y=2024/m=12/d=31/h={h}/*' --auth-mode login --subscription 0b1f6471-1bf0-4dda-aec3-cb9272f09590"
            )
        );
    }
    assert!(cmds.iter().any(|c| c == "az network nsg show --resource-group sec-rg --name nsg-aib --subscription 0b1f6471-1bf0-4dda-aec3-cb9272f09590 --output json > ./aib-evidence/config/nsg.json"));
    assert!(
        cmds.iter().any(
            |c| c.contains("--storage-account \"$(az storage account show --name stflowlogs01")
        )
    );
    assert!(
        cmds.iter()
            .any(|c| c.contains("packet-capture stop --location westeurope --name aib-proxy"))
    );
    // The fix is filled with the NSG too.
    assert!(
        v["matches"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("--resource-group sec-rg --nsg-name nsg-aib")
    );
    // A known flow-log account needs no flow-log listing.
    assert!(!cmds.iter().any(|c| c.contains("flow-log list")));
}

#[test]
fn since_until_cross_midnight() {
    let (_, v) = json(&[
        "Timeout waiting for SSH.",
        "--since",
        "2024-02-28T23:10:00Z",
        "--until",
        "2024-02-29T00:20:00Z",
        "--container",
        "vnet",
    ]);
    let cmds = commands(&v);
    let pats: Vec<&String> = cmds
        .iter()
        .filter(|c| c.contains("insights-logs-flowlogflowevent") && c.contains("download-batch"))
        .collect();
    assert_eq!(pats.len(), 2);
    assert!(pats[0].contains("y=2024/m=02/d=28/h=23/*"));
    assert!(pats[1].contains("y=2024/m=02/d=29/h=00/*"));
    assert!(
        !cmds
            .iter()
            .any(|c| c.contains("insights-logs-networksecuritygroupflowevent"))
    );
}

// ---- formats, colour, exit codes ---------------------------------------------

#[test]
fn table_is_plain_when_not_a_terminal() {
    let out = explain(&[&fixture("f3-windows-context-deadline.customization.log")]);
    assert_eq!(out.code, 0);
    let text = out.stdout;
    assert!(!text.contains('\x1b'), "colour codes on a pipe");
    assert!(text.starts_with("aibnet explain: "));
    assert!(text.contains("proxy_to_build_vm_blocked"));
    assert!(text.contains("Collect the evidence"));
}

#[test]
fn markdown_report() {
    let out = explain(&[
        "--format",
        "markdown",
        "SubnetIsFull: Subnet a with address prefix 10.0.0.0/29 does not have enough capacity for 1 IP addresses.",
    ]);
    assert_eq!(out.code, 0);
    let text = out.stdout;
    assert!(text.starts_with("## aibnet explain\n"));
    assert!(text.contains("| 1 | F21 | `subnet_too_small` | deployment |"));
}

/// The whole Markdown report for the Windows proxyconnect log, against a
/// reviewed snapshot: the ranking, the values read from the text, and per
/// class the lines seen, the fix and what the evidence will show. Markdown is
/// not a contract: a deliberate change updates the snapshot after review
/// (`INSTA_UPDATE=always`, then read the diff).
#[test]
fn markdown_report_of_the_windows_proxyconnect_log() {
    let out = run_at_root([
        "explain",
        "--format",
        "markdown",
        "captures/errors/f1-windows-proxyconnect.customization.log",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("explain_markdown_f1_windows_proxyconnect", out.stdout);
}

#[test]
fn words_are_joined_and_stdin_works() {
    let out = explain(&["Timeout", "waiting", "for", "SSH."]);
    assert_eq!(out.code, 0);
    let out = explain_stdin(
        &["-", "--format", "json"],
        b"Remote command exited without exit status or exit signal.",
    );
    assert_eq!(out.code, 0);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["matches"][0]["class"], "build_session_interrupted");
}

#[test]
fn not_recognised_exits_1_with_closest() {
    let (code, v) = json(&[&fixture("unrelated-packer.log")]);
    assert_eq!(code, 1);
    assert_eq!(v["recognised"], false);
    assert_eq!(v["matches"], serde_json::json!([]));
    let out = explain(&["dial tcp 10.0.0.4:443: i/o timeout"]);
    assert_eq!(out.code, 1);
    let text = out.stdout;
    assert!(text.contains("not recognised"));
    assert!(text.contains("Closest classes"));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["missing-file.log"],
        vec!["./nope"],
        vec!["x", "--at", "yesterday"],
        vec!["x", "--format", "yaml"],
        vec![
            "x",
            "--at",
            "2024-01-01T00:00:00Z",
            "--since",
            "2024-01-01T00:00:00Z",
        ],
        vec!["-", "more"],
    ] {
        let out = explain(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(!out.stderr.is_empty());
    }
    let out = explain(&[&repo().display().to_string()]);
    assert_eq!(out.code, 2, "a directory");
    let out = explain_stdin(&["-"], b"  \n ");
    assert_eq!(out.code, 2, "empty stdin");
    let out = explain(&[]);
    assert_eq!(out.code, 2, "no input");
}

fn scenario(name: &str) -> String {
    captures(name).display().to_string()
}

/// The confirmation verdict of the best match against some evidence.
fn confirmation(text: &str, evidence: &[String]) -> (String, String) {
    let mut args = vec![text, "--format", "json", "--evidence"];
    args.extend(evidence.iter().map(String::as_str));
    let out = explain(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    let best = &v["confirmation"][0];
    (
        best["class"].as_str().unwrap_or("").to_string(),
        best["verdict"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn evidence_from_the_lab_confirms_or_refutes_the_explanation() {
    // F3: WinRM/SSH from the proxy to the build VM times out.
    let f3 = "[ERROR] WinRM connection err: unknown error Post \"https://10.1.0.6:5986/wsman\": context deadline exceeded";
    // The scenario where exactly that hop is dropped (captures + flow logs).
    let (class, verdict) = confirmation(f3, &[scenario("proxy-to-buildvm-dropped")]);
    assert_eq!(verdict, "confirms", "{class}");
    // A healthy build shows that hop working: the evidence points elsewhere.
    let (_, verdict) = confirmation(f3, &[scenario("healthy-linux")]);
    assert_eq!(verdict, "points_elsewhere");
    // F1 (command channel to the proxy) against a capture taken on the build
    // VM only: the proxy's command port cannot be seen from there.
    let f1 =
        "Error connecting to bastion: dial tcp 10.241.0.5:60001: connect: connection timed out";
    let (_, verdict) = confirmation(f1, &[scenario("dns-blocked/buildvm.pcap")]);
    assert_eq!(verdict, "cannot_tell");
    // ... and against the scenario where that channel is dropped.
    let (_, verdict) = confirmation(f1, &[scenario("alb-to-proxy-dropped")]);
    assert_eq!(verdict, "confirms");
}

#[test]
fn unreadable_evidence_is_a_usage_error() {
    let out = explain(&[
        "Timeout waiting for SSH.",
        "--evidence",
        "/nonexistent/evidence.pcap",
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("none of the --evidence paths could be read")
    );
}

#[test]
fn the_plan_reads_flow_logs_where_they_are() {
    // The NSG's id and the hour are known: one storage URL per hour folder.
    let nsg = "/subscriptions/8f2a5c1e-3b7d-4e90-a6c4-2d9e7b1f0a35/resourceGroups/aib-vnet-rg/providers/Microsoft.Network/networkSecurityGroups/aib-build-subnet-nsg";
    let (_, v) = json(&[
        "Timeout waiting for SSH.",
        "--nsg",
        nsg,
        "--storage-account",
        "stflowlogs",
        "--container",
        "nsg",
        "--since",
        "2026-11-27T04:10:00Z",
        "--until",
        "2026-11-27T04:40:00Z",
    ]);
    let c = commands(&v);
    let in_place: Vec<&String> = c
        .iter()
        .filter(|c| c.starts_with("AZURE_STORAGE_ACCOUNT_NAME="))
        .collect();
    assert_eq!(in_place.len(), 1, "{c:#?}");
    let folder = "az://insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/8F2A5C1E-3B7D-4E90-A6C4-2D9E7B1F0A35/RESOURCEGROUPS/AIB-VNET-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/AIB-BUILD-SUBNET-NSG";
    assert_eq!(
        *in_place[0],
        format!(
            "AZURE_STORAGE_ACCOUNT_NAME=stflowlogs AZURE_USE_AZURE_CLI=true aibnet diagnose '{folder}/y=2026/m=11/d=27/h=04/'"
        )
    );
    // The folder's blobs are the ones the download step fetches.
    assert!(
        c.iter().any(|c| c.contains("download-batch")
            && c.contains("NETWORKSECURITYGROUPS/AIB-BUILD-SUBNET-NSG/y=2026/m=11/d=27/h=04/*")),
        "{c:#?}"
    );
    // Only the NSG's name and the window: the container, pruned by both.
    let (_, v) = json(&[
        "Timeout waiting for SSH.",
        "--nsg",
        "aib-nsg",
        "--vnet",
        "aib-vnet",
        "--storage-account",
        "st",
        "--at",
        "2026-11-27T04:30:00Z",
    ]);
    let c = commands(&v);
    let in_place: Vec<&String> = c
        .iter()
        .filter(|c| c.starts_with("AZURE_STORAGE_ACCOUNT_NAME="))
        .collect();
    assert_eq!(
        in_place,
        [
            "AZURE_STORAGE_ACCOUNT_NAME=st AZURE_USE_AZURE_CLI=true aibnet diagnose az://insights-logs-networksecuritygroupflowevent/ --nsg aib-nsg --since 2026-11-27T03:30:00Z --until 2026-11-27T04:35:00Z",
            "AZURE_STORAGE_ACCOUNT_NAME=st AZURE_USE_AZURE_CLI=true aibnet diagnose az://insights-logs-flowlogflowevent/ --vnet aib-vnet --since 2026-11-27T03:30:00Z --until 2026-11-27T04:35:00Z",
        ],
        "{c:#?}"
    );
}

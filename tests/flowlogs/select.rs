//! `--nsg`, `--mac`, `--vnet`, `--subnet` on local trees laid out as the
//! storage account is: the lab's flow logs beside copies for another NSG
//! and a VNet flow log of another VNET; what is selected reads as the lab's
//! own tree does.

use crate::common::{captures, files, run};
use std::path::{Path, PathBuf};

const SCENARIO: &str = "proxy-to-buildvm-dropped";

/// Copy every file of `from` under `to`, its relative path mapped by
/// `rename` and its content by `edit`. Returns how many.
fn copy_tree(
    from: &Path,
    to: &Path,
    rename: &dyn Fn(&str) -> String,
    edit: &dyn Fn(String) -> String,
) -> usize {
    let all = files(from);
    for f in &all {
        let rel = f.strip_prefix(from).unwrap().to_string_lossy().into_owned();
        let dest = to.join(rename(&rel));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(&dest, edit(std::fs::read_to_string(f).unwrap())).unwrap();
    }
    all.len()
}

/// The lab's flow logs (`real`), and the same beside another NSG's and
/// another VNET's flow log (`mixed`), with how many files those add.
pub fn trees(root: &Path) -> (PathBuf, PathBuf, usize) {
    let lab = captures(&format!("{SCENARIO}/flowlogs"));
    let (real, mixed) = (root.join("real"), root.join("mixed"));
    let same = |s: &str| s.to_string();
    copy_tree(&lab, &real, &same, &|c| c);
    copy_tree(&lab, &mixed, &same, &|c| c);
    let mut other = copy_tree(
        &lab.join("nsg-v2"),
        &mixed.join("nsg-v2"),
        &|rel| rel.replace("/AIB-BUILD-SUBNET-NSG/", "/OTHER-NSG/"),
        &|c| c.replace("AIB-BUILD-SUBNET-NSG", "OTHER-NSG"),
    );
    other += copy_tree(
        &lab.join("vnet"),
        &mixed.join("vnet"),
        &|rel| rel.replace("/AIB-BUILD-SUBNET-AIB-VNET-RG-FLOWLOG/", "/HUB-FLOWLOG/"),
        &|c| {
            c.replace("virtualNetworks/aib-vnet/", "virtualNetworks/hub-vnet/")
                .replace("AIB-BUILD-SUBNET-AIB-VNET-RG-FLOWLOG", "HUB-FLOWLOG")
        },
    );
    (real, mixed, other)
}

fn normalized(out: &str, base: &Path) -> String {
    out.replace(base.to_str().unwrap(), "BASE")
}

fn inputs(out: &crate::common::Run) -> Vec<String> {
    out.json()["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_selection_reads_a_mixed_tree_as_the_lab_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let (real, mixed, other) = trees(tmp.path());
    let (r, m) = (real.to_str().unwrap(), mixed.to_str().unwrap());
    let flags = ["--nsg", "aib-build-subnet-nsg", "--vnet", "aib-vnet"];
    for cmd in ["builds", "diagnose", "sessions"] {
        // The same flags on the lab's tree (`--nsg` names the fixes' NSG
        // too), where they leave nothing out.
        let with = |tree: &str| {
            let mut args: Vec<&str> = vec![cmd, "--format", "json", tree];
            args.extend(flags);
            run(&args)
        };
        let want = with(r);
        assert!(!want.stderr.contains("left out"), "{}", want.stderr);
        let got = with(m);
        assert_eq!(got.code, want.code, "{cmd}: {}", got.stderr);
        assert_eq!(
            normalized(&got.stdout, &mixed),
            normalized(&want.stdout, &real),
            "{cmd}"
        );
        assert!(
            got.stderr
                .contains(&format!("{other} files left out by the selection")),
            "{cmd}: {}",
            got.stderr
        );
        // Without the selection, the copies are read.
        let all = run([cmd, "--format", "json", m]);
        assert_eq!(inputs(&all).len(), inputs(&want).len() + other, "{cmd}");
        assert!(inputs(&want).len() >= 4, "{cmd}");
    }
}

#[test]
fn macs_and_subnets_select_what_their_logs_name() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, mixed, _) = trees(tmp.path());
    let m = mixed.to_str().unwrap();
    // One NIC: its blobs in both NSGs' and both VNet flow logs' folders.
    let one = run([
        "builds",
        "--format",
        "json",
        "--mac",
        "00-0d-3a-6e-a4-04",
        m,
    ]);
    let got = inputs(&one);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(
        got.iter().all(|p| p.contains("macAddress=000D3A6EA404")),
        "{got:?}"
    );
    // Another subnet: the VNet flow logs (targeting aib-build-subnet and
    // a hub VNET's) are left out; NSG flow logs name no subnet, so stay.
    let other = run([
        "sessions",
        "--format",
        "json",
        "--subnet",
        "other-subnet",
        m,
    ]);
    let got = inputs(&other);
    assert!(
        !got.is_empty() && got.iter().all(|p| p.contains("NETWORKSECURITYGROUPS")),
        "{got:?}"
    );
    assert_eq!(got.len(), 4, "{got:?}");
    // The subnet's full id names its VNET too: the hub's log is out.
    let id = "/subscriptions/8f2a5c1e-3b7d-4e90-a6c4-2d9e7b1f0a35/resourceGroups/aib-vnet-rg/providers/Microsoft.Network/virtualNetworks/aib-vnet/subnets/aib-build-subnet";
    let sub = run(["sessions", "--format", "json", "--subnet", id, m]);
    let got = inputs(&sub);
    assert_eq!(
        got.iter()
            .filter(|p| p.contains("FLOWLOGS/AIB-BUILD"))
            .count(),
        2,
        "{got:?}"
    );
    assert!(!got.iter().any(|p| p.contains("HUB-FLOWLOG")), "{got:?}");
    // A bad MAC is a usage error.
    let bad = run(["builds", "--mac", "000D3A", m]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--mac"), "{}", bad.stderr);
}

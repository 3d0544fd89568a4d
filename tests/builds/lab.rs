//! `aibnet builds` on the lab's recorded scenarios (`captures/<scenario>/`):
//! the captures of every scenario, shifted in time so that the scenarios
//! follow one another six hours apart at the same addresses, make one tree;
//! each scenario must come out as one run, with the hop statuses, verdict and
//! findings the lab recorded for it, and the diagnosis `diagnose` gives the
//! scenario alone.

use super::support::{DAY0, check_junit, shift_flowlogs, shift_pcap, xmllint};
use crate::common::{aibnet, finish, repo};
use aibnet::aib::Severity;
use aibnet::analyze::analyze_paths;
use aibnet::builds::{NoProgress, Options, builds_paths};
use aibnet::diagnose::diagnose;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SPACING_S: i64 = 6 * 3600;

/// What the lab recorded for a scenario (or for one capture point of it).
struct Expect {
    verdict: String,
    hops: BTreeMap<String, String>,
    finding_ids: Vec<String>,
}

impl Expect {
    fn of(e: &serde_json::Value) -> Self {
        let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        Expect {
            verdict: s(&e["verdict"]),
            hops: e["hops"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), s(v))).collect())
                .unwrap_or_default(),
            finding_ids: e["finding_ids"]
                .as_array()
                .map(|a| a.iter().map(s).collect())
                .unwrap_or_default(),
        }
    }

    /// The run's verdict, every hop's status and the failing findings.
    fn check(&self, r: &aibnet::builds::Run, ctx: &str) {
        let d = &r.diagnosis;
        assert_eq!(d.verdict.as_str(), self.verdict, "{ctx}: verdict");
        for h in &d.hops {
            assert_eq!(
                Some(h.status.as_str()),
                self.hops.get(h.hop.as_str()).map(String::as_str),
                "{ctx}: hop {}",
                h.hop
            );
        }
        let failing: Vec<&str> = r.failing_ids().collect();
        for id in self.finding_ids.iter().filter(|i| *i != "healthy") {
            assert!(
                failing.contains(&id.as_str()),
                "{ctx}: {id} not in {failing:?}"
            );
        }
    }
}

struct Scenario {
    name: String,
    dir: PathBuf,
    all: Expect,
    points: BTreeMap<String, Expect>,
}

fn scenarios() -> Vec<Scenario> {
    let root = repo().join("captures");
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&root) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.sort();
    for dir in dirs {
        let Ok(text) = std::fs::read_to_string(dir.join("expected.json")) else {
            continue;
        };
        let e: serde_json::Value = serde_json::from_str(&text).expect("expected.json");
        out.push(Scenario {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            all: Expect::of(&e),
            points: e["per_capture_point"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), Expect::of(v))).collect())
                .unwrap_or_default(),
            dir,
        });
    }
    out
}

/// The scenario's packet captures.
fn captures_of(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    v.sort();
    v
}

/// First packet time (s) of a classic little-endian pcap, if it has one.
fn first_second(p: &Path) -> Option<i64> {
    let b = std::fs::read(p).ok()?;
    let s = b.get(24..28)?;
    Some(i64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}

#[test]
fn lab_scenarios_back_to_back_are_each_found_and_diagnosed_right() {
    let all = scenarios();
    assert!(
        all.len() >= 13,
        "the lab scenarios in captures/: {}",
        all.len()
    );
    let tree = tempfile::tempdir().unwrap();
    for (k, sc) in all.iter().enumerate() {
        let caps = captures_of(&sc.dir);
        let first = caps
            .iter()
            .filter_map(|p| first_second(p))
            .min()
            .expect("a capture with packets");
        let delta = DAY0 + k as i64 * SPACING_S - first;
        for c in &caps {
            let dst = tree.path().join(&sc.name).join(c.file_name().unwrap());
            assert!(shift_pcap(c, &dst, delta), "{}", c.display());
        }
    }
    let b = builds_paths(
        &[tree.path().to_path_buf()],
        &Options::default(),
        &NoProgress,
    );
    let names: Vec<&str> = b.runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(b.runs.len(), all.len(), "{names:#?}");
    assert!(b.skipped.is_empty(), "{:?}", b.skipped);
    for (k, (r, sc)) in b.runs.iter().zip(&all).enumerate() {
        let d = &r.diagnosis;
        let ctx = format!("{} as {}", sc.name, r.id);
        let want_start = (DAY0 + k as i64 * SPACING_S) * 1_000_000_000;
        assert!((r.start - want_start).abs() < 2_000_000_000, "{ctx}: start");
        assert!(
            r.inputs.iter().all(|p| p.contains(&sc.name)),
            "{ctx}: {:?}",
            r.inputs
        );
        sc.all.check(r, &ctx);
        // The same diagnosis as `diagnose` on the scenario alone.
        let alone = diagnose(
            &analyze_paths(&captures_of(&sc.dir), &Default::default()),
            &Default::default(),
        );
        assert_eq!(d.verdict, alone.verdict, "{ctx}");
        assert_eq!(d.topology.roles, alone.topology.roles, "{ctx}");
        let ids = |x: &[aibnet::findings::Finding]| -> Vec<aibnet::aib::FindingId> {
            let mut v: Vec<aibnet::aib::FindingId> = x
                .iter()
                .filter(|f| f.severity >= Severity::Warning)
                .map(|f| f.id)
                .collect();
            v.sort();
            v
        };
        assert_eq!(ids(&d.findings), ids(&alone.findings), "{ctx}");
    }

    // The same tree through the CLI as JUnit, checked against the schema.
    let doc = finish(
        aibnet()
            .args(["builds", "--format", "junit"])
            .arg(tree.path()),
    )
    .stdout;
    let root = check_junit(&doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
    xmllint(&doc);
    assert_eq!(root.all("testsuite").len(), all.len());
}

/// The scenarios' flow logs (NSG v2 for one scenario, VNet v4 for the next),
/// shifted by whole hours so that they follow one another six hours apart:
/// the same addresses and, in the lab, the same NICs every time. Each must be
/// one run, diagnosed as the lab recorded for that family of flow logs, and
/// as `diagnose` finds the scenario's flow logs alone.
#[test]
fn lab_flow_logs_back_to_back_are_each_found_and_diagnosed_right() {
    let all = scenarios();
    assert!(
        all.len() >= 13,
        "the lab scenarios in captures/: {}",
        all.len()
    );
    let tree = tempfile::tempdir().unwrap();
    let mut want = Vec::new();
    for (k, sc) in all.iter().enumerate() {
        let family = if k % 2 == 0 { "nsg-v2" } else { "vnet" };
        let src = sc.dir.join("flowlogs").join(family);
        let first = captures_of(&sc.dir)
            .iter()
            .filter_map(|p| first_second(p))
            .min()
            .expect("a capture with packets");
        let hours = (DAY0 + k as i64 * SPACING_S - first + 1800).div_euclid(3600);
        let n = shift_flowlogs(&src, &tree.path().join(&sc.name), hours);
        assert!(n > 0, "{}: no flow logs", src.display());
        want.push((sc, family, src, (first + hours * 3600) * 1_000_000_000));
    }
    let b = builds_paths(
        &[tree.path().to_path_buf()],
        &Options::default(),
        &NoProgress,
    );
    let names: Vec<&str> = b.runs.iter().map(|r| r.id.as_str()).collect();
    assert!(b.skipped.is_empty(), "{:?}", b.skipped);
    assert_eq!(b.runs.len(), all.len(), "{names:#?}");
    for (r, (sc, family, src, start)) in b.runs.iter().zip(&want) {
        let ctx = format!("{} flowlogs/{family} as {}", sc.name, r.id);
        assert!((r.start - start).abs() < 120_000_000_000, "{ctx}: start");
        assert!(r.inputs.iter().all(|p| p.contains(&sc.name)), "{ctx}");
        assert!(!r.macs.is_empty(), "{ctx}: flow logs name the NICs");
        let point = format!("flowlogs/{family}");
        sc.points
            .get(&point)
            .unwrap_or_else(|| panic!("{ctx}: no expectation for {point}"))
            .check(r, &ctx);
        let alone = diagnose(
            &analyze_paths(std::slice::from_ref(src), &Default::default()),
            &Default::default(),
        );
        assert_eq!(r.diagnosis.verdict, alone.verdict, "{ctx}");
        assert_eq!(r.diagnosis.topology.roles, alone.topology.roles, "{ctx}");
    }
}

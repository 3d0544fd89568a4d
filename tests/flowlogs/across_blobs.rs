//! A connection open across the hour is logged in two hourly blobs (per
//! NIC): `B` and `C`s in the first, `C`s and `E` in the next. Stitching is per
//! file; the halves are joined once all inputs are read, so a build's
//! command session that outlives its blob is one session, one attempt.
//!
//! The blobs follow the NSG v2 layout of the lab's (captures/*/flowlogs) and
//! the reference samples' (one blob per NSG × MAC × hour, counters as deltas
//! since the previous tuple, `C` every 5 minutes); the counts below are
//! worked out by hand from the tuples.

use aibnet::analyze::analyze_paths;
use aibnet::sessions::{ConnState, Session};
use std::path::Path;

use crate::common::{aibnet, finish};

/// 2026-11-27T04:00:00Z.
const H04: i64 = 1_795_752_000;
const PROXY_MAC: &str = "000D3A6EA404";
const BUILD_MAC: &str = "000D3A6EA406";

/// An NSG v2 blob of one NIC and hour: one record per rule, tuples as
/// `(seconds after 04:00, rule, tuple fields after the time)`.
fn blob<S: AsRef<str>>(hour: u32, mac: &str, tuples: &[(i64, &str, S)]) -> String {
    let mut rules: Vec<&str> = tuples.iter().map(|t| t.1).collect();
    rules.sort_unstable();
    rules.dedup();
    let records: Vec<String> = rules
        .iter()
        .map(|rule| {
            let ts: Vec<String> = tuples
                .iter()
                .filter(|t| t.1 == *rule)
                .map(|(at, _, rest)| format!("\"{},{}\"", H04 + at, rest.as_ref()))
                .collect();
            format!(
                r#"{{"time":"2026-11-27T{hour:02}:59:30Z","systemId":"6b1a3f2e-0c4d-4e8f-9a7b-1c2d3e4f5a6b","macAddress":"{mac}","category":"NetworkSecurityGroupFlowEvent","resourceId":"/SUBSCRIPTIONS/8F2A5C1E-3B7D-4E90-A6C4-2D9E7B1F0A35/RESOURCEGROUPS/AIB-VNET-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/AIB-BUILD-SUBNET-NSG","operationName":"NetworkSecurityGroupFlowEvents","properties":{{"Version":2,"flows":[{{"rule":"{rule}","flows":[{{"mac":"{mac}","flowTuples":[{}]}}]}}]}}}}"#,
                ts.join(",")
            )
        })
        .collect();
    format!("{{\"records\":[{}]}}", records.join(","))
}

fn write(dir: &Path, hour: u32, mac: &str, text: &str) {
    let d = dir.join(format!("h={hour:02}/m=00/macAddress={mac}"));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("PT1H.json"), text).unwrap();
}

const LB: &str = "DefaultRule_AllowAzureLoadBalancerInBound";
const VNET_IN: &str = "DefaultRule_AllowVnetInBound";
const VNET_OUT: &str = "DefaultRule_AllowVnetOutBound";

/// A build's traffic from 04:50 to 05:10, logged by the proxy's and the
/// build VM's NICs: health probes every 5 minutes (each its own flow), one
/// command session 10.1.0.5 → proxy :60001 and its forward proxy → build
/// VM :22, both open across 05:00 (`B`, `C` before; `C`, `E` after).
fn build_across_the_hour(dir: &Path) {
    let probe = |at: i64, port: u16| {
        [
            (
                at,
                LB,
                format!("168.63.129.16,10.1.0.4,{port},60001,T,I,A,B,,,,"),
            ),
            (
                at + 1,
                LB,
                format!("168.63.129.16,10.1.0.4,{port},60001,T,I,A,E,3,180,2,120"),
            ),
        ]
    };
    // The command session and its forward, as one NIC logs them.
    let command =
        |dir: &str, fields: &str| format!("10.1.0.5,10.1.0.4,41000,60001,T,{dir},A,{fields}");
    let forward =
        |dir: &str, fields: &str| format!("10.1.0.4,10.1.0.6,42000,22,T,{dir},A,{fields}");
    let mut proxy_04 = [probe(3000, 50100), probe(3300, 50101)].concat();
    proxy_04.extend([
        (3010, VNET_IN, command("I", "B,,,,")),
        (3310, VNET_IN, command("I", "C,100,20000,90,180000")),
        (3011, VNET_OUT, forward("O", "B,,,,")),
        (3311, VNET_OUT, forward("O", "C,100,20000,90,180000")),
    ]);
    let mut proxy_05 = [probe(3600, 50102), probe(3900, 50103)].concat();
    proxy_05.extend([
        (3610, VNET_IN, command("I", "C,40,8000,35,70000")),
        (3700, VNET_IN, command("I", "E,10,2000,9,1800")),
        (3611, VNET_OUT, forward("O", "C,40,8000,35,70000")),
        (3700, VNET_OUT, forward("O", "E,10,2000,9,1800")),
    ]);
    let build_04 = [
        (3011, VNET_IN, forward("I", "B,,,,")),
        (3311, VNET_IN, forward("I", "C,100,20000,90,180000")),
    ];
    let build_05 = [
        (3611, VNET_IN, forward("I", "C,40,8000,35,70000")),
        (3700, VNET_IN, forward("I", "E,10,2000,9,1800")),
    ];
    write(dir, 4, PROXY_MAC, &blob(4, PROXY_MAC, &proxy_04));
    write(dir, 5, PROXY_MAC, &blob(5, PROXY_MAC, &proxy_05));
    write(dir, 4, BUILD_MAC, &blob(4, BUILD_MAC, &build_04));
    write(dir, 5, BUILD_MAC, &blob(5, BUILD_MAC, &build_05));
}

fn ssh(v: &[Session]) -> Vec<&Session> {
    v.iter().filter(|s| s.resp_p == 22).collect()
}

#[test]
fn a_session_open_across_the_hour_is_one_session() {
    let dir = tempfile::tempdir().unwrap();
    build_across_the_hour(dir.path());
    let a = analyze_paths(&[dir.path().to_path_buf()], &Default::default());
    assert_eq!(a.inputs.len(), 4);
    assert!(a.skipped.is_empty(), "{:?}", a.skipped);
    // 4 probes, the command session and its forward.
    assert_eq!(a.sessions.len(), 6, "{:#?}", a.sessions);
    for port in [22, 60001] {
        let probe: std::net::IpAddr = "168.63.129.16".parse().unwrap();
        let s = a
            .sessions
            .iter()
            .find(|s| s.resp_p == port && s.orig_h != probe)
            .unwrap();
        // Sums of the deltas: 100 + 40 + 10 out, 90 + 35 + 9 back.
        assert_eq!(
            (s.orig.pkts, s.orig.ip_bytes, s.resp.pkts, s.resp.ip_bytes),
            (150, 30_000, 134, 251_800),
            "port {port}"
        );
        assert_eq!(s.state, ConnState::SF);
        let fl = s.flow.as_deref().unwrap();
        assert_eq!(fl.flow_state.as_deref(), Some("BCE"));
        assert_eq!(fl.note, None, "no 'began before the log' once joined");
        assert_eq!(
            s.first_ts,
            (H04 + if port == 22 { 3011 } else { 3010 }) * 1_000_000_000
        );
        assert_eq!(s.last_ts, (H04 + 3700) * 1_000_000_000);
    }
    // The forward was logged by both NICs in both hours.
    assert_eq!(ssh(&a.sessions)[0].seen_by.iter().count(), 4);
}

#[test]
fn diagnose_counts_one_attempt_per_command_session() {
    let dir = tempfile::tempdir().unwrap();
    build_across_the_hour(dir.path());
    let d = finish(
        aibnet()
            .args(["diagnose", "--format", "json"])
            .arg(dir.path()),
    )
    .json();
    assert_eq!(d["verdict"], "healthy", "{d:#}");
    let hop = |name: &str| {
        d["hops"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["hop"] == name)
            .unwrap_or_else(|| panic!("no hop {name}: {d:#}"))
            .clone()
    };
    for name in ["alb_to_proxy", "proxy_to_build_vm"] {
        let h = hop(name);
        assert_eq!(
            (h["attempts"].as_u64(), h["established"].as_u64()),
            (Some(1), Some(1)),
            "{name}: {h:#}"
        );
    }
    assert_eq!(hop("probe_to_proxy")["attempts"], 4);
}

#[test]
fn halves_too_far_apart_or_a_new_connection_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    // Open at 04:45 (its last C), next logged at 05:03: 18 minutes, more
    // than the 10 minutes an open flow can go unlogged.
    write(
        dir.path(),
        4,
        PROXY_MAC,
        &blob(
            4,
            PROXY_MAC,
            &[
                (2400, VNET_OUT, "10.1.0.4,10.1.0.6,42000,22,T,O,A,B,,,,"),
                (
                    2700,
                    VNET_OUT,
                    "10.1.0.4,10.1.0.6,42000,22,T,O,A,C,5,500,5,500",
                ),
                // Open at the end of the hour, but the next hour's tuple of
                // this 5-tuple is a B: a new connection.
                (3500, VNET_OUT, "10.1.0.4,10.1.0.6,42001,22,T,O,A,B,,,,"),
                (
                    3540,
                    VNET_OUT,
                    "10.1.0.4,10.1.0.6,42001,22,T,O,A,C,5,500,5,500",
                ),
            ],
        ),
    );
    write(
        dir.path(),
        5,
        PROXY_MAC,
        &blob(
            5,
            PROXY_MAC,
            &[
                (
                    3780,
                    VNET_OUT,
                    "10.1.0.4,10.1.0.6,42000,22,T,O,A,E,3,180,2,130",
                ),
                (3610, VNET_OUT, "10.1.0.4,10.1.0.6,42001,22,T,O,A,B,,,,"),
                (
                    3620,
                    VNET_OUT,
                    "10.1.0.4,10.1.0.6,42001,22,T,O,A,E,4,400,4,400",
                ),
            ],
        ),
    );
    let a = analyze_paths(&[dir.path().to_path_buf()], &Default::default());
    let v = ssh(&a.sessions);
    assert_eq!(v.len(), 4, "{v:#?}");
    let began_before = v
        .iter()
        .filter(|s| s.flow.as_deref().unwrap().note.as_deref() == Some("began before the log"))
        .count();
    assert_eq!(began_before, 1);
}

#[test]
fn a_session_of_three_hours_is_joined_across_three_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let forward = |fields: &str| format!("10.1.0.4,10.1.0.6,42000,22,T,O,A,{fields}");
    let hours = [
        vec![
            (3000, VNET_OUT, forward("B,,,,")),
            (3300, VNET_OUT, forward("C,10,1000,10,2000")),
        ],
        // The middle hour: only Cs, the flow open at both ends of the blob.
        (0..12)
            .map(|k| (3600 + 240 + k * 300, VNET_OUT, forward("C,10,1000,10,2000")))
            .collect(),
        vec![
            (7200 + 120, VNET_OUT, forward("C,10,1000,10,2000")),
            (7200 + 200, VNET_OUT, forward("E,2,120,1,70")),
        ],
    ];
    for (k, tuples) in hours.iter().enumerate() {
        write(
            dir.path(),
            4 + k as u32,
            PROXY_MAC,
            &blob(4 + k as u32, PROXY_MAC, tuples),
        );
    }
    let a = analyze_paths(&[dir.path().to_path_buf()], &Default::default());
    let v = ssh(&a.sessions);
    assert_eq!(v.len(), 1, "{v:#?}");
    let s = v[0];
    // 1 + 12 + 1 Cs of 10 packets each way, and the E.
    assert_eq!((s.orig.pkts, s.resp.pkts), (142, 141));
    assert_eq!(s.state, ConnState::SF);
    assert_eq!(s.seen_by.iter().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(
        s.flow.as_deref().unwrap().flow_state.as_deref(),
        Some("BCE")
    );
}

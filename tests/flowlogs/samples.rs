//! Every real and documentation sample in `tests/data/flowlogs/samples/`,
//! with the counts of its `SOURCES.md` and hand-checked tuples.

use aibnet::flowlog::{
    self, Counters, Decision, Direction, Dropped, Encryption, FlowLogFile, FlowProto, FlowState,
    FlowTuple, IssueKind, ParseOptions, RecordKind, TupleError,
};
use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::common::{data, flowlog_sample};

fn bytes(name: &str) -> Vec<u8> {
    let p = flowlog_sample(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn load(name: &str) -> FlowLogFile {
    flowlog::parse(name, &bytes(name)).unwrap()
}

/// Everything, duplicates included, as `SOURCES.md` counts.
fn load_all(name: &str) -> FlowLogFile {
    let opts = ParseOptions {
        dedupe: false,
        ..ParseOptions::default()
    };
    flowlog::parse_with(name, &bytes(name), &opts).unwrap()
}

/// Tuples per "decision/state" (NSG) or "state" (VNet) as logged.
fn states(f: &FlowLogFile) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (_, t) in f.tuples() {
        let d = match t.decision {
            Decision::Allow => "A",
            Decision::Deny => "D",
        };
        let key = match (t.encryption, t.state) {
            (Some(_), Some(s)) => s.letter().to_string(),
            (None, Some(s)) => format!("{d}/{}", s.letter()),
            (_, None) => d.to_string(),
        };
        *m.entry(key).or_default() += 1;
    }
    m
}

fn map(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn find(
    f: &FlowLogFile,
    pred: impl Fn(&FlowTuple) -> bool,
) -> Vec<(&flowlog::FlowLogBatch, &FlowTuple)> {
    f.tuples().filter(|(_, t)| pred(t)).collect()
}

fn assert_clean(f: &FlowLogFile) {
    assert!(f.issues.is_empty(), "{}: {:#?}", f.path, f.issues);
    assert_eq!(f.stats.records_skipped + f.stats.tuples_skipped, 0);
}

/// Kept = read − duplicate − skipped, always.
fn assert_accounting(f: &FlowLogFile) {
    let s = f.stats;
    assert_eq!(
        f.tuple_count() as u64,
        s.tuples_read - s.tuples_duplicate - s.tuples_skipped,
        "{s:?}"
    );
}

// ---------------------------------------------------------------- NSG v1

#[test]
fn nsg_v1_dimitertodorov_40_records() {
    let name = "nsg-v1_pt1h-40records_dimitertodorov-nsg-parser.json";
    let f = load(name);
    assert_clean(&f);
    assert_accounting(&f);
    assert_eq!(f.stats.records, 40);
    assert_eq!(f.stats.tuples_read, 4334);
    assert_eq!(
        f.tuple_count(),
        4334,
        "no tuple repeats exactly (v1 re-reports with new times)"
    );
    let out = find(&f, |t| {
        t.direction == Direction::Outbound && t.proto == FlowProto::TCP
    })
    .len();
    let inb = find(&f, |t| {
        t.direction == Direction::Inbound && t.proto == FlowProto::TCP
    })
    .len();
    assert_eq!((out, inb), (28, 4306), "T,O,A ×28; T,I,A ×4 306");
    assert_eq!(states(&f), map(&[("A", 4334)]));
    for (b, r) in f.records() {
        assert_eq!(r.kind, RecordKind::NsgV1);
        assert_eq!(b.str(r.mac), "", "2017 data has no macAddress");
        assert!(
            b.str(r.resource)
                .ends_with("/NETWORKSECURITYGROUPS/NSGNAME-NSG")
        );
    }
    // 3-digit fraction in `time`: 2017-06-09T20:07:33.837Z is the first record.
    let (_, first) = f.records().next().unwrap();
    assert_eq!(first.time_ms, Some(1_497_038_853_837));
    let rules: std::collections::BTreeSet<&str> = f.tuples().map(|(b, t)| b.rule_name(t)).collect();
    assert_eq!(
        rules.into_iter().collect::<Vec<_>>(),
        ["DefaultRule_AllowVnetOutBound", "UserRule_HTTP"]
    );
    // The same 5-tuple re-reported every few seconds stays as observations.
    let same = find(&f, |t| t.sport == 46010 && t.dport == 443);
    assert!(same.len() >= 4, "{}", same.len());
    assert!(
        same.iter()
            .all(|(_, t)| t.state.is_none() && t.counters.is_none())
    );
}

#[test]
fn nsg_v1_read_block_tabs_and_empty_flows() {
    let f = load("nsg-v1_docs-read-block-sample_tabs_empty-flows-arrays.json");
    assert_clean(&f);
    assert_eq!((f.stats.records, f.tuple_count()), (1, 40));
    assert_eq!(states(&f), map(&[("A", 40)]));
    let b = &f.batches[0];
    // Rules with `"flows": []` contribute no tuple and no rule entry.
    let names: Vec<&str> = b.rules.iter().map(|r| b.str(r.rule)).collect();
    assert_eq!(
        names,
        ["DefaultRule_AllowInternetOutBound", "UserRule_web-rule"]
    );
    let web = find(&f, |t| t.dport == 80 && t.direction == Direction::Inbound);
    assert_eq!(web.len(), 4);
    assert_eq!(web[0].0.mac(web[0].1), "000D3A18077E");
    assert_eq!(web[0].1.src, ip("13.82.225.93"));
}

#[test]
fn nsg_v1_broken_nested_records_is_reported_not_decoded() {
    let name = "nsg-v1_docs-overview-sample_nested-records-BROKEN.json";
    let raw = bytes(name);
    let f = flowlog::parse(name, &raw).unwrap();
    assert_accounting(&f);
    assert_eq!(f.stats.records, 3);
    assert_eq!(f.stats.records_skipped, 1);
    assert_eq!(f.tuple_count(), 9, "records 0 and 1 are still used");
    assert_eq!(states(&f), map(&[("A", 7), ("D", 2)]));
    assert_eq!(f.issues.len(), 1, "{:#?}", f.issues);
    let issue = &f.issues[0];
    assert_eq!(issue.record, Some(2));
    assert_eq!(issue.kind, IssueKind::NestedRecords { nested: 3 });
    assert_eq!(issue.kind.dropped(), Dropped::Record);
    // The offset is the nested blob's `{`, found by hand below.
    let third = raw
        .windows(b"{\n            \"records\"".len())
        .position(|w| w == b"{\n            \"records\"")
        .unwrap();
    assert_eq!(issue.offset, third as u64);
    let msg = issue.to_string();
    assert!(
        msg.starts_with(&format!("{name}: byte {third}: record 2: element is itself a {{\"records\":[…]}} blob (3 nested records")),
        "{msg}"
    );
    // Nothing from the nested copy leaked in: its first record repeats record 0.
    assert_eq!(f.records().count(), 2);
}

// ---------------------------------------------------------------- NSG v2

#[test]
fn nsg_v2_docs_two_records_leading_space() {
    let raw = bytes("nsg-v2_docs-overview-sample_2records.json");
    assert_eq!(raw[0], b' ');
    let f = flowlog::parse("x", &raw).unwrap();
    assert_clean(&f);
    assert_eq!((f.stats.records, f.tuple_count()), (2, 11));
    assert_eq!(
        states(&f),
        map(&[("A/B", 1), ("A/C", 1), ("A/E", 2), ("D/B", 7)])
    );
    let c = find(&f, |t| t.state == Some(FlowState::Continuing));
    assert_eq!(
        c[0].1.counters,
        Some(Counters {
            pkts_src_to_dst: 30,
            bytes_src_to_dst: 16978,
            pkts_dst_to_src: 24,
            bytes_dst_to_src: 14008
        })
    );
    assert!(f.records().all(|(_, r)| r.kind == RecordKind::NsgV2));
}

#[test]
fn nsg_v2_sumologic_hour() {
    let f = load("nsg-v2_pt1h-8records-2024_sumologic.json");
    assert_clean(&f);
    assert_accounting(&f);
    assert_eq!(
        (f.stats.records, f.stats.tuples_read, f.tuple_count()),
        (8, 153, 153)
    );
    assert_eq!(
        states(&f),
        map(&[("A/B", 36), ("A/C", 3), ("A/E", 39), ("D/B", 75)])
    );
    // Every B has empty counters; every deny is a B.
    assert!(
        find(&f, |t| t.state == Some(FlowState::Begin))
            .iter()
            .all(|(_, t)| t.counters.is_none())
    );
    assert!(
        find(&f, |t| t.decision == Decision::Deny)
            .iter()
            .all(|(_, t)| t.state == Some(FlowState::Begin))
    );

    // `E,1,74,0,0`: one 74-byte packet out, nothing back (SYN, no answer).
    let syn_only = Counters {
        pkts_src_to_dst: 1,
        bytes_src_to_dst: 74,
        pkts_dst_to_src: 0,
        bytes_dst_to_src: 0,
    };
    let unanswered = find(&f, |t| {
        t.state == Some(FlowState::End) && t.counters == Some(syn_only)
    });
    assert_eq!(unanswered.len(), 20);
    let (b, t) = unanswered[0];
    assert_eq!(t.ts_ms, 1_724_090_346_000);
    assert_eq!(
        (t.src, t.dst, t.sport, t.dport),
        (ip("10.1.0.4"), ip("20.98.192.237"), 35620, 443)
    );
    assert_eq!(
        (t.proto, t.direction, t.decision),
        (FlowProto::TCP, Direction::Outbound, Decision::Allow)
    );
    assert_eq!(b.rule_name(t), "DefaultRule_AllowInternetOutBound");
    assert_eq!(b.mac(t), "6045BDEC2532");
    assert_eq!(
        b.acl(t),
        "/SUBSCRIPTIONS/11111111-2222-3333-A4B6-000000000000/RESOURCEGROUPS/VM-TEST/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/TEST-NSG"
    );
    assert_eq!(b.resource(t), b.acl(t), "NSG logs: the resource is the NSG");
    let (_, rec) = f.records().next().unwrap();
    assert_eq!(rec.time_ms, Some(1_724_090_406_894), "7-digit fraction");
    assert!(t.ts_ms < rec.time_ms.unwrap());

    // `E,0,0,0,0` is decoded as zero counters, not as "none".
    let zero = find(&f, |t| t.counters.is_some_and(|c| c.is_zero()));
    let zero: Vec<_> = zero.iter().map(|(_, t)| (t.dst, t.sport)).collect();
    assert_eq!(
        zero,
        [
            (ip("40.79.154.80"), 33338),
            (ip("40.79.154.80"), 37650),
            (ip("20.10.127.192"), 48368)
        ]
    );

    // UserRule_SSH: inbound, allowed, Begin only, no counters (by design).
    let ssh = find(&f, |t| t.dport == 22 && t.decision == Decision::Allow);
    assert_eq!(ssh.len(), 2);
    for (b, t) in ssh {
        assert_eq!(b.rule_name(t), "UserRule_SSH");
        assert_eq!(
            (t.direction, t.state, t.counters),
            (Direction::Inbound, Some(FlowState::Begin), None)
        );
    }
}

// ---------------------------------------------------------------- VNet v4

#[test]
fn vnet_jagilber_denied_winrm_5986_and_avnm_rules() {
    let f = load("vnet-v4_avnm-guid-rules_1record-2023_jagilber-ps1.json");
    assert_clean(&f);
    assert_eq!((f.stats.records, f.tuple_count()), (1, 7));
    assert_eq!(states(&f), map(&[("D", 6), ("E", 1)]));
    let winrm = find(&f, |t| t.dport == 5986);
    assert_eq!(winrm.len(), 1);
    let (b, t) = winrm[0];
    assert_eq!(t.ts_ms, 1_675_551_614_124);
    assert_eq!(
        (t.src, t.dst, t.sport),
        (ip("205.210.31.32"), ip("192.168.0.8"), 53998)
    );
    assert_eq!((t.proto, t.direction), (FlowProto::TCP, Direction::Inbound));
    assert_eq!(
        (t.decision, t.state),
        (Decision::Deny, Some(FlowState::Deny))
    );
    assert_eq!(t.encryption, Some(Encryption::NotEncrypted));
    assert_eq!(t.counters.map(|c| c.is_zero()), Some(true));
    assert_eq!(
        b.rule_name(t),
        "BlockHighRiskTCPPortsFromInternet_8e593d16-5f9d-4b25-b3b2-df7b6951a08b"
    );
    assert_eq!(b.acl(t), "65624055-d088-44e6-9c98-b7cadd84885a");
    assert_eq!(b.mac(t), "6045BD7431F1");
    assert!(b.resource(t).ends_with("/virtualNetworks/flrunnersVnet"));
    let rec = b.record(t).unwrap();
    assert_eq!(rec.kind, RecordKind::Vnet { version: 4 });
    assert!(b.str(rec.flow_log).ends_with("/FLOWLOGS/FLRUNNERSFLOWLOG"));
    // The record straddles the hour: 22:59:43.200 in a 23:00:23 record.
    let early = find(&f, |t| t.ts_ms == 1_675_551_583_200);
    assert_eq!(
        b.rule_name(early[0].1),
        "Internet_d04abb96-9395-47cb-a760-7640a232c7a1"
    );
    assert!(rec.time_ms.unwrap() - early[0].1.ts_ms > 0);
    assert_eq!(
        rec.time_ms.unwrap() / 3_600_000 - early[0].1.ts_ms / 3_600_000,
        1
    );
    // The one allowed flow ended with counters both ways.
    let e = find(&f, |t| t.state == Some(FlowState::End));
    assert_eq!(
        e[0].1.counters,
        Some(Counters {
            pkts_src_to_dst: 15,
            bytes_src_to_dst: 8645,
            pkts_dst_to_src: 13,
            bytes_dst_to_src: 9044
        })
    );
}

#[test]
fn vnet_docs_overview_sample() {
    let f = load("vnet-v4_docs-overview-sample_1record.json");
    assert_clean(&f);
    assert_eq!((f.stats.records, f.tuple_count()), (1, 19));
    assert_eq!(states(&f), map(&[("B", 5), ("D", 9), ("E", 5)]));
    // AVNM rules without GUID suffix in this sample.
    let rules: std::collections::BTreeSet<&str> = f.tuples().map(|(b, t)| b.rule_name(t)).collect();
    assert!(
        rules.contains("BlockHighRiskTCPPortsFromInternet") && rules.contains("Internet"),
        "{rules:?}"
    );
    // B and D carry 0,0,0,0 (not empty).
    assert!(
        find(&f, |t| matches!(
            t.state,
            Some(FlowState::Begin | FlowState::Deny)
        ))
        .iter()
        .all(|(_, t)| t.counters.is_some_and(|c| c.is_zero()))
    );
}

#[test]
fn vnet_bare_record_without_wrapper() {
    let f = load("vnet-v4_docs-read-block-single-record-no-wrapper_avnm-guid-rules.json");
    assert_clean(&f);
    assert_eq!((f.stats.records, f.tuple_count()), (1, 10));
    assert_eq!(states(&f), map(&[("D", 10)]));
    let rdp = find(&f, |t| t.dport == 3389);
    assert_eq!(rdp.len(), 1);
    let (b, t) = rdp[0];
    assert_eq!(
        b.rule_name(t),
        "BlockHighRiskTCPPortsFromInternet_456b4993-6e57-4e46-aa4d-81767afff09c"
    );
    assert_eq!((t.src, t.dst), (ip("45.119.212.87"), ip("192.168.0.4")));
    assert_eq!(b.mac(t), "0022485D8CF8");
}

#[test]
fn vnet_nic_target_platform_rule_and_duplicates() {
    let name = "vnet-v4_nic-target_4records-2024_sumologic.json";
    let all = load_all(name);
    assert_eq!(
        (all.stats.records, all.tuple_count()),
        (4, 61),
        "SOURCES.md: 4 records, 61 tuples"
    );
    assert_eq!(states(&all), map(&[("B", 13), ("D", 36), ("E", 12)]));
    let tcp = find(&all, |t| t.proto == FlowProto::TCP).len();
    let udp = find(&all, |t| t.proto == FlowProto::UDP).len();
    assert_eq!((tcp, udp), (58, 3));

    let f = load(name);
    assert_clean(&f);
    assert_accounting(&f);
    assert_eq!(f.stats.records_duplicate, 1, "records[2] == records[3]");
    assert_eq!(f.stats.tuples_read, 61);
    assert_eq!(f.tuple_count(), 48);
    assert_eq!(f.stats.tuples_duplicate, 13);
    assert_eq!(states(&f), map(&[("B", 8), ("D", 31), ("E", 9)]));

    let b = &f.batches[0];
    assert!(
        b.resource(&f.batches[0].tuples[0])
            .ends_with("/networkInterfaces/labsvm1519")
    );
    // PlatformRule with the all-zero aclID: inbound from 40.87.x / 52.136.4.16, port 23456, E,1,128,0,0.
    let platform = find(&f, |t| b.rule_name(t) == "PlatformRule");
    assert!(!platform.is_empty());
    for (b, t) in &platform {
        assert_eq!(b.acl(t), "00000000-0000-0000-0000-000000000000");
        assert_eq!((t.sport, t.direction), (23456, Direction::Inbound));
    }
    // NSG acl ids are full resource ids in 2024 data.
    let nsg_acl = find(&f, |t| b.rule_name(t) == "DefaultRule_DenyAllInBound");
    assert!(
        b.acl(nsg_acl[0].1)
            .ends_with("/networkSecurityGroups/labsvm1-nsg")
    );
    // E listed before B at the same millisecond; both kept, in input order.
    let ntp = find(&f, |t| {
        t.sport == 123 && t.dport == 123 && t.ts_ms == 1_735_636_404_728
    });
    let st: Vec<_> = ntp.iter().map(|(_, t)| t.state).collect();
    assert_eq!(st, [Some(FlowState::End), Some(FlowState::Begin)]);
    assert_eq!(
        ntp[0].1.counters.unwrap().pkts_src_to_dst,
        27347,
        "NTP over UDP with real counters"
    );
    assert_eq!(ntp[0].1.proto, FlowProto::UDP);
}

#[test]
fn vnet_subnet_target_each_record_twice() {
    let name = "vnet-v4_subnet-target_4records-2024_sumologic.json";
    let all = load_all(name);
    assert_eq!((all.stats.records, all.tuple_count()), (4, 68));
    assert_eq!(states(&all), map(&[("B", 12), ("D", 42), ("E", 14)]));
    let f = load(name);
    assert_clean(&f);
    assert_accounting(&f);
    assert_eq!(f.stats.records_duplicate, 2);
    assert_eq!((f.stats.tuples_read, f.tuple_count()), (68, 33));
    assert_eq!(states(&f), map(&[("B", 5), ("D", 21), ("E", 7)]));
    let (b, r) = f.records().next().unwrap();
    assert!(
        b.str(r.resource)
            .ends_with("/virtualNetworks/labsvm1-vnet/subnets/default")
    );
}

#[test]
fn vnet_vnet_target_sorted_keys_jit_rule_and_tuple_times_three() {
    let name = "vnet-v4_vnet-target_8records-sortedkeys-2024_sumologic.json";
    let all = load_all(name);
    assert_eq!((all.stats.records, all.tuple_count()), (8, 166));
    assert_eq!(
        states(&all),
        map(&[("B", 10), ("C", 4), ("D", 134), ("E", 18)])
    );
    let f = load(name);
    assert_clean(&f);
    assert_accounting(&f);
    assert_eq!(
        f.stats.records_duplicate, 4,
        "records[4..7] == records[0..3]"
    );
    assert_eq!((f.stats.tuples_read, f.tuple_count()), (166, 81));
    assert_eq!(states(&f), map(&[("B", 5), ("C", 2), ("D", 65), ("E", 9)]));
    // Keys sorted alphabetically: `flowRecords` before `macAddress` and `time`.
    let (b, r) = f.records().next().unwrap();
    assert_eq!(b.str(r.mac), "000D3A359573");
    assert!(r.time_ms.is_some());
    assert!(b.str(r.resource).ends_with("/virtualNetworks/labsvm1-vnet"));
    // Defender JIT rule name kept whole.
    let jit = find(&f, |t| {
        b.rule_name(t)
            .starts_with("UserRule_MicrosoftDefenderForCloud-JITRule_")
    });
    assert_eq!(
        b.rule_name(jit[0].1),
        "UserRule_MicrosoftDefenderForCloud-JITRule_2017955537_88ABE006EA9C4130BF9065D4405169C7"
    );
    assert_eq!((jit[0].1.dport, jit[0].1.decision), (3389, Decision::Deny));
    // The tuple repeated ×3 in one flowGroup is kept once.
    let raw = String::from_utf8(bytes(name)).unwrap();
    let (repeated, n) = raw
        .split('"')
        .filter(|s| s.contains(",I,D,NX,"))
        .fold(BTreeMap::<&str, usize>::new(), |mut m, s| {
            *m.entry(s).or_default() += 1;
            m
        })
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .unwrap();
    assert_eq!(n, 6, "×3 in a record that is itself repeated: {repeated}");
    let t = flowlog::parse_tuple(repeated, flowlog::TupleLayout::Vnet).unwrap();
    let kept = find(&f, |k| {
        (k.ts_ms, k.src, k.sport, k.dport) == (t.ts_ms, t.src, t.sport, t.dport)
    });
    assert_eq!(kept.len(), 1);
}

#[test]
fn vnet_docs_error_nsg_tuple_in_vnet_record_is_rejected() {
    let name = "vnet-DOCS-ERROR_tutorial-record-with-nsg-v2-tuple_seconds-ts_resourceId-key.json";
    let raw = bytes(name);
    let f = flowlog::parse(name, &raw).unwrap();
    assert_accounting(&f);
    assert_eq!(f.tuple_count(), 0, "nothing mis-decoded");
    assert_eq!((f.stats.records, f.stats.records_skipped), (1, 1));
    assert_eq!((f.stats.tuples_read, f.stats.tuples_skipped), (1, 1));
    assert_eq!(f.issues.len(), 2, "{:#?}", f.issues);
    let [rec, tup] = &f.issues[..] else {
        unreachable!()
    };
    assert_eq!((rec.offset, rec.record), (0, Some(0)));
    assert_eq!(rec.kind, IssueKind::VnetWithResourceId);
    let msg = rec.to_string();
    assert!(
        msg.starts_with(&format!(
            "{name}: byte 0: record 0: FlowLogFlowEvent record with the NSG key `resourceId`"
        )),
        "{msg}"
    );
    let at = raw.windows(10).position(|w| w == b"1754512773").unwrap();
    assert_eq!((tup.offset, tup.record), (at as u64, Some(0)));
    let IssueKind::Tuple { loc, text, error } = &tup.kind else {
        panic!("{tup}")
    };
    assert_eq!(*error, TupleError::NsgLayoutInVnet);
    assert_eq!(
        loc.to_string(),
        "flowRecords.flows[0].flowGroups[0].flowTuples[0]"
    );
    assert_eq!(
        text,
        "1754512773,10.0.0.4,13.107.21.200,49982,443,T,O,A,C,7,1158,12,8143"
    );
    assert!(tup.to_string().contains("NSG v2 layout"), "{tup}");
}

// ---------------------------------------------------------- every sample

#[test]
fn every_sample_is_covered_and_parses() {
    let dir = data("flowlogs/samples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let covered = [
        "nsg-v1_docs-overview-sample_nested-records-BROKEN.json",
        "nsg-v1_docs-read-block-sample_tabs_empty-flows-arrays.json",
        "nsg-v1_pt1h-40records_dimitertodorov-nsg-parser.json",
        "nsg-v2_docs-overview-sample_2records.json",
        "nsg-v2_pt1h-8records-2024_sumologic.json",
        "vnet-DOCS-ERROR_tutorial-record-with-nsg-v2-tuple_seconds-ts_resourceId-key.json",
        "vnet-v4_avnm-guid-rules_1record-2023_jagilber-ps1.json",
        "vnet-v4_docs-overview-sample_1record.json",
        "vnet-v4_docs-read-block-single-record-no-wrapper_avnm-guid-rules.json",
        "vnet-v4_nic-target_4records-2024_sumologic.json",
        "vnet-v4_subnet-target_4records-2024_sumologic.json",
        "vnet-v4_vnet-target_8records-sortedkeys-2024_sumologic.json",
    ];
    assert_eq!(names, covered, "a new sample needs its own test");
    for n in &names {
        let f = load(n);
        assert_accounting(&f);
        // Chunked in parallel (forced, one record a chunk) gives the same result.
        let opts = ParseOptions {
            parallel_min_bytes: 0,
            chunk_bytes: 1,
            min_chunk_records: 1,
            ..ParseOptions::default()
        };
        let g = flowlog::parse_with(n.as_str(), &bytes(n), &opts).unwrap();
        assert_eq!(g.stats, f.stats, "{n}");
        assert_eq!(g.issues, f.issues, "{n}");
        let a: Vec<_> = f
            .tuples()
            .map(|(b, t)| (*t.clone_without_refs(), b.rule_name(t), b.acl(t), b.mac(t)))
            .collect();
        let c: Vec<_> = g
            .tuples()
            .map(|(b, t)| (*t.clone_without_refs(), b.rule_name(t), b.acl(t), b.mac(t)))
            .collect();
        assert_eq!(a, c, "{n}");
    }
}

/// Field-wise view of a tuple without its per-batch indices.
trait WithoutRefs {
    fn clone_without_refs(&self) -> Box<FlowTuple>;
}

impl WithoutRefs for FlowTuple {
    fn clone_without_refs(&self) -> Box<FlowTuple> {
        Box::new(FlowTuple {
            rule: Default::default(),
            record: 0,
            ..*self
        })
    }
}

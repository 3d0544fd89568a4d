//! Bad, odd and hostile flow-log input: every problem is reported with the
//! byte offset and record, nothing panics, nothing is mis-decoded, and the
//! rest of the input is used.

use aibnet::flowlog::{
    self, Dropped, FlowLogFile, IssueKind, MAX_ISSUES, ParseOptions, TupleError, TupleLayout,
};
use proptest::prelude::*;

use crate::common::flowlog_sample;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(flowlog_sample(name)).unwrap()
}

fn parse(b: &[u8]) -> FlowLogFile {
    flowlog::parse("t.json", b).unwrap()
}

const NSG: &str = r#"{"time":"2024-08-19T18:00:06.8944384Z","category":"NetworkSecurityGroupFlowEvent","resourceId":"/NSG","macAddress":"AA","properties":{"Version":2,"flows":[{"rule":"R","flows":[{"mac":"AA","flowTuples":["1724090346,10.1.0.4,20.98.192.237,35620,443,T,O,A,E,1,74,0,0"]}]}]}}"#;
const VNET: &str = r#"{"time":"2024-12-31T09:13:37.757Z","category":"FlowLogFlowEvent","flowLogVersion":4,"targetResourceID":"/NIC","macAddress":"BB","flowRecords":{"flows":[{"aclID":"/NSG","flowGroups":[{"rule":"R","flowTuples":["1735636357995,10.1.0.4,20.10.127.193,56354,443,6,O,E,NX,8,5183,9,6707"]}]}]}}"#;

fn blob(records: &[&str]) -> String {
    format!("{{\"records\":[{}]}}", records.join(","))
}

#[test]
fn truncated_blob_keeps_every_complete_record_at_every_cut() {
    let full_bytes = sample("nsg-v2_pt1h-8records-2024_sumologic.json");
    let full = parse(&full_bytes);
    let starts: Vec<u64> = full.records().map(|(_, r)| r.offset).collect();
    assert_eq!(starts.len(), 8);
    // Record k ends where record k+1 starts minus its comma; the last one
    // ends before the closing `]}`.
    let mut ends: Vec<u64> = starts.iter().skip(1).map(|s| s - 1).collect();
    ends.push(full_bytes.len() as u64 - 2);
    for cut in (0..full_bytes.len())
        .step_by(7)
        .chain([12, 13, full_bytes.len() - 1])
    {
        let f = match flowlog::parse("cut.json", &full_bytes[..cut]) {
            Ok(f) => f,
            Err(e) => {
                assert!(cut == 0, "{cut}: {e}");
                continue;
            }
        };
        let complete = ends.iter().filter(|&&e| e <= cut as u64).count();
        assert_eq!(f.records().count(), complete, "cut at {cut}");
        assert_eq!(f.stats.records, complete as u64);
        // Every kept tuple is one of the full file's, in the same order.
        let all: Vec<_> = full.tuples().map(|(_, t)| *t).collect();
        let kept: Vec<_> = f.tuples().map(|(_, t)| *t).collect();
        assert_eq!(kept[..], all[..kept.len()], "cut at {cut}");
        let c = cut as u64;
        let inside = (0..starts.len()).find(|&k| starts[k] <= c && c < ends[k]);
        if let Some(k) = inside {
            let t = f
                .issues
                .iter()
                .find(|i| matches!(i.kind, IssueKind::Truncated { .. }));
            let t = t.unwrap_or_else(|| panic!("cut {cut}: {:#?}", f.issues));
            assert_eq!(
                (t.offset, t.record),
                (starts[k], Some(k as u32)),
                "cut at {cut}"
            );
            assert_eq!(
                t.kind,
                IssueKind::Truncated {
                    kept: k as u32,
                    len: cut as u64
                }
            );
            assert_eq!(t.kind.dropped(), Dropped::Rest);
            assert!(f.truncated());
            let msg = t.to_string();
            assert!(
                msg.starts_with(&format!(
                    "cut.json: byte {}: record {k}: input ends inside this record",
                    starts[k]
                )),
                "{msg}"
            );
        }
    }
    // Cut right after the last record's `}`: nothing lost, reported as unclosed.
    let f = parse(&full_bytes[..full_bytes.len() - 2]);
    assert_eq!(f.records().count(), 8);
    assert!(
        matches!(f.issues[..], [ref i] if i.kind == IssueKind::Unclosed),
        "{:#?}",
        f.issues
    );
}

#[test]
fn not_json_is_an_error_with_offset() {
    let e = flowlog::parse("x.json", b"\xef\xbb\xbf  \n hello").unwrap_err();
    assert_eq!(
        e.to_string(),
        "x.json: byte 7: not a flow log: expected a JSON object `{` or array `[`"
    );
    assert!(flowlog::parse("e", b"").is_err());
    assert!(flowlog::parse("e", b"   ").is_err());
}

#[test]
fn bom_whitespace_array_and_json_lines() {
    let mut b = b"\xef\xbb\xbf\r\n\t ".to_vec();
    b.extend_from_slice(blob(&[NSG, VNET]).as_bytes());
    let f = parse(&b);
    assert!(f.issues.is_empty(), "{:#?}", f.issues);
    assert_eq!((f.stats.records, f.tuple_count()), (2, 2));
    let f = parse(format!("[{NSG},{VNET}]").as_bytes());
    assert_eq!((f.stats.records, f.tuple_count()), (2, 2));
    let f = parse(format!("{NSG}\n{VNET}\n").as_bytes());
    assert!(f.issues.is_empty(), "{:#?}", f.issues);
    assert_eq!((f.stats.records, f.tuple_count()), (2, 2));
    // Other top-level keys before and after `records`.
    let f = parse(format!("{{\"x\":{{\"records\":1}},\"records\":[{NSG}],\"y\":[]}}").as_bytes());
    assert!(f.issues.is_empty(), "{:#?}", f.issues);
    assert_eq!(f.tuple_count(), 1);
}

#[test]
fn record_level_problems_skip_that_record_only() {
    let bad_category = NSG.replace("NetworkSecurityGroupFlowEvent", "SomethingElse");
    let mismatch = NSG.replace("NetworkSecurityGroupFlowEvent", "FlowLogFlowEvent");
    let v3 = NSG.replace("\"Version\":2", "\"Version\":3");
    let no_flows = r#"{"time":"2024-08-19T18:00:06Z","category":"FlowLogFlowEvent"}"#;
    let bad_json = NSG.replace("\"rule\":\"R\"", "\"rule\":7");
    let records = [
        NSG,
        &bad_category,
        &mismatch,
        &v3,
        no_flows,
        &bad_json,
        "42",
        VNET,
    ];
    let text = blob(&records);
    let f = parse(text.as_bytes());
    assert_eq!(f.stats.records, 8);
    assert_eq!(f.stats.records_skipped, 6);
    assert_eq!(f.tuple_count(), 2, "records 0 and 7 are used");
    let kinds: Vec<(Option<u32>, &IssueKind)> =
        f.issues.iter().map(|i| (i.record, &i.kind)).collect();
    assert_eq!(kinds.len(), 6, "{:#?}", f.issues);
    assert_eq!(
        kinds[0],
        (Some(1), &IssueKind::UnknownCategory("SomethingElse".into()))
    );
    assert!(
        matches!(kinds[1], (Some(2), IssueKind::CategoryMismatch { .. })),
        "{:?}",
        kinds[1]
    );
    assert_eq!(kinds[2], (Some(3), &IssueKind::UnsupportedNsgVersion(3)));
    assert_eq!(kinds[3], (Some(4), &IssueKind::NoFlows));
    assert!(
        matches!(kinds[4], (Some(5), IssueKind::Json(m)) if m.contains("invalid type")),
        "{:?}",
        kinds[4]
    );
    assert_eq!(kinds[5], (Some(6), &IssueKind::NotAnObject));
    // Offsets: each issue points into its own record.
    let starts: Vec<usize> = {
        let mut v = Vec::new();
        let mut at = "{\"records\":[".len();
        for r in &records {
            v.push(at);
            at += r.len() + 1;
        }
        v
    };
    for i in &f.issues {
        let k = i.record.unwrap() as usize;
        let (lo, hi) = (starts[k] as u64, (starts[k] + records[k].len()) as u64);
        assert!((lo..hi).contains(&i.offset), "{i} not in {lo}..{hi}");
    }
    // The JSON error names the byte of the bad value.
    let json = &f.issues[4];
    assert_eq!(text.as_bytes()[json.offset as usize], b'7', "{json}");
}

#[test]
fn notes_keep_the_record() {
    let v5 = VNET.replace("\"flowLogVersion\":4", "\"flowLogVersion\":5");
    let bad_time = NSG.replace("2024-08-19T18:00:06.8944384Z", "yesterday");
    let f = parse(blob(&[&v5, &bad_time]).as_bytes());
    assert_eq!(f.tuple_count(), 2);
    assert_eq!(f.stats.records_skipped, 0);
    assert_eq!(f.issues[0].kind, IssueKind::UnknownVnetVersion(5));
    assert_eq!(f.issues[1].kind, IssueKind::BadTime("yesterday".into()));
    assert!(
        f.issues
            .iter()
            .all(|i| i.kind.dropped() == Dropped::Nothing)
    );
    let (_, r) = f.records().nth(1).unwrap();
    assert_eq!(r.time_ms, None);
}

#[test]
fn bad_tuples_are_skipped_with_exact_offsets() {
    let rec = NSG.replace(
        r#""flowTuples":["1724090346,10.1.0.4,20.98.192.237,35620,443,T,O,A,E,1,74,0,0"]"#,
        r#""flowTuples":["1724090346,10.1.0.4,20.98.192.237,35620,443,T,O,A,E,1,74,0,0","1724090346,10.1.0.400,1.2.3.4,1,2,T,O,A,B,,,,","1724090346,10.1.0.4,1.2.3.4,1,2,T,O,A","  1724090347,10.1.0.4,20.98.192.237,35620,443,T,O,A,B,,,, "]"#,
    );
    let text = blob(&[&rec]);
    let f = parse(text.as_bytes());
    assert_eq!(
        (f.stats.tuples_read, f.tuple_count(), f.stats.tuples_skipped),
        (4, 2, 2)
    );
    assert_eq!(f.issues.len(), 2, "{:#?}", f.issues);
    let IssueKind::Tuple {
        loc,
        text: t,
        error,
    } = &f.issues[0].kind
    else {
        panic!()
    };
    assert_eq!(
        loc.to_string(),
        "properties.flows[0].flows[0].flowTuples[1]"
    );
    assert_eq!(error.field(), Some(1));
    let at = text.find("1724090346,10.1.0.400").unwrap();
    assert_eq!(f.issues[0].offset, at as u64);
    assert!(t.contains("10.1.0.400"));
    assert!(
        f.issues[0]
            .to_string()
            .contains("field 1 (source ip) is not an IP address"),
        "{}",
        f.issues[0]
    );
    let IssueKind::Tuple { error, .. } = &f.issues[1].kind else {
        panic!()
    };
    assert_eq!(
        *error,
        TupleError::FieldCount {
            found: 8,
            expected: "13 (NSG version 2)"
        }
    );
}

#[test]
fn issues_are_capped_and_counted() {
    let many: Vec<String> = (0..300).map(|i| format!("\"{i},bad\"")).collect();
    let rec = VNET.replace(
        r#""flowTuples":["1735636357995,10.1.0.4,20.10.127.193,56354,443,6,O,E,NX,8,5183,9,6707"]"#,
        &format!("\"flowTuples\":[{}]", many.join(",")),
    );
    let f = parse(blob(&[&rec]).as_bytes());
    assert_eq!(f.issues.len(), MAX_ISSUES);
    assert_eq!(f.stats.issues_dropped, 300 - MAX_ISSUES as u64);
    assert_eq!(f.stats.tuples_skipped, 300);
}

#[test]
fn duplicates_across_chunk_boundaries_are_found_like_in_one_pass() {
    // 40 records; record k repeats one tuple of record k-1 and one of its own.
    let mut recs = Vec::new();
    for k in 0..40u64 {
        let t = |j: u64| {
            format!(
                "\"{},10.0.0.4,20.1.{k}.{j},4000,443,6,O,E,NX,1,2,3,4\"",
                1_735_636_000_000 + k * 60_000 + j
            )
        };
        let prev = |j: u64| {
            format!(
                "\"{},10.0.0.4,20.1.{}.{j},4000,443,6,O,E,NX,1,2,3,4\"",
                1_735_636_000_000 + (k.max(1) - 1) * 60_000 + j,
                k.max(1) - 1
            )
        };
        let tuples = [t(0), t(1), t(1), prev(0)].join(",");
        recs.push(
            VNET.replace(
                r#""1735636357995,10.1.0.4,20.10.127.193,56354,443,6,O,E,NX,8,5183,9,6707""#,
                &tuples,
            )
            .replace("09:13:37.757", &format!("09:{:02}:37.757", k)),
        );
    }
    let refs: Vec<&str> = recs.iter().map(String::as_str).collect();
    let text = blob(&refs);
    let one = parse(text.as_bytes());
    assert_eq!(one.stats.tuples_read, 160);
    assert_eq!(one.tuple_count(), 80, "two distinct tuples per record");
    for (chunk, min) in [(1, 1), (1, 3), (4000, 1), (1, 8)] {
        let opts = ParseOptions {
            parallel_min_bytes: 0,
            chunk_bytes: chunk,
            min_chunk_records: min,
            ..ParseOptions::default()
        };
        let many = flowlog::parse_with("t", text.as_bytes(), &opts).unwrap();
        assert!(many.batches.len() > 1, "{chunk}/{min}");
        assert_eq!(many.stats, one.stats, "{chunk}/{min}");
        let a: Vec<_> = one.tuples().map(|(_, t)| (t.ts_ms, t.dst)).collect();
        let b: Vec<_> = many.tuples().map(|(_, t)| (t.ts_ms, t.dst)).collect();
        assert_eq!(a, b, "{chunk}/{min}");
    }
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("1724090346".to_string()),
        Just("1735636357995".to_string()),
        Just("99999999999999999999".to_string()),
        Just("10.1.0.4".to_string()),
        Just("10.1.0.256".to_string()),
        Just("1.2.3".to_string()),
        Just("2001:db8::1".to_string()),
        Just("443".to_string()),
        Just("65536".to_string()),
        Just("007".to_string()),
        Just("6".to_string()),
        Just("17".to_string()),
        Just("256".to_string()),
        "[TUIOADBCEX]",
        Just("NX".to_string()),
        Just("NX_LOCAL_DST".to_string()),
        Just(" 5".to_string()),
        Just("é".to_string()),
        "[0-9]{1,3}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The fast path and the field-splitting parser agree on everything.
    #[test]
    fn fast_and_checked_parsers_agree(fields in prop::collection::vec(field(), 6..15), layout in 0..4u8) {
        let layout = [TupleLayout::NsgV1, TupleLayout::NsgV2, TupleLayout::NsgAny, TupleLayout::Vnet][layout as usize];
        let s = fields.join(",");
        let fast = flowlog::parse_tuple(&s, layout);
        let slow = flowlog::tuple::checked(&s, layout);
        prop_assert_eq!(fast, slow, "{}", s);
    }

    /// Arbitrary damage to a real file never panics, and every issue
    /// points inside the input.
    #[test]
    fn damaged_input_never_panics(edits in prop::collection::vec((0..13982usize, any::<u8>()), 1..20), cut in 0..14000usize) {
        let mut b = sample("nsg-v2_pt1h-8records-2024_sumologic.json");
        for (at, v) in edits {
            if let Some(x) = b.get_mut(at) { *x = v; }
        }
        b.truncate(cut);
        if let Ok(f) = flowlog::parse("d", &b) {
            for i in &f.issues {
                prop_assert!(i.offset <= b.len() as u64, "{}", i);
            }
            prop_assert_eq!(
                f.tuple_count() as u64,
                f.stats.tuples_read - f.stats.tuples_duplicate - f.stats.tuples_skipped
            );
        }
    }
}

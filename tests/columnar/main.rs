//! Columnar output (`--format parquet|arrow`) and its reading back, on every
//! capture and flow log in the repository: the Parquet and Arrow IPC files,
//! read with the crates' own readers, hold the JSON output field by field
//! (types, nulls, timestamps); batches of one input each merge into what
//! `sessions` gives on all of them; and `builds` over per-input partials
//! in both passes gives the runs `builds` gives on one machine.

#[path = "../common/mod.rs"]
mod common;
#[path = "../builds/support.rs"]
mod support;

use aibnet::analyze::{Options, analyze_paths};
use aibnet::columnar::{self, Encoding};
use aibnet::report::{OutputFormat, Render, SessionsReport, Style};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int8Type, Int32Type, TimestampMillisecondType, TimestampNanosecondType, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use common::{aibnet, repo};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

/// Every folder of evidence in the repository: each lab scenario, the
/// third-party traces, the flow-log samples and the busy-VNET sets.
fn evidence_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for root in ["captures", "tests/data/busy-vnet"] {
        let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join(root))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        v.sort();
        dirs.extend(v);
    }
    dirs.push(common::traces());
    dirs.push(common::data("flowlogs/samples"));
    dirs.push(common::data("zeek"));
    dirs
}

/// The flow logs of every lab scenario in one tree, each scenario shifted
/// six hours after the one before (as `tests/builds/lab.rs` lays them out):
/// a run per scenario, at the same addresses.
fn lab_tree() -> tempfile::TempDir {
    let tree = tempfile::tempdir().unwrap();
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(repo().join("captures"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("flowlogs").is_dir())
        .collect();
    scenarios.sort();
    for (i, s) in scenarios.iter().enumerate() {
        let name = s.file_name().unwrap();
        support::shift_flowlogs(&s.join("flowlogs"), &tree.path().join(name), 6 * i as i64);
    }
    tree
}

/// A capture whose ICMP error is linked to the session it names (no
/// recorded capture in the repository has one): the Zeek trace's error with
/// the datagram it quotes put in front of it.
fn icmp_linked_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bytes =
        std::fs::read(common::trace("zeek-icmp-unreach/icmp-destunreach-udp.pcap")).unwrap();
    std::fs::write(
        dir.path().join("udp-then-unreachable.pcap"),
        common::bytes::quoted_datagram_first(&bytes),
    )
    .unwrap();
    dir
}

fn json_doc(a: &aibnet::analyze::Analysis) -> Value {
    let mut out = Vec::new();
    SessionsReport {
        analysis: a,
        sessions: &a.sessions,
        filter: &Default::default(),
    }
    .render(OutputFormat::Json, &Style::plain(), &mut out)
    .unwrap();
    serde_json::from_slice(&out).unwrap()
}

/// A Parquet file's batches, with the schema (and its metadata) the file
/// declares.
fn read_parquet(bytes: Vec<u8>) -> (SchemaRef, Vec<RecordBatch>) {
    let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::from(bytes),
    )
    .unwrap();
    let schema = Arc::clone(b.schema());
    (schema, b.build().unwrap().map(Result::unwrap).collect())
}

/// An Arrow IPC stream's batches, with its schema.
fn read_ipc(bytes: Vec<u8>) -> (SchemaRef, Vec<RecordBatch>) {
    let r = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
    let schema = r.schema();
    (schema, r.map(Result::unwrap).collect())
}

/// A cell as JSON writes it: timestamps as RFC 3339 at `digits`.
fn cell(a: &dyn Array, i: usize, digits: u8) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Dictionary(k, _) => {
            // The key by its type (normalized_keys would decode the whole
            // column for every cell).
            let (key, values) = match k.as_ref() {
                DataType::Int8 => {
                    let d = a.as_dictionary::<Int8Type>();
                    (d.keys().value(i) as usize, d.values())
                }
                DataType::Int32 => {
                    let d = a.as_dictionary::<Int32Type>();
                    (d.keys().value(i) as usize, d.values())
                }
                t => panic!("unexpected dictionary key type {t}"),
            };
            cell(values.as_ref(), key, digits)
        }
        DataType::Utf8 => json!(a.as_string::<i32>().value(i)),
        DataType::UInt8 => json!(a.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => json!(a.as_primitive::<arrow_array::types::UInt16Type>().value(i)),
        DataType::UInt32 => json!(a.as_primitive::<arrow_array::types::UInt32Type>().value(i)),
        DataType::UInt64 => json!(a.as_primitive::<arrow_array::types::UInt64Type>().value(i)),
        DataType::Float64 => json!(a.as_primitive::<arrow_array::types::Float64Type>().value(i)),
        DataType::Timestamp(TimeUnit::Nanosecond, Some(tz)) if tz.as_ref() == "UTC" => json!(
            aibnet::time::rfc3339(a.as_primitive::<TimestampNanosecondType>().value(i), digits)
        ),
        DataType::Timestamp(TimeUnit::Millisecond, Some(tz)) if tz.as_ref() == "UTC" => {
            json!(aibnet::time::rfc3339(
                a.as_primitive::<TimestampMillisecondType>().value(i) * 1_000_000,
                3
            ))
        }
        DataType::List(_) => {
            let l = a.as_list::<i32>().value(i);
            Value::Array((0..l.len()).map(|j| cell(l.as_ref(), j, digits)).collect())
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            Value::Object(
                fields
                    .iter()
                    .zip(s.columns())
                    .map(|(f, c)| (f.name().clone(), cell(c.as_ref(), i, digits)))
                    .collect(),
            )
        }
        t => panic!("unexpected column type {t}"),
    }
}

/// The rows of session batches as the JSON contract's objects: the added
/// columns (`ip_proto`, `ts_digits`, `payload_cut`, `icmp_error.ts`) left out, and the
/// flow-log fields of capture sessions (all null) too, as JSON leaves them
/// out.
fn session_rows(batches: &[RecordBatch]) -> Vec<Value> {
    let mut rows = Vec::new();
    for b in batches {
        let digits = b
            .column_by_name("ts_digits")
            .unwrap()
            .as_primitive::<UInt8Type>();
        for i in 0..b.num_rows() {
            let d = digits.value(i);
            let mut m = serde_json::Map::new();
            for (f, c) in b.schema().fields().iter().zip(b.columns()) {
                if matches!(f.name().as_str(), "ip_proto" | "ts_digits" | "payload_cut") {
                    continue;
                }
                let mut v = cell(c.as_ref(), i, d);
                if let Value::Object(o) = &mut v {
                    o.remove("ts");
                }
                m.insert(f.name().clone(), v);
            }
            rows.push(Value::Object(m));
        }
    }
    rows
}

/// A JSON session with the flow-log keys a capture session leaves out
/// filled with null, as the columns have them.
fn with_flow_keys(mut v: Value) -> Value {
    if let Value::Object(o) = &mut v {
        for k in [
            "decision",
            "rule",
            "direction",
            "flow_state",
            "nsg",
            "target",
            "note",
        ] {
            o.entry(k).or_insert(Value::Null);
        }
    }
    v
}

fn assert_rows_match(ctx: &str, rows: &[Value], want: &Value) {
    let want = want["sessions"].as_array().unwrap();
    assert_eq!(rows.len(), want.len(), "{ctx}: session count");
    for (i, (got, w)) in rows.iter().zip(want).enumerate() {
        assert_eq!(got, &with_flow_keys(w.clone()), "{ctx}: session {i}");
    }
}

/// Every folder: Parquet and Arrow IPC read back equal the JSON, session by
/// session and field by field; the metadata carries the JSON's inputs and
/// skipped inputs; the column types are the contract's.
#[test]
fn parquet_and_arrow_equal_the_json() {
    let mut sessions = 0;
    let mut flow = 0;
    let mut icmp = 0;
    let mut nanos = 0;
    let linked = icmp_linked_dir();
    for dir in evidence_dirs()
        .into_iter()
        .chain([linked.path().to_path_buf()])
    {
        let ctx = dir.display().to_string();
        let a = analyze_paths(std::slice::from_ref(&dir), &Options::default());
        let want = json_doc(&a);
        for enc in [Encoding::Parquet, Encoding::ArrowStream] {
            let mut out = Vec::new();
            columnar::write_sessions(enc, &a, &a.sessions, &Default::default(), &mut out).unwrap();
            let (schema, batches) = match enc {
                Encoding::Parquet => read_parquet(out),
                Encoding::ArrowStream => read_ipc(out),
            };
            let md = schema.metadata();
            let inputs: Value = serde_json::from_str(&md["aibnet.inputs"]).unwrap();
            assert_eq!(inputs, want["inputs"], "{ctx}: inputs");
            let skipped: Value = serde_json::from_str(&md["aibnet.skipped"]).unwrap();
            assert_eq!(skipped, want["skipped"], "{ctx}: skipped");
            let ty = |n: &str| schema.field_with_name(n).unwrap().data_type().clone();
            assert_eq!(
                ty("first_ts"),
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
            );
            assert_eq!(ty("orig_p"), DataType::UInt16);
            assert_eq!(ty("orig_pkts"), DataType::UInt64);
            for n in ["proto", "state", "decision", "rule", "nsg"] {
                assert!(
                    matches!(ty(n), DataType::Dictionary(_, _)),
                    "{n} is dictionary-encoded"
                );
            }
            assert!(!schema.field_with_name("orig_h").unwrap().is_nullable());
            assert!(schema.field_with_name("icmp_error").unwrap().is_nullable());
            let rows = session_rows(&batches);
            assert_rows_match(&format!("{ctx} {enc:?}"), &rows, &want);
        }
        let all = want["sessions"].as_array().unwrap();
        sessions += all.len();
        flow += all.iter().filter(|s| s.get("decision").is_some()).count();
        icmp += all.iter().filter(|s| !s["icmp_error"].is_null()).count();
        nanos += all
            .iter()
            .filter(|s| s["first_ts"].as_str().is_some_and(|t| t.len() > 27))
            .count();
    }
    // The comparison covered what it must: flow-log fields, ICMP errors
    // and nanosecond times.
    assert!(sessions > 1000, "{sessions} sessions");
    assert!(flow > 100, "{flow} flow-log sessions");
    assert!(icmp > 0, "no ICMP error compared");
    assert!(nanos > 0, "no nanosecond timestamp compared");
}

/// Batches of one input each, merged, are what `sessions` gives on the
/// whole folder (inputs numbered in path order, views coalesced, flows
/// joined across hourly blobs).
#[test]
fn merged_batches_equal_sessions_of_the_folder() {
    let linked = icmp_linked_dir();
    for dir in evidence_dirs()
        .into_iter()
        .chain([linked.path().to_path_buf()])
    {
        let ctx = dir.display().to_string();
        let whole = analyze_paths(std::slice::from_ref(&dir), &Options::default());
        let mut batches = Vec::new();
        // In reverse path order: the merge must not depend on it.
        for r in whole.inputs.iter().rev() {
            let raw = std::fs::read(&r.path).unwrap();
            let one = aibnet::analyze::analyze_bytes(r.path.clone(), raw, &Options::default());
            batches.push(columnar::sessions_batch(&one, &[]).unwrap());
        }
        let (merged, _) = columnar::analysis_of(&batches).unwrap();
        assert_eq!(json_doc(&merged), json_doc(&whole), "{ctx}");
    }
}

/// `builds` over per-input partials, first and second pass, in any order,
/// is `builds` on the folder.
#[test]
fn builds_of_partials_equal_builds() {
    use aibnet::builds::{NoProgress, Options as BuildOptions, builds_paths};
    use aibnet::columnar::partial;
    let opts = BuildOptions::default();
    let scan_opts = opts.scan_options();
    let (mut runs, mut bare, mut with_sessions) = (0, 0, 0);
    let lab = lab_tree();
    for dir in [
        lab.path().to_path_buf(),
        repo().join("captures"),
        repo().join("tests/data/busy-vnet"),
    ] {
        let ctx = dir.display().to_string();
        let want = builds_paths(std::slice::from_ref(&dir), &opts, &NoProgress);
        let files: Vec<(String, Vec<u8>)> = want
            .inputs
            .iter()
            .rev()
            .map(|r| (r.path.clone(), std::fs::read(&r.path).unwrap()))
            .collect();
        let first: Vec<RecordBatch> = files
            .iter()
            .map(|(p, b)| partial::scan_partial(p.clone(), b.clone(), &scan_opts, None).unwrap())
            .collect();
        // A partial without sessions (every flow log's first pass) carries
        // no columns; one with sessions, the sessions' schema.
        for (b, (p, _)) in first.iter().zip(&files) {
            if b.num_rows() == 0 {
                assert_eq!(b.num_columns(), 0, "{p}");
                bare += 1;
            } else {
                let want = columnar::sessions_schema(&[], &[], &[]).unwrap();
                assert_eq!(b.schema().fields(), want.fields(), "{p}");
                with_sessions += 1;
            }
        }
        let look = partial::look_of(&first).unwrap();
        let mut all = first.clone();
        for ((p, b), f) in files.iter().zip(&first) {
            if partial::rereads(f, &look).unwrap() {
                all.insert(
                    0,
                    partial::scan_partial(p.clone(), b.clone(), &scan_opts, Some(&look)).unwrap(),
                );
            }
        }
        let got = partial::builds_of(&all, &look, &opts).unwrap();
        let doc = |b: &aibnet::builds::Builds| {
            let mut out = Vec::new();
            b.render(OutputFormat::Json, &Style::plain(), &mut out)
                .unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(doc(&got), doc(&want), "{ctx}");
        // The same through Arrow IPC streams, as partials travel between
        // processes: compressed (`partial::ipc`) and, as another writer
        // may send them, not.
        let mut set = partial::PartialSet::default();
        let (mut plain_bytes, mut sent_bytes) = (0, 0);
        for (k, b) in all.iter().enumerate() {
            let mut w =
                arrow_ipc::writer::StreamWriter::try_new(Vec::new(), b.schema_ref()).unwrap();
            w.write(b).unwrap();
            let plain = w.into_inner().unwrap();
            let sent = partial::ipc(b).unwrap();
            plain_bytes += plain.len();
            sent_bytes += sent.len();
            set.add_ipc(if k % 2 == 0 { &sent } else { &plain })
                .unwrap();
        }
        assert_eq!(
            doc(&set.builds(&look, &opts)),
            doc(&want),
            "{ctx}: through IPC"
        );
        assert!(
            sent_bytes < plain_bytes,
            "{ctx}: {sent_bytes} >= {plain_bytes}"
        );
        runs += want.runs.len();
    }
    assert!(runs >= 15, "{runs} runs compared");
    assert!(
        bare >= 10 && with_sessions >= 5,
        "{bare} partials without sessions, {with_sessions} with"
    );
}

/// `aibnet builds --format parquet -o FILE`: one row per run, the JSON's
/// `runs[]` field by field (nested documents as their JSON text).
#[test]
fn builds_parquet_equals_runs_json() {
    let lab = lab_tree();
    let dir = lab.path();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("runs.parquet");
    let out = aibnet()
        .args(["builds", "--format", "parquet", "-o"])
        .arg(&file)
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.stdout.is_empty(), "-o writes nothing to stdout");
    let json = aibnet()
        .args(["builds", "--format", "json"])
        .arg(dir)
        .output()
        .unwrap();
    let want: Value = serde_json::from_slice(&json.stdout).unwrap();
    let want = want["runs"].as_array().unwrap();
    let (_, batches) = read_parquet(std::fs::read(&file).unwrap());
    let mut rows = Vec::new();
    for b in &batches {
        for i in 0..b.num_rows() {
            let mut m = serde_json::Map::new();
            for (f, c) in b.schema().fields().iter().zip(b.columns()) {
                let mut v = cell(c.as_ref(), i, 3);
                if matches!(f.name().as_str(), "roles" | "hops" | "findings") {
                    v = serde_json::from_str(v.as_str().unwrap()).unwrap();
                }
                m.insert(f.name().clone(), v);
            }
            rows.push(Value::Object(m));
        }
    }
    assert!(want.len() >= 10, "{} runs", want.len());
    assert_eq!(rows.len(), want.len());
    for (got, w) in rows.iter().zip(want) {
        assert_eq!(got, w);
    }
}

/// `sessions --format arrow` to standard output is the Arrow IPC stream of
/// `--format parquet -o`, and a terminal gets neither.
#[test]
fn sessions_arrow_on_stdout() {
    let dir = common::captures("healthy-linux");
    let out = aibnet()
        .args(["sessions", "--format", "arrow"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (_, ipc) = read_ipc(out.stdout);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("s.parquet");
    let st = aibnet()
        .args(["sessions", "--format", "parquet", "-o"])
        .arg(&file)
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let (_, pq) = read_parquet(std::fs::read(&file).unwrap());
    assert_eq!(session_rows(&ipc), session_rows(&pq));
    assert!(!session_rows(&ipc).is_empty());
}

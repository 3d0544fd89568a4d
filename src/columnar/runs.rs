//! The runs of `builds` as one record batch.
//!
//! Built from the JSON contract's own view of a run (`RunJson`), so that
//! every column holds exactly what `runs[]` holds: times as the JSON's
//! millisecond instants, the vocabularies dictionary-encoded, the lists as
//! lists, and the nested documents (`roles`, `hops`, `findings`) as their
//! JSON text — their shapes vary with the findings, and a reader that wants
//! them typed parses one column (`from_json` in Spark and DuckDB).

use super::ColumnarError;
use super::sessions::{META_VERSION, dict8};
use crate::builds::Builds;
use crate::report::builds::{RunJson, SummaryJson};
use arrow_array::builder::{
    Float64Builder, ListBuilder, StringBuilder, StringDictionaryBuilder,
    TimestampMillisecondBuilder, UInt64Builder,
};
use arrow_array::types::Int8Type;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Metadata key: the JSON contract's `summary` of the runs.
pub(super) const META_SUMMARY: &str = "aibnet.summary";

fn list_of(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t, true)))
}

fn run_fields() -> Vec<Field> {
    let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("start", ts.clone(), false),
        Field::new("end", ts, false),
        Field::new("duration_s", DataType::Float64, false),
        Field::new("os", dict8(), false),
        Field::new("topology", dict8(), false),
        Field::new("proxy", DataType::Utf8, true),
        Field::new("build_vm", DataType::Utf8, true),
        Field::new("verdict", dict8(), false),
        Field::new("first_broken_hop", dict8(), true),
        Field::new("finding_ids", list_of(DataType::Utf8), false),
        Field::new("roles", DataType::Utf8, false),
        Field::new("hops", DataType::Utf8, false),
        Field::new("findings", DataType::Utf8, false),
        Field::new("sessions", DataType::UInt64, false),
        Field::new("inputs", list_of(DataType::Utf8), false),
        Field::new("nsgs", list_of(DataType::Utf8), false),
        Field::new("macs", list_of(DataType::Utf8), false),
    ]
}

/// The runs as one record batch (the summary in the schema's metadata).
pub fn runs_batch(b: &Builds) -> Result<RecordBatch, ColumnarError> {
    let metadata = HashMap::from([
        (
            META_VERSION.to_string(),
            crate::report::SCHEMA_VERSION.to_string(),
        ),
        (
            META_SUMMARY.to_string(),
            serde_json::to_string(&SummaryJson::of(b))?,
        ),
    ]);
    let schema = Arc::new(Schema::new_with_metadata(run_fields(), metadata));
    let n = b.runs.len();
    let mut id = StringBuilder::new();
    let mut start = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut end = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut duration = Float64Builder::with_capacity(n);
    let mut os = StringDictionaryBuilder::<Int8Type>::new();
    let mut topology = StringDictionaryBuilder::<Int8Type>::new();
    let mut proxy = StringBuilder::new();
    let mut build_vm = StringBuilder::new();
    let mut verdict = StringDictionaryBuilder::<Int8Type>::new();
    let mut broken = StringDictionaryBuilder::<Int8Type>::new();
    let mut finding_ids = ListBuilder::new(StringBuilder::new());
    let mut roles = StringBuilder::new();
    let mut hops = StringBuilder::new();
    let mut findings = StringBuilder::new();
    let mut sessions = UInt64Builder::with_capacity(n);
    let mut inputs = ListBuilder::new(StringBuilder::new());
    let mut nsgs = ListBuilder::new(StringBuilder::new());
    let mut macs = ListBuilder::new(StringBuilder::new());
    for r in &b.runs {
        let v = serde_json::to_value(RunJson::of(r))?;
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let json = |k: &str| v.get(k).map(Value::to_string).unwrap_or_default();
        id.append_value(&r.id);
        // The JSON's instants: whole milliseconds, as it prints them.
        start.append_value(r.start.div_euclid(1_000_000));
        end.append_value(r.end.div_euclid(1_000_000));
        duration.append_option(v.get("duration_s").and_then(Value::as_f64));
        os.append(text("os").unwrap_or("unknown"))?;
        topology.append(text("topology").unwrap_or("unknown"))?;
        proxy.append_option(text("proxy"));
        build_vm.append_option(text("build_vm"));
        verdict.append(text("verdict").unwrap_or_default())?;
        match text("first_broken_hop") {
            Some(h) => {
                broken.append(h)?;
            }
            None => broken.append_null(),
        };
        append_strings(&mut finding_ids, v.get("finding_ids"));
        roles.append_value(json("roles"));
        hops.append_value(json("hops"));
        findings.append_value(json("findings"));
        sessions.append_value(r.sessions as u64);
        append_strings(&mut inputs, v.get("inputs"));
        append_strings(&mut nsgs, v.get("nsgs"));
        append_strings(&mut macs, v.get("macs"));
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(start.finish()),
        Arc::new(end.finish()),
        Arc::new(duration.finish()),
        Arc::new(os.finish()),
        Arc::new(topology.finish()),
        Arc::new(proxy.finish()),
        Arc::new(build_vm.finish()),
        Arc::new(verdict.finish()),
        Arc::new(broken.finish()),
        Arc::new(finding_ids.finish()),
        Arc::new(roles.finish()),
        Arc::new(hops.finish()),
        Arc::new(findings.finish()),
        Arc::new(sessions.finish()),
        Arc::new(inputs.finish()),
        Arc::new(nsgs.finish()),
        Arc::new(macs.finish()),
    ];
    Ok(RecordBatch::try_new(schema, cols)?)
}

fn append_strings(b: &mut ListBuilder<StringBuilder>, v: Option<&Value>) {
    for s in v.and_then(Value::as_array).into_iter().flatten() {
        b.values().append_option(s.as_str());
    }
    b.append(true);
}

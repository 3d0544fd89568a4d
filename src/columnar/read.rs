//! Record batches of sessions back into sessions: what the Python package's
//! merge and the distributed `builds` hand to the library.

use super::sessions::{InputMeta, META_INPUTS_FULL, META_SKIPPED};
use crate::analyze::Analysis;
use crate::decode::FiveTuple;
use crate::flowlog::Nic;
use crate::ingest::{InputReport, Skipped};
use crate::sessions::{
    ConnState, Decision, Direction, FlowInfo, IcmpNote, SeenBy, Session, SessionTable, Side,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int8Type, Int32Type, TimestampNanosecondType, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow_array::{Array, DictionaryArray, RecordBatch, StringArray};
use arrow_schema::{ArrowError, Schema};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Why columnar data could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum ColumnarError {
    /// From the Arrow crates.
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
    /// From the Parquet crate.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Metadata that is not the JSON it should be.
    #[error("metadata: {0}")]
    Json(#[from] serde_json::Error),
    /// A batch that is not what this version writes.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(what: impl Into<String>) -> ColumnarError {
    ColumnarError::Invalid(what.into())
}

/// The inputs a batch's schema carries: each input's report with its NIC,
/// and the skipped inputs.
pub type SchemaInputs = (Vec<(InputReport, Option<Nic>)>, Vec<Skipped>);

/// Several batches' inputs as one list: reports, their NICs (by input) and
/// the skipped inputs.
pub(crate) type UnionInputs = (Vec<InputReport>, Vec<Option<Nic>>, Vec<Skipped>);

/// The inputs (reports and NICs) and skipped inputs a batch's schema
/// carries.
pub fn inputs_of(schema: &Schema) -> Result<SchemaInputs, ColumnarError> {
    let md = schema.metadata();
    let full: Vec<InputMeta> = match md.get(META_INPUTS_FULL) {
        Some(s) => serde_json::from_str(s)?,
        None => return Err(invalid("no aibnet.inputs_full in the schema's metadata")),
    };
    let skipped: Vec<SkippedJson> = match md.get(META_SKIPPED) {
        Some(s) => serde_json::from_str(s)?,
        None => Vec::new(),
    };
    let inputs = full
        .iter()
        .map(InputMeta::report)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        inputs,
        skipped
            .into_iter()
            .map(|s| Skipped {
                path: s.path,
                offset: s.offset,
                reason: s.reason,
            })
            .collect(),
    ))
}

#[derive(serde::Deserialize)]
struct SkippedJson {
    path: String,
    offset: Option<u64>,
    reason: String,
}

/// The inputs of several batches as one list in path order (the order
/// `aibnet` numbers the files of a folder in), each path once, with each
/// input's NIC; and the skipped inputs in that order.
pub(crate) fn union_inputs(batches: &[RecordBatch]) -> Result<UnionInputs, ColumnarError> {
    let mut by_path: BTreeMap<std::path::PathBuf, (InputReport, Option<Nic>)> = BTreeMap::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    for b in batches {
        let (inputs, sk) = inputs_of(b.schema_ref())?;
        for (r, nic) in inputs {
            by_path
                .entry(std::path::PathBuf::from(&r.path))
                .or_insert((r, nic));
        }
        for s in sk {
            if !skipped
                .iter()
                .any(|k| (&k.path, k.offset, &k.reason) == (&s.path, s.offset, &s.reason))
            {
                skipped.push(s);
            }
        }
    }
    skipped.sort_by(|a, b| std::path::Path::new(&a.path).cmp(std::path::Path::new(&b.path)));
    let (inputs, nics) = by_path.into_values().unzip();
    Ok((inputs, nics, skipped))
}

/// The sessions of several batches (each one input's, or already merged)
/// as one analysis: inputs in path order, the views of one connection seen
/// by several inputs coalesced, flows open across hourly blobs joined, in
/// `aibnet sessions`' order — what `aibnet sessions` gives on all those
/// inputs at once. Also the inputs' NICs, by input.
pub fn analysis_of(batches: &[RecordBatch]) -> Result<(Analysis, Vec<Option<Nic>>), ColumnarError> {
    let (inputs, nics, skipped) = union_inputs(batches)?;
    let mut table = SessionTable::new();
    for b in batches {
        for s in sessions_of(b, &inputs)? {
            table.push(s);
        }
    }
    let sessions = crate::flowlog::finish_run(table, &inputs).into_vec();
    Ok((
        Analysis {
            inputs,
            sessions,
            skipped,
            sweepers: Vec::new(),
            noise: Vec::new(),
        },
        nics,
    ))
}

fn col<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a dyn Array, ColumnarError> {
    b.column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| invalid(format!("no column {name}")))
}

/// A dictionary column's values by row (`None` for nulls).
fn dict_values(b: &RecordBatch, name: &str) -> Result<Vec<Option<Arc<str>>>, ColumnarError> {
    let c = col(b, name)?;
    let (keys, values): (Vec<Option<usize>>, &StringArray) =
        if let Some(d) = c.as_any().downcast_ref::<DictionaryArray<Int8Type>>() {
            (
                d.keys().iter().map(|k| k.map(|k| k as usize)).collect(),
                d.values()
                    .as_string_opt::<i32>()
                    .ok_or_else(|| invalid(name))?,
            )
        } else if let Some(d) = c.as_any().downcast_ref::<DictionaryArray<Int32Type>>() {
            (
                d.keys().iter().map(|k| k.map(|k| k as usize)).collect(),
                d.values()
                    .as_string_opt::<i32>()
                    .ok_or_else(|| invalid(name))?,
            )
        } else if let Some(s) = c.as_string_opt::<i32>() {
            // A plain string column (a reader that decoded the dictionary).
            return Ok(s.iter().map(|v| v.map(Arc::from)).collect());
        } else {
            return Err(invalid(format!(
                "column {name}: not a dictionary of strings"
            )));
        };
    let shared: Vec<Arc<str>> = values
        .iter()
        .map(|v| Arc::from(v.unwrap_or_default()))
        .collect();
    Ok(keys
        .into_iter()
        .map(|k| k.and_then(|k| shared.get(k).cloned()))
        .collect())
}

fn strings<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a StringArray, ColumnarError> {
    col(b, name)?
        .as_string_opt::<i32>()
        .ok_or_else(|| invalid(format!("column {name}: not strings")))
}

fn prim<'a, T: arrow_array::ArrowPrimitiveType>(
    b: &'a RecordBatch,
    name: &str,
) -> Result<&'a arrow_array::PrimitiveArray<T>, ColumnarError> {
    col(b, name)?
        .as_primitive_opt::<T>()
        .ok_or_else(|| invalid(format!("column {name}: wrong type")))
}

fn addr(s: Option<&str>, what: &str) -> Result<IpAddr, ColumnarError> {
    s.and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("{what}: not an address: {s:?}")))
}

/// The sessions of one batch, `seen_by` numbered by `inputs` (every path a
/// session names must be among them).
pub(crate) fn sessions_of(
    b: &RecordBatch,
    inputs: &[InputReport],
) -> Result<Vec<Session>, ColumnarError> {
    let index: BTreeMap<&str, u32> = inputs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.path.as_str(), i as u32))
        .collect();
    let ip_proto = prim::<UInt8Type>(b, "ip_proto")?;
    let orig_h = strings(b, "orig_h")?;
    let orig_p = prim::<UInt16Type>(b, "orig_p")?;
    let resp_h = strings(b, "resp_h")?;
    let resp_p = prim::<UInt16Type>(b, "resp_p")?;
    let first_ts = prim::<TimestampNanosecondType>(b, "first_ts")?;
    let last_ts = prim::<TimestampNanosecondType>(b, "last_ts")?;
    let ts_digits = prim::<UInt8Type>(b, "ts_digits")?;
    let _ = prim::<Float64Type>(b, "duration_s")?;
    let state = dict_values(b, "state")?;
    let history = strings(b, "history")?;
    let count = |n: &str| prim::<UInt64Type>(b, n);
    let (op, ob, oi) = (
        count("orig_pkts")?,
        count("orig_bytes")?,
        count("orig_ip_bytes")?,
    );
    let (rp, rb, ri) = (
        count("resp_pkts")?,
        count("resp_bytes")?,
        count("resp_ip_bytes")?,
    );
    let synr = prim::<UInt32Type>(b, "syn_retransmits")?;
    let missed = count("missed_bytes")?;
    let cut = col(b, "payload_cut")?
        .as_boolean_opt()
        .ok_or_else(|| invalid("payload_cut: not booleans"))?;
    let icmp = col(b, "icmp_error")?
        .as_struct_opt()
        .ok_or_else(|| invalid("icmp_error: not a struct"))?;
    let icmp_col = |i: usize| {
        icmp.columns()
            .get(i)
            .ok_or_else(|| invalid("icmp_error: missing field"))
    };
    let (it, ic, ifrom, its) = (
        icmp_col(0)?
            .as_primitive_opt::<UInt8Type>()
            .ok_or_else(|| invalid("icmp_error.type"))?,
        icmp_col(1)?
            .as_primitive_opt::<UInt8Type>()
            .ok_or_else(|| invalid("icmp_error.code"))?,
        icmp_col(2)?
            .as_string_opt::<i32>()
            .ok_or_else(|| invalid("icmp_error.from"))?,
        icmp_col(4)?
            .as_primitive_opt::<TimestampNanosecondType>()
            .ok_or_else(|| invalid("icmp_error.ts"))?,
    );
    let seen = col(b, "seen_by")?
        .as_list_opt::<i32>()
        .ok_or_else(|| invalid("seen_by: not a list"))?;
    let decision = dict_values(b, "decision")?;
    let rule = dict_values(b, "rule")?;
    let direction = dict_values(b, "direction")?;
    let flow_state = strings(b, "flow_state")?;
    let nsg = dict_values(b, "nsg")?;
    let target = dict_values(b, "target")?;
    let note = strings(b, "note")?;
    let opt = |a: &StringArray, i: usize| a.is_valid(i).then(|| Arc::<str>::from(a.value(i)));
    let mut out = Vec::with_capacity(b.num_rows());
    for i in 0..b.num_rows() {
        let five = FiveTuple {
            proto: ip_proto.value(i),
            src: addr(Some(orig_h.value(i)), "orig_h")?,
            dst: addr(Some(resp_h.value(i)), "resp_h")?,
            sport: orig_p.value(i),
            dport: resp_p.value(i),
        };
        let mut s = Session::new(&five, first_ts.value(i), ts_digits.value(i), 0);
        s.last_ts = last_ts.value(i);
        s.orig = Side {
            pkts: op.value(i),
            bytes: ob.value(i),
            ip_bytes: oi.value(i),
        };
        s.resp = Side {
            pkts: rp.value(i),
            bytes: rb.value(i),
            ip_bytes: ri.value(i),
        };
        let st = state.get(i).cloned().flatten().unwrap_or_default();
        s.state = ConnState::parse(&st).ok_or_else(|| invalid(format!("state {st:?}")))?;
        s.history.set(history.value(i).as_bytes());
        s.syn_retransmits = synr.value(i);
        s.missed = missed.value(i);
        s.payload_cut = cut.value(i);
        if icmp.is_valid(i) {
            let from = addr(Some(ifrom.value(i)), "icmp_error.from")?;
            s.icmp_error = Some(IcmpNote {
                icmp_type: it.value(i),
                code: ic.value(i),
                from,
                ts_ns: its.value(i),
                v6: from.is_ipv6(),
            });
        }
        let mut by = SeenBy::default();
        let paths = seen.value(i);
        let paths = paths
            .as_string_opt::<i32>()
            .ok_or_else(|| invalid("seen_by: not strings"))?;
        for p in paths.iter().flatten() {
            let k = index
                .get(p)
                .ok_or_else(|| invalid(format!("seen_by names an unknown input {p:?}")))?;
            by.insert(*k);
        }
        s.seen_by = by;
        let flow = FlowInfo {
            decision: match decision.get(i).cloned().flatten().as_deref() {
                Some("allow") => Some(Decision::Allow),
                Some("deny") => Some(Decision::Deny),
                Some(d) => return Err(invalid(format!("decision {d:?}"))),
                None => None,
            },
            rule: rule.get(i).cloned().flatten(),
            direction: match direction.get(i).cloned().flatten().as_deref() {
                Some("inbound") => Some(Direction::Inbound),
                Some("outbound") => Some(Direction::Outbound),
                Some(d) => return Err(invalid(format!("direction {d:?}"))),
                None => None,
            },
            flow_state: opt(flow_state, i),
            nsg: nsg.get(i).cloned().flatten(),
            target: target.get(i).cloned().flatten(),
            note: opt(note, i),
        };
        if flow != FlowInfo::default() {
            s.flow = Some(Arc::new(flow));
        }
        out.push(s);
    }
    Ok(out)
}

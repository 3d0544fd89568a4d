//! The sessions schema and its record batches.

use super::{BATCH_ROWS, ColumnarError};
use crate::flowlog::Nic;
use crate::ingest::{Format, InputReport, Skipped};
use crate::report::contract::InputJson;
use crate::sessions::{Filter, Session, SessionList};
use arrow_array::builder::{
    Float64Builder, ListBuilder, StringBuilder, StringDictionaryBuilder, StructBuilder,
    TimestampNanosecondBuilder, UInt8Builder, UInt16Builder, UInt32Builder, UInt64Builder,
};
use arrow_array::types::{Int8Type, Int32Type};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

/// The UTC timestamp type of session times.
pub(super) fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// A small vocabulary (a handful of values), dictionary-encoded.
pub(super) fn dict8() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8))
}

/// Repeated names (rules, NSGs), dictionary-encoded.
pub(super) fn dict32() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

fn icmp_fields() -> Fields {
    Fields::from(vec![
        Field::new("type", DataType::UInt8, false),
        Field::new("code", DataType::UInt8, false),
        Field::new("from", DataType::Utf8, false),
        Field::new("description", DataType::Utf8, false),
        Field::new("ts", ts_type(), false),
    ])
}

/// The session columns, in order (see the module docs of [`super`]).
pub(super) fn session_fields() -> Vec<Field> {
    let u64f = |n: &str| Field::new(n, DataType::UInt64, false);
    vec![
        Field::new("proto", dict8(), false),
        Field::new("ip_proto", DataType::UInt8, false),
        Field::new("orig_h", DataType::Utf8, false),
        Field::new("orig_p", DataType::UInt16, false),
        Field::new("resp_h", DataType::Utf8, false),
        Field::new("resp_p", DataType::UInt16, false),
        Field::new("first_ts", ts_type(), false),
        Field::new("last_ts", ts_type(), false),
        Field::new("ts_digits", DataType::UInt8, false),
        Field::new("duration_s", DataType::Float64, false),
        Field::new("state", dict8(), false),
        Field::new("history", DataType::Utf8, false),
        u64f("orig_pkts"),
        u64f("orig_bytes"),
        u64f("orig_ip_bytes"),
        u64f("resp_pkts"),
        u64f("resp_bytes"),
        u64f("resp_ip_bytes"),
        Field::new("syn_retransmits", DataType::UInt32, false),
        u64f("missed_bytes"),
        // Added, not in the JSON: whether the capture cut payloads (its
        // gaps may then be the cut, not loss), for the diagnosis of batches
        // read back.
        Field::new("payload_cut", DataType::Boolean, false),
        Field::new("icmp_error", DataType::Struct(icmp_fields()), true),
        Field::new(
            "seen_by",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
        Field::new("decision", dict8(), true),
        Field::new("rule", dict32(), true),
        Field::new("direction", dict8(), true),
        Field::new("flow_state", DataType::Utf8, true),
        Field::new("nsg", dict32(), true),
        Field::new("target", dict32(), true),
        Field::new("note", DataType::Utf8, true),
    ]
}

/// Metadata key: the contract's version.
pub(super) const META_VERSION: &str = "aibnet.schema_version";
/// Metadata key: the JSON contract's `inputs`.
pub(super) const META_INPUTS: &str = "aibnet.inputs";
/// Metadata key: the JSON contract's `skipped`.
pub(super) const META_SKIPPED: &str = "aibnet.skipped";
/// Metadata key: [`InputMeta`] of every input.
pub(super) const META_INPUTS_FULL: &str = "aibnet.inputs_full";

/// An input's report with everything JSON leaves out, so that a batch read
/// back rebuilds the same analysis: the times and precision, the hosts a
/// flow log's NIC logged, and the blob's NIC.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputMeta {
    /// As [`InputReport::path`].
    pub path: String,
    /// The format's JSON name.
    pub format: String,
    /// As [`InputReport::gzip`].
    pub gzip: bool,
    /// As [`InputReport::packets`].
    pub packets: u64,
    /// As [`InputReport::decoded`].
    pub decoded: u64,
    /// As [`InputReport::used`].
    pub used: u64,
    /// As [`InputReport::first_ts`].
    pub first_ts: Option<i64>,
    /// As [`InputReport::last_ts`].
    pub last_ts: Option<i64>,
    /// As [`InputReport::ts_digits`].
    pub ts_digits: u8,
    /// As [`InputReport::not_decoded`].
    pub not_decoded: BTreeMap<String, u64>,
    /// As [`InputReport::error`].
    pub error: Option<String>,
    /// As [`InputReport::logged_hosts`].
    pub logged_hosts: Vec<IpAddr>,
    /// The NIC a flow-log blob belongs to (address, MAC).
    pub nic: Option<(IpAddr, String)>,
}

/// The reasons `not_decoded` counts, as the readers name them.
const REASONS: [&str; 8] = [
    "not_ip",
    "unsupported_linktype",
    "malformed_header",
    "truncated_transport",
    "ip_fragment",
    "other_protocol",
    "bad_tuple",
    "duplicate_tuple",
];

impl InputMeta {
    /// The metadata of a report and its NIC.
    pub fn of(r: &InputReport, nic: Option<&Nic>) -> Self {
        InputMeta {
            path: r.path.clone(),
            format: r.format.as_str().to_string(),
            gzip: r.gzip,
            packets: r.packets,
            decoded: r.decoded,
            used: r.used,
            first_ts: r.first_ts,
            last_ts: r.last_ts,
            ts_digits: r.ts_digits,
            not_decoded: r
                .not_decoded
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect(),
            error: r.error.clone(),
            logged_hosts: r.logged_hosts.clone(),
            nic: nic.map(|n| (n.addr, n.mac.clone())),
        }
    }

    /// The report and NIC again. A reason this version does not know is
    /// an error (the batch was written by another version).
    pub fn report(&self) -> Result<(InputReport, Option<Nic>), ColumnarError> {
        let format = [
            Format::Pcap,
            Format::Pcapng,
            Format::FlowLog,
            Format::Json,
            Format::Unknown,
        ]
        .into_iter()
        .find(|f| f.as_str() == self.format)
        .ok_or_else(|| ColumnarError::Invalid(format!("unknown format {:?}", self.format)))?;
        let mut r = InputReport::new(self.path.clone(), format, self.gzip);
        r.packets = self.packets;
        r.decoded = self.decoded;
        r.used = self.used;
        r.first_ts = self.first_ts;
        r.last_ts = self.last_ts;
        r.ts_digits = self.ts_digits;
        for (k, v) in &self.not_decoded {
            let k = REASONS
                .into_iter()
                .find(|r| r == k)
                .ok_or_else(|| ColumnarError::Invalid(format!("unknown reason {k:?}")))?;
            r.not_decoded.insert(k, *v);
        }
        r.error = self.error.clone();
        r.logged_hosts = self.logged_hosts.clone();
        let nic = self.nic.as_ref().map(|(addr, mac)| Nic {
            addr: *addr,
            mac: mac.clone(),
        });
        Ok((r, nic))
    }
}

/// The sessions schema for a document with these inputs (and NICs, by
/// input; empty when none are known) and skipped inputs.
pub fn sessions_schema(
    inputs: &[InputReport],
    nics: &[Option<Nic>],
    skipped: &[Skipped],
) -> Result<SchemaRef, ColumnarError> {
    let json: Vec<InputJson<'_>> = inputs.iter().map(InputJson::of).collect();
    let full: Vec<InputMeta> = inputs
        .iter()
        .enumerate()
        .map(|(i, r)| InputMeta::of(r, nics.get(i).and_then(Option::as_ref)))
        .collect();
    let metadata = HashMap::from([
        (
            META_VERSION.to_string(),
            crate::report::SCHEMA_VERSION.to_string(),
        ),
        (META_INPUTS.to_string(), serde_json::to_string(&json)?),
        (META_SKIPPED.to_string(), serde_json::to_string(skipped)?),
        (META_INPUTS_FULL.to_string(), serde_json::to_string(&full)?),
    ]);
    Ok(Arc::new(Schema::new_with_metadata(
        session_fields(),
        metadata,
    )))
}

/// The sessions of a list that `filter` admits as record batches of at
/// most [`BATCH_ROWS`] rows, built one at a time as the caller asks for
/// them (a [`crate::sessions::Finished`] list builds only the sessions of
/// the batch at hand).
pub fn sessions_batches<'a>(
    schema: &'a SchemaRef,
    sessions: &'a dyn SessionList,
    filter: &'a Filter,
    inputs: &'a [InputReport],
) -> impl Iterator<Item = Result<RecordBatch, ColumnarError>> + 'a {
    let mut next = 0;
    let mut rows: Vec<Session> = Vec::with_capacity(BATCH_ROWS.min(sessions.len()));
    // At least one (empty) batch, so that a reader sees the schema's columns.
    let mut first = true;
    std::iter::from_fn(move || {
        rows.clear();
        // Each position gives at most one row: visit no more than fill it.
        while rows.len() < BATCH_ROWS && next < sessions.len() {
            let end = next.saturating_add(BATCH_ROWS - rows.len());
            // A record is tested unbuilt, and built only into its row.
            sessions.visit_compact(next..end, &mut |_, v| {
                if v.admitted_by(filter) {
                    rows.push(v.session().into_owned());
                }
            });
            next = end.min(sessions.len());
        }
        if rows.is_empty() && !std::mem::take(&mut first) {
            return None;
        }
        first = false;
        let refs: Vec<&Session> = rows.iter().collect();
        Some(batch(schema, &refs, inputs))
    })
}

/// One record batch of sessions.
pub(super) fn batch(
    schema: &SchemaRef,
    sessions: &[&Session],
    inputs: &[InputReport],
) -> Result<RecordBatch, ColumnarError> {
    let n = sessions.len();
    let mut proto = StringDictionaryBuilder::<Int8Type>::new();
    let mut ip_proto = UInt8Builder::with_capacity(n);
    let mut orig_h = StringBuilder::with_capacity(n, n * 12);
    let mut orig_p = UInt16Builder::with_capacity(n);
    let mut resp_h = StringBuilder::with_capacity(n, n * 12);
    let mut resp_p = UInt16Builder::with_capacity(n);
    let mut first_ts = TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut last_ts = TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut ts_digits = UInt8Builder::with_capacity(n);
    let mut duration = Float64Builder::with_capacity(n);
    let mut state = StringDictionaryBuilder::<Int8Type>::new();
    let mut history = StringBuilder::with_capacity(n, n * 4);
    let mut counts: [UInt64Builder; 6] = std::array::from_fn(|_| UInt64Builder::with_capacity(n));
    let mut synr = UInt32Builder::with_capacity(n);
    let mut missed = UInt64Builder::with_capacity(n);
    let mut cut = arrow_array::builder::BooleanBuilder::with_capacity(n);
    let mut icmp = StructBuilder::from_fields(icmp_fields(), n);
    let mut seen_by = ListBuilder::new(StringBuilder::new());
    let mut decision = StringDictionaryBuilder::<Int8Type>::new();
    let mut rule = StringDictionaryBuilder::<Int32Type>::new();
    let mut direction = StringDictionaryBuilder::<Int8Type>::new();
    let mut flow_state = StringBuilder::new();
    let mut nsg = StringDictionaryBuilder::<Int32Type>::new();
    let mut target = StringDictionaryBuilder::<Int32Type>::new();
    let mut note = StringBuilder::new();
    let mut addr = String::new();
    for s in sessions {
        use std::fmt::Write as _;
        proto.append(s.proto.as_str())?;
        ip_proto.append_value(s.ip_proto());
        addr.clear();
        let _ = write!(addr, "{}", s.orig_h);
        orig_h.append_value(&addr);
        orig_p.append_value(s.orig_p);
        addr.clear();
        let _ = write!(addr, "{}", s.resp_h);
        resp_h.append_value(&addr);
        resp_p.append_value(s.resp_p);
        first_ts.append_value(s.first_ts);
        last_ts.append_value(s.last_ts);
        ts_digits.append_value(s.ts_digits);
        duration.append_value(crate::report::contract::round6(s.duration_s()));
        state.append(s.state.as_str())?;
        history.append_value(s.history.as_str());
        for (b, v) in counts.iter_mut().zip(s.counts()) {
            b.append_value(v);
        }
        synr.append_value(s.syn_retransmits);
        missed.append_value(s.missed_bytes());
        cut.append_value(s.payload_cut);
        append_icmp(&mut icmp, s.icmp_error.as_ref())?;
        for p in crate::report::contract::seen_by(s, inputs) {
            seen_by.values().append_value(p);
        }
        seen_by.append(true);
        let f = s.flow.as_deref();
        match f.and_then(|f| f.decision) {
            Some(d) => {
                decision.append(d.as_str())?;
            }
            None => decision.append_null(),
        };
        rule.append_option(f.and_then(|f| f.rule.as_deref()));
        match f.and_then(|f| f.direction) {
            Some(d) => {
                direction.append(match d {
                    crate::sessions::Direction::Inbound => "inbound",
                    crate::sessions::Direction::Outbound => "outbound",
                })?;
            }
            None => direction.append_null(),
        };
        flow_state.append_option(f.and_then(|f| f.flow_state.as_deref()));
        nsg.append_option(f.and_then(|f| f.nsg.as_deref()));
        target.append_option(f.and_then(|f| f.target.as_deref()));
        note.append_option(f.and_then(|f| f.note.as_deref()));
    }
    let [c0, c1, c2, c3, c4, c5] = counts;
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(proto.finish()),
        Arc::new(ip_proto.finish()),
        Arc::new(orig_h.finish()),
        Arc::new(orig_p.finish()),
        Arc::new(resp_h.finish()),
        Arc::new(resp_p.finish()),
        Arc::new(first_ts.finish()),
        Arc::new(last_ts.finish()),
        Arc::new(ts_digits.finish()),
        Arc::new(duration.finish()),
        Arc::new(state.finish()),
        Arc::new(history.finish()),
    ];
    for mut c in [c0, c1, c2, c3, c4, c5] {
        cols.push(Arc::new(c.finish()));
    }
    cols.extend([
        Arc::new(synr.finish()) as ArrayRef,
        Arc::new(missed.finish()),
        Arc::new(cut.finish()),
        Arc::new(icmp.finish()),
        Arc::new(seen_by.finish()),
        Arc::new(decision.finish()),
        Arc::new(rule.finish()),
        Arc::new(direction.finish()),
        Arc::new(flow_state.finish()),
        Arc::new(nsg.finish()),
        Arc::new(target.finish()),
        Arc::new(note.finish()),
    ]);
    Ok(RecordBatch::try_new(Arc::clone(schema), cols)?)
}

fn append_icmp(
    b: &mut StructBuilder,
    n: Option<&crate::sessions::IcmpNote>,
) -> Result<(), ColumnarError> {
    let missing = || ColumnarError::Invalid("icmp_error builder".to_string());
    b.field_builder::<UInt8Builder>(0)
        .ok_or_else(missing)?
        .append_value(n.map_or(0, |n| n.icmp_type));
    b.field_builder::<UInt8Builder>(1)
        .ok_or_else(missing)?
        .append_value(n.map_or(0, |n| n.code));
    b.field_builder::<StringBuilder>(2)
        .ok_or_else(missing)?
        .append_value(n.map(|n| n.from.to_string()).unwrap_or_default());
    b.field_builder::<StringBuilder>(3)
        .ok_or_else(missing)?
        .append_value(n.map(|n| n.describe()).unwrap_or_default());
    b.field_builder::<TimestampNanosecondBuilder>(4)
        .ok_or_else(missing)?
        .append_value(n.map_or(0, |n| n.ts_ns));
    b.append(n.is_some());
    Ok(())
}

//! One flow tuple: the CSV string inside `flowTuples`, parsed with `nom` into
//! a small `Copy` value without allocating.
//!
//! Three layouts share the CSV syntax (see `FORMATS.md` §2.1, §2.2, §3.1):
//!
//! | layout  | fields | ts   | protocol | field 7  | field 8     | counters          |
//! |---------|--------|------|----------|----------|-------------|-------------------|
//! | NSG v1  | 8      | s    | `T`/`U`  | `A`/`D`  | —           | —                 |
//! | NSG v2  | 13     | s    | `T`/`U`  | `A`/`D`  | `B`/`C`/`E` | empty for `B`     |
//! | VNet v4 | 13     | ms/s | IANA no. | `B/C/E/D`| encryption  | zeros or empty    |
//!
//! NSG v2 and VNet v4 both have 13 fields, so the layout is chosen by the
//! record (its `category` and shape), never by counting fields; a tuple in the
//! other 13-field layout is reported as such instead of being mis-decoded.

use nom::{
    IResult, Parser,
    bytes::complete::take_till,
    character::complete::{char, digit1},
    combinator::{all_consuming, map_res},
};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// A tuple's decision and direction are what the sessions made of it carry
// (`FlowInfo`): one type each, defined below this stage, in `sessions`.
pub use crate::sessions::{Decision, Direction};

/// Tuple timestamps below this value are UNIX seconds, above it milliseconds
/// (1e11 s is the year 5138; 1e11 ms is March 1973). New Relic's VNet parser
/// uses the same threshold.
pub const SECONDS_THRESHOLD: u64 = 100_000_000_000;

/// An IP protocol number (IANA). NSG logs write `T`/`U`, VNet logs the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowProto(pub u8);

impl FlowProto {
    /// TCP (NSG `T`, VNet `6`).
    pub const TCP: FlowProto = FlowProto(6);
    /// UDP (NSG `U`, VNet `17`).
    pub const UDP: FlowProto = FlowProto(17);

    /// `tcp`, `udp` or the number.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            FlowProto::TCP => "tcp".into(),
            FlowProto::UDP => "udp".into(),
            FlowProto(n) => n.to_string().into(),
        }
    }
}

impl Serialize for FlowProto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// Flow state ([NSG v2](https://learn.microsoft.com/azure/network-watcher/nsg-flow-logs-overview#log-format),
/// [VNet](https://learn.microsoft.com/azure/network-watcher/vnet-flow-logs-overview#log-format)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowState {
    /// `B`: flow created; no statistics (NSG v2: counters empty; VNet: zeros).
    Begin,
    /// `C`: flow still open; counters since the previous tuple (every 5 min).
    Continuing,
    /// `E`: flow ended; counters since the previous tuple.
    End,
    /// `D` (VNet only): denied.
    Deny,
}

impl FlowState {
    /// The letter as logged.
    pub fn letter(self) -> char {
        match self {
            FlowState::Begin => 'B',
            FlowState::Continuing => 'C',
            FlowState::End => 'E',
            FlowState::Deny => 'D',
        }
    }
}

/// VNet flow logs' encryption field (field 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encryption {
    /// `X`: encrypted (virtual network encryption).
    Encrypted,
    /// `NX`: not encrypted (the default).
    NotEncrypted,
    /// `NX_HW_NOT_SUPPORTED`
    HwNotSupported,
    /// `NX_SW_NOT_READY` (the packet was dropped)
    SwNotReady,
    /// `NX_NOT_ACCEPTED` (the packet was dropped)
    NotAccepted,
    /// `NX_NOT_SUPPORTED` (the packet was dropped)
    NotSupported,
    /// `NX_LOCAL_DST`
    LocalDst,
    /// `NX_FALLBACK`
    Fallback,
    /// Some other `NX_…` value not documented when this was written.
    OtherNotEncrypted,
}

impl Encryption {
    /// Whether the value says the flow was encrypted.
    pub fn is_encrypted(self) -> bool {
        self == Encryption::Encrypted
    }

    /// Whether the value says the platform dropped the packet because of
    /// encryption (`NX_NOT_ACCEPTED`, `NX_SW_NOT_READY`, `NX_NOT_SUPPORTED`).
    pub fn drops(self) -> bool {
        matches!(
            self,
            Encryption::NotAccepted | Encryption::SwNotReady | Encryption::NotSupported
        )
    }

    fn parse(s: &str) -> Option<Encryption> {
        Some(match s {
            "X" => Encryption::Encrypted,
            "NX" => Encryption::NotEncrypted,
            "NX_HW_NOT_SUPPORTED" => Encryption::HwNotSupported,
            "NX_SW_NOT_READY" => Encryption::SwNotReady,
            "NX_NOT_ACCEPTED" => Encryption::NotAccepted,
            "NX_NOT_SUPPORTED" => Encryption::NotSupported,
            "NX_LOCAL_DST" => Encryption::LocalDst,
            "NX_FALLBACK" => Encryption::Fallback,
            s if s.starts_with("NX_") && s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => {
                Encryption::OtherNotEncrypted
            }
            _ => return None,
        })
    }
}

/// Packet and byte counters of a `C` or `E` tuple: deltas since the flow's
/// previous tuple, so a connection's totals are the sum over its tuples.
/// "src" is the tuple's source (the flow's initiator in every sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Counters {
    /// Packets source → destination.
    pub pkts_src_to_dst: u64,
    /// Bytes (headers included) source → destination.
    pub bytes_src_to_dst: u64,
    /// Packets destination → source.
    pub pkts_dst_to_src: u64,
    /// Bytes destination → source.
    pub bytes_dst_to_src: u64,
}

impl Counters {
    /// Whether all four counters are zero (VNet `B` and `D` tuples).
    pub fn is_zero(&self) -> bool {
        *self == Counters::default()
    }

    /// Component-wise saturating sum.
    pub fn saturating_add(self, o: Counters) -> Counters {
        Counters {
            pkts_src_to_dst: self.pkts_src_to_dst.saturating_add(o.pkts_src_to_dst),
            bytes_src_to_dst: self.bytes_src_to_dst.saturating_add(o.bytes_src_to_dst),
            pkts_dst_to_src: self.pkts_dst_to_src.saturating_add(o.pkts_dst_to_src),
            bytes_dst_to_src: self.bytes_dst_to_src.saturating_add(o.bytes_dst_to_src),
        }
    }
}

/// Index into [`FlowLogBatch::rules`](super::FlowLogBatch::rules): which rule,
/// ACL (NSG resource id or VNet `aclID`) and MAC logged a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub struct RuleRef(pub u32);

/// One flow tuple, decoded. `Copy`, 96 bytes, no borrowed or heap data:
/// strings (rule, NSG, MAC) live once per file in
/// [`FlowLogFile`](super::FlowLogFile) and are referenced through
/// [`RuleRef`]; the record through its index in
/// [`FlowLogBatch::records`](super::FlowLogBatch::records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct FlowTuple {
    /// UNIX time in milliseconds (NSG seconds are scaled; see
    /// [`SECONDS_THRESHOLD`]). Often up to a minute before the record's `time`.
    pub ts_ms: i64,
    /// Source address as logged.
    pub src: IpAddr,
    /// Destination address as logged.
    pub dst: IpAddr,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Protocol.
    pub proto: FlowProto,
    /// Inbound or outbound, relative to the logging NIC.
    pub direction: Direction,
    /// Allowed or denied.
    pub decision: Decision,
    /// Flow state; `None` for NSG v1 (which has none).
    pub state: Option<FlowState>,
    /// VNet encryption status; `None` for NSG logs.
    pub encryption: Option<Encryption>,
    /// Counters; `None` when the fields are absent (v1) or empty (v2 `B`).
    pub counters: Option<Counters>,
    /// The rule / ACL / MAC that logged it.
    pub rule: RuleRef,
    /// Index into [`FlowLogBatch::records`](super::FlowLogBatch::records).
    pub record: u32,
}

/// Which CSV layout a record's tuples use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TupleLayout {
    /// NSG flow logs version 1: 8 fields.
    NsgV1,
    /// NSG flow logs version 2: 13 fields.
    NsgV2,
    /// NSG flow logs, `Version` missing: 8 or 13 fields.
    NsgAny,
    /// VNet flow logs (`flowLogVersion` 4): 13 fields.
    Vnet,
}

/// Why a tuple string was not decoded. The offending text is recovered from
/// the tuple and the field index when the issue is reported, so parsing
/// allocates nothing even on error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TupleError {
    /// Wrong number of comma-separated fields.
    #[error("{found} fields, expected {expected}")]
    FieldCount {
        /// Fields found (capped at 14).
        found: u8,
        /// What the layout needs.
        expected: &'static str,
    },
    /// One field does not hold what the layout says.
    #[error("field {index} ({name}) is not {what}")]
    Field {
        /// 0-based field index.
        index: u8,
        /// Field name.
        name: &'static str,
        /// What was expected.
        what: &'static str,
    },
    /// Counters must be four numbers or four empty fields.
    #[error("counters (fields 9–12) must be four numbers or four empty fields")]
    Counters,
    /// The tuple's bytes are not UTF-8.
    #[error("not UTF-8 text")]
    NotUtf8,
    /// The tuple parses as NSG v2 (`T`/`U`, `A`/`D`, B/C/E) in a VNet record.
    #[error("NSG v2 layout (protocol letter, decision A/D) in a VNet flow-log record: not decoded")]
    NsgLayoutInVnet,
    /// The tuple parses as VNet (protocol number, state B/C/E/D, encryption) in an NSG record.
    #[error(
        "VNet layout (protocol number, encryption field) in an NSG flow-log record: not decoded"
    )]
    VnetLayoutInNsg,
}

impl TupleError {
    /// The field this error is about, if one.
    pub fn field(&self) -> Option<u8> {
        match self {
            TupleError::Field { index, .. } => Some(*index),
            _ => None,
        }
    }
}

const NAMES: [&str; 13] = [
    "time",
    "source ip",
    "destination ip",
    "source port",
    "destination port",
    "protocol",
    "direction",
    "decision",
    "flow state",
    "packets src→dst",
    "bytes src→dst",
    "packets dst→src",
    "bytes dst→src",
];

fn bad(index: u8, what: &'static str) -> TupleError {
    TupleError::Field {
        index,
        name: NAMES.get(usize::from(index)).copied().unwrap_or("field"),
        what,
    }
}

type NomErr<'a> = nom::error::Error<&'a str>;

/// Split into at most 13 comma-separated fields (empty fields kept).
fn split_fields(input: &str) -> Result<([&str; 13], u8), TupleError> {
    let mut out = [""; 13];
    let mut n: u8 = 0;
    let mut rest = input;
    loop {
        let field: IResult<&str, &str, NomErr<'_>> = take_till(|c| c == ',').parse(rest);
        let Ok((after, f)) = field else {
            return Err(bad(n, "a field"));
        };
        let Some(slot) = out.get_mut(usize::from(n)) else {
            return Err(TupleError::FieldCount {
                found: 14,
                expected: "at most 13",
            });
        };
        *slot = f;
        n += 1;
        match char::<_, NomErr<'_>>(',').parse(after) {
            Ok((r, _)) => rest = r,
            Err(_) => return Ok((out, n)),
        }
    }
}

fn decimal(s: &str) -> Option<u64> {
    let r: IResult<&str, u64, NomErr<'_>> =
        all_consuming(map_res(digit1, str::parse::<u64>)).parse(s);
    r.ok().map(|(_, v)| v)
}

fn timestamp(s: &str) -> Result<i64, TupleError> {
    let v = decimal(s).ok_or(bad(0, "a UNIX timestamp"))?;
    let ms = if v < SECONDS_THRESHOLD {
        v.checked_mul(1000)
    } else {
        Some(v)
    };
    ms.and_then(|m| i64::try_from(m).ok())
        .ok_or(bad(0, "a UNIX timestamp"))
}

/// IPv4 dotted quad with nom; anything with a `:` goes to std's IPv6 parser.
fn ip(s: &str, index: u8) -> Result<IpAddr, TupleError> {
    fn octet(i: &str) -> IResult<&str, u8, NomErr<'_>> {
        map_res(digit1, str::parse::<u8>).parse(i)
    }
    fn quad(i: &str) -> IResult<&str, Ipv4Addr, NomErr<'_>> {
        let (i, (a, _, b, _, c, _, d)) =
            all_consuming((octet, char('.'), octet, char('.'), octet, char('.'), octet))
                .parse(i)?;
        Ok((i, Ipv4Addr::new(a, b, c, d)))
    }
    if s.contains(':') {
        return s
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| bad(index, "an IP address"));
    }
    quad(s)
        .map(|(_, a)| IpAddr::V4(a))
        .map_err(|_| bad(index, "an IP address"))
}

fn port(s: &str, index: u8) -> Result<u16, TupleError> {
    decimal(s)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or(bad(index, "a port number"))
}

fn direction(s: &str) -> Result<Direction, TupleError> {
    match s {
        "I" => Ok(Direction::Inbound),
        "O" => Ok(Direction::Outbound),
        _ => Err(bad(6, "I or O")),
    }
}

fn counters(f: &[&str]) -> Result<Option<Counters>, TupleError> {
    let [a, b, c, d] = f else {
        return Err(TupleError::Counters);
    };
    if [a, b, c, d].iter().all(|s| s.is_empty()) {
        return Ok(None);
    }
    match (decimal(a), decimal(b), decimal(c), decimal(d)) {
        (Some(a), Some(b), Some(c), Some(d)) => Ok(Some(Counters {
            pkts_src_to_dst: a,
            bytes_src_to_dst: b,
            pkts_dst_to_src: c,
            bytes_dst_to_src: d,
        })),
        _ => Err(TupleError::Counters),
    }
}

fn common(f: &[&str; 13]) -> Result<(i64, IpAddr, IpAddr, u16, u16), TupleError> {
    Ok((
        timestamp(f[0])?,
        ip(f[1], 1)?,
        ip(f[2], 2)?,
        port(f[3], 3)?,
        port(f[4], 4)?,
    ))
}

fn nsg(f: &[&str; 13], n: u8) -> Result<FlowTuple, TupleError> {
    let (ts_ms, src, dst, sport, dport) = common(f)?;
    let proto = match f[5] {
        "T" => FlowProto::TCP,
        "U" => FlowProto::UDP,
        _ => return Err(bad(5, "T or U")),
    };
    let direction = direction(f[6])?;
    let decision = match f[7] {
        "A" => Decision::Allow,
        "D" => Decision::Deny,
        _ => return Err(bad(7, "A or D")),
    };
    let (state, counters) = if n == 13 {
        let state = match f[8] {
            "B" => FlowState::Begin,
            "C" => FlowState::Continuing,
            "E" => FlowState::End,
            _ => return Err(bad(8, "B, C or E")),
        };
        (Some(state), counters(&f[9..13])?)
    } else {
        (None, None)
    };
    Ok(FlowTuple {
        ts_ms,
        src,
        dst,
        sport,
        dport,
        proto,
        direction,
        decision,
        state,
        encryption: None,
        counters,
        rule: RuleRef(0),
        record: 0,
    })
}

fn vnet(f: &[&str; 13]) -> Result<FlowTuple, TupleError> {
    let (ts_ms, src, dst, sport, dport) = common(f)?;
    let proto = decimal(f[5])
        .and_then(|v| u8::try_from(v).ok())
        .map(FlowProto)
        .ok_or(bad(5, "an IANA protocol number"))?;
    let direction = direction(f[6])?;
    let state = match f[7] {
        "B" => FlowState::Begin,
        "C" => FlowState::Continuing,
        "E" => FlowState::End,
        "D" => FlowState::Deny,
        _ => return Err(bad(7, "a flow state B, C, E or D")),
    };
    let encryption = Encryption::parse(f[8]).ok_or(bad(8, "an encryption status (X, NX…)"))?;
    let decision = if state == FlowState::Deny {
        Decision::Deny
    } else {
        Decision::Allow
    };
    Ok(FlowTuple {
        ts_ms,
        src,
        dst,
        sport,
        dport,
        proto,
        direction,
        decision,
        state: Some(state),
        encryption: Some(encryption),
        counters: counters(&f[9..13])?,
        rule: RuleRef(0),
        record: 0,
    })
}

/// Parse one tuple string in the given layout. `rule` and `record` are left
/// zero for the caller to fill.
///
/// A single sequential `nom` pass over the bytes (module `fast`) handles every
/// well-formed tuple; anything it rejects goes through the field-splitting
/// parser ([`checked`]), which also accepts surrounding whitespace and
/// explains what is wrong.
///
/// # Errors
/// [`TupleError`] naming the field that is wrong, or the other 13-field layout
/// when the tuple is in it.
pub fn parse_tuple(s: &str, layout: TupleLayout) -> Result<FlowTuple, TupleError> {
    parse_tuple_bytes(s.as_bytes(), layout)
}

/// [`parse_tuple`] on raw bytes (as borrowed from the JSON input).
///
/// # Errors
/// As [`parse_tuple`], plus [`TupleError::NotUtf8`].
pub fn parse_tuple_bytes(b: &[u8], layout: TupleLayout) -> Result<FlowTuple, TupleError> {
    match fast::tuple(b, layout) {
        Some(f) => Ok(f.tuple(RuleRef(0), 0)),
        None => match std::str::from_utf8(b) {
            Ok(s) => checked(s, layout),
            Err(_) => Err(TupleError::NotUtf8),
        },
    }
}

/// The field-splitting parser: slower, precise errors. [`parse_tuple`]
/// agrees with it on every input (a property test checks this).
///
/// # Errors
/// As [`parse_tuple`].
pub fn checked(s: &str, layout: TupleLayout) -> Result<FlowTuple, TupleError> {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (f, n) = split_fields(s)?;
    match (layout, n) {
        (TupleLayout::NsgV1 | TupleLayout::NsgAny, 8)
        | (TupleLayout::NsgV2 | TupleLayout::NsgAny, 13) => nsg(&f, n).map_err(|e| {
            if n == 13 && vnet(&f).is_ok() {
                TupleError::VnetLayoutInNsg
            } else {
                e
            }
        }),
        (TupleLayout::Vnet, 13) => vnet(&f).map_err(|e| {
            if nsg(&f, n).is_ok() {
                TupleError::NsgLayoutInVnet
            } else {
                e
            }
        }),
        (TupleLayout::NsgV1, _) => Err(TupleError::FieldCount {
            found: n,
            expected: "8 (NSG version 1)",
        }),
        (TupleLayout::NsgV2, _) => Err(TupleError::FieldCount {
            found: n,
            expected: "13 (NSG version 2)",
        }),
        (TupleLayout::NsgAny, _) => Err(TupleError::FieldCount {
            found: n,
            expected: "8 or 13 (NSG)",
        }),
        (TupleLayout::Vnet, _) => Err(TupleError::FieldCount {
            found: n,
            expected: "13 (VNet)",
        }),
    }
}

pub(crate) use fast::{Fields, tuple as fast_fields};

impl Fields {
    /// The finished tuple.
    #[inline(always)]
    pub(crate) fn tuple(&self, rule: RuleRef, record: u32) -> FlowTuple {
        FlowTuple {
            ts_ms: self.ts_ms,
            src: IpAddr::V4(Ipv4Addr::from(self.src)),
            dst: IpAddr::V4(Ipv4Addr::from(self.dst)),
            sport: self.sport,
            dport: self.dport,
            proto: self.proto,
            direction: self.direction,
            decision: self.decision,
            state: self.state,
            encryption: self.encryption,
            counters: self.counters,
            rule,
            record,
        }
    }
}

/// The hot path: one left-to-right pass of small `nom` parsers over the
/// bytes, no field splitting, no UTF-8 re-validation, no allocation.
/// Returns `None` for anything not perfectly formed; [`checked`] then
/// decides (and explains).
mod fast {
    use super::{
        Counters, Decision, Direction, Encryption, FlowProto, FlowState, SECONDS_THRESHOLD,
        TupleLayout,
    };
    use nom::{IResult, Parser, bytes::complete::take_till};

    /// A tuple as the fast path decodes it: plain, naturally aligned
    /// scalars, so the hot loop fingerprints it and writes the
    /// [`FlowTuple`](super::FlowTuple) straight into its vector. (Passing a
    /// finished `FlowTuple` back by value made the CPU re-read it with loads
    /// that miss store forwarding, at up to a third of the parse time.)
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Fields {
        pub ts_ms: i64,
        pub src: u32,
        pub dst: u32,
        pub sport: u16,
        pub dport: u16,
        pub proto: FlowProto,
        pub direction: Direction,
        pub decision: Decision,
        pub state: Option<FlowState>,
        pub encryption: Option<Encryption>,
        pub counters: Option<Counters>,
    }

    // Every parser returns plain integers: an `IpAddr` (17 bytes, odd
    // layout) passed back through `IResult` made the CPU re-read it with
    // misaligned loads that miss store forwarding, and cost a third of the
    // parse. IPv6 is left to the checked parser (no sample has one).
    type R<'a, T> = IResult<&'a [u8], T, ()>;

    #[inline(always)]
    fn fail<T>() -> Result<T, nom::Err<()>> {
        Err(nom::Err::Error(()))
    }

    /// Unsigned decimal of 1..=`max` digits (`max` ≤ 19 so it fits a u64).
    #[inline(always)]
    fn uint(i: &[u8], max: usize) -> R<'_, u64> {
        let mut v: u64 = 0;
        let mut n = 0;
        for &c in i {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            if n == max {
                return fail();
            }
            v = v * 10 + u64::from(d);
            n += 1;
        }
        match i.split_at_checked(n) {
            Some((_, rest)) if n > 0 => Ok((rest, v)),
            _ => fail(),
        }
    }

    /// A number then a comma.
    #[inline(always)]
    fn field(i: &[u8], max_digits: usize, max: u64) -> R<'_, u64> {
        let (i, v) = uint(i, max_digits)?;
        match i.split_first() {
            Some((b',', rest)) if v <= max => Ok((rest, v)),
            _ => fail(),
        }
    }

    /// A one-byte field and its comma.
    #[inline(always)]
    fn letter(i: &[u8]) -> R<'_, u8> {
        match i {
            [c, b',', rest @ ..] => Ok((rest, *c)),
            _ => fail(),
        }
    }

    /// Dotted quad then a comma, as a big-endian u32.
    #[inline(always)]
    fn ipv4(i: &[u8]) -> R<'_, u32> {
        let mut acc: u32 = 0;
        let mut i = i;
        for k in 0..4 {
            let (r, o) = uint(i, 3)?;
            if o > 255 {
                return fail();
            }
            acc = acc << 8 | o as u32;
            i = match (k, r.split_first()) {
                (0..=2, Some((b'.', rest))) | (3, Some((b',', rest))) => rest,
                _ => return fail(),
            };
        }
        Ok((i, acc))
    }

    /// time, src, dst, sport, dport (each followed by a comma).
    #[allow(clippy::type_complexity)] // a plain tuple of the five leading fields
    #[inline(always)]
    fn head(i: &[u8]) -> R<'_, (i64, u32, u32, u16, u16)> {
        let (i, ts) = field(i, 19, u64::MAX)?;
        let ms = if ts < SECONDS_THRESHOLD {
            ts * 1000
        } else {
            ts
        };
        let Ok(ts_ms) = i64::try_from(ms) else {
            return fail();
        };
        let (i, src) = ipv4(i)?;
        let (i, dst) = ipv4(i)?;
        let (i, sport) = field(i, 5, 65535)?;
        let (i, dport) = field(i, 5, 65535)?;
        Ok((i, (ts_ms, src, dst, sport as u16, dport as u16)))
    }

    /// Four counters after a comma each: all empty → `None`, all numbers →
    /// `Some`; then the end of input. (Unrolled into four locals: an array
    /// written by element and read back whole stalled store forwarding.)
    #[inline(always)]
    fn counters(i: &[u8]) -> Option<Option<Counters>> {
        if i == b",,,," {
            return Some(None);
        }
        #[inline(always)]
        fn next(i: &[u8]) -> Option<(&[u8], u64)> {
            match i.split_first() {
                Some((b',', r)) => uint(r, 19).ok(),
                _ => None,
            }
        }
        let (i, a) = next(i)?;
        let (i, b) = next(i)?;
        let (i, c) = next(i)?;
        let (i, d) = next(i)?;
        i.is_empty().then_some(Some(Counters {
            pkts_src_to_dst: a,
            bytes_src_to_dst: b,
            pkts_dst_to_src: c,
            bytes_dst_to_src: d,
        }))
    }

    #[inline(always)]
    fn direction(c: u8) -> Option<Direction> {
        match c {
            b'I' => Some(Direction::Inbound),
            b'O' => Some(Direction::Outbound),
            _ => None,
        }
    }

    #[inline(always)]
    fn nsg(b: &[u8], allow_v1: bool, allow_v2: bool) -> Option<Fields> {
        let (i, (ts_ms, src, dst, sport, dport)) = head(b).ok()?;
        let (i, p) = letter(i).ok()?;
        let proto = match p {
            b'T' => FlowProto::TCP,
            b'U' => FlowProto::UDP,
            _ => return None,
        };
        let (i, d) = letter(i).ok()?;
        let direction = direction(d)?;
        let (decision, state, counters) = match i {
            [c] if allow_v1 => (*c, None, None),
            [c, b',', s, rest @ ..] if allow_v2 => {
                let state = match s {
                    b'B' => FlowState::Begin,
                    b'C' => FlowState::Continuing,
                    b'E' => FlowState::End,
                    _ => return None,
                };
                (*c, Some(state), counters(rest)?)
            }
            _ => return None,
        };
        let decision = match decision {
            b'A' => Decision::Allow,
            b'D' => Decision::Deny,
            _ => return None,
        };
        Some(Fields {
            ts_ms,
            src,
            dst,
            sport,
            dport,
            proto,
            direction,
            decision,
            state,
            encryption: None,
            counters,
        })
    }

    #[inline(always)]
    fn vnet(b: &[u8]) -> Option<Fields> {
        let (i, (ts_ms, src, dst, sport, dport)) = head(b).ok()?;
        let (i, p) = field(i, 3, 255).ok()?;
        let proto = FlowProto(p as u8);
        let (i, d) = letter(i).ok()?;
        let direction = direction(d)?;
        let (i, s) = letter(i).ok()?;
        let state = match s {
            b'B' => FlowState::Begin,
            b'C' => FlowState::Continuing,
            b'E' => FlowState::End,
            b'D' => FlowState::Deny,
            _ => return None,
        };
        let (i, enc) = match i {
            [b'N', b'X', rest @ ..] if rest.first() == Some(&b',') => {
                (rest, Encryption::NotEncrypted)
            }
            [b'X', rest @ ..] if rest.first() == Some(&b',') => (rest, Encryption::Encrypted),
            _ => {
                let (rest, text) = take_till::<_, _, ()>(|c| c == b',').parse(i).ok()?;
                (rest, Encryption::parse(std::str::from_utf8(text).ok()?)?)
            }
        };
        let decision = if state == FlowState::Deny {
            Decision::Deny
        } else {
            Decision::Allow
        };
        Some(Fields {
            ts_ms,
            src,
            dst,
            sport,
            dport,
            proto,
            direction,
            decision,
            state: Some(state),
            encryption: Some(enc),
            counters: counters(i)?,
        })
    }

    /// Parse a perfectly formed IPv4 tuple, or `None`.
    #[inline(always)]
    pub(crate) fn tuple(b: &[u8], layout: TupleLayout) -> Option<Fields> {
        match layout {
            TupleLayout::NsgV1 => nsg(b, true, false),
            TupleLayout::NsgV2 => nsg(b, false, true),
            TupleLayout::NsgAny => nsg(b, true, true),
            TupleLayout::Vnet => vnet(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn size_is_small() {
        assert!(
            std::mem::size_of::<FlowTuple>() <= 104,
            "{}",
            std::mem::size_of::<FlowTuple>()
        );
    }

    #[test]
    fn nsg_v1() {
        let t = parse_tuple(
            "1487282421,192.0.2.95,10.1.0.4,51529,5358,T,I,D",
            TupleLayout::NsgV1,
        )
        .unwrap();
        assert_eq!(t.ts_ms, 1_487_282_421_000);
        assert_eq!((t.src, t.dst), (v4("192.0.2.95"), v4("10.1.0.4")));
        assert_eq!((t.sport, t.dport), (51529, 5358));
        assert_eq!(t.proto, FlowProto::TCP);
        assert_eq!(t.direction, Direction::Inbound);
        assert_eq!(t.decision, Decision::Deny);
        assert_eq!((t.state, t.counters, t.encryption), (None, None, None));
    }

    #[test]
    fn nsg_v2_begin_has_empty_counters() {
        let t = parse_tuple(
            "1724090369,35.203.211.209,10.1.0.4,55740,38405,T,I,D,B,,,,",
            TupleLayout::NsgV2,
        )
        .unwrap();
        assert_eq!(t.state, Some(FlowState::Begin));
        assert_eq!(t.counters, None);
        assert_eq!(t.decision, Decision::Deny);
    }

    #[test]
    fn nsg_v2_end_without_reply() {
        let t = parse_tuple(
            "1724090346,10.1.0.4,20.98.192.237,35620,443,T,O,A,E,1,74,0,0",
            TupleLayout::NsgAny,
        )
        .unwrap();
        assert_eq!(t.state, Some(FlowState::End));
        assert_eq!(
            t.counters,
            Some(Counters {
                pkts_src_to_dst: 1,
                bytes_src_to_dst: 74,
                pkts_dst_to_src: 0,
                bytes_dst_to_src: 0
            })
        );
        assert_eq!(t.direction, Direction::Outbound);
    }

    #[test]
    fn vnet_ms_and_deny_state() {
        let t = parse_tuple(
            "1675551614124,205.210.31.32,192.168.0.8,53998,5986,6,I,D,NX,0,0,0,0",
            TupleLayout::Vnet,
        )
        .unwrap();
        assert_eq!(t.ts_ms, 1_675_551_614_124);
        assert_eq!(t.decision, Decision::Deny);
        assert_eq!(t.state, Some(FlowState::Deny));
        assert_eq!(t.encryption, Some(Encryption::NotEncrypted));
        assert_eq!(t.counters.map(|c| c.is_zero()), Some(true));
        assert_eq!(t.dport, 5986);
    }

    #[test]
    fn vnet_seconds_and_empty_counters_accepted() {
        let t = parse_tuple(
            "1493763938,10.0.0.6,52.239.184.180,23956,443,17,I,B,NX,,,,",
            TupleLayout::Vnet,
        )
        .unwrap();
        assert_eq!(t.ts_ms, 1_493_763_938_000);
        assert_eq!(t.proto, FlowProto::UDP);
        assert_eq!(t.counters, None);
    }

    #[test]
    fn ipv6_addresses() {
        let t = parse_tuple(
            "1675551614124,2001:db8::1,fe80::2,1,2,6,O,E,X,1,2,3,4",
            TupleLayout::Vnet,
        )
        .unwrap();
        assert_eq!(t.src, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert!(t.encryption.unwrap().is_encrypted());
    }

    #[test]
    fn nsg_layout_in_vnet_record_is_named() {
        let e = parse_tuple(
            "1754512773,10.0.0.4,13.107.21.200,49982,443,T,O,A,C,7,1158,12,8143",
            TupleLayout::Vnet,
        )
        .unwrap_err();
        assert_eq!(e, TupleError::NsgLayoutInVnet);
        let e = parse_tuple(
            "1663146003606,10.0.0.6,52.239.184.180,23956,443,6,O,E,NX,3,767,2,1580",
            TupleLayout::NsgV2,
        )
        .unwrap_err();
        assert_eq!(e, TupleError::VnetLayoutInNsg);
    }

    #[test]
    fn field_errors_name_the_field() {
        let e = parse_tuple("1,10.0.0.300,10.0.0.1,1,2,T,I,A", TupleLayout::NsgV1).unwrap_err();
        assert_eq!(e.field(), Some(1));
        let e = parse_tuple("1,10.0.0.3,10.0.0.1,1,70000,T,I,A", TupleLayout::NsgV1).unwrap_err();
        assert_eq!(e.field(), Some(4));
        let e = parse_tuple("1,10.0.0.3,10.0.0.1,1,7,T,X,A", TupleLayout::NsgV1).unwrap_err();
        assert_eq!(e.field(), Some(6));
        let e =
            parse_tuple("1,10.0.0.3,10.0.0.1,1,7,T,I,A,B,1,,,", TupleLayout::NsgV2).unwrap_err();
        assert_eq!(e, TupleError::Counters);
        let e = parse_tuple(
            "1,10.0.0.3,10.0.0.1,1,7,T,I,A,B,1,2,3,4,5",
            TupleLayout::NsgV2,
        )
        .unwrap_err();
        assert!(matches!(e, TupleError::FieldCount { found: 14, .. }));
        let e = parse_tuple("1,10.0.0.3,10.0.0.1,1,7,T,I,A,B,,,,", TupleLayout::NsgV1).unwrap_err();
        assert!(matches!(e, TupleError::FieldCount { found: 13, .. }));
        let e = parse_tuple(
            "99999999999999999999,10.0.0.3,10.0.0.1,1,7,T,I,A",
            TupleLayout::NsgV1,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some(0));
        let e = parse_tuple("", TupleLayout::Vnet).unwrap_err();
        assert!(matches!(e, TupleError::FieldCount { found: 1, .. }));
        let e = parse_tuple(
            "1,1.2.3.4,1.2.3.4,1,7,256,I,B,NX,0,0,0,0",
            TupleLayout::Vnet,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some(5));
        let e =
            parse_tuple("1,1.2.3.4,1.2.3.4,1,7,6,I,B,YES,0,0,0,0", TupleLayout::Vnet).unwrap_err();
        assert_eq!(e.field(), Some(8));
    }

    #[test]
    fn encryption_values() {
        for (s, drops) in [
            ("NX_NOT_ACCEPTED", true),
            ("NX_SW_NOT_READY", true),
            ("NX_LOCAL_DST", false),
            ("NX_NEW_THING", false),
        ] {
            assert_eq!(Encryption::parse(s).unwrap().drops(), drops, "{s}");
        }
        assert_eq!(Encryption::parse("nx"), None);
    }
}

//! The tuple's types: the decoded [`FlowTuple`], its fields' enums, the
//! layouts and [`TupleError`].

use serde::Serialize;
use std::net::IpAddr;

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

/// Direction relative to the NIC where the flow was captured
/// ([Traffic Analytics schema](https://learn.microsoft.com/azure/network-watcher/traffic-analytics-schema)):
/// inbound tuples have the VM as destination, outbound ones as source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// `I`
    Inbound,
    /// `O`
    Outbound,
}

/// Whether the NSG (or AVNM admin rule) let the flow through. NSG logs have a
/// field for it (`A`/`D`); VNet logs write a deny as flow state `D`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// `A`, or any VNet state other than `D`.
    Allow,
    /// `D` (NSG decision field or VNet flow state).
    Deny,
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

    /// The value as logged (`X`, `NX`, `NX_…`), `None` for anything else.
    pub(super) fn parse(s: &str) -> Option<Encryption> {
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

/// Index into [`FlowLogBatch::rules`](crate::flowlog::FlowLogBatch::rules): which rule,
/// ACL (NSG resource id or VNet `aclID`) and MAC logged a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub struct RuleRef(pub u32);

/// One flow tuple, decoded. `Copy`, 96 bytes, no borrowed or heap data:
/// strings (rule, NSG, MAC) live once per file in
/// [`FlowLogFile`](crate::flowlog::FlowLogFile) and are referenced through
/// [`RuleRef`]; the record through its index in
/// [`FlowLogBatch::records`](crate::flowlog::FlowLogBatch::records).
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
    /// Index into [`FlowLogBatch::records`](crate::flowlog::FlowLogBatch::records).
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

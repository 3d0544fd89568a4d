//! The JSON shape of one record, deserialised by serde with borrowed strings.
//!
//! Every field is optional and unknown keys are ignored, so key order,
//! extra keys and missing keys never fail the parse; what is missing is
//! judged afterwards, with a message. Strings borrow from the input unless
//! they contain escapes (never seen in flow logs), so the tuple strings cost
//! no allocation of their own (one `Vec` per rule group holds them).

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use std::borrow::Cow;

/// A string borrowed from the input when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Str<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl Str<'_> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A JSON string as raw bytes (no UTF-8 validation: tuples are parsed as
/// ASCII bytes and only a rejected tuple is looked at as text), borrowed
/// from the input when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bytes<'a>(pub Cow<'a, [u8]>);

impl<'de: 'a, 'a> Deserialize<'de> for Bytes<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bytes<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a tuple string")
            }
            fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
                Ok(Bytes(Cow::Borrowed(v)))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(Bytes(Cow::Owned(v.to_owned())))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Bytes(Cow::Borrowed(v.as_bytes())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Bytes(Cow::Owned(v.as_bytes().to_owned())))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// One element of `records`, NSG or VNet.
#[derive(Debug, Deserialize)]
pub(crate) struct RawRecord<'a> {
    #[serde(borrow, default)]
    pub time: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub category: Option<Str<'a>>,
    /// NSG resource id (docs' property list spells it `resourceid`).
    #[serde(
        borrow,
        default,
        rename = "resourceId",
        alias = "resourceid",
        alias = "resourceID"
    )]
    pub resource_id: Option<Str<'a>>,
    #[serde(borrow, default, rename = "macAddress")]
    pub mac_address: Option<Str<'a>>,
    #[serde(default, rename = "flowLogVersion")]
    pub flow_log_version: Option<u64>,
    #[serde(borrow, default, rename = "flowLogResourceID")]
    pub flow_log_resource_id: Option<Str<'a>>,
    #[serde(borrow, default, rename = "targetResourceID")]
    pub target_resource_id: Option<Str<'a>>,
    /// NSG flow logs.
    #[serde(borrow, default)]
    pub properties: Option<NsgProperties<'a>>,
    /// VNet flow logs.
    #[serde(borrow, default, rename = "flowRecords")]
    pub flow_records: Option<VnetFlowRecords<'a>>,
    /// Present only when a whole blob was pasted in as a record.
    #[serde(default)]
    pub records: Option<Vec<IgnoredAny>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NsgProperties<'a> {
    #[serde(default, rename = "Version", alias = "version")]
    pub version: Option<u64>,
    #[serde(borrow, default)]
    pub flows: Vec<NsgRuleFlows<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NsgRuleFlows<'a> {
    #[serde(borrow, default)]
    pub rule: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub flows: Vec<NsgMacFlows<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NsgMacFlows<'a> {
    #[serde(borrow, default)]
    pub mac: Option<Str<'a>>,
    #[serde(borrow, default, rename = "flowTuples")]
    pub flow_tuples: Vec<Bytes<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VnetFlowRecords<'a> {
    #[serde(borrow, default)]
    pub flows: Vec<VnetAclFlows<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VnetAclFlows<'a> {
    #[serde(borrow, default, rename = "aclID")]
    pub acl_id: Option<Str<'a>>,
    #[serde(borrow, default, rename = "flowGroups")]
    pub flow_groups: Vec<VnetFlowGroup<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VnetFlowGroup<'a> {
    #[serde(borrow, default)]
    pub rule: Option<Str<'a>>,
    #[serde(borrow, default, rename = "flowTuples")]
    pub flow_tuples: Vec<Bytes<'a>>,
}

/// One list of `flowTuples` with what the record says about who logged it.
/// NSG and VNet nest the same facts in other orders (NSG: rule, then MAC;
/// VNet: ACL, then rule); [`RawRecord::groups`] flattens both.
pub(crate) struct TupleGroup<'r, 'a> {
    /// `true` for VNet (`flowRecords.flows[i].flowGroups[j]`).
    pub vnet: bool,
    /// Index into the outer `flows`.
    pub flow: usize,
    /// Index into `flowGroups` (VNet) or the inner `flows` (NSG).
    pub group: usize,
    /// The rule's name.
    pub rule: Option<&'r Str<'a>>,
    /// VNet `aclID`; `None` for NSG (the NSG is the record's `resourceId`).
    pub acl: Option<&'r Str<'a>>,
    /// NSG `mac`; `None` for VNet (the MAC is the record's `macAddress`).
    pub mac: Option<&'r Str<'a>>,
    /// The tuple strings.
    pub tuples: &'r [Bytes<'a>],
}

impl<'a> RawRecord<'a> {
    /// Every tuple list of the record, NSG ones then VNet ones (a record the
    /// parser uses has only one of the two), in input order.
    pub fn groups(&self) -> impl Iterator<Item = TupleGroup<'_, 'a>> {
        let nsg = self
            .properties
            .iter()
            .flat_map(|p| p.flows.iter().enumerate())
            .flat_map(|(flow, rf)| {
                rf.flows
                    .iter()
                    .enumerate()
                    .map(move |(group, mf)| TupleGroup {
                        vnet: false,
                        flow,
                        group,
                        rule: rf.rule.as_ref(),
                        acl: None,
                        mac: mf.mac.as_ref(),
                        tuples: &mf.flow_tuples,
                    })
            });
        let vnet = self
            .flow_records
            .iter()
            .flat_map(|r| r.flows.iter().enumerate())
            .flat_map(|(flow, af)| {
                af.flow_groups
                    .iter()
                    .enumerate()
                    .map(move |(group, g)| TupleGroup {
                        vnet: true,
                        flow,
                        group,
                        rule: g.rule.as_ref(),
                        acl: af.acl_id.as_ref(),
                        mac: None,
                        tuples: &g.flow_tuples,
                    })
            });
        nsg.chain(vnet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_borrow_and_escapes_are_decoded() {
        let j = br#"{"rule":"a\u0062","flowTuples":["1,2","3\u002c"]}"#;
        let g: VnetFlowGroup<'_> = serde_json::from_slice(j).unwrap();
        assert!(matches!(g.flow_tuples[0].0, Cow::Borrowed(b"1,2")));
        assert_eq!(*g.flow_tuples[1].0, *b"3,");
        assert_eq!(g.rule.unwrap().as_str(), "ab");
        let bad: Result<VnetFlowGroup<'_>, _> = serde_json::from_slice(br#"{"flowTuples":[[1]]}"#);
        assert!(bad.is_err());
    }

    #[test]
    fn any_key_order_and_unknown_keys() {
        let j = br#"{"zzz":[{"q":1}],"flowRecords":{"flows":[]},"category":"FlowLogFlowEvent","flowLogVersion":4}"#;
        let r: RawRecord<'_> = serde_json::from_slice(j).unwrap();
        assert_eq!(r.flow_log_version, Some(4));
        assert!(r.flow_records.is_some() && r.properties.is_none());
    }
}

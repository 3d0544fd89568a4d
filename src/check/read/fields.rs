//! Typed values out of the normalised JSON: strings (resolving ARM
//! expressions), lists that PowerShell may print as one string, resource ids
//! and address prefixes.

use super::arm::Params;
use crate::check::addr::Ipv4Net;
use crate::check::model::ResourceId;
use serde_json::Value;

pub(super) fn text(v: &Value, key: &str, params: &Params) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(|s| params.resolve(s))
}

/// A field that may be a string or a list of strings (PowerShell prints lists).
pub(super) fn strings(v: &Value, key: &str, params: &Params) -> Vec<String> {
    match v.get(key) {
        Some(Value::String(s)) => vec![params.resolve(s)],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|s| params.resolve(s))
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn id_of(v: Option<&Value>, params: &Params) -> Option<ResourceId> {
    let v = v?;
    let raw = match v {
        Value::String(s) => params.resolve(s),
        Value::Object(_) => text(v, "id", params)?,
        _ => return None,
    };
    (!raw.trim().is_empty()).then(|| ResourceId::parse(&raw))
}

pub(super) fn ids(v: &Value, key: &str, params: &Params) -> Vec<ResourceId> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| id_of(Some(x), params)).collect())
        .unwrap_or_default()
}

pub(super) fn prefixes(items: &[String]) -> Vec<Ipv4Net> {
    items.iter().filter_map(|s| Ipv4Net::parse(s)).collect()
}

/// `name`, else the last part of the resource id.
pub(super) fn name_of(v: &Value, id: Option<&ResourceId>, params: &Params) -> Option<String> {
    text(v, "name", params).or_else(|| id.and_then(|i| i.name().map(str::to_string)))
}

pub(super) fn resource_group(
    v: &Value,
    id: Option<&ResourceId>,
    params: &Params,
) -> Option<String> {
    text(v, "resourceGroup", params).or_else(|| id.and_then(|i| i.resource_group.clone()))
}

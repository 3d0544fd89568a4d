//! NSGs, their security rules, and effective rules
//! (`az network nic list-effective-nsg`).

use super::arm::Params;
use super::fields::{id_of, ids, name_of, prefixes, resource_group, strings, text};
use crate::check::addr::Ipv4Net;
use crate::check::model::*;
use serde_json::Value;

pub(super) fn nsg(v: &Value, params: &Params) -> Nsg {
    let id = id_of(v.get("id"), params);
    let name = name_of(v, id.as_ref(), params).unwrap_or_else(|| "(unnamed NSG)".to_string());
    let rules_of = |key: &str, default: bool| -> Vec<SecurityRule> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|r| rule(r, default, params)).collect())
            .unwrap_or_default()
    };
    Nsg {
        resource_group: resource_group(v, id.as_ref(), params),
        rules: rules_of("securityRules", false),
        default_rules: rules_of("defaultSecurityRules", true),
        subnets: ids(v, "subnets", params),
        nics: ids(v, "networkInterfaces", params),
        origin: NsgOrigin::Definition,
        name,
        id,
    }
}

pub(super) fn effective_nsg(v: &Value) -> Nsg {
    let params = Params::default();
    let id = id_of(v.get("networkSecurityGroup"), &params);
    let assoc = v.get("association");
    let nic = assoc.and_then(|a| id_of(a.get("networkInterface"), &params));
    let subnet = assoc.and_then(|a| id_of(a.get("subnet"), &params));
    let mut rules = Vec::new();
    let mut default_rules = Vec::new();
    for r in v
        .get("effectiveSecurityRules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(rule) = rule(r, false, &params) {
            if rule.default {
                default_rules.push(rule);
            } else {
                rules.push(rule);
            }
        }
    }
    Nsg {
        name: id
            .as_ref()
            .and_then(|i| i.name().map(str::to_string))
            .unwrap_or_else(|| "(effective rules)".to_string()),
        resource_group: id.as_ref().and_then(|i| i.resource_group.clone()),
        id,
        rules,
        default_rules,
        subnets: subnet.iter().cloned().collect(),
        nics: nic.iter().cloned().collect(),
        origin: NsgOrigin::Effective { nic, subnet },
    }
}

pub(super) fn rule(v: &Value, default: bool, params: &Params) -> Option<SecurityRule> {
    let raw_name = text(v, "name", params).unwrap_or_default();
    // Effective rules are named "securityRules/X" or "defaultSecurityRules/X".
    let (name, default) = match raw_name.split_once('/') {
        Some((kind, n)) if kind.eq_ignore_ascii_case("defaultSecurityRules") => {
            (n.to_string(), true)
        }
        Some((kind, n)) if kind.eq_ignore_ascii_case("securityRules") => (n.to_string(), default),
        _ => (raw_name, default),
    };
    let priority = match v.get("priority") {
        Some(Value::Number(n)) => u32::try_from(n.as_u64()?).ok()?,
        Some(Value::String(s)) => s.trim().parse().ok()?,
        _ => return None,
    };
    let direction = match text(v, "direction", params)?.to_ascii_lowercase().as_str() {
        "inbound" => Direction::Inbound,
        "outbound" => Direction::Outbound,
        _ => return None,
    };
    let access = match text(v, "access", params)
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("allow") => Some(Access::Allow),
        Some("deny") => Some(Access::Deny),
        _ => None,
    };
    let protocol = match text(v, "protocol", params) {
        None => RuleProto::Invalid("(missing)".into()),
        Some(p) => match p.to_ascii_lowercase().as_str() {
            "*" | "any" | "all" => RuleProto::Any,
            "tcp" => RuleProto::Tcp,
            "udp" => RuleProto::Udp,
            "icmp" | "esp" | "ah" => RuleProto::Other(p),
            _ => RuleProto::Invalid(p),
        },
    };
    let side = |one: &str, many: &str, asgs: &str, expanded: &str| -> Vec<AddrItem> {
        let mut texts = strings(v, many, params);
        for s in strings(v, one, params) {
            if !texts.contains(&s) {
                texts.push(s);
            }
        }
        let expanded_texts = strings(v, expanded, params);
        let expanded = (!expanded_texts.is_empty()).then(|| prefixes(&expanded_texts));
        let mut items: Vec<AddrItem> = texts.iter().map(|t| addr_item(t, &expanded)).collect();
        for asg in ids(v, asgs, params) {
            items.push(AddrItem::Asg(asg.name().unwrap_or(&asg.raw).to_string()));
        }
        items
    };
    let ports = |one: &str, many: &str| -> Result<Vec<PortItem>, String> {
        let mut texts = strings(v, many, params);
        for s in strings(v, one, params) {
            if !texts.contains(&s) {
                texts.push(s);
            }
        }
        if texts.is_empty() {
            return Err("(missing)".to_string());
        }
        texts
            .iter()
            .map(|t| port_item(t).ok_or_else(|| t.clone()))
            .collect()
    };
    Some(SecurityRule {
        name,
        priority,
        direction,
        access,
        protocol,
        sources: side(
            "sourceAddressPrefix",
            "sourceAddressPrefixes",
            "sourceApplicationSecurityGroups",
            "expandedSourceAddressPrefix",
        ),
        destinations: side(
            "destinationAddressPrefix",
            "destinationAddressPrefixes",
            "destinationApplicationSecurityGroups",
            "expandedDestinationAddressPrefix",
        ),
        source_ports: ports("sourcePortRange", "sourcePortRanges"),
        destination_ports: ports("destinationPortRange", "destinationPortRanges"),
        default,
    })
}

fn addr_item(t: &str, expanded: &Option<Vec<Ipv4Net>>) -> AddrItem {
    let s = t.trim();
    if s == "*" || s.eq_ignore_ascii_case("any") {
        return AddrItem::Any;
    }
    if let Some(n) = Ipv4Net::parse(s) {
        return if n.is_default() {
            AddrItem::Any
        } else {
            AddrItem::Net(n)
        };
    }
    if s.contains(':') {
        return AddrItem::Ipv6(s.to_string());
    }
    let is_tag = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_');
    if is_tag {
        AddrItem::Tag {
            name: s.to_string(),
            expanded: expanded.clone(),
        }
    } else {
        AddrItem::Invalid(s.to_string())
    }
}

fn port_item(t: &str) -> Option<PortItem> {
    let s = t.trim();
    if s == "*" {
        return Some(PortItem::Any);
    }
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?),
        None => {
            let p = s.parse::<u16>().ok()?;
            (p, p)
        }
    };
    match (a, b) {
        (0, 65535) => Some(PortItem::Any),
        (a, b) if a <= b => Some(PortItem::Range(a, b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_addresses() {
        assert_eq!(port_item("*"), Some(PortItem::Any));
        assert_eq!(port_item("0-65535"), Some(PortItem::Any));
        assert_eq!(
            port_item("60000-60001"),
            Some(PortItem::Range(60000, 60001))
        );
        assert_eq!(port_item("22"), Some(PortItem::Range(22, 22)));
        assert_eq!(port_item("9-1"), None);
        assert_eq!(port_item("ssh"), None);
        assert_eq!(addr_item("0.0.0.0/0", &None), AddrItem::Any);
        assert!(matches!(
            addr_item("Storage.WestEurope", &None),
            AddrItem::Tag { .. }
        ));
        assert!(matches!(addr_item("fd00::/8", &None), AddrItem::Ipv6(_)));
        assert!(matches!(
            addr_item("10.0.0.0/99", &None),
            AddrItem::Invalid(_)
        ));
    }
}

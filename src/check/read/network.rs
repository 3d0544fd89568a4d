//! Subnets, VNETs and route tables.

use super::arm::Params;
use super::fields::{id_of, ids, name_of, prefixes, resource_group, strings, text};
use crate::check::addr::Ipv4Net;
use crate::check::model::*;
use serde_json::Value;
use std::net::Ipv4Addr;

pub(super) fn subnet(v: &Value, params: &Params) -> Subnet {
    let id = id_of(v.get("id"), params);
    let full_name = text(v, "name", params).unwrap_or_default();
    // ARM export child resources are named "vnet/subnet".
    let (vnet_from_name, name) = match full_name.rsplit_once('/') {
        Some((vn, n)) => (Some(vn.to_string()), n.to_string()),
        None => (None, full_name),
    };
    let name = if name.is_empty() {
        id.as_ref()
            .and_then(|i| i.name().map(str::to_string))
            .unwrap_or_default()
    } else {
        name
    };
    let mut prefix_texts = strings(v, "addressPrefixes", params);
    prefix_texts.extend(strings(v, "addressPrefix", params));
    let mut prefix_list = prefixes(&prefix_texts);
    prefix_list.dedup();
    let delegations = v
        .get("delegations")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|d| text(d, "serviceName", params))
                .collect()
        })
        .unwrap_or_default();
    let default_outbound_access = match v.get("defaultOutboundAccess") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    Subnet {
        vnet: id
            .as_ref()
            .and_then(|i| i.get("virtualNetworks").map(str::to_string))
            .or(vnet_from_name),
        resource_group: resource_group(v, id.as_ref(), params),
        prefixes: prefix_list,
        pls_policies: text(v, "privateLinkServiceNetworkPolicies", params),
        delegations,
        nsg: id_of(v.get("networkSecurityGroup"), params),
        route_table: id_of(v.get("routeTable"), params),
        nat_gateway: id_of(v.get("natGateway"), params),
        default_outbound_access,
        ip_configurations: v
            .get("ipConfigurations")
            .and_then(Value::as_array)
            .map(Vec::len),
        name,
        id,
    }
}

pub(super) fn vnet(v: &Value, params: &Params) -> Vnet {
    let id = id_of(v.get("id"), params);
    let space = v
        .get("addressSpace")
        .map(|a| strings(a, "addressPrefixes", params))
        .unwrap_or_default();
    let mut peer_spaces = Vec::new();
    for p in v
        .get("virtualNetworkPeerings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        // remoteVirtualNetworkAddressSpace is what is actually reachable now;
        // remoteAddressSpace is the peered VNET's space. Take both.
        for key in ["remoteAddressSpace", "remoteVirtualNetworkAddressSpace"] {
            if let Some(s) = p.get(key) {
                peer_spaces.extend(prefixes(&strings(s, "addressPrefixes", params)));
            }
        }
    }
    peer_spaces.dedup();
    let dns_servers = v
        .get("dhcpOptions")
        .map(|d| strings(d, "dnsServers", params))
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.trim().parse::<Ipv4Addr>().ok())
        .collect();
    Vnet {
        name: name_of(v, id.as_ref(), params).unwrap_or_default(),
        location: text(v, "location", params),
        address_space: prefixes(&space),
        peer_spaces,
        dns_servers,
        id,
    }
}

pub(super) fn route_table(v: &Value, params: &Params) -> RouteTable {
    let id = id_of(v.get("id"), params);
    let routes = v
        .get("routes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|r| {
                    let prefix_text = text(r, "addressPrefix", params).unwrap_or_default();
                    Route {
                        name: text(r, "name", params).unwrap_or_default(),
                        prefix: Ipv4Net::parse(&prefix_text),
                        prefix_text,
                        next_hop_type: text(r, "nextHopType", params).unwrap_or_default(),
                        next_hop_ip: text(r, "nextHopIpAddress", params),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    RouteTable {
        name: name_of(v, id.as_ref(), params).unwrap_or_default(),
        resource_group: resource_group(v, id.as_ref(), params),
        routes,
        subnets: ids(v, "subnets", params),
        id,
    }
}

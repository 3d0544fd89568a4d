//! Reading configuration JSON, detected by content.
//!
//! Accepted (each as a single object, an array, a `{"value": [...]}` list or
//! inside an ARM template's / export's `resources`):
//!
//! * the image template: ARM resource (`Microsoft.VirtualMachineImages/imageTemplates`),
//!   `az image builder show` output, or the bare `properties` object;
//! * NSGs: `az network nsg show` (flattened), REST/ARM (`properties` wrapper),
//!   ARM export (with `securityRules` child resources);
//! * effective rules: `az network nic list-effective-nsg`;
//! * subnets (`az network vnet subnet show`), VNETs (`az network vnet show`,
//!   subnets included) and route tables (`az network route-table show`).
//!
//! Two normalisations make one reader serve all of them: PascalCase keys
//! (PowerShell's `ConvertTo-Json`) become camelCase, and every `properties`
//! object is merged into its parent (which is what the Azure CLI prints).
//! Simple ARM expressions (`[parameters('x')]`, `[variables('x')]`,
//! `[concat(...)]`, `[resourceId(...)]`) are resolved from the template's
//! `defaultValue`s; others stay as written and count as placeholders.
//!
//! The reading is split by concern: `normalise` makes one shape of the many
//! spellings, `arm` resolves ARM expressions, `fields` reads typed values out
//! of the JSON, and `template`, `nsg` and `network` build the model of each
//! resource kind. This module detects which kind an object is.

mod arm;
mod fields;
mod network;
mod normalise;
mod nsg;
mod template;

use crate::check::model::*;
use arm::Params;
use fields::text;
use serde_json::Value;
use std::path::Path;

/// Why a file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The bytes are not JSON.
    #[error("{path}: not JSON (line {line}, column {column}: {message})")]
    NotJson {
        /// The file.
        path: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// serde_json's message.
        message: String,
    },
    /// JSON, but nothing `check` reads.
    #[error("{path}: no image template, NSG, subnet, VNET or route table found ({what})")]
    NotRecognized {
        /// The file.
        path: String,
        /// What the top level looked like.
        what: String,
    },
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One thing found in an input.
#[derive(Debug, Clone)]
pub enum Resource {
    /// An image template.
    Template(Template),
    /// An NSG (definition or effective).
    Nsg(Nsg),
    /// An NSG rule given as its own ARM resource (`nsg/rule`), to attach to its NSG.
    NsgRule {
        /// The NSG's name.
        nsg: String,
        /// The rule.
        rule: SecurityRule,
    },
    /// A subnet.
    Subnet(Subnet),
    /// A VNET (its subnets come as separate [`Resource::Subnet`]s).
    Vnet(Vnet),
    /// A route table.
    RouteTable(RouteTable),
}

impl Resource {
    /// A short description for the inputs list.
    pub fn describe(&self) -> String {
        match self {
            Resource::Template(t) => format!(
                "image template {}{}",
                t.name.as_deref().unwrap_or("(unnamed)"),
                t.api_version
                    .as_deref()
                    .map(|v| format!(" (API {v})"))
                    .unwrap_or_default()
            ),
            Resource::Nsg(n) => match &n.origin {
                NsgOrigin::Definition => format!("NSG {} ({} rules)", n.name, n.rules.len()),
                NsgOrigin::Effective { nic, subnet } => format!(
                    "effective NSG {} via {} ({} rules)",
                    n.name,
                    match (subnet, nic) {
                        (Some(s), _) => format!("subnet {}", s.name().unwrap_or("?")),
                        (None, Some(n)) => format!("NIC {}", n.name().unwrap_or("?")),
                        (None, None) => "unknown association".to_string(),
                    },
                    n.rules.len() + n.default_rules.len()
                ),
            },
            Resource::NsgRule { nsg, rule } => format!("NSG rule {nsg}/{}", rule.name),
            Resource::Subnet(s) => format!(
                "subnet {}{}",
                s.name,
                s.prefixes
                    .first()
                    .map(|p| format!(" {p}"))
                    .unwrap_or_default()
            ),
            Resource::Vnet(v) => format!("VNET {}", v.name),
            Resource::RouteTable(r) => {
                format!("route table {} ({} routes)", r.name, r.routes.len())
            }
        }
    }
}

/// Read one JSON input. `path` is only used in messages; detection is by content.
///
/// # Errors
/// [`ReadError::NotJson`] for bytes that are not JSON, [`ReadError::NotRecognized`]
/// for JSON that holds nothing `check` reads.
pub fn read_json(path: &Path, bytes: &[u8]) -> Result<Vec<Resource>, ReadError> {
    let shown = path.display().to_string();
    // A UTF-8 BOM (PowerShell's Out-File) is not JSON; skip it.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ReadError::NotJson {
        path: shown.clone(),
        line: e.line(),
        column: e.column(),
        // serde_json appends " at line L column C", already in the fields.
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
    })?;
    let value = normalise::normalise(value);
    let mut out = Vec::new();
    let params = Params::default();
    collect(&value, &params, &mut out, 0);
    if out.is_empty() {
        return Err(ReadError::NotRecognized {
            path: shown,
            what: describe_top(&value),
        });
    }
    Ok(out)
}

fn describe_top(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().take(6).map(String::as_str).collect();
            format!("an object with keys {}", keys.join(", "))
        }
        Value::Array(a) => format!("an array of {} items", a.len()),
        other => format!("a JSON {}", json_kind(other)),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_of(v: &Value) -> String {
    v.get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase()
}

const T_TEMPLATE: &str = "microsoft.virtualmachineimages/imagetemplates";
const T_NSG: &str = "microsoft.network/networksecuritygroups";
const T_NSG_RULE: &str = "microsoft.network/networksecuritygroups/securityrules";
const T_VNET: &str = "microsoft.network/virtualnetworks";
const T_SUBNET: &str = "microsoft.network/virtualnetworks/subnets";
const T_ROUTE_TABLE: &str = "microsoft.network/routetables";

fn collect(v: &Value, params: &Params, out: &mut Vec<Resource>, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Value::Array(items) => {
            for item in items {
                collect(item, params, out, depth + 1);
            }
        }
        Value::Object(m) => {
            // An ARM template / export: resolve against its own parameters.
            if let Some(resources) = m.get("resources").and_then(Value::as_array) {
                let params = Params::from_template(v);
                for r in resources {
                    collect(r, &params, out, depth + 1);
                }
                return;
            }
            if let Some(list) = m.get("value").and_then(Value::as_array) {
                for item in list {
                    collect(item, params, out, depth + 1);
                }
                return;
            }
            if m.contains_key("effectiveSecurityRules") {
                out.push(Resource::Nsg(nsg::effective_nsg(v)));
                return;
            }
            let t = type_of(v);
            let keyed = |k: &str| m.contains_key(k);
            if t == T_TEMPLATE
                || (t.is_empty()
                    && (keyed("vmProfile")
                        || (keyed("source") && (keyed("distribute") || keyed("customize")))))
            {
                out.push(Resource::Template(template::template(v, params)));
            } else if t == T_NSG
                || (t.is_empty() && (keyed("securityRules") || keyed("defaultSecurityRules")))
            {
                out.push(Resource::Nsg(nsg::nsg(v, params)));
            } else if t == T_NSG_RULE {
                let full = text(v, "name", params).unwrap_or_default();
                if let Some((nsg, rule_name)) = full.rsplit_once('/') {
                    if let Some(mut rule) = nsg::rule(v, false, params) {
                        rule.name = rule_name.to_string();
                        out.push(Resource::NsgRule {
                            nsg: nsg.to_string(),
                            rule,
                        });
                    }
                }
            } else if t == T_VNET || (t.is_empty() && keyed("addressSpace")) {
                let vn = network::vnet(v, params);
                if let Some(subnets) = m.get("subnets").and_then(Value::as_array) {
                    for s in subnets {
                        let mut sn = network::subnet(s, params);
                        sn.vnet = sn.vnet.or_else(|| Some(vn.name.clone()));
                        if sn.resource_group.is_none() {
                            sn.resource_group =
                                vn.id.as_ref().and_then(|i| i.resource_group.clone());
                        }
                        out.push(Resource::Subnet(sn));
                    }
                }
                out.push(Resource::Vnet(vn));
            } else if t == T_SUBNET
                || (t.is_empty()
                    && (keyed("addressPrefix") || keyed("addressPrefixes"))
                    && (keyed("privateLinkServiceNetworkPolicies")
                        || keyed("delegations")
                        || keyed("ipConfigurations")
                        || keyed("networkSecurityGroup")))
            {
                out.push(Resource::Subnet(network::subnet(v, params)));
            } else if t == T_ROUTE_TABLE || (t.is_empty() && keyed("routes")) {
                out.push(Resource::RouteTable(network::route_table(v, params)));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aib::Os;

    fn read(s: &str) -> Vec<Resource> {
        read_json(Path::new("t.json"), s.as_bytes()).unwrap()
    }
    #[test]
    fn not_json_and_not_recognised() {
        let e = read_json(Path::new("x.json"), b"{ nope").unwrap_err();
        assert!(matches!(e, ReadError::NotJson { line: 1, .. }), "{e}");
        let e = read_json(Path::new("x.json"), br#"{"hello": 1}"#).unwrap_err();
        assert!(e.to_string().contains("no image template"), "{e}");
    }

    #[test]
    fn powershell_nsg_and_cli_list() {
        // Get-AzNetworkSecurityGroup | ConvertTo-Json: PascalCase, prefixes as lists.
        let ps = r#"{"Name": "nsg1", "Id": "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/nsg1",
            "SecurityRules": [{"Name": "AllowSsh", "Protocol": "Tcp", "SourcePortRange": ["*"], "DestinationPortRange": ["22"],
              "SourceAddressPrefix": ["10.0.0.0/8"], "DestinationAddressPrefix": ["*"], "Access": "Allow", "Priority": 100,
              "Direction": "Inbound"}],
            "Subnets": [{"Id": "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v/subnets/b"}]}"#;
        let r = read(ps);
        let Resource::Nsg(n) = &r[0] else {
            panic!("{r:?}")
        };
        assert_eq!(
            (n.name.as_str(), n.resource_group.as_deref()),
            ("nsg1", Some("rg1"))
        );
        assert_eq!(n.rules[0].priority, 100);
        assert_eq!(
            n.rules[0].destination_ports,
            Ok(vec![PortItem::Range(22, 22)])
        );
        assert_eq!(n.subnets[0].name(), Some("b"));
        // az network nsg list: an array of NSGs.
        let list =
            read(r#"[{"name": "a", "securityRules": []}, {"name": "b", "securityRules": []}]"#);
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn legacy_vnet_config_and_bare_properties() {
        let r = read(
            r#"{"vmProfile": {"vnetConfig": {"name": "v1", "subnetName": "build", "resourceGroupName": "rg"}},
                "source": {"type": "PlatformImage", "publisher": "Canonical", "offer": "UbuntuServer"}}"#,
        );
        let Resource::Template(t) = &r[0] else {
            panic!("{r:?}")
        };
        assert!(t.legacy_vnet_config);
        assert_eq!(t.subnet.as_ref().unwrap().name(), Some("build"));
        assert_eq!(t.os, Some(Os::Linux));
    }
}

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

use super::addr::Ipv4Net;
use super::model::*;
use crate::aib::Os;
use serde_json::{Map, Value};
use std::net::Ipv4Addr;
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
    let value = normalise(value);
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

/// camelCase keys, `properties` merged into the parent, recursively.
fn normalise(v: Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.into_iter().map(normalise).collect()),
        Value::Object(m) => {
            let mut out = Map::new();
            let mut props = None;
            for (k, v) in m {
                let k = camel(&k);
                if k == "properties" && v.is_object() {
                    props = Some(v);
                } else {
                    out.insert(k, normalise(v));
                }
            }
            if let Some(Value::Object(p)) = props.map(normalise) {
                for (k, v) in p {
                    out.entry(k).or_insert(v);
                }
            }
            Value::Object(out)
        }
        other => other,
    }
}

fn camel(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) if f.is_ascii_uppercase() => {
            // "ID" stays "id", "Name" → "name", "SourceAddressPrefix" → "sourceAddressPrefix".
            if k.chars().all(|ch| ch.is_ascii_uppercase()) {
                k.to_ascii_lowercase()
            } else {
                f.to_ascii_lowercase().to_string() + c.as_str()
            }
        }
        _ => k.to_string(),
    }
}

/// ARM template `parameters` / `variables` with string values, to resolve expressions.
#[derive(Default, Clone)]
struct Params {
    values: Vec<(String, String)>,
}

impl Params {
    fn from_template(v: &Value) -> Params {
        let mut values = Vec::new();
        if let Some(ps) = v.get("parameters").and_then(Value::as_object) {
            for (k, p) in ps {
                if let Some(d) = p.get("defaultValue").and_then(Value::as_str) {
                    values.push((
                        format!("parameters:{}", k.to_ascii_lowercase()),
                        d.to_string(),
                    ));
                }
            }
        }
        if let Some(vs) = v.get("variables").and_then(Value::as_object) {
            for (k, val) in vs {
                if let Some(s) = val.as_str().filter(|s| !s.starts_with('[')) {
                    values.push((
                        format!("variables:{}", k.to_ascii_lowercase()),
                        s.to_string(),
                    ));
                }
            }
        }
        Params { values }
    }

    fn get(&self, kind: &str, name: &str) -> Option<&str> {
        let key = format!("{kind}:{}", name.to_ascii_lowercase());
        self.values
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Resolve `[expr]` if it only uses parameters/variables/concat/resourceId
    /// and string literals; otherwise return the text unchanged.
    fn resolve(&self, s: &str) -> String {
        let t = s.trim();
        if !(t.starts_with('[') && t.ends_with(']')) || t.starts_with("[[") {
            return s.to_string();
        }
        let mut p = ExprParser {
            s: &t[1..t.len() - 1],
            pos: 0,
            params: self,
        };
        match p.expr() {
            Some(v) if p.rest().is_empty() => v,
            _ => s.to_string(),
        }
    }
}

/// A tiny parser for the ARM expressions ARM exports use in names and ids.
struct ExprParser<'a> {
    s: &'a str,
    pos: usize,
    params: &'a Params,
}

impl ExprParser<'_> {
    fn rest(&self) -> &str {
        self.s[self.pos..].trim()
    }

    fn skip_ws(&mut self) {
        while self.s[self.pos..].starts_with(' ') {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.s[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Option<String> {
        self.skip_ws();
        if self.s[self.pos..].starts_with('\'') {
            self.pos += 1;
            let end = self.s[self.pos..].find('\'')?;
            let lit = self.s[self.pos..self.pos + end].to_string();
            self.pos += end + 1;
            return Some(lit);
        }
        let start = self.pos;
        while self.s[self.pos..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let func = self.s[start..self.pos].to_ascii_lowercase();
        if func.is_empty() || !self.eat('(') {
            return None;
        }
        let mut args = Vec::new();
        if !self.eat(')') {
            loop {
                args.push(self.expr()?);
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return None;
                }
            }
        }
        match (func.as_str(), args.as_slice()) {
            ("parameters", [name]) => self.params.get("parameters", name).map(str::to_string),
            ("variables", [name]) => self.params.get("variables", name).map(str::to_string),
            ("concat", _) => Some(args.concat()),
            ("resourceid", [kind, names @ ..]) if !names.is_empty() => {
                let (ns, types) = kind.split_once('/')?;
                let types: Vec<&str> = types.split('/').collect();
                if types.len() != names.len() {
                    return None;
                }
                let path: Vec<String> = types
                    .iter()
                    .zip(names)
                    .map(|(t, n)| format!("{t}/{n}"))
                    .collect();
                Some(format!("/providers/{ns}/{}", path.join("/")))
            }
            _ => None,
        }
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
                out.push(Resource::Nsg(effective_nsg(v)));
                return;
            }
            let t = type_of(v);
            let keyed = |k: &str| m.contains_key(k);
            if t == T_TEMPLATE
                || (t.is_empty()
                    && (keyed("vmProfile")
                        || (keyed("source") && (keyed("distribute") || keyed("customize")))))
            {
                out.push(Resource::Template(template(v, params)));
            } else if t == T_NSG
                || (t.is_empty() && (keyed("securityRules") || keyed("defaultSecurityRules")))
            {
                out.push(Resource::Nsg(nsg(v, params)));
            } else if t == T_NSG_RULE {
                let full = text(v, "name", params).unwrap_or_default();
                if let Some((nsg, rule_name)) = full.rsplit_once('/') {
                    if let Some(mut rule) = rule(v, false, params) {
                        rule.name = rule_name.to_string();
                        out.push(Resource::NsgRule {
                            nsg: nsg.to_string(),
                            rule,
                        });
                    }
                }
            } else if t == T_VNET || (t.is_empty() && keyed("addressSpace")) {
                let vn = vnet(v, params);
                if let Some(subnets) = m.get("subnets").and_then(Value::as_array) {
                    for s in subnets {
                        let mut sn = subnet(s, params);
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
                out.push(Resource::Subnet(subnet(v, params)));
            } else if t == T_ROUTE_TABLE || (t.is_empty() && keyed("routes")) {
                out.push(Resource::RouteTable(route_table(v, params)));
            }
        }
        _ => {}
    }
}

// ---- small JSON helpers -------------------------------------------------------

fn text(v: &Value, key: &str, params: &Params) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(|s| params.resolve(s))
}

/// A field that may be a string or a list of strings (PowerShell prints lists).
fn strings(v: &Value, key: &str, params: &Params) -> Vec<String> {
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

fn id_of(v: Option<&Value>, params: &Params) -> Option<ResourceId> {
    let v = v?;
    let raw = match v {
        Value::String(s) => params.resolve(s),
        Value::Object(_) => text(v, "id", params)?,
        _ => return None,
    };
    (!raw.trim().is_empty()).then(|| ResourceId::parse(&raw))
}

fn ids(v: &Value, key: &str, params: &Params) -> Vec<ResourceId> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| id_of(Some(x), params)).collect())
        .unwrap_or_default()
}

fn prefixes(items: &[String]) -> Vec<Ipv4Net> {
    items.iter().filter_map(|s| Ipv4Net::parse(s)).collect()
}

/// `name`, else the last part of the resource id.
fn name_of(v: &Value, id: Option<&ResourceId>, params: &Params) -> Option<String> {
    text(v, "name", params).or_else(|| id.and_then(|i| i.name().map(str::to_string)))
}

fn resource_group(v: &Value, id: Option<&ResourceId>, params: &Params) -> Option<String> {
    text(v, "resourceGroup", params).or_else(|| id.and_then(|i| i.resource_group.clone()))
}

// ---- image template -----------------------------------------------------------

fn template(v: &Value, params: &Params) -> Template {
    let mut t = Template {
        name: text(v, "name", params),
        location: text(v, "location", params),
        api_version: text(v, "apiVersion", params),
        ..Template::default()
    };
    if let Some(vp) = v.get("vmProfile") {
        t.vm_size = text(vp, "vmSize", params).filter(|s| !s.is_empty());
        if let Some(vc) = vp.get("vnetConfig") {
            if let Some(id) = text(vc, "subnetId", params).filter(|s| !s.trim().is_empty()) {
                t.subnet = Some(ResourceId::parse(&id));
            } else if let (Some(vnet), Some(sub)) =
                (text(vc, "name", params), text(vc, "subnetName", params))
            {
                t.legacy_vnet_config = true;
                let rg = text(vc, "resourceGroupName", params);
                t.subnet = Some(ResourceId::subnet(rg.as_deref(), &vnet, &sub));
            }
            t.aci_subnet = text(vc, "containerInstanceSubnetId", params)
                .filter(|s| !s.trim().is_empty())
                .map(|s| ResourceId::parse(&s));
            t.proxy_vm_size = text(vc, "proxyVmSize", params).filter(|s| !s.trim().is_empty());
        }
    }
    let (os, why) = template_os(v);
    t.os = os;
    t.os_evidence = why;
    let mut ph = Vec::new();
    for field in [&t.name, &t.location, &t.api_version].into_iter().flatten() {
        if is_placeholder(field) {
            ph.push(field.clone());
        }
    }
    for id in [&t.subnet, &t.aci_subnet].into_iter().flatten() {
        ph.extend(id.placeholders());
    }
    ph.dedup();
    t.placeholders = ph;
    t
}

/// The OS from the source image, else from the customizer types.
fn template_os(v: &Value) -> (Option<Os>, Option<String>) {
    if let Some(src) = v.get("source") {
        let field = |k: &str| {
            src.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase()
        };
        let (publisher, offer, sku) = (field("publisher"), field("offer"), field("sku"));
        let all = format!("{publisher} {offer} {sku}");
        if all.contains("windows") {
            return (
                Some(Os::Windows),
                Some(format!("source image {publisher}/{offer}")),
            );
        }
        const LINUX: [&str; 12] = [
            "canonical",
            "ubuntu",
            "redhat",
            "rhel",
            "centos",
            "openlogic",
            "suse",
            "sles",
            "debian",
            "almalinux",
            "rockylinux",
            "oracle-linux",
        ];
        if !publisher.is_empty() && LINUX.iter().any(|l| all.contains(l)) {
            return (
                Some(Os::Linux),
                Some(format!("source image {publisher}/{offer}")),
            );
        }
    }
    let mut windows = None;
    let mut linux = None;
    if let Some(steps) = v.get("customize").and_then(Value::as_array) {
        for step in steps {
            match step.get("type").and_then(Value::as_str).unwrap_or("") {
                t @ ("PowerShell" | "WindowsRestart" | "WindowsUpdate") => {
                    windows.get_or_insert(t.to_string());
                }
                t @ "Shell" => {
                    linux.get_or_insert(t.to_string());
                }
                _ => {}
            }
        }
    }
    match (windows, linux) {
        (Some(w), None) => (Some(Os::Windows), Some(format!("customizer type {w}"))),
        (None, Some(l)) => (Some(Os::Linux), Some(format!("customizer type {l}"))),
        _ => (None, None),
    }
}

// ---- NSGs ----------------------------------------------------------------------

fn nsg(v: &Value, params: &Params) -> Nsg {
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

fn effective_nsg(v: &Value) -> Nsg {
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

fn rule(v: &Value, default: bool, params: &Params) -> Option<SecurityRule> {
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

// ---- subnets, VNETs, route tables ----------------------------------------------

fn subnet(v: &Value, params: &Params) -> Subnet {
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

fn vnet(v: &Value, params: &Params) -> Vnet {
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

fn route_table(v: &Value, params: &Params) -> RouteTable {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Vec<Resource> {
        read_json(Path::new("t.json"), s.as_bytes()).unwrap()
    }

    #[test]
    fn keys_are_normalised() {
        let v = normalise(serde_json::json!({
            "Name": "x", "ID": "y", "properties": {"SourceAddressPrefix": "*", "name": "ignored"}
        }));
        assert_eq!(v["name"], "x");
        assert_eq!(v["id"], "y");
        assert_eq!(v["sourceAddressPrefix"], "*");
        assert!(v.get("properties").is_none());
    }

    #[test]
    fn arm_expressions() {
        let p = Params {
            values: vec![
                ("parameters:nsgname".into(), "aib-nsg".into()),
                ("variables:sub".into(), "build".into()),
            ],
        };
        assert_eq!(p.resolve("[parameters('nsgName')]"), "aib-nsg");
        assert_eq!(
            p.resolve("[concat(parameters('nsgName'), '/DenyAll')]"),
            "aib-nsg/DenyAll"
        );
        assert_eq!(
            p.resolve(
                "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v1', variables('sub'))]"
            ),
            "/providers/Microsoft.Network/virtualNetworks/v1/subnets/build"
        );
        assert_eq!(
            p.resolve("[parameters('unknown')]"),
            "[parameters('unknown')]"
        );
        assert_eq!(
            p.resolve("[uniqueString(resourceGroup().id)]"),
            "[uniqueString(resourceGroup().id)]"
        );
        assert_eq!(p.resolve("plain"), "plain");
    }

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

//! Azure resource ids (`/subscriptions/S/resourceGroups/RG/providers/…`):
//! split once, here, for every place that reads a name out of one (the NSG
//! and group of a flow log's deny for a fix, `explain`'s `--nsg`, `check`'s
//! configuration).

use std::fmt;

/// Whether an ARM value is a placeholder or an unresolved expression
/// (`<subnetName>`, `[parameters('svclocation')]`) rather than a real value.
pub fn is_placeholder(s: &str) -> bool {
    let t = s.trim();
    t.is_empty() || t.contains('<') || (t.starts_with('[') && !t.starts_with("[["))
}

/// An Azure resource id, split into its parts.
///
/// `/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/V/subnets/SN`
/// gives `subscription = S`, `resource_group = RG`, `path = [(virtualNetworks, V), (subnets, SN)]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceId {
    /// The id as written.
    pub raw: String,
    /// The subscription, if the id has one.
    pub subscription: Option<String>,
    /// The resource group, if the id has one.
    pub resource_group: Option<String>,
    /// `(type, name)` pairs after the provider namespace.
    pub path: Vec<(String, String)>,
}

impl ResourceId {
    /// Split an id. Never fails: parts it cannot find are left empty.
    pub fn parse(raw: &str) -> ResourceId {
        let mut id = ResourceId {
            raw: raw.trim().to_string(),
            ..ResourceId::default()
        };
        let parts: Vec<&str> = raw.split('/').filter(|p| !p.is_empty()).collect();
        let mut rest: &[&str] = &parts;
        while let Some((&key, tail)) = rest.split_first() {
            match tail {
                [value, more @ ..] if key.eq_ignore_ascii_case("subscriptions") => {
                    id.subscription = Some(value.to_string());
                    rest = more;
                }
                [value, more @ ..] if key.eq_ignore_ascii_case("resourceGroups") => {
                    id.resource_group = Some(value.to_string());
                    rest = more;
                }
                [_namespace, pairs @ ..] if key.eq_ignore_ascii_case("providers") => {
                    // Skip the namespace (Microsoft.Network), then (type, name) pairs.
                    for pair in pairs.chunks_exact(2) {
                        if let [kind, name] = pair {
                            id.path.push((kind.to_string(), name.to_string()));
                        }
                    }
                    break;
                }
                _ => rest = tail,
            }
        }
        id
    }

    /// An id for a subnet given by names (the 2019-05-01-preview
    /// `vnetConfig.{name, subnetName, resourceGroupName}` form).
    pub fn subnet(resource_group: Option<&str>, vnet: &str, subnet: &str) -> ResourceId {
        let raw = format!(
            "/resourceGroups/{}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}",
            resource_group.unwrap_or("<resourceGroup>")
        );
        ResourceId::parse(&raw)
    }

    /// The name of the last resource in the path (the subnet name for a subnet id).
    pub fn name(&self) -> Option<&str> {
        self.path.last().map(|(_, n)| n.as_str())
    }

    /// The name of the resource of `kind` in the path (`virtualNetworks` → the VNET name).
    pub fn get(&self, kind: &str) -> Option<&str> {
        self.path
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(kind))
            .map(|(_, n)| n.as_str())
    }

    /// The placeholders in the id (`<subnetName>` ...).
    pub fn placeholders(&self) -> Vec<String> {
        let mut out = Vec::new();
        let parts = self.subscription.iter().chain(self.resource_group.iter());
        for p in parts.chain(self.path.iter().map(|(_, n)| n)) {
            if is_placeholder(p) {
                out.push(p.clone());
            }
        }
        if self.path.is_empty() && is_placeholder(&self.raw) {
            out.push(self.raw.clone());
        }
        out
    }

    /// Whether both ids name the same resource. Parts missing on either side
    /// are not compared; a placeholder never matches anything.
    pub fn same_as(&self, other: &ResourceId) -> bool {
        fn eq(a: &Option<String>, b: &Option<String>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => !is_placeholder(a) && a.eq_ignore_ascii_case(b),
                _ => true,
            }
        }
        if self.path.is_empty() || self.path.len() != other.path.len() {
            return false;
        }
        let path_eq = self
            .path
            .iter()
            .zip(&other.path)
            .all(|((ka, na), (kb, nb))| {
                ka.eq_ignore_ascii_case(kb) && !is_placeholder(na) && na.eq_ignore_ascii_case(nb)
            });
        path_eq
            && eq(&self.subscription, &other.subscription)
            && eq(&self.resource_group, &other.resource_group)
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

//! What the plan and the fixes are filled with: the command-line flags
//! ([`Context`]) merged over what the text said ([`Names`]), and the filling
//! of a catalogue fix's `{NAME}` markers.

use super::extract::Extracted;
use crate::aib::{Os, TopologyKind};
use crate::resource_id::ResourceId;
use crate::time::Utc;

/// Which flow-log family to download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlowLogKind {
    /// NSG flow logs (`insights-logs-networksecuritygroupflowevent`).
    Nsg,
    /// VNet flow logs (`insights-logs-flowlogflowevent`).
    Vnet,
    /// Both (the default: which one is enabled is not in the error text).
    #[default]
    Both,
}
/// What the user told on the command line; every field wins over the text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// `--subscription`.
    pub subscription: Option<String>,
    /// `--resource-group`: the image template's group.
    pub resource_group: Option<String>,
    /// `--template`.
    pub template: Option<String>,
    /// `--vnet-resource-group`.
    pub vnet_resource_group: Option<String>,
    /// `--vnet`.
    pub vnet: Option<String>,
    /// `--subnet`.
    pub subnet: Option<String>,
    /// `--nsg`: a name or a full resource id.
    pub nsg: Option<String>,
    /// `--storage-account`: where flow logs are and captures go.
    pub storage_account: Option<String>,
    /// `--location`.
    pub location: Option<String>,
    /// `--container`: which flow logs.
    pub flow_logs: FlowLogKind,
    /// `--since`.
    pub since: Option<Utc>,
    /// `--until`.
    pub until: Option<Utc>,
    /// `--at`: one moment of the failure.
    pub at: Option<Utc>,
    /// `--os`.
    pub os: Option<Os>,
}
/// Names merged from flags (first) and text (second).
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub(super) sub: Option<String>,
    pub(super) rg: Option<String>,
    pub(super) template: Option<String>,
    pub(super) staging: Option<String>,
    pub(super) vnet_rg: Option<String>,
    pub(super) vnet: Option<String>,
    pub(super) subnet: Option<String>,
    pub(super) aci_subnet: Option<String>,
    pub(super) nsg: Option<String>,
    pub(super) nsg_rg: Option<String>,
    pub(super) location: Option<String>,
    pub(super) storage: Option<String>,
    pub(super) build_vm: Option<String>,
    pub(super) build_nic: Option<String>,
    pub(super) principal: Option<String>,
    pub(super) denied_scope: Option<String>,
    pub(super) os: Option<Os>,
    pub(super) topology: Option<TopologyKind>,
}

fn pick(flag: &Option<String>, text: &Option<String>) -> Option<String> {
    flag.clone()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| text.clone())
}

impl Names {
    /// Merge the flags over what the text said.
    pub fn new(ctx: &Context, x: &Extracted) -> Names {
        let mut n = Names {
            sub: pick(&ctx.subscription, &x.subscription),
            rg: pick(&ctx.resource_group, &x.resource_group),
            template: pick(&ctx.template, &x.template),
            staging: x.staging_resource_group.clone(),
            vnet_rg: pick(&ctx.vnet_resource_group, &x.vnet_resource_group),
            vnet: pick(&ctx.vnet, &x.vnet),
            subnet: pick(&ctx.subnet, &x.subnet),
            aci_subnet: x.aci_subnet.clone(),
            nsg: x.nsg.clone(),
            nsg_rg: x.nsg_resource_group.clone(),
            location: pick(&ctx.location, &x.location),
            storage: ctx.storage_account.clone(),
            build_vm: x.build_vm_name.clone(),
            build_nic: x.build_vm_nic.clone(),
            principal: x.principal_id.clone(),
            denied_scope: x.denied_scope.clone(),
            os: ctx.os.or(x.os),
            topology: x.topology,
        };
        if let Some(flag) = ctx.nsg.as_deref().filter(|s| !s.trim().is_empty()) {
            // A full id gives the group too; a bare name keeps the text's group.
            let id = ResourceId::parse(flag);
            match id.get("networkSecurityGroups") {
                Some(name) => {
                    n.nsg = Some(name.to_string());
                    n.nsg_rg = id.resource_group.clone();
                    n.sub = n.sub.or(id.subscription);
                }
                None => n.nsg = Some(flag.to_string()),
            }
        }
        n
    }

    /// The NSG's group: its own, or the VNET's (where it usually is).
    pub(super) fn nsg_group(&self) -> Option<&String> {
        self.nsg_rg.as_ref().or(self.vnet_rg.as_ref())
    }
}

/// A name as a word of a command (quoted when the shell needs it: names
/// come from the error text), or its placeholder when nobody gave it.
pub(super) fn or_placeholder(value: &Option<String>, placeholder: &str) -> String {
    value.as_deref().map_or_else(
        || placeholder.to_string(),
        |v| crate::az::quote(v).into_owned(),
    )
}

/// Fill a catalogue fix text (`{NAME}` markers) from the names.
pub fn fill(template: &str, n: &Names) -> String {
    let nsg_rg = n.nsg_group().cloned();
    let denied_rg = n
        .denied_scope
        .as_deref()
        .and_then(|s| ResourceId::parse(s).resource_group);
    let pairs: [(&str, String); 15] = [
        ("{NSG_RG}", or_placeholder(&nsg_rg, "<NSG_RESOURCE_GROUP>")),
        ("{NSG}", or_placeholder(&n.nsg, "<NSG_NAME>")),
        (
            "{VNET_RG}",
            or_placeholder(&n.vnet_rg, "<VNET_RESOURCE_GROUP>"),
        ),
        ("{VNET}", or_placeholder(&n.vnet, "<VNET_NAME>")),
        ("{SUBNET}", or_placeholder(&n.subnet, "<SUBNET_NAME>")),
        (
            "{ACI_SUBNET}",
            or_placeholder(&n.aci_subnet, "<ACI_SUBNET_NAME>"),
        ),
        ("{RG}", or_placeholder(&n.rg, "<RESOURCE_GROUP>")),
        ("{TEMPLATE}", or_placeholder(&n.template, "<TEMPLATE_NAME>")),
        ("{SUB}", or_placeholder(&n.sub, "<SUBSCRIPTION_ID>")),
        ("{LOCATION}", or_placeholder(&n.location, "<LOCATION>")),
        (
            "{PRINCIPAL_ID}",
            or_placeholder(&n.principal, "<IDENTITY_PRINCIPAL_ID>"),
        ),
        (
            "{DENIED_SCOPE}",
            or_placeholder(&n.denied_scope, "<DENIED_SCOPE>"),
        ),
        (
            "{DENIED_RG}",
            or_placeholder(&denied_rg.or(n.rg.clone()), "<DENIED_RESOURCE_GROUP>"),
        ),
        ("{PRIORITY}", "<PRIORITY>".to_string()),
        ("{ACI_SUBNET_PREFIX}", "<ACI_SUBNET_PREFIX>".to_string()),
    ];
    let mut out = template.to_string();
    for (key, value) in pairs {
        out = out.replace(key, &value);
    }
    out.replace("{NETWORKING_ROLE}", "<NETWORKING_ROLE>")
        .replace("{AIB_SP_APP_ID}", "<AIB_SP_APP_ID>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsg_flag_as_full_id_gives_group_and_subscription() {
        let ctx = Context {
            nsg: Some("/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/sec-rg/providers/Microsoft.Network/networkSecurityGroups/nsg-aib".into()),
            ..Context::default()
        };
        let n = Names::new(&ctx, &Extracted::default());
        assert_eq!(n.nsg.as_deref(), Some("nsg-aib"));
        assert_eq!(n.nsg_rg.as_deref(), Some("sec-rg"));
        assert_eq!(
            n.sub.as_deref(),
            Some("0b1f6471-1bf0-4dda-aec3-cb9272f09590")
        );
    }
}

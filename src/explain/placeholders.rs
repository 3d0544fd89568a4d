//! Values the plan could not fill: written `<NAME>` in the commands and
//! listed once each, with how to find them.

use serde::Serialize;

/// A value the plan could not fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placeholder {
    /// As written in the commands, e.g. `<NSG_NAME>`.
    pub name: String,
    /// How to find it.
    pub how: String,
}
/// Placeholder text and how to find each value.
const HOW: &[(&str, &str)] = &[
    (
        "<SUBSCRIPTION_ID>",
        "az account show --query id --output tsv",
    ),
    (
        "<RESOURCE_GROUP>",
        "the image template's resource group (pass --resource-group)",
    ),
    (
        "<TEMPLATE_NAME>",
        "az image builder list --query \"[].{name:name, group:resourceGroup}\" --output table",
    ),
    (
        "<STAGING_RESOURCE_GROUP>",
        "the IT_… group of the run: az group list --query \"[?starts_with(name, 'IT_')].name\" --output tsv",
    ),
    (
        "<VNET_RESOURCE_GROUP>",
        "the group in vnetConfig.subnetId of the template (az image builder show … --query vmProfile.vnetConfig.subnetId)",
    ),
    (
        "<VNET_NAME>",
        "the virtualNetworks/<name> part of vnetConfig.subnetId",
    ),
    (
        "<SUBNET_NAME>",
        "the subnets/<name> part of vnetConfig.subnetId",
    ),
    (
        "<NSG_RESOURCE_GROUP>",
        "the group of the subnet's NSG: az network vnet subnet show … --query networkSecurityGroup.id",
    ),
    (
        "<NSG_NAME>",
        "the subnet's NSG: az network vnet subnet show … --query networkSecurityGroup.id --output tsv",
    ),
    (
        "<LOCATION>",
        "the template's region: az image builder show … --query location --output tsv",
    ),
    (
        "<FLOWLOG_STORAGE_ACCOUNT>",
        "the storage account of the flow log: az network watcher flow-log list --location <LOCATION> --output table",
    ),
    (
        "<CAPTURE_STORAGE_ACCOUNT>",
        "any storage account in the build's region you can write to (pass --storage-account)",
    ),
    (
        "<PROXY_VM_NAME>",
        "the VM in the staging group that is not pkrvm…: az vm list --resource-group <STAGING_RESOURCE_GROUP> --output table",
    ),
    (
        "<PROXY_VM_NIC>",
        "az network nic list --resource-group <STAGING_RESOURCE_GROUP> --output table (the proxy VM's NIC)",
    ),
    (
        "<BUILD_VM_NAME>",
        "the pkrvm… VM in the staging group: az vm list --resource-group <STAGING_RESOURCE_GROUP> --output table",
    ),
    (
        "<BUILD_VM_NIC>",
        "the pkrni… NIC in the staging group: az network nic list --resource-group <STAGING_RESOURCE_GROUP> --output table",
    ),
    (
        "<IDENTITY_PRINCIPAL_ID>",
        "az identity show --ids <IDENTITY_RESOURCE_ID> --query principalId --output tsv (the template's user-assigned identity)",
    ),
    (
        "<IDENTITY_RESOURCE_ID>",
        "az image builder show … --query \"keys(identity.userAssignedIdentities)\" --output tsv",
    ),
    (
        "<PRIORITY>",
        "a priority number lower than the denying rule's (`aibnet check` prints one that wins)",
    ),
    (
        "<ACI_SUBNET_PREFIX>",
        "the address prefix of vnetConfig.containerInstanceSubnetId's subnet",
    ),
    (
        "<ACI_SUBNET_NAME>",
        "the subnets/<name> part of vnetConfig.containerInstanceSubnetId",
    ),
    (
        "<NETWORKING_ROLE>",
        "a role with Microsoft.Network/virtualNetworks/read and …/subnets/join/action (the documented custom \"Azure Image Builder Service Networking Role\")",
    ),
    (
        "<AIB_SP_APP_ID>",
        "az ad sp list --display-name \"Azure Virtual Machine Image Builder\" --query \"[].appId\" --output tsv",
    ),
    (
        "<YYYY>",
        "the UTC year of the failed run (or pass --at TIME / --since and --until)",
    ),
    ("<MM>", "the UTC month of the failed run, two digits"),
    ("<DD>", "the UTC day of the failed run, two digits"),
    (
        "<HH>",
        "each UTC hour the run covered, two digits (one command per hour)",
    ),
    (
        "<RUN_ID>",
        "the folder in the packerlogs container: az storage blob list --account-name … --container-name packerlogs --output table",
    ),
    (
        "<DENIED_SCOPE>",
        "the scope quoted in the authorization error",
    ),
    (
        "<BUILD_CONTAINER>",
        "the vmimagebuilder-build-container-… group while the build runs: az container list --resource-group <STAGING_RESOURCE_GROUP> --output table",
    ),
    (
        "<STORAGE_ACCOUNT>",
        "the account in the failing URL (https://<account>.blob.core.windows.net/…)",
    ),
    (
        "<RUNNER_VM_ID>",
        "the resource id of the VM Packer ran on (a self-hosted agent): az vm show --resource-group … --name … --query id --output tsv",
    ),
    (
        "<BUILD_VM_IP>",
        "the `-> IP Address` Packer printed before `Waiting for SSH/WinRM`",
    ),
    ("<PORT>", "22 (SSH) or 5986 (WinRM)"),
    (
        "<DENIED_RESOURCE_GROUP>",
        "the resource group in the scope the authorization error quotes",
    ),
];
/// Add the placeholders a text uses (a plan's command, a filled fix) to a
/// list, once each, with how to find each.
pub fn add_placeholders(text: &str, out: &mut Vec<Placeholder>) {
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else { break };
        let name = &after[..end];
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            let full = format!("<{name}>");
            if !out.iter().any(|p| p.name == full) {
                let how = HOW
                    .iter()
                    .find(|(n, _)| *n == full)
                    .map(|(_, h)| h.to_string())
                    .unwrap_or_else(|| "see the step's purpose".to_string());
                out.push(Placeholder { name: full, how });
            }
        }
        rest = &after[end.min(after.len())..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_listed_once_with_a_hint() {
        let mut out = Vec::new();
        add_placeholders("a <NSG_NAME> b <NSG_NAME> <x> <LOCATION> 1<2 >", &mut out);
        let names: Vec<&str> = out.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["<NSG_NAME>", "<LOCATION>"]);
        assert!(out.iter().all(|p| !p.how.is_empty()));
    }
}

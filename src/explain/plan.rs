//! The collection plan: the exact commands that gather the evidence for the
//! suspected hops, filled with the names and times from the text or flags.
//!
//! A value nobody gave is written as a `<PLACEHOLDER>` and listed in
//! [`Plan::placeholders`] with how to find it; where a wildcard does the same
//! job in a blob pattern (`*` for an unknown subscription), the command stays
//! runnable instead. Evidence is saved under `./aib-evidence/` so that
//! `aibnet check` and `aibnet diagnose` can read it afterwards.

use super::catalogue::{Class, Kind};
use super::extract::Extracted;
use crate::aib::Hop;
use crate::aib::{Os, TopologyKind};
use crate::time::{Utc, hours_between};
use serde::Serialize;

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

/// The blob container of NSG flow logs.
pub const NSG_FLOW_CONTAINER: &str = "insights-logs-networksecuritygroupflowevent";
/// The blob container of VNet flow logs.
pub const VNET_FLOW_CONTAINER: &str = "insights-logs-flowlogflowevent";

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

/// The time window the evidence should cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Start (UTC).
    pub from: Utc,
    /// End (UTC).
    pub to: Utc,
    /// Where the window came from.
    pub basis: String,
}

/// One command to run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectStep {
    /// What it gathers and what to look for.
    pub purpose: String,
    /// The command, ready to paste (bash quoting).
    pub command: String,
}

/// A value the plan could not fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placeholder {
    /// As written in the commands, e.g. `<NSG_NAME>`.
    pub name: String,
    /// How to find it.
    pub how: String,
}

/// The whole plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The commands, in the order to run them.
    pub steps: Vec<CollectStep>,
    /// The evidence time window, when one is known.
    pub window: Option<Window>,
    /// Placeholders used in `steps` (and in the fixes), with how to find each.
    pub placeholders: Vec<Placeholder>,
    /// Caveats about the plan.
    pub notes: Vec<String>,
}

/// Names merged from flags (first) and text (second).
#[derive(Debug, Clone, Default)]
pub struct Names {
    sub: Option<String>,
    rg: Option<String>,
    template: Option<String>,
    staging: Option<String>,
    vnet_rg: Option<String>,
    vnet: Option<String>,
    subnet: Option<String>,
    aci_subnet: Option<String>,
    nsg: Option<String>,
    nsg_rg: Option<String>,
    location: Option<String>,
    storage: Option<String>,
    build_vm: Option<String>,
    build_nic: Option<String>,
    principal: Option<String>,
    denied_scope: Option<String>,
    os: Option<Os>,
    topology: Option<TopologyKind>,
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
            let parts: Vec<&str> = flag.split('/').collect();
            let at = |key: &str| {
                parts
                    .iter()
                    .position(|p| p.eq_ignore_ascii_case(key))
                    .and_then(|i| parts.get(i + 1))
                    .map(|s| s.to_string())
            };
            match at("networkSecurityGroups") {
                Some(name) => {
                    n.nsg = Some(name);
                    n.nsg_rg = at("resourceGroups");
                    n.sub = n.sub.or_else(|| at("subscriptions"));
                }
                None => n.nsg = Some(flag.to_string()),
            }
        }
        n
    }

    /// The NSG's group: its own, or the VNET's (where it usually is).
    fn nsg_group(&self) -> Option<&String> {
        self.nsg_rg.as_ref().or(self.vnet_rg.as_ref())
    }
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
        "<DENIED_RESOURCE_GROUP>",
        "the resource group in the scope the authorization error quotes",
    ),
];

fn v(value: &Option<String>, placeholder: &str) -> String {
    value.clone().unwrap_or_else(|| placeholder.to_string())
}

/// Fill a catalogue fix text (`{NAME}` markers) from the names.
pub fn fill(template: &str, n: &Names) -> String {
    let nsg_rg = n.nsg_group().cloned();
    let denied_rg = n.denied_scope.as_deref().and_then(|s| {
        let parts: Vec<&str> = s.split('/').collect();
        parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case("resourceGroups"))
            .and_then(|i| parts.get(i + 1))
            .map(|s| s.to_string())
    });
    let pairs: [(&str, String); 15] = [
        ("{NSG_RG}", v(&nsg_rg, "<NSG_RESOURCE_GROUP>")),
        ("{NSG}", v(&n.nsg, "<NSG_NAME>")),
        ("{VNET_RG}", v(&n.vnet_rg, "<VNET_RESOURCE_GROUP>")),
        ("{VNET}", v(&n.vnet, "<VNET_NAME>")),
        ("{SUBNET}", v(&n.subnet, "<SUBNET_NAME>")),
        ("{ACI_SUBNET}", v(&n.aci_subnet, "<ACI_SUBNET_NAME>")),
        ("{RG}", v(&n.rg, "<RESOURCE_GROUP>")),
        ("{TEMPLATE}", v(&n.template, "<TEMPLATE_NAME>")),
        ("{SUB}", v(&n.sub, "<SUBSCRIPTION_ID>")),
        ("{LOCATION}", v(&n.location, "<LOCATION>")),
        ("{PRINCIPAL_ID}", v(&n.principal, "<IDENTITY_PRINCIPAL_ID>")),
        ("{DENIED_SCOPE}", v(&n.denied_scope, "<DENIED_SCOPE>")),
        (
            "{DENIED_RG}",
            v(&denied_rg.or(n.rg.clone()), "<DENIED_RESOURCE_GROUP>"),
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

/// Work out the time window of the evidence.
pub fn window(ctx: &Context, x: &Extracted) -> Option<Window> {
    const BUILD: i64 = 4 * 3600; // default buildTimeoutInMinutes: 240
    const BEFORE: i64 = 3600; // a proxy-path timeout shows after ~30 min of retries
    const AFTER: i64 = 300;
    let w = |from: Utc, to: Utc, basis: &str| {
        Some(Window {
            from: from.min(to),
            to: from.max(to),
            basis: basis.to_string(),
        })
    };
    match (ctx.since, ctx.until, ctx.at) {
        (Some(s), Some(u), _) => w(s, u, "--since/--until"),
        (Some(s), None, _) => w(
            s,
            s.add_secs(BUILD),
            "--since plus the default 4 h build timeout",
        ),
        (None, Some(u), _) => w(
            u.add_secs(-BUILD),
            u,
            "--until minus the default 4 h build timeout",
        ),
        (None, None, Some(t)) => w(
            t.add_secs(-BEFORE),
            t.add_secs(AFTER),
            "--at, from 1 h before (the build retried for up to ~30 min) to 5 min after",
        ),
        _ => match (x.first_seen, x.last_seen) {
            (Some(a), Some(b)) if a != b && x.time_source == Some("lastRunStatus") => w(
                a.add_secs(-AFTER),
                b.add_secs(AFTER),
                "the run's lastRunStatus start and end, ±5 min",
            ),
            (Some(a), Some(b)) if a != b => w(
                a.add_secs(-AFTER),
                b.add_secs(AFTER),
                "the first and last timestamps in the text, ±5 min",
            ),
            (Some(t), _) | (None, Some(t)) => w(
                t.add_secs(-BEFORE),
                t.add_secs(AFTER),
                "the one timestamp in the text, from 1 h before to 5 min after",
            ),
            (None, None) => None,
        },
    }
}

fn blob_time_prefixes(w: Option<&Window>, notes: &mut Vec<String>) -> Vec<String> {
    let Some(w) = w else {
        notes.push(
            "No time in the text or flags: the flow-log patterns carry <YYYY>/<MM>/<DD>/<HH>; pass \
             --at TIME or --since/--until to fill them."
                .to_string(),
        );
        return vec!["y=<YYYY>/m=<MM>/d=<DD>/h=<HH>".to_string()];
    };
    // Records are written up to ~1 min after their tuples' time, so a window
    // ending at hh:59 also needs the next hour's blob.
    let to = w.to.add_secs(120);
    match hours_between(w.from, to, 24) {
        Some(hours) => hours
            .into_iter()
            .map(|h| {
                let c = h.civil();
                format!(
                    "y={:04}/m={:02}/d={:02}/h={:02}",
                    c.year, c.month, c.day, c.hour
                )
            })
            .collect(),
        None => {
            notes.push(
                "The window spans more than 24 hours: the flow-log patterns are per day."
                    .to_string(),
            );
            let mut days = Vec::new();
            let mut d = Utc(w.from.0 - w.from.0.rem_euclid(86_400));
            while d <= to && days.len() < 31 {
                let c = d.civil();
                days.push(format!("y={:04}/m={:02}/d={:02}", c.year, c.month, c.day));
                d = d.add_secs(86_400);
            }
            days
        }
    }
}

/// Ports of the AIB path and of the build VM's usual egress, for capture filters.
const PROXY_FILTERS: &str =
    r#"[{"protocol":"TCP","localPort":"60000-60001"},{"protocol":"TCP","remotePort":"22;5986"}]"#;
const BUILD_FILTERS: &str = r#"[{"protocol":"TCP","localPort":"22;5986"},{"protocol":"TCP","remotePort":"53;80;443;1688"},{"protocol":"UDP","remotePort":"53"}]"#;
const EVIDENCE: &str = "./aib-evidence";

struct Needs {
    config: bool,
    traffic: bool,
    capture_proxy: bool,
    capture_build: bool,
    routes: bool,
    umbrella: bool,
    roles: bool,
    aib_sp: bool,
    policy: bool,
    aci_provider: bool,
}

fn needs(classes: &[Class], topology: Option<TopologyKind>) -> Needs {
    let mut n = Needs {
        config: false,
        traffic: false,
        capture_proxy: false,
        capture_build: false,
        routes: false,
        umbrella: false,
        roles: false,
        aib_sp: false,
        policy: false,
        aci_provider: false,
    };
    for &c in classes {
        let info = c.info();
        match info.kind {
            Kind::Traffic => {
                n.config = true;
                n.traffic = true;
            }
            Kind::Config => n.config = true,
            // The wrapper hides the cause: the configuration is cheap to save
            // and `check` reads it offline; traffic evidence waits for the log.
            Kind::Umbrella => {
                n.umbrella = true;
                n.config = true;
            }
            Kind::Deployment => {}
        }
        match info.hop {
            Some(Hop::ProbeToProxy | Hop::AlbToProxy) => n.capture_proxy = true,
            Some(Hop::ProxyToBuildVm) => {
                n.capture_proxy = true;
                n.capture_build = true;
            }
            Some(Hop::AciToBuildVm) => n.capture_build = true,
            Some(Hop::BuildVmEgress | Hop::BuildVmDns) => {
                n.capture_build = true;
                n.routes = true;
            }
            _ => {}
        }
        match c {
            Class::NetworkingPermissionsMissing | Class::IdentityNotAuthorized => n.roles = true,
            Class::AibServicePrincipalNotContributor => n.aib_sp = true,
            Class::AzurePolicyDenied => n.policy = true,
            Class::AciPrerequisitesMissing => n.aci_provider = true,
            _ => {}
        }
    }
    if topology == Some(TopologyKind::Isolated) {
        // No proxy VM exists on the isolated path.
        n.capture_proxy = false;
    }
    n
}

/// Build the plan for the matched classes (best first). With no class, the
/// plan only gathers what makes a text recognisable: the template's
/// `lastRunStatus` and `customization.log`.
pub fn plan(classes: &[Class], ctx: &Context, x: &Extracted) -> Plan {
    let names = Names::new(ctx, x);
    let mut notes = Vec::new();
    let win = window(ctx, x);
    let need = needs(classes, names.topology);
    let mut steps = Vec::new();
    let mut step = |purpose: String, command: String| steps.push(CollectStep { purpose, command });

    let sub = names
        .sub
        .as_ref()
        .map(|s| format!(" --subscription {s}"))
        .unwrap_or_default();
    let rg = v(&names.rg, "<RESOURCE_GROUP>");
    let template = v(&names.template, "<TEMPLATE_NAME>");
    let staging = v(&names.staging, "<STAGING_RESOURCE_GROUP>");
    let vnet_rg = v(&names.vnet_rg, "<VNET_RESOURCE_GROUP>");
    let vnet = v(&names.vnet, "<VNET_NAME>");
    let subnet = v(&names.subnet, "<SUBNET_NAME>");
    let location = v(&names.location, "<LOCATION>");
    let os = names.os;

    step(
        "The template: vnetConfig, region, identity and lastRunStatus (input of `aibnet check`)."
            .to_string(),
        format!(
            "mkdir -p {EVIDENCE}/config {EVIDENCE}/flowlogs {EVIDENCE}/pcap && az image builder show \
             --resource-group {rg} --name {template}{sub} --output json > {EVIDENCE}/config/template.json"
        ),
    );
    if let Some(acct) = &x.storage_account {
        let blob = x
            .packer_log_blob
            .clone()
            .filter(|b| !b.contains('*'))
            .unwrap_or_else(|| "<RUN_ID>/customization.log".to_string());
        step(
            "The Packer log of the failed run (the real error is in it: search for `(telemetry)` and \
             the last ERROR lines)."
                .to_string(),
            format!(
                "az storage blob download --account-name {acct} --container-name packerlogs --name {blob} \
                 --file {EVIDENCE}/customization.log --auth-mode login{sub}"
            ),
        );
    } else if need.umbrella || classes.is_empty() {
        step(
            "Where the Packer log is: lastRunStatus.message ends with its URL (…/packerlogs/<run>/customization.log)."
                .to_string(),
            format!(
                "az image builder show --resource-group {rg} --name {template}{sub} --query lastRunStatus.message --output tsv"
            ),
        );
    }
    if need.umbrella || classes.is_empty() {
        step(
            "Explain the real error from the log.".to_string(),
            format!("aibnet explain {EVIDENCE}/customization.log"),
        );
    }

    if need.config {
        step(
            "The build subnet: prefix, free addresses, privateLinkServiceNetworkPolicies, NSG and route \
             table ids, delegations."
                .to_string(),
            format!(
                "az network vnet subnet show --resource-group {vnet_rg} --vnet-name {vnet} --name {subnet}{sub} \
                 --output json > {EVIDENCE}/config/subnet.json"
            ),
        );
        step(
            "The VNET: region (must be the template's), address space, peerings, custom DNS servers."
                .to_string(),
            format!(
                "az network vnet show --resource-group {vnet_rg} --name {vnet}{sub} --output json > {EVIDENCE}/config/vnet.json"
            ),
        );
        let nsg_cmd = match (&names.nsg, names.nsg_group()) {
            (Some(nsg), Some(group)) => {
                if names.nsg_rg.is_none() {
                    notes.push(format!(
                        "The NSG {nsg} is assumed to be in the VNET's group {group}; pass --nsg with its full id otherwise."
                    ));
                }
                format!(
                    "az network nsg show --resource-group {group} --name {nsg}{sub} --output json > {EVIDENCE}/config/nsg.json"
                )
            }
            // The subnet knows its NSG: no name needed.
            _ => format!(
                "az network nsg show --ids \"$(az network vnet subnet show --resource-group {vnet_rg} --vnet-name \
                 {vnet} --name {subnet}{sub} --query networkSecurityGroup.id --output tsv)\" --output json > \
                 {EVIDENCE}/config/nsg.json"
            ),
        };
        step(
            "The build subnet's NSG rules (which rule denies the suspected hop, and at which priority)."
                .to_string(),
            nsg_cmd,
        );
    }

    if need.traffic {
        step(
            "The staging resources of the run (only while they exist: a failed run is cleaned up unless \
             errorHandling.onCustomizerError is abort): the proxy VM, the pkrvm… build VM and their NICs."
                .to_string(),
            format!(
                "az network nic list --resource-group {staging}{sub} --query \"[].{{nic:name, ip:ipConfigurations[0].privateIPAddress, vm:virtualMachine.id}}\" --output table"
            ),
        );
        if need.capture_proxy {
            step(
                "Effective NSG rules on the proxy VM's NIC (subnet and NIC NSG together)."
                    .to_string(),
                format!(
                    "az network nic list-effective-nsg --resource-group {staging} --name <PROXY_VM_NIC>{sub} \
                     --output json > {EVIDENCE}/config/effective-nsg-proxy.json"
                ),
            );
        }
        if need.capture_build {
            let nic = v(&names.build_nic, "<BUILD_VM_NIC>");
            step(
                "Effective NSG rules on the build VM's NIC.".to_string(),
                format!(
                    "az network nic list-effective-nsg --resource-group {staging} --name {nic}{sub} \
                     --output json > {EVIDENCE}/config/effective-nsg-build.json"
                ),
            );
            if need.routes {
                step(
                    "Effective routes of the build VM: a 0.0.0.0/0 route to an appliance moves its egress (and KMS) there."
                        .to_string(),
                    format!(
                        "az network nic show-effective-route-table --resource-group {staging} --name {nic}{sub} \
                         --output json > {EVIDENCE}/config/effective-routes-build.json"
                    ),
                );
            }
        }
        flow_log_steps(
            &mut step,
            ctx,
            &names,
            win.as_ref(),
            classes,
            &sub,
            &location,
            &mut notes,
        );
        capture_steps(
            &mut step, &names, &need, os, &rg, &template, &staging, &location, &sub, &mut notes,
        );
    }

    if need.roles {
        step(
            "The template's identity (its principal id is what needs the role).".to_string(),
            format!(
                "az image builder show --resource-group {rg} --name {template}{sub} --query \"keys(identity.userAssignedIdentities)\" --output tsv"
            ),
        );
        let principal = v(&names.principal, "<IDENTITY_PRINCIPAL_ID>");
        let scope = match (&names.sub, &names.vnet_rg) {
            (Some(s), Some(g)) => format!(" --scope /subscriptions/{s}/resourceGroups/{g}"),
            _ => " --all".to_string(),
        };
        step(
            "The identity's role assignments (look for virtualNetworks/read and subnets/join/action on the VNET's group)."
                .to_string(),
            format!("az role assignment list --assignee {principal}{scope}{sub} --output table"),
        );
    }
    if need.aib_sp {
        step(
            "The first-party \"Azure Virtual Machine Image Builder\" service principal.".to_string(),
            "az ad sp list --display-name \"Azure Virtual Machine Image Builder\" --query \"[].{appId:appId, id:id}\" --output table".to_string(),
        );
        step(
            "Its role assignments on the template's group (Contributor is needed there)."
                .to_string(),
            format!(
                "az role assignment list --assignee <AIB_SP_APP_ID> --resource-group {rg}{sub} --output table"
            ),
        );
    }
    if need.policy {
        step(
            "Non-compliant policy states in the staging group (the assignment that denies)."
                .to_string(),
            format!(
                "az policy state list --resource-group {staging}{sub} --filter \"complianceState eq 'NonCompliant'\" --output table"
            ),
        );
        let times = win
            .as_ref()
            .map(|w| format!(" --start-time {} --end-time {}", w.from, w.to))
            .unwrap_or_else(|| " --offset 1d".to_string());
        step(
            "Failed operations in the template's group during the run (RequestDisallowedByPolicy and the policy name)."
                .to_string(),
            format!(
                "az monitor activity-log list --resource-group {rg}{times}{sub} --query \"[?status.value=='Failed'].{{time:eventTimestamp, op:operationName.value, message:properties.statusMessage}}\" --output json"
            ),
        );
    }
    if need.aci_provider {
        step(
            "Is the ACI provider registered (isolated builds need it)?".to_string(),
            format!(
                "az provider show --namespace Microsoft.ContainerInstance{sub} --query registrationState --output tsv"
            ),
        );
    }

    if need.config {
        step(
            "Evaluate the saved configuration offline: every flow the build needs through the NSGs, the \
             subnet's policies and size, the VNET's region."
                .to_string(),
            format!("aibnet check {EVIDENCE}/config"),
        );
    }
    if need.traffic {
        step(
            "Diagnose the hops from the flow logs and captures, with the configuration to explain them."
                .to_string(),
            format!("aibnet diagnose {EVIDENCE}/flowlogs {EVIDENCE}/pcap --config {EVIDENCE}/config"),
        );
    }

    let mut placeholders = Vec::new();
    for s in &steps {
        collect_placeholders(&s.command, &mut placeholders);
    }
    Plan {
        steps,
        window: win,
        placeholders,
        notes,
    }
}

#[allow(clippy::too_many_arguments)]
fn flow_log_steps(
    step: &mut impl FnMut(String, String),
    ctx: &Context,
    n: &Names,
    win: Option<&Window>,
    classes: &[Class],
    sub: &str,
    location: &str,
    notes: &mut Vec<String>,
) {
    let account = v(&n.storage, "<FLOWLOG_STORAGE_ACCOUNT>");
    if n.storage.is_none() {
        step(
            "Which flow logs exist for the build VNET / NSG, and their storage account."
                .to_string(),
            format!(
                "az network watcher flow-log list --location {location}{sub} --query \"[].{{name:name, target:targetResourceId, storage:storageId, enabled:enabled}}\" --output table"
            ),
        );
    }
    // The flow-log half of each signature (the capture half follows "; capture").
    let look_for: Vec<&str> = classes
        .iter()
        .filter(|c| c.info().kind == Kind::Traffic)
        .map(|c| {
            let s = c.info().signature;
            s.split("; capture").next().unwrap_or(s)
        })
        .take(2)
        .collect();
    let look_for = if look_for.is_empty() {
        String::new()
    } else {
        format!(" Look for: {}.", look_for.join("; or "))
    };
    let prefixes = blob_time_prefixes(win, notes);
    let upper = |s: &Option<String>| s.as_ref().map(|s| s.to_ascii_uppercase());
    let nsg_path = format!(
        "resourceId=/SUBSCRIPTIONS/{}/RESOURCEGROUPS/{}/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/{}",
        upper(&n.sub).unwrap_or_else(|| "*".to_string()),
        upper(&n.nsg_group().cloned()).unwrap_or_else(|| "*".to_string()),
        upper(&n.nsg).unwrap_or_else(|| "*".to_string()),
    );
    if n.nsg.is_none() {
        notes.push(
            "The NSG is not known: the NSG flow-log pattern uses `*` for it and downloads every NSG's \
             log of those hours; pass --nsg to narrow it."
                .to_string(),
        );
    }
    let window_text = win
        .map(|w| format!("{} – {}", w.from, w.to))
        .unwrap_or_else(|| "unknown".to_string());
    if matches!(ctx.flow_logs, FlowLogKind::Nsg | FlowLogKind::Both) {
        for p in &prefixes {
            step(
                format!(
                    "NSG flow logs of the build subnet's NSG for {p} (window {window_text}).{look_for}"
                ),
                format!(
                    "az storage blob download-batch --account-name {account} --source {NSG_FLOW_CONTAINER} \
                     --destination {EVIDENCE}/flowlogs --pattern '{nsg_path}/{p}/*' --auth-mode login{sub}"
                ),
            );
        }
    }
    if matches!(ctx.flow_logs, FlowLogKind::Vnet | FlowLogKind::Both) {
        for p in &prefixes {
            step(
                format!(
                    "VNet flow logs for {p} (every VNet flow log in the account: the blob path names the \
                     flow-log resource, not the VNET).{look_for}"
                ),
                format!(
                    "az storage blob download-batch --account-name {account} --source {VNET_FLOW_CONTAINER} \
                     --destination {EVIDENCE}/flowlogs --pattern 'flowLogResourceID=/*/{p}/*' --auth-mode login{sub}"
                ),
            );
        }
    }
    if ctx.flow_logs == FlowLogKind::Both {
        notes.push(
            "NSG flow logs (retiring) and VNet flow logs live in different containers; only the one \
             enabled for the build VNET has blobs. Pass --container nsg|vnet to keep one."
                .to_string(),
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn capture_steps(
    step: &mut impl FnMut(String, String),
    n: &Names,
    need: &Needs,
    os: Option<Os>,
    rg: &str,
    template: &str,
    staging: &str,
    location: &str,
    sub: &str,
    notes: &mut Vec<String>,
) {
    if !(need.capture_proxy || need.capture_build) {
        return;
    }
    notes.push(
        "A packet capture only records from when it starts: rerun the build and start the captures \
         while the proxy and build VMs exist. Network Watcher needs its agent extension on each VM; Azure \
         Policy that adds extensions to staging resources breaks builds, so add it by hand for this run only."
            .to_string(),
    );
    let storage = match &n.storage {
        Some(acct) => {
            format!("\"$(az storage account show --name {acct}{sub} --query id --output tsv)\"")
        }
        None => "<CAPTURE_STORAGE_ACCOUNT>".to_string(),
    };
    step(
        "Rerun the build, so that the captures below see it.".to_string(),
        format!("az image builder run --resource-group {rg} --name {template}{sub} --no-wait"),
    );
    step(
        "Wait until the staging group has the proxy VM and the pkrvm… build VM.".to_string(),
        format!(
            "az vm list --resource-group {staging}{sub} --query \"[].{{vm:name, size:hardwareProfile.vmSize}}\" --output table"
        ),
    );
    if need.capture_proxy {
        step(
            "Network Watcher agent on the proxy VM (Linux).".to_string(),
            format!(
                "az vm extension set --resource-group {staging} --vm-name <PROXY_VM_NAME> --publisher \
                 Microsoft.Azure.NetworkWatcher --name NetworkWatcherAgentLinux{sub}"
            ),
        );
        step(
            "Capture on the proxy VM: the command channel on 60000/60001 (from the Private Link NAT IP and \
             the 168.63.129.16 probe) and what it opens to the build VM on 22/5986."
                .to_string(),
            format!(
                "az network watcher packet-capture create --resource-group {staging} --vm <PROXY_VM_NAME> \
                 --name aib-proxy --storage-account {storage} --time-limit 3600 --filters '{PROXY_FILTERS}'{sub}"
            ),
        );
    }
    if need.capture_build {
        let vm = v(&n.build_vm, "<BUILD_VM_NAME>");
        let agent = match os {
            Some(Os::Windows) => "NetworkWatcherAgentWindows",
            Some(Os::Linux) => "NetworkWatcherAgentLinux",
            None => "NetworkWatcherAgentLinux",
        };
        if os.is_none() {
            notes.push(
                "The OS is not known: the build VM's agent is written for Linux; use NetworkWatcherAgentWindows for Windows builds (or pass --os)."
                    .to_string(),
            );
        }
        step(
            format!("Network Watcher agent on the build VM ({agent})."),
            format!(
                "az vm extension set --resource-group {staging} --vm-name {vm} --publisher \
                 Microsoft.Azure.NetworkWatcher --name {agent}{sub}"
            ),
        );
        step(
            "Capture on the build VM: SSH/WinRM in on 22/5986 and its egress to DNS, mirrors, storage and KMS \
             (53, 80, 443, 1688)."
                .to_string(),
            format!(
                "az network watcher packet-capture create --resource-group {staging} --vm {vm} \
                 --name aib-build --storage-account {storage} --time-limit 3600 --filters '{BUILD_FILTERS}'{sub}"
            ),
        );
    }
    let names: Vec<&str> = [
        need.capture_proxy.then_some("aib-proxy"),
        need.capture_build.then_some("aib-build"),
    ]
    .into_iter()
    .flatten()
    .collect();
    for name in names {
        step(
            format!(
                "Stop the capture {name} once the build has failed (or let the time limit end it); it is then written to the storage account."
            ),
            format!(
                "az network watcher packet-capture stop --location {location} --name {name}{sub}"
            ),
        );
    }
    step(
        "Download the .cap files (Network Watcher writes them to the network-watcher-logs container).".to_string(),
        format!(
            "az storage blob download-batch --account-name {} --source network-watcher-logs --destination {EVIDENCE}/pcap --auth-mode login{sub}",
            v(&n.storage, "<CAPTURE_STORAGE_ACCOUNT>")
        ),
    );
}

fn collect_placeholders(text: &str, out: &mut Vec<Placeholder>) {
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

/// Add the placeholders a text uses (e.g. a filled fix) to a list.
pub fn add_placeholders(text: &str, out: &mut Vec<Placeholder>) {
    collect_placeholders(text, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Utc {
        Utc::parse(s).unwrap()
    }

    #[test]
    fn hour_prefixes_include_the_next_hour_near_the_boundary() {
        let w = Window {
            from: t("2024-05-14T09:10:00Z"),
            to: t("2024-05-14T10:59:00Z"),
            basis: String::new(),
        };
        let mut notes = Vec::new();
        assert_eq!(
            blob_time_prefixes(Some(&w), &mut notes),
            [
                "y=2024/m=05/d=14/h=09",
                "y=2024/m=05/d=14/h=10",
                "y=2024/m=05/d=14/h=11"
            ]
        );
        assert!(notes.is_empty());
    }

    #[test]
    fn long_windows_fall_back_to_days() {
        let w = Window {
            from: t("2024-05-30T22:00:00Z"),
            to: t("2024-06-02T01:00:00Z"),
            basis: String::new(),
        };
        let mut notes = Vec::new();
        assert_eq!(
            blob_time_prefixes(Some(&w), &mut notes),
            [
                "y=2024/m=05/d=30",
                "y=2024/m=05/d=31",
                "y=2024/m=06/d=01",
                "y=2024/m=06/d=02"
            ]
        );
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn window_sources_in_order_of_precedence() {
        let mut x = Extracted {
            first_seen: Some(t("2024-05-14T10:00:00Z")),
            last_seen: Some(t("2024-05-14T10:30:00Z")),
            ..Extracted::default()
        };
        let w = window(&Context::default(), &x).unwrap();
        assert_eq!(
            (w.from, w.to),
            (t("2024-05-14T09:55:00Z"), t("2024-05-14T10:35:00Z"))
        );
        let ctx = Context {
            at: Some(t("2024-05-14T12:00:00Z")),
            ..Context::default()
        };
        let w = window(&ctx, &x).unwrap();
        assert_eq!(
            (w.from, w.to),
            (t("2024-05-14T11:00:00Z"), t("2024-05-14T12:05:00Z"))
        );
        x.last_seen = x.first_seen;
        let w = window(&Context::default(), &x).unwrap();
        assert_eq!(
            (w.from, w.to),
            (t("2024-05-14T09:00:00Z"), t("2024-05-14T10:05:00Z"))
        );
        assert_eq!(window(&Context::default(), &Extracted::default()), None);
    }

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

    #[test]
    fn placeholders_are_listed_once_with_a_hint() {
        let mut out = Vec::new();
        collect_placeholders("a <NSG_NAME> b <NSG_NAME> <x> <LOCATION> 1<2 >", &mut out);
        let names: Vec<&str> = out.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["<NSG_NAME>", "<LOCATION>"]);
        assert!(out.iter().all(|p| !p.how.is_empty()));
    }
}

//! The collection plan: the exact commands that gather the evidence for the
//! suspected hops, filled with the names and times from the text or flags.
//!
//! A value nobody gave is written as a `<PLACEHOLDER>` and listed in
//! [`Plan::placeholders`] with how to find it; where a wildcard does the same
//! job in a blob pattern (`*` for an unknown subscription), the command stays
//! runnable instead. Evidence is saved under `./aib-evidence/` so that
//! `aibnet check` and `aibnet diagnose` can read it afterwards.

use super::catalogue::{Class, Kind};
use super::context::{Context, FlowLogKind, Names, or_placeholder};
use super::extract::Extracted;
use super::placeholders::{Placeholder, add_placeholders};
use super::window::{Window, blob_time_prefixes, window};
use crate::aib::{DNS_PORT, Hop, KMS_PORT, Os, TopologyKind};
use crate::az::{
    self, BUILD_PORTS, CAPTURE_CONTAINER, NSG_FLOW_CONTAINER, PROXY_PORTS, PortRange,
    VNET_FLOW_CONTAINER, join_ports,
};
use serde::Serialize;

/// One command to run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectStep {
    /// What it gathers and what to look for.
    pub purpose: String,
    /// The command, ready to paste (bash quoting).
    pub command: String,
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

/// Packet capture filters of the proxy VM: the command ports in, SSH/WinRM
/// out to the build VM.
fn proxy_filters() -> String {
    format!(
        r#"[{{"protocol":"TCP","localPort":"{}"}},{{"protocol":"TCP","remotePort":"{}"}}]"#,
        PROXY_PORTS,
        join_ports(&BUILD_PORTS, ";")
    )
}

/// Packet capture filters of the build VM: SSH/WinRM in, and its usual
/// egress (DNS, HTTP, HTTPS, KMS).
fn build_filters() -> String {
    let egress = [
        PortRange::one(DNS_PORT),
        PortRange::one(80),
        PortRange::one(443),
        PortRange::one(KMS_PORT),
    ];
    format!(
        r#"[{{"protocol":"TCP","localPort":"{}"}},{{"protocol":"TCP","remotePort":"{}"}},{{"protocol":"UDP","remotePort":"{DNS_PORT}"}}]"#,
        join_ports(&BUILD_PORTS, ";"),
        join_ports(&egress, ";")
    )
}

/// Where the plan saves the evidence.
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
            Kind::Deployment | Kind::Build | Kind::Runner => {}
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
    plan_with(classes, ctx, x, &Options::default())
}

/// What a whole build's reading adds to the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The classes come from a whole build (a log or a run status): network
    /// evidence only for network classes (SPEC.md §4.4), and nothing to
    /// collect for a build that succeeded.
    pub build: bool,
    /// The input was the build log itself (no step fetches it again).
    pub have_log: bool,
    /// The storage account a failed download named.
    pub storage_account: Option<String>,
    /// The URL a failed download named (its SAS signature removed).
    pub url: Option<String>,
    /// The address and port Packer dialled (Packer run directly).
    pub target: Option<String>,
    /// The failed download was AIB's own (scriptUri/sourceUri), not the build VM's.
    pub aib_download: bool,
}

/// [`plan`] for the classes of a whole build (see [`Options`]).
pub fn plan_with(classes: &[Class], ctx: &Context, x: &Extracted, opts: &Options) -> Plan {
    let names = Names::new(ctx, x);
    let mut notes = Vec::new();
    let win = window(ctx, x);
    if opts.build && classes.is_empty() {
        return Plan {
            window: win,
            ..Plan::default()
        };
    }
    // A whole build asks for network evidence only when its best class is a
    // network one, and then only for its network classes; the packerizer
    // wrapper (a run status alone) still saves the configuration, as the
    // cause is not known yet.
    let best_network = classes
        .first()
        .is_some_and(|c| c.network() || c.info().kind == Kind::Umbrella);
    let network: Vec<Class> = classes
        .iter()
        .copied()
        .filter(|c| {
            !opts.build || (best_network && (c.network() || c.info().kind == Kind::Umbrella))
        })
        .collect();
    let mut need = needs(classes, names.topology);
    if opts.build {
        // Permissions, policy and providers are asked for any class; traffic
        // and configuration only for the network ones.
        let net = needs(&network, names.topology);
        need.config = net.config;
        need.traffic = net.traffic;
        need.capture_proxy = net.capture_proxy;
        need.capture_build = net.capture_build;
        need.routes = net.routes;
        need.umbrella = net.umbrella;
    }
    let mut steps = Vec::new();
    let mut step = |purpose: String, command: String| steps.push(CollectStep { purpose, command });

    let sub = names
        .sub
        .as_ref()
        .map(|s| format!(" --subscription {s}"))
        .unwrap_or_default();
    let rg = or_placeholder(&names.rg, "<RESOURCE_GROUP>");
    let template = or_placeholder(&names.template, "<TEMPLATE_NAME>");
    let staging = or_placeholder(&names.staging, "<STAGING_RESOURCE_GROUP>");
    let vnet_rg = or_placeholder(&names.vnet_rg, "<VNET_RESOURCE_GROUP>");
    let vnet = or_placeholder(&names.vnet, "<VNET_NAME>");
    let subnet = or_placeholder(&names.subnet, "<SUBNET_NAME>");
    let location = or_placeholder(&names.location, "<LOCATION>");
    let os = names.os;
    let show = |query, output| az::ImageBuilderShow {
        resource_group: &rg,
        template: &template,
        subscription: names.sub.as_deref(),
        query,
        output: Some(output),
        short_flags: false,
    };

    // Packer run outside AIB has no image template to show.
    let outside_aib = classes.first() == Some(&Class::PackerRunDirectly);
    if !outside_aib {
        step(
            "The template: vnetConfig, region, identity and lastRunStatus (input of `aibnet check`)."
                .to_string(),
            format!(
                "mkdir -p {EVIDENCE}/config {EVIDENCE}/flowlogs {EVIDENCE}/pcap && {} > {EVIDENCE}/config/template.json",
                show(None, "json")
            ),
        );
    }
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
    } else if (need.umbrella || classes.is_empty()) && !opts.have_log {
        step(
            "Where the Packer log is: lastRunStatus.message ends with its URL (…/packerlogs/<run>/customization.log)."
                .to_string(),
            show(Some("lastRunStatus.message"), "tsv").to_string(),
        );
    }
    if (need.umbrella || classes.is_empty()) && !opts.have_log {
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
            let nic = or_placeholder(&names.build_nic, "<BUILD_VM_NIC>");
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
            show(Some("\"keys(identity.userAssignedIdentities)\""), "tsv").to_string(),
        );
        let principal = or_placeholder(&names.principal, "<IDENTITY_PRINCIPAL_ID>");
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

    build_steps(
        &mut step,
        classes,
        opts,
        &names,
        &BuildNames {
            rg: &rg,
            template: &template,
            staging: &staging,
            vnet_rg: &vnet_rg,
            vnet: &vnet,
            subnet: &subnet,
            sub: &sub,
        },
    );

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
        add_placeholders(&s.command, &mut placeholders);
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
    let account = or_placeholder(&n.storage, "<FLOWLOG_STORAGE_ACCOUNT>");
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
    let download = |container, pattern: &str| {
        az::BlobDownloadBatch {
            account: &account,
            container,
            destination: &format!("{EVIDENCE}/flowlogs"),
            pattern: Some(pattern),
            subscription: n.sub.as_deref(),
        }
        .to_string()
    };
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
                download(
                    NSG_FLOW_CONTAINER,
                    &az::nsg_flow_log_pattern(
                        n.sub.as_deref(),
                        n.nsg_group().map(String::as_str),
                        n.nsg.as_deref(),
                        p,
                    ),
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
                download(VNET_FLOW_CONTAINER, &az::vnet_flow_log_pattern(p)),
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
        az::ImageBuilderRun {
            resource_group: rg,
            template,
            subscription: n.sub.as_deref(),
            no_wait: true,
        }
        .to_string(),
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
                 --name aib-proxy --storage-account {storage} --time-limit 3600 --filters '{}'{sub}",
                proxy_filters()
            ),
        );
    }
    if need.capture_build {
        let vm = or_placeholder(&n.build_vm, "<BUILD_VM_NAME>");
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
                 --name aib-build --storage-account {storage} --time-limit 3600 --filters '{}'{sub}",
                build_filters()
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
        az::BlobDownloadBatch {
            account: &or_placeholder(&n.storage, "<CAPTURE_STORAGE_ACCOUNT>"),
            container: CAPTURE_CONTAINER,
            destination: &format!("{EVIDENCE}/pcap"),
            pattern: None,
            subscription: n.sub.as_deref(),
        }
        .to_string(),
    );
}

/// The names [`build_steps`] writes into its commands.
struct BuildNames<'a> {
    rg: &'a str,
    template: &'a str,
    staging: &'a str,
    vnet_rg: &'a str,
    vnet: &'a str,
    subnet: &'a str,
    sub: &'a str,
}

/// The steps of the classes a whole build log finds (SPEC.md §4.3): each
/// asks for what decides it, never for flow logs or captures.
fn build_steps(
    step: &mut impl FnMut(String, String),
    classes: &[Class],
    opts: &Options,
    n: &Names,
    b: &BuildNames<'_>,
) {
    if !opts.build {
        return;
    }
    let show = |query: &str, output: &str| {
        az::ImageBuilderShow {
            resource_group: b.rg,
            template: b.template,
            subscription: n.sub.as_deref(),
            query: Some(query),
            output: Some(output),
            short_flags: false,
        }
        .to_string()
    };
    let sub = b.sub;
    let account = opts.storage_account.as_deref().map_or_else(
        || "<STORAGE_ACCOUNT>".to_string(),
        |a| az::quote(a).into_owned(),
    );
    let mut done: Vec<&str> = Vec::new();
    let mut once = |key: &'static str, purpose: String, command: String| {
        if !done.contains(&key) {
            done.push(key);
            step(purpose, command);
        }
    };
    // Outside AIB, the other readings' steps (the template, the staging
    // group) do not exist.
    let own = if classes.first() == Some(&Class::PackerRunDirectly) {
        classes.get(..1).unwrap_or_default()
    } else {
        classes
    };
    for class in own {
        match class {
            Class::BuildTimeout | Class::BuildCancelled => {
                once(
                    "timeout",
                    "The template's build timeout (0 means 240 minutes), the run's status and its customizers."
                        .to_string(),
                    show(
                        "\"{timeout:buildTimeoutInMinutes, status:lastRunStatus, customize:customize}\"",
                        "json",
                    ),
                );
                if *class == Class::BuildTimeout {
                    once(
                        "container",
                        "Rerun, and follow the build container's live log to see which step hangs (the \
                         vmimagebuilder-build-container-… group in the staging group)."
                            .to_string(),
                        format!(
                            "az container logs --resource-group {} --name <BUILD_CONTAINER>{sub} --follow",
                            b.staging
                        ),
                    );
                } else {
                    once(
                        "activity",
                        "Who cancelled the run: the template's activity log.".to_string(),
                        format!(
                            "az monitor activity-log list --resource-group {} --offset 1d{sub} --query \"[?contains(operationName.value, 'imageTemplates')].{{time:eventTimestamp, op:operationName.value, caller:caller}}\" --output table",
                            b.rg
                        ),
                    );
                }
            }
            Class::CustomizerFailed => once(
                "customize",
                "The template's customizers: the failing one's script or inline commands."
                    .to_string(),
                show("customize", "json"),
            ),
            Class::DownloadHttpError => {
                if let Some(url) = &opts.url {
                    once(
                        "curl",
                        "Ask the server yourself, from anywhere: its status line decides (the SAS \
                         signature is left out; add it back to test the SAS)."
                            .to_string(),
                        format!("curl -sSI {}", az::quote(url)),
                    );
                }
                once(
                    "customize",
                    "The template's customizers: the URL the failing one downloads.".to_string(),
                    show("customize", "json"),
                );
            }
            Class::StorageFirewallBlocked => {
                once(
                    "storage",
                    "The storage account's network rules (defaultAction, virtualNetworkRules, ipRules)."
                        .to_string(),
                    format!(
                        "az storage account show --name {account}{sub} --query \"{{publicNetworkAccess:publicNetworkAccess, rules:networkRuleSet}}\" --output json"
                    ),
                );
                if opts.aib_download {
                    once(
                        "vnetconfig",
                        "The template's vnetConfig: AIB downloads scriptUri/sourceUri from its container \
                         (containerInstanceSubnetId, when set, is the subnet to admit)."
                            .to_string(),
                        show("vmProfile.vnetConfig", "json"),
                    );
                } else {
                    once(
                        "endpoints",
                        "The build subnet's service endpoints (Microsoft.Storage is needed for a network rule)."
                            .to_string(),
                        format!(
                            "az network vnet subnet show --resource-group {} --vnet-name {} --name {}{sub} --query serviceEndpoints --output json",
                            b.vnet_rg, b.vnet, b.subnet
                        ),
                    );
                }
            }
            Class::StoragePublicAccessDisabled => {
                once(
                    "public",
                    "Whether the storage account allows anonymous blob access.".to_string(),
                    format!(
                        "az storage account show --name {account}{sub} --query allowBlobPublicAccess --output tsv"
                    ),
                );
                once(
                    "identity",
                    "The template's identity (it needs Storage Blob Data Reader on the container)."
                        .to_string(),
                    show("\"keys(identity.userAssignedIdentities)\"", "tsv"),
                );
            }
            Class::SourceImageDefect
            | Class::WinrmBrokenByHardening
            | Class::BuildVmResourceExhaustion => {
                once(
                    "source",
                    "The template's source image and VM size.".to_string(),
                    show("\"{source:source, vmSize:vmProfile.vmSize}\"", "json"),
                );
                if *class == Class::SourceImageDefect {
                    let vm = or_placeholder(&n.build_vm, "<BUILD_VM_NAME>");
                    once(
                        "bootlog",
                        "The build VM's boot log (only while it exists: rerun with \
                         errorHandling.onCustomizerError = abort to keep it): did sshd/WinRM start?"
                            .to_string(),
                        format!(
                            "az vm boot-diagnostics get-boot-log --resource-group {} --name {vm}{sub}",
                            b.staging
                        ),
                    );
                }
            }
            Class::PackerRunDirectly => {
                let target = opts.target.as_deref().unwrap_or("<BUILD_VM_IP>:<PORT>");
                let (ip, port) = target.rsplit_once(':').unwrap_or((target, "<PORT>"));
                once(
                    "connectivity",
                    "From the runner (when it is an Azure VM): can it reach the build VM's address and port?"
                        .to_string(),
                    format!(
                        "az network watcher test-connectivity --source-resource <RUNNER_VM_ID> --dest-address {ip} --dest-port {port}{sub}"
                    ),
                );
                once(
                    "nsg",
                    "The build subnet's NSG: is the runner's address allowed in on 22/5986?"
                        .to_string(),
                    format!(
                        "az network nsg show --ids \"$(az network vnet subnet show --resource-group {} --vnet-name {} --name {}{sub} --query networkSecurityGroup.id --output tsv)\" --output json",
                        b.vnet_rg, b.vnet, b.subnet
                    ),
                );
                once(
                    "runner_route",
                    format!(
                        "The runner's route to {ip} (when it is an Azure VM): the next hop of its NIC's effective \
                         routes (VNET peering, a VPN gateway, a UDR to a firewall, or none)."
                    ),
                    format!(
                        "az network nic show-effective-route-table --ids <RUNNER_NIC_ID>{sub} --output table"
                    ),
                );
                once(
                    "peering",
                    "The build VNET's peerings: is the runner's VNET peered and Connected (or reached through \
                     a gateway)? Without a route, set private_virtual_network_with_public_ip = true in the \
                     Packer template instead (a public IP on the build VM) or run the agent inside the VNET."
                        .to_string(),
                    format!(
                        "az network vnet peering list --resource-group {} --vnet-name {}{sub} --output table",
                        b.vnet_rg, b.vnet
                    ),
                );
            }
            _ => {}
        }
    }
}

//! The failure classes of reference §4 (F1–F22) and the text patterns that
//! point to them.
//!
//! A class is one row of the failure table: what broke, on which hop, how to
//! fix it, which findings `diagnose` / `check` would report for it, and what
//! the evidence will look like. A [`Signal`] is one recognisable piece of error
//! text with a weight per class it points to; a text may point to several
//! classes (the same client message stands for F1 and F2) and the weights rank
//! them. Weights are judgement, kept in one table so they can be reviewed
//! together: 0.9 for a text §4 quotes for exactly that class, 0.5–0.8 for a
//! text the reference infers or that several causes share, ≤ 0.35 for generic
//! texts (`Timeout waiting for SSH.`) that only narrow the field.

use crate::aib::{BUILD_PORT_LINUX, BUILD_PORT_WINDOWS, FindingId, Hop};
use crate::az::{
    BUILD_PORTS, Command, ImageBuilderRun, NsgAllow, PROXY_PORTS, PortRange, Protocol,
    ProviderRegister, RoleAssignment, SubnetChange, SubnetUpdate,
};
use serde::Serialize;

mod build;

/// A failure class: one row (or half a row) of reference §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// F1: Private Link NAT → proxy VM :60000/:60001 dropped by a deny rule.
    ProxyCommandChannelBlocked,
    /// F2: the load balancer's health probe to the proxy VM is denied.
    HealthProbeBlocked,
    /// F3: proxy VM → build VM :22/:5986 denied.
    ProxyToBuildVmBlocked,
    /// F4: ACI → build VM :22/:5986 denied (isolated builds).
    AciToBuildVmBlocked,
    /// F5: the ACI subnet has no outbound 443/445.
    AciEgressBlocked,
    /// F6: private link service network policies still enabled on the build subnet.
    PlsNetworkPoliciesEnabled,
    /// F7: the identity lacks the networking permissions.
    NetworkingPermissionsMissing,
    /// F8: the AIB service principal is not Contributor on a pre-existing group.
    AibServicePrincipalNotContributor,
    /// F9: the user-assigned identity is not authorised on a resource.
    IdentityNotAuthorized,
    /// F10: Azure Policy denied a staging resource.
    AzurePolicyDenied,
    /// F11: isolated-build prerequisites (ACI provider, quota).
    AciPrerequisitesMissing,
    /// F12: a customizer artifact could not be downloaded.
    ArtifactDownloadFailed,
    /// F13: the packerizer wrapper around any Packer failure.
    PackerBuildFailed,
    /// F14 (DNS half): the build VM cannot resolve names.
    BuildVmDnsFailing,
    /// F14 (egress half): the build VM cannot reach the Internet / mirrors.
    BuildVmEgressBlocked,
    /// F15: the SSH/WinRM session to the build VM broke mid-build.
    BuildSessionInterrupted,
    /// F16: a CIS-hardened Windows image breaks WinRM.
    WinrmBrokenByHardening,
    /// F17: the build VM is too small (Windows Update, restarts).
    BuildVmResourceExhaustion,
    /// F18: timeout waiting for Azure to deploy resources.
    AzureDeploymentTimeout,
    /// F19: cleanup errors (private endpoint still attached).
    StagingCleanupBlocked,
    /// F20: the VNET is in another region than the template.
    VnetRegionMismatch,
    /// F21: the build subnet has too few free addresses.
    SubnetTooSmall,
    /// F22: Windows activation cannot reach KMS on TCP 1688.
    KmsActivationBlocked,
    /// AIB cancelled the build at `buildTimeoutInMinutes`.
    BuildTimeout,
    /// The run was cancelled well before the timeout.
    BuildCancelled,
    /// A customizer's script failed for a reason of its own.
    CustomizerFailed,
    /// A download got an HTTP error answer: the server was reached.
    DownloadHttpError,
    /// A storage account's firewall refuses the caller (403 AuthorizationFailure).
    StorageFirewallBlocked,
    /// A storage account forbids anonymous access (409 PublicAccessNotPermitted).
    StoragePublicAccessDisabled,
    /// The build VM answers but never accepts Packer: the source image.
    SourceImageDefect,
    /// Packer ran outside AIB and cannot reach the build VM.
    PackerRunDirectly,
}

/// Every class of the failure table (F1–F22), in reference order.
pub const ALL: [Class; 23] = [
    Class::ProxyCommandChannelBlocked,
    Class::HealthProbeBlocked,
    Class::ProxyToBuildVmBlocked,
    Class::AciToBuildVmBlocked,
    Class::AciEgressBlocked,
    Class::PlsNetworkPoliciesEnabled,
    Class::NetworkingPermissionsMissing,
    Class::AibServicePrincipalNotContributor,
    Class::IdentityNotAuthorized,
    Class::AzurePolicyDenied,
    Class::AciPrerequisitesMissing,
    Class::ArtifactDownloadFailed,
    Class::PackerBuildFailed,
    Class::BuildVmDnsFailing,
    Class::BuildVmEgressBlocked,
    Class::BuildSessionInterrupted,
    Class::WinrmBrokenByHardening,
    Class::BuildVmResourceExhaustion,
    Class::AzureDeploymentTimeout,
    Class::StagingCleanupBlocked,
    Class::VnetRegionMismatch,
    Class::SubnetTooSmall,
    Class::KmsActivationBlocked,
];

/// The classes outside the failure table, found by reading a whole build
/// log or run status (SPEC.md §4.3 of `captures/errors/logs/`).
pub const BUILD_CLASSES: [Class; 8] = [
    Class::BuildTimeout,
    Class::BuildCancelled,
    Class::CustomizerFailed,
    Class::DownloadHttpError,
    Class::StorageFirewallBlocked,
    Class::StoragePublicAccessDisabled,
    Class::SourceImageDefect,
    Class::PackerRunDirectly,
];

/// Where a class sits, which evidence can show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A data-plane hop: flow logs and packet captures can show it.
    Traffic,
    /// Configuration the `check` command reads (subnet, VNET, NSG, template).
    Config,
    /// Identity, policy, quota or a transient Azure failure: no traffic to see.
    Deployment,
    /// The packerizer wrapper: the cause is in `customization.log`.
    Umbrella,
    /// The build itself (a script, a download, the timeout, the image): the
    /// log is the evidence, no hop is suspected.
    Build,
    /// Packer run outside AIB: the path is the runner's, not AIB's hops.
    Runner,
}

/// The static description of a class.
#[derive(Debug)]
pub struct Info {
    /// Row of reference §4 (`F1` …); `None` outside the failure table.
    pub reference: Option<&'static str>,
    /// One-line title.
    pub title: &'static str,
    /// The hop to suspect; `None` for the umbrella class and the classes
    /// that are not a hop's ([`Kind::Build`], [`Kind::Runner`]).
    pub hop: Option<Hop>,
    /// Which evidence can show it.
    pub kind: Kind,
    /// The finding ids `diagnose` / `check` would emit for it.
    pub finding_ids: &'static [FindingId],
    /// What it means and why (with the reference's confidence markers).
    pub explanation: &'static str,
    /// The fix, prose and `az` commands. `{NAME}` marks a value filled from
    /// the text or the flags.
    pub fix: &'static [FixPart],
    /// What flow logs / captures / config show when this is the cause.
    pub signature: &'static str,
    /// Words a near-miss text may share with this class (for "closest").
    pub keywords: &'static [&'static str],
}

/// A piece of a fix.
#[derive(Debug)]
pub enum FixPart {
    /// Prose, written as is.
    Text(&'static str),
    /// An `az` command.
    Az(Command<'static>),
}

impl Info {
    /// The fix as one text, with its `{NAME}` markers.
    pub fn fix_text(&self) -> String {
        self.fix
            .iter()
            .map(|p| match p {
                FixPart::Text(t) => (*t).to_string(),
                FixPart::Az(c) => c.to_string(),
            })
            .collect()
    }
}

/// A TCP allow rule into the VNET in the NSG of the text, at a priority that
/// wins over the deny (which the text does not give).
const fn nsg_allow(
    name: &'static str,
    direction: &'static str,
    sources: &'static str,
    ports: &'static [PortRange],
) -> FixPart {
    FixPart::Az(Command::NsgAllow(NsgAllow {
        resource_group: "{NSG_RG}",
        nsg: "{NSG}",
        name,
        priority: "{PRIORITY}",
        direction,
        protocol: Protocol::Tcp,
        sources,
        source_ports: None,
        destinations: "VirtualNetwork",
        ports,
    }))
}

/// An update of a subnet of the VNET of the text.
const fn subnet_update(subnet: &'static str, change: SubnetChange<'static>) -> FixPart {
    FixPart::Az(Command::SubnetUpdate(SubnetUpdate {
        resource_group: "{VNET_RG}",
        vnet: "{VNET}",
        subnet,
        change,
    }))
}

/// The non-network readings of a communicator timeout whose attempts are
/// not in the text: nothing says a hop dropped anything, so a build VM that
/// never booted or never started its listener (the image) or one too small
/// for it is possible too. Low, below every network class of such a text.
pub const TIMEOUT_WITHOUT_ATTEMPTS: [(Class, f64); 2] = [
    (Class::SourceImageDefect, 0.2),
    (Class::BuildVmResourceExhaustion, 0.15),
];

/// The reading of a connection failure when Packer ran outside AIB (its
/// own binary or command line, no AIB marker): the class first and the
/// alternative, with their confidences. Answered attempts (refused, reset,
/// rejected) mean the build VM is reachable, so its image comes first;
/// silence means the runner's path.
pub fn outside_aib(answered: bool) -> [(Class, f64); 2] {
    if answered {
        [
            (Class::SourceImageDefect, 0.4),
            (Class::PackerRunDirectly, 0.3),
        ]
    } else {
        [
            (Class::PackerRunDirectly, 0.8),
            (Class::SourceImageDefect, 0.2),
        ]
    }
}

impl Class {
    /// The class's serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::ProxyCommandChannelBlocked => "proxy_command_channel_blocked",
            Class::HealthProbeBlocked => "health_probe_blocked",
            Class::ProxyToBuildVmBlocked => "proxy_to_build_vm_blocked",
            Class::AciToBuildVmBlocked => "aci_to_build_vm_blocked",
            Class::AciEgressBlocked => "aci_egress_blocked",
            Class::PlsNetworkPoliciesEnabled => "pls_network_policies_enabled",
            Class::NetworkingPermissionsMissing => "networking_permissions_missing",
            Class::AibServicePrincipalNotContributor => "aib_service_principal_not_contributor",
            Class::IdentityNotAuthorized => "identity_not_authorized",
            Class::AzurePolicyDenied => "azure_policy_denied",
            Class::AciPrerequisitesMissing => "aci_prerequisites_missing",
            Class::ArtifactDownloadFailed => "artifact_download_failed",
            Class::PackerBuildFailed => "packer_build_failed",
            Class::BuildVmDnsFailing => "build_vm_dns_failing",
            Class::BuildVmEgressBlocked => "build_vm_egress_blocked",
            Class::BuildSessionInterrupted => "build_session_interrupted",
            Class::WinrmBrokenByHardening => "winrm_broken_by_hardening",
            Class::BuildVmResourceExhaustion => "build_vm_resource_exhaustion",
            Class::AzureDeploymentTimeout => "azure_deployment_timeout",
            Class::StagingCleanupBlocked => "staging_cleanup_blocked",
            Class::VnetRegionMismatch => "vnet_region_mismatch",
            Class::SubnetTooSmall => "subnet_too_small",
            Class::KmsActivationBlocked => "kms_activation_blocked",
            Class::BuildTimeout => "build_timeout",
            Class::BuildCancelled => "build_cancelled",
            Class::CustomizerFailed => "customizer_failed",
            Class::DownloadHttpError => "download_http_error",
            Class::StorageFirewallBlocked => "storage_firewall_blocked",
            Class::StoragePublicAccessDisabled => "storage_public_access_disabled",
            Class::SourceImageDefect => "source_image_defect",
            Class::PackerRunDirectly => "packer_run_directly",
        }
    }

    /// Whether the fix is in the network's configuration (NSG, routes, DNS,
    /// subnet, VNET, private link policies) and flow logs or captures can
    /// show it (SPEC.md §4.2). F16 and F17 sit on a traffic hop for display,
    /// but a hardened image and an undersized VM are fixed in the template.
    pub fn network(self) -> bool {
        match self {
            Class::WinrmBrokenByHardening | Class::BuildVmResourceExhaustion => false,
            c => matches!(c.info().kind, Kind::Traffic | Kind::Config | Kind::Runner),
        }
    }

    /// The class's static description.
    pub fn info(self) -> &'static Info {
        match self {
            Class::ProxyCommandChannelBlocked => &F1,
            Class::HealthProbeBlocked => &F2,
            Class::ProxyToBuildVmBlocked => &F3,
            Class::AciToBuildVmBlocked => &F4,
            Class::AciEgressBlocked => &F5,
            Class::PlsNetworkPoliciesEnabled => &F6,
            Class::NetworkingPermissionsMissing => &F7,
            Class::AibServicePrincipalNotContributor => &F8,
            Class::IdentityNotAuthorized => &F9,
            Class::AzurePolicyDenied => &F10,
            Class::AciPrerequisitesMissing => &F11,
            Class::ArtifactDownloadFailed => &F12,
            Class::PackerBuildFailed => &F13,
            Class::BuildVmDnsFailing => &F14_DNS,
            Class::BuildVmEgressBlocked => &F14_EGRESS,
            Class::BuildSessionInterrupted => &F15,
            Class::WinrmBrokenByHardening => &F16,
            Class::BuildVmResourceExhaustion => &F17,
            Class::AzureDeploymentTimeout => &F18,
            Class::StagingCleanupBlocked => &F19,
            Class::VnetRegionMismatch => &F20,
            Class::SubnetTooSmall => &F21,
            Class::KmsActivationBlocked => &F22,
            Class::BuildTimeout => &build::BUILD_TIMEOUT,
            Class::BuildCancelled => &build::BUILD_CANCELLED,
            Class::CustomizerFailed => &build::CUSTOMIZER_FAILED,
            Class::DownloadHttpError => &build::DOWNLOAD_HTTP_ERROR,
            Class::StorageFirewallBlocked => &build::STORAGE_FIREWALL_BLOCKED,
            Class::StoragePublicAccessDisabled => &build::STORAGE_PUBLIC_ACCESS_DISABLED,
            Class::SourceImageDefect => &build::SOURCE_IMAGE_DEFECT,
            Class::PackerRunDirectly => &build::PACKER_RUN_DIRECTLY,
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

static F1: Info = Info {
    reference: Some("F1"),
    title: "Private Link → proxy VM command channel (:60000/:60001) is blocked",
    hop: Some(Hop::AlbToProxy),
    kind: Kind::Traffic,
    finding_ids: &[FindingId::AlbToProxyBlocked, FindingId::NsgRuleBlocksHop],
    explanation: "Packer (in the AIB service or its ACI) dials the private endpoint on the proxy port and \
gets no answer. The traffic reaches the proxy VM from the Private Link NAT IP, a VNET address, so it needs \
AllowVnetInBound or an explicit VirtualNetwork rule; a custom deny-all placed before it drops it. The \
quickstart AzureLoadBalancer rule only admits the health probe, not this traffic. [field report + reference \
implementation]",
    fix: &[
        FixPart::Text(
            "Allow TCP 60000-60001 (and 22, 5986) VirtualNetwork → VirtualNetwork inbound with a priority number \
lower than the deny rule (`aibnet check` computes one that wins):\n  ",
        ),
        nsg_allow(
            "AllowAibPrivateLinkToProxy",
            "Inbound",
            "VirtualNetwork",
            &[
                PROXY_PORTS,
                PortRange::one(BUILD_PORT_LINUX),
                PortRange::one(BUILD_PORT_WINDOWS),
            ],
        ),
    ],
    signature: "NSG/VNet flow log of the proxy VM's NSG: src=<NAT IP in the build subnet> dst=<proxy IP> \
dport 60000/60001 T I D (rule UserRule_<deny>), state B only; capture on the proxy VM: no SYN arrives",
    keywords: &[
        "proxyconnect",
        "bastion",
        "60000",
        "60001",
        "dial tcp",
        "i/o timeout",
        "timed out",
        "winrm",
        "ssh",
    ],
};

static F2: Info = Info {
    reference: Some("F2"),
    title: "Load balancer health probe to the proxy VM is blocked",
    hop: Some(Hop::ProbeToProxy),
    kind: Kind::Traffic,
    finding_ids: &[FindingId::ProbeBlocked, FindingId::NsgRuleBlocksHop],
    explanation: "Same client message as F1, other cause: a custom deny also covers 168.63.129.16 and nothing \
allows AzureLoadBalancer above it, so the internal load balancer marks the only proxy VM down and forwards \
no new flows. Ranked below F1 because the field reports of this message were F1; the flow logs tell the \
two apart. [inferred from the load balancer docs]",
    fix: &[
        FixPart::Text("Keep or restore the quickstart rule above the deny: "),
        nsg_allow(
            "AzureImageBuilderNsgRule",
            "Inbound",
            "AzureLoadBalancer",
            &[PROXY_PORTS],
        ),
    ],
    signature: "flow log of the proxy VM's NSG: src=168.63.129.16 dport 60000/60001 I D about every 5 s, and no \
tuples from the Private Link NAT IP at all",
    keywords: &[
        "probe",
        "168.63.129.16",
        "azureloadbalancer",
        "60000",
        "60001",
        "proxyconnect",
        "bastion",
    ],
};

static F3: Info = Info {
    reference: Some("F3"),
    title: "Proxy VM → build VM (:22/:5986) is blocked",
    hop: Some(Hop::ProxyToBuildVm),
    kind: Kind::Traffic,
    finding_ids: &[
        FindingId::ProxyToBuildVmBlocked,
        FindingId::NsgRuleBlocksHop,
        FindingId::RouteBlocksHop,
    ],
    explanation: "The command channel to the proxy VM works, but the proxy VM cannot open SSH (22) or \
WinRM-HTTPS (5986) to the build VM: an NSG rule such as Deny-All-Any-Any denies it, outbound at the proxy \
or inbound at the build VM (or a user-defined route for the subnet drops it or sends it to a firewall). \
[field report]",
    fix: &[
        FixPart::Text(
            "Allow VirtualNetwork → VirtualNetwork TCP 22 and 5986 inbound and outbound above the deny:\n  ",
        ),
        nsg_allow(
            "AllowAibProxyToBuildVmIn",
            "Inbound",
            "VirtualNetwork",
            &BUILD_PORTS,
        ),
        FixPart::Text("\n  "),
        nsg_allow(
            "AllowAibProxyToBuildVmOut",
            "Outbound",
            "VirtualNetwork",
            &BUILD_PORTS,
        ),
    ],
    signature: "flow log of the build VM's NSG: src=<proxy IP> dst=<build VM IP> dport 22/5986 I D (or O D at \
the proxy's NSG); capture on the proxy VM: SYN retransmits to the build VM while the 6000x session is up",
    keywords: &[
        "wsman",
        "5986",
        "22",
        "context deadline exceeded",
        "ssh: rejected",
        "connect failed",
        "winrm",
        "bastion",
    ],
};

static F4: Info = Info {
    reference: Some("F4"),
    title: "ACI → build VM (:22/:5986) is blocked (isolated build)",
    hop: Some(Hop::AciToBuildVm),
    kind: Kind::Traffic,
    finding_ids: &[
        FindingId::AciToBuildVmBlocked,
        FindingId::NsgRuleBlocksHop,
        FindingId::RouteBlocksHop,
    ],
    explanation: "Packer, in the ACI container of an isolated build, dials the build VM directly and gets no \
answer: the build subnet's NSG lacks inbound 22/5986 from the ACI subnet, or the ACI subnet's NSG lacks \
outbound to the build subnet. The ACI side is not in NSG flow logs. [inferred from the template reference]",
    fix: &[
        FixPart::Text(
            "Allow TCP 22/5986 from the ACI subnet into the build subnet (inbound on the build subnet's NSG) and \
out of the ACI subnet:\n  ",
        ),
        nsg_allow(
            "AllowAibAciToBuildVm",
            "Inbound",
            "{ACI_SUBNET_PREFIX}",
            &BUILD_PORTS,
        ),
    ],
    signature: "flow log of the build VM's NSG: src=<ACI subnet IP> dst=<build VM IP> dport 22/5986 I D; \
capture on the build VM: no SYN arrives (denied at the NSG) or SYNs without answer",
    keywords: &[
        "dial tcp",
        "22",
        "5986",
        "i/o timeout",
        "waiting for ssh",
        "waiting for winrm",
        "tcp connection to ssh",
    ],
};

static F5: Info = Info {
    reference: Some("F5"),
    title: "ACI subnet has no outbound 443/445 (isolated build never starts)",
    hop: Some(Hop::Deployment),
    kind: Kind::Config,
    finding_ids: &[FindingId::NoOutboundPath, FindingId::AciSubnetNotDelegated],
    explanation: "The isolated build's container needs outbound TCP 443 (image pull) and 445 (Azure Files) \
from the ACI subnet, and an outbound method on private subnets. AIB's exact message for this is not \
documented: this match rests on generic container start/mount wording. ACI traffic is not in NSG flow logs.",
    fix: &[
        FixPart::Text(
            "Allow outbound 443 and 445 from the ACI subnet to Internet, give it a NAT gateway or firewall route, \
and check its delegation:\n  ",
        ),
        subnet_update("{ACI_SUBNET}", SubnetChange::DelegateToAci),
    ],
    signature: "nothing in NSG flow logs (ACI is not supported); `check` on the ACI subnet and its NSG",
    keywords: &[
        "container",
        "aci",
        "mount",
        "file share",
        "445",
        "image pull",
    ],
};

static F6: Info = Info {
    reference: Some("F6"),
    title: "Private link service network policies are enabled on the build subnet",
    hop: Some(Hop::Deployment),
    kind: Kind::Config,
    finding_ids: &[FindingId::PlsNetworkPoliciesEnabled],
    explanation: "AIB creates a Private Link Service in the build subnet (proxy path); Azure refuses while the \
subnet's privateLinkServiceNetworkPolicies is Enabled, so the proxy, load balancer and link are never \
created and no build traffic exists.",
    fix: &[subnet_update("{SUBNET}", SubnetChange::DisablePlsPolicies)],
    signature: "no AIB traffic at all; subnet JSON shows \"privateLinkServiceNetworkPolicies\": \"Enabled\"",
    keywords: &[
        "privatelinkservice",
        "private link",
        "network policies",
        "subnet",
    ],
};

static F7: Info = Info {
    reference: Some("F7"),
    title: "The template identity lacks networking permissions on the VNET",
    hop: Some(Hop::Deployment),
    kind: Kind::Deployment,
    finding_ids: &[],
    explanation: "AIB could not use the subnet (the staging Private Link NIC is then missing, hence the 404 on \
networkInterfaces/aibpls…): the template's user-assigned identity needs \
Microsoft.Network/virtualNetworks/read and …/subnets/join/action on the VNET's resource group.",
    fix: &[
        FixPart::Text(
            "Assign a role with virtualNetworks/read and subnets/join/action (the documented custom \"Azure Image \
Builder Service Networking Role\") to the identity on the VNET's group:\n  ",
        ),
        FixPart::Az(Command::RoleAssignment(RoleAssignment {
            assignee: "{PRINCIPAL_ID}",
            role: "\"{NETWORKING_ROLE}\"",
            scope: "/subscriptions/{SUB}/resourceGroups/{VNET_RG}",
        })),
    ],
    signature: "no data-plane traffic; role assignments of the identity on the VNET group lack the join action",
    keywords: &[
        "interfacesclient",
        "404",
        "not found",
        "authorization",
        "join/action",
        "aibpls",
    ],
};

static F8: Info = Info {
    reference: Some("F8"),
    title: "The AIB service principal is not Contributor on the pre-existing resource group",
    hop: Some(Hop::Deployment),
    kind: Kind::Deployment,
    finding_ids: &[],
    explanation: "Windows builds into a pre-existing group and VNET: the first-party \"Azure Virtual Machine \
Image Builder\" service principal must create the proxy VM disk (proxyVmDiskWin_…) there and lacks the right.",
    fix: &[
        FixPart::Text("Give the AIB service principal Contributor on that group:\n  "),
        FixPart::Az(Command::RoleAssignment(RoleAssignment {
            assignee: "{AIB_SP_APP_ID}",
            role: "Contributor",
            scope: "/subscriptions/{SUB}/resourceGroups/{DENIED_RG}",
        })),
    ],
    signature: "no data-plane traffic (the proxy VM is never created)",
    keywords: &["authorization", "disks/write", "proxyvmdisk", "contributor"],
};

static F9: Info = Info {
    reference: Some("F9"),
    title: "The template's user-assigned identity is not authorised on a resource",
    hop: Some(Hop::Deployment),
    kind: Kind::Deployment,
    finding_ids: &[],
    explanation: "The identity lacks a role it needs: subnet join, storage (artifacts), the gallery or image \
destination. The resource is named in the message.",
    fix: &[
        FixPart::Text(
            "Assign the missing role to the template identity on the named resource, e.g. Storage Blob Data Reader \
on an artifact container or the networking role on the VNET group:\n  ",
        ),
        FixPart::Az(Command::RoleAssignment(RoleAssignment {
            assignee: "{PRINCIPAL_ID}",
            role: "\"<ROLE>\"",
            scope: "{DENIED_SCOPE}",
        })),
    ],
    signature: "no data-plane traffic",
    keywords: &[
        "not authorized",
        "authorization",
        "identity",
        "permission",
        "forbidden",
    ],
};

static F10: Info = Info {
    reference: Some("F10"),
    title: "Azure Policy denied a staging resource",
    hop: Some(Hop::Deployment),
    kind: Kind::Deployment,
    finding_ids: &[],
    explanation: "A policy denies something AIB creates in the staging group (IT_… group, storage account \
without firewall, ACI, VNET/NSG/private endpoint, Azure Files, DDoS plan join); with NoCustomizerScript the \
build never got far enough to write customization.log.",
    fix: &[FixPart::Text(
        "Exempt the staging resource group (or relax the policy) for the resources AIB creates, then rerun; the \
policy assignment is named in the ARM error details.",
    )],
    signature: "no data-plane traffic; the activity log shows the denied write",
    keywords: &["policy", "disallowed", "violation", "nocustomizerscript"],
};

static F11: Info = Info {
    reference: Some("F11"),
    title: "Isolated-build prerequisites missing (ACI provider, quota, rate)",
    hop: Some(Hop::Deployment),
    kind: Kind::Deployment,
    finding_ids: &[],
    explanation: "Isolated builds run Packer in an Azure Container Instance: the subscription needs the \
Microsoft.ContainerInstance provider and quota for one 4-core container per build.",
    fix: &[
        FixPart::Az(Command::ProviderRegister(ProviderRegister {
            namespace: "Microsoft.ContainerInstance",
        })),
        FixPart::Text(" ; request more ACI quota or run fewer builds at once"),
    ],
    signature: "no data-plane traffic",
    keywords: &["container instances", "quota", "provider", "registered"],
};

static F12: Info = Info {
    reference: Some("F12"),
    title: "A customizer artifact could not be downloaded",
    hop: Some(Hop::Deployment),
    kind: Kind::Deployment,
    finding_ids: &[],
    explanation: "AIB (or its ACI) fetches scriptUri/sourceUri files at submission, not the build VM: a wrong \
URL, a storage firewall (even with trusted Microsoft services) or unsupported cipher suites stop it. Nothing \
shows in the build subnet's flow logs.",
    fix: &[FixPart::Text(
        "Check the URL; host the file in Azure Storage readable by the template identity; for a firewalled \
account use an isolated build with your own ACI subnet and allow that subnet on the storage firewall.",
    )],
    signature: "nothing in the build subnet's flow logs; storage account logs show the denied read",
    keywords: &[
        "download",
        "customizer",
        "external file",
        "scripturi",
        "storage",
    ],
};

static F13: Info = Info {
    reference: Some("F13"),
    title: "Packer build failed (packerizer wrapper)",
    hop: None,
    kind: Kind::Umbrella,
    finding_ids: &[],
    explanation: "The generic AIB message around any Packer failure: F1–F4, F14–F17 all end like this. The cause \
is in customization.log (search for `(telemetry)` and the last ERROR lines).",
    fix: &[FixPart::Text(
        "Download customization.log (see the collection plan) and run `aibnet explain customization.log`.",
    )],
    signature: "depends on the cause inside customization.log",
    keywords: &[
        "packerizer",
        "microservice",
        "packer build",
        "exit status 1",
        "customization.log",
    ],
};

static F14_DNS: Info = Info {
    reference: Some("F14"),
    title: "The build VM cannot resolve names (DNS)",
    hop: Some(Hop::BuildVmDns),
    kind: Kind::Traffic,
    finding_ids: &[FindingId::DnsFailing],
    explanation: "Customizer scripts fail to resolve package mirrors or endpoints: the VNET's custom DNS servers \
are unreachable from the build subnet (NSG, UDR to an appliance) or do not forward public names.",
    fix: &[FixPart::Text(
        "Make the VNET's DNS servers reachable from the build subnet on UDP/TCP 53 and able to resolve public \
names, or use Azure DNS (168.63.129.16) for the build VNET.",
    )],
    signature: "capture on the build VM: DNS queries to the custom DNS server without reply; flow log of the \
build VM's NSG: dport 53 O D",
    keywords: &[
        "resolve",
        "resolving",
        "dns",
        "name resolution",
        "getaddrinfo",
        "host not found",
    ],
};

static F14_EGRESS: Info = Info {
    reference: Some("F14"),
    title: "The build VM cannot reach the Internet (egress blocked)",
    hop: Some(Hop::BuildVmEgress),
    kind: Kind::Traffic,
    finding_ids: &[
        FindingId::BuildVmEgressBlocked,
        FindingId::NsgRuleBlocksHop,
        FindingId::NoOutboundPath,
    ],
    explanation: "Customizer scripts cannot reach mirrors, Windows Update or storage: an NSG outbound deny, a \
UDR to an appliance without rules, or no outbound method at all (private subnets, the default since \
2026-03-31). The build VM's egress does not go through the proxy VM. [inferred]",
    fix: &[FixPart::Text(
        "Allow the build subnet's egress (80/443 to the mirrors and endpoints the scripts use, 1688 for \
Windows activation) in the NSG and firewall, and give a private subnet an outbound method (NAT gateway).",
    )],
    signature: "flow log of the build VM's NSG: src=<build VM IP> dst=<public IP> dport 80/443 O D; with a UDR, \
NSG A but firewall deny logs; capture on the build VM: SYN retransmits, or RST/TLS alerts from an appliance",
    keywords: &[
        "connect",
        "timed out",
        "timeout",
        "fetch",
        "download",
        "443",
        "80",
        "unreachable",
        "mirror",
    ],
};

static F15: Info = Info {
    reference: Some("F15"),
    title: "The SSH/WinRM session to the build VM broke mid-build",
    hop: Some(Hop::ProxyToBuildVm),
    kind: Kind::Traffic,
    finding_ids: &[
        FindingId::BuildSessionInterrupted,
        FindingId::BuildVmPortRejected,
    ],
    explanation: "The build VM was reachable, then the established session ended without an exit status: a \
script changed the guest firewall, SSH or WinRM on 22/5986 (or rebooted it). NSGs allowed the traffic.",
    fix: &[FixPart::Text(
        "Keep 22/5986 open in the guest for the whole build: do not restart or reconfigure sshd/WinRM or the \
guest firewall in customizers; set errorHandling.onCustomizerError = abort to keep the VM for inspection.",
    )],
    signature: "flows allowed (A); capture on the proxy (or ACI → build): the 22/5986 session gets RST or goes \
silent, new SYNs get RST or no answer from the build VM",
    keywords: &[
        "context canceled",
        "remote command exited",
        "communicator ended",
        "reset",
        "eof",
    ],
};

static F16: Info = Info {
    reference: Some("F16"),
    title: "WinRM broken by a hardened (CIS) Windows source image",
    hop: Some(Hop::ProxyToBuildVm),
    kind: Kind::Traffic,
    finding_ids: &[FindingId::BuildVmPortRejected],
    explanation: "CIS-hardened Windows images disable or restrict WinRM, so Packer never gets a WinRM session \
even though the network allows 5986.",
    fix: &[FixPart::Text(
        "Use another source image, or one prepared for WinRM over HTTPS on 5986.",
    )],
    signature: "capture on the build VM: TCP to 5986 completes but TLS/HTTP fails, or RST",
    keywords: &["winrm", "cis", "hardened", "5986"],
};

static F17: Info = Info {
    reference: Some("F17"),
    title: "The build VM is too small or restarts too slowly",
    hop: Some(Hop::ProxyToBuildVm),
    kind: Kind::Traffic,
    finding_ids: &[FindingId::BuildSessionInterrupted],
    explanation: "Resource exhaustion (Windows Update on a D1_v2) or slow restarts break the communication \
between Packer and the build VM. Not a network policy problem: the sessions that break are expected during \
reboots.",
    fix: &[FixPart::Text(
        "Use a bigger vmSize (Standard_D2_v2 or larger for Windows) and restartTimeout \"30m\" on WindowsRestart.",
    )],
    signature: "capture: WinRM sessions reset or time out around reboots; flows allowed",
    keywords: &[
        "unexpected eof",
        "1115",
        "restart",
        "machine not yet available",
    ],
};

static F18: Info = Info {
    reference: Some("F18"),
    title: "Timed out waiting for Azure to deploy the build resources",
    hop: Some(Hop::Deployment),
    kind: Kind::Deployment,
    finding_ids: &[],
    explanation: "AIB gave up waiting for an Azure deployment (VM, network) to finish; usually transient.",
    fix: &[
        FixPart::Text("Rerun the build: "),
        FixPart::Az(Command::ImageBuilderRun(ImageBuilderRun {
            resource_group: "{RG}",
            template: "{TEMPLATE}",
            subscription: None,
            no_wait: false,
        })),
    ],
    signature: "none",
    keywords: &[
        "waitforcompletion",
        "context deadline exceeded",
        "cancelled",
    ],
};

static F19: Info = Info {
    reference: Some("F19"),
    title: "Cleanup of staging resources failed",
    hop: Some(Hop::Deployment),
    kind: Kind::Deployment,
    finding_ids: &[],
    explanation: "The private endpoint was still attached when AIB deleted the NIC or NSG; mostly harmless and \
retried. Not the reason a build failed.",
    fix: &[FixPart::Text(
        "If it persists, delete in order: private endpoint connection → private link service → NIC and load \
balancer → staging group → template.",
    )],
    signature: "none",
    keywords: &[
        "cannotbedeleted",
        "inuse",
        "privateendpoint",
        "cleanup",
        "delete",
    ],
};

static F20: Info = Info {
    reference: Some("F20"),
    title: "The VNET is in another region than the image template",
    hop: Some(Hop::Deployment),
    kind: Kind::Config,
    finding_ids: &[FindingId::VnetRegionMismatch],
    explanation: "The build VNET must be in the template's region. AIB's own text for this is not documented; \
this match rests on ARM's generic cross-region reference error.",
    fix: &[FixPart::Text(
        "Use a VNET in the template's region ({LOCATION}), or create the template in the VNET's region.",
    )],
    signature: "no AIB traffic; `check` compares the VNET's and the template's location",
    keywords: &[
        "region",
        "location",
        "same region",
        "invalidresourcereference",
    ],
};

static F21: Info = Info {
    reference: Some("F21"),
    title: "The build subnet has too few free addresses",
    hop: Some(Hop::Deployment),
    kind: Kind::Config,
    finding_ids: &[FindingId::SubnetTooSmall],
    explanation: "The proxy path needs 4 free addresses in the build subnet (load balancer, proxy VM, Private \
Link NIC, build VM), more for validation VMs and retries.",
    fix: &[FixPart::Text(
        "Use a subnet of at least /28 with at least 4 free addresses.",
    )],
    signature: "no AIB traffic; the subnet JSON shows its prefix and used IP configurations",
    keywords: &["subnet", "capacity", "address", "full"],
};

static F22: Info = Info {
    reference: Some("F22"),
    title: "Windows activation cannot reach KMS (TCP 1688)",
    hop: Some(Hop::BuildVmEgress),
    kind: Kind::Traffic,
    finding_ids: &[FindingId::BuildVmEgressBlocked, FindingId::NsgRuleBlocksHop],
    explanation: "The build VM cannot reach azkms.core.windows.net:1688: an NSG or appliance blocks it, and a \
0.0.0.0/0 UDR disables the platform's own KMS route.",
    fix: &[FixPart::Text(
        "Allow outbound TCP 1688 to azkms.core.windows.net from the build subnet (and route it to Internet when \
a 0.0.0.0/0 UDR exists).",
    )],
    signature: "flow log of the build VM's NSG: dport 1688 O D, or the appliance's deny log",
    keywords: &["activation", "kms", "1688", "slmgr", "0x800705b4"],
};

/// One recognisable piece of error text and the classes it points to.
#[derive(Debug)]
pub struct Signal {
    /// Stable name, shown with the evidence line.
    pub id: &'static str,
    /// Regex (case-insensitive unless it says otherwise).
    pub pattern: &'static str,
    /// The classes it points to, with the weight of this text for each.
    pub scores: &'static [(Class, f64)],
}

use Class::*;

/// Every signal. Order does not matter; ids must be unique.
pub static SIGNALS: &[Signal] = &[
    // --- F1/F2: the proxy path, Packer cannot reach the proxy port. ---
    Signal {
        id: "winrm_proxyconnect_proxy_port",
        pattern: r"(?i)proxyconnect tcp: dial tcp [0-9.]+:6000[01]",
        scores: &[(ProxyCommandChannelBlocked, 0.9), (HealthProbeBlocked, 0.6)],
    },
    Signal {
        id: "ssh_bastion_proxy_port",
        pattern: r"(?i)Error connecting to bastion: dial tcp [0-9.]+:6000[01]",
        scores: &[(ProxyCommandChannelBlocked, 0.9), (HealthProbeBlocked, 0.6)],
    },
    Signal {
        id: "ssh_bastion_other",
        pattern: r"(?i)Error connecting to bastion:",
        scores: &[(ProxyCommandChannelBlocked, 0.6), (HealthProbeBlocked, 0.4)],
    },
    Signal {
        id: "dial_proxy_port",
        pattern: r"(?i)dial tcp [0-9.]+:6000[01]: (?:connect: )?(?:i/o timeout|connection timed out|operation timed out|no route to host)",
        scores: &[(ProxyCommandChannelBlocked, 0.8), (HealthProbeBlocked, 0.5)],
    },
    Signal {
        id: "dial_proxy_port_refused",
        pattern: r"(?i)dial tcp [0-9.]+:6000[01]: (?:connect: )?connection refused",
        scores: &[(ProxyCommandChannelBlocked, 0.7)],
    },
    // --- Generic communicator timeouts: narrow the field only. ---
    Signal {
        id: "timeout_waiting_for_winrm",
        pattern: r"(?i)Timeout waiting for WinRM",
        scores: &[
            (ProxyCommandChannelBlocked, 0.3),
            (HealthProbeBlocked, 0.2),
            (ProxyToBuildVmBlocked, 0.3),
            (AciToBuildVmBlocked, 0.25),
            (WinrmBrokenByHardening, 0.15),
        ],
    },
    Signal {
        id: "timeout_waiting_for_ssh",
        pattern: r"(?i)Timeout waiting for SSH",
        scores: &[
            (ProxyCommandChannelBlocked, 0.3),
            (HealthProbeBlocked, 0.2),
            (ProxyToBuildVmBlocked, 0.3),
            (AciToBuildVmBlocked, 0.25),
        ],
    },
    // --- F3: the proxy is reached, the build VM is not. ---
    Signal {
        id: "wsman_context_deadline",
        pattern: r#"(?i)/wsman"?: context deadline exceeded"#,
        scores: &[(ProxyToBuildVmBlocked, 0.8), (AciToBuildVmBlocked, 0.3)],
    },
    Signal {
        id: "wsman_proxy_gateway_error",
        pattern: r#"(?i)/wsman"?: (?:Bad Gateway|Gateway Time-?out|Service Unavailable)"#,
        scores: &[(ProxyToBuildVmBlocked, 0.5)],
    },
    Signal {
        id: "ssh_bastion_channel_rejected",
        pattern: r"(?i)ssh: rejected: connect failed \((?:connection timed out|no route to host|operation timed out)",
        scores: &[(ProxyToBuildVmBlocked, 0.75)],
    },
    Signal {
        id: "ssh_bastion_channel_refused",
        pattern: r"(?i)ssh: rejected: connect failed \(connection refused",
        scores: &[(ProxyToBuildVmBlocked, 0.6), (BuildSessionInterrupted, 0.3)],
    },
    // --- F4: Packer dials the build VM directly (isolated builds). ---
    Signal {
        id: "dial_build_vm_timeout",
        pattern: r"(?i)dial tcp [0-9.]+:(?:22|5985|5986): (?:connect: )?(?:i/o timeout|connection timed out|operation timed out|no route to host)",
        scores: &[(AciToBuildVmBlocked, 0.75), (ProxyToBuildVmBlocked, 0.15)],
    },
    Signal {
        id: "dial_build_vm_refused",
        pattern: r"(?i)dial tcp [0-9.]+:(?:22|5985|5986): (?:connect: )?connection refused",
        scores: &[
            (AciToBuildVmBlocked, 0.5),
            (WinrmBrokenByHardening, 0.2),
            (BuildSessionInterrupted, 0.2),
        ],
    },
    // --- F5: ACI start-up (no documented AIB text). ---
    Signal {
        id: "aci_mount_or_pull_failed",
        pattern: r"(?i)(?:container group|container instance|\bACI\b)[^\n]{0,200}(?:failed to mount|mount[^\n]{0,40}(?:azure file|file share)|failed to pull image|image pull)",
        scores: &[(AciEgressBlocked, 0.45)],
    },
    // --- F6. ---
    Signal {
        id: "pls_policies_code",
        pattern: r"PrivateLinkServiceCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled",
        scores: &[(PlsNetworkPoliciesEnabled, 0.95)],
    },
    Signal {
        id: "pls_policies_text",
        pattern: r"(?i)cannot be created in a subnet[^\n]{0,400}since it has private link service network policies enabled",
        scores: &[(PlsNetworkPoliciesEnabled, 0.9)],
    },
    // --- F6 as people paste it: the az flags, the property, Terraform. ---
    Signal {
        id: "pls_az_flag_rejected",
        pattern: r"(?i)is not a valid value for '--(?:disable-)?private-link-service-network-policies'",
        scores: &[(PlsNetworkPoliciesEnabled, 0.6)],
    },
    Signal {
        id: "pls_az_flag_enables",
        pattern: r"(?i)--disable-private-link-service-network-policies[ =]+false\b|--private-link-service-network-policies[ =]+enabled\b",
        scores: &[(PlsNetworkPoliciesEnabled, 0.6)],
    },
    Signal {
        id: "pls_property_enabled",
        pattern: r#"(?i)privateLinkServiceNetworkPolicies(?:Flag)?["']?\s*[:=]\s*["']?Enabled"#,
        scores: &[(PlsNetworkPoliciesEnabled, 0.9)],
    },
    Signal {
        id: "pls_terraform_enabled",
        pattern: r"(?i)\bprivate_link_service_network_policies_enabled\s*=\s*(?:\S+\s*->\s*)?true\b|\benforce_private_link_service_network_policies\s*=\s*(?:\S+\s*->\s*)?false\b",
        scores: &[(PlsNetworkPoliciesEnabled, 0.85)],
    },
    // --- F7–F9: permissions. ---
    Signal {
        id: "update_tags_404_pls_nic",
        pattern: r"(?i)InterfacesClient#UpdateTags: Failure responding to request: StatusCode=404",
        scores: &[(NetworkingPermissionsMissing, 0.85)],
    },
    Signal {
        id: "pls_nic_not_found",
        pattern: r"(?i)networkInterfaces/aibpls[a-z0-9]*\.nic\.[0-9a-f-]+'? under resource group '?IT_[^\s']*'? was not found",
        scores: &[(NetworkingPermissionsMissing, 0.8)],
    },
    Signal {
        id: "denied_network_action",
        pattern: r"(?i)does not have authorization to perform action 'Microsoft\.Network/virtualNetworks/(?:subnets/join/action|read|subnets/read)'",
        scores: &[
            (NetworkingPermissionsMissing, 0.85),
            (IdentityNotAuthorized, 0.4),
        ],
    },
    Signal {
        id: "denied_proxy_disk_write",
        pattern: r"(?i)does not have authorization to perform action 'Microsoft\.Compute/disks/write' over scope '[^']*proxyVmDisk",
        scores: &[(AibServicePrincipalNotContributor, 0.9)],
    },
    Signal {
        id: "denied_action_generic",
        pattern: r"(?i)does not have authorization to perform action",
        scores: &[
            (IdentityNotAuthorized, 0.5),
            (AibServicePrincipalNotContributor, 0.2),
        ],
    },
    Signal {
        id: "identity_not_authorized",
        pattern: r"(?i)Not authorized to access the resource",
        scores: &[(IdentityNotAuthorized, 0.9)],
    },
    // --- F10. ---
    Signal {
        id: "policy_disallowed",
        pattern: r"(?i)RequestDisallowedByPolicy|disallowed by policy",
        scores: &[(AzurePolicyDenied, 0.9)],
    },
    Signal {
        id: "policy_violation",
        pattern: r"(?i)The template deployment failed because of policy violation",
        scores: &[(AzurePolicyDenied, 0.85)],
    },
    Signal {
        id: "no_customizer_script",
        pattern: r"NoCustomizerScript|(?i:Image template is not provisioned; cannot get packer logs)",
        scores: &[(AzurePolicyDenied, 0.5)],
    },
    // --- F11. ---
    Signal {
        id: "aci_provider_not_registered",
        pattern: r"(?i)Azure Container Instances provider not registered|MissingSubscriptionRegistration[^\n]{0,200}Microsoft\.ContainerInstance",
        scores: &[(AciPrerequisitesMissing, 0.9)],
    },
    Signal {
        id: "aci_quota",
        pattern: r"(?i)Azure Container Instances quota exceeded|Too many Azure Container Instances deployed",
        scores: &[(AciPrerequisitesMissing, 0.9)],
    },
    // --- F12. ---
    Signal {
        id: "external_file_download_failed",
        pattern: r"(?i)Downloading external file \([^\n]{0,400}\) to local file \([^\n]{0,200}failed: Error downloading",
        scores: &[(ArtifactDownloadFailed, 0.9)],
    },
    Signal {
        id: "internal_error_generic",
        pattern: r"(?i)Internal error occurred\. This is a generic error",
        scores: &[(ArtifactDownloadFailed, 0.4)],
    },
    // --- Storage answers that name their cause (issue 20 item 6). ---
    Signal {
        id: "storage_public_access_not_permitted",
        pattern: r"PublicAccessNotPermitted|(?i:Public access is not permitted on this storage account)",
        scores: &[(StoragePublicAccessDisabled, 0.85)],
    },
    Signal {
        id: "storage_firewall_authorization_failure",
        pattern: r"AuthorizationFailure|AuthorizationSourceIPMismatch",
        scores: &[(StorageFirewallBlocked, 0.85)],
    },
    Signal {
        id: "storage_rbac_permission_mismatch",
        pattern: r"AuthorizationPermissionMismatch|(?i:not authorized to perform this operation using this permission)",
        scores: &[(IdentityNotAuthorized, 0.8)],
    },
    // --- A download the server answered: not a reachability problem. ---
    Signal {
        id: "download_http_answer",
        pattern: r"(?i)WebCmdletWebResponseException|curl: \(22\) The requested URL returned error: 4\d\d|\bERROR 4\d\d: |\(40[34]\) (?:Not Found|Forbidden)|Signature not valid in the specified time frame|\bBlobNotFound\b",
        scores: &[(DownloadHttpError, 0.7)],
    },
    // --- F13. ---
    Signal {
        id: "packerizer_failed",
        pattern: r"(?i)Failed while waiting for packerizer: Microservice has failed|Packer build command has failed",
        scores: &[(PackerBuildFailed, 0.9)],
    },
    // --- F14: build VM egress and DNS. ---
    Signal {
        id: "microservice_timeout",
        pattern: r"(?i)Timeout waiting for microservice to complete",
        scores: &[(BuildVmEgressBlocked, 0.45), (BuildVmDnsFailing, 0.2)],
    },
    Signal {
        id: "dns_resolution_failed",
        pattern: r"(?i)Temporary failure resolving|Could not resolve host|Couldn't resolve host|Could not resolve '|Name or service not known|getaddrinfo[^\n]{0,40}failed|No such host is known|The remote name could not be resolved",
        scores: &[(BuildVmDnsFailing, 0.8), (BuildVmEgressBlocked, 0.3)],
    },
    Signal {
        id: "windows_update_name_not_resolved",
        pattern: r"(?i)0x8024402C|0x80072EE7",
        scores: &[(BuildVmDnsFailing, 0.7), (BuildVmEgressBlocked, 0.3)],
    },
    Signal {
        id: "egress_connect_failed",
        pattern: r"(?i)Could not connect to [^\s:]+:\d+[^\n]{0,80}(?:connection timed out|timed out|Connection refused)|Failed to connect to \S+ port \d+|Unable to connect to the remote server|Curl error \((?:7|28)\)|Cannot find a valid baseurl for repo|Failed to download metadata for repo|Max retries exceeded with url|Unable to connect to [a-z0-9.\-]+:(?:http|https|\d+)",
        scores: &[(BuildVmEgressBlocked, 0.75)],
    },
    Signal {
        id: "apt_failed_to_fetch",
        pattern: r"(?i)Failed to fetch https?://",
        scores: &[(BuildVmEgressBlocked, 0.45), (BuildVmDnsFailing, 0.2)],
    },
    Signal {
        id: "windows_update_unreachable",
        pattern: r"(?i)0x80072EE2|0x80072EFD|0x8024401C|0x80072F8F",
        scores: &[(BuildVmEgressBlocked, 0.7)],
    },
    // --- F15. ---
    Signal {
        id: "remote_command_no_exit_status",
        pattern: r"(?i)Remote command exited without exit status or exit signal",
        scores: &[(BuildSessionInterrupted, 0.75)],
    },
    Signal {
        id: "communicator_ended_2300218",
        pattern: r"(?i)Communicator ended with: 2300218",
        scores: &[(BuildSessionInterrupted, 0.75)],
    },
    Signal {
        id: "builder_cancelled",
        pattern: r"(?i)Cancelling builder after context cancellation",
        scores: &[(BuildSessionInterrupted, 0.4)],
    },
    Signal {
        id: "build_vm_session_reset",
        pattern: r"(?i)read tcp [0-9.]+:\d+->[0-9.]+:(?:22|5986): read: connection reset by peer",
        scores: &[(BuildSessionInterrupted, 0.5)],
    },
    // --- F16. ---
    Signal {
        id: "winrm_with_cis_image",
        pattern: r"(?is)Timeout waiting for WinRM.{0,2000}\b(?:CIS|hardened)\b|\b(?:CIS|hardened)\b.{0,2000}Timeout waiting for WinRM",
        scores: &[(WinrmBrokenByHardening, 0.6)],
    },
    // --- F17. ---
    Signal {
        id: "machine_not_yet_available_1115",
        pattern: r"(?i)Machine not yet available \(exit status 1115\)",
        scores: &[(BuildVmResourceExhaustion, 0.85)],
    },
    Signal {
        id: "timeout_waiting_for_restart",
        pattern: r"(?i)Timeout waiting for machine to restart",
        scores: &[(BuildVmResourceExhaustion, 0.8)],
    },
    Signal {
        id: "azure_arm_unexpected_eof",
        pattern: r"(?i)Build 'azure-arm' errored: unexpected EOF",
        scores: &[
            (BuildVmResourceExhaustion, 0.6),
            (BuildSessionInterrupted, 0.3),
        ],
    },
    // --- F18. ---
    Signal {
        id: "wait_for_completion_cancelled",
        pattern: r"(?i)Future#WaitForCompletion: context has been cancelled",
        scores: &[(AzureDeploymentTimeout, 0.85)],
    },
    // --- F19. ---
    Signal {
        id: "cleanup_in_use",
        pattern: r"NicInUseWithPrivateEndpoint|InUseNetworkSecurityGroupCannotBeDeleted|PublicIPAddressCannotBeDeleted",
        scores: &[(StagingCleanupBlocked, 0.8)],
    },
    // --- F20. ---
    Signal {
        id: "cross_region_reference",
        pattern: r"(?i)both resources are in the same region",
        scores: &[(VnetRegionMismatch, 0.7)],
    },
    Signal {
        id: "vnet_region_wording",
        pattern: r"(?i)(?:virtual network|vnet|subnet)[^\n]{0,120}(?:(?:different|another|not in the same|must be in the same) (?:region|location))",
        scores: &[(VnetRegionMismatch, 0.6)],
    },
    // --- F21. ---
    Signal {
        id: "subnet_is_full",
        pattern: r"SubnetIsFull|(?i:does not have enough capacity for \d+ IP address)",
        scores: &[(SubnetTooSmall, 0.9)],
    },
    // --- F22. ---
    Signal {
        id: "kms_unreachable",
        pattern: r"(?i)0xC004F074|azkms\.core\.windows\.net|No Key Management Service \(KMS\) could be contacted",
        scores: &[(KmsActivationBlocked, 0.8)],
    },
    Signal {
        id: "activation_timeout",
        pattern: r"(?is)0x800705B4.{0,300}(?:activat|slmgr|\bKMS\b)|(?:activat|slmgr|\bKMS\b).{0,300}0x800705B4",
        scores: &[(KmsActivationBlocked, 0.8)],
    },
    Signal {
        id: "timeout_hresult",
        pattern: r"(?i)0x800705B4",
        scores: &[(KmsActivationBlocked, 0.35), (BuildVmEgressBlocked, 0.3)],
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_class_has_a_signal_and_a_complete_description() {
        for class in ALL {
            let info = class.info();
            assert!(
                SIGNALS
                    .iter()
                    .any(|s| s.scores.iter().any(|(c, _)| *c == class)),
                "{class} has no signal"
            );
            assert!(info.reference.is_some_and(|r| r.starts_with('F')));
            assert!(!info.explanation.is_empty() && !info.fix_text().is_empty());
            assert!(!info.keywords.is_empty());
            assert_eq!(info.hop.is_none(), info.kind == Kind::Umbrella, "{class}");
        }
    }

    #[test]
    fn signal_ids_are_unique_and_weights_in_range() {
        let mut seen = HashSet::new();
        for s in SIGNALS {
            assert!(seen.insert(s.id), "duplicate signal id {}", s.id);
            assert!(
                regex::Regex::new(s.pattern).is_ok(),
                "{} does not compile",
                s.id
            );
            for (_, w) in s.scores {
                assert!(*w > 0.0 && *w < 1.0, "{}: weight {w}", s.id);
            }
        }
    }

    #[test]
    fn network_is_where_the_fix_is() {
        // SPEC.md §4.2 of captures/errors/logs: the fix is in the network's
        // configuration and flow logs or captures can show it.
        let network: Vec<Class> = ALL
            .into_iter()
            .chain(BUILD_CLASSES)
            .filter(|c| c.network())
            .collect();
        assert_eq!(
            network,
            [
                ProxyCommandChannelBlocked,
                HealthProbeBlocked,
                ProxyToBuildVmBlocked,
                AciToBuildVmBlocked,
                AciEgressBlocked,
                PlsNetworkPoliciesEnabled,
                BuildVmDnsFailing,
                BuildVmEgressBlocked,
                BuildSessionInterrupted,
                VnetRegionMismatch,
                SubnetTooSmall,
                KmsActivationBlocked,
                PackerRunDirectly,
            ]
        );
    }

    #[test]
    fn build_classes_are_outside_the_table_and_no_hop() {
        let mut names = HashSet::new();
        for class in ALL.into_iter().chain(BUILD_CLASSES) {
            assert!(names.insert(class.as_str()), "{class} named twice");
        }
        for class in BUILD_CLASSES {
            let info = class.info();
            assert_eq!(info.reference, None, "{class}");
            assert_eq!(info.hop, None, "{class}");
            assert!(matches!(info.kind, Kind::Build | Kind::Runner), "{class}");
            assert!(info.finding_ids.is_empty(), "{class}");
            assert!(!info.explanation.is_empty() && !info.fix_text().is_empty());
            assert!(!info.keywords.is_empty());
        }
    }

    #[test]
    fn non_network_classes_sit_on_the_deployment_hop_without_traffic_findings() {
        for class in ALL {
            let info = class.info();
            if info.kind == Kind::Deployment {
                assert_eq!(info.hop, Some(Hop::Deployment), "{class}");
                assert!(info.finding_ids.is_empty(), "{class}");
            }
        }
    }
}

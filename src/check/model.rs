//! What `check` knows about a configuration after reading it: the image
//! template, NSGs and their rules, subnets, VNETs and route tables. Plain owned
//! values, built by [`super::read`] from whatever shape `az`, ARM or
//! PowerShell printed.

use super::addr::Ipv4Net;
use serde::Serialize;
use std::net::Ipv4Addr;

pub(crate) use crate::resource_id::{ResourceId, is_placeholder};

use crate::aib::Os;

/// The AIB image template, reduced to what networking depends on.
#[derive(Debug, Clone, Default)]
pub struct Template {
    /// Template name, if known.
    pub name: Option<String>,
    /// `location` (may be a placeholder).
    pub location: Option<String>,
    /// `apiVersion`, if the input carried it.
    pub api_version: Option<String>,
    /// `vmProfile.vnetConfig.subnetId` (or the 2019 name form).
    pub subnet: Option<ResourceId>,
    /// `vmProfile.vnetConfig.containerInstanceSubnetId`.
    pub aci_subnet: Option<ResourceId>,
    /// `vmProfile.vnetConfig.proxyVmSize` (non-empty values only).
    pub proxy_vm_size: Option<String>,
    /// `vmProfile.vmSize`.
    pub vm_size: Option<String>,
    /// The OS, if the source image or the customizers tell it.
    pub os: Option<Os>,
    /// Why `os` was chosen.
    pub os_evidence: Option<String>,
    /// The 2019-05-01-preview `vnetConfig` form (name/subnetName/resourceGroupName).
    pub legacy_vnet_config: bool,
    /// Placeholders and unresolved ARM expressions met in the fields above.
    pub placeholders: Vec<String>,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Access {
    /// The rule allows the flow.
    Allow,
    /// The rule denies the flow.
    Deny,
}

impl Access {
    /// `Allow` / `Deny`, as Azure writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Allow => "Allow",
            Access::Deny => "Deny",
        }
    }
}

/// Inbound or outbound, as seen by the NIC or subnet the NSG sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Direction {
    /// Traffic arriving at the NIC / subnet.
    Inbound,
    /// Traffic leaving the NIC / subnet.
    Outbound,
}

impl Direction {
    /// `Inbound` / `Outbound`, as Azure writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "Inbound",
            Direction::Outbound => "Outbound",
        }
    }
}

/// A flow's transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// `Tcp` / `Udp`, as Azure writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "Tcp",
            Proto::Udp => "Udp",
        }
    }
}

impl From<Proto> for crate::az::Protocol {
    fn from(p: Proto) -> Self {
        match p {
            Proto::Tcp => crate::az::Protocol::Tcp,
            Proto::Udp => crate::az::Protocol::Udp,
        }
    }
}

/// A rule's `protocol`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleProto {
    /// `*`, `Any`, `All` (effective rules).
    Any,
    /// `Tcp`.
    Tcp,
    /// `Udp`.
    Udp,
    /// `Icmp`, `Esp`, `Ah`: never match the TCP/UDP flows AIB needs.
    Other(String),
    /// A value `check` does not know.
    Invalid(String),
}

/// One entry of a rule's source or destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrItem {
    /// `*`, `0.0.0.0/0`, `Any`.
    Any,
    /// A CIDR prefix or single address.
    Net(Ipv4Net),
    /// A service tag (`VirtualNetwork`, `AzureLoadBalancer`, `Internet`,
    /// `Storage.WestEurope` ...), with the prefixes it stands for when the
    /// input expanded it (`az network nic list-effective-nsg`).
    Tag {
        /// The tag as written.
        name: String,
        /// IPv4 prefixes from `expanded*AddressPrefix`, if given.
        expanded: Option<Vec<Ipv4Net>>,
    },
    /// An application security group (by id): membership is not in the input.
    Asg(String),
    /// An IPv6 prefix: never matches the IPv4 flows AIB uses.
    Ipv6(String),
    /// Something `check` cannot read.
    Invalid(String),
}

/// One entry of a rule's port list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortItem {
    /// `*` or `0-65535`.
    Any,
    /// An inclusive range (a single port is `p-p`).
    Range(u16, u16),
}

/// One NSG security rule (custom or default), in the form the evaluator uses.
#[derive(Debug, Clone)]
pub struct SecurityRule {
    /// Rule name (without the `securityRules/` prefix effective rules carry).
    pub name: String,
    /// Priority: lower numbers are evaluated first.
    pub priority: u32,
    /// Inbound or outbound.
    pub direction: Direction,
    /// Allow or deny; `None` if the input's value was unreadable.
    pub access: Option<Access>,
    /// Protocol.
    pub protocol: RuleProto,
    /// Sources (prefixes, tags and ASGs together: the rule matches any of them).
    pub sources: Vec<AddrItem>,
    /// Destinations.
    pub destinations: Vec<AddrItem>,
    /// Source ports; `Err(text)` if unreadable.
    pub source_ports: Result<Vec<PortItem>, String>,
    /// Destination ports; `Err(text)` if unreadable.
    pub destination_ports: Result<Vec<PortItem>, String>,
    /// One of Azure's default rules (priority 65000+).
    pub default: bool,
}

/// Where an NSG came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsgOrigin {
    /// `az network nsg show`, the REST API or an ARM template/export.
    Definition,
    /// `az network nic list-effective-nsg`: rules with expanded prefixes,
    /// associated with a subnet or a NIC.
    Effective {
        /// The NIC the output was taken for, when the association names one.
        nic: Option<ResourceId>,
        /// The subnet the NSG is associated with, when the association names one.
        subnet: Option<ResourceId>,
    },
}

/// A network security group.
#[derive(Debug, Clone)]
pub struct Nsg {
    /// NSG name (from `name`, or the last part of its id).
    pub name: String,
    /// Resource id, if known.
    pub id: Option<ResourceId>,
    /// Resource group, if known (`resourceGroup` or from the id).
    pub resource_group: Option<String>,
    /// Custom rules.
    pub rules: Vec<SecurityRule>,
    /// Default rules as the input listed them; empty → Azure's six defaults apply.
    pub default_rules: Vec<SecurityRule>,
    /// Subnets the NSG is associated with (`subnets[].id`).
    pub subnets: Vec<ResourceId>,
    /// NICs the NSG is associated with (`networkInterfaces[].id`).
    pub nics: Vec<ResourceId>,
    /// Where it came from.
    pub origin: NsgOrigin,
}

/// A subnet.
#[derive(Debug, Clone, Default)]
pub struct Subnet {
    /// Subnet name.
    pub name: String,
    /// Resource id, if known.
    pub id: Option<ResourceId>,
    /// VNET name, if known (from the id or the VNET that listed it).
    pub vnet: Option<String>,
    /// Resource group, if known.
    pub resource_group: Option<String>,
    /// `addressPrefix` / `addressPrefixes` (IPv4 only).
    pub prefixes: Vec<Ipv4Net>,
    /// `privateLinkServiceNetworkPolicies` (`Enabled` / `Disabled`).
    pub pls_policies: Option<String>,
    /// `delegations[].serviceName`.
    pub delegations: Vec<String>,
    /// `networkSecurityGroup.id`; `None` means the subnet has no NSG.
    pub nsg: Option<ResourceId>,
    /// `routeTable.id`.
    pub route_table: Option<ResourceId>,
    /// `natGateway.id`.
    pub nat_gateway: Option<ResourceId>,
    /// `defaultOutboundAccess` (`false` = private subnet).
    pub default_outbound_access: Option<bool>,
    /// How many `ipConfigurations` use addresses of the subnet, if listed.
    pub ip_configurations: Option<usize>,
}

/// A virtual network.
#[derive(Debug, Clone, Default)]
pub struct Vnet {
    /// VNET name.
    pub name: String,
    /// Resource id, if known.
    pub id: Option<ResourceId>,
    /// Region.
    pub location: Option<String>,
    /// `addressSpace.addressPrefixes` (IPv4 only).
    pub address_space: Vec<Ipv4Net>,
    /// Address spaces of peered VNETs (`virtualNetworkPeerings[].remoteAddressSpace`).
    pub peer_spaces: Vec<Ipv4Net>,
    /// `dhcpOptions.dnsServers`; empty = Azure-provided DNS (168.63.129.16).
    pub dns_servers: Vec<Ipv4Addr>,
}

/// One user-defined route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Route name.
    pub name: String,
    /// `addressPrefix` as written (may be a service tag).
    pub prefix_text: String,
    /// `addressPrefix` as a prefix, when it is one.
    pub prefix: Option<Ipv4Net>,
    /// `nextHopType`: `VirtualAppliance`, `Internet`, `None`, `VnetLocal`, `VirtualNetworkGateway`.
    pub next_hop_type: String,
    /// `nextHopIpAddress`.
    pub next_hop_ip: Option<String>,
}

/// A route table.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    /// Route table name.
    pub name: String,
    /// Resource id, if known.
    pub id: Option<ResourceId>,
    /// Resource group, if known.
    pub resource_group: Option<String>,
    /// Routes.
    pub routes: Vec<Route>,
    /// Subnets it is associated with (`subnets[].id`).
    pub subnets: Vec<ResourceId>,
}

impl RouteTable {
    /// The route for 0.0.0.0/0, if any.
    pub fn default_route(&self) -> Option<&Route> {
        self.routes
            .iter()
            .find(|r| r.prefix.is_some_and(|p| p.is_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids() {
        let id = ResourceId::parse(
            "/subscriptions/s1/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/v1/subnets/build",
        );
        assert_eq!(id.subscription.as_deref(), Some("s1"));
        assert_eq!(id.resource_group.as_deref(), Some("RG"));
        assert_eq!(id.get("virtualnetworks"), Some("v1"));
        assert_eq!(id.name(), Some("build"));
        let other = ResourceId::parse(
            "/subscriptions/S1/resourcegroups/rg/providers/Microsoft.Network/virtualNetworks/V1/subnets/BUILD",
        );
        assert!(id.same_as(&other));
        let legacy = ResourceId::subnet(Some("rg"), "v1", "build");
        assert!(
            legacy.same_as(&id),
            "no subscription on one side: not compared"
        );
        let other_subnet = ResourceId::subnet(Some("rg"), "v1", "aci");
        assert!(!other_subnet.same_as(&id));
    }

    #[test]
    fn placeholders_never_match() {
        let tpl = ResourceId::parse(
            "/subscriptions/<subscriptionID>/resourceGroups/<vnetRgName>/providers/Microsoft.Network/virtualNetworks/<vnetName>/subnets/<subnetName>",
        );
        assert_eq!(tpl.placeholders().len(), 4);
        assert!(!tpl.same_as(&tpl.clone()));
        assert!(is_placeholder("[parameters('svclocation')]"));
        assert!(!is_placeholder("westus2"));
    }
}

//! `az` command lines: the one writer of every Azure CLI command a finding's
//! fix or `explain`'s collection plan prints, so that a command is spelled in
//! one place.
//!
//! Each builder is a struct whose fields are the command's values and whose
//! `Display` writes the line. Values are written as given: a caller passes a
//! name from the evidence through [`quote`] when the shell must not see it
//! bare, and a placeholder (`<NSG_NAME>`, `{NSG_RG}`) as it is. Where the
//! commands of `diagnose`, `check` and `explain` differ today (which flags they
//! give, which names they quote), the difference is a field the caller sets,
//! so each output stays as it was and the choice is visible at the call.

use crate::aib::{BUILD_PORT_LINUX, BUILD_PORT_WINDOWS, PROXY_PORT_LINUX, PROXY_PORT_WINDOWS};
use std::borrow::Cow;
use std::fmt;

/// Quote a value for a POSIX shell when it needs it (`*`, spaces, `$`, …):
/// letters, digits and `-_./:,` stay bare; anything else goes in single
/// quotes, a single quote inside written `'\''`, so a name read from the
/// evidence is one word of a pasted command, never more.
pub fn quote(s: &str) -> Cow<'_, str> {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:,".contains(c))
    {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("'{}'", s.replace('\'', "'\\''")))
    }
}

/// Whether a value is a placeholder for the reader to fill in (`<nsg-name>`,
/// `{NSG_RG}`), written as it is.
pub fn is_placeholder(s: &str) -> bool {
    (s.starts_with('<') && s.ends_with('>')) || (s.starts_with('{') && s.ends_with('}'))
}

/// A command argument: a placeholder as it is, any other value through
/// [`quote`].
pub fn arg(s: &str) -> Cow<'_, str> {
    if is_placeholder(s) {
        Cow::Borrowed(s)
    } else {
        quote(s)
    }
}

/// A port or an inclusive range of ports, as NSG rules write them (`22`,
/// `60000-60001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// The first port.
    pub first: u16,
    /// The last port (equal to `first` for one port).
    pub last: u16,
}

impl PortRange {
    /// One port.
    pub const fn one(port: u16) -> PortRange {
        PortRange {
            first: port,
            last: port,
        }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// The proxy VM's command ports, both OSes (`60000-60001`).
pub const PROXY_PORTS: PortRange = PortRange {
    first: PROXY_PORT_WINDOWS,
    last: PROXY_PORT_LINUX,
};

/// The build VM's SSH and WinRM ports (`22 5986`).
pub const BUILD_PORTS: [PortRange; 2] = [
    PortRange::one(BUILD_PORT_LINUX),
    PortRange::one(BUILD_PORT_WINDOWS),
];

/// Ports joined by `sep` (a space on `az` command lines, `;` in packet
/// capture filters).
pub fn join_ports(ports: &[PortRange], sep: &str) -> String {
    ports
        .iter()
        .map(PortRange::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

/// The protocol of an NSG rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `Tcp`.
    Tcp,
    /// `Udp`.
    Udp,
    /// `*` (written quoted, for the shell).
    Any,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "Tcp",
            Protocol::Udp => "Udp",
            Protocol::Any => "'*'",
        })
    }
}

/// ` --subscription S`, or nothing.
fn subscription(s: Option<&str>) -> String {
    s.map(|s| format!(" --subscription {s}"))
        .unwrap_or_default()
}

/// `az network nsg rule create`: an allow rule.
#[derive(Debug, Clone, Copy)]
pub struct NsgAllow<'a> {
    /// The NSG's resource group.
    pub resource_group: &'a str,
    /// The NSG.
    pub nsg: &'a str,
    /// The new rule's name.
    pub name: &'a str,
    /// Its priority: a number, or a placeholder.
    pub priority: &'a str,
    /// `Inbound` / `Outbound`.
    pub direction: &'a str,
    /// The protocol.
    pub protocol: Protocol,
    /// Source prefixes or service tags, space-separated.
    pub sources: &'a str,
    /// `--source-port-ranges`, when given (`check` gives `'*'`; the default
    /// is `*` too).
    pub source_ports: Option<&'a str>,
    /// Destination prefixes or service tags, space-separated.
    pub destinations: &'a str,
    /// Destination ports.
    pub ports: &'a [PortRange],
}

impl fmt::Display for NsgAllow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "az network nsg rule create --resource-group {} --nsg-name {} --name {} --priority {} \
             --direction {} --access Allow --protocol {} --source-address-prefixes {}",
            self.resource_group,
            self.nsg,
            self.name,
            self.priority,
            self.direction,
            self.protocol,
            self.sources
        )?;
        if let Some(p) = self.source_ports {
            write!(f, " --source-port-ranges {p}")?;
        }
        write!(
            f,
            " --destination-address-prefixes {} --destination-port-ranges {}",
            self.destinations,
            join_ports(self.ports, " ")
        )
    }
}

/// `az network nsg rule update --priority`: move a rule.
#[derive(Debug, Clone, Copy)]
pub struct NsgRulePriority<'a> {
    /// The NSG's resource group.
    pub resource_group: &'a str,
    /// The NSG.
    pub nsg: &'a str,
    /// The rule.
    pub name: &'a str,
    /// Its new priority.
    pub priority: u32,
}

impl fmt::Display for NsgRulePriority<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "az network nsg rule update --resource-group {} --nsg-name {} --name {} --priority {}",
            self.resource_group, self.nsg, self.name, self.priority
        )
    }
}

/// What a subnet update changes.
#[derive(Debug, Clone, Copy)]
pub enum SubnetChange<'a> {
    /// Disable the Private Link service network policies (current CLI).
    DisablePlsPolicies,
    /// The same with the flag of older CLI versions.
    DisablePlsPoliciesOldCli,
    /// Delegate the subnet to Azure Container Instances.
    DelegateToAci,
    /// Attach a NAT gateway.
    NatGateway(&'a str),
}

/// `az network vnet subnet update`.
#[derive(Debug, Clone, Copy)]
pub struct SubnetUpdate<'a> {
    /// The VNET's resource group.
    pub resource_group: &'a str,
    /// The VNET.
    pub vnet: &'a str,
    /// The subnet.
    pub subnet: &'a str,
    /// What to change.
    pub change: SubnetChange<'a>,
}

impl fmt::Display for SubnetUpdate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "az network vnet subnet update --resource-group {} --vnet-name {} --name {} ",
            self.resource_group, self.vnet, self.subnet
        )?;
        match self.change {
            SubnetChange::DisablePlsPolicies => {
                f.write_str("--private-link-service-network-policies Disabled")
            }
            SubnetChange::DisablePlsPoliciesOldCli => {
                f.write_str("--disable-private-link-service-network-policies true")
            }
            SubnetChange::DelegateToAci => {
                f.write_str("--delegations Microsoft.ContainerInstance/containerGroups")
            }
            SubnetChange::NatGateway(g) => write!(f, "--nat-gateway {g}"),
        }
    }
}

/// What a route command does.
#[derive(Debug, Clone, Copy)]
pub enum RouteChange<'a> {
    /// Create the route for `prefix` to `next_hop`.
    Create {
        /// The address prefix.
        prefix: &'a str,
        /// The next hop type.
        next_hop: &'a str,
    },
    /// Send the route to another next hop type.
    SetNextHop(&'a str),
    /// Delete the route.
    Delete,
}

/// `az network route-table route create|update|delete`.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    /// The route table's resource group.
    pub resource_group: &'a str,
    /// The route table.
    pub table: &'a str,
    /// The route.
    pub name: &'a str,
    /// What to do.
    pub change: RouteChange<'a>,
}

impl fmt::Display for Route<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.change {
            RouteChange::Create { .. } => "create",
            RouteChange::SetNextHop(_) => "update",
            RouteChange::Delete => "delete",
        };
        write!(
            f,
            "az network route-table route {verb} --resource-group {} --route-table-name {} --name {}",
            self.resource_group, self.table, self.name
        )?;
        match self.change {
            RouteChange::Create { prefix, next_hop } => {
                write!(f, " --address-prefix {prefix} --next-hop-type {next_hop}")
            }
            RouteChange::SetNextHop(hop) => write!(f, " --next-hop-type {hop}"),
            RouteChange::Delete => Ok(()),
        }
    }
}

/// `az role assignment create`.
#[derive(Debug, Clone, Copy)]
pub struct RoleAssignment<'a> {
    /// The principal (object id or app id).
    pub assignee: &'a str,
    /// The role, quoted by the caller when it has spaces.
    pub role: &'a str,
    /// The scope.
    pub scope: &'a str,
}

impl fmt::Display for RoleAssignment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "az role assignment create --assignee {} --role {} --scope {}",
            self.assignee, self.role, self.scope
        )
    }
}

/// `az provider register`.
#[derive(Debug, Clone, Copy)]
pub struct ProviderRegister<'a> {
    /// The resource provider namespace.
    pub namespace: &'a str,
}

impl fmt::Display for ProviderRegister<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "az provider register --namespace {}", self.namespace)
    }
}

/// `az image builder run`: rerun a build.
#[derive(Debug, Clone, Copy)]
pub struct ImageBuilderRun<'a> {
    /// The template's resource group.
    pub resource_group: &'a str,
    /// The template.
    pub template: &'a str,
    /// The subscription, when known.
    pub subscription: Option<&'a str>,
    /// Return at once instead of waiting for the build.
    pub no_wait: bool,
}

impl fmt::Display for ImageBuilderRun<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "az image builder run --resource-group {} --name {}{}",
            self.resource_group,
            self.template,
            subscription(self.subscription)
        )?;
        if self.no_wait {
            f.write_str(" --no-wait")?;
        }
        Ok(())
    }
}

/// `az image builder show`.
#[derive(Debug, Clone, Copy)]
pub struct ImageBuilderShow<'a> {
    /// The template's resource group.
    pub resource_group: &'a str,
    /// The template.
    pub template: &'a str,
    /// The subscription, when known.
    pub subscription: Option<&'a str>,
    /// `--query`, quoted by the caller when it needs it.
    pub query: Option<&'a str>,
    /// `--output`.
    pub output: Option<&'a str>,
    /// `-g`/`-n` instead of `--resource-group`/`--name` (how `diagnose`'s
    /// no-traffic finding writes it).
    pub short_flags: bool,
}

impl fmt::Display for ImageBuilderShow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (g, n) = if self.short_flags {
            ("-g", "-n")
        } else {
            ("--resource-group", "--name")
        };
        write!(
            f,
            "az image builder show {g} {} {n} {}{}",
            self.resource_group,
            self.template,
            subscription(self.subscription)
        )?;
        if let Some(q) = self.query {
            write!(f, " --query {q}")?;
        }
        if let Some(o) = self.output {
            write!(f, " --output {o}")?;
        }
        Ok(())
    }
}

/// The blob container of NSG flow logs.
pub const NSG_FLOW_CONTAINER: &str = "insights-logs-networksecuritygroupflowevent";
/// The blob container of VNet flow logs.
pub const VNET_FLOW_CONTAINER: &str = "insights-logs-flowlogflowevent";
/// The blob container Network Watcher writes packet captures to.
pub const CAPTURE_CONTAINER: &str = "network-watcher-logs";

/// The blob pattern of one NSG's flow logs for a time prefix
/// (`y=2024/m=05/d=14/h=09`): Azure writes the NSG's resource id in capitals.
/// `None` parts become `*`.
pub fn nsg_flow_log_pattern(
    subscription: Option<&str>,
    resource_group: Option<&str>,
    nsg: Option<&str>,
    time: &str,
) -> String {
    let star = |s: Option<&str>| s.unwrap_or("*").to_string();
    format!(
        "{}*",
        nsg_flow_log_folder(&star(subscription), &star(resource_group), &star(nsg), time)
    )
}

/// The blob folder of one NSG's flow logs for a time prefix
/// (`y=2024/m=05/d=14/h=09`), as Azure writes it (in capitals), ending in
/// `/`.
pub fn nsg_flow_log_folder(
    subscription: &str,
    resource_group: &str,
    nsg: &str,
    time: &str,
) -> String {
    format!(
        "resourceId=/SUBSCRIPTIONS/{}/RESOURCEGROUPS/{}/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/{}/{time}/",
        subscription.to_ascii_uppercase(),
        resource_group.to_ascii_uppercase(),
        nsg.to_ascii_uppercase(),
    )
}

/// The storage URL aibnet reads a container's folder by
/// (`az://CONTAINER/PREFIX`; the account is `AZURE_STORAGE_ACCOUNT_NAME`).
pub fn storage_url(container: &str, prefix: &str) -> String {
    format!("az://{container}/{prefix}")
}

/// The blob pattern of every VNet flow log for a time prefix: the path names
/// the flow-log resource, not the VNET.
pub fn vnet_flow_log_pattern(time: &str) -> String {
    format!("flowLogResourceID=/*/{time}/*")
}

/// `az storage blob download-batch`: flow logs or packet captures.
#[derive(Debug, Clone, Copy)]
pub struct BlobDownloadBatch<'a> {
    /// The storage account.
    pub account: &'a str,
    /// The container.
    pub container: &'a str,
    /// The local folder.
    pub destination: &'a str,
    /// The blob pattern (written single-quoted), or every blob.
    pub pattern: Option<&'a str>,
    /// The subscription, when known.
    pub subscription: Option<&'a str>,
}

impl fmt::Display for BlobDownloadBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "az storage blob download-batch --account-name {} --source {} --destination {}",
            self.account, self.container, self.destination
        )?;
        if let Some(p) = self.pattern {
            write!(f, " --pattern '{p}'")?;
        }
        write!(f, " --auth-mode login{}", subscription(self.subscription))
    }
}

/// Any of the commands, for tables of fixes (`explain`'s catalogue).
#[derive(Debug, Clone, Copy)]
pub enum Command<'a> {
    /// An NSG allow rule.
    NsgAllow(NsgAllow<'a>),
    /// A subnet update.
    SubnetUpdate(SubnetUpdate<'a>),
    /// A role assignment.
    RoleAssignment(RoleAssignment<'a>),
    /// A provider registration.
    ProviderRegister(ProviderRegister<'a>),
    /// A rerun of the build.
    ImageBuilderRun(ImageBuilderRun<'a>),
}

impl fmt::Display for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::NsgAllow(c) => c.fmt(f),
            Command::SubnetUpdate(c) => c.fmt(f),
            Command::RoleAssignment(c) => c.fmt(f),
            Command::ProviderRegister(c) => c.fmt(f),
            Command::ImageBuilderRun(c) => c.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    /// A name from the evidence is one shell word, whatever it holds.
    #[test]
    fn quoted_names_stay_one_word() {
        assert_eq!(super::quote("nsg-aib_1.x"), "nsg-aib_1.x");
        assert_eq!(super::quote("a b"), "'a b'");
        assert_eq!(super::quote("x'; rm -rf ~; '"), r"'x'\''; rm -rf ~; '\'''");
        assert_eq!(super::quote(""), "''");
        assert_eq!(super::arg("<nsg-name>"), "<nsg-name>");
        assert_eq!(super::arg("{NSG_RG}"), "{NSG_RG}");
        assert_eq!(super::arg("$(id)"), "'$(id)'");
    }

    use super::*;

    #[test]
    fn quotes_only_what_the_shell_would_read() {
        assert_eq!(quote("nsg-aib_1.x"), "nsg-aib_1.x");
        assert_eq!(quote("*"), "'*'");
        assert_eq!(quote("my nsg"), "'my nsg'");
        assert_eq!(quote("a;rm -rf"), "'a;rm -rf'");
    }

    #[test]
    fn nsg_allow_writes_every_flag_in_order() {
        let c = NsgAllow {
            resource_group: "rg",
            nsg: "n",
            name: "AllowX",
            priority: "990",
            direction: "Inbound",
            protocol: Protocol::Any,
            sources: "10.0.0.0/24",
            source_ports: Some("'*'"),
            destinations: "VirtualNetwork",
            ports: &[PROXY_PORTS, BUILD_PORTS[0], BUILD_PORTS[1]],
        };
        assert_eq!(
            c.to_string(),
            "az network nsg rule create --resource-group rg --nsg-name n --name AllowX --priority 990 \
             --direction Inbound --access Allow --protocol '*' --source-address-prefixes 10.0.0.0/24 \
             --source-port-ranges '*' --destination-address-prefixes VirtualNetwork \
             --destination-port-ranges 60000-60001 22 5986"
        );
        let c = NsgAllow {
            source_ports: None,
            protocol: Protocol::Tcp,
            ..c
        };
        assert!(c.to_string().contains(
            "--protocol Tcp --source-address-prefixes 10.0.0.0/24 --destination-address"
        ));
    }

    #[test]
    fn flow_log_patterns_and_download() {
        assert_eq!(
            nsg_flow_log_pattern(Some("s"), None, Some("nsg-a"), "y=2024/m=05/d=14/h=09"),
            "resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/*/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG-A/y=2024/m=05/d=14/h=09/*"
        );
        let d = BlobDownloadBatch {
            account: "st",
            container: VNET_FLOW_CONTAINER,
            destination: "./e",
            pattern: Some(&vnet_flow_log_pattern("y=2024")),
            subscription: Some("s1"),
        };
        assert_eq!(
            d.to_string(),
            "az storage blob download-batch --account-name st --source insights-logs-flowlogflowevent \
             --destination ./e --pattern 'flowLogResourceID=/*/y=2024/*' --auth-mode login --subscription s1"
        );
    }

    #[test]
    fn routes_and_subnets() {
        let r = Route {
            resource_group: "rg",
            table: "rt",
            name: "aib-local",
            change: RouteChange::Create {
                prefix: "10.0.0.4",
                next_hop: "VnetLocal",
            },
        };
        assert_eq!(
            r.to_string(),
            "az network route-table route create --resource-group rg --route-table-name rt --name aib-local \
             --address-prefix 10.0.0.4 --next-hop-type VnetLocal"
        );
        let r = Route {
            change: RouteChange::Delete,
            ..r
        };
        assert!(
            r.to_string().ends_with(
                "route delete --resource-group rg --route-table-name rt --name aib-local"
            )
        );
        let s = SubnetUpdate {
            resource_group: "rg",
            vnet: "v",
            subnet: "s",
            change: SubnetChange::NatGateway("<nat>"),
        };
        assert_eq!(
            s.to_string(),
            "az network vnet subnet update --resource-group rg --vnet-name v --name s --nat-gateway <nat>"
        );
    }
}

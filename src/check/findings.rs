//! Findings from the evaluated flows (the rule that blocks a hop, with the
//! `az` command that fixes it; rules that could not be evaluated) and from the
//! configuration itself (subnet policies, region, size, delegation, outbound).

use super::eval::StepVerdict;
use super::flows::{At, FlowRow, THROUGH_APPLIANCE, outbound_gap};
use super::model::*;
use super::scene::{NsgSlot, RouteSlot, Scene};
use crate::aib::TopologyKind;
use crate::aib::{AZURE_HOST_V4, FindingId, Hop, Severity};
use crate::az::{self, PortRange, Protocol, quote};
use crate::findings::Finding;
use std::collections::BTreeMap;

/// Addresses Azure keeps in every subnet (network, gateway, 2 DNS, broadcast).
pub const AZURE_RESERVED: u64 = 5;
/// Free addresses the proxy path needs: load balancer frontend, proxy VM,
/// Private Link Service NIC, build VM (§1.4).
pub const PROXY_PATH_ADDRESSES: u64 = 4;

fn rg_or_placeholder(rg: Option<&str>) -> String {
    match rg {
        Some(rg) if !is_placeholder(rg) => rg.to_string(),
        _ => "<resource-group>".to_string(),
    }
}

/// A priority for a new allow rule that wins over `floor`: below it, at least
/// 100, at most 4096, and not used by another rule of the NSG.
pub fn winning_priority(nsg: &Nsg, floor: u32, taken: &[u32]) -> Option<u32> {
    let used = |p: u32| taken.contains(&p) || nsg.rules.iter().any(|r| r.priority == p);
    let top = floor.saturating_sub(1).min(4096);
    if top < 100 {
        return None;
    }
    // A round number a little above the blocking rule reads better than floor-1.
    let start = if floor > 4096 {
        4000
    } else if floor >= 110 {
        floor - 10
    } else {
        top
    };
    (100..=start.min(top)).rev().find(|&p| !used(p))
}

fn unique_rule_name(nsg: &Nsg, base: &str) -> String {
    let taken = |n: &str| nsg.rules.iter().any(|r| r.name.eq_ignore_ascii_case(n));
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}{i}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| base.to_string())
}

fn prefix_or_vnet(subnet: Option<&Subnet>) -> String {
    subnet
        .and_then(|s| s.prefixes.first())
        .map(|p| p.to_string())
        .unwrap_or_else(|| "VirtualNetwork".to_string())
}

/// Source and destination prefixes for the fix rule of a hop.
fn fix_prefixes(hop: Hop, rows: &[&FlowRow], scene: &Scene) -> (String, String) {
    let build = prefix_or_vnet(scene.build_subnet);
    let aci = prefix_or_vnet(scene.aci_subnet);
    match hop {
        Hop::ProbeToProxy => ("AzureLoadBalancer".into(), build),
        Hop::AlbToProxy | Hop::ProxyToBuildVm => (build.clone(), build),
        Hop::AciToBuildVm => (aci, build),
        Hop::BuildVmEgress => (build, "Internet".into()),
        Hop::Deployment => (aci, "Internet".into()),
        Hop::BuildVmDns => {
            // Azure DNS is platform traffic: only a rule naming AzurePlatformDNS applies to it.
            let mut dst: Vec<String> = rows
                .iter()
                .map(|r| {
                    if r.dst.parse() == Ok(AZURE_HOST_V4) {
                        "AzurePlatformDNS".to_string()
                    } else {
                        r.dst.clone()
                    }
                })
                .collect();
            dst.dedup();
            (build, dst.join(" "))
        }
    }
}

fn rule_base_name(hop: Hop, dir: Direction) -> String {
    let stem = match hop {
        Hop::ProbeToProxy => "AllowAibProbeToProxy",
        Hop::AlbToProxy => "AllowAibPrivateLinkToProxy",
        Hop::ProxyToBuildVm => "AllowAibProxyToBuildVm",
        Hop::AciToBuildVm => "AllowAibAciToBuildVm",
        Hop::BuildVmEgress => "AllowAibEgress",
        Hop::BuildVmDns => "AllowAibDns",
        Hop::Deployment => "AllowAibAciEgress",
    };
    match (hop, dir) {
        (Hop::ProxyToBuildVm | Hop::AciToBuildVm, Direction::Inbound) => format!("{stem}In"),
        (Hop::ProxyToBuildVm | Hop::AciToBuildVm, Direction::Outbound) => format!("{stem}Out"),
        _ => stem.to_string(),
    }
}

/// The `az network nsg rule create` command that lets `rows` (one hop, one
/// NSG, one direction) through `nsg`, above every rule that denies them.
///
/// `taken` holds priorities already proposed by other fixes for this NSG; the
/// chosen one is added to it.
pub fn fix_command(
    nsg: &Nsg,
    hop: Hop,
    dir: Direction,
    rows: &[&FlowRow],
    scene: &Scene,
    taken: &mut Vec<u32>,
) -> String {
    let floor = rows
        .iter()
        .filter_map(|r| r.deny_floor.or(r.priority))
        .min()
        .unwrap_or(65500);
    let mut ports: Vec<u16> = rows.iter().map(|r| r.port).collect();
    ports.sort_unstable();
    ports.dedup();
    let ports: Vec<PortRange> = ports.into_iter().map(PortRange::one).collect();
    let protos: Vec<Proto> = rows.iter().map(|r| r.proto).collect();
    let protocol = match protos.split_first() {
        Some((first, rest)) if rest.iter().all(|p| p == first) => Protocol::from(*first),
        _ => Protocol::Any,
    };
    let (src, dst) = fix_prefixes(hop, rows, scene);
    let rg = rg_or_placeholder(nsg.resource_group.as_deref());
    match winning_priority(nsg, floor, taken) {
        Some(prio) => {
            taken.push(prio);
            az::NsgAllow {
                resource_group: &rg,
                nsg: &quote(&nsg.name),
                name: &unique_rule_name(nsg, &rule_base_name(hop, dir)),
                priority: &prio.to_string(),
                direction: dir.as_str(),
                protocol,
                sources: &src,
                source_ports: Some("'*'"),
                destinations: &dst,
                ports: &ports,
            }
            .to_string()
        }
        None => {
            let blocker = rows.iter().find_map(|r| r.rule.clone()).unwrap_or_default();
            format!(
                "# no free priority above {floor}: move the blocking rule down first, then add the allow rule\n{}",
                az::NsgRulePriority {
                    resource_group: &rg,
                    nsg: &quote(&nsg.name),
                    name: &quote(&blocker),
                    priority: 200,
                }
            )
        }
    }
}

fn hop_cause(hop: Hop) -> &'static str {
    match hop {
        Hop::ProbeToProxy => {
            "The load balancer's health probe (from 168.63.129.16) cannot reach the proxy VM, so the load balancer marks \
             it down and never forwards the build's command sessions: Packer times out waiting for SSH/WinRM."
        }
        Hop::AlbToProxy => {
            "The build's command channel reaches the proxy VM from the Private Link NAT IP, an address of the build subnet \
             (not from AzureLoadBalancer): a deny rule above AllowVnetInBound drops it and Packer times out waiting for SSH/WinRM."
        }
        Hop::ProxyToBuildVm => {
            "The proxy VM cannot open SSH (22) / WinRM (5986) to the build VM: the NSG must allow it outbound at the proxy \
             and inbound at the build VM."
        }
        Hop::AciToBuildVm => {
            "In isolated builds the container in the ACI subnet talks to the build VM directly on 22/5986; the ACI subnet \
             must allow it outbound and the build subnet inbound."
        }
        Hop::BuildVmEgress => {
            "Customization steps download packages, updates and files from the Internet (80/443, KMS 1688 for Windows); \
             blocked egress makes them fail or hang until the build times out."
        }
        Hop::BuildVmDns => {
            "The build VM cannot resolve names, so every download in the customization fails."
        }
        Hop::Deployment => {
            "The ACI container needs outbound 443 (container image) and 445 (Azure Files share) to start; without them the \
             build never reaches the Packer stage."
        }
    }
}

fn row_line(r: &FlowRow) -> String {
    format!(
        "{} ({} → {} {} {}{}) at {}: {}{}{}",
        r.flow,
        r.src,
        r.dst,
        r.proto.as_str(),
        r.port,
        r.direction
            .map(|d| format!(" {}", d.as_str()))
            .unwrap_or_default(),
        r.at.label(),
        r.verdict.as_str(),
        match (&r.nsg, &r.rule, r.priority) {
            (Some(n), Some(rule), Some(p)) => format!(" by {n} / {rule} (priority {p})"),
            (Some(n), Some(rule), None) => format!(" by {n} / {rule}"),
            (None, Some(rule), _) => format!(" {rule}"),
            (Some(n), None, _) => format!(" at {n}"),
            (None, None, _) => String::new(),
        },
        r.rule_text
            .as_deref()
            .map(|t| format!(" [{t}]"))
            .unwrap_or_default(),
    )
}

fn nsg_for<'a>(scene: &Scene<'a>, at: At) -> Option<&'a Nsg> {
    match at {
        At::BuildSubnet => match scene.build_nsg {
            NsgSlot::Known(n) => Some(n),
            _ => None,
        },
        At::AciSubnet => match scene.aci_nsg {
            NsgSlot::Known(n) => Some(n),
            _ => None,
        },
        At::ProxyNic => scene.proxy_nic_nsg,
        At::BuildVmNic => scene.build_nic_nsg,
        At::RouteTable | At::OutboundPath => None,
    }
}

/// Findings for denied and undecided flows.
pub fn flow_findings(rows: &[FlowRow], scene: &Scene) -> Vec<Finding> {
    let mut out = Vec::new();
    // Denies at an NSG: one finding per (hop, NSG place, direction, rule).
    let mut denied: BTreeMap<(Hop, u8, String, String, String), Vec<&FlowRow>> = BTreeMap::new();
    let mut unknown: BTreeMap<(String, String), Vec<&FlowRow>> = BTreeMap::new();
    let mut routes: BTreeMap<(String, String), Vec<&FlowRow>> = BTreeMap::new();
    let mut appliance: BTreeMap<(String, String), Vec<&FlowRow>> = BTreeMap::new();
    for r in rows {
        match (r.verdict, r.at) {
            (StepVerdict::Deny, At::RouteTable) => {
                let key = (
                    r.nsg.clone().unwrap_or_default(),
                    r.rule.clone().unwrap_or_default(),
                );
                routes.entry(key).or_default().push(r);
            }
            (StepVerdict::Deny, At::OutboundPath) => {} // reported as no_outbound_path
            (StepVerdict::Deny, at) => {
                let key = (
                    r.hop,
                    at as u8,
                    r.direction.map(|d| d.as_str()).unwrap_or("").to_string(),
                    r.nsg.clone().unwrap_or_default(),
                    r.rule.clone().unwrap_or_default(),
                );
                denied.entry(key).or_default().push(r);
            }
            (StepVerdict::Unknown, At::RouteTable) if appliance_between_vms(r, scene) => {
                let key = (
                    r.nsg.clone().unwrap_or_default(),
                    r.rule.clone().unwrap_or_default(),
                );
                appliance.entry(key).or_default().push(r);
            }
            (StepVerdict::Unknown, _) => {
                let key = (
                    r.nsg.clone().unwrap_or_default(),
                    r.rule.clone().unwrap_or_else(|| r.at.label().to_string()),
                );
                unknown.entry(key).or_default().push(r);
            }
            (StepVerdict::Allow, _) => {}
        }
    }
    let mut taken: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for ((hop, _, _, nsg_name, rule), group) in denied {
        let Some(&first) = group.first() else {
            continue;
        };
        let required = group.iter().any(|r| r.required);
        let dir = first.direction.unwrap_or(Direction::Inbound);
        let mut ports: Vec<String> = group
            .iter()
            .map(|r| format!("{} {}", r.proto.as_str(), r.port))
            .collect();
        ports.dedup();
        let title = format!(
            "NSG {nsg_name} rule {rule} (priority {}) denies {} {} {}",
            first.priority.map_or("?".to_string(), |p| p.to_string()),
            hop.label(),
            ports.join(", "),
            dir.as_str().to_ascii_lowercase()
        );
        let fix = match nsg_for(scene, first.at) {
            Some(nsg) => format!(
                "Add an allow rule above priority {}:\n{}",
                group
                    .iter()
                    .filter_map(|r| r.deny_floor.or(r.priority))
                    .min()
                    .unwrap_or(65500),
                fix_command(
                    nsg,
                    hop,
                    dir,
                    &group,
                    scene,
                    taken.entry(nsg.name.clone()).or_default()
                )
            ),
            None => "Add an allow rule above the deny rule in this NSG.".to_string(),
        };
        out.push(Finding {
            id: FindingId::NsgRuleBlocksHop,
            severity: if required {
                Severity::Error
            } else {
                Severity::Warning
            },
            hop,
            title,
            evidence: group.iter().map(|r| row_line(r)).collect(),
            cause: hop_cause(hop).to_string(),
            fix,
        });
    }
    for group in routes.values() {
        out.extend(route_finding(group, scene));
    }
    for group in appliance.values() {
        out.extend(appliance_finding(group, scene));
    }
    for ((nsg_name, rule), group) in unknown {
        let Some(&first) = group.first() else {
            continue;
        };
        let title = match (&first.rule, nsg_name.is_empty()) {
            (Some(_), _) => format!(
                "{}{rule}{} could not be evaluated for {} flow(s)",
                if nsg_name.is_empty() {
                    String::new()
                } else {
                    format!("{nsg_name} / ")
                },
                first
                    .priority
                    .map(|p| format!(" (priority {p})"))
                    .unwrap_or_default(),
                group.len()
            ),
            (None, false) => format!(
                "NSG {nsg_name} ({}) was not given: {} flow(s) not evaluated",
                first.at.label(),
                group.len()
            ),
            (None, true) => format!(
                "the {} NSG is not known: {} flow(s) not evaluated",
                first.at.label(),
                group.len()
            ),
        };
        let mut evidence: Vec<String> = group.iter().map(|r| row_line(r)).collect();
        if let Some(reason) = &first.reason {
            evidence.push(format!("why: {reason}"));
        }
        out.push(Finding {
            id: FindingId::RuleNotEvaluated,
            severity: Severity::Warning,
            hop: first.hop,
            title,
            evidence,
            cause: "The inputs do not say whether this step lets the flow through (see 'why'); the verdict is left \
                    unknown rather than guessed."
                .to_string(),
            fix: "Give what is missing: the NSG / subnet / route table JSON, `az network nic list-effective-nsg` output \
                  (expands service tags and application security groups), or the VM addresses with --proxy / --build-vm."
                .to_string(),
        });
    }
    out
}

/// The route table a route step names.
fn table_of<'a>(r: &FlowRow, scene: &Scene<'a>) -> Option<&'a RouteTable> {
    [&scene.build_routes, &scene.aci_routes]
        .into_iter()
        .find_map(|slot| match slot {
            RouteSlot::Known(t) if r.nsg.as_deref() == Some(&format!("route table {}", t.name)) => {
                Some(*t)
            }
            _ => None,
        })
}

/// Whether a hop's flows go to private addresses (the build VM, a DNS
/// server) rather than to the Internet, for which routes mean other things.
fn private_hop(hop: Hop) -> bool {
    !matches!(hop, Hop::BuildVmEgress | Hop::Deployment)
}

/// Whether an undecided route step is a route that takes traffic between
/// the build's machines (or to its DNS server) through an appliance.
fn appliance_between_vms(r: &FlowRow, scene: &Scene) -> bool {
    private_hop(r.hop)
        && table_of(r, scene).is_some_and(|t| {
            t.routes.iter().any(|x| {
                Some(&x.name) == r.rule.as_ref()
                    && x.next_hop_type.eq_ignore_ascii_case("VirtualAppliance")
            })
        })
        && r.reason
            .as_deref()
            .is_some_and(|w| w.contains(THROUGH_APPLIANCE))
}

/// A route sends the build's own traffic through a firewall: it works only
/// if the firewall allows it both ways.
fn appliance_finding(group: &[&FlowRow], scene: &Scene) -> Option<Finding> {
    let &r = group.first()?;
    let t = table_of(r, scene)?;
    let route = t.routes.iter().find(|x| Some(&x.name) == r.rule.as_ref())?;
    let rg = rg_or_placeholder(t.resource_group.as_deref());
    let flows: Vec<&str> = group.iter().map(|r| r.flow.as_str()).collect();
    let mut ports: Vec<String> = group
        .iter()
        .map(|r| format!("{} {}", r.proto.as_str(), r.port))
        .collect();
    ports.dedup();
    // Keep the destination's own prefix local: a longer route wins; at the
    // same prefix the route itself has to change.
    let table = quote(&t.name);
    let keep_local = if route.prefix_text == r.dst {
        az::Route {
            resource_group: &rg,
            table: &table,
            name: &quote(&route.name),
            change: az::RouteChange::SetNextHop("VnetLocal"),
        }
    } else {
        az::Route {
            resource_group: &rg,
            table: &table,
            name: "aib-local",
            change: az::RouteChange::Create {
                prefix: &r.dst,
                next_hop: "VnetLocal",
            },
        }
    };
    Some(Finding {
        id: FindingId::RuleNotEvaluated,
        severity: Severity::Warning,
        hop: r.hop,
        title: format!(
            "route table {} route {} ({}) takes {} traffic through a firewall: {}",
            t.name,
            route.name,
            r.rule_text.as_deref().unwrap_or("?"),
            r.hop.label(),
            flows.join(", ")
        ),
        evidence: group.iter().map(|r| row_line(r)).collect(),
        cause: format!(
            "{}. {}",
            r.reason
                .as_deref()
                .unwrap_or("The route sends the traffic to an appliance"),
            hop_cause(r.hop)
        ),
        fix: format!(
            "Allow {} from {} to {} on the firewall {}, replies included, or keep that traffic local:\n{keep_local}",
            ports.join(", "),
            r.src,
            r.dst,
            route.next_hop_ip.as_deref().unwrap_or("(the appliance)")
        ),
    })
}

fn route_finding(group: &[&FlowRow], scene: &Scene) -> Option<Finding> {
    let &r = group.first()?;
    let (table_rg, table_name) = match table_of(r, scene) {
        Some(t) => (t.resource_group.clone(), t.name.clone()),
        None => (None, r.nsg.clone().unwrap_or_default()),
    };
    let rg = rg_or_placeholder(table_rg.as_deref());
    let flows: Vec<&str> = group.iter().map(|r| r.flow.as_str()).collect();
    let severity = if group.iter().any(|r| r.required) {
        Severity::Error
    } else {
        Severity::Warning
    };
    if private_hop(r.hop) {
        // A route for an address of the VNET (or the DNS server) that drops
        // it: the route, not an NSG, is in the way.
        return Some(Finding {
            id: FindingId::RouteBlocksHop,
            severity,
            hop: r.hop,
            title: format!(
                "{} route {} ({}) drops {} traffic: {}",
                r.nsg.as_deref().unwrap_or("the route table"),
                r.rule.as_deref().unwrap_or("?"),
                r.rule_text.as_deref().unwrap_or("?"),
                r.hop.label(),
                flows.join(", ")
            ),
            evidence: group.iter().map(|r| row_line(r)).collect(),
            cause: format!(
                "{}. User routes override the system route that keeps traffic for the VNET's addresses inside it. {}",
                r.reason.as_deref().unwrap_or("The route drops the traffic"),
                hop_cause(r.hop)
            ),
            fix: format!(
                "Delete the route (or send its prefix to the firewall that allows this traffic):\n{}",
                az::Route {
                    resource_group: &rg,
                    table: &quote(&table_name),
                    name: &quote(r.rule.as_deref().unwrap_or("<route>")),
                    change: az::RouteChange::Delete,
                }
            ),
        });
    }
    Some(Finding {
        id: FindingId::BuildVmEgressBlocked,
        severity,
        hop: r.hop,
        title: format!(
            "{} route {} drops Internet-bound traffic: {}",
            r.nsg.as_deref().unwrap_or("the route table"),
            r.rule.as_deref().unwrap_or("?"),
            flows.join(", ")
        ),
        evidence: group.iter().map(|r| row_line(r)).collect(),
        cause: r.reason.clone().unwrap_or_default(),
        fix: format!(
            "Send 0.0.0.0/0 to a firewall that allows the build's egress, or to the Internet:\n{}",
            az::Route {
                resource_group: &rg,
                table: &quote(&table_name),
                name: &quote(r.rule.as_deref().unwrap_or("<route>")),
                change: az::RouteChange::SetNextHop("Internet"),
            }
        ),
    })
}

fn normalise_region(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Findings about the configuration itself.
pub fn config_findings(scene: &Scene, notes: &mut Vec<String>) -> Vec<Finding> {
    let mut out = Vec::new();
    let tpl = scene.template;
    let uses_proxy = scene.topology == TopologyKind::Proxy;

    if let Some(t) = tpl {
        if !t.placeholders.is_empty() {
            notes.push(format!(
                "template placeholders not filled in: {}",
                t.placeholders.join(", ")
            ));
        }
        if t.legacy_vnet_config {
            notes.push("template uses the 2019-05-01-preview vnetConfig form (name/subnetName/resourceGroupName), deprecated since 2020-02-14".into());
        }
        if let (Some(size), Some(aci)) = (&t.proxy_vm_size, &t.aci_subnet) {
            out.push(Finding {
                id: FindingId::ProxyVmSizeWithAci,
                severity: Severity::Error,
                hop: Hop::Deployment,
                title: "proxyVmSize is set together with containerInstanceSubnetId".into(),
                evidence: vec![
                    format!("vnetConfig.proxyVmSize: {size}"),
                    format!("vnetConfig.containerInstanceSubnetId: {aci}"),
                ],
                cause: "With containerInstanceSubnetId no proxy VM is deployed, and the API rejects a proxyVmSize.".into(),
                fix: "Remove vmProfile.vnetConfig.proxyVmSize from the template (or set it to \"\").".into(),
            });
        }
    }

    if let Some(s) = scene.build_subnet {
        if uses_proxy
            && s.pls_policies
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("Enabled"))
        {
            let rg = rg_or_placeholder(s.resource_group.as_deref());
            let vnet = s.vnet.clone().unwrap_or_else(|| "<vnet>".into());
            out.push(Finding {
                id: FindingId::PlsNetworkPoliciesEnabled,
                severity: Severity::Error,
                hop: Hop::Deployment,
                title: format!("privateLinkServiceNetworkPolicies is Enabled on the build subnet {}", s.name),
                evidence: vec![format!("subnet {}: privateLinkServiceNetworkPolicies = Enabled", s.name)],
                cause: "AIB puts a Private Link Service in the build subnet; Azure refuses to create it while the \
                        policies are enabled (PrivateLinkServiceCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled), \
                        so no proxy, load balancer or traffic ever appears."
                    .into(),
                fix: {
                    let update = |change| az::SubnetUpdate {
                        resource_group: &rg,
                        vnet: &vnet,
                        subnet: &s.name,
                        change,
                    };
                    format!(
                        "{}\n(older CLI: {})",
                        update(az::SubnetChange::DisablePlsPolicies),
                        update(az::SubnetChange::DisablePlsPoliciesOldCli)
                    )
                },
            });
        }
        check_size(
            s,
            if uses_proxy { PROXY_PATH_ADDRESSES } else { 1 },
            "build",
            &mut out,
        );
        if let Some(gap) = outbound_gap(s, &scene.build_routes) {
            out.push(no_outbound(s, gap, Hop::BuildVmEgress));
        }
    } else if scene.topology != TopologyKind::NoVnet {
        notes.push("build subnet not given: private link policies, size, route table and outbound path not checked (give `az network vnet subnet show` or `az network vnet show`)".into());
    }

    if scene.topology == TopologyKind::Isolated {
        match scene.aci_subnet {
            Some(a) => {
                if !a
                    .delegations
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case("Microsoft.ContainerInstance/containerGroups"))
                {
                    let rg = rg_or_placeholder(a.resource_group.as_deref());
                    out.push(Finding {
                        id: FindingId::AciSubnetNotDelegated,
                        severity: Severity::Error,
                        hop: Hop::Deployment,
                        title: format!("ACI subnet {} is not delegated to Microsoft.ContainerInstance/containerGroups", a.name),
                        evidence: vec![if a.delegations.is_empty() {
                            format!("subnet {}: no delegations", a.name)
                        } else {
                            format!("subnet {}: delegated to {}", a.name, a.delegations.join(", "))
                        }],
                        cause: "Isolated builds deploy an Azure Container Instance into containerInstanceSubnetId, which \
                                needs the subnet delegated to container groups."
                            .into(),
                        fix: az::SubnetUpdate {
                            resource_group: &rg,
                            vnet: a.vnet.as_deref().unwrap_or("<vnet>"),
                            subnet: &a.name,
                            change: az::SubnetChange::DelegateToAci,
                        }
                        .to_string(),
                    });
                }
                check_size(a, 1, "ACI", &mut out);
                if let Some(gap) = outbound_gap(a, &scene.aci_routes) {
                    out.push(no_outbound(a, gap, Hop::Deployment));
                }
            }
            None => {
                notes.push("ACI subnet not given: delegation and outbound path not checked".into())
            }
        }
        let same_id = match (
            tpl.and_then(|t| t.subnet.as_ref()),
            tpl.and_then(|t| t.aci_subnet.as_ref()),
        ) {
            (Some(b), Some(a)) => a.same_as(b),
            _ => false,
        };
        let overlap = match (scene.build_subnet, scene.aci_subnet) {
            (Some(b), Some(a)) => b.prefixes.iter().find_map(|bp| {
                a.prefixes
                    .iter()
                    .find(|ap| ap.overlaps(bp))
                    .map(|ap| format!("ACI subnet {ap} overlaps build subnet {bp}"))
            }),
            _ => None,
        };
        if same_id || overlap.is_some() {
            out.push(Finding {
                id: FindingId::AciSubnetInsideBuildSubnet,
                severity: Severity::Error,
                hop: Hop::Deployment,
                title: "The ACI subnet is the build subnet or overlaps it".into(),
                evidence: [same_id.then(|| "containerInstanceSubnetId names the same subnet as subnetId".to_string()), overlap]
                    .into_iter()
                    .flatten()
                    .collect(),
                cause: "containerInstanceSubnetId must be a different subnet of the same VNET, delegated to ACI.".into(),
                fix: "Create a separate subnet for ACI in the same VNET, delegate it to \
                      Microsoft.ContainerInstance/containerGroups and use its id as containerInstanceSubnetId."
                    .into(),
            });
        }
    }

    // Region: the VNET must be in the template's region.
    if let (Some(t), Some(v)) = (tpl, scene.vnet) {
        match (&t.location, &v.location) {
            (Some(tl), Some(vl))
                if !is_placeholder(tl)
                    && !is_placeholder(vl)
                    && normalise_region(tl) != normalise_region(vl) =>
            {
                out.push(Finding {
                        id: FindingId::VnetRegionMismatch,
                        severity: Severity::Error,
                        hop: Hop::Deployment,
                        title: format!("VNET {} is in {vl}, the image template in {tl}", v.name),
                        evidence: vec![format!("template location: {tl}"), format!("VNET {} location: {vl}", v.name)],
                        cause: "AIB deploys the build VM (and proxy) into the VNET from the template's region; the VNET \
                                must be in that region."
                            .into(),
                        fix: format!("Use a VNET/subnet in {tl}, or create the image template in {vl}."),
                    });
            }
            (Some(tl), _) if is_placeholder(tl) => notes.push(format!(
                "template location is a placeholder ({tl}): region not compared with the VNET"
            )),
            _ => {}
        }
    }
    out
}

fn check_size(s: &Subnet, needed: u64, which: &str, out: &mut Vec<Finding>) {
    let Some(prefix) = s.prefixes.first() else {
        return;
    };
    let total: u64 = s.prefixes.iter().map(|p| p.size()).sum();
    let reserved = AZURE_RESERVED * s.prefixes.len() as u64;
    let used = s.ip_configurations.unwrap_or(0) as u64;
    let free = total.saturating_sub(reserved).saturating_sub(used);
    if free >= needed {
        return;
    }
    out.push(Finding {
        id: FindingId::SubnetTooSmall,
        severity: Severity::Error,
        hop: Hop::Deployment,
        title: format!("{which} subnet {} ({prefix}) has {free} free addresses, the build needs {needed}", s.name),
        evidence: vec![
            format!("{total} addresses in {}", s.prefixes.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")),
            format!("{reserved} reserved by Azure"),
            match s.ip_configurations {
                Some(n) => format!("{n} in use (ipConfigurations)"),
                None => "addresses in use: not listed in the input (counted as 0)".to_string(),
            },
        ],
        cause: if needed == PROXY_PATH_ADDRESSES {
            "The proxy path needs 4 free addresses in the build subnet: load balancer frontend, proxy VM, Private Link \
             Service NIC and build VM."
                .into()
        } else {
            format!("The {which} subnet needs at least {needed} free address.")
        },
        fix: "Use a bigger subnet (a /28 or larger with enough free addresses) or free addresses in this one.".into(),
    });
}

fn no_outbound(s: &Subnet, gap: String, hop: Hop) -> Finding {
    let rg = rg_or_placeholder(s.resource_group.as_deref());
    Finding {
        id: FindingId::NoOutboundPath,
        severity: Severity::Error,
        hop,
        title: format!("subnet {} has no way out to the Internet", s.name),
        evidence: vec![
            gap,
            "defaultOutboundAccess: false".into(),
            "natGateway: none".into(),
        ],
        cause: "Private subnets (the default for VNETs created from 31 March 2026) have no default outbound access; \
                the build needs an explicit outbound method for its downloads."
            .into(),
        fix: format!(
            "Attach a NAT gateway (or route 0.0.0.0/0 to a firewall that allows the build's egress):\n{}",
            az::SubnetUpdate {
                resource_group: &rg,
                vnet: s.vnet.as_deref().unwrap_or("<vnet>"),
                subnet: &s.name,
                change: az::SubnetChange::NatGateway("<nat-gateway-name>"),
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nsg_with(prios: &[u32]) -> Nsg {
        Nsg {
            name: "n".into(),
            id: None,
            resource_group: None,
            rules: prios
                .iter()
                .map(|&p| SecurityRule {
                    name: format!("r{p}"),
                    priority: p,
                    direction: Direction::Inbound,
                    access: Some(Access::Deny),
                    protocol: RuleProto::Any,
                    sources: vec![AddrItem::Any],
                    destinations: vec![AddrItem::Any],
                    source_ports: Ok(vec![PortItem::Any]),
                    destination_ports: Ok(vec![PortItem::Any]),
                    default: false,
                })
                .collect(),
            default_rules: vec![],
            subnets: vec![],
            nics: vec![],
            origin: NsgOrigin::Definition,
        }
    }

    #[test]
    fn priorities_win_and_do_not_collide() {
        assert_eq!(winning_priority(&nsg_with(&[1000]), 1000, &[]), Some(990));
        assert_eq!(
            winning_priority(&nsg_with(&[990, 1000]), 1000, &[]),
            Some(989)
        );
        assert_eq!(winning_priority(&nsg_with(&[100]), 100, &[]), None);
        assert_eq!(winning_priority(&nsg_with(&[101]), 101, &[]), Some(100));
        assert_eq!(winning_priority(&nsg_with(&[]), 65500, &[]), Some(4000));
        assert_eq!(winning_priority(&nsg_with(&[4096]), 4096, &[]), Some(4086));
        assert_eq!(
            winning_priority(&nsg_with(&[1000]), 1000, &[990]),
            Some(989),
            "proposed by another fix"
        );
    }

    #[test]
    fn rule_names_do_not_collide() {
        let mut n = nsg_with(&[]);
        assert_eq!(unique_rule_name(&n, "AllowAibDns"), "AllowAibDns");
        n.rules = nsg_with(&[1]).rules;
        n.rules[0].name = "AllowAibDns".into();
        assert_eq!(unique_rule_name(&n, "AllowAibDns"), "AllowAibDns2");
    }
}

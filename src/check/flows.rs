//! The flows an AIB build needs (§5 of the reference) and their evaluation,
//! step by step along the path: NSGs in Azure's order (inbound: subnet NSG
//! then NIC NSG; outbound: NIC NSG then subnet NSG), then, for traffic to the
//! Internet, the route table and the subnet's outbound path.

use super::Options;
use super::addr::Ipv4Net;
use super::eval::{Endpoint, FlowSpec, NsgOutcome, Place, StepVerdict, evaluate_nsg};
use super::model::*;
use super::scene::{NsgSlot, RouteSlot, Scene};
use crate::aib::Hop;
use crate::aib::{AZURE_HOST_V4, DNS_PORT, KMS_PORT, Os, TopologyKind};
use serde::Serialize;

/// Where along the path a step is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum At {
    /// The NSG of the build subnet.
    BuildSubnet,
    /// The NSG of the ACI subnet.
    AciSubnet,
    /// The NSG on the proxy VM's NIC.
    ProxyNic,
    /// The NSG on the build VM's NIC.
    BuildVmNic,
    /// The route table of the source's subnet.
    RouteTable,
    /// The source subnet's way out to the Internet (NAT gateway, default outbound access).
    OutboundPath,
}

impl At {
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            At::BuildSubnet => "build subnet",
            At::AciSubnet => "ACI subnet",
            At::ProxyNic => "proxy NIC",
            At::BuildVmNic => "build VM NIC",
            At::RouteTable => "route table",
            At::OutboundPath => "outbound path",
        }
    }
}

/// One row of the flow table: one required flow at one step of its path.
#[derive(Debug, Clone, Serialize)]
pub struct FlowRow {
    /// The hop the flow belongs to.
    pub hop: Hop,
    /// What the flow is, e.g. "168.63.129.16 → proxy VM".
    pub flow: String,
    /// Source address (or range) as evaluated.
    pub src: String,
    /// Destination address (or range) as evaluated.
    pub dst: String,
    /// `Tcp` / `Udp`.
    pub proto: Proto,
    /// Destination port.
    pub port: u16,
    /// NSG direction of this step (`null` for route/outbound steps).
    pub direction: Option<Direction>,
    /// Where the step is.
    pub at: At,
    /// The step's verdict.
    pub verdict: StepVerdict,
    /// NSG (or route table) name, when there is one.
    pub nsg: Option<String>,
    /// The deciding rule (or route), when there is one.
    pub rule: Option<String>,
    /// The deciding rule's priority.
    pub priority: Option<u32>,
    /// What the deciding rule says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_text: Option<String>,
    /// Why the verdict is unknown, or a note on how it was reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether the build fails without this flow (else advisory).
    pub required: bool,
    /// The flow's index in [`Flow`] order (rows of one flow share it).
    pub flow_id: usize,
    /// For deny / unknown NSG steps: the lowest priority an allow rule must beat.
    #[serde(skip)]
    pub deny_floor: Option<u32>,
}

/// A required flow, before evaluation.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The hop.
    pub hop: Hop,
    /// Human label.
    pub label: String,
    /// The five-tuple (source port unknown).
    pub spec: FlowSpec,
    /// Whether the build fails without it.
    pub required: bool,
    /// NSG steps in evaluation order, then route and outbound steps.
    pub steps: Vec<(At, Option<Direction>)>,
}

fn subnet_range(subnet: Option<&Subnet>, ip: Option<std::net::Ipv4Addr>) -> Option<Ipv4Net> {
    match ip {
        Some(ip) => Some(Ipv4Net::host(ip)),
        None => subnet.and_then(|s| s.prefixes.first().copied()),
    }
}

/// The flows the scene's topology needs.
pub fn required_flows(scene: &Scene, opts: &Options, notes: &mut Vec<String>) -> Vec<Flow> {
    use At::*;
    use Direction::*;
    if scene.topology == TopologyKind::NoVnet {
        return Vec::new();
    }
    for (flag, ip) in [("--proxy", opts.proxy_ip), ("--build-vm", opts.build_vm_ip)] {
        if let (Some(ip), Some(s)) = (ip, scene.build_subnet)
            && !s.prefixes.iter().any(|p| p.contains(ip))
        {
            notes.push(format!(
                "{flag} {ip} is not inside the build subnet {} ({:?})",
                s.name, s.prefixes
            ));
        }
    }
    let vnet_ep = |label: &str, range: Option<Ipv4Net>| Endpoint {
        label: label.to_string(),
        place: Place::Vnet,
        range,
    };
    let proxy = vnet_ep("proxy VM", subnet_range(scene.build_subnet, opts.proxy_ip));
    let build = vnet_ep(
        "build VM",
        subnet_range(scene.build_subnet, opts.build_vm_ip),
    );
    let nat = vnet_ep(
        "Private Link NAT IP",
        subnet_range(scene.build_subnet, None),
    );
    let aci = vnet_ep("ACI container", subnet_range(scene.aci_subnet, None));
    let probe = Endpoint {
        label: "health probe".into(),
        place: Place::AzureHost,
        range: Some(Ipv4Net::host(AZURE_HOST_V4)),
    };
    let internet = Endpoint {
        label: "Internet".into(),
        place: Place::Internet,
        range: None,
    };

    let oses: Vec<Os> = match scene.os {
        Some(os) => vec![os],
        None => vec![Os::Linux, Os::Windows],
    };
    let has_proxy_nic = scene.proxy_nic_nsg.is_some();
    let has_build_nic = scene.build_nic_nsg.is_some();
    let nic = |present: bool, at: At, dir: Direction| present.then_some((at, Some(dir)));

    let mut flows = Vec::new();
    let mut push = |hop,
                    label: String,
                    src: &Endpoint,
                    dst: &Endpoint,
                    proto,
                    port,
                    required,
                    steps: Vec<Option<(At, Option<Direction>)>>| {
        flows.push(Flow {
            hop,
            label,
            spec: FlowSpec {
                src: src.clone(),
                dst: dst.clone(),
                proto,
                port,
                platform_dns: false,
            },
            required,
            steps: steps.into_iter().flatten().collect(),
        });
    };
    let egress_steps = |nic_at: At, nic_present: bool, subnet_at: At| {
        vec![
            nic(nic_present, nic_at, Outbound),
            Some((subnet_at, Some(Outbound))),
            Some((RouteTable, None)),
            Some((OutboundPath, None)),
        ]
    };

    if scene.topology == TopologyKind::Proxy {
        // Both arrive at the proxy VM: inbound at the build subnet, then its NIC.
        for (hop, from, src) in [
            (Hop::ProbeToProxy, AZURE_HOST_V4.to_string(), &probe),
            (Hop::AlbToProxy, "Private Link NAT".to_string(), &nat),
        ] {
            for &os in &oses {
                let p = os.proxy_port();
                push(
                    hop,
                    format!("{from} → proxy VM :{p}"),
                    src,
                    &proxy,
                    Proto::Tcp,
                    p,
                    true,
                    vec![
                        Some((BuildSubnet, Some(Inbound))),
                        nic(has_proxy_nic, ProxyNic, Inbound),
                    ],
                );
            }
        }
        for &os in &oses {
            let p = os.build_port();
            push(
                Hop::ProxyToBuildVm,
                format!("proxy VM → build VM :{p}"),
                &proxy,
                &build,
                Proto::Tcp,
                p,
                true,
                vec![
                    nic(has_proxy_nic, ProxyNic, Outbound),
                    Some((BuildSubnet, Some(Outbound))),
                    Some((RouteTable, None)),
                    Some((BuildSubnet, Some(Inbound))),
                    nic(has_build_nic, BuildVmNic, Inbound),
                ],
            );
        }
    } else {
        for &os in &oses {
            let p = os.build_port();
            push(
                Hop::AciToBuildVm,
                format!("ACI → build VM :{p}"),
                &aci,
                &build,
                Proto::Tcp,
                p,
                true,
                vec![
                    Some((AciSubnet, Some(Outbound))),
                    Some((RouteTable, None)),
                    Some((BuildSubnet, Some(Inbound))),
                    nic(has_build_nic, BuildVmNic, Inbound),
                ],
            );
        }
    }

    // Build VM egress: customizers download packages and updates.
    let mut egress_ports = vec![80, 443];
    if oses.contains(&Os::Windows) {
        egress_ports.push(KMS_PORT);
    }
    for p in egress_ports {
        let what = match p {
            80 => "HTTP",
            443 => "HTTPS",
            _ => "KMS activation",
        };
        push(
            Hop::BuildVmEgress,
            format!("build VM → Internet :{p} ({what})"),
            &build,
            &internet,
            Proto::Tcp,
            p,
            true,
            egress_steps(BuildVmNic, has_build_nic, BuildSubnet),
        );
    }

    // DNS: Azure-provided unless the VNET names servers.
    let servers: Vec<std::net::Ipv4Addr> = scene
        .vnet
        .map(|v| v.dns_servers.clone())
        .unwrap_or_default();
    if scene.vnet.is_none() {
        notes.push("VNET not given: DNS evaluated against Azure-provided DNS (168.63.129.16); custom DNS servers are not known".into());
    }
    // Routes do not apply to 168.63.129.16 (platform traffic); to a DNS
    // server they do.
    let dns_steps = |routed: bool| {
        vec![
            nic(has_build_nic, BuildVmNic, Outbound),
            Some((BuildSubnet, Some(Outbound))),
            routed.then_some((RouteTable, None)),
        ]
    };
    if servers.is_empty() {
        let dst = Endpoint {
            label: "Azure DNS".into(),
            place: Place::AzureHost,
            range: Some(Ipv4Net::host(AZURE_HOST_V4)),
        };
        push(
            Hop::BuildVmDns,
            format!("build VM → Azure DNS {AZURE_HOST_V4} :{DNS_PORT}"),
            &build,
            &dst,
            Proto::Udp,
            DNS_PORT,
            true,
            dns_steps(false),
        );
    } else {
        for ip in servers {
            let host = Ipv4Net::host(ip);
            let place = match &scene.tags.vnet_space {
                Some(space) if space.iter().any(|s| s.contains(ip)) => Place::Vnet,
                _ if host.is_private() => Place::PrivateOutside,
                _ => Place::Internet,
            };
            let dst = Endpoint {
                label: format!("DNS server {ip}"),
                place,
                range: Some(host),
            };
            push(
                Hop::BuildVmDns,
                format!("build VM → DNS {ip} :{DNS_PORT}"),
                &build,
                &dst,
                Proto::Udp,
                DNS_PORT,
                true,
                dns_steps(true),
            );
        }
    }

    if scene.topology == TopologyKind::Proxy {
        // Proxy VM → ARM / Storage: documented for the legacy path (T0),
        // unverified since isolated builds (T1): advisory.
        push(
            Hop::BuildVmEgress,
            "proxy VM → Internet :443 (ARM, Storage; advisory)".into(),
            &proxy,
            &internet,
            Proto::Tcp,
            443,
            false,
            egress_steps(ProxyNic, has_proxy_nic, BuildSubnet),
        );
    } else {
        for (p, what) in [(443, "container image"), (445, "Azure Files")] {
            push(
                Hop::Deployment,
                format!("ACI → Internet :{p} ({what})"),
                &aci,
                &internet,
                Proto::Tcp,
                p,
                true,
                vec![
                    Some((AciSubnet, Some(Outbound))),
                    Some((RouteTable, None)),
                    Some((OutboundPath, None)),
                ],
            );
        }
    }
    // DNS to 168.63.129.16 is platform traffic: only AzurePlatformDNS rules filter it.
    for f in &mut flows {
        f.spec.platform_dns = f.hop == Hop::BuildVmDns && f.spec.dst.place == Place::AzureHost;
    }
    flows
}

/// One evaluated step, before it becomes a row.
struct Step {
    verdict: StepVerdict,
    nsg: Option<String>,
    rule: Option<String>,
    priority: Option<u32>,
    rule_text: Option<String>,
    reason: Option<String>,
    deny_floor: Option<u32>,
}

impl Step {
    fn plain(
        verdict: StepVerdict,
        nsg: Option<String>,
        rule: &str,
        reason: Option<String>,
    ) -> Step {
        Step {
            verdict,
            nsg,
            rule: Some(rule.to_string()),
            priority: None,
            rule_text: None,
            reason,
            deny_floor: None,
        }
    }

    fn from_outcome(nsg: &Nsg, o: NsgOutcome) -> Step {
        Step {
            verdict: o.verdict,
            nsg: Some(nsg.name.clone()),
            rule: o.rule.as_ref().map(|r| r.name.clone()).or_else(|| {
                (o.verdict == StepVerdict::Allow).then(|| "(platform traffic)".to_string())
            }),
            priority: o.rule.as_ref().map(|r| r.priority),
            rule_text: o.rule.as_ref().map(|r| r.summary.clone()),
            reason: o.reason,
            deny_floor: o.deny_floor,
        }
    }
}

fn nsg_step(slot: &NsgSlot, what: &str, dir: Direction, spec: &FlowSpec, scene: &Scene) -> Step {
    match slot {
        NsgSlot::Absent => Step::plain(
            StepVerdict::Allow,
            None,
            &format!("(no NSG on the {what})"),
            None,
        ),
        NsgSlot::Known(n) => Step::from_outcome(n, evaluate_nsg(n, dir, spec, &scene.tags)),
        NsgSlot::NotGiven(name) => Step {
            verdict: StepVerdict::Unknown,
            nsg: Some(name.clone()),
            rule: None,
            priority: None,
            rule_text: None,
            reason: Some(format!(
                "NSG {name} is on the {what} but its rules were not given (`az network nsg show`)"
            )),
            deny_floor: None,
        },
        NsgSlot::Unknown => Step {
            verdict: StepVerdict::Unknown,
            nsg: None,
            rule: None,
            priority: None,
            rule_text: None,
            reason: Some(format!(
                "the {what}'s NSG is not known: give the subnet (`az network vnet subnet show`) and its NSG"
            )),
            deny_floor: None,
        },
    }
}

fn route_step(slot: &RouteSlot, what: &str) -> Option<Step> {
    match slot {
        RouteSlot::Absent => None,
        RouteSlot::Unknown => Some(Step::plain(
            StepVerdict::Unknown,
            None,
            "(route table not known)",
            Some(format!(
                "route tables were given but none is known to be on the {what}"
            )),
        )),
        RouteSlot::NotGiven(name) => Some(Step::plain(
            StepVerdict::Unknown,
            Some(name.clone()),
            "(not given)",
            Some(format!(
                "route table {name} is on the {what} but was not given (`az network route-table show`)"
            )),
        )),
        RouteSlot::Known(t) => {
            let table = Some(format!("route table {}", t.name));
            let Some(r) = t.default_route() else {
                return Some(Step::plain(
                    StepVerdict::Allow,
                    table,
                    "(no 0.0.0.0/0 route: system route to the Internet)",
                    None,
                ));
            };
            let hop = r.next_hop_type.to_ascii_lowercase();
            let via = r
                .next_hop_ip
                .as_deref()
                .map(|ip| format!(" {ip}"))
                .unwrap_or_default();
            let (verdict, reason) = match hop.as_str() {
                "internet" => (StepVerdict::Allow, None),
                "none" => (StepVerdict::Deny, Some("0.0.0.0/0 → None drops all Internet-bound traffic".to_string())),
                "vnetlocal" => (StepVerdict::Deny, Some("0.0.0.0/0 → VnetLocal keeps Internet-bound traffic in the VNET, where it is dropped".to_string())),
                "virtualappliance" => (
                    StepVerdict::Unknown,
                    Some(format!("0.0.0.0/0 → VirtualAppliance{via}: the appliance's (firewall's) rules are not in the input")),
                ),
                _ => (
                    StepVerdict::Unknown,
                    Some(format!("0.0.0.0/0 → {}{via}: where it leads is not in the input", r.next_hop_type)),
                ),
            };
            Some(Step {
                verdict,
                nsg: table,
                rule: Some(r.name.clone()),
                priority: None,
                rule_text: Some(format!("{} → {}{via}", r.prefix_text, r.next_hop_type)),
                reason,
                deny_floor: None,
            })
        }
    }
}

/// Words of a route step's reason that say a route in effect sends the
/// flow to an appliance (findings give such steps a fix of their own).
pub const THROUGH_APPLIANCE: &str = "through an appliance";

/// The route step of a flow to an address of the VNET or a private
/// network: the longest user route that covers the whole destination range,
/// when it takes the traffic from the system routes. Those send the VNET's
/// own and peered address spaces within Azure, and win against a shorter
/// user route (a user route wins at equal length), so 0.0.0.0/0 to a
/// firewall leaves traffic between the proxy and the build VM alone, and a
/// route for the VNET's space or the subnet does not. `None` (no step)
/// when no user route applies or the route table is not known (the
/// Internet flows say that it is missing).
fn route_to(slot: &RouteSlot, dst: &Endpoint, scene: &Scene) -> Option<Step> {
    let RouteSlot::Known(t) = slot else {
        return None;
    };
    let range = dst.range?;
    let covers = |p: &Ipv4Net| p.first() <= range.first() && range.last() <= p.last();
    let r = t
        .routes
        .iter()
        .filter(|r| r.prefix.as_ref().is_some_and(covers))
        .max_by_key(|r| r.prefix.map(|p| p.prefix_len()))?;
    let len = r.prefix.map_or(0, |p| p.prefix_len());
    // The longest system route for the destination: `Some(None)` when the
    // VNET is known and has none, `None` when the VNET is not known. Without
    // the VNET, a route at least as long as the build subnet's prefix still
    // wins: the VNET's space holds the subnet.
    let system = match scene.vnet {
        Some(v) => Some(
            v.address_space
                .iter()
                .chain(&v.peer_spaces)
                .filter(|p| covers(p))
                .map(Ipv4Net::prefix_len)
                .max(),
        ),
        None => scene
            .build_subnet
            .and_then(|s| {
                s.prefixes
                    .iter()
                    .filter(|p| covers(p))
                    .map(Ipv4Net::prefix_len)
                    .max()
            })
            .filter(|&l| len >= l)
            .map(Some),
    };
    let via = r
        .next_hop_ip
        .as_deref()
        .map(|ip| format!(" {ip}"))
        .unwrap_or_default();
    let rule_text = format!("{} → {}{via}", r.prefix_text, r.next_hop_type);
    let (verdict, reason) = match system {
        // The VNET's (or a peering's) system route is more specific.
        Some(Some(l)) if l > len => return None,
        // Outside the VNET and its peerings, a private address falls under
        // Azure's system route for its reserved range (next hop None),
        // more specific than 0.0.0.0/0: only a gateway route, which the
        // input cannot show, reaches it.
        Some(None) if len < reserved_len(range) => (
            StepVerdict::Unknown,
            Some(format!(
                "the {} is outside the VNET and its peerings: Azure's system route for its private range (next hop None) is more specific than {rule_text}, so only a gateway route (not in the input) reaches it",
                dst.label
            )),
        ),
        None if len == 0 => return None,
        None => (
            StepVerdict::Unknown,
            Some(format!(
                "route {} ({rule_text}) covers the {}; it takes effect only if it is at least as specific as the VNET's address space, which was not given (`az network vnet show`)",
                r.name, dst.label
            )),
        ),
        _ => match r.next_hop_type.to_ascii_lowercase().as_str() {
            "vnetlocal" => (StepVerdict::Allow, None),
            "none" => (
                StepVerdict::Deny,
                Some(format!(
                    "{rule_text} drops the traffic to the {}",
                    dst.label
                )),
            ),
            "internet" => (
                StepVerdict::Deny,
                Some(format!(
                    "{rule_text} sends traffic for the private address of the {} to the Internet, where it is dropped",
                    dst.label
                )),
            ),
            "virtualappliance" => (
                StepVerdict::Unknown,
                Some(format!(
                    "{rule_text} sends the traffic to the {} {THROUGH_APPLIANCE}: its rules, and whether the replies come back through it (asymmetric routing drops them), are not in the input",
                    dst.label
                )),
            ),
            _ => (
                StepVerdict::Unknown,
                Some(format!("{rule_text}: where it leads is not in the input")),
            ),
        },
    };
    Some(Step {
        verdict,
        nsg: Some(format!("route table {}", t.name)),
        rule: Some(r.name.clone()),
        priority: None,
        rule_text: Some(rule_text),
        reason,
        deny_floor: None,
    })
}

/// The prefix length of the reserved range (10/8, 172.16/12, 192.168/16,
/// 100.64/10) holding `range`, for which Azure keeps a system route with
/// next hop None; 0 when none does.
fn reserved_len(range: Ipv4Net) -> u8 {
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
    ]
    .iter()
    .filter_map(|p| Ipv4Net::parse(p))
    .filter(|p| p.first() <= range.first() && range.last() <= p.last())
    .map(|p| p.prefix_len())
    .max()
    .unwrap_or(0)
}

/// A private subnet (no default outbound access) needs a NAT gateway or a
/// 0.0.0.0/0 route to an appliance/gateway to reach the Internet.
pub fn outbound_gap(subnet: &Subnet, routes: &RouteSlot) -> Option<String> {
    if subnet.default_outbound_access != Some(false) || subnet.nat_gateway.is_some() {
        return None;
    }
    if let RouteSlot::Known(t) = routes
        && let Some(r) = t.default_route()
        && matches!(
            r.next_hop_type.to_ascii_lowercase().as_str(),
            "virtualappliance" | "virtualnetworkgateway"
        )
    {
        return None;
    }
    if matches!(routes, RouteSlot::NotGiven(_) | RouteSlot::Unknown) {
        return None; // the route table may send it to a firewall; said by the route step
    }
    Some(format!(
        "subnet {} is private (defaultOutboundAccess: false) and has no NAT gateway and no 0.0.0.0/0 route to an appliance",
        subnet.name
    ))
}

fn outbound_step(subnet: Option<&Subnet>, routes: &RouteSlot) -> Option<Step> {
    let s = subnet?;
    let gap = outbound_gap(s, routes)?;
    Some(Step::plain(
        StepVerdict::Deny,
        None,
        "(no outbound path)",
        Some(gap),
    ))
}

/// Evaluate every flow at every step.
pub fn evaluate_flows(flows: &[Flow], scene: &Scene) -> Vec<FlowRow> {
    let mut rows = Vec::new();
    for (flow_id, f) in flows.iter().enumerate() {
        // Route and outbound steps belong to the source's subnet: the ACI
        // subnet for the ACI's flows (egress on the Deployment hop, and its
        // SSH/WinRM to the build VM).
        let from_aci = matches!(f.hop, Hop::Deployment | Hop::AciToBuildVm);
        let (routes, subnet_label) = if from_aci {
            (&scene.aci_routes, "ACI subnet")
        } else {
            (&scene.build_routes, "build subnet")
        };
        for &(at, dir) in &f.steps {
            let step = match (at, dir) {
                (At::BuildSubnet, Some(d)) => Some(nsg_step(
                    &scene.build_nsg,
                    "build subnet",
                    d,
                    &f.spec,
                    scene,
                )),
                (At::AciSubnet, Some(d)) => {
                    Some(nsg_step(&scene.aci_nsg, "ACI subnet", d, &f.spec, scene))
                }
                (At::ProxyNic, Some(d)) => scene
                    .proxy_nic_nsg
                    .map(|n| Step::from_outcome(n, evaluate_nsg(n, d, &f.spec, &scene.tags))),
                (At::BuildVmNic, Some(d)) => scene
                    .build_nic_nsg
                    .map(|n| Step::from_outcome(n, evaluate_nsg(n, d, &f.spec, &scene.tags))),
                (At::RouteTable, _) if f.spec.dst.place == Place::Internet => {
                    route_step(routes, subnet_label)
                }
                (At::RouteTable, _) => route_to(routes, &f.spec.dst, scene),
                (At::OutboundPath, _) if from_aci => {
                    outbound_step(scene.aci_subnet, &scene.aci_routes)
                }
                (At::OutboundPath, _) => outbound_step(scene.build_subnet, &scene.build_routes),
                _ => None,
            };
            let Some(step) = step else { continue };
            rows.push(FlowRow {
                hop: f.hop,
                flow: f.label.clone(),
                src: f.spec.src.addr_text(),
                dst: f.spec.dst.addr_text(),
                proto: f.spec.proto,
                port: f.spec.port,
                direction: dir,
                at,
                verdict: step.verdict,
                nsg: step.nsg,
                rule: step.rule,
                priority: step.priority,
                rule_text: step.rule_text,
                reason: step.reason,
                required: f.required,
                flow_id,
                deny_floor: step.deny_floor,
            });
        }
    }
    rows
}

//! Working out which of the inputs plays which part: the build subnet, the ACI
//! subnet, their NSGs and route tables, the VNET, NIC-level NSGs, the OS and
//! the topology. Every assumption made here is written into `notes`.

use super::Config;
use super::addr::Ipv4Net;
use super::eval::TagContext;
use super::model::*;
use crate::aib::{AZURE_HOST_V4, Os, TopologyKind};

/// What is known about the NSG of a subnet or NIC.
#[derive(Debug, Clone)]
pub enum NsgSlot<'a> {
    /// The subnet has no NSG: nothing filters here.
    Absent,
    /// This NSG applies.
    Known(&'a Nsg),
    /// An NSG applies (its name is known) but its rules were not given.
    NotGiven(String),
    /// Nothing in the inputs tells.
    Unknown,
}

/// What is known about a subnet's route table.
#[derive(Debug, Clone)]
pub enum RouteSlot<'a> {
    /// No route table on the subnet.
    Absent,
    /// This route table applies.
    Known(&'a RouteTable),
    /// A route table applies (name known) but was not given.
    NotGiven(String),
    /// Nothing in the inputs tells.
    Unknown,
}

/// The configuration, resolved into the parts of the AIB path.
#[derive(Debug)]
pub struct Scene<'a> {
    /// The image template, if one was given.
    pub template: Option<&'a Template>,
    /// The topology.
    pub topology: TopologyKind,
    /// The OS, if known (flag, template source, customizers).
    pub os: Option<Os>,
    /// The build subnet, if found.
    pub build_subnet: Option<&'a Subnet>,
    /// The ACI subnet (isolated builds), if found.
    pub aci_subnet: Option<&'a Subnet>,
    /// The VNET, if found.
    pub vnet: Option<&'a Vnet>,
    /// NSG of the build subnet.
    pub build_nsg: NsgSlot<'a>,
    /// NSG of the ACI subnet.
    pub aci_nsg: NsgSlot<'a>,
    /// NIC-level NSG of the proxy VM (from effective rules only).
    pub proxy_nic_nsg: Option<&'a Nsg>,
    /// NIC-level NSG of the build VM (from effective rules only).
    pub build_nic_nsg: Option<&'a Nsg>,
    /// Route table of the build subnet.
    pub build_routes: RouteSlot<'a>,
    /// Route table of the ACI subnet.
    pub aci_routes: RouteSlot<'a>,
    /// What `VirtualNetwork` stands for.
    pub tags: TagContext,
    /// Assumptions and gaps, one sentence each.
    pub notes: Vec<String>,
}

fn find_subnet<'a>(cfg: &'a Config, want: &ResourceId) -> Option<&'a Subnet> {
    cfg.subnets.iter().find(|s| match &s.id {
        Some(id) => id.same_as(want),
        None => {
            let name_eq = want
                .name()
                .is_some_and(|n| !is_placeholder(n) && n.eq_ignore_ascii_case(&s.name));
            let vnet_eq = match (want.get("virtualNetworks"), &s.vnet) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => true,
            };
            name_eq && vnet_eq
        }
    })
}

fn subnet_ref(s: &Subnet) -> ResourceId {
    s.id.clone().unwrap_or_else(|| {
        ResourceId::subnet(
            s.resource_group.as_deref(),
            s.vnet.as_deref().unwrap_or("?"),
            &s.name,
        )
    })
}

fn is_aci_delegated(s: &Subnet) -> bool {
    s.delegations
        .iter()
        .any(|d| d.eq_ignore_ascii_case("Microsoft.ContainerInstance/containerGroups"))
}

fn find_nsg<'a>(cfg: &'a Config, id: &ResourceId) -> Option<&'a Nsg> {
    let by_id = |n: &&Nsg| match &n.id {
        Some(nid) => nid.same_as(id),
        None => id
            .name()
            .is_some_and(|want| want.eq_ignore_ascii_case(&n.name)),
    };
    // Effective rules carry expanded prefixes: prefer them.
    cfg.nsgs
        .iter()
        .filter(by_id)
        .find(|n| matches!(n.origin, NsgOrigin::Effective { .. }))
        .or_else(|| cfg.nsgs.iter().find(by_id))
}

fn nsg_associated_with<'a>(cfg: &'a Config, subnet: &ResourceId) -> Option<&'a Nsg> {
    let assoc = |n: &&Nsg| n.subnets.iter().any(|s| s.same_as(subnet));
    cfg.nsgs
        .iter()
        .filter(assoc)
        .find(|n| matches!(n.origin, NsgOrigin::Effective { .. }))
        .or_else(|| cfg.nsgs.iter().find(assoc))
}

fn find_route_table<'a>(cfg: &'a Config, id: &ResourceId) -> Option<&'a RouteTable> {
    cfg.route_tables.iter().find(|t| match &t.id {
        Some(tid) => tid.same_as(id),
        None => id
            .name()
            .is_some_and(|want| want.eq_ignore_ascii_case(&t.name)),
    })
}

/// Resolve which input plays which part.
pub fn resolve(cfg: &Config) -> Scene<'_> {
    let mut notes = Vec::new();
    let template = cfg.templates.first();
    if cfg.templates.len() > 1 {
        notes.push(format!(
            "{} image templates given: checked the first ({})",
            cfg.templates.len(),
            template
                .and_then(|t| t.name.as_deref())
                .unwrap_or("unnamed")
        ));
    }
    let topology = match template {
        Some(t) if t.subnet.is_none() => TopologyKind::NoVnet,
        Some(t) if t.aci_subnet.is_some() => TopologyKind::Isolated,
        Some(_) => TopologyKind::Proxy,
        None => {
            notes.push(
                "no image template given: assumed the proxy path (vnetConfig.subnetId without containerInstanceSubnetId)"
                    .to_string(),
            );
            TopologyKind::Proxy
        }
    };

    // The OS decides the ports.
    let os = match (cfg.options.os, template.and_then(|t| t.os)) {
        (Some(flag), Some(tpl)) if flag != tpl => {
            notes.push(format!(
                "--os {} overrides the template, which looks like {}",
                flag.as_str(),
                tpl.as_str()
            ));
            Some(flag)
        }
        (Some(flag), _) => Some(flag),
        (None, Some(tpl)) => Some(tpl),
        (None, None) => {
            notes.push("OS not known (no template source or customizer tells): checked the Linux and the Windows ports; pass --os to choose".to_string());
            None
        }
    };

    // The ACI subnet first, so that it is not taken for the build subnet.
    let aci_subnet = template
        .and_then(|t| t.aci_subnet.as_ref())
        .and_then(|id| find_subnet(cfg, id));
    let build_subnet = match template.and_then(|t| t.subnet.as_ref()) {
        Some(id) => {
            find_subnet(cfg, id).or_else(|| {
                let ph = id.placeholders();
                let candidates: Vec<&Subnet> = cfg
                    .subnets
                    .iter()
                    .filter(|s| !is_aci_delegated(s) && aci_subnet.is_none_or(|a| !std::ptr::eq(a, *s)))
                    .collect();
                match (ph.is_empty(), candidates.as_slice()) {
                    (false, [only]) => {
                        notes.push(format!(
                            "the template's subnetId has placeholders ({}): used the only subnet given, {}",
                            ph.join(", "),
                            only.name
                        ));
                        Some(*only)
                    }
                    (false, _) => {
                        notes.push(format!(
                            "the template's subnetId has placeholders ({}): the build subnet is not known",
                            ph.join(", ")
                        ));
                        None
                    }
                    (true, _) => {
                        if !cfg.subnets.is_empty() {
                            notes.push(format!(
                                "the template's build subnet {} is not among the subnets given",
                                id.name().unwrap_or(&id.raw)
                            ));
                        }
                        None
                    }
                }
            })
        }
        None => {
            let candidates: Vec<&Subnet> = cfg.subnets.iter().filter(|s| !is_aci_delegated(s)).collect();
            match candidates.as_slice() {
                [only] => Some(*only),
                [] => None,
                many => {
                    // An NSG associated with exactly one of them points at it.
                    let with_nsg: Vec<&&Subnet> = many.iter().filter(|s| s.nsg.is_some()).collect();
                    if let [one] = with_nsg.as_slice() {
                        notes.push(format!(
                            "{} subnets given and no template: took {} (the only one with an NSG) as the build subnet",
                            many.len(),
                            one.name
                        ));
                        Some(**one)
                    } else {
                        notes.push(format!(
                            "{} subnets given and no template to tell which is the build subnet",
                            many.len()
                        ));
                        None
                    }
                }
            }
        }
    };
    if let Some(s) = build_subnet
        && let [first, _, ..] = s.prefixes.as_slice()
    {
        notes.push(format!(
            "build subnet {} has {} prefixes: evaluated with the first, {first}",
            s.name,
            s.prefixes.len(),
        ));
    }

    // The VNET.
    let vnet_name = build_subnet
        .and_then(|s| s.vnet.clone())
        .or_else(|| {
            template.and_then(|t| {
                t.subnet
                    .as_ref()?
                    .get("virtualNetworks")
                    .map(str::to_string)
            })
        })
        .filter(|n| !is_placeholder(n));
    let vnet = match vnet_name {
        Some(name) => cfg
            .vnets
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(&name)),
        None => None,
    }
    .or(match cfg.vnets.as_slice() {
        [only] => Some(only),
        _ => None,
    });

    // NSGs of the subnets.
    let build_ref = build_subnet
        .map(subnet_ref)
        .or_else(|| template.and_then(|t| t.subnet.clone()));
    let build_nsg = subnet_nsg(cfg, build_subnet, build_ref.as_ref(), true, &mut notes);
    let aci_ref = aci_subnet
        .map(subnet_ref)
        .or_else(|| template.and_then(|t| t.aci_subnet.clone()));
    let aci_nsg = if topology == TopologyKind::Isolated {
        subnet_nsg(cfg, aci_subnet, aci_ref.as_ref(), false, &mut notes)
    } else {
        NsgSlot::Absent
    };

    // NIC-level NSGs: only effective rules tell which NIC they belong to.
    let mut proxy_nic_nsg = None;
    let mut build_nic_nsg = None;
    for n in &cfg.nsgs {
        if let NsgOrigin::Effective {
            nic: Some(nic),
            subnet: None,
        } = &n.origin
        {
            let nic_name = nic.name().unwrap_or(&nic.raw);
            if nic_name.to_ascii_lowercase().contains("proxy") {
                notes.push(format!(
                    "NIC NSG {} (NIC {nic_name}) applied to the proxy VM (NIC name has 'proxy')",
                    n.name
                ));
                proxy_nic_nsg.get_or_insert(n);
            } else {
                notes.push(format!(
                    "NIC NSG {} (NIC {nic_name}) applied to the build VM (NIC name has no 'proxy')",
                    n.name
                ));
                build_nic_nsg.get_or_insert(n);
            }
        }
    }

    // Route tables.
    let build_routes = subnet_routes(cfg, build_subnet, build_ref.as_ref(), true, &mut notes);
    let aci_routes = if topology == TopologyKind::Isolated {
        subnet_routes(cfg, aci_subnet, aci_ref.as_ref(), false, &mut notes)
    } else {
        RouteSlot::Absent
    };

    // What VirtualNetwork covers.
    let mut tags = TagContext::default();
    if let Some(v) = vnet {
        let mut space = v.address_space.clone();
        space.extend(&v.peer_spaces);
        space.push(Ipv4Net::host(AZURE_HOST_V4));
        for slot in [&build_routes, &aci_routes] {
            if let RouteSlot::Known(t) = slot {
                space.extend(t.routes.iter().filter_map(|r| r.prefix));
            }
        }
        tags.vnet_space = Some(space);
    }
    for slot in [&build_routes, &aci_routes] {
        if let RouteSlot::Known(t) = slot
            && let Some(r) = t.default_route()
        {
            let why = format!(
                "route table {} has a 0.0.0.0/0 route ({} → {}), so the VirtualNetwork tag covers every address",
                t.name, r.name, r.next_hop_type
            );
            notes.push(why.clone());
            tags.default_route_widens.get_or_insert(why);
        }
    }

    Scene {
        template,
        topology,
        os,
        build_subnet,
        aci_subnet,
        vnet,
        build_nsg,
        aci_nsg,
        proxy_nic_nsg,
        build_nic_nsg,
        build_routes,
        aci_routes,
        tags,
        notes,
    }
}

fn subnet_nsg<'a>(
    cfg: &'a Config,
    subnet: Option<&Subnet>,
    subnet_id: Option<&ResourceId>,
    is_build: bool,
    notes: &mut Vec<String>,
) -> NsgSlot<'a> {
    let which = if is_build { "build" } else { "ACI" };
    if let Some(s) = subnet
        && let Some(id) = &s.nsg
    {
        return match find_nsg(cfg, id) {
            Some(n) => NsgSlot::Known(n),
            None => NsgSlot::NotGiven(id.name().unwrap_or(&id.raw).to_string()),
        };
    }
    if let Some(id) = subnet_id
        && let Some(n) = nsg_associated_with(cfg, id)
    {
        return NsgSlot::Known(n);
    }
    if subnet.is_some() {
        return NsgSlot::Absent;
    }
    // No subnet data: a single NSG is taken for the build subnet's when
    // nothing contradicts it (no association, or the template's subnetId is a
    // placeholder that cannot be compared), and said so.
    let definitions: Vec<&Nsg> = cfg
        .nsgs
        .iter()
        .filter(|n| n.nics.is_empty() || !n.subnets.is_empty())
        .collect();
    if is_build && let [only] = definitions.as_slice() {
        let wanted_unknown = subnet_id.is_none_or(|id| !id.placeholders().is_empty());
        if only.subnets.is_empty() {
            notes.push(format!(
                "no subnet data: took NSG {} (the only NSG given) for the {which} subnet's NSG",
                only.name
            ));
            return NsgSlot::Known(only);
        }
        if wanted_unknown {
            let assoc: Vec<&str> = only.subnets.iter().filter_map(|s| s.name()).collect();
            notes.push(format!(
                "the {which} subnet is not known: took NSG {} (the only NSG given, associated with subnet {}) for its NSG",
                only.name,
                assoc.join(", ")
            ));
            return NsgSlot::Known(only);
        }
    }
    NsgSlot::Unknown
}

fn subnet_routes<'a>(
    cfg: &'a Config,
    subnet: Option<&Subnet>,
    subnet_id: Option<&ResourceId>,
    is_build: bool,
    notes: &mut Vec<String>,
) -> RouteSlot<'a> {
    if let Some(s) = subnet
        && let Some(id) = &s.route_table
    {
        return match find_route_table(cfg, id) {
            Some(t) => RouteSlot::Known(t),
            None => RouteSlot::NotGiven(id.name().unwrap_or(&id.raw).to_string()),
        };
    }
    if let Some(id) = subnet_id
        && let Some(t) = cfg
            .route_tables
            .iter()
            .find(|t| t.subnets.iter().any(|s| s.same_as(id)))
    {
        return RouteSlot::Known(t);
    }
    if subnet.is_some() {
        return RouteSlot::Absent;
    }
    if is_build
        && let [only] = cfg.route_tables.as_slice()
        && only.subnets.is_empty()
    {
        notes.push(format!(
            "no subnet data: took route table {} for the build subnet's",
            only.name
        ));
        return RouteSlot::Known(only);
    }
    if cfg.route_tables.is_empty() {
        RouteSlot::Absent
    } else {
        RouteSlot::Unknown
    }
}

//! Evaluating one flow against one NSG, the way Azure does: rules of the
//! flow's direction, lowest priority number first, first match wins.
//!
//! Matching is three-valued. A rule *surely* matches, surely does not, or
//! *may* match: the flow's address is only known as "some address in the
//! build subnet" and the rule names part of the subnet, the rule uses an
//! application security group, a service tag that cannot be expanded offline,
//! a source port range (the client's ephemeral port is unknown) ... A flow's
//! verdict is certain when every rule that may match before the deciding rule
//! has the same access as the deciding rule; otherwise it is `unknown`, with
//! the rule that made it so.

use super::addr::{Cover, Ipv4Net, cover};
use super::model::*;
use crate::aib::AZURE_HOST_V4;

/// What kind of place an endpoint is, for the service tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// An address of the VNET (proxy VM, build VM, PLS NAT IP, ACI).
    Vnet,
    /// 168.63.129.16 (load balancer probes, Azure DNS).
    AzureHost,
    /// Somewhere on the public Internet.
    Internet,
    /// A private address outside the known VNET space (on-premises, peered?).
    PrivateOutside,
}

/// One end of a flow.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// A human label: "proxy VM", "build VM", "168.63.129.16".
    pub label: String,
    /// What kind of place it is.
    pub place: Place,
    /// The addresses it may have: a /32 when known, the subnet's prefix when
    /// only the subnet is known, `None` when not even that is known.
    pub range: Option<Ipv4Net>,
}

impl Endpoint {
    /// The address text for tables: the range, or the label's place.
    pub fn addr_text(&self) -> String {
        match (&self.range, self.place) {
            (Some(r), _) => r.to_string(),
            (None, Place::Internet) => "Internet".to_string(),
            (None, _) => "(subnet unknown)".to_string(),
        }
    }
}

/// What `VirtualNetwork` stands for, as far as the inputs tell.
#[derive(Debug, Clone, Default)]
pub struct TagContext {
    /// VNET address space, peered spaces, and UDR prefixes (when known).
    pub vnet_space: Option<Vec<Ipv4Net>>,
    /// A 0.0.0.0/0 user-defined route exists: `VirtualNetwork` then matches
    /// every address.
    pub default_route_widens: Option<String>,
}

/// A flow to evaluate.
#[derive(Debug, Clone)]
pub struct FlowSpec {
    /// Source.
    pub src: Endpoint,
    /// Destination.
    pub dst: Endpoint,
    /// Protocol.
    pub proto: Proto,
    /// Destination port.
    pub port: u16,
    /// Traffic to Azure DNS at 168.63.129.16: only rules naming
    /// `AzurePlatformDNS` apply (platform traffic is not subject to other rules).
    pub platform_dns: bool,
}

/// Three-valued match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The rule matches whatever the unknowns are.
    Yes,
    /// The rule cannot match.
    No,
    /// The rule matches for some values of the unknowns: why.
    Maybe(String),
}

impl Match {
    fn and(self, other: Match) -> Match {
        match (self, other) {
            (Match::No, _) | (_, Match::No) => Match::No,
            (Match::Maybe(r), _) | (_, Match::Maybe(r)) => Match::Maybe(r),
            _ => Match::Yes,
        }
    }
}

fn any_of(items: impl Iterator<Item = Match>) -> Match {
    let mut maybe = None;
    for m in items {
        match m {
            Match::Yes => return Match::Yes,
            Match::Maybe(r) => {
                maybe.get_or_insert(r);
            }
            Match::No => {}
        }
    }
    maybe.map_or(Match::No, Match::Maybe)
}

fn cover_match(set: &[Ipv4Net], ep: &Endpoint, what: &str) -> Match {
    let Some(range) = ep.range else {
        return Match::Maybe(format!(
            "{what}: the address of the {} is not known",
            ep.label
        ));
    };
    match cover(set, &range) {
        Cover::All => Match::Yes,
        Cover::None => Match::No,
        Cover::Part => Match::Maybe(format!(
            "{what} covers only part of {range} ({}): pass its address with --proxy / --build-vm",
            ep.label
        )),
    }
}

/// Does one source/destination entry match the endpoint?
pub fn match_addr(item: &AddrItem, ep: &Endpoint, ctx: &TagContext) -> Match {
    match item {
        AddrItem::Any => Match::Yes,
        AddrItem::Ipv6(_) => Match::No,
        AddrItem::Invalid(s) => Match::Maybe(format!("address '{s}' cannot be read")),
        AddrItem::Asg(name) => Match::Maybe(format!(
            "application security group {name}: its members are not in the input"
        )),
        AddrItem::Net(n) => match (ep.range, ep.place) {
            (Some(_), _) => cover_match(&[*n], ep, &format!("prefix {n}")),
            (None, Place::Internet) if n.is_private() => Match::No,
            (None, Place::Internet) => Match::Maybe(format!(
                "prefix {n}: depends on which Internet address is used"
            )),
            (None, _) => Match::Maybe(format!(
                "prefix {n}: the address of the {} is not known",
                ep.label
            )),
        },
        AddrItem::Tag { name, expanded } => match_tag(name, expanded.as_deref(), ep, ctx),
    }
}

fn match_tag(name: &str, expanded: Option<&[Ipv4Net]>, ep: &Endpoint, ctx: &TagContext) -> Match {
    let tag = name.to_ascii_lowercase();
    // Expanded prefixes (effective rules) are the truth when the endpoint's
    // range is known. VirtualNetwork is expanded the same way Azure does.
    if let (Some(set), Some(_)) = (expanded, ep.range) {
        return cover_match(set, ep, &format!("tag {name} (expanded)"));
    }
    match tag.as_str() {
        "virtualnetwork" => {
            if ctx.default_route_widens.is_some() {
                return Match::Yes;
            }
            match ep.place {
                // The host IP 168.63.129.16 is part of VirtualNetwork (AD-TAGS).
                Place::Vnet | Place::AzureHost => Match::Yes,
                Place::Internet => Match::No,
                Place::PrivateOutside => match &ctx.vnet_space {
                    Some(space) => cover_match(space, ep, "tag VirtualNetwork"),
                    None => Match::Maybe(format!(
                        "tag VirtualNetwork: whether {} is in a peered or connected range is not known",
                        ep.label
                    )),
                },
            }
        }
        "azureloadbalancer" => match ep.place {
            Place::AzureHost => Match::Yes,
            _ => match ep.range {
                Some(r) if r.contains(AZURE_HOST_V4) && r.prefix_len() < 32 => {
                    Match::Maybe("tag AzureLoadBalancer: 168.63.129.16 is inside the range".into())
                }
                _ => Match::No,
            },
        },
        "internet" => match ep.place {
            Place::Internet => Match::Yes,
            Place::Vnet | Place::PrivateOutside => Match::No,
            Place::AzureHost => Match::Maybe(
                "tag Internet: whether it holds the host address 168.63.129.16 is not documented"
                    .into(),
            ),
        },
        "azureplatformdns" => Match::from_bool(ep.place == Place::AzureHost),
        "azureplatformimds" | "azureplatformlkm" => Match::No,
        _ => Match::Maybe(format!(
            "service tag {name} cannot be expanded offline (give `az network nic list-effective-nsg` output)"
        )),
    }
}

impl Match {
    fn from_bool(b: bool) -> Match {
        if b { Match::Yes } else { Match::No }
    }
}

fn match_ports(items: &Result<Vec<PortItem>, String>, port: Option<u16>, what: &str) -> Match {
    let items = match items {
        Ok(items) => items,
        Err(text) => return Match::Maybe(format!("{what} '{text}' cannot be read")),
    };
    any_of(items.iter().map(|p| match (p, port) {
        (PortItem::Any, _) => Match::Yes,
        (PortItem::Range(a, b), Some(p)) => Match::from_bool(*a <= p && p <= *b),
        (PortItem::Range(a, b), None) => Match::Maybe(format!(
            "{what} {a}-{b}: the client's ephemeral source port is not known"
        )),
    }))
}

/// Does the rule match the flow? (Direction is checked by the caller.)
pub fn match_rule(rule: &SecurityRule, flow: &FlowSpec, ctx: &TagContext) -> Match {
    if flow.platform_dns {
        // Platform DNS is only filtered by rules that name AzurePlatformDNS.
        let names_platform = rule.destinations.iter().any(
            |d| matches!(d, AddrItem::Tag { name, .. } if name.eq_ignore_ascii_case("AzurePlatformDNS")),
        );
        if !names_platform {
            return Match::No;
        }
    }
    let proto = match (&rule.protocol, flow.proto) {
        (RuleProto::Any, _) | (RuleProto::Tcp, Proto::Tcp) | (RuleProto::Udp, Proto::Udp) => {
            Match::Yes
        }
        (RuleProto::Invalid(p), _) => Match::Maybe(format!("protocol '{p}' cannot be read")),
        _ => Match::No,
    };
    proto
        .and(any_of(
            rule.sources.iter().map(|s| match_addr(s, &flow.src, ctx)),
        ))
        .and(any_of(
            rule.destinations
                .iter()
                .map(|d| match_addr(d, &flow.dst, ctx)),
        ))
        .and(match_ports(
            &rule.destination_ports,
            Some(flow.port),
            "destination port",
        ))
        .and(match_ports(&rule.source_ports, None, "source port"))
}

/// The verdict of one evaluation step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepVerdict {
    /// The flow passes.
    Allow,
    /// The flow is dropped.
    Deny,
    /// The inputs do not decide it.
    Unknown,
}

impl StepVerdict {
    /// `allow` / `deny` / `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepVerdict::Allow => "allow",
            StepVerdict::Deny => "deny",
            StepVerdict::Unknown => "unknown",
        }
    }

    /// Combine the steps of one flow: any deny denies, else any unknown.
    pub fn then(self, other: StepVerdict) -> StepVerdict {
        match (self, other) {
            (StepVerdict::Deny, _) | (_, StepVerdict::Deny) => StepVerdict::Deny,
            (StepVerdict::Unknown, _) | (_, StepVerdict::Unknown) => StepVerdict::Unknown,
            _ => StepVerdict::Allow,
        }
    }
}

/// A rule, as named in results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// Rule name.
    pub name: String,
    /// Priority.
    pub priority: u32,
    /// A default rule.
    pub default: bool,
    /// One line describing what the rule says.
    pub summary: String,
}

impl RuleRef {
    fn of(rule: &SecurityRule) -> RuleRef {
        RuleRef {
            name: rule.name.clone(),
            priority: rule.priority,
            default: rule.default,
            summary: summarise(rule),
        }
    }
}

/// "Deny Inbound * from * to * ports *"
pub fn summarise(rule: &SecurityRule) -> String {
    fn addrs(items: &[AddrItem]) -> String {
        let v: Vec<String> = items
            .iter()
            .map(|i| match i {
                AddrItem::Any => "*".to_string(),
                AddrItem::Net(n) => n.to_string(),
                AddrItem::Tag { name, .. } => name.clone(),
                AddrItem::Asg(n) => format!("ASG {n}"),
                AddrItem::Ipv6(s) | AddrItem::Invalid(s) => s.clone(),
            })
            .collect();
        if v.is_empty() {
            "(none)".into()
        } else {
            v.join(",")
        }
    }
    fn ports(p: &Result<Vec<PortItem>, String>) -> String {
        match p {
            Err(t) => t.clone(),
            Ok(items) => items
                .iter()
                .map(|p| match p {
                    PortItem::Any => "*".to_string(),
                    PortItem::Range(a, b) if a == b => a.to_string(),
                    PortItem::Range(a, b) => format!("{a}-{b}"),
                })
                .collect::<Vec<_>>()
                .join(","),
        }
    }
    let proto = match &rule.protocol {
        RuleProto::Any => "*".to_string(),
        RuleProto::Tcp => "Tcp".to_string(),
        RuleProto::Udp => "Udp".to_string(),
        RuleProto::Other(p) | RuleProto::Invalid(p) => p.clone(),
    };
    format!(
        "{} {} {proto} from {} to {} port {}",
        rule.access.map_or("(access?)", Access::as_str),
        rule.direction.as_str(),
        addrs(&rule.sources),
        addrs(&rule.destinations),
        ports(&rule.destination_ports)
    )
}

/// The outcome of evaluating a flow against one NSG in one direction.
#[derive(Debug, Clone)]
pub struct NsgOutcome {
    /// Allow, deny or unknown.
    pub verdict: StepVerdict,
    /// The deciding rule (for `unknown`: the first rule that may match and
    /// would change the outcome).
    pub rule: Option<RuleRef>,
    /// Why the verdict is unknown, or a note on how it was reached.
    pub reason: Option<String>,
    /// The lowest priority among the rules that deny or may deny before the
    /// decision: an allow rule must sit above it to win.
    pub deny_floor: Option<u32>,
}

/// Azure's six default rules (§5 of the reference), used when the input did
/// not list them.
pub fn default_rules() -> Vec<SecurityRule> {
    fn r(
        name: &str,
        prio: u32,
        dir: Direction,
        src: &str,
        dst: &str,
        access: Access,
    ) -> SecurityRule {
        let item = |s: &str| match s {
            "*" => AddrItem::Any,
            tag => AddrItem::Tag {
                name: tag.to_string(),
                expanded: None,
            },
        };
        SecurityRule {
            name: name.to_string(),
            priority: prio,
            direction: dir,
            access: Some(access),
            protocol: RuleProto::Any,
            sources: vec![item(src)],
            destinations: vec![item(dst)],
            source_ports: Ok(vec![PortItem::Any]),
            destination_ports: Ok(vec![PortItem::Any]),
            default: true,
        }
    }
    use Access::*;
    use Direction::*;
    vec![
        r(
            "AllowVnetInBound",
            65000,
            Inbound,
            "VirtualNetwork",
            "VirtualNetwork",
            Allow,
        ),
        r(
            "AllowAzureLoadBalancerInBound",
            65001,
            Inbound,
            "AzureLoadBalancer",
            "*",
            Allow,
        ),
        r("DenyAllInBound", 65500, Inbound, "*", "*", Deny),
        r(
            "AllowVnetOutBound",
            65000,
            Outbound,
            "VirtualNetwork",
            "VirtualNetwork",
            Allow,
        ),
        r(
            "AllowInternetOutBound",
            65001,
            Outbound,
            "*",
            "Internet",
            Allow,
        ),
        r("DenyAllOutBound", 65500, Outbound, "*", "*", Deny),
    ]
}

/// The NSG's rules of one direction, in evaluation order.
pub fn ordered_rules(nsg: &Nsg, direction: Direction) -> Vec<SecurityRule> {
    let defaults =
        if nsg.default_rules.is_empty() && !matches!(nsg.origin, NsgOrigin::Effective { .. }) {
            default_rules()
        } else {
            nsg.default_rules.clone()
        };
    let mut rules: Vec<SecurityRule> = nsg
        .rules
        .iter()
        .chain(defaults.iter())
        .filter(|r| r.direction == direction)
        .cloned()
        .collect();
    rules.sort_by_key(|r| (r.priority, r.default));
    rules
}

/// Evaluate a flow against one NSG in one direction.
pub fn evaluate_nsg(
    nsg: &Nsg,
    direction: Direction,
    flow: &FlowSpec,
    ctx: &TagContext,
) -> NsgOutcome {
    let mut pending: Vec<(RuleRef, Option<Access>, String)> = Vec::new();
    for rule in ordered_rules(nsg, direction) {
        let m = match_rule(&rule, flow, ctx);
        match (m, rule.access) {
            (Match::No, _) => {}
            (Match::Yes, Some(access)) => {
                let verdict = match access {
                    Access::Allow => StepVerdict::Allow,
                    Access::Deny => StepVerdict::Deny,
                };
                let floor = pending
                    .iter()
                    .filter(|(_, a, _)| *a != Some(Access::Allow))
                    .map(|(r, _, _)| r.priority)
                    .chain((access == Access::Deny).then_some(rule.priority))
                    .min();
                // A rule that may match first changes the outcome only if its
                // access differs from the one that surely matches.
                if let Some((first, _, why)) = pending.iter().find(|(_, a, _)| *a != Some(access)) {
                    return NsgOutcome {
                        verdict: StepVerdict::Unknown,
                        rule: Some(first.clone()),
                        reason: Some(format!(
                            "{} (priority {}) may match first: {why}; otherwise {} (priority {}) decides: {}",
                            first.name,
                            first.priority,
                            rule.name,
                            rule.priority,
                            verdict.as_str()
                        )),
                        deny_floor: floor,
                    };
                }
                let reason = ctx
                    .default_route_widens
                    .as_ref()
                    .filter(|_| mentions_vnet_tag(&rule) && flow_leaves_vnet(flow))
                    .map(|why| format!("VirtualNetwork matched because {why}"));
                return NsgOutcome {
                    verdict,
                    rule: Some(RuleRef::of(&rule)),
                    reason,
                    deny_floor: floor,
                };
            }
            (Match::Yes, None) => {
                pending.push((RuleRef::of(&rule), None, "its access cannot be read".into()));
            }
            (Match::Maybe(why), access) => pending.push((RuleRef::of(&rule), access, why)),
        }
    }
    if flow.platform_dns && pending.is_empty() {
        return NsgOutcome {
            verdict: StepVerdict::Allow,
            rule: None,
            reason: Some(
                "traffic to Azure DNS (168.63.129.16) is platform traffic: only rules naming AzurePlatformDNS filter it"
                    .to_string(),
            ),
            deny_floor: None,
        };
    }
    let first = pending.first();
    NsgOutcome {
        verdict: StepVerdict::Unknown,
        rule: first.map(|(r, _, _)| r.clone()),
        reason: Some(match first {
            Some((r, _, why)) => format!("{} may match: {why}", r.name),
            None => "no rule matches (the input lists no default rules)".to_string(),
        }),
        deny_floor: None,
    }
}

fn mentions_vnet_tag(rule: &SecurityRule) -> bool {
    rule.sources.iter().chain(&rule.destinations).any(
        |i| matches!(i, AddrItem::Tag { name, .. } if name.eq_ignore_ascii_case("VirtualNetwork")),
    )
}

fn flow_leaves_vnet(flow: &FlowSpec) -> bool {
    flow.dst.place == Place::Internet || flow.src.place == Place::Internet
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        Ipv4Net::parse(s).unwrap()
    }

    fn vnet_ep(label: &str, range: &str) -> Endpoint {
        Endpoint {
            label: label.into(),
            place: Place::Vnet,
            range: Some(net(range)),
        }
    }

    fn probe() -> Endpoint {
        Endpoint {
            label: "probe".into(),
            place: Place::AzureHost,
            range: Some(Ipv4Net::host(AZURE_HOST_V4)),
        }
    }

    fn internet() -> Endpoint {
        Endpoint {
            label: "Internet".into(),
            place: Place::Internet,
            range: None,
        }
    }

    fn tag(name: &str) -> AddrItem {
        AddrItem::Tag {
            name: name.into(),
            expanded: None,
        }
    }

    fn ctx() -> TagContext {
        TagContext {
            vnet_space: Some(vec![net("10.0.0.0/16")]),
            default_route_widens: None,
        }
    }

    #[test]
    fn tags() {
        let c = ctx();
        let proxy = vnet_ep("proxy VM", "10.0.1.0/24");
        assert_eq!(match_addr(&tag("VirtualNetwork"), &proxy, &c), Match::Yes);
        assert_eq!(match_addr(&tag("VirtualNetwork"), &probe(), &c), Match::Yes);
        assert_eq!(
            match_addr(&tag("VirtualNetwork"), &internet(), &c),
            Match::No
        );
        assert_eq!(
            match_addr(&tag("AzureLoadBalancer"), &probe(), &c),
            Match::Yes
        );
        assert_eq!(match_addr(&tag("AzureLoadBalancer"), &proxy, &c), Match::No);
        assert_eq!(match_addr(&tag("Internet"), &internet(), &c), Match::Yes);
        assert_eq!(match_addr(&tag("Internet"), &proxy, &c), Match::No);
        assert!(matches!(
            match_addr(&tag("Internet"), &probe(), &c),
            Match::Maybe(_)
        ));
        assert!(matches!(
            match_addr(&tag("Storage"), &internet(), &c),
            Match::Maybe(_)
        ));
        assert!(matches!(
            match_addr(&AddrItem::Asg("asg1".into()), &proxy, &c),
            Match::Maybe(_)
        ));
        let wide = TagContext {
            default_route_widens: Some("route x".into()),
            ..ctx()
        };
        assert_eq!(
            match_addr(&tag("VirtualNetwork"), &internet(), &wide),
            Match::Yes
        );
    }

    #[test]
    fn expanded_tags_decide_by_range() {
        let c = ctx();
        let expanded = AddrItem::Tag {
            name: "Storage".into(),
            expanded: Some(vec![net("10.0.0.0/16")]),
        };
        assert_eq!(
            match_addr(&expanded, &vnet_ep("build VM", "10.0.1.0/24"), &c),
            Match::Yes
        );
        assert_eq!(
            match_addr(&expanded, &vnet_ep("build VM", "10.9.1.0/24"), &c),
            Match::No
        );
    }

    #[test]
    fn prefixes_against_ranges() {
        let c = ctx();
        let subnet = vnet_ep("proxy VM", "10.0.1.0/24");
        assert_eq!(
            match_addr(&AddrItem::Net(net("10.0.0.0/8")), &subnet, &c),
            Match::Yes
        );
        assert_eq!(
            match_addr(&AddrItem::Net(net("10.1.0.0/16")), &subnet, &c),
            Match::No
        );
        assert!(matches!(
            match_addr(&AddrItem::Net(net("10.0.1.0/25")), &subnet, &c),
            Match::Maybe(_)
        ));
        let host = vnet_ep("proxy VM", "10.0.1.4/32");
        assert_eq!(
            match_addr(&AddrItem::Net(net("10.0.1.0/25")), &host, &c),
            Match::Yes
        );
        assert_eq!(
            match_addr(&AddrItem::Net(net("10.0.0.0/8")), &internet(), &c),
            Match::No
        );
        assert!(matches!(
            match_addr(&AddrItem::Net(net("20.0.0.0/8")), &internet(), &c),
            Match::Maybe(_)
        ));
    }

    #[test]
    fn ports() {
        let list = Ok(vec![PortItem::Range(22, 22), PortItem::Range(60000, 60001)]);
        assert_eq!(match_ports(&list, Some(60001), "p"), Match::Yes);
        assert_eq!(match_ports(&list, Some(5986), "p"), Match::No);
        assert_eq!(match_ports(&Ok(vec![PortItem::Any]), None, "p"), Match::Yes);
        assert!(matches!(
            match_ports(&Ok(vec![PortItem::Range(1024, 65535)]), None, "p"),
            Match::Maybe(_)
        ));
        assert!(matches!(
            match_ports(&Err("x".into()), Some(1), "p"),
            Match::Maybe(_)
        ));
    }
}

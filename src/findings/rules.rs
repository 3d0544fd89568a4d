//! From hop statuses and their sessions to findings: one per distinct
//! problem, each with evidence, likely cause and fix.

use super::Finding;
use crate::aib::{DNS_PORT, FindingId, Hop, HopStatus, KMS_PORT, Severity};
use crate::az::{self, BUILD_PORTS, PROXY_PORTS, PortRange, Protocol};
use crate::hops::{HopReport, Outcome, outcome};
use crate::resource_id::ResourceId;
use crate::sessions::{Decision, Endpoint, Session};
use crate::time::rfc3339;
use crate::topology::Topology;
use std::collections::BTreeMap;

#[cfg(test)]
mod tests;

/// How many example sessions a finding lists.
const EXAMPLES: usize = 3;

/// Rerun the build (names the evidence does not hold).
const REBUILD: az::ImageBuilderRun<'static> = az::ImageBuilderRun {
    resource_group: "<rg>",
    template: "<template>",
    subscription: None,
    no_wait: false,
};

/// Names used in the `az` commands of fixes; placeholders unless known.
#[derive(Debug, Clone)]
pub struct FixNames {
    /// Resource group of the VNET / NSG.
    pub resource_group: String,
    /// NSG name.
    pub nsg: String,
}

impl Default for FixNames {
    fn default() -> Self {
        FixNames {
            resource_group: "<vnet-resource-group>".into(),
            nsg: "<nsg-name>".into(),
        }
    }
}

impl FixNames {
    /// Fill placeholders from the NSG resource id of a flow-log deny (the
    /// NSG that actually blocks), or of any flow-log session.
    pub fn or_from_flow_logs(mut self, sessions: &[Session]) -> Self {
        let defaults = FixNames::default();
        let ids = sessions.iter().filter_map(|s| s.flow.as_deref());
        let nsg_id = ids
            .clone()
            .filter(|f| f.decision == Some(Decision::Deny))
            .chain(ids)
            .find_map(|f| {
                f.nsg
                    .as_deref()
                    .filter(|n| n.to_ascii_lowercase().contains("/networksecuritygroups/"))
            });
        if let Some(id) = nsg_id.map(ResourceId::parse) {
            if self.resource_group == defaults.resource_group
                && let Some(rg) = &id.resource_group
            {
                self.resource_group = rg.clone();
            }
            if self.nsg == defaults.nsg
                && let Some(n) = id.get("networkSecurityGroups")
            {
                self.nsg = n.to_string();
            }
        }
        self
    }
}

/// What every rule reads: the sessions, the inputs, the topology and the
/// hop reports, with the names the fixes and titles use.
struct Ctx<'a> {
    sessions: &'a [Session],
    /// Packets and flow tuples read.
    read: u64,
    inputs: &'a [String],
    topo: &'a Topology,
    hops: &'a [HopReport],
    /// The fix names as shell words: names read from the evidence quoted
    /// when they need it, placeholders as they are.
    shell: FixNames,
    /// The proxy addresses, for titles (`10.0.0.5, 10.0.0.6`).
    proxy: String,
    /// The build VM addresses, for titles.
    build: String,
    /// The proxy's command port for the build's OS.
    pport: u16,
    /// The build VM's port for the build's OS.
    bport: u16,
}

/// Addresses for a title: `10.0.0.5, 10.0.0.6`; past [`TITLE_ADDRESSES`],
/// the first ones and a count (`10.0.0.5, 10.0.0.6, 10.0.0.7 and 3 997
/// more`): a title is read at a glance, and the topology lists them all.
fn addresses(v: &[std::net::IpAddr]) -> String {
    let shown = v
        .iter()
        .take(TITLE_ADDRESSES)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    match v.len().checked_sub(TITLE_ADDRESSES) {
        Some(more) if more > 0 => format!("{shown} and {more} more"),
        _ => shown,
    }
}

/// Addresses named in a title before the rest are counted.
const TITLE_ADDRESSES: usize = 3;

impl<'a> Ctx<'a> {
    fn new(
        sessions: &'a [Session],
        inputs: &'a [String],
        topo: &'a Topology,
        hops: &'a [HopReport],
        names: FixNames,
    ) -> Self {
        let names = names.or_from_flow_logs(sessions);
        Ctx {
            sessions,
            read: 0,
            inputs,
            topo,
            hops,
            shell: FixNames {
                resource_group: az::arg(&names.resource_group).into_owned(),
                nsg: az::arg(&names.nsg).into_owned(),
            },
            proxy: addresses(&topo.roles.proxy),
            build: addresses(&topo.roles.build_vm),
            pport: topo.proxy_port(),
            bport: topo.build_port(),
        }
    }

    /// The report of a hop.
    fn get(&self, h: Hop) -> Option<&'a HopReport> {
        self.hops.iter().find(|r| r.hop == h)
    }

    fn session_line(&self, s: &Session) -> String {
        let seen = crate::ingest::short_paths(
            s.seen_by
                .iter()
                .filter_map(|i| self.inputs.get(i as usize).map(String::as_str)),
        );
        let mut line = format!(
            "{} {} → {} {} history {} at {}",
            s.proto.as_str(),
            Endpoint(s.orig_h, s.orig_p),
            Endpoint(s.resp_h, s.resp_p),
            s.state,
            if s.history.as_str().is_empty() {
                "-"
            } else {
                s.history.as_str()
            },
            rfc3339(s.first_ts, s.ts_digits.min(6)),
        );
        if s.syn_retransmits > 0 {
            line.push_str(&format!(", {} SYN retransmits", s.syn_retransmits));
        }
        if let Some(e) = &s.icmp_error {
            line.push_str(&format!(", ICMP {}", e.describe()));
        }
        if let Some(fl) = &s.flow {
            if let Some(d) = fl.decision {
                line.push_str(&format!(", flow log: {d}"));
            }
            if let Some(r) = &fl.rule {
                line.push_str(&format!(" by {r}"));
            }
        }
        line.push_str(&format!(" (seen by {seen})"));
        line
    }

    /// Evidence lines for a hop: counts, time span, examples of the failing
    /// sessions, and the NSG rules that denied them.
    fn evidence(&self, r: &HopReport, want: &[Outcome]) -> Vec<String> {
        let failing: Vec<&Session> = r
            .sessions
            .iter()
            .filter_map(|&i| self.sessions.get(i))
            .filter(|s| want.contains(&outcome(s)))
            .collect();
        let mut ev = vec![format!(
            "{} of {} session(s) on {} port {}: {} blocked, {} rejected, {} interrupted{}",
            r.failed,
            r.attempts,
            r.hop.label(),
            ports(r),
            r.blocked,
            r.rejected,
            r.interrupted,
            if r.syn_retransmits > 0 {
                format!("; {} SYN retransmits", r.syn_retransmits)
            } else {
                String::new()
            }
        )];
        if let (Some(first), Some(last)) = (
            failing.iter().map(|s| s.first_ts).min(),
            failing.iter().map(|s| s.last_ts).max(),
        ) {
            ev.push(format!(
                "failures from {} to {}",
                rfc3339(first, 3),
                rfc3339(last, 3)
            ));
        }
        let mut rules: BTreeMap<String, usize> = BTreeMap::new();
        for s in &failing {
            if let Some(fl) = &s.flow
                && fl.decision == Some(Decision::Deny)
            {
                let name = match (&fl.rule, &fl.nsg) {
                    (Some(r), Some(n)) => format!("{r} in {}", n.rsplit('/').next().unwrap_or(n)),
                    (Some(r), None) => r.to_string(),
                    _ => "an unnamed rule".to_string(),
                };
                *rules.entry(name).or_default() += 1;
            }
        }
        for (rule, n) in rules {
            ev.push(format!("flow logs: {n} flow(s) denied by {rule}"));
        }
        for s in failing.iter().take(EXAMPLES) {
            ev.push(format!("e.g. {}", self.session_line(s)));
        }
        ev
    }

    /// A TCP allow rule in the NSG of the evidence, above the deny (whose
    /// priority traffic does not tell).
    fn nsg_allow<'b>(
        &'b self,
        name: &'b str,
        sources: &'b str,
        destinations: &'b str,
        ports: &'b [PortRange],
        direction: &'b str,
    ) -> az::NsgAllow<'b> {
        az::NsgAllow {
            resource_group: &self.shell.resource_group,
            nsg: &self.shell.nsg,
            name,
            priority: "<lower than the deny rule>",
            direction,
            protocol: Protocol::Tcp,
            sources,
            source_ports: None,
            destinations,
            ports,
        }
    }
}

/// A hop's ports for a title or evidence line, `-` when none.
fn ports(r: &HopReport) -> String {
    match r.ports_text() {
        p if p.is_empty() => "-".to_string(),
        p => p,
    }
}

fn finding(
    id: FindingId,
    severity: Severity,
    hop: Hop,
    title: String,
    evidence: Vec<String>,
    cause: &str,
    fix: String,
) -> Finding {
    Finding {
        id,
        severity,
        hop,
        title,
        evidence,
        cause: cause.to_string(),
        fix,
    }
}

fn failed(status: HopStatus) -> bool {
    matches!(
        status,
        HopStatus::Blocked | HopStatus::Rejected | HopStatus::Degraded | HopStatus::Interrupted
    )
}

/// Derive the findings for a diagnosed build: one rule per part of the
/// path, each adding what it finds, most severe first.
pub fn findings(
    sessions: &[Session],
    inputs: &[String],
    topo: &Topology,
    hops: &[HopReport],
    names: FixNames,
) -> Vec<Finding> {
    let packets = sessions.iter().map(|s| s.orig.pkts + s.resp.pkts).sum();
    findings_of_read(sessions, packets, inputs, topo, hops, names)
}

/// [`findings`] of the AIB-relevant sessions of evidence of `read` packets
/// and flow tuples (a scan keeps only those sessions; "no AIB traffic" says
/// how much was read).
pub fn findings_of_read(
    sessions: &[Session],
    read: u64,
    inputs: &[String],
    topo: &Topology,
    hops: &[HopReport],
    names: FixNames,
) -> Vec<Finding> {
    let mut cx = Ctx::new(sessions, inputs, topo, hops, names);
    cx.read = read;
    let mut out = Vec::new();
    if topo.roles.proxy.is_empty() && topo.roles.aci.is_empty() && topo.roles.build_vm.is_empty() {
        no_aib_traffic(&cx, &mut out);
        return out;
    }
    for rule in [
        probe_and_command_channel,
        proxy_to_build_vm,
        aci_to_build_vm,
        egress,
        dns,
        no_command_sessions,
        not_observable,
        healthy,
        capture_lost_packets,
    ] {
        rule(&cx, &mut out);
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.hop.cmp(&b.hop))
            .then(a.id.cmp(&b.id))
    });
    out
}

/// No proxy, build VM or ACI at all: the evidence holds no AIB traffic
/// (a warning, not proof of a failure: the verdict is inconclusive).
fn no_aib_traffic(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let inputs = cx.inputs;
    out.push(finding(
        FindingId::NoAibTraffic,
        // Not proof of a failure: the evidence may come from the wrong
        // host or hour. The verdict is "inconclusive".
        Severity::Warning,
        Hop::Deployment,
        "No Image Builder traffic in the evidence".to_string(),
        vec![
            format!("{} packet(s) or flow tuple(s) in {} input(s), none to ports 60000/60001 (proxy) or 22/5986 (build VM) from a host that can be AIB's (see the roles' evidence)", cx.read, inputs.len()),
            "no proxy VM, build VM or ACI could be identified".to_string(),
        ],
        "Either the evidence was collected on the wrong hosts or hours, or the build failed before any traffic: \
         Private Link service network policies still enabled on the build subnet (PrivateLinkServiceCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled), \
         the VNET in another region than the template, missing permissions of the build identity on the VNET, \
         or an Azure Policy denying the staging resources.",
        format!(
            "Check the configuration offline (`aibnet check` with the template, NSG and subnet JSON), and the build's \
             lastRunStatus (`{}`). To disable the policies: {}",
            az::ImageBuilderShow {
                resource_group: "<rg>",
                template: "<template>",
                subscription: None,
                query: Some("lastRunStatus"),
                output: None,
                short_flags: true,
            },
            az::SubnetUpdate {
                resource_group: "<vnet-resource-group>",
                vnet: "<vnet>",
                subnet: "<subnet>",
                change: az::SubnetChange::DisablePlsPolicies,
            }
        ),
    ));
}

/// The health probe and the command channel into the proxy: blocked,
/// or refused by the proxy itself.
fn probe_and_command_channel(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let get = |h: Hop| cx.get(h);
    let proxy = &cx.proxy;
    let pport = cx.pport;
    // The proxy answering the probe with a RST is not a blocked probe: the
    // port is closed, which the command sessions show too.
    let probe_refused = get(Hop::ProbeToProxy).is_some_and(|r| r.status == HopStatus::Rejected);
    if let Some(r) = get(Hop::ProbeToProxy).filter(|r| failed(r.status) && !probe_refused) {
        let sev = if r.status == HopStatus::Degraded {
            Severity::Warning
        } else {
            Severity::Error
        };
        out.push(finding(
            FindingId::ProbeBlocked,
            sev,
            Hop::ProbeToProxy,
            format!("Load balancer health probe to the proxy {proxy}:{} is {}", ports(r), r.status),
            cx.evidence(r, &[Outcome::Blocked, Outcome::Rejected]),
            "An NSG rule (subnet or proxy NIC) denies the AzureLoadBalancer service tag (168.63.129.16) before \
             AllowAzureLoadBalancerInBound, or a guest firewall on the proxy drops it. With the probe down the load \
             balancer marks the proxy unhealthy and forwards no build traffic at all.",
            format!(
                "Allow the probe above the deny rule (the quickstart rule): {} --description \"Allow Image Builder Private Link Access to Proxy VM\"",
                cx.nsg_allow("AzureImageBuilderNsgRule", "AzureLoadBalancer", "VirtualNetwork", &[PROXY_PORTS], "Inbound")
            ),
        ));
    }

    let alb = get(Hop::AlbToProxy).filter(|r| failed(r.status));
    let alb_refused =
        alb.is_some_and(|r| r.rejected > r.blocked && r.status != HopStatus::Degraded);
    if probe_refused && !alb_refused {
        if let Some(r) = get(Hop::ProbeToProxy) {
            out.push(finding(
                FindingId::ProxyPortRejected,
                Severity::Error,
                Hop::ProbeToProxy,
                format!("The proxy {proxy} refuses the health probe on :{}", ports(r)),
                cx.evidence(r, &[Outcome::Rejected]),
                "Nothing listens on the proxy's command port (the proxy service is down or the port is wrong for the OS), \
                 or a guest firewall on the proxy rejects it; the load balancer then marks the proxy down.",
                format!("Check the proxy VM in the staging resource group (IT_...): its service on :{pport} must run. Rebuild to get a fresh proxy: {REBUILD}"),
            ));
        }
    }
    if let Some(r) = alb {
        let rejected = alb_refused;
        let sev = if r.status == HopStatus::Degraded {
            Severity::Warning
        } else {
            Severity::Error
        };
        if rejected {
            out.push(finding(
                FindingId::ProxyPortRejected,
                sev,
                Hop::AlbToProxy,
                format!("The proxy {proxy} refuses command sessions on :{}", ports(r)),
                {
                    let mut ev = cx.evidence(r, &[Outcome::Rejected]);
                    if let Some(p) = get(Hop::ProbeToProxy).filter(|_| probe_refused) {
                        ev.push(format!("the health probe is refused too: {} of {} probe session(s) answered with RST", p.rejected, p.attempts));
                    }
                    ev
                },
                "Nothing listens on the proxy's command port (the proxy service is down or the port is wrong for the OS), \
                 or a guest firewall on the proxy rejects it.",
                format!(
                    "Check the proxy VM in the staging resource group (IT_...): its service on :{pport} must run. Rebuild to get a fresh proxy: \
                     {REBUILD}"
                ),
            ));
        } else {
            out.push(finding(
                FindingId::AlbToProxyBlocked,
                sev,
                Hop::AlbToProxy,
                format!("Command sessions from Private Link to the proxy {proxy}:{} are {}", ports(r), r.status),
                cx.evidence(r, &[Outcome::Blocked]),
                "The Private Link NAT address (in the build subnet) reaches the proxy through AllowVnetInBound; a custom \
                 deny rule placed before it (e.g. DenyAll at priority < 65000) drops the commands. The quickstart \
                 AzureLoadBalancer rule covers only the health probe, not this traffic.",
                format!(
                    "Allow VirtualNetwork to the proxy ports above the deny: {}",
                    cx.nsg_allow("AllowImageBuilderPrivateLinkToProxy", "VirtualNetwork", "VirtualNetwork", &[PROXY_PORTS], "Inbound")
                ),
            ));
        }
    }
}

/// Proxy → build VM: never opened, blocked, refused or cut.
fn proxy_to_build_vm(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let get = |h: Hop| cx.get(h);
    let proxy = &cx.proxy;
    let build = &cx.build;
    let bport = cx.bport;
    if let Some(r) = get(Hop::ProxyToBuildVm) {
        let st = r.stitching.unwrap_or_default();
        match r.status {
            HopStatus::Missing => out.push(finding(
                FindingId::ProxyNotForwarding,
                Severity::Error,
                Hop::ProxyToBuildVm,
                format!("The proxy {proxy} accepts commands but never connects to the build VM"),
                vec![
                    format!("{} command session(s) reached the proxy; the proxy opened no session to :22/:5986", st.commands),
                    format!("observed by {}", r.observed_by.join(", ")),
                ],
                "The proxy cannot reach the build VM at all: an outbound deny on the proxy NIC/subnet NSG that drops \
                 before the capture point, a route, or the build VM was never created.",
                format!(
                    "Allow the proxy to the build VM outbound and inbound: {}; and the same with --direction Outbound",
                    cx.nsg_allow("AllowImageBuilderProxyToBuildVm", "VirtualNetwork", "VirtualNetwork", &BUILD_PORTS, "Inbound")
                ),
            )),
            HopStatus::Blocked | HopStatus::Rejected | HopStatus::Degraded => {
                let rejected = r.rejected > r.blocked;
                let sev = if r.status == HopStatus::Degraded { Severity::Warning } else { Severity::Error };
                let mut ev = cx.evidence(r, &[Outcome::Blocked, Outcome::Rejected]);
                if st.commands > 0 {
                    ev.insert(1, format!("{} command session(s) at the proxy, {} forwarded, {} answered by the build VM", st.commands, st.forwarded, st.answered));
                }
                if rejected {
                    out.push(finding(
                        FindingId::BuildVmPortRejected,
                        sev,
                        Hop::ProxyToBuildVm,
                        format!("The build VM {build} refuses :{} from the proxy", ports(r)),
                        ev,
                        "Nothing listens on the build VM's SSH/WinRM port (service stopped, disabled by a customizer or the \
                         image), or its guest firewall rejects the proxy.",
                        format!("Keep sshd (22) / WinRM over HTTPS (5986) running and open in the guest for the whole build; for Windows use a source image with WinRM enabled. Port {bport} must stay reachable from the build subnet."),
                    ));
                } else {
                    out.push(finding(
                        FindingId::ProxyToBuildVmBlocked,
                        sev,
                        Hop::ProxyToBuildVm,
                        format!("The proxy {proxy} cannot reach the build VM {build} on :{}", ports(r)),
                        ev,
                        "An NSG rule (e.g. Deny-All-Any-Any) denies proxy → build VM on 22/5986: inbound at the build VM's \
                         subnet/NIC NSG or outbound at the proxy's.",
                        format!(
                            "Allow VirtualNetwork → VirtualNetwork TCP 22/5986 inbound and outbound above the deny: {}; then the same with --direction Outbound",
                            cx.nsg_allow("AllowImageBuilderProxyToBuildVm", "VirtualNetwork", "VirtualNetwork", &BUILD_PORTS, "Inbound")
                        ),
                    ));
                }
            }
            HopStatus::Interrupted => out.push(interrupted(cx, r)),
            _ => {}
        }
    }
}

/// ACI → build VM (isolated builds): blocked, refused or cut.
fn aci_to_build_vm(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let get = |h: Hop| cx.get(h);
    let build = &cx.build;
    let topo = cx.topo;
    if let Some(r) = get(Hop::AciToBuildVm) {
        match r.status {
            HopStatus::Blocked | HopStatus::Rejected | HopStatus::Degraded => {
                let sev = if r.status == HopStatus::Degraded {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                let aci = topo
                    .roles
                    .aci
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let (id, title) = if r.status == HopStatus::Rejected {
                    (
                        FindingId::BuildVmPortRejected,
                        format!("The build VM {build} refuses :{} from ACI {aci}", ports(r)),
                    )
                } else {
                    (
                        FindingId::AciToBuildVmBlocked,
                        format!(
                            "ACI {aci} cannot reach the build VM {build} on :{}",
                            ports(r)
                        ),
                    )
                };
                out.push(finding(
                    id,
                    sev,
                    Hop::AciToBuildVm,
                    title,
                    cx.evidence(r, &[Outcome::Blocked, Outcome::Rejected]),
                    "Isolated build (containerInstanceSubnetId): the build subnet's NSG lacks inbound 22/5986 from the ACI \
                     subnet, or the ACI subnet's NSG lacks outbound to the build subnet. ACI-side denies are not in flow logs.",
                    format!(
                        "Allow the ACI subnet to the build subnet on 22 and 5986: {}; and outbound on the ACI subnet's NSG",
                        cx.nsg_allow("AllowImageBuilderAciToBuildVm", "<aci-subnet-prefix>", "<build-subnet-prefix>", &BUILD_PORTS, "Inbound")
                    ),
                ));
            }
            HopStatus::Interrupted => out.push(interrupted(cx, r)),
            _ => {}
        }
    }
}

/// The build VM's outbound connections outside the VNET.
fn egress(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let get = |h: Hop| cx.get(h);
    let build = &cx.build;
    let sessions = cx.sessions;
    if let Some(r) = get(Hop::BuildVmEgress).filter(|r| failed(r.status)) {
        let mut dests: BTreeMap<String, usize> = BTreeMap::new();
        for s in r.sessions.iter().filter_map(|&i| sessions.get(i)) {
            if matches!(outcome(s), Outcome::Blocked | Outcome::Rejected) {
                *dests
                    .entry(Endpoint(s.resp_h, s.resp_p).to_string())
                    .or_default() += 1;
            }
        }
        let mut ev = cx.evidence(r, &[Outcome::Blocked, Outcome::Rejected]);
        ev.insert(
            1,
            format!(
                "unreachable destinations: {}",
                dests
                    .iter()
                    .map(|(d, n)| format!("{d} ({n}x)"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        let sev = if r.status == HopStatus::Degraded {
            Severity::Warning
        } else {
            Severity::Error
        };
        out.push(finding(
            FindingId::BuildVmEgressBlocked,
            sev,
            Hop::BuildVmEgress,
            format!("The build VM {build} cannot reach {} destination(s) outside the VNET", dests.len()),
            ev,
            "Outbound from the build VM is denied (NSG outbound rule or DefaultRule_DenyAllOutBound), sent to a firewall \
             that drops it (UDR 0.0.0.0/0), or the subnet has no outbound method (private subnet without NAT gateway). \
             Customizer scripts then fail to download packages, and Windows cannot activate (KMS 1688).",
            format!(
                "Allow the needed destinations outbound (80/443, 1688 for Windows), or add a NAT gateway / firewall rules: {}",
                cx.nsg_allow("AllowImageBuilderBuildVmEgress", "VirtualNetwork", "Internet", &[PortRange::one(80), PortRange::one(443), PortRange::one(KMS_PORT)], "Outbound")
            ),
        ));
    }
}

/// The build VM's DNS queries.
fn dns(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let get = |h: Hop| cx.get(h);
    let build = &cx.build;
    let sessions = cx.sessions;
    if let Some(r) = get(Hop::BuildVmDns).filter(|r| failed(r.status)) {
        let servers: Vec<String> = {
            let mut v: Vec<String> = r
                .sessions
                .iter()
                .filter_map(|&i| sessions.get(i))
                .map(|s| s.resp_h.to_string())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        out.push(finding(
            FindingId::DnsFailing,
            if r.status == HopStatus::Degraded { Severity::Warning } else { Severity::Error },
            Hop::BuildVmDns,
            format!("DNS queries from the build VM {build} to {} go unanswered", servers.join(", ")),
            cx.evidence(r, &[Outcome::Blocked, Outcome::Rejected]),
            "The VNET's custom DNS server is unreachable from the build subnet (NSG outbound deny on 53, route, or the \
             server is down). Package mirrors and storage then fail by name.",
            format!(
                "Allow UDP and TCP 53 to the DNS servers, or use Azure DNS (168.63.129.16): {}",
                az::NsgAllow {
                    protocol: Protocol::Any,
                    ..cx.nsg_allow("AllowImageBuilderDns", "VirtualNetwork", &servers.join(" "), &[PortRange::one(DNS_PORT)], "Outbound")
                }
            ),
        ));
    }
}

/// The proxy is alive (it answers probes) and its inbound is observed, yet
/// no command session arrived: nothing ran, or the commands die before the
/// proxy's NIC. Only a flow log of the proxy's NSG can tell.
fn no_command_sessions(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let get = |h: Hop| cx.get(h);
    let proxy = &cx.proxy;
    let pport = cx.pport;
    if let (Some(p), Some(a)) = (get(Hop::ProbeToProxy), get(Hop::AlbToProxy))
        && p.status == HopStatus::Ok
        && a.attempts == 0
        && !a.observed_by.is_empty()
    {
        out.push(finding(
            FindingId::NoCommandSessions,
            Severity::Info,
            Hop::AlbToProxy,
            format!("The proxy {proxy} answers health probes but no command session reached it"),
            vec![
                format!("{} probe session(s) answered; 0 sessions to :{pport} from any other source", p.attempts),
                format!("observed by {}", a.observed_by.join(", ")),
            ],
            "Either no build ran in this window, or the commands from the Private Link NAT are dropped before the \
             proxy's NIC (an NSG deny on VirtualNetwork → 60000-60001 above AllowVnetInBound), which a capture on \
             the proxy cannot see.",
            format!(
                "Add the flow log of the proxy's NSG for the build's time window (`aibnet explain` prints the download command); if it shows denies: {}",
                cx.nsg_allow("AllowImageBuilderPrivateLinkToProxy", "VirtualNetwork", "VirtualNetwork", &[PROXY_PORTS], "Inbound")
            ),
        ));
    }
}

/// Honesty: the hops no input could see.
fn not_observable(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let topo = cx.topo;
    let hops = cx.hops;
    for r in hops
        .iter()
        .filter(|r| r.status == HopStatus::NotObserved && r.observed_by.is_empty())
    {
        if !r.hop.applies_to(topo.kind) || (topo.kind.is_none() && r.hop == Hop::AciToBuildVm) {
            continue;
        }
        let where_ = match r.hop {
            Hop::ProbeToProxy | Hop::AlbToProxy => {
                "a capture on the proxy VM, or the flow log of the proxy's NSG"
            }
            Hop::ProxyToBuildVm => "a capture on the proxy or the build VM, or their NSG flow logs",
            Hop::AciToBuildVm => "a capture on the build VM, or the build subnet's flow log",
            Hop::BuildVmEgress | Hop::BuildVmDns => {
                "a capture on the build VM, or its NSG/VNet flow log"
            }
            Hop::Deployment => "the template and subnet configuration",
        };
        out.push(finding(
            FindingId::HopNotObservable,
            Severity::Info,
            r.hop,
            format!("{} was not observed by any capture point", r.hop.label()),
            vec!["no input holds traffic of this hop's hosts".to_string()],
            "The evidence does not cover this hop, so aibnet cannot say whether it works.",
            format!("Add {where_}."),
        ));
    }
}

/// A capture point that dropped packets: TCP data its peer acknowledged
/// that the capture never showed (Zeek's content gaps, `missed_bytes`),
/// in sessions whose payload the snap length did not cut.
/// What such a capture does not show it may also have missed elsewhere —
/// a SYN-ACK, a reply —, so a hop it alone calls unanswered is a warning;
/// otherwise it is worth knowing only. It never makes the verdict broken.
fn capture_lost_packets(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    use crate::sessions::Proto;
    // Inputs that are captures: those with a session no flow log saw (a
    // flow log's sessions always carry its details).
    let captures: std::collections::BTreeSet<u32> = cx
        .sessions
        .iter()
        .filter(|s| s.flow.is_none() && !s.history.as_str().is_empty())
        .flat_map(|s| s.seen_by.iter())
        .collect();
    // Gaps a snap length explains are the capture's choice, not losses.
    let lossy_sessions: Vec<usize> = cx
        .sessions
        .iter()
        .enumerate()
        .filter(|(_, s)| s.proto == Proto::Tcp && s.missed_bytes() > 0 && !s.payload_cut)
        .map(|(i, _)| i)
        .collect();
    if lossy_sessions.is_empty() {
        return;
    }
    // Per capture input: sessions with gaps and bytes missed.
    let mut per: BTreeMap<u32, (usize, u64)> = BTreeMap::new();
    for s in lossy_sessions.iter().filter_map(|&i| cx.sessions.get(i)) {
        let mut inputs: Vec<u32> = s.seen_by.iter().filter(|i| captures.contains(i)).collect();
        if inputs.is_empty() {
            inputs = s.seen_by.iter().collect();
        }
        for input in inputs {
            let e = per.entry(input).or_default();
            e.0 += 1;
            e.1 = e.1.saturating_add(s.missed_bytes());
        }
    }
    let lossy: Vec<&str> = per
        .keys()
        .filter_map(|&i| cx.inputs.get(i as usize).map(String::as_str))
        .collect();
    // A hop reported unanswered that only lossy captures (and no flow log)
    // observed: their "no answer" is the doubtful one.
    let doubtful = cx.hops.iter().find(|r| {
        r.blocked > 0
            && !r.observed_by.is_empty()
            && r.observed_by.iter().all(|o| lossy.contains(&o.as_str()))
    });
    let hop = doubtful.map(|r| r.hop).or_else(|| {
        lossy_sessions.iter().find_map(|i| {
            cx.hops
                .iter()
                .find(|r| r.sessions.contains(i))
                .map(|r| r.hop)
        })
    });
    let mut evidence: Vec<String> = per
        .iter()
        .map(|(&input, (n, missed))| {
            let path = cx.inputs.get(input as usize).map_or("?", String::as_str);
            format!(
                "{path}: {n} TCP session(s) with data acknowledged but never captured, {missed} byte(s) missed"
            )
        })
        .collect();
    evidence.extend(
        lossy_sessions
            .iter()
            .take(EXAMPLES)
            .filter_map(|&i| cx.sessions.get(i))
            .map(|s| {
                format!(
                    "{}, {} byte(s) missed",
                    cx.session_line(s),
                    s.missed_bytes()
                )
            }),
    );
    if let Some(r) = doubtful {
        evidence.push(format!(
            "{} is reported unanswered ({} blocked) from these captures alone",
            r.hop.label(),
            r.blocked
        ));
    }
    out.push(finding(
        FindingId::CaptureLostPackets,
        if doubtful.is_some() {
            Severity::Warning
        } else {
            Severity::Info
        },
        hop.unwrap_or(Hop::ProxyToBuildVm),
        format!(
            "The capture at {} dropped packets: what it does not show may still have been sent",
            crate::ingest::short_paths(lossy.iter().copied())
        ),
        evidence,
        "Gap letters g/G in a history and missed bytes mean the peer acknowledged data this capture never \
         recorded: the capturing host, tcpdump or the Network Watcher session could not keep up (buffer too \
         small, a busy VM) or a capture filter let part of the traffic out. A SYN-ACK or a reply can be lost \
         the same way, so \"no answer\" seen only by this capture is not proof that nothing answered.",
        "Confirm an unanswered hop with a second capture point or the NSG/VNet flow log of the same window; \
         capture again with a larger buffer (`tcpdump -B 16384 -s 0 -w ...`), only the build's hosts and ports, \
         on a VM with CPU to spare."
            .to_string(),
    ));
}

/// Every observed hop works and the command path was seen working.
fn healthy(cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let hops = cx.hops;
    let broken = out.iter().any(|f| f.severity >= Severity::Warning);
    let commands_ok = hops
        .iter()
        .any(|r| r.status == HopStatus::Ok && r.hop.carries_commands());
    if !broken && commands_ok {
        let ok: Vec<String> = hops
            .iter()
            .filter(|r| r.status == HopStatus::Ok)
            .map(|r| format!("{} ({}/{})", r.hop.label(), r.established, r.attempts))
            .collect();
        if !ok.is_empty() {
            out.push(finding(
                FindingId::Healthy,
                Severity::Info,
                hops.iter().find(|r| r.status == HopStatus::Ok).map_or(Hop::ProxyToBuildVm, |r| r.hop),
                "Every observed hop of the build path works".to_string(),
                vec![format!("ok: {}", ok.join(", "))],
                "No network problem in the evidence.",
                "Nothing to fix on the network; if the build failed, read customization.log (`aibnet explain` helps).".to_string(),
            ));
        }
    }
}

fn interrupted(cx: &Ctx<'_>, r: &HopReport) -> Finding {
    let mut ev = cx.evidence(
        r,
        &[Outcome::Interrupted, Outcome::Blocked, Outcome::Rejected],
    );
    ev.insert(
        1,
        format!(
            "{} session(s) established then cut; {} later attempt(s) failed",
            r.interrupted,
            r.blocked + r.rejected
        ),
    );
    finding(
        FindingId::BuildSessionInterrupted,
        Severity::Error,
        r.hop,
        format!("Build sessions to the build VM were cut mid-build on :{}", ports(r)),
        ev,
        "Something on the build VM changed during the build: a customizer script enabled or changed the guest firewall, \
         stopped or reconfigured sshd/WinRM, or the VM rebooted without coming back on 22/5986.",
        "Keep 22/5986 open and the SSH/WinRM service running in the guest during the whole build; move firewall \
         hardening to the last customizer or to a later stage; use a restart customizer with a restartTimeout for reboots."
            .to_string(),
    )
}

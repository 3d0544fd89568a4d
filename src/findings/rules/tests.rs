//! Each rule on its case and not on its neighbours', on hand-built sessions
//! and topologies (addresses: `topology::testing`). Ids, severities, hops
//! and the key evidence lines are asserted, not whole texts.

use super::*;
use crate::aib::Os;
use crate::hops::hops;
use crate::sessions::ConnState;
use crate::sessions::testing::{Build, sessions, tcp, udp};
use crate::topology::testing::{
    self as topo, ACI, BUILD, NAT, PROXY, ip, isolated_build, proxy_build,
};
use crate::topology::{Roles, Topology, Vantage};

/// The NSG of the flow-log denies below.
const NSG_ID: &str = "/subscriptions/0b5e2c4a-7d1f-4c3e-9a8b-1f2e3d4c5b6a/resourceGroups/aib-net-rg/providers/Microsoft.Network/networkSecurityGroups/aib-build-nsg";

fn probe(k: u16) -> Build {
    tcp(
        &format!("168.63.129.16:{}", 50000 + k),
        &format!("{PROXY}:60001"),
    )
    .at(i64::from(k) * 5)
}

fn command(k: u16) -> Build {
    tcp(&format!("{NAT}:{}", 51000 + k), &format!("{PROXY}:60001")).at(100 + i64::from(k) * 60)
}

/// The proxy's SSH to the build VM, a second after command `k`.
fn ssh(k: u16) -> Build {
    tcp(&format!("{PROXY}:{}", 41000 + k), &format!("{BUILD}:22")).at(101 + i64::from(k) * 60)
}

fn aci_ssh(k: u16) -> Build {
    tcp(&format!("{ACI}:{}", 41000 + k), &format!("{BUILD}:22")).at(101 + i64::from(k) * 60)
}

fn egress(k: u16, to: &str) -> Build {
    tcp(&format!("{BUILD}:{}", 52000 + k), to).at(200 + i64::from(k))
}

fn dns(k: u16) -> Build {
    udp(&format!("{BUILD}:{}", 53000 + k), "10.1.0.4:53").at(190 + i64::from(k))
}

/// The probe and a command session reaching the proxy, then `more`.
fn to_the_proxy(more: impl IntoIterator<Item = Build>) -> Vec<Build> {
    with(vec![probe(0).established(), command(0).established()], more)
}

/// A healthy Linux proxy build, every hop once.
fn healthy_proxy() -> Vec<Build> {
    to_the_proxy([
        ssh(0).established(),
        egress(0, "20.60.1.2:443").established(),
        dns(0).pkts(1, 1),
    ])
}

/// The findings of these sessions in this topology (its inputs named
/// `0.pcap`, `1.pcap` ...), with placeholder fix names.
fn run(t: &Topology, v: Vec<Build>) -> Vec<Finding> {
    let s = sessions(v);
    let inputs: Vec<String> = (0..t.vantage.len()).map(|i| format!("{i}.pcap")).collect();
    let h = hops(&s, t, &inputs);
    findings(&s, &inputs, t, &h, FixNames::default())
}

fn linux() -> Topology {
    proxy_build(Some(Os::Linux))
}

/// Only the build VM known, the topology not (the build VM's egress alone).
fn build_vm_only(v: Vantage) -> Topology {
    let t = Topology {
        roles: Roles {
            build_vm: vec![ip(BUILD)],
            ..Roles::default()
        },
        kind: None,
        ..linux()
    };
    topo::seen_by(t, vec![v])
}

fn ids(f: &[Finding]) -> Vec<FindingId> {
    f.iter().map(|f| f.id).collect()
}

/// The id, severity and hop of the one finding there is.
fn only(f: &[Finding]) -> (FindingId, Severity, Hop) {
    assert_eq!(f.len(), 1, "one finding, not {:?}", ids(f));
    (f[0].id, f[0].severity, f[0].hop)
}

fn has_line(f: &Finding, start: &str) -> bool {
    f.evidence.iter().any(|e| e.starts_with(start))
}

fn with(mut base: Vec<Build>, more: impl IntoIterator<Item = Build>) -> Vec<Build> {
    base.extend(more);
    base
}

// ---- no AIB traffic -----------------------------------------------------------

#[test]
fn no_aib_traffic_when_no_role_is_known() {
    let t = topo::seen_by(
        Topology {
            roles: Roles::default(),
            kind: None,
            ..linux()
        },
        vec![Vantage::Segment],
    );
    let f = run(
        &t,
        vec![
            tcp("10.0.0.8:40000", "10.0.0.9:443").established(),
            udp("10.0.0.8:40001", "10.1.0.4:53").pkts(1, 1),
        ],
    );
    assert_eq!(
        only(&f),
        (FindingId::NoAibTraffic, Severity::Warning, Hop::Deployment)
    );
    // 6 + 5 packets and 1 + 1.
    assert!(has_line(
        &f[0],
        "13 packet(s) or flow tuple(s) in 1 input(s), none to ports"
    ));
    // A build VM alone is AIB traffic.
    let t = build_vm_only(Vantage::Segment);
    assert!(
        !ids(&run(&t, vec![egress(0, "20.60.1.2:443").established()]))
            .contains(&FindingId::NoAibTraffic)
    );
}

// ---- healthy ------------------------------------------------------------------

#[test]
fn healthy_when_the_command_path_works_and_nothing_is_broken() {
    let f = run(&linux(), healthy_proxy());
    assert_eq!(
        only(&f),
        (FindingId::Healthy, Severity::Info, Hop::ProbeToProxy)
    );
    assert_eq!(
        f[0].evidence,
        [
            "ok: probe → proxy (1/1), ALB → proxy (1/1), proxy → build VM (1/1), build VM → internet (1/1), build VM → DNS (1/1)"
        ]
    );
}

#[test]
fn not_healthy_without_the_command_path() {
    // The probe and the build VM's egress work; no command was seen.
    let f = run(
        &linux(),
        vec![
            probe(0).established(),
            egress(0, "20.60.1.2:443").established(),
        ],
    );
    assert!(!ids(&f).contains(&FindingId::Healthy), "{:?}", ids(&f));
}

#[test]
fn not_healthy_with_a_warning() {
    let f = run(
        &linux(),
        with(healthy_proxy(), [egress(1, "20.60.1.3:443").unanswered()]),
    );
    assert!(!ids(&f).contains(&FindingId::Healthy), "{:?}", ids(&f));
}

#[test]
fn healthy_beside_hops_no_input_could_see() {
    // A capture on the proxy: the build VM's egress and DNS are unseen.
    let t = topo::seen_by(linux(), vec![Vantage::Host { host: ip(PROXY) }]);
    let f = run(&t, to_the_proxy([ssh(0).established()]));
    assert_eq!(
        ids(&f),
        [
            FindingId::Healthy,
            FindingId::HopNotObservable,
            FindingId::HopNotObservable
        ]
    );
    assert_eq!(f[1].hop, Hop::BuildVmEgress);
    assert_eq!(f[2].hop, Hop::BuildVmDns);
    assert_eq!(f[1].severity, Severity::Info);
    assert_eq!(
        f[1].fix,
        "Add a capture on the build VM, or its NSG/VNet flow log."
    );
}

// ---- probe and command channel ------------------------------------------------

#[test]
fn probe_blocked() {
    let f = run(
        &linux(),
        vec![
            probe(1).unanswered().syn_retransmits(3),
            command(0).established(),
            ssh(0).established(),
        ],
    );
    assert_eq!(
        only(&f),
        (FindingId::ProbeBlocked, Severity::Error, Hop::ProbeToProxy)
    );
    let p = &f[0];
    assert_eq!(
        p.evidence[0],
        "1 of 1 session(s) on probe → proxy port 60001: 1 blocked, 0 rejected, 0 interrupted; 3 SYN retransmits"
    );
    assert!(has_line(
        p,
        "e.g. tcp 168.63.129.16:50001 → 10.0.0.5:60001 S0 history S at "
    ));
    assert!(
        p.fix
            .contains("--source-address-prefixes AzureLoadBalancer")
    );
}

#[test]
fn probe_partly_blocked_is_a_warning() {
    let f = run(&linux(), with(healthy_proxy(), [probe(1).unanswered()]));
    assert_eq!(
        only(&f),
        (
            FindingId::ProbeBlocked,
            Severity::Warning,
            Hop::ProbeToProxy
        )
    );
}

#[test]
fn probe_refused_is_the_proxy_port() {
    let mut v = healthy_proxy();
    v[0] = probe(0).refused();
    let f = run(&linux(), v);
    assert_eq!(
        only(&f),
        (
            FindingId::ProxyPortRejected,
            Severity::Error,
            Hop::ProbeToProxy
        )
    );
}

#[test]
fn commands_blocked_with_the_denying_rule() {
    let f = run(
        &linux(),
        vec![
            probe(0).established(),
            command(0).unanswered(),
            command(1)
                .flow_deny("UserRule_DenyAll")
                .nsg(NSG_ID)
                .lasting(21),
        ],
    );
    assert_eq!(
        only(&f),
        (
            FindingId::AlbToProxyBlocked,
            Severity::Error,
            Hop::AlbToProxy
        )
    );
    let a = &f[0];
    assert_eq!(
        a.evidence[0],
        "2 of 2 session(s) on ALB → proxy port 60001: 2 blocked, 0 rejected, 0 interrupted"
    );
    assert!(
        a.evidence.contains(
            &"flow logs: 1 flow(s) denied by UserRule_DenyAll in aib-build-nsg".to_string()
        ),
        "{:?}",
        a.evidence
    );
    assert_eq!(
        a.evidence[1],
        "failures from 2024-08-19T18:01:40.000Z to 2024-08-19T18:03:01.000Z"
    );
}

#[test]
fn commands_refused_is_the_proxy_port() {
    let f = run(
        &linux(),
        vec![
            probe(0).established(),
            command(0).refused(),
            command(1).refused(),
        ],
    );
    assert_eq!(
        only(&f),
        (
            FindingId::ProxyPortRejected,
            Severity::Error,
            Hop::AlbToProxy
        )
    );
    assert!(!has_line(&f[0], "the health probe is refused too"));
}

#[test]
fn probe_and_commands_refused_make_one_finding() {
    let f = run(&linux(), vec![probe(0).refused(), command(0).refused()]);
    assert_eq!(
        only(&f),
        (
            FindingId::ProxyPortRejected,
            Severity::Error,
            Hop::AlbToProxy
        )
    );
    assert!(has_line(
        &f[0],
        "the health probe is refused too: 1 of 1 probe session(s) answered with RST"
    ));
}

#[test]
fn commands_partly_blocked_is_a_warning() {
    let f = run(&linux(), with(healthy_proxy(), [command(1).unanswered()]));
    assert_eq!(
        only(&f),
        (
            FindingId::AlbToProxyBlocked,
            Severity::Warning,
            Hop::AlbToProxy
        )
    );
}

// ---- proxy → build VM ---------------------------------------------------------

#[test]
fn proxy_not_forwarding() {
    let f = run(&linux(), to_the_proxy([command(1).established()]));
    assert_eq!(
        only(&f),
        (
            FindingId::ProxyNotForwarding,
            Severity::Error,
            Hop::ProxyToBuildVm
        )
    );
    let p = &f[0];
    assert_eq!(
        p.evidence,
        [
            "2 command session(s) reached the proxy; the proxy opened no session to :22/:5986",
            "observed by 0.pcap"
        ]
    );
}

#[test]
fn proxy_to_build_vm_blocked() {
    let f = run(
        &linux(),
        to_the_proxy([ssh(0).unanswered().syn_retransmits(6)]),
    );
    assert_eq!(
        only(&f),
        (
            FindingId::ProxyToBuildVmBlocked,
            Severity::Error,
            Hop::ProxyToBuildVm
        )
    );
    let p = &f[0];
    assert_eq!(
        p.evidence[1],
        "1 command session(s) at the proxy, 1 forwarded, 0 answered by the build VM"
    );
    assert!(p.title.contains("10.0.0.5") && p.title.contains("10.0.0.6"));
    assert!(
        p.fix
            .contains("--resource-group <vnet-resource-group> --nsg-name <nsg-name>"),
        "{}",
        p.fix
    );
}

#[test]
fn build_vm_port_rejected_from_the_proxy() {
    let f = run(&linux(), to_the_proxy([ssh(0).refused()]));
    assert_eq!(
        only(&f),
        (
            FindingId::BuildVmPortRejected,
            Severity::Error,
            Hop::ProxyToBuildVm
        )
    );
}

#[test]
fn proxy_to_build_vm_partly_blocked_is_a_warning() {
    let f = run(
        &linux(),
        with(
            healthy_proxy(),
            [command(1).established(), ssh(1).unanswered()],
        ),
    );
    assert_eq!(
        only(&f),
        (
            FindingId::ProxyToBuildVmBlocked,
            Severity::Warning,
            Hop::ProxyToBuildVm
        )
    );
}

#[test]
fn build_session_interrupted() {
    let f = run(
        &linux(),
        with(
            healthy_proxy(),
            [
                command(1).established(),
                ssh(1).state(ConnState::RSTR).history("ShADadr").pkts(9, 8),
                command(2).established(),
                ssh(2).unanswered(),
            ],
        ),
    );
    assert_eq!(
        only(&f),
        (
            FindingId::BuildSessionInterrupted,
            Severity::Error,
            Hop::ProxyToBuildVm
        )
    );
    let i = &f[0];
    assert_eq!(
        i.evidence[1],
        "1 session(s) established then cut; 1 later attempt(s) failed"
    );
}

// ---- ACI → build VM -----------------------------------------------------------

#[test]
fn aci_to_build_vm_blocked_refused_degraded_cut() {
    let t = isolated_build();
    let one = |v: Vec<Build>| only(&run(&t, v));
    use FindingId::*;
    assert_eq!(
        one(vec![aci_ssh(0).unanswered()]),
        (AciToBuildVmBlocked, Severity::Error, Hop::AciToBuildVm)
    );
    assert_eq!(
        one(vec![aci_ssh(0).refused()]),
        (BuildVmPortRejected, Severity::Error, Hop::AciToBuildVm)
    );
    assert_eq!(
        one(vec![aci_ssh(0).established(), aci_ssh(1).unanswered()]),
        (AciToBuildVmBlocked, Severity::Warning, Hop::AciToBuildVm)
    );
    assert_eq!(
        one(vec![
            aci_ssh(0)
                .state(ConnState::RSTR)
                .history("ShADadr")
                .pkts(9, 8)
        ]),
        (BuildSessionInterrupted, Severity::Error, Hop::AciToBuildVm)
    );
    // Working: healthy, on the ACI hop; the proxy hops are not reported
    // as unobservable.
    assert_eq!(
        one(vec![aci_ssh(0).established()]),
        (Healthy, Severity::Info, Hop::AciToBuildVm)
    );
}

// ---- egress and DNS -----------------------------------------------------------

#[test]
fn egress_blocked_lists_the_destinations() {
    let f = run(
        &linux(),
        to_the_proxy([
            ssh(0).established(),
            egress(0, "20.60.1.2:443").unanswered(),
            egress(1, "20.60.1.2:443").unanswered(),
            egress(2, "13.107.4.50:80").refused(),
        ]),
    );
    assert_eq!(
        only(&f),
        (
            FindingId::BuildVmEgressBlocked,
            Severity::Error,
            Hop::BuildVmEgress
        )
    );
    let e = &f[0];
    assert_eq!(
        e.evidence[1],
        "unreachable destinations: 13.107.4.50:80 (1x), 20.60.1.2:443 (2x)"
    );
    assert_eq!(
        e.title,
        "The build VM 10.0.0.6 cannot reach 2 destination(s) outside the VNET"
    );
}

#[test]
fn egress_partly_blocked_is_a_warning() {
    let f = run(
        &linux(),
        with(healthy_proxy(), [egress(1, "20.60.1.3:443").unanswered()]),
    );
    assert_eq!(
        only(&f),
        (
            FindingId::BuildVmEgressBlocked,
            Severity::Warning,
            Hop::BuildVmEgress
        )
    );
    assert_eq!(
        f[0].evidence[1],
        "unreachable destinations: 20.60.1.3:443 (1x)"
    );
}

#[test]
fn dns_failing() {
    let mut v = healthy_proxy();
    v[4] = dns(0).pkts(3, 0);
    let f = run(&linux(), v);
    assert_eq!(
        only(&f),
        (FindingId::DnsFailing, Severity::Error, Hop::BuildVmDns)
    );
    let d = &f[0];
    assert!(d.title.contains("to 10.1.0.4 go unanswered"), "{}", d.title);
    assert!(d.fix.contains("--protocol '*'"), "{}", d.fix);
    assert!(d.fix.contains("--destination-address-prefixes 10.1.0.4 "));
    let f = run(&linux(), with(healthy_proxy(), [dns(1).pkts(3, 0)]));
    assert_eq!(
        only(&f),
        (FindingId::DnsFailing, Severity::Warning, Hop::BuildVmDns)
    );
}

// ---- no command sessions, not observable --------------------------------------

#[test]
fn probe_answered_and_no_command_session() {
    let f = run(
        &linux(),
        vec![probe(0).established(), probe(1).established()],
    );
    assert_eq!(
        only(&f),
        (
            FindingId::NoCommandSessions,
            Severity::Info,
            Hop::AlbToProxy
        )
    );
    let n = &f[0];
    assert_eq!(
        n.evidence,
        [
            "2 probe session(s) answered; 0 sessions to :60001 from any other source",
            "observed by 0.pcap"
        ]
    );
    // Not when the command channel was not observable.
    let mut t = topo::seen_by(
        linux(),
        vec![Vantage::Host {
            host: ip("168.63.129.16"),
        }],
    );
    t.roles.private_link_nat.clear();
    let f = run(&t, vec![probe(0).established()]);
    assert!(
        !ids(&f).contains(&FindingId::NoCommandSessions),
        "{:?}",
        ids(&f)
    );
}

#[test]
fn hops_not_observable_except_the_other_topologys() {
    let not_observable = |t: &Topology| -> Vec<Hop> {
        run(t, vec![])
            .iter()
            .filter(|f| f.id == FindingId::HopNotObservable)
            .map(|f| f.hop)
            .collect()
    };
    // The topology unknown: the ACI hop is left out too.
    let unknown = build_vm_only(Vantage::Empty);
    assert_eq!(
        not_observable(&unknown),
        [
            Hop::ProbeToProxy,
            Hop::AlbToProxy,
            Hop::ProxyToBuildVm,
            Hop::BuildVmEgress,
            Hop::BuildVmDns
        ]
    );
    let isolated = topo::seen_by(isolated_build(), vec![Vantage::Empty]);
    assert_eq!(
        not_observable(&isolated),
        [Hop::AciToBuildVm, Hop::BuildVmEgress, Hop::BuildVmDns]
    );
    let proxy = topo::seen_by(linux(), vec![Vantage::Empty]);
    assert_eq!(
        not_observable(&proxy),
        [
            Hop::ProbeToProxy,
            Hop::AlbToProxy,
            Hop::ProxyToBuildVm,
            Hop::BuildVmEgress,
            Hop::BuildVmDns
        ]
    );
    // Seen: none.
    assert!(not_observable(&linux()).is_empty());
}

// ---- order --------------------------------------------------------------------

#[test]
fn findings_are_ordered_by_severity_then_path() {
    let f = run(
        &linux(),
        vec![
            probe(0).established(),
            probe(1).unanswered(),
            command(0).established(),
            ssh(0).unanswered(),
            egress(0, "20.60.1.2:443").unanswered(),
            dns(0).pkts(1, 1),
            dns(1).pkts(2, 0),
        ],
    );
    assert_eq!(
        f.iter().map(|f| (f.id, f.severity)).collect::<Vec<_>>(),
        [
            (FindingId::ProxyToBuildVmBlocked, Severity::Error),
            (FindingId::BuildVmEgressBlocked, Severity::Error),
            (FindingId::ProbeBlocked, Severity::Warning),
            (FindingId::DnsFailing, Severity::Warning),
        ]
    );
}

#[test]
fn within_a_severity_path_order_comes_before_the_id() {
    // A capture point that saw the command channel only: "healthy" is
    // about ALB → proxy, after the probe hop nobody could see.
    let t = topo::seen_by(linux(), vec![Vantage::Host { host: ip(NAT) }]);
    let f = run(&t, vec![command(0).established()]);
    assert_eq!(
        f.iter().map(|f| (f.id, f.hop)).collect::<Vec<_>>(),
        [
            (FindingId::HopNotObservable, Hop::ProbeToProxy),
            (FindingId::Healthy, Hop::AlbToProxy),
            (FindingId::HopNotObservable, Hop::ProxyToBuildVm),
            (FindingId::HopNotObservable, Hop::BuildVmEgress),
            (FindingId::HopNotObservable, Hop::BuildVmDns),
        ]
    );
}

// ---- fix names ----------------------------------------------------------------

fn names_from(v: Vec<Build>) -> (String, String) {
    let n = FixNames::default().or_from_flow_logs(&sessions(v));
    (n.resource_group, n.nsg)
}

fn pair(rg: &str, nsg: &str) -> (String, String) {
    (rg.to_string(), nsg.to_string())
}

#[test]
fn fix_names_from_the_denying_nsg_first() {
    let allow = "/subscriptions/s/resourceGroups/rg-allow/providers/Microsoft.Network/networkSecurityGroups/nsg-allow";
    assert_eq!(
        names_from(vec![
            command(0).established().flow_allow("BE").nsg(allow),
            command(1).flow_deny("DenyAll").nsg(NSG_ID),
        ]),
        pair("aib-net-rg", "aib-build-nsg")
    );
    assert_eq!(
        names_from(vec![command(0).established().flow_allow("BE").nsg(allow)]),
        pair("rg-allow", "nsg-allow")
    );
    // NSG flow logs write ids in capitals.
    assert_eq!(
        names_from(vec![
            command(0).flow_deny("DenyAll").nsg(&NSG_ID.to_uppercase())
        ]),
        pair("AIB-NET-RG", "AIB-BUILD-NSG")
    );
    // A VNet flow log's AVNM or platform ACL is no NSG: placeholders stay.
    assert_eq!(
        names_from(vec![
            command(0)
                .flow_deny("PlatformRule")
                .nsg("00000000-0000-0000-0000-000000000000")
        ]),
        pair("<vnet-resource-group>", "<nsg-name>")
    );
    assert_eq!(
        names_from(vec![command(0).unanswered()]),
        pair("<vnet-resource-group>", "<nsg-name>")
    );
}

#[test]
fn fix_names_given_are_kept() {
    let given = FixNames {
        resource_group: "my-rg".into(),
        nsg: "my-nsg".into(),
    }
    .or_from_flow_logs(&sessions([command(0).flow_deny("DenyAll").nsg(NSG_ID)]));
    assert_eq!(
        (given.resource_group.as_str(), given.nsg.as_str()),
        ("my-rg", "my-nsg")
    );
    // One given, the other from the evidence.
    let half = FixNames {
        nsg: "my-nsg".into(),
        ..FixNames::default()
    }
    .or_from_flow_logs(&sessions([command(0).flow_deny("DenyAll").nsg(NSG_ID)]));
    assert_eq!(
        (half.resource_group.as_str(), half.nsg.as_str()),
        ("aib-net-rg", "my-nsg")
    );
}

#[test]
fn fix_quotes_names_read_from_the_evidence() {
    let id = NSG_ID.replace("aib-build-nsg", "aib nsg's");
    let f = run(
        &linux(),
        vec![
            probe(0).established(),
            command(0).flow_deny("DenyAll").nsg(&id),
        ],
    );
    assert_eq!(only(&f).0, FindingId::AlbToProxyBlocked);
    let a = &f[0];
    assert!(
        a.fix
            .contains("--resource-group aib-net-rg --nsg-name 'aib nsg'\\''s' --name"),
        "{}",
        a.fix
    );
}

// ---- capture lost packets -------------------------------------------------------

/// Gaps in a healthy build's capture: worth knowing (info), on the hop of
/// the lossy session, and the build stays healthy.
#[test]
fn capture_lost_packets_is_info_beside_a_healthy_build() {
    let mut v = healthy_proxy();
    v[2] = ssh(0).established().history("ShADadgFf").missed(1448);
    let f = run(&linux(), v);
    assert_eq!(ids(&f), [FindingId::Healthy, FindingId::CaptureLostPackets]);
    let lost = &f[1];
    assert_eq!(
        (lost.severity, lost.hop),
        (Severity::Info, Hop::ProxyToBuildVm)
    );
    assert!(
        has_line(
            lost,
            "0.pcap: 1 TCP session(s) with data acknowledged but never captured, 1448 byte(s) missed"
        ),
        "{:?}",
        lost.evidence
    );
}

/// A hop reported unanswered by the lossy capture alone: a warning on that
/// hop, beside the hop's own finding.
#[test]
fn capture_lost_packets_warns_when_only_a_lossy_capture_saw_no_answer() {
    let f = run(
        &linux(),
        to_the_proxy([
            ssh(0).unanswered(),
            egress(0, "20.60.1.2:443").established().missed(2902),
        ]),
    );
    let lost = f
        .iter()
        .find(|f| f.id == FindingId::CaptureLostPackets)
        .expect("capture_lost_packets");
    assert_eq!(
        (lost.severity, lost.hop),
        (Severity::Warning, Hop::ProxyToBuildVm)
    );
    assert!(
        has_line(lost, "proxy → build VM is reported unanswered"),
        "{:?}",
        lost.evidence
    );
    assert!(ids(&f).contains(&FindingId::ProxyToBuildVmBlocked));
    // Without gaps, no such finding.
    let f = run(&linux(), to_the_proxy([ssh(0).unanswered()]));
    assert!(!ids(&f).contains(&FindingId::CaptureLostPackets));
}

/// A title names a few addresses and counts the rest (the adversarial
/// bench's 4 000 "proxies" made a 70 KB title); up to the limit, all.
#[test]
fn titles_name_a_few_addresses_and_count_the_rest() {
    let v: Vec<std::net::IpAddr> = (1..=5u8)
        .map(|i| std::net::IpAddr::from([10, 0, 0, i]))
        .collect();
    assert_eq!(
        super::addresses(&v),
        "10.0.0.1, 10.0.0.2, 10.0.0.3 and 2 more"
    );
    assert_eq!(super::addresses(&v[..3]), "10.0.0.1, 10.0.0.2, 10.0.0.3");
    assert_eq!(super::addresses(&v[..1]), "10.0.0.1");
    assert_eq!(super::addresses(&[]), "");
}

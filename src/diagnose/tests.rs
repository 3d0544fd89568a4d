//! Verdicts and the joining of configuration, on hand-built sessions
//! (addresses: `topology::testing`) and a hand-built `check` report or a
//! configuration given as bytes.

use super::*;
use crate::aib::{Hop, Os};
use crate::check::{At, CheckVerdict, FlowRow, StepVerdict};
use crate::sessions::testing::{Build, sessions, tcp, udp};
use crate::topology::testing::{BUILD, NAT, PROXY, input};

fn probe() -> Build {
    tcp("168.63.129.16:50000", &format!("{PROXY}:60001")).established()
}

fn command() -> Build {
    tcp(&format!("{NAT}:51000"), &format!("{PROXY}:60001"))
        .established()
        .at(10)
}

fn ssh() -> Build {
    tcp(&format!("{PROXY}:41000"), &format!("{BUILD}:22")).at(11)
}

fn analysis(formats: &[Format], v: Vec<Build>) -> Analysis {
    Analysis {
        inputs: formats
            .iter()
            .enumerate()
            .map(|(i, f)| input(&format!("input{i}"), *f))
            .collect(),
        sessions: sessions(v),
        skipped: vec![],
        sweepers: vec![],
        noise: vec![],
    }
}

/// Diagnose a capture of these sessions and the build VM's DNS (which
/// makes it a capture of the segment, that sees every hop).
fn run(mut v: Vec<Build>) -> Diagnosis {
    v.push(
        udp(&format!("{BUILD}:53000"), "10.1.0.4:53")
            .pkts(1, 1)
            .at(5),
    );
    diagnose(&analysis(&[Format::Pcap], v), &Options::default())
}

fn ids(d: &Diagnosis) -> Vec<FindingId> {
    d.findings.iter().map(|f| f.id).collect()
}

// ---- verdicts -----------------------------------------------------------------

#[test]
fn broken_on_an_error_or_a_warning() {
    let d = run(vec![probe(), command(), ssh().unanswered()]);
    assert_eq!(d.verdict, Verdict::Broken);
    assert_eq!(d.worst(), Some(Severity::Error));
    assert_eq!(
        d.first_broken_hop().map(|h| h.hop),
        Some(Hop::ProxyToBuildVm)
    );
    // One SSH session of two unanswered: degraded, a warning, still broken.
    let d = run(vec![
        probe(),
        command(),
        ssh().established(),
        tcp(&format!("{PROXY}:41001"), &format!("{BUILD}:22"))
            .unanswered()
            .at(12),
    ]);
    assert_eq!(d.worst(), Some(Severity::Warning));
    assert_eq!(d.verdict, Verdict::Broken);
}

#[test]
fn healthy_when_the_command_path_works() {
    let d = run(vec![probe(), command(), ssh().established()]);
    assert_eq!(d.verdict, Verdict::Healthy);
    assert_eq!(ids(&d), [FindingId::Healthy]);
    assert!(d.first_broken_hop().is_none());
}

#[test]
fn inconclusive_with_the_probe_alone() {
    let d = run(vec![probe()]);
    // Without the proxy's SSH the build VM is not known: its hops are not
    // observable.
    assert_eq!(
        ids(&d),
        [
            FindingId::NoCommandSessions,
            FindingId::HopNotObservable,
            FindingId::HopNotObservable
        ]
    );
    assert_eq!(d.verdict, Verdict::Inconclusive);
}

#[test]
fn no_aib_traffic_is_inconclusive_and_ignored_for_configuration_only() {
    let other = || {
        vec![
            tcp("10.0.0.8:40000", "10.0.0.9:443").established(),
            udp("10.0.0.8:40001", "10.1.0.4:53").pkts(1, 1),
        ]
    };
    let d = run(other());
    assert_eq!(ids(&d), [FindingId::NoAibTraffic]);
    assert_eq!(d.verdict, Verdict::Inconclusive);
    for traffic in [Format::Pcapng, Format::FlowLog] {
        let d = diagnose(&analysis(&[traffic], vec![]), &Options::default());
        assert_eq!(ids(&d), [FindingId::NoAibTraffic], "{traffic:?}");
    }
    // Only configuration among the inputs: the absence of traffic says
    // nothing.
    let d = diagnose(&analysis(&[Format::Json], vec![]), &Options::default());
    assert!(d.findings.is_empty(), "{:?}", ids(&d));
    assert_eq!(d.verdict, Verdict::Inconclusive);
}

/// A host that both receives the command port and is a build VM (noise on
/// the AIB ports can make one) is one node of the build groups: it once
/// left a second "build" of its own, with no session, beside the real one.
#[test]
fn a_host_in_two_roles_is_not_a_second_build() {
    let third = "10.0.0.77";
    let d = run(vec![
        probe(),
        command(),
        ssh().established(),
        tcp(&format!("{NAT}:51001"), &format!("{BUILD}:60001"))
            .established()
            .at(12),
        tcp(&format!("{BUILD}:41001"), &format!("{third}:22"))
            .established()
            .at(13),
    ]);
    let roles = &d.topology.roles;
    assert!(roles.proxy.contains(&BUILD.parse().unwrap()), "{roles:?}");
    assert!(
        roles.build_vm.contains(&BUILD.parse().unwrap()),
        "{roles:?}"
    );
    assert!(
        !ids(&d).contains(&FindingId::SeveralBuilds),
        "{:?}",
        ids(&d)
    );
    assert!(d.builds.is_empty(), "{} builds", d.builds.len());
}

#[test]
fn hints_reach_the_topology() {
    let opts = Options {
        hints: Hints {
            os: Some(Os::Windows),
            ..Hints::default()
        },
        ..Options::default()
    };
    let d = diagnose(&analysis(&[Format::Pcap], vec![probe(), command()]), &opts);
    assert_eq!(d.topology.os, Some(Os::Windows));
}

// ---- join_config --------------------------------------------------------------

fn deny_row(hop: Hop, port: u16) -> FlowRow {
    FlowRow {
        hop,
        flow: "proxy VM → build VM".into(),
        src: "10.0.0.5/32".into(),
        dst: "10.0.0.6/32".into(),
        proto: crate::check::Proto::Tcp,
        port,
        direction: Some(crate::check::Direction::Inbound),
        at: At::BuildSubnet,
        verdict: StepVerdict::Deny,
        nsg: Some("aib-build-nsg".into()),
        rule: Some("DenyAll-Inbound".into()),
        priority: Some(1000),
        rule_text: None,
        reason: None,
        required: true,
        flow_id: 0,
        deny_floor: Some(1000),
    }
}

fn check_finding(id: FindingId, severity: Severity, hop: Hop, fix: &str) -> Finding {
    Finding {
        id,
        severity,
        hop,
        title: format!("{id} on {hop}"),
        evidence: vec!["from check".into()],
        cause: "a rule".into(),
        fix: fix.into(),
    }
}

fn check_report(flows: Vec<FlowRow>, findings: Vec<Finding>) -> crate::check::CheckReport {
    crate::check::CheckReport {
        schema_version: crate::check::SCHEMA_VERSION,
        verdict: CheckVerdict::Blocked,
        topology: crate::aib::TopologyKind::Proxy,
        os: Some(Os::Linux),
        flows,
        findings,
        hops: vec![],
        inputs: vec![],
        skipped: vec![],
        notes: vec![],
    }
}

const EXACT_FIX: &str = "az network nsg rule create --resource-group aib-net-rg --nsg-name aib-build-nsg --name AllowAibSsh --priority 990";

/// `check` finding SSH to the build VM denied by DenyAll-Inbound.
fn ssh_denied() -> crate::check::CheckReport {
    check_report(
        vec![deny_row(Hop::ProxyToBuildVm, 22)],
        vec![check_finding(
            FindingId::NsgRuleBlocksHop,
            Severity::Error,
            Hop::ProxyToBuildVm,
            EXACT_FIX,
        )],
    )
}

#[test]
fn a_denying_rule_explains_a_blocked_hop() {
    let mut d = run(vec![probe(), command(), ssh().unanswered()]);
    join_config(&mut d, &ssh_denied());
    // The traffic's finding, explained; the configuration's not repeated.
    assert_eq!(ids(&d), [FindingId::ProxyToBuildVmBlocked]);
    let f = &d.findings[0];
    assert_eq!(
        f.evidence.last().map(String::as_str),
        Some(
            "configuration: aib-build-nsg rule DenyAll-Inbound (priority 1000) denies 10.0.0.5/32 → 10.0.0.6/32 Tcp/22"
        )
    );
    assert_eq!(f.fix, EXACT_FIX);
    assert_eq!(d.verdict, Verdict::Broken);
}

#[test]
fn a_rule_on_another_port_of_the_hop_still_explains_it() {
    let mut d = run(vec![probe(), command(), ssh().unanswered()]);
    join_config(
        &mut d,
        &check_report(vec![deny_row(Hop::ProxyToBuildVm, 5986)], vec![]),
    );
    assert!(
        d.findings[0]
            .evidence
            .last()
            .is_some_and(|e| e.ends_with("Tcp/5986")),
        "{:?}",
        d.findings[0].evidence
    );
    // The fix stays the traffic's when check has no error finding for the hop.
    assert!(d.findings[0].fix.starts_with("Allow VirtualNetwork"));
}

#[test]
fn a_rule_of_another_hop_explains_nothing() {
    let mut d = run(vec![probe(), command(), ssh().unanswered()]);
    let before = d.findings.clone();
    join_config(
        &mut d,
        &check_report(vec![deny_row(Hop::BuildVmDns, 53)], vec![]),
    );
    assert_eq!(d.findings, before);
}

#[test]
fn a_configuration_finding_of_a_hop_seen_working_is_a_warning() {
    let mut d = run(vec![probe(), command(), ssh().established()]);
    join_config(&mut d, &ssh_denied());
    let f = d
        .findings
        .iter()
        .find(|f| f.id == FindingId::NsgRuleBlocksHop)
        .unwrap();
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.evidence,
        [
            "from check",
            "but the traffic evidence shows this hop working"
        ]
    );
}

#[test]
fn configuration_findings_the_traffic_cannot_show_are_added() {
    let mut d = run(vec![probe(), command(), ssh().established()]);
    join_config(
        &mut d,
        &check_report(
            vec![],
            vec![
                check_finding(
                    FindingId::PlsNetworkPoliciesEnabled,
                    Severity::Error,
                    Hop::Deployment,
                    "az network vnet subnet update",
                ),
                check_finding(
                    FindingId::RuleNotEvaluated,
                    Severity::Info,
                    Hop::ProxyToBuildVm,
                    "",
                ),
            ],
        ),
    );
    // Errors first; the info finding is not joined; a broken verdict
    // drops "healthy".
    assert_eq!(ids(&d), [FindingId::PlsNetworkPoliciesEnabled]);
    let f = &d.findings[0];
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.evidence.last().map(String::as_str),
        Some("from the configuration only: no traffic evidence of this hop")
    );
    assert_eq!(d.verdict, Verdict::Broken);
}

// ---- a configuration given as bytes -------------------------------------------

const SUBNET: &str = r#"{"name": "aib-build", "addressPrefix": "10.0.0.0/24",
  "id": "/subscriptions/s/resourceGroups/aib-net-rg/providers/Microsoft.Network/virtualNetworks/aib-vnet/subnets/aib-build",
  "networkSecurityGroup": {"id": "/subscriptions/s/resourceGroups/aib-net-rg/providers/Microsoft.Network/networkSecurityGroups/aib-build-nsg"}}"#;

const NSG: &str = r#"{"name": "aib-build-nsg",
  "id": "/subscriptions/s/resourceGroups/aib-net-rg/providers/Microsoft.Network/networkSecurityGroups/aib-build-nsg",
  "securityRules": [{"name": "DenySsh", "priority": 1000, "direction": "Inbound", "access": "Deny",
    "protocol": "Tcp", "sourceAddressPrefix": "*", "sourcePortRange": "*",
    "destinationAddressPrefix": "*", "destinationPortRange": "22"}]}"#;

#[test]
fn diagnose_joins_a_configuration_evaluated_for_the_roles_seen() {
    let mut cfg = Config::default();
    for (name, json) in [("subnet.json", SUBNET), ("nsg.json", NSG)] {
        cfg.add_file(std::path::Path::new(name), json.as_bytes())
            .unwrap();
    }
    let opts = Options {
        config: Some(cfg),
        ..Options::default()
    };
    let d = diagnose(
        &analysis(
            &[Format::Pcap],
            vec![probe(), command(), ssh().unanswered()],
        ),
        &opts,
    );
    let f = d
        .findings
        .iter()
        .find(|f| f.id == FindingId::ProxyToBuildVmBlocked)
        .unwrap();
    assert!(
        f.evidence.iter().any(|e| e.starts_with(
            "configuration: aib-build-nsg rule DenySsh (priority 1000) denies 10.0.0.5"
        )),
        "{:?}",
        f.evidence
    );
    assert_eq!(d.verdict, Verdict::Broken);
}

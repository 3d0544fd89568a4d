//! Role inference, OS votes and capture vantage on hand-built sessions
//! (addresses: `testing`). Only what should outlive a rework of inference
//! is pinned here: proxies from the command port, probe and Private Link
//! NAT, build VMs from proxies, ACI, hints, OS votes and vantage.

use super::testing::{ACI, BUILD, NAT, PROXY, input, ip};
use super::*;
use crate::sessions::testing::{Build, sessions, tcp, udp};

fn segment() -> Vec<InputReport> {
    vec![input("segment.pcap", Format::Pcap)]
}

fn infer_with(v: Vec<Build>, hints: &Hints) -> Topology {
    infer(&sessions(v), &segment(), hints)
}

fn inferred(v: Vec<Build>) -> Topology {
    infer_with(v, &Hints::default())
}

fn ips(v: &[&str]) -> Vec<IpAddr> {
    v.iter().map(|s| ip(s)).collect()
}

fn has(t: &Topology, line: &str) -> bool {
    t.evidence.iter().any(|e| e == line)
}

/// A command session from `from` (port 50000 + k) to the proxy's `port`.
fn to_proxy(from: &str, k: u16, port: u16) -> Build {
    tcp(&format!("{from}:{}", 50000 + k), &format!("{PROXY}:{port}"))
}

/// `from` opening `port` on `to`.
fn open(from: &str, to: &str, port: u16) -> Build {
    tcp(&format!("{from}:41000"), &format!("{to}:{port}"))
}

// ---- proxy, probe, Private Link NAT -------------------------------------------

#[test]
fn proxy_from_the_command_port_attempts_and_denies_included() {
    let t = inferred(vec![
        to_proxy(NAT, 0, 60001).established(),
        to_proxy(NAT, 1, 60001).unanswered().at(5),
        to_proxy(NAT, 2, 60001).flow_deny("UserRule_DenyAll").at(10),
    ]);
    assert_eq!(t.roles.proxy, ips(&[PROXY]));
    assert!(
        has(&t, "proxy 10.0.0.5: receives 3 session(s) on 60000/60001"),
        "{:?}",
        t.evidence
    );
    assert_eq!(t.roles.private_link_nat, ips(&[NAT]));
    assert!(has(
        &t,
        "private link NAT 10.0.0.4: opens command sessions to the proxy :60001"
    ));
    assert_eq!(t.kind, Some(TopologyKind::Proxy));
    // No probe in the evidence: the Azure host IP is assumed.
    assert_eq!(t.roles.probe, [AZURE_HOST_IP]);
    assert!(t.roles.build_vm.is_empty() && t.roles.aci.is_empty());
}

#[test]
fn udp_to_the_command_port_makes_no_proxy() {
    let t = inferred(vec![
        udp(&format!("{NAT}:50000"), &format!("{PROXY}:60001")).pkts(1, 1),
    ]);
    assert!(t.roles.proxy.is_empty());
    assert_eq!(t.kind, None);
    assert!(t.roles.probe.is_empty());
}

#[test]
fn the_probe_is_the_azure_host_ip_and_every_other_source_is_nat() {
    let t = inferred(vec![
        to_proxy("168.63.129.16", 0, 60000).established(),
        to_proxy("168.63.129.16", 1, 60000).established().at(5),
        to_proxy(NAT, 2, 60000).established().at(6),
        to_proxy("10.0.0.7", 3, 60000).established().at(7),
    ]);
    assert_eq!(t.roles.probe, [AZURE_HOST_IP]);
    assert_eq!(t.roles.private_link_nat, ips(&[NAT, "10.0.0.7"]));
    let probe_lines: Vec<&String> = t
        .evidence
        .iter()
        .filter(|e| e.starts_with("probe "))
        .collect();
    assert_eq!(
        probe_lines,
        ["probe 168.63.129.16: health-probe source (Azure host IP) to the proxy"],
        "one line per address"
    );
    assert!(has(
        &t,
        "private link NAT 10.0.0.7: opens command sessions to the proxy :60000"
    ));
}

#[test]
fn probe_ip_hint_names_the_probe() {
    let hints = Hints {
        probe_ip: Some(ip("10.0.0.250")),
        ..Hints::default()
    };
    let t = infer_with(
        vec![
            to_proxy("10.0.0.250", 0, 60001).established(),
            to_proxy(NAT, 1, 60001).established(),
        ],
        &hints,
    );
    assert_eq!(t.roles.probe, ips(&["10.0.0.250"]));
    assert_eq!(t.roles.private_link_nat, ips(&[NAT]));
    // Without a probe session, the hinted address is the assumed probe.
    let t = infer_with(vec![to_proxy(NAT, 1, 60001).established()], &hints);
    assert_eq!(t.roles.probe, ips(&["10.0.0.250"]));
}

// ---- build VMs and ACI --------------------------------------------------------

#[test]
fn build_vm_from_the_proxys_ssh_or_winrm() {
    let t = inferred(vec![
        to_proxy(NAT, 0, 60001).established(),
        open(PROXY, BUILD, 22).unanswered().at(1),
    ]);
    assert_eq!(t.roles.build_vm, ips(&[BUILD]));
    assert!(has(
        &t,
        "build VM 10.0.0.6: the proxy 10.0.0.5 opens :22 to it"
    ));
    assert!(t.roles.aci.is_empty());
    let t = inferred(vec![
        to_proxy(NAT, 0, 60000).established(),
        open(PROXY, BUILD, 5986).established().at(1),
    ]);
    assert_eq!(t.roles.build_vm, ips(&[BUILD]));
}

#[test]
fn with_a_proxy_other_ssh_clients_are_not_the_build() {
    // A jump box in the subnet SSH-ing to the build VM and to another VM.
    let t = inferred(vec![
        to_proxy(NAT, 0, 60001).established(),
        open(PROXY, BUILD, 22).established().at(1),
        open("10.0.0.9", BUILD, 22).established().at(2),
        open("10.0.0.9", "10.0.0.8", 22).established().at(3),
    ]);
    assert_eq!(t.roles.proxy, ips(&[PROXY]));
    assert_eq!(t.roles.build_vm, ips(&[BUILD]));
    assert!(t.roles.aci.is_empty());
}

#[test]
fn aci_opens_ssh_from_another_subnet() {
    let t = inferred(vec![open(ACI, BUILD, 22).established()]);
    assert_eq!(t.roles.aci, ips(&[ACI]));
    assert_eq!(t.roles.build_vm, ips(&[BUILD]));
    assert!(t.roles.proxy.is_empty() && t.roles.probe.is_empty());
    assert_eq!(t.kind, Some(TopologyKind::Isolated));
    assert!(has(
        &t,
        "ACI 10.0.1.4: opens :22/:5986 to 10.0.0.6 directly, from another subnet"
    ));
    assert!(has(
        &t,
        "build VM 10.0.0.6: receives :22/:5986 from 10.0.1.4"
    ));
}

#[test]
fn a_same_subnet_client_without_a_proxy_is_an_assumed_proxy() {
    // A capture on the build VM alone sees the proxy only as an SSH client.
    let t = inferred(vec![open(PROXY, BUILD, 22).established()]);
    assert_eq!(t.roles.proxy, ips(&[PROXY]));
    assert_eq!(t.roles.build_vm, ips(&[BUILD]));
    assert_eq!(t.kind, Some(TopologyKind::Proxy));
    assert!(
        t.evidence
            .iter()
            .any(|e| e.starts_with("proxy 10.0.0.5:") && e.contains("assumed proxy")),
        "{:?}",
        t.evidence
    );
    // ... unless the user says the build is isolated.
    let hints = Hints {
        kind: Some(TopologyKind::Isolated),
        ..Hints::default()
    };
    let t = infer_with(vec![open(PROXY, BUILD, 22).established()], &hints);
    assert!(t.roles.proxy.is_empty());
    assert_eq!(t.roles.aci, ips(&[PROXY]));
    assert_eq!(t.kind, Some(TopologyKind::Isolated));
}

// ---- noise: jump boxes, admins, several clients --------------------------------

/// `from` opening :22 on `to` `n` times (source ports apart).
fn opens(from: &str, to: &str, n: u16, at: i64) -> Vec<Build> {
    (0..n)
        .map(|k| {
            tcp(&format!("{from}:{}", 42000 + k), &format!("{to}:22"))
                .unanswered()
                .at(at + i64::from(k))
        })
        .collect()
}

#[test]
fn a_jump_box_sweeping_the_subnet_is_no_proxy_and_no_aci() {
    // SSH to five VMs of its own subnet and of another: no AIB client.
    let mut v = Vec::new();
    for (k, vm) in [
        "10.0.0.20",
        "10.0.0.21",
        "10.0.0.22",
        "10.0.0.23",
        "10.0.2.9",
    ]
    .iter()
    .enumerate()
    {
        v.push(open("10.0.0.9", vm, 22).established().at(k as i64));
    }
    let t = inferred(v.clone());
    assert!(t.roles.proxy.is_empty() && t.roles.aci.is_empty() && t.roles.build_vm.is_empty());
    assert_eq!(t.kind, None);
    assert!(
        has(
            &t,
            "not AIB clients: 10.0.0.9 (5 hosts) open :22/:5986 to more than 3 hosts each (jump or management hosts)"
        ),
        "{:?}",
        t.evidence
    );
    // From another subnet, the same: not ACI.
    let v: Vec<Build> = (20..25)
        .map(|k| {
            open("10.0.9.4", &format!("10.0.0.{k}"), 22)
                .established()
                .at(k)
        })
        .collect();
    let t = inferred(v);
    assert!(t.roles.aci.is_empty() && t.roles.build_vm.is_empty());
}

#[test]
fn a_host_receiving_the_command_port_that_sweeps_is_no_proxy() {
    // Noise on the AIB ports: the command port from the NAT's address, and
    // SSH to five VMs in one hour.
    let mut v = vec![to_proxy(NAT, 0, 60001).established()];
    for k in 20..25 {
        v.push(open(PROXY, &format!("10.0.0.{k}"), 22).established().at(k));
    }
    let t = inferred(v.clone());
    assert!(t.roles.proxy.is_empty() && t.roles.build_vm.is_empty());
    assert!(t.roles.private_link_nat.is_empty());
    assert!(
        has(
            &t,
            "not AIB proxies: 10.0.0.5 (5 hosts) receive 60000/60001 but open :22/:5986 to more than 3 hosts an hour (noise on the AIB ports; AIB's proxy opens it to its one build VM)"
        ),
        "{:?}",
        t.evidence
    );
    // A scan that left its SSH out says so by a hint: the same.
    let hints = Hints {
        sweepers: [(ip(PROXY), 5)].into_iter().collect(),
        ..Hints::default()
    };
    let t = infer_with(vec![to_proxy(NAT, 0, 60001).established()], &hints);
    assert!(t.roles.proxy.is_empty(), "{:?}", t.evidence);
    // --proxy overrides both.
    let hints = Hints {
        proxy: ips(&[PROXY]),
        ..hints
    };
    assert_eq!(infer_with(v, &hints).roles.proxy, ips(&[PROXY]));
}

#[test]
fn a_proxy_address_reused_by_builds_hours_apart_stays_a_proxy() {
    // Five builds on five hours, each with its own build VM: one an hour.
    let mut v = Vec::new();
    for k in 0..5 {
        let at = k * 3600;
        v.push(to_proxy(NAT, k as u16, 60001).established().at(at));
        v.push(
            open(PROXY, &format!("10.0.0.{}", 20 + k), 22)
                .established()
                .at(at + 60),
        );
    }
    let t = inferred(v);
    assert_eq!(t.roles.proxy, ips(&[PROXY]));
    assert_eq!(t.roles.build_vm.len(), 5, "{:?}", t.evidence);
}

#[test]
fn of_several_clients_of_the_build_vm_the_busiest_is_the_assumed_proxy() {
    // A capture on the build VM: the proxy retries SSH that never gets an
    // answer while an admin's session from a jump box works.
    let mut v = opens(PROXY, BUILD, 12, 0);
    v.push(open("10.0.0.9", BUILD, 22).established().at(3));
    let t = inferred(v);
    assert_eq!(t.roles.proxy, ips(&[PROXY]));
    assert_eq!(t.roles.build_vm, ips(&[BUILD]));
    assert!(t.roles.aci.is_empty());
    assert!(
        has(
            &t,
            "10.0.0.9 also opens :22/:5986 to 10.0.0.6 (1 session(s), the assumed proxy 12): not taken as the proxy; --proxy chooses"
        ),
        "{:?}",
        t.evidence
    );
}

#[test]
fn a_client_whose_own_flows_are_logged_without_the_command_port_is_no_proxy() {
    // Flow logs of the client's NIC are in the evidence and show no
    // command-port session: an admin, not the proxy.
    let mut inputs = segment();
    if let Some(i) = inputs.first_mut() {
        i.format = Format::FlowLog;
        i.logged_hosts = ips(&["10.0.0.9", BUILD]);
    }
    let t = infer(
        &sessions(vec![open("10.0.0.9", BUILD, 22).established()]),
        &inputs,
        &Hints::default(),
    );
    assert!(
        t.roles.proxy.is_empty() && t.roles.build_vm.is_empty(),
        "{:?}",
        t.roles
    );
    assert!(
        t.evidence
            .iter()
            .any(|e| e
                .starts_with("10.0.0.9 opens :22/:5986 in the build subnet but receives nothing")),
        "{:?}",
        t.evidence
    );
    // Only the build VM's NIC logged: the client is unseen, an assumed proxy.
    if let Some(i) = inputs.first_mut() {
        i.logged_hosts = ips(&[BUILD]);
    }
    let t = infer(
        &sessions(vec![open("10.0.0.9", BUILD, 22).established()]),
        &inputs,
        &Hints::default(),
    );
    assert_eq!(t.roles.proxy, ips(&["10.0.0.9"]));
}

// ---- hints --------------------------------------------------------------------

#[test]
fn topology_hint_proxy_takes_a_client_of_another_subnet_as_proxy() {
    let hints = Hints {
        kind: Some(TopologyKind::Proxy),
        ..Hints::default()
    };
    let t = infer_with(vec![open(ACI, BUILD, 22).established()], &hints);
    assert_eq!(t.roles.proxy, ips(&[ACI]));
    assert!(t.roles.aci.is_empty());
    assert_eq!(t.kind, Some(TopologyKind::Proxy));
}

#[test]
fn proxy_hint_replaces_the_inferred_proxy() {
    let hints = Hints {
        proxy: ips(&["10.0.0.7"]),
        ..Hints::default()
    };
    let t = infer_with(
        vec![
            to_proxy(NAT, 0, 60001).established(),
            open("10.0.0.7", BUILD, 22).established().at(1),
        ],
        &hints,
    );
    assert_eq!(t.roles.proxy, ips(&["10.0.0.7"]));
    assert!(has(&t, "proxy given by --proxy"));
    assert!(!t.evidence.iter().any(|e| e.contains("receives")));
    assert_eq!(t.roles.build_vm, ips(&[BUILD]));
    assert!(has(
        &t,
        "build VM 10.0.0.6: the proxy 10.0.0.7 opens :22 to it"
    ));
}

#[test]
fn build_vm_hint_replaces_the_inferred_build_vm() {
    let hints = Hints {
        build_vm: ips(&[BUILD]),
        ..Hints::default()
    };
    let t = infer_with(
        vec![
            to_proxy(NAT, 0, 60001).established(),
            open(PROXY, "10.0.0.8", 22).established().at(1),
            open(PROXY, BUILD, 22).established().at(2),
        ],
        &hints,
    );
    assert_eq!(t.roles.build_vm, ips(&[BUILD]));
    assert!(has(&t, "build VM given by --build-vm"));
    assert!(!t.evidence.iter().any(|e| e.starts_with("build VM 10.0.0.")));
}

#[test]
fn build_vm_hint_keeps_aci_to_the_given_build_vm() {
    let hints = Hints {
        build_vm: ips(&[BUILD]),
        ..Hints::default()
    };
    let t = infer_with(
        vec![
            open(ACI, BUILD, 22).established(),
            open("10.0.1.5", "10.0.0.8", 22).established().at(1),
        ],
        &hints,
    );
    assert_eq!(t.roles.aci, ips(&[ACI]));
    assert_eq!(t.roles.build_vm, ips(&[BUILD]));
}

#[test]
fn os_hint_overrides_the_votes() {
    let hints = Hints {
        os: Some(Os::Windows),
        ..Hints::default()
    };
    let t = infer_with(
        vec![
            to_proxy(NAT, 0, 60001).established(),
            open(PROXY, BUILD, 22).established(),
        ],
        &hints,
    );
    assert_eq!(t.os, Some(Os::Windows));
}

// ---- OS votes -----------------------------------------------------------------

#[test]
fn os_is_the_majority_of_the_ports_a_tie_tells_nothing() {
    let os = |v: Vec<Build>| inferred(v).os;
    assert_eq!(
        os(vec![
            to_proxy(NAT, 0, 60001).unanswered(),
            open(PROXY, BUILD, 22).unanswered()
        ]),
        Some(Os::Linux)
    );
    assert_eq!(
        os(vec![
            to_proxy(NAT, 0, 60000).established(),
            open(PROXY, BUILD, 5986).established()
        ]),
        Some(Os::Windows)
    );
    assert_eq!(
        os(vec![
            to_proxy(NAT, 0, 60001).established(),
            to_proxy(NAT, 1, 60000).established()
        ]),
        None
    );
    assert_eq!(
        os(vec![
            to_proxy(NAT, 0, 60001).established(),
            to_proxy(NAT, 1, 60001).established(),
            to_proxy(NAT, 2, 60000).established()
        ]),
        Some(Os::Linux)
    );
    // ACI's sessions vote too.
    assert_eq!(
        os(vec![open(ACI, BUILD, 5986).established()]),
        Some(Os::Windows)
    );
    assert_eq!(os(vec![open(BUILD, "20.60.1.2", 443).established()]), None);
}

// ---- vantage ------------------------------------------------------------------

/// A proxy's day: probes, commands and its SSH to the build VM.
fn proxy_traffic() -> Vec<Build> {
    vec![
        to_proxy("168.63.129.16", 0, 60001).established(),
        to_proxy(NAT, 1, 60001).established().at(1),
        open(PROXY, BUILD, 22).established().at(2),
    ]
}

#[test]
fn a_host_in_every_session_is_a_per_vm_capture() {
    let t = infer(
        &sessions(proxy_traffic()),
        &[input("proxy.pcap", Format::Pcap)],
        &Hints::default(),
    );
    assert_eq!(t.vantage, [Vantage::Host { host: ip(PROXY) }]);
    assert_eq!(
        t.seen_hosts[0],
        BTreeSet::from([ip("168.63.129.16"), ip(NAT), ip(PROXY), ip(BUILD)])
    );
}

#[test]
fn a_flow_log_sees_a_segment_whatever_its_sessions() {
    let t = infer(
        &sessions(proxy_traffic()),
        &[input("PT1H.json", Format::FlowLog)],
        &Hints::default(),
    );
    assert_eq!(t.vantage, [Vantage::Segment]);
}

#[test]
fn mixed_or_empty_captures() {
    // Input 0 sees the proxy's traffic and the build VM's egress; input 1
    // nothing; input 2 only the proxy's.
    let mut v: Vec<Build> = proxy_traffic()
        .into_iter()
        .map(|b| b.seen_by(&[0, 2]))
        .collect();
    v.push(open(BUILD, "20.60.1.2", 443).established().at(3));
    let t = infer(
        &sessions(v),
        &[
            input("segment.pcap", Format::Pcap),
            input("empty.pcap", Format::Pcap),
            input("proxy.pcap", Format::Pcap),
        ],
        &Hints::default(),
    );
    assert_eq!(
        t.vantage,
        [
            Vantage::Segment,
            Vantage::Empty,
            Vantage::Host { host: ip(PROXY) }
        ]
    );
    assert!(t.seen_hosts[1].is_empty());
    assert!(t.seen_hosts[0].contains(&ip("20.60.1.2")));
}

#[test]
fn a_per_vm_capture_tolerates_five_percent_of_other_traffic() {
    // 20 sessions; the proxy in 19 (or 18) of them.
    let traffic = |others: u16| {
        let mut v: Vec<Build> = (0..20 - others)
            .map(|k| {
                let from = if k % 2 == 0 { NAT } else { "168.63.129.16" };
                to_proxy(from, k, 60001).established().at(i64::from(k))
            })
            .collect();
        v.extend((0..others).map(|k| {
            tcp(&format!("{BUILD}:{}", 52000 + k), "20.60.1.2:443")
                .established()
                .at(30)
        }));
        infer(
            &sessions(v),
            &[input("proxy.pcap", Format::Pcap)],
            &Hints::default(),
        )
        .vantage
    };
    assert_eq!(traffic(1), [Vantage::Host { host: ip(PROXY) }]);
    assert_eq!(traffic(2), [Vantage::Segment]);
}

#[test]
fn a_capture_of_two_hosts_is_a_segment() {
    // Which end it was taken on cannot be told.
    let t = inferred(vec![to_proxy(NAT, 0, 60001).established()]);
    assert_eq!(t.vantage, [Vantage::Segment]);
}

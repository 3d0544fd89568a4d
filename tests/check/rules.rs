//! `check` rule evaluation and configuration findings, on the NSG / subnet /
//! VNET / route table fixtures in `captures/config/` (written in the shapes
//! `az` prints) and the two real AIB templates in `tests/data/aib/`.
//! Every expectation below was worked out by hand from the rules in the
//! fixture and Azure's evaluation order.

use aibnet::aib::{FindingId, Hop, Os, Severity, TopologyKind as Topology};
use aibnet::check::{
    self, At, CheckReport, CheckVerdict, Config, Direction, FlowRow, Options, StepVerdict,
};
use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::common::{aib_template, captures, config_fixture};

fn run(files: &[&str], opts: Options) -> CheckReport {
    let paths: Vec<PathBuf> = files.iter().map(|f| config_fixture(f)).collect();
    let mut cfg = Config::load_paths(&paths);
    assert!(
        cfg.skipped.is_empty(),
        "fixtures must all be read: {:?}",
        cfg.skipped
    );
    cfg.options = opts;
    check::evaluate(&cfg)
}

fn linux(files: &[&str]) -> CheckReport {
    run(files, Options::default())
}

/// The single row of `hop`/`port` at `at` in `dir`.
fn row(r: &CheckReport, hop: Hop, port: u16, at: At, dir: Option<Direction>) -> &FlowRow {
    let rows: Vec<&FlowRow> = r
        .flows
        .iter()
        .filter(|f| {
            f.hop == hop && f.port == port && f.at == at && f.direction == dir && f.required
        })
        .collect();
    assert_eq!(
        rows.len(),
        1,
        "expected one row for {hop} :{port} at {at:?} {dir:?}, got {rows:#?}"
    );
    rows[0]
}

fn decided(f: &FlowRow) -> (StepVerdict, Option<&str>, Option<u32>) {
    (f.verdict, f.rule.as_deref(), f.priority)
}

const IN: Option<Direction> = Some(Direction::Inbound);
const OUT: Option<Direction> = Some(Direction::Outbound);

fn ids_of(r: &CheckReport) -> Vec<FindingId> {
    r.findings.iter().map(|f| f.id).collect()
}

const LINUX_BASE: [&str; 3] = ["template-linux.json", "subnet-build.json", "vnet.json"];

fn with(extra: &[&'static str]) -> Vec<&'static str> {
    LINUX_BASE
        .iter()
        .copied()
        .chain(extra.iter().copied())
        .collect()
}

// ---- the quickstart rule ------------------------------------------------------

#[test]
fn deny_all_at_1000_blocks_probe_private_link_and_ssh() {
    let r = linux(&with(&["nsg-denyall-1000.json"]));
    assert_eq!(r.verdict, CheckVerdict::Blocked);
    assert!(r.is_blocked());
    for hop in [Hop::ProbeToProxy, Hop::AlbToProxy] {
        assert_eq!(
            decided(row(&r, hop, 60001, At::BuildSubnet, IN)),
            (StepVerdict::Deny, Some("DenyAll-Inbound"), Some(1000)),
            "{hop}"
        );
    }
    assert_eq!(
        decided(row(&r, Hop::ProxyToBuildVm, 22, At::BuildSubnet, IN)).0,
        StepVerdict::Deny
    );
    assert_eq!(
        decided(row(&r, Hop::ProxyToBuildVm, 22, At::BuildSubnet, OUT)),
        (StepVerdict::Allow, Some("AllowVnetOutBound"), Some(65000))
    );
    let probe = r
        .findings
        .iter()
        .find(|f| f.hop == Hop::ProbeToProxy)
        .expect("probe finding");
    assert_eq!(probe.id, FindingId::NsgRuleBlocksHop);
    assert!(
        probe.fix.contains(
            "az network nsg rule create --resource-group aib-net-rg --nsg-name aib-build-nsg --name AllowAibProbeToProxy \
             --priority 990 --direction Inbound --access Allow --protocol Tcp --source-address-prefixes AzureLoadBalancer"
        ),
        "{}",
        probe.fix
    );
}

#[test]
fn quickstart_rule_fixes_the_probe_but_not_the_private_link_nat() {
    let r = linux(&with(&["nsg-denyall-quickstart.json"]));
    // The probe comes from 168.63.129.16 = AzureLoadBalancer: rule 400 lets it in.
    assert_eq!(
        decided(row(&r, Hop::ProbeToProxy, 60001, At::BuildSubnet, IN)),
        (
            StepVerdict::Allow,
            Some("AzureImageBuilderNsgRule"),
            Some(400)
        )
    );
    // The command channel comes from the PLS NAT IP (an address of the build
    // subnet), which AzureLoadBalancer does not cover: DenyAll at 1000 drops it.
    assert_eq!(
        decided(row(&r, Hop::AlbToProxy, 60001, At::BuildSubnet, IN)),
        (StepVerdict::Deny, Some("DenyAll-Inbound"), Some(1000))
    );
    assert_eq!(r.verdict, CheckVerdict::Blocked);
    assert!(
        r.findings.iter().all(|f| f.hop != Hop::ProbeToProxy),
        "probe is fixed: {:#?}",
        r.findings
    );
    let alb = r.finding_for(Hop::AlbToProxy).expect("ALB finding");
    assert_eq!(alb.severity, Severity::Error);
    assert!(
        alb.title.contains("DenyAll-Inbound (priority 1000)"),
        "{}",
        alb.title
    );
    assert!(
        alb.fix.contains(
            "--name AllowAibPrivateLinkToProxy --priority 990 --direction Inbound --access Allow --protocol Tcp \
             --source-address-prefixes 10.20.1.0/24 --source-port-ranges '*' --destination-address-prefixes 10.20.1.0/24 \
             --destination-port-ranges 60001"
        ),
        "{}",
        alb.fix
    );
    // The second fix in the same NSG gets its own priority.
    let ssh = r.finding_for(Hop::ProxyToBuildVm).expect("SSH finding");
    assert!(
        ssh.fix
            .contains("--name AllowAibProxyToBuildVmIn --priority 989 "),
        "{}",
        ssh.fix
    );
    // diagnose's question: which rule blocks the hop seen blocked in traffic?
    let blocking = r
        .blocking_rule(Hop::AlbToProxy, Some(60001))
        .expect("blocked");
    assert_eq!(
        (blocking.nsg.as_deref(), blocking.priority),
        (Some("aib-build-nsg"), Some(1000))
    );
    assert!(r.blocking_rule(Hop::ProbeToProxy, None).is_none());
}

// ---- default rules, service tags, order ----------------------------------------

#[test]
fn default_rules_allow_every_flow() {
    let r = linux(&with(&["nsg-default-only.json"]));
    assert_eq!(r.verdict, CheckVerdict::Ok, "{:#?}", r.findings);
    assert!(!r.is_blocked());
    // VirtualNetwork includes the host address 168.63.129.16, so AllowVnetInBound
    // (65000) decides before AllowAzureLoadBalancerInBound (65001).
    assert_eq!(
        decided(row(&r, Hop::ProbeToProxy, 60001, At::BuildSubnet, IN)),
        (StepVerdict::Allow, Some("AllowVnetInBound"), Some(65000))
    );
    assert_eq!(
        decided(row(&r, Hop::BuildVmEgress, 443, At::BuildSubnet, OUT)),
        (
            StepVerdict::Allow,
            Some("AllowInternetOutBound"),
            Some(65001)
        )
    );
    assert_eq!(
        decided(row(&r, Hop::BuildVmDns, 53, At::BuildSubnet, OUT)).0,
        StepVerdict::Allow
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(
        r.hops
            .iter()
            .all(|h| h.status == aibnet::aib::HopStatus::Ok)
    );
}

#[test]
fn reference_strict_nsg_allows_linux_and_blocks_windows() {
    // REST/ARM shape (properties wrapper), associated with the template's subnet.
    let r = linux(&["template-linux.json", "nsg-strict-arm.json"]);
    let want = [
        (
            Hop::ProbeToProxy,
            60001,
            IN,
            "AllowAzureLoadBalancer60001InBound",
            100,
        ),
        (Hop::AlbToProxy, 60001, IN, "AllowVNet60001InBound", 110),
        (Hop::ProxyToBuildVm, 22, OUT, "AllowSshToVNetOutBound", 110),
        (Hop::ProxyToBuildVm, 22, IN, "AllowVNet22InBound", 120),
        (
            Hop::BuildVmEgress,
            80,
            OUT,
            "Allow80ToInternetOutBound",
            102,
        ),
        (
            Hop::BuildVmEgress,
            443,
            OUT,
            "Allow443ToInternetOutBound",
            100,
        ),
    ];
    for (hop, port, dir, rule, prio) in want {
        assert_eq!(
            decided(row(&r, hop, port, At::BuildSubnet, dir)),
            (StepVerdict::Allow, Some(rule), Some(prio)),
            "{hop} :{port}"
        );
    }
    // DenyAllOutBound (1000) does not apply to Azure DNS: platform traffic.
    let dns = row(&r, Hop::BuildVmDns, 53, At::BuildSubnet, OUT);
    assert_eq!(
        (dns.verdict, dns.rule.as_deref()),
        (StepVerdict::Allow, Some("(platform traffic)"))
    );
    assert_eq!(r.verdict, CheckVerdict::Ok, "{:#?}", r.findings);

    // The same NSG does not open the Windows ports.
    let w = run(
        &["template-linux.json", "nsg-strict-arm.json"],
        Options {
            os: Some(Os::Windows),
            ..Options::default()
        },
    );
    assert_eq!(
        decided(row(&w, Hop::AlbToProxy, 60000, At::BuildSubnet, IN)),
        (StepVerdict::Deny, Some("DenyAllInBound"), Some(1000))
    );
    assert_eq!(
        decided(row(&w, Hop::ProxyToBuildVm, 5986, At::BuildSubnet, OUT)),
        (StepVerdict::Deny, Some("DenyAllOutBound"), Some(1000))
    );
    assert_eq!(
        decided(row(&w, Hop::BuildVmEgress, 1688, At::BuildSubnet, OUT)),
        (StepVerdict::Deny, Some("DenyAllOutBound"), Some(1000))
    );
    // The probe on 60000 is not covered by AllowAzureLoadBalancer60001InBound either.
    assert_eq!(
        decided(row(&w, Hop::ProbeToProxy, 60000, At::BuildSubnet, IN)),
        (StepVerdict::Deny, Some("DenyAllInBound"), Some(1000))
    );
    // Five fixes in one NSG, all above the floor 1000, none colliding, in
    // path order: probe 990, ALB 989, proxy→build in 988 / out 987, egress 986.
    let prios: Vec<&str> = w
        .findings
        .iter()
        .filter(|f| f.id == FindingId::NsgRuleBlocksHop)
        .map(|f| {
            f.fix
                .split("--priority ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(prios, ["990", "989", "988", "987", "986"]);
    let kms = w
        .findings
        .iter()
        .find(|f| f.hop == Hop::BuildVmEgress)
        .expect("egress finding");
    assert!(
        kms.fix.contains("--priority 986 --direction Outbound"),
        "{}",
        kms.fix
    );
    assert!(
        kms.fix
            .contains("--destination-address-prefixes Internet --destination-port-ranges 1688"),
        "{}",
        kms.fix
    );
}

#[test]
fn application_security_groups_and_service_tags_stay_unknown() {
    let r = linux(&with(&["nsg-unknowns.json"]));
    // DenyFromWebAsg (200) may match: its members are not in the input, and it
    // would change the outcome (AllowVnetInBound would allow otherwise).
    let probe = row(&r, Hop::ProbeToProxy, 60001, At::BuildSubnet, IN);
    assert_eq!(
        decided(probe),
        (StepVerdict::Unknown, Some("DenyFromWebAsg"), Some(200))
    );
    assert!(
        probe
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("application security group asg-web")
    );
    // 443: AllowStorageHttps (300) may match Storage addresses; DenyInternetOutbound (400) denies the rest.
    let https = row(&r, Hop::BuildVmEgress, 443, At::BuildSubnet, OUT);
    assert_eq!(
        decided(https),
        (StepVerdict::Unknown, Some("AllowStorageHttps"), Some(300))
    );
    assert!(
        https
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("service tag Storage")
    );
    // 80 is not in the Storage rule: surely denied.
    assert_eq!(
        decided(row(&r, Hop::BuildVmEgress, 80, At::BuildSubnet, OUT)),
        (StepVerdict::Deny, Some("DenyInternetOutbound"), Some(400))
    );
    // Outbound SSH at the proxy is not affected by the inbound ASG rule.
    assert_eq!(
        decided(row(&r, Hop::ProxyToBuildVm, 22, At::BuildSubnet, OUT)).0,
        StepVerdict::Allow
    );
    let not_evaluated: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.id == FindingId::RuleNotEvaluated)
        .collect();
    assert_eq!(not_evaluated.len(), 2, "{not_evaluated:#?}");
    assert!(
        not_evaluated
            .iter()
            .all(|f| f.severity == Severity::Warning)
    );
}

#[test]
fn part_of_the_subnet_needs_the_address() {
    let r = linux(&with(&["nsg-partial-prefix.json"]));
    let f = row(&r, Hop::AlbToProxy, 60001, At::BuildSubnet, IN);
    assert_eq!(
        decided(f),
        (StepVerdict::Unknown, Some("DenyLowerHalf60001"), Some(500))
    );
    assert!(f.reason.as_deref().unwrap_or("").contains("--proxy"));
    assert_eq!(r.verdict, CheckVerdict::Unknown);
    assert!(!r.is_blocked());

    let low = Options {
        proxy_ip: Some(Ipv4Addr::new(10, 20, 1, 4)),
        ..Options::default()
    };
    let r = run(&with(&["nsg-partial-prefix.json"]), low);
    assert_eq!(
        decided(row(&r, Hop::AlbToProxy, 60001, At::BuildSubnet, IN)),
        (StepVerdict::Deny, Some("DenyLowerHalf60001"), Some(500))
    );
    assert_eq!(
        row(&r, Hop::AlbToProxy, 60001, At::BuildSubnet, IN).dst,
        "10.20.1.4"
    );

    let high = Options {
        proxy_ip: Some(Ipv4Addr::new(10, 20, 1, 200)),
        ..Options::default()
    };
    let r = run(&with(&["nsg-partial-prefix.json"]), high);
    assert_eq!(
        decided(row(&r, Hop::AlbToProxy, 60001, At::BuildSubnet, IN)),
        (StepVerdict::Allow, Some("AllowVnetInBound"), Some(65000))
    );
    assert_eq!(r.verdict, CheckVerdict::Ok);
}

#[test]
fn ports_port_lists_ranges_and_protocols() {
    let files = [
        "template-linux.json",
        "subnet-build.json",
        "vnet-custom-dns.json",
        "nsg-ports-protocols.json",
    ];
    let r = linux(&files);
    // Udp (200), Icmp (210) and the 3389/8080-8090 list (220) do not match TCP 60001;
    // AllowAibPorts (230) lists 22 and 60000-60001.
    assert_eq!(
        decided(row(&r, Hop::AlbToProxy, 60001, At::BuildSubnet, IN)),
        (StepVerdict::Allow, Some("AllowAibPorts"), Some(230))
    );
    assert_eq!(
        decided(row(&r, Hop::ProxyToBuildVm, 22, At::BuildSubnet, IN)),
        (StepVerdict::Allow, Some("AllowAibPorts"), Some(230))
    );
    // Outbound SSH inside the VNET: AllowWebOut (310) is Internet only; DenyAllOut (320).
    assert_eq!(
        decided(row(&r, Hop::ProxyToBuildVm, 22, At::BuildSubnet, OUT)),
        (StepVerdict::Deny, Some("DenyAllOut"), Some(320))
    );
    // Source 10.20.1.0/24 (CIDR) to Internet, ports [80, 443].
    for p in [80, 443] {
        assert_eq!(
            decided(row(&r, Hop::BuildVmEgress, p, At::BuildSubnet, OUT)),
            (StepVerdict::Allow, Some("AllowWebOut"), Some(310))
        );
    }
    // The VNET names DNS server 10.0.0.4 (in the peered hub): UDP 53 denied by a Udp rule.
    let dns = row(&r, Hop::BuildVmDns, 53, At::BuildSubnet, OUT);
    assert_eq!(
        decided(dns),
        (StepVerdict::Deny, Some("DenyDnsUdpOut"), Some(300))
    );
    assert_eq!(dns.dst, "10.0.0.4");

    let w = run(
        &files,
        Options {
            os: Some(Os::Windows),
            ..Options::default()
        },
    );
    // 5986 is not in AllowAibPorts; DenyTcpRest covers 1-65535.
    assert_eq!(
        decided(row(&w, Hop::ProxyToBuildVm, 5986, At::BuildSubnet, IN)),
        (StepVerdict::Deny, Some("DenyTcpRest"), Some(240))
    );
    assert_eq!(
        decided(row(&w, Hop::BuildVmEgress, 1688, At::BuildSubnet, OUT)),
        (StepVerdict::Deny, Some("DenyAllOut"), Some(320))
    );
    assert!(
        w.notes.iter().any(|n| n.contains("--os windows overrides")),
        "{:?}",
        w.notes
    );
}

#[test]
fn effective_rules_expand_tags_and_add_the_nic_nsg() {
    let r = linux(&with(&["effective-nsg-build-nic.json"]));
    // DenySqlInbound (150) is expanded to public prefixes: it cannot match VNET
    // addresses or 168.63.129.16, so AllowVnetInBound decides, without unknowns.
    assert_eq!(
        decided(row(&r, Hop::AlbToProxy, 60001, At::BuildSubnet, IN)),
        (StepVerdict::Allow, Some("AllowVnetInBound"), Some(65000))
    );
    assert_eq!(
        row(&r, Hop::AlbToProxy, 60001, At::BuildSubnet, IN)
            .nsg
            .as_deref(),
        Some("aib-build-nsg")
    );
    // The NIC NSG of the build VM (NIC name without "proxy") is evaluated after the subnet NSG.
    let nic = row(&r, Hop::ProxyToBuildVm, 22, At::BuildVmNic, IN);
    assert_eq!(
        decided(nic),
        (StepVerdict::Deny, Some("DenySshFromSubnet"), Some(100))
    );
    assert_eq!(nic.nsg.as_deref(), Some("aib-nic-nsg"));
    // Outbound from the build VM: NIC first, then subnet.
    let egress: Vec<At> = r
        .flows
        .iter()
        .filter(|f| f.hop == Hop::BuildVmEgress && f.port == 80)
        .map(|f| f.at)
        .collect();
    assert_eq!(egress, [At::BuildVmNic, At::BuildSubnet]);
    assert!(
        !r.findings
            .iter()
            .any(|f| f.id == FindingId::RuleNotEvaluated),
        "{:#?}",
        r.findings
    );
    let f = r.finding_for(Hop::ProxyToBuildVm).expect("NIC finding");
    // The fix goes into the NIC NSG's own resource group; priority 100 leaves no room above.
    assert!(f.fix.contains("IT_aib-rg_aibLinux_7c1f"), "{}", f.fix);
    assert!(f.fix.contains("no free priority above 100"), "{}", f.fix);
}

#[test]
fn arm_export_names_and_child_rules_are_resolved() {
    let r = run(
        &with(&["nsg-arm-export.json"]),
        Options {
            os: Some(Os::Windows),
            ..Options::default()
        },
    );
    // "[parameters('networkSecurityGroups_aib_build_nsg_name')]" → aib-build-nsg, matched to the subnet.
    // Source VirtualNetwork covers the host address 168.63.129.16 too.
    for hop in [Hop::ProbeToProxy, Hop::AlbToProxy] {
        let f = row(&r, hop, 60000, At::BuildSubnet, IN);
        assert_eq!(
            decided(f),
            (StepVerdict::Deny, Some("DenyVnetProxyPorts"), Some(3000)),
            "{hop}"
        );
        assert_eq!(f.nsg.as_deref(), Some("aib-build-nsg"));
    }
    // DenyWinRmOut exists only as a child resource "[concat(..., '/DenyWinRmOut')]".
    assert_eq!(
        decided(row(&r, Hop::ProxyToBuildVm, 5986, At::BuildSubnet, OUT)),
        (StepVerdict::Deny, Some("DenyWinRmOut"), Some(3100))
    );
}

#[test]
fn azure_dns_is_filtered_only_by_azure_platform_dns_rules() {
    let r = linux(&with(&["nsg-platform-dns.json"]));
    assert_eq!(
        decided(row(&r, Hop::BuildVmDns, 53, At::BuildSubnet, OUT)),
        (StepVerdict::Deny, Some("DenyAzureDns"), Some(150))
    );
    let f = r.finding_for(Hop::BuildVmDns).expect("DNS finding");
    assert!(
        f.fix
            .contains("--priority 140 --direction Outbound --access Allow --protocol Udp")
            && f.fix.contains(
                "--destination-address-prefixes AzurePlatformDNS --destination-port-ranges 53"
            ),
        "{}",
        f.fix
    );
}

// ---- route tables and outbound ---------------------------------------------------

#[test]
fn route_to_none_drops_egress() {
    let r = linux(&[
        "template-linux.json",
        "subnet-build-rt-none.json",
        "route-table-none.json",
        "nsg-default-only.json",
    ]);
    let f = row(&r, Hop::BuildVmEgress, 443, At::RouteTable, None);
    assert_eq!(
        (f.verdict, f.rule.as_deref()),
        (StepVerdict::Deny, Some("default"))
    );
    assert_eq!(f.nsg.as_deref(), Some("route table rt-blackhole"));
    let findings: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.id == FindingId::BuildVmEgressBlocked)
        .collect();
    assert_eq!(
        findings.len(),
        1,
        "one finding for the route: {findings:#?}"
    );
    assert!(
        findings[0]
            .fix
            .contains("--route-table-name rt-blackhole --name default --next-hop-type Internet")
    );
    // The 0.0.0.0/0 route widens VirtualNetwork: AllowVnetOutBound matches Internet traffic.
    let nsg = row(&r, Hop::BuildVmEgress, 443, At::BuildSubnet, OUT);
    assert_eq!(
        decided(nsg),
        (StepVerdict::Allow, Some("AllowVnetOutBound"), Some(65000))
    );
    assert!(nsg.reason.as_deref().unwrap_or("").contains("0.0.0.0/0"));
    assert_eq!(r.verdict, CheckVerdict::Blocked);
}

#[test]
fn route_to_firewall_is_unknown_and_counts_as_outbound_path() {
    let r = linux(&[
        "template-linux.json",
        "subnet-build-rt-nva.json",
        "route-table-nva.json",
        "nsg-default-only.json",
    ]);
    let f = row(&r, Hop::BuildVmEgress, 80, At::RouteTable, None);
    assert_eq!(f.verdict, StepVerdict::Unknown);
    assert!(
        f.reason
            .as_deref()
            .unwrap_or("")
            .contains("VirtualAppliance 10.0.0.4")
    );
    // Private subnet, but 0.0.0.0/0 goes to an appliance: not a missing outbound path.
    assert!(!ids_of(&r).contains(&FindingId::NoOutboundPath));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("VirtualNetwork tag covers every address"))
    );
    assert_eq!(r.verdict, CheckVerdict::Unknown);
}

/// The route steps of one flow (hop and port), any direction.
fn route_rows(r: &CheckReport, hop: Hop, port: u16) -> Vec<&FlowRow> {
    r.flows
        .iter()
        .filter(|f| f.hop == hop && f.port == port && f.at == At::RouteTable)
        .collect()
}

#[test]
fn a_route_for_the_build_subnet_to_none_cuts_the_proxy_off() {
    // 10.20.1.0/24 → None is as long as the build subnet's prefix, longer
    // than the VNET's 10.20.0.0/16 system route: it decides, VNET given or not.
    for vnet in [Some("vnet.json"), None] {
        let mut files = vec![
            "template-linux.json",
            "subnet-build-rt-isolate.json",
            "route-table-build-none.json",
            "nsg-default-only.json",
        ];
        files.extend(vnet);
        let r = linux(&files);
        let f = row(&r, Hop::ProxyToBuildVm, 22, At::RouteTable, None);
        assert_eq!(
            (f.verdict, f.rule.as_deref(), f.nsg.as_deref()),
            (
                StepVerdict::Deny,
                Some("build-blackhole"),
                Some("route table rt-isolate")
            ),
            "{vnet:?}"
        );
        let found: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.id == FindingId::RouteBlocksHop)
            .collect();
        assert_eq!(found.len(), 1, "{:#?}", r.findings);
        assert_eq!(found[0].hop, Hop::ProxyToBuildVm);
        assert_eq!(found[0].severity, Severity::Error);
        assert!(found[0].fix.contains(
            "az network route-table route delete --resource-group aib-net-rg --route-table-name rt-isolate --name build-blackhole"
        ));
        // No 0.0.0.0/0 route: egress keeps the system route.
        let egress = row(&r, Hop::BuildVmEgress, 443, At::RouteTable, None);
        assert_eq!(egress.verdict, StepVerdict::Allow);
        assert_eq!(r.verdict, CheckVerdict::Blocked);
    }
}

#[test]
fn the_aci_subnets_route_table_decides_aci_to_build_vm() {
    // Isolated build: the ACI subnet (10.20.2.0/27) carries rt-isolate, whose
    // 10.20.1.0/24 → None drops the container's SSH to the build VM; the
    // build subnet has no route table.
    let r = linux(&[
        "template-isolated.json",
        "subnet-build.json",
        "subnet-aci-rt-isolate.json",
        "route-table-build-none.json",
        "nsg-default-only.json",
        "vnet.json",
    ]);
    assert_eq!(r.topology, Topology::Isolated);
    let f = row(&r, Hop::AciToBuildVm, 22, At::RouteTable, None);
    assert_eq!(
        (f.verdict, f.src.as_str(), f.nsg.as_deref()),
        (
            StepVerdict::Deny,
            "10.20.2.0/27",
            Some("route table rt-isolate")
        )
    );
    let found = r
        .findings
        .iter()
        .find(|f| f.id == FindingId::RouteBlocksHop)
        .expect("route_blocks_hop");
    assert_eq!(found.hop, Hop::AciToBuildVm);
    assert_eq!(r.verdict, CheckVerdict::Blocked);
}

#[test]
fn a_route_for_the_vnet_through_a_firewall_is_undecided_with_a_fix() {
    let r = linux(&[
        "template-linux.json",
        "subnet-build-rt-spoke-nva.json",
        "route-table-spoke-nva.json",
        "nsg-default-only.json",
        "vnet.json",
    ]);
    // 10.20.0.0/16 → firewall equals the VNET's prefix: the user route wins.
    let f = row(&r, Hop::ProxyToBuildVm, 22, At::RouteTable, None);
    assert_eq!(
        (f.verdict, f.rule.as_deref()),
        (StepVerdict::Unknown, Some("spoke-via-firewall"))
    );
    assert!(f.reason.as_deref().unwrap().contains("asymmetric routing"));
    let found = r
        .findings
        .iter()
        .find(|f| f.hop == Hop::ProxyToBuildVm)
        .expect("a finding for the proxy → build VM route");
    assert_eq!(found.id, FindingId::RuleNotEvaluated);
    assert!(
        found.title.contains("through a firewall"),
        "{}",
        found.title
    );
    assert!(
        found
            .fix
            .contains("Allow Tcp 22 from 10.20.1.0/24 to 10.20.1.0/24 on the firewall 10.0.0.4")
    );
    // A longer VnetLocal route for the subnet keeps the traffic local.
    assert!(found.fix.contains(
        "az network route-table route create --resource-group aib-net-rg --route-table-name rt-spoke-firewall --name aib-local --address-prefix 10.20.1.0/24 --next-hop-type VnetLocal"
    ));
    assert_eq!(r.verdict, CheckVerdict::Unknown);
}

#[test]
fn a_default_route_leaves_traffic_within_the_vnet_and_to_peers_alone() {
    // 0.0.0.0/0 → firewall: the VNET's /16 and the peered hub's /16 (where
    // the custom DNS server 10.0.0.4 lives) are longer system routes.
    let r = linux(&[
        "template-linux.json",
        "subnet-build-rt-nva.json",
        "route-table-nva.json",
        "nsg-default-only.json",
        "vnet-custom-dns.json",
    ]);
    assert!(route_rows(&r, Hop::ProxyToBuildVm, 22).is_empty());
    assert!(route_rows(&r, Hop::BuildVmDns, 53).is_empty());
    // Without the VNET the DNS server's place is not known either: no route step.
    let r = linux(&[
        "template-linux.json",
        "subnet-build-rt-nva.json",
        "route-table-nva.json",
        "nsg-default-only.json",
    ]);
    assert!(route_rows(&r, Hop::ProxyToBuildVm, 22).is_empty());
    // An on-premises DNS server: the system route for 192.168.0.0/16 (next
    // hop None) beats 0.0.0.0/0; only a gateway route (not in the input)
    // reaches it.
    let r = linux(&[
        "template-linux.json",
        "subnet-build-rt-nva.json",
        "route-table-nva.json",
        "nsg-default-only.json",
        "vnet-onprem-dns.json",
    ]);
    let dns = route_rows(&r, Hop::BuildVmDns, 53);
    assert_eq!(dns.len(), 1, "{dns:#?}");
    assert_eq!(
        (dns[0].verdict, dns[0].rule.as_deref()),
        (StepVerdict::Unknown, Some("default"))
    );
    let why = dns[0].reason.as_deref().unwrap();
    assert!(why.contains("outside the VNET and its peerings"), "{why}");
    assert!(why.contains("only a gateway route"), "{why}");
}

#[test]
fn private_subnet_without_nat_has_no_outbound_path() {
    let r = linux(&[
        "template-linux.json",
        "subnet-build-private.json",
        "nsg-default-only.json",
    ]);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == FindingId::NoOutboundPath)
        .expect("no_outbound_path");
    assert_eq!((f.severity, f.hop), (Severity::Error, Hop::BuildVmEgress));
    assert!(f.fix.contains("--nat-gateway"), "{}", f.fix);
    assert_eq!(
        row(&r, Hop::BuildVmEgress, 443, At::OutboundPath, None).verdict,
        StepVerdict::Deny
    );
    // No NSG finding for what the outbound path explains.
    assert!(
        !r.findings
            .iter()
            .any(|f| f.id == FindingId::NsgRuleBlocksHop)
    );

    let nat = linux(&[
        "template-linux.json",
        "subnet-build-private-nat.json",
        "nsg-default-only.json",
    ]);
    assert!(!ids_of(&nat).contains(&FindingId::NoOutboundPath));
    assert_eq!(nat.verdict, CheckVerdict::Ok);
}

// ---- configuration findings -----------------------------------------------------

#[test]
fn private_link_policies_and_region() {
    let r = linux(&[
        "template-linux.json",
        "subnet-build-pls-enabled.json",
        "nsg-default-only.json",
        "vnet-eastus.json",
    ]);
    let pls = r
        .findings
        .iter()
        .find(|f| f.id == FindingId::PlsNetworkPoliciesEnabled)
        .expect("pls");
    assert_eq!((pls.severity, pls.hop), (Severity::Error, Hop::Deployment));
    assert!(pls.fix.contains(
        "az network vnet subnet update --resource-group aib-net-rg --vnet-name aib-vnet --name aib-build --private-link-service-network-policies Disabled"
    ));
    assert!(
        pls.fix
            .contains("--disable-private-link-service-network-policies true")
    );
    let region = r
        .findings
        .iter()
        .find(|f| f.id == FindingId::VnetRegionMismatch)
        .expect("region");
    assert!(
        region.title.contains("eastus") && region.title.contains("westus2"),
        "{}",
        region.title
    );
    assert!(r.is_blocked());

    // Isolated builds have no Private Link Service: the policy does not matter there.
    let iso = linux(&[
        "template-isolated.json",
        "subnet-build-pls-enabled.json",
        "subnet-aci-delegated.json",
        "nsg-default-only.json",
    ]);
    assert!(!ids_of(&iso).contains(&FindingId::PlsNetworkPoliciesEnabled));
}

#[test]
fn subnet_too_small_counts_reserved_and_used_addresses() {
    // /28 = 16 addresses - 5 reserved - 9 ipConfigurations = 2 free < 4.
    let r = linux(&[
        "template-linux.json",
        "subnet-build-small.json",
        "nsg-default-only.json",
    ]);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == FindingId::SubnetTooSmall)
        .expect("too small");
    assert!(
        f.title.contains("has 2 free addresses, the build needs 4"),
        "{}",
        f.title
    );
    // A /24 with 2 in use is fine.
    let ok = linux(&with(&["nsg-default-only.json"]));
    assert!(!ids_of(&ok).contains(&FindingId::SubnetTooSmall));
}

#[test]
fn isolated_build_flows_and_aci_delegation() {
    let files = [
        "template-isolated.json",
        "subnet-build.json",
        "subnet-aci-undelegated.json",
        "nsg-default-only.json",
        "nsg-aci.json",
        "vnet.json",
    ];
    let r = linux(&files);
    assert_eq!(r.topology, Topology::Isolated);
    // No proxy path in isolated builds.
    assert!(r.flows.iter().all(|f| !matches!(
        f.hop,
        Hop::ProbeToProxy | Hop::AlbToProxy | Hop::ProxyToBuildVm
    )));
    assert_eq!(
        decided(row(&r, Hop::AciToBuildVm, 22, At::AciSubnet, OUT)).0,
        StepVerdict::Allow
    );
    assert_eq!(
        decided(row(&r, Hop::AciToBuildVm, 22, At::BuildSubnet, IN)).0,
        StepVerdict::Allow
    );
    assert_eq!(
        row(&r, Hop::AciToBuildVm, 22, At::AciSubnet, OUT).src,
        "10.20.2.0/27"
    );
    // ACI needs 445 out (Azure Files): DenySmbOut in the ACI subnet's NSG.
    assert_eq!(
        decided(row(&r, Hop::Deployment, 445, At::AciSubnet, OUT)),
        (StepVerdict::Deny, Some("DenySmbOut"), Some(500))
    );
    assert_eq!(
        decided(row(&r, Hop::Deployment, 443, At::AciSubnet, OUT)).0,
        StepVerdict::Allow
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.id == FindingId::AciSubnetNotDelegated)
        .expect("delegation");
    assert!(
        f.fix
            .contains("--delegations Microsoft.ContainerInstance/containerGroups"),
        "{}",
        f.fix
    );

    // The same, delegated (from the VNET's copy of the subnet): no delegation finding.
    let ok = linux(&[
        "template-isolated.json",
        "vnet.json",
        "nsg-default-only.json",
        "nsg-aci.json",
    ]);
    assert!(
        !ids_of(&ok).contains(&FindingId::AciSubnetNotDelegated),
        "{:#?}",
        ok.findings
    );
}

#[test]
fn aci_subnet_inside_build_subnet_and_proxy_size() {
    // 2025-10-01 template: containerInstanceSubnetId = subnetId, and a proxyVmSize.
    let r = linux(&[
        "template-isolated-proxy-size.json",
        "subnet-build.json",
        "nsg-default-only.json",
    ]);
    let got = ids_of(&r);
    assert!(
        got.contains(&FindingId::AciSubnetInsideBuildSubnet),
        "{got:?}"
    );
    assert!(got.contains(&FindingId::ProxyVmSizeWithAci), "{got:?}");
    // Overlapping prefixes (10.20.1.128/27 inside 10.20.1.0/24), different subnet ids.
    let o = linux(&[
        "template-isolated.json",
        "subnet-build.json",
        "subnet-aci-overlapping.json",
        "nsg-default-only.json",
    ]);
    let f = o
        .findings
        .iter()
        .find(|f| f.id == FindingId::AciSubnetInsideBuildSubnet)
        .expect("overlap");
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("10.20.1.128/27 overlaps build subnet 10.20.1.0/24")),
        "{f:#?}"
    );
    assert!(!ids_of(&o).contains(&FindingId::ProxyVmSizeWithAci));
}

#[test]
fn missing_nsg_rules_are_reported_not_guessed() {
    // The subnet names aib-build-nsg, but its rules are not given.
    let r = linux(&["template-linux.json", "subnet-build.json"]);
    assert!(
        r.flows
            .iter()
            .filter(|f| f.at == At::BuildSubnet)
            .all(|f| f.verdict == StepVerdict::Unknown)
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.id == FindingId::RuleNotEvaluated)
        .expect("not evaluated");
    assert!(
        f.title
            .contains("NSG aib-build-nsg (build subnet) was not given"),
        "{}",
        f.title
    );
    assert_eq!(r.verdict, CheckVerdict::Unknown);
    // A subnet without NSG: nothing filters.
    let none = linux(&["template-linux.json", "subnet-build-no-nsg.json"]);
    assert_eq!(none.verdict, CheckVerdict::Ok, "{:#?}", none.findings);
    assert_eq!(
        row(&none, Hop::AlbToProxy, 60001, At::BuildSubnet, IN)
            .rule
            .as_deref(),
        Some("(no NSG on the build subnet)")
    );
}

// ---- templates ----------------------------------------------------------------------

#[test]
fn real_linux_template() {
    let mut cfg = Config::default();
    let path = aib_template("existingVNETLinux.json");
    cfg.add_file(&path, &std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(cfg.templates[0].api_version.as_deref(), Some("2020-02-14"));
    let r = check::evaluate(&cfg);
    assert_eq!((r.topology, r.os), (Topology::Proxy, Some(Os::Linux)));
    let ports: Vec<(Hop, u16)> = r.hops.iter().map(|h| (h.hop, h.port)).collect();
    assert!(
        ports.contains(&(Hop::AlbToProxy, 60001)) && ports.contains(&(Hop::ProxyToBuildVm, 22)),
        "{ports:?}"
    );
    assert!(!ports.iter().any(|(_, p)| *p == 5986 || *p == 1688));
    // <subnetName> & co. are placeholders: said, and nothing is guessed.
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("<region>") && n.contains("<subnetName>")),
        "{:?}",
        r.notes
    );
    assert!(r.flows.iter().all(|f| f.verdict == StepVerdict::Unknown));
    assert!(!r.is_blocked());
}

#[test]
fn real_windows_template_with_one_subnet_and_nsg() {
    // ARM deployment template with parameters (no defaults): the image template
    // is found in `resources`, Windows from the source publisher.
    let mut cfg = Config::load_paths(&[
        aib_template("existingVNETWindows.json"),
        config_fixture("subnet-build.json"),
        config_fixture("nsg-denyall-1000.json"),
    ]);
    assert!(cfg.skipped.is_empty());
    assert_eq!(
        cfg.templates[0].name.as_deref(),
        Some("[parameters('imageTemplateName')]")
    );
    cfg.options = Options::default();
    let r = check::evaluate(&cfg);
    assert_eq!((r.topology, r.os), (Topology::Proxy, Some(Os::Windows)));
    // The placeholder subnetId cannot be matched; the only subnet given is used, and said so.
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("used the only subnet given, aib-build")),
        "{:?}",
        r.notes
    );
    assert_eq!(
        decided(row(&r, Hop::AlbToProxy, 60000, At::BuildSubnet, IN)),
        (StepVerdict::Deny, Some("DenyAll-Inbound"), Some(1000))
    );
    assert_eq!(
        decided(row(&r, Hop::ProxyToBuildVm, 5986, At::BuildSubnet, IN)),
        (StepVerdict::Deny, Some("DenyAll-Inbound"), Some(1000))
    );
    assert_eq!(
        decided(row(&r, Hop::BuildVmEgress, 1688, At::BuildSubnet, OUT)).0,
        StepVerdict::Allow
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("[parameters('svclocation')]")),
        "{:?}",
        r.notes
    );
}

#[test]
fn template_forms_across_api_versions() {
    // 2019-05-01-preview: vnetConfig by names, matched to the VNET's subnet.
    let r = linux(&[
        "template-2019-preview.json",
        "vnet.json",
        "nsg-default-only.json",
    ]);
    assert!(r.notes.iter().any(|n| n.contains("2019-05-01-preview")));
    assert_eq!(
        row(&r, Hop::AlbToProxy, 60001, At::BuildSubnet, IN).dst,
        "10.20.1.0/24"
    );
    assert_eq!(r.verdict, CheckVerdict::Ok);
    // `az image builder show` (flattened, osDiskSizeGb), Windows, proxyVmSize on the proxy path.
    let w = linux(&["template-az-show-windows.json", "subnet-build-no-nsg.json"]);
    assert_eq!((w.topology, w.os), (Topology::Proxy, Some(Os::Windows)));
    assert!(!ids_of(&w).contains(&FindingId::ProxyVmSizeWithAci));
    assert!(
        w.hops
            .iter()
            .any(|h| h.hop == Hop::ProbeToProxy && h.port == 60000)
    );
}

#[test]
fn unknown_os_checks_both_port_sets() {
    let r = linux(&["subnet-build.json", "nsg-default-only.json"]);
    assert_eq!(r.os, None);
    for (hop, port) in [
        (Hop::AlbToProxy, 60001),
        (Hop::AlbToProxy, 60000),
        (Hop::ProxyToBuildVm, 22),
        (Hop::ProxyToBuildVm, 5986),
    ] {
        assert!(
            r.hops.iter().any(|h| h.hop == hop && h.port == port),
            "{hop} {port}"
        );
    }
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("no image template given"))
    );
}

// ---- robustness ---------------------------------------------------------------------

#[test]
fn truncated_and_mangled_inputs_never_panic() {
    let dir = captures("config");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 25);
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for cut in (0..bytes.len()).step_by(97) {
            let _ = check::read_json(&f, &bytes[..cut]);
        }
        // Valid JSON with the wrong types everywhere.
        let text = String::from_utf8(bytes).unwrap();
        let mangled = text
            .replace("\"Inbound\"", "7")
            .replace("\"10.20.", "\"999.20.")
            .replace(": 1000", ": -1");
        let mut cfg = Config::default();
        let _ = cfg.add_file(&f, mangled.as_bytes());
        let _ = check::evaluate(&cfg);
    }
}

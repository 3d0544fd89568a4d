//! Every error text of the failure table (reference §4, F1–F22), with its
//! variable parts changed (addresses, ports, GUIDs, names), through the
//! library: the class ranked first, its hop, finding ids and the values read.

use aibnet::aib::{FindingId, Hop};
use aibnet::aib::{Os, TopologyKind as Topology};
use aibnet::explain::{Class, Context, Explanation, explain};

fn ex(text: &str) -> Explanation {
    explain(text.as_bytes(), &Context::default())
}

fn classes(e: &Explanation) -> Vec<Class> {
    e.matches.iter().map(|m| m.class).collect()
}

fn best(text: &str) -> aibnet::explain::Match {
    let e = ex(text);
    assert!(e.recognised, "not recognised: {text}");
    e.matches[0].clone()
}

// ---- F1 / F2: the proxy port -------------------------------------------------

#[test]
fn f1_windows_proxyconnect_with_other_addresses() {
    let e = ex(
        r#"[ERROR] WinRM connection err: unknown error Post "https://172.20.4.9:5986/wsman": proxyconnect tcp: dial tcp 10.250.3.77:60000: i/o timeout"#,
    );
    assert_eq!(
        classes(&e)[..2],
        [Class::ProxyCommandChannelBlocked, Class::HealthProbeBlocked]
    );
    let m = &e.matches[0];
    assert_eq!(m.reference, Some("F1"));
    assert_eq!(m.hop, Some(Hop::AlbToProxy));
    assert_eq!(
        m.finding_ids,
        [FindingId::AlbToProxyBlocked, FindingId::NsgRuleBlocksHop]
    );
    assert_eq!(m.extracted.build_vm_ip.as_deref(), Some("172.20.4.9"));
    assert_eq!(
        m.extracted.private_endpoint_ip.as_deref(),
        Some("10.250.3.77")
    );
    assert_eq!(m.extracted.port, Some(60000));
    assert_eq!(m.extracted.os, Some(Os::Windows));
    assert_eq!(m.extracted.topology, Some(Topology::Proxy));
    let f2 = &e.matches[1];
    assert_eq!(f2.hop, Some(Hop::ProbeToProxy));
    assert_eq!(f2.finding_ids[0], FindingId::ProbeBlocked);
    assert!(f2.confidence < m.confidence);
}

#[test]
fn f1_linux_bastion_on_60001_and_on_60000() {
    for (port, pe) in [(60001, "192.168.77.12"), (60000, "10.9.9.9")] {
        let m = best(&format!(
            "[DEBUG] TCP connection to SSH ip/port failed: Error connecting to bastion: dial tcp {pe}:{port}: connect: connection timed out"
        ));
        assert_eq!(m.class, Class::ProxyCommandChannelBlocked);
        assert_eq!(m.extracted.port, Some(port));
        assert_eq!(m.extracted.private_endpoint_ip.as_deref(), Some(pe));
        assert_eq!(
            m.extracted.dial_error.as_deref(),
            Some("connection timed out")
        );
        // SSH wording beats the port: the field report of a Linux build on 60000.
        assert_eq!(m.extracted.os, Some(Os::Linux));
    }
}

#[test]
fn f1_refused_proxy_port_is_a_rejection() {
    let m =
        best("Error connecting to bastion: dial tcp 10.241.0.9:60001: connect: connection refused");
    assert_eq!(m.class, Class::ProxyCommandChannelBlocked);
    assert_eq!(m.finding_ids[0], FindingId::ProxyPortRejected);
}

// ---- F3 / F4: the build VM --------------------------------------------------

#[test]
fn f3_context_deadline_to_wsman() {
    let e = ex(
        r#"[ERROR] WinRM connection err: unknown error Post "https://10.77.1.200:5986/wsman": context deadline exceeded"#,
    );
    let m = &e.matches[0];
    assert_eq!(m.class, Class::ProxyToBuildVmBlocked);
    assert_eq!(m.reference, Some("F3"));
    assert_eq!(m.hop, Some(Hop::ProxyToBuildVm));
    assert_eq!(m.finding_ids[0], FindingId::ProxyToBuildVmBlocked);
    assert_eq!(m.extracted.build_vm_ip.as_deref(), Some("10.77.1.200"));
    assert_eq!(m.extracted.port, Some(5986));
    assert_eq!(m.extracted.private_endpoint_ip, None);
}

#[test]
fn f3_linux_bastion_channel_to_the_build_vm_fails() {
    let m = best(
        "[DEBUG] TCP connection to SSH ip/port failed: ssh: rejected: connect failed (Connection timed out)",
    );
    assert_eq!(m.class, Class::ProxyToBuildVmBlocked);
}

#[test]
fn f4_direct_dial_ssh_and_winrm() {
    let e = ex(concat!(
        "==> azure-arm: Waiting for SSH to become available...\n",
        "[DEBUG] TCP connection to SSH ip/port failed: dial tcp 10.3.2.1:22: i/o timeout\n",
        "==> azure-arm: Timeout waiting for SSH.\n"
    ));
    let m = &e.matches[0];
    assert_eq!(m.class, Class::AciToBuildVmBlocked);
    assert_eq!(m.hop, Some(Hop::AciToBuildVm));
    assert_eq!(m.finding_ids[0], FindingId::AciToBuildVmBlocked);
    assert_eq!(m.extracted.topology, Some(Topology::Isolated));
    assert_eq!(m.extracted.build_vm_ip.as_deref(), Some("10.3.2.1"));

    let w = best(
        r#"WinRM connection err: unknown error Post "https://10.8.0.4:5986/wsman": dial tcp 10.8.0.4:5986: i/o timeout"#,
    );
    assert_eq!(w.class, Class::AciToBuildVmBlocked);
    assert_eq!(w.extracted.port, Some(5986));
    assert_eq!(w.extracted.os, Some(Os::Windows));
}

#[test]
fn f4_refused_port_is_a_rejection() {
    let m = best(
        "TCP connection to SSH ip/port failed: dial tcp 10.3.2.1:22: connect: connection refused",
    );
    assert_eq!(m.class, Class::AciToBuildVmBlocked);
    assert_eq!(m.finding_ids[0], FindingId::BuildVmPortRejected);
}

// ---- ranking of the generic texts ---------------------------------------------

#[test]
fn port_decides_between_f1_and_f3() {
    let via_proxy = ex(
        r#"Timeout waiting for WinRM. Post "https://10.1.1.1:5986/wsman": proxyconnect tcp: dial tcp 10.2.2.2:60000: i/o timeout"#,
    );
    let to_build_vm = ex(
        r#"Timeout waiting for WinRM. Post "https://10.1.1.1:5986/wsman": context deadline exceeded"#,
    );
    assert_eq!(
        via_proxy.matches[0].class,
        Class::ProxyCommandChannelBlocked
    );
    assert_eq!(to_build_vm.matches[0].class, Class::ProxyToBuildVmBlocked);
    let rank = |e: &Explanation, c: Class| classes(e).iter().position(|x| *x == c);
    assert!(rank(&via_proxy, Class::ProxyToBuildVmBlocked) > Some(0));
    assert!(rank(&to_build_vm, Class::ProxyCommandChannelBlocked) > Some(0));
}

#[test]
fn bare_timeout_is_recognised_but_ambiguous() {
    let e = ex("==> azure-arm: Timeout waiting for SSH.");
    assert!(e.recognised);
    let c = classes(&e);
    for expected in [
        Class::ProxyCommandChannelBlocked,
        Class::ProxyToBuildVmBlocked,
        Class::AciToBuildVmBlocked,
        Class::HealthProbeBlocked,
    ] {
        assert!(c.contains(&expected), "{expected} missing from {c:?}");
    }
    assert!(
        e.matches.iter().all(|m| m.confidence <= 0.35),
        "{:?}",
        e.matches
    );
    // WinRM hardening is a Windows class: not offered for an SSH text.
    assert!(!c.contains(&Class::WinrmBrokenByHardening));
}

#[test]
fn isolated_template_puts_aci_first_for_a_bare_timeout() {
    let doc = r#"{"type":"Microsoft.VirtualMachineImages/imageTemplates","name":"t","vmProfile":{"vnetConfig":{
        "subnetId":"/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/n/providers/Microsoft.Network/virtualNetworks/v/subnets/build",
        "containerInstanceSubnetId":"/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/n/providers/Microsoft.Network/virtualNetworks/v/subnets/aci"}},
        "lastRunStatus":{"message":"Timeout waiting for WinRM."}}"#;
    let e = ex(doc);
    assert_eq!(e.matches[0].class, Class::AciToBuildVmBlocked);
    assert_eq!(e.matches[0].extracted.aci_subnet.as_deref(), Some("aci"));
    assert_eq!(e.matches[0].extracted.subnet.as_deref(), Some("build"));
}

// ---- deployment and configuration classes ------------------------------------

#[test]
fn f5_aci_start_failure_is_a_weak_match() {
    let m = best(
        "container group vmimagebuilder-build-container-0a1b2c: Failed to mount Azure File volume",
    );
    assert_eq!(m.class, Class::AciEgressBlocked);
    assert!(m.confidence < 0.5);
    assert_eq!(m.hop, Some(Hop::Deployment));
}

#[test]
fn f6_private_link_policies() {
    let m = best(
        "PrivateLinkServiceCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled: Private link service \
         /subscriptions/9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a/resourceGroups/IT_imgs_tpl_aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/providers/Microsoft.Network/privateLinkServices/aibplsq1 \
         cannot be created in a subnet /subscriptions/9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a/resourceGroups/corp-net/providers/Microsoft.Network/virtualNetworks/corp-vnet/subnets/aib \
         since it has private link service network policies enabled.",
    );
    assert_eq!(m.class, Class::PlsNetworkPoliciesEnabled);
    assert_eq!(m.hop, Some(Hop::Deployment));
    assert_eq!(m.finding_ids, [FindingId::PlsNetworkPoliciesEnabled]);
    assert_eq!(m.extracted.vnet.as_deref(), Some("corp-vnet"));
    assert_eq!(m.extracted.subnet.as_deref(), Some("aib"));
    assert!(m.fix.contains(
        "az network vnet subnet update --resource-group corp-net --vnet-name corp-vnet --name aib --private-link-service-network-policies Disabled"
    ), "{}", m.fix);
}

#[test]
fn f7_update_tags_404() {
    let m = best(
        "network.InterfacesClient#UpdateTags: Failure responding to request: StatusCode=404 -- Original Error: autorest/azure: \
         Service returned an error. Status=404 Code=\"ResourceNotFound\" Message=\"The Resource \
         'Microsoft.Network/networkInterfaces/aibplsx9y8z7.nic.0f0e0d0c-0b0a-4908-8706-050403020100' under resource group \
         'IT_rg2_tpl2_12345678-90ab-4cde-8f01-234567890abc' was not found.\"",
    );
    assert_eq!(m.class, Class::NetworkingPermissionsMissing);
    assert_eq!(m.hop, Some(Hop::Deployment));
    assert!(m.finding_ids.is_empty());
    assert_eq!(
        m.extracted.staging_resource_group.as_deref(),
        Some("IT_rg2_tpl2_12345678-90ab-4cde-8f01-234567890abc")
    );
}

#[test]
fn f8_proxy_disk_write_denied() {
    let e = ex(
        "The client '0d7a8b9c-1234-4abc-9def-0123456789ab' with object id '0d7a8b9c-1234-4abc-9def-0123456789ab' does not have \
         authorization to perform action 'Microsoft.Compute/disks/write' over scope \
         '/subscriptions/aaaa1111-bb22-4c33-8d44-eeeeee555555/resourceGroups/rg-prebuilt/providers/Microsoft.Compute/disks/proxyVmDiskWin_1727000000' \
         or the scope is invalid.",
    );
    let m = &e.matches[0];
    assert_eq!(m.class, Class::AibServicePrincipalNotContributor);
    assert_eq!(
        m.extracted.denied_action.as_deref(),
        Some("Microsoft.Compute/disks/write")
    );
    assert_eq!(
        m.extracted.principal_id.as_deref(),
        Some("0d7a8b9c-1234-4abc-9def-0123456789ab")
    );
    assert!(
        m.fix.contains(
            "--scope /subscriptions/aaaa1111-bb22-4c33-8d44-eeeeee555555/resourceGroups/rg-prebuilt"
        ),
        "{}",
        m.fix
    );
    assert_eq!(e.matches[1].class, Class::IdentityNotAuthorized);
}

#[test]
fn f9_identity_not_authorized() {
    let m = best(
        "Not authorized to access the resource: https://stscripts77.blob.core.windows.net/scripts/setup.sh. Please check the user assigned identity has the correct permissions.",
    );
    assert_eq!(m.class, Class::IdentityNotAuthorized);
    assert_eq!(m.hop, Some(Hop::Deployment));
}

#[test]
fn f10_policy_texts() {
    for text in [
        "Code=\"RequestDisallowedByPolicy\" Message=\"Resource 'aibsa1' was disallowed by policy.\"",
        "InvalidTemplateDeployment : The template deployment failed because of policy violation. Please see details for more information.",
    ] {
        let m = best(text);
        assert_eq!(m.class, Class::AzurePolicyDenied, "{text}");
        assert!(m.finding_ids.is_empty());
    }
    let weak = best(
        "provisioningError: code NoCustomizerScript; Image template is not provisioned; cannot get packer logs",
    );
    assert_eq!(weak.class, Class::AzurePolicyDenied);
    assert!(weak.confidence < 0.8);
}

#[test]
fn f11_aci_prerequisites() {
    for text in [
        "Azure Container Instances provider not registered for your subscription.",
        "Azure Container Instances quota exceeded",
        "Too many Azure Container Instances deployed within a period of time.",
    ] {
        assert_eq!(best(text).class, Class::AciPrerequisitesMissing, "{text}");
    }
}

#[test]
fn f12_artifact_download() {
    let m = best(
        "Downloading external file (https://raw.example.org/x/install.ps1) to local file (k3j2h1g0.0.customizer.fp) [attempt 3 of 10] failed: Error downloading 'https://raw.example.org/x/install.ps1' to 'k3j2h1g0.0.customizer.fp'..",
    );
    assert_eq!(m.class, Class::ArtifactDownloadFailed);
    let generic = best("Internal error occurred. This is a generic error, please retry.");
    assert_eq!(generic.class, Class::ArtifactDownloadFailed);
    assert!(generic.confidence < 0.5);
}

#[test]
fn f13_packerizer_alone_and_around_a_cause() {
    let wrapper = "Deployment failed. Correlation ID: 1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b. Failed in building/customizing image: \
        Failed while waiting for packerizer: Microservice has failed: Failed while processing request: Error when executing packerizer: \
        Packer build command has failed: exit status 1. Image Build log location: \
        https://zx9cv8bn7m6.blob.core.windows.net/packerlogs/01234567-89ab-4cde-8f01-23456789abcd/customization.log. \
        OperationId: 01234567-89ab-4cde-8f01-23456789abcd. Use this operationId to search packer logs.";
    let e = ex(wrapper);
    assert_eq!(classes(&e), [Class::PackerBuildFailed]);
    let m = &e.matches[0];
    assert_eq!(m.hop, None);
    assert!(m.finding_ids.is_empty());
    assert_eq!(m.extracted.storage_account.as_deref(), Some("zx9cv8bn7m6"));
    assert_eq!(
        m.extracted.correlation_id.as_deref(),
        Some("1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b")
    );
    assert!(e.collect.iter().any(|s| s.command.contains(
        "--container-name packerlogs --name 01234567-89ab-4cde-8f01-23456789abcd/customization.log"
    )));

    let around = ex(&format!(
        "{wrapper}\nTimeout waiting for SSH. Error connecting to bastion: dial tcp 10.0.0.5:60001: i/o timeout"
    ));
    assert_eq!(around.matches[0].class, Class::ProxyCommandChannelBlocked);
    assert_eq!(
        around.matches.last().map(|m| m.class),
        Some(Class::PackerBuildFailed)
    );
}

#[test]
fn f14_dns_egress_and_hanging_commands() {
    let dns = best(
        "Err:1 http://azure.archive.ubuntu.com/ubuntu jammy InRelease\n  Temporary failure resolving 'azure.archive.ubuntu.com'",
    );
    assert_eq!(dns.class, Class::BuildVmDnsFailing);
    assert_eq!(dns.hop, Some(Hop::BuildVmDns));
    assert_eq!(dns.finding_ids, [FindingId::DnsFailing]);

    let egress =
        best("Could not connect to mirror.example.net:80 (203.0.113.10), connection timed out");
    assert_eq!(egress.class, Class::BuildVmEgressBlocked);
    assert_eq!(egress.hop, Some(Hop::BuildVmEgress));
    assert_eq!(egress.finding_ids[0], FindingId::BuildVmEgressBlocked);
    assert_eq!(
        egress.extracted.egress_destinations,
        ["mirror.example.net:80"]
    );

    let wu = best("Windows Update failed with HRESULT 0x80072EFD");
    assert_eq!(wu.class, Class::BuildVmEgressBlocked);

    let hang = best(
        "Failed while waiting for packerizer: Timeout waiting for microservice to complete: 'context deadline exceeded'",
    );
    assert_eq!(hang.class, Class::BuildVmEgressBlocked);
    assert!(hang.confidence < 0.6);
}

#[test]
fn f15_session_interrupted() {
    for text in [
        "[ERROR] Remote command exited without exit status or exit signal.",
        "[INFO] RPC endpoint: Communicator ended with: 2300218",
    ] {
        let m = best(text);
        assert_eq!(m.class, Class::BuildSessionInterrupted, "{text}");
        assert_eq!(m.hop, Some(Hop::ProxyToBuildVm));
        assert_eq!(m.finding_ids[0], FindingId::BuildSessionInterrupted);
    }
    let cancelled =
        best("PACKER ERR Cancelling builder after context cancellation context canceled");
    assert_eq!(cancelled.class, Class::BuildSessionInterrupted);
    assert!(cancelled.confidence < 0.5);
}

#[test]
fn f16_cis_image() {
    let m = best(
        "source image: cis-windows-server-2022-l1 (CIS hardened)\n==> azure-arm: Timeout waiting for WinRM.",
    );
    let e = ex(
        "source image: cis-windows-server-2022-l1 (CIS hardened)\n==> azure-arm: Timeout waiting for WinRM.",
    );
    let f16 = e
        .matches
        .iter()
        .find(|m| m.class == Class::WinrmBrokenByHardening)
        .expect("F16 offered");
    assert!(f16.confidence >= 0.6);
    assert_eq!(m.class, Class::WinrmBrokenByHardening);
}

#[test]
fn f17_resource_exhaustion() {
    for text in [
        "Retryable error: Machine not yet available (exit status 1115)",
        "==> azure-arm: Timeout waiting for machine to restart.",
    ] {
        assert_eq!(best(text).class, Class::BuildVmResourceExhaustion, "{text}");
    }
    let eof = ex("Build 'azure-arm' errored: unexpected EOF");
    assert_eq!(eof.matches[0].class, Class::BuildVmResourceExhaustion);
    assert_eq!(eof.matches[1].class, Class::BuildSessionInterrupted);
}

#[test]
fn f18_f19_transient_and_cleanup() {
    assert_eq!(
        best("Future#WaitForCompletion: context has been cancelled: StatusCode=200 -- Original Error: context deadline exceeded").class,
        Class::AzureDeploymentTimeout
    );
    for code in [
        "NicInUseWithPrivateEndpoint",
        "InUseNetworkSecurityGroupCannotBeDeleted",
        "PublicIPAddressCannotBeDeleted",
    ] {
        let m = best(&format!("cleanup: Code=\"{code}\" Message=\"...\""));
        assert_eq!(m.class, Class::StagingCleanupBlocked, "{code}");
        assert_eq!(m.hop, Some(Hop::Deployment));
    }
}

#[test]
fn f20_region_and_f21_subnet_full() {
    let region = best(
        "Code=\"InvalidResourceReference\" Message=\"Resource /subscriptions/0a0b0c0d-1e1f-4a2b-8c3d-4e5f6a7b8c9d/resourceGroups/net-eu/providers/Microsoft.Network/virtualNetworks/vnet-eu/subnets/aib \
         referenced by resource /subscriptions/0a0b0c0d-1e1f-4a2b-8c3d-4e5f6a7b8c9d/resourceGroups/IT_x_y_0a0b0c0d-1e1f-4a2b-8c3d-4e5f6a7b8c9d/providers/Microsoft.Network/networkInterfaces/pkrniabc12 \
         was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.\"",
    );
    assert_eq!(region.class, Class::VnetRegionMismatch);
    assert_eq!(region.finding_ids, [FindingId::VnetRegionMismatch]);
    assert_eq!(region.extracted.vnet.as_deref(), Some("vnet-eu"));

    let full = best(
        "{\"code\": \"SubnetIsFull\", \"message\": \"Subnet snet-tiny with address prefix 10.44.0.0/29 does not have enough capacity for 2 IP addresses.\"}",
    );
    assert_eq!(full.class, Class::SubnetTooSmall);
    assert_eq!(full.finding_ids, [FindingId::SubnetTooSmall]);
    assert_eq!(full.extracted.subnet.as_deref(), Some("snet-tiny"));
    assert_eq!(
        full.extracted.subnet_prefix.as_deref(),
        Some("10.44.0.0/29")
    );
}

#[test]
fn f22_kms() {
    for text in [
        "Error: 0xC004F074 The Software Licensing Service reported that the computer could not be activated. No Key Management Service (KMS) could be contacted.",
        "slmgr.vbs /ato failed: Error: 0x800705B4 This operation returned because the timeout period expired.",
        "Test-NetConnection azkms.core.windows.net -Port 1688 : TcpTestSucceeded False",
    ] {
        let m = best(text);
        assert_eq!(m.class, Class::KmsActivationBlocked, "{text}");
        assert_eq!(m.hop, Some(Hop::BuildVmEgress));
        assert_eq!(m.finding_ids[0], FindingId::BuildVmEgressBlocked);
    }
}

// ---- escaped and structured input --------------------------------------------

#[test]
fn json_escaped_message_from_last_run_status() {
    let pasted = r#""message": "Failed while waiting for packerizer: Microservice has failed ... [ERROR] WinRM connection err: unknown error Post \"https://10.5.6.7:5986/wsman\": proxyconnect tcp: dial tcp 10.241.9.8:60000: i/o timeout""#;
    let m = best(pasted);
    assert_eq!(m.class, Class::ProxyCommandChannelBlocked);
    assert_eq!(m.extracted.build_vm_ip.as_deref(), Some("10.5.6.7"));
}

// ---- text that matches nothing ------------------------------------------------

#[test]
fn unrelated_text_is_not_recognised() {
    for text in [
        "hello world",
        "Error: Failed to initialize build \"image\": The builder azure-arm is unknown by Packer",
        "2024-05-14T10:00:00Z everything went fine, image version 1.0.3 published",
    ] {
        let e = ex(text);
        assert!(!e.recognised, "{text}: {:?}", classes(&e));
        assert!(e.matches.is_empty());
    }
}

#[test]
fn near_miss_names_closest_classes_honestly() {
    let e = ex("dial tcp 10.0.0.4:443: i/o timeout");
    assert!(!e.recognised);
    let close: Vec<Class> = e.closest.iter().map(|c| c.class).collect();
    assert!(close.contains(&Class::BuildVmEgressBlocked), "{close:?}");
    assert!(
        close.contains(&Class::ProxyCommandChannelBlocked)
            || close.contains(&Class::AciToBuildVmBlocked)
    );
    assert!(e.closest.iter().all(|c| c.why.contains("not a diagnosis")));
    assert!(e.closest.len() <= 3);
    // Still a way forward: where the real error text is.
    assert!(
        e.collect
            .iter()
            .any(|s| s.command.contains("lastRunStatus.message"))
    );
}

#[test]
fn nothing_alike_has_no_closest() {
    let e = ex("The quick brown fox jumps over the lazy dog");
    assert!(!e.recognised);
    assert!(e.closest.is_empty());
}

#[test]
fn hostile_input_never_panics() {
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff; 1000],
        b"\\\\\\\"\\u12".to_vec(),
        "[".repeat(10_000).into_bytes(),
        "dial tcp 999.999.999.999:99999999: i/o timeout".into(),
        "Post \"https://1.2.3.4:99999/wsman\": context deadline exceeded".into(),
        "IT_\n/subscriptions//resourceGroups//providers/".into(),
        "2024-02-30T25:61:61Z 9999/99/99 99:99:99".into(),
    ];
    inputs.push("Timeout waiting for SSH. ".repeat(50_000).into_bytes());
    for raw in inputs {
        let e = explain(&raw, &Context::default());
        use aibnet::report::{OutputFormat, Render, Style};
        for format in [
            OutputFormat::Table,
            OutputFormat::Markdown,
            OutputFormat::Json,
        ] {
            e.render(
                format,
                &Style {
                    color: true,
                    ..Style::plain()
                },
                &mut std::io::sink(),
            )
            .unwrap();
        }
    }
}

// ---- issue 20 item 6: pasted texts of the classes outside the table ------------

/// AIB's storage-account failures as people paste them: the firewall's 403
/// `AuthorizationFailure` on a script download, and the 409 XML body of
/// `PublicAccessNotPermitted` — each its own class, fix and plan.
#[test]
fn storage_account_firewall_and_public_access_texts() {
    let firewall = ex(
        "[ERROR] Failed to download file https://aibscripts01.blob.core.windows.net/scripts/install.ps1: \
         403 This request is not authorized to perform this operation. \
         RequestId:2b8e3c4d-201e-0042-6f1a-4c7b2d000000 Time:2025-03-04T10:11:12.1234567Z ErrorCode:AuthorizationFailure",
    );
    let m = &firewall.matches[0];
    assert_eq!(m.class, Class::StorageFirewallBlocked);
    assert!(
        m.fix.contains("az storage account network-rule add"),
        "{}",
        m.fix
    );
    assert!(!firewall.collect.is_empty());
    assert!(
        !classes(&firewall).contains(&Class::StoragePublicAccessDisabled),
        "{:?}",
        classes(&firewall)
    );

    let public = ex(concat!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>PublicAccessNotPermitted</Code>",
        "<Message>Public access is not permitted on this storage account.\n",
        "RequestId:5c1d7a2e-801e-0021-3b4f-9a0c1e000000\n",
        "Time:2025-03-04T10:12:13.7654321Z</Message></Error>"
    ));
    let m = &public.matches[0];
    assert_eq!(m.class, Class::StoragePublicAccessDisabled);
    assert!(m.fix.contains("Storage Blob Data Reader"), "{}", m.fix);
    assert!(!m.class.network());
    assert!(!public.collect.is_empty());
}

/// Private Link service network policies in the forms people paste: the
/// ARM error code, the subnet property in a document's excerpt, the old
/// `az` flag set the wrong way, the new flag, and a rejected flag value.
#[test]
fn private_link_service_network_policies_in_every_form() {
    for text in [
        "Code: PrivateLinkServiceCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled",
        "\"privateLinkServiceNetworkPolicies\": \"Enabled\",",
        "az network vnet subnet update --resource-group rg-net --vnet-name vnet-aib --name snet-build \
         --disable-private-link-service-network-policies false",
        "az network vnet subnet update -g rg-net --vnet-name vnet-aib -n snet-build \
         --private-link-service-network-policies Enabled",
        "az network vnet subnet update: 'yes' is not a valid value for \
         '--disable-private-link-service-network-policies'. Allowed values: true, false.",
    ] {
        let e = ex(text);
        let m = &e.matches[0];
        assert_eq!(m.class, Class::PlsNetworkPoliciesEnabled, "{text}");
        assert!(
            m.fix
                .contains("--private-link-service-network-policies Disabled"),
            "{text}: {}",
            m.fix
        );
        assert!(!e.collect.is_empty(), "{text}");
        if text.starts_with("az network vnet subnet update ") {
            // The command's own names fill the fix.
            assert!(
                m.fix.contains(
                    "az network vnet subnet update --resource-group rg-net --vnet-name vnet-aib \
                     --name snet-build --private-link-service-network-policies Disabled"
                ),
                "{text}: {}",
                m.fix
            );
        }
    }
    // Disabling them is the fix, not the failure.
    assert!(
        !ex(
            "az network vnet subnet update -g rg-net --vnet-name vnet-aib -n snet-build \
             --disable-private-link-service-network-policies true"
        )
        .recognised
    );
}

/// Packer run by hand (`packer.exe`, `packer build` at a prompt) pasted
/// from a console, without timestamps: not AIB's proxy or ACI path but the
/// runner's, and the plan asks for the runner's route, the build subnet's
/// NSG and peering, never for AIB's template or staging group.
#[test]
fn packer_run_directly_from_a_pasted_console() {
    let e = ex(concat!(
        "PS C:\\packer> packer.exe build .\\win2022.pkr.hcl\n",
        "==> azure-arm: Waiting for WinRM to become available...\n",
        "    azure-arm: [DEBUG] TCP connection to WinRM ip/port failed: dial tcp 10.20.1.5:5986: i/o timeout\n",
        "==> azure-arm: Timeout waiting for WinRM.\n",
    ));
    assert_eq!(
        classes(&e)[..2],
        [Class::PackerRunDirectly, Class::SourceImageDefect],
        "{:?}",
        classes(&e)
    );
    let m = &e.matches[0];
    assert_eq!(m.confidence, 0.8);
    assert_eq!(m.extracted.runner, Some("packer.exe on a Windows host"));
    assert_eq!(m.extracted.topology, None);
    assert_eq!(m.evidence[0].line, Some(1));
    assert!(
        m.explanation.contains("dialled 10.20.1.5:5986 itself"),
        "{}",
        m.explanation
    );
    assert!(m.fix.contains("private_virtual_network_with_public_ip"));
    for absent in [
        Class::AciToBuildVmBlocked,
        Class::ProxyToBuildVmBlocked,
        Class::ProxyCommandChannelBlocked,
    ] {
        assert!(!classes(&e).contains(&absent), "{absent}");
    }
    let commands: Vec<&str> = e.collect.iter().map(|s| s.command.as_str()).collect();
    assert!(
        commands[0].contains("test-connectivity")
            && commands[0].contains("--dest-address 10.20.1.5 --dest-port 5986")
    );
    assert!(
        commands
            .iter()
            .any(|c| c.contains("show-effective-route-table"))
    );
    assert!(commands.iter().any(|c| c.contains("vnet peering list")));
    assert!(
        !commands
            .iter()
            .any(|c| c.contains("image builder") || c.contains("STAGING")),
        "{commands:#?}"
    );

    // Answered attempts from a Linux shell: the VM is reachable, the image
    // comes first and the runner's path second.
    let e = ex(concat!(
        "$ packer build ubuntu.pkr.hcl\n",
        "==> azure-arm: Waiting for SSH to become available...\n",
        "    azure-arm: [DEBUG] TCP connection to SSH ip/port failed: dial tcp 10.20.1.6:22: connect: connection refused\n",
        "==> azure-arm: Timeout waiting for SSH.\n",
    ));
    assert_eq!(
        classes(&e)[..2],
        [Class::SourceImageDefect, Class::PackerRunDirectly]
    );
    assert_eq!(
        e.matches[0].extracted.runner,
        Some("`packer build` run from a shell")
    );

    // The same dial without Packer's own binary or command is AIB's
    // isolated path (ACI dials the build VM directly too).
    let m = best(concat!(
        "==> azure-arm: Waiting for SSH to become available...\n",
        "    azure-arm: [DEBUG] TCP connection to SSH ip/port failed: dial tcp 10.20.1.6:22: i/o timeout\n",
        "==> azure-arm: Timeout waiting for SSH.\n",
    ));
    assert_eq!(m.class, Class::AciToBuildVmBlocked);
    assert_eq!(m.extracted.runner, None);
}

/// A WinRM or SSH timeout that says nothing of its attempts: the network
/// classes lead, and the causes outside the network (the source image, a VM
/// too small for it) are offered below every one of them, each with the
/// evidence that tells it apart. With failed dials in the text they are not.
#[test]
fn a_bare_communicator_timeout_offers_the_image_and_the_vm_size_low() {
    for text in [
        "==> azure-arm: Timeout waiting for WinRM.",
        "==> azure-arm: Timeout waiting for SSH.",
    ] {
        let e = ex(text);
        let lowest_network = e
            .matches
            .iter()
            .filter(|m| m.class.network())
            .map(|m| m.confidence)
            .fold(f64::INFINITY, f64::min);
        for class in [Class::SourceImageDefect, Class::BuildVmResourceExhaustion] {
            let m = e
                .matches
                .iter()
                .find(|m| m.class == class)
                .unwrap_or_else(|| panic!("{text}: {class} offered"));
            assert!(
                m.confidence <= 0.2 && m.confidence <= lowest_network,
                "{text}: {class}"
            );
            assert!(!m.class.network());
            assert_eq!(m.evidence[0].signal, "timeout_without_attempts");
        }
        let m = |c: Class| e.matches.iter().find(|m| m.class == c).unwrap();
        assert!(
            m(Class::SourceImageDefect)
                .signature
                .contains("answers (RST")
        );
        assert!(
            m(Class::SourceImageDefect)
                .explanation
                .contains("Here: the text shows none of Packer's attempts")
        );
        assert!(
            m(Class::BuildVmResourceExhaustion)
                .signature
                .contains("around reboots")
        );
        assert!(
            m(Class::BuildVmResourceExhaustion)
                .explanation
                .contains("vmSize")
        );
    }
    let with_attempts = ex(concat!(
        "[DEBUG] TCP connection to SSH ip/port failed: dial tcp 10.3.2.1:22: i/o timeout\n",
        "==> azure-arm: Timeout waiting for SSH.\n"
    ));
    assert!(!classes(&with_attempts).contains(&Class::BuildVmResourceExhaustion));
}

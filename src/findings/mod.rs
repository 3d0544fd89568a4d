//! Findings: one diagnosis each, with the hop it concerns, the evidence, the
//! likely cause and the fix.
//!
//! This module owns the vocabulary every analysis shares (`diagnose`, `check`,
//! `builds`, `explain`): the hops of an AIB build path ([`Hop`]), a hop's
//! [`HopStatus`], a finding's [`Severity`] and the stable finding ids
//! ([`ids`]). The ids and the serialised names are part of the JSON contract:
//! add new ones freely, never rename.

pub mod rules;

use serde::{Deserialize, Serialize};

/// A hop of the AIB build path, or a place outside the data path where a
/// build can break (its deployment).
///
/// ```text
/// AIB service → Private Link → ALB → proxy VM :60001/:60000 → build VM :22/:5986
///                  probe 168.63.129.16 ┘
/// isolated:  ACI → build VM :22/:5986
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hop {
    /// Azure Load Balancer health probe (168.63.129.16) → proxy VM :60001/:60000.
    ProbeToProxy,
    /// Private Link NAT / ALB → proxy VM :60001/:60000 (the command channel).
    AlbToProxy,
    /// Proxy VM → build VM :22 (SSH) / :5986 (WinRM over HTTPS).
    ProxyToBuildVm,
    /// ACI container (isolated builds) → build VM :22/:5986 directly.
    AciToBuildVm,
    /// Build VM → destinations outside the VNET (mirrors, storage, KMS ...).
    BuildVmEgress,
    /// Build VM → its DNS server.
    BuildVmDns,
    /// Not a data-plane hop: the deployment of the proxy, load balancer and
    /// Private Link Service (subnet policies, region, permissions).
    Deployment,
}

impl Hop {
    /// Every data-plane hop in path order (without [`Hop::Deployment`]).
    pub const PATH: [Hop; 6] = [
        Hop::ProbeToProxy,
        Hop::AlbToProxy,
        Hop::ProxyToBuildVm,
        Hop::AciToBuildVm,
        Hop::BuildVmEgress,
        Hop::BuildVmDns,
    ];

    /// Whether build commands travel this hop (the ALB → proxy → build VM
    /// chain, or ACI → build VM).
    pub fn carries_commands(self) -> bool {
        matches!(
            self,
            Hop::AlbToProxy | Hop::ProxyToBuildVm | Hop::AciToBuildVm
        )
    }

    /// The serialised name, as in JSON (`probe_to_proxy` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Hop::ProbeToProxy => "probe_to_proxy",
            Hop::AlbToProxy => "alb_to_proxy",
            Hop::ProxyToBuildVm => "proxy_to_build_vm",
            Hop::AciToBuildVm => "aci_to_build_vm",
            Hop::BuildVmEgress => "build_vm_egress",
            Hop::BuildVmDns => "build_vm_dns",
            Hop::Deployment => "deployment",
        }
    }

    /// A short human label for tables and diagrams.
    pub fn label(self) -> &'static str {
        match self {
            Hop::ProbeToProxy => "probe → proxy",
            Hop::AlbToProxy => "ALB → proxy",
            Hop::ProxyToBuildVm => "proxy → build VM",
            Hop::AciToBuildVm => "ACI → build VM",
            Hop::BuildVmEgress => "build VM → internet",
            Hop::BuildVmDns => "build VM → DNS",
            Hop::Deployment => "deployment",
        }
    }
}

impl std::fmt::Display for Hop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the evidence says about one hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HopStatus {
    /// Every attempt was answered and completed.
    Ok,
    /// Attempts went unanswered: no reply, SYN retransmits, flow-log deny,
    /// an End tuple without reply packets.
    Blocked,
    /// Attempts were refused: TCP RST, ICMP unreachable.
    Rejected,
    /// The upstream hop carried command sessions but the downstream sessions
    /// it should have caused never appeared.
    Missing,
    /// Established, then reset or silent in the middle of the build.
    Interrupted,
    /// Some attempts failed, others succeeded.
    Degraded,
    /// No capture point or flow log could have seen this hop.
    NotObserved,
}

impl HopStatus {
    /// The serialised name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            HopStatus::Ok => "ok",
            HopStatus::Blocked => "blocked",
            HopStatus::Rejected => "rejected",
            HopStatus::Missing => "missing",
            HopStatus::Interrupted => "interrupted",
            HopStatus::Degraded => "degraded",
            HopStatus::NotObserved => "not_observed",
        }
    }

    /// Whether this status means the hop is broken (fully or partly).
    pub fn is_failure(self) -> bool {
        !matches!(self, HopStatus::Ok | HopStatus::NotObserved)
    }
}

impl std::fmt::Display for HopStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; does not break a build.
    Info,
    /// May break a build or hides evidence.
    Warning,
    /// Breaks the build.
    Error,
}

impl Severity {
    /// The serialised name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The build VM's operating system: it decides the ports (Linux: proxy
/// 60001, SSH 22; Windows: proxy 60000, WinRM over HTTPS 5986, KMS 1688).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Os {
    /// SSH on 22; proxy port 60001.
    Linux,
    /// WinRM over HTTPS on 5986; proxy port 60000; KMS on 1688.
    Windows,
}

impl Os {
    /// `linux` / `windows`.
    pub fn as_str(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Windows => "windows",
        }
    }
}

/// One diagnosis: what is wrong, where, the evidence, why, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id, one of [`ids`].
    pub id: String,
    /// How bad it is.
    pub severity: Severity,
    /// The hop it concerns.
    pub hop: Hop,
    /// One line saying what is wrong.
    pub title: String,
    /// The evidence, one fact a line: counts, first/last time, addresses and
    /// ports, example sessions with the file that saw them, NSG rules.
    pub evidence: Vec<String>,
    /// The likely cause.
    pub cause: String,
    /// The fix, in words and with the `az` command where one exists.
    pub fix: String,
}

/// Stable finding ids. Part of the JSON contract: add, never rename.
pub mod ids {
    /// Health probe from 168.63.129.16 to the proxy gets no answer or is denied.
    pub const PROBE_BLOCKED: &str = "probe_blocked";
    /// Private Link NAT / ALB → proxy :6000x gets no answer or is denied.
    pub const ALB_TO_PROXY_BLOCKED: &str = "alb_to_proxy_blocked";
    /// The proxy answers :6000x with RST / ICMP unreachable.
    pub const PROXY_PORT_REJECTED: &str = "proxy_port_rejected";
    /// Command sessions reach the proxy but it never opens 22/5986 to the build VM.
    pub const PROXY_NOT_FORWARDING: &str = "proxy_not_forwarding";
    /// Proxy → build VM :22/:5986 gets no answer or is denied.
    pub const PROXY_TO_BUILD_VM_BLOCKED: &str = "proxy_to_build_vm_blocked";
    /// The build VM answers :22/:5986 with RST (nothing listening, guest firewall).
    pub const BUILD_VM_PORT_REJECTED: &str = "build_vm_port_rejected";
    /// An established SSH/WinRM session was reset or went silent mid-build.
    pub const BUILD_SESSION_INTERRUPTED: &str = "build_session_interrupted";
    /// ACI → build VM :22/:5986 gets no answer or is denied (isolated builds).
    pub const ACI_TO_BUILD_VM_BLOCKED: &str = "aci_to_build_vm_blocked";
    /// Build VM outbound TCP to destinations outside the VNET fails.
    pub const BUILD_VM_EGRESS_BLOCKED: &str = "build_vm_egress_blocked";
    /// Build VM DNS queries go unanswered or are denied.
    pub const DNS_FAILING: &str = "dns_failing";
    /// No AIB traffic at all in the evidence.
    pub const NO_AIB_TRAFFIC: &str = "no_aib_traffic";
    /// Every observed hop is fine.
    pub const HEALTHY: &str = "healthy";
    /// The proxy answers health probes but no command session reached it.
    pub const NO_COMMAND_SESSIONS: &str = "no_command_sessions";
    /// A capture point could not see a hop (honesty note).
    pub const HOP_NOT_OBSERVABLE: &str = "hop_not_observable";

    /// An NSG rule denies a flow the build needs (from `check`).
    pub const NSG_RULE_BLOCKS_HOP: &str = "nsg_rule_blocks_hop";
    /// A user-defined route drops traffic between the build's machines or to
    /// its DNS server (from `check`).
    pub const ROUTE_BLOCKS_HOP: &str = "route_blocks_hop";
    /// `privateLinkServiceNetworkPolicies` is still enabled on the build subnet.
    pub const PLS_NETWORK_POLICIES_ENABLED: &str = "pls_network_policies_enabled";
    /// The VNET is in another region than the image template.
    pub const VNET_REGION_MISMATCH: &str = "vnet_region_mismatch";
    /// The build subnet has fewer free addresses than the build needs.
    pub const SUBNET_TOO_SMALL: &str = "subnet_too_small";
    /// The ACI subnet is not delegated to Microsoft.ContainerInstance/containerGroups.
    pub const ACI_SUBNET_NOT_DELEGATED: &str = "aci_subnet_not_delegated";
    /// The ACI subnet overlaps the build subnet.
    pub const ACI_SUBNET_INSIDE_BUILD_SUBNET: &str = "aci_subnet_inside_build_subnet";
    /// `proxyVmSize` set together with `containerInstanceSubnetId`.
    pub const PROXY_VM_SIZE_WITH_ACI: &str = "proxy_vm_size_with_aci";
    /// A private subnet (no default outbound access) without NAT gateway, firewall route or public IP.
    pub const NO_OUTBOUND_PATH: &str = "no_outbound_path";
    /// A rule could not be evaluated (ASG, unknown service tag).
    pub const RULE_NOT_EVALUATED: &str = "rule_not_evaluated";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialised_names_match_as_str() {
        for hop in Hop::PATH.iter().copied().chain([Hop::Deployment]) {
            let json = serde_json::to_string(&hop).unwrap();
            assert_eq!(json, format!("\"{}\"", hop.as_str()));
        }
        for s in [
            HopStatus::Ok,
            HopStatus::Blocked,
            HopStatus::Rejected,
            HopStatus::Missing,
            HopStatus::Interrupted,
            HopStatus::Degraded,
            HopStatus::NotObserved,
        ] {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
    }
}

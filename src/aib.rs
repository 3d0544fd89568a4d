//! The AIB vocabulary every analysis shares: the hops of a build's network
//! path, what can be said of a hop, the build VM's OS, the topology, the
//! ports and well-known addresses, finding ids, severities and verdicts.
//!
//! A leaf: it imports nothing of the crate, and `topology`, `hops`,
//! `findings`, `diagnose`, `builds`, `check`, `explain` and `report` all
//! speak it, so a hop or an OS means the same thing everywhere. The
//! serialised names are part of the JSON contract: add, never rename.
//!
//! ```text
//! AIB service → Private Link → ALB → proxy VM :60001/:60000 → build VM :22/:5986
//!                  probe 168.63.129.16 ┘
//! isolated:  ACI → build VM :22/:5986
//! build VM → egress (mirrors, storage, KMS), build VM → DNS
//! ```

use serde::{Deserialize, Serialize, Serializer};
use std::net::{IpAddr, Ipv4Addr};

/// IP protocol numbers the vocabulary needs (TCP, UDP).
const TCP: u8 = 6;
const UDP: u8 = 17;

/// Command port on the proxy VM for Linux builds (AIB's SSH bastion).
pub const PROXY_PORT_LINUX: u16 = 60001;
/// Command port on the proxy VM for Windows builds (AIB's WinRM proxy).
pub const PROXY_PORT_WINDOWS: u16 = 60000;
/// SSH on the Linux build VM.
pub const BUILD_PORT_LINUX: u16 = 22;
/// WinRM over HTTPS on the Windows build VM.
pub const BUILD_PORT_WINDOWS: u16 = 5986;
/// DNS.
pub const DNS_PORT: u16 = 53;
/// Windows activation (KMS), which a Windows build VM reaches as egress.
pub const KMS_PORT: u16 = 1688;
/// Azure's host virtual IP: load-balancer health probes, DNS, WireServer.
pub const AZURE_HOST_IP: IpAddr = IpAddr::V4(AZURE_HOST_V4);
/// [`AZURE_HOST_IP`] as an IPv4 address (for the IPv4-only configuration model).
pub const AZURE_HOST_V4: Ipv4Addr = Ipv4Addr::new(168, 63, 129, 16);
/// The instance metadata service.
pub const IMDS_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254));

/// Whether a port is a proxy VM command port (60000 or 60001).
pub fn is_proxy_port(p: u16) -> bool {
    p == PROXY_PORT_LINUX || p == PROXY_PORT_WINDOWS
}

/// Whether a port is a build VM management port (22 or 5986).
pub fn is_build_port(p: u16) -> bool {
    p == BUILD_PORT_LINUX || p == BUILD_PORT_WINDOWS
}

/// How a session matters to an AIB build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowClass {
    /// To a proxy command port: the proxy is the responder.
    ProxyAnchor,
    /// To SSH/WinRM of a VNet address from another: a client (proxy or ACI)
    /// and a build VM.
    BuildAnchor,
    /// DNS or TCP opened by some host: egress, if that host is a build VM.
    Egress,
}

/// Private (VNet-like) address space: RFC 1918, shared address space
/// (100.64/10, which VNets may use) and IPv6 unique-local.
pub fn is_vnet_addr(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            a.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(a) => (a.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// Classify a flow by its initiator, responder, IP protocol number and
/// destination port (`None`: of no use to a diagnosis).
pub fn classify_flow(
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    dport: u16,
    probe: IpAddr,
) -> Option<FlowClass> {
    if proto == TCP && is_proxy_port(dport) {
        return (is_vnet_addr(dst) && (src == probe || is_vnet_addr(src)))
            .then_some(FlowClass::ProxyAnchor);
    }
    if proto == TCP
        && is_build_port(dport)
        && src != probe
        && src != dst
        && is_vnet_addr(src)
        && is_vnet_addr(dst)
    {
        return Some(FlowClass::BuildAnchor);
    }
    let dns = dport == 53 && (proto == TCP || proto == UDP);
    (dns || proto == TCP).then_some(FlowClass::Egress)
}

/// A hop of the AIB build path, or a place outside the data path where a
/// build can break (its deployment).
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

    /// Whether this hop is part of a build of the given topology: the proxy
    /// hops are not part of an isolated build, the ACI hop not of a proxy
    /// build. With the topology unknown, every hop may be.
    pub fn applies_to(self, kind: Option<TopologyKind>) -> bool {
        match kind {
            Some(TopologyKind::Isolated) => !matches!(
                self,
                Hop::ProbeToProxy | Hop::AlbToProxy | Hop::ProxyToBuildVm
            ),
            Some(TopologyKind::Proxy) => self != Hop::AciToBuildVm,
            Some(TopologyKind::NoVnet) | None => true,
        }
    }

    /// The destination port(s) the hop is about for a build VM of this OS
    /// (both OSes' when it is unknown); none for egress and deployment.
    pub fn ports(self, os: Option<Os>) -> &'static [u16] {
        match (self, os) {
            (Hop::ProbeToProxy | Hop::AlbToProxy, Some(Os::Linux)) => &[PROXY_PORT_LINUX],
            (Hop::ProbeToProxy | Hop::AlbToProxy, Some(Os::Windows)) => &[PROXY_PORT_WINDOWS],
            (Hop::ProbeToProxy | Hop::AlbToProxy, None) => &[PROXY_PORT_WINDOWS, PROXY_PORT_LINUX],
            (Hop::ProxyToBuildVm | Hop::AciToBuildVm, Some(Os::Linux)) => &[BUILD_PORT_LINUX],
            (Hop::ProxyToBuildVm | Hop::AciToBuildVm, Some(Os::Windows)) => &[BUILD_PORT_WINDOWS],
            (Hop::ProxyToBuildVm | Hop::AciToBuildVm, None) => {
                &[BUILD_PORT_LINUX, BUILD_PORT_WINDOWS]
            }
            (Hop::BuildVmDns, _) => &[DNS_PORT],
            (Hop::BuildVmEgress | Hop::Deployment, _) => &[],
        }
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
    /// Every status, in declaration order.
    pub const ALL: [HopStatus; 7] = [
        HopStatus::Ok,
        HopStatus::Blocked,
        HopStatus::Rejected,
        HopStatus::Missing,
        HopStatus::Interrupted,
        HopStatus::Degraded,
        HopStatus::NotObserved,
    ];

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
/// Where the evidence cannot tell, the library holds `Option<Os>` and the
/// JSON says `unknown` ([`or_unknown`]).
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

    /// The proxy VM's command port for this OS.
    pub fn proxy_port(self) -> u16 {
        match self {
            Os::Linux => PROXY_PORT_LINUX,
            Os::Windows => PROXY_PORT_WINDOWS,
        }
    }

    /// The build VM's management port for this OS.
    pub fn build_port(self) -> u16 {
        match self {
            Os::Linux => BUILD_PORT_LINUX,
            Os::Windows => BUILD_PORT_WINDOWS,
        }
    }

    /// The OS a proxy command port or build VM port belongs to.
    pub fn of_port(port: u16) -> Option<Os> {
        match port {
            PROXY_PORT_LINUX | BUILD_PORT_LINUX => Some(Os::Linux),
            PROXY_PORT_WINDOWS | BUILD_PORT_WINDOWS => Some(Os::Windows),
            _ => None,
        }
    }
}

impl std::fmt::Display for Os {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the AIB service reaches the build VM (reference §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopologyKind {
    /// `subnetId` only: Private Link → load balancer → proxy VM → build VM.
    Proxy,
    /// `subnetId` + `containerInstanceSubnetId`: ACI → build VM directly.
    Isolated,
    /// No `vnetConfig`: AIB builds in a VNET of its own (nothing of the
    /// customer's network is on the path).
    NoVnet,
}

impl TopologyKind {
    /// `proxy` / `isolated` / `no_vnet`.
    pub fn as_str(self) -> &'static str {
        match self {
            TopologyKind::Proxy => "proxy",
            TopologyKind::Isolated => "isolated",
            TopologyKind::NoVnet => "no_vnet",
        }
    }
}

impl std::fmt::Display for TopologyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the traffic says about a build as a whole (`diagnose`, `builds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The command path was seen working and nothing is wrong.
    Healthy,
    /// At least one warning or error.
    Broken,
    /// Not enough evidence to tell.
    Inconclusive,
}

impl Verdict {
    /// Name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Broken => "broken",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How Packer talks to the build VM: SSH (Linux) or WinRM over HTTPS
/// (Windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Communicator {
    /// SSH on [`BUILD_PORT_LINUX`].
    Ssh,
    /// WinRM over HTTPS on [`BUILD_PORT_WINDOWS`].
    Winrm,
}

impl Communicator {
    /// `ssh` / `winrm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Communicator::Ssh => "ssh",
            Communicator::Winrm => "winrm",
        }
    }

    /// How Packer writes it (`SSH`, `WinRM`).
    pub fn label(self) -> &'static str {
        match self {
            Communicator::Ssh => "SSH",
            Communicator::Winrm => "WinRM",
        }
    }

    /// The OS it serves.
    pub fn os(self) -> Os {
        match self {
            Communicator::Ssh => Os::Linux,
            Communicator::Winrm => Os::Windows,
        }
    }

    /// The build VM port it connects to.
    pub fn port(self) -> u16 {
        self.os().build_port()
    }
}

impl std::fmt::Display for Communicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one AIB build (one Packer run, or one `lastRunStatus`) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildOutcome {
    /// Packer's `Build '…' finished`, or `runState` Succeeded.
    Succeeded,
    /// Packer's `Build '…' errored`, or an error that ended the run before it.
    Errored,
    /// Cancelled (AIB's build timeout, a user, a pipeline) before any error.
    Cancelled,
    /// `runState` Failed (the run status alone: Packer's own end not seen).
    Failed,
    /// The log has no end: still running, or fetched while it ran.
    Incomplete,
}

impl BuildOutcome {
    /// Name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            BuildOutcome::Succeeded => "succeeded",
            BuildOutcome::Errored => "errored",
            BuildOutcome::Cancelled => "cancelled",
            BuildOutcome::Failed => "failed",
            BuildOutcome::Incomplete => "incomplete",
        }
    }
}

impl std::fmt::Display for BuildOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A customizer of an image template, as Packer runs it (a provisioner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CustomizerType {
    /// `File`: an upload.
    File,
    /// `Shell` (Linux).
    Shell,
    /// `PowerShell` (Windows).
    Powershell,
    /// `WindowsRestart`.
    WindowsRestart,
    /// `WindowsUpdate`.
    WindowsUpdate,
}

impl CustomizerType {
    /// Name as in JSON (Packer's provisioner type).
    pub fn as_str(self) -> &'static str {
        match self {
            CustomizerType::File => "file",
            CustomizerType::Shell => "shell",
            CustomizerType::Powershell => "powershell",
            CustomizerType::WindowsRestart => "windows-restart",
            CustomizerType::WindowsUpdate => "windows-update",
        }
    }

    /// The template's name of the type (`customize[].type`).
    pub fn template_name(self) -> &'static str {
        match self {
            CustomizerType::File => "File",
            CustomizerType::Shell => "Shell",
            CustomizerType::Powershell => "PowerShell",
            CustomizerType::WindowsRestart => "WindowsRestart",
            CustomizerType::WindowsUpdate => "WindowsUpdate",
        }
    }
}

impl std::fmt::Display for CustomizerType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The template's `buildTimeoutInMinutes` when it says 0 or nothing.
pub const DEFAULT_BUILD_TIMEOUT_MINUTES: u32 = 240;

/// Serialise an optional name as the name, or `unknown` when absent (how the
/// JSON contract writes an OS or topology the evidence could not tell).
pub fn or_unknown<T: Serialize, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(t) => t.serialize(s),
        None => s.serialize_str("unknown"),
    }
}

/// The name of an optional OS, `unknown` when absent.
pub fn os_name(os: Option<Os>) -> &'static str {
    os.map_or("unknown", Os::as_str)
}

/// The name of an optional topology kind, `unknown` when absent.
pub fn kind_name(kind: Option<TopologyKind>) -> &'static str {
    kind.map_or("unknown", TopologyKind::as_str)
}

macro_rules! finding_ids {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// Stable finding ids. Part of the JSON contract (serialised as the
        /// snake-case name): add, never rename.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum FindingId {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl FindingId {
            /// Every id.
            pub const ALL: &[FindingId] = &[$(FindingId::$variant,)*];

            /// The id as in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(FindingId::$variant => $name,)*
                }
            }
        }
    };
}

finding_ids! {
    /// Health probe from 168.63.129.16 to the proxy gets no answer or is denied.
    ProbeBlocked = "probe_blocked",
    /// Private Link NAT / ALB → proxy :6000x gets no answer or is denied.
    AlbToProxyBlocked = "alb_to_proxy_blocked",
    /// The proxy answers :6000x with RST / ICMP unreachable.
    ProxyPortRejected = "proxy_port_rejected",
    /// Command sessions reach the proxy but it never opens 22/5986 to the build VM.
    ProxyNotForwarding = "proxy_not_forwarding",
    /// Proxy → build VM :22/:5986 gets no answer or is denied.
    ProxyToBuildVmBlocked = "proxy_to_build_vm_blocked",
    /// The build VM answers :22/:5986 with RST (nothing listening, guest firewall).
    BuildVmPortRejected = "build_vm_port_rejected",
    /// An established SSH/WinRM session was reset or went silent mid-build.
    BuildSessionInterrupted = "build_session_interrupted",
    /// ACI → build VM :22/:5986 gets no answer or is denied (isolated builds).
    AciToBuildVmBlocked = "aci_to_build_vm_blocked",
    /// Build VM outbound TCP to destinations outside the VNET fails.
    BuildVmEgressBlocked = "build_vm_egress_blocked",
    /// Build VM DNS queries go unanswered or are denied.
    DnsFailing = "dns_failing",
    /// No AIB traffic at all in the evidence.
    NoAibTraffic = "no_aib_traffic",
    /// Every observed hop is fine.
    Healthy = "healthy",
    /// The proxy answers health probes but no command session reached it.
    NoCommandSessions = "no_command_sessions",
    /// A capture point could not see a hop (honesty note).
    HopNotObservable = "hop_not_observable",
    /// An NSG rule denies a flow the build needs (from `check`).
    NsgRuleBlocksHop = "nsg_rule_blocks_hop",
    /// A user-defined route drops traffic between the build's machines or to
    /// its DNS server (from `check`).
    RouteBlocksHop = "route_blocks_hop",
    /// `privateLinkServiceNetworkPolicies` is still enabled on the build subnet.
    PlsNetworkPoliciesEnabled = "pls_network_policies_enabled",
    /// The VNET is in another region than the image template.
    VnetRegionMismatch = "vnet_region_mismatch",
    /// The build subnet has fewer free addresses than the build needs.
    SubnetTooSmall = "subnet_too_small",
    /// The ACI subnet is not delegated to Microsoft.ContainerInstance/containerGroups.
    AciSubnetNotDelegated = "aci_subnet_not_delegated",
    /// The ACI subnet overlaps the build subnet.
    AciSubnetInsideBuildSubnet = "aci_subnet_inside_build_subnet",
    /// `proxyVmSize` set together with `containerInstanceSubnetId`.
    ProxyVmSizeWithAci = "proxy_vm_size_with_aci",
    /// A private subnet (no default outbound access) without NAT gateway, firewall route or public IP.
    NoOutboundPath = "no_outbound_path",
    /// A rule could not be evaluated (ASG, unknown service tag).
    RuleNotEvaluated = "rule_not_evaluated",
    /// The evidence holds several AIB builds; each is diagnosed on its own.
    SeveralBuilds = "several_builds",
    /// A capture point dropped packets: its TCP sessions have content gaps
    /// (data the peer acknowledged that the capture never showed).
    CaptureLostPackets = "capture_lost_packets",
}

impl std::fmt::Display for FindingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
        for s in HopStatus::ALL {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        for id in FindingId::ALL {
            assert_eq!(
                serde_json::to_string(id).unwrap(),
                format!("\"{}\"", id.as_str())
            );
            let back: FindingId = serde_json::from_str(&format!("\"{id}\"")).unwrap();
            assert_eq!(back, *id);
        }
        for k in [
            TopologyKind::Proxy,
            TopologyKind::Isolated,
            TopologyKind::NoVnet,
        ] {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        for v in [Verdict::Healthy, Verdict::Broken, Verdict::Inconclusive] {
            assert_eq!(
                serde_json::to_string(&v).unwrap(),
                format!("\"{}\"", v.as_str())
            );
        }
        assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
    }

    #[test]
    fn hops_belong_to_their_topology() {
        use TopologyKind::*;
        assert!(!Hop::ProxyToBuildVm.applies_to(Some(Isolated)));
        assert!(!Hop::ProbeToProxy.applies_to(Some(Isolated)));
        assert!(Hop::AciToBuildVm.applies_to(Some(Isolated)));
        assert!(!Hop::AciToBuildVm.applies_to(Some(Proxy)));
        assert!(
            Hop::BuildVmDns.applies_to(Some(Proxy)) && Hop::BuildVmDns.applies_to(Some(Isolated))
        );
        assert!(Hop::PATH.iter().all(|h| h.applies_to(None)));
    }

    #[test]
    fn ports_follow_the_os() {
        assert_eq!(Hop::AlbToProxy.ports(Some(Os::Linux)), [60001]);
        assert_eq!(Hop::ProxyToBuildVm.ports(Some(Os::Windows)), [5986]);
        assert_eq!(Hop::AciToBuildVm.ports(None), [22, 5986]);
        assert_eq!(Os::of_port(60000), Some(Os::Windows));
        assert_eq!(Os::of_port(22), Some(Os::Linux));
        assert_eq!(Os::of_port(443), None);
        let mut json = serde_json::Serializer::new(Vec::new());
        or_unknown(&None::<Os>, &mut json).unwrap();
        assert_eq!(json.into_inner(), b"\"unknown\"");
    }
}

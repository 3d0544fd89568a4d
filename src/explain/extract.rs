//! Pull the variable parts out of an error text: addresses and ports (and the
//! role each plays), the OS, Azure resource names, and the times it covers.
//!
//! An address is only given a role from its context, never from its value:
//! `Post "https://A:5986/wsman"` names the build VM, `dial tcp B:60000` the
//! private endpoint in front of the proxy VM (reference §1.7), `dial tcp C:22`
//! the build VM reached directly (isolated builds).

use super::input::JsonHints;
use crate::time::Utc;
use regex::{Captures, Regex};
use serde::Serialize;
use std::sync::LazyLock;

use crate::aib::{
    BUILD_PORT_LINUX, BUILD_PORT_WINDOWS, KMS_PORT, Os, PROXY_PORT_LINUX, PROXY_PORT_WINDOWS,
    TopologyKind, is_proxy_port,
};

/// WinRM over plain HTTP: not what AIB uses, but Packer texts name it.
const WINRM_HTTP_PORT: u16 = 5985;

/// Everything `explain` could read out of the text. Absent facts are omitted
/// from JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Extracted {
    /// The build VM's private IP (from a `…/wsman` URL, a direct dial to
    /// 22/5986, or Packer's `-> IP Address` line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_vm_ip: Option<String>,
    /// The private endpoint IP Packer dialled on 60000/60001 (proxy path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_endpoint_ip: Option<String>,
    /// The port of the failing connection (60000/60001 proxy, 22/5986 build VM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// How the failing connection failed (`i/o timeout`, `connection refused` …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dial_error: Option<String>,
    /// The build's OS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<Os>,
    /// Why that OS: which words or port said so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_basis: Option<String>,
    /// Proxy or isolated path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topology: Option<TopologyKind>,
    /// Why that topology.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topology_basis: Option<String>,
    /// Where Packer ran, when the text shows Packer run outside AIB: its
    /// own binary or command line, and nothing only AIB writes (then it has
    /// no topology: no proxy VM, no ACI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner: Option<&'static str>,
    /// Packer's build VM name (`pkrvm…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_vm_name: Option<String>,
    /// Packer's build VM NIC name (`pkrni…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_vm_nic: Option<String>,
    /// Subscription id from a resource id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    /// The image template's resource group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    /// The image template's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The staging resource group (`IT_…`), where the proxy and build VMs live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staging_resource_group: Option<String>,
    /// The VNET's resource group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vnet_resource_group: Option<String>,
    /// The VNET.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vnet: Option<String>,
    /// The build subnet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// The build subnet's address prefix, when an error quotes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_prefix: Option<String>,
    /// The ACI subnet (isolated builds with `containerInstanceSubnetId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aci_subnet: Option<String>,
    /// A network security group named in the text (not an AIB staging one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nsg: Option<String>,
    /// The NSG's resource group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nsg_resource_group: Option<String>,
    /// An NSG rule named in the text (`UserRule_…`, `Deny-All-…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nsg_rule: Option<String>,
    /// The template's region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The staging storage account holding `packerlogs/…/customization.log`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_account: Option<String>,
    /// The blob name of the build log inside the `packerlogs` container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packer_log_blob: Option<String>,
    /// The AIB operation id (to search the packer logs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// The ARM correlation id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The principal (object id) an authorization error names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// The action an authorization error says was denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied_action: Option<String>,
    /// The scope of that denied action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied_scope: Option<String>,
    /// Hosts (and ports) the build VM failed to reach or resolve.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub egress_destinations: Vec<String>,
    /// Earliest timestamp in the text (UTC; times without a zone are taken as UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Utc>,
    /// Latest timestamp in the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Utc>,
    /// Where `first_seen`/`last_seen` come from: `lastRunStatus` or `text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_source: Option<&'static str>,
}

/// Compile one of this module's constant patterns.
// Justified exception: the patterns are constants, not input; every one is
// compiled by the unit tests, so a bad pattern fails the build's tests.
#[allow(clippy::expect_used)]
pub(super) fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex compiles")
}

const IP: &str = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}";
const GUID: &str = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

static DIAL: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)dial tcp (?P<ip>{IP}):(?P<port>\d{{1,5}})(?::\s*(?:connect:\s*)?(?P<err>i/o timeout|connection timed out|connection refused|no route to host|network is unreachable|operation timed out|connection reset by peer))?"
    ))
});
static WSMAN: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)https?://(?P<ip>{IP}):(?P<port>\d{{1,5}})/wsman"
    ))
});
static PACKER_IP: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)->\s*IP Address\s*:\s*['‘’]?(?P<ip>{IP})")));
static PACKER_LOCATION: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)->\s*Location\s*:\s*['‘’](?P<loc>[a-z0-9]+)['‘’]"));
static SSH_REJECTED: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)ssh: rejected: connect failed \((?P<err>[^)]{1,80})\)"));
static PKRVM: LazyLock<Regex> = LazyLock::new(|| re(r"\b(pkrvm[a-z0-9]{4,})\b"));
static PKRNI: LazyLock<Regex> = LazyLock::new(|| re(r"\b(pkrni[a-z0-9]{4,})\b"));
static RESOURCE_ID: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)/subscriptions/(?P<sub>{GUID})/resourceGroups/(?P<rg>[A-Za-z0-9_.()\-]+)/providers/(?P<ns>[A-Za-z.]+)/(?P<type>[A-Za-z]+)/(?P<name>[A-Za-z0-9_.\-]+)(?:/(?P<child_type>[A-Za-z]+)/(?P<child>[A-Za-z0-9_.\-]+))?"
    ))
});
/// Packer started by hand or by a pipeline agent: its Windows binary (AIB
/// runs `/aib/packerInput/packer` in Linux), or `packer build` typed at a
/// prompt.
static RUNNER_EXE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bpacker\.exe\b"));
static RUNNER_CMD: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:.{0,80}?[$>#]\s*)?\s*packer\s+build\s"));
/// What only AIB writes: its line prefix (`[<op>] PACKER`), its container's
/// paths and messages, its build log's name, its service's words.
static AIB_ONLY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\] PACKER\b|/aib/packerInput|Done exporting Packer logs|customization\.log|(?i:packerizer|vmimagebuilder)",
    )
});

/// Where Packer ran, if `line` shows it started outside AIB.
pub(super) fn runner_in(line: &str) -> Option<&'static str> {
    if RUNNER_EXE.is_match(line) {
        Some("packer.exe on a Windows host")
    } else if RUNNER_CMD.is_match(line) {
        Some("`packer build` run from a shell")
    } else {
        None
    }
}

static STAGING_RG: LazyLock<Regex> = LazyLock::new(|| re(r"\b(IT_[A-Za-z0-9_.()\-]+)"));
static STAGING_PARTS: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"^IT_(?P<rg>[^_]+)_(?P<tpl>[^_]+)_(?:{GUID})$")));
static PACKERLOGS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)https://(?P<acct>[a-z0-9]{3,24})\.blob\.core\.windows\.net/packerlogs/(?P<path>[^\s"'<>]+?/customization\.log)"#,
    )
});
static OPERATION_ID: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?im)(?:OperationId:\s*(?P<a>{GUID})|^\s*\[(?P<b>{GUID})\]\s*PACKER)"
    ))
});
static CORRELATION_ID: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)Correlation ?ID:?\s*(?P<id>{GUID})")));
static OBJECT_ID: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)object id '(?P<id>{GUID})'")));
static DENIED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)does not have authorization to perform action '(?P<action>[^']{1,200})' over scope '(?P<scope>[^']{1,400})'",
    )
});
static NSG_RULE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b(?P<rule>UserRule_[A-Za-z0-9_.\-]+|[A-Za-z0-9]*-?Deny-[A-Za-z0-9\-]*[A-Za-z0-9])")
});
static SUBNET_FULL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)Subnet (?P<subnet>[A-Za-z0-9_.\-]+) with address prefix (?P<prefix>[0-9.]+/\d{1,2}) does not have enough capacity",
    )
});
static EGRESS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?:could not connect to (?P<h1>[a-z0-9.\-]+\.[a-z]{2,}):(?P<p1>\d{1,5})|temporary failure resolving '(?P<h2>[^'\s]{1,200})'|could not resolve (?:host:? ?)?'?(?P<h3>[a-z0-9.\-]+\.[a-z]{2,})|failed to connect to (?P<h4>[a-z0-9.\-]+\.[a-z]{2,}) port (?P<p4>\d{1,5})|failed to fetch (?P<s5>https?)://(?P<h5>[a-z0-9.\-]+\.[a-z]{2,})|unable to connect to (?P<h6>[a-z0-9.\-]+\.[a-z]{2,}):(?P<p6>[a-z0-9]{2,5})|(?P<h7>azkms\.core\.windows\.net)(?::(?P<p7>\d{1,5}))?)"#,
    )
});
static ISO_TIME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:19|20)\d\d[-/][01]\d[-/][0-3]\d[T ][0-2]\d:[0-5]\d:[0-5]\d(?:[.,]\d+)?(?:Z|[+-][0-2]\d:?[0-5]\d)?",
    )
});

fn set<'a>(slot: &mut Option<String>, value: impl Into<Option<&'a str>>) {
    if slot.is_none()
        && let Some(v) = value.into()
    {
        let v = v.trim_end_matches(['.', ',', ')', ';']);
        if !v.is_empty() {
            *slot = Some(v.to_string());
        }
    }
}

fn group<'h>(c: &Captures<'h>, name: &str) -> Option<&'h str> {
    c.name(name).map(|m| m.as_str())
}

/// Read everything we can from the text (and a JSON input's structure).
pub fn extract(text: &str, hints: &JsonHints) -> Extracted {
    let mut x = Extracted::default();

    // Connections and their roles.
    for c in WSMAN.captures_iter(text) {
        set(&mut x.build_vm_ip, group(&c, "ip"));
        if x.port.is_none() {
            x.port = group(&c, "port").and_then(|p| p.parse().ok());
        }
    }
    let mut direct_dial = false;
    for c in DIAL.captures_iter(text) {
        let Some(port) = group(&c, "port").and_then(|p| p.parse::<u16>().ok()) else {
            continue;
        };
        let ip = group(&c, "ip");
        match port {
            PROXY_PORT_WINDOWS | PROXY_PORT_LINUX => {
                set(&mut x.private_endpoint_ip, ip);
                // The proxy port is the failing hop whenever it appears.
                x.port = Some(port);
                if let Some(err) = group(&c, "err") {
                    x.dial_error = Some(err.to_ascii_lowercase());
                }
            }
            BUILD_PORT_LINUX | WINRM_HTTP_PORT | BUILD_PORT_WINDOWS => {
                set(&mut x.build_vm_ip, ip);
                direct_dial = true;
                if !x.port.is_some_and(is_proxy_port) {
                    x.port = Some(port);
                    if let Some(err) = group(&c, "err") {
                        x.dial_error = Some(err.to_ascii_lowercase());
                    }
                }
            }
            _ => {
                if let Some(ip) = ip
                    && x.egress_destinations.len() < 10
                {
                    push_unique(&mut x.egress_destinations, format!("{ip}:{port}"));
                }
            }
        }
    }
    if let Some(c) = SSH_REJECTED.captures(text) {
        set(&mut x.dial_error, group(&c, "err").map(str::trim));
        x.dial_error = x.dial_error.map(|e| e.to_ascii_lowercase());
    }
    if let Some(c) = PACKER_IP.captures(text) {
        set(&mut x.build_vm_ip, group(&c, "ip"));
    }
    set(&mut x.build_vm_name, PKRVM.find(text).map(|m| m.as_str()));
    set(&mut x.build_vm_nic, PKRNI.find(text).map(|m| m.as_str()));

    // Resource names: the JSON structure first, then resource ids in the text.
    if let Some(id) = &hints.subnet_id {
        read_resource_ids(id, &mut x);
    }
    if let Some(id) = &hints.aci_subnet_id
        && let Some(c) = RESOURCE_ID.captures(id)
    {
        set(&mut x.aci_subnet, group(&c, "child"));
    }
    set(&mut x.template, hints.template.as_deref());
    set(&mut x.resource_group, hints.resource_group.as_deref());
    set(&mut x.location, hints.location.as_deref());
    // `az` prints stagingResourceGroup as a full id.
    set(
        &mut x.staging_resource_group,
        hints
            .staging_resource_group
            .as_deref()
            .map(|s| s.rsplit('/').next().unwrap_or(s)),
    );
    read_resource_ids(text, &mut x);
    read_subnet_command(text, &mut x);
    if x.staging_resource_group.is_none() {
        set(
            &mut x.staging_resource_group,
            STAGING_RG.find(text).map(|m| m.as_str()),
        );
    }
    // `IT_<rg>_<template>_<guid>`: only split when there is one way to.
    if let Some(staging) = x.staging_resource_group.clone()
        && let Some(c) = STAGING_PARTS.captures(&staging)
    {
        set(&mut x.resource_group, group(&c, "rg"));
        set(&mut x.template, group(&c, "tpl"));
    }
    if let Some(c) = PACKER_LOCATION.captures(text) {
        set(&mut x.location, group(&c, "loc"));
    }
    if let Some(c) = PACKERLOGS.captures(text) {
        set(&mut x.storage_account, group(&c, "acct"));
        set(&mut x.packer_log_blob, group(&c, "path"));
    }
    // `OperationId: <guid>` in the message, or the `[<guid>] PACKER` prefix
    // of every customization.log line: the same id.
    if let Some(c) = OPERATION_ID.captures(text) {
        set(&mut x.operation_id, group(&c, "a").or(group(&c, "b")));
    }
    if let Some(c) = CORRELATION_ID.captures(text) {
        set(&mut x.correlation_id, group(&c, "id"));
    }
    if let Some(c) = OBJECT_ID.captures(text) {
        set(&mut x.principal_id, group(&c, "id"));
    }
    if let Some(c) = DENIED.captures(text) {
        set(&mut x.denied_action, group(&c, "action"));
        set(&mut x.denied_scope, group(&c, "scope"));
    }
    if let Some(c) = NSG_RULE.captures(text) {
        set(&mut x.nsg_rule, group(&c, "rule"));
    }
    if let Some(c) = SUBNET_FULL.captures(text) {
        set(&mut x.subnet, group(&c, "subnet"));
        set(&mut x.subnet_prefix, group(&c, "prefix"));
    }
    for c in EGRESS.captures_iter(text) {
        if x.egress_destinations.len() >= 10 {
            break;
        }
        let host = ["h1", "h2", "h3", "h4", "h5", "h6", "h7"]
            .iter()
            .find_map(|g| group(&c, g));
        let port = ["p1", "p4", "p6", "p7"]
            .iter()
            .find_map(|g| group(&c, g))
            .map(|p| match p.to_ascii_lowercase().as_str() {
                "http" => "80".to_string(),
                "https" => "443".to_string(),
                other => other.to_string(),
            })
            .or_else(|| {
                group(&c, "s5").map(|s| {
                    if s.eq_ignore_ascii_case("https") {
                        "443"
                    } else {
                        "80"
                    }
                    .to_string()
                })
            })
            .or_else(|| group(&c, "h7").map(|_| KMS_PORT.to_string()));
        if let Some(host) = host {
            let host = host.trim_end_matches('.').to_ascii_lowercase();
            push_unique(
                &mut x.egress_destinations,
                match port {
                    Some(p) => format!("{host}:{p}"),
                    None => host,
                },
            );
        }
    }

    // Times: the run's own start/end when the JSON has them, else the text's.
    let mut times: Vec<Utc> = ISO_TIME
        .find_iter(text)
        .filter_map(|m| Utc::parse(m.as_str()).ok())
        .collect();
    times.extend(hints.start_time);
    times.extend(hints.end_time);
    x.first_seen = hints.start_time.or_else(|| times.iter().min().copied());
    x.last_seen = hints.end_time.or_else(|| times.iter().max().copied());
    x.time_source = if hints.start_time.is_some() || hints.end_time.is_some() {
        Some("lastRunStatus")
    } else if x.first_seen.is_some() {
        Some("text")
    } else {
        None
    };
    // `host` next to `host:port` says nothing more.
    let with_port = x.egress_destinations.clone();
    x.egress_destinations
        .retain(|d| d.contains(':') || !with_port.iter().any(|o| o.starts_with(&format!("{d}:"))));

    read_os(text, &mut x);
    if !AIB_ONLY.is_match(text) && x.staging_resource_group.is_none() {
        x.runner = text.lines().find_map(runner_in);
    }
    read_topology(text, hints, direct_dial, &mut x);
    // A proxy VM or an ACI subnet is AIB's: whoever started Packer, AIB ran it.
    if x.topology.is_some() {
        x.runner = None;
    }
    x
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// The VNET, its resource group and the subnet an `az network vnet subnet
/// …` command names (a pasted command, or the CLI's error quoting it), when
/// no resource id said them: its flags in any order, long or short.
fn read_subnet_command(text: &str, x: &mut Extracted) {
    let Some(line) = text.lines().find(|l| l.contains("az network vnet subnet ")) else {
        return;
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    for pair in words.windows(2) {
        let [flag, value] = pair else { continue };
        let value = value.trim_matches(|c| c == '\'' || c == '"');
        if value.starts_with('-') || value.is_empty() {
            continue;
        }
        match *flag {
            "--resource-group" | "-g" => set(&mut x.vnet_resource_group, Some(value)),
            "--vnet-name" => set(&mut x.vnet, Some(value)),
            "--name" | "-n" => set(&mut x.subnet, Some(value)),
            _ => {}
        }
    }
}

fn read_resource_ids(text: &str, x: &mut Extracted) {
    for c in RESOURCE_ID.captures_iter(text) {
        let rg = group(&c, "rg").unwrap_or_default();
        let staging = rg.len() > 3 && rg[..3].eq_ignore_ascii_case("IT_");
        if staging {
            set(&mut x.staging_resource_group, Some(rg));
        }
        let kind = group(&c, "type").unwrap_or_default().to_ascii_lowercase();
        match kind.as_str() {
            // AIB's own temporary VNET (isolated builds) lives in the staging
            // group: it is not the user's VNET.
            "virtualnetworks" if !staging => {
                set(&mut x.subscription, group(&c, "sub"));
                set(&mut x.vnet_resource_group, Some(rg));
                set(&mut x.vnet, group(&c, "name"));
                if group(&c, "child_type").is_some_and(|t| t.eq_ignore_ascii_case("subnets")) {
                    set(&mut x.subnet, group(&c, "child"));
                }
            }
            "networksecuritygroups" if !staging => {
                set(&mut x.subscription, group(&c, "sub"));
                set(&mut x.nsg_resource_group, Some(rg));
                set(&mut x.nsg, group(&c, "name"));
            }
            "imagetemplates" => {
                set(&mut x.subscription, group(&c, "sub"));
                set(&mut x.resource_group, Some(rg));
                set(&mut x.template, group(&c, "name"));
            }
            _ => set(&mut x.subscription, group(&c, "sub")),
        }
    }
}

static WINDOWS_WORDS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bwinrm\b|/wsman\b|windows ?update|\bsysprep\b"));
static LINUX_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)waiting for ssh|tcp connection to ssh|connecting to bastion|connected to ssh|\bapt(-get)?\b|\byum\b|\bdnf\b",
    )
});

fn read_os(text: &str, x: &mut Extracted) {
    let by_build_port = match x.port {
        Some(BUILD_PORT_WINDOWS | WINRM_HTTP_PORT) => {
            Some((Os::Windows, "port 5986 (WinRM over HTTPS)"))
        }
        Some(BUILD_PORT_LINUX) => Some((Os::Linux, "port 22 (SSH)")),
        _ => None,
    };
    let by_words = if WINDOWS_WORDS.is_match(text) {
        Some((Os::Windows, "WinRM / Windows wording"))
    } else if LINUX_WORDS.is_match(text) {
        Some((Os::Linux, "SSH / Linux package manager wording"))
    } else {
        None
    };
    // 60000 is documented for Windows, but a field report shows a Linux build
    // dialling 60000 too (reference §1.2 H1): the weakest hint.
    let by_proxy_port = match x.port {
        Some(PROXY_PORT_LINUX) => Some((Os::Linux, "proxy port 60001 (Linux per the docs)")),
        Some(PROXY_PORT_WINDOWS) => Some((
            Os::Windows,
            "proxy port 60000 (Windows per the docs; a field report shows Linux on 60000 too)",
        )),
        _ => None,
    };
    if let Some((os, basis)) = by_build_port.or(by_words).or(by_proxy_port) {
        x.os = Some(os);
        x.os_basis = Some(basis.to_string());
    }
}

static PROXY_WORDS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)proxyconnect|connecting to bastion|via bastion|proxyVmDisk"));

fn read_topology(text: &str, hints: &JsonHints, direct_dial: bool, x: &mut Extracted) {
    let (t, basis) = if hints.aci_subnet_id.is_some() {
        (
            TopologyKind::Isolated,
            "the template sets vnetConfig.containerInstanceSubnetId",
        )
    } else if x.port.is_some_and(is_proxy_port) || PROXY_WORDS.is_match(text) {
        (
            TopologyKind::Proxy,
            "Packer went through the proxy VM (proxy port, bastion or proxyconnect)",
        )
    } else if direct_dial && x.runner.is_none() {
        // Packer run by hand dials the build VM directly too: no ACI then.
        (
            TopologyKind::Isolated,
            "Packer dialled the build VM directly, without the proxy VM",
        )
    } else {
        return;
    };
    x.topology = Some(t);
    x.topology_basis = Some(basis.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str) -> Extracted {
        extract(text, &JsonHints::default())
    }

    #[test]
    fn windows_proxyconnect_names_build_vm_and_private_endpoint() {
        let x = ex(
            r#"[ERROR] WinRM connection err: unknown error Post "https://10.1.0.6:5986/wsman": proxyconnect tcp: dial tcp 10.241.0.5:60000: i/o timeout"#,
        );
        assert_eq!(x.build_vm_ip.as_deref(), Some("10.1.0.6"));
        assert_eq!(x.private_endpoint_ip.as_deref(), Some("10.241.0.5"));
        assert_eq!(x.port, Some(60000));
        assert_eq!(x.dial_error.as_deref(), Some("i/o timeout"));
        assert_eq!(x.os, Some(Os::Windows));
        assert_eq!(x.topology, Some(TopologyKind::Proxy));
    }

    #[test]
    fn linux_bastion_on_60000_is_still_linux() {
        let x = ex(
            "[DEBUG] TCP connection to SSH ip/port failed: Error connecting to bastion: dial tcp 172.16.9.4:60000: connect: connection timed out",
        );
        assert_eq!(x.private_endpoint_ip.as_deref(), Some("172.16.9.4"));
        assert_eq!(x.dial_error.as_deref(), Some("connection timed out"));
        assert_eq!(x.os, Some(Os::Linux));
        assert_eq!(x.build_vm_ip, None);
    }

    #[test]
    fn a_subnet_command_names_the_vnet_and_subnet() {
        for text in [
            "az network vnet subnet update --resource-group rg-net --vnet-name vnet-aib --name snet-build --disable-private-link-service-network-policies false",
            "$ az network vnet subnet update -n snet-build -g rg-net --vnet-name 'vnet-aib' --private-link-service-network-policies Enabled",
        ] {
            let x = ex(text);
            assert_eq!(
                (
                    x.vnet_resource_group.as_deref(),
                    x.vnet.as_deref(),
                    x.subnet.as_deref()
                ),
                (Some("rg-net"), Some("vnet-aib"), Some("snet-build")),
                "{text}"
            );
        }
    }

    #[test]
    fn packer_by_hand_is_a_runner_unless_aib_wrote_it() {
        let dial = "\n==> azure-arm: Timeout waiting for SSH.\ndial tcp 10.20.1.6:22: i/o timeout";
        for (start, runner) in [
            (
                "C:\\agent\\_work\\1\\s> packer.exe build win.pkr.hcl",
                Some("packer.exe on a Windows host"),
            ),
            (
                "user@agent:~/images$ packer build ubuntu.pkr.hcl",
                Some("`packer build` run from a shell"),
            ),
            (
                "packer build -var-file=prod.pkrvars.hcl .",
                Some("`packer build` run from a shell"),
            ),
            // AIB's words: its packerizer, its log's name.
            ("Packer build command has failed: exit status 1", None),
            (
                "packer build ubuntu.pkr.hcl\nImage Build log location: https://x1.blob.core.windows.net/packerlogs/r/customization.log",
                None,
            ),
        ] {
            let x = ex(&format!("{start}{dial}"));
            assert_eq!(x.runner, runner, "{start}");
            // Without a runner the direct dial is ACI's, with one no AIB path.
            assert_eq!(x.topology.is_none(), runner.is_some(), "{start}");
        }
    }

    #[test]
    fn direct_dial_is_isolated() {
        let x = ex(
            "[DEBUG] TCP connection to SSH ip/port failed: dial tcp 192.168.50.7:22: i/o timeout",
        );
        assert_eq!(x.build_vm_ip.as_deref(), Some("192.168.50.7"));
        assert_eq!(x.port, Some(22));
        assert_eq!(x.topology, Some(TopologyKind::Isolated));
        assert_eq!(x.os, Some(Os::Linux));
    }

    #[test]
    fn resource_ids_staging_group_and_log_url() {
        let x = ex(concat!(
            "Private link service /subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/IT_rg-img_tpl01_5f3c2a1b-0000-4000-8000-0123456789ab/providers/Microsoft.Network/privateLinkServices/aibpls1 ",
            "cannot be created in a subnet /subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/hub-vnet/subnets/snet-aib ",
            "Image Build log location: https://abcd1234efgh.blob.core.windows.net/packerlogs/9b7e2c1d-aaaa-bbbb-cccc-123456789012/customization.log. ",
            "OperationId: 019d793b-66fc-480f-9b5f-6de798958520."
        ));
        assert_eq!(
            x.subscription.as_deref(),
            Some("0b1f6471-1bf0-4dda-aec3-cb9272f09590")
        );
        assert_eq!(x.vnet_resource_group.as_deref(), Some("net-rg"));
        assert_eq!(x.vnet.as_deref(), Some("hub-vnet"));
        assert_eq!(x.subnet.as_deref(), Some("snet-aib"));
        assert_eq!(
            x.staging_resource_group.as_deref(),
            Some("IT_rg-img_tpl01_5f3c2a1b-0000-4000-8000-0123456789ab")
        );
        assert_eq!(x.resource_group.as_deref(), Some("rg-img"));
        assert_eq!(x.template.as_deref(), Some("tpl01"));
        assert_eq!(x.storage_account.as_deref(), Some("abcd1234efgh"));
        assert_eq!(
            x.packer_log_blob.as_deref(),
            Some("9b7e2c1d-aaaa-bbbb-cccc-123456789012/customization.log")
        );
        assert_eq!(
            x.operation_id.as_deref(),
            Some("019d793b-66fc-480f-9b5f-6de798958520")
        );
    }

    #[test]
    fn ambiguous_staging_name_is_not_split() {
        let x = ex(
            "under resource group 'IT_my_rg_my_tpl_5f3c2a1b-0000-4000-8000-0123456789ab' was not found",
        );
        assert!(x.staging_resource_group.is_some());
        assert_eq!(x.template, None);
        assert_eq!(x.resource_group, None);
    }

    #[test]
    fn times_egress_and_subnet_full() {
        let x = ex(concat!(
            "2024/05/14 10:01:02 E: Failed to fetch http://azure.archive.ubuntu.com/ubuntu/dists/jammy/InRelease  Temporary failure resolving 'azure.archive.ubuntu.com'\n",
            "2024-05-14T10:41:00Z Could not connect to packages.microsoft.com:443 (13.107.246.1), connection timed out\n",
            "Subnet snet-aib with address prefix 10.9.0.0/29 does not have enough capacity for 1 IP addresses."
        ));
        assert_eq!(
            x.first_seen.map(|t| t.to_string()).as_deref(),
            Some("2024-05-14T10:01:02Z")
        );
        assert_eq!(
            x.last_seen.map(|t| t.to_string()).as_deref(),
            Some("2024-05-14T10:41:00Z")
        );
        assert_eq!(
            x.egress_destinations,
            ["azure.archive.ubuntu.com:80", "packages.microsoft.com:443"]
        );
        assert_eq!(x.subnet.as_deref(), Some("snet-aib"));
        assert_eq!(x.subnet_prefix.as_deref(), Some("10.9.0.0/29"));
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert_eq!(ex(""), Extracted::default());
        assert_eq!(ex("hello world 999.1.1.1:22"), Extracted::default());
    }
}

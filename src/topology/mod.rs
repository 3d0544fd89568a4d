//! Topology: which address plays which role in an AIB build, inferred from
//! the sessions (denied and unanswered ones included), each role with the
//! evidence that made it, and where each capture point sat; and, in
//! evidence of many builds, which sessions belong to which run ([`runs`]).

use crate::aib::{
    AZURE_HOST_IP, Os, PROXY_PORT_LINUX, PROXY_PORT_WINDOWS, TopologyKind, is_build_port,
    is_proxy_port, or_unknown,
};
use crate::ingest::Format;
use crate::ingest::InputReport;
use crate::sessions::{Proto, Session};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

pub mod runs;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

/// Addresses by role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Roles {
    /// Proxy VM(s): receive 60000/60001, open 22/5986.
    pub proxy: Vec<IpAddr>,
    /// Build VM(s): receive 22/5986.
    pub build_vm: Vec<IpAddr>,
    /// Load-balancer health probe source(s).
    pub probe: Vec<IpAddr>,
    /// Private Link NAT / ALB side: sources of command sessions.
    pub private_link_nat: Vec<IpAddr>,
    /// ACI container(s) of isolated builds: open 22/5986 directly.
    pub aci: Vec<IpAddr>,
}

/// What the user told aibnet, to override or complete the inference.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// `--proxy`.
    pub proxy: Vec<IpAddr>,
    /// `--build-vm`.
    pub build_vm: Vec<IpAddr>,
    /// `--probe-ip` (default 168.63.129.16).
    pub probe_ip: Option<IpAddr>,
    /// `--os`.
    pub os: Option<Os>,
    /// `--topology`.
    pub kind: Option<TopologyKind>,
}

/// Where a capture point sat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Vantage {
    /// On one host (a per-VM capture): sees only that host's traffic.
    Host {
        /// The host.
        host: IpAddr,
    },
    /// On a shared segment, or a flow log: sees traffic between every host in it.
    Segment,
    /// Nothing usable in it.
    Empty,
}

/// The inferred topology.
#[derive(Debug, Clone, Serialize)]
pub struct Topology {
    /// Proxy or isolated (`unknown` in JSON when the evidence cannot tell).
    #[serde(serialize_with = "or_unknown")]
    pub kind: Option<TopologyKind>,
    /// Linux or Windows (`unknown` in JSON when the evidence cannot tell).
    #[serde(serialize_with = "or_unknown")]
    pub os: Option<Os>,
    /// Addresses by role.
    pub roles: Roles,
    /// Why each role was assigned, one line each.
    pub evidence: Vec<String>,
    /// Where each input sat, by input index.
    #[serde(skip)]
    pub vantage: Vec<Vantage>,
    /// Hosts each input saw traffic of, by input index.
    #[serde(skip)]
    pub seen_hosts: Vec<BTreeSet<IpAddr>>,
}

impl Topology {
    /// The proxy's command port for the build's OS (Linux's when unknown).
    pub fn proxy_port(&self) -> u16 {
        self.os.unwrap_or(Os::Linux).proxy_port()
    }

    /// The build VM's management port for the build's OS (SSH when unknown).
    pub fn build_port(&self) -> u16 {
        self.os.unwrap_or(Os::Linux).build_port()
    }

    /// Whether the input at `idx` could see traffic between `a` and `b`.
    pub fn input_sees(&self, idx: usize, a: &[IpAddr], b: &[IpAddr]) -> bool {
        match self.vantage.get(idx) {
            Some(Vantage::Host { host }) => a.contains(host) || b.contains(host),
            Some(Vantage::Segment) => {
                let seen = self.seen_hosts.get(idx);
                seen.is_some_and(|s| {
                    a.iter().any(|h| s.contains(h)) || b.iter().any(|h| s.contains(h))
                })
            }
            _ => false,
        }
    }

    /// Indices of inputs that could see traffic between the two role sets.
    pub fn observers(&self, a: &[IpAddr], b: &[IpAddr]) -> Vec<usize> {
        (0..self.vantage.len())
            .filter(|&i| self.input_sees(i, a, b))
            .collect()
    }
}

fn same_subnet(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => x.octets()[..3] == y.octets()[..3],
        (IpAddr::V6(x), IpAddr::V6(y)) => x.segments()[..4] == y.segments()[..4],
        _ => false,
    }
}

fn push_unique(v: &mut Vec<IpAddr>, ip: IpAddr) {
    if !v.contains(&ip) {
        v.push(ip);
    }
}

/// Sessions on each OS's ports: the OS with more wins, a tie tells nothing.
#[derive(Default)]
struct OsVotes {
    linux: usize,
    windows: usize,
}

impl OsVotes {
    /// A session to this proxy or build VM port.
    fn port(&mut self, port: u16) {
        match Os::of_port(port) {
            Some(Os::Linux) => self.linux += 1,
            Some(Os::Windows) => self.windows += 1,
            None => {}
        }
    }

    fn winner(&self) -> Option<Os> {
        match self.linux.cmp(&self.windows) {
            std::cmp::Ordering::Greater => Some(Os::Linux),
            std::cmp::Ordering::Less => Some(Os::Windows),
            std::cmp::Ordering::Equal => None,
        }
    }
}

/// Infer roles, OS, topology and capture vantage points.
pub fn infer(sessions: &[Session], inputs: &[InputReport], hints: &Hints) -> Topology {
    let probe_ip = hints.probe_ip.unwrap_or(AZURE_HOST_IP);
    let mut roles = Roles::default();
    let mut evidence = Vec::new();
    let mut os_votes = OsVotes::default();

    for ip in &hints.proxy {
        push_unique(&mut roles.proxy, *ip);
    }
    for ip in &hints.build_vm {
        push_unique(&mut roles.build_vm, *ip);
    }
    if !hints.proxy.is_empty() {
        evidence.push("proxy given by --proxy".to_string());
    }
    if !hints.build_vm.is_empty() {
        evidence.push("build VM given by --build-vm".to_string());
    }

    // Proxy: responder on 60000/60001 (attempts and denies count too).
    let mut proxy_seen: BTreeMap<IpAddr, usize> = BTreeMap::new();
    for s in sessions
        .iter()
        .filter(|s| s.proto == Proto::Tcp && is_proxy_port(s.resp_p))
    {
        *proxy_seen.entry(s.resp_h).or_default() += 1;
        os_votes.port(s.resp_p);
    }
    if hints.proxy.is_empty() {
        for (ip, n) in &proxy_seen {
            push_unique(&mut roles.proxy, *ip);
            evidence.push(format!(
                "proxy {ip}: receives {n} session(s) on {PROXY_PORT_WINDOWS}/{PROXY_PORT_LINUX}"
            ));
        }
    }
    // Probe and Private Link NAT: who talks to the proxy's command port.
    for s in sessions
        .iter()
        .filter(|s| is_proxy_port(s.resp_p) && roles.proxy.contains(&s.resp_h))
    {
        if s.orig_h == probe_ip {
            if !roles.probe.contains(&s.orig_h) {
                evidence.push(format!(
                    "probe {}: health-probe source (Azure host IP) to the proxy",
                    s.orig_h
                ));
            }
            push_unique(&mut roles.probe, s.orig_h);
        } else {
            if !roles.private_link_nat.contains(&s.orig_h) {
                evidence.push(format!(
                    "private link NAT {}: opens command sessions to the proxy :{}",
                    s.orig_h, s.resp_p
                ));
            }
            push_unique(&mut roles.private_link_nat, s.orig_h);
        }
    }
    // Build VMs and ACI: responders on 22/5986 and who opened them.
    let mut aci_candidates: Vec<(IpAddr, IpAddr)> = Vec::new();
    for s in sessions
        .iter()
        .filter(|s| s.proto == Proto::Tcp && is_build_port(s.resp_p))
    {
        let from_proxy = roles.proxy.contains(&s.orig_h);
        let to_known_build = roles.build_vm.contains(&s.resp_h);
        if from_proxy {
            if !roles.build_vm.contains(&s.resp_h) && hints.build_vm.is_empty() {
                evidence.push(format!(
                    "build VM {}: the proxy {} opens :{} to it",
                    s.resp_h, s.orig_h, s.resp_p
                ));
                push_unique(&mut roles.build_vm, s.resp_h);
            }
            os_votes.port(s.resp_p);
        } else if to_known_build || hints.build_vm.is_empty() || hints.build_vm.contains(&s.resp_h)
        {
            aci_candidates.push((s.orig_h, s.resp_h));
            os_votes.port(s.resp_p);
        }
    }
    // Without a proxy in the evidence, a client opening 22/5986 is either
    // the proxy seen only from the build VM (same subnet) or ACI (its own
    // subnet): AIB puts the proxy in the build subnet and ACI in another.
    let forced = hints.kind;
    // First pass: a same-subnet client stands for a proxy seen only from
    // the build VM (unless the user said the build is isolated).
    if roles.proxy.is_empty() && forced != Some(TopologyKind::Isolated) {
        for (client, server) in &aci_candidates {
            if (forced == Some(TopologyKind::Proxy) || same_subnet(*client, *server))
                && !roles.proxy.contains(client)
            {
                evidence.push(format!(
                    "proxy {client}: opens :22/:5986 to {server} from the same subnet (assumed proxy; pass --topology isolated if it is ACI)"
                ));
                push_unique(&mut roles.proxy, *client);
            }
        }
    }
    for (client, server) in aci_candidates {
        let is_proxy = roles.proxy.contains(&client);
        // With a proxy in the evidence, other clients of 22/5986 are not
        // part of the build path.
        if !is_proxy && !roles.proxy.is_empty() && forced != Some(TopologyKind::Isolated) {
            continue;
        }
        if !is_proxy {
            if !roles.aci.contains(&client) {
                evidence.push(format!(
                    "ACI {client}: opens :22/:5986 to {server} directly, from another subnet"
                ));
            }
            push_unique(&mut roles.aci, client);
        }
        if !roles.build_vm.contains(&server) {
            evidence.push(format!(
                "build VM {server}: receives :22/:5986 from {client}"
            ));
            push_unique(&mut roles.build_vm, server);
        }
    }

    let kind = hints.kind.or(if !roles.proxy.is_empty() {
        Some(TopologyKind::Proxy)
    } else if !roles.aci.is_empty() {
        Some(TopologyKind::Isolated)
    } else {
        None
    });
    let os = hints.os.or_else(|| os_votes.winner());
    if roles.probe.is_empty() && kind == Some(TopologyKind::Proxy) {
        roles.probe.push(probe_ip);
    }
    for r in [
        &mut roles.proxy,
        &mut roles.build_vm,
        &mut roles.probe,
        &mut roles.private_link_nat,
        &mut roles.aci,
    ] {
        r.sort();
    }

    let (vantage, seen_hosts) = vantages(sessions, inputs);
    Topology {
        kind,
        os,
        roles,
        evidence,
        vantage,
        seen_hosts,
    }
}

/// Where each input sat: a host present in (nearly) every session it saw is
/// where a per-VM capture was taken; flow logs and mixed captures see a
/// segment.
fn vantages(sessions: &[Session], inputs: &[InputReport]) -> (Vec<Vantage>, Vec<BTreeSet<IpAddr>>) {
    let n = inputs.len();
    // Hashed, not ordered: two updates per session, over as many addresses
    // as a capture of many builds holds (a B-tree here was most of
    // `diagnose`'s own time on the small-packet benchmark capture).
    let mut counts: Vec<FxHashMap<IpAddr, usize>> = vec![FxHashMap::default(); n];
    let mut totals = vec![0usize; n];
    for s in sessions {
        for i in s.seen_by.iter() {
            let i = i as usize;
            if let (Some(c), Some(t)) = (counts.get_mut(i), totals.get_mut(i)) {
                *t += 1;
                *c.entry(s.orig_h).or_default() += 1;
                if s.resp_h != s.orig_h {
                    *c.entry(s.resp_h).or_default() += 1;
                }
            }
        }
    }
    let mut vantage = Vec::with_capacity(n);
    let mut seen = Vec::with_capacity(n);
    for i in 0..n {
        let total = totals.get(i).copied().unwrap_or(0);
        let c = counts.get_mut(i).map(std::mem::take).unwrap_or_default();
        let is_flowlog = inputs.get(i).is_some_and(|r| r.format == Format::FlowLog);
        let v = if total == 0 {
            Vantage::Empty
        } else if is_flowlog {
            Vantage::Segment
        } else {
            // A per-VM capture: one host in every session (allow a little
            // noise such as broadcasts).
            let best = c
                .iter()
                .max_by_key(|(ip, k)| (**k, std::cmp::Reverse(**ip)));
            match best {
                Some((ip, k)) if c.len() > 2 && *k * 100 >= total * 95 => {
                    Vantage::Host { host: *ip }
                }
                _ => Vantage::Segment,
            }
        };
        vantage.push(v);
        seen.push(c.keys().copied().collect());
    }
    (vantage, seen)
}

//! Topology: which address plays which role in an AIB build, inferred from
//! the sessions (denied and unanswered ones included), each role with the
//! evidence that made it, and where each capture point sat; and, in
//! evidence of many builds, which sessions belong to which run ([`runs`]).

use crate::aib::{AZURE_HOST_IP, Os, TopologyKind, or_unknown};
use crate::ingest::Format;
use crate::ingest::InputReport;
use crate::sessions::Session;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::BTreeSet;
use std::net::IpAddr;

pub mod roles;
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
    /// Hosts a scan saw opening SSH/WinRM to more than
    /// [`roles::MAX_FAN_OUT`] hosts in an hour, with that number (the scan
    /// leaves their sessions out): none of them is a proxy unless given by
    /// `--proxy`.
    pub sweepers: FxHashMap<IpAddr, usize>,
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

/// Infer roles, OS, topology and capture vantage points.
pub fn infer(sessions: &[Session], inputs: &[InputReport], hints: &Hints) -> Topology {
    let (vantage, seen_hosts) = vantages(sessions, inputs);
    let (mut roles, evidence, votes) = roles::infer_roles(sessions, inputs, &vantage, hints);
    let kind = hints.kind.or(if !roles.proxy.is_empty() {
        Some(TopologyKind::Proxy)
    } else if !roles.aci.is_empty() {
        Some(TopologyKind::Isolated)
    } else {
        None
    });
    let os = hints.os.or_else(|| votes.winner());
    if roles.probe.is_empty() && kind == Some(TopologyKind::Proxy) {
        // No probe in the evidence: every proxy build has one.
        roles.probe.push(hints.probe_ip.unwrap_or(AZURE_HOST_IP));
    }
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

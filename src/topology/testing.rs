//! Topologies built by hand, for the tests of the modules that read one
//! (hops, findings, diagnose): the roles are given, not inferred, so those
//! tests do not depend on how inference works.
//!
//! The addresses of every fixture (build subnet 10.0.0.0/24, ACI subnet
//! 10.0.1.0/24):
//!
//! ```text
//! probe 168.63.129.16 ┐
//! Private Link NAT 10.0.0.4 → proxy 10.0.0.5 :60001/:60000 → build VM 10.0.0.6 :22/:5986
//!                              ACI 10.0.1.4 (isolated builds) ┘
//! ```

use super::{Roles, Topology, Vantage};
use crate::aib::{AZURE_HOST_IP, Os, TopologyKind};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The Private Link NAT address.
pub(crate) const NAT: &str = "10.0.0.4";
/// The proxy VM.
pub(crate) const PROXY: &str = "10.0.0.5";
/// The build VM.
pub(crate) const BUILD: &str = "10.0.0.6";
/// The ACI container of isolated builds.
pub(crate) const ACI: &str = "10.0.1.4";

/// An address of the fixtures.
pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or_else(|e| panic!("{s:?} is not an address: {e}"))
}

/// A proxy build of this OS: probe, Private Link NAT, proxy and build VM,
/// seen by one input on the segment that saw every one of them.
pub(crate) fn proxy_build(os: Option<Os>) -> Topology {
    seen_by(
        Topology {
            kind: Some(TopologyKind::Proxy),
            os,
            roles: Roles {
                proxy: vec![ip(PROXY)],
                build_vm: vec![ip(BUILD)],
                probe: vec![AZURE_HOST_IP],
                private_link_nat: vec![ip(NAT)],
                aci: vec![],
            },
            evidence: vec![],
            vantage: vec![],
            seen_hosts: vec![],
        },
        vec![Vantage::Segment],
    )
}

/// An isolated build (Linux): ACI and build VM, seen by one input on the
/// segment.
pub(crate) fn isolated_build() -> Topology {
    seen_by(
        Topology {
            kind: Some(TopologyKind::Isolated),
            os: Some(Os::Linux),
            roles: Roles {
                aci: vec![ip(ACI)],
                build_vm: vec![ip(BUILD)],
                ..Roles::default()
            },
            evidence: vec![],
            vantage: vec![],
            seen_hosts: vec![],
        },
        vec![Vantage::Segment],
    )
}

/// The topology seen by these inputs instead (one vantage each); an input
/// on a segment saw every address of the roles.
pub(crate) fn seen_by(mut t: Topology, vantage: Vec<Vantage>) -> Topology {
    let r = &t.roles;
    let every: BTreeSet<IpAddr> = [&r.proxy, &r.build_vm, &r.probe, &r.private_link_nat, &r.aci]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    t.seen_hosts = vantage
        .iter()
        .map(|v| match v {
            Vantage::Host { host } => BTreeSet::from([*host]),
            Vantage::Segment => every.clone(),
            Vantage::Empty => BTreeSet::new(),
        })
        .collect();
    t.vantage = vantage;
    t
}

/// The report of an input of this format nothing was counted in (the
/// topology reads only its format).
pub(crate) fn input(path: &str, format: crate::ingest::Format) -> crate::ingest::InputReport {
    crate::ingest::InputReport::new(path.to_string(), format, false)
}

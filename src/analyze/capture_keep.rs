//! A capture's flows worth a session in the AIB scan, decided before any
//! session is made: the scan keeps a capture's anchors and the egress and
//! DNS of the hosts that receive SSH/WinRM in it ([`super::scan::reduce`]),
//! and building the sessions of everything else only to drop them made
//! `diagnose`'s memory that of `sessions` (issue 17). A first walk over the
//! frames notes the SSH/WinRM servers; the read then tests each packet's
//! flow and the rest is counted, never stored.
//!
//! The test is a superset of what `reduce` keeps, and gives one answer for
//! both directions of a connection (a packet is tested both ways round), so
//! every session `reduce` keeps is built from all its packets, exactly as
//! without the test: `reduce` still decides, on the sessions' own
//! orientation.

use crate::aib::{FlowClass, classify_flow};
use crate::capture::PacketIter;
use crate::decode::{self, FiveTuple, proto};
use rustc_hash::FxHashSet;
use std::net::IpAddr;

/// The test for one capture: its SSH/WinRM servers, and the probe address.
pub(super) struct CaptureKeep {
    probe: IpAddr,
    /// Hosts receiving a TCP anchor on a build port (22/5986) in the
    /// capture, in either direction of a packet.
    servers: FxHashSet<IpAddr>,
}

impl CaptureKeep {
    /// Walk the frames of a capture once for its SSH/WinRM servers. Frames
    /// that do not decode, and a fault that ends the capture, are left to
    /// the read, which reports them.
    pub(super) fn of(iter: PacketIter<'_>, probe: IpAddr) -> CaptureKeep {
        let mut servers = FxHashSet::default();
        for p in iter.map_while(Result::ok) {
            let Some(t) =
                decode::plain_flow(&p).or_else(|| decode::decode(&p).ok().map(|s| s.tuple))
            else {
                continue;
            };
            if t.proto != proto::TCP {
                continue;
            }
            for (client, server, port) in [(t.src, t.dst, t.dport), (t.dst, t.src, t.sport)] {
                if classify_flow(proto::TCP, client, server, port, probe)
                    == Some(FlowClass::BuildAnchor)
                {
                    servers.insert(server);
                }
            }
        }
        CaptureKeep { probe, servers }
    }

    /// Whether a TCP/UDP flow can be kept: an anchor, or egress or DNS
    /// opened by a server, taking either end as the initiator.
    pub(super) fn keeps(&self, t: &FiveTuple) -> bool {
        [(t.src, t.dst, t.dport), (t.dst, t.src, t.sport)]
            .into_iter()
            .any(
                |(from, to, port)| match classify_flow(t.proto, from, to, port, self.probe) {
                    Some(FlowClass::ProxyAnchor | FlowClass::BuildAnchor) => true,
                    Some(FlowClass::Egress) => self.servers.contains(&from),
                    None => false,
                },
            )
    }
}

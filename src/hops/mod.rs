//! Hops: the sessions of each hop of the build path, what became of them,
//! the hop's status, and the stitching of command sessions arriving at the
//! proxy to the build-VM sessions the proxy opens for them.

use crate::aib::{AZURE_HOST_IP, IMDS_IP, is_build_port, is_proxy_port};
use crate::aib::{Hop, HopStatus};
use crate::sessions::{ConnState, Decision, Proto, Session};
use crate::topology::Topology;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::net::IpAddr;

#[cfg(test)]
mod tests;

/// How long after a command session reaches the proxy the proxy's own
/// session to the build VM may start and still be its forwarding (clock skew
/// between capture points included).
pub const STITCH_WINDOW_NS: i64 = 5_000_000_000;
/// Tolerated clock skew between capture points of different VMs.
pub const STITCH_SKEW_NS: i64 = 2_000_000_000;

/// What became of one session, as far as a hop is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Answered (and, for TCP, established).
    Ok,
    /// Allowed by a flow log that records no counters for it (Begin only):
    /// evidence of an attempt, not of a failure.
    Unknown,
    /// No answer: unanswered SYNs or datagrams, a flow-log deny, an End
    /// tuple without reply packets.
    Blocked,
    /// Refused: RST to the SYN, or an ICMP unreachable.
    Rejected,
    /// Established, then reset by the responder or gone silent.
    Interrupted,
}

/// Classify a session.
pub fn outcome(s: &Session) -> Outcome {
    if let Some(fl) = &s.flow {
        if fl.decision == Some(Decision::Deny) {
            return Outcome::Blocked;
        }
        if s.state == ConnState::REJ {
            return Outcome::Rejected;
        }
        let states = fl.flow_state.as_deref().unwrap_or("");
        // Flow logs count both directions in the End tuple.
        if states.contains('E') || states.contains('C') {
            if s.resp.pkts == 0 {
                return Outcome::Blocked;
            }
            if s.proto == Proto::Tcp && flow_refused(s) {
                return Outcome::Rejected;
            }
            return Outcome::Ok;
        }
        return Outcome::Unknown;
    }
    if s.icmp_error.is_some() && s.resp.pkts == 0 {
        return Outcome::Rejected;
    }
    match s.proto {
        Proto::Tcp => {
            let h = s.history.as_str();
            let answered = h.contains('h') || (h.starts_with('^') && h.contains('H'));
            match s.state {
                ConnState::REJ => Outcome::Rejected,
                ConnState::S0 | ConnState::RSTOS0 | ConnState::SH => Outcome::Blocked,
                ConnState::RSTR if has_data(h) => Outcome::Interrupted,
                ConnState::RSTO if has_data(h) && retransmitted(h) => Outcome::Interrupted,
                ConnState::S1 | ConnState::S2 | ConnState::S3 if retransmitted(h) => {
                    Outcome::Interrupted
                }
                _ if answered || s.resp.pkts > 0 => Outcome::Ok,
                _ => Outcome::Blocked,
            }
        }
        _ => {
            if s.resp.pkts > 0 {
                Outcome::Ok
            } else {
                Outcome::Blocked
            }
        }
    }
}

/// A flow-log TCP flow that is a refused attempt: the originator sent only
/// its SYN(s) and got back as many bare packets the size of a RST
/// (`E,1,74,1,54`). A SYN-ACK carries options and is larger; an established
/// connection needs at least a third packet from the originator.
fn flow_refused(s: &Session) -> bool {
    let bare = if s.orig_h.is_ipv4() { 60 } else { 80 };
    s.orig.pkts <= 2 && s.resp.pkts <= s.orig.pkts && s.resp.ip_bytes <= s.resp.pkts * bare
}

fn has_data(h: &str) -> bool {
    h.contains('D') || h.contains('d')
}

fn retransmitted(h: &str) -> bool {
    h.contains('T')
}

/// Command sessions forwarded by the proxy, from stitching.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stitching {
    /// Command sessions that reached the proxy (established).
    pub commands: usize,
    /// Of those, how many the proxy forwarded to the build VM.
    pub forwarded: usize,
    /// Of the forwarded, how many the build VM answered.
    pub answered: usize,
}

/// One hop's sessions and verdict.
#[derive(Debug, Clone, Serialize)]
pub struct HopReport {
    /// Which hop.
    pub hop: Hop,
    /// Destination port(s) seen (or expected).
    pub port: Vec<u16>,
    /// Status.
    pub status: HopStatus,
    /// Sessions (connection attempts) on this hop.
    pub attempts: usize,
    /// Attempts answered / established.
    pub established: usize,
    /// Attempts that failed (blocked, rejected, interrupted).
    pub failed: usize,
    /// Counts by outcome.
    pub blocked: usize,
    /// Refused attempts.
    pub rejected: usize,
    /// Sessions cut mid-way.
    pub interrupted: usize,
    /// SYN retransmissions over the hop's sessions.
    pub syn_retransmits: u64,
    /// Inputs (paths) that could observe this hop.
    pub observed_by: Vec<String>,
    /// Stitching, on the proxy → build VM hop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stitching: Option<Stitching>,
    /// A note for the reader (why not observed, what was assumed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Indices into the session list.
    #[serde(skip)]
    pub sessions: Vec<usize>,
}

impl HopReport {
    /// The destination ports for people: `22`, `60000,60001` (empty when
    /// none).
    pub fn ports_text(&self) -> String {
        self.port
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    fn new(hop: Hop) -> Self {
        HopReport {
            hop,
            port: Vec::new(),
            status: HopStatus::NotObserved,
            attempts: 0,
            established: 0,
            failed: 0,
            blocked: 0,
            rejected: 0,
            interrupted: 0,
            syn_retransmits: 0,
            observed_by: Vec::new(),
            stitching: None,
            note: None,
            sessions: Vec::new(),
        }
    }
}

/// The roles of every address of a topology, found by hashing: role lists
/// can hold thousands of addresses (a capture of many builds), and scanning
/// them for each session was a third of `diagnose` on the mixed benchmark
/// capture.
pub struct RoleIndex(FxHashMap<IpAddr, u8>);

const PROXY: u8 = 1;
const BUILD_VM: u8 = 2;
const PROBE: u8 = 4;
const PRIVATE_LINK_NAT: u8 = 8;
const ACI: u8 = 16;

impl RoleIndex {
    /// Index a topology's roles.
    pub fn new(t: &Topology) -> Self {
        let r = &t.roles;
        let mut m = FxHashMap::default();
        for (list, bit) in [
            (&r.proxy, PROXY),
            (&r.build_vm, BUILD_VM),
            (&r.probe, PROBE),
            (&r.private_link_nat, PRIVATE_LINK_NAT),
            (&r.aci, ACI),
        ] {
            for ip in list {
                *m.entry(*ip).or_insert(0) |= bit;
            }
        }
        RoleIndex(m)
    }

    /// Whether `ip` has any of the roles in `bits`.
    fn is(&self, ip: IpAddr, bits: u8) -> bool {
        self.0.get(&ip).is_some_and(|b| b & bits != 0)
    }
}

/// Which hop a session belongs to, if any.
pub fn hop_of(s: &Session, r: &RoleIndex) -> Option<Hop> {
    if s.proto == Proto::Tcp && is_proxy_port(s.resp_p) && r.is(s.resp_h, PROXY) {
        return Some(if r.is(s.orig_h, PROBE) {
            Hop::ProbeToProxy
        } else {
            Hop::AlbToProxy
        });
    }
    if s.proto == Proto::Tcp && is_build_port(s.resp_p) && r.is(s.resp_h, BUILD_VM) {
        if r.is(s.orig_h, PROXY) {
            return Some(Hop::ProxyToBuildVm);
        }
        if r.is(s.orig_h, ACI) {
            return Some(Hop::AciToBuildVm);
        }
    }
    if r.is(s.orig_h, BUILD_VM) {
        if s.resp_p == 53 && matches!(s.proto, Proto::Udp | Proto::Tcp) {
            return Some(Hop::BuildVmDns);
        }
        let peer_is_role = r.is(s.resp_h, PROXY | PRIVATE_LINK_NAT | ACI | BUILD_VM);
        // Platform endpoints (WireServer, IMDS) are not egress.
        if s.proto == Proto::Tcp
            && !peer_is_role
            && s.resp_h != AZURE_HOST_IP
            && s.resp_h != IMDS_IP
        {
            return Some(Hop::BuildVmEgress);
        }
    }
    None
}

/// Build the hop reports for a topology.
pub fn hops(sessions: &[Session], t: &Topology, input_paths: &[String]) -> Vec<HopReport> {
    // Every hop is reported, so the JSON always has the same six rows; the
    // hops of the other topology stay `not_observed` with a note.
    let mut reports: Vec<HopReport> = Hop::PATH.iter().map(|h| HopReport::new(*h)).collect();
    let index = RoleIndex::new(t);
    for (i, s) in sessions.iter().enumerate() {
        if let Some(h) = hop_of(s, &index)
            && let Some(r) = reports.iter_mut().find(|r| r.hop == h)
        {
            r.sessions.push(i);
        }
    }
    let roles = &t.roles;
    let external: Vec<IpAddr> = Vec::new();
    for r in &mut reports {
        let (a, b): (&[IpAddr], &[IpAddr]) = match r.hop {
            Hop::ProbeToProxy => (&roles.probe, &roles.proxy),
            Hop::AlbToProxy => (&roles.private_link_nat, &roles.proxy),
            Hop::ProxyToBuildVm => (&roles.proxy, &roles.build_vm),
            Hop::AciToBuildVm => (&roles.aci, &roles.build_vm),
            Hop::BuildVmEgress | Hop::BuildVmDns => (&roles.build_vm, &external),
            Hop::Deployment => (&external, &external),
        };
        // The ALB side is only visible from the proxy (its sources change).
        let b_for_obs: &[IpAddr] = b;
        let obs = t.observers(a, b_for_obs);
        r.observed_by = obs
            .iter()
            .filter_map(|i| input_paths.get(*i).cloned())
            .collect();
        for &i in &r.sessions {
            let Some(s) = sessions.get(i) else { continue };
            r.attempts += 1;
            r.syn_retransmits += u64::from(s.syn_retransmits);
            if !r.port.contains(&s.resp_p) {
                r.port.push(s.resp_p);
            }
            match outcome(s) {
                Outcome::Ok | Outcome::Unknown => r.established += 1,
                Outcome::Blocked => r.blocked += 1,
                Outcome::Rejected => r.rejected += 1,
                Outcome::Interrupted => {
                    r.interrupted += 1;
                    r.established += 1;
                }
            }
        }
        r.port.sort_unstable();
        r.failed = r.blocked + r.rejected + r.interrupted;
        r.status = status_of(r);
        if r.port.is_empty() {
            r.port = match r.hop {
                Hop::ProbeToProxy | Hop::AlbToProxy => vec![t.proxy_port()],
                Hop::ProxyToBuildVm | Hop::AciToBuildVm => vec![t.build_port()],
                Hop::BuildVmDns => vec![53],
                _ => vec![],
            };
        }
        if r.attempts == 0 && !r.hop.applies_to(t.kind) {
            r.observed_by.clear();
            r.note = Some("not part of this build's topology".to_string());
        } else if r.attempts == 0 && r.observed_by.is_empty() {
            r.note =
                Some("no capture point or flow log in the evidence could see this hop".to_string());
        }
    }
    stitch(sessions, &mut reports);
    reports
}

fn status_of(r: &HopReport) -> HopStatus {
    let clean_ok = r.attempts - r.failed;
    if r.attempts == 0 {
        HopStatus::NotObserved
    } else if r.failed == 0 {
        HopStatus::Ok
    } else if r.interrupted > 0 {
        // Once a session breaks mid-build, later attempts failing are its
        // consequence: the interruption is the story.
        HopStatus::Interrupted
    } else if clean_ok > 0 {
        HopStatus::Degraded
    } else if r.rejected >= r.blocked {
        HopStatus::Rejected
    } else {
        HopStatus::Blocked
    }
}

/// Pair each established command session at the proxy with the first
/// unpaired proxy → build VM session that starts within the window after it.
fn stitch(sessions: &[Session], reports: &mut [HopReport]) {
    let cmd: Vec<usize> = reports
        .iter()
        .find(|r| r.hop == Hop::AlbToProxy)
        .map(|r| {
            r.sessions
                .iter()
                .copied()
                .filter(|&i| {
                    sessions.get(i).is_some_and(|s| {
                        outcome(s) != Outcome::Blocked && outcome(s) != Outcome::Rejected
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let Some(down) = reports
        .iter()
        .find(|r| r.hop == Hop::ProxyToBuildVm)
        .map(|r| r.sessions.clone())
    else {
        return;
    };
    // The proxy's sessions by proxy, each list in session (time) order,
    // with a "next unpaired" pointer per position: each command finds its
    // session by a binary search and a few pointer hops, not a scan of all
    // of them (millions, on adversarial flow logs).
    let mut by_proxy: FxHashMap<IpAddr, Downs> = FxHashMap::default();
    for (k, &di) in down.iter().enumerate() {
        if let Some(d) = sessions.get(di) {
            by_proxy.entry(d.orig_h).or_default().push(d.first_ts, k);
        }
    }
    for g in by_proxy.values_mut() {
        g.sort();
    }
    let mut st = Stitching {
        commands: cmd.len(),
        ..Stitching::default()
    };
    for &ci in &cmd {
        let Some(c) = sessions.get(ci) else { continue };
        let lo = c.first_ts.saturating_sub(STITCH_SKEW_NS);
        let hi = c.first_ts.saturating_add(STITCH_WINDOW_NS);
        let Some(k) = by_proxy
            .get_mut(&c.resp_h)
            .and_then(|g| g.take_first(lo, hi))
        else {
            continue;
        };
        st.forwarded += 1;
        if down
            .get(k)
            .and_then(|&di| sessions.get(di))
            .is_some_and(|d| {
                matches!(
                    outcome(d),
                    Outcome::Ok | Outcome::Interrupted | Outcome::Unknown
                )
            })
        {
            st.answered += 1;
        }
    }
    if let Some(r) = reports.iter_mut().find(|r| r.hop == Hop::ProxyToBuildVm) {
        if st.commands > 0 {
            r.stitching = Some(st);
        }
        // Commands arrived, the proxy's side was observable, yet it opened
        // nothing to the build VM.
        if st.commands > 0 && r.attempts == 0 && !r.observed_by.is_empty() {
            r.status = HopStatus::Missing;
        }
    }
}

/// One proxy's sessions to the build VM, in time order, for stitching.
#[derive(Default)]
struct Downs {
    /// (first time, index into the hop's sessions), in session order.
    items: Vec<(i64, usize)>,
    /// Per position: the first position at or after it not yet paired
    /// (`items.len()` when none), compressed as it is followed.
    next: Vec<usize>,
}

impl Downs {
    fn push(&mut self, first_ts: i64, k: usize) {
        self.next.push(self.items.len());
        self.items.push((first_ts, k));
    }

    /// In time order (sessions already are; ties keep session order).
    fn sort(&mut self) {
        self.items.sort_unstable();
    }

    /// The first unpaired position at or after `i`.
    fn free_from(&mut self, i: usize) -> usize {
        let mut root = i;
        while let Some(&n) = self.next.get(root) {
            if n == root {
                break;
            }
            root = n;
        }
        // Path compression.
        let mut j = i;
        while let Some(&n) = self.next.get(j) {
            if n == j || j == root {
                break;
            }
            if let Some(slot) = self.next.get_mut(j) {
                *slot = root;
            }
            j = n;
        }
        root
    }

    /// Pair the first unpaired session starting in `[lo, hi]`: its index
    /// into the hop's sessions.
    fn take_first(&mut self, lo: i64, hi: i64) -> Option<usize> {
        let start = self.items.partition_point(|&(t, _)| t < lo);
        let i = self.free_from(start);
        let &(t, k) = self.items.get(i)?;
        if t > hi {
            return None;
        }
        if let Some(slot) = self.next.get_mut(i) {
            *slot = i + 1;
        }
        Some(k)
    }
}

//! Splitting sessions into AIB runs.
//!
//! A run is a proxy and a build VM seen together (or an ACI container and a
//! build VM), clustered in time. Addresses are reused from run to run, so
//! an address alone names nothing; an address *in a role over a stretch of
//! time* does:
//!
//! 1. Every anchor session touches one or two addresses in a role: a proxy
//!    port session touches its proxy; an SSH/WinRM session touches its
//!    client (proxy or ACI) and its server (the build VM). The probe and
//!    the Private Link NAT address touch nothing: they serve every run.
//! 2. Per address, touches in time order form **episodes**. A new episode
//!    starts after a quiet gap (`--gap`), once the episode is older than the
//!    build timeout (`--timeout`), or when the NIC changes (a different MAC
//!    logged the flow: a new VM at the same address).
//! 3. An SSH/WinRM session joins the episodes of its client and its server;
//!    the connected groups of episodes are the runs.
//! 4. DNS and egress sessions of a build VM join the episode of that address
//!    as a server that covers their time (from a gap before it starts to the
//!    later of a gap after it ends and its start plus the timeout: a long
//!    customization step can be silent on SSH).

use crate::aib::{AZURE_HOST_IP, FlowClass};
use crate::flowlog::Nic;
use crate::sessions::Session;

/// Default quiet gap that separates two runs on the same addresses.
pub const DEFAULT_GAP_NS: i64 = 10 * 60 * 1_000_000_000;
/// Default longest run: AIB's default `buildTimeoutInMinutes` (240).
pub const DEFAULT_TIMEOUT_NS: i64 = 4 * 3600 * 1_000_000_000;

/// How runs are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Quiet time after which an address seen again starts a new run.
    pub gap_ns: i64,
    /// The longest a run lasts (the build timeout); activity beyond it on
    /// the same addresses starts a new run.
    pub timeout_ns: i64,
    /// The health probe's source address.
    pub probe: std::net::IpAddr,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            gap_ns: DEFAULT_GAP_NS,
            timeout_ns: DEFAULT_TIMEOUT_NS,
            probe: AZURE_HOST_IP,
        }
    }
}
use rustc_hash::{FxHashMap, FxHashSet};
use std::net::IpAddr;

/// The sessions of one run (indices into the scanned sessions, in order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSessions {
    /// Indices into the session list, increasing.
    pub sessions: Vec<usize>,
    /// NIC MACs of the run's VMs, when flow logs name them.
    pub macs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Proxy,
    Client,
    Server,
}

struct Touch<'a> {
    addr: IpAddr,
    first: i64,
    last: i64,
    sess: usize,
    role: Role,
    mac: Option<&'a str>,
}

struct Episode<'a> {
    addr: IpAddr,
    start: i64,
    last: i64,
    mac: Option<&'a str>,
    server: bool,
}

impl<'a> Episode<'a> {
    /// An episode that starts with this touch (its MAC and role are added
    /// as touches join it).
    fn starting(t: &Touch<'_>) -> Self {
        Episode {
            addr: t.addr,
            start: t.first,
            last: t.last,
            mac: None,
            server: false,
        }
    }
}

/// Split sessions (sorted, as a scan leaves them) into runs. `nics` gives,
/// by input, the NIC a flow-log blob belongs to (see [`Nic`]): the MAC of
/// an address in a session is the MAC of a blob that saw the session and
/// belongs to that address.
pub fn discover(sessions: &[Session], nics: &[Option<Nic>], opts: &RunOptions) -> Vec<RunSessions> {
    discover_with(sessions, opts, |s: &Session, addr: IpAddr| {
        s.seen_by.iter().find_map(|i| {
            nics.get(i as usize)
                .and_then(Option::as_ref)
                .filter(|n| n.addr == addr)
                .map(|n| n.mac.as_str())
        })
    })
}

/// [`discover`] with the MAC lookup given (for tests and other evidence).
pub fn discover_with<'a>(
    sessions: &'a [Session],
    opts: &RunOptions,
    mac_of: impl Fn(&'a Session, IpAddr) -> Option<&'a str>,
) -> Vec<RunSessions> {
    let probe = opts.probe;
    let gap = opts.gap_ns.max(0);
    let timeout = opts.timeout_ns.max(gap);

    let mut touches: Vec<Touch<'a>> = Vec::new();
    let mut egress: Vec<usize> = Vec::new();
    for (i, s) in sessions.iter().enumerate() {
        let touch = |addr, role| Touch {
            addr,
            first: s.first_ts,
            last: s.last_ts,
            sess: i,
            role,
            mac: mac_of(s, addr),
        };
        match s.aib_class(probe) {
            Some(FlowClass::ProxyAnchor) => touches.push(touch(s.resp_h, Role::Proxy)),
            Some(FlowClass::BuildAnchor) => {
                touches.push(touch(s.orig_h, Role::Client));
                touches.push(touch(s.resp_h, Role::Server));
            }
            Some(FlowClass::Egress) => egress.push(i),
            None => {}
        }
    }
    touches.sort_by_key(|t| (t.addr, t.first, t.sess));

    // Episodes per address.
    let mut episodes: Vec<Episode<'a>> = Vec::new();
    let mut touch_ep: Vec<usize> = Vec::with_capacity(touches.len());
    for t in &touches {
        let cont = episodes.last().is_some_and(|e| {
            e.addr == t.addr
                && t.first <= e.last.saturating_add(gap)
                && t.first <= e.start.saturating_add(timeout)
                && !matches!((e.mac, t.mac), (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b))
        });
        if !cont {
            episodes.push(Episode::starting(t));
        }
        let k = episodes.len() - 1;
        if let Some(e) = episodes.last_mut() {
            e.last = e.last.max(t.last);
            e.mac = e.mac.or(t.mac);
            e.server |= t.role == Role::Server;
        }
        touch_ep.push(k);
    }

    drop_sweepers(sessions, &mut touches, &mut touch_ep, &mut episodes);
    split_unbound(&touches, &mut touch_ep, &mut episodes);

    // Join the client's and the server's episodes of each SSH/WinRM session.
    let mut uf = UnionFind::new(episodes.len());
    for (e1, e2) in links(&touches, &touch_ep) {
        uf.union(e1, e2);
    }

    // Egress and DNS join the covering server episode of their source.
    let mut server_eps: FxHashMap<IpAddr, Vec<usize>> = FxHashMap::default();
    for (k, e) in episodes.iter().enumerate().filter(|(_, e)| e.server) {
        server_eps.entry(e.addr).or_default().push(k);
    }
    // By start (pieces of split episodes were appended after the others).
    for eps in server_eps.values_mut() {
        eps.sort_by_key(|&k| episodes.get(k).map_or(i64::MAX, |e| e.start));
    }
    let mut attached: Vec<(usize, usize)> = Vec::new();
    for &i in &egress {
        let Some(s) = sessions.get(i) else { continue };
        let Some(eps) = server_eps.get(&s.orig_h) else {
            continue;
        };
        let mac = mac_of(s, s.orig_h);
        // The latest episode starting no later than a gap after the session.
        let pos = eps.partition_point(|&k| {
            episodes
                .get(k)
                .is_some_and(|e| e.start.saturating_sub(gap) <= s.first_ts)
        });
        let Some(&k) = pos.checked_sub(1).and_then(|p| eps.get(p)) else {
            continue;
        };
        let Some(e) = episodes.get(k) else { continue };
        let covers = s.first_ts
            <= e.last
                .saturating_add(gap)
                .max(e.start.saturating_add(timeout));
        let same_nic = !matches!((e.mac, mac), (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b));
        if covers && same_nic {
            attached.push((k, i));
        }
    }

    // Gather each group's sessions. A group is a run only with AIB's own
    // evidence in it: a proxy's command port or an SSH/WinRM client that is
    // not sweeping the subnet; a server's episode alone (a VM receiving
    // SSH from a jump box) is not.
    let mut groups: FxHashMap<usize, RunSessions> = FxHashMap::default();
    let mut anchored: FxHashSet<usize> = FxHashSet::default();
    for (t, &k) in touches.iter().zip(&touch_ep) {
        let g = uf.find(k);
        if t.role != Role::Server {
            anchored.insert(g);
        }
        groups.entry(g).or_default().sessions.push(t.sess);
    }
    for (k, i) in attached {
        groups.entry(uf.find(k)).or_default().sessions.push(i);
    }
    for (k, e) in episodes.iter().enumerate() {
        let g = groups.entry(uf.find(k)).or_default();
        if let Some(m) = e.mac {
            g.macs.push(m.to_ascii_uppercase());
        }
    }
    let mut runs: Vec<RunSessions> = groups
        .into_iter()
        .filter(|(k, _)| anchored.contains(k))
        .map(|(_, mut g)| {
            g.sessions.sort_unstable();
            g.sessions.dedup();
            g.macs.sort();
            g.macs.dedup();
            g
        })
        .filter(|g| !g.sessions.is_empty())
        .collect();
    runs.sort_by(|a, b| a.sessions.cmp(&b.sessions));
    runs
}

/// The pairs of episodes an SSH/WinRM session joins (client, server).
fn links(touches: &[Touch<'_>], touch_ep: &[usize]) -> Vec<(usize, usize)> {
    let mut by_sess: Vec<(usize, usize)> = touches
        .iter()
        .zip(touch_ep)
        .map(|(t, &e)| (t.sess, e))
        .collect();
    by_sess.sort_unstable();
    by_sess
        .windows(2)
        .filter_map(|w| match w {
            [(s1, e1), (s2, e2)] if s1 == s2 && e1 != e2 => Some((*e1, *e2)),
            _ => None,
        })
        .collect()
}

/// An episode no flow log binds to a NIC (an ACI container, or a VM whose
/// blobs are missing) can link two runs whose other ends are different NICs
/// at one address, when the runs follow each other within the gap. Cut such
/// an episode where the later NIC's episode starts, so that it does not join
/// what the MACs keep apart.
fn split_unbound(touches: &[Touch<'_>], touch_ep: &mut [usize], episodes: &mut Vec<Episode<'_>>) {
    // Per unbound episode: the bound episodes it links to.
    let mut bound: FxHashMap<usize, Vec<(IpAddr, i64, &str)>> = FxHashMap::default();
    for (a, b) in links(touches, touch_ep) {
        for (u, k) in [(a, b), (b, a)] {
            if let (Some(eu), Some(ek)) = (episodes.get(u), episodes.get(k))
                && eu.mac.is_none()
                && let Some(mac) = ek.mac
            {
                bound.entry(u).or_default().push((ek.addr, ek.start, mac));
            }
        }
    }
    let mut cuts: FxHashMap<usize, Vec<i64>> = FxHashMap::default();
    for (u, mut v) in bound {
        v.sort_unstable();
        v.dedup();
        let mut c: Vec<i64> = v
            .windows(2)
            .filter_map(|w| match w {
                [(a1, _, m1), (a2, t2, m2)] if a1 == a2 && !m1.eq_ignore_ascii_case(m2) => {
                    Some(*t2)
                }
                _ => None,
            })
            .collect();
        if !c.is_empty() {
            c.sort_unstable();
            c.dedup();
            cuts.insert(u, c);
        }
    }
    if cuts.is_empty() {
        return;
    }
    let mut pieces: FxHashMap<(usize, usize), usize> = FxHashMap::default();
    for (t, slot) in touches.iter().zip(touch_ep.iter_mut()) {
        let Some(c) = cuts.get(slot) else { continue };
        let piece = c.partition_point(|&x| x <= t.first);
        if piece > 0 {
            let next = episodes.len();
            *slot = *pieces.entry((*slot, piece)).or_insert_with(|| {
                episodes.push(Episode::starting(t));
                next
            });
        }
    }
    recompute(touches, touch_ep, episodes);
}

/// Recompute every episode's span and server flag from its touches.
fn recompute(touches: &[Touch<'_>], touch_ep: &[usize], episodes: &mut [Episode<'_>]) {
    for e in episodes.iter_mut() {
        e.start = i64::MAX;
        e.last = i64::MIN;
        e.server = false;
    }
    for (t, &k) in touches.iter().zip(touch_ep.iter()) {
        if let Some(e) = episodes.get_mut(k) {
            e.start = e.start.min(t.first);
            e.last = e.last.max(t.last);
            e.server |= t.role == Role::Server;
        }
    }
}

/// Take out the SSH/WinRM sessions of clients that sweep the subnet: a
/// client episode opening 22/5986 to more than
/// [`MAX_FAN_OUT`](super::roles::MAX_FAN_OUT) hosts is a jump box or a
/// management host, and linking its servers would make one phantom build of
/// every VM it visits (and pull a real build VM it visits into it).
fn drop_sweepers(
    sessions: &[Session],
    touches: &mut Vec<Touch<'_>>,
    touch_ep: &mut Vec<usize>,
    episodes: &mut [Episode<'_>],
) {
    let mut fan: Vec<(usize, IpAddr)> = touches
        .iter()
        .zip(touch_ep.iter())
        .filter(|(t, _)| t.role == Role::Client)
        .filter_map(|(t, &k)| sessions.get(t.sess).map(|s| (k, s.resp_h)))
        .collect();
    fan.sort_unstable();
    fan.dedup();
    let mut sweepers: FxHashSet<usize> = FxHashSet::default();
    for w in fan.chunk_by(|a, b| a.0 == b.0) {
        if w.len() > super::roles::MAX_FAN_OUT
            && let Some(&(k, _)) = w.first()
        {
            sweepers.insert(k);
        }
    }
    if sweepers.is_empty() {
        return;
    }
    let swept: FxHashSet<usize> = touches
        .iter()
        .zip(touch_ep.iter())
        .filter(|(t, k)| t.role == Role::Client && sweepers.contains(k))
        .map(|(t, _)| t.sess)
        .collect();
    let keep: Vec<bool> = touches.iter().map(|t| !swept.contains(&t.sess)).collect();
    let mut k1 = keep.iter();
    touches.retain(|_| k1.next().copied().unwrap_or(true));
    let mut k2 = keep.iter();
    touch_ep.retain(|_| k2.next().copied().unwrap_or(true));
    recompute(touches, touch_ep, episodes);
}

/// Union-find with path halving and union by size (also groups a
/// diagnosis' addresses into builds).
pub(crate) struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    pub(crate) fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    pub(crate) fn find(&mut self, mut x: usize) -> usize {
        while let Some(&p) = self.parent.get(x) {
            if p == x {
                break;
            }
            let gp = self.parent.get(p).copied().unwrap_or(p);
            if let Some(slot) = self.parent.get_mut(x) {
                *slot = gp;
            }
            x = gp;
        }
        x
    }

    pub(crate) fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (sa, sb) = (
            self.size.get(ra).copied().unwrap_or(1),
            self.size.get(rb).copied().unwrap_or(1),
        );
        let (big, small) = if sa >= sb { (ra, rb) } else { (rb, ra) };
        if let Some(p) = self.parent.get_mut(small) {
            *p = big;
        }
        if let Some(s) = self.size.get_mut(big) {
            *s = sa + sb;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{FiveTuple, proto};
    use crate::sessions::SeenBy;

    const S: i64 = 1_000_000_000;
    const T0: i64 = 1_724_090_400 * S;

    fn sess(p: u8, src: &str, sport: u16, dst: &str, dport: u16, at_s: i64, dur_s: i64) -> Session {
        let t = FiveTuple {
            proto: p,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            sport,
            dport,
        };
        let mut s = Session::new(&t, T0 + at_s * S, 6, 0);
        s.last_ts = s.first_ts + dur_s * S;
        s
    }

    /// One proxy build from `at` (s): probes every 5 s for `dur` s, command
    /// sessions, the proxy's SSH to the build VM, its egress and DNS.
    fn proxy_run(at: i64, dur: i64, proxy: &str, build: &str) -> Vec<Session> {
        let mut v = Vec::new();
        let mut t = 0;
        let mut port = 40000;
        while t < dur {
            v.push(sess(
                proto::TCP,
                "168.63.129.16",
                port,
                proxy,
                60001,
                at + t,
                1,
            ));
            port += 1;
            t += 5;
        }
        for k in 0..5 {
            v.push(sess(
                proto::TCP,
                "10.1.0.5",
                50000 + k,
                proxy,
                60001,
                at + 60 + k as i64 * 60,
                30,
            ));
            v.push(sess(
                proto::TCP,
                proxy,
                51000 + k,
                build,
                22,
                at + 61 + k as i64 * 60,
                29,
            ));
        }
        v.push(sess(proto::UDP, build, 53000, "10.1.2.4", 53, at + 100, 1));
        v.push(sess(
            proto::TCP,
            build,
            53001,
            "52.147.219.192",
            443,
            at + 101,
            5,
        ));
        v
    }

    fn sorted(mut v: Vec<Session>) -> Vec<Session> {
        v.sort_by_key(|s| (s.first_ts, s.orig_p));
        v
    }

    fn opts() -> RunOptions {
        RunOptions::default()
    }

    #[test]
    fn reused_addresses_after_a_quiet_gap_are_two_runs() {
        let mut v = proxy_run(0, 600, "10.1.0.4", "10.1.0.6");
        v.extend(proxy_run(6 * 3600, 600, "10.1.0.4", "10.1.0.6"));
        let v = sorted(v);
        let runs = discover(&v, &[], &opts());
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].sessions.len() + runs[1].sessions.len(), v.len());
        let first_end = runs[0]
            .sessions
            .iter()
            .map(|&i| v[i].last_ts)
            .max()
            .unwrap();
        let second_start = runs[1]
            .sessions
            .iter()
            .map(|&i| v[i].first_ts)
            .min()
            .unwrap();
        assert!(first_end < second_start);
    }

    #[test]
    fn a_run_holds_probes_commands_ssh_egress_and_dns() {
        let v = sorted(proxy_run(0, 300, "10.1.0.4", "10.1.0.6"));
        let runs = discover(&v, &[], &opts());
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].sessions, (0..v.len()).collect::<Vec<_>>());
    }

    #[test]
    fn isolated_and_proxy_only_runs_are_found() {
        let mut v = vec![
            sess(proto::TCP, "10.1.1.4", 40000, "10.1.0.6", 22, 0, 20),
            sess(proto::TCP, "10.1.1.4", 40001, "10.1.0.6", 22, 30, 200),
            sess(proto::TCP, "10.1.0.6", 40002, "52.147.219.192", 80, 40, 2),
        ];
        // A proxy whose probes are all there is (probe blocked), a day later.
        for k in 0..10 {
            v.push(sess(
                proto::TCP,
                "168.63.129.16",
                41000 + k,
                "10.1.0.4",
                60001,
                86_400 + k as i64 * 5,
                0,
            ));
        }
        let v = sorted(v);
        let runs = discover(&v, &[], &opts());
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].sessions, vec![0, 1, 2]);
        assert!(runs[1].sessions.iter().all(|&i| v[i].resp_p == 60001));
        assert_eq!(runs[1].sessions.len(), 10);
    }

    #[test]
    fn a_new_nic_at_the_same_address_is_a_new_run() {
        // Back to back, no gap: only the MAC tells the runs apart.
        let mut v = proxy_run(0, 600, "10.1.0.4", "10.1.0.6");
        v.extend(proxy_run(610, 600, "10.1.0.4", "10.1.0.6"));
        let v = sorted(v);
        let runs = discover(&v, &[], &opts());
        assert_eq!(runs.len(), 1, "without MACs, one run");
        let mac = |s: &Session, _a: IpAddr| -> Option<&str> {
            Some(if s.first_ts < T0 + 605 * S {
                "000D3A000001"
            } else {
                "000D3A000002"
            })
        };
        let runs = discover_with(&v, &opts(), mac);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].macs, vec!["000D3A000001".to_string()]);
    }

    #[test]
    fn flow_log_blobs_name_the_nic_of_their_address() {
        // Two back-to-back runs; the proxy's blobs of each are different NICs.
        let mut v = proxy_run(0, 600, "10.1.0.4", "10.1.0.6");
        for s in &mut v {
            s.seen_by = SeenBy::one(0);
        }
        let mut w = proxy_run(610, 600, "10.1.0.4", "10.1.0.6");
        for s in &mut w {
            s.seen_by = SeenBy::one(1);
        }
        v.extend(w);
        let v = sorted(v);
        let nic = |mac: &str| {
            Some(Nic {
                addr: "10.1.0.4".parse().unwrap(),
                mac: mac.to_string(),
            })
        };
        assert_eq!(discover(&v, &[], &opts()).len(), 1);
        let runs = discover(&v, &[nic("000D3A000001"), nic("000D3A000002")], &opts());
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].macs, vec!["000D3A000002".to_string()]);
        // The same NIC in both hours: one run.
        let runs = discover(&v, &[nic("000D3A000001"), nic("000D3A000001")], &opts());
        assert_eq!(runs.len(), 1);
    }

    #[test]
    fn an_aci_seen_by_no_flow_log_does_not_join_two_build_vms() {
        // Isolated runs back to back: the ACI (never flow-logged) is the same
        // address throughout; the build VM's blobs name two NICs.
        let mut v = Vec::new();
        for k in 0..20 {
            let mut s = sess(
                proto::TCP,
                "10.1.1.4",
                40000 + k,
                "10.1.0.6",
                22,
                k as i64 * 60,
                30,
            );
            s.seen_by = SeenBy::one(if k < 10 { 0 } else { 1 });
            v.push(s);
        }
        let v = sorted(v);
        let nic = |mac: &str| {
            Some(Nic {
                addr: "10.1.0.6".parse().unwrap(),
                mac: mac.to_string(),
            })
        };
        let runs = discover(&v, &[nic("000D3A00000A"), nic("000D3A00000B")], &opts());
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].sessions, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn the_timeout_bounds_a_run() {
        // Probes for 9 h without a break: at most 4 h per run.
        let v = sorted(proxy_run(0, 9 * 3600, "10.1.0.4", "10.1.0.6"));
        let runs = discover(&v, &[], &opts());
        assert_eq!(runs.len(), 3);
    }

    #[test]
    fn egress_of_hosts_that_are_never_build_vms_is_no_run() {
        let v = sorted(vec![
            sess(proto::TCP, "10.2.0.9", 40000, "52.147.219.192", 443, 0, 2),
            sess(proto::UDP, "10.2.0.9", 40001, "10.1.2.4", 53, 1, 0),
            sess(proto::TCP, "203.0.113.9", 40002, "10.2.0.9", 22, 2, 0),
        ]);
        assert!(discover(&v, &[], &opts()).is_empty());
    }

    #[test]
    fn a_jump_box_sweeping_the_subnet_makes_no_run_and_joins_no_build() {
        // Every 5 minutes for an hour, the jump box opens SSH to six VMs, one
        // of them the build VM of a real build in that hour.
        let mut v = proxy_run(600, 900, "10.1.0.4", "10.1.0.6");
        let n_build = v.len();
        let mut port = 50000;
        for round in 0..12 {
            for vm in [
                "10.1.0.6",
                "10.1.0.20",
                "10.1.0.21",
                "10.1.0.22",
                "10.1.0.23",
                "10.1.0.24",
            ] {
                v.push(sess(proto::TCP, "10.1.0.9", port, vm, 22, round * 300, 2));
                port += 1;
            }
        }
        let v = sorted(v);
        let runs = discover(&v, &[], &opts());
        assert_eq!(runs.len(), 1, "only the build: {runs:?}");
        // The run is the build's sessions: the jump box's, its visits to the
        // build VM included, link nothing and belong to no run.
        let jump = |i: &usize| v[*i].orig_h.to_string() == "10.1.0.9";
        assert_eq!(runs[0].sessions.len(), n_build);
        assert!(!runs[0].sessions.iter().any(jump));
        // Without the build: no run at all.
        let only_jump: Vec<Session> = v
            .iter()
            .filter(|s| s.orig_h.to_string() == "10.1.0.9")
            .cloned()
            .collect();
        assert!(discover(&only_jump, &[], &opts()).is_empty());
    }
}

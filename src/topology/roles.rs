//! Role inference: which address is the proxy, the build VM, the probe, the
//! Private Link NAT and the ACI container, each with the evidence that made
//! it — robust to the noise of a busy VNET.
//!
//! The rules, in the order they apply:
//!
//! 1. **Proxy**: a host receiving TCP on the command port (60000/60001) from
//!    the probe or a VNet address — AIB's own evidence. Probe and Private Link
//!    NAT are who opens those sessions.
//! 2. **Build VM**: a server of SSH/WinRM (22/5986) opened by a proxy.
//! 3. Any other client of 22/5986 between VNet addresses is *not* an AIB
//!    client when
//!    * it opens 22/5986 to more than [`MAX_FAN_OUT`] hosts (a jump box or a
//!      management host sweeping the subnet; an AIB proxy or ACI talks to
//!      its one build VM), or
//!    * a proxy is in the evidence (an admin's session to the build VM is not
//!      on the build path, and must not hide the proxy's failing ones).
//! 4. Without a proxy in the evidence, a remaining client in the build VM's
//!    subnet is an **assumed** proxy (a capture on the build VM alone sees
//!    the proxy only as an SSH client) — unless the evidence would show its
//!    command-port sessions (its NIC's flows are in a flow log, or a capture
//!    was taken on it) and shows none. With several such clients of one
//!    build VM, the one with most sessions to it is taken (AIB retries; an
//!    admin opens one or two) and the others are named in the evidence. A
//!    client in another subnet is the **ACI** container of an isolated build.
//!
//! Every step is one pass over the sessions or over per-address indexes:
//! O(n) in the sessions, O(a log a) in the addresses.

use super::{Hints, Roles, Vantage, same_subnet};
use crate::aib::{
    AZURE_HOST_IP, FlowClass, Os, PROXY_PORT_LINUX, PROXY_PORT_WINDOWS, TopologyKind,
};
use crate::ingest::InputReport;
use crate::sessions::Session;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A client of SSH/WinRM opening it to more hosts than this is a jump box or
/// a management host, not an AIB proxy or ACI container.
pub const MAX_FAN_OUT: usize = 3;

/// Most hosts named in one evidence line about excluded clients.
const NAMED: usize = 4;

/// Nanoseconds in an hour: fan-out is counted per hour of evidence.
const HOUR_NS: i64 = 3600 * 1_000_000_000;

/// The most hosts each client opens SSH/WinRM to in one hour, from its
/// `(client, hour, server)` triples (sorted and deduplicated here). Counted
/// per hour because evidence of days holds many builds: an address reused
/// by the proxies of several builds reaches one build VM an hour, never a
/// subnet's worth.
pub fn widest_hour(triples: &mut Vec<(IpAddr, i64, IpAddr)>) -> FxHashMap<IpAddr, usize> {
    triples.sort_unstable();
    triples.dedup();
    let mut widest: FxHashMap<IpAddr, usize> = FxHashMap::default();
    for group in triples.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        if let Some(&(client, _, _)) = group.first() {
            let n = widest.entry(client).or_default();
            *n = (*n).max(group.len());
        }
    }
    widest
}

/// The hour (since the epoch) of a time in ns, for [`widest_hour`].
pub fn hour_of(ts_ns: i64) -> i64 {
    ts_ns.div_euclid(HOUR_NS)
}

/// Sessions on each OS's ports: the OS with more wins, a tie tells nothing.
#[derive(Default)]
pub(super) struct OsVotes {
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

    /// Add another tally's votes.
    fn add(&mut self, other: &OsVotes) {
        self.linux += other.linux;
        self.windows += other.windows;
    }

    pub(super) fn winner(&self) -> Option<Os> {
        match self.linux.cmp(&self.windows) {
            std::cmp::Ordering::Greater => Some(Os::Linux),
            std::cmp::Ordering::Less => Some(Os::Windows),
            std::cmp::Ordering::Equal => None,
        }
    }
}

/// One client's SSH/WinRM sessions, by server in order of first session.
#[derive(Default)]
struct Client {
    servers: Vec<(IpAddr, usize)>,
    /// Index into `servers` by address.
    at: FxHashMap<IpAddr, usize>,
}

impl Client {
    fn add(&mut self, server: IpAddr) {
        match self.at.get(&server) {
            Some(&k) => {
                if let Some(s) = self.servers.get_mut(k) {
                    s.1 += 1;
                }
            }
            None => {
                self.at.insert(server, self.servers.len());
                self.servers.push((server, 1));
            }
        }
    }

    fn fan_out(&self) -> usize {
        self.servers.len()
    }
}

/// Roles in the making: the lists (in the order found) and a set each for
/// membership.
#[derive(Default)]
struct Found {
    list: Vec<IpAddr>,
    set: FxHashSet<IpAddr>,
}

impl Found {
    fn insert(&mut self, ip: IpAddr) -> bool {
        let new = self.set.insert(ip);
        if new {
            self.list.push(ip);
        }
        new
    }

    fn contains(&self, ip: &IpAddr) -> bool {
        self.set.contains(ip)
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn sorted(mut self) -> Vec<IpAddr> {
        self.list.sort();
        self.list
    }
}

/// The roles of the evidence, the lines saying why, and the OS votes.
pub(super) fn infer_roles(
    sessions: &[Session],
    inputs: &[InputReport],
    vantage: &[Vantage],
    hints: &Hints,
) -> (Roles, Vec<String>, OsVotes) {
    let probe_ip = hints.probe_ip.unwrap_or(AZURE_HOST_IP);
    let mut evidence = Vec::new();
    let mut votes = OsVotes::default();
    let mut proxy = Found::default();
    let mut build_vm = Found::default();
    let mut probe = Found::default();
    let mut nat = Found::default();
    let mut aci = Found::default();

    for ip in &hints.proxy {
        proxy.insert(*ip);
    }
    for ip in &hints.build_vm {
        build_vm.insert(*ip);
    }
    if !hints.proxy.is_empty() {
        evidence.push("proxy given by --proxy".to_string());
    }
    if !hints.build_vm.is_empty() {
        evidence.push("build VM given by --build-vm".to_string());
    }

    // One pass: the command-port responders and the SSH/WinRM clients.
    // Command-port responders: sessions received, and their ports' votes.
    let mut proxy_seen: BTreeMap<IpAddr, (usize, OsVotes)> = BTreeMap::new();
    let mut clients: FxHashMap<IpAddr, Client> = FxHashMap::default();
    // Clients in order of their first session, so evidence reads in time order.
    let mut client_order: Vec<IpAddr> = Vec::new();
    let mut hourly: Vec<(IpAddr, i64, IpAddr)> = Vec::new();
    for s in sessions {
        match s.aib_class(probe_ip) {
            Some(FlowClass::ProxyAnchor) => {
                let (n, v) = proxy_seen.entry(s.resp_h).or_default();
                *n += 1;
                v.port(s.resp_p);
            }
            Some(FlowClass::BuildAnchor) => {
                let c = clients.entry(s.orig_h).or_insert_with(|| {
                    client_order.push(s.orig_h);
                    Client::default()
                });
                c.add(s.resp_h);
                hourly.push((s.orig_h, hour_of(s.first_ts), s.resp_h));
            }
            _ => {}
        }
    }
    // A responder of the command port that opens SSH/WinRM to more than
    // MAX_FAN_OUT hosts in an hour (here, or in the scan that left those
    // sessions out) is noise on the AIB ports: AIB's proxy opens it to its
    // one build VM.
    let widest = widest_hour(&mut hourly);
    let mut noise: Vec<(IpAddr, usize)> = Vec::new();
    for (ip, (_, v)) in &proxy_seen {
        let wide = widest
            .get(ip)
            .copied()
            .filter(|&n| n > MAX_FAN_OUT)
            .or_else(|| hints.sweepers.get(ip).copied());
        match wide {
            Some(n) if !hints.proxy.contains(ip) => noise.push((*ip, n)),
            _ => votes.add(v),
        }
    }
    if hints.proxy.is_empty() {
        for (ip, (n, _)) in &proxy_seen {
            if noise.iter().any(|(x, _)| x == ip) {
                continue;
            }
            proxy.insert(*ip);
            evidence.push(format!(
                "proxy {ip}: receives {n} session(s) on {PROXY_PORT_WINDOWS}/{PROXY_PORT_LINUX}"
            ));
        }
    }
    // Those the scan named are in the run's evidence already.
    noise.retain(|(ip, _)| !hints.sweepers.contains_key(ip));
    evidence.extend(noise_line(&mut noise));
    // Probe and Private Link NAT: who talks to the proxy's command port.
    for s in sessions.iter().filter(|s| {
        s.aib_class(probe_ip) == Some(FlowClass::ProxyAnchor) && proxy.contains(&s.resp_h)
    }) {
        if s.orig_h == probe_ip {
            if probe.insert(s.orig_h) {
                evidence.push(format!(
                    "probe {}: health-probe source (Azure host IP) to the proxy",
                    s.orig_h
                ));
            }
        } else if nat.insert(s.orig_h) {
            evidence.push(format!(
                "private link NAT {}: opens command sessions to the proxy :{}",
                s.orig_h, s.resp_p
            ));
        }
    }

    // Build VMs: the servers of the proxies' SSH/WinRM, in session order.
    for s in sessions.iter().filter(|s| {
        s.aib_class(probe_ip) == Some(FlowClass::BuildAnchor) && proxy.contains(&s.orig_h)
    }) {
        votes.port(s.resp_p);
        if hints.build_vm.is_empty() && build_vm.insert(s.resp_h) {
            evidence.push(format!(
                "build VM {}: the proxy {} opens :{} to it",
                s.resp_h, s.orig_h, s.resp_p
            ));
        }
    }

    // Other clients: jump boxes first (whatever else is in the evidence).
    let mut sweepers: Vec<(IpAddr, usize)> = Vec::new();
    let mut others: Vec<IpAddr> = Vec::new();
    for ip in &client_order {
        let Some(c) = clients.get(ip) else { continue };
        if proxy.contains(ip) {
            continue;
        }
        if c.fan_out() > MAX_FAN_OUT {
            sweepers.push((*ip, c.fan_out()));
        } else {
            others.push(*ip);
        }
    }
    evidence.extend(sweepers_line(&mut sweepers));

    let forced = hints.kind;
    // Clients of the servers this diagnosis may use: the given build VMs,
    // or any server when none is given.
    let wanted = |server: IpAddr| hints.build_vm.is_empty() || hints.build_vm.contains(&server);

    // Without a proxy: an unobservable client in the build VM's subnet is an
    // assumed proxy, the busiest one per build VM.
    if proxy.is_empty() && forced != Some(TopologyKind::Isolated) {
        let observed = observed_hosts(inputs, vantage);
        // Per server, the candidates: (sessions, client).
        let mut per_server: BTreeMap<IpAddr, Vec<(usize, IpAddr)>> = BTreeMap::new();
        let mut server_order: Vec<IpAddr> = Vec::new();
        let mut silent: Vec<IpAddr> = Vec::new();
        for ip in &others {
            let Some(c) = clients.get(ip) else { continue };
            for &(server, n) in &c.servers {
                if !wanted(server)
                    || !(forced == Some(TopologyKind::Proxy) || same_subnet(*ip, server))
                {
                    continue;
                }
                if observed.contains(ip) {
                    if !silent.contains(ip) {
                        silent.push(*ip);
                    }
                    continue;
                }
                let e = per_server.entry(server).or_insert_with(|| {
                    server_order.push(server);
                    Vec::new()
                });
                e.push((n, *ip));
            }
        }
        for ip in &silent {
            evidence.push(format!(
                "{ip} opens :22/:5986 in the build subnet but receives nothing on {PROXY_PORT_WINDOWS}/{PROXY_PORT_LINUX} where its traffic is logged: not a proxy (an admin or jump host)"
            ));
        }
        for server in server_order {
            let Some(cands) = per_server.get(&server) else {
                continue;
            };
            // Most sessions first; ties to the lower address.
            let Some(&(n, chosen)) = cands
                .iter()
                .max_by_key(|(n, ip)| (*n, std::cmp::Reverse(*ip)))
            else {
                continue;
            };
            if proxy.insert(chosen) {
                evidence.push(format!(
                    "proxy {chosen}: opens :22/:5986 to {server} from the same subnet (assumed proxy; pass --topology isolated if it is ACI)"
                ));
            }
            for &(m, other) in cands.iter().filter(|(_, ip)| *ip != chosen) {
                evidence.push(format!(
                    "{other} also opens :22/:5986 to {server} ({m} session(s), the assumed proxy {n}): not taken as the proxy; --proxy chooses"
                ));
            }
        }
    }

    // Build VMs of assumed proxies, and ACI containers.
    let mut assumed: Vec<IpAddr> = Vec::new();
    for ip in &others {
        let Some(c) = clients.get(ip) else { continue };
        let is_proxy = proxy.contains(ip);
        if !is_proxy {
            // With a proxy in the evidence, other clients of 22/5986 are
            // not on the build path; without one, a client that could have
            // been the proxy and was not chosen is an admin's (named above).
            let could_be_proxy = forced == Some(TopologyKind::Proxy)
                || c.servers
                    .iter()
                    .any(|&(server, _)| same_subnet(*ip, server));
            if forced != Some(TopologyKind::Isolated) && (!proxy.is_empty() || could_be_proxy) {
                continue;
            }
        }
        let mut used = false;
        for &(server, _) in c.servers.iter().filter(|(server, _)| wanted(*server)) {
            used = true;
            if !is_proxy && aci.insert(*ip) {
                evidence.push(format!(
                    "ACI {ip}: opens :22/:5986 to {server} directly, from another subnet"
                ));
            }
            if hints.build_vm.is_empty() && build_vm.insert(server) {
                evidence.push(format!("build VM {server}: receives :22/:5986 from {ip}"));
            }
        }
        if used {
            assumed.push(*ip);
        }
    }
    // The assumed proxies' and ACI's sessions to their build VMs vote too.
    if !assumed.is_empty() {
        for s in sessions.iter().filter(|s| {
            s.aib_class(probe_ip) == Some(FlowClass::BuildAnchor)
                && assumed.contains(&s.orig_h)
                && build_vm.contains(&s.resp_h)
        }) {
            votes.port(s.resp_p);
        }
    }

    let roles = Roles {
        proxy: proxy.sorted(),
        build_vm: build_vm.sorted(),
        probe: probe.sorted(),
        private_link_nat: nat.sorted(),
        aci: aci.sorted(),
    };
    (roles, evidence, votes)
}

/// Hosts whose command-port sessions the evidence would show if they had
/// any: the NICs of flow logs and the hosts of per-VM captures.
fn observed_hosts(inputs: &[InputReport], vantage: &[Vantage]) -> FxHashSet<IpAddr> {
    let mut seen: FxHashSet<IpAddr> = inputs
        .iter()
        .flat_map(|i| i.logged_hosts.iter().copied())
        .collect();
    seen.extend(vantage.iter().filter_map(|v| match v {
        Vantage::Host { host } => Some(*host),
        _ => None,
    }));
    seen
}

/// The evidence line naming the command-port responders that are not
/// AIB's proxy (responder, most hosts it opens 22/5986 to in an hour);
/// `None` when there are none.
pub fn noise_line(noise: &mut [(IpAddr, usize)]) -> Option<String> {
    let (named, more) = named_busiest(noise)?;
    Some(format!(
        "not AIB proxies: {named}{more} receive {PROXY_PORT_WINDOWS}/{PROXY_PORT_LINUX} but open :22/:5986 to more than {MAX_FAN_OUT} hosts an hour (noise on the AIB ports; AIB's proxy opens it to its one build VM)"
    ))
}

/// The busiest few of `hosts` (address, hosts reached) named, and
/// " and N more" for the rest; `None` when there are none.
fn named_busiest(hosts: &mut [(IpAddr, usize)]) -> Option<(String, String)> {
    if hosts.is_empty() {
        return None;
    }
    hosts.sort_by_key(|(ip, n)| (std::cmp::Reverse(*n), *ip));
    let named: Vec<String> = hosts
        .iter()
        .take(NAMED)
        .map(|(ip, n)| format!("{ip} ({n} hosts)"))
        .collect();
    let more = hosts.len().saturating_sub(NAMED);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Some((named.join(", "), more))
}

/// The evidence line naming the SSH/WinRM clients that are not AIB's
/// (client, hosts it opens 22/5986 to), the busiest first; `None` when
/// there are none.
pub fn sweepers_line(sweepers: &mut [(IpAddr, usize)]) -> Option<String> {
    let (named, more) = named_busiest(sweepers)?;
    Some(format!(
        "not AIB clients: {named}{more} open :22/:5986 to more than {MAX_FAN_OUT} hosts each (jump or management hosts)"
    ))
}

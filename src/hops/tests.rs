//! Outcomes, statuses, hop membership, stitching and observability on
//! hand-built sessions and topologies (addresses: `topology::testing`).

use super::*;
use crate::aib::Os;
use crate::sessions::ConnState::{self, *};
use crate::sessions::testing::{Build, sessions, tcp, udp};
use crate::topology::Vantage;
use crate::topology::testing::{self as topo, BUILD, NAT, PROXY, ip, isolated_build, proxy_build};

fn out(b: Build) -> Outcome {
    outcome(&b.build())
}

/// A session of the proxy to the build VM's SSH.
fn ssh() -> Build {
    tcp("10.0.0.5:41000", "10.0.0.6:22")
}

/// A TCP session in `state` with `history` and packets both ways.
fn cut(state: ConnState, history: &str) -> Build {
    ssh().state(state).history(history).pkts(6, 5)
}

// ---- outcome: captures --------------------------------------------------------

#[test]
fn capture_attempts_refused_or_unanswered() {
    assert_eq!(out(ssh().refused()), Outcome::Rejected);
    assert_eq!(out(ssh().unanswered()), Outcome::Blocked);
    assert_eq!(
        out(ssh().unanswered().history("S").syn_retransmits(6)),
        Outcome::Blocked
    );
    // SYN then RST or FIN from the originator, never answered.
    assert_eq!(
        out(ssh().state(RSTOS0).history("SR").pkts(2, 0)),
        Outcome::Blocked
    );
    assert_eq!(
        out(ssh().state(SH).history("SF").pkts(2, 0)),
        Outcome::Blocked
    );
}

#[test]
fn capture_sessions_cut_after_data_are_interrupted() {
    // The build VM resets a session that carried data.
    assert_eq!(out(cut(RSTR, "ShADadr")), Outcome::Interrupted);
    // ... but a reset before any data is an answer.
    assert_eq!(out(cut(RSTR, "ShAr")), Outcome::Ok);
    // The proxy gives up with a RST after retransmitting unanswered data.
    assert_eq!(out(cut(RSTO, "ShADadTR")), Outcome::Interrupted);
    // A client closing with a RST after data is normal.
    assert_eq!(out(cut(RSTO, "ShADadR")), Outcome::Ok);
    // Open or half-closed, data retransmitted: the peer went silent.
    for state in [S1, S2, S3] {
        assert_eq!(out(cut(state, "ShADadT")), Outcome::Interrupted, "{state}");
        assert_eq!(out(cut(state, "ShADad")), Outcome::Ok, "{state}");
    }
    assert_eq!(out(ssh().established()), Outcome::Ok);
}

#[test]
fn capture_midstream_sessions_are_ok_only_when_answered() {
    assert_eq!(out(ssh().state(OTH).history("Dd").pkts(3, 2)), Outcome::Ok);
    assert_eq!(
        out(ssh().state(OTH).history("D").pkts(3, 0)),
        Outcome::Blocked
    );
}

#[test]
fn udp_answered_or_not_and_icmp_errors() {
    let dns = || udp("10.0.0.6:53000", "10.1.0.4:53");
    assert_eq!(out(dns().pkts(1, 1)), Outcome::Ok);
    assert_eq!(out(dns().pkts(3, 0)), Outcome::Blocked);
    // Port unreachable for an unanswered query: refused.
    assert_eq!(
        out(dns().pkts(1, 0).icmp_error("10.1.0.4", 3, 3)),
        Outcome::Rejected
    );
    // An unreachable to a TCP SYN outranks its state.
    assert_eq!(
        out(ssh().unanswered().icmp_error("10.0.0.1", 3, 13)),
        Outcome::Rejected
    );
    // An ICMP error about a session that was answered changes nothing.
    assert_eq!(
        out(dns().pkts(2, 1).icmp_error("10.1.0.4", 3, 3)),
        Outcome::Ok
    );
}

// ---- outcome: flow logs -------------------------------------------------------

#[test]
fn flow_log_denies_are_blocked_whatever_else() {
    assert_eq!(out(ssh().flow_deny("UserRule_DenyAll")), Outcome::Blocked);
    // A deny wins over a refusal another view saw.
    assert_eq!(
        out(ssh().flow_deny("UserRule_DenyAll").state(REJ)),
        Outcome::Blocked
    );
    // A refused attempt a flow log allowed.
    assert_eq!(out(ssh().flow_allow("BE").refused()), Outcome::Rejected);
}

#[test]
fn flow_log_end_tuples_by_their_counters() {
    // E,1,74,0,0: one SYN out, nothing back.
    assert_eq!(
        out(ssh().flow_allow("BE").pkts(1, 0).ip_bytes(74, 0)),
        Outcome::Blocked
    );
    // E,1,74,1,54: one SYN out, one RST back.
    assert_eq!(
        out(ssh().flow_allow("BE").pkts(1, 1).ip_bytes(74, 54)),
        Outcome::Rejected
    );
    // The same over IPv6 (a RST is 74 bytes with its Ethernet header).
    assert_eq!(
        out(tcp("[fd00::5]:41000", "[fd00::6]:22")
            .flow_allow("BE")
            .pkts(1, 1)
            .ip_bytes(94, 74)),
        Outcome::Rejected
    );
    // An established flow.
    assert_eq!(
        out(ssh().flow_allow("BCE").pkts(12, 10).ip_bytes(2400, 5600)),
        Outcome::Ok
    );
    // A C tuple counts too: replies, or none.
    assert_eq!(
        out(ssh().flow_allow("BC").pkts(4, 3).ip_bytes(400, 900)),
        Outcome::Ok
    );
    assert_eq!(
        out(ssh().flow_allow("BC").pkts(3, 0).ip_bytes(222, 0)),
        Outcome::Blocked
    );
    // Small answers to UDP are answers, not refusals.
    assert_eq!(
        out(udp("10.0.0.6:53000", "10.1.0.4:53")
            .flow_allow("BE")
            .pkts(1, 1)
            .ip_bytes(74, 54)),
        Outcome::Ok
    );
}

#[test]
fn flow_log_begin_only_allows_are_unknown() {
    // NSG flow logs never count a stateless inbound flow: no failure.
    assert_eq!(out(ssh().flow_allow("B")), Outcome::Unknown);
    assert_eq!(out(ssh().flow_allow("B").pkts(0, 0)), Outcome::Unknown);
}

// ---- status_of ----------------------------------------------------------------

fn status(attempts: usize, blocked: usize, rejected: usize, interrupted: usize) -> HopStatus {
    let mut r = HopReport::new(Hop::ProxyToBuildVm);
    r.attempts = attempts;
    r.blocked = blocked;
    r.rejected = rejected;
    r.interrupted = interrupted;
    r.failed = blocked + rejected + interrupted;
    status_of(&r)
}

#[test]
fn status_of_counts() {
    assert_eq!(status(0, 0, 0, 0), HopStatus::NotObserved);
    assert_eq!(status(3, 0, 0, 0), HopStatus::Ok);
    assert_eq!(status(3, 1, 0, 0), HopStatus::Degraded);
    assert_eq!(status(3, 0, 2, 0), HopStatus::Degraded);
    assert_eq!(status(2, 2, 0, 0), HopStatus::Blocked);
    assert_eq!(status(2, 0, 2, 0), HopStatus::Rejected);
    assert_eq!(status(3, 2, 1, 0), HopStatus::Blocked);
    // A tie of refusals and silences reads as refused.
    assert_eq!(status(2, 1, 1, 0), HopStatus::Rejected);
    // An interruption is the story, whatever else failed or worked.
    assert_eq!(status(4, 2, 0, 1), HopStatus::Interrupted);
    assert_eq!(status(5, 0, 0, 1), HopStatus::Interrupted);
}

// ---- hop_of -------------------------------------------------------------------

#[test]
fn hop_of_each_hop() {
    let proxy = RoleIndex::new(&proxy_build(Some(Os::Linux)));
    let isolated = RoleIndex::new(&isolated_build());
    let hop = |b: Build, r: &RoleIndex| hop_of(&b.build(), r);
    assert_eq!(
        hop(tcp("168.63.129.16:50000", "10.0.0.5:60001"), &proxy),
        Some(Hop::ProbeToProxy)
    );
    assert_eq!(
        hop(tcp("10.0.0.4:50000", "10.0.0.5:60000"), &proxy),
        Some(Hop::AlbToProxy)
    );
    // Any source other than the probe is the command channel.
    assert_eq!(
        hop(tcp("10.0.0.99:50000", "10.0.0.5:60001"), &proxy),
        Some(Hop::AlbToProxy)
    );
    assert_eq!(hop(ssh(), &proxy), Some(Hop::ProxyToBuildVm));
    assert_eq!(
        hop(tcp("10.0.0.5:41000", "10.0.0.6:5986"), &proxy),
        Some(Hop::ProxyToBuildVm)
    );
    assert_eq!(
        hop(tcp("10.0.1.4:41000", "10.0.0.6:22"), &isolated),
        Some(Hop::AciToBuildVm)
    );
    assert_eq!(
        hop(udp("10.0.0.6:53000", "10.1.0.4:53"), &proxy),
        Some(Hop::BuildVmDns)
    );
    assert_eq!(
        hop(tcp("10.0.0.6:53000", "168.63.129.16:53"), &isolated),
        Some(Hop::BuildVmDns)
    );
    assert_eq!(
        hop(tcp("10.0.0.6:53000", "20.60.1.2:443"), &proxy),
        Some(Hop::BuildVmEgress)
    );
}

#[test]
fn hop_of_leaves_out_what_is_not_the_build_path() {
    let proxy = RoleIndex::new(&proxy_build(Some(Os::Linux)));
    let hop = |b: Build| hop_of(&b.build(), &proxy);
    // The command port of a host that is not the proxy, or over UDP.
    assert_eq!(hop(tcp("10.0.0.4:50000", "10.0.0.7:60001")), None);
    assert_eq!(hop(udp("10.0.0.4:50000", "10.0.0.5:60001")), None);
    // SSH to the build VM from a host that is neither proxy nor ACI.
    assert_eq!(hop(tcp("10.0.0.9:41000", "10.0.0.6:22")), None);
    // The proxy's SSH to a host that is not the build VM.
    assert_eq!(hop(tcp("10.0.0.5:41000", "10.0.0.8:22")), None);
    // Platform endpoints, the build's own hosts and UDP are not egress.
    assert_eq!(hop(tcp("10.0.0.6:53000", "168.63.129.16:80")), None);
    assert_eq!(hop(tcp("10.0.0.6:53000", "169.254.169.254:80")), None);
    assert_eq!(hop(tcp("10.0.0.6:53000", "10.0.0.5:8080")), None);
    assert_eq!(hop(udp("10.0.0.6:53000", "20.60.1.2:123")), None);
}

// ---- hops: counts, ports, notes -----------------------------------------------

const PATHS: [&str; 1] = ["segment.pcap"];

fn paths(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| s.to_string()).collect()
}

fn report(r: &[HopReport], h: Hop) -> &HopReport {
    r.iter().find(|x| x.hop == h).unwrap()
}

#[test]
fn every_hop_is_reported_with_its_counts() {
    let s = sessions([
        tcp("10.0.0.5:41000", "10.0.0.6:22").established().at(1),
        tcp("10.0.0.5:41001", "10.0.0.6:22")
            .unanswered()
            .syn_retransmits(6)
            .at(2),
        tcp("10.0.0.5:41002", "10.0.0.6:22").refused().at(3),
        tcp("10.0.0.5:41003", "10.0.0.6:22")
            .state(RSTR)
            .history("ShADadr")
            .pkts(6, 5)
            .at(4),
        tcp("10.0.0.5:41004", "10.0.0.6:22").flow_allow("B").at(5),
    ]);
    let r = hops(&s, &proxy_build(Some(Os::Linux)), &paths(&PATHS));
    assert_eq!(r.iter().map(|x| x.hop).collect::<Vec<_>>(), Hop::PATH);
    let p = report(&r, Hop::ProxyToBuildVm);
    assert_eq!(
        (
            p.attempts,
            p.established,
            p.failed,
            p.blocked,
            p.rejected,
            p.interrupted,
            p.syn_retransmits
        ),
        (5, 3, 3, 1, 1, 1, 6),
        "an interrupted session was established; a Begin-only flow is not a failure"
    );
    assert_eq!(p.status, HopStatus::Interrupted);
    assert_eq!(p.port, [22]);
    assert_eq!(p.sessions.len(), 5);
    assert_eq!(p.observed_by, ["segment.pcap"]);
    assert_eq!(p.note, None);
}

#[test]
fn ports_are_the_ones_seen_else_the_os_ones() {
    let s = sessions([
        tcp("10.0.0.5:41000", "10.0.0.6:5986").established(),
        tcp("10.0.0.5:41001", "10.0.0.6:22").established(),
    ]);
    let r = hops(&s, &proxy_build(Some(Os::Windows)), &paths(&PATHS));
    assert_eq!(report(&r, Hop::ProxyToBuildVm).port, [22, 5986]);
    assert_eq!(report(&r, Hop::AlbToProxy).port, [60000]);
    assert_eq!(report(&r, Hop::ProbeToProxy).port, [60000]);
    assert_eq!(report(&r, Hop::AciToBuildVm).port, [5986]);
    assert_eq!(report(&r, Hop::BuildVmDns).port, [53]);
    assert!(report(&r, Hop::BuildVmEgress).port.is_empty());
    let r = hops(&[], &proxy_build(None), &paths(&PATHS));
    assert_eq!(report(&r, Hop::AlbToProxy).port, [60001]);
    assert_eq!(report(&r, Hop::ProxyToBuildVm).port, [22]);
}

#[test]
fn hops_without_sessions_say_why() {
    // A capture on the proxy: it cannot see the build VM's egress.
    let t = topo::seen_by(
        proxy_build(Some(Os::Linux)),
        vec![Vantage::Host { host: ip(PROXY) }],
    );
    let r = hops(&[], &t, &paths(&["proxy.pcap"]));
    let aci = report(&r, Hop::AciToBuildVm);
    assert_eq!(aci.status, HopStatus::NotObserved);
    assert_eq!(
        aci.note.as_deref(),
        Some("not part of this build's topology")
    );
    assert!(aci.observed_by.is_empty());
    let egress = report(&r, Hop::BuildVmEgress);
    assert_eq!(
        egress.note.as_deref(),
        Some("no capture point or flow log in the evidence could see this hop")
    );
    // Observable and quiet: no note.
    let alb = report(&r, Hop::AlbToProxy);
    assert_eq!(
        (alb.status, alb.note.as_deref()),
        (HopStatus::NotObserved, None)
    );
    // In an isolated build the proxy hops are the other topology's.
    let r = hops(&[], &isolated_build(), &paths(&PATHS));
    for h in [Hop::ProbeToProxy, Hop::AlbToProxy, Hop::ProxyToBuildVm] {
        assert_eq!(
            report(&r, h).note.as_deref(),
            Some("not part of this build's topology"),
            "{h}"
        );
    }
    assert_eq!(report(&r, Hop::AciToBuildVm).note, None);
}

// ---- observed_by --------------------------------------------------------------

#[test]
fn observed_by_follows_each_inputs_vantage() {
    let t = topo::seen_by(
        proxy_build(Some(Os::Linux)),
        vec![
            Vantage::Host { host: ip(PROXY) },
            Vantage::Host { host: ip(BUILD) },
            Vantage::Segment,
            Vantage::Empty,
        ],
    );
    let r = hops(
        &[],
        &t,
        &paths(&["proxy.pcap", "buildvm.pcap", "PT1H.json", "empty.pcap"]),
    );
    let seen = |h: Hop| report(&r, h).observed_by.clone();
    assert_eq!(seen(Hop::ProbeToProxy), ["proxy.pcap", "PT1H.json"]);
    assert_eq!(seen(Hop::AlbToProxy), ["proxy.pcap", "PT1H.json"]);
    assert_eq!(
        seen(Hop::ProxyToBuildVm),
        ["proxy.pcap", "buildvm.pcap", "PT1H.json"]
    );
    assert_eq!(seen(Hop::BuildVmEgress), ["buildvm.pcap", "PT1H.json"]);
    assert_eq!(seen(Hop::BuildVmDns), ["buildvm.pcap", "PT1H.json"]);
}

// ---- stitching ----------------------------------------------------------------

/// A command session reaching the proxy `ms` after T0 (each its own port).
fn command(k: u16, ms: i64) -> Build {
    tcp(&format!("{NAT}:{}", 50000 + k), &format!("{PROXY}:60001"))
        .established()
        .at_ms(ms)
}

/// The proxy's session to the build VM, `ms` after T0.
fn forward(k: u16, ms: i64) -> Build {
    tcp(&format!("{PROXY}:{}", 41000 + k), &format!("{BUILD}:22"))
        .established()
        .at_ms(ms)
}

fn stitched(v: Vec<Build>) -> (Option<Stitching>, HopStatus) {
    stitched_in(proxy_build(Some(Os::Linux)), v)
}

fn stitched_in(t: Topology, v: Vec<Build>) -> (Option<Stitching>, HopStatus) {
    let inputs: Vec<String> = (0..t.vantage.len()).map(|i| format!("{i}.pcap")).collect();
    let r = hops(&sessions(v), &t, &inputs);
    let p = report(&r, Hop::ProxyToBuildVm);
    (p.stitching, p.status)
}

fn st(commands: usize, forwarded: usize, answered: usize) -> Option<Stitching> {
    Some(Stitching {
        commands,
        forwarded,
        answered,
    })
}

#[test]
fn stitching_pairs_within_the_window_and_the_skew() {
    assert_eq!(
        stitched(vec![command(0, 10_000), forward(0, 11_000)]).0,
        st(1, 1, 1)
    );
    assert_eq!(
        stitched(vec![command(0, 10_000), forward(0, 15_000)]).0,
        st(1, 1, 1),
        "the window's end"
    );
    assert_eq!(
        stitched(vec![command(0, 10_000), forward(0, 15_001)]).0,
        st(1, 0, 0),
        "past the window"
    );
    assert_eq!(
        stitched(vec![command(0, 10_000), forward(0, 8_000)]).0,
        st(1, 1, 1),
        "the other capture's clock 2 s behind"
    );
    assert_eq!(
        stitched(vec![command(0, 10_000), forward(0, 7_999)]).0,
        st(1, 0, 0),
        "beyond the skew"
    );
}

#[test]
fn stitching_uses_each_forwarding_once() {
    assert_eq!(
        stitched(vec![command(0, 0), command(1, 500), forward(0, 1_000)]).0,
        st(2, 1, 1)
    );
    assert_eq!(
        stitched(vec![
            command(0, 0),
            command(1, 500),
            forward(0, 1_000),
            forward(1, 1_500)
        ])
        .0,
        st(2, 2, 2)
    );
}

#[test]
fn stitching_counts_what_the_build_vm_answered() {
    let (s, status) = stitched(vec![
        command(0, 0),
        command(1, 100),
        command(2, 200),
        command(3, 300),
        forward(0, 1_000).unanswered(),
        forward(1, 1_100).refused(),
        forward(2, 1_200).state(RSTR).history("ShADadr"),
        forward(3, 1_300).flow_allow("B"),
    ]);
    assert_eq!(
        s,
        st(4, 4, 2),
        "interrupted and Begin-only count as answered"
    );
    assert_eq!(status, HopStatus::Interrupted);
}

#[test]
fn stitching_counts_only_commands_that_got_through() {
    // Blocked and refused command sessions are not commands; a Begin-only
    // flow-log one is.
    let (s, _) = stitched(vec![
        command(0, 0).unanswered(),
        command(1, 100).refused(),
        command(2, 200).flow_allow("B"),
        forward(0, 1_000),
    ]);
    assert_eq!(s, st(1, 1, 1));
    let (s, status) = stitched(vec![command(0, 0).unanswered(), forward(0, 1_000)]);
    assert_eq!((s, status), (None, HopStatus::Ok));
}

#[test]
fn stitching_follows_the_proxy_the_command_reached() {
    let mut t = proxy_build(Some(Os::Linux));
    t.roles.proxy.push(ip("10.0.0.7"));
    let t = topo::seen_by(t, vec![Vantage::Segment]);
    let other = tcp("10.0.0.7:41000", "10.0.0.6:22").established().at(1);
    assert_eq!(
        stitched_in(t.clone(), vec![command(0, 0), other.clone()]).0,
        st(1, 0, 0)
    );
    assert_eq!(
        stitched_in(t, vec![command(0, 0), other, forward(0, 1_500)]).0,
        st(1, 1, 1)
    );
}

#[test]
fn commands_and_no_forwarding_is_missing_where_observable() {
    let (s, status) = stitched(vec![command(0, 0), command(1, 60_000)]);
    assert_eq!((s, status), (st(2, 0, 0), HopStatus::Missing));
    // A capture point that saw the commands but not the proxy's side (a
    // capture on the Private Link NAT's host, were there one).
    let t = topo::seen_by(
        proxy_build(Some(Os::Linux)),
        vec![Vantage::Host { host: ip(NAT) }],
    );
    let (s, status) = stitched_in(t, vec![command(0, 0)]);
    assert_eq!((s, status), (st(1, 0, 0), HopStatus::NotObserved));
}

#[test]
fn stitching_is_absent_without_commands() {
    assert_eq!(stitched(vec![forward(0, 0)]), (None, HopStatus::Ok));
}

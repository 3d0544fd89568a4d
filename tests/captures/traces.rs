//! Conformance: aibnet's sessions against what Zeek, tcpdump, tshark and
//! capinfos say about the public traces in `tests/data/traces/`.
//!
//! Every Zeek `conn.log` baseline there is parsed and compared row by row
//! (as a multiset: Zeek logs in removal order, aibnet in start order) on
//! the fields the baseline has: addresses, ports, protocol, state, history,
//! packets and IP bytes per direction, payload bytes and duration where Zeek
//! set them. Where aibnet deliberately differs from Zeek, the test rewrites
//! the Zeek rows by a named rule and its comment says why; nothing else is
//! tolerated. `tests/TRACES.md` summarises the outcome per trace.
//!
//! Second opinions: per conversation, the frame counts in each direction of
//! `tshark -z conv,tcp -z conv,udp` and, per file, the packet count of
//! `capinfos` (both under each trace's `derived/`).

use aibnet::analyze::{Analysis, analyze_paths};
use aibnet::sessions::{ConnState, Proto, Session};
use aibnet::time::rfc3339;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{repo, trace, traces};

fn analyze(rel: &[&str]) -> Analysis {
    let paths: Vec<PathBuf> = rel.iter().map(|r| trace(r)).collect();
    analyze_paths(&paths, &Default::default())
}

fn sessions(rel: &str) -> Vec<Session> {
    let a = analyze(&[rel]);
    assert!(a.skipped.is_empty(), "{rel}: {:?}", a.skipped);
    a.sessions
}

/// One conn.log row, as a map from Zeek field name to value.
type Row = BTreeMap<String, String>;

/// Fields compared when the baseline has them. `ts`, `uid`, `service`,
/// `local_*`, `tunnel_parents` and `ip_proto` are not session facts aibnet
/// reports.
const COMPARED: [&str; 15] = [
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "missed_bytes",
];

/// Parse a Zeek log: either the full ASCII format (`#fields` header) or a
/// `zeek-cut -m` table (first line names the fields).
fn zeek_log(rel: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(trace(rel)).unwrap();
    let mut fields: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            fields = f.split('\t').map(str::to_string).collect();
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if fields.is_empty() {
            fields = line.split('\t').map(str::to_string).collect();
            continue;
        }
        let row: Row = fields
            .iter()
            .cloned()
            .zip(line.split('\t').map(str::to_string))
            .filter(|(k, _)| COMPARED.contains(&k.as_str()))
            .collect();
        rows.push(row);
    }
    assert!(!rows.is_empty(), "{rel}: no rows");
    rows
}

/// aibnet's session in Zeek's field names.
fn as_row(s: &Session) -> Row {
    let mut r = Row::new();
    let mut put = |k: &str, v: String| {
        r.insert(k.to_string(), v);
    };
    put("id.orig_h", s.orig_h.to_string());
    put("id.orig_p", s.orig_p.to_string());
    put("id.resp_h", s.resp_h.to_string());
    put("id.resp_p", s.resp_p.to_string());
    put("proto", s.proto.as_str().to_string());
    put("duration", format!("{:.6}", s.duration_s()));
    put("orig_bytes", s.orig.bytes.to_string());
    put("resp_bytes", s.resp.bytes.to_string());
    put("conn_state", s.state.as_str().to_string());
    put("history", s.history.as_str().to_string());
    put("orig_pkts", s.orig.pkts.to_string());
    put("orig_ip_bytes", s.orig.ip_bytes.to_string());
    put("resp_pkts", s.resp.pkts.to_string());
    put("resp_ip_bytes", s.resp.ip_bytes.to_string());
    put("missed_bytes", s.missed_bytes().to_string());
    r
}

/// Compare Zeek's rows with aibnet's sessions as multisets, on the fields
/// each Zeek row has. Zeek writes `-` for duration and byte counts of
/// connections whose duration is 0; those are not compared.
fn assert_rows(what: &str, zeek: &[Row], ours: &[Session]) {
    let render = |r: &Row, keys: &[String]| -> String {
        keys.iter()
            .map(|k| format!("{k}={}", r.get(k).map_or("?", String::as_str)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut want: Vec<String> = Vec::new();
    let mut got: Vec<String> = Vec::new();
    let mut ours_rows: Vec<Row> = ours.iter().map(as_row).collect();
    for z in zeek {
        let keys: Vec<String> = z
            .iter()
            .filter(|(_, v)| v.as_str() != "-")
            .map(|(k, _)| k.clone())
            .collect();
        want.push(render(z, &keys));
        // Pair with an aibnet session of the same connection (same ids and
        // the same rendered row if there is one) so the key sets line up.
        let ids = ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"];
        let same_ids = |o: &Row| ids.iter().all(|k| o.get(*k) == z.get(*k));
        let pos = ours_rows
            .iter()
            .position(|o| same_ids(o) && render(o, &keys) == render(z, &keys))
            .or_else(|| ours_rows.iter().position(same_ids));
        if let Some(i) = pos {
            got.push(render(&ours_rows.remove(i), &keys));
        }
    }
    let all: Vec<String> = COMPARED.iter().map(|k| k.to_string()).collect();
    got.extend(ours_rows.iter().map(|o| render(o, &all)));
    want.sort();
    got.sort();
    if want != got {
        let mut msg = format!("{what}: aibnet differs from Zeek\n~~~ Zeek\n");
        for w in &want {
            if !got.contains(w) {
                msg += &format!("  {w}\n");
            }
        }
        msg += "~~~ aibnet\n";
        for g in &got {
            if !want.contains(g) {
                msg += &format!("  {g}\n");
            }
        }
        panic!("{msg}~~~");
    }
    assert_eq!(zeek.len(), ours.len(), "{what}: session count");
}

// ---------------------------------------------------------------------------
// Documented rewrites of Zeek rows, one per deliberate difference.

/// aibnet keeps one unanswered attempt as one session. Zeek's attempt timer
/// (`tcp_attempt_delay`, 5 s) removes a connection still waiting for its
/// SYN-ACK 5 s after the SYN, so the originator's later packets (SYN
/// retransmissions, or data in a one-sided capture) start a second,
/// SYN-less connection (zeek#863). "The client tried for 9 s and nothing
/// answered" is the evidence a diagnosis needs, so aibnet does not split:
/// a Zeek `S0` row followed by a row of the same 4-tuple without a SYN is
/// merged into one (counts added, history letters joined, Zeek's state of
/// the later part). Durations are not compared on merged rows.
fn merge_attempt_splits(rows: Vec<Row>) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    for r in rows {
        let ids = ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto"];
        let prev = out.iter_mut().rev().find(|p| {
            ids.iter().all(|k| p.get(*k) == r.get(*k))
                && p["conn_state"] == "S0"
                && !r["history"].contains('S')
        });
        let Some(p) = prev else {
            out.push(r);
            continue;
        };
        for k in [
            "orig_pkts",
            "orig_ip_bytes",
            "resp_pkts",
            "resp_ip_bytes",
            "orig_bytes",
            "resp_bytes",
        ] {
            let sum = p[k].parse::<u64>().unwrap() + r[k].parse::<u64>().unwrap();
            p.insert(k.into(), sum.to_string());
        }
        let mut h = p["history"].clone();
        for c in r["history"].chars() {
            if !h.contains(c) {
                h.push(c);
            }
        }
        p.insert("history".into(), h);
        p.insert("conn_state".into(), r["conn_state"].clone());
        p.insert("duration".into(), "-".into());
    }
    out
}

// ---------------------------------------------------------------------------
// Zeek conn.log baselines.

#[test]
fn zeek_missing_syn_flip() {
    // A capture starting after the SYN: Zeek flips to the server port and
    // marks the history with '^'.
    let z = zeek_log("zeek-missing-syn-flip/expected.conn.log");
    assert_rows(
        "missing-syn",
        &z,
        &sessions("zeek-missing-syn-flip/missing-syn.pcap"),
    );
}

#[test]
fn zeek_pcapng_multi_interface() {
    // Two interfaces (docker0 and a Windows host) merged by mergecap.
    let z = zeek_log("zeek-pcapng-multi-interface/expected.conn.log");
    assert_rows(
        "pcapng-multi-interface",
        &z,
        &sessions("zeek-pcapng-multi-interface/pcapng-multi-interface.pcapng"),
    );
}

#[test]
fn zeek_pop3_rejects_and_port_reuse() {
    // Six REJ rows on two 4-tuples (each retried three times after a RST:
    // port reuse starts a new session), five SF sessions.
    let z = zeek_log("zeek-pop3-rej/expected.conn.log");
    let ours = sessions("zeek-pop3-rej/pop3.pcap");
    assert_rows("pop3", &z, &ours);
    assert_eq!(ours.iter().filter(|s| s.state == ConnState::REJ).count(), 6);
}

#[test]
fn zeek_rxmit_history_fast_retransmit() {
    // Snaplen 54: no segment's payload was captured in full, so Zeek's
    // reassembler sees every acknowledged byte as missing: 'G'/'g' and
    // missed_bytes 24257 (issue 20's gap rule, without reassembly here),
    // the same sequence-space sizes, retransmission letter and RSTO.
    let z = zeek_log("zeek-rxmit-history/expected.retransmit-fast009.conn.log");
    assert_rows(
        "retransmit-fast009",
        &z,
        &sessions("zeek-rxmit-history/retransmit-fast009.pcap"),
    );
}

#[test]
fn zeek_rxmit_history_wikipedia() {
    // 34 rows: S1, UDP SF/S0 (DNS, mDNS, NetBIOS, LLMNR over IPv4 and
    // IPv6), a SYN-less OTH and a lone SYN-ACK flipped to '^h'.
    let z = zeek_log("zeek-rxmit-history/expected.wikipedia.conn.log");
    assert_rows(
        "wikipedia",
        &z,
        &sessions("zeek-rxmit-history/wikipedia.pcap"),
    );
}

#[test]
fn zeek_ssh_basic() {
    // 25 rows, including RSTR on :2200 and a SYN-less SF on :8118.
    let z = zeek_log("zeek-ssh-basic/expected.conn.log");
    assert_rows("ssh", &z, &sessions("zeek-ssh-basic/ssh.pcap"));
}

#[test]
fn zeek_ssh_half_duplex_client_side() {
    // Only the client's packets: Zeek's 25 rows become 20 sessions, the
    // five attempts Zeek split at 5 s kept whole (see merge_attempt_splits).
    let z = merge_attempt_splits(zeek_log(
        "zeek-ssh-half-duplex/expected.client-side.conn.log",
    ));
    assert_eq!(z.len(), 20);
    assert_rows(
        "client-side half duplex",
        &z,
        &sessions("zeek-ssh-half-duplex/ssh.client-side-half-duplex.pcap"),
    );
}

#[test]
fn zeek_ssh_half_duplex_server_side() {
    // Only the server's packets: every session flipped, SHR.
    let z = zeek_log("zeek-ssh-half-duplex/expected.server-side.conn.log");
    assert_rows(
        "server-side half duplex",
        &z,
        &sessions("zeek-ssh-half-duplex/ssh.server-side-half-duplex.pcap"),
    );
}

#[test]
fn zeek_tcp_edge_inactivity_timeout() {
    // Data, ACK, then the same data again exactly 300 s after the last
    // packet. Zeek's inactivity timer fires when packet time reaches
    // last + 300 s, before that packet: two connections (`conn-all`, run
    // with every due timer expired). The `conn-limited` baseline (one row
    // "DaT") is an artefact of Zeek's per-packet timer budget
    // (max_timer_expires), not of its connection semantics.
    let z = zeek_log("zeek-tcp-edge/expected.retransmit-timeout.conn-all.log");
    assert_rows(
        "retransmit-timeout",
        &z,
        &sessions("zeek-tcp-edge/retransmit-timeout.pcapng"),
    );
}

#[test]
fn zeek_tcp_edge_one_sided_flip() {
    // SYN-ACK, ACK, FIN from the server side only: flipped, sizes flipped.
    let z = zeek_log("zeek-tcp-edge/expected.one-sided-2745.conn.log");
    assert_rows(
        "one-sided-2745",
        &z,
        &sessions("zeek-tcp-edge/one-sided-2745.pcap"),
    );
}

#[test]
fn zeek_tcp_edge_bad_checksum_syn() {
    // Zeek (run without -C) drops the SYN for its bad TCP checksum: history
    // "C", OTH, no packets. aibnet validates no checksums, on purpose:
    // captures taken on Azure VMs see outgoing packets before checksum
    // offload fills them in, so most would be "bad". The SYN is an attempt.
    let z = zeek_log("zeek-tcp-edge/expected.syn-bad.conn.log");
    assert_eq!(z[0]["history"], "C");
    let ours = sessions("zeek-tcp-edge/syn-bad.pcap");
    assert_eq!(ours.len(), 1);
    let s = &ours[0];
    assert_eq!(
        (s.state, s.history.as_str(), s.orig.pkts, s.resp.pkts),
        (ConnState::S0, "S", 1, 0)
    );
}

#[test]
fn zeek_tcp_edge_empty_pcap() {
    // A 24-byte file header and nothing else: read, no packets, no error.
    let a = analyze(&["zeek-tcp-edge/empty.pcap"]);
    assert!(a.skipped.is_empty(), "{:?}", a.skipped);
    assert_eq!((a.packets(), a.sessions.len()), (0, 0));
    assert!(a.anything_read());
}

#[test]
fn zeek_vlan_q_in_q() {
    let z = zeek_log("zeek-vlan/expected.q-in-q.conn.log");
    assert_rows("q-in-q", &z, &sessions("zeek-vlan/q-in-q.pcap"));
}

#[test]
fn zeek_vlan_and_mpls() {
    // 802.1Q, MPLS label stacks and plain Ethernet in one file.
    let z = zeek_log("zeek-vlan/expected.mixed-vlan-mpls.conn.log");
    assert_rows(
        "mixed-vlan-mpls",
        &z,
        &sessions("zeek-vlan/mixed-vlan-mpls.pcap"),
    );
}

#[test]
fn zeek_vlan_0() {
    // VLAN id 0 (priority tag): the baseline only shows the tag; the
    // session is one complete HTTP exchange.
    let ours = sessions("zeek-vlan/http-vlan-0.pcap");
    assert_eq!(ours.len(), 1);
    let s = &ours[0];
    assert_eq!(
        (s.state, s.history.as_str(), s.orig.pkts, s.resp.pkts),
        (ConnState::SF, "ShADadFf", 7, 7)
    );
    assert_eq!((s.orig_p, s.resp_p), (59856, 80));
}

#[test]
fn zeek_conn_state_rst_behaviour() {
    // The baseline prints "history, conn_state" for four traces in order.
    let text =
        std::fs::read_to_string(trace("zeek-conn-state-rst/expected.history-state.out")).unwrap();
    let want: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let files = [
        "single-rst.pcap",
        "syn-then-rst.pcap",
        "syn-then-ack-then-rst.pcap",
        "syn-then-stuff-then-rst.pcap",
    ];
    assert_eq!(want.len(), files.len());
    for (f, w) in files.iter().zip(want) {
        let ours = sessions(&format!("zeek-conn-state-rst/{f}"));
        assert_eq!(ours.len(), 1, "{f}");
        let got = format!("{}, {}", ours[0].history.as_str(), ours[0].state);
        assert_eq!(got, w, "{f}");
    }
}

/// `conn_id: [orig_h=A, orig_p=N/icmp, resp_h=B, resp_p=M/icmp, ...]` from
/// Zeek's event printouts.
fn icmp_conn_ids(rel: &str) -> Vec<(String, u16, String, u16)> {
    let text = std::fs::read_to_string(trace(rel)).unwrap();
    let field = |line: &str, name: &str| -> String {
        let at = line.find(&format!("{name}=")).unwrap() + name.len() + 1;
        line[at..]
            .split([',', '/', ']'])
            .next()
            .unwrap()
            .to_string()
    };
    text.lines()
        .map(|l| l.trim_start().trim_start_matches("conn_id: "))
        .filter(|l| l.starts_with("[orig_h=") && l.contains("/icmp"))
        .map(|l| {
            (
                field(l, "orig_h"),
                field(l, "orig_p").parse().unwrap(),
                field(l, "resp_h"),
                field(l, "resp_p").parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn zeek_icmp_sessions_are_keyed_like_zeek() {
    // Zeek keys ICMP by (type, counterpart type or code): every conn_id its
    // events name is one aibnet session with the same ids. Zeek writes no
    // history for ICMP; aibnet writes 'D'/'d' for request/reply directions
    // (documented in TRACES.md), so history is not compared here.
    let mut ids = icmp_conn_ids("zeek-icmp-unreach/expected.icmp-events.out");
    ids.extend(icmp_conn_ids("zeek-icmp-unreach/expected.icmp-context.out"));
    ids.sort();
    ids.dedup();
    let mut ours = Vec::new();
    for f in [
        "icmp-destunreach-udp.pcap",
        "icmp-destunreach-ip.pcap",
        "icmp-destunreach-no-context.pcap",
        "icmp-timeexceeded.pcap",
        "icmp-ping.pcap",
    ] {
        for s in sessions(&format!("zeek-icmp-unreach/{f}")) {
            assert_eq!(s.proto, Proto::Icmp);
            assert_eq!(s.state, ConnState::OTH);
            ours.push((
                s.orig_h.to_string(),
                s.orig_p,
                s.resp_h.to_string(),
                s.resp_p,
            ));
        }
    }
    ours.sort();
    ours.dedup();
    assert_eq!(ours, ids);
    // The ping: two requests, two replies, one session, 56 payload bytes each.
    let ping = sessions("zeek-icmp-unreach/icmp-ping.pcap");
    assert_eq!(
        (ping[0].orig.pkts, ping[0].resp.pkts, ping[0].orig.bytes),
        (2, 2, 112)
    );
}

#[test]
fn icmp_error_is_linked_to_the_session_it_names() {
    // icmp-destunreach-udp.pcap holds a port unreachable about a DNS reply
    // 192.168.1.1:53 -> 192.168.1.102:59207. Put the datagram it quotes in
    // front of it (rebuilt from the quoted header) and the error must land
    // on that UDP session instead of starting an ICMP one.
    let bytes = std::fs::read(trace("zeek-icmp-unreach/icmp-destunreach-udp.pcap")).unwrap();
    let file = crate::common::bytes::quoted_datagram_first(&bytes);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("udp-then-unreachable.pcap");
    std::fs::write(&path, &file).unwrap();
    let a = analyze_paths(&[path], &Default::default());
    assert_eq!(a.sessions.len(), 1, "{:?}", a.sessions);
    let s = &a.sessions[0];
    assert_eq!(s.proto, Proto::Udp);
    // The reply from :53 is flipped towards the server port, as Zeek does.
    assert_eq!(
        (
            s.orig_h.to_string(),
            s.orig_p,
            s.resp_h.to_string(),
            s.resp_p
        ),
        (
            "192.168.1.102".to_string(),
            59207,
            "192.168.1.1".to_string(),
            53
        )
    );
    assert_eq!(s.history.as_str(), "^d");
    let e = s.icmp_error.expect("linked ICMP error");
    assert_eq!((e.icmp_type, e.code), (3, 3));
    assert_eq!(e.from.to_string(), "192.168.1.102");
    assert!(e.describe().starts_with("port unreachable"));
}

#[test]
fn zeek_linux_sll2() {
    // `tcpdump -i any` format: an IPv4 and an IPv6 echo on loopback
    // (request and reply share one session), and ARP (not a session).
    let mut ids = icmp_conn_ids("zeek-linux-sll/expected.linux_dlt_sll2.events.out");
    ids.dedup();
    let ours = sessions("zeek-linux-sll/linux_dlt_sll2.pcap");
    let got: Vec<_> = ours
        .iter()
        .map(|s| {
            (
                s.orig_h.to_string(),
                s.orig_p,
                s.resp_h.to_string(),
                s.resp_p,
            )
        })
        .collect();
    assert_eq!(got, ids);
    for s in &ours {
        assert_eq!((s.orig.pkts, s.resp.pkts), (1, 1));
    }
    assert_eq!(
        ours.iter().map(|s| s.proto).collect::<Vec<_>>(),
        [Proto::Icmp, Proto::Icmpv6]
    );
}

#[test]
fn zeek_linux_sll_arp_only() {
    let a = analyze(&["zeek-linux-sll/linuxsll-arp.pcap"]);
    assert_eq!((a.packets(), a.sessions.len()), (12, 0));
    assert_eq!(a.inputs[0].not_decoded.get("not_ip"), Some(&12));
}

// ---------------------------------------------------------------------------
// tcpdump baselines: packet listings.

/// `(timestamp, src, dst, flags)` of each line of a tcpdump listing.
fn tcpdump_lines(rel: &str) -> Vec<(String, String, String, String)> {
    let text = std::fs::read_to_string(trace(rel)).unwrap();
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let ip = w.iter().position(|x| *x == "IP")?;
            let flags = l
                .split("Flags [")
                .nth(1)
                .and_then(|f| f.split(']').next())
                .unwrap_or("")
                .to_string();
            Some((
                w[1..ip].join(" "),
                w[ip + 1].to_string(),
                w[ip + 3].trim_end_matches(':').to_string(),
                flags,
            ))
        })
        .collect()
}

/// tcpdump writes `a.b.c.d.port`.
fn tcpdump_endpoint(s: &Session, orig: bool) -> String {
    let (h, p) = if orig {
        (s.orig_h, s.orig_p)
    } else {
        (s.resp_h, s.resp_p)
    };
    format!("{h}.{p}")
}

#[test]
fn tcpdump_nanosecond_pcap_over_linux_sll() {
    let lines = tcpdump_lines("tcpdump-nano/expected.tcp-handshake-nano-tt.out");
    let ours = sessions("tcpdump-nano/tcp-handshake-nano.pcap");
    assert_eq!(ours.len(), 1);
    let s = &ours[0];
    // Nanosecond precision kept end to end: 1418145369.924505488.
    assert_eq!(s.ts_digits, 9);
    assert_eq!(lines[0].0, "1418145369.924505488");
    assert_eq!(s.first_ts, 1_418_145_369_924_505_488);
    assert_eq!(s.last_ts, 1_418_145_370_052_115_157);
    assert_eq!(
        rfc3339(s.first_ts, s.ts_digits),
        "2014-12-09T17:16:09.924505488Z"
    );
    let from_orig = lines
        .iter()
        .filter(|l| l.1 == tcpdump_endpoint(s, true))
        .count();
    assert_eq!(
        (s.orig.pkts, s.resp.pkts),
        (from_orig as u64, (lines.len() - from_orig) as u64)
    );
    // tcpdump -q prints no flags; the three packets are the handshake.
    assert_eq!((s.state, s.history.as_str()), (ConnState::S1, "ShA"));
}

#[test]
fn tcpdump_rst_with_data_and_truncated_copy() {
    // One RST+ACK carrying 58 bytes, from :80. The session is flipped to
    // the server port; Zeek's rules give RSTRH and "^rt": RST payload is not
    // sequence space, so the data counts as a retransmission ('t'). The
    // copy cut by the snapshot length ("[|tcp]") gives the same session:
    // lengths come from the IP header.
    let lines = tcpdump_lines("tcpdump-rst-trunc/expected.tcp_rst_data.out");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].3, "R.");
    let full = sessions("tcpdump-rst-trunc/tcp_rst_data.pcap");
    let cut = sessions("tcpdump-rst-trunc/tcp_rst_data-trunc.pcap");
    assert_eq!(full.len(), 1);
    let s = &full[0];
    assert_eq!(tcpdump_endpoint(s, false), lines[0].1);
    assert_eq!(
        (
            s.state,
            s.history.as_str(),
            s.orig.pkts,
            s.resp.pkts,
            s.resp.ip_bytes
        ),
        (ConnState::RSTRH, "^rt", 0, 1, 98)
    );
    assert_eq!(format!("{full:?}"), format!("{cut:?}"));
}

#[test]
fn tcpdump_empty_pcapng() {
    // tcpdump prints nothing and no error.
    let a = analyze(&["tcpdump-rst-trunc/empty.pcapng"]);
    assert!(a.skipped.is_empty(), "{:?}", a.skipped);
    assert_eq!((a.packets(), a.sessions.len()), (0, 0));
}

#[test]
fn tcpdump_ssh() {
    let lines = tcpdump_lines("tcpdump-ssh/expected.ssh.out");
    assert_eq!(lines.len(), 54);
    let ours = sessions("tcpdump-ssh/ssh.pcap");
    assert_eq!(ours.len(), 1);
    let s = &ours[0];
    let from_orig = lines
        .iter()
        .filter(|l| l.1 == tcpdump_endpoint(s, true))
        .count() as u64;
    assert_eq!((s.orig.pkts, s.resp.pkts), (from_orig, 54 - from_orig));
    assert_eq!(lines[0].3, "S");
    assert_eq!(lines[0].1, tcpdump_endpoint(s, true));
    // Line 49 re-sends 5186:5282 with FIN ("FP."): the 'T'. Both FINs are
    // acknowledged: SF. Payload bytes from the sequence numbers tcpdump
    // prints: 5282 from the client, 3312 from the server.
    assert_eq!(lines[48].3, "FP.");
    assert_eq!(
        (s.state, s.history.as_str(), s.orig.bytes, s.resp.bytes),
        (ConnState::SF, "ShADadFTf", 5281, 3311)
    );
    assert_eq!(
        rfc3339(s.first_ts, s.ts_digits),
        "2018-12-23T10:50:09.891237Z"
    );
}

// ---------------------------------------------------------------------------
// pcap-parser's assets: file-format coverage.

#[test]
fn pcap_parser_assets_formats() {
    // (file, packets, sessions)
    let cases = [
        ("ntp.pcap", 12, 6),
        ("test001-le.pcapng", 4, 2),
        ("test001-be.pcapng", 4, 2),
        ("test010-le.pcapng", 4, 2), // Simple Packet Blocks
        ("test016-le.pcapng", 4, 3),
        ("test016-be.pcapng", 4, 3),
        ("test017-le.pcapng", 0, 0), // custom blocks only
        ("modified-format.pcap", 1, 1),
        ("err-buffertoosmall.pcapng", 27, 1),
        // 1289: UDP DNS connections end by Zeek's 10 s DNS timer (issue 20).
        ("wireshark_samples-test.pcapng", 5898, 1289),
    ];
    for (f, packets, n) in cases {
        let a = analyze(&[&format!("pcap-parser-assets/{f}")]);
        assert!(a.skipped.is_empty(), "{f}: {:?}", a.skipped);
        assert_eq!((a.packets(), a.sessions.len()), (packets, n), "{f}");
    }
    // Big- and little-endian copies of one capture give the same sessions.
    for stem in ["test001", "test016"] {
        let le = sessions(&format!("pcap-parser-assets/{stem}-le.pcapng"));
        let be = sessions(&format!("pcap-parser-assets/{stem}-be.pcapng"));
        assert_eq!(format!("{le:?}"), format!("{be:?}"), "{stem}");
    }
    // err-buffertoosmall is only an error for a reader with a 1 KiB buffer:
    // it is one complete HTTPS session.
    let s = &sessions("pcap-parser-assets/err-buffertoosmall.pcapng")[0];
    assert_eq!((s.state, s.history.as_str()), (ConnState::SF, "ShADadFf"));
}

// ---------------------------------------------------------------------------
// Second opinions: capinfos and tshark for every trace.

/// Every capture among the traces, with its `derived/` prefix.
fn all_captures() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(traces()).unwrap().flatten() {
        if !d.path().is_dir() {
            continue;
        }
        let derived = d.path().join("derived");
        for f in std::fs::read_dir(d.path()).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            if name.contains(".pcap") {
                out.push((f.path(), derived.join(&name)));
            }
        }
    }
    out.sort();
    assert!(out.len() >= 40, "{} captures", out.len());
    out
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", p.display()))
}

#[test]
fn capinfos_packet_counts() {
    for (cap, derived) in all_captures() {
        let tsv = std::fs::read_to_string(with_suffix(&derived, ".capinfos.tsv")).unwrap();
        let cols: Vec<&str> = tsv.trim_end().split('\t').collect();
        let want: u64 = cols[6].parse().unwrap();
        let a = analyze_paths(std::slice::from_ref(&cap), &Default::default());
        assert_eq!(a.packets(), want, "{}", cap.display());
    }
}

/// tshark's conversations: (proto, (A, B)) → (frames B→A, frames A→B).
fn tshark_conversations(path: &Path) -> BTreeMap<(String, String, String), (u64, u64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = BTreeMap::new();
    let mut proto = String::new();
    for line in text.lines() {
        if line.ends_with(" Conversations") {
            proto = line.split_whitespace().next().unwrap().to_lowercase();
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() < 6 || w[1] != "<->" {
            continue;
        }
        // A <-> B  framesBA bytes unit  framesAB bytes unit ...
        let ba: u64 = w[3].parse().unwrap();
        let ab_at = if w[5] == "bytes" || w[5] == "kB" || w[5] == "MB" {
            6
        } else {
            5
        };
        let ab: u64 = w[ab_at].parse().unwrap();
        out.insert(
            (proto.clone(), w[0].to_string(), w[2].to_string()),
            (ba, ab),
        );
    }
    out
}

/// `host:port` as tshark writes it (IPv6 without brackets).
fn tshark_endpoint(h: std::net::IpAddr, p: u16) -> String {
    format!("{h}:{p}")
}

#[test]
fn tshark_conversation_frame_counts() {
    // Summed over the sessions of one 5-tuple (tshark does not split on
    // timeouts or port reuse), aibnet's packets in each direction equal
    // tshark's frames in each direction, for every TCP/UDP conversation
    // of every trace.
    let mut checked = 0;
    for (cap, derived) in all_captures() {
        let conv = tshark_conversations(&with_suffix(&derived, ".tshark-conv.txt"));
        let a = analyze_paths(std::slice::from_ref(&cap), &Default::default());
        // (proto, lower endpoint, upper endpoint) → packets (lower→upper, upper→lower)
        let mut ours: BTreeMap<(String, String, String), (u64, u64)> = BTreeMap::new();
        for s in &a.sessions {
            if !matches!(s.proto, Proto::Tcp | Proto::Udp) {
                continue;
            }
            let o = tshark_endpoint(s.orig_h, s.orig_p);
            let r = tshark_endpoint(s.resp_h, s.resp_p);
            let key = (
                s.proto.as_str().to_string(),
                o.clone().min(r.clone()),
                o.clone().max(r),
            );
            let e = ours.entry(key.clone()).or_default();
            if key.1 == o {
                e.0 += s.orig.pkts;
                e.1 += s.resp.pkts;
            } else {
                e.0 += s.resp.pkts;
                e.1 += s.orig.pkts;
            }
        }
        let mut theirs: BTreeMap<(String, String, String), (u64, u64)> = BTreeMap::new();
        for ((proto, a_ep, b_ep), (ba, ab)) in conv {
            let (lo, hi, lohi, hilo) = if a_ep <= b_ep {
                (a_ep, b_ep, ab, ba)
            } else {
                (b_ep, a_ep, ba, ab)
            };
            let e = theirs.entry((proto, lo, hi)).or_default();
            e.0 += lohi;
            e.1 += hilo;
        }
        assert_eq!(ours, theirs, "{}", cap.display());
        checked += theirs.len();
    }
    assert!(checked > 500, "{checked} conversations");
}

// ---------------------------------------------------------------------------
// Several captures of the same traffic.

#[test]
fn one_connection_seen_by_two_captures_is_one_session() {
    // The same file twice stands for two capture points that saw the same
    // packets: one session per connection, seen by both.
    let one = analyze(&["zeek-ssh-basic/ssh.pcap"]);
    let two = analyze(&["zeek-ssh-basic/ssh.pcap", "zeek-ssh-basic/ssh.pcap"]);
    assert_eq!(one.sessions.len(), two.sessions.len());
    for (a, b) in one.sessions.iter().zip(&two.sessions) {
        assert_eq!(b.seen_by.iter().collect::<Vec<_>>(), [0, 1]);
        assert_eq!(
            (a.state, a.history.as_str(), a.orig, a.resp),
            (b.state, b.history.as_str(), b.orig, b.resp)
        );
    }
    // Ten capture points (more inputs than the merge picks from one by one).
    let ten = analyze(&["zeek-ssh-basic/ssh.pcap"; 10]);
    assert_eq!(ten.sessions.len(), one.sessions.len());
    for (a, b) in one.sessions.iter().zip(&ten.sessions) {
        assert_eq!(b.seen_by.iter().count(), 10);
        assert_eq!((a.first_ts, a.orig, a.resp), (b.first_ts, b.orig, b.resp));
    }
}

#[test]
fn client_side_and_server_side_views_coalesce() {
    // The half-duplex traces are the two directions of the same sessions,
    // captured at the client and at the server. Together they are one
    // session per connection, seen by both inputs, each direction counted
    // from the input that saw it.
    let a = analyze(&[
        "zeek-ssh-half-duplex/ssh.client-side-half-duplex.pcap",
        "zeek-ssh-half-duplex/ssh.server-side-half-duplex.pcap",
    ]);
    let both = a
        .sessions
        .iter()
        .filter(|s| s.seen_by.iter().count() == 2)
        .count();
    assert_eq!(both, 20, "{}", a.sessions.len());
    for s in a.sessions.iter().filter(|s| s.seen_by.iter().count() == 2) {
        assert!(s.orig.pkts > 0 && s.resp.pkts > 0, "{s:?}");
        assert_eq!(s.resp_p, 22);
    }
}

/// Call `f` with the path and every frame of the reference traces and the
/// lab captures.
fn for_each_frame(mut f: impl FnMut(&str, &aibnet::capture::RawPacket<'_>)) {
    let (sources, _) = aibnet::ingest::discover(&[traces(), repo().join("captures")]);
    for src in sources {
        let Ok(input) = aibnet::ingest::load(&src, &Default::default()) else {
            continue;
        };
        let Ok(iter) = aibnet::capture::PacketIter::new(&input.bytes, input.format) else {
            continue;
        };
        for p in iter.map_while(Result::ok) {
            f(&input.path, &p);
        }
    }
}

/// Every frame of the reference traces and of the lab captures: when the
/// fixed-offset reader used to share a capture between threads names a
/// flow, decoding the frame (when it decodes) names the same one, and the
/// frame is no ICMP error (whose flow is the one it quotes).
#[test]
fn plain_flow_agrees_with_decode_on_every_frame() {
    use aibnet::decode::{decode, plain_flow};
    let (mut plain, mut frames) = (0u64, 0u64);
    for_each_frame(|path, p| {
        frames += 1;
        let Some(t) = plain_flow(p) else { return };
        plain += 1;
        if let Ok(s) = decode(p) {
            assert_eq!(s.tuple, t, "{path} at byte {}", p.offset);
            assert!(s.icmp_error.is_none(), "{path} at byte {}", p.offset);
        }
    });
    // Tens of thousands of the frames are plain Ethernet IPv4 TCP/UDP.
    assert!(plain > 10_000, "{plain} of {frames}");
}

/// The decoder's direct IP path gives what etherparse's whole-packet slicer
/// gives (`decode_sliced`), on every frame of the reference traces and lab
/// captures, and on every seventh frame with each header byte changed and
/// cut at every header length (malformed, truncated, other protocols and
/// versions).
#[test]
fn decode_agrees_with_the_whole_packet_slicer() {
    use aibnet::capture::RawPacket;
    use aibnet::decode::{decode, decode_sliced};
    let (mut frames, mut variants, mut ok) = (0u64, 0u64, 0u64);
    let same = |p: &RawPacket<'_>, what: &str| {
        let (a, b) = (decode(p), decode_sliced(p));
        assert_eq!(a, b, "{what}");
        a.is_ok()
    };
    for_each_frame(|path, p| {
        frames += 1;
        ok += u64::from(same(p, &format!("{path} at byte {}", p.offset)));
        if frames % 7 != 0 {
            return;
        }
        for at in 0..p.data.len().min(80) {
            for flip in [0x0f, 0xf0, 0xff] {
                let mut d = p.data.to_vec();
                if let Some(b) = d.get_mut(at) {
                    *b ^= flip;
                }
                variants += 1;
                let q = RawPacket { data: &d, ..*p };
                same(
                    &q,
                    &format!("{path} at byte {}: byte {at} ^ {flip:#x}", p.offset),
                );
            }
            variants += 1;
            let q = RawPacket {
                data: p.data.get(..at).unwrap_or_default(),
                ..*p
            };
            same(&q, &format!("{path} at byte {}: cut at {at}", p.offset));
        }
    });
    assert!(ok > 10_000, "{ok} of {frames} decoded");
    assert!(variants > 100_000, "{variants}");
}

//! Determinism and algebra (issue 7): the result does not depend on the
//! thread count or the order of the inputs; merging session tables is
//! associative and commutative; the readers never panic on arbitrary bytes.

mod common;

use aibnet::analyze::{Analysis, IntraFile, analyze_paths};
use aibnet::capture::{PacketIter, RawPacket, linktype};
use aibnet::decode::{FiveTuple, PacketSummary, decode};
use aibnet::ingest::Format;
use aibnet::sessions::{Session, SessionTable};
use common::bytes::*;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

/// Everything a session reports, with the inputs that saw it named by path
/// (input numbers are positions, which change with the order of inputs).
fn view(s: &Session, paths: &[String]) -> String {
    let mut seen: Vec<&str> = s
        .seen_by
        .iter()
        .filter_map(|i| paths.get(i as usize).map(String::as_str))
        .collect();
    seen.sort();
    format!(
        "{} {}:{} > {}:{} [{}..{}] {} {} o={:?} r={:?} rx={} icmp={:?} flow={:?} seen={seen:?}",
        s.proto.as_str(),
        s.orig_h,
        s.orig_p,
        s.resp_h,
        s.resp_p,
        s.first_ts,
        s.last_ts,
        s.state.as_str(),
        s.history.as_str(),
        s.orig,
        s.resp,
        s.syn_retransmits,
        s.icmp_error,
        s.flow,
    )
}

fn views(a: &Analysis) -> Vec<String> {
    let paths: Vec<String> = a.inputs.iter().map(|i| i.path.clone()).collect();
    let mut v: Vec<String> = a.sessions.iter().map(|s| view(s, &paths)).collect();
    // Sessions are sorted by time, then endpoints; equal keys keep an order
    // that must not depend on input order either, so compare as listed.
    v.dedup();
    v
}

/// What a split-scheme comparison compares: the input's counts and times,
/// and every session.
type SplitResult = (
    (
        u64,
        u64,
        u64,
        std::collections::BTreeMap<&'static str, u64>,
        Option<i64>,
        Option<i64>,
    ),
    Vec<String>,
);

/// Analyse `paths` in a pool of `threads` with one way of splitting a
/// capture (`split_small` forces it onto small captures).
fn split_run(
    paths: &[PathBuf],
    threads: usize,
    intra_file: IntraFile,
    split_small: bool,
) -> SplitResult {
    let scope = aibnet::analyze::Options {
        intra_file,
        split_small,
        ..aibnet::analyze::Options::default()
    };
    let a = in_pool(threads, || aibnet::analyze::analyze_paths(paths, &scope));
    let i = &a.inputs[0];
    let counts = (
        i.packets,
        i.decoded,
        i.used,
        i.not_decoded.clone(),
        i.first_ts,
        i.last_ts,
    );
    (counts, views(&a))
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

// ---------------------------------------------------------------------------
// Packet summaries and frames from a small space of hosts and ports, so that
// flows collide, reuse ports, time out and appear in several inputs.

fn host(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 4 + i))
}

fn summary() -> impl Strategy<Value = PacketSummary> {
    (
        prop::sample::select(vec![6u8, 17, 1]),
        0u8..3,
        0u8..3,
        prop::sample::select(vec![22u16, 53, 443, 50_000, 50_001]),
        prop::sample::select(vec![22u16, 53, 443, 50_000, 50_001]),
        any::<u8>(),
        // Nanoseconds, or a 200 ms grid where packets share timestamps
        // (ties between inputs and shards are ordered by the join).
        prop_oneof![
            0i64..400_000_000_000,
            (0i64..2_000).prop_map(|t| t * 200_000_000)
        ],
        prop::sample::select(vec![0u32, 1, 1000, 1001, u32::MAX]),
        prop::sample::select(vec![0u32, 1, 5000, 5001]),
        0u32..1500,
    )
        .prop_map(
            |(proto, a, b, sp, dp, flags, ts, seq, ack, len)| PacketSummary {
                ts_ns: 1_700_000_000_000_000_000 + ts,
                ts_digits: 6,
                tuple: FiveTuple {
                    proto,
                    src: host(a),
                    dst: host(b),
                    sport: sp,
                    dport: dp,
                },
                flags: if proto == 6 { flags & 0x1f } else { 0 },
                seq,
                ack,
                payload_len: len,
                ip_len: len + 40,
                udp_first_byte: 0,
                payload_cut: false,
                icmp_error: None,
            },
        )
}

/// A frame of a capture with ICMP errors, with its time: a packet of
/// [`summary`], or a destination unreachable between two of its hosts that
/// quotes the start of such a packet, an ICMP echo, or a header cut short.
fn icmp_mix_frame() -> impl Strategy<Value = (i64, Vec<u8>)> {
    let v4 = |i: u8| Ipv4Addr::new(10, 0, 0, 4 + i);
    let error = (
        (0i64..2_000).prop_map(|t| t * 200_000_000),
        0u8..3,
        0u8..3,
        0u8..4,
        prop::sample::select(vec![0u8, 1, 3]),
        summary(),
    )
        .prop_map(move |(t, reporter, to, kind, code, q)| {
            let quoted = match kind {
                0 | 1 => frame(&q).get(14..42).unwrap_or_default().to_vec(),
                2 => ipv4(1, v4(to), v4(reporter), &[], &[8, 0, 0, 0, 0, 1, 0, 1]),
                _ => frame(&q).get(14..30).unwrap_or_default().to_vec(),
            };
            let mut icmp = vec![3, code, 0, 0, 0, 0, 0, 0];
            icmp.extend_from_slice(&quoted);
            (
                1_700_000_000_000_000_000 + t,
                eth(ETH_IPV4, &ipv4(1, v4(reporter), v4(to), &[], &icmp)),
            )
        });
    prop_oneof![summary().prop_map(|p| (p.ts_ns, frame(&p))), error]
}

/// The packets of one input, in time order (as a capture has them).
fn input_packets() -> impl Strategy<Value = Vec<PacketSummary>> {
    prop::collection::vec(summary(), 0..40).prop_map(|mut v| {
        v.sort_by_key(|p| p.ts_ns);
        v
    })
}

fn table(packets: &[PacketSummary], input: u32) -> SessionTable {
    let mut t = SessionTable::new();
    for p in packets {
        t.add_packet(p, input);
    }
    t
}

fn finished(t: SessionTable) -> Vec<String> {
    let names: Vec<String> = (0..3).map(|i| format!("in{i}")).collect();
    t.finish().iter().map(|s| view(s, &names)).collect()
}

/// A frame for a packet summary (TCP or UDP over Ethernet/IPv4).
fn frame(p: &PacketSummary) -> Vec<u8> {
    let (IpAddr::V4(s), IpAddr::V4(d)) = (p.tuple.src, p.tuple.dst) else {
        unreachable!()
    };
    let payload = vec![0u8; (p.payload_len % 200) as usize];
    match p.tuple.proto {
        6 => tcp4(
            s.octets(),
            p.tuple.sport,
            d.octets(),
            p.tuple.dport,
            p.flags,
            p.seq,
            p.ack,
            &payload,
        ),
        _ => udp4(
            s.octets(),
            p.tuple.sport,
            d.octets(),
            p.tuple.dport,
            &payload,
        ),
    }
}

fn pcap_of(packets: &[PacketSummary]) -> Vec<u8> {
    let frames: Vec<(u32, u32, Vec<u8>)> = packets
        .iter()
        .map(|p| {
            let secs = (p.ts_ns / 1_000_000_000) as u32;
            let us = ((p.ts_ns % 1_000_000_000) / 1000) as u32;
            (secs, us, frame(p))
        })
        .collect();
    pcap(&frames)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The fixed-offset flow reader and the decoder agree on any frame: a
    /// real TCP/UDP frame with any byte changed, or cut anywhere.
    #[test]
    fn plain_flow_agrees_with_decode(p in summary(), at in 0usize..80, byte in any::<u8>(), cut in 0usize..80) {
        let mut f = frame(&p);
        if let Some(b) = f.get_mut(at) {
            *b = byte;
        }
        f.truncate(f.len().min(cut.max(14)));
        let raw = RawPacket {
            ts_ns: 0,
            ts_digits: 6,
            linktype: linktype::ETHERNET,
            orig_len: f.len() as u32,
            data: &f,
            offset: 0,
        };
        if let (Some(t), Ok(s)) = (aibnet::decode::plain_flow(&raw), decode(&raw)) {
            prop_assert_eq!(s.tuple, t);
            prop_assert!(s.icmp_error.is_none());
        }
    }

    /// Merging is commutative: a ⊕ b = b ⊕ a (after finish).
    #[test]
    fn merge_is_commutative(a in input_packets(), b in input_packets()) {
        let ab = finished(table(&a, 0).merge(table(&b, 1)));
        let ba = finished(table(&b, 1).merge(table(&a, 0)));
        prop_assert_eq!(ab, ba);
    }

    /// Merging is associative: (a ⊕ b) ⊕ c = a ⊕ (b ⊕ c), and an empty table
    /// is its identity.
    #[test]
    fn merge_is_associative(a in input_packets(), b in input_packets(), c in input_packets()) {
        let left = finished(table(&a, 0).merge(table(&b, 1)).merge(table(&c, 2)));
        let right = finished(table(&a, 0).merge(table(&b, 1).merge(table(&c, 2))));
        prop_assert_eq!(&left, &right);
        let with_empty = finished(
            SessionTable::new()
                .merge(table(&a, 0))
                .merge(table(&b, 1))
                .merge(SessionTable::new())
                .merge(table(&c, 2)),
        );
        prop_assert_eq!(&left, &with_empty);
    }

    /// The inputs of a run give the same sessions for any thread count.
    #[test]
    fn any_thread_count(
        inputs in prop::collection::vec(input_packets(), 1..4),
        threads in 2usize..5,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let paths = write_inputs(tmp.path(), &inputs);
        let base = views(&in_pool(1, || analyze_paths(&paths, &Default::default())));
        let other = views(&in_pool(threads, || analyze_paths(&paths, &Default::default())));
        prop_assert_eq!(base, other);
    }

    /// A small capture split across threads by either scheme (forced with
    /// `split_small`) gives the sessions and counts of the sequential reader.
    #[test]
    fn split_schemes_agree_on_small_captures(
        packets in input_packets(),
        threads in 2usize..5,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let paths = write_inputs(tmp.path(), &[packets]);
        let sequential = split_run(&paths, threads, IntraFile::Sequential, false);
        prop_assert_eq!(&split_run(&paths, threads, IntraFile::Scan, true), &sequential);
        prop_assert_eq!(&split_run(&paths, threads, IntraFile::Buffered, true), &sequential);
    }

    /// The same with ICMP errors among few hosts: errors naming TCP/UDP
    /// flows of other shards (open or not), naming an ICMP echo, or cut
    /// short (naming nothing), with one reporter → host key, so that some
    /// are linked and the others make sessions of their own across shards.
    #[test]
    fn split_schemes_agree_with_icmp_errors(
        frames in prop::collection::vec(icmp_mix_frame(), 0..60),
        threads in 2usize..5,
    ) {
        let mut frames = frames;
        frames.sort_by_key(|(ts, _)| *ts);
        let frames: Vec<(u32, u32, Vec<u8>)> = frames
            .into_iter()
            .map(|(ts, f)| ((ts / 1_000_000_000) as u32, ((ts % 1_000_000_000) / 1000) as u32, f))
            .collect();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("icmp.pcap");
        std::fs::write(&path, pcap(&frames)).unwrap();
        let paths = [path];
        let sequential = split_run(&paths, threads, IntraFile::Sequential, false);
        prop_assert_eq!(&split_run(&paths, threads, IntraFile::Scan, true), &sequential);
        prop_assert_eq!(&split_run(&paths, threads, IntraFile::Buffered, true), &sequential);
    }

    /// Decoding never panics on arbitrary bytes, whatever the link type.
    #[test]
    fn decoding_never_panics(
        lt in prop::sample::select(vec![
            linktype::NULL, linktype::ETHERNET, linktype::RAW_BSD, linktype::RAW_OPENBSD,
            linktype::RAW, linktype::LOOP, linktype::LINUX_SLL, linktype::IPV4,
            linktype::IPV6, linktype::LINUX_SLL2, 105, 0xffff,
        ]),
        data in prop::collection::vec(any::<u8>(), 0..200),
        ts in any::<i64>(),
    ) {
        let p = RawPacket { ts_ns: ts, ts_digits: 9, linktype: lt, orig_len: u32::MAX, data: &data, offset: 0 };
        if let Ok(s) = decode(&p) {
            let mut t = SessionTable::new();
            t.add_packet(&s, 0);
            t.add_packet(&s, 0);
            let _ = t.finish();
        }
    }

    /// Decoding never panics on arbitrary bytes after a valid IP header
    /// start (reaches the transport and extension-header code).
    #[test]
    fn decoding_ip_never_panics(
        v6 in any::<bool>(),
        next in any::<u8>(),
        tail in prop::collection::vec(any::<u8>(), 0..120),
    ) {
        let data = if v6 {
            ipv6(next, [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], &tail)
        } else {
            ipv4(next, Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2), &[], &tail)
        };
        let p = RawPacket { ts_ns: 0, ts_digits: 6, linktype: linktype::RAW, orig_len: 0, data: &data, offset: 0 };
        let _ = decode(&p);
    }

    /// The capture readers never panic, always end, and account for every
    /// frame.
    #[test]
    fn capture_readers_never_panic(
        head in prop::sample::select(vec![
            pcap_header(false, 65535, 1),
            pcap_header(true, 0, 276),
            shb(),
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut data = head;
        data.extend_from_slice(&tail);
        for format in [Format::Pcap, Format::Pcapng] {
            if let Ok(it) = PacketIter::new(&data, format) {
                let n = it.take(10_000).count();
                prop_assert!(n < 10_000);
            }
        }
    }

    /// The configuration reader never panics on arbitrary bytes, nor on
    /// JSON of arbitrary shape.
    #[test]
    fn config_reader_never_panics(
        data in prop::collection::vec(any::<u8>(), 0..300),
        json in json_value(),
    ) {
        let _ = aibnet::check::read_json(std::path::Path::new("p.json"), &data);
        let text = json.to_string();
        let mut cfg = aibnet::check::Config::default();
        if cfg.add_file(std::path::Path::new("p.json"), text.as_bytes()).is_ok() {
            let _ = aibnet::check::evaluate(&cfg);
        }
    }

    /// The flow-log reader never panics on arbitrary bytes, nor on records
    /// with tuples of any field count and content.
    #[test]
    fn flowlog_reader_never_panics(
        data in prop::collection::vec(any::<u8>(), 0..300),
        fields in prop::collection::vec(
            prop::collection::vec("[0-9A-Za-z.:,-]{0,12}", 0..16),
            0..6,
        ),
        vnet in any::<bool>(),
    ) {
        let _ = aibnet::flowlog::parse("p.json", &data);
        let tuples: Vec<String> = fields.iter().map(|f| format!("\"{}\"", f.join(","))).collect();
        let doc = if vnet {
            format!(
                "{{\"records\":[{{\"time\":\"2024-12-31T09:13:37.757Z\",\"category\":\"FlowLogFlowEvent\",\"flowLogVersion\":4,\"flowRecords\":{{\"flows\":[{{\"aclID\":\"/NSG\",\"flowGroups\":[{{\"rule\":\"R\",\"flowTuples\":[{}]}}]}}]}}}}]}}",
                tuples.join(",")
            )
        } else {
            format!(
                "{{\"records\":[{{\"time\":\"2024-08-19T18:00:06Z\",\"category\":\"NetworkSecurityGroupFlowEvent\",\"properties\":{{\"Version\":2,\"flows\":[{{\"rule\":\"R\",\"flows\":[{{\"mac\":\"AA\",\"flowTuples\":[{}]}}]}}]}}}}]}}",
                tuples.join(",")
            )
        };
        let file = aibnet::flowlog::parse("p.json", doc.as_bytes()).unwrap();
        let st = file.stats;
        prop_assert_eq!(st.tuples_read, fields.len() as u64);
        prop_assert_eq!(
            st.tuples_read,
            file.tuple_count() as u64 + st.tuples_duplicate + st.tuples_skipped
        );
        let _ = aibnet::flowlog::sessions(&file, 0).finish();
        for f in &fields {
            for layout in [
                aibnet::flowlog::TupleLayout::NsgV1,
                aibnet::flowlog::TupleLayout::NsgV2,
                aibnet::flowlog::TupleLayout::NsgAny,
                aibnet::flowlog::TupleLayout::Vnet,
            ] {
                let _ = aibnet::flowlog::parse_tuple(&f.join(","), layout);
            }
        }
    }

    /// explain never panics on arbitrary text.
    #[test]
    fn explain_never_panics(text in "\\PC{0,300}") {
        let _ = aibnet::explain::explain(text.as_bytes(), &Default::default());
    }
}

/// The inputs of a run give the same sessions in any order (and thread
/// count). Without inputs numbered in path order this failed: when two
/// inputs saw one connection with as many packets each, the view of the
/// lower-numbered input spoke for state and history, so `sessions b.pcap
/// a.pcap` and `sessions a.pcap b.pcap` could differ (history `^` or not).
#[test]
fn any_input_order() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    });
    let strategy = (
        prop::collection::vec(input_packets(), 1..4),
        0usize..4,
        1usize..4,
    );
    runner
        .run(&strategy, |(inputs, rotate, threads)| {
            let tmp = tempfile::tempdir().unwrap();
            let paths = write_inputs(tmp.path(), &inputs);
            let base = views(&in_pool(1, || analyze_paths(&paths, &Default::default())));
            let mut shuffled = paths.clone();
            let n = shuffled.len();
            shuffled.rotate_left(rotate % n);
            shuffled.reverse();
            let other = views(&in_pool(threads, || {
                analyze_paths(&shuffled, &Default::default())
            }));
            prop_assert_eq!(base, other);
            Ok(())
        })
        .unwrap();
}

fn write_inputs(dir: &std::path::Path, inputs: &[Vec<PacketSummary>]) -> Vec<PathBuf> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, pk)| {
            let p = dir.join(format!("in{i}.pcap"));
            std::fs::write(&p, pcap_of(pk)).unwrap();
            p
        })
        .collect()
}

/// JSON values shaped like Azure resources: objects with the keys the
/// readers look for, holding values of any type.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let key = prop::sample::select(vec![
        "name",
        "type",
        "id",
        "properties",
        "securityRules",
        "defaultSecurityRules",
        "addressPrefix",
        "addressPrefixes",
        "priority",
        "direction",
        "access",
        "protocol",
        "sourceAddressPrefix",
        "destinationPortRange",
        "destinationPortRanges",
        "vnetConfig",
        "subnetId",
        "networkSecurityGroup",
        "routeTable",
        "routes",
        "subnets",
        "delegations",
        "dhcpOptions",
        "dnsServers",
        "source",
        "vmProfile",
        "osType",
    ]);
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-zA-Z0-9*./,:-]{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| {
                serde_json::Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// The sharded reader of a large capture (over `PARALLEL_MIN_BYTES`) gives
/// the same sessions for 1, 2 and 3 threads.
#[test]
fn a_large_capture_gives_the_same_sessions_for_any_thread_count() {
    use rand_like::Lcg;
    let mut rng = Lcg(7);
    let min = aibnet::analyze::PARALLEL_MIN_BYTES;
    let mut frames = Vec::new();
    let mut size = 24;
    let mut ts: i64 = 1_700_000_000_000_000_000;
    while size < min + (1 << 20) {
        let p = PacketSummary {
            ts_ns: ts,
            ts_digits: 6,
            tuple: FiveTuple {
                proto: if rng.next() % 4 == 0 { 17 } else { 6 },
                src: host((rng.next() % 3) as u8),
                dst: host((rng.next() % 3) as u8),
                sport: 40_000 + (rng.next() % 200) as u16,
                dport: [22u16, 53, 443][(rng.next() % 3) as usize],
            },
            flags: (rng.next() % 32) as u8,
            seq: rng.next() as u32,
            ack: rng.next() as u32,
            payload_len: (rng.next() % 200) as u32,
            ip_len: 0,
            udp_first_byte: 0,
            payload_cut: false,
            icmp_error: None,
        };
        ts += (rng.next() % 50_000_000) as i64;
        let f = frame(&p);
        size += 16 + f.len();
        let secs = (p.ts_ns / 1_000_000_000) as u32;
        let us = ((p.ts_ns % 1_000_000_000) / 1000) as u32;
        frames.push((secs, us, f));
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("large.pcap");
    std::fs::write(&path, pcap(&frames)).unwrap();
    let paths = [path];
    // One thread never splits a capture.
    let (one_counts, one) = split_run(&paths, 1, IntraFile::Scan, false);
    assert_eq!(one_counts.0, frames.len() as u64);
    assert!(one.len() > 100, "{}", one.len());
    for scheme in [IntraFile::Scan, IntraFile::Buffered, IntraFile::Sequential] {
        for threads in [2, 3] {
            let (counts, many) = split_run(&paths, threads, scheme, false);
            assert_eq!(counts, one_counts, "{scheme:?}, {threads} threads");
            assert_eq!(one.len(), many.len(), "{scheme:?}, {threads} threads");
            assert!(
                one == many,
                "{scheme:?}, {threads} threads give different sessions"
            );
        }
    }
}

mod rand_like {
    /// A tiny deterministic generator (no dependency needed).
    pub struct Lcg(pub u64);

    impl Lcg {
        pub fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }
    }
}

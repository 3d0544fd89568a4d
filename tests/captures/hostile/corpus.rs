//! The committed adversarial corpus of `captures/bad/`, generated here so
//! that every file is documented by the code that makes it. The test
//! `committed_corpus_is_current` checks the files on disk are these bytes;
//! `AIBNET_WRITE_BAD=1 cargo test --test captures committed_corpus_is_current`
//! rewrites them.

use crate::common::bytes::*;

/// What reading a bad file must give.
pub struct Expect {
    /// Frames read.
    pub read: u64,
    /// Frames decoded into session updates.
    pub decoded: u64,
    /// A piece of the error / skip reason, if reading stops early or the
    /// input is refused.
    pub reason: Option<&'static str>,
}

pub struct BadFile {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub expect: Expect,
}

const T0: u32 = 1_700_000_000;
const A: [u8; 4] = [192, 0, 2, 1];
const B: [u8; 4] = [192, 0, 2, 2];

fn syn(sport: u16) -> Vec<u8> {
    tcp4(A, sport, B, 22, SYN, 1, 0, b"")
}

/// The good capture that sits beside the bad ones.
pub fn good() -> Vec<u8> {
    let mut frames = tcp_conversation([10, 0, 0, 4], 50_000, [10, 0, 0, 5], 22, T0);
    frames.push((
        T0 + 2,
        0,
        udp4([10, 0, 0, 4], 53_000, [168, 63, 129, 16], 53, b"query"),
    ));
    frames.push((
        T0 + 2,
        500,
        udp4([168, 63, 129, 16], 53, [10, 0, 0, 4], 53_000, b"answer"),
    ));
    pcap(&frames)
}

pub fn files() -> Vec<BadFile> {
    let mut v = Vec::new();
    let mut add = |name, bytes, read, decoded, reason| {
        v.push(BadFile {
            name,
            bytes,
            expect: Expect {
                read,
                decoded,
                reason,
            },
        })
    };

    // A record header claiming 4 GB of data: the frame before it is kept,
    // reading stops at the record with its offset.
    let mut f = pcap_header(false, 65535, 1);
    f.extend(pcap_record(T0, 0, &syn(40_001)));
    f.extend(pcap_record_raw(T0, 1, 0xFFFF_FFF0, 0xFFFF_FFF0, &[0; 8]));
    add("pcap-caplen-4g.pcap", f, 1, 1, Some("exceeds 262144 bytes"));

    // A frame length (on the wire) of 4 GB with a small captured length is
    // only a number: the frame is read.
    let mut f = pcap_header(false, 65535, 1);
    let s = syn(40_002);
    f.extend(pcap_record_raw(T0, 0, s.len() as u32, u32::MAX, &s));
    add("pcap-origlen-4g.pcap", f, 1, 1, None);

    // Snapshot length 0 ("unlimited" for some writers) and 2^32-1.
    for (name, snap) in [
        ("pcap-snaplen-0.pcap", 0),
        ("pcap-snaplen-4g.pcap", u32::MAX),
    ] {
        let mut f = pcap_header(false, snap, 1);
        f.extend(pcap_record(T0, 0, &syn(40_003)));
        f.extend(pcap_record(
            T0,
            5,
            &tcp4(B, 22, A, 40_003, RST | ACK, 0, 2, b""),
        ));
        add(name, f, 2, 2, None);
    }

    // Captured length over the snapshot length and the frame length.
    let mut f = pcap_header(false, 64, 1);
    f.extend(pcap_record(T0, 0, &syn(40_004)));
    let big = tcp4(A, 40_004, B, 22, ACK, 2, 1, &[7; 100]);
    f.extend(pcap_record_raw(T0, 9, big.len() as u32, 60, &big));
    add(
        "pcap-caplen-over-snaplen.pcap",
        f,
        1,
        1,
        Some("exceeds the file's snapshot length"),
    );

    // A file header cut short, and a record cut short.
    add(
        "pcap-header-truncated.pcap",
        pcap_header(false, 65535, 1)[..10].to_vec(),
        0,
        0,
        Some("pcap file header truncated"),
    );
    let mut f = pcap_header(false, 65535, 1);
    f.extend(pcap_record(T0, 0, &syn(40_005)));
    f.extend(&pcap_record(T0, 1, &syn(40_006))[..30]);
    add(
        "pcap-record-truncated.pcap",
        f,
        1,
        1,
        Some("packet data truncated"),
    );

    // pcapng block lengths: 0 (a reader that trusts it loops forever),
    // running past the end, disagreeing with the trailing copy, and a
    // packet block too short for its header.
    let head = |extra: &[u8]| {
        let mut f = shb();
        f.extend(idb(1, 65535, &[]));
        f.extend(epb(0, u64::from(T0) * 1_000_000, &syn(40_010)));
        f.extend_from_slice(extra);
        f
    };
    let mut zero = 6u32.to_le_bytes().to_vec();
    zero.extend_from_slice(&0u32.to_le_bytes());
    zero.extend_from_slice(&[0; 16]);
    add(
        "pcapng-block-len-zero.pcapng",
        head(&zero),
        1,
        1,
        Some("block length 0 is invalid"),
    );
    let mut over = 6u32.to_le_bytes().to_vec();
    over.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    over.extend_from_slice(&[0; 32]);
    add(
        "pcapng-block-len-overrun.pcapng",
        head(&over),
        1,
        1,
        Some("runs past the end"),
    );
    let mut mismatch = epb(0, 0, &syn(40_011));
    let n = mismatch.len();
    mismatch[n - 4..].copy_from_slice(&12u32.to_le_bytes());
    add(
        "pcapng-block-len-trailer.pcapng",
        head(&mismatch),
        1,
        1,
        Some("does not match its trailing copy"),
    );
    add(
        "pcapng-packet-block-short.pcapng",
        head(&block(6, &[0; 8])),
        1,
        1,
        Some("packet block too short"),
    );
    add(
        "pcapng-unknown-interface.pcapng",
        head(&epb(7, 0, &syn(40_012))),
        1,
        1,
        Some("interface 7, which was never described"),
    );

    // Timestamps far in the future: nanosecond pcap at the end of u32
    // seconds (year 2106), and pcapng clocks that overflow i64 nanoseconds
    // both ways (if_tsresol of seconds with a 2^64-1 count; if_tsoffset of
    // i64::MAX and i64::MIN seconds) on one flow.
    let mut f = pcap_header(true, 65535, 1);
    f.extend(pcap_record(u32::MAX, 999_999_999, &syn(40_020)));
    f.extend(pcap_record(
        u32::MAX,
        u32::MAX,
        &tcp4(B, 22, A, 40_020, SYN | ACK, 9, 2, b""),
    ));
    add("pcap-ns-far-future.pcap", f, 2, 2, None);
    let mut f = shb();
    f.extend(idb(1, 65535, &[opt(9, &[0]), opt(0, &[])].concat()));
    f.extend(idb(
        1,
        65535,
        &[opt(14, &i64::MAX.to_le_bytes()), opt(0, &[])].concat(),
    ));
    f.extend(idb(
        1,
        65535,
        &[opt(14, &i64::MIN.to_le_bytes()), opt(0, &[])].concat(),
    ));
    f.extend(epb(0, u64::MAX, &syn(40_021)));
    f.extend(epb(1, 1, &tcp4(B, 22, A, 40_021, SYN | ACK, 9, 2, b"")));
    f.extend(epb(2, 1, &tcp4(A, 40_021, B, 22, ACK, 2, 10, b"")));
    add("pcapng-ts-extremes.pcapng", f, 3, 3, None);

    // A big-endian section (every length, option and time in network
    // order) whose interface counts nanoseconds from an `if_tsoffset` of
    // one hour: the packet is at T0 + 1 h.
    let be_block = |btype: u32, body: &[u8]| {
        let len = (12 + body.len().next_multiple_of(4)) as u32;
        let mut v = btype.to_be_bytes().to_vec();
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(body);
        v.resize(len as usize - 4, 0);
        v.extend_from_slice(&len.to_be_bytes());
        v
    };
    let mut shb_be = 0x1A2B_3C4Du32.to_be_bytes().to_vec();
    shb_be.extend_from_slice(&[0, 1, 0, 0]);
    shb_be.extend_from_slice(&u64::MAX.to_be_bytes());
    let mut idb_be = 1u16.to_be_bytes().to_vec();
    idb_be.extend_from_slice(&[0, 0]);
    idb_be.extend_from_slice(&65535u32.to_be_bytes());
    idb_be.extend_from_slice(&[0, 9, 0, 1, 9, 0, 0, 0]); // if_tsresol: 10^-9
    idb_be.extend_from_slice(&[0, 14, 0, 8]); // if_tsoffset: 3600 s
    idb_be.extend_from_slice(&3600i64.to_be_bytes());
    idb_be.extend_from_slice(&[0, 0, 0, 0]);
    let frame = syn(40_022);
    let ns = u64::from(T0) * 1_000_000_000;
    let mut epb_be = 0u32.to_be_bytes().to_vec();
    epb_be.extend_from_slice(&((ns >> 32) as u32).to_be_bytes());
    epb_be.extend_from_slice(&(ns as u32).to_be_bytes());
    epb_be.extend_from_slice(&(frame.len() as u32).to_be_bytes());
    epb_be.extend_from_slice(&(frame.len() as u32).to_be_bytes());
    epb_be.extend_from_slice(&frame);
    let mut f = be_block(0x0A0D_0D0A, &shb_be);
    f.extend(be_block(1, &idb_be));
    f.extend(be_block(6, &epb_be));
    add("pcapng-big-endian-tsoffset.pcapng", f, 1, 1, None);

    // Simple packet blocks under an interface with a snapshot length of 60:
    // a 74-byte UDP frame is kept to 60 bytes (and decoded), then a block
    // too short to hold the frame length stops reading.
    let mut f = shb();
    f.extend(idb(1, 60, &[]));
    let long = udp4(A, 40_023, B, 53, &[0; 32]);
    let mut spb = (long.len() as u32).to_le_bytes().to_vec();
    spb.extend_from_slice(&long);
    f.extend(block(3, &spb));
    f.extend(block(3, &[]));
    add(
        "pcapng-simple-packet-blocks.pcapng",
        f,
        1,
        1,
        Some("simple packet block too short"),
    );

    // An interface block with no room for its link type and snapshot length.
    let mut f = shb();
    f.extend(block(1, &[]));
    f.extend(epb(0, 0, &syn(40_024)));
    add(
        "pcapng-interface-block-short.pcapng",
        f,
        0,
        0,
        Some("interface block too short"),
    );

    // Zero-length and jumbo frames: an empty record, a 9000-byte jumbo and a
    // 65535-byte frame.
    let mut f = pcap_header(false, 0, 1);
    f.extend(pcap_record(T0, 0, b""));
    f.extend(pcap_record(
        T0,
        1,
        &tcp4(A, 40_030, B, 22, ACK, 1, 1, &vec![0x55; 9000 - 54]),
    ));
    f.extend(pcap_record(
        T0,
        2,
        &tcp4(A, 40_030, B, 22, ACK, 8947, 1, &vec![0x66; 65535 - 54]),
    ));
    add("pcap-zero-and-jumbo.pcap", f, 3, 2, None);

    // IPv4 options that run past the end of the frame: IHL 15 in a 24-byte
    // datagram, and an option whose length byte runs past the header.
    let mut short = ipv4(
        6,
        A.into(),
        B.into(),
        &[1, 1, 1, 1],
        &tcp(40_040, 22, 1, 0, SYN, b""),
    );
    short[0] = 0x4f;
    short.truncate(24);
    let bad_opt = ipv4(
        6,
        A.into(),
        B.into(),
        &[0x44, 40, 5, 0],
        &tcp(40_041, 22, 1, 0, SYN, b""),
    );
    let mut f = pcap_header(false, 65535, 1);
    f.extend(pcap_record(T0, 0, &eth(ETH_IPV4, &short)));
    f.extend(pcap_record(T0, 1, &eth(ETH_IPV4, &bad_opt)));
    f.extend(pcap_record(T0, 2, &syn(40_042)));
    add("ipv4-options-past-end.pcap", f, 3, 2, None);

    // IPv6 extension headers past the end: a hop-by-hop header claiming
    // 2 KB, a chain of 64 destination-options headers ending in a TCP
    // header cut short, and a routing header cut mid-way.
    let a6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let b6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let hbh = ipv6(0, a6, b6, &[6, 255, 0, 0, 0, 0, 0, 0]);
    let mut chain = Vec::new();
    for i in 0..64 {
        chain.extend_from_slice(&[if i == 63 { 6 } else { 60 }, 0, 0, 0, 0, 0, 0, 0]);
    }
    chain.extend_from_slice(&tcp(40_050, 22, 1, 0, SYN, b"")[..10]);
    let chain = ipv6(60, a6, b6, &chain);
    let routing = ipv6(43, a6, b6, &[6, 4, 0, 1]);
    let mut f = pcap_header(false, 65535, 1);
    f.extend(pcap_record(T0, 0, &eth(ETH_IPV6, &hbh)));
    f.extend(pcap_record(T0, 1, &eth(ETH_IPV6, &chain)));
    f.extend(pcap_record(T0, 2, &eth(ETH_IPV6, &routing)));
    f.extend(pcap_record(
        T0,
        3,
        &eth(ETH_IPV6, &ipv6(6, a6, b6, &tcp(40_051, 22, 1, 0, SYN, b""))),
    ));
    add("ipv6-ext-past-end.pcap", f, 4, 1, None);

    // A small gzip bomb: a pcap header and 16 MiB of zeros (1 Mi empty
    // records, all counted as not decoded) in a 16 KB file; and 32 MiB of
    // junk that is not decompressed past the first MiB.
    let mut f = pcap_header(false, 65535, 1);
    f.resize(24 + (16 << 20), 0);
    add("gzip-bomb-pcap.pcap.gz", gzip(&f), 1 << 20, 0, None);
    add(
        "gzip-bomb-junk.gz",
        gzip(&vec![0; 32 << 20]),
        0,
        0,
        Some("not a capture or flow log"),
    );

    // Non-UTF-8 bytes: a JSON document that is not valid UTF-8, and text.
    add(
        "non-utf8.json",
        b"{\"name\": \"nsg-\xff\xfe\", \"properties\": {\"securityRules\": []}}".to_vec(),
        0,
        0,
        Some("JSON that is neither a flow log nor a capture"),
    );
    add(
        "non-utf8.txt",
        b"Packer: dial tcp 10.1.0.4:22: i/o timeout \xe9\xe8\xff\n".to_vec(),
        0,
        0,
        Some("text (a log or notes)"),
    );

    // Flow tuples with 12 and 14 fields among good ones (NSG v2 has 13),
    // and a VNet tuple with bytes that are not UTF-8: counted as bad
    // tuples, the good ones kept.
    let nsg = |tuples: &[&[u8]]| {
        let mut v = b"{\"records\":[{\"time\":\"2024-08-19T18:00:06.8944384Z\",\"category\":\"NetworkSecurityGroupFlowEvent\",\"resourceId\":\"/NSG\",\"properties\":{\"Version\":2,\"flows\":[{\"rule\":\"DefaultRule_DenyAllInBound\",\"flows\":[{\"mac\":\"000D3A1B2C3D\",\"flowTuples\":[".to_vec();
        for (i, t) in tuples.iter().enumerate() {
            if i > 0 {
                v.push(b',');
            }
            v.push(b'"');
            v.extend_from_slice(t);
            v.push(b'"');
        }
        v.extend_from_slice(b"]}]}]}}]}");
        v
    };
    add(
        "flowlog-12-and-14-fields.json",
        nsg(&[
            b"1724090346,192.0.2.1,192.0.2.2,40100,22,T,I,D,B,,,,",
            b"1724090347,192.0.2.1,192.0.2.2,40101,22,T,I,D,B,,,",
            b"1724090348,192.0.2.1,192.0.2.2,40102,22,T,I,D,B,,,,,",
        ]),
        3,
        1,
        Some("field"),
    );
    add(
        "flowlog-non-utf8.json",
        nsg(&[
            b"1724090346,192.0.2.1,192.0.2.2,40110,22,T,I,D,B,,,,",
            b"1724090347,192.0.2.\xff,192.0.2.2,40111,22,T,I,D,B,,,,",
        ]),
        2,
        1,
        Some("UTF-8"),
    );

    // Empty file.
    add("empty.pcap", Vec::new(), 0, 0, Some("empty file"));
    v
}

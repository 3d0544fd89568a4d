//! Builds the two benchmark captures by replaying recorded traffic.
//!
//! ```text
//! cargo run --release --example gen_captures -- [OUT_DIR] [SIZE_MB]
//! ```
//!
//! Seeds are the public traces in `tests/data/traces/` (Ethernet
//! frames only). Their packets are grouped into flows, each flow's timeline
//! is kept (gaps over 2 s shortened to 2 s), and the whole set is replayed
//! again and again: replay `r` starts `r × step` later and maps every seed
//! address to its own address in 10.0.0.0/8 (IPv6: fd00::/16), so every
//! replay is a new set of connections. Multicast and broadcast addresses are
//! kept. IPv4 header checksums are recomputed; the addresses quoted inside
//! ICMP errors are mapped too, so the errors still name their session.
//!
//! * `mixed.pcap`: every seed flow (SSH, HTTP(S), DNS, POP3 rejects, RST
//!   variants, VLAN/QinQ, pings, multicast), plus unanswered SYNs with their
//!   retransmissions and UDP datagrams answered by ICMP port unreachable,
//!   both built from recorded packets.
//! * `small.pcap`: the flows whose packets are all small (rejected and reset
//!   connections, lone SYNs, DNS, NTP, pings, UDP + ICMP errors): about 100
//!   bytes a record and well over a million flows.
//!
//! The files are written as classic microsecond pcap, in time order.

use aibnet::capture::{PacketIter, linktype};
use aibnet::sessions::FlowKey;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A packet of a seed flow.
#[derive(Clone)]
struct Pkt {
    /// Microseconds after the flow's first packet.
    t: u64,
    frame: Vec<u8>,
    /// Offset of the IP header in the frame.
    ip: usize,
}

#[derive(Clone)]
struct Flow {
    pkts: Vec<Pkt>,
}

impl Flow {
    fn max_frame(&self) -> usize {
        self.pkts.iter().map(|p| p.frame.len()).max().unwrap_or(0)
    }
}

/// Longest gap kept inside a flow (µs).
const MAX_GAP_US: u64 = 2_000_000;

fn traces() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/traces")
}

/// Offset of the IP header of an Ethernet frame (VLAN tags allowed).
fn ip_offset(frame: &[u8]) -> Option<usize> {
    let mut at = 12;
    loop {
        let et = u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]);
        match et {
            0x8100 | 0x88a8 | 0x9100 => at += 4,
            0x0800 | 0x86dd => return Some(at + 2),
            _ => return None,
        }
    }
}

/// The flows of one seed file, keyed by flow (ICMP errors join the flow
/// they are about).
fn seed_flows(rel: &str) -> Vec<Flow> {
    let path = traces().join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let format = aibnet::ingest::detect(&bytes);
    let iter = PacketIter::new(&bytes, format).unwrap();
    let mut flows: BTreeMap<FlowKey, (i64, i64, Flow)> = BTreeMap::new();
    for p in iter.flatten() {
        if p.linktype != linktype::ETHERNET {
            continue;
        }
        let Ok(s) = aibnet::decode::decode(&p) else {
            continue;
        };
        let Some(ip) = ip_offset(p.data) else {
            continue;
        };
        let key = match s.icmp_error.and_then(|e| e.about) {
            Some(about) => FlowKey::of(&about),
            None => FlowKey::of(&s.tuple),
        };
        let e = flows
            .entry(key)
            .or_insert_with(|| (p.ts_ns, p.ts_ns, Flow { pkts: Vec::new() }));
        let gap = ((p.ts_ns - e.1).max(0) as u64 / 1000).min(MAX_GAP_US);
        let t = e.2.pkts.last().map_or(0, |l| l.t + gap);
        e.1 = p.ts_ns;
        e.2.pkts.push(Pkt {
            t,
            frame: p.data.to_vec(),
            ip,
        });
    }
    flows.into_values().map(|(_, _, f)| f).collect()
}

/// An unanswered connection attempt: the recorded SYN of syn-bad.pcap sent
/// at 0, 1, 3 and 7 s (Linux's retransmission schedule), same ISN.
fn unanswered_syn() -> Flow {
    let syn = seed_flows("zeek-tcp-edge/syn-bad.pcap")
        .remove(0)
        .pkts
        .remove(0);
    Flow {
        pkts: [0, 1, 3, 7]
            .iter()
            .map(|s| Pkt {
                t: s * 1_000_000,
                ..syn.clone()
            })
            .collect(),
    }
}

/// A UDP datagram answered by ICMP port unreachable: the recorded error of
/// icmp-destunreach-udp.pcap, preceded by the datagram it quotes.
fn udp_port_unreachable() -> Flow {
    let err = seed_flows("zeek-icmp-unreach/icmp-destunreach-udp.pcap")
        .remove(0)
        .pkts
        .remove(0);
    let quoted = &err.frame[err.ip + 20 + 8..];
    let qlen = usize::from(u16::from_be_bytes([quoted[2], quoted[3]])).min(quoted.len());
    let mut udp = err.frame[..err.ip].to_vec();
    udp.extend_from_slice(&quoted[..qlen]);
    // Pad a short datagram to the Ethernet minimum.
    udp.resize(udp.len().max(60), 0);
    Flow {
        pkts: vec![
            Pkt {
                t: 0,
                frame: udp,
                ip: err.ip,
            },
            Pkt { t: 350, ..err },
        ],
    }
}

/// A copy of a flow whose client-side ports (those ≥ 1024, in the outer
/// header and in the header an ICMP error quotes) are moved by `by`, so
/// that copies in one replay are distinct connections. IPv4 only.
fn shifted(f: &Flow, by: u16) -> Flow {
    let mut f = f.clone();
    let bump = |b: &mut [u8], at: usize| {
        for o in [at, at + 2] {
            if let Some(x) = b.get(o..o + 2) {
                let port = u16::from_be_bytes([x[0], x[1]]);
                if port >= 1024 {
                    let new = 1024 + (port - 1024).wrapping_add(by) % (65535 - 1024);
                    b[o..o + 2].copy_from_slice(&new.to_be_bytes());
                }
            }
        }
    };
    for p in &mut f.pkts {
        let ip = p.ip;
        if p.frame.get(ip).map(|b| b >> 4) != Some(4) {
            continue;
        }
        let l4 = ip + usize::from(p.frame[ip] & 15) * 4;
        match p.frame[ip + 9] {
            6 | 17 => bump(&mut p.frame, l4),
            1 => {
                let q = l4 + 8;
                if let Some(&v) = p.frame.get(q)
                    && v >> 4 == 4
                {
                    let ql4 = q + usize::from(v & 15) * 4;
                    bump(&mut p.frame, ql4);
                }
            }
            _ => {}
        }
    }
    f
}

const MIXED_SEEDS: &[&str] = &[
    "zeek-ssh-basic/ssh.pcap",
    "tcpdump-ssh/ssh.pcap",
    "zeek-rxmit-history/wikipedia.pcap",
    "zeek-rxmit-history/retransmit-fast009.pcap",
    "zeek-pop3-rej/pop3.pcap",
    "zeek-missing-syn-flip/missing-syn.pcap",
    "pcap-parser-assets/err-buffertoosmall.pcapng",
    "pcap-parser-assets/wireshark_samples-test.pcapng",
    "pcap-parser-assets/ntp.pcap",
    "zeek-conn-state-rst/single-rst.pcap",
    "zeek-conn-state-rst/syn-then-rst.pcap",
    "zeek-conn-state-rst/syn-then-ack-then-rst.pcap",
    "zeek-conn-state-rst/syn-then-stuff-then-rst.pcap",
    "zeek-icmp-unreach/icmp-ping.pcap",
    "zeek-tcp-edge/one-sided-2745.pcap",
    "zeek-vlan/http-vlan-0.pcap",
    "zeek-vlan/q-in-q.pcap",
    "tcpdump-rst-trunc/tcp_rst_data.pcap",
];

const SMALL_SEEDS: &[&str] = &[
    "zeek-pop3-rej/pop3.pcap",
    "zeek-conn-state-rst/single-rst.pcap",
    "zeek-conn-state-rst/syn-then-rst.pcap",
    "zeek-conn-state-rst/syn-then-ack-then-rst.pcap",
    "zeek-conn-state-rst/syn-then-stuff-then-rst.pcap",
    "zeek-tcp-edge/syn-bad.pcap",
    "zeek-tcp-edge/one-sided-2745.pcap",
    "zeek-rxmit-history/wikipedia.pcap",
    "zeek-icmp-unreach/icmp-ping.pcap",
    "pcap-parser-assets/ntp.pcap",
    "zeek-vlan/q-in-q.pcap",
];

/// Seed addresses, numbered.
struct AddrMap {
    index: HashMap<IpAddr, u32>,
}

impl AddrMap {
    fn new(flows: &[Flow]) -> Self {
        let mut index = HashMap::new();
        for f in flows {
            for p in &f.pkts {
                for a in addresses(p) {
                    let n = index.len() as u32;
                    index.entry(a).or_insert(n);
                }
            }
        }
        AddrMap { index }
    }

    /// The address `a` has in replay `r`.
    fn map(&self, a: IpAddr, r: u64) -> IpAddr {
        let k = u64::from(self.index[&a]);
        let n = self.index.len() as u64;
        match a {
            IpAddr::V4(v4) if v4.is_multicast() || v4.is_broadcast() => a,
            IpAddr::V4(_) => {
                let x = (r * n + k) % (1 << 24);
                IpAddr::V4((0x0a00_0000 | x as u32).into())
            }
            IpAddr::V6(v6) if v6.is_multicast() => a,
            IpAddr::V6(_) => {
                IpAddr::V6((0xfd00u128 << 112 | (u128::from(r) << 32) | u128::from(k)).into())
            }
        }
    }
}

fn v4_at(f: &[u8], at: usize) -> Option<IpAddr> {
    let b: [u8; 4] = f.get(at..at + 4)?.try_into().ok()?;
    Some(IpAddr::from(b))
}

fn v6_at(f: &[u8], at: usize) -> Option<IpAddr> {
    let b: [u8; 16] = f.get(at..at + 16)?.try_into().ok()?;
    Some(IpAddr::from(b))
}

/// Where the addresses of a frame are: (offset, is IPv6), for the outer IP
/// header and the header quoted by an ICMP error.
fn address_slots(p: &Pkt) -> Vec<(usize, bool)> {
    let f = &p.frame;
    let mut out = Vec::new();
    match f.get(p.ip).map(|b| b >> 4) {
        Some(4) => {
            out.push((p.ip + 12, false));
            out.push((p.ip + 16, false));
            let ihl = usize::from(f[p.ip] & 15) * 4;
            let icmp = p.ip + ihl;
            if f.get(p.ip + 9) == Some(&1) && matches!(f.get(icmp), Some(3 | 4 | 5 | 11 | 12)) {
                let q = icmp + 8;
                if f.get(q).map(|b| b >> 4) == Some(4) && f.len() >= q + 20 {
                    out.push((q + 12, false));
                    out.push((q + 16, false));
                }
            }
        }
        Some(6) => {
            out.push((p.ip + 8, true));
            out.push((p.ip + 24, true));
        }
        _ => {}
    }
    out
}

fn addresses(p: &Pkt) -> Vec<IpAddr> {
    address_slots(p)
        .into_iter()
        .filter_map(|(at, v6)| {
            if v6 {
                v6_at(&p.frame, at)
            } else {
                v4_at(&p.frame, at)
            }
        })
        .collect()
}

/// Recompute an IPv4 header checksum in place.
fn fix_ipv4_checksum(h: &mut [u8]) {
    let ihl = usize::from(h[0] & 15) * 4;
    if h.len() < ihl || ihl < 20 {
        return;
    }
    h[10] = 0;
    h[11] = 0;
    let mut sum: u32 = 0;
    for w in h[..ihl].chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let c = !(sum as u16);
    h[10..12].copy_from_slice(&c.to_be_bytes());
}

struct Spec {
    name: &'static str,
    flows: Vec<Flow>,
    /// Time between replay starts (µs).
    step_us: u64,
    /// Time between the starts of the flows of one replay (µs).
    spread_us: u64,
}

fn write_capture(out: &Path, spec: &Spec, target: u64) -> std::io::Result<()> {
    let map = AddrMap::new(&spec.flows);
    let per_replay: u64 = spec
        .flows
        .iter()
        .flat_map(|f| &f.pkts)
        .map(|p| 16 + p.frame.len() as u64)
        .sum();
    let replays = target.div_ceil(per_replay);
    // Every packet of every replay: (time, replay, flow, packet).
    let mut events: Vec<(u64, u32, u32, u32)> = Vec::new();
    for r in 0..replays {
        for (fi, f) in spec.flows.iter().enumerate() {
            let start = r * spec.step_us + fi as u64 * spec.spread_us;
            for (pi, p) in f.pkts.iter().enumerate() {
                events.push((start + p.t, r as u32, fi as u32, pi as u32));
            }
        }
    }
    events.sort_unstable();
    let path = out.join(format!("{}.pcap", spec.name));
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    // Microsecond pcap, little endian, snaplen 262144, Ethernet.
    w.write_all(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0])?;
    w.write_all(&262_144u32.to_le_bytes())?;
    w.write_all(&1u32.to_le_bytes())?;
    // 2024-01-01T00:00:00Z
    let t0: u64 = 1_704_067_200 * 1_000_000;
    let mut bytes = 24u64;
    let mut frame = Vec::with_capacity(1 << 16);
    for &(t, r, fi, pi) in &events {
        let p = &spec.flows[fi as usize].pkts[pi as usize];
        frame.clear();
        frame.extend_from_slice(&p.frame);
        for (at, v6) in address_slots(p) {
            if v6 {
                if let Some(IpAddr::V6(a)) = v6_at(&frame, at).map(|a| map.map(a, u64::from(r))) {
                    frame[at..at + 16].copy_from_slice(&a.octets());
                }
            } else if let Some(IpAddr::V4(a)) = v4_at(&frame, at).map(|a| map.map(a, u64::from(r)))
            {
                frame[at..at + 4].copy_from_slice(&a.octets());
            }
        }
        if frame[p.ip] >> 4 == 4 {
            fix_ipv4_checksum(&mut frame[p.ip..]);
        }
        let ts = t0 + t;
        w.write_all(&((ts / 1_000_000) as u32).to_le_bytes())?;
        w.write_all(&((ts % 1_000_000) as u32).to_le_bytes())?;
        w.write_all(&(frame.len() as u32).to_le_bytes())?;
        w.write_all(&(frame.len() as u32).to_le_bytes())?;
        w.write_all(&frame)?;
        bytes += 16 + frame.len() as u64;
    }
    w.flush()?;
    let flows = replays * spec.flows.len() as u64;
    println!(
        "{}: {} bytes, {} packets ({:.0} B/record), {} replays x {} seed flows = {} flows",
        path.display(),
        bytes,
        events.len(),
        (bytes - 24) as f64 / events.len() as f64,
        replays,
        spec.flows.len(),
        flows
    );
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(
        args.first()
            .cloned()
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data").into()),
    );
    let size_mb: u64 = args.get(1).map_or(520, |s| s.parse().expect("SIZE_MB"));
    std::fs::create_dir_all(&out)?;

    let mut mixed: Vec<Flow> = MIXED_SEEDS.iter().flat_map(|s| seed_flows(s)).collect();
    let (syn, unreachable) = (unanswered_syn(), udp_port_unreachable());
    for i in 0..20 {
        mixed.push(shifted(&syn, i));
        mixed.push(shifted(&unreachable, i));
    }
    let mut small: Vec<Flow> = SMALL_SEEDS
        .iter()
        .flat_map(|s| seed_flows(s))
        .filter(|f| f.max_frame() <= 256)
        .collect();
    small.push(udp_port_unreachable());
    let mut lone_syn = unanswered_syn();
    lone_syn.pkts.truncate(1);
    for i in 0..4 {
        small.push(shifted(&lone_syn, i));
    }
    let specs = [
        Spec {
            name: "mixed",
            flows: mixed,
            step_us: 20_000,
            spread_us: 50,
        },
        Spec {
            name: "small",
            flows: small,
            step_us: 1_000,
            spread_us: 20,
        },
    ];
    for spec in &specs {
        write_capture(&out, spec, size_mb << 20)?;
    }
    Ok(())
}

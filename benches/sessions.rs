//! Session tracking throughput on real captures: the decoded packets of a
//! trace fed to a `SessionTable` (`add_packet` each, then `finish`), and the
//! whole per-input pipeline (`analyze_input`: framing, decoding, tracking).
//!
//! Throughput is reported in bytes of the capture file, as for the
//! whole-program numbers in `benches/RESULTS.md`. Each benchmark checks the
//! number of sessions it produced (the Zeek baseline's count for ssh.pcap).

use aibnet::capture::PacketIter;
use aibnet::decode::{PacketSummary, decode};
use aibnet::ingest::{Bytes, Input, detect};
use aibnet::sessions::SessionTable;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn trace(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/traces")
        .join(rel)
}

/// (file, sessions)
const CASES: [(&str, usize); 3] = [
    ("zeek-ssh-basic/ssh.pcap", 25),
    ("zeek-rxmit-history/wikipedia.pcap", 34),
    ("pcap-parser-assets/wireshark_samples-test.pcapng", 1279),
];

fn summaries(bytes: &[u8]) -> Vec<PacketSummary> {
    PacketIter::new(bytes, detect(bytes))
        .unwrap()
        .filter_map(|p| decode(&p.unwrap()).ok())
        .collect()
}

fn bench(c: &mut Criterion) {
    for (rel, want) in CASES {
        let bytes = std::fs::read(trace(rel)).unwrap();
        let packets = summaries(&bytes);
        let name = rel.rsplit('/').next().unwrap();
        let mut g = c.benchmark_group(format!("sessions/{name}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("add_packet+finish", |b| {
            b.iter(|| {
                let mut t = SessionTable::new();
                for p in black_box(&packets) {
                    t.add_packet(p, 0);
                }
                assert_eq!(t.finish().len(), want);
            })
        });
        let input = Input {
            path: name.to_string(),
            format: detect(&bytes),
            bytes: Bytes::Owned(bytes.clone()),
            gzip: false,
            warning: None,
        };
        g.bench_function("analyze_input", |b| {
            b.iter(|| {
                let (_, table, skipped) =
                    aibnet::analyze::analyze_input(black_box(&input), 0, &Default::default());
                assert!(skipped.is_empty());
                assert_eq!(table.finish().len(), want);
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

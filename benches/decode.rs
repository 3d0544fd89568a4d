//! Framing and decoding throughput on real captures: `PacketIter` over the
//! bytes of a pcap / pcapng file, then `decode` of every frame.
//!
//! Inputs are the public traces in `tests/data/traces/` (SSH
//! over Ethernet, pcap; a mixed office capture, pcapng). Each benchmark
//! checks the number of frames and summaries it produced, so a bench of
//! wrong output fails instead of reporting a speed.

use aibnet::capture::PacketIter;
use aibnet::decode::decode;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn trace(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/traces")
        .join(rel)
}

/// (file, frames, decoded summaries)
const CASES: [(&str, u64, u64); 2] = [
    ("zeek-ssh-basic/ssh.pcap", 1797, 1797),
    (
        "pcap-parser-assets/wireshark_samples-test.pcapng",
        5898,
        4004,
    ),
];

fn frames(bytes: &[u8]) -> u64 {
    let format = aibnet::ingest::detect(bytes);
    let mut n = 0;
    for p in PacketIter::new(bytes, format).unwrap() {
        black_box(p.unwrap());
        n += 1;
    }
    n
}

fn decoded(bytes: &[u8]) -> u64 {
    let format = aibnet::ingest::detect(bytes);
    let mut n = 0;
    for p in PacketIter::new(bytes, format).unwrap() {
        if let Ok(s) = decode(&p.unwrap()) {
            black_box(&s);
            n += 1;
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    for (rel, want_frames, want_decoded) in CASES {
        let bytes = std::fs::read(trace(rel)).unwrap();
        let name = rel.rsplit('/').next().unwrap();
        let mut g = c.benchmark_group(format!("decode/{name}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("frame", |b| {
            b.iter(|| assert_eq!(frames(black_box(&bytes)), want_frames))
        });
        g.bench_function("frame+decode", |b| {
            b.iter(|| assert_eq!(decoded(black_box(&bytes)), want_decoded))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Parser throughput over a directory of flow logs (e.g. the output of
//! `benches/gen_flowlogs.py`): reads every file into memory, then times
//! `flowlog::parse_many` (rayon across and within files).
//!
//! `cargo run --release --example flowlog_throughput -- benches/data [threads] [port]`
//!
//! With a port, tuples are pre-filtered to that port (as `aibnet sessions
//! --port` does) and each file is also stitched into sessions.

use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

fn walk(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        let mut v: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        v.sort();
        for e in v {
            walk(&e, out);
        }
    } else {
        out.push(p.to_path_buf());
    }
}

/// CPU time of this process so far (Linux; 0 elsewhere): the machine is
/// shared, so wall time alone says little.
fn cpu_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().unwrap_or_else(|| "benches/data".into()));
    if let Some(n) = args.next().and_then(|s| s.parse().ok()) {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .ok();
    }
    let port: Option<u16> = args.next().and_then(|s| s.parse().ok());
    let opts = aibnet::flowlog::ParseOptions {
        filter: port.map(|p| aibnet::sessions::Filter {
            ports: vec![p],
            ..Default::default()
        }),
        ..aibnet::flowlog::ParseOptions::default()
    };
    let mut files = Vec::new();
    walk(&root, &mut files);
    let inputs: Vec<(Arc<str>, Vec<u8>)> = files
        .iter()
        .filter_map(|p| {
            Some((
                Arc::from(p.to_string_lossy().as_ref()),
                std::fs::read(p).ok()?,
            ))
        })
        .collect();
    let bytes: usize = inputs.iter().map(|(_, b)| b.len()).sum();
    for round in 0..3 {
        let (t0, c0) = (Instant::now(), cpu_secs());
        // Parse and drop file by file, as a pipeline that folds each file
        // into sessions would (keeping all tuples of 1 GB costs 1.5 GB).
        let (tuples, records, issues) = inputs
            .par_iter()
            .map(
                |(p, b)| match aibnet::flowlog::parse_with(p.clone(), b, &opts) {
                    Ok(f) => {
                        if port.is_some() {
                            std::hint::black_box(aibnet::flowlog::sessions(&f, 0).len());
                        }
                        (f.tuple_count(), f.stats.records, f.issues.len())
                    }
                    Err(_) => (0, 0, 1),
                },
            )
            .reduce(|| (0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
        let dt = t0.elapsed().as_secs_f64();
        let cpu = cpu_secs() - c0;
        println!(
            "round {round}: {} files, {:.1} MB, {records} records, {tuples} tuples, {issues} issues in {:.3} s = {:.0} MB/s ({} threads); {:.2} CPU-s = {:.0} MB per CPU-s",
            inputs.len(),
            bytes as f64 / 1e6,
            dt,
            bytes as f64 / 1e6 / dt,
            rayon::current_num_threads(),
            cpu,
            bytes as f64 / 1e6 / cpu
        );
    }
}

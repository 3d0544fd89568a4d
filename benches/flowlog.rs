//! Criterion benches of the flow-log parser: one tuple, one real file, and a
//! synthetic hour blob (built here, so the bench needs no data files) on 1
//! and 2 threads. Whole-process numbers come from `benches/flowlog_compare.py`
//! over the output of `benches/gen_flowlogs.py`.

use aibnet::flowlog::{self, ParseOptions, TupleLayout};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// A deterministic NSG v2 or VNet v4 hour blob of about `target` bytes, in
/// the structure of the real samples (60 records, rules per record, B/C/E/D).
fn synth_blob(vnet: bool, target: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let per_record = target / 60;
    let mut recs = Vec::new();
    for m in 0..60u64 {
        let t0 = 1_724_090_400_000 + m * 60_000;
        let mut groups: Vec<(&str, Vec<String>)> = vec![
            ("DefaultRule_AllowInternetOutBound", vec![]),
            ("DefaultRule_DenyAllInBound", vec![]),
        ];
        let mut size = 0;
        while size < per_record {
            let ts = t0 - 60_000 + rnd(59_000);
            let (g, t) = if rnd(2) == 0 {
                let dst = format!("20.{}.{}.{}", rnd(256), rnd(256), 1 + rnd(254));
                let sport = 32768 + rnd(28000);
                let (st, c) = match rnd(3) {
                    0 => ("B", None),
                    1 => ("E", Some((1, 74, 0, 0))),
                    _ => ("E", Some((rnd(40), rnd(9000), rnd(60), rnd(90000)))),
                };
                let t = if vnet {
                    let (a, b, c, d) = c.unwrap_or((0, 0, 0, 0));
                    format!("{ts},10.1.0.4,{dst},{sport},443,6,O,{st},NX,{a},{b},{c},{d}")
                } else {
                    let cs = c.map_or(",,,".to_string(), |(a, b, c, d)| format!("{a},{b},{c},{d}"));
                    format!("{},10.1.0.4,{dst},{sport},443,T,O,A,{st},{cs}", ts / 1000)
                };
                (0, t)
            } else {
                let src = format!(
                    "{}.{}.{}.{}",
                    35 + rnd(150),
                    rnd(256),
                    rnd(256),
                    1 + rnd(254)
                );
                let (sp, dp) = (1024 + rnd(64000), 1 + rnd(65000));
                let t = if vnet {
                    format!("{ts},{src},10.1.0.4,{sp},{dp},6,I,D,NX,0,0,0,0")
                } else {
                    format!("{},{src},10.1.0.4,{sp},{dp},T,I,D,B,,,,", ts / 1000)
                };
                (1, t)
            };
            size += t.len() + 3;
            groups[g].1.push(t);
        }
        let time = format!("2024-08-19T18:{m:02}:06.8944384Z");
        let rec = if vnet {
            let gs: Vec<String> = groups
                .iter()
                .map(|(r, ts)| {
                    format!(
                        "{{\"rule\":\"{r}\",\"flowTuples\":[\"{}\"]}}",
                        ts.join("\",\"")
                    )
                })
                .collect();
            format!(
                "{{\"time\":\"{time}\",\"flowLogVersion\":4,\"flowLogGUID\":\"g\",\"macAddress\":\"6045BDEC2532\",\"category\":\"FlowLogFlowEvent\",\"flowLogResourceID\":\"/FL\",\"targetResourceID\":\"/vnet\",\"operationName\":\"FlowLogFlowEvent\",\"flowRecords\":{{\"flows\":[{{\"aclID\":\"/nsg\",\"flowGroups\":[{}]}}]}}}}",
                gs.join(",")
            )
        } else {
            let gs: Vec<String> = groups
                .iter()
                .map(|(r, ts)| {
                    format!(
                        "{{\"rule\":\"{r}\",\"flows\":[{{\"mac\":\"6045BDEC2532\",\"flowTuples\":[\"{}\"]}}]}}",
                        ts.join("\",\"")
                    )
                })
                .collect();
            format!(
                "{{\"time\":\"{time}\",\"systemId\":\"s\",\"macAddress\":\"6045BDEC2532\",\"category\":\"NetworkSecurityGroupFlowEvent\",\"resourceId\":\"/NSG\",\"operationName\":\"NetworkSecurityGroupFlowEvents\",\"properties\":{{\"Version\":2,\"flows\":[{}]}}}}",
                gs.join(",")
            )
        };
        recs.push(rec);
    }
    format!("{{\"records\":[{}]}}", recs.join(",")).into_bytes()
}

fn samples_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/flowlogs/samples")
}

fn tuples(c: &mut Criterion) {
    let mut g = c.benchmark_group("flowlog/tuple");
    g.throughput(Throughput::Elements(1));
    for (name, s, layout) in [
        (
            "nsg_v2_end",
            "1724090346,10.1.0.4,20.98.192.237,35620,443,T,O,A,E,1,74,0,0",
            TupleLayout::NsgV2,
        ),
        (
            "nsg_v2_begin",
            "1724090369,35.203.211.209,10.1.0.4,55740,38405,T,I,D,B,,,,",
            TupleLayout::NsgV2,
        ),
        (
            "vnet_end",
            "1735636357995,10.1.0.4,20.10.127.193,56354,443,6,O,E,NX,8,5183,9,6707",
            TupleLayout::Vnet,
        ),
    ] {
        assert!(flowlog::parse_tuple(s, layout).is_ok());
        g.bench_function(name, |b| {
            b.iter(|| flowlog::parse_tuple(black_box(s), layout))
        });
    }
    g.finish();
}

fn files(c: &mut Criterion) {
    let mut g = c.benchmark_group("flowlog/file");
    let b = std::fs::read(samples_dir().join("nsg-v2_pt1h-8records-2024_sumologic.json"))
        .expect("the sumologic sample in tests/data");
    assert_eq!(
        flowlog::parse("s", &b).map(|f| f.tuple_count()).ok(),
        Some(153)
    );
    g.throughput(Throughput::Bytes(b.len() as u64));
    g.bench_function("sumologic_nsg_v2", |x| {
        x.iter(|| flowlog::parse("s", black_box(&b)))
    });
    for (name, vnet) in [
        ("synthetic_nsg_v2_8MB", false),
        ("synthetic_vnet_v4_8MB", true),
    ] {
        let b = synth_blob(vnet, 8 << 20, 7);
        let f = flowlog::parse("s", &b).unwrap();
        assert!(f.issues.is_empty() && f.stats.records == 60 && f.tuple_count() > 100_000);
        g.throughput(Throughput::Bytes(b.len() as u64));
        g.bench_function(name, |x| x.iter(|| flowlog::parse("s", black_box(&b))));
    }
    g.finish();
}

fn threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("flowlog/threads");
    g.sample_size(10);
    let b = synth_blob(false, 32 << 20, 11);
    g.throughput(Throughput::Bytes(b.len() as u64));
    for n in [1usize, 2] {
        let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(n).build() else {
            continue;
        };
        g.bench_with_input(BenchmarkId::new("synthetic_nsg_v2_32MB", n), &n, |x, _| {
            x.iter(|| {
                pool.install(|| flowlog::parse_with("s", black_box(&b), &ParseOptions::default()))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, tuples, files, threads);
criterion_main!(benches);

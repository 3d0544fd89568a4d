//! Print what `aibnet::flowlog` makes of flow-log files: counts, issues and,
//! with `-v`, every tuple. `cargo run --release --example flowlog_dump -- FILE...`

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v");
    for path in args.iter().filter(|a| *a != "-v") {
        let t0 = Instant::now();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        match aibnet::flowlog::parse(path.as_str(), &bytes) {
            Ok(f) => {
                let dt = t0.elapsed().as_secs_f64();
                println!("{path}: {:?} in {:.3}s", f.stats, dt);
                for i in &f.issues {
                    println!("  issue: {i}");
                }
                if verbose {
                    for (b, t) in f.tuples() {
                        println!(
                            "  {t:?} rule={} acl={} mac={}",
                            b.rule_name(t),
                            b.acl(t),
                            b.mac(t)
                        );
                    }
                }
            }
            Err(e) => println!("{e}"),
        }
    }
}

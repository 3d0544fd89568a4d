//! `builds` over a tree of flow logs read locally and through Azurite (the
//! Azure Storage emulator) on loopback: the rates side by side, with one
//! and 16 downloads in flight (downloads overlapping parsing), and with a
//! cold and a warm `--cache`. The storage and local outputs must agree.
//!
//! ```sh
//! AIBNET_MEASURE_DIR=/path/to/tree cargo bench --bench azurite_builds
//! ```
//!
//! The tree is e.g. one made by `benches/gen_month.py`; `azurite-blob` must
//! be on PATH (`npm install -g azurite`). Without either it prints why and
//! measures nothing. Results: README, *Reading from Azure Blob Storage*.

#[path = "../tests/common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../tests/azurite/support.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::Azurite;

const CONTAINER: &str = "insights-logs-networksecuritygroupflowevent";

/// `aibnet builds ... LOCATION`: wall time, stdout, stderr.
fn builds(location: &str, extra: &[&str]) -> (Duration, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aibnet"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE") {
            c.env_remove(k);
        }
    }
    c.args(["builds", "--format", "json", "--fail-on", "never"])
        .args(extra)
        .arg(location);
    let t = Instant::now();
    let out = c.output().expect("run aibnet");
    (
        t.elapsed(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn main() {
    let Ok(dir) = std::env::var("AIBNET_MEASURE_DIR") else {
        eprintln!("AIBNET_MEASURE_DIR not set: nothing measured");
        return;
    };
    let Some(az) = Azurite::start() else {
        eprintln!("azurite-blob not found: nothing measured");
        return;
    };
    az.create_container(CONTAINER);
    let root = std::path::Path::new(&dir);
    let files = common::files(root);
    let bytes: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    for f in &files {
        let rel = f
            .strip_prefix(root)
            .expect("under the tree")
            .to_string_lossy()
            .into_owned();
        az.put(CONTAINER, &rel, std::fs::read(f).expect("read a blob"));
    }
    eprintln!(
        "uploaded {} blobs, {:.1} MB",
        files.len(),
        bytes as f64 / 1e6
    );
    let url = az.url(CONTAINER);
    let (local_t, local, _) = builds(&dir, &[]);
    let (one_t, _, _) = builds(&url, &["--concurrency", "1"]);
    let (many_t, blob, blob_err) = builds(&url, &[]);
    let same = blob.replace(&url, "BASE") == local.replace(dir.trim_end_matches('/'), "BASE");
    assert!(same, "storage and local outputs differ");
    let cache = tempfile::tempdir().expect("temp dir");
    let c = cache.path().to_str().expect("UTF-8 temp path");
    let (fill_t, _, _) = builds(&url, &["--cache", c]);
    let (warm_t, _, warm_err) = builds(&url, &["--cache", c]);
    let mb = bytes as f64 / 1e6;
    for (what, t) in [
        ("local", local_t),
        ("azurite, --concurrency 1", one_t),
        ("azurite, --concurrency 16", many_t),
        ("azurite, filling --cache", fill_t),
        ("azurite, warm --cache", warm_t),
    ] {
        println!(
            "{what}: {:.2} s, {:.0} MB/s",
            t.as_secs_f64(),
            mb / t.as_secs_f64()
        );
    }
    for err in [blob_err, warm_err] {
        if let Some(l) = err.lines().find(|l| l.starts_with("aibnet: storage:")) {
            println!("{l}");
        }
    }
}

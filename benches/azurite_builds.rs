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

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as BlobPath;
use object_store::{ObjectStore, ObjectStoreExt};
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

/// A runtime for the bench's own storage requests.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Upload the tree, 16 blobs at a time.
fn upload(az: &Azurite, root: &std::path::Path, files: &[std::path::PathBuf]) {
    let store = az.store(CONTAINER);
    runtime()
        .block_on(
            futures::stream::iter(files)
                .map(|f| {
                    let rel = f
                        .strip_prefix(root)
                        .expect("under the tree")
                        .to_string_lossy()
                        .replace('\\', "/");
                    let bytes = std::fs::read(f).expect("read a blob");
                    let store = &store;
                    async move { store.put(&BlobPath::from(rel), bytes.into()).await }
                })
                .buffer_unordered(16)
                .try_collect::<Vec<_>>(),
        )
        .expect("upload");
}

/// Download every blob and drop it, `concurrency` at a time, parsing
/// nothing: the download half of a run, alone. Wall time and bytes.
fn download_only(az: &Azurite, concurrency: usize) -> (Duration, u64) {
    let store = az.store(CONTAINER);
    let t = Instant::now();
    let bytes = runtime().block_on(async {
        let metas: Vec<object_store::ObjectMeta> =
            store.list(None).try_collect().await.expect("list");
        futures::stream::iter(metas)
            .map(|m| {
                let store = &store;
                async move {
                    let got = store.get(&m.location).await.expect("get");
                    got.bytes().await.expect("body").len() as u64
                }
            })
            .buffer_unordered(concurrency)
            .fold(0u64, |a, b| async move { a + b })
            .await
    });
    (t.elapsed(), bytes)
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
    let t = Instant::now();
    upload(&az, root, &files);
    let upload_t = t.elapsed();
    eprintln!(
        "uploaded {} blobs, {:.1} MB in {:.1} s",
        files.len(),
        bytes as f64 / 1e6,
        upload_t.as_secs_f64()
    );
    let url = az.url(CONTAINER);
    // The tree is in the page cache: a second local run is the parse alone.
    let _ = builds(&dir, &[]);
    let (local_t, local, _) = builds(&dir, &[]);
    let (down_t, down_bytes) = download_only(&az, 16);
    assert_eq!(down_bytes, bytes, "every byte downloaded");
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
        ("local (parse only)", local_t),
        (
            "azurite, download only (16 at a time, nothing parsed)",
            down_t,
        ),
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
    let (p, d, r) = (
        local_t.as_secs_f64(),
        down_t.as_secs_f64(),
        many_t.as_secs_f64(),
    );
    println!(
        "overlap: the run takes {r:.2} s; parse alone {p:.2} s, download alone {d:.2} s: \
         {:.2} × the larger, {:.2} × the sum",
        r / p.max(d),
        r / (p + d)
    );
    for err in [blob_err, warm_err] {
        if let Some(l) = err.lines().find(|l| l.starts_with("aibnet: storage:")) {
            println!("{l}");
        }
    }
}

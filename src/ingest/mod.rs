//! Ingest: turn the paths a user names (files, directories walked
//! recursively, `-` for stdin) into [`Input`]s: bytes in memory (memory-mapped
//! when possible, gunzipped when compressed) with their [`Format`] detected by
//! content, never by file name.
//!
//! Errors name the path (and the offset where one applies); one bad input
//! never stops the others.

mod detect;
mod source;

pub use detect::{Format, detect};
pub use source::{
    Bytes, DiscoverError, Input, LoadError, Source, discover, load, load_all, load_with_limit,
};

use std::sync::atomic::{AtomicU64, Ordering};

/// The most a gzip stream may ever be allowed to expand to, whatever the
/// configured limit. Larger inputs are cut there and reported, keeping what
/// was read.
pub const MAX_GUNZIP_BYTES: u64 = 8 << 30;

/// The default limit on what one gzip stream may expand to (bomb
/// protection), and on what is read from stdin: 2 GiB, or an eighth of the
/// machine's memory when that is less, but at least 256 MiB. Such inputs are
/// held in memory, one per worker thread at a time, so peak memory is about
/// threads × this limit.
pub const DEFAULT_GUNZIP_BYTES: u64 = 2 << 30;

/// The smallest default (on machines with less than 2 GiB of memory).
const MIN_DEFAULT_GUNZIP_BYTES: u64 = 256 << 20;

/// The configured limit (0: not set, use the default).
static GUNZIP_LIMIT: AtomicU64 = AtomicU64::new(0);

/// The limit [`load`] applies to a gzip stream's decompressed size: the one
/// set by [`set_max_gunzip_bytes`], else the default for this machine (see
/// [`DEFAULT_GUNZIP_BYTES`]).
pub fn max_gunzip_bytes() -> u64 {
    match GUNZIP_LIMIT.load(Ordering::Relaxed) {
        0 => default_gunzip_bytes(),
        n => n,
    }
}

/// Set the decompressed-size limit for the rest of the process (the
/// `--max-gunzip` flag), capped at [`MAX_GUNZIP_BYTES`]; 0 restores the
/// default.
pub fn set_max_gunzip_bytes(limit: u64) {
    GUNZIP_LIMIT.store(limit.min(MAX_GUNZIP_BYTES), Ordering::Relaxed);
}

fn default_gunzip_bytes() -> u64 {
    match total_memory() {
        Some(total) => (total / 8).clamp(MIN_DEFAULT_GUNZIP_BYTES, DEFAULT_GUNZIP_BYTES),
        None => DEFAULT_GUNZIP_BYTES,
    }
}

/// The machine's memory in bytes (Linux: `MemTotal` of /proc/meminfo).
fn total_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limit_is_bounded_by_the_machine() {
        let d = default_gunzip_bytes();
        assert!(
            (MIN_DEFAULT_GUNZIP_BYTES..=DEFAULT_GUNZIP_BYTES).contains(&d),
            "{d}"
        );
    }
}

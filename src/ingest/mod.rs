//! Ingest: turn the paths a user names (files, directories walked
//! recursively, `-` for stdin, storage locations: [`blob`]) into [`Input`]s: bytes in memory (memory-mapped
//! when possible, gunzipped when compressed) with their [`Format`] detected by
//! content, never by file name.
//!
//! Errors name the path (and the offset where one applies); one bad input
//! never stops the others.

pub mod blob;
mod bytes;
mod detect;
mod names;
mod report;
mod select;
mod source;

pub use detect::{Format, detect};
pub use names::{blob_hour, blob_mac, short_path, short_paths};
pub use report::{InputReport, Skipped, not_evidence};
pub use select::{HEAD_BYTES, Selection, flow_log_folder};
pub use source::{
    Bytes, DiscoverError, Discovery, Input, LoadError, Source, discover, discover_with, from_bytes,
    load, load_all,
};

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

/// Bounds on what loading one input may hold in memory: a run option,
/// passed as a value to [`load`] (the `--max-gunzip` flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most a gzip stream may expand to, and what is read from stdin.
    pub max_gunzip: u64,
}

impl Default for Limits {
    /// This machine's default: see [`DEFAULT_GUNZIP_BYTES`].
    fn default() -> Self {
        Limits {
            max_gunzip: default_gunzip_bytes(),
        }
    }
}

impl Limits {
    /// A decompressed-size limit, capped at [`MAX_GUNZIP_BYTES`].
    pub fn max_gunzip(bytes: u64) -> Self {
        Limits {
            max_gunzip: bytes.min(MAX_GUNZIP_BYTES),
        }
    }
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

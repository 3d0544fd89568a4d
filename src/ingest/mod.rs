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
pub use source::{Bytes, DiscoverError, Input, LoadError, Source, discover, load, load_all};

/// Upper bound on what a gzip stream may expand to (bomb protection). Larger
/// inputs are cut there and reported, keeping what was read.
pub const MAX_GUNZIP_BYTES: u64 = 8 << 30;

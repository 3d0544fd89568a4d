//! Finding inputs on disk (or stdin) and loading their bytes.

use super::Limits;
pub use super::bytes::Bytes;
use super::bytes::map_file;
use super::detect::{Format, detect, is_gzip};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A file on disk.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// A blob of a storage location (downloaded when loaded).
    Blob(super::blob::BlobSource),
}

impl Source {
    /// The name shown to users: the path, or `-` for stdin.
    pub fn display(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Stdin => "-".to_string(),
            Source::Blob(b) => b.display().to_string(),
        }
    }

    /// The input's size before reading (on disk, or as listed); 0 for stdin.
    pub fn size(&self) -> u64 {
        match self {
            Source::File(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            Source::Stdin => 0,
            Source::Blob(b) => b.size(),
        }
    }

    /// Whether the input can be read a second time (stdin cannot).
    pub fn rereadable(&self) -> bool {
        !matches!(self, Source::Stdin)
    }
}

/// One loaded input, ready for the `capture` or `flowlog` stage.
#[derive(Debug)]
pub struct Input {
    /// Path as given (or found while walking a directory); `-` for stdin.
    pub path: String,
    /// The (decompressed) content.
    pub bytes: Bytes,
    /// Format detected from the content.
    pub format: Format,
    /// Whether the file was gzip-compressed.
    pub gzip: bool,
    /// Set when decompression stopped early (corrupt or truncated stream, the
    /// [`Limits`], or content that is no capture or flow
    /// log): the bytes before the fault are kept.
    pub warning: Option<String>,
}

impl Input {
    /// The accounting of this input before anything is read from it: its
    /// report, and the warning of loading it (a gzip stream cut short…) as
    /// its first skip.
    pub fn start_report(&self) -> (super::InputReport, Vec<super::Skipped>) {
        let report = super::InputReport::new(self.path.clone(), self.format, self.gzip);
        let skipped = self
            .warning
            .iter()
            .map(|w| super::Skipped {
                path: self.path.clone(),
                offset: None,
                reason: w.clone(),
            })
            .collect();
        (report, skipped)
    }
}

/// A path that could not be walked.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct DiscoverError {
    /// The path concerned.
    pub path: String,
    /// Why it was skipped.
    pub reason: String,
}

/// An input that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct LoadError {
    /// The path concerned.
    pub path: String,
    /// Why it could not be read.
    pub reason: String,
}

/// Expand the user's paths into sources: files as they are, directories walked
/// recursively in sorted order (symlink loops are detected and skipped), `-`
/// as stdin. Returns the sources and the paths that could not be walked.
pub fn discover(paths: &[PathBuf]) -> (Vec<Source>, Vec<DiscoverError>) {
    discover_with(paths, &Discovery::default())
}

/// How [`discover_with`] finds inputs in storage locations.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Only the blobs whose time folders can hold evidence of this window.
    pub window: super::blob::Window,
    /// Downloads and cache.
    pub remote: super::blob::RemoteOptions,
    /// What one input may hold in memory.
    pub limits: Limits,
    /// Only the flow logs of these NSGs, NICs, VNETs and subnets (storage
    /// locations and local trees alike).
    pub select: super::Selection,
}

/// [`discover`], with storage locations (`az://…`, `https://…`) listed as
/// `discovery` says.
pub fn discover_with(
    paths: &[PathBuf],
    discovery: &Discovery,
) -> (Vec<Source>, Vec<DiscoverError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut seen_dirs = HashSet::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(Source::Stdin);
            continue;
        }
        if let Some(url) = p.to_str().filter(|s| super::blob::is_remote(s)) {
            match super::blob::discover(
                url,
                discovery.window,
                &discovery.select,
                &discovery.remote,
                discovery.limits.max_gunzip,
            ) {
                Ok(v) => out.extend(v),
                Err(reason) => errors.push(DiscoverError {
                    path: super::blob::redact(url),
                    reason: super::blob::redact(&reason),
                }),
            }
            continue;
        }
        let from = out.len();
        walk(p, &mut out, &mut errors, &mut seen_dirs, 0);
        if !discovery.select.is_empty() {
            let found = out.split_off(from);
            let n = found.len();
            let kept = select_local(found, &discovery.select);
            discovery.remote.stats.files_deselected.fetch_add(
                (n - kept.len()) as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            out.extend(kept);
        }
    }
    (out, errors)
}

/// The files of a local tree the selection keeps: by their path's
/// `NETWORKSECURITYGROUPS/NAME` and `macAddress=` segments, and, for
/// `--vnet`/`--subnet`, by the target in the first record of one file per
/// flow log (`…/FLOWLOGS/NAME/`), or of each JSON file outside that layout.
fn select_local(found: Vec<Source>, select: &super::Selection) -> Vec<Source> {
    let mut verdicts: HashMap<String, bool> = HashMap::default();
    found
        .into_iter()
        .filter(|src| {
            let Source::File(p) = src else { return true };
            let path = p.to_string_lossy();
            if !select.allows_path(&path) {
                return false;
            }
            let Some(key) = select.target_key(&path) else {
                return true;
            };
            if let Some(v) = verdicts.get(key) {
                return *v;
            }
            let key = key.to_string();
            let mut head = Vec::new();
            let read = std::fs::File::open(p.as_path())
                .and_then(|f| f.take(super::HEAD_BYTES as u64).read_to_end(&mut head));
            // A file that cannot be read is kept: loading it reports why.
            let v = read.is_err() || select.head_allows(&head);
            verdicts.insert(key, v);
            v
        })
        .collect()
}

/// Directory nesting deeper than this is reported rather than followed.
const MAX_DEPTH: usize = 64;

fn walk(
    path: &Path,
    out: &mut Vec<Source>,
    errors: &mut Vec<DiscoverError>,
    seen_dirs: &mut HashSet<PathBuf>,
    depth: usize,
) {
    let err = |reason: String| DiscoverError {
        path: path.display().to_string(),
        reason,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            errors.push(err(e.to_string()));
            return;
        }
    };
    if meta.is_file() {
        out.push(Source::File(path.to_path_buf()));
        return;
    }
    if !meta.is_dir() {
        errors.push(err("not a regular file or directory".into()));
        return;
    }
    if depth >= MAX_DEPTH {
        errors.push(err(format!(
            "directory nesting deeper than {MAX_DEPTH} levels"
        )));
        return;
    }
    // Canonical paths identify a directory reached twice through symlinks.
    let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if !seen_dirs.insert(canon) {
        errors.push(err("directory already visited (symlink loop?)".into()));
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) => {
            errors.push(err(e.to_string()));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        // Hidden files (editor swap files, .gitkeep) are not evidence.
        if child
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
        {
            continue;
        }
        walk(&child, out, errors, seen_dirs, depth + 1);
    }
}

/// Load one source: map or read it, gunzip if compressed, detect its format.
/// What has to be held in memory (a gzip input's decompressed bytes, stdin)
/// is bounded by `limits`.
pub fn load(source: &Source, limits: &Limits) -> Result<Input, LoadError> {
    let gunzip_limit = limits.max_gunzip;
    let path = source.display();
    let fail = |reason: String| LoadError {
        path: path.clone(),
        reason,
    };
    let mut read_warning = None;
    let raw = match source {
        Source::Stdin => {
            let mut v = Vec::new();
            // One byte past the bound tells "at the bound" from "over"; an
            // endless stream (`cat /dev/zero |`) stops there.
            std::io::stdin()
                .lock()
                .take(gunzip_limit.saturating_add(1))
                .read_to_end(&mut v)
                .map_err(|e| fail(e.to_string()))?;
            if v.len() as u64 > gunzip_limit {
                v.truncate(usize::try_from(gunzip_limit).unwrap_or(usize::MAX));
                read_warning = Some(format!(
                    "standard input is longer than {gunzip_limit} bytes; only the first {gunzip_limit} were read"
                ));
            }
            Bytes::Owned(v)
        }
        Source::File(p) => map_file(p).map_err(|e| fail(e.to_string()))?,
        Source::Blob(b) => b.fetch().map_err(|e| fail(super::blob::redact(&e)))?,
    };
    Ok(from_raw(path, raw, read_warning, limits))
}

/// An input from bytes already in memory (a blob handed over by another
/// program): gunzipped if compressed, within `limits`, its format detected
/// by content, as [`load`] does for files.
pub fn from_bytes(path: String, raw: Vec<u8>, limits: &Limits) -> Input {
    from_raw(path, Bytes::Owned(raw), None, limits)
}

fn from_raw(path: String, raw: Bytes, read_warning: Option<String>, limits: &Limits) -> Input {
    let gunzip_limit = limits.max_gunzip;
    let (bytes, gzip, warning) = if is_gzip(&raw) {
        let (v, warn) = gunzip(&raw, gunzip_limit);
        (Bytes::Owned(v), true, warn)
    } else {
        (raw, false, None)
    };
    let warning = match (read_warning, warning) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    };
    let format = detect(&bytes);
    Input {
        path,
        bytes,
        format,
        gzip,
        warning,
    }
}

/// Load many sources in parallel, keeping their order.
pub fn load_all(sources: &[Source], limits: &Limits) -> Vec<Result<Input, LoadError>> {
    sources.par_iter().map(|s| load(s, limits)).collect()
}

/// Decompressed bytes after which content that is neither a capture nor JSON
/// stops the decompression: a gzip bomb of junk fails after this much work.
const GUNZIP_SNIFF_BYTES: usize = 1 << 20;

/// Decompress a (possibly multi-member) gzip stream, at most `limit` bytes.
/// A corrupt or truncated stream keeps what was decompressed before the fault.
/// Content that is no capture or JSON at its start is not decompressed
/// further than [`GUNZIP_SNIFF_BYTES`] (nothing would read it).
fn gunzip(compressed: &[u8], limit: u64) -> (Vec<u8>, Option<String>) {
    let decoder = flate2::read::MultiGzDecoder::new(compressed);
    // Read one byte past the limit to tell "exactly at the limit" from "over".
    let mut limited = decoder.take(limit.saturating_add(1));
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut sniffed = false;
    loop {
        if !sniffed && out.len() >= GUNZIP_SNIFF_BYTES {
            sniffed = true;
            if detect(&out) == Format::Unknown {
                let at = out.len();
                return (
                    out,
                    Some(format!(
                        "gzip content is not a capture or flow log; stopped decompressing after {at} bytes"
                    )),
                );
            }
        }
        match limited.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let room = usize::try_from(limit)
                    .unwrap_or(usize::MAX)
                    .saturating_sub(out.len());
                if n > room {
                    out.extend_from_slice(buf.get(..room).unwrap_or_default());
                    return (
                        out,
                        Some(format!(
                            "gzip stream expands beyond {limit} bytes; only the first {limit} were read"
                        )),
                    );
                }
                out.extend_from_slice(buf.get(..n).unwrap_or_default());
            }
            Err(e) => {
                let at = out.len();
                return (
                    out,
                    Some(format!(
                        "gzip stream broken after {at} decompressed bytes: {e}"
                    )),
                );
            }
        }
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gunzip_is_bounded_and_keeps_a_truncated_prefix() {
        let data = vec![b'x'; 100_000];
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&data).unwrap();
        let gz = enc.finish().unwrap();

        let (all, warn) = gunzip(&gz, 1 << 20);
        assert_eq!(all.len(), 100_000);
        assert!(warn.is_none());

        let (cut, warn) = gunzip(&gz, 1000);
        assert_eq!(cut.len(), 1000);
        assert!(warn.unwrap().contains("beyond 1000 bytes"));

        let (part, warn) = gunzip(&gz[..gz.len() / 2], 1 << 20);
        assert!(warn.unwrap().contains("broken"));
        assert!(part.len() < 100_000);
    }

    #[test]
    fn gunzip_of_junk_stops_after_the_sniff() {
        let data = vec![b'x'; 10 << 20];
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&data).unwrap();
        let gz = enc.finish().unwrap();
        let (out, warn) = gunzip(&gz, 1 << 30);
        assert!(out.len() < 2 << 20, "{}", out.len());
        assert!(warn.unwrap().contains("not a capture or flow log"));
    }
}

//! The driver: scan the records, drop identical ones, parse the rest in
//! chunks (in parallel for large files) and put the chunks' batches, counts
//! and issues together into one [`FlowLogFile`].

use super::chunk::Partial;
use super::dedupe::dedupe_records;
use super::error::Issue;
use super::{
    FlowLogBatch, FlowLogError, FlowLogFile, FlowLogIssue, FlowLogStats, IssueKind, MAX_ISSUES,
    ParseOptions, scan,
};
use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;

/// Parse one flow-log file from its bytes with default options.
///
/// # Errors
/// [`FlowLogError::NotJson`] when the input is not a JSON object or array.
/// Everything else (bad records, bad tuples, truncation) is reported in
/// [`FlowLogFile::issues`] and the rest of the file is used.
pub fn parse(path: impl Into<Arc<str>>, bytes: &[u8]) -> Result<FlowLogFile, FlowLogError> {
    parse_with(path, bytes, &ParseOptions::default())
}

/// Read and parse one file (uncompressed; gzip and directories are
/// [`ingest`](crate)'s job).
///
/// # Errors
/// [`FlowLogError::Io`] if it cannot be read, else as [`parse`].
pub fn parse_file(path: &Path) -> Result<FlowLogFile, FlowLogError> {
    let name: Arc<str> = path.to_string_lossy().into();
    let bytes = std::fs::read(path).map_err(|source| FlowLogError::Io {
        path: name.clone(),
        source,
    })?;
    parse(name, &bytes)
}

/// Parse many files in parallel (rayon), results in input order.
pub fn parse_many<P: AsRef<[u8]> + Sync>(
    inputs: &[(Arc<str>, P)],
) -> Vec<Result<FlowLogFile, FlowLogError>> {
    inputs
        .par_iter()
        .map(|(p, b)| parse(p.clone(), b.as_ref()))
        .collect()
}

/// Parse one flow-log file from its bytes.
///
/// # Errors
/// As [`parse`].
pub fn parse_with(
    path: impl Into<Arc<str>>,
    bytes: &[u8],
    opts: &ParseOptions,
) -> Result<FlowLogFile, FlowLogError> {
    let path: Arc<str> = path.into();
    let scanned = scan::scan(bytes).map_err(|e| FlowLogError::NotJson {
        path: path.clone(),
        offset: e.offset as u64,
    })?;
    let mut stats = FlowLogStats {
        bytes: bytes.len() as u64,
        records: scanned.spans.len() as u64,
        ..FlowLogStats::default()
    };
    let mut issues = Vec::new();
    for si in &scanned.issues {
        let (offset, record, kind) = match *si {
            scan::ScanIssue::NotAnObject { index, offset } => {
                stats.records = stats.records.saturating_add(1);
                stats.records_skipped = stats.records_skipped.saturating_add(1);
                (offset, Some(index), IssueKind::NotAnObject)
            }
            scan::ScanIssue::Truncated { index, offset } => (
                offset,
                Some(index),
                IssueKind::Truncated {
                    kept: u32::try_from(scanned.spans.len()).unwrap_or(u32::MAX),
                    len: bytes.len() as u64,
                },
            ),
            scan::ScanIssue::Unclosed { offset } => (offset, None, IssueKind::Unclosed),
            scan::ScanIssue::Unexpected { offset, expected } => {
                (offset, None, IssueKind::Unexpected { expected })
            }
        };
        issues.push(Issue {
            offset: offset as u64,
            record,
            kind,
        });
    }

    let (spans, dup_of) = if opts.dedupe {
        dedupe_records(bytes, &scanned.spans)
    } else {
        (scanned.spans, Vec::new())
    };

    let partials: Vec<Partial> = if bytes.len() >= opts.parallel_min_bytes && spans.len() > 1 {
        let avg = (bytes.len() / spans.len()).max(1);
        let per_chunk = (opts.chunk_bytes / avg).max(opts.min_chunk_records).max(1);
        spans
            .par_chunks(per_chunk)
            .enumerate()
            .map(|(k, chunk)| {
                let warm = (k * per_chunk).checked_sub(1).and_then(|i| spans.get(i));
                Partial::parse(bytes, chunk, warm.copied(), opts)
            })
            .collect()
    } else {
        vec![Partial::parse(bytes, &spans, None, opts)]
    };

    // Duplicate records count as read and as duplicates, tuples included.
    let per_span: Vec<u64> = partials
        .iter()
        .flat_map(|p| p.span_tuples.iter().copied())
        .collect();
    stats.records_duplicate = dup_of.len() as u64;
    for &orig in &dup_of {
        let n = per_span.get(orig).copied().unwrap_or(0);
        stats.tuples_read += n;
        stats.tuples_duplicate += n;
    }
    Ok(finish(path, partials, stats, issues))
}

/// Turn the chunks into batches and attach the path to the issues.
fn finish(
    path: Arc<str>,
    partials: Vec<Partial>,
    mut stats: FlowLogStats,
    mut issues: Vec<Issue>,
) -> FlowLogFile {
    let mut batches = Vec::with_capacity(partials.len());
    for mut p in partials {
        stats.add(&p.counts);
        issues.append(&mut p.issues);
        if !p.records.is_empty() {
            batches.push(FlowLogBatch {
                strings: p.tables.strings,
                rules: p.tables.rules,
                records: p.records,
                tuples: p.tuples,
                locals: p.locals,
            });
        }
    }
    issues.sort_by_key(|i| i.offset);
    if issues.len() > MAX_ISSUES {
        stats.issues_dropped = (issues.len() - MAX_ISSUES) as u64;
        issues.truncate(MAX_ISSUES);
    }
    let issues = issues
        .into_iter()
        .map(|i| FlowLogIssue {
            path: path.clone(),
            offset: i.offset,
            record: i.record,
            kind: i.kind,
        })
        .collect();
    FlowLogFile {
        path,
        batches,
        stats,
        issues,
    }
}

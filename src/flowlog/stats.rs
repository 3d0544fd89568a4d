//! A file's counts ([`FlowLogStats`]) and how the counts of its chunks add up.

use serde::Serialize;

/// Counts for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct FlowLogStats {
    /// Input length in bytes.
    pub bytes: u64,
    /// Complete elements found in `records` (or bare records).
    pub records: u64,
    /// Records dropped because an identical one came before.
    pub records_duplicate: u64,
    /// Records skipped because of an issue.
    pub records_skipped: u64,
    /// Tuple strings in all complete records (duplicates included).
    pub tuples_read: u64,
    /// Tuples dropped because an identical one came before (those of
    /// duplicate records included). Kept = read − duplicate − skipped.
    pub tuples_duplicate: u64,
    /// Tuples skipped because of an issue (in used or skipped records).
    pub tuples_skipped: u64,
    /// Tuples dropped by the pre-filter ([`ParseOptions::filter`](super::ParseOptions::filter)), before
    /// the duplicate check (so duplicates are counted among the tuples
    /// kept only). Kept = read − duplicate − skipped − filtered.
    pub tuples_filtered: u64,
    /// Earliest and latest time (UNIX ms) of the tuples decoded from
    /// records in use, whether the pre-filter kept them or not.
    pub ts_range: Option<(i64, i64)>,
    /// Issues beyond [`MAX_ISSUES`], counted but not kept.
    pub issues_dropped: u64,
}

/// At most this many issues are kept per file; the rest are counted.
pub const MAX_ISSUES: usize = 200;

impl FlowLogStats {
    /// Add another part's counts (a chunk's, into the file's); time ranges
    /// are joined.
    pub(super) fn add(&mut self, o: &FlowLogStats) {
        // Destructured so that a new field cannot be forgotten here.
        let FlowLogStats {
            bytes,
            records,
            records_duplicate,
            records_skipped,
            tuples_read,
            tuples_duplicate,
            tuples_skipped,
            tuples_filtered,
            ts_range,
            issues_dropped,
        } = *o;
        self.bytes += bytes;
        self.records += records;
        self.records_duplicate += records_duplicate;
        self.records_skipped += records_skipped;
        self.tuples_read += tuples_read;
        self.tuples_duplicate += tuples_duplicate;
        self.tuples_skipped += tuples_skipped;
        self.tuples_filtered += tuples_filtered;
        self.issues_dropped += issues_dropped;
        if let Some((a, b)) = ts_range {
            self.saw_time(a);
            self.saw_time(b);
        }
    }

    /// Widen the time range to include `ms`.
    #[inline(always)]
    pub(super) fn saw_time(&mut self, ms: i64) {
        self.ts_range = Some(match self.ts_range {
            Some((a, b)) => (a.min(ms), b.max(ms)),
            None => (ms, ms),
        });
    }
}

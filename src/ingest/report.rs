//! What reading an input produced, for the run's accounting: one
//! [`InputReport`] per input and a [`Skipped`] for each thing that could not
//! be read. The stages that read (`capture` through the driver, `flowlog`,
//! `builds`) fill them; reports render them.

use super::Format;
use serde::Serialize;
use std::collections::BTreeMap;

/// What happened to one input.
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    /// Path as given (or found); `-` for stdin.
    pub path: String,
    /// Detected format.
    pub format: Format,
    /// Whether it was gzip-compressed.
    pub gzip: bool,
    /// Frames (or flow tuples) read.
    pub packets: u64,
    /// Frames (or tuples) turned into session updates.
    pub decoded: u64,
    /// Of those, the ones that went into sessions: all decoded frames of a
    /// capture; the flow-log tuples a `--host`/`--port` filter admitted.
    pub used: u64,
    /// First timestamp (ns since the epoch), if any packet was read.
    #[serde(skip)]
    pub first_ts: Option<i64>,
    /// Last timestamp (ns since the epoch).
    #[serde(skip)]
    pub last_ts: Option<i64>,
    /// Timestamp precision of the input, in decimal digits.
    #[serde(skip)]
    pub ts_digits: u8,
    /// Frames not used, by reason.
    pub not_decoded: BTreeMap<&'static str, u64>,
    /// Why reading stopped early (with the byte offset), if it did.
    pub error: Option<String>,
    /// Flow logs: the addresses whose NIC logged the flows read (the local
    /// end of each tuple), sorted. A host in this list would show its
    /// command-port sessions in this input if it had any, so it can be told
    /// apart from a proxy ([`crate::topology`]).
    #[serde(skip)]
    pub logged_hosts: Vec<std::net::IpAddr>,
}

impl InputReport {
    /// A report for an input nothing has been read from yet.
    pub fn new(path: String, format: Format, gzip: bool) -> Self {
        InputReport {
            path,
            format,
            gzip,
            packets: 0,
            decoded: 0,
            used: 0,
            first_ts: None,
            last_ts: None,
            ts_digits: 6,
            not_decoded: BTreeMap::new(),
            error: None,
            logged_hosts: Vec::new(),
        }
    }
}

/// Something that could not be read: a whole input or its tail.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The input.
    pub path: String,
    /// Byte offset of the fault, when it has one.
    pub offset: Option<u64>,
    /// What was wrong.
    pub reason: String,
}

/// Reasons of [`Skipped`] inputs that are plainly not evidence: text (a
/// log, notes, a rules file), or JSON that is neither a flow log nor a
/// capture. Found by walking a folder, they are summed up on a terminal.
pub mod not_evidence {
    /// Other JSON (configuration goes to `aibnet check`; `diagnose` takes it).
    pub const JSON: &str =
        "JSON that is neither a flow log nor a capture (configuration files go to `aibnet check`)";
    /// Text, not JSON.
    pub const TEXT: &str = "text (a log or notes), not a packet capture or flow log";
    /// Text in a gzip stream.
    pub const GZIP_TEXT: &str =
        "gzip-compressed text (a log or notes), not a packet capture or flow log";

    /// The one line that sums up `n` such files found by walking folders.
    pub fn summary(n: usize) -> String {
        let files = if n == 1 { "file" } else { "files" };
        format!(
            "{n} {files} found in folders not analysed: plainly not evidence (logs, text, notes, \
             other JSON); --verbose lists them, JSON output always does"
        )
    }
}

impl Skipped {
    /// Whether the input was skipped as plainly not evidence (text or other
    /// JSON, see [`not_evidence`]), not for a fault in a capture or log.
    pub fn plainly_not_evidence(&self) -> bool {
        self.offset == Some(0)
            && [
                not_evidence::JSON,
                not_evidence::TEXT,
                not_evidence::GZIP_TEXT,
            ]
            .contains(&self.reason.as_str())
    }

    /// Split `skipped` into those to list and those found by walking a
    /// folder (not among the `named` paths) that are plainly not evidence,
    /// which a terminal sums up in one line.
    pub fn set_aside<'a>(
        skipped: &'a [Skipped],
        named: &[std::path::PathBuf],
    ) -> (Vec<&'a Skipped>, Vec<&'a Skipped>) {
        skipped.iter().partition(|s| {
            !s.plainly_not_evidence() || named.iter().any(|n| n.display().to_string() == s.path)
        })
    }
}

impl std::fmt::Display for Skipped {
    /// `path at byte N: reason`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{} at byte offset {o}: {}", self.path, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

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

impl std::fmt::Display for Skipped {
    /// `path at byte N: reason`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{} at byte offset {o}: {}", self.path, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

//! A whole build log read as a build: the dialect, the timeline (communicator
//! waits and their retries, each customizer's start and end, restarts,
//! capture, cancellation, the end), the outcome and the **point of failure**,
//! the event that ended the build (`captures/errors/logs/SPEC.md` §2–3).
//!
//! ```text
//! text ── line::read_lines ── scan::scan ── Scan (waits, customizers, ARM errors, ends …)
//!                                             ├── failure::point_of_failure ── Outcome, PointOfFailure
//!                                             └── BuildLog::timeline ── Vec<Event>
//! ```
//!
//! Nothing here classifies: [`super::classify`] reads the point of failure
//! and the lines around it.

pub mod failure;
pub mod line;
pub mod scan;

pub use failure::{Outcome, PointOfFailure, QuotedLine, Rule};
pub use line::{Dialect, Line, Origin};
pub use scan::{
    ArmError, Attempt, BuildConfig, Communicator, Customizer, CustomizerType, RetryKind, Scan,
    Wait,
};

use crate::time::Utc;
use serde::Serialize;

/// A kind of timeline event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Packer's first line: versions, VM size, image, VNET.
    BuildStart,
    /// `Waiting for WinRM/SSH to become available...`.
    CommunicatorWait,
    /// Failed attempts of one kind, grouped.
    CommunicatorRetries,
    /// `Connected to WinRM!` / `Connected to SSH!`.
    CommunicatorConnected,
    /// `Timeout waiting for WinRM.` / `Timeout waiting for SSH.`.
    CommunicatorTimeout,
    /// A customizer (Packer provisioner) starts.
    CustomizerStart,
    /// A customizer ends, with its exit code.
    CustomizerEnd,
    /// The build VM restarts.
    RestartBegin,
    /// The build VM is back.
    RestartEnd,
    /// The OS disk is captured.
    Capture,
    /// The build is cancelled (AIB's timeout, a user, a pipeline).
    Cancellation,
    /// Packer's end: succeeded, errored or cancelled.
    BuildEnd,
    /// The point of failure, when it is none of the lines above.
    Failure,
}

impl EventKind {
    /// The name as JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::BuildStart => "build_start",
            EventKind::CommunicatorWait => "communicator_wait",
            EventKind::CommunicatorRetries => "communicator_retries",
            EventKind::CommunicatorConnected => "communicator_connected",
            EventKind::CommunicatorTimeout => "communicator_timeout",
            EventKind::CustomizerStart => "customizer_start",
            EventKind::CustomizerEnd => "customizer_end",
            EventKind::RestartBegin => "restart_begin",
            EventKind::RestartEnd => "restart_end",
            EventKind::Capture => "capture",
            EventKind::Cancellation => "cancellation",
            EventKind::BuildEnd => "build_end",
            EventKind::Failure => "failure",
        }
    }
}

/// One event of the build's timeline. Fields that do not apply are absent
/// from JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// 1-based line of the event.
    pub line: usize,
    /// Its time (the line's own, or the nearest above; for a Packer run
    /// directly, the runner's local time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Utc>,
    /// What happened.
    pub event: EventKind,
    /// WinRM or SSH.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub communicator: Option<Communicator>,
    /// The communicator's timeout (`10m0s`), from Packer's log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Seconds from the wait to this event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_s: Option<i64>,
    /// How the grouped attempts failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<RetryKind>,
    /// How many attempts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// The last attempt's line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_line: Option<usize>,
    /// The last attempt's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_time: Option<Utc>,
    /// Attempts that failed before the communicator connected: normal while
    /// the VM boots, never a finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transient: Option<bool>,
    /// The customizer: `<Type> #<rank>`, `<Type>: <name>` with the template's
    /// names, or AIB's own steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customizer: Option<String>,
    /// The customizer's type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub customizer_type: Option<CustomizerType>,
    /// Its rank among the template's customizers (1-based; AIB's own steps have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    /// A file customizer's destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// A script customizer's temporary script.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// The customizer's exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// The signal that cancelled the build (`terminated`, `interrupt`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// Time from the log's first line to this event, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_since_first_line: Option<String>,
    /// The same, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<i64>,
    /// The build's outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Packer's final error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What was captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
    /// More about the event (versions and VM of the build's start, the
    /// reason of a failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Event {
    /// An event with no detail yet.
    pub fn new(event: EventKind, line: usize, time: Option<Utc>) -> Event {
        Event {
            line,
            time,
            event,
            communicator: None,
            timeout: None,
            after_s: None,
            kind: None,
            count: None,
            last_line: None,
            last_time: None,
            transient: None,
            customizer: None,
            customizer_type: None,
            rank: None,
            target: None,
            script: None,
            exit_code: None,
            signal: None,
            elapsed_since_first_line: None,
            elapsed_s: None,
            outcome: None,
            error: None,
            what: None,
            detail: None,
        }
    }
}

/// A build log, read.
#[derive(Debug, Clone)]
pub struct BuildLog<'a> {
    /// Who wrote it.
    pub dialect: Dialect,
    /// Every line.
    pub lines: Vec<Line<'a>>,
    /// What the lines say about the build.
    pub scan: Scan,
    /// How the build ended.
    pub outcome: Outcome,
    /// The event that ended it (none when it succeeded or is incomplete).
    pub failure: Option<PointOfFailure>,
}

/// How many lines must be Packer's before a text is read as a log rather
/// than as a pasted message.
const MIN_PACKER_LINES: usize = 1;

impl<'a> BuildLog<'a> {
    /// Read a text as a build log: `None` when no line is a Packer line or
    /// nothing in it is a build event (a pasted message is explained by its
    /// words alone).
    pub fn read(text: &'a str) -> Option<BuildLog<'a>> {
        let (lines, dialect) = line::read_lines(text);
        let packer_lines = lines
            .iter()
            .filter(|l| !matches!(l.origin, Origin::Other))
            .count();
        let dialect = dialect?;
        if packer_lines < MIN_PACKER_LINES {
            return None;
        }
        let scan = scan::scan(&lines);
        if !scan.has_build_events() {
            return None;
        }
        let (outcome, failure) = failure::point_of_failure(&lines, &scan);
        Some(BuildLog {
            dialect,
            lines,
            scan,
            outcome,
            failure,
        })
    }

    /// The line numbered `no`.
    pub fn line(&self, no: usize) -> Option<&Line<'a>> {
        self.lines.get(no.checked_sub(1)?)
    }

    /// The time of the log's first timed line.
    pub fn first_time(&self) -> Option<Utc> {
        self.lines.iter().find_map(|l| l.time)
    }

    /// The build's timeline, in line order. `names` are the template's
    /// customizer names by rank (from `az image builder show`), when known.
    pub fn timeline(&self, names: &[(String, String)]) -> Vec<Event> {
        let mut out = self.scan.events(&self.lines, names, self.first_time());
        if let Some(end) = failure::end_event(&self.scan, self.outcome) {
            out.push(end);
        }
        if let Some(f) = &self.failure
            && let Some(no) = f.line
            && !out.iter().any(|e| e.line == no)
        {
            let mut e = Event::new(EventKind::Failure, no, f.time);
            e.detail = Some(f.reason.clone());
            out.push(e);
        }
        // Stable: events of one line keep the order they were made in.
        out.sort_by_key(|e| e.line);
        out
    }
}

/// A duration in Packer's words (`1 hour 57 minutes 50 seconds`).
pub fn duration_text(secs: i64) -> String {
    let secs = secs.max(0);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let unit = |n: i64, word: &str| {
        if n == 1 {
            format!("1 {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(unit(h, "hour"));
    }
    if m > 0 || h > 0 {
        parts.push(unit(m, "minute"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(unit(s, "second"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_packer() {
        assert_eq!(duration_text(0), "0 seconds");
        assert_eq!(duration_text(61), "1 minute 1 second");
        assert_eq!(duration_text(7020), "1 hour 57 minutes");
        assert_eq!(duration_text(7241), "2 hours 0 minutes 41 seconds");
    }

    #[test]
    fn a_pasted_message_is_not_a_log() {
        assert!(BuildLog::read("Timeout waiting for SSH.").is_none());
        assert!(BuildLog::read("").is_none());
    }
}

//! A whole build log read as a build: the dialect, the timeline (communicator
//! waits and their retries, each customizer's start and end, restarts,
//! capture, cancellation, the end), the outcome and the **point of failure**,
//! the event that ended the build (`captures/errors/logs/SPEC.md` §2–3).
//!
//! ```text
//! text ── line::read_lines ── scan::scan ── Scan (waits, customizers, ARM errors, ends …)
//!                                             ├── failure::point_of_failure ── BuildOutcome, Terminal
//!                                             └── BuildLog::timeline ── Vec<Event>
//! ```
//!
//! Nothing here classifies: [`super::classify`] reads the point of failure
//! and the lines around it.

pub mod failure;
pub mod line;
pub mod scan;

pub use failure::{PointOfFailure, QuotedLine, Rule, Terminal};
pub use line::{Dialect, Line, Origin};
pub use scan::{AibStep, At, Customizer, RetryKind, Scan, Wait};

use crate::aib::{BuildOutcome, Communicator, CustomizerType};
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
    pub outcome: Option<BuildOutcome>,
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
    pub outcome: BuildOutcome,
    /// The event that ended it (none when it succeeded or the log is cut).
    pub terminal: Option<Terminal>,
}

impl<'a> BuildLog<'a> {
    /// Read a text as a build log: `None` when no line is a Packer line or
    /// nothing in it is a build event (a pasted message is explained by its
    /// words alone).
    pub fn read(text: &'a str) -> Option<BuildLog<'a>> {
        let (lines, dialect) = line::read_lines(text);
        let dialect = dialect?;
        let mut scan = scan::scan(&lines);
        if !scan.has_build_events() {
            return None;
        }
        // AIB stops its container with SIGTERM; only a run by hand says
        // which signal it got.
        if dialect != Dialect::Direct
            && let Some(c) = &mut scan.cancellation
            && c.signal.is_none()
        {
            c.signal = Some("terminated".to_string());
        }
        let (outcome, terminal) = failure::point_of_failure(&scan);
        Some(BuildLog {
            dialect,
            lines,
            scan,
            outcome,
            terminal,
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

    /// Whether AIB wrote the log (its prefix or its own markers), rather
    /// than Packer run by hand.
    pub fn by_aib(&self) -> bool {
        self.dialect != Dialect::Direct || self.scan.aib_markers > 0
    }

    /// The label of a customizer: AIB's own steps by what they do, the
    /// template's by type and rank (`PowerShell #2`), or by the name the
    /// template gives that rank.
    pub fn customizer_label(&self, c: &Customizer, names: &[String]) -> String {
        match c.aib_step {
            Some(AibStep::DeprovisionUpload) => "AIB: deprovisioning script upload".to_string(),
            Some(AibStep::Deprovision) => "AIB: deprovision".to_string(),
            None => {
                let rank = self.rank(c);
                match rank.and_then(|r| names.get(r.checked_sub(1)?)) {
                    Some(name) => format!("{}: {name}", c.kind.template_name()),
                    None => match rank {
                        Some(r) => format!("{} #{r}", c.kind.template_name()),
                        None => c.kind.template_name().to_string(),
                    },
                }
            }
        }
    }

    /// A customizer's rank among the template's own (AIB's steps excluded).
    pub fn rank(&self, c: &Customizer) -> Option<usize> {
        if c.aib_step.is_some() {
            return None;
        }
        let mut rank = 0;
        for other in &self.scan.customizers {
            if other.aib_step.is_none() {
                rank += 1;
            }
            if other.start.line == c.start.line {
                return Some(rank);
            }
        }
        None
    }

    /// The build's timeline, in line order. `names` are the template's
    /// customizer names by rank (from `az image builder show`), when known.
    pub fn timeline(&self, names: &[String]) -> Vec<Event> {
        let s = &self.scan;
        let first = self.first_time();
        let mut out = Vec::new();
        if let Some(at) = s.build_start {
            let mut e = Event::new(EventKind::BuildStart, at.line, at.time);
            e.detail = build_detail(s);
            out.push(e);
        }
        for w in &s.waits {
            let mut e = Event::new(EventKind::CommunicatorWait, w.at.line, w.at.time);
            e.communicator = Some(w.communicator);
            e.timeout = w.timeout.clone();
            out.push(e);
            let transient = w.connected.is_some();
            for group in w.attempts.chunk_by(|a, b| a.kind == b.kind) {
                let (Some(a), Some(z)) = (group.first(), group.last()) else {
                    continue;
                };
                let mut e = Event::new(EventKind::CommunicatorRetries, a.at.line, a.at.time);
                e.kind = Some(a.kind);
                e.count = Some(group.len());
                e.last_line = Some(z.at.line);
                e.last_time = z.at.time;
                e.transient = Some(transient);
                out.push(e);
            }
            if let Some(at) = w.connected {
                let mut e = Event::new(EventKind::CommunicatorConnected, at.line, at.time);
                e.communicator = Some(w.communicator);
                e.after_s = seconds(w.at.time, at.time);
                out.push(e);
            }
            if let Some(at) = w.timed_out {
                let mut e = Event::new(EventKind::CommunicatorTimeout, at.line, at.time);
                e.communicator = Some(w.communicator);
                e.after_s = seconds(w.at.time, at.time);
                out.push(e);
            }
        }
        for c in &s.customizers {
            let label = self.customizer_label(c, names);
            let mut e = Event::new(EventKind::CustomizerStart, c.start.line, c.start.time);
            e.customizer = Some(label.clone());
            e.customizer_type = Some(c.kind);
            e.rank = self.rank(c);
            e.script = c.script.clone();
            e.target = c.target.clone();
            out.push(e);
            if let Some(at) = c.end {
                let mut e = Event::new(EventKind::CustomizerEnd, at.line, at.time);
                e.customizer = Some(label);
                e.customizer_type = Some(c.kind);
                e.exit_code = c.exit_code;
                out.push(e);
            }
        }
        for (begin, end) in &s.restarts {
            out.push(Event::new(EventKind::RestartBegin, begin.line, begin.time));
            if let Some(at) = end {
                out.push(Event::new(EventKind::RestartEnd, at.line, at.time));
            }
        }
        for (at, what) in &s.captures {
            let mut e = Event::new(EventKind::Capture, at.line, at.time);
            e.what = Some((*what).to_string());
            out.push(e);
        }
        if let Some(c) = &s.cancellation {
            let mut e = Event::new(EventKind::Cancellation, c.at.line, c.at.time);
            e.signal = c.signal.clone();
            e.elapsed_s = seconds(first, c.at.time);
            e.elapsed_since_first_line = e.elapsed_s.map(minutes_text);
            out.push(e);
        }
        if let Some(end) = failure::end_event(s, self.outcome) {
            out.push(end);
        }
        if let Some(t) = &self.terminal
            && !out.iter().any(|e| e.line == t.at.line)
        {
            let mut e = Event::new(EventKind::Failure, t.at.line, t.at.time);
            e.detail = Some(t.reason.clone());
            out.push(e);
        }
        // Stable: events of one line keep the order they were made in.
        out.sort_by_key(|e| e.line);
        out
    }
}

/// Seconds from `a` to `b`, when both are known.
pub fn seconds(a: Option<Utc>, b: Option<Utc>) -> Option<i64> {
    Some(b?.0 - a?.0)
}

/// The versions, VM size, image and VNET of the configuration dump.
fn build_detail(s: &Scan) -> Option<String> {
    let c = &s.config;
    let image = match (&c.image_publisher, &c.image_offer, &c.image_sku) {
        (Some(p), Some(o), Some(k)) => Some(format!("image {p}/{o}/{k}")),
        _ => None,
    };
    let vnet = c.vnet.as_ref().map(|v| match &c.subnet {
        Some(sub) => format!("VNET {v}/{sub}"),
        None => format!("VNET {v}"),
    });
    let parts: Vec<String> = [
        c.packer_version.as_ref().map(|v| format!("Packer {v}")),
        c.vm_size.as_ref().map(|v| format!("VM size {v}")),
        image,
        vnet,
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// A duration to the minute (`1 hour 57 minutes`), as the log's clock is
/// not AIB's (SPEC.md §6.4).
pub fn minutes_text(secs: i64) -> String {
    duration_text(secs.max(0) / 60 * 60)
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

//! How the build ended and the **point of failure**: the line of the event
//! that ended it (SPEC.md §3 of `captures/errors/logs/`). The earliest
//! terminal event wins; everything after it is a consequence (the lines a
//! cancellation leaves behind are not a broken session).

use super::line::Line;
use super::scan::{At, SESSION_LOST_STATUS, Scan};
use super::{Event, EventKind};
use crate::aib::BuildOutcome;
use crate::time::Utc;
use serde::Serialize;

/// Which rule of SPEC.md §3 chose the point of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Packer could not prepare the build (a missing plugin, a bad template).
    PrepareError,
    /// An ARM error of a deployment step: its deepest line.
    ArmError,
    /// The communicator gave up (`Timeout waiting for WinRM/SSH.`).
    CommunicatorTimeout,
    /// A customizer's command exited non-zero.
    CustomizerExit,
    /// The session to the build VM was lost before any cancellation.
    SessionLost,
    /// The restart never completed, or the plugin died.
    RestartFailed,
    /// The build was cancelled before anything else failed.
    Cancellation,
    /// Only Packer's final error says what happened.
    PackerError,
    /// The run status message (`az image builder show`).
    RunStatus,
    /// The line of a pasted text or configuration that carries the cause.
    DecisiveLine,
}

impl Rule {
    /// Name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::PrepareError => "prepare_error",
            Rule::ArmError => "arm_error",
            Rule::CommunicatorTimeout => "communicator_timeout",
            Rule::CustomizerExit => "customizer_exit",
            Rule::SessionLost => "session_lost",
            Rule::RestartFailed => "restart_failed",
            Rule::Cancellation => "cancellation",
            Rule::PackerError => "packer_error",
            Rule::RunStatus => "run_status",
            Rule::DecisiveLine => "decisive_line",
        }
    }
}

/// A line quoted as evidence: its number and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotedLine {
    /// 1-based line number in the input.
    pub line: usize,
    /// The line as it is (cut at 300 characters).
    pub text: String,
}

/// The event that ended the build.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointOfFailure {
    /// 1-based line number.
    pub line: usize,
    /// Its time (absent for texts without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Utc>,
    /// The line as it is (cut at 300 characters).
    pub text: String,
    /// Which rule chose it.
    pub rule: Rule,
    /// What happened, in words.
    pub reason: String,
    /// The lines that show why (the last failed attempt, the script's
    /// error record, the resolution errors before it …).
    pub cause_lines: Vec<QuotedLine>,
}

/// Lines quoted in evidence are cut here (never their numbers).
pub const MAX_QUOTE: usize = 300;

/// A line's text, cut at [`MAX_QUOTE`] characters.
pub fn quote(raw: &str) -> String {
    let line = raw.trim();
    let mut cut: String = line.chars().take(MAX_QUOTE).collect();
    if cut.len() < line.len() {
        cut.push('…');
    }
    cut
}

/// A quoted line of the log.
pub fn quoted(lines: &[Line<'_>], no: usize) -> Option<QuotedLine> {
    let l = lines.get(no.checked_sub(1)?)?;
    Some(QuotedLine {
        line: no,
        text: quote(l.raw),
    })
}

/// The event that ended a build, before the classifier reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    /// Its line.
    pub at: At,
    /// Which rule chose it.
    pub rule: Rule,
    /// What happened, in words.
    pub reason: String,
}

/// The outcome and the terminal event (without cause lines: the classifier
/// knows which lines explain it).
pub fn point_of_failure(scan: &Scan) -> (BuildOutcome, Option<Terminal>) {
    let errored = scan.end.as_ref().filter(|e| !e.finished);
    if scan.end.as_ref().is_some_and(|e| e.finished) {
        return (BuildOutcome::Succeeded, None);
    }
    let mut candidates: Vec<(At, Rule, String)> = Vec::new();
    if let Some(at) = scan.prepare_error {
        candidates.push((
            at,
            Rule::PrepareError,
            "Packer could not prepare the build".into(),
        ));
    }
    if let Some(e) = deepest_arm_error(scan) {
        candidates.push((e, Rule::ArmError, "an Azure deployment step failed".into()));
    }
    if let Some(w) = scan.waits.iter().find(|w| w.timed_out.is_some())
        && let Some(at) = w.timed_out
    {
        candidates.push((
            at,
            Rule::CommunicatorTimeout,
            format!("Timeout waiting for {}.", w.communicator.label()),
        ));
    }
    if let Some(c) = scan.customizers.iter().find(|c| {
        c.exit_code
            .is_some_and(|x| x != 0 && x != SESSION_LOST_STATUS)
    }) && let (Some(at), Some(code)) = (c.end, c.exit_code)
    {
        candidates.push((
            at,
            Rule::CustomizerExit,
            format!("provisioner exit status {code}"),
        ));
    }
    let cancelled_at = scan.cancellation.as_ref().map(|c| c.at.line);
    if let Some(at) = scan
        .session_lost
        .iter()
        .find(|s| cancelled_at.is_none_or(|c| s.line < c))
    {
        candidates.push((
            *at,
            Rule::SessionLost,
            "the session to the build VM was lost (no exit status)".into(),
        ));
    }
    if let Some(at) = scan.restart_timeouts.first() {
        candidates.push((
            *at,
            Rule::RestartFailed,
            "the restart did not complete in time".into(),
        ));
    }
    if let Some(e) = errored
        && e.error
            .as_deref()
            .is_some_and(|x| x.contains("unexpected EOF"))
    {
        candidates.push((
            e.at,
            Rule::RestartFailed,
            "the plugin process died (RPC unexpected EOF)".into(),
        ));
    }
    if let Some(c) = &scan.cancellation {
        let who = match c.signal.as_deref() {
            Some("interrupt") => "interrupted (Ctrl-C)".to_string(),
            Some(sig) => format!("cancelled (received {sig})"),
            None => "cancelled".to_string(),
        };
        candidates.push((c.at, Rule::Cancellation, who));
    }
    candidates.sort_by_key(|(at, _, _)| at.line);
    let first = candidates.into_iter().next();
    let outcome = match (&scan.cancellation, errored, &first) {
        (Some(c), e, _) if e.is_none_or(|e| c.at.line < e.at.line) => {
            // A cancellation of a build that had already failed is still
            // the end of an errored build.
            if first.as_ref().is_some_and(|f| f.1 != Rule::Cancellation) {
                BuildOutcome::Errored
            } else {
                BuildOutcome::Cancelled
            }
        }
        (_, Some(_), _) | (_, _, Some(_)) => BuildOutcome::Errored,
        _ => BuildOutcome::Incomplete,
    };
    let pof = first.or_else(|| {
        errored.map(|e| {
            (
                e.at,
                Rule::PackerError,
                e.error
                    .clone()
                    .unwrap_or_else(|| "Packer's build errored".into()),
            )
        })
    });
    (
        outcome,
        pof.map(|(at, rule, reason)| Terminal { at, rule, reason }),
    )
}

/// The deepest line of the first ARM error tree (consecutive `ERROR:` lines).
fn deepest_arm_error(scan: &Scan) -> Option<At> {
    let first = scan.arm_errors.first()?;
    let mut best = first;
    let mut prev = first.at.line;
    for e in scan.arm_errors.iter().skip(1) {
        // A tree is printed in one go; a gap of more than a few lines
        // starts another error (a later cleanup's).
        if e.at.line > prev + 3 {
            break;
        }
        if e.depth > best.depth {
            best = e;
        }
        prev = e.at.line;
    }
    Some(best.at)
}

/// The `build_end` event of the timeline.
pub fn end_event(scan: &Scan, outcome: BuildOutcome) -> Option<Event> {
    match outcome {
        BuildOutcome::Cancelled => {
            let c = scan.cancellation.as_ref()?;
            let mut e = Event::new(EventKind::BuildEnd, c.at.line, c.at.time);
            e.outcome = Some(outcome);
            Some(e)
        }
        _ => {
            let end = scan.end.as_ref()?;
            let mut e = Event::new(EventKind::BuildEnd, end.at.line, end.at.time);
            e.outcome = Some(if end.finished {
                BuildOutcome::Succeeded
            } else {
                BuildOutcome::Errored
            });
            e.error = end.error.clone();
            Some(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::BuildLog;
    use super::*;

    const OP: &str = "[77e1f3a9-2b4c-4d6e-8f0a-1b3c5d7e9f11] PACKER";

    fn read(lines: &[&str]) -> (BuildOutcome, Option<Terminal>) {
        let text: Vec<String> = lines.iter().map(|l| format!("{OP} {l}")).collect();
        let text = text.join("\n");
        let log = BuildLog::read(&text).expect("a log");
        (log.outcome, log.terminal)
    }

    const START: &str = "2024/12/01 03:00:00 [INFO] Packer version: 1.10.3";
    const SCRIPT: &str =
        "2024/12/01 03:10:00 ui: ==> azure-arm: Provisioning with shell script: /tmp/s";
    const LOST: &str = "2024/12/01 03:14:15 packer-plugin-azure plugin: [ERROR] Remote command exited without exit status or exit signal.";
    const CANCEL: &str =
        "2024/12/01 03:14:16 Cancelling builder after context cancellation context canceled";

    #[test]
    fn a_lost_session_before_the_cancellation_is_the_failure() {
        let (outcome, t) = read(&[START, SCRIPT, LOST, CANCEL]);
        assert_eq!(outcome, BuildOutcome::Errored);
        let t = t.expect("a point of failure");
        assert_eq!((t.rule, t.at.line), (Rule::SessionLost, 3));
    }

    #[test]
    fn a_lost_session_after_the_cancellation_is_its_consequence() {
        let (outcome, t) = read(&[START, SCRIPT, CANCEL, LOST]);
        assert_eq!(outcome, BuildOutcome::Cancelled);
        let t = t.expect("a point of failure");
        assert_eq!((t.rule, t.at.line), (Rule::Cancellation, 3));
    }

    #[test]
    fn the_earliest_terminal_event_wins_and_a_finished_build_has_none() {
        let (outcome, t) = read(&[
            START,
            "2024/12/01 03:01:00 ui: ==> azure-arm: Waiting for SSH to become available...",
            "2024/12/01 03:21:00 ui error: ==> azure-arm: Timeout waiting for SSH.",
            "2024/12/01 03:21:01 ui: ==> azure-arm: ERROR: -> ResourceDeletionFailure : x",
            "2024/12/01 03:22:00 ui error: Build 'azure-arm' errored after 22 minutes: Timeout waiting for SSH.",
        ]);
        assert_eq!(outcome, BuildOutcome::Errored);
        let t = t.expect("a point of failure");
        assert_eq!((t.rule, t.at.line), (Rule::CommunicatorTimeout, 3));

        let (outcome, t) = read(&[
            START,
            "2024/12/01 03:22:00 ui: Build 'azure-arm' finished after 22 minutes.",
        ]);
        assert_eq!((outcome, t), (BuildOutcome::Succeeded, None));

        // No end, no failure: cut (still running, or fetched while it ran).
        let (outcome, t) = read(&[START, SCRIPT]);
        assert_eq!((outcome, t), (BuildOutcome::Incomplete, None));
    }

    #[test]
    fn the_deepest_arm_error_names_the_cause() {
        let (_, t) = read(&[
            START,
            "2025/09/23 04:31:43 ui: ==> azure-arm: ERROR: -> DeploymentFailed : At least one resource deployment operation failed.",
            "==> azure-arm: ERROR:   -> SubnetIsFull : Subnet s with address prefix 10.0.0.0/29 does not have enough capacity for 1 IP addresses.",
        ]);
        let t = t.expect("a point of failure");
        assert_eq!((t.rule, t.at.line), (Rule::ArmError, 3));
    }

    #[test]
    fn quotes_are_cut_at_a_character_boundary() {
        let long = "é".repeat(400);
        let q = quote(&long);
        assert_eq!(q.chars().count(), MAX_QUOTE + 1);
        assert!(q.ends_with('…'));
        assert_eq!(quote("  short  "), "short");
    }
}

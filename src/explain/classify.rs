//! What the point of failure of a whole build means: a class of the
//! failure table (F1–F22) or one of the build's own ([`BUILD_CLASSES`]),
//! with the lines that show it (`captures/errors/logs/SPEC.md` §4).
//!
//! Phase gating: texts before the communicator connected count only when
//! they last until it gave up (boot transients are never findings); after
//! it connected, a network class needs its own evidence in the failing
//! customizer's output (F14, F22) or the session lost before any
//! cancellation (F15). A cancellation is never F15.
//!
//! [`BUILD_CLASSES`]: super::catalogue::BUILD_CLASSES

use super::catalogue::Class;
use super::extract::{Extracted, re};
use super::input::JsonHints;
use super::log::failure::quote;
use super::log::{BuildLog, Customizer, RetryKind, Rule, Terminal, minutes_text, seconds};
use super::rank;
use crate::aib::{DEFAULT_BUILD_TIMEOUT_MINUTES, Os};
use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

/// What a whole build's failure says beyond its class: the values its
/// explanation, fix and plan are filled with. Absent facts are omitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Detail {
    /// A customizer failure's kind: `powershell_parse_error`,
    /// `package_install_failed`, `deprovision_failed`, `script_error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// The failing (or running) customizer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customizer: Option<String>,
    /// Its exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// The first error its output shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The command that failed, when the output names it (npm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_command: Option<String>,
    /// The HTTP status a server answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The URL of the failed download (without its query: a SAS is a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The storage account the failure names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_account: Option<String>,
    /// The error code of the answer (`AuthorizationFailure`, `SubnetIsFull` …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Who made the failed request (the build VM, or AIB's container).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<&'static str>,
    /// Why, when the answer says more (an expired SAS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The template's `buildTimeoutInMinutes` (0 read as 240), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_timeout_minutes: Option<u64>,
    /// How long the build had run when it ended, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed: Option<String>,
    /// The same, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<i64>,
    /// How long the running customizer had printed nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub silent_for: Option<String>,
    /// How the communicator's attempts failed, and how many there were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<String>,
    /// Where Packer ran (Packer run directly).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner: Option<&'static str>,
    /// The address and port Packer dialled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The phase of the run that failed (`distribution`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<&'static str>,
}

/// A whole build's failure, classified.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    /// The best class.
    pub class: Class,
    /// 0–1.
    pub confidence: f64,
    /// The lines that show why (line numbers of the input).
    pub cause_lines: Vec<usize>,
    /// Other readings of the same lines, with their confidence.
    pub alternatives: Vec<(Class, f64)>,
    /// The values of the failure.
    pub detail: Detail,
    /// What happened, in words (replaces the rule's generic reason).
    pub reason: Option<String>,
    /// Caveats.
    pub notes: Vec<String>,
}

impl Classified {
    /// A class with nothing else known yet.
    pub fn new(class: Class, confidence: f64) -> Classified {
        Classified {
            class,
            confidence,
            cause_lines: Vec::new(),
            alternatives: Vec::new(),
            detail: Detail::default(),
            reason: None,
            notes: Vec::new(),
        }
    }
}

/// How much a class found at the point of failure is surer than its text
/// alone: the rest of its doubt shrinks by this share.
const AT_THE_POINT: f64 = 0.4;

fn at_the_point(c: f64) -> f64 {
    round(1.0 - (1.0 - c) * (1.0 - AT_THE_POINT))
}

fn round(c: f64) -> f64 {
    (c.clamp(0.0, 1.0) * 100.0).round() / 100.0
}

/// Score the catalogue's signals on a range of the log's lines (1-based,
/// inclusive), with line numbers mapped back to the log's.
fn score_lines(log: &BuildLog<'_>, from: usize, to: usize, x: &Extracted) -> Vec<rank::Scored> {
    let lines: Vec<&str> = log
        .lines
        .iter()
        .skip(from.saturating_sub(1))
        .take(to.saturating_add(1).saturating_sub(from))
        .map(|l| l.raw)
        .collect();
    let text = lines.join("\n");
    let mut scored = rank::score(&text, false, x, x.os);
    for s in &mut scored {
        for e in &mut s.evidence {
            e.line = e.line.map(|l| l + from - 1);
        }
    }
    scored
}

/// Classify a build log's point of failure. `None`: the build succeeded,
/// the log is cut, or nothing known explains the failure.
pub fn classify(log: &BuildLog<'_>, run: Option<&JsonHints>, x: &Extracted) -> Option<Classified> {
    let t = log.terminal.as_ref()?;
    let mut c = match t.rule {
        Rule::ArmError => arm_error(log, t, x),
        Rule::CommunicatorTimeout => communicator_timeout(log, t, x),
        Rule::CustomizerExit => customizer_exit(log, t, x),
        Rule::SessionLost => Some(session_lost(log, t)),
        Rule::RestartFailed => Some(restart_failed(log, t)),
        Rule::Cancellation => Some(cancellation(log, t, run)),
        Rule::PackerError => packer_error(log, t, x),
        Rule::PrepareError | Rule::RunStatus | Rule::DecisiveLine => None,
    }?;
    c.cause_lines.retain(|&l| l != t.at.line);
    c.cause_lines.dedup();
    Some(c)
}

/// Rule 1: the ARM error tree says what it is.
fn arm_error(log: &BuildLog<'_>, t: &Terminal, x: &Extracted) -> Option<Classified> {
    let first = log.scan.arm_errors.first()?.at.line;
    // The tree and the `ui error:` line that repeats it.
    let scored = score_lines(log, first, t.at.line.max(first) + 2, x);
    let best = scored.into_iter().next()?;
    let mut c = Classified::new(best.class, at_the_point(best.confidence));
    c.detail.code = log
        .scan
        .arm_errors
        .iter()
        .find(|e| e.at.line == t.at.line)
        .map(|e| e.code.clone());
    c.reason = Some(format!(
        "ARM refused a deployment step ({})",
        c.detail.code.as_deref().unwrap_or("error")
    ));
    Some(c)
}

/// Whether the source image is a hardened (CIS) one, by its name.
fn hardened_image(log: &BuildLog<'_>) -> bool {
    let cfg = &log.scan.config;
    [&cfg.image_publisher, &cfg.image_offer, &cfg.image_sku]
        .into_iter()
        .flatten()
        .any(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("cis") || v.contains("hardened") || v.contains("stig")
        })
}

/// Rule 2: the communicator gave up; the kind of the attempts decides.
fn communicator_timeout(log: &BuildLog<'_>, t: &Terminal, x: &Extracted) -> Option<Classified> {
    let wait = log
        .scan
        .waits
        .iter()
        .find(|w| w.timed_out.is_some_and(|a| a.line == t.at.line))?;
    // The kind most attempts failed with (the last one on a tie).
    let mut counts: Vec<(RetryKind, usize)> = Vec::new();
    for a in &wait.attempts {
        match counts.iter_mut().find(|(k, _)| *k == a.kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((a.kind, 1)),
        }
    }
    let last = wait.attempts.last();
    let dominant = counts
        .iter()
        .copied()
        .max_by_key(|(k, n)| (*n, last.is_some_and(|a| a.kind == *k)))
        .map(|(k, _)| k);
    let attempts = dominant.map(|k| {
        let n = counts
            .iter()
            .find(|(kk, _)| *kk == k)
            .map_or(0, |(_, n)| *n);
        format!("{n} of {} attempts: {}", wait.attempts.len(), k.as_str())
    });
    let by_aib = log.by_aib();
    use Class::*;
    let mut c = match dominant {
        _ if !by_aib => {
            let answered = dominant.is_some_and(RetryKind::answered);
            let [(lead, confidence), alternative] = super::catalogue::outside_aib(answered);
            let mut c = Classified::new(lead, confidence);
            c.alternatives.push(alternative);
            c.detail.runner = log
                .scan
                .runner
                .or(Some("Packer outside AIB (no AIB markers)"));
            c.detail.target = x
                .build_vm_ip
                .as_ref()
                .map(|ip| format!("{ip}:{}", x.port.unwrap_or(wait.communicator.port())));
            c
        }
        Some(RetryKind::ProxyTimeout | RetryKind::BastionTimeout) => {
            let mut c = Classified::new(ProxyCommandChannelBlocked, 0.92);
            c.alternatives.push((HealthProbeBlocked, 0.6));
            c
        }
        Some(RetryKind::ProxyRefused | RetryKind::BastionRefused) => {
            Classified::new(ProxyCommandChannelBlocked, 0.8)
        }
        Some(RetryKind::Deadline) => {
            let mut c = Classified::new(ProxyToBuildVmBlocked, 0.85);
            c.alternatives.push((AciToBuildVmBlocked, 0.3));
            c
        }
        Some(RetryKind::ChanTimeout) => Classified::new(ProxyToBuildVmBlocked, 0.85),
        Some(RetryKind::DirectTimeout) => {
            let mut c = Classified::new(AciToBuildVmBlocked, 0.85);
            c.alternatives.push((ProxyToBuildVmBlocked, 0.3));
            c
        }
        Some(
            RetryKind::Unauthorized | RetryKind::Refused | RetryKind::Auth | RetryKind::ChanRefused,
        ) => {
            let hardened = hardened_image(log)
                || (wait.communicator.os() == Os::Windows
                    && score_lines(log, wait.at.line, t.at.line, x)
                        .iter()
                        .any(|s| s.class == WinrmBrokenByHardening && s.confidence >= 0.5));
            if hardened && dominant == Some(RetryKind::Unauthorized) {
                let mut c = Classified::new(WinrmBrokenByHardening, 0.8);
                c.alternatives.push((SourceImageDefect, 0.3));
                c
            } else {
                // Every attempt was answered: the VM is reachable, and an
                // NSG deny never answers.
                let mut c = Classified::new(SourceImageDefect, 0.35);
                let alt = if dominant == Some(RetryKind::ChanRefused) {
                    ProxyToBuildVmBlocked
                } else if dominant == Some(RetryKind::Unauthorized) {
                    WinrmBrokenByHardening
                } else {
                    AciToBuildVmBlocked
                };
                c.alternatives.push((alt, 0.3));
                c.alternatives.push((BuildVmResourceExhaustion, 0.2));
                c
            }
        }
        _ => {
            // No attempt reported, or of an unknown kind: the catalogue's
            // reading of the wait, the timeout line included.
            let scored = score_lines(log, wait.at.line, t.at.line, x);
            let mut it = scored.into_iter();
            let best = it.next()?;
            let mut c = Classified::new(best.class, best.confidence);
            c.alternatives = it.take(3).map(|s| (s.class, s.confidence)).collect();
            if wait.attempts.is_empty() {
                // Nothing says a hop dropped anything: a VM that never
                // booted or never started its listener is as likely.
                c.alternatives
                    .extend(super::catalogue::TIMEOUT_WITHOUT_ATTEMPTS);
            }
            c
        }
    };
    c.detail.attempts = attempts;
    if let Some(a) = last {
        c.cause_lines.push(a.at.line);
    }
    c.reason = Some(format!(
        "Timeout waiting for {}{}",
        wait.communicator.label(),
        dominant.map_or(String::new(), |k| format!(" (attempts: {})", k.as_str()))
    ));
    Some(c)
}

/// The kind of a customizer failure that is not a download or a network
/// error (SPEC.md §4.3 `customizer_failed`).
fn failure_kind(out: &str, c: &Customizer) -> &'static str {
    if c.aib_step == Some(super::log::AibStep::Deprovision) {
        "deprovision_failed"
    } else if out.contains("ParserError") {
        "powershell_parse_error"
    } else if PACKAGE_FAILED.is_match(out) {
        "package_install_failed"
    } else {
        "script_error"
    }
}

static PACKAGE_FAILED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?im)^(?:npm (?:error|ERR!) code\b|E: Unable to locate package|E: Package '[^']+' has no installation candidate|ERROR: (?:Could not find a version|No matching distribution)|.*msiexec[^\n]*\b(?:1603|1618|1619)\b)",
    )
});
static HTTP_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)curl: \(22\) The requested URL returned error: (?P<a>\d{3})|\((?P<b>4\d\d)\) (?:Not Found|Forbidden|Unauthorized|Gone)|\bERROR (?P<c>4\d\d): |(?P<nf>Invoke-WebRequest : Not Found|BlobNotFound|ContainerNotFound)|(?P<af>AuthenticationFailed|Server failed to authenticate the request)",
    )
});
static URL: LazyLock<Regex> = LazyLock::new(|| re(r#"(?i)https?://[^\s'"<>`)]+"#));
static STORAGE_HOST: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)https?://(?P<acct>[a-z0-9]{3,24})\.blob\.core\.windows"));
static PS_AT: LazyLock<Regex> = LazyLock::new(|| re(r"^At (?:line:\d+|\S.*:\d+) char:\d+"));
static PS_MESSAGE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:[A-Za-z][\w.-]*|[A-Za-z]:\\\S+) : \S"));

/// The failing customizer's own output: every UI line of its range after
/// its command started, and the plugin lines (number, message).
fn output_of<'l>(log: &'l BuildLog<'_>, c: &Customizer) -> Vec<(usize, &'l str, bool)> {
    let from = c.command_started.unwrap_or(c.start.line);
    log.lines
        .iter()
        .filter(|l| l.no > from && l.no <= c.last)
        .map(|l| (l.no, l.msg, l.is_ui()))
        .collect()
}

/// The first PowerShell error record: its message line (and, for a parse
/// error, the `FullyQualifiedErrorId` line).
fn powershell_record(out: &[(usize, &str, bool)]) -> Vec<usize> {
    let ui: Vec<&(usize, &str, bool)> = out.iter().filter(|o| o.2).collect();
    let Some(at) = ui.iter().position(|o| PS_AT.is_match(o.1.trim())) else {
        return Vec::new();
    };
    // A cmdlet's error: `Invoke-WebRequest : Not Found` just before `At`.
    let before = ui
        .get(at.saturating_sub(4)..at)
        .unwrap_or_default()
        .iter()
        .rev()
        .find(|o| PS_MESSAGE.is_match(o.1.trim()));
    if let Some(m) = before {
        return vec![m.0];
    }
    // A parse error: the message follows the source line and its caret.
    let mut lines = Vec::new();
    if let Some(m) = ui
        .iter()
        .skip(at + 1)
        .find(|o| !o.1.trim().is_empty() && !o.1.trim_start().starts_with('+'))
    {
        lines.push(m.0);
    }
    if let Some(q) = ui
        .iter()
        .skip(at + 1)
        .find(|o| o.1.contains("FullyQualifiedErrorId"))
    {
        lines.push(q.0);
    }
    lines
}

/// Rule 3: a customizer exited non-zero. Its own output says whether a
/// server answered, the network failed, or the script itself did.
fn customizer_exit(log: &BuildLog<'_>, t: &Terminal, x: &Extracted) -> Option<Classified> {
    let cust = log
        .scan
        .customizers
        .iter()
        .find(|c| c.end.is_some_and(|e| e.line == t.at.line))?;
    let out = output_of(log, cust);
    let text: String = out
        .iter()
        .filter(|o| o.2)
        .map(|o| o.1)
        .collect::<Vec<_>>()
        .join("\n");
    let label = log.customizer_label(cust, &[]);
    let first_line =
        |pred: &dyn Fn(&str) -> bool| out.iter().filter(|o| o.2).find(|o| pred(o.1)).map(|o| o.0);
    let mut storage = STORAGE_HOST
        .captures_iter(&text)
        .filter_map(|c| c.name("acct").map(|m| m.as_str().to_ascii_lowercase()))
        .last();
    // The last whole URL: PowerShell echoes the failing source line cut
    // short with ` ...`, which is not one.
    let url = URL
        .find_iter(&text)
        .filter(|m| {
            let after = text.get(m.end()..).unwrap_or_default();
            !after.starts_with(" ...") && !m.as_str().ends_with("...")
        })
        .map(|m| m.as_str())
        .last()
        .map(strip_query);

    // Storage answers that name their cause.
    let storage_class = if text.contains("PublicAccessNotPermitted")
        || text.contains("Public access is not permitted")
    {
        Some((
            Class::StoragePublicAccessDisabled,
            "PublicAccessNotPermitted",
        ))
    } else if text.contains("AuthorizationPermissionMismatch")
        || text.contains("using this permission")
    {
        Some((
            Class::IdentityNotAuthorized,
            "AuthorizationPermissionMismatch",
        ))
    } else if text.contains("AuthorizationFailure")
        || text.contains("AuthorizationSourceIPMismatch")
    {
        Some((Class::StorageFirewallBlocked, "AuthorizationFailure"))
    } else {
        None
    };
    if let Some((class, code)) = storage_class {
        let mut c = Classified::new(class, 0.85);
        c.cause_lines
            .extend(first_line(&|m: &str| m.contains(code)));
        c.detail.code = Some(code.to_string());
        c.detail.http_status = Some(if code == "PublicAccessNotPermitted" {
            409
        } else {
            403
        });
        c.detail.storage_account = storage.take();
        c.detail.caller = Some("build VM (customizer script)");
        c.detail.customizer = Some(label);
        c.detail.exit_code = cust.exit_code;
        return Some(c);
    }

    // A server answered: the build VM reached it. A status code says more
    // than a storage error's name.
    let answers: Vec<regex::Captures<'_>> = HTTP_STATUS.captures_iter(&text).collect();
    let answer = answers
        .iter()
        .find(|m| ["a", "b", "c"].iter().any(|g| m.name(g).is_some()))
        .or_else(|| answers.first());
    if let Some(m) = answer {
        let status = ["a", "b", "c"]
            .iter()
            .find_map(|g| m.name(g))
            .and_then(|s| s.as_str().parse::<u16>().ok())
            .or_else(|| m.name("nf").map(|_| 404))
            .or_else(|| m.name("af").map(|_| 403));
        let mut c = Classified::new(Class::DownloadHttpError, 0.8);
        let sas = text.contains("Signature not valid in the specified time frame")
            || text.contains("Signed expiry time");
        c.cause_lines.extend(first_line(&|l: &str| {
            l.contains("Signature not valid") || l.contains("Signed expiry")
        }));
        let whole = m.get(0).map_or("", |w| w.as_str());
        c.cause_lines
            .extend(first_line(&|l: &str| l.contains(whole)));
        c.cause_lines.sort_unstable();
        c.detail.http_status = status;
        c.detail.url = url;
        c.detail.storage_account = storage;
        if sas {
            c.detail.reason =
                Some("the SAS is outside its validity (expired or not yet valid)".to_string());
        }
        c.detail.customizer = Some(label);
        c.detail.exit_code = cust.exit_code;
        return Some(c);
    }

    // The network, by the failing customizer's own output.
    let from = cust.command_started.unwrap_or(cust.start.line);
    let mut network = score_lines(log, from, cust.last, x)
        .into_iter()
        .filter(|s| {
            matches!(
                s.class,
                Class::BuildVmDnsFailing
                    | Class::BuildVmEgressBlocked
                    | Class::KmsActivationBlocked
            )
        });
    if let Some(s) = network.next() {
        let mut c = Classified::new(s.class, at_the_point(s.confidence));
        c.cause_lines
            .extend(s.evidence.iter().filter_map(|e| e.line).take(1));
        // The proximate error: the script's last error line before the exit.
        c.cause_lines.extend(last_error_before(&out, t.at.line));
        c.cause_lines.sort_unstable();
        c.alternatives = network
            .map(|o| (o.class, at_the_point(o.confidence)))
            .collect();
        c.detail.customizer = Some(label);
        c.detail.exit_code = cust.exit_code;
        return Some(c);
    }

    // The script itself.
    let kind = failure_kind(&text, cust);
    let mut c = Classified::new(Class::CustomizerFailed, 0.85);
    let record = powershell_record(&out);
    if !record.is_empty() {
        c.cause_lines.extend(record);
    } else if let Some(cmd) = first_line(&|l: &str| npm_command(l).is_some()) {
        c.cause_lines.push(cmd);
        c.cause_lines.extend(
            out.iter()
                .filter(|o| {
                    o.2 && o.0 > cmd
                        && (o.1.starts_with("npm error") || o.1.starts_with("npm ERR!"))
                })
                .filter(|o| !o.1.contains("A complete log"))
                .map(|o| o.0)
                .next_back(),
        );
    } else {
        c.cause_lines.extend(last_error_before(&out, t.at.line));
    }
    c.detail.kind = Some(kind);
    c.detail.error = c
        .cause_lines
        .first()
        .and_then(|&l| log.line(l))
        .map(|l| quote(l.msg));
    c.detail.failing_command = out
        .iter()
        .find_map(|o| npm_command(o.1))
        .map(|cmd| cmd.rsplit_once(" /c ").map_or(cmd, |(_, c)| c).to_string());
    c.detail.customizer = Some(label);
    c.detail.exit_code = cust.exit_code;
    Some(c)
}

/// The command npm ran when it failed (`npm error command <cmd>`, not
/// `npm error command failed`).
fn npm_command(line: &str) -> Option<&str> {
    line.strip_prefix("npm error command ")
        .or_else(|| line.strip_prefix("npm ERR! command "))
        .filter(|c| *c != "failed")
}

/// The script's last error line before the exit: stderr (`ui error:`),
/// `E:`/`ERROR`/`error:` lines, or its last output.
fn last_error_before(out: &[(usize, &str, bool)], exit: usize) -> Option<usize> {
    let before: Vec<&(usize, &str, bool)> = out
        .iter()
        .filter(|o| o.2 && o.0 < exit && !o.1.trim().is_empty())
        .collect();
    before
        .iter()
        .rev()
        .find(|o| {
            let m = o.1.trim_start();
            m.starts_with("E: ")
                || m.starts_with("ERROR")
                || m.to_ascii_lowercase().contains("error")
                || m.contains("No such file")
                || m.contains("not found")
        })
        .or(before.last())
        .map(|o| o.0)
}

/// A URL without its query (a SAS signature is a secret).
fn strip_query(u: &str) -> String {
    let u = u.trim_end_matches(['.', ',', ';']);
    u.split_once('?').map_or(u, |(base, _)| base).to_string()
}

/// Rule 4: the session was lost before any cancellation.
fn session_lost(log: &BuildLog<'_>, t: &Terminal) -> Classified {
    let mut c = Classified::new(Class::BuildSessionInterrupted, 0.85);
    // The script's last output before the session died.
    if let Some(cust) = log.scan.customizer_at(t.at.line) {
        c.cause_lines.extend(
            output_of(log, cust)
                .iter()
                .filter(|o| o.2 && o.0 < t.at.line && !o.1.trim().is_empty())
                .map(|o| o.0)
                .next_back(),
        );
        c.detail.customizer = Some(log.customizer_label(cust, &[]));
    }
    c.reason = Some(format!(
        "the session to the build VM was lost (no exit status){}",
        if log.scan.cancellation.is_some() {
            ", before any cancellation"
        } else {
            ""
        }
    ));
    c
}

/// Rule 5: the restart never completed, or the plugin died.
fn restart_failed(log: &BuildLog<'_>, t: &Terminal) -> Classified {
    let mut c = Classified::new(Class::BuildVmResourceExhaustion, 0.85);
    c.alternatives.push((Class::BuildSessionInterrupted, 0.3));
    c.cause_lines.extend(
        log.scan
            .not_available
            .iter()
            .rev()
            .find(|a| a.line < t.at.line)
            .map(|a| a.line),
    );
    c.cause_lines.extend(
        log.scan
            .saturated
            .iter()
            .rev()
            .find(|a| a.line < t.at.line)
            .map(|a| a.line),
    );
    if log
        .scan
        .end
        .as_ref()
        .is_some_and(|e| e.at.line == t.at.line)
    {
        c.reason = Some(
            "the plugin process died (RPC unexpected EOF) while waiting for the restart".into(),
        );
    }
    c
}

/// A build cancelled this long after its start, without the template's
/// setting, is taken for AIB's timeout (medium confidence).
const LIKELY_TIMEOUT_S: i64 = 55 * 60;
/// AIB's clock starts before Packer's first line (ACI start, staging).
const AIB_HEAD_START_S: i64 = 2 * 60;
/// A cancellation this close to the setting is the timeout.
const TIMEOUT_SLACK_S: i64 = 5 * 60;

/// Rule 6: a cancellation before anything failed: AIB's timeout, or someone.
fn cancellation(log: &BuildLog<'_>, t: &Terminal, run: Option<&JsonHints>) -> Classified {
    let first = log.first_time();
    let cancel = log.scan.cancellation.as_ref();
    let signal = cancel.and_then(|c| c.signal.as_deref());
    let elapsed = seconds(first, t.at.time);
    // The run's own start is AIB's clock; the log's first line lags it.
    let elapsed_aib = run
        .and_then(|r| seconds(r.start_time, t.at.time))
        .or(elapsed.map(|e| e + AIB_HEAD_START_S));
    let setting = run.and_then(|r| r.build_timeout_minutes).map(|m| {
        if m == 0 {
            u64::from(DEFAULT_BUILD_TIMEOUT_MINUTES)
        } else {
            m
        }
    });
    let limit = setting.and_then(|m| i64::try_from(m * 60).ok());
    let by_user = signal == Some("interrupt");
    let (class, confidence) = match (limit, elapsed_aib) {
        _ if by_user => (Class::BuildCancelled, 0.8),
        (Some(limit), Some(e)) if e >= limit - TIMEOUT_SLACK_S => (Class::BuildTimeout, 0.9),
        (Some(_), Some(_)) => (Class::BuildCancelled, 0.7),
        (None, Some(e)) if e >= LIKELY_TIMEOUT_S => (Class::BuildTimeout, 0.6),
        _ => (Class::BuildCancelled, 0.5),
    };
    let mut c = Classified::new(class, confidence);
    c.detail.build_timeout_minutes = setting;
    c.detail.elapsed_s = elapsed;
    c.detail.elapsed = elapsed.map(|e| format!("{} since the log's first line", minutes_text(e)));
    if let Some(cust) = log.scan.customizer_at(t.at.line.saturating_sub(1)) {
        c.cause_lines.push(cust.start.line);
        c.detail.customizer =
            Some(log.customizer_label(cust, run.map_or(&[], |r| &r.customizer_names)));
        // Its last output before the cancellation, and how long ago.
        let last_out = log.lines.iter().rfind(|l| {
            l.no > cust.start.line && l.no < t.at.line && l.is_ui() && !l.msg.trim().is_empty()
        });
        if let Some(l) = last_out {
            c.detail.silent_for = seconds(l.time, t.at.time).map(minutes_text);
        }
    }
    if class == Class::BuildTimeout && setting.is_none() {
        c.notes.push(format!(
            "The template's buildTimeoutInMinutes is not in the log: give `az image builder show` JSON with it \
             (default {DEFAULT_BUILD_TIMEOUT_MINUTES}) to tell AIB's timeout from a pipeline's own limit."
        ));
    }
    c.reason = Some(match class {
        Class::BuildTimeout => format!(
            "cancelled by AIB ({}) after the build timeout",
            signal.map_or("SIGTERM".to_string(), |s| if s == "terminated" {
                "SIGTERM".to_string()
            } else {
                s.to_string()
            })
        ),
        _ => "cancelled before the build timeout".to_string(),
    });
    c
}

/// Rule 7: only Packer's final error says what happened.
fn packer_error(log: &BuildLog<'_>, t: &Terminal, x: &Extracted) -> Option<Classified> {
    let scored = score_lines(log, t.at.line, t.at.line, x);
    let mut it = scored.into_iter();
    let best = it.next()?;
    let mut c = Classified::new(best.class, best.confidence);
    c.alternatives = it.take(2).map(|s| (s.class, s.confidence)).collect();
    Some(c)
}

/// Rule 8: the run status alone (`az image builder show`). The packerizer
/// wrapper only points at the log; other messages carry the cause.
pub fn run_status(h: &JsonHints, text: &str, x: &Extracted) -> Option<Classified> {
    let msg = h.run_message.as_deref().unwrap_or_default();
    let state = h.run_state.as_deref().unwrap_or_default();
    let setting = h.build_timeout_minutes.map(|m| {
        if m == 0 {
            u64::from(DEFAULT_BUILD_TIMEOUT_MINUTES)
        } else {
            m
        }
    });
    let elapsed = seconds(h.start_time, h.end_time);
    if state.eq_ignore_ascii_case("Canceled") || state.eq_ignore_ascii_case("Canceling") {
        let mut c = Classified::new(Class::BuildCancelled, 0.8);
        c.detail.elapsed_s = elapsed;
        c.detail.elapsed =
            elapsed.map(|e| format!("{} (startTime → endTime)", super::log::duration_text(e)));
        return Some(c);
    }
    if msg.contains("Timeout waiting for microservice to complete") {
        let mut c = Classified::new(
            Class::BuildTimeout,
            if setting.is_some() { 0.9 } else { 0.75 },
        );
        c.detail.build_timeout_minutes = setting;
        c.detail.elapsed_s = elapsed;
        c.detail.elapsed =
            elapsed.map(|e| format!("{} (startTime → endTime)", super::log::duration_text(e)));
        c.notes.push(
            "customization.log shows which step was running when the timeout struck (see the collection plan)."
                .to_string(),
        );
        return Some(c);
    }
    let mut scored = rank::score(text, true, x, x.os);
    let storage = STORAGE_HOST
        .captures(msg)
        .and_then(|c| c.name("acct"))
        .map(|m| m.as_str().to_ascii_lowercase());
    let code = [
        "PublicAccessNotPermitted",
        "AuthorizationFailure",
        "AuthorizationPermissionMismatch",
    ]
    .into_iter()
    .find(|c| msg.contains(c));
    // AIB's own download failed with a storage answer that names the cause:
    // the generic download class (F12) is the alternative.
    let specific = scored.iter().position(|s| {
        matches!(
            s.class,
            Class::StorageFirewallBlocked | Class::StoragePublicAccessDisabled
        )
    });
    if let Some(i) = specific {
        let s = scored.remove(i);
        scored.insert(0, s);
    }
    let mut it = scored.into_iter();
    let best = it.next()?;
    let mut c = Classified::new(best.class, best.confidence);
    c.alternatives = it
        .filter(|s| {
            s.class.info().kind != super::catalogue::Kind::Umbrella
                || best.class.info().kind == super::catalogue::Kind::Umbrella
        })
        .take(2)
        .map(|s| (s.class, s.confidence))
        .collect();
    c.detail.storage_account = storage;
    c.detail.code = code.map(str::to_string);
    if msg.contains("Downloading external file") {
        c.detail.caller = Some("AIB (its container), before the build VM exists");
        c.detail.url = URL
            .find(msg)
            .map(|m| strip_query(m.as_str().trim_end_matches(')')));
    }
    if c.detail.code.as_deref() == Some("PublicAccessNotPermitted") {
        c.detail.http_status = Some(409);
    }
    if msg.contains("Failed in distributing") {
        c.detail.phase = Some("distribution (after a successful Packer build)");
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::input::JsonHints;

    const OP: &str = "[0e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b] PACKER";

    fn classified(lines: &[&str]) -> Option<Classified> {
        let text: Vec<String> = lines.iter().map(|l| format!("{OP} {l}")).collect();
        let text = text.join("\n");
        let log = BuildLog::read(&text).expect("a log");
        let x = super::super::extract::extract(&text, &JsonHints::default());
        classify(&log, None, &x)
    }

    const WAIT: &str =
        "2025/06/30 07:10:53 ui: ==> azure-arm: Waiting for SSH to become available...";
    const TIMEOUT: &str = "2025/06/30 07:30:53 ui error: ==> azure-arm: Timeout waiting for SSH.";

    #[test]
    fn unanswered_dials_are_the_network_answered_ones_the_image() {
        let dropped = "2025/06/30 07:12:59 packer-plugin-azure plugin: [DEBUG] TCP connection to SSH ip/port failed: dial tcp 10.128.4.20:22: i/o timeout";
        let c = classified(&[WAIT, dropped, dropped, TIMEOUT]).expect("a class");
        assert_eq!(c.class, Class::AciToBuildVmBlocked);
        assert_eq!(c.cause_lines, [3]);
        let refused = "2025/06/30 07:12:59 packer-plugin-azure plugin: [DEBUG] TCP connection to SSH ip/port failed: dial tcp 10.128.4.20:22: connect: connection refused";
        let c = classified(&[WAIT, refused, refused, TIMEOUT]).expect("a class");
        assert_eq!(c.class, Class::SourceImageDefect);
        assert!(c.confidence < 0.5);
        assert!(
            c.alternatives
                .iter()
                .any(|(k, _)| *k == Class::AciToBuildVmBlocked)
        );
    }

    #[test]
    fn a_timeout_without_attempts_offers_the_image_and_the_vm_size() {
        let c = classified(&[WAIT, TIMEOUT]).expect("a class");
        assert!(c.class.network());
        for alt in [Class::SourceImageDefect, Class::BuildVmResourceExhaustion] {
            assert!(c.alternatives.iter().any(|(k, _)| *k == alt), "{alt}");
        }
    }

    #[test]
    fn a_short_cancellation_without_the_template_is_not_the_timeout() {
        let c = classified(&[
            "2025/06/30 07:00:00 [INFO] Packer version: 1.12.0",
            "2025/06/30 07:05:00 ui: ==> azure-arm: Provisioning with shell script: /tmp/s",
            "2025/06/30 07:20:00 ui error: Cancelling build after receiving terminated",
        ])
        .expect("a class");
        assert_eq!(c.class, Class::BuildCancelled);
        assert_eq!(c.cause_lines, [2]);
        let mut run = JsonHints {
            build_timeout_minutes: Some(20),
            ..JsonHints::default()
        };
        let text = [
            "2025/06/30 07:00:00 [INFO] Packer version: 1.12.0",
            "2025/06/30 07:05:00 ui: ==> azure-arm: Provisioning with shell script: /tmp/s",
            "2025/06/30 07:20:00 ui error: Cancelling build after receiving terminated",
        ]
        .map(|l| format!("{OP} {l}"))
        .join("\n");
        let log = BuildLog::read(&text).expect("a log");
        let x = super::super::extract::extract(&text, &JsonHints::default());
        let c = classify(&log, Some(&run), &x).expect("a class");
        assert_eq!((c.class, c.confidence), (Class::BuildTimeout, 0.9));
        run.build_timeout_minutes = Some(0);
        let c = classify(&log, Some(&run), &x).expect("a class");
        assert_eq!(c.class, Class::BuildCancelled, "0 means 240 minutes");
    }

    #[test]
    fn urls_lose_their_query() {
        assert_eq!(
            strip_query("https://st.blob.core.windows.net/c/a.tgz?sv=1&sig=SECRET."),
            "https://st.blob.core.windows.net/c/a.tgz"
        );
    }
}

//! Explain an AIB / Packer error message or a whole build: which failure
//! class of reference §4 (F1–F22) it is — or which failure of the build
//! itself (a timeout, a script, a download, the image), not the network —
//! which hop to suspect, the fix, the finding ids `diagnose` and `check`
//! would report, and the exact commands that collect the evidence.
//!
//! ```text
//! bytes ── input::prepare ─┬─ a build log ── log::BuildLog ── classify ──┐ point of failure, timeline,
//!   (JSON, escapes, ANSI)  ├─ a run status / subnet JSON ── classify ────┤ network or not
//!                          └─ a text ── extract ── rank::score ──────────┴── Match … ── plan ── CollectStep
//! ```
//!
//! * A whole log is read as a build (`captures/errors/logs/SPEC.md`): the
//!   event that ended it decides, not keywords anywhere; boot transients and
//!   the lines a cancellation leaves behind are never findings.
//! * Total: any input gives an [`Explanation`]; nothing here panics on input.
//! * Honest: a text that matches no pattern is `recognised: false`, with the
//!   classes whose wording it shares ([`Closest`]) and why they are not a match.
//! * Confirmation with evidence is a separate step ([`confirm`]) that compares
//!   a match with what `diagnose` / `check` report.
//!
//! ```
//! use aibnet::explain::{explain, Context};
//! let e = explain(b"Timeout waiting for WinRM. proxyconnect tcp: dial tcp 10.241.0.5:60000: i/o timeout",
//!                 &Context::default());
//! assert!(e.recognised);
//! assert_eq!(e.matches[0].class.as_str(), "proxy_command_channel_blocked");
//! assert_eq!(e.matches[0].finding_ids[0].as_str(), "alb_to_proxy_blocked");
//! ```

pub mod catalogue;
pub mod classify;
pub mod confirm;
pub mod context;
pub mod extract;
pub mod input;
pub mod log;
pub mod placeholders;
pub mod plan;
pub mod rank;
pub mod window;

pub use catalogue::Class;
pub use classify::{Classified, Detail};
pub use confirm::{Confirmation, ConfirmationVerdict, EvidenceSummary, HopObservation, confirm};
pub use context::{Context, FlowLogKind};
pub use extract::Extracted;
pub use log::{BuildLog, Dialect, Event, EventKind, QuotedLine, Rule};
pub use placeholders::Placeholder;
pub use plan::CollectStep;
pub use rank::{Closest, EvidenceLine};
pub use window::Window;

use crate::aib::{BuildOutcome, FindingId, Hop, is_proxy_port};
use input::{JsonHints, Prepared};
use serde::Serialize;

/// The JSON contract's version.
pub const SCHEMA_VERSION: u32 = 1;

/// One failure class the text matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// The class (`proxy_command_channel_blocked` …).
    pub class: Class,
    /// Its row in reference §4 (`F1` …).
    #[serde(rename = "ref")]
    pub reference: Option<&'static str>,
    /// One-line title.
    pub title: &'static str,
    /// The hop to suspect; `null` for the packerizer wrapper (F13).
    pub hop: Option<Hop>,
    /// 0–1: how strongly the text points to this class.
    pub confidence: f64,
    /// What the text says (addresses, ports, OS, names, times).
    pub extracted: Extracted,
    /// The finding ids `diagnose` / `check` would emit for it.
    pub finding_ids: Vec<FindingId>,
    /// The fix, filled with the names known.
    pub fix: String,
    /// What it means.
    pub explanation: String,
    /// What the evidence will show if this is the cause.
    pub signature: &'static str,
    /// The lines that matched.
    pub evidence: Vec<EvidenceLine>,
    /// How often its patterns matched in the whole input.
    pub occurrences: usize,
    /// Whether the fix is in the network's configuration and flow logs or
    /// captures can show it (present when a whole build or configuration
    /// was read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<bool>,
}

/// What a whole-build input was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadAs {
    /// AIB's `customization.log` (Packer's output in AIB's container).
    CustomizationLog,
    /// Packer's own log, run outside AIB.
    PackerLog,
    /// `az image builder show` with its `lastRunStatus`.
    RunStatus,
    /// A subnet's JSON (`az network vnet subnet show`).
    Subnet,
}

/// The event that ended the build, and what shows why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointOfFailure {
    /// 1-based line number in the input.
    pub line: usize,
    /// Its time (absent when the input has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<crate::time::Utc>,
    /// The line as it is (cut at 300 characters).
    pub text: String,
    /// Which rule of SPEC.md §3 chose it.
    pub rule: Rule,
    /// What happened, in words.
    pub reason: String,
    /// The lines that show why.
    pub cause_lines: Vec<QuotedLine>,
    /// The values of the failure (customizer, exit code, URL, timeout …).
    pub detail: Detail,
}

/// The result of [`explain`]; serialises to the `--format json` contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Whether any class matched.
    pub recognised: bool,
    /// Matching classes, best first; the packerizer wrapper after the specific ones.
    pub matches: Vec<Match>,
    /// When nothing matched: the classes the text comes closest to.
    pub closest: Vec<Closest>,
    /// The evidence time window.
    pub window: Option<Window>,
    /// The collection plan.
    pub collect: Vec<CollectStep>,
    /// Placeholders left in `collect` and the fixes, and how to find each.
    pub placeholders: Vec<Placeholder>,
    /// Caveats.
    pub notes: Vec<String>,
    /// With `--evidence`: whether the evidence confirms each match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub confirmation: Vec<confirm::Confirmation>,
    /// What the input was read as, when it was a whole build or a
    /// configuration (the fields below are present only then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_as: Option<ReadAs>,
    /// Which program wrote the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<Dialect>,
    /// How the build ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<BuildOutcome>,
    /// Whether the best match is a network class (`false` for a build that
    /// failed for another reason or succeeded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<bool>,
    /// The event that ended the build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point_of_failure: Option<PointOfFailure>,
    /// The build's timeline, in line order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<Event>>,
}

impl Explanation {
    /// Check every match against evidence (a diagnose or check result).
    pub fn confirm_with(&mut self, evidence: &confirm::EvidenceSummary) {
        self.confirmation = self
            .matches
            .iter()
            .map(|m| confirm::confirm(m.class, m.hop, &m.finding_ids, evidence))
            .collect();
    }
}

/// Explain raw input (text, a log file's bytes, or `az … show` JSON).
pub fn explain(raw: &[u8], ctx: &Context) -> Explanation {
    explain_inputs(&[raw], ctx)
}

/// Explain several inputs given together. One build log with `az image
/// builder show` documents: the documents tell the log's run (its timeout,
/// start, customizer names, a failure after Packer). Anything else is read
/// as one text, in order.
pub fn explain_inputs(inputs: &[&[u8]], ctx: &Context) -> Explanation {
    if let [only] = inputs {
        return explain_prepared(&input::prepare(only), None, ctx);
    }
    let prepared: Vec<Prepared> = inputs.iter().map(|r| input::prepare(r)).collect();
    let logs: Vec<&Prepared> = prepared
        .iter()
        .filter(|p| !p.from_json && BuildLog::read(&p.text).is_some())
        .collect();
    let docs: Vec<&Prepared> = prepared
        .iter()
        .filter(|p| p.from_json && p.hints.is_run_status())
        .collect();
    if let [log] = logs.as_slice()
        && !docs.is_empty()
        && logs.len() + docs.len() == prepared.len()
    {
        let mut run = JsonHints::default();
        for d in docs {
            merge_hints(&mut run, &d.hints);
        }
        return explain_prepared(log, Some(&run), ctx);
    }
    let mut joined = Vec::new();
    for (i, raw) in inputs.iter().enumerate() {
        if i > 0 {
            joined.push(b'\n');
        }
        joined.extend_from_slice(raw);
    }
    explain_prepared(&input::prepare(&joined), None, ctx)
}

/// The first document's value of each hint.
fn merge_hints(into: &mut JsonHints, from: &JsonHints) {
    if into == &JsonHints::default() {
        *into = from.clone();
    }
}

fn explain_prepared(p: &Prepared, run: Option<&JsonHints>, ctx: &Context) -> Explanation {
    if !p.from_json
        && let Some(log) = BuildLog::read(&p.text)
    {
        return explain_log(p, &log, run, ctx);
    }
    if p.from_json && p.hints.is_run_status() {
        return explain_run_status(p, ctx);
    }
    if p.from_json
        && let Some((value, line)) = &p.hints.pls_policies
    {
        return explain_subnet(p, value, *line, ctx);
    }
    explain_text(p, ctx)
}

/// A text explained by its words alone (a pasted message, an ARM error).
fn explain_text(prepared: &Prepared, ctx: &Context) -> Explanation {
    let x = extract::extract(&prepared.text, &prepared.hints);
    let os = ctx.os.or(x.os);
    let mut scored = rank::score(&prepared.text, prepared.from_json, &x, os);
    let mut extra_notes = Vec::new();
    if log_link_refused(&prepared.text, &scored) {
        // Opening the `Image Build log location` link in a browser is an
        // anonymous request: the staging account refuses it by design.
        scored.retain(|s| s.class != Class::StoragePublicAccessDisabled);
        extra_notes.push(
            "PublicAccessNotPermitted here is the browser's anonymous request for the build log, not the \
             build's failure: download customization.log with --auth-mode login (see the plan)."
                .to_string(),
        );
    }
    let names = context::Names::new(ctx, &x);
    let classes: Vec<Class> = scored.iter().map(|s| s.class).collect();
    let plan = if x.runner.is_some() {
        // Packer run by hand: planned as a whole log run by hand is (no
        // template, no staging group, the runner's own path).
        let opts = plan::Options {
            build: true,
            target: dialled(&x),
            ..Default::default()
        };
        plan::plan_with(&classes, ctx, &x, &opts)
    } else {
        plan::plan(&classes, ctx, &x)
    };
    let mut placeholders = plan.placeholders;

    let matches: Vec<Match> = scored
        .into_iter()
        .map(|s| {
            let info = s.class.info();
            let fix = context::fill(&info.fix_text(), &names);
            placeholders::add_placeholders(&fix, &mut placeholders);
            let without_attempts = s
                .evidence
                .iter()
                .any(|e| e.signal == rank::TIMEOUT_WITHOUT_ATTEMPTS_SIGNAL);
            let here = if without_attempts {
                timeout_without_attempts_detail(s.class).map(str::to_string)
            } else {
                detail(s.class, &x)
            };
            let explanation = match here {
                Some(d) => format!("{} Here: {d}", info.explanation),
                None => info.explanation.to_string(),
            };
            Match {
                class: s.class,
                reference: info.reference,
                title: info.title,
                hop: s.hop,
                confidence: s.confidence,
                extracted: x.clone(),
                finding_ids: s.finding_ids,
                fix,
                explanation,
                signature: info.signature,
                evidence: s.evidence,
                occurrences: s.occurrences,
                network: None,
            }
        })
        .collect();
    let closest = if matches.is_empty() {
        rank::closest(&prepared.text, &x)
    } else {
        Vec::new()
    };
    let mut notes = plan.notes;
    notes.extend(extra_notes);
    if prepared.text.trim().is_empty() {
        notes.push("The input is empty.".to_string());
    }
    Explanation {
        schema_version: SCHEMA_VERSION,
        recognised: !matches.is_empty(),
        matches,
        closest,
        window: plan.window,
        collect: plan.steps,
        placeholders,
        notes,
        confirmation: Vec::new(),
        read_as: None,
        dialect: None,
        outcome: None,
        network: None,
        point_of_failure: None,
        timeline: None,
    }
}

/// Whether `PublicAccessNotPermitted` comes from opening the build log's
/// link (SPEC.md §6.11): the text is the packerizer wrapper, not a download
/// of AIB's own.
fn log_link_refused(text: &str, scored: &[rank::Scored]) -> bool {
    scored
        .iter()
        .any(|s| s.class == Class::StoragePublicAccessDisabled)
        && scored.iter().any(|s| s.class == Class::PackerBuildFailed)
        && !text.contains("Downloading external file")
}

/// How far below the point of failure's class an alternative reading ranks
/// at most.
const ALTERNATIVE_GAP: f64 = 0.05;

/// What a whole build's explanation is made of, besides its matches.
struct Record {
    read_as: ReadAs,
    dialect: Option<Dialect>,
    outcome: Option<BuildOutcome>,
    timeline: Vec<Event>,
    /// The point of failure: its line, time, text, rule and reason.
    at: Option<(usize, Option<crate::time::Utc>, String, Rule, String)>,
    /// The input's lines, to quote cause lines.
    lines: Vec<String>,
    have_log: bool,
    notes: Vec<String>,
}

/// A whole build log.
fn explain_log(
    p: &Prepared,
    log: &BuildLog<'_>,
    run: Option<&JsonHints>,
    ctx: &Context,
) -> Explanation {
    let hints = run.cloned().unwrap_or_default();
    let mut x = extract::extract(&p.text, &hints);
    // Packer run by hand builds in the user's own VNET: its configuration
    // dump names it (AIB's names its own temporary one).
    if !log.by_aib() && x.vnet.is_none() {
        x.vnet.clone_from(&log.scan.config.vnet);
        x.subnet.clone_from(&log.scan.config.subnet);
        x.vnet_resource_group
            .clone_from(&log.scan.config.vnet_resource_group);
    }
    let names = run
        .map(|r| r.customizer_names.as_slice())
        .unwrap_or_default();
    let mut classified = classify::classify(log, run, &x);
    let mut notes = Vec::new();
    let mut at = log.terminal.as_ref().map(|t| {
        let text = log
            .line(t.at.line)
            .map_or_else(String::new, |l| log::failure::quote(l.raw));
        (t.at.line, t.at.time, text, t.rule, t.reason.clone())
    });
    // A build that worked, then a run that failed: the failure is after
    // Packer (distribution), and only the run status shows it.
    if log.outcome == BuildOutcome::Succeeded
        && let Some(r) = run
        && r.run_state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("Failed"))
        && let Some(msg) = &r.run_message
    {
        classified = classify::run_status(r, msg, &x);
        at = Some((
            r.message_line.unwrap_or(1),
            r.end_time,
            log::failure::quote(msg),
            Rule::RunStatus,
            "the run failed after Packer's build succeeded (line of the run status document)"
                .to_string(),
        ));
        notes.push(
            "Packer's build succeeded; the run failed afterwards (the point of failure is the run status \
             message, its line is the JSON document's)."
                .to_string(),
        );
    }
    if log.outcome == BuildOutcome::Succeeded && classified.is_none() {
        notes.push(succeeded_note(log));
    }
    if log.outcome == BuildOutcome::Incomplete {
        notes.push(
            "The log has no end (no `Build … finished/errored`, no cancellation): the build was still running \
             or the log was fetched while it ran."
                .to_string(),
        );
    }
    let read_as = if log.by_aib() {
        ReadAs::CustomizationLog
    } else {
        ReadAs::PackerLog
    };
    let record = Record {
        read_as,
        dialect: Some(log.dialect),
        outcome: Some(log.outcome),
        timeline: log.timeline(names),
        at,
        lines: log.lines.iter().map(|l| l.raw.to_string()).collect(),
        have_log: true,
        notes,
    };
    assemble(p, classified, x, record, ctx)
}

/// A note on a successful build: the transients it shows are not findings.
fn succeeded_note(log: &BuildLog<'_>) -> String {
    let transients: Vec<String> = log
        .scan
        .waits
        .iter()
        .filter(|w| w.connected.is_some() && !w.attempts.is_empty())
        .map(|w| {
            let after = log::seconds(w.at.time, w.connected.and_then(|c| c.time))
                .map(|s| format!(" within {s} s"))
                .unwrap_or_default();
            format!(
                "{} failed attempts before {} connected{after}",
                w.attempts.len(),
                w.communicator.label()
            )
        })
        .collect();
    if transients.is_empty() {
        "The build succeeded: nothing to explain.".to_string()
    } else {
        format!(
            "The build succeeded: nothing to explain. {}: normal while the VM boots, not a finding.",
            transients.join("; ")
        )
    }
}

/// `az image builder show` with a run status.
fn explain_run_status(p: &Prepared, ctx: &Context) -> Explanation {
    let x = extract::extract(&p.text, &p.hints);
    let h = &p.hints;
    let state = h.run_state.as_deref().unwrap_or_default();
    let outcome = if state.eq_ignore_ascii_case("Succeeded") {
        Some(BuildOutcome::Succeeded)
    } else if state.eq_ignore_ascii_case("Canceled") || state.eq_ignore_ascii_case("Canceling") {
        Some(BuildOutcome::Cancelled)
    } else if state.eq_ignore_ascii_case("Failed")
        || state.eq_ignore_ascii_case("PartiallySucceeded")
    {
        Some(BuildOutcome::Failed)
    } else if state.eq_ignore_ascii_case("Running") {
        Some(BuildOutcome::Incomplete)
    } else {
        None
    };
    let succeeded = outcome == Some(BuildOutcome::Succeeded);
    let classified = if succeeded {
        None
    } else {
        classify::run_status(h, &p.text, &x)
    };
    let at = match (&h.run_message, h.message_line) {
        (Some(msg), Some(line)) if !succeeded => Some((
            line,
            h.end_time,
            log::failure::quote(msg),
            Rule::RunStatus,
            format!("the run status ({state})"),
        )),
        _ => None,
    };
    let mut notes = Vec::new();
    if succeeded {
        notes.push("The run succeeded: nothing to explain.".to_string());
    }
    let record = Record {
        read_as: ReadAs::RunStatus,
        dialect: None,
        outcome,
        timeline: Vec::new(),
        at,
        lines: Vec::new(),
        have_log: false,
        notes,
    };
    assemble(p, classified, x, record, ctx)
}

/// A subnet's JSON: its private link service policies decide F6.
fn explain_subnet(p: &Prepared, value: &str, line: usize, ctx: &Context) -> Explanation {
    let x = extract::extract(&p.text, &p.hints);
    let enabled = value.eq_ignore_ascii_case("Enabled");
    let classified = enabled.then(|| {
        let mut c = Classified::new(Class::PlsNetworkPoliciesEnabled, 0.9);
        c.reason = Some("privateLinkServiceNetworkPolicies is Enabled on the subnet".to_string());
        c
    });
    let record = Record {
        read_as: ReadAs::Subnet,
        dialect: None,
        outcome: None,
        timeline: Vec::new(),
        at: enabled.then(|| {
            (
                line,
                None,
                format!("\"privateLinkServiceNetworkPolicies\": \"{value}\""),
                Rule::DecisiveLine,
                "the subnet keeps private link service network policies on".to_string(),
            )
        }),
        lines: Vec::new(),
        have_log: false,
        notes: if enabled {
            Vec::new()
        } else {
            vec![format!(
                "privateLinkServiceNetworkPolicies is {value}: AIB's private link service can be created in this subnet."
            )]
        },
    };
    assemble(p, classified, x, record, ctx)
}

/// The explanation of a whole build (or configuration) from its
/// classification: the matches, the point of failure, the plan.
fn assemble(
    p: &Prepared,
    classified: Option<Classified>,
    x: Extracted,
    record: Record,
    ctx: &Context,
) -> Explanation {
    let names = context::Names::new(ctx, &x);
    let mut list: Vec<(Class, f64)> = Vec::new();
    if let Some(c) = &classified {
        list.push((c.class, c.confidence));
        for &(alt, conf) in &c.alternatives {
            if !list.iter().any(|(k, _)| *k == alt) {
                // An alternative ranks below the point of failure's class.
                let below = ((c.confidence - ALTERNATIVE_GAP) * 100.0).round() / 100.0;
                list.push((alt, conf.min(below).max(ALTERNATIVE_GAP)));
            }
        }
    }
    let detail = classified
        .as_ref()
        .map(|c| c.detail.clone())
        .unwrap_or_default();
    let quote_line = |no: usize| -> Option<QuotedLine> {
        let raw = record.lines.get(no.checked_sub(1)?)?;
        Some(QuotedLine {
            line: no,
            text: log::failure::quote(raw),
        })
    };
    let cause_lines: Vec<QuotedLine> = classified
        .as_ref()
        .map(|c| {
            c.cause_lines
                .iter()
                .filter_map(|&l| quote_line(l))
                .collect()
        })
        .unwrap_or_default();
    let point_of_failure =
        record
            .at
            .as_ref()
            .map(|(line, time, text, rule, reason)| PointOfFailure {
                line: *line,
                time: *time,
                text: text.clone(),
                rule: *rule,
                reason: classified
                    .as_ref()
                    .and_then(|c| c.reason.clone())
                    .unwrap_or_else(|| reason.clone()),
                cause_lines: cause_lines.clone(),
                detail: detail.clone(),
            });
    let pof_evidence = point_of_failure.as_ref().map(|f| EvidenceLine {
        signal: "point_of_failure",
        line: Some(f.line),
        text: f.text.clone(),
    });

    let classes: Vec<Class> = list.iter().map(|(c, _)| *c).collect();
    // How often each class's texts occur in the whole input.
    let occurrences: Vec<(Class, usize)> = if classes.is_empty() {
        Vec::new()
    } else {
        // Texts only: the runner's reading of a pasted text (`runner`) is
        // the log's own reading here, made by `classify`.
        let texts_only = Extracted {
            runner: None,
            ..x.clone()
        };
        rank::score(&p.text, p.from_json, &texts_only, ctx.os.or(x.os))
            .into_iter()
            .map(|s| (s.class, s.occurrences))
            .collect()
    };
    let opts = plan::Options {
        build: true,
        have_log: record.have_log,
        storage_account: detail.storage_account.clone(),
        url: detail.url.clone(),
        target: detail.target.clone(),
        aib_download: detail.caller.is_some_and(|c| c.starts_with("AIB")),
    };
    let plan = plan::plan_with(&classes, ctx, &x, &opts);
    let mut placeholders = plan.placeholders;
    let matches: Vec<Match> = list
        .iter()
        .enumerate()
        .map(|(i, &(class, confidence))| {
            let info = class.info();
            let fix = context::fill(&info.fix_text(), &names);
            placeholders::add_placeholders(&fix, &mut placeholders);
            let here = if i == 0 {
                build_detail(class, &detail).or_else(|| self::detail(class, &x))
            } else {
                self::detail(class, &x)
            };
            let explanation = match here {
                Some(d) => format!("{} Here: {d}", info.explanation),
                None => info.explanation.to_string(),
            };
            let mut evidence: Vec<EvidenceLine> = pof_evidence.iter().cloned().collect();
            if i == 0 {
                evidence.extend(cause_lines.iter().map(|q| EvidenceLine {
                    signal: "cause",
                    line: Some(q.line),
                    text: q.text.clone(),
                }));
            }
            Match {
                class,
                reference: info.reference,
                title: info.title,
                hop: rank::hop_for(class, x.topology),
                confidence,
                extracted: x.clone(),
                finding_ids: rank::finding_ids_for(class, &x),
                fix,
                explanation,
                signature: info.signature,
                occurrences: occurrences
                    .iter()
                    .find(|(c, _)| *c == class)
                    .map_or(evidence.len(), |(_, n)| (*n).max(1)),
                evidence,
                network: Some(class.network()),
            }
        })
        .collect();
    let succeeded = record.outcome == Some(BuildOutcome::Succeeded);
    let closest = if matches.is_empty() && !succeeded {
        rank::closest(&p.text, &x)
    } else {
        Vec::new()
    };
    let mut notes = plan.notes;
    notes.extend(record.notes);
    if let Some(c) = classified {
        notes.extend(c.notes);
    }
    let network = Some(matches.first().is_some_and(|m| m.class.network()));
    Explanation {
        schema_version: SCHEMA_VERSION,
        recognised: !matches.is_empty() || succeeded,
        matches,
        closest,
        window: plan.window,
        collect: plan.steps,
        placeholders,
        notes,
        confirmation: Vec::new(),
        read_as: Some(record.read_as),
        dialect: record.dialect,
        outcome: record.outcome,
        network,
        point_of_failure,
        timeline: Some(record.timeline),
    }
}

/// `before VALUE after`, or nothing without a value.
fn around(before: &str, value: Option<&str>, after: &str) -> String {
    value.map_or_else(String::new, |v| format!("{before}{v}{after}"))
}

/// The sentence a whole build's values make for its best class.
fn build_detail(class: Class, d: &Detail) -> Option<String> {
    let customizer = d.customizer.as_deref().unwrap_or("a customizer");
    match class {
        Class::BuildTimeout | Class::BuildCancelled => {
            let elapsed = d.elapsed.as_deref()?;
            let setting = match d.build_timeout_minutes {
                Some(m) => format!("buildTimeoutInMinutes = {m}"),
                None => format!(
                    "buildTimeoutInMinutes not known: 0 or unset means {}",
                    crate::aib::DEFAULT_BUILD_TIMEOUT_MINUTES
                ),
            };
            let running = around(" while ", d.customizer.as_deref(), " was running");
            let silent = around("; its last output was ", d.silent_for.as_deref(), " before");
            let verb = if class == Class::BuildTimeout {
                "AIB stopped the build"
            } else {
                "the run was cancelled"
            };
            Some(format!(
                "{verb} after {elapsed} ({setting}){running}{silent}."
            ))
        }
        Class::CustomizerFailed => {
            let code = d.exit_code.map(|c| c.to_string());
            Some(format!(
                "{customizer}{}{}{}.",
                around(" exited with ", code.as_deref(), ""),
                around(": ", d.error.as_deref(), ""),
                around(" (failing command: ", d.failing_command.as_deref(), ")")
            ))
        }
        Class::DownloadHttpError => {
            let status = d.http_status.map(|s| s.to_string());
            Some(format!(
                "the server answered {}{}{} in {customizer}: the build VM reaches it.",
                status.as_deref().unwrap_or("an error"),
                around(" for ", d.url.as_deref(), ""),
                around(" (", d.reason.as_deref(), ")")
            ))
        }
        Class::StorageFirewallBlocked | Class::StoragePublicAccessDisabled => Some(format!(
            "{} answered {}{}.",
            d.storage_account.as_deref().map_or_else(
                || "the storage account".to_string(),
                |a| format!("storage account {a}")
            ),
            d.code.as_deref().unwrap_or("an error"),
            around(" to ", d.caller, "")
        )),
        Class::SourceImageDefect | Class::WinrmBrokenByHardening => d
            .attempts
            .as_deref()
            .map(|a| format!("{a}, until the timeout: every attempt was answered.")),
        Class::PackerRunDirectly => Some(format!(
            "Packer ran on {}{}.",
            d.runner.unwrap_or("a runner outside AIB"),
            around(" and dialled ", d.target.as_deref(), " itself")
        )),
        _ => d.phase.map(|p| format!("the run failed in {p}.")),
    }
}

/// What tells a non-network reading of a timeout whose attempts the text
/// does not show from the network (`TIMEOUT_WITHOUT_ATTEMPTS`).
fn timeout_without_attempts_detail(class: Class) -> Option<&'static str> {
    match class {
        Class::SourceImageDefect => Some(
            "the text shows none of Packer's attempts, so whether the build VM answered is unknown: \
             its boot diagnostics (sshd or WinRM started?) and a capture on it (answers, or silence \
             as behind an NSG deny) tell the image from the network.",
        ),
        Class::BuildVmResourceExhaustion => Some(
            "the template's vmSize against what the image needs (Windows Update on a D1_v2), and the \
             boot diagnostics at the timeout (still booting or updating), tell a VM too small from \
             the network.",
        ),
        _ => None,
    }
}

/// The build VM's address and port a text says Packer dialled.
fn dialled(x: &Extracted) -> Option<String> {
    let ip = x.build_vm_ip.as_deref()?;
    Some(match x.port {
        Some(p) => format!("{ip}:{p}"),
        None => format!("{ip}:<PORT>"),
    })
}

/// A sentence with this text's own values, for the explanation.
fn detail(class: Class, x: &Extracted) -> Option<String> {
    let how = x
        .dial_error
        .as_deref()
        .map(|e| format!(" and got `{e}`"))
        .unwrap_or_default();
    match class {
        Class::ProxyCommandChannelBlocked | Class::HealthProbeBlocked => {
            let pe = x.private_endpoint_ip.as_deref()?;
            let port = x.port.map(|p| format!(":{p}")).unwrap_or_default();
            let vm = x
                .build_vm_ip
                .as_deref()
                .map(|ip| format!(" on the way to build VM {ip}"))
                .unwrap_or_default();
            Some(format!(
                "Packer dialled the private endpoint {pe}{port}{vm}{how}."
            ))
        }
        Class::ProxyToBuildVmBlocked | Class::AciToBuildVmBlocked => {
            let ip = x.build_vm_ip.as_deref()?;
            // The dial error belongs to the build VM only when its port was dialled.
            match x.port.filter(|p| !is_proxy_port(*p)) {
                Some(p) => Some(format!("the build VM is {ip}:{p}{how}.")),
                None => Some(format!("the build VM is {ip}.")),
            }
        }
        Class::BuildVmEgressBlocked | Class::BuildVmDnsFailing | Class::KmsActivationBlocked
            if !x.egress_destinations.is_empty() =>
        {
            Some(format!(
                "the build VM failed to reach {}.",
                x.egress_destinations.join(", ")
            ))
        }
        Class::PlsNetworkPoliciesEnabled | Class::SubnetTooSmall => {
            let subnet = x.subnet.as_deref()?;
            let prefix = x
                .subnet_prefix
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            Some(format!("subnet {subnet}{prefix}."))
        }
        Class::NetworkingPermissionsMissing
        | Class::AibServicePrincipalNotContributor
        | Class::IdentityNotAuthorized => {
            let action = x.denied_action.as_deref()?;
            let scope = x.denied_scope.as_deref().unwrap_or("?");
            Some(format!("denied action {action} on {scope}."))
        }
        Class::PackerRunDirectly => Some(format!(
            "Packer ran on {}{}{how}.",
            x.runner?,
            around(" and dialled ", dialled(x).as_deref(), " itself")
        )),
        Class::PackerBuildFailed => {
            let acct = x.storage_account.as_deref()?;
            let blob = x
                .packer_log_blob
                .as_deref()
                .unwrap_or("…/customization.log");
            Some(format!(
                "the log is https://{acct}.blob.core.windows.net/packerlogs/{blob}."
            ))
        }
        _ => None,
    }
}

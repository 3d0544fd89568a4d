//! Explain an AIB / Packer error message: which failure class of reference §4
//! (F1–F22) it is, which hop to suspect, the fix, the finding ids `diagnose`
//! and `check` would report, and the exact commands that collect the evidence.
//!
//! ```text
//! bytes ── input::prepare ── extract ── rank::score ──┬── Match (class, hop, confidence, fix …)
//!   (JSON, escapes, ANSI)    (IPs, names, times)       └── plan::plan ── CollectStep (purpose, command)
//! ```
//!
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
pub mod confirm;
pub mod context;
pub mod extract;
pub mod input;
pub mod placeholders;
pub mod plan;
pub mod rank;
pub mod window;

pub use catalogue::Class;
pub use confirm::{Confirmation, ConfirmationVerdict, EvidenceSummary, HopObservation, confirm};
pub use context::{Context, FlowLogKind};
pub use extract::Extracted;
pub use placeholders::Placeholder;
pub use plan::CollectStep;
pub use rank::{Closest, EvidenceLine};
pub use window::Window;

use crate::aib::{FindingId, Hop, is_proxy_port};
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
    pub reference: &'static str,
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
    let prepared = input::prepare(raw);
    let x = extract::extract(&prepared.text, &prepared.hints);
    let os = ctx.os.or(x.os);
    let scored = rank::score(&prepared.text, prepared.from_json, &x, os);
    let names = context::Names::new(ctx, &x);
    let classes: Vec<Class> = scored.iter().map(|s| s.class).collect();
    let plan = plan::plan(&classes, ctx, &x);
    let mut placeholders = plan.placeholders;

    let matches: Vec<Match> = scored
        .into_iter()
        .map(|s| {
            let info = s.class.info();
            let fix = context::fill(&info.fix_text(), &names);
            placeholders::add_placeholders(&fix, &mut placeholders);
            let explanation = match detail(s.class, &x) {
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
            }
        })
        .collect();
    let closest = if matches.is_empty() {
        rank::closest(&prepared.text, &x)
    } else {
        Vec::new()
    };
    let mut notes = plan.notes;
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
    }
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

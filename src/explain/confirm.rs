//! Confirm or refute an explanation with evidence: the boundary between
//! `explain` and `diagnose` / `check`.
//!
//! `explain` suspects a hop and names the finding ids it expects; `diagnose`
//! (captures, flow logs) and `check` (configuration) report hop statuses and
//! finding ids. This module only compares the two, so it does not depend on
//! how either is computed: build an [`EvidenceSummary`] from a diagnose/check
//! result and call [`confirm`] per match.
//!
//! The comparison is honest about what evidence can show: a hop no capture
//! point saw cannot confirm or refute anything, and traffic evidence says
//! nothing about permissions or policy.

use super::catalogue::{Class, Kind};
use crate::aib::{FindingId, Hop, HopStatus};
use serde::Serialize;

/// One hop's status as the evidence showed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HopObservation {
    /// The hop.
    pub hop: Hop,
    /// Its status.
    pub status: HopStatus,
}

/// What `diagnose` / `check` found, reduced to what confirmation needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EvidenceSummary {
    /// Every hop the evidence reports (including `not_observed` ones).
    pub hops: Vec<HopObservation>,
    /// The ids of every finding reported.
    pub finding_ids: Vec<FindingId>,
}

/// The outcome for one suspected class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationVerdict {
    /// The evidence shows the suspected hop failing or reports an expected finding.
    Confirms,
    /// The evidence shows the suspected hop working, or the failure on another hop.
    PointsElsewhere,
    /// The evidence could not have shown it either way.
    CannotTell,
}

impl ConfirmationVerdict {
    /// The serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmationVerdict::Confirms => "confirms",
            ConfirmationVerdict::PointsElsewhere => "points_elsewhere",
            ConfirmationVerdict::CannotTell => "cannot_tell",
        }
    }
}

/// The verdict for one class, with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confirmation {
    /// The suspected class.
    pub class: Class,
    /// The verdict.
    pub verdict: ConfirmationVerdict,
    /// Expected finding ids the evidence reported.
    pub matched_finding_ids: Vec<FindingId>,
    /// Hops (other than the suspected one) the evidence shows failing.
    pub failing_elsewhere: Vec<HopObservation>,
    /// One sentence saying why.
    pub reason: String,
}

/// Compare a suspected class (its hop and expected finding ids, as in a
/// [`super::Match`]) with the evidence.
pub fn confirm(
    class: Class,
    hop: Option<Hop>,
    expected_ids: &[FindingId],
    evidence: &EvidenceSummary,
) -> Confirmation {
    let matched: Vec<FindingId> = evidence
        .finding_ids
        .iter()
        .filter(|id| expected_ids.contains(id))
        .copied()
        .collect();
    let data_hop = hop.filter(|h| *h != Hop::Deployment);
    let suspected_status = data_hop.and_then(|h| {
        // Several observations of one hop (several capture points): the worst wins.
        evidence
            .hops
            .iter()
            .filter(|o| o.hop == h)
            .map(|o| o.status)
            .filter(|s| *s != HopStatus::NotObserved)
            .max_by_key(|s| s.is_failure())
    });
    let failing_elsewhere: Vec<HopObservation> = evidence
        .hops
        .iter()
        .copied()
        .filter(|o| Some(o.hop) != data_hop && o.status.is_failure())
        .collect();
    let traffic_seen = evidence
        .hops
        .iter()
        .any(|o| o.status != HopStatus::NotObserved);
    let elsewhere_text = || {
        failing_elsewhere
            .iter()
            .map(|o| format!("{} {}", o.hop, o.status))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let done = |verdict, reason: String| Confirmation {
        class,
        verdict,
        matched_finding_ids: matched.clone(),
        failing_elsewhere: failing_elsewhere.clone(),
        reason,
    };

    if !matched.is_empty() {
        return done(
            ConfirmationVerdict::Confirms,
            format!(
                "the evidence reports {}",
                matched
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    if let (Some(h), Some(status)) = (data_hop, suspected_status) {
        if status.is_failure() {
            return done(
                ConfirmationVerdict::Confirms,
                format!("the evidence shows {h} {status}"),
            );
        }
        let also = if failing_elsewhere.is_empty() {
            "; nothing else failed either, so the evidence may not cover the failed run".to_string()
        } else {
            format!("; it shows {} instead", elsewhere_text())
        };
        return done(
            ConfirmationVerdict::PointsElsewhere,
            format!("the evidence shows {h} {status}{also}"),
        );
    }
    match class.info().kind {
        Kind::Traffic => {
            let h = data_hop.map_or("the suspected hop".to_string(), |h| h.to_string());
            let also = if failing_elsewhere.is_empty() {
                String::new()
            } else {
                format!(" (it does show {})", elsewhere_text())
            };
            done(
                ConfirmationVerdict::CannotTell,
                format!("no capture point or flow log in the evidence could see {h}{also}"),
            )
        }
        Kind::Config if traffic_seen => done(
            ConfirmationVerdict::PointsElsewhere,
            "the evidence has AIB traffic, which this configuration error would have prevented".to_string(),
        ),
        Kind::Config => done(
            ConfirmationVerdict::CannotTell,
            "no AIB traffic, as this class would cause; `aibnet check` on the subnet/VNET JSON decides"
                .to_string(),
        ),
        Kind::Deployment => done(
            ConfirmationVerdict::CannotTell,
            "traffic evidence cannot show permissions, policy or quota; use the role, policy and \
             activity-log commands of the plan"
                .to_string(),
        ),
        Kind::Umbrella if !failing_elsewhere.is_empty() => done(
            ConfirmationVerdict::CannotTell,
            format!(
                "the wrapper names no hop; the evidence shows {}: explain customization.log to match it",
                elsewhere_text()
            ),
        ),
        Kind::Umbrella => done(
            ConfirmationVerdict::CannotTell,
            "the wrapper names no hop; explain customization.log first".to_string(),
        ),
        Kind::Build if !failing_elsewhere.is_empty() => done(
            ConfirmationVerdict::PointsElsewhere,
            format!(
                "the log shows a failure of the build itself, but the evidence shows {}",
                elsewhere_text()
            ),
        ),
        Kind::Build => done(
            ConfirmationVerdict::CannotTell,
            "not a network failure: the build log is the evidence, and the traffic shows nothing against it"
                .to_string(),
        ),
        Kind::Runner => done(
            ConfirmationVerdict::CannotTell,
            "Packer ran outside AIB: captures of AIB's proxy or ACI hops cannot show the runner's path"
                .to_string(),
        ),
    }
    .with_neutral_note(evidence)
}

impl Confirmation {
    fn with_neutral_note(mut self, evidence: &EvidenceSummary) -> Confirmation {
        if self.verdict == ConfirmationVerdict::CannotTell
            && evidence.finding_ids.contains(&FindingId::NoAibTraffic)
            && !self.reason.contains("no AIB traffic")
        {
            self.reason
                .push_str("; the evidence has no AIB traffic at all");
        }
        self
    }
}

impl EvidenceSummary {
    /// The hops and finding ids of a diagnosis.
    pub fn from_diagnosis(d: &crate::diagnose::Diagnosis) -> Self {
        EvidenceSummary {
            hops: d
                .hops
                .iter()
                .map(|h| HopObservation {
                    hop: h.hop,
                    status: h.status,
                })
                .collect(),
            finding_ids: d.findings.iter().map(|f| f.id).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(hops: &[(Hop, HopStatus)], finding_ids: &[FindingId]) -> EvidenceSummary {
        EvidenceSummary {
            hops: hops
                .iter()
                .map(|&(hop, status)| HopObservation { hop, status })
                .collect(),
            finding_ids: finding_ids.to_vec(),
        }
    }

    fn f1(e: &EvidenceSummary) -> Confirmation {
        let info = Class::ProxyCommandChannelBlocked.info();
        confirm(
            Class::ProxyCommandChannelBlocked,
            info.hop,
            info.finding_ids,
            e,
        )
    }

    #[test]
    fn expected_finding_confirms() {
        let c = f1(&ev(
            &[(Hop::AlbToProxy, HopStatus::Blocked)],
            &[FindingId::AlbToProxyBlocked],
        ));
        assert_eq!(c.verdict, ConfirmationVerdict::Confirms);
        assert_eq!(c.matched_finding_ids, [FindingId::AlbToProxyBlocked]);
    }

    #[test]
    fn failing_hop_without_the_finding_still_confirms() {
        let c = f1(&ev(&[(Hop::AlbToProxy, HopStatus::Degraded)], &[]));
        assert_eq!(c.verdict, ConfirmationVerdict::Confirms);
    }

    #[test]
    fn working_hop_with_failure_elsewhere_points_elsewhere() {
        let c = f1(&ev(
            &[
                (Hop::ProbeToProxy, HopStatus::Ok),
                (Hop::AlbToProxy, HopStatus::Ok),
                (Hop::ProxyToBuildVm, HopStatus::Blocked),
            ],
            &[FindingId::ProxyToBuildVmBlocked],
        ));
        assert_eq!(c.verdict, ConfirmationVerdict::PointsElsewhere);
        assert_eq!(c.failing_elsewhere.len(), 1);
        assert!(
            c.reason.contains("proxy_to_build_vm blocked"),
            "{}",
            c.reason
        );
    }

    #[test]
    fn healthy_evidence_refutes_with_a_caveat() {
        let c = f1(&ev(
            &[(Hop::AlbToProxy, HopStatus::Ok)],
            &[FindingId::Healthy],
        ));
        assert_eq!(c.verdict, ConfirmationVerdict::PointsElsewhere);
        assert!(c.reason.contains("may not cover"), "{}", c.reason);
    }

    #[test]
    fn unobserved_hop_cannot_tell_even_with_other_failures() {
        // A build-VM-only capture cannot see the proxy's command channel.
        let c = f1(&ev(
            &[
                (Hop::AlbToProxy, HopStatus::NotObserved),
                (Hop::BuildVmEgress, HopStatus::Blocked),
            ],
            &[FindingId::HopNotObservable, FindingId::BuildVmEgressBlocked],
        ));
        assert_eq!(c.verdict, ConfirmationVerdict::CannotTell);
        assert!(c.reason.contains("build_vm_egress blocked"), "{}", c.reason);
    }

    #[test]
    fn worst_observation_of_a_hop_wins() {
        let c = f1(&ev(
            &[
                (Hop::AlbToProxy, HopStatus::Ok),
                (Hop::AlbToProxy, HopStatus::Blocked),
            ],
            &[],
        ));
        assert_eq!(c.verdict, ConfirmationVerdict::Confirms);
    }

    #[test]
    fn configuration_classes() {
        let info = Class::PlsNetworkPoliciesEnabled.info();
        let pls = |e: &EvidenceSummary| {
            confirm(
                Class::PlsNetworkPoliciesEnabled,
                info.hop,
                info.finding_ids,
                e,
            )
        };
        assert_eq!(
            pls(&ev(&[], &[FindingId::PlsNetworkPoliciesEnabled])).verdict,
            ConfirmationVerdict::Confirms
        );
        assert_eq!(
            pls(&ev(&[(Hop::AlbToProxy, HopStatus::Ok)], &[])).verdict,
            ConfirmationVerdict::PointsElsewhere
        );
        let none = pls(&ev(&[], &[FindingId::NoAibTraffic]));
        assert_eq!(none.verdict, ConfirmationVerdict::CannotTell);
    }

    #[test]
    fn permissions_cannot_be_told_from_traffic() {
        let info = Class::IdentityNotAuthorized.info();
        let c = confirm(
            Class::IdentityNotAuthorized,
            info.hop,
            info.finding_ids,
            &ev(
                &[(Hop::AlbToProxy, HopStatus::Blocked)],
                &[FindingId::NoAibTraffic],
            ),
        );
        assert_eq!(c.verdict, ConfirmationVerdict::CannotTell);
        assert!(c.reason.contains("no AIB traffic at all"), "{}", c.reason);
    }

    #[test]
    fn umbrella_names_what_the_evidence_shows() {
        let c = confirm(
            Class::PackerBuildFailed,
            None,
            &[],
            &ev(
                &[(Hop::BuildVmDns, HopStatus::Blocked)],
                &[FindingId::DnsFailing],
            ),
        );
        assert_eq!(c.verdict, ConfirmationVerdict::CannotTell);
        assert!(c.reason.contains("build_vm_dns blocked"), "{}", c.reason);
    }
}

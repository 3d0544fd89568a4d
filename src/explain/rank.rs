//! Run the signals over the text, score each class, rank them, and for a text
//! that matches nothing, find the classes whose wording it comes closest to.

use super::catalogue::{ALL, Class, SIGNALS, Signal};
use super::extract::Extracted;
use crate::aib::{FindingId, Hop, Os, TopologyKind, is_build_port, is_proxy_port};
use aho_corasick::AhoCorasick;
use regex::Regex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// One line of the input that a signal matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceLine {
    /// The signal's id.
    pub signal: &'static str,
    /// 1-based line number in the input (absent for JSON input).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The line, trimmed and cut at 300 characters.
    pub text: String,
}

/// What the text says about one class before it becomes a [`super::Match`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The class.
    pub class: Class,
    /// 0–1.
    pub confidence: f64,
    /// The hop, adjusted for the topology.
    pub hop: Option<Hop>,
    /// Finding ids, adjusted for how the connection failed.
    pub finding_ids: Vec<FindingId>,
    /// Lines that matched, at most five.
    pub evidence: Vec<EvidenceLine>,
    /// How many times its signals matched in all.
    pub occurrences: usize,
}

/// A class the text resembles without matching it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Closest {
    /// The class.
    pub class: Class,
    /// Row of reference §4.
    #[serde(rename = "ref")]
    pub reference: Option<&'static str>,
    /// The class's title.
    pub title: &'static str,
    /// Share of the class's keywords found in the text (0–1).
    pub similarity: f64,
    /// Why it is close, and why it is not a match.
    pub why: String,
}

// Justified exception: the catalogue's patterns are constants, not input, and
// a unit test compiles every one.
#[allow(clippy::expect_used)]
static COMPILED: LazyLock<Vec<(&'static Signal, Regex)>> = LazyLock::new(|| {
    SIGNALS
        .iter()
        .map(|s| {
            (
                s,
                Regex::new(s.pattern).expect("catalogue regexes compile (tested)"),
            )
        })
        .collect()
});

const MAX_EVIDENCE: usize = 5;
/// Below this a class is noise (a generic timeout text under a topology that
/// rules the class out): it is not listed.
const MIN_CONFIDENCE: f64 = 0.1;
const MAX_LINE: usize = 300;

fn line_of(
    text: &str,
    line_starts: &[usize],
    at: usize,
    from_json: bool,
) -> (Option<usize>, String) {
    let idx = line_starts.partition_point(|&s| s <= at).saturating_sub(1);
    let start = line_starts.get(idx).copied().unwrap_or(0);
    let end = text[start..].find('\n').map_or(text.len(), |e| start + e);
    let line = text[start..end].trim();
    let cut: String = line.chars().take(MAX_LINE).collect();
    let cut = if cut.len() < line.len() {
        format!("{cut}…")
    } else {
        cut
    };
    ((!from_json).then_some(idx + 1), cut)
}

/// Score every class the text points to, best first (the umbrella class last).
pub fn score(text: &str, from_json: bool, x: &Extracted, os: Option<Os>) -> Vec<Scored> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut weights: BTreeMap<Class, Vec<f64>> = BTreeMap::new();
    let mut evidence: BTreeMap<Class, Vec<EvidenceLine>> = BTreeMap::new();
    let mut counts: BTreeMap<Class, usize> = BTreeMap::new();
    // The line of a communicator timeout (`Timeout waiting for SSH`).
    let mut timeout_line: Option<(Option<usize>, String)> = None;
    for (signal, re) in COMPILED.iter() {
        let mut found = re.find_iter(text).peekable();
        let Some(first) = found.peek().map(|m| m.start()) else {
            continue;
        };
        let n = found.count();
        let (line, line_text) = line_of(text, &line_starts, first, from_json);
        if signal.id.starts_with("timeout_waiting_for_") {
            timeout_line.get_or_insert((line, line_text.clone()));
        }
        for (class, w) in signal.scores {
            weights.entry(*class).or_default().push(*w);
            *counts.entry(*class).or_default() += n;
            let ev = evidence.entry(*class).or_default();
            if ev.len() < MAX_EVIDENCE && !ev.iter().any(|e| e.text == line_text) {
                ev.push(EvidenceLine {
                    signal: signal.id,
                    line,
                    text: line_text.clone(),
                });
            }
        }
    }

    if let Some((line, line_text)) = timeout_line
        && x.dial_error.is_none()
        && x.runner.is_none()
    {
        // As a whole log's timeout without attempts is read.
        for (class, w) in super::catalogue::TIMEOUT_WITHOUT_ATTEMPTS {
            weights.entry(class).or_default().push(w);
            *counts.entry(class).or_default() += 1;
            evidence.entry(class).or_default().push(EvidenceLine {
                signal: TIMEOUT_WITHOUT_ATTEMPTS_SIGNAL,
                line,
                text: line_text.clone(),
            });
        }
    }
    if x.runner.is_some() && AIB_PATH.iter().any(|c| weights.contains_key(c)) {
        // Packer ran outside AIB and could not reach the build VM: the
        // runner's path, or the image if the VM answered (as a whole log
        // run by hand is read, `outside_aib`).
        let answered = x
            .dial_error
            .as_deref()
            .is_some_and(|e| e.contains("refused") || e.contains("reset"));
        let at = line_starts
            .iter()
            .copied()
            .find(|&i| {
                text.get(i..)
                    .and_then(|rest| rest.lines().next())
                    .is_some_and(|l| super::extract::runner_in(l).is_some())
            })
            .unwrap_or(0);
        let (line, line_text) = line_of(text, &line_starts, at, from_json);
        for (class, w) in super::catalogue::outside_aib(answered) {
            weights.entry(class).or_default().push(w);
            *counts.entry(class).or_default() += 1;
            evidence.entry(class).or_default().push(EvidenceLine {
                signal: "packer_outside_aib",
                line,
                text: line_text.clone(),
            });
        }
    }

    let mut out: Vec<Scored> = Vec::new();
    for (class, mut ws) in weights {
        ws.sort_by(|a, b| b.total_cmp(a));
        // The strongest signal counts in full; each further one closes half
        // of its share of the remaining doubt (overlapping patterns on the
        // same line must not add up to certainty).
        let mut c = 0.0;
        for (i, w) in ws.iter().enumerate() {
            c += (1.0 - c) * w * if i == 0 { 1.0 } else { 0.5 };
        }
        c *= topology_factor(class, x.topology);
        if x.runner.is_some() && AIB_PATH.contains(&class) {
            // No proxy VM and no ACI when Packer runs by hand: as a whole
            // log run by hand, only the runner's path and the image are read.
            continue;
        }
        if os == Some(Os::Linux)
            && matches!(
                class,
                Class::WinrmBrokenByHardening | Class::KmsActivationBlocked
            )
        {
            continue;
        }
        if c < MIN_CONFIDENCE {
            continue;
        }
        let mut evidence_lines = evidence.remove(&class).unwrap_or_default();
        evidence_lines.sort_by_key(|e| e.line);
        out.push(Scored {
            class,
            confidence: (c * 100.0).round() / 100.0,
            hop: hop_for(class, x.topology),
            finding_ids: finding_ids_for(class, x),
            evidence: evidence_lines,
            occurrences: counts.get(&class).copied().unwrap_or(0),
        });
    }
    out.sort_by(|a, b| {
        let umbrella = |s: &Scored| s.class.info().kind == super::catalogue::Kind::Umbrella;
        umbrella(a)
            .cmp(&umbrella(b))
            .then(b.confidence.total_cmp(&a.confidence))
            .then(a.class.cmp(&b.class))
    });
    out
}

/// The evidence signal of the readings a timeout without attempts adds.
pub const TIMEOUT_WITHOUT_ATTEMPTS_SIGNAL: &str = "timeout_without_attempts";

/// The classes of AIB's own path to the build VM (proxy VM, its private
/// endpoint and load balancer, ACI): none exists when Packer runs by hand.
const AIB_PATH: [Class; 5] = [
    Class::ProxyCommandChannelBlocked,
    Class::HealthProbeBlocked,
    Class::ProxyToBuildVmBlocked,
    Class::AciToBuildVmBlocked,
    Class::AciEgressBlocked,
];

fn topology_factor(class: Class, topology: Option<TopologyKind>) -> f64 {
    match (topology, class) {
        // No proxy VM on the isolated path: the proxy hops cannot be it.
        (
            Some(TopologyKind::Isolated),
            Class::ProxyCommandChannelBlocked
            | Class::HealthProbeBlocked
            | Class::ProxyToBuildVmBlocked,
        ) => 0.3,
        // Packer went through the proxy: it never dials the build VM itself.
        (Some(TopologyKind::Proxy), Class::AciToBuildVmBlocked | Class::AciEgressBlocked) => 0.3,
        _ => 1.0,
    }
}

pub(super) fn hop_for(class: Class, topology: Option<TopologyKind>) -> Option<Hop> {
    let hop = class.info().hop;
    match (hop, topology) {
        (Some(Hop::ProxyToBuildVm), Some(TopologyKind::Isolated))
            if matches!(
                class,
                Class::BuildSessionInterrupted
                    | Class::WinrmBrokenByHardening
                    | Class::BuildVmResourceExhaustion
            ) =>
        {
            Some(Hop::AciToBuildVm)
        }
        _ => hop,
    }
}

pub(super) fn finding_ids_for(class: Class, x: &Extracted) -> Vec<FindingId> {
    let refused = x
        .dial_error
        .as_deref()
        .is_some_and(|e| e.contains("refused"));
    let mut out: Vec<FindingId> = class.info().finding_ids.to_vec();
    let first = match class {
        // The proxy answered with a reset: nothing listens on 6000x.
        Class::ProxyCommandChannelBlocked if refused => Some(FindingId::ProxyPortRejected),
        Class::ProxyToBuildVmBlocked | Class::AciToBuildVmBlocked if refused => {
            Some(FindingId::BuildVmPortRejected)
        }
        _ => None,
    };
    if let Some(id) = first {
        out.retain(|i| *i != id);
        out.insert(0, id);
    }
    out
}

/// Whether the occurrence of `needle` at `hay[i..]` stands as a word: a
/// needle edge that is alphanumeric must not continue a longer word.
fn stands_alone(bytes: &[u8], i: usize, needle: &str) -> bool {
    let check_before = needle.starts_with(|c: char| c.is_ascii_alphanumeric());
    let check_after = needle.ends_with(|c: char| c.is_ascii_alphanumeric());
    let before = i.checked_sub(1).and_then(|j| bytes.get(j));
    let after = bytes.get(i + needle.len());
    let glued_before = check_before && before.is_some_and(u8::is_ascii_alphanumeric);
    let glued_after = check_after && after.is_some_and(u8::is_ascii_alphanumeric);
    !glued_before && !glued_after
}

fn contains_word(hay: &str, needle: &str) -> bool {
    let bytes = hay.as_bytes();
    hay.match_indices(needle)
        .any(|(i, _)| stands_alone(bytes, i, needle))
}

/// Where a keyword sits: (index in [`ALL`], index in the class's keywords).
type Slots = Vec<(usize, usize)>;
/// The automaton and, for its pattern `i`, entry `i`: the keyword, its slots.
type Keywords = (AhoCorasick, Vec<(&'static str, Slots)>);

/// The distinct keywords of every class in one automaton, so a text is
/// scanned once rather than once per keyword (123 of them). `None` if the
/// automaton cannot be built (it can: the keywords are constants, and a unit
/// test checks); [`closest`] then searches keyword by keyword.
static KEYWORDS: LazyLock<Option<Keywords>> = LazyLock::new(|| {
    let mut list: Vec<(&'static str, Slots)> = Vec::new();
    for (c, class) in ALL.iter().enumerate() {
        for (i, k) in class.info().keywords.iter().enumerate() {
            match list.iter_mut().find(|(x, _)| x == k) {
                Some((_, slots)) => slots.push((c, i)),
                None => list.push((k, vec![(c, i)])),
            }
        }
    }
    let ac = AhoCorasick::new(list.iter().map(|(k, _)| k)).ok()?;
    Some((ac, list))
});

/// For every class in [`ALL`] and each of its keywords, whether `lower`
/// contains the keyword as a word (see [`stands_alone`]).
fn keywords_found(lower: &str) -> Vec<Vec<bool>> {
    let mut found: Vec<Vec<bool>> = ALL
        .iter()
        .map(|c| vec![false; c.info().keywords.len()])
        .collect();
    match &*KEYWORDS {
        Some((ac, list)) => {
            let bytes = lower.as_bytes();
            // Overlapping: one keyword may sit inside another, and a glued
            // occurrence must not hide a later one.
            for m in ac.find_overlapping_iter(lower) {
                let Some((k, slots)) = list.get(m.pattern().as_usize()) else {
                    continue;
                };
                if !stands_alone(bytes, m.start(), k) {
                    continue;
                }
                for &(c, i) in slots {
                    if let Some(slot) = found.get_mut(c).and_then(|row| row.get_mut(i)) {
                        *slot = true;
                    }
                }
            }
        }
        None => {
            for (row, class) in found.iter_mut().zip(ALL) {
                for (slot, k) in row.iter_mut().zip(class.info().keywords) {
                    *slot = contains_word(lower, k);
                }
            }
        }
    }
    found
}

/// The classes a text that matched nothing comes closest to (at most three),
/// by the wording they share. Never presented as a match.
pub fn closest(text: &str, x: &Extracted) -> Vec<Closest> {
    let lower = text.to_lowercase();
    let found = keywords_found(&lower);
    let mut out: Vec<Closest> = Vec::new();
    for (class, hits) in ALL.into_iter().zip(&found) {
        let info = class.info();
        let shared: Vec<&str> = info
            .keywords
            .iter()
            .zip(hits)
            .filter(|(_, hit)| **hit)
            .map(|(k, _)| *k)
            .collect();
        // Ports carry meaning even when the words differ.
        let port_hint = match (class, x.port) {
            (Class::ProxyCommandChannelBlocked | Class::HealthProbeBlocked, Some(p))
                if is_proxy_port(p) =>
            {
                Some("it names the proxy port 6000x")
            }
            (Class::ProxyToBuildVmBlocked | Class::AciToBuildVmBlocked, Some(p))
                if is_build_port(p) =>
            {
                Some("it names the build VM port 22/5986")
            }
            _ => None,
        };
        let egress_hint = (class == Class::BuildVmEgressBlocked
            && !x.egress_destinations.is_empty())
        .then_some("it names destinations outside the VNET");
        if shared.len() < 2 && port_hint.is_none() && egress_hint.is_none() {
            continue;
        }
        let mut why = Vec::new();
        if !shared.is_empty() {
            why.push(format!(
                "shares {} with {}'s texts",
                shared
                    .iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(", "),
                info.reference.unwrap_or(info.title)
            ));
        }
        why.extend(port_hint.map(str::to_string));
        why.extend(egress_hint.map(str::to_string));
        let similarity = (shared.len() as f64
            + f64::from(u8::from(port_hint.is_some() || egress_hint.is_some())))
            / (info.keywords.len() as f64 + 1.0);
        out.push(Closest {
            class,
            reference: info.reference,
            title: info.title,
            similarity: (similarity * 100.0).round() / 100.0,
            why: format!(
                "{}; but none of its known error texts matched, so it is not a diagnosis",
                why.join("; ")
            ),
        });
    }
    out.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then(a.class.cmp(&b.class))
    });
    out.truncate(3);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::extract::extract;
    use crate::explain::input::JsonHints;

    fn ranked(text: &str) -> Vec<(Class, f64)> {
        let x = extract(text, &JsonHints::default());
        score(text, false, &x, x.os)
            .into_iter()
            .map(|s| (s.class, s.confidence))
            .collect()
    }

    #[test]
    fn overlapping_signals_do_not_reach_certainty() {
        let r = ranked(
            r#"WinRM connection err: unknown error Post "https://10.1.0.6:5986/wsman": proxyconnect tcp: dial tcp 10.241.0.5:60000: i/o timeout"#,
        );
        assert_eq!(r[0].0, Class::ProxyCommandChannelBlocked);
        assert!(r[0].1 >= 0.9 && r[0].1 < 0.99, "{r:?}");
        assert_eq!(r[1].0, Class::HealthProbeBlocked);
        assert!(r[1].1 < r[0].1);
    }

    #[test]
    fn umbrella_ranks_last_even_when_surer() {
        let r = ranked(
            "Failed while waiting for packerizer: Microservice has failed: ... Packer build command has failed: exit status 1\nTimeout waiting for SSH.",
        );
        assert_eq!(r.last().map(|r| r.0), Some(Class::PackerBuildFailed));
        assert!(r.last().unwrap().1 > r[0].1);
    }

    #[test]
    fn refused_proxy_port_reports_proxy_port_rejected_first() {
        let text =
            "Error connecting to bastion: dial tcp 10.241.0.5:60001: connect: connection refused";
        let x = extract(text, &JsonHints::default());
        let s = score(text, false, &x, x.os);
        assert_eq!(s[0].class, Class::ProxyCommandChannelBlocked);
        assert_eq!(s[0].finding_ids[0], FindingId::ProxyPortRejected);
    }

    #[test]
    fn evidence_points_at_lines() {
        let text = "noise\n2024/05/14 10:00:00 ui: ==> azure-arm: Timeout waiting for SSH.\nmore";
        let x = extract(text, &JsonHints::default());
        let s = score(text, false, &x, x.os);
        assert_eq!(s[0].evidence[0].line, Some(2));
        assert!(s[0].evidence[0].text.ends_with("Timeout waiting for SSH."));
    }

    #[test]
    fn one_scan_finds_what_keyword_by_keyword_finds() {
        let texts = [
            "",
            "dial tcp 10.0.0.4:60000 i/o timeout via the proxy vm; winrm 5986 nsg deny",
            "x60000y proxyconnect tcp: private endpoint, subnet policies, key management service",
            "ssh ssh22 22 port 22: connection refused; sshd connection reset by peer",
        ];
        let all_keywords = ALL.iter().flat_map(|c| c.info().keywords).copied();
        let glued: String = all_keywords.clone().collect::<Vec<_>>().join("");
        let spaced: String = all_keywords.collect::<Vec<_>>().join(" ");
        for text in texts
            .iter()
            .copied()
            .chain([glued.as_str(), spaced.as_str()])
        {
            let lower = text.to_lowercase();
            let slow: Vec<Vec<bool>> = ALL
                .iter()
                .map(|c| {
                    c.info()
                        .keywords
                        .iter()
                        .map(|k| contains_word(&lower, k))
                        .collect()
                })
                .collect();
            assert_eq!(keywords_found(&lower), slow, "{text}");
        }
        assert!(KEYWORDS.is_some());
    }

    #[test]
    fn word_matching_respects_boundaries() {
        assert!(contains_word("port 22 open", "22"));
        assert!(!contains_word("2024-05-22", "5986"));
        assert!(!contains_word("x1220", "22"));
        assert!(contains_word("dial tcp 1.2.3.4", "dial tcp"));
        assert!(contains_word("a/b", "/b"));
    }
}

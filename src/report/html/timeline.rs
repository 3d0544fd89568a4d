//! The SVG timeline: one lane per hop over the time the build's sessions
//! span, each session a bar from its first to its last packet in the tone
//! of what became of it, SYN retransmissions as ticks on the bar and
//! flow-log denies as marks above it, so that "the proxy tried every 10 s
//! and nothing answered" shows as a row of hatched bars with ticks.
//!
//! Sessions that fall on the same pixels with the same outcome are drawn as
//! one bar (its tooltip counts them), so the picture stays small for
//! captures of many builds; the sessions table and the JSON keep each one.

use super::page::esc;
use super::{endpoints, shown_outcome};
use crate::aib::Hop;
use crate::diagnose::Diagnosis;
use crate::hops::Outcome;
use crate::sessions::{Decision, Session};
use crate::time::rfc3339;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The picture's width, the plot's left and right edges (SVG user units).
const WIDTH: f64 = 950.0;
const X0: f64 = 200.0;
const X1: f64 = 935.0;
/// Session bars: height, and the height of a sub-row of bars.
const BAR_H: f64 = 11.0;
const ROW_H: f64 = 17.0;
/// Overlapping sessions of one hop are drawn on at most this many rows.
const MAX_ROWS: usize = 3;

/// How an outcome is drawn: fill, stroke, the words in the legend and
/// tooltips. Blocked bars are hatched, so a failure never rests on colour.
fn look(o: Outcome, id: &str) -> (String, &'static str, &'static str) {
    match o {
        Outcome::Ok => ("#0072B2".into(), "#005A8C", "answered"),
        Outcome::Blocked => (
            format!("url(#{id}-hatch)"),
            "#D55E00",
            "no answer or denied",
        ),
        Outcome::Rejected => ("#CC79A7".into(), "#7D3C68", "refused (RST or ICMP)"),
        Outcome::Interrupted => ("#E69F00".into(), "#7A5200", "cut mid-way"),
        Outcome::Unknown => ("#FFFFFF".into(), "#767676", "allowed, no counters"),
    }
}

/// A bar: the sessions of one hop with one outcome starting at one pixel.
struct Bar {
    outcome: Outcome,
    x1: f64,
    x2: f64,
    sessions: usize,
    first: i64,
    last: i64,
    /// A single session's description (tooltip).
    only: Option<String>,
    /// SYN retransmission ticks, in half pixels.
    ticks: BTreeSet<i64>,
    /// Flow-log denies: half pixel → (count, the rule and NSG of the first).
    denies: BTreeMap<i64, (usize, String)>,
    row: usize,
}

/// One session for a tooltip.
fn describe(s: &Session, o: Outcome) -> String {
    let (from, to) = endpoints(s);
    let mut t = format!(
        "{} {from} → {to} {} ({}), {} to {}",
        s.proto.as_str(),
        s.state.as_str(),
        look(o, "").2,
        rfc3339(s.first_ts, 3),
        rfc3339(s.last_ts, 3)
    );
    if s.syn_retransmits > 0 {
        let _ = write!(t, ", {} SYN retransmits", s.syn_retransmits);
    }
    if let Some(f) = &s.flow
        && let Some(dec) = f.decision
    {
        let _ = write!(t, ", flow log: {dec}");
        if let Some(r) = &f.rule {
            let _ = write!(t, " by {r}");
        }
    }
    t
}

/// Steps of the time axis, in seconds.
const STEPS_S: [i64; 19] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    604800,
];

/// The axis step for a span: the smallest that gives at most 8 ticks.
fn step_ns(span: i64) -> i64 {
    for ms in [100i64, 200, 500] {
        if span / (ms * 1_000_000) <= 8 {
            return ms * 1_000_000;
        }
    }
    for s in STEPS_S {
        if span / (s * 1_000_000_000) <= 8 {
            return s * 1_000_000_000;
        }
    }
    span / 8 + 1
}

/// An axis label: `04:38:25`, with milliseconds below a second's step, the
/// date when the span covers days.
fn tick_label(t: i64, step: i64, days: bool) -> String {
    let full = rfc3339(t, 3);
    let part = |a: usize, b: usize| full.get(a..b).unwrap_or("").to_string();
    let time = if step < 1_000_000_000 {
        format!("{}.{}", part(11, 19), part(20, 23))
    } else if step >= 60_000_000_000 {
        part(11, 16)
    } else {
        part(11, 19)
    };
    if days {
        format!("{} {time}", part(5, 10))
    } else {
        time
    }
}

/// The timeline of a diagnosis over `sessions` (the list its hops' session
/// indices point into), as an `<svg>` element and a caption; `None` when no
/// hop has a session. `id` makes its element ids unique in the page.
pub(super) fn svg(d: &Diagnosis, sessions: &[Session], id: &str) -> Option<(String, String)> {
    let lanes: Vec<(Hop, Vec<&Session>)> = d
        .hops
        .iter()
        .filter(|h| h.hop.applies_to(d.topology.kind) || !h.sessions.is_empty())
        .map(|h| {
            let ss: Vec<&Session> = h.sessions.iter().filter_map(|&i| sessions.get(i)).collect();
            (h.hop, ss)
        })
        .collect();
    let all = || lanes.iter().flat_map(|(_, ss)| ss.iter());
    let t0 = all().map(|s| s.first_ts).min()?;
    let t1 = all().map(|s| s.last_ts).max().unwrap_or(t0);
    // A span of at least a second, so that one instant still draws.
    let span = (t1 - t0).max(1_000_000_000);
    let x_of = |t: i64| X0 + (t - t0) as f64 * (X1 - X0) / span as f64;
    let half_px = |x: f64| (x * 2.0).round() as i64;

    let mut body = String::new();
    let mut y = 8.0f64;
    let mut grid = String::new();
    let lanes_top = y;
    for (hop, ss) in &lanes {
        // Bucket the sessions by outcome and starting pixel.
        let mut buckets: BTreeMap<(i64, Outcome), Bar> = BTreeMap::new();
        for s in ss {
            let o = shown_outcome(s);
            let x1 = x_of(s.first_ts);
            let x2 = x_of(s.last_ts).max(x1 + 2.0);
            let b = buckets
                .entry((x1.floor() as i64, o))
                .or_insert_with(|| Bar {
                    outcome: o,
                    x1,
                    x2,
                    sessions: 0,
                    first: s.first_ts,
                    last: s.last_ts,
                    only: None,
                    ticks: BTreeSet::new(),
                    denies: BTreeMap::new(),
                    row: 0,
                });
            b.x1 = b.x1.min(x1);
            b.x2 = b.x2.max(x2);
            b.first = b.first.min(s.first_ts);
            b.last = b.last.max(s.last_ts);
            b.sessions += 1;
            b.only = (b.sessions == 1).then(|| describe(s, o));
            // Retransmitted SYNs: an unanswered attempt's packets are all
            // SYNs, first to last, so its ticks spread over the bar (the
            // count is exact, the spacing is not recorded); an answered
            // one's come before the answer, at its start.
            let n = i64::from(s.syn_retransmits);
            if n > 0 && s.resp.pkts == 0 && s.last_ts > s.first_ts {
                for k in 1..=n {
                    let t = s.first_ts + (s.last_ts - s.first_ts) * k / n;
                    b.ticks.insert(half_px(x_of(t)));
                }
            } else if n > 0 {
                b.ticks.insert(half_px(x1 + 1.0));
            }
            if let Some(f) = &s.flow
                && f.decision == Some(Decision::Deny)
            {
                let what = format!(
                    "flow log: denied by {} in {}",
                    f.rule.as_deref().unwrap_or("?"),
                    f.nsg.as_deref().unwrap_or("?")
                );
                let e = b.denies.entry(half_px(x1)).or_insert((0, what));
                e.0 += 1;
            }
        }
        // Rows: a bar goes on the first row free at its start, else on the
        // row that frees first (drawn over).
        let mut bars: Vec<Bar> = buckets.into_values().collect();
        bars.sort_by(|a, b| a.x1.total_cmp(&b.x1));
        let mut ends = [f64::NEG_INFINITY; MAX_ROWS];
        let mut used = 1;
        for b in &mut bars {
            let free = ends.iter().position(|&e| e + 1.0 <= b.x1);
            let row = free.unwrap_or_else(|| {
                ends.iter()
                    .enumerate()
                    .min_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i)
            });
            if let Some(e) = ends.get_mut(row) {
                *e = e.max(b.x2);
            }
            b.row = row;
            used = used.max(row + 1);
        }
        let lane_h = (16.0 + used as f64 * ROW_H).max(44.0);
        let failed = ss
            .iter()
            .filter(|s| {
                matches!(
                    shown_outcome(s),
                    Outcome::Blocked | Outcome::Rejected | Outcome::Interrupted
                )
            })
            .count();
        let summary = match (ss.len(), failed) {
            (0, _) => "no sessions".to_string(),
            (n, 0) => format!("{n} session{}", if n == 1 { "" } else { "s" }),
            (n, f) => format!("{n} session{}, {f} failed", if n == 1 { "" } else { "s" }),
        };
        let _ = writeln!(
            body,
            "<text x=\"8\" y=\"{:.1}\" font-size=\"13\" font-weight=\"700\">{}</text>\
             <text x=\"8\" y=\"{:.1}\" font-size=\"11\" fill=\"#444444\">{}</text>",
            y + 18.0,
            esc(hop.label()),
            y + 33.0,
            esc(&summary)
        );
        for b in &bars {
            let by = y + 10.0 + b.row as f64 * ROW_H;
            let (fill, stroke, word) = look(b.outcome, id);
            let title = b.only.clone().unwrap_or_else(|| {
                format!(
                    "{} sessions, {word}, {} to {}",
                    b.sessions,
                    rfc3339(b.first, 3),
                    rfc3339(b.last, 3)
                )
            });
            let dash = if b.outcome == Outcome::Unknown {
                " stroke-dasharray=\"3 2\""
            } else {
                ""
            };
            let _ = write!(
                body,
                "<g><title>{}</title><rect x=\"{:.1}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"{BAR_H}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1\"{dash}/>",
                esc(&title),
                b.x1,
                (b.x2 - b.x1).max(2.0),
            );
            for t in &b.ticks {
                let x = *t as f64 / 2.0;
                let _ = write!(
                    body,
                    "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#000000\" stroke-width=\"1.5\"/>",
                    by - 3.0,
                    by + BAR_H + 3.0
                );
            }
            body.push_str("</g>\n");
            for (t, (n, what)) in &b.denies {
                let x = *t as f64 / 2.0;
                let more = if *n > 1 {
                    format!(" ({n} flows)")
                } else {
                    String::new()
                };
                let _ = writeln!(
                    body,
                    "<path d=\"M{:.1},{:.1} h9 l-4.5,6 z\" fill=\"#000000\"><title>{}{}</title></path>",
                    x - 4.5,
                    by - 7.0,
                    esc(what),
                    esc(&more)
                );
            }
        }
        y += lane_h;
        let _ = writeln!(
            grid,
            "<line x1=\"4\" x2=\"{X1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#DDDDDD\"/>"
        );
    }
    // The axis, with grid lines behind the lanes.
    let step = step_ns(span);
    let days = t1 / 86_400_000_000_000 != t0 / 86_400_000_000_000;
    let mut axis =
        format!("<line x1=\"{X0}\" x2=\"{X1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#333333\"/>\n");
    let mut t = t0.div_euclid(step) * step;
    if t < t0 {
        t += step;
    }
    while t <= t0 + span {
        let x = x_of(t);
        let _ = writeln!(
            grid,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{lanes_top:.1}\" y2=\"{y:.1}\" stroke=\"#EEEEEE\"/>"
        );
        let _ = writeln!(
            axis,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y:.1}\" y2=\"{:.1}\" stroke=\"#333333\"/>",
            y + 4.0,
        );
        // A label too near the right edge would be cut: its tick stays
        // (the caption gives the exact end).
        if x <= WIDTH - 45.0 {
            let _ = writeln!(
                axis,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
                y + 16.0,
                esc(&tick_label(t, step, days))
            );
        }
        t += step;
    }
    // The legend.
    let ly = y + 32.0;
    let mut legend = String::new();
    let mut lx = 8.0;
    for o in [
        Outcome::Ok,
        Outcome::Blocked,
        Outcome::Rejected,
        Outcome::Interrupted,
        Outcome::Unknown,
    ] {
        let (fill, stroke, word) = look(o, id);
        let _ = writeln!(
            legend,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"22\" height=\"{BAR_H}\" fill=\"{fill}\" stroke=\"{stroke}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{word}</text>",
            ly - 9.0,
            lx + 27.0,
            ly
        );
        lx += 27.0 + word.len() as f64 * 6.0 + 14.0;
    }
    let _ = writeln!(
        legend,
        "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#000000\" stroke-width=\"1.5\"/>\
         <text x=\"{:.1}\" y=\"{ly:.1}\" font-size=\"11\">SYN retransmit</text>\
         <path d=\"M{:.1},{:.1} h9 l-4.5,6 z\" fill=\"#000000\"/>\
         <text x=\"{:.1}\" y=\"{ly:.1}\" font-size=\"11\">flow-log deny</text>",
        lx + 4.0,
        lx + 4.0,
        ly - 12.0,
        ly + 3.0,
        lx + 10.0,
        lx + 104.0,
        ly - 9.0,
        lx + 118.0,
    );
    let height = ly + 10.0;
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height:.0}\" role=\"img\" aria-labelledby=\"{id}-t\" font-family=\"system-ui, 'Segoe UI', 'Liberation Sans', Arial, sans-serif\">\
         <title id=\"{id}-t\">Sessions of each hop over time</title>\
         <defs><pattern id=\"{id}-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <rect width=\"6\" height=\"6\" fill=\"#FBE3D3\"/><rect width=\"3\" height=\"6\" fill=\"#D55E00\"/></pattern></defs>\n\
         {grid}{axis}{body}{legend}</svg>"
    );
    let caption = format!(
        "One lane per hop; each bar is a session from its first to its last packet or flow-log \
         tuple, {} to {} ({}). Ticks: retransmitted SYNs (their number is exact, their spacing \
         on an unanswered attempt is not recorded). Triangles: flows a flow log denied.",
        rfc3339(t0, 3),
        rfc3339(t1, 3),
        human_span(t1 - t0)
    );
    Some((svg, caption))
}

/// A duration for people: `47.3 s`, `12 min 5 s`, `3 h 2 min`, `2 d 4 h`.
pub(super) fn human_span(ns: i64) -> String {
    let s = ns / 1_000_000_000;
    if s < 60 {
        format!("{:.1} s", ns as f64 / 1e9)
    } else if s < 3600 {
        format!("{} min {} s", s / 60, s % 60)
    } else if s < 86400 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else {
        format!("{} d {} h", s / 86400, (s % 86400) / 3600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_steps_and_labels() {
        assert_eq!(step_ns(47_000_000_000), 10_000_000_000);
        assert_eq!(step_ns(500_000_000), 100_000_000);
        assert_eq!(step_ns(3 * 3600 * 1_000_000_000), 1800 * 1_000_000_000);
        let t = 1_795_000_000_000_000_000 + 123_000_000;
        assert_eq!(tick_label(t, 10_000_000_000, false).len(), 8);
        assert!(tick_label(t, 100_000_000, false).ends_with(".123"));
        assert_eq!(human_span(47_300_000_000), "47.3 s");
        assert_eq!(human_span(725 * 1_000_000_000), "12 min 5 s");
    }
}

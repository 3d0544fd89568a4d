//! The time window the evidence should cover, from the flags or the text's
//! timestamps, and the flow-log blob folders (hours or days) it spans.

use super::context::Context;
use super::extract::Extracted;
use crate::time::{Utc, hours_between};
use serde::Serialize;

/// The time window the evidence should cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Start (UTC).
    pub from: Utc,
    /// End (UTC).
    pub to: Utc,
    /// Where the window came from.
    pub basis: String,
}
/// Work out the time window of the evidence.
pub fn window(ctx: &Context, x: &Extracted) -> Option<Window> {
    const BUILD: i64 = 4 * 3600; // default buildTimeoutInMinutes: 240
    const BEFORE: i64 = 3600; // a proxy-path timeout shows after ~30 min of retries
    const AFTER: i64 = 300;
    let w = |from: Utc, to: Utc, basis: &str| {
        Some(Window {
            from: from.min(to),
            to: from.max(to),
            basis: basis.to_string(),
        })
    };
    match (ctx.since, ctx.until, ctx.at) {
        (Some(s), Some(u), _) => w(s, u, "--since/--until"),
        (Some(s), None, _) => w(
            s,
            s.add_secs(BUILD),
            "--since plus the default 4 h build timeout",
        ),
        (None, Some(u), _) => w(
            u.add_secs(-BUILD),
            u,
            "--until minus the default 4 h build timeout",
        ),
        (None, None, Some(t)) => w(
            t.add_secs(-BEFORE),
            t.add_secs(AFTER),
            "--at, from 1 h before (the build retried for up to ~30 min) to 5 min after",
        ),
        _ => match (x.first_seen, x.last_seen) {
            (Some(a), Some(b)) if a != b && x.time_source == Some("lastRunStatus") => w(
                a.add_secs(-AFTER),
                b.add_secs(AFTER),
                "the run's lastRunStatus start and end, ±5 min",
            ),
            (Some(a), Some(b)) if a != b => w(
                a.add_secs(-AFTER),
                b.add_secs(AFTER),
                "the first and last timestamps in the text, ±5 min",
            ),
            (Some(t), _) | (None, Some(t)) => w(
                t.add_secs(-BEFORE),
                t.add_secs(AFTER),
                "the one timestamp in the text, from 1 h before to 5 min after",
            ),
            (None, None) => None,
        },
    }
}

/// The `y=/m=/d=/h=` folders of flow-log blobs the window spans (days when
/// it is longer than a day); a note when the time is not known.
pub(super) fn blob_time_prefixes(w: Option<&Window>, notes: &mut Vec<String>) -> Vec<String> {
    let Some(w) = w else {
        notes.push(
            "No time in the text or flags: the flow-log patterns carry <YYYY>/<MM>/<DD>/<HH>; pass \
             --at TIME or --since/--until to fill them."
                .to_string(),
        );
        return vec!["y=<YYYY>/m=<MM>/d=<DD>/h=<HH>".to_string()];
    };
    // Records are written up to ~1 min after their tuples' time, so a window
    // ending at hh:59 also needs the next hour's blob.
    let to = w.to.add_secs(120);
    match hours_between(w.from, to, 24) {
        Some(hours) => hours
            .into_iter()
            .map(|h| {
                let c = h.civil();
                format!(
                    "y={:04}/m={:02}/d={:02}/h={:02}",
                    c.year, c.month, c.day, c.hour
                )
            })
            .collect(),
        None => {
            notes.push(
                "The window spans more than 24 hours: the flow-log patterns are per day."
                    .to_string(),
            );
            let mut days = Vec::new();
            let mut d = Utc(w.from.0 - w.from.0.rem_euclid(86_400));
            while d <= to && days.len() < 31 {
                let c = d.civil();
                days.push(format!("y={:04}/m={:02}/d={:02}", c.year, c.month, c.day));
                d = d.add_secs(86_400);
            }
            days
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Utc {
        Utc::parse(s).unwrap()
    }

    #[test]
    fn hour_prefixes_include_the_next_hour_near_the_boundary() {
        let w = Window {
            from: t("2024-05-14T09:10:00Z"),
            to: t("2024-05-14T10:59:00Z"),
            basis: String::new(),
        };
        let mut notes = Vec::new();
        assert_eq!(
            blob_time_prefixes(Some(&w), &mut notes),
            [
                "y=2024/m=05/d=14/h=09",
                "y=2024/m=05/d=14/h=10",
                "y=2024/m=05/d=14/h=11"
            ]
        );
        assert!(notes.is_empty());
    }

    #[test]
    fn long_windows_fall_back_to_days() {
        let w = Window {
            from: t("2024-05-30T22:00:00Z"),
            to: t("2024-06-02T01:00:00Z"),
            basis: String::new(),
        };
        let mut notes = Vec::new();
        assert_eq!(
            blob_time_prefixes(Some(&w), &mut notes),
            [
                "y=2024/m=05/d=30",
                "y=2024/m=05/d=31",
                "y=2024/m=06/d=01",
                "y=2024/m=06/d=02"
            ]
        );
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn window_sources_in_order_of_precedence() {
        let mut x = Extracted {
            first_seen: Some(t("2024-05-14T10:00:00Z")),
            last_seen: Some(t("2024-05-14T10:30:00Z")),
            ..Extracted::default()
        };
        let w = window(&Context::default(), &x).unwrap();
        assert_eq!(
            (w.from, w.to),
            (t("2024-05-14T09:55:00Z"), t("2024-05-14T10:35:00Z"))
        );
        let ctx = Context {
            at: Some(t("2024-05-14T12:00:00Z")),
            ..Context::default()
        };
        let w = window(&ctx, &x).unwrap();
        assert_eq!(
            (w.from, w.to),
            (t("2024-05-14T11:00:00Z"), t("2024-05-14T12:05:00Z"))
        );
        x.last_seen = x.first_seen;
        let w = window(&Context::default(), &x).unwrap();
        assert_eq!(
            (w.from, w.to),
            (t("2024-05-14T09:00:00Z"), t("2024-05-14T10:05:00Z"))
        );
        assert_eq!(window(&Context::default(), &Extracted::default()), None);
    }
}

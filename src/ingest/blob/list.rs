//! Listing a prefix, pruned by the time window on the flow-log layout's
//! `y=YYYY/m=MM/d=DD/h=HH` folders: a folder whose time lies wholly outside
//! the window is never listed, and the hour folders inside it are listed
//! in parallel.

use super::RemoteStats;
use crate::ingest::select::{HEAD_BYTES, Selection, flow_log_folder};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use std::sync::atomic::Ordering;

/// Slack around a folder's time: a blob's first record carries tuples from
/// the previous hour's last minute and records are written up to a few
/// minutes late (the same slack as the scan's per-blob test).
const SLACK_NS: i64 = 15 * 60 * 1_000_000_000;

/// The evidence window (ns since the epoch), either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Evidence at or after this time.
    pub since: Option<i64>,
    /// Evidence at or before this time.
    pub until: Option<i64>,
}

impl Window {
    fn is_open(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// Whether `[lo, hi)` (widened by the slack) overlaps the window.
    fn overlaps(&self, lo: i64, hi: i64) -> bool {
        self.since.is_none_or(|s| hi + SLACK_NS >= s)
            && self.until.is_none_or(|u| lo - SLACK_NS <= u)
    }
}

/// The time a folder path of the flow-log layout covers, `[lo, hi)`, when
/// its last segment is one of the `y=`, `m=` (month), `d=`, `h=` levels;
/// `None` for any other folder (it is listed as it is).
pub fn folder_span(path: &str) -> Option<(i64, i64)> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let y_at = segs.iter().rposition(|s| s.starts_with("y="))?;
    let tail = segs.get(y_at..)?;
    let num = |s: &str, key: &str| -> Option<i64> { s.strip_prefix(key)?.parse().ok() };
    let y = num(tail.first()?, "y=")?;
    const HOUR: i64 = 3600 * 1_000_000_000;
    const DAY: i64 = 24 * HOUR;
    let day = |y: i64, m: i64, d: i64| -> Option<i64> {
        let m = u32::try_from(m).ok().filter(|m| (1..=12).contains(m))?;
        let d = u32::try_from(d).ok().filter(|d| (1..=31).contains(d))?;
        Some(crate::time::days_from_civil(y, m, d) * DAY)
    };
    match tail.len() {
        1 => Some((day(y, 1, 1)?, day(y + 1, 1, 1)?)),
        2 => {
            let m = num(tail.get(1)?, "m=")?;
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            Some((day(y, m, 1)?, day(ny, nm, 1)?))
        }
        3 => {
            let lo = day(y, num(tail.get(1)?, "m=")?, num(tail.get(2)?, "d=")?)?;
            Some((lo, lo + DAY))
        }
        4 => {
            let lo = day(y, num(tail.get(1)?, "m=")?, num(tail.get(2)?, "d=")?)?;
            let h = num(tail.get(3)?, "h=").filter(|h| (0..24).contains(h))?;
            Some((lo + h * HOUR, lo + (h + 1) * HOUR))
        }
        _ => None,
    }
}

/// Whether a folder is an hour of the layout (`.../h=HH`).
fn is_hour(path: &str) -> bool {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .is_some_and(|s| s.starts_with("h="))
        && folder_span(path).is_some()
}

/// List every blob under `prefix` whose folder can hold evidence of the
/// window and the selection, sorted by name. An open window and an empty
/// selection list the prefix flat; otherwise folders are walked level by
/// level down to the hours (or, for the selection, down to the time
/// folders), skipping those wholly outside the window and those the
/// selection leaves out by name or by their flow log's target (counted in
/// `stats`).
pub async fn list(
    store: &dyn ObjectStore,
    prefix: &str,
    window: Window,
    select: &Selection,
    concurrency: usize,
    stats: &RemoteStats,
) -> object_store::Result<Vec<ObjectMeta>> {
    let root = (!prefix.is_empty()).then(|| Path::from(prefix));
    let mut out: Vec<ObjectMeta> = Vec::new();
    // Flow-log folders whose target was read while walking.
    let mut decided: Vec<String> = Vec::new();
    let deeper =
        |folder: &str| (!window.is_open() && !is_hour(folder)) || select.prunes_above_time(folder);
    let mut flat: Vec<Option<Path>> = Vec::new();
    if deeper(prefix) {
        // A prefix that is itself a blob (one named file) or ends inside a
        // folder name is listed flat: there is no folder level to prune.
        let mut folders = vec![root];
        while let Some(folder) = folders.pop() {
            stats.list_requests.fetch_add(1, Ordering::Relaxed);
            let r = store.list_with_delimiter(folder.as_ref()).await?;
            out.extend(r.objects);
            for p in r.common_prefixes {
                let s = p.as_ref();
                match folder_span(s) {
                    Some((lo, hi)) if !window.overlaps(lo, hi) => {
                        stats.pruned.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    _ => {}
                }
                if !select.allows_path(s) {
                    stats.deselected.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if select.by_target() && flow_log_folder(s) == Some(s.trim_end_matches('/')) {
                    decided.push(s.trim_end_matches('/').to_string());
                    if !target_allows(store, &p, select, stats).await? {
                        stats.deselected.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                }
                if deeper(s) {
                    folders.push(Some(p));
                } else {
                    flat.push(Some(p));
                }
            }
        }
    } else {
        flat.push(root);
    }
    let lists: Vec<Vec<ObjectMeta>> = futures::stream::iter(flat)
        .map(|h| {
            stats.list_requests.fetch_add(1, Ordering::Relaxed);
            async move { store.list(h.as_ref()).try_collect::<Vec<_>>().await }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    out.extend(lists.into_iter().flatten());
    let before = out.len();
    out.retain(|m| select.allows_path(m.location.as_ref()));
    // Blobs whose flow log's folder was not walked (the prefix starts
    // below it, or a blob outside the layout): one head per flow log.
    if select.by_target() {
        let mut verdicts: std::collections::HashMap<String, bool> = Default::default();
        let mut kept = Vec::with_capacity(out.len());
        for m in out {
            let keep = match select.target_key(m.location.as_ref()) {
                None => true,
                Some(key) if decided.iter().any(|d| d == key) => true,
                Some(key) => match verdicts.get(key) {
                    Some(v) => *v,
                    None => {
                        let v = select.head_allows(&head(store, &m.location, m.size, stats).await?);
                        verdicts.insert(key.to_string(), v);
                        v
                    }
                },
            };
            if keep {
                kept.push(m);
            }
        }
        out = kept;
    }
    stats
        .deselected
        .fetch_add((before - out.len()) as u64, Ordering::Relaxed);
    // By path component, as local paths sort.
    out.sort_by(|a, b| {
        a.location
            .as_ref()
            .split('/')
            .cmp(b.location.as_ref().split('/'))
    });
    out.dedup_by(|a, b| a.location == b.location);
    Ok(out)
}

/// The first [`HEAD_BYTES`] of a blob (one ranged read).
async fn head(
    store: &dyn ObjectStore,
    path: &Path,
    size: u64,
    stats: &RemoteStats,
) -> object_store::Result<Vec<u8>> {
    stats.heads.fetch_add(1, Ordering::Relaxed);
    let n = size.min(HEAD_BYTES as u64);
    if n == 0 {
        return Ok(Vec::new());
    }
    Ok(store.get_range(path, 0..n).await?.to_vec())
}

/// Whether the flow log of a `…/FLOWLOGS/NAME/` folder is selected by its
/// target: the first record of its first blob (one page of listing, one
/// ranged read) says it for all of them.
async fn target_allows(
    store: &dyn ObjectStore,
    folder: &Path,
    select: &Selection,
    stats: &RemoteStats,
) -> object_store::Result<bool> {
    stats.list_requests.fetch_add(1, Ordering::Relaxed);
    let first = store.list(Some(folder)).next().await.transpose()?;
    Ok(match first {
        Some(m) => select.head_allows(&head(store, &m.location, m.size, stats).await?),
        None => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        crate::time::parse(s).unwrap()
    }

    #[test]
    fn folder_spans_of_the_layout() {
        let base = "insights/resourceId=/S/NETWORKSECURITYGROUPS/N";
        assert_eq!(
            folder_span(&format!("{base}/y=2024")),
            Some((at("2024-01-01T00:00:00Z"), at("2025-01-01T00:00:00Z")))
        );
        assert_eq!(
            folder_span(&format!("{base}/y=2024/m=12/")),
            Some((at("2024-12-01T00:00:00Z"), at("2025-01-01T00:00:00Z")))
        );
        assert_eq!(
            folder_span(&format!("{base}/y=2024/m=02/d=29")),
            Some((at("2024-02-29T00:00:00Z"), at("2024-03-01T00:00:00Z")))
        );
        assert_eq!(
            folder_span(&format!("{base}/y=2024/m=08/d=19/h=18")),
            Some((at("2024-08-19T18:00:00Z"), at("2024-08-19T19:00:00Z")))
        );
        // Below the hour (the minute folder, the MAC) nothing more is known.
        assert_eq!(
            folder_span(&format!("{base}/y=2024/m=08/d=19/h=18/m=00")),
            None
        );
        assert_eq!(folder_span(base), None);
        assert_eq!(folder_span(&format!("{base}/y=2024/m=13")), None);
        assert!(is_hour(&format!("{base}/y=2024/m=08/d=19/h=18/")));
        assert!(!is_hour(&format!("{base}/y=2024/m=08/d=19")));
    }

    #[test]
    fn windows_keep_the_slack() {
        let w = Window {
            since: Some(at("2024-08-19T19:10:00Z")),
            until: None,
        };
        let (lo, hi) = (at("2024-08-19T18:00:00Z"), at("2024-08-19T19:00:00Z"));
        assert!(w.overlaps(lo, hi), "late records reach into the next hour");
        let w = Window {
            since: Some(at("2024-08-19T19:30:00Z")),
            until: None,
        };
        assert!(!w.overlaps(lo, hi));
        let w = Window {
            since: None,
            until: Some(at("2024-08-19T17:50:00Z")),
        };
        assert!(w.overlaps(lo, hi));
        let w = Window {
            since: None,
            until: Some(at("2024-08-19T17:00:00Z")),
        };
        assert!(!w.overlaps(lo, hi));
    }
}

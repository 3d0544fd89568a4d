//! UTC timestamps as the error texts and flags write them.
//!
//! Only what `explain` needs: parse the two shapes seen in AIB output
//! (RFC 3339 from ARM and `az`, `YYYY/MM/DD HH:MM:SS` from Packer's log lines),
//! print them back, and walk the clock hours of a window (the `h=` folders of
//! flow-log blobs). Seconds since the Unix epoch, UTC; no leap seconds.

use std::fmt;

/// A point in time, seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utc(pub i64);

/// A time flag or text that is not a timestamp aibnet understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a time: use RFC 3339 (2024-05-14T10:21:33Z, an offset like +02:00 is \
     converted to UTC) or `2024-05-14 10:21` (taken as UTC)"
)]
pub struct TimeError(pub String);

/// The broken-down UTC fields of a [`Utc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year, e.g. 2024.
    pub year: i64,
    /// Month 1–12.
    pub month: u32,
    /// Day of month 1–31.
    pub day: u32,
    /// Hour 0–23.
    pub hour: u32,
    /// Minute 0–59.
    pub minute: u32,
    /// Second 0–59.
    pub second: u32,
}

// Days since 1970-01-01 of a proleptic Gregorian date (the well-known
// era-based conversion: 400-year eras of 146097 days, years starting in March).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Utc {
    /// Build from UTC fields; `None` when a field is out of range.
    pub fn from_civil(c: Civil) -> Option<Utc> {
        if !(1970..=9999).contains(&c.year)
            || !(1..=12).contains(&c.month)
            || c.day == 0
            || c.day > days_in_month(c.year, c.month)
            || c.hour > 23
            || c.minute > 59
            || c.second > 60
        {
            return None;
        }
        let days = days_from_civil(c.year, c.month, c.day);
        Some(Utc(days * 86_400
            + i64::from(c.hour) * 3600
            + i64::from(c.minute) * 60
            + i64::from(c.second.min(59))))
    }

    /// The UTC fields.
    pub fn civil(self) -> Civil {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (secs / 3600) as u32,
            minute: (secs % 3600 / 60) as u32,
            second: (secs % 60) as u32,
        }
    }

    /// The start of this time's clock hour.
    pub fn floor_hour(self) -> Utc {
        Utc(self.0 - self.0.rem_euclid(3600))
    }

    /// This time moved by `secs` seconds.
    pub fn add_secs(self, secs: i64) -> Utc {
        Utc(self.0.saturating_add(secs))
    }

    /// Parse a flag value or a timestamp found in text.
    ///
    /// Accepts `YYYY-MM-DDTHH:MM[:SS[.frac]][Z|±HH:MM|±HHMM]`, a space instead of
    /// the `T`, and `/` instead of `-` in the date (Packer log lines). A time
    /// without a zone is taken as UTC.
    ///
    /// # Errors
    /// [`TimeError`] when the text is not such a timestamp or a field is out of range.
    pub fn parse(text: &str) -> Result<Utc, TimeError> {
        parse_inner(text.trim()).ok_or_else(|| TimeError(text.to_string()))
    }

    /// `2024-05-14T10:21:33Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(part).ok()?.parse().ok()
}

fn parse_inner(t: &str) -> Option<Utc> {
    let b = t.as_bytes();
    let year = digits(b, 0, 4)?;
    let sep = *b.get(4)?;
    if !(sep == b'-' || sep == b'/') || b.get(7) != Some(&sep) {
        return None;
    }
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let mut i = 10;
    let (mut hour, mut minute, mut second) = (0, 0, 0);
    if let Some(&sep) = b.get(i) {
        if !(sep == b'T' || sep == b't' || sep == b' ') {
            return None;
        }
        hour = digits(b, i + 1, 2)?;
        if b.get(i + 3) != Some(&b':') {
            return None;
        }
        minute = digits(b, i + 4, 2)?;
        i += 6;
        if b.get(i) == Some(&b':') {
            second = digits(b, i + 1, 2)?;
            i += 3;
            if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
                i += 1;
                let start = i;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                if i == start {
                    return None;
                }
            }
        }
    }
    let mut offset: i64 = 0;
    match b.get(i) {
        None => {}
        Some(b'Z' | b'z') if i + 1 == b.len() => {}
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)?;
            let rest = b.get(i + 3..)?;
            let om = match rest {
                [] => 0,
                [b':', ..] if rest.len() == 3 => digits(rest, 1, 2)?,
                _ if rest.len() == 2 => digits(rest, 0, 2)?,
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            offset = i64::from(oh * 3600 + om * 60);
            if sign == b'-' {
                offset = -offset;
            }
        }
        _ => return None,
    }
    let utc = Utc::from_civil(Civil {
        year: i64::from(year),
        month,
        day,
        hour,
        minute,
        second,
    })?;
    Some(utc.add_secs(-offset))
}

impl serde::Serialize for Utc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.civil();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

/// The clock hours (their starts) that overlap `[from, to]`, at most `limit`;
/// `None` when there would be more.
pub fn hours_between(from: Utc, to: Utc, limit: usize) -> Option<Vec<Utc>> {
    let (from, to) = if from <= to { (from, to) } else { (to, from) };
    let mut out = Vec::new();
    let mut h = from.floor_hour();
    while h <= to {
        if out.len() == limit {
            return None;
        }
        out.push(h);
        h = h.add_secs(3600);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_epochs() {
        assert_eq!(Utc::parse("1970-01-01T00:00:00Z"), Ok(Utc(0)));
        // `date -u -d 2024-05-14T10:21:33Z +%s` = 1715682093
        assert_eq!(Utc::parse("2024-05-14T10:21:33Z"), Ok(Utc(1_715_682_093)));
        assert_eq!(Utc::parse("2024/05/14 10:21:33"), Ok(Utc(1_715_682_093)));
        assert_eq!(Utc::parse("2024-05-14 10:21"), Ok(Utc(1_715_682_060)));
        assert_eq!(
            Utc::parse("2024-05-14T12:21:33.1234567+02:00"),
            Ok(Utc(1_715_682_093))
        );
        assert_eq!(
            Utc::parse("2024-05-14T05:21:33-0500"),
            Ok(Utc(1_715_682_093))
        );
        // Leap day, and the day after.
        assert_eq!(
            Utc::parse("2024-02-29T00:00:00Z").map(|u| u.0 % 86_400),
            Ok(0)
        );
        assert_eq!(
            Utc::parse("2024-03-01T00:00:00Z").unwrap().0
                - Utc::parse("2024-02-29T00:00:00Z").unwrap().0,
            86_400
        );
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "",
            "2024",
            "2024-13-01T00:00:00Z",
            "2023-02-29",
            "2024-05-14T25:00:00Z",
            "2024-05-14T10:21:33Q",
            "2024-05-14T10:21:33+2",
            "2024-05-14T10:21:33.Z",
            "2024-05-14Tab:cd",
            "٢٠٢٤-05-14",
            "2024-05-1",
        ] {
            assert!(Utc::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn display_round_trips() {
        for t in [
            "2024-05-14T10:21:33Z",
            "1999-12-31T23:59:59Z",
            "2100-03-01T00:00:00Z",
        ] {
            assert_eq!(Utc::parse(t).unwrap().to_string(), t);
        }
    }

    #[test]
    fn hours_cover_both_ends() {
        let a = Utc::parse("2024-05-14T09:50:00Z").unwrap();
        let b = Utc::parse("2024-05-14T11:00:00Z").unwrap();
        let hours: Vec<String> = hours_between(a, b, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.to_string())
            .collect();
        assert_eq!(
            hours,
            [
                "2024-05-14T09:00:00Z",
                "2024-05-14T10:00:00Z",
                "2024-05-14T11:00:00Z"
            ]
        );
        assert_eq!(hours_between(a, b, 2), None);
        assert_eq!(hours_between(b, a, 10).map(|h| h.len()), Some(3));
    }
}

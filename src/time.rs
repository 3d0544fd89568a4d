//! Time, once for the whole crate: one calendar (proleptic Gregorian, UTC,
//! no leap seconds), one grammar for every timestamp aibnet reads (flags
//! `--since`/`--until`/`--at`, flow-log record times, times in error texts),
//! and RFC 3339 formatting for reports.
//!
//! Instants are nanoseconds since the Unix epoch (`i64`) in the traffic
//! stages; `explain` works in whole seconds ([`Utc`]), since error texts and
//! blob folders are never finer.

use std::fmt;

/// Format ns since the Unix epoch as RFC 3339 UTC with `digits` fractional
/// digits (0 to 9): `2024-08-19T18:00:06.894438Z`.
pub fn rfc3339(ts_ns: i64, digits: u8) -> String {
    Timestamp::new(ts_ns, digits).as_str().to_string()
}

/// An RFC 3339 UTC timestamp formatted into a fixed buffer: no allocation
/// and no formatting machinery, since reports print two per session and
/// `format!` was a tenth of the time of `sessions --format ndjson`.
#[derive(Clone, Copy)]
pub struct Timestamp {
    buf: [u8; 30],
    len: u8,
}

impl Timestamp {
    /// Format `ts_ns` (ns since the epoch) with `digits` fractional digits
    /// (at most 9). Every `i64` is a year between 1677 and 2262, so the year
    /// always has four digits.
    pub fn new(ts_ns: i64, digits: u8) -> Self {
        let secs = ts_ns.div_euclid(1_000_000_000);
        Timestamp::with_second(&second(secs), ts_ns.rem_euclid(1_000_000_000), digits)
    }

    /// The timestamp `nanos` (0 to 999 999 999) into the second whose text
    /// is `head`.
    fn with_second(head: &[u8; 19], nanos: i64, digits: u8) -> Self {
        let mut t = Timestamp {
            buf: *b"0000-00-00T00:00:00.000000000Z",
            len: 0,
        };
        if let Some(b) = t.buf.first_chunk_mut::<19>() {
            *b = *head;
        }
        let digits = usize::from(digits.min(9));
        if digits == 0 {
            if let Some(b) = t.buf.get_mut(19) {
                *b = b'Z';
            }
            t.len = 20;
        } else {
            let frac = nanos / 10i64.pow(9 - digits as u32);
            put_digits(&mut t.buf, 20, digits, frac as u64);
            if let Some(b) = t.buf.get_mut(20 + digits) {
                *b = b'Z';
            }
            t.len = (21 + digits) as u8;
        }
        t
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators were written.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The text as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The buffer the text starts, and the text's length: for writers that
    /// copy a fixed 30 bytes (an inlined copy) and keep `len` of them.
    pub fn padded(&self) -> (&[u8; 30], usize) {
        (&self.buf, usize::from(self.len))
    }
}

/// `v`'s last `width` decimal digits into `buf[at..at + width]`.
fn put_digits<const N: usize>(buf: &mut [u8; N], at: usize, width: usize, mut v: u64) {
    for i in (at..at + width).rev() {
        if let Some(b) = buf.get_mut(i) {
            *b = b'0' + (v % 10) as u8;
        }
        v /= 10;
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a second since the epoch. Every `i64` of
/// nanoseconds is a year between 1677 and 2262: always four digits.
fn second(secs: i64) -> [u8; 19] {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut head = *b"0000-00-00T00:00:00";
    put_digits(&mut head, 0, 4, y.clamp(0, 9999) as u64);
    put_digits(&mut head, 5, 2, u64::from(m));
    put_digits(&mut head, 8, 2, u64::from(d));
    put_digits(&mut head, 11, 2, (sod / 3600) as u64);
    put_digits(&mut head, 14, 2, ((sod % 3600) / 60) as u64);
    put_digits(&mut head, 17, 2, (sod % 60) as u64);
    head
}

/// Formats timestamps as [`Timestamp::new`] does, keeping the text of the
/// last second: timestamps in a row that share it skip the calendar
/// arithmetic (two fifths of the time spent on timestamps when writing the
/// sessions of a capture, which come in order of first time).
#[derive(Debug, Clone, Default)]
pub struct TimestampCache {
    last: Option<(i64, [u8; 19])>,
}

impl TimestampCache {
    /// The same as `Timestamp::new(ts_ns, digits)`.
    pub fn format(&mut self, ts_ns: i64, digits: u8) -> Timestamp {
        let secs = ts_ns.div_euclid(1_000_000_000);
        let nanos = ts_ns.rem_euclid(1_000_000_000);
        let head = match &self.last {
            Some((s, head)) if *s == secs => head,
            _ => &self.last.insert((secs, second(secs))).1,
        };
        Timestamp::with_second(head, nanos, digits)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian): the
/// year, month and day of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date (inverse of [`civil_from_days`]).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A time flag or text that is not a timestamp aibnet understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a time: use RFC 3339 (2024-05-14T10:21:33Z, an offset like +02:00 is \
     converted to UTC) or `2024-05-14 10:21` (taken as UTC)"
)]
pub struct TimeError(pub String);

/// Parse a timestamp into nanoseconds since the epoch: the one grammar of
/// every time aibnet reads.
///
/// Accepts `YYYY-MM-DD[THH:MM[:SS[.frac]]][Z|±HH:MM|±HHMM|±HH]`, with a space
/// or `t` instead of the `T`, `/` instead of `-` in the date (Packer's log
/// lines) and `,` before the fraction; a time without a zone is UTC; a leap
/// second counts as :59. Years 1970 to 2262 (the range of `i64`
/// nanoseconds).
///
/// # Errors
/// [`TimeError`] when the text is not such a timestamp or a field is out of range.
pub fn parse(text: &str) -> Result<i64, TimeError> {
    parse_ns(text.trim()).ok_or_else(|| TimeError(text.to_string()))
}

/// [`parse`] in milliseconds (flow-log record times), `None` when it fails.
pub fn parse_ms(text: &str) -> Option<i64> {
    parse_ns(text.trim()).map(|ns| ns.div_euclid(1_000_000))
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(part).ok()?.parse().ok()
}

fn parse_ns(t: &str) -> Option<i64> {
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
    let mut nanos = 0i64;
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
                let mut scale = 100_000_000i64;
                while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                    nanos += i64::from(c - b'0') * scale;
                    scale /= 10;
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
    utc.0
        .checked_sub(offset)?
        .checked_mul(1_000_000_000)?
        .checked_add(nanos)
}

/// A point in time in whole seconds since 1970-01-01T00:00:00Z (what
/// `explain` needs: error texts and blob folders are never finer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utc(pub i64);

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
        parse(text).map(|ns| Utc(ns.div_euclid(1_000_000_000)))
    }

    /// `2024-05-14T10:21:33Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }
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

    /// The cache gives what `Timestamp::new` gives, within a second, across
    /// seconds and days, before the epoch and at the ends of `i64`.
    #[test]
    fn cache_formats_as_new() {
        let mut c = TimestampCache::default();
        let mut ts = vec![i64::MIN, i64::MAX, -1, 0, 1, 999_999_999, 1_000_000_000];
        for base in [1_700_000_000_000_000_000i64, -86_400_000_000_001] {
            for k in 0..200i64 {
                ts.push(base + k * 7_654_321);
                ts.push(base + (k % 3) * 86_399_999_999_999);
            }
        }
        for &t in &ts {
            for d in [0, 3, 6, 9, 12] {
                assert_eq!(
                    c.format(t, d).as_str(),
                    Timestamp::new(t, d).as_str(),
                    "{t} {d}"
                );
                let stamp = Timestamp::new(t, d);
                let (buf, len) = stamp.padded();
                assert_eq!(&buf[..len], stamp.as_bytes());
            }
        }
    }

    fn parse_opt(s: &str) -> Option<i64> {
        parse(s).ok()
    }

    #[test]
    fn formats_and_parses() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_724_090_406_894_438_400, 7),
            "2024-08-19T18:00:06.8944384Z"
        );
        assert_eq!(
            rfc3339(1_545_574_034_123_456_000, 6),
            "2018-12-23T14:07:14.123456Z"
        );
        assert_eq!(
            parse_opt("2024-08-19T18:00:06.8944384Z"),
            Some(1_724_090_406_894_438_400)
        );
        assert_eq!(
            parse_opt("2017-06-09T20:07:33.837Z"),
            Some(1_497_038_853_837_000_000)
        );
        assert_eq!(
            parse_opt("2024-08-19T20:00:06+02:00"),
            Some(1_724_090_406_000_000_000)
        );
        assert_eq!(parse_opt("garbage-not-a-time"), None);
    }

    /// The `format!` version the fixed-buffer one replaced.
    fn reference(ts_ns: i64, digits: u8) -> String {
        let secs = ts_ns.div_euclid(1_000_000_000);
        let nanos = ts_ns.rem_euclid(1_000_000_000);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        let (hh, mm, ss) = (sod / 3600, (sod % 3600) / 60, sod % 60);
        let digits = u32::from(digits.min(9));
        if digits == 0 {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        } else {
            let frac = nanos / 10i64.pow(9 - digits);
            let w = digits as usize;
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:0w$}Z")
        }
    }

    #[test]
    fn extremes_match_the_reference() {
        for ts in [
            i64::MIN,
            i64::MIN + 1,
            -1,
            0,
            1,
            i64::MAX,
            951_782_400_000_000_000,
        ] {
            for digits in [0, 3, 6, 9, 12] {
                assert_eq!(rfc3339(ts, digits), reference(ts, digits), "{ts} {digits}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_time_matches_the_reference(ts in proptest::prelude::any::<i64>(), digits in 0u8..12) {
            proptest::prop_assert_eq!(rfc3339(ts, digits), reference(ts, digits));
        }
    }

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
    #[test]
    fn parses_flow_log_record_times() {
        assert_eq!(parse_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_ms("2024-08-19T18:00:06.8944384Z"),
            Some(1_724_090_406_894)
        );
        assert_eq!(
            parse_ms("2017-06-09T20:07:33.837Z"),
            Some(1_497_038_853_837)
        );
        assert_eq!(
            parse_ms("2023-02-04T23:00:23.8575523Z"),
            Some(1_675_551_623_857)
        );
        assert_eq!(parse_ms("2000-02-29T00:00:00.5Z"), Some(951_782_400_500));
        assert_eq!(
            parse_ms("2024-08-19T20:00:06+02:00"),
            Some(1_724_090_406_000)
        );
    }

    #[test]
    fn rejects_bad_record_times() {
        for s in [
            "",
            "2024",
            "2024-13-01T00:00:00Z",
            "2024-01-01T00:00:00.Z",
            "x024-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_ms(s), None, "{s}");
        }
    }

    /// One grammar: a record time without a zone is UTC, like a flag's.
    #[test]
    fn zoneless_times_are_utc() {
        assert_eq!(
            parse_ms("2024-01-01T00:00:00"),
            parse_ms("2024-01-01T00:00:00Z")
        );
        assert_eq!(
            parse("2024-08-19 18:00:06.5"),
            parse("2024-08-19T18:00:06.500Z")
        );
    }
}

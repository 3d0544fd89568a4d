//! RFC 3339 timestamps without a date-time dependency.

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

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

/// Days since the epoch of a civil date (inverse of the above).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parse an RFC 3339 UTC timestamp (`Z` or `+00:00`, any fraction length)
/// into ns since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut ns = 0i64;
    let mut i = 19;
    if b.get(19) == Some(&b'.') {
        i = 20;
        let mut scale = 100_000_000i64;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            ns += i64::from(c - b'0') * scale;
            scale /= 10;
            i += 1;
        }
    }
    let offset_s = match s.get(i..)? {
        "Z" | "z" | "" => 0,
        tz if tz.len() == 6 => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (tz.get(1..3)?.parse::<i64>().ok()? * 3600
                + tz.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset_s;
    secs.checked_mul(1_000_000_000)?.checked_add(ns)
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
            parse_rfc3339("2024-08-19T18:00:06.8944384Z"),
            Some(1_724_090_406_894_438_400)
        );
        assert_eq!(
            parse_rfc3339("2017-06-09T20:07:33.837Z"),
            Some(1_497_038_853_837_000_000)
        );
        assert_eq!(
            parse_rfc3339("2024-08-19T20:00:06+02:00"),
            Some(1_724_090_406_000_000_000)
        );
        assert_eq!(parse_rfc3339("garbage-not-a-time"), None);
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
}

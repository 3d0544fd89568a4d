//! Record boundaries: find each record's byte span without parsing it, so
//! records can be parsed in parallel, a truncated blob keeps every complete
//! record before the cut, and every issue names a byte offset.
//!
//! Accepted shapes (after an optional UTF-8 BOM and whitespace):
//! * a blob `{"records":[ {…}, {…} ]}` (other top-level keys are skipped);
//! * a top-level array `[ {…}, {…} ]`;
//! * one or more bare record objects `{…} {…}` (one record, or JSON Lines).
//!
//! The scanner tracks strings (with escapes) and bracket depth only; each
//! span is validated by the JSON parser afterwards. Bracket *kinds* are not
//! matched here (`{]` is caught by the parser), so a garbled record may
//! shift the boundaries of the records after it; those then fail to parse
//! and are reported, never mis-decoded.

/// One record candidate: `bytes[start..end]`, element `index` of the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    pub index: u32,
}

/// How the input was laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `{"records":[…]}`
    Blob,
    /// `[…]`
    Array,
    /// Bare record object(s).
    Bare,
}

/// Something the scanner could not make sense of, at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScanIssue {
    /// An array element that is not an object (skipped).
    NotAnObject { index: u32, offset: usize },
    /// The input ends inside element `index`, which started at `offset`.
    Truncated { index: u32, offset: usize },
    /// The input ends after the last complete record but before the blob's
    /// closing brackets (nothing lost).
    Unclosed { offset: usize },
    /// Unexpected byte; scanning stopped there.
    Unexpected {
        offset: usize,
        expected: &'static str,
    },
}

/// What the scanner found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    pub shape: Shape,
    pub spans: Vec<Span>,
    pub issues: Vec<ScanIssue>,
}

/// Not a JSON object or array at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotJson {
    pub offset: usize,
}

const BOM: &[u8] = b"\xef\xbb\xbf";

fn ws(b: &[u8], mut i: usize) -> usize {
    while let Some(c) = b.get(i) {
        if !c.is_ascii_whitespace() {
            break;
        }
        i += 1;
    }
    i
}

/// `i` is just after an opening quote; returns the index after the closing
/// quote, or `None` at end of input. `memchr2` (SIMD) finds the next quote
/// or backslash: tuple strings average 60 bytes, and an 8-byte SWAR loop
/// here was a fifth of the parse.
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let rest = b.get(i..)?;
        let k = memchr::memchr2(b'"', b'\\', rest)?;
        match rest.get(k)? {
            b'"' => return Some(i + k + 1),
            _ => i += k + 2,
        }
    }
}

/// Outcome of skipping one JSON value.
enum Skip {
    /// Index just after the value.
    End(usize),
    /// Input ended inside it.
    Eof,
    /// Not the start of a value.
    Bad,
}

/// Skip the value starting at `i` (which is not whitespace).
fn skip_value(b: &[u8], i: usize) -> Skip {
    match b.get(i) {
        None => Skip::Eof,
        Some(b'{' | b'[') => skip_nested(b, i),
        Some(b'"') => skip_string(b, i + 1).map_or(Skip::Eof, Skip::End),
        Some(c) if c.is_ascii_alphanumeric() || *c == b'-' => {
            let mut j = i;
            while let Some(c) = b.get(j) {
                if !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.')) {
                    return Skip::End(j);
                }
                j += 1;
            }
            Skip::Eof
        }
        Some(_) => Skip::Bad,
    }
}

/// Skip an object or array starting at `i` by depth counting.
fn skip_nested(b: &[u8], i: usize) -> Skip {
    let mut depth: usize = 0;
    let mut j = i;
    while let Some(&c) = b.get(j) {
        match c {
            b'"' => match skip_string(b, j + 1) {
                Some(k) => {
                    j = k;
                    continue;
                }
                None => return Skip::Eof,
            },
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Skip::End(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    Skip::Eof
}

/// Scan the elements of an array whose `[` is at `open`; returns the index
/// after `]`, or `None` if scanning stopped (an issue was pushed).
fn scan_array(
    b: &[u8],
    open: usize,
    spans: &mut Vec<Span>,
    issues: &mut Vec<ScanIssue>,
) -> Option<usize> {
    let mut i = ws(b, open + 1);
    let mut index: u32 = 0;
    if b.get(i) == Some(&b']') {
        return Some(i + 1);
    }
    loop {
        let start = i;
        match skip_value(b, i) {
            Skip::End(end) => {
                if b.get(start) == Some(&b'{') {
                    spans.push(Span { start, end, index });
                } else {
                    issues.push(ScanIssue::NotAnObject {
                        index,
                        offset: start,
                    });
                }
                i = ws(b, end);
            }
            Skip::Eof => {
                issues.push(ScanIssue::Truncated {
                    index,
                    offset: start,
                });
                return None;
            }
            Skip::Bad => {
                issues.push(ScanIssue::Unexpected {
                    offset: start,
                    expected: "a record object",
                });
                return None;
            }
        }
        index = index.saturating_add(1);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b']') => return Some(i + 1),
            None => {
                issues.push(ScanIssue::Unclosed { offset: i });
                return None;
            }
            Some(_) => {
                issues.push(ScanIssue::Unexpected {
                    offset: i,
                    expected: "`,` or `]` after a record",
                });
                return None;
            }
        }
    }
}

/// A top-level object: a blob (with the index after it, or `None` if
/// scanning stopped with an issue), or a bare record (no `records` array).
enum TopObject {
    Blob(Option<usize>),
    Bare,
}

fn scan_top_object(
    b: &[u8],
    open: usize,
    spans: &mut Vec<Span>,
    issues: &mut Vec<ScanIssue>,
) -> TopObject {
    // Until its `records` array is met the object may be a bare record, and
    // anything unexpected just means it is one; once it is a blob, the same
    // thing stops the scan with an issue.
    let stop = |blob: bool, issue: ScanIssue, issues: &mut Vec<ScanIssue>| {
        if blob {
            issues.push(issue);
            TopObject::Blob(None)
        } else {
            TopObject::Bare
        }
    };
    let unclosed = |offset| ScanIssue::Unclosed { offset };
    let unexpected = |offset, expected| ScanIssue::Unexpected { offset, expected };
    let mut i = ws(b, open + 1);
    let mut blob = false;
    loop {
        match b.get(i) {
            Some(b'}') => {
                return if blob {
                    TopObject::Blob(Some(i + 1))
                } else {
                    TopObject::Bare
                };
            }
            Some(b'"') => {}
            None => return stop(blob, unclosed(i), issues),
            Some(_) => return stop(blob, unexpected(i, "a key or `}`"), issues),
        }
        let Some(key_end) = skip_string(b, i + 1) else {
            return stop(blob, unclosed(i), issues);
        };
        let key = b.get(i + 1..key_end - 1).unwrap_or_default();
        i = ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return stop(blob, unexpected(i, "`:`"), issues);
        }
        i = ws(b, i + 1);
        if key == b"records" && b.get(i) == Some(&b'[') && !blob {
            blob = true;
            match scan_array(b, i, spans, issues) {
                Some(end) => i = end,
                None => return TopObject::Blob(None),
            }
        } else {
            match skip_value(b, i) {
                Skip::End(end) => i = end,
                Skip::Eof => return stop(blob, unclosed(i), issues),
                _ => return TopObject::Bare,
            }
        }
        i = ws(b, i);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => {}
            None => return stop(blob, unclosed(i), issues),
            Some(_) => return stop(blob, unexpected(i, "`,` or `}`"), issues),
        }
    }
}

/// Find the records of a flow-log file.
pub(crate) fn scan(b: &[u8]) -> Result<Scan, NotJson> {
    let mut i = if b.starts_with(BOM) { BOM.len() } else { 0 };
    i = ws(b, i);
    let mut spans = Vec::new();
    let mut issues = Vec::new();
    let shape;
    match b.get(i) {
        Some(b'[') => {
            shape = Shape::Array;
            if let Some(end) = scan_array(b, i, &mut spans, &mut issues) {
                i = end;
            } else {
                return Ok(Scan {
                    shape,
                    spans,
                    issues,
                });
            }
        }
        Some(b'{') => match scan_top_object(b, i, &mut spans, &mut issues) {
            TopObject::Blob(Some(end)) => {
                shape = Shape::Blob;
                i = end;
            }
            TopObject::Blob(None) => {
                return Ok(Scan {
                    shape: Shape::Blob,
                    spans,
                    issues,
                });
            }
            TopObject::Bare => {
                shape = Shape::Bare;
                // One or more bare records (JSON Lines or concatenated).
                let mut index: u32 = 0;
                loop {
                    let start = i;
                    match skip_nested(b, i) {
                        Skip::End(end) => {
                            spans.push(Span { start, end, index });
                            i = ws(b, end);
                        }
                        Skip::Eof | Skip::Bad => {
                            issues.push(ScanIssue::Truncated {
                                index,
                                offset: start,
                            });
                            return Ok(Scan {
                                shape,
                                spans,
                                issues,
                            });
                        }
                    }
                    index = index.saturating_add(1);
                    match b.get(i) {
                        Some(b'{') => {}
                        None => {
                            return Ok(Scan {
                                shape,
                                spans,
                                issues,
                            });
                        }
                        Some(_) => {
                            issues.push(ScanIssue::Unexpected {
                                offset: i,
                                expected: "another record `{` or the end of input",
                            });
                            return Ok(Scan {
                                shape,
                                spans,
                                issues,
                            });
                        }
                    }
                }
            }
        },
        _ => return Err(NotJson { offset: i }),
    }
    i = ws(b, i);
    if i < b.len() {
        issues.push(ScanIssue::Unexpected {
            offset: i,
            expected: "the end of input",
        });
    }
    Ok(Scan {
        shape,
        spans,
        issues,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(b: &'a [u8], s: &Scan) -> Vec<&'a str> {
        s.spans
            .iter()
            .map(|sp| std::str::from_utf8(&b[sp.start..sp.end]).unwrap())
            .collect()
    }

    #[test]
    fn blob_with_strings_containing_brackets() {
        let b = br#"{"records":[{"a":"}{\"]"},{"b":[1,{"c":2}]}]}"#;
        let s = scan(b).unwrap();
        assert_eq!(s.shape, Shape::Blob);
        assert_eq!(texts(b, &s), [r#"{"a":"}{\"]"}"#, r#"{"b":[1,{"c":2}]}"#]);
        assert!(s.issues.is_empty());
    }

    #[test]
    fn bom_whitespace_and_other_keys_first() {
        let b = b"\xef\xbb\xbf \n\t{\"x\": [1, \"records\"], \"records\" : [ {\"a\":1} ] , \"y\":null}\n";
        let s = scan(b).unwrap();
        assert_eq!(s.shape, Shape::Blob);
        assert_eq!(s.spans.len(), 1);
        assert!(s.issues.is_empty(), "{:?}", s.issues);
    }

    #[test]
    fn bare_record_and_json_lines() {
        let b = b"{\"time\":\"x\",\"flowRecords\":{}}\n{\"time\":\"y\"}\n";
        let s = scan(b).unwrap();
        assert_eq!(s.shape, Shape::Bare);
        assert_eq!(s.spans.len(), 2);
        assert_eq!(s.spans[1].index, 1);
    }

    #[test]
    fn truncated_blob_keeps_complete_records() {
        let b = br#"{"records":[{"a":1},{"b":2},{"c":"abc"#;
        let s = scan(b).unwrap();
        assert_eq!(s.spans.len(), 2);
        assert_eq!(
            s.issues,
            [ScanIssue::Truncated {
                index: 2,
                offset: 28
            }]
        );
        // Cut right after a comma, inside a string, after the array.
        for (cut, spans) in [
            (br#"{"records":[{"a":1},"#.as_slice(), 1),
            (br#"{"records":[{"a":"x"#, 0),
        ] {
            let s = scan(cut).unwrap();
            assert_eq!(s.spans.len(), spans);
            assert!(
                matches!(s.issues[..], [ScanIssue::Truncated { .. }]),
                "{:?}",
                s.issues
            );
        }
        let s = scan(br#"{"records":[{"a":1}]"#).unwrap();
        assert_eq!(s.spans.len(), 1);
        assert_eq!(s.issues, [ScanIssue::Unclosed { offset: 20 }]);
    }

    #[test]
    fn non_object_elements_and_garbage() {
        let b = br#"{"records":[1,"x",{"a":1}]} junk"#;
        let s = scan(b).unwrap();
        assert_eq!(s.spans.len(), 1);
        assert_eq!(s.spans[0].index, 2);
        assert_eq!(s.issues.len(), 3);
        assert!(matches!(
            s.issues[2],
            ScanIssue::Unexpected { offset: 28, .. }
        ));
        let s = scan(br#"{"records":[{"a":1} {"b":2}]}"#).unwrap();
        assert!(matches!(
            s.issues[..],
            [ScanIssue::Unexpected { offset: 20, .. }]
        ));
        assert_eq!(scan(b"  hello"), Err(NotJson { offset: 2 }));
        assert_eq!(scan(b""), Err(NotJson { offset: 0 }));
    }

    #[test]
    fn swar_finds_quotes_and_backslashes() {
        for pos in 0..20 {
            let mut v = vec![b'a'; 20];
            v[pos] = b'"';
            assert_eq!(skip_string(&v, 0), Some(pos + 1));
            v[pos] = b'\\';
            v.push(b'"');
            let end = skip_string(&v, 0);
            if pos == 19 {
                assert_eq!(end, None, "escaped final quote");
            } else {
                assert_eq!(end, Some(21));
            }
        }
    }
}

//! JSON as serde_json writes it, with one more escape: the characters a
//! terminal would act on that JSON allows raw (DEL, the C1 controls, the
//! bidirectional overrides) are written as `\u009b`, `\u202e` …, so a
//! document `cat` to a terminal cannot drive it either. The parsed strings
//! are the same (every JSON reader turns the escape back), and output of
//! ordinary text is byte for byte serde_json's.

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter, Serializer};
use std::io::{self, Write};

/// Whether JSON allows `c` raw but a terminal would act on it. (C0 controls
/// below U+0020 are escaped by serde_json already.)
fn must_escape(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{9f}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A formatter that escapes what [`must_escape`] names and otherwise does
/// what `F` does.
struct Safe<F>(F);

impl<F: Formatter> Formatter for Safe<F> {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        // Every character to escape is DEL or outside ASCII: printable ASCII,
        // nearly all text (keys, addresses, names), is written in one go
        // after a check the compiler vectorises.
        // (A fold without early exit: it becomes SIMD; `all` does not.)
        if !s.bytes().fold(false, |seen, b| seen | (b >= 0x7f)) {
            return w.write_all(s.as_bytes());
        }
        let mut start = 0;
        for (i, c) in s.char_indices() {
            if must_escape(c) {
                w.write_all(s.get(start..i).unwrap_or_default().as_bytes())?;
                write!(w, "\\u{:04x}", u32::from(c))?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(s.get(start..).unwrap_or_default().as_bytes())
    }

    // What the pretty formatter changes (the compact one keeps the
    // defaults these forward to).
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Write `v` as serde_json's pretty JSON (two-space indent).
pub fn to_writer_pretty<W: Write, T: Serialize + ?Sized>(w: W, v: &T) -> serde_json::Result<()> {
    v.serialize(&mut Serializer::with_formatter(
        w,
        Safe(PrettyFormatter::new()),
    ))
}

/// Write `v` as compact JSON (one line).
pub fn to_writer<W: Write, T: Serialize + ?Sized>(w: W, v: &T) -> serde_json::Result<()> {
    v.serialize(&mut Serializer::with_formatter(w, Safe(CompactFormatter)))
}

/// A whole JSON document: pretty, with a final newline.
pub fn write_document<T: Serialize + ?Sized>(w: &mut dyn Write, v: &T) -> io::Result<()> {
    to_writer_pretty(&mut *w, v).map_err(io::Error::from)?;
    w.write_all(b"\n")
}

/// One NDJSON line: `item`'s fields with `"type": kind` first.
pub fn write_tagged_line<T: Serialize + ?Sized>(
    w: &mut dyn Write,
    kind: &'static str,
    item: &T,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct Tagged<'a, T: Serialize + ?Sized> {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(flatten)]
        item: &'a T,
    }
    to_writer(&mut *w, &Tagged { kind, item }).map_err(io::Error::from)?;
    w.write_all(b"\n")
}

/// `v` as pretty JSON bytes.
pub fn to_vec_pretty<T: Serialize + ?Sized>(v: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    to_writer_pretty(&mut out, v)?;
    Ok(out)
}

/// `v` as compact JSON bytes.
pub fn to_vec<T: Serialize + ?Sized>(v: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    to_writer(&mut out, v)?;
    Ok(out)
}

/// `v` as pretty JSON text.
pub fn to_string_pretty<T: Serialize + ?Sized>(v: &T) -> serde_json::Result<String> {
    // Only valid UTF-8 is written: serde_json's output plus ASCII escapes.
    to_vec_pretty(v).map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_serde_json_for_ordinary_text() {
        let v = serde_json::json!({"a": [1, {"b": "x\"y\n\u{1b}é€"}], "c": null, "d": []});
        assert_eq!(
            to_vec_pretty(&v).unwrap(),
            serde_json::to_vec_pretty(&v).unwrap()
        );
        assert_eq!(to_vec(&v).unwrap(), serde_json::to_vec(&v).unwrap());
    }

    #[test]
    fn terminal_controls_json_allows_are_escaped_and_read_back() {
        let s = "a\u{9b}31m\u{202e}b\u{7f}";
        let out = String::from_utf8(to_vec(&s).unwrap()).unwrap();
        assert_eq!(out, "\"a\\u009b31m\\u202eb\\u007f\"");
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, s);
    }
}

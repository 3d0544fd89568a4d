//! Escaping at the edge: text that comes from the evidence (rule and NSG
//! names, resource ids, file names, lines quoted from logs, pcapng comments)
//! is written as text in every format, never as instructions to the
//! terminal, the Markdown renderer or the XML parser.
//!
//! The library keeps such strings exactly as read (JSON carries them
//! byte for byte, serde_json escaping what JSON needs); each renderer passes
//! them through the function for its format as it writes them:
//!
//! * [`terminal`]: control characters (C0, DEL, C1) and the bidirectional
//!   overrides that reorder what a reader sees are shown as `\x1b`,
//!   `\u{9b}`, `\u{202e}`, never sent: an escape sequence in a rule name
//!   cannot clear the screen, retitle the terminal or recolour the output.
//! * [`md_text`], [`md_code`], [`md_block`]: the same, then Markdown's
//!   punctuation (`|`, backticks, `<`, `>`, `&`, `[`, `]`, `\`) escaped so a
//!   name cannot break a table, open a code span, inject HTML or a link.
//! * [`xml`]: the same visible form of control characters (XML 1.0 cannot
//!   carry most of them even as references), then XML's entities.
//! * [`html`]: the same visible form of control characters and
//!   bidirectional overrides, then HTML's five special characters as
//!   entities, for text and for quoted attribute values alike: a name
//!   holding `<script>` or `"` is shown, never parsed as markup.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character must be shown rather than sent to a terminal.
fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `c` in its visible escaped form: `\x1b` below 0x80, `\u{…}` above.
fn push_visible(out: &mut String, c: char) {
    let n = u32::from(c);
    if n < 0x80 {
        let _ = write!(out, "\\x{n:02x}");
    } else {
        let _ = write!(out, "\\u{{{n:x}}}");
    }
}

/// Text for a terminal: control characters and bidirectional overrides shown
/// as escapes (`\x1b`), everything else as it is. Borrows when nothing needs
/// escaping (the common case).
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hostile) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hostile(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether Markdown gives this character a meaning in running text or a
/// table cell that a name must not have.
fn is_md_special(c: char) -> bool {
    matches!(c, '\\' | '`' | '|' | '<' | '>' | '&' | '[' | ']' | '*')
}

/// Text for Markdown prose or a table cell: control characters shown as
/// escapes, line breaks as spaces, and Markdown's punctuation escaped
/// (`\|`, `` \` ``, `&lt;` …), so the text reads exactly as it is.
pub fn md_text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_hostile(c) || is_md_special(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if is_md_special(c) => {
                out.push('\\');
                out.push(c);
            }
            c if is_hostile(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The longest run of backticks in `s`.
fn longest_backtick_run(s: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// An inline code span holding `s` literally: a fence of more backticks than
/// `s` holds in a row (CommonMark), padded with spaces when `s` starts or
/// ends with one; control characters shown, line breaks as spaces.
pub fn md_code(s: &str) -> String {
    let shown = terminal(s).replace(['\n', '\r'], " ");
    let fence = "`".repeat(longest_backtick_run(&shown) + 1);
    let pad = if shown.starts_with('`') || shown.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{shown}{pad}{fence}")
}

/// A fenced code block holding `s` literally (line breaks kept): a fence of
/// at least three backticks, more than any run inside; control characters
/// shown.
pub fn md_block(s: &str, info: &str) -> String {
    let shown = terminal_keep_lines(s);
    let fence = "`".repeat((longest_backtick_run(&shown) + 1).max(3));
    format!("{fence}{info}\n{shown}\n{fence}")
}

/// [`terminal`], keeping line feeds (for blocks of several lines).
fn terminal_keep_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_hostile(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c != '\n' && is_hostile(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text for XML character data or an attribute value: control characters
/// shown as escapes (XML 1.0 allows only tab, line feed and carriage return,
/// and JUnit viewers show attributes on one line), then `&`, `<`, `>`, `"`
/// and `'` as entities.
pub fn xml(s: &str) -> Cow<'_, str> {
    let allowed = |c: char| matches!(c, '\n' | '\t');
    // Not XML characters at all, though not controls.
    let not_xml = |c: char| matches!(c, '\u{fffe}' | '\u{ffff}');
    with_entities(
        s,
        |c| (is_hostile(c) && !allowed(c)) || not_xml(c),
        "&apos;",
    )
}

/// `s` with the characters `shown` picks in their visible escaped form and
/// `&`, `<`, `>`, `"` and `'` as entities (`'` as `apos`, which XML and
/// HTML spell differently). Borrows when nothing needs escaping.
fn with_entities<'a>(s: &'a str, shown: impl Fn(char) -> bool, apos: &str) -> Cow<'a, str> {
    let special = |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'');
    if !s.chars().any(|c| special(c) || shown(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str(apos),
            c if shown(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text for HTML (element content or a double- or single-quoted attribute
/// value, SVG included): control characters (line feeds kept) and
/// bidirectional overrides shown as escapes, then `&`, `<`, `>`, `"` and
/// `'` as entities. Borrows when nothing needs escaping.
pub fn html(s: &str) -> Cow<'_, str> {
    // `&apos;` is not HTML 4's; the numeric reference is every version's.
    with_entities(s, |c| c != '\n' && is_hostile(c), "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule name that would clear the screen, retitle the terminal,
    /// recolour text and reorder what is shown.
    const HOSTILE: &str = "Deny\x1b[2J\x1b]0;owned\x07\x1b[31mRED\u{9b}1m\u{202e}txt";

    #[test]
    fn terminal_shows_controls_and_never_sends_them() {
        let t = terminal(HOSTILE);
        assert!(!t.chars().any(is_hostile), "{t:?}");
        assert_eq!(
            t,
            "Deny\\x1b[2J\\x1b]0;owned\\x07\\x1b[31mRED\\u{9b}1m\\u{202e}txt"
        );
        assert!(matches!(terminal("UserRule_Deny-22"), Cow::Borrowed(_)));
        assert_eq!(terminal("tab\there"), "tab\\x09here");
    }

    #[test]
    fn markdown_text_reads_as_written() {
        assert_eq!(
            md_text("a|b `c` <script>&[x](y)\nz"),
            "a\\|b \\`c\\` &lt;script&gt;&amp;\\[x\\](y) z"
        );
        assert!(!md_text(HOSTILE).contains('\x1b'));
        assert!(matches!(md_text("AllowVnetInBound"), Cow::Borrowed(_)));
    }

    #[test]
    fn code_spans_and_blocks_cannot_be_closed_from_inside() {
        assert_eq!(md_code("plain"), "`plain`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x`"), "`` `x` ``");
        let b = md_block("line1\n```\nrm -rf /", "text");
        assert!(b.starts_with("````text\n"), "{b}");
        assert!(b.ends_with("\n````"), "{b}");
        assert!(!md_block(HOSTILE, "").contains('\x1b'));
    }

    #[test]
    fn xml_is_well_formed_for_any_text() {
        assert_eq!(
            xml("<a href=\"x\">'&'</a>\x1b\x00\u{ffff}"),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;\\x1b\\x00\\u{ffff}"
        );
        assert_eq!(xml("two\nlines\tok"), "two\nlines\tok");
    }

    #[test]
    fn html_shows_markup_and_controls_as_text() {
        assert_eq!(
            html("<script>alert('x')</script>\"&\x1b[2J\u{202e}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;\\x1b[2J\\u{202e}"
        );
        assert_eq!(html("two\nlines\tx"), "two\nlines\\x09x");
        assert!(matches!(
            html("UserRule_Deny-22 → 10.1.0.6"),
            Cow::Borrowed(_)
        ));
        let h = html(HOSTILE);
        assert!(!h.chars().any(|c| c.is_control() || is_hostile(c)), "{h}");
    }
}

//! Prose for a terminal of a given width: words wrapped at spaces, with a
//! hanging indent, so evidence lines and causes read as paragraphs instead
//! of running past the terminal's edge.

/// The columns `s` takes on a terminal: its characters, not counting the
/// ANSI colour sequences our own painting adds (`\x1b[1;31m`; the
/// evidence's escape characters are shown, never sent, so every ESC here is
/// ours).
pub fn visible_width(s: &str) -> usize {
    let mut n = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

/// Wrap `text` into lines of at most `width` characters: the first line
/// starts with `first`, the others with `rest` (widths as
/// [`visible_width`] counts them). Lines break at spaces; a
/// word longer than a line (an address, a resource id, a command word) is
/// never split and stands on a line of its own. No trailing line feed.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut at_start = true;
    out.push_str(first);
    let mut line_len = visible_width(first);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let n = visible_width(word);
        if !at_start && line_len + 1 + n > width {
            out.push('\n');
            out.push_str(rest);
            line_len = visible_width(rest);
            at_start = true;
        }
        if !at_start {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += n;
        at_start = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_at_spaces_with_a_hanging_indent() {
        let w = wrap(
            "3 of 3 session(s) on proxy → build VM port 22: 3 blocked",
            30,
            "  evidence: ",
            "            ",
        );
        assert_eq!(
            w,
            "  evidence: 3 of 3 session(s)\n            on proxy → build VM\n            port 22: 3 blocked"
        );
        for l in w.lines() {
            assert!(l.chars().count() <= 30, "{l:?}");
        }
    }

    #[test]
    fn long_words_are_never_split() {
        let id = "/subscriptions/0000/resourceGroups/rg/providers/x";
        let w = wrap(&format!("denied by {id} here"), 20, "", "  ");
        assert_eq!(w, format!("denied by\n  {id}\n  here"));
        assert_eq!(wrap("", 10, "- ", "  "), "- ");
    }

    #[test]
    fn colours_take_no_columns() {
        use super::visible_width;
        assert_eq!(visible_width("\x1b[1;31mBROKEN\x1b[0m: x"), 9);
        let w = wrap("\x1b[1;31mBROKEN\x1b[0m a b", 10, "", "");
        assert_eq!(w, "\x1b[1;31mBROKEN\x1b[0m a b");
    }
}

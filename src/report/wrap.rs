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

/// Pieces of a word too long for a line of `room` columns: cut after a `/`
/// where there is one in reach (paths and resource ids break at their
/// separators), else at `room`.
fn pieces(word: &str, room: usize) -> Vec<&str> {
    let room = room.max(1);
    let mut out = Vec::new();
    let mut rest = word;
    while visible_width(rest) > room {
        // Byte index just past the `room`-th character.
        let limit = rest.char_indices().nth(room).map_or(rest.len(), |(i, _)| i);
        let head = rest.get(..limit).unwrap_or(rest);
        let cut = match head.rfind('/') {
            Some(i) if i > 0 => i + 1,
            _ => limit,
        };
        let (a, b) = rest.split_at(cut);
        out.push(a);
        rest = b;
    }
    out.push(rest);
    out
}

/// Wrap `text` into lines of at most `width` columns: the first line
/// starts with `first`, the others with `rest` (widths as
/// [`visible_width`] counts them). Lines break at spaces; a word longer
/// than a whole line (a path, a resource id) is cut after a `/`, else at
/// the line's end. No trailing line feed.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut at_start = true;
    out.push_str(first);
    let mut line_len = visible_width(first);
    let indent = visible_width(rest);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let n = visible_width(word);
        if !at_start && line_len + 1 + n > width {
            out.push('\n');
            out.push_str(rest);
            line_len = indent;
            at_start = true;
        }
        let room = width.saturating_sub(line_len + usize::from(!at_start));
        let parts = if n > room && n > width.saturating_sub(indent) {
            pieces(word, room)
        } else {
            vec![word]
        };
        for (k, part) in parts.iter().enumerate() {
            if k > 0 {
                out.push('\n');
                out.push_str(rest);
                line_len = indent;
                at_start = true;
            }
            if !at_start {
                out.push(' ');
                line_len += 1;
            }
            out.push_str(part);
            line_len += visible_width(part);
            at_start = false;
        }
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
            "  evidence: 3 of 3 session(s)\n            on proxy → build\n            VM port 22: 3\n            blocked"
        );
        for l in w.lines() {
            assert!(l.chars().count() <= 30, "{l:?}");
        }
    }

    #[test]
    fn words_longer_than_a_line_break_after_slashes() {
        let id = "/subscriptions/0000/resourceGroups/rg/providers/x";
        let w = wrap(&format!("denied by {id} here"), 22, "", "  ");
        assert_eq!(
            w,
            "denied by\n  /subscriptions/0000/\n  resourceGroups/rg/\n  providers/x here"
        );
        // A word that fits on a line of its own moves there whole.
        let w = wrap("denied by UserRule_Deny-All-Any-Any", 30, "", "  ");
        assert_eq!(w, "denied by\n  UserRule_Deny-All-Any-Any");
        // No slash in reach: cut at the line's end.
        assert_eq!(wrap("abcdefghij", 4, "", ""), "abcd\nefgh\nij");
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

//! A finding's fix as its reader uses it: the words to read and the commands
//! to paste. Fixes are written as prose with `az` command lines inside
//! ("Allow … above the deny: az network nsg rule create …; then the same
//! with --direction Outbound"); the HTML report puts each command in a block
//! of its own that copies whole, and the terminal report wraps the words
//! but never a command.

/// One part of a fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixPart {
    /// Words for the reader.
    Text(String),
    /// Command lines to paste into a shell (several lines when the fix gives
    /// several commands in a row; `#` lines are shell comments).
    Command(String),
}

/// Where the command of a line of a fix starts: at the start of the line,
/// or after the colon that introduces it (`…: az network …`).
fn command_start(line: &str) -> Option<usize> {
    if line.starts_with("az ") || line.starts_with("# ") {
        return Some(0);
    }
    line.match_indices(": az ").next().map(|(at, _)| at + 2)
}

/// Where a command that starts a text ends: at the first `; ` outside
/// quotes (what follows is prose, such as "then the same with …"), else at
/// the end of the text. Quoted names (`az::quote`) may hold `; `.
fn command_end(cmd: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in cmd.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, ' ') if prev == ';' => return i - 1,
            _ => {}
        }
        prev = c;
    }
    cmd.len()
}

/// The parts of a fix, in order: its words and its commands.
pub fn parts(fix: &str) -> Vec<FixPart> {
    let mut out: Vec<FixPart> = Vec::new();
    let mut push = |part: FixPart| match (out.last_mut(), part) {
        // Consecutive command lines are one block; consecutive text lines
        // one paragraph.
        (Some(FixPart::Command(prev)), FixPart::Command(c)) => {
            prev.push('\n');
            prev.push_str(&c);
        }
        (Some(FixPart::Text(prev)), FixPart::Text(t)) => {
            prev.push(' ');
            prev.push_str(&t);
        }
        (_, part) => out.push(part),
    };
    for line in fix.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some(start) = command_start(line) else {
            push(FixPart::Text(line.to_string()));
            continue;
        };
        let (before, cmd) = line.split_at(start);
        if !before.trim().is_empty() {
            push(FixPart::Text(before.trim().to_string()));
        }
        let end = command_end(cmd);
        let (cmd, after) = cmd.split_at(end);
        push(FixPart::Command(cmd.trim_end().to_string()));
        let after = after.trim_start_matches(';').trim();
        if !after.is_empty() {
            push(FixPart::Text(after.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{FixPart, parts};

    fn text(s: &str) -> FixPart {
        FixPart::Text(s.to_string())
    }

    fn cmd(s: &str) -> FixPart {
        FixPart::Command(s.to_string())
    }

    #[test]
    fn prose_command_and_what_follows() {
        assert_eq!(
            parts(
                "Allow it above the deny: az network nsg rule create --name 'a; b' --priority 100; then the same with --direction Outbound"
            ),
            vec![
                text("Allow it above the deny:"),
                cmd("az network nsg rule create --name 'a; b' --priority 100"),
                text("then the same with --direction Outbound"),
            ]
        );
    }

    #[test]
    fn several_command_lines_are_one_block() {
        assert_eq!(
            parts(
                "Add an allow rule above priority 100:\n# no free priority above 100: move the blocking rule down first\naz network nsg rule update --name x\naz network nsg rule create --name y"
            ),
            vec![
                text("Add an allow rule above priority 100:"),
                cmd(
                    "# no free priority above 100: move the blocking rule down first\naz network nsg rule update --name x\naz network nsg rule create --name y"
                ),
            ]
        );
    }

    #[test]
    fn words_alone_stay_words() {
        let f = "Nothing to fix on the network; if the build failed, read customization.log (`aibnet explain` helps).";
        assert_eq!(parts(f), vec![text(f)]);
        assert_eq!(
            parts(r#"Allow the probe: az x --description "a; b""#),
            vec![
                text("Allow the probe:"),
                cmd(r#"az x --description "a; b""#)
            ]
        );
    }
}

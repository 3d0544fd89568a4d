//! Reading one line of a Packer or AIB log: which dialect wrote it, its
//! time, who said it (Packer's UI, a plugin's log, Packer's core log) and
//! the message once every prefix is gone (SPEC.md §1.1 of
//! `captures/errors/logs/`).
//!
//! ```text
//! [<op>] PACKER 2026/03/22 13:04:37 ui: ==> azure-arm: Connected to WinRM!        aib (2025–)
//! [<op>] PACKER OUT ==> azure-arm: Waiting for SSH to become available...          aib-old, Packer's stdout (no time)
//! [<op>] PACKER ERR 2022/05/09 10:46:29 packer-plugin-azure plugin: 2022/05/09 …  aib-old, Packer's log
//! 2025/11/18 09:12:05 ui: ==> azure-arm: Waiting for SSH to become available...   Packer run directly
//! [<op>] PACKER ==> azure-arm: Deleting …                                          a continuation: the previous line's time
//! ```

use crate::time::Utc;
use serde::Serialize;

/// Which program wrote the log, read from its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// AIB 2025–: `[<op>] PACKER <ts> …`.
    Aib,
    /// AIB 2019–2024: `[<op>] PACKER OUT …` / `[<op>] PACKER ERR <ts> …`.
    AibOld,
    /// Packer run directly with `PACKER_LOG=1`: `<ts> …`, the runner's local time.
    Direct,
}

impl Dialect {
    /// The name as the JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Aib => "aib",
            Dialect::AibOld => "aib-old",
            Dialect::Direct => "direct",
        }
    }
}

/// Who said a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Packer's UI (`ui:`, aib-old's `PACKER OUT`): its own messages and the
    /// remote command's output.
    Ui,
    /// `ui error:`: Packer's errors, the remote command's stderr, and
    /// harmless messages too (never a failure signal by itself).
    UiError,
    /// A plugin's log line (`packer-plugin-azure… plugin:`, `packer-provisioner-shell plugin:`, `packer:`).
    Plugin,
    /// Packer core's own log line.
    Core,
    /// The rest of the previous line's message (no time of its own).
    Continuation,
    /// Not a Packer line at all.
    Other,
}

/// One line, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    /// 1-based line number in the input.
    pub no: usize,
    /// The line as it is (without the line end).
    pub raw: &'a str,
    /// Its time: its own, or the nearest one above (continuations, `PACKER OUT`).
    pub time: Option<Utc>,
    /// Who said it.
    pub origin: Origin,
    /// The plugin's name, for plugin lines (`packer-plugin-azure_v2.5.2_x5.0_linux_amd64`).
    pub plugin: Option<&'a str>,
    /// The message: every prefix and time removed, and the builder's
    /// `==> azure-arm: ` / `    azure-arm: ` too.
    pub msg: &'a str,
    /// Whether `msg` came after a builder prefix (`==> azure-arm:`,
    /// `    azure-arm:`): Packer's own UI message or remote output.
    pub builder_said: bool,
}

impl Line<'_> {
    /// Whether Packer's UI printed it (the places remote output appears).
    pub fn is_ui(&self) -> bool {
        matches!(
            self.origin,
            Origin::Ui | Origin::UiError | Origin::Continuation
        )
    }
}

/// A `YYYY/MM/DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS[.frac][Z]` time at the
/// start of `s`, and the rest after one space.
fn leading_time(s: &str) -> Option<(Utc, &str)> {
    let b = s.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let shape = (0..4).all(digit)
        && matches!(b.get(4), Some(b'/' | b'-'))
        && digit(5)
        && digit(6)
        && matches!(b.get(7), Some(b'/' | b'-'))
        && digit(8)
        && digit(9)
        && matches!(b.get(10), Some(b' ' | b'T'))
        && digit(11)
        && digit(12)
        && b.get(13) == Some(&b':')
        && digit(14)
        && digit(15)
        && b.get(16) == Some(&b':')
        && digit(17)
        && digit(18);
    if !shape {
        return None;
    }
    // The time ends at the first space after the seconds (fraction and zone
    // included).
    let end = s.get(19..)?.find(' ').map_or(s.len(), |i| i + 19);
    let t = Utc::parse(s.get(..end)?).ok()?;
    Some((t, s.get(end..)?.strip_prefix(' ').unwrap_or_default()))
}

/// `[<36-character uuid>] PACKER ` at the start: the rest.
fn aib_prefix(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?;
    let (id, rest) = inner.split_at_checked(36)?;
    let ok = id.bytes().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    if !ok {
        return None;
    }
    rest.strip_prefix("] PACKER")
        .map(|r| r.strip_prefix(' ').unwrap_or(r))
}

/// A plugin's name at the start of a log body (`packer-plugin-azure_v2.5.2_x5.0_linux_amd64 plugin: `,
/// `packer-provisioner-shell plugin: `, before 2021 `packer: ` and
/// `packer-provisioner-windows-update: `), and the rest.
fn plugin_prefix(s: &str) -> Option<(&str, &str)> {
    if !s.starts_with("packer") {
        return None;
    }
    let name_end = s.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))?;
    let (name, rest) = s.split_at_checked(name_end)?;
    let rest = rest.strip_prefix(" plugin").unwrap_or(rest);
    let rest = rest.strip_prefix(": ")?;
    Some((name, rest))
}

/// The builder's prefix of a UI message (`==> azure-arm: `, `--> azure-arm: `,
/// `    azure-arm: `): the message after it.
fn builder_prefix(s: &str) -> Option<&str> {
    let rest = s
        .strip_prefix("==> ")
        .or_else(|| s.strip_prefix("--> "))
        .or_else(|| s.strip_prefix("    "))?;
    let colon = rest.find(':')?;
    let name = rest.get(..colon)?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return None;
    }
    let after = rest.get(colon + 1..)?;
    Some(after.strip_prefix(' ').unwrap_or(after))
}

/// Read the body of a timed log line: `ui:`, `ui error:`, a plugin's log or
/// Packer core's.
fn timed_body(body: &str) -> (Origin, Option<&str>, &str) {
    if let Some(rest) = body.strip_prefix("ui error:") {
        return (
            Origin::UiError,
            None,
            rest.strip_prefix(' ').unwrap_or(rest),
        );
    }
    if let Some(rest) = body.strip_prefix("ui:") {
        return (Origin::Ui, None, rest.strip_prefix(' ').unwrap_or(rest));
    }
    if let Some((name, rest)) = plugin_prefix(body) {
        // The plugin's own time (equal to the outer one in practice: the
        // outer one is used).
        let rest = leading_time(rest).map_or(rest, |(_, r)| r);
        return (Origin::Plugin, Some(name), rest);
    }
    (Origin::Core, None, body)
}

/// A CI agent's time before the line (`2025-02-17T15:30:10.8905154Z `).
fn strip_ci_time(s: &str) -> &str {
    match leading_time(s) {
        Some((_, rest))
            if s.as_bytes().get(10) == Some(&b'T')
                && (aib_prefix(rest).is_some()
                    || leading_time(rest).is_some()
                    || rest.starts_with("==> ")) =>
        {
            rest
        }
        _ => s,
    }
}

/// Read one line. `previous` is the time of the line above (inherited by
/// lines without one).
pub fn read_line<'a>(
    no: usize,
    raw: &'a str,
    previous: Option<Utc>,
) -> (Line<'a>, Option<Dialect>) {
    let s = strip_ci_time(raw.trim_end_matches('\r'));
    let (dialect, time, origin, plugin, body) = if let Some(rest) = aib_prefix(s) {
        if let Some(out) = rest.strip_prefix("OUT") {
            let body = out.strip_prefix(' ').unwrap_or(out);
            (Some(Dialect::AibOld), None, Origin::Ui, None, body)
        } else if let Some(err) = rest.strip_prefix("ERR ") {
            match leading_time(err) {
                Some((t, body)) => {
                    let (o, p, b) = timed_body(body);
                    (Some(Dialect::AibOld), Some(t), o, p, b)
                }
                None => (Some(Dialect::AibOld), None, Origin::Core, None, err),
            }
        } else {
            match leading_time(rest) {
                Some((t, body)) => {
                    let (o, p, b) = timed_body(body);
                    (Some(Dialect::Aib), Some(t), o, p, b)
                }
                None => (None, None, Origin::Continuation, None, rest),
            }
        }
    } else if let Some((t, body)) = leading_time(s) {
        let (o, p, b) = timed_body(body);
        (Some(Dialect::Direct), Some(t), o, p, b)
    } else if builder_prefix(s).is_some() || s.starts_with("==> ") {
        (None, None, Origin::Continuation, None, s)
    } else {
        (None, None, Origin::Other, None, s)
    };
    let (msg, builder_said) = match builder_prefix(body) {
        Some(m) => (m, true),
        None => (body, false),
    };
    (
        Line {
            no,
            raw,
            time: time.or(previous),
            origin,
            plugin,
            msg: msg.trim_end(),
            builder_said,
        },
        dialect,
    )
}

/// Read every line and tell the dialect (the one most lines show; `None`
/// when no line is a Packer line).
pub fn read_lines(text: &str) -> (Vec<Line<'_>>, Option<Dialect>) {
    let mut lines = Vec::new();
    let mut counts = [0usize; 3];
    let mut previous = None;
    for (i, raw) in text.split('\n').enumerate() {
        let (line, dialect) = read_line(i + 1, raw, previous);
        previous = line.time;
        if let Some(d) = dialect {
            let slot = match d {
                Dialect::Aib => 0,
                Dialect::AibOld => 1,
                Dialect::Direct => 2,
            };
            if let Some(c) = counts.get_mut(slot) {
                *c += 1;
            }
        }
        lines.push(line);
    }
    // A trailing newline is not a line.
    if lines.last().is_some_and(|l| l.raw.is_empty()) {
        lines.pop();
    }
    let [aib, old, direct] = counts;
    let dialect = if aib + old + direct == 0 {
        None
    } else if old >= aib && old >= direct {
        Some(Dialect::AibOld)
    } else if aib >= direct {
        Some(Dialect::Aib)
    } else {
        Some(Dialect::Direct)
    };
    (lines, dialect)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(raw: &str) -> (Line<'_>, Option<Dialect>) {
        read_line(1, raw, None)
    }

    #[test]
    fn aib_ui_plugin_and_continuation_lines() {
        let (l, d) = one(
            "[f0f1826f-bde9-4e8f-a58b-fb29ba54d212] PACKER 2026/02/09 11:53:53 ui: ==> azure-arm: Connected to WinRM!",
        );
        assert_eq!(d, Some(Dialect::Aib));
        assert_eq!(l.origin, Origin::Ui);
        assert_eq!(l.msg, "Connected to WinRM!");
        assert!(l.builder_said);
        assert_eq!(
            l.time.map(|t| t.to_string()).as_deref(),
            Some("2026-02-09T11:53:53Z")
        );

        let (l, _) = one(
            "[f0f1826f-bde9-4e8f-a58b-fb29ba54d212] PACKER 2026/02/09 11:54:13 packer-plugin-azure_v2.5.1_x5.0_linux_amd64 plugin: 2026/02/09 11:54:13 [INFO] command 'x' exited with code: 1",
        );
        assert_eq!(l.origin, Origin::Plugin);
        assert_eq!(
            l.plugin,
            Some("packer-plugin-azure_v2.5.1_x5.0_linux_amd64")
        );
        assert_eq!(l.msg, "[INFO] command 'x' exited with code: 1");

        let (l, d) = read_line(
            2,
            "[b70aa4dd-5b56-47e4-a5f2-ca627cfd3940] PACKER ==> azure-arm: ERROR:   -> SubnetIsFull : x",
            Utc::parse("2025-09-23T04:31:43Z").ok(),
        );
        assert_eq!(d, None);
        assert_eq!(l.origin, Origin::Continuation);
        assert_eq!(l.msg, "ERROR:   -> SubnetIsFull : x");
        assert_eq!(
            l.time.map(|t| t.to_string()).as_deref(),
            Some("2025-09-23T04:31:43Z")
        );
    }

    #[test]
    fn aib_old_out_err_and_old_plugin_prefixes() {
        let (l, d) = one(
            "[2ad09af8-eff4-4176-b093-785f02d9f39b] PACKER OUT ==> azure-arm: Timeout waiting for WinRM.",
        );
        assert_eq!(d, Some(Dialect::AibOld));
        assert_eq!(
            (l.origin, l.msg, l.time),
            (Origin::Ui, "Timeout waiting for WinRM.", None)
        );
        let (l, _) = one(
            "[2ad09af8-eff4-4176-b093-785f02d9f39b] PACKER OUT     azure-arm: + sudo apt-get update",
        );
        assert_eq!(l.msg, "+ sudo apt-get update");
        let (l, _) = one(
            "[c0c50971-43f3-4e4d-9a22-98a291a08700] PACKER ERR 2020/11/03 23:38:53 packer-provisioner-windows-update: 2020/11/03 23:38:53 Retryable error: x",
        );
        assert_eq!(
            (l.origin, l.plugin),
            (Origin::Plugin, Some("packer-provisioner-windows-update"))
        );
        assert_eq!(l.msg, "Retryable error: x");
        let (l, _) = one(
            "[a07e5b12-93cd-4f01-8b3e-5e2f7c9d1a64] PACKER ERR 2025-02-03T14:05:09Z packer-plugin-azure plugin: [INFO] Waiting for SSH",
        );
        assert_eq!(l.msg, "[INFO] Waiting for SSH");
        assert_eq!(
            l.time.map(|t| t.to_string()).as_deref(),
            Some("2025-02-03T14:05:09Z")
        );
        let (l, _) = one(
            "[b309a95b-543c-45dc-bf75-981a3b5cfc93] PACKER ERR 2024/02/06 15:49:48 Cancelling builder after context cancellation context canceled",
        );
        assert_eq!(l.origin, Origin::Core);
    }

    #[test]
    fn direct_runs_ci_prefixes_and_noise() {
        let (l, d) = one("2025/11/18 09:33:26 ui error: ==> azure-arm: Timeout waiting for SSH.");
        assert_eq!(d, Some(Dialect::Direct));
        assert_eq!(
            (l.origin, l.msg),
            (Origin::UiError, "Timeout waiting for SSH.")
        );
        let (l, d) = one(
            "2025-02-17T15:30:10.8905154Z [0e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b] PACKER OUT ==> azure-arm: Connected to SSH!",
        );
        assert_eq!(d, Some(Dialect::AibOld));
        assert_eq!(l.msg, "Connected to SSH!");
        for raw in [
            "",
            "hello",
            "[not-a-uuid] PACKER x",
            "2024/13/99 99:99:99 x",
            "==>",
            "    : x",
        ] {
            let (l, _) = one(raw);
            assert!(l.time.is_none(), "{raw}");
        }
    }

    #[test]
    fn dialect_of_a_file_and_inherited_times() {
        let (lines, d) = read_lines(concat!(
            "[2ad09af8-eff4-4176-b093-785f02d9f39b] PACKER ERR 2024/05/14 09:55:31 [INFO] Packer version: 1.10.3\n",
            "[2ad09af8-eff4-4176-b093-785f02d9f39b] PACKER OUT ==> azure-arm: Waiting for WinRM to become available...\n",
        ));
        assert_eq!(d, Some(Dialect::AibOld));
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines.get(1).and_then(|l| l.time),
            lines.first().and_then(|l| l.time)
        );
        assert_eq!(read_lines("just text").1, None);
    }
}

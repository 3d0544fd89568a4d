//! The page every HTML report is written into: the document head with its
//! one inline style sheet (screen and A4 print), a policy that forbids
//! scripts and every load, and the tones (colour, symbol, word) that say
//! what worked.

use crate::aib::{HopStatus, Severity, Verdict};
use crate::report::escape::html;
use std::borrow::Cow;
use std::fmt::Write as _;

/// A tone: how a status looks. Never colour alone: each tone has its own
/// symbol and is written in words beside it, and the failing tones have
/// their own line dashes and fill patterns in the SVG pictures. Colours are
/// from the Okabe–Ito palette, told apart with every common colour-vision
/// deficiency (blue for what worked, vermillion for what failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    /// Worked.
    Ok,
    /// Failed.
    Bad,
    /// Partly failed, or a warning.
    Warn,
    /// Not seen, or nothing to say.
    None,
    /// For information.
    Info,
}

impl Tone {
    /// The CSS class.
    pub(super) fn class(self) -> &'static str {
        match self {
            Tone::Ok => "ok",
            Tone::Bad => "bad",
            Tone::Warn => "warn",
            Tone::None => "none",
            Tone::Info => "info",
        }
    }

    /// The symbol shown before the word.
    pub(super) fn symbol(self) -> &'static str {
        match self {
            Tone::Ok => "✓",
            Tone::Bad => "✗",
            Tone::Warn => "!",
            Tone::None => "?",
            Tone::Info => "i",
        }
    }

    /// The stroke colour of lines and borders.
    pub(super) fn stroke(self) -> &'static str {
        match self {
            Tone::Ok => "#0072B2",
            Tone::Bad => "#D55E00",
            Tone::Warn => "#E69F00",
            Tone::None => "#8C8C8C",
            Tone::Info => "#56B4E9",
        }
    }

    /// The colour of text in this tone (darker than the stroke, for
    /// contrast on white).
    pub(super) fn text(self) -> &'static str {
        match self {
            Tone::Ok => "#005A8C",
            Tone::Bad => "#A63F00",
            Tone::Warn => "#7A5200",
            Tone::None => "#555555",
            Tone::Info => "#1F5F80",
        }
    }

    /// The line dash of hop arrows: solid for what worked, long dashes for
    /// failures, short ones for partial failures, dots for what was not seen.
    pub(super) fn dash(self) -> Option<&'static str> {
        match self {
            Tone::Ok | Tone::Info => None,
            Tone::Bad => Some("12 5"),
            Tone::Warn => Some("6 4"),
            Tone::None => Some("2 5"),
        }
    }

    /// The tone of a hop status.
    pub(super) fn of_status(st: HopStatus) -> Tone {
        match st {
            HopStatus::Ok => Tone::Ok,
            HopStatus::NotObserved => Tone::None,
            HopStatus::Degraded => Tone::Warn,
            HopStatus::Blocked
            | HopStatus::Rejected
            | HopStatus::Missing
            | HopStatus::Interrupted => Tone::Bad,
        }
    }

    /// The tone of a verdict.
    pub(super) fn of_verdict(v: Verdict) -> Tone {
        match v {
            Verdict::Healthy => Tone::Ok,
            Verdict::Broken => Tone::Bad,
            Verdict::Inconclusive => Tone::Warn,
        }
    }

    /// The tone of a severity.
    pub(super) fn of_severity(s: Severity) -> Tone {
        match s {
            Severity::Error => Tone::Bad,
            Severity::Warning => Tone::Warn,
            Severity::Info => Tone::Info,
        }
    }
}

/// `text` escaped for HTML (every string from the evidence goes through
/// this).
pub(super) fn esc(text: &str) -> Cow<'_, str> {
    html(text)
}

/// A status word in its tone: `<span class="st bad">✗ blocked</span>`.
pub(super) fn tagged(tone: Tone, word: &str) -> String {
    format!(
        "<span class=\"st {}\">{} {}</span>",
        tone.class(),
        tone.symbol(),
        esc(word)
    )
}

/// The style sheet: readable on screen, in a mail client and on A4 paper.
const CSS: &str = r#"
:root{--ok:#0072B2;--bad:#D55E00;--warn:#E69F00;--none:#8C8C8C;--info:#56B4E9}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",Arial,sans-serif;color:#1a1a1a;background:#fff;margin:0 auto;max-width:1080px;padding:16px 20px}
h1{font-size:20px;margin:0 0 8px}
h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #bbb;padding-bottom:3px}
h3{font-size:15px;margin:14px 0 6px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
pre{background:#f5f5f5;border:1px solid #ccc;border-radius:4px;padding:8px 10px;margin:6px 0;white-space:pre-wrap;overflow-wrap:anywhere}
pre.cmd{border-left:5px solid #444;user-select:all;-webkit-user-select:all}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#eee}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.banner{border:2px solid #888;border-left-width:14px;border-radius:6px;padding:10px 14px;margin:8px 0 14px}
.banner .word{font-size:22px;font-weight:700}
.banner.ok{border-color:var(--ok);background:#e8f2f9}
.banner.bad{border-color:var(--bad);background:#fcefe6}
.banner.warn{border-color:var(--warn);background:#fdf6e3}
.banner.none{border-color:var(--none);background:#f3f3f3}
.st{font-weight:700;white-space:nowrap}
.st.ok{color:#005A8C}.st.bad{color:#A63F00}.st.warn{color:#7A5200}.st.none{color:#555}.st.info{color:#1F5F80}
.finding{border:1px solid #ccc;border-left:8px solid #888;border-radius:4px;padding:4px 12px 8px;margin:10px 0}
.finding.bad{border-left-color:var(--bad)}.finding.warn{border-left-color:var(--warn)}.finding.info{border-left-color:var(--info)}.finding.ok{border-left-color:var(--ok)}
.finding h3{margin:6px 0}
.finding ul{margin:4px 0;padding-left:22px}
.label{font-weight:700}
.muted{color:#555}
.nw{white-space:nowrap}
.path{overflow-wrap:anywhere}
.small{font-size:12px}
svg{display:block;width:100%;height:auto}
figure{margin:8px 0}
figcaption{font-size:12px;color:#444}
nav{font-size:13px;margin:0 0 8px}
nav a{margin-right:12px}
footer{margin-top:26px;font-size:12px;color:#555;border-top:1px solid #bbb;padding-top:6px}
@page{size:A4;margin:12mm}
@media print{
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{max-width:none;padding:0;font-size:10pt}
nav{display:none}
h2,h3{break-after:avoid}
figure,.finding,tr,pre{break-inside:avoid}
pre,code,.mono{font-size:8pt}
table.small{font-size:8pt}
th,td{padding:2px 3px}
}
"#;

/// An HTML document being written.
pub(super) struct Page {
    /// The document so far.
    pub(super) out: String,
}

impl Page {
    /// A page with this title (our own words, escaped all the same).
    pub(super) fn new(title: &str) -> Page {
        let mut out = String::with_capacity(64 << 10);
        // The policy forbids scripts, frames and every load (no style sheet,
        // image or font from anywhere): escaping is the defence, this the
        // second one, should a string ever slip through.
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"aibnet {}\">\n\
             <title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
            env!("CARGO_PKG_VERSION"),
            esc(title),
            CSS
        );
        Page { out }
    }

    /// Append raw markup (our own; evidence is escaped by the caller).
    pub(super) fn push(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    /// The finished document.
    pub(super) fn finish(mut self) -> String {
        let _ = write!(
            self.out,
            "<footer>Written by aibnet {}. Every time is UTC. The JSON output \
             (<code>--format json</code>) carries the same facts as a contract.</footer>\n\
             </body>\n</html>\n",
            env!("CARGO_PKG_VERSION")
        );
        self.out
    }
}

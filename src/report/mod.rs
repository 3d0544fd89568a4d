//! Report: render results for their reader — aligned tables on a terminal,
//! stable JSON and NDJSON for scripts, Markdown to paste into a ticket,
//! JUnit XML for CI, and one self-contained HTML page (inline CSS and SVG,
//! no script, nothing loaded) to attach to a ticket ([`html`]).
//!
//! One interface for every command ([`Render`]): each command's result is a
//! document ([`SessionsReport`], [`DiagnoseReport`], [`builds::BuildsReport`],
//! the `check` and `explain` results) written in one [`OutputFormat`] with one
//! [`Style`], much as hyperfine hands its results to one exporter per format.
//! The caller decides the style once (colours only on a terminal and never
//! with `NO_COLOR`: [`Style::for_stream`]); renderers escape every string
//! that comes from the evidence for their format ([`escape`]).
//!
//! JSON outputs are contracts: `schema_version` 1, fields are added, never
//! renamed ([`contract`]).

pub mod buffer;
pub mod builds;
pub mod builds_view;
pub mod check;
pub mod contract;
pub mod diagnose;
pub mod diagram;
pub mod escape;
pub mod explain;
pub mod fix;
pub mod html;
pub mod json;
pub mod junit;
pub mod ndjson;
pub mod sessions;
pub mod wrap;

pub use diagnose::DiagnoseReport;
pub use sessions::SessionsReport;

use std::io::Write;

/// The JSON schema version every output carries.
pub const SCHEMA_VERSION: u32 = 1;

/// An output format. Every command takes `--format`; each document says
/// which formats it can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned tables for a terminal.
    Table,
    /// One JSON document (the contract).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Markdown for a support ticket.
    Markdown,
    /// JUnit XML for CI test reporters (`diagnose`, `builds`).
    Junit,
    /// One self-contained HTML page (`diagnose`, `builds`).
    Html,
}

impl OutputFormat {
    /// The name, as `--format` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Table => "table",
            OutputFormat::Json => "json",
            OutputFormat::Ndjson => "ndjson",
            OutputFormat::Markdown => "markdown",
            OutputFormat::Junit => "junit",
            OutputFormat::Html => "html",
        }
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The width the `diagnose` and `builds` terminal reports fit when the
/// caller knows none (not a terminal, no `COLUMNS`): the classic terminal.
pub const DEFAULT_WIDTH: u16 = 80;

/// The narrowest width a report is laid out for: below it, tables would
/// break every word, so they are laid out for this and the terminal wraps.
pub const MIN_WIDTH: u16 = 40;

/// How text output looks: decided once by the caller, for the stream the
/// output goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// ANSI colours (only on a terminal, never with `NO_COLOR`).
    pub color: bool,
    /// The columns the `diagnose` and `builds` terminal reports fit (tables
    /// wrap their cells, prose its lines); [`DEFAULT_WIDTH`] when `None`.
    pub width: Option<u16>,
}

impl Style {
    /// Plain text: no colours, the default width.
    pub fn plain() -> Style {
        Style::default()
    }

    /// The style for a stream: colours when it is a terminal and the user
    /// has not set `NO_COLOR` (<https://no-color.org>: any non-empty value).
    /// The caller reads the environment; the library never does.
    pub fn for_stream(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Style {
        Style {
            color: is_terminal && no_color.is_none_or(|v| v.is_empty()),
            width: None,
        }
    }

    /// This style, fitting `width` columns.
    pub fn with_width(self, width: Option<u16>) -> Style {
        Style { width, ..self }
    }

    /// The columns to fit: the width asked for, [`DEFAULT_WIDTH`] when none,
    /// never less than [`MIN_WIDTH`].
    pub fn columns(&self) -> u16 {
        self.width.unwrap_or(DEFAULT_WIDTH).max(MIN_WIDTH)
    }

    /// Wrap our own text (never the evidence's) in an ANSI colour when
    /// colours are on.
    pub fn paint(&self, s: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Why a document could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The document has no such format (e.g. JUnit for sessions).
    #[error("--format {format} is not available for {what}")]
    Unsupported {
        /// The format asked for.
        format: OutputFormat,
        /// What was to be written.
        what: &'static str,
    },
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A result that can be written for its reader: the one rendering interface
/// of every command.
pub trait Render {
    /// Write the document in `format` with `style` to `w`.
    ///
    /// # Errors
    /// [`RenderError::Unsupported`] for a format this document has not,
    /// [`RenderError::Io`] when writing fails.
    fn render(
        &self,
        format: OutputFormat,
        style: &Style,
        w: &mut dyn Write,
    ) -> Result<(), RenderError>;
}

/// Write a document that has a terminal report, the JSON contract and
/// Markdown, and no other format (`check`, `explain`).
fn write_report_formats<T: serde::Serialize>(
    doc: &T,
    format: OutputFormat,
    w: &mut dyn Write,
    what: &'static str,
    table: impl FnOnce() -> String,
    markdown: impl FnOnce() -> String,
) -> Result<(), RenderError> {
    match format {
        OutputFormat::Table => w.write_all(table().as_bytes())?,
        OutputFormat::Json => json::write_document(w, doc)?,
        OutputFormat::Markdown => w.write_all(markdown().as_bytes())?,
        OutputFormat::Ndjson | OutputFormat::Junit | OutputFormat::Html => {
            return Err(RenderError::Unsupported { format, what });
        }
    }
    Ok(())
}

/// A new comfy-table with the project's look that fits the style's width:
/// cells wrap (at spaces where they can) so that no line is wider than
/// [`Style::columns`].
pub fn fitted_table(style: &Style) -> comfy_table::Table {
    let mut t = new_table(style);
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(style.columns());
    t
}

/// Keep the cells of these columns whole in a [`fitted_table`] (statuses,
/// ids and counts, which read wrongly when split); the other columns wrap.
pub fn keep_whole(t: &mut comfy_table::Table, columns: &[usize]) {
    for &k in columns {
        if let Some(c) = t.column_mut(k) {
            c.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
        }
    }
}

/// A new comfy-table with the project's look.
pub fn new_table(style: &Style) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    if !style.color {
        t.force_no_tty();
    }
    t
}

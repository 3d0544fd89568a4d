//! Report: render results for their reader — aligned tables on a terminal,
//! stable JSON and NDJSON for scripts, Markdown to paste into a ticket.
//!
//! JSON outputs are contracts: `schema_version` 1, fields are added, never
//! renamed.

pub mod builds;
pub mod diagnose;
pub mod junit;
pub mod ndjson;
pub mod sessions;

use serde::Serialize;

/// The JSON schema version every output carries.
pub const SCHEMA_VERSION: u32 = 1;

/// Output formats shared by the commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Aligned table (the default on a terminal).
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Markdown for a support ticket.
    Markdown,
    /// JUnit XML for CI test reporters (`diagnose`, `builds`).
    Junit,
}

/// Whether to use colours: only on a terminal, never with `NO_COLOR` set.
pub fn use_color(is_tty: bool) -> bool {
    is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A new comfy-table with the project's look.
pub fn new_table(color: bool) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    if !color {
        t.force_no_tty();
    }
    t
}

/// Escape text for a Markdown table cell.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

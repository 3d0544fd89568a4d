//! Rendering of `aibnet check`: the flows, hops and findings of the
//! configuration, as a table, Markdown or the JSON contract.

use super::{Format, Render, RenderError, Style};
use crate::check::CheckReport;
use std::io::Write;

impl Render for CheckReport {
    fn render(&self, format: Format, style: &Style, w: &mut dyn Write) -> Result<(), RenderError> {
        let text = match format {
            Format::Table => self.to_table(style.color),
            Format::Json => self.to_json() + "\n",
            Format::Markdown => self.to_markdown(),
            Format::Ndjson | Format::Junit => {
                return Err(RenderError::Unsupported {
                    format,
                    what: "check (table, json, markdown)",
                });
            }
        };
        w.write_all(text.as_bytes())?;
        Ok(())
    }
}

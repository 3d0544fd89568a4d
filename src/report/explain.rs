//! Rendering of `aibnet explain`: the matched failure classes, their fix and
//! the collection plan, as a table, Markdown or the JSON contract.

use super::{Format, Render, RenderError, Style};
use crate::explain::{Explanation, render};
use std::io::Write;

impl Render for Explanation {
    fn render(&self, format: Format, style: &Style, w: &mut dyn Write) -> Result<(), RenderError> {
        let text = match format {
            Format::Table => render::table(self, style.color),
            Format::Json => render::json(self),
            Format::Markdown => render::markdown(self),
            Format::Ndjson | Format::Junit => {
                return Err(RenderError::Unsupported {
                    format,
                    what: "explain (table, json, markdown)",
                });
            }
        };
        w.write_all(text.as_bytes())?;
        Ok(())
    }
}

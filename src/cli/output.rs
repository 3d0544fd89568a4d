//! Where every command's result goes: one document, one format, one style,
//! to standard output; and the one exit-code type.

use aibnet::report::{OutputFormat, Render, RenderError, Style};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// How a run ended, for scripts and CI (the README's exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Healthy, recognised, or nothing at or above `--fail-on`.
    Success,
    /// A finding at or above `--fail-on` (`diagnose`, `builds`, `check`), or
    /// a text not recognised (`explain`).
    Findings,
    /// Nothing could be read, or a usage error.
    Unusable,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        match e {
            Exit::Success => ExitCode::SUCCESS,
            Exit::Findings => ExitCode::from(1),
            Exit::Unusable => ExitCode::from(2),
        }
    }
}

impl Exit {
    /// `Findings` when `failed`, else `Success`.
    pub fn failing_if(failed: bool) -> Exit {
        if failed {
            Exit::Findings
        } else {
            Exit::Success
        }
    }
}

/// The style of a stream: colours on a terminal unless `NO_COLOR` is set,
/// and the width to fit: the terminal's, else `COLUMNS`, else the report's
/// default. The one place the colour and width decisions are made.
pub fn style_for(is_terminal: bool) -> Style {
    let terminal = if is_terminal {
        console::Term::stdout().size_checked().map(|(_, cols)| cols)
    } else {
        None
    };
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|&c| c > 0);
    Style::for_stream(is_terminal, std::env::var_os("NO_COLOR").as_deref())
        .with_width(terminal.or(columns))
}

/// The format a command writes when `--format` is not given: a table on a
/// terminal, JSON for scripts.
pub fn default_format() -> OutputFormat {
    if std::io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Json
    }
}

/// Write a command's document to `-o FILE`, else to standard output.
pub fn emit_to(
    doc: &dyn Render,
    format: OutputFormat,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let Some(path) = output else {
        return emit(doc, format);
    };
    // A file is no terminal: no colours, the report's default width.
    let style = style_for(false);
    let mut out = std::io::BufWriter::new(create(path)?);
    doc.render(format, &style, &mut out)?;
    out.flush()?;
    Ok(())
}

fn create(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::create(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Write columnar data to `-o FILE`, else to standard output unless that
/// is a terminal (binary data on a terminal helps nobody).
#[cfg(feature = "columnar")]
pub fn emit_columnar(
    output: Option<&std::path::Path>,
    write: impl FnOnce(&mut (dyn Write + Send)) -> Result<(), aibnet::columnar::ColumnarError>,
) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            let mut out = std::io::BufWriter::new(create(path)?);
            write(&mut out)?;
            out.flush()?;
        }
        None => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                anyhow::bail!(
                    "Parquet and Arrow are binary: redirect standard output or name a file with -o"
                );
            }
            let mut out = std::io::BufWriter::new(stdout);
            // Arrow's I/O errors as io::Errors, so a closed pipe is recognised.
            let written = write(&mut out).map_err(|e| match e {
                aibnet::columnar::ColumnarError::Arrow(arrow_schema::ArrowError::IoError(
                    _,
                    io,
                )) => anyhow::Error::from(io),
                other => anyhow::Error::from(other),
            });
            reader_gone_is_done(written.and_then(|()| Ok(out.flush()?)))?;
        }
    }
    Ok(())
}

/// A reader that closed standard output early (`aibnet diagnose … | head`)
/// took what it wanted: the command still ends with its own exit code (a
/// broken verdict stays 1 for `set -o pipefail`), not with an error or
/// with 0.
fn reader_gone_is_done(r: anyhow::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Write a command's document to standard output.
pub fn emit(doc: &dyn Render, format: OutputFormat) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let style = style_for(stdout.is_terminal());
    let mut out = std::io::BufWriter::new(stdout.lock());
    // An I/O error stays an io::Error, so a closed pipe is recognised.
    let written = doc.render(format, &style, &mut out).map_err(|e| match e {
        RenderError::Io(io) => anyhow::Error::from(io),
        other => anyhow::Error::from(other),
    });
    reader_gone_is_done(written.and_then(|()| Ok(out.flush()?)))
}

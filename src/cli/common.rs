//! Flags and helpers shared by the subcommands.

use aibnet::analyze::Analysis;
use aibnet::findings::Severity;
use aibnet::report::OutputFormat;
use aibnet::topology::{Kind, Os};
use clap::ValueEnum;
use std::io::IsTerminal;
use std::path::PathBuf;

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Aligned table (default on a terminal).
    Table,
    /// One JSON document (default when stdout is not a terminal).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Markdown, to paste into a ticket.
    Markdown,
    /// JUnit XML for CI test reporters (diagnose and builds).
    Junit,
}

/// `--os` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OsArg {
    Linux,
    Windows,
}

impl From<OsArg> for Os {
    fn from(o: OsArg) -> Os {
        match o {
            OsArg::Linux => Os::Linux,
            OsArg::Windows => Os::Windows,
        }
    }
}

/// `--topology` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TopologyArg {
    Proxy,
    Isolated,
}

impl From<TopologyArg> for Kind {
    fn from(t: TopologyArg) -> Kind {
        match t {
            TopologyArg::Proxy => Kind::Proxy,
            TopologyArg::Isolated => Kind::Isolated,
        }
    }
}

/// `--fail-on` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    /// Whether findings this severe (and not merely `healthy`) fail the run.
    pub fn fails(self, worst: Option<Severity>, all_healthy: bool) -> bool {
        let threshold = match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
            FailOn::Never => return false,
        };
        worst.is_some_and(|w| w >= threshold && !(threshold == Severity::Info && all_healthy))
    }
}

/// Inputs and execution flags every analysing command takes.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Captures (pcap/pcapng, gzip ok), flow-log blobs, or directories of them
    /// (walked recursively); `-` reads stdin. Formats are detected by content.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Worker threads (default: one per core). Output is the same for any value.
    #[arg(short = 'j', long = "threads", value_name = "N")]
    pub threads: Option<usize>,
}

impl InputArgs {
    /// The paths, or a usage error when there are none.
    pub fn require_paths(&self) -> anyhow::Result<Vec<PathBuf>> {
        if self.paths.is_empty() {
            anyhow::bail!(
                "no PATH given: name captures, flow logs or directories (or - for stdin)"
            );
        }
        Ok(self.paths.clone())
    }

    /// Run `f` inside a rayon pool of the requested size.
    pub fn in_pool<T: Send>(&self, f: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
        match self.threads {
            Some(0) => anyhow::bail!("--threads must be at least 1"),
            Some(n) => {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build()?;
                Ok(pool.install(f))
            }
            None => Ok(f()),
        }
    }
}

/// Resolve `--format`: a table on a terminal, JSON otherwise.
pub fn output_format(f: Option<FormatArg>) -> OutputFormat {
    match f {
        Some(FormatArg::Table) => OutputFormat::Table,
        Some(FormatArg::Json) => OutputFormat::Json,
        Some(FormatArg::Ndjson) => OutputFormat::Ndjson,
        Some(FormatArg::Markdown) => OutputFormat::Markdown,
        Some(FormatArg::Junit) => OutputFormat::Junit,
        None if std::io::stdout().is_terminal() => OutputFormat::Table,
        None => OutputFormat::Json,
    }
}

/// Whether stdout gets colours.
pub fn stdout_color() -> bool {
    aibnet::report::use_color(std::io::stdout().is_terminal())
}

/// The one-line summary on stderr, and every skipped input.
/// Skipped inputs are listed unless the report on stdout (table, Markdown)
/// already lists them.
pub fn print_summary(a: &Analysis, shown: usize, report_lists_skipped: bool) {
    if !report_lists_skipped {
        for s in &a.skipped {
            eprintln!("aibnet: skipped {s}");
        }
    }
    eprintln!(
        "aibnet: {} input{}, {} packets/tuples, {} sessions ({} shown), {} skipped",
        a.inputs.len(),
        if a.inputs.len() == 1 { "" } else { "s" },
        a.packets(),
        a.sessions.len(),
        shown,
        a.skipped.len()
    );
}

//! `aibnet sessions`: what happened on the wire.

use super::common::{
    FormatArg, InputArgs, output_format, print_stats, print_summary, stdout_color,
};
use aibnet::report::OutputFormat;
use aibnet::report::sessions::{write_json, write_markdown, write_ndjson, write_table};
use aibnet::sessions::ConnState;
use aibnet::sessions::Filter;
use anyhow::anyhow;
use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

/// Flags of `aibnet sessions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,

    /// Output format (default: table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,

    /// Only sessions with this address at either end (repeatable).
    #[arg(long, value_name = "IP")]
    host: Vec<IpAddr>,

    /// Only sessions with this port at either end (repeatable).
    #[arg(long, value_name = "PORT")]
    port: Vec<u16>,

    /// Only sessions in these Zeek states, comma-separated (S0,REJ,...).
    #[arg(long, value_name = "STATES", value_delimiter = ',')]
    state: Vec<String>,
}

/// Run the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let states = args
        .state
        .iter()
        .map(|s| ConnState::parse(s).ok_or_else(|| anyhow!("unknown state {s:?} (expected one of S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH)")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let filter = Filter {
        hosts: args.host.clone(),
        ports: args.port.clone(),
        states,
    };
    let paths = args.input.require_paths()?;
    // Flow-log tuples that no --host/--port admits are dropped before they
    // become sessions (the same result, much less work on big log sets).
    let opts = aibnet::analyze::Options {
        filter: filter.clone(),
        ..args.input.read_options()
    };
    let analysis = args
        .input
        .in_pool(|| aibnet::analyze::analyze_paths(&paths, &opts))?;
    let shown = analysis
        .sessions
        .iter()
        .filter(|s| filter.admits(s))
        .count();

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let format = output_format(args.format);
    aibnet::phase::timed("write", || -> anyhow::Result<()> {
        match format {
            OutputFormat::Table => write_table(&mut out, &analysis, &filter, stdout_color())?,
            OutputFormat::Json => write_json(&mut out, &analysis, &filter)?,
            OutputFormat::Ndjson => write_ndjson(&mut out, &analysis, &filter)?,
            OutputFormat::Markdown => write_markdown(&mut out, &analysis, &filter)?,
            OutputFormat::Junit => anyhow::bail!("--format junit is for diagnose and builds"),
        }
        out.flush()?;
        Ok(())
    })?;
    print_summary(&analysis, shown, matches!(format, OutputFormat::Markdown));
    if args.input.stats {
        print_stats(&analysis);
    }
    Ok(if analysis.anything_read() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

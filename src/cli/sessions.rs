//! `aibnet sessions`: what happened on the wire.

use super::common::{DataFormatArg, InputArgs, SelectArgs, Written, print_stats, print_summary};
use super::output::{Exit, emit_to};
use aibnet::report::{OutputFormat, SessionsReport};
use aibnet::sessions::{ConnState, Filter};
use anyhow::anyhow;
use std::io::IsTerminal;
use std::net::IpAddr;

/// Flags of `aibnet sessions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,

    /// Output format (default: table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    format: Option<DataFormatArg>,

    /// Write the output to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<std::path::PathBuf>,

    /// Only sessions with this address at either end (repeatable).
    #[arg(long, value_name = "IP")]
    host: Vec<IpAddr>,

    /// Only sessions with this port at either end (repeatable).
    #[arg(long, value_name = "PORT")]
    port: Vec<u16>,

    /// Only sessions in these Zeek states, comma-separated (S0,REJ,...).
    #[arg(long, value_name = "STATES", value_delimiter = ',')]
    state: Vec<String>,

    #[command(flatten)]
    select: SelectArgs,
}

/// Run the command.
pub fn run(args: Args) -> anyhow::Result<Exit> {
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
        ..args.input.read_options(&args.select)?
    };
    let mut analysis = args
        .input
        .in_pool(|| aibnet::analyze::analyze_paths(&paths, &opts))?;
    // --since/--until: the sessions that overlap the window.
    let (since, until) = (args.select.since, args.select.until);
    if since.is_some() || until.is_some() {
        analysis.sessions.retain(|s| {
            since.is_none_or(|t| s.last_ts >= t) && until.is_none_or(|t| s.first_ts <= t)
        });
    }
    let shown = analysis
        .sessions
        .iter()
        .filter(|s| filter.admits(s))
        .count();

    let format = match DataFormatArg::choose(args.format) {
        Written::Doc(format) => {
            let report = SessionsReport {
                analysis: &analysis,
                filter: &filter,
            };
            aibnet::phase::timed("write", || emit_to(&report, format, args.output.as_deref()))?;
            format
        }
        #[cfg(feature = "columnar")]
        Written::Columnar(encoding) => {
            aibnet::phase::timed("write", || {
                super::output::emit_columnar(args.output.as_deref(), |w| {
                    aibnet::columnar::write_sessions(encoding, &analysis, &|s| filter.admits(s), w)
                })
            })?;
            OutputFormat::Json
        }
    };
    print_summary(
        &analysis,
        Some(shown),
        format == OutputFormat::Markdown,
        args.input
            .sum_up_not_evidence(std::io::stderr().is_terminal()),
    );
    super::common::print_remote(&opts);
    if args.input.stats {
        print_stats(&analysis);
    }
    let exit = if analysis.anything_read() {
        Exit::Success
    } else {
        Exit::Unusable
    };
    // The process ends next: dropping millions of sessions one by one (an
    // atomic count each for their flow details) would only add to its run
    // time, and the system frees the memory at once.
    std::mem::forget(analysis);
    Ok(exit)
}

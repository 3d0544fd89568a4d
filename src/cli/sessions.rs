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
    // --since/--until: the sessions that overlap the window.
    let filter = Filter {
        hosts: args.host.clone(),
        ports: args.port.clone(),
        states,
        since: args.select.since,
        until: args.select.until,
    };
    let paths = args.input.require_paths()?;
    // Flow-log tuples that no --host/--port admits are dropped before they
    // become sessions (the same result, much less work on big log sets).
    let opts = aibnet::analyze::Options {
        filter: filter.clone(),
        ..args.input.read_options(&args.select)?
    };
    // The sessions are built as they are written, never held all at once.
    let (analysis, sessions) = args
        .input
        .in_pool(|| aibnet::analyze::analyze_paths_finished(&paths, &opts))?;
    // Sessions in the window, and of those the ones shown: counted before
    // writing (the summary follows the output), by a pass of their own only
    // when some are left out. (`in_pool` set the global pool: the passes
    // keep to --threads too.)
    let count = |f: &Filter| {
        if f.is_everything() {
            sessions.count()
        } else {
            sessions.par_count(|v| v.admitted_by(f))
        }
    };
    let in_window = filter.times_only();
    let total = count(&in_window);
    let shown = if in_window == filter {
        total
    } else {
        count(&filter)
    };

    let format = match DataFormatArg::choose(args.format) {
        Written::Doc(format) => {
            let report = SessionsReport {
                analysis: &analysis,
                sessions: &sessions,
                filter: &filter,
            };
            aibnet::phase::timed("write", || emit_to(&report, format, args.output.as_deref()))?;
            format
        }
        #[cfg(feature = "columnar")]
        Written::Columnar(encoding) => {
            aibnet::phase::timed("write", || {
                super::output::emit_columnar(args.output.as_deref(), |w| {
                    aibnet::columnar::write_sessions(encoding, &analysis, &sessions, &filter, w)
                })
            })?;
            OutputFormat::Json
        }
    };
    print_summary(
        &analysis,
        Some((total, shown)),
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

//! `aibnet builds`: every AIB run in days of flow logs and captures, each
//! diagnosed.

use super::common::{DataFormatArg, HintArgs, InputArgs, SelectArgs, Written, parse_duration};
use super::output::{Exit, emit_to};
use aibnet::builds::{Builds, Options, builds_paths};

/// Flags of `aibnet builds`.
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

    #[command(flatten)]
    hints: HintArgs,

    #[command(flatten)]
    select: SelectArgs,

    /// Quiet time after which an address seen again belongs to a new run
    /// (e.g. 10m, 1h30m, 90s).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration_ns)]
    gap: i64,

    /// The build timeout: no run lasts longer (AIB's buildTimeoutInMinutes,
    /// 240 by default).
    #[arg(long, value_name = "DURATION", default_value = "4h", value_parser = duration_ns)]
    timeout: i64,

    /// No progress bar (it is shown only when stderr is a terminal).
    #[arg(long)]
    no_progress: bool,

    /// Configuration JSON (image template, NSGs, effective rules, subnet,
    /// VNET, route table) joined to every run's diagnosis, to explain blocked
    /// hops by the rule that blocks them. JSON among the PATHs is not taken
    /// as configuration (a tree of months may hold several).
    #[arg(long, value_name = "PATH")]
    config: Vec<std::path::PathBuf>,
}

/// A duration flag in ns.
fn duration_ns(s: &str) -> Result<i64, String> {
    let d = parse_duration(s)?;
    i64::try_from(d.as_nanos()).map_err(|_| format!("duration {s:?} is too long"))
}

fn print_summary(b: &Builds) {
    for s in &b.skipped {
        eprintln!(
            "aibnet: skipped {}",
            aibnet::report::escape::terminal(&s.to_string())
        );
    }
    eprintln!(
        "aibnet: {} input{}, {} packets/tuples, {} AIB-relevant sessions, {} run{}, {} skipped{}",
        b.inputs.len(),
        if b.inputs.len() == 1 { "" } else { "s" },
        b.packets(),
        b.sessions_kept,
        b.runs.len(),
        if b.runs.len() == 1 { "" } else { "s" },
        b.skipped.len(),
        if b.outside_window > 0 {
            format!(", {} outside the window", b.outside_window)
        } else {
            String::new()
        }
    );
}

/// Run the command.
pub fn run(args: Args) -> anyhow::Result<Exit> {
    let read = args.input.read_options(&args.select)?;
    if args.gap <= 0 || args.timeout <= 0 {
        anyhow::bail!("--gap and --timeout must be positive");
    }
    let opts = Options {
        gap_ns: args.gap,
        timeout_ns: args.timeout,
        since: args.select.since,
        until: args.select.until,
        diagnosis: aibnet::diagnose::Options {
            hints: args.hints.hints(),
            names: args.hints.fix_names(&args.select),
            config: None,
        },
        config: args.config.clone(),
        read,
        // Only the HTML report draws each run's sessions.
        keep_sessions: args.format == Some(DataFormatArg::Html),
    };
    let progress = super::progress::bar(args.no_progress);
    let paths = args.input.paths.clone();
    let builds = args
        .input
        .in_pool(|| builds_paths(&paths, &opts, progress.as_ref()))?;
    match DataFormatArg::choose(args.format) {
        Written::Doc(format) => emit_to(&builds, format, args.output.as_deref())?,
        #[cfg(feature = "columnar")]
        Written::Columnar(encoding) => {
            super::output::emit_columnar(args.output.as_deref(), |w| {
                aibnet::columnar::write_runs(encoding, &builds, w)
            })?;
        }
    }
    print_summary(&builds);
    super::common::print_remote(&opts.read);
    if !builds.anything_read() {
        return Ok(Exit::Unusable);
    }
    Ok(Exit::failing_if(builds.runs.iter().any(|r| {
        args.hints.fail_on.fails(
            r.diagnosis.worst(),
            r.diagnosis
                .findings
                .iter()
                .all(|f| f.id == aibnet::aib::FindingId::Healthy),
        )
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_ns() {
        assert_eq!(duration_ns("10m"), Ok(600_000_000_000));
        assert!(duration_ns("10").is_err());
        assert!(duration_ns("200000000d").is_err());
    }
}

//! `aibnet diagnose`: which hop is broken and why.

use super::common::{FormatArg, HintArgs, InputArgs, SelectArgs, print_stats, print_summary};
use super::output::{Exit, emit};
use aibnet::aib::FindingId;
use aibnet::report::{DiagnoseReport, OutputFormat};
use aibnet::topology::Hints;
use std::io::IsTerminal;
use std::net::IpAddr;

/// Flags of `aibnet diagnose`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,

    /// Output format (default: table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,

    #[command(flatten)]
    hints: HintArgs,

    #[command(flatten)]
    select: SelectArgs,

    /// The proxy VM's address, when the evidence does not show it.
    #[arg(long, value_name = "IP")]
    proxy: Vec<IpAddr>,

    /// The build VM's address, when the evidence does not show it.
    #[arg(long = "build-vm", value_name = "IP")]
    build_vm: Vec<IpAddr>,

    /// Configuration JSON (image template, NSGs, effective rules, subnet, VNET,
    /// route table) to explain blocked hops by the rule that blocks them.
    /// JSON configuration files among the PATHs are used the same way.
    #[arg(long, value_name = "PATH")]
    config: Vec<std::path::PathBuf>,

    /// No progress bar (it is shown only when stderr is a terminal).
    #[arg(long)]
    no_progress: bool,

    /// Capture live on this interface first, then diagnose what was captured
    /// (feature `live`).
    #[cfg(feature = "live")]
    #[arg(long, value_name = "IFACE")]
    live: Option<String>,

    /// With --live: how long to capture.
    #[cfg(feature = "live")]
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "60s",
        requires = "live"
    )]
    duration: String,
}

/// Run the command.
pub fn run(args: Args) -> anyhow::Result<Exit> {
    let hints = Hints {
        proxy: args.proxy.clone(),
        build_vm: args.build_vm.clone(),
        ..args.hints.hints()
    };
    let names = args.hints.fix_names(&args.select);
    let read = args.input.read_options(&args.select)?;
    #[cfg(feature = "live")]
    let _live_file;
    #[cfg(feature = "live")]
    let paths = match &args.live {
        Some(iface) => {
            let dir = tempfile_dir();
            let out = aibnet::capture::live::temp_capture_path(&dir);
            let opts = super::capture::options(&super::capture::Args {
                interface: iface.clone(),
                output: out.clone(),
                duration: Some(args.duration.clone()),
                count: None,
                filter: None,
                ports: Vec::new(),
            })?;
            super::capture::record(&opts)?;
            _live_file = RemoveOnDrop(out.clone());
            let mut p = args.input.paths.clone();
            p.push(out);
            p
        }
        None => args.input.require_paths()?,
    };
    #[cfg(not(feature = "live"))]
    let paths = args.input.require_paths()?;
    let scan_opts = aibnet::analyze::scan::ScanOptions {
        read,
        probe: hints.probe_ip.unwrap_or(aibnet::aib::AZURE_HOST_IP),
        since: args.select.since,
        until: args.select.until,
        report_failed: true,
    };
    let progress = super::progress::bar(args.no_progress);
    let (analysis, diag) = args.input.in_pool(|| {
        // Reduced as it is read: each input keeps only what a diagnosis can
        // use (analyze::scan), so memory does not grow with the evidence.
        let mut a = aibnet::analyze::scan::scan_paths(&paths, &scan_opts, progress.as_ref())
            .into_analysis();
        let opts = aibnet::diagnose::Options {
            hints,
            names,
            // Configuration: given with --config, or JSON among the inputs.
            config: aibnet::diagnose::configuration(&mut a.inputs, &mut a.skipped, &args.config),
        };
        let d = aibnet::phase::timed("diagnose", || aibnet::diagnose::diagnose(&a, &opts));
        (a, d)
    })?;
    let format = FormatArg::or_default(args.format);
    emit(
        &DiagnoseReport {
            diagnosis: &diag,
            analysis: &analysis,
            sum_up_not_evidence: args
                .input
                .sum_up_not_evidence(std::io::stdout().is_terminal()),
        },
        format,
    )?;
    print_summary(
        &analysis,
        None,
        matches!(format, OutputFormat::Table | OutputFormat::Markdown),
        args.input
            .sum_up_not_evidence(std::io::stderr().is_terminal()),
    );
    super::common::print_remote(&scan_opts.read);
    if args.input.stats {
        print_stats(&analysis);
    }
    if !analysis.anything_read() {
        return Ok(Exit::Unusable);
    }
    Ok(Exit::failing_if(args.hints.fail_on.fails(
        diag.worst(),
        diag.findings.iter().all(|f| f.id == FindingId::Healthy),
    )))
}

#[cfg(feature = "live")]
fn tempfile_dir() -> std::path::PathBuf {
    std::env::temp_dir()
}

/// Deletes the temporary live capture when diagnose is done with it.
#[cfg(feature = "live")]
struct RemoveOnDrop(std::path::PathBuf);

#[cfg(feature = "live")]
impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

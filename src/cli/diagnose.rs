//! `aibnet diagnose`: which hop is broken and why.

use super::common::{FormatArg, InputArgs, output_format, print_summary, stdout_color};
use aibnet::diagnose::diagnose;
use aibnet::findings::Severity;
use aibnet::findings::rules::FixNames;
use aibnet::report::OutputFormat;
use aibnet::report::diagnose::{write_json, write_markdown, write_ndjson, write_table};
use aibnet::topology::{Hints, Kind, Os};
use clap::ValueEnum;
use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OsArg {
    Linux,
    Windows,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TopologyArg {
    Proxy,
    Isolated,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

/// Flags of `aibnet diagnose`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,

    /// Output format (default: table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,

    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value = "error")]
    fail_on: FailOn,

    /// The proxy VM's address, when the evidence does not show it.
    #[arg(long, value_name = "IP")]
    proxy: Vec<IpAddr>,

    /// The build VM's address, when the evidence does not show it.
    #[arg(long = "build-vm", value_name = "IP")]
    build_vm: Vec<IpAddr>,

    /// Source address of the load balancer health probe.
    #[arg(long = "probe-ip", value_name = "IP", default_value = "168.63.129.16")]
    probe_ip: IpAddr,

    /// The build VM's OS (default: from the ports seen).
    #[arg(long, value_enum)]
    os: Option<OsArg>,

    /// Proxy (Private Link + proxy VM) or isolated (ACI) topology.
    #[arg(long, value_enum)]
    topology: Option<TopologyArg>,

    /// Resource group to put into the `az` fix commands.
    #[arg(long = "resource-group", value_name = "RG")]
    resource_group: Option<String>,

    /// NSG name to put into the `az` fix commands.
    #[arg(long, value_name = "NSG")]
    nsg: Option<String>,
}

/// Run the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let hints = Hints {
        proxy: args.proxy.clone(),
        build_vm: args.build_vm.clone(),
        probe_ip: Some(args.probe_ip),
        os: args.os.map(|o| match o {
            OsArg::Linux => Os::Linux,
            OsArg::Windows => Os::Windows,
        }),
        kind: args.topology.map(|t| match t {
            TopologyArg::Proxy => Kind::Proxy,
            TopologyArg::Isolated => Kind::Isolated,
        }),
    };
    let mut names = FixNames::default();
    if let Some(rg) = &args.resource_group {
        names.resource_group = rg.clone();
    }
    if let Some(n) = &args.nsg {
        names.nsg = n.clone();
    }
    let paths = args.input.paths.clone();
    let (analysis, diag) = args.input.in_pool(|| {
        let a = aibnet::analyze::analyze_paths(&paths);
        let d = diagnose(&a, &hints, names);
        (a, d)
    })?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match output_format(args.format) {
        OutputFormat::Table => write_table(&mut out, &diag, &analysis, stdout_color())?,
        OutputFormat::Json => write_json(&mut out, &diag, &analysis)?,
        OutputFormat::Ndjson => write_ndjson(&mut out, &diag)?,
        OutputFormat::Markdown => write_markdown(&mut out, &diag, &analysis)?,
        OutputFormat::Junit => aibnet::report::junit::write_diagnose(&mut out, &diag, &analysis)?,
    }
    out.flush()?;
    print_summary(&analysis, analysis.sessions.len());
    if !analysis.anything_read() {
        return Ok(ExitCode::from(2));
    }
    let threshold = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    let fail = match (threshold, diag.worst()) {
        (Some(t), Some(w)) => {
            w >= t && !(t == Severity::Info && diag.findings.iter().all(|f| f.id == "healthy"))
        }
        _ => false,
    };
    Ok(if fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

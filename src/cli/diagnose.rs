//! `aibnet diagnose`: which hop is broken and why.

use super::common::{
    FormatArg, HintArgs, InputArgs, output_format, print_stats, print_summary, stdout_color,
};
use aibnet::aib::FindingId;
use aibnet::diagnose::diagnose;
use aibnet::report::OutputFormat;
use aibnet::report::diagnose::{write_json, write_markdown, write_ndjson, write_table};
use aibnet::topology::Hints;
use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

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

fn first_v4(v: &[IpAddr]) -> Option<std::net::Ipv4Addr> {
    v.iter().find_map(|ip| match ip {
        IpAddr::V4(a) => Some(*a),
        IpAddr::V6(_) => None,
    })
}

/// Run the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let hints = Hints {
        proxy: args.proxy.clone(),
        build_vm: args.build_vm.clone(),
        ..args.hints.hints()
    };
    let names = args.hints.fix_names();
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
    let (mut analysis, mut diag) = args.input.in_pool(|| {
        let a = aibnet::analyze::analyze_paths(&paths, &args.input.read_options());
        let d = diagnose(&a, &hints, names);
        (a, d)
    })?;
    // Configuration files: given with --config, or JSON among the inputs.
    let mut config_paths = args.config.clone();
    let json_inputs: Vec<String> = analysis
        .inputs
        .iter()
        .filter(|i| i.format == aibnet::ingest::Format::Json)
        .map(|i| i.path.clone())
        .collect();
    config_paths.extend(json_inputs.iter().map(std::path::PathBuf::from));
    if !config_paths.is_empty() {
        let mut cfg = aibnet::check::Config::load_paths(&config_paths);
        cfg.options = aibnet::check::Options {
            proxy_ip: first_v4(&diag.topology.roles.proxy),
            build_vm_ip: first_v4(&diag.topology.roles.build_vm),
            os: diag.topology.os,
        };
        for sk in &cfg.skipped {
            if !json_inputs.contains(&sk.path) {
                eprintln!("aibnet: config skipped {}: {}", sk.path, sk.reason);
            }
        }
        if !cfg.is_empty() {
            let report = aibnet::check::evaluate(&cfg);
            aibnet::diagnose::join_config(&mut diag, &report);
            // JSON inputs that were configuration are not "skipped" any more.
            analysis.skipped.retain(|s| {
                !json_inputs.contains(&s.path) || cfg.skipped.iter().any(|k| k.path == s.path)
            });
            for i in analysis
                .inputs
                .iter_mut()
                .filter(|i| json_inputs.contains(&i.path))
            {
                if !cfg.skipped.iter().any(|k| k.path == i.path) {
                    i.error = None;
                }
            }
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let format = output_format(args.format);
    match format {
        OutputFormat::Table => write_table(&mut out, &diag, &analysis, stdout_color())?,
        OutputFormat::Json => write_json(&mut out, &diag, &analysis)?,
        OutputFormat::Ndjson => write_ndjson(&mut out, &diag)?,
        OutputFormat::Markdown => write_markdown(&mut out, &diag, &analysis)?,
        OutputFormat::Junit => aibnet::report::junit::write_diagnose(&mut out, &diag, &analysis)?,
    }
    out.flush()?;
    print_summary(
        &analysis,
        analysis.sessions.len(),
        matches!(format, OutputFormat::Table | OutputFormat::Markdown),
    );
    if args.input.stats {
        print_stats(&analysis);
    }
    if !analysis.anything_read() {
        return Ok(ExitCode::from(2));
    }
    let fail = args.hints.fail_on.fails(
        diag.worst(),
        diag.findings.iter().all(|f| f.id == FindingId::Healthy),
    );
    Ok(if fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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

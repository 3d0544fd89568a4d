//! `aibnet check PATH...`: offline evaluation of the AIB network configuration.

use super::common::OsArg;
use super::output::{Exit, emit};
use aibnet::check::{self, Config, Options};
use aibnet::report::escape::terminal;
use clap::{Args, ValueEnum};
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Text tables.
    Table,
    /// JSON (schema_version 1).
    Json,
    /// Markdown, for tickets.
    Markdown,
}

/// Flags of `aibnet check`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 nothing blocked (some flows may be undecided), 1 a required flow is \
denied or a configuration finding is an error, 2 no usable input or a usage error."
)]
pub struct CheckArgs {
    /// JSON files or directories: image template, `az network nsg show`,
    /// `az network nic list-effective-nsg`, `az network vnet subnet show`,
    /// `az network vnet show`, `az network route-table show`, ARM exports.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// The proxy VM's address (default: any address of the build subnet).
    #[arg(long, value_name = "IP")]
    proxy: Option<Ipv4Addr>,
    /// The build VM's address (default: any address of the build subnet).
    #[arg(long = "build-vm", value_name = "IP")]
    build_vm: Option<Ipv4Addr>,
    /// The build VM's OS (default: from the template; both if unknown).
    #[arg(long, value_enum)]
    os: Option<OsArg>,
}

/// Run `check`. Exit codes: 0 nothing blocked, 1 a required flow is denied or a
/// configuration finding is an error, 2 no usable input.
pub fn run(args: CheckArgs) -> anyhow::Result<Exit> {
    let mut cfg = Config::load_paths(&args.paths);
    cfg.options = Options {
        proxy_ip: args.proxy,
        build_vm_ip: args.build_vm,
        os: args.os.map(Into::into),
    };
    for s in &cfg.skipped {
        eprintln!(
            "aibnet: skipped {}: {}",
            terminal(&s.path),
            terminal(&s.reason)
        );
    }
    if cfg.is_empty() {
        eprintln!(
            "aibnet: error: no usable input in {} path(s): give the image template, NSG, subnet, VNET or route table JSON",
            args.paths.len()
        );
        return Ok(Exit::Unusable);
    }
    let report = check::evaluate(&cfg);
    emit(
        &report,
        match args.format {
            Format::Table => aibnet::report::OutputFormat::Table,
            Format::Json => aibnet::report::OutputFormat::Json,
            Format::Markdown => aibnet::report::OutputFormat::Markdown,
        },
    )?;
    Ok(Exit::failing_if(report.is_blocked()))
}

//! Command-line flags (clap derive) and one file per subcommand.

mod check;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Why can't Azure VM Image Builder reach its build VM? Reads packet captures
/// and NSG / VNet flow logs and tells which hop is broken, with evidence and fix.
#[derive(Debug, Parser)]
#[command(name = "aibnet", version, about, long_about = None)]
pub struct Opts {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate the image template, NSGs, subnet, VNET and route table offline
    /// for every flow an AIB build needs.
    Check(check::CheckArgs),
}

/// Parse the command line and run the chosen subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let opts = Opts::parse();
    match opts.command {
        Command::Check(args) => check::run(args),
    }
}

//! Command-line flags (clap derive) and one file per subcommand.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod explain;

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
    /// Explain an AIB / Packer error message: failure class, hop, fix, and the
    /// commands that collect the evidence.
    Explain(explain::Args),
}

/// Parse the command line and run the chosen subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let opts = Opts::parse();
    match opts.command {
        Command::Explain(args) => explain::run(args),
    }
}

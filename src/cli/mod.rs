//! Command-line flags (clap derive) and one file per subcommand.

mod builds;
#[cfg(feature = "live")]
mod capture;
mod check;
mod common;
mod completions;
mod diagnose;
mod explain;
mod output;
mod progress;
mod sessions;

use clap::{Parser, Subcommand};
pub use output::Exit;

/// Why can't Azure VM Image Builder reach its build VM? Reads packet captures
/// and NSG / VNet flow logs and tells which hop is broken, with evidence and fix.
///
/// Exit codes: 0 success (healthy), 1 findings at or above --fail-on,
/// 2 no usable input or a usage error.
#[derive(Debug, Parser)]
#[command(name = "aibnet", version, about, long_about = None)]
pub struct Opts {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// What happened on the wire: every TCP/UDP/ICMP session in captures and flow logs.
    Sessions(sessions::Args),
    /// Which hop of the AIB build path is broken, the evidence, and the fix.
    Diagnose(diagnose::Args),
    /// Capture the AIB ports live on an interface into a pcap file (feature `live`).
    #[cfg(feature = "live")]
    Capture(capture::Args),
    /// Evaluate the image template, NSGs, subnet, VNET and route table offline
    /// for every flow an AIB build needs.
    Check(check::CheckArgs),
    /// Explain an AIB / Packer error message: failure class, hop, fix, and the
    /// commands that collect the evidence.
    Explain(explain::Args),
    /// Every AIB run in days of flow logs and captures, each diagnosed; CI output.
    Builds(builds::Args),
    /// Print the shell completion script for SHELL (bash, zsh, fish, elvish,
    /// powershell).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff), or write one page per command with --dir.
    Man(completions::ManArgs),
}

/// Parse the command line and run the chosen subcommand.
pub fn run() -> anyhow::Result<Exit> {
    let opts = Opts::parse();
    if std::env::var_os("AIBNET_PHASES").is_some() {
        aibnet::phase::enable();
    }
    match opts.command {
        Command::Sessions(a) => sessions::run(a),
        Command::Diagnose(a) => diagnose::run(a),
        #[cfg(feature = "live")]
        Command::Capture(a) => capture::run(a),
        Command::Check(args) => check::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Builds(a) => builds::run(a),
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
    }
}

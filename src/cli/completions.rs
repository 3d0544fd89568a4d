//! `aibnet completions SHELL` and `aibnet man`: shell completions
//! (clap_complete) and manual pages (clap_mangen), generated from the same
//! flag definitions as `--help`, so they never drift from the binary.

use super::Opts;
use super::output::Exit;
use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;

/// Flags of `aibnet completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Flags of `aibnet man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write aibnet.1 and one page per subcommand (aibnet-diagnose.1 …)
    /// into this directory, instead of aibnet.1 to standard output.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Print the completion script for a shell.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<Exit> {
    let mut cmd = Opts::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "aibnet", &mut out);
    out.flush()?;
    Ok(Exit::Success)
}

/// Print the manual page, or write every page into a directory.
pub fn man(args: ManArgs) -> anyhow::Result<Exit> {
    let cmd = Opts::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            clap_mangen::generate_to(cmd, &dir)?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.flush()?;
        }
    }
    Ok(Exit::Success)
}

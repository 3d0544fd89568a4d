//! The `aibnet` command line. Thin: parse flags, call the library, render,
//! map the outcome to an exit code. The only user of `anyhow`.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(exit) => exit.into(),
        Err(err) => {
            // A closed pipe (`aibnet ... | head`) is not an error worth reporting.
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return cli::Exit::Success.into();
            }
            eprintln!(
                "aibnet: error: {}",
                aibnet::report::escape::terminal(&format!("{err:#}"))
            );
            cli::Exit::Unusable.into()
        }
    }
}

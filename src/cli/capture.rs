//! `aibnet capture` (feature `live`): record the AIB ports on an interface.

use super::common::parse_duration;
use super::output::Exit;
use aibnet::capture::live::{AIB_PORTS, LiveOptions, capture, default_filter};
use anyhow::bail;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Flags of `aibnet capture`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Interface to capture on (`eth0`, `lo`, `any`).
    #[arg(short = 'i', long)]
    pub interface: String,

    /// Output pcap file.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub output: PathBuf,

    /// Stop after this long (`60s`, `2m`, `1h`).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,

    /// Stop after this many packets.
    #[arg(short = 'c', long)]
    pub count: Option<u64>,

    /// BPF capture filter (default: the AIB ports 60000, 60001, 22, 5986, 53,
    /// 443, 80, 1688, plus ICMP).
    #[arg(long)]
    pub filter: Option<String>,

    /// Ports for the default filter, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub ports: Vec<u16>,
}

/// Build the capture options from flags.
pub fn options(args: &Args) -> anyhow::Result<LiveOptions> {
    let duration = match &args.duration {
        Some(d) => Some(parse_duration(d).map_err(anyhow::Error::msg)?),
        None => None,
    };
    if duration.is_none() && args.count.is_none() {
        bail!("say when to stop: --duration 60s or --count N");
    }
    let ports = if args.ports.is_empty() {
        AIB_PORTS.to_vec()
    } else {
        args.ports.clone()
    };
    Ok(LiveOptions {
        interface: args.interface.clone(),
        filter: args
            .filter
            .clone()
            .unwrap_or_else(|| default_filter(&ports)),
        duration,
        count: args.count,
        output: args.output.clone(),
        snaplen: 256,
    })
}

/// Capture with a progress line on a terminal.
pub fn record(opts: &LiveOptions) -> anyhow::Result<u64> {
    let tty = std::io::stderr().is_terminal();
    eprintln!(
        "aibnet: capturing on {} with filter: {}",
        opts.interface, opts.filter
    );
    let summary = capture(opts, |n, t| {
        if tty {
            eprint!("\r  {n} packets in {:.0}s ", t.as_secs_f64());
        }
    })?;
    if tty {
        eprintln!();
    }
    eprintln!(
        "aibnet: wrote {} packets to {}{}",
        summary.packets,
        opts.output.display(),
        if summary.dropped > 0 {
            format!(" ({} dropped by the kernel)", summary.dropped)
        } else {
            String::new()
        }
    );
    Ok(summary.packets)
}

/// Run the command.
pub fn run(args: Args) -> anyhow::Result<Exit> {
    let opts = options(&args)?;
    record(&opts)?;
    Ok(Exit::Success)
}

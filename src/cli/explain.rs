//! `aibnet explain TEXT|FILE|-`: exit 0 when a failure class was recognised,
//! 1 when not, 2 on a usage error or an unreadable file.

use super::common::OsArg;
use super::output::{Exit, emit};
use aibnet::explain::{self, Context, FlowLogKind};
use aibnet::report::escape::terminal;
use aibnet::time::{TimeError, Utc};
use anyhow::{Context as _, bail};
use clap::ValueEnum;
use std::io::Read;
use std::path::Path;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A report for the terminal.
    Table,
    /// Markdown for a support ticket.
    Markdown,
    /// The JSON contract (schema_version 1).
    Json,
}

/// Which flow-log container the plan downloads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Container {
    /// NSG flow logs.
    #[value(alias = "insights-logs-networksecuritygroupflowevent")]
    Nsg,
    /// VNet flow logs.
    #[value(alias = "insights-logs-flowlogflowevent")]
    Vnet,
    /// Both (which one is enabled is not in the error text).
    Both,
}

fn parse_time(s: &str) -> Result<Utc, TimeError> {
    Utc::parse(s)
}

/// Flags of `aibnet explain`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 recognised, 1 not recognised, 2 usage error or unreadable file.\n\
Examples:\n  aibnet explain 'Timeout waiting for WinRM.'\n  aibnet explain customization.log --nsg nsg-aib --storage-account stflowlogs\n  \
az image builder show -g rg-img -n win-tpl | aibnet explain - --format json"
)]
pub struct Args {
    /// The error text; or a file (customization.log, `az image builder show`
    /// JSON); or `-` for stdin. Several words are joined into one text.
    #[arg(required = true, value_name = "TEXT|FILE|-")]
    input: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Subscription id for the commands.
    #[arg(long)]
    subscription: Option<String>,
    /// The image template's resource group.
    #[arg(long, short = 'g')]
    resource_group: Option<String>,
    /// The image template's name.
    #[arg(long)]
    template: Option<String>,
    /// The VNET's resource group.
    #[arg(long)]
    vnet_resource_group: Option<String>,
    /// The build VNET.
    #[arg(long)]
    vnet: Option<String>,
    /// The build subnet.
    #[arg(long)]
    subnet: Option<String>,
    /// The build subnet's NSG: a name or a full resource id.
    #[arg(long)]
    nsg: Option<String>,
    /// The storage account holding the flow logs (and receiving captures).
    #[arg(long)]
    storage_account: Option<String>,
    /// Which flow-log container to download from.
    #[arg(long, value_enum, default_value_t = Container::Both)]
    container: Container,
    /// The template's region.
    #[arg(long)]
    location: Option<String>,
    /// Start of the evidence window (RFC 3339; no zone = UTC).
    #[arg(long, value_parser = parse_time, conflicts_with = "at")]
    since: Option<Utc>,
    /// End of the evidence window.
    #[arg(long, value_parser = parse_time, conflicts_with = "at")]
    until: Option<Utc>,
    /// One moment of the failure: the window is 1 h before to 5 min after.
    #[arg(long, value_parser = parse_time)]
    at: Option<Utc>,
    /// The build's OS, when the text does not say.
    #[arg(long, value_enum)]
    os: Option<OsArg>,

    /// Captures and flow logs (files or directories) to confirm or refute the
    /// explanation with: runs `diagnose` on them and compares.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    evidence: Vec<std::path::PathBuf>,

    /// Read at most the last SIZE bytes of each file and of stdin (K, M, G
    /// suffixes): the error is at the end of a log, and an endless or huge
    /// input must not take all memory.
    #[arg(long = "max-input", value_name = "SIZE", default_value = "16M", value_parser = super::common::parse_size)]
    max_input: u64,
}

/// Read everything from `r`, keeping only the last `max` bytes. Returns the
/// bytes and how many were dropped from the front.
fn read_tail(mut r: impl Read, max: u64) -> std::io::Result<(Vec<u8>, u64)> {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let mut buf = Vec::new();
    let mut dropped = 0u64;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        // Drop the front in large steps, so memory stays under 2 × max.
        if buf.len() > max.saturating_mul(2).max(1 << 20) {
            let cut = buf.len() - max;
            buf.drain(..cut);
            dropped += cut as u64;
        }
    }
    if buf.len() > max {
        let cut = buf.len() - max;
        buf.drain(..cut);
        dropped += cut as u64;
    }
    Ok((buf, dropped))
}

/// [`read_tail`], saying on stderr what was left out.
fn read_tail_noted(r: impl Read, max: u64, name: &str) -> anyhow::Result<Vec<u8>> {
    let (bytes, dropped) = read_tail(r, max).with_context(|| format!("cannot read {name}"))?;
    if dropped > 0 {
        eprintln!(
            "aibnet: {name} is longer than {max} bytes: explaining its last {max} (the first {dropped} were skipped; --max-input changes this)"
        );
    }
    Ok(bytes)
}

const FILE_EXTENSIONS: [&str; 6] = [".log", ".txt", ".json", ".out", ".err", ".md"];

/// An argument that is surely meant as a file name (so a missing file is an
/// error, not text to explain).
fn looks_like_path(arg: &str) -> bool {
    if arg.chars().any(char::is_whitespace) {
        return false;
    }
    let lower = arg.to_ascii_lowercase();
    FILE_EXTENSIONS.iter().any(|e| lower.ends_with(e))
        || arg.starts_with("./")
        || arg.starts_with("../")
        || arg.starts_with("~/")
        || (arg.starts_with('/') && !lower.starts_with("/subscriptions/"))
}

fn read_input(args: &[String], max: u64) -> anyhow::Result<Vec<u8>> {
    if args.iter().any(|a| a == "-") {
        if args.len() > 1 {
            bail!("`-` (stdin) must be the only input");
        }
        return read_tail_noted(std::io::stdin().lock(), max, "stdin");
    }
    let mut files: Vec<u8> = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if path.is_file() {
            let file = std::fs::File::open(path).with_context(|| format!("cannot read {arg}"))?;
            let bytes = read_tail_noted(file, max, arg)?;
            if !files.is_empty() {
                files.push(b'\n');
            }
            files.extend_from_slice(&bytes);
        } else if path.exists() {
            bail!("{arg} is not a regular file");
        } else if looks_like_path(arg) {
            bail!("{arg}: no such file (quote the error text if it is text)");
        } else {
            words.push(arg);
        }
    }
    if !words.is_empty() {
        if !files.is_empty() {
            files.push(b'\n');
        }
        files.extend_from_slice(words.join(" ").as_bytes());
    }
    Ok(files)
}

/// Run `aibnet explain`.
pub fn run(args: Args) -> anyhow::Result<Exit> {
    let raw = read_input(&args.input, args.max_input)?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        bail!("nothing to explain: the input is empty");
    }
    let ctx = Context {
        subscription: args.subscription,
        resource_group: args.resource_group,
        template: args.template,
        vnet_resource_group: args.vnet_resource_group,
        vnet: args.vnet,
        subnet: args.subnet,
        nsg: args.nsg,
        storage_account: args.storage_account,
        location: args.location,
        flow_logs: match args.container {
            Container::Nsg => FlowLogKind::Nsg,
            Container::Vnet => FlowLogKind::Vnet,
            Container::Both => FlowLogKind::Both,
        },
        since: args.since,
        until: args.until,
        at: args.at,
        os: args.os.map(Into::into),
    };
    let mut e = explain::explain(&raw, &ctx);
    if !args.evidence.is_empty() {
        // Evidence may be in storage: credentials from the environment.
        let read = aibnet::analyze::Options {
            remote: aibnet::ingest::blob::RemoteOptions {
                env: aibnet::ingest::blob::azure_env(std::env::vars()),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut analysis = aibnet::analyze::analyze_paths(&args.evidence, &read);
        for sk in &analysis.skipped {
            eprintln!("aibnet: evidence skipped {}", terminal(&sk.to_string()));
        }
        if !analysis.anything_read() {
            bail!("none of the --evidence paths could be read");
        }
        // The same diagnosis `diagnose` makes, configuration included.
        let opts = aibnet::diagnose::Options {
            config: aibnet::diagnose::configuration(
                &mut analysis.inputs,
                &mut analysis.skipped,
                &[],
            ),
            ..Default::default()
        };
        let d = aibnet::diagnose::diagnose(&analysis, &opts);
        e.confirm_with(&aibnet::explain::confirm::EvidenceSummary::from_diagnosis(
            &d,
        ));
    }
    emit(
        &e,
        match args.format {
            Format::Table => aibnet::report::OutputFormat::Table,
            Format::Json => aibnet::report::OutputFormat::Json,
            Format::Markdown => aibnet::report::OutputFormat::Markdown,
        },
    )?;
    Ok(Exit::failing_if(!e.recognised))
}

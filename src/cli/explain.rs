//! `aibnet explain TEXT|FILE|-`: exit 0 when a failure class was recognised
//! (or a whole build log shows a build that succeeded), 1 when not, 2 on a
//! usage error or an unreadable or binary file.

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
    after_help = "Exit status: 0 recognised (or a log of a build that succeeded), 1 not recognised, 2 usage error, unreadable or binary file.\n\
Examples:\n  aibnet explain 'Timeout waiting for WinRM.'\n  aibnet explain customization.log --nsg nsg-aib --storage-account stflowlogs\n  aibnet explain customization.log template.json    # the template gives the timeout and customizer names\n  \
az image builder show -g rg-img -n win-tpl | aibnet explain - --format json"
)]
pub struct Args {
    /// The error text; or a file (a whole customization.log or Packer log,
    /// `az image builder show` JSON, gzip welcome); or `-` for stdin.
    /// Several words are joined into one text; a log and the template's
    /// JSON are read together (its timeout, customizer names, run status).
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
/// bytes, how many were dropped from the front, and the read error that
/// ended it early (a gzip stream cut short), if any.
fn read_tail(mut r: impl Read, max: u64) -> (Vec<u8>, u64, Option<std::io::Error>) {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let mut buf = Vec::new();
    let mut dropped = 0u64;
    let mut chunk = vec![0u8; 1 << 16];
    let mut error = None;
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                error = Some(e);
                break;
            }
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
    (buf, dropped, error)
}

/// A reader that fails once more than `limit` bytes came through (a gzip
/// bomb stops there instead of running for hours).
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self
            .left
            .checked_sub(n as u64)
            .ok_or_else(|| std::io::Error::other("it expands beyond the decompression limit"))?;
        Ok(n)
    }
}

/// What one gzip input may expand to: the text kept is `--max-input`, but
/// the whole stream has to be read to reach its end.
const MAX_GUNZIP: u64 = 4 << 30;

/// [`read_tail`] of a file or stdin, gzip or not, saying on stderr what was
/// left out. A read error before anything was read is an error; after, the
/// text read so far is explained and the error is said.
fn read_tail_noted(r: impl Read, max: u64, name: &str) -> anyhow::Result<Vec<u8>> {
    let mut r = std::io::BufReader::new(r);
    let gzip = std::io::BufRead::fill_buf(&mut r)
        .with_context(|| format!("cannot read {name}"))?
        .starts_with(&[0x1f, 0x8b]);
    let (bytes, dropped, error) = if gzip {
        read_tail(
            Bounded {
                inner: flate2::read::MultiGzDecoder::new(r),
                left: MAX_GUNZIP,
            },
            max,
        )
    } else {
        read_tail(r, max)
    };
    match error {
        Some(e) if bytes.is_empty() && dropped == 0 => {
            bail!(
                "cannot read {name}{}: {e}",
                if gzip { " (gzip)" } else { "" }
            )
        }
        Some(e) => eprintln!(
            "aibnet: {name}: reading stopped{}: {e}; explaining the {} bytes read",
            if gzip {
                " (gzip stream broken or cut)"
            } else {
                ""
            },
            bytes.len()
        ),
        None => {}
    }
    if dropped > 0 {
        eprintln!(
            "aibnet: {name} is longer than {max} bytes: explaining its last {max} (the first {dropped} were skipped; --max-input changes this)"
        );
    }
    if looks_binary(&bytes) {
        bail!(
            "{name} is binary, not a log or an error text (a capture or flow log? use `aibnet diagnose`)"
        );
    }
    Ok(bytes)
}

/// Whether bytes are binary data rather than text: NUL bytes, or mostly
/// bytes that are neither UTF-8 text nor a line end. Non-UTF-8 text (a log
/// in Windows-1252) is still text.
fn looks_binary(bytes: &[u8]) -> bool {
    let head = bytes.get(..bytes.len().min(64 << 10)).unwrap_or(bytes);
    if head.contains(&0) {
        return true;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x1b | 0x0c))
        .count();
    control * 10 > head.len().max(1)
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

/// The inputs: each file on its own (a log and the template's JSON are read
/// together), the words joined into one text.
fn read_input(args: &[String], max: u64) -> anyhow::Result<Vec<Vec<u8>>> {
    if args.iter().any(|a| a == "-") {
        if args.len() > 1 {
            bail!("`-` (stdin) must be the only input");
        }
        return Ok(vec![read_tail_noted(
            std::io::stdin().lock(),
            max,
            "stdin",
        )?]);
    }
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if path.is_file() {
            let file = std::fs::File::open(path).with_context(|| format!("cannot read {arg}"))?;
            inputs.push(read_tail_noted(file, max, arg)?);
        } else if path.exists() {
            bail!("{arg} is not a regular file");
        } else if looks_like_path(arg) {
            bail!("{arg}: no such file (quote the error text if it is text)");
        } else {
            words.push(arg);
        }
    }
    if !words.is_empty() {
        inputs.push(words.join(" ").into_bytes());
    }
    Ok(inputs)
}

/// Run `aibnet explain`.
pub fn run(args: Args) -> anyhow::Result<Exit> {
    let raw = read_input(&args.input, args.max_input)?;
    if raw.iter().flatten().all(u8::is_ascii_whitespace) {
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
    let inputs: Vec<&[u8]> = raw.iter().map(Vec::as_slice).collect();
    let mut e = explain::explain_inputs(&inputs, &ctx);
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

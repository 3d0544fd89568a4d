//! Flags and helpers shared by the subcommands.

use aibnet::aib::Severity;
use aibnet::aib::{Os, TopologyKind};
use aibnet::analyze::Analysis;
use aibnet::findings::rules::FixNames;
use aibnet::report::OutputFormat;
use aibnet::report::escape::terminal;
use aibnet::topology::Hints;
use clap::ValueEnum;
use std::net::IpAddr;
use std::path::PathBuf;

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Aligned table (default on a terminal).
    Table,
    /// One JSON document (default when stdout is not a terminal).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Markdown, to paste into a ticket.
    Markdown,
    /// JUnit XML for CI test reporters (diagnose and builds).
    Junit,
    /// One self-contained HTML page: path diagram, timeline, findings
    /// (diagnose and builds).
    Html,
}

/// `--format` values of the commands that also write columnar data
/// (`sessions`, `builds`): those of [`FormatArg`], and Parquet and Arrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormatArg {
    /// Aligned table (default on a terminal).
    Table,
    /// One JSON document (default when stdout is not a terminal).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Markdown, to paste into a ticket.
    Markdown,
    /// JUnit XML for CI test reporters (builds).
    Junit,
    /// One self-contained HTML page (builds).
    Html,
    /// Apache Parquet, typed columns (binary: redirect or use -o).
    #[cfg(feature = "columnar")]
    Parquet,
    /// Arrow IPC stream, typed columns (binary: redirect or use -o).
    #[cfg(feature = "columnar")]
    Arrow,
}

/// What a command with [`DataFormatArg`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// A document in one of the report formats.
    Doc(OutputFormat),
    /// Record batches in a columnar encoding.
    #[cfg(feature = "columnar")]
    Columnar(aibnet::columnar::Encoding),
}

impl DataFormatArg {
    /// What to write, with the report formats' default when not given.
    pub fn choose(f: Option<DataFormatArg>) -> Written {
        let doc = |f: FormatArg| Written::Doc(FormatArg::or_default(Some(f)));
        match f {
            None => Written::Doc(FormatArg::or_default(None)),
            Some(DataFormatArg::Table) => doc(FormatArg::Table),
            Some(DataFormatArg::Json) => doc(FormatArg::Json),
            Some(DataFormatArg::Ndjson) => doc(FormatArg::Ndjson),
            Some(DataFormatArg::Markdown) => doc(FormatArg::Markdown),
            Some(DataFormatArg::Junit) => doc(FormatArg::Junit),
            Some(DataFormatArg::Html) => doc(FormatArg::Html),
            #[cfg(feature = "columnar")]
            Some(DataFormatArg::Parquet) => Written::Columnar(aibnet::columnar::Encoding::Parquet),
            #[cfg(feature = "columnar")]
            Some(DataFormatArg::Arrow) => {
                Written::Columnar(aibnet::columnar::Encoding::ArrowStream)
            }
        }
    }
}

/// `--os` values: the build VM's OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OsArg {
    /// SSH on 22, proxy port 60001.
    Linux,
    /// WinRM on 5986, proxy port 60000, KMS 1688.
    Windows,
}

impl From<OsArg> for Os {
    fn from(o: OsArg) -> Os {
        match o {
            OsArg::Linux => Os::Linux,
            OsArg::Windows => Os::Windows,
        }
    }
}

/// `--topology` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TopologyArg {
    Proxy,
    Isolated,
}

impl From<TopologyArg> for TopologyKind {
    fn from(t: TopologyArg) -> TopologyKind {
        match t {
            TopologyArg::Proxy => TopologyKind::Proxy,
            TopologyArg::Isolated => TopologyKind::Isolated,
        }
    }
}

/// `--fail-on` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    /// Whether findings this severe (and not merely `healthy`) fail the run.
    pub fn fails(self, worst: Option<Severity>, all_healthy: bool) -> bool {
        let threshold = match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
            FailOn::Never => return false,
        };
        worst.is_some_and(|w| w >= threshold && !(threshold == Severity::Info && all_healthy))
    }
}

/// The flags `diagnose` and `builds` share: what fails the run, what the
/// evidence cannot show about the build, and the names for the fixes.
#[derive(Debug, clap::Args)]
pub struct HintArgs {
    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,

    /// Source address of the load balancer health probe.
    #[arg(long = "probe-ip", value_name = "IP", default_value = "168.63.129.16")]
    pub probe_ip: IpAddr,

    /// The build VM's OS (default: from the ports seen).
    #[arg(long, value_enum)]
    pub os: Option<OsArg>,

    /// Proxy (Private Link + proxy VM) or isolated (ACI) topology.
    #[arg(long, value_enum)]
    pub topology: Option<TopologyArg>,

    /// Resource group to put into the `az` fix commands.
    #[arg(long = "resource-group", value_name = "RG")]
    pub resource_group: Option<String>,
}

impl HintArgs {
    /// The topology hints these flags give (no addresses).
    pub fn hints(&self) -> Hints {
        Hints {
            probe_ip: Some(self.probe_ip),
            os: self.os.map(Into::into),
            kind: self.topology.map(Into::into),
            ..Hints::default()
        }
    }

    /// The names to put into fix commands (the NSG's is `--nsg`'s).
    pub fn fix_names(&self, select: &SelectArgs) -> FixNames {
        let mut names = FixNames::default();
        if let Some(rg) = &self.resource_group {
            names.resource_group = rg.clone();
        }
        if let Some(n) = &select.nsg {
            names.nsg = n.clone();
        }
        names
    }
}

/// Which evidence to read, the flags every analysing command shares: the
/// time window and the NSG, NIC, VNET and subnet. For storage locations
/// they prune the listing (nothing outside them is downloaded); local trees
/// laid out the same way are selected the same way.
#[derive(Debug, clap::Args)]
pub struct SelectArgs {
    /// Only evidence from this time on (RFC 3339, e.g. 2024-08-19T00:00:00Z);
    /// flow-log folders (`y=/m=/d=/h=`) wholly before it are not listed.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<i64>,

    /// Only evidence up to this time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<i64>,

    /// Only the NSG flow logs of this NSG (a name or resource id; the
    /// `NETWORKSECURITYGROUPS/NAME` folder); also the NSG named in the `az`
    /// fix commands.
    #[arg(long, value_name = "NSG")]
    pub nsg: Option<String>,

    /// Only the flow logs of the NIC with this MAC (the `macAddress=`
    /// folder; repeatable, comma-separated).
    #[arg(long, value_name = "MAC", value_delimiter = ',')]
    pub mac: Vec<String>,

    /// Only the VNet flow logs whose target (`targetResourceID`) is this
    /// VNET or a subnet of it. NSG flow logs name no VNET: use --nsg.
    #[arg(long, value_name = "VNET")]
    pub vnet: Option<String>,

    /// Only the VNet flow logs whose target is this subnet (a name or
    /// resource id), or the VNET holding it, or a NIC.
    #[arg(long, value_name = "SUBNET")]
    pub subnet: Option<String>,
}

fn parse_time(s: &str) -> Result<i64, aibnet::time::TimeError> {
    aibnet::time::parse(s)
}

impl SelectArgs {
    /// The window, checked.
    pub fn window(&self) -> anyhow::Result<aibnet::ingest::blob::Window> {
        if let (Some(s), Some(u)) = (self.since, self.until)
            && s > u
        {
            anyhow::bail!("--since is after --until");
        }
        Ok(aibnet::ingest::blob::Window {
            since: self.since,
            until: self.until,
        })
    }

    /// The selection of flow logs.
    pub fn selection(&self) -> anyhow::Result<aibnet::ingest::Selection> {
        aibnet::ingest::Selection::new(
            self.nsg.as_deref(),
            &self.mac,
            self.vnet.as_deref(),
            self.subnet.as_deref(),
        )
        .map_err(anyhow::Error::msg)
    }
}

/// Inputs and execution flags every analysing command takes.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Captures (pcap/pcapng, gzip ok), flow-log blobs, or directories of them
    /// (walked recursively); `-` reads stdin. Formats are detected by content.
    /// Azure Blob Storage: `az://CONTAINER/PREFIX` (account in
    /// AZURE_STORAGE_ACCOUNT_NAME), `https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX[?SAS]`,
    /// or `http(s)://HOST[:PORT]/ACCOUNT/CONTAINER/PREFIX[?SAS]` (emulator).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Blobs downloaded at once from storage locations.
    #[arg(long, value_name = "N", default_value_t = aibnet::ingest::blob::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,

    /// Keep downloaded blobs in DIR (by path and ETag, readable by the user
    /// only): a second run over the same blobs downloads nothing.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,

    /// Give up on a storage request that has not completed after DURATION
    /// (e.g. 30s, 2m; default 60s), then retry it with backoff, as for
    /// throttling and server errors.
    #[arg(long = "storage-timeout", value_name = "DURATION", value_parser = parse_duration)]
    pub storage_timeout: Option<std::time::Duration>,

    /// Worker threads (default: one per core). Output is the same for any value.
    #[arg(short = 'j', long = "threads", value_name = "N")]
    pub threads: Option<usize>,

    /// Stop decompressing a gzip input, or reading stdin, after SIZE bytes
    /// (K, M, G suffixes; default 2G, or an eighth of the machine's memory
    /// when less). What was read is used; the cut is reported.
    #[arg(long = "max-gunzip", value_name = "SIZE", value_parser = parse_size)]
    pub max_gunzip: Option<u64>,

    /// Print per-input accounting on stderr: frames or flow tuples read,
    /// decoded, used, and not decoded by reason.
    #[arg(long)]
    pub stats: bool,

    /// List every skipped input: on a terminal, the files found by walking
    /// folders that are plainly not evidence (logs, text, notes, other JSON)
    /// are otherwise summed up in one line.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

impl InputArgs {
    /// The named paths when skipped files that are plainly not evidence
    /// are summed up on `stream_is_terminal` (not with `--verbose`).
    pub fn sum_up_not_evidence(&self, stream_is_terminal: bool) -> Option<&[PathBuf]> {
        (stream_is_terminal && !self.verbose).then_some(self.paths.as_slice())
    }
}

/// A byte count with an optional K, M or G (binary) suffix.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 10),
        Some((i, 'm' | 'M')) => (&t[..i], 20),
        Some((i, 'g' | 'G')) => (&t[..i], 30),
        _ => (t, 0),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (a number, optionally with K, M or G)"))?;
    match n.checked_mul(1 << shift) {
        Some(0) | None => Err(format!("{s:?} is not a usable size")),
        Some(v) => Ok(v),
    }
}

impl InputArgs {
    /// The paths, or a usage error when there are none.
    pub fn require_paths(&self) -> anyhow::Result<Vec<PathBuf>> {
        if self.paths.is_empty() {
            anyhow::bail!(
                "no PATH given: name captures, flow logs or directories (or - for stdin)"
            );
        }
        Ok(self.paths.clone())
    }

    /// How to read the inputs: these flags, and the capture-splitting
    /// scheme `AIBNET_INTRA_FILE` names (`sequential`, `buffered`; for
    /// measurements), everything kept.
    pub fn read_options(&self, select: &SelectArgs) -> anyhow::Result<aibnet::analyze::Options> {
        use aibnet::analyze::IntraFile;
        Ok(aibnet::analyze::Options {
            intra_file: match std::env::var("AIBNET_INTRA_FILE").as_deref() {
                Ok("buffered") => IntraFile::Buffered,
                Ok("sequential") => IntraFile::Sequential,
                _ => IntraFile::Scan,
            },
            limits: self
                .max_gunzip
                .map_or_else(Default::default, aibnet::ingest::Limits::max_gunzip),
            remote: aibnet::ingest::blob::RemoteOptions {
                concurrency: self.concurrency.max(1),
                cache: self.cache.clone(),
                env: aibnet::ingest::blob::azure_env(std::env::vars()),
                timeout: self
                    .storage_timeout
                    .filter(|t| !t.is_zero())
                    .unwrap_or(aibnet::ingest::blob::DEFAULT_TIMEOUT),
                ..Default::default()
            },
            window: select.window()?,
            select: select.selection()?,
            ..Default::default()
        })
    }

    /// Run `f` inside a rayon pool of the requested size.
    pub fn in_pool<T: Send>(&self, f: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
        match self.threads {
            Some(0) => anyhow::bail!("--threads must be at least 1"),
            Some(n) => {
                // The global pool, so that rendering the output after the
                // analysis keeps to N threads too.
                if rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build_global()
                    .is_ok()
                {
                    return Ok(f());
                }
                let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build()?;
                Ok(pool.install(f))
            }
            None => Ok(f()),
        }
    }
}

impl FormatArg {
    /// The format, or the default for the output stream when not given.
    pub fn or_default(f: Option<FormatArg>) -> OutputFormat {
        match f {
            Some(FormatArg::Table) => OutputFormat::Table,
            Some(FormatArg::Json) => OutputFormat::Json,
            Some(FormatArg::Ndjson) => OutputFormat::Ndjson,
            Some(FormatArg::Markdown) => OutputFormat::Markdown,
            Some(FormatArg::Junit) => OutputFormat::Junit,
            Some(FormatArg::Html) => OutputFormat::Html,
            None => super::output::default_format(),
        }
    }
}

/// The storage line on stderr (blobs listed, skipped by the window,
/// downloaded, bytes), when storage locations were read.
pub fn print_remote(opts: &aibnet::analyze::Options) {
    let stats = &opts.remote.stats;
    for line in [stats.summary(), stats.local_summary()]
        .into_iter()
        .flatten()
    {
        eprintln!("aibnet: {line}");
    }
}

/// The one-line summary on stderr, and every skipped input.
/// Skipped inputs are listed unless the report on stdout (table, Markdown)
/// already lists them.
/// `sum_up`: the named paths, when the files found by walking folders that
/// are plainly not evidence are summed up in one line.
pub fn print_summary(
    a: &Analysis,
    shown: Option<(usize, usize)>,
    report_lists_skipped: bool,
    sum_up: Option<&[PathBuf]>,
) {
    if !report_lists_skipped {
        let (listed, aside) = match sum_up {
            Some(named) => aibnet::ingest::Skipped::set_aside(&a.skipped, named),
            None => (a.skipped.iter().collect(), Vec::new()),
        };
        for s in listed {
            eprintln!("aibnet: skipped {}", terminal(&s.to_string()));
        }
        if !aside.is_empty() {
            eprintln!(
                "aibnet: skipped {}",
                aibnet::ingest::not_evidence::summary(aside.len())
            );
        }
    }
    // `shown`: how many sessions and how many shown (`sessions`); none:
    // the sessions are the AIB-relevant ones a scan kept (`diagnose`).
    let sessions = match shown {
        Some((total, n)) => format!("{total} sessions ({n} shown)"),
        None => format!("{} AIB-relevant sessions", a.sessions.len()),
    };
    eprintln!(
        "aibnet: {} input{}, {} packets/tuples, {sessions}, {} skipped",
        a.inputs.len(),
        if a.inputs.len() == 1 { "" } else { "s" },
        a.packets(),
        a.skipped.len()
    );
}

/// `--stats`: per-input accounting on stderr. For every input that could be
/// opened: what was read, decoded, used (turned into session updates), not
/// decoded by reason, and why reading stopped early; then the inputs that
/// could not be opened at all.
pub fn print_stats(a: &Analysis) {
    let mut rows: Vec<[String; 7]> = vec![[
        "input".into(),
        "format".into(),
        "read".into(),
        "decoded".into(),
        "used".into(),
        "not decoded".into(),
        "stopped early".into(),
    ]];
    let mut total = [0u64; 3];
    for i in &a.inputs {
        let not: Vec<String> = i
            .not_decoded
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let used = i.used;
        total[0] += i.packets;
        total[1] += i.decoded;
        total[2] += used;
        rows.push([
            terminal(&i.path).into_owned(),
            format!("{}{}", i.format.as_str(), if i.gzip { "+gz" } else { "" }),
            i.packets.to_string(),
            i.decoded.to_string(),
            used.to_string(),
            if not.is_empty() {
                "-".into()
            } else {
                not.join(", ")
            },
            i.error
                .as_deref()
                .map_or_else(|| "-".into(), |e| terminal(e).into_owned()),
        ]);
    }
    rows.push([
        format!("total ({} inputs)", a.inputs.len()),
        String::new(),
        total[0].to_string(),
        total[1].to_string(),
        total[2].to_string(),
        String::new(),
        String::new(),
    ]);
    let mut width = [0usize; 7];
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(width)
            .enumerate()
            .map(|(k, (c, w))| {
                if (2..5).contains(&k) {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        eprintln!("aibnet: stats: {}", line.join("  ").trim_end());
    }
    let opened: std::collections::HashSet<&str> =
        a.inputs.iter().map(|i| i.path.as_str()).collect();
    for s in a
        .skipped
        .iter()
        .filter(|s| !opened.contains(s.path.as_str()))
    {
        eprintln!(
            "aibnet: stats: not read: {}: {}",
            terminal(&s.path),
            terminal(&s.reason)
        );
    }
}

/// A duration flag (`--duration`, `--gap`, `--timeout`): one or more
/// `<number><unit>` parts, units `ms`, `s`, `m` (or `min`), `h`, `d`, e.g.
/// `90s`, `10m`, `1h30m`. A unit is required: a bare `30` read as seconds by
/// one command and minutes by another was a trap.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    use nom::Parser;
    use nom::branch::alt;
    use nom::bytes::complete::tag;
    use nom::character::complete::u64 as number;
    use nom::combinator::{all_consuming, value};
    use nom::multi::many1;

    let unit = alt((
        value(1u64, tag("ms")),
        value(60_000, tag("min")),
        value(1_000, tag("s")),
        value(60_000, tag("m")),
        value(3_600_000, tag("h")),
        value(86_400_000, tag("d")),
    ));
    let parsed: nom::IResult<&str, Vec<(u64, u64)>> =
        all_consuming(many1((number, unit))).parse(s.trim());
    let help = |why: &str| {
        format!("{why} {s:?}: expected e.g. 90s, 10m, 4h, 1h30m (units ms, s, m, h, d)")
    };
    match parsed {
        Ok((_, parts)) => parts
            .into_iter()
            .try_fold(0u64, |total, (n, ms)| n.checked_mul(ms)?.checked_add(total))
            .map(std::time::Duration::from_millis)
            .ok_or_else(|| help("duration too long")),
        Err(_) if !s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_digit()) => {
            Err(help("a duration needs a unit"))
        }
        Err(_) => Err(help("invalid duration")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        let m = Duration::from_secs(60);
        assert_eq!(parse_duration("10m"), Ok(10 * m));
        assert_eq!(parse_duration("1h30m"), Ok(90 * m));
        assert_eq!(parse_duration("90s"), Ok(m * 3 / 2));
        assert_eq!(parse_duration("2d"), Ok(2 * 24 * 60 * m));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2min"), Ok(2 * m));
        assert_eq!(parse_duration(" 4h "), Ok(240 * m));
        for bad in ["", "4x", "h", "5m3", "1.5h", "-3s", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        let e = parse_duration("30").unwrap_err();
        assert!(e.contains("needs a unit"), "{e}");
    }
}

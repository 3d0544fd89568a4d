//! The streaming pass: every input on a rayon worker, reduced to its
//! AIB-relevant sessions before the next one is read.
//!
//! What is kept, decided so that the result does not depend on the order
//! files are read in:
//!
//! * **anchors** — TCP to a proxy port (60000/60001) of a VNet address, from
//!   a VNet address or the health-probe address; TCP to a build port
//!   (22/5986) between two VNet addresses. Internet scanners knocking on
//!   22 of a VM with a public IP are not anchors: their source is public.
//! * **egress and DNS** (every TCP session and DNS query they open) of the
//!   hosts that can be build VMs. A capture keeps those of the hosts that
//!   receive an anchor on 22/5986 in it. Flow logs take two passes. The
//!   first builds no session at all: each blob's anchors are decoded and
//!   noted as facts (who receives the command port; who opens SSH/WinRM to
//!   whom in which hour) with the NIC ends it logs. From the facts, the
//!   AIB hosts are the proxies, the build VM candidates — servers of
//!   SSH/WinRM opened by a proxy or by a client opening it to at most
//!   [`MAX_FAN_OUT`] hosts in an hour — and those clients; not the jump
//!   boxes sweeping the subnet, whose sessions are most of a busy VNET's
//!   anchors. The second pass reads again only the blobs an AIB host's NIC
//!   logged (a handful: the build's VMs' hours, quiet ones included — NSG
//!   flow logs log an inbound flow allowed by a custom rule only once, so a
//!   build VM's later hours can hold no SSH at all) and keeps the anchors
//!   with an AIB host at one end and the build VM candidates' egress and
//!   DNS. Memory is the facts (a few entries a blob) plus the build's own
//!   sessions, whatever the noise. Standard input
//!   cannot be read twice: it keeps the egress of its own SSH/WinRM servers.
//!
//! Everything else — the bulk of any flow log: other VMs' egress, web
//! traffic, scans denied inbound — is dropped with the file's bytes. Flow
//! logs are reduced one step earlier: parsed, then only the relevant tuples
//! are stitched into sessions (the same test on tuples, whose source is the
//! flow's initiator), so unrelated flows never become sessions at all.

use super::capture_keep::CaptureKeep;
use super::{Options, analyze_input_keeping};
use crate::aib::{AZURE_HOST_IP, FlowClass, classify_flow};
use crate::capture::PacketIter;
use crate::flowlog::{self, Nic, nic_of_tuples};
use crate::ingest::{self, Format, Input, InputReport, Skipped, Source, blob_hour};
use crate::sessions::{SeenBy, Session, SessionTable};
use crate::topology::roles::{MAX_FAN_OUT, widest_hour};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// How the AIB-relevant scan reads: the reading options, the health
/// probe's address (its sessions are anchors), and the time window.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// How inputs are read (memory limits, capture splitting); its filter is
    /// not used: the scan keeps what AIB builds need.
    pub read: Options,
    /// The health probe's source address (168.63.129.16 unless told).
    pub probe: IpAddr,
    /// Only evidence at or after this time (ns since the epoch).
    pub since: Option<i64>,
    /// Only evidence at or before this time.
    pub until: Option<i64>,
    /// Keep a report (with its error) for inputs that cannot be loaded, as
    /// the full read does: `diagnose` lists every input; `builds` lists
    /// those that could be opened.
    pub report_failed: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            read: Options::default(),
            probe: AZURE_HOST_IP,
            since: None,
            until: None,
            report_failed: false,
        }
    }
}

impl ScanOptions {
    /// Whether a session overlaps the `--since`/`--until` window.
    pub fn in_window(&self, first_ts: i64, last_ts: i64) -> bool {
        self.since.is_none_or(|s| last_ts >= s) && self.until.is_none_or(|u| first_ts <= u)
    }
}

/// Progress of the scan, for a progress bar. Called from worker threads.
pub trait Progress: Sync {
    /// The scan starts: this many files, this many bytes on disk.
    fn begin(&self, _files: usize, _bytes: u64) {}
    /// One file is done (read, skipped or failed); `bytes` is its size on disk.
    fn file_done(&self, _bytes: u64) {}
    /// The scan is over.
    fn finish(&self) {}
}

/// No progress reporting.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// The result of the streaming pass.
#[derive(Debug, Default)]
pub struct Scan {
    /// Inputs that could be opened, in discovery order.
    pub inputs: Vec<InputReport>,
    /// What could not be read.
    pub skipped: Vec<Skipped>,
    /// AIB-relevant sessions of all inputs, coalesced across inputs and
    /// sorted; `seen_by` indexes [`Scan::inputs`].
    pub sessions: Vec<Session>,
    /// Files left out by their blob path's hour (outside the window).
    pub outside_window: usize,
    /// By input: the NIC a flow-log blob belongs to, when known.
    pub nics: Vec<Option<Nic>>,
    /// SSH/WinRM clients left out as sweepers of the subnet, with the most
    /// hosts they reached in an hour (a client that is also an AIB host in
    /// another hour is not one).
    pub sweepers: Vec<(IpAddr, usize)>,
    /// Hosts receiving the command port left out because they sweep
    /// SSH/WinRM too (see [`crate::analyze::Analysis::noise`]).
    pub noise: Vec<(IpAddr, usize)>,
}

/// What the first pass of flow logs learnt: the hosts an AIB build can
/// involve, for the second look. Serialisable, to be sent to the machines
/// of a scan spread over several.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct SecondLook {
    /// Hosts that can be build VMs: their egress and DNS are kept. Shared
    /// with every second-look parse (`flowlog::AibKeep`), not copied.
    build_vms: Arc<FxHashSet<IpAddr>>,
    /// Proxies, build VM candidates and the SSH/WinRM clients that do not
    /// sweep the subnet: anchors are kept only with an end among them.
    aib_hosts: Arc<FxHashSet<IpAddr>>,
    /// The clients that sweep it, with the most hosts they reach in an hour.
    sweepers: FxHashMap<IpAddr, usize>,
    /// The hosts receiving the command port that sweep it too.
    noise: FxHashMap<IpAddr, usize>,
}

/// Whose egress and DNS (and anchors) a file keeps.
#[derive(Debug, Clone, Copy)]
pub enum EgressOf<'a> {
    /// The hosts receiving SSH/WinRM in this file (a capture; stdin).
    InFile,
    /// The second look's hosts.
    Hosts(&'a SecondLook),
    /// Nobody: a flow log's first pass notes its anchors' facts only.
    Nobody,
}

impl<'a> EgressOf<'a> {
    /// The test on a flow's initiator, for a file whose flows (class,
    /// initiator, responder) are `flows`.
    fn test(self, flows: impl Iterator<Item = (Option<FlowClass>, IpAddr, IpAddr)>) -> Keeps<'a> {
        Keeps {
            in_file: match self {
                EgressOf::InFile => flows
                    .filter(|(c, _, _)| *c == Some(FlowClass::BuildAnchor))
                    .map(|(_, _, dst)| dst)
                    .collect(),
                _ => FxHashSet::default(),
            },
            look: match self {
                EgressOf::Hosts(h) => Some(h),
                _ => None,
            },
        }
    }
}

/// Whose egress a file keeps, decided ([`EgressOf::test`]).
struct Keeps<'a> {
    in_file: FxHashSet<IpAddr>,
    look: Option<&'a SecondLook>,
}

impl Keeps<'_> {
    fn keeps(&self, src: IpAddr) -> bool {
        self.in_file.contains(&src) || self.look.is_some_and(|h| h.build_vms.contains(&src))
    }

    fn anchor(&self, a: IpAddr, b: IpAddr) -> bool {
        self.look
            .is_none_or(|h| h.aib_hosts.contains(&a) || h.aib_hosts.contains(&b))
    }
}

/// Keep a file's AIB-relevant sessions (see the module docs) that overlap
/// the window: the anchors, and the egress and DNS of the hosts `egress`
/// names.
pub fn reduce(sessions: Vec<Session>, opts: &ScanOptions, egress: EgressOf<'_>) -> Vec<Session> {
    let probe = opts.probe;
    let keeps = egress.test(
        sessions
            .iter()
            .map(|s| (s.aib_class(probe), s.orig_h, s.resp_h)),
    );
    let mut kept = sessions
        .into_iter()
        .filter(|s| opts.in_window(s.first_ts, s.last_ts))
        .filter(|s| match s.aib_class(probe) {
            Some(FlowClass::ProxyAnchor | FlowClass::BuildAnchor) => {
                keeps.anchor(s.orig_h, s.resp_h)
            }
            Some(FlowClass::Egress) => keeps.keeps(s.orig_h),
            None => false,
        })
        .collect::<Vec<_>>();
    // Collecting from `into_iter` reuses the file's allocation: give the
    // rest back, or every file would keep its whole table's memory.
    kept.shrink_to_fit();
    kept
}

/// Slack around a blob's hour: its first record carries tuples from the
/// previous hour's last minute, and records are written up to a few minutes
/// late (`FORMATS.md` §1, §4).
const BLOB_SLACK_NS: i64 = 15 * 60 * 1_000_000_000;

/// Whether a blob path's hour lies wholly outside the window.
fn outside_window(path: &str, opts: &ScanOptions) -> bool {
    if opts.since.is_none() && opts.until.is_none() {
        return false;
    }
    let Some(h) = blob_hour(path) else {
        return false;
    };
    let lo = h - BLOB_SLACK_NS;
    let hi = h + 3600 * 1_000_000_000 + BLOB_SLACK_NS;
    !opts.in_window(lo, hi)
}

/// One input's share of a scan: what [`scan_input`] makes of it, and
/// what [`assemble`] puts together (in path order) into a [`Scan`].
#[derive(Debug, Clone)]
pub enum FileResult {
    /// Report, kept sessions, problems, the blob's NIC, and, on a flow
    /// log's first pass, the facts of its anchors (its sessions are left for
    /// the second look).
    Read(
        InputReport,
        Vec<Session>,
        Vec<Skipped>,
        Option<Nic>,
        Option<Facts>,
    ),
    /// The input could not be loaded.
    Failed(InputReport, Skipped),
    /// Its blob path's hour lies outside the window: not read.
    Outside,
}

/// Scan the user's paths (files, directories walked recursively, `-` for
/// stdin), in path order: what could not be found is reported first among
/// the skipped.
pub fn scan_paths(
    paths: &[std::path::PathBuf],
    opts: &ScanOptions,
    progress: &dyn Progress,
) -> Scan {
    // Storage locations list only the time folders of the window.
    let discovery = ingest::Discovery {
        window: ingest::blob::Window {
            since: opts.since,
            until: opts.until,
        },
        remote: opts.read.remote.clone(),
        limits: opts.read.limits,
        select: opts.read.select.clone(),
    };
    let (sources, unwalked) = find_inputs(paths, &discovery);
    let mut scan = scan_sources(&sources, opts, progress);
    scan.report_unwalked(unwalked);
    scan
}

/// The inputs under the user's paths in path order — numbered so, the
/// output does not depend on the order the paths were named in — and what
/// could not be found or walked, as skipped inputs.
pub fn find_inputs(
    paths: &[std::path::PathBuf],
    discovery: &ingest::Discovery,
) -> (Vec<Source>, Vec<Skipped>) {
    let (mut sources, errors) = ingest::discover_with(paths, discovery);
    sources.sort();
    let unwalked = errors
        .into_iter()
        .map(|e| Skipped {
            path: e.path,
            offset: None,
            reason: e.reason,
        })
        .collect();
    (sources, unwalked)
}

impl Scan {
    /// What could not be found or walked ([`find_inputs`]), reported
    /// first among the skipped.
    pub fn report_unwalked(&mut self, unwalked: impl IntoIterator<Item = Skipped>) {
        self.skipped.splice(0..0, unwalked);
    }

    /// The scan as an analysis (its AIB-relevant sessions only).
    pub fn into_analysis(self) -> super::Analysis {
        super::Analysis {
            inputs: self.inputs,
            sessions: self.sessions,
            skipped: self.skipped,
            sweepers: self.sweepers,
            noise: self.noise,
        }
    }
}

/// A flow log's anchors as the first pass notes them: no sessions, only
/// who receives the command port and who opens SSH/WinRM to whom in which
/// hour (a few hundred entries for a blob of tens of thousands of tuples).
/// Serialisable, for a scan spread over machines.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Facts {
    /// Responders of the command port.
    proxies: Vec<IpAddr>,
    /// (client, hour, server) of SSH/WinRM, unique.
    pairs: Vec<(IpAddr, i64, IpAddr)>,
}

const HOUR_NS: i64 = 3600 * 1_000_000_000;

impl Facts {
    fn of(file: &flowlog::FlowLogFile, opts: &ScanOptions) -> Facts {
        let mut f = Facts::default();
        for (_, t) in file.tuples() {
            let ts = t.ts_ms.saturating_mul(1_000_000);
            if !opts.in_window(ts, ts) {
                continue;
            }
            match classify_flow(t.proto.0, t.src, t.dst, t.dport, opts.probe) {
                Some(FlowClass::ProxyAnchor) => f.proxies.push(t.dst),
                Some(FlowClass::BuildAnchor) => {
                    f.pairs.push((t.src, ts.div_euclid(HOUR_NS), t.dst));
                }
                _ => {}
            }
        }
        f.proxies.sort_unstable();
        f.proxies.dedup();
        f.pairs.sort_unstable();
        f.pairs.dedup();
        // Kept until the last blob is read: without the room the repeats
        // took (a tuple each), the facts of a blob are a few entries.
        f.proxies.shrink_to_fit();
        f.pairs.shrink_to_fit();
        f
    }
}

/// The second look, from the first pass's facts: build VM candidates are
/// the servers of SSH/WinRM opened by a proxy (a host receiving the command
/// port anywhere in the evidence), or by a client that opens it to at most
/// [`MAX_FAN_OUT`] hosts in an hour (a jump box sweeping the subnet opens it
/// to dozens: neither its sessions nor its targets' egress are a build's).
/// A host receiving the command port that sweeps in some hour is no proxy
/// (noise on the AIB ports: the adversarial bench's thousands of such hosts
/// made thousands of "builds").
pub fn second_look<'a, I>(results: I) -> SecondLook
where
    I: IntoIterator<Item = &'a FileResult>,
    I::IntoIter: Clone,
{
    let results = results.into_iter();
    let facts = || {
        results.clone().filter_map(|r| match r {
            FileResult::Read(_, _, _, _, Some(f)) => Some(f),
            _ => None,
        })
    };
    let proxies: FxHashSet<IpAddr> = facts().flat_map(|f| f.proxies.iter().copied()).collect();
    let mut build_vms: FxHashSet<IpAddr> = FxHashSet::default();
    let mut aib_hosts: FxHashSet<IpAddr> = FxHashSet::default();
    let mut sweepers: FxHashMap<IpAddr, usize> = FxHashMap::default();
    let mut noise_hosts: FxHashMap<IpAddr, usize> = FxHashMap::default();
    let mut by_client_hour: Vec<(IpAddr, i64, IpAddr)> =
        facts().flat_map(|f| f.pairs.iter().copied()).collect();
    let widest = widest_hour(&mut by_client_hour);
    // A host receiving the command port that sweeps 22/5986 in some hour is
    // noise on the AIB ports (AIB's proxy opens it to its one build VM): it
    // is no AIB host and makes no build VM of the hosts it reaches.
    let noise =
        |ip: &IpAddr| proxies.contains(ip) && widest.get(ip).is_some_and(|&n| n > MAX_FAN_OUT);
    for group in by_client_hour.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let Some(&(client, _, _)) = group.first() else {
            continue;
        };
        if noise(&client) {
            noise_hosts.insert(client, widest.get(&client).copied().unwrap_or(0));
        } else if proxies.contains(&client) {
            build_vms.extend(group.iter().map(|g| g.2));
        } else if group.len() <= MAX_FAN_OUT {
            build_vms.extend(group.iter().map(|g| g.2));
            aib_hosts.insert(client);
        } else {
            let n = sweepers.entry(client).or_default();
            *n = (*n).max(group.len());
        }
    }
    aib_hosts.extend(proxies.iter().filter(|p| !noise(p)));
    aib_hosts.extend(build_vms.iter().copied());
    SecondLook {
        build_vms: Arc::new(build_vms),
        aib_hosts: Arc::new(aib_hosts),
        sweepers,
        noise: noise_hosts,
    }
}

/// Scan sources in parallel, each reduced on its own worker.
pub fn scan_sources(sources: &[Source], opts: &ScanOptions, progress: &dyn Progress) -> Scan {
    let sizes: Vec<u64> = sources.iter().map(Source::size).collect();
    progress.begin(sources.len(), sizes.iter().sum());
    let mut results: Vec<FileResult> = crate::phase::timed("scan: first pass", || {
        sources
            .par_iter()
            .zip(sizes.par_iter())
            .enumerate()
            .map(|(idx, (src, &size))| {
                let r = scan_one(src, idx as u32, opts, None);
                progress.file_done(size);
                r
            })
            .collect()
    });
    progress.finish();

    // Second look: the flow logs that an AIB host's NIC logged, read again
    // for its sessions and the build VMs' egress and DNS (see the module
    // docs). The others keep their report only.
    let look = second_look(&results);
    let again: Vec<usize> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| rereads(r, &look).then_some(i))
        .collect();
    let reread: Vec<(usize, FileResult)> = crate::phase::timed("scan: second pass", || {
        again
            .par_iter()
            .filter_map(|&i| {
                let src = sources.get(i)?;
                Some((i, scan_one(src, i as u32, opts, Some(&look))))
            })
            .collect()
    });
    for (i, r) in reread {
        if let Some(slot) = results.get_mut(i) {
            *slot = r;
        }
    }
    assemble(results, &look, opts)
}

/// Whether an input's first-pass result must be read again for the second
/// look: a flow log that an AIB host's NIC logged.
pub fn rereads(r: &FileResult, look: &SecondLook) -> bool {
    match r {
        FileResult::Read(report, _, _, _, Some(_)) => report
            .logged_hosts
            .iter()
            .any(|h| look.aib_hosts.contains(h)),
        _ => false,
    }
}

/// The scan of every input's final result, given in path order (the
/// second look's where there was one): inputs numbered as kept, the
/// sessions of all inputs coalesced and sorted, flows open across hourly
/// blobs joined. Where the inputs were read (one machine or many) does not
/// matter: this is the one place they come together.
pub fn assemble(results: Vec<FileResult>, look: &SecondLook, opts: &ScanOptions) -> Scan {
    let mut scan = Scan {
        sweepers: look
            .sweepers
            .iter()
            .filter(|(ip, _)| !look.aib_hosts.contains(ip))
            .map(|(ip, n)| (*ip, *n))
            .collect(),
        ..Scan::default()
    };
    scan.sweepers.sort_unstable();
    scan.noise = look
        .noise
        .iter()
        .filter(|(ip, _)| !look.aib_hosts.contains(ip))
        .map(|(ip, n)| (*ip, *n))
        .collect();
    scan.noise.sort_unstable();
    let mut table = SessionTable::new();
    for r in results {
        match r {
            FileResult::Read(report, sessions, skipped, nic, _) => {
                // Number inputs as they are kept, so `seen_by` indexes
                // `inputs` even when other sources failed to load.
                let k = scan.inputs.len() as u32;
                scan.inputs.push(report);
                scan.nics.push(nic);
                scan.skipped.extend(skipped);
                for mut s in sessions {
                    s.seen_by = SeenBy::one(k);
                    table.push(s);
                }
            }
            FileResult::Failed(report, s) => {
                if opts.report_failed {
                    scan.inputs.push(report);
                    scan.nics.push(None);
                }
                scan.skipped.push(s);
            }
            FileResult::Outside => scan.outside_window += 1,
        }
    }
    scan.sessions = flowlog::finish_run(table, &scan.inputs).into_vec();
    scan
}

/// A flow log: parsed, then only its AIB-relevant tuples (the test of
/// [`reduce`], on tuples: a tuple's source is the flow's initiator) are
/// stitched into sessions. `None` when it does not parse (the caller reads it
/// the usual way, which reports why).
fn scan_flowlog(
    input: &Input,
    idx: u32,
    opts: &ScanOptions,
    egress: EgressOf<'_>,
) -> Option<FileResult> {
    let probe = opts.probe;
    // Anchors and named hosts' egress are decided as each tuple is decoded:
    // the rest is never stored. Standard input keeps the egress of its own
    // SSH/WinRM servers, which needs the whole file first.
    let aib = match egress {
        EgressOf::InFile => None,
        EgressOf::Hosts(h) => Some(flowlog::AibKeep {
            probe,
            egress_of: Arc::clone(&h.build_vms),
            anchors_of: Some(Arc::clone(&h.aib_hosts)),
        }),
        EgressOf::Nobody => Some(flowlog::AibKeep {
            probe,
            egress_of: std::sync::Arc::default(),
            anchors_of: None,
        }),
    };
    let parse_opts = flowlog::ParseOptions {
        aib,
        ..flowlog::ParseOptions::default()
    };
    let mut file = flowlog::parse_with(input.path.as_str(), &input.bytes, &parse_opts).ok()?;
    let (mut report, mut skipped) = input.start_report();
    flowlog::stitch::fill_report(&file, &mut report, &mut skipped);
    let nic = nic_of_tuples(&file);
    if matches!(egress, EgressOf::Nobody) {
        // The first pass: facts, no sessions.
        let facts = Facts::of(&file, opts);
        return Some(FileResult::Read(
            report,
            Vec::new(),
            skipped,
            nic,
            Some(facts),
        ));
    }
    if matches!(egress, EgressOf::InFile) {
        let class = |t: &flowlog::FlowTuple| classify_flow(t.proto.0, t.src, t.dst, t.dport, probe);
        let keeps = egress.test(file.tuples().map(|(_, t)| (class(t), t.src, t.dst)));
        for b in &mut file.batches {
            b.tuples.retain(|t| match class(t) {
                Some(FlowClass::ProxyAnchor | FlowClass::BuildAnchor) => true,
                Some(FlowClass::Egress) => keeps.keeps(t.src),
                None => false,
            });
        }
    }
    let sessions = flowlog::sessions(&file, idx).into_sessions();
    Some(FileResult::Read(
        report,
        reduce(sessions, opts, egress),
        skipped,
        nic,
        None,
    ))
}

/// Read one source: a flow log's anchors only on the first pass (`hosts`
/// none; stdin, which cannot be read twice, keeps its own hosts' egress),
/// with the egress of `hosts` on the second; a capture with the egress of
/// the hosts receiving SSH/WinRM in it.
fn scan_one(src: &Source, idx: u32, opts: &ScanOptions, hosts: Option<&SecondLook>) -> FileResult {
    if outside_window(&src.display(), opts) {
        return FileResult::Outside;
    }
    match ingest::load(src, &opts.read.limits) {
        Ok(input) => scan_input(input, idx, opts, hosts, src.rereadable()),
        Err(e) => failed(e),
    }
}

/// An input that could not be loaded, as a scan result.
pub fn failed(e: ingest::LoadError) -> FileResult {
    let mut report = InputReport::new(e.path.clone(), Format::Unknown, false);
    report.error = Some(e.reason.clone());
    FileResult::Failed(
        report,
        Skipped {
            path: e.path,
            offset: None,
            reason: e.reason,
        },
    )
}

/// Whether an input's blob path lies wholly outside the window (it is then
/// not read: [`FileResult::Outside`]).
pub fn skips(path: &str, opts: &ScanOptions) -> bool {
    outside_window(path, opts)
}

/// Scan one loaded input as input `idx`: a flow log's anchors only on the
/// first pass (`hosts` none), with the egress of `hosts` on the second; an
/// input that cannot be read again (`rereadable` false: stdin) and a
/// capture keep the egress of their own SSH/WinRM servers at once.
pub fn scan_input(
    input: Input,
    idx: u32,
    opts: &ScanOptions,
    hosts: Option<&SecondLook>,
    rereadable: bool,
) -> FileResult {
    let egress = match hosts {
        Some(h) => EgressOf::Hosts(h),
        None if !rereadable => EgressOf::InFile,
        None => EgressOf::Nobody,
    };
    if input.format == Format::FlowLog
        && let Some(r) = scan_flowlog(&input, idx, opts, egress)
    {
        return r;
    }
    // A capture's flows are tested before they become sessions (a first
    // walk finds its SSH/WinRM servers): the others are only counted.
    let keep = matches!(input.format, Format::Pcap | Format::Pcapng)
        .then(|| PacketIter::new(&input.bytes, input.format).ok())
        .flatten()
        .map(|iter| CaptureKeep::of(iter, opts.probe));
    let test = |t: &crate::decode::FiveTuple| keep.as_ref().is_none_or(|k| k.keeps(t));
    let (report, table, skipped) = analyze_input_keeping(
        &input,
        idx,
        &opts.read,
        keep.is_some().then_some(&test as _),
    );
    drop(input);
    // Reduced before it is settled and sorted: only what is kept is
    // worth finishing (in the scan's table, with the other inputs').
    let all = table.into_sessions();
    FileResult::Read(
        report,
        reduce(all, opts, EgressOf::InFile),
        skipped,
        None,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::aib::is_vnet_addr;
    use crate::ingest::blob_mac;

    #[test]
    fn blob_hours_come_from_the_storage_layout() {
        let p = "x/resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG/y=2024/m=08/d=19/h=18/m=00/macAddress=6045BDEC2532/PT1H.json";
        assert_eq!(
            blob_hour(p),
            crate::time::parse("2024-08-19T18:00:00Z").ok()
        );
        assert_eq!(blob_hour("captures/healthy/proxy.pcap"), None);
        assert_eq!(blob_hour("y=2024/m=13/d=01/h=00/PT1H.json"), None);
    }

    #[test]
    fn window_skips_only_whole_hours_outside() {
        let p = "a/y=2024/m=08/d=19/h=18/m=00/macAddress=X/PT1H.json";
        let at = |s: &str| crate::time::parse(s).ok();
        let mut o = ScanOptions::default();
        assert!(!outside_window(p, &o));
        o.since = at("2024-08-19T19:10:00Z");
        assert!(
            !outside_window(p, &o),
            "late records reach into the next hour"
        );
        o.since = at("2024-08-19T19:30:00Z");
        assert!(outside_window(p, &o));
        o.since = None;
        o.until = at("2024-08-19T17:50:00Z");
        assert!(
            !outside_window(p, &o),
            "the first record reaches back a minute"
        );
        o.until = at("2024-08-19T17:00:00Z");
        assert!(outside_window(p, &o));
    }

    #[test]
    fn blob_macs() {
        assert_eq!(
            blob_mac("a/h=18/m=00/macAddress=000d3a6ea404/PT1H.json").as_deref(),
            Some("000D3A6EA404")
        );
        assert_eq!(
            blob_mac("a/macAddress=00-0D-3A-6E-A4-04/PT1H.json").as_deref(),
            Some("000D3A6EA404")
        );
        assert_eq!(blob_mac("a/macAddress=000D3A/PT1H.json"), None);
        assert_eq!(blob_mac("captures/proxy.pcap"), None);
    }

    #[test]
    fn a_blob_belongs_to_the_address_at_its_nics_end() {
        // The build VM's blob in an hour where only the proxy talks to it:
        // both addresses are in every tuple; the direction tells.
        let blob = |dir: &str| {
            format!(
                r#"{{"records":[{{"time":"2024-08-01T00:01:05.0Z","macAddress":"000D3A0000BB","category":"NetworkSecurityGroupFlowEvent","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG","operationName":"NetworkSecurityGroupFlowEvents","properties":{{"Version":2,"flows":[{{"rule":"DefaultRule_AllowVnetInBound","flows":[{{"mac":"000D3A0000BB","flowTuples":["1722470401,10.1.0.4,10.1.0.6,40000,22,T,{dir},A,B,,,,","1722470402,10.1.0.4,10.1.0.6,40001,22,T,{dir},A,B,,,,"]}}]}}]}}}}]}}"#
            )
        };
        let nic = |dir: &str| {
            let f = flowlog::parse("x/PT1H.json", blob(dir).as_bytes()).unwrap();
            nic_of_tuples(&f)
        };
        let n = nic("I").unwrap();
        assert_eq!(
            (n.addr.to_string().as_str(), n.mac.as_str()),
            ("10.1.0.6", "000D3A0000BB")
        );
        assert_eq!(nic("O").unwrap().addr.to_string(), "10.1.0.4");
    }

    #[test]
    fn vnet_addresses() {
        for a in [
            "10.1.0.4",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
        ] {
            assert!(is_vnet_addr(a.parse().unwrap()), "{a}");
        }
        for a in ["168.63.129.16", "52.1.2.3", "100.128.0.1", "2001:db8::1"] {
            assert!(!is_vnet_addr(a.parse().unwrap()), "{a}");
        }
    }
}

/// A capture read with its flow test ([`CaptureKeep`]) keeps exactly the
/// sessions that reading everything and then reducing keeps, with each
/// scheme of splitting a capture, on every capture of the repository (the
/// lab's scenarios, the reference traces with their ICMP errors, VLANs and
/// IPv6).
#[cfg(test)]
mod capture_keep_tests {
    use super::*;
    use crate::analyze::{IntraFile, analyze_input};
    use std::path::PathBuf;

    fn finished(v: Vec<Session>) -> Vec<String> {
        SessionTable::from_sessions(v)
            .finish()
            .iter()
            .map(|s| format!("{s:?}"))
            .collect()
    }

    #[test]
    fn a_capture_read_with_its_flow_test_keeps_what_reduce_keeps() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let (sources, _) =
            ingest::discover(&[root.join("captures"), root.join("tests/data/traces")]);
        let mut captures = 0;
        let mut kept = 0;
        for scheme in [IntraFile::Scan, IntraFile::Buffered, IntraFile::Sequential] {
            let mut opts = ScanOptions::default();
            opts.read.intra_file = scheme;
            opts.read.split_small = true;
            for src in &sources {
                let Ok(input) = ingest::load(src, &opts.read.limits) else {
                    continue;
                };
                if !matches!(input.format, Format::Pcap | Format::Pcapng) {
                    continue;
                }
                captures += 1;
                let (_, table, _) = analyze_input(&input, 0, &opts.read);
                let want = finished(reduce(table.into_sessions(), &opts, EgressOf::InFile));
                let FileResult::Read(_, got, ..) = scan_one(src, 0, &opts, None) else {
                    panic!("{} not read", src.display());
                };
                assert_eq!(finished(got), want, "{} ({scheme:?})", src.display());
                kept += want.len();
            }
        }
        assert!(captures > 60, "only {captures} captures");
        assert!(kept > 300, "only {kept} sessions kept");
    }
}

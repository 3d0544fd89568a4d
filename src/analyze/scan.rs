//! The streaming pass: every input on a rayon worker, reduced to its
//! AIB-relevant sessions before the next one is read.
//!
//! What a file keeps ([`reduce`]), decided from that file alone so the result
//! does not depend on the order files are read in:
//!
//! * **anchors** — TCP to a proxy port (60000/60001) of a VNet address, from
//!   a VNet address or the health-probe address; TCP to a build port
//!   (22/5986) between two VNet addresses. Internet scanners knocking on
//!   22 of a VM with a public IP are not anchors: their source is public.
//! * **egress and DNS** of the hosts that receive an anchor on 22/5986 in the
//!   same file: every TCP session they open and their DNS queries. In flow
//!   logs, a NIC's blob for an hour carries both its inbound SSH/WinRM and
//!   its outbound flows; in a capture on the build VM, likewise.
//!
//! One case needs a second look: a build VM's later hours can hold no
//! SSH/WinRM tuple at all (NSG flow logs log an inbound flow allowed by a
//! custom rule statelessly — a `B` and nothing after — so a long SSH session
//! shows only in the hour it began). A NIC is a build VM's for its whole
//! life (every run gets new NICs), so once the scan is over, the blobs of
//! NICs that received SSH/WinRM in some hour but not in theirs are read
//! again, keeping the NIC's own egress and DNS. They are few: the build VMs'
//! quiet hours.
//!
//! Everything else — the bulk of any flow log: other VMs' egress, web
//! traffic, scans denied inbound — is dropped with the file's bytes. Flow
//! logs are reduced one step earlier: parsed, then only the relevant tuples
//! are stitched into sessions (the same test on tuples, whose source is the
//! flow's initiator), so unrelated flows never become sessions at all.

use super::{Options, analyze_input};
use crate::aib::{AZURE_HOST_IP, FlowClass, classify_flow};
use crate::flowlog::{self, Nic, nic_of_tuples};
use crate::ingest::{self, Format, Input, InputReport, Skipped, Source, blob_hour};
use crate::sessions::{SeenBy, Session, SessionTable};
use rayon::prelude::*;
use rustc_hash::FxHashSet;
use std::net::IpAddr;

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
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            read: Options::default(),
            probe: AZURE_HOST_IP,
            since: None,
            until: None,
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
}

/// Keep a file's AIB-relevant sessions (see the module docs) that overlap
/// the window. `build_vm` is an address known to be a build VM from other
/// files (its egress is kept too).
pub fn reduce(
    sessions: Vec<Session>,
    opts: &ScanOptions,
    build_vm: Option<IpAddr>,
) -> Vec<Session> {
    let probe = opts.probe;
    let build_like: FxHashSet<IpAddr> = sessions
        .iter()
        .filter(|s| s.aib_class(probe) == Some(FlowClass::BuildAnchor))
        .map(|s| s.resp_h)
        .chain(build_vm)
        .collect();
    let mut kept = sessions
        .into_iter()
        .filter(|s| opts.in_window(s.first_ts, s.last_ts))
        .filter(|s| match s.aib_class(probe) {
            Some(FlowClass::ProxyAnchor | FlowClass::BuildAnchor) => true,
            Some(FlowClass::Egress) => build_like.contains(&s.orig_h),
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

enum FileResult {
    /// Report, kept sessions, problems, the blob's NIC, and whether the NIC
    /// received SSH/WinRM in this file.
    Read(InputReport, Vec<Session>, Vec<Skipped>, Option<Nic>, bool),
    Failed(Skipped),
    Outside,
}

/// Scan sources in parallel, each reduced on its own worker.
pub fn scan_sources(sources: &[Source], opts: &ScanOptions, progress: &dyn Progress) -> Scan {
    let sizes: Vec<u64> = sources
        .iter()
        .map(|s| match s {
            Source::File(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            Source::Stdin => 0,
        })
        .collect();
    progress.begin(sources.len(), sizes.iter().sum());
    let mut results: Vec<FileResult> = sources
        .par_iter()
        .zip(sizes.par_iter())
        .enumerate()
        .map(|(idx, (src, &size))| {
            let r = scan_one(src, idx as u32, opts, None);
            progress.file_done(size);
            r
        })
        .collect();
    progress.finish();

    // The quiet hours of build VMs' NICs, read again (see the module docs).
    let build_macs: FxHashSet<&str> = results
        .iter()
        .filter_map(|r| match r {
            FileResult::Read(_, _, _, Some(n), true) => Some(n.mac.as_str()),
            _ => None,
        })
        .collect();
    let again: Vec<(usize, IpAddr)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            FileResult::Read(_, _, _, Some(n), false) if build_macs.contains(n.mac.as_str()) => {
                Some((i, n.addr))
            }
            _ => None,
        })
        .collect();
    let reread: Vec<(usize, FileResult)> = again
        .par_iter()
        .filter_map(|&(i, addr)| {
            let src = sources.get(i)?;
            Some((i, scan_one(src, i as u32, opts, Some(addr))))
        })
        .collect();
    for (i, r) in reread {
        if let Some(slot) = results.get_mut(i) {
            *slot = r;
        }
    }

    let mut scan = Scan::default();
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
            FileResult::Failed(s) => scan.skipped.push(s),
            FileResult::Outside => scan.outside_window += 1,
        }
    }
    scan.sessions = table.finish();
    flowlog::join_continuations(&mut scan.sessions, &scan.inputs);
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
    build_vm: Option<IpAddr>,
) -> Option<FileResult> {
    let mut file = flowlog::parse(input.path.as_str(), &input.bytes).ok()?;
    let (mut report, mut skipped) = input.start_report();
    flowlog::stitch::fill_report(&file, &mut report, &mut skipped);
    let nic = nic_of_tuples(&file);
    let probe = opts.probe;
    let class = |t: &flowlog::FlowTuple| classify_flow(t.proto.0, t.src, t.dst, t.dport, probe);
    let build_like: FxHashSet<IpAddr> = file
        .tuples()
        .filter(|(_, t)| class(t) == Some(FlowClass::BuildAnchor))
        .map(|(_, t)| t.dst)
        .chain(build_vm)
        .collect();
    let served = nic.as_ref().is_some_and(|n| build_like.contains(&n.addr));
    for b in &mut file.batches {
        b.tuples.retain(|t| match class(t) {
            Some(FlowClass::ProxyAnchor | FlowClass::BuildAnchor) => true,
            Some(FlowClass::Egress) => build_like.contains(&t.src),
            None => false,
        });
    }
    let sessions = flowlog::sessions(&file, idx).into_sessions();
    Some(FileResult::Read(
        report,
        reduce(sessions, opts, build_vm),
        skipped,
        nic,
        served,
    ))
}

fn scan_one(src: &Source, idx: u32, opts: &ScanOptions, build_vm: Option<IpAddr>) -> FileResult {
    if outside_window(&src.display(), opts) {
        return FileResult::Outside;
    }
    match ingest::load(src, &opts.read.limits) {
        Ok(input) => {
            if input.format == Format::FlowLog
                && let Some(r) = scan_flowlog(&input, idx, opts, build_vm)
            {
                return r;
            }
            let (report, table, skipped) = analyze_input(&input, idx, &opts.read);
            drop(input);
            // Reduced before it is settled and sorted: only what is kept is
            // worth finishing (in the scan's table, with the other inputs').
            let all = table.into_sessions();
            FileResult::Read(report, reduce(all, opts, build_vm), skipped, None, false)
        }
        Err(e) => FileResult::Failed(Skipped {
            path: e.path,
            offset: None,
            reason: e.reason,
        }),
    }
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

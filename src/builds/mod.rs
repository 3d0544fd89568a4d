//! Builds: find every AIB run in days of flow logs and captures, and diagnose
//! each run as `diagnose` would.
//!
//! A month of flow logs for a subscription holds hundreds of Image Builder
//! runs, each with its own short-lived proxy VM and build VM, at addresses
//! the next run reuses. Three stages turn that into one answer per run:
//!
//! 1. **Scan** ([`crate::analyze::scan`]): every input on a rayon worker — load, sessions,
//!    then *reduce* the file's sessions to the ones an AIB diagnosis can use
//!    (command, probe and SSH/WinRM sessions between VNet addresses, plus
//!    DNS and TCP egress of the hosts that receive SSH/WinRM in that same
//!    file). The file's bytes and full session table are dropped before the
//!    worker takes the next file, so memory is bounded by the largest files
//!    in flight plus what survives the reduction — a small fraction of the
//!    input, since unrelated traffic is most of any flow log.
//! 2. **Discover** ([`crate::topology::runs`]): split the surviving sessions into runs:
//!    per address, episodes of activity in a role (proxy, build VM, client
//!    of a build VM) cut by a quiet gap, the build timeout and a change of
//!    NIC (MAC), joined when a session links two of them (proxy → build VM,
//!    ACI → build VM).
//! 3. **Diagnose**: each run's sessions become a small
//!    [`Analysis`](crate::analyze::Analysis) of their own, handed to
//!    [`diagnose`](crate::diagnose::diagnose): the same roles, hops, findings
//!    and verdict as `aibnet diagnose` on that run alone.

use crate::aib::Severity;
use crate::aib::Verdict;
use crate::diagnose::{Diagnosis, diagnose};
use crate::ingest::Format;
use crate::ingest::{InputReport, Skipped};
use crate::sessions::Session;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

pub use crate::analyze::scan::{NoProgress, Progress, Scan};
pub use crate::topology::runs::RunSessions;

pub use crate::topology::runs::{DEFAULT_GAP_NS, DEFAULT_TIMEOUT_NS};

/// How to find and diagnose runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Quiet time after which an address seen again starts a new run.
    pub gap_ns: i64,
    /// The longest a run lasts (the build timeout); activity beyond it on the
    /// same addresses starts a new run.
    pub timeout_ns: i64,
    /// Only evidence at or after this time (ns since the epoch).
    pub since: Option<i64>,
    /// Only evidence at or before this time.
    pub until: Option<i64>,
    /// How each run is diagnosed: probe address, OS and topology as for
    /// `diagnose` (addresses of the proxy and build VM are per run and
    /// found, never given), names for fixes, and the configuration to join
    /// (read from [`Options::config`] by [`builds_paths`]).
    pub diagnosis: crate::diagnose::Options,
    /// Configuration files (template, NSGs, subnet ...) joined to every
    /// run's diagnosis (`--config`). JSON among the evidence is not taken as
    /// configuration: a tree of months of evidence may hold several.
    pub config: Vec<PathBuf>,
    /// How inputs are read (memory limits, capture splitting); its filter
    /// is not used: `builds` keeps what AIB runs need.
    pub read: crate::analyze::Options,
    /// Keep each run's sessions in [`Run::session_detail`] (for the HTML
    /// report's timelines and session tables); off, a run keeps its
    /// diagnosis and counts only, which is what a month of runs can afford.
    pub keep_sessions: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            gap_ns: DEFAULT_GAP_NS,
            timeout_ns: DEFAULT_TIMEOUT_NS,
            since: None,
            until: None,
            diagnosis: crate::diagnose::Options::default(),
            config: Vec::new(),
            read: crate::analyze::Options::default(),
            keep_sessions: false,
        }
    }
}

impl Options {
    /// How the scan reads for these options.
    pub fn scan_options(&self) -> crate::analyze::scan::ScanOptions {
        crate::analyze::scan::ScanOptions {
            read: self.read.clone(),
            probe: self.probe(),
            since: self.since,
            until: self.until,
            report_failed: false,
        }
    }

    /// How runs are told apart for these options.
    pub fn run_options(&self) -> crate::topology::runs::RunOptions {
        crate::topology::runs::RunOptions {
            gap_ns: self.gap_ns,
            timeout_ns: self.timeout_ns,
            probe: self.probe(),
        }
    }

    fn probe(&self) -> IpAddr {
        self.diagnosis
            .hints
            .probe_ip
            .unwrap_or(crate::aib::AZURE_HOST_IP)
    }
}

/// One AIB run and its diagnosis.
#[derive(Debug, Clone)]
pub struct Run {
    /// Stable name: start time and the run's main address
    /// (`aib-20240819-180006-10-1-0-6`); the JUnit classname.
    pub id: String,
    /// First session of the run (ns since the epoch).
    pub start: i64,
    /// Last packet or tuple of the run.
    pub end: i64,
    /// The diagnosis of the run's sessions alone.
    pub diagnosis: Diagnosis,
    /// Inputs with traffic of this run.
    pub inputs: Vec<String>,
    /// Sessions of the run.
    pub sessions: usize,
    /// NSG / flow-log target ids that logged the run's flows.
    pub nsgs: Vec<String>,
    /// NIC MACs of the run's VMs, from flow logs.
    pub macs: Vec<String>,
    /// The run's sessions, which its diagnosis' hop session indices point
    /// into (`seen_by` numbering [`Run::inputs`]), when
    /// [`Options::keep_sessions`] asked for them; empty otherwise.
    pub session_detail: Vec<Session>,
}

impl Run {
    /// The proxy (first, if several).
    pub fn proxy(&self) -> Option<IpAddr> {
        self.diagnosis.topology.roles.proxy.first().copied()
    }

    /// The build VM (first, if several).
    pub fn build_vm(&self) -> Option<IpAddr> {
        self.diagnosis.topology.roles.build_vm.first().copied()
    }

    /// Ids of the findings at warning or above, most severe first.
    pub fn failing_ids(&self) -> impl Iterator<Item = &str> {
        self.diagnosis
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .map(|f| f.id.as_str())
    }
}

/// Everything `aibnet builds` found.
#[derive(Debug, Default)]
pub struct Builds {
    /// Runs, by start time.
    pub runs: Vec<Run>,
    /// Every input that could be opened, in discovery order.
    pub inputs: Vec<InputReport>,
    /// What could not be read (whole files or their tails), with the reason.
    pub skipped: Vec<Skipped>,
    /// Files left out because their blob path (`y=/m=/d=/h=`) lies outside
    /// the `--since`/`--until` window.
    pub outside_window: usize,
    /// Sessions kept as AIB-relevant.
    pub sessions_kept: usize,
    /// Groups of SSH/WinRM activity that looked like a run but whose
    /// diagnosis found no AIB role (no command port, and the clients' own
    /// NICs show none: admins' sessions): not reported as runs.
    pub not_builds: usize,
    /// The window asked for.
    pub since: Option<i64>,
    /// The window asked for.
    pub until: Option<i64>,
}

/// Counts over the runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Runs found.
    pub runs: usize,
    /// Runs by verdict (`healthy`, `broken`, `inconclusive`).
    pub by_verdict: BTreeMap<&'static str, usize>,
    /// Runs with each failing finding (warning or above).
    pub by_finding: BTreeMap<String, usize>,
    /// Earliest evidence read (ns), within the window.
    pub first_ts: Option<i64>,
    /// Latest evidence read (ns), within the window.
    pub last_ts: Option<i64>,
}

impl Builds {
    /// Counts by verdict and finding, and the time range covered.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            runs: self.runs.len(),
            ..Summary::default()
        };
        for v in [Verdict::Healthy, Verdict::Broken, Verdict::Inconclusive] {
            s.by_verdict.insert(v.as_str(), 0);
        }
        for r in &self.runs {
            *s.by_verdict
                .entry(r.diagnosis.verdict.as_str())
                .or_default() += 1;
            let mut ids: Vec<&str> = r.failing_ids().collect();
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                *s.by_finding.entry(id.to_string()).or_default() += 1;
            }
        }
        let clamp_lo = |t: i64| self.since.map_or(t, |s| t.max(s));
        let clamp_hi = |t: i64| self.until.map_or(t, |u| t.min(u));
        s.first_ts = self
            .inputs
            .iter()
            .filter_map(|i| i.first_ts)
            .min()
            .map(clamp_lo);
        s.last_ts = self
            .inputs
            .iter()
            .filter_map(|i| i.last_ts)
            .max()
            .map(clamp_hi);
        s
    }

    /// Whether anything could be read (for exit code 2).
    pub fn anything_read(&self) -> bool {
        self.outside_window > 0
            || self
                .inputs
                .iter()
                .any(|i| i.packets > 0 || (i.error.is_none() && i.format != Format::Unknown))
    }

    /// Frames and flow tuples read over all inputs.
    pub fn packets(&self) -> u64 {
        self.inputs.iter().map(|i| i.packets).sum()
    }

    /// The most severe finding over all runs.
    pub fn worst(&self) -> Option<Severity> {
        self.runs.iter().filter_map(|r| r.diagnosis.worst()).max()
    }
}

/// Find and diagnose every run in the user's paths.
pub fn builds_paths(paths: &[PathBuf], opts: &Options, progress: &dyn Progress) -> Builds {
    let mut scan = crate::analyze::scan::scan_paths(paths, &opts.scan_options(), progress);
    let cfg = crate::diagnose::configuration(&mut [], &mut scan.skipped, &opts.config);
    if cfg.is_some() {
        let mut opts = opts.clone();
        opts.diagnosis.config = cfg;
        return from_scan(scan, &opts);
    }
    from_scan(scan, opts)
}

/// Discover and diagnose the runs of a finished scan.
pub fn from_scan(scan: Scan, opts: &Options) -> Builds {
    let found = crate::topology::runs::discover(&scan.sessions, &scan.nics, &opts.run_options());
    let diagnosed: Vec<Run> = found
        .par_iter()
        .map(|rs| diagnose_run(&scan.sessions, &scan.inputs, rs, opts))
        .collect();
    let total = diagnosed.len();
    // A run is a build only if its diagnosis found AIB roles in it.
    let mut runs: Vec<Run> = diagnosed
        .into_iter()
        .filter(|r| {
            let roles = &r.diagnosis.topology.roles;
            !roles.proxy.is_empty() || !roles.aci.is_empty()
        })
        .collect();
    let not_builds = total - runs.len();
    runs.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
    // Two runs starting in the same second on the same address (different
    // VNets with overlapping address spaces): keep the ids unique.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for r in &mut runs {
        let n = seen.entry(r.id.clone()).or_default();
        *n += 1;
        if *n > 1 {
            r.id = format!("{}-{}", r.id, n);
        }
    }
    Builds {
        runs,
        sessions_kept: scan.sessions.len(),
        not_builds,
        inputs: scan.inputs,
        skipped: scan.skipped,
        outside_window: scan.outside_window,
        since: opts.since,
        until: opts.until,
    }
}

/// Diagnose one run: its sessions (with `seen_by` renumbered to the inputs
/// that saw them) as an analysis of their own.
fn diagnose_run(all: &[Session], inputs: &[InputReport], rs: &RunSessions, opts: &Options) -> Run {
    let analysis = crate::diagnose::subset(all, inputs, &rs.sessions);
    let sessions = &analysis.sessions;
    let start = sessions.iter().map(|s| s.first_ts).min().unwrap_or(0);
    let end = sessions.iter().map(|s| s.last_ts).max().unwrap_or(start);
    let mut nsgs: Vec<String> = sessions
        .iter()
        .filter_map(|s| {
            s.flow
                .as_ref()
                .and_then(|f| f.nsg.as_deref().map(str::to_string))
        })
        .collect();
    nsgs.sort();
    nsgs.dedup();
    let diagnosis = diagnose(&analysis, &opts.diagnosis);
    let id = run_id(start, &diagnosis);
    Run {
        id,
        start,
        end,
        inputs: analysis.inputs.iter().map(|i| i.path.clone()).collect(),
        sessions: analysis.sessions.len(),
        nsgs,
        macs: rs.macs.clone(),
        diagnosis,
        session_detail: if opts.keep_sessions {
            analysis.sessions
        } else {
            Vec::new()
        },
    }
}

/// A run's stable name: `aib-YYYYMMDD-HHMMSS-<address>`, the address being
/// the build VM's (else the proxy's, else the ACI's), with `.` and `:`
/// written as `-` so that test reporters do not read them as packages.
pub fn run_id(start_ns: i64, d: &Diagnosis) -> String {
    let t = crate::time::rfc3339(start_ns, 0);
    let stamp: String = t
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .map(|c| if c == 'T' { '-' } else { c })
        .collect();
    let r = &d.topology.roles;
    let addr = r
        .build_vm
        .first()
        .or(r.proxy.first())
        .or(r.aci.first())
        .map_or_else(|| "unknown".to_string(), |a| a.to_string());
    let addr: String = addr
        .chars()
        .map(|c| if c == '.' || c == ':' { '-' } else { c })
        .collect();
    format!("aib-{stamp}-{addr}")
}

//! `check`: offline evaluation of an AIB build's network configuration.
//!
//! Input: the JSON a support engineer already has — the image template, the
//! NSGs (`az network nsg show`, ARM export, `az network nic list-effective-nsg`),
//! the subnet, the VNET and the route table — detected by content
//! ([`read_json`]). Output: a [`CheckReport`] with, for every flow an AIB build
//! needs (§5 of the reference), the verdict of every NSG, route table and
//! outbound step on its way, like Network Watcher's IP flow verify, plus
//! findings with the exact `az` fix.
//!
//! ```text
//! bytes ─ read_json ─ Config ─ evaluate ─┬─ scene (which subnet/NSG/route table is which)
//!                                        ├─ flows (required flows × steps → FlowRow)
//!                                        └─ findings (blocking rules + configuration)
//! ```
//!
//! Evaluation follows Azure: inbound = subnet NSG then NIC NSG, outbound = NIC
//! NSG then subnet NSG, lowest priority first, first match wins, default rules
//! last. Addresses AIB picks at build time (proxy VM, build VM, Private Link
//! NAT IP) are "some address of the build subnet" unless `--proxy` /
//! `--build-vm` give them; a rule that covers part of the subnet, an
//! application security group, a service tag that cannot be expanded offline
//! or a missing input makes a step `unknown`, never a guess.
//!
//! # For `diagnose --config`
//!
//! ```no_run
//! use aibnet::check::{self, Config};
//! use aibnet::aib::Hop;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut cfg = Config::default();
//! let path = std::path::Path::new("nsg.json");
//! cfg.add_file(path, &std::fs::read(path)?)?;
//! let report = check::evaluate(&cfg);
//! if let Some(row) = report.blocking_rule(Hop::AlbToProxy, Some(60001)) {
//!     println!("blocked by {:?} / {:?} (priority {:?})", row.nsg, row.rule, row.priority);
//! }
//! # Ok(()) }
//! ```

mod addr;
mod eval;
mod findings;
mod flows;
pub mod model;
mod read;
mod report;
mod scene;

use crate::aib::{Os, TopologyKind};
use crate::ingest::Skipped;
pub use addr::Ipv4Net;
pub use eval::StepVerdict;
pub use flows::{At, FlowRow};
pub use model::{Direction, Proto};
pub use read::{ReadError, Resource, read_json};
pub use report::{CheckReport, CheckVerdict, HopRow, SCHEMA_VERSION};

use serde::Serialize;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Largest configuration file read (64 MiB). Templates, NSGs, subnets and
/// route tables are kilobytes; a larger file is refused before it is read,
/// so a crafted one (a single 1 GB string) cannot take the memory its parse
/// would need.
pub const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// Read a file of at most `max` bytes; a larger one is an error naming the
/// bound.
fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    // One byte past the bound tells "at the bound" from "over" (and covers a
    // file that grows while it is read).
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {max} bytes, the most a configuration file may be"),
        ));
    }
    Ok(bytes)
}

/// Evaluation options (the CLI flags).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The proxy VM's address, if known (`--proxy`).
    pub proxy_ip: Option<Ipv4Addr>,
    /// The build VM's address, if known (`--build-vm`).
    pub build_vm_ip: Option<Ipv4Addr>,
    /// The OS, overriding what the template says (`--os`).
    pub os: Option<Os>,
}

/// One input that was read.
#[derive(Debug, Clone, Serialize)]
pub struct InputRecord {
    /// The file.
    pub path: String,
    /// What it held.
    pub what: String,
}

/// Everything read from the inputs, plus the options.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Image templates.
    pub templates: Vec<model::Template>,
    /// NSGs (definitions and effective rules).
    pub nsgs: Vec<model::Nsg>,
    /// Subnets (given alone or inside a VNET).
    pub subnets: Vec<model::Subnet>,
    /// VNETs.
    pub vnets: Vec<model::Vnet>,
    /// Route tables.
    pub route_tables: Vec<model::RouteTable>,
    /// Options.
    pub options: Options,
    /// What was read.
    pub inputs: Vec<InputRecord>,
    /// What was skipped.
    pub skipped: Vec<Skipped>,
}

impl Config {
    /// Add what a read found.
    pub fn add(&mut self, r: Resource) {
        match r {
            Resource::Template(t) => self.templates.push(t),
            Resource::Nsg(n) => self.nsgs.push(n),
            Resource::NsgRule { nsg, rule } => {
                if let Some(n) = self
                    .nsgs
                    .iter_mut()
                    .find(|n| n.name.eq_ignore_ascii_case(&nsg))
                {
                    // ARM exports list rules both inline and as child resources.
                    if !n
                        .rules
                        .iter()
                        .any(|r| r.name.eq_ignore_ascii_case(&rule.name))
                    {
                        n.rules.push(rule);
                    }
                }
            }
            Resource::Subnet(s) => {
                // The same subnet from `subnet show` and from `vnet show`: keep the first.
                let dup = self.subnets.iter().any(|x| {
                    x.name.eq_ignore_ascii_case(&s.name)
                        && x.vnet.as_deref().map(str::to_ascii_lowercase)
                            == s.vnet.as_deref().map(str::to_ascii_lowercase)
                });
                if !dup {
                    self.subnets.push(s);
                }
            }
            Resource::Vnet(v) => self.vnets.push(v),
            Resource::RouteTable(t) => self.route_tables.push(t),
        }
    }

    /// Read one input (`path` for messages, detection by content) and add it.
    /// Returns how many resources it held.
    ///
    /// # Errors
    /// [`ReadError`] when the bytes are not JSON or hold nothing `check` reads;
    /// the config is unchanged then.
    pub fn add_file(&mut self, path: &Path, bytes: &[u8]) -> Result<usize, ReadError> {
        let found = read_json(path, bytes)?;
        let n = found.len();
        // Child resources (ARM export `nsg/rule`) come after their parent in
        // the file; add parents first either way.
        let (children, parents): (Vec<Resource>, Vec<Resource>) = found
            .into_iter()
            .partition(|r| matches!(r, Resource::NsgRule { .. }));
        let mut what: Vec<String> = parents.iter().map(Resource::describe).collect();
        if !children.is_empty() {
            what.push(format!("{} NSG rule resources", children.len()));
        }
        for r in parents.into_iter().chain(children) {
            self.add(r);
        }
        self.inputs.push(InputRecord {
            path: path.display().to_string(),
            what: what.join("; "),
        });
        Ok(n)
    }

    /// Read files and directories (one level of `*.json` files, sorted)
    /// into a config. Files that cannot be read or recognised go to `skipped`.
    /// A small local helper until `ingest` takes over walking and decompression.
    pub fn load_paths(paths: &[PathBuf]) -> Config {
        let mut cfg = Config::default();
        for p in paths {
            // Configuration is small and read from disk: a storage URL here
            // is a mistake, named without its SAS.
            if let Some(url) = p.to_str().filter(|s| crate::ingest::blob::is_remote(s)) {
                cfg.skipped.push(Skipped {
                    path: crate::ingest::blob::redact(url),
                    offset: None,
                    reason: "check reads local JSON files only (save the configuration with `az … show --output json`); storage locations are read by sessions, diagnose and builds".to_string(),
                });
                continue;
            }
            let files = if p.is_dir() {
                match std::fs::read_dir(p) {
                    Ok(entries) => {
                        let mut v: Vec<PathBuf> = entries
                            .filter_map(Result::ok)
                            .map(|e| e.path())
                            .filter(|f| {
                                f.is_file()
                                    && f.extension()
                                        .is_some_and(|x| x.eq_ignore_ascii_case("json"))
                            })
                            .collect();
                        v.sort();
                        v
                    }
                    Err(e) => {
                        cfg.skipped.push(Skipped {
                            path: p.display().to_string(),
                            offset: None,
                            reason: e.to_string(),
                        });
                        continue;
                    }
                }
            } else {
                vec![p.clone()]
            };
            for f in files {
                let result = read_bounded(&f, MAX_CONFIG_BYTES)
                    .map_err(|e| ReadError::Io {
                        path: f.display().to_string(),
                        source: e,
                    })
                    .and_then(|bytes| cfg.add_file(&f, &bytes));
                if let Err(e) = result {
                    let reason = match &e {
                        ReadError::Io { source, .. } => source.to_string(),
                        other => other
                            .to_string()
                            .trim_start_matches(&format!("{}: ", f.display()))
                            .to_string(),
                    };
                    cfg.skipped.push(Skipped {
                        path: f.display().to_string(),
                        offset: None,
                        reason,
                    });
                }
            }
        }
        cfg
    }

    /// Whether anything usable was read.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
            && self.nsgs.is_empty()
            && self.subnets.is_empty()
            && self.vnets.is_empty()
            && self.route_tables.is_empty()
    }
}

/// Evaluate every flow the build needs through the configuration, and check
/// the configuration itself.
pub fn evaluate(cfg: &Config) -> CheckReport {
    let scene = scene::resolve(cfg);
    let mut notes = scene.notes.clone();
    let flows = flows::required_flows(&scene, &cfg.options, &mut notes);
    let rows = flows::evaluate_flows(&flows, &scene);
    let mut found = findings::config_findings(&scene, &mut notes);
    found.extend(findings::flow_findings(&rows, &scene));
    if scene.topology == TopologyKind::NoVnet {
        notes.push(
            "the template has no vnetConfig: AIB builds in a VNET of its own, so there is no NSG of yours to check".into(),
        );
    }
    // Errors first, then warnings, in path order.
    found.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.hop.cmp(&b.hop)));
    let hops = CheckReport::hops_of(&rows);
    let required_denied = rows
        .iter()
        .any(|r| r.required && r.verdict == StepVerdict::Deny);
    let error = found
        .iter()
        .any(|f| f.severity == crate::aib::Severity::Error);
    let undecided = rows
        .iter()
        .any(|r| r.required && r.verdict == StepVerdict::Unknown);
    let verdict = if required_denied || error {
        CheckVerdict::Blocked
    } else if undecided {
        CheckVerdict::Unknown
    } else {
        CheckVerdict::Ok
    };
    notes.dedup();
    CheckReport {
        schema_version: SCHEMA_VERSION,
        verdict,
        topology: scene.topology,
        os: scene.os,
        flows: rows,
        findings: found,
        hops,
        inputs: cfg.inputs.clone(),
        skipped: cfg.skipped.clone(),
        notes,
    }
}

//! `builds` and `diagnose` spread over machines: each input's share of the
//! scan ([`crate::analyze::scan`]) as a record batch — its reduced sessions,
//! with its report, NIC and first-pass facts in the schema's metadata — so
//! that inputs are read where they are stored (Spark's executors) and only
//! these small partials travel to the one place they are put together.
//!
//! The steps are the scan's own, in the same library functions:
//!
//! 1. every input: [`scan_partial`] without a second look (flow logs note
//!    their anchors' facts only; captures keep their sessions at once);
//! 2. one place: [`look_of`] the first partials (the build VM candidates);
//! 3. every flow log that [`rereads`] says the look needs: [`scan_partial`]
//!    again, with the look;
//! 4. one place: [`builds_of`] / [`diagnose_of`] the final partials, which
//!    [`crate::analyze::scan::assemble`] puts in path order, coalesces and
//!    joins across hourly blobs exactly as a scan on one machine does.

use super::ColumnarError;
use super::sessions::{META_INPUTS, batch, sessions_schema};
use crate::analyze::scan::{self, Facts, FileResult, ScanOptions, SecondLook};
use crate::ingest::{InputReport, Skipped};

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::{Fields, Schema};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Metadata key: [`PartialMeta`].
const META_PARTIAL: &str = "aibnet.partial";

/// What a partial is, beside its sessions and inputs.
#[derive(Serialize, Deserialize)]
struct PartialMeta {
    /// The input's path (its place in the path order).
    path: String,
    /// `read`, `failed` or `outside` (the window).
    kind: String,
    /// A flow log's first pass: its anchors' facts.
    facts: Option<Facts>,
}

/// One input (its path and bytes) scanned, as a partial: the first pass
/// when `look` is `None`, else the second.
pub fn scan_partial(
    path: String,
    raw: Vec<u8>,
    opts: &ScanOptions,
    look: Option<&SecondLook>,
) -> Result<RecordBatch, ColumnarError> {
    scan_named(path, opts, look, |name| {
        Ok(crate::ingest::from_bytes(name, raw, &opts.read.limits))
    })
}

/// One local file scanned in place, as a partial: mapped, not copied
/// (Spark's executors on a tree they can read as files: the JVM then only
/// lists the blobs, and no blob's bytes cross from it into Python). The
/// partial names the input `name`; a file that cannot be read is a failed
/// input, as in a scan on one machine.
pub fn scan_partial_file(
    file: &std::path::Path,
    name: String,
    opts: &ScanOptions,
    look: Option<&SecondLook>,
) -> Result<RecordBatch, ColumnarError> {
    scan_named(name, opts, look, |name| {
        let source = crate::ingest::Source::File(file.to_path_buf());
        let mut loaded = crate::ingest::load(&source, &opts.read.limits);
        match &mut loaded {
            Ok(input) => input.path = name,
            Err(e) => e.path = name,
        }
        loaded
    })
}

/// The partial of the input named `name`, which `load` reads (unless the
/// window skips it by its path).
fn scan_named(
    name: String,
    opts: &ScanOptions,
    look: Option<&SecondLook>,
    load: impl FnOnce(String) -> Result<crate::ingest::Input, crate::ingest::LoadError>,
) -> Result<RecordBatch, ColumnarError> {
    let r = if scan::skips(&name, opts) {
        FileResult::Outside
    } else {
        match load(name.clone()) {
            Ok(input) => scan::scan_input(input, 0, opts, look, true),
            Err(e) => scan::failed(e),
        }
    };
    partial_batch(&name, &r)
}

fn partial_batch(path: &str, r: &FileResult) -> Result<RecordBatch, ColumnarError> {
    let (kind, report, sessions, skipped, nic, facts) = match r {
        FileResult::Read(report, sessions, skipped, nic, facts) => (
            "read",
            Some(report),
            sessions.as_slice(),
            skipped.clone(),
            nic.clone(),
            facts.clone(),
        ),
        FileResult::Failed(report, s) => {
            ("failed", Some(report), &[][..], vec![s.clone()], None, None)
        }
        FileResult::Outside => ("outside", None, &[][..], Vec::new(), None, None),
    };
    let inputs: Vec<InputReport> = report.into_iter().cloned().collect();
    let schema = sessions_schema(&inputs, &[nic], &skipped)?;
    let mut md = schema.metadata().clone();
    // Read back by `partial_of` alone, which takes the inputs from their
    // full form: the readers' copy would only make every partial longer.
    md.remove(META_INPUTS);
    md.insert(
        META_PARTIAL.to_string(),
        serde_json::to_string(&PartialMeta {
            path: path.to_string(),
            kind: kind.to_string(),
            facts,
        })?,
    );
    if sessions.is_empty() {
        // No sessions, no columns: every first-pass partial of a flow log
        // is such a one, and the 30 columns' schema (and their empty
        // dictionaries) made up four fifths of it (a month's 15 812: 8.1 KB
        // each, 129 MB for Spark to carry to its driver and hold there).
        let schema = Arc::new(Schema::new_with_metadata(Fields::empty(), md));
        let opts = RecordBatchOptions::new().with_row_count(Some(0));
        return Ok(RecordBatch::try_new_with_options(
            schema,
            Vec::new(),
            &opts,
        )?);
    }
    let schema = Arc::new(schema.as_ref().clone().with_metadata(md));
    let refs: Vec<&crate::sessions::Session> = sessions.iter().collect();
    batch(&schema, &refs, &inputs)
}

/// A partial as the bytes of an Arrow IPC stream, its buffers
/// LZ4-compressed (LZ4_FRAME, which pyarrow and Arrow Java read): how a
/// partial travels between processes. A second-pass partial holds its
/// blob's AIB-relevant sessions, and Spark carries every byte of it
/// through the JVM to the driver and into Python (the month's 1 411:
/// 142 MB as they were, 24 MB compressed).
pub fn ipc(partial: &RecordBatch) -> Result<Vec<u8>, ColumnarError> {
    let opts = arrow_ipc::writer::IpcWriteOptions::default()
        .try_with_compression(Some(arrow_ipc::CompressionType::LZ4_FRAME))?;
    let mut w = arrow_ipc::writer::StreamWriter::try_new_with_options(
        Vec::new(),
        partial.schema_ref(),
        opts,
    )?;
    w.write(partial)?;
    Ok(w.into_inner()?)
}

/// A partial back into the scan's result, with its path.
fn partial_of(b: &RecordBatch) -> Result<(String, FileResult), ColumnarError> {
    let md = b.schema_ref().metadata();
    let meta: PartialMeta = serde_json::from_str(
        md.get(META_PARTIAL)
            .ok_or_else(|| ColumnarError::Invalid("not a partial (no aibnet.partial)".into()))?,
    )?;
    let (inputs, mut skipped) = super::read::inputs_of(b.schema_ref())?;
    let r = match (meta.kind.as_str(), inputs.into_iter().next()) {
        ("outside", _) => FileResult::Outside,
        ("failed", Some((report, _))) => {
            let s = skipped.pop().unwrap_or(Skipped {
                path: meta.path.clone(),
                offset: None,
                reason: report.error.clone().unwrap_or_default(),
            });
            FileResult::Failed(report, s)
        }
        ("read", Some((report, nic))) => {
            let sessions = if b.num_columns() == 0 {
                Vec::new()
            } else {
                super::read::sessions_of(b, std::slice::from_ref(&report))?
            };
            FileResult::Read(report, sessions, skipped, nic, meta.facts)
        }
        (k, _) => return Err(ColumnarError::Invalid(format!("partial of kind {k:?}"))),
    };
    Ok((meta.path, r))
}

/// The partials of a run, each decoded once: what the steps after the
/// first pass read (the look, which inputs to read again, runs, sessions).
/// Handing every partial to each step again cost more than the steps: on a
/// Spark driver over a month's 15 812 partials, each crossing from pyarrow
/// into Rust took ~0.15 ms, four times a partial.
#[derive(Debug, Default, Clone)]
pub struct PartialSet {
    /// By input path: a second-pass partial takes the place of its input's
    /// first-pass one, whatever the order they come in.
    by_path: std::collections::BTreeMap<std::path::PathBuf, FileResult>,
    /// What could not be walked to find the inputs (reported first among
    /// the skipped, as a scan on one machine reports it).
    unwalked: Vec<Skipped>,
}

impl PartialSet {
    /// The partials given, decoded.
    pub fn of(partials: &[RecordBatch]) -> Result<Self, ColumnarError> {
        let mut set = PartialSet::default();
        for b in partials {
            set.add(b)?;
        }
        Ok(set)
    }

    /// Add one partial.
    pub fn add(&mut self, partial: &RecordBatch) -> Result<(), ColumnarError> {
        let (path, r) = partial_of(partial)?;
        let first_pass = matches!(r, FileResult::Read(_, _, _, _, Some(_)));
        match self.by_path.entry(std::path::PathBuf::from(path)) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(r);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                if !first_pass {
                    o.insert(r);
                }
            }
        }
        Ok(())
    }

    /// Add what the walk that found the inputs could not walk (a folder
    /// that cannot be read, a symlink loop: [`scan::find_inputs`]), in the
    /// walk's order.
    pub fn add_unwalked(&mut self, unwalked: impl IntoIterator<Item = Skipped>) {
        self.unwalked.extend(unwalked);
    }

    /// Add the partials of an Arrow IPC stream (as a partial is sent
    /// between processes).
    pub fn add_ipc(&mut self, stream: &[u8]) -> Result<(), ColumnarError> {
        let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(stream), None)?;
        for b in reader {
            self.add(&b?)?;
        }
        Ok(())
    }

    /// How many inputs.
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// The second look of the first pass's partials.
    pub fn look(&self) -> SecondLook {
        scan::second_look(self.by_path.values())
    }

    /// The paths of the inputs whose first-pass partial says the look
    /// needs them read again, in path order.
    pub fn rereads(&self, look: &SecondLook) -> Vec<String> {
        self.by_path
            .iter()
            .filter(|(_, r)| scan::rereads(r, look))
            .map(|(p, _)| p.to_string_lossy().into_owned())
            .collect()
    }

    /// The partials as one scan (in path order).
    pub fn scan(&self, look: &SecondLook, opts: &ScanOptions) -> scan::Scan {
        let mut s = scan::assemble(self.by_path.values().cloned().collect(), look, opts);
        s.report_unwalked(self.unwalked.iter().cloned());
        s
    }

    /// `aibnet builds` over the partials.
    pub fn builds(
        &self,
        look: &SecondLook,
        opts: &crate::builds::Options,
    ) -> crate::builds::Builds {
        crate::builds::from_scan(self.scan(look, &opts.scan_options()), opts)
    }

    /// The AIB-relevant sessions as one batch: what `builds` and `diagnose`
    /// read (the scan's sessions, inputs in path order, with their NICs in
    /// the metadata).
    pub fn sessions(
        &self,
        look: &SecondLook,
        opts: &ScanOptions,
    ) -> Result<RecordBatch, ColumnarError> {
        let scan = self.scan(look, opts);
        let nics = scan.nics.clone();
        super::sessions_batch(&scan.into_analysis(), &nics)
    }
}

/// The second look of the first pass's partials.
pub fn look_of(partials: &[RecordBatch]) -> Result<SecondLook, ColumnarError> {
    Ok(PartialSet::of(partials)?.look())
}

/// Whether a first-pass partial's input must be scanned again with the look.
pub fn rereads(partial: &RecordBatch, look: &SecondLook) -> Result<bool, ColumnarError> {
    Ok(scan::rereads(&partial_of(partial)?.1, look))
}

/// `aibnet builds` over the partials of every input (both passes'; see the
/// module docs): the same runs as on one machine.
pub fn builds_of(
    partials: &[RecordBatch],
    look: &SecondLook,
    opts: &crate::builds::Options,
) -> Result<crate::builds::Builds, ColumnarError> {
    Ok(PartialSet::of(partials)?.builds(look, opts))
}

/// `aibnet diagnose` over the partials of every input: the analysis (its
/// AIB-relevant sessions) and the diagnosis.
pub fn diagnose_of(
    partials: &[RecordBatch],
    look: &SecondLook,
    opts: &crate::diagnose::Options,
) -> Result<(crate::analyze::Analysis, crate::diagnose::Diagnosis), ColumnarError> {
    let scan_opts = ScanOptions {
        probe: opts.hints.probe_ip.unwrap_or(crate::aib::AZURE_HOST_IP),
        report_failed: true,
        ..ScanOptions::default()
    };
    let a = PartialSet::of(partials)?
        .scan(look, &scan_opts)
        .into_analysis();
    let d = crate::diagnose::diagnose(&a, opts);
    Ok((a, d))
}

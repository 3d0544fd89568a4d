//! `aibnet._aibnet`: the library's sessions, scan, `builds` and `diagnose`
//! for Python. Record batches cross in both directions through the Arrow C
//! data interface (`arrow::pyarrow`): the buffers are handed over, not
//! copied. The Python package `aibnet` (py/aibnet) wraps these functions
//! with docstrings and turns the JSON documents into dicts.

use aibnet::analyze::scan::{ScanOptions, SecondLook};
use aibnet::columnar::{self, ColumnarError, partial};
use aibnet::ingest::Skipped;
use aibnet::report::{OutputFormat, Render, Style};
use arrow::array::RecordBatch;
use arrow::pyarrow::PyArrowType;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn err(e: ColumnarError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn time(t: Option<&str>) -> PyResult<Option<i64>> {
    t.map(|t| aibnet::time::parse(t).map_err(|e| PyValueError::new_err(format!("{t:?}: {e}"))))
        .transpose()
}

fn look(json: Option<&str>) -> PyResult<Option<SecondLook>> {
    json.map(|j| serde_json::from_str(j).map_err(|e| PyValueError::new_err(e.to_string())))
        .transpose()
}

fn scan_options(since: Option<&str>, until: Option<&str>) -> PyResult<ScanOptions> {
    Ok(ScanOptions {
        since: time(since)?,
        until: time(until)?,
        ..ScanOptions::default()
    })
}

/// A document's JSON text, as the CLI writes it.
fn json_of(doc: &dyn Render) -> PyResult<String> {
    let mut out = Vec::new();
    doc.render(OutputFormat::Json, &Style::plain(), &mut out)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    String::from_utf8(out).map_err(|e| PyValueError::new_err(e.to_string()))
}

fn batches(v: Vec<PyArrowType<RecordBatch>>) -> Vec<RecordBatch> {
    v.into_iter().map(|b| b.0).collect()
}

/// Every session of one capture or flow-log blob held in memory.
#[pyfunction]
fn sessions(py: Python<'_>, data: &[u8], name: String) -> PyResult<PyArrowType<RecordBatch>> {
    let raw = data.to_vec();
    let b = py
        .detach(|| {
            let a = aibnet::analyze::analyze_bytes(name, raw, &aibnet::analyze::Options::default());
            columnar::sessions_batch(&a, &[])
        })
        .map_err(err)?;
    Ok(PyArrowType(b))
}

/// The sessions of several batches as one, as on all their inputs at once.
#[pyfunction]
fn merge(
    py: Python<'_>,
    batches_: Vec<PyArrowType<RecordBatch>>,
) -> PyResult<PyArrowType<RecordBatch>> {
    let bs = batches(batches_);
    let b = py
        .detach(|| {
            let (a, nics) = columnar::analysis_of(&bs)?;
            columnar::sessions_batch(&a, &nics)
        })
        .map_err(err)?;
    Ok(PyArrowType(b))
}

/// One input scanned into its partial, the GIL released.
fn scan_partial(
    py: Python<'_>,
    data: &[u8],
    name: String,
    look: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
) -> PyResult<RecordBatch> {
    let opts = scan_options(since, until)?;
    let l = self::look(look)?;
    let raw = data.to_vec();
    py.detach(|| partial::scan_partial(name, raw, &opts, l.as_ref()))
        .map_err(err)
}

/// One input's share of `builds` / `diagnose` (first pass without `look`).
#[pyfunction]
#[pyo3(signature = (data, name, look=None, since=None, until=None))]
fn scan(
    py: Python<'_>,
    data: &[u8],
    name: String,
    look: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
) -> PyResult<PyArrowType<RecordBatch>> {
    scan_partial(py, data, name, look, since, until).map(PyArrowType)
}

/// [`scan`], the partial written as an Arrow IPC stream (how Spark's
/// executors send it: writing it in Python took a sixth of the time of
/// the scan itself).
#[pyfunction]
#[pyo3(signature = (data, name, look=None, since=None, until=None))]
fn scan_ipc<'py>(
    py: Python<'py>,
    data: &[u8],
    name: String,
    look: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let b = scan_partial(py, data, name, look, since, until)?;
    ipc_bytes(py, b)
}

/// [`scan_ipc`] of a file the caller can read where it is: mapped, not
/// copied, the GIL released (Spark's executors on a local tree: the JVM
/// then only lists the blobs).
#[pyfunction]
#[pyo3(signature = (path, name, look=None, since=None, until=None))]
fn scan_file_ipc<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    name: String,
    look: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let opts = scan_options(since, until)?;
    let l = self::look(look)?;
    let b = py
        .detach(|| partial::scan_partial_file(&path, name, &opts, l.as_ref()))
        .map_err(err)?;
    ipc_bytes(py, b)
}

/// What a walk found: the input files, and (path, reason) of what could
/// not be walked.
type Found = (Vec<String>, Vec<(String, String)>);

/// The input files under local paths, found as the CLI finds them
/// (folders walked, hidden names left out, in path order), and what could
/// not be walked, as (path, reason).
#[pyfunction]
fn discover(py: Python<'_>, paths: Vec<std::path::PathBuf>) -> PyResult<Found> {
    for p in &paths {
        let s = p.to_string_lossy();
        // The CLI's discovery lists storage URLs too, with credentials
        // from the environment: not what a caller of a local walk expects.
        if s == "-" || s.contains("://") {
            return Err(PyValueError::new_err(format!(
                "{s}: discover walks local paths only"
            )));
        }
    }
    let (sources, unwalked) = py.detach(|| {
        aibnet::analyze::scan::find_inputs(&paths, &aibnet::ingest::Discovery::default())
    });
    Ok((
        sources.iter().map(|s| s.display()).collect(),
        unwalked.into_iter().map(|s| (s.path, s.reason)).collect(),
    ))
}

/// A partial as the bytes of an Arrow IPC stream (`partial::ipc`).
fn ipc_bytes(py: Python<'_>, b: RecordBatch) -> PyResult<Bound<'_, pyo3::types::PyBytes>> {
    let out = py.detach(|| partial::ipc(&b)).map_err(err)?;
    Ok(pyo3::types::PyBytes::new(py, &out))
}

/// The partials given, decoded once (the GIL released).
fn partial_set(
    py: Python<'_>,
    partials: Vec<PyArrowType<RecordBatch>>,
) -> PyResult<partial::PartialSet> {
    let bs = batches(partials);
    py.detach(|| partial::PartialSet::of(&bs)).map_err(err)
}

/// The second look of `set`, as JSON.
fn look_json(py: Python<'_>, set: &partial::PartialSet) -> PyResult<String> {
    let l = py.detach(|| set.look());
    serde_json::to_string(&l).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// `aibnet builds --format json` over `set`.
fn builds_json(
    py: Python<'_>,
    set: &partial::PartialSet,
    look: &str,
    since: Option<&str>,
    until: Option<&str>,
) -> PyResult<String> {
    let l = self::look(Some(look))?.unwrap_or_default();
    let opts = builds_options(since, until)?;
    let b = py.detach(|| set.builds(&l, &opts));
    json_of(&b)
}

/// The AIB-relevant sessions of `set`, as one batch.
fn sessions_of_set(
    py: Python<'_>,
    set: &partial::PartialSet,
    look: &str,
    since: Option<&str>,
    until: Option<&str>,
) -> PyResult<PyArrowType<RecordBatch>> {
    let l = self::look(Some(look))?.unwrap_or_default();
    let opts = scan_options(since, until)?;
    let b = py.detach(|| set.sessions(&l, &opts)).map_err(err)?;
    Ok(PyArrowType(b))
}

/// The second look (JSON) from the first pass's partials.
#[pyfunction]
fn second_look(py: Python<'_>, partials: Vec<PyArrowType<RecordBatch>>) -> PyResult<String> {
    look_json(py, &partial_set(py, partials)?)
}

/// Whether a first-pass partial's input must be scanned again with `look`.
#[pyfunction]
fn rereads(partial_: PyArrowType<RecordBatch>, look: &str) -> PyResult<bool> {
    let l = self::look(Some(look))?.unwrap_or_default();
    partial::rereads(&partial_.0, &l).map_err(err)
}

/// `aibnet builds --format json` over the partials of every input.
#[pyfunction]
#[pyo3(signature = (partials, look, since=None, until=None))]
fn builds(
    py: Python<'_>,
    partials: Vec<PyArrowType<RecordBatch>>,
    look: &str,
    since: Option<&str>,
    until: Option<&str>,
) -> PyResult<String> {
    builds_json(py, &partial_set(py, partials)?, look, since, until)
}

/// The AIB-relevant sessions of every input's partials, as one batch.
#[pyfunction]
#[pyo3(signature = (partials, look, since=None, until=None))]
fn scan_sessions(
    py: Python<'_>,
    partials: Vec<PyArrowType<RecordBatch>>,
    look: &str,
    since: Option<&str>,
    until: Option<&str>,
) -> PyResult<PyArrowType<RecordBatch>> {
    sessions_of_set(py, &partial_set(py, partials)?, look, since, until)
}

/// `aibnet diagnose --format json` over the partials of every input.
#[pyfunction]
fn diagnose(
    py: Python<'_>,
    partials: Vec<PyArrowType<RecordBatch>>,
    look: &str,
) -> PyResult<String> {
    let bs = batches(partials);
    let l = self::look(Some(look))?.unwrap_or_default();
    let (a, d) = py
        .detach(|| partial::diagnose_of(&bs, &l, &aibnet::diagnose::Options::default()))
        .map_err(err)?;
    json_of(&aibnet::report::DiagnoseReport {
        diagnosis: &d,
        analysis: &a,
        sum_up_not_evidence: None,
    })
}

fn builds_options(since: Option<&str>, until: Option<&str>) -> PyResult<aibnet::builds::Options> {
    Ok(aibnet::builds::Options {
        since: time(since)?,
        until: time(until)?,
        ..aibnet::builds::Options::default()
    })
}

/// The partials of a run decoded once in Rust, for the steps after the
/// first pass (see `aibnet.Partials`).
#[pyclass(module = "aibnet._aibnet")]
#[derive(Default)]
struct Partials {
    set: partial::PartialSet,
}

#[pymethods]
impl Partials {
    #[new]
    fn new() -> Self {
        Partials::default()
    }

    /// Add partials: record batches, or Arrow IPC streams (bytes), in
    /// order; the streams are decoded with the GIL released.
    fn add(&mut self, py: Python<'_>, partials: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        // The bytes stay in their Python objects (immutable, and alive in
        // `partials` until the call returns) while the GIL is released.
        enum Item<'a> {
            Batch(RecordBatch),
            Stream(&'a [u8]),
        }
        let items = partials
            .iter()
            .map(|p| match p.cast::<pyo3::types::PyBytes>() {
                Ok(b) => Ok(Item::Stream(b.as_bytes())),
                Err(_) => p
                    .extract::<PyArrowType<RecordBatch>>()
                    .map(|b| Item::Batch(b.0)),
            })
            .collect::<PyResult<Vec<_>>>()?;
        let set = &mut self.set;
        py.detach(|| {
            items.iter().enumerate().try_for_each(|(k, item)| {
                match item {
                    Item::Batch(b) => set.add(b),
                    Item::Stream(s) => set.add_ipc(s),
                }
                .map_err(|e| format!("partial {k}: {e}"))
            })
        })
        .map_err(PyValueError::new_err)
    }

    /// What the walk that found the inputs could not walk, as (path,
    /// reason) pairs (see `discover`).
    fn add_unwalked(&mut self, unwalked: Vec<(String, String)>) {
        self.set
            .add_unwalked(unwalked.into_iter().map(|(path, reason)| Skipped {
                path,
                offset: None,
                reason,
            }));
    }

    fn __len__(&self) -> usize {
        self.set.len()
    }

    /// The second look (JSON).
    fn second_look(&self, py: Python<'_>) -> PyResult<String> {
        look_json(py, &self.set)
    }

    /// The names of the inputs to scan again with `look`, in path order.
    fn rereads(&self, look: &str) -> PyResult<Vec<String>> {
        let l = self::look(Some(look))?.unwrap_or_default();
        Ok(self.set.rereads(&l))
    }

    /// `aibnet builds --format json` over the partials.
    #[pyo3(signature = (look, since=None, until=None))]
    fn builds(
        &self,
        py: Python<'_>,
        look: &str,
        since: Option<&str>,
        until: Option<&str>,
    ) -> PyResult<String> {
        builds_json(py, &self.set, look, since, until)
    }

    /// The AIB-relevant sessions of the partials, as one batch.
    #[pyo3(signature = (look, since=None, until=None))]
    fn scan_sessions(
        &self,
        py: Python<'_>,
        look: &str,
        since: Option<&str>,
        until: Option<&str>,
    ) -> PyResult<PyArrowType<RecordBatch>> {
        sessions_of_set(py, &self.set, look, since, until)
    }
}

/// The extension module.
#[pymodule]
fn _aibnet(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sessions, m)?)?;
    m.add_function(wrap_pyfunction!(merge, m)?)?;
    m.add_function(wrap_pyfunction!(scan, m)?)?;
    m.add_function(wrap_pyfunction!(scan_ipc, m)?)?;
    m.add_function(wrap_pyfunction!(scan_file_ipc, m)?)?;
    m.add_function(wrap_pyfunction!(discover, m)?)?;
    m.add_function(wrap_pyfunction!(second_look, m)?)?;
    m.add_function(wrap_pyfunction!(rereads, m)?)?;
    m.add_function(wrap_pyfunction!(builds, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose, m)?)?;
    m.add_function(wrap_pyfunction!(scan_sessions, m)?)?;
    m.add_class::<Partials>()?;
    Ok(())
}

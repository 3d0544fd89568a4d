//! Sessions and runs as Apache Arrow record batches, written as Parquet or
//! as an Arrow IPC stream (`--format parquet|arrow`), and read back into
//! sessions (the Python package's merge and the distributed `builds`).
//!
//! The columns are the JSON contract's fields (`schema_version` 1), typed:
//! addresses as text (as JSON writes them), ports `uint16`, counts `uint64`,
//! times UTC timestamps in nanoseconds (the JSON's text is the same instant
//! at the input's precision), the small vocabularies (`proto`, `state`,
//! `decision`, `direction`) and the repeated resource names (`rule`, `nsg`,
//! `target`) dictionary-encoded, and a null wherever JSON has `null` or, for
//! capture sessions, leaves the flow-log fields out. Three columns are added
//! beyond the JSON so that a batch converts back into the same sessions:
//! `ip_proto` (the protocol number, which `other` hides), `ts_digits` (the
//! precision the JSON prints) and `icmp_error.ts`.
//!
//! The document's other parts travel in the schema's metadata:
//! `aibnet.schema_version`, `aibnet.inputs` and `aibnet.skipped` (the
//! JSON contract's arrays), and `aibnet.inputs_full` (every input's report
//! with the fields JSON leaves out: times, precision, the hosts a flow log's
//! NIC logged, the blob's NIC), which [`read`] needs to rebuild an analysis.

pub mod partial;
mod read;
mod runs;
mod sessions;

pub use read::{ColumnarError, analysis_of, inputs_of};
pub use runs::runs_batch;
pub use sessions::{InputMeta, sessions_batches, sessions_schema};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use std::io::Write;
use std::sync::Arc;

/// The two columnar encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Apache Parquet, Snappy-compressed.
    Parquet,
    /// The Arrow IPC stream format (`application/vnd.apache.arrow.stream`).
    ArrowStream,
}

/// Rows per record batch (and Parquet row group): bounded memory for
/// millions of sessions, large enough for the encodings to pay off.
pub const BATCH_ROWS: usize = 64 * 1024;

/// Write batches of one schema in an encoding. Parquet needs a `Send`
/// writer; both buffer nothing beyond one row group / batch.
pub fn write(
    encoding: Encoding,
    schema: SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch, ColumnarError>>,
    w: impl Write + Send,
) -> Result<(), ColumnarError> {
    match encoding {
        Encoding::Parquet => {
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .set_max_row_group_row_count(Some(BATCH_ROWS))
                .build();
            let mut writer = parquet::arrow::ArrowWriter::try_new(w, schema, Some(props))?;
            for b in batches {
                writer.write(&b?)?;
            }
            writer.close()?;
        }
        Encoding::ArrowStream => {
            let mut writer = arrow_ipc::writer::StreamWriter::try_new(w, &schema)?;
            for b in batches {
                writer.write(&b?)?;
            }
            writer.finish()?;
        }
    }
    Ok(())
}

/// The document of `aibnet sessions` in an encoding: the sessions of the
/// run (`sessions`: its own list, or one built as it is written) that
/// `filter` admits, with the inputs and skipped inputs in the schema's
/// metadata.
pub fn write_sessions(
    encoding: Encoding,
    analysis: &crate::analyze::Analysis,
    sessions: &dyn crate::sessions::SessionList,
    filter: &crate::sessions::Filter,
    w: impl Write + Send,
) -> Result<(), ColumnarError> {
    let schema = sessions_schema(&analysis.inputs, &[], &analysis.skipped)?;
    let batches = sessions_batches(&schema, sessions, filter, &analysis.inputs);
    write(encoding, Arc::clone(&schema), batches, w)
}

/// An analysis' sessions as one record batch (its inputs, and their NICs
/// when known, in the metadata): what the Python package hands over.
pub fn sessions_batch(
    analysis: &crate::analyze::Analysis,
    nics: &[Option<crate::flowlog::Nic>],
) -> Result<RecordBatch, ColumnarError> {
    let schema = sessions_schema(&analysis.inputs, nics, &analysis.skipped)?;
    let all: Vec<&crate::sessions::Session> = analysis.sessions.iter().collect();
    sessions::batch(&schema, &all, &analysis.inputs)
}

/// The runs of `aibnet builds` in an encoding: one row per run (the JSON's
/// `runs[]`), the summary in the schema's metadata.
pub fn write_runs(
    encoding: Encoding,
    builds: &crate::builds::Builds,
    w: impl Write + Send,
) -> Result<(), ColumnarError> {
    let batch = runs_batch(builds)?;
    write(encoding, batch.schema(), [Ok(batch)], w)
}

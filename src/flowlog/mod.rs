//! Flow logs: Azure NSG flow logs (version 1 and 2, category
//! `NetworkSecurityGroupFlowEvent`) and VNet flow logs (category
//! `FlowLogFlowEvent`, `flowLogVersion` 4) → [`FlowLogFile`]: batches of
//! decoded [`FlowTuple`]s, each [`FlowLogBatch`] with the string tables its
//! tuples index, plus the file's statistics and the [`FlowLogIssue`]s met
//! on the way.
//!
//! Input: the bytes of one file (already gunzipped), as a blob
//! `{"records":[…]}`, a top-level array, or bare record object(s) (JSON Lines
//! too), with or without a UTF-8 BOM, in any key order. The family (NSG or
//! VNet) and version are decided per record by its content (`category`,
//! `properties` vs `flowRecords`, `Version`), never by the file name or the
//! tuple's field count.
//!
//! How (see `FORMATS.md` for the format):
//! 1. `scan` finds each record's byte span (string- and depth-aware, no
//!    parsing); a blob cut mid-append keeps every complete record and the
//!    cut is reported at its byte offset.
//! 2. Identical records (same bytes) are dropped.
//! 3. Records are parsed with serde_json into borrowed structs
//!    (`schema`) and their tuples with `nom` ([`mod@tuple`]) into `Copy`
//!    values, without allocating per tuple. Large files are split into
//!    chunks of records parsed in parallel (rayon); each chunk becomes one
//!    [`FlowLogBatch`], in input order. (Merging the chunks into one table
//!    meant a sequential pass that copied every tuple and cost a tenth of
//!    the run time; batches are never copied.)
//! 4. Identical tuples (same fields, rule, ACL and MAC) are dropped,
//!    keeping the first, within a record and between consecutive records.
//!    A tuple's time lies in the minute before its record's `time`, so a
//!    repeat can only be in the same or the neighbouring record; identical
//!    records anywhere in the file were dropped whole in step 2. A chunk
//!    re-reads the record before it to fill its window. (A window of two
//!    small hash tables stays in cache; a file-wide table of millions of
//!    tuples did not, and cost a fifth of the run time.)
//!
//! Invariants: never panics on any input; allocates in proportion to what
//! it actually read, never to a length the input claims; a problem in one
//! record or tuple never loses the others; nothing is decoded in a layout
//! it is not in (an NSG v2 tuple in a VNet record is reported, not read).
//!
//! Modules, in the order the bytes go through them:
//!
//! | module | what it does |
//! |---|---|
//! | `file` | one file from its bytes: [`parse`], [`parse_with`], [`parse_file`], [`parse_many`] |
//! | `options` | [`ParseOptions`] and the pre-filter as the fast path tests it |
//! | `scan` | each record's byte span, without parsing |
//! | `dedupe` | identical records; tuple fingerprints for the duplicate window |
//! | `chunk` | the per-chunk parser: records → string tables, tuples, counts, issues |
//! | `intern` | a chunk's string and rule tables |
//! | `schema` | the borrowed serde structs of a record |
//! | [`mod@tuple`] | one tuple: its types, the fast parser and the checked parser |
//! | `batch` | what comes out: [`FlowLogFile`], [`FlowLogBatch`], [`RecordInfo`] |
//! | `stats` | [`FlowLogStats`] |
//! | `error` | [`FlowLogIssue`]s and [`FlowLogError`] |
//! | `continuation` | [`join_continuations`]: one flow's tuples across records |
//! | [`stitch`] | tuples → sessions, and the input's report |
//! | `nic` | [`Nic`]: which NIC a blob belongs to |

mod batch;
mod chunk;
mod continuation;
mod dedupe;
mod error;
mod file;
mod intern;
mod nic;
mod options;
mod scan;
mod schema;
mod stats;
pub mod stitch;
pub mod tuple;

pub use batch::{FlowLogBatch, FlowLogFile, RecordInfo, RecordKind, RuleEntry, Sym};
pub use continuation::{finish_run, join_continuations};
pub use error::{Dropped, FlowLogError, FlowLogIssue, IssueKind, TupleLoc};
pub use file::{parse, parse_file, parse_many, parse_with};
pub use nic::{Nic, logged_hosts, nic_of_tuples};
pub use options::{AibKeep, ParseOptions};
pub use stats::{FlowLogStats, MAX_ISSUES};
pub use stitch::{read_input, sessions, sessions_in_scope};
pub use tuple::{
    Counters, Decision, Direction, Encryption, FlowProto, FlowState, FlowTuple, RuleRef,
    TupleError, TupleLayout, parse_tuple, parse_tuple_bytes,
};

//! One flow tuple: the CSV string inside `flowTuples`, parsed with `nom` into
//! a small `Copy` value without allocating.
//!
//! Three layouts share the CSV syntax (see `FORMATS.md` §2.1, §2.2, §3.1):
//!
//! | layout  | fields | ts   | protocol | field 7  | field 8     | counters          |
//! |---------|--------|------|----------|----------|-------------|-------------------|
//! | NSG v1  | 8      | s    | `T`/`U`  | `A`/`D`  | —           | —                 |
//! | NSG v2  | 13     | s    | `T`/`U`  | `A`/`D`  | `B`/`C`/`E` | empty for `B`     |
//! | VNet v4 | 13     | ms/s | IANA no. | `B/C/E/D`| encryption  | zeros or empty    |
//!
//! NSG v2 and VNet v4 both have 13 fields, so the layout is chosen by the
//! record (its `category` and shape), never by counting fields; a tuple in the
//! other 13-field layout is reported as such instead of being mis-decoded.
//!
//! Two parsers read the same text on purpose: `fast` decodes every
//! well-formed IPv4 tuple in one pass and gives up on anything else;
//! [`checked`](fn@checked) splits the fields and says what is wrong. [`parse_tuple`] tries
//! the first, then the second; a property test checks they agree.
//!
//! | module | what |
//! |---|---|
//! | `types` | [`FlowTuple`], its fields' types, [`TupleLayout`], [`TupleError`] |
//! | `fast` | the hot-path parser (no splitting, no allocation) |
//! | `checked` | the field-splitting parser with precise errors |

mod checked;
mod fast;
mod types;

pub use checked::checked;
pub(crate) use fast::{Fields, tuple as fast_fields};
pub use types::{
    Counters, Decision, Direction, Encryption, FlowProto, FlowState, FlowTuple, RuleRef,
    SECONDS_THRESHOLD, TupleError, TupleLayout,
};

/// Parse one tuple string in the given layout. `rule` and `record` are left
/// zero for the caller to fill.
///
/// A single sequential `nom` pass over the bytes (module `fast`) handles every
/// well-formed tuple; anything it rejects goes through the field-splitting
/// parser ([`checked`](fn@checked)), which also accepts surrounding whitespace and
/// explains what is wrong.
///
/// # Errors
/// [`TupleError`] naming the field that is wrong, or the other 13-field layout
/// when the tuple is in it.
pub fn parse_tuple(s: &str, layout: TupleLayout) -> Result<FlowTuple, TupleError> {
    parse_tuple_bytes(s.as_bytes(), layout)
}

/// [`parse_tuple`] on raw bytes (as borrowed from the JSON input).
///
/// # Errors
/// As [`parse_tuple`], plus [`TupleError::NotUtf8`].
pub fn parse_tuple_bytes(b: &[u8], layout: TupleLayout) -> Result<FlowTuple, TupleError> {
    match fast::tuple(b, layout) {
        Some(f) => Ok(f.tuple(RuleRef(0), 0)),
        None => match std::str::from_utf8(b) {
            Ok(s) => checked(s, layout),
            Err(_) => Err(TupleError::NotUtf8),
        },
    }
}

#[cfg(test)]
mod tests;

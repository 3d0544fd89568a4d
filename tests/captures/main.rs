//! Packet captures: conformance on the public traces, bad and hostile
//! input, and `aibnet sessions` as a user runs it. One test binary for the
//! area (each binary links the whole crate); the modules are the topics.

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod hostile;
mod hostile_regressions;
mod sessions_cli;
mod traces;
mod zeek_suite;

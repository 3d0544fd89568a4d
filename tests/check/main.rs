//! `aibnet check`: rule evaluation and configuration findings through the
//! library, and the command as a user runs it.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod rules;

//! `aibnet explain`: every error text of the failure table through the
//! library, and the command end to end on the fixture logs.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod logs;
mod texts;

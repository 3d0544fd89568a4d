//! `aibnet builds`: trees of captures and flow logs split into runs and each
//! run diagnosed, on generated traffic, real traces and the lab's scenarios.

#[path = "../common/mod.rs"]
mod common;

mod lab;
mod runs;
mod support;

//! NSG and VNet flow logs: the real and documentation samples, flow tuples
//! to sessions, sessions across hourly blobs, and bad input.

#[path = "../common/mod.rs"]
mod common;

mod across_blobs;
mod bad_input;
mod busy_vnet;
mod samples;
mod select;
mod sessions;

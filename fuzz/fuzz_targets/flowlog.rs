//! The flow-log reader (NSG v1/v2, VNet v4), its sessions and the driver. See `harness.rs`.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::flowlog(data));

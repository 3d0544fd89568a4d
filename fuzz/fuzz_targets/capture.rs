//! The capture reader (pcap, pcapng, every link type) and the driver. See `harness.rs`.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::capture(data));

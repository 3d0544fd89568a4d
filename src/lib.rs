//! aibnet: why can't Azure VM Image Builder (AIB) talk to its build VM?
//!
//! The library reads packet captures and Azure NSG / VNet flow logs, rebuilds
//! the sessions they contain, works out which address plays which role in an
//! AIB build (health probe, Private Link NAT, proxy VM, build VM, ACI), stitches
//! the sessions into the build path and reports which hop is broken, with the
//! evidence and the fix.
//!
//! Data flows one way through stages, each a module with one small type at its
//! boundary:
//!
//! ```text
//! ingest ─┬─ capture ── decode ─┐
//!         └─ flowlog ───────────┴─ sessions ── topology ── hops ── findings ── report
//! ```
//!
//! * [`ingest`]: files, directories and stdin → [`ingest::Input`] (bytes, mmap or
//!   gunzipped, with the format detected by content).
//! * [`capture`]: pcap / pcapng → [`capture::RawPacket`] (borrowed frame bytes).
//! * [`decode`]: frame bytes → [`decode::PacketSummary`] (a small `Copy` value).
//! * [`sessions`]: packets (and flow tuples) → [`sessions::SessionTable`] →
//!   [`sessions::Session`]s with Zeek's `conn_state` and `history`.
//! * [`topology`]: sessions → [`topology::Topology`] (roles, OS, vantage points).
//! * [`hops`]: sessions + topology → [`hops::HopReport`]s (status, stitching).
//! * [`findings`]: the rules that turn hop reports into [`findings::Finding`]s.
//! * [`report`]: every command's output behind one interface,
//!   [`report::Render`]: tables, JSON, NDJSON, Markdown, JUnit.
//!
//! Leaves every layer may use: [`aib`] (the AIB vocabulary: hops, statuses,
//! OS, topology kind, verdict, finding ids, ports and addresses), [`time`]
//! (one calendar, one timestamp grammar), [`az`] (the `az` command lines of
//! fixes and plans) and [`resource_id`] (Azure resource ids).
//!
//! Drivers tie the stages together: [`analyze`] (inputs → sessions, parallel),
//! [`diagnose`] (sessions and configuration → diagnosis). Beside the traffic
//! path, [`check`] evaluates the image template, NSGs, subnet, VNET and route
//! table offline, [`explain`] goes from an AIB / Packer error message to the
//! failure class, the hop to suspect, the fix and the commands that collect
//! evidence, and [`builds`] finds and diagnoses every run in days of evidence.
//! With the `columnar` feature (on by default), `columnar` writes sessions
//! and runs as Arrow record batches (Parquet, Arrow IPC) and reads them back.

// Input-derived data never panics the library: no unwrap, expect, panic or
// indexing that can go out of bounds (use get, first_chunk, slice patterns).
// The few justified exceptions are allowed where they stand, with the
// reason. Unit tests may unwrap.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod aib;
pub mod analyze;
pub mod az;
pub mod builds;
pub mod capture;
pub mod check;
#[cfg(feature = "columnar")]
pub mod columnar;
pub mod decode;
pub mod diagnose;
pub mod explain;
pub mod findings;
pub mod flowlog;
pub mod hops;
pub mod ingest;
pub mod phase;
pub mod report;
pub mod resource_id;
pub mod sessions;
pub mod time;
pub mod topology;

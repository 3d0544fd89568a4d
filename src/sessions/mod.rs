//! Sessions: bidirectional TCP / UDP / ICMP conversations rebuilt from packets
//! (and, through the flow-log stage, from flow tuples), with Zeek's
//! `conn_state` and `history`.
//!
//! A [`SessionTable`] holds the sessions of one input (or one shard of one
//! input). Tables merge by concatenation ([`SessionTable::merge`], associative
//! and commutative); [`SessionTable::finish`] then coalesces the views of one
//! connection seen at several capture points into one session listing every
//! input that saw it, and sorts, so the result does not depend on thread count
//! or input order.
//!
//! The modules, in the order data passes through them:
//!
//! * `model`: the output record — [`Session`], its [`Side`]s, [`SeenBy`],
//!   [`IcmpNote`], [`FlowInfo`] with its [`Decision`] and [`Direction`],
//!   [`Proto`].
//! * `key`: [`FlowKey`] (both directions of a flow share it), [`shard`], and
//!   the direction heuristics ([`likely_server_port`]).
//! * `table`: [`SessionTable`] and how packets are applied to sessions; `index`
//!   (its open-flow index), `tcp` (Zeek's TCP endpoint state machine),
//!   `gaps` (content gaps and `missed_bytes` without reassembly) and
//!   `state` ([`ConnState`], [`History`]) serve it.
//! * `flow_record`: [`FlowRecord`], the compact flow-log session, and the
//!   sessions built from it.
//! * `finish`: settling, coalescing and sorting into the final list; `runs`
//!   joins the tables' sorted runs; `finished`: [`Finished`], that list
//!   with each session built as it is read.
//! * `filter`: [`Filter`], which sessions a run keeps (readers drop flow-log
//!   tuples with it early).
//! * `endpoint`: [`Endpoint`], an address and port as the reports write it.

mod endpoint;
mod filter;
mod finish;
mod finished;
mod flow_record;
mod gaps;
mod index;
mod key;
mod model;
mod runs;
mod state;
mod table;
mod tcp;
#[cfg(test)]
pub(crate) mod testing;

pub use endpoint::Endpoint;
pub use filter::Filter;
pub use finish::COALESCE_SKEW_NS;
pub use finished::{Finished, Head, SessionList, Visited};
pub use flow_record::FlowRecord;
pub use key::{FlowKey, likely_server_port, likely_udp_server_port, shard};
pub use model::{
    Decision, Direction, FlowInfo, IcmpNote, Proto, SeenBy, Session, Side, seconds_between,
};
pub use state::{ConnState, History};
pub use table::{
    BATCH, PacketStats, SessionTable, TCP_CLOSE_DELAY_NS, TCP_INACTIVITY_NS, UDP_INACTIVITY_NS,
};

//! Capture: frame pcap and pcapng files into [`RawPacket`]s borrowed from the
//! input's bytes.
//!
//! We frame the files ourselves rather than through `pcap-parser`: its
//! pcapng block parser collects each packet's options into a `Vec` (an
//! allocation per packet on the hot path), it has no obsolete Packet Block
//! (type 2), and we need the byte offset of every fault to report it. The
//! framing is small: a record or block header, checked lengths, a slice.
//!
//! [`PacketIter`] is `Clone`, so a large file can be cut into chunks by a
//! cheap framing pass ([`chunk_starts`]) and the chunks decoded in parallel,
//! each starting from a cloned iterator that carries the pcapng interface
//! table in force at that point.

#[cfg(feature = "live")]
pub mod live;
mod pcap;
mod pcapng;

use crate::ingest::Format;

/// Frames whose captured length exceeds this are treated as a corrupt file:
/// no link type aibnet reads has frames this large, and trusting the length
/// would make one bad header swallow the rest of the file.
pub const MAX_FRAME_LEN: u32 = 256 * 1024;

/// Link-layer header types (LINKTYPE_* numbers) aibnet decodes.
pub mod linktype {
    /// BSD loopback: 4-byte address family in host byte order.
    pub const NULL: u16 = 0;
    /// Ethernet II (with 802.1Q / QinQ tags).
    pub const ETHERNET: u16 = 1;
    /// Raw IP on some BSDs (DLT_RAW 12).
    pub const RAW_BSD: u16 = 12;
    /// Raw IP on OpenBSD (DLT_RAW 14).
    pub const RAW_OPENBSD: u16 = 14;
    /// Raw IPv4 or IPv6, version in the first nibble.
    pub const RAW: u16 = 101;
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: u16 = 108;
    /// Linux cooked capture v1 (16-byte header).
    pub const LINUX_SLL: u16 = 113;
    /// Raw IPv4.
    pub const IPV4: u16 = 228;
    /// Raw IPv6.
    pub const IPV6: u16 = 229;
    /// Linux cooked capture v2 (20-byte header; `tcpdump -i any`).
    pub const LINUX_SLL2: u16 = 276;
}

/// One captured frame, borrowed from the capture file.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// Capture time, nanoseconds since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// Decimal digits of timestamp precision the capture records (6 for
    /// microsecond pcap, 9 for nanosecond ...).
    pub ts_digits: u8,
    /// LINKTYPE_* of the interface that captured it.
    pub linktype: u16,
    /// Length of the frame on the wire.
    pub orig_len: u32,
    /// The captured bytes (possibly fewer than `orig_len`).
    pub data: &'a [u8],
    /// Byte offset of the record/block in the (decompressed) file.
    pub offset: u64,
}

/// Why reading a capture stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte offset {offset}: {reason}")]
pub struct CaptureError {
    /// Byte offset of the record or block that could not be read.
    pub offset: u64,
    /// What was wrong.
    pub reason: String,
}

impl CaptureError {
    pub(crate) fn new(offset: usize, reason: impl Into<String>) -> Self {
        CaptureError {
            offset: offset as u64,
            reason: reason.into(),
        }
    }
}

/// An iterator over the frames of one capture. Stops at the first fault,
/// which it yields as an `Err` (the frames before it were all yielded).
#[derive(Debug, Clone)]
pub enum PacketIter<'a> {
    /// Classic pcap.
    Pcap(pcap::PcapIter<'a>),
    /// pcapng.
    Pcapng(pcapng::PcapngIter<'a>),
}

impl<'a> PacketIter<'a> {
    /// Start reading a capture of the given format. Fails when the file
    /// header itself cannot be read.
    pub fn new(bytes: &'a [u8], format: Format) -> Result<Self, CaptureError> {
        match format {
            Format::Pcap => pcap::PcapIter::new(bytes).map(PacketIter::Pcap),
            Format::Pcapng => Ok(PacketIter::Pcapng(pcapng::PcapngIter::new(bytes))),
            other => Err(CaptureError::new(
                0,
                format!("not a capture (detected {})", other.as_str()),
            )),
        }
    }

    /// Byte offset of the next record to read.
    pub fn position(&self) -> usize {
        match self {
            PacketIter::Pcap(it) => it.position(),
            PacketIter::Pcapng(it) => it.position(),
        }
    }
}

impl<'a> Iterator for PacketIter<'a> {
    type Item = Result<RawPacket<'a>, CaptureError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            PacketIter::Pcap(it) => it.next(),
            PacketIter::Pcapng(it) => it.next(),
        }
    }
}

/// A point where a parallel worker can start reading: an iterator positioned
/// at a record boundary, and the offset where its chunk ends.
#[derive(Debug, Clone)]
pub struct Chunk<'a> {
    /// Iterator positioned at the chunk's first record.
    pub iter: PacketIter<'a>,
    /// Offset of the first record of the next chunk (or `usize::MAX`).
    pub end: usize,
}

/// Cut a capture into chunks of about `target` bytes at record boundaries by
/// a framing-only pass (no decoding). The last chunk runs to the end of the
/// file, where any fault is reported by its iterator.
pub fn chunk_starts<'a>(first: PacketIter<'a>, target: usize) -> Vec<Chunk<'a>> {
    let mut starts: Vec<PacketIter<'a>> = vec![first.clone()];
    let mut it = first;
    let mut next_cut = it.position().saturating_add(target);
    loop {
        let pos = it.position();
        if pos >= next_cut {
            starts.push(it.clone());
            next_cut = pos.saturating_add(target);
        }
        match it.next() {
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    let mut chunks = Vec::with_capacity(starts.len());
    for (i, iter) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(usize::MAX, |n| n.position());
        chunks.push(Chunk {
            iter: iter.clone(),
            end,
        });
    }
    chunks
}

/// Convert `units` of a clock ticking `per_sec` times a second to ns.
#[inline]
pub(crate) fn units_to_ns(units: u64, per_sec: u64) -> i64 {
    if per_sec == 1_000_000_000 {
        return units as i64;
    }
    let ns = (units as u128) * 1_000_000_000 / (per_sec.max(1) as u128);
    i64::try_from(ns).unwrap_or(i64::MAX)
}

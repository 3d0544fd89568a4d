//! pcapng files: a sequence of sections, each a Section Header Block followed
//! by Interface Description Blocks and packet blocks. Every interface has its
//! own link type, snapshot length and timestamp resolution.

use super::{CaptureError, MAX_FRAME_LEN, RawPacket, units_to_ns};
use std::sync::Arc;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const PB_OBSOLETE: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Option codes inside an IDB.
const OPT_END: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u16,
    snaplen: u32,
    /// Clock ticks per second.
    per_sec: u64,
    /// Decimal digits of precision.
    digits: u8,
    /// Seconds added to every timestamp.
    offset_s: i64,
}

/// Reads the packet blocks of a pcapng file.
#[derive(Debug, Clone)]
pub struct PcapngIter<'a> {
    bytes: &'a [u8],
    pos: usize,
    big_endian: bool,
    /// Shared between clones: the parallel reader clones the iterator at
    /// every chunk boundary, and a file with many interface blocks must not
    /// cost a copy of the table per chunk.
    interfaces: Arc<Vec<Interface>>,
    /// Simple Packet Blocks carry no timestamp: they get the previous one.
    last_ts: i64,
    done: bool,
}

impl<'a> PcapngIter<'a> {
    /// Start at the first Section Header Block.
    pub fn new(bytes: &'a [u8]) -> Self {
        PcapngIter {
            bytes,
            pos: 0,
            big_endian: false,
            interfaces: Arc::new(Vec::new()),
            last_ts: 0,
            done: false,
        }
    }

    /// Byte offset of the next block.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn u32_at(&self, b: &[u8], o: usize) -> Option<u32> {
        let a: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }

    fn u16_at(&self, b: &[u8], o: usize) -> Option<u16> {
        let a: [u8; 2] = b.get(o..o + 2)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }

    fn fail(&mut self, at: usize, reason: String) -> Option<Result<RawPacket<'a>, CaptureError>> {
        self.done = true;
        Some(Err(CaptureError::new(at, reason)))
    }

    fn interface(&self, id: u32) -> Option<Interface> {
        self.interfaces.get(id as usize).copied()
    }

    /// Read an IDB body (after type and length) into the interface table.
    fn add_interface(&mut self, body: &[u8]) -> Result<(), String> {
        let linktype = self.u16_at(body, 0).ok_or("interface block too short")?;
        let snaplen = self.u32_at(body, 4).ok_or("interface block too short")?;
        let mut iface = Interface {
            linktype,
            snaplen,
            per_sec: 1_000_000,
            digits: 6,
            offset_s: 0,
        };
        let mut o = 8;
        // Options: code, length, value padded to 4 bytes. A malformed option
        // list only loses the options, not the interface.
        while let (Some(code), Some(len)) = (self.u16_at(body, o), self.u16_at(body, o + 2)) {
            let val = match body.get(o + 4..o + 4 + len as usize) {
                Some(v) => v,
                None => break,
            };
            match code {
                OPT_END => break,
                OPT_IF_TSRESOL if len >= 1 => {
                    let r = val.first().copied().unwrap_or(6);
                    let exp = u32::from(r & 0x7f);
                    if r & 0x80 == 0 {
                        if exp <= 18 {
                            iface.per_sec = 10u64.pow(exp);
                            iface.digits = exp.min(9) as u8;
                        }
                    } else if exp <= 63 {
                        iface.per_sec = 1u64 << exp;
                        // 2^-k seconds needs about k*log10(2) decimal digits.
                        iface.digits = ((exp * 301).div_ceil(1000)).min(9) as u8;
                    }
                }
                OPT_IF_TSOFFSET if len >= 8 => {
                    let a: [u8; 8] = *val.first_chunk::<8>().ok_or("bad if_tsoffset")?;
                    iface.offset_s = if self.big_endian {
                        i64::from_be_bytes(a)
                    } else {
                        i64::from_le_bytes(a)
                    };
                }
                _ => {}
            }
            o += 4 + (len as usize).div_ceil(4) * 4;
        }
        Arc::make_mut(&mut self.interfaces).push(iface);
        Ok(())
    }

    fn ts(&self, iface: Interface, hi: u32, lo: u32) -> i64 {
        let units = (u64::from(hi) << 32) | u64::from(lo);
        units_to_ns(units, iface.per_sec)
            .saturating_add(iface.offset_s.saturating_mul(1_000_000_000))
    }
}

impl<'a> Iterator for PcapngIter<'a> {
    type Item = Result<RawPacket<'a>, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            let at = self.pos;
            let rest = self.bytes.get(at..)?;
            if rest.is_empty() {
                self.done = true;
                return None;
            }
            let Some(&[t0, t1, t2, t3, _, _, _, _, m0, m1, m2, m3]) = rest.first_chunk::<12>()
            else {
                return self.fail(
                    at,
                    format!(
                        "block header truncated ({} of 12 bytes): file cut short?",
                        rest.len()
                    ),
                );
            };
            let raw_type = u32::from_le_bytes([t0, t1, t2, t3]);
            if raw_type == SHB {
                // The byte-order magic decides the endianness of this section.
                let magic = [m0, m1, m2, m3];
                self.big_endian = match u32::from_le_bytes(magic) {
                    BYTE_ORDER_MAGIC => false,
                    m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
                    _ => {
                        return self
                            .fail(at, "section header has no valid byte-order magic".into());
                    }
                };
                self.interfaces = Arc::new(Vec::new());
            } else if at == 0 {
                return self.fail(
                    at,
                    "pcapng file does not start with a section header block".into(),
                );
            }
            let btype = self.u32_at(rest, 0).unwrap_or(0);
            let blen = self.u32_at(rest, 4).unwrap_or(0) as usize;
            if blen < 12 || blen % 4 != 0 {
                return self.fail(
                    at,
                    format!("block length {blen} is invalid (less than 12 or not a multiple of 4)"),
                );
            }
            if blen > rest.len() {
                return self.fail(
                    at,
                    format!("block length {blen} runs past the end of the file ({} bytes left): file cut short?", rest.len()),
                );
            }
            let trailer = self.u32_at(rest, blen - 4).unwrap_or(0) as usize;
            if trailer != blen {
                return self.fail(
                    at,
                    format!("block length {blen} does not match its trailing copy {trailer}"),
                );
            }
            // blen >= 12 and blen <= rest.len() were checked above.
            let body = rest.get(8..blen - 4).unwrap_or_default();
            self.pos = at + blen;
            match btype {
                IDB => {
                    if let Err(reason) = self.add_interface(body) {
                        return self.fail(at, reason);
                    }
                }
                EPB | PB_OBSOLETE => {
                    let (if_id, hdr) = if btype == EPB {
                        (self.u32_at(body, 0), 20)
                    } else {
                        (self.u16_at(body, 0).map(u32::from), 20)
                    };
                    let (Some(if_id), Some(hi), Some(lo), Some(caplen), Some(orig)) = (
                        if_id,
                        self.u32_at(body, 4),
                        self.u32_at(body, 8),
                        self.u32_at(body, 12),
                        self.u32_at(body, 16),
                    ) else {
                        return self.fail(at, "packet block too short".into());
                    };
                    let Some(iface) = self.interface(if_id) else {
                        return self.fail(
                            at,
                            format!(
                                "packet block names interface {if_id}, which was never described"
                            ),
                        );
                    };
                    if caplen > MAX_FRAME_LEN {
                        return self.fail(at, format!("captured length {caplen} exceeds {MAX_FRAME_LEN} bytes: corrupt block"));
                    }
                    let Some(data) = body.get(hdr..hdr + caplen as usize) else {
                        return self.fail(
                            at,
                            format!("captured length {caplen} exceeds the block ({blen} bytes)"),
                        );
                    };
                    let ts_ns = self.ts(iface, hi, lo);
                    self.last_ts = ts_ns;
                    return Some(Ok(RawPacket {
                        ts_ns,
                        ts_digits: iface.digits,
                        linktype: iface.linktype,
                        orig_len: orig.max(caplen),
                        data,
                        offset: at as u64,
                    }));
                }
                SPB => {
                    let Some(iface) = self.interface(0) else {
                        return self.fail(
                            at,
                            "simple packet block before any interface description".into(),
                        );
                    };
                    let Some(orig) = self.u32_at(body, 0) else {
                        return self.fail(at, "simple packet block too short".into());
                    };
                    let snap = if iface.snaplen == 0 {
                        MAX_FRAME_LEN
                    } else {
                        iface.snaplen.min(MAX_FRAME_LEN)
                    };
                    let caplen = (orig.min(snap) as usize).min(body.len().saturating_sub(4));
                    let data = body.get(4..4 + caplen).unwrap_or(&[]);
                    return Some(Ok(RawPacket {
                        ts_ns: self.last_ts,
                        ts_digits: iface.digits,
                        linktype: iface.linktype,
                        orig_len: orig,
                        data,
                        offset: at as u64,
                    }));
                }
                // Name resolution, statistics, custom and unknown blocks carry
                // no packets.
                _ => {}
            }
        }
    }
}

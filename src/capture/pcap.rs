//! Classic libpcap files: a 24-byte file header, then 16-byte record headers
//! each followed by the captured bytes.

use super::{CaptureError, MAX_FRAME_LEN, RawPacket};

const FILE_HEADER_LEN: usize = 24;

/// Reads the records of a pcap file.
#[derive(Debug, Clone)]
pub struct PcapIter<'a> {
    bytes: &'a [u8],
    pos: usize,
    big_endian: bool,
    nanos: bool,
    /// Kuznetzov's modified format: 8 more bytes per record header.
    modified: bool,
    linktype: u16,
    snaplen: u32,
    done: bool,
}

impl<'a> PcapIter<'a> {
    /// Read the file header.
    pub fn new(bytes: &'a [u8]) -> Result<Self, CaptureError> {
        let Some(h) = bytes.first_chunk::<FILE_HEADER_LEN>() else {
            return Err(CaptureError::new(
                0,
                format!("pcap file header truncated ({} of 24 bytes)", bytes.len()),
            ));
        };
        let magic = word(h, 0);
        let (big_endian, nanos, modified) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false, false),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true, false),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true, false),
            [0x34, 0xcd, 0xb2, 0xa1] => (false, false, true),
            [0xa1, 0xb2, 0xcd, 0x34] => (true, false, true),
            _ => return Err(CaptureError::new(0, "not a pcap magic number")),
        };
        let snaplen = read_u32(word(h, 16), big_endian);
        // The upper bits of the link-type field carry FCS information.
        let linktype = (read_u32(word(h, 20), big_endian) & 0xffff) as u16;
        Ok(PcapIter {
            bytes,
            pos: FILE_HEADER_LEN,
            big_endian,
            nanos,
            modified,
            linktype,
            snaplen,
            done: false,
        })
    }

    /// Byte offset of the next record.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn fail(&mut self, reason: String) -> Option<Result<RawPacket<'a>, CaptureError>> {
        self.done = true;
        Some(Err(CaptureError::new(self.pos, reason)))
    }
}

const RECORD_HEADER_LEN: usize = 16;

/// The 4 bytes at `o` of a fixed-size header (zeros past its end, which
/// the callers' constant offsets never reach).
#[inline]
fn word<const N: usize>(h: &[u8; N], o: usize) -> [u8; 4] {
    h.get(o..)
        .and_then(|b| b.first_chunk::<4>())
        .copied()
        .unwrap_or_default()
}

#[inline]
fn read_u32(b: [u8; 4], big_endian: bool) -> u32 {
    if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

impl<'a> Iterator for PcapIter<'a> {
    type Item = Result<RawPacket<'a>, CaptureError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.bytes.get(self.pos..)?;
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        let hdr_len = if self.modified { 24 } else { 16 };
        // The modified format's 8 extra bytes follow the 16 read here.
        let Some(h) = rest
            .get(..hdr_len)
            .and_then(|h| h.first_chunk::<RECORD_HEADER_LEN>())
        else {
            let n = rest.len();
            return self.fail(format!(
                "record header truncated ({n} of {hdr_len} bytes): file cut short?"
            ));
        };
        let rd = |o: usize| read_u32(word(h, o), self.big_endian);
        let (secs, frac, caplen, orig_len) = (rd(0), rd(4), rd(8), rd(12));
        // A snapshot length of 0 means "unlimited" in some writers.
        let snap = if self.snaplen == 0 {
            MAX_FRAME_LEN
        } else {
            self.snaplen
        };
        if caplen > MAX_FRAME_LEN {
            return self.fail(format!(
                "captured length {caplen} exceeds {MAX_FRAME_LEN} bytes: corrupt record header"
            ));
        }
        if caplen > snap {
            return self.fail(format!(
                "captured length {caplen} exceeds the file's snapshot length {snap}: corrupt record header"
            ));
        }
        let start = hdr_len;
        let end = start + caplen as usize;
        let Some(data) = rest.get(start..end) else {
            let have = rest.len() - start.min(rest.len());
            return self.fail(format!(
                "packet data truncated ({have} of {caplen} bytes): file cut short?"
            ));
        };
        let ts_ns = if self.nanos {
            i64::from(secs) * 1_000_000_000 + i64::from(frac.min(999_999_999))
        } else {
            i64::from(secs) * 1_000_000_000 + i64::from(frac.min(999_999)) * 1000
        };
        let offset = self.pos as u64;
        self.pos += end;
        Some(Ok(RawPacket {
            ts_ns,
            ts_digits: if self.nanos { 9 } else { 6 },
            linktype: self.linktype,
            orig_len: orig_len.max(caplen),
            data,
            offset,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(records: &[(&[u8], u32)]) -> Vec<u8> {
        let mut v = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        for (i, (data, caplen)) in records.iter().enumerate() {
            v.extend_from_slice(&(100 + i as u32).to_le_bytes());
            v.extend_from_slice(&5u32.to_le_bytes());
            v.extend_from_slice(&caplen.to_le_bytes());
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
            v.extend_from_slice(data);
        }
        v
    }

    #[test]
    fn reads_records_and_stops_at_a_huge_length() {
        let f = file(&[(b"abcd", 4), (b"xy", 4_000_000_000)]);
        let mut it = PcapIter::new(&f).unwrap();
        let p = it.next().unwrap().unwrap();
        assert_eq!(p.data, b"abcd");
        assert_eq!(p.ts_ns, 100_000_005_000);
        assert_eq!(p.offset, 24);
        let e = it.next().unwrap().unwrap_err();
        assert_eq!(e.offset, 24 + 16 + 4);
        assert!(e.reason.contains("exceeds"), "{e}");
        assert!(it.next().is_none());
    }

    #[test]
    fn truncated_data_is_an_error_at_the_record() {
        let mut f = file(&[(b"abcd", 4), (b"efgh", 4)]);
        f.truncate(f.len() - 2);
        let it = PcapIter::new(&f).unwrap();
        let r: Vec<_> = it.collect();
        assert_eq!(r.len(), 2);
        assert!(r[0].is_ok());
        let e = r[1].as_ref().unwrap_err();
        assert_eq!(e.offset, 44);
        assert!(e.reason.contains("truncated (2 of 4 bytes)"), "{e}");
    }
}

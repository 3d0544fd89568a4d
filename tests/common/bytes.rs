//! Byte builders for captures, frames and compressed data, shared by the
//! hostile-input and property tests. Checksums are left zero: aibnet does not
//! verify them.

#![allow(dead_code)]

use std::io::Write;
use std::net::Ipv4Addr;

pub const ETH_IPV4: u16 = 0x0800;
pub const ETH_IPV6: u16 = 0x86dd;

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const FIN: u8 = 0x01;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;

/// Ethernet II frame.
pub fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// IPv4 header (with `options`, padded to 4 bytes) and payload.
pub fn ipv4(proto: u8, src: Ipv4Addr, dst: Ipv4Addr, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut opts = options.to_vec();
    while opts.len() % 4 != 0 {
        opts.push(0);
    }
    let ihl = (20 + opts.len()) / 4;
    let total = (20 + opts.len() + payload.len()) as u16;
    let mut v = vec![0x40 | ihl as u8, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&dst.octets());
    v.extend_from_slice(&opts);
    v.extend_from_slice(payload);
    v
}

/// IPv6 header and payload (`next` is the first next-header value).
pub fn ipv6(next: u8, src: [u8; 16], dst: [u8; 16], payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.push(next);
    v.push(64);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(payload);
    v
}

/// TCP header (no options) and payload.
pub fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(20 + payload.len());
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ack.to_be_bytes());
    v.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    v.extend_from_slice(payload);
    v
}

/// UDP header and payload.
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + payload.len());
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

/// An Ethernet/IPv4/TCP frame.
#[allow(clippy::too_many_arguments)]
pub fn tcp4(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    eth(
        ETH_IPV4,
        &ipv4(
            6,
            src.into(),
            dst.into(),
            &[],
            &tcp(sport, dport, seq, ack, flags, payload),
        ),
    )
}

/// An Ethernet/IPv4/UDP frame.
pub fn udp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    eth(
        ETH_IPV4,
        &ipv4(17, src.into(), dst.into(), &[], &udp(sport, dport, payload)),
    )
}

/// A complete TCP conversation (handshake, data, FIN exchange) as frames
/// with times in seconds from `t0`.
pub fn tcp_conversation(
    c: [u8; 4],
    cp: u16,
    s: [u8; 4],
    sp: u16,
    t0: u32,
) -> Vec<(u32, u32, Vec<u8>)> {
    let (ci, si) = (1000u32, 5000u32);
    vec![
        (t0, 0, tcp4(c, cp, s, sp, SYN, ci, 0, b"")),
        (t0, 1000, tcp4(s, sp, c, cp, SYN | ACK, si, ci + 1, b"")),
        (t0, 2000, tcp4(c, cp, s, sp, ACK, ci + 1, si + 1, b"")),
        (
            t0,
            3000,
            tcp4(c, cp, s, sp, PSH | ACK, ci + 1, si + 1, b"hello"),
        ),
        (t0, 4000, tcp4(s, sp, c, cp, ACK, si + 1, ci + 6, b"")),
        (
            t0 + 1,
            0,
            tcp4(c, cp, s, sp, FIN | ACK, ci + 6, si + 1, b""),
        ),
        (
            t0 + 1,
            1000,
            tcp4(s, sp, c, cp, FIN | ACK, si + 1, ci + 7, b""),
        ),
        (t0 + 1, 2000, tcp4(c, cp, s, sp, ACK, ci + 7, si + 2, b"")),
    ]
}

/// Classic pcap file header (little endian).
pub fn pcap_header(nanos: bool, snaplen: u32, linktype: u32) -> Vec<u8> {
    let magic: [u8; 4] = if nanos {
        [0x4d, 0x3c, 0xb2, 0xa1]
    } else {
        [0xd4, 0xc3, 0xb2, 0xa1]
    };
    let mut v = magic.to_vec();
    v.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    v.extend_from_slice(&snaplen.to_le_bytes());
    v.extend_from_slice(&linktype.to_le_bytes());
    v
}

/// A pcap record header with explicit lengths, and the data.
pub fn pcap_record_raw(secs: u32, frac: u32, caplen: u32, orig: u32, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + data.len());
    v.extend_from_slice(&secs.to_le_bytes());
    v.extend_from_slice(&frac.to_le_bytes());
    v.extend_from_slice(&caplen.to_le_bytes());
    v.extend_from_slice(&orig.to_le_bytes());
    v.extend_from_slice(data);
    v
}

/// A pcap record holding the whole frame.
pub fn pcap_record(secs: u32, frac: u32, data: &[u8]) -> Vec<u8> {
    pcap_record_raw(secs, frac, data.len() as u32, data.len() as u32, data)
}

/// A microsecond Ethernet pcap of the given frames.
pub fn pcap(frames: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut v = pcap_header(false, 65535, 1);
    for (s, us, f) in frames {
        v.extend(pcap_record(*s, *us, f));
    }
    v
}

/// A pcapng block of the given type around `body` (padded to 4 bytes).
pub fn block(btype: u32, body: &[u8]) -> Vec<u8> {
    let mut b = body.to_vec();
    while b.len() % 4 != 0 {
        b.push(0);
    }
    let len = (12 + b.len()) as u32;
    let mut v = btype.to_le_bytes().to_vec();
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(&b);
    v.extend_from_slice(&len.to_le_bytes());
    v
}

/// Section header block (little endian, unknown section length).
pub fn shb() -> Vec<u8> {
    let mut body = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
    body.extend_from_slice(&[1, 0, 0, 0]);
    body.extend_from_slice(&u64::MAX.to_le_bytes());
    block(0x0A0D_0D0A, &body)
}

/// Interface description block with raw option bytes.
pub fn idb(linktype: u16, snaplen: u32, options: &[u8]) -> Vec<u8> {
    let mut body = linktype.to_le_bytes().to_vec();
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&snaplen.to_le_bytes());
    body.extend_from_slice(options);
    block(1, &body)
}

/// One pcapng option (code, value padded to 4 bytes).
pub fn opt(code: u16, value: &[u8]) -> Vec<u8> {
    let mut v = code.to_le_bytes().to_vec();
    v.extend_from_slice(&(value.len() as u16).to_le_bytes());
    v.extend_from_slice(value);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

/// Enhanced packet block with a raw 64-bit timestamp.
pub fn epb(if_id: u32, ts: u64, data: &[u8]) -> Vec<u8> {
    let mut body = if_id.to_le_bytes().to_vec();
    body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    block(6, &body)
}

/// gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A one-frame ICMP error capture (classic pcap, Ethernet) with the datagram
/// its error quotes put in front of it, one second earlier (rebuilt from the
/// quoted header): the error then belongs to that datagram's session.
pub fn quoted_datagram_first(bytes: &[u8]) -> Vec<u8> {
    let (hdr, rec) = bytes.split_at(24);
    let caplen = u32::from_le_bytes(rec[8..12].try_into().unwrap()) as usize;
    let frame = &rec[16..16 + caplen];
    // Ethernet (14) + IPv4 (20) + ICMP (8), then the quoted IPv4 datagram.
    let quoted = &frame[14 + 20 + 8..];
    let qlen = usize::from(u16::from_be_bytes([quoted[2], quoted[3]])).min(quoted.len());
    let mut udp_frame = frame[..14].to_vec();
    udp_frame.extend_from_slice(&quoted[..qlen]);
    let mut file = hdr.to_vec();
    let mut record = |ts_s: u32, data: &[u8]| {
        file.extend_from_slice(&ts_s.to_le_bytes());
        file.extend_from_slice(&0u32.to_le_bytes());
        file.extend_from_slice(&(data.len() as u32).to_le_bytes());
        file.extend_from_slice(&(data.len() as u32).to_le_bytes());
        file.extend_from_slice(data);
    };
    let ts = u32::from_le_bytes(rec[0..4].try_into().unwrap());
    record(ts - 1, &udp_frame);
    record(ts, frame);
    file
}

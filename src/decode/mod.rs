//! Decode: frame bytes → [`PacketSummary`], a small `Copy` value holding only
//! what the session stage needs (addresses, ports, TCP flags and sequence
//! numbers, lengths, an embedded ICMP error). etherparse slices the headers;
//! the link layers it lacks (Linux SLL v1/v2, BSD loopback) are read here.
//! Nothing on this path allocates.

use crate::capture::{RawPacket, linktype};
use etherparse::{
    EtherType, Icmpv4Slice, Icmpv6Slice, LaxIpSlice, LaxIpv4Slice, LaxIpv6Slice, LaxNetSlice,
    LaxSlicedPacket, TcpSlice, TransportSlice, UdpSlice,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol numbers aibnet tracks.
pub mod proto {
    /// ICMP for IPv4.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
}

/// TCP flag bits as in the header.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// The five-tuple of a packet as sent (source first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FiveTuple {
    /// IP protocol number.
    pub proto: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (ICMP: the type, as Zeek does).
    pub sport: u16,
    /// Destination port (ICMP: the code, or the counterpart type).
    pub dport: u16,
}

/// An ICMP error (destination unreachable, time exceeded ...) and the packet
/// it is about, as named by the header embedded in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpError {
    /// ICMP type (3 = destination unreachable for IPv4, 1 for IPv6 ...).
    pub icmp_type: u8,
    /// ICMP code (3 = port unreachable ...).
    pub code: u8,
    /// The host that sent the error.
    pub reporter: IpAddr,
    /// The five-tuple of the embedded (offending) packet, when it could be read.
    pub about: Option<FiveTuple>,
    /// Whether it came from an IPv6 packet (ICMPv6).
    pub v6: bool,
}

/// What the session stage needs of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketSummary {
    /// Capture time, ns since the epoch.
    pub ts_ns: i64,
    /// Timestamp precision in decimal digits.
    pub ts_digits: u8,
    /// Five-tuple as sent.
    pub tuple: FiveTuple,
    /// TCP flags (0 for other protocols).
    pub flags: u8,
    /// TCP sequence number.
    pub seq: u32,
    /// TCP acknowledgment number.
    pub ack: u32,
    /// Transport payload length as the IP header declares it (not what was
    /// captured: snaplen-truncated packets count in full); for a TCP
    /// segment whose IPv4 total length is 0 (segmentation offload), what
    /// was captured, as Zeek reads it.
    pub payload_len: u32,
    /// The capture holds less of the transport payload than `payload_len`
    /// (cut by the snap length): Zeek does not count such a TCP segment as
    /// seen content, so what it carried is a content gap once acknowledged.
    pub payload_cut: bool,
    /// IP datagram length (header included) as declared.
    pub ip_len: u32,
    /// The first byte of a UDP payload as captured, 0 when there is none
    /// (NTP's mode is in it: Zeek's NTP analyzer orients by it).
    pub udp_first_byte: u8,
    /// Set for ICMP error messages.
    pub icmp_error: Option<IcmpError>,
}

/// Why a frame did not yield a summary. Counted per input, not fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// Not IP (ARP, LLDP, STP ...).
    NotIp,
    /// A link type aibnet does not decode.
    UnsupportedLinktype,
    /// The link or IP header is cut short or malformed.
    MalformedHeader,
    /// The transport header is cut short.
    TruncatedTransport,
    /// A non-first IP fragment (no ports to key it by).
    Fragment,
    /// An IP protocol other than TCP, UDP, ICMP, ICMPv6.
    OtherProtocol,
}

impl SkipReason {
    /// Stable name for JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NotIp => "not_ip",
            SkipReason::UnsupportedLinktype => "unsupported_linktype",
            SkipReason::MalformedHeader => "malformed_header",
            SkipReason::TruncatedTransport => "truncated_transport",
            SkipReason::Fragment => "ip_fragment",
            SkipReason::OtherProtocol => "other_protocol",
        }
    }
}

/// The five-tuple of a plain frame — Ethernet II, IPv4 without fragmentation,
/// TCP or UDP — read at fixed offsets without decoding it; `None` for every
/// other frame. Threads that share a capture by flow use it to pass over the
/// frames of other threads' flows without decoding them. Whenever [`decode`]
/// succeeds on a frame this returns `Some` for, both give the same tuple
/// (tested on every reference trace and lab capture).
#[inline]
pub fn plain_flow(pkt: &RawPacket<'_>) -> Option<FiveTuple> {
    if pkt.linktype != linktype::ETHERNET {
        return None;
    }
    let d = pkt.data;
    if d.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = d.get(14..)?;
    let vihl = *ip.first()?;
    let ihl = usize::from(vihl & 0x0f) * 4;
    let frag = u16::from_be_bytes(*ip.get(6..8)?.first_chunk::<2>()?);
    let proto = *ip.get(9)?;
    // Version 4, a valid header length, neither a fragment nor one to come.
    if vihl >> 4 != 4 || ihl < 20 || frag & 0x3fff != 0 || !matches!(proto, proto::TCP | proto::UDP)
    {
        return None;
    }
    let addr = |at: usize| -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::from(
            *ip.get(at..at + 4)?.first_chunk::<4>()?,
        )))
    };
    let ports = ip.get(ihl..ihl + 4)?;
    Some(FiveTuple {
        proto,
        src: addr(12)?,
        dst: addr(16)?,
        sport: u16::from_be_bytes([*ports.first()?, *ports.get(1)?]),
        dport: u16::from_be_bytes([*ports.get(2)?, *ports.get(3)?]),
    })
}

/// Decode one frame.
pub fn decode(pkt: &RawPacket<'_>) -> Result<PacketSummary, SkipReason> {
    let mut s = match ip_start(pkt.linktype, pkt.data) {
        // Most frames: the IP packet is sliced on its own. etherparse's
        // whole-packet slicer returns a large value through every layer, and
        // moving it was half the time of decoding.
        Some(ip) => summarize_ip(ip)?,
        None => summarize(&slice_link(pkt.linktype, pkt.data)?)?,
    };
    s.ts_ns = pkt.ts_ns;
    s.ts_digits = pkt.ts_digits;
    Ok(s)
}

/// [`decode`] through etherparse's whole-packet slicer for every frame. The
/// reference [`decode`] is tested against: both give the same result on
/// every frame (every reference trace and lab capture, and mutated frames).
pub fn decode_sliced(pkt: &RawPacket<'_>) -> Result<PacketSummary, SkipReason> {
    let mut s = summarize(&slice_link(pkt.linktype, pkt.data)?)?;
    s.ts_ns = pkt.ts_ns;
    s.ts_digits = pkt.ts_digits;
    Ok(s)
}

/// Where the IP packet starts, for the link layers whose header says it
/// carries IP (untagged Ethernet, raw IP): there [`slice_link`] hands the
/// rest to etherparse's IP slicer, which [`summarize_ip`] calls directly.
/// `None` for every other frame.
#[inline]
fn ip_start(lt: u16, data: &[u8]) -> Option<&[u8]> {
    match lt {
        linktype::ETHERNET => match data.get(12..14)? {
            [0x08, 0x00] | [0x86, 0xdd] => data.get(14..),
            _ => None,
        },
        linktype::RAW
        | linktype::RAW_BSD
        | linktype::RAW_OPENBSD
        | linktype::IPV4
        | linktype::IPV6 => Some(data),
        _ => None,
    }
}

/// Summarize an IP packet the way [`summarize`] does the slicer's result:
/// the same etherparse slicers, layer by layer.
fn summarize_ip(data: &[u8]) -> Result<PacketSummary, SkipReason> {
    let (ip, ext_err) = LaxIpSlice::from_slice(data).map_err(|_| SkipReason::MalformedHeader)?;
    let (net, payload) = match &ip {
        LaxIpSlice::Ipv4(v4) => (Net::v4(v4), v4.payload()),
        LaxIpSlice::Ipv6(v6) => (Net::v6(v6), v6.payload()),
    };
    // The slicer stops at a broken extension header or a fragment.
    let transport = if ext_err.is_some() || payload.fragmented {
        None
    } else {
        let pl = payload.payload;
        match payload.ip_number.0 {
            proto::TCP => TcpSlice::from_slice(pl).ok().map(TransportSlice::Tcp),
            proto::UDP => UdpSlice::from_slice_lax(pl).ok().map(TransportSlice::Udp),
            proto::ICMP => Icmpv4Slice::from_slice(pl).ok().map(TransportSlice::Icmpv4),
            proto::ICMPV6 => Icmpv6Slice::from_slice(pl).ok().map(TransportSlice::Icmpv6),
            // Other protocols (IGMP ...) are skipped whether they slice or not.
            _ => None,
        }
    };
    summarize_net(net, transport.as_ref())
}

fn slice_link(lt: u16, data: &[u8]) -> Result<LaxSlicedPacket<'_>, SkipReason> {
    match lt {
        linktype::ETHERNET => match mpls_payload(data) {
            // etherparse does not read MPLS: step over the label stack and
            // hand it the IP packet underneath.
            Some(ip) => LaxSlicedPacket::from_ip(ip).map_err(|_| SkipReason::MalformedHeader),
            None => LaxSlicedPacket::from_ethernet(data).map_err(|_| SkipReason::MalformedHeader),
        },
        linktype::RAW
        | linktype::RAW_BSD
        | linktype::RAW_OPENBSD
        | linktype::IPV4
        | linktype::IPV6 => LaxSlicedPacket::from_ip(data).map_err(|_| SkipReason::MalformedHeader),
        linktype::LINUX_SLL => {
            // 16-byte header; protocol type (an EtherType) in the last 2 bytes.
            let et = data
                .get(14..)
                .and_then(|b| b.first_chunk::<2>())
                .ok_or(SkipReason::MalformedHeader)?;
            let rest = data.get(16..).ok_or(SkipReason::MalformedHeader)?;
            Ok(LaxSlicedPacket::from_ether_type(
                EtherType(u16::from_be_bytes(*et)),
                rest,
            ))
        }
        linktype::LINUX_SLL2 => {
            // 20-byte header; protocol type (an EtherType) in the first 2 bytes.
            let et = data.first_chunk::<2>().ok_or(SkipReason::MalformedHeader)?;
            let rest = data.get(20..).ok_or(SkipReason::MalformedHeader)?;
            Ok(LaxSlicedPacket::from_ether_type(
                EtherType(u16::from_be_bytes(*et)),
                rest,
            ))
        }
        linktype::NULL | linktype::LOOP => {
            let fam: [u8; 4] = *data.first_chunk::<4>().ok_or(SkipReason::MalformedHeader)?;
            // NULL is host byte order of the capturing machine: accept either.
            let family = if lt == linktype::LOOP {
                u32::from_be_bytes(fam)
            } else {
                let le = u32::from_le_bytes(fam);
                if le < 0x10000 {
                    le
                } else {
                    u32::from_be_bytes(fam)
                }
            };
            let rest = data.get(4..).ok_or(SkipReason::MalformedHeader)?;
            match family {
                // AF_INET everywhere; AF_INET6 is 10, 24, 28 or 30 by OS.
                2 | 10 | 24 | 28 | 30 => {
                    LaxSlicedPacket::from_ip(rest).map_err(|_| SkipReason::MalformedHeader)
                }
                _ => Err(SkipReason::NotIp),
            }
        }
        _ => Err(SkipReason::UnsupportedLinktype),
    }
}

/// The IP packet under an MPLS label stack in an Ethernet frame (after any
/// VLAN tags), or `None` when the frame carries no MPLS.
fn mpls_payload(data: &[u8]) -> Option<&[u8]> {
    let be16 = |o: usize| {
        data.get(o..)
            .and_then(|b| b.first_chunk::<2>())
            .map(|b| u16::from_be_bytes(*b))
    };
    let mut ether_type = be16(12)?;
    let mut off = 14;
    // 802.1Q, 802.1ad and the old QinQ tag: 4 bytes each.
    while matches!(ether_type, 0x8100 | 0x88a8 | 0x9100) {
        ether_type = be16(off + 2)?;
        off += 4;
    }
    if ether_type != 0x8847 && ether_type != 0x8848 {
        return None;
    }
    // Labels are 4 bytes; the bottom of the stack has the S bit set.
    loop {
        let label = data.get(off..)?.first_chunk::<4>()?;
        off += 4;
        if label[2] & 1 == 1 {
            break;
        }
    }
    let ip = data.get(off..)?;
    matches!(ip.first()? >> 4, 4 | 6).then_some(ip)
}

/// What the session stage needs of the IP header.
struct Net {
    src: IpAddr,
    dst: IpAddr,
    /// Datagram length as declared.
    ip_len: u32,
    /// Transport length as declared (extension headers excluded).
    payload_declared: u32,
    fragmented: bool,
    ip_number: u8,
    /// The IP payload as captured when an IPv4 header declares a total
    /// length of 0 (written so by TCP segmentation offload on the capturing
    /// host): Zeek's TCP analyzer then takes everything captured after the
    /// TCP header as the segment's payload (`TCPAnalyzer::DeliverPacket`),
    /// so such a segment is data (`D`), not a pure ACK (`A`).
    offloaded: Option<u32>,
}

impl Net {
    fn v4(v4: &LaxIpv4Slice<'_>) -> Net {
        let h = v4.header();
        let total = u32::from(h.total_len());
        let hl = u32::from(h.ihl()) * 4;
        let pl = v4.payload();
        Net {
            src: IpAddr::V4(h.source_addr()),
            dst: IpAddr::V4(h.destination_addr()),
            ip_len: total,
            payload_declared: total.saturating_sub(hl),
            fragmented: pl.fragmented,
            ip_number: pl.ip_number.0,
            offloaded: (total == 0).then(|| u32::try_from(pl.payload.len()).unwrap_or(u32::MAX)),
        }
    }

    fn v6(v6: &LaxIpv6Slice<'_>) -> Net {
        let h = v6.header();
        let pl = v6.payload();
        let ext_len = v6.extensions().slice().len() as u32;
        let declared = u32::from(h.payload_length());
        Net {
            src: IpAddr::V6(h.source_addr()),
            dst: IpAddr::V6(h.destination_addr()),
            ip_len: declared + 40,
            payload_declared: declared.saturating_sub(ext_len),
            fragmented: pl.fragmented,
            ip_number: pl.ip_number.0,
            offloaded: None,
        }
    }
}

fn summarize(p: &LaxSlicedPacket<'_>) -> Result<PacketSummary, SkipReason> {
    let net = match &p.net {
        Some(LaxNetSlice::Ipv4(v4)) => Net::v4(v4),
        Some(LaxNetSlice::Ipv6(v6)) => Net::v6(v6),
        Some(LaxNetSlice::Arp(_)) => return Err(SkipReason::NotIp),
        None => {
            return Err(match p.stop_err {
                Some(_) => SkipReason::MalformedHeader,
                None => SkipReason::NotIp,
            });
        }
    };
    summarize_net(net, p.transport.as_ref())
}

fn summarize_net(
    net: Net,
    transport: Option<&TransportSlice<'_>>,
) -> Result<PacketSummary, SkipReason> {
    let Net {
        src,
        dst,
        ip_len,
        payload_declared,
        fragmented,
        ip_number,
        offloaded,
    } = net;
    let mut s = PacketSummary {
        ts_ns: 0,
        ts_digits: 6,
        tuple: FiveTuple {
            proto: ip_number,
            src,
            dst,
            sport: 0,
            dport: 0,
        },
        flags: 0,
        seq: 0,
        ack: 0,
        payload_len: 0,
        payload_cut: false,
        ip_len,
        udp_first_byte: 0,
        icmp_error: None,
    };
    match transport {
        Some(TransportSlice::Tcp(t)) => {
            s.tuple.sport = t.source_port();
            s.tuple.dport = t.destination_port();
            let hdr = t.header_slice();
            s.flags = hdr.get(13).copied().unwrap_or(0) & 0x1f;
            s.seq = t.sequence_number();
            s.ack = t.acknowledgment_number();
            s.payload_len = offloaded
                .unwrap_or(payload_declared)
                .saturating_sub(u32::from(t.data_offset()) * 4);
            s.payload_cut = u32::try_from(t.payload().len()).unwrap_or(u32::MAX) < s.payload_len;
        }
        Some(TransportSlice::Udp(u)) => {
            s.tuple.sport = u.source_port();
            s.tuple.dport = u.destination_port();
            s.payload_len = payload_declared.saturating_sub(8);
            s.udp_first_byte = u.payload().first().copied().unwrap_or(0);
        }
        Some(TransportSlice::Icmpv4(i)) => {
            let (t, c) = (i.type_u8(), i.code_u8());
            s.payload_len = payload_declared.saturating_sub(8);
            match t {
                // Destination unreachable, source quench, redirect, time
                // exceeded, parameter problem: errors about another packet.
                3 | 4 | 5 | 11 | 12 => {
                    s.icmp_error = Some(IcmpError {
                        icmp_type: t,
                        code: c,
                        reporter: src,
                        about: embedded(i.payload()),
                        v6: false,
                    });
                    (s.tuple.sport, s.tuple.dport) = (u16::from(t), u16::from(c));
                }
                _ => (s.tuple.sport, s.tuple.dport) = icmp_ports(t, c, false),
            }
        }
        Some(TransportSlice::Icmpv6(i)) => {
            let (t, c) = (i.type_u8(), i.code_u8());
            s.payload_len = payload_declared.saturating_sub(8);
            match t {
                // Destination unreachable, packet too big, time exceeded,
                // parameter problem.
                1..=4 => {
                    s.icmp_error = Some(IcmpError {
                        icmp_type: t,
                        code: c,
                        reporter: src,
                        about: embedded(i.payload()),
                        v6: true,
                    });
                    (s.tuple.sport, s.tuple.dport) = (u16::from(t), u16::from(c));
                }
                _ => (s.tuple.sport, s.tuple.dport) = icmp_ports(t, c, true),
            }
        }
        Some(_) => return Err(SkipReason::OtherProtocol),
        None => {
            if fragmented {
                return Err(SkipReason::Fragment);
            }
            return Err(match ip_number {
                proto::TCP | proto::UDP | proto::ICMP | proto::ICMPV6 => {
                    SkipReason::TruncatedTransport
                }
                _ => SkipReason::OtherProtocol,
            });
        }
    }
    Ok(s)
}

/// Zeek keys ICMP "connections" by type and code, mapping a request and its
/// reply to the same pair so both directions land in one session: the
/// originator's port is the request type, the responder's the reply type.
fn icmp_ports(t: u8, c: u8, v6: bool) -> (u16, u16) {
    let pair: Option<(u8, u8)> = if v6 {
        match t {
            128 | 129 => Some((128, 129)), // echo
            133 | 134 => Some((133, 134)), // router solicitation / advert
            135 | 136 => Some((135, 136)), // neighbour solicitation / advert
            _ => None,
        }
    } else {
        match t {
            8 | 0 => Some((8, 0)),     // echo
            13 | 14 => Some((13, 14)), // timestamp
            15 | 16 => Some((15, 16)), // information
            17 | 18 => Some((17, 18)), // address mask
            10 | 9 => Some((10, 9)),   // router solicitation / advert
            _ => None,
        }
    };
    match pair {
        // Replies are sent by the responder: source port = reply type.
        Some((req, rep)) if t == rep => (u16::from(rep), u16::from(req)),
        Some((req, rep)) => (u16::from(req), u16::from(rep)),
        None => (u16::from(t), u16::from(c)),
    }
}

/// Read the five-tuple of the IP header (and first 8 transport bytes) an ICMP
/// error embeds. Lengths are checked by hand: the embedded header is often
/// cut short on purpose (RFC 792 requires only 8 bytes of it).
fn embedded(b: &[u8]) -> Option<FiveTuple> {
    let version = b.first()? >> 4;
    let (proto, src, dst, l4): (u8, IpAddr, IpAddr, &[u8]) = match version {
        4 => {
            let ihl = usize::from(b.first()? & 0x0f) * 4;
            if ihl < 20 {
                return None;
            }
            let a: [u8; 4] = b.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = b.get(16..20)?.try_into().ok()?;
            (
                *b.get(9)?,
                IpAddr::V4(Ipv4Addr::from(a)),
                IpAddr::V4(Ipv4Addr::from(d)),
                b.get(ihl..).unwrap_or(&[]),
            )
        }
        6 => {
            let a: [u8; 16] = b.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = b.get(24..40)?.try_into().ok()?;
            (
                *b.get(6)?,
                IpAddr::V6(Ipv6Addr::from(a)),
                IpAddr::V6(Ipv6Addr::from(d)),
                b.get(40..).unwrap_or(&[]),
            )
        }
        _ => return None,
    };
    let (sport, dport) = match proto {
        proto::TCP | proto::UDP => {
            let &[s0, s1, d0, d1] = l4.first_chunk::<4>()?;
            (u16::from_be_bytes([s0, s1]), u16::from_be_bytes([d0, d1]))
        }
        proto::ICMP | proto::ICMPV6 => {
            let &[t, c] = l4.first_chunk::<2>()?;
            icmp_ports(t, c, proto == proto::ICMPV6)
        }
        _ => (0, 0),
    };
    Some(FiveTuple {
        proto,
        src,
        dst,
        sport,
        dport,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_echo_request_and_reply_share_ports() {
        assert_eq!(icmp_ports(8, 0, false), (8, 0));
        assert_eq!(icmp_ports(0, 0, false), (0, 8));
        assert_eq!(icmp_ports(128, 0, true), (128, 129));
        assert_eq!(icmp_ports(129, 0, true), (129, 128));
    }

    #[test]
    fn embedded_header_cut_short_is_none_not_a_panic() {
        assert_eq!(embedded(&[]), None);
        assert_eq!(embedded(&[0x45, 0, 0]), None);
        let mut v4 = vec![0x45u8; 20];
        v4[9] = 17;
        v4[12..16].copy_from_slice(&[10, 0, 0, 1]);
        v4[16..20].copy_from_slice(&[10, 0, 0, 2]);
        v4.extend_from_slice(&[0x13, 0x88, 0x00, 0x35]);
        let t = embedded(&v4).unwrap();
        assert_eq!((t.proto, t.sport, t.dport), (17, 5000, 53));
    }

    /// A TCP segment in an IPv4 packet of total length 0 (segmentation
    /// offload on the capturing host) carries what was captured after its
    /// TCP header, as Zeek reads it, by both decoders; a normal header's
    /// length is still what counts.
    #[test]
    fn offloaded_segment_payload_is_what_was_captured() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        let mut ip = vec![
            0x45u8, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        // TCP 50000 → 389, data offset 5, ACK|PSH.
        ip.extend_from_slice(&[
            0xc3, 0x50, 0x01, 0x85, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 1, 0, 0, 0, 0, 0,
        ]);
        ip.extend_from_slice(&[7u8; 100]);
        for (total, want) in [(0u16, 100u32), (40 + 30, 30)] {
            let mut ip = ip.clone();
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            let mut data = frame.clone();
            data.extend_from_slice(&ip);
            let pkt = RawPacket {
                ts_ns: 0,
                ts_digits: 6,
                linktype: crate::capture::linktype::ETHERNET,
                orig_len: data.len() as u32,
                data: &data,
                offset: 0,
            };
            for s in [decode(&pkt).unwrap(), decode_sliced(&pkt).unwrap()] {
                assert_eq!(
                    (s.tuple.dport, s.payload_len, s.ip_len),
                    (389, want, u32::from(total))
                );
            }
        }
    }
}

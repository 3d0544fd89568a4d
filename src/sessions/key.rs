//! Flow keys and the direction heuristics: which packets belong to one
//! conversation, which thread a flow goes to, and which side is the server
//! when a capture starts mid-stream.

use crate::decode::{FiveTuple, PacketSummary, proto, tcp_flags};
use std::net::IpAddr;

/// Canonical key of a flow: the lower endpoint first, so both directions of
/// a conversation share it. Addresses are kept as 128-bit numbers (IPv4 in
/// the low bits, with a family flag) because comparing and hashing `IpAddr`
/// enums was a tenth of the per-packet time on small packets; as two `u64`
/// words (high first, so they order as the number does) rather than a
/// `u128`, whose 16-byte alignment padded the open-flow map's entries from
/// 48 to 64 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    a: [u64; 2],
    b: [u64; 2],
    a_port: u16,
    b_port: u16,
    proto: u8,
    v6: bool,
}

#[inline]
fn addr_bits(ip: IpAddr) -> [u64; 2] {
    let n = match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    [(n >> 64) as u64, n as u64]
}

impl FlowKey {
    /// The key of a five-tuple (direction-independent).
    #[inline]
    pub fn of(t: &FiveTuple) -> Self {
        let x = (addr_bits(t.src), t.sport);
        let y = (addr_bits(t.dst), t.dport);
        let ((a, a_port), (b, b_port)) = if x <= y { (x, y) } else { (y, x) };
        FlowKey {
            a,
            b,
            a_port,
            b_port,
            proto: t.proto,
            v6: t.src.is_ipv6(),
        }
    }

    /// The key of the flow between two endpoints.
    pub fn between(proto: u8, a: IpAddr, a_port: u16, b: IpAddr, b_port: u16) -> Self {
        FlowKey::of(&FiveTuple {
            proto,
            src: a,
            dst: b,
            sport: a_port,
            dport: b_port,
        })
    }
}

/// The shard (of `n`) of the flow of five-tuple `t`, for sharding flows
/// across threads: the same for both directions and stable across runs. It
/// hashes the XOR of the two endpoints, which needs no canonical order:
/// every thread of the scan scheme pays it for every frame.
#[inline]
pub fn shard(t: &FiveTuple, n: usize) -> usize {
    let [a0, a1] = addr_bits(t.src);
    let [b0, b1] = addr_bits(t.dst);
    let mix = (a0 ^ b0)
        ^ (a1 ^ b1).rotate_left(32)
        ^ u64::from(t.sport ^ t.dport) << 8
        ^ u64::from(t.proto);
    let h = mix.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((h >> 32) % n.max(1) as u64) as usize
}

/// Ports that identify a server when a capture starts mid-stream: Zeek flips
/// such connections so the server is the responder. Zeek derives the set
/// from its analyzers; aibnet lists the services it meets in AIB builds and
/// the common well-known ones, and treats every port below 1024 as one.
pub fn likely_server_port(port: u16) -> bool {
    port < 1024
        || matches!(
            port,
            1080 | 1433
                | 1521
                | 1688
                | 1723
                | 1812
                | 1813
                | 2049
                | 3128
                | 3306
                | 3389
                | 5060
                | 5061
                | 5353
                | 5355
                | 5432
                | 5671
                | 5672
                | 5985
                | 5986
                | 6379
                | 6443
                | 8000
                | 8008
                | 8080
                | 8088
                | 8118
                | 8443
                | 8888
                | 9000
                | 9092
                | 9200
                | 11211
                | 27017
                | 60000
                | 60001
        )
}

/// UDP ports that identify a server, exactly Zeek's default
/// `likely_server_ports` for UDP: the server ports its analyzers register
/// (`scripts/base`, loaded by `zeek -r`; `tests/data/zeek/ZEEK_RULES.md`
/// lists where each comes from). Not every port below 1024: 68 (a DHCP
/// client) and 138 are not servers, and a DHCP reply to a client, 67 → 68,
/// is the client's connection with the server as responder, as in Zeek.
pub fn likely_udp_server_port(port: u16) -> bool {
    matches!(
        port,
        53 | 67
            | 88
            | 123
            | 137
            | 161
            | 162
            | 389
            | 443
            | 514
            | 1812
            | 2123
            | 2152
            | 3389
            | 3544
            | 4011
            | 4754
            | 4789
            | 5060
            | 5072
            | 5353
            | 5355
            | 6081
            | 20000
    )
}

/// Whether a new flow should start with its roles flipped (Zeek's
/// `WantConnection`): a TCP flow first seen without a pure SYN, or a UDP flow,
/// whose source port looks like a server's and destination port does not.
/// Never towards the IPv4 limited broadcast 255.255.255.255 (Zeek's
/// `NewConn`: a broadcast is not an originator).
pub(super) fn starts_flipped(p: &PacketSummary) -> bool {
    let (sp, dp) = (p.tuple.sport, p.tuple.dport);
    if p.tuple.dst == IpAddr::V4(std::net::Ipv4Addr::BROADCAST) {
        return false;
    }
    match p.tuple.proto {
        proto::TCP => {
            let syn = p.flags & tcp_flags::SYN != 0;
            let ack = p.flags & tcp_flags::ACK != 0;
            if syn && !ack {
                return false;
            }
            if !likely_server_port(sp) {
                return false;
            }
            if likely_server_port(dp) {
                !syn && sp < dp
            } else {
                true
            }
        }
        proto::UDP => likely_udp_server_port(sp) && !likely_udp_server_port(dp),
        _ => false,
    }
}

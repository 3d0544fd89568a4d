//! IPv4 prefixes and the one set operation the evaluator needs: does a set of
//! prefixes cover all, none or part of an address range?

use std::fmt;
use std::net::Ipv4Addr;

/// An IPv4 prefix (`10.0.1.0/24`, or a single address as `/32`).
///
/// Host bits are kept as written in [`Ipv4Net::addr`] (Azure accepts
/// `10.0.1.4/24` in some places); [`Ipv4Net::first`] and [`Ipv4Net::last`]
/// give the range it denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    addr: Ipv4Addr,
    len: u8,
}

impl Ipv4Net {
    /// A prefix from an address and a length (0..=32).
    pub fn new(addr: Ipv4Addr, len: u8) -> Option<Ipv4Net> {
        (len <= 32).then_some(Ipv4Net { addr, len })
    }

    /// A single address as a `/32`.
    pub fn host(addr: Ipv4Addr) -> Ipv4Net {
        Ipv4Net { addr, len: 32 }
    }

    /// Parse `a.b.c.d` or `a.b.c.d/n`. Returns `None` for anything else
    /// (IPv6, service tags, `*`, garbage).
    pub fn parse(s: &str) -> Option<Ipv4Net> {
        let s = s.trim();
        let (ip, len) = match s.split_once('/') {
            Some((ip, len)) => (ip, len.parse::<u8>().ok()?),
            None => (s, 32),
        };
        Ipv4Net::new(ip.parse().ok()?, len)
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether this is `0.0.0.0/0`.
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    fn mask(&self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.len))
        }
    }

    /// The first address of the range, as a number.
    pub fn first(&self) -> u32 {
        u32::from(self.addr) & self.mask()
    }

    /// The last address of the range, as a number.
    pub fn last(&self) -> u32 {
        self.first() | !self.mask()
    }

    /// How many addresses the prefix holds.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.len))
    }

    /// Whether `ip` is inside the prefix.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let n = u32::from(ip);
        self.first() <= n && n <= self.last()
    }

    /// Whether the two prefixes share at least one address.
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// Whether the prefix lies in private or shared address space (RFC 1918,
    /// RFC 6598 CGNAT), i.e. never part of the public Internet.
    pub fn is_private(&self) -> bool {
        const PRIVATE: [(u32, u8); 4] = [
            (0x0A00_0000, 8),  // 10.0.0.0/8
            (0xAC10_0000, 12), // 172.16.0.0/12
            (0xC0A8_0000, 16), // 192.168.0.0/16
            (0x6440_0000, 10), // 100.64.0.0/10
        ];
        PRIVATE.iter().any(|&(base, len)| {
            let p = Ipv4Net {
                addr: Ipv4Addr::from(base),
                len,
            };
            p.first() <= self.first() && self.last() <= p.last()
        })
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == 32 {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", Ipv4Addr::from(self.first()), self.len)
        }
    }
}

/// How much of a range a set of prefixes covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    /// Every address of the range is in the set.
    All,
    /// No address of the range is in the set.
    None,
    /// Some addresses are in the set, some are not.
    Part,
}

/// How much of `range` the union of `set` covers.
pub fn cover(set: &[Ipv4Net], range: &Ipv4Net) -> Cover {
    let mut spans: Vec<(u32, u32)> = set.iter().map(|n| (n.first(), n.last())).collect();
    spans.sort_unstable();
    // Merge touching or overlapping spans so that a range split across two
    // adjacent prefixes (10.0.0.0/25 + 10.0.0.128/25) counts as covered.
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(spans.len());
    for (a, b) in spans {
        match merged.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let (lo, hi) = (range.first(), range.last());
    let mut any = false;
    for (a, b) in merged {
        if a <= lo && hi <= b {
            return Cover::All;
        }
        if a <= hi && lo <= b {
            any = true;
        }
    }
    if any { Cover::Part } else { Cover::None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        Ipv4Net::parse(s).unwrap()
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(net("10.0.1.0/24").to_string(), "10.0.1.0/24");
        assert_eq!(net("10.0.1.7/24").to_string(), "10.0.1.0/24");
        assert_eq!(net("168.63.129.16").to_string(), "168.63.129.16");
        assert_eq!(net("0.0.0.0/0").size(), 1 << 32);
        assert!(Ipv4Net::parse("10.0.0.0/33").is_none());
        assert!(Ipv4Net::parse("VirtualNetwork").is_none());
        assert!(Ipv4Net::parse("fd00::/8").is_none());
        assert!(Ipv4Net::parse("*").is_none());
    }

    #[test]
    fn cover_cases() {
        let subnet = net("10.0.1.0/24");
        assert_eq!(cover(&[net("10.0.0.0/16")], &subnet), Cover::All);
        assert_eq!(cover(&[net("10.1.0.0/16")], &subnet), Cover::None);
        assert_eq!(cover(&[net("10.0.1.0/25")], &subnet), Cover::Part);
        assert_eq!(
            cover(&[net("10.0.1.128/25"), net("10.0.1.0/25")], &subnet),
            Cover::All
        );
        assert_eq!(cover(&[], &subnet), Cover::None);
        assert_eq!(cover(&[net("0.0.0.0/0")], &subnet), Cover::All);
    }

    #[test]
    fn private_space() {
        assert!(net("10.0.1.0/24").is_private());
        assert!(net("172.20.0.0/16").is_private());
        assert!(!net("20.0.0.0/8").is_private());
        assert!(!net("168.63.129.16").is_private());
        assert!(!net("0.0.0.0/0").is_private());
    }
}

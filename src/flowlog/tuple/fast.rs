//! The hot path: one left-to-right pass of small `nom` parsers over the
//! bytes, no field splitting, no UTF-8 re-validation, no allocation.
//! Returns `None` for anything not perfectly formed; [`checked`](fn@super::checked) then
//! decides (and explains).

use super::{
    Counters, Decision, Direction, Encryption, FlowProto, FlowState, FlowTuple, RuleRef,
    SECONDS_THRESHOLD, TupleLayout,
};
use nom::{IResult, Parser, bytes::complete::take_till};
use std::net::{IpAddr, Ipv4Addr};

/// A tuple as the fast path decodes it: plain, naturally aligned
/// scalars, so the hot loop fingerprints it and writes the
/// [`FlowTuple`] straight into its vector. (Passing a
/// finished `FlowTuple` back by value made the CPU re-read it with loads
/// that miss store forwarding, at up to a third of the parse time.)
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub ts_ms: i64,
    pub src: u32,
    pub dst: u32,
    pub sport: u16,
    pub dport: u16,
    pub proto: FlowProto,
    pub direction: Direction,
    pub decision: Decision,
    pub state: Option<FlowState>,
    pub encryption: Option<Encryption>,
    pub counters: Option<Counters>,
}

// Every parser returns plain integers: an `IpAddr` (17 bytes, odd
// layout) passed back through `IResult` made the CPU re-read it with
// misaligned loads that miss store forwarding, and cost a third of the
// parse. IPv6 is left to the checked parser (no sample has one).
type R<'a, T> = IResult<&'a [u8], T, ()>;

#[inline(always)]
fn fail<T>() -> Result<T, nom::Err<()>> {
    Err(nom::Err::Error(()))
}

/// Unsigned decimal of 1..=`max` digits (`max` ≤ 19 so it fits a u64).
#[inline(always)]
fn uint(i: &[u8], max: usize) -> R<'_, u64> {
    let mut v: u64 = 0;
    let mut n = 0;
    for &c in i {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if n == max {
            return fail();
        }
        v = v * 10 + u64::from(d);
        n += 1;
    }
    match i.split_at_checked(n) {
        Some((_, rest)) if n > 0 => Ok((rest, v)),
        _ => fail(),
    }
}

/// A number then a comma.
#[inline(always)]
fn field(i: &[u8], max_digits: usize, max: u64) -> R<'_, u64> {
    let (i, v) = uint(i, max_digits)?;
    match i.split_first() {
        Some((b',', rest)) if v <= max => Ok((rest, v)),
        _ => fail(),
    }
}

/// A one-byte field and its comma.
#[inline(always)]
fn letter(i: &[u8]) -> R<'_, u8> {
    match i {
        [c, b',', rest @ ..] => Ok((rest, *c)),
        _ => fail(),
    }
}

/// Dotted quad then a comma, as a big-endian u32.
#[inline(always)]
fn ipv4(i: &[u8]) -> R<'_, u32> {
    let mut acc: u32 = 0;
    let mut i = i;
    for k in 0..4 {
        let (r, o) = uint(i, 3)?;
        if o > 255 {
            return fail();
        }
        acc = acc << 8 | o as u32;
        i = match (k, r.split_first()) {
            (0..=2, Some((b'.', rest))) | (3, Some((b',', rest))) => rest,
            _ => return fail(),
        };
    }
    Ok((i, acc))
}

/// time, src, dst, sport, dport (each followed by a comma).
#[allow(clippy::type_complexity)] // a plain tuple of the five leading fields
#[inline(always)]
fn head(i: &[u8]) -> R<'_, (i64, u32, u32, u16, u16)> {
    let (i, ts) = field(i, 19, u64::MAX)?;
    let ms = if ts < SECONDS_THRESHOLD {
        ts * 1000
    } else {
        ts
    };
    let Ok(ts_ms) = i64::try_from(ms) else {
        return fail();
    };
    let (i, src) = ipv4(i)?;
    let (i, dst) = ipv4(i)?;
    let (i, sport) = field(i, 5, 65535)?;
    let (i, dport) = field(i, 5, 65535)?;
    Ok((i, (ts_ms, src, dst, sport as u16, dport as u16)))
}

/// Four counters after a comma each: all empty → `None`, all numbers →
/// `Some`; then the end of input. (Unrolled into four locals: an array
/// written by element and read back whole stalled store forwarding.)
#[inline(always)]
fn counters(i: &[u8]) -> Option<Option<Counters>> {
    if i == b",,,," {
        return Some(None);
    }
    #[inline(always)]
    fn next(i: &[u8]) -> Option<(&[u8], u64)> {
        match i.split_first() {
            Some((b',', r)) => uint(r, 19).ok(),
            _ => None,
        }
    }
    let (i, a) = next(i)?;
    let (i, b) = next(i)?;
    let (i, c) = next(i)?;
    let (i, d) = next(i)?;
    i.is_empty().then_some(Some(Counters {
        pkts_src_to_dst: a,
        bytes_src_to_dst: b,
        pkts_dst_to_src: c,
        bytes_dst_to_src: d,
    }))
}

#[inline(always)]
fn direction(c: u8) -> Option<Direction> {
    match c {
        b'I' => Some(Direction::Inbound),
        b'O' => Some(Direction::Outbound),
        _ => None,
    }
}

#[inline(always)]
fn nsg(b: &[u8], allow_v1: bool, allow_v2: bool) -> Option<Fields> {
    let (i, (ts_ms, src, dst, sport, dport)) = head(b).ok()?;
    let (i, p) = letter(i).ok()?;
    let proto = match p {
        b'T' => FlowProto::TCP,
        b'U' => FlowProto::UDP,
        _ => return None,
    };
    let (i, d) = letter(i).ok()?;
    let direction = direction(d)?;
    let (decision, state, counters) = match i {
        [c] if allow_v1 => (*c, None, None),
        [c, b',', s, rest @ ..] if allow_v2 => {
            let state = match s {
                b'B' => FlowState::Begin,
                b'C' => FlowState::Continuing,
                b'E' => FlowState::End,
                _ => return None,
            };
            (*c, Some(state), counters(rest)?)
        }
        _ => return None,
    };
    let decision = match decision {
        b'A' => Decision::Allow,
        b'D' => Decision::Deny,
        _ => return None,
    };
    Some(Fields {
        ts_ms,
        src,
        dst,
        sport,
        dport,
        proto,
        direction,
        decision,
        state,
        encryption: None,
        counters,
    })
}

#[inline(always)]
fn vnet(b: &[u8]) -> Option<Fields> {
    let (i, (ts_ms, src, dst, sport, dport)) = head(b).ok()?;
    let (i, p) = field(i, 3, 255).ok()?;
    let proto = FlowProto(p as u8);
    let (i, d) = letter(i).ok()?;
    let direction = direction(d)?;
    let (i, s) = letter(i).ok()?;
    let state = match s {
        b'B' => FlowState::Begin,
        b'C' => FlowState::Continuing,
        b'E' => FlowState::End,
        b'D' => FlowState::Deny,
        _ => return None,
    };
    let (i, enc) = match i {
        [b'N', b'X', rest @ ..] if rest.first() == Some(&b',') => (rest, Encryption::NotEncrypted),
        [b'X', rest @ ..] if rest.first() == Some(&b',') => (rest, Encryption::Encrypted),
        _ => {
            let (rest, text) = take_till::<_, _, ()>(|c| c == b',').parse(i).ok()?;
            (rest, Encryption::parse(std::str::from_utf8(text).ok()?)?)
        }
    };
    let decision = if state == FlowState::Deny {
        Decision::Deny
    } else {
        Decision::Allow
    };
    Some(Fields {
        ts_ms,
        src,
        dst,
        sport,
        dport,
        proto,
        direction,
        decision,
        state: Some(state),
        encryption: Some(enc),
        counters: counters(i)?,
    })
}

/// Parse a perfectly formed IPv4 tuple, or `None`.
#[inline(always)]
pub(crate) fn tuple(b: &[u8], layout: TupleLayout) -> Option<Fields> {
    match layout {
        TupleLayout::NsgV1 => nsg(b, true, false),
        TupleLayout::NsgV2 => nsg(b, false, true),
        TupleLayout::NsgAny => nsg(b, true, true),
        TupleLayout::Vnet => vnet(b),
    }
}

impl Fields {
    /// The finished tuple.
    #[inline(always)]
    pub(crate) fn tuple(&self, rule: RuleRef, record: u32) -> FlowTuple {
        FlowTuple {
            ts_ms: self.ts_ms,
            src: IpAddr::V4(Ipv4Addr::from(self.src)),
            dst: IpAddr::V4(Ipv4Addr::from(self.dst)),
            sport: self.sport,
            dport: self.dport,
            proto: self.proto,
            direction: self.direction,
            decision: self.decision,
            state: self.state,
            encryption: self.encryption,
            counters: self.counters,
            rule,
            record,
        }
    }
}

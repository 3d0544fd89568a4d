//! The checked parser: splits the fields, then reads each one; slower than
//! [`fast`](super::fast), but says which field is wrong, and in which layout
//! the tuple is when it is not the record's.

use super::{
    Counters, Decision, Direction, Encryption, FlowProto, FlowState, FlowTuple, RuleRef,
    SECONDS_THRESHOLD, TupleError, TupleLayout,
};
use nom::{
    IResult, Parser,
    bytes::complete::take_till,
    character::complete::{char, digit1},
    combinator::{all_consuming, map_res},
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const NAMES: [&str; 13] = [
    "time",
    "source ip",
    "destination ip",
    "source port",
    "destination port",
    "protocol",
    "direction",
    "decision",
    "flow state",
    "packets src→dst",
    "bytes src→dst",
    "packets dst→src",
    "bytes dst→src",
];

fn bad(index: u8, what: &'static str) -> TupleError {
    TupleError::Field {
        index,
        name: NAMES.get(usize::from(index)).copied().unwrap_or("field"),
        what,
    }
}

type NomErr<'a> = nom::error::Error<&'a str>;

/// Split into at most 13 comma-separated fields (empty fields kept).
fn split_fields(input: &str) -> Result<([&str; 13], u8), TupleError> {
    let mut out = [""; 13];
    let mut n: u8 = 0;
    let mut rest = input;
    loop {
        let field: IResult<&str, &str, NomErr<'_>> = take_till(|c| c == ',').parse(rest);
        let Ok((after, f)) = field else {
            return Err(bad(n, "a field"));
        };
        let Some(slot) = out.get_mut(usize::from(n)) else {
            return Err(TupleError::FieldCount {
                found: 14,
                expected: "at most 13",
            });
        };
        *slot = f;
        n += 1;
        match char::<_, NomErr<'_>>(',').parse(after) {
            Ok((r, _)) => rest = r,
            Err(_) => return Ok((out, n)),
        }
    }
}

fn decimal(s: &str) -> Option<u64> {
    let r: IResult<&str, u64, NomErr<'_>> =
        all_consuming(map_res(digit1, str::parse::<u64>)).parse(s);
    r.ok().map(|(_, v)| v)
}

fn timestamp(s: &str) -> Result<i64, TupleError> {
    let v = decimal(s).ok_or(bad(0, "a UNIX timestamp"))?;
    let ms = if v < SECONDS_THRESHOLD {
        v.checked_mul(1000)
    } else {
        Some(v)
    };
    ms.and_then(|m| i64::try_from(m).ok())
        .ok_or(bad(0, "a UNIX timestamp"))
}

/// IPv4 dotted quad with nom; anything with a `:` goes to std's IPv6 parser.
fn ip(s: &str, index: u8) -> Result<IpAddr, TupleError> {
    fn octet(i: &str) -> IResult<&str, u8, NomErr<'_>> {
        map_res(digit1, str::parse::<u8>).parse(i)
    }
    fn quad(i: &str) -> IResult<&str, Ipv4Addr, NomErr<'_>> {
        let (i, (a, _, b, _, c, _, d)) =
            all_consuming((octet, char('.'), octet, char('.'), octet, char('.'), octet))
                .parse(i)?;
        Ok((i, Ipv4Addr::new(a, b, c, d)))
    }
    if s.contains(':') {
        return s
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| bad(index, "an IP address"));
    }
    quad(s)
        .map(|(_, a)| IpAddr::V4(a))
        .map_err(|_| bad(index, "an IP address"))
}

fn port(s: &str, index: u8) -> Result<u16, TupleError> {
    decimal(s)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or(bad(index, "a port number"))
}

fn direction(s: &str) -> Result<Direction, TupleError> {
    match s {
        "I" => Ok(Direction::Inbound),
        "O" => Ok(Direction::Outbound),
        _ => Err(bad(6, "I or O")),
    }
}

fn counters(f: &[&str]) -> Result<Option<Counters>, TupleError> {
    let [a, b, c, d] = f else {
        return Err(TupleError::Counters);
    };
    if [a, b, c, d].iter().all(|s| s.is_empty()) {
        return Ok(None);
    }
    match (decimal(a), decimal(b), decimal(c), decimal(d)) {
        (Some(a), Some(b), Some(c), Some(d)) => Ok(Some(Counters {
            pkts_src_to_dst: a,
            bytes_src_to_dst: b,
            pkts_dst_to_src: c,
            bytes_dst_to_src: d,
        })),
        _ => Err(TupleError::Counters),
    }
}

fn common(f: &[&str; 13]) -> Result<(i64, IpAddr, IpAddr, u16, u16), TupleError> {
    Ok((
        timestamp(f[0])?,
        ip(f[1], 1)?,
        ip(f[2], 2)?,
        port(f[3], 3)?,
        port(f[4], 4)?,
    ))
}

fn nsg(f: &[&str; 13], n: u8) -> Result<FlowTuple, TupleError> {
    let (ts_ms, src, dst, sport, dport) = common(f)?;
    let proto = match f[5] {
        "T" => FlowProto::TCP,
        "U" => FlowProto::UDP,
        _ => return Err(bad(5, "T or U")),
    };
    let direction = direction(f[6])?;
    let decision = match f[7] {
        "A" => Decision::Allow,
        "D" => Decision::Deny,
        _ => return Err(bad(7, "A or D")),
    };
    let (state, counters) = if n == 13 {
        let state = match f[8] {
            "B" => FlowState::Begin,
            "C" => FlowState::Continuing,
            "E" => FlowState::End,
            _ => return Err(bad(8, "B, C or E")),
        };
        (Some(state), counters(&f[9..13])?)
    } else {
        (None, None)
    };
    Ok(FlowTuple {
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
        rule: RuleRef(0),
        record: 0,
    })
}

fn vnet(f: &[&str; 13]) -> Result<FlowTuple, TupleError> {
    let (ts_ms, src, dst, sport, dport) = common(f)?;
    let proto = decimal(f[5])
        .and_then(|v| u8::try_from(v).ok())
        .map(FlowProto)
        .ok_or(bad(5, "an IANA protocol number"))?;
    let direction = direction(f[6])?;
    let state = match f[7] {
        "B" => FlowState::Begin,
        "C" => FlowState::Continuing,
        "E" => FlowState::End,
        "D" => FlowState::Deny,
        _ => return Err(bad(7, "a flow state B, C, E or D")),
    };
    let encryption = Encryption::parse(f[8]).ok_or(bad(8, "an encryption status (X, NX…)"))?;
    let decision = if state == FlowState::Deny {
        Decision::Deny
    } else {
        Decision::Allow
    };
    Ok(FlowTuple {
        ts_ms,
        src,
        dst,
        sport,
        dport,
        proto,
        direction,
        decision,
        state: Some(state),
        encryption: Some(encryption),
        counters: counters(&f[9..13])?,
        rule: RuleRef(0),
        record: 0,
    })
}

/// The field-splitting parser: slower, precise errors. [`parse_tuple`](super::parse_tuple)
/// agrees with it on every input (a property test checks this).
///
/// # Errors
/// As [`parse_tuple`](super::parse_tuple).
pub fn checked(s: &str, layout: TupleLayout) -> Result<FlowTuple, TupleError> {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (f, n) = split_fields(s)?;
    match (layout, n) {
        (TupleLayout::NsgV1 | TupleLayout::NsgAny, 8)
        | (TupleLayout::NsgV2 | TupleLayout::NsgAny, 13) => nsg(&f, n).map_err(|e| {
            if n == 13 && vnet(&f).is_ok() {
                TupleError::VnetLayoutInNsg
            } else {
                e
            }
        }),
        (TupleLayout::Vnet, 13) => vnet(&f).map_err(|e| {
            if nsg(&f, n).is_ok() {
                TupleError::NsgLayoutInVnet
            } else {
                e
            }
        }),
        (TupleLayout::NsgV1, _) => Err(TupleError::FieldCount {
            found: n,
            expected: "8 (NSG version 1)",
        }),
        (TupleLayout::NsgV2, _) => Err(TupleError::FieldCount {
            found: n,
            expected: "13 (NSG version 2)",
        }),
        (TupleLayout::NsgAny, _) => Err(TupleError::FieldCount {
            found: n,
            expected: "8 or 13 (NSG)",
        }),
        (TupleLayout::Vnet, _) => Err(TupleError::FieldCount {
            found: n,
            expected: "13 (VNet)",
        }),
    }
}

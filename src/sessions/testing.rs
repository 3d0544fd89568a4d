//! Generators shared by the tests of the session modules.

use super::flow_record::FlowRecord;
use super::model::{Decision, FlowInfo};
use super::state::ConnState;
use proptest::prelude::*;
use std::net::IpAddr;
use std::sync::Arc;

/// Flow records of few hosts and ports, so that views of one
/// connection from several inputs (both directions, overlapping times)
/// are common; IPv6 sometimes, to take the general sort.
pub(super) fn flow_record(v6: bool) -> impl Strategy<Value = FlowRecord> {
    (
        (0i64..40, 0i64..6, 0u64..4, 0u64..4),
        (0u8..3, 0u8..3, prop::sample::select(vec![22u16, 443, 5986])),
        (0u32..3, 0u32..70, any::<bool>()),
    )
        .prop_map(move |((t, d, op, rp), (a, b, port), (info, input, flip))| {
            let host = |i: u8| -> IpAddr {
                if v6 && i == 2 {
                    IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1))
                } else {
                    IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, i))
                }
            };
            let (mut oh, mut op_, mut rh, mut rp_) = (host(a), 40000, host(b), port);
            if flip {
                std::mem::swap(&mut oh, &mut rh);
                std::mem::swap(&mut op_, &mut rp_);
            }
            FlowRecord {
                first_ts: t * 1_000_000_000,
                last_ts: (t + d) * 1_000_000_000,
                orig_pkts: op,
                orig_ip_bytes: op * 60,
                resp_pkts: rp,
                resp_ip_bytes: rp * 60,
                orig_h: oh,
                resp_h: rh,
                orig_p: op_,
                resp_p: rp_,
                ip_proto: 6,
                ts_digits: (input % 2) as u8 * 3,
                state: if rp > 0 { ConnState::SF } else { ConnState::S0 },
                info,
                input,
            }
        })
}

pub(super) fn infos() -> Vec<Arc<FlowInfo>> {
    [Decision::Allow, Decision::Deny, Decision::Allow]
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            Arc::new(FlowInfo {
                decision: Some(d),
                rule: Some(format!("rule{i}").into()),
                ..FlowInfo::default()
            })
        })
        .collect()
}

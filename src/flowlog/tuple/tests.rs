use super::*;
use std::net::IpAddr;

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn size_is_small() {
    assert!(
        std::mem::size_of::<FlowTuple>() <= 104,
        "{}",
        std::mem::size_of::<FlowTuple>()
    );
}

#[test]
fn nsg_v1() {
    let t = parse_tuple(
        "1487282421,192.0.2.95,10.1.0.4,51529,5358,T,I,D",
        TupleLayout::NsgV1,
    )
    .unwrap();
    assert_eq!(t.ts_ms, 1_487_282_421_000);
    assert_eq!((t.src, t.dst), (v4("192.0.2.95"), v4("10.1.0.4")));
    assert_eq!((t.sport, t.dport), (51529, 5358));
    assert_eq!(t.proto, FlowProto::TCP);
    assert_eq!(t.direction, Direction::Inbound);
    assert_eq!(t.decision, Decision::Deny);
    assert_eq!((t.state, t.counters, t.encryption), (None, None, None));
}

#[test]
fn nsg_v2_begin_has_empty_counters() {
    let t = parse_tuple(
        "1724090369,35.203.211.209,10.1.0.4,55740,38405,T,I,D,B,,,,",
        TupleLayout::NsgV2,
    )
    .unwrap();
    assert_eq!(t.state, Some(FlowState::Begin));
    assert_eq!(t.counters, None);
    assert_eq!(t.decision, Decision::Deny);
}

#[test]
fn nsg_v2_end_without_reply() {
    let t = parse_tuple(
        "1724090346,10.1.0.4,20.98.192.237,35620,443,T,O,A,E,1,74,0,0",
        TupleLayout::NsgAny,
    )
    .unwrap();
    assert_eq!(t.state, Some(FlowState::End));
    assert_eq!(
        t.counters,
        Some(Counters {
            pkts_src_to_dst: 1,
            bytes_src_to_dst: 74,
            pkts_dst_to_src: 0,
            bytes_dst_to_src: 0
        })
    );
    assert_eq!(t.direction, Direction::Outbound);
}

#[test]
fn vnet_ms_and_deny_state() {
    let t = parse_tuple(
        "1675551614124,205.210.31.32,192.168.0.8,53998,5986,6,I,D,NX,0,0,0,0",
        TupleLayout::Vnet,
    )
    .unwrap();
    assert_eq!(t.ts_ms, 1_675_551_614_124);
    assert_eq!(t.decision, Decision::Deny);
    assert_eq!(t.state, Some(FlowState::Deny));
    assert_eq!(t.encryption, Some(Encryption::NotEncrypted));
    assert_eq!(t.counters.map(|c| c.is_zero()), Some(true));
    assert_eq!(t.dport, 5986);
}

#[test]
fn vnet_seconds_and_empty_counters_accepted() {
    let t = parse_tuple(
        "1493763938,10.0.0.6,52.239.184.180,23956,443,17,I,B,NX,,,,",
        TupleLayout::Vnet,
    )
    .unwrap();
    assert_eq!(t.ts_ms, 1_493_763_938_000);
    assert_eq!(t.proto, FlowProto::UDP);
    assert_eq!(t.counters, None);
}

#[test]
fn ipv6_addresses() {
    let t = parse_tuple(
        "1675551614124,2001:db8::1,fe80::2,1,2,6,O,E,X,1,2,3,4",
        TupleLayout::Vnet,
    )
    .unwrap();
    assert_eq!(t.src, "2001:db8::1".parse::<IpAddr>().unwrap());
    assert!(t.encryption.unwrap().is_encrypted());
}

#[test]
fn nsg_layout_in_vnet_record_is_named() {
    let e = parse_tuple(
        "1754512773,10.0.0.4,13.107.21.200,49982,443,T,O,A,C,7,1158,12,8143",
        TupleLayout::Vnet,
    )
    .unwrap_err();
    assert_eq!(e, TupleError::NsgLayoutInVnet);
    let e = parse_tuple(
        "1663146003606,10.0.0.6,52.239.184.180,23956,443,6,O,E,NX,3,767,2,1580",
        TupleLayout::NsgV2,
    )
    .unwrap_err();
    assert_eq!(e, TupleError::VnetLayoutInNsg);
}

#[test]
fn field_errors_name_the_field() {
    let e = parse_tuple("1,10.0.0.300,10.0.0.1,1,2,T,I,A", TupleLayout::NsgV1).unwrap_err();
    assert_eq!(e.field(), Some(1));
    let e = parse_tuple("1,10.0.0.3,10.0.0.1,1,70000,T,I,A", TupleLayout::NsgV1).unwrap_err();
    assert_eq!(e.field(), Some(4));
    let e = parse_tuple("1,10.0.0.3,10.0.0.1,1,7,T,X,A", TupleLayout::NsgV1).unwrap_err();
    assert_eq!(e.field(), Some(6));
    let e = parse_tuple("1,10.0.0.3,10.0.0.1,1,7,T,I,A,B,1,,,", TupleLayout::NsgV2).unwrap_err();
    assert_eq!(e, TupleError::Counters);
    let e = parse_tuple(
        "1,10.0.0.3,10.0.0.1,1,7,T,I,A,B,1,2,3,4,5",
        TupleLayout::NsgV2,
    )
    .unwrap_err();
    assert!(matches!(e, TupleError::FieldCount { found: 14, .. }));
    let e = parse_tuple("1,10.0.0.3,10.0.0.1,1,7,T,I,A,B,,,,", TupleLayout::NsgV1).unwrap_err();
    assert!(matches!(e, TupleError::FieldCount { found: 13, .. }));
    let e = parse_tuple(
        "99999999999999999999,10.0.0.3,10.0.0.1,1,7,T,I,A",
        TupleLayout::NsgV1,
    )
    .unwrap_err();
    assert_eq!(e.field(), Some(0));
    let e = parse_tuple("", TupleLayout::Vnet).unwrap_err();
    assert!(matches!(e, TupleError::FieldCount { found: 1, .. }));
    let e = parse_tuple(
        "1,1.2.3.4,1.2.3.4,1,7,256,I,B,NX,0,0,0,0",
        TupleLayout::Vnet,
    )
    .unwrap_err();
    assert_eq!(e.field(), Some(5));
    let e = parse_tuple("1,1.2.3.4,1.2.3.4,1,7,6,I,B,YES,0,0,0,0", TupleLayout::Vnet).unwrap_err();
    assert_eq!(e.field(), Some(8));
}

#[test]
fn encryption_values() {
    for (s, drops) in [
        ("NX_NOT_ACCEPTED", true),
        ("NX_SW_NOT_READY", true),
        ("NX_LOCAL_DST", false),
        ("NX_NEW_THING", false),
    ] {
        assert_eq!(Encryption::parse(s).unwrap().drops(), drops, "{s}");
    }
    assert_eq!(Encryption::parse("nx"), None);
}

//! Short names of inputs for people: enough to tell capture points and
//! flow-log blobs apart in a table cell or an evidence line, where the full
//! paths (kept in JSON) would not fit.

/// A short name for an input, enough to tell capture points apart: the last
/// two path components of a capture; for a flow-log blob in the storage
/// layout, the NSG (or flow log) name, the hour and the NIC's MAC.
pub fn short_path(p: &str) -> String {
    if let Some(label) = flowlog_label(p) {
        return label;
    }
    let parts: Vec<&str> = p.rsplitn(3, '/').collect();
    match parts.as_slice() {
        [file, dir, _] => format!("{dir}/{file}"),
        _ => p.to_string(),
    }
}

/// `AIB-BUILD-SUBNET-NSG 2026-11-27T04 mac 000D3A6EA404` for
/// `.../NETWORKSECURITYGROUPS/AIB-BUILD-SUBNET-NSG/y=2026/m=11/d=27/h=04/m=00/macAddress=000D3A6EA404/PT1H.json`.
fn flowlog_label(p: &str) -> Option<String> {
    let parts: Vec<&str> = p.split('/').collect();
    let after = |key: &str| {
        parts
            .iter()
            .position(|x| x.eq_ignore_ascii_case(key))
            .and_then(|i| parts.get(i + 1))
            .copied()
    };
    let value = |prefix: &str| parts.iter().find_map(|x| x.strip_prefix(prefix));
    let mac = value("macAddress=")?;
    let name = after("NETWORKSECURITYGROUPS")
        .or_else(|| after("FLOWLOGS"))
        .unwrap_or("flowlog");
    let hour = match (value("y="), value("m="), value("d="), value("h=")) {
        (Some(y), Some(m), Some(d), Some(h)) => format!(" {y}-{m}-{d}T{h}"),
        _ => String::new(),
    };
    Some(format!("{name}{hour} mac {mac}"))
}

/// Short names of several inputs for a table cell: captures by name,
/// flow-log blobs counted (`proxy.pcap, segment.pcap, 4 flow-log blobs`).
pub fn short_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> String {
    let mut v: Vec<String> = Vec::new();
    let mut blobs = 0;
    for p in paths {
        if flowlog_label(p).is_some() {
            blobs += 1;
            continue;
        }
        let s = short_path(p);
        if !v.contains(&s) {
            v.push(s);
        }
    }
    match blobs {
        0 => {}
        1 => v.push("1 flow-log blob".to_string()),
        n => v.push(format!("{n} flow-log blobs")),
    }
    v.join(", ")
}

//! Short names of inputs for people: enough to tell capture points and
//! flow-log blobs apart in a table cell or an evidence line, where the full
//! paths (kept in JSON) would not fit.

/// A short name for an input, enough to tell capture points apart: the last
/// two path components of a capture (the VM and file name of a Network
/// Watcher capture); for a flow-log blob in the storage layout, the NSG (or
/// flow log) name, the hour and the NIC's MAC.
pub fn short_path(p: &str) -> String {
    if let Some(label) = flowlog_label(p).or_else(|| network_watcher_label(p)) {
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

/// `aib-buildvm/packetcapture_04_36_59_000.cap` for a Network Watcher
/// capture (`.../virtualmachines/aib-buildvm/2026/11/27/packetcapture_04_36_59_000.cap`):
/// every VM's captures have names of that form in date folders, so the last
/// two components would not tell VMs apart.
fn network_watcher_label(p: &str) -> Option<String> {
    let parts: Vec<&str> = p.split('/').collect();
    let at = parts
        .iter()
        .rposition(|x| x.eq_ignore_ascii_case("virtualmachines"))?;
    let vm = parts.get(at + 1)?;
    let file = parts.last().filter(|_| parts.len() > at + 2)?;
    Some(format!("{vm}/{file}"))
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

/// The `macAddress=` folder of a blob path.
pub fn blob_mac(path: &str) -> Option<String> {
    let at = path.find("macAddress=")? + "macAddress=".len();
    let mac: String = path
        .get(at..)?
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '-' || *c == ':')
        .filter(char::is_ascii_hexdigit)
        .collect();
    (mac.len() == 12).then(|| mac.to_ascii_uppercase())
}

/// The hour a flow-log blob covers, from its storage path
/// (`.../y=2024/m=08/d=19/h=18/m=00/...`), as ns since the epoch.
pub fn blob_hour(path: &str) -> Option<i64> {
    let field = |key: &str| -> Option<i64> {
        let at = path.find(key)? + key.len();
        let digits: String = path
            .get(at..)?
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    let y = field("/y=")?;
    // `m=` appears twice (month, then minute): the month follows `y=`.
    let after_y = path.find("/y=")?;
    let rest = path.get(after_y..)?;
    let m_at = rest.find("/m=")? + 3;
    let mo: u32 = rest
        .get(m_at..)?
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .ok()?;
    let d = u32::try_from(field("/d=")?).ok()?;
    let h = field("/h=")?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || !(0..24).contains(&h) {
        return None;
    }
    let days = crate::time::days_from_civil(y, mo, d);
    Some((days * 86_400 + h * 3600) * 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_watcher_captures_are_named_by_vm() {
        let base = "https://st.blob.core.windows.net/network-watcher-logs/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines";
        let a = format!("{base}/aib-buildvm/2026/11/27/packetcapture_04_36_59_000.cap");
        let b = format!("{base}/aib-proxy/2026/11/27/packetcapture_04_36_59_000.cap");
        assert_eq!(short_path(&a), "aib-buildvm/packetcapture_04_36_59_000.cap");
        assert_eq!(
            short_paths([a.as_str(), b.as_str()]),
            "aib-buildvm/packetcapture_04_36_59_000.cap, aib-proxy/packetcapture_04_36_59_000.cap"
        );
        assert_eq!(short_path("captures/x/proxy.pcap"), "x/proxy.pcap");
        assert_eq!(short_path(&format!("{base}/vm")), "virtualmachines/vm");
    }
}

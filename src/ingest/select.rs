//! `--nsg`, `--mac`, `--vnet`, `--subnet`: which flow-log blobs (or files
//! laid out the same way) a run reads, decided from what their path and
//! their first record say, before their content is parsed.
//!
//! * NSG flow logs name their NSG in the path
//!   (`.../NETWORKSECURITYGROUPS/NAME/y=…`), and both families name the NIC
//!   (`…/macAddress=MAC/PT1H.json`): `--nsg` and `--mac` prune folders and
//!   blobs by these segments.
//! * A VNet flow log's path names the flow-log resource
//!   (`flowLogResourceID=/…/FLOWLOGS/NAME/…`), not what it logs: the target
//!   (a VNET, a subnet or a NIC) is in every record's `targetResourceID`. A
//!   flow-log resource has one target, so the first record of one of its
//!   blobs decides for all of them ([`Selection::head_allows`], on the first
//!   [`HEAD_BYTES`] of a blob). A VNET-level flow log covers every subnet of
//!   it, and a NIC-level one cannot be placed without configuration: both
//!   are kept for `--subnet`.
//! * NSG flow logs name no VNET or subnet anywhere: `--vnet` and
//!   `--subnet` leave them alone (name the subnet's NSG with `--nsg`).
//!   Captures are never left out by these flags.

use crate::resource_id::ResourceId;

/// How much of a blob's start is read for its first record's target (the
/// `targetResourceID` comes before the flows in every record).
pub const HEAD_BYTES: usize = 8 << 10;

/// Which flow logs to read (every field optional; names compare without
/// regard to case, as Azure writes paths in capitals).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The NSG's name (`--nsg`).
    pub nsg: Option<String>,
    /// NIC MACs, 12 hex digits in capitals (`--mac`).
    pub macs: Vec<String>,
    /// The VNET's name (`--vnet`).
    pub vnet: Option<String>,
    /// The subnet's name (`--subnet`).
    pub subnet: Option<String>,
}

impl Selection {
    /// From the flags' values: names or resource ids (the last name is
    /// taken; a subnet's id names its VNET too), MACs in any usual notation.
    pub fn new(
        nsg: Option<&str>,
        macs: &[String],
        vnet: Option<&str>,
        subnet: Option<&str>,
    ) -> Result<Selection, String> {
        let name = |s: &str| {
            let id = ResourceId::parse(s);
            id.name()
                .map_or_else(|| s.trim().trim_matches('/').to_string(), str::to_string)
        };
        let mut sel = Selection {
            nsg: nsg.map(name),
            vnet: vnet.map(name),
            subnet: subnet.map(name),
            macs: Vec::new(),
        };
        if let Some(s) = subnet
            && sel.vnet.is_none()
        {
            sel.vnet = ResourceId::parse(s)
                .get("virtualNetworks")
                .map(str::to_string);
        }
        for m in macs {
            let hex: String = m.chars().filter(char::is_ascii_hexdigit).collect();
            if hex.len() != 12
                || m.chars()
                    .any(|c| !c.is_ascii_hexdigit() && c != '-' && c != ':')
            {
                return Err(format!(
                    "--mac {m:?}: expected a MAC address (000D3A6EA404, 00-0D-3A-6E-A4-04 or 00:0d:3a:6e:a4:04)"
                ));
            }
            sel.macs.push(hex.to_ascii_uppercase());
        }
        Ok(sel)
    }

    /// Whether nothing is selected (everything is read).
    pub fn is_empty(&self) -> bool {
        self.nsg.is_none() && self.macs.is_empty() && !self.by_target()
    }

    /// Whether VNet flow logs are selected by their target.
    pub fn by_target(&self) -> bool {
        self.vnet.is_some() || self.subnet.is_some()
    }

    /// Whether a folder or blob path can hold selected flow logs, by its
    /// `NETWORKSECURITYGROUPS/NAME` and `macAddress=MAC` segments (a path
    /// without them is not left out here).
    pub fn allows_path(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split(['/', '\\']).collect();
        if let Some(want) = &self.nsg
            && let Some(i) = segs
                .iter()
                .position(|s| s.eq_ignore_ascii_case("NETWORKSECURITYGROUPS"))
            && let Some(name) = segs.get(i + 1).filter(|n| !n.is_empty())
            && !name.eq_ignore_ascii_case(want)
        {
            return false;
        }
        if !self.macs.is_empty()
            && let Some(mac) = segs.iter().find_map(|s| s.strip_prefix("macAddress="))
            && !mac.is_empty()
        {
            let hex: String = mac
                .chars()
                .filter(char::is_ascii_hexdigit)
                .collect::<String>()
                .to_ascii_uppercase();
            return self.macs.contains(&hex);
        }
        true
    }

    /// Whether walking below a folder can still leave folders out by
    /// their names: above the time folders (`y=`), the NSG and flow-log
    /// levels are still to come.
    pub fn prunes_above_time(&self, folder: &str) -> bool {
        (self.nsg.is_some() || self.by_target()) && !folder.split('/').any(|s| s.starts_with("y="))
    }

    /// Whether a flow log with this target (`targetResourceID`) is selected.
    pub fn allows_target(&self, target: &str) -> bool {
        let id = ResourceId::parse(target);
        let differs = |want: &Option<String>, kind: &str| {
            want.as_ref()
                .zip(id.get(kind))
                .is_some_and(|(w, got)| !w.eq_ignore_ascii_case(got))
        };
        !(differs(&self.vnet, "virtualNetworks") || differs(&self.subnet, "subnets"))
    }

    /// Whether a blob that starts with `head` is selected by its first
    /// record's `targetResourceID` (kept when it has none there: an NSG
    /// flow log, a capture, or a record too long to tell).
    pub fn head_allows(&self, head: &[u8]) -> bool {
        !self.by_target() || target_of(head).is_none_or(|t| self.allows_target(&t))
    }

    /// What decides a blob's target: its flow log's `…/FLOWLOGS/NAME`
    /// folder (one blob of it speaks for all), or the blob itself when it
    /// is JSON outside that layout; `None` when no target selects it.
    pub fn target_key<'a>(&self, path: &'a str) -> Option<&'a str> {
        if !self.by_target() {
            return None;
        }
        flow_log_folder(path)
            .or_else(|| path.to_ascii_lowercase().ends_with(".json").then_some(path))
    }

    /// What the flags select, for messages (`--nsg N --mac M`).
    pub fn describe(&self) -> String {
        let mut v = Vec::new();
        if let Some(n) = &self.nsg {
            v.push(format!("--nsg {n}"));
        }
        for m in &self.macs {
            v.push(format!("--mac {m}"));
        }
        if let Some(n) = &self.vnet {
            v.push(format!("--vnet {n}"));
        }
        if let Some(n) = &self.subnet {
            v.push(format!("--subnet {n}"));
        }
        v.join(" ")
    }
}

/// The path of the flow-log resource folder a blob is under
/// (`…/FLOWLOGS/NAME`), whose blobs share one target.
pub fn flow_log_folder(path: &str) -> Option<&str> {
    let upper = path.to_ascii_uppercase();
    let at = upper.find("/FLOWLOGS/")? + "/FLOWLOGS/".len();
    let end = path.get(at..)?.find('/').map_or(path.len(), |i| at + i);
    path.get(..end).filter(|_| end > at)
}

/// The first `"targetResourceID":"…"` value in a blob's start.
fn target_of(head: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"targetResourceID\"";
    let at = head.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = head.get(at..)?;
    let open = rest.iter().position(|&b| b == b'"')?;
    let rest = rest.get(open + 1..)?;
    // Only a colon and spaces between the key and its value.
    if !head
        .get(at..at + open)?
        .iter()
        .all(|b| *b == b':' || b.is_ascii_whitespace())
    {
        return None;
    }
    let close = rest.iter().position(|&b| b == b'"')?;
    std::str::from_utf8(rest.get(..close)?)
        .ok()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NSG: &str = "insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/AIB-NSG/y=2026/m=11/d=27/h=04/m=00/macAddress=000D3A6EA404/PT1H.json";
    const VNET: &str = "flowLogResourceID=/SUBSCRIPTIONS/S/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NW/FLOWLOGS/FL1/y=2026/m=11/d=27/h=04/m=00/macAddress=000D3A6EA406/PT1H.json";

    fn sel(
        nsg: Option<&str>,
        macs: &[&str],
        vnet: Option<&str>,
        subnet: Option<&str>,
    ) -> Selection {
        let macs: Vec<String> = macs.iter().map(|s| s.to_string()).collect();
        Selection::new(nsg, &macs, vnet, subnet).unwrap()
    }

    #[test]
    fn paths_by_nsg_and_mac() {
        assert!(Selection::default().is_empty());
        assert!(sel(Some("aib-nsg"), &[], None, None).allows_path(NSG));
        assert!(!sel(Some("other"), &[], None, None).allows_path(NSG));
        let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/AIB-NSG";
        assert!(sel(Some(id), &[], None, None).allows_path(NSG));
        // The NSG's folder itself, while listing.
        let folder = &NSG[..NSG.find("/y=").unwrap()];
        assert!(!sel(Some("other"), &[], None, None).allows_path(&format!("{folder}/")));
        // A VNet flow log names no NSG: --nsg leaves it alone.
        assert!(sel(Some("other"), &[], None, None).allows_path(VNET));
        assert!(sel(None, &["00-0d-3a-6e-a4-04"], None, None).allows_path(NSG));
        assert!(!sel(None, &["000D3A6EA406"], None, None).allows_path(NSG));
        assert!(sel(None, &["00:0D:3A:6E:A4:06"], None, None).allows_path(VNET));
        assert!(sel(None, &["000D3A6EA406"], None, None).allows_path("captures/proxy.pcap"));
        assert!(Selection::new(None, &["000D3A".into()], None, None).is_err());
        assert!(Selection::new(None, &["000D3A6EA4ZZ".into()], None, None).is_err());
        assert!(sel(Some("n"), &[], None, None).prunes_above_time("a/NETWORKSECURITYGROUPS/"));
        assert!(!sel(Some("n"), &[], None, None).prunes_above_time("a/N/y=2026/"));
        assert!(!sel(None, &["000D3A6EA406"], None, None).prunes_above_time("a/"));
    }

    #[test]
    fn targets_by_vnet_and_subnet() {
        let subnet = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/aib-vnet/subnets/aib-build-subnet";
        let vnet = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/aib-vnet";
        let nic =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic1";
        let s = sel(None, &[], Some("AIB-VNET"), None);
        assert!(s.allows_target(subnet) && s.allows_target(vnet) && s.allows_target(nic));
        assert!(!sel(None, &[], Some("other"), None).allows_target(subnet));
        let s = sel(None, &[], None, Some("aib-build-subnet"));
        assert!(s.allows_target(subnet) && s.allows_target(vnet) && s.allows_target(nic));
        assert!(!sel(None, &[], None, Some("other")).allows_target(subnet));
        // A subnet's id names its VNET: another VNET's flow log is out.
        let s = sel(None, &[], None, Some(subnet));
        assert_eq!(s.vnet.as_deref(), Some("aib-vnet"));
        assert!(!s.allows_target(&vnet.replace("aib-vnet", "hub")));
        let head = format!(
            r#"{{"records":[{{"time":"t","targetResourceID" : "{subnet}","flowRecords":{{}}}}]}}"#
        );
        assert!(sel(None, &[], Some("aib-vnet"), None).head_allows(head.as_bytes()));
        assert!(!sel(None, &[], Some("hub"), None).head_allows(head.as_bytes()));
        assert!(
            sel(None, &[], Some("hub"), None)
                .head_allows(b"{\"records\":[{\"resourceId\":\"x\"}]}")
        );
        assert!(sel(None, &[], Some("hub"), None).head_allows(b"\xd4\xc3\xb2\xa1"));
        assert_eq!(
            flow_log_folder(VNET),
            Some(&VNET[..VNET.find("/y=").unwrap()])
        );
        assert_eq!(flow_log_folder(NSG), None);
        assert_eq!(flow_log_folder("a/FLOWLOGS/"), None);
    }
}

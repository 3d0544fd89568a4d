//! The image template: its subnets, sizes and OS, and the placeholders an
//! exported template still carries.

use super::arm::Params;
use super::fields::text;
use crate::aib::Os;
use crate::check::model::{ResourceId, Template, is_placeholder};
use serde_json::Value;

pub(super) fn template(v: &Value, params: &Params) -> Template {
    let mut t = Template {
        name: text(v, "name", params),
        location: text(v, "location", params),
        api_version: text(v, "apiVersion", params),
        ..Template::default()
    };
    if let Some(vp) = v.get("vmProfile") {
        t.vm_size = text(vp, "vmSize", params).filter(|s| !s.is_empty());
        if let Some(vc) = vp.get("vnetConfig") {
            if let Some(id) = text(vc, "subnetId", params).filter(|s| !s.trim().is_empty()) {
                t.subnet = Some(ResourceId::parse(&id));
            } else if let (Some(vnet), Some(sub)) =
                (text(vc, "name", params), text(vc, "subnetName", params))
            {
                t.legacy_vnet_config = true;
                let rg = text(vc, "resourceGroupName", params);
                t.subnet = Some(ResourceId::subnet(rg.as_deref(), &vnet, &sub));
            }
            t.aci_subnet = text(vc, "containerInstanceSubnetId", params)
                .filter(|s| !s.trim().is_empty())
                .map(|s| ResourceId::parse(&s));
            t.proxy_vm_size = text(vc, "proxyVmSize", params).filter(|s| !s.trim().is_empty());
        }
    }
    let (os, why) = template_os(v);
    t.os = os;
    t.os_evidence = why;
    let mut ph = Vec::new();
    for field in [&t.name, &t.location, &t.api_version].into_iter().flatten() {
        if is_placeholder(field) {
            ph.push(field.clone());
        }
    }
    for id in [&t.subnet, &t.aci_subnet].into_iter().flatten() {
        ph.extend(id.placeholders());
    }
    ph.dedup();
    t.placeholders = ph;
    t
}

/// The OS from the source image, else from the customizer types.
fn template_os(v: &Value) -> (Option<Os>, Option<String>) {
    if let Some(src) = v.get("source") {
        let field = |k: &str| {
            src.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase()
        };
        let (publisher, offer, sku) = (field("publisher"), field("offer"), field("sku"));
        let all = format!("{publisher} {offer} {sku}");
        if all.contains("windows") {
            return (
                Some(Os::Windows),
                Some(format!("source image {publisher}/{offer}")),
            );
        }
        const LINUX: [&str; 12] = [
            "canonical",
            "ubuntu",
            "redhat",
            "rhel",
            "centos",
            "openlogic",
            "suse",
            "sles",
            "debian",
            "almalinux",
            "rockylinux",
            "oracle-linux",
        ];
        if !publisher.is_empty() && LINUX.iter().any(|l| all.contains(l)) {
            return (
                Some(Os::Linux),
                Some(format!("source image {publisher}/{offer}")),
            );
        }
    }
    let mut windows = None;
    let mut linux = None;
    if let Some(steps) = v.get("customize").and_then(Value::as_array) {
        for step in steps {
            match step.get("type").and_then(Value::as_str).unwrap_or("") {
                t @ ("PowerShell" | "WindowsRestart" | "WindowsUpdate") => {
                    windows.get_or_insert(t.to_string());
                }
                t @ "Shell" => {
                    linux.get_or_insert(t.to_string());
                }
                _ => {}
            }
        }
    }
    match (windows, linux) {
        (Some(w), None) => (Some(Os::Windows), Some(format!("customizer type {w}"))),
        (None, Some(l)) => (Some(Os::Linux), Some(format!("customizer type {l}"))),
        _ => (None, None),
    }
}

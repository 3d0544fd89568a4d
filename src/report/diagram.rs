//! The pictures of a diagnosis shared by every text format: the path
//! diagram (one arrow per hop, each with its status and counts) and the
//! verdict line.

use super::Style;
use super::wrap::{visible_width, wrap};
use crate::aib::{Hop, HopStatus, Severity, TopologyKind, Verdict, kind_name, os_name};
use crate::diagnose::Diagnosis;
use crate::hops::HopReport;

/// The ANSI colour of a hop status.
pub fn status_color(st: HopStatus) -> &'static str {
    match st {
        HopStatus::Ok => "32",
        HopStatus::NotObserved => "2",
        HopStatus::Degraded => "33",
        _ => "1;31",
    }
}

fn hop_cell(h: Option<&HopReport>, style: &Style) -> String {
    match h {
        None => "?".to_string(),
        Some(h) => {
            let ports = h.ports_text();
            let counts = if h.attempts > 0 {
                format!(" {}/{}", h.attempts - h.failed, h.attempts)
            } else {
                String::new()
            };
            let status = h.status.as_str().to_uppercase();
            let ports = if ports.is_empty() {
                String::new()
            } else {
                format!(":{ports} ")
            };
            format!(
                "{ports}{}{counts}",
                style.paint(&status, status_color(h.status))
            )
        }
    }
}

fn ips(v: &[std::net::IpAddr]) -> String {
    if v.is_empty() {
        "?".to_string()
    } else {
        v.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The path diagram, one hop per arrow, left to right.
pub fn diagram(d: &Diagnosis, style: &Style) -> String {
    let r = &d.topology.roles;
    let get = |h: Hop| d.hops.iter().find(|x| x.hop == h);
    let mut out = String::new();
    match d.topology.kind {
        Some(TopologyKind::Isolated) => {
            out.push_str(&format!(
                "  ACI {} ──{}──▶ build VM {}\n",
                ips(&r.aci),
                hop_cell(get(Hop::AciToBuildVm), style),
                ips(&r.build_vm)
            ));
        }
        _ => {
            out.push_str(&format!(
                "  probe {} ──{}──┐\n",
                ips(&r.probe),
                hop_cell(get(Hop::ProbeToProxy), style)
            ));
            out.push_str(&format!(
                "  Private Link NAT {} ──{}──▶ proxy {} ──{}──▶ build VM {}\n",
                ips(&r.private_link_nat),
                hop_cell(get(Hop::AlbToProxy), style),
                ips(&r.proxy),
                hop_cell(get(Hop::ProxyToBuildVm), style),
                ips(&r.build_vm)
            ));
            if let Some(st) = get(Hop::ProxyToBuildVm).and_then(|h| h.stitching) {
                out.push_str(&format!(
                    "  stitched: {} command session(s) at the proxy, {} forwarded, {} answered\n",
                    st.commands, st.forwarded, st.answered
                ));
            }
        }
    }
    out.push_str(&format!(
        "  build VM {} ──{}──▶ internet    build VM ──{}──▶ DNS\n",
        ips(&r.build_vm),
        hop_cell(get(Hop::BuildVmEgress), style),
        hop_cell(get(Hop::BuildVmDns), style)
    ));
    out
}

/// A list of addresses for a narrow line: the first, and how many more.
fn ips_short(v: &[std::net::IpAddr]) -> String {
    match v {
        [] => "?".to_string(),
        [one] => one.to_string(),
        [one, rest @ ..] => format!("{one} +{}", rest.len()),
    }
}

/// The path diagram for a terminal `width` columns wide: [`diagram`] when
/// each of its lines fits, else one hop a line (the command chain split at
/// the proxy), addresses shortened to the first and a count.
pub fn diagram_fitted(d: &Diagnosis, style: &Style, width: usize) -> String {
    let full = diagram(d, style);
    if full.lines().all(|l| visible_width(l) <= width) {
        return full;
    }
    let r = &d.topology.roles;
    let get = |h: Hop| d.hops.iter().find(|x| x.hop == h);
    let line = |from: String, h: Hop, to: String| {
        format!("  {from} ──{}──▶ {to}\n", hop_cell(get(h), style))
    };
    let mut out = String::new();
    let vm = format!("build VM {}", ips_short(&r.build_vm));
    match d.topology.kind {
        Some(TopologyKind::Isolated) => {
            out.push_str(&line(
                format!("ACI {}", ips_short(&r.aci)),
                Hop::AciToBuildVm,
                vm.clone(),
            ));
        }
        _ => {
            let proxy = format!("proxy {}", ips_short(&r.proxy));
            out.push_str(&line(
                format!("probe {}", ips_short(&r.probe)),
                Hop::ProbeToProxy,
                "proxy".to_string(),
            ));
            out.push_str(&line(
                format!("Private Link NAT {}", ips_short(&r.private_link_nat)),
                Hop::AlbToProxy,
                proxy.clone(),
            ));
            out.push_str(&line(proxy, Hop::ProxyToBuildVm, vm.clone()));
            if let Some(st) = get(Hop::ProxyToBuildVm).and_then(|h| h.stitching) {
                let text = format!(
                    "stitched: {} command session(s) at the proxy, {} forwarded, {} answered",
                    st.commands, st.forwarded, st.answered
                );
                out.push_str(&wrap(&text, width, "  ", "    "));
                out.push('\n');
            }
        }
    }
    out.push_str(&line(vm, Hop::BuildVmEgress, "internet".to_string()));
    out.push_str(&line(
        "build VM".to_string(),
        Hop::BuildVmDns,
        "DNS".to_string(),
    ));
    out
}

/// The verdict line.
pub fn verdict_line(d: &Diagnosis, style: &Style) -> String {
    let v = d.verdict.as_str().to_uppercase();
    let code = match d.verdict {
        Verdict::Healthy => "1;32",
        Verdict::Broken => "1;31",
        Verdict::Inconclusive => "1;33",
    };
    let tail = match d.first_broken_hop() {
        Some(h) => format!(": first broken hop {} ({})", h.hop.label(), h.status),
        None => String::new(),
    };
    let problems = d
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .count();
    format!(
        "Verdict: {}{tail} — {problems} problem(s), {} build, {} topology",
        style.paint(&v, code),
        os_name(d.topology.os),
        kind_name(d.topology.kind)
    )
}

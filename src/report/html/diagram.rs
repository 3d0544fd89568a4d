//! The SVG path diagram: the build's machines as boxes, each hop an arrow
//! between them in its status' tone (colour, dash and symbol) with the
//! status in words and its counts, so a glance says which hop is broken.

use super::page::{Tone, esc};
use crate::aib::{Hop, TopologyKind};
use crate::diagnose::Diagnosis;
use crate::hops::HopReport;
use std::fmt::Write as _;
use std::net::IpAddr;

/// Box width and height (SVG user units).
const BOX_W: i32 = 132;
const BOX_H: i32 = 56;
/// The columns' left edges: a gap of 128 between boxes for the labels.
const COL: [i32; 4] = [10, 270, 530, 790];

/// A machine of the path.
struct Node<'a> {
    x: i32,
    y: i32,
    name: &'a str,
    addrs: &'a [IpAddr],
    /// What to write when there is no address (`internet`, `:53`).
    detail: &'a str,
}

fn node(out: &mut String, n: &Node<'_>) {
    let addr = match n.addrs {
        [] => n.detail.to_string(),
        [one] => one.to_string(),
        [one, rest @ ..] => format!("{one} +{}", rest.len()),
    };
    let all = n
        .addrs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let cx = n.x + BOX_W / 2;
    let _ = writeln!(
        out,
        "<g><title>{name}{sep}{all}</title>\
         <rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\" fill=\"#ffffff\" stroke=\"#333333\" stroke-width=\"1.5\"/>\
         <text x=\"{cx}\" y=\"{ty}\" text-anchor=\"middle\" font-size=\"13.5\" font-weight=\"700\">{name}</text>\
         <text x=\"{cx}\" y=\"{ay}\" text-anchor=\"middle\" font-size=\"12.5\" font-family=\"monospace\">{addr}</text></g>",
        name = esc(n.name),
        sep = if all.is_empty() { "" } else { ": " },
        all = esc(&all),
        x = n.x,
        y = n.y,
        ty = n.y + 22,
        ay = n.y + 42,
        addr = esc(&addr),
    );
}

/// One hop's arrow along `path` (an SVG path), its words centred at
/// `(lx, ly)`: the status above the line, the counts below.
fn arrow(
    out: &mut String,
    id: &str,
    path: &str,
    lx: i32,
    ly: i32,
    hop: Hop,
    h: Option<&HopReport>,
) {
    let tone = h.map_or(Tone::None, |h| Tone::of_status(h.status));
    let status = h.map_or("no data", |h| h.status.as_str()).replace('_', " ");
    let width = match tone {
        Tone::Bad => 4,
        Tone::None => 2,
        _ => 3,
    };
    let dash = tone
        .dash()
        .map(|d| format!(" stroke-dasharray=\"{d}\""))
        .unwrap_or_default();
    let mut counts = String::new();
    let mut extra = String::new();
    let mut title = format!("{}: {status}", hop.label());
    if let Some(h) = h {
        let ports = h.ports_text();
        if h.attempts > 0 {
            let _ = write!(counts, "{}/{} ok", h.attempts - h.failed, h.attempts);
        }
        if !ports.is_empty() {
            if !counts.is_empty() {
                counts.push_str(" · ");
            }
            let _ = write!(counts, ":{ports}");
        }
        if h.syn_retransmits > 0 {
            extra = format!("{} SYN retransmits", h.syn_retransmits);
        }
        let _ = write!(
            title,
            "; {} attempts, {} established, {} failed ({} blocked, {} rejected, {} interrupted), {} SYN retransmits",
            h.attempts,
            h.established,
            h.failed,
            h.blocked,
            h.rejected,
            h.interrupted,
            h.syn_retransmits
        );
        if let Some(n) = &h.note {
            let _ = write!(title, "; {n}");
        }
    }
    let _ = write!(
        out,
        "<g><title>{title}</title>\
         <path d=\"{path}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{width}\"{dash} marker-end=\"url(#{id}-head-{class})\"/>\
         <text x=\"{lx}\" y=\"{sy}\" text-anchor=\"middle\" font-size=\"12.5\" font-weight=\"700\" fill=\"{text}\">{sym} {word}</text>",
        title = esc(&title),
        stroke = tone.stroke(),
        class = tone.class(),
        sy = ly - 8,
        text = tone.text(),
        sym = tone.symbol(),
        word = esc(&status.to_uppercase()),
    );
    for (k, line) in [counts, extra].iter().filter(|l| !l.is_empty()).enumerate() {
        let _ = write!(
            out,
            "<text x=\"{lx}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#333333\">{}</text>",
            ly + 17 + 15 * k as i32,
            esc(line)
        );
    }
    out.push_str("</g>\n");
}

/// The diagram of a diagnosis as one `<svg>` element; `id` makes its
/// element ids unique in the page.
pub(super) fn svg(d: &Diagnosis, id: &str) -> String {
    let r = &d.topology.roles;
    let get = |h: Hop| d.hops.iter().find(|x| x.hop == h);
    let isolated = d.topology.kind == Some(TopologyKind::Isolated);
    // Rows: the probe's (proxy builds only), the command path's, egress's.
    let top = if isolated { 10 } else { 150 };
    let low = top + 110;
    let height = low + BOX_H + 16;
    let mut body = String::new();
    let (client_col, vm_col) = if isolated { (0, 1) } else { (1, 2) };
    let [c0, c1, c2, c3] = COL;
    let col = |k: usize| {
        if k == 0 {
            c0
        } else if k == 1 {
            c1
        } else if k == 2 {
            c2
        } else {
            c3
        }
    };
    let vm_x = col(vm_col);
    let out_x = col(vm_col + 1);
    let width = out_x + BOX_W + 10;
    let mid = top + BOX_H / 2;
    if isolated {
        node(
            &mut body,
            &Node {
                x: c0,
                y: top,
                name: "ACI",
                addrs: &r.aci,
                detail: "container",
            },
        );
        arrow(
            &mut body,
            id,
            &format!("M{},{mid} H{vm_x}", c0 + BOX_W),
            (c0 + BOX_W + vm_x) / 2,
            mid,
            Hop::AciToBuildVm,
            get(Hop::AciToBuildVm),
        );
    } else {
        let proxy_x = col(client_col);
        node(
            &mut body,
            &Node {
                x: c0,
                y: 10,
                name: "health probe",
                addrs: &r.probe,
                detail: "?",
            },
        );
        node(
            &mut body,
            &Node {
                x: c0,
                y: top,
                name: "Private Link NAT",
                addrs: &r.private_link_nat,
                detail: "?",
            },
        );
        node(
            &mut body,
            &Node {
                x: proxy_x,
                y: top,
                name: "proxy VM",
                addrs: &r.proxy,
                detail: "?",
            },
        );
        let px = proxy_x + BOX_W / 2;
        arrow(
            &mut body,
            id,
            &format!("M{},38 H{px} V{top}", c0 + BOX_W),
            (c0 + BOX_W + px) / 2,
            38,
            Hop::ProbeToProxy,
            get(Hop::ProbeToProxy),
        );
        arrow(
            &mut body,
            id,
            &format!("M{},{mid} H{proxy_x}", c0 + BOX_W),
            (c0 + BOX_W + proxy_x) / 2,
            mid,
            Hop::AlbToProxy,
            get(Hop::AlbToProxy),
        );
        arrow(
            &mut body,
            id,
            &format!("M{},{mid} H{vm_x}", proxy_x + BOX_W),
            (proxy_x + BOX_W + vm_x) / 2,
            mid,
            Hop::ProxyToBuildVm,
            get(Hop::ProxyToBuildVm),
        );
    }
    node(
        &mut body,
        &Node {
            x: vm_x,
            y: top,
            name: "build VM",
            addrs: &r.build_vm,
            detail: "?",
        },
    );
    node(
        &mut body,
        &Node {
            x: out_x,
            y: top,
            name: "internet",
            addrs: &[],
            detail: "mirrors, storage",
        },
    );
    node(
        &mut body,
        &Node {
            x: out_x,
            y: low,
            name: "DNS",
            addrs: &[],
            detail: "server :53",
        },
    );
    arrow(
        &mut body,
        id,
        &format!("M{},{mid} H{out_x}", vm_x + BOX_W),
        (vm_x + BOX_W + out_x) / 2,
        mid,
        Hop::BuildVmEgress,
        get(Hop::BuildVmEgress),
    );
    let down = vm_x + BOX_W / 2;
    let dns_y = low + BOX_H / 2;
    arrow(
        &mut body,
        id,
        &format!("M{down},{} V{dns_y} H{out_x}", top + BOX_H),
        (down + out_x) / 2 + 10,
        dns_y,
        Hop::BuildVmDns,
        get(Hop::BuildVmDns),
    );
    let mut heads = String::new();
    for tone in [Tone::Ok, Tone::Bad, Tone::Warn, Tone::None] {
        let _ = writeln!(
            heads,
            "<marker id=\"{id}-head-{}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"12\" markerHeight=\"12\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker>",
            tone.class(),
            tone.stroke()
        );
    }
    let desc: Vec<String> = d
        .hops
        .iter()
        .filter(|h| h.hop.applies_to(d.topology.kind))
        .map(|h| format!("{}: {}", h.hop.label(), h.status))
        .collect();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" style=\"max-width:{width}px\" role=\"img\" aria-labelledby=\"{id}-t\" font-family=\"system-ui, 'Segoe UI', 'Liberation Sans', Arial, sans-serif\">\
         <title id=\"{id}-t\">Build path: {}</title>\n<defs>\n{heads}</defs>\n{body}</svg>",
        esc(&desc.join("; "))
    )
}

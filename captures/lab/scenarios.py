#!/usr/bin/env python3
"""The lab's single source of truth: address plan, NSG models, scenarios and what each
capture point can honestly show (Python 3 standard library only).

  scenarios.py list                      scenario names, one a line
  scenarios.py shell SCENARIO            shell variable assignments for record.sh
  scenarios.py nft SCENARIO              the fabric's nftables ruleset (the NSG model)
  scenarios.py expected SCENARIO OUTDIR  write OUTDIR/expected.json (reads OUTDIR/lab/)
"""

import ipaddress
import json
import os
import shlex
import sys

# ---------------------------------------------------------------------------------------
# Address plan. These addresses are assigned inside the lab's network namespaces only; the
# root namespace has no interface on the lab segment and no route to any of them.

VNET = "10.1.0.0/16"  # aib-vnet: build subnet 10.1.0.0/24, ACI subnet 10.1.1.0/24, DNS 10.1.2.0/24
HOSTS = {
    # role       (namespace, ipv4, mac, NSG-logged NIC?)
    "proxy": ("proxy", "10.1.0.4", "00:0d:3a:6e:a4:04", True),
    "plnat": ("plnat", "10.1.0.5", "02:aa:00:01:00:05", False),
    "buildvm": ("buildvm", "10.1.0.6", "00:0d:3a:6e:a4:06", True),
    "aci": ("aci", "10.1.1.4", "00:0d:3a:6e:b1:04", False),
    "dns": ("dns", "10.1.2.4", "02:aa:00:01:02:04", False),
    "probe": ("probe", "168.63.129.16", "02:aa:00:a8:3f:10", False),
    "mirror": ("mirror", "52.147.219.192", "02:aa:00:34:93:c0", False),
}
# Extra addresses of the mirror namespace (all "Internet" in NSG terms).
MIRROR_IPS = {
    "azure.archive.ubuntu.com": "52.147.219.192",
    "download.windowsupdate.com": "20.83.81.160",
    "azkms.core.windows.net": "20.118.99.224",
}
AZURE_LB = "168.63.129.16"

SUBSCRIPTION = "8f2a5c1e-3b7d-4e90-a6c4-2d9e7b1f0a35"
RESOURCE_GROUP = "aib-vnet-rg"
VNET_NAME = "aib-vnet"
SUBNET_NAME = "aib-build-subnet"
NSG_NAME = "aib-build-subnet-nsg"
REGION = "westus2"

# ---------------------------------------------------------------------------------------
# NSG model. One NSG on the build subnet (proxy VM and build VM NICs). Rules are written as
# in Azure: name, priority, direction, access, protocol, source, destination, dest ports.
# The fabric namespace enforces them with nftables (generated below) and logs every deny
# to NFLOG group 1 with the rule name; flowlogs.py evaluates the same model to name the
# rule of each allowed flow.

DEFAULT_RULES = [
    # name, prio, dir, access, proto, src, dst, ports
    ("AllowVnetInBound", 65000, "I", "Allow", "*", "VirtualNetwork", "VirtualNetwork", "*"),
    ("AllowAzureLoadBalancerInBound", 65001, "I", "Allow", "*", "AzureLoadBalancer", "*", "*"),
    ("DenyAllInBound", 65500, "I", "Deny", "*", "*", "*", "*"),
    ("AllowVnetOutBound", 65000, "O", "Allow", "*", "VirtualNetwork", "VirtualNetwork", "*"),
    ("AllowInternetOutBound", 65001, "O", "Allow", "*", "*", "Internet", "*"),
    ("DenyAllOutBound", 65500, "O", "Deny", "*", "*", "*", "*"),
]


def rule(name, prio, direction, access, proto, src, dst, ports):
    return dict(name=name, priority=prio, direction=direction, access=access,
                protocol=proto, source=src, destination=dst, ports=ports)


QUICKSTART = rule("AzureImageBuilderAccess", 400, "I", "Allow", "T", "AzureLoadBalancer", "VirtualNetwork", "60000-60001")

# ---------------------------------------------------------------------------------------
# Scenarios.
#
# hops: the status of every hop over the whole lab (all capture points and flow logs).
# views: per capture point, what that file alone can honestly show; hops not listed are
#        not_observed there. `verdict`: healthy | broken | inconclusive.

HOP_NAMES = ["probe_to_proxy", "alb_to_proxy", "proxy_to_build_vm", "aci_to_build_vm", "build_vm_egress", "build_vm_dns"]


def v(verdict, findings, note=None, **hops):
    d = {"verdict": verdict, "finding_ids": findings, "hops": hops}
    if note:
        d["note"] = note
    return d


OK_PROXY = dict(probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="ok")
OK_BUILD = dict(proxy_to_build_vm="ok", build_vm_egress="ok", build_vm_dns="ok")
ALL_OK = dict(OK_PROXY, build_vm_egress="ok", build_vm_dns="ok")
NOTHING = "no AIB traffic reaches this NIC in this scenario"

SCENARIOS = {}


def scenario(name, **kw):
    kw.setdefault("os", "linux")
    kw.setdefault("topology", "proxy")
    kw.setdefault("duration", 28)
    kw.setdefault("nsg", [])
    kw.setdefault("faults", [])
    kw.setdefault("client", "build")
    kw.setdefault("captures", ["proxy", "buildvm", "segment"] if kw["topology"] == "proxy" else ["aci", "buildvm", "segment"])
    SCENARIOS[name] = dict(name=name, **kw)


scenario(
    "healthy-linux",
    description="Linux build through the proxy: health probes, SSH command sessions via the proxy's "
    "SSH bastion on :60001 to the build VM's sshd on :22, customization steps that resolve names and "
    "download from the package mirror over HTTP and HTTPS.",
    failure_mode=None,
    verdict="healthy", broken_hop=None, status="ok", finding_ids=["healthy"],
    hops=ALL_OK,
    views={
        "proxy.pcap": v("healthy", ["healthy"], **OK_PROXY),
        "buildvm.pcap": v("healthy", ["healthy"], **OK_BUILD),
        "segment.pcap": v("healthy", ["healthy"], **ALL_OK),
        "flowlogs": v("healthy", ["healthy"], **ALL_OK),
    },
)

scenario(
    "healthy-linux-long",
    description="A longer healthy Linux build: 120 SSH command sessions through the proxy, two at a time "
    "(so 120 upstream and 120 downstream TCP sessions in proxy.pcap), probes every 5 s, customization "
    "downloads now and then. Captured with a 96-byte snap length (headers plus the first payload bytes, "
    "enough for the SSH banners and HTTP request lines) and without a segment capture, to stay small.",
    failure_mode=None, duration=80, snaplen=96, captures=["proxy", "buildvm"],
    verdict="healthy", broken_hop=None, status="ok", finding_ids=["healthy"],
    hops=ALL_OK,
    views={
        "proxy.pcap": v("healthy", ["healthy"], **OK_PROXY),
        "buildvm.pcap": v("healthy", ["healthy"], **OK_BUILD),
        "flowlogs": v("healthy", ["healthy"], **ALL_OK),
    },
)

scenario(
    "healthy-windows",
    os="windows",
    description="Windows build through the proxy: probes to :60000, WinRM sessions through the proxy's "
    "HTTP CONNECT proxy on :60000 to the build VM's WinRM-over-HTTPS listener on :5986 (TLS, POST /wsman), "
    "customization steps that download over HTTPS and activate against KMS on :1688.",
    failure_mode=None,
    verdict="healthy", broken_hop=None, status="ok", finding_ids=["healthy"],
    hops=ALL_OK,
    views={
        "proxy.pcap": v("healthy", ["healthy"], **OK_PROXY),
        "buildvm.pcap": v("healthy", ["healthy"], **OK_BUILD),
        "segment.pcap": v("healthy", ["healthy"], **ALL_OK),
        "flowlogs": v("healthy", ["healthy"], **ALL_OK),
    },
)

scenario(
    "probe-blocked",
    description="A custom NSG rule denies the Azure Load Balancer (168.63.129.16) inbound, so the health "
    "probe to the proxy's :60001 is dropped before the proxy's NIC. The load balancer marks the only "
    "proxy down and forwards no command sessions at all: the client side is absent.",
    failure_mode="F2", client="none", duration=26,
    nsg=[rule("DenyAzureLoadBalancerInBound", 300, "I", "Deny", "*", "AzureLoadBalancer", "*", "*")],
    verdict="broken", broken_hop="probe_to_proxy", status="blocked", finding_ids=["probe_blocked"],
    hops=dict(probe_to_proxy="blocked"),
    views={
        "proxy.pcap": v("inconclusive", ["no_aib_traffic"],
                        "the NSG drops the probe before the proxy's NIC and the LB forwards nothing: the proxy sees no AIB packet"),
        "buildvm.pcap": v("inconclusive", ["no_aib_traffic"], NOTHING),
        "segment.pcap": v("broken", ["probe_blocked"], "probe SYNs from 168.63.129.16 retransmitted, never answered; no command sessions",
                          probe_to_proxy="blocked"),
        "flowlogs": v("broken", ["probe_blocked"], "denied 168.63.129.16 -> proxy:60001 tuples every ~5 s, no Private Link NAT tuples",
                      probe_to_proxy="blocked"),
    },
)

scenario(
    "alb-to-proxy-dropped",
    description="The quickstart rule admits only the AzureLoadBalancer source; a custom DenyAllInBound "
    "placed before AllowVnetInBound drops the Private Link NAT IP's command sessions to the proxy's "
    ":60001. Probes succeed; the client's SYNs are retransmitted and never answered.",
    failure_mode="F1",
    nsg=[QUICKSTART, rule("DenyAllInBound", 4000, "I", "Deny", "*", "*", "*", "*")],
    verdict="broken", broken_hop="alb_to_proxy", status="blocked", finding_ids=["alb_to_proxy_blocked"],
    hops=dict(probe_to_proxy="ok", alb_to_proxy="blocked"),
    views={
        "proxy.pcap": v("inconclusive", [],
                        "probes answered, but the PL NAT SYNs are dropped before the NIC: the proxy cannot tell a blocked "
                        "command channel from no build at all",
                        probe_to_proxy="ok"),
        "buildvm.pcap": v("inconclusive", ["no_aib_traffic"], NOTHING),
        "segment.pcap": v("broken", ["alb_to_proxy_blocked"], probe_to_proxy="ok", alb_to_proxy="blocked"),
        "flowlogs": v("broken", ["alb_to_proxy_blocked"],
                      "probe flows allowed by UserRule_AzureImageBuilderAccess (NSG v2: B only, no counters - custom inbound "
                      "rules are stateless), PL NAT flows denied by UserRule_DenyAllInBound",
                      probe_to_proxy="ok", alb_to_proxy="blocked"),
    },
)

scenario(
    "proxy-port-rejected",
    description="Nothing listens on the proxy's :60001 (the proxy's SSH bastion is down): the client's "
    "SYNs and the health probes are answered with RST. (An Azure LB would stop forwarding after two "
    "failed probes; the lab keeps the client sending so the RST signature is recorded.)",
    failure_mode=None, faults=["proxy_listener_down"],
    verdict="broken", broken_hop="alb_to_proxy", status="rejected", finding_ids=["proxy_port_rejected"],
    hops=dict(probe_to_proxy="rejected", alb_to_proxy="rejected"),
    views={
        "proxy.pcap": v("broken", ["proxy_port_rejected"], probe_to_proxy="rejected", alb_to_proxy="rejected"),
        "buildvm.pcap": v("inconclusive", ["no_aib_traffic"], NOTHING),
        "segment.pcap": v("broken", ["proxy_port_rejected"], probe_to_proxy="rejected", alb_to_proxy="rejected"),
        "flowlogs": v("broken", ["proxy_port_rejected"],
                      "inferred from counters: every flow to :60001 ends with 1 packet each way (a 74-byte SYN, a 54-byte reply)",
                      probe_to_proxy="rejected", alb_to_proxy="rejected"),
    },
)

scenario(
    "proxy-to-buildvm-dropped",
    description="A Deny-All-Any-Any inbound rule with allows only for :60000-60001 (VirtualNetwork and "
    "AzureLoadBalancer) drops the proxy's connections to the build VM's :22. Command sessions reach the "
    "proxy; the proxy's SYNs to build:22 are retransmitted and never answered.",
    failure_mode="F3",
    nsg=[
        rule("AllowAIBProxyInBound", 300, "I", "Allow", "T", "VirtualNetwork", "VirtualNetwork", "60000-60001"),
        QUICKSTART,
        rule("Deny-All-Any-Any", 4096, "I", "Deny", "*", "*", "*", "*"),
    ],
    verdict="broken", broken_hop="proxy_to_build_vm", status="blocked", finding_ids=["proxy_to_build_vm_blocked"],
    hops=dict(probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="blocked"),
    views={
        "proxy.pcap": v("broken", ["proxy_to_build_vm_blocked"], probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="blocked"),
        "buildvm.pcap": v("inconclusive", ["no_aib_traffic"], "the proxy's SYNs are dropped before the build VM's NIC"),
        "segment.pcap": v("broken", ["proxy_to_build_vm_blocked"], probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="blocked"),
        "flowlogs": v("broken", ["proxy_to_build_vm_blocked"],
                      "build VM NIC: proxy -> :22 denied by UserRule_Deny-All-Any-Any; proxy NIC: the same flows allowed "
                      "outbound with no reply packets; PL NAT and probe flows allowed by custom rules (NSG v2: B only)",
                      probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="blocked"),
    },
)

scenario(
    "buildvm-ssh-down",
    description="sshd is not running on the build VM: the proxy's SYNs to :22 get RST. Command sessions "
    "reach the proxy and end quickly when the bastion reports the refused channel.",
    failure_mode=None, faults=["sshd_down"],
    verdict="broken", broken_hop="proxy_to_build_vm", status="rejected", finding_ids=["build_vm_port_rejected"],
    hops=dict(probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="rejected"),
    views={
        "proxy.pcap": v("broken", ["build_vm_port_rejected"], probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="rejected"),
        "buildvm.pcap": v("broken", ["build_vm_port_rejected"], proxy_to_build_vm="rejected"),
        "segment.pcap": v("broken", ["build_vm_port_rejected"], probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="rejected"),
        "flowlogs": v("broken", ["build_vm_port_rejected"],
                      "inferred from counters: proxy -> build:22 flows end with 1 packet each way",
                      probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="rejected"),
    },
)

scenario(
    "winrm-blocked",
    os="windows", faults=["guestfw_winrm_drop"],
    description="Windows build: the build VM's own firewall drops WinRM-HTTPS :5986 (the NSG allows it). "
    "WinRM sessions reach the proxy's CONNECT proxy on :60000; the proxy's SYNs to build:5986 arrive at "
    "the build VM and are never answered; the proxy answers the CONNECT with 504 after its dial timeout.",
    failure_mode="F16",
    verdict="broken", broken_hop="proxy_to_build_vm", status="blocked", finding_ids=["proxy_to_build_vm_blocked"],
    hops=dict(probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="blocked"),
    views={
        "proxy.pcap": v("broken", ["proxy_to_build_vm_blocked"], probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="blocked"),
        "buildvm.pcap": v("broken", ["proxy_to_build_vm_blocked"], "SYNs to :5986 arrive and are never answered (guest firewall)",
                          proxy_to_build_vm="blocked"),
        "segment.pcap": v("broken", ["proxy_to_build_vm_blocked"], probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="blocked"),
        "flowlogs": v("broken", ["proxy_to_build_vm_blocked"],
                      "the NSG allows proxy -> build:5986; the flows end with request packets and no reply packets",
                      probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="blocked"),
    },
)

scenario(
    "session-interrupted",
    faults=["guestfw_ssh_drop_midsession"], duration=30,
    description="Linux build: after a few healthy command sessions, a long-running step is under way "
    "when the build VM's own firewall starts dropping :22 in both directions. The established session "
    "goes silent: the proxy retransmits to build:22, the client gives up on its keepalives and the proxy's "
    "FIN to the build VM is retransmitted too. No new sessions are attempted after the failure.",
    failure_mode="F15",
    verdict="broken", broken_hop="proxy_to_build_vm", status="interrupted", finding_ids=["build_session_interrupted"],
    hops=dict(probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="interrupted", build_vm_egress="ok", build_vm_dns="ok"),
    views={
        "proxy.pcap": v("broken", ["build_session_interrupted"], probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="interrupted"),
        "buildvm.pcap": v("broken", ["build_session_interrupted"],
                          "the proxy's packets keep arriving; the build VM stops answering (its replies are dropped before the capture point)",
                          proxy_to_build_vm="interrupted", build_vm_egress="ok", build_vm_dns="ok"),
        "segment.pcap": v("broken", ["build_session_interrupted"], probe_to_proxy="ok", alb_to_proxy="ok",
                          proxy_to_build_vm="interrupted", build_vm_egress="ok", build_vm_dns="ok"),
        "flowlogs": v("healthy", ["healthy"],
                      "blind spot: the guest firewall is inside the VM; the NSG allowed every flow, the interrupted flow "
                      "simply has no end tuple yet",
                      probe_to_proxy="ok", alb_to_proxy="ok", proxy_to_build_vm="ok", build_vm_egress="ok", build_vm_dns="ok"),
    },
)

scenario(
    "egress-blocked",
    description="Linux build: a custom outbound rule denies the Internet, so the build VM's downloads from "
    "the package mirror (:80, :443) are dropped. Name resolution via the custom DNS server in the VNet "
    "works, command sessions work, the download steps fail after their connect timeouts.",
    failure_mode="F14",
    nsg=[rule("DenyInternetOutBound", 4000, "O", "Deny", "*", "*", "Internet", "*")],
    verdict="broken", broken_hop="build_vm_egress", status="blocked", finding_ids=["build_vm_egress_blocked"],
    hops=dict(OK_PROXY, build_vm_egress="blocked", build_vm_dns="ok"),
    views={
        "proxy.pcap": v("healthy", ["healthy"], "the build VM's egress does not pass the proxy", **OK_PROXY),
        "buildvm.pcap": v("broken", ["build_vm_egress_blocked"], proxy_to_build_vm="ok", build_vm_egress="blocked", build_vm_dns="ok"),
        "segment.pcap": v("broken", ["build_vm_egress_blocked"], **dict(OK_PROXY, build_vm_egress="blocked", build_vm_dns="ok")),
        "flowlogs": v("broken", ["build_vm_egress_blocked"], **dict(OK_PROXY, build_vm_egress="blocked", build_vm_dns="ok")),
    },
)

scenario(
    "dns-blocked",
    description="Linux build: a custom outbound rule denies DNS (:53) to the VNet's custom DNS server "
    "10.1.2.4. The build VM's queries go unanswered, names never resolve, so no download is even "
    "attempted; command sessions work.",
    failure_mode="F14",
    nsg=[rule("DenyDnsOutBound", 3000, "O", "Deny", "*", "*", "10.1.2.4/32", "53")],
    verdict="broken", broken_hop="build_vm_dns", status="blocked", finding_ids=["dns_failing"],
    hops=dict(OK_PROXY, build_vm_dns="blocked"),
    views={
        "proxy.pcap": v("healthy", ["healthy"], "the build VM's DNS does not pass the proxy", **OK_PROXY),
        "buildvm.pcap": v("broken", ["dns_failing"], proxy_to_build_vm="ok", build_vm_dns="blocked"),
        "segment.pcap": v("broken", ["dns_failing"], **dict(OK_PROXY, build_vm_dns="blocked")),
        "flowlogs": v("broken", ["dns_failing"], **dict(OK_PROXY, build_vm_dns="blocked")),
    },
)

ISO_OK = dict(aci_to_build_vm="ok", build_vm_egress="ok", build_vm_dns="ok")
scenario(
    "isolated-healthy",
    topology="isolated",
    description="Isolated build (containerInstanceSubnetId): the ACI container in 10.1.1.0/24 opens SSH "
    "sessions directly to the build VM's :22; no proxy, no load balancer, no probe. Customization "
    "downloads as in healthy-linux.",
    failure_mode=None,
    verdict="healthy", broken_hop=None, status="ok", finding_ids=["healthy"],
    hops=ISO_OK,
    views={
        "aci.pcap": v("healthy", ["healthy"], aci_to_build_vm="ok"),
        "buildvm.pcap": v("healthy", ["healthy"], **ISO_OK),
        "segment.pcap": v("healthy", ["healthy"], **ISO_OK),
        "flowlogs": v("healthy", ["healthy"], "ACI NICs are not flow-logged; the build VM's NSG logs the ACI -> :22 flows inbound", **ISO_OK),
    },
)

scenario(
    "isolated-blocked",
    topology="isolated",
    description="Isolated build: a custom DenyAllInBound on the build subnet drops the ACI's SSH "
    "connections to the build VM's :22. The ACI's SYNs are retransmitted and never answered.",
    failure_mode="F4",
    nsg=[rule("DenyAllInBound", 4000, "I", "Deny", "*", "*", "*", "*")],
    verdict="broken", broken_hop="aci_to_build_vm", status="blocked", finding_ids=["aci_to_build_vm_blocked"],
    hops=dict(aci_to_build_vm="blocked"),
    views={
        "aci.pcap": v("broken", ["aci_to_build_vm_blocked"], aci_to_build_vm="blocked"),
        "buildvm.pcap": v("inconclusive", ["no_aib_traffic"], "the ACI's SYNs are dropped before the build VM's NIC"),
        "segment.pcap": v("broken", ["aci_to_build_vm_blocked"], aci_to_build_vm="blocked"),
        "flowlogs": v("broken", ["aci_to_build_vm_blocked"], "build VM NIC: 10.1.1.4 -> :22 denied by UserRule_DenyAllInBound",
                      aci_to_build_vm="blocked"),
    },
)


# ---------------------------------------------------------------------------------------
# NSG evaluation (shared with flowlogs.py) and nftables generation

def in_tag(addr, tag):
    ip = ipaddress.ip_address(addr)
    if tag == "*":
        return True
    if tag == "VirtualNetwork":
        return ip in ipaddress.ip_network(VNET)
    if tag == "AzureLoadBalancer":
        return addr == AZURE_LB
    if tag == "Internet":
        return ip not in ipaddress.ip_network(VNET) and addr != AZURE_LB and not ip.is_private
    return ip in ipaddress.ip_network(tag)


def port_match(port, spec):
    if spec == "*":
        return True
    for part in str(spec).split(","):
        lo, _, hi = part.partition("-")
        if int(lo) <= port <= int(hi or lo):
            return True
    return False


def all_rules(sc):
    custom = [dict(r, name="UserRule_" + r["name"]) for r in sc["nsg"]]
    default = [rule("DefaultRule_" + n, p, d, a, pr, s, t, po) for (n, p, d, a, pr, s, t, po) in DEFAULT_RULES]
    return sorted(custom + default, key=lambda r: (r["direction"], r["priority"]))


def evaluate(sc, direction, proto, src, dst, dport):
    """The NSG's verdict for a new flow: (rule name, 'Allow'|'Deny'). proto: 'T' or 'U'."""
    for r in all_rules(sc):
        if r["direction"] != direction:
            continue
        if r["protocol"] not in ("*", proto):
            continue
        if in_tag(src, r["source"]) and in_tag(dst, r["destination"]) and port_match(dport, r["ports"]):
            return r["name"], r["access"]
    raise AssertionError("no default rule matched")


def nft_match(r):
    parts = []
    for field, tag in (("saddr", r["source"]), ("daddr", r["destination"])):
        if tag == "*":
            continue
        if tag == "VirtualNetwork":
            parts.append(f"ip {field} {VNET}")
        elif tag == "AzureLoadBalancer":
            parts.append(f"ip {field} {AZURE_LB}")
        elif tag == "Internet":
            nets = ipaddress.collapse_addresses(ipaddress.ip_network(n) for n in (
                VNET, AZURE_LB + "/32", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
            parts.append(f"ip {field} != {{ {', '.join(str(n) for n in nets)} }}")
        else:
            parts.append(f"ip {field} {tag}")
    proto = {"T": "tcp", "U": "udp"}.get(r["protocol"])
    if r["ports"] != "*":
        ports = "{ " + ", ".join(str(p) for p in str(r["ports"]).split(",")) + " }"
        if proto:
            parts.append(f"{proto} dport {ports}")
        else:
            parts.append(f"meta l4proto {{ tcp, udp }} th dport {ports}")
    elif proto:
        parts.append(f"meta l4proto {proto}")
    return " ".join(parts)


def nft_ruleset(sc):
    """The fabric's ruleset: bridged IPv4 traffic (br_netfilter) passes the NSG model; the
    NSG is stateful (established flows pass), evaluates outbound at the source NIC then
    inbound at the destination NIC, and logs every deny with its rule name."""
    nics = [h[1] for h in HOSTS.values() if h[3] and role_present(sc, h[0])]
    lines = [
        "table inet aibfabric {",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
        "    ct state established,related accept",
        "    ct state invalid accept",
        "    meta l4proto != { tcp, udp } accept",
        f"    ip saddr {{ {', '.join(nics)} }} jump nsg_out",
        f"    ip daddr {{ {', '.join(nics)} }} jump nsg_in",
        "  }",
    ]
    for chain, direction, allow in (("nsg_out", "O", "return"), ("nsg_in", "I", "accept")):
        lines.append(f"  chain {chain} {{")
        if direction == "O":
            lines.append(f"    ip daddr {AZURE_LB} return comment \"platform: not subject to NSGs\"")
        for r in all_rules(sc):
            if r["direction"] != direction:
                continue
            m = nft_match(r)
            if r["access"] == "Allow":
                action = f"{allow} comment \"{r['name']}\""
            else:
                action = f"log prefix \"aibnet-nsg {direction} {r['name']} \" group 1 queue-threshold 1 drop"
            lines.append("    " + " ".join(x for x in (m, action) if x))
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def role_present(sc, ns):
    if sc["topology"] == "isolated":
        return ns not in ("proxy", "plnat", "probe")
    return ns != "aci"


# ---------------------------------------------------------------------------------------
# Outputs

def shell_env(sc):
    out = {
        "SC_NAME": sc["name"],
        "SC_OS": sc["os"],
        "SC_TOPOLOGY": sc["topology"],
        "SC_DURATION": sc["duration"],
        "SC_CLIENT": sc["client"],
        "SC_FAULTS": " ".join(sc["faults"]),
        "SC_SNAPLEN": sc.get("snaplen", 0),
        "SC_CAPTURES": " ".join(sc["captures"]),
        "SC_NAMESPACES": " ".join(h[0] for h in HOSTS.values() if role_present(sc, h[0])),
        "VNET": VNET,
        "AZURE_LB": AZURE_LB,
        "MIRROR_IPS": " ".join(MIRROR_IPS.values()),
    }
    for role, (ns, ip, mac, _) in HOSTS.items():
        out[f"IP_{role.upper()}"] = ip
        out[f"MAC_{role.upper()}"] = mac
    out["DNS_RECORDS"] = " ".join(f"{name}={ip}" for name, ip in MIRROR_IPS.items())
    return "".join(f"{k}={shlex.quote(str(val))}\n" for k, val in out.items())


def roles(sc):
    proxy = sc["topology"] == "proxy"
    return {
        "proxy": [HOSTS["proxy"][1]] if proxy else [],
        "build_vm": [HOSTS["buildvm"][1]],
        "probe": [AZURE_LB] if proxy else [],
        "private_link_nat": [HOSTS["plnat"][1]] if proxy else [],
        "aci": [] if proxy else [HOSTS["aci"][1]],
        "dns_server": [HOSTS["dns"][1]],
        "mirror": list(MIRROR_IPS.values()),
    }


def full_hops(h):
    return {name: h.get(name, "not_observed") for name in HOP_NAMES}


def client_attempts(path):
    """Counts from the lab clients' own log: `<time> <kind> [<target>] rc=<n>` per attempt."""
    counts = {}
    try:
        lines = open(path).read().splitlines()
    except FileNotFoundError:
        return counts
    for line in lines:
        parts = line.split()
        rc = next((p for p in parts if p.startswith("rc=")), None)
        if rc is None:
            continue
        what = "_".join(p for p in parts[1:parts.index(rc)])
        key = f"{what}_{'ok' if rc == 'rc=0' else 'failed'}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def write_expected(sc, outdir):
    lab = os.path.join(outdir, "lab")
    rec = {}
    try:
        with open(os.path.join(lab, "recording.json")) as f:
            rec = json.load(f)
    except FileNotFoundError:
        pass
    rec["client_attempts"] = client_attempts(os.path.join(lab, "client.log"))
    ports = ({"proxy": 60000, "build_vm": 5986} if sc["os"] == "windows" else {"proxy": 60001, "build_vm": 22})
    if sc["topology"] == "isolated":
        ports.pop("proxy")
    pcaps = sorted(f for f in os.listdir(outdir) if f.endswith(".pcap"))
    def point(view):
        hops = full_hops(view["hops"])
        failing = [h for h in HOP_NAMES if hops[h] not in ("ok", "not_observed")]
        broken = sc["broken_hop"] if sc["broken_hop"] in failing else (failing[0] if failing else None)
        status = hops[broken] if broken else ("ok" if view["verdict"] == "healthy" else "not_observed")
        return {"verdict": view["verdict"], "broken_hop": broken, "status": status,
                "finding_ids": view["finding_ids"], "hops": hops, **({"note": view["note"]} if "note" in view else {})}

    per_point = {}
    for name, view in sc["views"].items():
        if name != "flowlogs":
            per_point[name] = point(view)
    for fmt in ("flowlogs/nsg-v2", "flowlogs/vnet"):
        per_point[fmt] = point(sc["views"]["flowlogs"])
    macs = {h[2].replace(":", "").upper(): role for role, h in HOSTS.items()}
    blobs = []
    for root, _, files in os.walk(os.path.join(outdir, "flowlogs")):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), outdir)
            mac = rel.split("macAddress=")[1].split("/")[0]
            blobs.append({"path": rel, "format": rel.split("/")[1], "nic": macs.get(mac), "mac": mac})
    blobs.sort(key=lambda b: b["path"])
    missing = [p for p in per_point if p.endswith(".pcap") and p not in pcaps]
    if missing:
        raise SystemExit(f"expected.json: capture points without a file: {missing}")
    doc = {
        "scenario": sc["name"],
        "description": sc["description"],
        "failure_mode": sc["failure_mode"],
        "os": sc["os"],
        "topology": sc["topology"],
        "ports": ports,
        "roles": roles(sc),
        "verdict": sc["verdict"],
        "broken_hop": sc["broken_hop"],
        "status": sc["status"],
        "finding_ids": sc["finding_ids"],
        "hops": full_hops(sc["hops"]),
        "nsg": {
            "name": NSG_NAME,
            "scope": f"subnet {SUBNET_NAME} (proxy VM and build VM NICs)",
            "custom_rules": sc["nsg"],
            "note": "default rules apply after the custom rules; the lab's fabric enforces exactly this model",
        },
        "guest_faults": sc["faults"],
        "per_capture_point": per_point,
        "flow_log_files": blobs,
        "recorded": rec,
    }
    with open(os.path.join(outdir, "expected.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd = argv[1]
    if cmd == "list":
        print("\n".join(SCENARIOS))
        return
    if len(argv) < 3 or argv[2] not in SCENARIOS:
        raise SystemExit(f"unknown scenario; one of: {' '.join(SCENARIOS)}")
    sc = SCENARIOS[argv[2]]
    if cmd == "shell":
        sys.stdout.write(shell_env(sc))
    elif cmd == "nft":
        sys.stdout.write(nft_ruleset(sc))
    elif cmd == "expected":
        write_expected(sc, argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)

#!/usr/bin/env python3
"""Generate a month of Azure flow logs holding hundreds of Image Builder runs, for
`aibnet builds` benchmarks (Python 3 standard library only).

  gen_month.py OUTDIR [--days 30] [--gb 5.5] [--runs 420] [--seed 7] [-j 2]

Two VNets of one subscription, each in the blob layout of a storage account:

  OUTDIR/insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/…/
      NETWORKSECURITYGROUPS/<NSG>/y=YYYY/m=MM/d=DD/h=HH/m=00/macAddress=<MAC>/PT1H.json   (NSG v2)
  OUTDIR/insights-logs-flowlogflowevent/flowLogResourceID=/SUBSCRIPTIONS/…/FLOWLOGS/<NAME>/
      y=YYYY/m=MM/d=DD/h=HH/m=00/macAddress=<MAC>/PT1H.json                               (VNet v4)

* aib-vnet-a (10.1.0.0/16) is logged by NSG flow logs version 2, aib-vnet-b (10.2.0.0/16)
  by VNet flow logs version 4 on the VNet. Each has a build subnet x.0.0/24 where every run
  puts its proxy VM at .4, its Private Link NAT at .5 and its build VM at .6 — the same
  addresses run after run, each time on new NICs (new MACs); ACI at x.1.4 for isolated
  builds; a custom DNS server at x.2.4.
* Runs follow one another in each VNet (a template's queue): 20-100 minutes each, usually a
  quarter of an hour or more apart, sometimes back to back (3-6 minutes: only the NIC tells
  the runs apart). Linux and Windows, proxy and isolated, healthy and broken the ways AIB
  builds break on the network (probe denied, Private Link NAT denied, proxy to build VM
  denied, WinRM dropped by the guest firewall, egress denied, DNS denied, ACI denied).
* Unrelated traffic is most of the volume, as in real subscriptions: application VMs with
  public IPs (Internet scans denied inbound, SSH scans among them; web traffic allowed
  inbound; egress; database and DNS traffic inside the VNet; PlatformRule probes).

Structure as in real blobs (the samples in `tests/data/flowlogs/samples/` and the format
notes of the reference material): minified `{"records":[...]}`, one record a minute per NIC stamped a few seconds after the
minute, tuples 1-63 s older than their record (so an hour's first record carries tuples of
the previous hour), NSG v2 `B` tuples with empty counters and denies as `D,B,,,,`, inbound
flows allowed by custom rules stateless in NSG v2 (a `B` and no `E`), VNet v4 millisecond
timestamps with `B`/`D` tuples zeroed and `NX` encryption, `C` tuples every 5 minutes for
long flows, upper-case resource ids in `resourceId`/`flowLogResourceID`.

OUTDIR/truth.json lists every run with what a diagnosis should say (`expect`), for
benches/builds_check.py. The generator is deterministic for a given seed.
"""

import argparse
import datetime as dt
import json
import math
import os
import random
import sys
import time
import uuid
from multiprocessing import Pool

SUB = "5f1c3a2e-8b7d-4c90-a1e4-3d9b7f2c0a61"
RG = "aib-bench-rg"
REGION = "westus2"
PROBE = "168.63.129.16"
MIRRORS = ["52.147.219.192", "91.189.91.83", "20.83.81.160"]
KMS = "20.118.99.224"
ARM = "20.37.158.0"
MIN = 60_000
HOUR = 3_600_000

# ----------------------------------------------------------------------------------------------
# VNets, NICs, NSGs


def rid(*parts):
    return "/subscriptions/" + SUB + "/resourceGroups/" + RG + "/providers/Microsoft.Network/" + "/".join(parts)


class Vnet:
    def __init__(self, name, prefix, family):
        self.name = name
        self.prefix = prefix
        self.family = family  # "nsg" (NSG flow logs v2) or "vnet" (VNet flow logs v4)
        self.build_nsg = rid("networkSecurityGroups", name + "-build-nsg")
        self.app_nsg = rid("networkSecurityGroups", name + "-app-nsg")
        self.target = rid("virtualNetworks", name)
        self.flowlog = ("/SUBSCRIPTIONS/" + SUB.upper() + "/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/"
                        "NETWORKWATCHERS/NETWORKWATCHER_" + REGION.upper() + "/FLOWLOGS/" + name.upper() + "-FLOWLOG")
        self.flowlog_guid = str(uuid.UUID(int=random.Random(name).getrandbits(128)))
        self.dns = prefix + ".2.4"
        self.proxy = prefix + ".0.4"
        self.plnat = prefix + ".0.5"
        self.build = prefix + ".0.6"
        self.aci = prefix + ".1.4"
        self.db = prefix + ".20.5"


VNETS = [Vnet("aib-vnet-a", "10.1", "nsg"), Vnet("aib-vnet-b", "10.2", "vnet")]


class Nic:
    __slots__ = ("mac", "ip", "vnet", "nsg", "off")

    def __init__(self, mac, ip, vnet, nsg):
        self.mac = mac
        self.ip = ip
        self.vnet = vnet
        self.nsg = nsg
        # Records of a NIC are stamped a few seconds after each minute.
        self.off = 2000 + int(mac[-4:], 16) % 8000


def mac_of(rng):
    return "000D3A" + "".join(rng.choice("0123456789ABCDEF") for _ in range(6))


# ----------------------------------------------------------------------------------------------
# Tuples. A tuple is (t_ms, src, dst, sport, dport, proto 'T'|'U', dir 'I'|'O', decision 'A'|'D',
# state 'B'|'C'|'E', counters (p1, b1, p2, b2) or None, rule); it lands in the blob of the hour
# of the record that carries it.


def record_time(nic, t):
    """The stamp of the first record of `nic` at least a second after tuple time t (ms)."""
    m = -(-(t + 1000 - nic.off) // MIN)
    return m * MIN + nic.off


def fmt(family, t):
    ts, src, dst, sp, dp, proto, d, dec, st, c, _rule = t
    if family == "nsg":
        if c is None or st == "B" or dec == "D":
            return f"{ts // 1000},{src},{dst},{sp},{dp},{proto},{d},{dec},{st},,,,"
        return f"{ts // 1000},{src},{dst},{sp},{dp},{proto},{d},{dec},{st},{c[0]},{c[1]},{c[2]},{c[3]}"
    p = 6 if proto == "T" else 17
    st = "D" if dec == "D" else st
    if c is None or st in "BD":
        return f"{ts},{src},{dst},{sp},{dp},{p},{d},{st},NX,0,0,0,0"
    return f"{ts},{src},{dst},{sp},{dp},{p},{d},{st},NX,{c[0]},{c[1]},{c[2]},{c[3]}"


class Sink:
    """Formatted tuples of the blobs of one hour: {nic: {record time: {rule: [tuple]}}}."""

    def __init__(self, hour):
        self.lo = hour * HOUR
        self.hi = self.lo + HOUR
        self.nics = {}

    def add(self, nic, t):
        if nic is None:
            return
        r = record_time(nic, t[0])
        if self.lo <= r < self.hi:
            self.put(nic, r, t[10], fmt(nic.vnet.family, t))

    def put(self, nic, r, rule, text):
        recs = self.nics.get(nic)
        if recs is None:
            recs = self.nics[nic] = {}
        rules = recs.get(r)
        if rules is None:
            rules = recs[r] = {}
        lst = rules.get(rule)
        if lst is None:
            rules[rule] = [text]
        else:
            lst.append(text)


def conn(sink, t0, dur, src, sp, dst, dp, proto, snic, dnic, fate, orule, irule, pk=(12, 2400, 10, 9000)):
    """One connection as the NICs at either end log it.

    fate: ok | noreply (allowed, never answered) | deny_in (at the destination NIC) |
    deny_out (at the source NIC) | rst (refused)."""
    t0 = int(t0)
    dur = max(int(dur), 5)
    end = t0 + dur
    stateless_in = irule.startswith("UserRule_") and dnic is not None and dnic.vnet.family == "nsg"

    def both(d, nic, rule, counters_end, stateless=False):
        sink.add(nic, (t0, src, dst, sp, dp, proto, d, "A", "B", None, rule))
        if stateless:
            return
        # Continuation every 5 minutes for long flows, counters as deltas.
        n_c = (dur - 1) // 300_000
        share = n_c + 1
        for k in range(1, n_c + 1):
            c = tuple(max(1, x // share) if x else 0 for x in counters_end)
            sink.add(nic, (t0 + k * 300_000, src, dst, sp, dp, proto, d, "A", "C", c, rule))
        c = tuple(max(1, x // share) if x else 0 for x in counters_end)
        sink.add(nic, (end, src, dst, sp, dp, proto, d, "A", "E", c, rule))

    if fate == "ok":
        both("O", snic, orule, pk)
        both("I", dnic, irule, pk, stateless_in)
    elif fate == "noreply":
        c = (4, 296, 0, 0) if proto == "T" else (1, 74, 0, 0)
        both("O", snic, orule, c)
        both("I", dnic, irule, c, stateless_in)
    elif fate == "rst":
        both("O", snic, orule, (1, 74, 1, 54))
        both("I", dnic, irule, (1, 74, 1, 54), stateless_in)
    elif fate == "deny_in":
        c = (4, 296, 0, 0) if proto == "T" else (1, 74, 0, 0)
        both("O", snic, orule, c)
        sink.add(dnic, (t0, src, dst, sp, dp, proto, "I", "D", "B", None, irule))
    elif fate == "deny_out":
        sink.add(snic, (t0, src, dst, sp, dp, proto, "O", "D", "B", None, orule))
    else:
        raise ValueError(fate)


# ----------------------------------------------------------------------------------------------
# AIB runs

FAULTS = [
    # (fault, os, topology, weight, expected verdict, first broken hop, failing finding)
    ("none", "linux", "proxy", 40, "healthy", None, None),
    ("none", "windows", "proxy", 14, "healthy", None, None),
    ("none", "linux", "isolated", 8, "healthy", None, None),
    ("probe_blocked", "linux", "proxy", 5, "broken", "probe_to_proxy", "probe_blocked"),
    ("alb_blocked", "linux", "proxy", 6, "broken", "alb_to_proxy", "alb_to_proxy_blocked"),
    ("proxy_to_build_blocked", "linux", "proxy", 7, "broken", "proxy_to_build_vm", "proxy_to_build_vm_blocked"),
    ("winrm_blocked", "windows", "proxy", 4, "broken", "proxy_to_build_vm", "proxy_to_build_vm_blocked"),
    ("egress_blocked", "linux", "proxy", 7, "broken", "build_vm_egress", "build_vm_egress_blocked"),
    ("dns_blocked", "linux", "proxy", 5, "broken", "build_vm_dns", "dns_failing"),
    ("aci_blocked", "linux", "isolated", 4, "broken", "aci_to_build_vm", "aci_to_build_vm_blocked"),
]


def schedule(days, runs_wanted, t_start, seed):
    """Runs per VNet, one after another: [(vnet index, run dict)]."""
    rng = random.Random(seed)
    weights = [f[3] for f in FAULTS]
    span = days * 24 * HOUR
    out = []
    per_vnet = runs_wanted // len(VNETS)
    for vi, v in enumerate(VNETS):
        # Mean spacing so that `per_vnet` runs fill the month.
        mean = span / per_vnet
        t = t_start + rng.randint(0, 30) * MIN
        n = 0
        while n < per_vnet:
            fault, os_, topo, _w, verdict, hop, finding = rng.choices(FAULTS, weights)[0]
            broken = fault != "none"
            dur = rng.randint(20, 45 if broken else 100) * MIN
            if t + dur > t_start + span:
                break
            run = {
                "id": n,
                "vnet": v.name,
                "family": v.family,
                "start_ms": t,
                "dur_ms": dur,
                "os": os_,
                "topology": topo,
                "fault": fault,
                "proxy_mac": mac_of(rng),
                "build_mac": mac_of(rng),
                "seed": rng.getrandbits(32),
                "expect": {"verdict": verdict, "first_broken_hop": hop, "finding": finding},
            }
            run["proxy"] = v.proxy if topo == "proxy" else None
            # A build the load balancer never forwards to shows no build VM.
            run["build_vm"] = None if fault in ("probe_blocked", "alb_blocked") else v.build
            out.append((vi, run))
            n += 1
            # Usually a quarter of an hour or more to the next run; one in ten back to back.
            if rng.random() < 0.1:
                gap = rng.randint(3, 6) * MIN
            else:
                gap = int(rng.expovariate(1.0 / max(mean - 60 * MIN, 20 * MIN))) + 15 * MIN
            run["back_to_back_next"] = gap < 10 * MIN
            t += dur + gap
    return out


def gen_run(sink, v, r, dns=None, dns_counters=(1, 74, 1, 130), deny_rule="UserRule_Deny-All-Any-Any",
            mirrors=MIRRORS):
    """One run's flows as its NICs log them. `v` gives the addresses (proxy, plnat, build, aci,
    dns), the build subnet's NSG and what logs the NICs (family, flowlog, target). `dns`: the DNS
    servers as (address, NIC) when they are VMs of the evidence (both ends logged, one drawn per
    query), else v.dns, not logged; `deny_rule`: the rule that denies proxy → build VM; `mirrors`:
    the package mirrors of the build VM's egress."""
    rng = random.Random(r["seed"])
    T = r["start_ms"]
    E = T + r["dur_ms"]
    fault = r["fault"]
    win = r["os"] == "windows"
    pport, bport = (60000, 5986) if win else (60001, 22)
    nsg = v.build_nsg
    proxy_nic = Nic(r["proxy_mac"], v.proxy, v, nsg) if r["topology"] == "proxy" else None
    build_nic = Nic(r["build_mac"], v.build, v, nsg)
    port = [rng.randint(32768, 40000)]

    def sp():
        port[0] = port[0] + 1 if port[0] < 60999 else 32768
        return port[0]

    # The proxy: health probes every 5 s from its deployment to the end, and its own calls
    # to Azure management.
    if proxy_nic:
        quick = rng.random() < 0.5  # the quickstart rule admits the probe (NSG v2: stateless)
        t = T + 30_000
        while t < E:
            if fault == "probe_blocked":
                conn(sink, t, 21_000, PROBE, sp(), v.proxy, pport, "T", None, proxy_nic, "deny_in",
                     "", "UserRule_DenyAzureLoadBalancerInBound")
            else:
                conn(sink, t, 10, PROBE, sp(), v.proxy, pport, "T", None, proxy_nic, "ok", "",
                     "UserRule_AzureImageBuilderAccess" if quick else "DefaultRule_AllowAzureLoadBalancerInBound",
                     (3, 180, 2, 120))
            t += 5_000
        t = T + 60_000
        while t < E:
            conn(sink, t, rng.randint(1, 4) * 1000, v.proxy, sp(), ARM, 443, "T", proxy_nic, None, "ok",
                 "DefaultRule_AllowInternetOutBound", "", (14, 3200, 12, 9100))
            t += rng.randint(4, 9) * MIN
    # The build VM boots: DNS and package indexes from cloud-init.
    boot = T + 3 * MIN
    dns_fate = "deny_out" if fault == "dns_blocked" else "ok"
    dns_rule = "UserRule_DenyDnsOutBound" if fault == "dns_blocked" else "DefaultRule_AllowVnetOutBound"
    egress_fate = "deny_out" if fault == "egress_blocked" else "ok"
    egress_rule = "UserRule_DenyInternetOutBound" if fault == "egress_blocked" else "DefaultRule_AllowInternetOutBound"

    def customization(t):
        if dns:
            d_ip, d_nic = dns[rng.randrange(len(dns))]
            d_nic, d_rule = (d_nic if dns_fate == "ok" else None), "DefaultRule_AllowVnetInBound"
        else:
            d_ip, d_nic, d_rule = v.dns, None, ""
        conn(sink, t, 50, v.build, sp(), d_ip, 53, "U", build_nic, d_nic, dns_fate, dns_rule, d_rule, dns_counters)
        if fault == "dns_blocked":
            return
        for dport in ((443, 1688) if win else (80, 443)):
            dst = KMS if dport == 1688 else rng.choice(mirrors)
            conn(sink, t + 200, rng.randint(2, 40) * 1000, v.build, sp(), dst, dport, "T", build_nic, None,
                 egress_fate, egress_rule, "", (40, 3000, 90, 120_000))

    customization(boot + 20_000)
    connect = T + 4 * MIN
    if fault in ("probe_blocked",):
        return
    if r["topology"] == "isolated":
        # The ACI (not flow-logged) opens SSH to the build VM directly.
        if fault == "aci_blocked":
            t = connect
            while t < E:
                conn(sink, t, 21_000, v.aci, sp(), v.build, 22, "T", None, build_nic, "deny_in", "",
                     "UserRule_DenyAllInBound")
                t += 20_000
        else:
            # Half the subnets admit the ACI by a custom rule: NSG v2 then logs the one long
            # SSH session statelessly, a B in its first hour and nothing after.
            custom = rng.random() < 0.5
            rule = "UserRule_AllowAciSshInBound" if custom else "DefaultRule_AllowVnetInBound"
            conn(sink, connect, E - connect - 60_000, v.aci, sp(), v.build, 22, "T", None, build_nic, "ok", "",
                 rule, (900, 120_000, 1100, 400_000))
            t = connect + 2 * MIN
            while t < E - 3 * MIN:
                if not custom:
                    conn(sink, t, 30_000, v.aci, sp(), v.build, 22, "T", None, build_nic, "ok", "",
                         rule, (40, 9000, 30, 5000))
                customization(t + 5000)
                t += rng.randint(2, 5) * MIN
        return
    # Proxy topology: command sessions from the Private Link NAT through the proxy.
    if fault == "alb_blocked":
        t = connect
        while t < E:
            conn(sink, t, 21_000, v.plnat, sp(), v.proxy, pport, "T", None, proxy_nic, "deny_in", "",
                 "UserRule_DenyAllInBound")
            t += 20_000
        return
    if fault in ("proxy_to_build_blocked", "winrm_blocked"):
        t = connect
        while t < E:
            conn(sink, t, 22_000, v.plnat, sp(), v.proxy, pport, "T", None, proxy_nic, "ok", "",
                 "DefaultRule_AllowVnetInBound", (8, 900, 6, 700))
            if fault == "winrm_blocked":
                # The NSG allows it; the guest firewall drops it: requests, no replies.
                conn(sink, t + 200, 21_000, v.proxy, sp(), v.build, bport, "T", proxy_nic, build_nic,
                     "noreply", "DefaultRule_AllowVnetOutBound", "DefaultRule_AllowVnetInBound")
            else:
                conn(sink, t + 200, 21_000, v.proxy, sp(), v.build, bport, "T", proxy_nic, build_nic,
                     "deny_in", "DefaultRule_AllowVnetOutBound", deny_rule)
            t += 20_000
        return
    # Working command channel: Linux keeps one long SSH session (plus short ones for uploads),
    # Windows opens a WinRM session per command.
    if not win:
        conn(sink, connect, E - connect - 60_000, v.plnat, sp(), v.proxy, pport, "T", None, proxy_nic, "ok", "",
             "DefaultRule_AllowVnetInBound", (1000, 150_000, 1200, 450_000))
        conn(sink, connect + 150, E - connect - 60_500, v.proxy, sp(), v.build, bport, "T", proxy_nic, build_nic,
             "ok", "DefaultRule_AllowVnetOutBound", "DefaultRule_AllowVnetInBound", (1000, 150_000, 1200, 450_000))
    t = connect + MIN
    while t < E - 2 * MIN:
        d = rng.randint(5, 40) * 1000
        conn(sink, t, d, v.plnat, sp(), v.proxy, pport, "T", None, proxy_nic, "ok", "",
             "DefaultRule_AllowVnetInBound", (30, 8000, 25, 6000))
        conn(sink, t + 150, d - 300, v.proxy, sp(), v.build, bport, "T", proxy_nic, build_nic, "ok",
             "DefaultRule_AllowVnetOutBound", "DefaultRule_AllowVnetInBound", (30, 8000, 25, 6000))
        if rng.random() < 0.5:
            customization(t + 2000)
        t += rng.randint(1, 3) * MIN if win else rng.randint(2, 6) * MIN


# ----------------------------------------------------------------------------------------------
# Unrelated traffic: application VMs with public IPs.

SCAN_PORTS = [22, 22, 22, 23, 80, 443, 445, 1433, 3389, 3389, 5900, 8080, 8443, 2222, 5985, 6379]


def app_nics(v, n):
    rng = random.Random(v.name + "-apps")
    return [Nic(mac_of(rng), f"{v.prefix}.10.{4 + k}", v, v.app_nsg) for k in range(n)]


class Pools:
    """Addresses and counters the unrelated traffic draws from (one random draw per flow)."""

    def __init__(self, seed):
        rng = random.Random(seed)

        def ip(firsts):
            return f"{rng.choice(firsts)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

        self.scanners = [ip((45, 80, 89, 162, 185, 193, 205, 35)) for _ in range(4096)]
        self.clients = [ip(tuple(range(20, 200))) for _ in range(4096)]
        self.services = [ip((13, 20, 40, 52, 104)) for _ in range(1024)]
        self.scan_ports = [rng.choice(SCAN_PORTS) if rng.random() < 0.7 else rng.randint(1, 65535) for _ in range(1024)]
        self.counters = [(rng.randint(5, 40), rng.randint(600, 9000), rng.randint(5, 60), rng.randint(2000, 90_000))
                         for _ in range(1024)]
        self.platform = ["40.87.168.8", "40.87.164.0", "52.136.4.16"]


def draw(x, t0):
    """One flow's time in the minute from t0, source port, kind (0-99) and pool index (0-1023),
    from 64 random bits (the bits above 42 are left for the caller's other choices)."""
    return t0 + x % MIN, 1024 + (x >> 16) % 64000, (x >> 32) % 100, (x >> 40) % 1024


def gen_noise(sink, nic, minute, rate, pools):
    """About `rate` tuples of one application VM in one minute: Internet scans denied inbound
    (SSH among them: public sources, no build), HTTPS served, egress, database and DNS traffic,
    PlatformRule probes. Written straight into the sink (the bulk of the volume)."""
    rng = random.Random(int(nic.mac, 16) * 1_000_003 + minute)
    bits = rng.getrandbits
    t0 = minute * MIN
    v = nic.vnet
    nsg = v.family == "nsg"
    ip = nic.ip
    off = nic.off
    lo, hi = sink.lo, sink.hi
    put = sink.put
    # ~1.7 tuples per flow on average.
    for _ in range(max(1, rate * 10 // 17)):
        x = bits(64)
        t, sp, k, j = draw(x, t0)
        c = pools.counters[j]
        dur = 1000 + ((x >> 50) % 30) * 1000
        r = (-(-(t + 1000 - off) // MIN)) * MIN + off
        if k < 35:
            src = pools.scanners[(x >> 42) % 4096]
            dp = pools.scan_ports[j]
            rule = "DefaultRule_DenyAllInBound"
            if lo <= r < hi:
                put(nic, r, rule, f"{t // 1000},{src},{ip},{sp},{dp},T,I,D,B,,,," if nsg
                    else f"{t},{src},{ip},{sp},{dp},6,I,D,NX,0,0,0,0")
            continue
        if k < 55:
            a, b, d, rule, state_b = pools.clients[(x >> 42) % 4096], ip, 443, "UserRule_AllowHttpsInBound", "I"
        elif k < 80:
            a, b, d, rule, state_b = ip, pools.services[(x >> 42) % 1024], 443, "DefaultRule_AllowInternetOutBound", "O"
        elif k < 90:
            a, b, d, rule, state_b = ip, v.db, 1433, "DefaultRule_AllowVnetOutBound", "O"
        elif k < 97:
            a, b, d, rule, state_b = ip, v.dns, 53, "DefaultRule_AllowVnetOutBound", "O"
            dur = 30
            c = (1, 74, 1, 90 + j % 200)
        else:
            src = pools.platform[j % 3]
            if lo <= r < hi:
                put(nic, r, "PlatformRule", f"{t // 1000},{src},{ip},23456,{sp},T,I,A,E,1,128,0,0" if nsg
                    else f"{t},{src},{ip},23456,{sp},6,I,E,NX,1,128,0,0")
            continue
        udp = d == 53
        if lo <= r < hi:
            put(nic, r, rule, f"{t // 1000},{a},{b},{sp},{d},{'U' if udp else 'T'},{state_b},A,B,,,," if nsg
                else f"{t},{a},{b},{sp},{d},{17 if udp else 6},{state_b},B,NX,0,0,0,0")
        # NSG v2: inbound flows allowed by custom rules are stateless (no E).
        if nsg and state_b == "I":
            continue
        te = t + dur
        re = (-(-(te + 1000 - off) // MIN)) * MIN + off
        if lo <= re < hi:
            put(nic, re, rule, f"{te // 1000},{a},{b},{sp},{d},{'U' if udp else 'T'},{state_b},A,E,{c[0]},{c[1]},{c[2]},{c[3]}" if nsg
                else f"{te},{a},{b},{sp},{d},{17 if udp else 6},{state_b},E,NX,{c[0]},{c[1]},{c[2]},{c[3]}")


# ----------------------------------------------------------------------------------------------
# Blobs


def iso(ms):
    d = dt.datetime.fromtimestamp(ms // 1000, dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + f".{(ms % 1000) * 10000 + 4384:07d}Z"


def blob_json(nic, recs):
    v = nic.vnet
    out = []
    for r in sorted(recs):
        rules = recs[r]
        if v.family == "nsg":
            rec = {
                "time": iso(r),
                "systemId": v.flowlog_guid,
                "macAddress": nic.mac,
                "category": "NetworkSecurityGroupFlowEvent",
                "resourceId": nic.nsg.upper(),
                "operationName": "NetworkSecurityGroupFlowEvents",
                "properties": {"Version": 2, "flows": [
                    {"rule": rule, "flows": [{"mac": nic.mac, "flowTuples": ts}]} for rule, ts in rules.items()]},
            }
        else:
            by_acl = {}
            for rule, ts in rules.items():
                acl = "00000000-0000-0000-0000-000000000000" if rule == "PlatformRule" else nic.nsg
                by_acl.setdefault(acl, {})[rule] = ts
            rec = {
                "time": iso(r),
                "flowLogGUID": v.flowlog_guid,
                "macAddress": nic.mac,
                "category": "FlowLogFlowEvent",
                "flowLogResourceID": v.flowlog,
                "targetResourceID": v.target,
                "flowLogVersion": 4,
                "operationName": "FlowLogFlowEvent",
                "flowRecords": {"flows": [
                    {"aclID": acl, "flowGroups": [{"rule": rule, "flowTuples": ts} for rule, ts in rs.items()]}
                    for acl, rs in by_acl.items()]},
            }
        out.append(json.dumps(rec, separators=(",", ":")))
    return '{"records":[' + ",".join(out) + "]}"


def blob_path(outdir, nic, hour):
    d = dt.datetime.fromtimestamp(hour * 3600, dt.timezone.utc)
    when = f"y={d:%Y}/m={d:%m}/d={d:%d}/h={d:%H}/m=00/macAddress={nic.mac}"
    v = nic.vnet
    if v.family == "nsg":
        base = "insights-logs-networksecuritygroupflowevent/resourceId=" + nic.nsg.upper()
    else:
        base = "insights-logs-flowlogflowevent/flowLogResourceID=" + v.flowlog
    return os.path.join(outdir, base, when, "PT1H.json")


# Worker state, set once per process.
G = {}


def init(outdir, runs, rate, napps):
    G["outdir"] = outdir
    G["runs"] = runs
    G["rate"] = rate
    G["apps"] = [n for v in VNETS for n in app_nics(v, napps)]
    G["pools"] = Pools(1234)


def gen_hour(hour):
    sink = Sink(hour)
    lo, hi = hour * HOUR, (hour + 1) * HOUR
    for vi, r in G["runs"]:
        # A run's tuples reach blobs up to a minute after its end.
        if r["start_ms"] - 2 * MIN < hi and r["start_ms"] + r["dur_ms"] + 2 * MIN >= lo:
            gen_run(sink, VNETS[vi], r)
    for nic in G["apps"]:
        for minute in range(lo // MIN - 2, hi // MIN + 1):
            gen_noise(sink, nic, minute, G["rate"], G["pools"])
    total = 0
    for nic, recs in sink.nics.items():
        path = blob_path(G["outdir"], nic, hour)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = blob_json(nic, recs)
        with open(path, "w") as f:
            f.write(data)
        total += len(data)
    return total


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--start", default="2024-08-01T00:00:00Z")
    ap.add_argument("--runs", type=int, default=420, help="AIB runs over the month (both VNets)")
    ap.add_argument("--apps", type=int, default=10, help="application VMs per VNet")
    ap.add_argument("--gb", type=float, default=5.5, help="approximate size of the tree")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    a = ap.parse_args(argv[1:])
    start = int(dt.datetime.strptime(a.start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp()) * 1000
    runs = schedule(a.days, int(a.runs * a.days / 30), start, a.seed)
    # About 69 bytes of blob per noise tuple, record overhead and AIB runs included.
    napps = a.apps * len(VNETS)
    minutes = a.days * 24 * 60
    rate = max(3, int(a.gb * 1e9 / 69 / (napps * minutes)))
    os.makedirs(a.outdir, exist_ok=True)
    truth = {
        "start": iso(start),
        "days": a.days,
        "seed": a.seed,
        "runs": [dict(r, start=iso(r["start_ms"]), end=iso(r["start_ms"] + r["dur_ms"])) for _, r in runs],
    }
    with open(os.path.join(a.outdir, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    hours = list(range(start // HOUR, start // HOUR + a.days * 24))
    t0 = time.time()
    total = 0
    with Pool(a.jobs, initializer=init, initargs=(a.outdir, runs, rate, a.apps)) as pool:
        for k, n in enumerate(pool.imap(gen_hour, hours, chunksize=4)):
            total += n
            if sys.stderr.isatty() and k % 24 == 23:
                print(f"\r{k + 1}/{len(hours)} hours, {total / 1e9:.2f} GB, {time.time() - t0:.0f} s",
                      end="", file=sys.stderr)
    print(f"\n{len(runs)} runs, {total / 1e9:.2f} GB in {len(hours)} hours, {time.time() - t0:.0f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)

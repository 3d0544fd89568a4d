#!/usr/bin/env python3
"""Generate hours of a busy VNET's flow logs, with zero, one or several Azure VM Image Builder
(AIB) builds hidden in the noise, for issue 17's benchmarks and test fixtures (Python 3 standard
library only; record and blob structure from benches/gen_month.py).

  gen_busy_vnet.py OUTDIR [--hours 7] [--start T] [--vms 400] [--gb 1.1 | --rate R] [--seed 17]
                   [--family vnet|nsg] [--target vnet|subnet] [--builds N] [--build-hour H]
                   [--fault FAULT] [--os linux|windows] [--concurrent [--concurrent-hour H]]
                   [--no-build] [--jump-boxes 2] [--build-subnet-jump-boxes 1]
                   [--build-subnet-vms N] [--sweep 2] [--probe-interval 5] [--one-blob]
                   [--gzip] [--truth FILE] [--truth-only] [-j 2]
  gen_busy_vnet.py OUTDIR --adversarial [--hours 1] [--gb 0.2] [--addresses 4000] [--nics 500]

Used by benches/busy_vnet.sh (issue 17's baseline, benches/RESULTS.md) and
tests/data/busy-vnet/make.sh (the small fixtures). 7 hours of 400 VMs (1.09 GB) take about
three minutes on two cores.

The VNET (busy-vnet, 10.40.0.0/16), in the storage account's blob layout:

  OUTDIR/insights-logs-flowlogflowevent/flowLogResourceID=/SUBSCRIPTIONS/…/FLOWLOGS/<NAME>/
      y=YYYY/m=MM/d=DD/h=HH/m=00/macAddress=<MAC>/PT1H.json                    (--family vnet)
  OUTDIR/insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/…/
      NETWORKSECURITYGROUPS/<NSG>/y=…/m=00/macAddress=<MAC>/PT1H.json          (--family nsg)

VNet flow logs v4 on the VNET (one flow log, `--target vnet`) or on each subnet (`--target
subnet`), or NSG flow logs v2 of each subnet's NSG; one blob per NIC and hour either way (every
VM's NIC logs its own side of each flow, so a flow between two VMs is in both their blobs).
`--one-blob` writes each hour's records of every NIC into one file instead (OUTDIR/PT1H-<hour>.json,
an export as a support engineer may be handed).

Subnets: snet-aib 10.40.0.0/24 (the AIB build subnet: shared with other VMs, and with
`--build-subnet-jump-boxes` jump boxes of its own), snet-web 10.40.1-3.0 (public IPs, behind a
public load balancer probing :443 or :80), snet-app 10.40.4-7.0 (behind an internal load
balancer probing :8080 or :8443), snet-db 10.40.8.0/24 (SQL Server / PostgreSQL, an internal load
balancer probing :1433 / :5432), snet-shared 10.40.10.0/24 (two DNS servers, the VNET's custom
DNS), snet-mgmt 10.40.9.0/24 (`--jump-boxes` jump boxes with public IPs). About 30 % of the VMs
are Windows. The noise of such a VNET, per VM and minute:

* other load balancers' health probes from 168.63.129.16 every 5 s (B and E each);
* Internet scanners denied by DefaultRule_DenyAllInBound at VMs with a public IP (SSH, RDP,
  WinRM, SMB, … among the ports), HTTPS served to Internet clients, egress to Azure services and
  package mirrors, app → database queries, DNS to the VNET's DNS servers (both ends logged),
  PlatformRule probes (VNet flow logs);
* jump boxes sweeping their VMs every `--sweep` minutes (monitoring / configuration management
  over SSH :22, WinRM :5986 on Windows), the build subnet's jump boxes sweeping that subnet's VMs
  (and the app tier), and admins' interactive SSH / RDP sessions from the jump boxes (minutes to
  hours, crossing hour boundaries, a `C` every 5 minutes);
* long-lived app → database pool connections (hours, crossing hour boundaries).

AIB builds (proxy topology, as AIB runs on an existing VNET): a proxy VM and a build VM on new
NICs at fresh addresses of snet-aib, the Private Link NAT address of the build's Private Link
service, the load balancer's probe from 168.63.129.16 to the proxy's :60001 (Linux) / :60000
(Windows) every 5 s, command sessions from the NAT address to that port, forwarded by the proxy
to the build VM's :22 / :5986, the build VM's DNS (to the VNET's DNS servers) and egress (package
mirrors, KMS on Windows), the proxy's calls to Azure management. `--builds N` spreads N builds
over the hours (the first in `--build-hour`, by default the middle hour), each 25-50 minutes and
broken by `--fault` (one of benches/gen_month.py's FAULTS with the proxy topology; default none);
`--concurrent` adds two builds at once in snet-aib in the same hour, one healthy and one whose
proxy → build VM SSH is denied by an NSG rule at the build VM. `--no-build` (= `--builds 0`)
makes the evidence of the wrong hour: all the noise, no AIB build.

`--adversarial`: NSG flow logs v2 where every tuple is its own flow (a unique 5-tuple, one
tuple each) between `--nics` flow-logged NICs and `--addresses` addresses of the VNET (and the
probe), three quarters of them on the AIB ports (60000, 60001, 22, 5986): thousands of
addresses receiving and opening the command, SSH and WinRM ports, allowed, denied, unanswered
and stateless. No build unless `--builds` says so.

OUTDIR/truth.json says what a diagnosis should find: `runs` (the AIB builds, in the schema of
benches/gen_month.py's truth, so benches/builds_check.py reads it too: proxy, build_vm, start,
end, os, topology, fault, `expect` {verdict, first_broken_hop, finding}, plus `nat`, the NICs'
MACs and `concurrent_with`), `jump_boxes` (address, subnet, targets), the VMs by role, `hours`
and `hours_without_build`, and the options. benches/busy_vnet_check.py compares `aibnet builds`
and `aibnet diagnose` with it. Deterministic for a given seed and options (the number of
worker processes does not change a byte).
"""

import argparse
import datetime as dt
import gzip
import hashlib
import json
import os
import random
import sys
import time
import types
import uuid
from multiprocessing import Pool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_month as gm  # noqa: E402  (record and blob structure, connection model, FAULTS)

MIN = gm.MIN
HOUR = gm.HOUR
PROBE = gm.PROBE
PREFIX = "10.40"
SUBNETS = {
    # name: (third octets, share of the VMs)
    "snet-aib": ((0,), 0.08),
    "snet-web": ((1, 2, 3), 0.30),
    "snet-app": ((4, 5, 6, 7), 0.45),
    "snet-db": ((8,), 0.12),
    "snet-mgmt": ((9,), 0.0),
    "snet-shared": ((10,), 0.0),
}
# First host address of a subnet's workload VMs; AIB's resources take fresh addresses from .200.
FIRST_HOST = 4
AIB_FIRST = 200
ZERO_ACL = "00000000-0000-0000-0000-000000000000"
MIRRORS = gm.MIRRORS + ["185.125.190.36", "13.107.4.52"]
# Counters of typical flows (packets out, bytes out, packets back, bytes back).
C_SSH = (28, 5200, 24, 6100)
C_PROBE = (3, 180, 2, 120)
C_DNS = (1, 74, 1, 138)


def sub_rid(*parts):
    return gm.rid("virtualNetworks", "busy-vnet", *parts)


class Unit:
    """What logs a NIC's flows: the flow log (VNet flow logs; its target, the VNET or the subnet)
    or the NSG (NSG flow logs). gen_month's blob writers read `family`, `flowlog`,
    `flowlog_guid` and `target` from a NIC's `vnet`."""

    def __init__(self, name, family, target):
        self.name = name
        self.family = family
        self.target = target
        self.flowlog = ("/SUBSCRIPTIONS/" + gm.SUB.upper() + "/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/"
                        "MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_" + gm.REGION.upper() + "/FLOWLOGS/"
                        + name.upper() + "-FLOWLOG")
        self.flowlog_guid = str(uuid.UUID(int=random.Random(name).getrandbits(128)))


class Vm:
    __slots__ = ("name", "ip", "subnet", "windows", "public", "role", "probe_port", "db", "nic", "targets")

    def __init__(self, name, ip, subnet, windows, public, role):
        self.name = name
        self.ip = ip
        self.subnet = subnet
        self.windows = windows
        self.public = public
        self.role = role  # web | app | db | dns | jump | aibsubnet (workload of the build subnet)
        self.probe_port = None
        self.db = None
        self.nic = None
        self.targets = []


def stable_mac(*key):
    """A NIC's MAC from a name: the same VM has the same NIC whatever else the options change."""
    h = hashlib.sha256("/".join(map(str, key)).encode()).hexdigest().upper()
    return "000D3A" + h[:6]


def build_vnet(a):
    """The VMs of the VNET and what logs each."""
    rng = random.Random(f"{a.seed}-vnet")
    units = {}

    def unit(subnet):
        nsg = gm.rid("networkSecurityGroups", subnet + "-nsg")
        if a.family == "nsg":
            key = nsg
        elif a.target == "vnet":
            key = "busy-vnet"
        else:
            key = subnet
        if key not in units:
            target = sub_rid() if key == "busy-vnet" else sub_rid("subnets", subnet)
            units[key] = Unit("busy-vnet" if key == "busy-vnet" else "busy-vnet-" + subnet, a.family, target)
        return units[key], nsg

    vms = []
    counts = {s: int(round(a.vms * share)) for s, (_, share) in SUBNETS.items()}
    counts["snet-app"] += a.vms - sum(counts.values())
    if a.build_subnet_vms is not None:
        # The build subnet's share given: the others keep their proportions of the rest.
        rest = a.vms - a.build_subnet_vms
        others = [s for s in ("snet-web", "snet-app", "snet-db")]
        weight = sum(SUBNETS[s][1] for s in others)
        for s in others:
            counts[s] = int(rest * SUBNETS[s][1] / weight)
        counts["snet-app"] += rest - sum(counts[s] for s in others)
        counts["snet-aib"] = a.build_subnet_vms
    role_of = {"snet-aib": "aibsubnet", "snet-web": "web", "snet-app": "app", "snet-db": "db"}
    for subnet, (octets, _) in SUBNETS.items():
        if subnet not in role_of:
            continue
        per = 200 if subnet == "snet-aib" else 250
        for k in range(counts[subnet]):
            o = octets[min(k // per, len(octets) - 1)]
            host = FIRST_HOST + k % per
            win = rng.random() < 0.3
            vms.append(Vm(f"{subnet[5:]}-{k:03d}", f"{PREFIX}.{o}.{host}", subnet, win,
                          subnet == "snet-web" or (subnet == "snet-aib" and rng.random() < 0.3), role_of[subnet]))
    for k in range(2):
        vms.append(Vm(f"dns-{k}", f"{PREFIX}.10.{FIRST_HOST + k}", "snet-shared", True, False, "dns"))
    for k in range(a.jump_boxes):
        vms.append(Vm(f"jump-{k}", f"{PREFIX}.9.{FIRST_HOST + k}", "snet-mgmt", k % 2 == 1, True, "jump"))
    # The build subnet's own jump boxes sit after its workload VMs.
    n_aib = counts["snet-aib"]
    for k in range(a.build_subnet_jump_boxes):
        vms.append(Vm(f"aibjump-{k}", f"{PREFIX}.0.{FIRST_HOST + n_aib + k}", "snet-aib", False, False, "jump"))
    dbs = [v for v in vms if v.role == "db"]
    for v in vms:
        u, nsg = unit(v.subnet)
        v.nic = gm.Nic(stable_mac(a.seed, v.name), v.ip, u, nsg)
        if v.role == "web":
            v.probe_port = rng.choice((443, 443, 80))
        elif v.role == "app":
            v.probe_port = rng.choice((8080, 8080, 8443))
            v.db = rng.choice(dbs) if dbs else None
        elif v.role == "db":
            v.probe_port = 1433 if v.windows else 5432
        elif v.role == "aibsubnet":
            v.probe_port = rng.choice((None, 8080, 443))
    # Jump boxes: the management subnet's sweep every VM; the build subnet's sweep that subnet's
    # VMs and the app tier.
    others = [v for v in vms if v.role != "jump"]
    for j in vms:
        if j.role != "jump":
            continue
        if j.subnet == "snet-mgmt":
            j.targets = others
        else:
            j.targets = [v for v in others if v.subnet in ("snet-aib", "snet-app")]
    dns = [v for v in vms if v.role == "dns"]
    return vms, dns, units


# ----------------------------------------------------------------------------------------------
# Fast emitters for the bulk of the noise (gen_month.conn is the general, slower model).


class Emit:
    """Writes formatted tuples of one hour into a gen_month.Sink, by family."""

    def __init__(self, sink, family):
        self.sink = sink
        self.nsg = family == "nsg"
        self.lo = sink.lo
        self.hi = sink.hi

    def one(self, nic, t, src, dst, sp, dp, udp, d, state, c, rule):
        """One tuple at `nic`: state B, C, E or D (a deny)."""
        off = nic.off
        r = (-(-(t + 1000 - off) // MIN)) * MIN + off
        if not self.lo <= r < self.hi:
            return
        if self.nsg:
            if state == "D":
                s = f"{t // 1000},{src},{dst},{sp},{dp},{'U' if udp else 'T'},{d},D,B,,,,"
            elif c is None:
                s = f"{t // 1000},{src},{dst},{sp},{dp},{'U' if udp else 'T'},{d},A,{state},,,,"
            else:
                s = f"{t // 1000},{src},{dst},{sp},{dp},{'U' if udp else 'T'},{d},A,{state},{c[0]},{c[1]},{c[2]},{c[3]}"
        elif c is None:
            s = f"{t},{src},{dst},{sp},{dp},{17 if udp else 6},{d},{state},NX,0,0,0,0"
        else:
            s = f"{t},{src},{dst},{sp},{dp},{17 if udp else 6},{d},{state},NX,{c[0]},{c[1]},{c[2]},{c[3]}"
        self.sink.put(nic, r, rule, s)

    def flow(self, t, dur, src, sp, dst, dp, udp, snic, dnic, orule, irule, c):
        """A short allowed flow (B then E) at both NICs it touches (None: not a NIC here). NSG
        flow logs keep inbound flows allowed by a custom rule stateless: a B and nothing else."""
        one = self.one
        if snic is not None:
            one(snic, t, src, dst, sp, dp, udp, "O", "B", None, orule)
            one(snic, t + dur, src, dst, sp, dp, udp, "O", "E", c, orule)
        if dnic is not None:
            one(dnic, t, src, dst, sp, dp, udp, "I", "B", None, irule)
            if not (self.nsg and irule.startswith("UserRule_")):
                one(dnic, t + dur, src, dst, sp, dp, udp, "I", "E", c, irule)


SCAN_PORTS = [22, 22, 22, 3389, 3389, 5985, 5986, 445, 23, 80, 443, 1433, 8080, 2222, 6379, 5900]


class Pools:
    def __init__(self, seed):
        rng = random.Random(f"{seed}-pools")

        def ip(firsts):
            return f"{rng.choice(firsts)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

        self.scanners = [ip((45, 80, 89, 92, 162, 185, 193, 194, 205, 35)) for _ in range(4096)]
        self.clients = [ip(tuple(range(20, 200))) for _ in range(4096)]
        self.services = [ip((13, 20, 40, 52, 104)) for _ in range(1024)]
        self.scan_ports = [rng.choice(SCAN_PORTS) if rng.random() < 0.7 else rng.randint(1, 65535)
                           for _ in range(1024)]
        self.counters = [(rng.randint(5, 40), rng.randint(600, 9000), rng.randint(5, 60), rng.randint(2000, 90_000))
                         for _ in range(1024)]
        self.platform = ["40.87.168.8", "40.87.164.0", "52.136.4.16"]
        self.office = ip((81, 86, 90, 109))


def noise_minute(em, vm, minute, a, pools, dns):
    """The unrelated traffic one VM starts (or receives from outside the VNET) in one minute."""
    rate = a.rate
    rng = random.Random(hash_int(a.seed, vm.nic.mac, minute))
    bits = rng.getrandbits
    t0 = minute * MIN
    nic = vm.nic
    ip = vm.ip
    flow = em.flow
    one = em.one
    # Load-balancer health probes every few seconds (one TCP connection each).
    if vm.probe_port is not None:
        ph = bits(12)
        step = a.probe_interval * 1000
        for k in range(MIN // step):
            t = t0 + k * step + ph
            sp = 49152 + (minute * 12 + k + ph) % 16000
            flow(t, 8, PROBE, sp, ip, vm.probe_port, False, None, nic, "",
                 "DefaultRule_AllowAzureLoadBalancerInBound", C_PROBE)
    want = rate * (2.0 if vm.role in ("web", "app") else 1.0)
    n = int(want) + (1 if rng.random() < want - int(want) else 0)
    for _ in range(n):
        x = bits(64)
        t, sp, k, j = gm.draw(x, t0)
        c = pools.counters[j]
        dur = 300 + ((x >> 50) % 20) * 1000
        if k < 30:
            if vm.public:
                one(nic, t, pools.scanners[(x >> 42) % 4096], ip, sp, pools.scan_ports[j], j % 13 == 0, "I", "D", None,
                    "DefaultRule_DenyAllInBound")
            continue
        if k < 50:
            if vm.role == "web":
                flow(t, dur, pools.clients[(x >> 42) % 4096], sp, ip, 443, False, None, nic, "",
                     "UserRule_AllowHttpsInBound", c)
            elif vm.db is not None:
                flow(t, dur // 4, ip, sp, vm.db.ip, vm.db.probe_port, False, nic, vm.db.nic,
                     "DefaultRule_AllowVnetOutBound", "DefaultRule_AllowVnetInBound", c)
            continue
        if k < 75:
            flow(t, dur, ip, sp, pools.services[(x >> 42) % 1024], 443, False, nic, None,
                 "DefaultRule_AllowInternetOutBound", "", c)
            continue
        if k < 80:
            flow(t, dur * 3, ip, sp, MIRRORS[j % len(MIRRORS)], 80 if j % 3 == 0 else 443, False, nic, None,
                 "DefaultRule_AllowInternetOutBound", "", c)
            continue
        if k < 93:
            d = dns[j % len(dns)]
            flow(t, 30, ip, sp, d.ip, 53, True, nic, d.nic, "DefaultRule_AllowVnetOutBound",
                 "DefaultRule_AllowVnetInBound", C_DNS)
            continue
        if k < 97 and vm.role == "dns":
            # The DNS servers forward to Azure DNS.
            flow(t, 30, ip, sp, PROBE, 53, True, nic, None, "DefaultRule_AllowVnetOutBound", "", C_DNS)
            continue
        if not em.nsg:
            # Destination ports 20000-30000 as in the real samples.
            one(nic, t, pools.platform[j % 3], ip, 23456, 20000 + sp % 10000, False, "I", "E", (1, 128, 0, 0),
                "PlatformRule")


def sweep_minute(em, jump, minute, period, seed):
    """A jump box's monitoring / configuration sweep: each of its VMs once every `period` minutes,
    a short SSH session (WinRM :5986 to Windows VMs, every other time RDP's :3389 check)."""
    t0 = minute * MIN
    n = len(jump.targets)
    rng = random.Random(hash_int(seed, jump.nic.mac, minute, "sweep"))
    for i in range(minute % period, n, period):
        v = jump.targets[i]
        t = t0 + (i * 7919) % 55_000 + rng.randint(0, 4000)
        sp = 32768 + rng.randint(0, 28000)
        if v.windows:
            dp = 5986 if (minute // period + i) % 2 == 0 else 3389
        else:
            dp = 22
        irule = "UserRule_AllowMgmtFromJumpBoxes" if jump.subnet == "snet-mgmt" else "DefaultRule_AllowVnetInBound"
        em.flow(t, rng.randint(900, 6000), jump.ip, sp, v.ip, dp, False, jump.nic, v.nic,
                "DefaultRule_AllowVnetOutBound", irule, C_SSH)


def hash_int(*key):
    return int.from_bytes(hashlib.blake2b("/".join(map(str, key)).encode(), digest_size=8).digest(), "big")


# ----------------------------------------------------------------------------------------------
# Long-lived flows: admins' interactive sessions and database pools, scheduled once for the
# whole window (so every hour's worker emits the same parts of the same flows).


def long_flows(a, vms, lo_ms, hi_ms, pools):
    rng = random.Random(f"{a.seed}-long")
    out = []
    jumps = [v for v in vms if v.role == "jump"]
    for j in jumps:
        t = lo_ms - 3 * HOUR + rng.randint(0, 20) * MIN
        while t < hi_ms:
            v = rng.choice(j.targets)
            dp = 3389 if v.windows else 22
            dur = rng.randint(8, 200) * MIN + rng.randint(0, 59_000)
            out.append((t, dur, j.ip, rng.randint(32768, 60999), v.ip, dp, "T", j.nic, v.nic, "ok",
                        "DefaultRule_AllowVnetOutBound",
                        "UserRule_AllowMgmtFromJumpBoxes" if j.subnet == "snet-mgmt" else "DefaultRule_AllowVnetInBound",
                        (4000, 600_000, 6000, 9_000_000)))
            t += int(rng.expovariate(1 / (12 * MIN)))
        if j.public:
            # The admin's own RDP / SSH into the jump box from the office.
            t = lo_ms - 2 * HOUR + rng.randint(0, 59) * MIN
            while t < hi_ms:
                dur = rng.randint(30, 240) * MIN
                out.append((t, dur, pools.office, rng.randint(49152, 65000), j.ip, 3389 if j.windows else 22, "T", None,
                            j.nic, "ok", "", "UserRule_AllowAdminFromOffice", (9000, 900_000, 20000, 30_000_000)))
                t += dur + rng.randint(10, 90) * MIN
    for v in vms:
        if v.db is None:
            continue
        for _ in range(2):
            t = lo_ms - rng.randint(0, 4 * HOUR)
            while t < hi_ms:
                dur = rng.randint(40, 300) * MIN
                out.append((t, dur, v.ip, rng.randint(32768, 60999), v.db.ip, v.db.probe_port, "T", v.nic, v.db.nic, "ok",
                            "DefaultRule_AllowVnetOutBound", "DefaultRule_AllowVnetInBound",
                            (20000, 4_000_000, 20000, 40_000_000)))
                t += dur + rng.randint(1, 30) * 1000
    return out


# ----------------------------------------------------------------------------------------------
# AIB builds

FAULT_OF = {f[0]: f for f in gm.FAULTS if f[2] == "proxy"}


def schedule_builds(a, vms, lo_ms, n_hours):
    """The builds of the window: `a.builds` one after another from `a.build_hour`, plus the
    concurrent pair. Addresses are fresh addresses of snet-aib, NICs new for every build."""
    rng = random.Random(f"{a.seed}-builds")
    used = {v.ip for v in vms}
    free = [f"{PREFIX}.0.{h}" for h in range(AIB_FIRST, 251) if f"{PREFIX}.0.{h}" not in used]
    rng.shuffle(free)
    runs = []

    def new(start, dur, fault, os_):
        nat, proxy, build = free.pop(), free.pop(), free.pop()
        f = FAULT_OF[fault]
        if fault == "winrm_blocked":
            os_ = "windows"
        r = {
            "id": len(runs),
            "vnet": "busy-vnet",
            "subnet": "snet-aib",
            "family": a.family,
            "start_ms": start,
            "dur_ms": dur,
            "os": os_,
            "topology": "proxy",
            "fault": fault,
            "proxy": proxy,
            "nat": nat,
            # A build the load balancer never forwards to shows no build VM.
            "build_vm": None if fault in ("probe_blocked", "alb_blocked") else build,
            "build_vm_address": build,
            "proxy_mac": stable_mac(a.seed, "proxy", len(runs)),
            "build_mac": stable_mac(a.seed, "build", len(runs)),
            "seed": rng.getrandbits(32),
            "concurrent_with": [],
            "expect": {"verdict": f[4], "first_broken_hop": f[5], "finding": f[6]},
        }
        runs.append(r)
        return r

    first = a.build_hour if a.build_hour is not None else n_hours // 2
    hour = first
    for k in range(a.builds):
        h = (first + k * max(1, n_hours // max(1, a.builds))) % n_hours if a.builds > 1 else hour
        start = lo_ms + h * HOUR + rng.randint(3, 12) * MIN + rng.randint(0, 59_000)
        new(start, rng.randint(25, 45) * MIN, a.fault if k == 0 else "none", a.os)
    if a.concurrent:
        h = a.concurrent_hour if a.concurrent_hour is not None else first
        start = lo_ms + h * HOUR + rng.randint(4, 10) * MIN + rng.randint(0, 59_000)
        x = new(start, rng.randint(30, 45) * MIN, "none", a.os)
        y = new(start + rng.randint(2, 6) * MIN + rng.randint(0, 59_000), rng.randint(25, 35) * MIN,
                "proxy_to_build_blocked", a.os)
        x["concurrent_with"] = [y["id"]]
        y["concurrent_with"] = [x["id"]]
    return runs


def gen_build(sink, r, unit, nsg, dns):
    """One build's flows as the proxy's and the build VM's NICs log them: gen_month's run at this
    build's addresses, logged like the other NICs of snet-aib, with the VNET's DNS servers."""
    site = types.SimpleNamespace(**vars(unit), proxy=r["proxy"], plnat=r["nat"], build=r["build_vm_address"],
                                 aci=None, dns=None, build_nsg=nsg)
    gm.gen_run(sink, site, r, dns=[(d.ip, d.nic) for d in dns], dns_counters=C_DNS,
               deny_rule="UserRule_DenyVnetSshToReservedRange", mirrors=MIRRORS)


# ----------------------------------------------------------------------------------------------
# Adversarial NSG v2: every tuple its own flow, thousands of addresses on the AIB ports.

ADV_PORTS = [60001, 60001, 60000, 60000, 22, 22, 22, 5986, 5986, 443, 3389, 53]


def adversarial_hour(sink, nics, peers, hour, per_nic, seed):
    lo = hour * HOUR
    em = Emit(sink, "nsg")
    n = len(peers)
    for i, nic in enumerate(nics):
        rng = random.Random(hash_int(seed, "adv", nic.mac, hour))
        bits = rng.getrandbits
        # Tuples 1-63 s before their record: the blob of hour h holds tuples from h - 1 min.
        for _ in range(per_nic):
            x = bits(64)
            t = lo - 50_000 + x % (HOUR - 10_000)
            peer = peers[(i + 1 + (x >> 20) % (n - 1)) % n] if (x >> 62) else PROBE
            dp = ADV_PORTS[(x >> 32) % len(ADV_PORTS)]
            sp = 1024 + (x >> 36) % 64500
            udp = dp == 53
            kind = (x >> 52) % 8
            inbound = (x >> 56) % 2 == 0 or peer == PROBE
            src, dst = (peer, nic.ip) if inbound else (nic.ip, peer)
            d = "I" if inbound else "O"
            allow = "DefaultRule_AllowVnetInBound" if inbound else "DefaultRule_AllowVnetOutBound"
            if kind < 2:
                em.one(nic, t, src, dst, sp, dp, udp, d, "D", None,
                       "DefaultRule_DenyAllInBound" if inbound else "UserRule_DenyAibPortsOutBound")
            elif kind < 4:
                # Inbound: stateless under a custom rule; outbound: a flow cut before its end.
                em.one(nic, t, src, dst, sp, dp, udp, d, "B", None, "UserRule_AllowAibPorts" if inbound else allow)
            elif kind < 5:
                em.one(nic, t, src, dst, sp, dp, udp, d, "E", (1, 74, 0, 0), allow)
            elif kind < 6:
                em.one(nic, t, src, dst, sp, dp, udp, d, "E", (1, 74, 1, 54), allow)
            else:
                em.one(nic, t, src, dst, sp, dp, udp, d, "E", ((x >> 8) % 90 + 3, 4000, (x >> 4) % 80 + 2, 6000), allow)


# ----------------------------------------------------------------------------------------------
# Hours and blobs

G = {}


def init(state):
    G.update(state)


def gen_hour(hour):
    a = G["args"]
    sink = gm.Sink(hour)
    lo, hi = hour * HOUR, (hour + 1) * HOUR
    if a.adversarial:
        adversarial_hour(sink, G["adv_nics"], G["adv_peers"], hour, G["per_nic"], a.seed)
    else:
        em = Emit(sink, a.family)
        pools, dns = G["pools"], G["dns"]
        # Flows starting up to 2 minutes before the hour reach its first records.
        minutes = range(lo // MIN - 2, hi // MIN + 1)
        for vm in G["vms"]:
            for m in minutes:
                noise_minute(em, vm, m, a, pools, dns)
            if vm.role == "jump":
                for m in minutes:
                    sweep_minute(em, vm, m, a.sweep, a.seed)
        for f in G["long"]:
            t0, dur = f[0], f[1]
            if t0 - 2 * MIN < hi and t0 + dur + 2 * MIN >= lo:
                gm.conn(sink, *f)
    aib = G["aib"]
    for r in G["runs"]:
        if r["start_ms"] - 2 * MIN < hi and r["start_ms"] + r["dur_ms"] + 2 * MIN >= lo:
            gen_build(sink, r, aib[0], aib[1], G["dns"])
    return write_hour(a, sink, hour)


def write_hour(a, sink, hour):
    total = 0
    if a.one_blob:
        recs = []
        for nic, by_time in sink.nics.items():
            body = gm.blob_json(nic, by_time)
            inner = body[len('{"records":['):-2]
            if inner:
                # Records of one NIC, each a minute apart: kept as whole strings, ordered by time.
                for t, rec in zip(sorted(by_time), split_records(inner)):
                    recs.append((t, nic.mac, rec))
        recs.sort()
        d = dt.datetime.fromtimestamp(hour * 3600, dt.timezone.utc)
        path = os.path.join(a.outdir, f"PT1H-{d:%Y%m%d%H}.json")
        return write_blob(a, path, '{"records":[' + ",".join(r for _, _, r in recs) + "]}")
    for nic, by_time in sink.nics.items():
        path = gm.blob_path(a.outdir, nic, hour)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        total += write_blob(a, path, gm.blob_json(nic, by_time))
    return total


def write_blob(a, path, data):
    """Writes a blob (gzip-compressed, reproducibly, with --gzip); returns its JSON's length."""
    if a.gzip:
        with open(path + ".gz", "wb") as f:
            f.write(gzip.compress(data.encode(), compresslevel=9, mtime=0))
    else:
        with open(path, "w") as f:
            f.write(data)
    return len(data)


def split_records(inner):
    """The top-level records of a minified records array (no nesting across strings here)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                out.append(inner[start:i + 1])
    return out


# Blob bytes per VM-hour at --rate 1 (measured, for --gb): probes, noise and sweeps of a VNET of
# the default mix; the rest of the volume grows with the rate.
BYTES_FIXED = 171_000
BYTES_PER_RATE = 15_500


def hour_name(h):
    return dt.datetime.fromtimestamp(h * 3600, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--hours", type=int, default=7)
    ap.add_argument("--start", default="2024-08-19T08:00:00Z", help="first hour (UTC)")
    ap.add_argument("--vms", type=int, default=400, help="workload VMs (jump boxes and DNS servers extra)")
    ap.add_argument("--gb", type=float, default=None, help="approximate size of the tree (sets --rate)")
    ap.add_argument("--rate", type=float, default=1.0, help="unrelated flows per VM and minute beyond probes and sweeps")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--family", choices=("vnet", "nsg"), default="vnet")
    ap.add_argument("--target", choices=("vnet", "subnet"), default="vnet", help="VNet flow logs on the VNET or per subnet")
    ap.add_argument("--builds", type=int, default=None, help="sequential AIB builds in the window (default 1; 0 with --adversarial)")
    ap.add_argument("--build-hour", type=int, default=None, help="hour index of the first build (default: the middle)")
    ap.add_argument("--fault", choices=sorted(FAULT_OF), default="none", help="what breaks the first build")
    ap.add_argument("--os", choices=("linux", "windows"), default="linux")
    ap.add_argument("--concurrent", action="store_true", help="two builds at once in snet-aib, one denied")
    ap.add_argument("--concurrent-hour", type=int, default=None)
    ap.add_argument("--no-build", action="store_true", help="no AIB build at all (the wrong hour)")
    ap.add_argument("--jump-boxes", type=int, default=2, help="jump boxes in snet-mgmt")
    ap.add_argument("--build-subnet-jump-boxes", type=int, default=1)
    ap.add_argument("--sweep", type=int, default=2, help="minutes between a jump box's visits to each VM")
    ap.add_argument("--build-subnet-vms", type=int, default=None, help="workload VMs in snet-aib (default 8%% of --vms)")
    ap.add_argument("--probe-interval", type=int, default=5, choices=(5, 10, 15, 20, 30, 60),
                    help="seconds between other load balancers' probes (AIB's own probe: 5)")
    ap.add_argument("--one-blob", action="store_true", help="one file per hour for every NIC")
    ap.add_argument("--gzip", action="store_true", help="write PT1H.json.gz (for small test fixtures)")
    ap.add_argument("--adversarial", action="store_true")
    ap.add_argument("--addresses", type=int, default=4000, help="VNET addresses of the adversarial mode's flows")
    ap.add_argument("--nics", type=int, default=500, help="flow-logged NICs of the adversarial mode (the first addresses)")
    ap.add_argument("--truth", help="where to write truth.json (default OUTDIR/truth.json)")
    ap.add_argument("--truth-only", action="store_true", help="write truth.json, no blobs")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    a = ap.parse_args(argv[1:])
    if a.builds is None:
        a.builds = 0 if a.adversarial else 1
    if a.no_build:
        a.builds = 0
        a.concurrent = False
    start = int(dt.datetime.strptime(a.start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
                .timestamp()) * 1000
    start -= start % HOUR
    lo_ms, hi_ms = start, start + a.hours * HOUR
    if a.adversarial:
        a.family = "nsg"
    vms, dns, units = build_vnet(a)
    n_nics = len(vms)
    if a.gb is not None and not a.adversarial:
        per_vm_hour = a.gb * 1e9 / (a.hours * n_nics)
        a.rate = max(0.0, (per_vm_hour - BYTES_FIXED) / BYTES_PER_RATE)
    pools = Pools(a.seed)
    aib_vm = next(v for v in vms if v.subnet == "snet-aib")
    aib = (aib_vm.nic.vnet, aib_vm.nic.nsg)
    runs = schedule_builds(a, vms, lo_ms, a.hours)
    state = {"args": a, "vms": vms, "dns": dns, "pools": pools, "runs": runs, "aib": aib, "long": []}
    if a.adversarial:
        u = Unit("busy-vnet", "nsg", sub_rid())
        nsg = gm.rid("networkSecurityGroups", "snet-aib-nsg")
        peers = [f"{PREFIX}.{16 + k // 250}.{4 + k % 250}" for k in range(max(2, a.addresses))]
        state["adv_peers"] = peers
        state["adv_nics"] = [gm.Nic(stable_mac(a.seed, "adv", k), peers[k], u, nsg)
                             for k in range(min(a.nics, len(peers)))]
        # About 68 bytes a tuple (some fall outside the hour), 650 a record (a NIC's minute) around them.
        gb = a.gb if a.gb is not None else 0.2
        nic_hours = len(state["adv_nics"]) * a.hours
        state["per_nic"] = max(1, int((gb * 1e9 - nic_hours * 60 * 650) / 68 / nic_hours))
    else:
        state["long"] = long_flows(a, vms, lo_ms, hi_ms, pools)
    os.makedirs(a.outdir, exist_ok=True)
    hours = list(range(lo_ms // HOUR, hi_ms // HOUR))
    busy = set()
    for r in runs:
        for h in hours:
            if r["start_ms"] - 2 * MIN < (h + 1) * HOUR and r["start_ms"] + r["dur_ms"] + 2 * MIN >= h * HOUR:
                busy.add(h)
    truth = {
        "generator": "benches/gen_busy_vnet.py",
        # What decides the output (not where it goes, nor the number of workers).
        "options": {k: v for k, v in vars(a).items() if k not in ("outdir", "truth", "truth_only", "jobs")},
        "family": a.family,
        "start": gm.iso(lo_ms),
        "end": gm.iso(hi_ms),
        "hours": [hour_name(h) for h in hours],
        "hours_without_build": [hour_name(h) for h in hours if h not in busy],
        "runs": [dict({k: v for k, v in r.items() if k != "seed"}, start=gm.iso(r["start_ms"]),
                      end=gm.iso(r["start_ms"] + r["dur_ms"])) for r in runs],
        "jump_boxes": [] if a.adversarial else [
            {"address": v.ip, "subnet": v.subnet, "mac": v.nic.mac, "targets": len(v.targets),
             "in_build_subnet": v.subnet == "snet-aib"} for v in vms if v.role == "jump"],
        "vms": {} if a.adversarial else {
            role: sorted((v.ip for v in vms if v.role == role), key=lambda s: tuple(map(int, s.split("."))))
            for role in ("aibsubnet", "web", "app", "db", "dns", "jump")},
        "adversarial_addresses": a.addresses if a.adversarial else 0,
    }
    with open(a.truth or os.path.join(a.outdir, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    if a.truth_only:
        return
    t0 = time.time()
    total = 0
    with Pool(a.jobs, initializer=init, initargs=(state,)) as pool:
        for n in pool.imap(gen_hour, hours):
            total += n
    if a.adversarial:
        n_nics = len(state["adv_nics"])
    print(f"{len(runs)} builds, {n_nics} NICs, rate {a.rate:.2f}: {total / 1e9:.3f} GB in {len(hours)} hours, "
          f"{time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)

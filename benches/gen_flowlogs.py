#!/usr/bin/env python3
"""Generate realistic Azure NSG v2 and VNet v4 flow-log blobs for benchmarks.

Writes the storage-account layout Azure uses (one PT1H.json per NSG or flow
log x hour x NIC MAC), minified like real blobs, into benches/data/ (which is
gitignored):

  insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/<sub>/
    RESOURCEGROUPS/<RG>/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/<NSG>/
    y=2024/m=08/d=19/h=18/m=00/macAddress=<MAC>/PT1H.json
  insights-logs-flowlogflowevent/flowLogResourceID=/SUBSCRIPTIONS/<SUB>/
    RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/
    NETWORKWATCHER_EASTUS/FLOWLOGS/<NAME>/y=.../macAddress=<MAC>/PT1H.json

Record and tuple structure follow the real samples in
tests/data/flowlogs/samples (sumologic NSG v2 and VNet v4 fixtures):
60 records per hour ~60 s apart, tuples 1-63 s before their record's time
(so the first record carries tuples from the previous hour), outbound HTTPS
flows as B/E (and C every 5 minutes for long ones) with counters, NSG v2 `B`
with empty counters, `E,1,74,0,0` SYNs with no answer, inbound scans denied
by DefaultRule_DenyAllInBound, SSH allowed by a user rule (B only in NSG
logs), load-balancer probes from 168.63.129.16, PlatformRule in VNet logs,
NTP/DNS over UDP, the odd repeated tuple and repeated record.

Deterministic for a given --seed. Standard library only.

  python3 benches/gen_flowlogs.py                   # ~1.1 GB into benches/data
  python3 benches/gen_flowlogs.py --size-mb 50 --out /tmp/fl
"""

import argparse
import os
import random
import sys
import time

HOUR0 = 1724090400  # 2024-08-19T18:00:00Z


def iso(ts_ms, frac7):
    t = time.gmtime(ts_ms // 1000)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%07dZ" % (t[0], t[1], t[2], t[3], t[4], t[5], frac7)


def guid(rng):
    h = "%032x" % rng.getrandbits(128)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def public_ip(rng):
    while True:
        a = rng.choice((13, 20, 20, 23, 35, 40, 40, 45, 52, 52, 64, 80, 89, 91, 104, 162, 170, 185, 194, 205, 207))
        return "%d.%d.%d.%d" % (a, rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))


class Hour:
    """Flow events of one NIC for one hour: (ts_ms, group, fields...)."""

    def __init__(self, rng, vm_ip, vnet, tuples_per_min, hour0):
        self.rng = rng
        self.vm = vm_ip
        self.vnet = vnet  # VNet v4 layout, else NSG v2
        self.rate = tuples_per_min
        self.h0 = hour0 * 1000
        self.events = []  # (ts_ms, group, tuple_str)

    def t(self, proto, src, dst, sport, dport, dir_, dec, state, c=None):
        if self.vnet:
            p = "6" if proto == "T" else "17"
            st = "D" if dec == "D" else state
            cs = "%d,%d,%d,%d" % c if c else "0,0,0,0"
            return "%s,%s,%d,%d,%s,%s,%s,NX,%s" % (src, dst, sport, dport, p, dir_, st, cs)
        cs = "%d,%d,%d,%d" % c if c else ",,,"
        return "%s,%s,%d,%d,%s,%s,%s,%s,%s" % (src, dst, sport, dport, proto, dir_, dec, state, cs)

    def add(self, ts_ms, group, body):
        if self.vnet:
            self.events.append((ts_ms, group, "%d,%s" % (ts_ms, body)))
        else:
            self.events.append((ts_ms, group, "%d,%s" % (ts_ms // 1000, body)))

    def outbound_tcp(self, start):
        r = self.rng
        dst = public_ip(r)
        sport = r.randrange(32768, 61000)
        dport = r.choice((443, 443, 443, 443, 80, 1433, 5671))
        g = "DefaultRule_AllowInternetOutBound"
        body = lambda st, c=None: self.t("T", self.vm, dst, sport, dport, "O", "A", st, c)
        kind = r.random()
        self.add(start, g, body("B"))
        if kind < 0.06:  # SYN sent, no answer
            self.add(start + r.randrange(5000, 21000), g, body("E", (1, 74, 0, 0)))
        elif kind < 0.10:  # long flow: C every 5 minutes
            t = start
            for _ in range(r.randrange(1, 8)):
                t += 300000
                self.add(t, g, body("C", (r.randrange(10, 5000), r.randrange(1000, 9000000), r.randrange(10, 5000), r.randrange(1000, 9000000))))
            self.add(t + r.randrange(1000, 200000), g, body("E", (r.randrange(1, 50), r.randrange(60, 9000), r.randrange(1, 50), r.randrange(60, 9000))))
        else:
            p1 = r.randrange(5, 40)
            p2 = r.randrange(5, 60)
            self.add(start + r.randrange(200, 30000), g, body("E", (p1, p1 * r.randrange(60, 600), p2, p2 * r.randrange(60, 1400))))

    def outbound_udp(self, start):
        r = self.rng
        g = "DefaultRule_AllowVnetOutBound" if r.random() < 0.5 else "DefaultRule_AllowInternetOutBound"
        dst, dport = ("168.63.129.16", 53) if r.random() < 0.7 else (public_ip(r), 123)
        sport = r.randrange(32768, 61000) if dport == 53 else 123
        body = lambda st, c=None: self.t("U", self.vm, dst, sport, dport, "O", "A", st, c)
        self.add(start, g, body("B"))
        self.add(start + r.randrange(50, 30000), g, body("E", (1, r.randrange(60, 120), 1, r.randrange(80, 500))))

    def inbound_denied(self, start):
        r = self.rng
        src = public_ip(r)
        dport = r.choice((22, 23, 445, 3389, 5986, 8080, r.randrange(1, 65536), r.randrange(1, 65536)))
        proto = "T" if r.random() < 0.9 else "U"
        self.add(start, "DefaultRule_DenyAllInBound", self.t(proto, src, self.vm, r.randrange(1024, 65536), dport, "I", "D", "B"))

    def inbound_ssh(self, start):
        r = self.rng
        src = "10.%d.%d.%d" % (r.randrange(256), r.randrange(256), r.randrange(4, 250))
        g = "UserRule_AllowProxyToBuildVm" if r.random() < 0.5 else "UserRule_SSH"
        dport = 22 if g == "UserRule_SSH" else r.choice((22, 5986))
        sport = r.randrange(32768, 61000)
        body = lambda st, c=None: self.t("T", src, self.vm, sport, dport, "I", "A", st, c)
        self.add(start, g, body("B"))
        if self.vnet:  # NSG logs no counters for inbound user-rule flows
            p = r.randrange(5, 400)
            self.add(start + r.randrange(1000, 60000), g, body("E", (p, p * 90, p, p * 300)))

    def probe(self, start):
        r = self.rng
        g = "DefaultRule_AllowAzureLoadBalancerInBound"
        sport = r.randrange(49152, 65536)
        body = lambda st, c=None: self.t("T", "168.63.129.16", self.vm, sport, 60001, "I", "A", st, c)
        self.add(start, g, body("B"))
        self.add(start + r.randrange(10, 900), g, body("E", (3, 180, 2, 120)))

    def platform(self, start):
        r = self.rng
        src = r.choice(("40.87.168.8", "40.87.164.0", "52.136.4.16"))
        body = self.t("T", src, self.vm, 23456, r.randrange(20000, 30000), "I", "A", "E", (1, 128, 0, 0))
        self.add(start, "PlatformRule", body)

    def fill(self):
        r = self.rng
        gens = [(self.outbound_tcp, 0.30), (self.outbound_udp, 0.12), (self.inbound_denied, 0.40),
                (self.inbound_ssh, 0.08), (self.probe, 0.08)]
        if self.vnet:
            gens.append((self.platform, 0.02))
        fns = [g for g, _ in gens]
        weights = [w for _, w in gens]
        # ~2 tuples per started flow on average; start 63 s before the hour.
        starts = int(self.rate * 60 / 1.7)
        for _ in range(starts):
            start = self.h0 - 63000 + r.randrange(0, 3600000)
            r.choices(fns, weights)[0](start)


def nsg_records(h, rng, nsg_id, mac_, system_id):
    groups_order = ["DefaultRule_AllowInternetOutBound", "DefaultRule_AllowVnetOutBound",
                    "DefaultRule_AllowAzureLoadBalancerInBound", "UserRule_SSH",
                    "UserRule_AllowProxyToBuildVm", "DefaultRule_DenyAllInBound"]
    for m, tuples in minute_buckets(h):
        rec_ms = h.h0 + m * 60000 + 6000 + rng.randrange(0, 1000)
        flows = []
        for g in groups_order:
            ts = tuples.get(g)
            if not ts:
                continue
            flows.append('{"rule":"%s","flows":[{"mac":"%s","flowTuples":["%s"]}]}' % (g, mac_, '","'.join(ts)))
        yield ('{"time":"%s","systemId":"%s","macAddress":"%s","category":"NetworkSecurityGroupFlowEvent",'
               '"resourceId":"%s","operationName":"NetworkSecurityGroupFlowEvents","properties":{"Version":2,"flows":[%s]}}'
               % (iso(rec_ms, rng.randrange(10 ** 7)), system_id, mac_, nsg_id, ",".join(flows)))


def vnet_records(h, rng, fl_id, target, acl, mac_, fl_guid):
    groups_order = ["DefaultRule_AllowInternetOutBound", "DefaultRule_AllowVnetOutBound",
                    "DefaultRule_AllowAzureLoadBalancerInBound", "UserRule_SSH",
                    "UserRule_AllowProxyToBuildVm", "DefaultRule_DenyAllInBound"]
    for m, tuples in minute_buckets(h):
        rec_ms = h.h0 + m * 60000 + 23000 + rng.randrange(0, 1000)
        flows = []
        gs = ['{"rule":"%s","flowTuples":["%s"]}' % (g, '","'.join(tuples[g])) for g in groups_order if tuples.get(g)]
        if gs:
            flows.append('{"aclID":"%s","flowGroups":[%s]}' % (acl, ",".join(gs)))
        if tuples.get("PlatformRule"):
            flows.append('{"aclID":"00000000-0000-0000-0000-000000000000","flowGroups":[{"rule":"PlatformRule","flowTuples":["%s"]}]}'
                         % '","'.join(tuples["PlatformRule"]))
        yield ('{"time":"%s","flowLogGUID":"%s","macAddress":"%s","category":"FlowLogFlowEvent","flowLogResourceID":"%s",'
               '"targetResourceID":"%s","flowLogVersion":4,"operationName":"FlowLogFlowEvent","flowRecords":{"flows":[%s]}}'
               % (iso(rec_ms, rng.randrange(10 ** 7)), fl_guid, mac_, fl_id, target, ",".join(flows)))


def minute_buckets(h):
    """Tuples of record m have timestamps in [h0 + (m-1) min + 3 s, h0 + m min + 3 s):
    1-63 s before the record time, the first record reaching into the previous hour."""
    per = [dict() for _ in range(60)]
    base = h.h0 - 57000
    rng = h.rng
    for ts, g, s in sorted(h.events):
        m = (ts - base) // 60000
        if m < 0 or m >= 60:
            continue  # before or after this blob's hour
        lst = per[m].setdefault(g, [])
        lst.append(s)
        if rng.random() < 0.0005:  # the odd repeated tuple
            lst.append(s)
    for m in range(60):
        yield m, per[m]


def write_blob(path, records, rng):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    records = list(records)
    if rng.random() < 0.05 and len(records) > 2:  # a repeated record, as in the fixtures
        records.append(records[-2])
    data = '{"records":[' + ",".join(records) + "]}"
    with open(path, "w") as f:
        f.write(data)
    return len(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))
    ap.add_argument("--size-mb", type=float, default=1100.0, help="total size to write (MB, 10^6 bytes)")
    ap.add_argument("--seed", type=int, default=20240819)
    ap.add_argument("--vnet-share", type=float, default=0.5, help="fraction of bytes in VNet v4 blobs")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    target = args.size_mb * 1e6
    sub = "11111111-2222-3333-A4B6-%012X" % rng.getrandbits(48)
    written = {"nsg": 0, "vnet": 0}
    files = 0
    t0 = time.time()
    i = 0
    while sum(written.values()) < target:
        vnet = written["vnet"] < target * args.vnet_share and (written["nsg"] >= target * (1 - args.vnet_share) or i % 2 == 1)
        fam = "vnet" if vnet else "nsg"
        # File sizes: mostly 0.2-8 MB, every 16th a big one (60-150 MB) for
        # within-file parallelism.
        size = rng.uniform(60e6, 150e6) if i % 16 == 7 else rng.lognormvariate(14.5, 1.0)
        size = min(size, target - sum(written.values()) + 1e5)
        tuples_per_min = max(2, int(size / 60 / (70 if vnet else 64)))
        hour = HOUR0 + 3600 * rng.randrange(0, 48)
        y, mo, d, hh = time.gmtime(hour)[:4]
        vm_ip = "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(4, 250))
        m = "000D3A%06X" % (((rng.getrandbits(12) << 12) | i) & 0xFFFFFF)  # unique per file
        h = Hour(rng, vm_ip, vnet, tuples_per_min, hour)
        h.fill()
        when = "y=%04d/m=%02d/d=%02d/h=%02d/m=00/macAddress=%s/PT1H.json" % (y, mo, d, hh, m)
        rg = "AIB-RG-%d" % (i % 7)
        if vnet:
            name = "AIBVNET%d-%s-FLOWLOG" % (i % 5, rg)
            fl_id = ("/SUBSCRIPTIONS/%s/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/"
                     "NETWORKWATCHER_EASTUS/FLOWLOGS/%s" % (sub, name))
            target_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/aibvnet%d" % (sub.lower(), rg.lower(), i % 5)
            acl = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/networkSecurityGroups/aib-nsg%d" % (sub.lower(), rg.lower(), i % 5)
            path = os.path.join(args.out, "insights-logs-flowlogflowevent", "flowLogResourceID=", fl_id.lstrip("/"), when)
            n = write_blob(path, vnet_records(h, rng, fl_id, target_id, acl, m, guid(rng)), rng)
        else:
            nsg_id = "/SUBSCRIPTIONS/%s/RESOURCEGROUPS/%s/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/AIB-NSG%d" % (sub, rg, i % 5)
            path = os.path.join(args.out, "insights-logs-networksecuritygroupflowevent", "resourceId=", nsg_id.lstrip("/"), when)
            n = write_blob(path, nsg_records(h, rng, nsg_id, m, guid(rng)), rng)
        written[fam] += n
        files += 1
        i += 1
        if files % 20 == 0:
            print("%d files, %.0f MB, %.0f s" % (files, sum(written.values()) / 1e6, time.time() - t0), file=sys.stderr)
    print("wrote %d files: NSG v2 %.1f MB, VNet v4 %.1f MB into %s (%.0f s)"
          % (files, written["nsg"] / 1e6, written["vnet"] / 1e6, args.out, time.time() - t0))


if __name__ == "__main__":
    main()

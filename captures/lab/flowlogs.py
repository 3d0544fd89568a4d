#!/usr/bin/env python3
"""Turn the lab fabric's kernel flow table and firewall drop log into Azure flow logs
(Python 3 standard library only).

  flowlogs.py SCENARIO OUTDIR

Inputs, written by record.sh into OUTDIR/lab/ while the scenario ran:
  conntrack-events.txt  `conntrack -E -o timestamp,extended,id` in the fabric namespace (the bridge
                 with br_netfilter, i.e. the place where Azure's host applies the NSG): NEW,
                 UPDATE and DESTROY events with per-direction packet/byte counters
                 (nf_conntrack_acct=1)
  nsg-drops.nflog       the fabric's NFLOG group 1: every packet an NSG rule denied, with the log
                 prefix `aibnet-nsg <I|O> <rule name>`
  recording.json start/end of the recording and the time the flow table was flushed

Outputs, in the blob layout of a storage account (below the containers
insights-logs-networksecuritygroupflowevent and insights-logs-flowlogflowevent, which are left
out to keep paths short):
  OUTDIR/flowlogs/nsg-v2/resourceId=/SUBSCRIPTIONS/…/NETWORKSECURITYGROUPS/<NSG>/
      y=/m=/d=/h=/m=00/macAddress=<MAC>/PT1H.json
  OUTDIR/flowlogs/vnet/flowLogResourceID=/SUBSCRIPTIONS/…/FLOWLOGS/<NAME>/
      y=/m=/d=/h=/m=00/macAddress=<MAC>/PT1H.json

How kernel facts map to tuples (see captures/README.md):
  * B  = the conntrack NEW event of an allowed flow (seconds / milliseconds of that event);
  * E  = the flow's first TIME_WAIT or CLOSE state change, else its DESTROY by the kernel's
         own timeout; a flow still open when the recording ends gets no E (as in Azure, where
         it would only be continued by a later C). Counters come from the DESTROY event, plus
         14 bytes per packet: Azure counts Ethernet frames (a SYN is 74 bytes), conntrack
         counts IP packets (60);
  * D  = packets the NSG model denied (NFLOG), one tuple per 5-tuple per record;
  * a flow denied inbound at the destination NIC was still allowed outbound at the source
    NIC when both NICs are logged (proxy -> build VM): that outbound side is taken from the
    same drop log (packets counted, no reply);
  * NSG v2 quirk reproduced: inbound TCP flows allowed by a custom (UserRule_) rule are
    stateless there — a B tuple without counters and no E. VNet flow logs keep counters.
"""

import datetime as dt
import ipaddress
import json
import os
import re
import struct
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenarios as S  # noqa: E402

ETH = 14  # bytes of Ethernet header per packet that Azure counts and conntrack does not

EVENT = re.compile(r"^\[(\d+\.\d+)\]\s+\[(NEW|UPDATE|DESTROY)\]\s+ipv4\s+2\s+(tcp|udp)\s+(\d+)\s+(.*)$")
TCP_CLOSED = ("TIME_WAIT", "CLOSE")


class Flow:
    def __init__(self, fid, proto, t):
        self.id = fid
        self.proto = proto
        self.new = t
        self.end = None
        self.destroy = None
        self.destroy_by_user = False
        self.state = None
        self.counters = None
        self.tuple = None


def parse_conntrack(path):
    flows = {}
    with open(path, errors="replace") as f:
        for line in f:
            m = EVENT.match(line.strip())
            if not m:
                continue
            t = float(m.group(1))
            kind, proto, rest = m.group(2), m.group(3), m.group(5)
            kv = re.findall(r"(\w+)=(\S+)", rest)
            fid = dict(kv).get("id")
            if fid is None:
                continue
            words = rest.split()
            state = words[1] if proto == "tcp" and kind != "DESTROY" else (words[0] if proto == "tcp" else None)
            src = [v for k, v in kv if k == "src"]
            dst = [v for k, v in kv if k == "dst"]
            sport = [v for k, v in kv if k == "sport"]
            dport = [v for k, v in kv if k == "dport"]
            fl = flows.get(fid)
            if kind == "NEW" or fl is None:
                if kind != "NEW":
                    continue  # a flow that began before the listener started
                fl = Flow(fid, proto, t)
                fl.tuple = (src[0], dst[0], int(sport[0]), int(dport[0]))
                flows[fid] = fl
            if state and state.isupper() and not state.isdigit():
                fl.state = state
                if proto == "tcp" and state in TCP_CLOSED and fl.end is None:
                    fl.end = t
            if kind == "DESTROY":
                fl.destroy = t
                fl.destroy_by_user = "[USERSPACE]" in rest
                pk = [int(v) for k, v in kv if k == "packets"]
                by = [int(v) for k, v in kv if k == "bytes"]
                if len(pk) == 2 and len(by) == 2:
                    fl.counters = (pk[0], by[0] + ETH * pk[0], pk[1], by[1] + ETH * pk[1])
                unreplied = "[UNREPLIED]" in rest
                if fl.end is None:
                    if not fl.destroy_by_user:
                        fl.end = t  # the kernel's own timeout ended it
                    elif proto == "udp" or unreplied:
                        fl.end = t  # nothing more will come: end it at the flush
    return flows


def parse_nflog(path):
    """Packets from a LINKTYPE_NFLOG pcap: (time, direction, rule, proto, src, dst, sport, dport, iplen)."""
    out = []
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return out
    if len(data) < 24:
        return out
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(end + "I", data[20:24])[0]
    if linktype != 239:
        raise SystemExit(f"{path}: link type {linktype}, expected NFLOG (239)")
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        rec = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = sec + frac / (1e9 if nano else 1e6)
        prefix, payload = "", b""
        p = 4
        while p + 4 <= len(rec):
            tlen, ttype = struct.unpack("<HH", rec[p:p + 4])
            if tlen < 4:
                break
            val = rec[p + 4:p + tlen]
            if ttype == 10:
                prefix = val.split(b"\0", 1)[0].decode()
            elif ttype == 9:
                payload = val
            p += (tlen + 3) & ~3
        parts = prefix.split()
        if len(parts) < 3 or parts[0] != "aibnet-nsg" or len(payload) < 20:
            continue
        ihl = (payload[0] & 0x0F) * 4
        proto = payload[9]
        iplen = struct.unpack(">H", payload[2:4])[0]
        src = str(ipaddress.IPv4Address(payload[12:16]))
        dst = str(ipaddress.IPv4Address(payload[16:20]))
        if proto not in (6, 17) or len(payload) < ihl + 4:
            continue
        sport, dport = struct.unpack(">HH", payload[ihl:ihl + 4])
        out.append((t, parts[1], parts[2], "T" if proto == 6 else "U", src, dst, sport, dport, iplen))
    return out


# ---------------------------------------------------------------------------------------


class Tup:
    """One flow-log tuple before formatting."""

    def __init__(self, t, src, dst, sport, dport, proto, direction, decision, state, counters, rule):
        self.t, self.src, self.dst, self.sport, self.dport = t, src, dst, sport, dport
        self.proto, self.direction, self.decision, self.state = proto, direction, decision, state
        self.counters, self.rule = counters, rule

    def nsg_v2(self):
        c = ",".join(str(x) for x in self.counters) if self.counters is not None else ",,,"
        return (f"{int(self.t)},{self.src},{self.dst},{self.sport},{self.dport},{self.proto},"
                f"{self.direction},{self.decision},{self.state},{c}")

    def vnet(self):
        state = "D" if self.decision == "D" else self.state
        c = ",".join(str(x) for x in self.counters) if self.counters is not None else "0,0,0,0"
        if state in ("B", "D"):
            c = "0,0,0,0"
        proto = 6 if self.proto == "T" else 17
        return (f"{int(self.t * 1000)},{self.src},{self.dst},{self.sport},{self.dport},{proto},"
                f"{self.direction},{state},NX,{c}")


def build_tuples(sc, flows, drops, nics):
    """Returns {nic ip: {"nsg": [Tup], "vnet": [Tup]}}."""
    out = {ip: {"nsg": [], "vnet": []} for ip in nics}
    problems = []

    def add(ip, tup, nsg=True, vnet=True):
        if nsg:
            out[ip]["nsg"].append(tup)
        if vnet:
            out[ip]["vnet"].append(tup)

    for fl in sorted(flows.values(), key=lambda f: f.new):
        src, dst, sport, dport = fl.tuple
        proto = "T" if fl.proto == "tcp" else "U"
        for ip, direction in ((dst, "I"), (src, "O")):
            if ip not in nics:
                continue
            if direction == "O" and dst == S.AZURE_LB:
                continue  # platform traffic is not logged
            rule, access = S.evaluate(sc, direction, proto, src, dst, dport)
            if access != "Allow":
                problems.append(f"flow {fl.tuple} passed the fabric but the model says {rule} denies it")
                continue
            stateless = direction == "I" and proto == "T" and rule.startswith("UserRule_")
            add(ip, Tup(fl.new, src, dst, sport, dport, proto, direction, "A", "B", None, rule))
            if fl.end is not None and fl.counters is not None:
                e = Tup(fl.end, src, dst, sport, dport, proto, direction, "A", "E", fl.counters, rule)
                add(ip, e, nsg=not stateless)

    # Denied packets, grouped by (direction, rule, 5-tuple).
    groups = {}
    for (t, direction, rule, proto, src, dst, sport, dport, iplen) in drops:
        groups.setdefault((direction, rule, proto, src, dst, sport, dport), []).append((t, iplen))
    for (direction, rule, proto, src, dst, sport, dport), pkts in groups.items():
        model_rule, access = S.evaluate(sc, direction, proto, src, dst, dport)
        if (model_rule, access) != (rule, "Deny"):
            problems.append(f"drop by {rule} but the model says {model_rule}/{access} for {src}->{dst}:{dport}")
        ip = dst if direction == "I" else src
        if ip in nics:
            for t, _ in pkts:  # one D tuple per record is applied when records are cut
                add(ip, Tup(t, src, dst, sport, dport, proto, direction, "D", "B", None, rule))
        if direction == "I" and src in nics:
            orule, oaccess = S.evaluate(sc, "O", proto, src, dst, dport)
            if oaccess == "Allow":
                n = len(pkts)
                by = sum(p[1] for p in pkts) + ETH * n
                add(src, Tup(pkts[0][0], src, dst, sport, dport, proto, "O", "A", "B", None, orule))
                add(src, Tup(pkts[-1][0], src, dst, sport, dport, proto, "O", "A", "E", (n, by, 0, 0), orule))
    return out, problems


# ---------------------------------------------------------------------------------------


def iso(t):
    d = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    frac = int(round((t - int(t)) * 1e7)) % 10_000_000
    return d.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:07d}Z"


def cut_records(tuples, phase):
    """Group tuples into ~1-minute records: record k has time floor_minute + phase + 60k and
    carries the tuples 1..60 s older than it (as in real blobs, every tuple precedes its
    record). Denied tuples of one 5-tuple are reported once per record."""
    recs = {}
    for tup in sorted(tuples, key=lambda x: x.t):
        base = int(tup.t + 1) // 60 * 60 + phase
        rt = base if base >= tup.t + 1 else base + 60
        recs.setdefault(rt, []).append(tup)
    out = []
    for rt in sorted(recs):
        seen, keep = set(), []
        for tup in recs[rt]:
            if tup.decision == "D":
                key = (tup.src, tup.dst, tup.sport, tup.dport, tup.proto, tup.rule)
                if key in seen:
                    continue
                seen.add(key)
            keep.append(tup)
        out.append((rt, keep))
    return out


def by_rule(tuples):
    order, groups = [], {}
    for tup in tuples:
        if tup.rule not in groups:
            order.append(tup.rule)
            groups[tup.rule] = []
        groups[tup.rule].append(tup)
    return [(r, groups[r]) for r in order]


def date_path(t, mac):
    d = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    return f"y={d:%Y}/m={d:%m}/d={d:%d}/h={d:%H}/m=00/macAddress={mac}"


def write_blobs(base, blobs):
    for rel, records in blobs.items():
        path = os.path.join(base, rel, "PT1H.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(json.dumps({"records": records}, separators=(",", ":")))


def ids():
    sub = S.SUBSCRIPTION
    nsg_id = (f"/subscriptions/{sub}/resourceGroups/{S.RESOURCE_GROUP}/providers/"
              f"Microsoft.Network/networkSecurityGroups/{S.NSG_NAME}")
    fl_name = f"{S.SUBNET_NAME}-{S.RESOURCE_GROUP}-flowlog"
    fl_id = (f"/SUBSCRIPTIONS/{sub}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/"
             f"NETWORKWATCHERS/NETWORKWATCHER_{S.REGION}/FLOWLOGS/{fl_name}").upper()
    target = (f"/subscriptions/{sub}/resourceGroups/{S.RESOURCE_GROUP}/providers/Microsoft.Network/"
              f"virtualNetworks/{S.VNET_NAME}/subnets/{S.SUBNET_NAME}")
    return nsg_id, fl_id, target


def main(argv):
    if len(argv) != 3 or argv[1] not in S.SCENARIOS:
        raise SystemExit(__doc__)
    sc = S.SCENARIOS[argv[1]]
    outdir = argv[2]
    lab = os.path.join(outdir, "lab")
    flows = parse_conntrack(os.path.join(lab, "conntrack-events.txt"))
    drops = parse_nflog(os.path.join(lab, "nsg-drops.nflog"))
    nics = {h[1]: h[2].replace(":", "").upper() for h in S.HOSTS.values() if h[3] and S.role_present(sc, h[0])}
    per_nic, problems = build_tuples(sc, flows, drops, nics)
    for p in problems:
        print("flowlogs: WARNING:", p, file=sys.stderr)

    nsg_id, fl_id, target = ids()
    system_id = str(uuid.uuid5(uuid.NAMESPACE_URL, nsg_id.lower()))
    fl_guid = str(uuid.uuid5(uuid.NAMESPACE_URL, fl_id.lower()))
    nsg_blobs, vnet_blobs = {}, {}
    counts = {"nsg-v2": {}, "vnet": {}}
    for n, (ip, mac) in enumerate(sorted(nics.items())):
        # Each NIC's records tick at their own second of the minute, with a 7-digit fraction.
        phase_nsg = 6.8944384 + 17 * n
        phase_vnet = 37.7570617 + 11 * n
        for rt, tups in cut_records(per_nic[ip]["nsg"], phase_nsg):
            flows_json = [{"rule": r, "flows": [{"mac": mac, "flowTuples": [t.nsg_v2() for t in ts]}]}
                          for r, ts in by_rule(tups)]
            rec = {
                "time": iso(rt),
                "systemId": system_id,
                "macAddress": mac,
                "category": "NetworkSecurityGroupFlowEvent",
                "resourceId": nsg_id.upper(),
                "operationName": "NetworkSecurityGroupFlowEvents",
                "properties": {"Version": 2, "flows": flows_json},
            }
            rel = "resourceId=" + nsg_id.upper() + "/" + date_path(rt, mac)
            nsg_blobs.setdefault(rel, []).append(rec)
            counts["nsg-v2"][mac] = counts["nsg-v2"].get(mac, 0) + len(tups)
        for rt, tups in cut_records(per_nic[ip]["vnet"], phase_vnet):
            groups = [{"aclID": nsg_id, "flowGroups": [{"rule": r, "flowTuples": [t.vnet() for t in ts]}]}
                      for r, ts in by_rule(tups)]
            rec = {
                "time": iso(rt),
                "flowLogGUID": fl_guid,
                "macAddress": mac,
                "category": "FlowLogFlowEvent",
                "flowLogResourceID": fl_id,
                "targetResourceID": target,
                "flowLogVersion": 4,
                "operationName": "FlowLogFlowEvent",
                "flowRecords": {"flows": groups},
            }
            rel = "flowLogResourceID=" + fl_id + "/" + date_path(rt, mac)
            vnet_blobs.setdefault(rel, []).append(rec)
            counts["vnet"][mac] = counts["vnet"].get(mac, 0) + len(tups)
    write_blobs(os.path.join(outdir, "flowlogs", "nsg-v2"), nsg_blobs)
    write_blobs(os.path.join(outdir, "flowlogs", "vnet"), vnet_blobs)
    summary = {"conntrack_flows": len(flows), "nsg_dropped_packets": len(drops), "tuples": counts,
               "problems": problems}
    with open(os.path.join(lab, "flowlogs-summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"flowlogs: {len(flows)} kernel flows, {len(drops)} denied packets -> "
          f"nsg-v2 {sum(counts['nsg-v2'].values())} tuples, vnet {sum(counts['vnet'].values())} tuples")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

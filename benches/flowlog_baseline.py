#!/usr/bin/env python3
"""The plain-Python baseline for `aibnet sessions` on flow logs.

What a support engineer would write: `json.load` each PT1H.json, split each
tuple with `split(',')`, and stitch tuples into sessions with the same rules
as aibnet's flowlog::stitch (per ACL + MAC + directed 5-tuple: B opens, C adds,
E adds and closes, denies within 60 s are one attempt, a gap over 10 min or a
change of decision starts a new session; repeated records and repeated tuples
of the same or the previous record are dropped). Prints a summary and, with
--port, the sessions touching that port, as JSON lines.

  python3 benches/flowlog_baseline.py benches/data --port 5986 > /dev/null

Standard library only.
"""

import argparse
import json
import os
import sys
import time

IDLE_MS = 10 * 60 * 1000
DENY_REPEAT_MS = 60 * 1000


def walk(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    yield os.path.join(root, f)
        else:
            yield p


def tuples_of(rec):
    """(acl, mac, rule, vnet, tuple string) for every tuple of a record."""
    if "properties" in rec:
        acl = rec.get("resourceId", "")
        for fl in rec["properties"].get("flows", []):
            for m in fl.get("flows", []):
                for t in m.get("flowTuples", []):
                    yield acl, m.get("mac", ""), fl.get("rule", ""), False, t
    elif "flowRecords" in rec:
        mac = rec.get("macAddress", "")
        for fl in rec["flowRecords"].get("flows", []):
            for g in fl.get("flowGroups", []):
                for t in g.get("flowTuples", []):
                    yield fl.get("aclID", ""), mac, g.get("rule", ""), True, t


def stitch_file(path, sessions, stats):
    with open(path, "rb") as f:
        doc = json.loads(f.read().decode("utf-8-sig"))
    records = doc["records"] if "records" in doc else [doc]
    seen_records = set()
    prev, cur = set(), set()
    open_ = {}
    for rec in records:
        rkey = (rec.get("time"), rec.get("category"), rec.get("resourceId") or rec.get("targetResourceID"), rec.get("macAddress"))
        stats["records"] += 1
        if rkey in seen_records:
            continue
        seen_records.add(rkey)
        prev, cur = cur, set()
        for acl, mac, rule, vnet, t in tuples_of(rec):
            stats["tuples"] += 1
            dk = (acl, mac, rule, t)
            if dk in cur or dk in prev:
                continue
            cur.add(dk)
            f = t.split(",")
            ts = int(f[0])
            if ts < 100_000_000_000:
                ts *= 1000
            if vnet:
                proto, state = f[5], f[7]
                deny = state == "D"
            else:
                proto = "6" if f[5] == "T" else "17"
                deny = f[7] == "D"
                state = f[8] if len(f) > 8 else ""
            counters = None
            if len(f) == 13 and f[9] != "":
                counters = (int(f[9]), int(f[10]), int(f[11]), int(f[12]))
            key = (acl, mac, proto, f[1], f[3], f[2], f[4])
            s = open_.get(key)
            if s is not None:
                gap = ts - s["last"]
                ok = (s["deny"] == deny and gap <= IDLE_MS)
                if ok and deny:
                    ok = gap <= DENY_REPEAT_MS
                elif ok and state == "B":
                    ok = not s["ended"] and "C" not in s["states"] and "E" not in s["states"]
                elif ok and state:
                    ok = not s["ended"]
                if not ok:
                    s = None
            if s is None:
                s = {"key": key, "first": ts, "last": ts, "c": None, "states": "", "ended": False,
                     "deny": deny, "rule": rule, "dir": f[6], "acl": acl}
                sessions.append(s)
                open_[key] = s
            s["first"] = min(s["first"], ts)
            s["last"] = max(s["last"], ts)
            if counters:
                c = s["c"] or (0, 0, 0, 0)
                s["c"] = (c[0] + counters[0], c[1] + counters[1], c[2] + counters[2], c[3] + counters[3])
            if state and state not in s["states"]:
                s["states"] += state
            if state == "E":
                s["ended"] = True


def conn_state(s):
    if s["deny"]:
        return "S0"
    c = s["c"]
    if c is None:
        return "OTH"
    if c[2] > 0:
        return "SF" if s["ended"] else "S1"
    if c[0] > 0:
        return "S0"
    return "OTH"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--port", type=int, action="append", default=[])
    args = ap.parse_args()
    t0 = time.time()
    sessions = []
    stats = {"files": 0, "bytes": 0, "records": 0, "tuples": 0}
    for p in walk(args.paths):
        stats["files"] += 1
        stats["bytes"] += os.path.getsize(p)
        try:
            stitch_file(p, sessions, stats)
        except (ValueError, KeyError, IndexError) as e:
            print("%s: skipped: %s" % (p, e), file=sys.stderr)
    sessions.sort(key=lambda s: (s["first"], s["key"]))
    states = {}
    shown = 0
    out = sys.stdout
    for s in sessions:
        st = conn_state(s)
        states[st] = states.get(st, 0) + 1
        k = s["key"]
        if args.port and not (int(k[4]) in args.port or int(k[6]) in args.port):
            continue
        shown += 1
        c = s["c"] or (0, 0, 0, 0)
        out.write(json.dumps({
            "proto": "tcp" if k[2] == "6" else "udp", "orig_h": k[3], "orig_p": int(k[4]),
            "resp_h": k[5], "resp_p": int(k[6]), "state": st, "orig_pkts": c[0], "orig_ip_bytes": c[1],
            "resp_pkts": c[2], "resp_ip_bytes": c[3], "decision": "deny" if s["deny"] else "allow",
            "rule": s["rule"], "direction": "inbound" if s["dir"] == "I" else "outbound",
            "flow_state": s["states"], "nsg": s["acl"],
        }) + "\n")
    dt = time.time() - t0
    print("baseline: %d files, %.1f MB, %d records, %d tuples, %d sessions (%d shown) %s in %.1f s = %.2f MB/s"
          % (stats["files"], stats["bytes"] / 1e6, stats["records"], stats["tuples"], len(sessions), shown,
             json.dumps(dict(sorted(states.items()))), dt, stats["bytes"] / 1e6 / dt), file=sys.stderr)


if __name__ == "__main__":
    main()

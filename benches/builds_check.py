#!/usr/bin/env python3
"""Compare `aibnet builds --format json` with the truth of a generated month
(benches/gen_month.py): which runs were found, and whether each got the
verdict, first broken hop and finding the generator built into it.

  builds_check.py TRUTH.json BUILDS.json

A generated run matches a found run at the same address (its build VM, else
its proxy) starting within 6 minutes of it. Prints the counts and every
mismatch; exits 1 when fewer than 95% of the runs are found and diagnosed right.
"""

import collections
import datetime as dt
import json
import sys

SLACK_S = 6 * 60


def ts(s):
    s = s.rstrip("Z")
    if "." in s:
        head, frac = s.split(".")
        s = head + "." + frac[:6]
        fmt = "%Y-%m-%dT%H:%M:%S.%f"
    else:
        fmt = "%Y-%m-%dT%H:%M:%S"
    return dt.datetime.strptime(s, fmt).replace(tzinfo=dt.timezone.utc).timestamp()


def main(argv):
    truth = json.load(open(argv[1]))["runs"]
    doc = json.load(open(argv[2]))
    found = doc["runs"]
    by_addr = collections.defaultdict(list)
    for r in found:
        for a in {r.get("build_vm"), r.get("proxy")} - {None}:
            by_addr[a].append(r)
    used = set()
    matched, right = 0, 0
    problems = []
    per_fault = collections.Counter()
    per_fault_ok = collections.Counter()
    for t in truth:
        addr = t["build_vm"] or t["proxy"]
        start = ts(t["start"])
        cands = [r for r in by_addr.get(addr, []) if abs(ts(r["start"]) - start) <= SLACK_S and id(r) not in used]
        key = f'{t["vnet"]} {t["start"]} {t["os"]} {t["topology"]} {t["fault"]}'
        per_fault[t["fault"]] += 1
        if not cands:
            problems.append(f"not found: {key}")
            continue
        r = min(cands, key=lambda r: abs(ts(r["start"]) - start))
        used.add(id(r))
        matched += 1
        e = t["expect"]
        want_ids = [e["finding"]] if e["finding"] else []
        got_failing = sorted({f["id"] for f in r.get("findings", []) if f["severity"] in ("warning", "error")})
        ok = (r["verdict"] == e["verdict"] and r["first_broken_hop"] == e["first_broken_hop"]
              and got_failing == want_ids)
        if ok:
            right += 1
            per_fault_ok[t["fault"]] += 1
        else:
            problems.append(f"diagnosed {r['verdict']}/{r['first_broken_hop']}/{got_failing}, "
                            f"want {e['verdict']}/{e['first_broken_hop']}/{want_ids}: {key} (found {r['id']})")
    extra = [r for r in found if id(r) not in used]
    for r in extra:
        problems.append(f"extra run: {r['id']} {r['verdict']} {r.get('finding_ids')}")
    n = len(truth)
    print(f"runs generated {n}, found {len(found)}, matched {matched}, diagnosed right {right}, extra {len(extra)}")
    for f in sorted(per_fault):
        print(f"  {f:24} {per_fault_ok[f]}/{per_fault[f]} right")
    for p in problems[:40]:
        print("  " + p)
    if len(problems) > 40:
        print(f"  ... {len(problems) - 40} more")
    return 0 if right >= 0.95 * n and len(extra) <= 0.05 * n else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Compare `aibnet builds --format json` and `aibnet diagnose --format json` on a busy VNET
(benches/gen_busy_vnet.py) with the generator's truth.json: exactly the real builds, none
invented, each with its verdict, first broken hop and finding; and from `diagnose`, the right
verdict for the evidence as a whole ("no AIB traffic", inconclusive, when there is no build).

  busy_vnet_check.py TRUTH.json [--builds BUILDS.json] [--diagnose DIAGNOSE.json]
                     [--since T] [--until T]

--since/--until (RFC 3339) restrict the truth to the builds that overlap the window, for a
diagnosis of some of the hours. A generated build matches a found run at its build VM (else its
proxy) starting within 6 minutes of it and with the same proxy. Prints what matched and every
mismatch, naming the jump boxes among the invented proxies; exits 0 only when both outputs given
are exactly right, 1 otherwise.

With several builds in the evidence, `diagnose` is right only if it diagnoses each: a per-build
list (`builds` or `runs`, each with `proxy`, `build_vm`, `verdict`, findings) is checked like
`builds`; one verdict for the lot is a mismatch.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from builds_check import SLACK_S, ts  # noqa: E402

FAILING = ("warning", "error")
BROKEN_STATUS = ("blocked", "rejected", "missing", "interrupted")


def in_window(r, since, until):
    return (until is None or ts(r["start"]) < until) and (since is None or ts(r["end"]) >= since)


def failing_ids(findings):
    return sorted({f["id"] for f in findings if f.get("severity") in FAILING})


def judge(t, verdict, first_broken_hop, findings):
    """What is wrong with one diagnosed build against its truth (empty: right)."""
    e = t["expect"]
    want_ids = [e["finding"]] if e["finding"] else []
    got_ids = failing_ids(findings)
    wrong = []
    if verdict != e["verdict"]:
        wrong.append(f"verdict {verdict}, want {e['verdict']}")
    if first_broken_hop != e["first_broken_hop"]:
        wrong.append(f"first broken hop {first_broken_hop}, want {e['first_broken_hop']}")
    if got_ids != want_ids:
        wrong.append(f"findings {got_ids}, want {want_ids}")
    return wrong


def describe(t):
    return (f"build {t['id']} {t['start'][:19]}..{t['end'][11:19]} {t['os']} {t['fault']} "
            f"proxy {t['proxy']} NAT {t['nat']} build VM {t['build_vm']}")


def match_runs(truth, found, jumps, label):
    """Match found runs (dicts with start, proxy, build_vm, verdict, first_broken_hop, findings)
    to the truth; returns the problems."""
    problems = []
    used = set()
    for t in truth:
        addr = t["build_vm"] or t["proxy"]
        start = ts(t["start"])
        cands = [i for i, r in enumerate(found) if i not in used
                 and addr in (r.get("build_vm"), r.get("proxy")) and r.get("proxy") == t["proxy"]
                 and abs(ts(r["start"]) - start) <= SLACK_S]
        if not cands:
            problems.append(f"{label}: not found: {describe(t)}")
            continue
        i = min(cands, key=lambda i: abs(ts(found[i]["start"]) - start))
        used.add(i)
        wrong = judge(t, found[i]["verdict"], found[i].get("first_broken_hop"), found[i].get("findings", []))
        if wrong:
            problems.append(f"{label}: {describe(t)}: " + "; ".join(wrong))
        else:
            print(f"{label}: right: {describe(t)}: {found[i]['verdict']}")
    for i, r in enumerate(found):
        if i in used:
            continue
        roles = r.get("roles") or {}
        proxy = r.get("proxy")
        if proxy is None and roles.get("aci"):
            # An isolated run: its "ACI" opened SSH/WinRM to the build VMs.
            who = "ACI " + ", ".join(a + (" (a jump box)" if a in jumps else "") for a in roles["aci"][:4])
        else:
            who = f"proxy {proxy}" + (" (a jump box)" if proxy in jumps else "")
        n_build = len(roles.get("build_vm", [])) or (1 if r.get("build_vm") else 0)
        problems.append(f"{label}: invented: {r.get('id', '')} {r['start'][:19]}..{r.get('end', '')[11:19]} "
                        f"{who}, {n_build} build VM(s), {r['verdict']}")
    return problems


def check_builds(truth, doc, jumps):
    found = [{"id": r["id"], "start": r["start"], "end": r["end"], "proxy": r["proxy"], "build_vm": r["build_vm"],
              "verdict": r["verdict"], "first_broken_hop": r["first_broken_hop"], "findings": r.get("findings", []),
              "roles": r.get("roles")} for r in doc["runs"]]
    print(f"builds: {len(truth)} real build(s), {len(found)} run(s) reported")
    return match_runs(truth, found, jumps, "builds")


def diagnose_first_broken(doc):
    """The first hop (in path order) that the diagnosis calls broken."""
    for h in doc.get("hops", []):
        if h.get("status") in BROKEN_STATUS:
            return h["hop"]
    return None


def check_diagnose(truth, doc, jumps):
    roles = doc.get("topology", {}).get("roles", {})
    proxies = roles.get("proxy", [])
    builds = roles.get("build_vm", [])
    ids = failing_ids(doc.get("findings", []))
    all_ids = sorted({f["id"] for f in doc.get("findings", [])})
    jp = [p for p in proxies if p in jumps]
    said = (f"verdict {doc.get('verdict')}, {len(proxies)} proxy(ies) {proxies[:6]}"
            f"{' …' if len(proxies) > 6 else ''}{f' ({len(jp)} jump box(es))' if jp else ''}, "
            f"{len(builds)} build VM(s), findings {all_ids}")
    print(f"diagnose: {len(truth)} real build(s); said {said}")
    if not truth:
        if doc.get("verdict") == "inconclusive" and "no_aib_traffic" in all_ids and not proxies:
            print("diagnose: right: no AIB traffic")
            return []
        return [f"diagnose: no build in the evidence, want inconclusive / no_aib_traffic; {said}"]
    per_build = doc.get("builds") or doc.get("runs")
    if isinstance(per_build, list):
        found = []
        for r in per_build:
            rr = r.get("roles") or r.get("topology", {}).get("roles", {})
            found.append({"id": r.get("id", ""), "start": r.get("start") or truth[0]["start"], "end": r.get("end", ""),
                          "proxy": r.get("proxy") or (rr.get("proxy") or [None])[0],
                          "build_vm": r.get("build_vm") or (rr.get("build_vm") or [None])[0],
                          "verdict": r.get("verdict"),
                          "first_broken_hop": r.get("first_broken_hop", diagnose_first_broken(r)),
                          "findings": r.get("findings", []), "roles": rr})
        return match_runs(truth, found, jumps, "diagnose")
    if len(truth) > 1:
        return [f"diagnose: {len(truth)} builds ({', '.join(describe(t) for t in truth)}) "
                f"given one merged diagnosis: {said}"]
    t = truth[0]
    problems = []
    if proxies != [t["proxy"]]:
        problems.append(f"proxies {proxies[:6]}{' …' if len(proxies) > 6 else ''} ({len(proxies)}), want [{t['proxy']}]")
    want_b = [t["build_vm"]] if t["build_vm"] else []
    if builds != want_b:
        problems.append(f"build VMs {builds[:6]}{' …' if len(builds) > 6 else ''} ({len(builds)}), want {want_b}")
    problems += judge(t, doc.get("verdict"), diagnose_first_broken(doc), doc.get("findings", []))
    if problems:
        return [f"diagnose: {describe(t)}: " + "; ".join(problems)]
    print(f"diagnose: right: {describe(t)}: {doc.get('verdict')} {ids}")
    return []


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("truth")
    ap.add_argument("--builds")
    ap.add_argument("--diagnose")
    ap.add_argument("--since")
    ap.add_argument("--until")
    a = ap.parse_args(argv[1:])
    truth = json.load(open(a.truth))
    since = ts(a.since) if a.since else None
    until = ts(a.until) if a.until else None
    runs = [r for r in truth["runs"] if in_window(r, since, until)]
    jumps = {j["address"] for j in truth.get("jump_boxes", [])}
    problems = []
    if a.builds:
        problems += check_builds(runs, json.load(open(a.builds)), jumps)
    if a.diagnose:
        problems += check_diagnose(runs, json.load(open(a.diagnose)), jumps)
    for p in problems:
        print("WRONG " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

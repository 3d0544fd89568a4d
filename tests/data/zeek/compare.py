#!/usr/bin/env python3
"""Compare aibnet's sessions with Zeek's conn.log baselines, trace by trace.

    cargo build --release
    python3 tests/data/zeek/compare.py --aibnet target/release/aibnet
    python3 tests/data/zeek/compare.py --aibnet /work/baseline/aibnet --json out.json
    python3 tests/data/zeek/compare.py --data DIR TRACE-DIR...   # only these traces

Every folder of DIR (default: this script's folder) that holds a `conn.log`
is one case: the trace is the one other capture file in the folder
(`*.pcap`, `*.pcapng`, gzip allowed). aibnet runs once per trace
(`aibnet sessions TRACE --format ndjson`). Standard library only.

Matching rules (written to be ported to a Rust integration test as they are):

 1. Baseline rows. `#fields` names the columns (or, for a `zeek-cut -m`
    baseline, the first non-comment line). Rows whose `proto` is not tcp, udp
    or icmp (Zeek's `unknown_transport`) are not compared: aibnet has no
    state machine for them (counted as `other_proto`).
 2. Key. A row and a session are candidates when they have the same protocol
    (aibnet's `icmpv6` is Zeek's `icmp`) and the same unordered pair of
    endpoints {(orig_h, orig_p), (resp_h, resp_p)}: either orientation.
    Addresses are compared in canonical form (IPv6 compressed).
 3. Order inside a key. Baseline timestamps are masked by btest
    (`XXXXXXXXXX.XXXXXX`), so start times cannot be compared. Instead, Zeek's
    uids are drawn from one deterministic sequence (btest fixes the seed) in
    the order connections are created, that is, in the order of their first
    packets: `uid-order.txt` lists that sequence. Rows of one key are sorted
    by their uid's rank (file order without a uid column), aibnet's sessions
    of that key by `first_ts`. Then
    a. anchors: the longest common subsequence of the two lists under "same
       outcome" (equal conn_state and history where the baseline has them,
       and equal total packets where it has orig_pkts/resp_pkts) is paired;
    b. between two anchors the rows and sessions are paired in order, with
       the merges of rule 4; what is left on either side is unmatched.
 4. Merges. Between two anchors (rule 3b), when a key has more rows left
    than sessions, a session takes the next rows in order until their packets
    (orig_pkts + resp_pkts) add up to the session's; two or more rows taken
    this way are one merged pair (Zeek several rows, aibnet one session).
    Without packet columns, or when the sums never meet, no merge is made and
    the surplus rows stay unmatched.
    A merged TCP pair whose first row is an attempt (conn_state S0; without
    that column, a history of `S` and no `h`) is Zeek's split of an
    unanswered attempt, the deliberate difference of the README (Design:
    "Zeek's vocabulary, one deliberate difference"): Zeek's attempt timer
    removes a connection still waiting for its SYN-ACK `tcp_attempt_delay`
    (5 s) after the SYN, so retransmitted SYNs, or in a one-sided capture the
    rest of the connection, make new rows (zeek#863); aibnet keeps one session
    with `syn_retransmits`. Those pairs are counted and listed, not compared:
    neither agreement nor disagreement. Every other merged pair is a
    disagreement for each of its rows.
 5. Compared per pair (only where the baseline has the column):
    * orientation: aibnet's (orig_h, orig_p) equals Zeek's;
    * conn_state: equal strings;
    * history: exact; and ignoring the gap letters `g`/`G`;
    * missed_bytes: Zeek's value against aibnet's `missed_bytes` if the
      session has that field (aibnet's since issue 20's class 5), else `n/a`.
    The headline percentages are over TCP and UDP pairs; ICMP pairs are
    reported apart (Zeek writes no ICMP history and its ICMP state is
    always OTH; aibnet writes `D`/`d`, a documented difference).
 6. Counting. conn_state and history agreement is counted per Zeek row
    (TCP and UDP): a row paired 1:1 agrees or not; each row of a merged pair
    that is not the deliberate split, and each unmatched row, disagrees; each
    unmatched aibnet session counts as one more disagreeing row. Orientation
    is counted over 1:1 pairs. A baseline without a column (a zeek-cut
    extract) counts nothing for that column. Rows with `tunnel_parents` set
    are inner connections Zeek decapsulated (aibnet does not): not compared.

Disagreements are grouped by class: orientation (who is orig), then the
state pair and the history letters that differ (as a multiset: e.g.
`-A` means Zeek has an `A` that aibnet lacks, `+A` the reverse; `order`
means the same letters in a different order), so that one fix closes one
class. Each class lists every pair: trace, 5-tuple, Zeek's state/history,
aibnet's.
"""

import argparse
import collections
import ipaddress
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz", ".cap", ".trace")
GAP_LETTERS = "gG"


def canon_addr(a):
    try:
        return str(ipaddress.ip_address(a))
    except ValueError:
        return a


def canon_proto(p):
    return "icmp" if p == "icmpv6" else p


def endpoint_key(proto, oh, op, rh, rp):
    a = (canon_addr(oh), int(op))
    b = (canon_addr(rh), int(rp))
    return (canon_proto(proto),) + tuple(sorted([a, b]))


def ts_key(ts):
    """RFC 3339 UTC time as a sortable key whatever its precision."""
    head, _, frac = ts.rstrip("Z").partition(".")
    return (head, frac.ljust(9, "0"))


def read_baseline(path):
    """Rows of a Zeek ASCII log (or a zeek-cut -m extract) as dicts."""
    fields = None
    unset = "-"
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("#"):
                if line.startswith("#fields\t"):
                    fields = line.split("\t")[1:]
                elif line.startswith("#unset_field\t"):
                    unset = line.split("\t", 1)[1]
                continue
            cols = line.split("\t")
            if fields is None:
                fields = cols
                continue
            if len(cols) != len(fields):
                continue
            rows.append({k: (None if v == unset else v) for k, v in zip(fields, cols)})
    return fields or [], rows


def load_uid_order(data_dir):
    rank = {}
    path = os.path.join(data_dir, "uid-order.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    rank.setdefault(line, len(rank))
    return rank


def find_cases(data_dir, only):
    cases = []
    for name in sorted(os.listdir(data_dir)):
        d = os.path.join(data_dir, name)
        if not os.path.isdir(d) or (only and name not in only):
            continue
        if not os.path.exists(os.path.join(d, "conn.log")):
            continue
        traces = [f for f in sorted(os.listdir(d)) if f.endswith(CAPTURE_SUFFIXES)]
        if len(traces) != 1:
            print(f"{name}: expected one capture, found {traces}", file=sys.stderr)
            continue
        cases.append((name, os.path.join(d, traces[0]), os.path.join(d, "conn.log")))
    return cases


def run_aibnet(binary, trace):
    p = subprocess.run(
        [binary, "sessions", trace, "--format", "ndjson"],
        capture_output=True,
        text=True,
    )
    if p.returncode not in (0, 1):
        raise RuntimeError(f"{binary} failed on {trace}: {p.stderr.strip()}")
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def pkts_of_row(r):
    try:
        return int(r["orig_pkts"]) + int(r["resp_pkts"])
    except (KeyError, TypeError, ValueError):
        return None


def same_outcome(r, s):
    """Rule 3's anchor test: a row and a session that tell the same story."""
    if r.get("conn_state") is not None and r["conn_state"] != s["state"]:
        return False
    if "history" in r and (r.get("history") or "") != (s["history"] if s["history"] != "-" else ""):
        return False
    n = pkts_of_row(r)
    return n is None or n == s["orig_pkts"] + s["resp_pkts"]


def lcs_anchors(rows, sessions):
    """Longest common subsequence of rows and sessions under same_outcome:
    the pairs both sides agree on, in order."""
    n, m = len(rows), len(sessions)
    t = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if same_outcome(rows[i], sessions[j]):
                t[i][j] = t[i + 1][j + 1] + 1
            else:
                t[i][j] = max(t[i + 1][j], t[i][j + 1])
    out, i, j = [], 0, 0
    while i < n and j < m:
        if same_outcome(rows[i], sessions[j]) and t[i][j] == t[i + 1][j + 1] + 1:
            out.append((i, j))
            i, j = i + 1, j + 1
        elif t[i + 1][j] >= t[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def pair_segment(rows, sessions):
    """Rule 4 and the in-order pairing of what lies between two anchors."""
    pairs, i = [], 0
    for j, s in enumerate(sessions):
        if i >= len(rows):
            return pairs, [], sessions[j:]
        sess_left = len(sessions) - j
        if len(rows) - i > sess_left:
            want = s["orig_pkts"] + s["resp_pkts"]
            total, k = 0, i
            while k < len(rows) and total < want and len(rows) - k > sess_left - 1:
                n = pkts_of_row(rows[k])
                if n is None:
                    break
                total += n
                k += 1
            if total == want and k - i > 1:
                pairs.append((rows[i:k], s))
                i = k
                continue
        pairs.append(([rows[i]], s))
        i += 1
    return pairs, rows[i:], []


def is_attempt(r):
    """A row Zeek's attempt timer ended: the SYN was never answered (S0), or,
    without a conn_state column, a history of SYNs and no SYN-ACK."""
    if r.get("conn_state") is not None:
        return r["conn_state"] == "S0"
    h = r.get("history") or ""
    return h.startswith("S") and "h" not in h and "H" not in h


def pair_group(rows, sessions):
    """Pairs of one key, (rows, session) with len(rows) > 1 for a merge, plus
    the rows and sessions left unmatched."""
    pairs, extra_rows, extra_sessions = [], [], []
    pi, pj = 0, 0
    for ai, aj in lcs_anchors(rows, sessions) + [(len(rows), len(sessions))]:
        p, xr, xs = pair_segment(rows[pi:ai], sessions[pj:aj])
        pairs += p
        extra_rows += xr
        extra_sessions += xs
        if ai < len(rows):
            pairs.append(([rows[ai]], sessions[aj]))
        pi, pj = ai + 1, aj + 1
    return pairs, extra_rows, extra_sessions


def letter_diff(zh, ah):
    """Multiset difference of history letters: '-X' Zeek only, '+X' aibnet only."""
    zc, ac = collections.Counter(zh), collections.Counter(ah)
    parts = []
    for ch in sorted(set(zc) | set(ac)):
        d = ac[ch] - zc[ch]
        if d < 0:
            parts.append("-" + ch * (-d))
        elif d > 0:
            parts.append("+" + ch * d)
    return " ".join(parts) if parts else "order"


def five_tuple(r):
    return f"{r.get('proto') or '*'} {r.get('id.orig_h')}:{r.get('id.orig_p', '?')} > {r.get('id.resp_h')}:{r.get('id.resp_p')}"


def five_tuple_s(s):
    return f"{s['proto']} {s['orig_h']}:{s['orig_p']} > {s['resp_h']}:{s['resp_p']}"


def row_text(r):
    return f"{r.get('conn_state') or '?'} {r.get('history') or '-'}"


def sess_text(s):
    return f"{s['state']} {s['history']}"


def compare_case(name, trace, baseline, binary, uid_rank):
    fields, rows = read_baseline(baseline)
    sessions = run_aibnet(binary, trace)
    has = set(fields)
    res = {
        "trace": name,
        "rows": len(rows),
        "sessions": len(sessions),
        "columns": sorted(has & {"proto", "id.orig_p", "conn_state", "history", "missed_bytes", "orig_pkts"}),
        "other_proto": 0,
        "tunnelled": 0,
        "pairs": [],
        "merged": [],
        "zeek_split": [],
        "unmatched_zeek": [],
        "unmatched_aibnet": [],
    }
    need = {"id.orig_h", "id.resp_h", "id.resp_p"}
    if not need <= has:
        res["error"] = f"baseline lacks {sorted(need - has)}: not compared"
        return res
    # Rule 2 with what the baseline has: a zeek-cut extract may lack `proto`
    # (rows then match sessions of any protocol) or `id.orig_p` (rows are
    # keyed by their responder's port and both addresses).
    has_proto = "proto" in has
    has_orig_p = "id.orig_p" in has

    def row_key(r):
        proto = r["proto"] if has_proto else "*"
        if has_orig_p:
            return endpoint_key(proto, r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"])
        return (canon_proto(proto), canon_addr(r["id.orig_h"]), canon_addr(r["id.resp_h"]), int(r["id.resp_p"]))

    def session_keys(s):
        proto = s["proto"] if has_proto else "*"
        if has_orig_p:
            return [endpoint_key(proto, s["orig_h"], s["orig_p"], s["resp_h"], s["resp_p"])]
        return [
            (canon_proto(proto), canon_addr(s["orig_h"]), canon_addr(s["resp_h"]), s["resp_p"]),
            (canon_proto(proto), canon_addr(s["resp_h"]), canon_addr(s["orig_h"]), s["orig_p"]),
        ]

    groups_z = collections.defaultdict(list)
    for n, r in enumerate(rows):
        r["_n"] = n
        if has_proto and r.get("proto") not in ("tcp", "udp", "icmp"):
            res["other_proto"] += 1
            continue
        if r.get("tunnel_parents") not in (None, "(empty)"):
            # Rule 1: an inner connection Zeek decapsulated; aibnet does not.
            res["tunnelled"] += 1
            continue
        groups_z[row_key(r)].append(r)
    groups_a = collections.defaultdict(list)
    for s in sessions:
        if canon_proto(s["proto"]) not in ("tcp", "udp", "icmp"):
            continue
        keys = session_keys(s)
        k = next((k for k in keys if k in groups_z), keys[0])
        groups_a[k].append(s)
    for k in sorted(set(groups_z) | set(groups_a), key=str):
        zr = sorted(groups_z.get(k, []), key=lambda r: (uid_rank.get(r.get("uid"), 1 << 30), r["_n"]))
        ss = sorted(groups_a.get(k, []), key=lambda s: ts_key(s["first_ts"]))
        pairs, xz, xa = pair_group(zr, ss)
        for r in xz:
            res["unmatched_zeek"].append({"proto": canon_proto(r["proto"]) if has_proto else "*", "tuple": five_tuple(r), "zeek": row_text(r)})
        for s in xa:
            res["unmatched_aibnet"].append({"proto": canon_proto(s["proto"]), "tuple": five_tuple_s(s), "aibnet": sess_text(s)})
        for zrows, s in pairs:
            if len(zrows) > 1:
                item = {
                    "proto": canon_proto(s["proto"]),
                    "tuple": five_tuple_s(s),
                    "zeek": [row_text(r) for r in zrows],
                    "aibnet": sess_text(s),
                    "syn_retransmits": s.get("syn_retransmits", 0),
                }
                # Rule 4: the deliberate difference, or a split to explain.
                if s["proto"] == "tcp" and is_attempt(zrows[0]):
                    res["zeek_split"].append(item)
                else:
                    res["merged"].append(item)
                continue
            r = zrows[0]
            orient = canon_addr(r["id.orig_h"]) == canon_addr(s["orig_h"]) and (
                int(r["id.orig_p"]) == s["orig_p"] if has_orig_p else int(r["id.resp_p"]) == s["resp_p"]
            )
            res["pairs"].append(
                {
                    "proto": canon_proto(s["proto"]),
                    "tuple": five_tuple(r),
                    "aibnet_tuple": five_tuple_s(s),
                    "orient": orient,
                    "z_state": r.get("conn_state"),
                    "a_state": s["state"],
                    "z_hist": (r.get("history") or "") if "history" in has else None,
                    "a_hist": s["history"] if s["history"] != "-" else "",
                    "z_missed": r.get("missed_bytes"),
                    "a_missed": s.get("missed_bytes"),
                }
            )
    return res


def pct(a, b):
    return f"{a}/{b} ({100.0 * a / b:.1f} %)" if b else "n/a"


def strip_gaps(h):
    return "".join(c for c in h if c not in GAP_LETTERS)


def tally(res, protos=("tcp", "udp")):
    """Rule 6's counts for one trace (or a merged list of traces).

    conn_state and history are counted per Zeek row: a row paired 1:1 agrees
    or not; a row of a merged pair (Zeek several rows, aibnet one session,
    not the deliberate split) and an unmatched row disagree; an unmatched
    aibnet session is one more disagreement. Orientation counts 1:1 pairs."""
    t = collections.Counter()
    cols = set(res["columns"])
    for p in res["pairs"]:
        if p["proto"] not in protos:
            continue
        t["pairs"] += 1
        t["orient"] += p["orient"]
        if "conn_state" in cols:
            t["state"] += p["z_state"] == p["a_state"]
        if "history" in cols:
            t["hist"] += p["z_hist"] == p["a_hist"]
            t["hist_nogap"] += strip_gaps(p["z_hist"]) == strip_gaps(p["a_hist"])
        if p["z_missed"] is not None:
            t["missed_n"] += 1
            t["missed_nonzero"] += p["z_missed"] != "0"
            if p["a_missed"] is not None:
                t["missed_cmp"] += 1
                t["missed"] += str(p["a_missed"]) == p["z_missed"]
    wrong = sum(len(m["zeek"]) for m in res["merged"] if m["proto"] in protos)
    wrong += sum(1 for u in res["unmatched_zeek"] if u["proto"] in protos + ("*",))
    wrong += sum(1 for u in res["unmatched_aibnet"] if u["proto"] in protos)
    t["total"] = t["pairs"] + wrong
    t["split"] = sum(1 for x in res["zeek_split"] if x["proto"] in protos)
    t["split_rows"] = sum(len(x["zeek"]) for x in res["zeek_split"] if x["proto"] in protos)
    t["state_n"] = t["total"] if "conn_state" in cols else 0
    t["hist_n"] = t["total"] if "history" in cols else 0
    return t


def add(a, b):
    c = collections.Counter(a)
    c.update(b)
    return c


def disagreement_class(p):
    parts = []
    if not p["orient"]:
        parts.append("orientation")
    if p["z_state"] is not None and p["z_state"] != p["a_state"]:
        parts.append(f"state {p['z_state']}->{p['a_state']}")
    if p["z_hist"] is not None and p["z_hist"] != p["a_hist"]:
        parts.append("history " + letter_diff(p["z_hist"], p["a_hist"]))
    return "; ".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aibnet", default=os.path.join(ROOT, "target", "release", "aibnet"))
    ap.add_argument("--data", default=HERE, help="folder of cases (default: this script's folder)")
    ap.add_argument("--json", help="also write the full result as JSON to this file")
    ap.add_argument("only", nargs="*", help="case folders to run (default: all)")
    args = ap.parse_args()

    uid_rank = load_uid_order(args.data)
    cases = find_cases(args.data, set(args.only))
    results = [compare_case(n, t, b, args.aibnet, uid_rank) for n, t, b in cases]

    print(f"aibnet: {args.aibnet}")
    print(f"{len(results)} traces, {sum(r['rows'] for r in results)} baseline rows")
    print("Columns per trace (TCP and UDP): Zeek rows compared (total, incl. unmatched/merged and aibnet extras),")
    print("1:1 pairs, deliberate attempt splits, merged rows, unmatched Zeek/aibnet, then agreements.\n")
    hdr = f"{'trace':44} {'total':>5} {'pair':>4} {'split':>5} {'merg':>4} {'unZ':>3} {'unA':>3} {'orient':>7} {'state':>7} {'hist':>7} {'hist-g':>7} {'missed':>9}"
    print(hdr)
    print("-" * len(hdr))
    overall = collections.Counter()
    for r in results:
        if r.get("error"):
            print(f"{r['trace'][:44]:44} {r['rows']:>5}  {r['error']}")
            continue
        t = tally(r)
        overall = add(overall, t)
        cell = lambda a, b: f"{a}/{b}" if b else "-"
        missed = "-" if not t["missed_n"] else (f"{t['missed_nonzero']}>0 n/a" if not t["missed_cmp"] else cell(t["missed"], t["missed_cmp"]))
        merged = sum(len(m["zeek"]) for m in r["merged"])
        print(
            f"{r['trace'][:44]:44} {t['total']:>5} {t['pairs']:>4} {t['split']:>5} {merged:>4} {len(r['unmatched_zeek']):>3} {len(r['unmatched_aibnet']):>3} "
            f"{cell(t['orient'], t['pairs']):>7} {cell(t['state'], t['state_n']):>7} {cell(t['hist'], t['hist_n']):>7} {cell(t['hist_nogap'], t['hist_n']):>7} {missed:>9}"
        )
    t = overall
    print("\nOverall, TCP and UDP:")
    print(f"  Zeek rows compared       {t['total']} ({t['pairs']} paired 1:1)")
    print(f"  orientation agrees       {pct(t['orient'], t['pairs'])}")
    print(f"  conn_state agrees        {pct(t['state'], t['state_n'])}")
    print(f"  history agrees (exact)   {pct(t['hist'], t['hist_n'])}")
    print(f"  history agrees (no g/G)  {pct(t['hist_nogap'], t['hist_n'])}")
    if t["missed_cmp"]:
        print(f"  missed_bytes agrees      {pct(t['missed'], t['missed_cmp'])}")
    else:
        print(f"  missed_bytes             n/a: aibnet has no such field ({t['missed_n']} paired rows have the column, {t['missed_nonzero']} non-zero in Zeek)")
    print(f"  Zeek's split of unanswered attempts (deliberate, not counted): {t['split']} aibnet sessions = {t['split_rows']} Zeek rows")
    print(
        f"  not compared: {sum(r['other_proto'] for r in results)} rows of other protocols, "
        f"{sum(r['tunnelled'] for r in results)} tunnelled rows (aibnet does not decapsulate)"
    )
    icmp = collections.Counter()
    for r in results:
        if not r.get("error"):
            icmp = add(icmp, tally(r, ("icmp",)))
    if icmp["total"]:
        print(
            f"ICMP (apart: Zeek writes no ICMP history): {icmp['total']} rows, {icmp['pairs']} paired, "
            f"orientation {pct(icmp['orient'], icmp['pairs'])}, conn_state {pct(icmp['state'], icmp['state_n'])}"
        )

    classes = collections.defaultdict(list)
    for r in results:
        for p in r["pairs"]:
            if p["proto"] == "icmp":
                continue
            c = disagreement_class(p)
            if c:
                classes[c].append(
                    f"{r['trace']}: {p['tuple']}  zeek {p['z_state'] or '?'} {p['z_hist'] if p['z_hist'] is not None else '?'}  "
                    f"aibnet {p['a_state']} {p['a_hist'] or '-'}" + ("" if p["orient"] else f"  (aibnet: {p['aibnet_tuple']})")
                )
        for m in r["merged"]:
            classes[f"Zeek {len(m['zeek'])} rows, aibnet one session"].append(
                f"{r['trace']}: {m['tuple']}  zeek {' + '.join(m['zeek'])}  aibnet {m['aibnet']}"
            )
        for u in r["unmatched_zeek"]:
            if u["proto"] != "icmp":
                classes["only in Zeek"].append(f"{r['trace']}: {u['tuple']}  zeek {u['zeek']}")
        for u in r["unmatched_aibnet"]:
            if u["proto"] != "icmp":
                classes["only in aibnet"].append(f"{r['trace']}: {u['tuple']}  aibnet {u['aibnet']}")
    print(f"\nDisagreements by class, TCP and UDP ({sum(len(v) for v in classes.values())} items, {len(classes)} classes):")
    for c, items in sorted(classes.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        print(f"\n[{len(items)}] {c}")
        for line in items:
            print(f"    {line}")
    splits = [(r["trace"], x) for r in results for x in r["zeek_split"]]
    if splits:
        print("\nZeek's split of unanswered attempts (attempt timer; one aibnet session = several Zeek rows; not counted):")
        for trace, x in splits:
            print(f"    {trace}: {x['tuple']}  zeek {' + '.join(x['zeek'])}  aibnet {x['aibnet']} syn_retransmits={x['syn_retransmits']}")
    icmp_lines = [
        f"{r['trace']}: {p['tuple']}  zeek {p['z_state']} {p['z_hist']}  aibnet {p['a_state']} {p['a_hist'] or '-'}"
        for r in results
        for p in r["pairs"]
        if p["proto"] == "icmp" and (not p["orient"] or (p["z_state"] is not None and p["z_state"] != p["a_state"]))
    ]
    icmp_lines += [f"{r['trace']}: only in {side}: {u['tuple']}" for r in results for side in ("zeek", "aibnet") for u in r[f"unmatched_{side}"] if u["proto"] == "icmp"]
    if icmp_lines:
        print("\nICMP differences (orientation, state, unmatched):")
        for line in icmp_lines:
            print(f"    {line}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"aibnet": args.aibnet, "overall": dict(overall), "traces": results}, f, indent=1)


if __name__ == "__main__":
    main()

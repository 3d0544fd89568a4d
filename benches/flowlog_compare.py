#!/usr/bin/env python3
"""Whole-process comparison: `aibnet sessions` against the plain-Python
baseline (benches/flowlog_baseline.py) on the same flow logs.

  python3 benches/gen_flowlogs.py                     # once: ~1.1 GB into benches/data
  cargo build --release
  python3 benches/flowlog_compare.py benches/data --runs 3

Both print the sessions touching --port (default 5986, WinRM over HTTPS) so
that output stays small while every session is still built; the script
checks that both found the same sessions, then reports the median wall
time, CPU time (user + system: the machine may be shared) and peak memory of
each, and the ratios. Results are also written as JSON under
benches/results/<date>-<host>/. Standard library only; needs /usr/bin/time.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def total_bytes(path):
    n = 0
    for root, _, files in os.walk(path):
        for f in files:
            n += os.path.getsize(os.path.join(root, f))
    return n


def timed(cmd, out_path):
    """Run `cmd` under /usr/bin/time; return (wall s, cpu s, max RSS KB, stderr)."""
    with open(out_path, "wb") as out, tempfile.NamedTemporaryFile("r") as tf:
        full = ["/usr/bin/time", "-o", tf.name, "-f", "%e %U %S %M"] + cmd
        p = subprocess.run(full, stdout=out, stderr=subprocess.PIPE)
        if p.returncode != 0:
            sys.exit("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.decode()[-2000:]))
        e, u, s, m = tf.read().split()[-4:]
    return float(e), float(u) + float(s), int(m), p.stderr.decode()


def shown_aibnet(path):
    with open(path) as f:
        text = f.read()
    if text.startswith("{\n"):
        sessions = json.loads(text)["sessions"]
    else:
        sessions = [json.loads(line) for line in text.splitlines() if line]
    return sorted((s["orig_h"], s["orig_p"], s["resp_h"], s["resp_p"], s["state"]) for s in sessions)


def shown_python(path):
    rows = []
    with open(path) as f:
        for line in f:
            s = json.loads(line)
            rows.append((s["orig_h"], s["orig_p"], s["resp_h"], s["resp_p"], s["state"]))
    return sorted(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="?", default=os.path.join(HERE, "data"))
    ap.add_argument("--runs", type=int, default=3, help="aibnet runs (median)")
    ap.add_argument("--python-runs", type=int, default=1)
    ap.add_argument("--port", type=int, default=5986)
    ap.add_argument("--aibnet", default=os.path.join(ROOT, "target", "release", "aibnet"))
    ap.add_argument("--threads", type=int, default=0, help="aibnet -j (0: one per core)")
    # NDJSON by default: the baseline prints JSON lines, one per session, so
    # this is the like-for-like output; `json` is aibnet's pretty document.
    ap.add_argument("--format", choices=["ndjson", "json"], default="ndjson")
    args = ap.parse_args()
    size = total_bytes(args.data)
    mb = size / 1e6
    tmp = tempfile.mkdtemp(prefix="flowlog-compare-")
    cmd_rs = [args.aibnet, "sessions", "--format", args.format, "--port", str(args.port), args.data]
    if args.threads:
        cmd_rs[2:2] = ["-j", str(args.threads)]
    cmd_py = [sys.executable, os.path.join(HERE, "flowlog_baseline.py"), "--port", str(args.port), args.data]
    results = {}
    for name, cmd, runs, out in [("aibnet", cmd_rs, args.runs, "rs.json"), ("python", cmd_py, args.python_runs, "py.jsonl")]:
        rows = []
        for i in range(runs):
            w, c, m, err = timed(cmd, os.path.join(tmp, out))
            rows.append((w, c, m))
            print("%s run %d: %.2f s wall, %.2f CPU-s, %d MB peak | %s" % (name, i + 1, w, c, m // 1024, err.strip().splitlines()[-1]), file=sys.stderr)
        results[name] = {
            "cmd": " ".join(cmd),
            "runs": [{"wall_s": w, "cpu_s": c, "max_rss_kb": m} for w, c, m in rows],
            "median_wall_s": statistics.median(r[0] for r in rows),
            "median_cpu_s": statistics.median(r[1] for r in rows),
            "max_rss_kb": max(r[2] for r in rows),
        }
    a = shown_aibnet(os.path.join(tmp, "rs.json"))
    p = shown_python(os.path.join(tmp, "py.jsonl"))
    same = a == p
    rs, py = results["aibnet"], results["python"]
    summary = {
        "date": time.strftime("%Y-%m-%d"),
        "host": socket.gethostname(),
        "cores": os.cpu_count(),
        "load_avg_at_end": os.getloadavg(),
        "data": os.path.abspath(args.data),
        "bytes": size,
        "port_filter": args.port,
        "same_sessions_shown": same,
        "sessions_shown": len(a),
        "aibnet": rs,
        "python": py,
        "speedup_wall": py["median_wall_s"] / rs["median_wall_s"],
        "speedup_cpu": py["median_cpu_s"] / rs["median_cpu_s"],
    }
    print()
    print("| tool | median wall | MB/s (wall) | CPU-s | MB per CPU-s | peak RSS |")
    print("|---|---|---|---|---|---|")
    for name, r in [("aibnet sessions", rs), ("Python json + split", py)]:
        print("| %s | %.2f s | %.0f | %.2f | %.0f | %.0f MB |" % (
            name, r["median_wall_s"], mb / r["median_wall_s"], r["median_cpu_s"], mb / r["median_cpu_s"], r["max_rss_kb"] / 1024))
    print()
    print("%.1f MB of flow logs; aibnet is %.1fx faster by wall time, %.1fx by CPU time; same %d sessions shown: %s"
          % (mb, summary["speedup_wall"], summary["speedup_cpu"], len(a), same))
    outdir = os.path.join(HERE, "results", "%s-%s" % (summary["date"], summary["host"]))
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "flowlog_compare.json"), "w") as f:
        json.dump(summary, f, indent=2)
    if not same:
        sys.exit("the two disagree on the sessions shown")


if __name__ == "__main__":
    main()

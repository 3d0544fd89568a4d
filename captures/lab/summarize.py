#!/usr/bin/env python3
"""One line per TCP service and per DNS server for each capture of a scenario, to check by
eye that a recording shows its failure (needs tshark; not used by record.sh).

  summarize.py captures/<scenario> [...]

For every (client -> server:port) pair: sessions, how many got a SYN-ACK, how many were
answered with RST by the server, how many SYNs were sent in all (more SYNs than sessions =
retransmissions), sessions with payload, sessions that stopped mid-stream (payload, then
only retransmissions and no answer). For DNS: queries, answered, rcodes.
"""

import collections
import os
import subprocess
import sys

FIELDS = ["frame.time_epoch", "tcp.stream", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "tcp.flags.syn",
          "tcp.flags.ack", "tcp.flags.reset", "tcp.flags.fin", "tcp.len", "tcp.analysis.retransmission"]


def tshark(path, filt, fields):
    cmd = ["tshark", "-r", path, "-Y", filt, "-T", "fields", "-E", "separator=|"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


def tcp_summary(path):
    streams = {}
    for r in tshark(path, "tcp", FIELDS):
        t, st, src, dst, sp, dp, syn, ack, rst, fin, ln, retr = r
        s = streams.get(st)
        if s is None:
            if not (syn == "1" and ack == "0"):
                continue  # began before the capture
            s = streams[st] = dict(client=src, server=f"{dst}:{dp}", syns=0, synack=False, rst_srv=False,
                                   rst_cli=False, data=0, fin=False)
        from_client = src == s["client"]
        if syn == "1" and ack == "0":
            s["syns"] += 1
        if syn == "1" and ack == "1":
            s["synack"] = True
        if rst == "1":
            s["rst_cli" if from_client else "rst_srv"] = True
        if fin == "1":
            s["fin"] = True
        if int(ln or 0) > 0:
            s["data"] += int(ln)
        s.setdefault("pkts", []).append((from_client, bool(retr)))
    for s in streams.values():
        # trailing retransmissions from one side, with nothing from the other side after them
        pk = s.get("pkts", [])
        n = 0
        for from_client, retr in reversed(pk):
            if not retr or (pk and from_client != pk[-1][0]):
                break
            n += 1
        s["tail_retr"] = n
    agg = collections.OrderedDict()
    for s in streams.values():
        key = f"{s['client']} -> {s['server']}"
        a = agg.setdefault(key, collections.Counter())
        a["sessions"] += 1
        a["syns"] += s["syns"]
        a["established"] += s["synack"]
        a["rst_by_server"] += s["rst_srv"] and not s["synack"]
        a["reset_after_setup"] += s["synack"] and s["rst_srv"]
        a["unanswered"] += not s["synack"] and not s["rst_srv"]
        a["with_payload"] += s["data"] > 0
        a["stalled"] += s["synack"] and s["tail_retr"] >= 3
    return agg


def dns_summary(path):
    q = collections.OrderedDict()
    for src, dst, resp, rcode, qid in tshark(path, "dns", ["ip.src", "ip.dst", "dns.flags.response", "dns.flags.rcode", "dns.id"]):
        if resp == "0":
            a = q.setdefault(f"{src} -> {dst}:53", collections.Counter())
            a["queries"] += 1
        else:
            a = q.setdefault(f"{dst} -> {src}:53", collections.Counter())
            a["answers"] += 1
            a[f"rcode{rcode}"] += 1
    return q


def main(argv):
    for d in argv[1:]:
        print(f"== {os.path.basename(os.path.normpath(d))}")
        for f in sorted(os.listdir(d)):
            if not f.endswith(".pcap"):
                continue
            path = os.path.join(d, f)
            tcp, dns = tcp_summary(path), dns_summary(path)
            if not tcp and not dns:
                print(f"  {f}: no TCP or DNS packets")
            for k, c in tcp.items():
                print(f"  {f}: tcp {k}: " + " ".join(f"{n}={c[n]}" for n in
                      ("sessions", "syns", "established", "rst_by_server", "unanswered", "reset_after_setup",
                       "stalled", "with_payload") if c[n] or n in ("sessions", "established")))
            for k, c in dns.items():
                print(f"  {f}: dns {k}: " + " ".join(f"{n}={v}" for n, v in sorted(c.items())))


if __name__ == "__main__":
    main(sys.argv)

"""Interleaved A/B timing: python3 ab.py ROUNDS 'cmd1' 'cmd2' ... (each a shell command)."""
import subprocess, sys, time, statistics, os, resource
rounds = int(sys.argv[1]); cmds = sys.argv[2:]
walls = {c: [] for c in cmds}; cpus = {c: [] for c in cmds}
for r in range(rounds):
    for c in cmds:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(c, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls[c].append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus[c].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
base = statistics.median(walls[cmds[0]])
for c in cmds:
    m = statistics.median(walls[c])
    print(f"{m:6.3f} s (min {min(walls[c]):.3f}, max {max(walls[c]):.3f}) cpu {statistics.median(cpus[c]):5.2f} s  ratio {m/base:5.3f}  {c[:110]}")

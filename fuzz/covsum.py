#!/usr/bin/env python3
"""Line coverage of src/ by stage, from coverage.sh's llvm-cov reports.

Usage: fuzz/covsum.py REPORT [BEFORE]   (e.g. logs/cov/all.txt)

A Markdown row per stage (a directory of src/, or a file at its top):
lines, lines reached, and the share; with BEFORE (an earlier report), the
lines reached then, so a run's gain in source lines can be read beside
libFuzzer's edge count."""
import sys
from collections import defaultdict


def read(path):
    """{file: (lines, missed lines)} from an llvm-cov report."""
    out = {}
    for line in open(path):
        f = line.split()
        # Filename Regions Missed Cover Functions Missed Executed Lines Missed Cover ...
        if len(f) >= 10 and f[0].endswith('.rs'):
            out[f[0]] = (int(f[7]), int(f[8]))
    return out


def by_stage(files):
    st = defaultdict(lambda: [0, 0])
    for name, (lines, missed) in files.items():
        stage = name.split('/')[0] if '/' in name else name.removesuffix('.rs')
        st[stage][0] += lines
        st[stage][1] += lines - missed
    return st


now = by_stage(read(sys.argv[1]))
before = by_stage(read(sys.argv[2])) if len(sys.argv) > 2 else None
head = '| stage | lines | reached | share |' + (' reached before |' if before else '')
print(head)
print('|---' * (head.count('|') - 1) + '|')
tot = [0, 0, 0]
for stage in sorted(now, key=lambda s: -now[s][1] / max(now[s][0], 1)):
    lines, hit = now[stage]
    tot[0] += lines
    tot[1] += hit
    row = f'| {stage} | {lines} | {hit} | {100 * hit / max(lines, 1):.1f} % |'
    if before:
        b = before.get(stage, [0, 0])[1]
        tot[2] += b
        row += f' {b} |'
    print(row)
row = f'| all | {tot[0]} | {tot[1]} | {100 * tot[1] / max(tot[0], 1):.1f} % |'
print(row + (f' {tot[2]} |' if before else ''))

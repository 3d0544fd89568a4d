#!/usr/bin/env python3
"""Where a fuzz run found new code: two llvm-cov reports of every file
(coverage.sh's TARGET.files.txt, e.g. from the corpus kept at the start of a
run and from the corpus at its end) compared region by region.

Usage: fuzz/covdiff.py BEFORE AFTER

Prints the regions newly reached, by crate (aibnet's src/ file by file,
dependencies by crate, std's generics as `std`), and the totals. libFuzzer's
`cov` counts edges in all of these; a run whose new edges are all outside
src/ has reached a plateau in aibnet's own code."""
import re
import sys
from collections import Counter


def read(path):
    """{file: (regions, missed regions, lines, missed lines)}"""
    out = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 10 and f[0].endswith('.rs'):
            out[f[0]] = (int(f[1]), int(f[2]), int(f[7]), int(f[8]))
    return out


def owner(path):
    m = re.search(r'/registry/src/[^/]+/([^/]+?)-\d[^/]*/', path)
    if m:
        return m.group(1)
    if '/rustc/' in path or '/rustlib/' in path or path.startswith('library/'):
        return 'std'
    m = re.search(r'/src/(.+\.rs)$', path)
    return 'src/' + m.group(1) if m else path


before, after = read(sys.argv[1]), read(sys.argv[2])
gain = Counter()
lines = Counter()
for f, (regions, missed, _, lmissed) in after.items():
    b = before.get(f, (regions, regions, 0, lmissed))
    if b[1] != missed:
        gain[owner(f)] += b[1] - missed
        lines[owner(f)] += b[3] - lmissed
src = sum(v for k, v in gain.items() if k.startswith('src/'))
print(f'regions newly reached: {sum(gain.values())} in all, {src} in src/')
for k, v in gain.most_common():
    print(f'  {v:5d} regions {lines[k]:5d} lines  {k}')

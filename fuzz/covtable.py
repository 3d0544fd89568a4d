#!/usr/bin/env python3
"""Coverage over time from run.sh's logs, as the Markdown rows of the tables
in README.md, and the plateau measures used there.

Usage: fuzz/covtable.py [--every MINUTES] TARGET...   (reads fuzz/logs/TARGET.log)

A row per mark (the last status line at or before it): seconds since the
start of run.sh (the build included), executions, cov (edges), ft
(features) and corpus size. Then: edges gained in the last 10 minutes and in
the last quarter of the executions, the executions per second over the run,
and every line that reports a fault (crash, leak, timeout, out-of-memory)."""
import os
import re
import sys

STATUS = re.compile(r'\s*(\d+) #(\d+)\s+(\S+)\s+cov: (\d+) ft: (\d+) corp: (\d+)')
# libFuzzer's and the sanitizers' reports (not dictionary entries that
# happen to contain such words).
FAULT = re.compile(r'ERROR:|deadly signal|LeakSanitizer|ALARM:|out-of-memory|SUMMARY:|slow-unit')


def num(n):
    """Thousands separated by a thin space, as the README's tables."""
    return f'{n:,}'.replace(',', ' ')


def table(target, every):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'logs', target + '.log')
    rows, faults = [], []
    for line in open(path, errors='replace'):
        m = STATUS.match(line)
        if m:
            sec, ex, kind, cov, ft, corp = m.groups()
            rows.append((int(sec), int(ex), kind, int(cov), int(ft), int(corp)))
        elif FAULT.search(line):
            faults.append(line.rstrip()[:160])
    if not rows:
        print(f'{target}: no status lines')
        return
    inited = next((r for r in rows if r[2] == 'INITED'), rows[0])
    print(f'### {target}\n')
    print('| at | execs | cov | ft | corpus |\n|---|---|---|---|---|')
    print(f'| start (corpus loaded, {inited[0]} s) | {num(inited[1])} | {inited[3]} | {num(inited[4])} | {inited[5]} |')
    end = rows[-1]
    mark = every * 60
    while mark < end[0]:
        r = [r for r in rows if r[0] <= mark][-1]
        print(f'| {mark // 60} min | {num(r[1])} | {r[3]} | {num(r[4])} | {r[5]} |')
        mark += every * 60
    print(f'| {end[0] // 60} min (end) | {num(end[1])} | {end[3]} | {num(end[4])} | {end[5]} |\n')
    ten = [r for r in rows if r[0] <= end[0] - 600]
    q = [r for r in rows if r[1] <= end[1] - (end[1] - inited[1]) // 4]
    secs = max(1, end[0] - inited[0])
    print(f'- executions: {num(end[1])}, {num((end[1] - inited[1]) // secs)} per second after loading')
    print(f'- cov {inited[3]} -> {end[3]} (+{end[3] - inited[3]}), ft {num(inited[4])} -> {num(end[4])}')
    if ten:
        print(f'- last 10 minutes: +{end[3] - ten[-1][3]} edges, +{end[4] - ten[-1][4]} features, '
              f'{num(end[1] - ten[-1][1])} executions')
    if q:
        print(f'- last quarter of the executions ({num(end[1] - q[-1][1])}): +{end[3] - q[-1][3]} edges')
    # New edges per million executions in each quarter of the run's
    # executions: a falling rate is a plateau coming.
    span = end[1] - inited[1]
    if span >= 4:
        cuts = [inited] + [[r for r in rows if r[1] <= inited[1] + span * k // 4][-1] for k in (1, 2, 3)] + [end]
        rates = [(b[3] - a[3]) * 1e6 / max(1, b[1] - a[1]) for a, b in zip(cuts, cuts[1:])]
        print('- new edges per million executions, by quarter: ' + ', '.join(f'{x:.0f}' for x in rates))
    print(f'- fault lines: {len(faults)}')
    for f in faults:
        print(f'  - `{f}`')
    print()


args = sys.argv[1:]
every = 5
if args[:1] == ['--every']:
    every, args = int(args[1]), args[2:]
for t in args:
    table(t, every)
